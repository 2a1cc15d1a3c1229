/* serve_http.c - the pull side of the OCI distribution API, read-only, answered by
 * libmicrohttpd from the verified index: /v2/, manifests by tag and digest (the stored
 * media type; an index only to a client that takes one), blobs with Range, tags/list,
 * _catalog, referrers. Blobs are read from the bundle files by position and every block is
 * checked before it is sent; a block that no longer matches cuts the response.
 *
 * Bounds: an event loop on a few threads (an idle or slow client holds a socket, not a
 * thread), a connection limit, a timeout on connections that make no progress, 32 KiB
 * for a request's line and headers, a cap on blob responses in flight (each holds one
 * block). A push is answered at once, before its body is read. */
#include "serve/serve.h"
#include "serve/serve_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/crypto.h>

#include "net/ref.h"
#include "net/registry.h"

#define REALM "ferry-load serve"
#define STREAMS_MAX 64           /* blob responses in flight; more get 429 */
#define REQUEST_MEMORY (32u << 10) /* a connection's request line and headers */
#define LIST_MAX 1000            /* the most entries of one page of a list */
#define ACCEPT_MAX 32            /* Accept headers looked at */
#define SEND_CHUNK (256u << 10)  /* handed to libmicrohttpd at a time */
#define PEM_MAX (1u << 20)
#define BODY_MAX (64u << 10)     /* a request body dropped before the connection is closed */

struct server {
	const struct serve_opts *o;
	struct serve_index ix;
	struct serve_users *users;
	struct MHD_Daemon *d;
	atomic_int streams;          /* blob responses in flight */
	char *cert, *key;            /* PEM, for HTTPS */
	size_t key_len;
};

/* One request, from its request line (on_uri) to its end (on_done). */
struct req {
	struct server *srv;
	struct timespec start;
	char uri[512];               /* as sent, cut at 511 bytes; escaped when logged */
	char method[16];
	char user[64];
	unsigned status;
	uint64_t sent;               /* body bytes handed to libmicrohttpd */
	const char *note;            /* why a response was cut, for the log */
	uint64_t body;               /* request body bytes dropped */
	int started;                 /* the handler saw the headers */
};

/* A blob response being sent: the block in buf was read and checked. */
struct stream {
	struct server *srv;
	struct req *rq;              /* alive while bytes are asked for */
	struct serve_blob *b;
	uint64_t first;              /* the blob offset of the response's first byte */
	unsigned char *buf;
	uint64_t k;                  /* the block in buf */
	size_t len;
};

/* ---------------------------------------------------------------- replies */

static enum MHD_Result reply(struct MHD_Connection *c, struct req *rq, unsigned status, struct MHD_Response *resp,
    const char *content_type)
{
	enum MHD_Result ret;

	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Docker-Distribution-API-Version", "registry/2.0");
	if (content_type != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	rq->status = status;
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static struct MHD_Response *json_response(struct req *rq, json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT);
	struct MHD_Response *resp;

	json_decref(doc);
	if (text == NULL)
		return NULL;
	rq->sent = strcmp(rq->method, "HEAD") == 0 ? 0 : strlen(text);
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL)
		free(text);
	return resp;
}

