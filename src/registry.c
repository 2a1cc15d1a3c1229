/* registry.c - the registry:// target: pushes a bundle's images to an OCI distribution
 * registry while the bundle streams.
 *
 * Blobs (configs, layers) arrive first. Each one becomes a job that a worker thread
 * takes: it HEADs the blob in every repository that needs it, then either drains the
 * bytes (already there) or streams them into an upload session, chunk by chunk, and
 * only completes the session (PUT ?digest=) once the reader says the blob verified;
 * a blob that fails is cancelled (DELETE). Other repositories get the blob by a
 * cross-repository mount. The reader may go on to the next blob while a worker still
 * sends the last chunks of the previous one; memory stays bounded (CHUNK per queued
 * chunk, a few per job, jobs + 1 jobs).
 *
 * Manifests and indexes are kept in memory (they are small, capped) and pushed after
 * the stream, once every worker is done: an image whose blobs did not all verify and
 * land gets no manifest at all. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "http.h"
#include "registry.h"

#define CHUNK (4u << 20)         /* bytes per PATCH of a blob that streams */
#define SEGMENT ((uint64_t)32 << 20) /* bytes per PATCH of a blob read by position */
#define QDEPTH 1                 /* chunks queued per job beyond the one in flight */
#define MANIFEST_MAX (4u << 20)
#define TOKEN_MAX (16u << 10)
#define JOBS_MAX 32
#define BREAK_AFTER 3            /* requests failed in a row (after retries) before giving up */
#define RETRY_BUDGET_MS 120000   /* retry waiting of all a target's requests together */

/* ---------------------------------------------------------------- parsers */

static int is_lc_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int reg_valid_repo(const char *p)
{
	size_t i = 0;

	if (p == NULL || *p == '\0' || strlen(p) > 255)
		return 0;
	for (;;) {
		/* one component: alnum+ (sep alnum+)* with sep = "." | "_" | "__" | "-"+ */
		if (!is_lc_alnum((unsigned char)p[i]))
			return 0;
		while (is_lc_alnum((unsigned char)p[i]))
			i++;
		while (p[i] == '.' || p[i] == '_' || p[i] == '-') {
			if (p[i] == '.')
				i++;
			else if (p[i] == '_')
				i += p[i + 1] == '_' ? 2 : 1;
			else
				while (p[i] == '-')
					i++;
			if (!is_lc_alnum((unsigned char)p[i]))
				return 0;
			while (is_lc_alnum((unsigned char)p[i]))
				i++;
		}
		if (p[i] == '\0')
			return 1;
		if (p[i] != '/')
			return 0;
		i++;
	}
}

int reg_valid_digest(const char *d)
{
	size_t i;

	if (d == NULL || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 7 + 64)
		return 0;
	for (i = 7; i < 7 + 64; i++)
		if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f')))
			return 0;
	return 1;
}

