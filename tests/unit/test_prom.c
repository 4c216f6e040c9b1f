/*
 * test_prom.c: the Prometheus text format as written: families, label escaping (\\ \"
 * and newlines), help escaping, number formatting (integers, shortest round trip,
 * +Inf/-Inf/NaN), and histograms (cumulative buckets, +Inf equal to _count, _sum).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prom.h"

static char *
take(struct jit_prom *p)
{
	size_t len = 0;
	char *s = jit_prom_take(p, &len);

	assert_non_null(s);
	assert_int_equal(strlen(s), len);
	return s;
}

static void
test_family_and_escaping(void **state)
{
	struct jit_prom p;
	char *s;

	jit_prom_init(&p);
	jit_prom_family(&p, "x_total", "counter", "a \\ help\nline");
	jit_prom_sample(&p, "x_total", (const char *const[]){"route", "a\\b\"c\nd", "code",
		"200", NULL}, 3);
	jit_prom_sample(&p, "x_total", NULL, 0.5);
	s = take(&p);
	assert_string_equal(s,
		"# HELP x_total a \\\\ help\\nline\n"
		"# TYPE x_total counter\n"
		"x_total{route=\"a\\\\b\\\"c\\nd\",code=\"200\"} 3\n"
		"x_total 0.5\n");
	free(s);
}

static void
test_numbers(void **state)
{
	struct jit_prom p;
	char *s;

	jit_prom_init(&p);
	jit_prom_sample(&p, "a", NULL, 12345678901.0);
	jit_prom_sample(&p, "b", NULL, 0.0025);
	jit_prom_sample(&p, "c", NULL, 0.1 + 0.2);
	jit_prom_sample(&p, "d", NULL, INFINITY);
	jit_prom_sample(&p, "e", NULL, -INFINITY);
	jit_prom_sample(&p, "f", NULL, NAN);
	jit_prom_sample(&p, "g", NULL, -7);
	s = take(&p);
	assert_string_equal(s, "a 12345678901\nb 0.0025\nc 0.30000000000000004\nd +Inf\n"
		"e -Inf\nf NaN\ng -7\n");
	free(s);
}

static void
test_histogram(void **state)
{
	static const double bounds[] = {0.01, 0.1, 1};
	struct jit_histogram h;
	struct jit_prom p;
	char *s;

	jit_histogram_init(&h, bounds, 3);
	jit_histogram_observe_ns(&h, 5000000);      /* 0.005: first bucket */
	jit_histogram_observe_ns(&h, 10000000);     /* 0.01: on the bound, still the first */
	jit_histogram_observe_ns(&h, 500000000);    /* 0.5 */
	jit_histogram_observe_ns(&h, 3000000000);   /* 3: only +Inf */
	jit_histogram_observe_ns(&h, -5);           /* a clock step back counts as 0 */
	jit_prom_init(&p);
	jit_prom_histogram(&p, "lat_seconds", (const char *const[]){"mode", "read", NULL}, &h);
	s = take(&p);
	assert_string_equal(s,
		"lat_seconds_bucket{mode=\"read\",le=\"0.01\"} 3\n"
		"lat_seconds_bucket{mode=\"read\",le=\"0.1\"} 3\n"
		"lat_seconds_bucket{mode=\"read\",le=\"1\"} 4\n"
		"lat_seconds_bucket{mode=\"read\",le=\"+Inf\"} 5\n"
		"lat_seconds_sum{mode=\"read\"} 3.515\n"
		"lat_seconds_count{mode=\"read\"} 5\n");
	free(s);
	/* Without labels, le is the only one. */
	jit_prom_init(&p);
	jit_prom_histogram(&p, "l", NULL, &h);
	s = take(&p);
	assert_non_null(strstr(s, "l_bucket{le=\"+Inf\"} 5\nl_sum 3.515\nl_count 5\n"));
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_family_and_escaping),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_histogram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
