/* sbom.c - from a staged image set to its SBOM entries: find each image's manifests
 * (every platform of an index), catalogue the layers no earlier step has (in parallel,
 * each once), apply them per manifest and write both documents. */
#include "image/sbom.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "image/layer_read.h"
#include "image/oci.h"
#include "image/sbom_catalog.h"
#include "image/sbom_write.h"

/* A catalogued layer, found by its blob digest or by its diff_id. */
struct cached_layer {
	unsigned char digest[SHA256_LEN];
	struct layer_cat *cat;
	int unchecked; /* read from the input before its digest was checked (cache_drop_unchecked) */
};

/* A layer to catalogue on a worker thread; its result joins the cache when the
 * workers are done (sbom_wait). */
struct layer_job {
	char *path;
	uint64_t off, len; /* the layer's bytes in path (len 0: the whole file) */
	int (*wait)(void *ctx, uint64_t upto); /* still arriving: see layer_src */
	void *wait_ctx;
	unsigned char digest[SHA256_LEN];
	int unchecked;     /* its bytes are the input's, not yet checked against digest */
	uint64_t size;     /* its bytes (compressed): the largest waiting job goes first */
	int taken;         /* a worker has it */
	char what[1200];
	char *rpm_dir;
	struct layer_cat *cat;
};

#define MAX_WORKERS 16

struct sbom_ctx {
	struct sbom_opts o;
	struct cached_layer *layers; /* main thread only */
	size_t nlayers;
	unsigned serial;             /* names of rpm directories under work_dir */
	char *work_dir;
	/* the queue the workers take jobs from */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct layer_job **jobs;
	size_t njobs, next;          /* next: how many a worker has taken */
	pthread_t workers[MAX_WORKERS];
	size_t nworkers;
	int closing;
	struct ferr err;             /* the first job that failed */
};

struct sbom_ctx *sbom_ctx_new(const struct sbom_opts *o)
{
	struct sbom_ctx *c = xcalloc(1, sizeof(*c));

	c->o = *o;
	c->o.work_dir = c->work_dir = xstrdup(o->work_dir);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	return c;
}

static int sbom_wait(struct sbom_ctx *c, struct ferr *e);

void sbom_ctx_free(struct sbom_ctx *c)
{
	struct ferr ignored = {0, ""};
	size_t i;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	if (c->err.code == 0) /* the workers take no further layer */
		fe_set(&c->err, FX_IO, "stopped");
	pthread_mutex_unlock(&c->mu);
	sbom_wait(c, &ignored); /* a failed pack still stops its workers first */
	for (i = 0; i < c->nlayers; i++)
		layer_cat_free(c->layers[i].cat);
	free(c->layers);
	free(c->work_dir);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c);
}

static struct layer_cat *cache_get(const struct sbom_ctx *c, const unsigned char digest[SHA256_LEN])
{
	size_t i;

	for (i = 0; i < c->nlayers; i++)
		if (memcmp(c->layers[i].digest, digest, SHA256_LEN) == 0)
			return c->layers[i].cat;
	return NULL;
}

static void cache_put(struct sbom_ctx *c, const unsigned char digest[SHA256_LEN], struct layer_cat *cat,
    int unchecked)
{
	c->layers = xreallocarray(c->layers, c->nlayers + 1, sizeof(*c->layers));
	memcpy(c->layers[c->nlayers].digest, digest, SHA256_LEN);
	c->layers[c->nlayers].unchecked = unchecked;
	c->layers[c->nlayers++].cat = cat;
}

/* A catalogue read from the input before the blob's digest was checked describes the
 * blob only through the config's diff_id (check_diff_ids); a layer without one is read
 * again from its staged copy. This forgets such a catalogue. */
static void cache_drop_unchecked(struct sbom_ctx *c, const unsigned char digest[SHA256_LEN])
{
	size_t i;

	for (i = 0; i < c->nlayers; i++) {
		if (memcmp(c->layers[i].digest, digest, SHA256_LEN) != 0 || !c->layers[i].unchecked)
			continue;
		layer_cat_free(c->layers[i].cat);
		c->layers[i] = c->layers[--c->nlayers];
		return;
	}
}

static char *rpm_dir(struct sbom_ctx *c, const char *kind)
{
	return xasprintf("%s/%s-%u", c->o.work_dir, kind, ++c->serial);
}

