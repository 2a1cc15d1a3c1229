/* inspect.c - prints a bundle's head (signer, metadata, contents) as text or JSON. */
#include "cli/inspect.h"
#include "cli/load_delta.h"
#include "cli/result.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bundle/chart.h"
#include "bundle/state.h"

/* How the bundle compares with what the state file recorded (inspect --state). */
struct last_loaded {
	const char *file;           /* NULL: no --state */
	struct load_state st;
	const struct state_bundle *b; /* NULL: this vendor and name never loaded */
	const char *compare;        /* "first", "newer", "same", "older" */
};

static int read_last(const struct manifest *m, const struct fresh_opts *o, struct last_loaded *last, struct ferr *e)
{
	int rc;

	memset(last, 0, sizeof(*last));
	if (o == NULL || o->state == NULL)
		return FX_OK;
	if ((rc = state_read(o->state, &last->st, e)) != FX_OK)
		return rc;
	last->file = o->state;
	last->b = state_find(&last->st, m->vendor != NULL ? m->vendor : "", m->name);
	last->compare = last->b == NULL ? "first" : m->sequence > last->b->sequence ? "newer" :
	    m->sequence == last->b->sequence ? "same" : "older";
	return FX_OK;
}

static json_t *last_json(const struct last_loaded *last)
{
	json_t *o;
	char when[32];

	if (last->file == NULL)
		return json_null();
	o = json_pack("{s:s, s:s}", "file", last->file, "compare", last->compare);
	if (last->b != NULL) {
		fmt_time_utc(last->b->loaded, when);
		json_object_set_new(o, "version", json_string(last->b->version));
		json_object_set_new(o, "sequence", json_integer((json_int_t)last->b->sequence));
		json_object_set_new(o, "loaded", json_string(when));
	}
	return o;
}

static void print_freshness(FILE *f, const struct manifest *m, const struct last_loaded *last, int64_t now)
{
	char when[32];

	fprintf(f, "Sequence:    %llu\n", (unsigned long long)m->sequence);
	fprintf(f, "Expires:     %s%s\n", m->expires ? ESC(m->expires) : "never",
	    m->expires && now >= m->expires_at ? " (EXPIRED: verify, load and extract refuse it)" : "");
	if (last->file == NULL)
		return;
	if (last->b == NULL) {
		fprintf(f, "Last loaded: never (%s)\n", ESC(last->file));
		return;
	}
	fmt_time_utc(last->b->loaded, when);
	fprintf(f, "Last loaded: %s, sequence %llu, %s (%s)\n             this bundle is %s\n", ESC(last->b->version),
	    (unsigned long long)last->b->sequence, when, ESC(last->file),
	    strcmp(last->compare, "newer") == 0 ? "newer" : strcmp(last->compare, "same") == 0 ? "the same release" :
	    "OLDER: load and extract refuse it without --allow-downgrade");
}

static uint64_t total_size(const struct manifest *m)
{
	uint64_t t = 0;
	size_t i;

	for (i = 0; i < m->nentries; i++)
		t += m->entries[i].size;
	return t;
}

static const char *state(const struct bundle_head *h)
{
	if (!h->is_signed)
		return "unsigned";
	return h->sig_checked ? "signature-good" : "unverified";
}

static json_t *jstr(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *jstrv(char **v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, jstr(v[i]));
	return a;
}

/* Where a load puts the chart under a target's prefix: P/NAME:TAG. 0 for a chart
 * that is a file only. */
static int chart_reference(const struct man_chart *c, const char *charts_path, char *ref, size_t size)
{
	char tag[CHART_TAG_MAX];

	if (c->digest == NULL || c->name == NULL || c->version == NULL || c->nblobs < 3)
		return 0;
	chart_tag(c->version, tag, sizeof(tag));
	snprintf(ref, size, "%s/%s:%s", charts_path != NULL ? charts_path : "charts", c->name, tag);
	return 1;
}

/* What the bundle says of an image's cosign signatures. */
static const char *cosign_verdict(const struct man_image *im)
{
	if (im->nsignatures == 0)
		return "no signatures";
	if (im->cosign != NULL && strcmp(im->cosign, "verified") == 0)
		return "signatures carried, verified with the key at pack (--cosign-key)";
	return "signatures carried, NOT verified (packed without --cosign-key)";
}

static const char *prov_verdict(const char *provenance)
{
	if (provenance != NULL && strcmp(provenance, "verified") == 0)
		return "verified (ferry-pack checked its signature and the archive's SHA-256)";
	if (provenance != NULL && strcmp(provenance, "unverified") == 0)
		return "carried, NOT verified (packed without --chart-keyring)";
	return "none";
}

