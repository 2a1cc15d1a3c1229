/* rewrite.c - `ferry-load rewrite` (see rewrite.h).
 *
 * The file is read through libyaml's event parser only to learn where the image
 * scalars are (their marks) and what they hold; the output is the input with those
 * byte ranges replaced (util/yedit.c), so comments, order, quoting and indentation stay
 * as they were. Every file is rewritten in memory first: nothing is written unless all
 * of them could be (and, with --strict, unless every image reference was known). */
#include "cli/rewrite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "util/digest.h"
#include "util/file.h"
#include "util/yedit.h"

#define RW_DEPTH 64

/* ---- the map, for one target */

/* Docker's own spellings of Docker Hub, and host names in any case, compare equal
 * (ref_parse already puts docker.io's one-part names under library/). */
static void normalise(struct image_ref *r)
{
	size_t i;

	for (i = 0; r->domain[i] != '\0'; i++)
		if (r->domain[i] >= 'A' && r->domain[i] <= 'Z')
			r->domain[i] = (char)(r->domain[i] - 'A' + 'a');
	if (strcmp(r->domain, "registry-1.docker.io") == 0)
		fx_strlcpy(r->domain, "docker.io", sizeof(r->domain));
	/* docker.io/nginx is docker.io/library/nginx */
	if (strcmp(r->domain, "docker.io") == 0 && strchr(r->repo, '/') == NULL) {
		char repo[sizeof(r->repo)];

		if ((size_t)snprintf(repo, sizeof(repo), "library/%s", r->repo) < sizeof(repo))
			fx_strlcpy(r->repo, repo, sizeof(r->repo));
	}
}

/* A reference as deployment files write them: a tag is not required. */
static int parse_ref(const char *s, struct image_ref *r)
{
	struct ferr e = {0, ""};

	if (ref_parse_untagged(s, r, &e) != FX_OK)
		return -1;
	normalise(r);
	return 0;
}

static int pick_target(const struct imap *m, const char *target, const char **out, struct ferr *e)
{
	size_t i;

	*out = target;
	if (m->n == 0)
		return fe_set(e, FX_USAGE, "the image map lists no image");
	for (i = 0; target == NULL && i < m->n; i++)
		if (strcmp(m->v[i].target, m->v[0].target) != 0)
			return fe_set(e, FX_USAGE, "the image map names several targets (%s, %s, ...): choose one with --target",
			    ESC(m->v[0].target), ESC(m->v[i].target));
	if (target == NULL)
		*out = m->v[0].target;
	for (i = 0; i < m->n; i++)
		if (strcmp(m->v[i].target, *out) == 0)
			return FX_OK;
	return fe_set(e, FX_USAGE, "--target %s: the image map has no image for it", ESC(target));
}

int rw_map_init(struct rw_map *rm, const struct imap *m, const char *target, int pin_digest, struct ferr *e)
{
	size_t i, j;
	int rc;

	memset(rm, 0, sizeof(*rm));
	rm->pin_digest = pin_digest;
	if ((rc = pick_target(m, target, &rm->target, e)) != FX_OK)
		return rc;
	switch (imap_kind_of(rm->target)) {
	case IMAP_OCI:
		return fe_set(e, FX_USAGE, "%s: an OCI layout is not named by a reference a deployment can pull: "
		    "choose a registry:// or docker:// target", ESC(rm->target));
	case IMAP_DOCKER:
		if (pin_digest)
			return fe_set(e, FX_USAGE, "--pin-digest: images loaded into %s have no registry digest a "
			    "deployment can pull by; leave out --pin-digest or choose a registry:// target",
			    ESC(rm->target));
		break;
	default:
		break;
	}
	rm->v = xcalloc(m->n, sizeof(*rm->v));
	for (i = 0; i < m->n; i++) {
		struct rw_entry *en = &rm->v[rm->n];

		if (strcmp(m->v[i].target, rm->target) != 0)
			continue;
		if (parse_ref(m->v[i].source, &en->src) != 0 || parse_ref(m->v[i].reference, &en->dst) != 0 ||
		    !digest_valid(m->v[i].digest)) {
			rc = fe_set(e, FX_USAGE, "the image map's entry for %s is not valid", ESC(m->v[i].source));
			goto fail;
		}
		en->landed = m->v[i].reference;
		en->digest = m->v[i].digest;
		for (j = 0; j < rm->n; j++)
			if (strcmp(rm->v[j].src.domain, en->src.domain) == 0 && strcmp(rm->v[j].src.repo, en->src.repo) == 0 &&
			    strcmp(rm->v[j].src.tag, en->src.tag) == 0 && strcmp(rm->v[j].src.digest, en->src.digest) == 0) {
				rc = fe_set(e, FX_USAGE, "the image map names one image twice for %s: %s", ESC(rm->target),
				    ESC(m->v[i].source));
				goto fail;
			}
		rm->n++;
	}
	return FX_OK;
fail:
	rw_map_free(rm);
	return rc;
}

