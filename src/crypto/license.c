/* license.c - offline licenses (license.md): compact JWS (RFC 7515) carrying JWT claims
 * (RFC 7519), signed with Ed25519 ("EdDSA") or RSA PKCS#1 v1.5 SHA-256 ("RS256").
 *
 * The verifying key alone decides the algorithm: the header's "alg" must name exactly
 * that algorithm, so "none", HMAC algorithms and RS256/EdDSA swaps never reach a
 * verifier. Parsing is strict (three segments, canonical base64url, JSON objects, typed
 * claims, a size cap) because a license is read on the isolated side from media that
 * anyone may have handled. */
#include "crypto/license.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "util/base64.h"
#include "util/digest.h"

#define MAX_TIME 253402300799LL /* 9999-12-31T23:59:59Z */
#define MAX_STR 4096            /* longest string claim */
#define MAX_FEATURES 1024
#define MAX_GRACE_DAYS 36500
#define MAX_SEATS 2147483647LL
#define KEY_FILE_MAX (64 * 1024)

enum lic_alg { ALG_UNKNOWN, ALG_EDDSA, ALG_RS256 };

/* A parsed (not yet verified) token. */
struct lic_token {
	json_t *header, *claims;
	size_t signing_len; /* bytes of "header.payload" */
	unsigned char *sig;
	size_t siglen;
	const char *alg, *kid;
	const char *sub, *edition, *customer;
	char *aud; /* a string, or an array joined with ", " */
	int has_iat, has_nbf, has_exp, has_seats;
	int64_t iat, nbf, exp, seats, grace_days;
};

const char *license_state_name(enum license_state s)
{
	switch (s) {
	case LIC_VALID: return "valid";
	case LIC_GRACE: return "grace";
	case LIC_EXPIRED: return "expired";
	case LIC_NOT_YET_VALID: return "not-yet-valid";
	case LIC_BAD_SIGNATURE: return "bad-signature";
	case LIC_WRONG_AUDIENCE: return "wrong-audience";
	case LIC_MALFORMED: return "malformed";
	}
	return "malformed";
}

static void set_reason(char *reason, size_t reasonlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_reason(char *reason, size_t reasonlen, const char *fmt, ...)
{
	va_list ap;

	if (reason == NULL || reasonlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, reasonlen, fmt, ap);
	va_end(ap);
}

/* --- keys --- */

static enum lic_alg key_alg(EVP_PKEY *key)
{
	if (key == NULL)
		return ALG_UNKNOWN;
	if (EVP_PKEY_is_a(key, "ED25519"))
		return ALG_EDDSA;
	/* Plain RSA only: an RSA-PSS key would mean PS256, which ferry does not issue. */
	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA && EVP_PKEY_get_bits(key) >= 2048 &&
	    EVP_PKEY_get_bits(key) <= 16384)
		return ALG_RS256;
	return ALG_UNKNOWN;
}

static const char *alg_name(enum lic_alg a)
{
	return a == ALG_EDDSA ? "EdDSA" : a == ALG_RS256 ? "RS256" : "?";
}

int license_kid(EVP_PKEY *key, char kid[17])
{
	unsigned char *der = NULL, md[SHA256_LEN];
	char hex[SHA256_HEX];
	int n;

	kid[0] = '\0';
	n = i2d_PUBKEY(key, &der);
	if (n <= 0)
		return -1;
	sha256_buf(der, (size_t)n, md);
	OPENSSL_free(der);
	hex_encode(md, sizeof(md), hex);
	memcpy(kid, hex, 16);
	kid[16] = '\0';
	return 0;
}

