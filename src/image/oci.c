/* oci.c - OCI image JSON (jansson): descriptor, manifest, index and config parsing with
 * every field checked, deterministic writing, and docker reference normalisation. */
#include "image/oci.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "net/ref.h"

#define MT_MAX 255      /* RFC 6838: 127 + "/" + 127 */
#define PLAT_PART_MAX 64
#define ANNOT_MAX 4096  /* longest annotation value kept */

int oci_mt_is_manifest(const char *mt)
{
	return mt != NULL && (strcmp(mt, OCI_MT_MANIFEST) == 0 || strcmp(mt, DOCKER_MT_MANIFEST) == 0);
}

int oci_mt_is_index(const char *mt)
{
	return mt != NULL && (strcmp(mt, OCI_MT_INDEX) == 0 || strcmp(mt, DOCKER_MT_LIST) == 0);
}

int oci_mt_is_config(const char *mt)
{
	return mt != NULL && (strcmp(mt, OCI_MT_CONFIG) == 0 || strcmp(mt, DOCKER_MT_CONFIG) == 0);
}

/* Media types are restricted-name/restricted-name (RFC 6838) plus "+suffix" and
 * parameters are not used by OCI; anything outside that is refused. */
static int mt_ok(const char *s)
{
	size_t n = strlen(s), i, slashes = 0;

	if (n == 0 || n > MT_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c == '/')
			slashes++;
		else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("!#$&-^_.+", c) != NULL))
			return 0;
	}
	return slashes == 1 && s[0] != '/' && s[n - 1] != '/';
}

/* os, architecture, variant: short words, so that "os/arch/variant" stays unambiguous. */
static int plat_part_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > PLAT_PART_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* An optional string member: 0 ok (*out NULL when absent), -1 when of another type. */
static int opt_str(json_t *o, const char *key, const char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	return 0;
}

static char *platform_join(const char *os, const char *arch, const char *variant)
{
	if (variant != NULL)
		return xasprintf("%s/%s/%s", os, arch, variant);
	return xasprintf("%s/%s", os, arch);
}

static int platform_parse(json_t *p, const char *what, char **out, struct ferr *e)
{
	const char *os, *arch, *variant;

	if (!json_is_object(p))
		return fe_set(e, FX_VERIFY, "%s: platform is not an object", what);
	if (opt_str(p, "os", &os) != 0 || opt_str(p, "architecture", &arch) != 0 ||
	    opt_str(p, "variant", &variant) != 0 || os == NULL || arch == NULL)
		return fe_set(e, FX_VERIFY, "%s: platform needs os and architecture strings", what);
	if (!plat_part_ok(os) || !plat_part_ok(arch) || (variant != NULL && !plat_part_ok(variant)))
		return fe_set(e, FX_VERIFY, "%s: platform has an invalid os, architecture or variant", what);
	*out = platform_join(os, arch, variant);
	return FX_OK;
}

static int annot_get(json_t *an, const char *key, const char *what, char **out, struct ferr *e)
{
	json_t *v = json_object_get(an, key);

	if (v == NULL)
		return FX_OK;
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > ANNOT_MAX)
		return fe_set(e, FX_VERIFY, "%s: annotation %s is not a usable string", what, key);
	*out = xstrdup(json_string_value(v));
	return FX_OK;
}

static int desc_parse(json_t *o, const char *what, struct oci_desc *d, struct ferr *e)
{
	const char *mt, *dg;
	json_t *size, *plat, *an;
	int rc = FX_OK;

	memset(d, 0, sizeof(*d));
	if (!json_is_object(o))
		return fe_set(e, FX_VERIFY, "%s: descriptor is not an object", what);
	if (opt_str(o, "mediaType", &mt) != 0 || (mt != NULL && !mt_ok(mt)))
		return fe_set(e, FX_VERIFY, "%s: descriptor has an invalid mediaType", what);
	if (opt_str(o, "digest", &dg) != 0 || dg == NULL)
		return fe_set(e, FX_VERIFY, "%s: descriptor without a digest string", what);
	if (digest_parse(dg, d->digest, d->hex) != 0)
		return fe_set(e, FX_VERIFY, "%s: unsupported or malformed digest %s (sha256 only)",
		    what, ESC(dg));
	size = json_object_get(o, "size");
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return fe_set(e, FX_VERIFY, "%s: descriptor %s has no valid size", what, d->hex);
	d->size = (uint64_t)json_integer_value(size);
	if (mt != NULL)
		d->media_type = xstrdup(mt);
	plat = json_object_get(o, "platform");
	if (plat != NULL && (rc = platform_parse(plat, what, &d->platform, e)) != FX_OK)
		goto end;
	an = json_object_get(o, "annotations");
	if (an != NULL) {
		if (!json_is_object(an)) {
			rc = fe_set(e, FX_VERIFY, "%s: annotations is not an object", what);
			goto end;
		}
		if ((rc = annot_get(an, OCI_ANNOT_REF_NAME, what, &d->ref_name, e)) != FX_OK ||
		    (rc = annot_get(an, CONTAINERD_ANNOT_IMAGE_NAME, what, &d->image_name, e)) != FX_OK)
			goto end;
	}
end:
	if (rc != FX_OK)
		oci_desc_free(d);
	return rc;
}

