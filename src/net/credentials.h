/* credentials.h - registry credentials found the way the Docker CLI finds them:
 * --creds USER:PASS, else $DOCKER_CONFIG/config.json (default ~/.docker/config.json):
 * credHelpers[HOST], else credsStore (both run docker-credential-NAME get), else
 * auths[HOST] (as docker login writes it). Shared by every registry client. */
#ifndef FERRY_CREDENTIALS_H
#define FERRY_CREDENTIALS_H

#include "util/util.h"

#define CRED_HELPER_OUTPUT_MAX (64u << 10) /* bytes a helper may print */
#define CRED_HELPER_SECONDS 30             /* a helper that takes longer is stopped */

struct reg_creds {
	char *user, *pass;  /* both NULL: none (anonymous) */
	char source[300];   /* where they came from, for messages: "--creds",
	                       "docker-credential-NAME", "/root/.docker/config.json" */
};

/* "USER:PASS" into c; -1 when there is no colon. */
int creds_parse(const char *userpass, struct reg_creds *c);

/* Looks up the credentials for a registry (hostport: "HOST[:PORT]" as in the
 * reference; Docker Hub's names map to its "https://index.docker.io/v1/" key).
 * FX_OK with c filled, or left empty when there are none; FX_TARGET with e naming the
 * helper when a credential helper failed (other than "credentials not found"). A
 * config.json that cannot be read or parsed is warned about and ignored. */
int creds_lookup(const char *hostport, struct reg_creds *c, struct ferr *e);

/* Wipes and frees. */
void creds_free(struct reg_creds *c);

/* Wipes s (OPENSSL_cleanse) and frees it; NULL is fine. */
void secret_free(char *s);

/* A helper's "get" reply: {"ServerURL": ..., "Username": ..., "Secret": ...}. FX_OK
 * with c filled; FX_TARGET (e names helper) when it is not that, or names an identity
 * token (Username "<token>"), which ferry cannot use. Exposed for the unit tests. */
int creds_parse_helper_reply(const char *json, size_t len, const char *helper, struct reg_creds *c,
    struct ferr *e);

#endif