/* The distribution spec's error body: {"errors": [{"code", "message", "detail"}]}. */
static enum MHD_Result reply_error(struct MHD_Connection *c, struct req *rq, unsigned status, const char *code,
    const char *message)
{
	struct MHD_Response *resp = json_response(rq, json_pack("{s:[{s:s, s:s, s:n}]}", "errors", "code", code,
	    "message", message, "detail"));

	if (resp == NULL)
		return MHD_NO;
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, "Allow", "GET, HEAD");
	if (status == MHD_HTTP_TOO_MANY_REQUESTS)
		MHD_add_response_header(resp, "Retry-After", "1");
	if (status == MHD_HTTP_UNAUTHORIZED) {
		enum MHD_Result ret;

		MHD_add_response_header(resp, "Docker-Distribution-API-Version", "registry/2.0");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
		rq->status = status;
		ret = MHD_queue_basic_auth_fail_response(c, REALM, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	return reply(c, rq, status, resp, "application/json");
}

static int authorized(struct MHD_Connection *c, const struct server *srv, struct req *rq)
{
	char *password = NULL, *user = MHD_basic_auth_get_username_password(c, &password);
	int ok = user != NULL && password != NULL && serve_users_check(srv->users, user, password);

	if (user != NULL) {
		fx_strlcpy(rq->user, user, sizeof(rq->user));
		MHD_free(user);
	}
	if (password != NULL) {
		OPENSSL_cleanse(password, strlen(password));
		MHD_free(password);
	}
	return ok;
}

/* ---------------------------------------------------------------- lists */

/* One page of names (sorted; stride bytes apart from first): after last, at most n
 * (all when n is SIZE_MAX). *more: the page stopped before the end. */
static json_t *page(const char *first, size_t count, size_t stride, const char *last, size_t n, const char **lastput,
    int *more)
{
	json_t *a = json_array();
	size_t i = 0, put = 0;

	*more = 0;
	*lastput = NULL;
	if (last != NULL)
		while (i < count && strcmp(first + i * stride, last) <= 0)
			i++;
	for (; i < count; i++) {
		if (put == n) {
			*more = 1;
			break;
		}
		json_array_append_new(a, json_string(first + i * stride));
		*lastput = first + i * stride;
		put++;
	}
	return a;
}

/* _catalog and tags/list: ?n=N&last=NAME, with a Link header to the next page. */
static enum MHD_Result reply_list(struct MHD_Connection *c, struct req *rq, const struct serve_repo *r)
{
	const struct serve_index *ix = &rq->srv->ix;
	const char *nv = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "n");
	const char *last = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "last"), *lastput;
	struct MHD_Response *resp;
	json_t *doc, *names;
	size_t n = SIZE_MAX;
	int more;

	if (nv != NULL && serve_parse_n(nv, LIST_MAX, &n) != 0)
		return reply_error(c, rq, MHD_HTTP_BAD_REQUEST, "PAGINATION_NUMBER_INVALID", "n: not a number");
	if (r == NULL) {
		names = page(ix->nrepos ? ix->repos[0].name : "", ix->nrepos, sizeof(*ix->repos), last, n, &lastput, &more);
		doc = json_pack("{s:o}", "repositories", names);
	} else {
		names = page(r->ntags ? r->tags[0].name : "", r->ntags, sizeof(*r->tags), last, n, &lastput, &more);
		doc = json_pack("{s:s, s:o}", "name", r->name, "tags", names);
	}
	resp = json_response(rq, doc);
	if (resp != NULL && more && lastput != NULL) {
		char link[REPO_NAME_MAX * 2 + 64];

		/* names and tags hold only URL-safe characters */
		if (r == NULL)
			snprintf(link, sizeof(link), "</v2/_catalog?last=%s&n=%zu>; rel=\"next\"", lastput, n);
		else
			snprintf(link, sizeof(link), "</v2/%s/tags/list?last=%s&n=%zu>; rel=\"next\"", r->name, lastput, n);
		MHD_add_response_header(resp, "Link", link);
	}
	return reply(c, rq, MHD_HTTP_OK, resp, "application/json");
}

/* ---------------------------------------------------------------- manifests */

struct accept_list {
	const char *v[ACCEPT_MAX];
	size_t n;
};

static enum MHD_Result collect_accept(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct accept_list *l = cls;

	(void)kind;
	if (key != NULL && value != NULL && strcasecmp(key, "Accept") == 0 && l->n < ACCEPT_MAX)
		l->v[l->n++] = value;
	return MHD_YES;
}

