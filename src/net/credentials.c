/* credentials.c - registry credentials: --creds, Docker's config.json and its
 * credential helpers (see credentials.h). Secrets are wiped from memory after use. */
#include "net/credentials.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#define CONFIG_MAX (1u << 20)
#define HUB_KEY "https://index.docker.io/v1/"
#define NOT_FOUND "credentials not found in native keychain"

void secret_free(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void creds_free(struct reg_creds *c)
{
	secret_free(c->user);
	secret_free(c->pass);
	c->user = c->pass = NULL;
}

/* USER:PASS of n bytes (no NUL needed) into c. */
static int set_userpass(struct reg_creds *c, const char *up, size_t n)
{
	const char *colon = memchr(up, ':', n);
	size_t ul;

	if (colon == NULL)
		return -1;
	ul = (size_t)(colon - up);
	creds_free(c);
	c->user = xstrndup(up, ul);
	c->pass = xstrndup(colon + 1, n - ul - 1);
	return 0;
}

int creds_parse(const char *userpass, struct reg_creds *c)
{
	memset(c, 0, sizeof(*c));
	if (userpass == NULL || set_userpass(c, userpass, strlen(userpass)) != 0)
		return -1;
	fx_strlcpy(c->source, "--creds", sizeof(c->source));
	return 0;
}

static int is_hub(const char *hostport)
{
	return strcmp(hostport, "docker.io") == 0 || strcmp(hostport, "index.docker.io") == 0 ||
	    strcmp(hostport, "registry-1.docker.io") == 0;
}

/* Does a key of config.json (auths, credHelpers) name the registry? Keys are
 * "HOST[:PORT]" or a URL ("https://HOST[:PORT]/..."), as docker login wrote them. */
static int key_matches(const char *key, const char *hostport)
{
	size_t n;

	if (is_hub(hostport))
		hostport = "index.docker.io";
	if (strncasecmp(key, "https://", 8) == 0)
		key += 8;
	else if (strncasecmp(key, "http://", 7) == 0)
		key += 7;
	n = strcspn(key, "/");
	return n == strlen(hostport) && strncasecmp(key, hostport, n) == 0;
}

/* An auths entry: "auth" (base64 of USER:PASS) or "username" and "password". */
static int from_auths_entry(json_t *entry, struct reg_creds *c)
{
	const char *a = json_string_value(json_object_get(entry, "auth"));
	const char *u = json_string_value(json_object_get(entry, "username"));
	const char *p = json_string_value(json_object_get(entry, "password"));
	char *dec = NULL;
	size_t al, cap = 0;
	int decoded, pad, rc = -1;

	if (a != NULL && *a != '\0') {
		al = strlen(a);
		if (al % 4 != 0 || al > 8192)
			goto end;
		cap = al / 4 * 3 + 1;
		dec = xmalloc(cap);
		decoded = EVP_DecodeBlock((unsigned char *)dec, (const unsigned char *)a, (int)al);
		pad = (a[al - 1] == '=') + (al > 1 && a[al - 2] == '=');
		if (decoded >= pad && set_userpass(c, dec, (size_t)(decoded - pad)) == 0)
			rc = 0;
	} else if (u != NULL && p != NULL) {
		creds_free(c);
		c->user = xstrdup(u);
		c->pass = xstrdup(p);
		rc = 0;
	}
end:
	if (dec != NULL) {
		OPENSSL_cleanse(dec, cap);
		free(dec);
	}
	return rc;
}

/* A helper name: what follows "docker-credential-"; never a path. */
static int helper_name_ok(const char *name)
{
	size_t i, n = name != NULL ? strlen(name) : 0;

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '-' || name[i] == '_' || name[i] == '.'))
			return 0;
	return name[0] != '.';
}

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Reads fd to its end into *out (at most CRED_HELPER_OUTPUT_MAX bytes), within the
 * helper's time. 0 ok, else -1 with why set. */
