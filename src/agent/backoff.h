/*
 * backoff.h: how long jitgate-agent waits before it tries again (jitgated unreachable
 * or refusing, an apply that failed): 0.5 s doubling to 30 s, each delay drawn from
 * [d/2, d] so that a fleet of agents cut off together does not come back in step.
 */
#ifndef JIT_AGENT_BACKOFF_H
#define JIT_AGENT_BACKOFF_H

#include <stdint.h>

#define JIT_BACKOFF_MIN_MS 500u
#define JIT_BACKOFF_MAX_MS 30000u

/* The delay after failures earlier consecutive failures (0: this is the first), in
 * milliseconds; r is a random number that picks it within [d/2, d]. */
unsigned jit_backoff_ms(unsigned failures, uint32_t r);

#endif
