/* rewrite.h - `ferry-load rewrite`: points the image references of Docker Compose and
 * Helm values files at where an image map says the images landed, editing only those
 * scalars (docs/loading.md, "Rewriting deployment files"). */
#ifndef FERRY_REWRITE_H
#define FERRY_REWRITE_H

#include <stddef.h>

#include "cli/imagemap.h"
#include "net/ref.h"
#include "util/util.h"

#define RW_FILE_MAX (4u << 20) /* largest file rewritten */

/* One image of the chosen target, its references parsed and normalised. */
struct rw_entry {
	struct image_ref src, dst;
	const char *landed; /* the map's reference (owned by the map) */
	const char *digest;
};

struct rw_map {
	struct rw_entry *v;
	size_t n;
	const char *target;
	int pin_digest;
};

/* Takes the map's entries for target (NULL: the map must name exactly one target).
 * FX_USAGE when there are none, when the target cannot be named in a deployment file
 * (oci:), or when --pin-digest asks for a digest the target does not keep (docker://). */
int rw_map_init(struct rw_map *rm, const struct imap *m, const char *target, int pin_digest, struct ferr *e);
void rw_map_free(struct rw_map *rm);

/* A reference left as it was, and why. */
struct rw_note {
	size_t line;
	char *ref;       /* escaped for the terminal */
	const char *why;
};

struct rw_result {
	char *text;      /* the file as rewritten (NUL-terminated) */
	size_t len;
	size_t rewritten, unchanged; /* references changed; references already right */
	struct rw_note *notes;
	size_t nnotes;
};

/* Rewrites one file's text: a string under any key `image`, and a mapping under
 * `image` with repository (and registry, tag, digest). FX_OK, or FX_USAGE with e naming
 * file:line when the text is not one YAML mapping document ferry may edit (see
 * docs/loading.md for what is refused). */
int rw_text(const struct rw_map *rm, const char *file, const char *text, size_t len, struct rw_result *res,
    struct ferr *e);
void rw_result_free(struct rw_result *r);

/* The command line of `ferry-load rewrite FILE... --map MAP`, checked by the main. */
struct rewrite_opts {
	const char *map_path; /* --map */
	const char *target;   /* --target TARGET, or NULL */
	const char *out;      /* -o OUT, or NULL: stdout (one FILE) or --in-place */
	int pin_digest;       /* --pin-digest */
	int in_place;         /* --in-place */
	int strict;           /* --strict */
	int force;            /* --force: -o may replace OUT */
	int quiet;            /* --quiet */
	char **files;
	size_t nfiles;
};

/* The verb: every FILE rewritten in memory, then written only when all could be.
 * FX_OK; FX_VERIFY with --strict and a reference left alone; FX_USAGE for a map or a
 * file ferry will not edit; FX_IO. */
int rewrite_run(const struct rewrite_opts *c, struct ferr *e);

#endif
