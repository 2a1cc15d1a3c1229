/* docker_archive.c - parsing the manifest.json of a `docker save` archive. */
#include "image/docker_archive.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/sums.h"

static int member_name(json_t *v, const char *what, const char *field, char **out, struct ferr *e)
{
	const char *s, *why;

	if (!json_is_string(v))
		return fe_set(e, FX_VERIFY, "%s: %s is not a string", what, field);
	s = json_string_value(v);
	while (strncmp(s, "./", 2) == 0)
		s += 2;
	if ((why = entry_name_problem(s)) != NULL)
		return fe_set(e, FX_VERIFY, "%s: %s %s: %s", what, field, ESC(s), why);
	*out = xstrdup(s);
	return FX_OK;
}

static int parse_item(json_t *o, const char *what, struct docker_save_image *im, struct ferr *e)
{
	json_t *tags, *layers;
	size_t i;
	int rc;

	if (!json_is_object(o))
		return fe_set(e, FX_VERIFY, "%s: an entry is not an object", what);
	if ((rc = member_name(json_object_get(o, "Config"), what, "Config", &im->config, e)) != FX_OK)
		return rc;
	tags = json_object_get(o, "RepoTags");
	if (tags != NULL && !json_is_null(tags)) {
		if (!json_is_array(tags))
			return fe_set(e, FX_VERIFY, "%s: RepoTags is not an array", what);
		im->repo_tags = xcalloc(json_array_size(tags), sizeof(char *));
		for (i = 0; i < json_array_size(tags); i++) {
			json_t *t = json_array_get(tags, i);
			if (!json_is_string(t) || json_string_length(t) == 0 || json_string_length(t) > 1024)
				return fe_set(e, FX_VERIFY, "%s: RepoTags has a non-string", what);
			im->repo_tags[im->ntags++] = xstrdup(json_string_value(t));
		}
	}
	layers = json_object_get(o, "Layers");
	if (!json_is_array(layers))
		return fe_set(e, FX_VERIFY, "%s: Layers is not an array", what);
	im->layers = xcalloc(json_array_size(layers), sizeof(char *));
	for (i = 0; i < json_array_size(layers); i++) {
		if ((rc = member_name(json_array_get(layers, i), what, "Layers", &im->layers[i], e)) != FX_OK)
			return rc;
		im->nlayers = i + 1;
	}
	return FX_OK;
}

int docker_manifest_parse(const void *buf, size_t len, const char *what,
    struct docker_save *ds, struct ferr *e)
{
	json_error_t jerr;
	json_t *root = NULL;
	size_t i;
	int rc = FX_OK;

	memset(ds, 0, sizeof(*ds));
	if (len > OCI_JSON_MAX)
		return fe_set(e, FX_VERIFY, "%s: JSON larger than %zu bytes", what, OCI_JSON_MAX);
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return fe_set(e, FX_VERIFY, "%s: invalid JSON at line %d: %s", what, jerr.line,
		    ESC(jerr.text));
	if (!json_is_array(root) || json_array_size(root) == 0) {
		rc = fe_set(e, FX_VERIFY, "%s: not a non-empty array of images", what);
		goto end;
	}
	ds->v = xcalloc(json_array_size(root), sizeof(*ds->v));
	for (i = 0; i < json_array_size(root); i++) {
		ds->n = i + 1;
		if ((rc = parse_item(json_array_get(root, i), what, &ds->v[i], e)) != FX_OK)
			goto end;
	}
end:
	json_decref(root);
	if (rc != FX_OK)
		docker_save_free(ds);
	return rc;
}

/* Does the RepoTags entry t name the image asked for? */
static int tag_matches(const char *t, const char *tag, const struct oci_ref *ref)
{
	struct ferr ign = {0};
	struct oci_ref tr;
	int hit = 0;

	if (tag != NULL && strcmp(t, tag) == 0)
		return 1;
	if (oci_ref_parse(t, &tr, &ign) != FX_OK)
		return 0;
	if (tag != NULL && tr.tag != NULL && strchr(tag, ':') == NULL && strchr(tag, '/') == NULL)
		hit = strcmp(tr.tag, tag) == 0;
	else if (tag != NULL) {
		struct oci_ref want;
		struct ferr ign2 = {0};
		if (oci_ref_parse(tag, &want, &ign2) == FX_OK) {
			hit = strcmp(want.domain, tr.domain) == 0 && strcmp(want.repo, tr.repo) == 0 &&
			    want.tag != NULL && tr.tag != NULL && strcmp(want.tag, tr.tag) == 0;
			oci_ref_free(&want);
		}
	} else if (ref != NULL && ref->tag != NULL && tr.tag != NULL) {
		hit = strcmp(ref->domain, tr.domain) == 0 && strcmp(ref->repo, tr.repo) == 0 &&
		    strcmp(ref->tag, tr.tag) == 0;
	}
	oci_ref_free(&tr);
	return hit;
}

int docker_save_pick(const struct docker_save *ds, const char *tag, const struct oci_ref *ref,
    const char *what, size_t *idx, struct ferr *e)
{
	size_t i, j, hits = 0;

	if (ds->n == 1 && tag == NULL) {
		*idx = 0;
		return FX_OK;
	}
	for (i = 0; i < ds->n; i++) {
		for (j = 0; j < ds->v[i].ntags; j++) {
			if (tag_matches(ds->v[i].repo_tags[j], tag, ref)) {
				*idx = i;
				hits++;
				break;
			}
		}
	}
	if (hits == 1)
		return FX_OK;
	if (hits == 0 && tag != NULL)
		return fe_set(e, FX_USAGE, "%s: no image tagged %s", what, ESC(tag));
	if (hits == 0)
		return fe_set(e, FX_USAGE, "%s: holds %zu images and none is tagged as the ref; "
		    "name one with from: PATH:TAG", what, ds->n);
	return fe_set(e, FX_USAGE, "%s: several images match; name one with from: PATH:TAG", what);
}

void docker_save_free(struct docker_save *ds)
{
	size_t i, j;

	if (ds == NULL)
		return;
	for (i = 0; i < ds->n; i++) {
		struct docker_save_image *im = &ds->v[i];
		free(im->config);
		for (j = 0; j < im->ntags; j++)
			free(im->repo_tags[j]);
		free(im->repo_tags);
		for (j = 0; j < im->nlayers; j++)
			free(im->layers[j]);
		free(im->layers);
	}
	free(ds->v);
	memset(ds, 0, sizeof(*ds));
}
