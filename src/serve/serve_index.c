/* serve_index.c - `ferry-load serve` reads every bundle once, as `verify` does, and
 * learns on the way where each blob lies in its file and the SHA-256 of each of its
 * blocks (so that it can be checked again as it is served, a part at a time) and keeps
 * the small manifests. Then one index over all the bundles: blobs by digest,
 * repositories named as `load --to registry://` names them, tags. Nothing is copied. */
#include "serve/serve_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "bundle/parts.h"

#define BLOB_PREFIX "images/blobs/sha256/"

/* A blob entry as one bundle's verify read found it. */
struct vblob {
	unsigned char digest[SHA256_LEN];
	struct serve_file *file;
	uint64_t off, size;
	unsigned char (*blocks)[SHA256_LEN];
	size_t nblocks;
	unsigned char *bytes; /* a manifest's content */
	size_t seq;           /* order over all bundles: the first copy of a blob is served */
	int ok;
};

/* The sink of one bundle's verify read. */
struct vsink {
	const char *path;
	struct serve_file *file;
	struct vblob **all;   /* the blobs of every bundle so far */
	size_t *nall, *cap, *seq;
	uint64_t *kept;       /* manifest bytes kept in memory, every bundle */
	const char **manifests; /* the digests bundle.yaml names as manifests, sorted */
	size_t nmanifests;
	long cur;             /* the blob being read (index in *all), -1: none */
	uint64_t got;         /* its bytes so far */
	struct sha256 block;  /* the hash of its current block */
	int block_open;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void vblob_free(struct vblob *b)
{
	free(b->blocks);
	free(b->bytes);
	b->blocks = NULL;
	b->bytes = NULL;
}

static int vs_head(void *ctx, const struct bundle_head *h, struct ferr *e)
{
	struct vsink *vs = ctx;
	const struct manifest *m = &h->man;
	size_t i, j, n = 0;

	if (h->zstd)
		return fe_set(e, FX_USAGE, "%s: zstd-compressed bundles are not served (internal error)", ESC(vs->path));
	if (m->nbases > 0)
		return fe_set(e, FX_USAGE, "%s: a delta bundle (of %s %s) cannot be served: it lacks its base's blobs. "
		    "Load it with --base into a registry or oci: directory instead", ESC(vs->path), ESC(m->bases[0].name),
		    ESC(m->bases[0].version));
	for (i = 0; i < m->nimages; i++)
		n += m->images[i].nmanifests + m->images[i].nsignatures;
	vs->manifests = xcalloc(n ? n : 1, sizeof(*vs->manifests));
	for (i = 0; i < m->nimages; i++) {
		for (j = 0; j < m->images[i].nmanifests; j++)
			vs->manifests[vs->nmanifests++] = m->images[i].manifests[j];
		for (j = 0; j < m->images[i].nsignatures; j++) /* kept too: served by tag and as referrers */
			vs->manifests[vs->nmanifests++] = m->images[i].signatures[j].digest;
	}
	qsort(vs->manifests, vs->nmanifests, sizeof(*vs->manifests), cmp_str);
	return FX_OK;
}

static int vs_begin(void *ctx, const char *name, uint64_t size, const struct entry_loc *loc, int *want,
    struct ferr *e)
{
	struct vsink *vs = ctx;
	const char *hex, *key;
	unsigned char d[SHA256_LEN], empty[SHA256_LEN];
	char dstr[DIGEST_STR];
	struct vblob *b;
	int manifest;

