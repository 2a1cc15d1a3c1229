/* license.h - offline licenses (license.md): compact JWS issued and verified with
 * OpenSSL EVP (Ed25519 or RSA), claims as JSON (jansson). */
#ifndef FERRY_LICENSE_H
#define FERRY_LICENSE_H

#include <stdint.h>

#include "bundle/manifest.h"
#include "util/util.h"

enum license_state {
	LIC_VALID,
	LIC_GRACE,
	LIC_EXPIRED,
	LIC_NOT_YET_VALID,
	LIC_BAD_SIGNATURE,
	LIC_WRONG_AUDIENCE,
	LIC_MALFORMED
};

const char *license_state_name(enum license_state s); /* "valid", "grace", ... */

/* Checks a token (the bytes of a .lic) with the public key at pubkey_path.
 * audience may be NULL; now is the clock (seconds since the epoch). Fills out (which
 * may be NULL) with a summary of the claims for bundle.yaml and inspect; days_left is
 * set in grace. Returns the state; reason gets a short human explanation. */
enum license_state license_check(const char *token, size_t len, const char *pubkey_path,
    const char *audience, int64_t now, struct man_license *out, int *days_left,
    char *reason, size_t reasonlen);
/* Reads the claims summary without checking the signature (pack time without a key). */
int license_peek(const char *token, size_t len, struct man_license *out, struct ferr *e);

/* Lower-level entry points (additive), for the license verbs and for callers that
 * check several tokens with one key or must tell an unreadable key (FX_IO) from a bad
 * license. */
#define LICENSE_MAX_TOKEN (64 * 1024) /* bigger tokens are malformed */
#define LICENSE_SKEW 60               /* seconds of clock skew tolerated on nbf/iat */

struct evp_pkey_st; /* OpenSSL's EVP_PKEY */

/* Loads a PEM public key (SubjectPublicKeyInfo): Ed25519, or RSA of 2048 to 16384 bits.
 * 0 ok, else FX_IO (unreadable) or FX_VERIFY (not a usable key) with e set. */
int license_load_pubkey(const char *path, struct evp_pkey_st **key, struct ferr *e);
/* The key id: first 16 hex digits of SHA-256 of the key's SubjectPublicKeyInfo DER. */
int license_kid(struct evp_pkey_st *key, char kid[17]);
/* As license_check with a loaded key. out (freed with license_summary_free) and
 * claims_json (the payload as compact JSON, malloc'd; may be NULL) are filled only once
 * the signature verified: for every state but bad-signature and malformed. */
enum license_state license_check_key(const char *token, size_t len, struct evp_pkey_st *key,
    const char *audience, int64_t now, struct man_license *out, int *days_left,
    char **claims_json, char *reason, size_t reasonlen);
/* Issuing: loads an unencrypted PEM private key (Ed25519 or RSA >= 2048), and signs a
 * payload (a JSON object, already serialised) into a compact token, header chosen from
 * the key. 0 ok, else FX_* with e set. */
int license_load_privkey(const char *path, struct evp_pkey_st **key, struct ferr *e);
int license_sign(struct evp_pkey_st *key, const char *payload, size_t payloadlen,
    char **token, size_t *tokenlen, struct ferr *e);
/* What a new license says (license.md). NULL strings and has_* 0 are left out. */
struct license_claims {
	const char *issuer, *subject, *audience, *customer, *edition;
	int64_t issued_at, not_before, expires;
	int has_seats;
	int64_t seats;                 /* -1: unlimited */
	const char *const *features;
	size_t nfeatures;
	int has_grace_days;
	int64_t grace_days;
	const char *entitlements;      /* a JSON object as text, or NULL */
	size_t entitlements_len;
	const char *entitlements_name; /* where it came from, for messages */
};
/* Issues a license: the claims as JSON with a fresh random "jti" (also written to jti),
 * signed with key, then checked with the key's own public half at the first moment it
 * is meant to be valid. FX_USAGE for claims that cannot be written (text that is empty
 * or not UTF-8, entitlements that are not a JSON object, a token over the size a
 * verifier accepts), FX_IO when signing or that check fails; *state then says whether
 * the new license is valid or already expired (or in grace), with reason. */
int license_issue(struct evp_pkey_st *key, const struct license_claims *c, char **token, size_t *tokenlen,
    char jti[33], enum license_state *state, char *reason, size_t reasonlen, struct ferr *e);
/* A new license key pair as PEM: Ed25519, or RSA-3072 when rsa. The private PEM is a
 * secret: OPENSSL_cleanse it before freeing. */
int license_keygen(int rsa, char **private_pem, size_t *private_len, char **public_pem, size_t *public_len,
    struct ferr *e);

/* Frees the strings of a summary filled by license_check/license_peek and clears it. */
void license_summary_free(struct man_license *l);

#endif
