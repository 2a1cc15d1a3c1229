/* docker_api.c - the Docker Engine HTTP API through http.c (see docker_api.h).
 *
 * Streams: a request body (images/load) or a reply body (images/get) of any size runs
 * through a socket pair between the caller and a thread that owns the curl transfer,
 * so memory stays bounded and the caller writes or reads plain bytes. The socket pair
 * (not a pipe) lets both sides use MSG_NOSIGNAL: a side that went away is an error
 * return, never a SIGPIPE. */
#include "net/docker_api.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "net/http.h"
#include "util/digest.h"

#define PIPE_BUF_BYTES (1 << 20)   /* socket pair buffer, bounds memory in flight */
#define LOADED_MAX 100000

struct docker_client {
	struct docker_endpoint ep;
	struct docker_version v;
	char api[16];
	struct http *conn;  /* ping, version, inspect */
};

/* ---------------------------------------------------------------- endpoints */

void docker_endpoint_free(struct docker_endpoint *ep)
{
	free(ep->unix_path);
	free(ep->base);
	free(ep->label);
	memset(ep, 0, sizeof(*ep));
}

static int host_port_ok(const char *hp)
{
	const char *colon = strrchr(hp, ':'), *p;
	size_t n = strlen(hp);
	uint64_t port;

	if (n == 0 || n > 255 || colon == NULL || colon == hp || colon[1] == '\0')
		return 0;
	if (parse_u64(colon + 1, &port) != 0 || port == 0 || port > 65535)
		return 0;
	for (p = hp; p < colon; p++) {
		if (!isalnum((unsigned char)*p) && strchr(".-[]:", *p) == NULL)
			return 0;
	}
	return 1;
}

int docker_endpoint_parse(const char *addr, struct docker_endpoint *ep, struct ferr *e)
{
	const char *a = addr;

	memset(ep, 0, sizeof(*ep));
	if (a == NULL || a[0] == '\0') {
		a = getenv("DOCKER_HOST");
		if (a == NULL || a[0] == '\0')
			a = "unix://" DOCKER_DEFAULT_SOCK;
	}
	if (strncmp(a, "unix://", 7) == 0 || a[0] == '/') {
		const char *path = a[0] == '/' ? a : a + 7;
		const char *p;
		if (path[0] != '/')
			return fe_set(e, FX_USAGE, "docker address %s: a unix socket needs an absolute path "
			    "(unix:///path/docker.sock)", ESC(a));
		if (strlen(path) >= 108)
			return fe_set(e, FX_USAGE, "docker address %s: socket path too long", ESC(a));
		for (p = path; *p; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return fe_set(e, FX_USAGE, "docker address %s: control character in the path", ESC(a));
		}
		ep->unix_path = xstrdup(path);
		ep->base = xstrdup("http://docker");
		ep->label = xasprintf("unix://%s", path);
		return FX_OK;
	}
	if (strncmp(a, "tcp://", 6) == 0 || strncmp(a, "http://", 7) == 0) {
		const char *hp = a + (a[0] == 't' ? 6 : 7);
		char buf[300];
		size_t n = strlen(hp);
		if (n > 0 && hp[n - 1] == '/')
			n--;
		if (n == 0 || n >= sizeof(buf))
			return fe_set(e, FX_USAGE, "docker address %s: tcp://HOST:PORT expected", ESC(a));
		memcpy(buf, hp, n);
		buf[n] = '\0';
		if (!host_port_ok(buf))
			return fe_set(e, FX_USAGE, "docker address %s: tcp://HOST:PORT expected", ESC(a));
		ep->base = xasprintf("http://%s", buf);
		ep->label = xasprintf("tcp://%s", buf);
		return FX_OK;
	}
	if (strncmp(a, "https://", 8) == 0 || strncmp(a, "ssh://", 6) == 0)
		return fe_set(e, FX_USAGE, "docker address %s: only unix:// and plain tcp:// daemons are "
		    "supported", ESC(a));
	return fe_set(e, FX_USAGE, "docker address %s: unix:///PATH or tcp://HOST:PORT expected", ESC(a));
}

