/* cosign_check.c - cosign signatures re-checked offline at load and verify (see
 * cosign_check.h). */
#include "cli/cosign_check.h"

#include <stdlib.h>
#include <string.h>

#include "image/cosign_sig.h"
#include "target/target.h"

struct held_blob {
	char digest[DIGEST_STR];
	char *buf;
	size_t len;
};

struct cosign_check {
	const struct cosign_key *key;
	const char *key_name;
	const struct manifest *man;
	struct held_blob *held;
	size_t nheld;
	struct held_blob cur;   /* the entry being read, when cc wants it */
	int reading;
	uint64_t cur_size;
	char **why;             /* per image, after the stream (NULL: good) */
	int checked;
};

struct cosign_check *cosign_check_new(const struct cosign_key *key, const char *key_name)
{
	struct cosign_check *cc = xcalloc(1, sizeof(*cc));

	cc->key = key;
	cc->key_name = key_name;
	return cc;
}

void cosign_check_free(struct cosign_check *cc)
{
	size_t i;

	if (cc == NULL)
		return;
	for (i = 0; i < cc->nheld; i++)
		free(cc->held[i].buf);
	free(cc->held);
	free(cc->cur.buf);
	for (i = 0; cc->why != NULL && cc->man != NULL && i < cc->man->nimages; i++)
		free(cc->why[i]);
	free(cc->why);
	free(cc);
}

void cosign_check_head(struct cosign_check *cc, const struct manifest *m)
{
	cc->man = m;
}

/* Does some image list digest among its signatures' blobs or manifests? */
static int listed(const struct manifest *m, const char *digest)
{
	size_t i, k, b;

	for (i = 0; i < m->nimages; i++)
		for (k = 0; k < m->images[i].nsignatures; k++) {
			const struct man_signature *s = &m->images[i].signatures[k];
			if (strcmp(s->digest, digest) == 0)
				return 1;
			for (b = 0; b < s->nblobs; b++)
				if (strcmp(s->blobs[b], digest) == 0)
					return 1;
		}
	return 0;
}

int cosign_check_begin(struct cosign_check *cc, const char *name, uint64_t size)
{
	const char *hex = blob_entry_hex(name);

	cc->reading = 0;
	if (cc->man == NULL || hex == NULL || size > COSIGN_PAYLOAD_MAX)
		return 0;
	snprintf(cc->cur.digest, sizeof(cc->cur.digest), "sha256:%s", hex);
	if (!listed(cc->man, cc->cur.digest))
		return 0;
	free(cc->cur.buf);
	cc->cur.buf = xmalloc(size ? size : 1);
	cc->cur.len = 0;
	cc->cur_size = size;
	cc->reading = 1;
	return 1;
}

void cosign_check_data(struct cosign_check *cc, const void *buf, size_t n)
{
	if (!cc->reading)
		return;
	if (n > cc->cur_size - cc->cur.len) { /* longer than its signed size: not kept */
		cc->reading = 0;
		return;
	}
	memcpy(cc->cur.buf + cc->cur.len, buf, n);
	cc->cur.len += n;
}

void cosign_check_end(struct cosign_check *cc, int ok)
{
	if (cc->reading && ok && cc->cur.len == cc->cur_size) {
		cc->held = xreallocarray(cc->held, cc->nheld + 1, sizeof(*cc->held));
		cc->held[cc->nheld++] = cc->cur;
		cc->cur.buf = NULL;
	}
	cc->reading = 0;
}

static const struct held_blob *held_find(const struct cosign_check *cc, const char *digest)
{
	size_t i;

	for (i = 0; i < cc->nheld; i++)
		if (strcmp(cc->held[i].digest, digest) == 0)
			return &cc->held[i];
	return NULL;
}

/* sig_blob_fn over the blobs kept from the stream (each verified by the reader). */
static int held_blob(void *ctx, const char *digest, uint64_t size, size_t max, char **buf, size_t *len,
    struct ferr *e)
{
	const struct held_blob *h = held_find(ctx, digest);

	if (h == NULL || h->len != size || h->len > max)
		return fe_set(e, FX_IO, "signature blob %s is not in the bundle", ESC(digest));
	*buf = xmalloc(h->len ? h->len : 1);
	memcpy(*buf, h->buf, h->len);
	*len = h->len;
	return FX_OK;
}

/* Image i: NULL when one of its signatures verifies, else why not (malloc'd). */
static char *check_image(struct cosign_check *cc, const struct man_image *mi)
{
	const char *why = "it has no cosign signature in the bundle";
	size_t k;

	for (k = 0; k < mi->nsignatures; k++) {
		const struct man_signature *s = &mi->signatures[k];
		const struct held_blob *manifest = held_find(cc, s->digest);
		struct ferr e = {0, ""};
		const char *sig_why = NULL;
		int rc;

		if (manifest == NULL) {
			why = "a signature manifest is not in the bundle";
			continue;
		}
		rc = cosign_sig_check(cc->key, s->kind, mi->digest, manifest->buf, manifest->len, held_blob, cc, &sig_why, &e);
		if (rc == FX_OK)
			return NULL;
		why = rc == FX_VERIFY && sig_why != NULL ? sig_why : "a signature blob is not in the bundle";
	}
	return xasprintf("no cosign signature verifies with %s: %s", ESC(cc->key_name), why);
}

const char *cosign_check_image(struct cosign_check *cc, size_t i)
{
	size_t k;

	if (cc->man == NULL || i >= cc->man->nimages)
		return "the bundle was not read";
	if (!cc->checked) {
		cc->why = xcalloc(cc->man->nimages + 1, sizeof(*cc->why));
		for (k = 0; k < cc->man->nimages; k++)
			cc->why[k] = check_image(cc, &cc->man->images[k]);
		cc->checked = 1;
	}
	return cc->why[i];
}

/* ---- as a sink of its own (verify) */

static int sink_head(void *ctx, const struct bundle_head *h, struct ferr *e)
{
	(void)e;
	cosign_check_head(ctx, &h->man);
	return FX_OK;
}

static int sink_begin(void *ctx, const char *name, uint64_t size, const struct entry_loc *loc, int *want,
    struct ferr *e)
{
	(void)loc;
	(void)e;
	*want = cosign_check_begin(ctx, name, size);
	return FX_OK;
}

static int sink_data(void *ctx, const void *buf, size_t n, struct ferr *e)
{
	(void)e;
	cosign_check_data(ctx, buf, n);
	return FX_OK;
}

static int sink_end(void *ctx, const char *name, int ok, struct ferr *e)
{
	(void)name;
	(void)e;
	cosign_check_end(ctx, ok);
	return FX_OK;
}

static int sink_finish(void *ctx, int all_ok, struct ferr *e)
{
	(void)ctx;
	(void)all_ok;
	(void)e;
	return FX_OK;
}

void cosign_check_sink(struct cosign_check *cc, struct sink *s)
{
	memset(s, 0, sizeof(*s));
	s->ctx = cc;
	s->head = sink_head;
	s->begin = sink_begin;
	s->data = sink_data;
	s->end = sink_end;
	s->finish = sink_finish;
}
