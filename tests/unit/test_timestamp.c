/*
 * test_timestamp.c: Azure date-times in and out of jit_time: calendar edges,
 * offsets, fractions, the 1678..2261 range, and messages that say what is wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "timestamp.h"

#define NS JIT_NS_PER_SEC
/* 1678-01-01T00:00:00Z and 2262-01-01T00:00:00Z in seconds since the epoch. */
#define MIN_SECS (-9214560000LL)
#define END_SECS 9214646400LL

static jit_time
parse_ok(const char *s)
{
	struct jit_error e;
	jit_time t = 0;

	jit_error_clear(&e);
	if (jit_time_parse(s, &t, &e) != 0)
		fail_msg("\"%s\" was refused: %s", s, e.message);
	return t;
}

/* Asserts s is refused with 400 InvalidRequestContent and a message containing want. */
static void
parse_bad(const char *s, const char *want)
{
	struct jit_error e;
	jit_time t = 12345;

	jit_error_clear(&e);
	if (jit_time_parse(s, &t, &e) != -1)
		fail_msg("\"%s\" was accepted", s);
	assert_int_equal(t, 12345);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, JIT_E_INVALID_CONTENT);
	if (strstr(e.message, want) == NULL)
		fail_msg("message for \"%s\" is \"%s\", expected it to contain \"%s\"", s,
			e.message, want);
}

static void
format_is(jit_time t, const char *want)
{
	char buf[JIT_TIME_BUFSZ];

	jit_time_format(t, buf);
	assert_string_equal(buf, want);
}

static void
test_azure_example(void **state)
{
	(void)state;
	/* 2020-07-15 is day 18458 since 1970. */
	assert_int_equal(parse_ok("2020-07-15T17:00:00.3658798Z"),
		(18458LL * 86400 + 17 * 3600) * NS + 365879800);
	format_is((18458LL * 86400 + 17 * 3600) * NS + 365879800, "2020-07-15T17:00:00.3658798Z");
}

static void
test_epoch_boundary(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(parse_ok("1970-01-01T00:00:00.000000001Z"), 1);
	assert_int_equal(parse_ok("1969-12-31T23:59:59Z"), -NS);
	assert_int_equal(parse_ok("1969-12-31T23:59:59.999999999Z"), -1);
	assert_int_equal(parse_ok("1969-12-31T23:59:59.5Z"), -NS / 2);
	format_is(0, "1970-01-01T00:00:00.0000000Z");
	format_is(1, "1970-01-01T00:00:00.0000000Z");
	format_is(100, "1970-01-01T00:00:00.0000001Z");
	format_is(-1, "1969-12-31T23:59:59.9999999Z");
	format_is(-100, "1969-12-31T23:59:59.9999999Z");
	format_is(-101, "1969-12-31T23:59:59.9999998Z");
	format_is(-NS, "1969-12-31T23:59:59.0000000Z");
	format_is(-NS / 2, "1969-12-31T23:59:59.5000000Z");
	format_is(-86400 * NS, "1969-12-31T00:00:00.0000000Z");
	format_is(-86400 * NS - 1, "1969-12-30T23:59:59.9999999Z");
	format_is(86400 * NS - 1, "1970-01-01T23:59:59.9999999Z");
}

static void
test_fraction_digits(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2001-01-01T00:00:00Z"), 978307200LL * NS);
	assert_int_equal(parse_ok("2001-01-01T00:00:00.5Z"), 978307200LL * NS + 500000000);
	assert_int_equal(parse_ok("2001-01-01T00:00:00.123Z"), 978307200LL * NS + 123000000);
	assert_int_equal(parse_ok("2001-01-01T00:00:00.1234567Z"), 978307200LL * NS + 123456700);
	assert_int_equal(parse_ok("2001-01-01T00:00:00.123456789Z"), 978307200LL * NS + 123456789);
	assert_int_equal(parse_ok("2001-01-01T00:00:00.000000000Z"), 978307200LL * NS);
	/* Output keeps 7 digits; the last two of 9 are truncated, not rounded. */
	format_is(978307200LL * NS + 123456789, "2001-01-01T00:00:00.1234567Z");
	format_is(978307200LL * NS + 999999999, "2001-01-01T00:00:00.9999999Z");
	parse_bad("2001-01-01T00:00:00.1234567890Z", "more than 9 fractional digits");
	parse_bad("2001-01-01T00:00:00.Z", "a digit after '.'");
	parse_bad("2001-01-01T00:00:00,5Z", "time zone");
}

