/* convert.c - legacy `docker save` inputs (Docker 20.10: manifest.json, <id>.json
 * configs, <id>/layer.tar layers) become OCI images: the config is kept byte-exact (so
 * the image ID stays), every layer is checked against its diff_id and compressed, and
 * an OCI manifest is written over them. Layers shared by several images are converted
 * once; the layers of every image go through one compression pool. */
#include "image/images_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/compress.h"
#include "image/docker_archive.h"
#include "util/progress.h"

/* An image of a docker save, read and checked. */
struct docker_image {
	struct docker_save save;
	struct docker_save_image *image; /* the one picked, inside save */
	struct oci_config config;
	struct member *config_member;
	struct member **layer_members;   /* image->nlayers, base first */
};

static void docker_image_free(struct docker_image *di)
{
	free(di->layer_members);
	oci_config_free(&di->config);
	docker_save_free(&di->save);
	memset(di, 0, sizeof(*di));
}

static struct converted_layer *converted_find(struct stage *st, const unsigned char diff_id[SHA256_LEN])
{
	size_t i;

	for (i = 0; i < st->nconverted; i++)
		if (memcmp(st->converted[i].diff_id, diff_id, SHA256_LEN) == 0)
			return &st->converted[i];
	return NULL;
}

static struct pending_layer *pending_find(struct stage *st, const unsigned char diff_id[SHA256_LEN])
{
	size_t i;

	for (i = 0; i < st->npending; i++)
		if (memcmp(st->pending[i].diff_id, diff_id, SHA256_LEN) == 0)
			return &st->pending[i];
	return NULL;
}

/* A config named by its digest (<hex>.json, blobs/sha256/<hex>) must carry it. */
static int config_name_check(struct input *in, struct member *cm, const char *name, struct ferr *e)
{
	const char *base = strrchr(name, '/');
	unsigned char want[SHA256_LEN];
	size_t l;

	base = base != NULL ? base + 1 : name;
	l = strlen(base);
	if (l == 2 * SHA256_LEN + 5 && strcmp(base + 2 * SHA256_LEN, ".json") == 0)
		l = 2 * SHA256_LEN;
	if (l != 2 * SHA256_LEN || hex_decode(base, l, want) != 0)
		return FX_OK;
	if (memcmp(want, cm->digest, SHA256_LEN) != 0)
		return fe_set(e, FX_VERIFY, "%s: config %s does not hash to its name (corrupt archive)",
		    in->label, ESC(name));
	return FX_OK;
}

static int diff_id_check(struct input *in, const char *layer, const unsigned char got[SHA256_LEN],
    const unsigned char want[SHA256_LEN], struct ferr *e)
{
	char got_hex[SHA256_HEX], want_hex[SHA256_HEX];

	if (memcmp(got, want, SHA256_LEN) == 0)
		return FX_OK;
	hex_encode(got, SHA256_LEN, got_hex);
	hex_encode(want, SHA256_LEN, want_hex);
	return fe_set(e, FX_VERIFY, "%s: layer %s: sha256:%s does not match the config's diff_id "
	    "sha256:%s (corrupt archive)", in->label, ESC(layer), got_hex, want_hex);
}

int docker_reference(struct input *in, struct ferr *e)
{
	struct docker_save ds;
	struct ferr ignored = {0, ""};
	struct member *m;
	char *buf = NULL;
	size_t len = 0, i, j;
	int rc = FX_OK;

	memset(&ds, 0, sizeof(ds));
	if ((m = input_find(in, "manifest.json", &ignored)) == NULL || m->deferred ||
	    member_read(in, m, &buf, &len, &ignored) != FX_OK ||
	    docker_manifest_parse(buf, len, "manifest.json", &ds, &ignored) != FX_OK)
		goto end; /* the conversion reports it */
	for (i = 0; rc == FX_OK && i < ds.n; i++) {
		/* no declared sizes here: a tar member is never longer than its header says */
		if ((m = input_find(in, ds.v[i].config, &ignored)) != NULL)
			rc = member_reference(in, m, 0, e);
		for (j = 0; rc == FX_OK && j < ds.v[i].nlayers; j++)
			if ((m = input_find(in, ds.v[i].layers[j], &ignored)) != NULL)
				rc = member_reference(in, m, 0, e);
	}
end:
	free(buf);
	docker_save_free(&ds);
	return rc;
}

