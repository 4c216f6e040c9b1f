/*
 * test_number.c: decimal numbers from untrusted text (number.c): what is taken,
 * what is refused (spaces, signs, empty, overflow at both ends), the ranges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "number.h"

static void
test_parse(void **state)
{
	int64_t v = 7;

	(void)state;
	assert_int_equal(jit_number_parse("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(jit_number_parse("65535", 1, 65535, &v), 0);
	assert_int_equal(v, 65535);
	assert_int_equal(jit_number_parse("-5", -10, 10, &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(jit_number_parse("9223372036854775807", 0, INT64_MAX, &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(jit_number_parse("-9223372036854775808", INT64_MIN, 0, &v), 0);
	assert_true(v == INT64_MIN);
	v = 7;
	/* Refused, out untouched. */
	const char *bad[] = {"", " 5", "5 ", "+5", "5x", "0x10", "--5", "-", "1e3",
		"9223372036854775808", "-9223372036854775809", "99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(jit_number_parse(bad[i], INT64_MIN, INT64_MAX, &v), -1);
	assert_int_equal(jit_number_parse(NULL, 0, 1, &v), -1);
	assert_int_equal(jit_number_parse("65536", 1, 65535, &v), -1);
	assert_int_equal(jit_number_parse("0", 1, 65535, &v), -1);
	assert_int_equal(jit_number_parse("-1", 0, 10, &v), -1);
	assert_int_equal(v, 7);
}

static void
test_parse_u64(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(jit_number_parse_u64("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(jit_number_parse_u64("042", &v), 0);
	assert_true(v == 42);
	assert_int_equal(jit_number_parse_u64("18446744073709551616", &v), -1);
	assert_int_equal(jit_number_parse_u64("-1", &v), -1);
	assert_int_equal(jit_number_parse_u64("", &v), -1);
	assert_int_equal(jit_number_parse_u64(NULL, &v), -1);
	assert_true(v == 42);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_u64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
