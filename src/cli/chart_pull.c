/* chart_pull.c - a chart pulled from an OCI registry for a bundle (from:
 * oci://HOST/REPO/NAME:VERSION), as `helm pull` would: the manifest by its tag, then
 * the content and provenance layers by digest, each body bounded and its SHA-256 and
 * size checked against the manifest before it is written. */
#include "cli/chart_pull.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "bundle/chart.h"
#include "net/ref.h"
#include "net/registry_client.h"
#include "util/file.h"

#define CHART_MANIFEST_MAX (1u << 20)

/* GETs one blob of repo and checks it is digest, size bytes. */
static int get_blob(struct reg_client *c, struct http *conn, const char *repo, const char *digest, uint64_t size,
    uint64_t max, char **body, size_t *len, struct ferr *e)
{
	struct http_resp rs;
	unsigned char want[SHA256_LEN], got[SHA256_LEN];
	char *url = xasprintf("%s/v2/%s/blobs/%s", c->base, repo, digest);
	int rc;

	memset(&rs, 0, sizeof(rs));
	*body = NULL;
	if (digest_parse(digest, want, NULL) != 0 || size > max) {
		rc = fe_set(e, FX_VERIFY, "%s: the manifest names blob %s of %llu bytes (over %llu, or not a digest)",
		    ESC(c->name), ESC(digest), (unsigned long long)size, (unsigned long long)max);
		goto end;
	}
	if ((rc = regc_get(c, conn, repo, url, NULL, (size_t)max, 1, &rs, e)) != FX_OK)
		goto end;
	if (rs.status != 200) {
		rc = fe_set(e, FX_TARGET, "GET %s: HTTP %ld", ESC(url), rs.status);
		goto end;
	}
	sha256_buf(rs.body, rs.body_len, got);
	if (rs.body_len != size || CRYPTO_memcmp(got, want, SHA256_LEN) != 0) {
		rc = fe_set(e, FX_VERIFY, "GET %s: the blob is not %s (%zu bytes)", ESC(url), digest, rs.body_len);
		goto end;
	}
	*body = rs.body;
	*len = rs.body_len;
	rs.body = NULL;
end:
	http_resp_free(&rs);
	free(url);
	return rc;
}

/* The manifest by its tag: an OCI image manifest with Helm's config media type. */
static int get_manifest(struct reg_client *c, struct http *conn, const struct image_ref *r, json_t **out,
    struct ferr *e)
{
	static const char *const headers[] = {"Accept: application/vnd.oci.image.manifest.v1+json", NULL};
	struct http_resp rs;
	char *url = xasprintf("%s/v2/%s/manifests/%s", c->base, r->repo, r->tag);
	const char *config_type;
	int rc;

	*out = NULL;
	if ((rc = regc_get(c, conn, r->repo, url, headers, CHART_MANIFEST_MAX, 0, &rs, e)) != FX_OK)
		goto end;
	if (rs.status != 200) {
		rc = fe_set(e, FX_TARGET, "GET %s: HTTP %ld", ESC(url), rs.status);
		goto end;
	}
	*out = json_loadb(rs.body, rs.body_len, JSON_REJECT_DUPLICATES, NULL);
	config_type = json_string_value(json_object_get(json_object_get(*out, "config"), "mediaType"));
	if (*out == NULL || config_type == NULL || strcmp(config_type, CHART_CONFIG_MEDIA) != 0)
		rc = fe_set(e, FX_VERIFY, "GET %s: not a Helm chart (no manifest with config %s)", ESC(url), CHART_CONFIG_MEDIA);
end:
	http_resp_free(&rs);
	free(url);
	return rc;
}

/* Writes the layer of media type mt (optional: absent is FX_OK with *path NULL). */
static int save_layer(struct reg_client *c, struct http *conn, const char *repo, json_t *manifest, const char *mt,
    uint64_t max, const char *path, int *saved, struct ferr *e)
{
	json_t *layer;
	size_t i, len = 0;
	char *body = NULL;
	int rc = FX_OK;

	*saved = 0;
	json_array_foreach(json_object_get(manifest, "layers"), i, layer) {
		const char *t = json_string_value(json_object_get(layer, "mediaType"));
		const char *d = json_string_value(json_object_get(layer, "digest"));
		json_int_t size = json_integer_value(json_object_get(layer, "size"));
		if (t == NULL || strcmp(t, mt) != 0)
			continue;
		if (d == NULL || size < 0)
			return fe_set(e, FX_VERIFY, "%s: a layer %s without a digest or size", ESC(c->name), mt);
		if ((rc = get_blob(c, conn, repo, d, (uint64_t)size, max, &body, &len, e)) == FX_OK &&
		    (rc = fx_write_file(path, body, len, 0644, 0, e)) == FX_OK)
			*saved = 1;
		free(body);
		return rc;
	}
	return FX_OK;
}

int chart_pull(const char *from, const char *staging, const struct pack_opts *o, char **tgz_path, char **prov_path,
    struct ferr *e)
{
	struct image_ref r;
	struct reg_client c;
	struct regc_opts ro;
	struct http *conn = NULL;
	json_t *manifest = NULL;
	char *spec = xstrdup(from + 6), *p, *name, *version = NULL;
	int rc, saved = 0;

	memset(&c, 0, sizeof(c));
	*tgz_path = *prov_path = NULL;
	for (p = strrchr(spec, ':'); p != NULL && *p != '\0'; p++)
		if (*p == '+')
			*p = '_'; /* Helm's tag for SemVer build metadata */
	if ((rc = ref_parse(spec, &r, e)) != FX_OK)
		goto end;
	if (r.tag[0] == '\0' || strcmp(r.domain, "docker.io") == 0) {
		rc = fe_set(e, FX_USAGE, "%s: oci://HOST/REPO/NAME:VERSION expected", ESC(from));
		goto end;
	}
	memset(&ro, 0, sizeof(ro));
	ro.name = from;
	ro.hostport = r.domain;
	ro.plain_http = regc_host_listed(o->plain_http, o->nplain_http, r.domain);
	ro.cacert = o->cacert;
	if ((rc = regc_init(&c, &ro, e)) != FX_OK)
		goto end;
	conn = regc_connect(&c);
	name = strrchr(r.repo, '/') != NULL ? strrchr(r.repo, '/') + 1 : r.repo;
	version = xstrdup(r.tag);
	for (p = version; *p != '\0'; p++)
		if (*p == '_')
			*p = '+';
	*tgz_path = xasprintf("%s/%s-%s.tgz", staging, name, version);
	*prov_path = xasprintf("%s.prov", *tgz_path);
	if ((rc = get_manifest(&c, conn, &r, &manifest, e)) != FX_OK ||
	    (rc = save_layer(&c, conn, r.repo, manifest, CHART_CONTENT_MEDIA, CHART_ARCHIVE_MAX, *tgz_path, &saved, e)) != FX_OK)
		goto end;
	if (!saved) {
		rc = fe_set(e, FX_VERIFY, "%s: the manifest has no %s layer", ESC(from), CHART_CONTENT_MEDIA);
		goto end;
	}
	if ((rc = save_layer(&c, conn, r.repo, manifest, CHART_PROV_MEDIA, CHART_PROV_MAX, *prov_path, &saved, e)) == FX_OK &&
	    !saved) {
		free(*prov_path);
		*prov_path = NULL;
	}
end:
	if (rc != FX_OK) {
		free(*tgz_path);
		free(*prov_path);
		*tgz_path = *prov_path = NULL;
	}
	json_decref(manifest);
	if (conn != NULL)
		http_free(conn);
	regc_free(&c);
	free(version);
	free(spec);
	return rc;
}
