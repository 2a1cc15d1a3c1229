/* audit.c - one verified pass over a bundle for the auditor's verbs: a sink that
 * records every entry's verdict and keeps the bytes of a few small entries, handing
 * them out only after their hash matched (bundle_read checks it as they stream). */
#include "cli/audit.h"

#include <stdlib.h>
#include <string.h>

#include "image/oci.h"
#include "image/sbom_read.h"
#include "util/digest.h"

#define LICENSE_KEEP_MAX ((size_t)1 << 20)
#define KEPT_TOTAL_MAX ((uint64_t)1 << 30) /* all kept entries together */

static int ent_cmp(const void *x, const void *y)
{
	return strcmp(((const struct audit_entry *)x)->path, ((const struct audit_entry *)y)->path);
}

static struct audit_entry *find(const struct audit_bundle *a, const char *path)
{
	struct audit_entry key;

	if (a->nents == 0)
		return NULL;
	key.path = (char *)(uintptr_t)path;
	return bsearch(&key, a->ents, a->nents, sizeof(*a->ents), ent_cmp);
}

/* Is this an image's manifest or index (listed in bundle.yaml)? */
static int is_image_manifest(const struct manifest *m, const char *name)
{
	const char *prefix = "images/blobs/sha256/";
	size_t i, k;

	if (strncmp(name, prefix, strlen(prefix)) != 0)
		return 0;
	for (i = 0; i < m->nimages; i++)
		for (k = 0; k < m->images[i].nmanifests; k++)
			if (digest_valid(m->images[i].manifests[k]) &&
			    strcmp(m->images[i].manifests[k] + 7, name + strlen(prefix)) == 0)
				return 1;
	return 0;
}

static size_t keep_limit(const struct audit_bundle *a, const char *name)
{
	size_t n = strlen(name);

	if ((a->keep & AUDIT_KEEP_SBOMS) && strncmp(name, "sboms/", 6) == 0)
		return SBOM_MAX;
	if ((a->keep & AUDIT_KEEP_LICENSES) && strncmp(name, "license/", 8) == 0 && n > 12 &&
	    strcmp(name + n - 4, ".lic") == 0)
		return LICENSE_KEEP_MAX;
	if ((a->keep & AUDIT_KEEP_MANIFESTS) && is_image_manifest(&a->h.man, name))
		return OCI_JSON_MAX;
	return 0;
}

static int sink_head(void *ctx, const struct bundle_head *h, struct ferr *e)
{
	struct audit_bundle *a = ctx;
	size_t i;

	(void)e;
	a->head_ok = 1;
	a->ents = xcalloc(h->sums.n ? h->sums.n : 1, sizeof(*a->ents));
	for (i = 0; i < h->sums.n; i++) {
		const struct man_entry *me = manifest_entry(&h->man, h->sums.v[i].path);
		struct audit_entry *x = &a->ents[a->nents++];
		x->path = xstrdup(h->sums.v[i].path);
		x->size = me != NULL ? me->size : 0;
		memcpy(x->digest, h->sums.v[i].digest, SHA256_LEN);
		x->verdict = strcmp(x->path, BUNDLE_YAML) == 0 ? AV_OK : AV_UNSEEN; /* checked with the head */
	}
	qsort(a->ents, a->nents, sizeof(*a->ents), ent_cmp);
	return FX_OK;
}

static int sink_begin(void *ctx, const char *name, uint64_t size, const struct entry_loc *loc, int *want,
    struct ferr *e)
{
	struct audit_bundle *a = ctx;
	struct audit_entry *x = find(a, name);
	size_t limit;

	(void)loc;
	(void)e;
	a->cur = x;
	*want = 0;
	if (x == NULL)
		return FX_OK;
	/* the head was read before this sink saw it: the manifest is a->h's copy */
	limit = keep_limit(a, name);
	if (limit > 0 && size <= limit && a->kept_bytes + size <= KEPT_TOTAL_MAX) {
		free(x->data);
		x->data = xmalloc((size_t)size + 1);
		x->len = 0;
		a->kept_bytes += size;
		*want = 1;
	} else if (limit > 0) {
		x->verdict = AV_SKIPPED; /* verified below all the same, but not kept */
	}
	return FX_OK;
}

static int sink_data(void *ctx, const void *buf, size_t n, struct ferr *e)
{
	struct audit_bundle *a = ctx;
	struct audit_entry *x = a->cur;

	(void)e;
	if (x == NULL || x->data == NULL)
		return FX_OK;
	if (n > x->size - x->len) /* more than signed: the reader fails it; keep nothing extra */
		n = (size_t)(x->size - x->len);
	memcpy(x->data + x->len, buf, n);
	x->len += n;
	return FX_OK;
}

static int sink_end(void *ctx, const char *name, int ok, struct ferr *e)
{
	struct audit_bundle *a = ctx;
	struct audit_entry *x = find(a, name);

	(void)e;
	a->cur = NULL;
	if (x == NULL)
		return FX_OK;
	x->verdict = ok ? AV_OK : AV_BAD;
	if (x->data != NULL) {
		if (ok) {
			x->data[x->len] = '\0';
		} else {
			free(x->data); /* never handed out */
			x->data = NULL;
			x->len = 0;
		}
	}
	return FX_OK;
}

void audit_read(const char *path, const struct read_opts *ro, unsigned keep, struct audit_bundle *a)
{
	struct sink s;

	memset(a, 0, sizeof(*a));
	memset(&s, 0, sizeof(s));
	a->path = path;
	a->keep = keep;
	s.ctx = a;
	s.head = sink_head;
	s.begin = sink_begin;
	s.data = sink_data;
	s.end = sink_end;
	a->rc = bundle_read(path, ro, &s, &a->h, &a->rep, &a->e);
	if (a->rc == FX_OK && a->e.code == 0)
		return;
	if (a->rc == FX_OK)
		a->rc = a->e.code;
}

const struct audit_entry *audit_entry(const struct audit_bundle *a, const char *path)
{
	const struct audit_entry *x = find(a, path);

	return x != NULL && x->verdict == AV_OK && x->data != NULL ? x : NULL;
}

void audit_free(struct audit_bundle *a)
{
	size_t i;

	for (i = 0; i < a->nents; i++) {
		free(a->ents[i].path);
		free(a->ents[i].data);
	}
	free(a->ents);
	bundle_head_free(&a->h);
	memset(a, 0, sizeof(*a));
}
