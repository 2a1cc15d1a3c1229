/* pack.c - builds a bundle: hash every input, pack_describe them in bundle.yaml, list them
 * in SHA256SUMS, sign that, then stream everything into the tar in format.md order. */
#include "cli/pack_int.h"
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle/bundle.h"
#include "cli/pack_charts.h"
#include "crypto/cosign.h"
#include "image/compress.h"
#include "image/images.h"
#include "image/sbom.h"
#include "crypto/license.h"
#include "bundle/manifest.h"
#include "crypto/pgp.h"
#include "bundle/spec.h"
#include "bundle/sums.h"
#include "cli/lock.h"
#include "cli/pack_delta.h"
#include "cli/cli.h"
#include "util/progress.h"


static struct plan_entry *plan_add(struct plan *p, const char *name)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 32;
		p->v = xreallocarray(p->v, p->cap, sizeof(*p->v));
	}
	memset(&p->v[p->n], 0, sizeof(p->v[0]));
	p->v[p->n].name = xstrdup(name);
	return &p->v[p->n++];
}

/* A file of the spec; later: its digest is made as it is written (a streamed pack,
 * whose head comes last), so it is read once. */
static int plan_file(struct plan *p, const char *name, const char *path, int later, struct ferr *e)
{
	struct plan_entry *pe = plan_add(p, name);
	struct stat st;

	pe->path = path;
	if (later && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		pe->size = (uint64_t)st.st_size;
		pe->hash_on_write = 1;
		return FX_OK;
	}
	return sha256_file(path, pe->digest, &pe->size, e);
}

void pack_plan_buf(struct plan *p, const char *name, const char *buf, size_t len)
{
	struct plan_entry *pe = plan_add(p, name);

	pe->buf = buf;
	pe->len = pe->size = len;
	sha256_buf(buf, len, pe->digest);
}

static void plan_free(struct plan *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->v[i].name);
	free(p->v);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct man_entry *)a)->path, ((const struct man_entry *)b)->path);
}

static int add_licenses(const struct pack_opts *o, const struct spec *s, struct manifest *m, struct ferr *e)
{
	size_t i;
	int rc = FX_OK;

	m->licenses = xcalloc(s->nlicenses, sizeof(*m->licenses));
	for (i = 0; i < s->nlicenses; i++) {
		struct man_license *l = &m->licenses[m->nlicenses++];
		char *tok = NULL, reason[256] = "";
		size_t len;
		int days = 0;

		if ((rc = read_file_max(s->licenses[i].src, BUNDLE_LICENSE_MAX, &tok, &len, e)) != FX_OK)
			return rc;
		if (o->license_pubkey != NULL) {
			enum license_state st = license_check(tok, len, o->license_pubkey, NULL, (int64_t)time(NULL),
			    l, &days, reason, sizeof(reason));
			if (st == LIC_GRACE)
				fx_warn("%s: license in its grace period (%d days left)", ESC(s->licenses[i].src), days);
			if (st != LIC_VALID && st != LIC_GRACE && !(o->allow_expired && st == LIC_EXPIRED))
				rc = fe_set(e, FX_VERIFY, "%s: license is %s: %s (refusing to ship it%s)",
				    ESC(s->licenses[i].src), license_state_name(st), reason,
				    st == LIC_EXPIRED ? "; --allow-expired to ship it anyway" : "");
		} else {
			rc = license_peek(tok, len, l, e);
			if (rc != FX_OK)
				fe_set(e, FX_USAGE, "%s: not a license token", ESC(s->licenses[i].src));
		}
		free(tok);
		free(l->path);
		l->path = xstrdup(s->licenses[i].dest);
		if (rc != FX_OK)
			return rc;
	}
	return FX_OK;
}

/* metadata.sequence (default: the build time) and metadata.expires (a date, or +Nd
 * after the build time) as bundle.yaml carries them; FX_USAGE naming the spec line. */
