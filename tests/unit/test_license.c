/* test_license.c - license_check against tokens built here with OpenSSL directly:
 * round trips, forgeries, malformed encodings and the clock rules. Exit 0 = all passed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "crypto/license.h"

#include "check.h"

static char dir[] = "/tmp/ferry-test-license.XXXXXX";

#define NOW 1800000000LL /* 2027-01-15 */

/* Base64url without padding, written independently of license.c. */
static char *b64u(const unsigned char *in, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	size_t i, o = 0;
	int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);

	for (i = 0; i < (size_t)len; i++) {
		if (out[i] == '=')
			break;
		out[o++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	}
	out[o] = '\0';
	return out;
}

static char *b64u_str(const char *s)
{
	return b64u((const unsigned char *)s, strlen(s));
}

static EVP_PKEY *ed1, *ed2, *rsa1;
static char ed1_pub[256], ed2_pub[256], rsa1_pub[256], ed1_pem_path[256];
static char kid_ed1[17], kid_ed2[17], kid_rsa1[17];

/* The two kinds of license key: every case that holds for both runs over this table. */
struct key_kind {
	const char *name, *alg; /* "Ed25519", "EdDSA" */
	EVP_PKEY **key;
	const char *pub, *kid;  /* its public key file and key id */
	const char *other_alg;  /* the algorithm of the other kind */
};
static const struct key_kind kinds[] = {
    {"Ed25519", "EdDSA", &ed1, ed1_pub, kid_ed1, "RS256"},
    {"RSA", "RS256", &rsa1, rsa1_pub, kid_rsa1, "EdDSA"},
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static void write_pub(EVP_PKEY *k, char *path, size_t size, const char *name)
{
	FILE *f;

	snprintf(path, size, "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f == NULL || PEM_write_PUBKEY(f, k) != 1) {
		printf("cannot write %s\n", path);
		exit(1);
	}
	fclose(f);
}

static void kid_of(EVP_PKEY *k, char out[17])
{
	unsigned char *der = NULL, md[32];
	unsigned int mdlen = 0;
	int n = i2d_PUBKEY(k, &der), i;

	EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL);
	OPENSSL_free(der);
	for (i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* header.payload signed by signer (Ed25519 or RS256, chosen by the key type). */
static char *mk(EVP_PKEY *signer, const char *header, const char *payload)
{
	char *h = b64u_str(header), *p = b64u_str(payload), *si, *s, *tok;
	size_t silen, siglen = 0;
	unsigned char *sig;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rsa = EVP_PKEY_get_base_id(signer) == EVP_PKEY_RSA;

	silen = strlen(h) + 1 + strlen(p);
	si = malloc(silen + 1);
	snprintf(si, silen + 1, "%s.%s", h, p);
	EVP_DigestSignInit(ctx, NULL, rsa ? EVP_sha256() : NULL, NULL, signer);
	EVP_DigestSign(ctx, NULL, &siglen, (unsigned char *)si, silen);
	sig = malloc(siglen);
	if (EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)si, silen) != 1) {
		printf("signing failed\n");
		exit(1);
	}
	s = b64u(sig, siglen);
	tok = malloc(silen + strlen(s) + 2);
	snprintf(tok, silen + strlen(s) + 2, "%s.%s", si, s);
	EVP_MD_CTX_free(ctx);
	free(h);
	free(p);
	free(si);
	free(s);
	free(sig);
	return tok;
}

static char *hdr(const char *alg, const char *kid)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", alg, kid);
	return buf;
}

static const char *claims_std =
    "{\"iss\":\"license.acme.example\",\"sub\":\"acme-corp\",\"aud\":\"acme-platform\","
    "\"iat\":1790000000,\"nbf\":1790000000,\"exp\":1830000000,\"jti\":\"0123456789abcdef0123456789abcdef\","
    "\"customer\":\"Acme Corp\",\"edition\":\"enterprise\",\"seats\":25,"
    "\"features\":[\"sso\",\"audit\"],\"grace_days\":0,\"entitlements\":{\"nodes\":10}}";

