/* load_delta.c - a delta bundle into the load targets (see load_delta.h).
 *
 * A delta leaves out the configs and layers its base bundles carry; its signed
 * bundle.yaml lists each with its size and base. Before the delta's first entry is
 * read, every target is asked for every one of them. What a target lacks is read from
 * a --base bundle, verified like any bundle and pinned by the SHA-256 of its
 * SHA256SUMS, and handed to the targets through the same tee as the delta's entries,
 * so no target treats a delta specially beyond answering holds(). */
#include "cli/load_delta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/digest.h"

void delta_sums_digest(const struct bundle_head *h, char out[DIGEST_STR])
{
	unsigned char digest[SHA256_LEN];
	char hex[SHA256_HEX];

	sha256_buf(h->sums_text, h->sums_len, digest);
	hex_encode(digest, SHA256_LEN, hex);
	snprintf(out, DIGEST_STR, "sha256:%s", hex);
}

void delta_describe(FILE *f, const struct manifest *m, const char *indent, int list)
{
	size_t i, k;
	char size[32];

	for (i = 0; i < m->nbases; i++) {
		const struct man_base *b = &m->bases[i];
		uint64_t total = 0;

		for (k = 0; k < b->nblobs; k++)
			total += b->blobs[k].size;
		fprintf(f, "%sdelta of %s %s (SHA256SUMS %s): %zu blobs (%s) left out, for the target to hold\n", indent, ESC(b->name),
		    ESC(b->version), ESC(b->sums), b->nblobs, fmt_bytes(total, size, sizeof(size)));
		for (k = 0; list && k < b->nblobs; k++)
			fprintf(f, "%s  %s %s\n", indent, ESC(b->blobs[k].digest), fmt_bytes(b->blobs[k].size, size, sizeof(size)));
	}
}

json_t *delta_json(const struct manifest *m)
{
	json_t *bases = json_array();
	size_t i, k;

	for (i = 0; i < m->nbases; i++) {
		const struct man_base *b = &m->bases[i];
		json_t *base = json_object(), *blobs = json_array();

		for (k = 0; k < b->nblobs; k++) {
			json_t *blob = json_object();

			json_object_set_new(blob, "digest", json_string(b->blobs[k].digest));
			json_object_set_new(blob, "size", json_integer((json_int_t)b->blobs[k].size));
			json_object_set_new(blob, "image", b->blobs[k].image ? json_string(b->blobs[k].image) : json_null());
			json_array_append_new(blobs, blob);
		}
		json_object_set_new(base, "name", json_string(b->name));
		json_object_set_new(base, "version", json_string(b->version));
		json_object_set_new(base, "sums", json_string(b->sums));
		json_object_set_new(base, "blobs", blobs);
		json_array_append_new(bases, base);
	}
	return bases;
}

/* A --base bundle whose head was read: which base of the delta it is. */
struct base_file {
	const char *path;
	size_t base;            /* index into man->bases */
	struct bundle_head head;
};

/* Does this base bundle carry plan blob b as an entry (its line its name, its size the
 * one the delta signed)? */
static int base_carries(const struct bundle_head *h, const struct plan_blob *b)
{
	char entry[sizeof(BLOB_ENTRY_PREFIX) + SHA256_HEX];
	unsigned char bytes[SHA256_LEN];
	const struct sum_line *line;
	const struct man_entry *me;

	snprintf(entry, sizeof(entry), "%s%s", BLOB_ENTRY_PREFIX, b->digest + 7);
	if (digest_parse(b->digest, bytes, NULL) != 0 || (line = sums_find(&h->sums, entry)) == NULL ||
	    CRYPTO_memcmp(line->digest, bytes, SHA256_LEN) != 0)
		return 0;
	me = manifest_entry(&h->man, entry);
	return me != NULL && me->size == b->size;
}

/* Reads the head of --base path (verified with ro) and finds the base of the delta it is. */
static int open_base(const char *bundle, const struct manifest *man, const char *path, const struct read_opts *ro,
    struct base_file *bf, struct ferr *e)
{
	struct read_opts head_ro = *ro;
	struct read_report rep;
	struct ferr err = {0, ""};
	char sums[DIGEST_STR];
	size_t i;
	int rc;