void rw_map_free(struct rw_map *rm)
{
	free(rm->v);
	rm->v = NULL;
	rm->n = 0;
}

static int same_name(const struct image_ref *a, const struct image_ref *b)
{
	return strcmp(a->domain, b->domain) == 0 && strcmp(a->repo, b->repo) == 0;
}

/* Does side (an entry's source or landed reference) name what f names? With a tag the
 * tags must match; a reference by digest alone matches by the entry's digest. A digest
 * in f must be the entry's: *pinned_elsewhere says that was the only difference. */
static int side_matches(const struct image_ref *f, const struct image_ref *side, const char *digest,
    int *pinned_elsewhere)
{
	if (!same_name(f, side))
		return 0;
	if (f->tag[0] != '\0' && strcmp(f->tag, side->tag) != 0)
		return 0;
	if (f->digest[0] != '\0' && strcmp(f->digest, digest) != 0) {
		*pinned_elsewhere = 1;
		return 0;
	}
	return f->tag[0] != '\0' || f->digest[0] != '\0';
}

/* The k-th entry that names f: those whose landed reference it is first (a second run
 * then changes nothing), then those whose bundle reference it is. NULL past the last,
 * with *why when there was none at all. */
static const struct rw_entry *match_at(const struct rw_map *rm, const struct image_ref *f, size_t k, const char **why)
{
	int pinned_elsewhere = 0, side;
	size_t i, seen = 0;

	for (side = 1; side >= 0; side--)
		for (i = 0; i < rm->n; i++)
			if (side_matches(f, side ? &rm->v[i].dst : &rm->v[i].src, rm->v[i].digest, &pinned_elsewhere) &&
			    seen++ == k)
				return &rm->v[i];
	if (seen == 0)
		*why = pinned_elsewhere ? "pinned to another digest than the bundle's image" : "not in the image map";
	return NULL;
}

/* The landed reference without its tag and digest; *tag gets its tag ("" for none). */
static char *landed_name(const struct rw_entry *en, const char **tag)
{
	char *name = xstrdup(en->landed);
	size_t at = strcspn(name, "@");
	char *slash, *colon;

	name[at] = '\0';
	slash = strrchr(name, '/');
	colon = strrchr(name, ':');
	*tag = en->dst.tag;
	if (colon != NULL && (slash == NULL || colon > slash))
		*colon = '\0';
	return name;
}

/* What a string reference f becomes: the landed reference, with the digest when asked
 * for or when f was pinned already. */
static char *new_reference(const struct rw_map *rm, const struct rw_entry *en, const struct image_ref *f)
{
	const char *tag;
	char *name = landed_name(en, &tag), *out;
	int pin = rm->pin_digest || f->digest[0] != '\0';

	if (tag[0] == '\0')
		out = xasprintf("%s@%s", name, en->digest);
	else if (pin)
		out = xasprintf("%s:%s@%s", name, tag, en->digest);
	else
		out = xasprintf("%s:%s", name, tag);
	free(name);
	return out;
}

