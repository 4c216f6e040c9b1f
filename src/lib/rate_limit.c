/*
 * rate_limit.c: GCRA over a fixed open-addressed table (see rate_limit.h).
 *
 * Per key we keep one time, tat ("theoretical arrival time"): when the key's budget is
 * whole again. A request at now is allowed when tat - now <= burst, where burst is what
 * per_minute - 1 requests cost; it then moves tat on by one interval. A slot whose tat is
 * in the past is as good as empty, which is how keys leave the table without a sweep.
 * Lookups scan a fixed window of slots from the key's hash and compare keys exactly, so a
 * slot taken by another key never resets or shares a budget.
 */
#include <pthread.h>
#include <stdlib.h>

#include "rate_limit.h"

#define PROBE_WINDOW 32

struct slot {
	int64_t key;
	jit_time tat;
	int used;
};

struct jit_rate_limit {
	pthread_mutex_t lock;
	jit_time interval;   /* 60 s / per_minute */
	jit_time burst;      /* (per_minute - 1) intervals */
	size_t n;
	struct slot *slots;
};

int
jit_rate_limit_new(struct jit_rate_limit **out, unsigned per_minute, size_t slots,
	struct jit_error *err)
{
	struct jit_rate_limit *rl;

	*out = NULL;
	if (per_minute < 1 || per_minute > JIT_RATE_LIMIT_MAX_PER_MINUTE || slots < 1 ||
		slots > (1u << 24))
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"A rate limit is 1 to %d requests per minute.", JIT_RATE_LIMIT_MAX_PER_MINUTE);
	if ((rl = calloc(1, sizeof(*rl))) == NULL ||
		(rl->slots = calloc(slots, sizeof(*rl->slots))) == NULL) {
		free(rl);
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	}
	pthread_mutex_init(&rl->lock, NULL);
	rl->n = slots;
	rl->interval = 60LL * JIT_NS_PER_SEC / per_minute;
	rl->burst = rl->interval * (jit_time)(per_minute - 1);
	*out = rl;
	return 0;
}

void
jit_rate_limit_free(struct jit_rate_limit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl->slots);
	free(rl);
}

static size_t
slot_of(const struct jit_rate_limit *rl, int64_t key)
{
	uint64_t h = (uint64_t)key * 0x9e3779b97f4a7c15ull;

	return (size_t)((h ^ (h >> 29)) % rl->n);
}

enum jit_rate_verdict
jit_rate_limit_take(struct jit_rate_limit *rl, int64_t key, jit_time now, int *retry_after_s)
{
	struct slot *found = NULL, *free_slot = NULL;
	size_t start = slot_of(rl, key), window = rl->n < PROBE_WINDOW ? rl->n : PROBE_WINDOW;
	enum jit_rate_verdict v = JIT_RATE_ALLOWED;
	jit_time tat;

	*retry_after_s = 0;
	pthread_mutex_lock(&rl->lock);
	for (size_t i = 0; i < window && found == NULL; i++) {
		struct slot *s = &rl->slots[(start + i) % rl->n];

		if (s->used && s->key == key)
			found = s;
		else if (free_slot == NULL && (!s->used || s->tat <= now))
			free_slot = s;
	}
	if (found == NULL) {
		if (free_slot == NULL) {
			v = JIT_RATE_UNTRACKED;
			goto out;
		}
		found = free_slot;
		found->used = 1;
		found->key = key;
		found->tat = now;
	}
	tat = found->tat > now ? found->tat : now;
	if (tat - now > rl->burst) {
		jit_time wait = tat - now - rl->burst;

		*retry_after_s = (int)((wait + JIT_NS_PER_SEC - 1) / JIT_NS_PER_SEC);
		v = JIT_RATE_LIMITED;
		goto out;
	}
	found->tat = tat + rl->interval;
out:
	pthread_mutex_unlock(&rl->lock);
	return v;
}
