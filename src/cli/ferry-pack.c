/* ferry-pack - the connected side: builds signed bundles, issues licenses, makes keys.
 * Parses the command line into one struct, rejects what does not fit together, then
 * dispatches the verb and reports; the work is in the verb layer and the library. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/license_cmd.h"
#include "cli/pack.h"
#include "crypto/pgp.h"
#include "net/ref.h"
#include "util/util.h"

enum verb {
	V_NONE,
	V_BUILD,
	V_LICENSE_ISSUE,
	V_KEYGEN,
};

static const char usage_main[] =
    "usage: ferry-pack VERB [options]\n"
    "\n"
    "Verbs:\n"
    "  build SPEC.yaml [-o OUT.ferry]     pack a BundleSpec into a signed bundle\n"
    "  license issue --key PRIV.pem ...   issue an offline license (.lic)\n"
    "  keygen --pgp | --license DIR       make a release OpenPGP key or a license key pair\n"
    "\n"
    "ferry-pack VERB --help shows a verb's options; --version prints the version.\n"
    "Exit: 0 ok, 1 verification failed, 2 usage, 3 I/O or environment.\n";

static const char usage_build[] =
    "usage: ferry-pack build SPEC.yaml [options]\n"
    "\n"
    "  -o, --output FILE        bundle to write (default NAME-VERSION.ferry from the spec)\n"
    "      --sign-key FPR       sign with this key of $GNUPGHOME (default: its first secret key)\n"
    "      --passphrase-file F  passphrase for the signing key (loopback pinentry)\n"
    "      --no-sign            write an unsigned bundle (loaders refuse it without --allow-unsigned)\n"
    "      --detached-sig       also write OUT.sig, a detached signature of the whole file\n"
    "      --compress zstd      wrap the bundle in zstd (--zstd-level N, 1-19, default 3)\n"
    "      --layer-compression gzip|zstd   for layers converted from docker save (default gzip)\n"
    "      --gzip-level N       deflate level of those gzip layers, 1-9 (default 4; 6 is 2-4 % smaller\n"
    "                           for 1.6-2x the CPU, 1 is 5-7 % larger for two thirds of it)\n"
    "      --jobs N             threads for compression and registry downloads (default: all cores;\n"
    "                           the images' manifests are read up to 8 at once, or N if more)\n"
    "      --cacert FILE        trust this CA too for the registries images and charts come from\n"
    "      --plain-http HOST[:PORT]  speak plain HTTP to this registry (repeatable; loopback labs)\n"
    "      --lock FILE          write the digest of every image to FILE (after the build)\n"
    "      --locked FILE        build exactly the digests FILE names (every image must be there)\n"
    "      --split SIZE         cut the bundle into parts (4000M fits FAT32): OUT.000, OUT.001, ...\n"
    "                           plus OUT.parts (their checksums) and OUT.parts.asc (its signature)\n"
    "      --license-pubkey PUB check license files with this key before packing them\n"
    "      --allow-expired      pack an expired license anyway\n"
    "      --no-sbom            no SBOMs (sboms/: the OS packages of every image, SPDX and CycloneDX)\n"
    "      --force              replace an existing output file\n"
    "      --allow-outside-paths  pack files from outside the spec's directory (refused by default)\n"
    "      --chart-keyring KEYS.asc  verify every chart's provenance file (.prov) against these keys\n"
    "      --require-chart-provenance  refuse a chart without a provenance file\n"
    "      --cosign-key PUB.pem every image needs a cosign signature that verifies with this key\n"
    "                           (spec: cosign-key: per image); without it signatures are carried unchecked\n"
    "      --since OLD.ferry    a delta: leave out the layers and configs OLD carries (repeatable)\n"
    "      --keyring KEYS.asc   with --since: OLD must be signed by one of these keys\n"
    "  -q, --quiet              print nothing on success, no progress line on a terminal\n"
    "\n"
    "The output appears only when complete: a failed or interrupted run leaves nothing.\n"
    "SOURCE_DATE_EPOCH sets the creation time: the same inputs give the same bytes\n"
    "(except the signatures).\n";

static const char usage_issue[] =
    "usage: ferry-pack license issue --key PRIV.pem --subject ID --expires DATE -o FILE.lic\n"
    "         [--not-before DATE] [--issuer ISS] [--customer NAME] [--edition E]\n"
    "         [--seats N|unlimited] [--feature F]... [--grace-days N] [--audience PRODUCT]\n"
    "         [--entitlements FILE.json] [--force]\n"
    "DATE: 2027-11-23, 2027-11-23T00:00:00Z (UTC) or +Nd (N days from now).\n";

static const char usage_keygen[] =
    "usage: ferry-pack keygen --pgp [--name \"Name <mail>\"] [--export FILE.asc]\n"
    "       ferry-pack keygen --license DIR [--rsa]\n"
    "\n"
    "  --pgp          create an Ed25519 OpenPGP release key in $GNUPGHOME (no passphrase:\n"
    "                 for demos and tests; protect real release keys yourself)\n"
    "  --export FILE  write its public key (give this file to operators)\n"
    "  --license DIR  create DIR/license.key (0600) and DIR/license.pub (Ed25519, --rsa: RSA-3072)\n";

static const struct cli_verb main_usage = {"ferry-pack", V_NONE, usage_main, NULL};
static const struct cli_verb verbs[] = {
    {"build", V_BUILD, usage_build, NULL},
    {"license issue", V_LICENSE_ISSUE, usage_issue, NULL},
    {"keygen", V_KEYGEN, usage_keygen, NULL},
    {NULL, 0, NULL, NULL},
};

/* Options: one line each in this enum, in the table and in take_option(). */
enum option_id {
	O_SIGN_KEY = 256,
	O_PASSPHRASE_FILE,
	O_NO_SIGN,
	O_DETACHED_SIG,
	O_COMPRESS,
	O_ZSTD_LEVEL,
	O_GZIP_LEVEL,
	O_LAYER_COMPRESSION,
	O_JOBS,
	O_SPLIT,
	O_LICENSE_PUBKEY,
	O_ALLOW_EXPIRED,
	O_FORCE,
	O_ALLOW_OUTSIDE_PATHS,
	O_CACERT,
	O_PLAIN_HTTP,
	O_LOCK,
	O_LOCKED,
	O_CHART_KEYRING,
	O_COSIGN_KEY,
	O_REQUIRE_CHART_PROVENANCE,
	O_NO_SBOM,
	O_SINCE,
	O_KEYRING,
	O_KEY,
	O_SUBJECT,
	O_EXPIRES,
	O_NOT_BEFORE,
	O_ISSUER,
	O_CUSTOMER,
	O_EDITION,
	O_SEATS,
	O_FEATURE,
	O_GRACE_DAYS,
	O_AUDIENCE,
	O_ENTITLEMENTS,
	O_PGP,
	O_NAME,
	O_EXPORT,
	O_LICENSE_DIR,
	O_RSA,
};

