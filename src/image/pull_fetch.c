/* pull_fetch.c - registry blobs on the wire: one blob into a staged file, or every
 * remote layer of a build straight into its place in the bundle (pwrite at the offset
 * the writer left for it), jobs connections at once, each hashed as it arrives, with
 * readers (the SBOM catalogue) following the bytes as they land. */
#include "image/pull_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "util/progress.h"

/* --- one blob --- */

static size_t sink_data(void *arg, long status, const void *buf, size_t n)
{
	struct blob_sink *s = arg;
	const unsigned char *b = buf;
	uint64_t at = s->start + s->pos, skip;

	if (status != 200 && status != 206)
		return n; /* a challenge, a redirect or an error: its body is not the blob */
	s->pos += n;
	if (at + n <= s->got)
		return n; /* a 200 to a Range request: what is already here comes again */
	skip = at < s->got ? s->got - at : 0;
	if (at > s->got || s->got + (n - skip) > s->want) {
		s->too_long = at <= s->got;
		return 0; /* a gap, or more than the descriptor says */
	}
	if (s->at >= 0 ? pwrite_all(s->fd, b + skip, n - skip, (uint64_t)s->at + s->got) != 0 :
	    write_all(s->fd, b + skip, n - skip) != 0) {
		s->io_error = errno ? errno : EIO;
		return 0;
	}
	sha256_update(&s->hash, b + skip, n - skip);
	s->got += n - skip;
	if (s->on_bytes != NULL)
		s->on_bytes(s->bytes_ctx, n - skip, s->got);
	return n;
}

static void nap_ms(uint64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !fx_interrupted)
		;
}

/* One GET of the blob, from s->got on; 1: call again (after a wait), 0: done, -1: e set. */
static int blob_attempt(struct pull_source *src, struct http *conn, const struct oci_desc *d, struct blob_sink *s,
    uint64_t *wait, struct ferr *e)
{
	struct regc_request rq;
	struct http_resp rs;
	struct ferr why = {0, ""};
	char range[64], *url = xasprintf("%s/v2/%s/blobs/sha256:%s", src->client.base, src->repo, d->hex);
	const char *headers[2] = {range, NULL};
	uint64_t ra;
	int rc, verdict = 1;

	memset(&rq, 0, sizeof(rq));
	snprintf(range, sizeof(range), "Range: bytes=%llu-", (unsigned long long)s->got);
	rq.repo = src->repo;
	rq.http.method = "GET";
	rq.http.url = url;
	rq.http.headers = s->got > 0 ? headers : NULL;
	rq.http.on_data = sink_data;
	rq.http.data_arg = s;
	rq.http.no_retry = 1; /* retried here, from where it stopped */
	rq.http.deadline = HTTP_DEADLINE_NONE; /* as long as the blob takes; a stall still ends it */
	rq.http.stop_on_interrupt = 1;
	s->pos = 0;
	s->start = s->got;
	*wait = 0;
	rc = regc_request_follow(&src->client, conn, &rq, &rs, &why);
	if (s->io_error) {
		verdict = -1;
		fe_set(e, FX_IO, "%s: blob sha256:%s: writing it: %s", src->name, d->hex, strerror(s->io_error));
	} else if (s->too_long) {
		verdict = -1;
		fe_set(e, FX_VERIFY, "%s: blob sha256:%s: the registry sent more than the %llu bytes its "
		    "descriptor says", src->name, d->hex, (unsigned long long)s->want);
	} else if (rc != FX_OK) {
		if (rs.failure == HTTP_FAIL_INTERRUPTED || fx_interrupted || regc_broken(&src->client)) {
			verdict = -1;
			fe_set(e, rc, "%s: blob sha256:%s: %s", src->name, d->hex, why.msg);
		} else {
			*e = why; /* retried; said if the retries run out */
		}
	} else if (rs.status == 200 || rs.status == 206) {
		if (s->got == s->want)
			verdict = 0;
	} else if (rs.status == 429 || (rs.status >= 500 && rs.status <= 599)) {
		if (rs.retry_after != NULL && http_parse_retry_after(rs.retry_after, (int64_t)time(NULL), &ra) == 0)
			*wait = ra * 1000 > PULL_WAIT_MAX_MS ? PULL_WAIT_MAX_MS : ra * 1000;
		fe_set(e, FX_TARGET, "%s: blob sha256:%s: HTTP %ld", src->name, d->hex, rs.status);
	} else {
		verdict = -1;
		fe_set(e, FX_TARGET, "%s: blob sha256:%s: HTTP %ld%s%s", src->name, d->hex, rs.status,
		    rs.status == 404 ? " (not found)" : "", http_body_snippet(&rs));
	}
	http_resp_free(&rs);
	free(url);
	return verdict;
}

