/* docker_api.c - the Docker Engine HTTP API over libcurl (see docker_api.h).
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

#include <curl/curl.h>
#include <jansson.h>

#include "net/http.h"
#include "util/digest.h"

#define CONNECT_TIMEOUT 15L
#define SMALL_TIMEOUT 60L          /* ping, version, inspect */
#define PIPE_BUF_BYTES (1 << 20)   /* socket pair buffer, bounds memory in flight */
#define LOADED_MAX 100000

struct docker_client {
	struct docker_endpoint ep;
	struct docker_version v;
	char api[16];
	CURL *c;
	char errbuf[CURL_ERROR_SIZE];
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

/* ---------------------------------------------------------------- curl */

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

static size_t cap_write_cb(char *data, size_t size, size_t nmemb, void *ud)
{
	capbuf_add(ud, data, size * nmemb);
	return size * nmemb;
}

/* Lets SIGINT/SIGTERM stop a transfer that waits on the daemon (a load can be silent
 * for minutes while the daemon applies layers). */
static int xfer_cb(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)ud;
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return fx_interrupted ? 1 : 0;
}

static CURL *easy_new(const struct docker_endpoint *ep, char *errbuf)
{
	CURL *c = curl_easy_init();

	if (c == NULL)
		return NULL;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
	/* A daemon is local: never go through a proxy from the environment. */
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, xfer_cb);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
#endif
	if (ep->unix_path != NULL)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, ep->unix_path);
	return c;
}

static const char *curl_why(CURLcode cc, const char *errbuf)
{
	return errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc);
}

/* A short, escaped, one-line description of an error reply. */
static const char *reply_why(const char *body, size_t len)
{
	static _Thread_local char out[600];
	char *msg = NULL, line[400];
	size_t n;

	if (body == NULL || len == 0)
		return "no message";
	msg = docker_parse_error(body, len);
	if (msg != NULL) {
		fx_esc(msg, out, sizeof(out));
		free(msg);
		return out;
	}
	n = strcspn(body, "\r\n");
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, body, n);
	line[n] = '\0';
	fx_esc(line, out, sizeof(out));
	return out;
}

static int get_small(struct docker_client *c, const char *url, long *status, char **body, size_t *len,
    struct ferr *e)
{
	struct capbuf b = {0};
	CURLcode cc;

	*body = NULL;
	*len = 0;
	curl_easy_setopt(c->c, CURLOPT_URL, url);
	curl_easy_setopt(c->c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c->c, CURLOPT_WRITEFUNCTION, cap_write_cb);
	curl_easy_setopt(c->c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c->c, CURLOPT_TIMEOUT, SMALL_TIMEOUT);
	c->errbuf[0] = '\0';
	cc = curl_easy_perform(c->c);
	if (cc != CURLE_OK) {
		struct stat sb;
		free(b.p);
		/* curl's words for a socket ("port 80") would mislead: say what is wrong. */
		if (cc == CURLE_COULDNT_CONNECT && c->ep.unix_path != NULL)
			return fe_set(e, FX_TARGET, "docker daemon at %s: cannot connect: %s", ESC(c->ep.label),
			    stat(c->ep.unix_path, &sb) != 0 ? "no such socket (is dockerd running?)" :
			    !S_ISSOCK(sb.st_mode) ? "not a socket" : "connection refused (is dockerd running?)");
		return fe_set(e, FX_TARGET, "docker daemon at %s: %s", ESC(c->ep.label), curl_why(cc, c->errbuf));
	}
	curl_easy_getinfo(c->c, CURLINFO_RESPONSE_CODE, status);
	if (b.truncated) {
		free(b.p);
		return fe_set(e, FX_TARGET, "docker daemon at %s: reply larger than %zu bytes",
		    ESC(c->ep.label), (size_t)DOCKER_REPLY_MAX);
	}
	*body = b.p != NULL ? b.p : xstrdup("");
	*len = b.n;
	return FX_OK;
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
	char *url = NULL, *body = NULL;
	size_t len;
	long status = 0;
	int rc;

	*cp = NULL;
	http_global_init();
	c->ep.unix_path = ep->unix_path ? xstrdup(ep->unix_path) : NULL;
	c->ep.base = xstrdup(ep->base);
	c->ep.label = xstrdup(ep->label);
	if ((c->c = easy_new(&c->ep, c->errbuf)) == NULL) {
		rc = fe_set(e, FX_IO, "libcurl: cannot make a handle");
		goto end;
	}
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
	if (c->c != NULL)
		curl_easy_cleanup(c->c);
	docker_endpoint_free(&c->ep);
	free(c);
}

