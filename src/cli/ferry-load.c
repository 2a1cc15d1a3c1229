/* ferry-load - the isolated side: verifies, inspects, extracts, loads and serves
 * bundles, shows their SBOMs and reports on them for an auditor, points deployment
 * files at the loaded images, and checks licenses. Parses the command line into one
 * struct, rejects what does not fit
 * together, then dispatches the verb and reports; the work is in the verb layer and
 * the library. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bundle/bundle.h"
#include "bundle/parts.h"
#include "bundle/state.h"
#include "cli/cli.h"
#include "cli/cosign_check.h"
#include "cli/extract.h"
#include "cli/imagemap.h"
#include "cli/inspect.h"
#include "cli/license_cmd.h"
#include "cli/load.h"
#include "cli/load_delta.h"
#include "cli/result.h"
#include "cli/rewrite.h"
#include "cli/sbom_cmd.h"
#include "crypto/pgp.h"
#include "serve/serve.h"
#include "util/progress.h"
#include "util/util.h"

enum verb {
	V_NONE,
	V_VERIFY,
	V_INSPECT,
	V_EXTRACT,
	V_LOAD,
	V_SBOM,
	V_REPORT,
	V_REWRITE,
	V_LICENSE_VERIFY,
	V_SERVE,
};

static const char usage_main[] =
    "usage: ferry-load VERB BUNDLE [options]\n"
    "\n"
    "Verbs:\n"
    "  verify BUNDLE --keyring KEYS.asc        check the signature and every entry\n"
    "  inspect BUNDLE [--json] [--keyring K]   show what a bundle holds (reads only its head)\n"
    "  extract BUNDLE -C DIR --keyring K       verify, then write the entries under DIR\n"
    "  load BUNDLE --keyring K --to TARGET     verify and load images into registry://HOST,\n"
    "                                          docker:// or oci:DIR\n"
    "  sbom BUNDLE --keyring K [--image REF]   verify, then print an image's SBOM (SPDX, CycloneDX, table)\n"
    "  report BUNDLE --keyring K -o R.html     verify, then write an auditor's report (HTML or --json)\n"
    "  serve BUNDLE... --keyring K --listen A:P  verify, then answer docker pull from the bundles\n"
    "                                          (a read-only registry; no copy)\n"
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
    "  --now TIME             clock for the license and expiry checks (epoch seconds or\n"
    "                         2026-11-23T10:00:00Z)\n"
    "  --allow-expired        accept a bundle past its signed expiry date\n"
    "  --state FILE           the sequences loaded so far (load, extract: default $FERRY_STATE or\n"
    "                         " STATE_DEFAULT "; verify: compare with FILE only when given)\n"
    "  --allow-downgrade      accept a bundle older (lower sequence) than the one last loaded;\n"
    "                         the state file logs it\n"
    "  --json                 print one JSON result on stdout, also on failure (docs/json.md)\n"
    "  -q, --quiet            no progress or success messages\n";

static const char usage_verify[] = "usage: ferry-load verify BUNDLE --keyring KEYS.asc [options]\n\n"
    "Checks the signature on SHA256SUMS against the given keys only (a throw-away GnuPG home;\n"
    "your own keyring is neither used nor changed), then every entry in one read.\n"
    "BUNDLE may be a split bundle: its first part, its .parts list or its base name.\n\n"
    "  --parts-only           split bundles: check only each part against the signed .parts list\n"
    "  --cosign-key PUB.pem   also check each image's cosign signatures offline: an image none of\n"
    "                         whose signatures verifies with this key fails (exit 1)\n";
static const char usage_inspect[] = "usage: ferry-load inspect BUNDLE [--json] [--keyring KEYS.asc] [--state FILE] [--now TIME]\n"
    "                          [--charts-path P]\n"
    "       ferry-load inspect BUNDLE --image-map --to TARGET [--to TARGET]... [--image REF]...\n"
    "                          [--keep-registry-host] [--keyring KEYS.asc]\n\n"
    "Prints metadata, signer and contents from the head of the bundle only. Without --keyring\n"
    "the output is marked UNVERIFIED. --json prints one JSON document on stdout. --state FILE\n"
    "compares the bundle's sequence with the one last loaded; --now sets the clock for expiry.\n"
    "--image-map prints (JSON) the image map a load into the TARGETs would write, loading nothing.\n\n";
static const char usage_extract[] = "usage: ferry-load extract BUNDLE -C DIR --keyring KEYS.asc [--force] [options]\n\n"
    "Verifies while reading into a hidden directory inside DIR; entries are moved into DIR\n"
    "only when everything verified and every destination is free (or, with --force, a\n"
    "file); on any failure DIR is left as it was.\n\n";
static const char usage_load[] = "usage: ferry-load load BUNDLE --keyring KEYS.asc --to TARGET [--to TARGET]... [options]\n\n"
    "  --to registry://HOST[:PORT][/PREFIX] | docker:// | docker://unix:///PATH.sock |\n"
    "       docker://tcp://HOST:PORT | oci:DIR\n"
    "  --image REF            load only this image (repeatable)\n"
    "  --plain-http           talk HTTP, not HTTPS, to the registry (loopback registries)\n"
    "  --cacert FILE          trust this CA for the registry\n"
    "  --creds USER:PASS      registry credentials (default: ~/.docker/config.json: credHelpers,\n"
    "                         credsStore, auths)\n"
    "  --keep-registry-host   keep the image's original registry as the first path part\n"
    "  --charts-path P        charts land at PREFIX/P/NAME:VERSION (default charts; '+' is '_')\n"
    "  --charts-only          load the charts only\n"
    "  --no-charts            load the images only\n"
    "  --jobs N               parallel uploads (default 4)\n"
    "  --timeout SECONDS      the longest one registry or Docker request may take (default 300)\n"
    "  --dry-run              say what would be pushed, push nothing\n"
    "  --cosign-key PUB.pem   load only images with a cosign signature that verifies with this key\n"
    "                         offline; the others are refused (exit 1) and nothing names them\n"
    "  --base OLD.ferry       a delta bundle: take the blobs the target lacks from OLD (verified\n"
    "                         like BUNDLE; repeatable). Without it a delta needs a target that\n"
    "                         holds its base's blobs already\n"
    "  --image-map FILE       after the load, write where each image landed and its digest\n"
    "                         (JSON; YAML when FILE ends in .yaml or .yml); see rewrite\n\n";
static const char usage_sbom[] =
    "usage: ferry-load sbom BUNDLE --keyring KEYS.asc [--image REF] [--platform OS/ARCH]\n"
    "                            [--format spdx|cyclonedx|table]\n\n"
    "Verifies the bundle (every entry, as verify does), then prints the SBOM of an image:\n"
    "the installed OS packages of every platform, catalogued by ferry-pack.\n\n"
    "  --image REF            the image (as bundle.yaml names it; needed when there are several)\n"
    "  --platform OS/ARCH     the platform of a multi-platform image\n"
    "  --format F             spdx (SPDX 2.3 JSON, the default), cyclonedx (CycloneDX 1.5 JSON)\n"
    "                         or table (every image and platform selected)\n"
    "  --keyring KEYS.asc     trust only the OpenPGP public keys in this file (required)\n"
    "  --fingerprint FPR      and only a signer with this primary key fingerprint (repeatable)\n"
    "  --allow-unsigned       accept a bundle without a signature (its checksums are still checked)\n";
static const char usage_report[] =
    "usage: ferry-load report BUNDLE --keyring KEYS.asc -o REPORT.html [options]\n\n"
    "Verifies the bundle, then writes one self-contained HTML page for an auditor (no network,\n"
    "no external files; prints to PDF): the verdict first, then the bundle, its images and\n"
    "their OS packages (from the signed SBOMs), charts, docs, files, licenses and every entry.\n"
    "Exit 1 when something did not verify: the report is written and says what.\n\n"
    "  -o, --output FILE      the report (refused if it exists, unless --force)\n"
    "  --json                 the same content as JSON (to FILE, or stdout without -o)\n"
    "  --against OLD.ferry    also compare with an older bundle: images added, removed and\n"
    "                         changed; packages added, removed, upgraded and downgraded\n"
    "  --license-pubkey PUB   check the bundle's licenses with this key (their verdict is shown)\n"
    "  --audience PRODUCT     with --license-pubkey: the product the license must be for\n"
    "  --now TIME             clock for the license check (epoch seconds or 2026-11-23T10:00:00Z)\n"
    "  --keyring KEYS.asc     trust only the OpenPGP public keys in this file (required)\n"
    "  --fingerprint FPR      and only a signer with this primary key fingerprint (repeatable)\n"
    "  --allow-unsigned       accept a bundle without a signature (its checksums are still checked)\n"
    "  --force                replace an existing report\n"
    "  -q, --quiet            no message on success\n";
static const char usage_rewrite[] =
    "usage: ferry-load rewrite FILE... --map MAP [--target TARGET] [--pin-digest]\n"
    "                          [-o OUT [--force] | --in-place] [--strict] [-q]\n"
    "\n"
    "Points the image references of Docker Compose and Helm values files at where a load\n"
    "put the images, as its image map says (ferry-load load ... --image-map MAP). Only\n"
    "those scalars change: comments, order, quoting and indentation stay as they are.\n"
    "Rewritten: a string under any key image (services.*.image in Compose), and an image\n"
    "mapping with repository (and registry, tag, digest) in Helm values.\n"
    "\n"
    "  --map MAP        the image map (JSON; YAML when MAP ends in .yaml or .yml)\n"
    "  --target TARGET  the map's --to to point at, when it names several\n"
    "  --pin-digest     write REF@sha256:...; in the mapping form the digest key when there\n"
    "                   is one, else TAG@sha256:... as the tag\n"
    "  -o, --output OUT write the result to OUT (one FILE only; --force replaces OUT)\n"
    "  --in-place       write each FILE back, atomically\n"
    "  --strict         a reference the map does not know is an error (exit 1)\n"
    "  -q, --quiet      no summary lines\n"
    "\n"
    "Without -o or --in-place the one FILE goes to stdout. A reference the map does not know\n"
    "is left alone and listed on stderr as FILE:LINE. Nothing is written unless every FILE\n"
    "could be rewritten (and, with --strict, every reference was known).\n"
    "Exit: 0 ok, 1 unknown references with --strict, 2 usage or a file ferry will not edit\n"
    "(not YAML, anchors, several documents, over 4 MiB...), 3 I/O.\n";
static const char usage_license[] =
    "usage: ferry-load license verify FILE.lic --pubkey PUB.pem [--audience PRODUCT]\n"
    "         [--now TIMESTAMP] [--json]\n"
    "TIMESTAMP: seconds since 1970, 2027-11-23 or 2027-11-23T00:00:00Z (UTC).\n"
    "Exit: 0 valid or in grace, 1 expired/not yet valid/bad signature/wrong audience/\n"
    "malformed, 2 usage, 3 unreadable file or key.\n";

static const char usage_serve[] =
    "usage: ferry-load serve BUNDLE... --keyring KEYS.asc [--listen ADDRESS:PORT] [options]\n"
    "\n"
    "Verifies each bundle (as verify does), then answers the OCI distribution pull API\n"
    "(docker pull, skopeo, containerd...) from the bundle files themselves, read-only, until\n"
    "SIGTERM or Ctrl-C. Repositories are named as load --to registry://HOST/PREFIX names them.\n"
    "Every blob is checked again, block by block, as it is sent. BUNDLE must be a plain\n"
    "(uncompressed, unsplit) bundle file.\n"
    "\n"
    "  --keyring KEYS.asc     trust only the OpenPGP public keys in this file (required)\n"
    "  --fingerprint FPR      and only a signer with this primary key fingerprint (repeatable)\n"
    "  --allow-unsigned       accept bundles without a signature (their checksums are still checked)\n"
    "  --listen ADDR:PORT     where to answer (default " SERVE_LISTEN_DEFAULT "; [::1]:5000 for IPv6)\n"
    "  --prefix P             put P/ in front of every repository name (as registry://HOST/P)\n"
    "  --tls-cert FILE        HTTPS with this PEM certificate (chain) ...\n"
    "  --tls-key FILE         ... and its PEM private key\n"
    "  --htpasswd FILE        require Basic authentication: bcrypt users (htpasswd -B)\n"
    "  --timeout SECONDS      close a connection that makes no progress for this long (default 30)\n"
    "  --max-connections N    open connections at once (default 1000)\n"
    "  -q, --quiet            no log line per request, no start-up summary (errors still show)\n";

static const struct cli_verb main_usage = {"ferry-load", V_NONE, usage_main, NULL};
static const struct cli_verb verbs[] = {
    {"verify", V_VERIFY, usage_verify, usage_common},
    {"inspect", V_INSPECT, usage_inspect, NULL},
    {"extract", V_EXTRACT, usage_extract, usage_common},
    {"load", V_LOAD, usage_load, usage_common},
    {"sbom", V_SBOM, usage_sbom, NULL},
    {"report", V_REPORT, usage_report, NULL},
    {"rewrite", V_REWRITE, usage_rewrite, NULL},
    {"license verify", V_LICENSE_VERIFY, usage_license, NULL},
    {"serve", V_SERVE, usage_serve, NULL},
    {NULL, 0, NULL, NULL},
};

/* Options: one line each in this enum, in the table and in take_option(). */
enum option_id {
	O_KEYRING = 256,
	O_FINGERPRINT,
	O_ALLOW_UNSIGNED,
	O_LICENSE_PUBKEY,
	O_AUDIENCE,
	O_NOW,
	O_PARTS_ONLY,
	O_JSON,
	O_FORCE,
	O_TO,
	O_IMAGE,
	O_PLAIN_HTTP,
	O_CACERT,
	O_CREDS,
	O_KEEP_REGISTRY_HOST,
	O_JOBS,
	O_DRY_RUN,
	O_COSIGN_KEY,
	O_PLATFORM,
	O_FORMAT,
	O_AGAINST,
	O_BASE,
	O_IMAGE_MAP,
	O_IMAGE_MAP_PRINT,
	O_PUBKEY,
	O_LISTEN,
	O_PREFIX,
	O_TLS_CERT,
	O_TLS_KEY,
	O_HTPASSWD,
	O_TIMEOUT,
	O_MAX_CONNECTIONS,
	O_MAP,
	O_TARGET,
	O_PIN_DIGEST,
	O_IN_PLACE,
	O_STRICT,
	O_CHARTS_PATH,
	O_CHARTS_ONLY,
	O_NO_CHARTS,
	O_STATE,
	O_ALLOW_DOWNGRADE,
	O_ALLOW_EXPIRED,
};

