/*
 * svc_stats.c: the counts behind jitgated's scrape-time gauges (see svc_stats.h).
 */
#include "svc_stats.h"

int
jit_svc_stats(struct jit_store *st, jit_time now, struct jit_store_stats *out,
	struct jit_error *err)
{
	struct jit_tx *tx;
	int r;

	if (jit_store_begin(st, false, &tx, err) != 0)
		return -1;
	r = jit_store_stats(tx, now, out, err);
	jit_store_rollback(tx);
	return r;
}

int
jit_svc_health(struct jit_store *st, struct jit_error *err)
{
	struct jit_tx *tx;
	int r;

	if (jit_store_begin(st, false, &tx, err) != 0)
		return -1;
	r = jit_store_ping(tx, err);
	jit_store_rollback(tx);
	return r;
}
