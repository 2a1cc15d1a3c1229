/* target.h - what the load targets (registry://, oci:DIR, docker://) share: their
 * options, their kinds with one syntax check each, the plan of the selected images
 * (built once by the load pipeline and handed to every target), image verdicts and
 * the report every target ends with. */
#ifndef FERRY_TARGET_H
#define FERRY_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include "bundle/bundle.h"
#include "util/digest.h"
#include "util/util.h"

struct target_report;
struct cosign_key;

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
	long timeout;          /* --timeout SECONDS a request may take; 0: the default (300) */
	int dry_run;           /* --dry-run: say what would be pushed */
	int quiet;             /* --quiet: no progress */
	char **bases;          /* --base OLD.ferry: supplies what a delta needs and the target lacks */
	size_t nbases;
	/* --image-map: target_report calls this once for every image a target loaded
	 * (spec: the --to text); NULL when nobody asks. */
	void (*on_loaded)(void *ctx, const char *spec, const struct manifest *man, const struct man_image *mi);
	void *on_loaded_ctx;
	const char *charts_path;/* --charts-path P: charts land at PREFIX/P/NAME:TAG (NULL: "charts") */
	int charts_only;       /* --charts-only */
	int no_charts;         /* --no-charts */
	/* --json: target_report hands this its report once the verdicts are final, with the
	 * code it returns; NULL when nobody asks. */
	void (*on_report)(void *ctx, const struct target_report *r, int code);
	void *on_report_ctx;
	/* --cosign-key: images none of whose cosign signatures verifies are refused */
	const struct cosign_key *cosign_key;
	const char *cosign_key_name;
};

/* ---- the plan */

/* Where a bundle keeps blobs: BLOB_ENTRY_PREFIX followed by the 64 hex digits. */
#define BLOB_ENTRY_PREFIX "images/blobs/sha256/"
#define PLAN_NONE ((size_t)-1)
#define WHY_MAX 768

struct plan_blob {
	char digest[DIGEST_STR]; /* sha256:<hex>; the plan's blobs are sorted by it */
	uint64_t size;           /* its signed size (bundle.yaml entries, or a delta's bases; 0 when not listed) */
	/* A delta's blob that is not in the bundle: the index of the base bundle
	 * (man->bases) that carries it, and the target must hold it before anything is
	 * loaded; PLAN_NONE: the bundle carries it. */
	size_t base;
	int is_manifest;         /* some image lists it among its manifests and indexes */
	size_t *images;          /* the usable images that need it (plan image indexes, ascending) */
	size_t nimages;
};

struct plan_image {
	const struct man_image *mi;
	size_t *blobs;           /* configs, layers, manifests: plan blob indexes, each once */
	size_t nblobs;
	size_t *manifests;       /* its manifests and indexes, children first, its own last */
	size_t nmanifests;
	/* its cosign signature manifests (plan blob indexes, in mi->signatures order; their
	 * blobs are among blobs): only in a plan made with signatures */
	size_t *sigs;
	size_t nsigs;
	/* set by the load pipeline once the stream is over, before finish(): why the image
	 * is refused (--cosign-key); a target fails it with FX_VERIFY and pushes nothing of it
	 * that names it (manifests, tags, index entries). NULL: not refused. */
	const char *refused;
	/* bundle.yaml describes the image wrongly (a malformed digest, its own manifest not
	 * listed last, a blob whose SHA256SUMS line is not its name): it has no blobs in the
	 * plan and fails on every target with why (FX_VERIFY) */
	int unusable;
	char why[WHY_MAX];
	/* A Helm chart (bundle.yaml charts:, packed as the OCI artifact helm push makes):
	 * mi is the plan's own description of it, its repository P/NAME and its tag the
	 * version with '+' as '_'. NULL for an image. */
	const struct man_chart *chart;
	char *chart_repo;
};

struct target_plan {
	const struct manifest *man;
	struct plan_image *images; /* the selected images in bundle.yaml order, then the charts */
	size_t nimages;
	size_t ncharts;            /* how many of them are charts (the last ones) */
	struct man_image *chart_images; /* the charts' descriptions, which images[].mi point to */
	size_t charts_left_out;    /* charts selected but not in this plan (a target that takes none) */
	struct plan_blob *blobs;   /* every blob of the usable ones, once */
	size_t nblobs;
	size_t nrequired;          /* blobs with a base: what a delta expects the target to hold */
};

/* Builds the plan for the images named in refs (every image when nrefs is 0). sums
 * (may be NULL) is the checked SHA256SUMS: a blob entry whose line is not its own name
 * makes its images unusable, so no target needs to hash what the reader verified.
 * FX_USAGE with e naming it for a ref that is not in the bundle. */
int target_plan_build(struct target_plan *p, const struct manifest *m, const struct sums *sums,
    char *const *refs, size_t nrefs, struct ferr *e);
/* The same with a choice of what goes in: images (refs as above) unless no_images,
 * and with charts every chart that bundle.yaml describes as an artifact (those of
 * bundles from before charts were artifacts are files only, not in the plan), named
 * charts_path/NAME:TAG. */
