/* cosign.c - cosign signatures checked offline with OpenSSL (EVP) and jansson: the
 * simple-signing payload of a `.sig` manifest and the DSSE envelope of a sigstore
 * bundle. The formats are cosign's; the code is ferry's own. */
#include "crypto/cosign.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "util/base64.h"
#include "util/digest.h"

struct cosign_key {
	EVP_PKEY *pkey;
	int ed25519; /* signs the message itself, no separate digest */
};

int cosign_key_load(const char *path, struct cosign_key **key, struct ferr *e)
{
	char *pem = NULL, group[64] = "";
	size_t len = 0;
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	int rc;

	*key = NULL;
	if ((rc = read_file_max(path, 64u << 10, &pem, &len, e)) != FX_OK)
		goto end;
	bio = BIO_new_mem_buf(pem, (int)len);
	pkey = bio != NULL ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	if (pkey == NULL) {
		rc = fe_set(e, FX_USAGE, "%s: not a PEM public key", ESC(path));
		goto end;
	}
	if (EVP_PKEY_is_a(pkey, "EC") &&
	    (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) != 1 ||
	     strcmp(group, "prime256v1") != 0)) {
		rc = fe_set(e, FX_USAGE, "%s: an ECDSA key on %s; cosign keys are P-256", ESC(path), group[0] ? group : "?");
		goto end;
	}
	if (EVP_PKEY_is_a(pkey, "RSA") && EVP_PKEY_get_bits(pkey) < 2048) {
		rc = fe_set(e, FX_USAGE, "%s: an RSA key of %d bits; at least 2048", ESC(path), EVP_PKEY_get_bits(pkey));
		goto end;
	}
	if (!EVP_PKEY_is_a(pkey, "EC") && !EVP_PKEY_is_a(pkey, "RSA") && !EVP_PKEY_is_a(pkey, "ED25519")) {
		rc = fe_set(e, FX_USAGE, "%s: a %s key; cosign keys are ECDSA P-256, RSA or Ed25519", ESC(path),
		    EVP_PKEY_get0_type_name(pkey));
		goto end;
	}
	*key = xcalloc(1, sizeof(**key));
	(*key)->ed25519 = EVP_PKEY_is_a(pkey, "ED25519");
	(*key)->pkey = pkey;
	pkey = NULL;
end:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	free(pem);
	return rc;
}

void cosign_key_free(struct cosign_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

/* The key's signature sig over msg. */
static int signature_good(const struct cosign_key *key, const unsigned char *msg, size_t msg_len,
    const unsigned char *sig, size_t sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int good = 0;

	if (ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, key->ed25519 ? NULL : EVP_sha256(), NULL, key->pkey) == 1)
		good = EVP_DigestVerify(ctx, sig, sig_len, msg, msg_len) == 1;
	EVP_MD_CTX_free(ctx);
	return good;
}

static int signature_b64_good(const struct cosign_key *key, const unsigned char *msg, size_t msg_len,
    const char *sig_b64, const char **why)
{
	unsigned char *sig;
	size_t sig_len = 0, b64_len = sig_b64 != NULL ? strlen(sig_b64) : 0;
	int good;

	if (b64_len == 0 || b64_len > COSIGN_SIG_MAX ||
	    (sig = b64_decode(B64_STD, sig_b64, b64_len, &sig_len)) == NULL) {
		*why = "the signature is not base64";
		return 0;
	}
	good = signature_good(key, msg, msg_len, sig, sig_len);
	free(sig);
	if (!good)
		*why = "the signature is not the key's over this payload";
	return good;
}

int cosign_verify_simple(const struct cosign_key *key, const char *digest, const unsigned char *payload,
    size_t payload_len, const char *sig_b64, const char **why)
{
	json_t *root = NULL, *critical;
	const char *type, *named;
	int rc = FX_VERIFY;

	*why = NULL;
	if (payload_len > COSIGN_PAYLOAD_MAX) {
		*why = "the payload is too large";
		goto end;
	}
	/* the signature first: nothing of an unsigned payload is parsed */
	if (!signature_b64_good(key, payload, payload_len, sig_b64, why))
		goto end;
	root = json_loadb((const char *)payload, payload_len, JSON_REJECT_DUPLICATES, NULL);
	critical = json_object_get(root, "critical");
	type = json_string_value(json_object_get(critical, "type"));
	named = json_string_value(json_object_get(json_object_get(critical, "image"), "docker-manifest-digest"));
	if (root == NULL || !json_is_object(critical) || type == NULL ||
	    strcmp(type, "cosign container image signature") != 0) {
		*why = "the payload is not a cosign container image signature";
		goto end;
	}
	if (!json_is_string(json_object_get(json_object_get(critical, "identity"), "docker-reference"))) {
		*why = "the payload names no docker-reference";
		goto end;
	}
	if (named == NULL || !digest_valid(named) || strcmp(named, digest) != 0) {
		*why = "the payload signs another manifest digest";
		goto end;
	}
	rc = FX_OK;
end:
	json_decref(root);
	return rc;
}

