/* sbom_catalog.h - the OS packages installed in an image, from its layers.
 *
 * A layer is read once (layer_catalog) and only what cataloguing needs is kept: the
 * package databases (dpkg status and status.d, apk's installed, the rpmdb copied to a
 * private directory), os-release, the licences of DEP-5 copyright files, the symbolic
 * links that lead to those, and the whiteouts and opaque directories that hide lower
 * layers' copies of them. image_catalog then applies an image's layers in order, so
 * only the final filesystem counts, and parses what is left. A layer shared by several
 * images is read once and its result used for each. */
#ifndef FERRY_SBOM_CATALOG_H
#define FERRY_SBOM_CATALOG_H

#include <stddef.h>

#include "image/layer_read.h"
#include "image/pkgdb.h"
#include "util/util.h"

/* Limits on what one layer may hold (bounded memory whatever it claims). */
#define CAT_DB_MAX ((size_t)64 << 20)        /* dpkg status, apk installed: refused above */
#define CAT_STATUSD_MAX ((size_t)8 << 20)    /* one status.d file: refused above */
#define CAT_COPYRIGHT_MAX ((size_t)4 << 20)  /* larger: its licence is not read (noted) */
#define CAT_OS_RELEASE_MAX ((size_t)64 << 10) /* larger: ignored (noted) */
#define CAT_RPMDB_MAX ((uint64_t)1 << 30)    /* one rpmdb file: refused above */
#define CAT_MAX_FILES 200000                 /* kept paths of one layer */

struct layer_cat;

/* What the final filesystem of one image holds. */
struct image_cat {
	struct pkg_list pkgs;       /* sorted */
	struct os_release os;
	char **databases;           /* package databases found ("dpkg: var/lib/dpkg/status") */
	size_t ndatabases;
	char **notes;               /* what was not catalogued, and why */
	size_t nnotes;
	int uncatalogued;           /* a package database was found and could not be read */
};

/* Reads one layer. rpm_dir: a directory this layer may create to keep rpmdb files
 * (removed by the caller with everything else it staged). FX_IO when the layer cannot
 * be read, FX_VERIFY when its bytes are not a valid tar layer or a database in it
 * exceeds its limit; e names the layer (src->what). */
int layer_catalog(const struct layer_src *src, const char *rpm_dir, struct layer_cat **out, struct ferr *e);
/* The sha256 of the layer's decompressed bytes (its diff_id), hashed while it was read:
 * 1 when the layer was compressed, 0 when it was a plain tar (its digest is that). */
int layer_cat_diff_id(const struct layer_cat *lc, unsigned char diff_id[SHA256_LEN]);
void layer_cat_free(struct layer_cat *lc);

/* Applies layers[0..n) in order (whiteouts and opaque directories hide what lower
 * layers hold) and catalogues the result. rpm_dir: a fresh directory for the rpmdb of
 * this image. what names the image in messages (escaped). FX_VERIFY when a database
 * is malformed. */
int image_catalog(struct layer_cat *const *layers, size_t n, const char *rpm_dir, const char *what,
    struct image_cat *out, struct ferr *e);
void image_cat_free(struct image_cat *c);

/* rpm: reads the rpmdb in dir (its files as an image keeps them) with librpm. 0 ok,
 * -1 with why set. Not thread-safe (librpm's configuration is global). */
int rpmdb_catalog(const char *dir, struct pkg_list *out, char *why, size_t whylen);

#endif