/* ---------------------------------------------------------------- parsers */

static int token_ok(const char *s, size_t max, const char *extra)
{
	size_t n = strlen(s), i;
	if (n == 0 || n >= max)
		return 0;
	for (i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && strchr(extra, s[i]) == NULL)
			return 0;
	}
	return 1;
}

static int api_parse(const char *s, unsigned long *maj, unsigned long *min)
{
	const char *dot;
	uint64_t a, b;
	char buf[16];
	size_t n;

	if (s == NULL || (dot = strchr(s, '.')) == NULL || (n = (size_t)(dot - s)) == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (parse_u64(buf, &a) != 0 || parse_u64(dot + 1, &b) != 0 || a > 1000 || b > 100000)
		return -1;
	*maj = (unsigned long)a;
	*min = (unsigned long)b;
	return 0;
}

int docker_api_cmp(const char *a, const char *b)
{
	unsigned long am, an, bm, bn;
	int ao = api_parse(a, &am, &an) == 0, bo = api_parse(b, &bm, &bn) == 0;

	if (!ao || !bo)
		return ao - bo;
	if (am != bm)
		return am < bm ? -1 : 1;
	if (an != bn)
		return an < bn ? -1 : 1;
	return 0;
}

/* Copies a string member that must be a plain token; 0 ok, -1 bad, 1 absent. */
static int get_token(json_t *o, const char *key, char *out, size_t size, const char *extra)
{
	json_t *v = json_object_get(o, key);
	const char *s;

	if (v == NULL)
		return 1;
	if (!json_is_string(v) || (s = json_string_value(v)) == NULL ||
	    strlen(s) != json_string_length(v) || !token_ok(s, size, extra))
		return -1;
	fx_strlcpy(out, s, size);
	return 0;
}

int docker_parse_version(const char *buf, size_t len, struct docker_version *v)
{
	json_t *root;
	int rc = -1;

	memset(v, 0, sizeof(*v));
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	if (root == NULL || !json_is_object(root))
		goto end;
	if (get_token(root, "ApiVersion", v->api, sizeof(v->api), ".") != 0 ||
	    docker_api_cmp(v->api, "0.0") < 0)
		goto end;
	if (get_token(root, "Os", v->os, sizeof(v->os), "_-.") != 0 ||
	    get_token(root, "Arch", v->arch, sizeof(v->arch), "_-.") != 0)
		goto end;
	if (get_token(root, "MinAPIVersion", v->min_api, sizeof(v->min_api), ".") < 0 ||
	    get_token(root, "Version", v->version, sizeof(v->version), ".+~_-") < 0)
		goto end;
	rc = 0;
end:
	json_decref(root);
	if (rc != 0)
		memset(v, 0, sizeof(*v));
	return rc;
}

void docker_msgs_free(struct docker_msgs *m)
{
	size_t i;
	for (i = 0; i < m->nloaded; i++)
		free(m->loaded[i]);
	free(m->loaded);
	free(m->error);
	memset(m, 0, sizeof(*m));
}

/* A malloc'd copy of a JSON string (NULs inside refused), or NULL. */
static char *jstr_dup(json_t *v)
{
	const char *s;
	if (!json_is_string(v) || (s = json_string_value(v)) == NULL || strlen(s) != json_string_length(v))
		return NULL;
	return xstrdup(s);
}

static void loaded_line(struct docker_msgs *m, const char *s)
{
	static const char *const prefixes[] = {"Loaded image: ", "Loaded image ID: "};
	size_t i, n;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t pl = strlen(prefixes[i]);
		if (strncmp(s, prefixes[i], pl) != 0)
			continue;
		s += pl;
		n = strcspn(s, "\r\n");
		if (n == 0 || m->nloaded >= LOADED_MAX)
			return;
		m->loaded = xreallocarray(m->loaded, m->nloaded + 1, sizeof(*m->loaded));
		m->loaded[m->nloaded] = xmalloc(n + 1);
		memcpy(m->loaded[m->nloaded], s, n);
		m->loaded[m->nloaded][n] = '\0';
		m->nloaded++;
		return;
	}
}