/* ---- walking the events */

enum { F_REGISTRY, F_REPOSITORY, F_TAG, F_DIGEST, F_COUNT };
static const char *const field_names[F_COUNT] = {"registry", "repository", "tag", "digest"};

struct field {
	int set;
	char *value;
	size_t len;     /* of value, which may hold a NUL from an escape */
	size_t start, end, line;
	yaml_scalar_style_t style;
	int tagged;
};

struct frame {
	int is_map, want_key, is_key_node;
	char key[16];       /* the current key when it is one that matters, else "" */
	int anchored;       /* this node or one around it has an anchor */
	size_t anchor_line;
	int split;          /* a mapping under the key image */
	size_t line;
	struct field f[F_COUNT];
};

struct walk {
	const struct rw_map *rm;
	const char *file;
	struct yedit_cursor cur;
	struct yedit_list edits;
	struct rw_result *res;
	struct frame st[RW_DEPTH];
	size_t depth;
	int docs, root_seen;
};

static void note(struct walk *w, size_t line, const char *ref, const char *why)
{
	struct rw_result *r = w->res;

	r->notes = xreallocarray(r->notes, r->nnotes + 1, sizeof(*r->notes));
	r->notes[r->nnotes].line = line;
	r->notes[r->nnotes].ref = xstrdup(ESC(ref));
	r->notes[r->nnotes].why = why;
	r->nnotes++;
}

/* A reference is printable ASCII; YAML escapes can still put any character into a
 * quoted scalar. Control characters, bidi overrides and broken UTF-8 are refused
 * outright (they are how a reference is made to look like another); other non-ASCII
 * text is only "not an image reference". */
static int check_value(struct walk *w, size_t line, const char *v, size_t len, struct ferr *e)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t i = 0, n;

	if (strlen(v) != len)
		return fe_set(e, FX_USAGE, "%s:%zu: image reference holds a NUL character", ESC(w->file), line);
	while (i < len) {
		if (p[i] < 0x80) {
			if (p[i] < 0x20 || p[i] == 0x7f)
				return fe_set(e, FX_USAGE, "%s:%zu: image reference holds control character 0x%02x", ESC(w->file),
				    line, p[i]);
			i++;
			continue;
		}
		n = fx_utf8_len(p + i);
		if (n == 0 || (n == 3 && fx_bidi_control(p + i)) || (n == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0))
			return fe_set(e, FX_USAGE, "%s:%zu: image reference holds a control or bidi character (%s)",
			    ESC(w->file), line, ESC(v));
		i += n;
	}
	return FX_OK;
}

/* A scalar that is to be edited must be one ferry can replace by itself alone. */
static int check_editable(struct walk *w, const struct frame *fr, size_t line, yaml_scalar_style_t style, int tagged,
    int anchored, struct ferr *e)
{
	if (anchored || (fr != NULL && fr->anchored))
		return fe_set(e, FX_USAGE, "%s:%zu: image reference inside an anchor (line %zu): an edit would change "
		    "every alias of it; write the reference out where it is used", ESC(w->file), line,
		    anchored ? line : fr->anchor_line);
	if (tagged)
		return fe_set(e, FX_USAGE, "%s:%zu: image reference with an explicit YAML tag: not rewritten", ESC(w->file),
		    line);
	if (style == YAML_LITERAL_SCALAR_STYLE || style == YAML_FOLDED_SCALAR_STYLE)
		return fe_set(e, FX_USAGE, "%s:%zu: image reference in a block scalar (| or >): write it on one line",
		    ESC(w->file), line);
	return FX_OK;
}

static void edit(struct walk *w, size_t start, size_t end, const char *value, yaml_scalar_style_t style)
{
	yedit_add(&w->edits, start, end, yedit_scalar(value, style));
}

