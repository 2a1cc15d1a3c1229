/* target.c - the plan, verdicts and report every load target shares (see target.h). */
#include "target/target.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "bundle/chart.h"

/* ---- the plan */

/* One (blob, image) use, gathered from every usable image and sorted by digest. */
struct blob_use {
	const char *digest;
	size_t image;
	int is_manifest;
};

static int use_cmp(const void *a, const void *b)
{
	const struct blob_use *x = a, *y = b;
	int c = strcmp(x->digest, y->digest);

	if (c != 0)
		return c;
	return x->image < y->image ? -1 : x->image > y->image;
}

static void plan_image_bad(struct plan_image *pi, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void plan_image_bad(struct plan_image *pi, const char *fmt, ...)
{
	va_list ap;

	if (pi->unusable)
		return;
	pi->unusable = 1;
	va_start(ap, fmt);
	vsnprintf(pi->why, sizeof(pi->why), fmt, ap);
	va_end(ap);
}

/* The k-th digest bundle.yaml lists for an image: its blobs, then its manifests. */
static const char *image_digest(const struct man_image *mi, size_t k)
{
	return k < mi->nblobs ? mi->blobs[k] : mi->manifests[k - mi->nblobs];
}

/* How many digests its signatures add (their blobs and manifests), with sigs. */
static size_t sig_digests(const struct man_image *mi, int sigs)
{
	size_t n = 0, i;

	for (i = 0; sigs && i < mi->nsignatures; i++)
		n += mi->signatures[i].nblobs + 1;
	return n;
}

/* The k-th digest of its signatures: each one's blobs, then its manifest (*is_manifest). */
static const char *sig_digest(const struct man_image *mi, size_t k, int *is_manifest)
{
	size_t i;

	for (i = 0; i < mi->nsignatures; i++) {
		const struct man_signature *s = &mi->signatures[i];
		if (k < s->nblobs) {
			*is_manifest = 0;
			return s->blobs[k];
		}
		if (k == s->nblobs) {
			*is_manifest = 1;
			return s->digest;
		}
		k -= s->nblobs + 1;
	}
	return NULL;
}

/* Is the image described well enough to load? Every digest well-formed, its own
 * manifest listed last, and the SHA256SUMS line of each blob entry its own name (so
 * the bytes the reader verified are the blob the name promises). */
static void check_image(struct plan_image *pi, const struct manifest *man, const struct sums *sums, int sigs)
{
	const struct man_image *mi = pi->mi;
	size_t k, nsig = sig_digests(mi, sigs);

	if (!digest_valid(mi->digest) || mi->nmanifests == 0 || strcmp(mi->manifests[mi->nmanifests - 1], mi->digest) != 0) {
		plan_image_bad(pi, "bundle.yaml does not list its manifest");
		return;
	}
	for (k = 0; k < mi->nblobs + mi->nmanifests + nsig; k++) {
		int sig_manifest = 0;
		const char *d = k < mi->nblobs + mi->nmanifests ? image_digest(mi, k) :
		    sig_digest(mi, k - mi->nblobs - mi->nmanifests, &sig_manifest);
		unsigned char bytes[SHA256_LEN];
		char entry[sizeof(BLOB_ENTRY_PREFIX) + SHA256_HEX];
		const struct sum_line *line;

		if (digest_parse(d, bytes, NULL) != 0) {
			plan_image_bad(pi, "bundle.yaml lists a bad digest %s", ESC(d));
			return;
		}
		/* a target needs a manifest's bytes to tag the image: a delta always carries them */
		if (((k >= mi->nblobs && k < mi->nblobs + mi->nmanifests) || sig_manifest) &&
		    manifest_required(man, d, NULL) != NULL) {
			plan_image_bad(pi, "bundle.yaml leaves out manifest %s for a base to supply", d);
			return;
		}
		if (sums == NULL)
			continue;
		snprintf(entry, sizeof(entry), "%s%s", BLOB_ENTRY_PREFIX, d + 7);
		line = sums_find(sums, entry);
		if (line != NULL && CRYPTO_memcmp(line->digest, bytes, SHA256_LEN) != 0) {
			plan_image_bad(pi, "%s: SHA256SUMS gives its entry another digest than its name", d);
			return;
		}
	}
}

static int select_images(struct target_plan *p, char *const *refs, size_t nrefs, int no_images, struct ferr *e)
{
	const struct manifest *m = p->man;
	unsigned char *selected = xcalloc(m->nimages ? m->nimages : 1, 1);
	size_t i, j;
	int rc = FX_OK;

	if (nrefs == 0 && !no_images)
		memset(selected, 1, m->nimages);
	for (j = 0; j < nrefs; j++) {
		for (i = 0; i < m->nimages && strcmp(m->images[i].ref, refs[j]) != 0; i++)
			;
		if (i == m->nimages) {
			rc = fe_set(e, FX_USAGE, "--image %s: no such image in the bundle", ESC(refs[j]));
			goto end;
		}
		selected[i] = 1;
	}
	p->images = xcalloc(m->nimages + m->ncharts + 1, sizeof(*p->images));
	for (i = 0; i < m->nimages; i++)
		if (selected[i])
			p->images[p->nimages++].mi = &m->images[i];
end:
	free(selected);
	return rc;
}

/* Index lists of one image, from the sorted blob table. */
static void link_image(struct target_plan *p, struct plan_image *pi, int sigs)
{
	const struct man_image *mi = pi->mi;
	size_t k, j, nsig = sig_digests(mi, sigs);

	pi->blobs = xcalloc(mi->nblobs + mi->nmanifests + nsig, sizeof(*pi->blobs));
	pi->manifests = xcalloc(mi->nmanifests, sizeof(*pi->manifests));
	pi->sigs = xcalloc(nsig + 1, sizeof(*pi->sigs));
	for (k = 0; k < mi->nblobs + mi->nmanifests + nsig; k++) {
		int sig_manifest = 0;
		size_t b = target_plan_find(p, k < mi->nblobs + mi->nmanifests ? image_digest(mi, k) :
		    sig_digest(mi, k - mi->nblobs - mi->nmanifests, &sig_manifest));

		for (j = 0; j < pi->nblobs && pi->blobs[j] != b; j++)
			;
		if (j == pi->nblobs)
			pi->blobs[pi->nblobs++] = b;
		if (k >= mi->nblobs && k < mi->nblobs + mi->nmanifests)
			pi->manifests[pi->nmanifests++] = b;
		if (sig_manifest)
			pi->sigs[pi->nsigs++] = b;
	}
}

int target_charts_path_valid(const char *path)
{
	const char *c = path;

	if (path == NULL || *path == '\0' || strlen(path) > 128)
		return 0;
	/* components of lower-case letters and digits, joined by one '.', '_' or '-' */
	for (; *c != '\0'; c++) {
		int alnum = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9');
		int sep = *c == '.' || *c == '_' || *c == '-' || *c == '/';
		if (!alnum && !sep)
			return 0;
		if (sep && (c == path || c[1] == '\0' || !((c[-1] >= 'a' && c[-1] <= 'z') || (c[-1] >= '0' && c[-1] <= '9'))))
			return 0;
	}
	return 1;
}

/* The plan's own description of each chart that bundle.yaml describes as an artifact
 * (its blobs, its manifest last), appended to the plan's images. */
static void select_charts(struct target_plan *p, const char *charts_path)
{
	const struct manifest *m = p->man;
	size_t i;

	p->chart_images = xcalloc(m->ncharts + 1, sizeof(*p->chart_images));
	for (i = 0; i < m->ncharts; i++) {
		const struct man_chart *c = &m->charts[i];
		struct man_image *mi = &p->chart_images[p->ncharts];
		struct plan_image *pi = &p->images[p->nimages];
		char tag[CHART_TAG_MAX];

		if (c->digest == NULL || c->name == NULL || c->version == NULL || c->nblobs < 3)
			continue; /* a file only */
		chart_tag(c->version, tag, sizeof(tag));
		pi->chart = c;
		pi->chart_repo = xasprintf("%s/%s", charts_path, c->name);
		mi->ref = xasprintf("%s:%s", pi->chart_repo, tag);
		mi->digest = c->digest;
		mi->media_type = xstrdup(CHART_MANIFEST_MEDIA);
		mi->blobs = c->blobs;
		mi->nblobs = c->nblobs - 1;
		mi->manifests = &c->blobs[c->nblobs - 1];
		mi->nmanifests = 1;
		mi->layers = (int)c->nblobs - 2;
		pi->mi = mi;
		p->nimages++;
		p->ncharts++;
	}
}

int target_plan_build(struct target_plan *p, const struct manifest *m, const struct sums *sums,
    char *const *refs, size_t nrefs, struct ferr *e)
{
	struct plan_select sel;

	memset(&sel, 0, sizeof(sel));
	sel.refs = refs;
	sel.nrefs = nrefs;
	return target_plan_select(p, m, sums, &sel, e);
}

int target_plan_select(struct target_plan *p, const struct manifest *m, const struct sums *sums,
    const struct plan_select *sel, struct ferr *e)
{
	struct blob_use *uses = NULL;
	size_t nuses = 0, cap = 0, i, k;
	int rc;

	memset(p, 0, sizeof(*p));
	p->man = m;
	if ((rc = select_images(p, sel->refs, sel->nrefs, sel->no_images, e)) != FX_OK)
		return rc;
	if (sel->charts)
		select_charts(p, sel->charts_path != NULL ? sel->charts_path : "charts");
	for (i = 0; i < p->nimages; i++) {
		const struct man_image *mi = p->images[i].mi;

		size_t nsig;

		check_image(&p->images[i], m, sums, sel->signatures);
		if (p->images[i].unusable)
			continue;
		nsig = sig_digests(mi, sel->signatures);
		for (k = 0; k < mi->nblobs + mi->nmanifests + nsig; k++) {
			int sig_manifest = 0;
			if (nuses == cap) {
				cap = cap ? cap * 2 : 64;
				uses = xreallocarray(uses, cap, sizeof(*uses));
			}
			uses[nuses].digest = k < mi->nblobs + mi->nmanifests ? image_digest(mi, k) :
			    sig_digest(mi, k - mi->nblobs - mi->nmanifests, &sig_manifest);
			uses[nuses].image = i;
			uses[nuses].is_manifest = (k >= mi->nblobs && k < mi->nblobs + mi->nmanifests) || sig_manifest;
			nuses++;
		}
	}
	if (nuses > 0)
		qsort(uses, nuses, sizeof(*uses), use_cmp);
	p->blobs = xcalloc(nuses ? nuses : 1, sizeof(*p->blobs));
	for (i = 0; i < nuses;) {
		struct plan_blob *b = &p->blobs[p->nblobs++];
		char entry[sizeof(BLOB_ENTRY_PREFIX) + SHA256_HEX];
		const struct man_entry *me;
		const struct man_required *req;

		fx_strlcpy(b->digest, uses[i].digest, sizeof(b->digest));
		snprintf(entry, sizeof(entry), "%s%s", BLOB_ENTRY_PREFIX, b->digest + 7);
		b->base = PLAN_NONE;
		if ((me = manifest_entry(m, entry)) != NULL) {
			b->size = me->size;
		} else if ((req = manifest_required(m, b->digest, &b->base)) != NULL) {
			b->size = req->size;
			p->nrequired++;
		}
		for (k = i; k < nuses && strcmp(uses[k].digest, b->digest) == 0; k++) {
			b->is_manifest |= uses[k].is_manifest;
			if (b->nimages > 0 && b->images[b->nimages - 1] == uses[k].image)
				continue; /* listed twice by one image (blobs and manifests) */
			b->images = xreallocarray(b->images, b->nimages + 1, sizeof(*b->images));
			b->images[b->nimages++] = uses[k].image;
		}
		i = k;
	}
	free(uses);
	for (i = 0; i < p->nimages; i++)
		if (!p->images[i].unusable)
			link_image(p, &p->images[i], sel->signatures);
	return FX_OK;
}

void target_plan_free(struct target_plan *p)
{
	size_t i;

	for (i = 0; i < p->nimages; i++) {
		free(p->images[i].blobs);
		free(p->images[i].manifests);
		free(p->images[i].sigs);
		free(p->images[i].chart_repo);
	}
	for (i = 0; i < p->ncharts; i++) {
		free(p->chart_images[i].ref);
		free(p->chart_images[i].media_type);
	}
	free(p->chart_images);
	for (i = 0; i < p->nblobs; i++)
		free(p->blobs[i].images);
	free(p->images);
	free(p->blobs);
	memset(p, 0, sizeof(*p));
}

size_t target_plan_find(const struct target_plan *p, const char *digest)
{
	size_t lo = 0, hi = p->nblobs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(digest, p->blobs[mid].digest);

		if (c == 0)
			return mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return PLAN_NONE;
}

const char *blob_entry_hex(const char *entry_name)
{
	const char *hex;

	if (strncmp(entry_name, BLOB_ENTRY_PREFIX, sizeof(BLOB_ENTRY_PREFIX) - 1) != 0)
		return NULL;
	hex = entry_name + sizeof(BLOB_ENTRY_PREFIX) - 1;
	return digest_hex_valid(hex) ? hex : NULL;
}

size_t target_plan_entry(const struct target_plan *p, const char *entry_name)
{
	const char *hex = blob_entry_hex(entry_name);
	char digest[DIGEST_STR];

	if (hex == NULL)
		return PLAN_NONE;
	snprintf(digest, sizeof(digest), "sha256:%s", hex);
	return target_plan_find(p, digest);
}

/* ---- verdicts */

struct image_verdict *verdicts_new(const struct target_plan *p)
{
	struct image_verdict *v = xcalloc(p->nimages ? p->nimages : 1, sizeof(*v));
	size_t i;

	for (i = 0; i < p->nimages; i++)
		if (p->images[i].unusable)
			verdict_fail(&v[i], FX_VERIFY, "%s", p->images[i].why);
	return v;
}

void verdict_fail(struct image_verdict *v, int code, const char *fmt, ...)
{
	va_list ap;

	if (v->failed)
		return;
	v->failed = code;
	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
}

void verdict_blob(struct image_verdict *v, const char *digest, int state, const char *why)
{
	if (state == BLOB_PENDING)
		verdict_fail(v, FX_VERIFY, "%s is missing from the bundle", digest);
	else if (state == BLOB_BAD)
		verdict_fail(v, FX_VERIFY, "%s %s", digest, why);
	else if (state == BLOB_FAILED)
		verdict_fail(v, FX_TARGET, "%s", why);
}

/* ---- the report */

int target_report(const struct target_report *r, struct ferr *e, const char *details_fmt, ...)
{
	const struct target_plan *p = r->plan;
	size_t i, nfailed = 0, ntarget = 0, nverify = 0, charts_failed = 0, nimages = p->nimages - p->ncharts;
	char details[1024], charts[WHY_MAX + 128] = "";
	int code;
	va_list ap;

	if (r->dead_why != NULL)
		fx_warn("%s: %s", ESC(r->spec), r->dead_why);
	for (i = 0; i < p->nimages; i++) {
		struct image_verdict *v = &r->verdicts[i];

		if (r->dead_why != NULL)
			verdict_fail(v, FX_TARGET, "%s", r->dead_image_why);
		else if (!r->finished)
			verdict_fail(v, FX_IO, "the bundle was not read to the end");
		if (!v->failed) {
			if (!r->dry_run && r->lo != NULL && r->lo->on_loaded != NULL && p->images[i].chart == NULL)
				r->lo->on_loaded(r->lo->on_loaded_ctx, r->spec, p->man, p->images[i].mi);
			continue;
		}
		nfailed++;
		charts_failed += p->images[i].chart != NULL;
		ntarget += v->failed == FX_TARGET;
		nverify += v->failed == FX_VERIFY;
		fx_warn("%s: %s%s: not loaded: %s", ESC(r->spec), p->images[i].chart != NULL ? "chart " : "",
		    ESC(p->images[i].mi->ref), v->why);
	}
	va_start(ap, details_fmt);
	vsnprintf(details, sizeof(details), details_fmt, ap);
	va_end(ap);
	if (p->ncharts > 0)
		snprintf(charts, sizeof(charts), "%zu charts %s, %zu %s; ", p->ncharts - charts_failed,
		    r->dry_run ? "would be loaded" : "loaded", charts_failed, r->dry_run ? "would fail" : "failed");
	else if (p->charts_left_out > 0)
		snprintf(charts, sizeof(charts), "%zu charts not loaded: %s; ", p->charts_left_out,
		    r->charts_why != NULL ? r->charts_why : "this target takes no charts");
	fprintf(stderr, "%s: %s: %s%zu images %s, %zu %s; %s%s\n", fx_progname, ESC(r->spec), r->dry_run ? "dry run: " : "",
	    nimages - (nfailed - charts_failed), r->dry_run ? "would be loaded" : "loaded", nfailed - charts_failed,
	    r->dry_run ? "would fail" : "failed", charts, details);
	code = r->dead_why == NULL && nfailed == 0 ? FX_OK :
	    r->dead_why != NULL || ntarget > 0 ? FX_TARGET : nverify > 0 ? FX_VERIFY : FX_IO;
	if (r->lo != NULL && r->lo->on_report != NULL)
		r->lo->on_report(r->lo->on_report_ctx, r, code);
	if (code == FX_OK)
		return FX_OK;
	return fe_set(e, code, "%s: %zu of %zu images%s not loaded", ESC(r->spec), nfailed, p->nimages,
	    p->ncharts > 0 ? " and charts" : "");
}
