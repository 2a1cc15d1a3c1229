/* extract.c - hardened extraction: names checked by the reader, every path component
 * opened with openat(O_NOFOLLOW), files created O_EXCL with mode 0644 in a hidden
 * staging directory inside DIR. Nothing is moved into DIR before the whole bundle
 * verified and every destination, directories on the way included, was found free;
 * a move that still fails undoes the ones before it, so DIR is left as it was. */
#include "cli/extract.h"
#include "cli/load_delta.h"
#include "bundle/state.h"
#include "util/file.h"
#include "util/progress.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One entry moved into DIR, and what it replaced (with --force): kept in the staging
 * directory under replaced_name until the whole extraction is done. */
struct placed {
	const char *name;
	char *replaced_name; /* NULL: nothing was there */
};

struct extract {
	const char *bundle, *dir;
	int force;
	int dirfd, stagefd, curfd;
	char *stage;     /* path of the staging directory */
	char *curname;   /* the entry being written */
	int created_dir; /* extract made dir: remove it again on failure */
	const struct bundle_head *head;
	const char **names; /* every entry, in the order they are moved */
	size_t nnames;
	struct placed *placed; /* moved so far */
	size_t nplaced;
	char **made_dirs; /* directories made in DIR, outermost first */
	size_t nmade_dirs;
};

/* "DIR/name" cut after len bytes of name, escaped, for messages: in buf, or with
 * SHOWN() in a buffer of the calling block (as ESC() does). */
static const char *shown(const struct extract *x, const char *name, size_t len, char *buf, size_t size)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%.*s", x->dir, (int)(len < INT_MAX ? len : INT_MAX), name);
	return fx_esc(path, buf, size);
}
#define SHOWN(x, name, len) shown((x), (name), (len), (char[ESC_MAX]){0}, ESC_MAX)

enum { OPEN_ONLY, MAKE_DIRS, MAKE_DIRS_IN_DIR };

/* Opens the directories leading to name under root, making them with MAKE_DIRS (and
 * noting those made in x->made_dirs with MAKE_DIRS_IN_DIR); returns the parent's fd
 * and points *leaf at the last component. Symbolic links are never followed. */
static int open_parent(struct extract *x, int root, const char *name, int make, const char **leaf,
    struct ferr *e)
{
	char part[NAME_MAX + 1];
	const char *p = name, *slash;
	int fd = dup(root);

	while (fd >= 0 && (slash = strchr(p, '/')) != NULL) {
		size_t len = (size_t)(slash - p);
		int next = -1;

		if (len >= sizeof(part)) {
			fe_set(e, FX_IO, "%s: name too long", SHOWN(x, name, strlen(name)));
		} else {
			memcpy(part, p, len);
			part[len] = '\0';
			if (make != OPEN_ONLY && mkdirat(fd, part, 0755) == 0 && make == MAKE_DIRS_IN_DIR) {
				x->made_dirs = xreallocarray(x->made_dirs, x->nmade_dirs + 1, sizeof(char *));
				x->made_dirs[x->nmade_dirs++] = xstrndup(name, (size_t)(slash - name));
			}
			next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (next < 0)
				fe_set(e, FX_IO, "%s: %s", SHOWN(x, name, (size_t)(slash - name)),
				    errno == ELOOP || errno == ENOTDIR ? "a symbolic link or a file where a directory must be" :
				    strerror(errno));
		}
		close(fd);
		fd = next;
		p = slash + 1;
	}
	*leaf = p;
	return fd;
}

/* Can name be moved into DIR? Every directory on the way must be a directory (not a
 * symbolic link, not a file) or not there yet; the name itself must be free, or with
 * --force something other than a directory. Nothing is changed. */
