/*
 * auth_throttle.c: the failed sign-in table (auth_throttle.h).
 *
 * Open addressing over a fixed table: a caller's slots are a window of PROBE slots from
 * a keyed hash of its key (the key is random per process, so nobody can aim many
 * addresses at one window), and keys are compared exactly. A slot whose window has
 * ended and whose count was drained is free. When a window is full of live callers,
 * the one heard from longest ago gives way.
 */
#include "auth_throttle.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define PROBE 16

struct slot {
	bool used;
	struct jit_prefix key;
	jit_time window_start, last;
	unsigned failures;          /* in the window */
	unsigned audited;           /* of them, audited one by one */
	uint64_t counted;           /* not audited one by one, since the last drain */
};

struct jit_auth_throttle {
	pthread_mutex_t lock;
	unsigned char hash_key[crypto_shorthash_KEYBYTES];
	size_t n;
	struct slot *slots;
	jit_time minute_start;
	unsigned audited_this_minute;
	uint64_t counted_total;
};

int
jit_auth_throttle_new(struct jit_auth_throttle **out, size_t slots, struct jit_error *err)
{
	struct jit_auth_throttle *t;

	*out = NULL;
	if (slots < PROBE)
		slots = PROBE;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
		(t->slots = calloc(slots, sizeof(*t->slots))) == NULL) {
		free(t);
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	}
	pthread_mutex_init(&t->lock, NULL);
	randombytes_buf(t->hash_key, sizeof(t->hash_key));
	t->n = slots;
	*out = t;
	return 0;
}

void
jit_auth_throttle_free(struct jit_auth_throttle *t)
{
	if (t == NULL)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t->slots);
	free(t);
}

void
jit_auth_throttle_key(const struct jit_prefix *caller, struct jit_prefix *key)
{
	memset(key, 0, sizeof(*key));
	key->family = caller->family;
	if (caller->family == JIT_FAMILY_INET) {
		key->len = 32;
		memcpy(key->addr, caller->addr, 4);
	} else if (caller->family == JIT_FAMILY_INET6) {
		key->len = 64;
		memcpy(key->addr, caller->addr, 8);
	}
}

static bool
same_key(const struct jit_prefix *a, const struct jit_prefix *b)
{
	return a->family == b->family && a->len == b->len && memcmp(a->addr, b->addr, 16) == 0;
}

static struct slot *
find_slot(struct jit_auth_throttle *t, const struct jit_prefix *key, jit_time now)
{
	unsigned char h[crypto_shorthash_BYTES];
	struct slot *free_slot = NULL, *oldest = NULL;
	uint64_t start;

	crypto_shorthash(h, (const unsigned char *)key, sizeof(*key), t->hash_key);
	memcpy(&start, h, sizeof(start));
	for (size_t i = 0; i < PROBE && i < t->n; i++) {
		struct slot *s = &t->slots[(start + i) % t->n];

		if (s->used && same_key(&s->key, key))
			return s;
		if (!s->used || (now - s->window_start >= JIT_AUTH_THROTTLE_WINDOW_NS &&
			s->counted == 0)) {
			if (free_slot == NULL)
				free_slot = s;
		} else if (oldest == NULL || s->last < oldest->last) {
			oldest = s;
		}
	}
	if (free_slot == NULL)
		free_slot = oldest;     /* its counted failures stay in counted_total */
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = true;
	free_slot->key = *key;
	free_slot->window_start = now;
	return free_slot;
}

enum jit_auth_verdict
jit_auth_throttle_fail(struct jit_auth_throttle *t, const struct jit_prefix *caller,
	jit_time now, int *retry_after_s)
{
	enum jit_auth_verdict v = JIT_AUTH_FAIL_COUNTED;
	struct jit_prefix key;
	struct slot *s;

	jit_auth_throttle_key(caller, &key);
	pthread_mutex_lock(&t->lock);
	s = find_slot(t, &key, now);
	if (now - s->window_start >= JIT_AUTH_THROTTLE_WINDOW_NS) {
		s->window_start = now;
		s->failures = 0;
		s->audited = 0;
	}
	s->last = now;
	if (s->failures < UINT32_MAX)
		s->failures++;
	if (now - t->minute_start >= 60LL * JIT_NS_PER_SEC) {
		t->minute_start = now;
		t->audited_this_minute = 0;
	}
	if (s->audited < JIT_AUTH_THROTTLE_AUDITED_PER_CALLER &&
		t->audited_this_minute < JIT_AUTH_THROTTLE_AUDITED_PER_MINUTE) {
		s->audited++;
		t->audited_this_minute++;
		v = JIT_AUTH_FAIL_AUDIT;
	} else {
		s->counted++;
		t->counted_total++;
	}
	*retry_after_s = 0;
	if (s->failures > JIT_AUTH_THROTTLE_MAX_FAILURES)
		*retry_after_s = (int)((s->window_start + JIT_AUTH_THROTTLE_WINDOW_NS - now +
			JIT_NS_PER_SEC - 1) / JIT_NS_PER_SEC);
	pthread_mutex_unlock(&t->lock);
	return v;
}

size_t
jit_auth_throttle_drain(struct jit_auth_throttle *t, struct jit_auth_tally *out, size_t max,
	uint64_t *total)
{
	size_t k = 0;

	pthread_mutex_lock(&t->lock);
	*total = t->counted_total;
	t->counted_total = 0;
	for (size_t i = 0; i < t->n; i++) {
		struct slot *s = &t->slots[i];
		size_t at;

		if (!s->used || s->counted == 0)
			continue;
		/* Keep the max busiest, most first (insertion into a short sorted list). */
		for (at = k; at > 0 && out[at - 1].failures < s->counted; at--)
			;
		if (at < max) {
			size_t last = k < max ? k : max - 1;

			memmove(&out[at + 1], &out[at], (last - at) * sizeof(*out));
			out[at].key = s->key;
			out[at].failures = s->counted;
			if (k < max)
				k++;
		}
		s->counted = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return k;
}
