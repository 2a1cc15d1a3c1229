/* http.c - libcurl easy handles with retries and capped replies (see http.h). A handle
 * is used by one thread at a time; curl_easy_reset keeps its live connections, so
 * successive requests reuse them (keep-alive). */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "net/http.h"

#define HDR_LINE_MAX 8192
#define HDR_TOTAL_MAX (256u << 10)
#define RETRY_AFTER_MAX 60 /* seconds: a server cannot park us longer than this per try */

struct http {
	CURL *curl;
	struct http_opts opts;
	uint64_t rng;
	char errbuf[CURL_ERROR_SIZE];
};

/* One attempt's state, seen by the callbacks. */
struct xfer {
	struct http *h;
	const struct http_req *rq;
	struct http_resp *rs;
	size_t cap;
	int too_big;
	size_t hdr_total;
	int hdr_too_big;
	uint64_t at;           /* bytes of a body read on demand handed to curl */
	uint64_t body_done_ms; /* when a streamed body ended (HTTP_DEADLINE_BODY_END); 0: not yet */
	uint64_t limit_ms;     /* the deadline, counted from body_done_ms */
	int timed_out, stopped, interrupted;
};

#define UPLOAD_BUF (512u << 10) /* curl's buffer for a body read on demand */
#define DOWNLOAD_BUF (256u << 10) /* curl's receive buffer for a body streamed to on_data */

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
	struct xfer *x = ud;
	int streamed = x->rq->body_size == HTTP_BODY_STREAM;
	uint64_t left = streamed ? UINT64_MAX : x->rq->body_size - x->at;
	size_t n = size * nitems, got;

	if (left < n)
		n = (size_t)left;
	if (n == 0)
		return 0;
	got = x->rq->body_read(x->rq->body_arg, buf, n, x->at);
	if (got == HTTP_READ_ABORT || (got == 0 && !streamed) || got > n) {
		x->stopped = 1;
		return CURL_READFUNC_ABORT;
	}
	if (got == 0 && x->rq->deadline == HTTP_DEADLINE_BODY_END)
		x->body_done_ms = now_ms();
	x->at += got;
	return got;
}

/* Stops a transfer on an interrupt, or when the reply to a streamed body is late. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct xfer *x = ud;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (x->rq->stop_on_interrupt && fx_interrupted) {
		x->interrupted = 1;
		return 1;
	}
	if (x->body_done_ms != 0 && now_ms() - x->body_done_ms >= x->limit_ms) {
		x->timed_out = 1;
		return 1;
	}
	return 0;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

void http_budget_init(struct http_budget *b, uint64_t ms)
{
	pthread_mutex_init(&b->mu, NULL);
	b->left_ms = ms;
	b->init = 1;
}

void http_budget_destroy(struct http_budget *b)
{
	if (b != NULL && b->init) {
		pthread_mutex_destroy(&b->mu);
		b->init = 0;
	}
}

/* Takes ms from the shared budget: 0 ok, -1 when it does not hold that much. */
static int budget_take(struct http_budget *b, uint64_t ms)
{
	int r = -1;

	if (b == NULL)
		return 0;
	pthread_mutex_lock(&b->mu);
	if (b->left_ms >= ms) {
		b->left_ms -= ms;
		r = 0;
	}
	pthread_mutex_unlock(&b->mu);
	return r;
}

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void http_global_init(void)
{
	pthread_once(&once, global_init);
}

struct http *http_new(const struct http_opts *o)
{
	struct http *h;

	http_global_init();
	h = xcalloc(1, sizeof(*h));
	if (o != NULL)
		h->opts = *o;
	if (h->opts.connect_timeout <= 0)
		h->opts.connect_timeout = 15;
	if (h->opts.stall_timeout == 0)
		h->opts.stall_timeout = 60;
	if (h->opts.timeout <= 0)
		h->opts.timeout = HTTP_TIMEOUT_DEFAULT;
	if (h->opts.retries <= 0)
		h->opts.retries = 4;
	if (h->opts.backoff_ms == 0)
		h->opts.backoff_ms = 250;
	if (h->opts.wait_max_ms == 0)
		h->opts.wait_max_ms = 30000;
	h->curl = curl_easy_init();
	if (h->curl == NULL) {
		fprintf(stderr, "%s: out of memory (curl)\n", fx_progname);
		exit(FX_IO);
	}
	h->rng = (uint64_t)time(NULL) ^ ((uint64_t)(uintptr_t)h << 16) ^ 0x9e3779b97f4a7c15ull;
	return h;
}

