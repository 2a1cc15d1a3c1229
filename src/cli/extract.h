/* extract.h - `ferry-load extract`: verified entries written safely under a directory. */
#ifndef FERRY_EXTRACT_H
#define FERRY_EXTRACT_H

#include "bundle/bundle.h"

/* Reads the bundle once into a hidden staging directory inside dir, and moves the
 * entries into place only when everything verified; on any failure dir is left as it
 * was (and removed again if extract created it). */
struct extract_opts {
	const char *dir; /* -C DIR */
	int force;       /* --force: replace files that are there */
	int quiet;       /* -q: nothing printed on success */
};

int extract_run(const char *bundle, const struct extract_opts *xo, const struct read_opts *ro, struct ferr *e);

#endif
