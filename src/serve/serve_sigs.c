/* serve_sigs.c - the cosign signatures a bundle carries, answered where cosign and
 * admission controllers look for them (docs/loading.md, "serve"): the legacy
 * signature manifest under the tag `sha256-<hex>.sig` of its image's repository, a
 * sigstore bundle by its digest and as a referrer of its subject (OCI 1.1
 * `GET /v2/NAME/referrers/DIGEST`). The same places `load --to registry://` pushes
 * them to; nothing is made up: every manifest is served as the bundle holds it. */
#include "serve/serve_int.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

void serve_describe_referrer(struct serve_blob *b, json_t *doc)
{
	json_t *subject = json_object_get(doc, "subject"), *annotations = json_object_get(doc, "annotations");
	json_t *desc;
	const char *artifact_type = json_string_value(json_object_get(doc, "artifactType"));

	/* no subject (or one a registry would not take): not a referrer of anything */
	if (!json_is_object(subject) ||
	    digest_parse(json_string_value(json_object_get(subject, "digest")), b->subject, NULL) != 0)
		return;
	if (artifact_type == NULL) /* the spec's fallback: the config's media type */
		artifact_type = json_string_value(json_object_get(json_object_get(doc, "config"), "mediaType"));
	desc = json_pack("{s:s, s:s, s:I}", "mediaType", b->media_type, "digest", b->name, "size", (json_int_t)b->size);
	if (desc == NULL)
		return;
	if (artifact_type != NULL)
		json_object_set_new(desc, "artifactType", json_string(artifact_type));
	if (json_is_object(annotations) && json_object_size(annotations) > 0)
		json_object_set(desc, "annotations", annotations);
	b->referrer = json_dumps(desc, JSON_COMPACT);
	json_decref(desc);
	if (b->referrer == NULL)
		return;
	b->artifact_type = artifact_type != NULL ? xstrdup(artifact_type) : NULL;
	b->has_subject = 1;
}

/* Every blob of a signature, and its manifest, are served from the image's
 * repository (and from no other repository that does not list them itself). */
static int add_signature_blobs(struct serve_index *ix, struct serve_repo *r, const struct man_image *mi,
    const struct man_signature *sig, const char *path, struct ferr *e)
{
	unsigned char d[SHA256_LEN];
	size_t k;

	for (k = 0; k <= sig->nblobs; k++) {
		const char *ds = k < sig->nblobs ? sig->blobs[k] : sig->digest;
		struct serve_blob *b;

		if (digest_parse(ds, d, NULL) != 0 || (b = serve_index_blob(ix, d)) == NULL ||
		    (k == sig->nblobs && b->bytes == NULL))
			return fe_set(e, FX_VERIFY, "%s: image %s: bundle.yaml lists the signature blob %s, which the bundle "
			    "does not hold", ESC(path), ESC(mi->ref), ESC(ds));
		r->blobs = xreallocarray(r->blobs, r->nblobs + 1, sizeof(*r->blobs));
		r->blobs[r->nblobs++] = b;
	}
	return FX_OK;
}

/* The legacy signature under the tag cosign looks up. A tag that another signature
 * manifest took already (the image carried with other signatures in an earlier bundle,
 * or two of them in one) keeps the first: said at start, the other stays served by its
 * digest. */
static void add_signature_tag(struct serve_index *ix, struct serve_repo *r, const struct man_image *mi,
    const struct man_signature *sig, const char *path)
{
	unsigned char d[SHA256_LEN];
	char tag[REPO_TAG_MAX];
	struct serve_blob *m;
	size_t i;

	if (digest_parse(sig->digest, d, NULL) != 0 || (m = serve_index_blob(ix, d)) == NULL)
		return;
	snprintf(tag, sizeof(tag), "sha256-%s.sig", mi->digest + 7);
	for (i = 0; i < r->ntags; i++) {
		if (strcmp(r->tags[i].name, tag) != 0)
			continue;
		if (r->tags[i].manifest != m)
			fx_warn("serve: %s: %s:%s is %s already (an earlier signature of the same image); %s is served by "
			    "its digest only", ESC(path), r->name, tag, r->tags[i].manifest->name, m->name);
		return;
	}
	r->tags = xreallocarray(r->tags, r->ntags + 1, sizeof(*r->tags));
	fx_strlcpy(r->tags[r->ntags].name, tag, sizeof(r->tags[r->ntags].name));
	r->tags[r->ntags++].manifest = m;
}

int serve_add_signatures(struct serve_index *ix, struct serve_repo *r, const struct man_image *mi, const char *path,
    struct ferr *e)
{
	size_t i;
	int rc;

	for (i = 0; i < mi->nsignatures; i++) {
		const struct man_signature *sig = &mi->signatures[i];

		if ((rc = add_signature_blobs(ix, r, mi, sig, path, e)) != FX_OK)
			return rc;
		if (strcmp(sig->kind, MAN_SIG_SIMPLE) == 0)
			add_signature_tag(ix, r, mi, sig, path);
	}
	return FX_OK;
}

struct serve_blob **serve_repo_referrers(const struct serve_repo *r, const unsigned char subject[SHA256_LEN],
    const char *artifact_type)
{
	struct serve_blob **found = xcalloc(r->nblobs + 1, sizeof(*found));
	size_t i, n = 0;

	for (i = 0; i < r->nblobs; i++) {
		struct serve_blob *b = r->blobs[i];

		if (b->bytes == NULL || !b->has_subject || CRYPTO_memcmp(b->subject, subject, SHA256_LEN) != 0)
			continue;
		if (artifact_type != NULL && (b->artifact_type == NULL || strcmp(b->artifact_type, artifact_type) != 0))
			continue;
		found[n++] = b;
	}
	return found;
}
