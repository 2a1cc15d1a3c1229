/* spec.c - BundleSpec parsing: strict, every problem named with file:line:column. */
#include "bundle/spec.h"

#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

#include "bundle/manifest.h"
#include "bundle/sums.h"
#include "util/yamlx.h"

static const char *const top_keys[] = {"apiVersion", "kind", "metadata", "images", "charts", "docs",
    "license", "files", "platforms", NULL};
static const char *const meta_keys[] = {"name", "version", "vendor", "description", "sequence", "expires", NULL};
static const char *const image_keys[] = {"ref", "from", "platforms", NULL};
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

/* Where the spec's paths are resolved, and whether they may leave its directory. */
struct spec_ctx {
	const char *dir;     /* the spec's directory, as given */
	char *real_dir;      /* the same with every link resolved */
	int allow_outside;
};

static char *resolve(const char *dir, const char *p)
{
	if (p[0] == '/')
		return xstrdup(p);
	return xasprintf("%s/%s", dir, p);
}

/* A path of the spec must lead (after every link is resolved) inside the spec's
 * directory: a spec from elsewhere cannot pull /etc/passwd or ~/.ssh into a signed
 * bundle unless the caller says so. src must exist. */
static int check_inside(const struct spec_ctx *c, struct ydoc *d, yaml_node_t *n, const char *src, struct ferr *e)
{
	char *real = c->allow_outside ? NULL : realpath(src, NULL);
	size_t l = c->real_dir != NULL ? strlen(c->real_dir) : 0;
	int rc = FX_OK;

	if (c->allow_outside)
		return FX_OK;
	if (real == NULL || c->real_dir == NULL)
		rc = fe_set(e, FX_USAGE, "%s: %s: %s", ydoc_where(d, n), ESC(src), strerror(errno));
	else if (!(strncmp(real, c->real_dir, l) == 0 && (real[l] == '/' || (l == 1 && real[0] == '/'))))
		rc = fe_set(e, FX_USAGE, "%s: %s is outside the spec's directory (it resolves to %s); "
		    "--allow-outside-paths packs it anyway", ydoc_where(d, n), ESC(src), ESC(real));
	free(real);
	return rc;
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
    const char *const *keys, const struct spec_ctx *c, struct spec_item **out, size_t *count, struct ferr *e)
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
		si->src = resolve(c->dir, path);
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
		if ((rc = check_file(d, ymap_get(d, it, "path"), si->src, e)) != FX_OK ||
		    (rc = check_inside(c, d, ymap_get(d, it, "path"), si->src, e)) != FX_OK)
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

/* The path part of an image's from: the whole, or what comes before a ":TAG" (as the
 * image reader splits it); NULL when nothing of it exists (the reader says so). */
static char *from_path(const char *from)
{
	struct stat st;
	const char *c;

	if (stat(from, &st) == 0)
		return xstrdup(from);
	for (c = strchr(from, ':'); c != NULL; c = strchr(c + 1, ':')) {
		char *p = xstrndup(from, (size_t)(c - from));
		if (c != from && c[1] != '\0' && stat(p, &st) == 0)
			return p;
		free(p);
	}
	return NULL;
}

/* platforms: [os/arch[/variant], ...] of map (the spec, or one image). */
static int parse_platforms(struct ydoc *d, yaml_node_t *map, char ***v, size_t *n, struct ferr *e)
{
	yaml_node_t *list = ymap_get(d, map, "platforms");
	size_t i, slashes;
	int rc;

	if ((rc = ynode_strv(d, list, "platforms", v, n, e)) != FX_OK)
		return rc;
	if (list != NULL && *n == 0)
		return fe_set(e, FX_USAGE, "%s: 'platforms' lists none", ydoc_where(d, list));
	for (i = 0; i < *n; i++) {
		const char *p = (*v)[i];
		slashes = 0;
		for (; *p != '\0' && (strchr("abcdefghijklmnopqrstuvwxyz0123456789_.-", *p) != NULL || *p == '/'); p++)
			slashes += *p == '/';
		if (*p != '\0' || (slashes != 1 && slashes != 2) || (*v)[i][0] == '/' || p[-1] == '/' ||
		    strstr((*v)[i], "//") != NULL)
			return fe_set(e, FX_USAGE, "%s: platform '%s': expected OS/ARCH[/VARIANT] (linux/arm64)",
			    ydoc_where(d, list), ESC((*v)[i]));
	}
	return FX_OK;
}

