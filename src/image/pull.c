/* pull.c - images pulled from a registry: an image with no from: is pulled from the
 * registry its ref names, one with from: registry://HOST[:PORT]/REPO:TAG|@DIGEST from
 * that mirror (the image keeps its ref). The registry client (net/registry_client.h)
 * brings credentials as Docker finds them, Basic and Bearer, TLS and the breaker.
 *
 * Manifests and indexes are read first, so every blob's size is known before any is
 * fetched; then the blobs come in parallel (img_opts.jobs connections), each hashed as
 * it arrives, a cut transfer resumed with Range from where it stopped, 429 and 5xx
 * answers waited out (Retry-After honoured). What arrives becomes the members of an
 * OCI layout (oci-layout, index.json naming the one image, blobs/sha256/HEX), which
 * oci_input.c stages like any other: an index is kept whole and byte-exact. */
#include "image/pull_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <openssl/crypto.h>

#define PULL_BLOBS_MAX 100000 /* blobs of one image */

static const char *const manifest_accept[] = {
	"Accept: " OCI_MT_INDEX ", " OCI_MT_MANIFEST ", " DOCKER_MT_LIST ", " DOCKER_MT_MANIFEST, NULL};

/* A blob of the image being pulled. */
struct pull_blob {
	struct oci_desc desc; /* digest and size (from the manifest that names it) */
	char *path;           /* the staged file */
	int have;             /* already pulled: path is a link to an earlier image's copy */
	int is_config;
	int remote;           /* left for images_fetch (stream_pulls) */
};

struct pull {
	struct stage *st;
	struct input *in;
	struct pull_source *src;
	char reference[REF_TAG_MAX + DIGEST_STR]; /* tag or digest to ask for */
	char pinned[DIGEST_STR];                  /* digest the image must have, or "" */
	char *const *platforms;                   /* of an index, the ones to keep (none: all) */
	size_t nplatforms;
	struct pull_blob *blobs;
	size_t nblobs;
	char (*manifests)[SHA256_HEX]; /* the image manifests pulled (not indexes) */
	size_t nmanifests;
	/* the download pool */
	pthread_mutex_t mu;
	size_t next;
	struct ferr err; /* the first failure */
};

int pull_wanted(const struct img_src *src)
{
	return src->from == NULL || strncmp(src->from, "registry://", 11) == 0;
}

/* Where to pull from: the ref's own registry, or the from: registry://... mirror. */
static int pull_source(struct pull *p, const struct img_src *src, const struct oci_ref *ref, char *hostport,
    size_t hostport_size, struct ferr *e)
{
	struct image_ref r;
	struct ferr why = {0, ""};
	const char *digest = ref->digest, *tag = ref->tag;
	int rc;

	if (src->from == NULL) {
		/* Docker Hub's registry answers at its own name */
		fx_strlcpy(hostport, strcmp(ref->domain, "docker.io") == 0 ? "registry-1.docker.io" : ref->domain,
		    hostport_size);
		fx_strlcpy(p->src->repo, ref->repo, sizeof(p->src->repo));
	} else {
		const char *rest = src->from + 11;
		size_t hostlen;
		if ((rc = ref_parse(rest, &r, &why)) != FX_OK)
			return fe_set(e, rc, "%s: %s", p->in->label, why.msg);
		hostlen = strlen(r.domain);
		if (strncasecmp(rest, r.domain, hostlen) != 0 || rest[hostlen] != '/')
			return fe_set(e, FX_USAGE, "%s: name the registry as HOST[:PORT]/REPO (a host with a dot "
			    "or a port, or localhost)", p->in->label);
		fx_strlcpy(hostport, r.domain, hostport_size);
		fx_strlcpy(p->src->repo, r.repo, sizeof(p->src->repo));
		tag = r.tag[0] ? r.tag : NULL;
		if (r.digest[0] != '\0') {
			if (digest != NULL && strcmp(digest, r.digest) != 0)
				return fe_set(e, FX_USAGE, "%s: pins %s, the ref pins %s", p->in->label, r.digest, digest);
			digest = r.digest;
		}
		snprintf(p->reference, sizeof(p->reference), "%s", tag ? r.tag : r.digest);
	}
	if (src->from == NULL)
		snprintf(p->reference, sizeof(p->reference), "%s", tag ? tag : digest);
	if (src->locked != NULL) { /* exactly what the lock file names */
		if (digest != NULL && strcmp(digest, src->locked) != 0 && src->nplatforms == 0)
			return fe_set(e, FX_USAGE, "%s: pins %s, the lock file says %s", p->in->label, digest, src->locked);
		digest = src->locked;
		snprintf(p->reference, sizeof(p->reference), "%s", digest);
	}
	fx_strlcpy(p->pinned, digest ? digest : "", sizeof(p->pinned));
	return FX_OK;
}

