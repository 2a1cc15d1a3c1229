/* license_cmd.c - the license verbs (license_cmd.h): files in and out, and what is
 * printed. Issuing, checking and key making are crypto/license.c's. */
#include "cli/license_cmd.h"
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#define ENTITLEMENTS_MAX (32 * 1024)

int license_issue_run(const struct license_issue_opts *o, struct ferr *e)
{
	struct license_claims claims = o->claims;
	EVP_PKEY *key = NULL;
	char *entitlements = NULL, *token = NULL, *line = NULL;
	char jti[33], kid[17], expires[32], reason[256];
	size_t entitlements_len = 0, token_len = 0;
	enum license_state state;
	int rc = FX_OK;

	if (o->entitlements_path != NULL) {
		rc = read_file_max(o->entitlements_path, ENTITLEMENTS_MAX, &entitlements, &entitlements_len, e);
		if (rc != FX_OK)
			goto end;
		claims.entitlements = entitlements;
		claims.entitlements_len = entitlements_len;
		claims.entitlements_name = o->entitlements_path;
	}
	if ((rc = license_load_privkey(o->key_path, &key, e)) != FX_OK)
		goto end;
	rc = license_issue(key, &claims, &token, &token_len, jti, &state, reason, sizeof(reason), e);
	if (rc != FX_OK)
		goto end;
	if (state != LIC_VALID)
		fx_warn("warning: %s: the license is already %s: %s", ESC(o->output), license_state_name(state), reason);
	line = xasprintf("%s\n", token);
	if ((rc = fx_write_file(o->output, line, token_len + 1, 0644, o->force, e)) != FX_OK)
		goto end;
	license_kid(key, kid);
	fmt_time_utc(claims.expires, expires);
	printf("%s: license %s for %s, expires %s, key %s\n", ESC(o->output), jti, ESC(claims.subject), expires, kid);
end:
	EVP_PKEY_free(key);
	free(entitlements);
	free(token);
	free(line);
	return rc;
}

/* Reads a license file; a file bigger than the token cap is read only that far plus one
 * byte, so the checker reports it malformed instead of ferry reading a huge file. */
static int read_license(const char *path, char **out, size_t *len, struct ferr *e)
{
	int fd, rc = FX_OK;
	struct stat st;
	size_t cap = LICENSE_MAX_TOKEN + 1, got = 0;
	char *buf = NULL;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return fe_set(e, FX_IO, "%s: %s", ESC(path), strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = fe_set(e, FX_IO, "%s: not a regular file", ESC(path));
		goto end;
	}
	buf = xmalloc(cap + 1);
	while (got < cap) {
		ssize_t r = read(fd, buf + got, cap - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = fe_set(e, FX_IO, "%s: %s", ESC(path), strerror(errno));
			goto end;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
end:
	free(buf);
	close(fd);
	return rc;
}

static void print_time(const char *label, json_t *claims, const char *name)
{
	json_t *v = json_object_get(claims, name);
	char when[32];

	if (json_is_integer(v)) {
		fmt_time_utc((int64_t)json_integer_value(v), when);
		printf("%-12s %s\n", label, when);
	}
}

static void print_string(const char *label, json_t *claims, const char *name)
{
	json_t *v = json_object_get(claims, name);

	if (json_is_string(v))
		printf("%-12s %s\n", label, ESC(json_string_value(v)));
}

/* A claim that is a string or a list of strings, on one line. */
static void print_list(const char *label, json_t *claims, const char *name)
{
	json_t *v = json_object_get(claims, name), *item;
	size_t i;

	if (json_is_string(v)) {
		print_string(label, claims, name);
	} else if (json_is_array(v) && json_array_size(v) > 0) {
		printf("%-12s", label);
		json_array_foreach(v, i, item)
			printf("%s%s", i == 0 ? " " : ", ", ESC(json_string_value(item)));
		printf("\n");
	}
}

static void print_claims(json_t *claims)
{
	json_t *v;

	print_string("issuer:", claims, "iss");
	print_string("subject:", claims, "sub");
	print_string("customer:", claims, "customer");
	print_list("audience:", claims, "aud");
	print_string("edition:", claims, "edition");
	v = json_object_get(claims, "seats");
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			printf("%-12s unlimited\n", "seats:");
		else
			printf("%-12s %lld\n", "seats:", (long long)json_integer_value(v));
	}
	print_list("features:", claims, "features");
	print_time("issued:", claims, "iat");
	print_time("not before:", claims, "nbf");
	print_time("expires:", claims, "exp");
	v = json_object_get(claims, "grace_days");
	if (json_is_integer(v))
		printf("%-12s %lld\n", "grace days:", (long long)json_integer_value(v));
	print_string("license id:", claims, "jti");
	v = json_object_get(claims, "entitlements");
	if (v != NULL) {
		char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
		if (s != NULL)
			printf("%-12s %s\n", "entitlements:", ESC(s));
		free(s);
	}
}

/* What a check found, for printing. */
struct license_result {
	const char *path;
	enum license_state state;
	const char *reason, *kid, *alg;
	int days_left, ok;
	json_t *claims; /* NULL unless the signature verified */
};

/* One JSON document on stdout, whatever the file name holds. */
static void print_json(const struct license_result *r)
{
	json_t *exp = json_object_get(r->claims, "exp"), *doc;
	char when[32] = "", *text;

	if (json_is_integer(exp))
		fmt_time_utc((int64_t)json_integer_value(exp), when);
	doc = json_pack("{s:s, s:s, s:s, s:b, s:i, s:s, s:s, s:s?, s:O?}", "file", r->path, "state",
	    license_state_name(r->state), "reason", r->reason, "ok", r->ok, "days_left", r->days_left, "key_id",
	    r->kid, "alg", r->alg, "expires", when[0] != '\0' ? when : NULL, "claims", r->claims);
	if (doc != NULL && r->claims == NULL)
		json_object_set_new(doc, "claims", json_null());
	text = doc != NULL ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII) : NULL;
	if (text == NULL) /* e.g. a file name that is not UTF-8: still one JSON document */
		text = xasprintf("{\"state\": \"%s\", \"ok\": %s}", license_state_name(r->state), r->ok ? "true" : "false");
	printf("%s\n", text);
	free(text);
	json_decref(doc);
}

