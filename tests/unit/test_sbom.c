/* test_sbom.c - the SBOM's parsers and rules: dpkg status, DEP-5 copyright, apk,
 * os-release, purls, licence identifiers, version order (dpkg, rpm, apk), layers
 * applied with whiteouts and opaque directories (plain, gzip with several members,
 * zstd, cut short), and the report's HTML escaping. */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>
#include <zlib.h>

#include "cli/report.h"
#include "image/pkgdb.h"
#include "image/pkgver.h"
#include "image/sbom_catalog.h"
#include "image/sbom_write.h"
#include "util/util.h"

#include "check.h"

static char tmp[256];

static const struct pkg *find_pkg(const struct pkg_list *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return &l->v[i];
	return NULL;
}

static void test_dpkg(void)
{
	static const char status[] =
	    "Package: a\nStatus: install ok installed\nVersion: 1:2.0-1\nArchitecture: amd64\nSource: asrc (1:2.0-0)\n"
	    "Description: x\n more\n .\n\n"
	    "Package: held\nStatus: hold ok installed\nVersion: 1\n\n"
	    "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n\n"
	    "Package: half\nStatus: install reinstreq half-installed\nVersion: 1\n\n"
	    "Package: b\nStatus: install ok installed\nVersion: 3\nSource: bsrc\n";
	struct pkg_list l = {NULL, 0, 0};
	struct ferr e = {0, ""};
	const struct pkg *p;

	CHECK(dpkg_status_parse(status, sizeof(status) - 1, 0, "status", &l, &e) == FX_OK);
	CHECK(l.n == 3);
	CHECK((p = find_pkg(&l, "a")) != NULL && strcmp(p->version, "1:2.0-1") == 0 && strcmp(p->arch, "amd64") == 0 &&
	    strcmp(p->source, "asrc") == 0 && strcmp(p->source_version, "1:2.0-0") == 0);
	CHECK((p = find_pkg(&l, "b")) != NULL && strcmp(p->source, "bsrc") == 0 && p->source_version == NULL);
	CHECK(find_pkg(&l, "held") != NULL && find_pkg(&l, "gone") == NULL && find_pkg(&l, "half") == NULL);
	pkg_list_free(&l);
	/* status.d: no Status field means installed */
	CHECK(dpkg_status_parse("Package: d\nVersion: 1\n", 22, 1, "status.d/d", &l, &e) == FX_OK && l.n == 1);
	pkg_list_free(&l);
	CHECK(dpkg_status_parse("Package: d\nVersion: 1\n", 22, 0, "status", &l, &e) == FX_OK && l.n == 0);
	pkg_list_free(&l);
	/* not a database */
	memset(&e, 0, sizeof(e));
	CHECK(dpkg_status_parse("garbage line\n", 13, 0, "status", &l, &e) == FX_VERIFY && strstr(e.msg, "line 1") != NULL);
	pkg_list_free(&l);
	memset(&e, 0, sizeof(e));
	CHECK(dpkg_status_parse(" cont\n", 6, 0, "status", &l, &e) == FX_VERIFY);
	pkg_list_free(&l);
	memset(&e, 0, sizeof(e));
	CHECK(dpkg_status_parse("Package: x\nStatus: install ok installed\n", 40, 0, "status", &l, &e) == FX_VERIFY &&
	    strstr(e.msg, "no Version") != NULL);
	pkg_list_free(&l);
	memset(&e, 0, sizeof(e));
	CHECK(dpkg_status_parse("Package: a\0b\n", 13, 0, "status", &l, &e) == FX_VERIFY);
	pkg_list_free(&l);
	memset(&e, 0, sizeof(e));
	CHECK(dpkg_status_parse("Status: install ok installed\nVersion: 1\n", 40, 0, "status", &l, &e) == FX_VERIFY);
	pkg_list_free(&l);
}