static int print_json(FILE *f, const char *path, const struct bundle_head *h, const struct last_loaded *last,
    int64_t now, const char *charts_path, struct ferr *e)
{
	char ref[512];
	const struct manifest *m = &h->man;
	json_t *root = json_object(), *b = json_object(), *a;
	char *text;
	char when[32];
	size_t i;

	json_object_set_new(root, "schema", json_integer(RESULT_SCHEMA));
	json_object_set_new(root, "file", json_string(path));
	json_object_set_new(root, "state", json_string(state(h)));
	json_object_set_new(root, "verified", json_boolean(h->sig_checked));
	json_object_set_new(root, "contentsVerified", json_false());
	json_object_set_new(root, "signed", json_boolean(h->is_signed));
	if (h->sig_checked) {
		json_t *s = json_object();
		fmt_time_utc(h->signer.when, when);
		json_object_set_new(s, "fingerprint", json_string(h->signer.fpr));
		json_object_set_new(s, "uid", json_string(h->signer.uid));
		json_object_set_new(s, "signed", json_string(when));
		json_object_set_new(root, "signer", s);
	} else {
		json_object_set_new(root, "signer", json_null());
	}
	json_object_set_new(root, "compression", json_string(h->zstd ? "zstd" : "none"));
	json_object_set_new(b, "name", jstr(m->name));
	json_object_set_new(b, "version", jstr(m->version));
	json_object_set_new(b, "vendor", jstr(m->vendor));
	json_object_set_new(b, "created", jstr(m->created));
	json_object_set_new(b, "tool", jstr(m->tool));
	json_object_set_new(b, "description", jstr(m->description));
	json_object_set_new(b, "sequence", json_integer((json_int_t)m->sequence));
	json_object_set_new(b, "expires", jstr(m->expires));
	json_object_set_new(b, "expired", json_boolean(m->expires != NULL && now >= m->expires_at));
	json_object_set_new(b, "lastLoaded", last_json(last));
	json_object_set_new(root, "bundle", b);

	a = json_array();
	for (i = 0; i < m->nimages; i++) {
		const struct man_image *im = &m->images[i];
		json_t *o = json_object();
		json_object_set_new(o, "ref", jstr(im->ref));
		json_object_set_new(o, "digest", jstr(im->digest));
		json_object_set_new(o, "mediaType", jstr(im->media_type));
		if (im->upstream_index != NULL)
			json_object_set_new(o, "upstreamIndex", jstr(im->upstream_index));
		json_object_set_new(o, "platforms", jstrv(im->platforms, im->nplatforms));
		json_object_set_new(o, "size", json_integer((json_int_t)im->size));
		json_object_set_new(o, "layers", json_integer(im->layers));
		json_object_set_new(o, "cosignSignatures", json_integer((json_int_t)im->nsignatures));
		json_object_set_new(o, "cosign", jstr(im->cosign));
		json_array_append_new(a, o);
	}
	json_object_set_new(root, "images", a);
	a = json_array();
	for (i = 0; i < m->ncharts; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "name", jstr(m->charts[i].name));
		json_object_set_new(o, "version", jstr(m->charts[i].version));
		json_object_set_new(o, "path", jstr(m->charts[i].path));
		json_object_set_new(o, "appVersion", jstr(m->charts[i].app_version));
		json_object_set_new(o, "provenance", jstr(m->charts[i].provenance ? m->charts[i].provenance : "none"));
		json_object_set_new(o, "digest", jstr(m->charts[i].digest));
		if (chart_reference(&m->charts[i], charts_path, ref, sizeof(ref)))
			json_object_set_new(o, "reference", jstr(ref));
		else
			json_object_set_new(o, "reference", json_null());
		json_array_append_new(a, o);
	}
	json_object_set_new(root, "charts", a);
	a = json_array();
	for (i = 0; i < m->ndocs; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "path", jstr(m->docs[i].path));
		json_object_set_new(o, "title", jstr(m->docs[i].title));
		json_array_append_new(a, o);
	}
	json_object_set_new(root, "docs", a);
	a = json_array();
	for (i = 0; i < m->nlicenses; i++) {
		const struct man_license *l = &m->licenses[i];
		json_t *o = json_object();
		json_object_set_new(o, "path", jstr(l->path));
		json_object_set_new(o, "subject", jstr(l->subject));
		json_object_set_new(o, "customer", jstr(l->customer));
		json_object_set_new(o, "edition", jstr(l->edition));
		json_object_set_new(o, "audience", jstr(l->audience));
		json_object_set_new(o, "seats", l->has_seats ? json_integer((json_int_t)l->seats) : json_null());
		json_object_set_new(o, "expires", jstr(l->expires));
		json_array_append_new(a, o);
	}
	json_object_set_new(root, "license", a);
	a = json_array();
	for (i = 0; i < m->nfiles; i++)
		json_array_append_new(a, jstr(m->files[i].path));
	json_object_set_new(root, "files", a);
	json_object_set_new(root, "entries", json_integer((json_int_t)h->sums.n));
	json_object_set_new(root, "size", json_integer((json_int_t)total_size(m)));
	json_object_set_new(root, "delta", m->nbases > 0 ? delta_json(m) : json_null());

	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (text == NULL)
		return fe_set(e, FX_IO, "JSON output failed");
	fprintf(f, "%s\n", text);
	free(text);
	return FX_OK;
}

