/* state.c - the state file of ferry-load (rollback protection) and the sequence and
 * expiry checks. The file is JSON, read strictly: a state that does not parse stops
 * the load, because resetting it would reopen every rollback it guards against. */
#include "bundle/state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "util/file.h"

#define STATE_FORMAT 1

static const char *const root_keys[] = {"ferryState", "bundles", NULL};
static const char *const bundle_keys[] = {"vendor", "name", "version", "sequence", "loaded", "downgrades", NULL};
static const char *const downgrade_keys[] = {"version", "sequence", "over", "at", NULL};

/* ---- parsing ---- */

static int only_keys(json_t *obj, const char *const *keys, const char *shown, const char *what, struct ferr *e)
{
	const char *key;
	json_t *value;
	size_t i;

	if (!json_is_object(obj))
		return fe_set(e, FX_IO, "%s: %s is not an object", ESC(shown), what);
	json_object_foreach(obj, key, value) {
		for (i = 0; keys[i] != NULL && strcmp(keys[i], key) != 0; i++)
			;
		if (keys[i] == NULL)
			return fe_set(e, FX_IO, "%s: %s has an unknown key '%s'", ESC(shown), what, ESC(key));
	}
	return FX_OK;
}

static int get_string(json_t *obj, const char *key, int nonempty, char **out, const char *shown, const char *what,
    struct ferr *e)
{
	json_t *v = json_object_get(obj, key);
	const char *s = json_string_value(v);

	if (s == NULL || strlen(s) != json_string_length(v) || strlen(s) > STATE_STRING_MAX ||
	    (nonempty && *s == '\0'))
		return fe_set(e, FX_IO, "%s: %s: '%s' must be a string of at most %u bytes%s", ESC(shown), what, key,
		    STATE_STRING_MAX, nonempty ? ", not empty" : "");
	*out = xstrdup(s);
	return FX_OK;
}

static int get_number(json_t *obj, const char *key, uint64_t *out, const char *shown, const char *what, struct ferr *e)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return fe_set(e, FX_IO, "%s: %s: '%s' must be a non-negative integer", ESC(shown), what, key);
	*out = (uint64_t)json_integer_value(v);
	return FX_OK;
}

static int get_time(json_t *obj, const char *key, int64_t *out, const char *shown, const char *what, struct ferr *e)
{
	const char *s = json_string_value(json_object_get(obj, key));

	if (s == NULL || parse_time_utc(s, out) != 0)
		return fe_set(e, FX_IO, "%s: %s: '%s' must be a UTC time (2026-12-01T10:00:00Z)", ESC(shown), what, key);
	return FX_OK;
}

static int parse_downgrades(json_t *list, struct state_bundle *b, const char *shown, const char *what, struct ferr *e)
{
	size_t i;
	int rc = FX_OK;

	if (list == NULL)
		return FX_OK;
	if (!json_is_array(list) || json_array_size(list) > STATE_DOWNGRADES_MAX)
		return fe_set(e, FX_IO, "%s: %s: 'downgrades' must be a list of at most %u", ESC(shown), what,
		    STATE_DOWNGRADES_MAX);
	b->downgrades = xcalloc(json_array_size(list) + 1, sizeof(*b->downgrades));
	for (i = 0; i < json_array_size(list) && rc == FX_OK; i++) {
		json_t *d = json_array_get(list, i);
		struct state_downgrade *dg = &b->downgrades[b->ndowngrades++];
		if ((rc = only_keys(d, downgrade_keys, shown, "a downgrade", e)) == FX_OK &&
		    (rc = get_string(d, "version", 1, &dg->version, shown, what, e)) == FX_OK &&
		    (rc = get_number(d, "sequence", &dg->sequence, shown, what, e)) == FX_OK &&
		    (rc = get_number(d, "over", &dg->over, shown, what, e)) == FX_OK)
			rc = get_time(d, "at", &dg->at, shown, what, e);
	}
	return rc;
}

static int parse_bundle(json_t *obj, struct state_bundle *b, size_t index, const char *shown, struct ferr *e)
{
	char what[48];
	int rc;

	snprintf(what, sizeof(what), "bundles[%zu]", index);
	if ((rc = only_keys(obj, bundle_keys, shown, what, e)) != FX_OK ||
	    (rc = get_string(obj, "vendor", 0, &b->vendor, shown, what, e)) != FX_OK ||
	    (rc = get_string(obj, "name", 1, &b->name, shown, what, e)) != FX_OK ||
	    (rc = get_string(obj, "version", 1, &b->version, shown, what, e)) != FX_OK ||
	    (rc = get_number(obj, "sequence", &b->sequence, shown, what, e)) != FX_OK ||
	    (rc = get_time(obj, "loaded", &b->loaded, shown, what, e)) != FX_OK)
		return rc;
	return parse_downgrades(json_object_get(obj, "downgrades"), b, shown, what, e);
}

