/* ferry-pack - the connected side: builds signed bundles, issues licenses, makes keys.
 * Parses options, dispatches the verb, reports; the work is in the library. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/license.h"
#include "cli/pack.h"
#include "crypto/pgp.h"
#include "util/util.h"

enum verb { V_NONE, V_BUILD, V_LICENSE, V_KEYGEN };

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
    "      --jobs N             threads for compression (default: all cores)\n"
    "      --split SIZE         cut the bundle into parts (4000M fits FAT32): OUT.000, OUT.001, ...\n"
    "                           plus OUT.parts (their checksums) and OUT.parts.asc (its signature)\n"
    "      --license-pubkey PUB check license files with this key before packing them\n"
    "      --allow-expired      pack an expired license anyway\n"
    "      --force              replace an existing output file\n"
    "      --allow-outside-paths  pack files from outside the spec's directory (refused by default)\n"
    "  -q, --quiet              print nothing on success\n"
    "\n"
    "The output appears only when complete: a failed or interrupted run leaves nothing.\n"
    "SOURCE_DATE_EPOCH sets the creation time: the same inputs give the same bytes\n"
    "(except the signatures).\n";

static const char usage_keygen[] =
    "usage: ferry-pack keygen --pgp [--name \"Name <mail>\"] [--export FILE.asc]\n"
    "       ferry-pack keygen --license DIR [--rsa]\n"
    "\n"
    "  --pgp          create an Ed25519 OpenPGP release key in $GNUPGHOME (no passphrase:\n"
    "                 for demos and tests; protect real release keys yourself)\n"
    "  --export FILE  write its public key (give this file to operators)\n"
    "  --license DIR  create DIR/license.key (0600) and DIR/license.pub (Ed25519, --rsa: RSA-3072)\n";

static int usage(const char *text, int code)
{
	fputs(text, code == 0 ? stdout : stderr);
	return code;
}

static int bad_usage(const char *text, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad_usage(const char *text, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", fx_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	fputs(text, stderr);
	return FX_USAGE;
}

static int parse_jobs(const char *s, int *jobs)
{
	uint64_t v;

	if (parse_u64(s, &v) != 0 || v < 1 || v > 256)
		return -1;
	*jobs = (int)v;
	return 0;
}

static int cmd_build(int argc, char **argv)
{
	enum { O_SIGNKEY = 256, O_PASS, O_NOSIGN, O_DETACHED, O_COMPRESS, O_LEVEL, O_LAYER, O_JOBS,
		O_FORCE, O_LICKEY, O_ALLOWEXP, O_SPLIT, O_OUTSIDE };
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'}, {"sign-key", required_argument, NULL, O_SIGNKEY},
	    {"passphrase-file", required_argument, NULL, O_PASS}, {"no-sign", no_argument, NULL, O_NOSIGN},
	    {"detached-sig", no_argument, NULL, O_DETACHED}, {"compress", required_argument, NULL, O_COMPRESS},
	    {"zstd-level", required_argument, NULL, O_LEVEL},
	    {"layer-compression", required_argument, NULL, O_LAYER}, {"jobs", required_argument, NULL, O_JOBS},
	    {"force", no_argument, NULL, O_FORCE}, {"license-pubkey", required_argument, NULL, O_LICKEY},
	    {"allow-expired", no_argument, NULL, O_ALLOWEXP}, {"split", required_argument, NULL, O_SPLIT},
	    {"allow-outside-paths", no_argument, NULL, O_OUTSIDE},
	    {"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct pack_opts o;
	struct ferr e = {0};
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	uint64_t v;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int c;

	memset(&o, 0, sizeof(o));
	o.jobs = cores > 0 ? (int)(cores > 256 ? 256 : cores) : 1;
	while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'o': o.out = optarg; break;
		case O_SIGNKEY:
			if (!pgp_fpr_valid(optarg))
				return bad_usage(usage_build, "--sign-key: '%s' is not a full fingerprint", optarg);
			o.sign_key = optarg;
			break;
		case O_PASS: o.passphrase_file = optarg; break;
		case O_NOSIGN: o.no_sign = 1; break;
		case O_DETACHED: o.detached_sig = 1; break;
		case O_COMPRESS:
			if (strcmp(optarg, "zstd") == 0)
				o.zstd = 1;
			else if (strcmp(optarg, "none") != 0)
				return bad_usage(usage_build, "--compress: '%s': use zstd or none", optarg);
			break;
		case O_LEVEL:
			if (parse_u64(optarg, &v) != 0 || v < 1 || v > 19)
				return bad_usage(usage_build, "--zstd-level: '%s': 1 to 19", optarg);
			o.zstd_level = (int)v;
			break;
		case O_LAYER:
			if (strcmp(optarg, "zstd") == 0)
				o.layer_zstd = 1;
			else if (strcmp(optarg, "gzip") != 0)
				return bad_usage(usage_build, "--layer-compression: '%s': use gzip or zstd", optarg);
			break;
		case O_JOBS:
			if (parse_jobs(optarg, &o.jobs) != 0)
				return bad_usage(usage_build, "--jobs: '%s': 1 to 256", optarg);
			break;
		case O_FORCE: o.force = 1; break;
		case O_LICKEY: o.license_pubkey = optarg; break;
		case O_ALLOWEXP: o.allow_expired = 1; break;
		case O_OUTSIDE: o.allow_outside_paths = 1; break;
		case O_SPLIT:
			if (parse_size(optarg, &o.split) != 0 || o.split < 1024)
				return bad_usage(usage_build, "--split '%s': a size such as 4000M, 1G or 700M (at least 1k)", optarg);
			break;
		case 'q': o.quiet = 1; break;
		case 'h': return usage(usage_build, 0);
		default: return usage(usage_build, FX_USAGE);
		}
	}
	if (optind + 1 != argc)
		return bad_usage(usage_build, "%s", optind >= argc ? "build: no SPEC.yaml given" : "build: one SPEC.yaml only");
	if (o.no_sign && (o.sign_key != NULL || o.detached_sig || o.passphrase_file != NULL))
		return bad_usage(usage_build, "%s", "--no-sign conflicts with --sign-key, --detached-sig and --passphrase-file");
	if (o.split && o.detached_sig)
		return bad_usage(usage_build, "%s", "--split conflicts with --detached-sig (the signed .parts list covers every part)");
	if (o.zstd_level && !o.zstd)
		return bad_usage(usage_build, "%s", "--zstd-level needs --compress zstd");
	if (o.allow_expired && o.license_pubkey == NULL)
		return bad_usage(usage_build, "%s", "--allow-expired needs --license-pubkey");
	o.spec = argv[optind];
	o.created = (int64_t)time(NULL);
	if (sde != NULL) {
		if (parse_u64(sde, &v) != 0 || v > 253402300799ULL)
			return bad_usage(usage_build, "SOURCE_DATE_EPOCH='%s' is not a timestamp", sde);
		o.created = (int64_t)v;
	}
	pack_build(&o, &e);
	return fe_report(&e);
}

static int cmd_keygen(int argc, char **argv)
{
	enum { O_PGP = 256, O_NAME, O_EXPORT, O_LICENSE, O_RSA };
	static const struct option opts[] = {
	    {"pgp", no_argument, NULL, O_PGP}, {"name", required_argument, NULL, O_NAME},
	    {"export", required_argument, NULL, O_EXPORT}, {"license", required_argument, NULL, O_LICENSE},
	    {"rsa", no_argument, NULL, O_RSA}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const char *name = "ferry release key <release@ferry.invalid>", *exp = NULL, *licdir = NULL;
	struct ferr e = {0};
	char fpr[64];
	int c, pgp = 0, rsa = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_PGP: pgp = 1; break;
		case O_NAME: name = optarg; break;
		case O_EXPORT: exp = optarg; break;
		case O_LICENSE: licdir = optarg; break;
		case O_RSA: rsa = 1; break;
		case 'h': return usage(usage_keygen, 0);
		default: return usage(usage_keygen, FX_USAGE);
		}
	}
	if (optind != argc)
		return bad_usage(usage_keygen, "keygen: unexpected argument '%s'", argv[optind]);
	if (pgp == (licdir != NULL))
		return bad_usage(usage_keygen, "%s", "keygen: give exactly one of --pgp and --license DIR");
	if (rsa && licdir == NULL)
		return bad_usage(usage_keygen, "%s", "--rsa goes with --license");
	if (licdir != NULL) {
		if (license_keygen(licdir, rsa, &e) == FX_OK)
			printf("license key pair: %s/license.key (private, keep it safe), %s/license.pub\n", licdir, licdir);
		return fe_report(&e);
	}
	if (pgp_keygen(name, exp, fpr, &e) == FX_OK) {
		printf("%s\n", fpr);
		if (exp != NULL)
			fprintf(stderr, "%s: public key written to %s\n", fx_progname, ESC(exp));
	}
	return fe_report(&e);
}

static int cmd_license(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return usage("usage: ferry-pack license issue --key PRIV.pem --subject ID --expires DATE -o FILE.lic\n"
		    "       (ferry-pack license issue --help for every option)\n", argc < 2 ? FX_USAGE : 0);
	if (strcmp(argv[1], "issue") != 0)
		return bad_usage(usage_main, "license: unknown subcommand '%s'", argv[1]);
	return cmd_license_issue(argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	enum verb v = V_NONE;
	int rc = fx_main_start("ferry-pack", argc, argv, usage_main);

	if (rc >= 0)
		return rc;
	if (strcmp(argv[1], "build") == 0)
		v = V_BUILD;
	else if (strcmp(argv[1], "license") == 0)
		v = V_LICENSE;
	else if (strcmp(argv[1], "keygen") == 0)
		v = V_KEYGEN;
	switch (v) {
	case V_BUILD: return cmd_build(argc - 1, argv + 1);
	case V_LICENSE: return cmd_license(argc - 1, argv + 1);
	case V_KEYGEN: return cmd_keygen(argc - 1, argv + 1);
	case V_NONE: break;
	}
	return bad_usage(usage_main, "unknown verb '%s'", argv[1]);
}