/* The layers of the image picked: each must exist, and a staged one must be the layer
 * the config (and so the image ID) names; a ranged one is checked by the compressor,
 * which reads it anyway. */
static int docker_layers(struct input *in, struct docker_image *di, struct ferr *e)
{
	size_t i, n = di->image->nlayers;

	di->layer_members = xcalloc(n ? n : 1, sizeof(*di->layer_members));
	for (i = 0; i < n; i++) {
		struct member *lm = input_need(in, di->image->layers[i], 1, e);
		if (lm == NULL)
			return e->code;
		di->layer_members[i] = lm;
		if (!lm->ranged && diff_id_check(in, di->image->layers[i], lm->digest, di->config.diff_ids[i], e) != FX_OK)
			return e->code;
	}
	return FX_OK;
}

/* Reads and checks a docker save's manifest.json, config and layer digests. */
static int docker_read(struct input *in, const char *tag, const struct oci_ref *ref, struct docker_image *di,
    struct ferr *e)
{
	struct member *m;
	char *buf = NULL;
	size_t len = 0, pick = 0;
	char what[LABEL_MAX + 32];
	int rc;

	memset(di, 0, sizeof(*di));
	snprintf(what, sizeof(what), "%s: manifest.json", in->label);
	if ((m = input_need(in, "manifest.json", 0, e)) == NULL)
		return e->code;
	if ((rc = member_read(in, m, &buf, &len, e)) != FX_OK ||
	    (rc = docker_manifest_parse(buf, len, what, &di->save, e)) != FX_OK ||
	    (rc = docker_save_pick(&di->save, tag, ref, what, &pick, e)) != FX_OK)
		goto end;
	di->image = &di->save.v[pick];
	free(buf);
	buf = NULL;
	if ((di->config_member = input_need(in, di->image->config, 0, e)) == NULL) {
		rc = e->code;
		goto end;
	}
	snprintf(what, sizeof(what), "%s: config %s", in->label, ESC(di->image->config));
	if ((rc = config_name_check(in, di->config_member, di->image->config, e)) != FX_OK ||
	    (rc = member_read(in, di->config_member, &buf, &len, e)) != FX_OK ||
	    (rc = oci_config_parse(buf, len, what, &di->config, e)) != FX_OK)
		goto end;
	if (!di->config.has_rootfs || di->config.ndiff_ids != di->image->nlayers) {
		rc = fe_set(e, FX_VERIFY, "%s: %zu rootfs.diff_ids for %zu layers", what, di->config.ndiff_ids,
		    di->image->nlayers);
		goto end;
	}
	rc = docker_layers(in, di, e);
end:
	free(buf);
	if (rc != FX_OK)
		docker_image_free(di);
	return rc;
}

int docker_plan(struct stage *st, struct input *in, const char *tag, const struct oci_ref *ref, struct ferr *e)
{
	struct docker_image di;
	size_t i;
	int rc;

	if ((rc = docker_read(in, tag, ref, &di, e)) != FX_OK)
		return rc;
	for (i = 0; i < di.image->nlayers; i++) {
		struct member *lm = di.layer_members[i];
		struct pending_layer *p = pending_find(st, di.config.diff_ids[i]);
		if (converted_find(st, di.config.diff_ids[i]) != NULL || p != NULL ||
		    pull_layer_reuse(st, di.config.diff_ids[i]) != NULL) {
			/* Converted from another copy: this staged copy is not read again, and
			 * every input now stays until the end, so it goes at once. */
			if (in->dir == NULL && !lm->moved && !lm->ranged && lm != di.config_member &&
			    (p == NULL || p->src != lm))
				unlink(lm->path);
			continue;
		}
		st->pending = xreallocarray(st->pending, st->npending + 1, sizeof(*st->pending));
		p = &st->pending[st->npending++];
		memset(p, 0, sizeof(*p));
		memcpy(p->diff_id, di.config.diff_ids[i], SHA256_LEN);
		p->src = lm;
		p->src_staged = in->dir == NULL && !lm->ranged;
		p->out = stage_tmp_path(st);
		p->image = st->image;
		p->image_index = st->image_index;
	}
	docker_image_free(&di);
	return FX_OK;
}

