/* chart.c - Helm chart archives: checked, described as the OCI artifact `helm push`
 * makes, their provenance verified (chart.h). Helm's layouts are followed as Helm
 * documents them: chart.Metadata's JSON field order for the config blob, the
 * org.opencontainers.image.* annotations of its push, the provenance body "metadata,
 * '...', files:". */
#include "bundle/chart.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "bundle/sums.h"
#include "crypto/pgp.h"
#include "util/yamlx.h"

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

void chart_tag(const char *version, char *tag, size_t size)
{
	char *p;

	fx_strlcpy(tag, version, size);
	for (p = tag; *p != '\0'; p++)
		if (*p == '+')
			*p = '_';
}

/* ---- Chart.yaml into Helm's config JSON */

/* Helm's sanitizeString: white space becomes ' ', other control characters go. */
static json_t *helm_string(const char *s)
{
	char *t = xstrdup(s), *q = t;
	const char *p;
	json_t *j;

	for (p = s; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r')
			*q++ = ' ';
		else if (c >= 0x20 && c != 0x7f)
			*q++ = (char)c;
	}
	*q = '\0';
	j = json_string(t);
	free(t);
	return j;
}

/* A scalar that YAML reads as nothing (absent, empty, ~, null) is left out, as Go's
 * omitempty leaves out an empty string. */
static const char *value_of(struct ydoc *d, yaml_node_t *map, const char *key)
{
	const char *v = yscalar(ymap_get(d, map, key));

	if (v == NULL || *v == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0)
		return NULL;
	return v;
}

static void put_str(json_t *o, struct ydoc *d, yaml_node_t *map, const char *key)
{
	const char *v = value_of(d, map, key);

	if (v != NULL)
		json_object_set_new(o, key, helm_string(v));
}

/* The sequence under key of map when it has items (Helm leaves out empty lists), or NULL. */
static yaml_node_t *nonempty_seq(struct ydoc *d, yaml_node_t *map, const char *key)
{
	yaml_node_t *seq = ymap_get(d, map, key);

	if (seq == NULL || seq->type != YAML_SEQUENCE_NODE || seq->data.sequence.items.start == seq->data.sequence.items.top)
		return NULL;
	return seq;
}

static void put_strv(json_t *o, struct ydoc *d, yaml_node_t *map, const char *key)
{
	yaml_node_t *seq = nonempty_seq(d, map, key);
	yaml_node_item_t *it;
	json_t *a;

	if (seq == NULL)
		return;
	a = json_array();
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		const char *v = yscalar(yaml_document_get_node(&d->doc, *it));
		if (v != NULL)
			json_array_append_new(a, helm_string(v));
	}
	json_object_set_new(o, key, a);
}

static void put_true(json_t *o, struct ydoc *d, yaml_node_t *map, const char *key)
{
	const char *v = value_of(d, map, key);

	if (v != NULL && (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 || strcmp(v, "TRUE") == 0))
		json_object_set_new(o, key, json_true());
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A map of strings with its keys sorted, as Go writes a map. */
static json_t *sorted_object(json_t *from)
{
	const char **keys = xcalloc(json_object_size(from) + 1, sizeof(*keys));
	const char *k;
	json_t *v, *o = json_object();
	size_t n = 0, i;

	json_object_foreach(from, k, v)
		keys[n++] = k;
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 0; i < n; i++)
		json_object_set(o, keys[i], json_object_get(from, keys[i]));
	free(keys);
	return o;
}

static json_t *chart_annotations(struct ydoc *d, yaml_node_t *root)
{
	yaml_node_t *map = ymap_get(d, root, "annotations");
	yaml_node_pair_t *p;
	json_t *o = json_object(), *sorted;

	for (p = map != NULL && map->type == YAML_MAPPING_NODE ? map->data.mapping.pairs.start : NULL;
	    p != NULL && p < map->data.mapping.pairs.top; p++) {
		const char *k = yscalar(yaml_document_get_node(&d->doc, p->key));
		const char *v = yscalar(yaml_document_get_node(&d->doc, p->value));
		if (k != NULL && v != NULL)
			json_object_set_new(o, k, json_string(v));
	}
	sorted = sorted_object(o);
	json_decref(o);
	return sorted;
}

