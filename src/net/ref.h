/* ref.h - image references ("registry.example.com/acme/api:1.2.0"): the one parser
 * of ferry, for the images of a spec, the references in bundle.yaml and the load
 * targets. The rule is Docker's, written down in docs/loading.md ("Image references"):
 *
 *   [HOST[:PORT]/]PATH[:TAG][@sha256:HEX]
 *
 * - The first part of the name is a registry HOST when a '/' follows it and it holds
 *   a '.' or a ':', is "localhost", is an IPv6 address in brackets ("[::1]:5000"), or
 *   has an upper-case letter; otherwise the image is Docker Hub's ("docker.io"), and
 *   a one-part PATH gets "library/" ("nginx:1" is "docker.io/library/nginx:1").
 * - HOST: DNS labels ([A-Za-z0-9], '-' inside) joined by '.', or [IPv6] (hex digits
 *   and ':'); PORT 1 to 65535.
 * - PATH: parts of [a-z0-9] runs joined by '.', '_', '__' or '-'s, separated by '/';
 *   HOST/PATH at most 255 characters.
 * - TAG: [A-Za-z0-9_] then up to 127 of [A-Za-z0-9_.-].
 * - A tag or a digest is required: there is no implicit ":latest" (a release names
 *   what it ships). */
#ifndef FERRY_REF_H
#define FERRY_REF_H

#include "util/util.h"

#define REF_NAME_MAX 255 /* HOST/PATH */
#define REF_TAG_MAX 128

struct image_ref {
	char domain[REF_NAME_MAX + 1]; /* "docker.io" when the reference names none */
	char repo[REF_NAME_MAX + 1];   /* the PATH, "library/nginx" */
	char tag[REF_TAG_MAX + 1];     /* "" when only a digest was given */
	char digest[72];               /* "sha256:<hex>", or "" */
};

/* Parses and normalises s. FX_OK, or FX_USAGE with e saying what is wrong. */
int ref_parse(const char *s, struct image_ref *r, struct ferr *e);
/* As ref_parse, but a reference with neither tag nor digest is taken too (both left
 * ""): for the references deployment files hold, where Docker reads one as ":latest". */
int ref_parse_untagged(const char *s, struct image_ref *r, struct ferr *e);
/* Is s (n bytes) a valid HOST[:PORT]? */
int ref_valid_host(const char *s, size_t n);
/* Is path a valid PATH (one or more '/'-separated parts, at most 255 characters)? */
int ref_valid_repo(const char *path);

#endif