/* Passphrase callback that refuses: license keys for ferry are unencrypted files, and a
 * prompt on the terminal in the middle of a build would hang CI. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int load_key(const char *path, int private, EVP_PKEY **out, struct ferr *e)
{
	char *buf = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	EVP_PKEY *key = NULL;
	int rc;

	*out = NULL;
	rc = read_file_max(path, KEY_FILE_MAX, &buf, &len, e);
	if (rc != FX_OK)
		goto end;
	bio = BIO_new_mem_buf(buf, (int)len);
	if (bio == NULL) {
		rc = fe_set(e, FX_IO, "%s: out of memory", ESC(path));
		goto end;
	}
	if (private)
		key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	else
		key = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	if (key == NULL) {
		rc = fe_set(e, FX_VERIFY, "%s: not a PEM %s (or an encrypted one)", ESC(path),
		    private ? "private key" : "public key (SubjectPublicKeyInfo)");
		goto end;
	}
	if (key_alg(key) == ALG_UNKNOWN) {
		rc = fe_set(e, FX_VERIFY, "%s: unsupported key: need Ed25519 or RSA of 2048 to 16384 bits",
		    ESC(path));
		goto end;
	}
	*out = key;
	key = NULL;
end:
	EVP_PKEY_free(key);
	BIO_free(bio);
	if (buf != NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	return rc;
}

int license_load_pubkey(const char *path, EVP_PKEY **key, struct ferr *e)
{
	return load_key(path, 0, key, e);
}

int license_load_privkey(const char *path, EVP_PKEY **key, struct ferr *e)
{
	return load_key(path, 1, key, e);
}

/* --- parsing --- */

static void token_free(struct lic_token *t)
{
	json_decref(t->header);
	json_decref(t->claims);
	free(t->sig);
	free(t->aud);
	memset(t, 0, sizeof(*t));
}

/* A NumericDate: an integer (not a real) between 1970 and 9999. */
static int get_time(json_t *claims, const char *name, int64_t *out, int *has,
    char *reason, size_t reason_len)
{
	json_t *v = json_object_get(claims, name);

	*has = 0;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > MAX_TIME) {
		set_reason(reason, reason_len, "claim \"%s\" is not a date (integer seconds since 1970)", name);
		return -1;
	}
	*out = (int64_t)json_integer_value(v);
	*has = 1;
	return 0;
}

static int get_str(json_t *obj, const char *name, const char **out, char *reason, size_t reason_len)
{
	json_t *v = json_object_get(obj, name);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) > MAX_STR) {
		set_reason(reason, reason_len, "claim \"%s\" is not a string", name);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

static int get_int(json_t *obj, const char *name, int64_t lo, int64_t hi, int64_t *out,
    int *has, char *reason, size_t reason_len)
{
	json_t *v = json_object_get(obj, name);

	*has = 0;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		set_reason(reason, reason_len, "claim \"%s\" is not an integer from %lld to %lld", name,
		    (long long)lo, (long long)hi);
		return -1;
	}
	*out = (int64_t)json_integer_value(v);
	*has = 1;
	return 0;
}

/* "aud" is a string in ferry's licenses; RFC 7519 also allows an array of strings. */
static int get_aud(json_t *claims, char **out, char *reason, size_t reason_len)
{
	json_t *v = json_object_get(claims, "aud"), *it;
	size_t i, total = 0;
	char *s;

	*out = NULL;
	if (v == NULL)
		return 0;
	if (json_is_string(v) && json_string_length(v) <= MAX_STR) {
		*out = xstrdup(json_string_value(v));
		return 0;
	}
	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > MAX_FEATURES)
		goto bad;
	json_array_foreach(v, i, it) {
		if (!json_is_string(it) || json_string_length(it) > MAX_STR)
			goto bad;
		total += json_string_length(it) + 2;
	}
	s = xmalloc(total + 1);
	total = 0;
	json_array_foreach(v, i, it) {
		if (i > 0) {
			memcpy(s + total, ", ", 2);
			total += 2;
		}
		memcpy(s + total, json_string_value(it), json_string_length(it));
		total += json_string_length(it);
	}
	s[total] = '\0';
	*out = s;
	return 0;
bad:
	set_reason(reason, reason_len, "claim \"aud\" is not a string or an array of strings");
	return -1;
}

