/* test_images.c - images_stage() on synthetic docker-save and OCI inputs written with
 * libarchive: conversion, dedup, order, byte-exact copies, determinism, and the
 * hostile inputs that must be refused. */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "image/images.h"
#include "image/oci.h"
#include "util/digest.h"
#include "util/util.h"

static int failures;
static char tmp[256];

#include "check.h"

struct ent {
	const char *name;
	const void *data;
	size_t len;
	const char *symlink; /* non-NULL: a symbolic link */
};

/* A tar in memory or on disk. */
static void tar_write(const char *path, const struct ent *v, size_t n, void **mem, size_t *memlen)
{
	struct archive *a = archive_write_new();
	size_t cap = 1 << 20, used = 0, i;
	void *buf = NULL;

	archive_write_set_format_pax_restricted(a);
	if (path != NULL) {
		if (archive_write_open_filename(a, path) != ARCHIVE_OK)
			abort();
	} else {
		for (i = 0; i < n; i++)
			cap += v[i].len + 4096;
		buf = xmalloc(cap);
		archive_write_set_bytes_in_last_block(a, 1);
		if (archive_write_open_memory(a, buf, cap, &used) != ARCHIVE_OK)
			abort();
	}
	for (i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		archive_entry_set_pathname(ae, v[i].name);
		archive_entry_set_mtime(ae, 1000000000, 0);
		if (v[i].symlink != NULL) {
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_perm(ae, 0777);
			archive_entry_set_symlink(ae, v[i].symlink);
		} else {
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, 0644);
			archive_entry_set_size(ae, (la_int64_t)v[i].len);
		}
		if (archive_write_header(a, ae) != ARCHIVE_OK)
			abort();
		if (v[i].symlink == NULL && v[i].len > 0 &&
		    archive_write_data(a, v[i].data, v[i].len) != (la_ssize_t)v[i].len)
			abort();
		archive_entry_free(ae);
	}
	archive_write_close(a);
	archive_write_free(a);
	if (mem != NULL) {
		*mem = buf;
		*memlen = used;
	}
}

static char *hexof(const void *buf, size_t len)
{
	unsigned char d[SHA256_LEN];
	char *h = xmalloc(SHA256_HEX);

	sha256_buf(buf, len, d);
	hex_encode(d, SHA256_LEN, h);
	return h;
}

/* A layer: a tar holding one file with the given content. */
struct layer {
	void *tar;
	size_t len;
	char *diff; /* hex */
};

static void layer_make(struct layer *l, const char *file, const char *content, size_t size)
{
	char *big = xmalloc(size + 1);
	size_t i, cl = strlen(content);
	struct ent e;

	for (i = 0; i < size; i++)
		big[i] = content[i % cl];
	e.name = file;
	e.data = big;
	e.len = size;
	e.symlink = NULL;
	tar_write(NULL, &e, 1, &l->tar, &l->len);
	l->diff = hexof(l->tar, l->len);
	free(big);
}

static void layer_free(struct layer *l)
{
	free(l->tar);
	free(l->diff);
}

