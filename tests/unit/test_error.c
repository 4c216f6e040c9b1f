/*
 * test_error.c: struct jit_error filling, prefixing and rendering; jit_quote; the
 * message about refused input (jit_input_verrorf).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "error.h"

static void
test_errorf_fills_and_returns_minus_one(void **state)
{
	struct jit_error e;

	(void)state;
	assert_int_equal(jit_errorf(&e, 400, JIT_E_BAD_REQUEST, "port %d is bad", 7), -1);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "BadRequest");
	assert_string_equal(e.message, "port 7 is bad");
	assert_int_equal(jit_errorf(NULL, 400, "x", "y"), -1);
}

static void
test_prefix_names_path(void **state)
{
	struct jit_error e;

	(void)state;
	jit_errorf(&e, 400, JIT_E_INVALID_CONTENT, "must be a string");
	jit_error_prefix(&e, "properties.virtualMachines[%d].id", 3);
	assert_string_equal(e.message, "properties.virtualMachines[3].id: must be a string");
}

static void
test_long_message_is_truncated_not_overflowed(void **state)
{
	struct jit_error e;
	char big[2000];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	jit_errorf(&e, 400, JIT_E_BAD_REQUEST, "%s", big);
	assert_int_equal(strlen(e.message), JIT_ERROR_MSG_MAX - 1);
	jit_error_prefix(&e, "%s", big);
	assert_int_equal(strlen(e.message), JIT_ERROR_MSG_MAX - 1);
}

static void
test_json_shape(void **state)
{
	struct jit_error e;
	json_t *j;
	char *s;

	(void)state;
	jit_errorf(&e, 404, JIT_E_NOT_FOUND, "policy \"x\" was not found");
	s = jit_error_to_json(&e);
	assert_non_null(s);
	j = json_loads(s, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
		"NotFound");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"),
		"message")), "policy \"x\" was not found");
	assert_int_equal(json_object_size(j), 1);
	json_decref(j);
	free(s);
}

/* Does e render as CloudError JSON (which needs a valid UTF-8 message)? */
static int
renders_as_json(const struct jit_error *e)
{
	char *s = jit_error_to_json(e);

	if (s == NULL)
		return 0;
	free(s);
	return 1;
}

