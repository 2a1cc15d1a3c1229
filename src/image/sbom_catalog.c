/* sbom_catalog.c - one pass over a layer's tar headers keeps the few files that say
 * what is installed; the layers of an image are then applied in order.
 *
 * Paths are taken as the layer writes them, without "./" or "/" in front; a name with
 * an empty, "." or ".." component is not something a container runtime would unpack at
 * that place, so it is ignored. Whiteouts follow the OCI layer specification: ".wh.X"
 * removes X (and all below it) from the layers underneath, ".wh..wh..opq" hides
 * everything the layers underneath hold in its directory; a layer's own entries are
 * applied after its whiteouts. An entry that is not a directory replaces what lower
 * layers hold at its path, and below it. */
#include "image/sbom_catalog.h"

#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a kept path is. */
enum lc_kind {
	LC_MASK = 1,   /* something that is not read (a file where a directory on the way
	                  was, a link, a device): it only hides what lies below it */
	LC_SYMLINK,    /* a symbolic link on the way to something we read: target kept */
	LC_DPKG_STATUS,
	LC_DPKG_STATUSD,
	LC_COPYRIGHT,  /* licences parsed at once, the text not kept */
	LC_APK,
	LC_RPMDB,      /* copied into rpm_dir: data is that copy's path */
	LC_OS_RELEASE,
};

struct lc_file {
	char *path;
	enum lc_kind kind;
	char *data;         /* content; LC_SYMLINK: target; LC_RPMDB: the copy */
	size_t len;
	char **licenses;    /* LC_COPYRIGHT */
	size_t nlicenses;
	int machine;        /* LC_COPYRIGHT: DEP-5 (licences valid) */
};

struct layer_cat {
	struct lc_file *files; /* in layer order */
	size_t nfiles, cap;
	char **whiteouts;      /* paths removed from the layers below */
	size_t nwhiteouts;
	char **opaque;         /* directories whose lower content is hidden */
	size_t nopaque;
	char **notes;
	size_t nnotes;
	unsigned rpm_serial;
	unsigned char diff_id[SHA256_LEN]; /* of its decompressed bytes, when it was compressed */
	int has_diff_id;
};

static const char *const rpmdb_dirs[] = {"var/lib/rpm", "usr/lib/sysimage/rpm"};
static const char *const rpmdb_files[] = {"rpmdb.sqlite", "rpmdb.sqlite-wal", "Packages.db", "Packages"};

/* How a path matters to cataloguing. */
enum rel { REL_NONE, REL_ON_THE_WAY, REL_DOCDIR, REL_FILE };

static int has_prefix_dir(const char *path, const char *dir, const char **rest)
{
	size_t n = strlen(dir);

	if (strncmp(path, dir, n) != 0 || path[n] != '/')
		return 0;
	*rest = path + n + 1;
	return 1;
}

/* Is path an ancestor directory of some path cataloguing reads? */
static int on_the_way(const char *path)
{
	static const char *const dirs[] = {"etc", "lib", "lib/apk", "lib/apk/db", "usr", "usr/lib", "usr/share",
	    "usr/share/doc", "usr/lib/sysimage", "usr/lib/sysimage/rpm", "var", "var/lib", "var/lib/dpkg",
	    "var/lib/dpkg/status.d", "var/lib/rpm"};
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (strcmp(path, dirs[i]) == 0)
			return 1;
	return 0;
}

static enum rel classify(const char *path, enum lc_kind *kind)
{
	const char *rest;
	size_t i;