static enum license_state st_len(const char *tok, size_t len, const char *pub, const char *aud,
    long long now, int *days)
{
	char reason[256];
	struct man_license out;
	enum license_state s;

	s = license_check(tok, len, pub, aud, now, &out, days, reason, sizeof(reason));
	license_summary_free(&out);
	return s;
}

static enum license_state st(const char *tok, const char *pub, const char *aud, long long now)
{
	return st_len(tok, strlen(tok), pub, aud, now, NULL);
}

static void expect(const char *what, const char *tok, const char *pub, const char *aud,
    long long now, enum license_state want)
{
	char reason[256];
	struct man_license out;
	enum license_state got = license_check(tok, strlen(tok), pub, aud, now, &out, NULL, reason,
	    sizeof(reason));

	license_summary_free(&out);
	CHECK_MSG(got == want, "%s: got %s (%s), wanted %s", what, license_state_name(got), reason,
	    license_state_name(want));
}

/* Replaces one part (0 header, 1 payload, 2 signature) of a token. */
static char *with_part(const char *tok, int part, const char *b64)
{
	const char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
	size_t n = strlen(tok) + strlen(b64) + 3;
	char *out = malloc(n);

	if (part == 0)
		snprintf(out, n, "%s%s", b64, d1);
	else if (part == 1)
		snprintf(out, n, "%.*s.%s%s", (int)(d1 - tok), tok, b64, d2);
	else
		snprintf(out, n, "%.*s.%s", (int)(d2 - tok), tok, b64);
	return out;
}

static void test_round_trip(void)
{
	char *tok, *tok2 = NULL, reason[256], what[128];
	struct man_license out;
	struct ferr e = {0, ""};
	size_t n = 0, k;
	int days = -1;

	tok = mk(ed1, hdr("EdDSA", kid_ed1), claims_std);
	CHECK(license_check(tok, strlen(tok), ed1_pub, "acme-platform", NOW, &out, &days, reason,
	    sizeof(reason)) == LIC_VALID);
	CHECK(out.subject != NULL && strcmp(out.subject, "acme-corp") == 0);
	CHECK(out.edition != NULL && strcmp(out.edition, "enterprise") == 0);
	CHECK(out.customer != NULL && strcmp(out.customer, "Acme Corp") == 0);
	CHECK(out.audience != NULL && strcmp(out.audience, "acme-platform") == 0);
	CHECK(out.expires != NULL && strcmp(out.expires, "2027-12-28T13:20:00Z") == 0);
	CHECK(out.has_seats && out.seats == 25);
	license_summary_free(&out);
	expect("Ed25519 without audience check", tok, ed1_pub, NULL, NOW, LIC_VALID);

	/* license_peek reads the same summary without a key. */
	CHECK(license_peek(tok, strlen(tok), &out, &e) == 0 && out.subject != NULL &&
	    strcmp(out.subject, "acme-corp") == 0);
	license_summary_free(&out);
	CHECK(license_peek("a.b", 3, &out, &e) != 0);
	license_summary_free(&out);
	free(tok);

	for (k = 0; k < NKINDS; k++) {
		const struct key_kind *kk = &kinds[k], *other = &kinds[(k + 1) % NKINDS];
		char *h;

		/* made here with OpenSSL directly: valid with its key, refused by the other */
		tok = mk(*kk->key, hdr(kk->alg, kk->kid), claims_std);
		snprintf(what, sizeof(what), "%s round trip", kk->name);
		expect(what, tok, kk->pub, "acme-platform", NOW, LIC_VALID);
		snprintf(what, sizeof(what), "%s token checked with the %s key", kk->alg, other->name);
		expect(what, tok, other->pub, NULL, NOW, LIC_BAD_SIGNATURE);
		free(tok);
		/* license_sign (issue) produces what license_check accepts, and the header
		 * we expect */
		CHECK_MSG(license_sign(*kk->key, claims_std, strlen(claims_std), &tok2, &n, &e) == 0,
		    "license_sign %s", kk->name);
		if (tok2 == NULL)
			continue;
		snprintf(what, sizeof(what), "license_sign %s token verifies", kk->name);
		expect(what, tok2, kk->pub, NULL, NOW, LIC_VALID);
		h = b64u_str(hdr(kk->alg, kk->kid));
		CHECK_MSG(strncmp(tok2, h, strlen(h)) == 0 && tok2[strlen(h)] == '.',
		    "license_sign %s header is {alg:%s,typ:JWT,kid}", kk->name, kk->alg);
		free(h);
		free(tok2);
		tok2 = NULL;
	}

	/* No kid in the header is acceptable (other issuers); the signature decides. */
	tok = mk(ed1, "{\"alg\":\"EdDSA\"}", claims_std);
	expect("no kid, no typ", tok, ed1_pub, NULL, NOW, LIC_VALID);
	free(tok);
	tok = mk(ed1, hdr("EdDSA", kid_ed1), "{\"sub\":\"x\",\"aud\":[\"other\",\"acme-platform\"]}");
	expect("aud array containing the audience, no exp", tok, ed1_pub, "acme-platform", NOW, LIC_VALID);
	free(tok);
}

