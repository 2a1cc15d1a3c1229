/* cli.c - the parts of a command line both mains share; see cli.h. */
#include "cli/cli.h"
#include "crypto/pgp.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DATE 253402300799LL /* 9999-12-31T23:59:59Z */

static void print_usage(FILE *f, const struct cli_verb *verb)
{
	fputs(verb->usage, f);
	if (verb->common != NULL)
		fputs(verb->common, f);
}

/* The last usage error's message, for a --json document (the mains are single-threaded
 * when they parse). */
static char last_usage_error[1024];

const char *cli_last_usage_error(void)
{
	return last_usage_error;
}

int cli_usage_error(const struct cli_verb *verb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_usage_error, sizeof(last_usage_error), fmt, ap);
	va_end(ap);
	va_start(ap, fmt);
	fx_vwarn(fmt, ap);
	va_end(ap);
	print_usage(stderr, verb);
	return FX_USAGE;
}

static int is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int cli_start(const char *name, int argc, char **argv, const struct cli_verb *main_usage)
{
	fx_progname = name;
	fx_install_signal_handlers();
	pgp_locale_init(); /* before any thread */
	if (argc < 2) {
		print_usage(stderr, main_usage);
		return FX_USAGE;
	}
	if (is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
		print_usage(stdout, main_usage);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("%s %s\n", name, FERRY_VERSION);
		return 0;
	}
	return -1;
}

const struct cli_verb *cli_find_verb(const struct cli_verb *verbs, const struct cli_verb *main_usage,
    int argc, char **argv, int *words, int *rc)
{
	const struct cli_verb *v, *group = NULL;

	for (v = verbs; v->name != NULL; v++) {
		size_t n = strcspn(v->name, " ");

		if (strncmp(v->name, argv[1], n) != 0 || argv[1][n] != '\0')
			continue;
		if (v->name[n] == '\0') {
			*words = 1;
			return v;
		}
		if (group == NULL)
			group = v;
		if (argc > 2 && strcmp(v->name + n + 1, argv[2]) == 0) {
			*words = 2;
			return v;
		}
	}
	if (group == NULL) {
		*rc = cli_usage_error(main_usage, "unknown verb '%s'", ESC(argv[1]));
	} else if (argc > 2 && is_help(argv[2])) {
		for (v = group; v->name != NULL; v++)
			if (strncmp(v->name, group->name, strcspn(group->name, " ") + 1) == 0)
				print_usage(stdout, v);
		*rc = 0;
	} else if (argc > 2) {
		*rc = cli_usage_error(group, "%s: unknown subcommand '%s'", argv[1], ESC(argv[2]));
	} else {
		*rc = cli_usage_error(group, "%s: the subcommand is missing (%s ...)", argv[1], group->name);
	}
	return NULL;
}

/* The option getopt could not take: unknown, or without its value. */
static int bad_option(const struct cli_option *table, const struct cli_verb *verb, char **argv, int c)
{
	const struct cli_option *o;
	char letter[2] = {(char)optopt, '\0'};

	if (c == ':') {
		for (o = table; o->name != NULL && o->id != optopt; o++)
			;
		if (o->name != NULL)
			return cli_usage_error(verb, "option --%s needs a value", o->name);
		return cli_usage_error(verb, "option -%s needs a value", ESC(letter));
	}
	if (optopt != 0)
		return cli_usage_error(verb, "unknown option -%s", ESC(letter));
	return cli_usage_error(verb, "unknown option %s", ESC(argv[optind - 1]));
}

int cli_parse(int argc, char **argv, const struct cli_option *table, const struct cli_verb *verb,
    int (*take)(void *ctx, int id, char *value), void *ctx, int *first)
{
	struct option *longopts;
	char shortopts[64] = ":h"; /* ':' first: a missing value is told from an unknown option */
	size_t n, i, k = 0, s = 2;
	int c, rc = FX_OK, own;

	for (n = 0; table[n].name != NULL; n++)
		;
	longopts = xcalloc(n + 2, sizeof(*longopts));
	/* the verb's own lines first: getopt_long takes the first line of a name */
	for (own = 1; own >= 0; own--) {
		for (i = 0; i < n; i++) {
			if (!(table[i].verbs & CLI_VERB(verb->id)) != !own)
				continue;
			longopts[k].name = table[i].name;
			longopts[k].has_arg = table[i].has_arg;
			longopts[k++].val = table[i].id;
		}
	}
	for (i = 0; i < n; i++) {
		if (table[i].id < 256 && s + 3 < sizeof(shortopts)) {
			shortopts[s++] = (char)table[i].id;
			if (table[i].has_arg == required_argument)
				shortopts[s++] = ':';
		}
	}
	longopts[n].name = "help";
	longopts[n].val = 'h';
	shortopts[s] = '\0';
	optind = 0; /* a fresh start, whatever parsed before */
	opterr = 0; /* the messages are ours, with argv escaped */
	while (rc == FX_OK && (c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		const struct cli_option *o;

		if (c == 'h') {
			print_usage(stdout, verb);
			rc = CLI_HELP;
			break;
		}
		if (c == '?' || c == ':') {
			rc = bad_option(table, verb, argv, c);
			break;
		}
		for (o = table; o->name != NULL && o->id != c; o++)
			;
		if (!(o->verbs & CLI_VERB(verb->id)))
			rc = cli_usage_error(verb, "option --%s does not apply to %s", o->name, verb->name);
		else
			rc = take(ctx, c, optarg);
	}
	*first = optind;
	free(longopts);
	return rc;
}

int cli_wants_json(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--json") == 0)
			return 1;
	return 0;
}

int cli_finish(int rc, struct ferr *e)
{
	errno = 0;
	if (fflush(stdout) != 0 || ferror(stdout))
		fe_set(e, FX_IO, "stdout: %s", errno != 0 ? strerror(errno) : "write error");
	if (e->code != 0) {
		fe_report(e);
		return e->code;
	}
	return rc;
}

int cli_parse_number(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	uint64_t v;

	if (parse_u64(s, &v) != 0 || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int cli_parse_now(const char *s, int64_t *out)
{
	uint64_t v;

	if (parse_u64(s, &v) == 0) {
		if (v > (uint64_t)MAX_DATE)
			return -1;
		*out = (int64_t)v;
		return 0;
	}
	return parse_time_utc(s, out);
}

int cli_parse_date(const char *s, int64_t now, int64_t *out)
{
	char days_text[16];
	size_t n = strlen(s);
	uint64_t days;

	if (s[0] != '+')
		return parse_time_utc(s, out) == 0 && *out <= MAX_DATE ? 0 : -1;
	/* +Nd */
	if (n < 3 || n - 1 >= sizeof(days_text) || s[n - 1] != 'd')
		return -1;
	memcpy(days_text, s + 1, n - 2);
	days_text[n - 2] = '\0';
	if (parse_u64(days_text, &days) != 0 || days > 365000)
		return -1;
	*out = now + (int64_t)days * 86400;
	return *out <= MAX_DATE ? 0 : -1;
}
