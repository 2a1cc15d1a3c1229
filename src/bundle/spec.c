/* spec.c - BundleSpec parsing: strict, every problem named with file:line:column. */
#include "bundle/spec.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

#include "bundle/sums.h"
#include "util/yamlx.h"

static const char *const top_keys[] = {"apiVersion", "kind", "metadata", "images", "charts", "docs",
    "license", "files", NULL};
static const char *const meta_keys[] = {"name", "version", "vendor", "description", NULL};
static const char *const image_keys[] = {"ref", "from", NULL};
static const char *const path_keys[] = {"path", NULL};
static const char *const doc_keys[] = {"path", "title", "dest", NULL};
static const char *const file_keys[] = {"path", "dest", NULL};

/* Names that end up in a file name (NAME-VERSION.ferry): a conservative alphabet. */
static int filename_safe(const char *s)
{
	const char *p;

	if (*s == '\0' || *s == '.' || *s == '-' || strlen(s) > 128)
		return 0;
	for (p = s; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '.' || *p == '-' || *p == '_' || *p == '+'))
			return 0;
	return 1;
}

static char *resolve(const char *dir, const char *p)
{
	if (p[0] == '/')
		return xstrdup(p);
	return xasprintf("%s/%s", dir, p);
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s != NULL ? s + 1 : p;
}