/* chart.Metadata's maintainers and dependencies: lists of maps of known fields. */
static void put_list_of_maps(json_t *o, struct ydoc *d, yaml_node_t *root, const char *key, int dependencies)
{
	yaml_node_t *seq = nonempty_seq(d, root, key);
	yaml_node_item_t *it;
	json_t *a;

	if (seq == NULL)
		return;
	a = json_array();
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		yaml_node_t *m = yaml_document_get_node(&d->doc, *it);
		json_t *x = json_object();

		put_str(x, d, m, "name");
		if (dependencies) {
			put_str(x, d, m, "version");
			put_str(x, d, m, "repository");
			put_str(x, d, m, "condition");
			put_strv(x, d, m, "tags");
			put_true(x, d, m, "enabled");
			put_str(x, d, m, "alias");
		} else {
			put_str(x, d, m, "email");
			put_str(x, d, m, "url");
		}
		json_array_append_new(a, x);
	}
	json_object_set_new(o, key, a);
}

/* Go's encoding/json escapes <, >, & and U+2028/U+2029 inside strings; jansson does
 * not. Those bytes only occur inside strings, so a plain replacement makes the text
 * Helm's. */
static char *go_json(json_t *j, size_t *len)
{
	char *raw = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER), *out, *q;
	const char *p;

	if (raw == NULL)
		raw = xstrdup("{}"); /* only when out of memory: strings here are valid UTF-8 */
	out = xmalloc(strlen(raw) * 6 + 1);
	for (p = raw, q = out; *p != '\0'; p++) {
		if (*p == '<' || *p == '>' || *p == '&') {
			q += snprintf(q, 7, "\\u%04x", (unsigned)(unsigned char)*p);
		} else if ((unsigned char)p[0] == 0xe2 && (unsigned char)p[1] == 0x80 &&
		    ((unsigned char)p[2] == 0xa8 || (unsigned char)p[2] == 0xa9)) {
			q += snprintf(q, 7, "\\u202%c", (unsigned char)p[2] == 0xa8 ? '8' : '9');
			p += 2;
		} else {
			*q++ = *p;
		}
	}
	*q = '\0';
	*len = (size_t)(q - out);
	free(raw);
	return out;
}

/* Helm's config blob (chart.Metadata, its fields in its order) and the manifest
 * annotations its push sets from them. */
static void describe_chart(struct ydoc *d, yaml_node_t *root, struct chart_info *ci)
{
	json_t *cfg = json_object(), *ann = json_object(), *own = chart_annotations(d, root), *v, *sorted;
	yaml_node_t *maint = ymap_get(d, root, "maintainers");
	const char *k;
	size_t ann_len;

	put_str(cfg, d, root, "name");
	put_str(cfg, d, root, "home");
	put_strv(cfg, d, root, "sources");
	put_str(cfg, d, root, "version");
	put_str(cfg, d, root, "description");
	put_strv(cfg, d, root, "keywords");
	put_list_of_maps(cfg, d, root, "maintainers", 0);
	put_str(cfg, d, root, "icon");
	put_str(cfg, d, root, "apiVersion");
	put_str(cfg, d, root, "condition");
	put_str(cfg, d, root, "tags");
	put_str(cfg, d, root, "appVersion");
	put_true(cfg, d, root, "deprecated");
	if (json_object_size(own) > 0)
		json_object_set(cfg, "annotations", own);
	put_str(cfg, d, root, "kubeVersion");
	put_list_of_maps(cfg, d, root, "dependencies", 1);
	put_str(cfg, d, root, "type");
	ci->config_json = go_json(cfg, &ci->config_len);

	/* the annotations: Helm's own (an empty value left out), then the chart's own
	 * except title and version */
	if ((v = json_object_get(cfg, "description")) != NULL)
		json_object_set(ann, "org.opencontainers.image.description", v);
	json_object_set(ann, "org.opencontainers.image.title", json_object_get(cfg, "name"));
	json_object_set(ann, "org.opencontainers.image.version", json_object_get(cfg, "version"));
	if ((v = json_object_get(cfg, "home")) != NULL)
		json_object_set(ann, "org.opencontainers.image.url", v);
	if ((v = json_array_get(json_object_get(cfg, "sources"), 0)) != NULL)
		json_object_set(ann, "org.opencontainers.image.source", v);
	if ((v = json_object_get(cfg, "maintainers")) != NULL && maint != NULL) {
		size_t i, n = json_array_size(v);
		char *authors = xstrdup("");
		for (i = 0; i < n; i++) {
			const char *name = json_string_value(json_object_get(json_array_get(v, i), "name"));
			const char *email = json_string_value(json_object_get(json_array_get(v, i), "email"));
			char *t = xasprintf("%s%s%s%s%s%s", authors, name ? name : "", email ? " (" : "", email ? email : "",
			    email ? ")" : "", i + 1 < n ? ", " : "");
			free(authors);
			authors = t;
		}
		if (strspn(authors, " ,") < strlen(authors))
			json_object_set_new(ann, "org.opencontainers.image.authors", json_string(authors));
		free(authors);
	}
	json_object_foreach(own, k, v)
		if (strcmp(k, "org.opencontainers.image.title") != 0 && strcmp(k, "org.opencontainers.image.version") != 0)
			json_object_set(ann, k, v);
	sorted = sorted_object(ann);
	ci->annotations_json = go_json(sorted, &ann_len);
	json_decref(sorted);
	json_decref(ann);
	json_decref(own);
	json_decref(cfg);
}

