/* pkgver.c - version comparison for deb (dpkg's algorithm, written from its manual,
 * deb-version(7)), rpm (librpm's own rpmvercmp) and apk (the token order apk-tools
 * uses: numbers, letter, suffix, suffix number, -r revision).
 *
 * Where apk is approximate: apk-tools compares a number that starts with 0 after a dot
 * as a fraction ("1.02" < "1.1"); here every number is compared by value. */
#include "image/pkgver.h"

#include <stdlib.h>
#include <string.h>

#include <rpm/rpmver.h>

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Two runs of digits by value, however long (no overflow): fewer significant digits is
 * smaller, then the digits in order. */
static int num_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	while (an > 0 && *a == '0')
		a++, an--;
	while (bn > 0 && *b == '0')
		b++, bn--;
	if (an != bn)
		return an < bn ? -1 : 1;
	return an == 0 ? 0 : memcmp(a, b, an);
}

/* ---- dpkg */

/* dpkg's weight of a non-digit: '~' before the end, the end before letters, letters
 * before everything else. */
static int deb_order(char c)
{
	if (is_digit(c))
		return 0;
	if (is_alpha(c))
		return c;
	if (c == '~')
		return -1;
	if (c != '\0')
		return c + 256;
	return 0;
}

/* Compares one part (upstream version or revision): alternating non-digit runs
 * (by deb_order) and digit runs (by value). a and b are bounded by their ends. */
static int deb_part_cmp(const char *a, const char *ae, const char *b, const char *be)
{
	while (a < ae || b < be) {
		const char *ad, *bd;
		int c;

		while ((a < ae && !is_digit(*a)) || (b < be && !is_digit(*b))) {
			int ac = deb_order(a < ae ? *a : '\0'), bc = deb_order(b < be ? *b : '\0');
			if (ac != bc)
				return ac < bc ? -1 : 1;
			a++;
			b++;
		}
		for (ad = a; ad < ae && is_digit(*ad); ad++)
			;
		for (bd = b; bd < be && is_digit(*bd); bd++)
			;
		if ((c = num_cmp(a, (size_t)(ad - a), b, (size_t)(bd - b))) != 0)
			return c;
		a = ad;
		b = bd;
	}
	return 0;
}

struct deb_ver {
	const char *epoch, *up, *up_end, *rev, *rev_end;
	size_t epoch_len;
};

static void deb_split(const char *v, struct deb_ver *d)
{
	const char *colon = strchr(v, ':'), *end = v + strlen(v), *dash;

	d->epoch = "0";
	d->epoch_len = 1;
	if (colon != NULL) {
		d->epoch = v;
		d->epoch_len = (size_t)(colon - v);
		v = colon + 1;
	}
	dash = strrchr(v, '-');
	d->up = v;
	d->up_end = dash != NULL ? dash : end;
	d->rev = dash != NULL ? dash + 1 : end;
	d->rev_end = end;
}

static int deb_cmp(const char *a, const char *b)
{
	struct deb_ver x, y;
	int c;

	deb_split(a, &x);
	deb_split(b, &y);
	if ((c = num_cmp(x.epoch, x.epoch_len, y.epoch, y.epoch_len)) != 0)
		return c;
	if ((c = deb_part_cmp(x.up, x.up_end, y.up, y.up_end)) != 0)
		return c;
	return deb_part_cmp(x.rev, x.rev_end, y.rev, y.rev_end);
}

/* ---- rpm: [EPOCH:]VERSION-RELEASE */

static int rpm_cmp(const char *a, const char *b)
{
	char *x = xstrdup(a), *y = xstrdup(b);
	char *xv = strchr(x, ':'), *yv = strchr(y, ':'), *xr, *yr;
	const char *xe = "0", *ye = "0";
	int c;

	if (xv != NULL) {
		*xv++ = '\0';
		xe = x;
	} else {
		xv = x;
	}
	if (yv != NULL) {
		*yv++ = '\0';
		ye = y;
	} else {
		yv = y;
	}
	xr = strrchr(xv, '-');
	yr = strrchr(yv, '-');
	if (xr != NULL)
		*xr++ = '\0';
	if (yr != NULL)
		*yr++ = '\0';
	c = num_cmp(xe, strlen(xe), ye, strlen(ye));
	if (c == 0)
		c = rpmvercmp(xv, yv);
	if (c == 0)
		c = rpmvercmp(xr != NULL ? xr : "", yr != NULL ? yr : "");
	free(x);
	free(y);
	return c;
}

/* ---- apk */

enum apk_tok { T_INVALID = -1, T_DIGIT, T_LETTER, T_SUFFIX, T_SUFFIX_NO, T_REVISION, T_END };