/* Reads a whole small file (a public key PEM) into buf. */
static size_t read_pem(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n = f != NULL ? fread(buf, 1, size, f) : 0;

	if (f != NULL)
		fclose(f);
	return n;
}

/* HS256 keyed with the public key PEM: the classic RS/HS confusion, for each kind. */
static void test_hmac_with_public_key(const char *payload_b64)
{
	unsigned char mac[32];
	unsigned int maclen = 0;
	char pem[4096], what[128], *h, *s, *bad;
	size_t k, pemlen, blen, n;

	for (k = 0; k < NKINDS; k++) {
		const struct key_kind *kk = &kinds[k];

		pemlen = read_pem(kk->pub, pem, sizeof(pem));
		CHECK_MSG(pemlen > 0, "read the %s public key PEM", kk->name);
		h = b64u_str(hdr("HS256", kk->kid));
		blen = strlen(h) + strlen(payload_b64) + 64;
		bad = malloc(blen);
		snprintf(bad, blen, "%s.%s", h, payload_b64);
		HMAC(EVP_sha256(), pem, (int)pemlen, (unsigned char *)bad, strlen(bad), mac, &maclen);
		s = b64u(mac, maclen);
		n = strlen(bad);
		snprintf(bad + n, blen - n, ".%s", s);
		snprintf(what, sizeof(what), "HS256 with the %s public key PEM as secret", kk->name);
		expect(what, bad, kk->pub, NULL, NOW, LIC_BAD_SIGNATURE);
		free(bad);
		free(h);
		free(s);
	}
}

/* Algorithm/key mismatches, even with a genuine signature of the named kind. */
static void test_algorithm_mismatches(void)
{
	static const struct {
		int signer;       /* index into kinds */
		const char *alg;  /* header alg; NULL: the other kind's */
		int verifier;     /* index into kinds */
	} cases[] = {
	    {1, NULL, 0},    /* RS256 header and RSA signature on an Ed25519 key */
	    {0, NULL, 0},    /* RS256 header, Ed25519 signature, Ed25519 key */
	    {0, NULL, 1},    /* EdDSA header and Ed25519 signature on an RSA key */
	    {1, NULL, 1},    /* EdDSA header, RSA signature, RSA key */
	    {1, "PS256", 1}, /* PS256 header on an RSA key */
	    {0, "none", 0},  /* "none" with a real signature */
	    {0, "HS256", 0}, /* an HMAC name with an Ed25519 signature */
	};
	char what[160], *bad;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct key_kind *signer = &kinds[cases[i].signer], *verifier = &kinds[cases[i].verifier];
		const char *alg = cases[i].alg != NULL ? cases[i].alg : verifier->other_alg;

		bad = mk(*signer->key, hdr(alg, verifier->kid), claims_std);
		snprintf(what, sizeof(what), "%s header, %s signature, %s key", alg, signer->name, verifier->name);
		expect(what, bad, verifier->pub, NULL, NOW, LIC_BAD_SIGNATURE);
		free(bad);
	}
}