/* image: REF */
static int on_image_string(struct walk *w, const yaml_event_t *ev, struct ferr *e)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t line = ev->start_mark.line + 1;
	const struct rw_entry *en;
	const char *why = NULL;
	struct image_ref f;
	char *want = NULL, *w2;
	size_t k;
	int rc;

	if ((rc = check_editable(w, &w->st[w->depth - 1], line, ev->data.scalar.style, ev->data.scalar.tag != NULL,
	    ev->data.scalar.anchor != NULL, e)) != FX_OK ||
	    (rc = check_value(w, line, v, ev->data.scalar.length, e)) != FX_OK)
		return rc;
	if (*v == '\0')
		return FX_OK; /* a placeholder: nothing to point anywhere */
	if (parse_ref(v, &f) != 0) {
		note(w, line, v, "not an image reference");
		return FX_OK;
	}
	/* already right for any entry that names it: left as it is (several entries may
	 * land at one name, e.g. two registries' images under one prefix) */
	for (k = 0; (en = match_at(w->rm, &f, k, &why)) != NULL; k++) {
		w2 = new_reference(w->rm, en, &f);
		if (strcmp(w2, v) == 0) {
			w->res->unchanged++;
			free(w2);
			free(want);
			return FX_OK;
		}
		if (want == NULL)
			want = w2;
		else
			free(w2);
	}
	if (want == NULL) {
		note(w, line, v, why);
		return FX_OK;
	}
	edit(w, yedit_byte(&w->cur, ev->start_mark.index), yedit_byte(&w->cur, ev->end_mark.index), want,
	    ev->data.scalar.style);
	free(want);
	w->res->rewritten++;
	return FX_OK;
}

/* Sets field f to value when it holds something else (only says so unless apply);
 * 1 when it was, or would be, changed. */
static int set_field(struct walk *w, struct field *f, const char *value, int apply)
{
	if (!f->set || strcmp(f->value, value) == 0)
		return 0;
	if (apply)
		edit(w, f->start, f->end, value, f->style);
	return 1;
}

/* The reference a split-form mapping names, as one string: NULL with *why when it
 * names none. */
static char *split_reference(const struct field *f, const char **why)
{
	const char *reg = f[F_REGISTRY].set ? f[F_REGISTRY].value : "";
	const char *tag = f[F_TAG].set ? f[F_TAG].value : "";
	const char *dig = f[F_DIGEST].set ? f[F_DIGEST].value : "";

	if (tag[0] == '\0' && dig[0] == '\0') {
		*why = "no tag (the chart's default applies)";
		return NULL;
	}
	return xasprintf("%s%s%s%s%s%s%s", reg, reg[0] ? "/" : "", f[F_REPOSITORY].value, tag[0] ? ":" : "", tag,
	    dig[0] ? "@" : "", dig);
}

/* Points the split form at the landed image: registry and repository (only when they
 * name another place), the tag, and with a digest to pin, the digest key when there is
 * one, else TAG@DIGEST in the tag (what most charts' "repository:tag" templates turn into
 * a pinned reference). */
static int rewrite_split(struct walk *w, struct frame *fr, const struct rw_entry *en, const struct image_ref *f,
    int apply)
{
	struct field *fl = fr->f;
	const char *tag;
	char *name = landed_name(en, &tag), *newtag = NULL;
	int pin = w->rm->pin_digest || f->digest[0] != '\0', changed = 0;
	size_t hl = strlen(en->dst.domain);

	if (!same_name(f, &en->dst)) {
		/* name is HOST/PATH when the landed reference spells its host out */
		int has_host = strncasecmp(name, en->dst.domain, hl) == 0 && name[hl] == '/';

		if (fl[F_REGISTRY].set) {
			changed |= set_field(w, &fl[F_REGISTRY], has_host ? en->dst.domain : "docker.io", apply);
			changed |= set_field(w, &fl[F_REPOSITORY], has_host ? name + hl + 1 : en->dst.repo, apply);
		} else {
			changed |= set_field(w, &fl[F_REPOSITORY], name, apply);
		}
	}
	if (fl[F_DIGEST].set) {
		changed |= set_field(w, &fl[F_TAG], tag, apply);
		if (pin)
			changed |= set_field(w, &fl[F_DIGEST], en->digest, apply);
	} else {
		newtag = pin ? xasprintf("%s@%s", tag, en->digest) : xstrdup(tag);
		changed |= set_field(w, &fl[F_TAG], newtag, apply);
	}
	free(newtag);
	free(name);
	return changed;
}

