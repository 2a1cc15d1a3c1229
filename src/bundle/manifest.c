/* manifest.c - bundle.yaml: written with the libyaml emitter, read back with the
 * document loader (unknown keys ignored, as format.md asks of readers). */
#include "bundle/manifest.h"

#include <stdlib.h>
#include <string.h>

#include "bundle/manifest_int.h"
#include "util/digest.h"
#include "util/yamlx.h"

static void emit_strv(struct yout *y, const char *key, char **v, size_t n)
{
	size_t i;

	yout_key(y, key);
	yout_seq_start(y, 1);
	for (i = 0; i < n; i++)
		yout_str(y, v[i]);
	yout_seq_end(y);
}

int manifest_emit(const struct manifest *m, char **out, size_t *len, struct ferr *e)
{
	struct yout y;
	size_t i;

	yout_begin(&y);
	yout_map_start(&y, 0);
	yout_kv(&y, "apiVersion", "ferry/v1");
	yout_kv(&y, "kind", "Bundle");
	yout_key(&y, "metadata");
	yout_map_start(&y, 0);
	yout_kv(&y, "name", m->name);
	yout_kv(&y, "version", m->version);
	yout_kv(&y, "vendor", m->vendor);
	yout_kv(&y, "created", m->created);
	yout_kv(&y, "tool", m->tool);
	yout_kv(&y, "description", m->description);
	yout_key(&y, "sequence");
	yout_u64(&y, m->sequence);
	yout_kv(&y, "expires", m->expires);
	yout_map_end(&y);

	yout_key(&y, "images");
	yout_seq_start(&y, 0);
	for (i = 0; i < m->nimages; i++) {
		const struct man_image *im = &m->images[i];
		yout_map_start(&y, 0);
		yout_kv(&y, "ref", im->ref);
		yout_kv(&y, "digest", im->digest);
		yout_kv(&y, "mediaType", im->media_type);
		if (im->upstream_index != NULL)
			yout_kv(&y, "upstreamIndex", im->upstream_index);
		emit_strv(&y, "platforms", im->platforms, im->nplatforms);
		yout_key(&y, "size");
		yout_u64(&y, im->size);
		yout_key(&y, "layers");
		yout_u64(&y, (uint64_t)(im->layers < 0 ? 0 : im->layers));
		emit_strv(&y, "blobs", im->blobs, im->nblobs);
		emit_strv(&y, "manifests", im->manifests, im->nmanifests);
		if (im->nsboms > 0)
			emit_strv(&y, "sboms", im->sboms, im->nsboms);
		manifest_emit_signatures(&y, im);
		yout_map_end(&y);
	}
	yout_seq_end(&y);

	yout_key(&y, "charts");
	yout_seq_start(&y, 0);
	for (i = 0; i < m->ncharts; i++) {
		yout_map_start(&y, 1);
		yout_kv(&y, "name", m->charts[i].name);
		yout_kv(&y, "version", m->charts[i].version);
		yout_kv(&y, "path", m->charts[i].path);
		if (m->charts[i].nimages > 0)
			emit_strv(&y, "images", m->charts[i].images, m->charts[i].nimages);
		yout_kv(&y, "appVersion", m->charts[i].app_version);
		yout_kv(&y, "prov", m->charts[i].prov);
		yout_kv(&y, "provenance", m->charts[i].provenance);
		yout_kv(&y, "digest", m->charts[i].digest);
		if (m->charts[i].nblobs > 0)
			emit_strv(&y, "blobs", m->charts[i].blobs, m->charts[i].nblobs);
		yout_map_end(&y);
	}
	yout_seq_end(&y);

	yout_key(&y, "docs");
	yout_seq_start(&y, 0);
	for (i = 0; i < m->ndocs; i++) {
		yout_map_start(&y, 1);
		yout_kv(&y, "path", m->docs[i].path);
		yout_kv(&y, "title", m->docs[i].title);
		yout_map_end(&y);
	}
	yout_seq_end(&y);

	yout_key(&y, "license");
	yout_seq_start(&y, 0);
	for (i = 0; i < m->nlicenses; i++) {
		const struct man_license *l = &m->licenses[i];
		yout_map_start(&y, 0);
		yout_kv(&y, "path", l->path);
		yout_kv(&y, "subject", l->subject);
		yout_kv(&y, "customer", l->customer);
		yout_kv(&y, "edition", l->edition);
		yout_kv(&y, "audience", l->audience);
		if (l->has_seats) {
			yout_key(&y, "seats");
			yout_i64(&y, l->seats);
		}
		yout_kv(&y, "expires", l->expires);
		yout_map_end(&y);
	}
	yout_seq_end(&y);

	yout_key(&y, "files");
	yout_seq_start(&y, 0);
	for (i = 0; i < m->nfiles; i++) {
		yout_map_start(&y, 1);
		yout_kv(&y, "path", m->files[i].path);
		yout_map_end(&y);
	}
	yout_seq_end(&y);

	yout_key(&y, "entries");
	yout_seq_start(&y, 0);
	for (i = 0; i < m->nentries; i++) {
		yout_map_start(&y, 1);
		yout_kv(&y, "path", m->entries[i].path);
		yout_key(&y, "size");
		yout_u64(&y, m->entries[i].size);
		yout_map_end(&y);
	}
	yout_seq_end(&y);
	manifest_emit_bases(&y, m);
	yout_map_end(&y);
	return yout_end(&y, out, len, e);
}

