/*
 * test_backoff.c: the agent's retry delays: 0.5 s doubling to the 30 s cap, each
 * drawn from [d/2, d] by the random number, and no overflow however long it fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>

#include <cmocka.h>

#include "backoff.h"

/* The ceiling d of the delay after failures earlier failures, computed apart. */
static unsigned
ceiling(unsigned failures)
{
	unsigned long long d = JIT_BACKOFF_MIN_MS;

	for (unsigned i = 0; i < failures && d < JIT_BACKOFF_MAX_MS; i++)
		d *= 2;
	return d < JIT_BACKOFF_MAX_MS ? (unsigned)d : JIT_BACKOFF_MAX_MS;
}

static void
test_doubles_from_half_a_second_to_the_cap(void **state)
{
	static const unsigned want[] = { 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000 };

	(void)state;
	assert_int_equal(JIT_BACKOFF_MIN_MS, 500);
	assert_int_equal(JIT_BACKOFF_MAX_MS, 30000);
	for (unsigned f = 0; f < sizeof(want) / sizeof(want[0]); f++) {
		/* r = d/2 draws the ceiling itself, r = 0 the floor d/2. */
		assert_int_equal(jit_backoff_ms(f, want[f] / 2), want[f]);
		assert_int_equal(jit_backoff_ms(f, 0), want[f] / 2);
		assert_int_equal(ceiling(f), want[f]);
	}
}

static void
test_jitter_stays_within_half_to_full(void **state)
{
	static const uint32_t rs[] = { 0, 1, 2, 249, 250, 251, 499, 500, 501, 7499, 7500, 7501,
		14999, 15000, 15001, 30000, 65535, 1u << 31, UINT32_MAX - 1, UINT32_MAX };

	(void)state;
	for (unsigned f = 0; f < 40; f++) {
		unsigned d = ceiling(f);

		for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++) {
			unsigned ms = jit_backoff_ms(f, rs[i]);

			if (ms < d / 2 || ms > d || ms > JIT_BACKOFF_MAX_MS)
				fail_msg("failures %u, r %u: %u ms is outside [%u, %u]", f,
					(unsigned)rs[i], ms, d / 2, d);
		}
	}
}

/* Every delay in [d/2, d] can be drawn, each by as many r: agents spread out. */
static void
test_jitter_covers_the_whole_range(void **state)
{
	static unsigned char seen[JIT_BACKOFF_MAX_MS + 1];
	const unsigned d = JIT_BACKOFF_MAX_MS;

	(void)state;
	for (uint32_t r = 0; r < 2 * (d / 2 + 1); r++)
		seen[jit_backoff_ms(6, r)]++;
	for (unsigned ms = 0; ms <= d; ms++)
		if (seen[ms] != (ms >= d / 2 ? 2 : 0))
			fail_msg("%u ms drawn %u times", ms, (unsigned)seen[ms]);
}

/* However many failures, the cap holds and the doubling does not wrap to a short delay. */
static void
test_many_failures_stay_at_the_cap(void **state)
{
	static const unsigned fs[] = { 6, 7, 31, 32, 33, 64, 1000, UINT_MAX - 1, UINT_MAX };

	(void)state;
	for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++) {
		assert_int_equal(jit_backoff_ms(fs[i], 0), JIT_BACKOFF_MAX_MS / 2);
		assert_int_equal(jit_backoff_ms(fs[i], JIT_BACKOFF_MAX_MS / 2), JIT_BACKOFF_MAX_MS);
		assert_int_equal(jit_backoff_ms(fs[i], UINT32_MAX),
			JIT_BACKOFF_MAX_MS / 2 + UINT32_MAX % (JIT_BACKOFF_MAX_MS / 2 + 1));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doubles_from_half_a_second_to_the_cap),
		cmocka_unit_test(test_jitter_stays_within_half_to_full),
		cmocka_unit_test(test_jitter_covers_the_whole_range),
		cmocka_unit_test(test_many_failures_stay_at_the_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
