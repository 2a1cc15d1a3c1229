/* docker_sink.c - the docker:// load target (see docker_sink.h).
 *
 * The bundle streams configs and layers before the manifests that reference them.
 * `docker load` reads the whole tar before it acts on manifest.json, so the sink sends
 * one docker-archive in one POST /images/load while the bundle streams:
 *
 *   blobs/sha256/<hex>   every config and layer blob of the selected images, once,
 *                        byte for byte as the bundle holds it (gzip layers load as is)
 *   manifest.json        last: Config, RepoTags and Layers of every selected image,
 *                        made from the OCI manifests (buffered: they are small)
 *
 * Nothing unverified is committed by the daemon: manifest.json and the tar's end are
 * only sent once finish() says every entry of the bundle verified. When a blob fails
 * (or anything else goes wrong), the upload is cut off mid-body; the daemon sees a
 * broken request, has no manifest.json, and loads nothing. One request carries every
 * image, so a bad blob means no image of the bundle is loaded: a bundle that does not
 * verify is not trusted as a whole (format.md), and a re-run with a good bundle loads
 * everything. After the load each image's ID is read back and compared with its config
 * digest. */
#include "target/docker_sink.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "net/docker_api.h"
#include "image/oci.h"
#include "util/digest.h"

#define BLOB_PREFIX "images/blobs/sha256/"
#define TAR_BLOB_DIR "blobs/sha256/"

enum { B_LEAF = 1, B_MANIFEST = 2 };

struct dblob {
	char hex[SHA256_HEX];
	int kind;
	int seen;      /* its entry arrived and verified */
	char *buf;     /* B_MANIFEST: the document */
	size_t len;
};

struct loaded {
	char *ref;
	char *id;
};

struct dsink {
	char *spec;
	int quiet;
	int dry_run;            /* --dry-run: ping and version only, nothing sent */
	const struct load_opts *lo; /* may be NULL */
	const struct load_sel *sel;
	struct docker_endpoint ep;
	struct docker_client *cl;
	int zstd_ok;            /* the daemon decompresses zstd layers */
	struct dblob *b;        /* sorted by hex */
	size_t nb;
	size_t nimages;         /* selected */
	struct docker_upload *up;
	struct archive *ar;
	struct ferr ar_err;     /* why the tar writer's output failed */
	struct dblob *cur;
	struct sha256 h;
	int hashing;
	uint64_t cur_off;
	int aborted;            /* the request was cut off: nothing loaded */
	int failed;             /* the target failed (err says why) */
	struct ferr err;
	int finished;
	struct loaded *done;
	size_t ndone;
};

static int dblob_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dblob *)a)->hex, ((const struct dblob *)b)->hex);
}

static struct dblob *dblob_find(struct dsink *s, const char *hex)
{
	struct dblob key;
	if (strlen(hex) != SHA256_HEX - 1)
		return NULL;
	memcpy(key.hex, hex, SHA256_HEX);
	return bsearch(&key, s->b, s->nb, sizeof(*s->b), dblob_cmp);
}

/* "ref, ref2" of the selected images that hold blob hex, escaped, for messages. */
static char *images_of(struct dsink *s, const char *hex)
{
	const struct manifest *m = s->sel->man;
	char *out = xstrdup(""), *t;
	size_t i, j;

	for (i = 0; i < m->nimages; i++) {
		if (!s->sel->selected[i])
			continue;
		for (j = 0; j < m->images[i].nblobs; j++) {
			const char *d = m->images[i].blobs[j];
			if (strncmp(d, "sha256:", 7) == 0 && strcmp(d + 7, hex) == 0) {
				t = xasprintf("%s%s%s", out, out[0] ? ", " : "", ESC(m->images[i].ref));
				free(out);
				out = t;
				break;
			}
		}
	}
	if (out[0] == '\0') {
		free(out);
		out = xstrdup("(no image)");
	}
	return out;
}

