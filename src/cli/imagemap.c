/* imagemap.c - the image map (see imagemap.h): computed from bundle.yaml and the --to
 * texts by the same naming rules the targets use, filled by the targets' reports after
 * a load, written as JSON or YAML, and read back (as untrusted input) by rewrite. */
#include "cli/imagemap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "net/ref.h"
#include "net/registry.h"
#include "net/repo_name.h"
#include "util/digest.h"
#include "util/file.h"
#include "util/yamlx.h"

#define IMAP_API "ferry/v1"
#define IMAP_KIND "ImageMap"
#define IMAP_ENTRIES_MAX 100000
#define IMAP_STR_MAX 4096

int imap_kind_of(const char *target)
{
	if (strncmp(target, "registry://", 11) == 0)
		return IMAP_REGISTRY;
	if (strncmp(target, "oci:", 4) == 0)
		return IMAP_OCI;
	if (strncmp(target, "docker://", 9) == 0)
		return IMAP_DOCKER;
	return -1;
}

char *imap_landed(const char *target, int keep_host, const struct man_image *mi)
{
	struct reg_target t;
	struct image_ref r;
	struct ferr ref_err = {0, ""};
	char repo[REPO_NAME_MAX], tag[REPO_TAG_MAX];
	char *out;

	switch (imap_kind_of(target)) {
	case IMAP_REGISTRY:
		if (reg_parse_target(target, &t) != 0 || reg_repo_name(mi->ref, t.prefix, keep_host, repo, tag) != 0)
			return NULL;
		if (tag[0] != '\0')
			return xasprintf("%s/%s:%s", t.hostport, repo, tag);
		return digest_valid(mi->digest) ? xasprintf("%s/%s@%s", t.hostport, repo, mi->digest) : NULL;
	case IMAP_OCI:
		return xasprintf("%s:%s", target, mi->ref);
	case IMAP_DOCKER:
		/* the daemon is given the reference as the bundle writes it, without a digest;
		 * an image with no tag is loaded untagged and has no name there */
		if (ref_parse(mi->ref, &r, &ref_err) != FX_OK || r.tag[0] == '\0')
			return NULL;
		out = xstrdup(mi->ref);
		out[strcspn(out, "@")] = '\0';
		return out;
	default:
		return NULL;
	}
}

void imap_add(struct imap *m, const char *target, const struct man_image *mi)
{
	char *landed = imap_landed(target, m->keep_registry_host, mi);
	struct imap_entry *en;

	if (landed == NULL)
		return;
	m->v = xreallocarray(m->v, m->n + 1, sizeof(*m->v));
	en = &m->v[m->n++];
	en->source = xstrdup(mi->ref);
	en->target = xstrdup(target);
	en->reference = landed;
	en->digest = xstrdup(mi->digest);
	en->kind = (enum imap_kind)imap_kind_of(target);
}

static void set_bundle(struct imap *m, const struct manifest *man)
{
	if (m->bundle_name != NULL || man == NULL)
		return;
	m->bundle_name = xstrdup_or_null(man->name);
	m->bundle_version = xstrdup_or_null(man->version);
}

int imap_plan(struct imap *m, const struct manifest *man, const struct sums *sums, const struct load_opts *lo,
    struct ferr *e)
{
	struct target_plan plan;
	size_t i, j;
	int rc;

	m->keep_registry_host = lo->keep_registry_host;
	set_bundle(m, man);
	/* the plan the load builds: the same selection, the same unusable images */
	if ((rc = target_plan_build(&plan, man, sums, lo->images, lo->nimages, e)) != FX_OK)
		return rc;
	for (j = 0; j < lo->ntargets; j++)
		for (i = 0; i < plan.nimages; i++)
			if (!plan.images[i].unusable)
				imap_add(m, lo->targets[j], plan.images[i].mi);
	target_plan_free(&plan);
	return FX_OK;
}

/* ---- writing */

