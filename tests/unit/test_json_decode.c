/*
 * test_json_decode.c: JSON paths, type names and the one-value checks the codecs share:
 * their wording, the order in which they refuse, and what they leave in *out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "json_decode.h"

static json_t *
load(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &je);

	if (j == NULL)
		fail_msg("test JSON does not parse: %s", je.text);
	return j;
}

/* Asserts a 400 InvalidRequestContent with exactly this message. */
static void
assert_invalid(const struct jit_error *e, const char *message)
{
	assert_int_equal(e->status, 400);
	assert_string_equal(e->code, JIT_E_INVALID_CONTENT);
	assert_string_equal(e->message, message);
}

static void
test_paths(void **state)
{
	char sub[JIT_JSON_PATH_BUFSZ];
	char deep[JIT_JSON_PATH_BUFSZ];
	char long_key[2 * JIT_JSON_PATH_BUFSZ];

	(void)state;
	assert_string_equal(jit_json_path_key(sub, "", "properties"), "properties");
	assert_string_equal(jit_json_path_key(sub, "properties", "requests"),
		"properties.requests");
	assert_string_equal(jit_json_path_index(sub, "", "rules", 3), "rules[3]");
	assert_string_equal(jit_json_path_index(deep, "rules[3]", "grants", SIZE_MAX),
		"rules[3].grants[18446744073709551615]");
	/* Returns its buffer, so a path can be built in an argument list. */
	assert_ptr_equal(jit_json_path_key(sub, deep, "source"), sub);
	assert_string_equal(sub, "rules[3].grants[18446744073709551615].source");

	/* Too long: cut to the buffer, still a C string. */
	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	jit_json_path_key(sub, "a", long_key);
	assert_int_equal(strlen(sub), JIT_JSON_PATH_BUFSZ - 1);
	assert_memory_equal(sub, "a.kkk", 5);
	jit_json_path_index(sub, "a", long_key, 7);
	assert_int_equal(strlen(sub), JIT_JSON_PATH_BUFSZ - 1);
}

