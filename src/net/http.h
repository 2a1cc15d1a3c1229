/* http.h - the one libcurl client of ferry (registries and Docker Engines): kept-alive
 * connections, TLS options, unix sockets, bounded retries with backoff, capped replies,
 * an overall deadline per request, and bodies streamed either way. */
#ifndef FERRY_HTTP_H
#define FERRY_HTTP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define HTTP_JSON_MAX (4u << 20)   /* cap of a JSON reply body from a server */
#define HTTP_ERRBODY_MAX 4096      /* kept of an error reply, for the message */
#define HTTP_TIMEOUT_DEFAULT 300   /* seconds one request may take, retries included */

/* A bound on the retry waiting of several handles together (one target's threads). */
struct http_budget {
	pthread_mutex_t mu;
	uint64_t left_ms;
	int init;
};
void http_budget_init(struct http_budget *b, uint64_t ms);
void http_budget_destroy(struct http_budget *b);

struct http_opts {
	const char *cacert;        /* CA bundle for https; NULL: system store */
	const char *unix_socket;   /* connect through this socket (Docker Engine) */
	long connect_timeout;      /* seconds; 0: 15 */
	long stall_timeout;        /* seconds without a byte moving; 0: 60; < 0: none */
	long timeout;              /* seconds one request may take in all, its retries and
	                              their waits included; 0: HTTP_TIMEOUT_DEFAULT */
	int no_proxy;              /* never through a proxy named in the environment */
	int retries;               /* attempts after the first one; 0: 4 (http_req.no_retry: none) */
	unsigned backoff_ms;       /* first wait; 0: 250 ms, doubled each time, +jitter */
	unsigned wait_max_ms;      /* bound on the total waiting of one request; 0: 30 s */
	struct http_budget *budget;/* shared bound on the waiting of all requests; NULL: none */
};

/* body_size of a body of unknown length: read until body_read returns 0, sent with
 * chunked encoding. */
#define HTTP_BODY_STREAM UINT64_MAX
/* What body_read returns to abandon the request. */
#define HTTP_READ_ABORT ((size_t)-1)

/* One request. The body is in memory, so a retry sends it again; or it is read on
 * demand (body_read), from offset 0 on every attempt. */
struct http_req {
	const char *method;        /* GET HEAD PUT POST PATCH DELETE */
	const char *url;
	const char *const *headers;/* "Name: value" lines, NULL-terminated; may be NULL */
	const void *body;          /* POST/PUT/PATCH body, may be NULL with body_len 0 */
	size_t body_len;
	/* instead of body: body_size bytes (or HTTP_BODY_STREAM), read into buf at offset
	 * at of the body; returns the bytes put there, HTTP_READ_ABORT to abandon the
	 * request (it then fails); 0 ends a streamed body, and abandons a sized one */
	size_t (*body_read)(void *arg, void *buf, size_t n, uint64_t at);
	void *body_arg;
	uint64_t body_size;
	size_t max_body;           /* keep at most this much of the reply; more is an error */
	/* instead of keeping the reply body: every piece of it goes to on_data, with the
	 * reply's status; a return other than n stops the transfer (HTTP_FAIL_STOPPED) */
	size_t (*on_data)(void *arg, long status, const void *buf, size_t n);
	void *data_arg;
	int no_retry;              /* one attempt only */
	int deadline;              /* HTTP_DEADLINE_*: where the deadline runs from */
	int stop_on_interrupt;     /* an interrupt (fx_interrupted) stops the transfer */
};

/* http_req.deadline: from the start (the default); from the end of the request body
 * (an upload that lasts as long as its source: the answer is bounded); none (a
 * download that lasts as long as what it carries). */
enum { HTTP_DEADLINE_START, HTTP_DEADLINE_BODY_END, HTTP_DEADLINE_NONE };

/* Why http_do failed (http_resp.failure). */
enum http_failure {
	HTTP_FAIL_NONE,
	HTTP_FAIL_CONNECT,     /* nothing listens there */
	HTTP_FAIL_TIMEOUT,     /* the deadline passed */
	HTTP_FAIL_STOPPED,     /* body_read or on_data stopped it */
	HTTP_FAIL_INTERRUPTED, /* fx_interrupted */
	HTTP_FAIL_OTHER
};

struct http_resp {
	long status;
	char *body;                /* NUL-terminated, body_len bytes */
	size_t body_len;
	/* captured headers, NUL-terminated, NULL when absent */
	char *location, *digest, *www_auth, *retry_after, *content_type, *range;
	uint64_t content_length;
	int has_content_length;
	int failure;               /* HTTP_FAIL_* when http_do returned an error */
	char error[320];           /* then what went wrong (raw: escape it), else "" */
};

struct http;

/* Once, before any thread starts. */
void http_global_init(void);
struct http *http_new(const struct http_opts *o);
void http_free(struct http *h);

/* Performs rq, retrying on connection errors, 5xx and 429 (honouring Retry-After) with
 * exponential backoff and jitter, total waiting bounded, the whole within the deadline
 * (http_opts.timeout). Returns FX_OK once a reply arrived (any status: the caller
 * judges it; after the retries a 5xx is returned as is), else FX_TARGET (FX_IO when
 * interrupted) with e set to "METHOD URL: why" and rs->failure, rs->error set. rs is
 * reset first; free it with http_resp_free. */
int http_do(struct http *h, const struct http_req *rq, struct http_resp *rs, struct ferr *e);
void http_resp_free(struct http_resp *rs);

/* The deadline of one request in seconds (http_opts.timeout, defaulted). */
long http_timeout(const struct http *h);

/* s percent-encoded for a URL query, malloc'd. */
char *http_escape(const char *s);

/* Parses a Retry-After value: delta seconds or an IMF-fixdate, relative to now (Unix
 * time). 0 ok with *secs set (a date in the past gives 0), -1 when unparseable. */
int http_parse_retry_after(const char *v, int64_t now, uint64_t *secs);

/* A short description of the reply's error body for messages (escaped, first line,
 * bounded) in buf, or "" when there is none. http_body_snippet(rs) gives it a buffer
 * of the calling block. */
const char *http_body_snippet_buf(const struct http_resp *rs, char *buf, size_t size);
#define http_body_snippet(rs) http_body_snippet_buf((rs), (char[ESC_MAX]){0}, ESC_MAX)

#endif