#define BUILD CLI_VERB(V_BUILD)
#define ISSUE CLI_VERB(V_LICENSE_ISSUE)
#define KEYGEN CLI_VERB(V_KEYGEN)

static const struct cli_option options[] = {
    {"output",            'o',                 required_argument, BUILD | ISSUE},
    {"quiet",             'q',                 no_argument,       BUILD},
    {"sign-key",          O_SIGN_KEY,          required_argument, BUILD},
    {"passphrase-file",   O_PASSPHRASE_FILE,   required_argument, BUILD},
    {"no-sign",           O_NO_SIGN,           no_argument,       BUILD},
    {"detached-sig",      O_DETACHED_SIG,      no_argument,       BUILD},
    {"compress",          O_COMPRESS,          required_argument, BUILD},
    {"zstd-level",        O_ZSTD_LEVEL,        required_argument, BUILD},
    {"gzip-level",        O_GZIP_LEVEL,        required_argument, BUILD},
    {"layer-compression", O_LAYER_COMPRESSION, required_argument, BUILD},
    {"jobs",              O_JOBS,              required_argument, BUILD},
    {"split",             O_SPLIT,             required_argument, BUILD},
    {"license-pubkey",    O_LICENSE_PUBKEY,    required_argument, BUILD},
    {"allow-expired",     O_ALLOW_EXPIRED,     no_argument,       BUILD},
    {"force",             O_FORCE,             no_argument,       BUILD | ISSUE},
    {"allow-outside-paths", O_ALLOW_OUTSIDE_PATHS, no_argument,     BUILD},
    {"cacert",            O_CACERT,            required_argument, BUILD},
    {"plain-http",        O_PLAIN_HTTP,        required_argument, BUILD},
    {"lock",              O_LOCK,              required_argument, BUILD},
    {"locked",            O_LOCKED,            required_argument, BUILD},
    {"chart-keyring",     O_CHART_KEYRING,     required_argument, BUILD},
    {"cosign-key",        O_COSIGN_KEY,        required_argument, BUILD},
    {"require-chart-provenance", O_REQUIRE_CHART_PROVENANCE, no_argument, BUILD},
    {"no-sbom",           O_NO_SBOM,           no_argument,       BUILD},
    {"since",             O_SINCE,             required_argument, BUILD},
    {"keyring",           O_KEYRING,           required_argument, BUILD},
    {"key",               O_KEY,               required_argument, ISSUE},
    {"subject",           O_SUBJECT,           required_argument, ISSUE},
    {"expires",           O_EXPIRES,           required_argument, ISSUE},
    {"not-before",        O_NOT_BEFORE,        required_argument, ISSUE},
    {"issuer",            O_ISSUER,            required_argument, ISSUE},
    {"customer",          O_CUSTOMER,          required_argument, ISSUE},
    {"edition",           O_EDITION,           required_argument, ISSUE},
    {"seats",             O_SEATS,             required_argument, ISSUE},
    {"feature",           O_FEATURE,           required_argument, ISSUE},
    {"grace-days",        O_GRACE_DAYS,        required_argument, ISSUE},
    {"audience",          O_AUDIENCE,          required_argument, ISSUE},
    {"entitlements",      O_ENTITLEMENTS,      required_argument, ISSUE},
    {"pgp",               O_PGP,               no_argument,       KEYGEN},
    {"name",              O_NAME,              required_argument, KEYGEN},
    {"export",            O_EXPORT,            required_argument, KEYGEN},
    {"license",           O_LICENSE_DIR,       required_argument, KEYGEN},
    {"rsa",               O_RSA,               no_argument,       KEYGEN},
    {NULL, 0, 0, 0},
};