static void print_text(const struct license_result *r)
{
	printf("%-12s %s\n", "license:", ESC(r->path));
	printf("%-12s %s\n", "state:", license_state_name(r->state));
	if (r->state == LIC_GRACE)
		printf("%-12s %d\n", "days left:", r->days_left);
	printf("%-12s %s\n", "reason:", r->reason);
	printf("%-12s %s %s\n", "key:", r->alg, r->kid);
	if (r->claims != NULL)
		print_claims(r->claims);
}

int license_verify_run(const struct license_verify_opts *o, struct ferr *e)
{
	struct license_result r;
	EVP_PKEY *key = NULL;
	char *token = NULL, *claims_text = NULL, reason[512], kid[17] = "";
	size_t len = 0;
	int rc;

	memset(&r, 0, sizeof(r));
	/* An unusable key file is as fatal as an unreadable one: nothing was checked. */
	if ((rc = license_load_pubkey(o->pubkey_path, &key, e)) != FX_OK ||
	    (rc = read_license(o->path, &token, &len, e)) != FX_OK) {
		rc = e->code = FX_IO;
		goto end;
	}
	license_kid(key, kid);
	r.path = o->path;
	r.state = license_check_key(token, len, key, o->audience, o->now, NULL, &r.days_left, &claims_text, reason,
	    sizeof(reason));
	r.ok = r.state == LIC_VALID || r.state == LIC_GRACE;
	r.reason = reason;
	r.kid = kid;
	r.alg = EVP_PKEY_is_a(key, "ED25519") ? "EdDSA" : "RS256";
	r.claims = claims_text != NULL ? json_loads(claims_text, 0, NULL) : NULL;
	rc = r.ok ? FX_OK : FX_VERIFY;
	if (r.state == LIC_GRACE)
		fx_warn("warning: %s: license in its grace period, %d day%s left: %s", ESC(o->path), r.days_left,
		    r.days_left == 1 ? "" : "s", reason);
	else if (!r.ok)
		fx_warn("%s: license %s: %s", ESC(o->path), license_state_name(r.state), reason);
	if (o->json)
		print_json(&r);
	else
		print_text(&r);
end:
	EVP_PKEY_free(key);
	json_decref(r.claims);
	free(claims_text);
	free(token);
	return rc;
}

/* Writes a whole new file that must not exist yet (O_EXCL: a key is never replaced). */
static int create_new_file(const char *path, mode_t mode, const void *data, size_t len, struct ferr *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode), rc = FX_OK;

	if (fd < 0)
		return fe_set(e, FX_IO, "%s: %s", ESC(path), errno == EEXIST ? "exists; not overwritten" : strerror(errno));
	if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0)
		rc = fe_set(e, FX_IO, "%s: %s", ESC(path), strerror(errno));
	if (close(fd) != 0 && rc == FX_OK)
		rc = fe_set(e, FX_IO, "%s: %s", ESC(path), strerror(errno));
	if (rc != FX_OK)
		unlink(path);
	return rc;
}

int license_keygen_run(const char *dir, int rsa, struct ferr *e)
{
	char *key_path = xasprintf("%s/license.key", dir), *pub_path = xasprintf("%s/license.pub", dir);
	char *private_pem = NULL, *public_pem = NULL;
	size_t private_len = 0, public_len = 0;
	int rc = FX_OK, key_written = 0;

	if (mkdir_p(dir, 0700) != 0) {
		rc = fe_set(e, FX_IO, "%s: %s", ESC(dir), strerror(errno));
		goto end;
	}
	/* Refuse early, before generating anything, when either file is there. */
	if (access(key_path, F_OK) == 0 || access(pub_path, F_OK) == 0) {
		rc = fe_set(e, FX_IO, "%s: exists; not overwritten", ESC(access(key_path, F_OK) == 0 ? key_path : pub_path));
		goto end;
	}
	if ((rc = license_keygen(rsa, &private_pem, &private_len, &public_pem, &public_len, e)) != FX_OK ||
	    (rc = create_new_file(key_path, 0600, private_pem, private_len, e)) != FX_OK)
		goto end;
	key_written = 1;
	if ((rc = create_new_file(pub_path, 0644, public_pem, public_len, e)) != FX_OK)
		goto end;
	key_written = 0;
	printf("license key pair: %s (private, keep it safe), %s\n", ESC(key_path), ESC(pub_path));
end:
	if (key_written)
		unlink(key_path);
	if (private_pem != NULL)
		OPENSSL_cleanse(private_pem, private_len);
	free(private_pem);
	free(public_pem);
	free(key_path);
	free(pub_path);
	return rc;
}
