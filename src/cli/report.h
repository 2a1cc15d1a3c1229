/* report.h - `ferry-load report`: what an auditor needs to know about a bundle, built
 * once as a JSON model (the --json output) and rendered from it as one self-contained
 * HTML page (report_html.c). The model holds only what verified: when the head did not
 * (bad signature, unreadable file) it holds the verdict and nothing else. */
#ifndef FERRY_REPORT_H
#define FERRY_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cli/audit.h"

struct report_ctx {
	const struct read_opts *ro;
	const char *license_pubkey; /* check license/NAME.lic with it; NULL: not checked */
	const char *audience;
	int64_t now;                /* the license check's clock, and the report's date */
};

/* The model of one bundle read by audit_read (keep: SBOMs, licenses, manifests).
 * *license_bad: a license was checked and is not valid. */
json_t *report_bundle(const struct audit_bundle *a, const struct report_ctx *c, int *license_bad);
/* Images added, removed and changed, and per image and platform the packages added,
 * removed, upgraded and downgraded, from the models of the new and the old bundle. */
json_t *report_compare(const json_t *now_model, const json_t *old_model, const char *old_path);
/* The HTML page of a model (with its comparison); malloc'd. */
char *report_html(const json_t *model, size_t *len);

/* Small JSON accessors for the renderer and the comparison (NULL-safe). */
const char *jget_str(const json_t *o, const char *key);
json_int_t jget_int(const json_t *o, const char *key);

#endif
