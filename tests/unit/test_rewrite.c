/* Unit tests for the image map and rewrite: the registry:// naming rule, the map's
 * landed references, its JSON and YAML round trip and refusals, the YAML scalar editor
 * (positions after a BOM, CRLF and multi-byte text; quoting) and rw_text on a table of
 * Compose and values texts, each one rewritten twice to show it is idempotent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli/imagemap.h"
#include "cli/rewrite.h"
#include "net/registry.h"
#include "net/repo_name.h"
#include "util/yedit.h"

#define DA "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DB "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define DC "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define TGT "registry://reg.internal:5000/acme"

static void test_dest_repo(void)
{
	struct reg_target t;
	char repo[REPO_NAME_MAX], tag[REPO_TAG_MAX];

	CHECK(reg_parse_target("registry://reg:5000/site/x", &t) == 0);
	CHECK(reg_repo_name("ghcr.io:443/acme/api:1", t.prefix, 0, repo, tag) == 0 && strcmp(repo, "site/x/acme/api") == 0 &&
	      strcmp(tag, "1") == 0);
	CHECK(reg_repo_name("ghcr.io:443/acme/api:1", t.prefix, 1, repo, tag) == 0 &&
	      strcmp(repo, "site/x/ghcr.io/acme/api") == 0);
	CHECK(reg_parse_target("registry://reg", &t) == 0);
	CHECK(reg_repo_name("busybox:1", t.prefix, 0, repo, tag) == 0 && strcmp(repo, "library/busybox") == 0);
	CHECK(reg_repo_name("busybox:1", t.prefix, 1, repo, tag) == 0 && strcmp(repo, "docker.io/library/busybox") == 0);
}

static void test_landed(void)
{
	struct man_image a = {0}, d = {0};
	char *s;

	a.ref = (char *)"ghcr.io/acme/api:1.2.0@" DA;
	a.digest = (char *)DA;
	d.ref = (char *)"ferry.test/db@" DC;
	d.digest = (char *)DC;
	s = imap_landed(TGT, 0, &a);
	CHECK(s != NULL && strcmp(s, "reg.internal:5000/acme/acme/api:1.2.0") == 0);
	free(s);
	s = imap_landed("registry://[::1]:5000", 1, &a);
	CHECK(s != NULL && strcmp(s, "[::1]:5000/ghcr.io/acme/api:1.2.0") == 0);
	free(s);
	s = imap_landed(TGT, 0, &d);
	CHECK(s != NULL && strcmp(s, "reg.internal:5000/acme/db@" DC) == 0);
	free(s);
	s = imap_landed("oci:/srv/oci", 0, &a);
	CHECK(s != NULL && strcmp(s, "oci:/srv/oci:ghcr.io/acme/api:1.2.0@" DA) == 0);
	free(s);
	s = imap_landed("docker://", 0, &a);
	CHECK(s != NULL && strcmp(s, "ghcr.io/acme/api:1.2.0") == 0);
	free(s);
	CHECK(imap_landed("docker://", 0, &d) == NULL); /* loaded untagged: no name */
	CHECK(imap_landed("ftp://x", 0, &a) == NULL);
}

static void add(struct imap *m, const char *src, const char *dst, const char *digest)
{
	m->v = realloc(m->v, (m->n + 1) * sizeof(*m->v));
	m->v[m->n].source = strdup(src);
	m->v[m->n].target = strdup(TGT);
	m->v[m->n].reference = strdup(dst);
	m->v[m->n].digest = strdup(digest);
	m->v[m->n].kind = IMAP_REGISTRY;
	m->n++;
}

static void make_map(struct imap *m)
{
	memset(m, 0, sizeof(*m));
	add(m, "ghcr.io/acme/api:1.2.0", "reg.internal:5000/acme/acme/api:1.2.0", DA);
	add(m, "nginx:1.25", "reg.internal:5000/acme/library/nginx:1.25", DB);
	add(m, "ferry.test/db@" DC, "reg.internal:5000/acme/db@" DC, DC);
}