	if (strcmp(path, "var/lib/dpkg/status") == 0)
		return *kind = LC_DPKG_STATUS, REL_FILE;
	if (strcmp(path, "lib/apk/db/installed") == 0)
		return *kind = LC_APK, REL_FILE;
	if (strcmp(path, "etc/os-release") == 0 || strcmp(path, "usr/lib/os-release") == 0)
		return *kind = LC_OS_RELEASE, REL_FILE;
	if (has_prefix_dir(path, "var/lib/dpkg/status.d", &rest) && strchr(rest, '/') == NULL) {
		size_t n = strlen(rest);
		if (n > 8 && strcmp(rest + n - 8, ".md5sums") == 0)
			return REL_NONE; /* distroless keeps file lists beside the entries */
		return *kind = LC_DPKG_STATUSD, REL_FILE;
	}
	if (has_prefix_dir(path, "usr/share/doc", &rest)) {
		const char *slash = strchr(rest, '/');
		if (slash == NULL)
			return REL_DOCDIR;
		if (strcmp(slash + 1, "copyright") == 0)
			return *kind = LC_COPYRIGHT, REL_FILE;
		return REL_NONE;
	}
	for (i = 0; i < sizeof(rpmdb_dirs) / sizeof(rpmdb_dirs[0]); i++) {
		size_t f;
		if (!has_prefix_dir(path, rpmdb_dirs[i], &rest))
			continue;
		for (f = 0; f < sizeof(rpmdb_files) / sizeof(rpmdb_files[0]); f++)
			if (strcmp(rest, rpmdb_files[f]) == 0)
				return *kind = LC_RPMDB, REL_FILE;
	}
	return on_the_way(path) ? REL_ON_THE_WAY : REL_NONE;
}