static int format_json(const struct imap *m, char **out, size_t *len, struct ferr *e)
{
	json_t *root = json_object(), *arr = json_array();
	char *text;
	size_t i;

	json_object_set_new(root, "apiVersion", json_string(IMAP_API));
	json_object_set_new(root, "kind", json_string(IMAP_KIND));
	if (m->bundle_name != NULL || m->bundle_version != NULL) {
		json_t *b = json_object();

		if (m->bundle_name != NULL)
			json_object_set_new(b, "name", json_string(m->bundle_name));
		if (m->bundle_version != NULL)
			json_object_set_new(b, "version", json_string(m->bundle_version));
		json_object_set_new(root, "bundle", b);
	}
	for (i = 0; i < m->n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}", "source", m->v[i].source, "target",
		    m->v[i].target, "reference", m->v[i].reference, "digest", m->v[i].digest));
	json_object_set_new(root, "images", arr);
	text = json_dumps(root, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	json_decref(root);
	if (text == NULL)
		return fe_set(e, FX_IO, "image map: out of memory");
	*out = xasprintf("%s\n", text);
	*len = strlen(*out);
	free(text);
	return FX_OK;
}

static int format_yaml(const struct imap *m, char **out, size_t *len, struct ferr *e)
{
	struct yout y;
	size_t i;

	yout_begin(&y);
	yout_map_start(&y, 0);
	yout_kv(&y, "apiVersion", IMAP_API);
	yout_kv(&y, "kind", IMAP_KIND);
	if (m->bundle_name != NULL || m->bundle_version != NULL) {
		yout_key(&y, "bundle");
		yout_map_start(&y, 0);
		yout_kv(&y, "name", m->bundle_name);
		yout_kv(&y, "version", m->bundle_version);
		yout_map_end(&y);
	}
	yout_key(&y, "images");
	yout_seq_start(&y, m->n == 0);
	for (i = 0; i < m->n; i++) {
		yout_map_start(&y, 0);
		yout_kv(&y, "source", m->v[i].source);
		yout_kv(&y, "target", m->v[i].target);
		yout_kv(&y, "reference", m->v[i].reference);
		yout_kv(&y, "digest", m->v[i].digest);
		yout_map_end(&y);
	}
	yout_seq_end(&y);
	yout_map_end(&y);
	return yout_end(&y, out, len, e);
}

int imap_format(const struct imap *m, int yaml, char **out, size_t *len, struct ferr *e)
{
	return yaml ? format_yaml(m, out, len, e) : format_json(m, out, len, e);
}

int imap_path_is_yaml(const char *path)
{
	size_t n = strlen(path);

	return (n >= 5 && strcmp(path + n - 5, ".yaml") == 0) || (n >= 4 && strcmp(path + n - 4, ".yml") == 0);
}

int imap_write(const struct imap *m, const char *path, struct ferr *e)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if ((rc = imap_format(m, imap_path_is_yaml(path), &text, &len, e)) == FX_OK)
		rc = fx_write_file(path, text, len, 0644, 1, e);
	free(text);
	return rc;
}

int imap_inspect_print(FILE *f, const char *bundle, const struct bundle_head *h, const struct load_opts *lo,
    struct ferr *e)
{
	struct imap m;
	char *text = NULL;
	size_t len = 0;
	int rc;

	memset(&m, 0, sizeof(m));
	if (!h->sig_checked)
		fx_warn("%s: UNVERIFIED (no --keyring): the map is what the unchecked bundle.yaml says", ESC(bundle));
	if ((rc = imap_plan(&m, &h->man, &h->sums, lo, e)) == FX_OK && (rc = imap_format(&m, 0, &text, &len, e)) == FX_OK &&
	    (fwrite(text, 1, len, f) != len || fflush(f) != 0))
		rc = fe_set(e, FX_IO, "stdout: %s", strerror(errno));
	free(text);
	imap_free(&m);
	return rc;
}