static void test_dep5(void)
{
	static const char machine[] =
	    "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: x\n\n"
	    "Files: *\nCopyright: me\nLicense: GPL-2+\n text\n .\n more\n\n"
	    "Files: b/*\nLicense:   GPL-3+   with   Bison exception\n\n"
	    "License: GPL-2+\n the text again\n";
	static const char prose[] = "This package was debianized by someone.\nLicense: GPL\n";
	char **lic = NULL;
	size_t n = 0;

	CHECK(dep5_licenses(machine, sizeof(machine) - 1, &lic, &n) == 1);
	CHECK(n == 2 && strcmp(lic[0], "GPL-2+") == 0 && strcmp(lic[1], "GPL-3+ with Bison exception") == 0);
	strv_free_n(lic, n);
	lic = NULL;
	n = 0;
	CHECK(dep5_licenses(prose, sizeof(prose) - 1, &lic, &n) == 0 && lic == NULL && n == 0);
	CHECK(dep5_licenses("Format: http://example.com/\n\nLicense: MIT\n", 40, &lic, &n) == 0);
}

static void test_apk_os(void)
{
	static const char db[] = "C:Q1=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\no:musl\n\nP:zlib\nV:1.3-r0\nA:x86_64\nL:Zlib\n";
	static const char osr[] = "# comment\nNAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID='3.19.1'\n"
	    "PRETTY_NAME=\"Alpine \\\"Linux\\\" v3.19\"\nbroken line\n";
	struct pkg_list l = {NULL, 0, 0};
	struct os_release o;
	struct ferr e = {0, ""};
	const struct pkg *p;

	CHECK(apk_installed_parse(db, sizeof(db) - 1, "installed", &l, &e) == FX_OK && l.n == 2);
	CHECK((p = find_pkg(&l, "musl")) != NULL && strcmp(p->version, "1.2.4-r2") == 0 && strcmp(p->source, "musl") == 0 &&
	    p->nlicenses == 1 && strcmp(p->licenses[0], "MIT") == 0 && p->license_known);
	pkg_list_free(&l);
	CHECK(apk_installed_parse("P:x\n\n", 5, "installed", &l, &e) == FX_VERIFY && strstr(e.msg, "V:") != NULL);
	pkg_list_free(&l);
	memset(&e, 0, sizeof(e));
	CHECK(apk_installed_parse("nonsense\n", 9, "installed", &l, &e) == FX_VERIFY);
	pkg_list_free(&l);
	os_release_parse(osr, sizeof(osr) - 1, &o);
	CHECK(o.id != NULL && strcmp(o.id, "alpine") == 0);
	CHECK(o.version_id != NULL && strcmp(o.version_id, "3.19.1") == 0);
	CHECK(o.pretty_name != NULL && strcmp(o.pretty_name, "Alpine \"Linux\" v3.19") == 0);
	os_release_free(&o);
}

static void test_purl_license(void)
{
	char *p = purl_make(PKG_DEB, "Debian", "libc6", "2.36-9+deb12u4", "amd64", "debian-12", NULL);

	CHECK(strcmp(p, "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12") == 0);
	free(p);
	p = purl_make(PKG_RPM, "rocky", "bash", "5.1.8-6.el9", "x86_64", "rocky-9.3", "1");
	CHECK(strcmp(p, "pkg:rpm/rocky/bash@5.1.8-6.el9?arch=x86_64&distro=rocky-9.3&epoch=1") == 0);
	free(p);
	p = purl_make(PKG_DEB, NULL, "a b/<c>", "1:2", NULL, NULL, NULL);
	CHECK(strcmp(p, "pkg:deb/a%20b%2F%3Cc%3E@1%3A2") == 0);
	free(p);
	CHECK(strcmp(sbom_spdx_id("GPL-2+"), "GPL-2.0-or-later") == 0);
	CHECK(strcmp(sbom_spdx_id("GPL-2"), "GPL-2.0-only") == 0);
	CHECK(strcmp(sbom_spdx_id("LGPL-2.1+"), "LGPL-2.1-or-later") == 0);
	CHECK(strcmp(sbom_spdx_id("lgpl-2.1"), "LGPL-2.1-only") == 0);
	CHECK(strcmp(sbom_spdx_id("GPL-3.0-or-later"), "GPL-3.0-or-later") == 0);
	CHECK(strcmp(sbom_spdx_id("Expat"), "MIT") == 0);
	CHECK(strcmp(sbom_spdx_id("BSD-3-clause"), "BSD-3-Clause") == 0);
	CHECK(sbom_spdx_id("GPL") == NULL && sbom_spdx_id("GPL-2.5") == NULL && sbom_spdx_id("public-domain") == NULL);
	CHECK(sbom_spdx_id("GPL-2+ or Artistic") == NULL);
}

