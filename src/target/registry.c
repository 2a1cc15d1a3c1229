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

#include "net/repo_name.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>


static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- the registry's side of the plan */

/* The repository and tag image i lands under (net/repo_name.h, the rule serve shares);
 * a failed verdict when it has none. */
static void image_repo(struct reg *g, size_t i)
{
	const struct plan_image *pi = &g->plan->images[i];
	const struct man_image *mi = pi->mi;
	struct rimg *im = &g->imgs[i];
	char repo[REPO_NAME_MAX], tag[REPO_TAG_MAX];

	if (pi->chart != NULL) {
		/* a chart lands at PREFIX/CHARTS-PATH/NAME:TAG, never under an image's host */
		const char *prefix = g->tg.prefix;
		int n = snprintf(im->repo, sizeof(im->repo), "%s%s%s", prefix, *prefix ? "/" : "", pi->chart_repo);
		if (n < 0 || (size_t)n >= sizeof(im->repo))
			verdict_fail(&g->verdicts[i], FX_TARGET, "%s: repository name too long", ESC(mi->ref));
		fx_strlcpy(im->ref, strrchr(mi->ref, ':') + 1, sizeof(im->ref));
		return;
	}
	if (reg_repo_name(mi->ref, g->tg.prefix, g->lo->keep_registry_host, repo, tag) != 0) {
		verdict_fail(&g->verdicts[i], FX_TARGET, "%s names no valid repository under %s", ESC(mi->ref),
		    ESC(g->spec));
		return;
	}
	fx_strlcpy(im->repo, repo, sizeof(im->repo));
	fx_strlcpy(im->ref, tag[0] ? tag : mi->digest, sizeof(im->ref));
}

/* Every image's repository, and for every blob the repositories that need it. */
static void plan_repos(struct reg *g)
{
	const struct target_plan *p = g->plan;
	size_t i, k, r;

	g->nimgs = p->nimages;
	g->imgs = xcalloc(p->nimages ? p->nimages : 1, sizeof(*g->imgs));
	g->verdicts = verdicts_new(p);
	for (i = 0; i < p->nimages; i++)
		if (!g->verdicts[i].failed)
			image_repo(g, i);
	g->nblobs = p->nblobs;
	g->blobs = xcalloc(p->nblobs ? p->nblobs : 1, sizeof(*g->blobs));
	for (i = 0; i < p->nblobs; i++) {
		struct rblob *b = &g->blobs[i];

		b->digest = p->blobs[i].digest;
		b->size = p->blobs[i].size;
		for (k = 0; k < p->blobs[i].nimages; k++) {
			size_t img = p->blobs[i].images[k];

			if (g->verdicts[img].failed)
				continue;
			for (r = 0; r < b->nrepos && strcmp(b->repos[r], g->imgs[img].repo) != 0; r++)
				;
			if (r == b->nrepos) {
				b->repos = xreallocarray(b->repos, b->nrepos + 1, sizeof(*b->repos));
				b->repos[b->nrepos++] = xstrdup(g->imgs[img].repo);
			}
		}
	}
}

/* Before the stream starts: which layers and configs does every repository that needs
 * them hold already? Those need not be read from the bundle at all (a registry keeps
 * blobs by digest), which makes a load into a registry that has it all a matter of
 * the head and a few HEAD requests. An error here only means "not known": the blob
 * then goes the normal way. */
struct present_part {
	struct reg *g;
	struct http *h;
	size_t first, step;
};

