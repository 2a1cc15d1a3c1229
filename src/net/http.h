/* http.h - libcurl client shared by the registry and Docker Engine targets: kept-alive
 * connections, TLS options, unix sockets, bounded retries with backoff, capped replies. */
#ifndef FERRY_HTTP_H
#define FERRY_HTTP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define HTTP_JSON_MAX (4u << 20)   /* cap of a JSON reply body from a server */
#define HTTP_ERRBODY_MAX 4096      /* kept of an error reply, for the message */

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
	long stall_timeout;        /* seconds without a byte moving; 0: 60 */
	int retries;               /* attempts after the first one; 0: 4 (http_req.no_retry: none) */
	unsigned backoff_ms;       /* first wait; 0: 250 ms, doubled each time, +jitter */
	unsigned wait_max_ms;      /* bound on the total waiting of one request; 0: 30 s */
	struct http_budget *budget;/* shared bound on the waiting of all requests; NULL: none */
};

/* One request. The body is in memory, so a retry sends it again; or it is read on
 * demand (body_read), from offset 0 on every attempt. */
struct http_req {
	const char *method;        /* GET HEAD PUT POST PATCH DELETE */
	const char *url;
	const char *const *headers;/* "Name: value" lines, NULL-terminated; may be NULL */
	const void *body;          /* POST/PUT/PATCH body, may be NULL with body_len 0 */
	size_t body_len;
	/* instead of body: body_size bytes, read into buf at offset at of the body; returns
	 * the bytes put there, 0 to abandon the request (it then fails) */
	size_t (*body_read)(void *arg, void *buf, size_t n, uint64_t at);
	void *body_arg;
	uint64_t body_size;
	size_t max_body;           /* keep at most this much of the reply; more is an error */
	int no_retry;              /* one attempt only */
};

struct http_resp {
	long status;
	char *body;                /* NUL-terminated, body_len bytes */
	size_t body_len;
	/* captured headers, NUL-terminated, NULL when absent */
	char *location, *digest, *www_auth, *retry_after, *content_type, *range;
	uint64_t content_length;
	int has_content_length;
};

struct http;

/* Once, before any thread starts. */
void http_global_init(void);
struct http *http_new(const struct http_opts *o);
void http_free(struct http *h);

/* Performs rq, retrying on connection errors, 5xx and 429 (honouring Retry-After) with
 * exponential backoff and jitter, total waiting bounded. Returns FX_OK once a reply
 * arrived (any status: the caller judges it; after the retries a 5xx is returned as
 * is), else FX_TARGET with e set to "METHOD URL: why". rs is reset first; free it with
 * http_resp_free. */
int http_do(struct http *h, const struct http_req *rq, struct http_resp *rs, struct ferr *e);
void http_resp_free(struct http_resp *rs);

/* Parses a Retry-After value: delta seconds or an IMF-fixdate, relative to now (Unix
 * time). 0 ok with *secs set (a date in the past gives 0), -1 when unparseable. */
int http_parse_retry_after(const char *v, int64_t now, uint64_t *secs);

/* A short description of the reply's error body for messages (escaped, first line,
 * bounded) in buf, or "" when there is none. http_body_snippet(rs) gives it a buffer
 * of the calling block. */
const char *http_body_snippet_buf(const struct http_resp *rs, char *buf, size_t size);
#define http_body_snippet(rs) http_body_snippet_buf((rs), (char[ESC_MAX]){0}, ESC_MAX)

#endif
