/* pack_stream.c - a build streamed into its output: room kept for the head at the
 * start, the spec's files, converted layers compressed straight into place, the other
 * blobs, registry layers fetched into holes, the SBOMs; the head signed and written
 * last (format.md). */
#include "cli/pack_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/progress.h"

#include <openssl/crypto.h>

#define SIG_GUESS 1024      /* an armoured signature: ~0.3 KiB (Ed25519), ~0.9 KiB (RSA 4096) */
#define SBOM_SUMS_ROOM 160   /* an SBOM's SHA256SUMS line */
#define SBOM_YAML_ROOM 400   /* its entries: line and its line in the image's sboms: */

/* The room the head will take: the head as it is now (unsigned), plus the SBOMs still
 * to come, a signature and some slack; fit_head fills it exactly at the end. */
static int head_room(const struct pack_opts *o, const struct plan *p, struct manifest *m, size_t nsboms,
    uint64_t *room, struct ferr *e)
{
	struct pack_opts unsigned_o = *o;
	struct head est;
	int rc;

	memset(&est, 0, sizeof(est));
	unsigned_o.no_sign = 1;
	if ((rc = pack_head_text(&unsigned_o, p, m, 0, &est, e)) == FX_OK)
		*room = bw_entry_span(est.sums_len + nsboms * SBOM_SUMS_ROOM) + (o->no_sign ? 0 : bw_entry_span(SIG_GUESS)) +
		    bw_entry_span(est.yaml_len + nsboms * SBOM_YAML_ROOM + 4096);
	pack_head_free(&est);
	return rc;
}

/* The final head, filling room exactly: bundle.yaml ends in a comment of padding and
 * the signature in blank lines after its armour (both change nothing a reader uses),
 * so that it is signed once; again only when a signature outgrows SIG_GUESS. */
static int fit_head(const struct pack_opts *o, const struct plan *p, struct manifest *m, uint64_t room,
    struct head *h, struct ferr *e)
{
	struct pack_opts unsigned_o = *o;
	uint64_t sig_span = o->no_sign ? 0 : bw_entry_span(SIG_GUESS), fixed;
	size_t pad;
	int tries, rc;

	unsigned_o.no_sign = 1;
	pack_head_free(h);
	if ((rc = pack_head_text(&unsigned_o, p, m, 0, h, e)) != FX_OK) /* the sizes that do not depend on the pad */
		return rc;
	for (tries = 0; tries < 2; tries++) {
		fixed = bw_entry_span(h->sums_len) + sig_span + 512;
		if (fixed + h->yaml_len > room || (o->no_sign && tries > 0))
			return fe_set(e, FX_IO, "%s: the head (%llu bytes) outgrew the %llu bytes kept for it", ESC(o->spec),
			    (unsigned long long)(fixed + h->yaml_len), (unsigned long long)room);
		pad = (size_t)(room - fixed - h->yaml_len);
		pack_head_free(h);
		if ((rc = pack_head_text(o, p, m, pad, h, e)) != FX_OK)
			return rc;
		if (h->sig == NULL)
			return FX_OK;
		if (bw_entry_span(h->sig_len) <= sig_span) {
			size_t want = (size_t)(sig_span - 512);
			h->sig = xrealloc(h->sig, want);
			memset(h->sig + h->sig_len, '\n', want - h->sig_len);
			h->sig_len = want;
			return FX_OK;
		}
		sig_span = bw_entry_span(h->sig_len);
		h->yaml_len -= pad;
	}
	return fe_set(e, FX_IO, "%s: the signature's length changed; the head does not fit its room", ESC(o->spec));
}

#define SUMS_LINE_ROOM 160   /* a blob's SHA256SUMS line */
#define BLOB_YAML_ROOM 256   /* its lines in bundle.yaml (entries, an image's blobs): about 190 bytes */
#define IMAGE_YAML_ROOM 1024 /* an image's own lines, besides its reference (twice) */

/* The room a head can take at most, once every input is read but before any layer is
 * compressed: the head of the plan so far (licenses, docs, charts, files), plus what
 * the images can add (bound). Too much is harmless (bundle.yaml's padding comment). */
