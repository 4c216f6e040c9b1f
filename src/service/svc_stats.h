/*
 * svc_stats.h: the state /metrics reports (active grants, agents by health and sync,
 * the audit chain's length), counted in one read transaction. The route that calls it
 * is authorized already (Jitgate/metrics/read at /); the counts name nothing.
 */
#ifndef JIT_SVC_STATS_H
#define JIT_SVC_STATS_H

#include "service.h"

int jit_svc_stats(struct jit_store *st, jit_time now, struct jit_store_stats *out,
	struct jit_error *err);

/* The store answers a read transaction (GET /healthz; busy for 5 s at most). */
int jit_svc_health(struct jit_store *st, struct jit_error *err);

#endif
