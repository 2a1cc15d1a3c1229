/* compress.h - deterministic gzip or zstd compression of layer files, in parallel. */
#ifndef FERRY_COMPRESS_H
#define FERRY_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "util/digest.h"
#include "util/util.h"

enum cz_algo { CZ_GZIP, CZ_ZSTD };

/* Fixed levels: the same input gives the same bytes on every run, so an identical
 * layer in two archives becomes one blob. */
#define CZ_GZIP_LEVEL 6
#define CZ_ZSTD_LEVEL 3
/* gzip is deflated in independent blocks of this much input (see compress.c): a
 * fixed size, so the output never depends on the number of threads. */
#define CZ_GZIP_BLOCK ((size_t)1 << 20)

struct cz_job {
	const char *in;                   /* file to compress */
	int in_range;                     /* only bytes in_off .. in_off+in_len-1 of it; */
	uint64_t in_off, in_len;          /* fewer is an error */
	const char *out;                  /* file to create (O_EXCL) */
	unsigned char digest[SHA256_LEN]; /* sha256 of out, set on success */
	uint64_t size;                    /* size of out */
	unsigned char in_digest[SHA256_LEN]; /* sha256 of what was read from in */
	uint64_t in_size;
};

/* Compresses every job, largest input first, with up to threads worker threads (gzip:
 * the blocks of every job share them). On failure, e names the
 * file of the first failed job and the rest are abandoned; outputs may be left for the
 * caller's staging directory cleanup. */
int compress_files(struct cz_job *jobs, size_t n, enum cz_algo algo, int threads,
    struct ferr *e);

#endif
