/*
 * fuzz_timestamp.c: jit_time_parse must never crash, and whatever it accepts
 * must format to a string that parses back to the same instant (truncated to
 * 100 ns, the resolution of the output) and formats identically again.
 * The first 8 bytes are also formatted as a raw jit_time: every int64 must
 * format to 28 characters, and those inside the supported range parse back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "timestamp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* t with the sub-100ns digits dropped towards the past, as the format does. */
static jit_time
floor_100ns(jit_time t)
{
	jit_time r = t % 100;

	return r < 0 ? t - r - 100 : t - r;
}

static void
check_parsed(jit_time t)
{
	char once[JIT_TIME_BUFSZ], twice[JIT_TIME_BUFSZ];
	struct jit_error err;
	jit_time back;

	jit_time_format(t, once);
	if (strlen(once) != 28)
		abort();
	if (jit_time_parse(once, &back, &err) != 0)
		abort();
	if (back != floor_100ns(t))
		abort();
	jit_time_format(back, twice);
	if (strcmp(once, twice) != 0)
		abort();
}

static void
check_raw(jit_time t)
{
	char buf[JIT_TIME_BUFSZ];
	struct jit_error err;
	jit_time back;
	int year;

	jit_time_format(t, buf);
	if (strlen(buf) != 28 || buf[4] != '-' || buf[10] != 'T' || buf[27] != 'Z')
		abort();
	year = (buf[0] - '0') * 1000 + (buf[1] - '0') * 100 + (buf[2] - '0') * 10 + buf[3] - '0';
	if (jit_time_parse(buf, &back, &err) != 0) {
		/* Only the years beyond 1678..2261 may be refused. */
		if (year >= 1678 && year <= 2261)
			abort();
		return;
	}
	if (year < 1678 || year > 2261 || back != floor_100ns(t))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jit_error err;
	jit_time t;
	char *s;

	if (size >= sizeof(t)) {
		memcpy(&t, data, sizeof(t));
		check_raw(t);
	}
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (jit_time_parse(s, &t, &err) == 0)
		check_parsed(t);
	else if (err.status != 400 || strlen(err.message) >= sizeof(err.message))
		abort();
	free(s);
	return 0;
}