static void test_versions(void)
{
	/* dpkg: deb-version(7) */
	CHECK(pkg_version_cmp(PKG_DEB, "1.0", "1.0") == 0);
	CHECK(pkg_version_cmp(PKG_DEB, "1.0~rc1", "1.0") < 0);
	CHECK(pkg_version_cmp(PKG_DEB, "1.0~~", "1.0~") < 0);
	CHECK(pkg_version_cmp(PKG_DEB, "1.0", "1.0-1") < 0);
	CHECK(pkg_version_cmp(PKG_DEB, "1.0-1", "1.0-2") < 0);
	CHECK(pkg_version_cmp(PKG_DEB, "1:0.1", "2.0") > 0);
	CHECK(pkg_version_cmp(PKG_DEB, "0:1.0", "1.0") == 0);
	CHECK(pkg_version_cmp(PKG_DEB, "1.0a", "1.0") > 0);
	CHECK(pkg_version_cmp(PKG_DEB, "1.0+b1", "1.0") > 0);
	CHECK(pkg_version_cmp(PKG_DEB, "1.0+b1", "1.0a") > 0); /* '+' sorts after letters */
	CHECK(pkg_version_cmp(PKG_DEB, "1.10", "1.9") > 0);
	CHECK(pkg_version_cmp(PKG_DEB, "1.010", "1.10") == 0);
	CHECK(pkg_version_cmp(PKG_DEB, "2.36-9+deb12u4", "2.36-9+deb12u10") < 0);
	CHECK(pkg_version_cmp(PKG_DEB, "99999999999999999999999", "99999999999999999999998") > 0);
	/* rpm */
	CHECK(pkg_version_cmp(PKG_RPM, "1.2-3.el9", "1.2-10.el9") < 0);
	CHECK(pkg_version_cmp(PKG_RPM, "1:1.0-1", "2.0-1") > 0);
	CHECK(pkg_version_cmp(PKG_RPM, "1.0~rc1-1", "1.0-1") < 0);
	CHECK(pkg_version_cmp(PKG_RPM, "1.0-1", "1.0-1") == 0);
	/* apk */
	CHECK(pkg_version_cmp(PKG_APK, "1.2.3", "1.2.3-r1") < 0);
	CHECK(pkg_version_cmp(PKG_APK, "1.2.3_rc1", "1.2.3") < 0);
	CHECK(pkg_version_cmp(PKG_APK, "1.2.3_alpha", "1.2.3_beta") < 0);
	CHECK(pkg_version_cmp(PKG_APK, "1.2.3_p1", "1.2.3") > 0);
	CHECK(pkg_version_cmp(PKG_APK, "1.2.3_git20230101", "1.2.3-r9") > 0);
	CHECK(pkg_version_cmp(PKG_APK, "1.10", "1.9") > 0);
	CHECK(pkg_version_cmp(PKG_APK, "1.2a", "1.2") > 0);
	CHECK(pkg_version_cmp(PKG_APK, "1.2.4-r2", "1.2.4-r10") < 0);
	CHECK(pkg_version_cmp(PKG_APK, "1.2", "1.2.0") < 0);
	CHECK(pkg_version_cmp(PKG_DEB, NULL, "1") < 0);
}

/* ---- layers */

struct ent {
	const char *name;
	const char *data;   /* NULL: a directory (or link) */
	const char *link;   /* a symbolic link target */
	const char *hard;   /* a hard link target */
};

/* A layer tar: plain in memory, then written as plain, gzip (cut into two members) or
 * zstd, or cut short. Returns the file's path. */
