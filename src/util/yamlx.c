/* yamlx.c - shared YAML reading (document API) and writing (event API) on libyaml. */
#include "util/yamlx.h"

#include <stdlib.h>
#include <string.h>

#define YAML_MAX (16u << 20)

/* libyaml resolves aliases to shared nodes; a document built from them can be
 * exponentially large to walk, so they are refused before loading. */
static int scan_events(const char *buf, size_t len, const char *file, int code, struct ferr *e)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int rc = FX_OK, depth = 0;

	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	for (;;) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = fe_set(e, code, "%s:%zu:%zu: %s", ESC(file), p.problem_mark.line + 1,
			    p.problem_mark.column + 1, p.problem ? p.problem : "YAML syntax error");
			break;
		}
		if (ev.type == YAML_ALIAS_EVENT) {
			rc = fe_set(e, code, "%s:%zu:%zu: YAML aliases are not allowed", ESC(file),
			    ev.start_mark.line + 1, ev.start_mark.column + 1);
		} else if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
			if (++depth > 32)
				rc = fe_set(e, code, "%s:%zu:%zu: nested too deeply", ESC(file),
				    ev.start_mark.line + 1, ev.start_mark.column + 1);
		} else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
			depth--;
		}
		if (ev.type == YAML_STREAM_END_EVENT || rc != FX_OK) {
			yaml_event_delete(&ev);
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}

int ydoc_load(struct ydoc *d, const char *buf, size_t len, const char *file, int code, struct ferr *e)
{
	yaml_parser_t p;
	yaml_document_t extra;
	int rc;

	memset(d, 0, sizeof(*d));
	d->file = file;
	d->code = code;
	if (len > YAML_MAX)
		return fe_set(e, code, "%s: larger than %u bytes", ESC(file), YAML_MAX);
	if (memchr(buf, '\0', len) != NULL)
		return fe_set(e, code, "%s: NUL byte in YAML", ESC(file));
	if ((rc = scan_events(buf, len, file, code, e)) != FX_OK)
		return rc;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&p, &d->doc)) {
		rc = fe_set(e, code, "%s:%zu:%zu: %s", ESC(file), p.problem_mark.line + 1,
		    p.problem_mark.column + 1, p.problem ? p.problem : "YAML error");
		yaml_parser_delete(&p);
		return rc;
	}
	d->loaded = 1;
	if (yaml_document_get_root_node(&d->doc) == NULL) {
		yaml_parser_delete(&p);
		return fe_set(e, code, "%s: empty document", ESC(file));
	}
	if (yaml_parser_load(&p, &extra)) {
		int more = yaml_document_get_root_node(&extra) != NULL;
		yaml_document_delete(&extra);
		if (more) {
			yaml_parser_delete(&p);
			return fe_set(e, code, "%s: more than one YAML document", ESC(file));
		}
	}
	yaml_parser_delete(&p);
	return FX_OK;
}

void ydoc_free(struct ydoc *d)
{
	if (d->loaded)
		yaml_document_delete(&d->doc);
	d->loaded = 0;
}

yaml_node_t *ydoc_root(struct ydoc *d)
{
	return d->loaded ? yaml_document_get_root_node(&d->doc) : NULL;
}

const char *ydoc_where_buf(const struct ydoc *d, const yaml_node_t *n, char *buf, size_t size)
{
	snprintf(buf, size, "%s:%zu:%zu", ESC(d->file), n->start_mark.line + 1, n->start_mark.column + 1);
	return buf;
}

const char *yscalar(yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

static yaml_node_t *node(struct ydoc *d, int id)
{
	return yaml_document_get_node(&d->doc, id);
}

int ymap_check(struct ydoc *d, yaml_node_t *n, const char *what, const char *const *allowed, struct ferr *e)
{
	yaml_node_pair_t *p, *q;

	if (n == NULL || n->type != YAML_MAPPING_NODE)
		return fe_set(e, d->code, "%s: %s must be a mapping", n ? ydoc_where(d, n) : ESC(d->file), what);
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(d, p->key);
		const char *ks = yscalar(k);
		size_t i;
		int ok = 0;

		if (ks == NULL)
			return fe_set(e, d->code, "%s: %s: keys must be plain strings", ydoc_where(d, k), what);
		for (q = n->data.mapping.pairs.start; q < p; q++) {
			const char *prev = yscalar(node(d, q->key));
			if (prev != NULL && strcmp(prev, ks) == 0)
				return fe_set(e, d->code, "%s: %s: key '%s' given twice", ydoc_where(d, k), what, ESC(ks));
		}
		if (allowed == NULL)
			continue;
		for (i = 0; allowed[i] != NULL && !ok; i++)
			ok = strcmp(allowed[i], ks) == 0;
		if (!ok)
			return fe_set(e, d->code, "%s: %s: unknown key '%s'", ydoc_where(d, k), what, ESC(ks));
	}
	return FX_OK;
}

