/* images.c - the pack side of images: reads docker-save archives (legacy and OCI),
 * oci-archives and OCI layout directories, verifies every blob against its digest,
 * converts legacy layers to compressed OCI blobs, and stages one deduplicated OCI
 * layout whose blobs come in bundle order (configs and layers, then manifests, then
 * indexes, children before parents).
 *
 * Inputs are recognised by content: an archive or directory with oci-layout and
 * index.json is OCI (copied byte-exact, Docker >= 25 included); one with only
 * manifest.json is a legacy docker save (converted). An archive is read once,
 * sequentially, because docker save puts manifest.json after the layers it describes:
 * small members are staged (and hashed while they are written); a large member of an
 * uncompressed archive file is only located (its data is a byte range of the archive)
 * and read where it is used: a legacy layer by the compressor, which checks it against
 * its diff_id, anything else copied into the staging directory first. */
#include "image/images.h"
#include "bundle/sums.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/compress.h"
#include "net/docker_api.h"
#include "image/docker_archive.h"
#include "image/oci.h"

#define MAX_MEMBERS 200000 /* members of one input archive */
#define MAX_LINK_HOPS 8
#define LABEL_MAX 1200
#define RANGE_MIN ((uint64_t)1 << 20) /* a member this large is located, not staged */

enum { M_FILE = 1, M_LINK = 2 };

/* A file of an input: an archive member (staged) or a file of a layout directory. */
struct member {
	char *name;
	int type;
	char *link;   /* M_LINK: archive name of the target */
	char *path;   /* where its bytes are now */
	unsigned char digest[SHA256_LEN];
	uint64_t size;
	int moved;    /* path now belongs to a staged blob */
	int range;    /* bytes off..off+size-1 of the input archive at path, not yet
	                 hashed (digest unset); never unlinked */
	uint64_t off;
};

struct input {
	const char *label; /* "where: path", escaped, for messages */
	struct stage *st;  /* archive: where ranged members are copied when needed */
	char *dir;         /* layout directory, or NULL for an archive */
	struct member **m; /* archive: sorted by name; directory: a cache. Each member is
	                      allocated on its own, so pointers to it stay valid. */
	size_t nm, cap;
};

/* A leaf or manifest blob recorded for the bundle. */
struct blist {
	struct img_blob *v;
	size_t n, cap;
};

/* A converted legacy layer: diff_id to its compressed blob. */
struct conv {
	unsigned char diff_id[SHA256_LEN];
	struct oci_desc d;
};

/* A legacy layer to convert, queued while every input is read so that one pool
 * compresses the layers of all images (largest first). */
struct pend {
	unsigned char diff_id[SHA256_LEN];
	struct member *src; /* the uncompressed layer, a member of some image's input */
	int src_tmp;        /* src is a staged copy: removed once converted */
	char *out;          /* temporary compressed file */
	unsigned char digest[SHA256_LEN], in_digest[SHA256_LEN];
	uint64_t size;
};

struct stage {
	const struct img_opts *o;
	char *tmpdir, *blobdir;
	unsigned long serial;
	struct blist leaf, mani; /* configs and layers; manifests and indexes */
	struct conv *conv;
	size_t nconv;
	struct pend *pend;
	size_t npend;
};

/* What one image collects while it is staged. */
struct acc {
	char **blobs;
	size_t nblobs;
	char **manifests;
	size_t nmanifests;
	char **platforms;
	size_t nplatforms;
	uint64_t size;
	int layers, layers_set;
	char *platform; /* single-manifest images: for index.json */
};

static void strv_push(char ***v, size_t *n, char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof(char *));
	(*v)[(*n)++] = s;
}

static int strv_has(char **v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

static void strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void acc_blob(struct acc *a, const char *hex, uint64_t size)
{
	char *d = xasprintf("sha256:%s", hex);

	if (strv_has(a->blobs, a->nblobs, d)) {
		free(d);
		return;
	}
	strv_push(&a->blobs, &a->nblobs, d);
	a->size += size;
}

static void acc_manifest(struct acc *a, const char *hex)
{
	char *d = xasprintf("sha256:%s", hex);

	if (strv_has(a->manifests, a->nmanifests, d))
		free(d);
	else
		strv_push(&a->manifests, &a->nmanifests, d);
}

static void acc_platform(struct acc *a, const char *p)
{
	if (p == NULL || strcmp(p, "unknown/unknown") == 0 || strv_has(a->platforms, a->nplatforms, p))
		return;
	strv_push(&a->platforms, &a->nplatforms, xstrdup(p));
}

static void acc_free(struct acc *a)
{
	strv_free(a->blobs, a->nblobs);
	strv_free(a->manifests, a->nmanifests);
	strv_free(a->platforms, a->nplatforms);
	free(a->platform);
	memset(a, 0, sizeof(*a));
}

/* --- the staged blob set --- */

static struct img_blob *blob_find(struct stage *st, const unsigned char digest[SHA256_LEN])
{
	struct blist *lists[2] = {&st->leaf, &st->mani};
	size_t l, i;

	for (l = 0; l < 2; l++)
		for (i = 0; i < lists[l]->n; i++)
			if (memcmp(lists[l]->v[i].digest, digest, SHA256_LEN) == 0)
				return &lists[l]->v[i];
	return NULL;
}

static void blist_add(struct blist *b, const unsigned char digest[SHA256_LEN], uint64_t size,
    char *path)
{
	struct img_blob *x;

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->v = xreallocarray(b->v, b->cap, sizeof(*b->v));
	}
	x = &b->v[b->n++];
	memcpy(x->digest, digest, SHA256_LEN);
	hex_encode(digest, SHA256_LEN, x->hex);
	x->size = size;
	x->path = path;
}

/* Takes a staged temporary file into the blob set (renamed to blobs/<hex>), or drops
 * it when the blob is already there. */
static int stage_tmp(struct stage *st, struct blist *b, const char *tmp,
    const unsigned char digest[SHA256_LEN], uint64_t size, char **final, struct ferr *e)
{
	struct img_blob *have = blob_find(st, digest);
	char hex[SHA256_HEX];
	char *dst;

	if (have != NULL) {
		if (have->size != size)
			return fe_set(e, FX_VERIFY, "blob sha256:%s seen with two sizes", have->hex);
		unlink(tmp);
		if (final != NULL)
			*final = have->path;
		return FX_OK;
	}
	hex_encode(digest, SHA256_LEN, hex);
	dst = xasprintf("%s/%s", st->blobdir, hex);
	if (rename(tmp, dst) != 0) {
		int rc = fe_set(e, FX_IO, "%s: %s", ESC(dst), strerror(errno));
		free(dst);
		return rc;
	}
	blist_add(b, digest, size, dst);
	if (final != NULL)
		*final = dst;
	return FX_OK;
}

static int member_stage_range(struct input *in, struct member *m, struct ferr *e);

/* Puts an input member into the blob set (archive: moved; directory: read in place). */
static int stage_member(struct stage *st, struct input *in, struct blist *b, struct member *m,
    struct ferr *e)
{
	char *final = NULL;
	int rc;

