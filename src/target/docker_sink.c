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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "net/docker_api.h"
#include "image/oci.h"
#include "util/digest.h"

#define TAR_BLOB_DIR "blobs/sha256/"

/* What the sink holds of a blob of the plan (same index). */
struct dblob {
	int seen;      /* its entry arrived and verified */
	char *buf;     /* a manifest or index: the document */
	size_t len;
};

struct loaded {
	size_t image;  /* plan image index */
	char *id;      /* the image ID it must have in the daemon */
};

struct dsink {
	char *spec;
	int quiet;
	int dry_run;            /* --dry-run: ping and version only, nothing sent */
	const struct load_opts *lo;
	const struct target_plan *plan;
	struct image_verdict *verdicts;
	struct docker_endpoint ep;
	struct docker_client *cl;
	int zstd_ok;            /* the daemon decompresses zstd layers */
	struct dblob *blobs;
	struct docker_upload *up;
	struct archive *ar;
	struct ferr ar_err;     /* why the tar writer's output failed */
	struct dblob *cur;
	size_t cur_index;
	uint64_t cur_off;
	int aborted;            /* the request was cut off, or never made: nothing loaded */
	const char *abort_why;  /* then every image's reason */
	int failed;             /* the target failed (err says why) */
	struct ferr err;
	struct loaded *done;
	size_t ndone;
	size_t blobs_sent;      /* blobs put into the request (for load --json) */
	uint64_t bytes_sent;    /* the request body sent so far */
};

static struct dblob *find_hex(struct dsink *s, const char *hex, size_t *index)
{
	char digest[DIGEST_STR];
	size_t i;

	snprintf(digest, sizeof(digest), "sha256:%s", hex);
	if ((i = target_plan_find(s->plan, digest)) == PLAN_NONE)
		return NULL;
	if (index != NULL)
		*index = i;
	return &s->blobs[i];
}

