/* fuzz_sums.c - libFuzzer target for SHA256SUMS parsing (the first entry of every
 * bundle, read before anything is verified). A list that parses is canonical: written
 * back with sums_format it is the same bytes, and every path in it is found. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/sums.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sums s;
	struct ferr e = {0};
	const char *buf = (const char *)data;
	char *out;
	size_t len = 0, i;

	if (sums_parse(buf, size, &s, &e) != FX_OK) {
		if (e.msg[0] == '\0' || s.n != 0 || s.v != NULL)
			abort(); /* a failure names its line and leaves nothing behind */
		return 0;
	}
	if (s.n == 0)
		abort();
	for (i = 0; i < s.n; i++) {
		if (entry_name_problem(s.v[i].path) != NULL)
			abort();
		if (sums_find(&s, s.v[i].path) != &s.v[i])
			abort();
	}
	out = sums_format(&s, &len);
	if (len != size || memcmp(out, buf, size) != 0)
		abort();
	free(out);
	sums_free(&s);
	return 0;
}