int state_parse(const char *buf, size_t len, const char *shown, struct load_state *st, struct ferr *e)
{
	json_error_t jerr;
	json_t *root = NULL, *list;
	size_t i;
	int rc = FX_OK;

	memset(st, 0, sizeof(*st));
	if (len > STATE_MAX) {
		rc = fe_set(e, FX_IO, "%s: larger than %u bytes", ESC(shown), STATE_MAX);
		goto end;
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		rc = fe_set(e, FX_IO, "%s: does not parse (line %d: %s)", ESC(shown), jerr.line, ESC(jerr.text));
		goto end;
	}
	if ((rc = only_keys(root, root_keys, shown, "the state", e)) != FX_OK)
		goto end;
	if (json_integer_value(json_object_get(root, "ferryState")) != STATE_FORMAT ||
	    !json_is_integer(json_object_get(root, "ferryState"))) {
		rc = fe_set(e, FX_IO, "%s: not a ferry state file of format %d ('ferryState')", ESC(shown), STATE_FORMAT);
		goto end;
	}
	list = json_object_get(root, "bundles");
	if (!json_is_array(list) || json_array_size(list) > STATE_BUNDLES_MAX) {
		rc = fe_set(e, FX_IO, "%s: 'bundles' must be a list of at most %u", ESC(shown), STATE_BUNDLES_MAX);
		goto end;
	}
	st->bundles = xcalloc(json_array_size(list) + 1, sizeof(*st->bundles));
	for (i = 0; i < json_array_size(list) && rc == FX_OK; i++)
		rc = parse_bundle(json_array_get(list, i), &st->bundles[st->nbundles++], i, shown, e);
	for (i = 0; i < st->nbundles && rc == FX_OK; i++)
		if (state_find(st, st->bundles[i].vendor, st->bundles[i].name) != &st->bundles[i])
			rc = fe_set(e, FX_IO, "%s: bundles[%zu]: '%s' of '%s' is listed twice", ESC(shown), i,
			    ESC(st->bundles[i].name), ESC(st->bundles[i].vendor));
end:
	json_decref(root);
	if (rc != FX_OK)
		state_free(st);
	return rc;
}

int state_read(const char *path, struct load_state *st, struct ferr *e)
{
	struct stat sb;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	memset(st, 0, sizeof(*st));
	if (lstat(path, &sb) != 0 && errno == ENOENT)
		return FX_OK; /* nothing loaded yet */
	if ((rc = read_file_max(path, STATE_MAX, &buf, &len, e)) == FX_OK)
		rc = state_parse(buf, len, path, st, e);
	free(buf);
	return rc;
}

/* The index of vendor/name in st, or st->nbundles. */
static size_t find_index(const struct load_state *st, const char *vendor, const char *name)
{
	size_t i;

	for (i = 0; i < st->nbundles; i++)
		if (strcmp(st->bundles[i].vendor, vendor) == 0 && strcmp(st->bundles[i].name, name) == 0)
			break;
	return i;
}

const struct state_bundle *state_find(const struct load_state *st, const char *vendor, const char *name)
{
	size_t i = find_index(st, vendor, name);

	return i < st->nbundles ? &st->bundles[i] : NULL;
}

/* ---- writing ---- */

static json_t *time_json(int64_t t)
{
	char when[32];

	fmt_time_utc(t, when);
	return json_string(when);
}