	if (member_stage_range(in, m, e) != FX_OK)
		return e->code;
	if (blob_find(st, m->digest) != NULL || m->moved)
		return FX_OK;
	if (in->dir != NULL) {
		blist_add(b, m->digest, m->size, xstrdup(m->path));
		return FX_OK;
	}
	if ((rc = stage_tmp(st, b, m->path, m->digest, m->size, &final, e)) != FX_OK)
		return rc;
	free(m->path);
	m->path = xstrdup(final);
	m->moved = 1;
	return FX_OK;
}

static char *tmp_path(struct stage *st)
{
	return xasprintf("%s/%lu", st->tmpdir, ++st->serial);
}

/* Writes buf as a new blob of list b. */
static int stage_buf(struct stage *st, struct blist *b, const char *buf, size_t len,
    unsigned char digest[SHA256_LEN], struct ferr *e)
{
	char *tmp = tmp_path(st);
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

/* --- inputs --- */

static int member_cmp(const void *a, const void *b)
{
	const struct member *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static struct member *member_push(struct input *in)
{
	if (in->nm == in->cap) {
		in->cap = in->cap ? in->cap * 2 : 64;
		in->m = xreallocarray(in->m, in->cap, sizeof(*in->m));
	}
	in->m[in->nm] = xcalloc(1, sizeof(struct member));
	return in->m[in->nm++];
}

/* Strips "./" prefixes and trailing slashes: tar writers differ in both. */
static char *clean_name(const char *s)
{
	char *n;
	size_t l;

	while (strncmp(s, "./", 2) == 0)
		s += 2;
	while (*s == '/' && s[1] == '\0')
		s++;
	n = xstrdup(s);
	l = strlen(n);
	while (l > 0 && n[l - 1] == '/')
		n[--l] = '\0';
	if (strcmp(n, ".") == 0)
		n[0] = '\0';
	return n;
}

/* Resolves target relative to directory dir ("" = top) inside the archive; NULL when
 * it is absolute or climbs out of the archive. */
static char *resolve_rel(const char *dir, const char *target)
{
	char *buf, *out, *tok, *save = NULL;
	size_t olen = 0;

	if (target[0] == '/' || strlen(dir) + strlen(target) > 4096)
		return NULL;
	buf = xasprintf("%s%s%s", dir, dir[0] ? "/" : "", target);
	out = xcalloc(1, strlen(buf) + 1);
	for (tok = strtok_r(buf, "/", &save); tok != NULL; tok = strtok_r(NULL, "/", &save)) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0) {
			char *sl;
			if (olen == 0) {
				free(buf);
				free(out);
				return NULL;
			}
			sl = strrchr(out, '/');
			olen = sl != NULL ? (size_t)(sl - out) : 0;
			out[olen] = '\0';
			continue;
		}
		if (olen > 0)
			out[olen++] = '/';
		memcpy(out + olen, tok, strlen(tok));
		olen += strlen(tok);
		out[olen] = '\0';
	}
	free(buf);
	return out;
}

/* Copies the current member's data into a new staged file, hashing it. */
static int stage_data(struct stage *st, struct archive *a, const char *label, struct member *m,
    struct ferr *e)
{
	enum { BUFSZ = 1 << 20 };
	unsigned char *buf = xmalloc(BUFSZ);
	struct sha256 h;
	int fd, rc = FX_OK;

	m->path = tmp_path(st);
	sha256_init(&h);
	fd = open(m->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		rc = fe_set(e, FX_IO, "%s: %s", ESC(m->path), strerror(errno));
		goto end;
	}
	for (;;) {
		la_ssize_t r = archive_read_data(a, buf, BUFSZ);
		if (r == 0)
			break;
		if (r < 0) {
			rc = fe_set(e, FX_IO, "%s: member %s: %s", label, ESC(m->name),
			    archive_error_string(a) ? archive_error_string(a) : "read error");
			goto end;
		}
		if (fx_interrupted) {
			rc = fe_set(e, FX_IO, "interrupted");
			goto end;
		}
		if (write_all(fd, buf, (size_t)r) != 0) {
			rc = fe_set(e, FX_IO, "%s: %s", ESC(m->path), strerror(errno));
			goto end;
		}
		sha256_update(&h, buf, (size_t)r);
		m->size += (uint64_t)r;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = fe_set(e, FX_IO, "%s: %s", ESC(m->path), strerror(errno));
		goto end;
	}
	fd = -1;
end:
	if (fd >= 0)
		close(fd);
	if (rc == FX_OK)
		sha256_final(&h, m->digest);
	else
		sha256_free(&h);
	free(buf);
	return rc;
}

/* Copies a ranged member into the staging directory, hashing it: from then on it is an
 * ordinary staged member. */
static int member_stage_range(struct input *in, struct member *m, struct ferr *e)
{
	enum { BUFSZ = 1 << 20 };
	unsigned char *buf;
	struct sha256 h;
	char *tmp;
	uint64_t done = 0;
	int src, fd = -1, rc = FX_OK;

	if (!m->range)
		return FX_OK;
	if ((src = open(m->path, O_RDONLY | O_CLOEXEC)) < 0)
		return fe_set(e, FX_IO, "%s: %s", in->label, strerror(errno));
	buf = xmalloc(BUFSZ);
	tmp = tmp_path(in->st);
	sha256_init(&h);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		rc = fe_set(e, FX_IO, "%s: %s", ESC(tmp), strerror(errno));
		goto end;
	}
	while (done < m->size) {
		size_t want = m->size - done < BUFSZ ? (size_t)(m->size - done) : BUFSZ;
		ssize_t r = pread(src, buf, want, (off_t)(m->off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = fe_set(e, r < 0 ? FX_IO : FX_VERIFY, "%s: member %s: %s", in->label, ESC(m->name),
			    r < 0 ? strerror(errno) : "the archive ends inside it");
			goto end;
		}
		if (fx_interrupted) {
			rc = fe_set(e, FX_IO, "interrupted");
			goto end;
		}
		if (write_all(fd, buf, (size_t)r) != 0) {
			rc = fe_set(e, FX_IO, "%s: %s", ESC(tmp), strerror(errno));
			goto end;
		}
		sha256_update(&h, buf, (size_t)r);
		done += (uint64_t)r;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = fe_set(e, FX_IO, "%s: %s", ESC(tmp), strerror(errno));
		goto end;
	}
	fd = -1;
end:
	if (fd >= 0)
		close(fd);
	close(src);
	free(buf);
	if (rc == FX_OK) {
		sha256_final(&h, m->digest);
		free(m->path);
		m->path = tmp;
		m->off = 0;
		m->range = 0;
	} else {
		sha256_free(&h);
		unlink(tmp);
		free(tmp);
	}
	return rc;
}

/* Reads an archive once (the file path, or fd when path is NULL), staging every regular
 * member (or, in an uncompressed archive file, locating a large one) and recording
 * links. */
