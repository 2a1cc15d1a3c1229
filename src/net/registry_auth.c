/* registry_auth.c - credentials (--creds, Docker's config.json), Basic and Bearer
 * authentication, and the authenticated request every part of the registry target
 * makes. */
#include "target/registry_int.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

/* ---- credentials */

static char *b64enc(const char *s, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	return out;
}

int rg_set_userpass(struct reg *g, const char *up, size_t n)
{
	const char *colon = memchr(up, ':', n);

	if (colon == NULL)
		return -1;
	g->user = xmalloc((size_t)(colon - up) + 1);
	memcpy(g->user, up, (size_t)(colon - up));
	g->user[colon - up] = '\0';
	g->pass = xmalloc(n - (size_t)(colon - up));
	memcpy(g->pass, colon + 1, n - (size_t)(colon - up) - 1);
	g->pass[n - (size_t)(colon - up) - 1] = '\0';
	return 0;
}

/* Does an auths key of ~/.docker/config.json name our host? */
static int auth_key_matches(const char *key, const char *hostport)
{
	size_t n;

	if (strncasecmp(key, "https://", 8) == 0)
		key += 8;
	else if (strncasecmp(key, "http://", 7) == 0)
		key += 7;
	n = strcspn(key, "/");
	return n == strlen(hostport) && strncasecmp(key, hostport, n) == 0;
}

