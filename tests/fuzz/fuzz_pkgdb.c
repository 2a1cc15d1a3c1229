/* fuzz_pkgdb.c - libFuzzer target for what the SBOM reads from image layers and from
 * bundles. The first byte picks the parser, the rest is its input:
 *   0 dpkg status, 1 a status.d file, 2 apk's installed, 3 os-release, 4 a DEP-5
 *   copyright file, 5 a CycloneDX document (sbom_view_parse, the table and the report),
 *   6 two versions (split at the first NUL) compared as deb, rpm and apk,
 *   7 a dpkg status whose packages go through both writers and back,
 *   8 a whole layer (plain, gzip or zstd tar) catalogued from a memfd.
 * Properties beyond "no crash, no leak": a failure has a message; a kept package has a
 * name and a version; DEP-5 sets licences only when it says machine-readable; version
 * order is antisymmetric and reflexive; what the writers write is JSON the reader takes,
 * with no more packages than went in. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "image/pkgdb.h"
#include "image/pkgver.h"
#include "image/sbom_catalog.h"
#include "image/sbom_read.h"
#include "image/sbom_write.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Never a directory: the layer reader cannot copy an rpmdb, the image step cannot hand
 * one to librpm (whose own failure paths are not what is tested here). */
#define NO_DIR "/proc/ferry-fuzz-no-such-dir"

static void check_pkgs(const struct pkg_list *l, int need_version)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].name == NULL || (need_version && (l->v[i].version == NULL || l->v[i].version[0] == '\0')))
			abort();
}

static void parse_db(int mode, const char *buf, size_t len)
{
	struct pkg_list l = {NULL, 0, 0};
	struct ferr e = {0, ""};
	int rc = mode == 2 ? apk_installed_parse(buf, len, "db", &l, &e) : dpkg_status_parse(buf, len, mode, "db", &l, &e);

	if (rc != FX_OK && e.msg[0] == '\0')
		abort();
	if (rc == FX_OK)
		check_pkgs(&l, 1);
	pkg_list_free(&l);
}

static void versions(const char *buf, size_t len)
{
	const char *nul = memchr(buf, '\0', len);
	char *a, *b;
	int k;

	if (nul == NULL)
		return;
	a = xstrndup(buf, (size_t)(nul - buf));
	b = xstrndup(nul + 1, len - (size_t)(nul - buf) - 1);
	for (k = PKG_DEB; k <= PKG_APK; k++) {
		int ab = pkg_version_cmp(k, a, b), ba = pkg_version_cmp(k, b, a);
		if (ab != -ba || pkg_version_cmp(k, a, a) != 0)
			abort();
	}
	free(a);
	free(b);
}

static void write_read(const struct image_cat *c)
{
	struct sbom_subject s = {"fuzz.test/x:1", "sha256:0000000000000000000000000000000000000000000000000000000000000000",
	    "linux/amd64", 0};
	struct sbom_view v;
	struct ferr e = {0, ""};
	char *spdx = NULL, *cdx = NULL;
	size_t sl = 0, cl = 0;

	if (sbom_write_spdx(&s, c, &spdx, &sl, &e) != FX_OK || sbom_write_cyclonedx(&s, c, &cdx, &cl, &e) != FX_OK)
		abort();
	if (sbom_view_parse(cdx, cl, "cdx", &v, &e) != FX_OK || v.pkgs.n > c->pkgs.n)
		abort();
	sbom_view_free(&v);
	free(spdx);
	free(cdx);
}

static void through_writers(const char *buf, size_t len)
{
	struct image_cat c;
	struct ferr e = {0, ""};
	size_t i;

	memset(&c, 0, sizeof(c));
	if (dpkg_status_parse(buf, len, 0, "db", &c.pkgs, &e) == FX_OK) {
		for (i = 0; i < c.pkgs.n; i++) {
			c.pkgs.v[i].purl = purl_make(PKG_DEB, "debian", c.pkgs.v[i].name, c.pkgs.v[i].version,
			    c.pkgs.v[i].arch, "debian-12", NULL);
			strset_add(&c.pkgs.v[i].licenses, &c.pkgs.v[i].nlicenses, c.pkgs.v[i].name, strlen(c.pkgs.v[i].name));
		}
		pkg_list_sort(&c.pkgs);
		write_read(&c);
	}
	image_cat_free(&c);
}

static void layer(const uint8_t *buf, size_t len)
{
	int fd = memfd_create("layer", MFD_CLOEXEC);
	char path[64];
	struct layer_src src = {0};
	struct layer_cat *lc = NULL;
	struct image_cat c;
	struct ferr e = {0, ""};

	if (fd < 0)
		return;
	if (write(fd, buf, len) != (ssize_t)len) {
		close(fd);
		return;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	src.path = path;
	src.off = 0;
	src.len = 0;
	src.what = "layer";
	if (layer_catalog(&src, NO_DIR, &lc, &e) != FX_OK) {
		if (e.msg[0] == '\0' || lc != NULL)
			abort();
	} else {
		struct layer_cat *one[1];
		one[0] = lc;
		memset(&e, 0, sizeof(e));
		if (image_catalog(one, 1, NO_DIR, "image", &c, &e) == FX_OK) {
			check_pkgs(&c.pkgs, 1);
			write_read(&c);
			image_cat_free(&c);
		} else if (e.msg[0] == '\0') {
			abort();
		}
		layer_cat_free(lc);
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data + 1;
	size_t len = size - 1;
	struct os_release o;
	struct sbom_view v;
	struct ferr e = {0, ""};
	char **lic = NULL;
	size_t n = 0;

	if (size == 0)
		return 0;
	switch (data[0] % 9) {
	case 0:
	case 1:
	case 2:
		parse_db(data[0] % 9, buf, len);
		break;
	case 3:
		os_release_parse(buf, len, &o);
		os_release_free(&o);
		break;
	case 4:
		if (dep5_licenses(buf, len, &lic, &n) == 0 && (lic != NULL || n != 0))
			abort();
		strv_free_n(lic, n);
		break;
	case 5:
		if (sbom_view_parse(buf, len, "sbom", &v, &e) == FX_OK) {
			check_pkgs(&v.pkgs, 0);
			sbom_view_free(&v);
		} else if (e.msg[0] == '\0') {
			abort();
		}
		break;
	case 6:
		versions(buf, len);
		break;
	case 7:
		through_writers(buf, len);
		break;
	default:
		layer((const uint8_t *)buf, len);
		break;
	}
	return 0;
}