static void test_forgeries(void)
{
	char *tok, *bad, *p, *h, *s;
	size_t blen;

	tok = mk(ed1, hdr("EdDSA", kid_ed1), claims_std);

	/* A claim changed after signing. */
	p = b64u_str("{\"iss\":\"license.acme.example\",\"sub\":\"acme-corp\",\"aud\":\"acme-platform\","
	    "\"iat\":1790000000,\"nbf\":1790000000,\"exp\":1930000000,\"jti\":\"0123456789abcdef0123456789abcdef\","
	    "\"customer\":\"Acme Corp\",\"edition\":\"enterprise\",\"seats\":-1}");
	bad = with_part(tok, 1, p);
	expect("changed claim (exp, seats)", bad, ed1_pub, NULL, NOW, LIC_BAD_SIGNATURE);
	free(bad);
	free(p);

	/* Signed by another key that claims to be the first. */
	bad = mk(ed2, hdr("EdDSA", kid_ed1), claims_std);
	expect("signature from another key (kid of the right key)", bad, ed1_pub, NULL, NOW, LIC_BAD_SIGNATURE);
	free(bad);
	bad = mk(ed2, hdr("EdDSA", kid_ed2), claims_std);
	expect("signature from another key (its own kid)", bad, ed1_pub, NULL, NOW, LIC_BAD_SIGNATURE);
	free(bad);

	/* Signature bytes of a valid token, flipped. */
	bad = strdup(tok);
	s = strrchr(bad, '.') + 5;
	*s = *s == 'A' ? 'B' : 'A';
	expect("one signature character changed", bad, ed1_pub, NULL, NOW, LIC_BAD_SIGNATURE);
	free(bad);

	/* alg none, with an empty signature and with some signature bytes. */
	h = b64u_str("{\"alg\":\"none\",\"typ\":\"JWT\"}");
	p = b64u_str(claims_std);
	blen = strlen(h) + strlen(p) + 64;
	bad = malloc(blen);
	snprintf(bad, blen, "%s.%s.", h, p);
	CHECK(st(bad, ed1_pub, NULL, NOW) != LIC_VALID && st(bad, ed1_pub, NULL, NOW) != LIC_GRACE);
	expect("alg none, empty signature", bad, ed1_pub, NULL, NOW, LIC_MALFORMED);
	snprintf(bad, blen, "%s.%s.AAAA", h, p);
	expect("alg none with a signature", bad, ed1_pub, NULL, NOW, LIC_BAD_SIGNATURE);
	free(h);
	h = b64u_str("{\"alg\":\"None\",\"kid\":\"x\"}");
	snprintf(bad, blen, "%s.%s.AAAA", h, p);
	expect("alg None", bad, ed1_pub, NULL, NOW, LIC_BAD_SIGNATURE);
	free(bad);
	free(h);

	test_hmac_with_public_key(p);
	free(p);

	/* Correctly signed, but naming another key. */
	bad = mk(ed1, hdr("EdDSA", "0000000000000000"), claims_std);
	expect("wrong kid", bad, ed1_pub, NULL, NOW, LIC_BAD_SIGNATURE);
	free(bad);
	bad = mk(ed1, hdr("EdDSA", kid_ed2), claims_std);
	expect("kid of another real key", bad, ed1_pub, NULL, NOW, LIC_BAD_SIGNATURE);
	free(bad);

	/* A private key file where the public key belongs is not a key to verify with. */
	expect("private key PEM as pubkey", tok, ed1_pem_path, NULL, NOW, LIC_BAD_SIGNATURE);
	expect("missing pubkey file", tok, "/nonexistent/license.pub", NULL, NOW, LIC_BAD_SIGNATURE);
	free(tok);
}