static char *config_json(struct layer *const *ls, size_t n, const char *arch)
{
	char *s = xasprintf("{\"architecture\":\"%s\",\"os\":\"linux\",\"config\":{},"
	    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[", arch);
	size_t i;

	for (i = 0; i < n; i++) {
		char *t = xasprintf("%s%s\"sha256:%s\"", s, i ? "," : "", ls[i]->diff);
		free(s);
		s = t;
	}
	{
		char *t = xasprintf("%s]}}", s);
		free(s);
		s = t;
	}
	return s;
}

/* A legacy docker save archive of one image tagged tag. When symlink_second, the
 * second layer's layer.tar is a symlink to the first one's (as docker writes it for a
 * repeated layer). bad_diff: the config names a wrong diff_id for layer 0. */
static char *docker_save(const char *name, const char *tag, struct layer *const *ls, size_t n,
    int bad_diff, const char *extra_name, char **config_out)
{
	struct ent v[16];
	char *names[8], *cfg, *cfgname, *mj, *layerlist = xstrdup(""), *path;
	size_t i, k = 0;

	cfg = config_json(ls, n, "amd64");
	if (bad_diff) {
		char *p = strstr(cfg, "sha256:") + 7;
		*p = *p == '0' ? '1' : '0';
	}
	for (i = 0; i < n; i++) {
		char *t;
		names[i] = xasprintf("%02zu%s/layer.tar", i, ls[i]->diff + 2);
		t = xasprintf("%s%s\"%s\"", layerlist, i ? "," : "", names[i]);
		free(layerlist);
		layerlist = t;
		v[k].name = names[i];
		v[k].data = ls[i]->tar;
		v[k].len = ls[i]->len;
		v[k].symlink = NULL;
		k++;
	}
	{
		char *h = hexof(cfg, strlen(cfg));
		cfgname = xasprintf("%s.json", h);
		free(h);
	}
	v[k].name = cfgname;
	v[k].data = cfg;
	v[k].len = strlen(cfg);
	v[k++].symlink = NULL;
	mj = xasprintf("[{\"Config\":\"%s\",\"RepoTags\":[\"%s\"],\"Layers\":[%s]}]", cfgname, tag,
	    layerlist);
	v[k].name = "manifest.json";
	v[k].data = mj;
	v[k].len = strlen(mj);
	v[k++].symlink = NULL;
	if (extra_name != NULL) {
		v[k].name = extra_name;
		v[k].data = "x";
		v[k].len = 1;
		v[k++].symlink = NULL;
	}
	path = xasprintf("%s/%s", tmp, name);
	tar_write(path, v, k, NULL, NULL);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(layerlist);
	free(cfgname);
	free(mj);
	if (config_out != NULL)
		*config_out = cfg;
	else
		free(cfg);
	return path;
}

static int file_equals(const char *path, const void *buf, size_t len)
{
	char *got = NULL;
	size_t gl = 0;
	struct ferr e = {0};
	int eq;

	if (read_file_max(path, 1 << 26, &got, &gl, &e) != 0)
		return 0;
	eq = gl == len && memcmp(got, buf, len) == 0;
	free(got);
	return eq;
}

static struct img_opts opts(const char *staging, int zstd)
{
	struct img_opts o;

	memset(&o, 0, sizeof(o));
	o.staging_dir = staging;
	o.jobs = 2;
	o.layer_zstd = zstd;
	o.mtime = 1000000000;
	return o;
}

static int stage(struct img_src *s, size_t n, const char *dir, int zstd, struct img_set *out,
    struct ferr *e)
{
	char *st = xasprintf("%s/%s", tmp, dir);
	struct img_opts o = opts(st, zstd);
	int rc;

	memset(e, 0, sizeof(*e));
	rc = images_stage(s, n, &o, out, e);
	free(st);
	return rc;
}

static ssize_t blob_index(const struct img_set *s, const char *digest /* sha256:hex */)
{
	size_t i;

	for (i = 0; i < s->nblobs; i++)
		if (strcmp(s->blobs[i].hex, digest + 7) == 0)
			return (ssize_t)i;
	return -1;
}

/* Every blob hashes to its name; every manifest's references come before it. */
static void check_set(const struct img_set *s)
{
	size_t i, j;

	for (i = 0; i < s->nblobs; i++) {
		unsigned char d[SHA256_LEN];
		uint64_t size = 0;
		struct ferr e = {0};
		CHECK(sha256_file(s->blobs[i].path, d, &size, &e) == 0);
		CHECK(memcmp(d, s->blobs[i].digest, SHA256_LEN) == 0);
		CHECK(size == s->blobs[i].size);
		for (j = 0; j < i; j++)
			CHECK(strcmp(s->blobs[i].hex, s->blobs[j].hex) != 0);
	}
	for (i = 0; i < s->nimages; i++) {
		const struct man_image *m = &s->images[i];
		CHECK(m->nmanifests > 0 && strcmp(m->manifests[m->nmanifests - 1], m->digest) == 0);
		for (j = 0; j < m->nmanifests; j++) {
			ssize_t at = blob_index(s, m->manifests[j]);
			struct oci_doc doc;
			struct ferr e = {0};
			char *buf = NULL;
			size_t len = 0, k;
			CHECK(at >= 0);
			if (at < 0)
				continue;
			CHECK(read_file_max(s->blobs[at].path, 1 << 24, &buf, &len, &e) == 0);
			CHECK(oci_doc_parse(buf, len, NULL, "test", &doc, &e) == 0);
			if (doc.kind == OCI_KIND_MANIFEST) {
				char cd[80];
				snprintf(cd, sizeof(cd), "sha256:%s", doc.config.hex);
				CHECK(blob_index(s, cd) >= 0 && blob_index(s, cd) < at);
			}
			for (k = 0; k < doc.ndescs; k++) {
				char dd[80];
				snprintf(dd, sizeof(dd), "sha256:%s", doc.descs[k].hex);
				CHECK(blob_index(s, dd) >= 0 && blob_index(s, dd) < at);
			}
			oci_doc_free(&doc);
			free(buf);
		}
	}
}

/* Decompresses a gzip/zstd blob with libarchive's raw reader and returns its sha256. */
static int decompressed_hex(const char *path, char hex[SHA256_HEX])
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	struct sha256 h;
	unsigned char buf[65536], d[SHA256_LEN];
	la_ssize_t r;

	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK ||
	    archive_read_next_header(a, &ae) != ARCHIVE_OK) {
		archive_read_free(a);
		return -1;
	}
	sha256_init(&h);
	while ((r = archive_read_data(a, buf, sizeof(buf))) > 0)
		sha256_update(&h, buf, (size_t)r);
	sha256_final(&h, d);
	archive_read_free(a);
	hex_encode(d, SHA256_LEN, hex);
	return r < 0 ? -1 : 0;
}

