/* license_cli.c - the license verbs: `ferry-pack license issue`, `ferry-load license
 * verify`, and the license half of `ferry-pack keygen`. Parsing and reporting only; the
 * token work is in license.c. */
#include "crypto/license.h"
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#define MAX_DATE 253402300799LL /* 9999-12-31T23:59:59Z */
#define ENTITLEMENTS_MAX (32 * 1024)

static const char issue_usage[] =
    "usage: ferry-pack license issue --key PRIV.pem --subject ID --expires DATE -o FILE.lic\n"
    "         [--not-before DATE] [--issuer ISS] [--customer NAME] [--edition E]\n"
    "         [--seats N|unlimited] [--feature F]... [--grace-days N] [--audience PRODUCT]\n"
    "         [--entitlements FILE.json] [--force]\n"
    "DATE: 2027-11-23, 2027-11-23T00:00:00Z (UTC) or +Nd (N days from now).\n";

static const char verify_usage[] =
    "usage: ferry-load license verify FILE.lic --pubkey PUB.pem [--audience PRODUCT]\n"
    "         [--now TIMESTAMP] [--json]\n"
    "TIMESTAMP: seconds since 1970, 2027-11-23 or 2027-11-23T00:00:00Z (UTC).\n"
    "Exit: 0 valid or in grace, 1 expired/not yet valid/bad signature/wrong audience/\n"
    "malformed, 2 usage, 3 unreadable file or key.\n";

static int usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints the problem and the verb's usage; arguments are escaped by the caller. */
static int usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", fx_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage);
	return FX_USAGE;
}

/* DATE: an absolute UTC date or time, or +Nd from now. */
static int parse_date(const char *s, int64_t now, int64_t *out)
{
	if (s[0] == '+') {
		char num[16];
		size_t n = strlen(s + 1);
		uint64_t days;

		if (n < 2 || n >= sizeof(num) || s[n] != 'd')
			return -1;
		memcpy(num, s + 1, n - 1);
		num[n - 1] = '\0';
		if (parse_u64(num, &days) != 0 || days > 36500 * 10)
			return -1;
		*out = now + (int64_t)days * 86400;
		return *out <= MAX_DATE ? 0 : -1;
	}
	if (parse_time_utc(s, out) != 0 || *out > MAX_DATE)
		return -1;
	return 0;
}

/* TIMESTAMP for --now: seconds since the epoch, or a UTC date/time. */
static int parse_now(const char *s, int64_t *out)
{
	uint64_t v;

	if (parse_u64(s, &v) == 0) {
		if (v > (uint64_t)MAX_DATE)
			return -1;
		*out = (int64_t)v;
		return 0;
	}
	return parse_time_utc(s, out);
}

static int set_string(json_t *obj, const char *name, const char *val, struct ferr *e)
{
	json_t *s;

	if (val == NULL)
		return FX_OK;
	s = json_string(val); /* NULL for invalid UTF-8 */
	if (s == NULL || val[0] == '\0') {
		json_decref(s);
		return fe_set(e, FX_USAGE, "license issue: --%s: empty or not UTF-8 text", name);
	}
	json_object_set_new(obj, name, s);
	return FX_OK;
}