static int freshness(const struct pack_opts *o, const struct spec *s, struct manifest *m, struct ferr *e)
{
	char when[32];
	int64_t expires;

	m->sequence = s->has_sequence ? s->sequence : (uint64_t)(o->created < 0 ? 0 : o->created);
	if (s->expires == NULL)
		return FX_OK;
	if (cli_parse_date(s->expires, o->created, &expires) != 0)
		return fe_set(e, FX_USAGE, "%s: 'expires' must be a date (2027-06-01, 2027-06-01T00:00:00Z) or +Nd",
		    s->expires_where);
	fmt_time_utc(expires, when);
	if (expires <= o->created)
		return fe_set(e, FX_USAGE, "%s: 'expires' %s is not after the build time", s->expires_where, when);
	m->expires = xstrdup(when);
	m->expires_at = expires;
	return FX_OK;
}

/* bundle.yaml's entries: every entry of the plan, sorted by path (again after the plan
 * grew). */
void pack_describe_entries(const struct plan *p, struct manifest *m)
{
	size_t i;

	for (i = 0; i < m->nentries; i++)
		free(m->entries[i].path);
	free(m->entries);
	m->entries = xcalloc(p->n ? p->n : 1, sizeof(*m->entries));
	for (i = 0, m->nentries = 0; i < p->n; i++, m->nentries++) {
		m->entries[i].path = xstrdup(p->v[i].name);
		m->entries[i].size = p->v[i].size;
	}
	qsort(m->entries, m->nentries, sizeof(*m->entries), cmp_entry);
}

int pack_describe(const struct pack_opts *o, const struct spec *s, const struct plan *p, struct manifest *m, struct ferr *e)
{
	char created[32];
	size_t i;
	int rc;

	fmt_time_utc(o->created, created);
	m->name = xstrdup(s->name);
	m->version = xstrdup(s->version);
	m->vendor = s->vendor ? xstrdup(s->vendor) : NULL;
	m->description = s->description ? xstrdup(s->description) : NULL;
	m->created = xstrdup(created);
	m->tool = xstrdup("ferry " FERRY_VERSION);
	if ((rc = freshness(o, s, m, e)) != FX_OK)
		return rc;
	m->docs = xcalloc(s->ndocs, sizeof(*m->docs));
	for (i = 0; i < s->ndocs; i++, m->ndocs++) {
		m->docs[i].path = xstrdup(s->docs[i].dest);
		m->docs[i].title = s->docs[i].title ? xstrdup(s->docs[i].title) : NULL;
	}
	m->files = xcalloc(s->nfiles, sizeof(*m->files));
	for (i = 0; i < s->nfiles; i++, m->nfiles++)
		m->files[i].path = xstrdup(s->files[i].dest);
	if ((rc = add_licenses(o, s, m, e)) != FX_OK)
		return rc;
	pack_describe_entries(p, m);
	return FX_OK;
}

int pack_head_limits(const char *spec, size_t yaml_len, size_t sums_len, size_t sig_len, struct ferr *e)
{
	if (yaml_len > BUNDLE_YAML_MAX)
		return fe_set(e, FX_USAGE, "%s: bundle.yaml would be %zu bytes, more than the %u MiB a loader reads "
		    "(a description, title or list too long)", ESC(spec), yaml_len, BUNDLE_YAML_MAX >> 20);
	if (sums_len > BUNDLE_SUMS_MAX)
		return fe_set(e, FX_USAGE, "%s: SHA256SUMS would be %zu bytes, more than the %u MiB a loader reads "
		    "(too many entries)", ESC(spec), sums_len, BUNDLE_SUMS_MAX >> 20);
	if (sig_len > BUNDLE_SIG_MAX)
		return fe_set(e, FX_USAGE, "%s: the signature is %zu bytes, more than the %u MiB a loader reads",
		    ESC(spec), sig_len, BUNDLE_SIG_MAX >> 20);
	return FX_OK;
}

/* bundle.yaml as a loader will see it: within the size limit, and read back by the
 * loader's own parser (which also applies its limits on counts and values). */
static int check_manifest_text(const char *spec, const char *yaml, size_t yaml_len, struct ferr *e)
{
	struct manifest back;
	struct ferr parse_err = {0, ""};
	int rc;

	if ((rc = pack_head_limits(spec, yaml_len, 0, 0, e)) != FX_OK)
		return rc;
	if (manifest_parse(yaml, yaml_len, &back, &parse_err) != FX_OK)
		return fe_set(e, FX_USAGE, "%s: a loader would refuse the bundle.yaml written from it: %s", ESC(spec),
		    parse_err.msg);
	manifest_free(&back);
	return FX_OK;
}

