/* layer_read.h - an image layer as a tar stream for libarchive: a plain tar, gzip
 * (inflated with ISA-L, several members read as one stream) or zstd, recognised by its
 * magic bytes, read from a file or from a byte range of one (a layer inside a docker
 * save archive). Entry data that nobody reads is seeked over when the layer is not
 * compressed, so walking the headers of a plain layer costs almost nothing. */
#ifndef FERRY_LAYER_READ_H
#define FERRY_LAYER_READ_H

#include <stdint.h>

#include <archive.h>

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
/* Why the last libarchive call failed: the decompressor's reason when it had one. */
const char *layer_error(const struct layer_reader *lr);
/* Closes the file and frees the reader and its archive; NULL is fine. */
void layer_close(struct layer_reader *lr);

#endif
