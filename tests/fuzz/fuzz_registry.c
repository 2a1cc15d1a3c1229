/* fuzz_registry.c - libFuzzer target for what a registry sends back: WWW-Authenticate
 * challenges, token replies, upload Locations, Range and Retry-After headers, plus the
 * target and image-reference parsers. The first byte picks the parser. Whatever parses
 * must hold its promises: a Location stays on the registry, a token is one header-safe
 * word, a reference is a valid repository path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/http.h"
#include "net/ref.h"
#include "net/registry.h"
#include "util/digest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char base[] = "http://127.0.0.1:5000";
	char *s, *out = NULL;
	struct www_auth a;
	struct reg_target t;
	struct image_ref r;
	struct ferr e = {0, ""};
	uint64_t n;
	size_t i;

	if (size < 1 || size > 20000)
		return 0;
	s = malloc(size);
	if (s == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 7) {
	case 0:
		if (reg_parse_www_auth(s, &a) == 0) {
			if (a.scheme[0] == '\0' || (strcmp(a.scheme, "bearer") == 0 && a.realm == NULL))
				abort();
			reg_www_auth_free(&a);
		}
		break;
	case 1:
		if (reg_parse_token((const char *)data + 1, size - 1, &out) == 0) {
			if (out == NULL || *out == '\0')
				abort();
			for (i = 0; out[i]; i++)
				if ((unsigned char)out[i] <= 0x20 || (unsigned char)out[i] >= 0x7f)
					abort();
			free(out);
		} else if (out != NULL) {
			abort();
		}
		break;
	case 2:
		if (reg_resolve_location(base, s, &out) == 0) {
			/* on the registry, and the authority is exactly the registry's */
			if (out == NULL || strncasecmp(out, base, sizeof(base) - 1) != 0 ||
			    (out[sizeof(base) - 1] != '/' && out[sizeof(base) - 1] != '?' && out[sizeof(base) - 1] != '#' &&
			        out[sizeof(base) - 1] != '\0'))
				abort();
			for (i = 0; out[i]; i++)
				if ((unsigned char)out[i] <= 0x20 || (unsigned char)out[i] >= 0x7f)
					abort();
			free(out);
		}
		break;
	case 3:
		if (reg_parse_range(s, &n) == 0 && n == 0)
			abort();
		break;
	case 4:
		(void)http_parse_retry_after(s, 1700000000, &n);
		break;
	case 5:
		if (reg_parse_target(s, &t) == 0) {
			if (t.host[0] == '\0' || (t.prefix[0] != '\0' && !ref_valid_repo(t.prefix)))
				abort();
		}
		break;
	case 6:
		if (ref_parse(s, &r, &e) == FX_OK) {
			if (!ref_valid_repo(r.repo) || (r.tag[0] == '\0' && r.digest[0] == '\0') ||
			    !ref_valid_host(r.domain, strlen(r.domain)) || strlen(r.domain) + 1 + strlen(r.repo) > REF_NAME_MAX)
				abort();
			if (r.digest[0] != '\0' && !digest_valid(r.digest))
				abort();
		}
		break;
	}
	free(s);
	return 0;
}
