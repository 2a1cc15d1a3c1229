/* serve_int.h - the parts of `ferry-load serve`, between themselves:
 *   serve_index.c  verifies the bundles once and builds the index (blobs by digest,
 *                  repositories, tags), recording where every blob lies;
 *   serve_sigs.c   an image's cosign signatures in that index: the .sig tag, referrers;
 *   serve_blob.c   reads a blob back by position, block by block, each block checked;
 *   serve_req.c    parsers of what a client sends (untrusted: unit-tested and fuzzed);
 *   serve_auth.c   htpasswd (bcrypt) users;
 *   serve_http.c   the libmicrohttpd server and the distribution API's answers. */
#ifndef FERRY_SERVE_INT_H
#define FERRY_SERVE_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "bundle/bundle.h"
#include "net/repo_name.h"
#include "util/digest.h"
#include "util/util.h"

/* A blob is checked again as it is served in blocks of this size: each block's SHA-256
 * is recorded during the verify read, and a block is sent only once it matched. */
#define SERVE_BLOCK ((uint64_t)1 << 20)
#define SERVE_MANIFEST_MAX (4u << 20)  /* the largest manifest or index kept in memory */
#define SERVE_MANIFESTS_MAX (256u << 20) /* all of them together */

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

/* ---- serve_index.c */

/* A bundle file as the verify read saw it. Its blobs are read through fd; a file whose
 * size, mtime or inode differs later has changed under the server. */
struct serve_file {
	char *path;
	int fd;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	atomic_int changed;       /* set once a change was seen; never cleared */
	atomic_int warned;        /* the change was logged */
};

struct serve_blob {
	unsigned char digest[SHA256_LEN];
	char name[DIGEST_STR];    /* "sha256:<hex>" */
	struct serve_file *file;
	uint64_t off, size;       /* where its bytes lie in the file */
	unsigned char (*blocks)[SHA256_LEN]; /* SHA-256 of each SERVE_BLOCK of it */
	size_t nblocks;
	/* manifests and indexes: their verified bytes (served from memory), media type and,
	 * for an index, its linux/amd64 manifest (NULL: none) */
	unsigned char *bytes;
	char *media_type;
	struct serve_blob *amd64;
	/* a manifest with a `subject` (an OCI 1.1 referrer, e.g. a sigstore bundle): the
	 * digest it refers to, and its descriptor in a referrers index (compact JSON) with
	 * the artifactType it is filtered by */
	int has_subject;
	unsigned char subject[SHA256_LEN];
	char *artifact_type;
	char *referrer;
	atomic_int bad;           /* a block did not match: never served again */
};

struct serve_tag {
	char name[REPO_TAG_MAX];
	struct serve_blob *manifest;
};

struct serve_repo {
	char name[REPO_NAME_MAX];
	struct serve_tag *tags;   /* sorted by name */
	size_t ntags;
	struct serve_blob **blobs; /* sorted by digest: every blob and manifest of its images */
	size_t nblobs;
};

struct serve_index {
	struct serve_file *files;
	size_t nfiles;
	struct serve_blob *blobs; /* sorted by digest, each once */
	size_t nblobs;
	struct serve_repo *repos; /* sorted by name */
	size_t nrepos;
	size_t nimages;
	uint64_t bytes;           /* of the blobs */
};

/* Verifies each bundle in one read (as `verify`) and indexes what it holds. A bundle
 * that does not verify, or cannot be served by position (zstd, split), stops it all. */
int serve_index_build(struct serve_index *ix, char **bundles, size_t n, const struct read_opts *ro,
    const char *prefix, int quiet, struct ferr *e);
void serve_index_free(struct serve_index *ix);
const struct serve_repo *serve_find_repo(const struct serve_index *ix, const char *name);
struct serve_blob *serve_index_blob(const struct serve_index *ix, const unsigned char digest[SHA256_LEN]);
struct serve_blob *serve_repo_blob(const struct serve_repo *r, const unsigned char digest[SHA256_LEN]);
struct serve_blob *serve_repo_tag(const struct serve_repo *r, const char *tag);
/* ---- serve_sigs.c */

struct json_t;
/* A manifest (doc: its JSON, b->media_type set) that names a subject is a referrer:
 * records its subject, artifactType and descriptor in b. */
