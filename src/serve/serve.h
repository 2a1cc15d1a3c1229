/* serve.h - `ferry-load serve`: verified bundles answered as a read-only OCI
 * distribution registry, straight from the bundle files (docs/loading.md, "serve"). */
#ifndef FERRY_SERVE_H
#define FERRY_SERVE_H

#include <stddef.h>

#include "bundle/bundle.h"
#include "util/util.h"

#define SERVE_LISTEN_DEFAULT "127.0.0.1:5000"
#define SERVE_TIMEOUT_DEFAULT 30u          /* seconds without progress on a connection */
#define SERVE_CONNECTIONS_DEFAULT 1000u
#define SERVE_CONNECTIONS_MAX 100000u

struct serve_opts {
	const char *listen;       /* ADDRESS:PORT; [v6]:PORT */
	const char *tls_cert;     /* PEM certificate (chain) and its key: HTTPS */
	const char *tls_key;
	const char *htpasswd;     /* bcrypt users: Basic authentication on every request */
	const char *prefix;       /* "" or "a/b": put in front of every repository name */
	unsigned timeout;         /* seconds a connection may make no progress */
	unsigned max_connections; /* open connections at once */
	int quiet;                /* no per-request log line, no start-up summary */
};

/* Checks listen and prefix (before any work): FX_USAGE with e set when bad. */
int serve_check_opts(const struct serve_opts *so, struct ferr *e);

/* Verifies every bundle (ro: the keys, as `verify`), then serves them until SIGTERM,
 * SIGINT or SIGHUP. Returns FX_OK after a clean stop, FX_VERIFY when a bundle did not
 * verify, FX_USAGE for a bundle that cannot be served as it is (zstd, split, clashing
 * tags) and FX_IO when something cannot be read or the address not bound; nothing is
 * served then. */
int serve_run(char **bundles, size_t nbundles, const struct read_opts *ro, const struct serve_opts *so,
    struct ferr *e);

#endif