static void test_map_io(void)
{
	struct imap m, back;
	struct ferr e = {0};
	char *text;
	size_t len, i;
	int yaml;

	make_map(&m);
	m.bundle_name = strdup("acme");
	m.bundle_version = strdup("1.2.0");
	for (yaml = 0; yaml <= 1; yaml++) {
		CHECK(imap_format(&m, yaml, &text, &len, &e) == FX_OK);
		CHECK(imap_parse(text, len, yaml, "map", &back, &e) == FX_OK);
		CHECK(back.n == m.n && strcmp(back.bundle_name, "acme") == 0);
		for (i = 0; i < back.n && i < m.n; i++)
			CHECK(strcmp(back.v[i].source, m.v[i].source) == 0 && strcmp(back.v[i].reference, m.v[i].reference) == 0 &&
			    strcmp(back.v[i].digest, m.v[i].digest) == 0 && strcmp(back.v[i].target, m.v[i].target) == 0);
		imap_free(&back);
		free(text);
	}
	imap_free(&m);
}

static int parses(const char *json)
{
	struct imap m;
	struct ferr e = {0};
	int rc = imap_parse(json, strlen(json), 0, "map", &m, &e);

	if (rc == FX_OK)
		imap_free(&m);
	else if (e.msg[0] == '\0')
		rc = -1; /* a refusal must say why */
	return rc;
}

#define HEAD "{\"apiVersion\":\"ferry/v1\",\"kind\":\"ImageMap\",\"images\":["
#define ENTRY(src, ref, dig) "{\"source\":\"" src "\",\"target\":\"" TGT "\",\"reference\":\"" ref "\",\"digest\":\"" dig "\"}"

static void test_map_refusals(void)
{
	CHECK(parses(HEAD "]}") == FX_OK);
	CHECK(parses(HEAD ENTRY("a.io/x:1", "h:1/x:1", DA) "]}") == FX_OK);
	CHECK(parses(HEAD ENTRY("a.io/x:1", "h:1/x:1", "sha256:00") "]}") == FX_USAGE);
	CHECK(parses(HEAD ENTRY("a.io/x:1", "h:1/X:1", DA) "]}") == FX_USAGE);
	CHECK(parses(HEAD ENTRY("a.io/x\\u0000y:1", "h:1/x:1", DA) "]}") == FX_USAGE);
	CHECK(parses(HEAD ENTRY("a.io/x:1", "h:1/x:1", DA) "," ENTRY("a.io/x:1", "h:1/y:1", DB) "]}") == FX_USAGE);
	CHECK(parses("{\"apiVersion\":\"ferry/v1\",\"kind\":\"Other\",\"images\":[]}") == FX_USAGE);
	CHECK(parses("{\"apiVersion\":\"ferry/v1\",\"kind\":\"ImageMap\",\"kind\":\"ImageMap\",\"images\":[]}") == FX_USAGE);
	CHECK(parses("[]") == FX_USAGE);
	CHECK(parses("{") == FX_USAGE);
	CHECK(parses(HEAD "{\"source\":1}]}") == FX_USAGE);
}