static void
test_offsets_convert_to_utc(void **state)
{
	jit_time utc;

	(void)state;
	utc = parse_ok("2020-07-15T17:00:00Z");
	assert_int_equal(parse_ok("2020-07-15T22:30:00+05:30"), utc);
	assert_int_equal(parse_ok("2020-07-15T09:00:00-08:00"), utc);
	assert_int_equal(parse_ok("2020-07-15T17:00:00+00:00"), utc);
	assert_int_equal(parse_ok("2020-07-15T17:00:00-00:00"), utc);
	/* Offsets that cross a day, a month and a year. */
	assert_int_equal(parse_ok("2020-07-16T03:00:00+10:00"), utc);
	assert_int_equal(parse_ok("2021-01-01T04:00:00+05:00"), parse_ok("2020-12-31T23:00:00Z"));
	assert_int_equal(parse_ok("2020-12-31T20:00:00-08:00"), parse_ok("2021-01-01T04:00:00Z"));
	assert_int_equal(parse_ok("2020-03-01T00:30:00+01:00"), parse_ok("2020-02-29T23:30:00Z"));
	assert_int_equal(parse_ok("2020-07-15T17:00:00.25+23:59"),
		utc - (23 * 3600 + 59 * 60) * NS + NS / 4);
	format_is(parse_ok("2020-07-15T22:30:00.1+05:30"), "2020-07-15T17:00:00.1000000Z");
	parse_bad("2020-07-15T17:00:00+24:00", "offset hour 24 is out of range");
	parse_bad("2020-07-15T17:00:00+05:60", "offset minute 60 is out of range");
	parse_bad("2020-07-15T17:00:00+0530", "':' in the offset");
	parse_bad("2020-07-15T17:00:00+05", "':' in the offset");
	parse_bad("2020-07-15T17:00:00+5:30", "2-digit offset hour");
	parse_bad("2020-07-15T17:00:00+05:3", "2-digit offset minutes");
	parse_bad("2020-07-15T17:00:00", "time zone");
	parse_bad("2020-07-15T17:00:00.123", "time zone");
	parse_bad("2020-07-15T17:00:00 Z", "time zone");
	parse_bad("2020-07-15T17:00:00UTC", "time zone");
}

static void
test_lowercase_t_and_z(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2020-07-15t17:00:00z"), parse_ok("2020-07-15T17:00:00Z"));
	parse_bad("2020-07-15 17:00:00Z", "'T' between date and time");
}

static void
test_leap_years(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2024-02-29T00:00:00Z"), 1709164800LL * NS);
	format_is(1709164800LL * NS, "2024-02-29T00:00:00.0000000Z");
	assert_int_equal(parse_ok("2024-03-01T00:00:00Z") - parse_ok("2024-02-28T00:00:00Z"),
		2 * 86400 * NS);
	parse_bad("2023-02-29T00:00:00Z", "day 29 does not exist in February 2023");
	parse_bad("2024-02-30T00:00:00Z", "day 30 does not exist in February 2024");
	/* Centuries are leap years only when divisible by 400. */
	parse_ok("2000-02-29T00:00:00Z");
	parse_bad("1900-02-29T00:00:00Z", "does not exist in February 1900");
	parse_bad("2100-02-29T00:00:00Z", "does not exist in February 2100");
	parse_ok("1904-02-29T12:00:00Z");
	format_is(parse_ok("2000-02-29T23:59:59.9999999Z"), "2000-02-29T23:59:59.9999999Z");
	format_is(parse_ok("1700-03-01T00:00:00Z"), "1700-03-01T00:00:00.0000000Z");
	parse_bad("1700-02-29T00:00:00Z", "does not exist");
}

