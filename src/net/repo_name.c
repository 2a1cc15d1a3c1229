/* repo_name.c - the repository an image lands in (see repo_name.h). */
#include "net/repo_name.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "net/ref.h"

int reg_repo_name(const char *ref, const char *prefix, int keep_host, char repo[REPO_NAME_MAX],
    char tag[REPO_TAG_MAX])
{
	struct image_ref parsed;
	struct ferr e = {0, ""};
	char host[sizeof(parsed.domain)];
	const char *sep = prefix != NULL && prefix[0] != '\0' ? "/" : "";
	size_t i;
	int n;

	repo[0] = '\0';
	tag[0] = '\0';
	if (prefix == NULL)
		prefix = "";
	if (ref_parse(ref, &parsed, &e) != FX_OK)
		return -1;
	if (keep_host) {
		/* a repository name cannot hold the port */
		fx_strlcpy(host, parsed.domain, sizeof(host));
		host[strcspn(host, ":")] = '\0';
		for (i = 0; host[i] != '\0'; i++)
			host[i] = (char)tolower((unsigned char)host[i]);
		n = snprintf(repo, REPO_NAME_MAX, "%s%s%s/%s", prefix, sep, host, parsed.repo);
	} else {
		n = snprintf(repo, REPO_NAME_MAX, "%s%s%s", prefix, sep, parsed.repo);
	}
	if (n < 0 || n >= REPO_NAME_MAX || !ref_valid_repo(repo)) {
		repo[0] = '\0';
		return -1;
	}
	fx_strlcpy(tag, parsed.tag, REPO_TAG_MAX);
	return 0;
}