static int input_read_archive(struct stage *st, struct input *in, const char *path, int fd,
    struct ferr *e)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	size_t i;
	int r, rc = FX_OK;

	in->st = st;
	archive_read_support_format_tar(a);
	/* A compressed docker save is fine too; only in-process decoders (no external
	 * programs run on untrusted bytes). */
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_bzip2(a);
	if ((path != NULL ? archive_read_open_filename(a, path, 1 << 16) :
	    archive_read_open_fd(a, fd, 1 << 16)) != ARCHIVE_OK) {
		rc = fe_set(e, FX_IO, "%s: %s", in->label, archive_error_string(a));
		goto end;
	}
	while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
		const char *raw = archive_entry_pathname(ae), *why;
		const char *hl = archive_entry_hardlink(ae);
		mode_t type = archive_entry_filetype(ae);
		struct member *m;
		char *name;

		if (raw == NULL) {
			rc = fe_set(e, FX_VERIFY, "%s: a member name is not readable", in->label);
			goto end;
		}
		name = clean_name(raw);
		if (name[0] == '\0' && type == AE_IFDIR) {
			free(name);
			continue;
		}
		if ((why = entry_name_problem(name)) != NULL) {
			rc = fe_set(e, FX_VERIFY, "%s: member %s: %s", in->label, ESC(raw), why);
			free(name);
			goto end;
		}
		if (type == AE_IFDIR && hl == NULL) {
			free(name);
			continue;
		}
		if (in->nm >= MAX_MEMBERS) {
			rc = fe_set(e, FX_VERIFY, "%s: more than %d members", in->label, MAX_MEMBERS);
			free(name);
			goto end;
		}
		m = member_push(in);
		m->name = name;
		if (hl != NULL) {
			char *t = clean_name(hl);
			m->type = M_LINK;
			if (entry_name_problem(t) != NULL) {
				free(t);
				rc = fe_set(e, FX_VERIFY, "%s: member %s: hard link to %s leaves the archive",
				    in->label, ESC(name), ESC(hl));
				goto end;
			}
			m->link = t;
		} else if (type == AE_IFLNK) {
			const char *tg = archive_entry_symlink(ae);
			char *dir = xstrdup(name), *sl = strrchr(dir, '/');
			if (sl != NULL)
				*sl = '\0';
			else
				dir[0] = '\0';
			m->type = M_LINK;
			m->link = tg != NULL ? resolve_rel(dir, tg) : NULL;
			free(dir);
			if (m->link == NULL || entry_name_problem(m->link) != NULL) {
				rc = fe_set(e, FX_VERIFY, "%s: member %s: symbolic link to %s leaves the archive",
				    in->label, ESC(name), ESC(tg ? tg : ""));
				goto end;
			}
		} else if (type == AE_IFREG) {
			m->type = M_FILE;
			/* After the header, the uncompressed stream is at the member's data. */
			if (path != NULL && archive_filter_count(a) == 1 &&
			    archive_filter_code(a, 0) == ARCHIVE_FILTER_NONE &&
			    archive_entry_size_is_set(ae) && archive_entry_size(ae) >= (la_int64_t)RANGE_MIN &&
			    archive_entry_sparse_count(ae) == 0 && archive_filter_bytes(a, 0) >= 0) {
				m->range = 1;
				m->path = xstrdup(path);
				m->off = (uint64_t)archive_filter_bytes(a, 0);
				m->size = (uint64_t)archive_entry_size(ae);
			} else if ((rc = stage_data(st, a, in->label, m, e)) != FX_OK) {
				goto end;
			}
		} else {
			rc = fe_set(e, FX_VERIFY, "%s: member %s: not a regular file, directory or link",
			    in->label, ESC(name));
			goto end;
		}
	}
	if (r != ARCHIVE_EOF) {
		rc = fe_set(e, FX_IO, "%s: %s", in->label,
		    archive_error_string(a) ? archive_error_string(a) : "not a tar archive");
		goto end;
	}
	qsort(in->m, in->nm, sizeof(*in->m), member_cmp);
	for (i = 1; i < in->nm; i++) {
		if (strcmp(in->m[i - 1]->name, in->m[i]->name) == 0) {
			rc = fe_set(e, FX_VERIFY, "%s: member %s appears twice", in->label, ESC(in->m[i]->name));
			goto end;
		}
	}
end:
	archive_read_free(a);
	return rc;
}

/* Finds a member by name (following links inside an archive); NULL when missing. */
static struct member *input_find(struct input *in, const char *name, struct ferr *e)
{
	struct member key, *kp = &key, *m = NULL, **hit;
	int hops;

	if (in->dir != NULL) {
		struct stat sb;
		char *path;
		size_t i;

		for (i = 0; i < in->nm; i++)
			if (strcmp(in->m[i]->name, name) == 0)
				return in->m[i];
		if (entry_name_problem(name) != NULL) {
			fe_set(e, FX_VERIFY, "%s: unsafe file name %s", in->label, ESC(name));
			return NULL;
		}
		path = xasprintf("%s/%s", in->dir, name);
		/* lstat: a layout file must be a plain file, never a link out of the layout. */
		if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
			free(path);
			return NULL;
		}
		m = member_push(in);
		m->name = xstrdup(name);
		m->type = M_FILE;
		m->path = path;
		if (sha256_file(path, m->digest, &m->size, e) != FX_OK) {
			in->nm--;
			free(m->name);
			free(m->path);
			free(m);
			return NULL;
		}
		return m;
	}
	memset(&key, 0, sizeof(key));
	key.name = (char *)(uintptr_t)name;
	for (hops = 0; hops <= MAX_LINK_HOPS; hops++) {
		hit = bsearch(&kp, in->m, in->nm, sizeof(*in->m), member_cmp);
		m = hit != NULL ? *hit : NULL;
		if (m == NULL || m->type == M_FILE)
			return m;
		key.name = m->link;
	}
	fe_set(e, FX_VERIFY, "%s: member %s: too many links", in->label, ESC(name));
	return NULL;
}

/* A member that must exist; ranged_ok: it may stay a range of the archive (unhashed),
 * else it is staged and hashed now. */
static struct member *input_need2(struct input *in, const char *name, int ranged_ok, struct ferr *e)
{
	struct member *m = input_find(in, name, e);

	if (m == NULL) {
		fe_set(e, FX_VERIFY, "%s: %s is missing", in->label, ESC(name));
		return NULL;
	}
	if (!ranged_ok && member_stage_range(in, m, e) != FX_OK)
		return NULL;
	return m;
}

static struct member *input_need(struct input *in, const char *name, struct ferr *e)
{
	return input_need2(in, name, 0, e);
}

