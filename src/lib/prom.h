/*
 * prom.h: the Prometheus text exposition format (version 0.0.4), written by hand: Debian
 * 12 has no C client library. A writer appends metric families (# HELP, # TYPE, samples)
 * to a growing buffer, escaping label values (\\ \" \n) and help texts (\\ \n) as the
 * format wants; histograms come out with cumulative "le" buckets, "+Inf", _sum and _count.
 * A histogram here is lock-free (C11 atomics), for observations from many threads.
 */
#ifndef JIT_PROM_H
#define JIT_PROM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JIT_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define JIT_HIST_MAX_BUCKETS 16

struct jit_prom {
	char *buf;
	size_t len, cap;
	bool oom;                       /* an allocation failed: the text is incomplete */
};

void jit_prom_init(struct jit_prom *p);
/* Takes the text (malloc'd, NUL-terminated) or NULL after an allocation failure. */
char *jit_prom_take(struct jit_prom *p, size_t *len);
void jit_prom_free(struct jit_prom *p);

/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram). */
void jit_prom_family(struct jit_prom *p, const char *name, const char *type, const char *help);
/* One sample; labels are name/value pairs ending with NULL (or labels NULL). */
void jit_prom_sample(struct jit_prom *p, const char *name, const char *const *labels,
	double value);

/* A histogram of durations in seconds with fixed upper bounds (ascending). */
struct jit_histogram {
	const double *bounds;           /* seconds */
	size_t n;                       /* at most JIT_HIST_MAX_BUCKETS */
	atomic_uint_fast64_t counts[JIT_HIST_MAX_BUCKETS + 1];   /* per bucket, last: +Inf */
	atomic_uint_fast64_t sum_ns;
};

void jit_histogram_init(struct jit_histogram *h, const double *bounds, size_t n);
void jit_histogram_observe_ns(struct jit_histogram *h, int64_t ns);
/* The buckets (cumulative), _sum and _count of h with these labels (and "le"). */
void jit_prom_histogram(struct jit_prom *p, const char *name, const char *const *labels,
	const struct jit_histogram *h);

/* Bucket bounds for request-like latencies: 1 ms .. 10 s. */
extern const double jit_latency_bounds[];
extern const size_t jit_latency_nbounds;

#endif
