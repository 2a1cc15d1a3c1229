/* Unit tests for what a registry sends back and what a load target is named by:
 * WWW-Authenticate challenges, token replies, upload Locations, redirects, Range,
 * Retry-After, the token realm rule, blob HEAD verdicts, credential helper replies,
 * registry:// targets and image references. Exit 0 when every check holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/oci.h"
#include "net/credentials.h"
#include "net/http.h"
#include "net/ref.h"
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

static void test_redirects(void)
{
	const char *from = "https://reg.example:5000/v2/a/blobs/sha256:00";
	char *u = NULL;

	/* a path stays on the registry; an absolute URL may go to a storage backend */
	CHECK(reg_resolve_redirect(from, "/v2/b/blobs/x", &u) == 0 && u &&
	    strcmp(u, "https://reg.example:5000/v2/b/blobs/x") == 0);
	free(u);
	CHECK(reg_resolve_redirect(from, "https://s3.example/bucket/o?X-Sig=1", &u) == 0 && u &&
	    strcmp(u, "https://s3.example/bucket/o?X-Sig=1") == 0);
	free(u);
	CHECK(reg_resolve_redirect(from, "//cdn.example/o", &u) == 0 && u && strcmp(u, "https://cdn.example/o") == 0);
	free(u);
	CHECK(reg_resolve_redirect("http://127.0.0.1:5000/v2/x", "http://127.0.0.1:9/y", &u) == 0);
	free(u);
	u = NULL;
	/* refused */
	CHECK(reg_resolve_redirect(from, "http://s3.example/o", &u) != 0 && u == NULL); /* https to http */
	CHECK(reg_resolve_redirect(from, "//evil@cdn.example/o", &u) != 0);               /* user info */
	CHECK(reg_resolve_redirect(from, "https://a@b/o", &u) != 0);
	CHECK(reg_resolve_redirect(from, "ftp://x/o", &u) != 0);
	CHECK(reg_resolve_redirect(from, "file:///etc/passwd", &u) != 0);
	CHECK(reg_resolve_redirect(from, "relative/path", &u) != 0);
	CHECK(reg_resolve_redirect(from, "/a b", &u) != 0);
	CHECK(reg_resolve_redirect(from, "/a\r\nX: 1", &u) != 0);
	CHECK(reg_resolve_redirect(from, "https:///nohost", &u) != 0);
	CHECK(reg_resolve_redirect(from, "", &u) != 0);
	CHECK(reg_resolve_redirect("ftp://x/", "/y", &u) != 0);

	CHECK(reg_same_origin("https://a:5000/x", "HTTPS://A:5000"));
	CHECK(!reg_same_origin("https://a:5000/x", "https://a:5001/x"));
	CHECK(!reg_same_origin("https://a/x", "http://a/x"));
	CHECK(!reg_same_origin("https://a.b/x", "https://a/x"));
}

static void test_realm_rule(void)
{
	CHECK(reg_host_is_loopback("127.0.0.1") && reg_host_is_loopback("127.1.2.3"));
	CHECK(reg_host_is_loopback("localhost") && reg_host_is_loopback("[::1]"));
	CHECK(!reg_host_is_loopback("10.0.0.1") && !reg_host_is_loopback("[::2]"));
	CHECK(!reg_host_is_loopback("localhost.example") && !reg_host_is_loopback("127.0.0.1.example"));
	CHECK(!reg_host_is_loopback("") && !reg_host_is_loopback("[::ffff:127.0.0.1"));

	/* https always; http only from a plain-HTTP registry on loopback */
	CHECK(reg_realm_allowed("https://auth.example/token", 0, 0));
	CHECK(reg_realm_allowed("https://auth.example/token", 1, 0));
	CHECK(reg_realm_allowed("http://127.0.0.1:5001/token", 1, 1));
	CHECK(!reg_realm_allowed("http://127.0.0.1:5001/token", 0, 1)); /* https registry */
	CHECK(!reg_realm_allowed("http://auth.lab/token", 1, 0));        /* plain, not loopback */
	CHECK(!reg_realm_allowed("ftp://auth.example/token", 1, 1));
	CHECK(!reg_realm_allowed("https://user@auth.example/token", 0, 0));
	CHECK(!reg_realm_allowed("/token", 1, 1));
	CHECK(!reg_realm_allowed(NULL, 1, 1));

	CHECK(reg_scope_grants_push(NULL) && reg_scope_grants_push(""));
	CHECK(reg_scope_grants_push("repository:a/b:pull,push"));
	CHECK(reg_scope_grants_push("repository:a:pull repository:b:push"));
	CHECK(reg_scope_grants_push("repository:a:*"));
	CHECK(!reg_scope_grants_push("repository:a/b:pull"));
	CHECK(!reg_scope_grants_push("repository:pusher/x:pull"));
	CHECK(!reg_scope_grants_push("registry:catalog:*x"));
}

