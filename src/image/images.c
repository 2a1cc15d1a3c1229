/* images.c - the pack side of images, the flow: every reference is checked first, every
 * input read (input.c), the layers of all legacy docker saves compressed in one pool
 * (convert.c), then each image staged (oci_input.c, convert.c) into one deduplicated
 * OCI layout whose blobs come in bundle order (configs and layers, then manifests, then
 * indexes, children before parents).
 *
 * Inputs are recognised by content: an archive or directory with oci-layout and
 * index.json is OCI (copied byte-exact, Docker >= 25 included); one with only
 * manifest.json is a legacy docker save (converted). */
#include "image/images_int.h"
#include "util/progress.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- string vectors and what one image collects --- */

void strv_push(char ***v, size_t *n, char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof(char *));
	(*v)[(*n)++] = s;
}

int strv_has(char **v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

void strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void summary_blob(struct image_summary *a, const char *hex, uint64_t size)
{
	char *d = xasprintf("sha256:%s", hex);

	if (strv_has(a->blobs, a->nblobs, d)) {
		free(d);
		return;
	}
	strv_push(&a->blobs, &a->nblobs, d);
	a->size += size;
}

void summary_manifest(struct image_summary *a, const char *hex)
{
	char *d = xasprintf("sha256:%s", hex);

	if (strv_has(a->manifests, a->nmanifests, d))
		free(d);
	else
		strv_push(&a->manifests, &a->nmanifests, d);
}

void summary_platform(struct image_summary *a, const char *platform)
{
	if (platform == NULL || strcmp(platform, "unknown/unknown") == 0 ||
	    strv_has(a->platforms, a->nplatforms, platform))
		return;
	strv_push(&a->platforms, &a->nplatforms, xstrdup(platform));
}

static void summary_free(struct image_summary *a)
{
	strv_free(a->blobs, a->nblobs);
	strv_free(a->manifests, a->nmanifests);
	strv_free(a->platforms, a->nplatforms);
	free(a->platform);
	memset(a, 0, sizeof(*a));
}

/* --- the staged blob set --- */

char *stage_tmp_path(struct stage *st)
{
	return xasprintf("%s/%lu", st->tmpdir, __atomic_add_fetch(&st->serial, 1, __ATOMIC_RELAXED));
}

struct img_blob *blob_find(struct stage *st, const unsigned char digest[SHA256_LEN])
{
	struct blob_list *lists[2] = {&st->leaves, &st->manifests};
	size_t l, i;

	for (l = 0; l < 2; l++)
		for (i = 0; i < lists[l]->n; i++)
			if (memcmp(lists[l]->v[i].digest, digest, SHA256_LEN) == 0)
				return &lists[l]->v[i];
	return NULL;
}

static void blob_list_add(struct blob_list *b, const unsigned char digest[SHA256_LEN], uint64_t size,
    char *path)
{
	struct img_blob *x;

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->v = xreallocarray(b->v, b->cap, sizeof(*b->v));
	}
	x = &b->v[b->n++];
	memset(x, 0, sizeof(*x));
	memcpy(x->digest, digest, SHA256_LEN);
	hex_encode(digest, SHA256_LEN, x->hex);
	x->size = size;
	x->path = path;
}

static void blob_list_free(struct blob_list *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		free(b->v[i].path);
		free(b->v[i].where);
	}
	free(b->v);
	memset(b, 0, sizeof(*b));
}

/* The blob already in the set under digest (NULL: none); one with another size is an
 * error (*have NULL, FX_VERIFY). */
static int blob_known(struct stage *st, const unsigned char digest[SHA256_LEN], uint64_t size,
    struct img_blob **have, struct ferr *e)
{
	*have = blob_find(st, digest);
	if (*have != NULL && (*have)->size != size) {
		fe_set(e, FX_VERIFY, "blob sha256:%s seen with two sizes", (*have)->hex);
		*have = NULL;
		return FX_VERIFY;
	}
	return FX_OK;
}

