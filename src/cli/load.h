/* load.h - `ferry-load load`: stream a bundle's images into one or more targets. */
#ifndef FERRY_LOAD_H
#define FERRY_LOAD_H

#include <stddef.h>

#include "bundle/bundle.h"
#include "util/util.h"

struct load_opts {
	char **targets;        /* --to: registry://HOST[:PORT][/PREFIX], docker://..., oci:DIR */
	size_t ntargets;
	char **images;         /* --image REF (subset); none: every image */
	size_t nimages;
	int plain_http;        /* --plain-http */
	const char *cacert;    /* --cacert FILE */
	const char *creds;     /* --creds USER:PASS */
	int keep_registry_host;/* --keep-registry-host */
	int jobs;              /* --jobs N, parallel uploads */
	int dry_run;           /* --dry-run: say what would be pushed */
	int quiet;             /* --quiet: no progress */
	/* --image-map: each target's report() calls this once for every image it loaded
	 * (spec: the --to text); NULL when nobody asks. */
	void (*on_loaded)(void *ctx, const char *spec, const struct manifest *man, const struct man_image *mi);
	void *on_loaded_ctx;
};

/* Filled in by load_run once bundle.yaml has been read, before any target's head():
 * the images to load (selected[i] for man->images[i]). */
struct load_sel {
	const struct manifest *man;
	unsigned char *selected;
};

/* One --to target: a sink that receives the stream, then a report. */
struct load_target {
	const char *spec;                /* the --to text, for messages */
	struct sink sink;
	/* After the stream (finished: finish() was called; 0 after a fatal read error):
	 * prints per-image failures and one summary line on stderr; FX_OK or FX_TARGET. */
	int (*report)(void *ctx, int finished, struct ferr *e);
	/* Stops any work still running (cancelling unfinished uploads) and frees. */
	void (*free)(void *ctx);
};

/* Target constructors: spec is checked, nothing is contacted before head(). */
typedef int (*load_target_open_fn)(const char *spec, const struct load_opts *lo,
    const struct load_sel *sel, struct load_target *t, struct ferr *e);

/* Checks the targets' syntax (before any work starts); FX_USAGE with e set if bad. */
int load_check_targets(const struct load_opts *lo, struct ferr *e);
/* Verifies the bundle while streaming its images into every target. Nothing reaches a
 * target before the signature is checked; a manifest only after all its blobs are
 * verified and present. Returns FX_OK, FX_VERIFY, FX_TARGET or FX_IO. */
int load_run(const char *bundle, const struct read_opts *ro, const struct load_opts *lo,
    struct ferr *e);

#endif
