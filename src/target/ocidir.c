/* ocidir.c - the oci:DIR target (see ocidir.h). Every file is reached through openat()
 * from the layout's directory with O_NOFOLLOW (and O_NONBLOCK, so that a FIFO planted
 * there cannot hold the load), only regular files are read, and every name written is
 * a hex digest we checked, so nothing lands outside DIR whatever the bundle or the
 * directory holds. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "target/ocidir.h"
#include "crypto/cosign.h"
#include "image/oci.h"
#include "util/digest.h"
#include "util/file.h"

#define INDEX_MAX (64u << 20)
#define REF_ANNOTATION "org.opencontainers.image.ref.name"
#define LOCK_NAME ".ferry-lock"
#define HASH_BUF (1u << 20)

/* What the layout holds of a blob of the plan (same index). */
struct oci_blob {
	int state; /* BLOB_* */
	char why[WHY_MAX];
};

struct oci {
	char *spec;
	char *dir;
	const struct load_opts *lo;
	const struct target_plan *plan;
	int dir_fd, blobs_fd;
	struct image_verdict *verdicts;
	struct oci_blob *blobs;
	/* the blob being written */
	struct oci_blob *cur;
	size_t cur_index;
	int fd;
	char tmp[128];
	char *tmp_path;
	int write_err;
	char replacing[200]; /* why the file there is replaced; "" when there was none */
	unsigned seq;
	int dead;
	char dead_why[1100];
	size_t written, present, replaced;
	uint64_t bytes;
};

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

static const char *file_type(mode_t mode)
{
	if (S_ISFIFO(mode))
		return "not a regular file (a FIFO)";
	if (S_ISDIR(mode))
		return "not a regular file (a directory)";
	if (S_ISSOCK(mode))
		return "not a regular file (a socket)";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "not a regular file (a device)";
	return "not a regular file";
}

/* Opens name (in dirfd) without following a link or waiting on a FIFO, and keeps it
 * only when it is a regular file: the descriptor; -1 when it is not there (ENOENT, and
 * flags without O_CREAT); -2 when it is unusable, with why. */
static int open_regular(int dirfd, const char *name, int flags, const char **why)
{
	struct stat st;
	int fd = openat(dirfd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);

	if (fd < 0 && errno == ENOENT)
		return -1;
	if (fd < 0) {
		*why = errno == ELOOP ? "a symbolic link" : errno == ENXIO ? "not a regular file" : strerror(errno);
		return -2;
	}
	if (fstat(fd, &st) != 0)
		*why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		*why = file_type(st.st_mode);
	else
		return fd;
	close(fd);
	return -2;
}