static void test_yedit(void)
{
	static const char text[] = "\xef\xbb\xbf# caf\xc3\xa9\r\nimage: x\r\n";
	static const char bidi[] = "a: b\nc: \xe2\x80\xae\n";
	struct yedit_cursor c;
	struct yedit_list l = {0};
	struct ferr e = {0};
	char *out, *s;
	size_t len;

	yedit_cursor_init(&c, text, strlen(text));
	/* libyaml: index 0 is after the BOM, "é" is one character, CR LF two */
	CHECK(yedit_byte(&c, 0) == 3);
	CHECK(yedit_byte(&c, 8) == 12);  /* "image" */
	CHECK(yedit_byte(&c, 15) == 19); /* "x" */
	CHECK(yedit_byte(&c, 2) == 5);   /* backwards: from the top again */
	CHECK(yedit_byte(&c, 1000) == strlen(text));
	CHECK(yedit_check_text(text, strlen(text), "t", FX_USAGE, &e) == FX_OK);
	CHECK(yedit_check_text(bidi, strlen(bidi), "t", FX_USAGE, &e) == FX_USAGE && strstr(e.msg, "t:2: a bidi") != NULL);
	e.code = 0;
	CHECK(yedit_check_text("a: \xc3\n", 5, "t", FX_USAGE, &e) == FX_USAGE && strstr(e.msg, "not UTF-8") != NULL);
	e.code = 0;
	CHECK(yedit_check_text("a: \xc2\x85\n", 6, "t", FX_USAGE, &e) == FX_USAGE);
	e.code = 0;
	CHECK(yedit_check_text("a\0b", 3, "t", FX_USAGE, &e) == FX_USAGE && strstr(e.msg, "NUL") != NULL);
	e.code = 0;
	CHECK(yedit_check_text("\xe2\x80", 2, "t", FX_USAGE, &e) == FX_USAGE); /* cut at the end */

	CHECK(strcmp(s = yedit_scalar("127.0.0.1:5000/a:1@" DA, YAML_PLAIN_SCALAR_STYLE), "127.0.0.1:5000/a:1@" DA) == 0);
	free(s);
	CHECK(strcmp(s = yedit_scalar("1.25", YAML_PLAIN_SCALAR_STYLE), "\"1.25\"") == 0);
	free(s);
	CHECK(strcmp(s = yedit_scalar("127.0.0.1:5000", YAML_PLAIN_SCALAR_STYLE), "\"127.0.0.1:5000\"") == 0);
	free(s);
	CHECK(strcmp(s = yedit_scalar("true", YAML_PLAIN_SCALAR_STYLE), "\"true\"") == 0);
	free(s);
	CHECK(strcmp(s = yedit_scalar("@x", YAML_PLAIN_SCALAR_STYLE), "\"@x\"") == 0);
	free(s);
	CHECK(strcmp(s = yedit_scalar("[::1]:5000/a:1", YAML_PLAIN_SCALAR_STYLE), "\"[::1]:5000/a:1\"") == 0);
	free(s);
	CHECK(strcmp(s = yedit_scalar("a:", YAML_PLAIN_SCALAR_STYLE), "\"a:\"") == 0);
	free(s);
	CHECK(strcmp(s = yedit_scalar("x'y", YAML_SINGLE_QUOTED_SCALAR_STYLE), "'x''y'") == 0);
	free(s);
	CHECK(strcmp(s = yedit_scalar("a\"b\\\x01", YAML_DOUBLE_QUOTED_SCALAR_STYLE), "\"a\\\"b\\\\\\x01\"") == 0);
	free(s);
	CHECK(strcmp(s = yedit_scalar("a\nb", YAML_SINGLE_QUOTED_SCALAR_STYLE), "\"a\\x0ab\"") == 0);
	free(s);

	yedit_add(&l, 4, 5, strdup("XY"));
	yedit_add(&l, 0, 1, strdup(""));
	CHECK(yedit_apply("abcdefg", 7, &l, &out, &len) == 0 && strcmp(out, "bcdXYfg") == 0 && len == 7);
	free(out);
	yedit_add(&l, 4, 6, strdup("o"));
	CHECK(yedit_apply("abcdefg", 7, &l, &out, &len) == -1); /* overlaps the first */
	yedit_list_free(&l);
	yedit_add(&l, 6, 9, strdup("o"));
	CHECK(yedit_apply("abcdefg", 7, &l, &out, &len) == -1); /* past the end */
	yedit_list_free(&l);
	/* an insertion is set apart from neighbours that are not blank, not from blanks */
	yedit_add(&l, 2, 2, strdup("v"));
	yedit_add(&l, 7, 7, strdup("w"));
	CHECK(yedit_apply("a:#\nb: \n", 8, &l, &out, &len) == 0 && strcmp(out, "a: v #\nb: w\n") == 0 && len == 12);
	free(out);
	yedit_list_free(&l);
}

struct rw_case {
	const char *in;
	int pin;
	const char *out;   /* NULL: refused (FX_USAGE) */
	size_t rewritten, notes;
};