/* The spec's own strings alone must fit a loader's bundle.yaml: checked before any
 * input is read, so a description too long fails at once. */
static int check_metadata(const struct spec *s, struct ferr *e)
{
	struct manifest m;
	char *yaml = NULL;
	size_t yaml_len = 0, i;
	int rc;

	memset(&m, 0, sizeof(m));
	m.name = s->name;
	m.version = s->version;
	m.vendor = s->vendor;
	m.description = s->description;
	m.docs = xcalloc(s->ndocs ? s->ndocs : 1, sizeof(*m.docs));
	for (i = 0; i < s->ndocs; i++, m.ndocs++) {
		m.docs[i].path = s->docs[i].dest;
		m.docs[i].title = s->docs[i].title;
	}
	if ((rc = manifest_emit(&m, &yaml, &yaml_len, e)) == FX_OK)
		rc = check_manifest_text(s->path, yaml, yaml_len, e);
	free(m.docs); /* the strings are the spec's */
	free(yaml);
	return rc;
}

/* Fails before the long work when the output exists (without --force) or would replace
 * an input of the spec (--force included). */
static int check_output(const struct pack_opts *o, const struct spec *s, const char *out, struct ferr *e)
{
	const struct spec_item *lists[4] = {s->licenses, s->docs, s->charts, s->files};
	size_t counts[4] = {s->nlicenses, s->ndocs, s->ncharts, s->nfiles}, k, i;
	struct stat st, in;
	const char *input_at = NULL;
	int rc = FX_OK;

	if (!o->force) {
		char *first = o->split ? xasprintf("%s.parts", out) : xstrdup(out);
		if (lstat(first, &st) == 0)
			rc = fe_set(e, FX_IO, "%s: already exists (use --force to replace it)", ESC(first));
		free(first);
		if (rc != FX_OK)
			return rc;
	}
	if (lstat(out, &st) != 0)
		return FX_OK;
	for (k = 0; k < 4; k++)
		for (i = 0; i < counts[k] && input_at == NULL; i++)
			if (stat(lists[k][i].src, &in) == 0 && in.st_dev == st.st_dev && in.st_ino == st.st_ino)
				input_at = lists[k][i].where;
	for (i = 0; i < s->nimages && input_at == NULL; i++)
		if (s->images[i].from != NULL && stat(s->images[i].from, &in) == 0 && in.st_dev == st.st_dev && in.st_ino == st.st_ino)
			input_at = s->images[i].where;
	if (input_at != NULL)
		rc = fe_set(e, FX_USAGE, "%s: is an input of the spec (%s); refusing to overwrite it", ESC(out), input_at);
	return rc;
}

static const char oci_layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";

/* The one staging directory beside out (images, charts packed from directories),
 * made when first needed and removed at the end or on a signal. */
static int make_staging(const char *out, char **staging, struct ferr *e)
{
	char *t;

	if (*staging != NULL)
		return FX_OK;
	t = xasprintf("%s.images.XXXXXX", out);
	if ((*staging = mkdtemp(t)) == NULL) {
		free(t);
		return fe_set(e, FX_IO, "%s.images.XXXXXX: cannot create a staging directory: %s", ESC(out), strerror(errno));
	}
	fx_cleanup_dir(*staging);
	return FX_OK;
}

/* The first image that lists blob hex, for the progress line. */
static void blob_image(const struct img_set *is, struct plan_entry *pe, const char *hex)
{
	size_t i, k;

	for (i = 0; i < is->nimages; i++) {
		const struct man_image *mi = &is->images[i];

		for (k = 0; k < mi->nblobs + mi->nmanifests; k++) {
			const char *d = k < mi->nblobs ? mi->blobs[k] : mi->manifests[k - mi->nblobs];

			if (strncmp(d, "sha256:", 7) == 0 && strncmp(d + 7, hex, SHA256_HEX) == 0) {
				pe->image = mi->ref;
				pe->image_index = i + 1;
				return;
			}
		}
	}
}

/* A build streams its images into the output (no staged copy of a registry layer or a
 * converted one) when the output is a plain single file: the head is then written
 * last, into room kept for it. */
