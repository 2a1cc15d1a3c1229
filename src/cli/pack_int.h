/* pack_int.h - what pack.c (the plan, the head, the staged build) and pack_stream.c
 * (the build streamed into its output, the head written last) share. */
#ifndef FERRY_PACK_INT_H
#define FERRY_PACK_INT_H

#include "cli/pack.h"
#include "bundle/bundle.h"
#include "bundle/manifest.h"
#include "bundle/spec.h"
#include "cli/pack_charts.h"
#include "crypto/pgp.h"
#include "image/compress.h"
#include "image/images.h"
#include "image/sbom.h"

struct plan_entry {
	char *name;
	const char *path; /* source file, or NULL for buf */
	const char *buf;
	size_t len;
	uint64_t size;
	unsigned char digest[SHA256_LEN];
	int staged;         /* path is a file ferry wrote into its staging directory and hashed
	                       as it wrote it: copied into the bundle without hashing it again */
	const char *image;  /* a blob: the first image that uses it (for progress) */
	size_t image_index; /* its number, from 1 */
	struct img_blob *remote; /* a registry layer: fetched straight into the output */
	int written;        /* already in the output (a layer compressed into it) */
	/* a layer left in its input archive (img_blob.where): path is the archive, its
	 * bytes start at in_place->offset; checked against digest as they are copied */
	struct img_blob *in_place;
	/* a streamed pack's file (license, doc, chart, file): hashed as it is written, not
	 * before, since only the head needs its digest and the head is written last */
	int hash_on_write;
};

struct plan {
	struct plan_entry *v;
	size_t n, cap;
};

/* The signed head: bundle.yaml, SHA256SUMS and its signature, each within what a
 * loader reads. */
struct head {
	char *yaml, *sums_text, *sig;
	size_t yaml_len, sums_len, sig_len;
	struct pgp_signer who;
	struct pgp_sign_key *signing_key; /* looked up while the build goes on (not owned) */
};

/* The output of a streamed build, opened by the first layer to compress (pack_layers_open)
 * or, when there is none, by write_streamed. */
struct stream_out {
	const struct pack_opts *o;
	const struct spec *s;
	const char *out;
	const struct chart_art *charts;
	struct plan *p;
	struct bundle_writer *w;
	uint64_t room;      /* kept for the head */
	size_t nwritten;    /* the plan's first entries, written before the layers */
	struct cz_stream layers;
};

void pack_plan_buf(struct plan *p, const char *name, const char *buf, size_t len);
/* bundle.yaml's description of the spec and the plan (images, charts, entries) */
int pack_describe(const struct pack_opts *o, const struct spec *s, const struct plan *p, struct manifest *m,
    struct ferr *e);
void pack_describe_entries(const struct plan *p, struct manifest *m);
/* bundle.yaml (with yaml_pad bytes of comment after it: room a streamed build kept),
 * SHA256SUMS and its signature, from the described manifest. */
int pack_head_text(const struct pack_opts *o, const struct plan *p, struct manifest *m, size_t yaml_pad,
    struct head *h, struct ferr *e);
void pack_head_free(struct head *h);
/* Signs the finished bundle as a whole (OUT.sig) for `gpg --verify OUT.sig OUT`. */
int pack_detached_sig(const struct pack_opts *o, const char *out, struct ferr *e);

/* pack_stream.c: img_opts.layers_out of a streamed build (ctx: its stream_out) */
int pack_layers_open(void *ctx, const struct img_bound *bound, const struct cz_stream **stream, const char **path,
    struct ferr *e);
/* The rest of a streamed build: the entries not yet written, registry layers fetched
 * into their holes, the SBOMs, then the head into the room kept for it. */
int pack_write_streamed(const struct pack_opts *o, struct stream_out *so, struct manifest *m,
    const struct img_set *is, struct sbom_ctx **catalog_owned, struct sbom_set *sboms, struct head *h, struct ferr *e);

#endif
