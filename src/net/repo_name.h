/* repo_name.h - where an image of a bundle lands in a registry: the one rule that
 * `load --to registry://HOST/PREFIX` and `serve --prefix` share (docs/loading.md). */
#ifndef FERRY_REPO_NAME_H
#define FERRY_REPO_NAME_H

#include <stddef.h>

#define REPO_NAME_MAX 256 /* a repository name (255 characters at most) and its NUL */
#define REPO_TAG_MAX 129  /* a tag (128 at most) and its NUL */

/* The repository and tag of image reference ref under prefix ("" or "a/b"): the
 * original registry host dropped, or with keep_host kept as the first path part
 * without its port; an image without a host is Docker Hub's (busybox:1 lands as
 * library/busybox:1). tag is "" for an image referenced by digest only. References
 * follow net/ref.h (a tag or a digest is required). 0 ok; -1 when ref is not a valid
 * reference or the name is not a valid repository (too long, for one). */
int reg_repo_name(const char *ref, const char *prefix, int keep_host, char repo[REPO_NAME_MAX],
    char tag[REPO_TAG_MAX]);

#endif
