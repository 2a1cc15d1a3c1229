/* manifest_delta.c - the bases key of bundle.yaml: what a delta bundle left out, and
 * the base bundles that carry it (format.md, "Delta bundles"). */
#include "bundle/manifest_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/digest.h"

void manifest_emit_bases(struct yout *y, const struct manifest *m)
{
	size_t i, k;

	if (m->nbases == 0)
		return;
	yout_key(y, "bases");
	yout_seq_start(y, 0);
	for (i = 0; i < m->nbases; i++) {
		const struct man_base *b = &m->bases[i];

		yout_map_start(y, 0);
		yout_kv(y, "name", b->name);
		yout_kv(y, "version", b->version);
		yout_kv(y, "sums", b->sums);
		yout_key(y, "blobs");
		yout_seq_start(y, 0);
		for (k = 0; k < b->nblobs; k++) {
			yout_map_start(y, 1);
			yout_kv(y, "digest", b->blobs[k].digest);
			yout_key(y, "size");
			yout_u64(y, b->blobs[k].size);
			yout_kv(y, "image", b->blobs[k].image);
			yout_map_end(y);
		}
		yout_seq_end(y);
		yout_map_end(y);
	}
	yout_seq_end(y);
}

static int parse_required(struct ydoc *d, yaml_node_t *n, struct man_required *r, struct ferr *e)
{
	int rc;

	if ((rc = ymap_check(d, n, "base blob", NULL, e)) != FX_OK ||
	    (rc = ymap_str(d, n, "digest", 1, &r->digest, e)) != FX_OK ||
	    (rc = ymap_u64(d, n, "size", 1, &r->size, NULL, e)) != FX_OK ||
	    (rc = ymap_str(d, n, "image", 0, &r->image, e)) != FX_OK)
		return rc;
	if (!digest_valid(r->digest))
		return fe_set(e, d->code, "%s: 'digest' is not sha256:<64 hex>", ydoc_where(d, n));
	return FX_OK;
}

static int parse_base(struct ydoc *d, yaml_node_t *n, struct man_base *b, struct ferr *e)
{
	yaml_node_item_t *items;
	size_t count, k;
	int rc;

	if ((rc = ymap_check(d, n, "base", NULL, e)) != FX_OK ||
	    (rc = ymap_str(d, n, "name", 1, &b->name, e)) != FX_OK ||
	    (rc = ymap_str(d, n, "version", 1, &b->version, e)) != FX_OK ||
	    (rc = ymap_str(d, n, "sums", 1, &b->sums, e)) != FX_OK)
		return rc;
	if (!digest_valid(b->sums))
		return fe_set(e, d->code, "%s: 'sums' is not sha256:<64 hex>", ydoc_where(d, n));
	if ((rc = ymap_seq(d, n, "blobs", &items, &count, e)) != FX_OK)
		return rc;
	b->blobs = xcalloc(count ? count : 1, sizeof(*b->blobs));
	for (k = 0; k < count; k++)
		if ((rc = parse_required(d, yaml_document_get_node(&d->doc, items[k]), &b->blobs[b->nblobs++], e)) != FX_OK)
			return rc;
	return FX_OK;
}

int manifest_parse_bases(struct ydoc *d, yaml_node_t *root, struct manifest *m, struct ferr *e)
{
	yaml_node_item_t *items;
	size_t count, i;
	int rc;

	if ((rc = ymap_seq(d, root, "bases", &items, &count, e)) != FX_OK)
		return rc;
	m->bases = xcalloc(count ? count : 1, sizeof(*m->bases));
	for (i = 0; i < count; i++)
		if ((rc = parse_base(d, yaml_document_get_node(&d->doc, items[i]), &m->bases[m->nbases++], e)) != FX_OK)
			return rc;
	return FX_OK;
}

const struct man_required *manifest_required(const struct manifest *m, const char *digest, size_t *base)
{
	size_t i, k;

	for (i = 0; i < m->nbases; i++)
		for (k = 0; k < m->bases[i].nblobs; k++)
			if (strcmp(m->bases[i].blobs[k].digest, digest) == 0) {
				if (base != NULL)
					*base = i;
				return &m->bases[i].blobs[k];
			}
	return NULL;
}

void manifest_free_bases(struct manifest *m)
{
	size_t i, k;

	for (i = 0; i < m->nbases; i++) {
		for (k = 0; k < m->bases[i].nblobs; k++) {
			free(m->bases[i].blobs[k].digest);
			free(m->bases[i].blobs[k].image);
		}
		free(m->bases[i].blobs);
		free(m->bases[i].name);
		free(m->bases[i].version);
		free(m->bases[i].sums);
	}
	free(m->bases);
	m->bases = NULL;
	m->nbases = 0;
}