/* Reads a small member (JSON) into memory and checks it still has the digest seen. */
static int member_read(struct input *in, struct member *m, char **buf, size_t *len, struct ferr *e)
{
	unsigned char d[SHA256_LEN];
	struct ferr e2 = {0};

	if (m->size > OCI_JSON_MAX)
		return fe_set(e, FX_VERIFY, "%s: %s: larger than %zu bytes", in->label, ESC(m->name),
		    OCI_JSON_MAX);
	if (member_stage_range(in, m, e) != FX_OK)
		return e->code;
	if (read_file_max(m->path, OCI_JSON_MAX, buf, len, &e2) != FX_OK)
		return fe_set(e, e2.code, "%s: %s: %s", in->label, ESC(m->name), e2.msg);
	sha256_buf(*buf, *len, d);
	if (memcmp(d, m->digest, SHA256_LEN) != 0) {
		free(*buf);
		*buf = NULL;
		return fe_set(e, FX_VERIFY, "%s: %s changed while it was read", in->label, ESC(m->name));
	}
	return FX_OK;
}

static void input_free(struct input *in)
{
	size_t i;

	for (i = 0; i < in->nm; i++) {
		struct member *m = in->m[i];
		/* Staged members nobody took are removed now: a big archive would
		 * otherwise sit in the staging directory twice. */
		if (in->dir == NULL && m->type == M_FILE && !m->moved && !m->range && m->path != NULL)
			unlink(m->path);
		free(m->name);
		free(m->link);
		free(m->path);
		free(m);
	}
	free(in->m);
	free(in->dir);
	memset(in, 0, sizeof(*in));
}

/* --- OCI inputs (byte-exact) --- */

/* A blob of an OCI input, checked against the descriptor that names it. */
static struct member *oci_blob(struct input *in, const struct oci_desc *d, struct ferr *e)
{
	char name[16 + SHA256_HEX];
	struct member *m;

	snprintf(name, sizeof(name), "blobs/sha256/%s", d->hex);
	if ((m = input_need(in, name, e)) == NULL)
		return NULL;
	if (memcmp(m->digest, d->digest, SHA256_LEN) != 0) {
		char got[SHA256_HEX];
		hex_encode(m->digest, SHA256_LEN, got);
		fe_set(e, FX_VERIFY, "%s: blob sha256:%s has digest sha256:%s (corrupt input)",
		    in->label, d->hex, got);
		return NULL;
	}
	if (m->size != d->size) {
		fe_set(e, FX_VERIFY, "%s: blob sha256:%s is %llu bytes, its descriptor says %llu",
		    in->label, d->hex, (unsigned long long)m->size, (unsigned long long)d->size);
		return NULL;
	}
	return m;
}

/* Stages a manifest or index and everything below it; *layers gets the layer count of
 * a manifest (an index: of its first real platform). */
static int oci_walk(struct stage *st, struct input *in, const struct oci_desc *d, int depth,
    struct acc *a, int *layers, struct ferr *e)
{
	struct oci_doc doc;
	struct member *m;
	char *buf = NULL;
	size_t len = 0, i;
	int rc = FX_OK, got_layers = 0;
	char what[LABEL_MAX + 96];

	memset(&doc, 0, sizeof(doc));
	snprintf(what, sizeof(what), "%s: sha256:%s", in->label, d->hex);
	{
		/* Already staged for this image (an index may list a manifest twice):
		 * walking it again would only let a hostile index multiply the work. */
		char dg[7 + SHA256_HEX];
		snprintf(dg, sizeof(dg), "sha256:%s", d->hex);
		if (strv_has(a->manifests, a->nmanifests, dg)) {
			struct img_blob *b = blob_find(st, d->digest);
			if (b == NULL || b->size != d->size)
				return fe_set(e, FX_VERIFY, "%s: listed with another size", what);
			*layers = 0;
			return FX_OK;
		}
	}
	if (depth > OCI_MAX_DEPTH)
		return fe_set(e, FX_VERIFY, "%s: indexes nested deeper than %d", what, OCI_MAX_DEPTH);
	if (!oci_mt_is_manifest(d->media_type) && !oci_mt_is_index(d->media_type))
		return fe_set(e, FX_VERIFY, "%s: not an image manifest or index (mediaType %s)", what,
		    ESC(d->media_type ? d->media_type : "missing"));
	if ((m = oci_blob(in, d, e)) == NULL)
		return e->code;
	if ((rc = member_read(in, m, &buf, &len, e)) != FX_OK)
		goto end;
	if ((rc = oci_doc_parse(buf, len, d->media_type, what, &doc, e)) != FX_OK)
		goto end;
	if (doc.kind == OCI_KIND_INDEX) {
		*layers = 0;
		for (i = 0; i < doc.ndescs; i++) {
			const struct oci_desc *c = &doc.descs[i];
			int l = 0;
			if ((rc = oci_walk(st, in, c, depth + 1, a, &l, e)) != FX_OK)
				goto end;
			if (depth == 0)
				acc_platform(a, c->platform);
			if (!got_layers && (c->platform == NULL || strcmp(c->platform, "unknown/unknown") != 0)) {
				*layers = l;
				got_layers = 1;
			}
		}
	} else {
		struct member *cm = oci_blob(in, &doc.config, e);
		if (cm == NULL) {
			rc = e->code;
			goto end;
		}
		if (depth == 0 && oci_mt_is_config(doc.config.media_type)) {
			struct oci_config cfg;
			char *cb = NULL;
			size_t cl = 0;
			char cwhat[LABEL_MAX + 96];
			snprintf(cwhat, sizeof(cwhat), "%s: config sha256:%s", in->label, doc.config.hex);
			if ((rc = member_read(in, cm, &cb, &cl, e)) != FX_OK)
				goto end;
			rc = oci_config_parse(cb, cl, cwhat, &cfg, e);
			free(cb);
			if (rc != FX_OK)
				goto end;
			free(a->platform);
			a->platform = oci_config_platform(&cfg);
			acc_platform(a, a->platform);
			oci_config_free(&cfg);
		}
		if ((rc = stage_member(st, in, &st->leaf, cm, e)) != FX_OK)
			goto end;
		acc_blob(a, doc.config.hex, doc.config.size);
		for (i = 0; i < doc.ndescs; i++) {
			struct member *lm = oci_blob(in, &doc.descs[i], e);
			if (lm == NULL) {
				rc = e->code;
				goto end;
			}
			if ((rc = stage_member(st, in, &st->leaf, lm, e)) != FX_OK)
				goto end;
			if (st->o->layer_blob != NULL && (rc = st->o->layer_blob(st->o->layer_ctx, lm->digest,
			    blob_find(st, lm->digest)->path, in->label, e)) != FX_OK)
				goto end;
			acc_blob(a, doc.descs[i].hex, doc.descs[i].size);
		}
		*layers = (int)doc.ndescs;
	}
	/* The document itself goes after everything it references. */
	if ((rc = stage_member(st, in, &st->mani, m, e)) != FX_OK)
		goto end;
	acc_blob(a, d->hex, d->size);
	acc_manifest(a, d->hex);
end:
	free(buf);
	oci_doc_free(&doc);
	return rc;
}

