/*
 * test_rate_limit.c: per-principal request limits: a burst of per_minute, then one per
 * interval; exact keys (no shared budgets, whatever the hash); full tables let requests
 * through rather than lock a principal out; idle keys free their slots.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rate_limit.h"

#define S JIT_NS_PER_SEC
static const jit_time T0 = 1800000000LL * S;

static struct jit_rate_limit *
limiter(unsigned per_minute, size_t slots)
{
	struct jit_rate_limit *rl = NULL;
	struct jit_error err;

	assert_int_equal(jit_rate_limit_new(&rl, per_minute, slots, &err), 0);
	return rl;
}

static void
test_burst_then_one_per_interval(void **state)
{
	struct jit_rate_limit *rl = limiter(6, 64);   /* one every 10 s */
	int wait;

	for (int i = 0; i < 6; i++)
		assert_int_equal(jit_rate_limit_take(rl, 7, T0, &wait), JIT_RATE_ALLOWED);
	assert_int_equal(jit_rate_limit_take(rl, 7, T0, &wait), JIT_RATE_LIMITED);
	assert_int_equal(wait, 10);
	assert_int_equal(jit_rate_limit_take(rl, 7, T0 + 4 * S, &wait), JIT_RATE_LIMITED);
	assert_int_equal(wait, 6);
	/* A refused request costs nothing: the next one is due at T0 + 10 s all the same. */
	assert_int_equal(jit_rate_limit_take(rl, 7, T0 + 10 * S - 1, &wait), JIT_RATE_LIMITED);
	assert_int_equal(wait, 1);
	assert_int_equal(jit_rate_limit_take(rl, 7, T0 + 10 * S, &wait), JIT_RATE_ALLOWED);
	assert_int_equal(jit_rate_limit_take(rl, 7, T0 + 10 * S, &wait), JIT_RATE_LIMITED);
	/* After a whole minute the whole burst is back, and no more than that. */
	for (int i = 0; i < 6; i++)
		assert_int_equal(jit_rate_limit_take(rl, 7, T0 + 300 * S, &wait), JIT_RATE_ALLOWED);
	assert_int_equal(jit_rate_limit_take(rl, 7, T0 + 300 * S, &wait), JIT_RATE_LIMITED);
	jit_rate_limit_free(rl);
}

static void
test_keys_have_their_own_budgets(void **state)
{
	/* One slot window covers the whole table, so every key probes the same slots: only
	 * exact comparison keeps their budgets apart. */
	struct jit_rate_limit *rl = limiter(2, 3);
	int wait;

	assert_int_equal(jit_rate_limit_take(rl, 1, T0, &wait), JIT_RATE_ALLOWED);
	assert_int_equal(jit_rate_limit_take(rl, 1, T0, &wait), JIT_RATE_ALLOWED);
	assert_int_equal(jit_rate_limit_take(rl, 1, T0, &wait), JIT_RATE_LIMITED);
	assert_int_equal(jit_rate_limit_take(rl, 2, T0, &wait), JIT_RATE_ALLOWED);
	assert_int_equal(jit_rate_limit_take(rl, 3, T0, &wait), JIT_RATE_ALLOWED);
	/* Others' requests neither reset nor spend key 1's budget. */
	assert_int_equal(jit_rate_limit_take(rl, 1, T0 + S, &wait), JIT_RATE_LIMITED);
	assert_int_equal(jit_rate_limit_take(rl, 2, T0, &wait), JIT_RATE_ALLOWED);
	assert_int_equal(jit_rate_limit_take(rl, 2, T0, &wait), JIT_RATE_LIMITED);
	jit_rate_limit_free(rl);
}

static void
test_full_table_lets_requests_through(void **state)
{
	struct jit_rate_limit *rl = limiter(1, 2);
	int wait;

	assert_int_equal(jit_rate_limit_take(rl, 10, T0, &wait), JIT_RATE_ALLOWED);
	assert_int_equal(jit_rate_limit_take(rl, 11, T0, &wait), JIT_RATE_ALLOWED);
	/* Both slots hold keys still limited: a third key is not refused for them. */
	assert_int_equal(jit_rate_limit_take(rl, 12, T0, &wait), JIT_RATE_UNTRACKED);
	assert_int_equal(jit_rate_limit_take(rl, 12, T0, &wait), JIT_RATE_UNTRACKED);
	assert_int_equal(jit_rate_limit_take(rl, 10, T0, &wait), JIT_RATE_LIMITED);
	/* Once key 10's budget is whole again its slot is free for 12, which is tracked. */
	assert_int_equal(jit_rate_limit_take(rl, 12, T0 + 60 * S, &wait), JIT_RATE_ALLOWED);
	assert_int_equal(jit_rate_limit_take(rl, 12, T0 + 60 * S, &wait), JIT_RATE_LIMITED);
	assert_int_equal(wait, 60);
	jit_rate_limit_free(rl);
}

static void
test_limits_out_of_range(void **state)
{
	struct jit_rate_limit *rl = NULL;
	struct jit_error err;

	assert_int_equal(jit_rate_limit_new(&rl, 0, 64, &err), -1);
	assert_int_equal(err.status, 400);
	assert_null(rl);
	assert_int_equal(jit_rate_limit_new(&rl, JIT_RATE_LIMIT_MAX_PER_MINUTE + 1, 64, &err), -1);
	assert_int_equal(jit_rate_limit_new(&rl, JIT_RATE_LIMIT_MAX_PER_MINUTE, 64, &err), 0);
	jit_rate_limit_free(rl);
	jit_rate_limit_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_one_per_interval),
		cmocka_unit_test(test_keys_have_their_own_budgets),
		cmocka_unit_test(test_full_table_lets_requests_through),
		cmocka_unit_test(test_limits_out_of_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
