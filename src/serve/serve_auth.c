/* serve_auth.c - Basic authentication for `ferry-load serve --htpasswd FILE`: bcrypt
 * users as `htpasswd -B` writes them, checked with crypt(3) (libxcrypt). */
#include "serve/serve_int.h"

#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define HTPASSWD_MAX (1u << 20)
#define USER_MAX 255
#define BCRYPT_LEN 60 /* "$2y$NN$" + 22 characters of salt + 31 of hash */

struct user {
	char *name;
	char hash[BCRYPT_LEN + 1];
};

struct serve_users {
	struct user *v;
	size_t n;
};

static int bcrypt_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '/';
}

/* $2y$ or $2b$, a cost of 04 to 31, then 53 characters of bcrypt's base64. */
static int bcrypt_valid(const char *h, size_t n)
{
	size_t i;
	int cost;

	if (n != BCRYPT_LEN || h[0] != '$' || h[1] != '2' || (h[2] != 'y' && h[2] != 'b') || h[3] != '$' ||
	    h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9' || h[6] != '$')
		return 0;
	cost = (h[4] - '0') * 10 + (h[5] - '0');
	if (cost < 4 || cost > 31)
		return 0;
	for (i = 7; i < n; i++)
		if (!bcrypt_char((unsigned char)h[i]))
			return 0;
	return 1;
}

static int name_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > USER_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

void serve_users_free(struct serve_users *u)
{
	size_t i;

	if (u == NULL)
		return;
	for (i = 0; i < u->n; i++)
		free(u->v[i].name);
	OPENSSL_cleanse(u->v, u->n * sizeof(*u->v));
	free(u->v);
	free(u);
}

size_t serve_users_count(const struct serve_users *u)
{
	return u != NULL ? u->n : 0;
}

int serve_users_parse(const char *text, size_t len, const char *shown, struct serve_users **out,
    struct ferr *e)
{
	struct serve_users *u = xcalloc(1, sizeof(*u));
	const char *p = text, *end = text + len;
	size_t lineno = 0, i;
	int rc = FX_OK;

	*out = NULL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *colon;
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		struct user *us;

		lineno++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0 || p[0] == '#')
			goto next;
		colon = memchr(p, ':', n);
		if (colon == NULL || !name_valid(p, (size_t)(colon - p))) {
			rc = fe_set(e, FX_USAGE, "%s:%zu: expected USER:HASH, a user name of visible characters", ESC(shown),
			    lineno);
			goto end;
		}
		if (!bcrypt_valid(colon + 1, n - (size_t)(colon - p) - 1)) {
			rc = fe_set(e, FX_USAGE, "%s:%zu: not a bcrypt hash ($2y$ or $2b$; make one with htpasswd -B)",
			    ESC(shown), lineno);
			goto end;
		}
		for (i = 0; i < u->n; i++) {
			if (strlen(u->v[i].name) == (size_t)(colon - p) && memcmp(u->v[i].name, p, (size_t)(colon - p)) == 0) {
				rc = fe_set(e, FX_USAGE, "%s:%zu: user given twice", ESC(shown), lineno);
				goto end;
			}
		}
		u->v = xreallocarray(u->v, u->n + 1, sizeof(*u->v));
		us = &u->v[u->n++];
		us->name = xstrndup(p, (size_t)(colon - p));
		memcpy(us->hash, colon + 1, BCRYPT_LEN);
		us->hash[BCRYPT_LEN] = '\0';
next:
		p = nl != NULL ? nl + 1 : end;
	}
	if (u->n == 0)
		rc = fe_set(e, FX_USAGE, "%s: no users (add one with htpasswd -B)", ESC(shown));
end:
	if (rc != FX_OK)
		serve_users_free(u);
	else
		*out = u;
	return rc;
}

int serve_users_load(const char *path, struct serve_users **u, struct ferr *e)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	*u = NULL;
	if ((rc = read_file_max(path, HTPASSWD_MAX, &text, &len, e)) != FX_OK)
		return rc;
	rc = serve_users_parse(text, len, path, u, e);
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

int serve_users_check(const struct serve_users *u, const char *user, const char *password)
{
	struct crypt_data *cd;
	const struct user *match = NULL;
	const char *hash, *out;
	size_t i, ulen;
	int ok;

	if (u == NULL || u->n == 0 || user == NULL || password == NULL)
		return 0;
	ulen = strlen(user);
	/* no early exit: every name is compared */
	for (i = 0; i < u->n; i++) {
		const struct user *x = &u->v[i];

		if (strlen(x->name) == ulen && CRYPTO_memcmp(x->name, user, ulen) == 0)
			match = x;
	}
	/* an unknown user costs one bcrypt too (against the first hash) */
	hash = match != NULL ? match->hash : u->v[0].hash;
	cd = xcalloc(1, sizeof(*cd));
	out = crypt_rn(password, hash, cd, (int)sizeof(*cd));
	ok = match != NULL && out != NULL && strlen(out) == BCRYPT_LEN &&
	    CRYPTO_memcmp(out, hash, BCRYPT_LEN) == 0;
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return ok;
}
