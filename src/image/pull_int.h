/* pull_int.h - what pull.c (manifests, the pull of one image) and pull_fetch.c (blobs:
 * into a staged file, or straight into the bundle at their offsets) share. */
#ifndef FERRY_PULL_INT_H
#define FERRY_PULL_INT_H

#include "image/images_int.h"
#include "net/ref.h"
#include "net/registry_client.h"

#define PULL_TRIES 8           /* attempts of one blob that bring no byte */
#define PULL_TRIES_MAX 64      /* attempts of one blob in all */
#define PULL_WAIT_MAX_MS 30000 /* longest wait before a retry (Retry-After is capped there) */

/* Where an image's blobs come from; kept (img_set.sources) for its remote layers. */
struct pull_source {
	struct reg_client client;
	char repo[REF_NAME_MAX + 1];
	char name[700]; /* "where: registry://HOST/REPO:TAG", escaped */
};

/* A blob on its way: where it goes, how far it came. */
struct blob_sink {
	int fd;
	int64_t at;          /* where the blob starts in fd (pwrite), or -1: written at fd's end */
	struct sha256 hash;
	uint64_t got, want;  /* bytes written, bytes the descriptor says */
	uint64_t pos;        /* this attempt: offset in the reply of the next byte */
	uint64_t start;      /* this attempt: where its body starts in the blob */
	int too_long, io_error;
	void (*on_bytes)(void *ctx, uint64_t n, uint64_t got); /* optional: told what arrived */
	void *bytes_ctx;
};

/* Fetches one blob into s->fd (at s->at, or appended when -1), hashed as it arrives;
 * a cut transfer resumes with Range, 429 and 5xx are waited out; the bytes must hash
 * to d's digest (the error names src's image and the blob). */
int fetch_blob(struct pull_source *src, struct http *conn, const struct oci_desc *d, struct blob_sink *s,
    struct ferr *e);
/* Pulls one blob into a new staged file at path. */
int pull_blob_file(struct pull_source *src, struct http *conn, const struct oci_desc *d, const char *path,
    struct ferr *e);

#endif
