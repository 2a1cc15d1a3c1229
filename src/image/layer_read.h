/* layer_read.h - an image layer as a tar stream for libarchive: a plain tar, gzip
 * (inflated with ISA-L, several members read as one stream) or zstd, recognised by its
 * magic bytes, read from a file or from a byte range of one (a layer inside a docker
 * save archive). Entry data that nobody reads is seeked over when the layer is not
 * compressed, so walking the headers of a plain layer costs almost nothing. A
 * compressed layer has to be inflated whole to reach its headers: its decompressed
 * bytes are hashed on the way, so the same pass checks its diff_id (layer_finish). */
#ifndef FERRY_LAYER_READ_H
#define FERRY_LAYER_READ_H

#include <stdint.h>

#include <archive.h>

#include "util/digest.h"
#include "util/util.h"

struct layer_src {
	const char *path;  /* the blob, or the archive holding it */
	uint64_t off, len; /* its bytes: off .. off+len-1; len 0: from off to the end */
	const char *what;  /* names the layer in messages (already escaped) */
	/* optional: the bytes are still arriving (a layer fetched into the bundle): blocks
	 * until the first upto bytes of the layer are there (0), or never will be (-1) */
	int (*wait)(void *ctx, uint64_t upto);
	void *wait_ctx;
};

enum layer_compression { LAYER_PLAIN, LAYER_GZIP, LAYER_ZSTD };

struct layer_reader;

/* Opens the layer and a libarchive tar reader on it (*a, owned by lr). FX_IO when the
 * file cannot be read, FX_VERIFY when its bytes are no tar stream. */
int layer_open(const struct layer_src *src, struct layer_reader **lr, struct archive **a, struct ferr *e);
enum layer_compression layer_compression(const struct layer_reader *lr);
/* After the tar reader reached its end: reads what is left of a compressed layer (the
 * tar's padding) and gives the SHA-256 of all its decompressed bytes (the layer's
 * diff_id) in diff_id, *known 1. A plain layer is not hashed here (its digest is its
 * diff_id): *known 0. FX_VERIFY when the rest is not valid (data after the last gzip
 * member, a truncated frame), FX_IO when it cannot be read. */
int layer_finish(struct layer_reader *lr, unsigned char diff_id[SHA256_LEN], int *known, struct ferr *e);
/* Why the last libarchive call failed: the decompressor's reason when it had one. */
const char *layer_error(const struct layer_reader *lr);
/* Closes the file and frees the reader and its archive; NULL is fine. */
void layer_close(struct layer_reader *lr);

#endif