/* How a legacy layer is named in errors: by its diff_id. */
static void tar_what(const unsigned char diff_id[SHA256_LEN], char what[128])
{
	char hex[SHA256_HEX];

	hex_encode(diff_id, SHA256_LEN, hex);
	snprintf(what, 128, "layer sha256:%s (uncompressed)", hex);
}

int sbom_layer_tar(void *ctx, const unsigned char diff_id[SHA256_LEN], const char *path, uint64_t off,
    uint64_t len, struct ferr *e)
{
	struct sbom_ctx *c = ctx;
	struct layer_cat *cat = NULL;
	struct layer_src src = {0};
	char what[128], *dir;
	int rc;

	if (cache_get(c, diff_id) != NULL)
		return FX_OK;
	tar_what(diff_id, what);
	src.path = path;
	src.off = off;
	src.len = len;
	src.what = what;
	dir = rpm_dir(c, "rpm-layer");
	rc = layer_catalog(&src, dir, &cat, e);
	free(dir);
	if (rc == FX_OK)
		cache_put(c, diff_id, cat, 0);
	return rc;
}

/* ---- the manifests of the images */

/* One image manifest to describe: an image, or one platform of an index. */
struct subject {
	size_t image;              /* index into img_set.images */
	char hex[SHA256_HEX];      /* the manifest's digest */
	char *platform;
	struct oci_desc *layers;   /* the manifest's layers, in order */
	size_t nlayers;
	unsigned char (*diff_ids)[SHA256_LEN]; /* the config's, when it has one per layer */
};

struct subjects {
	struct subject *v;
	size_t n;
};

static const struct img_blob *blob_of(const struct img_set *is, const char *hex)
{
	size_t i;

	for (i = 0; i < is->nblobs; i++)
		if (strcmp(is->blobs[i].hex, hex) == 0)
			return &is->blobs[i];
	return NULL;
}

static int read_blob(const struct img_set *is, const char *hex, const char *what, char **buf, size_t *len,
    struct ferr *e)
{
	const struct img_blob *b = blob_of(is, hex);

	if (b == NULL)
		return fe_set(e, FX_VERIFY, "%s: blob sha256:%s is not in the bundle", what, hex);
	return read_file_max(b->path, OCI_JSON_MAX, buf, len, e);
}

/* A layer ferry can catalogue is a tar, compressed or not (not an attestation). */
static int is_tar_layer(const char *mt)
{
	return mt == NULL || strstr(mt, ".tar") != NULL || strstr(mt, "tar.") != NULL;
}

static int add_manifest(const struct img_set *is, size_t image, const struct oci_desc *d, const char *what,
    struct subjects *out, struct ferr *e)
{
	struct oci_doc doc;
	struct oci_config cfg;
	struct subject *s;
	struct ferr ce = {0, ""};
	char *buf = NULL;
	size_t len = 0, i;
	int rc;

	memset(&doc, 0, sizeof(doc));
	memset(&cfg, 0, sizeof(cfg));
	if ((rc = read_blob(is, d->hex, what, &buf, &len, e)) != FX_OK ||
	    (rc = oci_doc_parse(buf, len, d->media_type, what, &doc, e)) != FX_OK)
		goto end;
	if (doc.kind != OCI_KIND_MANIFEST || !oci_mt_is_config(doc.config.media_type))
		goto end; /* not a container image (an artifact): nothing to catalogue */
	for (i = 0; i < doc.ndescs; i++)
		if (!is_tar_layer(doc.descs[i].media_type))
			goto end;
	free(buf);
	buf = NULL;
	/* a config ferry cannot read (ce) still has layers: they are catalogued all the same */
	if (read_blob(is, doc.config.hex, what, &buf, &len, &ce) == FX_OK &&
	    oci_config_parse(buf, len, what, &cfg, &ce) == FX_OK) {
		char *p = oci_config_platform(&cfg);
		int attestation = p != NULL && strcmp(p, "unknown/unknown") == 0;
		free(p);
		if (attestation)
			goto end; /* an attestation manifest beside the image's platforms */
	}
	out->v = xreallocarray(out->v, out->n + 1, sizeof(*out->v));
	s = &out->v[out->n++];
	memset(s, 0, sizeof(*s));
	s->image = image;
	memcpy(s->hex, d->hex, SHA256_HEX);
	s->platform = oci_config_platform(&cfg);
	if (s->platform == NULL && d->platform != NULL)
		s->platform = xstrdup(d->platform);
	s->layers = xcalloc(doc.ndescs ? doc.ndescs : 1, sizeof(*s->layers));
	for (i = 0; i < doc.ndescs; i++)
		oci_desc_copy(&s->layers[i], &doc.descs[i]);
	s->nlayers = doc.ndescs;
	if (cfg.has_rootfs && cfg.ndiff_ids == doc.ndescs && doc.ndescs > 0) {
		s->diff_ids = xcalloc(doc.ndescs, sizeof(*s->diff_ids));
		memcpy(s->diff_ids, cfg.diff_ids, doc.ndescs * sizeof(*s->diff_ids));
	}
end:
	free(buf);
	oci_doc_free(&doc);
	oci_config_free(&cfg);
	return rc;
}

