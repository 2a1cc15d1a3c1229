/* ferry-load - the isolated side: verifies, inspects, extracts and loads bundles, and
 * checks licenses. Parses options, dispatches the verb, reports; the work is in the
 * library. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bundle/bundle.h"
#include "cli/extract.h"
#include "cli/imagemap.h"
#include "cli/inspect.h"
#include "crypto/license.h"
#include "cli/load.h"
#include "cli/rewrite.h"
#include "bundle/parts.h"
#include "crypto/pgp.h"
#include "util/util.h"

enum verb { V_NONE, V_VERIFY, V_INSPECT, V_EXTRACT, V_LOAD, V_LICENSE, V_REWRITE };

static const char usage_main[] =
    "usage: ferry-load VERB BUNDLE [options]\n"
    "\n"
    "Verbs:\n"
    "  verify BUNDLE --keyring KEYS.asc        check the signature and every entry\n"
    "  inspect BUNDLE [--json] [--keyring K]   show what a bundle holds (reads only its head)\n"
    "  extract BUNDLE -C DIR --keyring K       verify, then write the entries under DIR\n"
    "  load BUNDLE --keyring K --to TARGET     verify and load images into registry://HOST,\n"
    "                                          docker:// or oci:DIR\n"
    "  rewrite FILE... --map MAP               point Compose/Helm values files at the loaded images\n"
    "  license verify FILE.lic --pubkey PUB    check an offline license\n"
    "\n"
    "ferry-load VERB --help shows a verb's options; --version prints the version.\n"
    "Exit: 0 ok, 1 verification failed, 2 usage, 3 I/O or environment, 4 target failed.\n";

static const char usage_common[] =
    "  --keyring KEYS.asc     trust only the OpenPGP public keys in this file (required)\n"
    "  --fingerprint FPR      and only a signer with this primary key fingerprint (repeatable)\n"
    "  --allow-unsigned       accept a bundle without a signature (its checksums are still checked)\n"
    "  --license-pubkey PUB   also check the bundle's license with this key; refuse an invalid one\n"
    "  --audience PRODUCT     with --license-pubkey: the product the license must be for\n"
    "  --now TIME             clock for the license check (epoch seconds or 2026-11-23T10:00:00Z)\n"
    "  -q, --quiet            no progress or success messages\n";

static const char usage_verify[] = "usage: ferry-load verify BUNDLE --keyring KEYS.asc [options]\n\n"
    "Checks the signature on SHA256SUMS against the given keys only (a throw-away GnuPG home;\n"
    "your own keyring is neither used nor changed), then every entry in one read.\n"
    "BUNDLE may be a split bundle: its first part, its .parts list or its base name.\n\n"
    "  --parts-only           split bundles: check only each part against the signed .parts list\n";
static const char usage_inspect[] = "usage: ferry-load inspect BUNDLE [--json] [--keyring KEYS.asc]\n"
    "       ferry-load inspect BUNDLE --image-map --to TARGET [--to TARGET]... [--image REF]...\n"
    "                          [--keep-registry-host] [--keyring KEYS.asc]\n\n"
    "Prints metadata, signer and contents from the head of the bundle only. Without --keyring\n"
    "the output is marked UNVERIFIED. --json prints one JSON document on stdout.\n"
    "--image-map prints (JSON) the image map a load into the TARGETs would write, loading nothing.\n\n";
static const char usage_extract[] = "usage: ferry-load extract BUNDLE -C DIR --keyring KEYS.asc [--force] [options]\n\n"
    "Verifies while reading into a hidden directory inside DIR; entries are moved into DIR\n"
    "only when everything verified. Existing files are not overwritten without --force.\n\n";
static const char usage_load[] = "usage: ferry-load load BUNDLE --keyring KEYS.asc --to TARGET [--to TARGET]... [options]\n\n"
    "  --to registry://HOST[:PORT][/PREFIX] | docker:// | docker://unix:///PATH.sock |\n"
    "       docker://tcp://HOST:PORT | oci:DIR\n"
    "  --image REF            load only this image (repeatable)\n"
    "  --plain-http           talk HTTP, not HTTPS, to the registry (loopback registries)\n"
    "  --cacert FILE          trust this CA for the registry\n"
    "  --creds USER:PASS      registry credentials (default: ~/.docker/config.json auths)\n"
    "  --keep-registry-host   keep the image's original registry as the first path part\n"
    "  --jobs N               parallel uploads (default 4)\n"
    "  --dry-run              say what would be pushed, push nothing\n"
    "  --image-map FILE       after the load, write where each image landed and its digest\n"
    "                         (JSON; YAML when FILE ends in .yaml or .yml); see rewrite\n\n";

static int bad_usage(const char *text, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad_usage(const char *text, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", fx_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", text);
	if (text != usage_main)
		fputs(usage_common, stderr);
	return FX_USAGE;
}

static void push(char ***v, size_t *n, char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof(char *));
	(*v)[(*n)++] = s;
}

enum {
	O_KEYRING = 256, O_FPR, O_UNSIGNED, O_JSON, O_FORCE, O_TO, O_IMAGE, O_PLAIN, O_CACERT,
	O_CREDS, O_KEEPHOST, O_JOBS, O_DRYRUN, O_LICKEY, O_AUDIENCE, O_NOW, O_PARTSONLY, O_IMAGEMAP
};

/* Which options each verb takes: one table, checked per verb so that a misplaced
 * option is a usage error rather than silently ignored. */
