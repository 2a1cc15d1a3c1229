/* registry_delta.c - the registry:// target's answer to a delta bundle: which of the
 * blobs the delta left out the registry holds, in every repository that needs them.
 * A repository that lacks one gets it by a cross-repository mount, from another
 * repository of the load that has it or from the repository of the base bundle's
 * image that carried it (where a load of the base put it). */
#include "target/registry_int.h"

#include <string.h>

#include "net/repo_name.h"

/* Is the blob in repo (1), or can it be mounted there from a repository that has it
 * (2)? 0: neither. */
static int hold_in(struct reg *g, struct rblob *b, const char *repo, const char *from)
{
	struct ferr e = {0, ""};

	if (rg_blob_present(g, g->reader_conn, repo, b, &e) == 1)
		return 1;
	if (from == NULL || rg_blob_present(g, g->reader_conn, from, b, &e) != 1)
		return 0;
	if (!g->lo->dry_run && rg_mount(g, g->reader_conn, b->digest, repo, from, &e) != FX_OK)
		return 0;
	rg_count(g, &g->mounted, 0); /* a dry run: would be mounted */
	return 2;
}

/* Where the base's load put the blob: the repository of the base image that carried it. */
static int base_repo(const struct reg *g, const char *digest, char repo[REPO_NAME_MAX])
{
	const struct man_required *req = manifest_required(g->plan->man, digest, NULL);
	char tag[REPO_TAG_MAX];

	return req != NULL && req->image != NULL &&
	    reg_repo_name(req->image, g->tg.prefix, g->lo->keep_registry_host, repo, tag) == 0;
}

void rg_holds(void *ctx, unsigned char *held)
{
	struct reg *g = ctx;
	size_t i, k;

	for (i = 0; i < g->nblobs; i++) {
		struct rblob *b = &g->blobs[i];
		char from[REPO_NAME_MAX];
		const char *src;
		int all = 1, mounted = 0, r;

		if (g->plan->blobs[i].base == PLAN_NONE)
			continue;
		if (g->dead || b->nrepos == 0) {
			held[i] = 1; /* a dead target fails whole; no usable image: nobody needs it */
			continue;
		}
		if (!b->present) { /* not in every repository by the pre-check: ask, mount */
			src = base_repo(g, b->digest, from) ? from : NULL;
			for (k = 0; k < b->nrepos && all; k++) {
				r = hold_in(g, b, b->repos[k], k > 0 ? b->repos[0] : src);
				all = r > 0;
				mounted |= r == 2;
			}
			if (!all)
				continue;
		}
		held[i] = 1;
		b->present = 1; /* begin() will not meet it, but a base bundle may offer it */
		rg_set_state(g, b, B_OK, NULL);
		if (!mounted)
			rg_count(g, &g->skipped, 0);
	}
}
