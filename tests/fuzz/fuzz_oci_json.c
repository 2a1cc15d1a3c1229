/* fuzz_oci_json.c - libFuzzer target for the JSON parsers of image inputs: OCI
 * manifests and indexes, image configs, oci-layout, docker save manifest.json, and
 * docker references. The first byte picks the parser; a parsed manifest or index is
 * written back and must parse again to the same descriptors.
 *
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *     tests/fuzz/fuzz_oci_json.c src/oci.c src/docker_archive.c src/util.c src/sums.c \
 *     $(pkg-config --cflags --libs jansson openssl) -o build/fuzz_oci_json
 *   build/fuzz_oci_json -max_total_time=20 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/docker_archive.h"
#include "image/oci.h"

static void roundtrip(const struct oci_doc *d)
{
	struct oci_doc again;
	struct ferr e = {0};
	size_t len = 0, i;
	char *s;

	if (d->kind == OCI_KIND_MANIFEST)
		s = oci_manifest_write(&d->config, d->descs, d->ndescs, &len);
	else
		s = oci_index_write(d->descs, d->ndescs, &len);
	if (oci_doc_parse(s, len, NULL, "roundtrip", &again, &e) != 0)
		abort();
	if (again.kind != d->kind || again.ndescs != d->ndescs)
		abort();
	for (i = 0; i < d->ndescs; i++)
		if (memcmp(again.descs[i].digest, d->descs[i].digest, SHA256_LEN) != 0 ||
		    again.descs[i].size != d->descs[i].size)
			abort();
	oci_doc_free(&again);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *mts[] = {NULL, OCI_MT_MANIFEST, OCI_MT_INDEX, DOCKER_MT_MANIFEST};
	struct ferr e = {0};
	const char *buf = (const char *)data + 1;
	size_t len;

	if (size < 1)
		return 0;
	len = size - 1;
	switch (data[0] % 8) {
	case 0: case 1: case 2: case 3: {
		struct oci_doc d;
		if (oci_doc_parse(buf, len, mts[data[0] % 4], "fuzz", &d, &e) == 0) {
			roundtrip(&d);
			oci_doc_free(&d);
		}
		break;
	}
	case 4: {
		struct oci_config c;
		if (oci_config_parse(buf, len, "fuzz", &c, &e) == 0) {
			free(oci_config_platform(&c));
			oci_config_free(&c);
		}
		break;
	}
	case 5: {
		struct docker_save ds;
		if (docker_manifest_parse(buf, len, "fuzz", &ds, &e) == 0) {
			size_t idx;
			struct ferr e2 = {0};
			(void)docker_save_pick(&ds, "1", NULL, "fuzz", &idx, &e2);
			docker_save_free(&ds);
		}
		break;
	}
	case 6:
		(void)oci_layout_check(buf, len, "fuzz", &e);
		break;
	default: {
		char *s = malloc(len + 1);
		struct oci_ref r;
		if (s == NULL)
			return 0;
		memcpy(s, buf, len);
		s[len] = '\0';
		if (oci_ref_parse(s, &r, &e) == 0) {
			char *full = oci_ref_string(&r);
			struct oci_ref r2;
			struct ferr e2 = {0};
			/* the full form is a fixed point */
			if (oci_ref_parse(full, &r2, &e2) != 0)
				abort();
			{
				char *again = oci_ref_string(&r2);
				if (strcmp(again, full) != 0)
					abort();
				free(again);
			}
			oci_ref_free(&r2);
			free(full);
			oci_ref_free(&r);
		}
		free(s);
		break;
	}
	}
	return 0;
}