static int streamable(const struct pack_opts *o)
{
	return !o->zstd && o->split == 0 && o->nsince == 0;
}

/* Stages the spec's images beside out and adds the OCI layout to the plan, after the
 * images' SBOMs (sboms, the caller's to free; none with --no-sbom). The layers are
 * catalogued while they are staged, by the hooks of images_stage. A streamed build
 * (streamable) compresses converted layers straight into the output (pack_layers_open, with
 * out_stream) and leaves registry layers remote; its SBOMs follow the blobs: *catalog gets the
 * catalogue to finish once they are written (NULL with --no-sbom). */
static int plan_images(const struct pack_opts *o, const struct spec *s, const char *out, char **staging,
    struct img_set *is, struct sbom_set *sboms, struct plan *p, struct sbom_ctx **catalog_out, struct stream_out *out_stream,
    struct ferr *e)
{
	struct img_src *src = xcalloc(s->nimages, sizeof(*src));
	struct cosign_key **keys = xcalloc(s->nimages + 1, sizeof(*keys));
	struct img_opts io;
	struct sbom_ctx *catalog = NULL;
	size_t i;
	int rc;

	if ((rc = make_staging(out, staging, e)) != FX_OK)
		goto end;
	for (i = 0; i < s->nimages; i++) {
		src[i].ref = s->images[i].ref;
		src[i].from = s->images[i].from;
		src[i].where = s->images[i].where;
		src[i].platforms = s->images[i].platforms;
		src[i].nplatforms = s->images[i].nplatforms;
		src[i].locked = s->images[i].locked;
		src[i].cosign_key_name = s->images[i].cosign_key != NULL ? s->images[i].cosign_key : o->cosign_key;
		if (src[i].cosign_key_name != NULL &&
		    (rc = cosign_key_load(src[i].cosign_key_name, &keys[i], e)) != FX_OK)
			goto end;
		src[i].cosign_key = keys[i];
	}
	memset(&io, 0, sizeof(io));
	io.layer_zstd = o->layer_zstd;
	io.gzip_level = o->gzip_level;
	io.jobs = o->jobs;
	io.staging_dir = *staging;
	io.mtime = o->created;
	io.cacert = o->cacert;
	io.plain_http = o->plain_http;
	io.nplain_http = o->nplain_http;
	io.stream_pulls = streamable(o);
	io.blobs_in_place = streamable(o);
	if (streamable(o)) {
		io.layers_out = pack_layers_open;
		io.layers_out_ctx = out_stream;
	}
	if (!o->no_sbom) {
		struct sbom_opts so = {o->jobs, NULL, o->created};
		char *work_dir = xasprintf("%s/sbom", *staging);
		so.work_dir = work_dir;
		catalog = sbom_ctx_new(&so);
		free(work_dir);
		io.layer_tar = sbom_layer_tar;
		io.layer_tar_queue = sbom_layer_tar_queue;
		io.layer_blob = sbom_layer_blob;
		io.layer_ctx = catalog;
	}
	io.progress = o->progress;
	if ((rc = images_stage(src, s->nimages, &io, is, e)) != FX_OK)
		goto end;
	if (catalog != NULL && !streamable(o) && (rc = sbom_build(catalog, is, sboms, e)) != FX_OK)
		goto end;
	for (i = 0; i < sboms->ndocs; i++)
		pack_plan_buf(p, sboms->docs[i].path, sboms->docs[i].text, sboms->docs[i].len);
	pack_plan_buf(p, "images/oci-layout", oci_layout, sizeof(oci_layout) - 1);
	for (i = 0; i < is->nblobs; i++) {
		char name[64 + 32];
		struct plan_entry *pe;
		snprintf(name, sizeof(name), "images/blobs/sha256/%s", is->blobs[i].hex);
		pe = plan_add(p, name);
		pe->path = is->blobs[i].path;
		pe->remote = is->blobs[i].remote != NULL ? &is->blobs[i] : NULL;
		pe->staged = pe->path != NULL && strncmp(pe->path, *staging, strlen(*staging)) == 0 &&
		    pe->path[strlen(*staging)] == '/';
		pe->size = is->blobs[i].size;
		pe->written = is->blobs[i].in_output;
		pe->in_place = is->blobs[i].where != NULL && !pe->written ? &is->blobs[i] : NULL;
		memcpy(pe->digest, is->blobs[i].digest, SHA256_LEN);
		blob_image(is, pe, is->blobs[i].hex);
	}
	pack_plan_buf(p, "images/index.json", is->index_json, is->index_len);
	if (streamable(o)) { /* the SBOMs follow the blobs, catalogued while they are written */
		*catalog_out = catalog; /* its workers may still read staged layers */
		catalog = NULL;
	}
end:
	sbom_ctx_free(catalog); /* its workers stop before the staging directory goes */
	for (i = 0; i < s->nimages; i++)
		cosign_key_free(keys[i]);
	free(keys);
	free(src);
	return rc;
}