void serve_describe_referrer(struct serve_blob *b, struct json_t *doc);
/* An image's signatures into its repository r: their blobs and manifests, the legacy
 * one under the tag sha256-<hex>.sig. FX_VERIFY when the bundle lacks one they list. */
int serve_add_signatures(struct serve_index *ix, struct serve_repo *r, const struct man_image *mi, const char *path,
    struct ferr *e);
/* The referrers of subject in r: the manifests of r whose `subject` is it, sorted by
 * digest (a NULL-terminated array to free; with artifact_type non-NULL only those of
 * that artifactType). */
struct serve_blob **serve_repo_referrers(const struct serve_repo *r, const unsigned char subject[SHA256_LEN],
    const char *artifact_type);

/* ---- serve_blob.c */

/* 1 when f is as the verify read saw it (size, mtime, device and inode of the path);
 * else marks it changed, says why in why, and returns 0. */
int serve_file_unchanged(struct serve_file *f, char *why, size_t whysize);
/* Reads block k of b (SERVE_BLOCK bytes, less for the last) into buf and checks it
 * against its recorded SHA-256. 0 ok with *len set; -1 with why set (the blob is then
 * marked bad). */
int serve_read_block(struct serve_blob *b, uint64_t k, unsigned char *buf, size_t *len, const char **why);

/* ---- serve_req.c */

enum serve_route_kind {
	ROUTE_NONE,     /* not part of the API */
	ROUTE_BASE,     /* /v2/ */
	ROUTE_CATALOG,  /* /v2/_catalog */
	ROUTE_TAGS,     /* /v2/NAME/tags/list */
	ROUTE_MANIFEST, /* /v2/NAME/manifests/REF */
	ROUTE_BLOB,     /* /v2/NAME/blobs/DIGEST */
	ROUTE_REFERRERS, /* /v2/NAME/referrers/DIGEST (OCI 1.1) */
	ROUTE_UPLOAD    /* /v2/NAME/blobs/uploads/... (push: unsupported) */
};

struct serve_route {
	enum serve_route_kind kind;
	int name_ok;              /* name follows the distribution grammar */
	char name[REPO_NAME_MAX];
	char ref[REPO_TAG_MAX];   /* a tag (128 at most) or a digest; "" when too long */
};

/* Splits a request path (already unescaped) into its route. */
void serve_parse_route(const char *path, struct serve_route *r);

enum serve_ref_kind { REF_TAG, REF_DIGEST, REF_BAD_DIGEST, REF_BAD };
enum serve_ref_kind serve_ref_kind(const char *ref);

/* Decodes %HH in place, as libmicrohttpd's unescape callback: a %00 or a malformed
 * escape is left as it is (so a name holding it fails the grammar). Returns the new
 * length. */
size_t serve_unescape(char *s);

/* A Range header against a blob of size bytes: 1 with [*first, *last] to send (206);
 * 0 when the header is to be ignored (absent, malformed, several ranges: send it all);
 * -1 when it cannot be satisfied (416). */
int serve_parse_range(const char *v, uint64_t size, uint64_t *first, uint64_t *last);

/* 1 when one of the Accept header values accepts media_type (exactly, type/<any> or
 * any/any, without q=0). */
int serve_accepts(const char *const *accept, size_t naccept, const char *media_type);

/* The n of a paginated list: 0 ok (capped at max), -1 not a number. */
int serve_parse_n(const char *v, size_t max, size_t *n);

/* A media type ferry will put in a Content-Type header: type/subtype of RFC 6838
 * characters, nothing else. */
int serve_media_type_valid(const char *mt);

/* ---- serve_auth.c */

struct serve_users;

/* Parses an htpasswd file: USER:HASH lines with bcrypt hashes ($2y$ or $2b$, as
 * `htpasswd -B` writes them); anything else is refused, naming the line. */
int serve_users_parse(const char *text, size_t len, const char *shown, struct serve_users **u, struct ferr *e);
int serve_users_load(const char *path, struct serve_users **u, struct ferr *e);
/* 1 when user and password match a line. Every line's name is compared and bcrypt
 * always runs, so the time taken does not tell whether the user exists. */
int serve_users_check(const struct serve_users *u, const char *user, const char *password);
size_t serve_users_count(const struct serve_users *u);
void serve_users_free(struct serve_users *u);

#endif
