/* cosign_sig.c - cosign signature artifacts as OCI manifests (cosign_sig.h). */
#include "image/cosign_sig.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bundle/manifest.h"

int cosign_sig_tag(const char *name, char hex[SHA256_HEX])
{
	const char *tag;
	char digits[SHA256_HEX];
	size_t len;

	if (name == NULL)
		return 0;
	tag = strrchr(name, ':');
	tag = tag != NULL && strchr(tag, '/') == NULL ? tag + 1 : name;
	len = strlen(tag);
	/* "sha256-" + 64 hex + ".sig" */
	if (len != 7 + 64 + 4 || strncmp(tag, "sha256-", 7) != 0 || strcmp(tag + 71, ".sig") != 0)
		return 0;
	memcpy(digits, tag + 7, 64);
	digits[64] = '\0';
	if (!digest_hex_valid(digits))
		return 0;
	if (hex != NULL)
		memcpy(hex, digits, SHA256_HEX);
	return 1;
}

/* A layer descriptor's digest and size, when both are sound. */
static int layer_desc(json_t *layer, const char **digest, uint64_t *size)
{
	json_t *sz = json_object_get(layer, "size");

	*digest = json_string_value(json_object_get(layer, "digest"));
	if (*digest == NULL || !digest_valid(*digest) || !json_is_integer(sz) || json_integer_value(sz) < 0)
		return 0;
	*size = (uint64_t)json_integer_value(sz);
	return 1;
}

/* One layer: does it verify? FX_OK, FX_VERIFY (why set), or a read error. */
static int check_layer(const struct cosign_key *key, int simple, const char *image_digest, json_t *layer,
    sig_blob_fn read_blob, void *ctx, const char **why, struct ferr *e)
{
	const char *mt = json_string_value(json_object_get(layer, "mediaType")), *digest, *sig = NULL;
	char *buf = NULL;
	size_t len = 0;
	uint64_t size;
	int rc;

	if (mt == NULL || strcmp(mt, simple ? COSIGN_PAYLOAD_MEDIA_TYPE : COSIGN_BUNDLE_MEDIA_TYPE) != 0)
		return FX_VERIFY; /* another kind of layer: why stays as it was */
	if (!layer_desc(layer, &digest, &size) || size > COSIGN_PAYLOAD_MAX) {
		*why = "a signature layer with a bad descriptor or larger than 1 MiB";
		return FX_VERIFY;
	}
	if (simple) {
		sig = json_string_value(json_object_get(json_object_get(layer, "annotations"), COSIGN_SIG_ANNOTATION));
		if (sig == NULL) {
			*why = "a payload layer without the " COSIGN_SIG_ANNOTATION " annotation";
			return FX_VERIFY;
		}
	}
	if ((rc = read_blob(ctx, digest, size, COSIGN_PAYLOAD_MAX, &buf, &len, e)) != FX_OK)
		return rc;
	if (simple)
		rc = cosign_verify_simple(key, image_digest, (unsigned char *)buf, len, sig, why);
	else
		rc = cosign_verify_bundle(key, image_digest, buf, len, why);
	free(buf);
	return rc;
}

int cosign_sig_check(const struct cosign_key *key, const char *kind, const char *image_digest,
    const char *manifest, size_t len, sig_blob_fn read_blob, void *ctx, const char **why, struct ferr *e)
{
	json_t *root = NULL, *layers, *layer;
	size_t i;
	int rc = FX_VERIFY, simple = strcmp(kind, MAN_SIG_SIMPLE) == 0;

	*why = simple ? "no payload layer with a signature" : "no sigstore bundle layer";
	if (len > SIG_MANIFEST_MAX || (root = json_loadb(manifest, len, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_array(layers = json_object_get(root, "layers")) || json_array_size(layers) > SIG_LAYERS_MAX) {
		*why = "the signature manifest is not JSON with at most 15 layers";
		goto end;
	}
	json_array_foreach(layers, i, layer) {
		rc = check_layer(key, simple, image_digest, layer, read_blob, ctx, why, e);
		if (rc != FX_VERIFY)
			break; /* good, or a blob that could not be read */
	}
end:
	json_decref(root);
	return rc;
}

const char *cosign_sig_referrer(const char *manifest, size_t len, const char *image_hex)
{
	json_t *root = len <= SIG_MANIFEST_MAX ? json_loadb(manifest, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
	const char *subject = json_string_value(json_object_get(json_object_get(root, "subject"), "digest"));
	const char *type = json_string_value(json_object_get(root, "artifactType"));
	const char *kind = NULL;

	if (subject != NULL && strncmp(subject, "sha256:", 7) == 0 && strcmp(subject + 7, image_hex) == 0 &&
	    type != NULL && strcmp(type, COSIGN_BUNDLE_MEDIA_TYPE) == 0)
		kind = MAN_SIG_BUNDLE;
	json_decref(root);
	return kind;
}
