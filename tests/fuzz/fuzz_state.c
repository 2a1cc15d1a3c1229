/* fuzz_state.c - libFuzzer target for the state file of ferry-load (rollback
 * protection): it lives on the loading machine, but a full disk, another program or a
 * person can leave anything there. A state that parses is written back and must parse
 * to the same records (the emitter never writes what the parser refuses). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const struct load_state *a, const struct load_state *b)
{
	size_t i, j;

	if (a->nbundles != b->nbundles)
		return 0;
	for (i = 0; i < a->nbundles; i++) {
		const struct state_bundle *x = &a->bundles[i], *y = &b->bundles[i];
		if (strcmp(x->vendor, y->vendor) != 0 || strcmp(x->name, y->name) != 0 ||
		    strcmp(x->version, y->version) != 0 || x->sequence != y->sequence || x->loaded != y->loaded ||
		    x->ndowngrades != y->ndowngrades)
			return 0;
		for (j = 0; j < x->ndowngrades; j++)
			if (strcmp(x->downgrades[j].version, y->downgrades[j].version) != 0 ||
			    x->downgrades[j].sequence != y->downgrades[j].sequence ||
			    x->downgrades[j].over != y->downgrades[j].over || x->downgrades[j].at != y->downgrades[j].at)
				return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct load_state st, back;
	struct ferr e = {0};
	char *text;
	size_t len = 0, i;

	if (state_parse((const char *)data, size, "state.json", &st, &e) != FX_OK) {
		if (e.msg[0] == '\0' || st.nbundles != 0 || st.bundles != NULL)
			abort(); /* a failure says why and leaves nothing behind */
		return 0;
	}
	for (i = 0; i < st.nbundles; i++)
		if (state_find(&st, st.bundles[i].vendor, st.bundles[i].name) != &st.bundles[i])
			abort(); /* one record per vendor and name */
	text = state_emit(&st, &len);
	if (state_parse(text, len, "emitted", &back, &e) != FX_OK || !same(&st, &back))
		abort();
	free(text);
	state_free(&back);
	state_free(&st);
	return 0;
}
