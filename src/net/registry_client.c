/* registry_client.c - a client of one registry (see registry_client.h): credentials
 * on demand, Basic and Bearer authentication, tokens per repository and scope, the
 * breaker, and redirects of blob reads. */
#include "net/registry_client.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define TOKEN_REPLY_MAX (256u << 10)
#define REQUEST_HEADERS_MAX 8 /* a request's own headers, besides Authorization */

/* A Bearer token for a repository, good for scope (what the challenge asked). */
struct regc_token {
	char *repo, *scope;
	int push;      /* the scope grants push */
	char *header;  /* "Authorization: Bearer ..." */
};

int regc_host_listed(const char *const *hosts, size_t n, const char *hostport)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(hosts[i], hostport) == 0)
			return 1;
	return 0;
}

int regc_init(struct reg_client *c, const struct regc_opts *o, struct ferr *e)
{
	char host[300];

	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	http_budget_init(&c->budget, REGC_RETRY_BUDGET_MS);
	fx_strlcpy(c->name, o->name, sizeof(c->name));
	fx_strlcpy(c->hostport, o->hostport, sizeof(c->hostport));
	snprintf(c->base, sizeof(c->base), "%s://%s", o->plain_http ? "http" : "https", o->hostport);
	c->plain_http = o->plain_http;
	fx_strlcpy(host, o->hostport, sizeof(host));
	if (host[0] == '[')
		host[strcspn(host, "]") + 1] = '\0';
	else
		host[strcspn(host, ":")] = '\0';
	c->loopback = reg_host_is_loopback(host);
	c->http.cacert = o->cacert;
	c->http.timeout = o->timeout;
	c->http.budget = &c->budget;
	if (o->creds != NULL) {
		if (creds_parse(o->creds, &c->creds) != 0)
			return fe_set(e, FX_USAGE, "--creds: expected USER:PASS");
		c->creds_known = 1;
	}
	return FX_OK;
}

void regc_free(struct reg_client *c)
{
	size_t i;

	if (c == NULL || c->base[0] == '\0') /* never initialised */
		return;
	for (i = 0; i < c->ntokens; i++) {
		free(c->tokens[i].repo);
		free(c->tokens[i].scope);
		secret_free(c->tokens[i].header);
	}
	free(c->tokens);
	secret_free(c->basic);
	creds_free(&c->creds);
	pthread_mutex_destroy(&c->lock);
	http_budget_destroy(&c->budget);
	memset(c, 0, sizeof(*c));
}

struct http *regc_connect(struct reg_client *c)
{
	return http_new(&c->http);
}

int regc_broken(struct reg_client *c)
{
	int broken;

	pthread_mutex_lock(&c->lock);
	broken = c->broken;
	pthread_mutex_unlock(&c->lock);
	return broken;
}

/* ---- credentials and tokens */

/* Looks the credentials up once, at the first challenge that needs them (under lock).
 * FX_OK, with or without credentials; the error of a credential helper otherwise (kept:
 * it is not run again). */
static int need_creds(struct reg_client *c, struct ferr *e)
{
	struct ferr le = {0, ""};

	if (!c->creds_known) {
		c->creds_known = 1;
		if (creds_lookup(c->hostport, &c->creds, &le) != FX_OK)
			fe_set(&c->creds_error, FX_TARGET, "%s: %s", c->name, le.msg);
	}
	if (c->creds_error.code != FX_OK)
		return fe_set(e, c->creds_error.code, "%s", c->creds_error.msg);
	return FX_OK;
}

/* "Authorization: Basic base64(USER:PASS)" (malloc'd) from the credentials (under
 * lock), or NULL when there are none. */
static char *basic_header(struct reg_client *c)
{
	char *userpass, *b64, *hdr;
	size_t n;

	if (c->creds.user == NULL)
		return NULL;
	userpass = xasprintf("%s:%s", c->creds.user, c->creds.pass);
	n = strlen(userpass);
	b64 = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)userpass, (int)n);
	hdr = xasprintf("Authorization: Basic %s", b64);
	secret_free(userpass);
	secret_free(b64);
	return hdr;
}