int stage_tmp(struct stage *st, struct blob_list *b, const char *tmp, const unsigned char digest[SHA256_LEN],
    uint64_t size, char **final, struct ferr *e)
{
	struct img_blob *have;
	char hex[SHA256_HEX];
	char *dst = NULL;
	int rc;

	if ((rc = blob_known(st, digest, size, &have, e)) != FX_OK)
		goto end;
	if (have != NULL) {
		unlink(tmp);
		dst = have->path;
		goto end;
	}
	hex_encode(digest, SHA256_LEN, hex);
	dst = xasprintf("%s/%s", st->blobdir, hex);
	if (rename(tmp, dst) != 0) {
		rc = fe_set(e, FX_IO, "%s: %s", ESC(dst), strerror(errno));
		free(dst);
		dst = NULL;
		goto end;
	}
	blob_list_add(b, digest, size, dst);
end:
	if (rc == FX_OK && final != NULL)
		*final = dst;
	return rc;
}

int stage_written(struct stage *st, struct blob_list *b, const char *path, uint64_t off,
    const unsigned char digest[SHA256_LEN], uint64_t size, struct ferr *e)
{
	struct img_blob *x;

	if (blob_known(st, digest, size, &x, e) != FX_OK)
		return e->code;
	if (x == NULL) {
		blob_list_add(b, digest, size, NULL);
		x = &b->v[b->n - 1];
	}
	/* a copy staged from another input is now not written again */
	free(x->path);
	x->path = xstrdup(path);
	free(x->where); /* written and hashed by the caller: no longer a claim */
	x->where = NULL;
	x->offset = off;
	x->remote = NULL;
	x->in_output = 1;
	return FX_OK;
}

int stage_member(struct stage *st, struct input *in, struct blob_list *b, struct member *m, struct ferr *e)
{
	char *final = NULL;
	int rc;

	if (m->claimed) { /* left where it lies; the caller checks it as it copies it */
		struct img_blob *have;
		if ((rc = blob_known(st, m->digest, m->size, &have, e)) != FX_OK || have != NULL)
			return rc;
		blob_list_add(b, m->digest, m->size, xstrdup(m->path));
		b->v[b->n - 1].offset = m->offset;
		b->v[b->n - 1].where = xstrdup(in->label);
		return FX_OK;
	}
	if ((rc = member_stage_range(in, m, e)) != FX_OK)
		return rc;
	if (blob_find(st, m->digest) != NULL || m->moved)
		return FX_OK;
	if (m->remote != NULL) { /* a registry layer: fetched into the output later */
		blob_list_add(b, m->digest, m->size, NULL);
		b->v[b->n - 1].remote = m->remote;
		m->moved = 1;
		return FX_OK;
	}
	if (in->dir != NULL) {
		blob_list_add(b, m->digest, m->size, xstrdup(m->path));
		return FX_OK;
	}
	if ((rc = stage_tmp(st, b, m->path, m->digest, m->size, &final, e)) != FX_OK)
		return rc;
	free(m->path);
	m->path = xstrdup(final);
	m->moved = 1;
	return FX_OK;
}

int stage_buf(struct stage *st, struct blob_list *b, const char *buf, size_t len,
    unsigned char digest[SHA256_LEN], struct ferr *e)
{
	char *tmp = stage_tmp_path(st);
	int fd, rc = FX_OK;

	sha256_buf(buf, len, digest);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || write_all(fd, buf, len) != 0) {
		rc = fe_set(e, FX_IO, "%s: %s", ESC(tmp), strerror(errno));
		if (fd >= 0)
			close(fd);
		goto end;
	}
	if (close(fd) != 0) {
		rc = fe_set(e, FX_IO, "%s: %s", ESC(tmp), strerror(errno));
		goto end;
	}
	rc = stage_tmp(st, b, tmp, digest, len, NULL, e);
end:
	free(tmp);
	return rc;
}

/* --- one image --- */

/* Splits FROM into a path that exists and an optional ":TAG" after it; TAG may be a
 * bare tag ("1") or a reference ("corp/app:1"), so every ':' is tried from the left. */
static int split_from(const char *from, char **path, char **tag, struct ferr *e)
{
	struct stat sb;
	const char *c;
	int err;

	*path = NULL;
	*tag = NULL;
	if (stat(from, &sb) == 0) {
		*path = xstrdup(from);
		return FX_OK;
	}
	err = errno;
	for (c = strchr(from, ':'); c != NULL && *path == NULL; c = strchr(c + 1, ':')) {
		char *p;
		if (c == from || c[1] == '\0')
			continue;
		p = xstrdup(from);
		p[c - from] = '\0';
		if (stat(p, &sb) == 0) {
			*path = p;
			*tag = xstrdup(c + 1);
		} else {
			free(p);
		}
	}
	return *path != NULL ? FX_OK : fe_set(e, FX_IO, "%s: %s", ESC(from), strerror(err));
}

