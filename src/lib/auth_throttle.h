/*
 * auth_throttle.h: failed sign-ins per caller address (security finding 6).
 *
 * A caller is its IPv4 address or its IPv6 /64 (one host's usual allocation), compared
 * exactly: two addresses never share or reset each other's count, however they hash.
 * After JIT_AUTH_THROTTLE_MAX_FAILURES failures within a window, further *failures* from
 * that caller are answered 429 until the window ends; a request that presents a valid
 * credential is never refused (the server checks the credential first), so nobody can
 * lock a legitimate user or agent out by failing from its address.
 *
 * Failures are audited, but not one synced entry each: the first few of each caller per
 * window, and a bounded number per minute overall, get an entry of their own; the rest
 * are counted and handed out by jit_auth_throttle_drain for one summary entry. So a flood
 * of bad tokens cannot grow the database by an fsync'd row per request.
 *
 * Thread-safe; time is passed in, so tests need no clock.
 */
#ifndef JIT_AUTH_THROTTLE_H
#define JIT_AUTH_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "prefix.h"
#include "timestamp.h"

#define JIT_AUTH_THROTTLE_MAX_FAILURES 20
#define JIT_AUTH_THROTTLE_WINDOW_NS (60LL * JIT_NS_PER_SEC)
/* Failures audited one by one: per caller and window, and for all callers per minute. */
#define JIT_AUTH_THROTTLE_AUDITED_PER_CALLER 3
#define JIT_AUTH_THROTTLE_AUDITED_PER_MINUTE 60

struct jit_auth_throttle;

/* A table of `slots` callers (rounded to at least 16); 500 out of memory. */
int jit_auth_throttle_new(struct jit_auth_throttle **out, size_t slots, struct jit_error *err);
void jit_auth_throttle_free(struct jit_auth_throttle *t);

/* The key of a caller: its IPv4 address, or the /64 of its IPv6 address. */
void jit_auth_throttle_key(const struct jit_prefix *caller, struct jit_prefix *key);

enum jit_auth_verdict {
	JIT_AUTH_FAIL_AUDIT = 1,   /* audit this failure as an entry of its own */
	JIT_AUTH_FAIL_COUNTED,     /* counted for the summary entry (jit_auth_throttle_drain) */
};

/* Counts one failure of caller at now. *retry_after_s: 0, or the whole seconds (>= 1)
 * until the caller's window ends when it has failed too often (answer 429). */
enum jit_auth_verdict jit_auth_throttle_fail(struct jit_auth_throttle *t,
	const struct jit_prefix *caller, jit_time now, int *retry_after_s);

struct jit_auth_tally {
	struct jit_prefix key;      /* an IPv4 address or an IPv6 /64 */
	uint64_t failures;
};

/* Takes the counted (not individually audited) failures since the last drain: *total of
 * them, and the callers with the most into out (at most max, most first); returns how
 * many callers were written. A caller evicted from the table stays in *total only. */
size_t jit_auth_throttle_drain(struct jit_auth_throttle *t, struct jit_auth_tally *out,
	size_t max, uint64_t *total);

#endif
