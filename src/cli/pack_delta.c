/* pack_delta.c - what a delta bundle leaves out (see pack_delta.h). Only the old
 * bundles' heads are read: their SHA256SUMS and bundle.yaml say what they carry. */
#include "cli/pack_delta.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "bundle/bundle.h"
#include "cli/load_delta.h"
#include "target/target.h"

/* An image's or a chart's manifest: always kept, a target pushes it from its entry.
 * So is every blob of a cosign signature (a few KiB): --cosign-key checks them at load
 * from the bundle itself. */
static int is_manifest(const struct manifest *m, const char *digest)
{
	size_t i, k, b;

	for (i = 0; i < m->nimages; i++) {
		for (k = 0; k < m->images[i].nmanifests; k++)
			if (strcmp(m->images[i].manifests[k], digest) == 0)
				return 1;
		for (k = 0; k < m->images[i].nsignatures; k++) {
			const struct man_signature *sig = &m->images[i].signatures[k];
			if (strcmp(sig->digest, digest) == 0)
				return 1;
			for (b = 0; b < sig->nblobs; b++)
				if (strcmp(sig->blobs[b], digest) == 0)
					return 1;
		}
	}
	for (i = 0; i < m->ncharts; i++)
		if (m->charts[i].digest != NULL && strcmp(m->charts[i].digest, digest) == 0)
			return 1;
	return 0;
}

/* An image of the base that lists the blob (a registry may mount it from there). */
static const char *image_with(const struct manifest *base, const char *digest)
{
	size_t i, k;

	for (i = 0; i < base->nimages; i++)
		for (k = 0; k < base->images[i].nblobs; k++)
			if (strcmp(base->images[i].blobs[k], digest) == 0)
				return base->images[i].ref;
	return NULL;
}

static void leave_out(struct man_base *mb, const struct bundle_head *h, struct delta_entry *en, const char *digest)
{
	const char *image = image_with(&h->man, digest);
	struct man_required *r;

	mb->blobs = xreallocarray(mb->blobs, mb->nblobs + 1, sizeof(*mb->blobs));
	r = &mb->blobs[mb->nblobs++];
	r->digest = xstrdup(digest);
	r->size = en->size;
	r->image = image != NULL ? xstrdup(image) : NULL;
	en->leave_out = 1;
}

/* Records base path in m and marks what it carries. */
static int since_one(const char *path, const char *keyring, struct manifest *m, struct delta_entry *entries,
    size_t nentries, struct ferr *e)
{
	struct read_opts ro = {.keyring = keyring, .head_only = 1};
	struct bundle_head h;
	struct read_report rep;
	struct ferr err = {0, ""};
	struct man_base *mb;
	char sums[DIGEST_STR];
	size_t i;
	int rc;

	if ((rc = bundle_read(path, &ro, NULL, &h, &rep, &err)) != FX_OK) {
		rc = fe_set(e, rc, "--since %s: %s", ESC(path), err.msg);
		goto end;
	}
	if (keyring != NULL && !h.sig_checked) {
		rc = fe_set(e, FX_VERIFY, "--since %s: not signed", ESC(path));
		goto end;
	}
	delta_sums_digest(&h, sums);
	for (i = 0; i < m->nbases; i++)
		if (strcmp(m->bases[i].sums, sums) == 0) {
			rc = fe_set(e, FX_USAGE, "--since %s: the same bundle given twice", ESC(path));
			goto end;
		}
	m->bases = xreallocarray(m->bases, m->nbases + 1, sizeof(*m->bases));
	mb = &m->bases[m->nbases++];
	memset(mb, 0, sizeof(*mb));
	mb->name = xstrdup(h.man.name);
	mb->version = xstrdup(h.man.version);
	mb->sums = xstrdup(sums);
	for (i = 0; i < nentries; i++) {
		struct delta_entry *en = &entries[i];
		const struct sum_line *line;
		const struct man_entry *me;
		const char *hex = blob_entry_hex(en->name);
		char digest[DIGEST_STR];

		if (en->leave_out || hex == NULL)
			continue;
		snprintf(digest, sizeof(digest), "sha256:%s", hex);
		if (is_manifest(m, digest) || (line = sums_find(&h.sums, en->name)) == NULL ||
		    CRYPTO_memcmp(line->digest, en->digest, SHA256_LEN) != 0 ||
		    (me = manifest_entry(&h.man, en->name)) == NULL || me->size != en->size)
			continue;
		leave_out(mb, &h, en, digest);
	}
end:
	bundle_head_free(&h);
	return rc;
}

int delta_since(const char *const *bases, size_t nbases, const char *keyring, struct manifest *m,
    struct delta_entry *entries, size_t nentries, struct ferr *e)
{
	size_t i;
	int rc = FX_OK;

	for (i = 0; i < nbases && rc == FX_OK; i++)
		rc = since_one(bases[i], keyring, m, entries, nentries, e);
	return rc;
}
