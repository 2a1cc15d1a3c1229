/* parts.c - finding and checking the parts of a split bundle. */
#include "bundle/parts.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define PARTS_MAX_LIST (1u << 20)

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int is_file(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The base name NAME.ferry of a split bundle given as any of its names, or NULL. */
static char *split_base(const char *path)
{
	char *base = NULL, *list;

	if (ends_with(path, ".parts"))
		base = xstrndup(path, strlen(path) - 6);
	else if (ends_with(path, ".000"))
		base = xstrndup(path, strlen(path) - 4);
	else if (!is_file(path))
		base = xstrdup(path);
	if (base == NULL)
		return NULL;
	list = xasprintf("%s.parts", base);
	if (!is_file(list)) {
		free(base);
		base = NULL;
	}
	free(list);
	return base;
}

void parts_free(struct parts *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->paths[i]);
		if (p->fds != NULL && p->fds[i] >= 0)
			close(p->fds[i]);
	}
	if (p->mu != NULL) {
		pthread_mutex_destroy(p->mu);
		free(p->mu);
	}
	free(p->fds);
	free(p->paths);
	free(p->digests);
	memset(p, 0, sizeof(*p));
}

ssize_t parts_pread(const struct parts *p, void *buf, size_t n, uint64_t off, size_t *failed)
{
	size_t k;
	uint64_t in_part, part_len;
	int fd;
	ssize_t r;

	*failed = 0;
	if (off >= p->total || n == 0)
		return 0;
	k = (size_t)(off / p->part_size);
	in_part = off - (uint64_t)k * p->part_size;
	part_len = k + 1 < p->n ? p->part_size : p->total - (uint64_t)k * p->part_size;
	if (n > part_len - in_part)
		n = (size_t)(part_len - in_part);
	pthread_mutex_lock(p->mu);
	if (p->fds[k] < 0)
		p->fds[k] = open(p->paths[k], O_RDONLY | O_CLOEXEC);
	fd = p->fds[k];
	pthread_mutex_unlock(p->mu);
	if (fd < 0) {
		*failed = k;
		return -1;
	}
	do
		r = pread(fd, buf, n, (off_t)in_part);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		*failed = k;
	return r;
}

int parts_open(const char *path, const struct read_opts *o, struct parts *p, struct ferr *e)
{
	char *base = split_base(path), *list = NULL, *ascp = NULL, *text = NULL, *sig = NULL, *dir = NULL;
	const char *bname;
	size_t len = 0, siglen = 0, i;
	struct sums s;
	uint64_t first = 0;
	int rc = FX_OK;

	memset(p, 0, sizeof(*p));
	memset(&s, 0, sizeof(s));
	if (base == NULL)
		return FX_OK; /* a single-file bundle */
	list = xasprintf("%s.parts", base);
	ascp = xasprintf("%s.parts.asc", base);
	bname = strrchr(base, '/') ? strrchr(base, '/') + 1 : base;
	dir = xstrndup(base, (size_t)(bname - base));
	if ((rc = read_file_max(list, PARTS_MAX_LIST, &text, &len, e)) != FX_OK)
		goto end;
	/* the signature first: nothing unsigned is interpreted */
	if (is_file(ascp)) {
		if ((rc = read_file_max(ascp, 1u << 20, &sig, &siglen, e)) != FX_OK)
			goto end;
		p->is_signed = 1;
		if (o->keyring != NULL &&
		    (rc = pgp_verify(text, len, sig, siglen, ascp, o->keyring, o->fingerprints, o->nfingerprints, &p->signer, e)) != FX_OK)
			goto end;
	} else if (!o->allow_unsigned && !o->head_only) {
		rc = fe_set(e, FX_VERIFY, "%s: missing: the list of parts is not signed (refusing without --allow-unsigned)",
		    ESC(ascp));
		goto end;
	}
	if (sums_parse(text, len, &s, e) != FX_OK) {
		e->code = 0;
		rc = fe_set(e, FX_VERIFY, "%s: not a list of parts", ESC(list));
		goto end;
	}
	if (s.n == 0) {
		rc = fe_set(e, FX_VERIFY, "%s: lists no parts", ESC(list));
		goto end;
	}
	p->paths = xcalloc(s.n, sizeof(char *));
	p->digests = xcalloc(s.n, sizeof(*p->digests));
	p->fds = xcalloc(s.n, sizeof(*p->fds));
	for (i = 0; i < s.n; i++)
		p->fds[i] = -1;
	p->mu = xmalloc(sizeof(*p->mu));
	pthread_mutex_init(p->mu, NULL);
	for (i = 0; i < s.n; i++) {
		char want[1200];
		struct stat st;

		snprintf(want, sizeof(want), "%s.%03zu", bname, i);
		if (strcmp(s.v[i].path, want) != 0) {
			rc = fe_set(e, FX_VERIFY, "%s: line %zu names '%s', expected '%s'", ESC(list), i + 1,
			    ESC(s.v[i].path), ESC(want));
			goto end;
		}
		p->paths[i] = xasprintf("%s%s", dir, want);
		memcpy(p->digests[i], s.v[i].digest, SHA256_LEN);
		p->n = i + 1;
		if (stat(p->paths[i], &st) != 0 || !S_ISREG(st.st_mode)) {
			rc = fe_set(e, FX_VERIFY, "part %zu of %zu (%s): missing", i + 1, s.n, ESC(p->paths[i]));
			goto end;
		}
		/* every part but the last has the split size: a short one is named now */
		if (i == 0)
			first = (uint64_t)st.st_size;
		if ((i + 1 < s.n && (uint64_t)st.st_size != first) || (uint64_t)st.st_size > first || st.st_size == 0) {
			rc = fe_set(e, FX_VERIFY, "part %zu of %zu (%s): wrong size (%lld bytes; parts are %llu)", i + 1,
			    s.n, ESC(p->paths[i]), (long long)st.st_size, (unsigned long long)first);
			goto end;
		}
		p->total += (uint64_t)st.st_size;
	}
	p->part_size = first;
	if (s.n < 1000) {
		char *extra = xasprintf("%s.%03zu", base, s.n);
		if (is_file(extra))
			fx_warn("%s: not listed in %s (ignored)", ESC(extra), ESC(list));
		free(extra);
	}
end:
	if (rc != FX_OK)
		parts_free(p);
	sums_free(&s);
	free(base);
	free(list);
	free(ascp);
	free(text);
	free(sig);
	free(dir);
	return rc;
}