#define VERIFY CLI_VERB(V_VERIFY)
#define INSPECT CLI_VERB(V_INSPECT)
#define EXTRACT CLI_VERB(V_EXTRACT)
#define LOAD CLI_VERB(V_LOAD)
#define SBOM CLI_VERB(V_SBOM)
#define REPORT CLI_VERB(V_REPORT)
#define REWRITE CLI_VERB(V_REWRITE)
#define LICENSE CLI_VERB(V_LICENSE_VERIFY)
#define SERVE CLI_VERB(V_SERVE)
#define READERS (VERIFY | EXTRACT | LOAD)
#define AUDITORS (SBOM | REPORT)

static const struct cli_option options[] = {
    {"keyring",            O_KEYRING,            required_argument, READERS | INSPECT | AUDITORS | SERVE},
    {"fingerprint",        O_FINGERPRINT,        required_argument, READERS | INSPECT | AUDITORS | SERVE},
    {"allow-unsigned",     O_ALLOW_UNSIGNED,     no_argument,       READERS | AUDITORS | SERVE},
    {"license-pubkey",     O_LICENSE_PUBKEY,     required_argument, READERS | REPORT},
    {"audience",           O_AUDIENCE,           required_argument, READERS | REPORT | LICENSE | INSPECT},
    {"now",                O_NOW,                required_argument, READERS | REPORT | LICENSE | INSPECT},
    {"quiet",              'q',                  no_argument,       READERS | INSPECT | REPORT | SERVE | REWRITE},
    {"parts-only",         O_PARTS_ONLY,         no_argument,       VERIFY},
    {"json",               O_JSON,               no_argument,       READERS | INSPECT | REPORT | LICENSE},
    {"directory",          'C',                  required_argument, EXTRACT},
    {"force",              O_FORCE,              no_argument,       EXTRACT | REPORT | REWRITE},
    {"output",             'o',                  required_argument, REPORT | REWRITE},
    {"against",            O_AGAINST,            required_argument, REPORT},
    {"to",                 O_TO,                 required_argument, LOAD | INSPECT},
    {"image",              O_IMAGE,              required_argument, LOAD | INSPECT | SBOM},
    {"platform",           O_PLATFORM,           required_argument, SBOM},
    {"format",             O_FORMAT,             required_argument, SBOM},
    {"plain-http",         O_PLAIN_HTTP,         no_argument,       LOAD},
    {"cacert",             O_CACERT,             required_argument, LOAD},
    {"creds",              O_CREDS,              required_argument, LOAD},
    {"keep-registry-host", O_KEEP_REGISTRY_HOST, no_argument,       LOAD | INSPECT},
    {"charts-path",        O_CHARTS_PATH,        required_argument, LOAD | INSPECT},
    {"charts-only",        O_CHARTS_ONLY,        no_argument,       LOAD},
    {"no-charts",          O_NO_CHARTS,          no_argument,       LOAD},
    {"jobs",               O_JOBS,               required_argument, LOAD},
    {"dry-run",            O_DRY_RUN,            no_argument,       LOAD},
    {"cosign-key",         O_COSIGN_KEY,         required_argument, VERIFY | LOAD},
    {"base",               O_BASE,               required_argument, LOAD},
    /* a file to write for load, a flag for inspect (the map goes to stdout) */
    {"image-map",          O_IMAGE_MAP,          required_argument, LOAD},
    {"image-map",          O_IMAGE_MAP_PRINT,    no_argument,       INSPECT},
    {"pubkey",             O_PUBKEY,             required_argument, LICENSE},
    {"listen",             O_LISTEN,             required_argument, SERVE},
    {"prefix",             O_PREFIX,             required_argument, SERVE},
    {"tls-cert",           O_TLS_CERT,           required_argument, SERVE},
    {"tls-key",            O_TLS_KEY,            required_argument, SERVE},
    {"htpasswd",           O_HTPASSWD,           required_argument, SERVE},
    {"timeout",            O_TIMEOUT,            required_argument, LOAD | SERVE},
    {"max-connections",    O_MAX_CONNECTIONS,    required_argument, SERVE},
    {"map",                O_MAP,                required_argument, REWRITE},
    {"target",             O_TARGET,             required_argument, REWRITE},
    {"pin-digest",         O_PIN_DIGEST,         no_argument,       REWRITE},
    {"in-place",           O_IN_PLACE,           no_argument,       REWRITE},
    {"strict",             O_STRICT,             no_argument,       REWRITE},
    {"state",              O_STATE,              required_argument, READERS | INSPECT},
    {"allow-downgrade",    O_ALLOW_DOWNGRADE,    no_argument,       READERS},
    {"allow-expired",      O_ALLOW_EXPIRED,      no_argument,       READERS},
    {NULL, 0, 0, 0},
};

