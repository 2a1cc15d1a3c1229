/* ocidir.c - the oci:DIR target (see ocidir.h). Every file is reached through openat()
 * from the layout's directory with O_NOFOLLOW, and every name written is a hex digest
 * we checked, so nothing lands outside DIR whatever the bundle or the directory holds. */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "target/ocidir.h"
#include "util/file.h"
#include "util/digest.h"

#define INDEX_MAX (64u << 20)
#define REF_ANNOTATION "org.opencontainers.image.ref.name"

enum { O_PENDING, O_OK, O_BAD, O_FAILED };

struct oimg {
	const struct man_image *mi;
	int failed; /* 0, FX_VERIFY, FX_TARGET */
	char why[600];
};

struct oblob {
	char digest[72]; /* sha256:<hex> */
	int state;
	char why[300];
};

struct oci {
	char spec[600];
	char *dir;
	const struct load_opts *lo;
	const struct load_sel *sel;
	int dfd, bfd;
	struct oimg *imgs;
	size_t nimgs;
	struct oblob *blobs;
	size_t nblobs;
	/* the blob being written */
	struct oblob *cur;
	int exists;          /* already in the layout: only the verdict matters */
	int fd;
	char tmp[128];
	char *tmppath;
	struct sha256 hs;
	int werr;
	unsigned seq;
	int headed, dead;
	char dead_why[1100];
	size_t written, present, loaded;
	uint64_t bytes;
	struct timespec t0;
};

static int blob_cmp(const void *a, const void *b)
{
	return strcmp(((const struct oblob *)a)->digest, ((const struct oblob *)b)->digest);
}

static struct oblob *find(struct oci *o, const char *d)
{
	struct oblob key;

	if (fx_strlcpy(key.digest, d, sizeof(key.digest)) >= sizeof(key.digest))
		return NULL;
	return o->nblobs ? bsearch(&key, o->blobs, o->nblobs, sizeof(*o->blobs), blob_cmp) : NULL;
}

