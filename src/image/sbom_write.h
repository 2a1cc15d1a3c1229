/* sbom_write.h - an image's catalogue as SPDX 2.3 JSON and CycloneDX 1.5 JSON.
 * Deterministic: packages sorted, keys in a fixed order, the creation time given (the
 * bundle's), identifiers derived from the image's manifest digest; every string from
 * the image is kept as data (JSON-escaped, ASCII only on output). */
#ifndef FERRY_SBOM_WRITE_H
#define FERRY_SBOM_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "image/sbom_catalog.h"
#include "util/util.h"

/* Names of the properties ferry writes into the CycloneDX document (sbom_read.c reads
 * them back). */
#define SBOM_PROP_PLATFORM "ferry:platform"
#define SBOM_PROP_OS_ID "ferry:os:id"
#define SBOM_PROP_OS_VERSION "ferry:os:version-id"
#define SBOM_PROP_OS_PRETTY "ferry:os:pretty-name"
#define SBOM_PROP_DATABASE "ferry:package-database"
#define SBOM_PROP_NOTE "ferry:note"
#define SBOM_PROP_STATUS "ferry:catalogue"
#define SBOM_PROP_PKG_TYPE "ferry:package-type"
#define SBOM_PROP_ARCH "ferry:arch"
#define SBOM_PROP_SOURCE "ferry:source"

/* What the SBOM describes. */
struct sbom_subject {
	const char *ref;      /* the image reference in the bundle */
	const char *digest;   /* the (platform's) image manifest digest, sha256:<hex> */
	const char *platform; /* os/arch[/variant], or NULL */
	int64_t created;      /* the bundle's creation time */
};

/* The catalogue status in words: "complete", "incomplete: ..." or "no package database
 * found". */
const char *sbom_status(const struct image_cat *c);

int sbom_write_spdx(const struct sbom_subject *s, const struct image_cat *c, char **out, size_t *len,
    struct ferr *e);
int sbom_write_cyclonedx(const struct sbom_subject *s, const struct image_cat *c, char **out, size_t *len,
    struct ferr *e);

/* A JSON string of untrusted text: valid UTF-8 kept as it is (control characters are
 * escaped by the JSON writer), invalid bytes replaced by U+FFFD, NULL as "". */
json_t *json_text(const char *s);

/* A licence as the distribution writes it ("GPL-2+", "Expat", "MIT AND BSD-3-Clause")
 * as an SPDX identifier when it is exactly one that SPDX lists, else NULL. */
const char *sbom_spdx_id(const char *license);

#endif
