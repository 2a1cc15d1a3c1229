/* Strict base64 for the two places ferry reads it: a license token's JWS segments
 * (base64url, unpadded) and cosign signatures and DSSE payloads (standard, padded).
 * A decoder that accepts only the canonical form keeps a signed value from having a
 * second spelling. */
#include "util/base64.h"

#include <stdint.h>
#include <stdlib.h>

#include "util/util.h"

static const char *alphabet(enum b64_alphabet a)
{
	return a == B64_URL ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	                    : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

int b64_value(enum b64_alphabet a, unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (a == B64_URL ? '-' : '+'))
		return 62;
	if (c == (a == B64_URL ? '_' : '/'))
		return 63;
	return -1;
}

unsigned char *b64_decode(enum b64_alphabet a, const char *in, size_t n, size_t *outlen)
{
	unsigned char *out;
	size_t i, o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (a == B64_STD) { /* padded: whole quads, at most two '=' and only at the end */
		if (n == 0 || n % 4 != 0)
			return NULL;
		if (in[n - 1] == '=')
			n -= in[n - 2] == '=' ? 2 : 1;
	}
	if (n % 4 == 1)
		return NULL;
	out = xmalloc(n / 4 * 3 + 3 + 1);
	for (i = 0; i < n; i++) {
		int v = b64_value(a, (unsigned char)in[i]);
		if (v < 0)
			goto bad;
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits & 0xff);
		}
	}
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		goto bad; /* non-canonical trailing bits */
	out[o] = '\0';
	*outlen = o;
	return out;
bad:
	free(out);
	return NULL;
}

char *b64_encode(enum b64_alphabet a, const unsigned char *in, size_t n, size_t *outlen)
{
	const char *abc = alphabet(a);
	char *out = xmalloc(n / 3 * 4 + 4 + 1);
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = abc[v >> 6 & 63];
		out[o++] = abc[v & 63];
	}
	if (n - i > 0) {
		v = (uint32_t)in[i] << 16 | (n - i == 2 ? (uint32_t)in[i + 1] << 8 : 0);
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		if (n - i == 2)
			out[o++] = abc[v >> 6 & 63];
		else if (a == B64_STD)
			out[o++] = '=';
		if (a == B64_STD)
			out[o++] = '=';
	}
	out[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return out;
}