/* The Authorization header for a request on repo (malloc'd), or NULL: a token whose
 * scope covers the request, else Basic once a challenge asked for it. */
static char *auth_header(struct reg_client *c, const char *repo, int push)
{
	char *h = NULL;
	size_t i;

	pthread_mutex_lock(&c->lock);
	for (i = c->ntokens; h == NULL && i > 0; i--) {
		struct regc_token *t = &c->tokens[i - 1];

		if (strcmp(t->repo, repo) == 0 && (t->push || !push))
			h = xstrdup(t->header);
	}
	if (h == NULL && c->basic != NULL)
		h = xstrdup(c->basic);
	pthread_mutex_unlock(&c->lock);
	return h;
}

/* Keeps header (taken) as the token for repo and scope, replacing an older one. */
static void set_token(struct reg_client *c, const char *repo, const char *scope, char *header)
{
	size_t i;

	if (scope == NULL)
		scope = "";
	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->ntokens; i++)
		if (strcmp(c->tokens[i].repo, repo) == 0 && strcmp(c->tokens[i].scope, scope) == 0)
			break;
	if (i == c->ntokens) {
		c->tokens = xreallocarray(c->tokens, c->ntokens + 1, sizeof(*c->tokens));
		c->tokens[i].repo = xstrdup(repo);
		c->tokens[i].scope = xstrdup(scope);
		c->tokens[i].push = reg_scope_grants_push(scope);
		c->ntokens++;
	} else {
		secret_free(c->tokens[i].header);
	}
	c->tokens[i].header = header;
	pthread_mutex_unlock(&c->lock);
}

/* The token request's URL: the realm with the service and scopes of the challenge. */
static char *token_url(const struct www_auth *wa)
{
	char *query = xstrdup(""), *scopes = NULL, *one, *save = NULL, *next, *esc;

	if (wa->service != NULL) {
		esc = http_escape(wa->service);
		free(query);
		query = xasprintf("service=%s", esc);
		free(esc);
	}
	if (wa->scope != NULL) {
		scopes = xstrdup(wa->scope);
		for (one = strtok_r(scopes, " ", &save); one != NULL; one = strtok_r(NULL, " ", &save)) {
			esc = http_escape(one);
			next = xasprintf("%s%sscope=%s", query, *query ? "&" : "", esc);
			free(esc);
			free(query);
			query = next;
		}
		free(scopes);
	}
	next = xasprintf("%s%s%s", wa->realm, *query ? (strchr(wa->realm, '?') ? "&" : "?") : "", query);
	free(query);
	return next;
}

/* Gets a Bearer token for repo from the realm of the challenge. The registry's
 * credentials go along (Basic), as the Docker CLI sends them: the realm must be
 * https, unless the registry itself is plain HTTP on loopback. */
static int fetch_token(struct reg_client *c, struct http *conn, const char *repo, const struct www_auth *wa,
    struct ferr *e)
{
	const char *headers[2] = {NULL, NULL};
	char *url = NULL, *token = NULL, *basic;
	struct http_req rq;
	struct http_resp rs;
	int rc;