void oci_desc_free(struct oci_desc *d)
{
	if (d == NULL)
		return;
	free(d->media_type);
	free(d->platform);
	free(d->ref_name);
	free(d->image_name);
	memset(d, 0, sizeof(*d));
}

void oci_desc_copy(struct oci_desc *dst, const struct oci_desc *src)
{
	*dst = *src;
	dst->media_type = xstrdup_or_null(src->media_type);
	dst->platform = xstrdup_or_null(src->platform);
	dst->ref_name = xstrdup_or_null(src->ref_name);
	dst->image_name = xstrdup_or_null(src->image_name);
}

static json_t *json_parse(const void *buf, size_t len, const char *what, struct ferr *e)
{
	json_error_t jerr;
	json_t *root;

	if (len > OCI_JSON_MAX) {
		fe_set(e, FX_VERIFY, "%s: JSON larger than %zu bytes", what, OCI_JSON_MAX);
		return NULL;
	}
	/* Duplicate keys would let two readers see two different documents. */
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		fe_set(e, FX_VERIFY, "%s: invalid JSON at line %d: %s", what, jerr.line, ESC(jerr.text));
		return NULL;
	}
	if (!json_is_object(root)) {
		fe_set(e, FX_VERIFY, "%s: JSON is not an object", what);
		json_decref(root);
		return NULL;
	}
	return root;
}

static int desc_array(json_t *a, const char *what, const char *key, struct oci_desc **out,
    size_t *n, struct ferr *e)
{
	size_t i, cnt;
	int rc = FX_OK;

	*out = NULL;
	*n = 0;
	if (!json_is_array(a))
		return fe_set(e, FX_VERIFY, "%s: %s is not an array", what, key);
	cnt = json_array_size(a);
	if (cnt > OCI_MAX_DESCS)
		return fe_set(e, FX_VERIFY, "%s: more than %d %s", what, OCI_MAX_DESCS, key);
	*out = xcalloc(cnt, sizeof(**out));
	for (i = 0; i < cnt; i++) {
		if ((rc = desc_parse(json_array_get(a, i), what, &(*out)[i], e)) != FX_OK)
			break;
		*n = i + 1;
	}
	return rc;
}

int oci_doc_parse(const void *buf, size_t len, const char *expect_mt, const char *what,
    struct oci_doc *d, struct ferr *e)
{
	json_t *root = NULL, *sv, *manifests, *config, *layers;
	const char *mt, *use;
	size_t i;
	int rc = FX_OK;

	memset(d, 0, sizeof(*d));
	if ((root = json_parse(buf, len, what, e)) == NULL)
		return e->code;
	sv = json_object_get(root, "schemaVersion");
	if (!json_is_integer(sv) || json_integer_value(sv) != 2) {
		rc = fe_set(e, FX_VERIFY, "%s: schemaVersion is not 2", what);
		goto end;
	}
	if (opt_str(root, "mediaType", &mt) != 0 || (mt != NULL && !mt_ok(mt))) {
		rc = fe_set(e, FX_VERIFY, "%s: invalid mediaType", what);
		goto end;
	}
	if (mt != NULL && expect_mt != NULL && strcmp(mt, expect_mt) != 0) {
		rc = fe_set(e, FX_VERIFY, "%s: mediaType %s contradicts the descriptor's %s", what,
		    ESC(mt), ESC(expect_mt));
		goto end;
	}
	manifests = json_object_get(root, "manifests");
	config = json_object_get(root, "config");
	layers = json_object_get(root, "layers");
	use = mt != NULL ? mt : expect_mt;
	if (use != NULL) {
		if (oci_mt_is_index(use))
			d->kind = OCI_KIND_INDEX;
		else if (oci_mt_is_manifest(use))
			d->kind = OCI_KIND_MANIFEST;
		else {
			rc = fe_set(e, FX_VERIFY, "%s: unsupported media type %s", what, ESC(use));
			goto end;
		}
	} else {
		d->kind = manifests != NULL ? OCI_KIND_INDEX : OCI_KIND_MANIFEST;
	}
	/* A document that is both an index and a manifest is ambiguous: refused. */
	if ((d->kind == OCI_KIND_INDEX && (config != NULL || layers != NULL)) ||
	    (d->kind == OCI_KIND_MANIFEST && manifests != NULL)) {
		rc = fe_set(e, FX_VERIFY, "%s: has both manifests and config/layers", what);
		goto end;
	}
	if (mt != NULL)
		d->media_type = xstrdup(mt);
	if (d->kind == OCI_KIND_INDEX) {
		if (manifests == NULL) {
			rc = fe_set(e, FX_VERIFY, "%s: index without manifests", what);
			goto end;
		}
		rc = desc_array(manifests, what, "manifests", &d->descs, &d->ndescs, e);
		goto end;
	}
	if (config == NULL || layers == NULL) {
		rc = fe_set(e, FX_VERIFY, "%s: manifest without config or layers", what);
		goto end;
	}
	if ((rc = desc_parse(config, what, &d->config, e)) != FX_OK)
		goto end;
	if (d->config.media_type == NULL) {
		rc = fe_set(e, FX_VERIFY, "%s: config descriptor without mediaType", what);
		goto end;
	}
	if ((rc = desc_array(layers, what, "layers", &d->descs, &d->ndescs, e)) != FX_OK)
		goto end;
	for (i = 0; i < d->ndescs; i++) {
		if (d->descs[i].media_type == NULL) {
			rc = fe_set(e, FX_VERIFY, "%s: layer %zu without mediaType", what, i + 1);
			goto end;
		}
	}
end:
	json_decref(root);
	if (rc != FX_OK)
		oci_doc_free(d);
	return rc;
}

