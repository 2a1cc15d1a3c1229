/* manifest.h - bundle.yaml, the signed description of a bundle (format.md). */
#ifndef FERRY_MANIFEST_H
#define FERRY_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* Most layers an image may declare: a reader refuses more (and pack never writes more). */
#define MAN_LAYERS_MAX 1000000

/* A cosign signature carried with its image (format.md, "Image signatures"): the
 * legacy `sha256-<hex>.sig` manifest (kind "simple-signing") or an OCI 1.1 referrer
 * holding a sigstore bundle (kind "sigstore-bundle"). */
#define MAN_SIG_SIMPLE "simple-signing"
#define MAN_SIG_BUNDLE "sigstore-bundle"
#define MAN_SIGS_MAX 16 /* signatures carried per image; pack and reader refuse more */

struct man_signature {
	char *kind;    /* MAN_SIG_SIMPLE or MAN_SIG_BUNDLE */
	char *digest;  /* its manifest, sha256:<hex> */
	char **blobs;  /* its config and layers, "sha256:<hex>" */
	size_t nblobs;
};

struct man_image {
	char *ref;        /* full reference, registry.example.com/acme/api:1.2.0 */
	char *digest;     /* sha256:<hex> of the manifest or index */
	char *media_type; /* of that manifest or index */
	char *upstream_index; /* platforms: kept a subset: the registry's index, "sha256:<hex>" */
	char **platforms; /* "linux/amd64", ... */
	size_t nplatforms;
	uint64_t size;    /* sum of the unique blobs of the image */
	int layers;       /* layer count (of the first platform for an index) */
	/* Every blob of the image (configs, layers, manifests, index), "sha256:<hex>":
	 * lets a loader route blobs, which arrive before the manifests, while streaming. */
	char **blobs;
	size_t nblobs;
	/* The image's manifests and index, "sha256:<hex>", children before parents, the
	 * image's own digest last: a loader pushes these after their blobs. */
	char **manifests;
	size_t nmanifests;
	/* Its SBOM entries (sboms/<manifest-hex>.spdx.json and .cdx.json for each platform);
	 * none in a bundle packed with --no-sbom. */
	char **sboms;
	size_t nsboms;
	/* Its cosign signatures, and what pack made of them: "verified" (with
	 * --cosign-key), "unverified" (carried unchecked), NULL when it has none. */
	struct man_signature *signatures;
	size_t nsignatures;
	char *cosign;
};

struct man_chart {
	char *name, *version, *path;
	char **images;
	size_t nimages;
	char *app_version;  /* Chart.yaml appVersion, or NULL */
	char *prov;         /* the entry of its provenance file, or NULL */
	char *provenance;   /* "verified", "unverified" (carried, not checked) or "none" */
	/* The OCI artifact `helm push` makes of it: the manifest (sha256:<hex>, the last
	 * blob) and every blob (config, content, provenance, manifest), all entries under
	 * images/blobs/sha256/. NULL/0 in bundles of older ferry: then it is a file only. */
	char *digest;
	char **blobs;
	size_t nblobs;
};

struct man_doc {
	char *path, *title;
};

struct man_license {
	char *path, *subject, *edition, *expires; /* expires: RFC 3339 UTC or NULL */
	char *customer, *audience;
	int64_t seats; /* -1 unlimited; INT64_MIN when unknown */
	int has_seats;
};

struct man_file {
	char *path;
};

/* Size of every entry after bundle.yaml: signed, so a reader can refuse an entry whose
 * tar header claims another size before reading a byte of it. */
struct man_entry {
	char *path;
	uint64_t size;
};

/* A delta bundle leaves out the blobs its base bundles carry; the target must hold
 * them. One left out: its digest, signed size and an image of the base that has it
 * (where a registry may mount it from; NULL when not known). */
struct man_required {
	char *digest; /* sha256:<hex> */
	uint64_t size;
	char *image;
};

/* A base bundle of a delta: its name, version and the SHA-256 of its SHA256SUMS (so
 * one base is told from another of the same name), and the blobs taken from it. */
struct man_base {
	char *name, *version;
	char *sums; /* sha256:<hex> */
	struct man_required *blobs;
	size_t nblobs;
};
/* The highest sequence a bundle.yaml may carry (it goes into a JSON integer). */
#define MAN_SEQUENCE_MAX ((uint64_t)INT64_MAX)

struct manifest {
	char *name, *version, *vendor, *created, *tool, *description;
	/* Rollback and freeze protection (loading.md): a number that only grows from one
	 * release of a bundle to the next (0 when bundle.yaml has none), and when the
	 * bundle stops being good (RFC 3339 UTC, or NULL: never; expires_at its time). */
	uint64_t sequence;
	char *expires;
	int64_t expires_at;
	struct man_image *images;
	size_t nimages;
	struct man_chart *charts;
	size_t ncharts;
	struct man_doc *docs;
	size_t ndocs;
	struct man_license *licenses;
	size_t nlicenses;
	struct man_file *files;
	size_t nfiles;
	struct man_entry *entries;
	size_t nentries;
	struct man_base *bases; /* a delta's base bundles; none: a whole bundle */
	size_t nbases;
};

/* Serialises m with libyaml; returns a malloc'd text. */
int manifest_emit(const struct manifest *m, char **out, size_t *len, struct ferr *e);
/* Parses bundle.yaml (already hash-checked); unknown keys are ignored, an unknown
 * apiVersion or wrong types are errors (FX_VERIFY). */
int manifest_parse(const char *buf, size_t len, struct manifest *m, struct ferr *e);
const struct man_entry *manifest_entry(const struct manifest *m, const char *path);
void manifest_free(struct manifest *m);
/* The blob a delta requires with this digest, and (base) the index of its base; NULL
 * when the manifest does not require it. */
const struct man_required *manifest_required(const struct manifest *m, const char *digest, size_t *base);
/* Frees an image's signatures and cosign verdict (the rest of it stays). */
void manifest_free_signatures(struct man_image *im);
/* Frees the strings of one license summary and resets it (seats unknown). */
void man_license_free(struct man_license *l);

#endif