static void test_blob_answer(void)
{
	const char *d = "sha256:0000000000000000000000000000000000000000000000000000000000000001";
	const char *other = "sha256:0000000000000000000000000000000000000000000000000000000000000002";

	CHECK(reg_blob_answer(200, d, 1, 10, d, 10) == 1);
	CHECK(reg_blob_answer(200, NULL, 0, 0, d, 10) == 1);          /* nothing said: believed */
	CHECK(reg_blob_answer(200, NULL, 1, 10, d, UINT64_MAX) == 1); /* size not known here */
	CHECK(reg_blob_answer(200, other, 1, 10, d, 10) == 0);        /* other bytes */
	CHECK(reg_blob_answer(200, d, 1, 9, d, 10) == 0);             /* other size */
	CHECK(reg_blob_answer(307, NULL, 0, 0, d, 10) == 0);          /* a redirect not followed */
	CHECK(reg_blob_answer(302, d, 1, 10, d, 10) == 0);
	CHECK(reg_blob_answer(204, d, 1, 10, d, 10) == 0);
	CHECK(reg_blob_answer(404, NULL, 0, 0, d, 10) == 0);
	CHECK(reg_blob_answer(401, NULL, 0, 0, d, 10) == -1);
	CHECK(reg_blob_answer(403, NULL, 0, 0, d, 10) == -1);
	CHECK(reg_blob_answer(503, NULL, 0, 0, d, 10) == -1);
}

