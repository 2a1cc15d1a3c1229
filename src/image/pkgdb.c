/* pkgdb.c - parsers for the package databases found in image layers. dpkg's status
 * and DEP-5 copyright files are deb822 paragraphs ("Field: value", continuation lines
 * indented, paragraphs separated by blank lines); apk's database is "K:value" lines in
 * blank-line separated blocks; os-release is shell-like KEY=value. */
#include "image/pkgdb.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- deb822 paragraphs */

enum { D822_FIELD = 1, D822_PARA_END = 2, D822_EOF = 0, D822_BAD = -1 };

struct d822 {
	const char *p, *end;
	size_t line;
	int in_para;
	const char *name, *value; /* the field just read: its name and first-line value */
	size_t name_len, value_len;
};

static int is_blank_line(const char *s, const char *eol)
{
	for (; s < eol; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r')
			return 0;
	return 1;
}

/* The next field of the current paragraph (continuation lines are skipped: only first
 * lines are kept), a paragraph end, the end of the text, or a malformed line. */
static int d822_next(struct d822 *d)
{
	while (d->p < d->end) {
		const char *line = d->p, *eol = memchr(line, '\n', (size_t)(d->end - line)), *colon;

		if (eol == NULL)
			eol = d->end;
		d->p = eol < d->end ? eol + 1 : eol;
		d->line++;
		if (is_blank_line(line, eol)) {
			if (d->in_para) {
				d->in_para = 0;
				return D822_PARA_END;
			}
			continue;
		}
		if (*line == ' ' || *line == '\t') {
			if (!d->in_para)
				return D822_BAD; /* a continuation of nothing */
			continue;
		}
		if (*line == '#' && !d->in_para)
			continue; /* comments between paragraphs (deb822 allows them) */
		colon = memchr(line, ':', (size_t)(eol - line));
		if (colon == NULL || colon == line || memchr(line, ' ', (size_t)(colon - line)) != NULL)
			return D822_BAD;
		d->name = line;
		d->name_len = (size_t)(colon - line);
		d->value = colon + 1;
		while (d->value < eol && (*d->value == ' ' || *d->value == '\t'))
			d->value++;
		d->value_len = (size_t)(eol - d->value);
		while (d->value_len > 0 && (d->value[d->value_len - 1] == ' ' || d->value[d->value_len - 1] == '\t' ||
		    d->value[d->value_len - 1] == '\r'))
			d->value_len--;
		d->in_para = 1;
		return D822_FIELD;
	}
	if (d->in_para) {
		d->in_para = 0;
		return D822_PARA_END;
	}
	return D822_EOF;
}

static int field_is(const struct d822 *d, const char *name)
{
	return d->name_len == strlen(name) && strncasecmp(d->name, name, d->name_len) == 0;
}

/* ---- string sets */

void strv_free_n(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void strset_add(char ***v, size_t *count, const char *s, size_t n)
{
	size_t lo = 0, hi = *count;
	char *copy = xstrndup(s, n);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp((*v)[mid], copy);
		if (c == 0) {
			free(copy);
			return;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*v = xreallocarray(*v, *count + 1, sizeof(char *));
	memmove(*v + lo + 1, *v + lo, (*count - lo) * sizeof(char *));
	(*v)[lo] = copy;
	(*count)++;
}

/* ---- package lists */

struct pkg *pkg_list_add(struct pkg_list *l, enum pkg_kind kind)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	memset(&l->v[l->n], 0, sizeof(l->v[0]));
	l->v[l->n].kind = kind;
	return &l->v[l->n++];
}

void pkg_free(struct pkg *p)
{
	free(p->name);
	free(p->version);
	free(p->arch);
	free(p->source);
	free(p->source_version);
	free(p->epoch);
	strv_free_n(p->licenses, p->nlicenses);
	free(p->purl);
	memset(p, 0, sizeof(*p));
}

void pkg_list_free(struct pkg_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		pkg_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int strcmp_null(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "");
}

static int pkg_cmp(const void *x, const void *y)
{
	const struct pkg *a = x, *b = y;
	int c;

	if ((c = strcmp_null(a->name, b->name)) != 0 || (c = strcmp_null(a->version, b->version)) != 0 ||
	    (c = strcmp_null(a->arch, b->arch)) != 0)
		return c;
	return (int)a->kind - (int)b->kind;
}

void pkg_list_sort(struct pkg_list *l)
{
	size_t i, out = 0;

	if (l->n == 0)
		return;
	qsort(l->v, l->n, sizeof(*l->v), pkg_cmp);
	for (i = 0; i < l->n; i++) {
		if (out > 0 && pkg_cmp(&l->v[out - 1], &l->v[i]) == 0) {
			pkg_free(&l->v[i]); /* the same package from status and status.d */
			continue;
		}
		if (out != i)
			l->v[out] = l->v[i];
		out++;
	}
	l->n = out;
}

const char *pkg_kind_name(enum pkg_kind kind)
{
	switch (kind) {
	case PKG_DEB: return "deb";
	case PKG_APK: return "apk";
	case PKG_RPM: return "rpm";
	}
	return "unknown";
}

/* ---- dpkg */

/* What one status paragraph says. */
struct dpkg_para {
	struct d822 *d;
	char *package, *status, *version, *arch, *source;
};

static void take(char **dst, const struct d822 *d)
{
	free(*dst);
	*dst = xstrndup(d->value, d->value_len);
}

static void dpkg_para_clear(struct dpkg_para *p)
{
	free(p->package);
	free(p->status);
	free(p->version);
	free(p->arch);
	free(p->source);
	p->package = p->status = p->version = p->arch = p->source = NULL;
}

/* "install ok installed" or "hold ok installed": on disk and wanted there. */
static int dpkg_installed(const char *status)
{
	return strcmp(status, "install ok installed") == 0 || strcmp(status, "hold ok installed") == 0;
}

static int dpkg_para_end(struct dpkg_para *p, int status_d, const char *what, struct pkg_list *out,
    struct ferr *e)
{
	struct pkg *k;
	const char *paren;

	if (p->package == NULL && p->status == NULL && p->version == NULL)
		return FX_OK; /* a paragraph of other fields only: nothing to list */
	if (p->package == NULL || p->package[0] == '\0')
		return fe_set(e, FX_VERIFY, "%s: line %zu: a paragraph without a Package field", what, p->d->line);
	if (p->status == NULL ? !status_d : !dpkg_installed(p->status))
		return FX_OK;
	if (p->version == NULL || p->version[0] == '\0')
		return fe_set(e, FX_VERIFY, "%s: package %s: installed, but no Version", what, ESC(p->package));
	if (out->n >= PKGDB_MAX_PKGS)
		return fe_set(e, FX_VERIFY, "%s: more than %d packages", what, PKGDB_MAX_PKGS);
	k = pkg_list_add(out, PKG_DEB);
	k->name = p->package;
	k->version = p->version;
	k->arch = p->arch;
	p->package = p->version = p->arch = NULL;
	if (p->source != NULL && p->source[0] != '\0') {
		/* "Source: glibc (2.36-9)": the source package and, when it differs, its version */
		paren = strchr(p->source, ' ');
		if (paren == NULL) {
			k->source = p->source;
			p->source = NULL;
		} else {
			const char *v = strchr(paren, '(');
			const char *close = v != NULL ? strchr(v, ')') : NULL;
			k->source = xstrndup(p->source, (size_t)(paren - p->source));
			if (v != NULL && close != NULL && close > v + 1)
				k->source_version = xstrndup(v + 1, (size_t)(close - v - 1));
		}
	}
	return FX_OK;
}

int dpkg_status_parse(const char *buf, size_t len, int status_d, const char *what, struct pkg_list *out,
    struct ferr *e)
{
	struct d822 d;
	struct dpkg_para p;
	int r, rc = FX_OK;

	memset(&d, 0, sizeof(d));
	memset(&p, 0, sizeof(p));
	p.d = &d;
	d.p = buf;
	d.end = buf + len;
	if (memchr(buf, '\0', len) != NULL)
		return fe_set(e, FX_VERIFY, "%s: binary data, not a dpkg database", what);
	while ((r = d822_next(&d)) != D822_EOF) {
		if (r == D822_BAD) {
			rc = fe_set(e, FX_VERIFY, "%s: line %zu: not a field (a dpkg database is \"Field: value\" lines)",
			    what, d.line);
			goto end;
		}
		if (r == D822_PARA_END) {
			if ((rc = dpkg_para_end(&p, status_d, what, out, e)) != FX_OK)
				goto end;
			dpkg_para_clear(&p);
			continue;
		}
		if (field_is(&d, "Package"))
			take(&p.package, &d);
		else if (field_is(&d, "Status"))
			take(&p.status, &d);
		else if (field_is(&d, "Version"))
			take(&p.version, &d);
		else if (field_is(&d, "Architecture"))
			take(&p.arch, &d);
		else if (field_is(&d, "Source"))
			take(&p.source, &d);
	}
end:
	dpkg_para_clear(&p);
	return rc;
}

/* ---- DEP-5 copyright */

static int dep5_format(const char *v, size_t n)
{
	static const char *const urls[] = {
	    "https://www.debian.org/doc/packaging-manuals/copyright-format/1.0",
	    "http://www.debian.org/doc/packaging-manuals/copyright-format/1.0",
	};
	size_t i;

	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		size_t l = strlen(urls[i]);
		if (n >= l && strncmp(v, urls[i], l) == 0 && (n == l || (n == l + 1 && v[l] == '/')))
			return 1;
	}
	return 0;
}

/* Adds a synopsis with its runs of blanks collapsed to one space. */
static void dep5_add(char ***lic, size_t *n, const char *v, size_t len)
{
	char *s = xmalloc(len + 1);
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		char c = v[i] == '\t' ? ' ' : v[i];
		if (c == ' ' && (o == 0 || s[o - 1] == ' '))
			continue;
		s[o++] = c;
	}
	while (o > 0 && s[o - 1] == ' ')
		o--;
	if (o > 0 && *n < PKGDB_MAX_LICENSES)
		strset_add(lic, n, s, o);
	free(s);
}