/* Writes buf as a staged file and adds it as member name of the layout. */
static int add_member_buf(struct pull *p, const char *name, const char *buf, size_t len, struct ferr *e)
{
	unsigned char digest[SHA256_LEN];
	char *tmp = stage_tmp_path(p->st);
	int fd, rc = FX_OK;

	sha256_buf(buf, len, digest);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || write_all(fd, buf, len) != 0 || close(fd) != 0) {
		rc = fe_set(e, FX_IO, "%s: %s", ESC(tmp), strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		free(tmp);
		return rc;
	}
	input_add_staged(p->in, name, tmp, digest, len);
	return FX_OK;
}

static int have_member(struct pull *p, const char *hex)
{
	size_t i;
	char name[16 + SHA256_HEX];

	snprintf(name, sizeof(name), "blobs/sha256/%s", hex);
	for (i = 0; i < p->in->nmembers; i++)
		if (strcmp(p->in->members[i]->name, name) == 0)
			return 1;
	for (i = 0; i < p->nblobs; i++)
		if (strcmp(p->blobs[i].desc.hex, hex) == 0)
			return 1;
	return 0;
}

/* GET a manifest or index by tag or digest, into memory (at most OCI_JSON_MAX). */
static int get_manifest(struct pull *p, struct http *conn, const char *reference, char **buf, size_t *len,
    char **content_type, struct ferr *e)
{
	struct http_resp rs;
	struct ferr why = {0, ""};
	char *url = xasprintf("%s/v2/%s/manifests/%s", p->src->client.base, p->src->repo, reference);
	int rc;

	if ((rc = regc_get(&p->src->client, conn, p->src->repo, url, manifest_accept, OCI_JSON_MAX, 0, &rs, &why)) != FX_OK) {
		rc = fe_set(e, rc, "%s: %s", p->src->name, why.msg);
		goto end;
	}
	if (rs.status != 200) {
		rc = fe_set(e, FX_TARGET, "%s: manifest %s: HTTP %ld%s%s", p->src->name, ESC(reference), rs.status,
		    rs.status == 404 ? " (not found)" : "", http_body_snippet(&rs));
		goto end;
	}
	*buf = rs.body;
	*len = rs.body_len;
	*content_type = rs.content_type;
	rs.body = rs.content_type = NULL;
end:
	http_resp_free(&rs);
	free(url);
	return rc;
}

static int pull_doc(struct pull *p, struct http *conn, const struct oci_desc *d, int depth, struct oci_desc *top,
    struct ferr *e);

/* Does the platform asked for (linux/arm64, or linux/arm64/v8) name have (an index's)? */
static int platform_matches(const char *want, const char *have)
{
	size_t n = strlen(want);

	if (have == NULL)
		return 0;
	if (strcmp(want, have) == 0)
		return 1;
	/* without a variant, any variant of OS/ARCH */
	return strchr(strchr(want, '/') + 1, '/') == NULL && strncmp(have, want, n) == 0 && have[n] == '/';
}

/* platforms: a new index holding only the manifests of those platforms (in the
 * upstream's order); every platform asked for must be there. The upstream index is
 * recorded, and a line says what was kept. */
static int cut_index(struct pull *p, struct http *conn, const struct oci_doc *idx, const char *upstream_hex,
    struct oci_desc *top, struct ferr *e)
{
	struct oci_desc *keep = xcalloc(idx->ndescs + 1, sizeof(*keep));
	char have[1024] = "", kept[1024] = "", one[128], name[16 + SHA256_HEX], *buf = NULL;
	size_t nkeep = 0, i, j, len = 0;
	int rc = FX_OK, wanted;