static void test_docker_dedup_and_order(void)
{
	struct layer base, a2, b2;
	struct layer *la[2] = {&base, &a2}, *lb[2] = {&base, &b2};
	char *cfga = NULL, *cfgb = NULL, *pa, *pb;
	struct img_src src[2] = {{.ref = NULL}, {.ref = NULL}};
	struct img_set s, s2;
	struct ferr e;
	size_t i;
	int rc;

	layer_make(&base, "base.bin", "the base layer ", 300000);
	layer_make(&a2, "a.txt", "app a", 100);
	layer_make(&b2, "b.txt", "app b", 100);
	pa = docker_save("app-a.tar", "corp/app-a:1", la, 2, 0, NULL, &cfga);
	pb = docker_save("app-b.tar", "corp/app-b:1", lb, 2, 0, NULL, &cfgb);
	src[0].ref = "registry.example.com/corp/app-a:1";
	src[0].from = pa;
	src[0].where = "spec.yaml:3:5";
	src[1].ref = "registry.example.com/corp/app-b:1";
	src[1].from = pb;
	src[1].where = "spec.yaml:4:5";
	rc = stage(src, 2, "st1", 0, &s, &e);
	CHECK(rc == 0);
	if (rc != 0) {
		fprintf(stderr, "stage: %s\n", e.msg);
		goto end;
	}
	/* 2 configs + 3 distinct layers + 2 manifests: the base layer is stored once. */
	CHECK(s.nblobs == 7);
	CHECK(s.nimages == 2);
	check_set(&s);
	/* Leaves first, then the two manifests. */
	CHECK(blob_index(&s, s.images[0].digest) == 5 && blob_index(&s, s.images[1].digest) == 6);
	/* Configs byte-exact: the image ID does not change. */
	{
		char *ha = hexof(cfga, strlen(cfga)), *hb = hexof(cfgb, strlen(cfgb));
		char da[80], db[80];
		snprintf(da, sizeof(da), "sha256:%s", ha);
		snprintf(db, sizeof(db), "sha256:%s", hb);
		CHECK(blob_index(&s, da) >= 0 && file_equals(s.blobs[blob_index(&s, da)].path, cfga, strlen(cfga)));
		CHECK(blob_index(&s, db) >= 0 && file_equals(s.blobs[blob_index(&s, db)].path, cfgb, strlen(cfgb)));
		free(ha);
		free(hb);
	}
	/* The layers are gzip and decompress to their diff_ids. */
	{
		size_t found = 0;
		for (i = 0; i < s.nblobs; i++) {
			char h[SHA256_HEX];
			FILE *f = fopen(s.blobs[i].path, "rb");
			unsigned char mg[10] = {0};
			CHECK(f != NULL && fread(mg, 1, 10, f) == 10);
			if (f != NULL)
				fclose(f);
			if (mg[0] != 0x1f || mg[1] != 0x8b)
				continue;
			/* deterministic header: mtime 0, no file name */
			CHECK(mg[4] == 0 && mg[5] == 0 && mg[6] == 0 && mg[7] == 0 && (mg[3] & 0x08) == 0);
			CHECK(decompressed_hex(s.blobs[i].path, h) == 0);
			CHECK(strcmp(h, base.diff) == 0 || strcmp(h, a2.diff) == 0 || strcmp(h, b2.diff) == 0);
			found++;
		}
		CHECK(found == 3);
	}
	CHECK(strcmp(s.images[0].ref, "registry.example.com/corp/app-a:1") == 0);
	CHECK(s.images[0].layers == 2 && s.images[0].nblobs == 4 && s.images[0].nmanifests == 1);
	CHECK(s.images[0].nplatforms == 1 && strcmp(s.images[0].platforms[0], "linux/amd64") == 0);
	CHECK(strcmp(s.images[0].media_type, OCI_MT_MANIFEST) == 0);
	CHECK(strstr(s.index_json, "\"org.opencontainers.image.ref.name\":\"registry.example.com/corp/app-b:1\"") != NULL);
	{
		uint64_t sum = 0;
		for (i = 0; i < s.images[0].nblobs; i++)
			sum += s.blobs[blob_index(&s, s.images[0].blobs[i])].size;
		CHECK(sum == s.images[0].size);
	}
	/* Deterministic: a second run gives the same index.json and blobs. */
	rc = stage(src, 2, "st2", 0, &s2, &e);
	CHECK(rc == 0);
	if (rc == 0) {
		CHECK(s2.index_len == s.index_len && memcmp(s2.index_json, s.index_json, s.index_len) == 0);
		CHECK(s2.nblobs == s.nblobs);
		for (i = 0; i < s.nblobs && i < s2.nblobs; i++)
			CHECK(strcmp(s.blobs[i].hex, s2.blobs[i].hex) == 0);
		img_set_free(&s2);
	}
	/* The same archive under a second name: no blob twice, same digest. */
	{
		struct img_src two[2] = {src[0], src[0]};
		two[1].ref = "registry.example.com/corp/app-a:latest";
		rc = stage(two, 2, "st4", 0, &s2, &e);
		CHECK(rc == 0);
		if (rc == 0) {
			CHECK(s2.nblobs == 4);
			CHECK(strcmp(s2.images[0].digest, s2.images[1].digest) == 0);
			check_set(&s2);
			img_set_free(&s2);
		}
		/* and the same name twice is a spec error */
		two[1].ref = "registry.example.com/corp/app-a:1";
		CHECK(stage(two, 2, "st5", 0, &s2, &e) == FX_USAGE && strstr(e.msg, "twice") != NULL);
	}
	/* zstd: other media type, zstd frames. */
	rc = stage(src, 1, "st3", 1, &s2, &e);
	CHECK(rc == 0);
	if (rc == 0) {
		size_t z = 0;
		for (i = 0; i < s2.nblobs; i++) {
			FILE *f = fopen(s2.blobs[i].path, "rb");
			unsigned char mg[4] = {0};
			if (f != NULL && fread(mg, 1, 4, f) == 4 && mg[0] == 0x28 && mg[1] == 0xb5 &&
			    mg[2] == 0x2f && mg[3] == 0xfd) {
				char h[SHA256_HEX];
				CHECK(decompressed_hex(s2.blobs[i].path, h) == 0);
				CHECK(strcmp(h, base.diff) == 0 || strcmp(h, a2.diff) == 0);
				z++;
			}
			if (f != NULL)
				fclose(f);
		}
		CHECK(z == 2);
		check_set(&s2);
		{
			ssize_t at = blob_index(&s2, s2.images[0].digest);
			char *buf = NULL;
			size_t len = 0;
			struct ferr e2 = {0};
			CHECK(at >= 0 && read_file_max(s2.blobs[at].path, 1 << 20, &buf, &len, &e2) == 0);
			CHECK(buf != NULL && strstr(buf, OCI_MT_LAYER_ZSTD) != NULL);
			free(buf);
		}
		img_set_free(&s2);
	}
	img_set_free(&s);
end:
	free(pa);
	free(pb);
	free(cfga);
	free(cfgb);
	layer_free(&base);
	layer_free(&a2);
	layer_free(&b2);
}