	head_ro.head_only = 1;
	head_ro.license_pubkey = NULL; /* only the base's blobs are used */
	bf->path = path;
	if ((rc = bundle_read(path, &head_ro, NULL, &bf->head, &rep, &err)) != FX_OK)
		return fe_set(e, rc, "--base %s", err.msg);
	if (!bf->head.is_signed && !ro->allow_unsigned)
		return fe_set(e, FX_VERIFY, "--base %s: not signed (loaders refuse it without --allow-unsigned)", ESC(path));
	delta_sums_digest(&bf->head, sums);
	for (i = 0; i < man->nbases; i++)
		if (strcmp(man->bases[i].sums, sums) == 0) {
			bf->base = i;
			return FX_OK;
		}
	for (i = 0; i < man->nbases; i++)
		if (strcmp(man->bases[i].name, bf->head.man.name) == 0 && strcmp(man->bases[i].version, bf->head.man.version) == 0)
			return fe_set(e, FX_VERIFY, "--base %s: %s %s, but not the build %s was made from (its SHA256SUMS is %s, "
			    "the delta names %s)", ESC(path), ESC(bf->head.man.name), ESC(bf->head.man.version), ESC(bundle), sums,
			    man->bases[i].sums);
	return fe_set(e, FX_VERIFY, "--base %s: %s %s is not a base of %s", ESC(path), ESC(bf->head.man.name),
	    ESC(bf->head.man.version), ESC(bundle));
}

/* ---- the base's entries, fed to the tee */

struct base_feed {
	const struct target_plan *plan;
	const struct sink *tee;
	const struct bundle_head *head; /* the base's, once its head() came */
	const char *want_sums;          /* the delta's name for it */
	unsigned char *needed;          /* plan blobs still to supply; cleared as they come */
	int forwarding;
};

static int feed_head(void *ctx, const struct bundle_head *h, struct ferr *e)
{
	struct base_feed *f = ctx;
	char sums[DIGEST_STR];

	/* read again: it must still be the base that was matched */
	delta_sums_digest(h, sums);
	if (strcmp(sums, f->want_sums) != 0)
		return fe_set(e, FX_VERIFY, "its SHA256SUMS changed since it was matched to the delta");
	f->head = h;
	return FX_OK;
}

static int feed_begin(void *ctx, const char *name, uint64_t size, const struct entry_loc *loc, int *want,
    struct ferr *e)
{
	struct base_feed *f = ctx;
	size_t b = target_plan_entry(f->plan, name);

	(void)loc;
	f->forwarding = 0;
	*want = SINK_PRESENT; /* nothing else of the base is needed: not even read */
	if (b == PLAN_NONE || !f->needed[b] || size != f->plan->blobs[b].size || !base_carries(f->head, &f->plan->blobs[b]))
		return FX_OK;
	f->needed[b] = 0;
	f->forwarding = 1;
	return f->tee->begin(f->tee->ctx, name, size, NULL, want, e);
}

static int feed_data(void *ctx, const void *buf, size_t n, struct ferr *e)
{
	struct base_feed *f = ctx;

	return f->forwarding ? f->tee->data(f->tee->ctx, buf, n, e) : FX_OK;
}

static int feed_end(void *ctx, const char *name, int ok, struct ferr *e)
{
	struct base_feed *f = ctx;

	if (!f->forwarding)
		return FX_OK;
	f->forwarding = 0;
	return f->tee->end(f->tee->ctx, name, ok, e);
}

static int feed_finish(void *ctx, int all_ok, struct ferr *e)
{
	(void)ctx;
	(void)all_ok;
	(void)e;
	return FX_OK;
}

/* Streams the blobs in needed that base file bf carries into the tee (a base that
 * carries none of them is not read). */
