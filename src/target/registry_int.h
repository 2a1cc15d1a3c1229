/* registry_int.h - what the parts of the registry:// target share: its state, its
 * images and blobs, the upload jobs, and the calls between the parts (registry.c: plan,
 * sink callbacks, manifests; registry_upload.c: workers and upload sessions). The
 * registry itself is spoken to through a net/registry_client.h client (credentials,
 * authentication, retries, the breaker). Not for other users. */
#ifndef FERRY_REGISTRY_INT_H
#define FERRY_REGISTRY_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bundle/bundle.h"
#include "net/http.h"
#include "net/registry.h"
#include "net/registry_client.h"
#include "target/target.h"
#include "util/digest.h"

#define CHUNK (4u << 20)         /* bytes per PATCH of a blob that streams */
#define SEGMENT ((uint64_t)32 << 20) /* bytes per PATCH of a blob read by position */
#define QDEPTH 1                 /* chunks queued per job beyond the one in flight */
#define MANIFEST_MAX (4u << 20)
#define JOBS_MAX 32

enum { B_PENDING = BLOB_PENDING, B_OK = BLOB_OK, B_BAD = BLOB_BAD, B_FAILED = BLOB_FAILED };

/* Where an image of the plan goes (its verdict is in reg.verdicts). */
struct rimg {
	char repo[600];
	char ref[160];   /* tag or digest the top manifest is pushed under */
};

/* What the target holds of a blob of the plan (same index). */
struct rblob {
	const char *digest; /* the plan's */
	char **repos;
	size_t nrepos;
	uint64_t size;
	int state;       /* B_*, written by a worker under mu */
	char why[768];
	unsigned char *buf; /* a manifest's bytes */
	size_t len;
	int too_big;
	int present;     /* found by HEAD in every repository before the stream started */
	/* the pre-check's answers: repos[0..pre-1] were asked and all hold it, except
	 * repos[pre-1] when pre_absent */
	size_t pre;
	int pre_absent;
};

struct chunk {
	struct chunk *next;
	unsigned char *p;
	size_t n;
	int final, ok;
};

struct job {
	struct job *next;
	struct rblob *b;
	struct chunk *chunks_head, *chunks_tail; /* queued by the reader for the worker */
	size_t nchunks;
	unsigned char *cur; /* reader side */
	size_t curn, curcap;
	uint64_t left;
	/* a blob taken by position (SINK_RANGED): the worker reads and hashes it from the
	 * bundle itself and tells the reader how that went */
	int ranged, reported, short_read;
	int verdict;     /* -1 until the whole blob is hashed, then whether it matched */
	int fd;
	const struct parts *parts; /* a split bundle: read through bundle_pread() */
	uint64_t bundle_size;
	uint64_t off;    /* where the blob starts in the bundle */
	uint64_t hashed; /* bytes of it read and hashed, in order */
	unsigned char want[SHA256_LEN];
	struct sha256 h;
	struct ranged *rg;
};

struct reg {
	char spec[600];
	struct reg_target tg;
	struct reg_client client; /* address, credentials, tokens, retry budget, breaker */
	const struct load_opts *lo;
	const struct target_plan *plan;
	/* images and blobs of the plan, and each image's verdict */
	struct rimg *imgs;
	size_t nimgs;
	struct image_verdict *verdicts;
	struct rblob *blobs;
	size_t nblobs;
	/* workers */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t threads[JOBS_MAX];
	struct http *worker_conn[JOBS_MAX]; /* one connection per upload thread */
	int nworkers, running;
	struct job *queue_head, *queue_tail; /* jobs no worker has taken yet */
	size_t outstanding;
	int closing;
	struct job *cur;
	struct rblob *cur_manifest; /* the manifest being read, kept in memory */
	struct http *reader_conn; /* the reader's own connection: ping, manifests */
	int dead;
	char dead_why[1100];
	/* counters, under mu */
	size_t pushed, skipped, mounted, manifests, manifests_there;
	uint64_t bytes_sent, bytes_push;
	struct timespec t0;
};

/* Is the blob in repo (a HEAD, compared with its signed size)? 1 yes, 0 no, -1 error. */
int rg_blob_present(struct reg *g, struct http *h, const char *repo, const struct rblob *b, struct ferr *e);
/* Mounts a blob from one repository into another (POST ?mount=&from=): FX_OK, else e set. */
int rg_mount(struct reg *g, struct http *h, const char *digest, const char *to, const char *from, struct ferr *e);
/* A delta's required blobs the registry holds, in every repository that needs them
 * (mounted from another where it can): load_target.holds (registry_delta.c). */
void rg_holds(void *ctx, unsigned char *held);
void rg_count(struct reg *g, size_t *ctr, uint64_t bytes);
void rg_job_push(struct reg *g, struct job *j, unsigned char *p, size_t n, int final, int ok);
void rg_set_state(struct reg *g, struct rblob *b, int state, const char *why);
/* Starts g->nworkers upload workers (g->running says how many did). */
void rg_start_workers(struct reg *g);
void rg_stop_workers(struct reg *g);

#endif