static void ofail(struct oimg *im, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void ofail(struct oimg *im, int code, const char *fmt, ...)
{
	va_list ap;

	if (im->failed)
		return;
	im->failed = code;
	va_start(ap, fmt);
	vsnprintf(im->why, sizeof(im->why), fmt, ap);
	va_end(ap);
}

static void dead(struct oci *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dead(struct oci *o, const char *fmt, ...)
{
	va_list ap;

	if (o->dead)
		return;
	o->dead = 1;
	va_start(ap, fmt);
	vsnprintf(o->dead_why, sizeof(o->dead_why), fmt, ap);
	va_end(ap);
}

/* Opens (creating when asked) a subdirectory without following links. */
static int subdir(int at, const char *name, int create)
{
	if (create && mkdirat(at, name, 0755) != 0 && errno != EEXIST)
		return -1;
	return openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static int oci_head(void *ctx, const struct bundle_head *hd, struct ferr *e)
{
	struct oci *o = ctx;
	const struct manifest *m = &hd->man;
	size_t i, k, n = 0;
	struct stat st;

	(void)e;
	o->headed = 1;
	clock_gettime(CLOCK_MONOTONIC, &o->t0);
	o->imgs = xcalloc(m->nimages ? m->nimages : 1, sizeof(*o->imgs));
	for (i = 0; i < m->nimages; i++) {
		const struct man_image *mi = &m->images[i];

		if (!o->sel->selected[i])
			continue;
		o->imgs[o->nimgs++].mi = mi;
		n += mi->nblobs + mi->nmanifests;
	}
	o->blobs = xcalloc(n ? n : 1, sizeof(*o->blobs));
	for (i = 0; i < o->nimgs; i++) {
		const struct man_image *mi = o->imgs[i].mi;

		for (k = 0; k < mi->nblobs + mi->nmanifests; k++) {
			const char *d = k < mi->nblobs ? mi->blobs[k] : mi->manifests[k - mi->nblobs];

			if (!digest_valid(d)) {
				ofail(&o->imgs[i], FX_VERIFY, "bundle.yaml lists a bad digest %s", ESC(d));
				continue;
			}
			fx_strlcpy(o->blobs[o->nblobs++].digest, d, sizeof(o->blobs[0].digest));
		}
		if (!digest_valid(mi->digest))
			ofail(&o->imgs[i], FX_VERIFY, "bad manifest digest");
	}
	if (o->nblobs > 0)
		qsort(o->blobs, o->nblobs, sizeof(*o->blobs), blob_cmp);
	for (i = 0, k = 0; i < o->nblobs; i++) /* unique */
		if (k == 0 || strcmp(o->blobs[k - 1].digest, o->blobs[i].digest) != 0)
			o->blobs[k++] = o->blobs[i];
	o->nblobs = k;
	if (o->lo->dry_run) {
		/* look, but create nothing */
		o->dfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (o->dfd >= 0)
			o->bfd = openat(o->dfd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		return FX_OK;
	}
	if (mkdir_p(o->dir, 0755) != 0) {
		dead(o, "%s: %s", ESC(o->dir), strerror(errno));
		return FX_OK;
	}
	o->dfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (o->dfd < 0) {
		dead(o, "%s: %s", ESC(o->dir), strerror(errno));
		return FX_OK;
	}
	{
		int b = subdir(o->dfd, "blobs", 1);

		if (b < 0) {
			dead(o, "%s/blobs: %s", ESC(o->dir), errno == ELOOP || errno == ENOTDIR ? "a symbolic link or not a directory" : strerror(errno));
			return FX_OK;
		}
		o->bfd = subdir(b, "sha256", 1);
		close(b);
		if (o->bfd < 0) {
			dead(o, "%s/blobs/sha256: %s", ESC(o->dir), errno == ELOOP || errno == ENOTDIR ? "a symbolic link or not a directory" : strerror(errno));
			return FX_OK;
		}
	}
	if (fstatat(o->dfd, "oci-layout", &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISREG(st.st_mode))
			dead(o, "%s/oci-layout: not a regular file", ESC(o->dir));
	} else {
		static const char lay[] = "{\"imageLayoutVersion\":\"1.0.0\"}";

		struct ferr le = {0, ""};
		char shown[PATH_MAX + 16];

		snprintf(shown, sizeof(shown), "%s/oci-layout", o->dir);
		if (fx_write_fileat(o->dfd, "oci-layout", shown, lay, sizeof(lay) - 1, 0644, 1, &le) != FX_OK)
			dead(o, "%s", le.msg);
	}
	return FX_OK;
}

static int oci_begin(void *ctx, const char *name, uint64_t size, const struct entry_loc *loc, int *want,
    struct ferr *e)
{
	struct oci *o = ctx;
	struct oblob *b;
	struct stat st;
	char d[80];
	const char *hex;

	(void)loc;
	(void)size;
	(void)e;
	*want = 0;
	if (o->dead || strncmp(name, "images/blobs/sha256/", 20) != 0)
		return FX_OK;
	hex = name + 20;
	if (!digest_hex_valid(hex))
		return FX_OK;
	snprintf(d, sizeof(d), "sha256:%s", hex);
	if ((b = find(o, d)) == NULL || b->state != O_PENDING)
		return FX_OK;
	o->cur = b;
	o->exists = 0;
	o->fd = -1;
	o->werr = 0;
	if (o->bfd >= 0 && fstatat(o->bfd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISREG(st.st_mode)) {
			fx_strlcpy(b->why, "exists in the layout and is not a regular file", sizeof(b->why));
			b->state = O_FAILED;
			o->cur = NULL;
			return FX_OK;
		}
		o->exists = 1; /* content-addressed: the file there is that blob */
		return FX_OK;
	}
	if (o->lo->dry_run)
		return FX_OK;
	snprintf(o->tmp, sizeof(o->tmp), ".tmp-%s-%d-%u", hex, (int)getpid(), o->seq++);
	o->fd = openat(o->bfd, o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (o->fd < 0) {
		snprintf(b->why, sizeof(b->why), "%s/blobs/sha256/%s: %s", ESC(o->dir), o->tmp, strerror(errno));
		b->state = O_FAILED;
		o->cur = NULL;
		return FX_OK;
	}
	free(o->tmppath);
	o->tmppath = xasprintf("%s/blobs/sha256/%s", o->dir, o->tmp);
	fx_cleanup_file(o->tmppath);
	sha256_init(&o->hs);
	*want = 1;
	return FX_OK;
}

static int oci_data(void *ctx, const void *buf, size_t n, struct ferr *e)
{
	struct oci *o = ctx;

	(void)e;
	if (o->cur == NULL || o->fd < 0)
		return FX_OK;
	sha256_update(&o->hs, buf, n);
	if (!o->werr && write_all(o->fd, buf, n) != 0)
		o->werr = errno ? errno : EIO;
	return FX_OK;
}

static int oci_end(void *ctx, const char *name, int ok, struct ferr *e)
{
	struct oci *o = ctx;
	struct oblob *b = o->cur;
	unsigned char got[SHA256_LEN], want[SHA256_LEN];

	(void)name;
	(void)e;
	if (b == NULL)
		return FX_OK;
	o->cur = NULL;
	if (o->fd < 0) { /* present already, or a dry run */
		if (!ok) {
			b->state = O_BAD;
			fx_strlcpy(b->why, "did not verify", sizeof(b->why));
		} else {
			b->state = O_OK;
			if (o->exists)
				o->present++;
			else
				o->written++; /* would be */
		}
		return FX_OK;
	}
	sha256_final(&o->hs, got);
	hex_decode(b->digest + 7, 64, want);
	/* the name is a digest too: a layout is content-addressed, so check it as well */
	if (ok && CRYPTO_memcmp(got, want, SHA256_LEN) != 0) {
		ok = 0;
		fx_strlcpy(b->why, "does not hash to its name", sizeof(b->why));
	} else if (!ok) {
		fx_strlcpy(b->why, "did not verify", sizeof(b->why));
	}
	if (ok && !o->werr && fdatasync(o->fd) != 0)
		o->werr = errno;
	if (close(o->fd) != 0 && !o->werr)
		o->werr = errno;
	o->fd = -1;
	if (ok && !o->werr && renameat(o->bfd, o->tmp, o->bfd, b->digest + 7) != 0)
		o->werr = errno;
	if (!ok || o->werr) {
		unlinkat(o->bfd, o->tmp, 0);
		if (ok) {
			snprintf(b->why, sizeof(b->why), "%s/blobs/sha256/%s: %s", ESC(o->dir), b->digest + 7,
			    strerror(o->werr));
			b->state = O_FAILED;
		} else {
			b->state = O_BAD;
		}
	} else {
		struct stat st;

		b->state = O_OK;
		o->written++;
		if (fstatat(o->bfd, b->digest + 7, &st, AT_SYMLINK_NOFOLLOW) == 0)
			o->bytes += (uint64_t)st.st_size;
	}
	fx_cleanup_forget();
	return FX_OK;
}

/* Reads DIR/index.json (or starts one); NULL with o dead when it is unusable. */
static json_t *load_index(struct oci *o)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	json_t *root = NULL;
	int fd = openat(o->dfd, "index.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT) {
		root = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType",
		    "application/vnd.oci.image.index.v1+json", "manifests");
		return root;
	}
	if (fd < 0) {
		dead(o, "%s/index.json: %s", ESC(o->dir), errno == ELOOP || errno == ENOTDIR ? "a symbolic link or not a directory" : strerror(errno));
		return NULL;
	}
	for (;;) {
		ssize_t r;

		if (len == cap) {
			if (cap >= INDEX_MAX) {
				dead(o, "%s/index.json: larger than %u MiB", ESC(o->dir), INDEX_MAX >> 20);
				goto end;
			}
			cap = cap ? cap * 2 : 65536;
			buf = xrealloc(buf, cap);
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			dead(o, "%s/index.json: %s", ESC(o->dir), strerror(errno));
			goto end;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	root = json_loadb(buf ? buf : "", len, JSON_REJECT_DUPLICATES, NULL);
	if (root == NULL || !json_is_object(root) || !json_is_array(json_object_get(root, "manifests"))) {
		json_decref(root);
		root = NULL;
		dead(o, "%s/index.json: not an OCI image index; left untouched", ESC(o->dir));
	}
end:
	close(fd);
	free(buf);
	return root;
}

static int oci_finish(void *ctx, int all_ok, struct ferr *e)
{
	struct oci *o = ctx;
	json_t *root = NULL, *arr;
	size_t i, k;
	char *text = NULL;
	int changed = 0;

	(void)all_ok;
	(void)e;
	if (o->dead)
		return FX_OK;
	for (i = 0; i < o->nimgs; i++) {
		struct oimg *im = &o->imgs[i];
		const struct man_image *mi = im->mi;

		for (k = 0; !im->failed && k < mi->nblobs + mi->nmanifests; k++) {
			const char *d = k < mi->nblobs ? mi->blobs[k] : mi->manifests[k - mi->nblobs];
			struct oblob *b = find(o, d);

			if (b == NULL)
				continue;
			if (b->state == O_PENDING)
				ofail(im, FX_VERIFY, "%s is missing from the bundle", d);
			else if (b->state == O_BAD)
				ofail(im, FX_VERIFY, "%s %s", d, b->why);
			else if (b->state == O_FAILED)
				ofail(im, FX_TARGET, "%s", b->why);
		}
	}
	if (o->lo->dry_run) {
		for (i = 0; i < o->nimgs; i++)
			o->loaded += !o->imgs[i].failed;
		return FX_OK;
	}
	if ((root = load_index(o)) == NULL)
		return FX_OK;
	arr = json_object_get(root, "manifests");
	for (i = 0; i < o->nimgs; i++) {
		struct oimg *im = &o->imgs[i];
		struct stat st;
		json_t *desc;
		size_t j;

		if (im->failed)
			continue;
		if (fstatat(o->bfd, im->mi->digest + 7, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
			ofail(im, FX_TARGET, "%s/blobs/sha256/%s: missing", ESC(o->dir), im->mi->digest + 7);
			continue;
		}
		/* replace a descriptor of the same name */
		for (j = json_array_size(arr); j-- > 0;) {
			const char *rn = json_string_value(
			    json_object_get(json_object_get(json_array_get(arr, j), "annotations"), REF_ANNOTATION));

			if (rn != NULL && strcmp(rn, im->mi->ref) == 0)
				json_array_remove(arr, j);
		}
		desc = json_pack("{s:s, s:s, s:I, s:{s:s}}", "mediaType",
		    im->mi->media_type && *im->mi->media_type ? im->mi->media_type :
		    "application/vnd.oci.image.manifest.v1+json",
		    "digest", im->mi->digest, "size", (json_int_t)st.st_size, "annotations", REF_ANNOTATION, im->mi->ref);
		if (desc == NULL || json_array_append_new(arr, desc) != 0) {
			ofail(im, FX_TARGET, "cannot describe the image in index.json");
			continue;
		}
		changed = 1;
		o->loaded++;
	}
	if (changed) {
		struct ferr le = {0, ""};
		char shown[PATH_MAX + 16];

		snprintf(shown, sizeof(shown), "%s/index.json", o->dir);
		text = json_dumps(root, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		if (text == NULL)
			fe_set(&le, FX_IO, "%s/index.json: out of memory", ESC(o->dir));
		else if (fx_write_fileat(o->dfd, "index.json", shown, text, strlen(text), 0644, 1, &le) == FX_OK &&
		    fsync(o->dfd) != 0)
			fe_set(&le, FX_IO, "%s/index.json: %s", ESC(o->dir), strerror(errno));
		if (le.code != FX_OK) {
			dead(o, "%s", le.msg);
			o->loaded = 0;
		}
	}
	free(text);
	json_decref(root);
	return FX_OK;
}

static int oci_report(void *ctx, int finished, struct ferr *e)
{
	struct oci *o = ctx;
	size_t i, nfail = 0, ntarget = 0;
	char b1[32];

	if (!o->headed)
		return FX_OK;
	if (o->dead)
		fx_warn("%s: %s", o->spec, o->dead_why);
	for (i = 0; i < o->nimgs; i++) {
		struct oimg *im = &o->imgs[i];

		if (o->dead && o->loaded == 0)
			ofail(im, FX_TARGET, "the layout could not be written");
		else if (!finished)
			ofail(im, FX_IO, "the bundle was not read to the end");
		if (!im->failed) {
			if (o->lo->on_loaded != NULL && !o->lo->dry_run)
				o->lo->on_loaded(o->lo->on_loaded_ctx, o->spec, o->sel->man, im->mi);
			continue;
		}
		nfail++;
		ntarget += im->failed == FX_TARGET;
		fx_warn("%s: %s: not loaded: %s", o->spec, ESC(im->mi->ref), im->why);
	}
	fmt_bytes(o->bytes, b1, sizeof(b1));
	if (o->lo->dry_run)
		fprintf(stderr, "%s: %s: dry run: %zu images would be loaded, %zu would fail; blobs: %zu to write, %zu present\n",
		    fx_progname, o->spec, o->loaded, nfail, o->written, o->present);
	else
		fprintf(stderr, "%s: %s: %zu images loaded, %zu failed; blobs: %zu written, %zu present (%s written)\n",
		    fx_progname, o->spec, o->loaded, nfail, o->written, o->present, b1);
	if (ntarget > 0 || o->dead)
		return fe_set(e, FX_TARGET, "%s: %zu of %zu images not loaded", o->spec, ntarget ? ntarget : nfail, o->nimgs);
	return FX_OK;
}

static void oci_free(void *ctx)
{
	struct oci *o = ctx;

	if (o == NULL)
		return;
	if (o->fd >= 0) { /* the stream broke off in the middle of a blob */
		close(o->fd);
		unlinkat(o->bfd, o->tmp, 0);
		sha256_free(&o->hs);
		fx_cleanup_forget();
	}
	if (o->bfd >= 0)
		close(o->bfd);
	if (o->dfd >= 0)
		close(o->dfd);
	free(o->tmppath);
	free(o->imgs);
	free(o->blobs);
	free(o->dir);
	free(o);
}

int ocidir_target_open(const char *spec, const struct load_opts *lo, const struct load_sel *sel,
    struct load_target *t, struct ferr *e)
{
	struct oci *o;

	if (strncmp(spec, "oci:", 4) != 0 || spec[4] == '\0' || strlen(spec) > 4000)
		return fe_set(e, FX_USAGE, "--to %s: expected oci:DIR", ESC(spec));
	o = xcalloc(1, sizeof(*o));
	fx_strlcpy(o->spec, spec, sizeof(o->spec));
	o->dir = xstrdup(spec + 4);
	o->lo = lo;
	o->sel = sel;
	o->dfd = o->bfd = o->fd = -1;
	memset(t, 0, sizeof(*t));
	t->spec = spec;
	t->sink.ctx = o;
	t->sink.head = oci_head;
	t->sink.begin = oci_begin;
	t->sink.data = oci_data;
	t->sink.end = oci_end;
	t->sink.finish = oci_finish;
	t->report = oci_report;
	t->free = oci_free;
	return FX_OK;
}
