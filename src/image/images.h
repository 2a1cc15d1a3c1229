/* images.h - the pack side of images: reads docker-save archives, oci-archives and
 * OCI layout directories, and stages one deduplicated OCI layout for the bundle. */
#ifndef FERRY_IMAGES_H
#define FERRY_IMAGES_H

#include <stddef.h>
#include <stdint.h>

#include "bundle/manifest.h"
#include "util/digest.h"
#include "util/util.h"

struct progress;
struct cosign_key;
struct cz_stream;

/* At most what the images add to a bundle's head (img_opts.layers_out). */
struct img_bound {
	size_t images;
	size_t blobs;     /* configs, layers, manifests, signatures: also bounds how many
	                     each image lists */
	size_t manifests; /* image manifests (each gets its SBOMs) */
};

/* One `images:` item of a BundleSpec. */
struct img_src {
	const char *ref;   /* reference the image gets in the bundle */
	const char *from;  /* path (already resolved against the spec's directory), or
	                      docker-daemon:REF / docker-daemon://SOCK/REF, or
	                      registry://HOST[:PORT]/REPO:TAG|@DIGEST; NULL: pulled by ref */
	const char *where; /* "spec.yaml:12:5", for error messages */
	/* --cosign-key or the image's cosign-key: one of its cosign signatures must
	 * verify with it (NULL: signatures are carried unchecked); key_name for messages */
	const struct cosign_key *cosign_key;
	const char *cosign_key_name;
	char *const *platforms; /* registry pulls: the platforms of an index to keep (NULL: all) */
	const char *locked;     /* --locked: the digest the image (pulls: upstream) must have */
	size_t nplatforms;
};

struct img_opts {
	int layer_zstd;          /* compress converted layers with zstd instead of gzip */
	int gzip_level;          /* libdeflate level of converted gzip layers (0: CZ_GZIP_LEVEL) */
	int jobs;                /* parallel compression */
	const char *staging_dir; /* an empty directory owned by the caller, removed by it */
	int64_t mtime;           /* SOURCE_DATE_EPOCH / created, for anything time-stamped */
	const char *cacert;      /* registries: an extra CA bundle, or NULL (system CAs) */
	const char **plain_http; /* registries: HOST[:PORT]s spoken to over plain HTTP */
	size_t nplain_http;
	/* Optional, for the SBOM (layer_ctx is theirs): layer_tar sees each legacy layer's
	 * uncompressed tar once it has been converted and found to be its diff_id (bytes
	 * off..off+len-1 of path; len 0: the whole file), before that copy goes, so it is not
	 * inflated again; layer_blob sees each layer blob of an OCI input as soon as its
	 * manifest is read, where it lies in an archive (bytes off..off+len-1 of path, len > 0,
	 * its digest not checked yet), and again once it is staged at path (len 0; it stays
	 * there), so that it can be read while the rest is staged. where names the input. */
	int (*layer_tar)(void *ctx, const unsigned char diff_id[SHA256_LEN], const char *path, uint64_t off,
	    uint64_t len, struct ferr *e);
	/* layer_tar_queue, when set, sees instead, before compression, each such layer that
	 * stays where it is (in the input archive or directory): it may be read meanwhile,
	 * and the build fails if it turns out not to be its diff_id. */
	int (*layer_tar_queue)(void *ctx, const unsigned char diff_id[SHA256_LEN], const char *path, uint64_t off,
	    uint64_t len, struct ferr *e);
	int (*layer_blob)(void *ctx, const unsigned char digest[SHA256_LEN], const char *path, uint64_t off,
	    uint64_t len, const char *where, struct ferr *e);
	void *layer_ctx;
	struct progress *progress; /* NULL, or told which image is read and staged */
	/* Registry pulls: layers are not fetched while staging but planned (img_blob.remote);
	 * the caller fetches them into their place in its output with images_fetch. Configs,
	 * manifests and indexes are still fetched (they say what the layers are). */
	int stream_pulls;
	/* A layer of an uncompressed archive (an oci-archive) is not staged: its img_blob
	 * is the archive, offset where the layer starts, and where names the input. Its
	 * digest is what the manifest claims, unchecked: the caller must hash it as it
	 * copies it and fail on a mismatch (the SBOM reads it from there meanwhile, bound
	 * to the image by the config's diff_ids, see layer_blob). */
	int blobs_in_place;
	/* Optional (gzip layers only): the layers converted from docker save inputs go
	 * straight into the caller's output instead of staged files. Called once every input
	 * is read, before the first layer is compressed, with a bound of what the head will
	 * list; it gives the stream that lays each layer out (compress.h) and the file's
	 * path (where img_blob.in_output blobs lie), or leaves *stream NULL to stage them. */
	int (*layers_out)(void *ctx, const struct img_bound *bound, const struct cz_stream **stream, const char **path,
	    struct ferr *e);
	void *layers_out_ctx;
};

struct pull_source; /* a registry and repository that blobs are fetched from (pull.c) */

/* A blob to put into the bundle as images/blobs/sha256/<hex>. */
struct img_blob {
	char hex[SHA256_HEX];
	unsigned char digest[SHA256_LEN];
	uint64_t size;
	char *path; /* a staged file (or the input itself when it can be read in place);
	               NULL for a remote blob until the caller has fetched it */
	uint64_t offset; /* where its bytes start in path (0: path is the blob) */
	char *where;     /* a layer left in its input archive (img_opts.blobs_in_place): that
	                    input, for messages; its digest is still only claimed (NULL: none) */
	int in_output;   /* already written into the caller's output (layers_out): path is
	                    that file, offset where its data starts */
	const struct pull_source *remote; /* a layer to fetch from a registry (stream_pulls) */
};

struct img_set {
	struct img_blob *blobs; /* bundle order: every config and layer before any manifest
	                           that references it; each blob once */
	size_t nblobs;
	char *index_json;       /* images/index.json */
	size_t index_len;
	struct man_image *images; /* for bundle.yaml, one per img_src, same order */
	size_t nimages;
	struct pull_source **sources; /* what remote blobs point to */
	size_t nsources;
};

/* A remote blob to fetch, and where: offset off of the file fd. */
struct img_fetch {
	const struct img_blob *blob;
	uint64_t off;
	/* zero when images_fetch starts; set by it (read through img_fetch_wait) */
	uint64_t landed; /* bytes written so far (not yet checked) */
	int over;        /* 1: all there and checked, -1: failed or not fetched */
	uint64_t need;   /* the least a reader waits for (0: none waits): woken then, not before */
};

/* Fetches the blobs (jobs connections at once, largest first) each straight into its
 * place, hashed as it arrives and checked against its digest and size (a mismatch
 * names the image and the blob); a cut transfer resumes with Range, 429 and 5xx are
 * waited out (Retry-After honoured). progress (NULL: none) is fed the bytes. */
int images_fetch(struct img_fetch *want, size_t n, int fd, int jobs, struct progress *progress,
    struct ferr *e);
/* For a reader following a fetch (ctx: one struct img_fetch of it, from any thread):
 * blocks until the first upto bytes of its blob have landed (0), or never will (-1).
 * Every item is over when images_fetch returns. */
int img_fetch_wait(void *ctx, uint64_t upto);

int images_stage(const struct img_src *srcs, size_t n, const struct img_opts *o,
    struct img_set *out, struct ferr *e);
void img_set_free(struct img_set *s);

#endif