static enum MHD_Result reply_bytes(struct MHD_Connection *c, struct req *rq, const struct serve_blob *b,
    const char *content_type)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer((size_t)b->size, b->bytes, MHD_RESPMEM_PERSISTENT);
	char etag[DIGEST_STR + 2];

	if (resp == NULL)
		return MHD_NO;
	snprintf(etag, sizeof(etag), "\"%s\"", b->name);
	MHD_add_response_header(resp, "Docker-Content-Digest", b->name);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
	rq->sent = strcmp(rq->method, "HEAD") == 0 ? 0 : b->size;
	return reply(c, rq, MHD_HTTP_OK, resp, content_type);
}

/* By digest: exactly those bytes. By tag: the stored media type when the client takes
 * it (or sent no Accept); an index to a client that takes none is answered with its
 * linux/amd64 manifest, as Docker Distribution does. */
static enum MHD_Result reply_manifest(struct MHD_Connection *c, struct req *rq, const struct serve_repo *r,
    const char *ref)
{
	struct accept_list acc = {{NULL}, 0};
	unsigned char d[SHA256_LEN];
	struct serve_blob *b = NULL;
	char msg[320];

	switch (serve_ref_kind(ref)) {
	case REF_BAD_DIGEST:
		return reply_error(c, rq, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID", "not a sha256 digest");
	case REF_BAD:
		return reply_error(c, rq, MHD_HTTP_NOT_FOUND, "MANIFEST_UNKNOWN", "not a valid tag or digest");
	case REF_DIGEST:
		if (digest_parse(ref, d, NULL) == 0)
			b = serve_repo_blob(r, d);
		if (b == NULL || b->bytes == NULL)
			return reply_error(c, rq, MHD_HTTP_NOT_FOUND, "MANIFEST_UNKNOWN", "manifest unknown to this repository");
		return reply_bytes(c, rq, b, b->media_type);
	case REF_TAG:
		break;
	}
	if ((b = serve_repo_tag(r, ref)) == NULL)
		return reply_error(c, rq, MHD_HTTP_NOT_FOUND, "MANIFEST_UNKNOWN", "no such tag in this repository");
	MHD_get_connection_values(c, MHD_HEADER_KIND, collect_accept, &acc);
	if (acc.n == 0 || serve_accepts(acc.v, acc.n, b->media_type))
		return reply_bytes(c, rq, b, b->media_type);
	if (b->amd64 != NULL && serve_accepts(acc.v, acc.n, b->amd64->media_type))
		return reply_bytes(c, rq, b->amd64, b->amd64->media_type);
	snprintf(msg, sizeof(msg), "the manifest is %s, which the Accept header does not take", b->media_type);
	return reply_error(c, rq, MHD_HTTP_NOT_FOUND, "MANIFEST_UNKNOWN", msg);
}

/* OCI 1.1 referrers: an image index of the manifests whose subject is the digest (an
 * empty one when there are none: never 404 for a known repository), filtered by
 * ?artifactType= when given. */
static enum MHD_Result reply_referrers(struct MHD_Connection *c, struct req *rq, const struct serve_repo *r,
    const char *ref)
{
	const char *filter = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "artifactType");
	unsigned char d[SHA256_LEN];
	struct serve_blob **found;
	struct MHD_Response *resp;
	json_t *list;
	size_t i;

	if (serve_ref_kind(ref) != REF_DIGEST || digest_parse(ref, d, NULL) != 0)
		return reply_error(c, rq, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID", "not a sha256 digest");
	found = serve_repo_referrers(r, d, filter);
	list = json_array();
	for (i = 0; found[i] != NULL; i++)
		json_array_append_new(list, json_loads(found[i]->referrer, 0, NULL));
	free(found);
	resp = json_response(rq, json_pack("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType", MT_OCI_INDEX,
	    "manifests", list));
	if (resp != NULL && filter != NULL)
		MHD_add_response_header(resp, "OCI-Filters-Applied", "artifactType");
	return reply(c, rq, MHD_HTTP_OK, resp, MT_OCI_INDEX);
}

/* ---------------------------------------------------------------- blobs */

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *st = cls;
	uint64_t at = st->first + pos, k = at / SERVE_BLOCK, in;
	const char *why = NULL;
	size_t n;

	if (k != st->k) {
		if (serve_read_block(st->b, k, st->buf, &st->len, &why) != 0) {
			fx_warn("serve: %s: blob %s %s: response cut after %llu bytes; the blob is not served again",
			    ESC(st->b->file->path), st->b->name, why, (unsigned long long)pos);
			st->rq->note = why;
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		st->k = k;
	}
	in = at - k * SERVE_BLOCK;
	n = st->len - (size_t)in < max ? st->len - (size_t)in : max;
	memcpy(buf, st->buf + in, n);
	st->rq->sent = pos + n;
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	struct stream *st = cls;

	atomic_fetch_sub(&st->srv->streams, 1);
	free(st->buf);
	free(st);
}

/* A body-less answer that still says how long the blob is (HEAD). */
static ssize_t no_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)cls;
	(void)pos;
	(void)buf;
	(void)max;
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

