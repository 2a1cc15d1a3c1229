/* manifest_sig.c - the signatures and cosign keys of an image in bundle.yaml: the
 * cosign signatures carried with it (format.md, "Image signatures"). */
#include "bundle/manifest_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/digest.h"

void manifest_emit_signatures(struct yout *y, const struct man_image *im)
{
	size_t i, k;

	if (im->nsignatures == 0)
		return;
	yout_key(y, "signatures");
	yout_seq_start(y, 0);
	for (i = 0; i < im->nsignatures; i++) {
		const struct man_signature *s = &im->signatures[i];

		yout_map_start(y, 0);
		yout_kv(y, "kind", s->kind);
		yout_kv(y, "digest", s->digest);
		yout_key(y, "blobs");
		yout_seq_start(y, 1);
		for (k = 0; k < s->nblobs; k++)
			yout_str(y, s->blobs[k]);
		yout_seq_end(y);
		yout_map_end(y);
	}
	yout_seq_end(y);
	yout_kv(y, "cosign", im->cosign);
}

static int parse_signature(struct ydoc *d, yaml_node_t *n, struct man_signature *s, struct ferr *e)
{
	size_t k;
	int rc;

	if ((rc = ymap_check(d, n, "signature", NULL, e)) != FX_OK ||
	    (rc = ymap_str(d, n, "kind", 1, &s->kind, e)) != FX_OK ||
	    (rc = ymap_str(d, n, "digest", 1, &s->digest, e)) != FX_OK ||
	    (rc = ynode_strv(d, ymap_get(d, n, "blobs"), "blobs", &s->blobs, &s->nblobs, e)) != FX_OK)
		return rc;
	if (strcmp(s->kind, MAN_SIG_SIMPLE) != 0 && strcmp(s->kind, MAN_SIG_BUNDLE) != 0)
		return fe_set(e, d->code, "%s: signature kind %s is not %s or %s", ydoc_where(d, n), ESC(s->kind),
		    MAN_SIG_SIMPLE, MAN_SIG_BUNDLE);
	if (!digest_valid(s->digest))
		return fe_set(e, d->code, "%s: 'digest' is not sha256:<64 hex>", ydoc_where(d, n));
	if (s->nblobs > MAN_SIGS_MAX * 2)
		return fe_set(e, d->code, "%s: a signature of more than %d blobs", ydoc_where(d, n), MAN_SIGS_MAX * 2);
	for (k = 0; k < s->nblobs; k++)
		if (!digest_valid(s->blobs[k]))
			return fe_set(e, d->code, "%s: a blob that is not sha256:<64 hex>", ydoc_where(d, n));
	return FX_OK;
}

int manifest_parse_signatures(struct ydoc *d, yaml_node_t *n, struct man_image *im, struct ferr *e)
{
	yaml_node_item_t *items;
	size_t count, i;
	int rc;

	if ((rc = ymap_seq(d, n, "signatures", &items, &count, e)) != FX_OK ||
	    (rc = ymap_str(d, n, "cosign", 0, &im->cosign, e)) != FX_OK)
		return rc;
	if (count > MAN_SIGS_MAX)
		return fe_set(e, d->code, "%s: more than %d signatures", ydoc_where(d, n), MAN_SIGS_MAX);
	if (im->cosign != NULL && strcmp(im->cosign, "verified") != 0 && strcmp(im->cosign, "unverified") != 0)
		return fe_set(e, d->code, "%s: 'cosign' is not verified or unverified", ydoc_where(d, n));
	im->signatures = xcalloc(count ? count : 1, sizeof(*im->signatures));
	for (i = 0; i < count; i++)
		if ((rc = parse_signature(d, yaml_document_get_node(&d->doc, items[i]), &im->signatures[im->nsignatures++],
		    e)) != FX_OK)
			return rc;
	return FX_OK;
}

void manifest_free_signatures(struct man_image *im)
{
	size_t i, k;

	for (i = 0; i < im->nsignatures; i++) {
		free(im->signatures[i].kind);
		free(im->signatures[i].digest);
		for (k = 0; k < im->signatures[i].nblobs; k++)
			free(im->signatures[i].blobs[k]);
		free(im->signatures[i].blobs);
	}
	free(im->signatures);
	free(im->cosign);
	im->signatures = NULL;
	im->nsignatures = 0;
	im->cosign = NULL;
}