/* An image's input, read in the first pass and staged in the second. */
struct opened_input {
	struct input in;
	char label[LABEL_MAX];
	char *path, *tag;
	int docker; /* a legacy docker save (converted), else OCI */
};

static void opened_free(struct opened_input *op)
{
	input_free(&op->in);
	free(op->path);
	free(op->tag);
	op->path = op->tag = NULL;
}

/* Reads the input FROM names: a daemon's stream, an archive or a layout directory. */
static int input_open(struct stage *st, const struct img_src *src, struct opened_input *op, struct ferr *e)
{
	struct stat sb;
	char where[256], path[700];
	int daemon = strncmp(src->from, "docker-daemon:", 14) == 0, rc = FX_OK;

	if (daemon)
		op->path = xstrdup(src->from); /* one image from a daemon: no tag to pick by */
	else if ((rc = split_from(src->from, &op->path, &op->tag, e)) != FX_OK)
		return rc;
	fx_esc(src->where ? src->where : "spec", where, sizeof(where));
	fx_esc(op->path, path, sizeof(path));
	snprintf(op->label, sizeof(op->label), "%s: %s", where, path);
	op->in.label = op->label;
	op->in.st = st;
	if (daemon)
		return input_read_daemon(st, &op->in, src->from, e);
	if (stat(op->path, &sb) != 0)
		return fe_set(e, FX_IO, "%s: %s", op->label, strerror(errno));
	if (S_ISDIR(sb.st_mode)) {
		op->in.dir = xstrdup(op->path);
		return FX_OK;
	}
	if (!S_ISREG(sb.st_mode))
		return fe_set(e, FX_IO, "%s: not a file or directory", op->label);
	return input_read_archive(st, &op->in, op->path, -1, e);
}

static void registry_label(const struct img_src *src, struct opened_input *op)
{
	fx_esc(src->where ? src->where : "spec", op->label, sizeof(op->label));
	op->in.label = op->label;
}

/* First pass: reads an image's input, stages what its manifests reference and queues
 * the layers it needs converted. */
static int stage_open(struct stage *st, const struct img_src *src, const struct oci_ref *ref,
    struct opened_input *op, struct ferr *e)
{
	int rc;

	if (pull_wanted(src)) {
		registry_label(src, op);
		return input_read_registry(st, &op->in, src, ref, e);
	}
	if ((rc = input_open(st, src, op, e)) != FX_OK)
		return rc;
	if (input_find(&op->in, "index.json", e) != NULL && input_find(&op->in, "oci-layout", e) != NULL)
		op->docker = 0;
	else if (e->code == 0 && input_find(&op->in, "manifest.json", e) != NULL)
		op->docker = 1;
	else
		return fe_set(e, FX_VERIFY, "%s: neither a docker save archive nor an OCI layout "
		    "(no manifest.json, no oci-layout and index.json)", op->label);
	if (op->in.ndeferred > 0 &&
	    ((rc = op->docker ? docker_reference(&op->in, e) : oci_reference(&op->in, e)) != FX_OK ||
	    (rc = input_read_referenced(&op->in, e)) != FX_OK))
		return rc;
	return op->docker ? docker_plan(st, &op->in, op->tag, ref, e) : FX_OK;
}

/* The bundle.yaml description of a staged image; takes what a collected. */
static void describe_image(struct man_image *mi, const char *full, const struct oci_desc *top,
    struct image_summary *a)
{
	mi->ref = xstrdup(full);
	mi->digest = xasprintf("sha256:%s", top->hex);
	mi->media_type = xstrdup(top->media_type);
	mi->platforms = a->platforms;
	mi->nplatforms = a->nplatforms;
	mi->size = a->size;
	mi->layers = a->layers;
	mi->blobs = a->blobs;
	mi->nblobs = a->nblobs;
	mi->manifests = a->manifests;
	mi->nmanifests = a->nmanifests;
	a->platforms = a->blobs = a->manifests = NULL;
	a->nplatforms = a->nblobs = a->nmanifests = 0;
}