	for (i = 0; i < idx->ndescs; i++) {
		const struct oci_desc *c = &idx->descs[i];
		if (c->platform == NULL)
			continue;
		fx_esc(c->platform, one, sizeof(one));
		if (strlen(have) + strlen(one) + 3 < sizeof(have))
			snprintf(have + strlen(have), sizeof(have) - strlen(have), "%s%s", have[0] ? ", " : "", one);
		for (j = 0, wanted = 0; j < p->nplatforms && !wanted; j++)
			wanted = platform_matches(p->platforms[j], c->platform);
		if (wanted) {
			oci_desc_copy(&keep[nkeep++], c);
			if (strlen(kept) + strlen(one) + 3 < sizeof(kept))
				snprintf(kept + strlen(kept), sizeof(kept) - strlen(kept), "%s%s", kept[0] ? ", " : "", one);
		}
	}
	for (j = 0; j < p->nplatforms; j++) {
		for (i = 0, wanted = 0; i < nkeep && !wanted; i++)
			wanted = platform_matches(p->platforms[j], keep[i].platform);
		if (!wanted) {
			rc = fe_set(e, FX_USAGE, "%s: platform %s is not in the index sha256:%s; it has: %s", p->src->name,
			    ESC(p->platforms[j]), upstream_hex, have[0] ? have : "none named");
			goto end;
		}
	}
	buf = oci_index_write(keep, nkeep, &len);
	oci_desc_free(top);
	memset(top, 0, sizeof(*top));
	top->media_type = xstrdup(OCI_MT_INDEX);
	sha256_buf(buf, len, top->digest);
	hex_encode(top->digest, SHA256_LEN, top->hex);
	top->size = len;
	snprintf(name, sizeof(name), "blobs/sha256/%s", top->hex);
	if ((rc = add_member_buf(p, name, buf, len, e)) != FX_OK)
		goto end;
	free(p->in->upstream_index);
	p->in->upstream_index = xasprintf("sha256:%s", upstream_hex);
	fx_warn("%s: platforms: kept %s of %s: a new index sha256:%s (upstream sha256:%s)", p->src->name, kept, have,
	    top->hex, upstream_hex);
	for (i = 0; i < nkeep && rc == FX_OK; i++)
		rc = pull_doc(p, conn, &keep[i], 1, top, e);
end:
	for (i = 0; i < nkeep; i++)
		oci_desc_free(&keep[i]);
	free(keep);
	free(buf);
	return rc;
}

/* Reads a manifest or index (top: the image itself, d NULL; else the one d names),
 * adds it to the layout and queues what it references. */
static int pull_doc(struct pull *p, struct http *conn, const struct oci_desc *d, int depth, struct oci_desc *top,
    struct ferr *e)
{
	struct oci_doc doc;
	unsigned char digest[SHA256_LEN];
	char hex[SHA256_HEX], name[16 + SHA256_HEX], what[900];
	char *buf = NULL, *content_type = NULL;
	size_t len = 0, i;
	int rc;