/* A message of 2-, 3- and 4-byte characters cut at every possible offset stays whole. */
static void
test_long_multibyte_message_is_cut_at_a_character(void **state)
{
	static const char *const chars[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x94\x92"};
	struct jit_error e;
	char big[2000];

	(void)state;
	for (size_t c = 0; c < 3; c++) {
		size_t clen = strlen(chars[c]);

		/* Shifting by one ASCII byte per round puts the cut at every byte of a char. */
		for (size_t shift = 0; shift < clen; shift++) {
			size_t o;

			memset(big, 'a', shift);
			for (o = shift; o + clen < sizeof(big); o += clen)
				memcpy(big + o, chars[c], clen);
			big[o] = '\0';

			jit_errorf(&e, 400, JIT_E_BAD_REQUEST, "%s", big);
			assert_true(strlen(e.message) <= JIT_ERROR_MSG_MAX - 1);
			assert_true(strlen(e.message) > JIT_ERROR_MSG_MAX - 1 - clen);
			assert_int_equal((strlen(e.message) - shift) % clen, 0);
			assert_true(renders_as_json(&e));

			jit_errorf(&e, 400, JIT_E_BAD_REQUEST, "bad value");
			jit_error_prefix(&e, "%s", big);
			assert_true(strlen(e.message) > JIT_ERROR_MSG_MAX - 1 - clen);
			assert_int_equal((strlen(e.message) - shift) % clen, 0);
			assert_true(renders_as_json(&e));

			/* The prefix fits and the old message is what gets cut. */
			jit_errorf(&e, 400, JIT_E_BAD_REQUEST, "%s", big + shift + 100 * clen);
			assert_true(renders_as_json(&e));
			jit_error_prefix(&e, "properties.virtualMachines[%d].ports[0]", 12);
			assert_ptr_equal(strstr(e.message, "properties.virtual"), e.message);
			assert_true(strlen(e.message) > JIT_ERROR_MSG_MAX - 1 - clen);
			assert_true(renders_as_json(&e));
		}
	}
}

/* A message that fits is left as it is, whatever it holds. */
static void
test_short_message_is_not_trimmed(void **state)
{
	struct jit_error e;

	(void)state;
	jit_errorf(&e, 400, JIT_E_BAD_REQUEST, "caf\xc3\xa9 \xe2\x82\xac");
	assert_string_equal(e.message, "caf\xc3\xa9 \xe2\x82\xac");
	jit_error_prefix(&e, "\xc3\xa9");
	assert_string_equal(e.message, "\xc3\xa9: caf\xc3\xa9 \xe2\x82\xac");
}

static void
test_quote_escapes(void **state)
{
	char q[JIT_QUOTE_BUFSZ(64)];
	const char *s;

	(void)state;
	assert_ptr_equal(jit_quote(q, sizeof(q), "TCP", 3), q);
	assert_string_equal(q, "TCP");
	s = "a\"b\\c'd";
	assert_string_equal(jit_quote(q, sizeof(q), s, strlen(s)), "a\\\"b\\\\c'd");
	s = "\x1b[31m\n\x7f\xc3\xa9";
	assert_string_equal(jit_quote(q, sizeof(q), s, strlen(s)), "\\x1b[31m\\x0a\\x7f\\xc3\\xa9");
	/* Only len bytes are read; a NUL inside them is shown. */
	assert_string_equal(jit_quote(q, sizeof(q), "ab\0cd", 4), "ab\\x00c");
	assert_string_equal(jit_quote(q, sizeof(q), "abc", 0), "");
	assert_string_equal(jit_quote(q, sizeof(q), " ~", 2), " ~");
}

static void
test_quote_cuts_at_buffer(void **state)
{
	char q[JIT_QUOTE_BUFSZ(8)];
	char tiny[3] = "xx";

	(void)state;
	assert_int_equal(sizeof(q), 12);
	/* Up to 8 characters fit whole; one more and 8 are shown with "...". */
	assert_string_equal(jit_quote(q, sizeof(q), "12345678", 8), "12345678");
	assert_string_equal(jit_quote(q, sizeof(q), "123456789", 9), "12345678...");
	/* An escape is never split: what does not fit whole is left out. */
	assert_string_equal(jit_quote(q, sizeof(q), "12345\xff", 6), "12345...");
	assert_string_equal(jit_quote(q, sizeof(q), "1234\xff", 5), "1234\\xff");
	assert_string_equal(jit_quote(q, sizeof(q), "1234567\"", 8), "1234567...");
	assert_string_equal(jit_quote(q, sizeof(q), "\xff\xff\xff", 3), "\\xff\\xff...");
	/* Too small for anything: empty, still terminated. */
	assert_string_equal(jit_quote(tiny, sizeof(tiny), "abc", 3), "");
	assert_string_equal(jit_quote(q, 4, "abc", 3), "...");
	assert_string_equal(jit_quote(q, 4, "", 0), "");
}

/* Whatever the input, the quote is printable ASCII and renders in a JSON message. */
static void
test_quote_output_is_safe(void **state)
{
	char q[JIT_QUOTE_BUFSZ(40)];
	char all[256];
	struct jit_error e;

	(void)state;
	for (size_t i = 0; i < sizeof(all); i++)
		all[i] = (char)(255 - i);
	for (size_t off = 0; off < sizeof(all); off += 7) {
		jit_quote(q, sizeof(q), all + off, sizeof(all) - off);
		assert_true(strlen(q) < sizeof(q));
		for (const char *p = q; *p != '\0'; p++)
			assert_true(*p >= 0x20 && *p < 0x7f);
		jit_errorf(&e, 400, JIT_E_BAD_REQUEST, "value \"%s\" is bad", q);
		assert_true(renders_as_json(&e));
	}
}

static int input_errorf(struct jit_error *err, const char *what, const char *s,
	const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
input_errorf(struct jit_error *err, const char *what, const char *s, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = jit_input_verrorf(err, what, s, fmt, ap);
	va_end(ap);
	return r;
}

static void
test_input_error_quotes_the_input(void **state)
{
	struct jit_error e;

	(void)state;
	assert_int_equal(input_errorf(&e, "duration", "PT0S", "must be > %d", 0), -1);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, JIT_E_INVALID_CONTENT);
	assert_string_equal(e.message, "invalid duration \"PT0S\": must be > 0");
	input_errorf(&e, "date-time", "a\"\x1b[0m", "bad");
	assert_string_equal(e.message, "invalid date-time \"a\\\"\\x1b[0m\": bad");
	assert_true(renders_as_json(&e));
}

/* Of a long input the first 48 bytes show, each escaped in full, then its length. */
static void
test_input_error_elides_long_input(void **state)
{
	char exact[49], long_in[300], escaped[301];
	char want[JIT_ERROR_MSG_MAX];
	struct jit_error e;

	(void)state;
	memset(exact, 'x', sizeof(exact) - 1);
	exact[sizeof(exact) - 1] = '\0';
	input_errorf(&e, "duration", exact, "too long");
	snprintf(want, sizeof(want), "invalid duration \"%s\": too long", exact);
	assert_string_equal(e.message, want);

	memset(long_in, 'y', sizeof(long_in) - 1);
	long_in[sizeof(long_in) - 1] = '\0';
	input_errorf(&e, "duration", long_in, "too long");
	snprintf(want, sizeof(want), "invalid duration \"%.48s\"... (299 bytes): too long",
		long_in);
	assert_string_equal(e.message, want);

	memset(escaped, 0x01, sizeof(escaped) - 1);
	escaped[sizeof(escaped) - 1] = '\0';
	input_errorf(&e, "date-time", escaped, "unexpected text");
	assert_non_null(strstr(e.message, "\\x01\"... (300 bytes): unexpected text"));
	/* 48 bytes, 4 characters each: the quote is never cut short. */
	assert_int_equal(strstr(e.message, "\"...") - strchr(e.message, '"') - 1, 48 * 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errorf_fills_and_returns_minus_one),
		cmocka_unit_test(test_prefix_names_path),
		cmocka_unit_test(test_long_message_is_truncated_not_overflowed),
		cmocka_unit_test(test_json_shape),
		cmocka_unit_test(test_long_multibyte_message_is_cut_at_a_character),
		cmocka_unit_test(test_short_message_is_not_trimmed),
		cmocka_unit_test(test_quote_escapes),
		cmocka_unit_test(test_quote_cuts_at_buffer),
		cmocka_unit_test(test_quote_output_is_safe),
		cmocka_unit_test(test_input_error_quotes_the_input),
		cmocka_unit_test(test_input_error_elides_long_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
