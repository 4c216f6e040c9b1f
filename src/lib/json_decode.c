/*
 * json_decode.c: paths, type names and one-value checks for the JSON codecs
 * (json_decode.h).
 *
 * Every check refuses in the same order: absent, wrong type, then the value's own
 * limits. A codec reports the first thing wrong, so the order is part of the wording
 * clients and tests see.
 */
#include "json_decode.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *
jit_json_path_key(char sub[JIT_JSON_PATH_BUFSZ], const char *path, const char *key)
{
	if (snprintf(sub, JIT_JSON_PATH_BUFSZ, "%s%s%s", path, path[0] ? "." : "", key) >=
		JIT_JSON_PATH_BUFSZ)
		sub[JIT_JSON_PATH_BUFSZ - 1] = '\0';
	return sub;
}

const char *
jit_json_path_index(char sub[JIT_JSON_PATH_BUFSZ], const char *path, const char *key,
	size_t i)
{
	if (snprintf(sub, JIT_JSON_PATH_BUFSZ, "%s%s%s[%zu]", path, path[0] ? "." : "", key,
		i) >= JIT_JSON_PATH_BUFSZ)
		sub[JIT_JSON_PATH_BUFSZ - 1] = '\0';
	return sub;
}

const char *
jit_json_type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a real number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "an unknown type";
}

int
jit_json_at(struct jit_error *err, const char *path)
{
	if (path[0] != '\0')
		jit_error_prefix(err, "%s", path);
	return -1;
}

int
jit_json_invalid(struct jit_error *err, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	jit_verrorf(err, 400, JIT_E_INVALID_CONTENT, fmt, ap);
	va_end(ap);
	return jit_json_at(err, path);
}

/* v is present and is_type(v); what names the type in the message. */
static int
want(const json_t *v, const char *path, int is_type, const char *what, struct jit_error *err)
{
	if (v == NULL)
		return jit_json_invalid(err, path, "is required");
	if (!is_type)
		return jit_json_invalid(err, path, "must be %s, not %s", what,
			jit_json_type_name(v));
	return 0;
}

int
jit_json_object(const json_t *v, const char *path, struct jit_error *err)
{
	return want(v, path, json_is_object(v), "an object", err);
}

int
jit_json_string(const json_t *v, const char *path, bool nonempty, size_t max,
	const char **out, struct jit_error *err)
{
	*out = NULL;
	if (want(v, path, json_is_string(v), "a string", err) != 0)
		return -1;
	/* A tree built in memory may hold "\u0000"; C strings cannot. */
	if (strlen(json_string_value(v)) != json_string_length(v))
		return jit_json_invalid(err, path, "must not contain NUL characters");
	if (nonempty && json_string_length(v) == 0)
		return jit_json_invalid(err, path, "must not be empty");
	if (json_string_length(v) > max)
		return jit_json_invalid(err, path, "must be at most %zu bytes long", max);
	*out = json_string_value(v);
	return 0;
}

int
jit_json_integer(const json_t *v, const char *path, json_int_t *out, struct jit_error *err)
{
	if (want(v, path, json_is_integer(v), "an integer", err) != 0)
		return -1;
	*out = json_integer_value(v);
	return 0;
}

int
jit_json_bool(const json_t *v, const char *path, bool *out, struct jit_error *err)
{
	if (want(v, path, json_is_boolean(v), "a boolean", err) != 0)
		return -1;
	*out = json_is_true(v);
	return 0;
}

int
jit_json_array(const json_t *v, const char *path, bool nonempty, size_t max,
	const char *what, const json_t **out, struct jit_error *err)
{
	*out = NULL;
	if (want(v, path, json_is_array(v), "an array", err) != 0)
		return -1;
	if (nonempty && json_array_size(v) == 0)
		return jit_json_invalid(err, path, "must not be empty");
	if (json_array_size(v) > max)
		return jit_json_invalid(err, path, "must list at most %zu %s", max, what);
	*out = v;
	return 0;
}