int cmd_license_issue(int argc, char **argv)
{
	enum { O_KEY = 256, O_SUBJECT, O_EXPIRES, O_NBF, O_ISSUER, O_CUSTOMER, O_EDITION,
		O_SEATS, O_FEATURE, O_GRACE, O_AUDIENCE, O_ENTITLEMENTS, O_FORCE, O_HELP };
	static const struct option opts[] = {
		{"key", required_argument, NULL, O_KEY},
		{"subject", required_argument, NULL, O_SUBJECT},
		{"expires", required_argument, NULL, O_EXPIRES},
		{"not-before", required_argument, NULL, O_NBF},
		{"issuer", required_argument, NULL, O_ISSUER},
		{"customer", required_argument, NULL, O_CUSTOMER},
		{"edition", required_argument, NULL, O_EDITION},
		{"seats", required_argument, NULL, O_SEATS},
		{"feature", required_argument, NULL, O_FEATURE},
		{"grace-days", required_argument, NULL, O_GRACE},
		{"audience", required_argument, NULL, O_AUDIENCE},
		{"entitlements", required_argument, NULL, O_ENTITLEMENTS},
		{"output", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, O_FORCE},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	struct ferr e = {0, ""};
	const char *keypath = NULL, *subject = NULL, *expires = NULL, *nbf_s = NULL;
	const char *issuer = NULL, *customer = NULL, *edition = NULL, *seats_s = NULL;
	const char *grace_s = NULL, *audience = NULL, *ent_path = NULL, *out = NULL;
	const char **features = NULL;
	size_t nfeatures = 0, i, toklen = 0, entlen = 0;
	int force = 0, c, rc = FX_OK;
	int64_t now = (int64_t)time(NULL), exp = 0, nbf = now;
	uint64_t u;
	EVP_PKEY *key = NULL;
	json_t *claims = NULL, *feat = NULL, *ent = NULL;
	json_error_t jerr;
	char *payload = NULL, *token = NULL, *entbuf = NULL, *withnl = NULL;
	char jti[33], when[32], kid[17], reason[256];
	unsigned char rnd[16];
	enum license_state st;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case O_KEY: keypath = optarg; break;
		case O_SUBJECT: subject = optarg; break;
		case O_EXPIRES: expires = optarg; break;
		case O_NBF: nbf_s = optarg; break;
		case O_ISSUER: issuer = optarg; break;
		case O_CUSTOMER: customer = optarg; break;
		case O_EDITION: edition = optarg; break;
		case O_SEATS: seats_s = optarg; break;
		case O_FEATURE:
			features = xreallocarray(features, nfeatures + 1, sizeof(*features));
			features[nfeatures++] = optarg;
			break;
		case O_GRACE: grace_s = optarg; break;
		case O_AUDIENCE: audience = optarg; break;
		case O_ENTITLEMENTS: ent_path = optarg; break;
		case 'o': out = optarg; break;
		case O_FORCE: force = 1; break;
		case O_HELP:
			fputs(issue_usage, stdout);
			goto end;
		default:
			rc = usage_error(issue_usage, "license issue: unknown option or missing argument: %s",
			    ESC(argv[optind - 1]));
			goto end;
		}
	}
	if (optind < argc) {
		rc = usage_error(issue_usage, "license issue: unexpected argument: %s", ESC(argv[optind]));
		goto end;
	}
	if (keypath == NULL || subject == NULL || expires == NULL || out == NULL) {
		rc = usage_error(issue_usage, "license issue: %s is required",
		    keypath == NULL ? "--key" : subject == NULL ? "--subject" :
		    expires == NULL ? "--expires" : "-o FILE.lic");
		goto end;
	}
	if (nbf_s != NULL && parse_date(nbf_s, now, &nbf) != 0) {
		rc = usage_error(issue_usage, "license issue: --not-before: not a date: %s", ESC(nbf_s));
		goto end;
	}
	if (parse_date(expires, now, &exp) != 0) {
		rc = usage_error(issue_usage, "license issue: --expires: not a date: %s", ESC(expires));
		goto end;
	}
	if (exp <= nbf) {
		rc = usage_error(issue_usage, "license issue: --expires %s is not after the start of validity",
		    ESC(expires));
		goto end;
	}

	claims = json_object();
	if (set_string(claims, "iss", issuer, &e) != FX_OK || set_string(claims, "sub", subject, &e) != FX_OK ||
	    set_string(claims, "aud", audience, &e) != FX_OK) {
		rc = e.code;
		goto end;
	}
	json_object_set_new(claims, "iat", json_integer(now));
	json_object_set_new(claims, "nbf", json_integer(nbf));
	json_object_set_new(claims, "exp", json_integer(exp));
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		rc = fe_set(&e, FX_IO, "license issue: no random bytes for the license id");
		goto end;
	}
	hex_encode(rnd, sizeof(rnd), jti);
	json_object_set_new(claims, "jti", json_string(jti));
	if (set_string(claims, "customer", customer, &e) != FX_OK ||
	    set_string(claims, "edition", edition, &e) != FX_OK) {
		rc = e.code;
		goto end;
	}
	if (seats_s != NULL) {
		int64_t seats;
		if (strcmp(seats_s, "-1") == 0 || strcmp(seats_s, "unlimited") == 0)
			seats = -1;
		else if (parse_u64(seats_s, &u) == 0 && u <= INT32_MAX)
			seats = (int64_t)u;
		else {
			rc = usage_error(issue_usage, "license issue: --seats: not a count: %s", ESC(seats_s));
			goto end;
		}
		json_object_set_new(claims, "seats", json_integer(seats));
	}
	if (nfeatures > 0) {
		feat = json_array();
		for (i = 0; i < nfeatures; i++) {
			json_t *f = json_string(features[i]);
			if (f == NULL || features[i][0] == '\0') {
				rc = usage_error(issue_usage, "license issue: --feature: empty or not UTF-8: %s",
				    ESC(features[i]));
				goto end;
			}
			json_array_append_new(feat, f);
		}
		json_object_set(claims, "features", feat);
	}
	if (grace_s != NULL) {
		if (parse_u64(grace_s, &u) != 0 || u > 36500) {
			rc = usage_error(issue_usage, "license issue: --grace-days: not a day count: %s", ESC(grace_s));
			goto end;
		}
		json_object_set_new(claims, "grace_days", json_integer((json_int_t)u));
	}
	if (ent_path != NULL) {
		rc = read_file_max(ent_path, ENTITLEMENTS_MAX, &entbuf, &entlen, &e);
		if (rc != FX_OK)
			goto end;
		ent = json_loadb(entbuf, entlen, JSON_REJECT_DUPLICATES, &jerr);
		if (ent == NULL) {
			rc = fe_set(&e, FX_USAGE, "%s: line %d: %s", ESC(ent_path), jerr.line, ESC(jerr.text));
			goto end;
		}
		if (!json_is_object(ent)) {
			rc = fe_set(&e, FX_USAGE, "%s: entitlements must be a JSON object", ESC(ent_path));
			goto end;
		}
		json_object_set(claims, "entitlements", ent);
	}

	rc = license_load_privkey(keypath, &key, &e);
	if (rc != FX_OK)
		goto end;
	payload = json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (payload == NULL) {
		rc = fe_set(&e, FX_IO, "license issue: out of memory");
		goto end;
	}
	rc = license_sign(key, payload, strlen(payload), &token, &toklen, &e);
	if (rc != FX_OK)
		goto end;
	if (toklen > LICENSE_MAX_TOKEN) {
		rc = fe_set(&e, FX_USAGE, "license issue: the license would be %zu bytes, more than the %d a verifier accepts",
		    toklen, LICENSE_MAX_TOKEN);
		goto end;
	}
	/* Check what was made with the key's own public half before writing it, at the
	 * first moment it is meant to be valid. */
	st = license_check_key(token, toklen, key, audience, nbf > now ? nbf : now, NULL, NULL, NULL,
	    reason, sizeof(reason));
	if (st == LIC_MALFORMED || st == LIC_BAD_SIGNATURE || st == LIC_WRONG_AUDIENCE ||
	    st == LIC_NOT_YET_VALID) {
		rc = fe_set(&e, FX_IO, "license issue: the new license does not verify: %s", reason);
		goto end;
	}
	if (st != LIC_VALID)
		fx_warn("warning: %s: the license is already %s: %s", ESC(out), license_state_name(st), reason);
	withnl = xasprintf("%s\n", token);
	rc = fx_write_file(out, withnl, toklen + 1, 0644, force, &e);
	if (rc != FX_OK)
		goto end;
	license_kid(key, kid);
	fmt_time_utc(exp, when);
	printf("%s: license %s for %s, expires %s, key %s\n", ESC(out), jti, ESC(subject), when, kid);