int docker_parse_messages(const char *buf, size_t len, struct docker_msgs *m)
{
	size_t pos = 0;

	memset(m, 0, sizeof(*m));
	for (;;) {
		json_error_t jerr;
		json_t *o, *v;

		while (pos < len && (buf[pos] == ' ' || buf[pos] == '\n' || buf[pos] == '\r' || buf[pos] == '\t'))
			pos++;
		if (pos >= len)
			break;
		if (buf[pos] != '{')
			goto bad;
		o = json_loadb(buf + pos, len - pos, JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &jerr);
		if (o == NULL)
			goto bad;
		if (!json_is_object(o) || jerr.position <= 0 || (size_t)jerr.position > len - pos) {
			json_decref(o);
			goto bad;
		}
		pos += (size_t)jerr.position;
		m->nmsgs++;
		if (m->error == NULL && (v = json_object_get(o, "errorDetail")) != NULL && json_is_object(v))
			m->error = jstr_dup(json_object_get(v, "message"));
		if (m->error == NULL && (v = json_object_get(o, "error")) != NULL) {
			m->error = jstr_dup(v);
			if (m->error == NULL)
				m->error = xstrdup("(an error without a message)");
		}
		if ((v = json_object_get(o, "stream")) != NULL && json_is_string(v) &&
		    strlen(json_string_value(v)) == json_string_length(v))
			loaded_line(m, json_string_value(v));
		json_decref(o);
	}
	return 0;
bad:
	docker_msgs_free(m);
	return -1;
}

char *docker_parse_error(const char *buf, size_t len)
{
	json_t *root = json_loadb(buf, len, 0, NULL);
	char *msg = NULL;

	if (root != NULL && json_is_object(root))
		msg = jstr_dup(json_object_get(root, "message"));
	json_decref(root);
	return msg;
}

char *docker_parse_image_id(const char *buf, size_t len)
{
	json_t *root = json_loadb(buf, len, 0, NULL);
	char *id = NULL;

	if (root == NULL || !json_is_object(root))
		goto end;
	id = jstr_dup(json_object_get(root, "Id"));
	if (id != NULL && !digest_valid(id)) {
		free(id);
		id = NULL;
	}
end:
	json_decref(root);
	return id;
}

/* ---------------------------------------------------------------- requests */

struct capbuf {
	char *p;
	size_t n;
	int truncated;
};

static void capbuf_add(struct capbuf *b, const char *data, size_t n)
{
	size_t room = DOCKER_REPLY_MAX - b->n;
	if (n > room) {
		n = room;
		b->truncated = 1;
	}
	if (n == 0)
		return;
	b->p = xrealloc(b->p, b->n + n + 1);
	memcpy(b->p + b->n, data, n);
	b->n += n;
	b->p[b->n] = '\0';
}

/* on_data of a reply kept (up to DOCKER_REPLY_MAX; the rest is read and dropped). */
static size_t keep_reply(void *arg, long status, const void *data, size_t n)
{
	(void)status;
	capbuf_add(arg, data, n);
	return n;
}

/* The connection options for a daemon: its socket, no proxy (a daemon is local), no
 * retries, and no stall timer (a load can be silent for minutes while the daemon
 * applies layers); the deadline is the endpoint's. */
static void endpoint_http_opts(const struct docker_endpoint *ep, struct http_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->unix_socket = ep->unix_path;
	o->no_proxy = 1;
	o->stall_timeout = -1;
	o->timeout = ep->timeout;
}

/* A short, escaped, one-line description of an error reply, in out. */
static const char *reply_why_buf(const char *body, size_t len, char *out, size_t size)
{
	char *msg = NULL, line[400];
	size_t n;

	if (body == NULL || len == 0)
		return "no message";
	msg = docker_parse_error(body, len);
	if (msg != NULL) {
		fx_esc(msg, out, size);
		free(msg);
		return out;
	}
	n = strcspn(body, "\r\n");
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, body, n);
	line[n] = '\0';
	return fx_esc(line, out, size);
}
#define reply_why(body, len) reply_why_buf((body), (len), (char[ESC_MAX]){0}, ESC_MAX)

