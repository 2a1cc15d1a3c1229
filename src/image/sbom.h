/* sbom.h - the SBOMs of a bundle's images, made at pack time: for every image manifest
 * (every platform of an index) the OS packages of its final filesystem, written as
 * sboms/<manifest-hex>.spdx.json (SPDX 2.3) and sboms/<manifest-hex>.cdx.json
 * (CycloneDX 1.5).
 *
 * Layers are catalogued where reading them is cheapest: a legacy docker save layer from
 * its uncompressed tar while the pack converts it (sbom_layer_tar), an OCI layer on
 * worker threads from where it lies in the archive as soon as its manifest is read, or
 * from its staged blob, while the pack stages the rest (sbom_layer_blob); both are
 * images_stage hooks. Any layer not seen by them is read
 * from its blob at the end. Each distinct layer is read once. */
#ifndef FERRY_SBOM_H
#define FERRY_SBOM_H

#include <stddef.h>
#include <stdint.h>

#include "bundle/manifest.h"
#include "image/images.h"
#include "util/digest.h"
#include "util/util.h"

#define SBOM_DIR "sboms/"
#define SBOM_SPDX_SUFFIX ".spdx.json"
#define SBOM_CDX_SUFFIX ".cdx.json"

struct sbom_opts {
	int jobs;             /* layers catalogued at once */
	const char *work_dir; /* an empty directory for rpmdb copies; the caller removes it */
	int64_t created;      /* the bundle's creation time */
};

/* A bundle entry. */
struct sbom_doc {
	char *path;
	char *text;
	size_t len;
};

struct sbom_set {
	struct sbom_doc *docs; /* in image order, SPDX before CycloneDX; each once */
	size_t ndocs;
	char ***image_sboms;   /* per image: the entries describing it */
	size_t *image_nsboms;
	size_t nimages;
};

struct sbom_ctx;

struct sbom_ctx *sbom_ctx_new(const struct sbom_opts *o);
void sbom_ctx_free(struct sbom_ctx *c);

/* The images_stage hook (img_opts.layer_tar): catalogues a legacy layer from its
 * uncompressed tar, bytes off..off+len-1 of path (len 0: the whole file). */
int sbom_layer_tar(void *ctx, const unsigned char diff_id[SHA256_LEN], const char *path, uint64_t off,
    uint64_t len, struct ferr *e);

/* The images_stage hook (img_opts.layer_tar_queue): queues the same for a worker
 * thread, to be read while the layer is compressed. */
int sbom_layer_tar_queue(void *ctx, const unsigned char diff_id[SHA256_LEN], const char *path, uint64_t off,
    uint64_t len, struct ferr *e);

/* The images_stage hook (img_opts.layer_blob): queues an OCI layer blob to be
 * catalogued on a worker thread while staging goes on: where it lies in the input
 * (bytes off..off+len-1 of path, len > 0; not checked against digest yet: such a
 * catalogue counts only through the config's diff_id, else the layer is read again
 * from its staged copy), or its staged copy at path (len 0). Each digest once. */
int sbom_layer_blob(void *ctx, const unsigned char digest[SHA256_LEN], const char *path, uint64_t off, uint64_t len,
    const char *where, struct ferr *e);

/* Queues a layer whose bytes are still arriving at off..off+len-1 of path (a registry
 * layer being fetched into the bundle): a worker catalogues it as they land, wait
 * blocking it until they have (see layer_src.wait). */
int sbom_layer_arriving(struct sbom_ctx *c, const unsigned char digest[SHA256_LEN], const char *path, uint64_t off,
    uint64_t len, int (*wait)(void *ctx, uint64_t upto), void *wait_ctx, const char *what);

/* Catalogues every image of the staged set and writes its SBOMs. A layer that cannot
 * be read fails (FX_VERIFY or FX_IO, naming the image and the layer). */
int sbom_build(struct sbom_ctx *c, const struct img_set *is, struct sbom_set *out, struct ferr *e);
/* Moves each image's SBOM list into images[i].sboms (bundle.yaml). */
void sbom_set_attach(struct sbom_set *s, struct man_image *images, size_t n);
void sbom_set_free(struct sbom_set *s);

#endif