int dep5_licenses(const char *buf, size_t len, char ***lic, size_t *n)
{
	struct d822 d;
	int r, first = 1, machine = 0;
	char **v = NULL;
	size_t nv = 0;

	memset(&d, 0, sizeof(d));
	d.p = buf;
	d.end = buf + len;
	while ((r = d822_next(&d)) != D822_EOF) {
		if (r == D822_BAD)
			continue; /* a copyright file is prose as often as not: keep what parses */
		if (r == D822_PARA_END) {
			if (first && !machine)
				break;
			first = 0;
			continue;
		}
		if (first && field_is(&d, "Format"))
			machine = dep5_format(d.value, d.value_len);
		else if (field_is(&d, "License") && memchr(d.value, '\0', d.value_len) == NULL)
			dep5_add(&v, &nv, d.value, d.value_len);
	}
	if (!machine) {
		strv_free_n(v, nv);
		return 0;
	}
	*lic = v;
	*n = nv;
	return 1;
}

/* ---- apk */

static int apk_end(struct pkg *k, const char *what, struct ferr *e)
{
	int no_name = k->name == NULL || k->name[0] == '\0';

	if (no_name || k->version == NULL || k->version[0] == '\0') /* "V:" with nothing after it too */
		return fe_set(e, FX_VERIFY, "%s: a package without %s", what, no_name ? "a name (P:)" : "a version (V:)");
	return FX_OK;
}