/* Does an index.json descriptor carry the name asked for? */
static int oci_name_matches(const struct oci_desc *d, const char *tag, const struct oci_ref *ref)
{
	const char *names[2] = {d->ref_name, d->image_name};
	size_t i;

	for (i = 0; i < 2; i++) {
		const char *n = names[i];
		struct oci_ref r;
		struct ferr ign = {0};
		int hit = 0;

		if (n == NULL)
			continue;
		if (tag != NULL && strcmp(n, tag) == 0)
			return 1;
		if (oci_ref_parse(n, &r, &ign) != FX_OK)
			continue;
		if (tag != NULL && strchr(tag, ':') == NULL && strchr(tag, '/') == NULL) {
			hit = r.tag != NULL && strcmp(r.tag, tag) == 0;
		} else if (tag != NULL) {
			struct oci_ref want;
			struct ferr ign2 = {0};
			if (oci_ref_parse(tag, &want, &ign2) == FX_OK) {
				hit = strcmp(r.domain, want.domain) == 0 && strcmp(r.repo, want.repo) == 0 &&
				    r.tag != NULL && want.tag != NULL && strcmp(r.tag, want.tag) == 0;
				oci_ref_free(&want);
			}
		} else
			hit = strcmp(r.domain, ref->domain) == 0 && strcmp(r.repo, ref->repo) == 0 &&
			    r.tag != NULL && ref->tag != NULL && strcmp(r.tag, ref->tag) == 0;
		oci_ref_free(&r);
		if (hit)
			return 1;
	}
	return 0;
}

static int stage_oci(struct stage *st, struct input *in, const char *tag, const struct oci_ref *ref,
    struct acc *a, struct oci_desc *top, struct ferr *e)
{
	struct oci_doc idx;
	struct member *m;
	char *buf = NULL;
	size_t len = 0, i, pick = 0, hits = 0;
	char what[LABEL_MAX + 32];
	int rc;

	memset(&idx, 0, sizeof(idx));
	if ((m = input_need(in, "oci-layout", e)) == NULL)
		return e->code;
	if ((rc = member_read(in, m, &buf, &len, e)) != FX_OK)
		goto end;
	snprintf(what, sizeof(what), "%s: oci-layout", in->label);
	if ((rc = oci_layout_check(buf, len, what, e)) != FX_OK)
		goto end;
	free(buf);
	buf = NULL;
	if ((m = input_need(in, "index.json", e)) == NULL) {
		rc = e->code;
		goto end;
	}
	if ((rc = member_read(in, m, &buf, &len, e)) != FX_OK)
		goto end;
	snprintf(what, sizeof(what), "%s: index.json", in->label);
	if ((rc = oci_doc_parse(buf, len, NULL, what, &idx, e)) != FX_OK)
		goto end;
	if (idx.kind != OCI_KIND_INDEX || idx.ndescs == 0) {
		rc = fe_set(e, FX_VERIFY, "%s: not an image index with images", what);
		goto end;
	}
	if (idx.ndescs == 1 && tag == NULL) {
		pick = 0;
		hits = 1;
	} else {
		for (i = 0; i < idx.ndescs; i++) {
			if (oci_name_matches(&idx.descs[i], tag, ref)) {
				if (hits == 0 || memcmp(idx.descs[i].digest, idx.descs[pick].digest, SHA256_LEN) != 0)
					hits++;
				if (hits == 1)
					pick = i;
			}
		}
	}
	if (hits != 1) {
		if (tag != NULL)
			rc = fe_set(e, FX_USAGE, "%s: %s image named %s", what, hits ? "more than one" : "no",
			    ESC(tag));
		else
			rc = fe_set(e, FX_USAGE, "%s: holds %zu images and none is named as the ref; "
			    "name one with from: PATH:TAG", what, idx.ndescs);
		goto end;
	}
	if ((rc = oci_walk(st, in, &idx.descs[pick], 0, a, &a->layers, e)) != FX_OK)
		goto end;
	oci_desc_copy(top, &idx.descs[pick]);
	if (top->media_type == NULL) {
		rc = fe_set(e, FX_VERIFY, "%s: image descriptor without mediaType", what);
		goto end;
	}
end:
	free(buf);
	oci_doc_free(&idx);
	return rc;
}

/* --- legacy docker save (converted) --- */

static struct conv *conv_find(struct stage *st, const unsigned char diff_id[SHA256_LEN])
{
	size_t i;

	for (i = 0; i < st->nconv; i++)
		if (memcmp(st->conv[i].diff_id, diff_id, SHA256_LEN) == 0)
			return &st->conv[i];
	return NULL;
}

/* A config named by its digest (<hex>.json, blobs/sha256/<hex>) must carry it. */
static int config_name_check(struct input *in, struct member *cm, const char *name, struct ferr *e)
{
	const char *b = strrchr(name, '/');
	unsigned char want[SHA256_LEN];
	size_t l;

	b = b != NULL ? b + 1 : name;
	l = strlen(b);
	if (l == 2 * SHA256_LEN + 5 && strcmp(b + 2 * SHA256_LEN, ".json") == 0)
		l = 2 * SHA256_LEN;
	if (l != 2 * SHA256_LEN || hex_decode(b, l, want) != 0)
		return FX_OK;
	if (memcmp(want, cm->digest, SHA256_LEN) != 0)
		return fe_set(e, FX_VERIFY, "%s: config %s does not hash to its name (corrupt archive)",
		    in->label, ESC(name));
	return FX_OK;
}

static int diff_id_check(struct input *in, const char *layer, const unsigned char got[SHA256_LEN],
    const unsigned char want[SHA256_LEN], struct ferr *e)
{
	char g[SHA256_HEX], w[SHA256_HEX];

	if (memcmp(got, want, SHA256_LEN) == 0)
		return FX_OK;
	hex_encode(got, SHA256_LEN, g);
	hex_encode(want, SHA256_LEN, w);
	return fe_set(e, FX_VERIFY, "%s: layer %s: sha256:%s does not match the config's diff_id "
	    "sha256:%s (corrupt archive)", in->label, ESC(layer), g, w);
}

static struct pend *pend_find(struct stage *st, const unsigned char diff_id[SHA256_LEN])
{
	size_t i;

	for (i = 0; i < st->npend; i++)
		if (memcmp(st->pend[i].diff_id, diff_id, SHA256_LEN) == 0)
			return &st->pend[i];
	return NULL;
}

/* Reads and checks a docker save's manifest.json, config and layer digests; the
 * image picked and its config stay in ds/cfg/cm for the caller to free. */
static int docker_read(struct input *in, const char *tag, const struct oci_ref *ref,
    struct docker_save *ds, struct docker_save_image **imp, struct oci_config *cfg,
    struct member **cmp, struct member ***lmsp, struct ferr *e)
{
	struct docker_save_image *im;
	struct member *m, *cm, **lms = NULL;
	char *buf = NULL;
	size_t len = 0, i, pick = 0;
	char what[LABEL_MAX + 32];
	int rc;