long http_timeout(const struct http *h)
{
	return h->opts.timeout;
}

char *http_escape(const char *s)
{
	char *esc, *out;

	http_global_init();
	esc = curl_easy_escape(NULL, s, 0);
	if (esc == NULL) {
		fprintf(stderr, "%s: out of memory (curl)\n", fx_progname);
		exit(FX_IO);
	}
	out = xstrdup(esc);
	curl_free(esc);
	return out;
}

void http_free(struct http *h)
{
	if (h == NULL)
		return;
	curl_easy_cleanup(h->curl);
	free(h);
}

void http_resp_free(struct http_resp *rs)
{
	if (rs == NULL)
		return;
	free(rs->body);
	free(rs->location);
	free(rs->digest);
	free(rs->www_auth);
	free(rs->retry_after);
	free(rs->content_type);
	free(rs->range);
	memset(rs, 0, sizeof(*rs));
}

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
	struct xfer *x = ud;
	struct http_resp *rs = x->rs;
	size_t n = sz * nm;

	if (x->rq->on_data != NULL) {
		long status = 0;
		size_t took;

		curl_easy_getinfo(x->h->curl, CURLINFO_RESPONSE_CODE, &status);
		took = x->rq->on_data(x->rq->data_arg, status, p, n);
		if (took != n)
			x->stopped = 1;
		return took == n ? n : 0;
	}
	if (n > x->cap || rs->body_len > x->cap - n) {
		x->too_big = 1;
		return 0; /* aborts the transfer: an untrusted server may not fill our memory */
	}
	rs->body = xrealloc(rs->body, rs->body_len + n + 1);
	memcpy(rs->body + rs->body_len, p, n);
	rs->body_len += n;
	rs->body[rs->body_len] = '\0';
	return n;
}

static void set_hdr(char **slot, const char *v, size_t n)
{
	free(*slot);
	*slot = xmalloc(n + 1);
	memcpy(*slot, v, n);
	(*slot)[n] = '\0';
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
	struct xfer *x = ud;
	struct http_resp *rs = x->rs;
	size_t n = sz * nm, k, vlen;
	const char *v, *colon;
	char **slot = NULL;

	x->hdr_total += n;
	if (x->hdr_total > HDR_TOTAL_MAX || n > HDR_LINE_MAX) {
		x->hdr_too_big = 1;
		return 0;
	}
	if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		/* a new response (after 100 Continue): forget the previous headers */
		struct http_resp keep = *rs;

		keep.body = NULL;
		keep.body_len = 0;
		http_resp_free(&keep);
		rs->location = rs->digest = rs->www_auth = rs->retry_after = NULL;
		rs->content_type = rs->range = NULL;
		rs->has_content_length = 0;
		return n;
	}
	colon = memchr(p, ':', n);
	if (colon == NULL)
		return n;
	k = (size_t)(colon - p);
	v = colon + 1;
	vlen = n - k - 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (memchr(v, '\0', vlen) != NULL)
		return n; /* a NUL inside a header value: ignore the header */
#define IS(name) (k == sizeof(name) - 1 && strncasecmp(p, name, k) == 0)
	if (IS("location"))
		slot = &rs->location;
	else if (IS("docker-content-digest"))
		slot = &rs->digest;
	else if (IS("www-authenticate")) {
		/* keep the first challenge only; several are rare and the first is preferred */
		if (rs->www_auth == NULL)
			slot = &rs->www_auth;
	} else if (IS("retry-after"))
		slot = &rs->retry_after;
	else if (IS("content-type"))
		slot = &rs->content_type;
	else if (IS("range"))
		slot = &rs->range;
	else if (IS("content-length")) {
		char tmp[32];
		uint64_t u;

		if (vlen < sizeof(tmp)) {
			memcpy(tmp, v, vlen);
			tmp[vlen] = '\0';
			if (parse_u64(tmp, &u) == 0) {
				rs->content_length = u;
				rs->has_content_length = 1;
			}
		}
	}
#undef IS
	if (slot != NULL)
		set_hdr(slot, v, vlen);
	return n;
}

