/* sums.c - SHA256SUMS parsing and formatting, and the rules for entry names. */
#include "bundle/sums.h"

#include <stdlib.h>
#include <string.h>



const char *entry_name_problem(const char *name)
{
	const char *p = name, *part = name;
	size_t n = strlen(name);

	if (n == 0)
		return "empty name";
	if (n > 1024)
		return "name longer than 1024 bytes";
	if (name[0] == '/')
		return "absolute path";
	for (;; p++) {
		if (*p == '/' || *p == '\0') {
			size_t l = (size_t)(p - part);
			if (l == 0)
				return "empty path component";
			if (l == 1 && part[0] == '.')
				return "'.' path component";
			if (l == 2 && part[0] == '.' && part[1] == '.')
				return "'..' path component";
			if (*p == '\0')
				break;
			part = p + 1;
		} else if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\') {
			return "control character or backslash in name";
		}
	}
	return NULL;
}

void sums_add(struct sums *s, const char *path, const unsigned char digest[SHA256_LEN])
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
	}
	s->v[s->n].path = xstrdup(path);
	memcpy(s->v[s->n].digest, digest, SHA256_LEN);
	s->v[s->n].seen = 0;
	s->n++;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct sum_line *)a)->path, ((const struct sum_line *)b)->path);
}

void sums_sort(struct sums *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), cmp_line);
}

struct sum_line *sums_find(const struct sums *s, const char *path)
{
	struct sum_line key;

	if (s->n == 0)
		return NULL;
	key.path = (char *)(uintptr_t)path;
	return bsearch(&key, s->v, s->n, sizeof(*s->v), cmp_line);
}

int sums_parse(const char *buf, size_t len, struct sums *out, struct ferr *e)
{
	size_t off = 0, lineno = 0;
	char *path = NULL;
	int rc = FX_OK;

	memset(out, 0, sizeof(*out));
	while (off < len) {
		const char *line = buf + off, *nl = memchr(line, '\n', len - off);
		size_t l, plen;
		unsigned char d[SHA256_LEN];
		const char *why;

		lineno++;
		if (nl == NULL) {
			rc = fe_set(e, FX_VERIFY, "SHA256SUMS: line %zu: no final newline", lineno);
			goto end;
		}
		l = (size_t)(nl - line);
		off += l + 1;
		if (l < 67 || line[64] != ' ' || line[65] != ' ' || hex_decode(line, 64, d) != 0) {
			rc = fe_set(e, FX_VERIFY, "SHA256SUMS: line %zu: not '<sha256>  <path>'", lineno);
			goto end;
		}
		plen = l - 66;
		if (memchr(line + 66, '\0', plen) != NULL) {
			rc = fe_set(e, FX_VERIFY, "SHA256SUMS: line %zu: NUL byte in path", lineno);
			goto end;
		}
		path = xmalloc(plen + 1);
		memcpy(path, line + 66, plen);
		path[plen] = '\0';
		if ((why = entry_name_problem(path)) != NULL) {
			rc = fe_set(e, FX_VERIFY, "SHA256SUMS: line %zu: %s: %s", lineno, ESC(path), why);
			goto end;
		}
		if (out->n > 0 && strcmp(out->v[out->n - 1].path, path) >= 0) {
			rc = fe_set(e, FX_VERIFY, "SHA256SUMS: line %zu: %s: %s", lineno, ESC(path),
			    strcmp(out->v[out->n - 1].path, path) == 0 ? "listed twice" : "not sorted");
			goto end;
		}
		sums_add(out, path, d);
		free(path);
		path = NULL;
	}
	if (out->n == 0)
		rc = fe_set(e, FX_VERIFY, "SHA256SUMS: empty");
end:
	free(path);
	if (rc != FX_OK)
		sums_free(out);
	return rc;
}

char *sums_format(const struct sums *s, size_t *len)
{
	size_t i, total = 0, o = 0;
	char *buf;

	for (i = 0; i < s->n; i++)
		total += 66 + strlen(s->v[i].path) + 1;
	buf = xmalloc(total + 1);
	for (i = 0; i < s->n; i++) {
		size_t pl = strlen(s->v[i].path);
		hex_encode(s->v[i].digest, SHA256_LEN, buf + o);
		buf[o + 64] = ' ';
		buf[o + 65] = ' ';
		memcpy(buf + o + 66, s->v[i].path, pl);
		buf[o + 66 + pl] = '\n';
		o += 66 + pl + 1;
	}
	buf[o] = '\0';
	*len = o;
	return buf;
}

void sums_free(struct sums *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i].path);
	free(s->v);
	memset(s, 0, sizeof(*s));
}
