/*
 * fuzz_desired_state.c: an answer to GET /agent/v1/desired-state through
 * json_loadb and jit_desired_state_from_json, as jitgate-agent reads it (client.c)
 * and as it reads the copy it saved (statedir.c).
 *
 * This is the agent's boundary for bytes from the network, in a process that holds
 * CAP_NET_ADMIN. Beyond "no crash" it checks what the agent relies on: every failure
 * is a 400 with a message, and a decoded state encodes to text that decodes again to
 * a state with the same encoding (the saved file is that text; reloading it must
 * give back what was applied, byte for byte).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "desired_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_error(const struct jit_error *err)
{
	if (err->status != 400 || err->code[0] == '\0' || err->message[0] == '\0')
		abort();
}

/* The compact text of ds, as jitgated sends it and the agent saves it. */
static char *
encode(const struct jit_desired_state *ds)
{
	json_t *j = jit_desired_state_to_json(ds);
	char *s;

	if (j == NULL || (s = json_dumps(j, JSON_COMPACT)) == NULL)
		abort();
	json_decref(j);
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jit_desired_state *ds = NULL, *again = NULL;
	struct jit_error err;
	char *first, *second;
	json_t *j;

	if ((j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return 0;
	if (jit_desired_state_from_json(j, &ds, &err) != 0) {
		check_error(&err);
		if (ds != NULL)
			abort();
		json_decref(j);
		return 0;
	}
	json_decref(j);

	first = encode(ds);
	if ((j = json_loads(first, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
		jit_desired_state_from_json(j, &again, &err) != 0)
		abort();
	second = encode(again);
	if (strcmp(first, second) != 0)
		abort();
	free(second);
	free(first);
	json_decref(j);
	jit_desired_state_free(again);
	jit_desired_state_free(ds);
	return 0;
}