	memset(&doc, 0, sizeof(doc));
	if (depth > OCI_MAX_DEPTH)
		return fe_set(e, FX_VERIFY, "%s: indexes nested deeper than %d", p->src->name, OCI_MAX_DEPTH);
	if (d != NULL)
		snprintf(what, sizeof(what), "sha256:%s", d->hex);
	if ((rc = get_manifest(p, conn, d != NULL ? what : p->reference, &buf, &len, &content_type, e)) != FX_OK)
		goto end;
	sha256_buf(buf, len, digest);
	hex_encode(digest, SHA256_LEN, hex);
	snprintf(what, sizeof(what), "%s: manifest sha256:%s", p->src->name, hex);
	if (d != NULL && (memcmp(digest, d->digest, SHA256_LEN) != 0 || len != d->size)) {
		rc = fe_set(e, FX_VERIFY, "%s: manifest sha256:%s: the registry sent %zu bytes with digest sha256:%s",
		    p->src->name, d->hex, len, hex);
		goto end;
	}
	if (d == NULL && p->pinned[0] != '\0' && strcmp(p->pinned + 7, hex) != 0) {
		rc = fe_set(e, FX_VERIFY, "%s: resolved to sha256:%s, not the pinned %s", p->src->name, hex, p->pinned);
		goto end;
	}
	if ((rc = oci_doc_parse(buf, len, d != NULL ? d->media_type : NULL, what, &doc, e)) != FX_OK)
		goto end;
	if (d == NULL && doc.kind == OCI_KIND_INDEX && p->nplatforms > 0) {
		rc = cut_index(p, conn, &doc, hex, top, e);
		goto end;
	}
	if (d == NULL) {
		top->media_type = xstrdup(doc.media_type ? doc.media_type :
		    oci_mt_is_manifest(content_type) || oci_mt_is_index(content_type) ? content_type :
		    doc.kind == OCI_KIND_INDEX ? OCI_MT_INDEX : OCI_MT_MANIFEST);
		memcpy(top->digest, digest, SHA256_LEN);
		memcpy(top->hex, hex, SHA256_HEX);
		top->size = len;
	}
	snprintf(name, sizeof(name), "blobs/sha256/%s", hex);
	if (!have_member(p, hex)) {
		if ((rc = add_member_buf(p, name, buf, len, e)) != FX_OK)
			goto end;
		if (doc.kind == OCI_KIND_MANIFEST) {
			p->manifests = xreallocarray(p->manifests, p->nmanifests + 1, sizeof(*p->manifests));
			memcpy(p->manifests[p->nmanifests++], hex, SHA256_HEX);
		}
	}
	if (doc.kind == OCI_KIND_MANIFEST && doc.ndescs + 1 > PULL_BLOBS_MAX - p->nblobs) {
		rc = fe_set(e, FX_VERIFY, "%s: more than %d blobs", p->src->name, PULL_BLOBS_MAX);
		goto end;
	}
	for (i = 0; i < doc.ndescs + (doc.kind == OCI_KIND_MANIFEST) && rc == FX_OK; i++) {
		const struct oci_desc *c = i < doc.ndescs ? &doc.descs[i] : &doc.config;
		if (have_member(p, c->hex))
			continue;
		if (doc.kind == OCI_KIND_INDEX && (oci_mt_is_manifest(c->media_type) || oci_mt_is_index(c->media_type))) {
			rc = pull_doc(p, conn, c, depth + 1, top, e);
			continue;
		}
		p->blobs = xreallocarray(p->blobs, p->nblobs + 1, sizeof(*p->blobs));
		memset(&p->blobs[p->nblobs], 0, sizeof(*p->blobs));
		p->blobs[p->nblobs].is_config = doc.kind == OCI_KIND_MANIFEST && i == doc.ndescs;
		oci_desc_copy(&p->blobs[p->nblobs++].desc, c);
	}
end:
	oci_doc_free(&doc);
	free(buf);
	free(content_type);
	return rc;
}

/* --- layers for docker saves (dedup by diff_id) --- */

static struct member *member_by_hex(struct input *in, const char *hex)
{
	char name[16 + SHA256_HEX];
	size_t i;

	snprintf(name, sizeof(name), "blobs/sha256/%s", hex);
	for (i = 0; i < in->nmembers; i++)
		if (strcmp(in->members[i]->name, name) == 0)
			return in->members[i];
	return NULL;
}

/* Offers the layers of every pulled manifest to later docker saves, by the diff_ids
 * of its config (only where the config names one per layer, gzip or zstd layers). */
static void offer_layers(struct pull *p)
{
	size_t i, j;

	for (i = 0; i < p->nmanifests; i++) {
		struct member *mm = member_by_hex(p->in, p->manifests[i]), *cm;
		struct oci_doc doc;
		struct oci_config cfg;
		struct ferr ign = {0, ""};
		char *buf = NULL, *cbuf = NULL;
		size_t len = 0, clen = 0;

		memset(&doc, 0, sizeof(doc));
		memset(&cfg, 0, sizeof(cfg));
		if (mm != NULL && member_read(p->in, mm, &buf, &len, &ign) == FX_OK &&
		    oci_doc_parse(buf, len, NULL, "manifest", &doc, &ign) == FX_OK && doc.kind == OCI_KIND_MANIFEST &&
		    (cm = member_by_hex(p->in, doc.config.hex)) != NULL && member_read(p->in, cm, &cbuf, &clen, &ign) == FX_OK &&
		    oci_config_parse(cbuf, clen, "config", &cfg, &ign) == FX_OK && cfg.ndiff_ids == doc.ndescs) {
			for (j = 0; j < doc.ndescs; j++) {
				const struct oci_desc *l = &doc.descs[j];
				const char *mt = l->media_type == NULL ? NULL :
				    strcmp(l->media_type, OCI_MT_LAYER_GZIP) == 0 ||
				    strcmp(l->media_type, "application/vnd.docker.image.rootfs.diff.tar.gzip") == 0 ? OCI_MT_LAYER_GZIP :
				    strcmp(l->media_type, OCI_MT_LAYER_ZSTD) == 0 ? OCI_MT_LAYER_ZSTD : NULL;
				struct member *lm = member_by_hex(p->in, l->hex);
				struct pulled_layer *pl;
				if (mt == NULL || lm == NULL)
					continue;
				p->st->pulled_layers = xreallocarray(p->st->pulled_layers, p->st->npulled_layers + 1,
				    sizeof(*p->st->pulled_layers));
				pl = &p->st->pulled_layers[p->st->npulled_layers++];
				memset(pl, 0, sizeof(*pl));
				memcpy(pl->diff_id, cfg.diff_ids[j], SHA256_LEN);
				oci_desc_copy(&pl->desc, l);
				free(pl->desc.media_type);
				pl->desc.media_type = xstrdup(mt);
				if (lm->path != NULL)
					pl->path = xstrdup(lm->path);
				pl->member = lm; /* remote: fetched if a docker save wants it */
				pl->src = p->src;
			}
		}
		oci_config_free(&cfg);
		oci_doc_free(&doc);
		free(buf);
		free(cbuf);
	}
}