int apk_installed_parse(const char *buf, size_t len, const char *what, struct pkg_list *out, struct ferr *e)
{
	const char *p = buf, *end = buf + len;
	struct pkg *k = NULL;
	size_t line = 0;
	int rc = FX_OK;

	if (memchr(buf, '\0', len) != NULL)
		return fe_set(e, FX_VERIFY, "%s: binary data, not an apk database", what);
	while (p < end && rc == FX_OK) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n;

		if (eol == NULL)
			eol = end;
		n = (size_t)(eol - p);
		line++;
		if (n == 0) {
			if (k != NULL)
				rc = apk_end(k, what, e);
			k = NULL;
		} else if (n < 2 || p[1] != ':') {
			rc = fe_set(e, FX_VERIFY, "%s: line %zu: not a \"K:value\" line", what, line);
		} else {
			if (k == NULL) {
				if (out->n >= PKGDB_MAX_PKGS) {
					rc = fe_set(e, FX_VERIFY, "%s: more than %d packages", what, PKGDB_MAX_PKGS);
					break;
				}
				k = pkg_list_add(out, PKG_APK);
			}
			switch (p[0]) {
			case 'P': free(k->name); k->name = xstrndup(p + 2, n - 2); break;
			case 'V': free(k->version); k->version = xstrndup(p + 2, n - 2); break;
			case 'A': free(k->arch); k->arch = xstrndup(p + 2, n - 2); break;
			case 'o': free(k->source); k->source = xstrndup(p + 2, n - 2); break;
			case 'L':
				if (n > 2 && k->nlicenses < PKGDB_MAX_LICENSES)
					strset_add(&k->licenses, &k->nlicenses, p + 2, n - 2);
				k->license_known = n > 2;
				break;
			default: break;
			}
		}
		p = eol < end ? eol + 1 : eol;
	}
	if (rc == FX_OK && k != NULL)
		rc = apk_end(k, what, e);
	return rc;
}