static int check_destination(struct extract *x, const char *name, struct ferr *e)
{
	char part[NAME_MAX + 1];
	const char *p = name, *slash;
	struct stat st;
	int fd = dup(x->dirfd), rc = FX_OK;

	while (rc == FX_OK && (slash = strchr(p, '/')) != NULL) {
		size_t len = (size_t)(slash - p);
		int next;

		if (len >= sizeof(part)) {
			rc = fe_set(e, FX_IO, "%s: name too long", SHOWN(x, name, strlen(name)));
			break;
		}
		memcpy(part, p, len);
		part[len] = '\0';
		if (fstatat(fd, part, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno != ENOENT)
				rc = fe_set(e, FX_IO, "%s: %s", SHOWN(x, name, (size_t)(slash - name)),
				    strerror(errno));
			goto end; /* not there: made when the entry is moved */
		}
		if (!S_ISDIR(st.st_mode)) {
			rc = fe_set(e, FX_IO, "%s: %s where a directory must be; nothing extracted",
			    SHOWN(x, name, (size_t)(slash - name)),
			    S_ISLNK(st.st_mode) ? "a symbolic link" : "a file");
			break;
		}
		next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			rc = fe_set(e, FX_IO, "%s: %s", SHOWN(x, name, (size_t)(slash - name)),
			    strerror(errno));
		close(fd);
		fd = next;
		p = slash + 1;
	}
	if (rc != FX_OK)
		goto end;
	if (fstatat(fd, p, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!x->force)
			rc = fe_set(e, FX_IO, "%s: %s; nothing extracted", SHOWN(x, name, strlen(name)),
			    FX_EXISTS);
		else if (S_ISDIR(st.st_mode))
			rc = fe_set(e, FX_IO, "%s: a directory where a file belongs; nothing extracted",
			    SHOWN(x, name, strlen(name)));
	} else if (errno != ENOENT) {
		rc = fe_set(e, FX_IO, "%s: %s", SHOWN(x, name, strlen(name)), strerror(errno));
	}
end:
	if (fd >= 0)
		close(fd);
	return rc;
}

static int check_destinations(struct extract *x, struct ferr *e)
{
	size_t i;
	int rc = FX_OK;

	for (i = 0; i < x->nnames && rc == FX_OK; i++)
		rc = check_destination(x, x->names[i], e);
	return rc;
}

/* Moves one staged entry into DIR; what was there (with --force) goes into the staging
 * directory first, so that it can be put back. */
static int place(struct extract *x, const char *name, struct ferr *e)
{
	struct placed *p;
	const char *stage_leaf, *leaf;
	int stage_parent = -1, parent = -1, rc = FX_OK;

	x->placed = xreallocarray(x->placed, x->nplaced + 1, sizeof(*x->placed));
	p = &x->placed[x->nplaced];
	p->name = name;
	p->replaced_name = NULL;
	if ((stage_parent = open_parent(x, x->stagefd, name, OPEN_ONLY, &stage_leaf, e)) < 0 ||
	    (parent = open_parent(x, x->dirfd, name, MAKE_DIRS_IN_DIR, &leaf, e)) < 0) {
		rc = e->code ? e->code : FX_IO;
		goto end;
	}
	if (x->force) {
		p->replaced_name = xasprintf(".replaced.%zu", x->nplaced);
		if (renameat(parent, leaf, x->stagefd, p->replaced_name) != 0) {
			free(p->replaced_name);
			p->replaced_name = NULL;
			if (errno != ENOENT) {
				rc = fe_set(e, FX_IO, "%s: %s", SHOWN(x, name, strlen(name)), strerror(errno));
				goto end;
			}
		}
	}
	x->nplaced++;
	if (fx_rename(stage_parent, stage_leaf, parent, leaf, 0) != 0)
		rc = fe_set(e, FX_IO, "%s: %s", SHOWN(x, name, strlen(name)),
		    errno == EEXIST ? FX_EXISTS : strerror(errno));
end:
	if (stage_parent >= 0)
		close(stage_parent);
	if (parent >= 0)
		close(parent);
	return rc;
}

/* Undoes the moves into DIR, newest first: each new file removed, what it replaced put
 * back, then the directories made for them removed. */