/* DSSE's pre-authentication encoding: "DSSEv1 <len> <type> <len> <payload>". */
static unsigned char *dsse_pae(const char *type, const unsigned char *body, size_t body_len, size_t *len)
{
	char head[64];
	size_t type_len = strlen(type), n;
	int head_len = snprintf(head, sizeof(head), "DSSEv1 %zu ", type_len);
	unsigned char *pae;
	char mid[32];
	int mid_len = snprintf(mid, sizeof(mid), " %zu ", body_len);

	n = (size_t)head_len + type_len + (size_t)mid_len + body_len;
	pae = xmalloc(n + 1);
	memcpy(pae, head, (size_t)head_len);
	memcpy(pae + head_len, type, type_len);
	memcpy(pae + (size_t)head_len + type_len, mid, (size_t)mid_len);
	memcpy(pae + (size_t)head_len + type_len + (size_t)mid_len, body, body_len);
	*len = n;
	return pae;
}

/* The in-toto statement has a subject with digest's sha256. */
static int statement_names(const unsigned char *body, size_t len, const char *digest)
{
	json_t *root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *subjects = json_object_get(root, "subject"), *s;
	const char *type = json_string_value(json_object_get(root, "_type"));
	size_t i;
	int found = 0;

	if (type != NULL && strncmp(type, "https://in-toto.io/Statement/", 29) == 0 && json_is_array(subjects))
		json_array_foreach(subjects, i, s) {
			const char *hex = json_string_value(json_object_get(json_object_get(s, "digest"), "sha256"));
			if (hex != NULL && strcmp(hex, digest + 7) == 0)
				found = 1;
		}
	json_decref(root);
	return found;
}

int cosign_verify_bundle(const struct cosign_key *key, const char *digest, const char *bundle, size_t len,
    const char **why)
{
	json_t *root = NULL, *env, *sigs;
	const char *media_type, *type, *payload_b64;
	unsigned char *body = NULL, *pae = NULL;
	size_t body_len = 0, pae_len = 0, i;
	int rc = FX_VERIFY;

	*why = NULL;
	if (len > COSIGN_PAYLOAD_MAX || !digest_valid(digest) ||
	    (root = json_loadb(bundle, len, JSON_REJECT_DUPLICATES, NULL)) == NULL) {
		*why = "not a sigstore bundle (JSON)";
		goto end;
	}
	media_type = json_string_value(json_object_get(root, "mediaType"));
	env = json_object_get(root, "dsseEnvelope");
	type = json_string_value(json_object_get(env, "payloadType"));
	payload_b64 = json_string_value(json_object_get(env, "payload"));
	sigs = json_object_get(env, "signatures");
	if (media_type == NULL || strcmp(media_type, COSIGN_BUNDLE_MEDIA_TYPE) != 0 || !json_is_object(env)) {
		*why = "not a sigstore bundle v0.3 with a DSSE envelope";
		goto end;
	}
	if (type == NULL || strcmp(type, COSIGN_DSSE_PAYLOAD_TYPE) != 0) {
		*why = "the envelope's payloadType is not application/vnd.in-toto+json";
		goto end;
	}
	if (payload_b64 == NULL || (body = b64_decode(B64_STD, payload_b64, strlen(payload_b64), &body_len)) == NULL) {
		*why = "the envelope's payload is not base64";
		goto end;
	}
	if (!json_is_array(sigs) || json_array_size(sigs) == 0) {
		*why = "the envelope has no signature";
		goto end;
	}
	pae = dsse_pae(type, body, body_len, &pae_len);
	for (i = 0; i < json_array_size(sigs) && rc != FX_OK; i++)
		if (signature_b64_good(key, pae, pae_len, json_string_value(json_object_get(json_array_get(sigs, i), "sig")),
		    why))
			rc = FX_OK;
	if (rc == FX_OK && !statement_names(body, body_len, digest)) {
		*why = "the statement's subject is another digest";
		rc = FX_VERIFY;
	}
	if (rc == FX_OK)
		*why = NULL;
end:
	free(pae);
	free(body);
	json_decref(root);
	return rc;
}