/* Second pass: stages an image read by stage_open (its layers already converted). */
static int stage_one(struct stage *st, const struct img_src *src, struct opened_input *op, const char *full,
    const struct oci_ref *ref, struct man_image *mi, struct oci_desc *top, struct ferr *e)
{
	struct image_summary a;
	struct sig_list sigs;
	char *have = NULL;
	int rc;

	memset(&a, 0, sizeof(a));
	memset(&sigs, 0, sizeof(sigs));
	if (op->docker)
		rc = stage_docker(st, &op->in, op->tag, ref, &a, top, e);
	else if ((rc = oci_sigs_find(&op->in, &sigs, e)) == FX_OK)
		rc = stage_oci(st, &op->in, op->tag, ref, &sigs, &a, top, e);
	if (rc != FX_OK)
		goto end;
	have = xasprintf("sha256:%s", top->hex);
	if (ref->digest != NULL && strcmp(have, ref->digest) != 0) {
		rc = fe_set(e, FX_VERIFY, "%s: image %s: the input's digest is %s", op->label, ESC(full), have);
		goto end;
	}
	describe_image(mi, full, top, &a);
	mi->upstream_index = xstrdup_or_null(op->in.upstream_index);
	if ((rc = oci_sigs_stage(st, &op->in, &sigs, top, src, full, mi, e)) != FX_OK)
		goto end;
	/* index.json: a single manifest says its platform, an index lists its own. */
	free(top->platform);
	top->platform = oci_mt_is_manifest(top->media_type) && a.platform != NULL ? xstrdup(a.platform) : NULL;
	free(top->ref_name);
	top->ref_name = xstrdup(full);
	free(top->image_name);
	top->image_name = NULL;
end:
	free(have);
	summary_free(&a);
	sig_list_free(&sigs);
	return rc;
}

static void man_image_free(struct man_image *mi)
{
	free(mi->ref);
	free(mi->digest);
	free(mi->media_type);
	free(mi->upstream_index);
	strv_free(mi->platforms, mi->nplatforms);
	strv_free(mi->blobs, mi->nblobs);
	strv_free(mi->manifests, mi->nmanifests);
	manifest_free_signatures(mi);
	memset(mi, 0, sizeof(*mi));
}

/* Every reference first, in its full form: a typo fails before minutes of compression. */
static int check_refs(const struct img_src *srcs, size_t n, char **fulls, struct ferr *e)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		const char *where = srcs[i].where ? srcs[i].where : "spec";
		struct oci_ref r;
		struct ferr ref_err = {0, ""};
		if (oci_ref_parse(srcs[i].ref, &r, &ref_err) != FX_OK)
			return fe_set(e, FX_USAGE, "%s: %s", ESC(where), ref_err.msg);
		fulls[i] = oci_ref_string(&r);
		oci_ref_free(&r);
		for (j = 0; j < i; j++)
			if (strcmp(fulls[i], fulls[j]) == 0)
				return fe_set(e, FX_USAGE, "%s: image %s is listed twice", ESC(where), ESC(fulls[i]));
	}
	return FX_OK;
}

/* A layer this large is staged, not written into the output as it is compressed: its
 * compressed size could reach what a tar header of one block can say (8 GiB). */
#define LAYERS_OUT_MAX (((uint64_t)8 << 30) - ((uint64_t)64 << 20))

/* Once every input is read: the caller's output for the layers to convert, if it
 * takes them (img_opts.layers_out), told at most what the head will list. */
static int layers_out_open(struct stage *st, const struct opened_input *ops, size_t n, struct ferr *e)
{
	struct img_bound bound = {n, 0, 0};
	size_t i;

	if (st->o->layers_out == NULL || st->o->layer_zstd || st->npending == 0)
		return FX_OK;
	for (i = 0; i < st->npending; i++)
		if (st->pending[i].src->size > LAYERS_OUT_MAX)
			return FX_OK;
	for (i = 0; i < n; i++) { /* every blob is a member of an input, or made for it */
		bound.blobs += ops[i].in.nmembers + 2;
		bound.manifests += ops[i].docker ? 1 : ops[i].in.nmembers + 1;
	}
	return st->o->layers_out(st->o->layers_out_ctx, &bound, &st->out, &st->out_path, e);
}

/* The images pulled from registries, read at once (each waits mostly on the network:
 * a manifest, an index's manifests, a config, the signature look-ups), jobs threads
 * taking them in turn; then finished one after another in the spec's order, so that
 * what they give the stage does not depend on which answered first. */
struct reg_read {
	struct stage *st;
	const struct img_src *src;
	struct opened_input *op;
	struct pull *p; /* set by pull_read */
	struct ferr err;
	int rc;
};

struct reg_pool {
	struct reg_read *v;
	size_t n, next;
	pthread_mutex_t mu;
};