/* Is audience one of the token's "aud" values? */
static int aud_matches(json_t *claims, const char *audience)
{
	json_t *v = json_object_get(claims, "aud"), *it;
	size_t i;

	if (json_is_string(v))
		return strcmp(json_string_value(v), audience) == 0;
	json_array_foreach(v, i, it) {
		if (strcmp(json_string_value(it), audience) == 0)
			return 1;
	}
	return 0;
}

static json_t *decode_json(const char *seg, size_t n)
{
	unsigned char *raw;
	size_t rawlen;
	json_t *j;
	json_error_t jerr;

	raw = b64_decode(B64_URL, seg, n, &rawlen);
	if (raw == NULL)
		return NULL;
	/* Duplicate keys are refused: two "exp" could be read differently by two parsers. */
	j = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, &jerr);
	free(raw);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* The JOSE header: "alg" a string, "kid" a string if present, "typ" JWT if present, no
 * extensions. 0, or -1 with reason set. */
static int header_parse(struct lic_token *t, char *reason, size_t reason_len)
{
	json_t *v = json_object_get(t->header, "alg");

	if (!json_is_string(v)) {
		set_reason(reason, reason_len, "header has no \"alg\" string");
		return -1;
	}
	t->alg = json_string_value(v);
	v = json_object_get(t->header, "kid");
	if (v != NULL && !json_is_string(v)) {
		set_reason(reason, reason_len, "header \"kid\" is not a string");
		return -1;
	}
	t->kid = v != NULL ? json_string_value(v) : NULL;
	v = json_object_get(t->header, "typ");
	if (v != NULL && (!json_is_string(v) || strcasecmp(json_string_value(v), "JWT") != 0)) {
		set_reason(reason, reason_len, "header \"typ\" is not \"JWT\"");
		return -1;
	}
	/* Extensions we do not implement must not be silently ignored (RFC 7515 4.1.11);
	 * a nested token (cty) is not a license. */
	if (json_object_get(t->header, "crit") != NULL || json_object_get(t->header, "cty") != NULL) {
		set_reason(reason, reason_len, "header uses \"crit\" or \"cty\", which ferry does not support");
		return -1;
	}
	return 0;
}

/* The claims: each is optional, but when present it has its type. 0, or -1 with reason
 * set. */
static int claims_parse(struct lic_token *t, char *reason, size_t reason_len)
{
	const char *issuer, *id;
	json_t *v, *item;
	size_t i;
	int has_grace = 0;

	if (get_time(t->claims, "iat", &t->iat, &t->has_iat, reason, reason_len) != 0 ||
	    get_time(t->claims, "nbf", &t->nbf, &t->has_nbf, reason, reason_len) != 0 ||
	    get_time(t->claims, "exp", &t->exp, &t->has_exp, reason, reason_len) != 0 ||
	    get_str(t->claims, "iss", &issuer, reason, reason_len) != 0 ||
	    get_str(t->claims, "jti", &id, reason, reason_len) != 0 ||
	    get_str(t->claims, "sub", &t->sub, reason, reason_len) != 0 ||
	    get_str(t->claims, "edition", &t->edition, reason, reason_len) != 0 ||
	    get_str(t->claims, "customer", &t->customer, reason, reason_len) != 0 ||
	    get_aud(t->claims, &t->aud, reason, reason_len) != 0 ||
	    get_int(t->claims, "seats", -1, MAX_SEATS, &t->seats, &t->has_seats, reason, reason_len) != 0 ||
	    get_int(t->claims, "grace_days", 0, MAX_GRACE_DAYS, &t->grace_days, &has_grace, reason, reason_len) != 0)
		return -1;
	if (!t->has_seats)
		t->seats = INT64_MIN;
	v = json_object_get(t->claims, "features");
	if (v != NULL && (!json_is_array(v) || json_array_size(v) > MAX_FEATURES)) {
		set_reason(reason, reason_len, "claim \"features\" is not an array of strings");
		return -1;
	}
	json_array_foreach(v, i, item) {
		if (!json_is_string(item) || json_string_length(item) > MAX_STR) {
			set_reason(reason, reason_len, "claim \"features\" is not an array of strings");
			return -1;
		}
	}
	v = json_object_get(t->claims, "entitlements");
	if (v != NULL && !json_is_object(v)) {
		set_reason(reason, reason_len, "claim \"entitlements\" is not an object");
		return -1;
	}
	return 0;
}

