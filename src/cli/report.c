/* report.c - `ferry-load report BUNDLE --keyring K [--license-pubkey PUB]
 * [--against OLD.ferry] -o report.html [--json]`: reads and verifies the bundle once
 * (and OLD), builds the report's model and writes it as HTML or JSON with fx_write_file
 * (it appears whole or not at all).
 *
 * The model: verdict first (signature, every entry's hash, what was not checked), then,
 * only when the head verified, the bundle's identity, its images (layers shared between
 * them, sizes, and per platform the OS packages from its SBOM), charts, docs, files,
 * licenses with their claims and verdict, and every entry with its digest. */
#include "cli/report.h"
#include "cli/sbom_cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto/license.h"
#include "image/oci.h"
#include "image/sbom.h"
#include "image/sbom_read.h"
#include "image/sbom_write.h"
#include "util/file.h"
#include "util/digest.h"

const char *jget_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

json_int_t jget_int(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static void set_text(json_t *o, const char *key, const char *v)
{
	json_object_set_new(o, key, v != NULL ? json_text(v) : json_null());
}

static json_t *text_array(char **v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_text(v[i]));
	return a;
}

static const char *verdict_name(enum audit_verdict v)
{
	switch (v) {
	case AV_OK: return "ok";
	case AV_BAD: return "BAD";
	case AV_SKIPPED: return "ok";
	case AV_UNSEEN: break;
	}
	return "missing";
}

/* ---- the verdict */

static json_t *signature(const struct audit_bundle *a, const struct read_opts *ro)
{
	json_t *s = json_object();
	const char *state;
	char when[32];

	if (a->h.sig_checked)
		state = "good";
	else if (a->h.sums_text == NULL)
		state = "unreadable";
	else if (!a->h.is_signed)
		state = "unsigned";
	else if (ro->keyring == NULL)
		state = "not checked";
	else
		state = "BAD";
	json_object_set_new(s, "state", json_string(state));
	if (a->h.sig_checked) {
		fmt_time_utc(a->h.signer.when, when);
		set_text(s, "fingerprint", a->h.signer.fpr);
		set_text(s, "uid", a->h.signer.uid);
		set_text(s, "signed", when);
	}
	if (ro->nfingerprints > 0)
		json_object_set_new(s, "requiredFingerprints", text_array(ro->fingerprints, ro->nfingerprints));
	return s;
}

static json_t *not_checked(const struct audit_bundle *a, const struct report_ctx *c)
{
	json_t *n = json_array();

	if (!a->h.sig_checked)
		json_array_append_new(n, json_string("the signature: nothing in this bundle is vouched for by a signer"));
	if (c->license_pubkey == NULL && a->head_ok && a->h.man.nlicenses > 0)
		json_array_append_new(n, json_string("the licenses' own signatures (no --license-pubkey given): "
		    "their claims are shown as the bundle states them"));
	json_array_append_new(n, json_string("what the software does: images, charts and files are checked "
	    "byte for byte against the signed digests, not for their behaviour"));
	json_array_append_new(n, json_string("software installed without a package manager: the SBOMs list the "
	    "OS packages ferry-pack found in each image's package databases (dpkg, apk, rpm) when it packed them"));
	return n;
}