static void unplace(struct extract *x)
{
	struct ferr ignored = {0};
	struct stat st;
	const char *leaf;
	int parent;

	while (x->nplaced > 0) {
		struct placed *p = &x->placed[--x->nplaced];

		parent = open_parent(x, x->dirfd, p->name, OPEN_ONLY, &leaf, &ignored);
		if (parent >= 0) {
			/* the new file, unless its move is the one that failed */
			if (fstatat(x->stagefd, p->name, &st, AT_SYMLINK_NOFOLLOW) != 0)
				unlinkat(parent, leaf, 0);
			if (p->replaced_name != NULL)
				renameat(x->stagefd, p->replaced_name, parent, leaf);
			close(parent);
		}
		free(p->replaced_name);
	}
	while (x->nmade_dirs > 0) {
		char *made = x->made_dirs[--x->nmade_dirs];

		unlinkat(x->dirfd, made, AT_REMOVEDIR);
		free(made);
	}
}

static int stage_file(struct extract *x, const char *name, struct ferr *e)
{
	const char *leaf;
	int parent = open_parent(x, x->stagefd, name, MAKE_DIRS, &leaf, e);

	if (parent < 0)
		return e->code ? e->code : FX_IO;
	x->curfd = openat(parent, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	close(parent);
	if (x->curfd < 0)
		return fe_set(e, FX_IO, "%s: %s", SHOWN(x, name, strlen(name)), strerror(errno));
	free(x->curname);
	x->curname = xstrdup(name);
	return FX_OK;
}

static int put(struct extract *x, const void *buf, size_t n, struct ferr *e)
{

	if (write_all(x->curfd, buf, n) != 0)
		return fe_set(e, FX_IO, "%s: %s", SHOWN(x, x->curname, strlen(x->curname)),
		    strerror(errno));
	return FX_OK;
}

static int close_current(struct extract *x, struct ferr *e)
{
	int fd = x->curfd;

	x->curfd = -1;
	if (fd >= 0 && close(fd) != 0)
		return fe_set(e, FX_IO, "%s: %s", SHOWN(x, x->curname, strlen(x->curname)),
		    strerror(errno));
	return FX_OK;
}

static int write_small(struct extract *x, const char *name, const void *buf, size_t n, struct ferr *e)
{
	int rc;

	if ((rc = stage_file(x, name, e)) != FX_OK || (rc = put(x, buf, n, e)) != FX_OK)
		return rc;
	return close_current(x, e);
}

static int on_head(void *ctx, const struct bundle_head *h, struct ferr *e)
{
	struct extract *x = ctx;
	size_t i;
	int rc;

	x->head = h;
	x->names = xcalloc(h->sums.n + 2, sizeof(*x->names));
	x->names[x->nnames++] = BUNDLE_SUMS;
	if (h->is_signed)
		x->names[x->nnames++] = BUNDLE_SIG;
	for (i = 0; i < h->sums.n; i++)
		x->names[x->nnames++] = h->sums.v[i].path;
	/* refused before reading any data, not after a long read (and again at the end) */
	if ((rc = check_destinations(x, e)) != FX_OK)
		return rc;
	if ((rc = write_small(x, BUNDLE_SUMS, h->sums_text, h->sums_len, e)) != FX_OK ||
	    (h->is_signed && (rc = write_small(x, BUNDLE_SIG, h->sig, h->sig_len, e)) != FX_OK) ||
	    (rc = write_small(x, BUNDLE_YAML, h->yaml, h->yaml_len, e)) != FX_OK)
		return rc;
	return FX_OK;
}

static int on_begin(void *ctx, const char *name, uint64_t size, const struct entry_loc *loc, int *want,
    struct ferr *e)
{
	(void)size;
	(void)loc;
	*want = 1;
	return stage_file(ctx, name, e);
}

static int on_data(void *ctx, const void *buf, size_t n, struct ferr *e)
{
	return put(ctx, buf, n, e);
}

static int on_end(void *ctx, const char *name, int ok, struct ferr *e)
{
	(void)name;
	(void)ok;
	return close_current(ctx, e);
}

/* Everything verified: the entries move into DIR, all of them or none. */
static int on_finish(void *ctx, int all_ok, struct ferr *e)
{
	struct extract *x = ctx;
	size_t i;
	int rc;

	if (!all_ok)
		return FX_OK; /* the reader reports; nothing is moved */
	if ((rc = check_destinations(x, e)) != FX_OK)
		return rc;
	for (i = 0; i < x->nnames && rc == FX_OK; i++)
		rc = place(x, x->names[i], e);
	if (rc != FX_OK)
		unplace(x);
	return rc;
}

/* DIR (made when it is not there) and the staging directory inside it. */
static int open_dirs(struct extract *x, struct ferr *e)
{
	struct stat st;
	char *stage;

	if (stat(x->dir, &st) != 0) {
		if (errno != ENOENT || mkdir(x->dir, 0755) != 0)
			return fe_set(e, FX_IO, "%s: %s", ESC(x->dir), strerror(errno));
		x->created_dir = 1;
	} else if (!S_ISDIR(st.st_mode)) {
		return fe_set(e, FX_IO, "%s: not a directory", ESC(x->dir));
	}
	x->dirfd = open(x->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (x->dirfd < 0)
		return fe_set(e, FX_IO, "%s: %s", ESC(x->dir), strerror(errno));
	stage = xasprintf("%s/.ferry-extract.XXXXXX", x->dir);
	if (mkdtemp(stage) == NULL) {
		free(stage);
		return fe_set(e, FX_IO, "%s: cannot create a staging directory: %s", ESC(x->dir), strerror(errno));
	}
	x->stage = stage;
	fx_cleanup_dir(x->stage);
	x->stagefd = open(x->stage, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (x->stagefd < 0)
		return fe_set(e, FX_IO, "%s: %s", ESC(x->stage), strerror(errno));
	return FX_OK;
}

int extract_run(const char *bundle, const struct extract_opts *xo, const struct read_opts *ro, struct ferr *e)
{
	struct extract x;
	struct sink s;
	struct bundle_head h;
	struct read_report rep;
	struct read_opts reading;
	struct progress meter;
	int rc;

	memset(&x, 0, sizeof(x));
	memset(&h, 0, sizeof(h));
	x.bundle = bundle;
	x.dir = xo->dir;
	x.force = xo->force;
	x.dirfd = x.stagefd = x.curfd = -1;
	if ((rc = open_dirs(&x, e)) != FX_OK)
		goto end;
	memset(&s, 0, sizeof(s));
	s.ctx = &x;
	s.head = on_head;
	s.begin = on_begin;
	s.data = on_data;
	s.end = on_end;
	s.finish = on_finish;
	progress_init(&meter, progress_wanted(xo->quiet), "extracting");
	reading = *ro;
	reading.progress = &meter;
	rc = bundle_read(bundle, &reading, &s, &h, &rep, e);
	if (rc == FX_OK && ro->fresh != NULL) /* only an extract that succeeded is remembered */
		rc = state_record(ro->fresh, &h.man, e);
	if (rc == FX_OK && !xo->quiet)
		fprintf(stderr, "%s: %s: verified and extracted %zu entries into %s\n", fx_progname, ESC(bundle),
		    x.nnames, ESC(xo->dir));
	if (rc == FX_OK && !xo->quiet && h.man.nbases > 0) {
		fprintf(stderr, "%s: %s: a delta; left out (not in %s):\n", fx_progname, ESC(bundle), ESC(xo->dir));
		delta_describe(stderr, &h.man, "  ", 1);
	}
end:
	if (x.curfd >= 0)
		close(x.curfd);
	if (x.stagefd >= 0)
		close(x.stagefd);
	if (x.stage != NULL) {
		rm_tree(x.stage); /* what is left: nothing, or what was replaced */
		fx_cleanup_forget();
	}
	if (x.dirfd >= 0)
		close(x.dirfd);
	if (rc != FX_OK && x.created_dir)
		rm_tree(xo->dir);
	while (x.nmade_dirs > 0)
		free(x.made_dirs[--x.nmade_dirs]);
	free(x.made_dirs);
	for (size_t i = 0; i < x.nplaced; i++)
		free(x.placed[i].replaced_name);
	free(x.placed);
	free(x.names);
	bundle_head_free(&h);
	free(x.stage);
	free(x.curname);
	return rc;
}