/* image: {registry: ..., repository: ..., tag: ..., digest: ...}, at its end */
static int on_image_map(struct walk *w, struct frame *fr, struct ferr *e)
{
	const struct rw_entry *en, *first = NULL;
	const char *why = NULL;
	struct image_ref f;
	char *ref;
	size_t line, k;
	int rc;

	if (!fr->f[F_REPOSITORY].set)
		return FX_OK; /* not an image reference (pullPolicy and such only) */
	for (k = 0; k < F_COUNT; k++)
		if (fr->f[k].set &&
		    ((rc = check_editable(w, fr, fr->f[k].line, fr->f[k].style, fr->f[k].tagged, 0, e)) != FX_OK ||
		    (rc = check_value(w, fr->f[k].line, fr->f[k].value, fr->f[k].len, e)) != FX_OK))
			return rc;
	line = fr->f[F_REPOSITORY].line;
	if ((ref = split_reference(fr->f, &why)) == NULL) {
		note(w, line, fr->f[F_REPOSITORY].value, why);
		return FX_OK;
	}
	if (parse_ref(ref, &f) != 0) {
		note(w, line, ref, "not an image reference");
		goto end;
	}
	/* as for strings: already right for any entry that names it means unchanged */
	for (k = 0; (en = match_at(w->rm, &f, k, &why)) != NULL; k++) {
		if (f.tag[0] == '\0' || en->dst.tag[0] == '\0')
			continue;
		if (first == NULL)
			first = en;
		if (!rewrite_split(w, fr, en, &f, 0)) {
			w->res->unchanged++;
			goto end;
		}
	}
	if (first != NULL && rewrite_split(w, fr, first, &f, 1))
		w->res->rewritten++;
	else if (first == NULL && k > 0)
		note(w, line, ref, "an image without a tag: not rewritten in the registry/repository/tag form");
	else if (first == NULL)
		note(w, line, ref, why);
end:
	free(ref);
	return FX_OK;
}

static void frame_clear(struct frame *fr)
{
	int k;

	for (k = 0; k < F_COUNT; k++)
		free(fr->f[k].value);
	memset(fr, 0, sizeof(*fr));
}

/* Keeps the key of the pair that starts: only "image", and in a split-form mapping the
 * names of its fields, matter (NULL: a key that is not a scalar). */
static void set_key(struct frame *parent, const char *key, size_t len)
{
	size_t k;

	parent->key[0] = '\0';
	if (key == NULL || strlen(key) != len)
		return;
	if (strcmp(key, "image") == 0)
		fx_strlcpy(parent->key, key, sizeof(parent->key));
	for (k = 0; parent->split && k < F_COUNT; k++)
		if (strcmp(key, field_names[k]) == 0)
			fx_strlcpy(parent->key, key, sizeof(parent->key));
}

/* A scalar value inside a split-form mapping: kept for on_image_map. */
static void keep_field(struct walk *w, struct frame *fr, const yaml_event_t *ev)
{
	size_t k;

	for (k = 0; k < F_COUNT; k++) {
		struct field *f = &fr->f[k];

		if (strcmp(fr->key, field_names[k]) != 0)
			continue;
		free(f->value);
		f->set = 1;
		f->value = xmalloc(ev->data.scalar.length + 1);
		memcpy(f->value, ev->data.scalar.value, ev->data.scalar.length + 1);
		f->len = ev->data.scalar.length;
		f->start = yedit_byte(&w->cur, ev->start_mark.index);
		f->end = yedit_byte(&w->cur, ev->end_mark.index);
		f->line = ev->start_mark.line + 1;
		f->style = ev->data.scalar.style;
		f->tagged = ev->data.scalar.tag != NULL || ev->data.scalar.anchor != NULL;
	}
}