end:
	if (e.code != 0)
		fe_report(&e);
	EVP_PKEY_free(key);
	json_decref(claims);
	json_decref(feat);
	json_decref(ent);
	free(payload);
	free(token);
	free(withnl);
	free(entbuf);
	free(features);
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

	fd = open(path, O_RDONLY | O_CLOEXEC);
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

static void print_claims(json_t *claims)
{
	json_t *v, *it;
	size_t i;

	print_string("issuer:", claims, "iss");
	print_string("subject:", claims, "sub");
	print_string("customer:", claims, "customer");
	v = json_object_get(claims, "aud");
	if (json_is_string(v))
		print_string("audience:", claims, "aud");
	else if (json_is_array(v)) {
		printf("%-12s", "audience:");
		json_array_foreach(v, i, it)
			printf("%s%s", i == 0 ? " " : ", ", ESC(json_string_value(it)));
		printf("\n");
	}
	print_string("edition:", claims, "edition");
	v = json_object_get(claims, "seats");
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			printf("%-12s unlimited\n", "seats:");
		else
			printf("%-12s %lld\n", "seats:", (long long)json_integer_value(v));
	}
	v = json_object_get(claims, "features");
	if (json_is_array(v) && json_array_size(v) > 0) {
		printf("%-12s", "features:");
		json_array_foreach(v, i, it)
			printf("%s%s", i == 0 ? " " : ", ", ESC(json_string_value(it)));
		printf("\n");
	}
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

