/* registry_client.h - a client of one OCI distribution registry, for pushing (the
 * registry:// load target) and pulling alike: its address and TLS options, its
 * credentials (net/credentials.h, looked up at the first challenge), Basic and Bearer
 * authentication with a token cache per repository and scope, a retry budget and a
 * breaker for a registry that keeps failing, all shared by the threads that use it.
 * Each thread brings its own connection (regc_connect). */
#ifndef FERRY_REGISTRY_CLIENT_H
#define FERRY_REGISTRY_CLIENT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "net/credentials.h"
#include "net/http.h"
#include "net/registry.h"

#define REGC_BREAK_AFTER 3          /* requests failed in a row (after retries) before giving up */
#define REGC_RETRY_BUDGET_MS 120000 /* retry waiting of all the client's requests together */
#define REGC_REDIRECTS_MAX 5        /* redirects followed for a blob HEAD or GET */
#define REGC_SIZE_UNKNOWN UINT64_MAX

struct regc_opts {
	const char *name;     /* for messages: "registry://HOST[:PORT]..." */
	const char *hostport; /* HOST[:PORT] */
	int plain_http;       /* http:// instead of https:// */
	const char *cacert;   /* an extra CA bundle, or NULL */
	const char *creds;    /* "USER:PASS", or NULL: Docker's config.json and helpers */
	long timeout;         /* seconds per request; 0: HTTP_TIMEOUT_DEFAULT */
};

struct regc_token;

struct reg_client {
	char name[600];
	char hostport[272];
	char base[300];             /* "https://HOST[:PORT]" */
	int plain_http, loopback;   /* loopback: the host is 127.0.0.0/8, ::1 or localhost */
	struct http_opts http;      /* what every connection is made with */
	struct http_budget budget;
	pthread_mutex_t lock;       /* guards what follows */
	struct reg_creds creds;
	int creds_known;            /* given, or looked up (at the first challenge) */
	struct ferr creds_error;    /* why the look-up failed (a credential helper) */
	char *basic;                /* "Authorization: Basic ..." once a challenge asked */
	struct regc_token *tokens;
	size_t ntokens;
	int broken, fails;
	char broken_why[2200];
};

/* FX_OK, or FX_USAGE with e set when o->creds is not USER:PASS. Nothing is contacted. */
int regc_init(struct reg_client *c, const struct regc_opts *o, struct ferr *e);
/* 1 when hostport is one of the n HOST[:PORT]s of hosts (case-insensitive): the
 * registries ferry-pack --plain-http names, for image and chart pulls alike. */
int regc_host_listed(const char *const *hosts, size_t n, const char *hostport);
/* Frees what c holds (secrets wiped); a zeroed client that regc_init never saw too. */
void regc_free(struct reg_client *c);
/* A connection for one thread (http_free it). */
struct http *regc_connect(struct reg_client *c);

/* A request on one repository. http.url is absolute (regc.base + "/v2/..." or a
 * Location); http.headers are the request's own (Authorization is added). */
struct regc_request {
	const char *repo;
	struct http_req http;
};

/* Sends rq on conn with the credentials it needs, answering a 401 challenge once
 * (Basic, or a Bearer token from the realm the registry names: see
 * reg_realm_allowed). Requests that fail even after their retries (no answer, or still
 * 5xx or 429) count towards the breaker: REGC_BREAK_AFTER of them in a row and every
 * later request fails at once ("giving up: ..."). FX_OK once a reply arrived (the
 * caller judges its status; rs always needs http_resp_free), else e is set. */
int regc_request(struct reg_client *c, struct http *conn, const struct regc_request *rq, struct http_resp *rs,
    struct ferr *e);

/* As regc_request, for a blob HEAD or GET (only those): a redirect (301, 302, 303,
 * 307, 308) is followed, at most REGC_REDIRECTS_MAX times, to the Location it names,
 * which may be another host (a storage backend): credentials go only to the
 * registry's own scheme, host and port, and never from https down to http. rs is the
 * final answer; a redirect that cannot be followed is returned as it is. */
int regc_request_follow(struct reg_client *c, struct http *conn, const struct regc_request *rq,
    struct http_resp *rs, struct ferr *e);

/* GET url of repo into memory (rs->body, at most max bytes), the pack side's small
 * reads (manifests, configs, signatures, charts): with headers (NULL-terminated, or
 * NULL), redirects followed when follow, an interrupt stopping the transfer. *rs is
 * the answer, whatever its status; http_resp_free it. */
int regc_get(struct reg_client *c, struct http *conn, const char *repo, const char *url, const char *const *headers,
    size_t max, int follow, struct http_resp *rs, struct ferr *e);

/* Is the blob in repo? HEAD, redirects followed: 1 when the final answer is 200 and
 * its Docker-Content-Digest (when given) is digest and its Content-Length (when given)
 * is size (REGC_SIZE_UNKNOWN: not compared); 0 for 404 and for any other answer that
 * is not an error (a redirect not followed, a 200 for other bytes); -1 with e set for
 * an error (no answer, 401, 403, other 4xx, 5xx after the retries). */
int regc_blob_present(struct reg_client *c, struct http *conn, const char *repo, const char *digest,
    uint64_t size, struct ferr *e);

/* Has the breaker tripped? */
int regc_broken(struct reg_client *c);

#endif
