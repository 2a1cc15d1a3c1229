/* oci_input.c - OCI inputs (an oci-archive, an OCI layout directory, or a docker save
 * of Docker >= 25, which holds an OCI layout): the image is copied byte-exact, every
 * blob checked against the digest and size of the descriptor that names it.
 *
 * Layer diff_ids are not checked here: that would mean decompressing every layer
 * (docs/security.md says why not). Docker checks them when it loads the image. */
#include "image/images_int.h"

#include <stdlib.h>
#include <string.h>

static void blob_name(const struct oci_desc *d, char name[16 + SHA256_HEX])
{
	snprintf(name, 16 + SHA256_HEX, "blobs/sha256/%s", d->hex);
}

/* A blob of an OCI input, checked against the descriptor that names it: the size
 * before anything is copied, the digest as it is. */
struct member *oci_blob(struct input *in, const struct oci_desc *d, struct ferr *e)
{
	char name[16 + SHA256_HEX], got[SHA256_HEX];
	struct member *m;

	blob_name(d, name);
	if ((m = input_need(in, name, 1, e)) == NULL)
		return NULL;
	if (m->size != d->size) {
		fe_set(e, FX_VERIFY, "%s: blob sha256:%s is %llu bytes, its descriptor says %llu", in->label, d->hex,
		    (unsigned long long)m->size, (unsigned long long)d->size);
		return NULL;
	}
	if (member_stage_range(in, m, e) != FX_OK)
		return NULL;
	if (memcmp(m->digest, d->digest, SHA256_LEN) != 0) {
		hex_encode(m->digest, SHA256_LEN, got);
		fe_set(e, FX_VERIFY, "%s: blob sha256:%s has digest sha256:%s (corrupt input)", in->label, d->hex,
		    got);
		return NULL;
	}
	return m;
}

struct member *oci_layer_blob(struct stage *st, struct input *in, const struct oci_desc *d, struct ferr *e)
{
	char name[16 + SHA256_HEX];
	struct ferr ignored = {0, ""};
	struct member *m;

	blob_name(d, name);
	if (!st->o->blobs_in_place || in->dir != NULL || (m = input_find(in, name, &ignored)) == NULL ||
	    !m->ranged || m->size != d->size)
		return oci_blob(in, d, e);
	memcpy(m->digest, d->digest, SHA256_LEN);
	m->claimed = 1;
	return m;
}

/* --- what the input references (for the second pass over a compressed archive) --- */

static int reference_desc(struct input *in, const struct oci_desc *d, int depth, struct ferr *e);

/* A manifest or index staged in the first pass: what it references. Documents that do
 * not parse are left to the walk, which reports them. */
static int reference_doc(struct input *in, struct member *m, const struct oci_desc *d, int depth,
    struct ferr *e)
{
	struct oci_doc doc;
	struct ferr ignored = {0, ""};
	char *buf = NULL;
	size_t len = 0, i;
	int rc = FX_OK;

	memset(&doc, 0, sizeof(doc));
	if (member_read(in, m, &buf, &len, &ignored) != FX_OK ||
	    oci_doc_parse(buf, len, d->media_type, "reference walk", &doc, &ignored) != FX_OK)
		goto end;
	if (doc.kind == OCI_KIND_MANIFEST)
		rc = reference_desc(in, &doc.config, OCI_MAX_DEPTH + 1, e);
	for (i = 0; rc == FX_OK && i < doc.ndescs; i++)
		rc = reference_desc(in, &doc.descs[i], doc.kind == OCI_KIND_INDEX ? depth + 1 : OCI_MAX_DEPTH + 1, e);
end:
	free(buf);
	oci_doc_free(&doc);
	return rc;
}

/* depth > OCI_MAX_DEPTH: a leaf (config or layer), not followed. */
static int reference_desc(struct input *in, const struct oci_desc *d, int depth, struct ferr *e)
{
	char name[16 + SHA256_HEX];
	struct ferr ignored = {0, ""};
	struct member *m;

	blob_name(d, name);
	if ((m = input_find(in, name, &ignored)) == NULL)
		return FX_OK; /* missing: the walk says so */
	if (m->deferred)
		return member_reference(in, m, d->size, e);
	if (depth > OCI_MAX_DEPTH || m->walked || (!oci_mt_is_manifest(d->media_type) && !oci_mt_is_index(d->media_type)))
		return FX_OK;
	m->walked = 1; /* once: an index may list a manifest many times */
	return reference_doc(in, m, d, depth, e);
}

