/* fuzz_plan.c - libFuzzer target for the load plan (target_plan_build): bundle.yaml to
 * manifest_parse, then the plan every load target reads, built for every image and, when
 * the last input byte is odd, for the first image's reference only. A SHA256SUMS made
 * from the entries (every line its name, the first blob's line another digest) is given
 * too, so the check that a blob's line is its name is reached.
 *
 * Checked beyond "no crash, no leak": the plan's blobs are sorted and unique, every
 * index is in range, each blob lists the usable images that use it and each usable
 * image the blobs it lists (its own manifest last), a blob is found by its digest and by
 * its entry name, an unusable image has no blobs and a reason, and a blob a delta
 * requires from a base names a base, has no entry and is no manifest. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/manifest.h"
#include "bundle/sums.h"
#include "target/target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_plan(const struct target_plan *p)
{
	size_t i, k, j, nrequired = 0;

	for (i = 0; i < p->nblobs; i++) {
		char entry[sizeof(BLOB_ENTRY_PREFIX) + SHA256_HEX];

		if (p->blobs[i].base != PLAN_NONE) {
			snprintf(entry, sizeof(entry), "%s%s", BLOB_ENTRY_PREFIX, p->blobs[i].digest + 7);
			if (p->blobs[i].base >= p->man->nbases || p->blobs[i].is_manifest || manifest_entry(p->man, entry) != NULL)
				abort();
			nrequired++;
		}

		if (!digest_valid(p->blobs[i].digest) || (i > 0 && strcmp(p->blobs[i - 1].digest, p->blobs[i].digest) >= 0))
			abort();
		snprintf(entry, sizeof(entry), "%s%s", BLOB_ENTRY_PREFIX, p->blobs[i].digest + 7);
		if (target_plan_find(p, p->blobs[i].digest) != i || target_plan_entry(p, entry) != i)
			abort();
		for (k = 0; k < p->blobs[i].nimages; k++) {
			const struct plan_image *pi;

			if (p->blobs[i].images[k] >= p->nimages || (k > 0 && p->blobs[i].images[k - 1] >= p->blobs[i].images[k]))
				abort();
			pi = &p->images[p->blobs[i].images[k]];
			for (j = 0; j < pi->nblobs && pi->blobs[j] != i; j++)
				;
			if (pi->unusable || j == pi->nblobs)
				abort();
		}
	}
	for (i = 0; i < p->nimages; i++) {
		const struct plan_image *pi = &p->images[i];

		if (pi->unusable) {
			if (pi->nblobs != 0 || pi->why[0] == '\0')
				abort();
			continue;
		}
		if (pi->nmanifests == 0 || strcmp(p->blobs[pi->manifests[pi->nmanifests - 1]].digest, pi->mi->digest) != 0)
			abort();
		for (k = 0; k < pi->nblobs; k++)
			if (pi->blobs[k] >= p->nblobs)
				abort();
		for (k = 0; k < pi->nmanifests; k++)
			if (pi->manifests[k] >= p->nblobs || !p->blobs[pi->manifests[k]].is_manifest)
				abort();
	}
	if (nrequired != p->nrequired)
		abort();
}

/* Every entry's line its own name, except that the first blob entry gets another. */
static void sums_of_entries(const struct manifest *m, struct sums *sums)
{
	size_t i;
	int first = 1;

	memset(sums, 0, sizeof(*sums));
	for (i = 0; i < m->nentries; i++) {
		const char *hex = blob_entry_hex(m->entries[i].path);
		unsigned char digest[SHA256_LEN];

		if (hex == NULL || sums_find(sums, m->entries[i].path) != NULL)
			continue;
		hex_decode(hex, SHA256_HEX - 1, digest);
		if (first)
			digest[0] ^= 1;
		first = 0;
		sums_add(sums, m->entries[i].path, digest);
		sums_sort(sums);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest m;
	struct target_plan p;
	struct sums sums;
	struct ferr e = {0, ""};
	struct image_verdict *v;
	char *refs[1];
	size_t nrefs = 0, i;

	if (manifest_parse((const char *)data, size, &m, &e) != FX_OK)
		return 0;
	if (size > 0 && (data[size - 1] & 1) && m.nimages > 0) {
		refs[0] = m.images[0].ref;
		nrefs = 1;
	}
	sums_of_entries(&m, &sums);
	if (target_plan_build(&p, &m, NULL, refs, nrefs, &e) != FX_OK)
		abort(); /* refs are the bundle's own */
	check_plan(&p);
	target_plan_free(&p);
	if (target_plan_build(&p, &m, &sums, refs, nrefs, &e) != FX_OK)
		abort();
	check_plan(&p);
	v = verdicts_new(&p);
	for (i = 0; i < p.nimages; i++)
		if ((v[i].failed != 0) != (p.images[i].unusable != 0))
			abort();
	free(v);
	target_plan_free(&p);
	sums_free(&sums);
	manifest_free(&m);
	return 0;
}