static int parse_images(struct ydoc *d, yaml_node_t *root, const struct spec_ctx *c, struct spec *s,
    struct ferr *e)
{
	yaml_node_item_t *items;
	char **all = NULL;
	size_t n, i, j, nall = 0;
	int rc;

	if ((rc = parse_platforms(d, root, &all, &nall, e)) != FX_OK ||
	    (rc = ymap_seq(d, root, "images", &items, &n, e)) != FX_OK)
		goto end;
	s->images = xcalloc(n, sizeof(*s->images));
	for (i = 0; i < n; i++) {
		yaml_node_t *it = yaml_document_get_node(&d->doc, items[i]);
		struct spec_image *im = &s->images[s->nimages++];
		char *from = NULL, *path;

		if ((rc = ymap_check(d, it, "images", image_keys, e)) != FX_OK ||
		    (rc = ymap_str(d, it, "ref", 1, &im->ref, e)) != FX_OK ||
		    (rc = ymap_str(d, it, "from", 0, &from, e)) != FX_OK ||
		    (rc = parse_platforms(d, it, &im->platforms, &im->nplatforms, e)) != FX_OK) {
			free(from);
			goto end;
		}
		im->where = xstrdup(ydoc_where(d, it));
		if (im->platforms != NULL && from != NULL && strncmp(from, "registry://", 11) != 0) {
			rc = fe_set(e, FX_USAGE, "%s: platforms: only for images pulled from a registry", im->where);
			free(from);
			goto end;
		}
		if (im->platforms == NULL && nall > 0 && (from == NULL || strncmp(from, "registry://", 11) == 0)) {
			im->platforms = xcalloc(nall + 1, sizeof(char *));
			for (j = 0; j < nall; j++)
				im->platforms[j] = xstrdup(all[j]);
			im->nplatforms = nall;
		}
		if (from == NULL) /* pulled from the registry its ref names */
			continue;
		if (strncmp(from, "docker-daemon:", 14) == 0 || strncmp(from, "registry://", 11) == 0)
			im->from = xstrdup(from); /* not a path */
		else
			im->from = resolve(c->dir, from);
		path = strncmp(from, "docker-daemon:", 14) != 0 &&
		    strncmp(from, "registry://", 11) != 0 ? from_path(im->from) : NULL;
		free(from);
		if (path != NULL)
			rc = check_inside(c, d, ymap_get(d, it, "from"), path, e);
		free(path);
		if (rc != FX_OK)
			goto end;
	}
end:
	for (i = 0; i < nall; i++)
		free(all[i]);
	free(all);
	return rc;
}

static int parse_metadata(struct ydoc *d, yaml_node_t *root, struct spec *s, struct ferr *e)
{
	yaml_node_t *md = ymap_get(d, root, "metadata");
	int rc;

	if (md == NULL)
		return fe_set(e, FX_USAGE, "%s: missing 'metadata'", ydoc_where(d, root));
	if ((rc = ymap_check(d, md, "metadata", meta_keys, e)) != FX_OK ||
	    (rc = ymap_str(d, md, "name", 1, &s->name, e)) != FX_OK ||
	    (rc = ymap_str(d, md, "version", 1, &s->version, e)) != FX_OK ||
	    (rc = ymap_str(d, md, "vendor", 0, &s->vendor, e)) != FX_OK ||
	    (rc = ymap_str(d, md, "description", 0, &s->description, e)) != FX_OK ||
	    (rc = ymap_u64(d, md, "sequence", 0, &s->sequence, &s->has_sequence, e)) != FX_OK ||
	    (rc = ymap_str(d, md, "expires", 0, &s->expires, e)) != FX_OK)
		return rc;
	if (s->sequence > MAN_SEQUENCE_MAX)
		return fe_set(e, FX_USAGE, "%s: 'sequence' is larger than %" PRIu64, ydoc_where(d, ymap_get(d, md, "sequence")),
		    MAN_SEQUENCE_MAX);
	if (s->expires != NULL)
		s->expires_where = xstrdup(ydoc_where(d, ymap_get(d, md, "expires")));
	if (!filename_safe(s->name) || !filename_safe(s->version))
		return fe_set(e, FX_USAGE, "%s: name and version may hold only letters, digits, '.', '-', '_', '+'",
		    ydoc_where(d, md));
	return FX_OK;
}

