/* manifest_int.h - the parts of bundle.yaml kept beside manifest.c: the base bundles of
 * a delta (manifest_delta.c). Not for other users. */
#ifndef FERRY_MANIFEST_INT_H
#define FERRY_MANIFEST_INT_H

#include "bundle/manifest.h"
#include "util/yamlx.h"

/* bases: written only when there are any, so a whole bundle's bundle.yaml is unchanged. */
void manifest_emit_bases(struct yout *y, const struct manifest *m);
/* bases: read, every digest checked (FX_VERIFY naming the place when malformed). */
int manifest_parse_bases(struct ydoc *d, yaml_node_t *root, struct manifest *m, struct ferr *e);
void manifest_free_bases(struct manifest *m);

/* An image's signatures: and cosign: keys, written only when it has signatures. */
void manifest_emit_signatures(struct yout *y, const struct man_image *im);
int manifest_parse_signatures(struct ydoc *d, yaml_node_t *n, struct man_image *im, struct ferr *e);

#endif