int http_parse_retry_after(const char *v, int64_t now, uint64_t *secs)
{
	struct tm tm;
	const char *end;
	int64_t t;

	if (v == NULL || *v == '\0')
		return -1;
	if (isdigit((unsigned char)v[0])) {
		if (strlen(v) > 12)
			return -1;
		return parse_u64(v, secs);
	}
	/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
	memset(&tm, 0, sizeof(tm));
	end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	t = (int64_t)timegm(&tm);
	*secs = t > now ? (uint64_t)(t - now) : 0;
	return 0;
}

const char *http_body_snippet_buf(const struct http_resp *rs, char *out, size_t size)
{
	char buf[256];
	size_t i, n;

	if (rs == NULL || rs->body == NULL || rs->body_len == 0)
		return "";
	n = rs->body_len < sizeof(buf) - 1 ? rs->body_len : sizeof(buf) - 1;
	for (i = 0; i < n && rs->body[i] != '\n' && rs->body[i] != '\r' && rs->body[i] != '\0'; i++)
		buf[i] = rs->body[i];
	buf[i] = '\0';
	return fx_esc(buf, out, size);
}

static int retryable_curl(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

static int retryable_status(long st)
{
	return st == 429 || st == 500 || st == 502 || st == 503 || st == 504;
}

static uint64_t rnd(struct http *h)
{
	h->rng ^= h->rng << 13;
	h->rng ^= h->rng >> 7;
	h->rng ^= h->rng << 17;
	return h->rng;
}

/* Sleeps ms in short slices so an interrupt is noticed; -1 when interrupted. */
static int nap(uint64_t ms)
{
	while (ms > 0 && !fx_interrupted) {
		uint64_t s = ms > 100 ? 100 : ms;
		struct timespec ts = {0, (long)(s * 1000000)};

		nanosleep(&ts, NULL);
		ms -= s;
	}
	return fx_interrupted ? -1 : 0;
}

/* The method and the body of rq on the handle. */
static void set_body(CURL *c, const struct http_req *rq, struct xfer *x, int has_body)
{
	if (strcmp(rq->method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (has_body && rq->body_read != NULL) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, (long)UPLOAD_BUF);
		if (rq->body_size != HTTP_BODY_STREAM)
			curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->body_size);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, x);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
	} else if (has_body) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body_len ? rq->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
		if (strcmp(rq->method, "POST") != 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		if (strcmp(rq->method, "GET") != 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
	}
}

/* One attempt at rq, within limit_ms. */
static CURLcode perform(struct http *h, const struct http_req *rq, struct http_resp *rs, struct xfer *x,
    uint64_t limit_ms)
{
	struct curl_slist *headers = NULL, *more;
	CURL *c = h->curl;
	CURLcode cc;
	size_t i;
	int has_body = strcmp(rq->method, "POST") == 0 || strcmp(rq->method, "PUT") == 0 ||
	    strcmp(rq->method, "PATCH") == 0;

	curl_easy_reset(c);
	memset(x, 0, sizeof(*x));
	x->h = h;
	x->rq = rq;
	x->rs = rs;
	x->cap = rq->max_body;
	x->limit_ms = limit_ms;
	h->errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, rq->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, h->opts.connect_timeout);
	if (h->opts.stall_timeout > 0) {
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, h->opts.stall_timeout);
	}
	/* The deadline: curl's own timer, or on_progress when it runs from the end of the
	 * body. */
	if (rq->deadline == HTTP_DEADLINE_START)
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)limit_ms);
	if (rq->deadline == HTTP_DEADLINE_BODY_END || rq->stop_on_interrupt) {
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	}
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "ferry/" FERRY_VERSION);
	if (h->opts.no_proxy)
		curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	if (h->opts.cacert != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->opts.cacert);
	if (h->opts.unix_socket != NULL)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, h->opts.unix_socket);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	if (rq->on_data != NULL) /* a streamed body (a blob): fewer, larger pieces */
		curl_easy_setopt(c, CURLOPT_BUFFERSIZE, (long)DOWNLOAD_BUF);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	set_body(c, rq, x, has_body);
	/* no "Expect: 100-continue" round trip, no default form content type */
	headers = curl_slist_append(headers, "Expect:");
	if (has_body)
		headers = curl_slist_append(headers, "Content-Type:");
	if (has_body && rq->body_read != NULL && rq->body_size == HTTP_BODY_STREAM)
		headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
	for (i = 0; headers != NULL && rq->headers != NULL && rq->headers[i] != NULL; i++) {
		if ((more = curl_slist_append(headers, rq->headers[i])) == NULL)
			break;
		headers = more;
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rs->status);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	return cc;
}