static int get_small(struct docker_client *c, const char *url, long *status, char **body, size_t *len,
    struct ferr *e)
{
	struct capbuf b = {0};
	struct http_req rq;
	struct http_resp rs;
	struct ferr he = {0, ""};
	struct stat sb;
	int rc = FX_OK;

	*body = NULL;
	*len = 0;
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.url = url;
	rq.on_data = keep_reply;
	rq.data_arg = &b;
	rq.no_retry = 1;
	rq.stop_on_interrupt = 1;
	if (http_do(c->conn, &rq, &rs, &he) != FX_OK) {
		/* curl's words for a socket ("port 80") would mislead: say what is wrong. */
		if (rs.failure == HTTP_FAIL_CONNECT && c->ep.unix_path != NULL)
			rc = fe_set(e, FX_TARGET, "docker daemon at %s: cannot connect: %s", ESC(c->ep.label),
			    stat(c->ep.unix_path, &sb) != 0 ? "no such socket (is dockerd running?)" :
			    !S_ISSOCK(sb.st_mode) ? "not a socket" : "connection refused (is dockerd running?)");
		else
			rc = fe_set(e, FX_TARGET, "docker daemon at %s: %s", ESC(c->ep.label), ESC(rs.error));
		goto end;
	}
	*status = rs.status;
	if (b.truncated) {
		rc = fe_set(e, FX_TARGET, "docker daemon at %s: reply larger than %zu bytes",
		    ESC(c->ep.label), (size_t)DOCKER_REPLY_MAX);
		goto end;
	}
	*body = b.p != NULL ? b.p : xstrdup("");
	*len = b.n;
	b.p = NULL;
end:
	free(b.p);
	http_resp_free(&rs);
	return rc;
}

int docker_get_json(struct docker_client *c, const char *path, long *status, char **body,
    size_t *len, struct ferr *e)
{
	char *url = xasprintf("%s/v%s%s", c->ep.base, c->api, path);
	int rc = get_small(c, url, status, body, len, e);
	free(url);
	return rc;
}

int docker_connect(const struct docker_endpoint *ep, struct docker_client **cp, struct ferr *e)
{
	struct docker_client *c = xcalloc(1, sizeof(*c));
	struct http_opts o;
	char *url = NULL, *body = NULL;
	size_t len;
	long status = 0;
	int rc;

	*cp = NULL;
	c->ep.unix_path = ep->unix_path ? xstrdup(ep->unix_path) : NULL;
	c->ep.base = xstrdup(ep->base);
	c->ep.label = xstrdup(ep->label);
	c->ep.timeout = ep->timeout;
	endpoint_http_opts(&c->ep, &o);
	c->conn = http_new(&o);
	url = xasprintf("%s/_ping", c->ep.base);
	if ((rc = get_small(c, url, &status, &body, &len, e)) != FX_OK)
		goto end;
	if (status != 200) {
		rc = fe_set(e, FX_TARGET, "docker daemon at %s: /_ping answered HTTP %ld: %s",
		    ESC(c->ep.label), status, reply_why(body, len));
		goto end;
	}
	free(url);
	free(body);
	body = NULL;
	url = xasprintf("%s/version", c->ep.base);
	if ((rc = get_small(c, url, &status, &body, &len, e)) != FX_OK)
		goto end;
	if (status != 200 || docker_parse_version(body, len, &c->v) != 0) {
		rc = fe_set(e, FX_TARGET, "docker daemon at %s: /version answered HTTP %ld with no usable "
		    "ApiVersion, Os and Arch", ESC(c->ep.label), status);
		goto end;
	}
	if (docker_api_cmp(c->v.api, DOCKER_API_MIN) < 0) {
		rc = fe_set(e, FX_TARGET, "docker daemon at %s: API %s is older than %s (Docker 1.12)",
		    ESC(c->ep.label), c->v.api, DOCKER_API_MIN);
		goto end;
	}
	/* Speak the older of the two versions: a newer daemon serves old paths unchanged. */
	fx_strlcpy(c->api, docker_api_cmp(c->v.api, DOCKER_API_MAX) < 0 ? c->v.api : DOCKER_API_MAX,
	    sizeof(c->api));
	*cp = c;
	c = NULL;
	rc = FX_OK;
end:
	free(url);
	free(body);
	docker_client_free(c);
	return rc;
}

