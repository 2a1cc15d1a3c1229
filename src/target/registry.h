/* registry.h - the registry:// load target (OCI distribution push). */
#ifndef FERRY_TARGET_REGISTRY_H
#define FERRY_TARGET_REGISTRY_H

#include "cli/load.h"
#include "util/util.h"

/* The registry:// target; see load.h. */
int registry_target_open(const char *spec, const struct load_opts *lo, const struct load_sel *sel,
    struct load_target *t, struct ferr *e);

#endif