char *state_emit(const struct load_state *st, size_t *len)
{
	json_t *root = json_object(), *list = json_array();
	char *text;
	size_t i, j;

	json_object_set_new(root, "ferryState", json_integer(STATE_FORMAT));
	for (i = 0; i < st->nbundles; i++) {
		const struct state_bundle *b = &st->bundles[i];
		json_t *obj = json_object();
		json_object_set_new(obj, "vendor", json_string(b->vendor));
		json_object_set_new(obj, "name", json_string(b->name));
		json_object_set_new(obj, "version", json_string(b->version));
		json_object_set_new(obj, "sequence", json_integer((json_int_t)b->sequence));
		json_object_set_new(obj, "loaded", time_json(b->loaded));
		if (b->ndowngrades > 0) {
			json_t *dl = json_array();
			for (j = 0; j < b->ndowngrades; j++)
				json_array_append_new(dl, json_pack("{s:s, s:I, s:I, s:o}", "version", b->downgrades[j].version,
				    "sequence", (json_int_t)b->downgrades[j].sequence, "over", (json_int_t)b->downgrades[j].over,
				    "at", time_json(b->downgrades[j].at)));
			json_object_set_new(obj, "downgrades", dl);
		}
		json_array_append_new(list, obj);
	}
	json_object_set_new(root, "bundles", list);
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (text == NULL) /* jansson fails only when memory runs out */
		text = xstrdup("");
	*len = strlen(text);
	return text;
}

static void free_bundle(struct state_bundle *b)
{
	size_t j;

	free(b->vendor);
	free(b->name);
	free(b->version);
	for (j = 0; j < b->ndowngrades; j++)
		free(b->downgrades[j].version);
	free(b->downgrades);
}

void state_free(struct load_state *st)
{
	size_t i;

	for (i = 0; i < st->nbundles; i++)
		free_bundle(&st->bundles[i]);
	free(st->bundles);
	memset(st, 0, sizeof(*st));
}

/* Opens (creating it, and the state file's directory when missing) PATH.lock, the file
 * loads lock while they read, merge and replace the state. The descriptor, or -1. */
static int open_lock(const char *path, struct ferr *e)
{
	char *lock = xasprintf("%s.lock", path), *dir = xstrdup(path);
	struct stat sb;
	int fd;

	if (stat(dirname(dir), &sb) != 0 && errno == ENOENT)
		(void)mkdir(dir, 0755); /* /var/lib/ferry on a first load */
	fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0)
		fe_set(e, FX_IO, "%s: %s (the state file; --state FILE to keep it elsewhere)", ESC(lock), strerror(errno));
	else if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		fe_set(e, FX_IO, "%s: not a regular file", ESC(lock));
		close(fd);
		fd = -1;
	}
	free(lock);
	free(dir);
	return fd;
}

static int lock_state(const char *path, struct ferr *e)
{
	int fd = open_lock(path, e);

	while (fd >= 0 && flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR || fx_interrupted) {
			fe_set(e, FX_IO, "%s.lock: %s", ESC(path), fx_interrupted ? "interrupted" : strerror(errno));
			close(fd);
			fd = -1;
		}
	}
	return fd;
}

static struct state_bundle *add_bundle(struct load_state *st, const struct manifest *m)
{
	struct state_bundle *b;

	st->bundles = xreallocarray(st->bundles, st->nbundles + 1, sizeof(*st->bundles));
	b = &st->bundles[st->nbundles++];
	memset(b, 0, sizeof(*b));
	b->vendor = xstrdup(m->vendor != NULL ? m->vendor : "");
	b->name = xstrdup(m->name);
	b->version = xstrdup(m->version);
	b->sequence = m->sequence;
	return b;
}

static void log_downgrade(struct state_bundle *b, const struct manifest *m, int64_t now)
{
	struct state_downgrade *dg;

	if (b->ndowngrades == STATE_DOWNGRADES_MAX) {
		free(b->downgrades[0].version);
		memmove(&b->downgrades[0], &b->downgrades[1], (b->ndowngrades - 1) * sizeof(*b->downgrades));
		b->ndowngrades--;
	}
	b->downgrades = xreallocarray(b->downgrades, b->ndowngrades + 1, sizeof(*b->downgrades));
	dg = &b->downgrades[b->ndowngrades++];
	dg->version = xstrdup(m->version);
	dg->sequence = m->sequence;
	dg->over = b->sequence;
	dg->at = now;
}

/* The state after loading m: a higher or equal sequence replaces the record, a lower
 * one leaves it (logged when allowed, else another load got there first). */