/* Cuts the request off: the daemon gets no manifest.json and no end of the tar. */
static void dsink_abort(struct dsink *s)
{
	struct docker_msgs m;
	struct ferr e = {0};

	if (s->up != NULL) {
		docker_load_end(s->up, 1, &m, &e);
		docker_msgs_free(&m);
		s->up = NULL;
	}
	if (s->ar != NULL) {
		/* With the request gone, the tar's end has nowhere to go (tar_write_cb refuses);
		 * a plain free still releases libarchive's buffers, which a failed state would not. */
		archive_write_free(s->ar);
		s->ar = NULL;
	}
	if (s->hashing) {
		sha256_free(&s->h);
		s->hashing = 0;
	}
	s->cur = NULL;
	s->aborted = 1;
}

/* Records a target failure and cuts the request off; returns FX_TARGET. */
static int dsink_fail(struct dsink *s, struct ferr *e)
{
	if (!s->failed) {
		s->failed = 1;
		s->err = *e;
	}
	dsink_abort(s);
	return e->code != FX_OK ? e->code : FX_TARGET;
}

static la_ssize_t tar_write_cb(struct archive *a, void *ud, const void *buf, size_t n)
{
	struct dsink *s = ud;
	(void)a;
	if (s->up == NULL || s->ar_err.code != 0)
		return -1;
	if (docker_upload_write(s->up, buf, n, &s->ar_err) != FX_OK) {
		/* docker_upload_write finished the transfer already. */
		return -1;
	}
	return (la_ssize_t)n;
}

/* The tar writer's failure as the target's error. */
static int tar_failed(struct dsink *s, struct ferr *e)
{
	if (s->ar_err.code != 0)
		fe_set(e, s->ar_err.code, "%s", s->ar_err.msg);
	else
		fe_set(e, FX_TARGET, "%s: image stream: %s", ESC(s->spec),
		    s->ar != NULL && archive_error_string(s->ar) ? archive_error_string(s->ar) : "write error");
	return dsink_fail(s, e);
}

static int tar_entry(struct dsink *s, const char *name, int dir, uint64_t size, struct ferr *e)
{
	struct archive_entry *ae = archive_entry_new();
	int r;

	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(ae, dir ? 0755 : 0644);
	archive_entry_set_size(ae, dir ? 0 : (la_int64_t)size);
	archive_entry_set_mtime(ae, 0, 0);
	archive_entry_set_uid(ae, 0);
	archive_entry_set_gid(ae, 0);
	r = archive_write_header(s->ar, ae);
	archive_entry_free(ae);
	if (r != ARCHIVE_OK)
		return tar_failed(s, e);
	return FX_OK;
}

static int tar_data(struct dsink *s, const void *buf, size_t n, struct ferr *e)
{
	const char *p = buf;
	while (n > 0) {
		la_ssize_t w = archive_write_data(s->ar, p, n);
		if (w <= 0)
			return tar_failed(s, e);
		p += w;
		n -= (size_t)w;
	}
	return FX_OK;
}

/* Opens the load request and the tar writer on it, at the first blob. */
static int stream_open(struct dsink *s, struct ferr *e)
{
	int rc;

	if ((rc = docker_load_begin(s->cl, &s->up, e)) != FX_OK)
		return dsink_fail(s, e);
	s->ar = archive_write_new();
	archive_write_set_format_pax_restricted(s->ar);
	archive_write_add_filter_none(s->ar);
	archive_write_set_bytes_per_block(s->ar, 10240);
	if (archive_write_open2(s->ar, s, NULL, tar_write_cb, NULL, NULL) != ARCHIVE_OK)
		return tar_failed(s, e);
	if ((rc = tar_entry(s, "blobs/", 1, 0, e)) != FX_OK || (rc = tar_entry(s, TAR_BLOB_DIR, 1, 0, e)) != FX_OK)
		return rc;
	return FX_OK;
}

/* ---------------------------------------------------------------- sink callbacks */

static void add_blob(struct dsink *s, const char *digest, int kind)
{
	if (!digest_valid(digest))
		return;
	s->b = xreallocarray(s->b, s->nb + 1, sizeof(*s->b));
	memset(&s->b[s->nb], 0, sizeof(*s->b));
	memcpy(s->b[s->nb].hex, digest + 7, SHA256_HEX);
	s->b[s->nb].kind = kind;
	s->nb++;
}

