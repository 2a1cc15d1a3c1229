/* chart_dir.c - a chart directory packed as `helm package` packs it (chart.h):
 * NAME-VERSION.tgz holding NAME/..., its members sorted by name, every header the
 * same (mode 0644, owner 0, the given mtime, no gzip timestamp), so one directory and
 * one SOURCE_DATE_EPOCH give the same bytes. .helmignore is honoured: blank lines and
 * '#' comments skipped, each pattern an fnmatch(3) glob matched against the path
 * relative to the chart and against the base name, a trailing '/' for directories
 * only; '!' negations are refused rather than guessed at. Like Helm, hidden files
 * under templates/ are left out. Symbolic links and special files are refused. */
#include "bundle/chart.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "util/yamlx.h"

#define CHART_DIR_DEPTH 32

struct ignore {
	char **patterns;
	int *dir_only;
	size_t n;
};

struct walk {
	const char *root;
	struct ignore ign;
	char **files; /* paths relative to root */
	size_t nfiles, cap;
	uint64_t total;
};

static int read_ignore(const char *root, struct ignore *ign, struct ferr *e)
{
	char *path = xasprintf("%s/.helmignore", root), *buf = NULL, *line, *save = NULL;
	size_t len;
	struct stat st;
	int rc = FX_OK;

	if (lstat(path, &st) != 0)
		goto end; /* none */
	if ((rc = read_file_max(path, 1 << 20, &buf, &len, e)) != FX_OK)
		goto end;
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		size_t l;
		while (*line == ' ' || *line == '\t')
			line++;
		l = strlen(line);
		while (l > 0 && (line[l - 1] == ' ' || line[l - 1] == '\t' || line[l - 1] == '\r'))
			line[--l] = '\0';
		if (l == 0 || line[0] == '#')
			continue;
		if (line[0] == '!') {
			rc = fe_set(e, FX_USAGE, "%s: %s: '!' patterns are not supported", ESC(path), ESC(line));
			goto end;
		}
		ign->patterns = xreallocarray(ign->patterns, ign->n + 1, sizeof(*ign->patterns));
		ign->dir_only = xreallocarray(ign->dir_only, ign->n + 1, sizeof(*ign->dir_only));
		ign->dir_only[ign->n] = line[l - 1] == '/';
		if (ign->dir_only[ign->n])
			line[--l] = '\0';
		if (line[0] == '/')
			line++;
		ign->patterns[ign->n++] = xstrdup(line);
	}
end:
	free(buf);
	free(path);
	return rc;
}

static int ignored(const struct ignore *ign, const char *rel, int is_dir)
{
	const char *base = strrchr(rel, '/');
	size_t i;

	base = base != NULL ? base + 1 : rel;
	if (strncmp(rel, "templates/", 10) == 0 && base[0] == '.')
		return 1;
	for (i = 0; i < ign->n; i++) {
		if (ign->dir_only[i] && !is_dir)
			continue;
		if (fnmatch(ign->patterns[i], rel, FNM_PATHNAME) == 0 || fnmatch(ign->patterns[i], base, 0) == 0)
			return 1;
	}
	return 0;
}