int parts_verify_all(const char *path, const struct read_opts *o, int quiet, struct ferr *e)
{
	enum { BUFSZ = 1 << 20 };
	struct parts p;
	unsigned char *buf = NULL, d[SHA256_LEN];
	size_t i, bad = 0;
	int rc;

	if ((rc = parts_open(path, o, &p, e)) != FX_OK)
		return rc;
	if (p.n == 0)
		return fe_set(e, FX_USAGE, "%s: not a split bundle (no .parts list)", ESC(path));
	buf = xmalloc(BUFSZ);
	for (i = 0; i < p.n; i++) {
		struct sha256 h;
		int fd = open(p.paths[i], O_RDONLY | O_CLOEXEC);
		ssize_t r = 0;

		if (fd < 0) {
			fx_warn("part %zu of %zu (%s): %s", i + 1, p.n, ESC(p.paths[i]), strerror(errno));
			bad++;
			continue;
		}
		sha256_init(&h);
		while ((r = read(fd, buf, BUFSZ)) > 0 || (r < 0 && errno == EINTR))
			if (r > 0)
				sha256_update(&h, buf, (size_t)r);
		close(fd);
		sha256_final(&h, d);
		if (r < 0 || CRYPTO_memcmp(d, p.digests[i], SHA256_LEN) != 0) {
			fx_warn("part %zu of %zu (%s): %s", i + 1, p.n, ESC(p.paths[i]), r < 0 ? "read error" : "checksum mismatch");
			bad++;
		} else if (!quiet) {
			printf("part %zu of %zu (%s): OK\n", i + 1, p.n, ESC(p.paths[i]));
		}
		if (fx_interrupted) {
			rc = fe_set(e, FX_IO, "interrupted");
			goto end;
		}
	}
	if (bad > 0)
		rc = fe_set(e, FX_VERIFY, "%s: %zu of %zu parts bad", ESC(path), bad, p.n);
	else if (!quiet)
		printf("%s: all %zu parts OK%s%s\n", ESC(path), p.n, p.is_signed && o->keyring ? ", list signed by " : "",
		    p.is_signed && o->keyring ? p.signer.fpr : "");
end:
	free(buf);
	parts_free(&p);
	return rc;
}