/* The path as a runtime would unpack it, or NULL when it is not a plain relative path. */
static char *clean_path(const char *raw)
{
	const char *p = raw, *c;
	size_t n;

	while (*p == '/' || (p[0] == '.' && p[1] == '/'))
		p += *p == '/' ? 1 : 2;
	n = strlen(p);
	while (n > 0 && p[n - 1] == '/')
		n--;
	if (n == 0 || n > 4096)
		return NULL;
	for (c = p; c < p + n;) {
		const char *s = memchr(c, '/', (size_t)(p + n - c));
		size_t l = s != NULL ? (size_t)(s - c) : (size_t)(p + n - c);
		if (l == 0 || (l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'))
			return NULL;
		c += l + 1;
	}
	return xstrndup(p, n);
}

static struct lc_file *lc_add(struct layer_cat *lc, char *path, enum lc_kind kind)
{
	struct lc_file *f;

	if (lc->nfiles == lc->cap) {
		lc->cap = lc->cap ? lc->cap * 2 : 16;
		lc->files = xreallocarray(lc->files, lc->cap, sizeof(*lc->files));
	}
	f = &lc->files[lc->nfiles++];
	memset(f, 0, sizeof(*f));
	f->path = path;
	f->kind = kind;
	return f;
}

static void lc_note(struct layer_cat *lc, const char *what, const char *path, const char *why)
{
	char *s = xasprintf("%s: %s: %s", what, ESC(path), why);

	strset_add(&lc->notes, &lc->nnotes, s, strlen(s));
	free(s);
}

/* Reads the current entry's data, at most max bytes (the entry has been checked to be
 * no larger). */
static int read_data(struct archive *a, struct layer_reader *lr, const char *what, const char *path,
    size_t size, char **out, struct ferr *e)
{
	char *buf = xmalloc(size + 1);
	size_t got = 0;

	while (got < size) {
		la_ssize_t r = archive_read_data(a, buf + got, size - got);
		if (r <= 0) {
			free(buf);
			return fe_set(e, FX_VERIFY, "%s: %s: %s", what, ESC(path),
			    r < 0 ? layer_error(lr) : "truncated");
		}
		got += (size_t)r;
	}
	buf[got] = '\0';
	*out = buf;
	return FX_OK;
}

/* Copies the current entry's data into a new file of rpm_dir. */
static int copy_rpmdb(struct layer_cat *lc, struct archive *a, struct layer_reader *lr, const char *rpm_dir,
    const char *what, const char *path, char **copy, struct ferr *e)
{
	char *dst = NULL;
	int fd = -1, rc = FX_OK;

	if (mkdir_p(rpm_dir, 0700) != 0) {
		rc = fe_set(e, FX_IO, "%s: %s", ESC(rpm_dir), strerror(errno));
		goto end;
	}
	dst = xasprintf("%s/%u", rpm_dir, ++lc->rpm_serial);
	fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = fe_set(e, FX_IO, "%s: %s", ESC(dst), strerror(errno));
		goto end;
	}
	for (;;) {
		const void *buf;
		size_t n;
		la_int64_t off;
		int r = archive_read_data_block(a, &buf, &n, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			rc = fe_set(e, FX_VERIFY, "%s: %s: %s", what, ESC(path), layer_error(lr));
			goto end;
		}
		if (pwrite_all(fd, buf, n, (uint64_t)off) != 0) {
			rc = fe_set(e, FX_IO, "%s: %s", ESC(dst), strerror(errno));
			goto end;
		}
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = fe_set(e, FX_IO, "%s: %s", ESC(dst), strerror(errno));
		goto end;
	}
	fd = -1;
	*copy = dst;
	dst = NULL;
end:
	if (fd >= 0)
		close(fd);
	if (dst != NULL)
		unlink(dst);
	free(dst);
	return rc;
}

/* A regular file at a path cataloguing reads: kept, parsed or copied, within limits. */
static int keep_file(struct layer_cat *lc, struct archive *a, struct layer_reader *lr,
    struct archive_entry *ae, const char *rpm_dir, const char *what, char *path, enum lc_kind kind,
    struct ferr *e)
{
	la_int64_t size = archive_entry_size_is_set(ae) ? archive_entry_size(ae) : -1;
	struct lc_file *f;
	char *buf = NULL;
	int rc = FX_OK;

	if (size < 0) {
		free(path);
		return fe_set(e, FX_VERIFY, "%s: an entry without a size", what);
	}
	if ((kind == LC_DPKG_STATUS || kind == LC_APK) && (uint64_t)size > CAT_DB_MAX)
		rc = fe_set(e, FX_VERIFY, "%s: %s is %lld bytes: more than the %zu MiB a package database may have",
		    what, ESC(path), (long long)size, CAT_DB_MAX >> 20);
	else if (kind == LC_DPKG_STATUSD && (uint64_t)size > CAT_STATUSD_MAX)
		rc = fe_set(e, FX_VERIFY, "%s: %s is %lld bytes: more than the %zu MiB a status.d entry may have",
		    what, ESC(path), (long long)size, CAT_STATUSD_MAX >> 20);
	else if (kind == LC_RPMDB && (uint64_t)size > CAT_RPMDB_MAX)
		rc = fe_set(e, FX_VERIFY, "%s: %s is %lld bytes: more than the 1 GiB an rpmdb file may have",
		    what, ESC(path), (long long)size);
	if (rc != FX_OK) {
		free(path);
		return rc;
	}
	if ((kind == LC_COPYRIGHT && (uint64_t)size > CAT_COPYRIGHT_MAX) ||
	    (kind == LC_OS_RELEASE && (uint64_t)size > CAT_OS_RELEASE_MAX)) {
		lc_note(lc, what, path, "too large to read; ignored");
		lc_add(lc, path, kind == LC_COPYRIGHT ? LC_COPYRIGHT : LC_MASK);
		return FX_OK;
	}
	if (kind == LC_RPMDB) {
		if ((rc = copy_rpmdb(lc, a, lr, rpm_dir, what, path, &buf, e)) != FX_OK) {
			free(path);
			return rc;
		}
		f = lc_add(lc, path, kind);
		f->data = buf;
		return FX_OK;
	}
	if ((rc = read_data(a, lr, what, path, (size_t)size, &buf, e)) != FX_OK) {
		free(path);
		return rc;
	}
	f = lc_add(lc, path, kind);
	if (kind == LC_COPYRIGHT) {
		f->machine = dep5_licenses(buf, (size_t)size, &f->licenses, &f->nlicenses);
		free(buf);
	} else {
		f->data = buf;
		f->len = (size_t)size;
	}
	return FX_OK;
}

/* A hard link at a path we read: the file it links to, when this layer kept it. */
static void keep_hardlink(struct layer_cat *lc, const char *what, char *path, const char *target)
{
	char *t = clean_path(target);
	size_t i;

	for (i = lc->nfiles; t != NULL && i-- > 0;) {
		const struct lc_file *src = &lc->files[i];
		enum lc_kind k;
		if (strcmp(src->path, t) != 0)
			continue;
		if (src->kind != LC_SYMLINK && src->kind != LC_RPMDB && src->kind != LC_MASK &&
		    classify(path, &k) == REL_FILE && k == src->kind) {
			struct lc_file *f = lc_add(lc, path, k);
			size_t l;
			if (src->data != NULL) {
				f->data = xmalloc(src->len + 1);
				memcpy(f->data, src->data, src->len + 1);
				f->len = src->len;
			}
			f->machine = src->machine;
			for (l = 0; l < src->nlicenses; l++)
				strset_add(&f->licenses, &f->nlicenses, src->licenses[l], strlen(src->licenses[l]));
			free(t);
			return;
		}
		break;
	}
	lc_note(lc, what, path, "a hard link that was not read");
	lc_add(lc, path, LC_MASK);
	free(t);
}

/* A whiteout (.wh.NAME, .wh..wh..opq) that touches what we read. */
static void keep_whiteout(struct layer_cat *lc, const char *path)
{
	const char *slash = strrchr(path, '/'), *base = slash != NULL ? slash + 1 : path;
	size_t dirlen = slash != NULL ? (size_t)(slash - path) : 0;
	char *target;
	enum lc_kind k;

	if (strcmp(base, ".wh..wh..opq") == 0) {
		char *dir = xstrndup(path, dirlen);
		enum rel r = classify(dir, &k);
		if (r == REL_ON_THE_WAY || r == REL_DOCDIR || dirlen == 0)
			strset_add(&lc->opaque, &lc->nopaque, dir, dirlen);
		free(dir);
		return;
	}
	target = dirlen > 0 ? xasprintf("%.*s/%s", (int)dirlen, path, base + 4) : xstrdup(base + 4);
	if (target[dirlen > 0 ? dirlen + 1 : 0] != '\0' && classify(target, &k) != REL_NONE)
		strset_add(&lc->whiteouts, &lc->nwhiteouts, target, strlen(target));
	free(target);
}

static int read_entry(struct layer_cat *lc, struct archive *a, struct layer_reader *lr,
    struct archive_entry *ae, const char *rpm_dir, const char *what, struct ferr *e)
{
	const char *raw = archive_entry_pathname(ae), *base;
	char *path = raw != NULL ? clean_path(raw) : NULL;
	mode_t type = archive_entry_filetype(ae);
	enum lc_kind kind = LC_MASK;
	enum rel r;

	if (path == NULL)
		return FX_OK;
	base = strrchr(path, '/');
	base = base != NULL ? base + 1 : path;
	if (strncmp(base, ".wh.", 4) == 0) {
		keep_whiteout(lc, path);
		free(path);
		return FX_OK;
	}
	r = classify(path, &kind);
	if (r == REL_NONE || (type == AE_IFDIR && archive_entry_hardlink(ae) == NULL)) {
		free(path);
		return FX_OK;
	}
	if (lc->nfiles >= CAT_MAX_FILES) {
		free(path);
		return fe_set(e, FX_VERIFY, "%s: more than %d package files", what, CAT_MAX_FILES);
	}
	if (archive_entry_hardlink(ae) != NULL) {
		if (r == REL_FILE)
			keep_hardlink(lc, what, path, archive_entry_hardlink(ae));
		else
			lc_add(lc, path, LC_MASK);
		return FX_OK;
	}
	if (type == AE_IFLNK) {
		struct lc_file *f = lc_add(lc, path, LC_SYMLINK);
		const char *t = archive_entry_symlink(ae);
		f->data = xstrdup(t != NULL ? t : "");
		f->len = strlen(f->data);
		return FX_OK;
	}
	if (type != AE_IFREG || r != REL_FILE) {
		lc_add(lc, path, LC_MASK);
		return FX_OK;
	}
	return keep_file(lc, a, lr, ae, rpm_dir, what, path, kind, e);
}

int layer_catalog(const struct layer_src *src, const char *rpm_dir, struct layer_cat **out, struct ferr *e)
{
	struct layer_cat *lc = xcalloc(1, sizeof(*lc));
	struct layer_reader *lr = NULL;
	struct archive *a = NULL;
	struct archive_entry *ae;
	int r, rc;

	*out = NULL;
	if ((rc = layer_open(src, &lr, &a, e)) != FX_OK)
		goto end;
	while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		if ((rc = read_entry(lc, a, lr, ae, rpm_dir, src->what, e)) != FX_OK)
			goto end;
	}
	if (r != ARCHIVE_EOF) {
		rc = fe_set(e, fx_interrupted ? FX_IO : FX_VERIFY, "%s: %s", src->what,
		    fx_interrupted ? "interrupted" : layer_error(lr));
		goto end;
	}
	if ((rc = layer_finish(lr, lc->diff_id, &lc->has_diff_id, e)) != FX_OK)
		goto end;
	*out = lc;
	lc = NULL;
end:
	layer_close(lr);
	layer_cat_free(lc);
	return rc;
}