/* Does the compressed layer at path decompress to bytes whose sha256 is diff_id? */
static int layer_is_diff_id(const char *path, const unsigned char diff_id[SHA256_LEN])
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	struct sha256 h;
	unsigned char got[SHA256_LEN], *buf = xmalloc((size_t)1 << 20);
	la_ssize_t n = 0;
	int ok = 0;

	sha256_init(&h);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_filename(a, path, (size_t)1 << 20) == ARCHIVE_OK &&
	    archive_read_next_header(a, &ae) == ARCHIVE_OK && archive_filter_count(a) == 2) {
		while ((n = archive_read_data(a, buf, (size_t)1 << 20)) > 0)
			sha256_update(&h, buf, (size_t)n);
		if (n == 0) {
			sha256_final(&h, got);
			h.ctx = NULL;
			ok = CRYPTO_memcmp(got, diff_id, SHA256_LEN) == 0;
		}
	}
	sha256_free(&h);
	archive_read_free(a);
	free(buf);
	return ok;
}

/* A remote layer a docker save may reuse is fetched now into the staging directory: it
 * must be seen to decompress to the diff_id before the docker save's layer is left
 * uncompressed, and the bundle then takes it from there. */
static int fetch_layer_now(struct stage *st, struct pulled_layer *pl)
{
	struct http *conn = regc_connect(&pl->src->client);
	struct ferr e = {0, ""};
	char *path = stage_tmp_path(st);
	int rc = pull_blob_file(pl->src, conn, &pl->desc, path, &e);

	http_free(conn);
	if (rc != FX_OK) {
		fx_warn("%s", e.msg);
		unlink(path);
		free(path);
		return rc;
	}
	pl->member->path = path;
	pl->member->remote = NULL;
	pl->path = xstrdup(path);
	return FX_OK;
}

struct converted_layer *pull_layer_reuse(struct stage *st, const unsigned char diff_id[SHA256_LEN])
{
	struct converted_layer *c;
	size_t i;

	for (i = 0; i < st->npulled_layers; i++) {
		struct pulled_layer *pl = &st->pulled_layers[i];
		if (memcmp(pl->diff_id, diff_id, SHA256_LEN) != 0 || pl->checked < 0)
			continue;
		if (pl->checked == 0 && pl->path == NULL && fetch_layer_now(st, pl) != FX_OK)
			pl->checked = -1;
		if (pl->checked == 0)
			pl->checked = layer_is_diff_id(pl->path, diff_id) ? 1 : -1;
		if (pl->checked < 0) {
			fx_warn("registry layer sha256:%s does not decompress to the diff_id its config names: not reused",
			    pl->desc.hex);
			continue;
		}
		st->converted = xreallocarray(st->converted, st->nconverted + 1, sizeof(*st->converted));
		c = &st->converted[st->nconverted++];
		memset(c, 0, sizeof(*c));
		memcpy(c->diff_id, diff_id, SHA256_LEN);
		oci_desc_copy(&c->desc, &pl->desc);
		return c;
	}
	return NULL;
}

/* --- the pool --- */