/* ---- reading */

static int valid_target(const char *t)
{
	struct reg_target rt;

	switch (imap_kind_of(t)) {
	case IMAP_REGISTRY:
		return reg_parse_target(t, &rt) == 0;
	case IMAP_OCI:
		return t[4] != '\0';
	case IMAP_DOCKER:
		return 1;
	default:
		return 0;
	}
}

/* One entry from a map file: every field checked before it is kept. where: the entry's
 * position, for messages. */
static int add_checked(struct imap *m, const char *source, const char *target, const char *reference,
    const char *digest, const char *where, struct ferr *e)
{
	struct image_ref r;
	struct ferr ref_err = {0, ""};
	struct imap_entry *en;
	size_t i;

	if (ref_parse(source, &r, &ref_err) != FX_OK)
		return fe_set(e, FX_USAGE, "%s: source %s is not an image reference", where, ESC(source));
	if (!valid_target(target))
		return fe_set(e, FX_USAGE, "%s: target %s is not registry://HOST[:PORT][/PREFIX], oci:DIR or docker://",
		    where, ESC(target));
	if (imap_kind_of(target) == IMAP_OCI ? strncmp(reference, "oci:", 4) != 0 : ref_parse(reference, &r, &ref_err) != FX_OK)
		return fe_set(e, FX_USAGE, "%s: reference %s is not an image reference", where, ESC(reference));
	if (!digest_valid(digest))
		return fe_set(e, FX_USAGE, "%s: digest %s is not sha256:<64 hex digits>", where, ESC(digest));
	for (i = 0; i < m->n; i++)
		if (strcmp(m->v[i].source, source) == 0 && strcmp(m->v[i].target, target) == 0)
			return fe_set(e, FX_USAGE, "%s: %s is listed twice for %s", where, ESC(source), ESC(target));
	if (m->n >= IMAP_ENTRIES_MAX)
		return fe_set(e, FX_USAGE, "%s: more than %d entries", where, IMAP_ENTRIES_MAX);
	m->v = xreallocarray(m->v, m->n + 1, sizeof(*m->v));
	en = &m->v[m->n++];
	en->source = xstrdup(source);
	en->target = xstrdup(target);
	en->reference = xstrdup(reference);
	en->digest = xstrdup(digest);
	en->kind = (enum imap_kind)imap_kind_of(target);
	return FX_OK;
}

/* A string member of a JSON object: NULL when absent or not a string, or when it holds
 * a NUL byte or is overlong. */
static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	const char *s = json_string_value(v);

	if (s == NULL || strlen(s) != json_string_length(v) || json_string_length(v) > IMAP_STR_MAX)
		return NULL;
	return s;
}

static int header_check(const char *api, const char *kind, const char *file, struct ferr *e)
{
	if (api == NULL || strcmp(api, IMAP_API) != 0 || kind == NULL || strcmp(kind, IMAP_KIND) != 0)
		return fe_set(e, FX_USAGE, "%s: not an image map (apiVersion %s, kind %s expected)", ESC(file), IMAP_API,
		    IMAP_KIND);
	return FX_OK;
}