/* Everything the command line says. */
struct load_command {
	const struct cli_verb *verb;
	const char *bundle; /* the bundle, or the license file */
	char **bundles;     /* serve: every bundle given */
	size_t nbundles;
	struct read_opts read;
	struct extract_opts extract;
	struct load_opts load;
	struct license_verify_opts license;
	struct sbom_print_opts sbom;
	struct report_opts report;
	struct serve_opts serve;
	struct rewrite_opts rewrite;
	struct fresh_opts fresh; /* expiry and rollback checks (state.h) */
	const char *image_map; /* load --image-map FILE */
	int image_map_print;   /* inspect --image-map */
	int json, quiet, parts_only;
	struct run_result *result; /* verify, extract, load --json: the document */
};

static void push(char ***list, size_t *n, char *s)
{
	*list = xreallocarray(*list, *n + 1, sizeof(char *));
	(*list)[(*n)++] = s;
}

static int take_sbom_format(struct load_command *c, const char *value)
{
	if (strcmp(value, "spdx") == 0)
		c->sbom.format = SBOM_PRINT_SPDX;
	else if (strcmp(value, "cyclonedx") == 0)
		c->sbom.format = SBOM_PRINT_CYCLONEDX;
	else if (strcmp(value, "table") == 0)
		c->sbom.format = SBOM_PRINT_TABLE;
	else
		return cli_usage_error(c->verb, "--format '%s': spdx, cyclonedx or table", ESC(value));
	return FX_OK;
}