	memset(&rs, 0, sizeof(rs));
	if (!reg_realm_allowed(wa->realm, c->plain_http, c->loopback))
		return fe_set(e, FX_TARGET, "%s: refusing token realm %s: %s", c->name, ESC(wa->realm),
		    strncmp(wa->realm, "http://", 7) == 0 ? "plain http is taken only from a plain-HTTP registry on loopback" :
		    "not an https URL");
	pthread_mutex_lock(&c->lock);
	rc = need_creds(c, e);
	basic = rc == FX_OK ? basic_header(c) : NULL;
	pthread_mutex_unlock(&c->lock);
	if (rc != FX_OK)
		goto end;
	headers[0] = basic;
	url = token_url(wa);
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.url = url;
	rq.headers = headers;
	rq.max_body = TOKEN_REPLY_MAX;
	if ((rc = http_do(conn, &rq, &rs, e)) != FX_OK)
		goto end;
	if (rs.status != 200) {
		rc = fe_set(e, FX_TARGET, "%s: token server refused%s (HTTP %ld)", c->name,
		    basic != NULL ? " the credentials" : " anonymous access", rs.status);
		goto end;
	}
	if (reg_parse_token(rs.body, rs.body_len, &token) != 0) {
		rc = fe_set(e, FX_TARGET, "%s: token server sent no usable token", c->name);
		goto end;
	}
	set_token(c, repo, wa->scope, xasprintf("Authorization: Bearer %s", token));
end:
	secret_free(token);
	secret_free(basic);
	free(url);
	if (rs.body != NULL)
		OPENSSL_cleanse(rs.body, rs.body_len);
	http_resp_free(&rs);
	return rc;
}

/* Answers a 401 challenge: Basic from then on, or a Bearer token for repo. */
static int authenticate(struct reg_client *c, struct http *conn, const char *repo, const char *challenge,
    struct ferr *e)
{
	struct www_auth wa;
	int rc = FX_OK;

	if (challenge == NULL || reg_parse_www_auth(challenge, &wa) != 0)
		return fe_set(e, FX_TARGET, "%s: HTTP 401 without a usable WWW-Authenticate challenge", c->name);
	if (strcmp(wa.scheme, "basic") == 0) {
		pthread_mutex_lock(&c->lock);
		rc = need_creds(c, e);
		if (rc == FX_OK && c->creds.user == NULL)
			rc = fe_set(e, FX_TARGET, "%s: authentication required (use --creds USER:PASS, docker login "
			    "or a credential helper)", c->name);
		if (rc == FX_OK && c->basic == NULL)
			c->basic = basic_header(c);
		pthread_mutex_unlock(&c->lock);
	} else if (strcmp(wa.scheme, "bearer") == 0) {
		rc = fetch_token(c, conn, repo, &wa, e);
	} else {
		rc = fe_set(e, FX_TARGET, "%s: unsupported authentication scheme %s", c->name, ESC(wa.scheme));
	}
	reg_www_auth_free(&wa);
	return rc;
}

/* ---- requests */

/* Counts requests that failed even after their retries (no answer, or still 5xx or
 * 429): REGC_BREAK_AFTER of them in a row and the registry is given up on. */
static void note_outcome(struct reg_client *c, int rc, const struct http_resp *rs, const struct ferr *e)
{
	int failed = (rc != FX_OK && e->code == FX_TARGET) ||
	    (rc == FX_OK && (rs->status == 429 || (rs->status >= 500 && rs->status <= 599)));

	pthread_mutex_lock(&c->lock);
	if (!failed) {
		c->fails = 0;
	} else if (++c->fails >= REGC_BREAK_AFTER && !c->broken) {
		c->broken = 1;
		if (rc != FX_OK)
			snprintf(c->broken_why, sizeof(c->broken_why), "%d requests in a row failed, the last one: %s",
			    c->fails, e->msg);
		else
			snprintf(c->broken_why, sizeof(c->broken_why),
			    "%d requests in a row failed, the last one with HTTP %ld after its retries", c->fails, rs->status);
	}
	pthread_mutex_unlock(&c->lock);
}