int layer_cat_diff_id(const struct layer_cat *lc, unsigned char diff_id[SHA256_LEN])
{
	if (!lc->has_diff_id)
		return 0;
	memcpy(diff_id, lc->diff_id, SHA256_LEN);
	return 1;
}

void layer_cat_free(struct layer_cat *lc)
{
	size_t i;

	if (lc == NULL)
		return;
	for (i = 0; i < lc->nfiles; i++) {
		free(lc->files[i].path);
		free(lc->files[i].data);
		strv_free_n(lc->files[i].licenses, lc->files[i].nlicenses);
	}
	free(lc->files);
	strv_free_n(lc->whiteouts, lc->nwhiteouts);
	strv_free_n(lc->opaque, lc->nopaque);
	strv_free_n(lc->notes, lc->nnotes);
	free(lc);
}

/* ---- an image: the layers applied in order */

struct fs_state {
	const struct lc_file **v;
	size_t n, cap;
};

/* Removes path and everything below it (with_self 0: only what is below). */
static void state_remove(struct fs_state *s, const char *path, int with_self)
{
	size_t i, out = 0, n = strlen(path);

	for (i = 0; i < s->n; i++) {
		const char *p = s->v[i]->path;
		int below = n == 0 || (strncmp(p, path, n) == 0 && p[n] == '/');
		int same = with_self && strcmp(p, path) == 0;
		if (!below && !same)
			s->v[out++] = s->v[i];
	}
	s->n = out;
}