/* Fetches one blob into s->fd (at s->at, or appended), hashed as it arrives; resumes
 * with Range; the bytes must hash to d's digest. */
int fetch_blob(struct pull_source *src, struct http *conn, const struct oci_desc *d, struct blob_sink *s,
    struct ferr *e)
{
	unsigned char digest[SHA256_LEN];
	char hex[SHA256_HEX];
	struct ferr last = {0, ""};
	uint64_t wait, backoff = 250, before;
	int verdict = 1, idle = 0, tries = 0, rc = FX_OK;

	s->want = d->size;
	sha256_init(&s->hash);
	while (verdict > 0) {
		before = s->got;
		if (fx_interrupted) {
			rc = fe_set(e, FX_IO, "interrupted");
			goto end;
		}
		last.code = 0;
		verdict = blob_attempt(src, conn, d, s, &wait, &last);
		if (verdict < 0) {
			rc = fe_set(e, last.code, "%s", last.msg);
			goto end;
		}
		idle = s->got > before ? 0 : idle + 1;
		if (verdict > 0 && (idle >= PULL_TRIES || ++tries >= PULL_TRIES_MAX)) {
			rc = fe_set(e, FX_TARGET, "%s: blob sha256:%s: %llu of %llu bytes after %d attempts%s%s", src->name,
			    d->hex, (unsigned long long)s->got, (unsigned long long)s->want, tries,
			    last.code ? ": last: " : "", last.code ? last.msg : "");
			goto end;
		}
		if (verdict > 0) {
			nap_ms(wait ? wait : backoff);
			backoff = backoff * 2 > PULL_WAIT_MAX_MS ? PULL_WAIT_MAX_MS : backoff * 2;
		}
	}
	sha256_final(&s->hash, digest);
	s->hash.ctx = NULL;
	if (CRYPTO_memcmp(digest, d->digest, SHA256_LEN) != 0) {
		hex_encode(digest, SHA256_LEN, hex);
		rc = fe_set(e, FX_VERIFY, "%s: blob sha256:%s: the registry sent bytes with digest sha256:%s", src->name,
		    d->hex, hex);
	}
end:
	sha256_free(&s->hash);
	return rc;
}

/* Pulls one blob into a new staged file at path. */
int pull_blob_file(struct pull_source *src, struct http *conn, const struct oci_desc *d, const char *path,
    struct ferr *e)
{
	struct blob_sink s;
	int rc;

	memset(&s, 0, sizeof(s));
	s.at = -1;
	s.fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (s.fd < 0)
		return fe_set(e, FX_IO, "%s: %s", ESC(path), strerror(errno));
	rc = fetch_blob(src, conn, d, &s, e);
	if (close(s.fd) != 0 && rc == FX_OK)
		rc = fe_set(e, FX_IO, "%s: %s", ESC(path), strerror(errno));
	return rc;
}

/* --- remote blobs into the output (images_fetch) --- */

/* What readers following a fetch wait on (one fetch at a time in a process). */
static pthread_mutex_t landed_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t landed_cv = PTHREAD_COND_INITIALIZER;

int img_fetch_wait(void *ctx, uint64_t upto)
{
	struct img_fetch *f = ctx;
	int rc;

	pthread_mutex_lock(&landed_mu);
	while (f->over == 0 && f->landed < upto) {
		if (f->need == 0 || upto < f->need)
			f->need = upto;
		pthread_cond_wait(&landed_cv, &landed_mu);
	}
	rc = f->landed >= upto && f->over >= 0 ? 0 : -1;
	pthread_mutex_unlock(&landed_mu);
	return rc;
}

/* Readers are woken when what one waits for is there (or the fetch is over), not at
 * every piece received: a woken reader that finds too little registers again. */
static void landed(struct img_fetch *f, uint64_t got, int over)
{
	pthread_mutex_lock(&landed_mu);
	f->landed = got;
	if (over != 0)
		f->over = over;
	if (over != 0 || (f->need != 0 && got >= f->need)) {
		f->need = 0;
		pthread_cond_broadcast(&landed_cv);
	}
	pthread_mutex_unlock(&landed_mu);
}

struct fetch_pool {
	struct img_fetch *want;
	size_t n, next;
	size_t *order; /* largest first */
	int fd;
	struct progress *progress;
	pthread_mutex_t mu;
	struct ferr err; /* the first failure */
};