static int ds_head(void *ctx, const struct bundle_head *h, struct ferr *e)
{
	struct dsink *s = ctx;
	const struct manifest *m = s->sel->man;
	struct ferr le = {0, ""};
	size_t i, j, k, out;

	(void)h;
	(void)e;
	for (i = 0; i < m->nimages; i++) {
		const struct man_image *mi = &m->images[i];
		if (!s->sel->selected[i])
			continue;
		s->nimages++;
		for (j = 0; j < mi->nblobs; j++) {
			int is_man = 0;
			for (k = 0; k < mi->nmanifests; k++)
				is_man |= strcmp(mi->manifests[k], mi->blobs[j]) == 0;
			add_blob(s, mi->blobs[j], is_man ? B_MANIFEST : B_LEAF);
		}
		for (k = 0; k < mi->nmanifests; k++)
			add_blob(s, mi->manifests[k], B_MANIFEST);
	}
	qsort(s->b, s->nb, sizeof(*s->b), dblob_cmp);
	for (i = 0, out = 0; i < s->nb; i++) {
		if (out > 0 && strcmp(s->b[out - 1].hex, s->b[i].hex) == 0) {
			if (s->b[i].kind == B_MANIFEST)
				s->b[out - 1].kind = B_MANIFEST;
			continue;
		}
		s->b[out++] = s->b[i];
	}
	s->nb = out;
	if (s->nimages == 0)
		return FX_OK;
	if (docker_connect(&s->ep, &s->cl, &le) != FX_OK) {
		/* Kept for report(): the bundle is still verified, the other targets go on. */
		s->failed = 1;
		s->err = le;
		return FX_OK;
	}
	/* Docker 23 (API 1.42) and later decompress zstd layers in docker load. */
	s->zstd_ok = docker_api_cmp(docker_client_version(s->cl)->api, "1.42") >= 0;
	return FX_OK;
}

static int begin_inner(void *ctx, const char *name, uint64_t size, int *want, struct ferr *e)
{
	struct dsink *s = ctx;
	struct dblob *b;
	char tname[128];
	int rc;

	*want = 0;
	if (s->dry_run || s->failed || s->aborted || s->nimages == 0 || strncmp(name, BLOB_PREFIX, strlen(BLOB_PREFIX)) != 0)
		return FX_OK;
	if ((b = dblob_find(s, name + strlen(BLOB_PREFIX))) == NULL)
		return FX_OK;
	s->cur = b;
	s->cur_off = 0;
	sha256_init(&s->h);
	s->hashing = 1;
	*want = 1;
	if (b->kind == B_MANIFEST) {
		if (size > OCI_JSON_MAX) {
			char *who = images_of(s, b->hex);
			fe_set(e, FX_VERIFY, "%s: image %s: manifest sha256:%s is larger than %zu bytes",
			    ESC(s->spec), who, b->hex, (size_t)OCI_JSON_MAX);
			free(who);
			return dsink_fail(s, e);
		}
		free(b->buf);
		b->buf = xmalloc((size_t)size + 1);
		b->len = 0;
		return FX_OK;
	}
	if (s->up == NULL && (rc = stream_open(s, e)) != FX_OK)
		return rc;
	snprintf(tname, sizeof(tname), "%s%s", TAR_BLOB_DIR, b->hex);
	return tar_entry(s, tname, 0, size, e);
}