#define A_AT "reg.internal:5000/acme/acme/api:1.2.0"
#define N_AT "reg.internal:5000/acme/library/nginx:1.25"
static const struct rw_case cases[] = {
    {"services:\n  api:\n    image: ghcr.io/acme/api:1.2.0  # c\n", 0,
     "services:\n  api:\n    image: " A_AT "  # c\n", 1, 0},
    {"services:\n  web: {image: \"nginx:1.25\", ports: [\"80:80\"]}\n", 1,
     "services:\n  web: {image: \"" N_AT "@" DB "\", ports: [\"80:80\"]}\n", 1, 0},
    {"a: {b: {image: 'docker.io/library/nginx:1.25'}}\n", 0, "a: {b: {image: '" N_AT "'}}\n", 1, 0},
    {"\xef\xbb\xbf# \xc3\xa9t\xc3\xa9\r\n\"image\": index.docker.io/nginx:1.25\r\nx: 1\r\n", 0,
     "\xef\xbb\xbf# \xc3\xa9t\xc3\xa9\r\n\"image\": " N_AT "\r\nx: 1\r\n", 1, 0},
    /* a reference pinned at the source keeps its pin */
    {"image: nginx:1.25@" DB "\n", 0, "image: " N_AT "@" DB "\n", 1, 0},
    {"image: nginx:1.25@" DA "\n", 0, "image: nginx:1.25@" DA "\n", 0, 1},
    {"image: nginx\n", 0, "image: nginx\n", 0, 1},                 /* :latest is not in the map */
    {"image: ferry.test/db@" DC "\n", 0, "image: reg.internal:5000/acme/db@" DC "\n", 1, 0},
    {"image: ''\nimages: [nginx:1.25]\nimage2: nginx:1.25\n", 0, "image: ''\nimages: [nginx:1.25]\nimage2: nginx:1.25\n", 0, 0},
    {"image: \"{{ .Values.x }}\"\n", 0, "image: \"{{ .Values.x }}\"\n", 0, 1},
    {"image: ${REGISTRY}/api:1\n", 0, "image: ${REGISTRY}/api:1\n", 0, 1},
    {"image: reg.internal:5000/acme/acme/api:1.2.0\n", 1, "image: " A_AT "@" DA "\n", 1, 0},
    {"image:\n  registry: ghcr.io\n  repository: acme/api\n  tag: 1.2.0\n", 0,
     "image:\n  registry: reg.internal:5000\n  repository: acme/acme/api\n  tag: 1.2.0\n", 1, 0},
    {"image:\n  registry: ghcr.io\n  repository: acme/api\n  tag: 1.2.0\n", 1,
     "image:\n  registry: reg.internal:5000\n  repository: acme/acme/api\n  tag: 1.2.0@" DA "\n", 1, 0},
    {"image: {repository: nginx, tag: \"1.25\", digest: ''}\n", 1,
     "image: {repository: " "reg.internal:5000/acme/library/nginx" ", tag: \"1.25\", digest: '" DB "'}\n", 1, 0},
    /* an empty digest given one: set apart from its key and from a comment after it */
    {"image:\n  repository: nginx\n  tag: 1.25\n  digest: #\"\n", 1,
     "image:\n  repository: reg.internal:5000/acme/library/nginx\n  tag: 1.25\n  digest: " DB " #\"\n", 1, 0},
    {"image:\n  repository: nginx\n  tag: 1.25\n  digest:\n", 1,
     "image:\n  repository: reg.internal:5000/acme/library/nginx\n  tag: 1.25\n  digest: " DB "\n", 1, 0},
    {"image: {repository: nginx, tag: '1.25', digest: }\n", 1,
     "image: {repository: reg.internal:5000/acme/library/nginx, tag: '1.25', digest: " DB " }\n", 1, 0},
    {"image: {repository: nginx, pullPolicy: Always}\n", 0, "image: {repository: nginx, pullPolicy: Always}\n", 0, 1},
    {"image: {pullPolicy: Always}\n", 0, "image: {pullPolicy: Always}\n", 0, 0},
    {"image: {registry: docker.io, repository: nginx, tag: '1.25'}\n", 0,
     "image: {registry: reg.internal:5000, repository: acme/library/nginx, tag: '1.25'}\n", 1, 0},
    {"x: &a [1]\nimage: nginx:1.25\ny: *a\n<<: *a\n", 0, "x: &a [1]\nimage: " N_AT "\ny: *a\n<<: *a\n", 1, 0},
    /* refused */
    {"x: &a\n  image: nginx:1.25\ny: *a\n", 0, NULL, 0, 0},
    {"image: &i nginx:1.25\n", 0, NULL, 0, 0},
    {"image: *i\n", 0, NULL, 0, 0},
    {"image: {repository: *r, tag: '1'}\n", 0, NULL, 0, 0},
    {"image: !!str nginx:1.25\n", 0, NULL, 0, 0},
    {"image: >\n  nginx:1.25\n", 0, NULL, 0, 0},
    {"image: {repository: nginx, tag: |\n  1\n}\n", 0, NULL, 0, 0},
    {"image: \"nginx\\u202e:1.25\"\n", 0, NULL, 0, 0},
    {"image: \"nginx\\0:1.25\"\n", 0, NULL, 0, 0},
    {"image: \"nginx\\x85:1.25\"\n", 0, NULL, 0, 0},
    {"a: 1\n---\nb: 2\n", 0, NULL, 0, 0},
    {"- image: nginx:1.25\n", 0, NULL, 0, 0},
    {"just text\n", 0, NULL, 0, 0},
    {"", 0, NULL, 0, 0},
    {"# only a comment\n", 0, NULL, 0, 0},
    {"a: [\n", 0, NULL, 0, 0},
    {"a:\tb: c\n\x01", 0, NULL, 0, 0},
};

