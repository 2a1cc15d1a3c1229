/* cosign_sig.h - cosign signature artifacts as OCI manifests: which manifests of an
 * OCI layout are signatures of an image (the legacy `sha256-<hex>.sig` tag, OCI 1.1
 * referrers holding a sigstore bundle), their bounds, and the offline check of one
 * against a key (crypto/cosign.h) whatever holds its blobs (an input at pack, a
 * bundle at load). */
#ifndef FERRY_COSIGN_SIG_H
#define FERRY_COSIGN_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/cosign.h"
#include "util/digest.h"
#include "util/util.h"

/* Bounds of what a signature brings (docs/format.md): its manifest, its config, its
 * layers (each a payload or a bundle: COSIGN_PAYLOAD_MAX) and how many. */
#define SIG_MANIFEST_MAX ((size_t)64 << 10)
#define SIG_CONFIG_MAX ((uint64_t)64 << 10)
#define SIG_LAYERS_MAX 15

/* 1 when name (an org.opencontainers.image.ref.name: "sha256-<hex>.sig" or a
 * reference whose tag is that) is a legacy signature tag; hex (may be NULL) gets the
 * 64 hex digits of the image it signs. */
int cosign_sig_tag(const char *name, char hex[SHA256_HEX]);

/* Reads blob digest ("sha256:<hex>", size bytes, at most max) into a malloc'd buffer:
 * the bytes must be that blob. FX_OK or an error with e set. */
typedef int (*sig_blob_fn)(void *ctx, const char *digest, uint64_t size, size_t max, char **buf, size_t *len,
    struct ferr *e);

/* Checks a signature manifest (kind MAN_SIG_SIMPLE or MAN_SIG_BUNDLE, the JSON in
 * manifest) against key for the image image_digest: some layer of it must verify.
 * FX_OK; FX_VERIFY with why (static text) when none does; another code with e set
 * when a blob could not be read. */
int cosign_sig_check(const struct cosign_key *key, const char *kind, const char *image_digest,
    const char *manifest, size_t len, sig_blob_fn read_blob, void *ctx, const char **why, struct ferr *e);

/* The kind of a manifest that is a referrer of image_hex holding a sigstore bundle:
 * MAN_SIG_BUNDLE; NULL when it is not one. */
const char *cosign_sig_referrer(const char *manifest, size_t len, const char *image_hex);

#endif
