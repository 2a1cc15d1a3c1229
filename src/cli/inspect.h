/* inspect.h - what a bundle holds, for auditors: text or one JSON document. */
#ifndef FERRY_INSPECT_H
#define FERRY_INSPECT_H

#include <stdio.h>

#include "bundle/bundle.h"

/* Prints the head of a bundle. Every string from the bundle is escaped. fresh (may be
 * NULL): its clock tells whether the bundle expired, its state file (when set) what was
 * loaded last of the same vendor and name. Charts are shown with the reference a load
 * gives them (charts_path: --charts-path, or NULL). */
int inspect_print(FILE *f, const char *path, const struct bundle_head *h, int json, const struct fresh_opts *fresh,
    const char *charts_path,
    struct ferr *e);

#endif