static int check_file(struct ydoc *d, yaml_node_t *n, const char *src, struct ferr *e)
{
	struct stat st;

	if (stat(src, &st) != 0)
		return fe_set(e, FX_USAGE, "%s: %s: %s", ydoc_where(d, n), ESC(src), strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fe_set(e, FX_USAGE, "%s: %s: not a regular file", ydoc_where(d, n), ESC(src));
	return FX_OK;
}

/* Parses one list of path items; prefix is the bundle directory ("docs"). */
static int parse_items(struct ydoc *d, yaml_node_t *root, const char *key, const char *prefix,
    const char *const *keys, const char *dir, struct spec_item **out, size_t *count, struct ferr *e)
{
	yaml_node_item_t *items;
	size_t n, i;
	int rc;

	if ((rc = ymap_seq(d, root, key, &items, &n, e)) != FX_OK)
		return rc;
	*out = xcalloc(n, sizeof(**out));
	for (i = 0; i < n; i++) {
		yaml_node_t *it = yaml_document_get_node(&d->doc, items[i]);
		struct spec_item *si = &(*out)[(*count)++];
		char *path = NULL, *dest = NULL;
		const char *why;

		if ((rc = ymap_check(d, it, key, keys, e)) != FX_OK ||
		    (rc = ymap_str(d, it, "path", 1, &path, e)) != FX_OK)
			return rc;
		si->where = xstrdup(ydoc_where(d, it));
		si->src = resolve(dir, path);
		if (ymap_get(d, it, "dest") != NULL && (rc = ymap_str(d, it, "dest", 1, &dest, e)) != FX_OK) {
			free(path);
			return rc;
		}
		si->dest = xasprintf("%s/%s", prefix, dest != NULL ? dest : base_name(path));
		if (ymap_get(d, it, "title") != NULL && (rc = ymap_str(d, it, "title", 0, &si->title, e)) != FX_OK) {
			free(path);
			free(dest);
			return rc;
		}
		free(path);
		free(dest);
		if ((why = entry_name_problem(si->dest)) != NULL)
			return fe_set(e, FX_USAGE, "%s: bundle path %s: %s", si->where, ESC(si->dest), why);
		if ((rc = check_file(d, ymap_get(d, it, "path"), si->src, e)) != FX_OK)
			return rc;
	}
	return FX_OK;
}

static int check_duplicates(struct spec *s, struct ferr *e)
{
	struct spec_item *lists[4] = {s->licenses, s->docs, s->charts, s->files};
	size_t counts[4] = {s->nlicenses, s->ndocs, s->ncharts, s->nfiles};
	size_t a, i, b, j;

	for (a = 0; a < 4; a++)
		for (i = 0; i < counts[a]; i++)
			for (b = a; b < 4; b++)
				for (j = (b == a ? i + 1 : 0); j < counts[b]; j++) {
					const char *x = lists[a][i].dest, *y = lists[b][j].dest;
					size_t lx = strlen(x), ly = strlen(y);
					/* the same name, or one a directory of the other: tar cannot hold both */
					if (strcmp(x, y) == 0 || (lx < ly && strncmp(x, y, lx) == 0 && y[lx] == '/') ||
					    (ly < lx && strncmp(x, y, ly) == 0 && x[ly] == '/'))
						return fe_set(e, FX_USAGE, "%s: %s: duplicate bundle path (also at %s)",
						    lists[b][j].where, ESC(y), lists[a][i].where);
				}
	return FX_OK;
}

int spec_load(const char *path, struct spec *s, struct ferr *e)
{
	struct ydoc d;
	yaml_node_t *root, *md;
	yaml_node_item_t *items;
	char *buf = NULL, *api = NULL, *kind = NULL, *tmp = NULL, *dir;
	size_t len, n, i;
	int rc;

	memset(s, 0, sizeof(*s));
	memset(&d, 0, sizeof(d));
	s->path = xstrdup(path);
	if ((rc = read_file_max(path, 16u << 20, &buf, &len, e)) != FX_OK) {
		e->code = rc = FX_USAGE;
		goto end;
	}
	tmp = xstrdup(path);
	dir = dirname(tmp);
	if ((rc = ydoc_load(&d, buf, len, path, FX_USAGE, e)) != FX_OK)
		goto end;
	root = ydoc_root(&d);
	if ((rc = ymap_check(&d, root, "spec", top_keys, e)) != FX_OK ||
	    (rc = ymap_str(&d, root, "apiVersion", 1, &api, e)) != FX_OK ||
	    (rc = ymap_str(&d, root, "kind", 1, &kind, e)) != FX_OK)
		goto end;
	if (strcmp(api, "ferry/v1") != 0) {
		rc = fe_set(e, FX_USAGE, "%s: apiVersion must be ferry/v1, not '%s'",
		    ydoc_where(&d, ymap_get(&d, root, "apiVersion")), ESC(api));
		goto end;
	}
	if (strcmp(kind, "BundleSpec") != 0) {
		rc = fe_set(e, FX_USAGE, "%s: kind must be BundleSpec, not '%s'",
		    ydoc_where(&d, ymap_get(&d, root, "kind")), ESC(kind));
		goto end;
	}
	md = ymap_get(&d, root, "metadata");
	if (md == NULL) {
		rc = fe_set(e, FX_USAGE, "%s: missing 'metadata'", ydoc_where(&d, root));
		goto end;
	}
	if ((rc = ymap_check(&d, md, "metadata", meta_keys, e)) != FX_OK ||
	    (rc = ymap_str(&d, md, "name", 1, &s->name, e)) != FX_OK ||
	    (rc = ymap_str(&d, md, "version", 1, &s->version, e)) != FX_OK ||
	    (rc = ymap_str(&d, md, "vendor", 0, &s->vendor, e)) != FX_OK ||
	    (rc = ymap_str(&d, md, "description", 0, &s->description, e)) != FX_OK)
		goto end;
	if (!filename_safe(s->name) || !filename_safe(s->version)) {
		rc = fe_set(e, FX_USAGE, "%s: name and version may hold only letters, digits, '.', '-', '_', '+'",
		    ydoc_where(&d, md));
		goto end;
	}

	if ((rc = ymap_seq(&d, root, "images", &items, &n, e)) != FX_OK)
		goto end;
	s->images = xcalloc(n, sizeof(*s->images));
	for (i = 0; i < n; i++) {
		yaml_node_t *it = yaml_document_get_node(&d.doc, items[i]);
		struct spec_image *im = &s->images[s->nimages++];
		char *from = NULL;

		if ((rc = ymap_check(&d, it, "images", image_keys, e)) != FX_OK ||
		    (rc = ymap_str(&d, it, "ref", 1, &im->ref, e)) != FX_OK ||
		    (rc = ymap_str(&d, it, "from", 1, &from, e)) != FX_OK)
			goto end;
		im->where = xstrdup(ydoc_where(&d, it));
		im->from = strncmp(from, "docker-daemon:", 14) == 0 ? xstrdup(from) : resolve(dir, from);
		free(from);
	}
	if ((rc = parse_items(&d, root, "license", "license", path_keys, dir, &s->licenses, &s->nlicenses, e)) != FX_OK ||
	    (rc = parse_items(&d, root, "docs", "docs", doc_keys, dir, &s->docs, &s->ndocs, e)) != FX_OK ||
	    (rc = parse_items(&d, root, "charts", "charts", path_keys, dir, &s->charts, &s->ncharts, e)) != FX_OK ||
	    (rc = parse_items(&d, root, "files", "files", file_keys, dir, &s->files, &s->nfiles, e)) != FX_OK)
		goto end;
	if ((rc = check_duplicates(s, e)) != FX_OK)
		goto end;
	if (s->nimages + s->nlicenses + s->ndocs + s->ncharts + s->nfiles == 0)
		rc = fe_set(e, FX_USAGE, "%s: the spec lists nothing to pack", ESC(path));
end:
	ydoc_free(&d);
	free(api);
	free(kind);
	free(tmp);
	free(buf);
	if (rc != FX_OK)
		spec_free(s);
	return rc;
}

static void free_items(struct spec_item *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].src);
		free(v[i].dest);
		free(v[i].title);
		free(v[i].where);
	}
	free(v);
}