void rg_load_docker_config(struct reg *g)
{
	const char *dir = getenv("DOCKER_CONFIG"), *home = getenv("HOME"), *k;
	char *path = NULL, *buf = NULL, *dec = NULL;
	size_t len = 0;
	json_t *root = NULL, *auths, *v;
	struct ferr e = {0, ""};

	if (dir != NULL && *dir)
		path = xasprintf("%s/config.json", dir);
	else if (home != NULL && *home)
		path = xasprintf("%s/.docker/config.json", home);
	else
		goto end;
	if (access(path, F_OK) != 0)
		goto end;
	if (read_file_max(path, 1u << 20, &buf, &len, &e) != FX_OK) {
		fx_warn("%s", e.msg);
		goto end;
	}
	root = json_loadb(buf, len, 0, NULL);
	if (root == NULL || !json_is_object(root)) {
		fx_warn("%s: not valid JSON, ignored", ESC(path));
		goto end;
	}
	auths = json_object_get(root, "auths");
	json_object_foreach(auths, k, v) {
		const char *a = json_string_value(json_object_get(v, "auth"));
		const char *u = json_string_value(json_object_get(v, "username"));
		const char *p = json_string_value(json_object_get(v, "password"));

		if (!auth_key_matches(k, g->tg.hostport))
			continue;
		if (a != NULL && *a) {
			size_t al = strlen(a), pad = 0;
			int dl;

			if (al % 4 != 0 || al > 8192)
				continue;
			dec = xmalloc(al / 4 * 3 + 1);
			dl = EVP_DecodeBlock((unsigned char *)dec, (const unsigned char *)a, (int)al);
			if (dl < 0)
				goto next;
			pad = (a[al - 1] == '=') + (al > 1 && a[al - 2] == '=');
			if ((size_t)dl >= pad && rg_set_userpass(g, dec, (size_t)dl - pad) == 0) {
				OPENSSL_cleanse(dec, al / 4 * 3 + 1);
				goto done;
			}
next:
			OPENSSL_cleanse(dec, al / 4 * 3 + 1);
			free(dec);
			dec = NULL;
		} else if (u != NULL && p != NULL) {
			g->user = xstrdup(u);
			g->pass = xstrdup(p);
			goto done;
		}
	}
	goto end;
done:
end:
	free(dec);
	json_decref(root);
	if (buf != NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	free(path);
}

static char *userpass_b64(struct reg *g)
{
	char *up = xasprintf("%s:%s", g->user, g->pass), *b;

	b = b64enc(up, strlen(up));
	OPENSSL_cleanse(up, strlen(up));
	free(up);
	return b;
}

/* The Authorization header for a request on repo (malloc'd), or NULL. */
static char *auth_header(struct reg *g, const char *repo)
{
	char *h = NULL;
	size_t i;

	pthread_mutex_lock(&g->amu);
	for (i = 0; i < g->ntoks; i++)
		if (strcmp(g->toks[i].repo, repo) == 0) {
			h = xstrdup(g->toks[i].hdr);
			break;
		}
	if (h == NULL && g->basic != NULL)
		h = xstrdup(g->basic);
	pthread_mutex_unlock(&g->amu);
	return h;
}

static void set_token(struct reg *g, const char *repo, char *hdr)
{
	size_t i;

	pthread_mutex_lock(&g->amu);
	for (i = 0; i < g->ntoks; i++)
		if (strcmp(g->toks[i].repo, repo) == 0)
			break;
	if (i == g->ntoks) {
		g->toks = xreallocarray(g->toks, g->ntoks + 1, sizeof(*g->toks));
		g->toks[i].repo = xstrdup(repo);
		g->ntoks++;
	} else {
		OPENSSL_cleanse(g->toks[i].hdr, strlen(g->toks[i].hdr));
		free(g->toks[i].hdr);
	}
	g->toks[i].hdr = hdr;
	pthread_mutex_unlock(&g->amu);
}

void rg_free_secret(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

/* Answers a 401 challenge: sets a Basic header or fetches a Bearer token for repo. */
static int authenticate(struct reg *g, struct http *h, const char *repo, const char *challenge, struct ferr *e)
{
	struct www_auth wa;
	struct http_resp rs;
	struct http_req rq;
	char *url = NULL, *tok = NULL, *b = NULL, *hdr = NULL, *q = NULL, *sv = NULL, *scopes = NULL, *sp, *save;
	const char *hdrs[2] = {NULL, NULL};
	int rc = FX_OK;

	memset(&rs, 0, sizeof(rs));
	if (challenge == NULL || reg_parse_www_auth(challenge, &wa) != 0)
		return fe_set(e, FX_TARGET, "%s: HTTP 401 without a usable WWW-Authenticate challenge", g->spec);
	if (strcmp(wa.scheme, "basic") == 0) {
		if (g->user == NULL) {
			rc = fe_set(e, FX_TARGET, "%s: authentication required (use --creds USER:PASS or docker login)", g->spec);
			goto end;
		}
		b = userpass_b64(g);
		hdr = xasprintf("Authorization: Basic %s", b);
		pthread_mutex_lock(&g->amu);
		rg_free_secret(g->basic);
		g->basic = hdr;
		hdr = NULL;
		pthread_mutex_unlock(&g->amu);
		goto end;
	}
	if (strcmp(wa.scheme, "bearer") != 0) {
		rc = fe_set(e, FX_TARGET, "%s: unsupported authentication scheme %s", g->spec, ESC(wa.scheme));
		goto end;
	}
	/* the realm is named by the registry: http(s) only, and never plain http when the
	 * registry itself is https (the credentials would cross the network in clear) */
	if (strncmp(wa.realm, "https://", 8) != 0 && !(strncmp(wa.realm, "http://", 7) == 0 && g->lo->plain_http)) {
		rc = fe_set(e, FX_TARGET, "%s: refusing token realm %s", g->spec, ESC(wa.realm));
		goto end;
	}
	{
		CURL *c = curl_easy_init();

		if (c == NULL) {
			rc = fe_set(e, FX_IO, "out of memory");
			goto end;
		}
		q = xstrdup("");
		if (wa.service != NULL) {
			char *es = curl_easy_escape(c, wa.service, 0);

			free(q);
			q = xasprintf("service=%s", es ? es : "");
			curl_free(es);
		}
		if (wa.scope != NULL) {
			scopes = xstrdup(wa.scope);
			for (sp = strtok_r(scopes, " ", &save); sp != NULL; sp = strtok_r(NULL, " ", &save)) {
				char *es = curl_easy_escape(c, sp, 0), *nq;

				nq = xasprintf("%s%sscope=%s", q, *q ? "&" : "", es ? es : "");
				curl_free(es);
				free(q);
				q = nq;
			}
		}
		curl_easy_cleanup(c);
	}
	url = xasprintf("%s%s%s", wa.realm, *q ? (strchr(wa.realm, '?') ? "&" : "?") : "", q);
	if (g->user != NULL) {
		b = userpass_b64(g);
		sv = xasprintf("Authorization: Basic %s", b);
		hdrs[0] = sv;
	}
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.url = url;
	rq.headers = hdrs;
	rq.max_body = 256u << 10;
	if ((rc = http_do(h, &rq, &rs, e)) != FX_OK)
		goto end;
	if (rs.status != 200) {
		rc = fe_set(e, FX_TARGET, "%s: token server refused%s (HTTP %ld)", g->spec,
		    g->user ? " the credentials" : " anonymous access", rs.status);
		goto end;
	}
	if (reg_parse_token(rs.body, rs.body_len, &tok) != 0) {
		rc = fe_set(e, FX_TARGET, "%s: token server sent no usable token", g->spec);
		goto end;
	}
	set_token(g, repo, xasprintf("Authorization: Bearer %s", tok));
end:
	rg_free_secret(tok);
	rg_free_secret(b);
	rg_free_secret(sv);
	rg_free_secret(hdr);
	free(url);
	free(q);
	free(scopes);
	if (rs.body != NULL)
		OPENSSL_cleanse(rs.body, rs.body_len);
	http_resp_free(&rs);
	reg_www_auth_free(&wa);
	return rc;
}

/* Counts requests that failed even after their retries (no answer, or still 5xx or
 * 429): BREAK_AFTER of them in a row and the registry is given up on. */
static void note_outcome(struct reg *g, int rc, const struct http_resp *rs, const struct ferr *e)
{
	int failed = (rc != FX_OK && e->code == FX_TARGET) ||
	    (rc == FX_OK && (rs->status == 429 || (rs->status >= 500 && rs->status <= 599)));

	pthread_mutex_lock(&g->amu);
	if (!failed) {
		g->fails = 0;
	} else if (++g->fails >= BREAK_AFTER && !g->broken) {
		g->broken = 1;
		if (rc != FX_OK)
			snprintf(g->broken_why, sizeof(g->broken_why), "%d requests in a row failed, the last one: %s",
			    g->fails, e->msg);
		else
			snprintf(g->broken_why, sizeof(g->broken_why),
			    "%d requests in a row failed, the last one with HTTP %ld after its retries", g->fails, rs->status);
	}
	pthread_mutex_unlock(&g->amu);
}

int rg_is_broken(struct reg *g)
{
	int b;

	pthread_mutex_lock(&g->amu);
	b = g->broken;
	pthread_mutex_unlock(&g->amu);
	return b;
}

/* A registry request on repo: adds the credentials it needs, answering a 401 once. The
 * body is body/len, or what src describes (body_read and the like) when it is given. */
int rg_rreq_src(struct reg *g, struct http *h, const char *repo, const char *method, const char *url,
    const char *const *extra, const void *body, size_t len, const struct http_req *src, size_t max_body,
    struct http_resp *rs, struct ferr *e)
{
	const char *hdrs[8];
	char *ah = NULL;
	struct http_req rq;
	int round, rc = FX_OK;
	size_t i, n;

	memset(rs, 0, sizeof(*rs)); /* callers free it whatever happens */
	pthread_mutex_lock(&g->amu);
	if (g->broken)
		rc = fe_set(e, FX_TARGET, "%s: giving up: %s", g->spec, g->broken_why);
	pthread_mutex_unlock(&g->amu);
	if (rc != FX_OK)
		return rc;
	for (round = 0; round < 2; round++) {
		n = 0;
		ah = auth_header(g, repo);
		if (ah != NULL)
			hdrs[n++] = ah;
		for (i = 0; extra != NULL && extra[i] != NULL && n < 7; i++)
			hdrs[n++] = extra[i];
		hdrs[n] = NULL;
		memset(&rq, 0, sizeof(rq));
		rq.method = method;
		rq.url = url;
		rq.headers = hdrs;
		rq.body = body;
		rq.body_len = len;
		if (src != NULL) {
			rq.body_read = src->body_read;
			rq.body_arg = src->body_arg;
			rq.body_size = src->body_size;
			rq.no_retry = src->no_retry;
		}
		rq.max_body = max_body;
		if (round > 0)
			http_resp_free(rs);
		rc = http_do(h, &rq, rs, e);
		rg_free_secret(ah);
		ah = NULL;
		if (rc != FX_OK || rs->status != 401)
			break;
		if (round == 1) {
			rc = fe_set(e, FX_TARGET, "%s: %s %s: authentication failed (HTTP 401)", g->spec, method, repo);
			break;
		}
		if ((rc = authenticate(g, h, repo, rs->www_auth, e)) != FX_OK)
			break;
	}
	note_outcome(g, rc, rs, e);
	return rc;
}

int rg_rreq(struct reg *g, struct http *h, const char *repo, const char *method, const char *url,
    const char *const *extra, const void *body, size_t len, size_t max_body, struct http_resp *rs, struct ferr *e)
{
	return rg_rreq_src(g, h, repo, method, url, extra, body, len, NULL, max_body, rs, e);
}