/* Opens (creating when asked) a subdirectory without following links. */
static int subdir(int at, const char *name, int create)
{
	if (create && mkdirat(at, name, 0755) != 0 && errno != EEXIST)
		return -1;
	return openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static const char *dir_problem(int err)
{
	return err == ELOOP || err == ENOTDIR ? "a symbolic link or not a directory" : strerror(err);
}

/* DIR, DIR/blobs/sha256 and DIR/oci-layout, made where missing; o dead when not. */
static void open_layout(struct oci *o)
{
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	char shown[PATH_MAX + 16];
	struct ferr err = {0, ""};
	const char *why = NULL;
	int blobs_fd = -1, fd;

	if (mkdir_p(o->dir, 0755) != 0 || (o->dir_fd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		dead(o, "%s: %s", ESC(o->dir), strerror(errno));
		goto end;
	}
	if ((blobs_fd = subdir(o->dir_fd, "blobs", 1)) < 0) {
		dead(o, "%s/blobs: %s", ESC(o->dir), dir_problem(errno));
		goto end;
	}
	if ((o->blobs_fd = subdir(blobs_fd, "sha256", 1)) < 0) {
		dead(o, "%s/blobs/sha256: %s", ESC(o->dir), dir_problem(errno));
		goto end;
	}
	fd = open_regular(o->dir_fd, "oci-layout", O_RDONLY, &why);
	if (fd >= 0) {
		close(fd);
	} else if (fd == -2) {
		dead(o, "%s/oci-layout: %s", ESC(o->dir), why);
	} else {
		snprintf(shown, sizeof(shown), "%s/oci-layout", o->dir);
		if (fx_write_fileat(o->dir_fd, "oci-layout", shown, layout, sizeof(layout) - 1, 0644, 1, &err) != FX_OK)
			dead(o, "%s", err.msg);
	}
end:
	if (blobs_fd >= 0)
		close(blobs_fd);
}

static int oci_head(void *ctx, const struct bundle_head *head, struct ferr *e)
{
	struct oci *o = ctx;

	(void)head;
	(void)e;
	o->verdicts = verdicts_new(o->plan);
	o->blobs = xcalloc(o->plan->nblobs ? o->plan->nblobs : 1, sizeof(*o->blobs));
	if (!o->lo->dry_run) {
		open_layout(o);
		return FX_OK;
	}
	/* look, but create nothing */
	o->dir_fd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (o->dir_fd >= 0)
		o->blobs_fd = openat(o->dir_fd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return FX_OK;
}

/* Does the file held as blob hex have size bytes hashing to its name? 1 yes; 0 no, with
 * why (it is then replaced). */
static int held_blob_good(int fd, const char *hex, uint64_t size, char *why, size_t whysize)
{
	unsigned char want[SHA256_LEN], got[SHA256_LEN];
	unsigned char *buf = NULL;
	struct sha256 hash;
	struct stat st;
	ssize_t n;
	int good = 0;

	if (fstat(fd, &st) != 0) {
		snprintf(why, whysize, "unreadable: %s", strerror(errno));
		goto end;
	}
	if ((uint64_t)st.st_size != size) {
		snprintf(why, whysize, "%llu bytes, not %llu", (unsigned long long)st.st_size, (unsigned long long)size);
		goto end;
	}
	buf = xmalloc(HASH_BUF);
	sha256_init(&hash);
	while ((n = read(fd, buf, HASH_BUF)) > 0 || (n < 0 && errno == EINTR && !fx_interrupted))
		if (n > 0)
			sha256_update(&hash, buf, (size_t)n);
	if (n < 0) {
		snprintf(why, whysize, "unreadable: %s", strerror(errno));
		sha256_free(&hash);
		goto end;
	}
	sha256_final(&hash, got);
	hex_decode(hex, SHA256_HEX - 1, want);
	good = CRYPTO_memcmp(got, want, SHA256_LEN) == 0;
	if (!good)
		snprintf(why, whysize, "does not hash to its name");
end:
	free(buf);
	return good;
}

/* Looks at what the layout holds for blob i before it is written: the blob itself
 * (size and hash checked: 1, nothing to write), nothing or a damaged copy (0: written,
 * the damaged one replaced), or something unusable (-1, the blob failed). */
static int check_held(struct oci *o, size_t i, uint64_t size)
{
	const char *hex = o->plan->blobs[i].digest + 7, *why = NULL;
	int fd, good = 0;

	o->replacing[0] = '\0';
	if (o->blobs_fd < 0)
		return 0;
	fd = open_regular(o->blobs_fd, hex, O_RDONLY, &why);
	if (fd == -1)
		return 0;
	if (fd == -2) {
		snprintf(o->blobs[i].why, sizeof(o->blobs[i].why), "%s/blobs/sha256/%s: %s", ESC(o->dir), hex, why);
		o->blobs[i].state = BLOB_FAILED;
		return -1;
	}
	good = held_blob_good(fd, hex, size, o->replacing, sizeof(o->replacing));
	close(fd);
	return good;
}

/* A delta's required blobs: held when the layout has them (size and hash checked). */
static void oci_holds(void *ctx, unsigned char *held)
{
	struct oci *o = ctx;
	size_t i;

	for (i = 0; i < o->plan->nblobs; i++) {
		if (o->plan->blobs[i].base == PLAN_NONE || o->blobs[i].state != BLOB_PENDING)
			continue;
		if (o->dead || check_held(o, i, o->plan->blobs[i].size) > 0) {
			held[i] = 1;
			o->blobs[i].state = BLOB_OK;
			o->present += !o->dead;
		}
	}
}

static int oci_begin(void *ctx, const char *name, uint64_t size, const struct entry_loc *loc, int *want,
    struct ferr *e)
{
	struct oci *o = ctx;
	const char *hex;
	size_t i;
	int held;

	(void)loc;
	(void)e;
	*want = 0;
	if (o->dead || (i = target_plan_entry(o->plan, name)) == PLAN_NONE || o->blobs[i].state != BLOB_PENDING)
		return FX_OK;
	if ((held = check_held(o, i, size)) != 0) {
		if (held > 0) { /* content-addressed and checked: that file is this blob */
			o->blobs[i].state = BLOB_OK;
			o->present++;
			*want = SINK_PRESENT;
		}
		return FX_OK;
	}
	o->cur = &o->blobs[i];
	o->cur_index = i;
	o->fd = -1;
	o->write_err = 0;
	if (o->lo->dry_run)
		return FX_OK; /* only the verdict matters */
	hex = o->plan->blobs[i].digest + 7;
	snprintf(o->tmp, sizeof(o->tmp), ".tmp-%s-%d-%u", hex, (int)getpid(), o->seq++);
	o->fd = openat(o->blobs_fd, o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (o->fd < 0) {
		snprintf(o->cur->why, sizeof(o->cur->why), "%s/blobs/sha256/%s: %s", ESC(o->dir), o->tmp, strerror(errno));
		o->cur->state = BLOB_FAILED;
		o->cur = NULL;
		return FX_OK;
	}
	free(o->tmp_path);
	o->tmp_path = xasprintf("%s/blobs/sha256/%s", o->dir, o->tmp);
	fx_cleanup_file(o->tmp_path);
	*want = 1;
	return FX_OK;
}

static int oci_data(void *ctx, const void *buf, size_t n, struct ferr *e)
{
	struct oci *o = ctx;

	(void)e;
	if (o->cur != NULL && o->fd >= 0 && !o->write_err && write_all(o->fd, buf, n) != 0)
		o->write_err = errno ? errno : EIO;
	return FX_OK;
}

/* The blob being written verified (the reader hashed it against its signed line, and
 * the plan made sure that line is its name): into place, over a damaged copy if any. */
static void commit_blob(struct oci *o, struct oci_blob *b, const char *hex)
{
	if (!o->write_err && fdatasync(o->fd) != 0)
		o->write_err = errno;
	if (close(o->fd) != 0 && !o->write_err)
		o->write_err = errno;
	o->fd = -1;
	if (!o->write_err && fx_rename(o->blobs_fd, o->tmp, o->blobs_fd, hex, 1) != 0)
		o->write_err = errno;
	if (o->write_err) {
		unlinkat(o->blobs_fd, o->tmp, 0);
		snprintf(b->why, sizeof(b->why), "%s/blobs/sha256/%s: %s", ESC(o->dir), hex, strerror(o->write_err));
		b->state = BLOB_FAILED;
		return;
	}
	b->state = BLOB_OK;
	o->written++;
	o->bytes += o->plan->blobs[o->cur_index].size;
	if (o->replacing[0] != '\0') {
		fx_warn("%s: %s/blobs/sha256/%s was damaged (%s): replaced by the verified blob", ESC(o->spec), ESC(o->dir),
		    hex, o->replacing);
		o->replaced++;
	}
}

static int oci_end(void *ctx, const char *name, int ok, struct ferr *e)
{
	struct oci *o = ctx;
	struct oci_blob *b = o->cur;

	(void)name;
	(void)e;
	if (b == NULL)
		return FX_OK;
	o->cur = NULL;
	if (!ok) {
		b->state = BLOB_BAD;
		fx_strlcpy(b->why, "did not verify", sizeof(b->why));
	}
	if (o->fd < 0) { /* a dry run */
		if (ok) {
			b->state = BLOB_OK;
			o->written++; /* would be */
		}
		return FX_OK;
	}
	if (ok) {
		commit_blob(o, b, o->plan->blobs[o->cur_index].digest + 7);
	} else {
		close(o->fd);
		o->fd = -1;
		unlinkat(o->blobs_fd, o->tmp, 0);
	}
	fx_cleanup_forget();
	return FX_OK;
}

/* Reads DIR/index.json (or starts one); NULL with o dead when it is unusable. */
static json_t *load_index(struct oci *o)
{
	const char *why = NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	json_t *root = NULL;
	int fd = open_regular(o->dir_fd, "index.json", O_RDONLY, &why);

	if (fd == -1)
		return json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType", "application/vnd.oci.image.index.v1+json",
		    "manifests");
	if (fd == -2) {
		dead(o, "%s/index.json: %s", ESC(o->dir), why);
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

/* Takes the layout's lock (flock on DIR/.ferry-lock), so that loads into one layout
 * read, merge and replace index.json one at a time: the descriptor, or -1 with o dead. */
static int lock_layout(struct oci *o)
{
	const char *why = NULL;
	int fd = open_regular(o->dir_fd, LOCK_NAME, O_RDWR | O_CREAT, &why);

	if (fd < 0) {
		dead(o, "%s/%s: %s", ESC(o->dir), LOCK_NAME, fd == -1 ? strerror(ENOENT) : why);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	if (errno == EWOULDBLOCK && !o->lo->quiet)
		fx_warn("%s: waiting for another load into %s to update its index", ESC(o->spec), ESC(o->dir));
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR || fx_interrupted) {
			dead(o, "%s/%s: %s", ESC(o->dir), LOCK_NAME, fx_interrupted ? "interrupted" : strerror(errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* Puts image i's descriptor into the index (one of the same name is replaced). */
static void index_image(struct oci *o, json_t *manifests, size_t i)
{
	const struct man_image *mi = o->plan->images[i].mi;
	const char *media_type = mi->media_type && *mi->media_type ? mi->media_type :
	    "application/vnd.oci.image.manifest.v1+json";
	struct stat st;
	json_t *desc;
	size_t j;

	if (fstatat(o->blobs_fd, mi->digest + 7, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
		verdict_fail(&o->verdicts[i], FX_TARGET, "%s/blobs/sha256/%s: missing", ESC(o->dir), mi->digest + 7);
		return;
	}
	for (j = json_array_size(manifests); j-- > 0;) {
		json_t *annotations = json_object_get(json_array_get(manifests, j), "annotations");
		const char *ref_name = json_string_value(json_object_get(annotations, REF_ANNOTATION));

		if (ref_name != NULL && strcmp(ref_name, mi->ref) == 0)
			json_array_remove(manifests, j);
	}
	desc = json_pack("{s:s, s:s, s:I, s:{s:s}}", "mediaType", media_type, "digest", mi->digest, "size",
	    (json_int_t)st.st_size, "annotations", REF_ANNOTATION, mi->ref);
	if (desc == NULL || json_array_append_new(manifests, desc) != 0)
		verdict_fail(&o->verdicts[i], FX_TARGET, "cannot describe the image in index.json");
}

/* Puts image i's cosign signatures into the index: a legacy one named REPO:sha256-<hex>.sig
 * (the tag cosign looks up, one of the same name replaced), a sigstore bundle by its
 * digest with its artifactType (a referrer of the image through its subject). */
static void index_signatures(struct oci *o, json_t *manifests, size_t i)
{
	const struct plan_image *pi = &o->plan->images[i];
	char repo[1024], name[1024 + 80], *cut;
	size_t k, j;

	fx_strlcpy(repo, pi->mi->ref, sizeof(repo));
	if ((cut = strchr(repo, '@')) != NULL)
		*cut = '\0';
	if ((cut = strrchr(repo, ':')) != NULL && strchr(cut, '/') == NULL)
		*cut = '\0';
	snprintf(name, sizeof(name), "%s:sha256-%s.sig", repo, pi->mi->digest + 7);
	for (k = 0; k < pi->nsigs && !o->verdicts[i].failed; k++) {
		const char *digest = o->plan->blobs[pi->sigs[k]].digest;
		int simple = strcmp(pi->mi->signatures[k].kind, MAN_SIG_SIMPLE) == 0;
		struct stat st;
		json_t *desc;

		if (fstatat(o->blobs_fd, digest + 7, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
			verdict_fail(&o->verdicts[i], FX_TARGET, "%s/blobs/sha256/%s: missing", ESC(o->dir), digest + 7);
			return;
		}
		for (j = json_array_size(manifests); j-- > 0;) {
			json_t *old = json_array_get(manifests, j);
			const char *ref_name = json_string_value(json_object_get(json_object_get(old, "annotations"), REF_ANNOTATION));
			const char *old_digest = json_string_value(json_object_get(old, "digest"));

			if ((simple && ref_name != NULL && strcmp(ref_name, name) == 0) ||
			    (!simple && ref_name == NULL && old_digest != NULL && strcmp(old_digest, digest) == 0))
				json_array_remove(manifests, j);
		}
		if (simple)
			desc = json_pack("{s:s, s:s, s:I, s:{s:s}}", "mediaType", OCI_MT_MANIFEST, "digest", digest, "size",
			    (json_int_t)st.st_size, "annotations", REF_ANNOTATION, name);
		else
			desc = json_pack("{s:s, s:s, s:I, s:s}", "mediaType", OCI_MT_MANIFEST, "digest", digest, "size",
			    (json_int_t)st.st_size, "artifactType", COSIGN_BUNDLE_MEDIA_TYPE);
		if (desc == NULL || json_array_append_new(manifests, desc) != 0)
			verdict_fail(&o->verdicts[i], FX_TARGET, "cannot describe a signature in index.json");
	}
}

/* Under the layout's lock: index.json read again (another load may have changed it),
 * the loaded images merged in, written beside and renamed over it. */
static void update_index(struct oci *o)
{
	struct ferr err = {0, ""};
	char shown[PATH_MAX + 16];
	json_t *root = NULL;
	char *text = NULL;
	size_t i;
	int lock_fd, changed = 0;

	for (i = 0; i < o->plan->nimages && o->verdicts[i].failed; i++)
		;
	if (i == o->plan->nimages)
		return; /* no image to add: the index (and its lock) are not touched */
	if ((lock_fd = lock_layout(o)) < 0)
		return;
	if ((root = load_index(o)) == NULL)
		goto end;
	for (i = 0; i < o->plan->nimages; i++) {
		if (o->verdicts[i].failed)
			continue;
		index_image(o, json_object_get(root, "manifests"), i);
		index_signatures(o, json_object_get(root, "manifests"), i);
		changed |= !o->verdicts[i].failed;
	}
	if (!changed)
		goto end;
	snprintf(shown, sizeof(shown), "%s/index.json", o->dir);
	text = json_dumps(root, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	if (text == NULL)
		fe_set(&err, FX_IO, "%s/index.json: out of memory", ESC(o->dir));
	else if (fx_write_fileat(o->dir_fd, "index.json", shown, text, strlen(text), 0644, 1, &err) == FX_OK &&
	    fsync(o->dir_fd) != 0)
		fe_set(&err, FX_IO, "%s/index.json: %s", ESC(o->dir), strerror(errno));
	if (err.code != FX_OK)
		dead(o, "%s", err.msg);
end:
	free(text);
	json_decref(root);
	close(lock_fd); /* and the lock with it */
}

static int oci_finish(void *ctx, int all_ok, struct ferr *e)
{
	struct oci *o = ctx;
	size_t i, k;

	(void)all_ok;
	(void)e;
	if (o->dead)
		return FX_OK;
	for (i = 0; i < o->plan->nimages; i++) {
		const struct plan_image *pi = &o->plan->images[i];

		if (pi->refused != NULL)
			verdict_fail(&o->verdicts[i], FX_VERIFY, "%s", pi->refused);
		for (k = 0; k < pi->nblobs; k++)
			verdict_blob(&o->verdicts[i], o->plan->blobs[pi->blobs[k]].digest, o->blobs[pi->blobs[k]].state,
			    o->blobs[pi->blobs[k]].why);
	}
	if (!o->lo->dry_run)
		update_index(o);
	return FX_OK;
}

static int oci_report(void *ctx, int finished, struct ferr *e)
{
	struct oci *o = ctx;
	struct target_report r = {.spec = o->spec, .plan = o->plan, .verdicts = o->verdicts, .finished = finished,
	    .lo = o->lo, .dry_run = o->lo->dry_run, .dead_why = o->dead ? o->dead_why : NULL,
	    .dead_image_why = "the layout could not be written", .blobs_sent = o->written, .blobs_present = o->present,
	    .bytes = o->bytes};
	char bytes[32], replaced[64] = "";

	if (o->lo->dry_run)
		return target_report(&r, e, "blobs: %zu to write, %zu present", o->written, o->present);
	if (o->replaced > 0)
		snprintf(replaced, sizeof(replaced), "; %zu damaged blobs replaced", o->replaced);
	return target_report(&r, e, "blobs: %zu written, %zu present (%s written)%s", o->written, o->present,
	    fmt_bytes(o->bytes, bytes, sizeof(bytes)), replaced);
}

static void oci_free(void *ctx)
{
	struct oci *o = ctx;

	if (o == NULL)
		return;
	if (o->fd >= 0) { /* the stream broke off in the middle of a blob */
		close(o->fd);
		unlinkat(o->blobs_fd, o->tmp, 0);
		fx_cleanup_forget();
	}
	if (o->blobs_fd >= 0)
		close(o->blobs_fd);
	if (o->dir_fd >= 0)
		close(o->dir_fd);
	free(o->tmp_path);
	free(o->verdicts);
	free(o->blobs);
	free(o->dir);
	free(o->spec);
	free(o);
}

int ocidir_target_check(const char *spec, void **parsed, struct ferr *e)
{
	if (strncmp(spec, "oci:", 4) != 0 || spec[4] == '\0' || strlen(spec) > 4000)
		return fe_set(e, FX_USAGE, "--to %s: expected oci:DIR", ESC(spec));
	if (parsed != NULL)
		*parsed = xstrdup(spec + 4);
	return FX_OK;
}

int ocidir_target_open(const char *spec, void *parsed, const struct load_opts *lo, const struct target_plan *plan,
    struct load_target *t, struct ferr *e)
{
	struct oci *o = xcalloc(1, sizeof(*o));

	(void)e;
	o->spec = xstrdup(spec);
	o->dir = parsed;
	o->lo = lo;
	o->plan = plan;
	o->dir_fd = o->blobs_fd = o->fd = -1;
	memset(t, 0, sizeof(*t));
	t->spec = spec;
	t->sink.ctx = o;
	t->sink.head = oci_head;
	t->sink.begin = oci_begin;
	t->sink.data = oci_data;
	t->sink.end = oci_end;
	t->sink.finish = oci_finish;
	t->report = oci_report;
	t->holds = oci_holds;
	t->free = oci_free;
	return FX_OK;
}