void spec_free(struct spec *s)
{
	size_t i;

	free(s->path);
	free(s->name);
	free(s->version);
	free(s->vendor);
	free(s->description);
	for (i = 0; i < s->nimages; i++) {
		free(s->images[i].ref);
		free(s->images[i].from);
		free(s->images[i].where);
	}
	free(s->images);
	free_items(s->licenses, s->nlicenses);
	free_items(s->docs, s->ndocs);
	free_items(s->charts, s->ncharts);
	free_items(s->files, s->nfiles);
	memset(s, 0, sizeof(*s));
}

int chart_read(const char *path, char **name, char **version, struct ferr *e)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ent;
	struct ydoc d;
	char *buf = NULL, *where = NULL;
	int rc = FX_OK, found = 0;

	memset(&d, 0, sizeof(d));
	*name = *version = NULL;
	archive_read_support_format_tar(a);
	archive_read_support_filter_gzip(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		rc = fe_set(e, FX_USAGE, "%s: not a Helm chart archive: %s", ESC(path), archive_error_string(a));
		goto end;
	}
	while (archive_read_next_header(a, &ent) == ARCHIVE_OK) {
		const char *n = archive_entry_pathname(ent), *slash;
		la_int64_t size = archive_entry_size(ent);
		la_ssize_t got;

		/* the chart's own Chart.yaml is at <chart>/Chart.yaml (not in charts/ sub-charts) */
		if (n == NULL || (slash = strchr(n, '/')) == NULL || strcmp(slash + 1, "Chart.yaml") != 0)
			continue;
		if (size < 0 || size > (1 << 20)) {
			rc = fe_set(e, FX_USAGE, "%s: Chart.yaml too large", ESC(path));
			goto end;
		}
		buf = xmalloc((size_t)size + 1);
		got = archive_read_data(a, buf, (size_t)size);
		if (got != size) {
			rc = fe_set(e, FX_USAGE, "%s: Chart.yaml unreadable", ESC(path));
			goto end;
		}
		buf[size] = '\0';
		where = xasprintf("%s: %s", path, n);
		if ((rc = ydoc_load(&d, buf, (size_t)size, where, FX_USAGE, e)) != FX_OK ||
		    (rc = ymap_check(&d, ydoc_root(&d), "Chart.yaml", NULL, e)) != FX_OK ||
		    (rc = ymap_str(&d, ydoc_root(&d), "name", 1, name, e)) != FX_OK ||
		    (rc = ymap_str(&d, ydoc_root(&d), "version", 1, version, e)) != FX_OK)
			goto end;
		found = 1;
		break;
	}
	if (!found)
		rc = fe_set(e, FX_USAGE, "%s: not a Helm chart archive (no <name>/Chart.yaml)", ESC(path));
end:
	ydoc_free(&d);
	free(where);
	free(buf);
	archive_read_free(a);
	if (rc != FX_OK) {
		free(*name);
		free(*version);
		*name = *version = NULL;
	}
	return rc;
}
