/* extract.h - `ferry-load extract`: verified entries written safely under a directory. */
#ifndef FERRY_EXTRACT_H
#define FERRY_EXTRACT_H

#include "bundle/bundle.h"

/* Reads the bundle once into a hidden staging directory inside dir, and moves the
 * entries into place only when everything verified; on any failure dir is left as it
 * was (and removed again if extract created it). */
int extract_run(const char *bundle, const char *dir, int force, const struct read_opts *ro, struct ferr *e);

#endif