static int parse_json(const char *text, size_t len, const char *file, struct imap *m, struct ferr *e)
{
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je), *arr, *b;
	size_t i;
	int rc = FX_OK;
	const char *api, *kind;

	if (root == NULL)
		return fe_set(e, FX_USAGE, "%s:%d:%d: not JSON: %s", ESC(file), je.line, je.column, ESC(je.text));
	if (!json_is_object(root)) {
		rc = fe_set(e, FX_USAGE, "%s: not an image map (a JSON object expected)", ESC(file));
		goto end;
	}
	api = jstr(root, "apiVersion");
	kind = jstr(root, "kind");
	if ((rc = header_check(api, kind, file, e)) != FX_OK)
		goto end;
	if ((b = json_object_get(root, "bundle")) != NULL && json_is_object(b)) {
		const char *name = jstr(b, "name"), *version = jstr(b, "version");

		m->bundle_name = xstrdup_or_null(name);
		m->bundle_version = xstrdup_or_null(version);
	}
	arr = json_object_get(root, "images");
	if (!json_is_array(arr)) {
		rc = fe_set(e, FX_USAGE, "%s: 'images' must be a list", ESC(file));
		goto end;
	}
	for (i = 0; i < json_array_size(arr) && rc == FX_OK; i++) {
		json_t *o = json_array_get(arr, i);
		const char *f[4] = {NULL, NULL, NULL, NULL};
		char where[1200];

		snprintf(where, sizeof(where), "%s: images[%zu]", ESC(file), i);
		if (json_is_object(o)) {
			f[0] = jstr(o, "source");
			f[1] = jstr(o, "target");
			f[2] = jstr(o, "reference");
			f[3] = jstr(o, "digest");
		}
		if (f[0] == NULL || f[1] == NULL || f[2] == NULL || f[3] == NULL)
			rc = fe_set(e, FX_USAGE, "%s: needs the strings source, target, reference and digest", where);
		else
			rc = add_checked(m, f[0], f[1], f[2], f[3], where, e);
	}
end:
	json_decref(root);
	return rc;
}

static int parse_yaml(const char *text, size_t len, const char *file, struct imap *m, struct ferr *e)
{
	static const char *const fields[] = {"source", "target", "reference", "digest"};
	struct ydoc d;
	yaml_node_t *root, *b;
	yaml_node_item_t *items;
	size_t n, i, k;
	char *api = NULL, *kind = NULL, *f[4] = {NULL, NULL, NULL, NULL};
	int rc;

	if ((rc = ydoc_load(&d, text, len, file, FX_USAGE, e)) != FX_OK)
		goto end;
	root = ydoc_root(&d);
	if ((rc = ymap_check(&d, root, "the image map", NULL, e)) != FX_OK ||
	    (rc = ymap_str(&d, root, "apiVersion", 0, &api, e)) != FX_OK ||
	    (rc = ymap_str(&d, root, "kind", 0, &kind, e)) != FX_OK ||
	    (rc = header_check(api, kind, file, e)) != FX_OK)
		goto end;
	if ((b = ymap_get(&d, root, "bundle")) != NULL && b->type == YAML_MAPPING_NODE) {
		if ((rc = ymap_str(&d, b, "name", 0, &m->bundle_name, e)) != FX_OK ||
		    (rc = ymap_str(&d, b, "version", 0, &m->bundle_version, e)) != FX_OK)
			goto end;
	}
	if ((rc = ymap_seq(&d, root, "images", &items, &n, e)) != FX_OK)
		goto end;
	for (i = 0; i < n && rc == FX_OK; i++) {
		yaml_node_t *o = yaml_document_get_node(&d.doc, items[i]);
		char where[1300];

		snprintf(where, sizeof(where), "%s", ydoc_where(&d, o));
		if ((rc = ymap_check(&d, o, "an image map entry", NULL, e)) != FX_OK)
			break;
		for (k = 0; k < 4 && rc == FX_OK; k++)
			rc = ymap_str(&d, o, fields[k], 1, &f[k], e);
		if (rc == FX_OK)
			rc = add_checked(m, f[0], f[1], f[2], f[3], where, e);
		for (k = 0; k < 4; k++) {
			free(f[k]);
			f[k] = NULL;
		}
	}
end:
	free(api);
	free(kind);
	ydoc_free(&d);
	return rc;
}

int imap_parse(const char *text, size_t len, int yaml, const char *file, struct imap *m, struct ferr *e)
{
	int rc;

	memset(m, 0, sizeof(*m));
	if (len > IMAP_MAX)
		return fe_set(e, FX_USAGE, "%s: larger than %u MiB: not an image map", ESC(file), IMAP_MAX >> 20);
	rc = yaml ? parse_yaml(text, len, file, m, e) : parse_json(text, len, file, m, e);
	if (rc != FX_OK)
		imap_free(m);
	return rc;
}

