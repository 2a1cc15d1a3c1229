/* registry.c - the registry:// target: pushes a bundle's images to an OCI distribution
 * registry while the bundle streams.
 *
 * Blobs (configs, layers) arrive first. Each one becomes a job that a worker thread
 * takes: it HEADs the blob in every repository that needs it, then either drains the
 * bytes (already there) or streams them into an upload session, chunk by chunk, and
 * only completes the session (PUT ?digest=) once the reader says the blob verified;
 * a blob that fails is cancelled (DELETE). Other repositories get the blob by a
 * cross-repository mount. The reader may go on to the next blob while a worker still
 * sends the last chunks of the previous one; memory stays bounded (CHUNK per queued
 * chunk, a few per job, jobs + 1 jobs).
 *
 * Manifests and indexes are kept in memory (they are small, capped) and pushed after
 * the stream, once every worker is done: an image whose blobs did not all verify and
 * land gets no manifest at all. */
#include "target/registry.h"
#include "target/registry_int.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static struct rblob *find_blob(struct reg *g, const char *digest)
{
	size_t lo = 0, hi = g->nblobs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(digest, g->blobs[mid].digest);

		if (c == 0)
			return &g->blobs[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}


/* ---- the sink callbacks (the reader's thread) */

struct pair {
	const char *digest;
	size_t img;
	int is_manifest;
};

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->digest, y->digest);

	if (c != 0)
		return c;
	return x->img < y->img ? -1 : x->img > y->img;
}

