/* sbom_read.c - reads the CycloneDX documents ferry-pack writes (sbom_write.c): the
 * image, its OS and catalogue status from metadata properties, one package per
 * "library" component. */
#include "image/sbom_read.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "image/sbom_write.h"

static char *dup_str(json_t *j)
{
	return json_is_string(j) ? xstrndup(json_string_value(j), json_string_length(j)) : NULL;
}

static void read_props(json_t *props, struct sbom_view *v)
{
	size_t i;
	json_t *p;

	json_array_foreach(props, i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));
		json_t *val = json_object_get(p, "value");
		char **slot = NULL;

		if (name == NULL || !json_is_string(val))
			continue;
		if (strcmp(name, SBOM_PROP_PLATFORM) == 0)
			slot = &v->platform;
		else if (strcmp(name, SBOM_PROP_OS_ID) == 0)
			slot = &v->os_id;
		else if (strcmp(name, SBOM_PROP_OS_VERSION) == 0)
			slot = &v->os_version;
		else if (strcmp(name, SBOM_PROP_OS_PRETTY) == 0)
			slot = &v->os_pretty;
		else if (strcmp(name, SBOM_PROP_STATUS) == 0)
			slot = &v->status;
		else if (strcmp(name, SBOM_PROP_DATABASE) == 0 && v->ndatabases < 64)
			strset_add(&v->databases, &v->ndatabases, json_string_value(val), json_string_length(val));
		else if (strcmp(name, SBOM_PROP_NOTE) == 0 && v->nnotes < 1024)
			strset_add(&v->notes, &v->nnotes, json_string_value(val), json_string_length(val));
		if (slot != NULL) {
			free(*slot);
			*slot = dup_str(val);
		}
	}
}

static enum pkg_kind kind_of(const char *purl, json_t *props)
{
	size_t i;
	json_t *p;

	json_array_foreach(props, i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));
		const char *val = json_string_value(json_object_get(p, "value"));
		if (name != NULL && val != NULL && strcmp(name, SBOM_PROP_PKG_TYPE) == 0)
			purl = val; /* the property says it outright */
	}
	if (purl == NULL)
		return 0;
	if (strcmp(purl, "deb") == 0 || strncmp(purl, "pkg:deb/", 8) == 0)
		return PKG_DEB;
	if (strcmp(purl, "apk") == 0 || strncmp(purl, "pkg:apk/", 8) == 0)
		return PKG_APK;
	if (strcmp(purl, "rpm") == 0 || strncmp(purl, "pkg:rpm/", 8) == 0)
		return PKG_RPM;
	return 0;
}

static void read_component(json_t *c, struct sbom_view *v)
{
	json_t *props = json_object_get(c, "properties"), *lics = json_object_get(c, "licenses"), *l, *p;
	const char *purl = json_string_value(json_object_get(c, "purl"));
	struct pkg *k;
	size_t i;

	k = pkg_list_add(&v->pkgs, kind_of(purl, props));
	k->name = dup_str(json_object_get(c, "name"));
	k->version = dup_str(json_object_get(c, "version"));
	k->purl = dup_str(json_object_get(c, "purl"));
	if (k->name == NULL)
		k->name = xstrdup("");
	json_array_foreach(lics, i, l) {
		json_t *lic = json_object_get(l, "license");
		json_t *s = json_object_get(lic, "id");
		if (!json_is_string(s))
			s = json_object_get(lic, "name");
		if (!json_is_string(s))
			s = json_object_get(l, "expression");
		if (json_is_string(s) && k->nlicenses < PKGDB_MAX_LICENSES)
			strset_add(&k->licenses, &k->nlicenses, json_string_value(s), json_string_length(s));
	}
	k->license_known = k->nlicenses > 0;
	json_array_foreach(props, i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));
		json_t *val = json_object_get(p, "value");
		if (name != NULL && strcmp(name, SBOM_PROP_ARCH) == 0 && k->arch == NULL)
			k->arch = dup_str(val);
		else if (name != NULL && strcmp(name, SBOM_PROP_SOURCE) == 0 && k->source == NULL)
			k->source = dup_str(val);
	}
}

int sbom_view_parse(const char *buf, size_t len, const char *what, struct sbom_view *v, struct ferr *e)
{
	json_error_t je;
	json_t *root = NULL, *md, *comp, *comps, *c;
	size_t i;
	int rc = FX_OK;

	memset(v, 0, sizeof(*v));
	if (len > SBOM_MAX) {
		rc = fe_set(e, FX_VERIFY, "%s: larger than %zu MiB", what, SBOM_MAX >> 20);
		goto end;
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL || !json_is_object(root) || !json_is_string(json_object_get(root, "bomFormat")) ||
	    strcmp(json_string_value(json_object_get(root, "bomFormat")), "CycloneDX") != 0) {
		rc = fe_set(e, FX_VERIFY, "%s: not a CycloneDX document%s%s", what, root == NULL ? ": " : "",
		    root == NULL ? je.text : "");
		goto end;
	}
	md = json_object_get(root, "metadata");
	comp = json_object_get(md, "component");
	comps = json_object_get(root, "components");
	if (!json_is_object(md) || !json_is_object(comp) || (comps != NULL && !json_is_array(comps))) {
		rc = fe_set(e, FX_VERIFY, "%s: no metadata.component or a bad components list", what);
		goto end;
	}
	if (json_array_size(comps) > PKGDB_MAX_PKGS) {
		rc = fe_set(e, FX_VERIFY, "%s: more than %d components", what, PKGDB_MAX_PKGS);
		goto end;
	}
	v->ref = dup_str(json_object_get(comp, "name"));
	v->digest = dup_str(json_object_get(comp, "version"));
	read_props(json_object_get(md, "properties"), v);
	json_array_foreach(comps, i, c) {
		const char *type = json_string_value(json_object_get(c, "type"));
		if (json_is_object(c) && type != NULL && strcmp(type, "library") == 0)
			read_component(c, v);
	}
	pkg_list_sort(&v->pkgs);
end:
	json_decref(root);
	if (rc != FX_OK)
		sbom_view_free(v);
	return rc;
}

void sbom_view_free(struct sbom_view *v)
{
	free(v->ref);
	free(v->digest);
	free(v->platform);
	free(v->os_id);
	free(v->os_version);
	free(v->os_pretty);
	free(v->status);
	strv_free_n(v->databases, v->ndatabases);
	strv_free_n(v->notes, v->nnotes);
	pkg_list_free(&v->pkgs);
	memset(v, 0, sizeof(*v));
}
