/* fuzz_registry.c - libFuzzer target for what a registry sends back: WWW-Authenticate
 * challenges, token replies, upload Locations, blob redirects, Range and Retry-After
 * headers, token realms and scopes, credential helper answers, plus the target and
 * image-reference parsers. The first byte picks the parser. Whatever parses must hold
 * its promises: a Location stays on the registry, a redirect never goes down to http,
 * a token is one header-safe word, a reference is a valid repository path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/credentials.h"
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
	switch (data[0] % 10) {
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
	case 7:
		/* a redirect of a blob read: followed only to http(s) with a plain authority,
		 * never from https down to http */
		if (reg_resolve_redirect("https://127.0.0.1:5000/v2/a/blobs/x", s, &out) == 0) {
			size_t al;

			if (out == NULL || strncmp(out, "https://", 8) != 0)
				abort();
			al = strcspn(out + 8, "/?#");
			if (al == 0 || memchr(out + 8, '@', al) != NULL)
				abort();
			for (i = 0; out[i]; i++)
				if ((unsigned char)out[i] <= 0x20 || (unsigned char)out[i] >= 0x7f)
					abort();
			free(out);
		}
		break;
	case 8:
		/* an http realm only from a plain-HTTP loopback registry */
		if (reg_realm_allowed(s, 0, 1) && strncasecmp(s, "https://", 8) != 0)
			abort();
		if (reg_realm_allowed(s, 1, 0) && strncasecmp(s, "https://", 8) != 0)
			abort();
		(void)reg_scope_grants_push(s);
		(void)reg_host_is_loopback(s);
		break;
	case 9: {
		struct reg_creds c;

		memset(&c, 0, sizeof(c));
		e.code = 0;
		if (creds_parse_helper_reply((const char *)data + 1, size - 1, "docker-credential-fuzz", &c, &e) == FX_OK &&
		    (c.user == NULL || c.pass == NULL))
			abort();
		creds_free(&c);
		break;
	}
	}
	free(s);
	return 0;
}
