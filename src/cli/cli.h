/* cli.h - what the two mains share: verbs and their usage texts, one table of options
 * per program (one line an option), the one usage error, and the parsers of the
 * option values both programs take (clock, dates). */
#ifndef FERRY_CLI_H
#define FERRY_CLI_H

#include <stdint.h>

#include "util/util.h"

/* A verb of a program: its words ("build", "license issue") and what --help prints. */
struct cli_verb {
	const char *name;
	int id;             /* the program's enum verb */
	const char *usage;  /* the verb's usage */
	const char *common; /* options shared with other verbs, printed after it, or NULL */
};

#define CLI_VERB(v) (1u << (v))

/* One option: which verbs take it. --help (-h) is every verb's and is not listed.
 * A name may have two lines for different verbs (a flag for one, a file for another):
 * each verb gets its own line. */
struct cli_option {
	const char *name; /* long name without "--" */
	int id;           /* its short letter ('o'), or a number from 256 */
	int has_arg;      /* no_argument or required_argument */
	unsigned verbs;   /* CLI_VERB(v) for each verb that takes it */
};

/* What both programs do first: name, signal handlers, and the answers to no verb,
 * --help and --version. Returns the exit code when that was all, else -1 (go on). */
int cli_start(const char *name, int argc, char **argv, const struct cli_verb *main_usage);

/* Finds the verb that argv[1] (and argv[2] for a two-word verb) names. NULL when there
 * is none: then *rc is the exit code, and the usage error or the help asked for
 * ("license --help") has been printed. *words: how many words the verb took. */
const struct cli_verb *cli_find_verb(const struct cli_verb *verbs, const struct cli_verb *main_usage,
    int argc, char **argv, int *words, int *rc);

/* Goes through the options of argv (argv[0] is the verb's last word; getopt_long, so
 * options and arguments may mix), calling take(ctx, id, value) for each in order.
 * Unknown options, missing values and options of another verb are usage errors.
 * Returns FX_OK with the positional arguments in argv[*first..argc), FX_USAGE (the
 * error printed), or CLI_HELP once the usage is on stdout. */
#define CLI_HELP (-1)
int cli_parse(int argc, char **argv, const struct cli_option *table, const struct cli_verb *verb,
    int (*take)(void *ctx, int id, char *value), void *ctx, int *first);

/* The one usage error of both programs: "PROG: MESSAGE", then the verb's usage, on
 * stderr; returns FX_USAGE. Escape what comes from argv with ESC(). */
int cli_usage_error(const struct cli_verb *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The message of the last usage error ("" when there was none). */
const char *cli_last_usage_error(void);
/* 1 when argv holds the word --json before any "--" (a usage error found before the
 * parser reached it still gets the --json document). */
int cli_wants_json(int argc, char **argv);

/* The end of every verb: e is reported when set, stdout must have been written
 * completely; the exit code is returned (rc when e is not set). */
int cli_finish(int rc, struct ferr *e);

/* --now TIME: seconds since 1970, 2026-11-23 or 2026-11-23T10:00:00Z (UTC). 0 or -1. */
int cli_parse_now(const char *s, int64_t *out);
/* A license DATE: an absolute UTC date or time, or +Nd (N days after now). 0 or -1. */
int cli_parse_date(const char *s, int64_t now, int64_t *out);
/* A decimal number from lo to hi. 0 or -1. */
int cli_parse_number(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);

#endif