static void *find_present_part(void *arg)
{
	struct present_part *part = arg;
	struct reg *g = part->g;
	size_t i, k;

	for (i = part->first; i < g->nblobs; i += part->step) {
		struct rblob *b = &g->blobs[i];
		struct ferr e = {0, ""};

		if (b->nrepos == 0 || g->plan->blobs[i].is_manifest)
			continue;
		for (k = 0; k < b->nrepos && !b->pre_absent; k++) {
			int r = rg_blob_present(g, part->h, b->repos[k], b, &e);
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
	struct present_part parts[JOBS_MAX];
	pthread_t threads[JOBS_MAX];
	int started[JOBS_MAX];
	size_t n = (size_t)g->nworkers, i;

	if (n > g->nblobs)
		n = g->nblobs;
	for (i = 0; i < n; i++) {
		parts[i].g = g;
		parts[i].h = g->worker_conn[i];
		parts[i].first = i;
		parts[i].step = n;
		started[i] = i > 0 && pthread_create(&threads[i], NULL, find_present_part, &parts[i]) == 0;
	}
	for (i = 0; i < n; i++)
		if (i == 0 || !started[i])
			find_present_part(&parts[i]); /* the first part here, and any whose thread did not start */
	for (i = 1; i < n; i++)
		if (started[i])
			pthread_join(threads[i], NULL);
}

/* ---- the sink callbacks (the reader's thread) */

static int reg_head(void *ctx, const struct bundle_head *head, struct ferr *e)
{
	struct reg *g = ctx;
	struct http_resp rs;
	struct http_req rq;
	struct ferr ping_err = {0, ""};
	char *url;

	(void)head;
	(void)e;
	clock_gettime(CLOCK_MONOTONIC, &g->t0);
	plan_repos(g);
	/* is it there, and is it a registry? */
	url = xasprintf("%s/v2/", g->client.base);
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.url = url;
	rq.max_body = HTTP_ERRBODY_MAX;
	if (http_do(g->reader_conn, &rq, &rs, &ping_err) != FX_OK) {
		g->dead = 1;
		fx_strlcpy(g->dead_why, ping_err.msg, sizeof(g->dead_why));
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

/* Hands a job to the workers, waiting while they have as many as they can take. */
static void queue_job(struct reg *g, struct job *j)
{
	pthread_mutex_lock(&g->mu);
	while (g->outstanding >= (size_t)g->running + 1)
		pthread_cond_wait(&g->cv, &g->mu);
	g->outstanding++;
	if (g->queue_tail != NULL)
		g->queue_tail->next = j;
	else
		g->queue_head = j;
	g->queue_tail = j;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static int reg_begin(void *ctx, const char *name, uint64_t size, const struct entry_loc *loc, int *want,
    struct ferr *e)
{
	struct reg *g = ctx;
	struct rblob *b;
	struct job *j;
	size_t i;

	(void)e;
	*want = 0;
	if (g->dead || (i = target_plan_entry(g->plan, name)) == PLAN_NONE)
		return FX_OK;
	b = &g->blobs[i];
	if (b->state != B_PENDING || b->nrepos == 0)
		return FX_OK;
	if (b->present) {
		rg_set_state(g, b, B_OK, NULL);
		rg_count(g, &g->skipped, 0);
		*want = SINK_PRESENT;
		return FX_OK;
	}
	if (g->plan->blobs[i].is_manifest) {
		g->cur_manifest = b;
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
	if (loc != NULL) {
		j->ranged = 1;
		j->fd = loc->fd;
		j->parts = loc->parts;
		j->bundle_size = loc->bundle_size;
		j->off = loc->off;
		memcpy(j->want, loc->digest, SHA256_LEN);
		j->rg = loc->rg;
		j->verdict = -1;
		sha256_init(&j->h);
		queue_job(g, j); /* the worker may free j from here on */
		*want = SINK_RANGED;
		return FX_OK;
	}
	queue_job(g, j);
	g->cur = j;
	*want = !g->lo->dry_run; /* a dry run only needs to know whether it verified */
	return FX_OK;
}

static int reg_data(void *ctx, const void *buf, size_t n, struct ferr *e)
{
	struct reg *g = ctx;
	const unsigned char *p = buf;

	(void)e;
	if (g->cur_manifest != NULL) {
		struct rblob *b = g->cur_manifest;

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
	if (g->cur_manifest != NULL) {
		struct rblob *b = g->cur_manifest;

		g->cur_manifest = NULL;
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

/* ---- manifests, after the stream */

/* A media type goes into a header: only a plain token is accepted. */
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

/* The media type of a manifest for its Content-Type: its own mediaType field, else
 * what its shape says; NULL when it has none usable. */
static char *manifest_media_type(const unsigned char *buf, size_t len)
{
	json_t *root = json_loadb((const char *)buf, len, 0, NULL);
	const char *mt = NULL;
	char *out = NULL;

	if (root != NULL && json_is_object(root)) {
		mt = json_string_value(json_object_get(root, "mediaType"));
		if (mt == NULL)
			mt = json_object_get(root, "manifests") ? "application/vnd.oci.image.index.v1+json" :
			    "application/vnd.oci.image.manifest.v1+json";
	}
	if (valid_media_type(mt))
		out = xstrdup(mt);
	json_decref(root);
	return out;
}

/* Pushes one manifest or index of image i (top: the image's own, under its tag; tag:
 * a signature's, under that tag) unless the registry holds it already; a failure goes
 * into the image's verdict. */
static void push_manifest(struct reg *g, size_t i, const struct rblob *b, int top, const char *tag)
{
	const struct man_image *mi = g->plan->images[i].mi;
	const struct rimg *im = &g->imgs[i];
	struct image_verdict *v = &g->verdicts[i];
	struct ferr e = {0, ""};
	struct http_resp rs;
	char *media_type, *url = NULL, *accept = NULL, *content_type = NULL;
	const char *headers[2] = {NULL, NULL};
	struct regc_request request;

	memset(&rs, 0, sizeof(rs));
	media_type = top && valid_media_type(mi->media_type) ? xstrdup(mi->media_type) : manifest_media_type(b->buf, b->len);
	if (media_type == NULL) {
		verdict_fail(v, FX_VERIFY, "manifest %s has no usable media type", b->digest);
		goto end;
	}
	/* Already there: a child by its digest; the image's own manifest when its tag
	 * already names this digest (a load done before). */
	url = xasprintf("%s/v2/%s/manifests/%s", g->client.base, im->repo, top ? im->ref : tag != NULL ? tag : b->digest);
	accept = xasprintf("Accept: %s", media_type);
	headers[0] = accept;
	request = (struct regc_request){.repo = im->repo, .http = {.method = "HEAD", .url = url, .headers = headers}};
	if (regc_request(&g->client, g->reader_conn, &request, &rs, &e) == FX_OK && rs.status == 200 &&
	    ((!top && tag == NULL) || (rs.digest != NULL && strcmp(rs.digest, b->digest) == 0))) {
		g->manifests_there += top;
		goto end;
	}
	http_resp_free(&rs);
	e.code = 0;
	e.msg[0] = '\0';
	if (g->lo->dry_run) {
		g->manifests++;
		goto end;
	}
	content_type = xasprintf("Content-Type: %s", media_type);
	headers[0] = content_type;
	request = (struct regc_request){.repo = im->repo, .http = {.method = "PUT", .url = url, .headers = headers,
	    .body = b->buf, .body_len = b->len, .max_body = HTTP_ERRBODY_MAX}};
	if (regc_request(&g->client, g->reader_conn, &request, &rs, &e) != FX_OK)
		verdict_fail(v, FX_TARGET, "%s", e.msg);
	else if (rs.status != 201 && rs.status != 200)
		verdict_fail(v, FX_TARGET, "%s: PUT manifest %s: HTTP %ld %s", g->spec, b->digest, rs.status,
		    http_body_snippet(&rs));
	else if (rs.digest != NULL && strcmp(rs.digest, b->digest) != 0)
		verdict_fail(v, FX_TARGET, "%s: registry stored manifest %s as %s", g->spec, b->digest, ESC(rs.digest));
	else
		g->manifests++;
end:
	http_resp_free(&rs);
	free(url);
	free(accept);
	free(content_type);
	free(media_type);
}

/* An image whose every blob verified and landed gets its manifests, children first. */
static void push_image(struct reg *g, size_t i)
{
	const struct plan_image *pi = &g->plan->images[i];
	struct image_verdict *v = &g->verdicts[i];
	size_t k;

	if (pi->refused != NULL)
		verdict_fail(v, FX_VERIFY, "%s", pi->refused);
	for (k = 0; k < pi->nblobs; k++)
		verdict_blob(v, g->blobs[pi->blobs[k]].digest, g->blobs[pi->blobs[k]].state, g->blobs[pi->blobs[k]].why);
	for (k = 0; k < pi->nmanifests && !v->failed; k++)
		push_manifest(g, i, &g->blobs[pi->manifests[k]], k + 1 == pi->nmanifests, NULL);
	/* then its cosign signatures: the legacy ones under the tag cosign looks up,
	 * sigstore bundles by digest (their subject makes them referrers) */
	for (k = 0; k < pi->nsigs && !v->failed; k++) {
		const struct man_signature *sig = &pi->mi->signatures[k];
		char tag[7 + SHA256_HEX + 4];

		snprintf(tag, sizeof(tag), "sha256-%s.sig", pi->mi->digest + 7);
		push_manifest(g, i, &g->blobs[pi->sigs[k]], 0, strcmp(sig->kind, MAN_SIG_SIMPLE) == 0 ? tag : NULL);
	}
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
		if (g->verdicts[i].failed)
			continue;
		if (fx_interrupted)
			verdict_fail(&g->verdicts[i], FX_IO, "interrupted");
		else
			push_image(g, i);
	}
	return FX_OK;
}

static int reg_report(void *ctx, int finished, struct ferr *e)
{
	struct reg *g = ctx;
	struct target_report r = {.spec = g->spec, .plan = g->plan, .verdicts = g->verdicts, .finished = finished,
	    .lo = g->lo, .dry_run = g->lo->dry_run, .dead_why = g->dead ? g->dead_why : NULL,
	    .dead_image_why = "registry unreachable", .blobs_sent = g->pushed, .blobs_present = g->skipped,
	    .blobs_mounted = g->mounted, .manifests = g->manifests, .bytes = g->lo->dry_run ? g->bytes_push : g->bytes_sent};
	char bytes[32];

	fmt_bytes(g->lo->dry_run ? g->bytes_push : g->bytes_sent, bytes, sizeof(bytes));
	if (g->lo->dry_run)
		return target_report(&r, e, "blobs: %zu to push, %zu present, %zu to mount (%s); %zu manifests to push",
		    g->pushed, g->skipped, g->mounted, bytes, g->manifests);
	return target_report(&r, e,
	    "blobs: %zu pushed, %zu skipped, %zu mounted (%s sent); %zu manifests pushed, %zu images already tagged; "
	    "%.1f s", g->pushed, g->skipped, g->mounted, bytes, g->manifests, g->manifests_there, since(&g->t0));
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
		http_free(g->worker_conn[i]);
	http_free(g->reader_conn);
	for (i = 0; i < g->nblobs; i++) {
		for (k = 0; k < g->blobs[i].nrepos; k++)
			free(g->blobs[i].repos[k]);
		free(g->blobs[i].repos);
		free(g->blobs[i].buf);
	}
	free(g->blobs);
	free(g->imgs);
	free(g->verdicts);
	regc_free(&g->client);
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
	free(g);
}

/* ---- construction */

int registry_target_check(const char *spec, void **parsed, struct ferr *e)
{
	struct reg_target target;

	if (reg_parse_target(spec, &target) != 0)
		return fe_set(e, FX_USAGE, "--to %s: expected registry://HOST[:PORT][/PREFIX]", ESC(spec));
	if (parsed != NULL) {
		*parsed = xmalloc(sizeof(target));
		memcpy(*parsed, &target, sizeof(target));
	}
	return FX_OK;
}

int registry_target_open(const char *spec, void *parsed, const struct load_opts *lo, const struct target_plan *plan,
    struct load_target *t, struct ferr *e)
{
	struct regc_opts co;
	struct reg *g;
	int i, rc;

	g = xcalloc(1, sizeof(*g));
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	fx_strlcpy(g->spec, spec, sizeof(g->spec));
	memcpy(&g->tg, parsed, sizeof(g->tg));
	free(parsed);
	co = (struct regc_opts){.name = g->spec, .hostport = g->tg.hostport, .plain_http = lo->plain_http,
	    .cacert = lo->cacert, .creds = lo->creds, .timeout = lo->timeout};
	if ((rc = regc_init(&g->client, &co, e)) != FX_OK) {
		reg_free(g);
		return rc;
	}
	g->lo = lo;
	g->plan = plan;
	g->nworkers = lo->jobs > 0 ? lo->jobs : 4;
	if (g->nworkers > JOBS_MAX)
		g->nworkers = JOBS_MAX;
	g->reader_conn = regc_connect(&g->client);
	for (i = 0; i < g->nworkers; i++)
		g->worker_conn[i] = regc_connect(&g->client);
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
	t->holds = rg_holds;
	t->free = reg_free;
	return FX_OK;
}