static int take_option(void *ctx, int id, char *value)
{
	struct load_command *c = ctx;
	uint64_t number;

	switch (id) {
	case O_KEYRING: c->read.keyring = value; break;
	case O_FINGERPRINT:
		if (!pgp_fpr_valid(value))
			return cli_usage_error(c->verb, "--fingerprint '%s': give the full 40-digit fingerprint", ESC(value));
		push(&c->read.fingerprints, &c->read.nfingerprints, value);
		break;
	case O_ALLOW_UNSIGNED: c->read.allow_unsigned = 1; break;
	case O_LICENSE_PUBKEY: c->read.license_pubkey = value; break;
	case O_AUDIENCE: c->read.audience = c->license.audience = value; break;
	case O_NOW:
		if (cli_parse_now(value, &c->read.now) != 0)
			return cli_usage_error(c->verb, "--now '%s': epoch seconds or 2026-11-23T10:00:00Z", ESC(value));
		c->license.now = c->read.now;
		break;
	case 'q': c->quiet = c->load.quiet = c->extract.quiet = c->report.quiet = c->serve.quiet = c->rewrite.quiet = 1; break;
	case O_PARTS_ONLY: c->parts_only = 1; break;
	case O_JSON: c->json = c->license.json = c->report.json = 1; break;
	case 'C': c->extract.dir = value; break;
	case O_FORCE: c->extract.force = c->report.force = c->rewrite.force = 1; break;
	case 'o': c->report.output = c->rewrite.out = value; break;
	case O_AGAINST: c->report.against = value; break;
	case O_PLATFORM: c->sbom.platform = value; break;
	case O_FORMAT: return take_sbom_format(c, value);
	case O_TO: push(&c->load.targets, &c->load.ntargets, value); break;
	case O_IMAGE: push(&c->load.images, &c->load.nimages, value); break;
	case O_PLAIN_HTTP: c->load.plain_http = 1; break;
	case O_CACERT: c->load.cacert = value; break;
	case O_CREDS: c->load.creds = value; break;
	case O_KEEP_REGISTRY_HOST: c->load.keep_registry_host = 1; break;
	case O_CHARTS_PATH: c->load.charts_path = value; break;
	case O_CHARTS_ONLY: c->load.charts_only = 1; break;
	case O_NO_CHARTS: c->load.no_charts = 1; break;
	case O_JOBS:
		if (cli_parse_number(value, 1, 64, &number) != 0)
			return cli_usage_error(c->verb, "--jobs '%s': 1 to 64", ESC(value));
		c->load.jobs = (int)number;
		break;
	case O_DRY_RUN: c->load.dry_run = 1; break;
	case O_COSIGN_KEY: c->load.cosign_key_name = value; break;
	case O_BASE: push(&c->load.bases, &c->load.nbases, value); break;
	case O_IMAGE_MAP: c->image_map = value; break;
	case O_IMAGE_MAP_PRINT: c->image_map_print = 1; break;
	case O_PUBKEY: c->license.pubkey_path = value; break;
	case O_LISTEN: c->serve.listen = value; break;
	case O_PREFIX: c->serve.prefix = value; break;
	case O_TLS_CERT: c->serve.tls_cert = value; break;
	case O_TLS_KEY: c->serve.tls_key = value; break;
	case O_HTPASSWD: c->serve.htpasswd = value; break;
	case O_TIMEOUT: /* load: the longest request; serve: the longest idle connection */
		if (c->verb->id == V_SERVE) {
			if (cli_parse_number(value, 1, 3600, &number) != 0)
				return cli_usage_error(c->verb, "--timeout '%s': 1 to 3600 seconds", ESC(value));
			c->serve.timeout = (unsigned)number;
		} else {
			if (cli_parse_number(value, 1, 86400, &number) != 0)
				return cli_usage_error(c->verb, "--timeout '%s': 1 to 86400 seconds", ESC(value));
			c->load.timeout = (long)number;
		}
		break;
	case O_MAX_CONNECTIONS:
		if (cli_parse_number(value, 1, SERVE_CONNECTIONS_MAX, &number) != 0)
			return cli_usage_error(c->verb, "--max-connections '%s': 1 to %u", ESC(value), SERVE_CONNECTIONS_MAX);
		c->serve.max_connections = (unsigned)number;
		break;
	case O_MAP: c->rewrite.map_path = value; break;
	case O_TARGET: c->rewrite.target = value; break;
	case O_PIN_DIGEST: c->rewrite.pin_digest = 1; break;
	case O_IN_PLACE: c->rewrite.in_place = 1; break;
	case O_STRICT: c->rewrite.strict = 1; break;
	case O_STATE: c->fresh.state = value; break;
	case O_ALLOW_DOWNGRADE: c->fresh.allow_downgrade = 1; break;
	case O_ALLOW_EXPIRED: c->fresh.allow_expired = 1; break;
	default: break;
	}
	return FX_OK;
}