int cmd_license_verify(int argc, char **argv)
{
	enum { O_PUBKEY = 256, O_AUDIENCE, O_NOW, O_JSON, O_HELP };
	static const struct option opts[] = {
		{"pubkey", required_argument, NULL, O_PUBKEY},
		{"audience", required_argument, NULL, O_AUDIENCE},
		{"now", required_argument, NULL, O_NOW},
		{"json", no_argument, NULL, O_JSON},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	struct ferr e = {0, ""};
	const char *pubpath = NULL, *audience = NULL, *path = NULL;
	int c, rc = FX_OK, json = 0, days = 0;
	int64_t now = (int64_t)time(NULL);
	EVP_PKEY *key = NULL;
	char *tok = NULL, *claims_s = NULL, *doc = NULL, reason[512], kid[17] = "";
	size_t len = 0;
	enum license_state st;
	json_t *claims = NULL, *out = NULL;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_PUBKEY: pubpath = optarg; break;
		case O_AUDIENCE: audience = optarg; break;
		case O_NOW:
			if (parse_now(optarg, &now) != 0) {
				rc = usage_error(verify_usage, "license verify: --now: not a time: %s", ESC(optarg));
				goto end;
			}
			break;
		case O_JSON: json = 1; break;
		case O_HELP:
			fputs(verify_usage, stdout);
			goto end;
		default:
			rc = usage_error(verify_usage, "license verify: unknown option or missing argument: %s",
			    ESC(argv[optind - 1]));
			goto end;
		}
	}
	if (argc - optind != 1) {
		rc = usage_error(verify_usage, "license verify: %s", argc - optind == 0 ?
		    "FILE.lic is required" : "only one FILE.lic");
		goto end;
	}
	path = argv[optind];
	if (pubpath == NULL) {
		rc = usage_error(verify_usage, "license verify: %s is required", "--pubkey PUB.pem");
		goto end;
	}
	rc = license_load_pubkey(pubpath, &key, &e);
	if (rc == FX_OK)
		rc = read_license(path, &tok, &len, &e);
	if (rc != FX_OK) {
		/* An unusable key file is as fatal as an unreadable one: nothing was checked. */
		rc = e.code = FX_IO;
		goto end;
	}
	license_kid(key, kid);
	st = license_check_key(tok, len, key, audience, now, NULL, &days, &claims_s, reason,
	    sizeof(reason));
	rc = st == LIC_VALID || st == LIC_GRACE ? FX_OK : FX_VERIFY;
	if (claims_s != NULL)
		claims = json_loads(claims_s, 0, NULL);

	if (st == LIC_GRACE)
		fx_warn("warning: %s: license in its grace period, %d day%s left: %s", ESC(path), days,
		    days == 1 ? "" : "s", reason);
	else if (rc != FX_OK)
		fx_warn("%s: license %s: %s", ESC(path), license_state_name(st), reason);

	if (json) {
		json_t *exp = json_object_get(claims, "exp");
		char when[32] = "";

		if (json_is_integer(exp))
			fmt_time_utc((int64_t)json_integer_value(exp), when);
		out = json_pack("{s:s, s:s, s:s, s:b, s:i, s:s, s:s, s:s?, s:O?}",
		    "file", path, "state", license_state_name(st), "reason", reason,
		    "ok", rc == FX_OK, "days_left", days, "key_id", kid,
		    "alg", EVP_PKEY_is_a(key, "ED25519") ? "EdDSA" : "RS256",
		    "expires", when[0] != '\0' ? when : NULL, "claims", claims);
		if (out != NULL && claims == NULL)
			json_object_set_new(out, "claims", json_null());
		doc = out != NULL ? json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII) : NULL;
		if (doc == NULL) {
			/* e.g. a file name that is not UTF-8: still one JSON document */
			doc = xasprintf("{\"state\": \"%s\", \"ok\": %s}", license_state_name(st),
			    rc == FX_OK ? "true" : "false");
		}
		printf("%s\n", doc);
	} else {
		printf("%-12s %s\n", "license:", ESC(path));
		printf("%-12s %s\n", "state:", license_state_name(st));
		if (st == LIC_GRACE)
			printf("%-12s %d\n", "days left:", days);
		printf("%-12s %s\n", "reason:", reason);
		printf("%-12s %s %s\n", "key:", EVP_PKEY_is_a(key, "ED25519") ? "EdDSA" : "RS256", kid);
		if (claims != NULL)
			print_claims(claims);
	}
	if (fflush(stdout) != 0)
		rc = fe_set(&e, FX_IO, "stdout: %s", strerror(errno));