int oci_reference(struct input *in, struct ferr *e)
{
	struct oci_doc idx;
	struct ferr ignored = {0, ""};
	struct member *m;
	char *buf = NULL;
	size_t len = 0, i;
	int rc = FX_OK;

	memset(&idx, 0, sizeof(idx));
	if ((m = input_find(in, "index.json", &ignored)) == NULL || m->deferred ||
	    member_read(in, m, &buf, &len, &ignored) != FX_OK ||
	    oci_doc_parse(buf, len, NULL, "index.json", &idx, &ignored) != FX_OK)
		goto end; /* the walk reports it */
	for (i = 0; rc == FX_OK && i < idx.ndescs; i++)
		rc = reference_desc(in, &idx.descs[i], 0, e);
end:
	free(buf);
	oci_doc_free(&idx);
	return rc;
}

/* --- the walk that stages an image --- */

static int oci_walk(struct stage *st, struct input *in, const struct oci_desc *d, int depth,
    struct image_summary *a, int *layers, struct ferr *e);

/* An index: every child, and the layer count of its first real platform. */
static int walk_index(struct stage *st, struct input *in, const struct oci_doc *doc, int depth,
    struct image_summary *a, int *layers, struct ferr *e)
{
	size_t i;
	int rc = FX_OK, got_layers = 0;

	*layers = 0;
	for (i = 0; i < doc->ndescs; i++) {
		const struct oci_desc *c = &doc->descs[i];
		int child_layers = 0;
		if ((rc = oci_walk(st, in, c, depth + 1, a, &child_layers, e)) != FX_OK)
			break;
		if (depth == 0)
			summary_platform(a, c->platform);
		if (!got_layers && (c->platform == NULL || strcmp(c->platform, "unknown/unknown") != 0)) {
			*layers = child_layers;
			got_layers = 1;
		}
	}
	return rc;
}

/* The platform a top-level image manifest's config names. */
static int config_platform(struct input *in, struct member *cm, const struct oci_desc *config,
    struct image_summary *a, struct ferr *e)
{
	struct oci_config cfg;
	char *buf = NULL;
	size_t len = 0;
	char what[LABEL_MAX + 96];
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	snprintf(what, sizeof(what), "%s: config sha256:%s", in->label, config->hex);
	if ((rc = member_read(in, cm, &buf, &len, e)) != FX_OK ||
	    (rc = oci_config_parse(buf, len, what, &cfg, e)) != FX_OK)
		goto end;
	free(a->platform);
	a->platform = oci_config_platform(&cfg);
	summary_platform(a, a->platform);
end:
	oci_config_free(&cfg);
	free(buf);
	return rc;
}

/* The SBOM hook sees a layer of a plain archive where it lies, before it is copied. */
static int offer_layer(struct stage *st, struct input *in, const struct oci_desc *d, struct ferr *e)
{
	char name[16 + SHA256_HEX];
	struct ferr ignored = {0, ""};
	struct member *m;

	blob_name(d, name);
	if (in->dir != NULL || (m = input_find(in, name, &ignored)) == NULL || !m->ranged || m->size != d->size)
		return FX_OK; /* staged first: offered from there (oci_blob reports what is wrong) */
	return st->o->layer_blob(st->o->layer_ctx, d->digest, m->path, m->offset, m->size, in->label, e);
}

/* A manifest: its config and layers, in that order. */
static int walk_manifest(struct stage *st, struct input *in, const struct oci_doc *doc, int depth,
    struct image_summary *a, int *layers, struct ferr *e)
{
	struct member *m;
	size_t i;
	int rc;

