/* compress.c - deterministic gzip (libdeflate) and zstd compression of layer files on
 * a small pthread pool. Levels are fixed for a build.
 *
 * gzip is written as a multi-member file, the way BGZF and pigz --independent do it, so
 * that one large layer keeps every core busy: the input is cut into CZ_GZIP_BLOCK
 * blocks and each becomes one complete gzip member (header with mtime 0 and no name,
 * raw deflate, CRC-32, ISIZE). RFC 1952 readers (gzip, Go's compress/gzip, zlib with
 * inflateReset per member, libarchive) read the members as one stream. Block
 * boundaries depend only on the block size, so the bytes are the same for any number
 * of threads. The layers of a build go through one pipeline: the calling thread reads
 * blocks in order (largest layer first) and writes finished ones in order, workers
 * compress. */
#include "image/compress.h"
#include "util/progress.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libdeflate.h>
#include <zstd.h>

#define IN_CHUNK ((size_t)1 << 20)
/* Into a stream, the layers' bytes are written with O_DIRECT where the file system
 * allows it: whole aligned DIRECT_BUF pieces from one buffer, only the unaligned ends
 * of each layer through the page cache. A multi-GB bundle then neither fills the page
 * cache (whose pages a VM may first have to get back from its host: 3.5 s of kernel
 * time per GB written here when they are cold, against 0.15 s direct) nor leaves
 * gigabytes for the final fsync. Without O_DIRECT (tmpfs, a refused alignment) the
 * write-back of every WRITEBACK_STEP bytes is started as they are written. */
#define DIRECT_BUF ((size_t)256 << 10)
#define DIRECT_ALIGN ((uint64_t)4096)
#define WRITEBACK_STEP ((uint64_t)32 << 20)

struct pool {
	struct cz_job *jobs;
	size_t *order; /* job indexes, largest input first */
	size_t n, next;
	enum cz_algo algo;
	pthread_mutex_t mu;
	struct ferr err;
};

/* Output side of one job: writes and hashes the compressed bytes. */
struct sink {
	int fd;
	struct sha256 h;
	uint64_t size;
};

/* Writes and counts; the caller hashes (gzip: on the workers, see gz_hash_block). */
static int sink_put(struct sink *s, const void *buf, size_t n)
{
	if (n == 0)
		return 0;
	if (write_all(s->fd, buf, n) != 0)
		return -1;
	s->size += n;
	return 0;
}

static int sink_write(struct sink *s, const void *buf, size_t n)
{
	if (sink_put(s, buf, n) != 0)
		return -1;
	sha256_update(&s->h, buf, n);
	return 0;
}

/* Reads up to len bytes, fewer only at end of file. */
static ssize_t read_full(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(fd, buf + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Reads the next piece of a job's input: up to cap bytes, fewer only where the input
 * ends. *left counts a range down (UINT64_MAX: to the end of the file); a range must
 * not end early. -1 with why set on failure. */
static ssize_t input_read(int fd, unsigned char *buf, size_t cap, uint64_t *left, char *why, size_t whyl)
{
	size_t want = *left < cap ? (size_t)*left : cap;
	ssize_t r = read_full(fd, buf, want);

	if (r < 0) {
		snprintf(why, whyl, "read: %s", strerror(errno));
		return -1;
	}
	if (*left != UINT64_MAX) {
		if ((size_t)r < want) {
			fx_strlcpy(why, "the file ends before the layer does", whyl);
			return -1;
		}
		*left -= (uint64_t)r;
	}
	return r;
}

static int zstd_file(int in, uint64_t todo, struct sink *s, struct sha256 *in_hash, uint64_t *in_size, char *why,
    size_t whyl)
{
	unsigned char *in_buf = xmalloc(IN_CHUNK), *out_buf = xmalloc(ZSTD_CStreamOutSize());
	size_t out_cap = ZSTD_CStreamOutSize();
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	int rc = -1;

	if (cctx == NULL || ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, CZ_ZSTD_LEVEL)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1))) {
		fx_strlcpy(why, "zstd setup failed", whyl);
		goto end;
	}
	for (;;) {
		ssize_t r = input_read(in, in_buf, IN_CHUNK, &todo, why, whyl);
		ZSTD_EndDirective mode;
		ZSTD_inBuffer zi;
		int done;
		if (r < 0)
			goto end;
		if (fx_interrupted) {
			fx_strlcpy(why, "interrupted", whyl);
			goto end;
		}
		sha256_update(in_hash, in_buf, (size_t)r);
		*in_size += (uint64_t)r;
		mode = r == 0 ? ZSTD_e_end : ZSTD_e_continue;
		zi.src = in_buf;
		zi.size = (size_t)r;
		zi.pos = 0;
		do {
			ZSTD_outBuffer zo = {out_buf, out_cap, 0};
			size_t left = ZSTD_compressStream2(cctx, &zo, &zi, mode);
			if (ZSTD_isError(left)) {
				snprintf(why, whyl, "zstd: %s", ZSTD_getErrorName(left));
				goto end;
			}
			if (sink_write(s, out_buf, zo.pos) != 0) {
				snprintf(why, whyl, "write: %s", strerror(errno));
				goto end;
			}
			done = mode == ZSTD_e_end ? left == 0 : zi.pos == zi.size;
		} while (!done);
		if (r == 0)
			break;
	}
	rc = 0;
