/* test_cosign_sig.c - cosign signature artifacts as OCI manifests: the sha256-<hex>.sig
 * tag rule, the check of a signature manifest whatever holds its blobs (a good one, a
 * payload layer without its annotation, another kind of layer, too many layers, a
 * blob larger than 1 MiB or missing), the referrer rule, and bundle.yaml's
 * signatures key (read back, a 17th signature and a bad kind refused). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "bundle/manifest.h"
#include "image/cosign_sig.h"
#include "util/digest.h"
#include "util/util.h"

#include "check.h"

static const char image[] = "sha256:4c1c50d0ffc614f90b93b07d778028dc765548e823f676fb027f61d281ac380d";

struct blobs {
	char digest[4][DIGEST_STR];
	char *buf[4];
	size_t len[4], n;
};

static const char *add_blob(struct blobs *b, const char *text)
{
	unsigned char d[SHA256_LEN];
	char hex[SHA256_HEX];

	sha256_buf(text, strlen(text), d);
	hex_encode(d, SHA256_LEN, hex);
	snprintf(b->digest[b->n], DIGEST_STR, "sha256:%s", hex);
	b->buf[b->n] = xstrdup(text);
	b->len[b->n] = strlen(text);
	return b->digest[b->n++];
}

static int read_blob(void *ctx, const char *digest, uint64_t size, size_t max, char **buf, size_t *len,
    struct ferr *e)
{
	struct blobs *b = ctx;
	size_t i;

	for (i = 0; i < b->n; i++)
		if (strcmp(b->digest[i], digest) == 0 && b->len[i] == size && size <= max) {
			*buf = xstrdup(b->buf[i]);
			*len = b->len[i];
			return FX_OK;
		}
	return fe_set(e, FX_IO, "blob %s not here", digest);
}

static char *sign_b64(EVP_PKEY *k, const char *msg)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char sig[256];
	size_t sig_len = sizeof(sig);
	char *out = xmalloc(4 * ((sizeof(sig) + 2) / 3) + 1);

	if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k) != 1 ||
	    EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)msg, strlen(msg)) != 1)
		out[0] = '\0';
	else
		EVP_EncodeBlock((unsigned char *)out, sig, (int)sig_len);
	EVP_MD_CTX_free(ctx);
	return out;
}

static struct cosign_key *public_key(EVP_PKEY *k)
{
	char path[] = "/tmp/ferry-test-cosign-sig.XXXXXX";
	struct cosign_key *key = NULL;
	struct ferr e = {0, ""};
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (f != NULL) {
		PEM_write_PUBKEY(f, k);
		fclose(f);
	}
	CHECK_MSG(cosign_key_load(path, &key, &e) == FX_OK, "%s", e.msg);
	unlink(path);
	return key;
}

static void test_tag(void)
{
	char hex[SHA256_HEX];

	CHECK(cosign_sig_tag("sha256-4c1c50d0ffc614f90b93b07d778028dc765548e823f676fb027f61d281ac380d.sig", hex) &&
	    strcmp(hex, image + 7) == 0);
	CHECK(cosign_sig_tag("ferry.test/app:sha256-4c1c50d0ffc614f90b93b07d778028dc765548e823f676fb027f61d281ac380d.sig",
	    hex) && strcmp(hex, image + 7) == 0);
	CHECK(cosign_sig_tag("127.0.0.1:5000/app:sha256-4c1c50d0ffc614f90b93b07d778028dc765548e823f676fb027f61d281ac380d.sig",
	    NULL));
	CHECK(!cosign_sig_tag("sha256-4C1C50D0ffc614f90b93b07d778028dc765548e823f676fb027f61d281ac380d.sig", NULL));
	CHECK(!cosign_sig_tag("sha256-4c1c50d0ffc614f90b93b07d778028dc765548e823f676fb027f61d281ac380d.att", NULL));
	CHECK(!cosign_sig_tag("sha256-4c1c50.sig", NULL));
	CHECK(!cosign_sig_tag("latest", NULL));
	CHECK(!cosign_sig_tag(NULL, NULL));
}

/* A .sig manifest of one payload layer; annotation: the signature text, or NULL. */
static char *sig_manifest(struct blobs *b, const char *payload, const char *annotation, const char *layer_type,
    int layers)
{
	const char *pd = add_blob(b, payload), *cd = add_blob(b, "{}");
	char *layer = annotation != NULL ?
	    xasprintf("{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu,\"annotations\":{\"%s\":\"%s\"}}", layer_type, pd,
	    strlen(payload), COSIGN_SIG_ANNOTATION, annotation) :
	    xasprintf("{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}", layer_type, pd, strlen(payload));
	char *all = xstrdup(layer), *m;
	int i;

	for (i = 1; i < layers; i++) {
		char *more = xasprintf("%s,%s", all, layer);
		free(all);
		all = more;
	}
	m = xasprintf("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":2},"
	    "\"layers\":[%s]}", cd, all);
	free(layer);
	free(all);
	return m;
}

static void blobs_free(struct blobs *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		free(b->buf[i]);
	memset(b, 0, sizeof(*b));
}

static int check_one(struct cosign_key *key, const char *m, struct blobs *b, const char **why)
{
	struct ferr e = {0, ""};

	return cosign_sig_check(key, MAN_SIG_SIMPLE, image, m, strlen(m), read_blob, b, why, &e);
}

