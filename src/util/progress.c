/* progress.c - the progress line (see progress.h). */
#include "util/progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"

#define REDRAW_MS 200

int progress_wanted(int quiet)
{
	return !quiet && isatty(STDERR_FILENO);
}

void progress_init(struct progress *p, int on, const char *what)
{
	memset(p, 0, sizeof(*p));
	p->on = on;
	p->what = what;
}

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void draw(struct progress *p, int force)
{
	struct timespec now;
	char done[32], total[32], rate[32], item[200] = "", left[32] = "";
	double elapsed;

	if (!p->on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!force && p->shown && seconds_between(&p->last, &now) * 1000 < REDRAW_MS)
		return;
	p->last = now;
	elapsed = seconds_between(&p->t0, &now);
	if (p->item[0] != '\0' && p->count > 0)
		snprintf(item, sizeof(item), " %s (%zu/%zu)", p->item, p->index, p->count);
	else if (p->item[0] != '\0')
		snprintf(item, sizeof(item), " %s", p->item);
	if (p->total == 0 && p->done == 0) { /* counting items only */
		fprintf(stderr, "\r\033[K%s: %s%s", fx_progname, p->what, item);
		fflush(stderr);
		p->shown = 1;
		return;
	}
	fmt_bytes(elapsed > 0.05 ? (uint64_t)((double)p->done / elapsed) : 0, rate, sizeof(rate));
	if (elapsed > 0.5 && p->done > 0 && p->total > p->done) {
		double secs = elapsed * (double)(p->total - p->done) / (double)p->done;

		if (secs < 360000)
			snprintf(left, sizeof(left), ", %d:%02d left", (int)secs / 60, (int)secs % 60);
	}
	fprintf(stderr, "\r\033[K%s: %s%s: %3d%% %s of %s, %s/s%s", fx_progname, p->what, item,
	    p->total ? (int)(p->done * 100 / p->total) : 100, fmt_bytes(p->done, done, sizeof(done)),
	    fmt_bytes(p->total, total, sizeof(total)), rate, left);
	fflush(stderr);
	p->shown = 1;
}

void progress_start(struct progress *p, uint64_t total)
{
	p->total = total;
	p->done = 0;
	p->item[0] = '\0';
	p->index = p->count = 0;
	clock_gettime(CLOCK_MONOTONIC, &p->t0);
	draw(p, 1);
}

void progress_item(struct progress *p, const char *item, size_t index, size_t count)
{
	int next = index != p->index || count != p->count; /* drawn at once: one per image */

	fx_esc(item != NULL ? item : "", p->item, sizeof(p->item));
	p->index = index;
	p->count = count;
	draw(p, next && count > 0);
}

void progress_add(struct progress *p, uint64_t n)
{
	p->done += n;
	if (p->done > p->total)
		p->total = p->done;
	draw(p, 0);
}

void progress_clear(struct progress *p)
{
	if (!p->shown)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	p->shown = 0;
}

void progress_end(struct progress *p)
{
	if (!p->shown)
		return;
	draw(p, 1);
	progress_clear(p);
}
