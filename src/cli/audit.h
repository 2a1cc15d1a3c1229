/* audit.h - what the auditor's verbs (sbom, report) share: one verified read of a
 * bundle that keeps the few small entries they show (SBOMs, licenses, image
 * manifests), each only once its hash matched, with every entry's verdict. */
#ifndef FERRY_AUDIT_H
#define FERRY_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "bundle/bundle.h"
#include "util/util.h"

/* Which entries to keep. */
#define AUDIT_KEEP_SBOMS 1u     /* sboms/... */
#define AUDIT_KEEP_LICENSES 2u  /* license/NAME.lic */
#define AUDIT_KEEP_MANIFESTS 4u /* the images' manifests and indexes (images/blobs/sha256/...) */

enum audit_verdict { AV_UNSEEN = 0, AV_OK, AV_BAD, AV_SKIPPED };

struct audit_entry {
	char *path;
	uint64_t size;                    /* signed size (bundle.yaml), 0 when unknown */
	unsigned char digest[SHA256_LEN]; /* its SHA256SUMS line */
	enum audit_verdict verdict;
	char *data;                       /* a kept entry, only when it verified */
	size_t len;
};

struct audit_bundle {
	const char *path;
	int rc;                  /* the read: FX_OK, FX_VERIFY, FX_IO ... */
	struct ferr e;           /* why, when rc != FX_OK */
	int head_ok;             /* the head (signature when checked, bundle.yaml) verified */
	struct bundle_head h;
	struct read_report rep;
	struct audit_entry *ents; /* every SHA256SUMS line, sorted by path */
	size_t nents;
	unsigned keep;
	struct audit_entry *cur;  /* the entry being received */
	uint64_t kept_bytes;
};

/* Reads and verifies the bundle once (ro as for verify). Never fails itself: the
 * outcome is in a->rc and a->e. */
void audit_read(const char *path, const struct read_opts *ro, unsigned keep, struct audit_bundle *a);
/* A verified kept entry, or NULL. */
const struct audit_entry *audit_entry(const struct audit_bundle *a, const char *path);
void audit_free(struct audit_bundle *a);

#endif
