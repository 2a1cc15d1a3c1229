/* test_cosign.c - cosign signatures checked offline: for each key kind cosign makes
 * (ECDSA P-256, RSA, Ed25519) a good simple-signing signature and a good DSSE bundle
 * pass; another key, another digest, a changed payload, a truncated or non-base64
 * signature, a wrong payload type or subject, and keys cosign does not make fail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "crypto/cosign.h"
#include "util/base64.h"
#include "util/util.h"

#include "check.h"

static char dir[] = "/tmp/ferry-test-cosign.XXXXXX";

static const char digest[] = "sha256:4c1c50d0ffc614f90b93b07d778028dc765548e823f676fb027f61d281ac380d";
static const char other[] = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

static char *b64(const unsigned char *in, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	return out;
}

static char *sign(EVP_PKEY *k, const void *msg, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char sig[1024];
	size_t sig_len = sizeof(sig);
	char *out = NULL;

	if (EVP_DigestSignInit(ctx, NULL, EVP_PKEY_is_a(k, "ED25519") ? NULL : EVP_sha256(), NULL, k) == 1 &&
	    EVP_DigestSign(ctx, sig, &sig_len, msg, len) == 1)
		out = b64(sig, sig_len);
	EVP_MD_CTX_free(ctx);
	return out;
}

static char *pubkey_file(EVP_PKEY *k, const char *name)
{
	char *path = xasprintf("%s/%s.pub", dir, name);
	FILE *f = fopen(path, "w");

	if (f != NULL) {
		PEM_write_PUBKEY(f, k);
		fclose(f);
	}
	return path;
}

static char *payload_for(const char *d)
{
	return xasprintf("{\"critical\":{\"identity\":{\"docker-reference\":\"registry.example/acme/app\"},"
	    "\"image\":{\"docker-manifest-digest\":\"%s\"},\"type\":\"cosign container image signature\"},"
	    "\"optional\":null}", d);
}

/* A sigstore bundle whose envelope carries statement, signed by k over the PAE. */
static char *bundle_for(EVP_PKEY *k, const char *type, const char *subject_hex)
{
	char *statement = xasprintf("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"app\","
	    "\"digest\":{\"sha256\":\"%s\"}}],\"predicateType\":\"https://slsa.dev/provenance/v1\",\"predicate\":{}}",
	    subject_hex);
	char *pae = xasprintf("DSSEv1 %zu %s %zu %s", strlen(type), type, strlen(statement), statement);
	char *sig = sign(k, pae, strlen(pae)), *body = b64((const unsigned char *)statement, strlen(statement));
	char *bundle = xasprintf("{\"mediaType\":\"%s\",\"verificationMaterial\":{\"publicKey\":{\"hint\":\"\"}},"
	    "\"dsseEnvelope\":{\"payload\":\"%s\",\"payloadType\":\"%s\",\"signatures\":[{\"sig\":\"%s\",\"keyid\":\"\"}]}}",
	    COSIGN_BUNDLE_MEDIA_TYPE, body, type, sig);

	free(statement);
	free(pae);
	free(sig);
	free(body);
	return bundle;
}

static void check_kind(const char *name, EVP_PKEY *k, EVP_PKEY *stranger)
{
	char *path = pubkey_file(k, name), *payload = payload_for(digest), *sig = sign(k, payload, strlen(payload));
	char *wrong_sig = sign(stranger, payload, strlen(payload)), *bundle, *truncated;
	struct cosign_key *key = NULL;
	struct ferr e = {0, ""};
	const char *why = NULL;
	size_t n = strlen(payload);

	CHECK_MSG(cosign_key_load(path, &key, &e) == FX_OK, "%s: %s", name, e.msg);
	if (key == NULL)
		goto end;
	CHECK_MSG(cosign_verify_simple(key, digest, (unsigned char *)payload, n, sig, &why) == FX_OK, "%s: %s", name,
	    why ? why : "");
	CHECK(cosign_verify_simple(key, other, (unsigned char *)payload, n, sig, &why) == FX_VERIFY &&
	    strstr(why, "another manifest digest") != NULL);
	CHECK(cosign_verify_simple(key, digest, (unsigned char *)payload, n, wrong_sig, &why) == FX_VERIFY &&
	    strstr(why, "not the key's") != NULL);
	payload[n - 20] ^= 1; /* the digest field changed after signing */
	CHECK(cosign_verify_simple(key, digest, (unsigned char *)payload, n, sig, &why) == FX_VERIFY);
	payload[n - 20] ^= 1;
	truncated = xstrndup(sig, strlen(sig) - 4);
	CHECK(cosign_verify_simple(key, digest, (unsigned char *)payload, n, truncated, &why) == FX_VERIFY);
	free(truncated);
	CHECK(cosign_verify_simple(key, digest, (unsigned char *)payload, n, "not base64!", &why) == FX_VERIFY &&
	    strstr(why, "not base64") != NULL);
	CHECK(cosign_verify_simple(key, digest, (unsigned char *)payload, n, "", &why) == FX_VERIFY);

	bundle = bundle_for(k, COSIGN_DSSE_PAYLOAD_TYPE, digest + 7);
	CHECK_MSG(cosign_verify_bundle(key, digest, bundle, strlen(bundle), &why) == FX_OK, "%s bundle: %s", name,
	    why ? why : "");
	CHECK(cosign_verify_bundle(key, other, bundle, strlen(bundle), &why) == FX_VERIFY &&
	    strstr(why, "subject") != NULL);
	free(bundle);
	bundle = bundle_for(k, "application/json", digest + 7);
	CHECK(cosign_verify_bundle(key, digest, bundle, strlen(bundle), &why) == FX_VERIFY &&
	    strstr(why, "payloadType") != NULL);
	free(bundle);
	bundle = bundle_for(stranger, COSIGN_DSSE_PAYLOAD_TYPE, digest + 7);
	CHECK(cosign_verify_bundle(key, digest, bundle, strlen(bundle), &why) == FX_VERIFY);
	free(bundle);
	CHECK(cosign_verify_bundle(key, digest, "{}", 2, &why) == FX_VERIFY);
end:
	cosign_key_free(key);
	unlink(path);
	free(path);
	free(payload);
	free(sig);
	free(wrong_sig);
}