static int data_inner(void *ctx, const void *buf, size_t n, struct ferr *e)
{
	struct dsink *s = ctx;
	struct dblob *b = s->cur;

	if (b == NULL || s->aborted)
		return FX_OK;
	if (b->kind == B_MANIFEST) {
		/* begin() sized the buffer by the signed entry size; the reader enforces it,
		 * this check keeps the copy in bounds whatever happens. */
		if (n > (size_t)OCI_JSON_MAX || b->len + n > (size_t)OCI_JSON_MAX) {
			fe_set(e, FX_VERIFY, "%s: manifest sha256:%s: more data than its size", ESC(s->spec), b->hex);
			return dsink_fail(s, e);
		}
		b->buf = xrealloc(b->buf, b->len + n + 1);
		memcpy(b->buf + b->len, buf, n);
		b->len += n;
		sha256_update(&s->h, buf, n);
		return FX_OK;
	}
	if (s->cur_off == 0 && n >= 4 && !s->zstd_ok) {
		const unsigned char *u = buf;
		if (u[0] == 0x28 && u[1] == 0xb5 && u[2] == 0x2f && u[3] == 0xfd) {
			char *who = images_of(s, b->hex);
			fe_set(e, FX_TARGET, "%s: image %s: layer sha256:%s is zstd-compressed, which Docker "
			    "Engine API %s cannot load (Docker 23 and later can); pack with "
			    "--layer-compression gzip for this daemon", ESC(s->spec), who, b->hex,
			    docker_client_version(s->cl)->api);
			free(who);
			return dsink_fail(s, e);
		}
	}
	sha256_update(&s->h, buf, n);
	s->cur_off += n;
	return tar_data(s, buf, n, e);
}

/* A failure of this target is kept for report(), not returned: the bundle is still read
 * to its end (verified) and the other targets keep going. */
static int ds_begin(void *ctx, const char *name, uint64_t size, const struct entry_loc *loc, int *want,
    struct ferr *e)
{
	struct ferr le = {0, ""};

	(void)e;
	(void)loc;
	begin_inner(ctx, name, size, want, &le);
	return FX_OK;
}

static int ds_data(void *ctx, const void *buf, size_t n, struct ferr *e)
{
	struct ferr le = {0, ""};
	(void)e;
	data_inner(ctx, buf, n, &le);
	return FX_OK;
}

static int ds_end(void *ctx, const char *name, int ok, struct ferr *e)
{
	struct dsink *s = ctx;
	struct dblob *b = s->cur;
	unsigned char d[SHA256_LEN];
	char hex[SHA256_HEX];

	(void)name;
	(void)e;
	if (b == NULL || s->aborted)
		return FX_OK;
	s->cur = NULL;
	sha256_final(&s->h, d);
	s->hashing = 0;
	hex_encode(d, SHA256_LEN, hex);
	if (!ok || strcmp(hex, b->hex) != 0) {
		/* Not an error of the target: the reader reports the entry. The request is cut
		 * off so that the daemon commits nothing. */
		char *who = images_of(s, b->hex);
		fx_warn("%s: image %s: blob sha256:%s did not verify; the load request was cut off, "
		    "nothing is loaded into the daemon", ESC(s->spec), who, b->hex);
		free(who);
		dsink_abort(s);
		return FX_OK;
	}
	b->seen = 1;
	if (b->kind == B_MANIFEST)
		b->buf[b->len] = '\0';
	return FX_OK;
}