/* Walks an image's top manifest or index down to its image manifests. */
static int walk(const struct img_set *is, size_t image, const struct oci_desc *d, int depth, const char *what,
    struct subjects *out, struct ferr *e)
{
	struct oci_doc doc;
	char *buf = NULL;
	size_t len = 0, i;
	int rc;

	if (depth > OCI_MAX_DEPTH)
		return fe_set(e, FX_VERIFY, "%s: indexes nested deeper than %d", what, OCI_MAX_DEPTH);
	if (!oci_mt_is_index(d->media_type))
		return add_manifest(is, image, d, what, out, e);
	memset(&doc, 0, sizeof(doc));
	if ((rc = read_blob(is, d->hex, what, &buf, &len, e)) != FX_OK ||
	    (rc = oci_doc_parse(buf, len, d->media_type, what, &doc, e)) != FX_OK)
		goto end;
	for (i = 0; i < doc.ndescs && rc == FX_OK; i++)
		if (oci_mt_is_manifest(doc.descs[i].media_type) || oci_mt_is_index(doc.descs[i].media_type))
			rc = walk(is, image, &doc.descs[i], depth + 1, what, out, e);
end:
	free(buf);
	oci_doc_free(&doc);
	return rc;
}

static void subjects_free(struct subjects *s)
{
	size_t i, k;

	for (i = 0; i < s->n; i++) {
		free(s->v[i].platform);
		for (k = 0; k < s->v[i].nlayers; k++)
			oci_desc_free(&s->v[i].layers[k]);
		free(s->v[i].layers);
		free(s->v[i].diff_ids);
	}
	free(s->v);
}

/* ---- cataloguing layers on worker threads */

/* The largest layer no worker has taken yet: it is the longest to inflate, and the one
 * a pull fetches first. With c->mu held, and one waiting. */
static struct layer_job *largest_waiting(struct sbom_ctx *c)
{
	struct layer_job *best = NULL;
	size_t i;

	for (i = 0; i < c->njobs; i++)
		if (!c->jobs[i]->taken && (best == NULL || c->jobs[i]->size > best->size))
			best = c->jobs[i];
	return best;
}

static void *worker(void *arg)
{
	struct sbom_ctx *c = arg;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		struct layer_job *j;
		struct layer_src src;
		struct ferr e = {0, ""};

		while (c->next == c->njobs && !c->closing && c->err.code == 0)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->next == c->njobs || c->err.code != 0)
			break;
		j = largest_waiting(c);
		j->taken = 1;
		c->next++;
		pthread_mutex_unlock(&c->mu);
		memset(&src, 0, sizeof(src));
		src.path = j->path;
		src.off = j->off;
		src.len = j->len;
		src.wait = j->wait;
		src.wait_ctx = j->wait_ctx;
		src.what = j->what;
		if (layer_catalog(&src, j->rpm_dir, &j->cat, &e) != FX_OK) {
			pthread_mutex_lock(&c->mu);
			if (c->err.code == 0)
				c->err = e;
			continue;
		}
		pthread_mutex_lock(&c->mu);
	}
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

static int queued(const struct sbom_ctx *c, const unsigned char digest[SHA256_LEN])
{
	size_t i;

	for (i = 0; i < c->njobs; i++)
		if (memcmp(c->jobs[i]->digest, digest, SHA256_LEN) == 0)
			return 1;
	return 0;
}

/* Queues the layer at src (src->what names it) for a worker, once, and makes sure a
 * worker is there to take it. unchecked: its bytes are not yet known to be the blob. */