struct plan_select {
	char *const *refs;
	size_t nrefs;
	int no_images;
	int charts;
	const char *charts_path; /* NULL: "charts" */
	int signatures;          /* the images' cosign signatures go in (registry, oci:DIR) */
};
int target_plan_select(struct target_plan *p, const struct manifest *m, const struct sums *sums,
    const struct plan_select *sel, struct ferr *e);
/* 1 when p is a valid repository path for charts ("charts", "helm/charts"). */
int target_charts_path_valid(const char *p);
void target_plan_free(struct target_plan *p);
/* The plan blob with this digest (sha256:<hex>): its index, or PLAN_NONE. */
size_t target_plan_find(const struct target_plan *p, const char *digest);
/* The plan blob a bundle entry carries (BLOB_ENTRY_PREFIX<hex>), or PLAN_NONE. */
size_t target_plan_entry(const struct target_plan *p, const char *entry_name);
/* The 64 hex digits of a blob entry's name, or NULL when the name is not one. */
const char *blob_entry_hex(const char *entry_name);

/* ---- verdicts */

/* What a target holds of one plan blob. */
enum { BLOB_PENDING, BLOB_OK, BLOB_BAD, BLOB_FAILED };

struct image_verdict {
	int failed;           /* 0, or FX_VERIFY (the bundle), FX_TARGET (the target), FX_IO */
	char why[WHY_MAX];
};

/* One verdict per plan image; the unusable ones have failed already. */
struct image_verdict *verdicts_new(const struct target_plan *p);
/* The first reason an image fails is the one it keeps. */
void verdict_fail(struct image_verdict *v, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Folds one of the image's blobs in: still pending (it never came: missing from the
 * bundle), BLOB_BAD (it did not verify: why), BLOB_FAILED (the target failed it: why). */
void verdict_blob(struct image_verdict *v, const char *digest, int state, const char *why);

/* ---- the report */

struct target_report {
	const char *spec;                    /* the --to text */
	const struct load_opts *lo;          /* its on_loaded hook hears of every image loaded */
	const struct target_plan *plan;
	struct image_verdict *verdicts;      /* one per plan image */
	int finished;                        /* the bundle was read to its end */
	int dry_run;
	const char *dead_why;                /* NULL, or why the target failed as a whole */
	const char *dead_image_why;          /* with dead_why: the reason every image gets */
	const char *charts_why;              /* plan->charts_left_out > 0: why this target takes no charts */
	/* what the target did, for machine-readable results: blobs sent (pushed, written,
	 * put in the daemon's archive), already there, mounted from another repository;
	 * manifests pushed; bytes sent or written (a dry run: that would be) */
	size_t blobs_sent, blobs_present, blobs_mounted, manifests;
	uint64_t bytes;
};

/* Prints dead_why once, a line for every image not loaded ("SPEC: REF: not loaded:
 * WHY"), tells lo->on_loaded of every image loaded (not in a dry run) and lo->on_report
 * of the report, then the summary line "SPEC: N images loaded, M failed; DETAILS" (a dry run:
 * "would be loaded", "would fail"). Returns FX_OK when every image loaded, else e set
 * ("SPEC: M of N images not loaded") with FX_TARGET when the target failed, else
 * FX_VERIFY or FX_IO. */
int target_report(const struct target_report *r, struct ferr *e, const char *details_fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- the targets */

/* One --to target: a sink that receives the stream, then a report. */
struct load_target {
	const char *spec;                /* the --to text, for messages */
	struct sink sink;
	/* After the stream (finished: finish() was called; 0 after a fatal read error):
	 * prints per-image failures and one summary line on stderr (target_report). */
	int (*report)(void *ctx, int finished, struct ferr *e);
	/* A delta (plan->nrequired > 0), after head(): sets held[b] for every required plan
	 * blob b the target holds already (asking it; a registry mounts from another
	 * repository where it can) and counts it as loaded. Blobs it does not mark come
	 * through begin() from a base bundle, or the load is refused before any entry is
	 * read. A target that failed as a whole marks them all (its report says why).
	 * NULL: the target holds none (docker://). */
	void (*holds)(void *ctx, unsigned char *held);
	/* Stops any work still running (cancelling unfinished uploads) and frees. */
	void (*free)(void *ctx);
};

struct target_kind {
	const char *prefix;              /* "registry://", "oci:", "docker://" */
	int takes_charts;                /* its plan has the charts; else they are left out */
	/* The one syntax check of a --to text of this kind: FX_USAGE with e set when it is
	 * malformed. With parsed, what it parsed is handed on for open(). */
	int (*check)(const char *spec, void **parsed, struct ferr *e);
	/* Makes the target from check()'s result (taken over, also on failure). Nothing is
	 * contacted before head(); plan is filled in before head() is called. */
	int (*open)(const char *spec, void *parsed, const struct load_opts *lo, const struct target_plan *plan,
	    struct load_target *t, struct ferr *e);
};

#endif
