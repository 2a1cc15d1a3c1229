/* fuzz_serve.c - libFuzzer target for what a client sends to `ferry-load serve`: the
 * request path (unescaped as libmicrohttpd's callback does, then routed), Range and
 * Accept headers, the n of a list, a media type, and htpasswd files. The first byte
 * picks the parser. Whatever parses must hold its promises: a name taken as valid has
 * no "..", no empty or absolute part and only the grammar's characters; a range lies
 * inside the blob; unescaping never makes a string longer or puts a NUL in it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/ref.h"
#include "net/registry.h"
#include "serve/serve_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_route(char *s)
{
	struct serve_route r;
	size_t before = strlen(s), after = serve_unescape(s);

	if (after > before || after != strlen(s))
		abort();
	serve_parse_route(s, &r);
	if (r.name_ok) {
		if (!ref_valid_repo(r.name) || strstr(r.name, "..") != NULL || r.name[0] == '/' ||
		    strstr(r.name, "//") != NULL || r.name[strlen(r.name) - 1] == '/')
			abort();
		if (r.kind != ROUTE_TAGS && r.kind != ROUTE_MANIFEST && r.kind != ROUTE_BLOB && r.kind != ROUTE_REFERRERS &&
		    r.kind != ROUTE_UPLOAD)
			abort();
	}
	if (strchr(r.ref, '/') != NULL)
		abort();
	if (serve_ref_kind(r.ref) == REF_DIGEST && !digest_valid(r.ref))
		abort();
}

static void check_range(const char *s, const uint8_t *data, size_t size)
{
	uint64_t blob = 0, a = 0, b = 0;
	size_t i;
	int x;

	for (i = 1; i < 9 && i < size; i++)
		blob = blob << 8 | data[i];
	blob >>= (blob & 7) * 8; /* small sizes too */
	x = serve_parse_range(s, blob, &a, &b);
	if (x == 1 && (blob == 0 || a > b || b >= blob))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	size_t n = 0;

	if (size < 1 || size > 20000)
		return 0;
	s = malloc(size);
	if (s == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 6) {
	case 0:
		check_route(s);
		break;
	case 1:
		check_range(s, data, size);
		break;
	case 2: {
		const char *v[2] = {s, s + strlen(s) / 2};

		(void)serve_accepts(v, 2, MT_OCI_INDEX);
		(void)serve_accepts(v, 1, "");
		break;
	}
	case 3:
		if (serve_parse_n(s, 1000, &n) == 0 && n > 1000)
			abort();
		break;
	case 4:
		if (serve_media_type_valid(s) && (strpbrk(s, "\r\n ;,\"") != NULL || strchr(s, '/') == NULL))
			abort();
		break;
	case 5: {
		struct serve_users *u = NULL;
		struct ferr e = {0, ""};

		/* parsing only: checking a password runs bcrypt, far too slow to fuzz */
		if (serve_users_parse((const char *)data + 1, size - 1, "htpasswd", &u, &e) == FX_OK) {
			if (u == NULL || serve_users_count(u) == 0)
				abort();
		} else if (u != NULL || e.msg[0] == '\0') {
			abort();
		}
		serve_users_free(u);
		break;
	}
	}
	free(s);
	return 0;
}