int docker_convert(struct stage *st, struct ferr *e)
{
	struct cz_job *jobs;
	uint64_t total = 0;
	size_t i;
	int rc;

	if (st->npending == 0)
		return FX_OK;
	jobs = xcalloc(st->npending, sizeof(*jobs));
	for (i = 0; i < st->npending; i++) {
		const struct member *src = st->pending[i].src;
		jobs[i].in = src->path;
		jobs[i].out = st->pending[i].out;
		if (src->ranged) {
			jobs[i].in_range = 1;
			jobs[i].in_off = src->offset;
			jobs[i].in_len = src->size;
		}
		jobs[i].item = st->pending[i].image;
		jobs[i].item_index = st->pending[i].image_index;
		jobs[i].item_count = st->nimages;
		total += src->size;
	}
	/* The SBOM reads the layers that stay where they are while they are compressed. */
	for (i = 0; st->o->layer_tar_queue != NULL && i < st->npending; i++) {
		struct pending_layer *p = &st->pending[i];
		if (!p->src_staged && (rc = st->o->layer_tar_queue(st->o->layer_ctx, p->diff_id, p->src->path,
		        p->src->ranged ? p->src->offset : 0, p->src->ranged ? p->src->size : 0, e)) != FX_OK) {
			free(jobs);
			return rc;
		}
	}
	if (st->out != NULL) { /* into the output, each layer where the one before ended */
		if (st->out->progress != NULL) {
			st->out->progress->what = "writing";
			progress_start(st->out->progress, total);
		}
		rc = compress_stream(jobs, st->npending, st->o->gzip_level, st->o->jobs, st->out, e);
		if (st->out->progress != NULL)
			progress_end(st->out->progress);
	} else {
		rc = compress_files(jobs, st->npending, st->o->layer_zstd ? CZ_ZSTD : CZ_GZIP, st->o->gzip_level,
		    st->o->jobs, e);
	}
	for (i = 0; rc == FX_OK && i < st->npending; i++) {
		struct pending_layer *p = &st->pending[i];
		memcpy(p->digest, jobs[i].digest, SHA256_LEN);
		memcpy(p->in_digest, jobs[i].in_digest, SHA256_LEN);
		p->size = jobs[i].size;
		p->out_off = jobs[i].out_off;
		if (st->o->layer_tar != NULL && (st->o->layer_tar_queue == NULL || p->src_staged) &&
		    memcmp(p->in_digest, p->diff_id, SHA256_LEN) == 0)
			rc = st->o->layer_tar(st->o->layer_ctx, p->diff_id, p->src->path,
			    p->src->ranged ? p->src->offset : 0, p->src->ranged ? p->src->size : 0, e);
		if (p->src_staged && !p->src->moved)
			unlink(p->src->path); /* the uncompressed copy is no longer needed */
	}
	free(jobs);
	return rc;
}

/* Layer i of the image as a compressed blob: converted earlier (for this image or
 * another), or taken now from what the pool compressed. */