static int parse_strv(struct ydoc *d, yaml_node_t *map, const char *key, char ***v, size_t *n, struct ferr *e)
{
	return ynode_strv(d, ymap_get(d, map, key), key, v, n, e);
}

static int parse_image(struct ydoc *d, yaml_node_t *n, struct man_image *im, struct ferr *e)
{
	uint64_t v = 0;
	int rc;

	if ((rc = ymap_check(d, n, "image", NULL, e)) != FX_OK ||
	    (rc = ymap_str(d, n, "ref", 1, &im->ref, e)) != FX_OK ||
	    (rc = ymap_str(d, n, "digest", 1, &im->digest, e)) != FX_OK ||
	    (rc = ymap_str(d, n, "mediaType", 0, &im->media_type, e)) != FX_OK ||
	    (rc = ymap_str(d, n, "upstreamIndex", 0, &im->upstream_index, e)) != FX_OK ||
	    (rc = parse_strv(d, n, "platforms", &im->platforms, &im->nplatforms, e)) != FX_OK ||
	    (rc = ymap_u64(d, n, "size", 0, &im->size, NULL, e)) != FX_OK ||
	    (rc = ymap_u64(d, n, "layers", 0, &v, NULL, e)) != FX_OK ||
	    (rc = parse_strv(d, n, "blobs", &im->blobs, &im->nblobs, e)) != FX_OK ||
	    (rc = parse_strv(d, n, "manifests", &im->manifests, &im->nmanifests, e)) != FX_OK ||
	    (rc = parse_strv(d, n, "sboms", &im->sboms, &im->nsboms, e)) != FX_OK ||
	    (rc = manifest_parse_signatures(d, n, im, e)) != FX_OK)
		return rc;
	if (im->upstream_index != NULL && !digest_valid(im->upstream_index))
		return fe_set(e, d->code, "%s: 'upstreamIndex' is not a sha256 digest", ydoc_where(d, n));
	if (v > MAN_LAYERS_MAX)
		return fe_set(e, d->code, "%s: 'layers' out of range", ydoc_where(d, n));
	im->layers = (int)v;
	return FX_OK;
}

static int parse_license(struct ydoc *d, yaml_node_t *n, struct man_license *l, struct ferr *e)
{
	yaml_node_t *s;
	int rc;

	if ((rc = ymap_check(d, n, "license", NULL, e)) != FX_OK ||
	    (rc = ymap_str(d, n, "path", 1, &l->path, e)) != FX_OK ||
	    (rc = ymap_str(d, n, "subject", 0, &l->subject, e)) != FX_OK ||
	    (rc = ymap_str(d, n, "customer", 0, &l->customer, e)) != FX_OK ||
	    (rc = ymap_str(d, n, "edition", 0, &l->edition, e)) != FX_OK ||
	    (rc = ymap_str(d, n, "audience", 0, &l->audience, e)) != FX_OK ||
	    (rc = ymap_str(d, n, "expires", 0, &l->expires, e)) != FX_OK)
		return rc;
	s = ymap_get(d, n, "seats");
	if (s != NULL) {
		const char *v = yscalar(s);
		uint64_t u;
		if (v != NULL && strcmp(v, "-1") == 0)
			l->seats = -1;
		else if (v != NULL && parse_u64(v, &u) == 0 && u <= INT64_MAX)
			l->seats = (int64_t)u;
		else
			return fe_set(e, d->code, "%s: 'seats' must be an integer", ydoc_where(d, s));
		l->has_seats = 1;
	}
	return FX_OK;
}