/* report: where it goes. */
static int check_report(struct load_command *c)
{
	const struct report_opts *r = &c->report;

	if (r->output == NULL && !r->json)
		return cli_usage_error(c->verb, "report: -o REPORT.html is required (or --json for stdout)");
	if (r->output != NULL &&
	    (strcmp(r->output, c->bundle) == 0 || (r->against != NULL && strcmp(r->output, r->against) == 0)))
		return cli_usage_error(c->verb, "report: -o %s: is an input", ESC(r->output));
	return FX_OK;
}

/* rewrite FILE...: where the result goes decides how many FILEs there may be. */
static int check_rewrite(struct load_command *c, int nargs, char **args)
{
	const struct rewrite_opts *r = &c->rewrite;

	c->rewrite.files = args;
	c->rewrite.nfiles = (size_t)nargs;
	if (nargs == 0)
		return cli_usage_error(c->verb, "rewrite: no FILE given");
	if (r->map_path == NULL)
		return cli_usage_error(c->verb, "rewrite: --map MAP is required (written by load --image-map)");
	if (r->out != NULL && r->in_place)
		return cli_usage_error(c->verb, "rewrite: -o and --in-place exclude each other");
	if (r->out != NULL && nargs > 1)
		return cli_usage_error(c->verb, "rewrite: -o takes one FILE; use --in-place for several");
	if (r->out == NULL && !r->in_place && nargs > 1)
		return cli_usage_error(c->verb, "rewrite: several FILEs need --in-place");
	if (r->force && r->out == NULL)
		return cli_usage_error(c->verb, "rewrite: --force goes with -o OUT");
	return FX_OK;
}

