/* pkgdb.h - the package databases of an image's final filesystem, parsed: dpkg's
 * status (and distroless status.d files), Debian machine-readable copyright files
 * (DEP-5), Alpine's lib/apk/db/installed and os-release; package URLs (purl). Every
 * input is untrusted text from a layer: lengths are given, nothing is assumed to be
 * NUL-terminated, and what is kept is copied. */
#ifndef FERRY_PKGDB_H
#define FERRY_PKGDB_H

#include <stddef.h>

#include "util/util.h"

enum pkg_kind { PKG_DEB = 1, PKG_APK = 2, PKG_RPM = 3 };

struct pkg {
	enum pkg_kind kind;
	char *name, *version, *arch; /* version: as the package manager writes it */
	char *source;                /* deb Source, apk origin, rpm source package; or NULL */
	char *source_version;        /* deb: the Source field's version, when it gives one */
	char *epoch;                 /* rpm: the epoch, or NULL */
	char **licenses;             /* as the distribution writes them, sorted, unique */
	size_t nlicenses;
	int license_known;           /* the licence was looked for and found (DEP-5, L:, License) */
	char *purl;
};

struct pkg_list {
	struct pkg *v;
	size_t n, cap;
};

struct os_release {
	char *id, *version_id, *version_codename, *name, *pretty_name;
};

/* Most packages one database may list (bounded memory whatever a layer says). */
#define PKGDB_MAX_PKGS 200000
/* Most licence expressions kept for one package. */
#define PKGDB_MAX_LICENSES 64

/* dpkg's status file, or one file of status.d (status_d: a missing Status field means
 * installed, as distroless images write them). Only installed packages are kept: Status
 * "install ok installed" (or "hold ok installed": held, but installed all the same).
 * FX_VERIFY with e set (what names the file) when the text is not a dpkg database. */
int dpkg_status_parse(const char *buf, size_t len, int status_d, const char *what, struct pkg_list *out,
    struct ferr *e);
/* Alpine's installed database (P name, V version, A arch, L licence, o origin). */
int apk_installed_parse(const char *buf, size_t len, const char *what, struct pkg_list *out, struct ferr *e);
/* os-release (KEY=value, shell quoting); unknown keys and bad lines are ignored. */
void os_release_parse(const char *buf, size_t len, struct os_release *out);
/* A DEP-5 copyright file: 1 when it is machine-readable (Format: copyright-format/1.0),
 * with every License: synopsis (whitespace collapsed) in *lic, sorted and unique; 0
 * when it is not (nothing set). */
int dep5_licenses(const char *buf, size_t len, char ***lic, size_t *n);

/* A package URL: pkg:TYPE[/NAMESPACE]/NAME@VERSION?QUALIFIERS with the qualifiers
 * (arch, distro, epoch) sorted and every component percent-encoded (anything outside
 * A-Z a-z 0-9 . - _ ~). namespace, arch, distro, epoch may be NULL. */
char *purl_make(enum pkg_kind kind, const char *namespace, const char *name, const char *version,
    const char *arch, const char *distro, const char *epoch);
/* s percent-encoded as purl components are: every byte outside A-Z a-z 0-9 . - _ ~. */
char *purl_encode(const char *s);
const char *pkg_kind_name(enum pkg_kind kind); /* "deb", "apk", "rpm" */

struct pkg *pkg_list_add(struct pkg_list *l, enum pkg_kind kind);
/* Sorts by name, version, arch and kind; drops exact duplicates. */
void pkg_list_sort(struct pkg_list *l);
void pkg_list_free(struct pkg_list *l);
void pkg_free(struct pkg *p);
void os_release_free(struct os_release *o);

/* A sorted set of strings (licence lists): adds a copy of s[0..n) unless present. */
void strset_add(char ***v, size_t *count, const char *s, size_t n);
void strv_free_n(char **v, size_t n);

#endif