static void test_helper_reply(void)
{
	struct reg_creds c;
	struct ferr e = {0, ""};
	static const char ok[] = "{\"ServerURL\":\"127.0.0.1:5000\",\"Username\":\"ferry\",\"Secret\":\"pw\"}";
	static const char token[] = "{\"ServerURL\":\"x\",\"Username\":\"<token>\",\"Secret\":\"refresh\"}";

	memset(&c, 0, sizeof(c));
	CHECK(creds_parse_helper_reply(ok, strlen(ok), "docker-credential-test", &c, &e) == FX_OK);
	CHECK(c.user && strcmp(c.user, "ferry") == 0 && c.pass && strcmp(c.pass, "pw") == 0);
	CHECK(strcmp(c.source, "docker-credential-test") == 0);
	creds_free(&c);
	CHECK(creds_parse_helper_reply(token, strlen(token), "docker-credential-test", &c, &e) == FX_TARGET);
	CHECK(strstr(e.msg, "identity token") != NULL && strstr(e.msg, "refresh") == NULL && c.user == NULL);
	e.code = 0;
	CHECK(creds_parse_helper_reply("{}", 2, "h", &c, &e) == FX_TARGET && strstr(e.msg, "credential helper h:") != NULL);
	CHECK(creds_parse_helper_reply("{\"Username\":1,\"Secret\":\"x\"}", 27, "h", &c, &e) == FX_TARGET);
	CHECK(creds_parse_helper_reply("{\"Username\":\"a\\u0000b\",\"Secret\":\"x\"}", 34, "h", &c, &e) == FX_TARGET);
	CHECK(creds_parse_helper_reply("not json", 8, "h", &c, &e) == FX_TARGET);
	CHECK(c.user == NULL && c.pass == NULL);

	CHECK(creds_parse("u:p:q", &c) == 0 && strcmp(c.user, "u") == 0 && strcmp(c.pass, "p:q") == 0);
	creds_free(&c);
	CHECK(creds_parse(":", &c) == 0 && strcmp(c.user, "") == 0 && strcmp(c.pass, "") == 0);
	creds_free(&c);
	CHECK(creds_parse("nocolon", &c) != 0 && c.user == NULL);
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

static void test_targets(void)
{
	struct reg_target t;

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
	CHECK(reg_parse_target("registry://-host", &t) != 0);
	CHECK(reg_parse_target("registry://[::g]:5000", &t) != 0);
	CHECK(reg_parse_target("https://host", &t) != 0);

	CHECK(ref_valid_repo("a/b-c/d__e.f"));
	CHECK(!ref_valid_repo("a/b_-c"));
	CHECK(!ref_valid_repo("-a"));
	CHECK(!ref_valid_repo("a/"));
	CHECK(digest_valid("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
	CHECK(!digest_valid("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
	CHECK(!digest_valid("sha512:00"));
}

#define D1 "sha256:0000000000000000000000000000000000000000000000000000000000000001"

/* Image references: one rule (net/ref.h) for the pack side (oci_ref_parse, which spec
 * images go through) and the load side (ref_parse, which the registry target uses):
 * every case gives the same answer both ways. */
static void test_refs(void)
{
	static const struct {
		const char *in, *domain, *repo, *tag, *digest; /* domain NULL: refused */
	} cases[] = {
		{"registry.example.com/acme/api:1.2.0", "registry.example.com", "acme/api", "1.2.0", ""},
		{"nginx:1", "docker.io", "library/nginx", "1", ""},
		{"acme/api:1", "docker.io", "acme/api", "1", ""},
		{"docker.io/nginx:1", "docker.io", "library/nginx", "1", ""},
		{"index.docker.io/acme/x:1", "docker.io", "acme/x", "1", ""},
		{"localhost/x:1", "localhost", "x", "1", ""},
		{"localhost:5000/a/b__c-d.e:v_1", "localhost:5000", "a/b__c-d.e", "v_1", ""},
		{"[::1]:5000/ipv6/app:1", "[::1]:5000", "ipv6/app", "1", ""},
		{"[fe80::1]/x:1", "[fe80::1]", "x", "1", ""},
		{"Registry.Local/x:1", "Registry.Local", "x", "1", ""},  /* upper case: a host */
		{"REG/x:1", "REG", "x", "1", ""},
		{"acme/api@" D1, "docker.io", "acme/api", "", D1},
		{"h.io/a:1@" D1, "h.io", "a", "1", D1},
		/* refused */
		{"", NULL, NULL, NULL, NULL},
		{"nginx", NULL, NULL, NULL, NULL},                 /* no tag: no implicit :latest */
		{"localhost:5000/a/b", NULL, NULL, NULL, NULL},
		{"[::1]:5000/x", NULL, NULL, NULL, NULL},
		{"Nginx:1", NULL, NULL, NULL, NULL},
		{"a//b:1", NULL, NULL, NULL, NULL},
		{"a/-b:1", NULL, NULL, NULL, NULL},
		{"a/b_:1", NULL, NULL, NULL, NULL},
		{"a b:1", NULL, NULL, NULL, NULL},
		{"a:b:c", NULL, NULL, NULL, NULL},
		{"a:.tag", NULL, NULL, NULL, NULL},
		{"h.io/a:-x", NULL, NULL, NULL, NULL},
		{"a@sha256:abc", NULL, NULL, NULL, NULL},
		{"h.io/a@sha256:xyz", NULL, NULL, NULL, NULL},
		{"h.io/a/../b:1", NULL, NULL, NULL, NULL},
		{"h.io/A:1", NULL, NULL, NULL, NULL},
		{"h.io/a?b:1", NULL, NULL, NULL, NULL},
		{"-a.com/x:1", NULL, NULL, NULL, NULL},
		{"a-.com/x:1", NULL, NULL, NULL, NULL},
		{"host:99999999/a:1", NULL, NULL, NULL, NULL},
		{"host:0/a:1", NULL, NULL, NULL, NULL},
		{"host:65536/a:1", NULL, NULL, NULL, NULL},
		{"[::1/x:1", NULL, NULL, NULL, NULL},
		{"[]/x:1", NULL, NULL, NULL, NULL},
		{"[::g]/x:1", NULL, NULL, NULL, NULL},
		{"[::ffff:1.2.3.4]/x:1", NULL, NULL, NULL, NULL},
		{"[::1]x/y:1", NULL, NULL, NULL, NULL},
	};
	char longname[400];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct image_ref r;
		struct oci_ref o;
		struct ferr e1 = {0, ""}, e2 = {0, ""};
		int rc1 = ref_parse(cases[i].in, &r, &e1), rc2 = oci_ref_parse(cases[i].in, &o, &e2);

		if ((rc1 == FX_OK) != (cases[i].domain != NULL) || rc1 != rc2)
			fprintf(stderr, "ref %s: load side %d, pack side %d\n", cases[i].in, rc1, rc2);
		CHECK(rc1 == rc2);
		if (cases[i].domain == NULL) {
			CHECK(rc1 == FX_USAGE && strstr(e1.msg, "image reference") != NULL);
			CHECK(strcmp(e1.msg, e2.msg) == 0);
			continue;
		}
		CHECK(rc1 == FX_OK);
		if (rc1 != FX_OK || rc2 != FX_OK)
			continue;
		CHECK(strcmp(r.domain, cases[i].domain) == 0 && strcmp(o.domain, cases[i].domain) == 0);
		CHECK(strcmp(r.repo, cases[i].repo) == 0 && strcmp(o.repo, cases[i].repo) == 0);
		CHECK(strcmp(r.tag, cases[i].tag) == 0 && strcmp(o.tag ? o.tag : "", cases[i].tag) == 0);
		CHECK(strcmp(r.digest, cases[i].digest) == 0 && strcmp(o.digest ? o.digest : "", cases[i].digest) == 0);
		oci_ref_free(&o);
	}
	/* HOST/PATH at most 255 characters */
	memset(longname, 'a', sizeof(longname));
	memcpy(longname, "h.io/", 5);
	memcpy(longname + 255, ":1", 3);
	{
		struct image_ref r;
		struct ferr e = {0, ""};

		CHECK(ref_parse(longname, &r, &e) == FX_OK);
		memcpy(longname + 256, ":1", 3);
		CHECK(ref_parse(longname, &r, &e) == FX_USAGE && strstr(e.msg, "longer than 255") != NULL);
	}
}

int main(void)
{
	fx_progname = "test_registry_parse";
	test_www_auth();
	test_token();
	test_location();
	test_range_retry();
	test_targets();
	test_refs();
	test_redirects();
	test_realm_rule();
	test_blob_answer();
	test_helper_reply();
	if (failures) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	return 0;
}