/* ---------------------------------------------------------------- streams */

/* A transfer run by its own thread, its body going through a socket pair. */
struct stream {
	CURL *c;
	struct curl_slist *hdrs;
	pthread_t th;
	int started;
	int fd;          /* the thread's end */
	int user_fd;     /* the caller's end */
	atomic_int abort;
	int download;
	CURLcode cc;
	long status;
	struct capbuf reply;
	char label[300];
	char errbuf[CURL_ERROR_SIZE];
};

struct docker_upload {
	struct stream s;
};

struct docker_download {
	struct stream s;
};

static size_t upload_read_cb(char *buf, size_t size, size_t nitems, void *ud)
{
	struct stream *s = ud;
	ssize_t r;

	for (;;) {
		if (atomic_load(&s->abort))
			return CURL_READFUNC_ABORT;
		r = recv(s->fd, buf, size * nitems, 0);
		if (r > 0)
			return (size_t)r;
		if (r == 0)
			/* The caller closed its end: the end of the body, unless it gave up. */
			return atomic_load(&s->abort) ? CURL_READFUNC_ABORT : 0;
		if (errno != EINTR)
			return CURL_READFUNC_ABORT;
	}
}

static size_t download_write_cb(char *data, size_t size, size_t nmemb, void *ud)
{
	struct stream *s = ud;
	size_t n = size * nmemb, off = 0;
	long status = 0;

	curl_easy_getinfo(s->c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		capbuf_add(&s->reply, data, n);
		return n;
	}
	while (off < n) {
		ssize_t w = send(s->fd, data + off, n - off, MSG_NOSIGNAL);
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

	s->cc = curl_easy_perform(s->c);
	curl_easy_getinfo(s->c, CURLINFO_RESPONSE_CODE, &s->status);
	/* The caller's blocked send (upload) fails, or its read sees the end (download). */
	shutdown(s->fd, SHUT_RDWR);
	return NULL;
}

static int stream_start(struct stream *s, struct docker_client *dc, const char *url, int upload,
    struct ferr *e)
{
	int sv[2], sz = PIPE_BUF_BYTES;

	memset(s, 0, sizeof(*s));
	s->fd = s->user_fd = -1;
	atomic_init(&s->abort, 0);
	fx_strlcpy(s->label, dc->ep.label, sizeof(s->label));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return fe_set(e, FX_IO, "socketpair: %s", strerror(errno));
	s->user_fd = sv[0];
	s->fd = sv[1];
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if ((s->c = easy_new(&dc->ep, s->errbuf)) == NULL)
		return fe_set(e, FX_IO, "libcurl: cannot make a handle");
	curl_easy_setopt(s->c, CURLOPT_URL, url);
	if (upload) {
		s->hdrs = curl_slist_append(s->hdrs, "Content-Type: application/x-tar");
		s->hdrs = curl_slist_append(s->hdrs, "Transfer-Encoding: chunked");
		s->hdrs = curl_slist_append(s->hdrs, "Expect:");
		curl_easy_setopt(s->c, CURLOPT_HTTPHEADER, s->hdrs);
		curl_easy_setopt(s->c, CURLOPT_POST, 1L);
		curl_easy_setopt(s->c, CURLOPT_READFUNCTION, upload_read_cb);
		curl_easy_setopt(s->c, CURLOPT_READDATA, s);
		curl_easy_setopt(s->c, CURLOPT_WRITEFUNCTION, cap_write_cb);
		curl_easy_setopt(s->c, CURLOPT_WRITEDATA, &s->reply);
	} else {
		s->download = 1;
		curl_easy_setopt(s->c, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(s->c, CURLOPT_WRITEFUNCTION, download_write_cb);
		curl_easy_setopt(s->c, CURLOPT_WRITEDATA, s);
	}
	if (pthread_create(&s->th, NULL, stream_main, s) != 0)
		return fe_set(e, FX_IO, "cannot start a thread: %s", strerror(errno));
	s->started = 1;
	return FX_OK;
}

/* Waits for the transfer and releases everything but the reply. */
static void stream_join(struct stream *s)
{
	if (s->user_fd >= 0) {
		close(s->user_fd);
		s->user_fd = -1;
	}
	if (s->started) {
		pthread_join(s->th, NULL);
		s->started = 0;
	}
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	if (s->c != NULL) {
		curl_easy_cleanup(s->c);
		s->c = NULL;
	}
	curl_slist_free_all(s->hdrs);
	s->hdrs = NULL;
}

int docker_load_begin(struct docker_client *c, struct docker_upload **up, struct ferr *e)
{
	struct docker_upload *u = xcalloc(1, sizeof(*u));
	char *url = xasprintf("%s/v%s/images/load?quiet=1", c->ep.base, c->api);
	int rc;

	*up = NULL;
	rc = stream_start(&u->s, c, url, 1, e);
	free(url);
	if (rc != FX_OK) {
		stream_join(&u->s);
		free(u);
		return rc;
	}
	*up = u;
	return FX_OK;
}

/* The reason a finished load request failed, or FX_OK with m filled. */
static int load_result(struct stream *s, struct docker_msgs *m, struct ferr *e)
{
	if (s->cc == CURLE_ABORTED_BY_CALLBACK && fx_interrupted)
		return fe_set(e, FX_TARGET, "docker daemon at %s: image load interrupted", ESC(s->label));
	if (s->cc != CURLE_OK && s->status == 0)
		return fe_set(e, FX_TARGET, "docker daemon at %s: POST /images/load: %s", ESC(s->label),
		    curl_why(s->cc, s->errbuf));
	if (s->status != 200)
		return fe_set(e, FX_TARGET, "docker daemon at %s: image load refused (HTTP %ld): %s",
		    ESC(s->label), s->status, reply_why(s->reply.p, s->reply.n));
	if (docker_parse_messages(s->reply.p != NULL ? s->reply.p : "", s->reply.n, m) != 0)
		return fe_set(e, FX_TARGET, "docker daemon at %s: unreadable reply to the image load: %s",
		    ESC(s->label), reply_why(s->reply.p, s->reply.n));
	if (m->error != NULL)
		return fe_set(e, FX_TARGET, "docker daemon at %s: image load failed: %s", ESC(s->label),
		    ESC(m->error));
	if (s->cc != CURLE_OK)
		return fe_set(e, FX_TARGET, "docker daemon at %s: POST /images/load: %s", ESC(s->label),
		    curl_why(s->cc, s->errbuf));
	return FX_OK;
}

int docker_upload_write(struct docker_upload *u, const void *buf, size_t n, struct ferr *e)
{
	const char *p = buf;
	struct docker_msgs m;
	int rc;

	while (n > 0) {
		ssize_t w = send(u->s.user_fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			/* The transfer ended early: its reply says why. */
			stream_join(&u->s);
			memset(&m, 0, sizeof(m));
			rc = load_result(&u->s, &m, e);
			docker_msgs_free(&m);
			if (rc == FX_OK)
				rc = fe_set(e, FX_TARGET, "docker daemon at %s: the daemon stopped reading the "
				    "image stream", ESC(u->s.label));
			return rc;
		}
		p += w;
		n -= (size_t)w;
	}
	return FX_OK;
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
	free(u->s.reply.p);
	free(u);
	return rc;
}

int docker_get_begin(struct docker_client *c, const char *ref, int *fd, struct docker_download **dp,
    struct ferr *e)
{
	struct docker_download *d = xcalloc(1, sizeof(*d));
	char *q, *url;
	int rc;

	*dp = NULL;
	*fd = -1;
	q = curl_easy_escape(c->c, ref, 0);
	if (q == NULL) {
		free(d);
		return fe_set(e, FX_IO, "libcurl: cannot escape %s", ESC(ref));
	}
	url = xasprintf("%s/v%s/images/get?names=%s", c->ep.base, c->api, q);
	curl_free(q);
	rc = stream_start(&d->s, c, url, 0, e);
	free(url);
	if (rc != FX_OK) {
		stream_join(&d->s);
		free(d);
		return rc;
	}
	*fd = d->s.user_fd;
	*dp = d;
	return FX_OK;
}

int docker_get_end(struct docker_download *d, struct ferr *e)
{
	int rc = FX_OK;

	if (d == NULL)
		return FX_OK;
	stream_join(&d->s);
	if (d->s.status != 0 && d->s.status != 200)
		rc = fe_set(e, FX_TARGET, "docker daemon at %s: image export refused (HTTP %ld): %s",
		    ESC(d->s.label), d->s.status, reply_why(d->s.reply.p, d->s.reply.n));
	else if (d->s.cc != CURLE_OK && d->s.cc != CURLE_WRITE_ERROR)
		rc = fe_set(e, FX_TARGET, "docker daemon at %s: GET /images/get: %s", ESC(d->s.label),
		    curl_why(d->s.cc, d->s.errbuf));
	free(d->s.reply.p);
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
