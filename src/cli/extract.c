/* extract.c - hardened extraction: names checked by the reader, every path component
 * opened with openat(O_NOFOLLOW), files created O_EXCL with mode 0644, nothing moved
 * into the target directory before the whole bundle verified. */
#include "cli/extract.h"
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct extract {
	const char *bundle, *dir;
	int force;
	int dirfd, stagefd, curfd;
	char *stage;     /* path of the staging directory */
	char *curname;
	int created_dir; /* extract made dir: remove it again on failure */
	const struct bundle_head *head;
	size_t written;
};

/* Opens (and with create, makes) the directories leading to name under root; returns
 * the parent's fd and points *leaf at the last component. Symlinks are never followed. */
static int open_parent(int root, const char *name, int create, const char **leaf, struct ferr *e, const char *shown)
{
	char part[1025];
	const char *p = name, *slash;
	int fd = dup(root);

	while (fd >= 0 && (slash = strchr(p, '/')) != NULL) {
		size_t l = (size_t)(slash - p);
		int nfd;

		if (l >= sizeof(part)) {
			close(fd);
			fe_set(e, FX_IO, "%s: name too long", ESC(name));
			return -1;
		}
		memcpy(part, p, l);
		part[l] = '\0';
		if (create && mkdirat(fd, part, 0755) != 0 && errno != EEXIST) {
			fe_set(e, FX_IO, "%s/%s: %s", ESC(shown), ESC(name), strerror(errno));
			close(fd);
			return -1;
		}
		nfd = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if (nfd < 0) {
			fe_set(e, FX_IO, "%s/%s: %s", ESC(shown), ESC(name),
			    errno == ELOOP || errno == ENOTDIR ? "a path component is a symlink or not a directory" : strerror(errno));
			return -1;
		}
		fd = nfd;
		p = slash + 1;
	}
	*leaf = p;
	return fd;
}