static json_t *verdict(const struct audit_bundle *a, const struct report_ctx *c, int license_bad)
{
	json_t *v = json_object(), *ents = json_object();
	int trusted = a->rc == FX_OK && a->h.sig_checked && !license_bad;
	const char *summary;

	if (trusted)
		summary = "VERIFIED: the signature is good and every entry matches its signed digest";
	else if (!a->head_ok)
		summary = "NOT TRUSTED: the bundle's signed head did not verify; nothing in it is listed";
	else if (a->rc != FX_OK)
		summary = "NOT TRUSTED: the bundle did not verify (see the entries marked BAD or missing)";
	else if (license_bad)
		summary = "NOT TRUSTED: the bundle verified, but its license is not valid";
	else
		summary = "NOT SIGNED: the checksums match, but no signature vouches for them";
	json_object_set_new(v, "trusted", json_boolean(trusted));
	json_object_set_new(v, "summary", json_string(summary));
	json_object_set_new(v, "signature", signature(a, c->ro));
	json_object_set_new(ents, "ok", json_integer((json_int_t)a->rep.entries_ok + (a->head_ok ? 1 : 0)));
	json_object_set_new(ents, "bad", json_integer((json_int_t)a->rep.entries_bad));
	json_object_set_new(ents, "missing", json_integer((json_int_t)a->rep.missing));
	json_object_set_new(ents, "extra", json_integer((json_int_t)a->rep.extra));
	json_object_set_new(v, "entries", ents);
	if (a->rc != FX_OK)
		set_text(v, "error", a->e.msg);
	json_object_set_new(v, "notChecked", not_checked(a, c));
	return v;
}

/* ---- what the verified head says */

static json_t *identity(const struct manifest *m, const struct bundle_head *h)
{
	json_t *b = json_object();

	set_text(b, "name", m->name);
	set_text(b, "version", m->version);
	set_text(b, "vendor", m->vendor);
	set_text(b, "description", m->description);
	set_text(b, "created", m->created);
	set_text(b, "tool", m->tool);
	json_object_set_new(b, "compression", json_string(h->zstd ? "zstd" : "none"));
	json_object_set_new(b, "entries", json_integer((json_int_t)h->sums.n));
	return b;
}

static json_t *entry_info(const struct audit_bundle *a, const char *path)
{
	json_t *o = json_object();
	const struct audit_entry *x = NULL;
	char hex[SHA256_HEX];
	size_t i;

	for (i = 0; i < a->nents && x == NULL; i++)
		if (strcmp(a->ents[i].path, path) == 0)
			x = &a->ents[i];
	set_text(o, "path", path);
	if (x == NULL) {
		json_object_set_new(o, "verdict", json_string("not listed in SHA256SUMS"));
		return o;
	}
	hex_encode(x->digest, SHA256_LEN, hex);
	json_object_set_new(o, "sha256", json_string(hex));
	json_object_set_new(o, "size", json_integer((json_int_t)x->size));
	json_object_set_new(o, "verdict", json_string(verdict_name(x->verdict)));
	return o;
}

/* The layers of an image, from its verified manifests (an index's children are among
 * them). */
static json_t *image_layers(const struct audit_bundle *a, const struct man_image *mi)
{
	json_t *layers = json_array();
	size_t k, i, j;

	for (k = 0; k < mi->nmanifests; k++) {
		char *path = digest_valid(mi->manifests[k]) ?
		    xasprintf("images/blobs/sha256/%s", mi->manifests[k] + 7) : NULL;
		const struct audit_entry *x = path != NULL ? audit_entry(a, path) : NULL;
		struct oci_doc doc;
		struct ferr e = {0, ""};

		memset(&doc, 0, sizeof(doc));
		if (x != NULL && oci_doc_parse(x->data, x->len, NULL, "manifest", &doc, &e) == FX_OK &&
		    doc.kind == OCI_KIND_MANIFEST) {
			for (i = 0; i < doc.ndescs; i++) {
				char d[DIGEST_STR];
				int dup = 0;
				snprintf(d, sizeof(d), "sha256:%s", doc.descs[i].hex);
				for (j = 0; j < json_array_size(layers) && !dup; j++)
					dup = strcmp(jget_str(json_array_get(layers, j), "digest"), d) == 0;
				if (!dup) {
					json_t *l = json_object();
					json_object_set_new(l, "digest", json_string(d));
					json_object_set_new(l, "size", json_integer((json_int_t)doc.descs[i].size));
					set_text(l, "mediaType", doc.descs[i].media_type);
					json_object_set_new(l, "sharedWith", json_array());
					json_array_append_new(layers, l);
				}
			}
		}
		oci_doc_free(&doc);
		free(path);
	}
	return layers;
}

