/* spec.c - BundleSpec parsing: strict, every problem named with file:line:column. */
#include "bundle/spec.h"

#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle/manifest.h"
#include "bundle/sums.h"
#include "util/yamlx.h"

static const char *const top_keys[] = {"apiVersion", "kind", "metadata", "images", "charts", "docs",
    "license", "files", "platforms", NULL};
static const char *const meta_keys[] = {"name", "version", "vendor", "description", "sequence", "expires", NULL};
static const char *const image_keys[] = {"ref", "from", "platforms", "cosign-key", NULL};
static const char *const path_keys[] = {"path", NULL};
static const char *const chart_keys[] = {"path", "prov", "from", NULL};
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

/* A chart's provenance file: prov: as given, else NAME.tgz.prov beside the chart when
 * there is one (as Helm looks for it). */
static int chart_prov(struct ydoc *d, yaml_node_t *it, const struct spec_ctx *c, struct spec_item *si,
    struct ferr *e)
{
	yaml_node_t *n = ymap_get(d, it, "prov");
	struct stat st;
	char *path = NULL;
	int rc = FX_OK;

	if (n == NULL) {
		si->prov = xasprintf("%s.prov", si->src);
		if (lstat(si->prov, &st) != 0) {
			free(si->prov);
			si->prov = NULL;
			return FX_OK;
		}
		n = ymap_get(d, it, "path");
	} else if ((rc = ymap_str(d, it, "prov", 1, &path, e)) == FX_OK) {
		si->prov = resolve(c->dir, path);
	}
	if (rc == FX_OK && (rc = check_file(d, n, si->prov, e)) == FX_OK)
		rc = check_inside(c, d, n, si->prov, e);
	free(path);
	return rc;
}

/* A chart given as its directory (from: DIR), packed as helm package does when the
 * bundle is built; its entry name is known only then. */
static int chart_from(struct ydoc *d, yaml_node_t *it, const struct spec_ctx *c, struct spec_item *si,
    struct ferr *e)
{
	yaml_node_t *n = ymap_get(d, it, "from");
	struct stat st;
	char *from = NULL, *prov = NULL;
	int rc;

	si->where = xstrdup(ydoc_where(d, it));
	if ((rc = ymap_str(d, it, "from", 1, &from, e)) != FX_OK)
		goto end;
	if (ymap_get(d, it, "path") != NULL) {
		rc = fe_set(e, FX_USAGE, "%s: a chart has path: or from:, not both", ydoc_where(d, n));
		goto end;
	}
	if (strncmp(from, "oci://", 6) == 0) {
		si->src = xstrdup(from); /* pulled when the bundle is built */
		si->chart_oci = 1;
		goto prov;
	}
	si->src = resolve(c->dir, from);
	si->chart_dir = 1;
	if (stat(si->src, &st) != 0) {
		rc = fe_set(e, FX_USAGE, "%s: %s: %s", ydoc_where(d, n), ESC(si->src), strerror(errno));
		goto end;
	}
	if (!S_ISDIR(st.st_mode)) {
		rc = fe_set(e, FX_USAGE, "%s: %s: not a directory (from: takes a chart directory; a .tgz goes in path:)",
		    ydoc_where(d, n), ESC(si->src));
		goto end;
	}
	if ((rc = check_inside(c, d, n, si->src, e)) != FX_OK)
		goto end;
prov:
	if (ymap_get(d, it, "prov") != NULL && (rc = ymap_str(d, it, "prov", 1, &prov, e)) == FX_OK) {
		si->prov = resolve(c->dir, prov);
		if ((rc = check_file(d, ymap_get(d, it, "prov"), si->prov, e)) == FX_OK)
			rc = check_inside(c, d, ymap_get(d, it, "prov"), si->prov, e);
	}
end:
	free(from);
	free(prov);
	return rc;
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

		if (keys == chart_keys && ymap_get(d, it, "from") != NULL) {
			if ((rc = ymap_check(d, it, key, keys, e)) != FX_OK || (rc = chart_from(d, it, c, si, e)) != FX_OK)
				return rc;
			continue;
		}
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
		    (rc = check_inside(c, d, ymap_get(d, it, "path"), si->src, e)) != FX_OK ||
		    (keys == chart_keys && (rc = chart_prov(d, it, c, si, e)) != FX_OK))
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
					size_t lx, ly;
					if (x == NULL || y == NULL)
						continue; /* a chart directory: named once packed */
					lx = strlen(x);
					ly = strlen(y);
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

/* An image's cosign-key: a public key file, inside the spec's directory like every path. */
static int image_cosign_key(struct ydoc *d, yaml_node_t *it, const struct spec_ctx *c, struct spec_image *im,
    struct ferr *e)
{
	yaml_node_t *n = ymap_get(d, it, "cosign-key");
	char *key = NULL;
	int rc;

	if (n == NULL)
		return FX_OK;
	if ((rc = ymap_str(d, it, "cosign-key", 1, &key, e)) != FX_OK)
		return rc;
	im->cosign_key = resolve(c->dir, key);
	free(key);
	if ((rc = check_file(d, n, im->cosign_key, e)) != FX_OK)
		return rc;
	return check_inside(c, d, n, im->cosign_key, e);
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
		if ((rc = image_cosign_key(d, it, c, im, e)) != FX_OK) {
			free(from);
			goto end;
		}
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
	    (rc = parse_items(&d, root, "charts", "charts", chart_keys, &c, &s->charts, &s->ncharts, e)) != FX_OK ||
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
		free(v[i].prov);
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
		free(s->images[i].cosign_key);
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