/* ---- os-release */

/* The value after '=': unquoted, "double" (backslash escapes) or 'single' quoted. */
static char *os_value(const char *v, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t i = 0, o = 0;
	char q = 0;

	if (n > 0 && (v[0] == '"' || v[0] == '\'')) {
		q = v[0];
		i = 1;
	}
	for (; i < n; i++) {
		if (q != 0 && v[i] == q)
			break;
		if (q == '"' && v[i] == '\\' && i + 1 < n)
			i++;
		out[o++] = v[i];
	}
	out[o] = '\0';
	return out;
}

void os_release_parse(const char *buf, size_t len, struct os_release *out)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
	    {"ID", offsetof(struct os_release, id)},
	    {"VERSION_ID", offsetof(struct os_release, version_id)},
	    {"VERSION_CODENAME", offsetof(struct os_release, version_codename)},
	    {"NAME", offsetof(struct os_release, name)},
	    {"PRETTY_NAME", offsetof(struct os_release, pretty_name)},
	};
	const char *p = buf, *end = buf + len;
	size_t k;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *eq;

		if (eol == NULL)
			eol = end;
		eq = memchr(p, '=', (size_t)(eol - p));
		for (k = 0; eq != NULL && k < sizeof(keys) / sizeof(keys[0]); k++) {
			char **slot = (char **)((char *)out + keys[k].off);
			size_t kl = strlen(keys[k].key);
			if ((size_t)(eq - p) == kl && strncmp(p, keys[k].key, kl) == 0 &&
			    memchr(eq, '\0', (size_t)(eol - eq)) == NULL) {
				free(*slot);
				*slot = os_value(eq + 1, (size_t)(eol - eq - 1));
			}
		}
		p = eol < end ? eol + 1 : eol;
	}
}

void os_release_free(struct os_release *o)
{
	free(o->id);
	free(o->version_id);
	free(o->version_codename);
	free(o->name);
	free(o->pretty_name);
	memset(o, 0, sizeof(*o));
}

/* ---- purl */

struct sbuf {
	char *s;
	size_t len, cap;
};

static void sb_putc(struct sbuf *b, char c)
{
	if (b->len + 2 > b->cap) {
		b->cap = b->cap ? b->cap * 2 : 128;
		b->s = xrealloc(b->s, b->cap);
	}
	b->s[b->len++] = c;
	b->s[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	while (*s != '\0')
		sb_putc(b, *s++);
}

static void sb_pct(struct sbuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		    *p == '-' || *p == '_' || *p == '~') {
			sb_putc(b, (char)*p);
		} else {
			sb_putc(b, '%');
			sb_putc(b, hex[*p >> 4]);
			sb_putc(b, hex[*p & 15]);
		}
	}
}

char *purl_encode(const char *s)
{
	struct sbuf b = {NULL, 0, 0};

	sb_pct(&b, s);
	return b.s != NULL ? b.s : xstrdup("");
}

char *purl_make(enum pkg_kind kind, const char *namespace, const char *name, const char *version,
    const char *arch, const char *distro, const char *epoch)
{
	struct sbuf b = {NULL, 0, 0};
	const char *sep = "?";

	sb_puts(&b, "pkg:");
	sb_puts(&b, pkg_kind_name(kind));
	sb_putc(&b, '/');
	if (namespace != NULL && namespace[0] != '\0') {
		char *lower = xstrdup(namespace), *c;
		for (c = lower; *c != '\0'; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a'); /* the spec's deb, apk and rpm namespaces are lower case */
		sb_pct(&b, lower);
		sb_putc(&b, '/');
		free(lower);
	}
	sb_pct(&b, name);
	if (version != NULL && version[0] != '\0') {
		sb_putc(&b, '@');
		sb_pct(&b, version);
	}
	/* qualifiers in key order: arch, distro, epoch */
	if (arch != NULL && arch[0] != '\0') {
		sb_puts(&b, sep);
		sb_puts(&b, "arch=");
		sb_pct(&b, arch);
		sep = "&";
	}
	if (distro != NULL && distro[0] != '\0') {
		sb_puts(&b, sep);
		sb_puts(&b, "distro=");
		sb_pct(&b, distro);
		sep = "&";
	}
	if (epoch != NULL && epoch[0] != '\0') {
		sb_puts(&b, sep);
		sb_puts(&b, "epoch=");
		sb_pct(&b, epoch);
	}
	return b.s;
}
