/* registry.h - names of registries and images, and the parsers of what a registry sends
 * back (untrusted: unit-tested and fuzzed). */
#ifndef FERRY_REGISTRY_H
#define FERRY_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* registry://HOST[:PORT][/PREFIX] */
struct reg_target {
	char host[256];   /* as given, lower-cased; [v6] kept in brackets */
	char hostport[272];
	int port;         /* 0: default */
	char prefix[512]; /* "" or "a/b" (no leading or trailing slash) */
};
int reg_parse_target(const char *spec, struct reg_target *t);

/* An image reference: [HOST[:PORT]/]PATH[:TAG][@DIGEST]. Without a host the image is
 * Docker Hub's (host "docker.io", one-part paths get "library/"). */
struct reg_ref {
	char host[256];
	char path[512];
	char tag[129];     /* "" when none */
	char digest[72];   /* "" when none */
};
int reg_parse_ref(const char *ref, struct reg_ref *r);
/* The repository image r lands in on target t (docs/loading.md): PREFIX/PATH, the
 * original registry host dropped; with keep_host that host (port dropped, lower-cased)
 * is kept as the first path part. 0 ok, -1 when too long or not a valid repository
 * (repo then holds the name that was refused, cut at size). */
int reg_dest_repo(const struct reg_target *t, const struct reg_ref *r, int keep_host, char *repo,
    size_t size);
/* A repository path component list: lower-case [a-z0-9] runs joined by . _ __ or -+,
 * separated by "/". */
int reg_valid_repo(const char *path);

/* WWW-Authenticate: the first challenge. scheme "basic" or "bearer" (lower-cased). */
#define TOKEN_MAX (16u << 10) /* longest token ferry takes from a token server */

struct www_auth {
	char scheme[16];
	char *realm, *service, *scope;
};
int reg_parse_www_auth(const char *v, struct www_auth *a); /* 0 ok, -1 bad */
void reg_www_auth_free(struct www_auth *a);

/* A token server reply: {"token": ...} or {"access_token": ...}. 0 ok with a malloc'd
 * token of visible ASCII only, -1 otherwise. */
int reg_parse_token(const char *json, size_t len, char **token);

/* Resolves a Location header against base ("http[s]://host[:port]"): a path is joined
 * to base, an absolute URL must have the same scheme and authority. 0 ok with a
 * malloc'd URL, -1 when refused (other host, other scheme, control bytes, too long). */
int reg_resolve_location(const char *base, const char *loc, char **out);

/* "0-N" from a Range header of an upload session: *next = N+1. 0 ok, -1 bad. */
int reg_parse_range(const char *v, uint64_t *next);

#endif
