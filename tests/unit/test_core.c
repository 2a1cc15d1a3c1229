/* Unit tests for the core: entry names, SHA256SUMS, escaping, number and time
 * parsing, bundle.yaml round trip. Exit 0 when every check holds. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/manifest.h"
#include "bundle/sums.h"
#include "cli/cli.h"
#include "util/util.h"
#include "util/yamlx.h"

#include "check.h"

static void test_names(void)
{
	CHECK(entry_name_problem("docs/a.md") == NULL);
	CHECK(entry_name_problem("images/blobs/sha256/ab") == NULL);
	CHECK(entry_name_problem("a..b/c") == NULL);
	CHECK(entry_name_problem("") != NULL);
	CHECK(entry_name_problem("/etc/passwd") != NULL);
	CHECK(entry_name_problem("../x") != NULL);
	CHECK(entry_name_problem("a/../../x") != NULL);
	CHECK(entry_name_problem("a/..") != NULL);
	CHECK(entry_name_problem("./a") != NULL);
	CHECK(entry_name_problem("a//b") != NULL);
	CHECK(entry_name_problem("a/") != NULL);
	CHECK(entry_name_problem("a\\b") != NULL);
	CHECK(entry_name_problem("a\nb") != NULL);
	CHECK(entry_name_problem("a\x1b[2Jb") != NULL);
}

static const char H1[] = "0000000000000000000000000000000000000000000000000000000000000001";

static int parse(const char *text)
{
	struct sums s;
	struct ferr e = {0};
	int rc = sums_parse(text, strlen(text), &s, &e);

	if (rc == FX_OK)
		sums_free(&s);
	return rc;
}

static void test_sums(void)
{
	char buf[512];
	struct sums s;
	struct ferr e = {0};
	char *out;
	size_t len;

	snprintf(buf, sizeof(buf), "%s  a\n%s  b/c\n", H1, H1);
	CHECK(parse(buf) == FX_OK);
	CHECK(sums_parse(buf, strlen(buf), &s, &e) == FX_OK);
	CHECK(s.n == 2 && sums_find(&s, "b/c") != NULL && sums_find(&s, "b") == NULL);
	out = sums_format(&s, &len);
	CHECK(len == strlen(buf) && memcmp(out, buf, len) == 0); /* round trip */
	free(out);
	sums_free(&s);
	snprintf(buf, sizeof(buf), "%s  b\n%s  a\n", H1, H1);
	CHECK(parse(buf) == FX_VERIFY); /* not sorted */
	snprintf(buf, sizeof(buf), "%s  a\n%s  a\n", H1, H1);
	CHECK(parse(buf) == FX_VERIFY); /* duplicate */
	snprintf(buf, sizeof(buf), "%s  a", H1);
	CHECK(parse(buf) == FX_VERIFY); /* no newline */
	snprintf(buf, sizeof(buf), "%s a\n", H1);
	CHECK(parse(buf) == FX_VERIFY); /* one space */
	snprintf(buf, sizeof(buf), "%s *a\n", H1);
	CHECK(parse(buf) == FX_VERIFY); /* binary marker */
	snprintf(buf, sizeof(buf), "%s  ../a\n", H1);
	CHECK(parse(buf) == FX_VERIFY); /* hostile path */
	CHECK(parse("00000000000000000000000000000000000000000000000000000000000000GG  a\n") == FX_VERIFY);
	CHECK(parse("000000000000000000000000000000000000000000000000000000000000000A  a\n") == FX_VERIFY);
	CHECK(parse("") == FX_VERIFY);
	CHECK(parse("\n") == FX_VERIFY);
}

static void test_esc(void)
{
	char b[64];

	CHECK(strcmp(fx_esc("plain", b, sizeof(b)), "plain") == 0);
	CHECK(strcmp(fx_esc("a\x1b[31mb", b, sizeof(b)), "a\\x1b[31mb") == 0);
	CHECK(strcmp(fx_esc("a\\b", b, sizeof(b)), "a\\\\b") == 0);
	CHECK(strcmp(fx_esc("caf\xc3\xa9", b, sizeof(b)), "caf\xc3\xa9") == 0);        /* valid UTF-8 kept */
	CHECK(strcmp(fx_esc("\xff\xfe", b, sizeof(b)), "\\xff\\xfe") == 0);              /* invalid UTF-8 */
	CHECK(strcmp(fx_esc("x\xe2\x80\xaey", b, sizeof(b)), "x\\xe2\\x80\\xaey") == 0); /* bidi override */
	CHECK(strlen(fx_esc("\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01", b, 16)) < 16);
	/* validity is not printability: a bidi override is valid UTF-8 that fx_esc escapes */
	CHECK(fx_utf8_valid("caf\xc3\xa9") && fx_utf8_valid("x\xe2\x80\xaey") && fx_utf8_valid(""));
	CHECK(!fx_utf8_valid("\xff") && !fx_utf8_valid("\xc0\xaf") && !fx_utf8_valid("\xed\xa0\x80"));
	CHECK(!fx_utf8_valid("\xe2\x80"));
}

