/*
 * fuzz_initiate_json.c: a request body through jit_json_parse_object and
 * jit_initiate_from_json, as a POST .../initiate arrives; the same object also
 * goes through jit_request_from_json (the 202 response and stored requests).
 *
 * Beyond "no crash" it checks that every failure is a 400 (413 for size) whose
 * CloudError renders, and that whatever decodes encodes to JSON that decodes
 * again to the same encoding.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

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

static void
check_initiate(const json_t *j)
{
	struct jit_initiate *in = NULL;
	struct jit_initiate *again = NULL;
	struct jit_error err;
	json_t *first;
	json_t *second;

	if (jit_initiate_from_json(j, &in, &err) != 0) {
		check_error(&err);
		return;
	}
	if ((first = jit_initiate_to_json(in)) == NULL)
		abort();
	if (jit_initiate_from_json(first, &again, &err) != 0)
		abort();
	second = jit_initiate_to_json(again);
	if (second == NULL || !json_equal(first, second))
		abort();
	json_decref(second);
	json_decref(first);
	jit_initiate_free(again);
	jit_initiate_free(in);
}

static void
check_request(const json_t *j)
{
	struct jit_request *r = NULL;
	struct jit_request *again = NULL;
	struct jit_error err;
	json_t *first;
	json_t *second;

	if (jit_request_from_json(j, &r, &err) != 0) {
		check_error(&err);
		return;
	}
	if ((first = jit_request_to_json(r)) == NULL)
		abort();
	if (jit_request_from_json(first, &again, &err) != 0)
		abort();
	second = jit_request_to_json(again);
	if (second == NULL || !json_equal(first, second))
		abort();
	json_decref(second);
	json_decref(first);
	jit_request_free(again);
	jit_request_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jit_error err;
	json_t *j = NULL;

	if (jit_json_parse_object((const char *)data, size, &j, &err) != 0) {
		check_error(&err);
		return 0;
	}
	check_initiate(j);
	check_request(j);
	json_decref(j);
	return 0;
}
