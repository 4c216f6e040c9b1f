/*
 * fuzz_policy_json.c: a request body through jit_json_parse_object and
 * jit_policy_from_json, as a PUT of a policy arrives.
 *
 * Beyond "no crash" it checks what the server relies on: every failure is a
 * 400 (413 for size) whose CloudError renders, and a decoded policy encodes to
 * JSON that decodes again, as text too, to a policy with the same encoding.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jit_limits.h"
#include "model_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_error(const struct jit_error *err)
{
	char *s;

	if ((err->status != 400 && err->status != 413) || err->code[0] == '\0' ||
		err->message[0] == '\0')
		abort();
	/* The message goes to the client as JSON: it must be valid UTF-8. */
	if ((s = jit_error_to_json(err)) == NULL)
		abort();
	free(s);
}

/* Encodes p, decodes that, and requires the same encoding; returns the encoding. */
static json_t *
encode_stable(const struct jit_policy *p)
{
	struct jit_policy *again = NULL;
	struct jit_error err;
	json_t *first;
	json_t *second;

	if ((first = jit_policy_to_json(p)) == NULL)
		abort();
	if (jit_policy_from_json(first, &again, &err) != 0)
		abort();
	second = jit_policy_to_json(again);
	if (second == NULL || !json_equal(first, second))
		abort();
	json_decref(second);
	jit_policy_free(again);
	return first;
}

/* What we send must be what we accept: the encoding as text parses and decodes back. */
static void
check_text(const json_t *enc)
{
	struct jit_policy *p = NULL;
	struct jit_error err;
	json_t *j = NULL;
	json_t *again;
	char *s;

	if ((s = json_dumps(enc, JSON_COMPACT)) == NULL)
		abort();
	if (strlen(s) <= JIT_MAX_BODY_BYTES) {
		if (jit_json_parse_object(s, strlen(s), &j, &err) != 0 ||
			jit_policy_from_json(j, &p, &err) != 0)
			abort();
		again = jit_policy_to_json(p);
		if (again == NULL || !json_equal(enc, again))
			abort();
		json_decref(again);
		jit_policy_free(p);
		json_decref(j);
	}
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jit_policy *p = NULL;
	struct jit_error err;
	json_t *j = NULL;
	json_t *enc;

	if (jit_json_parse_object((const char *)data, size, &j, &err) != 0) {
		check_error(&err);
		return 0;
	}
	if (jit_policy_from_json(j, &p, &err) != 0) {
		check_error(&err);
		json_decref(j);
		return 0;
	}
	enc = encode_stable(p);
	check_text(enc);
	json_decref(enc);
	jit_policy_free(p);
	json_decref(j);
	return 0;
}