	*want = 0;
	vs->cur = -1;
	if (strncmp(name, BLOB_PREFIX, strlen(BLOB_PREFIX)) != 0 || !digest_hex_valid(name + strlen(BLOB_PREFIX)))
		return FX_OK; /* not a blob: still verified by the reader, never served */
	hex = name + strlen(BLOB_PREFIX);
	if (size > 0 && loc == NULL)
		return fe_set(e, FX_IO, "%s: %s: its place in the file is not known", ESC(vs->path), ESC(name));
	hex_decode(hex, 64, d);
	sha256_buf("", 0, empty);
	/* a blob is named by its digest: its signed checksum must be that digest */
	if (CRYPTO_memcmp(size > 0 ? loc->digest : empty, d, SHA256_LEN) != 0)
		return fe_set(e, FX_VERIFY, "%s: %s: the signed checksum is not the digest it is named by",
		    ESC(vs->path), ESC(name));
	snprintf(dstr, sizeof(dstr), "sha256:%s", hex);
	key = dstr;
	manifest = bsearch(&key, vs->manifests, vs->nmanifests, sizeof(*vs->manifests), cmp_str) != NULL;
	if (manifest && size > SERVE_MANIFEST_MAX)
		return fe_set(e, FX_VERIFY, "%s: %s: a manifest larger than %u MiB", ESC(vs->path), ESC(name),
		    SERVE_MANIFEST_MAX >> 20);
	if (manifest && *vs->kept + size > SERVE_MANIFESTS_MAX)
		return fe_set(e, FX_VERIFY, "%s: more than %u MiB of manifests", ESC(vs->path), SERVE_MANIFESTS_MAX >> 20);
	if (*vs->nall == *vs->cap) {
		*vs->cap = *vs->cap ? *vs->cap * 2 : 64;
		*vs->all = xreallocarray(*vs->all, *vs->cap, sizeof(**vs->all));
	}
	b = &(*vs->all)[*vs->nall];
	memset(b, 0, sizeof(*b));
	memcpy(b->digest, d, SHA256_LEN);
	b->file = vs->file;
	b->off = size > 0 ? loc->off : 0;
	b->size = size;
	b->nblocks = (size_t)((size + SERVE_BLOCK - 1) / SERVE_BLOCK);
	b->blocks = xcalloc(b->nblocks ? b->nblocks : 1, SHA256_LEN);
	if (manifest) {
		*vs->kept += size;
		b->bytes = xmalloc(size ? (size_t)size : 1);
	}
	b->seq = (*vs->seq)++;
	vs->cur = (long)(*vs->nall)++;
	vs->got = 0;
	*want = 1;
	return FX_OK;
}

static int vs_data(void *ctx, const void *buf, size_t n, struct ferr *e)
{
	struct vsink *vs = ctx;
	struct vblob *b;
	const unsigned char *p = buf;

	if (vs->cur < 0)
		return FX_OK;
	b = &(*vs->all)[vs->cur];
	if (n > b->size - vs->got)
		return fe_set(e, FX_VERIFY, "%s: a blob longer than its signed size", ESC(vs->path));
	while (n > 0) {
		uint64_t room = SERVE_BLOCK - vs->got % SERVE_BLOCK;
		size_t take = n < room ? n : (size_t)room;

		if (!vs->block_open) {
			sha256_init(&vs->block);
			vs->block_open = 1;
		}
		sha256_update(&vs->block, p, take);
		if (b->bytes != NULL)
			memcpy(b->bytes + vs->got, p, take);
		vs->got += take;
		p += take;
		n -= take;
		if (vs->got % SERVE_BLOCK == 0) {
			sha256_final(&vs->block, b->blocks[vs->got / SERVE_BLOCK - 1]);
			vs->block_open = 0;
		}
	}
	return FX_OK;
}

static int vs_end(void *ctx, const char *name, int ok, struct ferr *e)
{
	struct vsink *vs = ctx;
	struct vblob *b;

	(void)name;
	(void)e;
	if (vs->cur < 0)
		return FX_OK;
	b = &(*vs->all)[vs->cur];
	ok = ok && vs->got == b->size;
	if (vs->block_open) {
		if (ok)
			sha256_final(&vs->block, b->blocks[vs->got / SERVE_BLOCK]);
		else
			sha256_free(&vs->block);
		vs->block_open = 0;
	}
	b->ok = ok;
	vs->cur = -1;
	return FX_OK;
}

/* Never asked for: a sink that has one is told where large entries lie. */
static void vs_drain(void *ctx)
{
	(void)ctx;
}

/* serve reads blobs by position: one plain tar file, not compressed, not split. */
static int servable(const char *path, struct ferr *e)
{
	static const unsigned char zmagic[4] = {0x28, 0xb5, 0x2f, 0xfd};
	struct read_opts po;
	struct parts pl;
	struct stat st;
	unsigned char magic[4];
	ssize_t r = 0;
	int fd = -1, rc = FX_OK;

	memset(&po, 0, sizeof(po));
	po.head_only = 1; /* only to recognise it: no signature is checked here */
	if ((rc = parts_open(path, &po, &pl, e)) != FX_OK)
		return rc;
	if (pl.n > 0) {
		parts_free(&pl);
		return fe_set(e, FX_USAGE, "%s: a split bundle cannot be served: blobs are read by position from one "
		    "file. Join the parts first (cat NAME.ferry.0* > NAME.ferry; see docs/format.md) and serve that",
		    ESC(path));
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fe_set(e, FX_IO, "%s: %s", ESC(path), strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = fe_set(e, FX_USAGE, "%s: not a regular file: serve reads blobs by position", ESC(path));
		goto end;
	}
	do
		r = pread(fd, magic, sizeof(magic), 0);
	while (r < 0 && errno == EINTR);
	if (r == (ssize_t)sizeof(magic) && memcmp(magic, zmagic, sizeof(magic)) == 0)
		rc = fe_set(e, FX_USAGE, "%s: a zstd-compressed bundle cannot be served: blobs are read by position. "
		    "Decompress it first (zstd -d %s -o PLAIN.ferry: the signature still holds) and serve that",
		    ESC(path), ESC(path));
end:
	close(fd);
	return rc;
}

static int file_open(struct serve_file *f, const char *path, struct ferr *e)
{
	struct stat st;

	f->path = xstrdup(path);
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0 || fstat(f->fd, &st) != 0)
		return fe_set(e, FX_IO, "%s: %s", ESC(path), strerror(errno));
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->size = st.st_size;
	f->mtime = st.st_mtim;
	return FX_OK;
}

static void report_ok(const char *path, const struct bundle_head *h, const struct read_report *rep)
{
	char sz[32];

	if (h->sig_checked)
		fprintf(stderr, "%s: serve: %s: OK, signed by %s %s; %s %s: %zu images, %s checked\n", fx_progname,
		    ESC(path), h->signer.fpr, ESC(h->signer.uid), ESC(h->man.name), ESC(h->man.version), h->man.nimages,
		    fmt_bytes(rep->bytes, sz, sizeof(sz)));
	else
		fprintf(stderr, "%s: serve: %s: OK, NOT signed (accepted with --allow-unsigned); %s %s: %zu images\n",
		    fx_progname, ESC(path), ESC(h->man.name), ESC(h->man.version), h->man.nimages);
}

/* One bundle: checked servable, read and verified, its blobs added to all. */
static int verify_one(struct serve_file *f, const char *path, const struct read_opts *ro, struct bundle_head *h,
    struct vsink *vs, int quiet, struct ferr *e)
{
	struct read_opts o = *ro;
	struct read_report rep;
	struct sink s;
	char why[128];
	size_t i;
	int rc;

