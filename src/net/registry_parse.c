/* registry_parse.c - parsers of what names a registry and of what a registry sends
 * back: targets, WWW-Authenticate, token replies, Location and Range headers
 * (untrusted: unit-tested and fuzzed). */
#include "net/registry.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "net/ref.h"

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
	if (!ref_valid_host(s, n))
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
	return 0;
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
		if (pl > 0 && !ref_valid_repo(t->prefix))
			return -1;
	}
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


/* "http" or "https" and the length of "scheme://" of u, 0 when neither. */
static size_t scheme_len(const char *u)
{
	if (strncasecmp(u, "http://", 7) == 0)
		return 7;
	if (strncasecmp(u, "https://", 8) == 0)
		return 8;
	return 0;
}

/* A URL we can follow: http(s), a plain non-empty authority (no user info), visible
 * ASCII only. */
static int url_ok(const char *u)
{
	size_t sl = scheme_len(u), al, i;

	if (sl == 0)
		return 0;
	al = strcspn(u + sl, "/?#");
	if (al == 0 || memchr(u + sl, '@', al) != NULL || memchr(u + sl, '\\', al) != NULL)
		return 0;
	for (i = 0; u[i]; i++)
		if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f)
			return 0;
	return 1;
}

int reg_resolve_redirect(const char *from, const char *loc, char **out)
{
	size_t fl, n;
	char *u = NULL;

	*out = NULL;
	if (from == NULL || loc == NULL || !url_ok(from))
		return -1;
	n = strlen(loc);
	if (n == 0 || n > 8192)
		return -1;
	fl = origin_len(from);
	if (loc[0] == '/' && loc[1] == '/')
		u = xasprintf("%.*s%s", (int)(scheme_len(from) - 2), from, loc); /* "https:" + "//host/..." */
	else if (loc[0] == '/')
		u = xasprintf("%.*s%s", (int)fl, from, loc);
	else if (scheme_len(loc) > 0)
		u = xstrdup(loc);
	if (u == NULL || !url_ok(u) || (scheme_len(from) == 8 && scheme_len(u) == 7)) {
		free(u);
		return -1;
	}
	for (n = 0; n < scheme_len(u); n++) /* "HTTPS://" is https: written the one way */
		u[n] = (char)tolower((unsigned char)u[n]);
	*out = u;
	return 0;
}

int reg_same_origin(const char *a, const char *b)
{
	size_t la = origin_len(a), lb = origin_len(b);

	return la > 0 && la == lb && strncasecmp(a, b, la) == 0;
}

int reg_host_is_loopback(const char *host)
{
	unsigned char addr[16];
	char v6[64];
	size_t n = host != NULL ? strlen(host) : 0;

	if (n == 0)
		return 0;
	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, addr) == 1)
		return addr[0] == 127;
	if (host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(v6)) {
		memcpy(v6, host + 1, n - 2);
		v6[n - 2] = '\0';
		return inet_pton(AF_INET6, v6, addr) == 1 && IN6_IS_ADDR_LOOPBACK((struct in6_addr *)addr);
	}
	return 0;
}

int reg_realm_allowed(const char *realm, int registry_plain_http, int registry_loopback)
{
	if (realm == NULL || !url_ok(realm))
		return 0;
	if (scheme_len(realm) == 8)
		return 1;
	return registry_plain_http && registry_loopback;
}

int reg_scope_grants_push(const char *scope)
{
	const char *p = scope;

	if (scope == NULL || *scope == '\0')
		return 1;
	while (*p != '\0') {
		size_t n = strcspn(p, " "), i, start;
		const char *colon = NULL;

		for (i = 0; i < n; i++)
			if (p[i] == ':')
				colon = p + i;
		/* the actions after the last ':', separated by ',' */
		for (start = colon != NULL ? (size_t)(colon - p) + 1 : n; start < n;) {
			size_t al = strcspn(p + start, ", ");

			if (al > n - start)
				al = n - start;
			if ((al == 4 && strncmp(p + start, "push", 4) == 0) || (al == 1 && p[start] == '*'))
				return 1;
			start += al + 1;
		}
		p += n;
		while (*p == ' ')
			p++;
	}
	return 0;
}

int reg_blob_answer(long status, const char *digest_header, int has_length, uint64_t length, const char *digest,
    uint64_t size)
{
	if (status == 200) {
		if (digest_header != NULL && strcmp(digest_header, digest) != 0)
			return 0;
		if (has_length && size != UINT64_MAX && length != size)
			return 0;
		return 1;
	}
	if (status >= 400 && status != 404)
		return -1;
	return 0;
}