static int on_scalar(struct walk *w, const yaml_event_t *ev, struct ferr *e)
{
	struct frame *parent = &w->st[w->depth - 1];
	int rc = FX_OK;

	if (!parent->is_map)
		return FX_OK;
	if (parent->want_key) {
		set_key(parent, (const char *)ev->data.scalar.value, ev->data.scalar.length);
		parent->want_key = 0;
		return FX_OK;
	}
	if (strcmp(parent->key, "image") == 0)
		rc = on_image_string(w, ev, e);
	else if (parent->split && parent->key[0] != '\0')
		keep_field(w, parent, ev);
	parent->want_key = 1;
	return rc;
}

static int on_alias(struct walk *w, const yaml_event_t *ev, struct ferr *e)
{
	struct frame *parent = &w->st[w->depth - 1];

	if (!parent->is_map)
		return FX_OK;
	if (parent->want_key) {
		set_key(parent, NULL, 0);
		parent->want_key = 0;
		return FX_OK;
	}
	if (strcmp(parent->key, "image") == 0 || (parent->split && parent->key[0] != '\0'))
		return fe_set(e, FX_USAGE, "%s:%zu: image reference given by an alias (*%s): write it out where it is used",
		    ESC(w->file), ev->start_mark.line + 1, ESC((const char *)ev->data.alias.anchor));
	parent->want_key = 1;
	return FX_OK;
}

static int on_start(struct walk *w, const yaml_event_t *ev, int is_map, struct ferr *e)
{
	const yaml_char_t *anchor = is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
	struct frame *parent = w->depth > 0 ? &w->st[w->depth - 1] : NULL, *fr;

	if (w->depth == RW_DEPTH)
		return fe_set(e, FX_USAGE, "%s:%zu: nested more than %d deep", ESC(w->file), ev->start_mark.line + 1,
		    RW_DEPTH);
	fr = &w->st[w->depth++];
	memset(fr, 0, sizeof(*fr));
	fr->is_map = is_map;
	fr->want_key = 1;
	fr->line = ev->start_mark.line + 1;
	if (parent != NULL && parent->anchored) {
		fr->anchored = 1;
		fr->anchor_line = parent->anchor_line;
	} else if (anchor != NULL) {
		fr->anchored = 1;
		fr->anchor_line = fr->line;
	}
	if (parent != NULL && parent->is_map) {
		fr->is_key_node = parent->want_key;
		if (parent->want_key)
			set_key(parent, NULL, 0); /* a complex key: never one that matters */
		else
			fr->split = is_map && strcmp(parent->key, "image") == 0;
	}
	return FX_OK;
}

static int on_end(struct walk *w, struct ferr *e)
{
	struct frame *fr = &w->st[w->depth - 1];
	int rc = FX_OK, was_key = fr->is_key_node;

	if (fr->split)
		rc = on_image_map(w, fr, e);
	frame_clear(fr);
	w->depth--;
	if (w->depth > 0 && w->st[w->depth - 1].is_map)
		w->st[w->depth - 1].want_key = !was_key;
	return rc;
}

/* The top level: one document, a mapping. */
static int check_root(struct walk *w, const yaml_event_t *ev, struct ferr *e)
{
	if (ev->type == YAML_DOCUMENT_START_EVENT && ++w->docs > 1)
		return fe_set(e, FX_USAGE, "%s:%zu: more than one YAML document: give each its own file", ESC(w->file),
		    ev->start_mark.line + 1);
	if (w->depth == 0 && !w->root_seen &&
	    (ev->type == YAML_SCALAR_EVENT || ev->type == YAML_ALIAS_EVENT || ev->type == YAML_SEQUENCE_START_EVENT ||
	    ev->type == YAML_MAPPING_START_EVENT)) {
		w->root_seen = 1;
		if (ev->type != YAML_MAPPING_START_EVENT)
			return fe_set(e, FX_USAGE, "%s:%zu: not a Compose or Helm values file: the top level is not a mapping",
			    ESC(w->file), ev->start_mark.line + 1);
	}
	return FX_OK;
}

