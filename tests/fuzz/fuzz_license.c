/* fuzz_license.c - libFuzzer target for offline licenses (license.c): the compact JWS
 * splitter, strict base64url, the header and claims parsers, the algorithm/key rules and
 * the clock rules.
 *
 * A throw-away Ed25519 test key pair is made at start-up (its public half also written to
 * a memfd, read by license_check through its /proc/self/fd path: no file is left behind). Input: one mode byte, then the rest.
 *   mode % 4 == 0: the rest is a token, checked with the key (license_check_key)
 *   mode % 4 == 1: the rest is a token, checked through the key file (license_check)
 *   mode % 4 == 2: the rest is a payload, signed here with the test key, then checked:
 *                  reaches the claim and clock rules that a forged token never does
 *   mode % 4 == 3: the rest is a token read with license_peek
 * mode / 4 picks the clock and whether an audience is asked for. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "crypto/license.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *key;
static char pubpath[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd;
	FILE *f;

	(void)argc;
	(void)argv;
	key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	fd = memfd_create("fuzz-license-test-pub", 0);
	f = fd >= 0 ? fdopen(dup(fd), "w") : NULL;
	if (key == NULL || f == NULL || PEM_write_PUBKEY(f, key) != 1 || fclose(f) != 0) {
		fprintf(stderr, "fuzz_license: cannot make the test key\n");
		abort();
	}
	snprintf(pubpath, sizeof(pubpath), "/proc/self/fd/%d", fd);
	return 0;
}

static void touch(const struct man_license *l, unsigned *acc)
{
	const char *s[] = {l->subject, l->edition, l->expires, l->customer, l->audience};
	size_t i;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (s[i] != NULL)
			*acc += (unsigned)strlen(s[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t clocks[] = {0, 1800000000, 1830000000, 253402300799LL};
	struct man_license out;
	struct ferr e = {0, ""};
	char reason[256], *claims = NULL, *tok = NULL;
	const char *audience;
	int days = 0;
	unsigned acc = 0;
	size_t toklen = 0;
	enum license_state st = LIC_MALFORMED;
	uint8_t mode;
	int64_t now;

	reason[0] = '\0';
	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;
	now = clocks[(mode >> 2) & 3];
	audience = (mode & 16) ? "acme-platform" : NULL;

	switch (mode & 3) {
	case 0:
		st = license_check_key((const char *)data, size, key, audience, now, &out, &days, &claims,
		    reason, sizeof(reason));
		break;
	case 1:
		st = license_check((const char *)data, size, pubpath, audience, now, &out, &days, reason,
		    sizeof(reason));
		break;
	case 2:
		if (size > LICENSE_MAX_TOKEN / 2 || license_sign(key, (const char *)data, size, &tok, &toklen, &e) != 0)
			return 0;
		st = license_check_key(tok, toklen, key, audience, now, &out, &days, &claims, reason,
		    sizeof(reason));
		/* A genuine signature is never reported as bad. */
		if (st == LIC_BAD_SIGNATURE)
			abort();
		break;
	default:
		if (license_peek((const char *)data, size, &out, &e) != 0)
			return 0;
		st = LIC_VALID;
		break;
	}
	touch(&out, &acc);
	acc += (unsigned)strlen(reason) * (st != LIC_VALID);
	if (claims != NULL)
		acc += (unsigned)strlen(claims);
	/* Only verified tokens carry claims; a grace period always has days left. */
	if (claims != NULL && (st == LIC_BAD_SIGNATURE || st == LIC_MALFORMED))
		abort();
	if (st == LIC_GRACE && days <= 0)
		abort();
	license_summary_free(&out);
	free(claims);
	free(tok);
	return (int)(acc & 0);
}