/* Hostile or broken inputs: each refused with its exit code and a message that names
 * what is wrong. A case is a docker save made by docker_save() (bad_diff, an extra
 * member), a tar written by hand (v), or a from: taken as it is (from). */
static void test_docker_hostile(void)
{
	static const struct ent link_tar[] = {{"manifest.json", "[]", 2, NULL}, {"x/layer.tar", NULL, 0, "../../etc/passwd"}};
	static const struct ent shape_tar[] = {{"manifest.json", "{\"Config\":1}", 12, NULL}};
	static const struct ent dup_tar[] = {{"manifest.json", "[]", 2, NULL}, {"manifest.json", "[]", 2, NULL}};
	static const struct ent plain_tar[] = {{"hello.txt", "hi", 2, NULL}};
	static const struct {
		const char *what, *file;
		int bad_diff;
		const char *extra;        /* docker_save: one more member of this name */
		const struct ent *v;      /* else a tar of these members */
		size_t n;
		const char *from, *ref;   /* else this from: (and ref) as they are */
		int code;
		const char *says[3];
	} cases[] = {
		{"a layer that is not what the config says", "bad-diff.tar", 1, NULL, NULL, 0, NULL, NULL, FX_VERIFY,
		    {"diff_id", "bad-diff.tar", "layer.tar"}},
		{"a member that climbs out", "trav.tar", 0, "../evil", NULL, 0, NULL, NULL, FX_VERIFY, {"'..'"}},
		{"an absolute member", "abs.tar", 0, "/etc/evil", NULL, 0, NULL, NULL, FX_VERIFY, {"absolute path"}},
		{"a symlink out of the archive", "link.tar", 0, NULL, link_tar, 2, NULL, NULL, FX_VERIFY,
		    {"leaves the archive"}},
		{"JSON of the wrong shape", "shape.tar", 0, NULL, shape_tar, 1, NULL, NULL, FX_VERIFY, {"manifest.json"}},
		{"a member twice (two readers could disagree)", "dup.tar", 0, NULL, dup_tar, 2, NULL, NULL, FX_VERIFY,
		    {"twice"}},
		{"not an image at all", "plain.tar", 0, NULL, plain_tar, 1, NULL, NULL, FX_VERIFY,
		    {"neither a docker save archive nor an OCI layout"}},
		{"a missing file", NULL, 0, NULL, NULL, 0, "/nonexistent/ferry/x.tar", NULL, FX_IO, {"x.tar"}},
		{"a daemon socket that is not there", NULL, 0, NULL, NULL, 0,
		    "docker-daemon:///nonexistent/ferry/d.sock/nginx:1", NULL, FX_TARGET, {"no docker socket"}},
		{"a bad reference", NULL, 0, NULL, NULL, 0, "/nonexistent/ferry/x.tar", "Upper/Case:1", FX_USAGE, {"spec.yaml:9:3"}},
		{"a reference without tag or digest", NULL, 0, NULL, NULL, 0, "/nonexistent/ferry/x.tar", "example.com/x",
		    FX_USAGE, {"spec.yaml:9:3"}},
	};
	struct layer l1, l2;
	struct layer *ls[2] = {&l1, &l2};
	size_t i, k;

	layer_make(&l1, "one", "1", 1000);
	layer_make(&l2, "two", "2", 1000);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct img_src src = {.ref = "example.com/x:1", .from = NULL, .where = "spec.yaml:9:3"};
		struct img_set s;
		struct ferr e;
		char *path = NULL, dir[16];
		int rc, said = 1;

		if (cases[i].v != NULL) {
			path = xasprintf("%s/%s", tmp, cases[i].file);
			tar_write(path, cases[i].v, cases[i].n, NULL, NULL);
		} else if (cases[i].file != NULL) {
			path = docker_save(cases[i].file, "x:1", ls, 2, cases[i].bad_diff, cases[i].extra, NULL);
		}
		src.from = path != NULL ? path : cases[i].from;
		if (cases[i].ref != NULL)
			src.ref = cases[i].ref;
		snprintf(dir, sizeof(dir), "h%zu", i);
		rc = stage(&src, 1, dir, 0, &s, &e);
		for (k = 0; k < 3; k++)
			said &= cases[i].says[k] == NULL || strstr(e.msg, cases[i].says[k]) != NULL;
		CHECK(rc == cases[i].code && said);
		if (rc != cases[i].code || !said)
			fprintf(stderr, "  %s: exit %d: %s\n", cases[i].what, rc, e.msg);
		if (rc == FX_OK)
			img_set_free(&s);
		free(path);
	}
	layer_free(&l1);
	layer_free(&l2);
}