	if ((m = input_need(in, "manifest.json", e)) == NULL)
		return e->code;
	if ((rc = member_read(in, m, &buf, &len, e)) != FX_OK)
		goto end;
	snprintf(what, sizeof(what), "%s: manifest.json", in->label);
	if ((rc = docker_manifest_parse(buf, len, what, ds, e)) != FX_OK)
		goto end;
	if ((rc = docker_save_pick(ds, tag, ref, what, &pick, e)) != FX_OK)
		goto end;
	im = &ds->v[pick];
	free(buf);
	buf = NULL;
	if ((cm = input_need(in, im->config, e)) == NULL) {
		rc = e->code;
		goto end;
	}
	if ((rc = config_name_check(in, cm, im->config, e)) != FX_OK)
		goto end;
	if ((rc = member_read(in, cm, &buf, &len, e)) != FX_OK)
		goto end;
	snprintf(what, sizeof(what), "%s: config %s", in->label, ESC(im->config));
	if ((rc = oci_config_parse(buf, len, what, cfg, e)) != FX_OK)
		goto end;
	if (!cfg->has_rootfs || cfg->ndiff_ids != im->nlayers) {
		rc = fe_set(e, FX_VERIFY, "%s: %zu rootfs.diff_ids for %zu layers", what, cfg->ndiff_ids,
		    im->nlayers);
		goto end;
	}
	lms = xcalloc(im->nlayers ? im->nlayers : 1, sizeof(*lms));
	for (i = 0; i < im->nlayers; i++) {
		if ((lms[i] = input_need2(in, im->layers[i], 1, e)) == NULL) {
			rc = e->code;
			goto end;
		}
		/* The layer must be the one the config (and so the image ID) names; a ranged
		 * one is checked by the compressor, which reads it anyway. */
		if (!lms[i]->range &&
		    (rc = diff_id_check(in, im->layers[i], lms[i]->digest, cfg->diff_ids[i], e)) != FX_OK)
			goto end;
	}
	*imp = im;
	*cmp = cm;
	*lmsp = lms;
	lms = NULL;
end:
	free(lms);
	free(buf);
	return rc;
}

/* First pass over a docker save: queues each layer no earlier image converts. */
static int docker_plan(struct stage *st, struct input *in, const char *tag, const struct oci_ref *ref,
    struct ferr *e)
{
	struct docker_save ds;
	struct docker_save_image *im = NULL;
	struct oci_config cfg;
	struct member *cm = NULL, **lms = NULL;
	size_t i;
	int rc;

	memset(&ds, 0, sizeof(ds));
	memset(&cfg, 0, sizeof(cfg));
	if ((rc = docker_read(in, tag, ref, &ds, &im, &cfg, &cm, &lms, e)) != FX_OK)
		goto end;
	for (i = 0; i < im->nlayers; i++) {
		struct pend *p = pend_find(st, cfg.diff_ids[i]);
		if (conv_find(st, cfg.diff_ids[i]) != NULL || p != NULL) {
			/* Converted from another copy: this staged copy is not read again, and
			 * every input now stays until the end, so it goes at once. */
			if (in->dir == NULL && !lms[i]->moved && !lms[i]->range && lms[i] != cm &&
			    (p == NULL || p->src != lms[i]))
				unlink(lms[i]->path);
			continue;
		}
		st->pend = xreallocarray(st->pend, st->npend + 1, sizeof(*st->pend));
		p = &st->pend[st->npend++];
		memset(p, 0, sizeof(*p));
		memcpy(p->diff_id, cfg.diff_ids[i], SHA256_LEN);
		p->src = lms[i];
		p->src_tmp = in->dir == NULL && !lms[i]->range;
		p->out = tmp_path(st);
	}
end:
	free(lms);
	oci_config_free(&cfg);
	docker_save_free(&ds);
	return rc;
}

/* Compresses every queued layer in one pool. */
static int docker_convert(struct stage *st, struct ferr *e)
{
	struct cz_job *jobs;
	size_t i;
	int rc;

	if (st->npend == 0)
		return FX_OK;
	jobs = xcalloc(st->npend, sizeof(*jobs));
	for (i = 0; i < st->npend; i++) {
		jobs[i].in = st->pend[i].src->path;
		jobs[i].out = st->pend[i].out;
		if (st->pend[i].src->range) {
			jobs[i].in_range = 1;
			jobs[i].in_off = st->pend[i].src->off;
			jobs[i].in_len = st->pend[i].src->size;
		}
	}
	rc = compress_files(jobs, st->npend, st->o->layer_zstd ? CZ_ZSTD : CZ_GZIP, st->o->jobs, e);
	for (i = 0; rc == FX_OK && i < st->npend; i++) {
		struct pend *p = &st->pend[i];
		memcpy(p->digest, jobs[i].digest, SHA256_LEN);
		memcpy(p->in_digest, jobs[i].in_digest, SHA256_LEN);
		p->size = jobs[i].size;
		if (st->o->layer_tar != NULL && memcmp(p->in_digest, p->diff_id, SHA256_LEN) == 0)
			rc = st->o->layer_tar(st->o->layer_ctx, p->diff_id, p->src->path,
			    p->src->range ? p->src->off : 0, p->src->range ? p->src->size : 0, e);
		if (p->src_tmp && !p->src->moved)
			unlink(p->src->path); /* the uncompressed copy is no longer needed */
	}
	free(jobs);
	return rc;
}

static int stage_docker(struct stage *st, struct input *in, const char *tag, const struct oci_ref *ref,
    struct acc *a, struct oci_desc *top, struct ferr *e)
{
	struct docker_save ds;
	struct docker_save_image *im = NULL;
	struct oci_config cfg;
	struct oci_desc cdesc, *ldesc = NULL;
	size_t i;
	char *mbuf = NULL;
	struct member *cm = NULL, **lms = NULL;
	int rc, zstd = st->o->layer_zstd;
	size_t mlen = 0;
	unsigned char mdg[SHA256_LEN];