/* Positions of YAML nodes come in a buffer of the caller, the file name escaped. */
static void test_yaml_where(void)
{
	static const char text[] = "a: 1\nb:\n  c: 2\n";
	struct ydoc d;
	struct ferr e = {0};
	yaml_node_t *b;

	CHECK(ydoc_load(&d, text, sizeof(text) - 1, "sp\x1b.yaml", FX_USAGE, &e) == FX_OK);
	b = ymap_get(&d, ydoc_root(&d), "b");
	CHECK(b != NULL && strcmp(ydoc_where(&d, b), "sp\\x1b.yaml:3:3") == 0);
	CHECK(b != NULL && strcmp(ydoc_where(&d, ydoc_root(&d)), ydoc_where(&d, b)) != 0); /* two buffers */
	ydoc_free(&d);
}

/* The option values both mains parse. */
static void test_cli_values(void)
{
	uint64_t v;
	int64_t t;

	CHECK(cli_parse_now("1800000000", &t) == 0 && t == 1800000000);
	CHECK(cli_parse_now("2026-11-23T10:00:00Z", &t) == 0 && t == 1795428000);
	CHECK(cli_parse_now("253402300800", &t) != 0 && cli_parse_now("soon", &t) != 0);
	CHECK(cli_parse_date("+30d", 1000, &t) == 0 && t == 1000 + 30 * 86400);
	CHECK(cli_parse_date("2027-11-23", 0, &t) == 0 && t == 1826928000);
	CHECK(cli_parse_date("+d", 0, &t) != 0 && cli_parse_date("+30", 0, &t) != 0 &&
	    cli_parse_date("+-1d", 0, &t) != 0 && cli_parse_date("+99999999999999999d", 0, &t) != 0);
	CHECK(cli_parse_number("19", 1, 19, &v) == 0 && v == 19);
	CHECK(cli_parse_number("20", 1, 19, &v) != 0 && cli_parse_number("0", 1, 19, &v) != 0 &&
	    cli_parse_number("1e3", 1, 2000, &v) != 0);
}

struct taken {
	int id;
	const char *value;
};

static int take_one(void *ctx, int id, char *value)
{
	struct taken *t = ctx;

	t->id = id;
	t->value = value;
	return FX_OK;
}

/* One name on two lines of the table (a file for one verb, a flag for another): each
 * verb gets its own line; a verb with neither refuses it. */
static void test_cli_shared_name(void)
{
	static const struct cli_option table[] = {
	    {"map", 300, required_argument, CLI_VERB(1)},
	    {"map", 301, no_argument, CLI_VERB(2)},
	    {NULL, 0, 0, 0},
	};
	static const struct cli_verb load = {"load", 1, "usage: load\n", NULL};
	static const struct cli_verb show = {"show", 2, "usage: show\n", NULL};
	static const struct cli_verb other = {"other", 3, "usage: other\n", NULL};
	char a0[] = "load", a1[] = "--map", a2[] = "m.json", a3[] = "B";
	char *with_file[] = {a0, a1, a2, a3, NULL};
	char b0[] = "show", b1[] = "--map", b2[] = "B";
	char *as_flag[] = {b0, b1, b2, NULL};
	char c0[] = "other", c1[] = "--map", c2[] = "B";
	char *elsewhere[] = {c0, c1, c2, NULL};
	struct taken t = {0, NULL};
	int first = 0;

	CHECK(cli_parse(4, with_file, table, &load, take_one, &t, &first) == FX_OK);
	CHECK(t.id == 300 && t.value != NULL && strcmp(t.value, "m.json") == 0 && first == 3);
	memset(&t, 0, sizeof(t));
	CHECK(cli_parse(3, as_flag, table, &show, take_one, &t, &first) == FX_OK);
	CHECK(t.id == 301 && t.value == NULL && first == 2 && strcmp(as_flag[first], "B") == 0);
	memset(&t, 0, sizeof(t));
	CHECK(cli_parse(3, elsewhere, table, &other, take_one, &t, &first) == FX_USAGE && t.id == 0);
}

static void test_numbers(void)
{
	uint64_t v;
	int64_t t;

	CHECK(parse_u64("0", &v) == 0 && v == 0);
	CHECK(parse_u64("18446744073709551615", &v) == 0 && v == UINT64_MAX);
	CHECK(parse_u64("18446744073709551616", &v) != 0);
	CHECK(parse_u64("-1", &v) != 0 && parse_u64("1x", &v) != 0 && parse_u64("", &v) != 0);
	CHECK(parse_size("4000M", &v) == 0 && v == 4000ULL << 20);
	CHECK(parse_size("1G", &v) == 0 && v == 1ULL << 30);
	CHECK(parse_size("0", &v) != 0 && parse_size("M", &v) != 0 && parse_size("99999999999T", &v) != 0);
	CHECK(parse_time_utc("2026-11-23T10:00:00Z", &t) == 0 && t == 1795428000);
	CHECK(parse_time_utc("2026-11-23", &t) == 0 && t == 1795392000);
	CHECK(parse_time_utc("2026-11-23T10:00:00", &t) != 0 && parse_time_utc("yesterday", &t) != 0);
}