/* What no single option could check: the argument, required options, conflicts. */
static int check_command(struct load_command *c, int nargs, char **args)
{
	struct ferr e = {0};
	const char *verb = c->verb->name;
	const char *what = c->verb->id == V_LICENSE_VERIFY ? "FILE.lic" : "BUNDLE";
	int to_targets = c->verb->id == V_LOAD || c->image_map_print; /* --to is needed and checked */

	if (c->verb->id == V_REWRITE)
		return check_rewrite(c, nargs, args);
	if (nargs != 1 && !(c->verb->id == V_SERVE && nargs > 1))
		return cli_usage_error(c->verb, "%s: %s %s%s", verb, nargs == 0 ? "no" : "give one", what,
		    nargs == 0 ? " given" : " only");
	c->bundle = c->license.path = args[0];
	c->bundles = args;
	c->nbundles = (size_t)nargs;
	if (c->verb->id == V_LICENSE_VERIFY) {
		if (c->license.pubkey_path == NULL)
			return cli_usage_error(c->verb, "license verify: --pubkey PUB.pem is required");
		return FX_OK;
	}
	if (c->verb->id != V_INSPECT && c->read.keyring == NULL && !c->read.allow_unsigned)
		return cli_usage_error(c->verb, "%s: --keyring KEYS.asc is required (the keys you trust)", verb);
	if (c->read.nfingerprints > 0 && c->read.keyring == NULL)
		return cli_usage_error(c->verb, "--fingerprint needs --keyring");
	if (c->read.audience != NULL && c->read.license_pubkey == NULL)
		return cli_usage_error(c->verb, "--audience needs --license-pubkey");
	if (c->parts_only && c->json)
		return cli_usage_error(c->verb, "--parts-only checks no entries; leave out --json");
	if (c->parts_only && c->read.license_pubkey != NULL)
		return cli_usage_error(c->verb,
		    "--parts-only conflicts with --license-pubkey (the license is inside the bundle)");
	if (c->parts_only && c->load.cosign_key_name != NULL)
		return cli_usage_error(c->verb, "--parts-only checks no entries, so no cosign signature; leave out --cosign-key");
	if (c->verb->id == V_EXTRACT && c->extract.dir == NULL)
		return cli_usage_error(c->verb, "extract: -C DIR is required");
	if (c->verb->id == V_INSPECT && !c->image_map_print &&
	    (c->load.ntargets > 0 || c->load.nimages > 0 || c->load.keep_registry_host))
		return cli_usage_error(c->verb, "inspect: --to, --image and --keep-registry-host go with --image-map");
	if (c->image_map_print && c->json)
		return cli_usage_error(c->verb, "inspect: --image-map prints JSON already; leave out --json");
	if (c->image_map != NULL && c->load.dry_run)
		return cli_usage_error(c->verb, "load: a --dry-run loads nothing to map; inspect --image-map shows the map");
	if (to_targets && c->load.ntargets == 0)
		return cli_usage_error(c->verb, "%s: at least one --to TARGET is required", verb);
	if (to_targets && load_check_targets(&c->load, &e) != FX_OK)
		return cli_usage_error(c->verb, "%s", e.msg);
	if (c->verb->id == V_SERVE && serve_check_opts(&c->serve, &e) != FX_OK)
		return cli_usage_error(c->verb, "%s", e.msg);
	if (c->verb->id == V_SBOM && c->load.nimages > 1)
		return cli_usage_error(c->verb, "sbom: one --image only");
	c->sbom.image = c->load.nimages > 0 ? c->load.images[0] : NULL;
	if (c->verb->id == V_REPORT)
		return check_report(c);
	return FX_OK;
}