struct keygen_opts {
	int pgp;                 /* --pgp */
	const char *name;        /* --name of the OpenPGP key */
	const char *export_path; /* --export FILE.asc */
	const char *license_dir; /* --license DIR */
	int rsa;                 /* --rsa */
};

/* Everything the command line says. */
struct pack_command {
	const struct cli_verb *verb;
	struct pack_opts build;
	struct license_issue_opts issue;
	const char *expires, *not_before; /* license dates, read once the clock is known */
	const char **features;            /* --feature, in order */
	struct keygen_opts keygen;
};

/* A license claim given as an option: text that JSON can carry. */
static int claim_text(struct pack_command *c, const char *option, const char *value, const char **out)
{
	if (value[0] == '\0' || !fx_utf8_valid(value))
		return cli_usage_error(c->verb, "--%s: empty or not UTF-8 text: %s", option, ESC(value));
	*out = value;
	return FX_OK;
}

static int take_build_option(struct pack_command *c, int id, const char *value)
{
	struct pack_opts *o = &c->build;
	uint64_t number;

	switch (id) {
	case 'o': o->out = value; break;
	case 'q': o->quiet = 1; break;
	case O_SIGN_KEY:
		if (!pgp_fpr_valid(value))
			return cli_usage_error(c->verb, "--sign-key: '%s' is not a full fingerprint", ESC(value));
		o->sign_key = value;
		break;
	case O_PASSPHRASE_FILE: o->passphrase_file = value; break;
	case O_NO_SIGN: o->no_sign = 1; break;
	case O_DETACHED_SIG: o->detached_sig = 1; break;
	case O_COMPRESS:
		if (strcmp(value, "zstd") != 0 && strcmp(value, "none") != 0)
			return cli_usage_error(c->verb, "--compress: '%s': use zstd or none", ESC(value));
		o->zstd = strcmp(value, "zstd") == 0;
		break;
	case O_ZSTD_LEVEL:
		if (cli_parse_number(value, 1, 19, &number) != 0)
			return cli_usage_error(c->verb, "--zstd-level: '%s': 1 to 19", ESC(value));
		o->zstd_level = (int)number;
		break;
	case O_GZIP_LEVEL:
		if (cli_parse_number(value, 1, 9, &number) != 0)
			return cli_usage_error(c->verb, "--gzip-level: '%s': 1 to 9", ESC(value));
		o->gzip_level = (int)number;
		break;
	case O_LAYER_COMPRESSION:
		if (strcmp(value, "zstd") != 0 && strcmp(value, "gzip") != 0)
			return cli_usage_error(c->verb, "--layer-compression: '%s': use gzip or zstd", ESC(value));
		o->layer_zstd = strcmp(value, "zstd") == 0;
		break;
	case O_JOBS:
		if (cli_parse_number(value, 1, 256, &number) != 0)
			return cli_usage_error(c->verb, "--jobs: '%s': 1 to 256", ESC(value));
		o->jobs = (int)number;
		break;
	case O_SPLIT:
		if (parse_size(value, &o->split) != 0 || o->split < 1024)
			return cli_usage_error(c->verb, "--split '%s': a size such as 4000M, 1G or 700M (at least 1k)",
			    ESC(value));
		break;
	case O_LICENSE_PUBKEY: o->license_pubkey = value; break;
	case O_ALLOW_EXPIRED: o->allow_expired = 1; break;
	case O_FORCE: o->force = 1; break;
	case O_ALLOW_OUTSIDE_PATHS: o->allow_outside_paths = 1; break;
	case O_CACERT: o->cacert = value; break;
	case O_LOCK: o->lock = value; break;
	case O_LOCKED: o->locked = value; break;
	case O_PLAIN_HTTP:
		if (!ref_valid_host(value, strlen(value)))
			return cli_usage_error(c->verb, "--plain-http: '%s': expected HOST[:PORT]", ESC(value));
		o->plain_http = xreallocarray(o->plain_http, o->nplain_http + 1, sizeof(*o->plain_http));
		o->plain_http[o->nplain_http++] = value;
		break;
	case O_CHART_KEYRING: o->chart_keyring = value; break;
	case O_COSIGN_KEY: o->cosign_key = value; break;
	case O_REQUIRE_CHART_PROVENANCE: o->require_chart_prov = 1; break;
	case O_NO_SBOM: o->no_sbom = 1; break;
	case O_SINCE:
		o->since = xreallocarray(o->since, o->nsince + 1, sizeof(*o->since));
		o->since[o->nsince++] = value;
		break;
	case O_KEYRING: o->keyring = value; break;
	default: break;
	}
	return FX_OK;
}