/* The manifest of image mi for the daemon's platform, parsed. */
static int image_manifest(struct dsink *s, const struct man_image *mi, struct oci_doc *out, struct ferr *e)
{
	const struct docker_version *v = docker_client_version(s->cl);
	struct oci_doc top;
	struct dblob *b;
	char what[400];
	unsigned char dg[SHA256_LEN];
	char hex[SHA256_HEX], mtbuf[128];
	const char *mt;
	size_t i;
	int rc, depth;

	memset(out, 0, sizeof(*out));
	memset(&top, 0, sizeof(top));
	if (digest_parse(mi->digest, dg, hex) != 0)
		return fe_set(e, FX_VERIFY, "%s: image %s: bad digest %s", ESC(s->spec), ESC(mi->ref), ESC(mi->digest));
	mt = mi->media_type;
	for (depth = 0; depth <= OCI_MAX_DEPTH; depth++) {
		const struct oci_desc *pick = NULL;
		if ((b = dblob_find(s, hex)) == NULL || b->kind != B_MANIFEST || !b->seen)
			return fe_set(e, FX_VERIFY, "%s: image %s: manifest sha256:%s is not in the bundle",
			    ESC(s->spec), ESC(mi->ref), hex);
		snprintf(what, sizeof(what), "%s: image %s: manifest sha256:%s", ESC(s->spec), ESC(mi->ref), hex);
		oci_doc_free(&top);
		if ((rc = oci_doc_parse(b->buf, b->len, mt, what, &top, e)) != FX_OK)
			return rc;
		if (top.kind == OCI_KIND_MANIFEST) {
			*out = top;
			return FX_OK;
		}
		/* An index: the manifest for the daemon's os/arch. */
		for (i = 0; i < top.ndescs && pick == NULL; i++) {
			const char *p = top.descs[i].platform;
			size_t ol = strlen(v->os), al = strlen(v->arch);
			if (p != NULL && strncmp(p, v->os, ol) == 0 && p[ol] == '/' &&
			    strncmp(p + ol + 1, v->arch, al) == 0 && (p[ol + 1 + al] == '\0' || p[ol + 1 + al] == '/'))
				pick = &top.descs[i];
		}
		if (pick == NULL) {
			rc = fe_set(e, FX_TARGET, "%s: image %s: no manifest for the daemon's platform %s/%s",
			    ESC(s->spec), ESC(mi->ref), v->os, v->arch);
			oci_doc_free(&top);
			return rc;
		}
		memcpy(hex, pick->hex, SHA256_HEX);
		mt = NULL;
		if (pick->media_type != NULL) {
			fx_strlcpy(mtbuf, pick->media_type, sizeof(mtbuf));
			mt = mtbuf;
		}
	}
	oci_doc_free(&top);
	return fe_set(e, FX_VERIFY, "%s: image %s: indexes nested too deep", ESC(s->spec), ESC(mi->ref));
}

/* The tag docker gets: the reference without a digest; NULL when it has no tag. */
static char *repo_tag(const char *ref)
{
	struct oci_ref r;
	struct ferr e = {0};
	char *out = NULL;

	if (oci_ref_parse(ref, &r, &e) != FX_OK)
		return NULL;
	if (r.tag != NULL) {
		/* As the bundle names it ("ferry.test/app:1"), not the docker.io-expanded form. */
		char *at;
		out = xstrdup(ref);
		if ((at = strchr(out, '@')) != NULL)
			*at = '\0';
	}
	oci_ref_free(&r);
	return out;
}

/* Builds manifest.json for the selected images; FX_OK with the text in *out. */
static int build_manifest_json(struct dsink *s, char **out, struct ferr *e)
{
	const struct manifest *m = s->sel->man;
	json_t *arr = json_array();
	size_t i, j;
	int rc = FX_OK;

	*out = NULL;
	for (i = 0; i < m->nimages; i++) {
		const struct man_image *mi = &m->images[i];
		struct oci_doc d;
		json_t *o, *layers, *tags;
		char *tag;

		if (!s->sel->selected[i])
			continue;
		if ((rc = image_manifest(s, mi, &d, e)) != FX_OK)
			goto end;
		o = json_object();
		layers = json_array();
		tags = json_array();
		{
			struct dblob *cb = dblob_find(s, d.config.hex);
			if (cb == NULL || cb->kind != B_LEAF || !cb->seen) {
				rc = fe_set(e, FX_VERIFY, "%s: image %s: config sha256:%s was not streamed",
				    ESC(s->spec), ESC(mi->ref), d.config.hex);
				json_decref(o);
				json_decref(layers);
				json_decref(tags);
				oci_doc_free(&d);
				goto end;
			}
		}
		json_object_set_new(o, "Config", json_sprintf("%s%s", TAR_BLOB_DIR, d.config.hex));
		if ((tag = repo_tag(mi->ref)) != NULL)
			json_array_append_new(tags, json_string(tag));
		else
			fx_warn("%s: image %s has no tag; it is loaded untagged", ESC(s->spec), ESC(mi->ref));
		free(tag);
		json_object_set_new(o, "RepoTags", tags);
		for (j = 0; j < d.ndescs; j++) {
			struct dblob *lb = dblob_find(s, d.descs[j].hex);
			if (lb == NULL || lb->kind != B_LEAF || !lb->seen) {
				rc = fe_set(e, FX_VERIFY, "%s: image %s: layer sha256:%s was not streamed",
				    ESC(s->spec), ESC(mi->ref), d.descs[j].hex);
				json_decref(o);
				json_decref(layers);
				oci_doc_free(&d);
				goto end;
			}
			json_array_append_new(layers, json_sprintf("%s%s", TAR_BLOB_DIR, d.descs[j].hex));
		}
		json_object_set_new(o, "Layers", layers);
		json_array_append_new(arr, o);
		s->done = xreallocarray(s->done, s->ndone + 1, sizeof(*s->done));
		s->done[s->ndone].ref = xstrdup(mi->ref);
		s->done[s->ndone].id = xasprintf("sha256:%s", d.config.hex);
		s->ndone++;
		oci_doc_free(&d);
	}
	*out = json_dumps(arr, JSON_COMPACT);
	if (*out == NULL)
		rc = fe_set(e, FX_IO, "out of memory");
end:
	json_decref(arr);
	return rc;
}

