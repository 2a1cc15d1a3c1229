/* state.h - rollback and freeze protection: what a loader remembers of the bundles it
 * loaded (the state file, loading.md) and the checks a bundle's sequence and expiry
 * must pass before anything of it is used. */
#ifndef FERRY_STATE_H
#define FERRY_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "bundle/manifest.h"
#include "util/util.h"

#define STATE_DEFAULT "/var/lib/ferry/state.json"
#define STATE_MAX (1u << 20)       /* bytes of a state file a loader reads */
#define STATE_BUNDLES_MAX 10000u   /* vendor/name pairs in one state file */
#define STATE_DOWNGRADES_MAX 100u  /* downgrades kept per pair (the oldest go first) */
#define STATE_STRING_MAX 1024u     /* a vendor, name or version in the state file */

/* A load of an older bundle that --allow-downgrade let through. */
struct state_downgrade {
	char *version;
	uint64_t sequence; /* what was loaded */
	uint64_t over;     /* the sequence recorded then, which stayed */
	int64_t at;
};

/* Per vendor and bundle name: the highest sequence loaded, its version and when. */
struct state_bundle {
	char *vendor, *name, *version;
	uint64_t sequence;
	int64_t loaded;
	struct state_downgrade *downgrades;
	size_t ndowngrades;
};

struct load_state {
	struct state_bundle *bundles;
	size_t nbundles;
};

/* Parses a state file strictly (every key known, every type and range checked, at most
 * the limits above); shown names it in errors. FX_OK or FX_IO ("does not parse": a
 * state file is never silently reset). */
int state_parse(const char *buf, size_t len, const char *shown, struct load_state *st, struct ferr *e);
/* Reads path (missing: an empty state). FX_OK or FX_IO. */
int state_read(const char *path, struct load_state *st, struct ferr *e);
/* The JSON text of st (malloc'd). */
char *state_emit(const struct load_state *st, size_t *len);
const struct state_bundle *state_find(const struct load_state *st, const char *vendor, const char *name);
void state_free(struct load_state *st);

/* What a reader checks before any entry past the head is used. */
struct fresh_opts {
	int64_t now;
	int allow_expired;
	int allow_downgrade;
	const char *state; /* the state file to compare with; NULL: sequence not checked */
	int record;        /* the caller will state_record() (load, extract): the state
	                      file must be writable before the work starts */
};

/* FX_VERIFY when the bundle expired (unless allow_expired) or its sequence is lower
 * than the one recorded for its vendor and name (unless allow_downgrade, then a
 * warning); FX_IO when the state file cannot be read or (record) written. */
int fresh_check(const struct manifest *m, const struct fresh_opts *o, struct ferr *e);
/* After a successful load: under an exclusive lock, reads the state again, keeps the
 * higher sequence, logs a downgrade, and replaces the file atomically. */
int state_record(const struct fresh_opts *o, const struct manifest *m, struct ferr *e);

#endif