end:
	ZSTD_freeCCtx(cctx);
	free(in_buf);
	free(out_buf);
	return rc;
}

/* Opens a job's input, positioned at its first byte; *left: bytes to read (UINT64_MAX:
 * to the end of the file). */
static int open_input(const struct cz_job *j, uint64_t *left, char *why, size_t whyl)
{
	int fd = open(j->in, O_RDONLY | O_CLOEXEC | (j->in_range ? 0 : O_NOFOLLOW));

	*left = j->in_range ? j->in_len : UINT64_MAX;
	if (fd < 0) {
		snprintf(why, whyl, "%s", strerror(errno));
		return -1;
	}
	if (j->in_range && lseek(fd, (off_t)j->in_off, SEEK_SET) < 0) {
		snprintf(why, whyl, "seek: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* --- gzip: blocks deflated in parallel --- */

/* A block is stored (deflate level 0) when none of GZ_SAMPLES samples of GZ_SAMPLE
 * bytes, spread over it, shrinks by 1/32 at level 1: random or already compressed
 * data then costs a copy instead of a full search for matches that are not there.
 * 12 KiB samples decide as 16 KiB ones did on the benchmark's layers, and libdeflate
 * refuses them 2.5 times faster when they do not compress (0.27 against 0.69 s of
 * CPU per GB of random data, the sampling's whole cost there). */
#define GZ_SAMPLE ((size_t)12288)
#define GZ_SAMPLES 4

enum { SL_FREE, SL_READY, SL_BUSY, SL_DONE };

struct slot {
	int state;
	uint64_t seq;      /* order of writing */
	size_t job;        /* index into jobs */
	unsigned char *in; /* the block */
	size_t len;
	unsigned char *out; /* one gzip member */
	size_t outcap, outlen;
};

/* Per-job state, touched only by the calling thread but for in_hash, which the
 * workers update one block after the other in read order (gz_hash_input). */
struct gzip_job_state {
	int in, out;
	struct sink sink;
	struct sha256 in_hash;
	uint64_t in_size, blocks_read, blocks_written;
	uint64_t flushed;  /* a stream: output bytes written or whose write-back is started */
	uint64_t left;   /* bytes still to read (UINT64_MAX: to EOF) */
	int read_done;
	int hashing;     /* in_hash and sink.h initialised */
	int started;     /* a stream: begin() was called (its first block is being written) */
	int finished;    /* digest and size set (and end() called) */
};

/* The blocks in flight and the workers that compress them. */
struct gzip_pool {
	struct slot *slots;
	size_t nslots;
	pthread_mutex_t mu;
	pthread_cond_t work, done, turn; /* done: the writer waits; turn: a hash's next block */
	int quit;
	struct gzip_job_state *state; /* the jobs' (for their hashes) */
	uint64_t hashed_seq;          /* blocks before this one are in their input's hash */
	uint64_t hashed_out_seq;      /* and before this one in their output's */
	int writer_waits;             /* the writer sleeps on done until block want_seq is */
	uint64_t want_seq;
	int level;                    /* libdeflate's, 1-9 */
};

/* One thread's compressors. */
struct deflaters {
	struct libdeflate_compressor *full, *fast, *stored;
	unsigned char *scratch;
};

static int deflaters_init(struct deflaters *c, int level)
{
	c->full = libdeflate_alloc_compressor(level);
	c->fast = libdeflate_alloc_compressor(1);
	c->stored = libdeflate_alloc_compressor(0);
	c->scratch = xmalloc(GZ_SAMPLE);
	return c->full != NULL && c->fast != NULL && c->stored != NULL ? 0 : -1;
}

static void deflaters_free(struct deflaters *c)
{
	if (c->full != NULL)
		libdeflate_free_compressor(c->full);
	if (c->fast != NULL)
		libdeflate_free_compressor(c->fast);
	if (c->stored != NULL)
		libdeflate_free_compressor(c->stored);
	free(c->scratch);
}

static int incompressible(struct deflaters *c, const unsigned char *p, size_t n)
{
	size_t k;

	if (n < GZ_SAMPLES * GZ_SAMPLE)
		return 0;
	for (k = 0; k < GZ_SAMPLES; k++)
		/* 0: the output did not fit in the smaller buffer. */
		if (libdeflate_deflate_compress(c->fast, p + k * (n / GZ_SAMPLES), GZ_SAMPLE,
		        c->scratch, GZ_SAMPLE - GZ_SAMPLE / 32) != 0)
			return 0;
	return 1;
}

/* Compresses one block into one gzip member: the same bytes whichever thread runs
 * it. outlen 0 is a failure (a member is never empty). */
static void gz_block(struct deflaters *c, struct slot *b)
{
	struct libdeflate_compressor *z = incompressible(c, b->in, b->len) ? c->stored : c->full;

	b->outlen = libdeflate_gzip_compress(z, b->in, b->len, b->out, b->outcap);
}

/* Adds block b to one of its job's hashes once every block before it is in: *turn is
 * that hash's next block. Called and returns with g->mu held; 0 when given up. */
static int gz_hash_turn(struct gzip_pool *g, uint64_t *turn, struct sha256 *h, const struct slot *b,
    const unsigned char *p, size_t n)
{
	while (*turn != b->seq && !g->quit)
		pthread_cond_wait(&g->turn, &g->mu);
	if (*turn != b->seq)
		return 0;
	pthread_mutex_unlock(&g->mu);
	sha256_update(h, p, n);
	pthread_mutex_lock(&g->mu);
	(*turn)++;
	pthread_cond_broadcast(&g->turn);
	return 1;
}

/* Adds block b to its input's hash (the diff_id) and its member to its output's hash
 * (the blob digest), each in read order. Both run on the workers, one worker hashing a
 * block's output while another hashes the next block's input, so the calling thread
 * only reads and writes: with both hashes there it kept one core busy and the other
 * half idle on incompressible layers. Called and returns with g->mu held. */
static void gz_hash_block(struct gzip_pool *g, struct slot *b)
{
	struct gzip_job_state *q = &g->state[b->job];

	if (gz_hash_turn(g, &g->hashed_seq, &q->in_hash, b, b->in, b->len))
		gz_hash_turn(g, &g->hashed_out_seq, &q->sink.h, b, b->out, b->outlen);
}

static void *gz_worker(void *arg)
{
	struct gzip_pool *g = arg;
	struct deflaters c;
	int ok = deflaters_init(&c, g->level) == 0;

	pthread_mutex_lock(&g->mu);
	for (;;) {
		struct slot *b = NULL;
		size_t i;
		for (;;) {
			if (g->quit)
				break;
			for (i = 0; i < g->nslots; i++)
				if (g->slots[i].state == SL_READY && (b == NULL || g->slots[i].seq < b->seq))
					b = &g->slots[i];
			if (b != NULL)
				break;
			pthread_cond_wait(&g->work, &g->mu);
		}
		if (b == NULL)
			break;
		b->state = SL_BUSY;
		pthread_mutex_unlock(&g->mu);
		if (ok)
			gz_block(&c, b);
		else
			b->outlen = 0;
		pthread_mutex_lock(&g->mu);
		gz_hash_block(g, b);
		b->state = SL_DONE;
		if (g->writer_waits && g->want_seq == b->seq) /* not for a block it is not at yet */
			pthread_cond_signal(&g->done);
	}
	pthread_mutex_unlock(&g->mu);
	deflaters_free(&c);
	return NULL;
}

static void gz_set(struct gzip_pool *g, struct slot *b, int state)
{
	pthread_mutex_lock(&g->mu);
	b->state = state;
	pthread_mutex_unlock(&g->mu);
}

static struct slot *gz_free_slot(struct gzip_pool *g)
{
	struct slot *b = NULL;
	size_t i;

	pthread_mutex_lock(&g->mu);
	for (i = 0; i < g->nslots && b == NULL; i++)
		if (g->slots[i].state == SL_FREE)
			b = &g->slots[i];
	pthread_mutex_unlock(&g->mu);
	return b;
}

/* Waits for block seq to be compressed; NULL if it is not in flight (a bug). */
static struct slot *gz_wait(struct gzip_pool *g, uint64_t seq)
{
	struct slot *b = NULL;
	size_t i;

	pthread_mutex_lock(&g->mu);
	for (i = 0; i < g->nslots && b == NULL; i++)
		if (g->slots[i].state != SL_FREE && g->slots[i].seq == seq)
			b = &g->slots[i];
	g->want_seq = seq;
	while (b != NULL && (b->state == SL_READY || b->state == SL_BUSY)) {
		g->writer_waits = 1;
		pthread_cond_wait(&g->done, &g->mu);
		g->writer_waits = 0;
	}
	if (b != NULL && b->state != SL_DONE)
		b = NULL;
	pthread_mutex_unlock(&g->mu);
	return b;
}

/* One gzip run over every job: the pool, the per-job state, and the calling thread's
 * position (the next job to read, the next block to read and to write). */
struct gzip_run {
	struct cz_job *jobs;
	const size_t *order;
	size_t n;
	struct gzip_pool pool;
	struct gzip_job_state *state;
	struct deflaters own;  /* for the calling thread when there are no workers */
	int nworkers;
	size_t next_job;       /* index into order */
	size_t failed;         /* the job a failure is reported for */
	const struct cz_stream *stream; /* NULL: each job to its out file */
	uint64_t read_seq, write_seq;
	char why[256];
	/* a stream's O_DIRECT side: the file reopened, and the aligned piece being filled */
	int dfd;             /* -1: page cache only */
	int dfd_for;         /* the stream's descriptor dfd reopens (-1: not tried yet) */
	unsigned char *dbuf; /* DIRECT_BUF bytes at a DIRECT_ALIGN address */
	size_t dlen;         /* bytes in dbuf */
	uint64_t doff;       /* file offset of dbuf[0], aligned */
};

/* The stream's file reopened with O_DIRECT, once; -1 where it cannot be, or where
 * FERRY_DIRECT_IO=0 asks for the page cache. */
static void direct_open(struct gzip_run *run, int fd)
{
	const char *env = getenv("FERRY_DIRECT_IO");
	char proc[64];

	if (run->dfd_for == fd)
		return;
	if (run->dfd >= 0)
		close(run->dfd);
	run->dfd = -1;
	run->dfd_for = fd;
	if (env != NULL && strcmp(env, "0") == 0)
		return;
	if (run->dbuf == NULL && posix_memalign((void **)&run->dbuf, (size_t)DIRECT_ALIGN, DIRECT_BUF) != 0) {
		run->dbuf = NULL;
		return;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	run->dfd = open(proc, O_WRONLY | O_DIRECT | O_CLOEXEC);
}

/* Writes dbuf's first n bytes (a multiple of DIRECT_ALIGN) at doff, directly; where the
 * file system refuses (EINVAL: no O_DIRECT for it, or another alignment) through fd,
 * and so on from then on; the rest of a short write through fd too, which then fails
 * with the reason (ENOSPC, EFBIG) or writes it. */
static int direct_write(struct gzip_run *run, int fd, size_t n)
{
	ssize_t r = pwrite(run->dfd, run->dbuf, n, (off_t)run->doff);

	if (r == (ssize_t)n)
		return 0;
	if (r < 0 && errno == EINVAL) {
		close(run->dfd);
		run->dfd = -1;
		return pwrite_all(fd, run->dbuf, n, run->doff);
	}
	if (r >= 0) /* short (a full device, a file size limit): the rest tells why */
		return pwrite_all(fd, run->dbuf + r, n - (size_t)r, run->doff + (uint64_t)r);
	return -1;
}

/* Sends what is left in dbuf at a layer's end: its aligned part directly, the rest
 * (less than DIRECT_ALIGN) through the page cache. */
static int direct_flush(struct gzip_run *run, int fd)
{
	size_t aligned = run->dlen / DIRECT_ALIGN * DIRECT_ALIGN;

	if (aligned > 0 && direct_write(run, fd, aligned) != 0)
		return -1;
	if (run->dlen > aligned && pwrite_all(fd, run->dbuf + aligned, run->dlen - aligned, run->doff + aligned) != 0)
		return -1;
	run->dlen = 0;
	return 0;
}

/* Writes n bytes of job q's output at its end in the stream (its bytes start at off). */
static int stream_put(struct gzip_run *run, struct gzip_job_state *q, uint64_t off, const unsigned char *p, size_t n)
{
	while (n > 0) {
		uint64_t at = off + q->sink.size;
		size_t k;
		if (run->dfd < 0) { /* page cache, its write-back started every step */
			if (pwrite_all(q->sink.fd, p, n, at) != 0)
				return -1;
			q->sink.size += n;
			if (q->sink.size - q->flushed >= WRITEBACK_STEP) {
				(void)sync_file_range(q->sink.fd, (off64_t)(off + q->flushed), (off64_t)(q->sink.size - q->flushed),
				    SYNC_FILE_RANGE_WRITE);
				q->flushed = q->sink.size;
			}
			return 0;
		}
		if (run->dlen == 0 && at % DIRECT_ALIGN != 0) { /* up to the first aligned offset */
			k = (size_t)(DIRECT_ALIGN - at % DIRECT_ALIGN);
			k = k < n ? k : n;
			if (pwrite_all(q->sink.fd, p, k, at) != 0)
				return -1;
		} else {
			if (run->dlen == 0)
				run->doff = at;
			k = DIRECT_BUF - run->dlen < n ? DIRECT_BUF - run->dlen : n;
			memcpy(run->dbuf + run->dlen, p, k);
			run->dlen += k;
			if (run->dlen == DIRECT_BUF) {
				if (direct_write(run, q->sink.fd, DIRECT_BUF) != 0)
					return -1;
				run->dlen = 0;
			}
		}
		q->sink.size += k;
		p += k;
		n -= k;
	}
	return 0;
}

/* Hands a filled slot to the workers, or compresses it here when there are none. */
static void gz_submit(struct gzip_run *run, struct slot *b)
{
	struct gzip_pool *g = &run->pool;

	if (run->nworkers == 0) {
		gz_block(&run->own, b);
		pthread_mutex_lock(&g->mu);
		gz_hash_block(g, b);
		b->state = SL_DONE;
		pthread_mutex_unlock(&g->mu);
		return;
	}
	pthread_mutex_lock(&g->mu);
	b->state = SL_READY;
	pthread_cond_signal(&g->work);
	pthread_mutex_unlock(&g->mu);
}

/* Closes a job's output once every block it read is written. */
static int gz_finish(struct gzip_run *run, size_t j)
{
	struct gzip_job_state *q = &run->state[j];

	if (!q->read_done || q->blocks_written != q->blocks_read || q->finished)
		return 0;
	q->finished = 1;
	if (run->stream == NULL && close(q->out) != 0) {
		q->out = -1;
		snprintf(run->why, sizeof(run->why), "close: %s", strerror(errno));
		return -1;
	}
	q->out = -1;
	if (run->stream != NULL && run->dlen > 0 && direct_flush(run, q->sink.fd) != 0) {
		snprintf(run->why, sizeof(run->why), "write: %s", strerror(errno));
		return -1;
	}
	/* every block is written, so every block is hashed (DONE comes after the hash) */
	sha256_final(&q->in_hash, run->jobs[j].in_digest);
	sha256_final(&q->sink.h, run->jobs[j].digest);
	run->jobs[j].size = q->sink.size;
	if (run->stream != NULL)
		return run->stream->end(run->stream->ctx, &run->jobs[j], run->why, sizeof(run->why));
	return 0;
}

/* Opens job j's input and output and starts its hashes. */
static int gz_open_job(struct gzip_run *run, size_t j)
{
	struct gzip_job_state *q = &run->state[j];

	if ((q->in = open_input(&run->jobs[j], &q->left, run->why, sizeof(run->why))) < 0)
		return -1;
	if (run->stream != NULL) /* its output is opened by its first block's write */
		q->out = -1;
	else
		q->out = open(run->jobs[j].out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (run->stream == NULL && q->out < 0) {
		snprintf(run->why, sizeof(run->why), "%s", strerror(errno));
		return -1;
	}
	q->sink.fd = q->out;
	sha256_init(&q->sink.h);
	sha256_init(&q->in_hash);
	q->hashing = 1;
	return 0;
}

/* Reads the next block of the current job into free slot b and submits it. */
static int gz_read_block(struct gzip_run *run, struct slot *b)
{
	size_t j = run->order[run->next_job];
	struct gzip_job_state *q = &run->state[j];
	ssize_t r;

	run->failed = j;
	if (fx_interrupted) {
		fx_strlcpy(run->why, "interrupted", sizeof(run->why));
		return -1;
	}
	if (q->in < 0 && gz_open_job(run, j) != 0)
		return -1;
	if ((r = input_read(q->in, b->in, CZ_GZIP_BLOCK, &q->left, run->why, sizeof(run->why))) < 0)
		return -1;
	q->in_size += (uint64_t)r;
	/* An empty input still gets its one (empty) member. */
	if (r > 0 || q->blocks_read == 0) {
		b->job = j;
		b->len = (size_t)r;
		b->seq = run->read_seq++;
		q->blocks_read++;
		gz_submit(run, b);
	}
	if ((size_t)r < CZ_GZIP_BLOCK || q->left == 0) { /* this input is read */
		q->read_done = 1;
		run->jobs[j].in_size = q->in_size;
		close(q->in);
		q->in = -1;
		run->next_job++;
		return gz_finish(run, j);
	}
	return 0;
}

/* Writes the oldest block once it is compressed, and frees its slot. */
static int gz_write_block(struct gzip_run *run)
{
	struct slot *b = gz_wait(&run->pool, run->write_seq);
	struct gzip_job_state *q;

	if (b == NULL) {
		fx_strlcpy(run->why, "internal: block out of order", sizeof(run->why));
		return -1;
	}
	q = &run->state[b->job];
	run->failed = b->job;
	if (b->outlen == 0) {
		fx_strlcpy(run->why, "deflate failed", sizeof(run->why));
		return -1;
	}
	if (run->stream != NULL && !q->started) {
		struct cz_job *j = &run->jobs[b->job];
		if (run->stream->begin(run->stream->ctx, j, &q->sink.fd, &j->out_off, run->why, sizeof(run->why)) != 0)
			return -1;
		q->started = 1;
		direct_open(run, q->sink.fd);
		if (run->stream->progress != NULL && j->item != NULL)
			progress_item(run->stream->progress, j->item, j->item_index, j->item_count);
	}
	/* hashed by gz_hash_block */
	if ((run->stream != NULL ? stream_put(run, q, run->jobs[b->job].out_off, b->out, b->outlen) :
	        sink_put(&q->sink, b->out, b->outlen)) != 0) {
		snprintf(run->why, sizeof(run->why), "write: %s", strerror(errno));
		return -1;
	}
	if (run->stream != NULL && run->stream->progress != NULL)
		progress_add(run->stream->progress, b->len);
	q->blocks_written++;
	if (gz_finish(run, b->job) != 0)
		return -1;
	gz_set(&run->pool, b, SL_FREE);
	run->write_seq++;
	return 0;
}

static void gzip_run_init(struct gzip_run *run, struct cz_job *jobs, const size_t *order, size_t n,
    int level, int threads)
{
	size_t i;

	memset(run, 0, sizeof(*run));
	run->dfd = run->dfd_for = -1;
	run->jobs = jobs;
	run->order = order;
	run->n = n;
	run->state = xcalloc(n, sizeof(*run->state));
	run->pool.state = run->state;
	run->pool.level = level >= 1 && level <= 9 ? level : CZ_GZIP_LEVEL;
	for (i = 0; i < n; i++)
		run->state[i].in = run->state[i].out = -1;
	pthread_mutex_init(&run->pool.mu, NULL);
	pthread_cond_init(&run->pool.work, NULL);
	pthread_cond_init(&run->pool.done, NULL);
	pthread_cond_init(&run->pool.turn, NULL);
	/* In flight: one block per worker being compressed, as many ready or done, and
	 * one being read (a sixth one did not go faster, and cost 2 MiB of RSS once the
	 * O_DIRECT writes let the workers fill every slot). */
	run->pool.nslots = threads > 1 ? 2 * (size_t)threads + 1 : 1;
	run->pool.slots = xcalloc(run->pool.nslots, sizeof(*run->pool.slots));
	for (i = 0; i < run->pool.nslots; i++) {
		run->pool.slots[i].in = xmalloc(CZ_GZIP_BLOCK);
		run->pool.slots[i].outcap = libdeflate_gzip_compress_bound(NULL, CZ_GZIP_BLOCK);
		run->pool.slots[i].out = xmalloc(run->pool.slots[i].outcap);
	}
}

static void gzip_run_free(struct gzip_run *run)
{
	size_t i;

	for (i = 0; i < run->n; i++) {
		struct gzip_job_state *q = &run->state[i];
		if (q->hashing) { /* no-ops on what sha256_final already freed */
			sha256_free(&q->in_hash);
			sha256_free(&q->sink.h);
		}
		if (q->in >= 0)
			close(q->in);
		if (q->out >= 0 && run->stream == NULL)
			close(q->out);
	}
	for (i = 0; i < run->pool.nslots; i++) {
		free(run->pool.slots[i].in);
		free(run->pool.slots[i].out);
	}
	free(run->pool.slots);
	free(run->state);
	if (run->dfd >= 0)
		close(run->dfd);
	free(run->dbuf);
	deflaters_free(&run->own);
	pthread_cond_destroy(&run->pool.work);
	pthread_cond_destroy(&run->pool.done);
	pthread_cond_destroy(&run->pool.turn);
	pthread_mutex_destroy(&run->pool.mu);
}

static int gzip_files(struct cz_job *jobs, const size_t *order, size_t n, int level, int threads,
    const struct cz_stream *stream, struct ferr *e)
{
	struct gzip_run run;
	pthread_t *tids = NULL;
	size_t i;
	int rc = FX_OK;

	gzip_run_init(&run, jobs, order, n, level, threads);
	run.stream = stream;
	if (deflaters_init(&run.own, run.pool.level) != 0) {
		rc = fe_set(e, FX_IO, "compressing: cannot allocate a deflate compressor");
		goto end;
	}
	if (threads > 1) {
		tids = xcalloc((size_t)threads, sizeof(*tids));
		for (i = 0; i < (size_t)threads; i++) {
			if (pthread_create(&tids[i], NULL, gz_worker, &run.pool) != 0)
				break;
			run.nworkers++;
		}
	}
	for (;;) {
		struct slot *b;
		int failed;
		/* Read while a slot is free, else write the oldest block. */
		if (run.next_job < n && (b = gz_free_slot(&run.pool)) != NULL)
			failed = gz_read_block(&run, b) != 0;
		else if (run.write_seq == run.read_seq)
			break; /* everything read is written: done */
		else
			failed = gz_write_block(&run) != 0;
		if (failed) {
			rc = fe_set(e, FX_IO, "compressing %s: %s", ESC(jobs[run.failed].in), run.why);
			break;
		}
	}
end:
	pthread_mutex_lock(&run.pool.mu);
	run.pool.quit = 1;
	pthread_cond_broadcast(&run.pool.work);
	pthread_cond_broadcast(&run.pool.done);
	pthread_cond_broadcast(&run.pool.turn);
	pthread_mutex_unlock(&run.pool.mu);
	for (i = 0; i < (size_t)run.nworkers; i++)
		pthread_join(tids[i], NULL);
	free(tids);
	gzip_run_free(&run);
	return rc;
}

/* --- zstd: one job a thread (libzstd's frames are already deterministic) --- */

static void run_job(struct pool *p, struct cz_job *j)
{
	struct sink s = {-1, {NULL}, 0};
	struct sha256 in_hash;
	char why[256] = "";
	int in = -1, ok = 0;
	uint64_t left;

	sha256_init(&in_hash);
	sha256_init(&s.h);
	j->in_size = 0;
	if ((in = open_input(j, &left, why, sizeof(why))) < 0)
		goto end;
	s.fd = open(j->out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (s.fd < 0) {
		snprintf(why, sizeof(why), "%s", strerror(errno));
		goto end;
	}
	if (zstd_file(in, left, &s, &in_hash, &j->in_size, why, sizeof(why)) != 0)
		goto end;
	if (close(s.fd) != 0) {
		s.fd = -1;
		snprintf(why, sizeof(why), "close: %s", strerror(errno));
		goto end;
	}
	s.fd = -1;
	ok = 1;
end:
	if (ok) {
		sha256_final(&s.h, j->digest);
		sha256_final(&in_hash, j->in_digest);
		j->size = s.size;
	} else {
		sha256_free(&s.h);
		sha256_free(&in_hash);
		pthread_mutex_lock(&p->mu);
		fe_set(&p->err, FX_IO, "compressing %s: %s", ESC(j->in), why);
		pthread_mutex_unlock(&p->mu);
	}
	if (s.fd >= 0)
		close(s.fd);
	if (in >= 0)
		close(in);
}

static void *worker(void *arg)
{
	struct pool *p = arg;

	for (;;) {
		struct cz_job *j = NULL;
		pthread_mutex_lock(&p->mu);
		if (p->next < p->n && p->err.code == 0)
			j = &p->jobs[p->order[p->next++]];
		pthread_mutex_unlock(&p->mu);
		if (j == NULL)
			break;
		run_job(p, j);
	}
	return NULL;
}

struct ord {
	uint64_t size;
	size_t idx;
};

static int by_size_desc(const void *a, const void *b)
{
	const struct ord *x = a, *y = b;

	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Largest first: the longest job starts at once instead of ending the run alone. */
static void order_jobs(struct pool *p)
{
	struct ord *o = xcalloc(p->n, sizeof(*o));
	size_t i;

	for (i = 0; i < p->n; i++) {
		struct stat sb;
		o[i].idx = i;
		o[i].size = stat(p->jobs[i].in, &sb) == 0 ? (uint64_t)sb.st_size : 0;
	}
	qsort(o, p->n, sizeof(*o), by_size_desc);
	p->order = xcalloc(p->n, sizeof(*p->order));
	for (i = 0; i < p->n; i++)
		p->order[i] = o[i].idx;
	free(o);
}

int compress_files(struct cz_job *jobs, size_t n, enum cz_algo algo, int gzip_level, int threads,
    struct ferr *e)
{
	struct pool p;
	pthread_t *tids;
	size_t nt, i, started = 0;

	if (n == 0)
		return FX_OK;
	memset(&p, 0, sizeof(p));
	p.jobs = jobs;
	p.n = n;
	p.algo = algo;
	pthread_mutex_init(&p.mu, NULL);
	order_jobs(&p);
	if (algo == CZ_GZIP) {
		int rc = gzip_files(jobs, p.order, n, gzip_level, threads, NULL, e);
		free(p.order);
		pthread_mutex_destroy(&p.mu);
		return rc;
	}
	nt = threads < 1 ? 1 : (size_t)threads;
	if (nt > n)
		nt = n;
	tids = xcalloc(nt, sizeof(*tids));
	for (i = 0; i < nt; i++) {
		if (pthread_create(&tids[i], NULL, worker, &p) != 0)
			break;
		started++;
	}
	if (started == 0)
		worker(&p); /* no thread could start: do the work here */
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	free(tids);
	free(p.order);
	pthread_mutex_destroy(&p.mu);
	if (p.err.code != 0)
		return fe_set(e, p.err.code, "%s", p.err.msg);
	return FX_OK;
}

int compress_stream(struct cz_job *jobs, size_t n, int gzip_level, int threads, const struct cz_stream *stream,
    struct ferr *e)
{
	struct pool p;
	int rc;

	if (n == 0)
		return FX_OK;
	memset(&p, 0, sizeof(p));
	p.jobs = jobs;
	p.n = n;
	order_jobs(&p);
	rc = gzip_files(jobs, p.order, n, gzip_level, threads, stream, e);
	free(p.order);
	return rc;
}