static void img_fail(struct rimg *im, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void img_fail(struct rimg *im, int code, const char *fmt, ...)
{
	va_list ap;

	if (im->failed)
		return;
	im->failed = code;
	va_start(ap, fmt);
	vsnprintf(im->why, sizeof(im->why), fmt, ap);
	va_end(ap);
}

static int build_plan(struct reg *g, const struct manifest *m)
{
	struct pair *pv = NULL;
	size_t np = 0, cap = 0, i, k;

	g->imgs = xcalloc(m->nimages ? m->nimages : 1, sizeof(*g->imgs));
	for (i = 0; i < m->nimages; i++) {
		const struct man_image *mi = &m->images[i];
		struct rimg *im;
		struct reg_ref rr;

		if (!g->sel->selected[i])
			continue;
		im = &g->imgs[g->nimgs++];
		im->mi = mi;
		if (reg_parse_ref(mi->ref, &rr) != 0) {
			img_fail(im, FX_TARGET, "not a valid image reference");
			continue;
		}
		if (reg_dest_repo(&g->tg, &rr, g->lo->keep_registry_host, im->repo, sizeof(im->repo)) != 0) {
			img_fail(im, FX_TARGET, "repository name for %s is not valid here", ESC(mi->ref));
			continue;
		}
		if (!digest_valid(mi->digest) || mi->nmanifests == 0 ||
		    strcmp(mi->manifests[mi->nmanifests - 1], mi->digest) != 0) {
			img_fail(im, FX_VERIFY, "bundle.yaml does not list its manifest");
			continue;
		}
		fx_strlcpy(im->ref, rr.tag[0] ? rr.tag : mi->digest, sizeof(im->ref));
		for (k = 0; k < mi->nblobs + mi->nmanifests; k++) {
			const char *d = k < mi->nblobs ? mi->blobs[k] : mi->manifests[k - mi->nblobs];

			if (!digest_valid(d)) {
				img_fail(im, FX_VERIFY, "bundle.yaml lists a bad digest %s", ESC(d));
				break;
			}
			if (np == cap) {
				cap = cap ? cap * 2 : 64;
				pv = xreallocarray(pv, cap, sizeof(*pv));
			}
			pv[np].digest = d;
			pv[np].img = g->nimgs - 1;
			pv[np].is_manifest = k >= mi->nblobs;
			np++;
		}
	}
	if (np > 0)
		qsort(pv, np, sizeof(*pv), pair_cmp);
	g->blobs = xcalloc(np ? np : 1, sizeof(*g->blobs));
	for (i = 0; i < np;) {
		struct rblob *b = &g->blobs[g->nblobs++];
		size_t j, r;

		fx_strlcpy(b->digest, pv[i].digest, sizeof(b->digest));
		for (j = i; j < np && strcmp(pv[j].digest, pv[i].digest) == 0; j++) {
			struct rimg *im = &g->imgs[pv[j].img];

			b->is_manifest |= pv[j].is_manifest;
			if (b->nimgs > 0 && b->imgs[b->nimgs - 1] == pv[j].img)
				continue; /* listed twice by one image (blobs and manifests) */
			b->imgs = xreallocarray(b->imgs, b->nimgs + 1, sizeof(*b->imgs));
			b->imgs[b->nimgs++] = pv[j].img;
			for (r = 0; r < b->nrepos; r++)
				if (strcmp(b->repos[r], im->repo) == 0)
					break;
			if (r == b->nrepos && !im->failed) {
				b->repos = xreallocarray(b->repos, b->nrepos + 1, sizeof(*b->repos));
				b->repos[b->nrepos++] = xstrdup(im->repo);
			}
		}
		i = j;
	}
	free(pv);
	return FX_OK;
}

/* Before the stream starts: which layers and configs does every repository that needs
 * them hold already? Those need not be read from the bundle at all (a registry keeps
 * blobs by digest), which makes a load into a registry that has it all a matter of
 * the head and a few HEAD requests. An error here only means "not known": the blob
 * then goes the normal way. */
struct fp_ctx {
	struct reg *g;
	struct http *h;
	size_t first, step;
};

static void *find_present_part(void *arg)
{
	struct fp_ctx *c = arg;
	struct reg *g = c->g;
	size_t i, k;

	for (i = c->first; i < g->nblobs; i += c->step) {
		struct rblob *b = &g->blobs[i];
		struct ferr e = {0, ""};

		if (b->nrepos == 0 || b->is_manifest)
			continue;
		for (k = 0; k < b->nrepos && !b->pre_absent; k++) {
			int r = rg_blob_present(g, c->h, b->repos[k], b->digest, &e);
			if (r < 0)
				break; /* not known: the worker asks again */
			b->pre = k + 1;
			b->pre_absent = r == 0;
		}
		b->present = b->pre == b->nrepos && !b->pre_absent;
	}
	return NULL;
}

/* The blobs are split over the upload threads' connections (not started yet), so the
 * requests overlap. */
static void find_present(struct reg *g)
{
	struct fp_ctx c[JOBS_MAX];
	pthread_t th[JOBS_MAX];
	int started[JOBS_MAX];
	size_t n = (size_t)g->nth, i;

	if (n > g->nblobs)
		n = g->nblobs;
	for (i = 0; i < n; i++) {
		c[i].g = g;
		c[i].h = g->hc[i];
		c[i].first = i;
		c[i].step = n;
		started[i] = i > 0 && pthread_create(&th[i], NULL, find_present_part, &c[i]) == 0;
	}
	for (i = 0; i < n; i++)
		if (i == 0 || !started[i])
			find_present_part(&c[i]); /* the first part here, and any whose thread did not start */
	for (i = 1; i < n; i++)
		if (started[i])
			pthread_join(th[i], NULL);
}

static int reg_head(void *ctx, const struct bundle_head *hd, struct ferr *e)
{
	struct reg *g = ctx;
	struct http_resp rs;
	struct http_req rq;
	struct ferr pe = {0, ""};
	char *url;

	(void)e;
	g->headed = 1;
	clock_gettime(CLOCK_MONOTONIC, &g->t0);
	build_plan(g, &hd->man);
	/* is it there, and is it a registry? */
	url = xasprintf("%s/v2/", g->base);
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.url = url;
	rq.max_body = HTTP_ERRBODY_MAX;
	if (http_do(g->mh, &rq, &rs, &pe) != FX_OK) {
		g->dead = 1;
		fx_strlcpy(g->dead_why, pe.msg, sizeof(g->dead_why));
	} else if (rs.status != 200 && rs.status != 401) {
		g->dead = 1;
		snprintf(g->dead_why, sizeof(g->dead_why), "GET %s: HTTP %ld (not an OCI registry?)", ESC(url), rs.status);
	}
	http_resp_free(&rs);
	free(url);
	if (g->dead)
		return FX_OK; /* keep reading: the bundle is still verified; report() fails */
	find_present(g);
	rg_start_workers(g);
	if (g->running == 0) {
		g->dead = 1;
		snprintf(g->dead_why, sizeof(g->dead_why), "cannot start upload threads");
	}
	return FX_OK;
}

static int reg_begin(void *ctx, const char *name, uint64_t size, const struct entry_loc *loc, int *want,
    struct ferr *e)
{
	struct reg *g = ctx;
	struct rblob *b;
	struct job *j;
	char d[80];
	int ranged;

	(void)e;
	*want = 0;
	if (g->dead || strncmp(name, "images/blobs/sha256/", 20) != 0)
		return FX_OK;
	if (snprintf(d, sizeof(d), "sha256:%s", name + 20) >= (int)sizeof(d) || (b = find_blob(g, d)) == NULL)
		return FX_OK;
	if (b->state != B_PENDING || b->nrepos == 0)
		return FX_OK;
	if (b->present) {
		rg_set_state(g, b, B_OK, NULL);
		rg_count(g, &g->skipped, 0);
		*want = SINK_PRESENT;
		return FX_OK;
	}
	b->size = size;
	if (b->is_manifest) {
		g->curman = b;
		b->len = 0;
		b->too_big = size > MANIFEST_MAX;
		if (!b->too_big)
			b->buf = xmalloc(size ? size : 1);
		*want = !b->too_big;
		return FX_OK;
	}
	j = xcalloc(1, sizeof(*j));
	j->b = b;
	j->left = size;
	/* A blob the bundle offers by position is read by the worker itself, so several
	 * blobs stream into the registry at once. */
	ranged = loc != NULL;
	if (ranged) {
		j->ranged = 1;
		j->fd = loc->fd;
		j->off = loc->off;
		memcpy(j->want, loc->digest, SHA256_LEN);
		j->rg = loc->rg;
		j->verdict = -1;
		sha256_init(&j->h);
	}
	pthread_mutex_lock(&g->mu);
	while (g->outstanding >= (size_t)g->running + 1)
		pthread_cond_wait(&g->cv, &g->mu);
	g->outstanding++;
	if (g->pt != NULL)
		g->pt->next = j;
	else
		g->ph = j;
	g->pt = j;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	if (ranged) { /* the worker may free j from here on */
		*want = SINK_RANGED;
		return FX_OK;
	}
	g->cur = j;
	*want = !g->lo->dry_run; /* a dry run only needs to know whether it verified */
	return FX_OK;
}

static int reg_data(void *ctx, const void *buf, size_t n, struct ferr *e)
{
	struct reg *g = ctx;
	const unsigned char *p = buf;

	(void)e;
	if (g->curman != NULL) {
		struct rblob *b = g->curman;

		if (b->too_big || n > b->size - b->len) {
			b->too_big = 1;
			return FX_OK;
		}
		memcpy(b->buf + b->len, p, n);
		b->len += n;
		return FX_OK;
	}
	if (g->cur == NULL)
		return FX_OK;
	while (n > 0) {
		struct job *j = g->cur;
		size_t take;

		if (j->cur == NULL) {
			j->curcap = j->left < CHUNK ? (size_t)j->left : CHUNK;
			if (j->curcap == 0)
				j->curcap = n < CHUNK ? n : CHUNK; /* more than announced: the hash will fail */
			j->cur = xmalloc(j->curcap);
			j->curn = 0;
		}
		take = j->curcap - j->curn < n ? j->curcap - j->curn : n;
		memcpy(j->cur + j->curn, p, take);
		j->curn += take;
		j->left = j->left > take ? j->left - take : 0;
		p += take;
		n -= take;
		if (j->curn == j->curcap && j->left > 0) {
			rg_job_push(g, j, j->cur, j->curn, 0, 0);
			j->cur = NULL;
		}
	}
	return FX_OK;
}

static int reg_end(void *ctx, const char *name, int ok, struct ferr *e)
{
	struct reg *g = ctx;

	(void)name;
	(void)e;
	if (g->curman != NULL) {
		struct rblob *b = g->curman;

		g->curman = NULL;
		if (b->too_big)
			rg_set_state(g, b, B_BAD, "manifest larger than 4 MiB");
		else if (!ok || b->len != b->size)
			rg_set_state(g, b, B_BAD, "did not verify");
		else
			rg_set_state(g, b, B_OK, NULL);
		return FX_OK;
	}
	if (g->cur != NULL) {
		struct job *j = g->cur;
		unsigned char *p = j->cur;

		g->cur = NULL;
		j->cur = NULL;
		rg_job_push(g, j, p, p ? j->curn : 0, 1, ok); /* the worker may free j from here on */
	}
	return FX_OK;
}

/* The media type of a manifest for its Content-Type: its own mediaType field, else
 * what its shape says. Only a plain token is accepted (it goes into a header). */
static char *manifest_media_type(const unsigned char *buf, size_t len)
{
	json_t *root = json_loadb((const char *)buf, len, 0, NULL);
	const char *mt = NULL;
	char *out;
	size_t i;

	if (root != NULL && json_is_object(root)) {
		mt = json_string_value(json_object_get(root, "mediaType"));
		if (mt == NULL)
			mt = json_object_get(root, "manifests") ? "application/vnd.oci.image.index.v1+json" :
			    "application/vnd.oci.image.manifest.v1+json";
	}
	if (mt == NULL || *mt == '\0' || strlen(mt) > 255) {
		json_decref(root);
		return NULL;
	}
	for (i = 0; mt[i]; i++)
		if (!(isalnum((unsigned char)mt[i]) || strchr("./+-_", mt[i]) != NULL)) {
			json_decref(root);
			return NULL;
		}
	out = xstrdup(mt);
	json_decref(root);
	return out;
}

static int valid_media_type(const char *mt)
{
	size_t i;

	if (mt == NULL || *mt == '\0' || strlen(mt) > 255)
		return 0;
	for (i = 0; mt[i]; i++)
		if (!(isalnum((unsigned char)mt[i]) || strchr("./+-_", mt[i]) != NULL))
			return 0;
	return 1;
}

static void push_image(struct reg *g, struct rimg *im)
{
	const struct man_image *mi = im->mi;
	struct ferr e = {0, ""};
	size_t k;

	for (k = 0; k < mi->nblobs + mi->nmanifests; k++) {
		const char *d = k < mi->nblobs ? mi->blobs[k] : mi->manifests[k - mi->nblobs];
		struct rblob *b = find_blob(g, d);

		if (b == NULL)
			continue;
		if (b->state == B_PENDING) {
			img_fail(im, FX_VERIFY, "%s is missing from the bundle", d);
			return;
		}
		if (b->state == B_BAD) {
			img_fail(im, FX_VERIFY, "%s %s", d, b->why);
			return;
		}
		if (b->state == B_FAILED) {
			img_fail(im, FX_TARGET, "%s", b->why);
			return;
		}
	}
	for (k = 0; k < mi->nmanifests; k++) {
		struct rblob *b = find_blob(g, mi->manifests[k]);
		int top = k + 1 == mi->nmanifests;
		char *mt = NULL, *url = NULL, *ct = NULL;
		const char *hd[2] = {NULL, NULL};
		struct http_resp rs;
		int rc;

		memset(&rs, 0, sizeof(rs));
		if (top && valid_media_type(mi->media_type))
			mt = xstrdup(mi->media_type);
		else
			mt = manifest_media_type(b->buf, b->len);
		if (mt == NULL) {
			img_fail(im, FX_VERIFY, "manifest %s has no usable media type", b->digest);
			return;
		}
		/* Already there: a child by its digest; the image's own manifest when its tag
		 * already names this digest (a load done before). */
		url = xasprintf("%s/v2/%s/manifests/%s", g->base, im->repo, top ? im->ref : b->digest);
		ct = xasprintf("Accept: %s", mt);
		hd[0] = ct;
		if (rg_rreq(g, g->mh, im->repo, "HEAD", url, hd, NULL, 0, 0, &rs, &e) == FX_OK && rs.status == 200 &&
		    (!top || (rs.digest != NULL && strcmp(rs.digest, b->digest) == 0))) {
			if (top)
				g->manifests_there++;
			goto next;
		}
		http_resp_free(&rs);
		free(url);
		free(ct);
		url = ct = NULL;
		e.code = 0;
		e.msg[0] = '\0';
		if (g->lo->dry_run) {
			g->manifests++;
			goto next;
		}
		url = xasprintf("%s/v2/%s/manifests/%s", g->base, im->repo, top ? im->ref : b->digest);
		e.code = 0;
		e.msg[0] = '\0';
		ct = xasprintf("Content-Type: %s", mt);
		hd[0] = ct;
		rc = rg_rreq(g, g->mh, im->repo, "PUT", url, hd, b->buf, b->len, HTTP_ERRBODY_MAX, &rs, &e);
		if (rc != FX_OK) {
			img_fail(im, FX_TARGET, "%s", e.msg);
		} else if (rs.status != 201 && rs.status != 200) {
			img_fail(im, FX_TARGET, "%s: PUT manifest %s: HTTP %ld %s", g->spec, b->digest, rs.status,
			    http_body_snippet(&rs));
		} else if (rs.digest != NULL && strcmp(rs.digest, b->digest) != 0) {
			img_fail(im, FX_TARGET, "%s: registry stored manifest %s as %s", g->spec, b->digest, ESC(rs.digest));
		} else {
			g->manifests++;
		}
next:
		http_resp_free(&rs);
		free(url);
		free(ct);
		free(mt);
		if (im->failed)
			return;
	}
	g->loaded++;
}

/* Every blob is uploaded (or failed) when this returns: the reader may then close the
 * bundle that ranged jobs read from. */
static void reg_drain(void *ctx)
{
	rg_stop_workers(ctx);
}

static int reg_finish(void *ctx, int all_ok, struct ferr *e)
{
	struct reg *g = ctx;
	size_t i;

	(void)all_ok;
	(void)e;
	if (g->dead)
		return FX_OK;
	rg_stop_workers(g);
	for (i = 0; i < g->nimgs; i++) {
		if (g->imgs[i].failed)
			continue;
		if (fx_interrupted) {
			img_fail(&g->imgs[i], FX_IO, "interrupted");
			continue;
		}
		push_image(g, &g->imgs[i]);
	}
	return FX_OK;
}

static int reg_report(void *ctx, int finished, struct ferr *e)
{
	struct reg *g = ctx;
	size_t i, nfail = 0, ntarget = 0;
	char b1[32];

	if (!g->headed)
		return FX_OK;
	if (g->dead)
		fx_warn("%s: %s", g->spec, g->dead_why);
	for (i = 0; i < g->nimgs; i++) {
		struct rimg *im = &g->imgs[i];

		if (g->dead)
			img_fail(im, FX_TARGET, "registry unreachable");
		else if (!finished)
			img_fail(im, FX_IO, "the bundle was not read to the end");
		if (!im->failed) {
			if (g->lo->on_loaded != NULL && !g->lo->dry_run)
				g->lo->on_loaded(g->lo->on_loaded_ctx, g->spec, g->sel->man, im->mi);
			continue;
		}
		nfail++;
		if (im->failed == FX_TARGET)
			ntarget++;
		fx_warn("%s: %s: not loaded: %s", g->spec, ESC(im->mi->ref), im->why);
	}
	fmt_bytes(g->lo->dry_run ? g->bytes_push : g->bytes_sent, b1, sizeof(b1));
	if (g->lo->dry_run)
		fprintf(stderr,
		    "%s: %s: dry run: %zu images would be loaded, %zu would fail; blobs: %zu to push, %zu present, %zu to mount "
		    "(%s); %zu manifests to push\n",
		    fx_progname, g->spec, g->nimgs - nfail, nfail, g->pushed, g->skipped, g->mounted, b1, g->manifests);
	else
		fprintf(stderr,
		    "%s: %s: %zu images loaded, %zu failed; blobs: %zu pushed, %zu skipped, %zu mounted (%s sent); "
		    "%zu manifests pushed, %zu images already tagged; %.1f s\n",
		    fx_progname, g->spec, g->loaded, nfail, g->pushed, g->skipped, g->mounted, b1, g->manifests,
		    g->manifests_there, since(&g->t0));
	if (ntarget > 0 || g->dead)
		return fe_set(e, FX_TARGET, "%s: %zu of %zu images not loaded", g->spec, ntarget ? ntarget : nfail,
		    g->nimgs);
	return FX_OK;
}

static void reg_free(void *ctx)
{
	struct reg *g = ctx;
	size_t i, k;

	if (g == NULL)
		return;
	if (g->running > 0)
		rg_stop_workers(g);
	for (i = 0; i < JOBS_MAX; i++)
		http_free(g->hc[i]);
	http_free(g->mh);
	for (i = 0; i < g->nblobs; i++) {
		for (k = 0; k < g->blobs[i].nrepos; k++)
			free(g->blobs[i].repos[k]);
		free(g->blobs[i].repos);
		free(g->blobs[i].imgs);
		free(g->blobs[i].buf);
	}
	free(g->blobs);
	free(g->imgs);
	for (i = 0; i < g->ntoks; i++) {
		free(g->toks[i].repo);
		rg_free_secret(g->toks[i].hdr);
	}
	free(g->toks);
	rg_free_secret(g->basic);
	rg_free_secret(g->user);
	rg_free_secret(g->pass);
	pthread_mutex_destroy(&g->mu);
	pthread_mutex_destroy(&g->amu);
	http_budget_destroy(&g->budget);
	pthread_cond_destroy(&g->cv);
	free(g);
}

int registry_target_open(const char *spec, const struct load_opts *lo, const struct load_sel *sel,
    struct load_target *t, struct ferr *e)
{
	struct reg *g;
	int i;

	g = xcalloc(1, sizeof(*g));
	pthread_mutex_init(&g->mu, NULL);
	pthread_mutex_init(&g->amu, NULL);
	pthread_cond_init(&g->cv, NULL);
	fx_strlcpy(g->spec, spec, sizeof(g->spec));
	if (reg_parse_target(spec, &g->tg) != 0) {
		reg_free(g);
		return fe_set(e, FX_USAGE, "--to %s: expected registry://HOST[:PORT][/PREFIX]", ESC(spec));
	}
	snprintf(g->base, sizeof(g->base), "%s://%s", lo->plain_http ? "http" : "https", g->tg.hostport);
	g->lo = lo;
	g->sel = sel;
	g->ho.cacert = lo->cacert;
	http_budget_init(&g->budget, RETRY_BUDGET_MS);
	g->ho.budget = &g->budget;
	if (lo->creds != NULL) {
		if (rg_set_userpass(g, lo->creds, strlen(lo->creds)) != 0) {
			reg_free(g);
			return fe_set(e, FX_USAGE, "--creds: expected USER:PASS");
		}
	} else {
		rg_load_docker_config(g);
	}
	g->nth = lo->jobs > 0 ? lo->jobs : 4;
	if (g->nth > JOBS_MAX)
		g->nth = JOBS_MAX;
	http_global_init();
	g->mh = http_new(&g->ho);
	for (i = 0; i < g->nth; i++)
		g->hc[i] = http_new(&g->ho);
	memset(t, 0, sizeof(*t));
	t->spec = spec;
	t->sink.ctx = g;
	t->sink.head = reg_head;
	t->sink.begin = reg_begin;
	t->sink.drain = reg_drain;
	t->sink.data = reg_data;
	t->sink.end = reg_end;
	t->sink.finish = reg_finish;
	t->report = reg_report;
	t->free = reg_free;
	return FX_OK;
}
