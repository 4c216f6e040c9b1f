/*
 * test_grant.c: what an initiate yields against its policy (grant.c): the
 * caller's address as default source, sources inside the rule's prefixes only,
 * end times in the future and within the maximum (clamped within the skew),
 * unknown VMs and ports refused with the field named; an extension only of
 * access active from the same source, to a later end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "grant.h"

#define NOW (1800000000LL * JIT_NS_PER_SEC)
#define MIN (60LL * JIT_NS_PER_SEC)

static struct jit_prefix
pfx(const char *s)
{
	struct jit_prefix p;
	struct jit_error e;

	assert_int_equal(jit_prefix_parse(s, &p, &e), 0);
	return p;
}

/* One VM "web1" with port 22 from 10.0.0.0/8 for at most 60 minutes. */
static struct jit_policy *
policy(void)
{
	struct jit_policy *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	jit_rid_policy(&p->id, "s", "g", "westeurope", "default");
	p->n_vms = 1;
	p->vms = calloc(1, sizeof(*p->vms));
	jit_rid_vm(&p->vms[0].id, "s", "g", "web1");
	p->vms[0].n_ports = 1;
	p->vms[0].ports = calloc(1, sizeof(*p->vms[0].ports));
	p->vms[0].ports[0].number = 22;
	p->vms[0].ports[0].max_duration_ns = 60 * MIN;
	p->vms[0].ports[0].sources.n = 1;
	p->vms[0].ports[0].sources.prefixes = calloc(1, sizeof(struct jit_prefix));
	p->vms[0].ports[0].sources.prefixes[0] = pfx("10.0.0.0/8");
	return p;
}

struct ask {
	struct jit_initiate in;
	struct jit_initiate_vm vm;
	struct jit_initiate_port port;
};

static void
ask(struct ask *a, const char *vm, uint16_t port, const char *source, jit_time end)
{
	memset(a, 0, sizeof(*a));
	jit_rid_vm(&a->vm.id, "S", "G", vm);
	a->port.number = port;
	a->port.has_source = source != NULL;
	if (source != NULL)
		a->port.source = pfx(source);
	a->port.end_time = end;
	a->vm.n_ports = 1;
	a->vm.ports = &a->port;
	a->in.n_vms = 1;
	a->in.vms = &a->vm;
}

static void
refused(struct jit_policy *p, struct ask *a, const struct jit_prefix *caller, const char *want)
{
	struct jit_request r;
	struct jit_error e;

	assert_int_equal(jit_grant_request(p, &a->in, NOW, caller, "alice", &r, &e), -1);
	assert_int_equal(e.status, 400);
	if (strstr(e.message, want) == NULL)
		fail_msg("message \"%s\" does not say \"%s\"", e.message, want);
	jit_request_clear(&r);
}

static void
test_granted(void **state)
{
	struct jit_policy *p = policy();
	struct jit_prefix caller = pfx("10.1.2.3");
	struct jit_request r;
	struct jit_error e;
	struct ask a;

	(void)state;
	/* A source inside the rule, the VM named in other casing. */
	ask(&a, "WEB1", 22, "10.9.0.0/16", NOW + 30 * MIN);
	assert_int_equal(jit_grant_request(p, &a.in, NOW, &caller, "alice", &r, &e), 0);
	assert_int_equal(r.n_vms, 1);
	assert_string_equal(r.vms[0].id.name, "web1");
	assert_int_equal(r.vms[0].n_ports, 1);
	assert_int_equal(r.vms[0].ports[0].number, 22);
	assert_int_equal(r.vms[0].ports[0].end_time, NOW + 30 * MIN);
	assert_int_equal(r.vms[0].ports[0].status, JIT_STATUS_INITIATED);
	assert_true(jit_prefix_equal(&r.vms[0].ports[0].sources.prefixes[0], &a.port.source));
	assert_string_equal(r.requestor, "alice");
	assert_int_equal(r.start_time, NOW);
	jit_request_clear(&r);
	/* No source: the caller's own address. */
	ask(&a, "web1", 22, NULL, NOW + 10 * MIN);
	assert_int_equal(jit_grant_request(p, &a.in, NOW, &caller, "alice", &r, &e), 0);
	assert_true(jit_prefix_equal(&r.vms[0].ports[0].sources.prefixes[0], &caller));
	jit_request_clear(&r);
	/* Just past the maximum, within the clock skew: clamped to the maximum. */
	ask(&a, "web1", 22, NULL, NOW + 60 * MIN + JIT_END_TIME_SKEW_NS);
	assert_int_equal(jit_grant_request(p, &a.in, NOW, &caller, "alice", &r, &e), 0);
	assert_int_equal(r.vms[0].ports[0].end_time, NOW + 60 * MIN);
	jit_request_clear(&r);
	jit_policy_free(p);
}

