/* registry.h - names of registries, and the parsers of what a registry sends back
 * (untrusted: unit-tested and fuzzed). Image references: net/ref.h. */
#ifndef FERRY_REGISTRY_H
#define FERRY_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "net/ref.h"
#include "util/util.h"

/* registry://HOST[:PORT][/PREFIX] */
struct reg_target {
	char host[256];   /* as given, lower-cased; [v6] kept in brackets */
	char hostport[272];
	int port;         /* 0: default */
	char prefix[512]; /* "" or "a/b" (no leading or trailing slash) */
};
int reg_parse_target(const char *spec, struct reg_target *t);

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