/* metadata.sequence and metadata.expires: both optional (older bundles have neither). */
static int parse_freshness(struct ydoc *d, yaml_node_t *md, struct manifest *m, struct ferr *e)
{
	int rc;

	if ((rc = ymap_u64(d, md, "sequence", 0, &m->sequence, NULL, e)) != FX_OK ||
	    (rc = ymap_str(d, md, "expires", 0, &m->expires, e)) != FX_OK)
		return rc;
	if (m->sequence > MAN_SEQUENCE_MAX)
		return fe_set(e, d->code, "%s: 'sequence' out of range", ydoc_where(d, ymap_get(d, md, "sequence")));
	if (m->expires != NULL && parse_time_utc(m->expires, &m->expires_at) != 0)
		return fe_set(e, d->code, "%s: 'expires' is not a UTC time (2027-06-01T00:00:00Z)",
		    ydoc_where(d, ymap_get(d, md, "expires")));
	return FX_OK;
}

int manifest_parse(const char *buf, size_t len, struct manifest *m, struct ferr *e)
{
	struct ydoc d;
	yaml_node_t *root, *md;
	yaml_node_item_t *items;
	char *api = NULL, *kind = NULL;
	size_t n, i;
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = ydoc_load(&d, buf, len, "bundle.yaml", FX_VERIFY, e)) != FX_OK)
		goto end;
	root = ydoc_root(&d);
	if ((rc = ymap_check(&d, root, "bundle.yaml", NULL, e)) != FX_OK ||
	    (rc = ymap_str(&d, root, "apiVersion", 1, &api, e)) != FX_OK ||
	    (rc = ymap_str(&d, root, "kind", 1, &kind, e)) != FX_OK)
		goto end;
	if (strcmp(api, "ferry/v1") != 0) {
		rc = fe_set(e, FX_VERIFY, "bundle.yaml: unsupported apiVersion '%s' (this ferry reads ferry/v1)", ESC(api));
		goto end;
	}
	if (strcmp(kind, "Bundle") != 0) {
		rc = fe_set(e, FX_VERIFY, "bundle.yaml: kind is '%s', not Bundle", ESC(kind));
		goto end;
	}
	md = ymap_get(&d, root, "metadata");
	if ((rc = ymap_check(&d, md, "metadata", NULL, e)) != FX_OK ||
	    (rc = ymap_str(&d, md, "name", 1, &m->name, e)) != FX_OK ||
	    (rc = ymap_str(&d, md, "version", 1, &m->version, e)) != FX_OK ||
	    (rc = ymap_str(&d, md, "vendor", 0, &m->vendor, e)) != FX_OK ||
	    (rc = ymap_str(&d, md, "created", 0, &m->created, e)) != FX_OK ||
	    (rc = ymap_str(&d, md, "tool", 0, &m->tool, e)) != FX_OK ||
	    (rc = ymap_str(&d, md, "description", 0, &m->description, e)) != FX_OK ||
	    (rc = parse_freshness(&d, md, m, e)) != FX_OK)
		goto end;

	if ((rc = ymap_seq(&d, root, "images", &items, &n, e)) != FX_OK)
		goto end;
	m->images = xcalloc(n, sizeof(*m->images));
	for (i = 0; i < n; i++, m->nimages++)
		if ((rc = parse_image(&d, yaml_document_get_node(&d.doc, items[i]), &m->images[i], e)) != FX_OK) {
			m->nimages++;
			goto end;
		}

	if ((rc = ymap_seq(&d, root, "charts", &items, &n, e)) != FX_OK)
		goto end;
	m->charts = xcalloc(n, sizeof(*m->charts));
	for (i = 0; i < n; i++) {
		yaml_node_t *c = yaml_document_get_node(&d.doc, items[i]);
		struct man_chart *ch = &m->charts[m->ncharts++];
		if ((rc = ymap_check(&d, c, "chart", NULL, e)) != FX_OK ||
		    (rc = ymap_str(&d, c, "path", 1, &ch->path, e)) != FX_OK ||
		    (rc = ymap_str(&d, c, "name", 0, &ch->name, e)) != FX_OK ||
		    (rc = ymap_str(&d, c, "version", 0, &ch->version, e)) != FX_OK ||
		    (rc = parse_strv(&d, c, "images", &ch->images, &ch->nimages, e)) != FX_OK ||
		    (rc = ymap_str(&d, c, "appVersion", 0, &ch->app_version, e)) != FX_OK ||
		    (rc = ymap_str(&d, c, "prov", 0, &ch->prov, e)) != FX_OK ||
		    (rc = ymap_str(&d, c, "provenance", 0, &ch->provenance, e)) != FX_OK ||
		    (rc = ymap_str(&d, c, "digest", 0, &ch->digest, e)) != FX_OK ||
		    (rc = parse_strv(&d, c, "blobs", &ch->blobs, &ch->nblobs, e)) != FX_OK)
			goto end;
	}

	if ((rc = ymap_seq(&d, root, "docs", &items, &n, e)) != FX_OK)
		goto end;
	m->docs = xcalloc(n, sizeof(*m->docs));
	for (i = 0; i < n; i++) {
		yaml_node_t *c = yaml_document_get_node(&d.doc, items[i]);
		struct man_doc *doc = &m->docs[m->ndocs++];
		if ((rc = ymap_check(&d, c, "doc", NULL, e)) != FX_OK ||
		    (rc = ymap_str(&d, c, "path", 1, &doc->path, e)) != FX_OK ||
		    (rc = ymap_str(&d, c, "title", 0, &doc->title, e)) != FX_OK)
			goto end;
	}

	if ((rc = ymap_seq(&d, root, "license", &items, &n, e)) != FX_OK)
		goto end;
	m->licenses = xcalloc(n, sizeof(*m->licenses));
	for (i = 0; i < n; i++)
		if ((rc = parse_license(&d, yaml_document_get_node(&d.doc, items[i]), &m->licenses[m->nlicenses++], e)) != FX_OK)
			goto end;

	if ((rc = ymap_seq(&d, root, "files", &items, &n, e)) != FX_OK)
		goto end;
	m->files = xcalloc(n, sizeof(*m->files));
	for (i = 0; i < n; i++) {
		yaml_node_t *c = yaml_document_get_node(&d.doc, items[i]);
		struct man_file *f = &m->files[m->nfiles++];
		if ((rc = ymap_check(&d, c, "file", NULL, e)) != FX_OK ||
		    (rc = ymap_str(&d, c, "path", 1, &f->path, e)) != FX_OK)
			goto end;
	}

	if ((rc = ymap_seq(&d, root, "entries", &items, &n, e)) != FX_OK)
		goto end;
	m->entries = xcalloc(n, sizeof(*m->entries));
	for (i = 0; i < n; i++) {
		yaml_node_t *c = yaml_document_get_node(&d.doc, items[i]);
		struct man_entry *en = &m->entries[m->nentries++];
		if ((rc = ymap_check(&d, c, "entry", NULL, e)) != FX_OK ||
		    (rc = ymap_str(&d, c, "path", 1, &en->path, e)) != FX_OK ||
		    (rc = ymap_u64(&d, c, "size", 1, &en->size, NULL, e)) != FX_OK)
			goto end;
	}
	rc = manifest_parse_bases(&d, root, m, e);
