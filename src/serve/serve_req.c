/* serve_req.c - what a client sends to `ferry-load serve`: request paths, Range and
 * Accept headers, pagination. Untrusted input; unit-tested and fuzzed. */
#include "serve/serve_int.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "net/ref.h"
#include "net/registry.h"

static int ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* Copies the name (len bytes at s) and checks it against the distribution grammar
 * (lower-case components joined by separators: no "..", no empty or absolute path). */
static void set_name(struct serve_route *r, const char *s, size_t len)
{
	if (len == 0 || len >= sizeof(r->name))
		return;
	memcpy(r->name, s, len);
	r->name[len] = '\0';
	r->name_ok = ref_valid_repo(r->name);
}

static void set_ref(struct serve_route *r, const char *s)
{
	if (strlen(s) < sizeof(r->ref))
		fx_strlcpy(r->ref, s, sizeof(r->ref));
}

void serve_parse_route(const char *path, struct serve_route *r)
{
	const char *p, *slash;
	size_t n, head;

	memset(r, 0, sizeof(*r));
	r->kind = ROUTE_NONE;
	if (path == NULL || strncmp(path, "/v2", 3) != 0)
		return;
	p = path + 3;
	if (*p == '\0' || strcmp(p, "/") == 0) {
		r->kind = ROUTE_BASE;
		return;
	}
	if (*p != '/')
		return;
	p++;
	if (strcmp(p, "_catalog") == 0) {
		r->kind = ROUTE_CATALOG;
		return;
	}
	n = strlen(p);
	if (ends_with(p, n, "/tags/list")) {
		r->kind = ROUTE_TAGS;
		set_name(r, p, n - 10);
		return;
	}
	/* NAME/manifests/REF, NAME/blobs/DIGEST, NAME/blobs/uploads[/ID],
	 * NAME/referrers/DIGEST: a reference holds no "/", so the last one ends the rest
	 * (a name may itself hold "manifests") */
	slash = strrchr(p, '/');
	if (slash == NULL)
		return;
	head = (size_t)(slash - p);
	if (ends_with(p, head, "/blobs/uploads")) {
		r->kind = ROUTE_UPLOAD;
		set_name(r, p, head - 14);
	} else if (ends_with(p, head, "/blobs") && strcmp(slash + 1, "uploads") == 0) {
		r->kind = ROUTE_UPLOAD;
		set_name(r, p, head - 6);
	} else if (ends_with(p, head, "/manifests")) {
		r->kind = ROUTE_MANIFEST;
		set_name(r, p, head - 10);
		set_ref(r, slash + 1);
	} else if (ends_with(p, head, "/blobs")) {
		r->kind = ROUTE_BLOB;
		set_name(r, p, head - 6);
		set_ref(r, slash + 1);
	} else if (ends_with(p, head, "/referrers")) {
		r->kind = ROUTE_REFERRERS;
		set_name(r, p, head - 10);
		set_ref(r, slash + 1);
	}
}

enum serve_ref_kind serve_ref_kind(const char *ref)
{
	size_t i, n = strlen(ref);

	if (strchr(ref, ':') != NULL)
		return digest_valid(ref) ? REF_DIGEST : REF_BAD_DIGEST;
	/* [A-Za-z0-9_][A-Za-z0-9._-]{0,127} */
	if (n == 0 || n > 128 || !(isalnum((unsigned char)ref[0]) || ref[0] == '_'))
		return REF_BAD;
	for (i = 1; i < n; i++)
		if (!(isalnum((unsigned char)ref[i]) || ref[i] == '_' || ref[i] == '.' || ref[i] == '-'))
			return REF_BAD;
	return REF_TAG;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t serve_unescape(char *s)
{
	size_t r = 0, w = 0;

	while (s[r] != '\0') {
		int hi, lo;

		if (s[r] == '%' && (hi = hexval((unsigned char)s[r + 1])) >= 0 && (lo = hexval((unsigned char)s[r + 2])) >= 0 &&
		    (hi | lo) != 0) {
			s[w++] = (char)(hi * 16 + lo);
			r += 3;
		} else {
			s[w++] = s[r++];
		}
	}
	s[w] = '\0';
	return w;
}

/* Digits only, at most 19 of them (no overflow). Moves *p past them. */
static int take_u64(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9') {
		if (n == 19)
			return -1;
		v = v * 10 + (uint64_t)(s[n] - '0');
		n++;
	}
	if (n == 0)
		return -1;
	*p = s + n;
	*out = v;
	return 0;
}

