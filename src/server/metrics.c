/*
 * metrics.c: jitgated's counters and histograms, and their exposition (see metrics.h).
 *
 * Request counts are kept per (route, method, status) and latencies per route in two
 * small tables under one mutex: a handful of operations per request, next to a TLS
 * handshake and a database transaction. The tables have fixed sizes well above what
 * the route table can produce; should they ever fill, the rest is counted under the
 * route "other" so that no request goes uncounted.
 */
#include "metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prom.h"
#include "svc_stats.h"

#define MAX_REQUEST_SERIES 1024
#define MAX_ROUTES 160

struct request_series {
	const char *route;
	const char *method;
	int status;
	uint64_t count;
};

struct route_latency {
	const char *route;
	struct jit_histogram h;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct request_series requests[MAX_REQUEST_SERIES];
static size_t n_requests;
static struct route_latency latencies[MAX_ROUTES];
static size_t n_latencies;
static atomic_uint_fast64_t initiates_approved, initiates_refused, grants_expired;
static atomic_uint_fast64_t tokens_issued, token_failures, auth_failures;
static atomic_int_fast64_t started_unix;

static const char *
method_label(const char *m)
{
	static const char *const known[] = {"GET", "PUT", "POST", "DELETE", "PATCH", "HEAD",
		"OPTIONS"};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(m, known[i]) == 0)
			return known[i];
	return "other";
}

void
jit_metrics_http(const char *route, const char *method, int status, int64_t ns)
{
	const char *m = method_label(method);
	size_t i;

	if (route == NULL)
		route = "unmatched";
	if (status < 100 || status > 599)
		status = 0;
	pthread_mutex_lock(&lock);
	for (i = 0; i < n_requests; i++)
		if (requests[i].status == status && requests[i].method == m &&
			strcmp(requests[i].route, route) == 0)
			break;
	if (i == n_requests && n_requests < MAX_REQUEST_SERIES)
		requests[n_requests++] = (struct request_series){route, m, status, 0};
	if (i < n_requests)
		requests[i].count++;
	else
		requests[MAX_REQUEST_SERIES - 1].count++;   /* full: the last series absorbs it */
	for (i = 0; i < n_latencies; i++)
		if (strcmp(latencies[i].route, route) == 0)
			break;
	if (i == n_latencies && n_latencies < MAX_ROUTES) {
		latencies[i].route = n_latencies + 1 == MAX_ROUTES ? "other" : route;
		jit_histogram_init(&latencies[i].h, jit_latency_bounds, jit_latency_nbounds);
		n_latencies++;
	}
	if (i == n_latencies)
		i = MAX_ROUTES - 1;
	jit_histogram_observe_ns(&latencies[i].h, ns);
	pthread_mutex_unlock(&lock);
}

void
jit_metrics_start(void)
{
	atomic_store(&started_unix, (int_fast64_t)time(NULL));
}

void
jit_metrics_initiate(bool approved)
{
	atomic_fetch_add(approved ? &initiates_approved : &initiates_refused, 1);
}

void
jit_metrics_expired(size_t n)
{
	atomic_fetch_add(&grants_expired, n);
}

void
jit_metrics_token(bool issued)
{
	atomic_fetch_add(issued ? &tokens_issued : &token_failures, 1);
}

void
jit_metrics_auth_failure(void)
{
	atomic_fetch_add(&auth_failures, 1);
}

static void
counter(struct jit_prom *p, const char *name, const char *help, uint64_t v)
{
	jit_prom_family(p, name, "counter", help);
	jit_prom_sample(p, name, NULL, (double)v);
}

static void
gauge(struct jit_prom *p, const char *name, const char *help, double v)
{
	jit_prom_family(p, name, "gauge", help);
	jit_prom_sample(p, name, NULL, v);
}