static int is_push(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

int regc_request(struct reg_client *c, struct http *conn, const struct regc_request *rq, struct http_resp *rs,
    struct ferr *e)
{
	const char *headers[REQUEST_HEADERS_MAX + 2];
	struct http_req req = rq->http;
	char *auth = NULL;
	int round, rc = FX_OK;
	size_t i, n;

	memset(rs, 0, sizeof(*rs)); /* callers free it whatever happens */
	pthread_mutex_lock(&c->lock);
	if (c->broken)
		rc = fe_set(e, FX_TARGET, "%s: giving up: %s", c->name, c->broken_why);
	pthread_mutex_unlock(&c->lock);
	if (rc != FX_OK)
		return rc;
	req.headers = headers;
	for (round = 0; round < 2; round++) {
		n = 0;
		auth = auth_header(c, rq->repo, is_push(req.method));
		if (auth != NULL)
			headers[n++] = auth;
		for (i = 0; rq->http.headers != NULL && rq->http.headers[i] != NULL && i < REQUEST_HEADERS_MAX; i++)
			headers[n++] = rq->http.headers[i];
		headers[n] = NULL;
		if (round > 0)
			http_resp_free(rs);
		rc = http_do(conn, &req, rs, e);
		secret_free(auth);
		auth = NULL;
		if (rc != FX_OK || rs->status != 401)
			break;
		if (round == 1) {
			rc = fe_set(e, FX_TARGET, "%s: %s %s: authentication failed (HTTP 401)", c->name, req.method, rq->repo);
			break;
		}
		if ((rc = authenticate(c, conn, rq->repo, rs->www_auth, e)) != FX_OK)
			break;
	}
	note_outcome(c, rc, rs, e);
	return rc;
}

static int is_redirect(long status)
{
	return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

int regc_request_follow(struct reg_client *c, struct http *conn, const struct regc_request *rq,
    struct http_resp *rs, struct ferr *e)
{
	struct regc_request hop = *rq;
	char *url = NULL, *next = NULL;
	int rc, hops;

	if (strcmp(rq->http.method, "HEAD") != 0 && strcmp(rq->http.method, "GET") != 0)
		return fe_set(e, FX_TARGET, "%s: %s: only HEAD and GET follow redirects", c->name, rq->http.method);
	rc = regc_request(c, conn, rq, rs, e);
	for (hops = 0; rc == FX_OK && is_redirect(rs->status) && hops < REGC_REDIRECTS_MAX; hops++) {
		if (rs->location == NULL || reg_resolve_redirect(url != NULL ? url : rq->http.url, rs->location, &next) != 0)
			break; /* not followed: the redirect is the answer */
		free(url);
		url = next;
		next = NULL;
		hop.http.url = url;
		http_resp_free(rs);
		if (reg_same_origin(url, c->base)) {
			rc = regc_request(c, conn, &hop, rs, e);
		} else {
			/* another host (a storage backend): no credentials go there */
			rc = http_do(conn, &hop.http, rs, e);
		}
	}
	free(url);
	return rc;
}

int regc_blob_present(struct reg_client *c, struct http *conn, const char *repo, const char *digest,
    uint64_t size, struct ferr *e)
{
	struct regc_request rq;
	struct http_resp rs;
	char *url = xasprintf("%s/v2/%s/blobs/%s", c->base, repo, digest);
	int verdict = -1;

	memset(&rq, 0, sizeof(rq));
	rq.repo = repo;
	rq.http.method = "HEAD";
	rq.http.url = url;
	if (regc_request_follow(c, conn, &rq, &rs, e) != FX_OK)
		goto end;
	verdict = reg_blob_answer(rs.status, rs.digest, rs.has_content_length, rs.content_length, digest, size);
	if (verdict < 0)
		fe_set(e, FX_TARGET, "%s: HEAD %s/blobs/%s: HTTP %ld", c->name, repo, digest, rs.status);
end:
	http_resp_free(&rs);
	free(url);
	return verdict;
}

int regc_get(struct reg_client *c, struct http *conn, const char *repo, const char *url, const char *const *headers,
    size_t max, int follow, struct http_resp *rs, struct ferr *e)
{
	struct regc_request rq;

	memset(&rq, 0, sizeof(rq));
	memset(rs, 0, sizeof(*rs));
	rq.repo = repo;
	rq.http.method = "GET";
	rq.http.url = url;
	rq.http.headers = headers;
	rq.http.max_body = max;
	rq.http.stop_on_interrupt = 1;
	return follow ? regc_request_follow(c, conn, &rq, rs, e) : regc_request(c, conn, &rq, rs, e);
}
