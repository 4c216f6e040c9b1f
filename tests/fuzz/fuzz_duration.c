/*
 * fuzz_duration.c: jit_duration_parse must never crash, and whatever it accepts
 * (> 0 nanoseconds) must format canonically to a string that parses back to
 * exactly the same value and formats identically again.
 * The first 8 bytes are also formatted as a raw int64: every value must format
 * within the buffer, and every positive one must round-trip.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_round_trip(int64_t ns)
{
	char once[JIT_DURATION_BUFSZ], twice[JIT_DURATION_BUFSZ];
	struct jit_error err;
	int64_t back;

	jit_duration_format(ns, once);
	if (strlen(once) >= JIT_DURATION_BUFSZ)
		abort();
	if (jit_duration_parse(once, &back, &err) != 0)
		abort();
	if (back != ns)
		abort();
	jit_duration_format(back, twice);
	if (strcmp(once, twice) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[JIT_DURATION_BUFSZ];
	struct jit_error err;
	int64_t ns;
	char *s;

	if (size >= sizeof(ns)) {
		memcpy(&ns, data, sizeof(ns));
		if (ns > 0)
			check_round_trip(ns);
		else
			jit_duration_format(ns, buf);
	}
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (jit_duration_parse(s, &ns, &err) == 0) {
		if (ns <= 0)
			abort();
		check_round_trip(ns);
	} else if (err.status != 400 || strlen(err.message) >= sizeof(err.message)) {
		abort();
	}
	free(s);
	return 0;
}
