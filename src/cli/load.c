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
#include "cli/cosign_check.h"
#include "cli/load_delta.h"
#include "bundle/state.h"
#include "net/http.h"
#include "target/docker_sink.h"
#include "target/ocidir.h"
#include "target/registry.h"
#include "util/progress.h"

static const struct target_kind kinds[] = {
	{"registry://", 1, registry_target_check, registry_target_open},
	{"oci:", 1, ocidir_target_check, ocidir_target_open},
	{"docker://", 0, docker_target_check, docker_target_open},
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
	if (lo->charts_path != NULL && !target_charts_path_valid(lo->charts_path))
		return fe_set(e, FX_USAGE, "--charts-path %s: a repository path (lower-case letters and digits, "
		    "parts joined by '/', '.', '_' or '-')", ESC(lo->charts_path));
	if (lo->charts_only && (lo->no_charts || lo->nimages > 0))
		return fe_set(e, FX_USAGE, "--charts-only: not with %s", lo->no_charts ? "--no-charts" : "--image");
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
	const char *bundle;
	const struct load_opts *lo;
	const struct read_opts *ro;
	const struct sink *sink;  /* this tee as a sink: a delta's base blobs come through it */
	int refused;              /* a delta the targets lack blobs of: nothing was sent */
	struct load_target *targets;
	size_t ntargets;
	unsigned char *want;     /* which targets take the current entry's data */
	struct target_plan plan; /* built at head(), read by every target that takes charts */
	struct target_plan image_plan; /* the same without the charts, for the others */
	size_t nheaded;          /* targets whose head() ran: they report */
	int finished;
	struct progress meter;   /* on a terminal: the images' bytes */
	uint64_t cur_size;       /* the current entry's, when it is an image's */
	struct cosign_check *cosign; /* --cosign-key: keeps the signatures as they stream past */
	int cosign_wants;        /* it takes the current entry's data */
};

static int tee_head(void *ctx, const struct bundle_head *h, struct ferr *e)
{
	struct tee *tee = ctx;
	const struct manifest *m = &h->man;
	struct plan_select sel = {tee->lo->images, tee->lo->nimages, tee->lo->charts_only, !tee->lo->no_charts,
	    tee->lo->charts_path, 1};
	uint64_t total = 0;
	size_t i;
	int rc;

	if ((rc = target_plan_select(&tee->plan, m, &h->sums, &sel, e)) != FX_OK)
		return rc;
	sel.charts = 0;
	sel.signatures = 0; /* docker:// has no place for them */
	if ((rc = target_plan_select(&tee->image_plan, m, &h->sums, &sel, e)) != FX_OK)
		return rc;
	tee->image_plan.charts_left_out = tee->plan.ncharts;
	if (tee->lo->nbases > 0 && m->nbases == 0)
		return fe_set(e, FX_USAGE, "--base: %s is not a delta bundle", ESC(tee->bundle));
	for (i = 0; i < m->nentries; i++)
		if (strncmp(m->entries[i].path, "images/", 7) == 0)
			total += m->entries[i].size;
	for (i = 0; i < tee->plan.nblobs && tee->lo->nbases > 0; i++)
		if (tee->plan.blobs[i].base != PLAN_NONE)
			total += tee->plan.blobs[i].size; /* may come from a --base */
	progress_start(&tee->meter, total);
	if (tee->cosign != NULL)
		cosign_check_head(tee->cosign, m);
	for (i = 0; i < tee->ntargets; i++) {
		if (tee->targets[i].sink.head != NULL && (rc = tee->targets[i].sink.head(tee->targets[i].sink.ctx, h, e)) != FX_OK)
			return rc;
		tee->nheaded = i + 1;
	}
	if (tee->plan.nrequired > 0 &&
	    (rc = delta_supply(tee->bundle, &tee->plan, tee->targets, tee->ntargets, tee->lo, tee->ro, tee->sink, e)) != FX_OK)
		tee->refused = 1; /* its error says why; the targets have nothing to report */
	return rc;
}

