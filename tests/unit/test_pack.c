/* test_pack.c - pack applies the limits a loader applies to a bundle's head: each one
 * named when it is over, and a bundle.yaml the loader's parser refuses is caught. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/bundle.h"
#include "bundle/manifest.h"
#include "cli/pack.h"
#include "util/util.h"

static int failures;

#include "check.h"

static void test_head_limits(void)
{
	static const struct {
		size_t yaml, sums, sig;
		int code;
		const char *says;
	} cases[] = {
		{BUNDLE_YAML_MAX, BUNDLE_SUMS_MAX, BUNDLE_SIG_MAX, FX_OK, NULL},
		{BUNDLE_YAML_MAX + 1, 100, 100, FX_USAGE, "bundle.yaml would be 16777217 bytes, more than the 16 MiB"},
		{100, BUNDLE_SUMS_MAX + 1, 100, FX_USAGE, "SHA256SUMS would be 67108865 bytes, more than the 64 MiB"},
		{100, 100, BUNDLE_SIG_MAX + 1, FX_USAGE, "the signature is 1048577 bytes, more than the 1 MiB"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ferr e = {0, ""};
		int rc = pack_head_limits("s.yaml", cases[i].yaml, cases[i].sums, cases[i].sig, &e);
		CHECK(rc == cases[i].code);
		CHECK(cases[i].says == NULL || (strncmp(e.msg, "s.yaml: ", 8) == 0 && strstr(e.msg, cases[i].says) != NULL));
		if (rc != cases[i].code || (cases[i].says != NULL && strstr(e.msg, cases[i].says) == NULL))
			fprintf(stderr, "  case %zu: %s\n", i, e.msg);
	}
}

/* What pack writes must read back through the loader's parser, with its limits: a
 * layer count over MAN_LAYERS_MAX is refused there (pack reads its output back). */
static void test_layers_limit(void)
{
	static const int counts[] = {3, MAN_LAYERS_MAX, MAN_LAYERS_MAX + 1};
	size_t i;

	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		struct manifest m, back;
		struct man_image im;
		struct ferr e = {0, ""};
		char *yaml = NULL;
		size_t len = 0;
		int rc;

		memset(&m, 0, sizeof(m));
		memset(&im, 0, sizeof(im));
		im.ref = "ferry.test/a:1";
		im.digest = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
		im.layers = counts[i];
		m.name = "t";
		m.version = "1";
		m.images = &im;
		m.nimages = 1;
		CHECK(manifest_emit(&m, &yaml, &len, &e) == FX_OK);
		rc = manifest_parse(yaml, len, &back, &e);
		CHECK((rc == FX_OK) == (counts[i] <= MAN_LAYERS_MAX));
		if (rc == FX_OK) {
			CHECK(back.nimages == 1 && back.images[0].layers == counts[i]);
			manifest_free(&back);
		} else {
			CHECK(strstr(e.msg, "'layers' out of range") != NULL);
		}
		free(yaml);
	}
}

int main(void)
{
	test_head_limits();
	test_layers_limit();
	if (failures != 0) {
		fprintf(stderr, "test_pack: %d failures\n", failures);
		return 1;
	}
	printf("test_pack: ok\n");
	return 0;
}