/* A docker save where the second layer.tar is a symlink to the first's. */
static void test_docker_symlinked_layer(void)
{
	struct layer l;
	struct img_src src = {.ref = "example.com/sym:1", .from = NULL, .where = "spec"};
	struct img_set s;
	struct ferr e;
	struct layer *ls[2] = {&l, &l};
	char *cfg, *ch, *cname, *mj;
	struct ent v[4];
	char *p = xasprintf("%s/sym.tar", tmp);
	int rc;

	layer_make(&l, "f", "same", 500);
	cfg = config_json(ls, 2, "arm64");
	ch = hexof(cfg, strlen(cfg));
	cname = xasprintf("%s.json", ch);
	mj = xasprintf("[{\"Config\":\"%s\",\"RepoTags\":null,\"Layers\":[\"a/layer.tar\",\"./b/layer.tar\"]}]", cname);
	v[0] = (struct ent){"./a/layer.tar", l.tar, l.len, NULL};
	v[1] = (struct ent){"./b/layer.tar", NULL, 0, "../a/layer.tar"};
	v[2] = (struct ent){cname, cfg, strlen(cfg), NULL};
	v[3] = (struct ent){"manifest.json", mj, strlen(mj), NULL};
	tar_write(p, v, 4, NULL, NULL);
	src.from = p;
	rc = stage(&src, 1, "sy", 0, &s, &e);
	CHECK(rc == 0);
	if (rc == 0) {
		CHECK(s.nblobs == 3); /* config, one layer, manifest */
		CHECK(s.images[0].layers == 2);
		CHECK(strcmp(s.images[0].platforms[0], "linux/arm64") == 0);
		check_set(&s);
		img_set_free(&s);
	} else {
		fprintf(stderr, "symlinked: %s\n", e.msg);
	}
	/* A config whose name is a digest it does not have. */
	{
		char *bad = xstrdup(cname);
		bad[0] = bad[0] == '0' ? '1' : '0';
		free(mj);
		mj = xasprintf("[{\"Config\":\"%s\",\"Layers\":[\"a/layer.tar\",\"b/layer.tar\"]}]", bad);
		v[2].name = bad;
		v[3].data = mj;
		v[3].len = strlen(mj);
		tar_write(p, v, 4, NULL, NULL);
		CHECK(stage(&src, 1, "sy2", 0, &s, &e) == FX_VERIFY);
		CHECK(strstr(e.msg, "does not hash to its name") != NULL);
		free(bad);
	}
	free(p);
	free(cfg);
	free(ch);
	free(cname);
	free(mj);
	layer_free(&l);
}