/* The response for bytes [first, last] of b, its first block read and checked already
 * (so a changed file is an error status, not a cut, when it shows there). */
static struct MHD_Response *blob_body(struct req *rq, struct serve_blob *b, uint64_t first, uint64_t last,
    int *status, const char **err)
{
	struct server *srv = rq->srv;
	struct stream *st;
	struct MHD_Response *resp;
	const char *why = NULL;

	if (atomic_fetch_add(&srv->streams, 1) >= STREAMS_MAX) {
		atomic_fetch_sub(&srv->streams, 1);
		*status = MHD_HTTP_TOO_MANY_REQUESTS;
		*err = "too many blob downloads at once; try again";
		return NULL;
	}
	st = xcalloc(1, sizeof(*st));
	st->srv = srv;
	st->rq = rq;
	st->b = b;
	st->first = first;
	st->k = first / SERVE_BLOCK;
	st->buf = xmalloc((size_t)(b->size < SERVE_BLOCK ? b->size : SERVE_BLOCK));
	if (serve_read_block(b, st->k, st->buf, &st->len, &why) != 0) {
		fx_warn("serve: %s: blob %s %s; it is not served again", ESC(b->file->path), b->name, why);
		stream_free(st);
		*status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		*err = "the blob changed in the bundle file since it was verified";
		return NULL;
	}
	resp = MHD_create_response_from_callback(last - first + 1, SEND_CHUNK, stream_read, st, stream_free);
	if (resp == NULL)
		stream_free(st);
	return resp;
}