end:
	if (e.code != 0)
		fe_report(&e);
	EVP_PKEY_free(key);
	json_decref(claims);
	json_decref(out);
	free(claims_s);
	free(tok);
	free(doc);
	return rc;
}

/* Writes a whole new file that must not exist yet (O_EXCL: a key is never replaced). */
static int create_excl(const char *path, mode_t mode, const void *data, size_t len, struct ferr *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);

	if (fd < 0)
		return fe_set(e, FX_IO, "%s: %s", ESC(path),
		    errno == EEXIST ? "exists; not overwritten" : strerror(errno));
	if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		fe_set(e, FX_IO, "%s: %s", ESC(path), strerror(errno));
		close(fd);
		unlink(path);
		return FX_IO;
	}
	if (close(fd) != 0) {
		fe_set(e, FX_IO, "%s: %s", ESC(path), strerror(errno));
		unlink(path);
		return FX_IO;
	}
	return FX_OK;
}

int license_keygen(const char *dir, int rsa, struct ferr *e)
{
	char *keypath = xasprintf("%s/license.key", dir), *pubpath = xasprintf("%s/license.pub", dir);
	EVP_PKEY *key = NULL;
	BIO *priv = NULL, *pub = NULL;
	char *pdata = NULL, *udata = NULL;
	long plen = 0, ulen;
	int rc = FX_OK, key_made = 0;

	if (mkdir_p(dir, 0700) != 0) {
		rc = fe_set(e, FX_IO, "%s: %s", ESC(dir), strerror(errno));
		goto end;
	}
	/* Refuse early, before generating anything, when either file is there. */
	if (access(keypath, F_OK) == 0 || access(pubpath, F_OK) == 0) {
		rc = fe_set(e, FX_IO, "%s: exists; not overwritten",
		    ESC(access(keypath, F_OK) == 0 ? keypath : pubpath));
		goto end;
	}
	key = rsa ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072) :
	    EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	priv = BIO_new(BIO_s_mem());
	pub = BIO_new(BIO_s_mem());
	if (key == NULL || priv == NULL || pub == NULL ||
	    PEM_write_bio_PrivateKey(priv, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_PUBKEY(pub, key) != 1) {
		rc = fe_set(e, FX_IO, "license keygen: OpenSSL could not make a%s key",
		    rsa ? "n RSA-3072" : "n Ed25519");
		goto end;
	}
	plen = BIO_get_mem_data(priv, &pdata);
	ulen = BIO_get_mem_data(pub, &udata);
	if (plen <= 0 || ulen <= 0) {
		rc = fe_set(e, FX_IO, "license keygen: empty PEM output");
		goto end;
	}
	rc = create_excl(keypath, 0600, pdata, (size_t)plen, e);
	if (rc != FX_OK)
		goto end;
	key_made = 1;
	rc = create_excl(pubpath, 0644, udata, (size_t)ulen, e);
	if (rc != FX_OK)
		goto end;
	key_made = 0;
end:
	if (key_made)
		unlink(keypath);
	if (pdata != NULL && plen > 0)
		OPENSSL_cleanse(pdata, (size_t)plen);
	BIO_free(priv);
	BIO_free(pub);
	EVP_PKEY_free(key);
	free(keypath);
	free(pubpath);
	return rc;
}