/* "ref, ref2" of the selected images that hold plan blob i, escaped, for messages. */
static char *images_of(struct dsink *s, size_t i)
{
	const struct plan_blob *b = &s->plan->blobs[i];
	char *out = xstrdup(""), *t;
	size_t k;

	for (k = 0; k < b->nimages; k++) {
		t = xasprintf("%s%s%s", out, out[0] ? ", " : "", ESC(s->plan->images[b->images[k]].mi->ref));
		free(out);
		out = t;
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
	s->bytes_sent += n;
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
		fe_set(e, FX_TARGET, "image stream: %s",
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

static int ds_head(void *ctx, const struct bundle_head *head, struct ferr *e)
{
	struct dsink *s = ctx;
	struct ferr err = {0, ""};
	size_t i;

	(void)head;
	(void)e;
	s->verdicts = verdicts_new(s->plan);
	s->blobs = xcalloc(s->plan->nblobs ? s->plan->nblobs : 1, sizeof(*s->blobs));
	for (i = 0; i < s->plan->nimages; i++) {
		if (s->plan->images[i].unusable) {
			/* one request carries every image: none goes without the others */
			s->aborted = 1;
			s->abort_why = "another image of the bundle is not usable: nothing is loaded into the daemon";
			return FX_OK;
		}
	}
	if (s->plan->nimages == 0)
		return FX_OK;
	if (docker_connect(&s->ep, &s->cl, &err) != FX_OK) {
		/* Kept for report(): the bundle is still verified, the other targets go on. */
		s->failed = 1;
		s->err = err;
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
	size_t i;
	int rc;

	*want = 0;
	if (s->dry_run || s->failed || s->aborted || (i = target_plan_entry(s->plan, name)) == PLAN_NONE)
		return FX_OK;
	b = &s->blobs[i];
	s->cur = b;
	s->cur_index = i;
	s->cur_off = 0;
	*want = 1;
	if (s->plan->blobs[i].is_manifest) {
		if (size > OCI_JSON_MAX) {
			char *who = images_of(s, i);
			fe_set(e, FX_VERIFY, "image %s: manifest %s is larger than %zu bytes", who, s->plan->blobs[i].digest,
			    (size_t)OCI_JSON_MAX);
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
	snprintf(tname, sizeof(tname), "%s%s", TAR_BLOB_DIR, s->plan->blobs[i].digest + 7);
	s->blobs_sent++;
	return tar_entry(s, tname, 0, size, e);
}

/* Docker before 23 cannot load a zstd layer: found at its first bytes, before the
 * daemon could commit anything. */
static int refuse_zstd(struct dsink *s, const unsigned char *buf, size_t n, struct ferr *e)
{
	char *who;
	int rc;

	if (s->cur_off != 0 || n < 4 || s->zstd_ok || buf[0] != 0x28 || buf[1] != 0xb5 || buf[2] != 0x2f || buf[3] != 0xfd)
		return FX_OK;
	who = images_of(s, s->cur_index);
	fe_set(e, FX_TARGET, "image %s: layer %s is zstd-compressed, which Docker Engine API %s cannot load "
	    "(Docker 23 and later can); pack with --layer-compression gzip for this daemon", who,
	    s->plan->blobs[s->cur_index].digest, docker_client_version(s->cl)->api);
	free(who);
	rc = dsink_fail(s, e);
	return rc;
}

static int data_inner(void *ctx, const void *buf, size_t n, struct ferr *e)
{
	struct dsink *s = ctx;
	struct dblob *b = s->cur;
	int rc;

	if (b == NULL || s->aborted)
		return FX_OK;
	if (s->plan->blobs[s->cur_index].is_manifest) {
		/* begin() sized the buffer by the signed entry size; the reader enforces it,
		 * this check keeps the copy in bounds whatever happens. */
		if (n > (size_t)OCI_JSON_MAX || b->len + n > (size_t)OCI_JSON_MAX) {
			fe_set(e, FX_VERIFY, "manifest %s: more data than its size", s->plan->blobs[s->cur_index].digest);
			return dsink_fail(s, e);
		}
		b->buf = xrealloc(b->buf, b->len + n + 1);
		memcpy(b->buf + b->len, buf, n);
		b->len += n;
		return FX_OK;
	}
	if ((rc = refuse_zstd(s, buf, n, e)) != FX_OK)
		return rc;
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

/* The reader hashed the entry against its signed line (and the plan made sure that
 * line is the blob's name): its verdict is the blob's. */
static int ds_end(void *ctx, const char *name, int ok, struct ferr *e)
{
	struct dsink *s = ctx;
	struct dblob *b = s->cur;

	(void)name;
	(void)e;
	if (b == NULL || s->aborted)
		return FX_OK;
	s->cur = NULL;
	if (!ok) {
		/* Not an error of the target: the reader reports the entry. The request is cut
		 * off so that the daemon commits nothing. */
		char *who = images_of(s, s->cur_index);
		fx_warn("%s: image %s: blob %s did not verify; the load request was cut off, "
		    "nothing is loaded into the daemon", ESC(s->spec), who, s->plan->blobs[s->cur_index].digest);
		free(who);
		dsink_abort(s);
		s->abort_why = "a blob of the bundle did not verify: nothing is loaded into the daemon";
		return FX_OK;
	}
	b->seen = 1;
	if (s->plan->blobs[s->cur_index].is_manifest)
		b->buf[b->len] = '\0';
	return FX_OK;
}

/* The entry of an index for the daemon's os/arch, or NULL. */
static const struct oci_desc *platform_pick(const struct oci_doc *index, const struct docker_version *v)
{
	size_t i, os_len = strlen(v->os), arch_len = strlen(v->arch);

	for (i = 0; i < index->ndescs; i++) {
		const char *p = index->descs[i].platform;

		if (p != NULL && strncmp(p, v->os, os_len) == 0 && p[os_len] == '/' &&
		    strncmp(p + os_len + 1, v->arch, arch_len) == 0 &&
		    (p[os_len + 1 + arch_len] == '\0' || p[os_len + 1 + arch_len] == '/'))
			return &index->descs[i];
	}
	return NULL;
}

/* The manifest of plan image i for the daemon's platform, parsed (indexes followed). */
static int image_manifest(struct dsink *s, size_t i, struct oci_doc *out, struct ferr *e)
{
	const struct man_image *mi = s->plan->images[i].mi;
	const struct docker_version *v = docker_client_version(s->cl);
	struct oci_doc doc;
	char what[400], hex[SHA256_HEX], media_type_buf[128];
	const char *media_type = mi->media_type;
	int rc = FX_OK, depth;

	memset(out, 0, sizeof(*out));
	memset(&doc, 0, sizeof(doc));
	fx_strlcpy(hex, mi->digest + 7, sizeof(hex)); /* the plan checked it */
	for (depth = 0; depth <= OCI_MAX_DEPTH; depth++) {
		const struct oci_desc *pick;
		size_t k = PLAN_NONE;
		struct dblob *b = find_hex(s, hex, &k);

		if (b == NULL || !s->plan->blobs[k].is_manifest || !b->seen) {
			rc = fe_set(e, FX_VERIFY, "image %s: manifest sha256:%s is not in the bundle", ESC(mi->ref), hex);
			goto end;
		}
		snprintf(what, sizeof(what), "image %s: manifest sha256:%s", ESC(mi->ref), hex);
		oci_doc_free(&doc);
		if ((rc = oci_doc_parse(b->buf, b->len, media_type, what, &doc, e)) != FX_OK)
			goto end;
		if (doc.kind == OCI_KIND_MANIFEST) {
			*out = doc;
			memset(&doc, 0, sizeof(doc));
			goto end;
		}
		if ((pick = platform_pick(&doc, v)) == NULL) {
			rc = fe_set(e, FX_TARGET, "image %s: no manifest for the daemon's platform %s/%s", ESC(mi->ref), v->os,
			    v->arch);
			goto end;
		}
		memcpy(hex, pick->hex, SHA256_HEX);
		media_type = NULL;
		if (pick->media_type != NULL) {
			fx_strlcpy(media_type_buf, pick->media_type, sizeof(media_type_buf));
			media_type = media_type_buf;
		}
	}
	rc = fe_set(e, FX_VERIFY, "image %s: indexes nested too deep", ESC(mi->ref));
end:
	oci_doc_free(&doc);
	return rc;
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

/* Did a config or layer come through the stream, verified? */
static int streamed(struct dsink *s, const char *hex)
{
	size_t k = PLAN_NONE;
	struct dblob *b = find_hex(s, hex, &k);

	return b != NULL && !s->plan->blobs[k].is_manifest && b->seen;
}

/* Appends manifest.json's entry for plan image i (its config, tag and layers, every
 * one of them streamed) to entries, and notes the ID the image must get. */
static int image_entry(struct dsink *s, size_t i, json_t *entries, struct ferr *e)
{
	const struct man_image *mi = s->plan->images[i].mi;
	json_t *entry, *layers = json_array(), *tags = json_array();
	struct oci_doc manifest;
	char *tag = NULL;
	size_t j;
	int rc;

	if ((rc = image_manifest(s, i, &manifest, e)) != FX_OK)
		goto end;
	if (!streamed(s, manifest.config.hex)) {
		rc = fe_set(e, FX_VERIFY, "image %s: config sha256:%s was not streamed", ESC(mi->ref), manifest.config.hex);
		goto end;
	}
	for (j = 0; j < manifest.ndescs; j++) {
		if (!streamed(s, manifest.descs[j].hex)) {
			rc = fe_set(e, FX_VERIFY, "image %s: layer sha256:%s was not streamed", ESC(mi->ref),
			    manifest.descs[j].hex);
			goto end;
		}
		json_array_append_new(layers, json_sprintf("%s%s", TAR_BLOB_DIR, manifest.descs[j].hex));
	}
	if ((tag = repo_tag(mi->ref)) != NULL)
		json_array_append_new(tags, json_string(tag));
	else
		fx_warn("%s: image %s has no tag; it is loaded untagged", ESC(s->spec), ESC(mi->ref));
	entry = json_object();
	json_object_set_new(entry, "Config", json_sprintf("%s%s", TAR_BLOB_DIR, manifest.config.hex));
	json_object_set(entry, "RepoTags", tags);
	json_object_set(entry, "Layers", layers);
	json_array_append_new(entries, entry);
	s->done = xreallocarray(s->done, s->ndone + 1, sizeof(*s->done));
	s->done[s->ndone].image = i;
	s->done[s->ndone].id = xasprintf("sha256:%s", manifest.config.hex);
	s->ndone++;
end:
	json_decref(layers);
	json_decref(tags);
	oci_doc_free(&manifest);
	free(tag);
	return rc;
}

/* Builds manifest.json for the selected images; FX_OK with the text in *out. */
static int build_manifest_json(struct dsink *s, char **out, struct ferr *e)
{
	json_t *entries = json_array();
	size_t i;
	int rc = FX_OK;

	*out = NULL;
	for (i = 0; i < s->plan->nimages && rc == FX_OK; i++) {
		if (s->plan->images[i].refused != NULL) {
			verdict_fail(&s->verdicts[i], FX_VERIFY, "%s", s->plan->images[i].refused);
			continue;
		}
		rc = image_entry(s, i, entries, e);
	}
	if (rc == FX_OK && (*out = json_dumps(entries, JSON_COMPACT)) == NULL)
		rc = fe_set(e, FX_IO, "out of memory");
	json_decref(entries);
	return rc;
}

/* Reads each loaded image back: it must be there with the ID it was built with (an
 * image that is not fails). FX_TARGET, e set, when the daemon cannot be asked. */
static int check_loaded(struct dsink *s, struct ferr *e)
{
	size_t i;
	int rc = FX_OK;

	for (i = 0; i < s->ndone && rc == FX_OK; i++) {
		const char *ref = s->plan->images[s->done[i].image].mi->ref;
		char *tag = repo_tag(ref), *path, *body = NULL, *id = NULL;
		long status = 0;
		size_t len = 0;

		path = xasprintf("/images/%s/json", tag != NULL ? tag : s->done[i].id);
		if ((rc = docker_get_json(s->cl, path, &status, &body, &len, e)) == FX_OK) {
			id = status == 200 ? docker_parse_image_id(body, len) : NULL;
			if (id == NULL || strcmp(id, s->done[i].id) != 0)
				verdict_fail(&s->verdicts[s->done[i].image], FX_TARGET,
				    "after the load the daemon %s (expected ID %s)", id == NULL ? "does not have it" : "has another ID",
				    s->done[i].id);
		}
		free(id);
		free(body);
		free(path);
		free(tag);
	}
	return rc;
}

/* Images the load refused (--cosign-key) fail; when none is left the daemon gets
 * nothing. FX_VERIFY then, else FX_OK. */
static int refuse_images(struct dsink *s)
{
	size_t i, left = 0;

	for (i = 0; i < s->plan->nimages; i++) {
		if (s->plan->images[i].refused != NULL)
			verdict_fail(&s->verdicts[i], FX_VERIFY, "%s", s->plan->images[i].refused);
		else
			left++;
	}
	if (left > 0)
		return FX_OK;
	dsink_abort(s);
	s->abort_why = "every image was refused: nothing is loaded into the daemon";
	return FX_VERIFY;
}

static int ds_finish(void *ctx, int all_ok, struct ferr *e)
{
	struct dsink *s = ctx;
	struct docker_msgs msgs;
	struct ferr err = {0};
	char *manifest_json = NULL;
	int rc;

	(void)e;
	if (s->failed || s->aborted || s->plan->nimages == 0)
		return FX_OK;
	if (!all_ok) {
		/* Something in the bundle did not verify: the images are not sent. */
		dsink_abort(s);
		s->abort_why = "the bundle did not verify: nothing is loaded into the daemon";
		return FX_OK;
	}
	if ((rc = refuse_images(s)) != FX_OK || s->dry_run)
		return FX_OK;
	if (s->up == NULL && stream_open(s, &err) != FX_OK)
		return FX_OK;
	if (build_manifest_json(s, &manifest_json, &err) != FX_OK) {
		dsink_fail(s, &err);
		goto end;
	}
	if (tar_entry(s, "manifest.json", 0, strlen(manifest_json), &err) != FX_OK ||
	    tar_data(s, manifest_json, strlen(manifest_json), &err) != FX_OK)
		goto end;
	if (archive_write_close(s->ar) != ARCHIVE_OK) {
		tar_failed(s, &err);
		goto end;
	}
	archive_write_free(s->ar);
	s->ar = NULL;
	rc = docker_load_end(s->up, 0, &msgs, &err);
	s->up = NULL;
	docker_msgs_free(&msgs);
	if (rc != FX_OK) {
		dsink_fail(s, &err);
		goto end;
	}
	if (check_loaded(s, &err) != FX_OK)
		dsink_fail(s, &err);
end:
	free(manifest_json);
	/* A target failure is reported by report(), so that the other targets finish. */
	return FX_OK;
}

static int ds_report(void *ctx, int finished, struct ferr *e)
{
	struct dsink *s = ctx;
	struct target_report r = {.spec = s->spec, .plan = s->plan, .verdicts = s->verdicts, .finished = finished,
	    .lo = s->lo, .dry_run = s->dry_run, .dead_why = s->failed ? s->err.msg : NULL,
	    .dead_image_why = "nothing was loaded into the daemon", .blobs_sent = s->blobs_sent, .bytes = s->bytes_sent,
	    .charts_why = "a Docker daemon holds images only (load charts into registry:// or oci:DIR)"};
	char api[64] = "";
	size_t i;

	for (i = 0; i < s->plan->nimages && !s->failed && s->aborted; i++)
		verdict_fail(&s->verdicts[i], FX_VERIFY, "%s",
		    s->abort_why != NULL ? s->abort_why : "the bundle did not verify: nothing is loaded into the daemon");
	for (i = 0; i < s->plan->nimages && !s->quiet && finished && !s->failed; i++) {
		if (s->verdicts[i].failed)
			continue;
		if (s->dry_run)
			fprintf(stderr, "%s: %s: would load %s\n", fx_progname, ESC(s->spec), ESC(s->plan->images[i].mi->ref));
	}
	for (i = 0; i < s->ndone && !s->quiet && !s->failed; i++)
		if (!s->verdicts[s->done[i].image].failed)
			fprintf(stderr, "%s: %s: loaded %s (%s)\n", fx_progname, ESC(s->spec),
			    ESC(s->plan->images[s->done[i].image].mi->ref), s->done[i].id);
	if (s->cl != NULL)
		snprintf(api, sizeof(api), " (Docker Engine API %s)", docker_client_api(s->cl));
	return target_report(&r, e, "into %s%s", ESC(s->ep.label), s->dry_run ? api : "");
}

static void ds_free(void *ctx)
{
	struct dsink *s = ctx;
	size_t i;

	if (s == NULL)
		return;
	if (s->up != NULL || s->ar != NULL)
		dsink_abort(s);
	for (i = 0; s->blobs != NULL && i < s->plan->nblobs; i++)
		free(s->blobs[i].buf);
	free(s->blobs);
	free(s->verdicts);
	for (i = 0; i < s->ndone; i++)
		free(s->done[i].id);
	free(s->done);
	docker_client_free(s->cl);
	docker_endpoint_free(&s->ep);
	free(s->spec);
	free(s);
}

/* ---------------------------------------------------------------- construction */

int docker_target_check(const char *spec, void **parsed, struct ferr *e)
{
	struct docker_endpoint endpoint;
	struct ferr parse_err = {0};

	if (strncmp(spec, "docker://", 9) != 0)
		return fe_set(e, FX_USAGE, "--to %s: docker://[unix:///PATH | tcp://HOST:PORT] expected", ESC(spec));
	if (docker_endpoint_parse(spec + 9, &endpoint, &parse_err) != FX_OK)
		return fe_set(e, FX_USAGE, "--to %s: %s", ESC(spec), parse_err.msg);
	if (parsed != NULL) {
		*parsed = xmalloc(sizeof(endpoint));
		memcpy(*parsed, &endpoint, sizeof(endpoint));
	} else {
		docker_endpoint_free(&endpoint);
	}
	return FX_OK;
}

int docker_target_open(const char *spec, void *parsed, const struct load_opts *lo, const struct target_plan *plan,
    struct load_target *t, struct ferr *e)
{
	struct dsink *s = xcalloc(1, sizeof(*s));

	(void)e;
	memcpy(&s->ep, parsed, sizeof(s->ep));
	free(parsed);
	s->spec = xstrdup(spec);
	s->ep.timeout = lo->timeout;
	s->quiet = lo->quiet;
	s->dry_run = lo->dry_run;
	s->lo = lo;
	s->plan = plan;
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
