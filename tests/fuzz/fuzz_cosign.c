/* fuzz_cosign.c - libFuzzer target for what a cosign signature brings along: the JSON
 * of a sigstore bundle (its DSSE envelope, base64 payload and signatures, the in-toto
 * statement inside), the base64 decoder, and a signature manifest (its layers, their
 * annotations, a referrer's subject; the signature tag rule). A fixed Ed25519 key checks: nothing the
 * fuzzer makes can carry its signature, so every input must fail, with a reason. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle/manifest.h"
#include "crypto/cosign.h"
#include "util/base64.h"
#include "image/cosign_sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Ed25519 public key (RFC 8032, test 1). */
static const char pem[] = "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
    "-----END PUBLIC KEY-----\n";

static struct cosign_key *key;

static void load_key(void)
{
	char path[] = "/tmp/fuzz-cosign-XXXXXX";
	struct ferr e = {0, ""};
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, pem, sizeof(pem) - 1) != (ssize_t)(sizeof(pem) - 1))
		abort();
	close(fd);
	if (cosign_key_load(path, &key, &e) != FX_OK)
		abort();
	unlink(path);
}

/* Every blob a signature manifest names is "there": the input itself, whatever its
 * digest, so the layer checks run on fuzzer bytes. */
static int any_blob(void *ctx, const char *digest, uint64_t size, size_t max, char **buf, size_t *len,
    struct ferr *e)
{
	const char *input = ctx;

	(void)digest;
	(void)size;
	(void)e;
	*len = strlen(input) < max ? strlen(input) : max;
	*buf = strndup(input, *len);
	return *buf != NULL ? FX_OK : FX_IO;
}

static void manifest_checks(const char *digest, const uint8_t *data, size_t size)
{
	char *text = strndup((const char *)data, size);
	struct ferr e = {0, ""};
	const char *why = NULL;

	if (text == NULL)
		return;
	if (cosign_sig_check(key, MAN_SIG_SIMPLE, digest, text, strlen(text), any_blob, text, &why, &e) == FX_OK ||
	    cosign_sig_check(key, MAN_SIG_BUNDLE, digest, text, strlen(text), any_blob, text, &why, &e) == FX_OK)
		abort(); /* nothing the fuzzer makes carries the key's signature */
	(void)cosign_sig_referrer(text, strlen(text), digest + 7);
	(void)cosign_sig_tag(text, NULL);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char digest[] = "sha256:4c1c50d0ffc614f90b93b07d778028dc765548e823f676fb027f61d281ac380d";
	const char *why = NULL;
	unsigned char *dec;
	size_t n = 0;
	char *sig;

	if (key == NULL)
		load_key();
	if (cosign_verify_bundle(key, digest, (const char *)data, size, &why) != FX_VERIFY || why == NULL)
		abort();
	for (int a = B64_STD; a <= B64_URL; a++) { /* what decodes encodes back to the same text */
		dec = b64_decode((enum b64_alphabet)a, (const char *)data, size, &n);
		if (dec != NULL) {
			size_t back_len;
			char *back = b64_encode((enum b64_alphabet)a, dec, n, &back_len);
			if (n > size || back_len != size || memcmp(back, data, size) != 0)
				abort();
			free(back);
		}
		free(dec);
	}
	sig = strndup((const char *)data, size > 200 ? 200 : size);
	if (sig != NULL && cosign_verify_simple(key, digest, data, size, sig, &why) != FX_VERIFY)
		abort();
	free(sig);
	manifest_checks(digest, data, size);
	return 0;
}