void oci_doc_free(struct oci_doc *d)
{
	size_t i;

	if (d == NULL)
		return;
	free(d->media_type);
	oci_desc_free(&d->config);
	for (i = 0; i < d->ndescs; i++)
		oci_desc_free(&d->descs[i]);
	free(d->descs);
	memset(d, 0, sizeof(*d));
}

int oci_config_parse(const void *buf, size_t len, const char *what, struct oci_config *c,
    struct ferr *e)
{
	json_t *root, *rootfs, *ids;
	const char *os, *arch, *variant, *type;
	size_t i, n;
	int rc = FX_OK;

	memset(c, 0, sizeof(*c));
	if ((root = json_parse(buf, len, what, e)) == NULL)
		return e->code;
	if (opt_str(root, "os", &os) != 0 || opt_str(root, "architecture", &arch) != 0 ||
	    opt_str(root, "variant", &variant) != 0) {
		rc = fe_set(e, FX_VERIFY, "%s: os, architecture or variant is not a string", what);
		goto end;
	}
	if ((os != NULL && !plat_part_ok(os)) || (arch != NULL && !plat_part_ok(arch)) ||
	    (variant != NULL && !plat_part_ok(variant))) {
		rc = fe_set(e, FX_VERIFY, "%s: invalid os, architecture or variant", what);
		goto end;
	}
	c->os = xstrdup_or_null(os);
	c->arch = xstrdup_or_null(arch);
	c->variant = xstrdup_or_null(variant);
	rootfs = json_object_get(root, "rootfs");
	if (rootfs == NULL)
		goto end;
	c->has_rootfs = 1;
	if (!json_is_object(rootfs) || opt_str(rootfs, "type", &type) != 0 || type == NULL ||
	    strcmp(type, "layers") != 0) {
		rc = fe_set(e, FX_VERIFY, "%s: rootfs is not {\"type\":\"layers\",...}", what);
		goto end;
	}
	ids = json_object_get(rootfs, "diff_ids");
	if (!json_is_array(ids)) {
		rc = fe_set(e, FX_VERIFY, "%s: rootfs.diff_ids is not an array", what);
		goto end;
	}
	n = json_array_size(ids);
	c->diff_ids = xcalloc(n, sizeof(*c->diff_ids));
	for (i = 0; i < n; i++) {
		char hex[SHA256_HEX];
		json_t *v = json_array_get(ids, i);
		if (!json_is_string(v) || digest_parse(json_string_value(v), c->diff_ids[i], hex) != 0) {
			rc = fe_set(e, FX_VERIFY, "%s: rootfs.diff_ids[%zu] is not a sha256 digest", what, i);
			goto end;
		}
	}
	c->ndiff_ids = n;
end:
	json_decref(root);
	if (rc != FX_OK)
		oci_config_free(c);
	return rc;
}

char *oci_config_platform(const struct oci_config *c)
{
	if (c->os == NULL || c->arch == NULL)
		return NULL;
	return platform_join(c->os, c->arch, c->variant);
}

void oci_config_free(struct oci_config *c)
{
	if (c == NULL)
		return;
	free(c->os);
	free(c->arch);
	free(c->variant);
	free(c->diff_ids);
	memset(c, 0, sizeof(*c));
}