/* An OCI layout: blobs for two platforms, two manifests, an index of both, and
 * index.json naming the index "multi" and the amd64 manifest "single". */
struct oci_in {
	char *cfg[2], *man[2], *idx, *index_json;
	struct layer lay[2];
	char *layhex[2];
};

static void oci_make(struct oci_in *o, const char *path, int corrupt, int lie_size, int as_dir)
{
	static const char *arch[2] = {"amd64", "arm64"};
	struct ent v[16];
	char names[16][96];
	size_t k = 0, i;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < 2; i++) {
		struct layer *lp = &o->lay[i];
		char *ch;
		layer_make(lp, arch[i], "oci layer, stored as-is ", 2000 + i);
		o->layhex[i] = xstrdup(lp->diff);
		o->cfg[i] = config_json(&lp, 1, arch[i]);
		ch = hexof(o->cfg[i], strlen(o->cfg[i]));
		o->man[i] = xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\","
		    "\"digest\":\"sha256:%s\",\"size\":%zu},\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"sha256:%s\","
		    "\"size\":%zu}]}", OCI_MT_MANIFEST, OCI_MT_CONFIG, ch, strlen(o->cfg[i]), OCI_MT_LAYER,
		    lp->diff, lp->len + (lie_size && i == 1 ? 1 : 0));
		snprintf(names[k], sizeof(names[k]), "blobs/sha256/%s", ch);
		v[k] = (struct ent){names[k], o->cfg[i], strlen(o->cfg[i]), NULL};
		k++;
		snprintf(names[k], sizeof(names[k]), "blobs/sha256/%s", lp->diff);
		v[k] = (struct ent){names[k], lp->tar, lp->len, NULL};
		k++;
		free(ch);
	}
	{
		char *m0 = hexof(o->man[0], strlen(o->man[0])), *m1 = hexof(o->man[1], strlen(o->man[1]));
		char *ih;
		o->idx = xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":["
		    "{\"mediaType\":\"%s\",\"digest\":\"sha256:%s\",\"size\":%zu,\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
		    "{\"mediaType\":\"%s\",\"digest\":\"sha256:%s\",\"size\":%zu,\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}}]}",
		    OCI_MT_INDEX, OCI_MT_MANIFEST, m0, strlen(o->man[0]), OCI_MT_MANIFEST, m1, strlen(o->man[1]));
		ih = hexof(o->idx, strlen(o->idx));
		o->index_json = xasprintf("{\"schemaVersion\":2,\"manifests\":["
		    "{\"mediaType\":\"%s\",\"digest\":\"sha256:%s\",\"size\":%zu,\"annotations\":{\"org.opencontainers.image.ref.name\":\"multi\"}},"
		    "{\"mediaType\":\"%s\",\"digest\":\"sha256:%s\",\"size\":%zu,\"annotations\":{\"org.opencontainers.image.ref.name\":\"example.com/acme/single:2\"}}]}",
		    OCI_MT_INDEX, ih, strlen(o->idx), OCI_MT_MANIFEST, m0, strlen(o->man[0]));
		snprintf(names[k], sizeof(names[k]), "blobs/sha256/%s", m0);
		v[k] = (struct ent){names[k], o->man[0], strlen(o->man[0]), NULL};
		k++;
		snprintf(names[k], sizeof(names[k]), "blobs/sha256/%s", m1);
		v[k] = (struct ent){names[k], o->man[1], strlen(o->man[1]), NULL};
		k++;
		snprintf(names[k], sizeof(names[k]), "blobs/sha256/%s", ih);
		v[k] = (struct ent){names[k], o->idx, strlen(o->idx), NULL};
		k++;
		free(m0);
		free(m1);
		free(ih);
	}
	v[k++] = (struct ent){"oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30, NULL};
	v[k++] = (struct ent){"index.json", o->index_json, strlen(o->index_json), NULL};
	if (corrupt) {
		/* the arm64 layer's bytes differ from its name */
		unsigned char *t = (unsigned char *)o->lay[1].tar;
		t[100] ^= 1;
	}
	if (!as_dir) {
		tar_write(path, v, k, NULL, NULL);
	} else {
		char *d = xasprintf("%s/blobs/sha256", path);
		mkdir_p(d, 0755);
		free(d);
		for (i = 0; i < k; i++) {
			char *fp = xasprintf("%s/%s", path, v[i].name);
			FILE *f = fopen(fp, "wb");
			if (f == NULL || fwrite(v[i].data, 1, v[i].len, f) != v[i].len)
				abort();
			fclose(f);
			free(fp);
		}
	}
}

static void oci_free(struct oci_in *o)
{
	size_t i;

	for (i = 0; i < 2; i++) {
		free(o->cfg[i]);
		free(o->man[i]);
		free(o->layhex[i]);
		layer_free(&o->lay[i]);
	}
	free(o->idx);
	free(o->index_json);
}

