/*
 * rate_limit.h: a per-key request-rate limit (jitgated: initiates per principal).
 *
 * Each key may make `per_minute` requests at once and then one every 60/per_minute
 * seconds (GCRA, the token bucket without a timer). Keys are compared exactly, never by a
 * hash alone: two principals never share a budget. The table has a fixed number of slots;
 * a key whose budget is whole again frees its slot. When every slot a key may use holds a
 * key still being limited, the request is let through (and reported), because refusing a
 * principal for the others' traffic would be a lock-out anyone with enough principals
 * could cause. Thread-safe; time is passed in, so tests need no clock.
 */
#ifndef JIT_RATE_LIMIT_H
#define JIT_RATE_LIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "timestamp.h"

#define JIT_RATE_LIMIT_MAX_PER_MINUTE 100000

struct jit_rate_limit;

/* A limiter of per_minute (1..JIT_RATE_LIMIT_MAX_PER_MINUTE) requests per key with
 * `slots` keys tracked at most; 400 for a limit out of range, 500 out of memory. */
int jit_rate_limit_new(struct jit_rate_limit **out, unsigned per_minute, size_t slots,
	struct jit_error *err);
void jit_rate_limit_free(struct jit_rate_limit *rl);

enum jit_rate_verdict {
	JIT_RATE_ALLOWED,
	JIT_RATE_LIMITED,    /* *retry_after_s: whole seconds until the next is allowed (>= 1) */
	JIT_RATE_UNTRACKED,  /* allowed: no slot free for this key (the table is full) */
};

/* Counts one request of key at now. */
enum jit_rate_verdict jit_rate_limit_take(struct jit_rate_limit *rl, int64_t key, jit_time now,
	int *retry_after_s);

#endif
