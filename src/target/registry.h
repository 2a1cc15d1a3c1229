/* registry.h - the registry:// load target (OCI distribution push). */
#ifndef FERRY_TARGET_REGISTRY_H
#define FERRY_TARGET_REGISTRY_H

#include "target/target.h"
#include "util/util.h"

/* registry://HOST[:PORT][/PREFIX]; see target.h (struct target_kind). */
int registry_target_check(const char *spec, void **parsed, struct ferr *e);
int registry_target_open(const char *spec, void *parsed, const struct load_opts *lo, const struct target_plan *plan,
    struct load_target *t, struct ferr *e);

#endif