/* Reads each loaded image back: it must be there with the ID it was built with. */
static int check_loaded(struct dsink *s, struct ferr *e)
{
	size_t i;
	int rc = FX_OK;

	for (i = 0; i < s->ndone; i++) {
		char *tag = repo_tag(s->done[i].ref), *path, *body = NULL, *id;
		long status = 0;
		size_t len = 0;

		path = xasprintf("/images/%s/json", tag != NULL ? tag : s->done[i].id);
		free(tag);
		rc = docker_get_json(s->cl, path, &status, &body, &len, e);
		free(path);
		if (rc != FX_OK)
			return rc;
		id = status == 200 ? docker_parse_image_id(body, len) : NULL;
		free(body);
		if (id == NULL || strcmp(id, s->done[i].id) != 0) {
			rc = fe_set(e, FX_TARGET, "%s: image %s: after the load the daemon %s (expected ID %s)",
			    ESC(s->spec), ESC(s->done[i].ref), id == NULL ? "does not have it" : "has another ID",
			    s->done[i].id);
			free(id);
			return rc;
		}
		free(id);
	}
	return FX_OK;
}

static int ds_finish(void *ctx, int all_ok, struct ferr *e)
{
	struct dsink *s = ctx;
	struct docker_msgs msgs;
	struct ferr te = {0};
	char *mj = NULL;
	int rc;

	s->finished = 1;
	(void)e;
	if (s->failed || s->aborted || s->nimages == 0)
		return FX_OK;
	if (s->dry_run) {
		s->aborted = !all_ok;
		return FX_OK;
	}
	if (!all_ok) {
		/* Something in the bundle did not verify: the images are not sent. */
		dsink_abort(s);
		return FX_OK;
	}
	if (s->up == NULL && stream_open(s, &te) != FX_OK)
		return FX_OK;
	if (build_manifest_json(s, &mj, &te) != FX_OK) {
		dsink_fail(s, &te);
		goto end;
	}
	if (tar_entry(s, "manifest.json", 0, strlen(mj), &te) != FX_OK || tar_data(s, mj, strlen(mj), &te) != FX_OK)
		goto end;
	if (archive_write_close(s->ar) != ARCHIVE_OK) {
		tar_failed(s, &te);
		goto end;
	}
	archive_write_free(s->ar);
	s->ar = NULL;
	rc = docker_load_end(s->up, 0, &msgs, &te);
	s->up = NULL;
	docker_msgs_free(&msgs);
	if (rc != FX_OK) {
		dsink_fail(s, &te);
		goto end;
	}
	if (check_loaded(s, &te) != FX_OK)
		dsink_fail(s, &te);
end:
	free(mj);
	/* A target failure is reported by report(), so that the other targets finish. */
	return FX_OK;
}

