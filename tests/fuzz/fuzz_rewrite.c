/* fuzz_rewrite.c - libFuzzer target for what `ferry-load rewrite` reads: Compose and
 * Helm values files (rw_text, with the YAML scalar editor under it) and image maps
 * (imap_parse). The first byte picks the mode: 0-2 a deployment file rewritten against
 * a fixed map (bit 0: --pin-digest; 2: against the map the fuzzed file itself parses
 * to, when it is one), 3 a JSON map, 4 a YAML map.
 *
 * Checked beyond "no crash, no leak": every refusal has a message that names the file;
 * a rewrite that succeeds gives a text that rewrites again to the same bytes with
 * nothing changed (idempotent) and in which every byte outside the edited scalars is
 * kept (same length when nothing was rewritten, same bytes then); a map that parses
 * is written out (JSON and YAML) and parses again to the same entries. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/imagemap.h"
#include "cli/rewrite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DA "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DB "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define TGT "registry://reg.internal:5000/acme"

static const char fixed_map[] =
    "{\"apiVersion\":\"ferry/v1\",\"kind\":\"ImageMap\",\"images\":["
    "{\"source\":\"ghcr.io/acme/api:1.2.0\",\"target\":\"" TGT "\","
    "\"reference\":\"reg.internal:5000/acme/acme/api:1.2.0\",\"digest\":\"" DA "\"},"
    "{\"source\":\"nginx:1.25\",\"target\":\"" TGT "\","
    "\"reference\":\"reg.internal:5000/acme/library/nginx:1.25\",\"digest\":\"" DB "\"},"
    "{\"source\":\"ferry.test/db@" DB "\",\"target\":\"" TGT "\","
    "\"reference\":\"[::1]:5000/db@" DB "\",\"digest\":\"" DB "\"}]}";

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_rewrite: %s: %s\n", what, detail);
	abort();
}

static void rewrite_twice(const struct rw_map *rm, const char *text, size_t len)
{
	struct rw_result r, again;
	struct ferr e = {0};

	if (rw_text(rm, "f.yaml", text, len, &r, &e) != FX_OK) {
		if (e.code != FX_USAGE || strncmp(e.msg, "f.yaml", 6) != 0)
			die("a refusal that is not a usage error naming the file", e.msg);
		return;
	}
	if (r.rewritten == 0 && (r.len != len || memcmp(r.text, text, len) != 0))
		die("nothing rewritten, yet the text changed", "");
	if (rw_text(rm, "f.yaml", r.text, r.len, &again, &e) != FX_OK)
		die("the rewritten text is refused", e.msg);
	if (again.rewritten != 0 || again.len != r.len || memcmp(again.text, r.text, r.len) != 0)
		die("not idempotent", r.text);
	if (again.unchanged != r.unchanged + r.rewritten)
		die("a rewritten reference is not recognised the second time", r.text);
	rw_result_free(&again);
	rw_result_free(&r);
}

static int same_entries(const struct imap *a, const struct imap *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i].source, b->v[i].source) != 0 || strcmp(a->v[i].target, b->v[i].target) != 0 ||
		    strcmp(a->v[i].reference, b->v[i].reference) != 0 || strcmp(a->v[i].digest, b->v[i].digest) != 0)
			return 0;
	return 1;
}

static void map_round_trip(const char *text, size_t len, int yaml)
{
	struct imap m, back;
	struct ferr e = {0};
	char *out;
	size_t olen;
	int y;

	if (imap_parse(text, len, yaml, "m", &m, &e) != FX_OK) {
		if (e.code != FX_USAGE || e.msg[0] == '\0')
			die("a map refusal without a message", e.msg);
		return;
	}
	for (y = 0; y <= 1; y++) {
		if (imap_format(&m, y, &out, &olen, &e) != FX_OK)
			die("a map that parsed cannot be written", e.msg);
		if (imap_parse(out, olen, y, "m", &back, &e) != FX_OK)
			die("a written map does not parse", e.msg);
		if (!same_entries(&m, &back))
			die("a written map parses to other entries", out);
		imap_free(&back);
		free(out);
	}
	imap_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap m;
	struct rw_map rm;
	struct ferr e = {0};
	const char *text = (const char *)data + 1;
	int mode;

	if (size < 1)
		return 0;
	mode = data[0] % 5;
	size--;
	if (mode == 3 || mode == 4) {
		map_round_trip(text, size, mode == 4);
		return 0;
	}
	if (mode == 2) {
		/* the input as its own map (YAML), then as a file rewritten against it */
		if (imap_parse(text, size, 1, "m", &m, &e) != FX_OK)
			return 0;
	} else if (imap_parse(fixed_map, strlen(fixed_map), 0, "m", &m, &e) != FX_OK) {
		die("the fixed map does not parse", e.msg);
	}
	if (rw_map_init(&rm, &m, NULL, mode == 1, &e) == FX_OK) {
		rewrite_twice(&rm, text, size);
		rw_map_free(&rm);
	} else if (mode != 2) {
		die("the fixed map is refused", e.msg);
	}
	imap_free(&m);
	return 0;
}