/* ---- the archive */

/* A member of a chart archive: a plain file or directory under a safe relative name,
 * in the same top folder as every other member. */
static int member_check(const char *path, struct archive_entry *ent, char **top, struct ferr *e)
{
	const char *raw = archive_entry_pathname(ent), *why;
	char *name = NULL;
	size_t l, tl;
	int rc = FX_OK;

	if (raw == NULL)
		return fe_set(e, FX_USAGE, "%s: a member name is not readable", ESC(path));
	while (strncmp(raw, "./", 2) == 0)
		raw += 2;
	name = xstrdup(raw);
	l = strlen(name);
	while (l > 0 && name[l - 1] == '/')
		name[--l] = '\0';
	tl = strcspn(name, "/");
	if ((why = entry_name_problem(name)) != NULL)
		rc = fe_set(e, FX_USAGE, "%s: member %s: %s", ESC(path), ESC(archive_entry_pathname(ent)), why);
	else if (archive_entry_hardlink(ent) != NULL ||
	    (archive_entry_filetype(ent) != AE_IFREG && archive_entry_filetype(ent) != AE_IFDIR))
		rc = fe_set(e, FX_USAGE, "%s: member %s: not a plain file or directory", ESC(path), ESC(name));
	else if (*top == NULL)
		*top = xstrndup(name, tl);
	else if (strlen(*top) != tl || strncmp(*top, name, tl) != 0)
		rc = fe_set(e, FX_USAGE, "%s: member %s is outside the chart's folder %s/", ESC(path), ESC(name), ESC(*top));
	free(name);
	return rc;
}

/* Reads <chart>/Chart.yaml (the current member). */
static int chart_yaml(const char *path, struct archive *a, struct archive_entry *ent, struct chart_info *ci,
    struct ferr *e)
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
	    (rc = ymap_str(&d, ydoc_root(&d), "name", 1, &ci->name, e)) != FX_OK ||
	    (rc = ymap_str(&d, ydoc_root(&d), "version", 1, &ci->version, e)) != FX_OK ||
	    (rc = ymap_str(&d, ydoc_root(&d), "appVersion", 0, &ci->app_version, e)) != FX_OK ||
	    (rc = ymap_str(&d, ydoc_root(&d), "description", 0, &ci->description, e)) != FX_OK)
		goto end;
	if (!chart_name_ok(ci->name))
		rc = fe_set(e, FX_USAGE, "%s: chart name %s: Helm allows only lower-case letters, digits and '-'",
		    ESC(where), ESC(ci->name));
	else if (!semver_ok(ci->version))
		rc = fe_set(e, FX_USAGE, "%s: chart %s: version %s is not a SemVer 2 version (MAJOR.MINOR.PATCH)",
		    ESC(where), ESC(ci->name), ESC(ci->version));
	else
		describe_chart(&d, ydoc_root(&d), ci);
end:
	ydoc_free(&d);
	free(where);
	free(buf);
	return rc;
}