/* gzip of a file, beside it (PATH.gz); the path is returned. */
static char *gzip_file(const char *path)
{
	char *out = xasprintf("%s.gz", path), *buf = NULL;
	size_t len = 0;
	struct ferr e = {0};
	gzFile gz;

	if (read_file_max(path, 1 << 26, &buf, &len, &e) != 0 || (gz = gzopen(out, "wb")) == NULL ||
	    gzwrite(gz, buf, (unsigned)len) != (int)len || gzclose(gz) != Z_OK)
		abort();
	free(buf);
	return out;
}

/* A compressed input: only the JSON documents and what the manifests reference are
 * staged (a legacy docker save takes a second pass for its layers); an unused member
 * is never read into the staging directory, and a member larger than its descriptor
 * is refused before it is staged. */
static void test_compressed(void)
{
	struct layer l1, l2;
	struct layer *ls[2] = {&l1, &l2};
	struct img_src src = {.ref = "example.com/x:1", .from = NULL, .where = "spec.yaml:3:3"};
	struct img_set s;
	struct ferr e;
	char *plain, *gz, *cfg = NULL;

	layer_make(&l1, "one", "1", 300000);
	layer_make(&l2, "two", "2", 5000);
	/* a docker save with an unused member beside its layers */
	plain = docker_save("unused.tar", "x:1", ls, 2, 0, "unused/big.bin", &cfg);
	gz = gzip_file(plain);
	src.from = gz;
	CHECK(stage(&src, 1, "c1", 0, &s, &e) == FX_OK);
	if (e.code == FX_OK) {
		check_set(&s);
		CHECK(s.images[0].layers == 2 && s.nblobs == 4);
		img_set_free(&s);
	} else {
		fprintf(stderr, "compressed docker save: %s\n", e.msg);
	}
	free(plain);
	free(gz);
	free(cfg);
	layer_free(&l1);
	layer_free(&l2);
	/* an oci-archive: byte-exact as the plain one; a descriptor that lies about a
	 * layer's size is refused before the layer is staged */
	{
		struct oci_in o;
		char *p = xasprintf("%s/c.oci.tar", tmp), *from;
		oci_make(&o, p, 0, 0, 0);
		gz = gzip_file(p);
		from = xasprintf("%s:multi", gz);
		src.from = from;
		CHECK(stage(&src, 1, "c2", 0, &s, &e) == FX_OK);
		if (e.code == FX_OK) {
			char *ih = hexof(o.idx, strlen(o.idx));
			CHECK(strcmp(s.images[0].digest + 7, ih) == 0 && s.nblobs == 7);
			free(ih);
			img_set_free(&s);
		}
		oci_free(&o);
		free(gz);
		oci_make(&o, p, 0, 1, 0);
		gz = gzip_file(p);
		free(from);
		from = xasprintf("%s:multi", gz);
		src.from = from;
		CHECK(stage(&src, 1, "c3", 0, &s, &e) == FX_VERIFY && strstr(e.msg, "c.oci.tar.gz: member blobs/sha256/") != NULL &&
		    strstr(e.msg, "its descriptor says") != NULL);
		oci_free(&o);
		free(gz);
		free(from);
		free(p);
	}
}

