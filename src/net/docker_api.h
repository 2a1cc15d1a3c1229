/* docker_api.h - a Docker Engine HTTP API client on http.c: endpoints (unix socket or
 * tcp), ping and API version negotiation, streamed POST /images/load and GET
 * /images/get, and the parsers of what the daemon answers (untrusted: unit-tested and
 * fuzzed). No `docker` program is ever run. */
#ifndef FERRY_DOCKER_API_H
#define FERRY_DOCKER_API_H

#include <stddef.h>

#include "util/util.h"

#define DOCKER_DEFAULT_SOCK "/var/run/docker.sock"
/* The API version ferry speaks (Docker 20.10); a newer daemon is asked for this one. */
#define DOCKER_API_MAX "1.41"
/* Older than this lacks what ferry needs (images/load with quiet, platform in /version). */
#define DOCKER_API_MIN "1.24"
/* Kept of a daemon reply (messages, errors); more is read and dropped. */
#define DOCKER_REPLY_MAX ((size_t)1 << 20)

/* Where a daemon listens. */
struct docker_endpoint {
	char *unix_path; /* a unix socket, or NULL */
	char *base;      /* "http://docker" for a socket, "http://HOST:PORT" for tcp */
	char *label;     /* "unix:///run/docker.sock" or "tcp://127.0.0.1:2375", for messages */
	long timeout;    /* seconds a request may take (for images/load: the answer, once the
	                    archive is sent; images/get has none); 0: HTTP_TIMEOUT_DEFAULT.
	                    Set by the caller after docker_endpoint_parse. */
};

/* Parses a daemon address: "" or NULL (then $DOCKER_HOST, else the default socket),
 * "unix:///path.sock", "/path.sock", "tcp://HOST:PORT". FX_USAGE with e set if bad. */
int docker_endpoint_parse(const char *addr, struct docker_endpoint *ep, struct ferr *e);
void docker_endpoint_free(struct docker_endpoint *ep);

/* What /version says, checked: printable tokens only. */
struct docker_version {
	char api[16];     /* ApiVersion, "1.41" */
	char min_api[16]; /* MinAPIVersion, may be "" */
	char os[32];      /* "linux" */
	char arch[32];    /* "amd64" */
	char version[64]; /* engine version, "20.10.24", may be "" */
};
/* 0 ok, -1 malformed (not an object, ApiVersion/Os/Arch missing or not a plain token). */
int docker_parse_version(const char *buf, size_t len, struct docker_version *v);
/* Compares two API versions "MAJOR.MINOR": <0, 0, >0; an unparseable one sorts lowest. */
int docker_api_cmp(const char *a, const char *b);

/* The JSON message stream of /images/load (a sequence of JSON objects). */
struct docker_msgs {
	char **loaded;   /* "ferry.test/app-a:1" from {"stream":"Loaded image: ...\n"}, or
	                    "sha256:..." from "Loaded image ID: ..." */
	size_t nloaded;
	char *error;     /* the first {"error": ...} / {"errorDetail":{"message":...}}, or NULL */
	size_t nmsgs;
};
/* 0 ok (m->error may be set: the daemon reported a failure), -1 when the stream is not a
 * sequence of JSON objects. Strings are kept raw: escape them before printing. */
int docker_parse_messages(const char *buf, size_t len, struct docker_msgs *m);
void docker_msgs_free(struct docker_msgs *m);
/* The message of an error reply ({"message": "..."}), malloc'd, or NULL. */
char *docker_parse_error(const char *buf, size_t len);
/* The "Id" of a GET /images/NAME/json reply when it is "sha256:<64 hex>", malloc'd, or NULL. */
char *docker_parse_image_id(const char *buf, size_t len);

/* A connected daemon: pinged, version negotiated. */
struct docker_client;

/* Pings the daemon and reads /version. FX_TARGET with e naming the endpoint when it
 * does not answer or speaks an API older than DOCKER_API_MIN. */
int docker_connect(const struct docker_endpoint *ep, struct docker_client **c, struct ferr *e);
const struct docker_version *docker_client_version(const struct docker_client *c);
/* The API version in use ("1.41"). */
const char *docker_client_api(const struct docker_client *c);
const char *docker_client_label(const struct docker_client *c);
void docker_client_free(struct docker_client *c);

/* A GET whose reply is small JSON: FX_OK with the HTTP status and the body (malloc'd,
 * NUL-terminated, capped at DOCKER_REPLY_MAX), else FX_TARGET. path starts with "/". */
int docker_get_json(struct docker_client *c, const char *path, long *status, char **body,
    size_t *len, struct ferr *e);

/* ---- POST /images/load, streamed ----
 * The request body is whatever docker_upload_write is given, sent with chunked
 * encoding while it is written; memory stays bounded (a socket pair buffer). */
struct docker_upload;
int docker_load_begin(struct docker_client *c, struct docker_upload **u, struct ferr *e);
/* FX_TARGET when the daemon stopped reading (its reply then says why: see end). */
int docker_upload_write(struct docker_upload *u, const void *buf, size_t n, struct ferr *e);
/* abort = 0: ends the body and waits for the reply, parsed into m; FX_OK only when the
 * daemon answered 200 and reported no error. abort = 1: the transfer is cut off without
 * ending the body (the daemon sees a broken request and commits nothing); returns FX_OK.
 * Frees u. */
int docker_load_end(struct docker_upload *u, int abort, struct docker_msgs *m, struct ferr *e);

/* ---- GET /images/get?names=REF, streamed ----
 * *fd reads the docker-save tar as the daemon sends it. After reading (or giving up),
 * docker_get_end closes *fd, waits for the transfer and reports a daemon error. */
struct docker_download;
int docker_get_begin(struct docker_client *c, const char *ref, int *fd, struct docker_download **d,
    struct ferr *e);
int docker_get_end(struct docker_download *d, struct ferr *e);

/* Splits a pack-side source "docker-daemon:REF" or "docker-daemon://SOCK/REF" (SOCK an
 * existing socket path, or unix://PATH) into a daemon address for docker_endpoint_parse
 * ("" for the default) and the reference. Malloc'd; FX_USAGE when malformed. */
int docker_daemon_source_split(const char *from, char **addr, char **ref, struct ferr *e);

#endif