/* Takes the next blob to fetch until none is left (or one failed). */
static void fetch_blobs(struct pull *p, struct http *conn)
{
	struct ferr e = {0, ""};
	size_t i;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (p->next < p->nblobs && (p->blobs[p->next].have || p->blobs[p->next].remote))
			p->next++;
		i = p->err.code ? p->nblobs : p->next++;
		pthread_mutex_unlock(&p->mu);
		if (i >= p->nblobs)
			break;
		if (pull_blob_file(p->src, conn, &p->blobs[i].desc, p->blobs[i].path, &e) != FX_OK) {
			pthread_mutex_lock(&p->mu);
			if (p->err.code == 0)
				p->err = e;
			pthread_mutex_unlock(&p->mu);
			break;
		}
	}
}

static void *pull_worker(void *arg)
{
	struct pull *p = arg;
	struct http *conn = regc_connect(&p->src->client);

	fetch_blobs(p, conn);
	http_free(conn);
	return NULL;
}

static int cmp_blob_size(const void *a, const void *b)
{
	const struct pull_blob *x = a, *y = b;

	return x->desc.size < y->desc.size ? 1 : x->desc.size > y->desc.size ? -1 : 0;
}

/* The stage's list of blobs pulled so far: images are read on threads of their own
 * (pull_read), each linking what another already has. */
static pthread_mutex_t pulled_mu = PTHREAD_MUTEX_INITIALIZER;

/* Blobs an earlier image pulled are linked, the others pulled by jobs threads (largest
 * first, so the longest transfer is not the last to start), one alone on conn, the
 * connection the manifest came over (no thread, no new connection: a config); with
 * stream_pulls the layers are left remote: members without bytes, fetched later into
 * the output. */
static int pull_blobs(struct pull *p, struct http *conn, struct ferr *e)
{
	pthread_t tid[PULL_JOBS_MAX];
	size_t i, j, n = 0, nfetch = 0;
	int jobs = p->st->o->jobs, rc = FX_OK;

	qsort(p->blobs, p->nblobs, sizeof(*p->blobs), cmp_blob_size);
	for (i = 0; i < p->nblobs; i++) {
		struct pull_blob *b = &p->blobs[i];
		b->remote = p->st->o->stream_pulls && !b->is_config;
		if (b->remote)
			continue;
		b->path = stage_tmp_path(p->st);
		pthread_mutex_lock(&pulled_mu);
		for (j = 0; j < p->st->npulled && !b->have; j++)
			if (memcmp(p->st->pulled[j].digest, b->desc.digest, SHA256_LEN) == 0 &&
			    link(p->st->pulled[j].path, b->path) == 0)
				b->have = 1;
		pthread_mutex_unlock(&pulled_mu);
		nfetch += !b->have;
	}
	if (jobs < 1)
		jobs = 1;
	if (jobs > PULL_JOBS_MAX)
		jobs = PULL_JOBS_MAX;
	pthread_mutex_init(&p->mu, NULL);
	for (; nfetch > 1 && n < (size_t)jobs && n < nfetch; n++)
		if (pthread_create(&tid[n], NULL, pull_worker, p) != 0)
			break;
	if (n == 0 && nfetch > 0)
		fetch_blobs(p, conn);
	for (i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&p->mu);
	if (p->err.code != 0)
		return fe_set(e, p->err.code, "%s", p->err.msg);
	for (i = 0; i < p->nblobs && rc == FX_OK; i++) {
		struct pull_blob *b = &p->blobs[i];
		char name[16 + SHA256_HEX];
		snprintf(name, sizeof(name), "blobs/sha256/%s", b->desc.hex);
		if (b->remote) {
			input_add_staged(p->in, name, NULL, b->desc.digest, b->desc.size)->remote = p->src;
			continue;
		}
		if (!b->have) {
			pthread_mutex_lock(&pulled_mu);
			p->st->pulled = xreallocarray(p->st->pulled, p->st->npulled + 1, sizeof(*p->st->pulled));
			memcpy(p->st->pulled[p->st->npulled].digest, b->desc.digest, SHA256_LEN);
			p->st->pulled[p->st->npulled++].path = xstrdup(b->path);
			pthread_mutex_unlock(&pulled_mu);
		}
		input_add_staged(p->in, name, b->path, b->desc.digest, b->desc.size);
		b->path = NULL;
	}
	return rc;
}

/* The layout's own files: oci-layout and an index.json that names the one image (and
 * its cosign signatures, fetched on conn). */
