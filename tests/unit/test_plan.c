/*
 * test_plan.c: desired state -> model -> element operations (src/agent/plan.c), with no
 * kernel: where grants go (hash sets for addresses, interval sets for prefixes), what a
 * diff sends (only the changes; deletes before adds; a changed end time as delete + add;
 * nothing deleted that may have timed out; a rebuild asked for when a change cannot be
 * made safely), and what counts as drift when the kernel's elements are compared.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "plan.h"

#define NOW ((jit_time)1800000000 * JIT_NS_PER_SEC)
#define S JIT_NS_PER_SEC

struct fixture {
	struct jit_desired_state ds;
	struct jit_rule rule;
	struct jit_grant grants[8];
};

static void
set_grant(struct jit_grant *g, const char *src, int64_t secs)
{
	struct jit_error err;

	memset(g, 0, sizeof(*g));
	assert_int_equal(jit_prefix_parse(src, &g->source, &err), 0);
	g->end_time = NOW + secs * S;
	g->seconds_remaining = secs;
}

/* A host with TCP 22 locked and the n grants given as (source, seconds) pairs. */
static void
state(struct fixture *f, enum jit_ep_kind kind, size_t n, ...)
{
	va_list ap;

	memset(f, 0, sizeof(*f));
	f->ds.kind = kind;
	f->ds.n_rules = 1;
	f->ds.rules = &f->rule;
	f->rule.number = 22;
	f->rule.protocol = JIT_PROTO_TCP;
	f->rule.grants = f->grants;
	f->rule.n_grants = n;
	if (kind == JIT_EP_GATEWAY) {
		struct jit_error err;

		f->rule.n_destinations = 1;
		assert_int_equal(jit_prefix_parse("192.168.1.10", &f->rule.destinations[0], &err), 0);
	}
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		const char *src = va_arg(ap, const char *);
		int secs = va_arg(ap, int);

		set_grant(&f->grants[i], src, secs);
	}
	va_end(ap);
}

static struct jit_nft_model *
model(struct fixture *f, jit_time now)
{
	struct jit_nft_model *m = NULL;
	struct jit_error err;

	if (jit_plan_model(&f->ds, now, &m, &err) != 0)
		fail_msg("model: %s", err.message);
	return m;
}

static size_t
count_set(const struct jit_nft_model *m, enum jit_nft_set set)
{
	size_t c = 0;

	for (size_t i = 0; i < m->n; i++)
		c += m->v[i].elem.set == set;
	return c;
}

static void
test_addresses_in_hash_sets_prefixes_in_interval_sets(void **unused)
{
	struct fixture f;
	struct jit_nft_model *m;

	(void)unused;
	state(&f, JIT_EP_HOST, 4, "10.0.0.1", 600, "10.1.0.0/24", 60, "10.1.0.5", 300,
		"2001:db8::/64", 60);
	m = model(&f, NOW);
	assert_int_equal(count_set(m, JIT_NFT_LOCKED), 1);
	assert_int_equal(count_set(m, JIT_NFT_CLOSING), 0);
	assert_int_equal(count_set(m, JIT_NFT_GRANTS), 2);
	assert_int_equal(count_set(m, JIT_NFT_NETS), 2);
	assert_int_equal(m->st.elements, 4);
	for (size_t i = 1; i < m->n; i++)
		assert_true(jit_nft_elem_cmp(&m->v[i - 1].elem, &m->v[i].elem) < 0);
	for (size_t i = 0; i < m->n; i++) {
		const struct jit_nft_entry *e = &m->v[i];

		if (e->elem.set == JIT_NFT_GRANTS)
			assert_int_equal(e->elem.len, 32);
		if (e->elem.set == JIT_NFT_NETS)
			assert_true(e->elem.len < (e->elem.family == 6 ? 128 : 32));
		if (e->elem.set >= JIT_NFT_GRANTS)
			assert_true(e->expires == NOW + e->timeout * S);
	}
	jit_plan_model_free(m);
}

