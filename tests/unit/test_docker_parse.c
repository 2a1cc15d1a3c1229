/* Unit tests for what a Docker daemon sends back (untrusted): the /images/load JSON
 * message stream, /version, error replies, image IDs; plus daemon addresses, API
 * version order and docker-daemon: sources. Exit 0 when every check holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/docker_api.h"
#include "util/util.h"

static int failures;

#include "check.h"

static int msgs(const char *s, struct docker_msgs *m)
{
	return docker_parse_messages(s, strlen(s), m);
}

static void test_messages(void)
{
	struct docker_msgs m;

	/* what dockerd 20.10 answers to a quiet load of two images */
	CHECK(msgs("{\"stream\":\"Loaded image: ferry.test/app-a:1\\n\"}\r\n"
	           "{\"stream\":\"Loaded image: ferry.test/app-b:1\\n\"}\r\n", &m) == 0);
	CHECK(m.nloaded == 2 && m.error == NULL && m.nmsgs == 2);
	CHECK(m.nloaded == 2 && strcmp(m.loaded[0], "ferry.test/app-a:1") == 0);
	CHECK(m.nloaded == 2 && strcmp(m.loaded[1], "ferry.test/app-b:1") == 0);
	docker_msgs_free(&m);

	/* untagged image; no separator between objects; progress lines ignored */
	CHECK(msgs("{\"stream\":\"Loaded image ID: sha256:abc\\n\"}{\"status\":\"Loading layer\","
	           "\"progressDetail\":{\"current\":1,\"total\":2},\"id\":\"x\"}", &m) == 0);
	CHECK(m.nloaded == 1 && strcmp(m.loaded[0], "sha256:abc") == 0 && m.nmsgs == 2);
	docker_msgs_free(&m);

	/* an error, in both forms: errorDetail wins, the first error is kept */
	CHECK(msgs("{\"stream\":\"Loading layer\\n\"}\n"
	           "{\"errorDetail\":{\"message\":\"invalid diffID for layer 1\"},\"error\":\"other\"}\n"
	           "{\"error\":\"second\"}\n", &m) == 0);
	CHECK(m.error != NULL && strcmp(m.error, "invalid diffID for layer 1") == 0 && m.nloaded == 0);
	docker_msgs_free(&m);
	CHECK(msgs("{\"error\":\"no space left on device\"}", &m) == 0);
	CHECK(m.error != NULL && strcmp(m.error, "no space left on device") == 0);
	docker_msgs_free(&m);
	/* an error that is not a string is still an error */
	CHECK(msgs("{\"error\":42}", &m) == 0 && m.error != NULL);
	docker_msgs_free(&m);
	/* hostile text is kept raw (escaped when printed); a NUL makes the stream unreadable */
	CHECK(msgs("{\"error\":\"a\\u001b[2Jb\"}", &m) == 0 && m.error != NULL && strchr(m.error, 0x1b) != NULL);
	CHECK(strstr(ESC(m.error), "\\x1b") != NULL && strchr(ESC(m.error), 0x1b) == NULL);
	docker_msgs_free(&m);
	CHECK(msgs("{\"stream\":\"Loaded image: a\\u0000b\\n\"}", &m) == -1 && m.nloaded == 0);
	docker_msgs_free(&m);

	/* empty stream: fine, nothing loaded */
	CHECK(msgs("", &m) == 0 && m.nloaded == 0 && m.error == NULL);
	CHECK(msgs(" \r\n ", &m) == 0 && m.nmsgs == 0);
	/* not a message stream */
	CHECK(msgs("<html>502 Bad Gateway</html>", &m) == -1);
	CHECK(msgs("[1,2]", &m) == -1);
	CHECK(msgs("{\"stream\":\"x\"} garbage", &m) == -1);
	CHECK(msgs("{\"stream\":\"x\"", &m) == -1);
	CHECK(msgs("{\"a\":1,\"a\":2}", &m) == -1);
	CHECK(msgs("\"str\"", &m) == -1);
	CHECK(m.loaded == NULL && m.error == NULL);
	/* not NUL-terminated: only len bytes are read */
	{
		char buf[] = {'{', '}', '{'};
		CHECK(docker_parse_messages(buf, 2, &m) == 0 && m.nmsgs == 1);
		docker_msgs_free(&m);
		CHECK(docker_parse_messages(buf, 3, &m) == -1);
	}
}