static json_t *package_json(const struct pkg *p)
{
	json_t *o = json_object();

	set_text(o, "name", p->name);
	set_text(o, "version", p->version);
	set_text(o, "arch", p->arch);
	json_object_set_new(o, "type", json_string(pkg_kind_name(p->kind)));
	json_object_set_new(o, "licenses", text_array(p->licenses, p->nlicenses));
	set_text(o, "purl", p->purl);
	return o;
}

static json_t *image_sboms(const struct audit_bundle *a, const struct man_image *mi)
{
	json_t *out = json_array();
	size_t k, i;

	for (k = 0; k < mi->nsboms; k++) {
		const char *path = mi->sboms[k], *suffix = strstr(path, SBOM_CDX_SUFFIX);
		const struct audit_entry *x;
		struct sbom_view v;
		struct ferr e = {0, ""};
		json_t *o, *pk;

		if (suffix == NULL || suffix[strlen(SBOM_CDX_SUFFIX)] != '\0')
			continue;
		o = json_object();
		set_text(o, "path", path);
		x = audit_entry(a, path);
		if (x == NULL || sbom_view_parse(x->data, x->len, "SBOM", &v, &e) != FX_OK) {
			json_object_set_new(o, "error", json_text(x == NULL ? "the SBOM did not verify or is missing" : e.msg));
			json_array_append_new(out, o);
			continue;
		}
		set_text(o, "platform", v.platform);
		set_text(o, "manifest", v.digest);
		set_text(o, "os", v.os_pretty != NULL ? v.os_pretty : v.os_id);
		set_text(o, "status", v.status);
		json_object_set_new(o, "databases", text_array(v.databases, v.ndatabases));
		json_object_set_new(o, "notes", text_array(v.notes, v.nnotes));
		json_object_set_new(o, "packageCount", json_integer((json_int_t)v.pkgs.n));
		pk = json_array();
		for (i = 0; i < v.pkgs.n; i++)
			json_array_append_new(pk, package_json(&v.pkgs.v[i]));
		json_object_set_new(o, "packages", pk);
		json_array_append_new(out, o);
		sbom_view_free(&v);
	}
	return out;
}

/* Which layers each image shares with which others. */
static void mark_shared(json_t *images)
{
	size_t i, j, k, l;
	json_t *a, *b;

	json_array_foreach(images, i, a) {
		json_int_t shared = 0;
		json_array_foreach(images, j, b) {
			if (i == j)
				continue;
			for (k = 0; k < json_array_size(json_object_get(a, "layers")); k++) {
				json_t *la = json_array_get(json_object_get(a, "layers"), k);
				for (l = 0; l < json_array_size(json_object_get(b, "layers")); l++) {
					json_t *lb = json_array_get(json_object_get(b, "layers"), l);
					if (strcmp(jget_str(la, "digest"), jget_str(lb, "digest")) == 0)
						json_array_append_new(json_object_get(la, "sharedWith"),
						    json_deep_copy(json_object_get(b, "ref")));
				}
			}
		}
		for (k = 0; k < json_array_size(json_object_get(a, "layers")); k++) {
			json_t *la = json_array_get(json_object_get(a, "layers"), k);
			if (json_array_size(json_object_get(la, "sharedWith")) > 0)
				shared += jget_int(la, "size");
		}
		json_object_set_new(a, "sharedLayerBytes", json_integer(shared));
	}
}

static json_t *images(const struct audit_bundle *a)
{
	const struct manifest *m = &a->h.man;
	json_t *out = json_array();
	size_t i, k;

	for (i = 0; i < m->nimages; i++) {
		const struct man_image *mi = &m->images[i];
		json_t *o = json_object();
		size_t bad = 0;

		set_text(o, "ref", mi->ref);
		set_text(o, "digest", mi->digest);
		set_text(o, "mediaType", mi->media_type);
		json_object_set_new(o, "platforms", text_array(mi->platforms, mi->nplatforms));
		json_object_set_new(o, "size", json_integer((json_int_t)mi->size));
		json_object_set_new(o, "layerCount", json_integer(mi->layers));
		for (k = 0; k < mi->nblobs; k++) {
			char *path = digest_valid(mi->blobs[k]) ?
			    xasprintf("images/blobs/sha256/%s", mi->blobs[k] + 7) : xstrdup(mi->blobs[k]);
			json_t *ei = entry_info(a, path);
			bad += strcmp(jget_str(ei, "verdict"), "ok") != 0;
			json_decref(ei);
			free(path);
		}
		json_object_set_new(o, "blobsNotVerified", json_integer((json_int_t)bad));
		json_object_set_new(o, "layers", image_layers(a, mi));
		json_object_set_new(o, "sboms", image_sboms(a, mi));
		json_array_append_new(out, o);
	}
	mark_shared(out);
	return out;
}

