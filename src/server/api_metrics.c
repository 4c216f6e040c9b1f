/*
 * api_metrics.c: GET /metrics, jitgated's metrics in the Prometheus text format
 * (metrics.h; the series are documented in docs/metrics.md). The route needs
 * Jitgate/metrics/read at / (Owner and Reader have it; a custom role of that one
 * action makes a principal for Prometheus to scrape with).
 */
#include <stdlib.h>

#include "api.h"
#include "metrics.h"
#include "prom.h"

void
jit_h_metrics(struct jit_call *c)
{
	struct jit_error err;
	size_t len = 0;
	char *text = jit_metrics_render(c->api->store, c->now, &len, &err);

	if (text == NULL) {
		jit_call_fail(c, &err);
		return;
	}
	json_decref(c->resp->body);
	c->resp->body = NULL;
	c->resp->status = 200;
	c->resp->raw = text;
	c->resp->raw_len = len;
	c->resp->content_type = JIT_PROM_CONTENT_TYPE;
}
