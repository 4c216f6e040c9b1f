/*
 * test_error.c: struct jit_error filling, prefixing and rendering.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errorf_fills_and_returns_minus_one),
		cmocka_unit_test(test_prefix_names_path),
		cmocka_unit_test(test_long_message_is_truncated_not_overflowed),
		cmocka_unit_test(test_json_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