static enum MHD_Result reply_blob(struct MHD_Connection *c, struct req *rq, const struct serve_repo *r,
    const char *ref)
{
	unsigned char d[SHA256_LEN];
	struct serve_blob *b = NULL;
	struct MHD_Response *resp;
	uint64_t first = 0, last = 0;
	const char *err = NULL;
	char why[128], hdr[96];
	int ranged, status = MHD_HTTP_OK;

	if (serve_ref_kind(ref) != REF_DIGEST || digest_parse(ref, d, NULL) != 0)
		return reply_error(c, rq, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID", "not a sha256 digest");
	if ((b = serve_repo_blob(r, d)) == NULL)
		return reply_error(c, rq, MHD_HTTP_NOT_FOUND, "BLOB_UNKNOWN", "blob unknown to this repository");
	if (b->bytes == NULL && !serve_file_unchanged(b->file, why, sizeof(why))) {
		if (!atomic_exchange(&b->file->warned, 1))
			fx_warn("serve: %s %s: its blobs are not served any more; restart ferry-load serve to verify it again",
			    ESC(b->file->path), why);
		rq->note = "bundle file changed";
		return reply_error(c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN",
		    "the bundle file changed since it was verified: restart ferry-load serve to verify it again");
	}
	if (b->bytes == NULL && atomic_load(&b->bad))
		return reply_error(c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN",
		    "the blob changed in the bundle file since it was verified");
	ranged = serve_parse_range(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE), b->size,
	    &first, &last);
	if (ranged < 0) {
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		snprintf(hdr, sizeof(hdr), "bytes */%llu", (unsigned long long)b->size);
		if (resp != NULL)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, hdr);
		return reply(c, rq, MHD_HTTP_RANGE_NOT_SATISFIABLE, resp, NULL);
	}
	if (ranged == 0) {
		first = 0;
		last = b->size > 0 ? b->size - 1 : 0;
	}
	if (b->size == 0)
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	else if (b->bytes != NULL)
		resp = MHD_create_response_from_buffer((size_t)(last - first + 1), b->bytes + first, MHD_RESPMEM_PERSISTENT);
	else if (strcmp(rq->method, "HEAD") == 0)
		resp = MHD_create_response_from_callback(last - first + 1, 1024, no_body, NULL, NULL);
	else if ((resp = blob_body(rq, b, first, last, &status, &err)) == NULL && err != NULL)
		return reply_error(c, rq, (unsigned)status,
		    status == MHD_HTTP_TOO_MANY_REQUESTS ? "TOOMANYREQUESTS" : "UNKNOWN", err);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Docker-Content-Digest", b->name);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	if (ranged > 0) {
		snprintf(hdr, sizeof(hdr), "bytes %llu-%llu/%llu", (unsigned long long)first, (unsigned long long)last,
		    (unsigned long long)b->size);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, hdr);
	}
	if (b->bytes != NULL && strcmp(rq->method, "HEAD") != 0)
		rq->sent = b->size ? last - first + 1 : 0;
	return reply(c, rq, ranged > 0 ? MHD_HTTP_PARTIAL_CONTENT : MHD_HTTP_OK, resp, "application/octet-stream");
}

/* ---------------------------------------------------------------- requests */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct server *srv = cls;
	struct req *rq = *con_cls;
	struct serve_route rt;
	const struct serve_repo *r;

	(void)version;
	(void)upload_data;
	if (rq == NULL)
		return MHD_NO;
	if (!rq->started) {
		/* a push is answered at once, its body never read (the connection then
		 * closes); a pull is answered on the next call, which keeps the connection */
		rq->started = 1;
		fx_strlcpy(rq->method, method, sizeof(rq->method));
		if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
			return MHD_YES;
		if (srv->users != NULL && !authorized(c, srv, rq))
			return reply_error(c, rq, MHD_HTTP_UNAUTHORIZED, "UNAUTHORIZED", "authentication required");
		return reply_error(c, rq, MHD_HTTP_METHOD_NOT_ALLOWED, "UNSUPPORTED",
		    "this registry is read-only (ferry-load serve): only GET and HEAD");
	}
	if (*upload_data_size > 0) { /* a body on a GET: dropped, up to a bound */
		rq->body += *upload_data_size;
		*upload_data_size = 0;
		return rq->body > BODY_MAX ? MHD_NO : MHD_YES;
	}
	if (srv->users != NULL && !authorized(c, srv, rq))
		return reply_error(c, rq, MHD_HTTP_UNAUTHORIZED, "UNAUTHORIZED", "authentication required");
	serve_parse_route(url, &rt);
	switch (rt.kind) {
	case ROUTE_NONE:
		return reply_error(c, rq, MHD_HTTP_NOT_FOUND, "NOT_FOUND", "not part of the registry API");
	case ROUTE_BASE:
		return reply(c, rq, MHD_HTTP_OK, json_response(rq, json_object()), "application/json");
	case ROUTE_CATALOG:
		return reply_list(c, rq, NULL);
	case ROUTE_UPLOAD:
		return reply_error(c, rq, MHD_HTTP_METHOD_NOT_ALLOWED, "UNSUPPORTED",
		    "this registry is read-only (ferry-load serve): no uploads");
	case ROUTE_TAGS:
	case ROUTE_MANIFEST:
	case ROUTE_BLOB:
	case ROUTE_REFERRERS:
		break;
	}
	if (!rt.name_ok)
		return reply_error(c, rq, MHD_HTTP_BAD_REQUEST, "NAME_INVALID", "invalid repository name");
	if ((r = serve_find_repo(&srv->ix, rt.name)) == NULL)
		return reply_error(c, rq, MHD_HTTP_NOT_FOUND, "NAME_UNKNOWN", "repository name not known to registry");
	if (rt.kind == ROUTE_TAGS)
		return reply_list(c, rq, r);
	if (rt.kind == ROUTE_MANIFEST)
		return reply_manifest(c, rq, r, rt.ref);
	if (rt.kind == ROUTE_REFERRERS)
		return reply_referrers(c, rq, r, rt.ref);
	return reply_blob(c, rq, r, rt.ref);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct req *rq = xcalloc(1, sizeof(*rq));

	(void)c;
	rq->srv = cls;
	clock_gettime(CLOCK_MONOTONIC, &rq->start);
	fx_strlcpy(rq->uri, uri != NULL ? uri : "", sizeof(rq->uri));
	return rq;
}

