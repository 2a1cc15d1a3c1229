/* result.h - the machine-readable result of verify, extract and load (--json): one JSON
 * document on stdout, for success and for every failure exit code, built from what the
 * reader and the targets report (read_observer, load_opts.on_report), never from the
 * text they print. The schema is docs/json.md. */
#ifndef FERRY_RESULT_H
#define FERRY_RESULT_H

#include <time.h>

#include "bundle/bundle.h"
#include "target/target.h"
#include "util/util.h"

#define RESULT_SCHEMA 1
#define RESULT_PROBLEMS_MAX 1000 /* entries listed under "problems"; the rest only counted */

struct run_result {
	const char *command;       /* "verify", "extract", "load" */
	const char *bundle;        /* the BUNDLE argument, NULL before it was known */
	int keep_registry_host;    /* load: for the references the images got */
	const char *directory;     /* extract: -C DIR */
	int64_t started;           /* UTC seconds */
	struct timespec t0;        /* monotonic start */
	struct read_observer observer;
	void *doc;                 /* the document being built (json_t) */
	void *first_problem;       /* entry name -> the first why (json_t object) */
	size_t problems_not_listed; /* past RESULT_PROBLEMS_MAX */
};

/* Starts the document of command (the clock starts now). */
void result_init(struct run_result *r, const char *command);
/* Watches the read (ro->observer) and, for load, the targets' reports (lo). */
void result_watch(struct run_result *r, struct read_opts *ro, struct load_opts *lo);
/* Prints the document on stdout: the verdict of exit code rc, with why (e's message,
 * or usage_why for a usage error found while parsing). */
void result_print(struct run_result *r, int rc, const struct ferr *e, const char *usage_why);
void result_free(struct run_result *r);

#endif