static int take_issue_option(struct pack_command *c, int id, const char *value)
{
	struct license_issue_opts *o = &c->issue;
	struct license_claims *claims = &o->claims;
	uint64_t number;

	switch (id) {
	case 'o': o->output = value; break;
	case O_FORCE: o->force = 1; break;
	case O_KEY: o->key_path = value; break;
	case O_ENTITLEMENTS: o->entitlements_path = value; break;
	case O_EXPIRES: c->expires = value; break;
	case O_NOT_BEFORE: c->not_before = value; break;
	case O_SUBJECT: return claim_text(c, "subject", value, &claims->subject);
	case O_ISSUER: return claim_text(c, "issuer", value, &claims->issuer);
	case O_CUSTOMER: return claim_text(c, "customer", value, &claims->customer);
	case O_EDITION: return claim_text(c, "edition", value, &claims->edition);
	case O_AUDIENCE: return claim_text(c, "audience", value, &claims->audience);
	case O_FEATURE:
		c->features = xreallocarray(c->features, claims->nfeatures + 1, sizeof(*c->features));
		claims->features = c->features;
		return claim_text(c, "feature", value, &c->features[claims->nfeatures++]);
	case O_SEATS:
		if (strcmp(value, "unlimited") == 0 || strcmp(value, "-1") == 0)
			claims->seats = -1;
		else if (cli_parse_number(value, 0, INT32_MAX, &number) == 0)
			claims->seats = (int64_t)number;
		else
			return cli_usage_error(c->verb, "--seats: not a count: %s", ESC(value));
		claims->has_seats = 1;
		break;
	case O_GRACE_DAYS:
		if (cli_parse_number(value, 0, 36500, &number) != 0)
			return cli_usage_error(c->verb, "--grace-days: not a day count: %s", ESC(value));
		claims->grace_days = (int64_t)number;
		claims->has_grace_days = 1;
		break;
	default: break;
	}
	return FX_OK;
}