	memset(&ds, 0, sizeof(ds));
	memset(&cfg, 0, sizeof(cfg));
	memset(&cdesc, 0, sizeof(cdesc));
	if ((rc = docker_read(in, tag, ref, &ds, &im, &cfg, &cm, &lms, e)) != FX_OK)
		goto end;
	ldesc = xcalloc(im->nlayers ? im->nlayers : 1, sizeof(*ldesc));
	/* Config first, then layers, as an OCI walk stages them. */
	if ((rc = stage_member(st, in, &st->leaf, cm, e)) != FX_OK)
		goto end;
	cdesc.media_type = xstrdup(OCI_MT_CONFIG);
	memcpy(cdesc.digest, cm->digest, SHA256_LEN);
	hex_encode(cm->digest, SHA256_LEN, cdesc.hex);
	cdesc.size = cm->size;
	acc_blob(a, cdesc.hex, cdesc.size);
	for (i = 0; i < im->nlayers; i++) {
		struct conv *c = conv_find(st, cfg.diff_ids[i]);
		if (c == NULL) {
			struct pend *p = pend_find(st, cfg.diff_ids[i]);
			if (p == NULL) {
				rc = fe_set(e, FX_USAGE, "internal: layer %s was not converted",
				    ESC(im->layers[i]));
				goto end;
			}
			/* Read (again) while compressing: must be the diff_id. */
			if (p->src->range) {
				if ((rc = diff_id_check(in, im->layers[i], p->in_digest, cfg.diff_ids[i], e)) != FX_OK)
					goto end;
			} else if (memcmp(p->in_digest, cfg.diff_ids[i], SHA256_LEN) != 0) {
				rc = fe_set(e, FX_VERIFY, "%s: layer %s changed while it was compressed",
				    in->label, ESC(im->layers[i]));
				goto end;
			}
			if ((rc = stage_tmp(st, &st->leaf, p->out, p->digest, p->size, NULL, e)) != FX_OK)
				goto end;
			st->conv = xreallocarray(st->conv, st->nconv + 1, sizeof(*st->conv));
			c = &st->conv[st->nconv++];
			memset(c, 0, sizeof(*c));
			memcpy(c->diff_id, cfg.diff_ids[i], SHA256_LEN);
			c->d.media_type = xstrdup(zstd ? OCI_MT_LAYER_ZSTD : OCI_MT_LAYER_GZIP);
			memcpy(c->d.digest, p->digest, SHA256_LEN);
			hex_encode(p->digest, SHA256_LEN, c->d.hex);
			c->d.size = p->size;
		}
		if (strcmp(c->d.media_type, zstd ? OCI_MT_LAYER_ZSTD : OCI_MT_LAYER_GZIP) != 0) {
			rc = fe_set(e, FX_USAGE, "internal: mixed layer compression");
			goto end;
		}
		ldesc[i] = c->d; /* shallow: c owns the strings */
		acc_blob(a, c->d.hex, c->d.size);
	}
	mbuf = oci_manifest_write(&cdesc, ldesc, im->nlayers, &mlen);
	if ((rc = stage_buf(st, &st->mani, mbuf, mlen, mdg, e)) != FX_OK)
		goto end;
	top->media_type = xstrdup(OCI_MT_MANIFEST);
	memcpy(top->digest, mdg, SHA256_LEN);
	hex_encode(mdg, SHA256_LEN, top->hex);
	top->size = mlen;
	acc_blob(a, top->hex, top->size);
	acc_manifest(a, top->hex);
	a->platform = oci_config_platform(&cfg);
	acc_platform(a, a->platform);
	a->layers = (int)im->nlayers;
end:
	free(lms);
	free(ldesc);
	free(mbuf);
	oci_desc_free(&cdesc);
	oci_config_free(&cfg);
	docker_save_free(&ds);
	return rc;
}

/* --- one image --- */

/* docker-daemon:REF: reads what GET /images/get streams (a docker save archive) like a
 * file; the daemon's own error explains a broken stream best, so it wins. */
static int input_read_daemon(struct stage *st, struct input *in, const char *from, struct ferr *e)
{
	struct docker_endpoint ep;
	struct docker_client *cl = NULL;
	struct docker_download *d = NULL;
	struct ferr re = {0, ""}, de = {0, ""};
	char *addr = NULL, *ref = NULL;
	int fd = -1, rc;

	memset(&ep, 0, sizeof(ep));
	if ((rc = docker_daemon_source_split(from, &addr, &ref, &de)) != FX_OK ||
	    (rc = docker_endpoint_parse(addr, &ep, &de)) != FX_OK ||
	    (rc = docker_connect(&ep, &cl, &de)) != FX_OK ||
	    (rc = docker_get_begin(cl, ref, &fd, &d, &de)) != FX_OK) {
		rc = fe_set(e, rc, "%s: %s", in->label, de.msg);
		goto end;
	}
	rc = input_read_archive(st, in, NULL, fd, &re);
	if (docker_get_end(d, &de) != FX_OK)
		rc = fe_set(e, de.code, "%s: %s", in->label, de.msg);
	else if (rc != FX_OK)
		rc = fe_set(e, re.code, "%s", re.msg);
end:
	docker_client_free(cl);
	docker_endpoint_free(&ep);
	free(addr);
	free(ref);
	return rc;
}

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
	for (c = strchr(from, ':'); c != NULL; c = strchr(c + 1, ':')) {
		char *p;
		if (c == from || c[1] == '\0')
			continue;
		p = xstrdup(from);
		p[c - from] = '\0';
		if (stat(p, &sb) == 0) {
			*path = p;
			*tag = xstrdup(c + 1);
			return FX_OK;
		}
		free(p);
	}
	return fe_set(e, FX_IO, "%s: %s", ESC(from), strerror(err));
}

/* An image's input, read in the first pass and staged in the second. */
struct opened {
	struct input in;
	char label[LABEL_MAX];
	char *path, *tag;
	int docker; /* a legacy docker save (converted), else OCI */
};

static void opened_free(struct opened *op)
{
	input_free(&op->in);
	free(op->path);
	free(op->tag);
	op->path = op->tag = NULL;
}

/* First pass: reads an image's input and queues the layers it needs converted. */
static int stage_open(struct stage *st, const struct img_src *src, const struct oci_ref *ref,
    struct opened *op, struct ferr *e)
{
	struct stat sb;
	int rc = FX_OK;

	if (strncmp(src->from, "docker-daemon:", 14) == 0)
		op->path = xstrdup(src->from); /* one image from a daemon: no tag to pick by */
	else if ((rc = split_from(src->from, &op->path, &op->tag, e)) != FX_OK)
		return rc;
	{
		char w[256], p[700];
		fx_esc(src->where ? src->where : "spec", w, sizeof(w));
		fx_esc(op->path, p, sizeof(p));
		snprintf(op->label, sizeof(op->label), "%s: %s", w, p);
	}
	op->in.label = op->label;
	if (strncmp(src->from, "docker-daemon:", 14) == 0) {
		if ((rc = input_read_daemon(st, &op->in, src->from, e)) != FX_OK)
			return rc;
	} else if (stat(op->path, &sb) != 0) {
		return fe_set(e, FX_IO, "%s: %s", op->label, strerror(errno));
	} else if (S_ISDIR(sb.st_mode)) {
		op->in.dir = xstrdup(op->path);
	} else if (S_ISREG(sb.st_mode)) {
		if ((rc = input_read_archive(st, &op->in, op->path, -1, e)) != FX_OK)
			return rc;
	} else {
		return fe_set(e, FX_IO, "%s: not a file or directory", op->label);
	}
	if (input_find(&op->in, "index.json", e) != NULL && input_find(&op->in, "oci-layout", e) != NULL)
		op->docker = 0;
	else if (e->code == 0 && input_find(&op->in, "manifest.json", e) != NULL)
		op->docker = 1;
	else
		return fe_set(e, FX_VERIFY, "%s: neither a docker save archive nor an OCI layout "
		    "(no manifest.json, no oci-layout and index.json)", op->label);
	if (op->docker)
		rc = docker_plan(st, &op->in, op->tag, ref, e);
	return rc;
}