/* verify --cosign-key: every image that fails is named; FX_VERIFY when any does. */
static int verify_cosign(struct cosign_check *cosign, const struct manifest *man, struct ferr *e)
{
	size_t i, failed = 0;

	for (i = 0; i < man->nimages; i++) {
		const char *why = cosign_check_image(cosign, i);
		if (why != NULL) {
			fprintf(stderr, "%s: %s: %s\n", fx_progname, ESC(man->images[i].ref), why);
			failed++;
		}
	}
	if (failed > 0)
		return fe_set(e, FX_VERIFY, "%zu of %zu images have no cosign signature that verifies", failed, man->nimages);
	return FX_OK;
}

/* verify: the bundle read once, every entry checked; one summary on success. */
static int run_verify(struct load_command *c, struct ferr *e)
{
	struct cosign_check *cosign = NULL;
	struct sink cosign_sink;
	struct bundle_head head;
	struct read_report report;
	struct progress meter;
	char size[32];
	int rc;

	if (c->parts_only)
		return parts_verify_all(c->bundle, &c->read, c->quiet, e);
	if (c->load.cosign_key != NULL) {
		cosign = cosign_check_new(c->load.cosign_key, c->load.cosign_key_name);
		cosign_check_sink(cosign, &cosign_sink);
	}
	progress_init(&meter, progress_wanted(c->quiet), "verifying");
	c->read.progress = &meter;
	rc = bundle_read(c->bundle, &c->read, cosign != NULL ? &cosign_sink : NULL, &head, &report, e);
	c->read.progress = NULL;
	if (rc == FX_OK && cosign != NULL)
		rc = verify_cosign(cosign, &head.man, e);
	if (rc == FX_OK && !c->quiet && !c->json) {
		printf("%s: OK\n", ESC(c->bundle));
		if (head.sig_checked)
			printf("  signed by %s %s\n", head.signer.fpr, ESC(head.signer.uid));
		else
			printf("  NOT signed (accepted with --allow-unsigned)\n");
		printf("  %s %s: %zu entries, %s checked\n", ESC(head.man.name), ESC(head.man.version),
		    report.entries_ok + 1, fmt_bytes(report.bytes, size, sizeof(size)));
		delta_describe(stdout, &head.man, "  ", 1);
		if (cosign != NULL)
			printf("  cosign: every image has a signature that verifies with %s\n", ESC(c->load.cosign_key_name));
	}
	cosign_check_free(cosign);
	bundle_head_free(&head);
	return rc;
}

