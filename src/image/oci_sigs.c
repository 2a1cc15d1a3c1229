/* oci_sigs.c - cosign signatures in OCI inputs: found in index.json (the legacy
 * `sha256-<hex>.sig` tag, and OCI 1.1 referrers holding a sigstore bundle), staged
 * beside their image with tight bounds (cosign_sig.h), and checked against a key when
 * pack is given one. */
#include "image/images_int.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "image/cosign_sig.h"

int sig_list_has(const struct sig_list *l, const unsigned char digest[SHA256_LEN])
{
	size_t i;

	for (i = 0; l != NULL && i < l->n; i++)
		if (memcmp(l->v[i].desc.digest, digest, SHA256_LEN) == 0)
			return 1;
	return 0;
}

void sig_list_free(struct sig_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		oci_desc_free(&l->v[i].desc);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* A referrer listed with the sigstore bundle artifactType: its subject (the manifest is
 * read: it is small, bounded by the caller), when it really is a bundle referrer. */
static int referrer_subject(struct input *in, const struct oci_desc *d, char subject[SHA256_HEX])
{
	struct ferr ignored = {0, ""};
	char name[16 + SHA256_HEX], *buf = NULL;
	struct member *m;
	json_t *root = NULL;
	const char *digest;
	size_t len = 0;
	int found = 0;

	snprintf(name, sizeof(name), "blobs/sha256/%s", d->hex);
	if ((m = input_find(in, name, &ignored)) == NULL || m->deferred || m->size != d->size ||
	    member_read(in, m, &buf, &len, &ignored) != FX_OK || (root = json_loadb(buf, len, 0, NULL)) == NULL)
		goto end; /* a signature that is not there is not one */
	digest = json_string_value(json_object_get(json_object_get(root, "subject"), "digest"));
	if (digest != NULL && digest_valid(digest) && cosign_sig_referrer(buf, len, digest + 7) != NULL) {
		memcpy(subject, digest + 7, SHA256_HEX);
		found = 1;
	}
end:
	json_decref(root);
	free(buf);
	return found;
}

/* One descriptor of index.json: a signature, or not. */
static void find_one(struct input *in, json_t *jd, struct sig_list *out)
{
	struct sig_found f;
	struct ferr ignored = {0, ""};
	json_t *one = json_pack("{s:i, s:[O]}", "schemaVersion", 2, "manifests", jd);
	struct oci_doc doc;
	char *text = one != NULL ? json_dumps(one, JSON_COMPACT) : NULL;
	const char *artifact = json_string_value(json_object_get(jd, "artifactType"));

	memset(&doc, 0, sizeof(doc));
	memset(&f, 0, sizeof(f));
	/* the one descriptor parser checks digest, size and names */
	if (text == NULL || oci_doc_parse(text, strlen(text), OCI_MT_INDEX, "index.json", &doc, &ignored) != FX_OK ||
	    doc.ndescs != 1 || !oci_mt_is_manifest(doc.descs[0].media_type))
		goto end;
	/* a tagged one larger than allowed is still a signature: stage_sig refuses it */
	if (cosign_sig_tag(doc.descs[0].ref_name, f.subject))
		f.kind = MAN_SIG_SIMPLE;
	else if (artifact != NULL && strcmp(artifact, COSIGN_BUNDLE_MEDIA_TYPE) == 0 && doc.descs[0].size <= SIG_MANIFEST_MAX &&
	    referrer_subject(in, &doc.descs[0], f.subject))
		f.kind = MAN_SIG_BUNDLE;
	if (f.kind == NULL || sig_list_has(out, doc.descs[0].digest))
		goto end;
	oci_desc_copy(&f.desc, &doc.descs[0]);
	out->v = xreallocarray(out->v, out->n + 1, sizeof(*out->v));
	out->v[out->n++] = f;
end:
	oci_doc_free(&doc);
	free(text);
	json_decref(one);
}

int oci_sigs_find(struct input *in, struct sig_list *out, struct ferr *e)
{
	struct member *m;
	json_t *root = NULL, *jd;
	char *buf = NULL;
	size_t len = 0, i;
	int rc = FX_OK;

	memset(out, 0, sizeof(*out));
	if ((m = input_find(in, "index.json", e)) == NULL || m->deferred)
		return e->code; /* no index: stage_oci says so */
	if ((rc = member_read(in, m, &buf, &len, e)) != FX_OK)
		return rc;
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	json_array_foreach(json_object_get(root, "manifests"), i, jd)
		find_one(in, jd, out);
	json_decref(root);
	free(buf);
	return FX_OK;
}

/* sig_blob_fn over an input: the blob must be one of its members, of that size. */
static int input_blob(void *ctx, const char *digest, uint64_t size, size_t max, char **buf, size_t *len,
    struct ferr *e)
{
	struct input *in = ctx;
	struct oci_desc d;
	struct member *m;
	int rc;

	memset(&d, 0, sizeof(d));
	if (size > max || digest_parse(digest, d.digest, d.hex) != 0)
		return fe_set(e, FX_VERIFY, "%s: signature blob %s: larger than %zu bytes", in->label, ESC(digest), max);
	d.size = size;
	if ((m = oci_blob(in, &d, e)) == NULL)
		return e->code;
	rc = member_read(in, m, buf, len, e);
	return rc;
}

/* One signature manifest: its config and layers (bounded), then itself, staged; s
 * gets what bundle.yaml says of it. */
static int stage_sig(struct stage *st, struct input *in, const struct sig_found *f, struct man_signature *s,
    char **manifest, size_t *manifest_len, struct ferr *e)
{
	struct oci_doc doc;
	struct member *m;
	char what[LABEL_MAX + 96];
	size_t i;
	int rc = FX_OK;

	memset(&doc, 0, sizeof(doc));
	snprintf(what, sizeof(what), "%s: signature sha256:%s", in->label, f->desc.hex);
	if (f->desc.size > SIG_MANIFEST_MAX)
		return fe_set(e, FX_VERIFY, "%s: a signature manifest larger than %zu bytes", what, SIG_MANIFEST_MAX);
	if ((m = oci_blob(in, &f->desc, e)) == NULL)
		return e->code;
	if ((rc = member_read(in, m, manifest, manifest_len, e)) != FX_OK ||
	    (rc = oci_doc_parse(*manifest, *manifest_len, f->desc.media_type, what, &doc, e)) != FX_OK)
		goto end;
	if (doc.kind != OCI_KIND_MANIFEST || doc.ndescs > SIG_LAYERS_MAX || doc.config.size > SIG_CONFIG_MAX) {
		rc = fe_set(e, FX_VERIFY, "%s: not a signature manifest (at most %d layers, a config of at most %llu "
		    "bytes)", what, SIG_LAYERS_MAX, (unsigned long long)SIG_CONFIG_MAX);
		goto end;
	}
	s->kind = xstrdup(f->kind);
	s->digest = xasprintf("sha256:%s", f->desc.hex);
	s->blobs = xcalloc(doc.ndescs + 1, sizeof(*s->blobs));
	for (i = 0; i <= doc.ndescs; i++) {
		const struct oci_desc *d = i == 0 ? &doc.config : &doc.descs[i - 1];
		if (i > 0 && d->size > COSIGN_PAYLOAD_MAX) {
			rc = fe_set(e, FX_VERIFY, "%s: layer sha256:%s is larger than %u bytes", what, d->hex,
			    COSIGN_PAYLOAD_MAX);
			goto end;
		}
		if ((m = oci_blob(in, d, e)) == NULL || (rc = stage_member(st, in, &st->leaves, m, e)) != FX_OK) {
			rc = e->code;
			goto end;
		}
		s->blobs[s->nblobs++] = xasprintf("sha256:%s", d->hex);
	}
	if ((m = oci_blob(in, &f->desc, e)) == NULL || (rc = stage_member(st, in, &st->manifests, m, e)) != FX_OK)
		rc = e->code;
end:
	oci_doc_free(&doc);
	return rc;
}

int oci_sigs_stage(struct stage *st, struct input *in, const struct sig_list *l, const struct oci_desc *top,
    const struct img_src *src, const char *full, struct man_image *mi, struct ferr *e)
{
	const char *why = "it has no cosign signature";
	char image_digest[DIGEST_STR];
	size_t i, good = 0;
	int rc = FX_OK;

	snprintf(image_digest, sizeof(image_digest), "sha256:%s", top->hex);
	for (i = 0; l != NULL && i < l->n && rc == FX_OK; i++) {
		char *manifest = NULL;
		size_t len = 0;
		struct man_signature *s;
		const char *sig_why = NULL;

		if (strcmp(l->v[i].subject, top->hex) != 0)
			continue;
		if (mi->nsignatures == MAN_SIGS_MAX) {
			rc = fe_set(e, FX_VERIFY, "%s: image %s has more than %d cosign signatures", in->label, ESC(full),
			    MAN_SIGS_MAX);
			break;
		}
		mi->signatures = xreallocarray(mi->signatures, mi->nsignatures + 1, sizeof(*mi->signatures));
		s = &mi->signatures[mi->nsignatures++];
		memset(s, 0, sizeof(*s));
		rc = stage_sig(st, in, &l->v[i], s, &manifest, &len, e);
		if (rc == FX_OK && src->cosign_key != NULL) {
			rc = cosign_sig_check(src->cosign_key, s->kind, image_digest, manifest, len, input_blob, in, &sig_why, e);
			if (rc == FX_OK)
				good++;
			else if (rc == FX_VERIFY) {
				why = sig_why;
				rc = FX_OK;
			}
		}
		free(manifest);
	}
	if (rc == FX_OK && src->cosign_key != NULL && good == 0)
		rc = fe_set(e, FX_VERIFY, "%s: image %s: no cosign signature verifies with %s: %s", in->label, ESC(full),
		    ESC(src->cosign_key_name ? src->cosign_key_name : "the key"), why);
	if (rc == FX_OK && mi->nsignatures > 0)
		mi->cosign = xstrdup(src->cosign_key != NULL ? "verified" : "unverified");
	return rc;
}
