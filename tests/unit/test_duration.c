/* tests/unit/test_duration.c: duration parsing accepts the documented forms
 * and rejects everything else; formatting round-trips. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wid/duration.h"
#include "wid/err.h"

static const struct {
	const char *in;
	uint32_t want;
} good[] = {
	{ "90", 90 },
	{ "1", 1 },
	{ "90s", 90 },
	{ "15m", 900 },
	{ "2h", 7200 },
	{ "1d", 86400 },
	{ "1h30m", 5400 },
	{ "1d2h3m4s", 93784 },
	{ "1d30s", 86430 },
	{ "0h5m", 300 },
	{ "007", 7 },
	{ "30d", 30u * 86400u },
	{ "29d23h59m60s", 30u * 86400u },
	{ "2592000", 2592000 },
	{ "720h", 2592000 },
	{ "90m", 5400 },
};

static const char *const bad[] = {
	"",             /* empty */
	"0",            /* zero */
	"0s",
	"0h0m",
	"-5",           /* negative */
	"-5m",
	"+5",           /* sign */
	" 5",           /* spaces */
	"5 ",
	"5m ",
	"1h 30m",
	"abc",          /* garbage */
	"m",            /* unit without number */
	"5x",           /* unknown unit */
	"5M",           /* units are lower case */
	"1.5h",         /* fraction */
	"5mm",          /* repeated unit */
	"1m1m",
	"30m1h",        /* out of order */
	"1s1m",
	"1h30",         /* bare digits after a group */
	"30d1s",        /* over 30 days */
	"31d",
	"2592001",
	"99999999999999999999", /* overflow */
	"4294967296",
	"4294967297s",
	"1h\n",
	"0x10",
};

static void
test_parse_good(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint32_t v = 12345;

		if (wid_duration_parse(good[i].in, &v) != 0)
			fail_msg("rejected \"%s\"", good[i].in);
		if (v != good[i].want)
			fail_msg("\"%s\": got %u want %u", good[i].in, v,
			    good[i].want);
	}
}

static void
test_parse_bad(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t v = 12345;

		if (wid_duration_parse(bad[i], &v) != WID_E_BADARG)
			fail_msg("accepted \"%s\"", bad[i]);
		/* The out-param is left alone on failure. */
		assert_int_equal(v, 12345);
	}
	assert_int_equal(wid_duration_parse(NULL, NULL), WID_E_BADARG);
}

static void
test_format(void **state)
{
	static const struct {
		uint32_t in;
		const char *want;
	} cases[] = {
		{ 0, "0s" },
		{ 45, "45s" },
		{ 60, "1m" },
		{ 5400, "1h30m" },
		{ 86400, "1d" },
		{ 93784, "1d2h3m4s" },
		{ 2592000, "30d" },
		{ UINT32_MAX, "49710d6h28m15s" },
	};
	char out[WID_DURATION_STRLEN];
	size_t i;
	uint32_t back;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		wid_duration_format(cases[i].in, out, sizeof(out));
		assert_string_equal(out, cases[i].want);
		if (cases[i].in > 0 && cases[i].in <= WID_DURATION_MAX) {
			assert_int_equal(wid_duration_parse(out, &back), 0);
			assert_int_equal(back, cases[i].in);
		}
	}
	/* Truncation keeps whole groups and a terminator. */
	wid_duration_format(93784, out, 6);
	assert_string_equal(out, "1d2h");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests_name("duration", tests, NULL, NULL);
}
