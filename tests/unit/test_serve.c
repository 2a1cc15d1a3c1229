/* Unit tests for `ferry-load serve`: what a client sends (routes, names, Range, Accept,
 * pagination), htpasswd users, the repository naming rule it shares with load, and
 * blocks read back by position and checked. Exit 0 when every check holds. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/repo_name.h"
#include "serve/serve_int.h"
#include "util/digest.h"

#include "check.h"

static void test_routes(void)
{
	static const struct {
		const char *path;
		enum serve_route_kind kind;
		int name_ok;
		const char *name, *ref;
	} cases[] = {
	    {"/v2/", ROUTE_BASE, 0, "", ""},
	    {"/v2", ROUTE_BASE, 0, "", ""},
	    {"/v2/_catalog", ROUTE_CATALOG, 0, "", ""},
	    {"/v2/app-a/tags/list", ROUTE_TAGS, 1, "app-a", ""},
	    {"/v2/acme/api/manifests/1.2.0", ROUTE_MANIFEST, 1, "acme/api", "1.2.0"},
	    {"/v2/a/manifests/manifests/x", ROUTE_MANIFEST, 1, "a/manifests", "x"},
	    {"/v2/a/blobs/sha256:00", ROUTE_BLOB, 1, "a", "sha256:00"},
	    {"/v2/a/b/blobs/uploads/", ROUTE_UPLOAD, 1, "a/b", ""},
	    {"/v2/a/blobs/uploads", ROUTE_UPLOAD, 1, "a", ""},
	    {"/v2/a/blobs/uploads/3f1e-uuid", ROUTE_UPLOAD, 1, "a", ""},
	    /* hostile names: parsed, but not valid */
	    {"/v2/../etc/manifests/1", ROUTE_MANIFEST, 0, "../etc", "1"},
	    {"/v2/a/../b/manifests/1", ROUTE_MANIFEST, 0, "a/../b", "1"},
	    {"/v2//etc/passwd/manifests/1", ROUTE_MANIFEST, 0, "/etc/passwd", "1"},
	    {"/v2/A/manifests/1", ROUTE_MANIFEST, 0, "A", "1"},
	    {"/v2/a%2fb/manifests/1", ROUTE_MANIFEST, 0, "a%2fb", "1"},
	    {"/v2/a/manifests/", ROUTE_MANIFEST, 1, "a", ""},
	    {"/v2/manifests/1", ROUTE_NONE, 0, "", ""},
	    {"/v2/a/referrers/sha256:00", ROUTE_REFERRERS, 1, "a", "sha256:00"},
	    {"/v2/a/b/referrers/x", ROUTE_REFERRERS, 1, "a/b", "x"},
	    {"/v2/referrers/sha256:00", ROUTE_NONE, 0, "", ""},
	    {"/v2/../x/referrers/sha256:00", ROUTE_REFERRERS, 0, "../x", "sha256:00"},
	    {"/v3/a/manifests/1", ROUTE_NONE, 0, "", ""},
	    {"/v2x/a/manifests/1", ROUTE_NONE, 0, "", ""},
	    {"", ROUTE_NONE, 0, "", ""},
	};
	struct serve_route r;
	char longname[600];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		serve_parse_route(cases[i].path, &r);
		if (r.kind != cases[i].kind || r.name_ok != cases[i].name_ok ||
		    (cases[i].name_ok && strcmp(r.name, cases[i].name) != 0) || strcmp(r.ref, cases[i].ref) != 0) {
			fprintf(stderr, "route %s: kind %d name_ok %d name '%s' ref '%s'\n", cases[i].path, r.kind, r.name_ok,
			    r.name, r.ref);
			failures++;
		}
	}
	/* a name longer than the grammar allows */
	memcpy(longname, "/v2/", 4);
	memset(longname + 4, 'a', 300);
	memcpy(longname + 304, "/manifests/1", sizeof("/manifests/1"));
	serve_parse_route(longname, &r);
	CHECK(r.kind == ROUTE_MANIFEST && !r.name_ok);
	/* a tag of 128 characters (cosign's sha256-<hex>.sig is 75) is kept; one longer is not */
	memcpy(longname, "/v2/a/manifests/", 16);
	memset(longname + 16, 't', 128);
	longname[16 + 128] = '\0';
	serve_parse_route(longname, &r);
	CHECK(r.kind == ROUTE_MANIFEST && strlen(r.ref) == 128 && serve_ref_kind(r.ref) == REF_TAG);
	memcpy(longname + 16 + 128, "t", 2);
	serve_parse_route(longname, &r);
	CHECK(r.kind == ROUTE_MANIFEST && r.ref[0] == '\0');
	CHECK(serve_ref_kind("1.2.0") == REF_TAG);
	CHECK(serve_ref_kind("_x") == REF_TAG);
	CHECK(serve_ref_kind("-x") == REF_BAD);
	CHECK(serve_ref_kind("") == REF_BAD);
	CHECK(serve_ref_kind("a/b") == REF_BAD);
	CHECK(serve_ref_kind("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == REF_DIGEST);
	CHECK(serve_ref_kind("sha256:E3B0C44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == REF_BAD_DIGEST);
	CHECK(serve_ref_kind("sha512:00") == REF_BAD_DIGEST);
}

static void test_unescape(void)
{
	char a[] = "/v2/%2e%2e/manifests/1", b[] = "/v2/a%00b/x", c[] = "%zz%4", d[] = "%2E%2e%41";

	CHECK(serve_unescape(a) == strlen("/v2/../manifests/1") && strcmp(a, "/v2/../manifests/1") == 0);
	CHECK(strcmp((serve_unescape(b), b), "/v2/a%00b/x") == 0); /* a NUL is never made */
	CHECK(strcmp((serve_unescape(c), c), "%zz%4") == 0);
	CHECK(strcmp((serve_unescape(d), d), "..A") == 0);
	{
		struct serve_route r;

		serve_parse_route(a, &r);
		CHECK(r.kind == ROUTE_MANIFEST && !r.name_ok);
		serve_parse_route(b, &r);
		CHECK(!r.name_ok || r.kind == ROUTE_NONE);
	}
}

static void test_range(void)
{
	uint64_t a = 0, b = 0;

	CHECK(serve_parse_range("bytes=0-99", 1000, &a, &b) == 1 && a == 0 && b == 99);
	CHECK(serve_parse_range("bytes=900-", 1000, &a, &b) == 1 && a == 900 && b == 999);
	CHECK(serve_parse_range("bytes=900-5000", 1000, &a, &b) == 1 && a == 900 && b == 999);
	CHECK(serve_parse_range("bytes=-100", 1000, &a, &b) == 1 && a == 900 && b == 999);
	CHECK(serve_parse_range("bytes=-5000", 1000, &a, &b) == 1 && a == 0 && b == 999);
	CHECK(serve_parse_range("bytes = 5-5", 1000, &a, &b) == 1 && a == 5 && b == 5);
	CHECK(serve_parse_range("bytes=1000-", 1000, &a, &b) == -1);
	CHECK(serve_parse_range("bytes=-0", 1000, &a, &b) == -1);
	CHECK(serve_parse_range("bytes=0-0", 0, &a, &b) == -1);
	/* ignored: the whole blob is sent */
	CHECK(serve_parse_range(NULL, 1000, &a, &b) == 0);
	CHECK(serve_parse_range("bytes=5-1", 1000, &a, &b) == 0);
	CHECK(serve_parse_range("bytes=0-1,5-6", 1000, &a, &b) == 0);
	CHECK(serve_parse_range("items=0-1", 1000, &a, &b) == 0);
	CHECK(serve_parse_range("bytes=x-1", 1000, &a, &b) == 0);
	CHECK(serve_parse_range("bytes=99999999999999999999-", 1000, &a, &b) == 0);
	CHECK(serve_parse_range("bytes=", 1000, &a, &b) == 0);
	CHECK(serve_parse_range("bytes=-", 1000, &a, &b) == 0);
}

static void test_accept(void)
{
	const char *docker[] = {MT_DOCKER_MANIFEST, MT_DOCKER_LIST ", " MT_OCI_INDEX, MT_OCI_MANIFEST};
	const char *narrow[] = {MT_OCI_MANIFEST};
	const char *wild[] = {"text/html, */*;q=0.8"};
	const char *sub[] = {"application/*"};
	const char *q0[] = {MT_OCI_INDEX ";q=0, " MT_OCI_MANIFEST ";q=0.5"};
	const char *q000[] = {MT_OCI_INDEX "; q=0.000"};

	CHECK(serve_accepts(docker, 3, MT_OCI_INDEX));
	CHECK(serve_accepts(docker, 3, MT_OCI_MANIFEST));
	CHECK(!serve_accepts(narrow, 1, MT_OCI_INDEX));
	CHECK(serve_accepts(narrow, 1, "APPLICATION/vnd.oci.image.manifest.v1+json"));
	CHECK(serve_accepts(wild, 1, MT_OCI_INDEX));
	CHECK(serve_accepts(sub, 1, MT_OCI_INDEX));
	CHECK(!serve_accepts(q0, 1, MT_OCI_INDEX));
	CHECK(serve_accepts(q0, 1, MT_OCI_MANIFEST));
	CHECK(!serve_accepts(q000, 1, MT_OCI_INDEX));
	CHECK(!serve_accepts(NULL, 0, MT_OCI_INDEX));
}

static void test_small_parsers(void)
{
	size_t n = 0;

	CHECK(serve_parse_n("10", 1000, &n) == 0 && n == 10);
	CHECK(serve_parse_n("0", 1000, &n) == 0 && n == 0);
	CHECK(serve_parse_n("99999", 1000, &n) == 0 && n == 1000);
	CHECK(serve_parse_n("-1", 1000, &n) != 0);
	CHECK(serve_parse_n("", 1000, &n) != 0);
	CHECK(serve_parse_n("1x", 1000, &n) != 0);
	CHECK(serve_media_type_valid(MT_OCI_MANIFEST));
	CHECK(serve_media_type_valid(MT_DOCKER_LIST));
	CHECK(!serve_media_type_valid("application/json\r\nX-Evil: 1"));
	CHECK(!serve_media_type_valid("application"));
	CHECK(!serve_media_type_valid("a/b/c"));
	CHECK(!serve_media_type_valid("a/"));
	CHECK(!serve_media_type_valid(""));
	CHECK(!serve_media_type_valid("a/b; charset=utf-8"));
}

static void test_users(void)
{
	/* htpasswd -nbB alice secret; bob with the same password, cost 05 */
	static const char file[] = "# users\n"
	                           "alice:$2y$05$ov0Y2eEQp.Tz.ZXu6GpyPOsvQIUcUfd7aC9cN0dOF9vUKV5RTnIN6\r\n"
	                           "\n"
	                           "bob:$2b$05$ov0Y2eEQp.Tz.ZXu6GpyPOsvQIUcUfd7aC9cN0dOF9vUKV5RTnIN6";
	static const char *bad[] = {
	    "alice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n",
	    "alice:$apr1$abc$def\n",
	    "alice:$2y$05$short\n",
	    "alice:$2y$99$ov0Y2eEQp.Tz.ZXu6GpyPOsvQIUcUfd7aC9cN0dOF9vUKV5RTnIN6\n",
	    "alice\n",
	    ":$2y$05$ov0Y2eEQp.Tz.ZXu6GpyPOsvQIUcUfd7aC9cN0dOF9vUKV5RTnIN6\n",
	    "al ice:$2y$05$ov0Y2eEQp.Tz.ZXu6GpyPOsvQIUcUfd7aC9cN0dOF9vUKV5RTnIN6\n",
	    "a:$2y$05$ov0Y2eEQp.Tz.ZXu6GpyPOsvQIUcUfd7aC9cN0dOF9vUKV5RTnIN6\na:$2y$05$ov0Y2eEQp.Tz.ZXu6GpyPOsvQIUcUfd7aC9cN0dOF9vUKV5RTnIN6\n",
	    "# nobody\n",
	    "",
	};
	struct serve_users *u = NULL;
	struct ferr e = {0, ""};
	size_t i;

	CHECK(serve_users_parse(file, strlen(file), "htpasswd", &u, &e) == FX_OK && serve_users_count(u) == 2);
	CHECK(serve_users_check(u, "alice", "secret"));
	CHECK(!serve_users_check(u, "alice", "Secret"));
	CHECK(!serve_users_check(u, "alice", ""));
	CHECK(!serve_users_check(u, "carol", "secret"));
	CHECK(!serve_users_check(u, "alic", "secret"));
	CHECK(!serve_users_check(u, "", "secret"));
	CHECK(!serve_users_check(u, "alice", NULL));
	serve_users_free(u);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ferr e2 = {0, ""};

		u = NULL;
		if (serve_users_parse(bad[i], strlen(bad[i]), "htpasswd", &u, &e2) != FX_USAGE || u != NULL ||
		    strstr(e2.msg, "htpasswd") == NULL) {
			fprintf(stderr, "htpasswd case %zu accepted\n", i);
			failures++;
		}
		serve_users_free(u);
	}
}

static void test_repo_name(void)
{
	char repo[REPO_NAME_MAX], tag[REPO_TAG_MAX], big[400];

	CHECK(reg_repo_name("registry.example.com/acme/api:1.2.0", "", 0, repo, tag) == 0 &&
	      strcmp(repo, "acme/api") == 0 && strcmp(tag, "1.2.0") == 0);
	CHECK(reg_repo_name("registry.example.com:5000/acme/api:1", "mirror/x", 0, repo, tag) == 0 &&
	      strcmp(repo, "mirror/x/acme/api") == 0);
	CHECK(reg_repo_name("Registry.Example.com:5000/acme/api:1", "p", 1, repo, tag) == 0 &&
	      strcmp(repo, "p/registry.example.com/acme/api") == 0);
	CHECK(reg_repo_name("busybox:1", NULL, 0, repo, tag) == 0 && strcmp(repo, "library/busybox") == 0);
	/* --keep-registry-host: the port goes; an IPv6 host cannot be a path part */
	CHECK(reg_repo_name("localhost:5000/a/b:1", "pre", 1, repo, tag) == 0 && strcmp(repo, "pre/localhost/a/b") == 0 &&
	      strcmp(tag, "1") == 0);
	CHECK(reg_repo_name("[::1]:5000/a/b:1", "pre", 1, repo, tag) != 0 && repo[0] == '\0');
	CHECK(reg_repo_name("[::1]:5000/a/b:1", "pre", 0, repo, tag) == 0 && strcmp(repo, "pre/a/b") == 0);
	CHECK(reg_repo_name("ferry.test/app", "", 0, repo, tag) != 0); /* no tag, no digest */
	CHECK(reg_repo_name("ferry.test/app@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "",
	          0, repo, tag) == 0 && tag[0] == '\0' && strcmp(repo, "app") == 0);
	CHECK(reg_repo_name("ferry.test/App:1", "", 0, repo, tag) != 0);
	memset(big, 'a', 260);
	big[260] = '\0';
	CHECK(reg_repo_name("ferry.test/x:1", big, 0, repo, tag) != 0 && repo[0] == '\0');
}

/* A blob over a real file: blocks checked as they are read back; a changed byte is
 * caught in its block, and the blob is not served again. */
static void test_blocks(void)
{
	char path[] = "/tmp/ferry-test-serve.XXXXXX";
	size_t size = (size_t)(2 * SERVE_BLOCK + 1000), len = 0, k;
	unsigned char *data = malloc(size + 100), *buf = malloc(SERVE_BLOCK), one = 0x5a;
	struct serve_file f;
	struct serve_blob b;
	struct stat st;
	const char *why = NULL;
	char whyf[128];
	int fd = mkstemp(path);

	CHECK(fd >= 0 && data != NULL && buf != NULL);
	if (fd < 0 || data == NULL || buf == NULL)
		goto end;
	for (k = 0; k < size + 100; k++)
		data[k] = (unsigned char)(k * 7 + 3);
	CHECK(write(fd, data, size + 100) == (ssize_t)(size + 100));
	fstat(fd, &st);
	memset(&f, 0, sizeof(f));
	f.path = path;
	f.fd = fd;
	f.dev = st.st_dev;
	f.ino = st.st_ino;
	f.size = st.st_size;
	f.mtime = st.st_mtim;
	memset(&b, 0, sizeof(b));
	b.file = &f;
	b.off = 100; /* the blob starts 100 bytes in */
	b.size = size - 100;
	b.nblocks = 3;
	b.blocks = calloc(3, SHA256_LEN);
	for (k = 0; k < 3; k++) {
		size_t n = k < 2 ? (size_t)SERVE_BLOCK : (size_t)(b.size - 2 * SERVE_BLOCK);

		sha256_buf(data + 100 + k * SERVE_BLOCK, n, b.blocks[k]);
	}
	CHECK(serve_file_unchanged(&f, whyf, sizeof(whyf)));
	CHECK(serve_read_block(&b, 2, buf, &len, &why) == 0 && len == b.size - 2 * SERVE_BLOCK &&
	      memcmp(buf, data + 100 + 2 * SERVE_BLOCK, len) == 0);
	CHECK(serve_read_block(&b, 3, buf, &len, &why) != 0);
	/* a byte of block 1 changes, the mtime is put back: the block hash still sees it */
	CHECK(pwrite(fd, &one, 1, (off_t)(100 + SERVE_BLOCK + 5)) == 1);
	{
		struct timespec ts[2] = {st.st_atim, st.st_mtim};
		futimens(fd, ts);
	}
	CHECK(serve_file_unchanged(&f, whyf, sizeof(whyf)));
	CHECK(serve_read_block(&b, 0, buf, &len, &why) == 0 && len == SERVE_BLOCK);
	CHECK(serve_read_block(&b, 1, buf, &len, &why) != 0 && why != NULL && strstr(why, "hash") != NULL);
	CHECK(serve_read_block(&b, 0, buf, &len, &why) != 0); /* the blob is bad from now on */
	/* the file itself changed (mtime): noticed */
	CHECK(pwrite(fd, &one, 1, 0) == 1);
	{
		struct timespec ts[2] = {{0, UTIME_OMIT}, {st.st_mtim.tv_sec + 5, 0}};
		futimens(fd, ts);
	}
	CHECK(!serve_file_unchanged(&f, whyf, sizeof(whyf)) && strstr(whyf, "modified") != NULL);
	CHECK(!serve_file_unchanged(&f, whyf, sizeof(whyf))); /* and it stays so */
	free(b.blocks);
end:
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	free(data);
	free(buf);
}

int main(void)
{
	test_routes();
	test_unescape();
	test_range();
	test_accept();
	test_small_parsers();
	test_users();
	test_repo_name();
	test_blocks();
	return check_report("test_serve");
}
