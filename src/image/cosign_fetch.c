/* cosign_fetch.c - the cosign signatures of an image pulled from a registry: the
 * legacy tag GET /v2/REPO/manifests/sha256-<hex>.sig and its small blobs, and the OCI
 * 1.1 referrers API GET /v2/REPO/referrers/<digest> (its sigstore bundles; a registry
 * that does not serve it answers 404, meaning none). What arrives becomes members of
 * the pulled image's layout and entries of its index.json, so oci_sigs.c finds and
 * stages them like a layout's own. Every manifest and blob is bounded (cosign_sig.h)
 * and checked against its digest and size before it is kept. */
#include "image/images_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "image/cosign_sig.h"
#include "net/registry_client.h"

static const char *const sig_accept[] = {"Accept: " OCI_MT_MANIFEST ", " OCI_MT_INDEX, NULL};

struct fetch {
	struct reg_client *client;
	struct http *conn;
	const char *repo, *label;
	struct input *in;
	struct stage *st;
	json_t *descs; /* index.json descriptors of the signatures */
};

/* GET path under /v2/REPO/, at most max bytes; *status the answer's (0: none). */
static int get(struct fetch *f, const char *path, size_t max, int blob, long *status, char **buf, size_t *len,
    struct ferr *e)
{
	struct http_resp rs;
	struct ferr why = {0, ""};
	char *url = xasprintf("%s/v2/%s/%s", f->client->base, f->repo, path);
	int rc;

	if ((rc = regc_get(f->client, f->conn, f->repo, url, blob ? NULL : sig_accept, max, blob, &rs, &why)) != FX_OK) {
		rc = fe_set(e, rc, "%s: signatures: %s", f->label, why.msg);
		goto end;
	}
	*status = rs.status;
	*buf = rs.body;
	*len = rs.body_len;
	rs.body = NULL;
end:
	http_resp_free(&rs);
	free(url);
	return rc;
}

/* Keeps buf as member blobs/sha256/<hex of digest> of the layout, when it is that
 * digest and size. */
static int keep(struct fetch *f, const struct oci_desc *d, const char *buf, size_t len, struct ferr *e)
{
	unsigned char got[SHA256_LEN];
	char name[16 + SHA256_HEX], *tmp;
	size_t i;
	int fd, rc = FX_OK;

	sha256_buf(buf, len, got);
	if (len != d->size || CRYPTO_memcmp(got, d->digest, SHA256_LEN) != 0)
		return fe_set(e, FX_VERIFY, "%s: signature blob sha256:%s: the registry sent other bytes", f->label, d->hex);
	snprintf(name, sizeof(name), "blobs/sha256/%s", d->hex);
	for (i = 0; i < f->in->nmembers; i++) /* not sorted yet: looked through */
		if (strcmp(f->in->members[i]->name, name) == 0)
			return FX_OK;
	tmp = stage_tmp_path(f->st);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || write_all(fd, buf, len) != 0 || close(fd) != 0) {
		rc = fe_set(e, FX_IO, "%s: %s", ESC(tmp), strerror(errno));
		unlink(tmp);
		free(tmp);
		return rc;
	}
	input_add_staged(f->in, name, tmp, got, len);
	return FX_OK;
}

/* A blob of a signature manifest (config or layer), at most max bytes. */
static int fetch_blob(struct fetch *f, const struct oci_desc *d, uint64_t max, struct ferr *e)
{
	char path[16 + DIGEST_STR], *buf = NULL;
	size_t len = 0;
	long status = 0;
	int rc;

	if (d->size > max)
		return fe_set(e, FX_VERIFY, "%s: signature blob sha256:%s is larger than %llu bytes", f->label, d->hex,
		    (unsigned long long)max);
	snprintf(path, sizeof(path), "blobs/sha256:%s", d->hex);
	if ((rc = get(f, path, (size_t)max, 1, &status, &buf, &len, e)) == FX_OK) {
		if (status != 200)
			rc = fe_set(e, FX_TARGET, "%s: signature blob sha256:%s: HTTP %ld", f->label, d->hex, status);
		else
			rc = keep(f, d, buf, len, e);
	}
	free(buf);
	return rc;
}

/* A signature manifest that arrived (d: what it must be): kept with its blobs, and
 * described for index.json (ref_name: the legacy tag; else a referrer). */
static int fetch_sig(struct fetch *f, const struct oci_desc *d, const char *buf, size_t len, const char *ref_name,
    struct ferr *e)
{
	struct oci_doc doc;
	char what[900];
	size_t i;
	int rc;