static int tee_begin(void *ctx, const char *name, uint64_t size, const struct entry_loc *loc, int *want,
    struct ferr *e)
{
	struct tee *tee = ctx;
	size_t i;
	int rc, any = 0, all_present = tee->ntargets > 0;

	tee->cur_size = strncmp(name, "images/", 7) == 0 ? size : 0;
	tee->cosign_wants = tee->cosign != NULL && cosign_check_begin(tee->cosign, name, size);
	/* With one target, it may read a large entry itself by position (in parallel with
	 * the stream); several targets share the one stream (and so does the cosign check). */
	if (tee->ntargets != 1 || tee->targets[0].sink.drain == NULL || tee->cosign_wants)
		loc = NULL;
	for (i = 0; i < tee->ntargets; i++) {
		int target_want = 0;

		if ((rc = tee->targets[i].sink.begin(tee->targets[i].sink.ctx, name, size, loc, &target_want, e)) != FX_OK)
			return rc;
		if (target_want == SINK_RANGED) { /* only ever the one target */
			*want = SINK_RANGED;
			progress_add(&tee->meter, tee->cur_size); /* no end() comes for it */
			return FX_OK;
		}
		tee->want[i] = (unsigned char)(target_want > 0);
		any |= target_want > 0;
		all_present &= target_want == SINK_PRESENT;
	}
	/* the entry is left unread only when every target holds it already */
	all_present &= !tee->cosign_wants;
	*want = all_present ? SINK_PRESENT : any || tee->cosign_wants;
	if (all_present)
		progress_add(&tee->meter, tee->cur_size); /* no end() comes for it */
	return FX_OK;
}

static int tee_data(void *ctx, const void *buf, size_t n, struct ferr *e)
{
	struct tee *tee = ctx;
	size_t i;
	int rc;

	if (tee->cosign_wants)
		cosign_check_data(tee->cosign, buf, n);
	for (i = 0; i < tee->ntargets; i++)
		if (tee->want[i] && (rc = tee->targets[i].sink.data(tee->targets[i].sink.ctx, buf, n, e)) != FX_OK)
			return rc;
	return FX_OK;
}

static int tee_end(void *ctx, const char *name, int ok, struct ferr *e)
{
	struct tee *tee = ctx;
	size_t i;
	int rc = FX_OK, r;

	if (tee->cosign_wants)
		cosign_check_end(tee->cosign, ok);
	tee->cosign_wants = 0;
	for (i = 0; i < tee->ntargets; i++)
		if ((r = tee->targets[i].sink.end(tee->targets[i].sink.ctx, name, ok, e)) != FX_OK && rc == FX_OK)
			rc = r;
	progress_add(&tee->meter, tee->cur_size);
	return rc;
}

static void tee_drain(void *ctx)
{
	struct tee *tee = ctx;
	size_t i;

	for (i = 0; i < tee->ntargets; i++)
		if (tee->targets[i].sink.drain != NULL)
			tee->targets[i].sink.drain(tee->targets[i].sink.ctx);
}

/* --cosign-key: the images of plan none of whose signatures verifies are refused
 * before any target pushes their manifests. */
static void refuse_unsigned(struct target_plan *plan, struct cosign_check *cc)
{
	size_t i;

	for (i = 0; i < plan->nimages; i++)
		if (plan->images[i].chart == NULL)
			plan->images[i].refused = cosign_check_image(cc, (size_t)(plan->images[i].mi - plan->man->images));
}

static int tee_finish(void *ctx, int all_ok, struct ferr *e)
{
	struct tee *tee = ctx;
	size_t i;
	int rc = FX_OK, r;

	progress_end(&tee->meter);
	if (tee->cosign != NULL) {
		refuse_unsigned(&tee->plan, tee->cosign);
		refuse_unsigned(&tee->image_plan, tee->cosign);
	}
	for (i = 0; i < tee->ntargets; i++)
		if ((r = tee->targets[i].sink.finish(tee->targets[i].sink.ctx, all_ok, e)) != FX_OK && rc == FX_OK)
			rc = r;
	tee->finished = 1;
	return rc;
}