static json_t *licenses(const struct audit_bundle *a, const struct report_ctx *c, int *license_bad)
{
	const struct manifest *m = &a->h.man;
	json_t *out = json_array();
	size_t i;

	for (i = 0; i < m->nlicenses; i++) {
		const struct man_license *l = &m->licenses[i];
		const struct audit_entry *x = audit_entry(a, l->path);
		json_t *o = json_object();
		char reason[256] = "";
		int days = 0;

		set_text(o, "path", l->path);
		set_text(o, "subject", l->subject);
		set_text(o, "customer", l->customer);
		set_text(o, "edition", l->edition);
		set_text(o, "audience", l->audience);
		json_object_set_new(o, "seats", l->has_seats ? json_integer((json_int_t)l->seats) : json_null());
		set_text(o, "expires", l->expires);
		if (c->license_pubkey == NULL) {
			json_object_set_new(o, "verdict", json_string("not checked"));
		} else if (x == NULL) {
			json_object_set_new(o, "verdict", json_string("did not verify"));
			*license_bad = 1;
		} else {
			enum license_state st = license_check(x->data, x->len, c->license_pubkey, c->audience, c->now, NULL,
			    &days, reason, sizeof(reason));
			json_object_set_new(o, "verdict", json_string(license_state_name(st)));
			set_text(o, "reason", reason);
			if (st == LIC_GRACE)
				json_object_set_new(o, "graceDaysLeft", json_integer(days));
			if (st != LIC_VALID && st != LIC_GRACE)
				*license_bad = 1;
		}
		json_array_append_new(out, o);
	}
	return out;
}

json_t *report_bundle(const struct audit_bundle *a, const struct report_ctx *c, int *license_bad)
{
	json_t *root = json_object(), *charts, *docs, *files, *ents, *lic = NULL;
	const struct manifest *m = &a->h.man;
	size_t i;

	char when[32];

	*license_bad = 0;
	fmt_time_utc(c->now, when);
	set_text(root, "file", a->path);
	json_object_set_new(root, "generated", json_string(when));
	json_object_set_new(root, "tool", json_string("ferry " FERRY_VERSION));
	if (a->head_ok)
		lic = licenses(a, c, license_bad);
	json_object_set_new(root, "verdict", verdict(a, c, *license_bad));
	if (!a->head_ok) {
		json_decref(lic);
		return root; /* nothing unverified is listed */
	}
	json_object_set_new(root, "bundle", identity(m, &a->h));
	json_object_set_new(root, "images", images(a));
	charts = json_array();
	for (i = 0; i < m->ncharts; i++) {
		json_t *o = entry_info(a, m->charts[i].path);
		set_text(o, "name", m->charts[i].name);
		set_text(o, "version", m->charts[i].version);
		json_array_append_new(charts, o);
	}
	json_object_set_new(root, "charts", charts);
	docs = json_array();
	for (i = 0; i < m->ndocs; i++) {
		json_t *o = entry_info(a, m->docs[i].path);
		set_text(o, "title", m->docs[i].title);
		json_array_append_new(docs, o);
	}
	json_object_set_new(root, "docs", docs);
	files = json_array();
	for (i = 0; i < m->nfiles; i++)
		json_array_append_new(files, entry_info(a, m->files[i].path));
	json_object_set_new(root, "files", files);
	json_object_set_new(root, "license", lic);
	ents = json_array();
	for (i = 0; i < a->nents; i++)
		json_array_append_new(ents, entry_info(a, a->ents[i].path));
	json_object_set_new(root, "entries", ents);
	return root;
}