/* Each chart's artifact blobs (chart.h) among the image blobs, before
 * images/index.json; a blob already in the plan (two charts with one config) once. */
static void plan_chart_blobs(struct plan *p, const struct chart_art *arts, size_t n)
{
	struct plan_entry index;
	size_t i, k, j;
	int has_index = p->n > 0 && strcmp(p->v[p->n - 1].name, "images/index.json") == 0;

	if (has_index)
		index = p->v[--p->n];
	for (i = 0; i < n; i++) {
		const struct chart_art *a = &arts[i];
		const char *digests[4] = {a->config_digest, a->tgz_digest, a->prov_digest, a->manifest_digest};
		for (k = 0; k < 4; k++) {
			char name[sizeof("images/blobs/sha256/") + SHA256_HEX];
			struct plan_entry *pe;
			if (k == 2 && a->prov_src == NULL)
				continue;
			snprintf(name, sizeof(name), "images/blobs/sha256/%s", digests[k] + 7);
			for (j = 0; j < p->n && strcmp(p->v[j].name, name) != 0; j++)
				;
			if (j < p->n)
				continue;
			if (k == 0 || k == 3) {
				pack_plan_buf(p, name, k == 0 ? a->info.config_json : a->manifest_json,
				    k == 0 ? a->info.config_len : a->manifest_len);
				continue;
			}
			pe = plan_add(p, name);
			pe->path = k == 1 ? a->src : a->prov_src;
			pe->size = k == 1 ? a->tgz_size : a->prov_size;
			digest_parse(digests[k], pe->digest, NULL);
		}
	}
	if (has_index) {
		plan_add(p, "x");
		free(p->v[p->n - 1].name);
		p->v[p->n - 1] = index;
	}
}

/* --since: the entries the base bundles carry leave the plan (m->bases lists them). */
static int leave_out_since(const struct pack_opts *o, struct manifest *m, struct plan *p, struct ferr *e)
{
	struct delta_entry *entries = xcalloc(p->n ? p->n : 1, sizeof(*entries));
	size_t i, kept = 0, nleft = 0;
	uint64_t bytes = 0;
	char size[32];
	int rc;

	for (i = 0; i < p->n; i++)
		entries[i] = (struct delta_entry){.name = p->v[i].name, .size = p->v[i].size, .digest = p->v[i].digest};
	if ((rc = delta_since(o->since, o->nsince, o->keyring, m, entries, p->n, e)) != FX_OK)
		goto end;
	for (i = 0; i < p->n; i++) {
		if (!entries[i].leave_out) {
			p->v[kept++] = p->v[i];
			continue;
		}
		nleft++;
		bytes += p->v[i].size;
		free(p->v[i].name);
	}
	p->n = kept;
	if (!o->quiet)
		fprintf(stderr, "%s: delta of %s %s%s: %zu blobs (%s) left out\n", fx_progname, ESC(m->bases[0].name),
		    ESC(m->bases[0].version), m->nbases > 1 ? " and others" : "", nleft, fmt_bytes(bytes, size, sizeof(size)));
end:
	free(entries);
	return rc;
}


/* bundle.yaml (with yaml_pad bytes of comment after it: room a streamed build kept),
 * SHA256SUMS and its signature, from the described manifest. */
int pack_head_text(const struct pack_opts *o, const struct plan *p, struct manifest *m, size_t yaml_pad,
    struct head *h, struct ferr *e)
{
	struct sums sums;
	unsigned char yaml_digest[SHA256_LEN];
	size_t i;
	int rc;

