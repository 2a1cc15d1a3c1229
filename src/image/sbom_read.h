/* sbom_read.h - a CycloneDX SBOM that ferry wrote, read back for the table and the
 * report. The document comes from a bundle: it is parsed as untrusted JSON (types
 * checked, counts bounded) even when its signature and hash are good. */
#ifndef FERRY_SBOM_READ_H
#define FERRY_SBOM_READ_H

#include <stddef.h>

#include "image/pkgdb.h"
#include "util/util.h"

/* Largest SBOM document read from a bundle. */
#define SBOM_MAX ((size_t)64 << 20)

struct sbom_view {
	char *ref, *digest, *platform;        /* the image it describes */
	char *os_id, *os_version, *os_pretty;
	char *status;                         /* "complete", "no package database found", ... */
	char **databases, **notes;
	size_t ndatabases, nnotes;
	struct pkg_list pkgs;                 /* licences: SPDX ids or the distribution's names */
};

/* FX_VERIFY with e naming what when the document is not a CycloneDX SBOM as ferry
 * writes them. */
int sbom_view_parse(const char *buf, size_t len, const char *what, struct sbom_view *v, struct ferr *e);
void sbom_view_free(struct sbom_view *v);

#endif
