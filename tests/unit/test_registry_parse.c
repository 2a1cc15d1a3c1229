/* Unit tests for what a registry sends back and what a load target is named by:
 * WWW-Authenticate challenges, token replies, upload Locations, Range, Retry-After,
 * registry:// targets and image references. Exit 0 when every check holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/http.h"
#include "net/registry.h"
#include "util/digest.h"

static int failures;

#include "check.h"

static void test_www_auth(void)
{
	struct www_auth a;

	CHECK(reg_parse_www_auth("Bearer realm=\"https://auth.example.com/token\",service=\"registry.example.com\","
	                         "scope=\"repository:acme/api:pull,push\"", &a) == 0);
	CHECK(strcmp(a.scheme, "bearer") == 0);
	CHECK(a.realm && strcmp(a.realm, "https://auth.example.com/token") == 0);
	CHECK(a.service && strcmp(a.service, "registry.example.com") == 0);
	CHECK(a.scope && strcmp(a.scope, "repository:acme/api:pull,push") == 0);
	reg_www_auth_free(&a);

	CHECK(reg_parse_www_auth("Basic realm=\"ferry-test-registry\"", &a) == 0);
	CHECK(strcmp(a.scheme, "basic") == 0 && a.realm && strcmp(a.realm, "ferry-test-registry") == 0);
	reg_www_auth_free(&a);

	/* case-insensitive scheme and keys, spaces, unquoted tokens, escapes */
	CHECK(reg_parse_www_auth("  BEARER  Realm = https://a.example/t , SERVICE=\"s\\\"x\"", &a) == 0);
	CHECK(strcmp(a.scheme, "bearer") == 0 && a.realm && strcmp(a.realm, "https://a.example/t") == 0);
	CHECK(a.service && strcmp(a.service, "s\"x") == 0 && a.scope == NULL);
	reg_www_auth_free(&a);

	/* the first challenge only */
	CHECK(reg_parse_www_auth("Basic realm=\"r\", Bearer realm=\"https://x\"", &a) == 0);
	CHECK(strcmp(a.scheme, "basic") == 0 && a.realm && strcmp(a.realm, "r") == 0);
	reg_www_auth_free(&a);

	/* hostile or broken */
	CHECK(reg_parse_www_auth("", &a) != 0);
	CHECK(reg_parse_www_auth("Bearer service=\"x\"", &a) != 0);          /* no realm */
	CHECK(reg_parse_www_auth("Bearer realm=\"https://x", &a) != 0);      /* unterminated */
	CHECK(reg_parse_www_auth("Bearer realm=\"a\x1b[2Jb\"", &a) != 0);    /* control bytes */
	CHECK(reg_parse_www_auth("Bearer realm=\"a\\", &a) != 0);
	CHECK(reg_parse_www_auth("=x", &a) != 0);
	CHECK(reg_parse_www_auth("AVeryLongSchemeNameIndeed realm=x", &a) != 0);
	{
		char big[9000];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		memcpy(big, "Bearer realm=", 13);
		CHECK(reg_parse_www_auth(big, &a) != 0);
	}
}

static void test_token(void)
{
	char *t = NULL;
	static const char j1[] = "{\"token\":\"abc.def\",\"expires_in\":300}";
	static const char j2[] = "{\"access_token\":\"xyz\"}";
	static const char j3[] = "{\"token\":\"\",\"access_token\":\"q\"}";

	CHECK(reg_parse_token(j1, strlen(j1), &t) == 0 && t && strcmp(t, "abc.def") == 0);
	free(t);
	CHECK(reg_parse_token(j2, strlen(j2), &t) == 0 && t && strcmp(t, "xyz") == 0);
	free(t);
	CHECK(reg_parse_token(j3, strlen(j3), &t) == 0 && t && strcmp(t, "q") == 0);
	free(t);
	CHECK(reg_parse_token("{}", 2, &t) != 0 && t == NULL);
	CHECK(reg_parse_token("[]", 2, &t) != 0);
	CHECK(reg_parse_token("{\"token\":5}", 11, &t) != 0);
	CHECK(reg_parse_token("{\"token\":\"a\\r\\nX-Evil: 1\"}", 26, &t) != 0); /* header injection */
	CHECK(reg_parse_token("{\"token\":\"a b\"}", 15, &t) != 0);
	CHECK(reg_parse_token("{\"token\":\"a\",\"token\":\"b\"}", 25, &t) != 0); /* duplicate keys */
	CHECK(reg_parse_token("{\"token\":\"a\"", 12, &t) != 0);
	CHECK(reg_parse_token("", 0, &t) != 0);
}

static void test_location(void)
{
	const char *b = "http://127.0.0.1:5000";
	char *u = NULL;

	CHECK(reg_resolve_location(b, "/v2/a/blobs/uploads/123?_state=x", &u) == 0);
	CHECK(u && strcmp(u, "http://127.0.0.1:5000/v2/a/blobs/uploads/123?_state=x") == 0);
	free(u);
	CHECK(reg_resolve_location(b, "http://127.0.0.1:5000/v2/a/blobs/uploads/1", &u) == 0);
	CHECK(u && strcmp(u, "http://127.0.0.1:5000/v2/a/blobs/uploads/1") == 0);
	free(u);
	CHECK(reg_resolve_location(b, "HTTP://127.0.0.1:5000/v2/x", &u) == 0);
	free(u);
	u = NULL;
	/* elsewhere: refused */
	CHECK(reg_resolve_location(b, "http://evil.example/v2/x", &u) != 0 && u == NULL);
	CHECK(reg_resolve_location(b, "https://127.0.0.1:5000/v2/x", &u) != 0);  /* other scheme */
	CHECK(reg_resolve_location(b, "http://127.0.0.1:5001/v2/x", &u) != 0);   /* other port */
	CHECK(reg_resolve_location(b, "http://127.0.0.1:50000/v2/x", &u) != 0);  /* prefix trick */
	CHECK(reg_resolve_location(b, "http://127.0.0.1:5000@evil/v2/x", &u) != 0);
	CHECK(reg_resolve_location(b, "//evil.example/v2/x", &u) != 0);
	CHECK(reg_resolve_location(b, "/\\evil.example/v2/x", &u) != 0);
	CHECK(reg_resolve_location(b, "file:///etc/passwd", &u) != 0);
	CHECK(reg_resolve_location(b, "v2/relative", &u) != 0);
	CHECK(reg_resolve_location(b, "/v2/a\r\nX: y", &u) != 0);
	CHECK(reg_resolve_location(b, "/v2/a b", &u) != 0);
	CHECK(reg_resolve_location(b, "", &u) != 0);
}

