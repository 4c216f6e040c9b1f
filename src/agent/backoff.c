/*
 * backoff.c: exponential backoff with jitter (backoff.h). The caller brings the
 * randomness, so the arithmetic is a pure function its tests can pin down.
 */
#include "backoff.h"

unsigned
jit_backoff_ms(unsigned failures, uint32_t r)
{
	unsigned d = JIT_BACKOFF_MIN_MS;

	/* Doubling stops at the cap, so d never overflows however many failures. */
	for (unsigned i = 0; i < failures && d < JIT_BACKOFF_MAX_MS; i++)
		d *= 2;
	if (d > JIT_BACKOFF_MAX_MS)
		d = JIT_BACKOFF_MAX_MS;
	return d / 2 + r % (d / 2 + 1);
}