static void test_oci(void)
{
	struct oci_in o;
	char *p = xasprintf("%s/oci.tar", tmp), *pd = xasprintf("%s/ocidir", tmp);
	char *f1 = xasprintf("%s:multi", p), *f2 = xasprintf("%s:2", pd), *f3 = xasprintf("%s:nope", p);
	struct img_src src[2] = {{.ref = "example.com/multi:1", .from = f1, .where = "spec:1"}, {.ref = "nginx:1.25", .from = f2, .where = "spec:2"}};
	struct img_set s;
	struct ferr e;
	int rc;

	oci_make(&o, p, 0, 0, 0);
	oci_free(&o);
	oci_make(&o, pd, 0, 0, 1);
	rc = stage(src, 2, "o1", 0, &s, &e);
	CHECK(rc == 0);
	if (rc == 0) {
		char *ih = hexof(o.idx, strlen(o.idx)), *m0 = hexof(o.man[0], strlen(o.man[0]));
		ssize_t at;
		check_set(&s);
		/* byte-exact: the digests are the input's */
		CHECK(strncmp(s.images[0].digest, "sha256:", 7) == 0 && strcmp(s.images[0].digest + 7, ih) == 0);
		CHECK(strcmp(s.images[1].digest + 7, m0) == 0);
		at = blob_index(&s, s.images[0].digest);
		CHECK(at >= 0 && file_equals(s.blobs[at].path, o.idx, strlen(o.idx)));
		CHECK(strcmp(s.images[0].media_type, OCI_MT_INDEX) == 0);
		CHECK(s.images[0].nplatforms == 2 && strcmp(s.images[0].platforms[1], "linux/arm64/v8") == 0);
		CHECK(s.images[0].nmanifests == 3 && s.images[0].layers == 1);
		/* config, layer, config, layer, manifest, manifest, index: each once */
		CHECK(s.nblobs == 7);
		CHECK(blob_index(&s, s.images[0].digest) == 6);
		CHECK(strcmp(s.images[1].ref, "docker.io/library/nginx:1.25") == 0);
		/* index.json: the index has no platform, the manifest has one */
		CHECK(strstr(s.index_json, "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"},"
		    "\"annotations\":{\"org.opencontainers.image.ref.name\":\"docker.io/library/nginx:1.25\"}") != NULL);
		CHECK(strstr(s.index_json, "\"size\":") != NULL);
		{
			struct oci_doc d;
			struct ferr e2 = {0};
			CHECK(oci_doc_parse(s.index_json, s.index_len, NULL, "index.json", &d, &e2) == 0);
			CHECK(d.kind == OCI_KIND_INDEX && d.ndescs == 2 && d.descs[0].platform == NULL &&
			    strcmp(d.descs[0].ref_name, "example.com/multi:1") == 0);
			oci_doc_free(&d);
		}
		free(ih);
		free(m0);
		img_set_free(&s);
	} else {
		fprintf(stderr, "oci: %s\n", e.msg);
	}
	/* Several images and no tag: ambiguous. A tag that is not there: named. */
	src[0].from = p;
	CHECK(stage(src, 1, "o2", 0, &s, &e) == FX_USAGE && strstr(e.msg, "PATH:TAG") != NULL);
	src[0].from = f3;
	CHECK(stage(src, 1, "o3", 0, &s, &e) == FX_USAGE && strstr(e.msg, "nope") != NULL);
	/* picked by a full reference too */
	{
		char *f4 = xasprintf("%s:example.com/acme/single:2", p);
		src[0].from = f4;
		CHECK(stage(src, 1, "o3b", 0, &s, &e) == 0);
		if (e.code == 0) {
			char *m0 = hexof(o.man[0], strlen(o.man[0]));
			CHECK(strcmp(s.images[0].digest + 7, m0) == 0);
			free(m0);
			img_set_free(&s);
		}
		free(f4);
	}
	oci_free(&o);
	/* A blob whose bytes are not its digest. */
	oci_make(&o, p, 1, 0, 0);
	src[0].from = f1;
	CHECK(stage(src, 1, "o4", 0, &s, &e) == FX_VERIFY && strstr(e.msg, "corrupt") != NULL);
	oci_free(&o);
	/* A descriptor that lies about a size. */
	oci_make(&o, p, 0, 1, 0);
	CHECK(stage(src, 1, "o5", 0, &s, &e) == FX_VERIFY && strstr(e.msg, "descriptor says") != NULL);
	oci_free(&o);
	free(p);
	free(pd);
	free(f1);
	free(f2);
	free(f3);
}

static void test_refs(void)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
		{"nginx:1", "docker.io/library/nginx:1"},
		{"acme/api:1.2.0", "docker.io/acme/api:1.2.0"},
		{"registry.example.com/acme/api:1.2.0", "registry.example.com/acme/api:1.2.0"},
		{"localhost:5000/a/b__c-d.e:v_1", "localhost:5000/a/b__c-d.e:v_1"},
		{"localhost/x@sha256:0000000000000000000000000000000000000000000000000000000000000000",
		    "localhost/x@sha256:0000000000000000000000000000000000000000000000000000000000000000"},
	};
	static const char *bad[] = {"", "nginx", "Nginx:1", "a//b:1", "a/-b:1", "host:99999999/a:1",
	    "a:b:c", "a:.tag", "a@sha256:abc", "-a.com/x:1", "a/b_:1", "a b:1"};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct oci_ref r;
		struct ferr e = {0};
		char *s;
		CHECK(oci_ref_parse(ok[i].in, &r, &e) == 0);
		if (e.code != 0)
			continue;
		s = oci_ref_string(&r);
		if (strcmp(s, ok[i].out) != 0)
			fprintf(stderr, "ref %s -> %s\n", ok[i].in, s);
		CHECK(strcmp(s, ok[i].out) == 0);
		free(s);
		oci_ref_free(&r);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct oci_ref r;
		struct ferr e = {0};
		if (oci_ref_parse(bad[i], &r, &e) == 0) {
			fprintf(stderr, "ref %s accepted\n", bad[i]);
			failures++;
			oci_ref_free(&r);
		}
	}
}

int main(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	snprintf(tmp, sizeof(tmp), "%s/ferry-test-images.XXXXXX", base);
	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_refs();
	test_docker_dedup_and_order();
	test_docker_symlinked_layer();
	test_docker_hostile();
	test_oci();
	test_compressed();
	rm_tree(tmp);
	if (failures != 0) {
		fprintf(stderr, "test_images: %d failures\n", failures);
		return 1;
	}
	printf("test_images: ok\n");
	return 0;
}