static void
test_impossible_fields(void **state)
{
	(void)state;
	parse_bad("2020-04-31T00:00:00Z", "day 31 does not exist in April 2020");
	parse_bad("2020-06-31T00:00:00Z", "day 31 does not exist in June");
	parse_bad("2020-09-31T00:00:00Z", "day 31 does not exist in September");
	parse_bad("2020-11-31T00:00:00Z", "day 31 does not exist in November");
	parse_ok("2020-12-31T00:00:00Z");
	parse_ok("2020-01-31T00:00:00Z");
	parse_bad("2020-01-00T00:00:00Z", "day 00 does not exist");
	parse_bad("2020-01-32T00:00:00Z", "day 32 does not exist");
	parse_bad("2020-00-10T00:00:00Z", "month 00 is out of range");
	parse_bad("2020-13-10T00:00:00Z", "month 13 is out of range");
	parse_bad("2020-07-15T24:00:00Z", "hour 24 is out of range");
	parse_bad("2020-07-15T25:00:00Z", "hour 25 is out of range");
	parse_bad("2020-07-15T17:60:00Z", "minute 60 is out of range");
	parse_bad("2020-07-15T17:00:60Z", "leap second");
	parse_bad("2016-12-31T23:59:60Z", "leap second");
	parse_bad("2020-07-15T17:00:61Z", "second 61 is out of range");
	parse_bad("2020-07-15T17:00:99Z", "second 99 is out of range");
	parse_ok("2020-07-15T23:59:59.999999999Z");
}

static void
test_range_limits(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("1678-01-01T00:00:00Z"), MIN_SECS * NS);
	format_is(MIN_SECS * NS, "1678-01-01T00:00:00.0000000Z");
	assert_int_equal(parse_ok("2261-12-31T23:59:59.999999999Z"), END_SECS * NS - 1);
	format_is(END_SECS * NS - 1, "2261-12-31T23:59:59.9999999Z");
	parse_bad("1677-12-31T23:59:59.999999999Z", "outside the supported range");
	parse_bad("2262-01-01T00:00:00Z", "outside the supported range");
	parse_bad("1677-09-21T00:12:43.145224192Z", "outside the supported range");
	parse_bad("2262-04-11T23:47:16.854775807Z", "outside the supported range");
	parse_bad("0000-01-01T00:00:00Z", "outside the supported range");
	parse_bad("9999-12-31T23:59:59Z", "outside the supported range");
	/* The range is on the UTC instant, not on the year as written. */
	assert_int_equal(parse_ok("1677-12-31T23:00:00-01:00"), MIN_SECS * NS);
	parse_bad("1678-01-01T00:30:00+01:00", "outside the supported range");
	parse_bad("2261-12-31T20:00:00-04:00", "outside the supported range");
	assert_int_equal(parse_ok("2262-01-01T03:59:59+04:00"), (END_SECS - 1) * NS);
	/* Every int64 formats, including the ends beyond the parseable range. */
	format_is(INT64_MIN, "1677-09-21T00:12:43.1452241Z");
	format_is(INT64_MAX, "2262-04-11T23:47:16.8547758Z");
}

static void
test_syntax_errors(void **state)
{
	(void)state;
	parse_bad("", "empty");
	parse_bad("2020", "ends at character 5 where '-' after the year was expected");
	parse_bad("20-07-15T17:00:00Z", "4-digit year");
	parse_bad("+2020-07-15T17:00:00Z", "4-digit year");
	parse_bad("02020-07-15T17:00:00Z", "'-' after the year");
	parse_bad("2020/07/15T17:00:00Z", "'-' after the year");
	parse_bad("2020-7-15T17:00:00Z", "2-digit month at character 6");
	parse_bad("2020-07-5T17:00:00Z", "2-digit day");
	parse_bad("2020-07-15", "'T' between date and time");
	parse_bad("2020-07-15T17Z", "':' after the hour");
	parse_bad("2020-07-15T17:00Z", "seconds are required");
	parse_bad("2020-07-15T1:00:00Z", "2-digit hour");
	parse_bad("2020-07-15T17:0:00Z", "2-digit minute");
	parse_bad("2020-07-15T17:00:0Z", "2-digit seconds");
	parse_bad("2020-07-15T17:00:00Zjunk", "unexpected text after the time zone");
	parse_bad("2020-07-15T17:00:00Z ", "unexpected text after the time zone");
	parse_bad("2020-07-15T17:00:00+05:30Z", "unexpected text after the time zone");
	parse_bad(" 2020-07-15T17:00:00Z", "4-digit year");
	parse_bad("2020-\xd9\xa0"
		  "7-15T17:00:00Z",
		"2-digit month");
	parse_bad("now", "4-digit year");
	parse_bad("1594832400", "'-' after the year");
}