yaml_node_t *ymap_get(struct ydoc *d, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const char *ks = yscalar(node(d, p->key));
		if (ks != NULL && strcmp(ks, key) == 0)
			return node(d, p->value);
	}
	return NULL;
}

int ymap_str(struct ydoc *d, yaml_node_t *map, const char *key, int required, char **out, struct ferr *e)
{
	yaml_node_t *v = ymap_get(d, map, key);
	const char *s;

	*out = NULL;
	if (v == NULL) {
		if (required)
			return fe_set(e, d->code, "%s: missing '%s'", ydoc_where(d, map), key);
		return FX_OK;
	}
	s = yscalar(v);
	if (s == NULL)
		return fe_set(e, d->code, "%s: '%s' must be a string", ydoc_where(d, v), key);
	if (v->data.scalar.length != strlen(s))
		return fe_set(e, d->code, "%s: '%s' holds a NUL byte", ydoc_where(d, v), key);
	if (required && *s == '\0')
		return fe_set(e, d->code, "%s: '%s' is empty", ydoc_where(d, v), key);
	*out = xstrdup(s);
	return FX_OK;
}

int ymap_u64(struct ydoc *d, yaml_node_t *map, const char *key, int required, uint64_t *out, int *present, struct ferr *e)
{
	yaml_node_t *v = ymap_get(d, map, key);
	const char *s;

	if (present != NULL)
		*present = v != NULL;
	if (v == NULL) {
		if (required)
			return fe_set(e, d->code, "%s: missing '%s'", ydoc_where(d, map), key);
		return FX_OK;
	}
	s = yscalar(v);
	if (s == NULL || v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || parse_u64(s, out) != 0)
		return fe_set(e, d->code, "%s: '%s' must be a non-negative integer", ydoc_where(d, v), key);
	return FX_OK;
}

int ymap_seq(struct ydoc *d, yaml_node_t *map, const char *key, yaml_node_item_t **items, size_t *n, struct ferr *e)
{
	yaml_node_t *v = ymap_get(d, map, key);

	*items = NULL;
	*n = 0;
	if (v == NULL)
		return FX_OK;
	if (v->type == YAML_SCALAR_NODE && (v->data.scalar.length == 0 || strcmp(yscalar(v), "~") == 0 ||
	    strcmp(yscalar(v), "null") == 0) && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		return FX_OK; /* "key:" with nothing: an empty list */
	if (v->type != YAML_SEQUENCE_NODE)
		return fe_set(e, d->code, "%s: '%s' must be a list", ydoc_where(d, v), key);
	*items = v->data.sequence.items.start;
	*n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	return FX_OK;
}

int ynode_strv(struct ydoc *d, yaml_node_t *n, const char *what, char ***out, size_t *count, struct ferr *e)
{
	yaml_node_item_t *it;
	size_t i = 0, total;

	*out = NULL;
	*count = 0;
	if (n == NULL)
		return FX_OK;
	if (n->type != YAML_SEQUENCE_NODE)
		return fe_set(e, d->code, "%s: '%s' must be a list of strings", ydoc_where(d, n), what);
	total = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	*out = xcalloc(total + 1, sizeof(char *));
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *v = node(d, *it);
		const char *s = yscalar(v);
		if (s == NULL || v->data.scalar.length != strlen(s)) {
			*count = i;
			return fe_set(e, d->code, "%s: '%s' must be a list of strings", ydoc_where(d, v), what);
		}
		(*out)[i++] = xstrdup(s);
	}
	*count = i;
	return FX_OK;
}

/* ---- writing ---- */