static const char *ended(enum MHD_RequestTerminationCode toe)
{
	switch (toe) {
	case MHD_REQUEST_TERMINATED_COMPLETED_OK: return "";
	case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED: return " (timed out)";
	case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN: return " (server stopping)";
	case MHD_REQUEST_TERMINATED_CLIENT_ABORT: return " (client went away)";
	default: return " (cut)";
	}
}

/* One line per request: client, user, request, status, body bytes, time. */
static void on_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct server *srv = cls;
	struct req *rq = *con_cls;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char host[INET6_ADDRSTRLEN] = "?", port[8] = "?";
	struct timespec now;
	long ms;

	if (rq == NULL)
		return;
	*con_cls = NULL;
	if (!srv->o->quiet) {
		if (ci != NULL && ci->client_addr != NULL)
			getnameinfo(ci->client_addr,
			    ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in),
			    host, sizeof(host), port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV);
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (now.tv_sec - rq->start.tv_sec) * 1000 + (now.tv_nsec - rq->start.tv_nsec) / 1000000;
		fprintf(stderr, "%s: serve: %s:%s %s \"%s %s\" %u %llu %ldms%s%s%s\n", fx_progname, host, port,
		    rq->user[0] ? ESC(rq->user) : "-", rq->method[0] ? ESC(rq->method) : "-", ESC(rq->uri), rq->status,
		    (unsigned long long)rq->sent, ms, ended(toe), rq->note ? ": " : "", rq->note ? rq->note : "");
	}
	free(rq);
}

static size_t on_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return serve_unescape(s);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	const struct server *srv = cls;
	char msg[512];
	size_t n;

	if (srv->o->quiet)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	fprintf(stderr, "%s: serve: libmicrohttpd: %s\n", fx_progname, ESC(msg));
}

/* ---------------------------------------------------------------- start and stop */

