/* compress.c - deterministic gzip (zlib) and zstd compression of layer files on a
 * small pthread pool. gzip headers carry no name and mtime 0; levels are fixed. */
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

static int gzip_file(int in, struct sink *s, struct sha256 *ih, uint64_t *isz, char *why, size_t whyl)
{
	unsigned char *ib = xmalloc(IN_CHUNK), *ob = xmalloc(IN_CHUNK);
	z_stream zs;
	int rc = -1, flush = Z_NO_FLUSH, zr;

	memset(&zs, 0, sizeof(zs));
	/* 15 + 16: gzip wrapper with zlib's default header (no name, mtime 0). */
	if (deflateInit2(&zs, CZ_GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		fx_strlcpy(why, "deflateInit2 failed", whyl);
		free(ib);
		free(ob);
		return -1;
	}
	while (flush != Z_FINISH) {
		ssize_t r = read(in, ib, IN_CHUNK);
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
		flush = r == 0 ? Z_FINISH : Z_NO_FLUSH;
		zs.next_in = ib;
		zs.avail_in = (uInt)r;
		do {
			zs.next_out = ob;
			zs.avail_out = (uInt)IN_CHUNK;
			zr = deflate(&zs, flush);
			if (zr == Z_STREAM_ERROR) {
				fx_strlcpy(why, "deflate failed", whyl);
				goto end;
			}
			if (sink_write(s, ob, IN_CHUNK - zs.avail_out) != 0) {
				snprintf(why, whyl, "write: %s", strerror(errno));
				goto end;
			}
		} while (zs.avail_out == 0);
	}
	rc = 0;
end:
	deflateEnd(&zs);
	free(ib);
	free(ob);
	return rc;
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
	if ((p->algo == CZ_GZIP ? gzip_file : zstd_file)(in, &s, &ih, &j->in_size, why, sizeof(why)) != 0)
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
