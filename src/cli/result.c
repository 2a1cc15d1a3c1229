/* result.c - the --json document of verify, extract and load (see result.h and
 * docs/json.md). The reader's observer and the targets' reports fill it as they
 * happen; result_print adds the verdict and the times. */
#include "cli/result.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/imagemap.h"

/* A JSON string of untrusted text: as it is when it is UTF-8 (jansson escapes control
 * characters, and the output is ASCII), else escaped the way the terminal shows it. */
static json_t *jtext(const char *s)
{
	if (s == NULL)
		return json_null();
	if (!fx_utf8_valid(s))
		return json_string(ESC(s));
	return json_string(s);
}

static const char *verdict_name(int code)
{
	switch (code) {
	case FX_OK: return "ok";
	case FX_VERIFY: return "verification-failed";
	case FX_USAGE: return "usage-error";
	case FX_IO: return "io-error";
	case FX_TARGET: return "target-failed";
	default: return "error";
	}
}

static void on_head(void *ctx, const struct bundle_head *h)
{
	struct run_result *r = ctx;
	json_t *b = json_object_get(r->doc, "bundle"), *signer = json_null();
	char when[32];

	json_object_set_new(b, "name", jtext(h->man.name));
	json_object_set_new(b, "version", jtext(h->man.version));
	json_object_set_new(b, "signed", json_boolean(h->is_signed));
	json_object_set_new(b, "signatureChecked", json_boolean(h->sig_checked));
	if (h->sig_checked) {
		fmt_time_utc(h->signer.when, when);
		signer = json_pack("{s:s, s:o, s:s}", "fingerprint", h->signer.fpr, "uid", jtext(h->signer.uid), "signed",
		    when);
	}
	json_object_set_new(b, "signer", signer);
	json_object_set_new(b, "compression", json_string(h->zstd ? "zstd" : "none"));
}

static void on_problem(void *ctx, const char *entry, const char *why)
{
	struct run_result *r = ctx;
	json_t *problems = json_object_get(r->doc, "problems");

	/* a hostile bundle may hold millions of extra entries: the counts stay complete */
	if (json_array_size(problems) >= RESULT_PROBLEMS_MAX) {
		r->problems_not_listed++;
		return;
	}
	json_array_append_new(problems, json_pack("{s:o, s:s}", "entry", jtext(entry), "why", why));
	if (fx_utf8_valid(entry) && json_object_get(r->first_problem, entry) == NULL)
		json_object_set_new(r->first_problem, entry, json_string(why));
}

/* The first problem the reader had with an entry (a blob's: valid names), or NULL. */
static const char *problem_of(struct run_result *r, const char *entry)
{
	return json_string_value(json_object_get(r->first_problem, entry));
}

/* verify, extract: an image is verified when every entry it needs was read and hashed
 * to its line (the plan the targets use says which entries those are). */
static void image_verdicts(struct run_result *r, const struct bundle_head *h)
{
	struct target_plan plan;
	struct ferr ignored = {0, ""};
	json_t *images = json_array();
	size_t i, k;

	if (target_plan_build(&plan, &h->man, &h->sums, NULL, 0, &ignored) != FX_OK)
		return;
	for (i = 0; i < plan.nimages; i++) {
		const struct plan_image *pi = &plan.images[i];
		char *why = pi->unusable ? xstrdup(pi->why) : NULL;

		for (k = 0; k < pi->nblobs && why == NULL; k++) {
			char entry[sizeof(BLOB_ENTRY_PREFIX) + SHA256_HEX];
			const struct sum_line *line;
			const char *problem;

			snprintf(entry, sizeof(entry), "%s%s", BLOB_ENTRY_PREFIX, plan.blobs[pi->blobs[k]].digest + 7);
			line = sums_find(&h->sums, entry);
			if ((problem = problem_of(r, entry)) != NULL)
				why = xasprintf("%s: %s", entry, problem);
			else if (line == NULL || !line->seen)
				why = xasprintf("%s: not read", entry);
		}
		json_array_append_new(images, json_pack("{s:o, s:o, s:b, s:o}", "ref", jtext(pi->mi->ref), "digest",
		    jtext(pi->mi->digest), "verified", why == NULL, "error", jtext(why)));
		free(why);
	}
	target_plan_free(&plan);
	json_object_set_new(r->doc, "images", images);
}

static void on_done(void *ctx, const struct bundle_head *h, const struct read_report *rep)
{
	struct run_result *r = ctx;

	json_object_set_new(r->doc, "entries", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "ok",
	    (json_int_t)rep->entries_ok, "bad", (json_int_t)rep->entries_bad, "missing", (json_int_t)rep->missing,
	    "extra", (json_int_t)rep->extra, "notRead", (json_int_t)rep->present, "bytes", (json_int_t)rep->bytes));
	if (strcmp(r->command, "load") != 0 && h->man.name != NULL)
		image_verdicts(r, h);
}

/* The --to text a report names (targets may keep a long one cut short). */
static const char *full_target(const struct load_opts *lo, const char *spec)
{
	size_t i;

	for (i = 0; i < lo->ntargets; i++)
		if (strcmp(lo->targets[i], spec) == 0)
			return lo->targets[i];
	for (i = 0; i < lo->ntargets; i++)
		if (strncmp(lo->targets[i], spec, strlen(spec)) == 0)
			return lo->targets[i];
	return spec;
}

