/* load.c - `ferry-load load`: one pass over the bundle, fanned out to every target.
 *
 * The reader verifies; a tee sink hands each entry to every target (registry://,
 * oci:DIR, docker://), each of which decides what it needs. The plan of the selected
 * images is built once, when the head has been checked, and read by every target.
 * Targets keep their own per-image verdicts and print them at the end; load_run turns
 * them into the exit code: 1 when the bundle did not verify, else 4 when a target
 * failed. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/load.h"
#include "net/http.h"
#include "target/docker_sink.h"
#include "target/ocidir.h"
#include "target/registry.h"

static const struct target_kind kinds[] = {
	{"registry://", registry_target_check, registry_target_open},
	{"oci:", ocidir_target_check, ocidir_target_open},
	{"docker://", docker_target_check, docker_target_open},
};

static const struct target_kind *kind_of(const char *spec)
{
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strncmp(spec, kinds[i].prefix, strlen(kinds[i].prefix)) == 0)
			return &kinds[i];
	return NULL;
}

/* What is checked of the options besides each target's own syntax. */
static int check_options(const struct load_opts *lo, struct ferr *e)
{
	size_t i, j;

	for (i = 0; i < lo->ntargets; i++) {
		if (kind_of(lo->targets[i]) == NULL)
			return fe_set(e, FX_USAGE, "--to %s: unknown target (registry://HOST[:PORT][/PREFIX], docker://, oci:DIR)",
			    ESC(lo->targets[i]));
		for (j = 0; j < i; j++)
			if (strcmp(lo->targets[j], lo->targets[i]) == 0)
				return fe_set(e, FX_USAGE, "--to %s: given twice", ESC(lo->targets[i]));
	}
	if (lo->creds != NULL && strchr(lo->creds, ':') == NULL)
		return fe_set(e, FX_USAGE, "--creds: expected USER:PASS");
	if (lo->jobs < 0 || lo->jobs > 64)
		return fe_set(e, FX_USAGE, "--jobs: 1 to 64");
	return FX_OK;
}

int load_check_targets(const struct load_opts *lo, struct ferr *e)
{
	size_t i;
	int rc;

	if ((rc = check_options(lo, e)) != FX_OK)
		return rc;
	for (i = 0; i < lo->ntargets; i++)
		if ((rc = kind_of(lo->targets[i])->check(lo->targets[i], NULL, e)) != FX_OK)
			return rc;
	return FX_OK;
}

/* ---- the tee */

struct tee {
	const struct load_opts *lo;
	struct load_target *t;
	size_t n;
	unsigned char *want;     /* which targets take the current entry's data */
	struct target_plan plan; /* built at head(), read by every target */
	size_t nheaded;          /* targets whose head() ran: they report */
	int finished;
	/* progress on a terminal */
	int progress, shown;
	uint64_t total, done, cur_size;
	struct timespec last;
};

static void progress(struct tee *te, int force)
{
	struct timespec now;
	char a[32], b[32];

	if (!te->progress || te->total == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!force && (now.tv_sec - te->last.tv_sec) * 1000 + (now.tv_nsec - te->last.tv_nsec) / 1000000 < 200)
		return;
	te->last = now;
	fprintf(stderr, "\r\033[Kloading images: %3d%% (%s of %s)", (int)(te->done * 100 / te->total),
	    fmt_bytes(te->done, a, sizeof(a)), fmt_bytes(te->total, b, sizeof(b)));
	te->shown = 1;
}

static int tee_head(void *ctx, const struct bundle_head *h, struct ferr *e)
{
	struct tee *te = ctx;
	const struct manifest *m = &h->man;
	size_t i;
	int rc;

	if ((rc = target_plan_build(&te->plan, m, &h->sums, te->lo->images, te->lo->nimages, e)) != FX_OK)
		return rc;
	for (i = 0; i < m->nentries; i++)
		if (strncmp(m->entries[i].path, "images/", 7) == 0)
			te->total += m->entries[i].size;
	for (i = 0; i < te->n; i++) {
		if (te->t[i].sink.head != NULL && (rc = te->t[i].sink.head(te->t[i].sink.ctx, h, e)) != FX_OK)
			return rc;
		te->nheaded = i + 1;
	}
	return FX_OK;
}

static int tee_begin(void *ctx, const char *name, uint64_t size, const struct entry_loc *loc, int *want,
    struct ferr *e)
{
	struct tee *te = ctx;
	size_t i;
	int rc, any = 0, all_present = te->n > 0;

	te->cur_size = strncmp(name, "images/", 7) == 0 ? size : 0;
	/* With one target, it may read a large entry itself by position (in parallel with
	 * the stream); several targets share the one stream. */
	if (te->n != 1 || te->t[0].sink.drain == NULL)
		loc = NULL;
	for (i = 0; i < te->n; i++) {
		int w = 0;

		if ((rc = te->t[i].sink.begin(te->t[i].sink.ctx, name, size, loc, &w, e)) != FX_OK)
			return rc;
		if (w == SINK_RANGED) { /* only ever the one target */
			*want = SINK_RANGED;
			te->done += te->cur_size; /* no end() comes for it */
			return FX_OK;
		}
		te->want[i] = (unsigned char)(w > 0);
		any |= w > 0;
		all_present &= w == SINK_PRESENT;
	}
	/* the entry is left unread only when every target holds it already */
	*want = all_present ? SINK_PRESENT : any;
	if (all_present)
		te->done += te->cur_size; /* no end() comes for it */
	return FX_OK;
}

