/*
 * json_decode.h: checked reading of a jansson tree, with the JSON path in every error.
 *
 * The JSON codecs (model_json.c, desired_state.c) walk a document once and hand each
 * decoder the path of the value it reads ("properties.virtualMachines[0]"); the
 * functions here build child paths and check one value each, so every codec words a
 * failure the same way: a 400 InvalidRequestContent whose message starts with the
 * path, e.g. "rules[0].number: must be an integer, not a string".
 *
 * The checks take a value and its path, not an object and a key: what absent means
 * (whether null counts as absent, whether a member is optional) is each codec's own
 * rule. A NULL value is absent, and a check refuses it as "is required".
 */
#ifndef JIT_JSON_DECODE_H
#define JIT_JSON_DECODE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Long enough for the deepest path, "properties.requests[N].virtualMachines[N].ports[N]
 * .allowedSourceAddressPrefixes[N]", with 20-digit indices; a longer one is cut. */
#define JIT_JSON_PATH_BUFSZ 256

/* Writes path.key into sub (just key when path is "", the top level); returns sub. */
const char *jit_json_path_key(char sub[JIT_JSON_PATH_BUFSZ], const char *path,
	const char *key);

/* Writes path.key[i] into sub (key[i] when path is ""); returns sub. */
const char *jit_json_path_index(char sub[JIT_JSON_PATH_BUFSZ], const char *path,
	const char *key, size_t i);

/* How messages name j's type: "an object", "a string", "null", ... */
const char *jit_json_type_name(const json_t *j);

/* Prefixes err's message with path (nothing at the top level, ""). Returns -1. */
int jit_json_at(struct jit_error *err, const char *path);

/* Fills err with a 400 InvalidRequestContent "<path>: <fmt ...>". Returns -1. */
int jit_json_invalid(struct jit_error *err, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* v, the value at path, must be an object. */
int jit_json_object(const json_t *v, const char *path, struct jit_error *err);

/* v must be a string without NUL characters, at most max bytes and, when nonempty is
 * set, at least one; *out is its value, NULL on failure. */
int jit_json_string(const json_t *v, const char *path, bool nonempty, size_t max,
	const char **out, struct jit_error *err);

/* v must be an integer; *out is its value. Ranges are the caller's: their wording differs. */
int jit_json_integer(const json_t *v, const char *path, json_int_t *out,
	struct jit_error *err);

/* v must be true or false; *out is its value, unchanged on failure. */
int jit_json_bool(const json_t *v, const char *path, bool *out, struct jit_error *err);

/* v must be an array of at most max elements (what names them in the message) and, when
 * nonempty is set, at least one; *out is v, NULL on failure. */
int jit_json_array(const json_t *v, const char *path, bool nonempty, size_t max,
	const char *what, const json_t **out, struct jit_error *err);

#endif