static char *layer_file(const char *name, const struct ent *v, size_t n, const char *how)
{
	struct archive *a = archive_write_new();
	size_t cap = 1 << 20, used = 0, i;
	char *buf, *path = xasprintf("%s/%s", tmp, name);
	FILE *f;

	for (i = 0; i < n; i++)
		cap += v[i].data != NULL ? strlen(v[i].data) + 1024 : 1024;
	buf = xmalloc(cap);

	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_memory(a, buf, cap, &used) != ARCHIVE_OK)
		abort();
	for (i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		archive_entry_set_pathname(ae, v[i].name);
		archive_entry_set_mtime(ae, 1000000000, 0);
		if (v[i].link != NULL) {
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_symlink(ae, v[i].link);
		} else if (v[i].hard != NULL) {
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_hardlink(ae, v[i].hard);
		} else if (v[i].data == NULL) {
			archive_entry_set_filetype(ae, AE_IFDIR);
		} else {
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_size(ae, (la_int64_t)strlen(v[i].data));
		}
		archive_entry_set_perm(ae, 0644);
		if (archive_write_header(a, ae) != ARCHIVE_OK)
			abort();
		if (v[i].data != NULL && v[i].link == NULL && v[i].hard == NULL)
			archive_write_data(a, v[i].data, strlen(v[i].data));
		archive_entry_free(ae);
	}
	archive_write_close(a);
	archive_write_free(a);
	f = fopen(path, "wb");
	if (strcmp(how, "gzip") == 0 || strcmp(how, "cut") == 0) {
		/* two members, the second after the first half, as ferry writes them */
		size_t half = used / 2, k;
		for (k = 0; k < 2; k++) {
			const char *src = buf + (k ? half : 0);
			size_t len = k ? used - half : half;
			uLongf zl = compressBound((uLong)len) + 64;
			unsigned char *z = xmalloc(zl);
			z_stream zs;
			memset(&zs, 0, sizeof(zs));
			deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
			zs.next_in = (unsigned char *)(uintptr_t)src;
			zs.avail_in = (uInt)len;
			zs.next_out = z;
			zs.avail_out = (uInt)zl;
			deflate(&zs, Z_FINISH);
			fwrite(z, 1, zs.total_out / (strcmp(how, "cut") == 0 && k == 1 ? 2 : 1), f);
			deflateEnd(&zs);
			free(z);
		}
	} else if (strcmp(how, "zstd") == 0) {
		size_t zl = ZSTD_compressBound(used);
		char *z = xmalloc(zl);
		zl = ZSTD_compress(z, zl, buf, used, 3);
		fwrite(z, 1, zl, f);
		free(z);
	} else {
		fwrite(buf, 1, used, f);
	}
	fclose(f);
	free(buf);
	return path;
}

static struct layer_cat *catalog(const char *path, struct ferr *e)
{
	struct layer_src src = {.path = path, .what = "layer"};
	struct layer_cat *lc = NULL;
	char *rpm = xasprintf("%s/rpm", tmp);

	if (layer_catalog(&src, rpm, &lc, e) != FX_OK)
		lc = NULL;
	free(rpm);
	return lc;
}

#define ST(name, ver) "Package: " name "\nStatus: install ok installed\nVersion: " ver "\nArchitecture: all\n\n"
#define DEP5(l) "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: " l "\n"

/* The diff_id hashed while a compressed layer was catalogued is the sha256 of its tar
 * (gzip in two members, zstd); a plain layer has none; data after the last gzip
 * member is refused (the stream is read to its end). */
static void test_layer_diff_ids(const struct ent *gz_ents, size_t ngz, const struct layer_cat *gz,
    const struct ent *zst_ents, const struct layer_cat *zst, const struct layer_cat *plain)
{
	char *p_gz = layer_file("gz-plain.tar", gz_ents, ngz, "plain"), *p_zst = layer_file("zst-plain.tar", zst_ents, 2, "plain");
	char *p_tail = layer_file("tail.tar.gz", gz_ents, ngz, "gzip");
	unsigned char want[SHA256_LEN], got[SHA256_LEN];
	struct ferr e = {0, ""};
	FILE *f;

	if (gz != NULL && zst != NULL && plain != NULL) {
		CHECK(sha256_file(p_gz, want, NULL, &e) == FX_OK && layer_cat_diff_id(gz, got) == 1 &&
		    memcmp(want, got, SHA256_LEN) == 0);
		CHECK(sha256_file(p_zst, want, NULL, &e) == FX_OK && layer_cat_diff_id(zst, got) == 1 &&
		    memcmp(want, got, SHA256_LEN) == 0);
		CHECK(layer_cat_diff_id(plain, got) == 0);
	}
	if ((f = fopen(p_tail, "ab")) != NULL) {
		fputs("trailing bytes", f);
		fclose(f);
	}
	CHECK(catalog(p_tail, &e) == NULL && e.code == FX_VERIFY && strstr(e.msg, "data after the last member") != NULL);
	free(p_gz);
	free(p_zst);
	free(p_tail);
}

/* A layer that decompresses to many blocks (the ring of blocks wraps several times,
 * the hasher is woken in batches): its diff_id is still its tar's sha256; the same
 * layer cut short is refused, its hasher stopped half-way. */
