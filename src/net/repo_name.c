/* repo_name.c - the repository an image lands in (see repo_name.h). */
#include "net/repo_name.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "net/registry.h"

int reg_repo_name(const char *ref, const char *prefix, int keep_host, char repo[REPO_NAME_MAX],
    char tag[REPO_TAG_MAX])
{
	struct reg_ref rr;
	char host[sizeof(rr.host)];
	const char *sep = prefix != NULL && prefix[0] != '\0' ? "/" : "";
	size_t i;
	int n;

	repo[0] = '\0';
	tag[0] = '\0';
	if (prefix == NULL)
		prefix = "";
	if (reg_parse_ref(ref, &rr) != 0)
		return -1;
	if (keep_host) {
		/* a repository name cannot hold the port */
		fx_strlcpy(host, rr.host, sizeof(host));
		host[strcspn(host, ":")] = '\0';
		for (i = 0; host[i] != '\0'; i++)
			host[i] = (char)tolower((unsigned char)host[i]);
		n = snprintf(repo, REPO_NAME_MAX, "%s%s%s/%s", prefix, sep, host, rr.path);
	} else {
		n = snprintf(repo, REPO_NAME_MAX, "%s%s%s", prefix, sep, rr.path);
	}
	if (n < 0 || n >= REPO_NAME_MAX || !reg_valid_repo(repo)) {
		repo[0] = '\0';
		return -1;
	}
	if (fx_strlcpy(tag, rr.tag, REPO_TAG_MAX) >= REPO_TAG_MAX) {
		tag[0] = '\0';
		return -1;
	}
	return 0;
}