struct apk_tok_val {
	const char *s; /* digits of a number */
	size_t n;
	int v;         /* a letter, or a suffix's rank */
};

/* The type of the token that starts at *p, and *p moved past its separator. */
static enum apk_tok apk_next_type(const char **p, enum apk_tok prev)
{
	const char *s = *p;

	if (*s == '\0')
		return T_END;
	if (*s == '.' && prev == T_DIGIT && is_digit(s[1])) {
		*p = s + 1;
		return T_DIGIT;
	}
	if (*s >= 'a' && *s <= 'z' && prev == T_DIGIT)
		return T_LETTER;
	if (*s == '_' && prev != T_SUFFIX)
		return *p = s + 1, T_SUFFIX;
	if (is_digit(*s) && prev == T_SUFFIX)
		return T_SUFFIX_NO;
	if (s[0] == '-' && s[1] == 'r' && is_digit(s[2]) && prev != T_REVISION)
		return *p = s + 2, T_REVISION;
	return T_INVALID;
}

static int apk_suffix_rank(const char *s, size_t n)
{
	static const char *const pre[] = {"alpha", "beta", "pre", "rc"};
	static const char *const post[] = {"cvs", "svn", "git", "hg", "p"};
	size_t i;

	for (i = 0; i < 4; i++)
		if (strlen(pre[i]) == n && strncmp(s, pre[i], n) == 0)
			return (int)i - 4; /* before the plain version */
	for (i = 0; i < 5; i++)
		if (strlen(post[i]) == n && strncmp(s, post[i], n) == 0)
			return (int)i + 1;
	return 0;
}

/* Reads the token of type t at *p. */
static enum apk_tok apk_read(const char **p, enum apk_tok t, struct apk_tok_val *tv)
{
	const char *s = *p;

	memset(tv, 0, sizeof(*tv));
	switch (t) {
	case T_DIGIT:
	case T_SUFFIX_NO:
	case T_REVISION:
		while (is_digit(**p))
			(*p)++;
		tv->s = s;
		tv->n = (size_t)(*p - s);
		return tv->n > 0 ? t : T_INVALID;
	case T_LETTER:
		tv->v = **p;
		(*p)++;
		return t;
	case T_SUFFIX:
		while (**p >= 'a' && **p <= 'z')
			(*p)++;
		tv->v = apk_suffix_rank(s, (size_t)(*p - s));
		return tv->v != 0 ? t : T_INVALID;
	default:
		return t;
	}
}

static int apk_val_cmp(const struct apk_tok_val *a, const struct apk_tok_val *b)
{
	if (a->s != NULL || b->s != NULL)
		return num_cmp(a->s ? a->s : "", a->n, b->s ? b->s : "", b->n);
	return a->v < b->v ? -1 : a->v > b->v;
}

static int apk_cmp(const char *a, const char *b)
{
	enum apk_tok at = T_DIGIT, bt = T_DIGIT;
	struct apk_tok_val av, bv;
	int c;

	memset(&av, 0, sizeof(av));
	memset(&bv, 0, sizeof(bv));
	if (!is_digit(*a) || !is_digit(*b))
		return strcmp(a, b); /* not an apk version: a stable order at least */
	for (;;) {
		at = apk_read(&a, at, &av);
		bt = apk_read(&b, bt, &bv);
		if (at == T_INVALID || bt == T_INVALID)
			return at == bt ? strcmp(a, b) : (at == T_INVALID ? -1 : 1);
		if (at != bt)
			break;
		if ((c = apk_val_cmp(&av, &bv)) != 0)
			return c;
		if (at == T_END)
			return 0;
		at = apk_next_type(&a, at);
		bt = apk_next_type(&b, bt);
		if (at != bt)
			break;
	}
	/* the same so far: a pre-release suffix is older than no suffix; otherwise the
	 * version that goes on (with a number, letter, suffix) is newer */
	if (at == T_SUFFIX && (apk_read(&a, at, &av), av.v < 0))
		return -1;
	if (bt == T_SUFFIX && (apk_read(&b, bt, &bv), bv.v < 0))
		return 1;
	return at > bt ? -1 : 1;
}

int pkg_version_cmp(enum pkg_kind kind, const char *a, const char *b)
{
	int c;

	if (a == NULL || b == NULL)
		return a == b ? 0 : (a == NULL ? -1 : 1);
	switch (kind) {
	case PKG_DEB: c = deb_cmp(a, b); break;
	case PKG_RPM: c = rpm_cmp(a, b); break;
	case PKG_APK: c = apk_cmp(a, b); break;
	default: c = strcmp(a, b); break;
	}
	return c < 0 ? -1 : c > 0;
}
