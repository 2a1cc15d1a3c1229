/* digest.c - SHA-256 through OpenSSL EVP, and digest strings. */
#include "util/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

void sha256_init(struct sha256 *h)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (c == NULL || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		fx_warn("OpenSSL: cannot start SHA-256");
		exit(FX_IO);
	}
	h->ctx = c;
}

void sha256_update(struct sha256 *h, const void *buf, size_t n)
{
	if (n > 0 && EVP_DigestUpdate(h->ctx, buf, n) != 1) {
		fx_warn("OpenSSL: SHA-256 update failed");
		exit(FX_IO);
	}
}

void sha256_final(struct sha256 *h, unsigned char out[SHA256_LEN])
{
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || n != SHA256_LEN) {
		fx_warn("OpenSSL: SHA-256 final failed");
		exit(FX_IO);
	}
	sha256_free(h);
}

void sha256_free(struct sha256 *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

void sha256_buf(const void *buf, size_t n, unsigned char out[SHA256_LEN])
{
	struct sha256 h;

	sha256_init(&h);
	sha256_update(&h, buf, n);
	sha256_final(&h, out);
}

int sha256_file(const char *path, unsigned char out[SHA256_LEN], uint64_t *size, struct ferr *e)
{
	enum { BUFSZ = 1 << 20 };
	struct sha256 h;
	unsigned char *buf = NULL;
	uint64_t total = 0;
	int fd, rc = FX_OK;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fe_set(e, FX_IO, "%s: %s", ESC(path), strerror(errno));
	buf = xmalloc(BUFSZ);
	sha256_init(&h);
	for (;;) {
		ssize_t r = read(fd, buf, BUFSZ);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = fe_set(e, FX_IO, "%s: %s", ESC(path), strerror(errno));
			sha256_free(&h);
			goto end;
		}
		if (r == 0)
			break;
		sha256_update(&h, buf, (size_t)r);
		total += (uint64_t)r;
	}
	sha256_final(&h, out);
	if (size != NULL)
		*size = total;
end:
	free(buf);
	close(fd);
	return rc;
}

int digest_hex_valid(const char *hex)
{
	size_t i;

	if (hex == NULL)
		return 0;
	for (i = 0; i < 2 * SHA256_LEN; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return 0;
	return hex[i] == '\0';
}

int digest_valid(const char *d)
{
	return d != NULL && strncmp(d, "sha256:", 7) == 0 && digest_hex_valid(d + 7);
}

int digest_parse(const char *d, unsigned char bytes[SHA256_LEN], char hex[SHA256_HEX])
{
	if (!digest_valid(d))
		return -1;
	if (bytes != NULL && hex_decode(d + 7, 2 * SHA256_LEN, bytes) != 0)
		return -1;
	if (hex != NULL)
		memcpy(hex, d + 7, SHA256_HEX);
	return 0;
}