/* Parses the structure and types of a token; does not look at the signature. Returns 0
 * or -1 with reason set (malformed). */
static int token_parse(const char *tok, size_t len, struct lic_token *t, char *reason, size_t reason_len)
{
	const char *dot1, *dot2, *dot3;
	size_t i, header_len, payload_len, sig_len;

	memset(t, 0, sizeof(*t));
	t->seats = INT64_MIN;
	if (len > LICENSE_MAX_TOKEN) {
		set_reason(reason, reason_len, "token larger than %d bytes", LICENSE_MAX_TOKEN);
		return -1;
	}
	/* One line: a single trailing newline (or CRLF) is allowed, nothing else. */
	if (len > 0 && tok[len - 1] == '\n') {
		len--;
		if (len > 0 && tok[len - 1] == '\r')
			len--;
	}
	for (i = 0; i < len; i++) {
		if (tok[i] != '.' && b64_value(B64_URL, (unsigned char)tok[i]) < 0) {
			set_reason(reason, reason_len, "byte 0x%02x at offset %zu is not base64url",
			    (unsigned char)tok[i], i);
			return -1;
		}
	}
	dot1 = memchr(tok, '.', len);
	dot2 = dot1 != NULL ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - tok)) : NULL;
	dot3 = dot2 != NULL ? memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - tok)) : NULL;
	if (dot1 == NULL || dot2 == NULL || dot3 != NULL) {
		set_reason(reason, reason_len, "not a compact JWS (three base64url parts separated by dots)");
		return -1;
	}
	header_len = (size_t)(dot1 - tok);
	payload_len = (size_t)(dot2 - dot1 - 1);
	sig_len = len - (size_t)(dot2 + 1 - tok);
	if (header_len == 0 || payload_len == 0 || sig_len == 0) {
		set_reason(reason, reason_len, "empty %s part",
		    header_len == 0 ? "header" : payload_len == 0 ? "payload" : "signature");
		return -1;
	}
	t->signing_len = (size_t)(dot2 - tok);
	t->header = decode_json(tok, header_len);
	t->claims = t->header != NULL ? decode_json(dot1 + 1, payload_len) : NULL;
	t->sig = t->claims != NULL ? b64_decode(B64_URL, dot2 + 1, sig_len, &t->siglen) : NULL;
	if (t->sig == NULL)
		set_reason(reason, reason_len, "%s", t->header == NULL ? "header is not base64url of a JSON object" :
		    t->claims == NULL ? "payload is not base64url of a JSON object" : "signature is not base64url");
	if (t->sig == NULL || header_parse(t, reason, reason_len) != 0 || claims_parse(t, reason, reason_len) != 0) {
		token_free(t);
		return -1;
	}
	return 0;
}

static void fill_summary(const struct lic_token *t, struct man_license *out)
{
	char when[32];

	if (out == NULL)
		return;
	memset(out, 0, sizeof(*out));
	out->seats = t->seats;
	out->has_seats = t->has_seats;
	out->subject = t->sub != NULL ? xstrdup(t->sub) : NULL;
	out->edition = t->edition != NULL ? xstrdup(t->edition) : NULL;
	out->customer = t->customer != NULL ? xstrdup(t->customer) : NULL;
	out->audience = t->aud != NULL ? xstrdup(t->aud) : NULL;
	if (t->has_exp) {
		fmt_time_utc(t->exp, when);
		out->expires = xstrdup(when);
	}
}

void license_summary_free(struct man_license *l)
{
	if (l != NULL)
		man_license_free(l);
}

/* --- signatures --- */

