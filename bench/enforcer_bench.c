/*
 * enforcer_bench.c: what one more grant costs the nftables enforcer when N grants are
 * already there (N = 10, 1,000, 100,000 by default).
 *
 *   enforcer_bench [N...]
 *
 * The enforcer replaces table inet jitgate in one transaction per apply, so "one more
 * grant" costs a whole apply of N + 1 grants; this measures exactly that, R times per N
 * (alternating N + 1 and N so that every timed apply really changes the table), and
 * splits it into building the transaction (user space, no kernel) and the rest
 * (libnftables parsing the JSON plus the kernel's commit). Grants are distinct IPv4
 * hosts spread over rules of 50,000 (a rule's own limit is 100,000), each with an hour
 * left. It runs in a private network namespace of its own (unshare), so the machine's
 * own firewall is never touched; without the privilege for that it says so and exits 0.
 * A benchmark, not a test: nothing is asserted.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "desired_state.h"
#include "enforcer.h"

#define GRANTS_PER_RULE 50000
#define MAX_RUNS 400

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile of n sorted samples (nearest rank). */
static double
quantile(const double *v, size_t n, double q)
{
	size_t i = (size_t)(q * (double)n + 0.999999);

	return v[i == 0 ? 0 : (i > n ? n : i) - 1];
}

/* A host desired state with n grants (distinct IPv4 sources) on TCP ports 10000... */
static struct jit_desired_state *
make_state(size_t n, jit_time now)
{
	struct jit_desired_state *ds = calloc(1, sizeof(*ds));
	size_t nrules = n / GRANTS_PER_RULE + 1;

	if (ds == NULL || (ds->rules = calloc(nrules, sizeof(*ds->rules))) == NULL) {
		free(ds);
		return NULL;
	}
	ds->version = n;
	ds->kind = JIT_EP_HOST;
	ds->n_rules = nrules;
	snprintf(ds->enforcement_point, sizeof(ds->enforcement_point), "bench");
	for (size_t r = 0; r < nrules; r++) {
		struct jit_rule *rule = &ds->rules[r];
		size_t first = r * GRANTS_PER_RULE;
		size_t count = n - first < GRANTS_PER_RULE ? n - first : GRANTS_PER_RULE;

		rule->number = (uint16_t)(10000 + r);
		rule->protocol = JIT_PROTO_TCP;
		rule->n_grants = count;
		if (count > 0 && (rule->grants = calloc(count, sizeof(*rule->grants))) == NULL) {
			jit_desired_state_free(ds);
			return NULL;
		}
		for (size_t k = 0; k < count; k++) {
			struct jit_grant *g = &rule->grants[k];
			size_t i = first + k + 1;

			g->source.family = JIT_FAMILY_INET;
			g->source.len = 32;
			g->source.addr[0] = 10;
			g->source.addr[1] = (uint8_t)(i >> 16);
			g->source.addr[2] = (uint8_t)(i >> 8);
			g->source.addr[3] = (uint8_t)i;
			g->end_time = now + 3600 * JIT_NS_PER_SEC;
			g->seconds_remaining = 3600;
		}
	}
	return ds;
}

static int
bench(struct jit_enforcer *e, size_t n, size_t runs)
{
	double apply[MAX_RUNS], build[MAX_RUNS], base_ms;
	struct jit_desired_state *base, *more;
	struct jit_enforce_stats st;
	struct jit_error err;
	jit_time now = jit_time_now();

	base = make_state(n, now);
	more = make_state(n + 1, now);
	if (base == NULL || more == NULL) {
		fprintf(stderr, "enforcer_bench: out of memory\n");
		return -1;
	}
	base_ms = now_ms();
	if (jit_enforcer_apply(e, base, now, &st, &err) != 0) {
		fprintf(stderr, "enforcer_bench: N=%zu: %s\n", n, err.message);
		return -1;
	}
	base_ms = now_ms() - base_ms;
	for (size_t r = 0; r < runs; r++) {
		double t0 = now_ms();
		json_t *tx = jit_enforcer_transaction(more, jit_time_now(), NULL, &err);

		build[r] = now_ms() - t0;
		json_decref(tx);
		t0 = now_ms();
		if (jit_enforcer_apply(e, more, jit_time_now(), &st, &err) != 0) {
			fprintf(stderr, "enforcer_bench: N=%zu: %s\n", n, err.message);
			return -1;
		}
		apply[r] = now_ms() - t0;
		/* Back to N: the next timed apply adds the grant again. */
		if (jit_enforcer_apply(e, base, jit_time_now(), NULL, &err) != 0) {
			fprintf(stderr, "enforcer_bench: N=%zu: %s\n", n, err.message);
			return -1;
		}
	}
	qsort(apply, runs, sizeof(double), cmp_double);
	qsort(build, runs, sizeof(double), cmp_double);
	printf("%9zu %9zu %5zu %10.2f %10.2f %10.2f %10.2f %12.1f\n", n, st.elements, runs,
		quantile(apply, runs, 0.5), quantile(apply, runs, 0.99), quantile(build, runs, 0.5),
		quantile(apply, runs, 0.5) - quantile(build, runs, 0.5), base_ms);
	jit_desired_state_free(base);
	jit_desired_state_free(more);
	return 0;
}

int
main(int argc, char **argv)
{
	static const size_t defaults[] = { 10, 1000, 100000 };
	struct jit_enforcer *e = NULL;
	struct jit_error err;
	int rc = 0;

	if (unshare(CLONE_NEWNET) != 0) {
		printf("enforcer_bench: skipped: no private network namespace (%s); run as root\n",
			strerror(errno));
		return 0;
	}
	if (jit_enforcer_open(&e, &err) != 0 || jit_enforcer_probe(e, JIT_EP_HOST, &err) != 0) {
		printf("enforcer_bench: skipped: %s\n", err.message);
		jit_enforcer_free(e);
		return 0;
	}
	printf("nftables enforcer: one more grant with N present (one apply = one transaction "
	       "replacing the table)\n");
	printf("%9s %9s %5s %10s %10s %10s %10s %12s\n", "N", "elements", "runs", "p50 ms",
		"p99 ms", "build ms", "nft+kernel", "first ms");
	for (int i = 0; i < (argc > 1 ? argc - 1 : 3); i++) {
		size_t n = argc > 1 ? strtoull(argv[i + 1], NULL, 10) : defaults[i];
		size_t runs = n <= 100 ? 200 : n <= 10000 ? 50 : 5;

		if (bench(e, n, runs) != 0) {
			rc = 1;
			break;
		}
	}
	printf("(p50/p99 over the runs: with 5 runs p99 is the slowest; \"build\" is the JSON "
	       "transaction in user space, \"nft+kernel\" the rest of the apply; \"first\" the "
	       "initial apply of N)\n");
	jit_enforcer_free(e);
	return rc;
}