static int mparse(const char *text, struct manifest *m, struct ferr *e)
{
	return manifest_parse(text, strlen(text), m, e);
}

/* A delta's bases: written only when there are any, read back the same, every digest
 * checked. */
static void test_manifest_bases(void)
{
	static const char head[] = "apiVersion: ferry/v1\nkind: Bundle\nmetadata: {name: a, version: b}\n";
	static const char hex[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct man_required req = {NULL, 42, "ferry.test/app:1"};
	struct man_base base = {"app", "1", NULL, &req, 1};
	struct manifest m, back;
	struct ferr e = {0};
	char *y = NULL, *text, sums[80], digest[80];
	size_t len = 0, which = 9;

	snprintf(sums, sizeof(sums), "sha256:%s", hex);
	snprintf(digest, sizeof(digest), "sha256:%.63s0", hex);
	base.sums = sums;
	req.digest = digest;
	memset(&m, 0, sizeof(m));
	m.name = "a";
	m.version = "2";
	CHECK(manifest_emit(&m, &y, &len, &e) == FX_OK && strstr(y, "bases") == NULL);
	free(y);
	m.bases = &base;
	m.nbases = 1;
	CHECK(manifest_emit(&m, &y, &len, &e) == FX_OK && manifest_parse(y, len, &back, &e) == FX_OK);
	if (e.code == FX_OK) {
		const struct man_required *r = manifest_required(&back, digest, &which);
		CHECK(back.nbases == 1 && strcmp(back.bases[0].sums, sums) == 0 && strcmp(back.bases[0].version, "1") == 0);
		CHECK(r != NULL && which == 0 && r->size == 42 && strcmp(r->image, "ferry.test/app:1") == 0);
		CHECK(manifest_required(&back, sums, NULL) == NULL);
		manifest_free(&back);
	}
	free(y);
	text = xasprintf("%sbases: [{name: x, version: y, sums: sha256:ab, blobs: []}]\n", head);
	CHECK(mparse(text, &back, &e) == FX_VERIFY && strstr(e.msg, "'sums'") != NULL);
	free(text);
	memset(&e, 0, sizeof(e));
	text = xasprintf("%sbases: [{name: x, version: y, sums: \"%s\", blobs: [{digest: \"sha256:../x\", size: 1}]}]\n", head, sums);
	CHECK_MSG(mparse(text, &back, &e) == FX_VERIFY && strstr(e.msg, "'digest'") != NULL, "%s", e.msg);
	free(text);
	memset(&e, 0, sizeof(e));
	text = xasprintf("%sbases: [{name: x, sums: \"%s\"}]\n", head, sums);
	CHECK(mparse(text, &back, &e) == FX_VERIFY);
	free(text);
}

static void test_manifest(void)
{
	struct manifest m, back;
	struct man_entry ent[2] = {{"docs/a.md", 5}, {"files/b", 0}};
	struct man_doc doc = {"docs/a.md", "1.0"};
	struct ferr e = {0};
	char *y = NULL, *y2 = NULL;
	size_t len = 0, len2 = 0;

	memset(&m, 0, sizeof(m));
	m.name = "demo";
	m.version = "1.0"; /* must come back as a string, not a float */
	m.vendor = "Acme: \"quoted\"\n";
	m.docs = &doc;
	m.ndocs = 1;
	m.entries = ent;
	m.nentries = 2;
	CHECK(manifest_emit(&m, &y, &len, &e) == FX_OK);
	CHECK(y != NULL && manifest_parse(y, len, &back, &e) == FX_OK);
	if (e.code == FX_OK) {
		CHECK(strcmp(back.version, "1.0") == 0 && strcmp(back.vendor, m.vendor) == 0);
		CHECK(back.nentries == 2 && manifest_entry(&back, "files/b") != NULL && manifest_entry(&back, "x") == NULL);
		CHECK(strcmp(back.docs[0].title, "1.0") == 0);
		CHECK(manifest_emit(&back, &y2, &len2, &e) == FX_OK && len2 == len && memcmp(y, y2, len) == 0);
		manifest_free(&back);
	}
	free(y);
	free(y2);
	memset(&e, 0, sizeof(e));
	CHECK(mparse("apiVersion: ferry/v2\nkind: Bundle\nmetadata: {name: a, version: b}\n", &back, &e) == FX_VERIFY);
	memset(&e, 0, sizeof(e));
	CHECK(mparse("apiVersion: ferry/v1\nkind: Bundle\nmetadata: {name: a, version: b}\nfuture: 1\n", &back, &e) == FX_OK);
	if (e.code == FX_OK)
		manifest_free(&back);
	memset(&e, 0, sizeof(e));
	CHECK(mparse("apiVersion: ferry/v1\nkind: Bundle\nmetadata: {name: a, version: b}\nentries: [{path: x, size: -1}]\n", &back, &e) == FX_VERIFY);
	test_manifest_bases();
}

int main(void)
{
	test_names();
	test_sums();
	test_esc();
	test_numbers();
	test_manifest();
	test_yaml_where();
	test_cli_values();
	test_cli_shared_name();
	return check_report("test_core");
}