static int sig_verify(EVP_PKEY *key, enum lic_alg alg, const unsigned char *msg, size_t n,
    const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = 0;

	if (ctx == NULL)
		return 0;
	if (alg == ALG_EDDSA && siglen != 64)
		goto end;
	if (alg == ALG_RS256 && siglen != (size_t)EVP_PKEY_get_size(key))
		goto end;
	if (EVP_DigestVerifyInit(ctx, NULL, alg == ALG_RS256 ? EVP_sha256() : NULL, NULL, key) != 1)
		goto end;
	ok = EVP_DigestVerify(ctx, sig, siglen, msg, n) == 1;
end:
	EVP_MD_CTX_free(ctx);
	return ok;
}

static int sig_sign(EVP_PKEY *key, enum lic_alg alg, const unsigned char *msg, size_t n,
    unsigned char **sig, size_t *siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc = -1;

	if (ctx == NULL)
		return -1;
	if (EVP_DigestSignInit(ctx, NULL, alg == ALG_RS256 ? EVP_sha256() : NULL, NULL, key) != 1 ||
	    EVP_DigestSign(ctx, NULL, &len, msg, n) != 1)
		goto end;
	buf = xmalloc(len);
	if (EVP_DigestSign(ctx, buf, &len, msg, n) != 1)
		goto end;
	*sig = buf;
	*siglen = len;
	buf = NULL;
	rc = 0;
end:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return rc;
}

