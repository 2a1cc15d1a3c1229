/* digest.h - SHA-256 (OpenSSL EVP) and the one rule for digest strings. */
#ifndef FERRY_DIGEST_H
#define FERRY_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define SHA256_LEN 32
#define SHA256_HEX 65 /* 64 digits and a NUL */

struct sha256 {
	void *ctx; /* EVP_MD_CTX */
};

void sha256_init(struct sha256 *h);
void sha256_update(struct sha256 *h, const void *buf, size_t n);
void sha256_final(struct sha256 *h, unsigned char out[SHA256_LEN]); /* also frees */
void sha256_free(struct sha256 *h);
void sha256_buf(const void *buf, size_t n, unsigned char out[SHA256_LEN]);
/* Hashes a whole file; 0 ok, else FX_IO with e set. */
int sha256_file(const char *path, unsigned char out[SHA256_LEN], uint64_t *size, struct ferr *e);

/* "sha256:" and 64 hex digits, and its NUL. */
#define DIGEST_STR 72

/* The only digest form ferry accepts from anywhere: "sha256:" followed by exactly 64
 * lower-case hex digits. 1 when d is one, else 0 (NULL included). */
int digest_valid(const char *d);
/* The same for the 64 hex digits alone (a blob's file name). */
int digest_hex_valid(const char *hex);
/* digest_valid(d), then its bytes and its hex part (either may be NULL). 0 ok, -1 bad. */
int digest_parse(const char *d, unsigned char bytes[SHA256_LEN], char hex[SHA256_HEX]);

#endif
