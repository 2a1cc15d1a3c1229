/* fuzz_docker.c - libFuzzer target for what a Docker daemon sends back and for daemon
 * addresses: the /images/load JSON message stream, /version, error replies, image
 * inspect IDs, API version order and docker:// addresses. The first byte picks the
 * parser ('m' messages, 'v' version, 'e' error, 'i' image ID, 'a' address; anything
 * else runs them all); what a parser returns must hold its promises.
 *
 *   make fuzz-build && build/fuzz/fuzz_docker -max_total_time=20 tests/fuzz/corpus/fuzz_docker */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/docker_api.h"

static void check_token(const char *s, size_t max)
{
	size_t n = strlen(s), i;
	if (n >= max)
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			abort();
}

static void messages(const char *p, size_t n)
{
	struct docker_msgs m;
	size_t i;

	if (docker_parse_messages(p, n, &m) != 0) {
		if (m.loaded != NULL || m.error != NULL || m.nloaded != 0)
			abort();
		return;
	}
	for (i = 0; i < m.nloaded; i++)
		if (m.loaded[i] == NULL || m.loaded[i][0] == '\0' || strpbrk(m.loaded[i], "\r\n") != NULL)
			abort();
	if (m.error != NULL)
		(void)ESC(m.error);
	docker_msgs_free(&m);
}

static void version(const char *p, size_t n)
{
	struct docker_version v;

	if (docker_parse_version(p, n, &v) != 0) {
		if (v.api[0] != '\0')
			abort();
		return;
	}
	check_token(v.api, sizeof(v.api));
	check_token(v.os, sizeof(v.os));
	check_token(v.arch, sizeof(v.arch));
	if (v.api[0] == '\0' || v.os[0] == '\0' || v.arch[0] == '\0')
		abort();
	/* order is a total preorder: antisymmetric, reflexive */
	if (docker_api_cmp(v.api, v.api) != 0)
		abort();
	if ((docker_api_cmp(v.api, DOCKER_API_MAX) < 0) != (docker_api_cmp(DOCKER_API_MAX, v.api) > 0))
		abort();
}

static void replies(const char *p, size_t n)
{
	char *s = docker_parse_error(p, n);
	free(s);
	s = docker_parse_image_id(p, n);
	if (s != NULL && (strlen(s) != 71 || strncmp(s, "sha256:", 7) != 0))
		abort();
	free(s);
}

static void address(const char *p, size_t n)
{
	struct docker_endpoint ep;
	struct ferr e = {0, ""};
	char *s = malloc(n + 1);

	if (s == NULL)
		return;
	memcpy(s, p, n);
	s[n] = '\0';
	if (strlen(s) == n && s[0] != '\0') {
		if (docker_endpoint_parse(s, &ep, &e) == FX_OK) {
			if (ep.base == NULL || ep.label == NULL || strncmp(ep.base, "http://", 7) != 0)
				abort();
			if (ep.unix_path != NULL && (ep.unix_path[0] != '/' || strlen(ep.unix_path) >= 108))
				abort();
			docker_endpoint_free(&ep);
		} else if (e.code != FX_USAGE) {
			abort();
		}
		(void)docker_api_cmp(s, "1.41");
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1;
	size_t n;

	if (size == 0)
		return 0;
	n = size - 1;
	switch (data[0]) {
	case 'm':
		messages(p, n);
		break;
	case 'v':
		version(p, n);
		break;
	case 'e':
	case 'i':
		replies(p, n);
		break;
	case 'a':
		address(p, n);
		break;
	default:
		messages(p, n);
		version(p, n);
		replies(p, n);
		break;
	}
	return 0;
}