int oci_layout_check(const void *buf, size_t len, const char *what, struct ferr *e)
{
	json_t *root;
	const char *v;
	int rc = FX_OK;

	if ((root = json_parse(buf, len, what, e)) == NULL)
		return e->code;
	if (opt_str(root, "imageLayoutVersion", &v) != 0 || v == NULL || strcmp(v, "1.0.0") != 0)
		rc = fe_set(e, FX_VERIFY, "%s: imageLayoutVersion is not \"1.0.0\"", what);
	json_decref(root);
	return rc;
}

/* --- writing --- */

static void set_new(json_t *o, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(o, key, v) != 0) {
		fx_warn("out of memory building JSON");
		exit(FX_IO);
	}
}

static json_t *platform_json(const char *plat)
{
	char buf[3 * PLAT_PART_MAX + 3];
	char *os = buf, *arch, *variant;
	json_t *p = json_object();

	fx_strlcpy(buf, plat, sizeof(buf));
	arch = strchr(os, '/');
	if (arch == NULL)
		return p;
	*arch++ = '\0';
	variant = strchr(arch, '/');
	if (variant != NULL)
		*variant++ = '\0';
	/* Key order as in the image-spec examples. */
	set_new(p, "architecture", json_string(arch));
	set_new(p, "os", json_string(os));
	if (variant != NULL)
		set_new(p, "variant", json_string(variant));
	return p;
}

static json_t *desc_json(const struct oci_desc *d)
{
	json_t *o = json_object();
	char dg[7 + SHA256_HEX];

	snprintf(dg, sizeof(dg), "sha256:%s", d->hex);
	if (d->media_type != NULL)
		set_new(o, "mediaType", json_string(d->media_type));
	set_new(o, "digest", json_string(dg));
	set_new(o, "size", json_integer((json_int_t)d->size));
	if (d->platform != NULL)
		set_new(o, "platform", platform_json(d->platform));
	if (d->ref_name != NULL) {
		json_t *an = json_object();
		set_new(an, OCI_ANNOT_REF_NAME, json_string(d->ref_name));
		set_new(o, "annotations", an);
	}
	return o;
}

static char *dump(json_t *root, size_t *len)
{
	/* Insertion order is kept (jansson >= 2.8), so output depends only on the input. */
	char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(root);
	if (s == NULL) {
		fx_warn("out of memory writing JSON");
		exit(FX_IO);
	}
	*len = strlen(s);
	return s;
}

char *oci_manifest_write(const struct oci_desc *config, const struct oci_desc *layers,
    size_t n, size_t *len)
{
	json_t *root = json_object(), *arr = json_array();
	struct oci_desc c = *config;
	size_t i;

	c.platform = c.ref_name = c.image_name = NULL;
	set_new(root, "schemaVersion", json_integer(2));
	set_new(root, "mediaType", json_string(OCI_MT_MANIFEST));
	set_new(root, "config", desc_json(&c));
	for (i = 0; i < n; i++) {
		struct oci_desc l = layers[i];
		l.platform = l.ref_name = l.image_name = NULL;
		if (json_array_append_new(arr, desc_json(&l)) != 0) {
			fx_warn("out of memory building JSON");
			exit(FX_IO);
		}
	}
	set_new(root, "layers", arr);
	return dump(root, len);
}

char *oci_index_write(const struct oci_desc *d, size_t n, size_t *len)
{
	json_t *root = json_object(), *arr = json_array();
	size_t i;

	set_new(root, "schemaVersion", json_integer(2));
	set_new(root, "mediaType", json_string(OCI_MT_INDEX));
	for (i = 0; i < n; i++) {
		if (json_array_append_new(arr, desc_json(&d[i])) != 0) {
			fx_warn("out of memory building JSON");
			exit(FX_IO);
		}
	}
	set_new(root, "manifests", arr);
	return dump(root, len);
}

/* --- references --- */

/* The one reference parser is net/ref.c; this keeps oci.h's form of its result. */
int oci_ref_parse(const char *s, struct oci_ref *r, struct ferr *e)
{
	struct image_ref ir;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = ref_parse(s, &ir, e)) != FX_OK)
		return rc;
	r->domain = xstrdup(ir.domain);
	r->repo = xstrdup(ir.repo);
	r->tag = ir.tag[0] != '\0' ? xstrdup(ir.tag) : NULL;
	r->digest = ir.digest[0] != '\0' ? xstrdup(ir.digest) : NULL;
	return FX_OK;
}

char *oci_ref_string(const struct oci_ref *r)
{
	return xasprintf("%s/%s%s%s%s%s", r->domain, r->repo, r->tag ? ":" : "", r->tag ? r->tag : "",
	    r->digest ? "@" : "", r->digest ? r->digest : "");
}

void oci_ref_free(struct oci_ref *r)
{
	if (r == NULL)
		return;
	free(r->domain);
	free(r->repo);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}
