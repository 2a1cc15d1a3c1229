/* spec.h - the BundleSpec a release engineer writes (files under manifests/), read strictly. */
#ifndef FERRY_SPEC_H
#define FERRY_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

struct spec_item {
	char *src;   /* path of the input, resolved against the spec's directory */
	char *dest;  /* entry name in the bundle */
	char *title; /* docs only */
	char *prov;  /* charts only: its provenance file (prov:, or NAME.tgz.prov beside it), or NULL */
	int chart_dir; /* charts only: src is a chart directory (from: DIR), dest is NULL */
	int chart_oci; /* charts only: src is oci://HOST/REPO/NAME:VERSION, dest is NULL */
	char *where; /* "spec.yaml:12:5" */
};

struct spec_image {
	char *ref, *from, *where;
	char *cosign_key; /* cosign-key: a public key file (resolved), or NULL */
	char **platforms; /* platforms: of the image, else of the spec (registry pulls) */
	char *locked;     /* --locked FILE: the digest it must have (sha256:HEX) */
	size_t nplatforms;
};

struct spec {
	char *path;
	char *name, *version, *vendor, *description;
	uint64_t sequence;  /* metadata.sequence; has_sequence 0: the build time */
	int has_sequence;
	char *expires;      /* metadata.expires as written (2027-06-01 or +90d), or NULL */
	char *expires_where;
	struct spec_image *images;
	size_t nimages;
	struct spec_item *licenses, *docs, *charts, *files;
	size_t nlicenses, ndocs, ncharts, nfiles;
};

/* Reads and checks a spec: unknown keys, wrong types, missing or unreadable files
 * and duplicate destinations are FX_USAGE errors naming file:line:column. So is a path
 * that leads outside the spec's directory (links resolved) unless allow_outside. */
int spec_load(const char *path, int allow_outside, struct spec *s, struct ferr *e);
void spec_free(struct spec *s);

#endif