static int ver(const char *s, struct docker_version *v)
{
	return docker_parse_version(s, strlen(s), v);
}

static void test_version(void)
{
	struct docker_version v;

	CHECK(ver("{\"Version\":\"20.10.24+dfsg1\",\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.12\","
	          "\"Os\":\"linux\",\"Arch\":\"amd64\",\"KernelVersion\":\"6.1\"}", &v) == 0);
	CHECK(strcmp(v.api, "1.41") == 0 && strcmp(v.min_api, "1.12") == 0);
	CHECK(strcmp(v.os, "linux") == 0 && strcmp(v.arch, "amd64") == 0);
	CHECK(strcmp(v.version, "20.10.24+dfsg1") == 0);
	CHECK(ver("{\"ApiVersion\":\"1.45\",\"Os\":\"linux\",\"Arch\":\"arm64\"}", &v) == 0 && v.min_api[0] == '\0');
	/* missing or malformed fields */
	CHECK(ver("{\"Os\":\"linux\",\"Arch\":\"amd64\"}", &v) == -1);
	CHECK(ver("{\"ApiVersion\":\"1.41\",\"Arch\":\"amd64\"}", &v) == -1);
	CHECK(ver("{\"ApiVersion\":\"one\",\"Os\":\"linux\",\"Arch\":\"amd64\"}", &v) == -1);
	CHECK(ver("{\"ApiVersion\":1.41,\"Os\":\"linux\",\"Arch\":\"amd64\"}", &v) == -1);
	CHECK(ver("{\"ApiVersion\":\"1.41\",\"Os\":\"li/nux\",\"Arch\":\"amd64\"}", &v) == -1);
	CHECK(ver("{\"ApiVersion\":\"1.41\",\"Os\":\"linux\",\"Arch\":\"amd64\x1b\"}", &v) == -1);
	CHECK(ver("{\"ApiVersion\":\"1.41\",\"Os\":\"linux\",\"Arch\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", &v) == -1);
	CHECK(ver("{\"ApiVersion\":\"1.41\",\"Os\":\"linux\",\"Arch\":\"amd64\",\"Version\":\"1 2\"}", &v) == -1);
	CHECK(ver("[]", &v) == -1);
	CHECK(ver("", &v) == -1);
	CHECK(v.api[0] == '\0');

	CHECK(docker_api_cmp("1.41", "1.41") == 0);
	CHECK(docker_api_cmp("1.9", "1.41") < 0);
	CHECK(docker_api_cmp("1.100", "1.41") > 0);
	CHECK(docker_api_cmp("2.0", "1.99") > 0);
	CHECK(docker_api_cmp("x", "1.0") < 0);
	CHECK(docker_api_cmp("1.", "1.0") < 0);
	CHECK(docker_api_cmp("1.41", "") > 0);
	CHECK(docker_api_cmp("99999999999999999999.1", "1.0") < 0);
}

static void test_replies(void)
{
	char *s;
	const char id[] = "{\"Id\":\"sha256:210f74abfbfdf21f11d40ee06de812b623017b0a5fd5da6378bdf1062a686387\"}";

	s = docker_parse_error("{\"message\":\"reference does not exist\"}", 38);
	CHECK(s != NULL && strcmp(s, "reference does not exist") == 0);
	free(s);
	CHECK(docker_parse_error("{\"msg\":\"x\"}", 11) == NULL);
	CHECK(docker_parse_error("not json", 8) == NULL);
	CHECK(docker_parse_error("{\"message\":7}", 13) == NULL);

	s = docker_parse_image_id(id, strlen(id));
	CHECK(s != NULL && strcmp(s, "sha256:210f74abfbfdf21f11d40ee06de812b623017b0a5fd5da6378bdf1062a686387") == 0);
	free(s);
	CHECK(docker_parse_image_id("{\"Id\":\"sha256:ABC\"}", 19) == NULL);
	CHECK(docker_parse_image_id("{\"Id\":\"sha256:210F74abfbfdf21f11d40ee06de812b623017b0a5fd5da6378bdf1062a686387\"}", 79) == NULL);
	CHECK(docker_parse_image_id("{\"Id\":\"md5:210f74abfbfdf21f11d40ee06de812b623017b0a5fd5da6378bdf1062a686387aa\"}", 78) == NULL);
	CHECK(docker_parse_image_id("{}", 2) == NULL);
}