static void test_range_retry(void)
{
	uint64_t n = 0;

	CHECK(reg_parse_range("0-1023", &n) == 0 && n == 1024);
	CHECK(reg_parse_range("bytes=0-0", &n) == 0 && n == 1);
	CHECK(reg_parse_range("1-5", &n) != 0);
	CHECK(reg_parse_range("0-", &n) != 0);
	CHECK(reg_parse_range("0--5", &n) != 0);
	CHECK(reg_parse_range("0-18446744073709551615", &n) != 0);
	CHECK(reg_parse_range("0-99999999999999999999999", &n) != 0);
	CHECK(reg_parse_range(NULL, &n) != 0);

	CHECK(http_parse_retry_after("120", 0, &n) == 0 && n == 120);
	CHECK(http_parse_retry_after("0", 0, &n) == 0 && n == 0);
	CHECK(http_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111770, &n) == 0 && n == 7);
	CHECK(http_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111790, &n) == 0 && n == 0);
	CHECK(http_parse_retry_after("-5", 0, &n) != 0);
	CHECK(http_parse_retry_after("12abc", 0, &n) != 0);
	CHECK(http_parse_retry_after("99999999999999999999", 0, &n) != 0);
	CHECK(http_parse_retry_after("tomorrow", 0, &n) != 0);
	CHECK(http_parse_retry_after("", 0, &n) != 0);
}

static void test_targets_refs(void)
{
	struct reg_target t;
	struct reg_ref r;

	CHECK(reg_parse_target("registry://127.0.0.1:5000", &t) == 0);
	CHECK(strcmp(t.hostport, "127.0.0.1:5000") == 0 && t.port == 5000 && t.prefix[0] == '\0');
	CHECK(reg_parse_target("registry://Reg.Example.com/mirror/x/", &t) == 0);
	CHECK(strcmp(t.hostport, "reg.example.com") == 0 && strcmp(t.prefix, "mirror/x") == 0);
	CHECK(reg_parse_target("registry://[::1]:5000/p", &t) == 0 && strcmp(t.hostport, "[::1]:5000") == 0);
	CHECK(reg_parse_target("registry://", &t) != 0);
	CHECK(reg_parse_target("registry://host:0", &t) != 0);
	CHECK(reg_parse_target("registry://host:65536", &t) != 0);
	CHECK(reg_parse_target("registry://host:+80", &t) != 0);
	CHECK(reg_parse_target("registry://a b", &t) != 0);
	CHECK(reg_parse_target("registry://user@host", &t) != 0);
	CHECK(reg_parse_target("registry://host/UPPER", &t) != 0);
	CHECK(reg_parse_target("registry://host/a/../b", &t) != 0);
	CHECK(reg_parse_target("https://host", &t) != 0);

	CHECK(reg_parse_ref("registry.example.com/acme/api:1.2.0", &r) == 0);
	CHECK(strcmp(r.host, "registry.example.com") == 0 && strcmp(r.path, "acme/api") == 0 && strcmp(r.tag, "1.2.0") == 0);
	CHECK(reg_parse_ref("localhost:5000/a/b", &r) == 0 && strcmp(r.host, "localhost:5000") == 0 &&
	    strcmp(r.path, "a/b") == 0 && strcmp(r.tag, "latest") == 0);
	CHECK(reg_parse_ref("busybox", &r) == 0 && strcmp(r.host, "docker.io") == 0 && strcmp(r.path, "library/busybox") == 0);
	CHECK(reg_parse_ref("acme/api@sha256:0000000000000000000000000000000000000000000000000000000000000001", &r) == 0 &&
	    r.tag[0] == '\0' && strncmp(r.digest, "sha256:", 7) == 0 && strcmp(r.path, "acme/api") == 0);
	CHECK(reg_parse_ref("h.io/a/../b:1", &r) != 0);
	CHECK(reg_parse_ref("h.io/A:1", &r) != 0);
	CHECK(reg_parse_ref("h.io/a:-x", &r) != 0);
	CHECK(reg_parse_ref("h.io/a@sha256:xyz", &r) != 0);
	CHECK(reg_parse_ref("h.io/a?b:1", &r) != 0);
	CHECK(reg_parse_ref("h.io//a:1", &r) != 0);

	CHECK(reg_valid_repo("a/b-c/d__e.f"));
	CHECK(!reg_valid_repo("a/b_-c"));
	CHECK(!reg_valid_repo("-a"));
	CHECK(!reg_valid_repo("a/"));
	CHECK(digest_valid("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
	CHECK(!digest_valid("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
	CHECK(!digest_valid("sha512:00"));
}

int main(void)
{
	fx_progname = "test_registry_parse";
	test_www_auth();
	test_token();
	test_location();
	test_range_retry();
	test_targets_refs();
	if (failures) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	return 0;
}
