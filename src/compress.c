/* compress.c - deterministic gzip (zlib) and zstd compression of layer files on a
 * small pthread pool. Levels are fixed.
 *
 * gzip is compressed pigz-style so that one large layer keeps every core busy: the
 * input is cut into CZ_GZIP_BLOCK blocks, each deflated on its own (raw deflate,
 * primed with the previous 32 KiB of input as dictionary, ended with a sync flush,
 * the last one with Z_FINISH), and the pieces are concatenated behind one gzip header
 * (no name, mtime 0, OS 3) and one trailer (CRC-32 combined, ISIZE). Block boundaries
 * depend only on the block size, so the bytes are the same for any number of threads.
 * The layers of a build go through one pipeline: the calling thread reads blocks in
 * order (largest layer first) and writes finished ones in order, workers deflate. */
#include "compress.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define IN_CHUNK ((size_t)1 << 20)

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

static int sink_write(struct sink *s, const void *buf, size_t n)
{
	if (n == 0)
		return 0;
	if (write_all(s->fd, buf, n) != 0)
		return -1;
	sha256_update(&s->h, buf, n);
	s->size += n;
	return 0;
}

static int zstd_file(int in, struct sink *s, struct sha256 *ih, uint64_t *isz, char *why, size_t whyl)
{
	unsigned char *ib = xmalloc(IN_CHUNK), *ob = xmalloc(ZSTD_CStreamOutSize());
	size_t obl = ZSTD_CStreamOutSize();
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	int rc = -1;

	if (cc == NULL || ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, CZ_ZSTD_LEVEL)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1))) {
		fx_strlcpy(why, "zstd setup failed", whyl);
		goto end;
	}
	for (;;) {
		ssize_t r = read(in, ib, IN_CHUNK);
		ZSTD_EndDirective mode;
		ZSTD_inBuffer zi;
		int done;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(why, whyl, "read: %s", strerror(errno));
			goto end;
		}
		if (fx_interrupted) {
			fx_strlcpy(why, "interrupted", whyl);
			goto end;
		}
		sha256_update(ih, ib, (size_t)r);
		*isz += (uint64_t)r;
		mode = r == 0 ? ZSTD_e_end : ZSTD_e_continue;
		zi.src = ib;
		zi.size = (size_t)r;
		zi.pos = 0;
		do {
			ZSTD_outBuffer zo = {ob, obl, 0};
			size_t left = ZSTD_compressStream2(cc, &zo, &zi, mode);
			if (ZSTD_isError(left)) {
				snprintf(why, whyl, "zstd: %s", ZSTD_getErrorName(left));
				goto end;
			}
			if (sink_write(s, ob, zo.pos) != 0) {
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
	ZSTD_freeCCtx(cc);
	free(ib);
	free(ob);
	return rc;
}

/* --- gzip: blocks deflated in parallel --- */

#define GZ_DICT ((size_t)32768)

enum { SL_FREE, SL_HELD, SL_READY, SL_BUSY, SL_DONE };

struct slot {
	int state;
	uint64_t seq;     /* order of writing */
	size_t job;       /* index into jobs */
	int last;         /* last block of its job: Z_FINISH */
	unsigned char *in; /* GZ_DICT of dictionary, then the block */
	size_t dict, len;
	unsigned char *out;
	size_t outcap, outlen;
	uLong crc;        /* of the block */
	int bad;          /* deflate failed */
};

/* Per-job state, touched only by the calling thread. */
struct gzj {
	int in, out;
	struct sink s;
	struct sha256 ih;
	uLong crc;
	uint64_t isize;
	int hashing; /* ih and s.h initialised */
};

struct gzp {
	struct slot *sl;
	size_t nsl;
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	int quit;
};

/* Deflates one block: the same bytes whichever thread runs it. */
static void gz_block(z_stream *zs, struct slot *b)
{
	int flush = b->last ? Z_FINISH : Z_SYNC_FLUSH, zr;

	b->bad = 1;
	b->outlen = 0;
	b->crc = crc32(0L, b->in + GZ_DICT, (uInt)b->len);
	if (deflateReset(zs) != Z_OK)
		return;
	if (b->dict > 0 && deflateSetDictionary(zs, b->in + GZ_DICT - b->dict, (uInt)b->dict) != Z_OK)
		return;
	zs->next_in = b->in + GZ_DICT;
	zs->avail_in = (uInt)b->len;
	for (;;) {
		if (b->outcap - b->outlen < 64) {
			b->outcap *= 2;
			b->out = xrealloc(b->out, b->outcap);
		}
		zs->next_out = b->out + b->outlen;
		zs->avail_out = (uInt)(b->outcap - b->outlen);
		zr = deflate(zs, flush);
		b->outlen = b->outcap - zs->avail_out;
		if (zr == Z_STREAM_ERROR)
			return;
		if (flush == Z_FINISH ? zr == Z_STREAM_END : zs->avail_in == 0 && zs->avail_out != 0)
			break;
	}
	b->bad = 0;
}

static int gz_init(z_stream *zs)
{
	memset(zs, 0, sizeof(*zs));
	/* -15: raw deflate; the gzip wrapper is written here, once for all blocks. */
	return deflateInit2(zs, CZ_GZIP_LEVEL, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK ? 0 : -1;
}

static void *gz_worker(void *arg)
{
	struct gzp *g = arg;
	z_stream zs;
	int ok = gz_init(&zs) == 0;

	pthread_mutex_lock(&g->mu);
	for (;;) {
		struct slot *b = NULL;
		size_t i;
		for (;;) {
			if (g->quit)
				break;
			for (i = 0; i < g->nsl; i++)
				if (g->sl[i].state == SL_READY && (b == NULL || g->sl[i].seq < b->seq))
					b = &g->sl[i];
			if (b != NULL)
				break;
			pthread_cond_wait(&g->work, &g->mu);
		}
		if (b == NULL)
			break;
		b->state = SL_BUSY;
		pthread_mutex_unlock(&g->mu);
		if (ok)
			gz_block(&zs, b);
		else
			b->bad = 1;
		pthread_mutex_lock(&g->mu);
		b->state = SL_DONE;
		pthread_cond_broadcast(&g->done);
	}
	pthread_mutex_unlock(&g->mu);
	if (ok)
		deflateEnd(&zs);
	return NULL;
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

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void gz_set(struct gzp *g, struct slot *b, int state)
{
	pthread_mutex_lock(&g->mu);
	b->state = state;
	pthread_mutex_unlock(&g->mu);
}

/* Hands a filled slot to the workers, or deflates it here when there are none. */
static void gz_submit(struct gzp *g, struct slot *b, int nworkers, z_stream *zs)
{
	if (nworkers == 0) {
		gz_block(zs, b);
		gz_set(g, b, SL_DONE);
		return;
	}
	pthread_mutex_lock(&g->mu);
	b->state = SL_READY;
	pthread_cond_signal(&g->work);
	pthread_mutex_unlock(&g->mu);
}

static struct slot *gz_free_slot(struct gzp *g)
{
	struct slot *b = NULL;
	size_t i;

	pthread_mutex_lock(&g->mu);
	for (i = 0; i < g->nsl && b == NULL; i++)
		if (g->sl[i].state == SL_FREE)
			b = &g->sl[i];
	pthread_mutex_unlock(&g->mu);
	return b;
}

/* Waits for block seq to be deflated; NULL if it is not in flight (a bug). */
static struct slot *gz_wait(struct gzp *g, uint64_t seq)
{
	struct slot *b = NULL;
	size_t i;

	pthread_mutex_lock(&g->mu);
	for (i = 0; i < g->nsl && b == NULL; i++)
		if (g->sl[i].state != SL_FREE && g->sl[i].seq == seq)
			b = &g->sl[i];
	while (b != NULL && (b->state == SL_READY || b->state == SL_BUSY))
		pthread_cond_wait(&g->done, &g->mu);
	if (b != NULL && b->state != SL_DONE)
		b = NULL;
	pthread_mutex_unlock(&g->mu);
	return b;
}

static int gzip_files(struct cz_job *jobs, const size_t *order, size_t n, int threads,
    struct ferr *e)
{
	static const unsigned char hdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
	struct gzp g;
	struct gzj *st = xcalloc(n, sizeof(*st));
	pthread_t *tids = NULL;
	z_stream zs; /* for the calling thread when there are no workers */
	int zs_ok = 0, nworkers = 0, rc = FX_OK;
	size_t i, rj = 0, failed = 0; /* rj: the next job to read (index into order) */
	uint64_t rseq = 0, wseq = 0;
	struct slot *held = NULL; /* a full block whose successor is not read yet */
	char why[256] = "";

	memset(&g, 0, sizeof(g));
	pthread_mutex_init(&g.mu, NULL);
	pthread_cond_init(&g.work, NULL);
	pthread_cond_init(&g.done, NULL);
	for (i = 0; i < n; i++)
		st[i].in = st[i].out = -1;
	/* In flight: one block per worker being deflated, as many ready, one held and
	 * one being written. */
	g.nsl = threads > 1 ? 2 * (size_t)threads + 2 : 2;
	g.sl = xcalloc(g.nsl, sizeof(*g.sl));
	for (i = 0; i < g.nsl; i++) {
		g.sl[i].in = xmalloc(GZ_DICT + CZ_GZIP_BLOCK);
		g.sl[i].outcap = CZ_GZIP_BLOCK + CZ_GZIP_BLOCK / 8 + 1024;
		g.sl[i].out = xmalloc(g.sl[i].outcap);
	}
	if (gz_init(&zs) != 0) {
		rc = fe_set(e, FX_IO, "compressing: deflateInit2 failed");
		goto end;
	}
	zs_ok = 1;
	if (threads > 1) {
		tids = xcalloc((size_t)threads, sizeof(*tids));
		for (i = 0; i < (size_t)threads; i++) {
			if (pthread_create(&tids[i], NULL, gz_worker, &g) != 0)
				break;
			nworkers++;
		}
	}
	for (;;) {
		struct slot *b;
		/* Read while a slot is free, else write the oldest block. */
		if (rj < n && (b = gz_free_slot(&g)) != NULL) {
			size_t j = order[rj];
			struct gzj *q = &st[j];
			ssize_t r;
			failed = j;
			if (fx_interrupted) {
				fx_strlcpy(why, "interrupted", sizeof(why));
				goto fail;
			}
			if (q->in < 0) {
				q->in = open(jobs[j].in, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
				if (q->in < 0) {
					snprintf(why, sizeof(why), "%s", strerror(errno));
					goto fail;
				}
				q->out = open(jobs[j].out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
				if (q->out < 0) {
					snprintf(why, sizeof(why), "%s", strerror(errno));
					goto fail;
				}
				q->s.fd = q->out;
				sha256_init(&q->s.h);
				sha256_init(&q->ih);
				q->hashing = 1;
				q->crc = crc32(0L, Z_NULL, 0);
				if (sink_write(&q->s, hdr, sizeof(hdr)) != 0) {
					snprintf(why, sizeof(why), "write: %s", strerror(errno));
					goto fail;
				}
			}
			r = read_full(q->in, b->in + GZ_DICT, CZ_GZIP_BLOCK);
			if (r < 0) {
				snprintf(why, sizeof(why), "read: %s", strerror(errno));
				goto fail;
			}
			sha256_update(&q->ih, b->in + GZ_DICT, (size_t)r);
			q->isize += (uint64_t)r;
			if (r == 0 && held != NULL) {
				/* The held block was the last one. */
				held->last = 1;
				gz_submit(&g, held, nworkers, &zs);
				held = NULL;
			} else {
				b->job = j;
				b->len = (size_t)r;
				b->seq = rseq++;
				b->last = (size_t)r < CZ_GZIP_BLOCK;
				b->dict = 0;
				if (held != NULL) {
					memcpy(b->in, held->in + GZ_DICT + CZ_GZIP_BLOCK - GZ_DICT, GZ_DICT);
					b->dict = GZ_DICT;
					held->last = 0;
					gz_submit(&g, held, nworkers, &zs);
					held = NULL;
				}
				if (b->last)
					gz_submit(&g, b, nworkers, &zs);
				else {
					gz_set(&g, b, SL_HELD);
					held = b;
				}
			}
			if (held == NULL) { /* this input is read */
				sha256_final(&q->ih, jobs[j].in_digest);
				jobs[j].in_size = q->isize;
				close(q->in);
				q->in = -1;
				rj++;
			}
			continue;
		}
		if (wseq == rseq)
			break; /* everything read is written: done */
		if ((b = gz_wait(&g, wseq)) == NULL) {
			fx_strlcpy(why, "internal: block out of order", sizeof(why));
			goto fail;
		}
		{
			struct gzj *q = &st[b->job];
			failed = b->job;
			if (b->bad) {
				fx_strlcpy(why, "deflate failed", sizeof(why));
				goto fail;
			}
			if (sink_write(&q->s, b->out, b->outlen) != 0) {
				snprintf(why, sizeof(why), "write: %s", strerror(errno));
				goto fail;
			}
			q->crc = crc32_combine(q->crc, b->crc, (z_off_t)b->len);
			if (b->last) {
				unsigned char tr[8];
				put_le32(tr, (uint32_t)q->crc);
				put_le32(tr + 4, (uint32_t)(q->isize & 0xffffffffu)); /* ISIZE: mod 2^32 */
				if (sink_write(&q->s, tr, sizeof(tr)) != 0) {
					snprintf(why, sizeof(why), "write: %s", strerror(errno));
					goto fail;
				}
				if (close(q->out) != 0) {
					q->out = -1;
					snprintf(why, sizeof(why), "close: %s", strerror(errno));
					goto fail;
				}
				q->out = -1;
				sha256_final(&q->s.h, jobs[b->job].digest);
				jobs[b->job].size = q->s.size;
			}
			gz_set(&g, b, SL_FREE);
			wseq++;
		}
	}
	goto end;
fail:
	rc = fe_set(e, FX_IO, "compressing %s: %s", esc(jobs[failed].in), why);
end:
	pthread_mutex_lock(&g.mu);
	g.quit = 1;
	pthread_cond_broadcast(&g.work);
	pthread_mutex_unlock(&g.mu);
	for (i = 0; i < (size_t)nworkers; i++)
		pthread_join(tids[i], NULL);
	free(tids);
	for (i = 0; i < n; i++) {
		if (st[i].hashing) { /* no-ops on what sha256_final already freed */
			sha256_free(&st[i].ih);
			sha256_free(&st[i].s.h);
		}
		if (st[i].in >= 0)
			close(st[i].in);
		if (st[i].out >= 0)
			close(st[i].out);
	}
	for (i = 0; i < g.nsl; i++) {
		free(g.sl[i].in);
		free(g.sl[i].out);
	}
	free(g.sl);
	free(st);
	if (zs_ok)
		deflateEnd(&zs);
	pthread_cond_destroy(&g.work);
	pthread_cond_destroy(&g.done);
	pthread_mutex_destroy(&g.mu);
	return rc;
}

/* --- zstd: one job a thread (libzstd's frames are already deterministic) --- */

static void run_job(struct pool *p, struct cz_job *j)
{
	struct sink s = {-1, {NULL}, 0};
	struct sha256 ih;
	char why[256] = "";
	int in = -1, ok = 0;

	sha256_init(&ih);
	sha256_init(&s.h);
	j->in_size = 0;
	in = open(j->in, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0) {
		snprintf(why, sizeof(why), "%s", strerror(errno));
		goto end;
	}
	s.fd = open(j->out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (s.fd < 0) {
		snprintf(why, sizeof(why), "%s", strerror(errno));
		goto end;
	}
	if (zstd_file(in, &s, &ih, &j->in_size, why, sizeof(why)) != 0)
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
		sha256_final(&ih, j->in_digest);
		j->size = s.size;
	} else {
		sha256_free(&s.h);
		sha256_free(&ih);
		pthread_mutex_lock(&p->mu);
		fe_set(&p->err, FX_IO, "compressing %s: %s", esc(j->in), why);
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

int compress_files(struct cz_job *jobs, size_t n, enum cz_algo algo, int threads,
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
		int rc = gzip_files(jobs, p.order, n, threads, e);
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