/* One blob's bytes arrived: the progress meter and the readers following it. */
struct fetch_item {
	struct fetch_pool *pool;
	struct img_fetch *item;
};

static void fetch_bytes(void *ctx, uint64_t n, uint64_t got)
{
	struct fetch_item *fi = ctx;

	if (fi->pool->progress != NULL) {
		pthread_mutex_lock(&fi->pool->mu);
		progress_add(fi->pool->progress, n);
		pthread_mutex_unlock(&fi->pool->mu);
	}
	landed(fi->item, got, 0);
}

/* One connection per source a worker has fetched from (a few sources: a short list). */
struct worker_conn {
	const struct pull_source *src;
	struct http *conn;
};

static void *fetch_worker(void *arg)
{
	struct fetch_pool *f = arg;
	struct worker_conn *conns = NULL;
	size_t nconns = 0, i, k;
	struct ferr e = {0, ""};
	int rc;

	for (;;) {
		const struct img_blob *b;
		struct pull_source *src;
		struct blob_sink s;
		struct fetch_item fi;
		struct oci_desc d;
		struct http *conn = NULL;
		pthread_mutex_lock(&f->mu);
		i = f->err.code ? f->n : f->next++;
		pthread_mutex_unlock(&f->mu);
		if (i >= f->n)
			break;
		b = f->want[f->order[i]].blob;
		src = (struct pull_source *)(uintptr_t)b->remote;
		for (k = 0; k < nconns && conn == NULL; k++)
			if (conns[k].src == src)
				conn = conns[k].conn;
		if (conn == NULL) {
			conns = xreallocarray(conns, nconns + 1, sizeof(*conns));
			conns[nconns].src = src;
			conn = conns[nconns++].conn = regc_connect(&src->client);
		}
		memset(&d, 0, sizeof(d));
		memcpy(d.digest, b->digest, SHA256_LEN);
		memcpy(d.hex, b->hex, SHA256_HEX);
		d.size = b->size;
		memset(&s, 0, sizeof(s));
		s.fd = f->fd;
		s.at = (int64_t)f->want[f->order[i]].off;
		fi.pool = f;
		fi.item = &f->want[f->order[i]];
		s.on_bytes = fetch_bytes;
		s.bytes_ctx = &fi;
		rc = fetch_blob(src, conn, &d, &s, &e);
		landed(fi.item, s.got, rc == FX_OK ? 1 : -1);
		if (rc != FX_OK) {
			pthread_mutex_lock(&f->mu);
			if (f->err.code == 0)
				f->err = e;
			pthread_mutex_unlock(&f->mu);
			break;
		}
	}
	for (k = 0; k < nconns; k++)
		http_free(conns[k].conn);
	free(conns);
	return NULL;
}

static int cmp_fetch_size(const void *a, const void *b, void *arg)
{
	const struct img_fetch *want = arg;
	uint64_t x = want[*(const size_t *)a].blob->size, y = want[*(const size_t *)b].blob->size;

	return x < y ? 1 : x > y ? -1 : 0;
}

int images_fetch(struct img_fetch *want, size_t n, int fd, int jobs, struct progress *progress,
    struct ferr *e)
{
	struct fetch_pool f;
	pthread_t tid[PULL_JOBS_MAX];
	size_t i, started = 0;

	memset(&f, 0, sizeof(f));
	f.want = want;
	f.n = n;
	f.fd = fd;
	f.progress = progress;
	f.order = xcalloc(n ? n : 1, sizeof(*f.order));
	for (i = 0; i < n; i++)
		f.order[i] = i;
	qsort_r(f.order, n, sizeof(*f.order), cmp_fetch_size, want);
	jobs = jobs < 1 ? 1 : jobs > PULL_JOBS_MAX ? PULL_JOBS_MAX : jobs;
	pthread_mutex_init(&f.mu, NULL);
	for (; started < (size_t)jobs && started < n; started++)
		if (pthread_create(&tid[started], NULL, fetch_worker, &f) != 0)
			break;
	if (started == 0 && n > 0)
		fetch_worker(&f);
	for (i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&f.mu);
	free(f.order);
	for (i = 0; i < n; i++) /* what no worker took is not coming */
		if (want[i].over == 0)
			landed(&want[i], want[i].landed, -1);
	if (f.err.code != 0)
		return fe_set(e, f.err.code, "%s", f.err.msg);
	return fx_interrupted ? fe_set(e, FX_IO, "interrupted") : FX_OK;
}