int serve_parse_range(const char *v, uint64_t size, uint64_t *first, uint64_t *last)
{
	const char *p = v;
	uint64_t a, b;

	if (v == NULL || strncasecmp(p, "bytes", 5) != 0)
		return 0;
	p += 5;
	while (*p == ' ')
		p++;
	if (*p++ != '=')
		return 0;
	while (*p == ' ')
		p++;
	if (*p == '-') { /* the last b bytes */
		p++;
		if (take_u64(&p, &b) != 0)
			return 0;
		while (*p == ' ')
			p++;
		if (*p != '\0')
			return 0;
		if (b == 0 || size == 0)
			return -1;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return 1;
	}
	if (take_u64(&p, &a) != 0 || *p++ != '-')
		return 0;
	if (*p >= '0' && *p <= '9') {
		if (take_u64(&p, &b) != 0 || b < a)
			return 0;
	} else {
		b = UINT64_MAX;
	}
	while (*p == ' ')
		p++;
	if (*p != '\0') /* several ranges, or trailing junk: the whole blob */
		return 0;
	if (a >= size)
		return -1;
	*first = a;
	*last = b >= size ? size - 1 : b;
	return 1;
}

/* One item of an Accept list (s, n bytes: "type/sub;params"): does it take mt? */
static int item_accepts(const char *s, size_t n, const char *mt)
{
	const char *semi = memchr(s, ';', n), *slash;
	size_t tl, mtl = strlen(mt);

	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	tl = semi != NULL ? (size_t)(semi - s) : n;
	while (tl > 0 && (s[tl - 1] == ' ' || s[tl - 1] == '\t'))
		tl--;
	if (semi != NULL) {
		/* q=0 means "not acceptable" */
		const char *q = semi + 1, *end = s + n;

		while (q < end) {
			while (q < end && (*q == ' ' || *q == ';'))
				q++;
			if (end - q >= 3 && strncasecmp(q, "q=0", 3) == 0) {
				const char *d = q + 3;

				if (d < end && *d == '.')
					d++;
				while (d < end && *d == '0')
					d++;
				if (d == end || *d == ';' || *d == ' ')
					return 0;
			}
			while (q < end && *q != ';')
				q++;
		}
	}
	if (tl == 3 && memcmp(s, "*/*", 3) == 0)
		return 1;
	slash = strchr(mt, '/');
	if (slash != NULL && tl == (size_t)(slash - mt) + 2 && strncasecmp(s, mt, (size_t)(slash - mt) + 1) == 0 &&
	    s[tl - 1] == '*')
		return 1;
	return tl == mtl && strncasecmp(s, mt, mtl) == 0;
}

int serve_accepts(const char *const *accept, size_t naccept, const char *media_type)
{
	size_t i;

	for (i = 0; i < naccept; i++) {
		const char *s = accept[i];

		while (s != NULL && *s != '\0') {
			const char *comma = strchr(s, ',');
			size_t n = comma != NULL ? (size_t)(comma - s) : strlen(s);

			if (item_accepts(s, n, media_type))
				return 1;
			s = comma != NULL ? comma + 1 : NULL;
		}
	}
	return 0;
}

int serve_parse_n(const char *v, size_t max, size_t *n)
{
	uint64_t u;

	if (v == NULL || parse_u64(v, &u) != 0)
		return -1;
	*n = u > max ? max : (size_t)u;
	return 0;
}

static int mt_char(int c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$&^_.+-", c) != NULL);
}

int serve_media_type_valid(const char *mt)
{
	size_t i, slash = 0, n;

	if (mt == NULL || (n = strlen(mt)) == 0 || n > 255 || !isalnum((unsigned char)mt[0]))
		return 0;
	for (i = 0; i < n; i++) {
		if (mt[i] == '/') {
			if (slash != 0 || i + 1 == n || !isalnum((unsigned char)mt[i + 1]))
				return 0;
			slash = i;
		} else if (!mt_char((unsigned char)mt[i])) {
			return 0;
		}
	}
	return slash != 0;
}
