/* pack_charts.h - the charts of a spec made ready for a bundle: each archive checked,
 * its provenance verified (--chart-keyring) or carried, and the OCI artifact `helm
 * push` makes of it (config, content and provenance blobs, manifest) described. */
#ifndef FERRY_PACK_CHARTS_H
#define FERRY_PACK_CHARTS_H

#include <stddef.h>
#include <stdint.h>

#include "bundle/chart.h"
#include "bundle/manifest.h"
#include "bundle/spec.h"
#include "cli/pack.h"

struct chart_art {
	struct chart_info info;
	const char *src, *prov_src; /* the archive and its .prov (prov_src NULL: none) */
	char *packaged;             /* from: DIR or oci://: the archive packed or pulled (src) */
	char *pulled_prov;          /* from: oci://: its provenance layer, or NULL */
	char *dest;                 /* its entry name, charts/NAME-VERSION.tgz for a directory */
	char *prov_entry;           /* charts/NAME.tgz.prov, or NULL */
	const char *provenance;     /* "verified", "unverified" or "none" */
	char tgz_digest[DIGEST_STR], prov_digest[DIGEST_STR], config_digest[DIGEST_STR], manifest_digest[DIGEST_STR];
	uint64_t tgz_size, prov_size;
	char *manifest_json;
	size_t manifest_len;
};

/* Packs every chart directory of s into staging (from: DIR), reads every chart
 * (chart.h), checks its provenance file against
 * o->chart_keyring when given (a chart without one is refused with
 * o->require_chart_prov), and describes its artifact with created (RFC 3339). Errors
 * name the chart's line of the spec; nothing is written. */
int pack_charts_prepare(const struct pack_opts *o, const struct spec *s, const char *created, const char *staging,
    struct chart_art **arts, struct ferr *e);
/* The bundle.yaml entry of one chart. */
void pack_chart_describe(const struct chart_art *a, struct man_chart *c);
void pack_charts_free(struct chart_art *arts, size_t n);

#endif