	if ((m = oci_blob(in, &doc->config, e)) == NULL)
		return e->code;
	if (depth == 0 && oci_mt_is_config(doc->config.media_type) &&
	    (rc = config_platform(in, m, &doc->config, a, e)) != FX_OK)
		return rc;
	if ((rc = stage_member(st, in, &st->leaves, m, e)) != FX_OK)
		return rc;
	summary_blob(a, doc->config.hex, doc->config.size);
	for (i = 0; st->o->layer_blob != NULL && i < doc->ndescs; i++)
		if ((rc = offer_layer(st, in, &doc->descs[i], e)) != FX_OK)
			return rc;
	for (i = 0; i < doc->ndescs; i++) {
		const struct img_blob *b;
		if ((m = oci_layer_blob(st, in, &doc->descs[i], e)) == NULL)
			return e->code;
		if ((rc = stage_member(st, in, &st->leaves, m, e)) != FX_OK)
			return rc;
		/* a staged copy (a layer left in place was offered where it lies) */
		b = blob_find(st, m->digest);
		if (st->o->layer_blob != NULL && b->path != NULL && b->offset == 0 &&
		    (rc = st->o->layer_blob(st->o->layer_ctx, m->digest, b->path, 0, 0, in->label, e)) != FX_OK)
			return rc;
		summary_blob(a, doc->descs[i].hex, doc->descs[i].size);
	}
	*layers = (int)doc->ndescs;
	return FX_OK;
}

/* Stages a manifest or index and everything below it; *layers gets the layer count of
 * a manifest (an index: of its first real platform). */
static int oci_walk(struct stage *st, struct input *in, const struct oci_desc *d, int depth,
    struct image_summary *a, int *layers, struct ferr *e)
{
	struct oci_doc doc;
	struct member *m;
	char *buf = NULL;
	size_t len = 0;
	int rc = FX_OK;
	char what[LABEL_MAX + 96], digest[7 + SHA256_HEX];

	memset(&doc, 0, sizeof(doc));
	snprintf(what, sizeof(what), "%s: sha256:%s", in->label, d->hex);
	snprintf(digest, sizeof(digest), "sha256:%s", d->hex);
	if (strv_has(a->manifests, a->nmanifests, digest)) {
		/* Already staged for this image (an index may list a manifest twice):
		 * walking it again would only let a hostile index multiply the work. */
		struct img_blob *b = blob_find(st, d->digest);
		if (b == NULL || b->size != d->size)
			return fe_set(e, FX_VERIFY, "%s: listed with another size", what);
		*layers = 0;
		return FX_OK;
	}
	if (depth > OCI_MAX_DEPTH)
		return fe_set(e, FX_VERIFY, "%s: indexes nested deeper than %d", what, OCI_MAX_DEPTH);
	if (!oci_mt_is_manifest(d->media_type) && !oci_mt_is_index(d->media_type))
		return fe_set(e, FX_VERIFY, "%s: not an image manifest or index (mediaType %s)", what,
		    ESC(d->media_type ? d->media_type : "missing"));
	if ((m = oci_blob(in, d, e)) == NULL)
		return e->code;
	if ((rc = member_read(in, m, &buf, &len, e)) != FX_OK ||
	    (rc = oci_doc_parse(buf, len, d->media_type, what, &doc, e)) != FX_OK)
		goto end;
	if (doc.kind == OCI_KIND_INDEX)
		rc = walk_index(st, in, &doc, depth, a, layers, e);
	else
		rc = walk_manifest(st, in, &doc, depth, a, layers, e);
	if (rc != FX_OK)
		goto end;
	/* The document itself goes after everything it references. */
	if ((rc = stage_member(st, in, &st->manifests, m, e)) != FX_OK)
		goto end;
	summary_blob(a, d->hex, d->size);
	summary_manifest(a, d->hex);
end:
	free(buf);
	oci_doc_free(&doc);
	return rc;
}