static void test_endpoints(void)
{
	struct docker_endpoint ep;
	struct ferr e;
	char *addr, *ref;

	memset(&e, 0, sizeof(e));
	CHECK(docker_endpoint_parse("unix:///run/d.sock", &ep, &e) == FX_OK);
	CHECK(ep.unix_path != NULL && strcmp(ep.unix_path, "/run/d.sock") == 0);
	CHECK(strcmp(ep.label, "unix:///run/d.sock") == 0 && strcmp(ep.base, "http://docker") == 0);
	docker_endpoint_free(&ep);
	CHECK(docker_endpoint_parse("/run/d.sock", &ep, &e) == FX_OK && ep.unix_path != NULL);
	docker_endpoint_free(&ep);
	CHECK(docker_endpoint_parse("tcp://127.0.0.1:2375", &ep, &e) == FX_OK);
	CHECK(ep.unix_path == NULL && strcmp(ep.base, "http://127.0.0.1:2375") == 0);
	CHECK(strcmp(ep.label, "tcp://127.0.0.1:2375") == 0);
	docker_endpoint_free(&ep);
	CHECK(docker_endpoint_parse("tcp://[::1]:2375/", &ep, &e) == FX_OK && strcmp(ep.base, "http://[::1]:2375") == 0);
	docker_endpoint_free(&ep);

	setenv("DOCKER_HOST", "unix:///tmp/ferry-env.sock", 1);
	CHECK(docker_endpoint_parse("", &ep, &e) == FX_OK && strcmp(ep.unix_path, "/tmp/ferry-env.sock") == 0);
	docker_endpoint_free(&ep);
	unsetenv("DOCKER_HOST");
	CHECK(docker_endpoint_parse(NULL, &ep, &e) == FX_OK && strcmp(ep.unix_path, DOCKER_DEFAULT_SOCK) == 0);
	docker_endpoint_free(&ep);

	memset(&e, 0, sizeof(e));
	CHECK(docker_endpoint_parse("unix://relative.sock", &ep, &e) == FX_USAGE);
	memset(&e, 0, sizeof(e));
	CHECK(docker_endpoint_parse("tcp://127.0.0.1", &ep, &e) == FX_USAGE);
	memset(&e, 0, sizeof(e));
	CHECK(docker_endpoint_parse("tcp://127.0.0.1:99999", &ep, &e) == FX_USAGE);
	memset(&e, 0, sizeof(e));
	CHECK(docker_endpoint_parse("tcp://evil host:1", &ep, &e) == FX_USAGE);
	memset(&e, 0, sizeof(e));
	CHECK(docker_endpoint_parse("ssh://user@host", &ep, &e) == FX_USAGE && strstr(e.msg, "only unix://") != NULL);
	memset(&e, 0, sizeof(e));
	CHECK(docker_endpoint_parse("unix:///a\nb", &ep, &e) == FX_USAGE);
	memset(&e, 0, sizeof(e));
	CHECK(docker_endpoint_parse("bogus", &ep, &e) == FX_USAGE);

	memset(&e, 0, sizeof(e));
	CHECK(docker_daemon_source_split("docker-daemon:ferry.test/app:1", &addr, &ref, &e) == FX_OK);
	CHECK(addr != NULL && addr[0] == '\0' && strcmp(ref, "ferry.test/app:1") == 0);
	free(addr);
	free(ref);
	CHECK(docker_daemon_source_split("docker-daemon:", &addr, &ref, &e) == FX_USAGE);
	memset(&e, 0, sizeof(e));
	CHECK(docker_daemon_source_split("docker-daemon:///nonexistent/d.sock/a:1", &addr, &ref, &e) == FX_TARGET);
	memset(&e, 0, sizeof(e));
	CHECK(docker_daemon_source_split("docker-daemon://relative/a:1", &addr, &ref, &e) == FX_USAGE);
	CHECK(addr == NULL && ref == NULL);
}

int main(void)
{
	test_messages();
	test_version();
	test_replies();
	test_endpoints();
	if (failures) {
		fprintf(stderr, "test_docker_parse: %d failures\n", failures);
		return 1;
	}
	printf("test_docker_parse: ok\n");
	return 0;
}