static int walk_event(struct walk *w, const yaml_event_t *ev, struct ferr *e)
{
	int rc;

	if ((rc = check_root(w, ev, e)) != FX_OK)
		return rc;
	switch (ev->type) {
	case YAML_MAPPING_START_EVENT:
		return on_start(w, ev, 1, e);
	case YAML_SEQUENCE_START_EVENT:
		return on_start(w, ev, 0, e);
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		return w->depth > 0 ? on_end(w, e) : FX_OK;
	case YAML_SCALAR_EVENT:
		return w->depth > 0 ? on_scalar(w, ev, e) : FX_OK;
	case YAML_ALIAS_EVENT:
		return w->depth > 0 ? on_alias(w, ev, e) : FX_OK;
	default:
		return FX_OK;
	}
}

int rw_text(const struct rw_map *rm, const char *file, const char *text, size_t len, struct rw_result *res,
    struct ferr *e)
{
	struct walk *w = xcalloc(1, sizeof(*w));
	yaml_parser_t p;
	yaml_event_t ev;
	int rc, done = 0;

	memset(res, 0, sizeof(*res));
	yaml_parser_initialize(&p);
	w->rm = rm;
	w->file = file;
	w->res = res;
	yedit_cursor_init(&w->cur, text, len);
	if (len > RW_FILE_MAX) {
		rc = fe_set(e, FX_USAGE, "%s: larger than %u MiB: not rewritten", ESC(file), RW_FILE_MAX >> 20);
		goto end;
	}
	if ((rc = yedit_check_text(text, len, file, FX_USAGE, e)) != FX_OK)
		goto end;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (!done && rc == FX_OK) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = fe_set(e, FX_USAGE, "%s:%zu:%zu: not YAML: %s", ESC(file), p.problem_mark.line + 1,
			    p.problem_mark.column + 1, p.problem != NULL ? p.problem : "syntax error");
			break;
		}
		rc = walk_event(w, &ev, e);
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	if (rc == FX_OK && w->docs == 0)
		rc = fe_set(e, FX_USAGE, "%s: no YAML document in it", ESC(file));
	if (rc == FX_OK && yedit_apply(text, len, &w->edits, &res->text, &res->len) != 0)
		rc = fe_set(e, FX_USAGE, "%s: image references overlap: not rewritten", ESC(file));
end:
	while (w->depth > 0)
		frame_clear(&w->st[--w->depth]);
	yedit_list_free(&w->edits);
	yaml_parser_delete(&p);
	free(w);
	if (rc != FX_OK)
		rw_result_free(res);
	return rc;
}

void rw_result_free(struct rw_result *r)
{
	size_t i;

	for (i = 0; i < r->nnotes; i++)
		free(r->notes[i].ref);
	free(r->notes);
	free(r->text);
	memset(r, 0, sizeof(*r));
}

/* ---- the verb */

struct rw_file {
	const char *path;
	struct stat st;
	struct rw_result res;
};

/* A file to rewrite: a regular file within the size limit; for --in-place not a
 * symbolic link (the file itself is replaced, not what a link points to). */
static int read_input(const struct rewrite_opts *c, struct rw_file *f, char **text, size_t *len, struct ferr *e)
{
	if ((c->in_place ? lstat(f->path, &f->st) : stat(f->path, &f->st)) != 0)
		return fe_set(e, FX_IO, "%s: %s", ESC(f->path), strerror(errno));
	if (S_ISLNK(f->st.st_mode))
		return fe_set(e, FX_USAGE, "%s: a symbolic link: --in-place replaces the file itself, give its own path",
		    ESC(f->path));
	if (!S_ISREG(f->st.st_mode))
		return fe_set(e, FX_USAGE, "%s: not a regular file", ESC(f->path));
	if ((uint64_t)f->st.st_size > RW_FILE_MAX)
		return fe_set(e, FX_USAGE, "%s: larger than %u MiB: not rewritten", ESC(f->path), RW_FILE_MAX >> 20);
	return read_file_max(f->path, RW_FILE_MAX, text, len, e);
}

