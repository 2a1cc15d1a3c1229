/* load.h - `ferry-load load`: stream a bundle's images into one or more targets. */
#ifndef FERRY_LOAD_H
#define FERRY_LOAD_H

#include "bundle/bundle.h"
#include "target/target.h"
#include "util/util.h"

/* Checks the options and the targets' syntax (before any work starts); FX_USAGE with
 * e set if bad. */
int load_check_targets(const struct load_opts *lo, struct ferr *e);
/* Verifies the bundle while streaming its images into every target. Nothing reaches a
 * target before the signature is checked; a manifest only after all its blobs are
 * verified and present. Returns FX_OK, FX_VERIFY, FX_TARGET or FX_IO. */
int load_run(const char *bundle, const struct read_opts *ro, const struct load_opts *lo,
    struct ferr *e);

#endif
