/* serve_cmd.c - `ferry-load serve BUNDLE... --keyring K --listen ADDR:PORT`: parses
 * and checks the options, then hands over to serve_run (src/serve). */
#include "cli/serve_cmd.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/pgp.h"
#include "serve/serve.h"
#include "util/util.h"

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

static int serve_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int serve_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: serve: ", fx_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage_serve);
	return FX_USAGE;
}

int cmd_serve(int argc, char **argv)
{
	enum { O_KEYRING = 256, O_FPR, O_UNSIGNED, O_LISTEN, O_PREFIX, O_CERT, O_KEY, O_HTPASSWD, O_TIMEOUT, O_CONNS };
	static const struct option opts[] = {
	    {"keyring", required_argument, NULL, O_KEYRING}, {"fingerprint", required_argument, NULL, O_FPR},
	    {"allow-unsigned", no_argument, NULL, O_UNSIGNED}, {"listen", required_argument, NULL, O_LISTEN},
	    {"prefix", required_argument, NULL, O_PREFIX}, {"tls-cert", required_argument, NULL, O_CERT},
	    {"tls-key", required_argument, NULL, O_KEY}, {"htpasswd", required_argument, NULL, O_HTPASSWD},
	    {"timeout", required_argument, NULL, O_TIMEOUT}, {"max-connections", required_argument, NULL, O_CONNS},
	    {"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct read_opts ro;
	struct serve_opts so;
	struct ferr e = {0, ""};
	uint64_t u;
	int c, rc = FX_OK;

	memset(&ro, 0, sizeof(ro));
	memset(&so, 0, sizeof(so));
	ro.now = (int64_t)time(NULL);
	so.listen = SERVE_LISTEN_DEFAULT;
	so.prefix = "";
	so.timeout = SERVE_TIMEOUT_DEFAULT;
	so.max_connections = SERVE_CONNECTIONS_DEFAULT;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (c) {
		case O_KEYRING: ro.keyring = optarg; break;
		case O_FPR:
			if (!pgp_fpr_valid(optarg)) {
				rc = serve_usage("--fingerprint '%s': give the full 40-digit fingerprint", ESC(optarg));
				goto end;
			}
			ro.fingerprints = xreallocarray(ro.fingerprints, ro.nfingerprints + 1, sizeof(char *));
			ro.fingerprints[ro.nfingerprints++] = optarg;
			break;
		case O_UNSIGNED: ro.allow_unsigned = 1; break;
		case O_LISTEN: so.listen = optarg; break;
		case O_PREFIX: so.prefix = optarg; break;
		case O_CERT: so.tls_cert = optarg; break;
		case O_KEY: so.tls_key = optarg; break;
		case O_HTPASSWD: so.htpasswd = optarg; break;
		case O_TIMEOUT:
		case O_CONNS:
			if (parse_u64(optarg, &u) != 0 || u > SERVE_CONNECTIONS_MAX) {
				rc = serve_usage("%s '%s': not a number in range", argv[optind - 1], ESC(optarg));
				goto end;
			}
			if (c == O_TIMEOUT)
				so.timeout = (unsigned)u;
			else
				so.max_connections = (unsigned)u;
			break;
		case 'q': so.quiet = 1; break;
		case 'h':
			fputs(usage_serve, stdout);
			goto end;
		default:
			rc = serve_usage("unknown option or missing argument: %s", ESC(argv[optind - 1]));
			goto end;
		}
	}
	if (optind >= argc) {
		rc = serve_usage("no BUNDLE given");
		goto end;
	}
	if (ro.keyring == NULL && !ro.allow_unsigned) {
		rc = serve_usage("--keyring KEYS.asc is required (the keys you trust)");
		goto end;
	}
	if (ro.nfingerprints > 0 && ro.keyring == NULL) {
		rc = serve_usage("--fingerprint needs --keyring");
		goto end;
	}
	if (serve_check_opts(&so, &e) != FX_OK) {
		rc = serve_usage("%s", e.msg);
		goto end;
	}
	if (ro.allow_unsigned && ro.keyring == NULL && !so.quiet)
		fx_warn("--allow-unsigned without --keyring: no signature is checked; only the checksums are");
	if (so.tls_cert == NULL && strncmp(so.listen, "127.", 4) != 0 && strncmp(so.listen, "[::1]:", 6) != 0)
		fx_warn("serve: %s is not a loopback address and there is no --tls-cert: plain HTTP%s",
		    ESC(so.listen), so.htpasswd ? ", passwords in clear" : "");
	serve_run(argv + optind, (size_t)(argc - optind), &ro, &so, &e);
	rc = fe_report(&e);
end:
	free(ro.fingerprints);
	return rc;
}