	memset(&sums, 0, sizeof(sums));
	if ((rc = manifest_emit(m, &h->yaml, &h->yaml_len, e)) != FX_OK)
		goto end;
	if (yaml_pad > 0) { /* "#" and spaces: a YAML comment */
		h->yaml = xrealloc(h->yaml, h->yaml_len + yaml_pad);
		memset(h->yaml + h->yaml_len, ' ', yaml_pad);
		h->yaml[h->yaml_len] = yaml_pad > 1 ? '#' : '\n';
		h->yaml[h->yaml_len + yaml_pad - 1] = '\n';
		h->yaml_len += yaml_pad;
	}
	if ((rc = check_manifest_text(o->spec, h->yaml, h->yaml_len, e)) != FX_OK)
		goto end;
	sha256_buf(h->yaml, h->yaml_len, yaml_digest);
	sums_add(&sums, BUNDLE_YAML, yaml_digest);
	for (i = 0; i < p->n; i++)
		sums_add(&sums, p->v[i].name, p->v[i].digest);
	sums_sort(&sums);
	for (i = 1; i < sums.n; i++)
		if (strcmp(sums.v[i - 1].path, sums.v[i].path) == 0) {
			rc = fe_set(e, FX_USAGE, "%s: two entries named %s", ESC(o->spec), ESC(sums.v[i].path));
			goto end;
		}
	h->sums_text = sums_format(&sums, &h->sums_len);
	if ((rc = pack_head_limits(o->spec, h->yaml_len, h->sums_len, 0, e)) != FX_OK)
		goto end;
	if (!o->no_sign &&
	    ((rc = h->signing_key != NULL ?
	    pgp_sign_with(h->signing_key, h->sums_text, h->sums_len, o->passphrase_file, &h->sig, &h->sig_len, &h->who, e) :
	    pgp_sign(h->sums_text, h->sums_len, o->sign_key, o->passphrase_file, &h->sig, &h->sig_len, &h->who, e)) != FX_OK ||
	    (rc = pack_head_limits(o->spec, h->yaml_len, h->sums_len, h->sig_len, e)) != FX_OK))
		goto end;
end:
	sums_free(&sums);
	return rc;
}

void pack_head_free(struct head *h)
{
	free(h->sums_text);
	free(h->sig);
	free(h->yaml);
	h->sums_text = h->sig = h->yaml = NULL;
}

static int make_head(const struct pack_opts *o, const struct spec *s, const struct plan *p, struct manifest *m,
    struct head *h, struct ferr *e)
{
	int rc;

	if ((rc = pack_describe(o, s, p, m, e)) != FX_OK)
		return rc;
	return pack_head_text(o, p, m, 0, h, e);
}

/* Signs the finished bundle as a whole (OUT.sig) for `gpg --verify OUT.sig OUT`. */
int pack_detached_sig(const struct pack_opts *o, const char *out, struct ferr *e)
{
	char *sigpath = xasprintf("%s.sig", out), *sig = NULL;
	size_t siglen;
	int rc;

	if ((rc = pgp_sign_file(out, o->sign_key, o->passphrase_file, &sig, &siglen, e)) == FX_OK)
		rc = fx_write_file(sigpath, sig, siglen, 0644, o->force, e);
	free(sig);
	free(sigpath);
	return rc;
}

static int sign_parts(void *ctx, const char *text, size_t len, char **sig, size_t *siglen, struct ferr *e)
{
	const struct pack_opts *o = ctx;

	return pgp_sign(text, len, o->sign_key, o->passphrase_file, sig, siglen, NULL, e);
}