static void test_check(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256"), *stranger = EVP_EC_gen("P-256");
	struct cosign_key *key = public_key(k), *other = public_key(stranger);
	char *payload = xasprintf("{\"critical\":{\"identity\":{\"docker-reference\":\"r/a\"},\"image\":"
	    "{\"docker-manifest-digest\":\"%s\"},\"type\":\"cosign container image signature\"},\"optional\":null}", image);
	char *sig = sign_b64(k, payload), *m;
	struct blobs b;
	const char *why = NULL;
	struct ferr e = {0, ""};

	memset(&b, 0, sizeof(b));
	m = sig_manifest(&b, payload, sig, COSIGN_PAYLOAD_MEDIA_TYPE, 1);
	CHECK_MSG(check_one(key, m, &b, &why) == FX_OK, "good: %s", why ? why : "");
	CHECK(check_one(other, m, &b, &why) == FX_VERIFY && strstr(why, "not the key's") != NULL);
	CHECK(cosign_sig_check(key, MAN_SIG_BUNDLE, image, m, strlen(m), read_blob, &b, &why, &e) == FX_VERIFY &&
	    strstr(why, "no sigstore bundle layer") != NULL);
	free(m);
	blobs_free(&b);

	m = sig_manifest(&b, payload, NULL, COSIGN_PAYLOAD_MEDIA_TYPE, 1);
	CHECK(check_one(key, m, &b, &why) == FX_VERIFY && strstr(why, "without the") != NULL);
	free(m);
	blobs_free(&b);

	m = sig_manifest(&b, payload, sig, "application/octet-stream", 1);
	CHECK(check_one(key, m, &b, &why) == FX_VERIFY && strstr(why, "no payload layer") != NULL);
	free(m);
	blobs_free(&b);

	m = sig_manifest(&b, payload, sig, COSIGN_PAYLOAD_MEDIA_TYPE, SIG_LAYERS_MAX + 1);
	CHECK(check_one(key, m, &b, &why) == FX_VERIFY && strstr(why, "at most 15 layers") != NULL);
	free(m);
	blobs_free(&b);

	m = sig_manifest(&b, payload, sig, COSIGN_PAYLOAD_MEDIA_TYPE, 1);
	blobs_free(&b); /* the payload is not there: a read error, not a verdict */
	CHECK(check_one(key, m, &b, &why) == FX_IO);
	free(m);

	m = xasprintf("{\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%u,\"annotations\":{\"%s\":\"%s\"}}]}",
	    COSIGN_PAYLOAD_MEDIA_TYPE, image, COSIGN_PAYLOAD_MAX + 1, COSIGN_SIG_ANNOTATION, sig);
	CHECK(check_one(key, m, &b, &why) == FX_VERIFY && strstr(why, "larger than 1 MiB") != NULL);
	free(m);
	CHECK(check_one(key, "not json", &b, &why) == FX_VERIFY);

	free(payload);
	free(sig);
	cosign_key_free(key);
	cosign_key_free(other);
	EVP_PKEY_free(k);
	EVP_PKEY_free(stranger);
}

static void test_referrer(void)
{
	char *m = xasprintf("{\"artifactType\":\"%s\",\"subject\":{\"digest\":\"%s\"}}", COSIGN_BUNDLE_MEDIA_TYPE, image);

	CHECK(cosign_sig_referrer(m, strlen(m), image + 7) != NULL);
	CHECK(cosign_sig_referrer(m, strlen(m), "0000000000000000000000000000000000000000000000000000000000000000") == NULL);
	free(m);
	m = xasprintf("{\"artifactType\":\"application/spdx+json\",\"subject\":{\"digest\":\"%s\"}}", image);
	CHECK(cosign_sig_referrer(m, strlen(m), image + 7) == NULL);
	free(m);
	CHECK(cosign_sig_referrer("[]", 2, image + 7) == NULL);
}

static char *yaml_with(size_t nsigs, const char *kind)
{
	char *y = xasprintf("apiVersion: ferry/v1\nkind: Bundle\nmetadata: {name: a, version: '1'}\nimages:\n"
	    "  - ref: r/a:1\n    digest: %s\n    blobs: []\n    manifests: [%s]\n    cosign: verified\n    signatures:\n",
	    image, image);
	size_t i;

	for (i = 0; i < nsigs; i++) {
		char *more = xasprintf("%s      - {kind: %s, digest: %s, blobs: [%s]}\n", y, kind, image, image);
		free(y);
		y = more;
	}
	return y;
}

static void test_manifest(void)
{
	struct manifest m;
	struct ferr e = {0, ""};
	char *y = yaml_with(2, MAN_SIG_SIMPLE), *out = NULL;
	size_t len = 0;

	memset(&m, 0, sizeof(m));
	CHECK_MSG(manifest_parse(y, strlen(y), &m, &e) == FX_OK, "%s", e.msg);
	CHECK(m.nimages == 1 && m.images[0].nsignatures == 2 && strcmp(m.images[0].cosign, "verified") == 0 &&
	    m.images[0].signatures[1].nblobs == 1);
	CHECK(manifest_emit(&m, &out, &len, &e) == FX_OK && strstr(out, "kind: simple-signing") != NULL);
	manifest_free(&m);
	free(out);
	free(y);

	y = yaml_with(MAN_SIGS_MAX + 1, MAN_SIG_SIMPLE);
	CHECK(manifest_parse(y, strlen(y), &m, &e) != FX_OK && strstr(e.msg, "more than 16 signatures") != NULL);
	manifest_free(&m);
	free(y);

	y = yaml_with(1, "x509");
	e.code = 0;
	e.msg[0] = '\0';
	CHECK_MSG(manifest_parse(y, strlen(y), &m, &e) != FX_OK && strstr(e.msg, "signature kind") != NULL, "%s", e.msg);
	manifest_free(&m);
	free(y);
}

int main(void)
{
	test_tag();
	test_check();
	test_referrer();
	test_manifest();
	return check_report("test_cosign_sig");
}
