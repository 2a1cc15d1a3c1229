/* pack.h - `ferry-pack build`: a spec in, a signed bundle out. */
#ifndef FERRY_PACK_H
#define FERRY_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

struct progress;

struct pack_opts {
	const char *spec;
	const char *out;            /* NULL: NAME-VERSION.ferry in the current directory */
	const char *sign_key;       /* --sign-key FPR */
	const char *passphrase_file;
	const char *license_pubkey; /* check license files before packing them */
	int allow_expired;
	uint64_t split;             /* --split SIZE: parts of this many bytes */
	int no_sign, detached_sig, zstd, zstd_level, layer_zstd, gzip_level, jobs, force, quiet;
	int no_sbom;                /* --no-sbom: no sboms/ entries */
	int allow_outside_paths;    /* spec paths may lead outside the spec's directory */
	const char *chart_keyring;  /* --chart-keyring: verify chart provenance files */
	int require_chart_prov;     /* --require-chart-provenance */
	const char **since;         /* --since OLD.ferry: a delta leaving out what these carry */
	size_t nsince;
	const char *keyring;        /* --keyring: the keys the --since bundles must be signed by */
	const char *cosign_key;     /* --cosign-key PUB.pem: every image's cosign signature must verify */
	int64_t created;            /* SOURCE_DATE_EPOCH or now */
	const char *cacert;         /* --cacert FILE: registries pulled from */
	const char **plain_http;    /* --plain-http HOST[:PORT], repeatable */
	size_t nplain_http;
	const char *lock, *locked;  /* --lock FILE (write), --locked FILE (read) */
	struct progress *progress;  /* NULL, or the progress line (on a terminal, not -q) */
};

int pack_build(const struct pack_opts *o, struct ferr *e);
/* The limits a loader applies to a bundle's head (bundle.h): FX_USAGE naming the spec
 * and the limit when a bundle.yaml, SHA256SUMS or signature of these sizes is over. */
int pack_head_limits(const char *spec, size_t yaml_len, size_t sums_len, size_t sig_len, struct ferr *e);

#endif