static void test_big_layer_diff_id(void)
{
	size_t len = (size_t)5 << 20, i;
	char *data = xmalloc(len + 1), *p_plain, *p_gz, *p_cut;
	uint32_t x = 12345;
	struct ent big[] = {{"etc/", NULL, NULL, NULL}, {"blob.bin", data, NULL, NULL}, {"etc/os-release", "ID=test\n", NULL, NULL}};
	unsigned char want[SHA256_LEN], got[SHA256_LEN];
	struct layer_cat *lc;
	struct ferr e = {0, ""};

	for (i = 0; i < len; i++) { /* compresses to about two thirds */
		x = x * 1103515245u + 12345u;
		data[i] = (char)('a' + (x >> 16) % 26);
	}
	data[len] = '\0';
	p_plain = layer_file("big.tar", big, 3, "plain");
	p_gz = layer_file("big.tar.gz", big, 3, "gzip");
	p_cut = layer_file("big-cut.tar.gz", big, 3, "cut");
	lc = catalog(p_gz, &e);
	CHECK(lc != NULL && sha256_file(p_plain, want, NULL, &e) == FX_OK && layer_cat_diff_id(lc, got) == 1 &&
	    memcmp(want, got, SHA256_LEN) == 0);
	layer_cat_free(lc);
	e.code = 0;
	CHECK(catalog(p_cut, &e) == NULL && e.code == FX_VERIFY && strstr(e.msg, "truncated") != NULL);
	free(data);
	free(p_plain);
	free(p_gz);
	free(p_cut);
}

static void test_layers(void)
{
	const struct ent base[] = {
	    {"./", NULL, NULL, NULL},
	    {"./etc/os-release", NULL, "../usr/lib/os-release", NULL},
	    {"./usr/lib/os-release", "ID=debian\nVERSION_ID=\"12\"\n", NULL, NULL},
	    {"./var/lib/dpkg/status", ST("keep", "1") ST("gone", "2") ST("linked", "3") ST("hard", "4"), NULL, NULL},
	    {"./usr/share/doc/keep/copyright", DEP5("Expat"), NULL, NULL},
	    {"./usr/share/doc/gone/copyright", DEP5("GPL-2+"), NULL, NULL},
	    {"./usr/share/doc/linked", NULL, "keep", NULL},
	    {"./usr/share/doc/hard/copyright", NULL, NULL, "usr/share/doc/gone/copyright"},
	    {"./usr/share/doc/ignored.txt", "x", NULL, NULL},
	};
	const struct ent rm_gone[] = {
	    {"usr/share/doc/.wh.gone", "", NULL, NULL},
	    {"var/lib/dpkg/status", ST("keep", "1.1") ST("linked", "3") ST("hard", "4"), NULL, NULL},
	};
	const struct ent opaque[] = {
	    {"var/lib/dpkg/.wh..wh..opq", "", NULL, NULL},
	    {"var/lib/dpkg/status.d/fresh", "Package: fresh\nVersion: 9\n", NULL, NULL},
	    {"var/lib/dpkg/status.d/fresh.md5sums", "not a stanza at all", NULL, NULL},
	};
	const struct ent masked[] = {{"var/lib/dpkg", "a file where the directory was", NULL, NULL}};
	char *p1 = layer_file("base.tar.gz", base, sizeof(base) / sizeof(base[0]), "gzip");
	char *p2 = layer_file("rm.tar.zst", rm_gone, 2, "zstd");
	char *p3 = layer_file("opq.tar", opaque, 3, "plain");
	char *p4 = layer_file("mask.tar", masked, 1, "plain");
	char *p5 = layer_file("cut.tar.gz", base, sizeof(base) / sizeof(base[0]), "cut");
	char *rpm = xasprintf("%s/rpm-img", tmp);
	struct ferr e = {0, ""};
	struct layer_cat *l1 = catalog(p1, &e), *l2 = catalog(p2, &e), *l3 = catalog(p3, &e), *l4 = catalog(p4, &e);
	struct image_cat c;
	const struct pkg *p;

	CHECK(l1 != NULL && l2 != NULL && l3 != NULL && l4 != NULL);
	if (l1 != NULL && l2 != NULL && l3 != NULL && l4 != NULL) {
		struct layer_cat *one[] = {l1}, *two[] = {l1, l2}, *three[] = {l1, l2, l3}, *four[] = {l1, l2, l4};
		CHECK(image_catalog(one, 1, rpm, "img", &c, &e) == FX_OK);
		CHECK(c.pkgs.n == 4 && c.os.id != NULL && strcmp(c.os.id, "debian") == 0);
		CHECK((p = find_pkg(&c.pkgs, "linked")) != NULL && p->nlicenses == 1 && strcmp(p->licenses[0], "Expat") == 0);
		CHECK((p = find_pkg(&c.pkgs, "hard")) != NULL && p->nlicenses == 1 && strcmp(p->licenses[0], "GPL-2+") == 0);
		CHECK((p = find_pkg(&c.pkgs, "keep")) != NULL && strcmp(p->purl, "pkg:deb/debian/keep@1?arch=all&distro=debian-12") == 0);
		image_cat_free(&c);
		CHECK(image_catalog(two, 2, rpm, "img", &c, &e) == FX_OK);
		CHECK(c.pkgs.n == 3 && find_pkg(&c.pkgs, "gone") == NULL);
		CHECK((p = find_pkg(&c.pkgs, "keep")) != NULL && strcmp(p->version, "1.1") == 0);
		/* the hard link's target is gone below, the link itself stays (the layer's own copy) */
		CHECK((p = find_pkg(&c.pkgs, "hard")) != NULL && p->nlicenses == 1);
		image_cat_free(&c);
		CHECK(image_catalog(three, 3, rpm, "img", &c, &e) == FX_OK);
		CHECK(c.pkgs.n == 1 && strcmp(c.pkgs.v[0].name, "fresh") == 0 && c.ndatabases == 1);
		image_cat_free(&c);
		CHECK(image_catalog(four, 3, rpm, "img", &c, &e) == FX_OK);
		CHECK(c.pkgs.n == 0 && c.ndatabases == 0 && strcmp(sbom_status(&c), "no package database found") == 0);
		image_cat_free(&c);
	}
	memset(&e, 0, sizeof(e));
	CHECK(catalog(p5, &e) == NULL && e.code == FX_VERIFY && strstr(e.msg, "truncated") != NULL);
	test_layer_diff_ids(base, sizeof(base) / sizeof(base[0]), l1, rm_gone, l2, l3);
	layer_cat_free(l1);
	layer_cat_free(l2);
	layer_cat_free(l3);
	layer_cat_free(l4);
	free(p1);
	free(p2);
	free(p3);
	free(p4);
	free(p5);
	free(rpm);
}

