/*
 * test_auth_throttle.c: failed sign-ins per caller (security finding 6): exact keys (no
 * two callers share or reset a count, whatever the table size), IPv6 by /64, the window,
 * and audit aggregation (a few entries of their own, the rest in the drained tally).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "auth_throttle.h"

#define S JIT_NS_PER_SEC

static struct jit_prefix
addr(const char *s)
{
	struct jit_prefix p;
	struct jit_error e;

	assert_int_equal(jit_prefix_parse(s, &p, &e), 0);
	return p;
}

/* Fails n times; returns how many of them were answered 429. */
static int
fail_n(struct jit_auth_throttle *t, const char *a, int n, jit_time now)
{
	struct jit_prefix p = addr(a);
	int limited = 0, wait;

	for (int i = 0; i < n; i++) {
		jit_auth_throttle_fail(t, &p, now, &wait);
		limited += wait > 0;
	}
	return limited;
}

static void
test_limit_and_window(void **state)
{
	struct jit_auth_throttle *t;
	struct jit_error e;
	struct jit_prefix p = addr("192.0.2.1");
	int wait;

	(void)state;
	assert_int_equal(jit_auth_throttle_new(&t, 1024, &e), 0);
	assert_int_equal(fail_n(t, "192.0.2.1", JIT_AUTH_THROTTLE_MAX_FAILURES, 100 * S), 0);
	jit_auth_throttle_fail(t, &p, 110 * S, &wait);
	assert_int_equal(wait, 50);
	/* Another address is not affected; the window ends. */
	assert_int_equal(fail_n(t, "192.0.2.2", 1, 110 * S), 0);
	jit_auth_throttle_fail(t, &p, 160 * S, &wait);
	assert_int_equal(wait, 0);
	jit_auth_throttle_free(t);
}

static void
test_exact_keys_in_a_tiny_table(void **state)
{
	struct jit_auth_throttle *t;
	struct jit_error e;
	char a[32];

	(void)state;
	/* 16 slots, 16 callers taking turns (every slot collides): each still gets exactly
	 * the maximum, never a reset by another (the attack: 200 failures, no 429). */
	assert_int_equal(jit_auth_throttle_new(&t, 16, &e), 0);
	for (int round = 0; round < 25; round++)
		for (int k = 0; k < 16; k++) {
			snprintf(a, sizeof(a), "198.51.100.%d", k + 1);
			assert_int_equal(fail_n(t, a, 1, 10 * S) > 0,
				round >= JIT_AUTH_THROTTLE_MAX_FAILURES);
		}
	jit_auth_throttle_free(t);
}

static void
test_ipv6_by_64(void **state)
{
	struct jit_auth_throttle *t;
	struct jit_error e;
	char a[64];
	int limited = 0;

	(void)state;
	assert_int_equal(jit_auth_throttle_new(&t, 1024, &e), 0);
	/* Five addresses of one /64 are one caller; another /64 is another. */
	for (int i = 0; i < 25; i++) {
		snprintf(a, sizeof(a), "2001:db8:1:2::%x", i % 5 + 1);
		limited += fail_n(t, a, 1, 5 * S);
	}
	assert_int_equal(limited, 25 - JIT_AUTH_THROTTLE_MAX_FAILURES);
	assert_int_equal(fail_n(t, "2001:db8:1:3::1", 1, 5 * S), 0);
	jit_auth_throttle_free(t);
}

static void
test_aggregation(void **state)
{
	struct jit_auth_throttle *t;
	struct jit_auth_tally tally[3];
	struct jit_prefix p = addr("203.0.113.9"), q = addr("203.0.113.10");
	struct jit_error e;
	int audited = 0, wait;
	uint64_t total;
	size_t n;

	(void)state;
	assert_int_equal(jit_auth_throttle_new(&t, 1024, &e), 0);
	for (int i = 0; i < 1000; i++)
		audited += jit_auth_throttle_fail(t, &p, 1 * S, &wait) == JIT_AUTH_FAIL_AUDIT;
	for (int i = 0; i < 10; i++)
		audited += jit_auth_throttle_fail(t, &q, 1 * S, &wait) == JIT_AUTH_FAIL_AUDIT;
	assert_int_equal(audited, 2 * JIT_AUTH_THROTTLE_AUDITED_PER_CALLER);
	n = jit_auth_throttle_drain(t, tally, 3, &total);
	assert_int_equal(total, 1010 - 2 * JIT_AUTH_THROTTLE_AUDITED_PER_CALLER);
	assert_int_equal(n, 2);
	assert_true(jit_prefix_equal(&tally[0].key, &p));
	assert_int_equal(tally[0].failures, 1000 - JIT_AUTH_THROTTLE_AUDITED_PER_CALLER);
	assert_int_equal(tally[1].failures, 10 - JIT_AUTH_THROTTLE_AUDITED_PER_CALLER);
	n = jit_auth_throttle_drain(t, tally, 3, &total);
	assert_int_equal(total, 0);
	assert_int_equal(n, 0);
	jit_auth_throttle_free(t);
}

static void
test_global_audit_budget(void **state)
{
	struct jit_auth_throttle *t;
	struct jit_auth_tally tally[2];
	struct jit_error e;
	int audited = 0, wait;
	uint64_t total;
	char a[32];

	(void)state;
	/* 1,000 addresses failing once each: at most the per-minute budget of entries. */
	assert_int_equal(jit_auth_throttle_new(&t, 4096, &e), 0);
	for (int i = 0; i < 1000; i++) {
		struct jit_prefix p;

		snprintf(a, sizeof(a), "10.%d.%d.1", i / 200, i % 200);
		p = addr(a);
		audited += jit_auth_throttle_fail(t, &p, 7 * S, &wait) == JIT_AUTH_FAIL_AUDIT;
	}
	assert_int_equal(audited, JIT_AUTH_THROTTLE_AUDITED_PER_MINUTE);
	jit_auth_throttle_drain(t, tally, 2, &total);
	assert_int_equal(total, 1000 - JIT_AUTH_THROTTLE_AUDITED_PER_MINUTE);
	jit_auth_throttle_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_and_window),
		cmocka_unit_test(test_exact_keys_in_a_tiny_table),
		cmocka_unit_test(test_ipv6_by_64),
		cmocka_unit_test(test_aggregation),
		cmocka_unit_test(test_global_audit_budget),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