static int yout_write(void *data, unsigned char *buf, size_t size)
{
	struct yout *y = data;

	if (y->len + size + 1 > y->cap) {
		while (y->len + size + 1 > y->cap)
			y->cap = y->cap ? y->cap * 2 : 4096;
		y->buf = xrealloc(y->buf, y->cap);
	}
	memcpy(y->buf + y->len, buf, size);
	y->len += size;
	y->buf[y->len] = '\0';
	return 1;
}

static void emit(struct yout *y, yaml_event_t *ev, int ok)
{
	if (!ok || !yaml_emitter_emit(&y->em, ev))
		y->failed = 1;
}

void yout_begin(struct yout *y)
{
	yaml_event_t ev;

	memset(y, 0, sizeof(*y));
	yaml_emitter_initialize(&y->em);
	yaml_emitter_set_output(&y->em, yout_write, y);
	yaml_emitter_set_unicode(&y->em, 1);
	yaml_emitter_set_width(&y->em, -1);
	emit(y, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
	emit(y, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1));
}

void yout_map_start(struct yout *y, int flow)
{
	yaml_event_t ev;

	emit(y, &ev, yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
	    flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE));
}

void yout_map_end(struct yout *y)
{
	yaml_event_t ev;

	emit(y, &ev, yaml_mapping_end_event_initialize(&ev));
}

void yout_seq_start(struct yout *y, int flow)
{
	yaml_event_t ev;

	emit(y, &ev, yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
	    flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE));
}

void yout_seq_end(struct yout *y)
{
	yaml_event_t ev;

	emit(y, &ev, yaml_sequence_end_event_initialize(&ev));
}

static void scalar(struct yout *y, const char *v, yaml_scalar_style_t style)
{
	yaml_event_t ev;

	emit(y, &ev, yaml_scalar_event_initialize(&ev, NULL, NULL, (const yaml_char_t *)v,
	    (int)strlen(v), 1, 1, style));
}

int yplain_safe(const char *v, int colon_ok)
{
	const char *p;
	int digits_only = 1;

	if (*v == '\0')
		return 0;
	for (p = v; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '/' || *p == '+' || *p == '@' ||
		    (colon_ok && *p == ':' && p[1] != '\0')))
			return 0;
		if (!(*p >= '0' && *p <= '9') && *p != '.' && *p != ':')
			digits_only = 0;
	}
	if (digits_only || *v == '-' || *v == '.' || *v == '+' || *v == '@' || *v == ':')
		return 0;
	return strcasecmp(v, "true") != 0 && strcasecmp(v, "false") != 0 && strcasecmp(v, "yes") != 0 &&
	    strcasecmp(v, "no") != 0 && strcasecmp(v, "on") != 0 && strcasecmp(v, "off") != 0 &&
	    strcasecmp(v, "null") != 0 && strcmp(v, "y") != 0 && strcmp(v, "n") != 0 &&
	    strcasecmp(v, "nan") != 0 && strcasecmp(v, "inf") != 0;
}

void yout_key(struct yout *y, const char *k)
{
	scalar(y, k, YAML_PLAIN_SCALAR_STYLE);
}

void yout_str(struct yout *y, const char *v)
{
	scalar(y, v, yplain_safe(v, 0) ? YAML_PLAIN_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

void yout_u64(struct yout *y, uint64_t v)
{
	char b[32];

	snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
	scalar(y, b, YAML_PLAIN_SCALAR_STYLE);
}

void yout_i64(struct yout *y, int64_t v)
{
	char b[32];

	snprintf(b, sizeof(b), "%lld", (long long)v);
	scalar(y, b, YAML_PLAIN_SCALAR_STYLE);
}

void yout_kv(struct yout *y, const char *k, const char *v)
{
	if (v == NULL)
		return;
	yout_key(y, k);
	yout_str(y, v);
}

int yout_end(struct yout *y, char **out, size_t *len, struct ferr *e)
{
	yaml_event_t ev;
	int rc = FX_OK;

	emit(y, &ev, yaml_document_end_event_initialize(&ev, 1));
	emit(y, &ev, yaml_stream_end_event_initialize(&ev));
	yaml_emitter_flush(&y->em);
	if (y->failed) {
		rc = fe_set(e, FX_IO, "YAML output failed: %s", y->em.problem ? y->em.problem : "emitter error");
		free(y->buf);
	} else {
		*out = y->buf;
		*len = y->len;
	}
	yaml_emitter_delete(&y->em);
	y->buf = NULL;
	return rc;
}
