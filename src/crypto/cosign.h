/* cosign.h - offline checks of cosign image signatures against a public key: the
 * legacy simple-signing signature (a `sha256-<hex>.sig` manifest: the payload is its
 * layer, the signature the layer's `dev.cosignproject.cosign/signature` annotation)
 * and the DSSE envelope of a sigstore bundle. Only the key decides: no certificate,
 * transparency log or time stamp is consulted (none is reachable in an air gap). */
#ifndef FERRY_COSIGN_H
#define FERRY_COSIGN_H

#include <stddef.h>

#include "util/util.h"

#define COSIGN_SIG_ANNOTATION "dev.cosignproject.cosign/signature"
#define COSIGN_PAYLOAD_MEDIA_TYPE "application/vnd.dev.cosign.simplesigning.v1+json"
#define COSIGN_BUNDLE_MEDIA_TYPE "application/vnd.dev.sigstore.bundle.v0.3+json"
#define COSIGN_DSSE_PAYLOAD_TYPE "application/vnd.in-toto+json"
#define COSIGN_PAYLOAD_MAX (1u << 20)  /* a payload or bundle larger is refused */
#define COSIGN_SIG_MAX 4096u           /* bytes of a base64 signature */

/* A public key as cosign makes them: ECDSA P-256, RSA (2048 bits or more, PKCS #1
 * v1.5 with SHA-256) or Ed25519, PEM SubjectPublicKeyInfo. */
struct cosign_key;

/* FX_OK, FX_IO (unreadable) or FX_USAGE (not such a key), e naming path. */
int cosign_key_load(const char *path, struct cosign_key **key, struct ferr *e);
void cosign_key_free(struct cosign_key *key);

/* The simple-signing check: sig_b64 (standard base64, no line breaks) is the key's
 * signature over exactly the payload bytes, and the payload is a cosign container
 * image signature whose critical.image.docker-manifest-digest is digest
 * ("sha256:<hex>"). The payload's docker-reference is not compared: images change
 * repository on their way into the air gap. FX_OK, or FX_VERIFY with *why set (a
 * static text). */
int cosign_verify_simple(const struct cosign_key *key, const char *digest, const unsigned char *payload,
    size_t payload_len, const char *sig_b64, const char **why);

/* The sigstore bundle check: bundle is the JSON of a sigstore bundle
 * (COSIGN_BUNDLE_MEDIA_TYPE) whose dsseEnvelope has payloadType
 * COSIGN_DSSE_PAYLOAD_TYPE, a signature by the key over the DSSE pre-authentication
 * encoding of type and payload, and an in-toto statement with a subject whose
 * sha256 digest is digest's. FX_OK, or FX_VERIFY with *why set. */
int cosign_verify_bundle(const struct cosign_key *key, const char *digest, const char *bundle, size_t len,
    const char **why);

#endif