/* ---- the verb */

static int write_out(const struct report_opts *o, const json_t *model, struct ferr *e)
{
	char *text;
	size_t len;
	int rc;

	if (o->json) {
		text = json_dumps(model, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
		if (text == NULL)
			return fe_set(e, FX_IO, "report: cannot write JSON (out of memory)");
		len = strlen(text);
		text = xrealloc(text, len + 2);
		text[len++] = '\n';
		text[len] = '\0';
	} else {
		text = report_html(model, &len);
	}
	if (o->output == NULL)
		rc = fwrite(text, 1, len, stdout) == len ? FX_OK : fe_set(e, FX_IO, "stdout: %s", strerror(errno));
	else
		rc = fx_write_file(o->output, text, len, 0644, o->force, e);
	free(text);
	return rc;
}

/* The exit code once the report is written: what did not verify, named. */
static int report_outcome(const char *bundle, const struct report_opts *o, const struct audit_bundle *a,
    const struct audit_bundle *old, int license_bad, struct ferr *e)
{
	if (a->rc != FX_OK)
		return fe_set(e, a->rc, "%s", a->e.msg);
	if (license_bad)
		return fe_set(e, FX_VERIFY, "%s: a license is not valid (see the report)", ESC(bundle));
	if (old != NULL && old->rc != FX_OK)
		return fe_set(e, old->rc, "--against %s: %s", ESC(o->against), old->e.msg);
	return FX_OK;
}

int report_run(const char *bundle, const struct read_opts *ro, const struct report_opts *o, struct ferr *e)
{
	struct read_opts reader = *ro;
	struct report_ctx c;
	struct audit_bundle a, old;
	json_t *model = NULL, *old_model = NULL;
	struct stat st;
	int rc, license_bad = 0, old_license_bad = 0, trusted;
	const unsigned keep = AUDIT_KEEP_SBOMS | AUDIT_KEEP_LICENSES | AUDIT_KEEP_MANIFESTS;

	memset(&a, 0, sizeof(a));
	memset(&old, 0, sizeof(old));
	if (o->output != NULL && !o->force && lstat(o->output, &st) == 0)
		return fe_set(e, FX_IO, "%s: " FX_EXISTS, ESC(o->output));
	/* licenses are checked by the report itself (to show their verdict), not by the reader */
	reader.license_pubkey = NULL;
	reader.audience = NULL;
	c.ro = &reader;
	c.license_pubkey = ro->license_pubkey;
	c.audience = ro->audience;
	c.now = ro->now;
	audit_read(bundle, &reader, keep, &a);
	model = report_bundle(&a, &c, &license_bad);
	if (o->against != NULL) {
		struct report_ctx oc = c;
		oc.license_pubkey = NULL; /* only the images of the older bundle are compared */
		audit_read(o->against, &reader, AUDIT_KEEP_SBOMS | AUDIT_KEEP_MANIFESTS, &old);
		old_model = report_bundle(&old, &oc, &old_license_bad);
		json_object_set_new(model, "comparison", report_compare(model, old_model, o->against));
	}
	if ((rc = write_out(o, model, e)) != FX_OK)
		goto end;
	trusted = json_is_true(json_object_get(json_object_get(model, "verdict"), "trusted"));
	rc = report_outcome(bundle, o, &a, o->against != NULL ? &old : NULL, license_bad, e);
	if (!o->quiet && o->output != NULL)
		fprintf(stderr, "%s: wrote %s: %s\n", fx_progname, ESC(o->output),
		    trusted ? "VERIFIED" : rc == FX_OK ? "NOT SIGNED (checksums only)" : "NOT TRUSTED");
end:
	json_decref(model);
	json_decref(old_model);
	audit_free(&a);
	audit_free(&old);
	return rc;
}
