/* ref.c - the image reference parser (see ref.h for the rule). */
#include "net/ref.h"

#include <string.h>

#include "util/digest.h"

#define REF_INPUT_MAX 1024

static int lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int any_alnum(char c)
{
	return lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* One PATH part: [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.] | __ | -+ */
static int path_part_ok(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t run = i;

		while (i < n && lower_alnum(s[i]))
			i++;
		if (i == run)
			return 0;
		if (i == n)
			return 1;
		if (s[i] == '.')
			i++;
		else if (s[i] == '_')
			i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
		else if (s[i] == '-')
			while (i < n && s[i] == '-')
				i++;
		else
			return 0;
		if (i == n)
			return 0;
	}
	return 0;
}

int ref_valid_repo(const char *path)
{
	const char *part = path;

	if (path == NULL || *path == '\0' || strlen(path) > REF_NAME_MAX)
		return 0;
	for (;;) {
		const char *slash = strchr(part, '/');
		size_t n = slash != NULL ? (size_t)(slash - part) : strlen(part);

		if (!path_part_ok(part, n))
			return 0;
		if (slash == NULL)
			return 1;
		part = slash + 1;
	}
}

/* ":PORT" (s points at the colon), 1 to 65535. */
static int port_ok(const char *s, size_t n)
{
	unsigned long port = 0;
	size_t i;

	if (n < 2 || n > 6 || s[0] != ':')
		return 0;
	for (i = 1; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		port = port * 10 + (unsigned long)(s[i] - '0');
	}
	return port >= 1 && port <= 65535;
}

int ref_valid_host(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0)
		return 0;
	if (s[0] == '[') {
		for (i = 1; i < n && s[i] != ']'; i++)
			if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F') ||
			    s[i] == ':'))
				return 0;
		if (i >= n || i == 1)
			return 0;
		i++;
	} else {
		for (;;) {
			size_t label = i;

			while (i < n && (any_alnum(s[i]) || s[i] == '-'))
				i++;
			if (i == label || s[label] == '-' || s[i - 1] == '-')
				return 0;
			if (i < n && s[i] == '.') {
				i++;
				continue;
			}
			break;
		}
	}
	return i == n || port_ok(s + i, n - i);
}

/* Does the first part of a name (before its first '/') name a registry host? */
static int names_host(const char *s, size_t n)
{
	size_t i;

	if (memchr(s, '.', n) != NULL || memchr(s, ':', n) != NULL || (n > 0 && s[0] == '['))
		return 1;
	if (n == 9 && strncmp(s, "localhost", 9) == 0)
		return 1;
	for (i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			return 1;
	return 0;
}

static int tag_ok(const char *t)
{
	size_t n = strlen(t), i;

	if (n == 0 || n > REF_TAG_MAX || !(any_alnum(t[0]) || t[0] == '_'))
		return 0;
	for (i = 1; i < n; i++)
		if (!(any_alnum(t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
			return 0;
	return 1;
}

/* Splits name (tag and digest already cut off) into domain and repo. */
static int split_name(const char *s, const char *name, struct image_ref *r, struct ferr *e)
{
	const char *slash = strchr(name, '/'), *path = name;
	size_t hl;
	int n;

	if (slash != NULL && names_host(name, (size_t)(slash - name))) {
		hl = (size_t)(slash - name);
		if (!ref_valid_host(name, hl) || hl >= sizeof(r->domain))
			return fe_set(e, FX_USAGE, "image reference %s: invalid registry host", ESC(s));
		memcpy(r->domain, name, hl);
		r->domain[hl] = '\0';
		path = slash + 1;
		if (strcmp(r->domain, "index.docker.io") == 0) /* Docker's old name for its hub */
			fx_strlcpy(r->domain, "docker.io", sizeof(r->domain));
	} else {
		fx_strlcpy(r->domain, "docker.io", sizeof(r->domain));
	}
	/* docker.io keeps official images under library/ */
	if (strcmp(r->domain, "docker.io") == 0 && strchr(path, '/') == NULL)
		n = snprintf(r->repo, sizeof(r->repo), "library/%s", path);
	else
		n = snprintf(r->repo, sizeof(r->repo), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(r->repo) || strlen(r->domain) + 1 + (size_t)n > REF_NAME_MAX)
		return fe_set(e, FX_USAGE, "image reference %s: name longer than %d", ESC(s), REF_NAME_MAX);
	if (!ref_valid_repo(r->repo))
		return fe_set(e, FX_USAGE, "image reference %s: invalid repository name "
		    "(lower-case letters, digits, '.', '_', '-' between '/')", ESC(s));
	return FX_OK;
}

static int parse(const char *s, int need_tag, struct image_ref *r, struct ferr *e)
{
	char name[REF_INPUT_MAX + 1];
	char *at, *slash, *colon;
	int rc = FX_OK;

	memset(r, 0, sizeof(*r));
	if (s == NULL || *s == '\0' || strlen(s) > REF_INPUT_MAX)
		return fe_set(e, FX_USAGE, "image reference %s: empty or too long", ESC(s ? s : ""));
	fx_strlcpy(name, s, sizeof(name));
	if ((at = strchr(name, '@')) != NULL) {
		*at++ = '\0';
		if (!digest_valid(at)) {
			rc = fe_set(e, FX_USAGE, "image reference %s: digest is not sha256:<64 hex>", ESC(s));
			goto end;
		}
		fx_strlcpy(r->digest, at, sizeof(r->digest));
	}
	slash = strrchr(name, '/');
	colon = strrchr(name, ':');
	if (colon != NULL && (slash == NULL || colon > slash)) {
		*colon++ = '\0';
		if (!tag_ok(colon)) {
			rc = fe_set(e, FX_USAGE, "image reference %s: invalid tag", ESC(s));
			goto end;
		}
		fx_strlcpy(r->tag, colon, sizeof(r->tag));
	}
	if (need_tag && r->tag[0] == '\0' && r->digest[0] == '\0') {
		rc = fe_set(e, FX_USAGE, "image reference %s: needs a :tag or an @sha256: digest", ESC(s));
		goto end;
	}
	rc = split_name(s, name, r, e);
end:
	if (rc != FX_OK)
		memset(r, 0, sizeof(*r));
	return rc;
}

int ref_parse(const char *s, struct image_ref *r, struct ferr *e)
{
	return parse(s, 1, r, e);
}

int ref_parse_untagged(const char *s, struct image_ref *r, struct ferr *e)
{
	return parse(s, 0, r, e);
}
