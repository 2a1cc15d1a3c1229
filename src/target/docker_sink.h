/* docker_sink.h - the docker:// load target: streams the bundle's selected images into a
 * Docker Engine as one docker-archive (POST /images/load), built on the fly from the
 * bundle's OCI layout, tagged with their original references. */
#ifndef FERRY_DOCKER_SINK_H
#define FERRY_DOCKER_SINK_H

#include "target/target.h"
#include "util/util.h"

/* "docker://", "docker://unix:///path.sock", "docker:///path.sock",
 * "docker://tcp://HOST:PORT"; see target.h (struct target_kind). Nothing is contacted
 * before head(). */
int docker_target_check(const char *spec, void **parsed, struct ferr *e);
int docker_target_open(const char *spec, void *parsed, const struct load_opts *lo, const struct target_plan *plan,
    struct load_target *t, struct ferr *e);

#endif