static void test_malformed(void)
{
	char *tok, *bad;
	size_t n, blen;
	const char *d;

	tok = mk(ed1, hdr("EdDSA", kid_ed1), claims_std);

	/* Segments. */
	d = strrchr(tok, '.');
	bad = strndup(tok, (size_t)(d - tok));
	expect("two segments", bad, ed1_pub, NULL, NOW, LIC_MALFORMED);
	free(bad);
	blen = strlen(tok) + 8;
	bad = malloc(blen);
	snprintf(bad, blen, "%s.AAAA", tok);
	expect("four segments", bad, ed1_pub, NULL, NOW, LIC_MALFORMED);
	snprintf(bad, blen, "%s.", tok);
	expect("trailing dot", bad, ed1_pub, NULL, NOW, LIC_MALFORMED);
	expect("empty", "", ed1_pub, NULL, NOW, LIC_MALFORMED);
	expect("dots only", "..", ed1_pub, NULL, NOW, LIC_MALFORMED);

	/* Trailing bytes: one newline (or CRLF) is fine, anything else is not. */
	snprintf(bad, blen, "%s\n", tok);
	expect("trailing newline", bad, ed1_pub, NULL, NOW, LIC_VALID);
	snprintf(bad, blen, "%s\r\n", tok);
	expect("trailing CRLF", bad, ed1_pub, NULL, NOW, LIC_VALID);
	snprintf(bad, blen, "%s\n\n", tok);
	expect("two trailing newlines", bad, ed1_pub, NULL, NOW, LIC_MALFORMED);
	snprintf(bad, blen, "%s ", tok);
	expect("trailing space", bad, ed1_pub, NULL, NOW, LIC_MALFORMED);
	snprintf(bad, blen, "%s\nxyz", tok);
	expect("garbage after the newline", bad, ed1_pub, NULL, NOW, LIC_MALFORMED);
	snprintf(bad, blen, " %s", tok);
	expect("leading space", bad, ed1_pub, NULL, NOW, LIC_MALFORMED);
	snprintf(bad, blen, "%sA", tok);
	CHECK_MSG(st(bad, ed1_pub, NULL, NOW) == LIC_MALFORMED || st(bad, ed1_pub, NULL, NOW) == LIC_BAD_SIGNATURE,
	    "extra base64url character after the signature is refused");
	n = strlen(tok);
	memcpy(bad, tok, n + 1);
	bad[n + 1] = 'x';
	CHECK_MSG(st_len(bad, n + 2, ed1_pub, NULL, NOW, NULL) == LIC_MALFORMED, "NUL byte then garbage");
	free(bad);
	free(tok);
}

static void test_base64url(void)
{
	char *tok = mk(ed1, hdr("EdDSA", kid_ed1), claims_std), *t;

	/* Base64url strictness. */
	t = with_part(tok, 1, "eyJzdWIiOiJ4In0="); /* padding */
	expect("padding in payload", t, ed1_pub, NULL, NOW, LIC_MALFORMED);
	free(t);
	t = with_part(tok, 1, "eyJzdWIiOi+4In0"); /* '+' is not base64url */
	expect("'+' in payload", t, ed1_pub, NULL, NOW, LIC_MALFORMED);
	free(t);
	t = with_part(tok, 1, "eyJzdWIiOiJ4In0AA"); /* 4n+1 characters cannot be decoded */
	expect("base64url length 4n+1", t, ed1_pub, NULL, NOW, LIC_MALFORMED);
	free(t);
	t = with_part(tok, 1, "eyJzdWIiOiJ4In1"); /* '1' leaves non-zero unused bits */
	expect("non-canonical last character", t, ed1_pub, NULL, NOW, LIC_MALFORMED);
	free(t);
	t = with_part(tok, 2, "!!!!");
	expect("signature not base64url", t, ed1_pub, NULL, NOW, LIC_MALFORMED);
	free(t);
	free(tok);
}