/* The tar, in format.md order. */
static int write_bundle(const struct pack_opts *o, const char *out, const struct head *h, const struct plan *p,
    size_t nimages, struct ferr *e)
{
	struct bundle_writer *w = NULL;
	struct bw_opts bo;
	uint64_t total = 0;
	size_t i;
	int rc;

	memset(&bo, 0, sizeof(bo));
	bo.zstd = o->zstd;
	bo.zstd_level = o->zstd_level;
	bo.jobs = o->jobs;
	bo.mtime = o->created;
	bo.force = o->force;
	bo.split = o->split;
	bo.progress = o->progress;
	if (!o->no_sign) {
		bo.sign = sign_parts;
		bo.sign_ctx = (void *)(uintptr_t)o;
	}
	if ((rc = bw_open(&w, out, &bo, e)) != FX_OK ||
	    (rc = bw_add_buf(w, BUNDLE_SUMS, h->sums_text, h->sums_len, e)) != FX_OK ||
	    (h->sig != NULL && (rc = bw_add_buf(w, BUNDLE_SIG, h->sig, h->sig_len, e)) != FX_OK) ||
	    (rc = bw_add_buf(w, BUNDLE_YAML, h->yaml, h->yaml_len, e)) != FX_OK)
		goto end;
	for (i = 0; i < p->n; i++)
		total += p->v[i].size;
	if (o->progress != NULL) {
		o->progress->what = "writing";
		progress_start(o->progress, total);
	}
	for (i = 0; i < p->n && rc == FX_OK; i++) {
		if (o->progress != NULL)
			progress_item(o->progress, p->v[i].image != NULL ? p->v[i].image : p->v[i].name, p->v[i].image_index,
			    p->v[i].image != NULL ? nimages : 0);
		if (p->v[i].path != NULL)
			rc = bw_add_file(w, p->v[i].name, p->v[i].path, p->v[i].size, p->v[i].staged ? NULL : p->v[i].digest, e);
		else if ((rc = bw_add_buf(w, p->v[i].name, p->v[i].buf, p->v[i].len, e)) == FX_OK && o->progress != NULL)
			progress_add(o->progress, p->v[i].len);
	}
	if (o->progress != NULL)
		progress_end(o->progress);
	if (rc != FX_OK || (rc = bw_commit(w, e)) != FX_OK)
		goto end;
	if (o->split && !o->quiet)
		fprintf(stderr, "%s: wrote %zu parts %s.000 ... and %s.parts%s\n", fx_progname, bw_parts(w), ESC(out),
		    ESC(out), o->no_sign ? "" : " (+ .parts.asc)");
	if (o->detached_sig && !o->no_sign && (rc = pack_detached_sig(o, out, e)) != FX_OK)
		unlink(out); /* all or nothing */
end:
	bw_free(w);
	return rc;
}

static void report(const struct pack_opts *o, const char *out, const struct head *h, const struct plan *p)
{
	struct stat st;
	char sz[32];

	if (o->quiet)
		return;
	if (!o->split)
		fprintf(stderr, "%s: wrote %s: %zu entries, %s%s\n", fx_progname, ESC(out), p->n + 1,
		    stat(out, &st) == 0 ? fmt_bytes((uint64_t)st.st_size, sz, sizeof(sz)) : "?", o->zstd ? ", zstd" : "");
	if (h->sig != NULL)
		fprintf(stderr, "%s: signed by %s %s\n", fx_progname, h->who.fpr, ESC(h->who.uid));
	else
		fprintf(stderr, "%s: NOT signed (--no-sign): loaders refuse it without --allow-unsigned\n", fx_progname);
}