	memset(&doc, 0, sizeof(doc));
	snprintf(what, sizeof(what), "%s: signature sha256:%s", f->label, d->hex);
	if ((rc = keep(f, d, buf, len, e)) != FX_OK ||
	    (rc = oci_doc_parse(buf, len, OCI_MT_MANIFEST, what, &doc, e)) != FX_OK)
		goto end;
	if (doc.kind != OCI_KIND_MANIFEST || doc.ndescs > SIG_LAYERS_MAX) {
		rc = fe_set(e, FX_VERIFY, "%s: not a signature manifest of at most %d layers", what, SIG_LAYERS_MAX);
		goto end;
	}
	if ((rc = fetch_blob(f, &doc.config, SIG_CONFIG_MAX, e)) != FX_OK)
		goto end;
	for (i = 0; i < doc.ndescs && rc == FX_OK; i++)
		rc = fetch_blob(f, &doc.descs[i], COSIGN_PAYLOAD_MAX, e);
	if (rc == FX_OK)
		json_array_append_new(f->descs, ref_name != NULL ?
		    json_pack("{s:s, s:s+, s:I, s:{s:s}}", "mediaType", OCI_MT_MANIFEST, "digest", "sha256:", d->hex, "size",
		    (json_int_t)len, "annotations", OCI_ANNOT_REF_NAME, ref_name) :
		    json_pack("{s:s, s:s+, s:I, s:s}", "mediaType", OCI_MT_MANIFEST, "digest", "sha256:", d->hex, "size",
		    (json_int_t)len, "artifactType", COSIGN_BUNDLE_MEDIA_TYPE));
end:
	oci_doc_free(&doc);
	return rc;
}

/* The legacy tag: 404 means the image has none. */
static int fetch_tag(struct fetch *f, const struct oci_desc *top, struct ferr *e)
{
	char path[32 + SHA256_HEX], tag[16 + SHA256_HEX], *buf = NULL;
	struct oci_desc d;
	size_t len = 0;
	long status = 0;
	int rc;

	memset(&d, 0, sizeof(d));
	snprintf(tag, sizeof(tag), "sha256-%s.sig", top->hex);
	snprintf(path, sizeof(path), "manifests/%s", tag);
	if ((rc = get(f, path, SIG_MANIFEST_MAX, 0, &status, &buf, &len, e)) != FX_OK || status == 404)
		goto end;
	if (status != 200) {
		rc = fe_set(e, FX_TARGET, "%s: signature %s: HTTP %ld", f->label, tag, status);
		goto end;
	}
	sha256_buf(buf, len, d.digest);
	hex_encode(d.digest, SHA256_LEN, d.hex);
	d.size = len;
	rc = fetch_sig(f, &d, buf, len, tag, e);
end:
	free(buf);
	return rc;
}

/* The referrers API: the sigstore bundles whose subject is the image. */
static int fetch_referrers(struct fetch *f, const struct oci_desc *top, struct ferr *e)
{
	char path[64 + SHA256_HEX], *buf = NULL;
	struct oci_doc idx;
	size_t len = 0, i, kept = 0;
	long status = 0;
	int rc;

	memset(&idx, 0, sizeof(idx));
	snprintf(path, sizeof(path), "referrers/sha256:%s", top->hex);
	if ((rc = get(f, path, SIG_MANIFEST_MAX, 0, &status, &buf, &len, e)) != FX_OK || status != 200)
		goto end; /* 404 (or a registry without the API): none */
	if ((rc = oci_doc_parse(buf, len, OCI_MT_INDEX, "referrers", &idx, e)) != FX_OK)
		goto end;
	for (i = 0; i < idx.ndescs && rc == FX_OK && kept < MAN_SIGS_MAX; i++) {
		const struct oci_desc *d = &idx.descs[i];
		char *m = NULL;
		size_t mlen = 0;
		char mpath[16 + DIGEST_STR];

		if (d->size > SIG_MANIFEST_MAX || !oci_mt_is_manifest(d->media_type))
			continue;
		snprintf(mpath, sizeof(mpath), "manifests/sha256:%s", d->hex);
		if ((rc = get(f, mpath, SIG_MANIFEST_MAX, 0, &status, &m, &mlen, e)) == FX_OK && status == 200 &&
		    cosign_sig_referrer(m, mlen, top->hex) != NULL) {
			rc = fetch_sig(f, d, m, mlen, NULL, e);
			kept++;
		}
		free(m);
	}
end:
	oci_doc_free(&idx);
	free(buf);
	return rc;
}

int cosign_fetch(struct reg_client *client, struct http *conn, const char *repo, const char *label, struct stage *st,
    struct input *in, const struct oci_desc *top, char **index, size_t *index_len, struct ferr *e)
{
	struct fetch f = {client, conn, repo, label, in, st, json_array()};
	json_t *root = NULL, *manifests;
	size_t i;
	json_t *d;
	int rc;

	if ((rc = fetch_tag(&f, top, e)) != FX_OK || (rc = fetch_referrers(&f, top, e)) != FX_OK)
		goto end;
	if (json_array_size(f.descs) == 0)
		goto end; /* index.json stays as it is */
	root = json_loadb(*index, *index_len, 0, NULL);
	manifests = json_object_get(root, "manifests");
	json_array_foreach(f.descs, i, d)
		json_array_append(manifests, d);
	free(*index);
	*index = json_dumps(root, JSON_COMPACT);
	*index_len = *index != NULL ? strlen(*index) : 0;
	if (*index == NULL)
		rc = fe_set(e, FX_IO, "out of memory");
end:
	json_decref(root);
	json_decref(f.descs);
	return rc;
}