/* Second pass: stages an image read by stage_open (its layers already converted). */
static int stage_one(struct stage *st, struct opened *op, const char *full,
    const struct oci_ref *ref, struct man_image *mi, struct oci_desc *top, struct ferr *e)
{
	struct acc a;
	int rc;

	memset(&a, 0, sizeof(a));
	if (op->docker)
		rc = stage_docker(st, &op->in, op->tag, ref, &a, top, e);
	else
		rc = stage_oci(st, &op->in, op->tag, ref, &a, top, e);
	if (rc != FX_OK)
		goto end;
	if (ref->digest != NULL) {
		char *have = xasprintf("sha256:%s", top->hex);
		if (strcmp(have, ref->digest) != 0)
			rc = fe_set(e, FX_VERIFY, "%s: image %s: the input's digest is %s", op->label, ESC(full),
			    have);
		free(have);
		if (rc != FX_OK)
			goto end;
	}
	mi->ref = xstrdup(full);
	mi->digest = xasprintf("sha256:%s", top->hex);
	mi->media_type = xstrdup(top->media_type);
	mi->platforms = a.platforms;
	mi->nplatforms = a.nplatforms;
	a.platforms = NULL;
	a.nplatforms = 0;
	mi->size = a.size;
	mi->layers = a.layers;
	mi->blobs = a.blobs;
	mi->nblobs = a.nblobs;
	a.blobs = NULL;
	a.nblobs = 0;
	mi->manifests = a.manifests;
	mi->nmanifests = a.nmanifests;
	a.manifests = NULL;
	a.nmanifests = 0;
	/* index.json: a single manifest says its platform, an index lists its own. */
	free(top->platform);
	top->platform = oci_mt_is_manifest(top->media_type) && a.platform != NULL ? xstrdup(a.platform) : NULL;
	free(top->ref_name);
	top->ref_name = xstrdup(full);
	free(top->image_name);
	top->image_name = NULL;
end:
	acc_free(&a);
	return rc;
}

static void man_image_free(struct man_image *mi)
{
	free(mi->ref);
	free(mi->digest);
	free(mi->media_type);
	strv_free(mi->platforms, mi->nplatforms);
	strv_free(mi->blobs, mi->nblobs);
	strv_free(mi->manifests, mi->nmanifests);
	memset(mi, 0, sizeof(*mi));
}

int images_stage(const struct img_src *srcs, size_t n, const struct img_opts *o,
    struct img_set *out, struct ferr *e)
{
	struct stage st;
	struct oci_desc *tops = NULL;
	struct opened *ops = NULL;
	char **fulls = NULL;
	size_t i, j;
	int rc = FX_OK;

	memset(out, 0, sizeof(*out));
	memset(&st, 0, sizeof(st));
	st.o = o;
	st.tmpdir = xasprintf("%s/tmp", o->staging_dir);
	st.blobdir = xasprintf("%s/blobs", o->staging_dir);
	if (mkdir_p(st.tmpdir, 0700) != 0 || mkdir_p(st.blobdir, 0700) != 0) {
		rc = fe_set(e, FX_IO, "%s: %s", ESC(o->staging_dir), strerror(errno));
		goto end;
	}
	tops = xcalloc(n, sizeof(*tops));
	fulls = xcalloc(n, sizeof(*fulls));
	out->images = xcalloc(n, sizeof(*out->images));
	/* Every reference first: a typo fails before minutes of compression. */
	for (i = 0; i < n; i++) {
		struct oci_ref r;
		struct ferr re = {0};
		if (oci_ref_parse(srcs[i].ref, &r, &re) != FX_OK) {
			rc = fe_set(e, FX_USAGE, "%s: %s", ESC(srcs[i].where ? srcs[i].where : "spec"), re.msg);
			goto end;
		}
		fulls[i] = oci_ref_string(&r);
		oci_ref_free(&r);
		for (j = 0; j < i; j++) {
			if (strcmp(fulls[i], fulls[j]) == 0) {
				rc = fe_set(e, FX_USAGE, "%s: image %s is listed twice",
				    ESC(srcs[i].where ? srcs[i].where : "spec"), ESC(fulls[i]));
				goto end;
			}
		}
		if (srcs[i].from == NULL) {
			rc = fe_set(e, FX_USAGE, "%s: image %s has no from",
			    ESC(srcs[i].where ? srcs[i].where : "spec"), ESC(fulls[i]));
			goto end;
		}
	}
	/* Every input is read before anything is compressed, so that the layers of all
	 * images share one compression pool. */
	ops = xcalloc(n, sizeof(*ops));
	for (i = 0; i < n; i++) {
		struct oci_ref r;
		if (fx_interrupted) {
			rc = fe_set(e, FX_IO, "interrupted");
			goto end;
		}
		if ((rc = oci_ref_parse(srcs[i].ref, &r, e)) != FX_OK)
			goto end;
		rc = stage_open(&st, &srcs[i], &r, &ops[i], e);
		oci_ref_free(&r);
		if (rc != FX_OK)
			goto end;
	}
	if ((rc = docker_convert(&st, e)) != FX_OK)
		goto end;
	for (i = 0; i < n; i++) {
		struct oci_ref r;
		if ((rc = oci_ref_parse(srcs[i].ref, &r, e)) != FX_OK)
			goto end;
		rc = stage_one(&st, &ops[i], fulls[i], &r, &out->images[i], &tops[i], e);
		oci_ref_free(&r);
		if (rc != FX_OK)
			goto end;
		out->nimages = i + 1;
	}
	out->index_json = oci_index_write(tops, n, &out->index_len);
	out->nblobs = st.leaf.n + st.mani.n;
	out->blobs = xcalloc(out->nblobs, sizeof(*out->blobs));
	if (st.leaf.n > 0)
		memcpy(out->blobs, st.leaf.v, st.leaf.n * sizeof(*out->blobs));
	if (st.mani.n > 0)
		memcpy(out->blobs + st.leaf.n, st.mani.v, st.mani.n * sizeof(*out->blobs));
	st.leaf.n = st.mani.n = 0; /* paths now belong to out */
end:
	for (i = 0; i < st.leaf.n; i++)
		free(st.leaf.v[i].path);
	for (i = 0; i < st.mani.n; i++)
		free(st.mani.v[i].path);
	free(st.leaf.v);
	free(st.mani.v);
	for (i = 0; i < st.nconv; i++)
		oci_desc_free(&st.conv[i].d);
	free(st.conv);
	for (i = 0; i < st.npend; i++) {
		unlink(st.pend[i].out); /* renamed into blobs/ unless something failed */
		free(st.pend[i].out);
	}
	free(st.pend);
	for (i = 0; ops != NULL && i < n; i++)
		opened_free(&ops[i]);
	free(ops);
	for (i = 0; tops != NULL && i < n; i++)
		oci_desc_free(&tops[i]);
	free(tops);
	for (i = 0; fulls != NULL && i < n; i++)
		free(fulls[i]);
	free(fulls);
	if (st.tmpdir != NULL)
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
	for (i = 0; i < s->nblobs; i++)
		free(s->blobs[i].path);
	free(s->blobs);
	free(s->index_json);
	for (i = 0; s->images != NULL && i < s->nimages; i++)
		man_image_free(&s->images[i]);
	free(s->images);
	memset(s, 0, sizeof(*s));
}