static void
test_refused(void **state)
{
	struct jit_policy *p = policy();
	struct jit_prefix caller = pfx("10.1.2.3"), outside = pfx("192.0.2.7"), unknown;
	struct ask a;

	(void)state;
	memset(&unknown, 0, sizeof(unknown));
	unknown.family = JIT_FAMILY_ANY;
	ask(&a, "db1", 22, NULL, NOW + MIN);
	refused(p, &a, &caller, "virtualMachines[0].id: the virtual machine 'db1' is not in");
	ask(&a, "web1", 3389, NULL, NOW + MIN);
	refused(p, &a, &caller, "ports[0].number: port 3389 is not configured for JIT on 'web1'");
	/* A source wider than the rule, or outside it; the caller's address outside it. */
	ask(&a, "web1", 22, "0.0.0.0/0", NOW + MIN);
	refused(p, &a, &caller, "the source '0.0.0.0/0' is not inside the prefixes the policy "
		"allows for port 22: 10.0.0.0/8");
	ask(&a, "web1", 22, NULL, NOW + MIN);
	refused(p, &a, &outside, "'192.0.2.7' (your address) is not inside");
	refused(p, &a, &unknown, "the caller's address is unknown; name a source");
	/* End times: past, now, beyond the maximum and its skew. */
	ask(&a, "web1", 22, NULL, NOW);
	refused(p, &a, &caller, "virtualMachines[0].ports[0]: endTimeUtc");
	refused(p, &a, &caller, "is not in the future");
	ask(&a, "web1", 22, NULL, NOW + 60 * MIN + JIT_END_TIME_SKEW_NS + 1);
	refused(p, &a, &caller, "is past the policy's maximum request duration PT1H for port 22");
	jit_policy_free(p);
}

/* p gets one request: port 22 of web1 from source, started at start, ending at end,
 * with status st. */
static void
add_request(struct jit_policy *p, const char *source, jit_time start, jit_time end,
	enum jit_port_status st)
{
	struct jit_prefix caller = pfx("10.1.2.3");
	struct jit_request *rs;
	struct jit_error e;
	struct ask a;

	rs = realloc(p->requests, (p->n_requests + 1) * sizeof(*rs));
	assert_non_null(rs);
	p->requests = rs;
	ask(&a, "web1", 22, source, end);
	assert_int_equal(jit_grant_request(p, &a.in, start, &caller, "alice",
		&p->requests[p->n_requests], &e), 0);
	p->requests[p->n_requests].vms[0].ports[0].status = st;
	p->n_requests++;
}

/* 0, or the error's status with its message checked. */
static int
extends(struct jit_policy *p, const char *source, jit_time end, const char *want)
{
	struct jit_prefix caller = pfx("10.1.2.3");
	struct jit_request r;
	struct jit_error e;
	struct ask a;
	int rc = 0;

	ask(&a, "web1", 22, source, end);
	assert_int_equal(jit_grant_request(p, &a.in, NOW, &caller, "alice", &r, &e), 0);
	if (jit_grant_extends(p, &r, NOW, &e) != 0) {
		rc = e.status;
		if (want != NULL && strstr(e.message, want) == NULL)
			fail_msg("message \"%s\" does not say \"%s\"", e.message, want);
	}
	jit_request_clear(&r);
	return rc;
}

static void
test_extends(void **state)
{
	struct jit_policy *p = policy();

	(void)state;
	/* Nothing running: nothing to extend. */
	assert_int_equal(extends(p, NULL, NOW + 30 * MIN, "no active access to port 22 of "
		"'web1' from 10.1.2.3 to extend"), 409);
	/* Ended access (its end is past, or it was revoked) is not extended either. */
	add_request(p, NULL, NOW - 20 * MIN, NOW - MIN, JIT_STATUS_INITIATED);
	add_request(p, NULL, NOW - 20 * MIN, NOW + 5 * MIN, JIT_STATUS_REVOKED);
	assert_int_equal(extends(p, NULL, NOW + 30 * MIN, "to extend"), 409);
	/* Running from the caller's address until NOW + 10 min. */
	add_request(p, NULL, NOW - 5 * MIN, NOW + 10 * MIN, JIT_STATUS_INITIATED);
	assert_int_equal(extends(p, NULL, NOW + 30 * MIN, NULL), 0);
	assert_int_equal(extends(p, "10.1.2.3/32", NOW + 30 * MIN, NULL), 0);
	/* Not from another source, even one that contains it. */
	assert_int_equal(extends(p, "10.1.2.0/24", NOW + 30 * MIN, "from 10.1.2.0/24"), 409);
	/* Not to an end that is not later. */
	assert_int_equal(extends(p, NULL, NOW + 10 * MIN, "is not later than the current end"),
		400);
	assert_int_equal(extends(p, NULL, NOW + 5 * MIN, "is not later"), 400);
	jit_policy_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_granted),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_extends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