static int take_option(void *ctx, int id, char *value)
{
	struct pack_command *c = ctx;

	switch (c->verb->id) {
	case V_BUILD: return take_build_option(c, id, value);
	case V_LICENSE_ISSUE: return take_issue_option(c, id, value);
	case V_KEYGEN:
		if (id == O_PGP)
			c->keygen.pgp = 1;
		else if (id == O_NAME)
			c->keygen.name = value;
		else if (id == O_EXPORT)
			c->keygen.export_path = value;
		else if (id == O_LICENSE_DIR)
			c->keygen.license_dir = value;
		else if (id == O_RSA)
			c->keygen.rsa = 1;
		break;
	default: break;
	}
	return FX_OK;
}

/* What no single option could check: arguments, required options, conflicts. */
static int check_build(struct pack_command *c, int nargs, char **args)
{
	const struct pack_opts *o = &c->build;
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	uint64_t when;

	if (nargs != 1)
		return cli_usage_error(c->verb, "build: %s", nargs == 0 ? "no SPEC.yaml given" : "one SPEC.yaml only");
	if (o->no_sign && (o->sign_key != NULL || o->detached_sig || o->passphrase_file != NULL))
		return cli_usage_error(c->verb,
		    "--no-sign conflicts with --sign-key, --detached-sig and --passphrase-file");
	if (o->split && o->detached_sig)
		return cli_usage_error(c->verb,
		    "--split conflicts with --detached-sig (the signed .parts list covers every part)");
	if (o->zstd_level && !o->zstd)
		return cli_usage_error(c->verb, "--zstd-level needs --compress zstd");
	if (o->gzip_level && o->layer_zstd)
		return cli_usage_error(c->verb, "--gzip-level is for gzip layers, not --layer-compression zstd");
	if (o->allow_expired && o->license_pubkey == NULL)
		return cli_usage_error(c->verb, "--allow-expired needs --license-pubkey");
	if (o->keyring != NULL && o->nsince == 0)
		return cli_usage_error(c->verb, "--keyring goes with --since (it checks the old bundles)");
	c->build.spec = args[0];
	c->build.created = (int64_t)time(NULL);
	if (sde != NULL) {
		if (cli_parse_number(sde, 0, 253402300799ULL, &when) != 0)
			return cli_usage_error(c->verb, "SOURCE_DATE_EPOCH='%s' is not a timestamp", ESC(sde));
		c->build.created = (int64_t)when;
	}
	return FX_OK;
}