/* Every member's header is read (and checked) up to the end, its data skipped. */
static int read_members(const char *path, struct archive *a, struct chart_info *ci, struct ferr *e)
{
	struct archive_entry *ent;
	char *top = NULL;
	uint64_t unpacked = 0;
	size_t members = 0;
	int rc = FX_OK, r, found = 0;

	while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
		const char *n = archive_entry_pathname(ent), *slash;
		la_int64_t size = archive_entry_size(ent);

		if ((rc = member_check(path, ent, &top, e)) != FX_OK)
			goto end;
		unpacked += size > 0 ? (uint64_t)size : 0;
		if (++members > CHART_MEMBERS_MAX || unpacked > CHART_UNPACKED_MAX ||
		    archive_filter_bytes(a, 0) > (la_int64_t)CHART_UNPACKED_MAX + (1 << 20)) {
			rc = fe_set(e, FX_USAGE, "%s: unpacks to more than %u MiB or %u members (refused as a gzip bomb)",
			    ESC(path), CHART_UNPACKED_MAX >> 20, CHART_MEMBERS_MAX);
			goto end;
		}
		while (strncmp(n, "./", 2) == 0)
			n += 2;
		if (found || (slash = strchr(n, '/')) == NULL || strcmp(slash + 1, "Chart.yaml") != 0)
			continue;
		if ((rc = chart_yaml(path, a, ent, ci, e)) != FX_OK)
			goto end;
		found = 1;
	}
	if (r != ARCHIVE_EOF)
		rc = fe_set(e, FX_USAGE, "%s: not a Helm chart archive: %s", ESC(path),
		    archive_error_string(a) ? archive_error_string(a) : "read error");
	else if (!found)
		rc = fe_set(e, FX_USAGE, "%s: not a Helm chart archive (no <name>/Chart.yaml)", ESC(path));
end:
	free(top);
	return rc;
}

int chart_inspect(const char *path, struct chart_info *ci, struct ferr *e)
{
	struct archive *a = archive_read_new();
	struct stat st;
	int rc = FX_OK;

	memset(ci, 0, sizeof(*ci));
	if (stat(path, &st) != 0) {
		rc = fe_set(e, FX_USAGE, "%s: %s", ESC(path), strerror(errno));
		goto end;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)CHART_ARCHIVE_MAX) {
		rc = fe_set(e, FX_USAGE, "%s: %s", ESC(path), S_ISREG(st.st_mode) ?
		    "chart archive larger than the 16 MiB limit" : "not a regular file");
		goto end;
	}
	archive_read_support_format_tar(a);
	archive_read_support_filter_gzip(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		rc = fe_set(e, FX_USAGE, "%s: not a Helm chart archive: %s", ESC(path), archive_error_string(a));
		goto end;
	}
	if (archive_filter_code(a, 0) != ARCHIVE_FILTER_GZIP) {
		rc = fe_set(e, FX_USAGE, "%s: not a Helm chart archive (not gzip-compressed)", ESC(path));
		goto end;
	}
	rc = read_members(path, a, ci, e);
end:
	archive_read_free(a);
	if (rc != FX_OK)
		chart_info_free(ci);
	return rc;
}

void chart_info_free(struct chart_info *ci)
{
	free(ci->name);
	free(ci->version);
	free(ci->app_version);
	free(ci->description);
	free(ci->config_json);
	free(ci->annotations_json);
	memset(ci, 0, sizeof(*ci));
}

/* ---- the artifact */

static json_t *descriptor(const char *media_type, const char *digest, uint64_t size)
{
	return json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest, "size", (json_int_t)size);
}

char *chart_manifest_json(const struct chart_info *ci, const char *created, const char *tgz_digest,
    uint64_t tgz_size, const char *prov_digest, uint64_t prov_size, size_t *len)
{
	unsigned char cfg_bytes[SHA256_LEN];
	char cfg_hex[SHA256_HEX], cfg_digest[DIGEST_STR], *out;
	json_t *ann = json_loads(ci->annotations_json, 0, NULL), *sorted, *layers = json_array(), *m;

	if (ann == NULL)
		ann = json_object();
	/* Helm sets created first; an annotation of the chart's own overrides it */
	if (json_object_get(ann, "org.opencontainers.image.created") == NULL)
		json_object_set_new(ann, "org.opencontainers.image.created", json_string(created));
	sorted = sorted_object(ann);
	sha256_buf(ci->config_json, ci->config_len, cfg_bytes);
	hex_encode(cfg_bytes, SHA256_LEN, cfg_hex);
	snprintf(cfg_digest, sizeof(cfg_digest), "sha256:%s", cfg_hex);
	json_array_append_new(layers, descriptor(CHART_CONTENT_MEDIA, tgz_digest, tgz_size));
	if (prov_size > 0)
		json_array_append_new(layers, descriptor(CHART_PROV_MEDIA, prov_digest, prov_size));
	m = json_pack("{s:i, s:s, s:o, s:o, s:o}", "schemaVersion", 2, "mediaType", CHART_MANIFEST_MEDIA, "config",
	    descriptor(CHART_CONFIG_MEDIA, cfg_digest, ci->config_len), "layers", layers, "annotations", sorted);
	out = go_json(m, len);
	json_decref(m);
	json_decref(ann);
	return out;
}

