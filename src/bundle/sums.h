/* sums.h - SHA256SUMS lists, and the rules for entry names. */
#ifndef FERRY_SUMS_H
#define FERRY_SUMS_H

#include <stddef.h>
#include <stdint.h>

#include "util/digest.h"
#include "util/util.h"

struct sum_line {
	char *path;
	unsigned char digest[SHA256_LEN];
	int seen; /* set by a reader when the entry arrived */
};

struct sums {
	struct sum_line *v;
	size_t n, cap;
};

/* Parses sha256sum output strictly: "<64 lower-case hex>  <path>\n" lines, paths valid
 * entry names, sorted, no duplicates. 0 ok, else FX_VERIFY with e naming the line. */
int sums_parse(const char *buf, size_t len, struct sums *out, struct ferr *e);
void sums_add(struct sums *s, const char *path, const unsigned char digest[SHA256_LEN]);
void sums_sort(struct sums *s);
/* Returns a malloc'd "hex  path\n" text, sorted; s must be sorted. */
char *sums_format(const struct sums *s, size_t *len);
struct sum_line *sums_find(const struct sums *s, const char *path); /* s sorted */
void sums_free(struct sums *s);

/* Checks that name is a safe relative entry name: "/"-separated, no empty, "." or ".."
 * parts, no leading "/", no control characters or backslash, at most 1024 bytes.
 * Returns NULL when fine, else a short reason. */
const char *entry_name_problem(const char *name);

#endif