static int check_issue(struct pack_command *c, int nargs, char **args)
{
	struct license_issue_opts *o = &c->issue;
	struct license_claims *claims = &o->claims;

	if (nargs > 0)
		return cli_usage_error(c->verb, "license issue: unexpected argument: %s", ESC(args[0]));
	if (o->key_path == NULL || claims->subject == NULL || c->expires == NULL || o->output == NULL)
		return cli_usage_error(c->verb, "license issue: %s is required", o->key_path == NULL ? "--key" :
		    claims->subject == NULL ? "--subject" : c->expires == NULL ? "--expires" : "-o FILE.lic");
	claims->issued_at = claims->not_before = (int64_t)time(NULL);
	if (c->not_before != NULL && cli_parse_date(c->not_before, claims->issued_at, &claims->not_before) != 0)
		return cli_usage_error(c->verb, "license issue: --not-before: not a date: %s", ESC(c->not_before));
	if (cli_parse_date(c->expires, claims->issued_at, &claims->expires) != 0)
		return cli_usage_error(c->verb, "license issue: --expires: not a date: %s", ESC(c->expires));
	if (claims->expires <= claims->not_before)
		return cli_usage_error(c->verb, "license issue: --expires %s is not after the start of validity",
		    ESC(c->expires));
	return FX_OK;
}

static int check_keygen(struct pack_command *c, int nargs, char **args)
{
	const struct keygen_opts *k = &c->keygen;

	if (nargs > 0)
		return cli_usage_error(c->verb, "keygen: unexpected argument '%s'", ESC(args[0]));
	if (k->pgp == (k->license_dir != NULL))
		return cli_usage_error(c->verb, "keygen: give exactly one of --pgp and --license DIR");
	if (k->rsa && k->license_dir == NULL)
		return cli_usage_error(c->verb, "--rsa goes with --license");
	if ((k->name != NULL || k->export_path != NULL) && !k->pgp)
		return cli_usage_error(c->verb, "--name and --export go with --pgp");
	return FX_OK;
}

static int run_keygen(const struct keygen_opts *k, struct ferr *e)
{
	char fpr[64];
	int rc;

	if (k->license_dir != NULL)
		return license_keygen_run(k->license_dir, k->rsa, e);
	rc = pgp_keygen(k->name != NULL ? k->name : "ferry release key <release@ferry.invalid>", k->export_path,
	    fpr, e);
	if (rc == FX_OK) {
		printf("%s\n", fpr);
		if (k->export_path != NULL)
			fprintf(stderr, "%s: public key written to %s\n", fx_progname, ESC(k->export_path));
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct pack_command c;
	struct ferr e = {0};
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int rc = cli_start("ferry-pack", argc, argv, &main_usage), words = 0, first = 0;

	if (rc >= 0)
		return rc;
	memset(&c, 0, sizeof(c));
	c.verb = cli_find_verb(verbs, &main_usage, argc, argv, &words, &rc);
	if (c.verb == NULL)
		return rc;
	c.build.jobs = cores > 0 ? (int)(cores > 256 ? 256 : cores) : 1;
	rc = cli_parse(argc - words, argv + words, options, c.verb, take_option, &c, &first);
	first += words;
	if (rc == FX_OK) {
		switch ((enum verb)c.verb->id) {
		case V_BUILD: rc = check_build(&c, argc - first, argv + first); break;
		case V_LICENSE_ISSUE: rc = check_issue(&c, argc - first, argv + first); break;
		case V_KEYGEN: rc = check_keygen(&c, argc - first, argv + first); break;
		case V_NONE: break;
		}
	}
	if (rc == FX_OK) {
		switch ((enum verb)c.verb->id) {
		case V_BUILD: rc = pack_build(&c.build, &e); break;
		case V_LICENSE_ISSUE: rc = license_issue_run(&c.issue, &e); break;
		case V_KEYGEN: rc = run_keygen(&c.keygen, &e); break;
		case V_NONE: break;
		}
		rc = cli_finish(rc, &e);
	}
	free(c.features);
	free(c.build.plain_http);
	free(c.build.since);
	return rc == CLI_HELP ? 0 : rc;
}