/* inspect: the head only; with --image-map, the map a load into the --to targets would write. */
static int run_inspect(struct load_command *c, struct ferr *e)
{
	struct bundle_head head;
	struct read_report report;
	int rc;

	c->read.head_only = 1;
	rc = bundle_read(c->bundle, &c->read, NULL, &head, &report, e);
	if (rc == FX_OK && c->image_map_print)
		rc = imap_inspect_print(stdout, c->bundle, &head, &c->load, e);
	else if (rc == FX_OK)
		rc = inspect_print(stdout, c->bundle, &head, c->json, &c->fresh, c->load.charts_path, e);
	bundle_head_free(&head);
	return rc;
}

/* Expiry for verify, load and extract; the state file: load and extract check against
 * it and record in it (--state, $FERRY_STATE, or the default), verify and inspect only
 * compare with one given. */
static void setup_fresh(struct load_command *c)
{
	int loads = c->verb->id == V_LOAD || c->verb->id == V_EXTRACT;
	const char *env = getenv("FERRY_STATE");

	c->fresh.now = c->read.now;
	if (c->fresh.state == NULL && loads)
		c->fresh.state = env != NULL && *env != '\0' ? env : STATE_DEFAULT;
	c->fresh.record = loads && !c->load.dry_run;
	if (loads || c->verb->id == V_VERIFY)
		c->read.fresh = &c->fresh;
}

static int run_verb(struct load_command *c, struct ferr *e);

/* Loads --cosign-key (a usage error when it is no cosign key), then runs the verb. */
static int run(struct load_command *c, struct ferr *e)
{
	struct cosign_key *key = NULL;
	int rc;

	if (c->load.cosign_key_name != NULL) {
		if ((rc = cosign_key_load(c->load.cosign_key_name, &key, e)) != FX_OK)
			return rc;
		c->load.cosign_key = key;
	}
	rc = run_verb(c, e);
	c->load.cosign_key = NULL;
	cosign_key_free(key);
	return rc;
}

static int run_verb(struct load_command *c, struct ferr *e)
{
	if (c->read.allow_unsigned && c->read.keyring == NULL && !c->quiet && c->verb->id != V_LICENSE_VERIFY)
		fx_warn("--allow-unsigned without --keyring: no signature is checked; only the checksums are");
	if (c->result != NULL)
		result_watch(c->result, &c->read, c->verb->id == V_LOAD ? &c->load : NULL);
	switch ((enum verb)c->verb->id) {
	case V_VERIFY: return run_verify(c, e);
	case V_INSPECT: return run_inspect(c, e);
	case V_EXTRACT: return extract_run(c->bundle, &c->extract, &c->read, e);
	case V_LOAD:
		if (c->image_map != NULL)
			return imap_load_run(c->bundle, &c->read, &c->load, c->image_map, e);
		return load_run(c->bundle, &c->read, &c->load, e);
	case V_SBOM: return sbom_print_run(c->bundle, &c->read, &c->sbom, e);
	case V_REPORT: return report_run(c->bundle, &c->read, &c->report, e);
	case V_REWRITE: return rewrite_run(&c->rewrite, e);
	case V_LICENSE_VERIFY: return license_verify_run(&c->license, e);
	case V_SERVE: return serve_run(c->bundles, c->nbundles, &c->read, &c->serve, e);
	case V_NONE: break;
	}
	return FX_OK;
}

int main(int argc, char **argv)
{
	struct load_command c;
	struct run_result result;
	struct ferr e = {0};
	int rc = cli_start("ferry-load", argc, argv, &main_usage), words = 0, first = 0, ran = 0;

	if (rc >= 0)
		return rc;
	memset(&c, 0, sizeof(c));
	c.verb = cli_find_verb(verbs, &main_usage, argc, argv, &words, &rc);
	if (c.verb == NULL)
		return rc;
	c.load.jobs = 4;
	c.serve.listen = SERVE_LISTEN_DEFAULT;
	c.serve.prefix = "";
	c.serve.timeout = SERVE_TIMEOUT_DEFAULT;
	c.serve.max_connections = SERVE_CONNECTIONS_DEFAULT;
	c.read.now = c.license.now = (int64_t)time(NULL);
	if ((CLI_VERB(c.verb->id) & READERS) && cli_wants_json(argc - words, argv + words)) {
		result_init(&result, c.verb->name);
		c.result = &result;
	}
	rc = cli_parse(argc - words, argv + words, options, c.verb, take_option, &c, &first);
	if (rc == FX_OK)
		rc = check_command(&c, argc - words - first, argv + words + first);
	if (rc == FX_OK) {
		setup_fresh(&c);
		rc = run(&c, &e);
		ran = 1;
	}
	if (c.result != NULL) {
		result.bundle = c.bundle;
		result.directory = c.extract.dir;
		if (rc != CLI_HELP)
			result_print(&result, e.code != 0 ? e.code : rc, &e, ran ? NULL : cli_last_usage_error());
		result_free(&result);
	}
	if (ran)
		rc = cli_finish(rc, &e);
	free(c.read.fingerprints);
	free(c.load.targets);
	free(c.load.images);
	free(c.load.bases);
	return rc == CLI_HELP ? 0 : rc;
}
