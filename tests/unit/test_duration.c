/*
 * test_duration.c: ISO 8601 durations in and out of int64 nanoseconds: the forms
 * Azure uses, canonical output, overflow, and everything that must be refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "duration.h"
#include "jit_limits.h"

#define S 1000000000LL
#define MIN (60 * S)
#define HOUR (3600 * S)
#define DAY (86400 * S)

static int64_t
parse_ok(const char *s)
{
	struct jit_error e;
	int64_t ns = 0;

	jit_error_clear(&e);
	if (jit_duration_parse(s, &ns, &e) != 0)
		fail_msg("\"%s\" was refused: %s", s, e.message);
	return ns;
}

/* Asserts s is refused with 400 InvalidRequestContent and a message containing want. */
static void
parse_bad(const char *s, const char *want)
{
	struct jit_error e;
	int64_t ns = 12345;

	jit_error_clear(&e);
	if (jit_duration_parse(s, &ns, &e) != -1)
		fail_msg("\"%s\" was accepted", s);
	assert_int_equal(ns, 12345);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, JIT_E_INVALID_CONTENT);
	if (strstr(e.message, want) == NULL)
		fail_msg("message for \"%s\" is \"%s\", expected it to contain \"%s\"", s,
			e.message, want);
}

static void
format_is(int64_t ns, const char *want)
{
	char buf[JIT_DURATION_BUFSZ];

	jit_duration_format(ns, buf);
	assert_string_equal(buf, want);
}

/* Parses s, checks the value, and checks that it formats back as canonical. */
static void
parse_is(const char *s, int64_t want, const char *canonical)
{
	assert_int_equal(parse_ok(s), want);
	format_is(want, canonical);
}

static void
test_azure_forms(void **state)
{
	(void)state;
	parse_is("PT3H", 3 * HOUR, "PT3H");
	parse_is("PT30M", 30 * MIN, "PT30M");
	parse_is("P1DT2H", DAY + 2 * HOUR, "P1DT2H");
	parse_is("PT90S", 90 * S, "PT1M30S");
	parse_is("PT0.5S", S / 2, "PT0.5S");
	parse_is("PT5M", JIT_MIN_ACCESS_DURATION_NS, "PT5M");
	parse_is("P1D", JIT_MAX_ACCESS_DURATION_NS, "P1D");
	parse_is("PT24H", DAY, "P1D");
	parse_is("PT1440M", DAY, "P1D");
}

static void
test_all_components(void **state)
{
	(void)state;
	parse_is("P1W", 7 * DAY, "P7D");
	parse_is("P1W2D", 9 * DAY, "P9D");
	parse_is("P1W2DT3H4M5S", 9 * DAY + 3 * HOUR + 4 * MIN + 5 * S, "P9DT3H4M5S");
	parse_is("P2DT30M", 2 * DAY + 30 * MIN, "P2DT30M");
	parse_is("P2DT1S", 2 * DAY + S, "P2DT1S");
	parse_is("PT1H1S", HOUR + S, "PT1H1S");
	parse_is("PT1M", MIN, "PT1M");
	parse_is("PT1S", S, "PT1S");
	parse_is("PT59S", 59 * S, "PT59S");
	parse_is("PT60S", MIN, "PT1M");
	parse_is("PT3600S", HOUR, "PT1H");
	parse_is("PT0H0M1S", S, "PT1S");
	parse_is("P0DT1H", HOUR, "PT1H");
	parse_is("PT005M", 5 * MIN, "PT5M");
	parse_is("P0W0DT0H0M0.000000001S", 1, "PT0.000000001S");
}

static void
test_fractions(void **state)
{
	(void)state;
	parse_is("PT0.5S", S / 2, "PT0.5S");
	parse_is("PT1.25S", S + S / 4, "PT1.25S");
	parse_is("PT0.000000001S", 1, "PT0.000000001S");
	parse_is("PT0.123456789S", 123456789, "PT0.123456789S");
	parse_is("PT1.500S", 1500 * 1000000LL, "PT1.5S");
	parse_is("PT1.5M", 90 * S, "PT1M30S");
	parse_is("PT0.5H", 30 * MIN, "PT30M");
	parse_is("PT1H0.5M", HOUR + 30 * S, "PT1H30S");
	parse_is("P0.5D", 12 * HOUR, "PT12H");
	parse_is("P0.5W", 84 * HOUR, "P3DT12H");
	parse_is("P0.000000001W", 604800, "PT0.0006048S");
	parse_is("PT0.999999999H", 3599999996400LL, "PT59M59.9999964S");
	parse_bad("PT0.1234567891S", "more than 9 fractional digits");
	parse_bad("PT1.S", "expected a digit after '.'");
	parse_bad("PT.5S", "digits before '.'");
	parse_bad("PT1,5S", "use '.'");
	parse_bad("PT0.0S", "greater than zero");
}