static void test_rw_cases(void)
{
	struct imap m;
	struct rw_map rm[2];
	struct ferr e = {0};
	size_t i;

	make_map(&m);
	CHECK(rw_map_init(&rm[0], &m, NULL, 0, &e) == FX_OK);
	CHECK(rw_map_init(&rm[1], &m, TGT, 1, &e) == FX_OK);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct rw_case *c = &cases[i];
		struct rw_result r, again;
		int rc;

		e.code = 0;
		e.msg[0] = '\0';
		rc = rw_text(&rm[c->pin], "f.yaml", c->in, strlen(c->in), &r, &e);
		if (c->out == NULL) {
			if (rc != FX_USAGE || strncmp(e.msg, "f.yaml", 6) != 0) {
				CHECK_MSG(0, "case %zu: not refused (rc %d, %s)", i, rc, e.msg);
			}
			continue;
		}
		if (rc != FX_OK || strcmp(r.text, c->out) != 0 || r.rewritten != c->rewritten || r.nnotes != c->notes) {
			CHECK_MSG(0, "case %zu: rc %d (%s), %zu rewritten, %zu notes:\n%s", i, rc, e.msg, r.rewritten,
			    r.nnotes, rc == FX_OK ? r.text : "");
		} else {
			CHECK(rw_text(&rm[c->pin], "f.yaml", r.text, r.len, &again, &e) == FX_OK);
			CHECK(again.rewritten == 0 && again.len == r.len && memcmp(again.text, r.text, r.len) == 0);
			rw_result_free(&again);
		}
		rw_result_free(&r);
	}
	rw_map_free(&rm[0]);
	rw_map_free(&rm[1]);
	imap_free(&m);
}

static void test_rw_limits(void)
{
	struct imap m;
	struct rw_map rm;
	struct rw_result r;
	struct ferr e = {0};
	char *deep = malloc(4 * 70 + 4 + 70 + 16), *big;
	size_t i, n = 0;

	make_map(&m);
	CHECK(rw_map_init(&rm, &m, NULL, 0, &e) == FX_OK);
	for (i = 0; i < 70; i++)
		n += (size_t)sprintf(deep + n, "a: {");
	n += (size_t)sprintf(deep + n, "b: 1");
	for (i = 0; i < 70; i++)
		deep[n++] = '}';
	deep[n++] = '\n';
	CHECK(rw_text(&rm, "deep", deep, n, &r, &e) == FX_USAGE && strstr(e.msg, "nested") != NULL);
	e.code = 0;
	big = malloc(RW_FILE_MAX + 2);
	memset(big, '#', RW_FILE_MAX + 1);
	CHECK(rw_text(&rm, "big", big, RW_FILE_MAX + 1, &r, &e) == FX_USAGE && strstr(e.msg, "larger than") != NULL);
	free(big);
	free(deep);
	rw_map_free(&rm);
	/* the map's choices: a docker:// map cannot pin; an oci: map cannot be named */
	free(m.v[0].target);
	m.v[0].target = strdup("docker://");
	CHECK(rw_map_init(&rm, &m, NULL, 0, &e) == FX_USAGE); /* two targets now: which? */
	e.code = 0;
	CHECK(rw_map_init(&rm, &m, "docker://", 1, &e) == FX_USAGE);
	e.code = 0;
	CHECK(rw_map_init(&rm, &m, "docker://", 0, &e) == FX_OK && rm.n == 1);
	rw_map_free(&rm);
	CHECK(rw_map_init(&rm, &m, "registry://elsewhere", 0, &e) == FX_USAGE);
	imap_free(&m);
}

int main(void)
{
	test_dest_repo();
	test_landed();
	test_map_io();
	test_map_refusals();
	test_yedit();
	test_rw_cases();
	test_rw_limits();
	return check_report("test_rewrite");
}