struct optinfo {
	int id;
	unsigned verbs; /* bit (1 << verb) */
};
#define VB(v) (1u << (v))
#define READERS (VB(V_VERIFY) | VB(V_EXTRACT) | VB(V_LOAD))
static const struct optinfo allowed[] = {
    {O_KEYRING, READERS | VB(V_INSPECT)}, {O_FPR, READERS | VB(V_INSPECT)}, {O_UNSIGNED, READERS},
    {O_JSON, VB(V_INSPECT)}, {'C', VB(V_EXTRACT)}, {O_FORCE, VB(V_EXTRACT)}, {O_TO, VB(V_LOAD) | VB(V_INSPECT)},
    {O_IMAGE, VB(V_LOAD) | VB(V_INSPECT)}, {O_PLAIN, VB(V_LOAD)}, {O_CACERT, VB(V_LOAD)}, {O_CREDS, VB(V_LOAD)},
    {O_KEEPHOST, VB(V_LOAD) | VB(V_INSPECT)}, {O_JOBS, VB(V_LOAD)}, {O_DRYRUN, VB(V_LOAD)}, {O_LICKEY, READERS},
    {O_IMAGEMAP, VB(V_LOAD) | VB(V_INSPECT)},
    {O_AUDIENCE, READERS}, {O_NOW, READERS}, {O_PARTSONLY, VB(V_VERIFY)}, {'q', READERS | VB(V_INSPECT)}, {0, 0}};

