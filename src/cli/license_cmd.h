/* license_cmd.h - the license verbs: `ferry-pack license issue`, `ferry-pack keygen
 * --license` and `ferry-load license verify`. The mains parse the options into these;
 * the work on tokens and keys is crypto/license.c's. */
#ifndef FERRY_LICENSE_CMD_H
#define FERRY_LICENSE_CMD_H

#include <stdint.h>

#include "crypto/license.h"
#include "util/util.h"

struct license_issue_opts {
	const char *key_path;          /* --key PRIV.pem */
	const char *output;            /* -o FILE.lic */
	int force;                     /* --force: replace an existing output */
	const char *entitlements_path; /* --entitlements FILE.json, or NULL */
	struct license_claims claims;  /* what the options say; entitlements come from the file */
};

/* Issues the license and writes it; prints one line naming it. */
int license_issue_run(const struct license_issue_opts *o, struct ferr *e);

struct license_verify_opts {
	const char *path;        /* FILE.lic */
	const char *pubkey_path; /* --pubkey PUB.pem */
	const char *audience;    /* --audience, or NULL */
	int64_t now;             /* --now, or the clock */
	int json;                /* --json: one JSON document on stdout */
};

/* Checks a license file and prints what it says. FX_OK when valid or in grace,
 * FX_VERIFY (reported here) when not, FX_IO with e set when the file or key cannot be
 * read. */
int license_verify_run(const struct license_verify_opts *o, struct ferr *e);

/* Writes dir/license.key (0600) and dir/license.pub: Ed25519, or RSA-3072 when rsa.
 * Neither file is ever replaced. */
int license_keygen_run(const char *dir, int rsa, struct ferr *e);

#endif