/* JSON shape, properly signed so only the parser can refuse it. */
static void test_json_shape(void)
{
	char *t;

	{
		static const struct {
			const char *what, *header, *payload;
		} cases[] = {
		    {"payload not JSON", NULL, "not json at all"},
		    {"payload a JSON array", NULL, "[1,2,3]"},
		    {"payload a JSON string", NULL, "\"x\""},
		    {"payload with trailing data", NULL, "{\"sub\":\"x\"} {}"},
		    {"payload truncated", NULL, "{\"sub\":\"x\""},
		    {"duplicate exp", NULL, "{\"exp\":1,\"exp\":1900000000}"},
		    {"exp as a string", NULL, "{\"sub\":\"x\",\"exp\":\"1900000000\"}"},
		    {"exp as a real", NULL, "{\"sub\":\"x\",\"exp\":1900000000.5}"},
		    {"exp 1e300", NULL, "{\"sub\":\"x\",\"exp\":1e300}"},
		    {"exp 2^64", NULL, "{\"sub\":\"x\",\"exp\":18446744073709551616}"},
		    {"exp 2^63-1", NULL, "{\"sub\":\"x\",\"exp\":9223372036854775807}"},
		    {"exp negative", NULL, "{\"sub\":\"x\",\"exp\":-1}"},
		    {"nbf 1e300", NULL, "{\"sub\":\"x\",\"nbf\":1e300}"},
		    {"iat null", NULL, "{\"sub\":\"x\",\"iat\":null}"},
		    {"exp true", NULL, "{\"sub\":\"x\",\"exp\":true}"},
		    {"seats a string", NULL, "{\"sub\":\"x\",\"seats\":\"25\"}"},
		    {"seats -2", NULL, "{\"sub\":\"x\",\"seats\":-2}"},
		    {"seats 2^64", NULL, "{\"sub\":\"x\",\"seats\":18446744073709551616}"},
		    {"seats a real", NULL, "{\"sub\":\"x\",\"seats\":2.0}"},
		    {"grace_days negative", NULL, "{\"sub\":\"x\",\"grace_days\":-1}"},
		    {"grace_days huge", NULL, "{\"sub\":\"x\",\"grace_days\":100000000000}"},
		    {"features a string", NULL, "{\"sub\":\"x\",\"features\":\"sso\"}"},
		    {"features with a number", NULL, "{\"sub\":\"x\",\"features\":[\"sso\",1]}"},
		    {"sub a number", NULL, "{\"sub\":42}"},
		    {"aud an object", NULL, "{\"sub\":\"x\",\"aud\":{}}"},
		    {"aud an empty array", NULL, "{\"sub\":\"x\",\"aud\":[]}"},
		    {"entitlements an array", NULL, "{\"sub\":\"x\",\"entitlements\":[]}"},
		    {"NUL in a string", NULL, "{\"sub\":\"a\\u0000b\"}"},
		    {"header without alg", "{\"typ\":\"JWT\"}", "{\"sub\":\"x\"}"},
		    {"header alg a number", "{\"alg\":1}", "{\"sub\":\"x\"}"},
		    {"header typ other", "{\"alg\":\"EdDSA\",\"typ\":\"JOSE+JSON\"}", "{\"sub\":\"x\"}"},
		    {"header with crit", "{\"alg\":\"EdDSA\",\"crit\":[\"b64\"],\"b64\":false}", "{\"sub\":\"x\"}"},
		    {"header not JSON", "EdDSA", "{\"sub\":\"x\"}"},
		    {"header kid a number", "{\"alg\":\"EdDSA\",\"kid\":7}", "{\"sub\":\"x\"}"},
		};
		size_t i;

		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			t = mk(ed1, cases[i].header != NULL ? cases[i].header : hdr("EdDSA", kid_ed1), cases[i].payload);
			expect(cases[i].what, t, ed1_pub, NULL, NOW, LIC_MALFORMED);
			free(t);
		}
	}
}