int license_sign(EVP_PKEY *key, const char *payload, size_t payloadlen, char **token,
    size_t *tokenlen, struct ferr *e)
{
	enum lic_alg alg = key_alg(key);
	json_t *hdr = NULL;
	char kid[17], *hjson = NULL, *h64 = NULL, *p64 = NULL, *s64 = NULL, *tok = NULL;
	unsigned char *sig = NULL;
	size_t slen = 0;
	int rc = FX_OK;

	*token = NULL;
	if (alg == ALG_UNKNOWN || license_kid(key, kid) != 0) {
		rc = fe_set(e, FX_VERIFY, "unsupported license key: need Ed25519 or RSA of 2048 to 16384 bits");
		goto end;
	}
	hdr = json_pack("{s:s, s:s, s:s}", "alg", alg_name(alg), "typ", "JWT", "kid", kid);
	hjson = hdr != NULL ? json_dumps(hdr, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	if (hjson == NULL) {
		rc = fe_set(e, FX_IO, "license header: out of memory");
		goto end;
	}
	h64 = b64_encode(B64_URL, (const unsigned char *)hjson, strlen(hjson), NULL);
	p64 = b64_encode(B64_URL, (const unsigned char *)payload, payloadlen, NULL);
	tok = xasprintf("%s.%s", h64, p64); /* the JWS signing input */
	if (sig_sign(key, alg, (const unsigned char *)tok, strlen(tok), &sig, &slen) != 0) {
		rc = fe_set(e, FX_IO, "license: signing with the %s key failed", alg_name(alg));
		goto end;
	}
	s64 = b64_encode(B64_URL, sig, slen, NULL);
	free(tok);
	tok = xasprintf("%s.%s.%s", h64, p64, s64);
	*tokenlen = strlen(tok);
	*token = tok;
	tok = NULL;
end:
	json_decref(hdr);
	free(hjson);
	free(h64);
	free(p64);
	free(s64);
	free(sig);
	free(tok);
	return rc;
}

/* --- checking --- */

enum license_state license_check_key(const char *token, size_t len, EVP_PKEY *key,
    const char *audience, int64_t now, struct man_license *out, int *days_left,
    char **claims_json, char *reason, size_t reasonlen)
{
	struct lic_token t;
	enum lic_alg alg = key_alg(key);
	enum license_state st = LIC_MALFORMED;
	char kid[17], when[32], until[32];

	if (out != NULL) {
		memset(out, 0, sizeof(*out));
		out->seats = INT64_MIN;
	}
	if (days_left != NULL)
		*days_left = 0;
	if (claims_json != NULL)
		*claims_json = NULL;
	set_reason(reason, reasonlen, "malformed");
	if (token_parse(token, len, &t, reason, reasonlen) != 0)
		return LIC_MALFORMED;

	st = LIC_BAD_SIGNATURE;
	if (alg == ALG_UNKNOWN || license_kid(key, kid) != 0) {
		set_reason(reason, reasonlen, "the public key is not Ed25519 or RSA >= 2048");
		goto end;
	}
	/* The key decides the algorithm; the header may only agree with it. */
	if (strcmp(t.alg, alg_name(alg)) != 0) {
		set_reason(reason, reasonlen, "token algorithm \"%s\" does not match the %s key (only %s is accepted)",
		    ESC(t.alg), alg == ALG_EDDSA ? "Ed25519" : "RSA", alg_name(alg));
		goto end;
	}
	if (t.kid != NULL && (strlen(t.kid) != 16 || CRYPTO_memcmp(t.kid, kid, 16) != 0)) {
		set_reason(reason, reasonlen, "token is for key id %s, this key is %s", ESC(t.kid), kid);
		goto end;
	}
	if (!sig_verify(key, alg, (const unsigned char *)token, t.signing_len, t.sig, t.siglen)) {
		set_reason(reason, reasonlen, "signature does not verify with key %s", kid);
		goto end;
	}

	/* Signed by this key: from here on the claims are the vendor's. */
	fill_summary(&t, out);
	if (claims_json != NULL)
		*claims_json = json_dumps(t.claims, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (audience != NULL && (t.aud == NULL || !aud_matches(t.claims, audience))) {
		st = LIC_WRONG_AUDIENCE;
		set_reason(reason, reasonlen, "license is for \"%s\", not \"%s\"",
		    t.aud != NULL ? ESC(t.aud) : "(no audience)", ESC(audience));
		goto end;
	}
	if (t.has_nbf && t.nbf > now + LICENSE_SKEW) {
		st = LIC_NOT_YET_VALID;
		fmt_time_utc(t.nbf, when);
		set_reason(reason, reasonlen, "not valid before %s", when);
		goto end;
	}
	if (t.has_iat && t.iat > now + LICENSE_SKEW) {
		st = LIC_NOT_YET_VALID;
		fmt_time_utc(t.iat, when);
		set_reason(reason, reasonlen, "issued in the future (%s); is the clock right?", when);
		goto end;
	}
	if (!t.has_exp) {
		st = LIC_VALID;
		set_reason(reason, reasonlen, "valid, does not expire");
		goto end;
	}
	fmt_time_utc(t.exp, when);
	if (now < t.exp) {
		st = LIC_VALID;
		set_reason(reason, reasonlen, "valid until %s", when);
		goto end;
	}
	/* At exp or later (RFC 7519: exp itself is already too late). */
	if (t.grace_days > 0 && now - t.exp < t.grace_days * 86400) {
		int64_t left = t.exp + t.grace_days * 86400 - now;
		int d = (int)((left + 86399) / 86400);
		st = LIC_GRACE;
		if (days_left != NULL)
			*days_left = d;
		fmt_time_utc(t.exp + t.grace_days * 86400, until);
		set_reason(reason, reasonlen, "expired %s; grace period until %s (%d day%s left)", when,
		    until, d, d == 1 ? "" : "s");
		goto end;
	}
	st = LIC_EXPIRED;
	if (t.grace_days > 0) {
		fmt_time_utc(t.exp + t.grace_days * 86400, until);
		set_reason(reason, reasonlen, "expired %s; grace period ended %s", when, until);
	} else {
		set_reason(reason, reasonlen, "expired %s", when);
	}
end:
	token_free(&t);
	return st;
}

enum license_state license_check(const char *token, size_t len, const char *pubkey_path,
    const char *audience, int64_t now, struct man_license *out, int *days_left,
    char *reason, size_t reasonlen)
{
	struct ferr e = {0, ""};
	EVP_PKEY *key = NULL;
	enum license_state st;

	if (license_load_pubkey(pubkey_path, &key, &e) != FX_OK) {
		if (out != NULL) {
			memset(out, 0, sizeof(*out));
			out->seats = INT64_MIN;
		}
		if (days_left != NULL)
			*days_left = 0;
		set_reason(reason, reasonlen, "%s", e.msg);
		return LIC_BAD_SIGNATURE;
	}
	st = license_check_key(token, len, key, audience, now, out, days_left, NULL, reason, reasonlen);
	EVP_PKEY_free(key);
	return st;
}

int license_peek(const char *token, size_t len, struct man_license *out, struct ferr *e)
{
	struct lic_token t;
	char reason[256];

	if (out != NULL) {
		memset(out, 0, sizeof(*out));
		out->seats = INT64_MIN;
	}
	if (token_parse(token, len, &t, reason, sizeof(reason)) != 0)
		return fe_set(e, FX_VERIFY, "malformed license: %s", reason);
	fill_summary(&t, out);
	token_free(&t);
	return FX_OK;
}

/* --- issuing --- */

/* A string claim given by the issuer: non-empty UTF-8 text. */
static int claim_text(json_t *claims, const char *name, const char *value, struct ferr *e)
{
	json_t *s;

	if (value == NULL)
		return FX_OK;
	s = json_string(value); /* NULL for invalid UTF-8 */
	if (s == NULL || value[0] == '\0') {
		json_decref(s);
		return fe_set(e, FX_USAGE, "license claim \"%s\": empty or not UTF-8 text: %s", name, ESC(value));
	}
	json_object_set_new(claims, name, s);
	return FX_OK;
}

/* The optional claims after the standard ones: seats, features, grace days and the
 * issuer's entitlements object. */
static int claims_add_terms(json_t *claims, const struct license_claims *c, struct ferr *e)
{
	json_t *features = NULL, *entitlements = NULL;
	json_error_t jerr;
	size_t i;
	int rc = FX_OK;

	if (c->has_seats)
		json_object_set_new(claims, "seats", json_integer(c->seats));
	if (c->nfeatures > 0)
		features = json_array();
	for (i = 0; i < c->nfeatures && rc == FX_OK; i++) {
		json_t *f = json_string(c->features[i]);

		if (f == NULL || c->features[i][0] == '\0')
			rc = fe_set(e, FX_USAGE, "license claim \"features\": empty or not UTF-8 text: %s",
			    ESC(c->features[i]));
		else
			json_array_append_new(features, f);
		if (rc != FX_OK)
			json_decref(f);
	}
	if (rc != FX_OK)
		goto end;
	if (features != NULL)
		json_object_set(claims, "features", features);
	if (c->has_grace_days)
		json_object_set_new(claims, "grace_days", json_integer(c->grace_days));
	if (c->entitlements == NULL)
		goto end;
	entitlements = json_loadb(c->entitlements, c->entitlements_len, JSON_REJECT_DUPLICATES, &jerr);
	if (entitlements == NULL)
		rc = fe_set(e, FX_USAGE, "%s: line %d: %s", ESC(c->entitlements_name), jerr.line, ESC(jerr.text));
	else if (!json_is_object(entitlements))
		rc = fe_set(e, FX_USAGE, "%s: entitlements must be a JSON object", ESC(c->entitlements_name));
	else
		json_object_set(claims, "entitlements", entitlements);
end:
	json_decref(features);
	json_decref(entitlements);
	return rc;
}

/* The claims of a new license as compact JSON, in the order license.md shows them. */
static int claims_write(const struct license_claims *c, const char *jti, char **out, struct ferr *e)
{
	json_t *claims = json_object();
	int rc;

	*out = NULL;
	if ((rc = claim_text(claims, "iss", c->issuer, e)) != FX_OK ||
	    (rc = claim_text(claims, "sub", c->subject, e)) != FX_OK ||
	    (rc = claim_text(claims, "aud", c->audience, e)) != FX_OK)
		goto end;
	json_object_set_new(claims, "iat", json_integer(c->issued_at));
	json_object_set_new(claims, "nbf", json_integer(c->not_before));
	json_object_set_new(claims, "exp", json_integer(c->expires));
	json_object_set_new(claims, "jti", json_string(jti));
	if ((rc = claim_text(claims, "customer", c->customer, e)) != FX_OK ||
	    (rc = claim_text(claims, "edition", c->edition, e)) != FX_OK ||
	    (rc = claims_add_terms(claims, c, e)) != FX_OK)
		goto end;
	*out = json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (*out == NULL)
		rc = fe_set(e, FX_IO, "license issue: out of memory");
end:
	json_decref(claims);
	return rc;
}

int license_issue(EVP_PKEY *key, const struct license_claims *c, char **token, size_t *tokenlen,
    char jti[33], enum license_state *state, char *reason, size_t reasonlen, struct ferr *e)
{
	unsigned char random_id[16];
	char *payload = NULL;
	int rc;

	*token = NULL;
	*state = LIC_MALFORMED;
	if (RAND_bytes(random_id, sizeof(random_id)) != 1) {
		rc = fe_set(e, FX_IO, "license issue: no random bytes for the license id");
		goto end;
	}
	hex_encode(random_id, sizeof(random_id), jti);
	if ((rc = claims_write(c, jti, &payload, e)) != FX_OK ||
	    (rc = license_sign(key, payload, strlen(payload), token, tokenlen, e)) != FX_OK)
		goto end;
	if (*tokenlen > LICENSE_MAX_TOKEN) {
		rc = fe_set(e, FX_USAGE, "license issue: the license would be %zu bytes, more than the %d a verifier accepts",
		    *tokenlen, LICENSE_MAX_TOKEN);
		goto end;
	}
	/* What was made is checked with the key's own public half, at the first moment it is
	 * meant to be valid, before anyone writes it. */
	*state = license_check_key(*token, *tokenlen, key, c->audience,
	    c->not_before > c->issued_at ? c->not_before : c->issued_at, NULL, NULL, NULL, reason, reasonlen);
	if (*state == LIC_MALFORMED || *state == LIC_BAD_SIGNATURE || *state == LIC_WRONG_AUDIENCE ||
	    *state == LIC_NOT_YET_VALID)
		rc = fe_set(e, FX_IO, "license issue: the new license does not verify: %s", reason);
end:
	if (rc != FX_OK) {
		free(*token);
		*token = NULL;
	}
	free(payload);
	return rc;
}

/* A PEM from a memory BIO, copied into memory of ours. */
static char *pem_copy(BIO *bio, size_t *len)
{
	char *data = NULL, *copy;
	long n = BIO_get_mem_data(bio, &data);

	if (n <= 0)
		return NULL;
	copy = xmalloc((size_t)n + 1);
	memcpy(copy, data, (size_t)n);
	copy[n] = '\0';
	*len = (size_t)n;
	return copy;
}

int license_keygen(int rsa, char **private_pem, size_t *private_len, char **public_pem, size_t *public_len,
    struct ferr *e)
{
	EVP_PKEY *key = rsa ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072) :
	    EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	BIO *private_bio = BIO_new(BIO_s_mem()), *public_bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n;
	int rc = FX_OK;

	*private_pem = *public_pem = NULL;
	if (key == NULL || private_bio == NULL || public_bio == NULL ||
	    PEM_write_bio_PrivateKey(private_bio, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_PUBKEY(public_bio, key) != 1 ||
	    (*private_pem = pem_copy(private_bio, private_len)) == NULL ||
	    (*public_pem = pem_copy(public_bio, public_len)) == NULL) {
		rc = fe_set(e, FX_IO, "license keygen: OpenSSL could not make an %s key", rsa ? "RSA-3072" : "Ed25519");
		if (*private_pem != NULL)
			OPENSSL_cleanse(*private_pem, *private_len);
		free(*private_pem);
		*private_pem = NULL;
	}
	/* the BIO's own copy of the private key is wiped before it is freed */
	n = private_bio != NULL ? BIO_get_mem_data(private_bio, &data) : 0;
	if (n > 0)
		OPENSSL_cleanse(data, (size_t)n);
	BIO_free(private_bio);
	BIO_free(public_bio);
	EVP_PKEY_free(key);
	return rc;
}