int inspect_print(FILE *f, const char *path, const struct bundle_head *h, int json, const struct fresh_opts *fresh,
    const char *charts_path, struct ferr *e)
{
	const struct manifest *m = &h->man;
	struct last_loaded last;
	char sz[32], when[32], ref[512];
	int64_t now = fresh != NULL ? fresh->now : 0;
	size_t i, j;
	int rc;

	if ((rc = read_last(m, fresh, &last, e)) != FX_OK)
		return rc;
	if (json) {
		rc = print_json(f, path, h, &last, now, charts_path, e);
		state_free(&last.st);
		return rc;
	}
	if (!h->sig_checked)
		fprintf(f, "*** UNVERIFIED: %s ***\n", h->is_signed ?
		    "signature not checked (give --keyring to check it); nothing below is trusted" :
		    "this bundle is NOT signed; nothing below is trusted");
	fprintf(f, "Bundle:      %s %s", ESC(m->name), ESC(m->version));
	if (m->vendor != NULL)
		fprintf(f, " (%s)", ESC(m->vendor));
	fputc('\n', f);
	if (m->description != NULL)
		fprintf(f, "Description: %s\n", ESC(m->description));
	fprintf(f, "Created:     %s by %s\n", m->created ? ESC(m->created) : "?", m->tool ? ESC(m->tool) : "?");
	print_freshness(f, m, &last, now);
	state_free(&last.st);
	if (h->sig_checked) {
		fmt_time_utc(h->signer.when, when);
		fprintf(f, "Signature:   good, %s\n             %s\n             signed %s\n", h->signer.fpr,
		    ESC(h->signer.uid), when);
	} else {
		fprintf(f, "Signature:   %s\n", h->is_signed ? "present, NOT checked" : "none");
	}
	fprintf(f, "Contents:    %zu entries, %s%s (entry checksums not read: run verify)\n", h->sums.n,
	    fmt_bytes(total_size(m), sz, sizeof(sz)), h->zstd ? ", zstd-compressed" : "");
	fprintf(f, "Images:      %zu\n", m->nimages);
	for (i = 0; i < m->nimages; i++) {
		const struct man_image *im = &m->images[i];
		fprintf(f, "  %s\n    digest %s\n    ", ESC(im->ref), ESC(im->digest));
		if (im->upstream_index != NULL)
			fprintf(f, "upstream index %s (platforms kept: %zu)\n    ", ESC(im->upstream_index), im->nplatforms);
		for (j = 0; j < im->nplatforms; j++)
			fprintf(f, "%s%s", j ? ", " : "", ESC(im->platforms[j]));
		fprintf(f, "%s%d layers, %s\n", im->nplatforms ? "; " : "", im->layers,
		    fmt_bytes(im->size, sz, sizeof(sz)));
		if (im->nsignatures > 0)
			fprintf(f, "    cosign: %zu %s\n", im->nsignatures, cosign_verdict(im));
	}
	fprintf(f, "Charts:      %zu\n", m->ncharts);
	for (i = 0; i < m->ncharts; i++) {
		const struct man_chart *c = &m->charts[i];
		fprintf(f, "  %s %s (%s)\n", ESC(c->name ? c->name : "?"), ESC(c->version ? c->version : "?"), ESC(c->path));
		fprintf(f, "    app version %s; provenance %s\n", c->app_version ? ESC(c->app_version) : "-",
		    prov_verdict(c->provenance));
		if (chart_reference(c, charts_path, ref, sizeof(ref)))
			fprintf(f, "    pushed as [PREFIX/]%s, manifest %s\n", ESC(ref), ESC(c->digest));
		else
			fprintf(f, "    carried as a file only (bundle from an older ferry)\n");
	}
	fprintf(f, "Docs:        %zu\n", m->ndocs);
	for (i = 0; i < m->ndocs; i++)
		fprintf(f, "  %s%s%s\n", ESC(m->docs[i].path), m->docs[i].title ? "  " : "",
		    m->docs[i].title ? ESC(m->docs[i].title) : "");
	fprintf(f, "License:     %zu\n", m->nlicenses);
	for (i = 0; i < m->nlicenses; i++) {
		const struct man_license *l = &m->licenses[i];
		fprintf(f, "  %s: subject %s", ESC(l->path), l->subject ? ESC(l->subject) : "?");
		if (l->edition)
			fprintf(f, ", edition %s", ESC(l->edition));
		if (l->has_seats)
			fprintf(f, ", seats %lld", (long long)l->seats);
		if (l->expires)
			fprintf(f, ", expires %s", ESC(l->expires));
		fputc('\n', f);
	}
	fprintf(f, "Files:       %zu\n", m->nfiles);
	for (i = 0; i < m->nfiles; i++)
		fprintf(f, "  %s\n", ESC(m->files[i].path));
	if (m->nbases > 0) {
		fprintf(f, "Delta:       yes: a load needs what its base bundles carry\n");
		delta_describe(f, m, "  ", 1);
	}
	if (!h->sig_checked)
		fprintf(f, "*** UNVERIFIED ***\n");
	return FX_OK;
}