static void test_size_cap(void)
{
	char *big, *t;
	size_t n;

	/* Size cap: a 10 MB token is refused before any decoding. */
	n = 10 * 1024 * 1024;
	big = malloc(n + 1);
	memset(big, 'A', n);
	big[1000] = '.';
	big[2000] = '.';
	big[n] = '\0';
	expect("10 MB token", big, ed1_pub, NULL, NOW, LIC_MALFORMED);
	/* Just over the cap, in an otherwise valid shape. */
	CHECK_MSG(st_len(big, LICENSE_MAX_TOKEN + 1, ed1_pub, NULL, NOW, NULL) == LIC_MALFORMED,
	    "token one byte over the cap");
	free(big);

	/* Correctly signed tokens just under and over the cap (padding in entitlements). */
	{
		size_t pad;
		char *pl;

		for (pad = 40000; pad <= 56000; pad += 16000) {
			pl = malloc(pad + 128);
			n = (size_t)snprintf(pl, pad + 128, "{\"sub\":\"x\",\"entitlements\":{\"pad\":\"");
			memset(pl + n, 'p', pad);
			snprintf(pl + n + pad, 128, "\"}}");
			t = mk(ed1, hdr("EdDSA", kid_ed1), pl);
			if (pad == 40000) {
				CHECK_MSG(strlen(t) < LICENSE_MAX_TOKEN, "padded token under the cap");
				expect("signed token under the cap", t, ed1_pub, NULL, NOW, LIC_VALID);
			} else {
				CHECK_MSG(strlen(t) > LICENSE_MAX_TOKEN, "padded token over the cap");
				expect("signed token over the cap", t, ed1_pub, NULL, NOW, LIC_MALFORMED);
			}
			free(t);
			free(pl);
		}
	}
}

static void test_time(void)
{
	char *tok, pl[512];
	int days = -1;

	/* exp 1830000000, 30 days of grace. */
	snprintf(pl, sizeof(pl), "{\"sub\":\"x\",\"iat\":1790000000,\"nbf\":1800000000,"
	    "\"exp\":1830000000,\"grace_days\":30}");
	tok = mk(ed1, hdr("EdDSA", kid_ed1), pl);
	expect("one second before exp", tok, ed1_pub, NULL, 1830000000LL - 1, LIC_VALID);
	CHECK_MSG(st_len(tok, strlen(tok), ed1_pub, NULL, 1830000000LL, &days) == LIC_GRACE && days == 30,
	    "exactly at exp with 30 grace days: grace, 30 days left");
	CHECK_MSG(st_len(tok, strlen(tok), ed1_pub, NULL, 1830000000LL + 86400 + 1, &days) == LIC_GRACE &&
	    days == 29, "one day into grace: 29 days left");
	CHECK_MSG(st_len(tok, strlen(tok), ed1_pub, NULL, 1830000000LL + 30 * 86400 - 1, &days) == LIC_GRACE &&
	    days == 1, "last second of grace: 1 day left");
	expect("grace over", tok, ed1_pub, NULL, 1830000000LL + 30 * 86400, LIC_EXPIRED);
	expect("long after grace", tok, ed1_pub, NULL, 1900000000LL, LIC_EXPIRED);
	expect("before nbf by more than the skew", tok, ed1_pub, NULL, 1800000000LL - LICENSE_SKEW - 1,
	    LIC_NOT_YET_VALID);
	expect("before nbf within the skew", tok, ed1_pub, NULL, 1800000000LL - LICENSE_SKEW, LIC_VALID);
	expect("at nbf", tok, ed1_pub, NULL, 1800000000LL, LIC_VALID);
	free(tok);

	snprintf(pl, sizeof(pl), "{\"sub\":\"x\",\"nbf\":1800000000,\"exp\":1830000000}");
	tok = mk(ed1, hdr("EdDSA", kid_ed1), pl);
	expect("exactly at exp, no grace", tok, ed1_pub, NULL, 1830000000LL, LIC_EXPIRED);
	expect("one second before exp, no grace", tok, ed1_pub, NULL, 1830000000LL - 1, LIC_VALID);
	free(tok);

	/* iat in the future: beyond the skew is refused. */
	snprintf(pl, sizeof(pl), "{\"sub\":\"x\",\"iat\":1800000000,\"exp\":1830000000}");
	tok = mk(ed1, hdr("EdDSA", kid_ed1), pl);
	expect("iat in the future", tok, ed1_pub, NULL, 1800000000LL - 3600, LIC_NOT_YET_VALID);
	expect("iat within the skew", tok, ed1_pub, NULL, 1800000000LL - 30, LIC_VALID);
	free(tok);

	/* Audience. */
	tok = mk(ed1, hdr("EdDSA", kid_ed1), claims_std);
	expect("wrong audience", tok, ed1_pub, "other-product", NOW, LIC_WRONG_AUDIENCE);
	expect("audience prefix is not a match", tok, ed1_pub, "acme", NOW, LIC_WRONG_AUDIENCE);
	free(tok);
	tok = mk(ed1, hdr("EdDSA", kid_ed1), "{\"sub\":\"x\"}");
	expect("audience asked, token has none", tok, ed1_pub, "acme-platform", NOW, LIC_WRONG_AUDIENCE);
	free(tok);
	/* Forged and expired: the signature is what is reported. */
	tok = mk(ed2, hdr("EdDSA", kid_ed1), "{\"sub\":\"x\",\"exp\":1}");
	expect("forged and expired", tok, ed1_pub, NULL, NOW, LIC_BAD_SIGNATURE);
	free(tok);
}

