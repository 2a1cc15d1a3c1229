/* docker_sink.h - the docker:// load target: streams the bundle's selected images into a
 * Docker Engine as one docker-archive (POST /images/load), built on the fly from the
 * bundle's OCI layout, tagged with their original references. */
#ifndef FERRY_DOCKER_SINK_H
#define FERRY_DOCKER_SINK_H

#include "cli/load.h"
#include "util/util.h"

/* "docker://", "docker://unix:///path.sock", "docker:///path.sock",
 * "docker://tcp://HOST:PORT". FX_USAGE with e set when malformed. */
int docker_target_check(const char *spec, struct ferr *e);

/* The docker:// target; see load.h. Nothing is contacted before head(). */
int docker_target_open(const char *spec, const struct load_opts *lo, const struct load_sel *sel,
    struct load_target *t, struct ferr *e);

#endif
