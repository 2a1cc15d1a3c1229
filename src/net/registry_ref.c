/* registry_ref.c - parsers of what names a registry and of what a registry sends back:
 * targets, image references, WWW-Authenticate, token replies, Location and Range headers
 * (untrusted: unit-tested and fuzzed). */
#include "net/registry.h"

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

#include <jansson.h>

#include "util/digest.h"

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
		if (!digest_valid(at + 1))
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

int reg_dest_repo(const struct reg_target *t, const struct reg_ref *r, int keep_host, char *repo,
    size_t size)
{
	char host[256];
	size_t k;
	int n;

	if (keep_host) {
		/* the port cannot be part of a repository name */
		fx_strlcpy(host, r->host, sizeof(host));
		host[strcspn(host, ":")] = '\0';
		for (k = 0; host[k]; k++)
			host[k] = (char)tolower((unsigned char)host[k]);
		n = snprintf(repo, size, "%s%s%s/%s", t->prefix, t->prefix[0] ? "/" : "", host, r->path);
	} else {
		n = snprintf(repo, size, "%s%s%s", t->prefix, t->prefix[0] ? "/" : "", r->path);
	}
	if (n < 0 || (size_t)n >= size || !reg_valid_repo(repo))
		return -1;
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

