/*
 * metrics.h: jitgated's metrics, served at GET /metrics in the Prometheus text format
 * (docs/metrics.md names every series). Events are counted where they happen (the
 * request path, the expiry sweep, the token endpoint); what is a state rather than an
 * event (active grants, agents by health and sync, the audit chain's length) is read
 * from the store at scrape time. Labels are bounded: routes are the route table's
 * patterns, never raw paths, and there are no per-agent or per-principal labels.
 */
#ifndef JIT_METRICS_H
#define JIT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Notes the start time (jitgate_start_time_seconds). */
void jit_metrics_start(void);
/* One answered request: its route pattern (NULL: none matched), method, status and
 * how long it took. */
void jit_metrics_http(const char *route, const char *method, int status, int64_t ns);
/* An initiate answered: approved (202) or refused (any 4xx). */
void jit_metrics_initiate(bool approved);
/* Grants written down as expired by the sweep. */
void jit_metrics_expired(size_t n);
/* The token endpoint: an access token issued, or a failed client authentication. */
void jit_metrics_token(bool issued);
/* A bearer token refused (401). */
void jit_metrics_auth_failure(void);

/* The whole exposition, reading the scrape-time gauges from st (its own read
 * transaction); malloc'd text, or NULL with err. */
char *jit_metrics_render(struct jit_store *st, jit_time now, size_t *len, struct jit_error *err);

#endif
