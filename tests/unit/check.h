/* check.h - the unit tests' one assertion: CHECK(cond) counts, names the failing line
 * and condition on stderr, and goes on; CHECK_MSG adds a formatted description.
 * main ends with `return check_report("test_x");` (or looks at failures itself). */
#ifndef FERRY_TEST_CHECK_H
#define FERRY_TEST_CHECK_H

#include <stdio.h>

/* Tentative definitions: a test that still declares `static int failures;` itself
 * refers to the same counter. */
static int failures;
static int checks;

#define CHECK(cond) CHECK_MSG(cond, "%s", #cond)

#define CHECK_MSG(cond, ...)                                                   \
	do {                                                                       \
		checks++;                                                              \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: check failed: ", __FILE__, __LINE__);      \
			fprintf(stderr, __VA_ARGS__);                                      \
			fputc('\n', stderr);                                               \
			failures++;                                                        \
		}                                                                      \
	} while (0)

/* One line with the counts; the exit code of the test: 0 when every check held. */
static inline int check_report(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, checks, failures);
	return failures != 0;
}

#endif