int spec_load(const char *path, int allow_outside, struct spec *s, struct ferr *e)
{
	struct ydoc d;
	struct spec_ctx c;
	yaml_node_t *root;
	char *buf = NULL, *api = NULL, *kind = NULL, *tmp = NULL;
	size_t len;
	int rc;

	memset(s, 0, sizeof(*s));
	memset(&d, 0, sizeof(d));
	memset(&c, 0, sizeof(c));
	s->path = xstrdup(path);
	if ((rc = read_file_max(path, 16u << 20, &buf, &len, e)) != FX_OK) {
		e->code = rc = FX_USAGE;
		goto end;
	}
	tmp = xstrdup(path);
	c.dir = dirname(tmp);
	c.real_dir = realpath(c.dir, NULL);
	c.allow_outside = allow_outside;
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
	if ((rc = parse_metadata(&d, root, s, e)) != FX_OK || (rc = parse_images(&d, root, &c, s, e)) != FX_OK ||
	    (rc = parse_items(&d, root, "license", "license", path_keys, &c, &s->licenses, &s->nlicenses, e)) != FX_OK ||
	    (rc = parse_items(&d, root, "docs", "docs", doc_keys, &c, &s->docs, &s->ndocs, e)) != FX_OK ||
	    (rc = parse_items(&d, root, "charts", "charts", path_keys, &c, &s->charts, &s->ncharts, e)) != FX_OK ||
	    (rc = parse_items(&d, root, "files", "files", file_keys, &c, &s->files, &s->nfiles, e)) != FX_OK ||
	    (rc = check_duplicates(s, e)) != FX_OK)
		goto end;
	if (s->nimages + s->nlicenses + s->ndocs + s->ncharts + s->nfiles == 0)
		rc = fe_set(e, FX_USAGE, "%s: the spec lists nothing to pack", ESC(path));
end:
	ydoc_free(&d);
	free(api);
	free(kind);
	free(c.real_dir);
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
	size_t i, j;

	free(s->path);
	free(s->name);
	free(s->version);
	free(s->vendor);
	free(s->description);
	free(s->expires);
	free(s->expires_where);
	for (i = 0; i < s->nimages; i++) {
		free(s->images[i].ref);
		free(s->images[i].from);
		free(s->images[i].where);
		free(s->images[i].locked);
		for (j = 0; j < s->images[i].nplatforms; j++)
			free(s->images[i].platforms[j]);
		free(s->images[i].platforms);
	}
	free(s->images);
	free_items(s->licenses, s->nlicenses);
	free_items(s->docs, s->ndocs);
	free_items(s->charts, s->ncharts);
	free_items(s->files, s->nfiles);
	memset(s, 0, sizeof(*s));
}

/* Helm's rule for chart names: lower-case letters, digits and '-', beginning and ending
 * with a letter or a digit. */
static int chart_name_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 250 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

/* One dot-separated identifier of a SemVer pre-release (numeric: no leading zero) or
 * build (any) part; *p is moved past it. */
static int semver_ident(const char **p, int numeric_rule)
{
	const char *s = *p;
	int digits_only = 1;

	while ((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '-') {
		digits_only &= *s >= '0' && *s <= '9';
		s++;
	}
	if (s == *p || (numeric_rule && digits_only && s - *p > 1 && **p == '0'))
		return 0;
	*p = s;
	return 1;
}

/* Semantic Versioning 2.0.0: MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]. */
static int semver_ok(const char *v)
{
	const char *p = v;
	int part;

	if (strlen(v) > 128)
		return 0;
	for (part = 0; part < 3; part++) {
		const char *start = p;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p == start || (p - start > 1 && *start == '0') || (part < 2 && *p++ != '.'))
			return 0;
	}
	if (*p == '-')
		do
			p++;
		while (semver_ident(&p, 1) && *p == '.');
	if (*p == '+')
		do
			p++;
		while (semver_ident(&p, 0) && *p == '.');
	return *p == '\0' && p[-1] != '.' && p[-1] != '-' && p[-1] != '+';
}

