/* test_state.c - the state file of rollback protection: what a record keeps when loads
 * of higher, equal and lower sequences come in, the downgrade log and its bound, the
 * expiry clock, and the strict parser's answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle/manifest.h"
#include "bundle/state.h"
#include "util/util.h"

#include "check.h"

static char dir[] = "/tmp/ferry-test-state.XXXXXX";

static struct manifest bundle(const char *name, const char *version, uint64_t sequence)
{
	struct manifest m;

	memset(&m, 0, sizeof(m));
	m.vendor = (char *)(uintptr_t)"Acme";
	m.name = (char *)(uintptr_t)name;
	m.version = (char *)(uintptr_t)version;
	m.sequence = sequence;
	return m;
}

static uint64_t recorded(const char *path, const char *name, size_t *ndowngrades)
{
	struct load_state st;
	struct ferr e = {0, ""};
	const struct state_bundle *b;
	uint64_t seq = UINT64_MAX;

	if (state_read(path, &st, &e) != FX_OK)
		return seq;
	b = state_find(&st, "Acme", name);
	if (b != NULL) {
		seq = b->sequence;
		if (ndowngrades != NULL)
			*ndowngrades = b->ndowngrades;
	}
	state_free(&st);
	return seq;
}

static void test_record(void)
{
	char *path = xasprintf("%s/state.json", dir);
	struct fresh_opts o = {.now = 1764600000, .state = path, .record = 1};
	struct manifest m5 = bundle("app", "1.5", 5), m4 = bundle("app", "1.4", 4), m7 = bundle("app", "1.7", 7);
	struct ferr e = {0, ""};
	size_t n = 0, i;

	CHECK(fresh_check(&m5, &o, &e) == FX_OK);
	CHECK(state_record(&o, &m5, &e) == FX_OK);
	CHECK(recorded(path, "app", NULL) == 5);
	CHECK(fresh_check(&m5, &o, &e) == FX_OK);               /* equal: fine */
	CHECK(fresh_check(&m4, &o, &e) == FX_VERIFY);           /* lower: refused */
	CHECK(strstr(e.msg, "app 1.4 (sequence 4) is older than 1.5 (sequence 5)") != NULL);
	CHECK(state_record(&o, &m4, &e) == FX_OK);              /* a load raced past: 5 stays */
	CHECK(recorded(path, "app", &n) == 5 && n == 0);
	o.allow_downgrade = 1;
	for (i = 0; i < STATE_DOWNGRADES_MAX + 5; i++)
		CHECK(state_record(&o, &m4, &e) == FX_OK);
	CHECK(recorded(path, "app", &n) == 5 && n == STATE_DOWNGRADES_MAX); /* the log is bounded */
	o.allow_downgrade = 0;
	CHECK(state_record(&o, &m7, &e) == FX_OK);
	CHECK(recorded(path, "app", NULL) == 7);
	CHECK(recorded(path, "other", NULL) == UINT64_MAX);
	o.record = 0; /* verify: compares, writes nothing */
	CHECK(state_record(&o, &m5, &e) == FX_OK && recorded(path, "app", NULL) == 7);
	unlink(path);
	free(path);
}

static void test_expiry(void)
{
	struct manifest m = bundle("app", "2", 1);
	struct fresh_opts o = {.now = 1000};
	struct ferr e = {0, ""};

	m.expires = (char *)(uintptr_t)"1970-01-01T00:16:40Z";
	m.expires_at = 1000;
	CHECK(fresh_check(&m, &o, &e) == FX_VERIFY);            /* at the instant: expired */
	CHECK(strstr(e.msg, "expired on 1970-01-01T00:16:40Z") != NULL);
	o.now = 999;
	CHECK(fresh_check(&m, &o, &e) == FX_OK);
	o.now = 5000;
	o.allow_expired = 1;
	CHECK(fresh_check(&m, &o, &e) == FX_OK);
}

static void test_parse(void)
{
	static const struct {
		const char *text;
		int code;
		const char *says;
	} cases[] = {
		{"{\"ferryState\": 1, \"bundles\": []}", FX_OK, NULL},
		{"", FX_IO, "does not parse"},
		{"[]", FX_IO, "the state is not an object"},
		{"{\"ferryState\": 1}", FX_IO, "'bundles' must be a list"},
		{"{\"ferryState\": \"1\", \"bundles\": []}", FX_IO, "not a ferry state file"},
		{"{\"ferryState\": 1, \"bundles\": [1]}", FX_IO, "bundles[0] is not an object"},
		{"{\"ferryState\": 1, \"bundles\": [{\"vendor\": \"\", \"name\": \"\", \"version\": \"1\", \"sequence\": 1, "
		 "\"loaded\": \"2026-01-01T00:00:00Z\"}]}", FX_IO, "'name' must be a string"},
		{"{\"ferryState\": 1, \"bundles\": [{\"vendor\": \"\", \"name\": \"a\", \"version\": \"1\", \"sequence\": 1.5, "
		 "\"loaded\": \"2026-01-01T00:00:00Z\"}]}", FX_IO, "'sequence' must be a non-negative integer"},
		{"{\"ferryState\": 1, \"bundles\": [{\"vendor\": \"\", \"name\": \"a\", \"version\": \"1\", \"sequence\": 1, "
		 "\"loaded\": \"2026-01-01T00:00:00Z\", \"downgrades\": {}}]}", FX_IO, "'downgrades' must be a list"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct load_state st;
		struct ferr e = {0, ""};
		int rc = state_parse(cases[i].text, strlen(cases[i].text), "s.json", &st, &e);
		CHECK_MSG(rc == cases[i].code && (cases[i].says == NULL || strstr(e.msg, cases[i].says) != NULL),
		    "case %zu: %d %s", i, rc, e.msg);
		state_free(&st);
	}
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	test_record();
	test_expiry();
	test_parse();
	{
		char *lock = xasprintf("%s/state.json.lock", dir);
		unlink(lock);
		free(lock);
	}
	rmdir(dir);
	return check_report("test_state");
}