/* Makes every target: its syntax checked once more (a library call), parsed, opened. */
static int open_targets(struct tee *tee, const struct load_opts *lo, struct ferr *e)
{
	size_t i;
	int rc;

	if ((rc = check_options(lo, e)) != FX_OK)
		return rc;
	for (i = 0; i < lo->ntargets; i++) {
		const struct target_kind *kind = kind_of(lo->targets[i]);
		void *parsed = NULL;

		if ((rc = kind->check(lo->targets[i], &parsed, e)) != FX_OK ||
		    (rc = kind->open(lo->targets[i], parsed, lo, kind->takes_charts ? &tee->plan : &tee->image_plan,
		    &tee->targets[tee->ntargets], e)) != FX_OK)
			return rc;
		tee->ntargets++;
	}
	return FX_OK;
}

static int severity(int code)
{
	return code == FX_VERIFY ? 3 : code == FX_TARGET ? 2 : code != FX_OK;
}

/* The report of every target that started; the worst verdict wins: the bundle's
 * (FX_VERIFY), then a target's (FX_TARGET), then I/O. */
static int report_targets(struct tee *tee, struct ferr *e)
{
	struct ferr worst = {0, ""};
	size_t i;

	for (i = 0; i < tee->nheaded; i++) {
		struct ferr target_err = {0, ""};

		if (severity(tee->targets[i].report(tee->targets[i].sink.ctx, tee->finished, &target_err)) > severity(worst.code))
			worst = target_err;
	}
	if (worst.code == FX_OK)
		return FX_OK;
	return fe_set(e, worst.code, "%s", worst.msg);
}

int load_run(const char *bundle, const struct read_opts *ro, const struct load_opts *lo, struct ferr *e)
{
	struct tee tee;
	struct sink tee_sink;
	struct bundle_head head;
	struct read_report rep;
	struct ferr target_err = {0, ""};
	size_t i;
	int rc, target_rc;

	memset(&tee, 0, sizeof(tee));
	memset(&head, 0, sizeof(head));
	tee.bundle = bundle;
	tee.lo = lo;
	tee.ro = ro;
	tee.sink = &tee_sink;
	progress_init(&tee.meter, progress_wanted(lo->quiet), "loading images");
	http_global_init(); /* before any thread */
	tee.targets = xcalloc(lo->ntargets ? lo->ntargets : 1, sizeof(*tee.targets));
	if (lo->cosign_key != NULL)
		tee.cosign = cosign_check_new(lo->cosign_key, lo->cosign_key_name);
	tee.want = xcalloc(lo->ntargets ? lo->ntargets : 1, 1);
	if ((rc = open_targets(&tee, lo, e)) != FX_OK)
		goto end;
	memset(&tee_sink, 0, sizeof(tee_sink));
	tee_sink.ctx = &tee;
	tee_sink.head = tee_head;
	tee_sink.begin = tee_begin;
	tee_sink.data = tee_data;
	tee_sink.end = tee_end;
	tee_sink.drain = tee_drain;
	tee_sink.finish = tee_finish;
	rc = bundle_read(bundle, ro, &tee_sink, &head, &rep, e);
	progress_clear(&tee.meter);
	if (rc == FX_OK && rep.present > 0)
		fprintf(stderr, "%s: %s: %zu blobs already held by every target by digest: not read again\n",
		    fx_progname, ESC(bundle), rep.present);
	if (!tee.refused && (target_rc = report_targets(&tee, &target_err)) != FX_OK && rc == FX_OK)
		rc = fe_set(e, target_rc, "%s", target_err.msg);
	if (rc == FX_OK && ro->fresh != NULL) /* only a load that succeeded is remembered */
		rc = state_record(ro->fresh, &head.man, e);
end:
	for (i = 0; i < tee.ntargets; i++)
		tee.targets[i].free(tee.targets[i].sink.ctx);
	free(tee.targets);
	free(tee.want);
	target_plan_free(&tee.plan);
	target_plan_free(&tee.image_plan);
	cosign_check_free(tee.cosign);
	bundle_head_free(&head);
	return rc;
}
