/* test_targets.c - the load targets' toolkit (blob entry names, the plan, verdicts,
 * the report) and the oci:DIR target end to end: a small unsigned bundle written here
 * is loaded into a temporary layout, then loaded again over damaged blobs, FIFOs and
 * symbolic links planted where the layout's files go. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "bundle/bundle.h"
#include "bundle/chart.h"
#include "cli/load.h"
#include "target/target.h"
#include "util/digest.h"
#include "util/file.h"
#include "util/util.h"

static int failures;
static char tmp[256];

#include "check.h"

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HEX_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define HEX_D "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define HEX_E "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
#define HEX_F "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"

/* ---------------------------------------------------------------- stderr capture */

static int saved_stderr = -1;
static char capture_path[300];

static void capture_begin(void)
{
	int fd;

	fflush(stderr);
	snprintf(capture_path, sizeof(capture_path), "%s/stderr.txt", tmp);
	fd = open(capture_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
}

/* The text written to stderr since capture_begin (malloc'd). */
static char *capture_end(void)
{
	char *text = NULL;
	size_t len = 0;
	struct ferr e = {0, ""};

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	if (read_file_max(capture_path, 1 << 20, &text, &len, &e) != FX_OK)
		text = xstrdup("");
	return text;
}

/* ---------------------------------------------------------------- blob entry names */

static void test_entry_names(void)
{
	static const struct {
		const char *name;
		int is_blob;
	} cases[] = {
	    {"images/blobs/sha256/" HEX_A, 1},
	    {"images/blobs/sha256/" HEX_A "x", 0},
	    {"images/blobs/sha256/" HEX_A "/", 0},
	    {"images/blobs/sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0},
	    {"images/blobs/sha256/aaaa", 0},
	    {"images/blobs/sha512/" HEX_A, 0},
	    {"images/index.json", 0},
	    {"docs/blobs/sha256/" HEX_A, 0},
	    {"", 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *hex = blob_entry_hex(cases[i].name);

		CHECK((hex != NULL) == cases[i].is_blob);
		if (hex != NULL)
			CHECK(strcmp(hex, HEX_A) == 0);
	}
}

/* ---------------------------------------------------------------- the plan */

static char *dig(const char *hex)
{
	return xasprintf("sha256:%s", hex);
}

static void image_set(struct man_image *mi, const char *ref, const char *digest, const char *const *blobs,
    size_t nblobs, const char *const *manifests, size_t nmanifests)
{
	size_t i;

	memset(mi, 0, sizeof(*mi));
	mi->ref = xstrdup(ref);
	mi->digest = xstrdup(digest);
	mi->media_type = xstrdup("application/vnd.oci.image.manifest.v1+json");
	mi->blobs = xcalloc(nblobs ? nblobs : 1, sizeof(char *));
	for (i = 0; i < nblobs; i++)
		mi->blobs[mi->nblobs++] = xstrdup(blobs[i]);
	mi->manifests = xcalloc(nmanifests ? nmanifests : 1, sizeof(char *));
	for (i = 0; i < nmanifests; i++)
		mi->manifests[mi->nmanifests++] = xstrdup(manifests[i]);
}

static void entry_add(struct manifest *m, const char *hex, uint64_t size)
{
	m->entries = xreallocarray(m->entries, m->nentries + 1, sizeof(*m->entries));
	m->entries[m->nentries].path = xasprintf("images/blobs/sha256/%s", hex);
	m->entries[m->nentries].size = size;
	m->nentries++;
}

/* Three images: app (config A, layers B and C, manifest D), web (config E, the same
 * layer C, manifest F) and multi (an index F over the manifest D: children first). */
static void plan_manifest(struct manifest *m)
{
	char *a = dig(HEX_A), *b = dig(HEX_B), *c = dig(HEX_C), *d = dig(HEX_D), *e = dig(HEX_E), *f = dig(HEX_F);
	const char *app_blobs[] = {a, b, c, d}, *app_manifests[] = {d};
	const char *web_blobs[] = {e, c, f}, *web_manifests[] = {f};
	const char *multi_blobs[] = {a, b, c, d}, *multi_manifests[] = {d, f};

	memset(m, 0, sizeof(*m));
	m->images = xcalloc(3, sizeof(*m->images));
	image_set(&m->images[0], "ferry.test/app:1", d, app_blobs, 4, app_manifests, 1);
	image_set(&m->images[1], "ferry.test/web:1", f, web_blobs, 3, web_manifests, 1);
	image_set(&m->images[2], "ferry.test/multi:1", f, multi_blobs, 4, multi_manifests, 2);
	m->nimages = 3;
	entry_add(m, HEX_A, 10);
	entry_add(m, HEX_B, 20);
	entry_add(m, HEX_C, 30);
	entry_add(m, HEX_D, 40);
	entry_add(m, HEX_E, 50);
	entry_add(m, HEX_F, 60);
	free(a);
	free(b);
	free(c);
	free(d);
	free(e);
	free(f);
}

static void test_plan(void)
{
	struct manifest m;
	struct target_plan p;
	struct ferr e = {0, ""};
	char *only_web[] = {"ferry.test/web:1"}, *nope[] = {"ferry.test/nope:1"};
	size_t i, c;

	plan_manifest(&m);
	CHECK(target_plan_build(&p, &m, NULL, NULL, 0, &e) == FX_OK);
	CHECK(p.nimages == 3 && p.nblobs == 6);
	for (i = 1; i < p.nblobs; i++)
		CHECK(strcmp(p.blobs[i - 1].digest, p.blobs[i].digest) < 0);
	c = target_plan_find(&p, "sha256:" HEX_C);
	CHECK(c != PLAN_NONE && c == target_plan_entry(&p, "images/blobs/sha256/" HEX_C));
	CHECK(p.blobs[c].size == 30 && !p.blobs[c].is_manifest);
	CHECK(p.blobs[c].nimages == 3 && p.blobs[c].images[0] == 0 && p.blobs[c].images[2] == 2);
	i = target_plan_find(&p, "sha256:" HEX_D);
	CHECK(p.blobs[i].is_manifest && p.blobs[i].nimages == 2);
	i = target_plan_find(&p, "sha256:" HEX_F);
	CHECK(p.blobs[i].is_manifest && p.blobs[i].size == 60);
	CHECK(target_plan_entry(&p, "images/blobs/sha256/" HEX_A "0") == PLAN_NONE);
	CHECK(target_plan_entry(&p, "docs/readme.md") == PLAN_NONE);
	CHECK(target_plan_find(&p, "sha256:0000") == PLAN_NONE);
	/* the index: every blob once, its manifests children first, its own last */
	CHECK(p.images[2].nblobs == 5 && p.images[2].nmanifests == 2);
	CHECK(strcmp(p.blobs[p.images[2].manifests[0]].digest, "sha256:" HEX_D) == 0);
	CHECK(strcmp(p.blobs[p.images[2].manifests[1]].digest, "sha256:" HEX_F) == 0);
	CHECK(p.images[0].nblobs == 4 && p.images[0].nmanifests == 1 && !p.images[0].unusable);
	target_plan_free(&p);

	/* --image: a subset; an unknown reference is a usage error naming it */
	CHECK(target_plan_build(&p, &m, NULL, only_web, 1, &e) == FX_OK);
	CHECK(p.nimages == 1 && p.nblobs == 3 && strcmp(p.images[0].mi->ref, "ferry.test/web:1") == 0);
	CHECK(target_plan_find(&p, "sha256:" HEX_A) == PLAN_NONE);
	target_plan_free(&p);
	CHECK(target_plan_build(&p, &m, NULL, nope, 1, &e) == FX_USAGE && strstr(e.msg, "ferry.test/nope:1") != NULL);
	target_plan_free(&p);
	manifest_free(&m);
}

/* Charts in the plan: after the images, named P/NAME:TAG ('+' as '_'), their blobs
 * shared with images once; a chart of an older bundle (no digest) is left out. */
static void test_plan_charts(void)
{
	struct manifest m;
	struct target_plan p;
	struct plan_select sel;
	struct ferr e = {0, ""};
	char tag[CHART_TAG_MAX];
	size_t i;

	plan_manifest(&m);
	m.charts = xcalloc(2, sizeof(*m.charts));
	m.ncharts = 2;
	m.charts[0].name = xstrdup("acme");
	m.charts[0].version = xstrdup("1.2.3+build.5");
	m.charts[0].path = xstrdup("charts/acme-1.2.3+build.5.tgz");
	m.charts[0].digest = xstrdup("sha256:" HEX_E);
	m.charts[0].nblobs = 3;
	m.charts[0].blobs = xcalloc(3, sizeof(char *));
	m.charts[0].blobs[0] = xstrdup("sha256:" HEX_A); /* shared with an image */
	m.charts[0].blobs[1] = xstrdup("sha256:" HEX_B);
	m.charts[0].blobs[2] = xstrdup("sha256:" HEX_E);
	m.charts[1].name = xstrdup("old");
	m.charts[1].version = xstrdup("0.1.0");
	m.charts[1].path = xstrdup("charts/old-0.1.0.tgz");
	memset(&sel, 0, sizeof(sel));
	sel.charts = 1;
	sel.charts_path = "helm/charts";
	CHECK(target_plan_select(&p, &m, NULL, &sel, &e) == FX_OK);
	CHECK(p.nimages == 4 && p.ncharts == 1 && p.images[3].chart == &m.charts[0]);
	CHECK(strcmp(p.images[3].mi->ref, "helm/charts/acme:1.2.3_build.5") == 0);
	CHECK(strcmp(p.images[3].chart_repo, "helm/charts/acme") == 0);
	CHECK(p.images[3].nblobs == 3 && p.images[3].nmanifests == 1 && !p.images[3].unusable);
	i = target_plan_find(&p, "sha256:" HEX_E);
	CHECK(i != PLAN_NONE && p.blobs[i].is_manifest);
	i = target_plan_find(&p, "sha256:" HEX_A);
	CHECK(i != PLAN_NONE && p.blobs[i].nimages == 3);
	target_plan_free(&p);
	sel.no_images = 1; /* --charts-only */
	CHECK(target_plan_select(&p, &m, NULL, &sel, &e) == FX_OK && p.nimages == 1 && p.ncharts == 1);
	target_plan_free(&p);
	CHECK(target_plan_build(&p, &m, NULL, NULL, 0, &e) == FX_OK && p.nimages == 3 && p.ncharts == 0);
	target_plan_free(&p);
	manifest_free(&m);

	chart_tag("1.2.3-rc.1+build.5.x", tag, sizeof(tag));
	CHECK(strcmp(tag, "1.2.3-rc.1_build.5.x") == 0);
	CHECK(target_charts_path_valid("charts") && target_charts_path_valid("helm/charts-v1"));
	CHECK(!target_charts_path_valid("") && !target_charts_path_valid("/charts") && !target_charts_path_valid("a//b"));
	CHECK(!target_charts_path_valid("Charts") && !target_charts_path_valid("a/") && !target_charts_path_valid("a/../b"));
}

/* bundle.yaml or SHA256SUMS describing an image wrongly makes it unusable (FX_VERIFY
 * on every target); its blobs leave the plan unless a good image needs them. */
static void test_plan_unusable(void)
{
	struct manifest m;
	struct target_plan p;
	struct sums sums;
	struct ferr e = {0, ""};
	unsigned char other[SHA256_LEN];
	struct image_verdict *v;

	plan_manifest(&m);
	free(m.images[1].blobs[0]);
	m.images[1].blobs[0] = xstrdup("sha256:E"); /* web: a malformed digest */
	free(m.images[2].manifests[1]);
	m.images[2].manifests[1] = xstrdup("sha256:" HEX_E); /* multi: its own digest not last */
	CHECK(target_plan_build(&p, &m, NULL, NULL, 0, &e) == FX_OK);
	CHECK(!p.images[0].unusable);
	CHECK(p.images[1].unusable && strstr(p.images[1].why, "bad digest sha256:E") != NULL);
	CHECK(p.images[2].unusable && strstr(p.images[2].why, "does not list its manifest") != NULL);
	CHECK(p.nblobs == 4 && p.images[1].nblobs == 0);
	CHECK(target_plan_find(&p, "sha256:" HEX_E) == PLAN_NONE);
	v = verdicts_new(&p);
	CHECK(!v[0].failed && v[1].failed == FX_VERIFY && v[2].failed == FX_VERIFY);
	free(v);
	target_plan_free(&p);
	manifest_free(&m);

	/* a SHA256SUMS line that is not the blob's name: the reader would verify bytes
	 * that are not the blob the name promises */
	plan_manifest(&m);
	memset(&sums, 0, sizeof(sums));
	hex_decode(HEX_A, 64, other);
	sums_add(&sums, "images/blobs/sha256/" HEX_A, other); /* its own name: fine */
	memset(other, 0x11, sizeof(other));
	sums_add(&sums, "images/blobs/sha256/" HEX_E, other);
	sums_sort(&sums);
	CHECK(target_plan_build(&p, &m, &sums, NULL, 0, &e) == FX_OK);
	CHECK(!p.images[0].unusable && !p.images[2].unusable);
	CHECK(p.images[1].unusable &&
	    strstr(p.images[1].why, "sha256:" HEX_E ": SHA256SUMS gives its entry another digest") != NULL);
	CHECK(target_plan_find(&p, "sha256:" HEX_E) == PLAN_NONE);
	CHECK(target_plan_find(&p, "sha256:" HEX_F) != PLAN_NONE); /* multi still needs it */
	target_plan_free(&p);
	sums_free(&sums);
	manifest_free(&m);
}

/* A delta: blobs without an entry that bundle.yaml's bases list are required from the
 * target (with their signed size and base); a manifest left out makes its image
 * unusable, since no target could tag it; a blob neither carried nor required stays
 * plain missing. */
static void test_plan_delta(void)
{
	struct manifest m;
	struct target_plan p;
	struct ferr e = {0, ""};
	size_t i;

	plan_manifest(&m);
	free(m.entries[0].path); /* A and B left out (A: 10 bytes in the base), C and D carried */
	free(m.entries[1].path);
	memmove(m.entries, m.entries + 2, (m.nentries - 2) * sizeof(*m.entries));
	m.nentries -= 2;
	m.bases = xcalloc(1, sizeof(*m.bases));
	m.nbases = 1;
	m.bases[0].name = xstrdup("app");
	m.bases[0].version = xstrdup("1");
	m.bases[0].sums = dig(HEX_E);
	m.bases[0].blobs = xcalloc(1, sizeof(*m.bases[0].blobs));
	m.bases[0].blobs[0].digest = dig(HEX_A);
	m.bases[0].blobs[0].size = 11;
	m.bases[0].nblobs = 1;
	CHECK(target_plan_build(&p, &m, NULL, NULL, 0, &e) == FX_OK);
	CHECK(p.nrequired == 1);
	i = target_plan_find(&p, "sha256:" HEX_A);
	CHECK(i != PLAN_NONE && p.blobs[i].base == 0 && p.blobs[i].size == 11);
	i = target_plan_find(&p, "sha256:" HEX_B);
	CHECK(i != PLAN_NONE && p.blobs[i].base == PLAN_NONE && p.blobs[i].size == 0);
	i = target_plan_find(&p, "sha256:" HEX_C);
	CHECK(i != PLAN_NONE && p.blobs[i].base == PLAN_NONE && p.blobs[i].size == 30);
	CHECK(!p.images[0].unusable && !p.images[1].unusable);
	target_plan_free(&p);

	/* the manifest D required from a base: app and multi (which holds D) are unusable */
	free(m.bases[0].blobs[0].digest);
	m.bases[0].blobs[0].digest = dig(HEX_D);
	CHECK(target_plan_build(&p, &m, NULL, NULL, 0, &e) == FX_OK);
	CHECK(p.images[0].unusable && strstr(p.images[0].why, "leaves out manifest sha256:" HEX_D) != NULL);
	CHECK(p.images[2].unusable && !p.images[1].unusable && p.nrequired == 0);
	target_plan_free(&p);
	manifest_free(&m);
}

/* ---------------------------------------------------------------- verdicts, report */

static void test_report(void)
{
	struct manifest m;
	struct target_plan p;
	struct image_verdict *v;
	struct ferr e = {0, ""};
	struct target_report r;
	char *out;

	plan_manifest(&m);
	free(m.images[1].ref);
	m.images[1].ref = xstrdup("ferry.test/web\x1b[31m:1");
	CHECK(target_plan_build(&p, &m, NULL, NULL, 0, &e) == FX_OK);
	memset(&r, 0, sizeof(r));
	r.spec = "oci:/x";
	r.plan = &p;
	r.finished = 1;

	/* every image loaded */
	r.verdicts = v = verdicts_new(&p);
	capture_begin();
	CHECK(target_report(&r, &e, "blobs: %d written", 6) == FX_OK);
	out = capture_end();
	CHECK(strstr(out, ": oci:/x: 3 images loaded, 0 failed; blobs: 6 written\n") != NULL);
	CHECK(strstr(out, "not loaded") == NULL);
	free(out);

	/* per blob: missing, did not verify, failed at the target; the first reason stays */
	verdict_blob(&v[0], "sha256:" HEX_B, BLOB_PENDING, "");
	verdict_blob(&v[0], "sha256:" HEX_C, BLOB_FAILED, "disk full");
	verdict_blob(&v[1], "sha256:" HEX_C, BLOB_OK, "");
	verdict_blob(&v[1], "sha256:" HEX_C, BLOB_BAD, "did not verify");
	verdict_blob(&v[2], "sha256:" HEX_C, BLOB_FAILED, "disk full");
	CHECK(v[0].failed == FX_VERIFY && strcmp(v[0].why, "sha256:" HEX_B " is missing from the bundle") == 0);
	CHECK(v[1].failed == FX_VERIFY && strcmp(v[1].why, "sha256:" HEX_C " did not verify") == 0);
	CHECK(v[2].failed == FX_TARGET && strcmp(v[2].why, "disk full") == 0);
	e.code = 0;
	capture_begin();
	CHECK(target_report(&r, &e, "x") == FX_TARGET);
	out = capture_end();
	CHECK(strstr(out, "oci:/x: ferry.test/app:1: not loaded: sha256:" HEX_B " is missing") != NULL);
	CHECK(strstr(out, "ferry.test/web\\x1b[31m:1: not loaded") != NULL); /* escaped */
	CHECK(strchr(out, 0x1b) == NULL);
	CHECK(strstr(out, "oci:/x: 0 images loaded, 3 failed; x\n") != NULL);
	CHECK(strstr(e.msg, "3 of 3 images not loaded") != NULL);
	free(out);
	free(v);

	/* the bundle's fault only: FX_VERIFY; a dry run says so */
	r.verdicts = v = verdicts_new(&p);
	verdict_fail(&v[1], FX_VERIFY, "bad");
	r.dry_run = 1;
	e.code = 0;
	capture_begin();
	CHECK(target_report(&r, &e, "y") == FX_VERIFY);
	out = capture_end();
	CHECK(strstr(out, "dry run: 2 images would be loaded, 1 would fail; y\n") != NULL);
	free(out);
	free(v);

	/* the read stopped early: FX_IO; the target dead: FX_TARGET, its reason once */
	r.dry_run = 0;
	r.finished = 0;
	r.verdicts = v = verdicts_new(&p);
	e.code = 0;
	capture_begin();
	CHECK(target_report(&r, &e, "z") == FX_IO);
	out = capture_end();
	CHECK(strstr(out, "app:1: not loaded: the bundle was not read to the end") != NULL);
	free(out);
	free(v);
	r.verdicts = v = verdicts_new(&p);
	r.dead_why = "cannot connect";
	r.dead_image_why = "unreachable";
	e.code = 0;
	capture_begin();
	CHECK(target_report(&r, &e, "z") == FX_TARGET);
	out = capture_end();
	CHECK(strstr(out, "oci:/x: cannot connect\n") != NULL);
	CHECK(strstr(out, "multi:1: not loaded: unreachable") != NULL);
	free(out);
	free(v);
	target_plan_free(&p);
	manifest_free(&m);
}

/* ---------------------------------------------------------------- oci:DIR */

struct blob {
	char *data;
	size_t len;
	char hex[SHA256_HEX];
};

static void blob_set(struct blob *b, char *data)
{
	unsigned char d[SHA256_LEN];

	b->data = data;
	b->len = strlen(data);
	sha256_buf(b->data, b->len, d);
	hex_encode(d, SHA256_LEN, b->hex);
}

/* Two images, app and web, sharing a layer: config, layer, manifest each. */
struct fixture {
	struct blob app_config, web_config, shared_layer, app_layer, app_manifest, web_manifest;
};

static char *manifest_json(const struct blob *config, const struct blob *const *layers, size_t n)
{
	char *s = xasprintf("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:%s\",\"size\":%zu},"
	    "\"layers\":[", config->hex, config->len);
	size_t i;

	for (i = 0; i < n; i++) {
		char *t = xasprintf("%s%s{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:%s\","
		    "\"size\":%zu}", s, i ? "," : "", layers[i]->hex, layers[i]->len);
		free(s);
		s = t;
	}
	{
		char *t = xasprintf("%s]}", s);
		free(s);
		s = t;
	}
	return s;
}

static void fixture_make(struct fixture *f)
{
	const struct blob *app_layers[2], *web_layers[1];

	blob_set(&f->app_config, xstrdup("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"app\"]}}"));
	blob_set(&f->web_config, xstrdup("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"web\"]}}"));
	blob_set(&f->shared_layer, xstrdup("the shared base layer, pretending to be a tar"));
	blob_set(&f->app_layer, xstrdup("app's own layer: a few more bytes than the others have"));
	app_layers[0] = &f->shared_layer;
	app_layers[1] = &f->app_layer;
	web_layers[0] = &f->shared_layer;
	blob_set(&f->app_manifest, manifest_json(&f->app_config, app_layers, 2));
	blob_set(&f->web_manifest, manifest_json(&f->web_config, web_layers, 1));
}

static void fixture_free(struct fixture *f)
{
	free(f->app_config.data);
	free(f->web_config.data);
	free(f->shared_layer.data);
	free(f->app_layer.data);
	free(f->app_manifest.data);
	free(f->web_manifest.data);
}

/* An unsigned bundle of the fixture at path. name_of_app_layer: the name the app layer
 * is stored and listed under (its own hex, or another one: then its SHA256SUMS line is
 * not its name). */
static void bundle_make(const char *path, const struct fixture *f, const char *name_of_app_layer)
{
	const struct blob *blobs[6] = {&f->app_config, &f->web_config, &f->shared_layer, &f->app_layer,
	    &f->app_manifest, &f->web_manifest};
	char names[6][100];
	struct bw_opts o;
	struct bundle_writer *w = NULL;
	struct sums sums;
	struct ferr e = {0, ""};
	unsigned char d[SHA256_LEN];
	char *yaml, *entries = xstrdup(""), *sums_text, *t;
	size_t sums_len, i;

	memset(&sums, 0, sizeof(sums));
	for (i = 0; i < 6; i++) {
		snprintf(names[i], sizeof(names[i]), "images/blobs/sha256/%s", i == 3 ? name_of_app_layer : blobs[i]->hex);
		t = xasprintf("%s  - {path: %s, size: %zu}\n", entries, names[i], blobs[i]->len);
		free(entries);
		entries = t;
		sha256_buf(blobs[i]->data, blobs[i]->len, d);
		sums_add(&sums, names[i], d);
	}
	yaml = xasprintf("apiVersion: ferry/v1\nkind: Bundle\nmetadata: {name: t, version: '1'}\nimages:\n"
	    "  - ref: ferry.test/app:1\n    digest: sha256:%s\n    mediaType: application/vnd.oci.image.manifest.v1+json\n"
	    "    blobs: [sha256:%s, sha256:%s, sha256:%s, sha256:%s]\n    manifests: [sha256:%s]\n"
	    "  - ref: ferry.test/web:1\n    digest: sha256:%s\n    mediaType: application/vnd.oci.image.manifest.v1+json\n"
	    "    blobs: [sha256:%s, sha256:%s, sha256:%s]\n    manifests: [sha256:%s]\n"
	    "charts: []\ndocs: []\nlicense: []\nfiles: []\nentries:\n%s",
	    f->app_manifest.hex, f->app_config.hex, f->shared_layer.hex, name_of_app_layer, f->app_manifest.hex,
	    f->app_manifest.hex, f->web_manifest.hex, f->web_config.hex, f->shared_layer.hex, f->web_manifest.hex,
	    f->web_manifest.hex, entries);
	sha256_buf(yaml, strlen(yaml), d);
	sums_add(&sums, BUNDLE_YAML, d);
	sums_sort(&sums);
	sums_text = sums_format(&sums, &sums_len);
	memset(&o, 0, sizeof(o));
	o.force = 1;
	if (bw_open(&w, path, &o, &e) != FX_OK || bw_add_buf(w, BUNDLE_SUMS, sums_text, sums_len, &e) != FX_OK ||
	    bw_add_buf(w, BUNDLE_YAML, yaml, strlen(yaml), &e) != FX_OK) {
		fprintf(stderr, "bundle_make: %s\n", e.msg);
		abort();
	}
	for (i = 0; i < 6; i++)
		if (bw_add_buf(w, names[i], blobs[i]->data, blobs[i]->len, &e) != FX_OK)
			abort();
	if (bw_commit(w, &e) != FX_OK)
		abort();
	bw_free(w);
	sums_free(&sums);
	free(sums_text);
	free(yaml);
	free(entries);
}

/* load BUNDLE --to oci:LAYOUT --allow-unsigned; stderr in *out. */
static int load_oci(const char *bundle, const char *layout, char **out, struct ferr *e)
{
	struct read_opts ro;
	struct load_opts lo;
	char *target = xasprintf("oci:%s", layout);
	char *targets[1] = {target};
	int rc;

	memset(&ro, 0, sizeof(ro));
	memset(&lo, 0, sizeof(lo));
	ro.allow_unsigned = 1;
	lo.targets = targets;
	lo.ntargets = 1;
	lo.jobs = 4;
	lo.quiet = 1;
	e->code = 0;
	e->msg[0] = '\0';
	capture_begin();
	rc = load_run(bundle, &ro, &lo, e);
	*out = capture_end();
	free(target);
	return rc;
}

/* Does the layout hold blob b, byte for byte? */
static int layout_has(const char *layout, const struct blob *b)
{
	char *path = xasprintf("%s/blobs/sha256/%s", layout, b->hex), *data = NULL;
	size_t len = 0;
	struct ferr e = {0, ""};
	int ok = read_file_max(path, 1 << 20, &data, &len, &e) == FX_OK && len == b->len && memcmp(data, b->data, len) == 0;

	free(path);
	free(data);
	return ok;
}

/* The digest index.json gives ref, or "" (static). */
static const char *index_digest(const char *layout, const char *ref)
{
	static char found[DIGEST_STR];
	char *path = xasprintf("%s/index.json", layout);
	json_t *root = json_load_file(path, 0, NULL), *desc;
	size_t i;

	found[0] = '\0';
	json_array_foreach(json_object_get(root, "manifests"), i, desc) {
		const char *name = json_string_value(
		    json_object_get(json_object_get(desc, "annotations"), "org.opencontainers.image.ref.name"));

		if (name != NULL && strcmp(name, ref) == 0)
			fx_strlcpy(found, json_string_value(json_object_get(desc, "digest")), sizeof(found));
	}
	json_decref(root);
	free(path);
	return found;
}

static void plant(const char *layout, const struct blob *b, const char *data, size_t len)
{
	char *path = xasprintf("%s/blobs/sha256/%s", layout, b->hex);
	struct ferr e = {0, ""};

	CHECK(fx_write_file(path, data, len, 0644, 1, &e) == FX_OK);
	free(path);
}

static void test_ocidir(void)
{
	struct fixture f;
	char *bundle = xasprintf("%s/t.ferry", tmp), *layout = xasprintf("%s/layout", tmp), *out = NULL, *path;
	char want[DIGEST_STR];
	struct ferr e;
	struct stat st;

	fixture_make(&f);
	bundle_make(bundle, &f, f.app_layer.hex);

	/* a fresh layout */
	CHECK(load_oci(bundle, layout, &out, &e) == FX_OK);
	CHECK(strstr(out, "2 images loaded, 0 failed; blobs: 6 written, 0 present") != NULL);
	free(out);
	snprintf(want, sizeof(want), "sha256:%s", f.app_manifest.hex);
	CHECK(strcmp(index_digest(layout, "ferry.test/app:1"), want) == 0);
	snprintf(want, sizeof(want), "sha256:%s", f.web_manifest.hex);
	CHECK(strcmp(index_digest(layout, "ferry.test/web:1"), want) == 0);
	CHECK(layout_has(layout, &f.app_layer) && layout_has(layout, &f.shared_layer) && layout_has(layout, &f.web_config));
	path = xasprintf("%s/oci-layout", layout);
	CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode));
	free(path);

	/* again: every blob there is checked and kept, none read from the bundle again */
	CHECK(load_oci(bundle, layout, &out, &e) == FX_OK);
	CHECK(strstr(out, "2 images loaded, 0 failed; blobs: 0 written, 6 present") != NULL);
	CHECK(strstr(out, "6 blobs already held by every target by digest") != NULL);
	free(out);

	/* a garbage blob of the right size and a truncated one are replaced */
	plant(layout, &f.app_layer, "X", 1);
	path = xstrdup(f.shared_layer.data);
	path[0] ^= 1;
	plant(layout, &f.shared_layer, path, f.shared_layer.len);
	free(path);
	CHECK(load_oci(bundle, layout, &out, &e) == FX_OK);
	CHECK(strstr(out, "blobs: 2 written, 4 present") != NULL);
	CHECK(strstr(out, "was damaged (1 bytes, not ") != NULL);
	CHECK(strstr(out, "was damaged (does not hash to its name): replaced by the verified blob") != NULL);
	CHECK(strstr(out, "2 damaged blobs replaced") != NULL);
	free(out);
	CHECK(layout_has(layout, &f.app_layer) && layout_has(layout, &f.shared_layer));

	/* a FIFO at a blob's path: that blob's images fail, naming it; the others load */
	path = xasprintf("%s/blobs/sha256/%s", layout, f.app_layer.hex);
	CHECK(unlink(path) == 0 && mkfifo(path, 0644) == 0);
	CHECK(load_oci(bundle, layout, &out, &e) == FX_TARGET);
	CHECK(strstr(out, "ferry.test/app:1: not loaded: ") != NULL);
	CHECK(strstr(out, f.app_layer.hex) != NULL && strstr(out, ": not a regular file (a FIFO)") != NULL);
	CHECK(strstr(out, "1 images loaded, 1 failed") != NULL);
	free(out);
	CHECK(unlink(path) == 0);
	free(path);

	/* a FIFO at index.json or oci-layout: refused at once (not waited on), named */
	path = xasprintf("%s/index.json", layout);
	CHECK(unlink(path) == 0 && mkfifo(path, 0644) == 0);
	CHECK(load_oci(bundle, layout, &out, &e) == FX_TARGET);
	CHECK(strstr(out, "/layout/index.json: not a regular file (a FIFO)") != NULL);
	free(out);
	CHECK(unlink(path) == 0 && symlink("/etc/passwd", path) == 0);
	CHECK(load_oci(bundle, layout, &out, &e) == FX_TARGET);
	CHECK(strstr(out, "/layout/index.json: a symbolic link") != NULL);
	free(out);
	CHECK(unlink(path) == 0);
	free(path);
	path = xasprintf("%s/oci-layout", layout);
	CHECK(unlink(path) == 0 && mkfifo(path, 0644) == 0);
	CHECK(load_oci(bundle, layout, &out, &e) == FX_TARGET);
	CHECK(strstr(out, "/layout/oci-layout: not a regular file (a FIFO)") != NULL);
	free(out);
	CHECK(unlink(path) == 0);
	free(path);

	/* a blob stored under another name than its SHA256SUMS line: the reader verifies the
	 * bytes, the plan refuses the image (the bundle's fault: exit 1), nothing written */
	bundle_make(bundle, &f, HEX_B);
	free(layout);
	layout = xasprintf("%s/layout2", tmp);
	CHECK(load_oci(bundle, layout, &out, &e) == FX_VERIFY);
	CHECK(strstr(out, "ferry.test/app:1: not loaded: sha256:" HEX_B ": SHA256SUMS gives its entry another digest") !=
	    NULL);
	CHECK(strstr(out, "1 images loaded, 1 failed") != NULL);
	free(out);
	path = xasprintf("%s/blobs/sha256/" HEX_B, layout);
	CHECK(access(path, F_OK) != 0);
	free(path);
	CHECK(index_digest(layout, "ferry.test/app:1")[0] == '\0');
	CHECK(index_digest(layout, "ferry.test/web:1")[0] != '\0');

	fixture_free(&f);
	free(bundle);
	free(layout);
}

int main(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	alarm(120); /* a load that waits for ever (on a FIFO, a lock) fails the test */
	fx_progname = "test_targets";
	snprintf(tmp, sizeof(tmp), "%s/ferry-test-targets.XXXXXX", base);
	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_entry_names();
	test_plan();
	test_plan_unusable();
	test_plan_charts();
	test_plan_delta();
	test_report();
	test_ocidir();
	rm_tree(tmp);
	if (failures != 0) {
		fprintf(stderr, "test_targets: %d failures\n", failures);
		return 1;
	}
	printf("test_targets: ok\n");
	return 0;
}