static void state_apply(struct fs_state *s, const struct layer_cat *lc)
{
	size_t i;

	for (i = 0; i < lc->nwhiteouts; i++)
		state_remove(s, lc->whiteouts[i], 1);
	for (i = 0; i < lc->nopaque; i++)
		state_remove(s, lc->opaque[i], 0);
	for (i = 0; i < lc->nfiles; i++) {
		const struct lc_file *f = &lc->files[i];
		state_remove(s, f->path, 1);
		if (f->kind == LC_MASK)
			continue;
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 64;
			s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
		}
		s->v[s->n++] = f;
	}
}

static int state_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct lc_file *const *)a)->path, (*(const struct lc_file *const *)b)->path);
}

static const struct lc_file *state_get(const struct fs_state *s, const char *path)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->v[mid]->path, path);
		if (c == 0)
			return s->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The path a symbolic link at dir/... points to (relative to dir, or absolute from the
 * image's root; ".." stops at the root as it does in the kernel), or NULL. */
static char *link_resolve(const char *dir, const char *target)
{
	char *joined = target[0] == '/' ? xstrdup(target) : xasprintf("%s/%s", dir, target);
	char *out = xcalloc(1, strlen(joined) + 1), *tok, *save = NULL;
	size_t olen = 0;

	for (tok = strtok_r(joined, "/", &save); tok != NULL; tok = strtok_r(NULL, "/", &save)) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0) {
			char *sl = strrchr(out, '/');
			olen = sl != NULL ? (size_t)(sl - out) : 0;
			out[olen] = '\0';
			continue;
		}
		if (olen > 0)
			out[olen++] = '/';
		memcpy(out + olen, tok, strlen(tok) + 1);
		olen += strlen(tok);
	}
	free(joined);
	if (olen == 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* What path leads to in the final filesystem, following up to 8 symbolic links at the
 * path itself or at its parent directory (the doc directory of a package that shares
 * another's). */
static const struct lc_file *state_follow(const struct fs_state *s, const char *path)
{
	char *cur = xstrdup(path);
	const struct lc_file *f = NULL;
	int hops;

	for (hops = 0; hops < 8 && cur != NULL; hops++) {
		char *slash, *next = NULL;
		const struct lc_file *dir;

		f = state_get(s, cur);
		if (f != NULL && f->kind != LC_SYMLINK)
			break;
		slash = strrchr(cur, '/');
		if (f != NULL) {
			char *d = xstrndup(cur, slash != NULL ? (size_t)(slash - cur) : 0);
			next = link_resolve(d, f->data);
			free(d);
		} else if (slash != NULL) {
			char *d = xstrndup(cur, (size_t)(slash - cur));
			dir = state_get(s, d);
			if (dir != NULL && dir->kind == LC_SYMLINK) {
				char *up = strrchr(d, '/'), *pd = xstrndup(d, up != NULL ? (size_t)(up - d) : 0);
				char *t = link_resolve(pd, dir->data);
				if (t != NULL)
					next = xasprintf("%s/%s", t, slash + 1);
				free(t);
				free(pd);
			}
			free(d);
		}
		f = NULL;
		free(cur);
		cur = next;
	}
	free(cur);
	return f;
}

static void note(struct image_cat *c, char *s)
{
	strset_add(&c->notes, &c->nnotes, s, strlen(s));
	free(s);
}

static void database(struct image_cat *c, const char *s)
{
	strset_add(&c->databases, &c->ndatabases, s, strlen(s));
}

/* Licences of the Debian packages, from their copyright files. */
static void deb_licenses(const struct fs_state *s, struct pkg_list *pkgs, size_t from)
{
	size_t i;

	for (i = from; i < pkgs->n; i++) {
		struct pkg *p = &pkgs->v[i];
		char *path = xasprintf("usr/share/doc/%s/copyright", p->name);
		const struct lc_file *f = strchr(p->name, '/') == NULL ? state_follow(s, path) : NULL;
		size_t l;

		if (f != NULL && f->kind == LC_COPYRIGHT && f->machine) {
			for (l = 0; l < f->nlicenses; l++)
				strset_add(&p->licenses, &p->nlicenses, f->licenses[l], strlen(f->licenses[l]));
			p->license_known = f->nlicenses > 0;
		}
		free(path);
	}
}

static int catalog_dpkg(const struct fs_state *s, const char *what, struct image_cat *c, struct ferr *e)
{
	const struct lc_file *f = state_get(s, "var/lib/dpkg/status");
	size_t i, from = c->pkgs.n;
	int rc = FX_OK, statusd = 0;

	if (f != NULL && f->kind == LC_DPKG_STATUS) {
		char w[ESC_MAX + 64];
		snprintf(w, sizeof(w), "%s: var/lib/dpkg/status", what);
		if ((rc = dpkg_status_parse(f->data, f->len, 0, w, &c->pkgs, e)) != FX_OK)
			return rc;
		database(c, "dpkg: var/lib/dpkg/status");
	}
	for (i = 0; i < s->n; i++) {
		char w[2 * ESC_MAX];
		if (s->v[i]->kind != LC_DPKG_STATUSD)
			continue;
		snprintf(w, sizeof(w), "%s: %s", what, ESC(s->v[i]->path));
		if ((rc = dpkg_status_parse(s->v[i]->data, s->v[i]->len, 1, w, &c->pkgs, e)) != FX_OK)
			return rc;
		statusd = 1;
	}
	if (statusd)
		database(c, "dpkg: var/lib/dpkg/status.d");
	deb_licenses(s, &c->pkgs, from);
	return FX_OK;
}

/* The rpmdb the final filesystem holds, read with librpm from a directory of its own. */
static void catalog_rpm(const struct fs_state *s, const char *rpm_dir, const char *what, struct image_cat *c)
{
	size_t d, f;
	char why[512] = "";

	for (d = 0; d < sizeof(rpmdb_dirs) / sizeof(rpmdb_dirs[0]); d++) {
		int found = 0;
		for (f = 0; f < sizeof(rpmdb_files) / sizeof(rpmdb_files[0]); f++) {
			char *path = xasprintf("%s/%s", rpmdb_dirs[d], rpmdb_files[f]), *dst;
			const struct lc_file *x = state_get(s, path);
			if (x != NULL && x->kind == LC_RPMDB) {
				if (!found && mkdir_p(rpm_dir, 0700) != 0)
					snprintf(why, sizeof(why), "%s: %s", ESC(rpm_dir), strerror(errno));
				dst = xasprintf("%s/%s", rpm_dir, rpmdb_files[f]);
				if (why[0] == '\0' && link(x->data, dst) != 0)
					snprintf(why, sizeof(why), "%s: %s", ESC(dst), strerror(errno));
				free(dst);
				found = 1;
			}
			free(path);
		}
		if (!found)
			continue;
		{
			char *db = xasprintf("rpm: %s", rpmdb_dirs[d]);
			database(c, db);
			free(db);
		}
		if (why[0] == '\0' && rpmdb_catalog(rpm_dir, &c->pkgs, why, sizeof(why)) == 0)
			return;
		c->uncatalogued = 1;
		note(c, xasprintf("%s: the rpm database in %s was found but NOT catalogued: %s; its packages are "
		    "not listed", what, rpmdb_dirs[d], why));
		return;
	}
}

static char *distro_of(const struct os_release *os)
{
	const char *v = os->version_id != NULL ? os->version_id : os->version_codename;

	if (os->id == NULL || os->id[0] == '\0')
		return NULL;
	return v != NULL && v[0] != '\0' ? xasprintf("%s-%s", os->id, v) : xstrdup(os->id);
}

static void make_purls(struct image_cat *c)
{
	char *distro = distro_of(&c->os);
	size_t i;

	for (i = 0; i < c->pkgs.n; i++) {
		struct pkg *p = &c->pkgs.v[i];
		const char *ns = c->os.id;
		if (ns == NULL || ns[0] == '\0')
			ns = p->kind == PKG_DEB ? "debian" : p->kind == PKG_APK ? "alpine" : NULL;
		free(p->purl);
		p->purl = purl_make(p->kind, ns, p->name, p->kind == PKG_RPM && p->epoch != NULL ?
		    strchr(p->version, ':') + 1 : p->version, p->arch, distro, p->epoch);
	}
	free(distro);
}

static void catalog_os(const struct fs_state *s, struct image_cat *c)
{
	const struct lc_file *f = state_follow(s, "etc/os-release");

	if (f == NULL || f->kind != LC_OS_RELEASE)
		f = state_follow(s, "usr/lib/os-release");
	if (f != NULL && f->kind == LC_OS_RELEASE)
		os_release_parse(f->data, f->len, &c->os);
}

int image_catalog(struct layer_cat *const *layers, size_t n, const char *rpm_dir, const char *what,
    struct image_cat *c, struct ferr *e)
{
	struct fs_state s;
	const struct lc_file *f;
	size_t i, k;
	int rc = FX_OK;

	memset(c, 0, sizeof(*c));
	memset(&s, 0, sizeof(s));
	for (i = 0; i < n; i++) {
		state_apply(&s, layers[i]);
		for (k = 0; k < layers[i]->nnotes; k++)
			strset_add(&c->notes, &c->nnotes, layers[i]->notes[k], strlen(layers[i]->notes[k]));
	}
	if (s.n > 0)
		qsort(s.v, s.n, sizeof(*s.v), state_cmp);
	catalog_os(&s, c);
	if ((rc = catalog_dpkg(&s, what, c, e)) != FX_OK)
		goto end;
	f = state_get(&s, "lib/apk/db/installed");
	if (f != NULL && f->kind == LC_APK) {
		char w[ESC_MAX + 64];
		snprintf(w, sizeof(w), "%s: lib/apk/db/installed", what);
		if ((rc = apk_installed_parse(f->data, f->len, w, &c->pkgs, e)) != FX_OK)
			goto end;
		database(c, "apk: lib/apk/db/installed");
	}
	catalog_rpm(&s, rpm_dir, what, c);
	make_purls(c);
	pkg_list_sort(&c->pkgs);
end:
	free(s.v);
	if (rc != FX_OK)
		image_cat_free(c);
	return rc;
}

void image_cat_free(struct image_cat *c)
{
	pkg_list_free(&c->pkgs);
	os_release_free(&c->os);
	strv_free_n(c->databases, c->ndatabases);
	strv_free_n(c->notes, c->nnotes);
	memset(c, 0, sizeof(*c));
}
