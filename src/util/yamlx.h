/* yamlx.h - a loaded YAML document (libyaml) with the checks ferry's readers share:
 * size cap, no aliases, positions "file:line:col" for every error. */
#ifndef FERRY_YAMLX_H
#define FERRY_YAMLX_H

#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "util/util.h"

struct ydoc {
	yaml_document_t doc;
	int loaded;
	const char *file; /* name used in messages */
	int code;         /* FX_* used for schema errors */
};

/* Loads one document; code is the exit code for problems in it (FX_USAGE for a spec,
 * FX_VERIFY for bundle.yaml). An empty document is an error. */
int ydoc_load(struct ydoc *d, const char *buf, size_t len, const char *file, int code, struct ferr *e);
void ydoc_free(struct ydoc *d);
yaml_node_t *ydoc_root(struct ydoc *d);
/* "file:line:col" of a node (the file name escaped), written into buf. */
const char *ydoc_where_buf(const struct ydoc *d, const yaml_node_t *n, char *buf, size_t size);
/* The same in a buffer of the calling block, as ESC() does: no shared state, so any
 * thread may use it; never return it. */
#define YDOC_WHERE_MAX 1200
#define ydoc_where(d, n) ydoc_where_buf((d), (n), (char[YDOC_WHERE_MAX]){0}, YDOC_WHERE_MAX)

/* Schema helpers: each sets e with the node's position on a mismatch. */
int ymap_check(struct ydoc *d, yaml_node_t *n, const char *what, const char *const *allowed, struct ferr *e);
yaml_node_t *ymap_get(struct ydoc *d, yaml_node_t *map, const char *key);
/* The scalar value of map[key]: NULL if absent; error if present but not a scalar. */
int ymap_str(struct ydoc *d, yaml_node_t *map, const char *key, int required, char **out, struct ferr *e);
int ymap_u64(struct ydoc *d, yaml_node_t *map, const char *key, int required, uint64_t *out, int *present, struct ferr *e);
/* Items of map[key] that must be a sequence (absent: n = 0). */
int ymap_seq(struct ydoc *d, yaml_node_t *map, const char *key, yaml_node_item_t **items, size_t *n, struct ferr *e);
/* A sequence of strings into a malloc'd array. */
int ynode_strv(struct ydoc *d, yaml_node_t *n, const char *what, char ***out, size_t *count, struct ferr *e);
const char *yscalar(yaml_node_t *n); /* NUL-terminated value, or NULL if not a scalar */

/* 1 when v can be written as a plain scalar that every YAML reader takes back as the
 * same string (no other type, no indicator); colon_ok: ':' may appear inside it (not
 * first or last; never followed by a space, since spaces are not allowed at all). */
int yplain_safe(const char *v, int colon_ok);

/* Emitter helpers for a writer (libyaml event API). */
struct yout {
	yaml_emitter_t em;
	char *buf;
	size_t len, cap;
	int failed;
};
void yout_begin(struct yout *y);
void yout_map_start(struct yout *y, int flow);
void yout_map_end(struct yout *y);
void yout_seq_start(struct yout *y, int flow);
void yout_seq_end(struct yout *y);
void yout_key(struct yout *y, const char *k); /* plain key */
void yout_str(struct yout *y, const char *v); /* quoted string when needed */
void yout_u64(struct yout *y, uint64_t v);
void yout_i64(struct yout *y, int64_t v);
void yout_kv(struct yout *y, const char *k, const char *v); /* skipped when v is NULL */
int yout_end(struct yout *y, char **out, size_t *len, struct ferr *e);

#endif