static void test_kinds(void)
{
	EVP_PKEY *ec = EVP_EC_gen("P-256"), *ec2 = EVP_EC_gen("P-256");
	EVP_PKEY *rsa = EVP_RSA_gen(2048), *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *p384 = EVP_EC_gen("P-384"), *rsa1024 = EVP_RSA_gen(1024);
	struct cosign_key *key = NULL;
	struct ferr e = {0, ""};
	char *path;

	check_kind("ecdsa", ec, ec2);
	check_kind("rsa", rsa, ec);
	check_kind("ed25519", ed, ec2);
	path = pubkey_file(p384, "p384");
	CHECK(cosign_key_load(path, &key, &e) == FX_USAGE && strstr(e.msg, "P-256") != NULL);
	unlink(path);
	free(path);
	path = pubkey_file(rsa1024, "rsa1024");
	memset(&e, 0, sizeof(e));
	CHECK(cosign_key_load(path, &key, &e) == FX_USAGE && strstr(e.msg, "2048") != NULL);
	unlink(path);
	free(path);
	memset(&e, 0, sizeof(e));
	CHECK(cosign_key_load("/nonexistent/key.pub", &key, &e) == FX_IO && key == NULL);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ec2);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(rsa1024);
}

static void test_base64(void)
{
	static const struct {
		enum b64_alphabet a;
		const char *in, *out;
	} cases[] = {
		{B64_STD, "Zm9vYmFy", "foobar"}, {B64_STD, "Zm9vYg==", "foob"}, {B64_STD, "Zm9vYmE=", "fooba"},
		{B64_STD, "Zg==", "f"}, {B64_STD, "+/8=", "\xfb\xff"}, {B64_STD, "Zm9vY", NULL},
		{B64_STD, "Zm9v\nYmFy", NULL}, {B64_STD, "Zg=a", NULL}, {B64_STD, "=Zg=", NULL},
		{B64_STD, "Zm9v YmFy", NULL}, {B64_STD, "", NULL}, {B64_STD, "Zg", NULL}, {B64_STD, "Zh==", NULL},
		{B64_STD, "====", NULL}, {B64_STD, "-_8=", NULL}, {B64_URL, "-_8", "\xfb\xff"},
		{B64_URL, "Zm9vYg", "foob"}, {B64_URL, "", ""}, {B64_URL, "Zg==", NULL}, {B64_URL, "+/8", NULL},
		{B64_URL, "Zh", NULL}, {B64_URL, "Zm9vY", NULL},
	};
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char *got = b64_decode(cases[i].a, cases[i].in, strlen(cases[i].in), &n);
		if (cases[i].out == NULL) {
			CHECK_MSG(got == NULL, "b64 case %zu accepted", i);
		} else {
			char *back;
			CHECK_MSG(got != NULL && n == strlen(cases[i].out) && memcmp(got, cases[i].out, n) == 0, "b64 case %zu", i);
			back = b64_encode(cases[i].a, (const unsigned char *)cases[i].out, strlen(cases[i].out), NULL);
			CHECK_MSG(strcmp(back, cases[i].in) == 0, "b64 case %zu encodes back as %s", i, back);
			free(back);
		}
		free(got);
	}
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	test_kinds();
	test_base64();
	rmdir(dir);
	return check_report("test_cosign");
}