static void
test_fraction_only_on_last(void **state)
{
	(void)state;
	parse_bad("PT1.5H30M", "fraction is allowed only on the last component");
	parse_bad("PT0.5M1S", "fraction is allowed only on the last component");
	parse_bad("P1.5DT1H", "fraction is allowed only on the last component");
	parse_bad("P0.5W1D", "fraction is allowed only on the last component");
}

static void
test_zero_and_negative(void **state)
{
	(void)state;
	parse_bad("PT0S", "greater than zero");
	parse_bad("P0D", "greater than zero");
	parse_bad("PT0H0M0S", "greater than zero");
	parse_bad("P0W", "greater than zero");
	parse_bad("-PT1H", "negative durations are not allowed");
	parse_bad("PT-1H", "signs are not allowed");
	parse_bad("+PT1H", "starts with 'P'");
	parse_bad("PT+1H", "signs are not allowed");
}

static void
test_overflow(void **state)
{
	(void)state;
	/* The largest: INT64_MAX ns, both as seconds and as the canonical form. */
	parse_is("PT9223372036.854775807S", INT64_MAX, "P106751DT23H47M16.854775807S");
	parse_is("P106751DT23H47M16.854775807S", INT64_MAX, "P106751DT23H47M16.854775807S");
	parse_is("P106751D", 106751 * DAY, "P106751D");
	parse_bad("PT9223372036.854775808S", "too large");
	parse_bad("P106751DT23H47M16.854775808S", "too large");
	parse_bad("P106752D", "too large");
	/* 2^63 seconds, and 2^63 as a bare count (which overflows the number itself). */
	parse_bad("PT9223372036854775808S", "too large");
	parse_bad("PT9223372036854775807S", "too large");
	parse_bad("PT9223372037S", "too large");
	parse_bad("P999999999999D", "too large");
	parse_bad("P99999999999999999999999999999W", "too large");
	parse_bad("PT18446744073709551616S", "too large");
	parse_bad("P15250W2D", "too large");
	parse_bad("P106751DT24H", "too large");
	parse_bad("P106751DT23H47M17S", "too large");
	parse_bad("P15251W", "too large");
	parse_is("P15250W", 15250 * 7 * DAY, "P106750D");
	parse_is("PT0000000000000000000000000001S", S, "PT1S");
}

static void
test_structure_errors(void **state)
{
	(void)state;
	parse_bad("", "empty");
	parse_bad("P", "no components");
	parse_bad("PT", "'T' must be followed by hours, minutes or seconds");
	parse_bad("P1DT", "'T' must be followed by hours, minutes or seconds");
	parse_bad("P1D1H", "hours ('H') must come after 'T'");
	parse_bad("P1S", "seconds ('S') must come after 'T'");
	parse_bad("PT1D", "days ('D') must come before 'T'");
	parse_bad("PT1W", "weeks ('W') must come before 'T'");
	parse_bad("PT1HT1M", "'T' appears twice");
	parse_bad("PTT1H", "'T' appears twice");
	parse_bad("PT1H2H", "hours ('H') appear twice");
	parse_bad("P1D2D", "days ('D') appear twice");
	parse_bad("PT30M1H", "hours ('H') must come before minutes ('M')");
	parse_bad("PT1S1M", "minutes ('M') must come before seconds ('S')");
	parse_bad("P1D1W", "weeks ('W') must come before days ('D')");
	parse_bad("P1Y", "years are not supported");
	parse_bad("P1M", "months are not supported");
	parse_bad("P1Y2M3DT4H", "years are not supported");
	parse_bad("PT1Y", "years are not supported");
	parse_bad("PT5", "has no unit");
	parse_bad("P5", "has no unit");
	parse_bad("PTH", "expected a number before 'H'");
	parse_bad("PD", "expected a number before 'D'");
	parse_bad("PT1X", "expected a unit (W, D, H, M or S) at character 4");
	parse_bad("PT1h", "designators are uppercase");
	parse_bad("pt1h", "starts with 'P'");
	parse_bad("Pt1H", "designators are uppercase");
	parse_bad("PT1H ", "expected a number at character 5");
	parse_bad(" PT1H", "starts with 'P'");
	parse_bad("PT1 H", "expected a unit");
	parse_bad("1H", "starts with 'P'");
	parse_bad("01:00:00", "starts with 'P'");
	parse_bad("3600", "starts with 'P'");
	parse_bad("PT1H\n", "expected a number at character 5");
}