static int exists_under(int root, const char *name)
{
	struct ferr ignore = {0};
	const char *leaf;
	struct stat st;
	int fd = open_parent(root, name, 0, &leaf, &ignore, "");
	int r;

	if (fd < 0)
		return 0;
	r = fstatat(fd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0;
	close(fd);
	return r;
}

static int stage_file(struct extract *x, const char *name, struct ferr *e)
{
	const char *leaf;
	int pfd = open_parent(x->stagefd, name, 1, &leaf, e, x->dir);

	if (pfd < 0)
		return e->code ? e->code : FX_IO;
	x->curfd = openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	close(pfd);
	if (x->curfd < 0)
		return fe_set(e, FX_IO, "%s/%s: %s", ESC(x->dir), ESC(name), strerror(errno));
	free(x->curname);
	x->curname = xstrdup(name);
	return FX_OK;
}

static int put(struct extract *x, const void *buf, size_t n, struct ferr *e)
{
	if (write_all(x->curfd, buf, n) != 0)
		return fe_set(e, FX_IO, "%s/%s: %s", ESC(x->dir), ESC(x->curname), strerror(errno));
	return FX_OK;
}

static int close_cur(struct extract *x, struct ferr *e)
{
	int fd = x->curfd;

	x->curfd = -1;
	if (fd >= 0 && close(fd) != 0)
		return fe_set(e, FX_IO, "%s/%s: %s", ESC(x->dir), ESC(x->curname), strerror(errno));
	return FX_OK;
}

static int write_small(struct extract *x, const char *name, const void *buf, size_t n, struct ferr *e)
{
	int rc;

	if ((rc = stage_file(x, name, e)) != FX_OK || (rc = put(x, buf, n, e)) != FX_OK)
		return rc;
	return close_cur(x, e);
}

static int x_head(void *ctx, const struct bundle_head *h, struct ferr *e)
{
	struct extract *x = ctx;
	size_t i;
	int rc;

	x->head = h;
	/* refuse before reading any data, not after a long read */
	if (!x->force) {
		if (exists_under(x->dirfd, BUNDLE_SUMS) || (h->is_signed && exists_under(x->dirfd, BUNDLE_SIG)))
			return fe_set(e, FX_IO, "%s/%s: already exists (use --force to overwrite)", ESC(x->dir), BUNDLE_SUMS);
		for (i = 0; i < h->sums.n; i++)
			if (exists_under(x->dirfd, h->sums.v[i].path))
				return fe_set(e, FX_IO, "%s/%s: already exists (use --force to overwrite)", ESC(x->dir),
				    ESC(h->sums.v[i].path));
	}
	if ((rc = write_small(x, BUNDLE_SUMS, h->sums_text, h->sums_len, e)) != FX_OK ||
	    (h->is_signed && (rc = write_small(x, BUNDLE_SIG, h->sig, h->sig_len, e)) != FX_OK) ||
	    (rc = write_small(x, BUNDLE_YAML, h->yaml, h->yaml_len, e)) != FX_OK)
		return rc;
	return FX_OK;
}

static int x_begin(void *ctx, const char *name, uint64_t size, const struct entry_loc *loc, int *want,
    struct ferr *e)
{
	(void)size;
	(void)loc;
	*want = 1;
	return stage_file(ctx, name, e);
}

static int x_data(void *ctx, const void *buf, size_t n, struct ferr *e)
{
	return put(ctx, buf, n, e);
}

static int x_end(void *ctx, const char *name, int ok, struct ferr *e)
{
	struct extract *x = ctx;
	int rc = close_cur(x, e);

	(void)name;
	if (ok && rc == FX_OK)
		x->written++;
	return rc;
}

static int move_one(struct extract *x, const char *name, struct ferr *e)
{
	const char *sleaf, *dleaf;
	int sfd = -1, dfd = -1, rc = FX_OK;

	if ((sfd = open_parent(x->stagefd, name, 0, &sleaf, e, x->dir)) < 0 ||
	    (dfd = open_parent(x->dirfd, name, 1, &dleaf, e, x->dir)) < 0) {
		rc = e->code ? e->code : FX_IO;
		goto end;
	}
	if (fx_rename(sfd, sleaf, dfd, dleaf, x->force) != 0)
		rc = fe_set(e, FX_IO, "%s/%s: %s", ESC(x->dir), ESC(name), errno == EEXIST ? FX_EXISTS : strerror(errno));
end:
	if (sfd >= 0)
		close(sfd);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

static int x_finish(void *ctx, int all_ok, struct ferr *e)
{
	struct extract *x = ctx;
	const struct bundle_head *h = x->head;
	size_t i;
	int rc;

	if (!all_ok)
		return FX_OK; /* the reader reports; nothing is moved */
	if ((rc = move_one(x, BUNDLE_SUMS, e)) != FX_OK ||
	    (h->is_signed && (rc = move_one(x, BUNDLE_SIG, e)) != FX_OK))
		return rc;
	for (i = 0; i < h->sums.n; i++)
		if ((rc = move_one(x, h->sums.v[i].path, e)) != FX_OK)
			return rc;
	return FX_OK;
}

int extract_run(const char *bundle, const struct extract_opts *xo, const struct read_opts *ro, struct ferr *e)
{
	const char *dir = xo->dir;
	struct extract x;
	struct sink s;
	struct bundle_head h;
	struct read_report rep;
	struct stat st;
	char *tmpl = NULL;
	int rc;

	memset(&x, 0, sizeof(x));
	memset(&h, 0, sizeof(h));
	x.bundle = bundle;
	x.dir = dir;
	x.force = xo->force;
	x.dirfd = x.stagefd = x.curfd = -1;
	if (stat(dir, &st) != 0) {
		if (errno != ENOENT || mkdir(dir, 0755) != 0) {
			rc = fe_set(e, FX_IO, "%s: %s", ESC(dir), strerror(errno));
			goto end;
		}
		x.created_dir = 1;
	} else if (!S_ISDIR(st.st_mode)) {
		rc = fe_set(e, FX_IO, "%s: not a directory", ESC(dir));
		goto end;
	}
	x.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (x.dirfd < 0) {
		rc = fe_set(e, FX_IO, "%s: %s", ESC(dir), strerror(errno));
		goto end;
	}
	tmpl = xasprintf("%s/.ferry-extract.XXXXXX", dir);
	if (mkdtemp(tmpl) == NULL) {
		rc = fe_set(e, FX_IO, "%s: cannot create a staging directory: %s", ESC(dir), strerror(errno));
		goto end;
	}
	x.stage = tmpl;
	tmpl = NULL;
	fx_cleanup_dir(x.stage);
	x.stagefd = open(x.stage, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (x.stagefd < 0) {
		rc = fe_set(e, FX_IO, "%s: %s", ESC(x.stage), strerror(errno));
		goto end;
	}
	memset(&s, 0, sizeof(s));
	s.ctx = &x;
	s.head = x_head;
	s.begin = x_begin;
	s.data = x_data;
	s.end = x_end;
	s.finish = x_finish;
	rc = bundle_read(bundle, ro, &s, &h, &rep, e);
	if (rc == FX_OK && !xo->quiet)
		fprintf(stderr, "%s: %s: verified and extracted %zu entries into %s\n", fx_progname, ESC(bundle),
		    h.sums.n + 1 + (size_t)h.is_signed, ESC(dir));
end:
	if (x.curfd >= 0)
		close(x.curfd);
	if (x.stagefd >= 0)
		close(x.stagefd);
	if (x.stage != NULL) {
		rm_tree(x.stage);
		fx_cleanup_forget();
	}
	if (x.dirfd >= 0)
		close(x.dirfd);
	if (rc != FX_OK && x.created_dir)
		rm_tree(dir);
	bundle_head_free(&h);
	free(x.stage);
	free(x.curname);
	free(tmpl);
	return rc;
}