static void on_report(void *ctx, const struct target_report *tr, int code)
{
	static const char *const kinds[] = {"registry", "oci", "docker"};
	struct run_result *r = ctx;
	const char *spec = full_target(tr->lo, tr->spec);
	int kind = imap_kind_of(spec);
	json_t *images = json_array(), *charts = json_array(), *t;
	size_t i;

	for (i = 0; i < tr->plan->nimages; i++) {
		const struct man_image *mi = tr->plan->images[i].mi;
		const struct image_verdict *v = &tr->verdicts[i];
		char *landed;

		if (tr->plan->images[i].chart != NULL) { /* mi->ref: P/NAME:TAG under the target's prefix */
			json_array_append_new(charts, json_pack("{s:o, s:o, s:o, s:b, s:o}", "name",
			    jtext(tr->plan->images[i].chart->name), "reference", jtext(mi->ref), "digest", jtext(mi->digest),
			    "loaded", !v->failed && !tr->dry_run, "error", v->failed ? jtext(v->why) : json_null()));
			continue;
		}
		landed = imap_landed(spec, r->keep_registry_host, mi);
		json_array_append_new(images, json_pack("{s:o, s:o, s:b, s:o, s:o}", "ref", jtext(mi->ref), "digest",
		    jtext(mi->digest), "loaded", !v->failed && !tr->dry_run, "reference", jtext(landed), "error",
		    v->failed ? jtext(v->why) : json_null()));
		free(landed);
	}
	t = json_pack("{s:o, s:s, s:s, s:i, s:o, s:b, s:{s:I, s:I, s:I}, s:I, s:I, s:o}", "target", jtext(spec), "kind",
	    kind >= 0 ? kinds[kind] : "?", "verdict", verdict_name(code), "exitCode", code, "error", jtext(tr->dead_why),
	    "dryRun", tr->dry_run, "blobs", "sent", (json_int_t)tr->blobs_sent, "present", (json_int_t)tr->blobs_present,
	    "mounted", (json_int_t)tr->blobs_mounted, "manifests", (json_int_t)tr->manifests, "bytes",
	    (json_int_t)tr->bytes, "images", images);
	json_object_set_new(t, "charts", charts);
	json_array_append_new(json_object_get(r->doc, "targets"), t);
}

void result_init(struct run_result *r, const char *command)
{
	memset(r, 0, sizeof(*r));
	r->command = command;
	r->started = (int64_t)time(NULL);
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	r->doc = json_object();
	r->first_problem = json_object();
	json_object_set_new(r->doc, "schema", json_integer(RESULT_SCHEMA));
	json_object_set_new(r->doc, "command", json_string(command));
	json_object_set_new(r->doc, "bundle", json_object());
	json_object_set_new(r->doc, "problems", json_array());
	if (strcmp(command, "load") == 0)
		json_object_set_new(r->doc, "targets", json_array());
	r->observer.ctx = r;
	r->observer.head = on_head;
	r->observer.problem = on_problem;
	r->observer.done = on_done;
}

void result_watch(struct run_result *r, struct read_opts *ro, struct load_opts *lo)
{
	ro->observer = &r->observer;
	if (lo != NULL) {
		r->keep_registry_host = lo->keep_registry_host;
		lo->on_report = on_report;
		lo->on_report_ctx = r;
	}
}

/* The document in the order docs/json.md gives its keys. */
static json_t *ordered(struct run_result *r, int rc, const char *why)
{
	static const char *const tail[] = {"bundle", "entries", "problems", "problemsNotListed", "images", "targets",
	    "directory"};
	json_t *out = json_object(), *bundle, *v;
	struct timespec now;
	char started[32], finished[32];
	size_t i;

	clock_gettime(CLOCK_MONOTONIC, &now);
	fmt_time_utc(r->started, started);
	fmt_time_utc((int64_t)time(NULL), finished);
	/* every key of bundle, null or false where the head was never read */
	bundle = json_pack("{s:o, s:n, s:n, s:b, s:b, s:n, s:n}", "file", jtext(r->bundle), "name", "version",
	    "signed", 0, "signatureChecked", 0, "signer", "compression");
	json_object_update(bundle, json_object_get(r->doc, "bundle"));
	json_object_set_new(r->doc, "bundle", bundle);
	json_object_set(out, "schema", json_object_get(r->doc, "schema"));
	json_object_set(out, "command", json_object_get(r->doc, "command"));
	json_object_set_new(out, "verdict", json_string(verdict_name(rc)));
	json_object_set_new(out, "exitCode", json_integer(rc));
	json_object_set_new(out, "error", rc != FX_OK && why != NULL && why[0] != '\0' ? jtext(why) : json_null());
	json_object_set_new(out, "started", json_string(started));
	json_object_set_new(out, "finished", json_string(finished));
	json_object_set_new(out, "seconds", json_real((double)(now.tv_sec - r->t0.tv_sec) +
	    (double)(now.tv_nsec - r->t0.tv_nsec) / 1e9));
	if (r->directory != NULL)
		json_object_set_new(r->doc, "directory", jtext(r->directory));
	json_object_set_new(r->doc, "problemsNotListed", json_integer((json_int_t)r->problems_not_listed));
	if (json_object_get(r->doc, "entries") == NULL)
		json_object_set_new(r->doc, "entries", json_null());
	if (strcmp(r->command, "load") != 0 && json_object_get(r->doc, "images") == NULL)
		json_object_set_new(r->doc, "images", json_array());
	for (i = 0; i < sizeof(tail) / sizeof(tail[0]); i++)
		if ((v = json_object_get(r->doc, tail[i])) != NULL)
			json_object_set(out, tail[i], v);
	return out;
}

void result_print(struct run_result *r, int rc, const struct ferr *e, const char *usage_why)
{
	json_t *out = ordered(r, rc, e->code != 0 ? e->msg : usage_why);
	char *text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);

	if (text != NULL)
		printf("%s\n", text);
	free(text);
	json_decref(out);
}

void result_free(struct run_result *r)
{
	json_decref(r->doc);
	json_decref(r->first_problem);
	r->doc = r->first_problem = NULL;
}
