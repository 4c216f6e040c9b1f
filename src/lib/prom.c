/*
 * prom.c: the Prometheus text format writer and lock-free histograms (see prom.h).
 *
 * Numbers: integers print as integers, other values with %.17g (exact round trip), and
 * the specials as the format spells them (+Inf, -Inf, NaN). A histogram's _count is the
 * sum of the bucket counts read for this rendering, so it always equals the +Inf bucket
 * even while other threads observe.
 */
#include "prom.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double jit_latency_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1, 2.5, 5, 10};
const size_t jit_latency_nbounds = sizeof(jit_latency_bounds) / sizeof(jit_latency_bounds[0]);

void
jit_prom_init(struct jit_prom *p)
{
	memset(p, 0, sizeof(*p));
}

void
jit_prom_free(struct jit_prom *p)
{
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

char *
jit_prom_take(struct jit_prom *p, size_t *len)
{
	char *b = p->oom ? NULL : p->buf;

	if (b == NULL)
		free(p->buf);
	else if (len != NULL)
		*len = p->len;
	memset(p, 0, sizeof(*p));
	return b;
}

static void
put(struct jit_prom *p, const char *s, size_t n)
{
	if (p->oom)
		return;
	if (p->len + n + 1 > p->cap) {
		size_t cap = p->cap ? p->cap : 4096;
		char *nb;

		while (p->len + n + 1 > cap)
			cap *= 2;
		if ((nb = realloc(p->buf, cap)) == NULL) {
			p->oom = true;
			return;
		}
		p->buf = nb;
		p->cap = cap;
	}
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = '\0';
}

static void
puts_(struct jit_prom *p, const char *s)
{
	put(p, s, strlen(s));
}

/* Escapes for label values (\\ \" \n) or, with quote false, for HELP (\\ \n). */
static void
put_escaped(struct jit_prom *p, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			puts_(p, "\\\\");
		else if (*s == '\n')
			puts_(p, "\\n");
		else if (quote && *s == '"')
			puts_(p, "\\\"");
		else
			put(p, s, 1);
	}
}

/* The shortest of %.15g..%.17g that reads back as v: 0.0025, not 0.0025000000000000001. */
static void
fmt_number(double v, char buf[40])
{
	if (isnan(v)) {
		snprintf(buf, 40, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, 40, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (v == floor(v) && fabs(v) < 9007199254740992.0) {
		snprintf(buf, 40, "%.0f", v);
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, 40, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

static void
put_number(struct jit_prom *p, double v)
{
	char buf[40];

	fmt_number(v, buf);
	puts_(p, buf);
}

void
jit_prom_family(struct jit_prom *p, const char *name, const char *type, const char *help)
{
	puts_(p, "# HELP ");
	puts_(p, name);
	puts_(p, " ");
	put_escaped(p, help, false);
	puts_(p, "\n# TYPE ");
	puts_(p, name);
	puts_(p, " ");
	puts_(p, type);
	puts_(p, "\n");
}

/* name{labels[,le="..."]} */
static void
put_series(struct jit_prom *p, const char *name, const char *suffix,
	const char *const *labels, const char *le)
{
	bool first = true;

	puts_(p, name);
	puts_(p, suffix);
	if ((labels == NULL || labels[0] == NULL) && le == NULL)
		return;
	puts_(p, "{");
	for (size_t i = 0; labels != NULL && labels[i] != NULL && labels[i + 1] != NULL; i += 2) {
		if (!first)
			puts_(p, ",");
		first = false;
		puts_(p, labels[i]);
		puts_(p, "=\"");
		put_escaped(p, labels[i + 1], true);
		puts_(p, "\"");
	}
	if (le != NULL) {
		if (!first)
			puts_(p, ",");
		puts_(p, "le=\"");
		puts_(p, le);
		puts_(p, "\"");
	}
	puts_(p, "}");
}

void
jit_prom_sample(struct jit_prom *p, const char *name, const char *const *labels, double value)
{
	put_series(p, name, "", labels, NULL);
	puts_(p, " ");
	put_number(p, value);
	puts_(p, "\n");
}

void
jit_histogram_init(struct jit_histogram *h, const double *bounds, size_t n)
{
	h->bounds = bounds;
	h->n = n > JIT_HIST_MAX_BUCKETS ? JIT_HIST_MAX_BUCKETS : n;
	for (size_t i = 0; i <= JIT_HIST_MAX_BUCKETS; i++)
		atomic_init(&h->counts[i], 0);
	atomic_init(&h->sum_ns, 0);
}

void
jit_histogram_observe_ns(struct jit_histogram *h, int64_t ns)
{
	double s;
	size_t i;

	if (ns < 0)
		ns = 0;
	s = (double)ns / 1e9;
	for (i = 0; i < h->n && s > h->bounds[i]; i++)
		;
	atomic_fetch_add(&h->counts[i], 1);
	atomic_fetch_add(&h->sum_ns, (uint_fast64_t)ns);
}

void
jit_prom_histogram(struct jit_prom *p, const char *name, const char *const *labels,
	const struct jit_histogram *h)
{
	uint64_t cumulative = 0;
	char le[40];

	for (size_t i = 0; i <= h->n; i++) {
		cumulative += atomic_load(&h->counts[i]);
		if (i < h->n)
			fmt_number(h->bounds[i], le);
		else
			snprintf(le, sizeof(le), "+Inf");
		put_series(p, name, "_bucket", labels, le);
		puts_(p, " ");
		put_number(p, (double)cumulative);
		puts_(p, "\n");
	}
	put_series(p, name, "_sum", labels, NULL);
	puts_(p, " ");
	put_number(p, (double)atomic_load(&h->sum_ns) / 1e9);
	puts_(p, "\n");
	put_series(p, name, "_count", labels, NULL);
	puts_(p, " ");
	put_number(p, (double)cumulative);
	puts_(p, "\n");
}
