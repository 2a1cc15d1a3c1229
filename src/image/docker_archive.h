/* docker_archive.h - the manifest.json of a `docker save` archive (legacy layout,
 * Docker 20.10: <id>.json configs and <id>/layer.tar layers, or blobs/sha256/ paths). */
#ifndef FERRY_DOCKER_ARCHIVE_H
#define FERRY_DOCKER_ARCHIVE_H

#include <stddef.h>

#include "image/oci.h"
#include "util/util.h"

struct docker_save_image {
	char *config;     /* member name of the config JSON */
	char **repo_tags; /* "nginx:1", as docker wrote them (may be none) */
	size_t ntags;
	char **layers;    /* member names of the uncompressed layer tars, base first */
	size_t nlayers;
};

struct docker_save {
	struct docker_save_image *v;
	size_t n;
};

/* Parses manifest.json; every member name must be a safe relative name. FX_VERIFY. */
int docker_manifest_parse(const void *buf, size_t len, const char *what,
    struct docker_save *ds, struct ferr *e);
/* Picks the image: the only one, else the one tagged tag (a bare tag or a full
 * reference), else the one whose RepoTags name ref. FX_USAGE when none or several. */
int docker_save_pick(const struct docker_save *ds, const char *tag, const struct oci_ref *ref,
    const char *what, size_t *idx, struct ferr *e);
void docker_save_free(struct docker_save *ds);

#endif