static void
test_null_input(void **state)
{
	struct jit_error e;
	int64_t ns = 7;

	(void)state;
	assert_int_equal(jit_duration_parse(NULL, &ns, &e), -1);
	assert_int_equal(ns, 7);
	assert_int_equal(jit_duration_parse("P", &ns, NULL), -1);
}

static void
test_message_quotes_input_safely(void **state)
{
	struct jit_error e;
	int64_t ns;
	char *json;
	char longer[300];

	(void)state;
	assert_int_equal(jit_duration_parse("PT0S", &ns, &e), -1);
	assert_string_equal(
		e.message, "invalid duration \"PT0S\": a duration must be greater than zero");

	assert_int_equal(jit_duration_parse("PT1H\r\n\"\xc3\x28\\", &ns, &e), -1);
	assert_non_null(strstr(e.message, "\"PT1H\\x0d\\x0a\\\"\\xc3(\\\\\""));
	for (const char *m = e.message; *m != '\0'; m++)
		assert_true(*m >= 0x20 && *m < 0x7f);
	json = jit_error_to_json(&e);
	assert_non_null(json);
	free(json);

	memset(longer, '9', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	longer[0] = 'P';
	assert_int_equal(jit_duration_parse(longer, &ns, &e), -1);
	assert_non_null(strstr(e.message, "999\"... (299 bytes): too large"));
}

static void
test_format(void **state)
{
	(void)state;
	format_is(0, "PT0S");
	format_is(1, "PT0.000000001S");
	format_is(10, "PT0.00000001S");
	format_is(S, "PT1S");
	format_is(S + 1, "PT1.000000001S");
	format_is(MIN, "PT1M");
	format_is(HOUR, "PT1H");
	format_is(HOUR + MIN + S, "PT1H1M1S");
	format_is(DAY, "P1D");
	format_is(DAY + 1, "P1DT0.000000001S");
	format_is(DAY + MIN, "P1DT1M");
	format_is(10 * DAY + 10 * HOUR + 10 * MIN + 10 * S + 100000000, "P10DT10H10M10.1S");
	format_is(INT64_MAX, "P106751DT23H47M16.854775807S");
	/* Outside the contract (ns >= 0), but written honestly and without overflow. */
	format_is(-HOUR, "-PT1H");
	format_is(INT64_MIN, "-P106751DT23H47M16.854775808S");
}

static void
test_round_trips(void **state)
{
	char buf[JIT_DURATION_BUFSZ];
	int64_t ns;

	(void)state;
	/* Walk the whole range with a step that touches every component. */
	for (ns = 1; ns < INT64_MAX / 3 - 7; ns = ns * 3 + 7) {
		jit_duration_format(ns, buf);
		assert_int_equal(parse_ok(buf), ns);
	}
	for (ns = INT64_MAX; ns > INT64_MAX - 1000; ns--) {
		jit_duration_format(ns, buf);
		assert_int_equal(parse_ok(buf), ns);
	}
	for (ns = 1; ns < 100000; ns++) {
		jit_duration_format(ns * 999983, buf);
		assert_int_equal(parse_ok(buf), ns * 999983);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_azure_forms),
		cmocka_unit_test(test_all_components),
		cmocka_unit_test(test_fractions),
		cmocka_unit_test(test_fraction_only_on_last),
		cmocka_unit_test(test_zero_and_negative),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_structure_errors),
		cmocka_unit_test(test_null_input),
		cmocka_unit_test(test_message_quotes_input_safely),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_round_trips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
