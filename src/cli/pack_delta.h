/* pack_delta.h - `ferry-pack build --since OLD.ferry`: a delta bundle leaves out the
 * blobs its base bundles carry. */
#ifndef FERRY_PACK_DELTA_H
#define FERRY_PACK_DELTA_H

#include <stddef.h>
#include <stdint.h>

#include "bundle/manifest.h"
#include "util/digest.h"
#include "util/util.h"

/* One entry the new bundle would hold. */
struct delta_entry {
	const char *name;
	uint64_t size;
	const unsigned char *digest; /* SHA256_LEN */
	int leave_out;               /* set: a base carries it */
};

/* Reads the head of every base (verified with keyring when it is not NULL; its
 * signature is required then), records each base in m->bases, and marks every config
 * and layer entry that a base carries (same name, digest and signed size) to be left
 * out, listing it under the first base that has it. Manifests and indexes are always
 * kept: a target needs their bytes to tag an image. FX_VERIFY naming the base when
 * its head does not verify. */
int delta_since(const char *const *bases, size_t nbases, const char *keyring, struct manifest *m,
    struct delta_entry *entries, size_t nentries, struct ferr *e);

#endif