int imap_read(const char *path, struct imap *m, struct ferr *e)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int rc;

	memset(m, 0, sizeof(*m));
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size > IMAP_MAX)
		return fe_set(e, FX_USAGE, "%s: larger than %u MiB: not an image map", ESC(path), IMAP_MAX >> 20);
	if ((rc = read_file_max(path, IMAP_MAX, &text, &len, e)) != FX_OK)
		return rc;
	rc = imap_parse(text, len, imap_path_is_yaml(path), path, m, e);
	free(text);
	return rc;
}

void imap_free(struct imap *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		free(m->v[i].source);
		free(m->v[i].target);
		free(m->v[i].reference);
		free(m->v[i].digest);
	}
	free(m->v);
	free(m->bundle_name);
	free(m->bundle_version);
	memset(m, 0, sizeof(*m));
}

/* ---- load --image-map */

/* The targets keep their --to text in fixed buffers: a very long one may come back
 * cut short, so it is matched against the full texts. */
static const char *full_target(const struct imap *m, const char *spec)
{
	size_t i, n = strlen(spec);

	for (i = 0; i < m->ntargets; i++)
		if (strcmp(m->targets[i], spec) == 0)
			return m->targets[i];
	for (i = 0; i < m->ntargets; i++)
		if (strncmp(m->targets[i], spec, n) == 0)
			return m->targets[i];
	return spec;
}

static void note_loaded(void *ctx, const char *spec, const struct manifest *man, const struct man_image *mi)
{
	struct imap *m = ctx;

	set_bundle(m, man);
	imap_add(m, full_target(m, spec), mi);
}

/* Before the load: a map that could not be written at the end is known now. */
static int check_map_path(const char *path, struct ferr *e)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash == NULL ? xstrdup(".") : slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
	struct stat st;
	int rc = FX_OK;

	if (*path == '\0' || (slash != NULL && slash[1] == '\0'))
		rc = fe_set(e, FX_USAGE, "--image-map %s: a file name is needed", ESC(path));
	else if (stat(dir, &st) != 0)
		rc = fe_set(e, FX_IO, "--image-map %s: %s: %s", ESC(path), ESC(dir), strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		rc = fe_set(e, FX_IO, "--image-map %s: %s: not a directory", ESC(path), ESC(dir));
	else if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		rc = fe_set(e, FX_IO, "--image-map %s: is a directory", ESC(path));
	free(dir);
	return rc;
}

int imap_load_run(const char *bundle, const struct read_opts *ro, struct load_opts *lo, const char *path,
    struct ferr *e)
{
	struct imap m;
	struct ferr we = {0, ""};
	int rc;

	memset(&m, 0, sizeof(m));
	if ((rc = check_map_path(path, e)) != FX_OK)
		return rc;
	m.keep_registry_host = lo->keep_registry_host;
	m.targets = (const char *const *)lo->targets;
	m.ntargets = lo->ntargets;
	lo->on_loaded = note_loaded;
	lo->on_loaded_ctx = &m;
	rc = load_run(bundle, ro, lo, e);
	lo->on_loaded = NULL;
	lo->on_loaded_ctx = NULL;
	/* the images that verified are loaded even when others did not, or a target failed */
	if (rc == FX_OK || rc == FX_VERIFY || rc == FX_TARGET) {
		if (imap_write(&m, path, &we) != FX_OK) {
			if (rc == FX_OK)
				rc = fe_set(e, we.code, "%s", we.msg);
			else
				fx_warn("%s", we.msg);
		} else if (!lo->quiet) {
			fprintf(stderr, "%s: %s: image map of %zu image%s written\n", fx_progname, ESC(path), m.n,
			    m.n == 1 ? "" : "s");
		}
	}
	imap_free(&m);
	return rc;
}