	if ((rc = servable(path, e)) != FX_OK || (rc = file_open(f, path, e)) != FX_OK)
		return rc;
	vs->path = path;
	vs->file = f;
	vs->cur = -1;
	memset(&s, 0, sizeof(s));
	s.ctx = vs;
	s.head = vs_head;
	s.begin = vs_begin;
	s.data = vs_data;
	s.end = vs_end;
	s.drain = vs_drain;
	o.head_only = 0;
	o.ranged_min = 1; /* every entry's position, however small */
	rc = bundle_read(path, &o, &s, h, &rep, e);
	if (vs->block_open)
		sha256_free(&vs->block);
	vs->block_open = 0;
	free(vs->manifests);
	vs->manifests = NULL;
	if (rc != FX_OK)
		return rc;
	for (i = 0; i < *vs->nall; i++)
		if ((*vs->all)[i].file == f && !(*vs->all)[i].ok)
			return fe_set(e, FX_VERIFY, "%s: a blob did not verify", ESC(path));
	/* the offsets are the file's as read: it must not have changed meanwhile */
	if (!serve_file_unchanged(f, why, sizeof(why)))
		return fe_set(e, FX_VERIFY, "%s: %s", ESC(path), why);
	if (!quiet)
		report_ok(path, h, &rep);
	return FX_OK;
}

static int cmp_vblob(const void *a, const void *b)
{
	const struct vblob *x = a, *y = b;
	int c = memcmp(x->digest, y->digest, SHA256_LEN);

	return c != 0 ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static int cmp_blob_digest(const void *key, const void *elt)
{
	return memcmp(key, ((const struct serve_blob *)elt)->digest, SHA256_LEN);
}

struct serve_blob *serve_index_blob(const struct serve_index *ix, const unsigned char d[SHA256_LEN])
{
	return ix->nblobs ? bsearch(d, ix->blobs, ix->nblobs, sizeof(*ix->blobs), cmp_blob_digest) : NULL;
}

/* The blobs of every bundle, by digest, each once (the first bundle's copy). */
static void build_blobs(struct serve_index *ix, struct vblob *all, size_t nall)
{
	size_t i;

	if (nall > 0)
		qsort(all, nall, sizeof(*all), cmp_vblob);
	ix->blobs = xcalloc(nall ? nall : 1, sizeof(*ix->blobs));
	for (i = 0; i < nall; i++) {
		struct vblob *v = &all[i];
		struct serve_blob *b;

		if (ix->nblobs > 0 && memcmp(ix->blobs[ix->nblobs - 1].digest, v->digest, SHA256_LEN) == 0) {
			b = &ix->blobs[ix->nblobs - 1];
			if (b->bytes == NULL && v->bytes != NULL) { /* kept where it is a manifest */
				b->bytes = v->bytes;
				v->bytes = NULL;
			}
			vblob_free(v);
			continue;
		}
		b = &ix->blobs[ix->nblobs++];
		memcpy(b->digest, v->digest, SHA256_LEN);
		memcpy(b->name, "sha256:", 7);
		hex_encode(v->digest, SHA256_LEN, b->name + 7);
		b->file = v->file;
		b->off = v->off;
		b->size = v->size;
		b->blocks = v->blocks;
		b->nblocks = v->nblocks;
		b->bytes = v->bytes;
		v->blocks = NULL;
		v->bytes = NULL;
		ix->bytes += b->size;
	}
}

/* A manifest's media type (its own mediaType, else what its shape says), its subject
 * when it is a referrer, and, for an index, its linux/amd64 manifest: what a client
 * that takes no index is given. */
static int describe_manifest(struct serve_index *ix, struct serve_blob *b, struct ferr *e)
{
	json_error_t je;
	json_t *doc = json_loadb((const char *)b->bytes, (size_t)b->size, JSON_REJECT_DUPLICATES, &je), *list, *m;
	const char *mt;
	size_t i;
	int rc = FX_OK;

	if (!json_is_object(doc)) {
		rc = fe_set(e, FX_VERIFY, "manifest %s is not a JSON object", b->name);
		goto end;
	}
	list = json_object_get(doc, "manifests");
	mt = json_string_value(json_object_get(doc, "mediaType"));
	if (mt == NULL)
		mt = json_is_array(list) ? MT_OCI_INDEX : MT_OCI_MANIFEST;
	if (!serve_media_type_valid(mt)) {
		rc = fe_set(e, FX_VERIFY, "manifest %s: media type %s is not valid", b->name, ESC(mt));
		goto end;
	}
	b->media_type = xstrdup(mt);
	serve_describe_referrer(b, doc);
	if (strcmp(mt, MT_OCI_INDEX) != 0 && strcmp(mt, MT_DOCKER_LIST) != 0)
		goto end;
	json_array_foreach(list, i, m) {
		json_t *pf = json_object_get(m, "platform");
		const char *os = json_string_value(json_object_get(pf, "os"));
		const char *arch = json_string_value(json_object_get(pf, "architecture"));
		unsigned char d[SHA256_LEN];
		struct serve_blob *child;

		if (os == NULL || arch == NULL || strcmp(os, "linux") != 0 || strcmp(arch, "amd64") != 0 ||
		    digest_parse(json_string_value(json_object_get(m, "digest")), d, NULL) != 0)
			continue;
		child = serve_index_blob(ix, d);
		if (child != NULL && child->bytes != NULL && child != b) {
			b->amd64 = child;
			break;
		}
	}
end:
	json_decref(doc);
	return rc;
}

static struct serve_repo *repo_get(struct serve_index *ix, const char *name)
{
	struct serve_repo *r;
	size_t i;

	for (i = 0; i < ix->nrepos; i++)
		if (strcmp(ix->repos[i].name, name) == 0)
			return &ix->repos[i];
	ix->repos = xreallocarray(ix->repos, ix->nrepos + 1, sizeof(*ix->repos));
	r = &ix->repos[ix->nrepos++];
	memset(r, 0, sizeof(*r));
	fx_strlcpy(r->name, name, sizeof(r->name));
	return r;
}

static int add_tag(struct serve_repo *r, const char *tag, struct serve_blob *m, const char *path, struct ferr *e)
{
	size_t i;

	for (i = 0; i < r->ntags; i++) {
		if (strcmp(r->tags[i].name, tag) != 0)
			continue;
		if (r->tags[i].manifest != m)
			return fe_set(e, FX_USAGE, "%s: %s:%s is also in an earlier bundle, as %s (not %s): serve them apart",
			    ESC(path), r->name, ESC(tag), r->tags[i].manifest->name, m->name);
		return FX_OK;
	}
	r->tags = xreallocarray(r->tags, r->ntags + 1, sizeof(*r->tags));
	fx_strlcpy(r->tags[r->ntags].name, tag, sizeof(r->tags[r->ntags].name));
	r->tags[r->ntags++].manifest = m;
	return FX_OK;
}

/* A bundle's images into their repositories, as `load --to registry://` names them. */
static int add_images(struct serve_index *ix, const struct manifest *man, const char *path, const char *prefix,
    struct ferr *e)
{
	size_t i, k;
	int rc;

	for (i = 0; i < man->nimages; i++) {
		const struct man_image *mi = &man->images[i];
		char repo[REPO_NAME_MAX], tag[REPO_TAG_MAX];
		unsigned char d[SHA256_LEN];
		struct serve_blob *top;
		struct serve_repo *r;

		if (reg_repo_name(mi->ref, prefix, 0, repo, tag) != 0)
			return fe_set(e, FX_USAGE, "%s: image %s: its repository name under prefix '%s' is not valid",
			    ESC(path), ESC(mi->ref), ESC(prefix));
		if (digest_parse(mi->digest, d, NULL) != 0 || (top = serve_index_blob(ix, d)) == NULL || top->bytes == NULL ||
		    mi->nmanifests == 0 || strcmp(mi->manifests[mi->nmanifests - 1], mi->digest) != 0)
			return fe_set(e, FX_VERIFY, "%s: image %s: bundle.yaml does not list its manifest", ESC(path),
			    ESC(mi->ref));
		r = repo_get(ix, repo);
		for (k = 0; k < mi->nblobs + mi->nmanifests; k++) {
			const char *ds = k < mi->nblobs ? mi->blobs[k] : mi->manifests[k - mi->nblobs];
			struct serve_blob *b;

			if (digest_parse(ds, d, NULL) != 0 || (b = serve_index_blob(ix, d)) == NULL ||
			    (k >= mi->nblobs && b->bytes == NULL))
				return fe_set(e, FX_VERIFY, "%s: image %s: bundle.yaml lists %s, which the bundle does not hold",
				    ESC(path), ESC(mi->ref), ESC(ds));
			r->blobs = xreallocarray(r->blobs, r->nblobs + 1, sizeof(*r->blobs));
			r->blobs[r->nblobs++] = b;
		}
		if ((rc = serve_add_signatures(ix, r, mi, path, e)) != FX_OK)
			return rc;
		if (tag[0] != '\0' && (rc = add_tag(r, tag, top, path, e)) != FX_OK)
			return rc;
		ix->nimages++;
	}
	return FX_OK;
}

static int cmp_repo(const void *a, const void *b)
{
	return strcmp(((const struct serve_repo *)a)->name, ((const struct serve_repo *)b)->name);
}

static int cmp_tag(const void *a, const void *b)
{
	return strcmp(((const struct serve_tag *)a)->name, ((const struct serve_tag *)b)->name);
}

static int cmp_blob_ptr(const void *a, const void *b)
{
	return memcmp((*(struct serve_blob *const *)a)->digest, (*(struct serve_blob *const *)b)->digest, SHA256_LEN);
}

/* Sorted, for lookups by bsearch; each blob once in a repository. */
static void finish_repos(struct serve_index *ix)
{
	size_t i, j, n;

	if (ix->nrepos > 0)
		qsort(ix->repos, ix->nrepos, sizeof(*ix->repos), cmp_repo);
	for (i = 0; i < ix->nrepos; i++) {
		struct serve_repo *r = &ix->repos[i];

		if (r->ntags > 0)
			qsort(r->tags, r->ntags, sizeof(*r->tags), cmp_tag);
		if (r->nblobs > 0)
			qsort(r->blobs, r->nblobs, sizeof(*r->blobs), cmp_blob_ptr);
		for (j = n = 0; j < r->nblobs; j++)
			if (n == 0 || r->blobs[n - 1] != r->blobs[j])
				r->blobs[n++] = r->blobs[j];
		r->nblobs = n;
	}
}

int serve_index_build(struct serve_index *ix, char **bundles, size_t n, const struct read_opts *ro,
    const char *prefix, int quiet, struct ferr *e)
{
	struct bundle_head *heads = xcalloc(n ? n : 1, sizeof(*heads));
	struct vblob *all = NULL;
	size_t nall = 0, cap = 0, seq = 0, i;
	uint64_t kept = 0;
	int rc = FX_OK;

	memset(ix, 0, sizeof(*ix));
	ix->files = xcalloc(n ? n : 1, sizeof(*ix->files));
	for (i = 0; i < n; i++) {
		struct vsink vs;

		memset(&vs, 0, sizeof(vs));
		vs.all = &all;
		vs.nall = &nall;
		vs.cap = &cap;
		vs.seq = &seq;
		vs.kept = &kept;
		ix->files[i].fd = -1;
		ix->nfiles++;
		if ((rc = verify_one(&ix->files[i], bundles[i], ro, &heads[i], &vs, quiet, e)) != FX_OK)
			goto end;
	}
	build_blobs(ix, all, nall);
	for (i = 0; i < ix->nblobs; i++)
		if (ix->blobs[i].bytes != NULL && (rc = describe_manifest(ix, &ix->blobs[i], e)) != FX_OK)
			goto end;
	for (i = 0; i < n; i++)
		if ((rc = add_images(ix, &heads[i].man, bundles[i], prefix, e)) != FX_OK)
			goto end;
	finish_repos(ix);
end:
	for (i = 0; i < nall; i++)
		vblob_free(&all[i]);
	free(all);
	for (i = 0; i < n; i++)
		bundle_head_free(&heads[i]);
	free(heads);
	return rc;
}

void serve_index_free(struct serve_index *ix)
{
	size_t i;

	for (i = 0; i < ix->nfiles; i++) {
		if (ix->files[i].fd >= 0)
			close(ix->files[i].fd);
		free(ix->files[i].path);
	}
	free(ix->files);
	for (i = 0; i < ix->nblobs; i++) {
		free(ix->blobs[i].blocks);
		free(ix->blobs[i].bytes);
		free(ix->blobs[i].media_type);
		free(ix->blobs[i].artifact_type);
		free(ix->blobs[i].referrer);
	}
	free(ix->blobs);
	for (i = 0; i < ix->nrepos; i++) {
		free(ix->repos[i].tags);
		free(ix->repos[i].blobs);
	}
	free(ix->repos);
	memset(ix, 0, sizeof(*ix));
}

static int cmp_repo_name(const void *key, const void *elt)
{
	return strcmp(key, ((const struct serve_repo *)elt)->name);
}

const struct serve_repo *serve_find_repo(const struct serve_index *ix, const char *name)
{
	return ix->nrepos ? bsearch(name, ix->repos, ix->nrepos, sizeof(*ix->repos), cmp_repo_name) : NULL;
}

static int cmp_blob_ptr_key(const void *key, const void *elt)
{
	return memcmp(key, (*(struct serve_blob *const *)elt)->digest, SHA256_LEN);
}

struct serve_blob *serve_repo_blob(const struct serve_repo *r, const unsigned char digest[SHA256_LEN])
{
	struct serve_blob **b;

	if (r->nblobs == 0)
		return NULL;
	b = bsearch(digest, r->blobs, r->nblobs, sizeof(*r->blobs), cmp_blob_ptr_key);
	return b != NULL ? *b : NULL;
}

static int cmp_tag_name(const void *key, const void *elt)
{
	return strcmp(key, ((const struct serve_tag *)elt)->name);
}

struct serve_blob *serve_repo_tag(const struct serve_repo *r, const char *tag)
{
	const struct serve_tag *t = r->ntags ? bsearch(tag, r->tags, r->ntags, sizeof(*r->tags), cmp_tag_name) : NULL;

	return t != NULL ? t->manifest : NULL;
}