const struct docker_version *docker_client_version(const struct docker_client *c)
{
	return &c->v;
}

const char *docker_client_api(const struct docker_client *c)
{
	return c->api;
}

const char *docker_client_label(const struct docker_client *c)
{
	return c->ep.label;
}

void docker_client_free(struct docker_client *c)
{
	if (c == NULL)
		return;
	http_free(c->conn);
	docker_endpoint_free(&c->ep);
	free(c);
}

/* ---------------------------------------------------------------- streams */

/* A request run by its own thread, its body (upload) or its reply (download) going
 * through a socket pair. */
struct stream {
	struct http *conn;
	struct http_req rq;
	struct http_resp rs;
	struct ferr err;
	int rc;
	pthread_t thread;
	int started;
	int fd;          /* the thread's end */
	int user_fd;     /* the caller's end */
	atomic_int abort;
	struct capbuf reply;
	char *url;
	char label[300];
};

struct docker_upload {
	struct stream s;
};

struct docker_download {
	struct stream s;
};

/* body_read of an upload: what the caller writes into its end, until it closes it. */
static size_t upload_read(void *arg, void *buf, size_t n, uint64_t at)
{
	struct stream *s = arg;
	ssize_t r;

	(void)at;
	for (;;) {
		if (atomic_load(&s->abort))
			return HTTP_READ_ABORT;
		r = recv(s->fd, buf, n, 0);
		if (r > 0)
			return (size_t)r;
		if (r == 0)
			/* The caller closed its end: the end of the body, unless it gave up. */
			return atomic_load(&s->abort) ? HTTP_READ_ABORT : 0;
		if (errno != EINTR)
			return HTTP_READ_ABORT;
	}
}

/* on_data of a download: a 200 reply goes to the caller's end, an error is kept. */
static size_t download_write(void *arg, long status, const void *data, size_t n)
{
	struct stream *s = arg;
	size_t off = 0;

	if (status != 200) {
		capbuf_add(&s->reply, data, n);
		return n;
	}
	while (off < n) {
		ssize_t w = send(s->fd, (const char *)data + off, n - off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return 0; /* the reader went away: stop the transfer */
		}
		off += (size_t)w;
	}
	return n;
}

static void *stream_main(void *arg)
{
	struct stream *s = arg;

	s->rc = http_do(s->conn, &s->rq, &s->rs, &s->err);
	/* The caller's blocked send (upload) fails, or its read sees the end (download). */
	shutdown(s->fd, SHUT_RDWR);
	return NULL;
}

