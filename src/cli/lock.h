/* lock.h - ferry-pack build --lock FILE / --locked FILE: the resolved digest of every
 * image of a spec, written after a build and read to rebuild exactly those bytes. */
#ifndef FERRY_LOCK_H
#define FERRY_LOCK_H

#include "bundle/manifest.h"
#include "bundle/spec.h"
#include "util/util.h"

#define LOCK_FILE_MAX (4u << 20)

/* Writes one line "REF sha256:HEX" per image of m (a subset of platforms: the upstream
 * index it was cut from), replacing path. */
int lock_write(const char *path, const struct manifest *m, struct ferr *e);
/* Reads path and sets every image of s to its locked digest: FX_USAGE naming the file
 * and line for a malformed line, an image the spec lacks, or an image of the spec the
 * file lacks. */
int lock_apply(const char *path, struct spec *s, struct ferr *e);

#endif