static void
render_requests(struct jit_prom *p)
{
	char code[8];

	pthread_mutex_lock(&lock);
	jit_prom_family(p, "jitgate_http_requests_total", "counter",
		"HTTP requests answered, by route pattern, method and status code.");
	for (size_t i = 0; i < n_requests; i++) {
		const char *labels[] = {"route", requests[i].route, "method", requests[i].method,
			"code", code, NULL};

		snprintf(code, sizeof(code), "%d", requests[i].status);
		jit_prom_sample(p, "jitgate_http_requests_total", labels,
			(double)requests[i].count);
	}
	jit_prom_family(p, "jitgate_http_request_duration_seconds", "histogram",
		"Time from a request's arrival in the API to its answer, by route pattern.");
	for (size_t i = 0; i < n_latencies; i++) {
		const char *labels[] = {"route", latencies[i].route, NULL};

		jit_prom_histogram(p, "jitgate_http_request_duration_seconds", labels,
			&latencies[i].h);
	}
	pthread_mutex_unlock(&lock);
}

char *
jit_metrics_render(struct jit_store *st, jit_time now, size_t *len, struct jit_error *err)
{
	const struct jit_histogram *tx_read, *tx_write;
	struct jit_store_stats s;
	struct jit_prom p;
	char *text;
	int r;

	if ((r = jit_svc_stats(st, now, &s, err)) != 0)
		return NULL;
	jit_prom_init(&p);
	jit_prom_family(&p, "jitgate_build_info", "gauge",
		"Always 1; the version of this jitgated as a label.");
	jit_prom_sample(&p, "jitgate_build_info",
		(const char *const[]){"version", JITGATE_VERSION, NULL}, 1);
	render_requests(&p);
	jit_prom_family(&p, "jitgate_jit_initiates_total", "counter",
		"JIT access requests (initiate): approved (202, grants made) or refused (4xx).");
	jit_prom_sample(&p, "jitgate_jit_initiates_total",
		(const char *const[]){"result", "approved", NULL},
		(double)atomic_load(&initiates_approved));
	jit_prom_sample(&p, "jitgate_jit_initiates_total",
		(const char *const[]){"result", "refused", NULL},
		(double)atomic_load(&initiates_refused));
	counter(&p, "jitgate_jit_grants_expired_total",
		"Granted ports written down as Revoked/Expired by the sweep (the kernel closed "
		"them on time already).", atomic_load(&grants_expired));
	gauge(&p, "jitgate_jit_grants_active",
		"Granted ports (VM, port, source) in force now: Initiated and not yet ended.",
		(double)s.active_grants);
	jit_prom_family(&p, "jitgate_agents", "gauge",
		"Enforcement points by health (heard from within 90 s) and sync (applied the "
		"desired version).");
	for (int h = 0; h < 2; h++)
		for (int y = 0; y < 2; y++)
			jit_prom_sample(&p, "jitgate_agents", (const char *const[]){
				"health", h ? "healthy" : "unhealthy",
				"sync", y ? "in_sync" : "behind", NULL}, (double)s.agents[h][y]);
	jit_store_tx_histograms(st, &tx_read, &tx_write);
	jit_prom_family(&p, "jitgate_store_transaction_duration_seconds", "histogram",
		"How long store transactions were held, from begin to commit or rollback.");
	jit_prom_histogram(&p, "jitgate_store_transaction_duration_seconds",
		(const char *const[]){"mode", "read", NULL}, tx_read);
	jit_prom_histogram(&p, "jitgate_store_transaction_duration_seconds",
		(const char *const[]){"mode", "write", NULL}, tx_write);
	gauge(&p, "jitgate_audit_chain_length", "Entries in the hash-chained audit log.",
		(double)s.audit_entries);
	counter(&p, "jitgate_oauth_tokens_issued_total",
		"Access tokens issued by the OAuth2 token endpoint.", atomic_load(&tokens_issued));
	counter(&p, "jitgate_oauth_client_auth_failures_total",
		"Token requests refused because the client did not authenticate.",
		atomic_load(&token_failures));
	counter(&p, "jitgate_auth_failures_total", "Bearer tokens refused (401).",
		atomic_load(&auth_failures));
	gauge(&p, "jitgate_start_time_seconds", "When this jitgated started (Unix time).",
		(double)atomic_load(&started_unix));
	if ((text = jit_prom_take(&p, len)) == NULL)
		jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	return text;
}