/* ---- provenance */

/* The "files:" part of a provenance body names tgz_base with tgz_digest. */
static int prov_files(const char *what, const char *files, size_t len, const char *tgz_base, const char *tgz_digest,
    struct ferr *e)
{
	struct ydoc d;
	unsigned char want[SHA256_LEN], got[SHA256_LEN];
	const char *listed;
	int rc;

	memset(&d, 0, sizeof(d));
	if ((rc = ydoc_load(&d, files, len, what, FX_VERIFY, e)) != FX_OK)
		goto end;
	listed = yscalar(ymap_get(&d, ymap_get(&d, ydoc_root(&d), "files"), tgz_base));
	if (listed == NULL)
		rc = fe_set(e, FX_VERIFY, "%s: signs no SHA-256 for %s (a provenance file of another chart?)", ESC(what),
		    ESC(tgz_base));
	else if (digest_parse(listed, got, NULL) != 0 || digest_parse(tgz_digest, want, NULL) != 0 ||
	    CRYPTO_memcmp(got, want, SHA256_LEN) != 0)
		rc = fe_set(e, FX_VERIFY, "%s: signs %s for %s, but the archive is %s (changed after signing?)", ESC(what),
		    ESC(listed), ESC(tgz_base), tgz_digest);
end:
	ydoc_free(&d);
	return rc;
}

/* The metadata part names the chart itself. */
static int prov_metadata(const char *what, const char *meta, size_t len, const char *name, const char *version,
    struct ferr *e)
{
	struct ydoc d;
	const char *n, *v;
	int rc;

	memset(&d, 0, sizeof(d));
	if ((rc = ydoc_load(&d, meta, len, what, FX_VERIFY, e)) != FX_OK)
		goto end;
	n = yscalar(ymap_get(&d, ydoc_root(&d), "name"));
	v = yscalar(ymap_get(&d, ydoc_root(&d), "version"));
	if (n == NULL || v == NULL || strcmp(n, name) != 0 || strcmp(v, version) != 0)
		rc = fe_set(e, FX_VERIFY, "%s: signed for chart %s %s, not %s %s", ESC(what), n ? ESC(n) : "?",
		    v ? ESC(v) : "?", ESC(name), ESC(version));
end:
	ydoc_free(&d);
	return rc;
}

int chart_prov_verify(const char *prov_path, const char *keyring, const char *tgz_base, const char *tgz_digest,
    const char *name, const char *version, struct ferr *e)
{
	char *msg = NULL, *plain = NULL, *sep, *what = xasprintf("chart %s %s: %s", name, version, prov_path);
	size_t msg_len, plain_len;
	int rc;

	if ((rc = read_file_max(prov_path, CHART_PROV_MAX, &msg, &msg_len, e)) != FX_OK ||
	    (rc = pgp_verify_clearsigned(msg, msg_len, what, keyring, &plain, &plain_len, NULL, e)) != FX_OK)
		goto end;
	/* Helm's body: the chart's metadata, a line "...", then files: (one separator) */
	sep = strstr(plain, "\n...\n");
	if (sep == NULL || strstr(sep + 1, "\n...\n") != NULL || strlen(plain) != plain_len) {
		rc = fe_set(e, FX_VERIFY, "%s: not a Helm provenance file (metadata, '...', files:)", ESC(what));
		goto end;
	}
	if ((rc = prov_metadata(what, plain, (size_t)(sep - plain + 1), name, version, e)) == FX_OK)
		rc = prov_files(what, sep + 5, plain_len - (size_t)(sep + 5 - plain), tgz_base, tgz_digest, e);
end:
	free(plain);
	free(msg);
	free(what);
	return rc;
}