/* -o OUT: not one of the inputs, and not there unless --force. */
static int check_output(const struct rewrite_opts *c, const struct rw_file *f, struct ferr *e)
{
	struct stat st;

	if (c->out == NULL || stat(c->out, &st) != 0)
		return FX_OK;
	if (st.st_dev == f->st.st_dev && st.st_ino == f->st.st_ino)
		return fe_set(e, FX_USAGE, "-o %s is %s itself: use --in-place", ESC(c->out), ESC(f->path));
	if (!c->force)
		return fe_set(e, FX_IO, "%s: %s", ESC(c->out), FX_EXISTS);
	return FX_OK;
}

static int write_output(const struct rewrite_opts *c, const struct rw_file *f, struct ferr *e)
{
	if (c->out != NULL)
		return fx_write_file(c->out, f->res.text, f->res.len, 0644, 1, e);
	if (c->in_place)
		return f->res.rewritten == 0 ? FX_OK :
		    fx_write_file(f->path, f->res.text, f->res.len, f->st.st_mode & 07777, 1, e);
	if (fwrite(f->res.text, 1, f->res.len, stdout) != f->res.len || fflush(stdout) != 0)
		return fe_set(e, FX_IO, "stdout: %s", strerror(errno));
	return FX_OK;
}

static void report_file(const struct rewrite_opts *c, const struct rw_file *f)
{
	size_t i;

	for (i = 0; i < f->res.nnotes; i++)
		fx_warn("%s:%zu: %s: %s; left alone", ESC(f->path), f->res.notes[i].line, f->res.notes[i].ref,
		    f->res.notes[i].why);
	if (!c->quiet)
		fprintf(stderr, "%s: %s: %zu reference%s rewritten, %zu already right, %zu left alone\n", fx_progname,
		    ESC(f->path), f->res.rewritten, f->res.rewritten == 1 ? "" : "s", f->res.unchanged, f->res.nnotes);
}

int rewrite_run(const struct rewrite_opts *c, struct ferr *e)
{
	struct imap m;
	struct rw_map rm;
	struct rw_file *files = xcalloc(c->nfiles, sizeof(*files));
	size_t i, unknown = 0;
	int rc;

	memset(&rm, 0, sizeof(rm));
	if ((rc = imap_read(c->map_path, &m, e)) != FX_OK)
		goto end;
	if ((rc = rw_map_init(&rm, &m, c->target, c->pin_digest, e)) != FX_OK)
		goto end;
	/* every file rewritten in memory before any is written */
	for (i = 0; i < c->nfiles && rc == FX_OK; i++) {
		char *text = NULL;
		size_t len = 0;

		files[i].path = c->files[i];
		if ((rc = read_input(c, &files[i], &text, &len, e)) == FX_OK &&
		    (rc = check_output(c, &files[i], e)) == FX_OK)
			rc = rw_text(&rm, files[i].path, text, len, &files[i].res, e);
		free(text);
	}
	for (i = 0; rc == FX_OK && i < c->nfiles; i++) {
		report_file(c, &files[i]);
		unknown += files[i].res.nnotes;
	}
	if (rc == FX_OK && c->strict && unknown > 0)
		rc = fe_set(e, FX_VERIFY, "rewrite: %zu reference%s left alone (--strict): nothing written", unknown,
		    unknown == 1 ? "" : "s");
	for (i = 0; rc == FX_OK && i < c->nfiles; i++)
		rc = write_output(c, &files[i], e);
end:
	for (i = 0; i < c->nfiles; i++)
		rw_result_free(&files[i].res);
	free(files);
	rw_map_free(&rm);
	imap_free(&m);
	return rc;
}
