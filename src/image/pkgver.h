/* pkgver.h - version order of Debian, Alpine and RPM packages, for the report's
 * "upgraded" and "downgraded". */
#ifndef FERRY_PKGVER_H
#define FERRY_PKGVER_H

#include "image/pkgdb.h"

/* < 0, 0, > 0 as a is older than, the same as, or newer than b, by the package
 * manager's own rules: dpkg's algorithm (epoch, upstream, revision; '~' sorts before
 * everything), rpm's rpmvercmp (librpm) on [EPOCH:]VERSION-RELEASE, and for apk the
 * order apk-tools documents (numbers, a letter, _alpha < _beta < _pre < _rc < none <
 * _cvs < _svn < _git < _hg < _p suffixes, then -rN), see pkgver.c for where it is
 * approximate. NULL sorts first. */
int pkg_version_cmp(enum pkg_kind kind, const char *a, const char *b);

#endif