/* ADDRESS:PORT or [ADDRESS]:PORT, numeric. 0 ok, -1 bad. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, int *v6)
{
	const char *colon = s != NULL ? strrchr(s, ':') : NULL;
	char host[INET6_ADDRSTRLEN + 2];
	size_t hl;
	uint64_t port;

	memset(ss, 0, sizeof(*ss));
	if (colon == NULL || parse_u64(colon + 1, &port) != 0 || port > 65535)
		return -1;
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		s++;
		hl -= 2;
		*v6 = 1;
	} else {
		*v6 = 0;
	}
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (*v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		return inet_pton(AF_INET6, host, &a->sin6_addr) == 1 ? 0 : -1;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
	}
}

int serve_check_opts(const struct serve_opts *so, struct ferr *e)
{
	struct sockaddr_storage ss;
	int v6;

	if (parse_listen(so->listen, &ss, &v6) != 0)
		return fe_set(e, FX_USAGE, "--listen %s: expected ADDRESS:PORT, e.g. 127.0.0.1:5000 or [::1]:5000",
		    ESC(so->listen ? so->listen : ""));
	if (so->prefix != NULL && so->prefix[0] != '\0' && !ref_valid_repo(so->prefix))
		return fe_set(e, FX_USAGE, "--prefix %s: expected lower-case path components, e.g. mirror/acme",
		    ESC(so->prefix));
	if ((so->tls_cert == NULL) != (so->tls_key == NULL))
		return fe_set(e, FX_USAGE, "--tls-cert and --tls-key go together");
	if (so->timeout < 1 || so->timeout > 3600)
		return fe_set(e, FX_USAGE, "--timeout: 1 to 3600 seconds");
	if (so->max_connections < 1 || so->max_connections > SERVE_CONNECTIONS_MAX)
		return fe_set(e, FX_USAGE, "--max-connections: 1 to %u", SERVE_CONNECTIONS_MAX);
	return FX_OK;
}

/* Each connection is a descriptor: the soft limit is raised to fit them (up to the
 * hard limit), else the connection limit is lowered to what fits. */
static unsigned fit_connections(unsigned want)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)want + 64 + STREAMS_MAX;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return want;
	if (rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur >= need)
		return want;
	fx_warn("serve: only %llu open files allowed: at most %llu connections", (unsigned long long)rl.rlim_cur,
	    rl.rlim_cur > 128 + STREAMS_MAX ? (unsigned long long)(rl.rlim_cur - 64 - STREAMS_MAX) : 64ULL);
	return rl.rlim_cur > 128 + STREAMS_MAX ? (unsigned)(rl.rlim_cur - 64 - STREAMS_MAX) : 64;
}

/* The address is bound before the bundles are read, so that a port already taken is
 * found at once; it is listened on only once they verified. */
static int bind_address(const struct serve_opts *o, int *fd, int *v6, struct ferr *e)
{
	struct sockaddr_storage ss;
	int one = 1;

	if (parse_listen(o->listen, &ss, v6) != 0)
		return fe_set(e, FX_USAGE, "--listen %s: not ADDRESS:PORT", ESC(o->listen));
	*fd = socket(*v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return fe_set(e, FX_IO, "--listen %s: %s", ESC(o->listen), strerror(errno));
	setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (*v6)
		setsockopt(*fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(*fd, (struct sockaddr *)&ss, *v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) != 0)
		return fe_set(e, FX_IO, "--listen %s: %s", ESC(o->listen), strerror(errno));
	return FX_OK;
}

/* Starts the server on the bound socket; libmicrohttpd owns it from here (*fd = -1). */
static int start_daemon(struct server *srv, int *fd, int v6, struct ferr *e)
{
	const struct serve_opts *o = srv->o;
	struct MHD_OptionItem tls[3];
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, threads;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int lfd = *fd;

	if (listen(lfd, SOMAXCONN) != 0)
		return fe_set(e, FX_IO, "--listen %s: %s", ESC(o->listen), strerror(errno));
	memset(tls, 0, sizeof(tls));
	if (srv->cert != NULL) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
			return fe_set(e, FX_IO, "this libmicrohttpd has no TLS support: --tls-cert cannot be used");
		flags |= MHD_USE_TLS;
		tls[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, srv->key};
		tls[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, srv->cert};
	}
	if (v6)
		flags |= MHD_USE_IPv6;
	/* an event loop per thread: a slow client costs a socket, not a thread; several,
	 * since a block read from a slow disk holds its loop */
	threads = cores < 2 ? 4 : cores > 8 ? 16 : (unsigned)cores * 2;
	*fd = -1;
	srv->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
	    MHD_OPTION_LISTEN_SOCKET, lfd,
	    MHD_OPTION_THREAD_POOL_SIZE, threads,
	    MHD_OPTION_CONNECTION_LIMIT, fit_connections(o->max_connections),
	    MHD_OPTION_CONNECTION_TIMEOUT, o->timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)REQUEST_MEMORY,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
	    MHD_OPTION_NOTIFY_COMPLETED, on_done, srv,
	    MHD_OPTION_UNESCAPE_CALLBACK, on_unescape, NULL,
	    MHD_OPTION_ARRAY, tls,
	    MHD_OPTION_END);
	if (srv->d == NULL)
		return fe_set(e, FX_IO, "--listen %s: the server did not start%s", ESC(o->listen),
		    srv->cert != NULL ? " (is the certificate or key bad?)" : "");
	return FX_OK;
}