static int run_verb(enum verb v, int argc, char **argv)
{
	struct option opts[] = {
	    {"keyring", required_argument, NULL, O_KEYRING}, {"fingerprint", required_argument, NULL, O_FPR},
	    {"allow-unsigned", no_argument, NULL, O_UNSIGNED}, {"json", no_argument, NULL, O_JSON},
	    {"directory", required_argument, NULL, 'C'}, {"force", no_argument, NULL, O_FORCE},
	    {"to", required_argument, NULL, O_TO}, {"image", required_argument, NULL, O_IMAGE},
	    {"plain-http", no_argument, NULL, O_PLAIN}, {"cacert", required_argument, NULL, O_CACERT},
	    {"creds", required_argument, NULL, O_CREDS}, {"keep-registry-host", no_argument, NULL, O_KEEPHOST},
	    {"jobs", required_argument, NULL, O_JOBS}, {"dry-run", no_argument, NULL, O_DRYRUN},
	    {"license-pubkey", required_argument, NULL, O_LICKEY}, {"audience", required_argument, NULL, O_AUDIENCE},
	    {"now", required_argument, NULL, O_NOW}, {"quiet", no_argument, NULL, 'q'},
	    {"parts-only", no_argument, NULL, O_PARTSONLY}, {"image-map", required_argument, NULL, O_IMAGEMAP},
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	static const char *const usages[] = {usage_main, usage_verify, usage_inspect, usage_extract, usage_load, usage_main, usage_main};
	const char *text = usages[v];
	struct read_opts ro;
	struct load_opts lo;
	struct bundle_head h;
	struct read_report rep;
	struct ferr e = {0};
	const char *dir = NULL, *bundle, *image_map = NULL;
	int c, json = 0, force = 0, quiet = 0, parts_only = 0, rc = FX_OK, idx = 0;
	uint64_t u;

	memset(&ro, 0, sizeof(ro));
	memset(&lo, 0, sizeof(lo));
	memset(&h, 0, sizeof(h));
	lo.jobs = 4;
	ro.now = (int64_t)time(NULL);
	/* load --image-map FILE; inspect --image-map (printed) */
	for (c = 0; opts[c].name != NULL; c++)
		if (opts[c].val == O_IMAGEMAP && v == V_INSPECT)
			opts[c].has_arg = no_argument;
	while ((c = getopt_long(argc, argv, "C:qh", opts, &idx)) != -1) {
		const struct optinfo *a;

		if (c == 'h') {
			fputs(text, stdout);
			if (v != V_INSPECT)
				fputs(usage_common, stdout);
			rc = 0;
			goto end;
		}
		if (c == '?') {
			rc = bad_usage(text, "%s", "see the options below");
			goto end;
		}
		for (a = allowed; a->id != 0 && a->id != c; a++)
			;
		if (a->id == 0 || !(a->verbs & VB(v))) {
			rc = bad_usage(text, "option %s does not apply to %s", argv[optind - 1], argv[0]);
			goto end;
		}
		switch (c) {
		case O_KEYRING: ro.keyring = optarg; break;
		case O_FPR:
			if (!pgp_fpr_valid(optarg)) {
				rc = bad_usage(text, "--fingerprint '%s': give the full 40-digit fingerprint", optarg);
				goto end;
			}
			push(&ro.fingerprints, &ro.nfingerprints, optarg);
			break;
		case O_UNSIGNED: ro.allow_unsigned = 1; break;
		case O_JSON: json = 1; break;
		case 'C': dir = optarg; break;
		case O_FORCE: force = 1; break;
		case O_TO: push(&lo.targets, &lo.ntargets, optarg); break;
		case O_IMAGE: push(&lo.images, &lo.nimages, optarg); break;
		case O_PLAIN: lo.plain_http = 1; break;
		case O_CACERT: lo.cacert = optarg; break;
		case O_CREDS: lo.creds = optarg; break;
		case O_KEEPHOST: lo.keep_registry_host = 1; break;
		case O_JOBS:
			if (parse_u64(optarg, &u) != 0 || u < 1 || u > 64) {
				rc = bad_usage(text, "--jobs '%s': 1 to 64", optarg);
				goto end;
			}
			lo.jobs = (int)u;
			break;
		case O_DRYRUN: lo.dry_run = 1; break;
		case O_LICKEY: ro.license_pubkey = optarg; break;
		case O_AUDIENCE: ro.audience = optarg; break;
		case O_NOW:
			if (parse_u64(optarg, &u) == 0 && u < 253402300800ULL)
				ro.now = (int64_t)u;
			else if (parse_time_utc(optarg, &ro.now) != 0) {
				rc = bad_usage(text, "--now '%s': epoch seconds or 2026-11-23T10:00:00Z", optarg);
				goto end;
			}
			break;
		case 'q': quiet = lo.quiet = 1; break;
		case O_PARTSONLY: parts_only = 1; break;
		case O_IMAGEMAP: image_map = v == V_LOAD ? optarg : "-"; break;
		default: break;
		}
	}
	if (optind + 1 != argc) {
		rc = bad_usage(text, "%s: %s", argv[0], optind >= argc ? "no BUNDLE given" : "give one BUNDLE only");
		goto end;
	}
	bundle = argv[optind];
	if (v != V_INSPECT && ro.keyring == NULL && !ro.allow_unsigned) {
		rc = bad_usage(text, "%s: --keyring KEYS.asc is required (the keys you trust)", argv[0]);
		goto end;
	}
	if (ro.nfingerprints > 0 && ro.keyring == NULL) {
		rc = bad_usage(text, "%s", "--fingerprint needs --keyring");
		goto end;
	}
	if (ro.audience != NULL && ro.license_pubkey == NULL) {
		rc = bad_usage(text, "%s", "--audience needs --license-pubkey");
		goto end;
	}
	if (v == V_EXTRACT && dir == NULL) {
		rc = bad_usage(text, "%s", "extract: -C DIR is required");
		goto end;
	}
	if (v == V_INSPECT && image_map == NULL && (lo.ntargets > 0 || lo.nimages > 0 || lo.keep_registry_host)) {
		rc = bad_usage(text, "%s", "inspect: --to, --image and --keep-registry-host go with --image-map");
		goto end;
	}
	if (v == V_INSPECT && image_map != NULL && json) {
		rc = bad_usage(text, "%s", "inspect: --image-map prints JSON already; leave out --json");
		goto end;
	}
	if (v == V_LOAD && image_map != NULL && lo.dry_run) {
		rc = bad_usage(text, "%s", "load: a --dry-run loads nothing to map; inspect --image-map shows the map");
		goto end;
	}
	if (v == V_LOAD || image_map != NULL) {
		if (lo.ntargets == 0) {
			rc = bad_usage(text, "%s: at least one --to TARGET is required", argv[0]);
			goto end;
		}
		if (load_check_targets(&lo, &e) != FX_OK) {
			rc = bad_usage(text, "%s", e.msg);
			goto end;
		}
	}
	if (ro.allow_unsigned && ro.keyring == NULL && !quiet)
		fx_warn("--allow-unsigned without --keyring: no signature is checked; only the checksums are");

	switch (v) {
	case V_INSPECT:
		ro.head_only = 1;
		if (bundle_read(bundle, &ro, NULL, &h, &rep, &e) == FX_OK)
			(void)(image_map != NULL ? imap_inspect_print(stdout, bundle, &h, &lo, &e) :
			    inspect_print(stdout, bundle, &h, json, &e));
		rc = fe_report(&e);
		break;
	case V_VERIFY:
		if (parts_only) {
			parts_verify_all(bundle, &ro, quiet, &e);
			rc = fe_report(&e);
			break;
		}
		if (bundle_read(bundle, &ro, NULL, &h, &rep, &e) == FX_OK && !quiet) {
			char sz[32];
			printf("%s: OK\n", ESC(bundle));
			if (h.sig_checked)
				printf("  signed by %s %s\n", h.signer.fpr, ESC(h.signer.uid));
			else
				printf("  NOT signed (accepted with --allow-unsigned)\n");
			printf("  %s %s: %zu entries, %s checked\n", ESC(h.man.name), ESC(h.man.version),
			    rep.entries_ok + 1, fmt_bytes(rep.bytes, sz, sizeof(sz)));
		}
		rc = fe_report(&e);
		break;
	case V_EXTRACT:
		extract_run(bundle, dir, force, &ro, &e);
		rc = fe_report(&e);
		break;
	case V_LOAD:
		if (image_map != NULL)
			imap_load_run(bundle, &ro, &lo, image_map, &e);
		else
			load_run(bundle, &ro, &lo, &e);
		rc = fe_report(&e);
		break;
	case V_NONE:
	case V_LICENSE:
	case V_REWRITE:
		break;
	}
end:
	bundle_head_free(&h);
	free(ro.fingerprints);
	free(lo.targets);
	free(lo.images);
	return rc;
}

int main(int argc, char **argv)
{
	enum verb v = V_NONE;
	int rc = fx_main_start("ferry-load", argc, argv, usage_main);

	if (rc >= 0)
		return rc;
	if (strcmp(argv[1], "verify") == 0)
		v = V_VERIFY;
	else if (strcmp(argv[1], "inspect") == 0)
		v = V_INSPECT;
	else if (strcmp(argv[1], "extract") == 0)
		v = V_EXTRACT;
	else if (strcmp(argv[1], "load") == 0)
		v = V_LOAD;
	else if (strcmp(argv[1], "license") == 0)
		v = V_LICENSE;
	else if (strcmp(argv[1], "rewrite") == 0)
		v = V_REWRITE;
	switch (v) {
	case V_VERIFY:
	case V_INSPECT:
	case V_EXTRACT:
	case V_LOAD:
		return run_verb(v, argc - 1, argv + 1);
	case V_LICENSE:
		if (argc < 3 || strcmp(argv[2], "verify") != 0) {
			fprintf(stderr, "usage: ferry-load license verify FILE.lic --pubkey PUB.pem [--audience P] [--now T] [--json]\n");
			return argc >= 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0) ? 0 : FX_USAGE;
		}
		return cmd_license_verify(argc - 2, argv + 2);
	case V_REWRITE:
		return cmd_rewrite(argc - 1, argv + 1);
	case V_NONE:
		break;
	}
	fprintf(stderr, "%s: unknown verb '%s'\n%s", fx_progname, ESC(argv[1]), usage_main);
	return FX_USAGE;
}