static struct jit_nft_op *
diff(struct jit_nft_model *old, struct jit_nft_model *next, jit_time now, size_t *n, int want)
{
	struct jit_nft_op *ops = NULL;
	struct jit_error err;
	int r = jit_plan_diff(old, next, now, &ops, n, &err);

	if (r != want)
		fail_msg("diff returned %d, not %d", r, want);
	return ops;
}

static void
test_diff_sends_only_changes_deletes_first(void **unused)
{
	struct fixture a, b;
	struct jit_nft_model *ma, *mb;
	struct jit_nft_op *ops;
	size_t n;

	(void)unused;
	/* removed 10.0.0.2, kept 10.0.0.1, changed 10.0.0.3's end, added 10.0.0.4 */
	state(&a, JIT_EP_HOST, 3, "10.0.0.1", 600, "10.0.0.2", 600, "10.0.0.3", 600);
	state(&b, JIT_EP_HOST, 3, "10.0.0.1", 600, "10.0.0.3", 1200, "10.0.0.4", 300);
	ma = model(&a, NOW);
	mb = model(&b, NOW + 10 * S);
	ops = diff(ma, mb, NOW + 10 * S, &n, 0);
	assert_int_equal(n, 4);
	assert_int_equal(ops[0].verb, JIT_NFT_DELETE);
	assert_int_equal(ops[1].verb, JIT_NFT_DELETE);
	assert_int_equal(ops[0].elem.src[3], 2);
	assert_int_equal(ops[1].elem.src[3], 3);
	assert_int_equal(ops[0].timeout_s, 0);
	assert_int_equal(ops[2].verb, JIT_NFT_ADD);
	assert_int_equal(ops[2].elem.src[3], 3);
	assert_int_equal(ops[2].timeout_s, 1190);
	assert_int_equal(ops[3].verb, JIT_NFT_ADD);
	assert_int_equal(ops[3].elem.src[3], 4);
	assert_int_equal(ops[3].timeout_s, 290);
	/* the element that stayed keeps the kernel's countdown from the first apply */
	for (size_t i = 0; i < mb->n; i++)
		if (mb->v[i].elem.set == JIT_NFT_GRANTS && mb->v[i].elem.src[3] == 1)
			assert_true(mb->v[i].expires == NOW + 600 * S);
	free(ops);
	/* the same state again: nothing to send */
	ops = diff(mb, mb, NOW + 20 * S, &n, 0);
	assert_int_equal(n, 0);
	free(ops);
	jit_plan_model_free(ma);
	jit_plan_model_free(mb);
}

static void
test_diff_never_deletes_what_may_have_expired(void **unused)
{
	struct fixture a, b;
	struct jit_nft_model *ma, *mb;
	struct jit_nft_op *ops;
	size_t n;

	(void)unused;
	state(&a, JIT_EP_HOST, 2, "10.0.0.1", 5, "10.0.0.2", 600);
	state(&b, JIT_EP_HOST, 0);
	ma = model(&a, NOW);
	mb = model(&b, NOW + 4 * S);
	/* 10.0.0.1 ends within the margin: its delete could fail the whole batch */
	ops = diff(ma, mb, NOW + 4 * S, &n, 0);
	assert_int_equal(n, 1);
	assert_int_equal(ops[0].verb, JIT_NFT_DELETE);
	assert_int_equal(ops[0].elem.src[3], 2);
	free(ops);
	jit_plan_model_free(mb);
	/* a new end time for an element that may be timing out: only a rebuild is safe */
	state(&b, JIT_EP_HOST, 1, "10.0.0.1", 600);
	mb = model(&b, NOW + 4 * S);
	ops = diff(ma, mb, NOW + 4 * S, &n, 1);
	free(ops);
	jit_plan_model_free(mb);
	/* another kind of enforcement point: another layout */
	state(&b, JIT_EP_GATEWAY, 0);
	mb = model(&b, NOW);
	ops = diff(ma, mb, NOW, &n, 1);
	free(ops);
	jit_plan_model_free(ma);
	jit_plan_model_free(mb);
}

