/* fuzz_manifest.c - libFuzzer target for bundle.yaml (manifest_parse). What parses is
 * written back with manifest_emit and must parse again to the same manifest, and
 * the second text must equal the first (the writer's output is a fixed point). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const struct ferr *e, const char *text, size_t len)
{
	fprintf(stderr, "fuzz_manifest: %s: %s\n---\n%.*s\n---\n", what, e->msg, (int)len, text ? text : "");
	abort();
}

static int str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int strv_eq(char **a, size_t na, char **b, size_t nb)
{
	size_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (!str_eq(a[i], b[i]))
			return 0;
	return 1;
}

static int man_eq(const struct manifest *a, const struct manifest *b)
{
	size_t i;

	if (!str_eq(a->name, b->name) || !str_eq(a->version, b->version) || !str_eq(a->vendor, b->vendor) ||
	    !str_eq(a->created, b->created) || !str_eq(a->tool, b->tool) ||
	    !str_eq(a->description, b->description) || a->sequence != b->sequence ||
	    !str_eq(a->expires, b->expires) || a->expires_at != b->expires_at)
		return 0;
	if (a->nimages != b->nimages || a->ncharts != b->ncharts || a->ndocs != b->ndocs ||
	    a->nlicenses != b->nlicenses || a->nfiles != b->nfiles || a->nentries != b->nentries)
		return 0;
	for (i = 0; i < a->nimages; i++) {
		const struct man_image *x = &a->images[i], *y = &b->images[i];
		if (!str_eq(x->ref, y->ref) || !str_eq(x->digest, y->digest) || !str_eq(x->media_type, y->media_type) ||
		    x->size != y->size || x->layers != y->layers ||
		    !strv_eq(x->platforms, x->nplatforms, y->platforms, y->nplatforms) ||
		    !strv_eq(x->blobs, x->nblobs, y->blobs, y->nblobs) ||
		    !strv_eq(x->manifests, x->nmanifests, y->manifests, y->nmanifests))
			return 0;
	}
	for (i = 0; i < a->ncharts; i++) {
		const struct man_chart *x = &a->charts[i], *y = &b->charts[i];
		if (!str_eq(x->name, y->name) || !str_eq(x->version, y->version) || !str_eq(x->path, y->path) ||
		    !strv_eq(x->images, x->nimages, y->images, y->nimages))
			return 0;
	}
	for (i = 0; i < a->ndocs; i++)
		if (!str_eq(a->docs[i].path, b->docs[i].path) || !str_eq(a->docs[i].title, b->docs[i].title))
			return 0;
	for (i = 0; i < a->nlicenses; i++) {
		const struct man_license *x = &a->licenses[i], *y = &b->licenses[i];
		if (!str_eq(x->path, y->path) || !str_eq(x->subject, y->subject) || !str_eq(x->edition, y->edition) ||
		    !str_eq(x->expires, y->expires) || !str_eq(x->customer, y->customer) ||
		    !str_eq(x->audience, y->audience) || x->has_seats != y->has_seats ||
		    (x->has_seats && x->seats != y->seats))
			return 0;
	}
	for (i = 0; i < a->nfiles; i++)
		if (!str_eq(a->files[i].path, b->files[i].path))
			return 0;
	for (i = 0; i < a->nentries; i++) {
		if (!str_eq(a->entries[i].path, b->entries[i].path) || a->entries[i].size != b->entries[i].size)
			return 0;
		if (manifest_entry(a, a->entries[i].path) == NULL)
			abort();
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest m, m2;
	struct ferr e = {0};
	char *out = NULL, *out2 = NULL;
	size_t len = 0, len2 = 0;

	if (manifest_parse((const char *)data, size, &m, &e) != FX_OK) {
		if (e.msg[0] == '\0')
			abort();
		return 0;
	}
	if (m.name == NULL || m.version == NULL)
		abort();
	if (manifest_emit(&m, &out, &len, &e) != FX_OK)
		die("emit failed", &e, NULL, 0);
	if (manifest_parse(out, len, &m2, &e) != FX_OK)
		die("written bundle.yaml does not parse", &e, out, len);
	if (!man_eq(&m, &m2))
		die("parse(emit(m)) differs from m", &e, out, len);
	if (manifest_emit(&m2, &out2, &len2, &e) != FX_OK)
		die("second emit failed", &e, NULL, 0);
	if (len != len2 || memcmp(out, out2, len) != 0)
		die("emit is not a fixed point", &e, out2, len2);
	free(out);
	free(out2);
	manifest_free(&m);
	manifest_free(&m2);
	return 0;
}