static void test_names(void)
{
	static const struct {
		enum license_state state;
		const char *name;
	} names[] = {
	    {LIC_VALID, "valid"},
	    {LIC_GRACE, "grace"},
	    {LIC_EXPIRED, "expired"},
	    {LIC_NOT_YET_VALID, "not-yet-valid"},
	    {LIC_BAD_SIGNATURE, "bad-signature"},
	    {LIC_WRONG_AUDIENCE, "wrong-audience"},
	    {LIC_MALFORMED, "malformed"},
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		CHECK_MSG(strcmp(license_state_name(names[i].state), names[i].name) == 0, "state name %s", names[i].name);
}

int main(void)
{
	FILE *f;
	char cmd[512];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	ed1 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	ed2 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	rsa1 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (ed1 == NULL || ed2 == NULL || rsa1 == NULL) {
		printf("key generation failed\n");
		return 1;
	}
	write_pub(ed1, ed1_pub, sizeof(ed1_pub), "ed1.pub");
	write_pub(ed2, ed2_pub, sizeof(ed2_pub), "ed2.pub");
	write_pub(rsa1, rsa1_pub, sizeof(rsa1_pub), "rsa1.pub");
	snprintf(ed1_pem_path, sizeof(ed1_pem_path), "%s/ed1.key", dir);
	f = fopen(ed1_pem_path, "w");
	if (f == NULL || PEM_write_PrivateKey(f, ed1, NULL, NULL, 0, NULL, NULL) != 1)
		return 1;
	fclose(f);
	kid_of(ed1, kid_ed1);
	kid_of(ed2, kid_ed2);
	kid_of(rsa1, kid_rsa1);

	test_names();
	test_round_trip();
	test_forgeries();
	test_algorithm_mismatches();
	test_malformed();
	test_base64url();
	test_json_shape();
	test_size_cap();
	test_time();

	EVP_PKEY_free(ed1);
	EVP_PKEY_free(ed2);
	EVP_PKEY_free(rsa1);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("could not remove %s\n", dir);
	return check_report("test_license");
}
