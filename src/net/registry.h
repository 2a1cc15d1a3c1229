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

/* Where a redirect of a blob HEAD or GET goes: loc (an absolute http(s) URL, a
 * "//host/..." one on from's scheme, or a path on from's scheme, host and port)
 * resolved against from (the URL that was asked). 0 ok with a malloc'd URL, -1 when
 * refused (other schemes, https to http, control bytes or spaces, too long). */
int reg_resolve_redirect(const char *from, const char *loc, char **out);
/* Do two http(s) URLs have the same scheme, host and port? */
int reg_same_origin(const char *a, const char *b);

/* Is host (no port; IPv6 in brackets) a loopback name or address: "localhost",
 * 127.0.0.0/8, [::1]? Names are not resolved. */
int reg_host_is_loopback(const char *host);
/* May a token realm receive the registry's credentials? An https realm always; an http
 * one only when the registry itself is plain HTTP on loopback (a lab or test setup):
 * otherwise the credentials would cross a network in clear. */
int reg_realm_allowed(const char *realm, int registry_plain_http, int registry_loopback);
/* Does a token scope ("repository:a/b:pull,push", several separated by spaces, or NULL
 * when the challenge named none) grant push? */
int reg_scope_grants_push(const char *scope);

/* The verdict on the final answer to a blob HEAD: 1 present (200, and the
 * Docker-Content-Digest and Content-Length it gives, if any, are digest's and size's;
 * size UINT64_MAX: not compared), 0 not present (404, a redirect, a 200 for other
 * bytes), -1 an error status. */
int reg_blob_answer(long status, const char *digest_header, int has_length, uint64_t length, const char *digest,
    uint64_t size);

#endif
