/* tests/unit/test_agent_conf.c: the agent's YAML configuration: good
 * files set every field, bad ones fail with FILE:LINE:COL. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "wid/err.h"
#include "wid/proto.h"
#include "tools/agent/conf.h"

static char path[64];

static int
load(const char *text, struct wid_config *c, char *err, size_t errlen)
{
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/tmp/wid-conf-XXXXXX");
	assert_true((fd = mkstemp(path)) >= 0);
	assert_non_null(f = fdopen(fd, "w"));
	fputs(text, f);
	fclose(f);
	wid_config_defaults(c);
	return wid_config_load(c, path, err, errlen);
}

static void
expect_error(const char *text, const char *where_msg)
{
	struct wid_config c;
	char err[512], want[512];

	assert_int_not_equal(load(text, &c, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s:%s", path, where_msg);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("got '%s', want prefix '%s'", err, want);
	wid_config_free(&c);
	unlink(path);
}

static void
test_defaults(void **state)
{
	struct wid_config c;
	int t;

	wid_config_defaults(&c);
	assert_string_equal(c.backend, "soft");
	assert_int_equal(c.max_ttl, 24 * 3600);
	assert_string_equal(c.socket, "");
	for (t = WID_KEY_NONE + 1; t < WID_KEY__MAX; t++)
		assert_true(wid_config_key_type_allowed(&c, t));
	assert_false(wid_config_key_type_allowed(&c, WID_KEY_NONE));
	assert_false(wid_config_key_type_allowed(&c, WID_KEY__MAX));
	wid_config_free(&c);
}

static void
test_full(void **state)
{
	struct wid_config c;
	char err[512];

	assert_int_equal(load(
	    "# comment\n"
	    "socket: /run/wid-test/agent.sock\n"
	    "backend: soft\n"
	    "tpm_tcti: \"swtpm:host=127.0.0.1,port=2321\"\n"
	    "default_ttl: 15m\n"
	    "max_ttl: 2h\n"
	    "key_types: [ec-p256, ed25519]\n"
	    "allow_uids:\n"
	    "  - 1001\n"
	    "  - root\n"
	    "x509_uri: spiffe://example.org/ci/{scope}/{id}\n",
	    &c, err, sizeof(err)), 0);
	assert_string_equal(c.x509_uri, "spiffe://example.org/ci/{scope}/{id}");
	assert_string_equal(c.socket, "/run/wid-test/agent.sock");
	assert_string_equal(c.tpm_tcti, "swtpm:host=127.0.0.1,port=2321");
	assert_int_equal(c.default_ttl, 900);
	assert_int_equal(c.max_ttl, 7200);
	assert_true(wid_config_key_type_allowed(&c, WID_KEY_EC_P256));
	assert_true(wid_config_key_type_allowed(&c, WID_KEY_ED25519));
	assert_false(wid_config_key_type_allowed(&c, WID_KEY_RSA2048));
	assert_int_equal(c.n_allow_uids, 2);
	assert_int_equal(c.allow_uids[0], 1001);
	assert_int_equal(c.allow_uids[1], 0);
	wid_config_free(&c);
	unlink(path);
}

static void
test_empty(void **state)
{
	struct wid_config c;
	char err[512];

	assert_int_equal(load("", &c, err, sizeof(err)), 0);
	assert_int_equal(c.max_ttl, 24 * 3600);
	unlink(path);
	assert_int_equal(load("# only a comment\n", &c, err, sizeof(err)), 0);
	unlink(path);
	/* default_ttl follows a shorter max_ttl when not given. */
	assert_int_equal(load("max_ttl: 60\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.default_ttl, 60);
	unlink(path);
}

static void
test_errors(void **state)
{
	expect_error("socket: /x\nfrobnicate: 1\n",
	    "2:1: unknown key 'frobnicate'");
	expect_error("max_ttl: 2h\nmax_ttl: 3h\n",
	    "2:1: duplicate key 'max_ttl'");
	expect_error("max_ttl: forever\n", "1:10: max_ttl: expected a duration");
	expect_error("max_ttl: 0\n", "1:10: max_ttl: expected a duration");
	expect_error("default_ttl: 3h\nmax_ttl: 1h\n",
	    "1:14: default_ttl is longer than max_ttl");
	expect_error("key_types:\n  - ec-p256\n  - dsa\n",
	    "3:5: key_types: unknown key type 'dsa'");
	expect_error("key_types: ec-p256\n",
	    "1:12: key_types: expected a list");
	expect_error("backend: hsm\n", "1:10: backend: expected 'soft' or 'tpm'");
	expect_error("socket: relative/path\n",
	    "1:9: socket: expected an absolute path");
	expect_error("allow_uids: [1001, nosuchuser-wid]\n",
	    "1:20: allow_uids: 'nosuchuser-wid' is not a uid");
	expect_error("- a\n- b\n", "1:1: expected a mapping");
	expect_error("max_ttl: [1\n", "2:1:");     /* libyaml syntax error */
	expect_error("x509_uri: spiffe://d/{id\n",
	    "1:11: x509_uri: unknown placeholder at '{id'");
	expect_error("x509_uri: spiffe://d/{task}\n",
	    "1:11: x509_uri: unknown placeholder at '{task}'");
	expect_error("x509_uri: spiffe://d/ci\n",
	    "1:11: x509_uri: {id} is missing");
	expect_error("x509_uri: /ci/{id}\n",
	    "1:11: x509_uri: expected a URI starting with a scheme");
	expect_error("x509_uri: \"spiffe:/d/{id}\"\n",
	    "1:11: x509_uri: expected SCHEME:// at the start");
	expect_error("x509_uri: \"spiffe://d/a b/{id}\"\n",
	    "1:11: x509_uri: only printable ASCII without spaces");
	expect_error("x509_uri: spiffe://d/}{id}\n",
	    "1:11: x509_uri: '}' outside a placeholder");
}

static void
test_missing_file(void **state)
{
	struct wid_config c;
	char err[512];

	wid_config_defaults(&c);
	assert_int_not_equal(wid_config_load(&c, "/nonexistent/wid.yaml", err,
	    sizeof(err)), 0);
	assert_string_equal(err,
	    "/nonexistent/wid.yaml: No such file or directory");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