static int stream_start(struct stream *s, struct docker_client *dc, char *url, int upload, struct ferr *e)
{
	static const char *const tar_headers[] = {"Content-Type: application/x-tar", NULL};
	struct http_opts o;
	int pair[2], sz = PIPE_BUF_BYTES;

	memset(s, 0, sizeof(*s));
	s->fd = s->user_fd = -1;
	s->url = url;
	atomic_init(&s->abort, 0);
	fx_strlcpy(s->label, dc->ep.label, sizeof(s->label));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
		return fe_set(e, FX_IO, "socketpair: %s", strerror(errno));
	s->user_fd = pair[0];
	s->fd = pair[1];
	setsockopt(pair[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(pair[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	endpoint_http_opts(&dc->ep, &o);
	s->conn = http_new(&o);
	s->rq.url = s->url;
	s->rq.no_retry = 1;
	s->rq.stop_on_interrupt = 1;
	if (upload) {
		s->rq.method = "POST";
		s->rq.headers = tar_headers;
		s->rq.body_read = upload_read;
		s->rq.body_arg = s;
		s->rq.body_size = HTTP_BODY_STREAM;
		s->rq.on_data = keep_reply;
		s->rq.data_arg = &s->reply;
		/* the archive takes as long as the bundle; the daemon's answer is bounded */
		s->rq.deadline = HTTP_DEADLINE_BODY_END;
	} else {
		/* an export takes as long as the image is large: no deadline */
		s->rq.method = "GET";
		s->rq.on_data = download_write;
		s->rq.data_arg = s;
		s->rq.deadline = HTTP_DEADLINE_NONE;
	}
	if (pthread_create(&s->thread, NULL, stream_main, s) != 0)
		return fe_set(e, FX_IO, "cannot start a thread: %s", strerror(errno));
	s->started = 1;
	return FX_OK;
}

/* Waits for the transfer and releases everything but the reply and the result. */
static void stream_join(struct stream *s)
{
	if (s->user_fd >= 0) {
		close(s->user_fd);
		s->user_fd = -1;
	}
	if (s->started) {
		pthread_join(s->thread, NULL);
		s->started = 0;
	}
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	http_free(s->conn);
	s->conn = NULL;
	free(s->url);
	s->url = NULL;
}

/* Frees what stream_join left. */
static void stream_free(struct stream *s)
{
	http_resp_free(&s->rs);
	free(s->reply.p);
	s->reply.p = NULL;
}

int docker_load_begin(struct docker_client *c, struct docker_upload **up, struct ferr *e)
{
	struct docker_upload *u = xcalloc(1, sizeof(*u));
	int rc;

	rc = stream_start(&u->s, c, xasprintf("%s/v%s/images/load?quiet=1", c->ep.base, c->api), 1, e);
	if (rc != FX_OK) {
		stream_join(&u->s);
		stream_free(&u->s);
		free(u);
		u = NULL;
	}
	*up = u;
	return rc;
}

/* The reason a finished load request failed, or FX_OK with m filled. */
static int load_result(struct stream *s, struct docker_msgs *m, struct ferr *e)
{
	const struct http_resp *rs = &s->rs;

	if (s->rc != FX_OK && rs->failure == HTTP_FAIL_INTERRUPTED)
		return fe_set(e, FX_TARGET, "docker daemon at %s: image load interrupted", ESC(s->label));
	if (s->rc != FX_OK && (rs->status == 0 || rs->failure == HTTP_FAIL_TIMEOUT))
		return fe_set(e, FX_TARGET, "docker daemon at %s: POST /images/load: %s", ESC(s->label),
		    ESC(rs->error));
	if (rs->status != 200)
		return fe_set(e, FX_TARGET, "docker daemon at %s: image load refused (HTTP %ld): %s",
		    ESC(s->label), rs->status, reply_why(s->reply.p, s->reply.n));
	if (docker_parse_messages(s->reply.p != NULL ? s->reply.p : "", s->reply.n, m) != 0)
		return fe_set(e, FX_TARGET, "docker daemon at %s: unreadable reply to the image load: %s",
		    ESC(s->label), reply_why(s->reply.p, s->reply.n));
	if (m->error != NULL)
		return fe_set(e, FX_TARGET, "docker daemon at %s: image load failed: %s", ESC(s->label),
		    ESC(m->error));
	if (s->rc != FX_OK)
		return fe_set(e, FX_TARGET, "docker daemon at %s: POST /images/load: %s", ESC(s->label),
		    ESC(rs->error));
	return FX_OK;
}

int docker_upload_write(struct docker_upload *u, const void *buf, size_t n, struct ferr *e)
{
	const char *p = buf;
	struct docker_msgs m;
	int rc = FX_OK;

	while (n > 0) {
		ssize_t w = send(u->s.user_fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			/* The transfer ended early: its reply says why. */
			stream_join(&u->s);
			memset(&m, 0, sizeof(m));
			rc = load_result(&u->s, &m, e);
			docker_msgs_free(&m);
			if (rc == FX_OK)
				rc = fe_set(e, FX_TARGET, "docker daemon at %s: the daemon stopped reading the "
				    "image stream", ESC(u->s.label));
			break;
		}
		p += w;
		n -= (size_t)w;
	}
	return rc;
}

int docker_load_end(struct docker_upload *u, int abort, struct docker_msgs *m, struct ferr *e)
{
	int rc = FX_OK;

	memset(m, 0, sizeof(*m));
	if (u == NULL)
		return FX_OK;
	if (abort) {
		atomic_store(&u->s.abort, 1);
		if (u->s.user_fd >= 0)
			shutdown(u->s.user_fd, SHUT_RDWR);
		stream_join(&u->s);
	} else {
		if (u->s.user_fd >= 0)
			shutdown(u->s.user_fd, SHUT_WR);
		stream_join(&u->s);
		rc = load_result(&u->s, m, e);
	}
	stream_free(&u->s);
	free(u);
	return rc;
}

int docker_get_begin(struct docker_client *c, const char *ref, int *fd, struct docker_download **dp,
    struct ferr *e)
{
	struct docker_download *d = xcalloc(1, sizeof(*d));
	char *query = http_escape(ref);
	int rc;

	rc = stream_start(&d->s, c, xasprintf("%s/v%s/images/get?names=%s", c->ep.base, c->api, query), 0, e);
	free(query);
	if (rc != FX_OK) {
		stream_join(&d->s);
		stream_free(&d->s);
		free(d);
		d = NULL;
	}
	*fd = d != NULL ? d->s.user_fd : -1;
	*dp = d;
	return rc;
}

int docker_get_end(struct docker_download *d, struct ferr *e)
{
	int rc = FX_OK;

	if (d == NULL)
		return FX_OK;
	stream_join(&d->s);
	if (d->s.rs.status != 0 && d->s.rs.status != 200)
		rc = fe_set(e, FX_TARGET, "docker daemon at %s: image export refused (HTTP %ld): %s",
		    ESC(d->s.label), d->s.rs.status, reply_why(d->s.reply.p, d->s.reply.n));
	else if (d->s.rc != FX_OK && d->s.rs.failure != HTTP_FAIL_STOPPED)
		rc = fe_set(e, FX_TARGET, "docker daemon at %s: GET /images/get: %s", ESC(d->s.label),
		    ESC(d->s.rs.error));
	stream_free(&d->s);
	free(d);
	return rc;
}

/* ---------------------------------------------------------------- pack-side sources */

int docker_daemon_source_split(const char *from, char **addr, char **ref, struct ferr *e)
{
	const char *rest, *path, *p;

	*addr = NULL;
	*ref = NULL;
	if (strncmp(from, "docker-daemon:", 14) != 0)
		return fe_set(e, FX_USAGE, "%s: not a docker-daemon: source", ESC(from));
	rest = from + 14;
	if (strncmp(rest, "//", 2) != 0) {
		if (rest[0] == '\0')
			return fe_set(e, FX_USAGE, "%s: docker-daemon: needs an image reference", ESC(from));
		*addr = xstrdup("");
		*ref = xstrdup(rest);
		return FX_OK;
	}
	path = rest + 2;
	if (strncmp(path, "unix://", 7) == 0)
		path += 7;
	if (path[0] != '/')
		return fe_set(e, FX_USAGE, "%s: docker-daemon://SOCKET/REF needs an absolute socket path",
		    ESC(from));
	/* The socket is the first prefix of the path that is a socket. */
	for (p = strchr(path + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
		struct stat sb;
		char *sock = xstrdup(path);
		sock[p - path] = '\0';
		if (stat(sock, &sb) == 0 && S_ISSOCK(sb.st_mode) && p[1] != '\0') {
			*addr = xasprintf("unix://%s", sock);
			*ref = xstrdup(p + 1);
			free(sock);
			return FX_OK;
		}
		free(sock);
	}
	return fe_set(e, FX_TARGET, "%s: no docker socket found at the start of the path "
	    "(docker-daemon://SOCKET/REF)", ESC(from));
}