static int add_layout_files(struct pull *p, struct http *conn, const struct oci_desc *top, struct ferr *e)
{
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	size_t len;
	char *index = oci_index_write(top, 1, &len);
	int rc;

	if ((rc = cosign_fetch(&p->src->client, conn, p->src->repo, p->src->name, p->st, p->in, top, &index, &len, e)) == FX_OK &&
	    (rc = add_member_buf(p, "oci-layout", layout, sizeof(layout) - 1, e)) == FX_OK)
		rc = add_member_buf(p, "index.json", index, len, e);
	free(index);
	return rc;
}

int pull_read(struct stage *st, struct input *in, const struct img_src *src, const struct oci_ref *ref,
    struct pull **pp, struct ferr *e)
{
	struct pull *p = xcalloc(1, sizeof(*p));
	struct regc_opts co;
	struct oci_desc top;
	struct http *conn = NULL;
	char hostport[REF_NAME_MAX + 1], client_name[REF_NAME_MAX + 32];
	size_t i;
	int rc;

	*pp = p;
	memset(&top, 0, sizeof(top));
	p->st = st;
	p->in = in;
	p->src = xcalloc(1, sizeof(*p->src));
	p->platforms = src->platforms;
	p->nplatforms = src->nplatforms;
	in->st = st;
	if ((rc = pull_source(p, src, ref, hostport, sizeof(hostport), e)) != FX_OK)
		goto end;
	snprintf(client_name, sizeof(client_name), "registry://%s", hostport);
	snprintf(p->src->name, sizeof(p->src->name), "%s: registry://%s/%s%s%s", in->label, ESC(hostport), ESC(p->src->repo),
	    strncmp(p->reference, "sha256:", 7) == 0 ? "@" : ":", ESC(p->reference));
	co = (struct regc_opts){.name = client_name, .hostport = hostport,
	    .plain_http = regc_host_listed(st->o->plain_http, st->o->nplain_http, hostport), .cacert = st->o->cacert};
	if ((rc = regc_init(&p->src->client, &co, e)) != FX_OK)
		goto end;
	conn = regc_connect(&p->src->client);
	if ((rc = pull_doc(p, conn, NULL, 0, &top, e)) != FX_OK ||
	    (rc = pull_blobs(p, conn, e)) != FX_OK ||
	    (rc = add_layout_files(p, conn, &top, e)) != FX_OK)
		goto end;
	input_sort(in);
end:
	http_free(conn);
	for (i = 0; i < p->nblobs; i++) {
		if (p->blobs[i].path != NULL)
			unlink(p->blobs[i].path);
		free(p->blobs[i].path);
		oci_desc_free(&p->blobs[i].desc);
	}
	free(p->blobs);
	p->blobs = NULL;
	p->nblobs = 0;
	oci_desc_free(&top);
	return rc;
}

void pull_finish(struct pull *p, int read_ok)
{
	struct stage *st = p->st;

	st->sources = xreallocarray(st->sources, st->nsources + 1, sizeof(*st->sources));
	st->sources[st->nsources++] = p->src; /* the stage owns it from here: remote blobs point there */
	if (read_ok)
		offer_layers(p);
	free(p->manifests);
	free(p);
}

int input_read_registry(struct stage *st, struct input *in, const struct img_src *src, const struct oci_ref *ref,
    struct ferr *e)
{
	struct pull *p;
	int rc = pull_read(st, in, src, ref, &p, e);

	pull_finish(p, rc == FX_OK);
	return rc;
}

void pull_source_free(struct pull_source *src)
{
	if (src == NULL)
		return;
	regc_free(&src->client);
	free(src);
}

void pull_free(struct stage *st)
{
	size_t i;

	for (i = 0; i < st->npulled; i++)
		free(st->pulled[i].path);
	free(st->pulled);
	st->pulled = NULL;
	st->npulled = 0;
	for (i = 0; i < st->npulled_layers; i++) {
		oci_desc_free(&st->pulled_layers[i].desc);
		free(st->pulled_layers[i].path);
	}
	free(st->pulled_layers);
	st->pulled_layers = NULL;
	st->npulled_layers = 0;
	for (i = 0; i < st->nsources; i++)
		pull_source_free(st->sources[i]);
	free(st->sources);
	st->sources = NULL;
	st->nsources = 0;
}
