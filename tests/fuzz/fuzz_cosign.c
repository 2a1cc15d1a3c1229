/* fuzz_cosign.c - libFuzzer target for what a cosign signature brings along: the JSON
 * of a sigstore bundle (its DSSE envelope, base64 payload and signatures, the in-toto
 * statement inside) and the base64 decoder. A fixed Ed25519 key checks: nothing the
 * fuzzer makes can carry its signature, so every input must fail, with a reason. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/cosign.h"

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
	dec = cosign_b64_decode((const char *)data, size, &n);
	if (dec != NULL && n > size)
		abort();
	free(dec);
	sig = strndup((const char *)data, size > 200 ? 200 : size);
	if (sig != NULL && cosign_verify_simple(key, digest, data, size, sig, &why) != FX_VERIFY)
		abort();
	free(sig);
	return 0;
}
