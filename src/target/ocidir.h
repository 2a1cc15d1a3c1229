/* ocidir.h - the oci:DIR load target: writes (or merges into) an OCI image layout. */
#ifndef FERRY_OCIDIR_H
#define FERRY_OCIDIR_H

#include "target/target.h"
#include "util/util.h"

/* Blobs go to DIR/blobs/sha256/<hex> through temporary files renamed into place once
 * they verified; a file already there is kept when its size and hash are the blob's,
 * else replaced. index.json is merged under a lock (DIR/.ferry-lock: a descriptor with
 * the same org.opencontainers.image.ref.name is replaced) and replaced atomically at
 * the end, listing only the images whose every blob verified. See target.h. */
int ocidir_target_check(const char *spec, void **parsed, struct ferr *e);
int ocidir_target_open(const char *spec, void *parsed, const struct load_opts *lo, const struct target_plan *plan,
    struct load_target *t, struct ferr *e);

#endif