static int walk_dir(struct walk *w, const char *rel, int depth, struct ferr *e)
{
	char *dirpath = rel[0] ? xasprintf("%s/%s", w->root, rel) : xstrdup(w->root);
	DIR *dir = opendir(dirpath);
	struct dirent *de;
	int rc = FX_OK;

	if (dir == NULL) {
		rc = fe_set(e, FX_IO, "%s: %s", ESC(dirpath), strerror(errno));
		goto end;
	}
	if (depth > CHART_DIR_DEPTH) {
		rc = fe_set(e, FX_USAGE, "%s: nested deeper than %d directories", ESC(dirpath), CHART_DIR_DEPTH);
		goto end;
	}
	while (rc == FX_OK && (de = readdir(dir)) != NULL) {
		char *child, *full;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		child = rel[0] ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		full = xasprintf("%s/%s", w->root, child);
		if (lstat(full, &st) != 0)
			rc = fe_set(e, FX_IO, "%s: %s", ESC(full), strerror(errno));
		else if (ignored(&w->ign, child, S_ISDIR(st.st_mode))) {
			/* left out, as helm package leaves it out */
		} else if (S_ISDIR(st.st_mode))
			rc = walk_dir(w, child, depth + 1, e);
		else if (!S_ISREG(st.st_mode))
			rc = fe_set(e, FX_USAGE, "%s: %s (charts are packed from plain files and directories only)",
			    ESC(full), S_ISLNK(st.st_mode) ? "a symbolic link" : "not a plain file");
		else if (w->nfiles >= CHART_MEMBERS_MAX || (w->total += (uint64_t)st.st_size) > CHART_UNPACKED_MAX)
			rc = fe_set(e, FX_USAGE, "%s: more than %u files or %u MiB", ESC(w->root), CHART_MEMBERS_MAX,
			    CHART_UNPACKED_MAX >> 20);
		else {
			if (w->nfiles == w->cap) {
				w->cap = w->cap ? w->cap * 2 : 64;
				w->files = xreallocarray(w->files, w->cap, sizeof(*w->files));
			}
			w->files[w->nfiles++] = child;
			child = NULL;
		}
		free(child);
		free(full);
	}
end:
	if (dir != NULL)
		closedir(dir);
	free(dirpath);
	return rc;
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* NAME and VERSION of the directory's Chart.yaml, safe in a file name (chart_inspect
 * applies Helm's rules to the packed archive). */
static int dir_name_version(const char *root, char **name, char **version, struct ferr *e)
{
	char *path = xasprintf("%s/Chart.yaml", root), *buf = NULL;
	struct ydoc d;
	struct stat st;
	size_t len;
	int rc;

	memset(&d, 0, sizeof(d));
	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = fe_set(e, FX_USAGE, "%s: not a chart directory (no Chart.yaml as a plain file)", ESC(root));
		goto end;
	}
	if ((rc = read_file_max(path, 1 << 20, &buf, &len, e)) != FX_OK ||
	    (rc = ydoc_load(&d, buf, len, path, FX_USAGE, e)) != FX_OK ||
	    (rc = ymap_check(&d, ydoc_root(&d), "Chart.yaml", NULL, e)) != FX_OK ||
	    (rc = ymap_str(&d, ydoc_root(&d), "name", 1, name, e)) != FX_OK ||
	    (rc = ymap_str(&d, ydoc_root(&d), "version", 1, version, e)) != FX_OK)
		goto end;
	if (**name == '\0' || strspn(*name, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(*name) || **name == '-')
		rc = fe_set(e, FX_USAGE, "%s: chart name %s: Helm allows only lower-case letters, digits and '-'",
		    ESC(path), ESC(*name));
	else if (**version == '\0' || strlen(*version) > 128 ||
	    strspn(*version, "0123456789.-+abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(*version))
		rc = fe_set(e, FX_USAGE, "%s: chart %s: version %s is not a SemVer 2 version", ESC(path), ESC(*name),
		    ESC(*version));
end:
	ydoc_free(&d);
	free(buf);
	free(path);
	return rc;
}

/* One member: NAME/rel, its bytes copied from the file (opened without following a
 * link, and checked to be the size the walk saw). */
static int add_member(struct archive *a, const char *root, const char *name, const char *rel, int64_t mtime,
    struct ferr *e)
{
	char *full = xasprintf("%s/%s", root, rel), *member = xasprintf("%s/%s", name, rel), buf[65536];
	struct archive_entry *ent = archive_entry_new();
	struct stat st;
	ssize_t n;
	int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc = FX_OK;

	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = fe_set(e, FX_IO, "%s: %s", ESC(full), fd < 0 ? strerror(errno) : "not a plain file");
		goto end;
	}
	archive_entry_set_pathname(ent, member);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, 0644);
	archive_entry_set_size(ent, st.st_size);
	archive_entry_set_mtime(ent, (time_t)mtime, 0);
	if (archive_write_header(a, ent) != ARCHIVE_OK) {
		rc = fe_set(e, FX_IO, "%s: %s", ESC(member), archive_error_string(a));
		goto end;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (archive_write_data(a, buf, (size_t)n) != n) {
			rc = fe_set(e, FX_IO, "%s: %s", ESC(member), archive_error_string(a));
			goto end;
		}
	if (n < 0)
		rc = fe_set(e, FX_IO, "%s: %s", ESC(full), strerror(errno));
end:
	if (fd >= 0)
		close(fd);
	archive_entry_free(ent);
	free(member);
	free(full);
	return rc;
}

int chart_package_dir(const char *dir, const char *out_dir, int64_t mtime, char **out_path, struct ferr *e)
{
	struct walk w;
	struct archive *a = NULL;
	char *name = NULL, *version = NULL;
	size_t i;
	int rc;

	memset(&w, 0, sizeof(w));
	w.root = dir;
	*out_path = NULL;
	if ((rc = dir_name_version(dir, &name, &version, e)) != FX_OK || (rc = read_ignore(dir, &w.ign, e)) != FX_OK ||
	    (rc = walk_dir(&w, "", 0, e)) != FX_OK)
		goto end;
	qsort(w.files, w.nfiles, sizeof(*w.files), cmp_path);
	*out_path = xasprintf("%s/%s-%s.tgz", out_dir, name, version);
	a = archive_write_new();
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK || archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
	    archive_write_set_options(a, "gzip:!timestamp") != ARCHIVE_OK ||
	    archive_write_open_filename(a, *out_path) != ARCHIVE_OK) {
		rc = fe_set(e, FX_IO, "%s: %s", ESC(*out_path), archive_error_string(a));
		goto end;
	}
	for (i = 0; i < w.nfiles && rc == FX_OK; i++)
		rc = add_member(a, dir, name, w.files[i], mtime, e);
	if (rc == FX_OK && archive_write_close(a) != ARCHIVE_OK)
		rc = fe_set(e, FX_IO, "%s: %s", ESC(*out_path), archive_error_string(a));
end:
	if (a != NULL)
		archive_write_free(a);
	if (rc != FX_OK && *out_path != NULL) {
		unlink(*out_path);
		free(*out_path);
		*out_path = NULL;
	}
	for (i = 0; i < w.nfiles; i++)
		free(w.files[i]);
	free(w.files);
	for (i = 0; i < w.ign.n; i++)
		free(w.ign.patterns[i]);
	free(w.ign.patterns);
	free(w.ign.dir_only);
	free(name);
	free(version);
	return rc;
}