static void *reg_worker(void *arg)
{
	struct reg_pool *pool = arg;

	for (;;) {
		struct reg_read *r;
		struct oci_ref ref;
		pthread_mutex_lock(&pool->mu);
		r = pool->next < pool->n && !fx_interrupted ? &pool->v[pool->next++] : NULL;
		pthread_mutex_unlock(&pool->mu);
		if (r == NULL)
			return NULL;
		if ((r->rc = oci_ref_parse(r->src->ref, &ref, &r->err)) != FX_OK)
			continue;
		registry_label(r->src, r->op);
		r->rc = pull_read(r->st, &r->op->in, r->src, &ref, &r->p, &r->err);
		oci_ref_free(&ref);
	}
}

/* The first failure in the spec's order is the one reported. */
static int read_registries(struct stage *st, const struct img_src *srcs, size_t n, struct opened_input *ops,
    size_t *nread, struct ferr *e)
{
	struct reg_pool pool;
	pthread_t tid[PULL_JOBS_MAX];
	size_t i, k, started = 0;
	int rc = FX_OK, jobs = st->o->jobs;

	memset(&pool, 0, sizeof(pool));
	pool.v = xcalloc(n, sizeof(*pool.v));
	for (i = 0; i < n; i++)
		if (pull_wanted(&srcs[i])) {
			pool.v[pool.n] = (struct reg_read){.st = st, .src = &srcs[i], .op = &ops[i], .rc = -1};
			pool.n++;
			if (st->o->progress != NULL)
				progress_item(st->o->progress, srcs[i].ref, ++*nread, n);
		}
	pthread_mutex_init(&pool.mu, NULL);
	/* a few KiB each, mostly waiting for answers: more at once than --jobs, whose
	 * default is the cores; --jobs 1 reads them one after another (stage_all) */
	jobs = jobs < PULL_READS_MIN ? PULL_READS_MIN : jobs > PULL_JOBS_MAX ? PULL_JOBS_MAX : jobs;
	for (; started < (size_t)jobs && started < pool.n; started++)
		if (pthread_create(&tid[started], NULL, reg_worker, &pool) != 0)
			break;
	if (started == 0)
		reg_worker(&pool);
	for (k = 0; k < started; k++)
		pthread_join(tid[k], NULL);
	pthread_mutex_destroy(&pool.mu);
	for (k = 0; k < pool.n; k++) {
		struct reg_read *r = &pool.v[k];
		if (r->p != NULL)
			pull_finish(r->p, r->rc == FX_OK);
		if (rc == FX_OK && r->rc != FX_OK) {
			rc = r->rc < 0 ? fe_set(e, FX_IO, "interrupted") : r->rc;
			if (r->rc > 0)
				*e = r->err;
		}
	}
	free(pool.v);
	return rc;
}

/* Reads every input (first pass), converts, then stages every image (second pass). */
static int stage_all(struct stage *st, const struct img_src *srcs, size_t n, char **fulls,
    struct opened_input *ops, struct oci_desc *tops, struct img_set *out, struct ferr *e)
{
	struct oci_ref r;
	size_t i, nread = 0, nreg = 0;
	int rc = FX_OK;