static int converted_layer(struct stage *st, struct input *in, const struct docker_image *di, size_t i,
    const struct converted_layer **out, struct ferr *e)
{
	const unsigned char *diff_id = di->config.diff_ids[i];
	const char *layer = di->image->layers[i];
	const char *mt = st->o->layer_zstd ? OCI_MT_LAYER_ZSTD : OCI_MT_LAYER_GZIP;
	struct converted_layer *c = converted_find(st, diff_id);
	struct pending_layer *p;
	int rc;

	if (c != NULL)
		goto end;
	if ((p = pending_find(st, diff_id)) == NULL)
		return fe_set(e, FX_USAGE, "internal: layer %s was not converted", ESC(layer));
	/* Read (again) while compressing: must be the diff_id. */
	if (p->src->ranged) {
		if ((rc = diff_id_check(in, layer, p->in_digest, diff_id, e)) != FX_OK)
			return rc;
	} else if (memcmp(p->in_digest, diff_id, SHA256_LEN) != 0) {
		return fe_set(e, FX_VERIFY, "%s: layer %s changed while it was compressed", in->label, ESC(layer));
	}
	if ((rc = st->out != NULL ? stage_written(st, &st->leaves, st->out_path, p->out_off, p->digest, p->size, e) :
	    stage_tmp(st, &st->leaves, p->out, p->digest, p->size, NULL, e)) != FX_OK)
		return rc;
	st->converted = xreallocarray(st->converted, st->nconverted + 1, sizeof(*st->converted));
	c = &st->converted[st->nconverted++];
	memset(c, 0, sizeof(*c));
	memcpy(c->diff_id, diff_id, SHA256_LEN);
	c->desc.media_type = xstrdup(mt);
	memcpy(c->desc.digest, p->digest, SHA256_LEN);
	hex_encode(p->digest, SHA256_LEN, c->desc.hex);
	c->desc.size = p->size;
end:
	if (strcmp(c->desc.media_type, mt) != 0)
		return fe_set(e, FX_USAGE, "internal: mixed layer compression");
	*out = c;
	return FX_OK;
}

int stage_docker(struct stage *st, struct input *in, const char *tag, const struct oci_ref *ref,
    struct image_summary *a, struct oci_desc *top, struct ferr *e)
{
	struct docker_image di;
	struct oci_desc config_desc, *layer_descs = NULL;
	char *manifest = NULL;
	size_t manifest_len = 0, i;
	unsigned char manifest_digest[SHA256_LEN];
	int rc;

	memset(&config_desc, 0, sizeof(config_desc));
	if ((rc = docker_read(in, tag, ref, &di, e)) != FX_OK)
		return rc;
	layer_descs = xcalloc(di.image->nlayers ? di.image->nlayers : 1, sizeof(*layer_descs));
	/* Config first, then layers, as an OCI walk stages them. */
	if ((rc = stage_member(st, in, &st->leaves, di.config_member, e)) != FX_OK)
		goto end;
	config_desc.media_type = xstrdup(OCI_MT_CONFIG);
	memcpy(config_desc.digest, di.config_member->digest, SHA256_LEN);
	hex_encode(di.config_member->digest, SHA256_LEN, config_desc.hex);
	config_desc.size = di.config_member->size;
	summary_blob(a, config_desc.hex, config_desc.size);
	for (i = 0; i < di.image->nlayers; i++) {
		const struct converted_layer *c = NULL;
		if ((rc = converted_layer(st, in, &di, i, &c, e)) != FX_OK)
			goto end;
		layer_descs[i] = c->desc; /* shallow: c owns the strings */
		summary_blob(a, c->desc.hex, c->desc.size);
	}
	manifest = oci_manifest_write(&config_desc, layer_descs, di.image->nlayers, &manifest_len);
	if ((rc = stage_buf(st, &st->manifests, manifest, manifest_len, manifest_digest, e)) != FX_OK)
		goto end;
	top->media_type = xstrdup(OCI_MT_MANIFEST);
	memcpy(top->digest, manifest_digest, SHA256_LEN);
	hex_encode(manifest_digest, SHA256_LEN, top->hex);
	top->size = manifest_len;
	summary_blob(a, top->hex, top->size);
	summary_manifest(a, top->hex);
	a->platform = oci_config_platform(&di.config);
	summary_platform(a, a->platform);
	a->layers = (int)di.image->nlayers;
end:
	free(layer_descs);
	free(manifest);
	oci_desc_free(&config_desc);
	docker_image_free(&di);
	return rc;
}

void stage_free_conversions(struct stage *st)
{
	size_t i;

	for (i = 0; i < st->nconverted; i++)
		oci_desc_free(&st->converted[i].desc);
	free(st->converted);
	for (i = 0; i < st->npending; i++) {
		unlink(st->pending[i].out); /* renamed into blobs/ unless something failed */
		free(st->pending[i].out);
	}
	free(st->pending);
	st->converted = NULL;
	st->pending = NULL;
	st->nconverted = st->npending = 0;
}
