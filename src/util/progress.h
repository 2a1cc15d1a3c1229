/* progress.h - one progress line on a terminal (stderr) for long work: what is being
 * done and on which item, bytes done of the total, the rate and the time left. Drawn
 * only when enabled (progress_wanted: stderr is a terminal and not -q), at most five
 * times a second, and cleared at the end; off a terminal nothing is ever written. One
 * thread feeds a meter. */
#ifndef FERRY_PROGRESS_H
#define FERRY_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct progress {
	int on;               /* draws at all */
	const char *what;     /* "verifying", "writing"... */
	char item[160];       /* what is worked on now, escaped; "" for none */
	size_t index, count;  /* item index of count (1-based), 0: not shown */
	uint64_t total, done;
	struct timespec t0, last;
	int shown;            /* a line is on the screen */
};

/* 1 when progress should be drawn: not quiet and stderr is a terminal. */
int progress_wanted(int quiet);
void progress_init(struct progress *p, int on, const char *what);
/* Starts (again) at 0 of total bytes; the rate is measured from here. */
void progress_start(struct progress *p, uint64_t total);
/* The item now worked on (untrusted text is escaped), as index of count (0: none). */
void progress_item(struct progress *p, const char *item, size_t index, size_t count);
void progress_add(struct progress *p, uint64_t n);
/* Clears the line before other output (a warning); the next update draws it again. */
void progress_clear(struct progress *p);
/* The last state drawn, then the line cleared (the next output starts on a clean line). */
void progress_end(struct progress *p);

#endif