end:
	free(api);
	free(kind);
	ydoc_free(&d);
	if (rc != FX_OK)
		manifest_free(m);
	return rc;
}

const struct man_entry *manifest_entry(const struct manifest *m, const char *path)
{
	size_t lo = 0, hi = m->nentries;

	/* entries are written sorted by path; fall back to a scan if they are not */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->entries[mid].path, path);
		if (c == 0)
			return &m->entries[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (lo = 0; lo < m->nentries; lo++)
		if (strcmp(m->entries[lo].path, path) == 0)
			return &m->entries[lo];
	return NULL;
}

void man_license_free(struct man_license *l)
{
	free(l->path);
	free(l->subject);
	free(l->edition);
	free(l->expires);
	free(l->customer);
	free(l->audience);
	memset(l, 0, sizeof(*l));
	l->seats = INT64_MIN;
}

static void free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void manifest_free(struct manifest *m)
{
	size_t i;

	free(m->name);
	free(m->version);
	free(m->vendor);
	free(m->created);
	free(m->tool);
	free(m->description);
	free(m->expires);
	for (i = 0; i < m->nimages; i++) {
		struct man_image *im = &m->images[i];
		free(im->ref);
		free(im->digest);
		free(im->media_type);
		free(im->upstream_index);
		free_strv(im->platforms, im->nplatforms);
		free_strv(im->blobs, im->nblobs);
		free_strv(im->manifests, im->nmanifests);
		free_strv(im->sboms, im->nsboms);
		manifest_free_signatures(im);
	}
	free(m->images);
	for (i = 0; i < m->ncharts; i++) {
		free(m->charts[i].name);
		free(m->charts[i].version);
		free(m->charts[i].path);
		free_strv(m->charts[i].images, m->charts[i].nimages);
		free(m->charts[i].app_version);
		free(m->charts[i].prov);
		free(m->charts[i].provenance);
		free(m->charts[i].digest);
		free_strv(m->charts[i].blobs, m->charts[i].nblobs);
	}
	free(m->charts);
	for (i = 0; i < m->ndocs; i++) {
		free(m->docs[i].path);
		free(m->docs[i].title);
	}
	free(m->docs);
	for (i = 0; i < m->nlicenses; i++)
		man_license_free(&m->licenses[i]);
	free(m->licenses);
	for (i = 0; i < m->nfiles; i++)
		free(m->files[i].path);
	free(m->files);
	for (i = 0; i < m->nentries; i++)
		free(m->entries[i].path);
	free(m->entries);
	manifest_free_bases(m);
	memset(m, 0, sizeof(*m));
}