/* A member of a chart archive: a plain file or directory under a safe relative name. */
static int chart_member_check(const char *path, struct archive_entry *ent, struct ferr *e)
{
	const char *raw = archive_entry_pathname(ent), *why;
	char *name = NULL;
	size_t l;
	int rc = FX_OK;

	if (raw == NULL)
		return fe_set(e, FX_USAGE, "%s: a member name is not readable", ESC(path));
	while (strncmp(raw, "./", 2) == 0)
		raw += 2;
	name = xstrdup(raw);
	l = strlen(name);
	while (l > 0 && name[l - 1] == '/')
		name[--l] = '\0';
	if ((why = entry_name_problem(name)) != NULL)
		rc = fe_set(e, FX_USAGE, "%s: member %s: %s", ESC(path), ESC(archive_entry_pathname(ent)), why);
	else if (archive_entry_hardlink(ent) != NULL ||
	    (archive_entry_filetype(ent) != AE_IFREG && archive_entry_filetype(ent) != AE_IFDIR))
		rc = fe_set(e, FX_USAGE, "%s: member %s: not a plain file or directory", ESC(path), ESC(name));
	free(name);
	return rc;
}

/* Reads <chart>/Chart.yaml (the current member) for its name and version. */
static int chart_yaml(const char *path, struct archive *a, struct archive_entry *ent, char **name,
    char **version, struct ferr *e)
{
	struct ydoc d;
	la_int64_t size = archive_entry_size(ent);
	char *buf = NULL, *where = NULL;
	int rc;

	memset(&d, 0, sizeof(d));
	if (size < 0 || size > (1 << 20)) {
		rc = fe_set(e, FX_USAGE, "%s: Chart.yaml too large", ESC(path));
		goto end;
	}
	buf = xmalloc((size_t)size + 1);
	if (archive_read_data(a, buf, (size_t)size) != size) {
		rc = fe_set(e, FX_USAGE, "%s: Chart.yaml unreadable", ESC(path));
		goto end;
	}
	buf[size] = '\0';
	where = xasprintf("%s: %s", path, archive_entry_pathname(ent));
	if ((rc = ydoc_load(&d, buf, (size_t)size, where, FX_USAGE, e)) != FX_OK ||
	    (rc = ymap_check(&d, ydoc_root(&d), "Chart.yaml", NULL, e)) != FX_OK ||
	    (rc = ymap_str(&d, ydoc_root(&d), "name", 1, name, e)) != FX_OK ||
	    (rc = ymap_str(&d, ydoc_root(&d), "version", 1, version, e)) != FX_OK)
		goto end;
	if (!chart_name_ok(*name))
		rc = fe_set(e, FX_USAGE, "%s: chart name %s: Helm allows only lower-case letters, digits and '-'",
		    ESC(where), ESC(*name));
	else if (!semver_ok(*version))
		rc = fe_set(e, FX_USAGE, "%s: chart %s: version %s is not a SemVer 2 version (MAJOR.MINOR.PATCH)",
		    ESC(where), ESC(*name), ESC(*version));
end:
	ydoc_free(&d);
	free(where);
	free(buf);
	return rc;
}

int chart_read(const char *path, char **name, char **version, struct ferr *e)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ent;
	int rc = FX_OK, r, found = 0;

	*name = *version = NULL;
	archive_read_support_format_tar(a);
	archive_read_support_filter_gzip(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		rc = fe_set(e, FX_USAGE, "%s: not a Helm chart archive: %s", ESC(path), archive_error_string(a));
		goto end;
	}
	/* every member is checked, not only those before Chart.yaml */
	while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
		const char *n = archive_entry_pathname(ent), *slash;

		if ((rc = chart_member_check(path, ent, e)) != FX_OK)
			goto end;
		/* the chart's own Chart.yaml is at <chart>/Chart.yaml (not in charts/ sub-charts) */
		if (found || (slash = strchr(n, '/')) == NULL || strcmp(slash + 1, "Chart.yaml") != 0)
			continue;
		if ((rc = chart_yaml(path, a, ent, name, version, e)) != FX_OK)
			goto end;
		found = 1;
	}
	if (r != ARCHIVE_EOF)
		rc = fe_set(e, FX_USAGE, "%s: not a Helm chart archive: %s", ESC(path),
		    archive_error_string(a) ? archive_error_string(a) : "read error");
	else if (!found)
		rc = fe_set(e, FX_USAGE, "%s: not a Helm chart archive (no <name>/Chart.yaml)", ESC(path));
end:
	archive_read_free(a);
	if (rc != FX_OK) {
		free(*name);
		free(*version);
		*name = *version = NULL;
	}
	return rc;
}