/* Does an index.json descriptor carry the name asked for? */
static int oci_name_matches(const struct oci_desc *d, const char *tag, const struct oci_ref *ref)
{
	const char *names[2] = {d->ref_name, d->image_name};
	size_t i;

	for (i = 0; i < 2; i++) {
		const char *n = names[i];
		struct oci_ref r;
		struct ferr ign = {0};
		int hit = 0;

		if (n == NULL)
			continue;
		if (tag != NULL && strcmp(n, tag) == 0)
			return 1;
		if (oci_ref_parse(n, &r, &ign) != FX_OK)
			continue;
		if (tag != NULL && strchr(tag, ':') == NULL && strchr(tag, '/') == NULL) {
			hit = r.tag != NULL && strcmp(r.tag, tag) == 0;
		} else if (tag != NULL) {
			struct oci_ref want;
			struct ferr ign2 = {0};
			if (oci_ref_parse(tag, &want, &ign2) == FX_OK) {
				hit = strcmp(r.domain, want.domain) == 0 && strcmp(r.repo, want.repo) == 0 &&
				    r.tag != NULL && want.tag != NULL && strcmp(r.tag, want.tag) == 0;
				oci_ref_free(&want);
			}
		} else
			hit = strcmp(r.domain, ref->domain) == 0 && strcmp(r.repo, ref->repo) == 0 &&
			    r.tag != NULL && ref->tag != NULL && strcmp(r.tag, ref->tag) == 0;
		oci_ref_free(&r);
		if (hit)
			return 1;
	}
	return 0;
}

/* Which image of index.json: the only one, else the one named tag (or ref). */
static int oci_pick(const struct oci_doc *idx, const char *tag, const struct oci_ref *ref,
    const struct sig_list *sigs, const char *what, size_t *pick, struct ferr *e)
{
	size_t i, hits = 0, images = 0;

	*pick = 0;
	/* cosign signatures listed beside the image are not images to pick */
	for (i = 0; i < idx->ndescs; i++)
		if (!sig_list_has(sigs, idx->descs[i].digest)) {
			if (images++ == 0)
				*pick = i;
		}
	if (images == 1 && tag == NULL)
		return FX_OK;
	for (i = 0; i < idx->ndescs; i++) {
		if (sig_list_has(sigs, idx->descs[i].digest) || !oci_name_matches(&idx->descs[i], tag, ref))
			continue;
		if (hits == 0 || memcmp(idx->descs[i].digest, idx->descs[*pick].digest, SHA256_LEN) != 0)
			hits++;
		if (hits == 1)
			*pick = i;
	}
	if (hits == 1)
		return FX_OK;
	if (tag != NULL)
		return fe_set(e, FX_USAGE, "%s: %s image named %s", what, hits ? "more than one" : "no", ESC(tag));
	return fe_set(e, FX_USAGE, "%s: holds %zu images and none is named as the ref; name one with from: PATH:TAG",
	    what, images);
}

int stage_oci(struct stage *st, struct input *in, const char *tag, const struct oci_ref *ref,
    const struct sig_list *sigs, struct image_summary *a, struct oci_desc *top, struct ferr *e)
{
	struct oci_doc idx;
	struct member *m;
	char *buf = NULL;
	size_t len = 0, pick = 0;
	char what[LABEL_MAX + 32];
	int rc;

	memset(&idx, 0, sizeof(idx));
	snprintf(what, sizeof(what), "%s: oci-layout", in->label);
	if ((m = input_need(in, "oci-layout", 0, e)) == NULL)
		return e->code;
	if ((rc = member_read(in, m, &buf, &len, e)) != FX_OK || (rc = oci_layout_check(buf, len, what, e)) != FX_OK)
		goto end;
	free(buf);
	buf = NULL;
	snprintf(what, sizeof(what), "%s: index.json", in->label);
	if ((m = input_need(in, "index.json", 0, e)) == NULL) {
		rc = e->code;
		goto end;
	}
	if ((rc = member_read(in, m, &buf, &len, e)) != FX_OK ||
	    (rc = oci_doc_parse(buf, len, NULL, what, &idx, e)) != FX_OK)
		goto end;
	if (idx.kind != OCI_KIND_INDEX || idx.ndescs == 0) {
		rc = fe_set(e, FX_VERIFY, "%s: not an image index with images", what);
		goto end;
	}
	if ((rc = oci_pick(&idx, tag, ref, sigs, what, &pick, e)) != FX_OK ||
	    (rc = oci_walk(st, in, &idx.descs[pick], 0, a, &a->layers, e)) != FX_OK)
		goto end;
	oci_desc_copy(top, &idx.descs[pick]);
	if (top->media_type == NULL)
		rc = fe_set(e, FX_VERIFY, "%s: image descriptor without mediaType", what);
end:
	free(buf);
	oci_doc_free(&idx);
	return rc;
}