static int bound_room(const struct stream_out *so, const struct img_bound *bound, uint64_t *room, struct ferr *e)
{
	struct pack_opts quiet_o = *so->o;
	struct manifest m;
	struct head est;
	uint64_t blobs = bound->blobs + 4 * so->s->ncharts + 2, sboms = 2 * (uint64_t)bound->manifests, image_yaml = 0;
	size_t i;
	int rc;

	for (i = 0; i < bound->images && i < so->s->nimages; i++) /* a chart may name each image */
		image_yaml += IMAGE_YAML_ROOM + 2 * strlen(so->s->images[i].ref) + so->s->ncharts * 256;
	memset(&m, 0, sizeof(m));
	memset(&est, 0, sizeof(est));
	quiet_o.license_pubkey = NULL; /* checked (and warned about) once, by the final pack_describe */
	quiet_o.no_sign = 1;
	if ((rc = pack_describe(&quiet_o, so->s, so->p, &m, e)) != FX_OK)
		goto end;
	m.charts = xcalloc(so->s->ncharts ? so->s->ncharts : 1, sizeof(*m.charts));
	for (m.ncharts = 0; m.ncharts < so->s->ncharts; m.ncharts++)
		pack_chart_describe(&so->charts[m.ncharts], &m.charts[m.ncharts]);
	if ((rc = pack_head_text(&quiet_o, so->p, &m, 0, &est, e)) != FX_OK)
		goto end;
	*room = bw_entry_span(est.sums_len + (blobs + sboms) * SUMS_LINE_ROOM) +
	    (so->o->no_sign ? 0 : bw_entry_span(SIG_GUESS)) +
	    bw_entry_span(est.yaml_len + image_yaml + blobs * BLOB_YAML_ROOM + sboms * SBOM_YAML_ROOM + 1024);
end:
	pack_head_free(&est);
	manifest_free(&m);
	return rc;
}

static int layer_begin(void *ctx, const struct cz_job *j, int *fd, uint64_t *off, char *why, size_t whyl)
{
	struct stream_out *so = ctx;
	struct ferr e = {0, ""};

	(void)j;
	if (bw_begin_entry(so->w, off, &e) != FX_OK) {
		fx_strlcpy(why, e.msg, whyl);
		return -1;
	}
	*fd = bw_fd(so->w);
	return 0;
}

static int layer_end(void *ctx, const struct cz_job *j, char *why, size_t whyl)
{
	struct stream_out *so = ctx;
	struct ferr e = {0, ""};
	char name[sizeof("images/blobs/sha256/") + SHA256_HEX];

	memcpy(name, "images/blobs/sha256/", 20);
	hex_encode(j->digest, SHA256_LEN, name + 20);
	if (bw_end_entry(so->w, name, j->size, &e) != FX_OK) {
		fx_strlcpy(why, e.msg, whyl);
		return -1;
	}
	return 0;
}

/* A layer left in its input archive, copied from there and checked as it is: a
 * mismatch is the input's fault, named as staging names it. The blob now lies in the
 * output, where the SBOM reads it if it must read it again (a checked copy). */
static int add_in_place(struct stream_out *so, struct plan_entry *pe, struct ferr *e)
{
	struct img_blob *b = pe->in_place;
	unsigned char got[SHA256_LEN];
	char got_hex[SHA256_HEX];
	struct ferr copy_err = {0, ""};
	uint64_t data_off = 0;
	int rc;

	if ((rc = bw_add_range(so->w, pe->name, pe->path, b->offset, pe->size, NULL, got, &data_off, &copy_err)) != FX_OK)
		return rc == FX_VERIFY ? /* the archive ends inside it (cut since it was read) */
		    fe_set(e, rc, "%s: blob sha256:%s: %s", b->where, b->hex, copy_err.msg) :
		    fe_set(e, rc, "%s", copy_err.msg);
	if (CRYPTO_memcmp(got, pe->digest, SHA256_LEN) != 0) {
		hex_encode(got, SHA256_LEN, got_hex);
		return fe_set(e, FX_VERIFY, "%s: blob sha256:%s has digest sha256:%s (corrupt input)", b->where, b->hex,
		    got_hex);
	}
	free(b->path);
	b->path = xstrdup(bw_tmp_path(so->w));
	b->offset = data_off;
	free(b->where);
	b->where = NULL;
	pe->path = b->path;
	pe->in_place = NULL;
	return FX_OK;
}