static int read_output(int fd, char **out, size_t *len, const char **why)
{
	uint64_t end = now_ms() + CRED_HELPER_SECONDS * 1000;
	size_t cap = 4096;

	*out = xmalloc(cap + 1);
	*len = 0;
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		uint64_t now = now_ms();
		ssize_t r;

		if (now >= end) {
			*why = "took too long";
			return -1;
		}
		if (poll(&p, 1, (int)(end - now)) < 0 && errno != EINTR) {
			*why = "cannot read its output";
			return -1;
		}
		if (p.revents == 0)
			continue;
		if (*len == cap) {
			if (cap >= CRED_HELPER_OUTPUT_MAX) {
				*why = "printed too much";
				return -1;
			}
			cap *= 2;
			*out = xrealloc(*out, cap + 1);
		}
		r = read(fd, *out + *len, cap - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*why = "cannot read its output";
			return -1;
		}
		if (r == 0)
			break;
		*len += (size_t)r;
	}
	(*out)[*len] = '\0';
	return 0;
}

/* The first line of a helper's output for a message, escaped. */
static const char *output_line_buf(const char *out, size_t len, char *buf, size_t size)
{
	char line[200];
	size_t n = strcspn(out, "\r\n");

	if (n > len)
		n = len;
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, out, n);
	line[n] = '\0';
	return fx_esc(line, buf, size);
}
#define output_line(out, len) output_line_buf((out), (len), (char[ESC_MAX]){0}, ESC_MAX)

/* Runs "docker-credential-NAME get" with server on its stdin, as the Docker CLI does:
 * FX_OK with its output in *out and its exit status in *status (-1: killed). */
