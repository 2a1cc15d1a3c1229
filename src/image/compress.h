/* compress.h - deterministic gzip or zstd compression of layer files, in parallel. */
#ifndef FERRY_COMPRESS_H
#define FERRY_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "util/digest.h"
#include "util/util.h"

enum cz_algo { CZ_GZIP, CZ_ZSTD };

/* Fixed levels per build: the same input and level give the same bytes on every run,
 * so an identical layer in two archives becomes one blob. The gzip level is
 * libdeflate's (1-9, --gzip-level); 0 asks for the default. */
#define CZ_GZIP_LEVEL 4
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
	uint64_t out_off;                 /* with a cz_stream: where its bytes start there */
	const char *item;                 /* with a cz_stream's progress: what the job is part */
	size_t item_index, item_count;    /* of (an image, index of count) */
};

struct progress;

/* Instead of files (gzip only): every job's output goes into one file, one job after
 * the other in the order they are written. begin() is called when a job's first byte
 * is ready and gives the file and the offset *off where its bytes go: they are
 * pwrite()n there (aligned pieces through an O_DIRECT reopening of the file where it
 * allows one), the descriptor's own offset is left as it is; end() once the last is
 * on the file and j->digest and j->size are set. They return -1 with why set on
 * failure. */
struct cz_stream {
	void *ctx;
	int (*begin)(void *ctx, const struct cz_job *j, int *fd, uint64_t *off, char *why, size_t whyl);
	int (*end)(void *ctx, const struct cz_job *j, char *why, size_t whyl);
	struct progress *progress; /* NULL, or fed each block's input bytes once written */
};

/* Compresses every job, largest input first, with up to threads worker threads (gzip:
 * the blocks of every job share them). On failure, e names the
 * file of the first failed job and the rest are abandoned; outputs may be left for the
 * caller's staging directory cleanup. */
int compress_files(struct cz_job *jobs, size_t n, enum cz_algo algo, int gzip_level, int threads,
    struct ferr *e);
/* The same with gzip, the outputs going to stream (out is not used). */
int compress_stream(struct cz_job *jobs, size_t n, int gzip_level, int threads, const struct cz_stream *stream, struct ferr *e);

#endif