/* A file or buffer of the plan: a file is checked against the digest it was planned
 * with, or (hash_on_write) gets its digest now, from the bytes written; a layer left in
 * its archive is checked as add_in_place says. */
static int add_planned(struct stream_out *so, struct plan_entry *pe, struct ferr *e)
{
	if (pe->in_place != NULL)
		return add_in_place(so, pe, e);
	if (pe->path == NULL)
		return bw_add_buf(so->w, pe->name, pe->buf, pe->len, e);
	if (pe->hash_on_write)
		return bw_add_range(so->w, pe->name, pe->path, 0, pe->size, NULL, pe->digest, NULL, e);
	return bw_add_file(so->w, pe->name, pe->path, pe->size, pe->staged ? NULL : pe->digest, e);
}

/* img_opts.layers_out: opens the output with room for the head, writes the plan so far
 * (licenses first, as format.md has them: a loader checks them before any image), and
 * gives images_stage the stream its layers go to. */
int pack_layers_open(void *ctx, const struct img_bound *bound, const struct cz_stream **stream, const char **path,
    struct ferr *e)
{
	struct stream_out *so = ctx;
	struct bw_opts bo;
	size_t i;
	int rc;

	memset(&bo, 0, sizeof(bo));
	bo.jobs = so->o->jobs;
	bo.mtime = so->o->created;
	bo.force = so->o->force;
	if ((rc = bound_room(so, bound, &so->room, e)) != FX_OK)
		return rc;
	bo.head_room = so->room;
	if ((rc = bw_open(&so->w, so->out, &bo, e)) != FX_OK)
		return rc;
	for (i = 0; i < so->p->n && rc == FX_OK; i++)
		rc = add_planned(so, &so->p->v[i], e);
	so->nwritten = so->p->n;
	so->layers.ctx = so;
	so->layers.begin = layer_begin;
	so->layers.end = layer_end;
	so->layers.progress = so->o->progress;
	*stream = &so->layers;
	*path = bw_tmp_path(so->w);
	return rc;
}

/* The entries of the plan not yet written, with the progress line of each image;
 * registry layers as holes (want gets them, *total their bytes). */
static int write_rest(const struct pack_opts *o, struct stream_out *so, size_t nimages, struct img_fetch *want,
    size_t *nwant, uint64_t *total, struct ferr *e)
{
	struct plan *p = so->p;
	uint64_t bytes = 0;
	size_t i;
	int rc = FX_OK;

	for (i = so->nwritten; i < p->n; i++)
		bytes += p->v[i].written || p->v[i].remote != NULL ? 0 : p->v[i].size;
	if (o->progress != NULL) {
		o->progress->what = "writing";
		progress_start(o->progress, bytes);
	}
	for (i = so->nwritten; i < p->n && rc == FX_OK; i++) {
		struct plan_entry *pe = &p->v[i];
		if (pe->written)
			continue;
		if (o->progress != NULL)
			progress_item(o->progress, pe->image != NULL ? pe->image : pe->name, pe->image_index,
			    pe->image != NULL ? nimages : 0);
		if (pe->remote != NULL) {
			want[*nwant].blob = pe->remote;
			*total += pe->size;
			rc = bw_add_hole(so->w, pe->name, pe->size, &want[(*nwant)++].off, e);
		} else if ((rc = add_planned(so, pe, e)) == FX_OK && pe->path == NULL && o->progress != NULL) {
			progress_add(o->progress, pe->len);
		}
	}
	so->nwritten = p->n;
	if (o->progress != NULL)
		progress_end(o->progress);
	return rc;
}

/* The entries after the head room that are not there yet (converted layers are: pack_layers_open),
 * registry layers as holes that images_fetch fills (jobs at a time); then the SBOMs,
 * catalogued from the layers where they now lie; then the head. */
