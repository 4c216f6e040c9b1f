/*
 * enforcer_bench.c: what one more grant costs the nftables enforcer when N grants are
 * already there (N = 10, 1,000, 100,000 by default).
 *
 *   enforcer_bench [N...]
 *
 * What the agent does for a new version with one grant more: the model of the whole
 * state (plan.h), the diff against the applied one, and one nftables transaction of the
 * element operations (here: one add). It is measured R times per N, alternating N + 1
 * and N so that every timed apply really changes the table, split into "plan" (model +
 * diff, user space) and "nft" (libnftables and the kernel's commit), and printed with
 * its ratio to N = 10. Grants are distinct IPv4 hosts (hash set grants4) spread over
 * rules of 50,000 (a rule's own limit is 100,000), each with an hour left; "first" is
 * the rebuild that put N there. It runs in a private network namespace of its own
 * (unshare), so the machine's own firewall is never touched; without the privilege
 * for that it says so and exits 0. A benchmark, not a test: nothing is asserted.
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

/* One apply as the agent makes it: model of ds, diff against *applied, commit. */
static int
update(struct jit_enforcer *e, struct jit_nft_model **applied, const struct jit_desired_state *ds,
	double *plan_ms, double *nft_ms, struct jit_error *err)
{
	struct jit_nft_model *m = NULL;
	struct jit_nft_op *ops = NULL;
	jit_time now = jit_time_now();
	double t0 = now_ms(), t1;
	size_t n;
	int r;

	if (jit_plan_model(ds, now, &m, err) != 0)
		return -1;
	r = jit_plan_diff(*applied, m, now, &ops, &n, err);
	t1 = now_ms();
	if (r == 0)
		r = jit_enforcer_commit(e, ds->kind, false, ops, n, err);
	else if (r > 0)
		r = jit_errorf(err, 500, JIT_E_INTERNAL, "the diff asked for a rebuild");
	free(ops);
	if (r != 0) {
		jit_plan_model_free(m);
		return -1;
	}
	if (plan_ms != NULL)
		*plan_ms = t1 - t0;
	if (nft_ms != NULL)
		*nft_ms = now_ms() - t1;
	jit_plan_model_free(*applied);
	*applied = m;
	return 0;
}

/* base10: the p50 at N = 10 (0 while measuring it), for the ratio column. */
static int
bench(struct jit_enforcer *e, size_t n, size_t runs, double *base10)
{
	double total[MAX_RUNS], plan[MAX_RUNS], nft[MAX_RUNS], first_ms, p50, check_ms;
	struct jit_enforcer_view view;
	struct jit_nft_drift drift;
	struct jit_desired_state *base, *more;
	struct jit_nft_model *applied = NULL;
	struct jit_enforce_stats st;
	struct jit_error err;
	jit_time now = jit_time_now();
	int rc = -1;

	base = make_state(n, now);
	more = make_state(n + 1, now);
	if (base == NULL || more == NULL) {
		fprintf(stderr, "enforcer_bench: out of memory\n");
		goto out;
	}
	first_ms = now_ms();
	if (jit_enforcer_apply(e, base, now, &st, &err) != 0 ||
		jit_plan_model(base, now, &applied, &err) != 0)
		goto fail;
	first_ms = now_ms() - first_ms;
	for (size_t r = 0; r < runs; r++) {
		if (update(e, &applied, more, &plan[r], &nft[r], &err) != 0)
			goto fail;
		total[r] = plan[r] + nft[r];
		/* Back to N: the next timed apply adds the grant again. */
		if (update(e, &applied, base, NULL, NULL, &err) != 0)
			goto fail;
	}
	/* The drift check the agent makes every minute: read the table back, compare. */
	check_ms = now_ms();
	if (jit_enforcer_read(e, base->kind, true, &view, &err) != 0)
		goto fail;
	(void)jit_plan_compare(applied, view.elems, view.n, jit_time_now(), 0, &drift);
	check_ms = now_ms() - check_ms;
	jit_enforcer_view_clear(&view);
	qsort(total, runs, sizeof(double), cmp_double);
	qsort(plan, runs, sizeof(double), cmp_double);
	qsort(nft, runs, sizeof(double), cmp_double);
	p50 = quantile(total, runs, 0.5);
	if (*base10 == 0)
		*base10 = p50;
	printf("%9zu %5zu %10.2f %10.2f %10.2f %10.2f %8.1fx %12.1f %10.1f\n", n, runs, p50,
		quantile(total, runs, 0.99), quantile(plan, runs, 0.5), quantile(nft, runs, 0.5),
		p50 / *base10, first_ms, check_ms);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "enforcer_bench: N=%zu: %s\n", n, err.message);
out:
	jit_plan_model_free(applied);
	jit_desired_state_free(base);
	jit_desired_state_free(more);
	return rc;
}

int
main(int argc, char **argv)
{
	static const size_t defaults[] = { 10, 1000, 100000 };
	struct jit_enforcer *e = NULL;
	struct jit_error err;
	double base10 = 0;
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
	printf("nftables enforcer: one more grant with N present (model + diff + one "
	       "transaction of the changed elements)\n");
	printf("%9s %5s %10s %10s %10s %10s %9s %12s %10s\n", "N", "runs", "p50 ms", "p99 ms",
		"plan ms", "nft ms", "vs N=10", "first ms", "check ms");
	for (int i = 0; i < (argc > 1 ? argc - 1 : 3); i++) {
		size_t n = argc > 1 ? strtoull(argv[i + 1], NULL, 10) : defaults[i];
		size_t runs = n <= 100 ? 200 : n <= 10000 ? 100 : 20;

		if (bench(e, n, runs, &base10) != 0) {
			rc = 1;
			break;
		}
	}
	printf("(p50/p99 over the runs; \"plan\" is the model of the whole state and the diff, "
	       "in user space; \"nft\" libnftables and the kernel's commit of the one add; "
	       "\"vs N=10\" the p50 as a ratio to N = 10's; \"first\" the rebuild that put N "
	       "there; \"check\" one drift check: the table read back and compared)\n");
	jit_enforcer_free(e);
	return rc;
}
