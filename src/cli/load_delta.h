/* load_delta.h - loading a delta bundle: what the targets must hold already, and the
 * blobs a base bundle (--base) supplies in the same run. */
#ifndef FERRY_LOAD_DELTA_H
#define FERRY_LOAD_DELTA_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "bundle/bundle.h"
#include "target/target.h"
#include "util/util.h"

/* "sha256:<hex>" of a bundle head's SHA256SUMS: the name a delta gives its base by. */
void delta_sums_digest(const struct bundle_head *h, char out[DIGEST_STR]);

/* What a delta bundle left out, for people: "INDENTdelta of NAME VERSION (SHA256SUMS
 * sha256:...): N blobs (SIZE) left out, for the target to hold" per base, then a line per blob
 * (deeper indented) when list is set. Nothing for a whole bundle. */
void delta_describe(FILE *f, const struct manifest *m, const char *indent, int list);
/* The same as JSON: an array of bases (name, version, sums, blobs: digest, size, image). */
json_t *delta_json(const struct manifest *m);

/* Called once every target's head() ran, for a plan with required blobs: asks every
 * target what it holds (load_target.holds); each required blob a target lacks must come
 * from one of the --base bundles (lo->bases), each verified with ro and matched to a
 * base of the delta by its SHA256SUMS. When one is missing, or a --base is not a base
 * of this delta, nothing is sent: the missing blobs are listed with their base bundle
 * and FX_TARGET (FX_VERIFY for a bad base) is returned. Otherwise the bases are read,
 * and the blobs the targets lack go to tee (begin, data, end) as if the delta held
 * them. bundle names the delta in messages. */
int delta_supply(const char *bundle, const struct target_plan *plan, struct load_target *targets, size_t ntargets,
    const struct load_opts *lo, const struct read_opts *ro, const struct sink *tee, struct ferr *e);

#endif