static int tee_data(void *ctx, const void *buf, size_t n, struct ferr *e)
{
	struct tee *te = ctx;
	size_t i;
	int rc;

	for (i = 0; i < te->n; i++)
		if (te->want[i] && (rc = te->t[i].sink.data(te->t[i].sink.ctx, buf, n, e)) != FX_OK)
			return rc;
	return FX_OK;
}

static int tee_end(void *ctx, const char *name, int ok, struct ferr *e)
{
	struct tee *te = ctx;
	size_t i;
	int rc = FX_OK, r;

	for (i = 0; i < te->n; i++)
		if ((r = te->t[i].sink.end(te->t[i].sink.ctx, name, ok, e)) != FX_OK && rc == FX_OK)
			rc = r;
	te->done += te->cur_size;
	progress(te, 0);
	return rc;
}

static void tee_drain(void *ctx)
{
	struct tee *te = ctx;
	size_t i;

	for (i = 0; i < te->n; i++)
		if (te->t[i].sink.drain != NULL)
			te->t[i].sink.drain(te->t[i].sink.ctx);
}

static int tee_finish(void *ctx, int all_ok, struct ferr *e)
{
	struct tee *te = ctx;
	size_t i;
	int rc = FX_OK, r;

	progress(te, 1);
	if (te->shown) {
		fputs("\r\033[K", stderr);
		te->shown = 0;
	}
	for (i = 0; i < te->n; i++)
		if ((r = te->t[i].sink.finish(te->t[i].sink.ctx, all_ok, e)) != FX_OK && rc == FX_OK)
			rc = r;
	te->finished = 1;
	return rc;
}

/* Makes every target: its syntax checked once more (a library call), parsed, opened. */
static int open_targets(struct tee *te, const struct load_opts *lo, struct ferr *e)
{
	size_t i;
	int rc;

	if ((rc = check_options(lo, e)) != FX_OK)
		return rc;
	for (i = 0; i < lo->ntargets; i++) {
		const struct target_kind *k = kind_of(lo->targets[i]);
		void *parsed = NULL;

		if ((rc = k->check(lo->targets[i], &parsed, e)) != FX_OK ||
		    (rc = k->open(lo->targets[i], parsed, lo, &te->plan, &te->t[te->n], e)) != FX_OK)
			return rc;
		te->n++;
	}
	return FX_OK;
}

static int severity(int code)
{
	return code == FX_VERIFY ? 3 : code == FX_TARGET ? 2 : code != FX_OK;
}

/* The report of every target that started; the worst verdict wins: the bundle's
 * (FX_VERIFY), then a target's (FX_TARGET), then I/O. */
static int report_targets(struct tee *te, struct ferr *e)
{
	struct ferr worst = {0, ""};
	size_t i;

	for (i = 0; i < te->nheaded; i++) {
		struct ferr target_err = {0, ""};

		if (severity(te->t[i].report(te->t[i].sink.ctx, te->finished, &target_err)) > severity(worst.code))
			worst = target_err;
	}
	if (worst.code == FX_OK)
		return FX_OK;
	return fe_set(e, worst.code, "%s", worst.msg);
}

int load_run(const char *bundle, const struct read_opts *ro, const struct load_opts *lo, struct ferr *e)
{
	struct tee te;
	struct sink s;
	struct bundle_head h;
	struct read_report rep;
	struct ferr target_err = {0, ""};
	size_t i;
	int rc, trc;

	memset(&te, 0, sizeof(te));
	memset(&h, 0, sizeof(h));
	te.lo = lo;
	te.progress = !lo->quiet && isatty(2);
	http_global_init(); /* before any thread */
	te.t = xcalloc(lo->ntargets ? lo->ntargets : 1, sizeof(*te.t));
	te.want = xcalloc(lo->ntargets ? lo->ntargets : 1, 1);
	if ((rc = open_targets(&te, lo, e)) != FX_OK)
		goto end;
	memset(&s, 0, sizeof(s));
	s.ctx = &te;
	s.head = tee_head;
	s.begin = tee_begin;
	s.data = tee_data;
	s.end = tee_end;
	s.drain = tee_drain;
	s.finish = tee_finish;
	rc = bundle_read(bundle, ro, &s, &h, &rep, e);
	if (te.shown)
		fputs("\r\033[K", stderr);
	if (rc == FX_OK && rep.present > 0)
		fprintf(stderr, "%s: %s: %zu blobs already held by every target by digest: not read again\n",
		    fx_progname, ESC(bundle), rep.present);
	if ((trc = report_targets(&te, &target_err)) != FX_OK && rc == FX_OK)
		rc = fe_set(e, trc, "%s", target_err.msg);
end:
	for (i = 0; i < te.n; i++)
		te.t[i].free(te.t[i].sink.ctx);
	free(te.t);
	free(te.want);
	target_plan_free(&te.plan);
	bundle_head_free(&h);
	return rc;
}