static void test_html(void)
{
	json_t *m = json_pack("{s:s, s:s, s:s, s:{s:b, s:s, s:{s:s}, s:{s:i, s:i, s:i, s:i}, s:[]}, s:{s:s, s:s}, s:[], s:[], "
	    "s:[], s:[], s:[], s:[]}",
	    "file", "<script>x</script>.ferry", "generated", "now", "tool", "ferry",
	    "verdict", "trusted", 1, "summary", "VERIFIED", "signature", "state", "good",
	    "entries", "ok", 1, "bad", 0, "missing", 0, "extra", 0, "notChecked",
	    "bundle", "name", "a\"b'c<d>&e\x1b[31m\xe2\x80\xaeZ", "version", "1",
	    "images", "charts", "docs", "files", "license", "entries");
	size_t len = 0;
	char *html = m != NULL ? report_html(m, &len) : NULL;

	CHECK(html != NULL && len == strlen(html));
	if (html != NULL) {
		CHECK(strstr(html, "<script>x") == NULL && strstr(html, "&lt;script&gt;x&lt;/script&gt;.ferry") != NULL);
		CHECK(strstr(html, "a&quot;b&#39;c&lt;d&gt;&amp;e\\x1b[31m\\xe2\\x80\\xaeZ") != NULL);
		CHECK(strchr(html, '\x1b') == NULL && strstr(html, "\xe2\x80\xae") == NULL);
		CHECK(strstr(html, "default-src 'none'") != NULL);
	}
	free(html);
	json_decref(m);
}

int main(void)
{
	char *d;

	snprintf(tmp, sizeof(tmp), "%s/ferry-sbom-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	d = mkdtemp(tmp);
	if (d == NULL)
		return 2;
	test_dpkg();
	test_dep5();
	test_apk_os();
	test_purl_license();
	test_versions();
	test_layers();
	test_big_layer_diff_id();
	test_html();
	rm_tree(tmp);
	return check_report("test_sbom");
}
