#ifndef FERRY_BASE64_H
#define FERRY_BASE64_H
/* Base64 (RFC 4648), strict: one encoding per byte string. */
#include <stddef.h>

enum b64_alphabet {
	B64_STD, /* section 4: '+' '/', '=' padding required */
	B64_URL, /* section 5: '-' '_', no padding (JWS) */
};

/* The value (0-63) of character c in the alphabet, or -1 ('=' is not in either). */
int b64_value(enum b64_alphabet a, unsigned char c);

/* Decodes n characters of in: only the alphabet's characters (no whitespace), padding
 * exactly as the alphabet says, and the unused low bits of the last character zero.
 * Returns a malloc'd buffer (NUL-terminated for convenience) and its length, or NULL
 * when in is not such base64 (the empty string decodes to nothing for B64_URL and is
 * refused for B64_STD, where a value is never empty). */
unsigned char *b64_decode(enum b64_alphabet a, const char *in, size_t n, size_t *outlen);

/* Encodes n bytes; the result is NUL-terminated, *outlen (if not NULL) its length. */
char *b64_encode(enum b64_alphabet a, const unsigned char *in, size_t n, size_t *outlen);

#endif