static int ds_report(void *ctx, int finished, struct ferr *e)
{
	struct dsink *s = ctx;
	size_t i;

	if (s->failed) {
		fx_warn("%s", s->err.msg);
		return fe_set(e, FX_TARGET, "%s: nothing was loaded", ESC(s->spec));
	}
	if (s->nimages == 0) {
		if (!s->quiet)
			fprintf(stderr, "%s: %s: no image selected\n", fx_progname, ESC(s->spec));
		return FX_OK;
	}
	if (!finished || s->aborted || !s->finished || (s->ndone == 0 && !s->dry_run))
		return fe_set(e, FX_TARGET, "%s: nothing was loaded: the bundle did not verify", ESC(s->spec));
	if (s->dry_run) {
		const struct manifest *m = s->sel->man;
		for (i = 0; i < m->nimages; i++) {
			if (s->sel->selected[i] && !s->quiet)
				fprintf(stderr, "%s: %s: would load %s\n", fx_progname, ESC(s->spec), ESC(m->images[i].ref));
		}
		fprintf(stderr, "%s: %s: dry run: %zu image%s would be loaded into %s (Docker Engine API %s)\n",
		    fx_progname, ESC(s->spec), s->nimages, s->nimages == 1 ? "" : "s", ESC(s->ep.label),
		    docker_client_api(s->cl));
		return FX_OK;
	}
	if (!s->quiet) {
		for (i = 0; i < s->ndone; i++)
			fprintf(stderr, "%s: %s: loaded %s (%s)\n", fx_progname, ESC(s->spec), ESC(s->done[i].ref),
			    s->done[i].id);
	}
	/* one request carried them all: every selected image is loaded */
	for (i = 0; s->lo != NULL && s->lo->on_loaded != NULL && i < s->sel->man->nimages; i++)
		if (s->sel->selected[i])
			s->lo->on_loaded(s->lo->on_loaded_ctx, s->spec, s->sel->man, &s->sel->man->images[i]);
	fprintf(stderr, "%s: %s: %zu image%s loaded into %s\n", fx_progname, ESC(s->spec), s->ndone,
	    s->ndone == 1 ? "" : "s", ESC(s->ep.label));
	return FX_OK;
}

static void ds_free(void *ctx)
{
	struct dsink *s = ctx;
	size_t i;

	if (s == NULL)
		return;
	if (s->up != NULL || s->ar != NULL || s->hashing)
		dsink_abort(s);
	for (i = 0; i < s->nb; i++)
		free(s->b[i].buf);
	free(s->b);
	for (i = 0; i < s->ndone; i++) {
		free(s->done[i].ref);
		free(s->done[i].id);
	}
	free(s->done);
	docker_client_free(s->cl);
	docker_endpoint_free(&s->ep);
	free(s->spec);
	free(s);
}

/* ---------------------------------------------------------------- construction */

static int parse_spec(const char *spec, struct docker_endpoint *ep, struct ferr *e)
{
	struct ferr pe = {0};

	if (strncmp(spec, "docker://", 9) != 0)
		return fe_set(e, FX_USAGE, "--to %s: docker://[unix:///PATH | tcp://HOST:PORT] expected", ESC(spec));
	if (docker_endpoint_parse(spec + 9, ep, &pe) != FX_OK)
		return fe_set(e, FX_USAGE, "--to %s: %s", ESC(spec), pe.msg);
	return FX_OK;
}

int docker_target_check(const char *spec, struct ferr *e)
{
	struct docker_endpoint ep;
	int rc = parse_spec(spec, &ep, e);
	if (rc == FX_OK)
		docker_endpoint_free(&ep);
	return rc;
}

int docker_target_open(const char *spec, const struct load_opts *lo, const struct load_sel *sel,
    struct load_target *t, struct ferr *e)
{
	struct dsink *s = xcalloc(1, sizeof(*s));
	int rc;

	if ((rc = parse_spec(spec, &s->ep, e)) != FX_OK) {
		free(s);
		return rc;
	}
	s->spec = xstrdup(spec);
	s->quiet = lo != NULL && lo->quiet;
	s->dry_run = lo != NULL && lo->dry_run;
	s->lo = lo;
	s->sel = sel;
	memset(t, 0, sizeof(*t));
	t->spec = s->spec;
	t->sink.ctx = s;
	t->sink.head = ds_head;
	t->sink.begin = ds_begin;
	t->sink.data = ds_data;
	t->sink.end = ds_end;
	t->sink.finish = ds_finish;
	t->report = ds_report;
	t->free = ds_free;
	return FX_OK;
}