int pack_write_streamed(const struct pack_opts *o, struct stream_out *so, struct manifest *m,
    const struct img_set *is, struct sbom_ctx **catalog_owned, struct sbom_set *sboms, struct head *h, struct ferr *e)
{
	struct sbom_ctx *catalog = *catalog_owned;
	struct plan *p = so->p;
	struct bw_opts bo;
	struct img_fetch *want = xcalloc(p->n ? p->n : 1, sizeof(*want));
	const char *names[3], *bufs[3];
	size_t lens[3], i, k, nwant = 0, nsboms = 0, nhead = 0;
	uint64_t total = 0;
	int rc = FX_OK;

	for (i = 0; catalog != NULL && i < m->nimages; i++)
		nsboms += 2 * m->images[i].nmanifests;
	memset(&bo, 0, sizeof(bo));
	bo.jobs = o->jobs;
	bo.mtime = o->created;
	bo.force = o->force;
	if (so->w == NULL && ((rc = head_room(o, p, m, nsboms, &so->room, e)) != FX_OK ||
	    (bo.head_room = so->room, rc = bw_open(&so->w, so->out, &bo, e)) != FX_OK))
		goto end;
	if ((rc = write_rest(o, so, m->nimages, want, &nwant, &total, e)) != FX_OK)
		goto end;
	for (i = 0, k = 0; catalog != NULL && i < p->n; i++)
		if (p->v[i].remote != NULL) { /* catalogued where they land, as they land */
			char what[1200];
			free(p->v[i].remote->path);
			p->v[i].remote->path = xstrdup(bw_tmp_path(so->w));
			p->v[i].remote->offset = want[k].off;
			snprintf(what, sizeof(what), "%s: layer sha256:%s", p->v[i].image != NULL ? ESC(p->v[i].image) : "image",
			    p->v[i].remote->hex);
			sbom_layer_arriving(catalog, p->v[i].remote->digest, p->v[i].remote->path, want[k].off, want[k].blob->size,
			    img_fetch_wait, &want[k], what);
			k++;
		}
	if (o->progress != NULL && nwant > 0) {
		o->progress->what = "pulling";
		progress_start(o->progress, total);
	}
	rc = images_fetch(want, nwant, bw_fd(so->w), o->jobs, nwant > 0 ? o->progress : NULL, e);
	if (o->progress != NULL && nwant > 0)
		progress_end(o->progress);
	if (rc != FX_OK)
		goto end;
	bw_start_writeback(so->w); /* while the SBOMs are finished and the head signed */
	if (catalog != NULL) {
		struct img_set view = *is;
		view.images = m->images;
		view.nimages = m->nimages;
		if ((rc = sbom_build(catalog, &view, sboms, e)) != FX_OK)
			goto end;
		for (i = 0; i < sboms->ndocs && rc == FX_OK; i++) {
			pack_plan_buf(p, sboms->docs[i].path, sboms->docs[i].text, sboms->docs[i].len);
			rc = bw_add_buf(so->w, sboms->docs[i].path, sboms->docs[i].text, sboms->docs[i].len, e);
		}
		sbom_set_attach(sboms, m->images, m->nimages);
		pack_describe_entries(p, m);
	}
	if (rc != FX_OK || (rc = fit_head(o, p, m, so->room, h, e)) != FX_OK)
		goto end;
	names[nhead] = BUNDLE_SUMS, bufs[nhead] = h->sums_text, lens[nhead++] = h->sums_len;
	if (h->sig != NULL)
		names[nhead] = BUNDLE_SIG, bufs[nhead] = h->sig, lens[nhead++] = h->sig_len;
	names[nhead] = BUNDLE_YAML, bufs[nhead] = h->yaml, lens[nhead++] = h->yaml_len;
	if ((rc = bw_put_head(so->w, names, bufs, lens, nhead, e)) != FX_OK || (rc = bw_commit(so->w, e)) != FX_OK)
		goto end;
	if (o->detached_sig && !o->no_sign && (rc = pack_detached_sig(o, so->out, e)) != FX_OK)
		unlink(so->out); /* all or nothing */
end:
	sbom_ctx_free(catalog); /* its workers stop before what they read goes */
	*catalog_owned = NULL;
	free(want);
	return rc;
}