static void merge(struct load_state *st, const struct manifest *m, const struct fresh_opts *o, const char *path)
{
	size_t i = find_index(st, m->vendor != NULL ? m->vendor : "", m->name);
	struct state_bundle *b = i < st->nbundles ? &st->bundles[i] : NULL;

	if (b == NULL && st->nbundles < STATE_BUNDLES_MAX)
		b = add_bundle(st, m);
	if (b == NULL) {
		fx_warn("%s: already holds %u bundles; %s %s not recorded", ESC(path), STATE_BUNDLES_MAX, ESC(m->name),
		    ESC(m->version));
		return;
	}
	if (m->sequence >= b->sequence) {
		free(b->version);
		b->version = xstrdup(m->version);
		b->sequence = m->sequence;
		b->loaded = o->now;
	} else if (o->allow_downgrade) {
		log_downgrade(b, m, o->now);
	} else {
		fx_warn("%s: %s %s (sequence %" PRIu64 ") was loaded while this load ran; it stays recorded",
		    ESC(path), ESC(b->name), ESC(b->version), b->sequence);
	}
}

int state_record(const struct fresh_opts *o, const struct manifest *m, struct ferr *e)
{
	struct load_state st = {0};
	char *text = NULL;
	size_t len = 0;
	int lock_fd, rc;

	if (o->state == NULL || !o->record)
		return FX_OK;
	if ((lock_fd = lock_state(o->state, e)) < 0)
		return FX_IO;
	/* read again under the lock: a load that finished meanwhile is kept */
	if ((rc = state_read(o->state, &st, e)) != FX_OK)
		goto end;
	merge(&st, m, o, o->state);
	text = state_emit(&st, &len);
	state_free(&st);
	/* never write what the next load could not read */
	if ((rc = state_parse(text, len, o->state, &st, e)) == FX_OK)
		rc = fx_write_file(o->state, text, len, 0644, 1, e);
end:
	free(text);
	state_free(&st);
	close(lock_fd); /* releases the lock */
	return rc;
}

/* ---- the checks ---- */

static int check_sequence(const struct manifest *m, const struct fresh_opts *o, struct ferr *e)
{
	struct load_state st;
	const struct state_bundle *b;
	char when[32];
	int rc, lock_fd;

	if (o->record) { /* fail now, not after the load, when the state cannot be kept */
		if ((lock_fd = open_lock(o->state, e)) < 0)
			return FX_IO;
		close(lock_fd);
	}
	if ((rc = state_read(o->state, &st, e)) != FX_OK)
		return rc;
	b = state_find(&st, m->vendor != NULL ? m->vendor : "", m->name);
	if (b != NULL && m->sequence < b->sequence) {
		fmt_time_utc(b->loaded, when);
		if (!o->allow_downgrade)
			rc = fe_set(e, FX_VERIFY, "%s %s (sequence %" PRIu64 ") is older than %s (sequence %" PRIu64
			    "), loaded %s (%s): refused as a rollback; --allow-downgrade to load it anyway",
			    ESC(m->name), ESC(m->version), m->sequence, ESC(b->version), b->sequence, when, ESC(o->state));
		else
			fx_warn("%s %s (sequence %" PRIu64 ") is older than %s (sequence %" PRIu64 "), loaded %s: "
			    "accepted (--allow-downgrade)%s", ESC(m->name), ESC(m->version), m->sequence, ESC(b->version),
			    b->sequence, when, o->record ? "; the downgrade is logged in the state file" : "");
	}
	state_free(&st);
	return rc;
}

/* A bundle whose names the state file cannot hold is refused before it is used, not
 * after: the load would have no record to protect the next one. */
static int recordable(const struct manifest *m, struct ferr *e)
{
	const char *names[3] = {m->vendor != NULL ? m->vendor : "", m->name, m->version};
	size_t i;

	for (i = 0; i < 3; i++)
		if (strlen(names[i]) > STATE_STRING_MAX || !fx_utf8_valid(names[i]) || (i > 0 && names[i][0] == '\0'))
			return fe_set(e, FX_VERIFY, "bundle.yaml: vendor, name and version must be UTF-8 of 1 to %u bytes "
			    "to be recorded in the state file", STATE_STRING_MAX);
	return FX_OK;
}

int fresh_check(const struct manifest *m, const struct fresh_opts *o, struct ferr *e)
{
	int rc;

	if (m->expires != NULL && o->now >= m->expires_at) {
		if (!o->allow_expired)
			return fe_set(e, FX_VERIFY, "%s %s expired on %s; refused (--allow-expired to use it anyway)",
			    ESC(m->name), ESC(m->version), ESC(m->expires));
		fx_warn("%s %s expired on %s: accepted (--allow-expired)", ESC(m->name), ESC(m->version), ESC(m->expires));
	}
	if (o->state == NULL)
		return FX_OK;
	if ((rc = recordable(m, e)) != FX_OK)
		return rc;
	return check_sequence(m, o, e);
}