int pack_build(const struct pack_opts *o, struct ferr *e)
{
	struct pack_opts with_progress = *o;
	struct progress meter;
	struct spec s;
	struct img_set is;
	struct manifest m;
	struct plan p;
	struct head h;
	struct chart_art *charts = NULL;
	struct sbom_set sboms;
	struct sbom_ctx *catalog = NULL; /* streamed: the SBOMs still to make */
	struct stream_out so;
	char *out = NULL, *staging = NULL, created[32];
	size_t i;
	int rc, later;

	memset(&sboms, 0, sizeof(sboms));
	memset(&is, 0, sizeof(is));
	memset(&m, 0, sizeof(m));
	memset(&p, 0, sizeof(p));
	memset(&h, 0, sizeof(h));
	memset(&so, 0, sizeof(so));
	progress_init(&meter, progress_wanted(o->quiet), "staging");
	with_progress.progress = &meter;
	o = &with_progress;
	if ((rc = spec_load(o->spec, o->allow_outside_paths, &s, e)) != FX_OK ||
	    (o->locked != NULL && (rc = lock_apply(o->locked, &s, e)) != FX_OK))
		goto end;
	out = o->out != NULL ? xstrdup(o->out) : xasprintf("%s-%s.ferry", s.name, s.version);
	fmt_time_utc(o->created, created);
	for (i = 0; i < s.ncharts && !s.charts[i].chart_dir && !s.charts[i].chart_oci; i++)
		;
	if ((rc = check_output(o, &s, out, e)) != FX_OK || (rc = check_metadata(&s, e)) != FX_OK ||
	    (rc = freshness(o, &s, &m, e)) != FX_OK ||
	    (i < s.ncharts && (rc = make_staging(out, &staging, e)) != FX_OK) ||
	    (rc = pack_charts_prepare(o, &s, created, staging, &charts, e)) != FX_OK)
		goto end;
	manifest_free(&m); /* checked early; pack_describe() fills it again */
	if (!o->no_sign) /* gpg and its agent start while the inputs are read */
		h.signing_key = pgp_sign_key_start(o->sign_key);
	so.o = o;
	so.s = &s;
	so.out = out;
	so.charts = charts;
	so.p = &p;
	/* 1. every input planned (hashed now, or as it is written into a streamed pack), in
	 * bundle order */
	later = streamable(o) && s.nimages > 0;
	for (i = 0; i < s.nlicenses && rc == FX_OK; i++)
		rc = plan_file(&p, s.licenses[i].dest, s.licenses[i].src, later, e);
	for (i = 0; i < s.ndocs && rc == FX_OK; i++)
		rc = plan_file(&p, s.docs[i].dest, s.docs[i].src, later, e);
	for (i = 0; i < s.ncharts && rc == FX_OK; i++)
		if ((rc = plan_file(&p, charts[i].dest, charts[i].src, later, e)) == FX_OK && charts[i].prov_entry != NULL)
			rc = plan_file(&p, charts[i].prov_entry, charts[i].prov_src, later, e);
	for (i = 0; i < s.nfiles && rc == FX_OK; i++)
		rc = plan_file(&p, s.files[i].dest, s.files[i].src, later, e);
	if (rc != FX_OK || (s.nimages > 0 && (rc = plan_images(o, &s, out, &staging, &is, &sboms, &p, &catalog, &so, e)) != FX_OK))
		goto end;
	plan_chart_blobs(&p, charts, s.ncharts);
	progress_clear(&meter); /* signing may ask for a passphrase */
	/* 2. bundle.yaml, SHA256SUMS and its signature (the image descriptions move into
	 * the manifest) */
	m.images = is.images;
	m.nimages = is.nimages;
	is.images = NULL;
	is.nimages = 0;
	m.charts = xcalloc(s.ncharts ? s.ncharts : 1, sizeof(*m.charts));
	for (m.ncharts = 0; m.ncharts < s.ncharts; m.ncharts++)
		pack_chart_describe(&charts[m.ncharts], &m.charts[m.ncharts]);
	sbom_set_attach(&sboms, m.images, m.nimages);
	if (o->nsince > 0 && (rc = leave_out_since(o, &m, &p, e)) != FX_OK)
		goto end;
	if (streamable(o) && s.nimages > 0) { /* images straight into the output; the head last */
		if ((rc = pack_describe(o, &s, &p, &m, e)) == FX_OK &&
		    (rc = pack_write_streamed(o, &so, &m, &is, &catalog, &sboms, &h, e)) == FX_OK)
			report(o, out, &h, &p);
	} else if ((rc = make_head(o, &s, &p, &m, &h, e)) == FX_OK &&
	    (rc = write_bundle(o, out, &h, &p, m.nimages, e)) == FX_OK) { /* 3. the tar */
		report(o, out, &h, &p);
	}
	if (rc == FX_OK && o->lock != NULL)
		rc = lock_write(o->lock, &m, e);
end:
	progress_clear(&meter);
	sbom_ctx_free(catalog); /* its workers stop before what they read goes */
	if (staging != NULL) {
		rm_tree(staging);
		fx_cleanup_forget();
		free(staging);
	}
	bw_free(so.w); /* the output's temporary file, unless committed */
	sbom_set_free(&sboms);
	img_set_free(&is);
	pack_charts_free(charts, s.ncharts);
	manifest_free(&m);
	plan_free(&p);
	pack_head_free(&h);
	pgp_sign_key_free(h.signing_key);
	free(out);
	spec_free(&s);
	return rc;
}