static int feed_base(const struct target_plan *plan, const struct base_file *bf, const struct read_opts *ro,
    unsigned char *needed, const struct sink *tee, struct ferr *e)
{
	struct base_feed f = {.plan = plan, .tee = tee, .want_sums = plan->man->bases[bf->base].sums, .needed = needed};
	struct sink s = {.ctx = &f, .head = feed_head, .begin = feed_begin, .data = feed_data, .end = feed_end,
	    .finish = feed_finish};
	struct read_opts base_ro = *ro;
	struct bundle_head head;
	struct read_report rep;
	struct ferr err = {0, ""};
	size_t b;
	int rc;

	for (b = 0; b < plan->nblobs && !(needed[b] && base_carries(&bf->head, &plan->blobs[b])); b++)
		;
	if (b == plan->nblobs)
		return FX_OK;
	base_ro.license_pubkey = NULL;
	memset(&head, 0, sizeof(head));
	rc = bundle_read(bf->path, &base_ro, &s, &head, &rep, &err);
	if (rc != FX_OK)
		rc = fe_set(e, rc, "--base %s", err.msg);
	bundle_head_free(&head);
	return rc;
}

/* ---- the check */

/* Lists every required blob some target lacks and that no --base supplies. */
static size_t list_missing(const char *bundle, const struct target_plan *plan, struct load_target *targets,
    unsigned char **held, size_t ntargets, const unsigned char *supplied)
{
	const struct manifest *man = plan->man;
	size_t b, t, nmissing = 0;
	char size[32];

	for (b = 0; b < plan->nblobs; b++) {
		const struct plan_blob *pb = &plan->blobs[b];

		if (pb->base == PLAN_NONE || supplied[b])
			continue;
		for (t = 0; t < ntargets; t++) {
			if (held[t][b])
				continue;
			fx_warn("%s: %s needs %s (%s) from base %s %s: not in the target", ESC(targets[t].spec), ESC(bundle),
			    pb->digest, fmt_bytes(pb->size, size, sizeof(size)), ESC(man->bases[pb->base].name),
			    ESC(man->bases[pb->base].version));
			nmissing++;
		}
	}
	return nmissing;
}

int delta_supply(const char *bundle, const struct target_plan *plan, struct load_target *targets, size_t ntargets,
    const struct load_opts *lo, const struct read_opts *ro, const struct sink *tee, struct ferr *e)
{
	const struct manifest *man = plan->man;
	unsigned char **held = xcalloc(ntargets ? ntargets : 1, sizeof(*held));
	unsigned char *needed = xcalloc(plan->nblobs ? plan->nblobs : 1, 1);
	unsigned char *supplied = xcalloc(plan->nblobs ? plan->nblobs : 1, 1);
	struct base_file *files = xcalloc(lo->nbases ? lo->nbases : 1, sizeof(*files));
	size_t t, b, i, nmissing;
	int rc = FX_OK;

	for (t = 0; t < ntargets; t++) {
		held[t] = xcalloc(plan->nblobs ? plan->nblobs : 1, 1);
		if (targets[t].holds != NULL)
			targets[t].holds(targets[t].sink.ctx, held[t]);
		for (b = 0; b < plan->nblobs; b++)
			needed[b] |= plan->blobs[b].base != PLAN_NONE && !held[t][b];
	}
	for (i = 0; i < lo->nbases && rc == FX_OK; i++)
		rc = open_base(bundle, man, lo->bases[i], ro, &files[i], e);
	if (rc != FX_OK)
		goto end;
	for (b = 0; b < plan->nblobs; b++)
		for (i = 0; i < lo->nbases && needed[b] && !supplied[b]; i++)
			supplied[b] = (unsigned char)base_carries(&files[i].head, &plan->blobs[b]);
	if ((nmissing = list_missing(bundle, plan, targets, held, ntargets, supplied)) > 0) {
		rc = fe_set(e, FX_TARGET, "%s is a delta of %s %s%s: %zu blobs it needs are not in the target%s; nothing was "
		    "loaded (load the base bundle first, or give it with --base)", ESC(bundle), ESC(man->bases[0].name),
		    ESC(man->bases[0].version), man->nbases > 1 ? " and others" : "", nmissing,
		    lo->nbases > 0 ? " nor in a --base bundle" : "");
		goto end;
	}
	for (i = 0; i < lo->nbases && rc == FX_OK; i++)
		rc = feed_base(plan, &files[i], ro, needed, tee, e);
end:
	for (t = 0; t < ntargets; t++)
		free(held[t]);
	for (i = 0; i < lo->nbases; i++)
		bundle_head_free(&files[i].head);
	free(held);
	free(needed);
	free(supplied);
	free(files);
	return rc;
}