static int valid_tag(const char *t)
{
	size_t i, n = strlen(t);

	if (n == 0 || n > 128 || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
		return 0;
	for (i = 1; i < n; i++)
		if (!(isalnum((unsigned char)t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
			return 0;
	return 1;
}

static int valid_host(const char *h)
{
	size_t i, n = strlen(h);

	if (n == 0 || n > 253)
		return 0;
	if (h[0] == '[') { /* [v6] */
		if (h[n - 1] != ']' || n < 3)
			return 0;
		for (i = 1; i + 1 < n; i++)
			if (!(isxdigit((unsigned char)h[i]) || h[i] == ':' || h[i] == '.'))
				return 0;
		return 1;
	}
	for (i = 0; i < n; i++)
		if (!(isalnum((unsigned char)h[i]) || h[i] == '.' || h[i] == '-'))
			return 0;
	return h[0] != '-' && h[0] != '.';
}

/* Splits HOST[:PORT] (in s, length n) into host and port (0: none). */
static int split_hostport(const char *s, size_t n, char *host, size_t hsz, int *port)
{
	const char *colon = NULL;
	size_t hl;
	uint64_t p;
	char num[8];

	if (n > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', n);

		if (rb == NULL)
			return -1;
		if ((size_t)(rb - s) + 1 < n) {
			if (rb[1] != ':')
				return -1;
			colon = rb + 1;
		}
	} else {
		colon = memchr(s, ':', n);
	}
	hl = colon ? (size_t)(colon - s) : n;
	if (hl == 0 || hl >= hsz)
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	*port = 0;
	if (colon != NULL) {
		size_t pl = n - hl - 1;

		if (pl == 0 || pl >= sizeof(num))
			return -1;
		memcpy(num, colon + 1, pl);
		num[pl] = '\0';
		if (!isdigit((unsigned char)num[0]) || parse_u64(num, &p) != 0 || p == 0 || p > 65535)
			return -1;
		*port = (int)p;
	}
	return valid_host(host) ? 0 : -1;
}

int reg_parse_target(const char *spec, struct reg_target *t)
{
	const char *s, *slash;
	size_t i, n;

	memset(t, 0, sizeof(*t));
	if (spec == NULL || strncmp(spec, "registry://", 11) != 0)
		return -1;
	s = spec + 11;
	slash = strchr(s, '/');
	n = slash ? (size_t)(slash - s) : strlen(s);
	if (split_hostport(s, n, t->host, sizeof(t->host), &t->port) != 0)
		return -1;
	for (i = 0; t->host[i]; i++)
		t->host[i] = (char)tolower((unsigned char)t->host[i]);
	if (t->port)
		snprintf(t->hostport, sizeof(t->hostport), "%s:%d", t->host, t->port);
	else
		snprintf(t->hostport, sizeof(t->hostport), "%s", t->host);
	if (slash != NULL) {
		size_t pl = strlen(slash + 1);

		while (pl > 0 && slash[1 + pl - 1] == '/')
			pl--;
		if (pl >= sizeof(t->prefix))
			return -1;
		memcpy(t->prefix, slash + 1, pl);
		t->prefix[pl] = '\0';
		if (pl > 0 && !reg_valid_repo(t->prefix))
			return -1;
	}
	return 0;
}

int reg_parse_ref(const char *ref, struct reg_ref *r)
{
	char name[600];
	const char *at, *slash, *lastslash, *colon;
	size_t n;

	memset(r, 0, sizeof(*r));
	if (ref == NULL || strlen(ref) >= sizeof(name))
		return -1;
	at = strchr(ref, '@');
	n = at ? (size_t)(at - ref) : strlen(ref);
	if (at != NULL) {
		if (!reg_valid_digest(at + 1))
			return -1;
		fx_strlcpy(r->digest, at + 1, sizeof(r->digest));
	}
	memcpy(name, ref, n);
	name[n] = '\0';
	lastslash = strrchr(name, '/');
	colon = strrchr(lastslash ? lastslash : name, ':');
	if (colon != NULL) {
		if (!valid_tag(colon + 1))
			return -1;
		fx_strlcpy(r->tag, colon + 1, sizeof(r->tag));
		name[colon - name] = '\0';
	}
	slash = strchr(name, '/');
	if (slash != NULL && (memchr(name, '.', (size_t)(slash - name)) || memchr(name, ':', (size_t)(slash - name)) ||
	    ((size_t)(slash - name) == 9 && strncmp(name, "localhost", 9) == 0))) {
		int port;
		char h[240];

		if (split_hostport(name, (size_t)(slash - name), h, sizeof(h), &port) != 0)
			return -1;
		if (port)
			snprintf(r->host, sizeof(r->host), "%s:%d", h, port);
		else
			fx_strlcpy(r->host, h, sizeof(r->host));
		if (fx_strlcpy(r->path, slash + 1, sizeof(r->path)) >= sizeof(r->path))
			return -1;
	} else {
		fx_strlcpy(r->host, "docker.io", sizeof(r->host));
		if (snprintf(r->path, sizeof(r->path), "%s%s", slash ? "" : "library/", name) >= (int)sizeof(r->path))
			return -1;
	}
	if (!reg_valid_repo(r->path))
		return -1;
	if (r->tag[0] == '\0' && r->digest[0] == '\0')
		fx_strlcpy(r->tag, "latest", sizeof(r->tag));
	return 0;
}

void reg_www_auth_free(struct www_auth *a)
{
	free(a->realm);
	free(a->service);
	free(a->scope);
	memset(a, 0, sizeof(*a));
}

static int tokchar(int c)
{
	return c != '\0' && (isalnum(c) || strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

int reg_parse_www_auth(const char *v, struct www_auth *a)
{
	const char *p = v;
	size_t n;

	memset(a, 0, sizeof(*a));
	if (v == NULL || strlen(v) > 8192)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	for (n = 0; tokchar((unsigned char)p[n]); n++)
		;
	if (n == 0 || n >= sizeof(a->scheme))
		return -1;
	for (size_t i = 0; i < n; i++)
		a->scheme[i] = (char)tolower((unsigned char)p[i]);
	a->scheme[n] = '\0';
	p += n;
	for (;;) {
		const char *k;
		size_t kl;
		char val[4097];
		size_t vl = 0;
		char **slot = NULL;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		k = p;
		for (kl = 0; tokchar((unsigned char)k[kl]); kl++)
			;
		if (kl == 0)
			goto bad;
		p = k + kl;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '=') {
			/* a token without "=": the next challenge begins (or a token68) */
			break;
		}
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '"') {
			p++;
			for (;;) {
				unsigned char c = (unsigned char)*p;

				if (c == '\0')
					goto bad; /* unterminated */
				if (c == '"') {
					p++;
					break;
				}
				if (c == '\\') {
					p++;
					c = (unsigned char)*p;
					if (c == '\0')
						goto bad;
				}
				if (c < 0x20 || c == 0x7f || vl + 1 >= sizeof(val))
					goto bad;
				val[vl++] = (char)c;
				p++;
			}
		} else {
			while (tokchar((unsigned char)*p) || *p == '/' || *p == ':' || *p == '=') {
				if (vl + 1 >= sizeof(val))
					goto bad;
				val[vl++] = *p++;
			}
		}
		val[vl] = '\0';
		if (kl == 5 && strncasecmp(k, "realm", 5) == 0)
			slot = &a->realm;
		else if (kl == 7 && strncasecmp(k, "service", 7) == 0)
			slot = &a->service;
		else if (kl == 5 && strncasecmp(k, "scope", 5) == 0)
			slot = &a->scope;
		if (slot != NULL && *slot == NULL)
			*slot = xstrdup(val);
	}
	if (strcmp(a->scheme, "bearer") == 0 && (a->realm == NULL || a->realm[0] == '\0'))
		goto bad;
	return 0;
bad:
	reg_www_auth_free(a);
	return -1;
}

int reg_parse_token(const char *json, size_t len, char **token)
{
	json_t *root;
	json_error_t je;
	const char *t = NULL;
	size_t i, n;
	int rc = -1;

	*token = NULL;
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL || !json_is_object(root))
		goto end;
	t = json_string_value(json_object_get(root, "token"));
	if (t == NULL || *t == '\0')
		t = json_string_value(json_object_get(root, "access_token"));
	if (t == NULL)
		goto end;
	n = strlen(t);
	if (n == 0 || n > TOKEN_MAX)
		goto end;
	for (i = 0; i < n; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			goto end;
	*token = xstrdup(t);
	rc = 0;
end:
	json_decref(root);
	return rc;
}

/* "scheme://authority" prefix length of u, 0 when not http(s). */
static size_t origin_len(const char *u)
{
	size_t n;

	if (strncasecmp(u, "http://", 7) == 0)
		n = 7;
	else if (strncasecmp(u, "https://", 8) == 0)
		n = 8;
	else
		return 0;
	n += strcspn(u + n, "/?#");
	return n;
}

int reg_resolve_location(const char *base, const char *loc, char **out)
{
	size_t i, n, bl;

	*out = NULL;
	if (base == NULL || loc == NULL)
		return -1;
	n = strlen(loc);
	if (n == 0 || n > 8192)
		return -1;
	for (i = 0; i < n; i++)
		if ((unsigned char)loc[i] <= 0x20 || (unsigned char)loc[i] >= 0x7f)
			return -1;
	bl = strlen(base);
	if (loc[0] == '/') {
		if (loc[1] == '/' || loc[1] == '\\')
			return -1; /* scheme-relative: another host */
		*out = xasprintf("%s%s", base, loc);
		return 0;
	}
	if (origin_len(loc) == 0 || origin_len(base) != bl)
		return -1;
	if (origin_len(loc) != bl || strncasecmp(loc, base, bl) != 0)
		return -1;
	if (strchr(loc + bl, '@') != NULL && strcspn(loc + bl, "?") > strcspn(loc + bl, "@"))
		return -1;
	*out = xstrdup(loc);
	return 0;
}

int reg_parse_range(const char *v, uint64_t *next)
{
	char num[24];
	const char *dash;
	uint64_t a, b;
	size_t n;

	if (v == NULL)
		return -1;
	if (strncmp(v, "bytes=", 6) == 0)
		v += 6;
	dash = strchr(v, '-');
	if (dash == NULL || (n = (size_t)(dash - v)) == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, v, n);
	num[n] = '\0';
	if (!isdigit((unsigned char)num[0]) || parse_u64(num, &a) != 0 || a != 0)
		return -1;
	if (!isdigit((unsigned char)dash[1]) || strlen(dash + 1) >= sizeof(num) || parse_u64(dash + 1, &b) != 0 ||
	    b == UINT64_MAX)
		return -1;
	*next = b + 1;
	return 0;
}

/* ---------------------------------------------------------------- the target */

enum { B_PENDING, B_OK, B_BAD, B_FAILED };

struct rimg {
	const struct man_image *mi;
	char repo[600];
	char ref[160];   /* tag or digest the top manifest is pushed under */
	int failed;      /* 0, FX_VERIFY or FX_TARGET */
	char why[768];
};

struct rblob {
	char digest[72];
	size_t *imgs;
	size_t nimgs;
	char **repos;
	size_t nrepos;
	int is_manifest;
	uint64_t size;
	int state;       /* B_*, written by a worker under mu */
	char why[768];
	unsigned char *buf; /* a manifest's bytes */
	size_t len;
	int too_big;
	int present;     /* found by HEAD in every repository before the stream started */
	/* the pre-check's answers: repos[0..pre-1] were asked and all hold it, except
	 * repos[pre-1] when pre_absent */
	size_t pre;
	int pre_absent;
};

struct chunk {
	struct chunk *next;
	unsigned char *p;
	size_t n;
	int final, ok;
};

struct job {
	struct job *next;
	struct rblob *b;
	struct chunk *qh, *qt;
	size_t nq;
	unsigned char *cur; /* reader side */
	size_t curn, curcap;
	uint64_t left;
	/* a blob taken by position (SINK_RANGED): the worker reads and hashes it from the
	 * bundle itself and tells the reader how that went */
	int ranged, reported, short_read;
	int verdict;     /* -1 until the whole blob is hashed, then whether it matched */
	int fd;
	uint64_t off;    /* where the blob starts in the bundle */
	uint64_t hashed; /* bytes of it read and hashed, in order */
	unsigned char want[SHA256_LEN];
	struct sha256 h;
	struct ranged *rg;
};

struct tok {
	char *repo, *hdr;
};

struct reg {
	char spec[600];
	struct reg_target tg;
	char base[300];
	const struct load_opts *lo;
	const struct load_sel *sel;
	struct http_opts ho;
	/* credentials and tokens */
	pthread_mutex_t amu;
	char *user, *pass;
	char *basic;
	struct tok *toks;
	size_t ntoks;
	/* images and blobs of the selection */
	struct rimg *imgs;
	size_t nimgs;
	struct rblob *blobs;
	size_t nblobs;
	/* workers */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th[JOBS_MAX];
	struct http *hc[JOBS_MAX];
	int nth, running;
	struct job *ph, *pt;
	size_t outstanding;
	int closing;
	struct job *cur;
	struct rblob *curman;
	struct http *mh;  /* the reader's own handle: ping, manifests */
	int headed, dead;
	char dead_why[1100];
	/* a registry that keeps failing: after BREAK_AFTER requests in a row failed even
	 * after their retries, no more are made (under amu) */
	int broken, fails;
	char broken_why[2200];
	struct http_budget budget;
	/* counters, under mu */
	size_t pushed, skipped, mounted, manifests, manifests_there, loaded;
	uint64_t bytes_sent, bytes_push;
	struct timespec t0;
};

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static struct rblob *find_blob(struct reg *g, const char *digest)
{
	size_t lo = 0, hi = g->nblobs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(digest, g->blobs[mid].digest);

		if (c == 0)
			return &g->blobs[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* ---- credentials */

static char *b64enc(const char *s, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	return out;
}

static int set_userpass(struct reg *g, const char *up, size_t n)
{
	const char *colon = memchr(up, ':', n);

	if (colon == NULL)
		return -1;
	g->user = xmalloc((size_t)(colon - up) + 1);
	memcpy(g->user, up, (size_t)(colon - up));
	g->user[colon - up] = '\0';
	g->pass = xmalloc(n - (size_t)(colon - up));
	memcpy(g->pass, colon + 1, n - (size_t)(colon - up) - 1);
	g->pass[n - (size_t)(colon - up) - 1] = '\0';
	return 0;
}

/* Does an auths key of ~/.docker/config.json name our host? */
static int auth_key_matches(const char *key, const char *hostport)
{
	size_t n;

	if (strncasecmp(key, "https://", 8) == 0)
		key += 8;
	else if (strncasecmp(key, "http://", 7) == 0)
		key += 7;
	n = strcspn(key, "/");
	return n == strlen(hostport) && strncasecmp(key, hostport, n) == 0;
}

static void load_docker_config(struct reg *g)
{
	const char *dir = getenv("DOCKER_CONFIG"), *home = getenv("HOME"), *k;
	char *path = NULL, *buf = NULL, *dec = NULL;
	size_t len = 0;
	json_t *root = NULL, *auths, *v;
	struct ferr e = {0, ""};

	if (dir != NULL && *dir)
		path = xasprintf("%s/config.json", dir);
	else if (home != NULL && *home)
		path = xasprintf("%s/.docker/config.json", home);
	else
		goto end;
	if (access(path, F_OK) != 0)
		goto end;
	if (read_file_max(path, 1u << 20, &buf, &len, &e) != FX_OK) {
		fx_warn("%s", e.msg);
		goto end;
	}
	root = json_loadb(buf, len, 0, NULL);
	if (root == NULL || !json_is_object(root)) {
		fx_warn("%s: not valid JSON, ignored", esc(path));
		goto end;
	}
	auths = json_object_get(root, "auths");
	json_object_foreach(auths, k, v) {
		const char *a = json_string_value(json_object_get(v, "auth"));
		const char *u = json_string_value(json_object_get(v, "username"));
		const char *p = json_string_value(json_object_get(v, "password"));

		if (!auth_key_matches(k, g->tg.hostport))
			continue;
		if (a != NULL && *a) {
			size_t al = strlen(a), pad = 0;
			int dl;

			if (al % 4 != 0 || al > 8192)
				continue;
			dec = xmalloc(al / 4 * 3 + 1);
			dl = EVP_DecodeBlock((unsigned char *)dec, (const unsigned char *)a, (int)al);
			if (dl < 0)
				goto next;
			pad = (a[al - 1] == '=') + (al > 1 && a[al - 2] == '=');
			if ((size_t)dl >= pad && set_userpass(g, dec, (size_t)dl - pad) == 0) {
				OPENSSL_cleanse(dec, al / 4 * 3 + 1);
				goto done;
			}
next:
			OPENSSL_cleanse(dec, al / 4 * 3 + 1);
			free(dec);
			dec = NULL;
		} else if (u != NULL && p != NULL) {
			g->user = xstrdup(u);
			g->pass = xstrdup(p);
			goto done;
		}
	}
	goto end;
done:
end:
	free(dec);
	json_decref(root);
	if (buf != NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	free(path);
}

static char *userpass_b64(struct reg *g)
{
	char *up = xasprintf("%s:%s", g->user, g->pass), *b;

	b = b64enc(up, strlen(up));
	OPENSSL_cleanse(up, strlen(up));
	free(up);
	return b;
}

/* The Authorization header for a request on repo (malloc'd), or NULL. */
static char *auth_header(struct reg *g, const char *repo)
{
	char *h = NULL;
	size_t i;

	pthread_mutex_lock(&g->amu);
	for (i = 0; i < g->ntoks; i++)
		if (strcmp(g->toks[i].repo, repo) == 0) {
			h = xstrdup(g->toks[i].hdr);
			break;
		}
	if (h == NULL && g->basic != NULL)
		h = xstrdup(g->basic);
	pthread_mutex_unlock(&g->amu);
	return h;
}

static void set_token(struct reg *g, const char *repo, char *hdr)
{
	size_t i;

	pthread_mutex_lock(&g->amu);
	for (i = 0; i < g->ntoks; i++)
		if (strcmp(g->toks[i].repo, repo) == 0)
			break;
	if (i == g->ntoks) {
		g->toks = xreallocarray(g->toks, g->ntoks + 1, sizeof(*g->toks));
		g->toks[i].repo = xstrdup(repo);
		g->ntoks++;
	} else {
		OPENSSL_cleanse(g->toks[i].hdr, strlen(g->toks[i].hdr));
		free(g->toks[i].hdr);
	}
	g->toks[i].hdr = hdr;
	pthread_mutex_unlock(&g->amu);
}

static void free_secret(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

/* Answers a 401 challenge: sets a Basic header or fetches a Bearer token for repo. */
static int authenticate(struct reg *g, struct http *h, const char *repo, const char *challenge, struct ferr *e)
{
	struct www_auth wa;
	struct http_resp rs;
	struct http_req rq;
	char *url = NULL, *tok = NULL, *b = NULL, *hdr = NULL, *q = NULL, *sv = NULL, *scopes = NULL, *sp, *save;
	const char *hdrs[2] = {NULL, NULL};
	int rc = FX_OK;

	memset(&rs, 0, sizeof(rs));
	if (challenge == NULL || reg_parse_www_auth(challenge, &wa) != 0)
		return fe_set(e, FX_TARGET, "%s: HTTP 401 without a usable WWW-Authenticate challenge", g->spec);
	if (strcmp(wa.scheme, "basic") == 0) {
		if (g->user == NULL) {
			rc = fe_set(e, FX_TARGET, "%s: authentication required (use --creds USER:PASS or docker login)", g->spec);
			goto end;
		}
		b = userpass_b64(g);
		hdr = xasprintf("Authorization: Basic %s", b);
		pthread_mutex_lock(&g->amu);
		free_secret(g->basic);
		g->basic = hdr;
		hdr = NULL;
		pthread_mutex_unlock(&g->amu);
		goto end;
	}
	if (strcmp(wa.scheme, "bearer") != 0) {
		rc = fe_set(e, FX_TARGET, "%s: unsupported authentication scheme %s", g->spec, esc(wa.scheme));
		goto end;
	}
	/* the realm is named by the registry: http(s) only, and never plain http when the
	 * registry itself is https (the credentials would cross the network in clear) */
	if (strncmp(wa.realm, "https://", 8) != 0 && !(strncmp(wa.realm, "http://", 7) == 0 && g->lo->plain_http)) {
		rc = fe_set(e, FX_TARGET, "%s: refusing token realm %s", g->spec, esc(wa.realm));
		goto end;
	}
	{
		CURL *c = curl_easy_init();

		if (c == NULL) {
			rc = fe_set(e, FX_IO, "out of memory");
			goto end;
		}
		q = xstrdup("");
		if (wa.service != NULL) {
			char *es = curl_easy_escape(c, wa.service, 0);

			free(q);
			q = xasprintf("service=%s", es ? es : "");
			curl_free(es);
		}
		if (wa.scope != NULL) {
			scopes = xstrdup(wa.scope);
			for (sp = strtok_r(scopes, " ", &save); sp != NULL; sp = strtok_r(NULL, " ", &save)) {
				char *es = curl_easy_escape(c, sp, 0), *nq;

				nq = xasprintf("%s%sscope=%s", q, *q ? "&" : "", es ? es : "");
				curl_free(es);
				free(q);
				q = nq;
			}
		}
		curl_easy_cleanup(c);
	}
	url = xasprintf("%s%s%s", wa.realm, *q ? (strchr(wa.realm, '?') ? "&" : "?") : "", q);
	if (g->user != NULL) {
		b = userpass_b64(g);
		sv = xasprintf("Authorization: Basic %s", b);
		hdrs[0] = sv;
	}
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.url = url;
	rq.headers = hdrs;
	rq.max_body = 256u << 10;
	if ((rc = http_do(h, &rq, &rs, e)) != FX_OK)
		goto end;
	if (rs.status != 200) {
		rc = fe_set(e, FX_TARGET, "%s: token server refused%s (HTTP %ld)", g->spec,
		    g->user ? " the credentials" : " anonymous access", rs.status);
		goto end;
	}
	if (reg_parse_token(rs.body, rs.body_len, &tok) != 0) {
		rc = fe_set(e, FX_TARGET, "%s: token server sent no usable token", g->spec);
		goto end;
	}
	set_token(g, repo, xasprintf("Authorization: Bearer %s", tok));
end:
	free_secret(tok);
	free_secret(b);
	free_secret(sv);
	free_secret(hdr);
	free(url);
	free(q);
	free(scopes);
	if (rs.body != NULL)
		OPENSSL_cleanse(rs.body, rs.body_len);
	http_resp_free(&rs);
	reg_www_auth_free(&wa);
	return rc;
}

/* Counts requests that failed even after their retries (no answer, or still 5xx or
 * 429): BREAK_AFTER of them in a row and the registry is given up on. */
static void note_outcome(struct reg *g, int rc, const struct http_resp *rs, const struct ferr *e)
{
	int failed = (rc != FX_OK && e->code == FX_TARGET) ||
	    (rc == FX_OK && (rs->status == 429 || (rs->status >= 500 && rs->status <= 599)));

	pthread_mutex_lock(&g->amu);
	if (!failed) {
		g->fails = 0;
	} else if (++g->fails >= BREAK_AFTER && !g->broken) {
		g->broken = 1;
		if (rc != FX_OK)
			snprintf(g->broken_why, sizeof(g->broken_why), "%d requests in a row failed, the last one: %s",
			    g->fails, e->msg);
		else
			snprintf(g->broken_why, sizeof(g->broken_why),
			    "%d requests in a row failed, the last one with HTTP %ld after its retries", g->fails, rs->status);
	}
	pthread_mutex_unlock(&g->amu);
}

static int is_broken(struct reg *g)
{
	int b;

	pthread_mutex_lock(&g->amu);
	b = g->broken;
	pthread_mutex_unlock(&g->amu);
	return b;
}

/* A registry request on repo: adds the credentials it needs, answering a 401 once. The
 * body is body/len, or what src describes (body_read and the like) when it is given. */
static int rreq_src(struct reg *g, struct http *h, const char *repo, const char *method, const char *url,
    const char *const *extra, const void *body, size_t len, const struct http_req *src, size_t max_body,
    struct http_resp *rs, struct ferr *e)
{
	const char *hdrs[8];
	char *ah = NULL;
	struct http_req rq;
	int round, rc = FX_OK;
	size_t i, n;

	memset(rs, 0, sizeof(*rs)); /* callers free it whatever happens */
	pthread_mutex_lock(&g->amu);
	if (g->broken)
		rc = fe_set(e, FX_TARGET, "%s: giving up: %s", g->spec, g->broken_why);
	pthread_mutex_unlock(&g->amu);
	if (rc != FX_OK)
		return rc;
	for (round = 0; round < 2; round++) {
		n = 0;
		ah = auth_header(g, repo);
		if (ah != NULL)
			hdrs[n++] = ah;
		for (i = 0; extra != NULL && extra[i] != NULL && n < 7; i++)
			hdrs[n++] = extra[i];
		hdrs[n] = NULL;
		memset(&rq, 0, sizeof(rq));
		rq.method = method;
		rq.url = url;
		rq.headers = hdrs;
		rq.body = body;
		rq.body_len = len;
		if (src != NULL) {
			rq.body_read = src->body_read;
			rq.body_arg = src->body_arg;
			rq.body_size = src->body_size;
			rq.no_retry = src->no_retry;
		}
		rq.max_body = max_body;
		if (round > 0)
			http_resp_free(rs);
		rc = http_do(h, &rq, rs, e);
		free_secret(ah);
		ah = NULL;
		if (rc != FX_OK || rs->status != 401)
			break;
		if (round == 1) {
			rc = fe_set(e, FX_TARGET, "%s: %s %s: authentication failed (HTTP 401)", g->spec, method, repo);
			break;
		}
		if ((rc = authenticate(g, h, repo, rs->www_auth, e)) != FX_OK)
			break;
	}
	note_outcome(g, rc, rs, e);
	return rc;
}

static int rreq(struct reg *g, struct http *h, const char *repo, const char *method, const char *url,
    const char *const *extra, const void *body, size_t len, size_t max_body, struct http_resp *rs, struct ferr *e)
{
	return rreq_src(g, h, repo, method, url, extra, body, len, NULL, max_body, rs, e);
}

/* ---- the worker side */

static void job_push(struct reg *g, struct job *j, unsigned char *p, size_t n, int final, int ok)
{
	struct chunk *c = xcalloc(1, sizeof(*c));

	c->p = p;
	c->n = n;
	c->final = final;
	c->ok = ok;
	pthread_mutex_lock(&g->mu);
	while (!final && j->nq >= QDEPTH)
		pthread_cond_wait(&g->cv, &g->mu);
	if (j->qt != NULL)
		j->qt->next = c;
	else
		j->qh = c;
	j->qt = c;
	j->nq++;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static void ranged_report(struct job *j, int result, const char *why)
{
	if (!j->reported) {
		j->reported = 1;
		bundle_ranged_done(j->rg, result, why);
	}
}

/* Reads n bytes of a ranged blob at blob offset at; returns how many (fewer: the bundle
 * ended, or, with stoppable, an interrupt). Bytes past what was hashed so far are
 * hashed. */
static size_t range_pread(struct job *j, unsigned char *buf, size_t n, uint64_t at, int stoppable)
{
	size_t got = 0;

	while (got < n && !(stoppable && fx_interrupted)) {
		ssize_t r = pread(j->fd, buf + got, n - got, (off_t)(j->off + at + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (at <= j->hashed && at + got > j->hashed) {
		sha256_update(&j->h, buf + (j->hashed - at), (size_t)(at + got - j->hashed));
		j->hashed = at + got;
	}
	if (got < n)
		j->short_read = 1;
	return got;
}

/* Once the whole blob is hashed: tells the reader, and whether it matched. */
static int range_verdict(struct job *j)
{
	unsigned char d[SHA256_LEN];
	int ok;

	if (j->verdict >= 0)
		return j->verdict;
	if (j->short_read || j->hashed != j->b->size) {
		ranged_report(j, RANGED_BAD, fx_interrupted ? "interrupted" :
		    "the bundle ends inside it (damaged or truncated bundle)");
		return 0;
	}
	sha256_final(&j->h, d);
	ok = CRYPTO_memcmp(d, j->want, SHA256_LEN) == 0;
	ranged_report(j, ok ? RANGED_OK : RANGED_BAD, NULL);
	j->verdict = ok;
	return ok;
}

/* The next chunk of a ranged blob's unhashed rest (a dry run, or a failed upload that
 * still owes the reader its verdict): CHUNK bytes, the last one final, ok telling
 * whether the whole blob hashed to its signed digest. */
static struct chunk *range_next(struct job *j)
{
	struct chunk *c = xcalloc(1, sizeof(*c));
	uint64_t left = j->b->size - j->hashed;
	size_t n = left < CHUNK ? (size_t)left : CHUNK;

	c->p = xmalloc(n ? n : 1);
	if (!j->short_read)
		c->n = range_pread(j, c->p, n, j->hashed, 1);
	if (j->short_read || j->hashed == j->b->size) {
		c->final = 1;
		c->ok = range_verdict(j);
	}
	return c;
}

static struct chunk *queue_pop(struct reg *g, struct job *j)
{
	struct chunk *c;

	pthread_mutex_lock(&g->mu);
	while (j->qh == NULL)
		pthread_cond_wait(&g->cv, &g->mu);
	c = j->qh;
	j->qh = c->next;
	if (j->qh == NULL)
		j->qt = NULL;
	j->nq--;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	return c;
}

/* The next chunk of a job's blob, from the reader's queue or read by position. */
static struct chunk *job_pop(struct reg *g, struct job *j)
{
	return j->ranged ? range_next(j) : queue_pop(g, j);
}

static void chunk_free(struct chunk *c)
{
	if (c != NULL) {
		free(c->p);
		free(c);
	}
}

/* Discards the rest of a job's bytes; returns whether the blob verified. */
static int job_drain(struct reg *g, struct job *j)
{
	for (;;) {
		struct chunk *c = job_pop(g, j);
		int fin = c->final, ok = c->ok;

		chunk_free(c);
		if (fin)
			return ok;
	}
}

static void set_state(struct reg *g, struct rblob *b, int state, const char *why)
{
	pthread_mutex_lock(&g->mu);
	b->state = state;
	if (why != NULL)
		fx_strlcpy(b->why, why, sizeof(b->why));
	pthread_mutex_unlock(&g->mu);
}

static void count(struct reg *g, size_t *ctr, uint64_t bytes)
{
	pthread_mutex_lock(&g->mu);
	(*ctr)++;
	g->bytes_push += bytes;
	pthread_mutex_unlock(&g->mu);
}

static void count_sent(struct reg *g, uint64_t n)
{
	pthread_mutex_lock(&g->mu);
	g->bytes_sent += n;
	pthread_mutex_unlock(&g->mu);
}

/* HEAD a blob: 1 present, 0 absent, -1 error (e set). */
static int blob_present(struct reg *g, struct http *h, const char *repo, const char *digest, struct ferr *e)
{
	struct http_resp rs;
	char *url = xasprintf("%s/v2/%s/blobs/%s", g->base, repo, digest);
	int r = -1;

	memset(&rs, 0, sizeof(rs));
	if (rreq(g, h, repo, "HEAD", url, NULL, NULL, 0, 0, &rs, e) != FX_OK)
		goto end;
	if (rs.status == 200 || rs.status == 307)
		r = 1;
	else if (rs.status == 404)
		r = 0;
	else
		fe_set(e, FX_TARGET, "%s: HEAD %s/blobs/%s: HTTP %ld", g->spec, repo, digest, rs.status);
end:
	http_resp_free(&rs);
	free(url);
	return r;
}

static void cancel_session(struct reg *g, struct http *h, const char *repo, const char *loc)
{
	struct http_resp rs;
	struct ferr e = {0, ""};

	if (loc != NULL && rreq(g, h, repo, "DELETE", loc, NULL, NULL, 0, HTTP_ERRBODY_MAX, &rs, &e) == FX_OK)
		http_resp_free(&rs);
}

static int new_location(struct reg *g, const struct http_resp *rs, char **loc, struct ferr *e)
{
	char *n = NULL;

	if (rs->location == NULL || reg_resolve_location(g->base, rs->location, &n) != 0)
		return fe_set(e, FX_TARGET, "%s: registry sent %s upload location", g->spec,
		    rs->location ? "an unacceptable" : "no");
	free(*loc);
	*loc = n;
	return FX_OK;
}

/* Opens an upload session in repo: *loc set (the old one, if any, is freed). */
static int start_session(struct reg *g, struct http *h, const char *repo, const char *digest, char **loc,
    struct ferr *e)
{
	struct http_resp rs;
	char *url = xasprintf("%s/v2/%s/blobs/uploads/", g->base, repo);
	int rc;

	memset(&rs, 0, sizeof(rs));
	if ((rc = rreq(g, h, repo, "POST", url, NULL, NULL, 0, HTTP_ERRBODY_MAX, &rs, e)) != FX_OK)
		goto end;
	if (rs.status != 202) {
		rc = fe_set(e, FX_TARGET, "%s: %s: starting the upload of %s: HTTP %ld %s", g->spec, repo, digest,
		    rs.status, http_body_snippet(&rs));
		goto end;
	}
	rc = new_location(g, &rs, loc, e);
end:
	http_resp_free(&rs);
	free(url);
	return rc;
}

/* Asks an upload session how many bytes it holds (GET on its location: 204 and
 * Range 0-N): 0 with *next set and *loc updated, -1 when the session is gone or
 * does not say. */
static int session_offset(struct reg *g, struct http *h, const char *repo, char **loc, uint64_t *next)
{
	struct http_resp rs;
	struct ferr e = {0, ""};
	int r = -1;

	memset(&rs, 0, sizeof(rs));
	if (rreq(g, h, repo, "GET", *loc, NULL, NULL, 0, HTTP_ERRBODY_MAX, &rs, &e) != FX_OK)
		goto end;
	if (rs.status != 204 && rs.status != 200)
		goto end;
	if (rs.range == NULL || reg_parse_range(rs.range, next) != 0)
		goto end;
	if (rs.location != NULL && new_location(g, &rs, loc, &e) != FX_OK)
		goto end;
	r = 0;
end:
	http_resp_free(&rs);
	return r;
}

#define RESYNC_MAX 3 /* session look-ups (and restarts) per chunk after a failed request */

/* Sends one chunk (bytes *off .. *off+c->n-1 of the blob) into the session at *loc. A
 * request that fails even after http_do's retries (a connection cut in the middle, an
 * error status) is followed by a look at the session: when it reports an offset within
 * the chunk, the rest of the chunk is sent from there; when it is gone and the chunk is
 * the blob's first, a new session starts over. Otherwise the earlier bytes are gone from
 * memory (the bundle streams) and the blob fails. */
static int send_chunk(struct reg *g, struct http *h, const char *repo, struct rblob *b, char **loc, uint64_t *off,
    const struct chunk *c, struct ferr *e)
{
	static const char *const oct = "Content-Type: application/octet-stream";
	struct http_resp rs;
	struct ferr le = {0, ""};
	size_t from = 0;
	int tries = 0, rc = FX_OK;

	memset(&rs, 0, sizeof(rs));
	for (;;) {
		char range[80];
		const char *hd[3] = {oct, range, NULL};
		uint64_t next;

		snprintf(range, sizeof(range), "Content-Range: %llu-%llu", (unsigned long long)(*off + from),
		    (unsigned long long)(*off + c->n - 1));
		http_resp_free(&rs);
		le.code = 0;
		le.msg[0] = '\0';
		if (rreq(g, h, repo, "PATCH", *loc, hd, c->p + from, c->n - from, HTTP_ERRBODY_MAX, &rs, &le) == FX_OK) {
			if (rs.status == 202 && new_location(g, &rs, loc, &le) == FX_OK) {
				count_sent(g, c->n - from);
				*off += c->n;
				goto end;
			}
			if (le.code == 0)
				fe_set(&le, FX_TARGET, "%s: %s: uploading %s: HTTP %ld %s", g->spec, repo, b->digest, rs.status,
				    http_body_snippet(&rs));
		}
		if (is_broken(g) || fx_interrupted || ++tries > RESYNC_MAX)
			break;
		if (session_offset(g, h, repo, loc, &next) == 0 && next >= *off && next <= *off + c->n) {
			from = (size_t)(next - *off);
			fx_warn("%s: %s: resuming the upload of %s at byte %llu", g->spec, repo, b->digest,
			    (unsigned long long)next);
			if (from == c->n) { /* it all arrived, only the reply was lost */
				*off += c->n;
				goto end;
			}
			continue;
		}
		if (*off != 0)
			break;
		/* the first chunk: everything sent so far is still here, start over */
		cancel_session(g, h, repo, *loc);
		le.code = 0;
		le.msg[0] = '\0';
		if (start_session(g, h, repo, b->digest, loc, &le) != FX_OK)
			break;
		fx_warn("%s: %s: upload session of %s lost, starting it again", g->spec, repo, b->digest);
		from = 0;
	}
	rc = fe_set(e, FX_TARGET, "%s%s", le.msg,
	    *off != 0 ? " (the upload cannot be resumed here; running the load again resumes it)" : "");
end:
	http_resp_free(&rs);
	return rc;
}

/* Completes the session at *loc with the last chunk (PUT ?digest=), then makes sure the
 * registry really has the blob (HEAD): a registry may answer 201 and not have stored
 * it, or store it and lose the answer. A blob that fits in the last chunk whole is
 * sent again in a new session when that happens; a bigger one fails. */
static int complete_upload(struct reg *g, struct http *h, const char *repo, struct rblob *b, char **loc,
    uint64_t off, const struct chunk *c, struct ferr *e)
{
	static const char *const oct[] = {"Content-Type: application/octet-stream", NULL};
	struct http_resp rs;
	struct ferr le = {0, ""};
	int attempt, rc = FX_OK;

	memset(&rs, 0, sizeof(rs));
	for (attempt = 0; attempt < 2; attempt++) {
		char *url = xasprintf("%s%sdigest=%s", *loc, strchr(*loc, '?') ? "&" : "?", b->digest);
		struct ferr he = {0, ""};
		int sent, there;

		http_resp_free(&rs);
		le.code = 0;
		le.msg[0] = '\0';
		sent = rreq(g, h, repo, "PUT", url, oct, c->p, c->n, HTTP_ERRBODY_MAX, &rs, &le) == FX_OK;
		free(url);
		if (sent && rs.status == 201 && rs.digest != NULL && strcmp(rs.digest, b->digest) != 0) {
			rc = fe_set(e, FX_TARGET, "%s: %s: registry stored %s as %s", g->spec, repo, b->digest, esc(rs.digest));
			goto end;
		}
		if (sent && rs.status != 201)
			fe_set(&le, FX_TARGET, "%s: %s: completing the upload of %s: HTTP %ld %s", g->spec, repo, b->digest,
			    rs.status, http_body_snippet(&rs));
		there = blob_present(g, h, repo, b->digest, &he);
		if (there == 1) {
			if (!(sent && rs.status == 201))
				fx_warn("%s: %s: %s is in the registry after all", g->spec, repo, b->digest);
			count_sent(g, c->n);
			free(*loc);
			*loc = NULL; /* completed: nothing to cancel */
			goto end;
		}
		if (sent && rs.status == 201)
			fe_set(&le, FX_TARGET, "%s: %s: the registry answered 201 Created for %s but does not have it%s",
			    g->spec, repo, b->digest, there < 0 ? " (HEAD failed)" : "");
		if (off != 0 || is_broken(g) || fx_interrupted || attempt == 1)
			break;
		fx_warn("%s: %s: %s did not land, sending it again", g->spec, repo, b->digest);
		cancel_session(g, h, repo, *loc);
		if (start_session(g, h, repo, b->digest, loc, &le) != FX_OK)
			break;
	}
	rc = fe_set(e, FX_TARGET, "%s", le.msg[0] ? le.msg : "upload failed");
end:
	http_resp_free(&rs);
	return rc;
}

/* body_read of a ranged blob's PATCH: the body starts at blob offset *base. */
struct rbody {
	struct job *j;
	uint64_t base;
};

static size_t rbody_read(void *arg, void *buf, size_t n, uint64_t at)
{
	struct rbody *rb = arg;

	/* not stopped by an interrupt: a PATCH cut off in the middle leaves Docker
	 * Distribution with bytes it no longer lets anyone delete; the segment ends first */
	return range_pread(rb->j, buf, n, rb->base + at, 0);
}

/* Uploads a blob the worker reads from the bundle itself: PATCH requests of SEGMENT
 * bytes stream it (hashed on the way, read with no buffer of its own), and the session
 * is completed (PUT ?digest=, no body) only when it hashed to its signed digest. The
 * bytes stay on disk, so a PATCH that fails even after http_do's retries is resumed
 * from where the session says it got, or, when the registry refuses the session, sent
 * again in a new one. *ok: the blob verified. */
static int upload_ranged(struct reg *g, struct http *h, struct job *j, const char *repo, int *ok, struct ferr *e)
{
	static const char *const oct = "Content-Type: application/octet-stream";
	struct rblob *b = j->b;
	struct http_resp rs;
	struct ferr le = {0, ""};
	struct chunk none = {NULL, NULL, 0, 1, 1};
	char *loc = NULL;
	uint64_t have = 0; /* bytes the session holds */
	int tries = 0, rc;
	struct stat st;

	*ok = 0;
	memset(&rs, 0, sizeof(rs));
	/* A bundle cut short (a copy that did not finish) is found before any byte goes:
	 * a PATCH cut off for want of bytes would leave the registry a session it cannot
	 * delete. */
	if (fstat(j->fd, &st) == 0 && (uint64_t)st.st_size < j->off + b->size) {
		j->short_read = 1;
		rc = fe_set(e, FX_VERIFY, "the bundle ends inside the blob");
		goto end;
	}
	if ((rc = start_session(g, h, repo, b->digest, &loc, e)) != FX_OK)
		goto end;
	while (have < b->size && !fx_interrupted) {
		uint64_t end = b->size - have > SEGMENT ? have + SEGMENT : b->size;
		struct rbody rb = {j, have};
		struct http_req src;
		char range[80];
		const char *hd[3] = {oct, range, NULL};
		uint64_t next;

		memset(&src, 0, sizeof(src));
		src.body_read = rbody_read;
		src.body_arg = &rb;
		src.body_size = end - have;
		/* Retried as usual (5xx, 429, connection errors): the body is read again from
		 * the same offset, and Content-Range makes the registry refuse it (416) rather
		 * than append it when it holds something else by then. */
		snprintf(range, sizeof(range), "Content-Range: %llu-%llu", (unsigned long long)have,
		    (unsigned long long)(end - 1));
		http_resp_free(&rs);
		le.code = 0;
		le.msg[0] = '\0';
		if (rreq_src(g, h, repo, "PATCH", loc, hd, NULL, 0, &src, HTTP_ERRBODY_MAX, &rs, &le) == FX_OK) {
			if (rs.status == 202 && new_location(g, &rs, &loc, &le) == FX_OK) {
				count_sent(g, end - have);
				have = end;
				tries = 0;
				continue;
			}
			if (le.code == 0)
				fe_set(&le, FX_TARGET, "%s: %s: uploading %s: HTTP %ld %s", g->spec, repo, b->digest, rs.status,
				    http_body_snippet(&rs));
		}
		if (j->short_read || is_broken(g) || fx_interrupted || ++tries > RESYNC_MAX)
			break;
		/* "Range: 0-0" means one byte or none: not trusted, the session starts over */
		if (session_offset(g, h, repo, &loc, &next) == 0 && next > 1 && next <= j->hashed) {
			if (next != have)
				fx_warn("%s: %s: resuming the upload of %s at byte %llu", g->spec, repo, b->digest,
				    (unsigned long long)next);
			have = next;
			continue;
		}
		/* the session is gone or refuses to go on: a new one, from the start */
		cancel_session(g, h, repo, loc);
		le.code = 0;
		le.msg[0] = '\0';
		if (start_session(g, h, repo, b->digest, &loc, &le) != FX_OK)
			break;
		fx_warn("%s: %s: upload session of %s lost, starting it again", g->spec, repo, b->digest);
		have = 0;
	}
	if (have < b->size) {
		rc = fe_set(e, fx_interrupted ? FX_IO : FX_TARGET, "%s", fx_interrupted ? "interrupted" :
		    j->short_read ? "the bundle ends inside the blob" : le.msg[0] ? le.msg : "upload failed");
		goto end;
	}
	if (!range_verdict(j))
		goto end; /* cancelled below */
	if ((rc = complete_upload(g, h, repo, b, &loc, b->size, &none, e)) == FX_OK)
		*ok = 1;
end:
	http_resp_free(&rs);
	if (loc != NULL)
		cancel_session(g, h, repo, loc); /* failed or unverified: the session goes */
	free(loc);
	if (j->verdict < 0)
		job_drain(g, j); /* the reader is still owed the verdict: hash the rest */
	return rc;
}

/* Streams a job's bytes into a new upload session in repo; *ok: the blob verified. */
static int upload(struct reg *g, struct http *h, struct job *j, const char *repo, int *ok, struct ferr *e)
{
	struct rblob *b = j->b;
	char *loc = NULL;
	uint64_t off = 0;
	int rc, fin = 0;
	struct chunk *c = NULL;

	if (j->ranged)
		return upload_ranged(g, h, j, repo, ok, e);
	*ok = 0;
	if ((rc = start_session(g, h, repo, b->digest, &loc, e)) != FX_OK)
		goto end;
	for (;;) {
		c = job_pop(g, j);
		if (c->final) {
			fin = 1;
			if (!c->ok)
				goto end; /* cancelled below */
			if ((rc = complete_upload(g, h, repo, b, &loc, off, c, e)) == FX_OK)
				*ok = 1;
			goto end;
		}
		if ((rc = send_chunk(g, h, repo, b, &loc, &off, c, e)) != FX_OK)
			goto end;
		chunk_free(c);
		c = NULL;
	}
end:
	if (!fin) { /* an error before the end: the rest of the bytes still has to go */
		chunk_free(c);
		c = NULL;
		job_drain(g, j);
	}
	chunk_free(c);
	if (loc != NULL)
		cancel_session(g, h, repo, loc); /* failed or unverified: the session goes */
	free(loc);
	return rc;
}

/* Mounts a blob from one repository into another: 0 ok, else e set. */
static int mount(struct reg *g, struct http *h, const char *digest, const char *to, const char *from, struct ferr *e)
{
	struct http_resp rs;
	char *url = xasprintf("%s/v2/%s/blobs/uploads/?mount=%s&from=%s", g->base, to, digest, from), *loc = NULL;
	int rc;

	if ((rc = rreq(g, h, to, "POST", url, NULL, NULL, 0, HTTP_ERRBODY_MAX, &rs, e)) != FX_OK)
		goto end;
	if (rs.status == 201)
		goto end;
	if (rs.status == 202 && rs.location != NULL && reg_resolve_location(g->base, rs.location, &loc) == 0)
		cancel_session(g, h, to, loc);
	rc = fe_set(e, FX_TARGET, "%s: %s: the registry did not mount %s from %s (HTTP %ld)", g->spec, to, digest, from,
	    rs.status);
end:
	http_resp_free(&rs);
	free(url);
	free(loc);
	return rc;
}

static void process(struct reg *g, struct http *h, struct job *j)
{
	struct rblob *b = j->b;
	struct ferr e = {0, ""};
	unsigned char *present = xcalloc(b->nrepos, 1);
	size_t i, npresent = 0;
	int src = -1, ok = 0, drained = 0;

	if (fx_interrupted) { /* no new upload starts after an interrupt */
		if (j->ranged)
			ranged_report(j, RANGED_BAD, "interrupted");
		else
			job_drain(g, j);
		set_state(g, b, B_FAILED, "interrupted");
		free(present);
		return;
	}

	for (i = 0; i < b->nrepos; i++) {
		/* what the pre-check found is not asked again (a blob that arrived since is
		 * at worst sent twice, and the registry keeps one copy) */
		int r = i + 1 < b->pre ? 1 : i + 1 == b->pre ? !b->pre_absent :
		    blob_present(g, h, b->repos[i], b->digest, &e);

		if (r < 0)
			goto fail;
		present[i] = (unsigned char)r;
		if (r) {
			npresent++;
			if (src < 0)
				src = (int)i;
		}
	}
	if (src < 0) {
		size_t up = 0;

		if (g->lo->dry_run) {
			ok = job_drain(g, j);
		} else if (upload(g, h, j, b->repos[up], &ok, &e) != FX_OK) {
			drained = 1;
			goto fail;
		}
		drained = 1;
		if (!ok)
			goto bad;
		count(g, &g->pushed, b->size);
		present[up] = 1;
		src = (int)up;
	} else {
		if (j->ranged) {
			/* the registry holds it by digest: no need to read it from the bundle */
			ranged_report(j, RANGED_UNREAD, NULL);
			ok = 1;
		} else {
			ok = job_drain(g, j);
		}
		drained = 1;
		if (!ok)
			goto bad;
		if (npresent == b->nrepos)
			count(g, &g->skipped, 0);
	}
	for (i = 0; i < b->nrepos; i++) {
		if (present[i])
			continue;
		if (!g->lo->dry_run && mount(g, h, b->digest, b->repos[i], b->repos[src], &e) != FX_OK)
			goto fail;
		count(g, &g->mounted, 0);
	}
	set_state(g, b, B_OK, NULL);
	goto end;
bad:
	set_state(g, b, B_BAD, "did not verify");
	goto end;
fail:
	if (!drained)
		ok = job_drain(g, j);
	set_state(g, b, B_FAILED, e.msg);
end:
	free(present);
}

struct wctx {
	struct reg *g;
	int idx;
};

static void *worker(void *arg)
{
	struct reg *g = ((struct wctx *)arg)->g;
	struct http *h = g->hc[((struct wctx *)arg)->idx];

	free(arg);
	for (;;) {
		struct job *j;

		pthread_mutex_lock(&g->mu);
		while (g->ph == NULL && !g->closing)
			pthread_cond_wait(&g->cv, &g->mu);
		if (g->ph == NULL) {
			pthread_mutex_unlock(&g->mu);
			break;
		}
		j = g->ph;
		g->ph = j->next;
		if (g->ph == NULL)
			g->pt = NULL;
		pthread_mutex_unlock(&g->mu);
		process(g, h, j);
		pthread_mutex_lock(&g->mu);
		g->outstanding--;
		pthread_cond_broadcast(&g->cv);
		pthread_mutex_unlock(&g->mu);
		if (j->ranged)
			sha256_free(&j->h); /* a no-op once sha256_final ran */
		free(j->cur);
		free(j);
	}
	return NULL;
}

static void stop_workers(struct reg *g)
{
	int i;

	if (g->cur != NULL) { /* the stream broke off in the middle of a blob */
		struct job *j = g->cur;
		unsigned char *p = j->cur;

		j->cur = NULL;
		g->cur = NULL;
		job_push(g, j, p, p ? j->curn : 0, 1, 0); /* the worker may free j from here on */
	}
	pthread_mutex_lock(&g->mu);
	g->closing = 1;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	for (i = 0; i < g->running; i++)
		pthread_join(g->th[i], NULL);
	g->running = 0;
}

/* ---- the sink callbacks (the reader's thread) */

struct pair {
	const char *digest;
	size_t img;
	int is_manifest;
};

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->digest, y->digest);

	if (c != 0)
		return c;
	return x->img < y->img ? -1 : x->img > y->img;
}

static void img_fail(struct rimg *im, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void img_fail(struct rimg *im, int code, const char *fmt, ...)
{
	va_list ap;

	if (im->failed)
		return;
	im->failed = code;
	va_start(ap, fmt);
	vsnprintf(im->why, sizeof(im->why), fmt, ap);
	va_end(ap);
}

static int build_plan(struct reg *g, const struct manifest *m)
{
	struct pair *pv = NULL;
	size_t np = 0, cap = 0, i, k;

	g->imgs = xcalloc(m->nimages ? m->nimages : 1, sizeof(*g->imgs));
	for (i = 0; i < m->nimages; i++) {
		const struct man_image *mi = &m->images[i];
		struct rimg *im;
		struct reg_ref rr;
		int n;

		if (!g->sel->selected[i])
			continue;
		im = &g->imgs[g->nimgs++];
		im->mi = mi;
		if (reg_parse_ref(mi->ref, &rr) != 0) {
			img_fail(im, FX_TARGET, "not a valid image reference");
			continue;
		}
		if (g->lo->keep_registry_host) {
			char h[256];

			/* the port cannot be part of a repository name */
			fx_strlcpy(h, rr.host, sizeof(h));
			h[strcspn(h, ":")] = '\0';
			for (k = 0; h[k]; k++)
				h[k] = (char)tolower((unsigned char)h[k]);
			n = snprintf(im->repo, sizeof(im->repo), "%s%s%s/%s", g->tg.prefix, g->tg.prefix[0] ? "/" : "", h,
			    rr.path);
		} else {
			n = snprintf(im->repo, sizeof(im->repo), "%s%s%s", g->tg.prefix, g->tg.prefix[0] ? "/" : "", rr.path);
		}
		if (n < 0 || (size_t)n >= sizeof(im->repo) || !reg_valid_repo(im->repo)) {
			img_fail(im, FX_TARGET, "repository name %s is not valid here", esc(im->repo));
			continue;
		}
		if (!reg_valid_digest(mi->digest) || mi->nmanifests == 0 ||
		    strcmp(mi->manifests[mi->nmanifests - 1], mi->digest) != 0) {
			img_fail(im, FX_VERIFY, "bundle.yaml does not list its manifest");
			continue;
		}
		fx_strlcpy(im->ref, rr.tag[0] ? rr.tag : mi->digest, sizeof(im->ref));
		for (k = 0; k < mi->nblobs + mi->nmanifests; k++) {
			const char *d = k < mi->nblobs ? mi->blobs[k] : mi->manifests[k - mi->nblobs];

			if (!reg_valid_digest(d)) {
				img_fail(im, FX_VERIFY, "bundle.yaml lists a bad digest %s", esc(d));
				break;
			}
			if (np == cap) {
				cap = cap ? cap * 2 : 64;
				pv = xreallocarray(pv, cap, sizeof(*pv));
			}
			pv[np].digest = d;
			pv[np].img = g->nimgs - 1;
			pv[np].is_manifest = k >= mi->nblobs;
			np++;
		}
	}
	if (np > 0)
		qsort(pv, np, sizeof(*pv), pair_cmp);
	g->blobs = xcalloc(np ? np : 1, sizeof(*g->blobs));
	for (i = 0; i < np;) {
		struct rblob *b = &g->blobs[g->nblobs++];
		size_t j, r;

		fx_strlcpy(b->digest, pv[i].digest, sizeof(b->digest));
		for (j = i; j < np && strcmp(pv[j].digest, pv[i].digest) == 0; j++) {
			struct rimg *im = &g->imgs[pv[j].img];

			b->is_manifest |= pv[j].is_manifest;
			if (b->nimgs > 0 && b->imgs[b->nimgs - 1] == pv[j].img)
				continue; /* listed twice by one image (blobs and manifests) */
			b->imgs = xreallocarray(b->imgs, b->nimgs + 1, sizeof(*b->imgs));
			b->imgs[b->nimgs++] = pv[j].img;
			for (r = 0; r < b->nrepos; r++)
				if (strcmp(b->repos[r], im->repo) == 0)
					break;
			if (r == b->nrepos && !im->failed) {
				b->repos = xreallocarray(b->repos, b->nrepos + 1, sizeof(*b->repos));
				b->repos[b->nrepos++] = xstrdup(im->repo);
			}
		}
		i = j;
	}
	free(pv);
	return FX_OK;
}

/* Before the stream starts: which layers and configs does every repository that needs
 * them hold already? Those need not be read from the bundle at all (a registry keeps
 * blobs by digest), which makes a load into a registry that has it all a matter of
 * the head and a few HEAD requests. An error here only means "not known": the blob
 * then goes the normal way. */
struct fp_ctx {
	struct reg *g;
	struct http *h;
	size_t first, step;
};

static void *find_present_part(void *arg)
{
	struct fp_ctx *c = arg;
	struct reg *g = c->g;
	size_t i, k;

	for (i = c->first; i < g->nblobs; i += c->step) {
		struct rblob *b = &g->blobs[i];
		struct ferr e = {0, ""};

		if (b->nrepos == 0 || b->is_manifest)
			continue;
		for (k = 0; k < b->nrepos && !b->pre_absent; k++) {
			int r = blob_present(g, c->h, b->repos[k], b->digest, &e);
			if (r < 0)
				break; /* not known: the worker asks again */
			b->pre = k + 1;
			b->pre_absent = r == 0;
		}
		b->present = b->pre == b->nrepos && !b->pre_absent;
	}
	return NULL;
}

/* The blobs are split over the upload threads' connections (not started yet), so the
 * requests overlap. */
static void find_present(struct reg *g)
{
	struct fp_ctx c[JOBS_MAX];
	pthread_t th[JOBS_MAX];
	int started[JOBS_MAX];
	size_t n = (size_t)g->nth, i;

	if (n > g->nblobs)
		n = g->nblobs;
	for (i = 0; i < n; i++) {
		c[i].g = g;
		c[i].h = g->hc[i];
		c[i].first = i;
		c[i].step = n;
		started[i] = i > 0 && pthread_create(&th[i], NULL, find_present_part, &c[i]) == 0;
	}
	for (i = 0; i < n; i++)
		if (i == 0 || !started[i])
			find_present_part(&c[i]); /* the first part here, and any whose thread did not start */
	for (i = 1; i < n; i++)
		if (started[i])
			pthread_join(th[i], NULL);
}

static int reg_head(void *ctx, const struct bundle_head *hd, struct ferr *e)
{
	struct reg *g = ctx;
	struct http_resp rs;
	struct http_req rq;
	struct ferr pe = {0, ""};
	char *url;
	int i;

	(void)e;
	g->headed = 1;
	clock_gettime(CLOCK_MONOTONIC, &g->t0);
	build_plan(g, &hd->man);
	/* is it there, and is it a registry? */
	url = xasprintf("%s/v2/", g->base);
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.url = url;
	rq.max_body = HTTP_ERRBODY_MAX;
	if (http_do(g->mh, &rq, &rs, &pe) != FX_OK) {
		g->dead = 1;
		fx_strlcpy(g->dead_why, pe.msg, sizeof(g->dead_why));
	} else if (rs.status != 200 && rs.status != 401) {
		g->dead = 1;
		snprintf(g->dead_why, sizeof(g->dead_why), "GET %s: HTTP %ld (not an OCI registry?)", esc(url), rs.status);
	}
	http_resp_free(&rs);
	free(url);
	if (g->dead)
		return FX_OK; /* keep reading: the bundle is still verified; report() fails */
	find_present(g);
	for (i = 0; i < g->nth; i++) {
		struct wctx *w = xmalloc(sizeof(*w));

		w->g = g;
		w->idx = i;
		if (pthread_create(&g->th[i], NULL, worker, w) != 0) {
			free(w);
			break;
		}
		g->running++;
	}
	if (g->running == 0) {
		g->dead = 1;
		snprintf(g->dead_why, sizeof(g->dead_why), "cannot start upload threads");
	}
	return FX_OK;
}

static int reg_begin(void *ctx, const char *name, uint64_t size, const struct entry_loc *loc, int *want,
    struct ferr *e)
{
	struct reg *g = ctx;
	struct rblob *b;
	struct job *j;
	char d[80];
	int ranged;

	(void)e;
	*want = 0;
	if (g->dead || strncmp(name, "images/blobs/sha256/", 20) != 0)
		return FX_OK;
	if (snprintf(d, sizeof(d), "sha256:%s", name + 20) >= (int)sizeof(d) || (b = find_blob(g, d)) == NULL)
		return FX_OK;
	if (b->state != B_PENDING || b->nrepos == 0)
		return FX_OK;
	if (b->present) {
		set_state(g, b, B_OK, NULL);
		count(g, &g->skipped, 0);
		*want = SINK_PRESENT;
		return FX_OK;
	}
	b->size = size;
	if (b->is_manifest) {
		g->curman = b;
		b->len = 0;
		b->too_big = size > MANIFEST_MAX;
		if (!b->too_big)
			b->buf = xmalloc(size ? size : 1);
		*want = !b->too_big;
		return FX_OK;
	}
	j = xcalloc(1, sizeof(*j));
	j->b = b;
	j->left = size;
	/* A blob the bundle offers by position is read by the worker itself, so several
	 * blobs stream into the registry at once. */
	ranged = loc != NULL;
	if (ranged) {
		j->ranged = 1;
		j->fd = loc->fd;
		j->off = loc->off;
		memcpy(j->want, loc->digest, SHA256_LEN);
		j->rg = loc->rg;
		j->verdict = -1;
		sha256_init(&j->h);
	}
	pthread_mutex_lock(&g->mu);
	while (g->outstanding >= (size_t)g->running + 1)
		pthread_cond_wait(&g->cv, &g->mu);
	g->outstanding++;
	if (g->pt != NULL)
		g->pt->next = j;
	else
		g->ph = j;
	g->pt = j;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	if (ranged) { /* the worker may free j from here on */
		*want = SINK_RANGED;
		return FX_OK;
	}
	g->cur = j;
	*want = !g->lo->dry_run; /* a dry run only needs to know whether it verified */
	return FX_OK;
}

static int reg_data(void *ctx, const void *buf, size_t n, struct ferr *e)
{
	struct reg *g = ctx;
	const unsigned char *p = buf;

	(void)e;
	if (g->curman != NULL) {
		struct rblob *b = g->curman;

		if (b->too_big || n > b->size - b->len) {
			b->too_big = 1;
			return FX_OK;
		}
		memcpy(b->buf + b->len, p, n);
		b->len += n;
		return FX_OK;
	}
	if (g->cur == NULL)
		return FX_OK;
	while (n > 0) {
		struct job *j = g->cur;
		size_t take;

		if (j->cur == NULL) {
			j->curcap = j->left < CHUNK ? (size_t)j->left : CHUNK;
			if (j->curcap == 0)
				j->curcap = n < CHUNK ? n : CHUNK; /* more than announced: the hash will fail */
			j->cur = xmalloc(j->curcap);
			j->curn = 0;
		}
		take = j->curcap - j->curn < n ? j->curcap - j->curn : n;
		memcpy(j->cur + j->curn, p, take);
		j->curn += take;
		j->left = j->left > take ? j->left - take : 0;
		p += take;
		n -= take;
		if (j->curn == j->curcap && j->left > 0) {
			job_push(g, j, j->cur, j->curn, 0, 0);
			j->cur = NULL;
		}
	}
	return FX_OK;
}

static int reg_end(void *ctx, const char *name, int ok, struct ferr *e)
{
	struct reg *g = ctx;

	(void)name;
	(void)e;
	if (g->curman != NULL) {
		struct rblob *b = g->curman;

		g->curman = NULL;
		if (b->too_big)
			set_state(g, b, B_BAD, "manifest larger than 4 MiB");
		else if (!ok || b->len != b->size)
			set_state(g, b, B_BAD, "did not verify");
		else
			set_state(g, b, B_OK, NULL);
		return FX_OK;
	}
	if (g->cur != NULL) {
		struct job *j = g->cur;
		unsigned char *p = j->cur;

		g->cur = NULL;
		j->cur = NULL;
		job_push(g, j, p, p ? j->curn : 0, 1, ok); /* the worker may free j from here on */
	}
	return FX_OK;
}

/* The media type of a manifest for its Content-Type: its own mediaType field, else
 * what its shape says. Only a plain token is accepted (it goes into a header). */
static char *manifest_media_type(const unsigned char *buf, size_t len)
{
	json_t *root = json_loadb((const char *)buf, len, 0, NULL);
	const char *mt = NULL;
	char *out;
	size_t i;

	if (root != NULL && json_is_object(root)) {
		mt = json_string_value(json_object_get(root, "mediaType"));
		if (mt == NULL)
			mt = json_object_get(root, "manifests") ? "application/vnd.oci.image.index.v1+json" :
			    "application/vnd.oci.image.manifest.v1+json";
	}
	if (mt == NULL || *mt == '\0' || strlen(mt) > 255) {
		json_decref(root);
		return NULL;
	}
	for (i = 0; mt[i]; i++)
		if (!(isalnum((unsigned char)mt[i]) || strchr("./+-_", mt[i]) != NULL)) {
			json_decref(root);
			return NULL;
		}
	out = xstrdup(mt);
	json_decref(root);
	return out;
}

static int valid_media_type(const char *mt)
{
	size_t i;

	if (mt == NULL || *mt == '\0' || strlen(mt) > 255)
		return 0;
	for (i = 0; mt[i]; i++)
		if (!(isalnum((unsigned char)mt[i]) || strchr("./+-_", mt[i]) != NULL))
			return 0;
	return 1;
}

static void push_image(struct reg *g, struct rimg *im)
{
	const struct man_image *mi = im->mi;
	struct ferr e = {0, ""};
	size_t k;

	for (k = 0; k < mi->nblobs + mi->nmanifests; k++) {
		const char *d = k < mi->nblobs ? mi->blobs[k] : mi->manifests[k - mi->nblobs];
		struct rblob *b = find_blob(g, d);

		if (b == NULL)
			continue;
		if (b->state == B_PENDING) {
			img_fail(im, FX_VERIFY, "%s is missing from the bundle", d);
			return;
		}
		if (b->state == B_BAD) {
			img_fail(im, FX_VERIFY, "%s %s", d, b->why);
			return;
		}
		if (b->state == B_FAILED) {
			img_fail(im, FX_TARGET, "%s", b->why);
			return;
		}
	}
	for (k = 0; k < mi->nmanifests; k++) {
		struct rblob *b = find_blob(g, mi->manifests[k]);
		int top = k + 1 == mi->nmanifests;
		char *mt = NULL, *url = NULL, *ct = NULL;
		const char *hd[2] = {NULL, NULL};
		struct http_resp rs;
		int rc;

		memset(&rs, 0, sizeof(rs));
		if (top && valid_media_type(mi->media_type))
			mt = xstrdup(mi->media_type);
		else
			mt = manifest_media_type(b->buf, b->len);
		if (mt == NULL) {
			img_fail(im, FX_VERIFY, "manifest %s has no usable media type", b->digest);
			return;
		}
		/* Already there: a child by its digest; the image's own manifest when its tag
		 * already names this digest (a load done before). */
		url = xasprintf("%s/v2/%s/manifests/%s", g->base, im->repo, top ? im->ref : b->digest);
		ct = xasprintf("Accept: %s", mt);
		hd[0] = ct;
		if (rreq(g, g->mh, im->repo, "HEAD", url, hd, NULL, 0, 0, &rs, &e) == FX_OK && rs.status == 200 &&
		    (!top || (rs.digest != NULL && strcmp(rs.digest, b->digest) == 0))) {
			if (top)
				g->manifests_there++;
			goto next;
		}
		http_resp_free(&rs);
		free(url);
		free(ct);
		url = ct = NULL;
		e.code = 0;
		e.msg[0] = '\0';
		if (g->lo->dry_run) {
			g->manifests++;
			goto next;
		}
		url = xasprintf("%s/v2/%s/manifests/%s", g->base, im->repo, top ? im->ref : b->digest);
		e.code = 0;
		e.msg[0] = '\0';
		ct = xasprintf("Content-Type: %s", mt);
		hd[0] = ct;
		rc = rreq(g, g->mh, im->repo, "PUT", url, hd, b->buf, b->len, HTTP_ERRBODY_MAX, &rs, &e);
		if (rc != FX_OK) {
			img_fail(im, FX_TARGET, "%s", e.msg);
		} else if (rs.status != 201 && rs.status != 200) {
			img_fail(im, FX_TARGET, "%s: PUT manifest %s: HTTP %ld %s", g->spec, b->digest, rs.status,
			    http_body_snippet(&rs));
		} else if (rs.digest != NULL && strcmp(rs.digest, b->digest) != 0) {
			img_fail(im, FX_TARGET, "%s: registry stored manifest %s as %s", g->spec, b->digest, esc(rs.digest));
		} else {
			g->manifests++;
		}
next:
		http_resp_free(&rs);
		free(url);
		free(ct);
		free(mt);
		if (im->failed)
			return;
	}
	g->loaded++;
}

/* Every blob is uploaded (or failed) when this returns: the reader may then close the
 * bundle that ranged jobs read from. */
static void reg_drain(void *ctx)
{
	stop_workers(ctx);
}

static int reg_finish(void *ctx, int all_ok, struct ferr *e)
{
	struct reg *g = ctx;
	size_t i;

	(void)all_ok;
	(void)e;
	if (g->dead)
		return FX_OK;
	stop_workers(g);
	for (i = 0; i < g->nimgs; i++) {
		if (g->imgs[i].failed)
			continue;
		if (fx_interrupted) {
			img_fail(&g->imgs[i], FX_IO, "interrupted");
			continue;
		}
		push_image(g, &g->imgs[i]);
	}
	return FX_OK;
}

static int reg_report(void *ctx, int finished, struct ferr *e)
{
	struct reg *g = ctx;
	size_t i, nfail = 0, ntarget = 0;
	char b1[32];

	if (!g->headed)
		return FX_OK;
	if (g->dead)
		fx_warn("%s: %s", g->spec, g->dead_why);
	for (i = 0; i < g->nimgs; i++) {
		struct rimg *im = &g->imgs[i];

		if (g->dead)
			img_fail(im, FX_TARGET, "registry unreachable");
		else if (!finished)
			img_fail(im, FX_IO, "the bundle was not read to the end");
		if (!im->failed)
			continue;
		nfail++;
		if (im->failed == FX_TARGET)
			ntarget++;
		fx_warn("%s: %s: not loaded: %s", g->spec, esc(im->mi->ref), im->why);
	}
	fmt_bytes(g->lo->dry_run ? g->bytes_push : g->bytes_sent, b1, sizeof(b1));
	if (g->lo->dry_run)
		fprintf(stderr,
		    "%s: %s: dry run: %zu images would be loaded, %zu would fail; blobs: %zu to push, %zu present, %zu to mount "
		    "(%s); %zu manifests to push\n",
		    fx_progname, g->spec, g->nimgs - nfail, nfail, g->pushed, g->skipped, g->mounted, b1, g->manifests);
	else
		fprintf(stderr,
		    "%s: %s: %zu images loaded, %zu failed; blobs: %zu pushed, %zu skipped, %zu mounted (%s sent); "
		    "%zu manifests pushed, %zu images already tagged; %.1f s\n",
		    fx_progname, g->spec, g->loaded, nfail, g->pushed, g->skipped, g->mounted, b1, g->manifests,
		    g->manifests_there, since(&g->t0));
	if (ntarget > 0 || g->dead)
		return fe_set(e, FX_TARGET, "%s: %zu of %zu images not loaded", g->spec, ntarget ? ntarget : nfail,
		    g->nimgs);
	return FX_OK;
}

static void reg_free(void *ctx)
{
	struct reg *g = ctx;
	size_t i, k;

	if (g == NULL)
		return;
	if (g->running > 0)
		stop_workers(g);
	for (i = 0; i < JOBS_MAX; i++)
		http_free(g->hc[i]);
	http_free(g->mh);
	for (i = 0; i < g->nblobs; i++) {
		for (k = 0; k < g->blobs[i].nrepos; k++)
			free(g->blobs[i].repos[k]);
		free(g->blobs[i].repos);
		free(g->blobs[i].imgs);
		free(g->blobs[i].buf);
	}
	free(g->blobs);
	free(g->imgs);
	for (i = 0; i < g->ntoks; i++) {
		free(g->toks[i].repo);
		free_secret(g->toks[i].hdr);
	}
	free(g->toks);
	free_secret(g->basic);
	free_secret(g->user);
	free_secret(g->pass);
	pthread_mutex_destroy(&g->mu);
	pthread_mutex_destroy(&g->amu);
	http_budget_destroy(&g->budget);
	pthread_cond_destroy(&g->cv);
	free(g);
}

int registry_target_open(const char *spec, const struct load_opts *lo, const struct load_sel *sel,
    struct load_target *t, struct ferr *e)
{
	struct reg *g;
	int i;

	g = xcalloc(1, sizeof(*g));
	pthread_mutex_init(&g->mu, NULL);
	pthread_mutex_init(&g->amu, NULL);
	pthread_cond_init(&g->cv, NULL);
	fx_strlcpy(g->spec, spec, sizeof(g->spec));
	if (reg_parse_target(spec, &g->tg) != 0) {
		reg_free(g);
		return fe_set(e, FX_USAGE, "--to %s: expected registry://HOST[:PORT][/PREFIX]", esc(spec));
	}
	snprintf(g->base, sizeof(g->base), "%s://%s", lo->plain_http ? "http" : "https", g->tg.hostport);
	g->lo = lo;
	g->sel = sel;
	g->ho.cacert = lo->cacert;
	http_budget_init(&g->budget, RETRY_BUDGET_MS);
	g->ho.budget = &g->budget;
	if (lo->creds != NULL) {
		if (set_userpass(g, lo->creds, strlen(lo->creds)) != 0) {
			reg_free(g);
			return fe_set(e, FX_USAGE, "--creds: expected USER:PASS");
		}
	} else {
		load_docker_config(g);
	}
	g->nth = lo->jobs > 0 ? lo->jobs : 4;
	if (g->nth > JOBS_MAX)
		g->nth = JOBS_MAX;
	http_global_init();
	g->mh = http_new(&g->ho);
	for (i = 0; i < g->nth; i++)
		g->hc[i] = http_new(&g->ho);
	memset(t, 0, sizeof(*t));
	t->spec = spec;
	t->sink.ctx = g;
	t->sink.head = reg_head;
	t->sink.begin = reg_begin;
	t->sink.drain = reg_drain;
	t->sink.data = reg_data;
	t->sink.end = reg_end;
	t->sink.finish = reg_finish;
	t->report = reg_report;
	t->free = reg_free;
	return FX_OK;
}