static int run_helper(const char *prog, const char *server, char **out, size_t *len, int *status, struct ferr *e)
{
	int to_child[2] = {-1, -1}, from_child[2] = {-1, -1}, wst = 0, rc = FX_OK, err;
	char *argv[] = {(char *)(uintptr_t)prog, (char *)(uintptr_t)"get", NULL};
	posix_spawn_file_actions_t fa;
	const char *why = NULL;
	pid_t pid = -1;

	*out = NULL;
	*len = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, to_child) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, from_child) != 0) {
		rc = fe_set(e, FX_IO, "credential helper %s: socketpair: %s", prog, strerror(errno));
		goto end;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, to_child[1], 0);
	posix_spawn_file_actions_adddup2(&fa, from_child[1], 1);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	err = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err != 0) {
		pid = -1;
		rc = fe_set(e, FX_TARGET, "credential helper %s: %s", prog,
		    err == ENOENT ? "not found on PATH" : strerror(err));
		goto end;
	}
	close(to_child[1]);
	close(from_child[1]);
	to_child[1] = from_child[1] = -1;
	/* the server without a newline, then the end of its input */
	if (send(to_child[0], server, strlen(server), MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET)
		why = "cannot write its input";
	shutdown(to_child[0], SHUT_WR);
	if (why == NULL && read_output(from_child[0], out, len, &why) != 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
		;
	if (why != NULL) {
		rc = fe_set(e, FX_TARGET, "credential helper %s: %s", prog, why);
		goto end;
	}
	*status = WIFEXITED(wst) ? WEXITSTATUS(wst) : -1;
end:
	if (rc != FX_OK && *out != NULL) {
		OPENSSL_cleanse(*out, *len);
		free(*out);
		*out = NULL;
	}
	for (int i = 0; i < 2; i++) {
		if (to_child[i] >= 0)
			close(to_child[i]);
		if (from_child[i] >= 0)
			close(from_child[i]);
	}
	return rc;
}

int creds_parse_helper_reply(const char *json, size_t len, const char *helper, struct reg_creds *c,
    struct ferr *e)
{
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *user = json_object_get(root, "Username"), *secret = json_object_get(root, "Secret");
	int rc = FX_OK;

	if (root == NULL || !json_is_object(root) || !json_is_string(user) || !json_is_string(secret) ||
	    strlen(json_string_value(user)) != json_string_length(user) ||
	    strlen(json_string_value(secret)) != json_string_length(secret)) {
		rc = fe_set(e, FX_TARGET, "credential helper %s: its answer is not {\"Username\": ..., \"Secret\": ...}",
		    helper);
		goto end;
	}
	if (strcmp(json_string_value(user), "<token>") == 0) {
		rc = fe_set(e, FX_TARGET, "credential helper %s: it holds an identity token, which ferry cannot use "
		    "(log in with a user name and password, or use --creds)", helper);
		goto end;
	}
	creds_free(c);
	c->user = xstrdup(json_string_value(user));
	c->pass = xstrdup(json_string_value(secret));
	fx_strlcpy(c->source, helper, sizeof(c->source));
end:
	json_decref(root);
	return rc;
}

/* Asks credential helper name for server's credentials; where says which setting
 * named it, for messages. */
static int from_helper(const char *name, const char *where, const char *server, struct reg_creds *c,
    struct ferr *e)
{
	char prog[96], *out = NULL;
	size_t len = 0, n;
	int status = 0, rc;

	if (!helper_name_ok(name))
		return fe_set(e, FX_TARGET, "%s names the credential helper %s: not a plain name", where,
		    ESC(name != NULL ? name : ""));
	snprintf(prog, sizeof(prog), "docker-credential-%s", name);
	if ((rc = run_helper(prog, server, &out, &len, &status, e)) != FX_OK)
		goto end;
	if (status != 0) {
		for (n = len; n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '); n--)
			;
		if (n == strlen(NOT_FOUND) && strncmp(out, NOT_FOUND, n) == 0)
			goto end; /* no credentials for this registry: anonymous */
		if (status < 0)
			rc = fe_set(e, FX_TARGET, "credential helper %s (%s): killed", prog, where);
		else
			rc = fe_set(e, FX_TARGET, "credential helper %s (%s): exit status %d: %s", prog, where, status,
			    output_line(out, len));
		goto end;
	}
	rc = creds_parse_helper_reply(out, len, prog, c, e);
end:
	if (out != NULL) {
		OPENSSL_cleanse(out, len);
		free(out);
	}
	return rc;
}

/* $DOCKER_CONFIG/config.json or ~/.docker/config.json, malloc'd, or NULL. */
static char *config_path(void)
{
	const char *dir = getenv("DOCKER_CONFIG"), *home = getenv("HOME");

	if (dir != NULL && *dir)
		return xasprintf("%s/config.json", dir);
	if (home != NULL && *home)
		return xasprintf("%s/.docker/config.json", home);
	return NULL;
}

/* The helper config.json names for the registry: credHelpers[HOST], else credsStore. */
static const char *helper_for(json_t *root, const char *hostport, const char **setting)
{
	json_t *helpers = json_object_get(root, "credHelpers"), *v;
	const char *key;

	json_object_foreach(helpers, key, v) {
		if (key_matches(key, hostport) && json_is_string(v)) {
			*setting = "credHelpers";
			return json_string_value(v);
		}
	}
	*setting = "credsStore";
	return json_string_value(json_object_get(root, "credsStore"));
}

int creds_lookup(const char *hostport, struct reg_creds *c, struct ferr *e)
{
	char *path = config_path(), *buf = NULL, *where = NULL;
	const char *helper, *setting, *key;
	json_t *root = NULL, *entry;
	struct ferr le = {0, ""};
	size_t len = 0;
	int rc = FX_OK;

	memset(c, 0, sizeof(*c));
	if (path == NULL || access(path, F_OK) != 0)
		goto end;
	if (read_file_max(path, CONFIG_MAX, &buf, &len, &le) != FX_OK) {
		fx_warn("%s", le.msg);
		goto end;
	}
	root = json_loadb(buf, len, 0, NULL);
	if (root == NULL || !json_is_object(root)) {
		fx_warn("%s: not valid JSON, ignored", ESC(path));
		goto end;
	}
	helper = helper_for(root, hostport, &setting);
	if (helper != NULL && *helper != '\0') {
		where = xasprintf("%s in %s", setting, ESC(path));
		rc = from_helper(helper, where, is_hub(hostport) ? HUB_KEY : hostport, c, e);
		goto end;
	}
	json_object_foreach(json_object_get(root, "auths"), key, entry) {
		if (key_matches(key, hostport) && from_auths_entry(entry, c) == 0) {
			fx_strlcpy(c->source, path, sizeof(c->source));
			break;
		}
	}
end:
	if (rc != FX_OK)
		creds_free(c);
	json_decref(root);
	if (buf != NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	free(where);
	free(path);
	return rc;
}