	/* Every input is read before anything is compressed, so that the layers of all
	 * images share one compression pool; images from registries first, so that a docker
	 * save layer with the same content reuses theirs. When their layers are left for
	 * images_fetch (stream_pulls), what is read of each is small, and they are read at
	 * once; otherwise one after another, so that a layer two images share is pulled once. */
	for (i = 0; i < n; i++)
		nreg += pull_wanted(&srcs[i]) != 0;
	if (st->o->stream_pulls && nreg > 1 && st->o->jobs > 1) {
		if ((rc = read_registries(st, srcs, n, ops, &nread, e)) != FX_OK)
			return rc;
		i = n; /* the other inputs next */
	} else {
		i = 0;
	}
	for (; i < 2 * n && rc == FX_OK; i++) {
		const struct img_src *src = &srcs[i % n];
		if (pull_wanted(src) != (i < n))
			continue;
		if (fx_interrupted)
			return fe_set(e, FX_IO, "interrupted");
		if ((rc = oci_ref_parse(src->ref, &r, e)) != FX_OK)
			return rc;
		if (st->o->progress != NULL)
			progress_item(st->o->progress, src->ref, ++nread, n);
		st->image = fulls[i % n];
		st->image_index = i % n + 1;
		st->nimages = n;
		rc = stage_open(st, src, &r, &ops[i % n], e);
		oci_ref_free(&r);
	}
	if (rc == FX_OK && st->o->progress != NULL && st->npending > 0)
		progress_item(st->o->progress, "compressing layers", 0, 0);
	if (rc != FX_OK || (rc = layers_out_open(st, ops, n, e)) != FX_OK || (rc = docker_convert(st, e)) != FX_OK)
		return rc;
	for (i = 0; i < n && rc == FX_OK; i++) {
		if ((rc = oci_ref_parse(srcs[i].ref, &r, e)) != FX_OK)
			return rc;
		rc = stage_one(st, &srcs[i], &ops[i], fulls[i], &r, &out->images[i], &tops[i], e);
		oci_ref_free(&r);
		out->nimages = i + 1; /* freed with the set, also when it failed half-way */
		if (rc == FX_OK && srcs[i].locked != NULL && !pull_wanted(&srcs[i]) &&
		    strcmp(out->images[i].digest, srcs[i].locked) != 0)
			rc = fe_set(e, FX_VERIFY, "%s: image %s: the input's digest is %s, the lock file says %s", ops[i].label,
			    ESC(fulls[i]), out->images[i].digest, srcs[i].locked);
	}
	return rc;
}

int images_stage(const struct img_src *srcs, size_t n, const struct img_opts *o, struct img_set *out,
    struct ferr *e)
{
	struct stage st;
	struct oci_desc *tops = xcalloc(n ? n : 1, sizeof(*tops));
	struct opened_input *ops = xcalloc(n ? n : 1, sizeof(*ops));
	char **fulls = xcalloc(n ? n : 1, sizeof(*fulls));
	size_t i;
	int rc = FX_OK;

	memset(out, 0, sizeof(*out));
	memset(&st, 0, sizeof(st));
	st.o = o;
	st.tmpdir = xasprintf("%s/tmp", o->staging_dir);
	st.blobdir = xasprintf("%s/blobs", o->staging_dir);
	out->images = xcalloc(n ? n : 1, sizeof(*out->images));
	if (mkdir_p(st.tmpdir, 0700) != 0 || mkdir_p(st.blobdir, 0700) != 0) {
		rc = fe_set(e, FX_IO, "%s: %s", ESC(o->staging_dir), strerror(errno));
		goto end;
	}
	if ((rc = check_refs(srcs, n, fulls, e)) != FX_OK ||
	    (rc = stage_all(&st, srcs, n, fulls, ops, tops, out, e)) != FX_OK)
		goto end;
	out->index_json = oci_index_write(tops, n, &out->index_len);
	out->nblobs = st.leaves.n + st.manifests.n;
	out->blobs = xcalloc(out->nblobs ? out->nblobs : 1, sizeof(*out->blobs));
	if (st.leaves.n > 0)
		memcpy(out->blobs, st.leaves.v, st.leaves.n * sizeof(*out->blobs));
	if (st.manifests.n > 0)
		memcpy(out->blobs + st.leaves.n, st.manifests.v, st.manifests.n * sizeof(*out->blobs));
	st.leaves.n = st.manifests.n = 0; /* paths now belong to out */
	out->sources = st.sources; /* remote blobs point there */
	out->nsources = st.nsources;
	st.sources = NULL;
	st.nsources = 0;
end:
	blob_list_free(&st.leaves);
	blob_list_free(&st.manifests);
	stage_free_conversions(&st);
	pull_free(&st);
	for (i = 0; i < n; i++) {
		opened_free(&ops[i]);
		oci_desc_free(&tops[i]);
		free(fulls[i]);
	}
	free(ops);
	free(tops);
	free(fulls);
	rmdir(st.tmpdir); /* empty unless an error left files: the caller removes those */
	free(st.tmpdir);
	free(st.blobdir);
	if (rc != FX_OK)
		img_set_free(out);
	return rc;
}

void img_set_free(struct img_set *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nblobs; i++) {
		free(s->blobs[i].path);
		free(s->blobs[i].where);
	}
	free(s->blobs);
	free(s->index_json);
	for (i = 0; i < s->nsources; i++)
		pull_source_free(s->sources[i]);
	free(s->sources);
	for (i = 0; s->images != NULL && i < s->nimages; i++)
		man_image_free(&s->images[i]);
	free(s->images);
	memset(s, 0, sizeof(*s));
}