static void submit(struct sbom_ctx *c, const unsigned char digest[SHA256_LEN], const struct layer_src *src,
    int unchecked)
{
	struct layer_job *j;
	struct stat st;
	size_t max = c->o.jobs < 1 ? 1 : c->o.jobs > MAX_WORKERS ? MAX_WORKERS : (size_t)c->o.jobs;

	if (cache_get(c, digest) != NULL)
		return;
	pthread_mutex_lock(&c->mu);
	if (!queued(c, digest)) {
		j = xcalloc(1, sizeof(*j));
		j->path = xstrdup(src->path);
		j->off = src->off;
		j->len = src->len;
		j->wait = src->wait;
		j->wait_ctx = src->wait_ctx;
		memcpy(j->digest, digest, SHA256_LEN);
		j->unchecked = unchecked;
		j->size = src->len;
		if (j->size == 0 && stat(src->path, &st) == 0 && st.st_size > 0)
			j->size = (uint64_t)st.st_size;
		fx_strlcpy(j->what, src->what, sizeof(j->what));
		j->rpm_dir = rpm_dir(c, "rpm-layer");
		c->jobs = xreallocarray(c->jobs, c->njobs + 1, sizeof(*c->jobs));
		c->jobs[c->njobs++] = j;
		if (c->nworkers < max && c->nworkers < c->njobs - c->next &&
		    pthread_create(&c->workers[c->nworkers], NULL, worker, c) == 0)
			c->nworkers++;
		pthread_cond_signal(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
}

/* Lets the workers finish every queued layer, then takes their results into the cache.
 * The first failure, if any, is the return. */
static int sbom_wait(struct sbom_ctx *c, struct ferr *e)
{
	struct ferr first;
	size_t i;

	pthread_mutex_lock(&c->mu);
	c->closing = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	for (i = 0; i < c->nworkers; i++)
		pthread_join(c->workers[i], NULL);
	if (c->nworkers == 0 && c->next < c->njobs && c->err.code == 0)
		worker(c); /* no thread could be started: this one does the work */
	c->nworkers = 0;
	c->closing = 0;
	first = c->err;
	for (i = 0; i < c->njobs; i++) {
		if (c->jobs[i]->cat != NULL)
			cache_put(c, c->jobs[i]->digest, c->jobs[i]->cat, c->jobs[i]->unchecked);
		free(c->jobs[i]->path);
		free(c->jobs[i]->rpm_dir);
		free(c->jobs[i]);
	}
	free(c->jobs);
	c->jobs = NULL;
	c->njobs = c->next = 0;
	memset(&c->err, 0, sizeof(c->err));
	return first.code != 0 ? fe_set(e, first.code, "%s", first.msg) : FX_OK;
}

int sbom_layer_tar_queue(void *ctx, const unsigned char diff_id[SHA256_LEN], const char *path, uint64_t off,
    uint64_t len, struct ferr *e)
{
	struct sbom_ctx *c = ctx;
	char what[128];

	(void)e;
	tar_what(diff_id, what);
	/* not "unchecked": a layer that is not its diff_id fails the whole build */
	submit(c, diff_id, &(struct layer_src){.path = path, .off = off, .len = len, .what = what}, 0);
	return FX_OK;
}

int sbom_layer_blob(void *ctx, const unsigned char digest[SHA256_LEN], const char *path, uint64_t off, uint64_t len,
    const char *where, struct ferr *e)
{
	struct sbom_ctx *c = ctx;
	char hex[SHA256_HEX], what[1200];

	(void)e;
	hex_encode(digest, SHA256_LEN, hex);
	snprintf(what, sizeof(what), "%s: layer sha256:%s", where, hex);
	submit(c, digest, &(struct layer_src){.path = path, .off = off, .len = len, .what = what}, len > 0);
	return FX_OK;
}

int sbom_layer_arriving(struct sbom_ctx *c, const unsigned char digest[SHA256_LEN], const char *path, uint64_t off,
    uint64_t len, int (*wait)(void *ctx, uint64_t upto), void *wait_ctx, const char *what)
{
	submit(c, digest, &(struct layer_src){.path = path, .off = off, .len = len, .what = what, .wait = wait,
	    .wait_ctx = wait_ctx}, 0);
	return FX_OK;
}

/* The layer's catalogue: the one read from its blob, else (a docker save layer ferry
 * compressed itself) the one read from the uncompressed tar its diff_id names. The
 * blob comes first: a config's diff_id is a claim, checked by check_diff_ids. */
static struct layer_cat *layer_of(struct sbom_ctx *c, const struct subject *s, size_t i)
{
	struct layer_cat *cat = cache_get(c, s->layers[i].digest);

	return cat != NULL || s->diff_ids == NULL ? cat : cache_get(c, s->diff_ids[i]);
}

/* Every layer read from its blob must be what the config's diff_id says: the sha256 of
 * its decompressed bytes, hashed while it was catalogued (a plain tar: its digest). */
static int check_diff_ids(struct sbom_ctx *c, const struct img_set *is, const struct subject *s, struct ferr *e)
{
	unsigned char got[SHA256_LEN];
	char got_hex[SHA256_HEX], want_hex[SHA256_HEX];
	size_t i;

	for (i = 0; s->diff_ids != NULL && i < s->nlayers; i++) {
		struct layer_cat *cat = cache_get(c, s->layers[i].digest);
		if (cat == NULL)
			continue; /* read from the tar its diff_id names (converted, checked then) */
		if (!layer_cat_diff_id(cat, got))
			memcpy(got, s->layers[i].digest, SHA256_LEN);
		if (CRYPTO_memcmp(got, s->diff_ids[i], SHA256_LEN) == 0)
			continue;
		hex_encode(got, SHA256_LEN, got_hex);
		hex_encode(s->diff_ids[i], SHA256_LEN, want_hex);
		return fe_set(e, FX_VERIFY, "image %s: layer sha256:%s decompresses to sha256:%s, not to the "
		    "config's diff_id sha256:%s", ESC(is->images[s->image].ref), s->layers[i].hex, got_hex, want_hex);
	}
	return FX_OK;
}

static int catalog_layers(struct sbom_ctx *c, const struct img_set *is, const struct subjects *subs,
    struct ferr *e)
{
	size_t i, k;

	for (i = 0; i < subs->n; i++) {
		const struct subject *s = &subs->v[i];
		for (k = 0; k < s->nlayers; k++) {
			const struct img_blob *b = blob_of(is, s->layers[k].hex);
			char what[1200];
			if (s->diff_ids == NULL)
				cache_drop_unchecked(c, s->layers[k].digest);
			if (layer_of(c, s, k) != NULL)
				continue;
			if (b == NULL || b->path == NULL || (b->offset > 0 && b->size == 0)) {
				sbom_wait(c, e);
				return fe_set(e, FX_VERIFY, "image %s: layer sha256:%s is %s",
				    ESC(is->images[s->image].ref), s->layers[k].hex, b == NULL || b->path == NULL ?
				    "not in the bundle" : "empty (no tar stream)");
			}
			snprintf(what, sizeof(what), "image %s: layer sha256:%s", ESC(is->images[s->image].ref),
			    s->layers[k].hex);
			submit(c, s->layers[k].digest, &(struct layer_src){.path = b->path, .off = b->offset,
			    .len = b->offset > 0 ? b->size : 0, .what = what}, 0);
		}
	}
	return sbom_wait(c, e);
}

/* ---- the documents */

static int has_doc(const struct sbom_set *out, const char *path)
{
	size_t i;

	for (i = 0; i < out->ndocs; i++)
		if (strcmp(out->docs[i].path, path) == 0)
			return 1;
	return 0;
}

static void add_doc(struct sbom_set *out, char *path, char *text, size_t len)
{
	out->docs = xreallocarray(out->docs, out->ndocs + 1, sizeof(*out->docs));
	out->docs[out->ndocs].path = path;
	out->docs[out->ndocs].text = text;
	out->docs[out->ndocs++].len = len;
}

static int describe(struct sbom_ctx *c, const struct img_set *is, const struct subject *s, struct sbom_set *out,
    struct ferr *e)
{
	const struct man_image *mi = &is->images[s->image];
	struct layer_cat **cats = xcalloc(s->nlayers ? s->nlayers : 1, sizeof(*cats));
	struct image_cat cat;
	struct sbom_subject sub;
	char *spdx = NULL, *cdx = NULL, *digest = xasprintf("sha256:%s", s->hex), *dir = rpm_dir(c, "rpm-image");
	char *spdx_path = xasprintf(SBOM_DIR "%s" SBOM_SPDX_SUFFIX, s->hex);
	char *cdx_path = xasprintf(SBOM_DIR "%s" SBOM_CDX_SUFFIX, s->hex), what[ESC_MAX + 200];
	size_t spdx_len = 0, cdx_len = 0, i;
	int rc = FX_OK;

	memset(&cat, 0, sizeof(cat));
	snprintf(what, sizeof(what), "image %s%s%s", ESC(mi->ref), s->platform ? " " : "",
	    s->platform ? ESC(s->platform) : "");
	for (i = 0; i < s->nlayers; i++)
		cats[i] = layer_of(c, s, i);
	if ((rc = check_diff_ids(c, is, s, e)) != FX_OK)
		goto end;
	if (!has_doc(out, spdx_path)) {
		if ((rc = image_catalog(cats, s->nlayers, dir, what, &cat, e)) != FX_OK)
			goto end;
		sub.ref = mi->ref;
		sub.digest = digest;
		sub.platform = s->platform;
		sub.created = c->o.created;
		if ((rc = sbom_write_spdx(&sub, &cat, &spdx, &spdx_len, e)) != FX_OK ||
		    (rc = sbom_write_cyclonedx(&sub, &cat, &cdx, &cdx_len, e)) != FX_OK)
			goto end;
		for (i = 0; i < cat.nnotes; i++)
			fx_warn("SBOM: %s", ESC(cat.notes[i]));
		add_doc(out, xstrdup(spdx_path), spdx, spdx_len);
		add_doc(out, xstrdup(cdx_path), cdx, cdx_len);
		spdx = cdx = NULL;
	}
	strset_add(&out->image_sboms[s->image], &out->image_nsboms[s->image], spdx_path, strlen(spdx_path));
	strset_add(&out->image_sboms[s->image], &out->image_nsboms[s->image], cdx_path, strlen(cdx_path));
end:
	image_cat_free(&cat);
	free(cats);
	free(spdx);
	free(cdx);
	free(digest);
	free(dir);
	free(spdx_path);
	free(cdx_path);
	return rc;
}

int sbom_build(struct sbom_ctx *c, const struct img_set *is, struct sbom_set *out, struct ferr *e)
{
	struct subjects subs = {NULL, 0};
	size_t i;
	int rc = FX_OK;

	memset(out, 0, sizeof(*out));
	out->nimages = is->nimages;
	out->image_sboms = xcalloc(is->nimages ? is->nimages : 1, sizeof(*out->image_sboms));
	out->image_nsboms = xcalloc(is->nimages ? is->nimages : 1, sizeof(*out->image_nsboms));
	/* the layers images_stage handed over while it staged them */
	if ((rc = sbom_wait(c, e)) != FX_OK)
		goto end;
	for (i = 0; i < is->nimages && rc == FX_OK; i++) {
		const struct man_image *mi = &is->images[i];
		struct oci_desc top;
		char what[ESC_MAX + 16];

		memset(&top, 0, sizeof(top));
		snprintf(what, sizeof(what), "image %s", ESC(mi->ref));
		if (digest_parse(mi->digest, top.digest, top.hex) != 0) {
			rc = fe_set(e, FX_VERIFY, "%s: not a digest: %s", what, ESC(mi->digest));
			break;
		}
		top.media_type = mi->media_type;
		rc = walk(is, i, &top, 0, what, &subs, e);
	}
	if (rc == FX_OK)
		rc = catalog_layers(c, is, &subs, e);
	for (i = 0; i < subs.n && rc == FX_OK; i++) {
		if (fx_interrupted)
			rc = fe_set(e, FX_IO, "interrupted");
		else
			rc = describe(c, is, &subs.v[i], out, e);
	}
end:
	subjects_free(&subs);
	if (rc != FX_OK)
		sbom_set_free(out);
	return rc;
}

void sbom_set_attach(struct sbom_set *s, struct man_image *images, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < s->nimages; i++) {
		images[i].sboms = s->image_sboms[i];
		images[i].nsboms = s->image_nsboms[i];
		s->image_sboms[i] = NULL;
		s->image_nsboms[i] = 0;
	}
}

void sbom_set_free(struct sbom_set *s)
{
	size_t i;

	for (i = 0; i < s->ndocs; i++) {
		free(s->docs[i].path);
		free(s->docs[i].text);
	}
	free(s->docs);
	for (i = 0; i < s->nimages; i++)
		strv_free_n(s->image_sboms[i], s->image_nsboms[i]);
	free(s->image_sboms);
	free(s->image_nsboms);
	memset(s, 0, sizeof(*s));
}