static int read_tls(struct server *srv, struct ferr *e)
{
	size_t len = 0;
	int rc;

	if (srv->o->tls_cert == NULL)
		return FX_OK;
	if ((rc = read_file_max(srv->o->tls_cert, PEM_MAX, &srv->cert, &len, e)) != FX_OK)
		return rc;
	return read_file_max(srv->o->tls_key, PEM_MAX, &srv->key, &srv->key_len, e);
}

static void say_serving(const struct server *srv, size_t nbundles)
{
	const struct serve_opts *o = srv->o;
	char sz[32];

	fprintf(stderr, "%s: serve: %zu images in %zu repositories (%s) from %zu bundle%s on %s://%s%s%s\n",
	    fx_progname, srv->ix.nimages, srv->ix.nrepos, fmt_bytes(srv->ix.bytes, sz, sizeof(sz)), nbundles,
	    nbundles == 1 ? "" : "s", o->tls_cert ? "https" : "http", ESC(o->listen),
	    srv->users ? ", Basic authentication" : "", o->prefix && o->prefix[0] ? ", under a prefix" : "");
}

int serve_run(char **bundles, size_t nbundles, const struct read_opts *ro, const struct serve_opts *so,
    struct ferr *e)
{
	struct server srv;
	sigset_t stop, old;
	int rc, sig = 0, masked = 0, lfd = -1, v6 = 0;

	memset(&srv, 0, sizeof(srv));
	srv.o = so;
	if ((rc = serve_check_opts(so, e)) != FX_OK)
		goto end;
	if (so->tls_cert == NULL && strncmp(so->listen, "127.", 4) != 0 && strncmp(so->listen, "[::1]:", 6) != 0)
		fx_warn("serve: %s is not a loopback address and there is no --tls-cert: plain HTTP%s",
		    ESC(so->listen), so->htpasswd ? ", passwords in clear" : "");
	if (so->htpasswd != NULL && (rc = serve_users_load(so->htpasswd, &srv.users, e)) != FX_OK)
		goto end;
	if ((rc = read_tls(&srv, e)) != FX_OK || (rc = bind_address(so, &lfd, &v6, e)) != FX_OK)
		goto end;
	if ((rc = serve_index_build(&srv.ix, bundles, nbundles, ro, so->prefix ? so->prefix : "", so->quiet, e)) != FX_OK)
		goto end;
	/* from here the stop signals are waited for; the server's threads inherit the mask */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, &old);
	masked = 1;
	if (fx_interrupted) {
		rc = fe_set(e, FX_IO, "interrupted");
		goto end;
	}
	if ((rc = start_daemon(&srv, &lfd, v6, e)) != FX_OK)
		goto end;
	if (!so->quiet)
		say_serving(&srv, nbundles);
	while (sigwait(&stop, &sig) != 0)
		;
	if (!so->quiet)
		fprintf(stderr, "%s: serve: %s: stopping\n", fx_progname, strsignal(sig));
	MHD_stop_daemon(srv.d);
	srv.d = NULL;
end:
	if (srv.d != NULL)
		MHD_stop_daemon(srv.d);
	if (lfd >= 0)
		close(lfd);
	if (masked)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	serve_index_free(&srv.ix);
	serve_users_free(srv.users);
	free(srv.cert);
	if (srv.key != NULL)
		OPENSSL_cleanse(srv.key, srv.key_len);
	free(srv.key);
	return rc;
}
