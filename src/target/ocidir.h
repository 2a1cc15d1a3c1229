/* ocidir.h - the oci:DIR load target: writes (or merges into) an OCI image layout. */
#ifndef FERRY_OCIDIR_H
#define FERRY_OCIDIR_H

#include "cli/load.h"
#include "util/util.h"

/* Blobs go to DIR/blobs/sha256/<hex> through temporary files renamed into place once
 * they verified (existing ones are kept); index.json is merged (a descriptor with the
 * same org.opencontainers.image.ref.name is replaced) and replaced atomically at the
 * end, listing only the images whose every blob verified. See load.h. */
int ocidir_target_open(const char *spec, const struct load_opts *lo, const struct load_sel *sel,
    struct load_target *t, struct ferr *e);

#endif
