/* tests/unit/test_tool.c: wid-tool's pure parts: PKCS#11 URIs with RFC
 * 7512 percent-encoding, and the task start / exec option parser. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "wid/err.h"
#include "wid/proto.h"
#include "../../tools/tool/tool.h"

static void
test_pct_encode(void **state)
{
	char out[64];

	assert_int_equal(tool_pct_encode("build-42.a_b~c", out, sizeof(out)), 0);
	assert_string_equal(out, "build-42.a_b~c");
	assert_int_equal(tool_pct_encode("a b;c=d/e%f", out, sizeof(out)), 0);
	assert_string_equal(out, "a%20b%3Bc%3Dd%2Fe%25f");
	assert_int_equal(tool_pct_encode("\xc3\xa9?&", out, sizeof(out)), 0);
	assert_string_equal(out, "%C3%A9%3F%26");
	assert_int_equal(tool_pct_encode("", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* Exactly fits, then one short (an escape is never split). */
	assert_int_equal(tool_pct_encode("ab ", out, 6), 0);
	assert_string_equal(out, "ab%20");
	assert_int_equal(tool_pct_encode("ab ", out, 5), WID_E_LIMIT);
	assert_string_equal(out, "");
}

static void
test_uri(void **state)
{
	char out[256];

	assert_int_equal(tool_pkcs11_uri("ci-7", WID_KEY_EC_P256, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "pkcs11:token=wid;object=ci-7");
	assert_int_equal(tool_pkcs11_uri("ci-7", WID_KEY_RSA2048, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "pkcs11:token=wid;object=ci-7");
	assert_int_equal(tool_pkcs11_uri("ci-7", WID_KEY_ED25519, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "pkcs11:token=wid-ed25519;object=ci-7");
	assert_int_equal(tool_pkcs11_uri("x y", WID_KEY_EC_P384, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "pkcs11:token=wid;object=x%20y");
	assert_int_equal(tool_pkcs11_uri("ci-7", WID_KEY_EC_P256, out, 20),
	    WID_E_LIMIT);
	assert_string_equal(out, "");
}

#define ARGV(...) ((char *[]){ __VA_ARGS__, NULL })

/* Parses a NULL-terminated argv. */
static int
parse(char **argv, int for_exec, struct tool_start_opts *o)
{
	int argc;

	for (argc = 0; argv[argc] != NULL; argc++)
		;
	return tool_start_opts_parse(argc, argv, for_exec, o);
}

static void
test_start_opts_good(void **state)
{
	struct tool_start_opts o;
	char **a1 = ARGV("start", "--ttl", "1h30m", "--id", "ci.7",
	    "--key", "ed25519", "--intent", "deploy web", "--requested-by",
	    "alice", "--executor-uid", "1000", "--json");
	char **a2 = ARGV("start", "--ttl=90", "-q");
	char **a3 = ARGV("start", "--ttl", "5m", "--executor-uid", "root",
	    "--id-only");

	assert_int_equal(parse(a1, 0, &o), 0);
	assert_int_equal(o.req.ttl, 5400);
	assert_string_equal(o.req.id, "ci.7");
	assert_int_equal(o.req.key_type, WID_KEY_ED25519);
	assert_string_equal(o.req.intent, "deploy web");
	assert_string_equal(o.req.requested_by, "alice");
	assert_int_equal(o.req.executor_uid, 1000);
	assert_int_equal(o.req.flags, 0);
	assert_true(o.json);
	assert_false(o.quiet);

	/* Defaults. */
	assert_int_equal(parse(a2, 0, &o), 0);
	assert_int_equal(o.req.ttl, 90);
	assert_int_equal(o.req.key_type, WID_KEY_EC_P256);
	assert_int_equal(o.req.executor_uid, WID_UID_NONE);
	assert_string_equal(o.req.id, "");
	assert_true(o.quiet);

	assert_int_equal(parse(a3, 0, &o), 0);
	assert_int_equal(o.req.executor_uid, 0);
	assert_true(o.quiet);
}

static void
test_start_opts_bad(void **state)
{
	struct tool_start_opts o;
	char *bad[][6] = {
		{ "start", NULL },                           /* no --ttl */
		{ "start", "--ttl", "0", NULL },
		{ "start", "--ttl", "31d", NULL },
		{ "start", "--ttl", NULL },                  /* no value */
		{ "start", "--ttl", "5m", "--key", "dsa", NULL },
		{ "start", "--ttl", "5m", "--id", "-x", NULL },
		{ "start", "--ttl", "5m", "--id", "a/b", NULL },
		{ "start", "--ttl", "5m", "--intent", "a\nb", NULL },
		{ "start", "--ttl", "5m", "--requested-by", "", NULL },
		{ "start", "--ttl", "5m", "--executor-uid", "-1", NULL },
		{ "start", "--ttl", "5m", "--executor-uid", "4294967295", NULL },
		{ "start", "--ttl", "5m", "--executor-uid", "no-such-user-x", NULL },
		{ "start", "--ttl", "5m", "--frob", NULL },
		{ "start", "--ttl", "5m", "extra", NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], 0, &o) != TOOL_EXIT_USAGE)
			fail_msg("case %zu accepted", i);
	}
}

static void
test_exec_opts(void **state)
{
	struct tool_start_opts o;
	char **a1 = ARGV("exec", "--ttl", "1m", "--", "sh", "-c", "true");
	char **a2 = ARGV("exec", "--ttl", "1m", "env", "--ttl", "x");
	char **a3 = ARGV("exec", "--ttl", "1m", "--");
	char **a4 = ARGV("exec", "--ttl", "1m", "--json", "--", "true");
	char **a5 = ARGV("exec", "--help");

	assert_int_equal(parse(a1, 1, &o), 0);
	assert_int_equal(o.cmd_index, 4);
	assert_string_equal(a1[o.cmd_index], "sh");
	/* Options after the command belong to the command. */
	assert_int_equal(parse(a2, 1, &o), 0);
	assert_int_equal(o.cmd_index, 3);
	assert_string_equal(a2[o.cmd_index], "env");
	assert_int_equal(parse(a3, 1, &o), TOOL_EXIT_USAGE);
	assert_int_equal(parse(a4, 1, &o), TOOL_EXIT_USAGE);
	assert_int_equal(parse(a5, 1, &o), 0);
	assert_true(o.help);
}

static void
test_remaining_and_sanitize(void **state)
{
	struct wid_task t;
	char out[64];

	memset(&t, 0, sizeof(t));
	t.state = WID_STATE_ACTIVE;
	t.expires = 1000 + 5400;
	tool_remaining(&t, 1000, out, sizeof(out));
	assert_string_equal(out, "1h30m");
	tool_remaining(&t, 1000 + 5400, out, sizeof(out));
	assert_string_equal(out, "expired");
	t.state = WID_STATE_ENDED;
	tool_remaining(&t, 1000, out, sizeof(out));
	assert_string_equal(out, "-");

	tool_time_iso(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	tool_time_iso(1700000000, out);
	assert_string_equal(out, "2023-11-14T22:13:20Z");

	tool_sanitize("ok\x1b[2Jx\x7f\xc3", out, sizeof(out));
	assert_string_equal(out, "ok?[2Jx??");
	tool_sanitize("abcdef", out, 4);
	assert_string_equal(out, "abc");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pct_encode),
		cmocka_unit_test(test_uri),
		cmocka_unit_test(test_start_opts_good),
		cmocka_unit_test(test_start_opts_bad),
		cmocka_unit_test(test_exec_opts),
		cmocka_unit_test(test_remaining_and_sanitize),
	};

	return cmocka_run_group_tests_name("tool", tests, NULL, NULL);
}