static void
test_prefix_change_recarves(void **unused)
{
	struct fixture a, b;
	struct jit_nft_model *ma, *mb;
	struct jit_nft_op *ops;
	size_t n, dels = 0, adds = 0;

	(void)unused;
	state(&a, JIT_EP_HOST, 1, "10.1.0.0/24", 60);
	state(&b, JIT_EP_HOST, 2, "10.1.0.0/24", 60, "10.1.0.16/28", 600);
	ma = model(&a, NOW);
	mb = model(&b, NOW);
	assert_int_equal(count_set(mb, JIT_NFT_NETS), 5);
	ops = diff(ma, mb, NOW, &n, 0);
	for (size_t i = 0; i < n; i++) {
		if (ops[i].verb == JIT_NFT_DELETE) {
			assert_int_equal(adds, 0);
			dels++;
		} else {
			adds++;
		}
	}
	/* the /24 goes, its four blocks around the /28 and the /28 come */
	assert_int_equal(dels, 1);
	assert_int_equal(adds, 5);
	free(ops);
	jit_plan_model_free(ma);
	jit_plan_model_free(mb);
}

static void
test_rebuild_adds_everything(void **unused)
{
	struct fixture a;
	struct jit_nft_model *m;
	struct jit_nft_op *ops;
	struct jit_error err;
	size_t n;

	(void)unused;
	state(&a, JIT_EP_GATEWAY, 2, "10.0.0.1", 600, "10.1.0.0/16", 60);
	m = model(&a, NOW);
	assert_int_equal(jit_plan_rebuild(m, &ops, &n, &err), 0);
	assert_int_equal(n, m->n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(ops[i].verb, JIT_NFT_ADD);
		assert_int_equal(ops[i].elem.family, 4);
		assert_int_equal(ops[i].elem.dest[0], 192);
	}
	free(ops);
	jit_plan_model_free(m);
}

static void
test_compare_finds_missing_foreign_and_changed(void **unused)
{
	struct fixture a;
	struct jit_nft_model *m;
	struct jit_nft_actual k[8];
	struct jit_nft_drift d;
	size_t nk = 0;

	(void)unused;
	state(&a, JIT_EP_HOST, 2, "10.0.0.1", 600, "10.0.0.2", 600);
	m = model(&a, NOW);
	/* exactly the model, 10 s later */
	for (size_t i = 0; i < m->n; i++) {
		k[nk].elem = m->v[i].elem;
		k[nk++].expires_s = m->v[i].elem.set == JIT_NFT_GRANTS ? 590 : -1;
	}
	assert_false(jit_plan_compare(m, k, nk, NOW + 10 * S, 0, &d));
	/* one element deleted by hand */
	assert_true(jit_plan_compare(m, k, nk - 1, NOW + 10 * S, 0, &d));
	assert_int_equal(d.missing, 1);
	/* a foreign element added to our set */
	k[nk] = k[nk - 1];
	k[nk].elem.src[3] = 99;
	assert_true(jit_plan_compare(m, k, nk + 1, NOW + 10 * S, 0, &d));
	assert_int_equal(d.foreign, 1);
	assert_int_equal(d.missing, 0);
	/* ... unless it times out within the margin anyway */
	k[nk].expires_s = 1;
	assert_false(jit_plan_compare(m, k, nk + 1, NOW + 10 * S, 0, &d));
	/* an element re-added with a longer timeout */
	k[nk - 1].expires_s = 3590;
	assert_true(jit_plan_compare(m, k, nk, NOW + 10 * S, 0, &d));
	assert_int_equal(d.changed, 1);
	/* grants that ended are not missing: the kernel dropped them */
	assert_false(jit_plan_compare(m, k, 1, NOW + 700 * S, 0, &d));
	jit_plan_model_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addresses_in_hash_sets_prefixes_in_interval_sets),
		cmocka_unit_test(test_diff_sends_only_changes_deletes_first),
		cmocka_unit_test(test_diff_never_deletes_what_may_have_expired),
		cmocka_unit_test(test_prefix_change_recarves),
		cmocka_unit_test(test_rebuild_adds_everything),
		cmocka_unit_test(test_compare_finds_missing_foreign_and_changed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