/* The URL for messages: without its query (upload states are long and opaque). */
static const char *url_for_msg_buf(const char *url, char *out, size_t size)
{
	char buf[512];
	size_t n = strcspn(url, "?");

	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, url, n);
	buf[n] = '\0';
	return fx_esc(buf, out, size);
}
#define url_for_msg(url) url_for_msg_buf((url), (char[ESC_MAX]){0}, ESC_MAX)

/* Sets rs->failure and rs->error, and e, for a request that got no usable reply. */
static int request_failed(struct http *h, const struct http_req *rq, struct http_resp *rs, const struct xfer *x,
    CURLcode cc, int retried, struct ferr *e)
{
	rs->failure = HTTP_FAIL_OTHER;
	if (x->too_big) {
		snprintf(rs->error, sizeof(rs->error), "reply larger than %zu bytes", rq->max_body);
	} else if (x->hdr_too_big) {
		snprintf(rs->error, sizeof(rs->error), "reply headers too large");
	} else if (x->interrupted || fx_interrupted) {
		rs->failure = HTTP_FAIL_INTERRUPTED;
		snprintf(rs->error, sizeof(rs->error), "interrupted");
		return fe_set(e, FX_IO, "interrupted");
	} else if (x->timed_out) {
		rs->failure = HTTP_FAIL_TIMEOUT;
		snprintf(rs->error, sizeof(rs->error), "no complete answer within %ld s%s", h->opts.timeout,
		    rq->deadline == HTTP_DEADLINE_BODY_END ? " of the end of the request" : "");
		retried = 0;
	} else if (x->stopped) {
		rs->failure = HTTP_FAIL_STOPPED;
		snprintf(rs->error, sizeof(rs->error), "transfer stopped");
	} else {
		if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST)
			rs->failure = HTTP_FAIL_CONNECT;
		snprintf(rs->error, sizeof(rs->error), "%s", h->errbuf[0] ? h->errbuf : curl_easy_strerror(cc));
	}
	return fe_set(e, FX_TARGET, "%s %s: %s%s", rq->method, url_for_msg(rq->url), ESC(rs->error),
	    retried ? " (after retries)" : "");
}

int http_do(struct http *h, const struct http_req *rq, struct http_resp *rs, struct ferr *e)
{
	uint64_t waited = 0, delay = h->opts.backoff_ms, ra, start = now_ms();
	uint64_t limit = (uint64_t)h->opts.timeout * 1000;
	int attempt, tries = rq->no_retry ? 1 : h->opts.retries + 1;
	CURLcode cc = CURLE_OK;
	struct xfer x;

	memset(rs, 0, sizeof(*rs));
	memset(&x, 0, sizeof(x));
	for (attempt = 0; attempt < tries; attempt++) {
		uint64_t w, spent = now_ms() - start;

		http_resp_free(rs);
		if (spent >= limit && rq->deadline == HTTP_DEADLINE_START) {
			x.timed_out = 1;
			break;
		}
		cc = perform(h, rq, rs, &x, rq->deadline == HTTP_DEADLINE_START ? limit - spent : limit);
		if (cc == CURLE_OPERATION_TIMEDOUT && rq->deadline == HTTP_DEADLINE_START && now_ms() - start >= limit)
			x.timed_out = 1; /* the deadline, not the stall timer or the connect timeout */
		if (x.too_big || x.hdr_too_big || x.timed_out || x.stopped || x.interrupted)
			break;
		if (cc == CURLE_OK && !retryable_status(rs->status))
			return FX_OK;
		if (cc != CURLE_OK && !retryable_curl(cc))
			break;
		if (attempt + 1 >= tries || fx_interrupted)
			break;
		w = delay + rnd(h) % (delay / 2 + 1);
		if (cc == CURLE_OK && rs->retry_after != NULL &&
		    http_parse_retry_after(rs->retry_after, (int64_t)time(NULL), &ra) == 0)
			w = (ra > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : ra) * 1000;
		if (waited + w > h->opts.wait_max_ms ||
		    (rq->deadline == HTTP_DEADLINE_START && now_ms() - start + w >= limit) ||
		    budget_take(h->opts.budget, w) != 0)
			break;
		if (nap(w) < 0)
			break;
		waited += w;
		delay *= 2;
	}
	if (cc == CURLE_OK && !x.timed_out) /* a 5xx or 429 after every retry: the caller names it */
		return FX_OK;
	return request_failed(h, rq, rs, &x, cc, attempt > 0, e);
}