static void
test_null_input(void **state)
{
	struct jit_error e;
	jit_time t = 7;

	(void)state;
	assert_int_equal(jit_time_parse(NULL, &t, &e), -1);
	assert_int_equal(t, 7);
	assert_int_equal(jit_time_parse("2020-07-15", &t, NULL), -1);
}

static void
test_message_quotes_input_safely(void **state)
{
	struct jit_error e;
	jit_time t;
	char *json;
	char longer[600];

	(void)state;
	assert_int_equal(jit_time_parse("2023-02-29T00:00:00Z", &t, &e), -1);
	assert_string_equal(e.message, "invalid date-time \"2023-02-29T00:00:00Z\": day 29 does "
				       "not exist in February 2023 (it has 28 days)");

	/* Control characters, quotes and non-UTF-8 bytes are escaped, never echoed raw. */
	assert_int_equal(jit_time_parse("2020\n\"\\\x1b[31m\xff", &t, &e), -1);
	assert_non_null(strstr(e.message, "\"2020\\x0a\\\"\\\\\\x1b[31m\\xff\""));
	for (const char *m = e.message; *m != '\0'; m++)
		assert_true(*m >= 0x20 && *m < 0x7f);
	json = jit_error_to_json(&e);
	assert_non_null(json);
	free(json);

	/* Long input is cut, and the message says how long it was. */
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	memcpy(longer, "2020-07-15T17:00:00Z", 20);
	assert_int_equal(jit_time_parse(longer, &t, &e), -1);
	assert_non_null(strstr(e.message, "xxxx\"... (599 bytes): unexpected text"));
	assert_true(strlen(e.message) < 200);

	/* Escaping at full length still fits, and the reason is not truncated away. */
	memset(longer, '\x01', sizeof(longer) - 1);
	assert_int_equal(jit_time_parse(longer, &t, &e), -1);
	assert_non_null(strstr(e.message, "(599 bytes): expected a 4-digit year at character 1"));
}

static void
test_round_trips(void **state)
{
	static const char *const canonical[] = {
		"2020-07-15T17:00:00.3658798Z",
		"1970-01-01T00:00:00.0000000Z",
		"1969-12-31T23:59:59.9999999Z",
		"1678-01-01T00:00:00.0000000Z",
		"2261-12-31T23:59:59.9999999Z",
		"2024-02-29T12:34:56.7890123Z",
		"1900-03-01T00:00:00.0000001Z",
		"1776-07-04T12:00:00.0000000Z",
		"2038-01-19T03:14:08.0000000Z",
	};
	char buf[JIT_TIME_BUFSZ];

	(void)state;
	for (size_t i = 0; i < sizeof(canonical) / sizeof(canonical[0]); i++) {
		jit_time_format(parse_ok(canonical[i]), buf);
		assert_string_equal(buf, canonical[i]);
	}
	/* Every day of a leap and a common year, and the days around the epoch. */
	for (int64_t day = -800; day < 800; day++) {
		jit_time t = (day * 86400 + 3661) * NS + 1234567800;

		jit_time_format(t, buf);
		assert_int_equal(parse_ok(buf), t);
	}
	for (jit_time t = MIN_SECS * NS; t < END_SECS * NS - 86400 * NS;
		t += 86400 * NS * 97 + 7777777700LL) {
		jit_time_format(t, buf);
		assert_int_equal(parse_ok(buf), t);
	}
}

static void
test_now_is_plausible(void **state)
{
	jit_time a, b;

	(void)state;
	a = jit_time_now();
	b = jit_time_now();
	assert_true(a > parse_ok("2024-01-01T00:00:00Z"));
	assert_true(a < parse_ok("2200-01-01T00:00:00Z"));
	assert_true(b >= a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_azure_example),
		cmocka_unit_test(test_epoch_boundary),
		cmocka_unit_test(test_fraction_digits),
		cmocka_unit_test(test_offsets_convert_to_utc),
		cmocka_unit_test(test_lowercase_t_and_z),
		cmocka_unit_test(test_leap_years),
		cmocka_unit_test(test_impossible_fields),
		cmocka_unit_test(test_range_limits),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_null_input),
		cmocka_unit_test(test_message_quotes_input_safely),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_now_is_plausible),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