static void
test_type_names(void **state)
{
	static const struct {
		const char *json;
		const char *name;
	} cases[] = {
		{"{}", "an object"}, {"[]", "an array"}, {"\"\"", "a string"},
		{"0", "an integer"}, {"0.5", "a real number"}, {"true", "a boolean"},
		{"false", "a boolean"}, {"null", "null"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = load(cases[i].json);

		assert_string_equal(jit_json_type_name(j), cases[i].name);
		json_decref(j);
	}
}

static void
test_at_and_invalid(void **state)
{
	struct jit_error e;

	(void)state;
	assert_int_equal(jit_json_invalid(&e, "rules[0].number", "%d is too big", 70000), -1);
	assert_invalid(&e, "rules[0].number: 70000 is too big");
	/* At the top level the message stands alone. */
	assert_int_equal(jit_json_invalid(&e, "", "must be an object"), -1);
	assert_invalid(&e, "must be an object");

	/* jit_json_at places an error some other module filled, keeping its status. */
	jit_errorf(&e, 413, JIT_E_TOO_LARGE, "too large");
	assert_int_equal(jit_json_at(&e, "properties"), -1);
	assert_int_equal(e.status, 413);
	assert_string_equal(e.message, "properties: too large");
	assert_int_equal(jit_json_at(&e, ""), -1);
	assert_string_equal(e.message, "properties: too large");
}

/* Every check says "is required" of an absent (NULL) value. */
static void
test_absent_is_required(void **state)
{
	struct jit_error e;
	const json_t *a;
	const char *s = "untouched";
	json_int_t n;
	bool b = true;

	(void)state;
	assert_int_equal(jit_json_object(NULL, "properties", &e), -1);
	assert_invalid(&e, "properties: is required");
	assert_int_equal(jit_json_string(NULL, "id", false, 10, &s, &e), -1);
	assert_invalid(&e, "id: is required");
	assert_null(s);
	assert_int_equal(jit_json_integer(NULL, "number", &n, &e), -1);
	assert_invalid(&e, "number: is required");
	assert_int_equal(jit_json_bool(NULL, "flag", &b, &e), -1);
	assert_invalid(&e, "flag: is required");
	assert_true(b);
	assert_int_equal(jit_json_array(NULL, "ports", false, 10, "ports", &a, &e), -1);
	assert_invalid(&e, "ports: is required");
	assert_null(a);
}

static void
test_wrong_type(void **state)
{
	struct jit_error e;
	json_t *null = json_null(), *str = json_string("x"), *num = json_integer(1);
	json_t *obj = json_object(), *arr = json_array(), *real = json_real(1.5);
	const json_t *a;
	const char *s;
	json_int_t n;
	bool b = true;

	(void)state;
	assert_int_equal(jit_json_object(arr, "", &e), -1);
	assert_invalid(&e, "must be an object, not an array");
	assert_int_equal(jit_json_string(null, "id", false, 10, &s, &e), -1);
	assert_invalid(&e, "id: must be a string, not null");
	assert_int_equal(jit_json_integer(real, "number", &n, &e), -1);
	assert_invalid(&e, "number: must be an integer, not a real number");
	assert_int_equal(jit_json_integer(str, "number", &n, &e), -1);
	assert_invalid(&e, "number: must be an integer, not a string");
	assert_int_equal(jit_json_bool(num, "flag", &b, &e), -1);
	assert_invalid(&e, "flag: must be a boolean, not an integer");
	assert_true(b);
	assert_int_equal(jit_json_array(obj, "ports", false, 10, "ports", &a, &e), -1);
	assert_invalid(&e, "ports: must be an array, not an object");
	assert_null(a);

	json_decref(null);
	json_decref(str);
	json_decref(num);
	json_decref(obj);
	json_decref(arr);
	json_decref(real);
}

static void
test_good_values(void **state)
{
	struct jit_error e;
	json_t *j = load("{\"s\": \"abc\", \"e\": \"\", \"n\": -9223372036854775807,"
		" \"t\": true, \"f\": false, \"a\": [1, 2]}");
	const json_t *a;
	const char *s;
	json_int_t n;
	bool b = false;

	(void)state;
	assert_int_equal(jit_json_object(j, "", &e), 0);
	assert_int_equal(jit_json_string(json_object_get(j, "s"), "s", true, 3, &s, &e), 0);
	assert_string_equal(s, "abc");
	assert_int_equal(jit_json_string(json_object_get(j, "e"), "e", false, 3, &s, &e), 0);
	assert_string_equal(s, "");
	assert_int_equal(jit_json_integer(json_object_get(j, "n"), "n", &n, &e), 0);
	assert_true(n == -9223372036854775807LL);
	assert_int_equal(jit_json_bool(json_object_get(j, "t"), "t", &b, &e), 0);
	assert_true(b);
	assert_int_equal(jit_json_bool(json_object_get(j, "f"), "f", &b, &e), 0);
	assert_false(b);
	assert_int_equal(jit_json_array(json_object_get(j, "a"), "a", true, 2, "items", &a, &e), 0);
	assert_ptr_equal(a, json_object_get(j, "a"));
	json_decref(j);
}

/* A string is refused for a NUL before emptiness, and for emptiness before length. */
static void
test_string_limits(void **state)
{
	struct jit_error e;
	json_t *nul = json_stringn("a\0b", 3);
	json_t *empty = json_string("");
	json_t *four = json_string("abcd");
	const char *s = "untouched";

	(void)state;
	assert_int_equal(jit_json_string(nul, "p", true, 1, &s, &e), -1);
	assert_invalid(&e, "p: must not contain NUL characters");
	assert_null(s);
	assert_int_equal(jit_json_string(empty, "p", true, 0, &s, &e), -1);
	assert_invalid(&e, "p: must not be empty");
	assert_int_equal(jit_json_string(four, "p", true, 3, &s, &e), -1);
	assert_invalid(&e, "p: must be at most 3 bytes long");
	assert_null(s);
	assert_int_equal(jit_json_string(four, "p", false, SIZE_MAX, &s, &e), 0);
	assert_string_equal(s, "abcd");

	json_decref(nul);
	json_decref(empty);
	json_decref(four);
}

static void
test_array_limits(void **state)
{
	struct jit_error e;
	json_t *empty = load("[]");
	json_t *three = load("[1, 2, 3]");
	const json_t *a;

	(void)state;
	assert_int_equal(jit_json_array(empty, "ports", true, 0, "ports", &a, &e), -1);
	assert_invalid(&e, "ports: must not be empty");
	assert_int_equal(jit_json_array(empty, "ports", false, 0, "ports", &a, &e), 0);
	assert_ptr_equal(a, empty);
	assert_int_equal(jit_json_array(three, "vms", true, 2, "virtual machines", &a, &e), -1);
	assert_invalid(&e, "vms: must list at most 2 virtual machines");
	assert_null(a);

	json_decref(empty);
	json_decref(three);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_at_and_invalid),
		cmocka_unit_test(test_absent_is_required),
		cmocka_unit_test(test_wrong_type),
		cmocka_unit_test(test_good_values),
		cmocka_unit_test(test_string_limits),
		cmocka_unit_test(test_array_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
