/*
 * test_store.c: the store contract (store.h), run against the backend named by
 * JITGATE_TEST_STORE_URI: an SQLite file (default: a temporary one) or a PostgreSQL
 * database (tests/integration/store_contract_pg.py makes one on the test cluster).
 * The same cases for both backends; each works in a subscription of its own, so they
 * share one database. Two store handles on one database play two replicas.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "model_json.h"
#include "store.h"

static char uri[512];
static struct jit_store *st;        /* "replica A" */
static struct jit_store *st2;       /* "replica B": a second handle on the same store */
static int serial;

static void
sub_name(char *out, size_t n)
{
	snprintf(out, n, "00000000-0000-4000-8000-%012d", ++serial + getpid() % 100000 * 1000);
}

static struct jit_tx *
begin(struct jit_store *s, bool write)
{
	struct jit_tx *tx = NULL;
	struct jit_error err;

	assert_int_equal(jit_store_begin(s, write, &tx, &err), 0);
	return tx;
}

static void
commit(struct jit_tx *tx)
{
	struct jit_error err;

	assert_int_equal(jit_store_commit(tx, &err), 0);
}

/* A subscription with one resource group "rg1" in it. */
static void
make_group(struct jit_store *s, char sub[64])
{
	struct jit_subscription su = {0};
	struct jit_resource_group rg = {0};
	struct jit_error err;
	struct jit_tx *tx;
	bool created;

	sub_name(sub, 64);
	snprintf(su.name, sizeof(su.name), "%s", sub);
	snprintf(su.display_name, sizeof(su.display_name), "contract");
	su.created = jit_time_now();
	jit_rid_resource_group(&rg.id, sub, "RG1");
	snprintf(rg.location, sizeof(rg.location), "westeurope");
	rg.created = su.created;
	tx = begin(s, true);
	assert_int_equal(jit_store_sub_put(tx, &su, &created, &err), 0);
	assert_true(created);
	assert_int_equal(jit_store_rg_put(tx, &rg, &created, &err), 0);
	commit(tx);
}

static void
put_vm(struct jit_tx *tx, const char *sub, const char *name)
{
	struct jit_vm vm = {0};
	struct jit_error err;
	bool created;

	jit_rid_vm(&vm.id, sub, "rg1", name);
	snprintf(vm.location, sizeof(vm.location), "westeurope");
	vm.os = JIT_OS_LINUX;
	assert_int_equal(jit_store_vm_put(tx, &vm, &created, &err), 0);
}

static struct jit_policy *
policy_of(const char *sub, size_t n_vms)
{
	json_t *vms = json_array(), *j;
	struct jit_policy *p = NULL;
	struct jit_error err;
	char id[JIT_RESOURCE_ID_MAX];

	for (size_t i = 0; i < n_vms; i++) {
		snprintf(id, sizeof(id), "/subscriptions/%s/resourceGroups/rg1/providers/"
			"Microsoft.Compute/virtualMachines/vm%04zu-with-a-long-name-to-fill-the-index",
			sub, i);
		json_array_append_new(vms, json_pack("{s:s,s:[{s:i,s:s,s:s,s:s}]}", "id", id,
			"ports", "number", 22, "protocol", "TCP", "allowedSourceAddressPrefix", "*",
			"maxRequestAccessDuration", "PT3H"));
	}
	j = json_pack("{s:s,s:{s:o}}", "kind", "Basic", "properties", "virtualMachines", vms);
	assert_int_equal(jit_policy_from_json(j, &p, &err), 0);
	json_decref(j);
	jit_rid_policy(&p->id, sub, "rg1", "westeurope", "default");
	return p;
}

static void
add_audit(struct jit_tx *tx, const char *what)
{
	struct jit_audit_entry e = {
		.time = jit_time_now(),
		.operation = "Contract/test/action",
		.resource_id = what,
		.result = "Succeeded",
		.status = 200,
	};
	struct jit_error err;

	assert_int_equal(jit_store_audit_append(tx, &e, &err), 0);
}

static void
verify_chain(struct jit_store *s, int64_t *entries)
{
	struct jit_audit_verdict v;
	struct jit_error err;
	struct jit_tx *tx = begin(s, false);

	assert_int_equal(jit_store_audit_verify(tx, 0, NULL, &v, &err), 0);
	jit_store_rollback(tx);
	if (!v.ok)
		fail_msg("audit chain broken at %lld: %s", (long long)v.first_broken_seq, v.reason);
	*entries = v.entries;
}

/* ---- the cases ---- */

static void
keys_are_case_insensitive_and_lists_0_1_many(void **state)
{
	struct jit_rid rg, vm, scope;
	struct jit_vm got, *list = NULL;
	struct jit_error err;
	char sub[64];
	size_t n;
	struct jit_tx *tx;

	(void)state;
	make_group(st, sub);
	jit_rid_resource_group(&rg, sub, "rg1");
	tx = begin(st, false);
	assert_int_equal(jit_store_vm_list(tx, &rg, &list, &n, &err), 0);
	assert_int_equal(n, 0);
	free(list);
	jit_store_rollback(tx);
	tx = begin(st, true);
	put_vm(tx, sub, "Web1");
	commit(tx);
	tx = begin(st, false);
	jit_rid_vm(&vm, sub, "RG1", "WEB1");
	assert_int_equal(jit_store_vm_get(tx, &vm, &got, &err), 0);
	assert_string_equal(got.id.name, "Web1");       /* the casing it was created with */
	assert_int_equal(jit_store_vm_list(tx, &rg, &list, &n, &err), 0);
	assert_int_equal(n, 1);
	free(list);
	jit_store_rollback(tx);
	tx = begin(st, true);
	for (int i = 0; i < 30; i++) {
		char name[32];

		snprintf(name, sizeof(name), "many%02d", i);
		put_vm(tx, sub, name);
	}
	commit(tx);
	tx = begin(st, false);
	jit_rid_subscription(&scope, sub);
	assert_int_equal(jit_store_vm_list(tx, &scope, &list, &n, &err), 0);
	assert_int_equal(n, 31);
	/* Sorted by key, as both backends order bytes. */
	for (size_t i = 1; i < n; i++)
		assert_true(strcasecmp(list[i - 1].id.name, list[i].id.name) < 0);
	free(list);
	jit_store_rollback(tx);
}

static void
rollback_leaves_nothing(void **state)
{
	struct jit_subscription su = {0}, got;
	struct jit_error err;
	struct jit_tx *tx;
	bool created;

	(void)state;
	sub_name(su.name, sizeof(su.name));
	su.created = jit_time_now();
	tx = begin(st, true);
	assert_int_equal(jit_store_sub_put(tx, &su, &created, &err), 0);
	add_audit(tx, su.name);
	jit_store_rollback(tx);
	tx = begin(st2, false);
	assert_int_not_equal(jit_store_sub_get(tx, su.name, &got, &err), 0);
	assert_int_equal(err.status, 404);
	jit_store_rollback(tx);
}

static void
a_large_policy_round_trips(void **state)
{
	struct jit_policy *p, *got = NULL;
	struct jit_rid scope, *ids = NULL;
	struct jit_error err;
	struct jit_tx *tx;
	char sub[64];
	bool created, existed;
	size_t n;

	(void)state;
	make_group(st, sub);
	p = policy_of(sub, 300);
	tx = begin(st, true);
	for (size_t i = 0; i < p->n_vms; i++)
		put_vm(tx, sub, p->vms[i].id.name);
	assert_int_equal(jit_store_policy_put(tx, p, jit_time_now(), &created, &err), 0);
	assert_true(created);
	commit(tx);
	/* Read through the other replica. */
	tx = begin(st2, false);
	assert_int_equal(jit_store_policy_get(tx, &p->id, jit_time_now(), &got, &err), 0);
	assert_int_equal(got->n_vms, 300);
	assert_int_equal(got->vms[299].ports[0].number, 22);
	assert_string_equal(got->vms[7].id.name, p->vms[7].id.name);
	jit_rid_subscription(&scope, sub);
	assert_int_equal(jit_store_policy_list(tx, &scope, NULL, &ids, &n, &err), 0);
	assert_int_equal(n, 1);
	free(ids);
	assert_int_equal(jit_store_policy_list(tx, &scope, "WestEurope", &ids, &n, &err), 0);
	assert_int_equal(n, 1);
	free(ids);
	jit_store_rollback(tx);
	jit_policy_free(got);
	tx = begin(st, true);
	assert_int_equal(jit_store_policy_delete(tx, &p->id, &existed, &err), 0);
	assert_true(existed);
	commit(tx);
	tx = begin(st, true);
	assert_int_equal(jit_store_policy_delete(tx, &p->id, &existed, &err), 0);
	assert_false(existed);
	commit(tx);
	jit_policy_free(p);
}

static void
requests_are_recorded_revoked_and_expired(void **state)
{
	struct jit_policy *p, *got = NULL;
	struct jit_request *r = NULL;
	struct jit_expired *xs = NULL;
	struct jit_error err;
	struct jit_tx *tx;
	char sub[64], vmid[JIT_RESOURCE_ID_MAX], end[40], start[40];
	bool created;
	size_t n;
	jit_time now = jit_time_now();
	json_t *j;

	(void)state;
	make_group(st, sub);
	p = policy_of(sub, 2);
	tx = begin(st, true);
	for (size_t i = 0; i < p->n_vms; i++)
		put_vm(tx, sub, p->vms[i].id.name);
	assert_int_equal(jit_store_policy_put(tx, p, now, &created, &err), 0);
	commit(tx);
	jit_rid_format(&p->vms[0].id, vmid, sizeof(vmid));
	jit_time_format(now, start);
	jit_time_format(now + 2 * JIT_NS_PER_SEC, end);
	j = json_pack("{s:[{s:s,s:[{s:i,s:s,s:s,s:s,s:s}]}],s:s,s:s}", "virtualMachines",
		"id", vmid, "ports", "number", 22, "allowedSourceAddressPrefix", "10.0.0.1",
		"endTimeUtc", end, "status", "Initiated", "statusReason", "UserRequested",
		"startTimeUtc", start, "requestor", "contract");
	assert_int_equal(jit_request_from_json(j, &r, &err), 0);
	json_decref(j);
	tx = begin(st, true);
	assert_int_equal(jit_store_request_add(tx, &p->id, r, 0, &err), 0);
	assert_int_equal(jit_store_request_add(tx, &p->id, r, 0, &err), 0);   /* newer wins */
	commit(tx);
	tx = begin(st2, false);
	assert_int_equal(jit_store_policy_get(tx, &p->id, now, &got, &err), 0);
	assert_int_equal(got->n_requests, 2);
	assert_int_equal(got->requests[1].vms[0].ports[0].reason, JIT_REASON_NEWER_REQUEST);
	assert_int_equal(got->requests[0].vms[0].ports[0].status, JIT_STATUS_INITIATED);
	jit_policy_free(got);
	jit_store_rollback(tx);
	/* Past its end it expires, once, on whichever replica sweeps. */
	tx = begin(st2, true);
	assert_int_equal(jit_store_expire(tx, now + 3 * JIT_NS_PER_SEC, &xs, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(xs[0].requestor, "contract");
	free(xs);
	commit(tx);
	tx = begin(st, true);
	assert_int_equal(jit_store_expire(tx, now + 3 * JIT_NS_PER_SEC, &xs, &n, &err), 0);
	assert_int_equal(n, 0);
	free(xs);
	commit(tx);
	jit_request_free(r);
	jit_policy_free(p);
}

static void
principals_and_tokens(void **state)
{
	struct jit_principal p = {.kind = JIT_PRINCIPAL_USER}, got;
	uint8_t hash[JIT_TOKEN_HASH_BYTES], back[JIT_TOKEN_HASH_BYTES];
	struct jit_error err;
	struct jit_tx *tx;
	char tid[JIT_TOKEN_ID_MAX];
	int64_t pid;
	bool found;

	(void)state;
	for (int i = 0; i < JIT_TOKEN_HASH_BYTES; i++)
		hash[i] = (uint8_t)(i * 37 + 1);     /* with a 0 byte nowhere and high bits */
	hash[5] = 0;
	snprintf(p.name, sizeof(p.name), "Alice-%d-%d", getpid(), ++serial);
	snprintf(tid, sizeof(tid), "t%015d", getpid() * 100 + serial);
	p.created = jit_time_now();
	tx = begin(st, true);
	assert_int_equal(jit_store_principal_add(tx, &p, &err), 0);
	assert_true(p.id > 0);
	assert_int_equal(jit_store_token_add(tx, p.id, "laptop", tid, hash, p.created, 0, &err),
		0);
	commit(tx);
	tx = begin(st2, true);
	assert_int_equal(jit_store_principal_find(tx, p.object_id, &got, &err), 0);
	assert_int_equal(got.id, p.id);
	assert_int_equal(jit_store_token_find(tx, tid, jit_time_now(), back, &pid, &found, &err),
		0);
	assert_true(found);
	assert_int_equal(pid, p.id);
	assert_memory_equal(back, hash, sizeof(hash));
	assert_int_equal(jit_store_token_revoke(tx, p.id, tid, jit_time_now(), &found, &err), 0);
	assert_true(found);
	commit(tx);
	tx = begin(st, false);
	assert_int_equal(jit_store_token_find(tx, tid, jit_time_now(), back, &pid, &found, &err),
		0);
	assert_false(found);
	jit_store_rollback(tx);
}

/* Writers on two replicas at once: one chain, no fork, no gap. */
struct writer {
	struct jit_store *s;
	int n;
};

static void *
write_audit(void *arg)
{
	struct writer *w = arg;

	for (int i = 0; i < w->n; i++) {
		struct jit_tx *tx = begin(w->s, true);

		add_audit(tx, "concurrent");
		if (i % 7 == 3) {
			jit_store_rollback(tx);      /* some give up: they leave no gap */
			continue;
		}
		commit(tx);
	}
	return NULL;
}

static void
concurrent_writers_keep_one_chain(void **state)
{
	struct writer w[4] = {{st, 40}, {st2, 40}, {st, 40}, {st2, 40}};
	pthread_t t[4];
	int64_t before, after;
	int expected = 0;

	(void)state;
	verify_chain(st, &before);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, write_audit, &w[i]), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 40; i++)
		expected += i % 7 != 3;
	verify_chain(st2, &after);
	assert_int_equal(after - before, 4 * expected);
}

/* A commit through one replica wakes a waiter on the other (a shared store; SQLite: a
 * waiter in the same process). */
struct waiter {
	struct jit_store *on;
	uint64_t seen, got;
	struct timespec woke;
};

static void *
wait_on_b(void *arg)
{
	struct waiter *w = arg;

	w->got = jit_store_wait_change(w->on, w->seen, 5000);
	clock_gettime(CLOCK_MONOTONIC, &w->woke);
	return NULL;
}

static void
a_commit_wakes_the_other_replica(void **state)
{
	struct waiter w = {0};
	struct timespec t0;
	struct jit_settings js = {0};
	struct jit_error err;
	struct jit_tx *tx;
	pthread_t t;
	char sub[64];
	double ms;

	(void)state;
	/* One SQLite file is one process's: there the waiter is on the writer's handle. */
	w.on = jit_store_is_shared(st) ? st2 : st;
	make_group(st, sub);
	w.seen = jit_store_generation(w.on);
	assert_int_equal(pthread_create(&t, NULL, wait_on_b, &w), 0);
	usleep(100000);
	jit_rid_resource_group(&js.scope, sub, "rg1");
	js.enabled = false;
	snprintf(js.reason, sizeof(js.reason), "freeze");
	js.updated = jit_time_now();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	tx = begin(st, true);
	assert_int_equal(jit_store_settings_put(tx, &js, &err), 0);   /* bumps desired state */
	commit(tx);
	pthread_join(t, NULL);
	ms = (double)(w.woke.tv_sec - t0.tv_sec) * 1e3 + (double)(w.woke.tv_nsec - t0.tv_nsec) / 1e6;
	assert_true(w.got != w.seen);
	/* Far below the 5 s timeout: it was the notification that woke it. */
	if (ms > 2000)
		fail_msg("the other replica woke after %.0f ms", ms);
}

static void
a_periodic_job_runs_on_one_replica(void **state)
{
	struct jit_error err;
	struct jit_tx *a, *b;
	bool run_a, run_b;
	char job[32];
	jit_time now = jit_time_now();

	(void)state;
	snprintf(job, sizeof(job), "contract-%d", ++serial);
	a = begin(st, true);
	assert_int_equal(jit_store_job_claim(a, job, now, 3600 * JIT_NS_PER_SEC, &run_a, &err), 0);
	assert_true(run_a);
	commit(a);
	/* Within its interval nobody runs it again, on either replica. */
	b = begin(st2, true);
	assert_int_equal(jit_store_job_claim(b, job, now + JIT_NS_PER_SEC, 3600 * JIT_NS_PER_SEC,
		&run_b, &err), 0);
	assert_false(run_b);
	commit(b);
	b = begin(st2, true);
	assert_int_equal(jit_store_job_claim(b, job, now + 3601 * JIT_NS_PER_SEC,
		3600 * JIT_NS_PER_SEC, &run_b, &err), 0);
	assert_true(run_b);
	jit_store_rollback(b);
}

static int
setup(void **state)
{
	const char *u = getenv("JITGATE_TEST_STORE_URI");
	struct jit_error err;

	(void)state;
	jit_log_init("test_store", JIT_LOG_WARN, false);
	if (u != NULL && u[0] != '\0') {
		snprintf(uri, sizeof(uri), "%s", u);
	} else {
		char dir[] = "/tmp/jitgate-store-XXXXXX";

		if (mkdtemp(dir) == NULL)
			return -1;
		snprintf(uri, sizeof(uri), "sqlite:%s/jitgate.db", dir);
	}
	if (jit_store_open(uri, &st, &err) != 0 || jit_store_open(uri, &st2, &err) != 0) {
		fprintf(stderr, "cannot open %s: %s\n", uri, err.message);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	jit_store_close(st);
	jit_store_close(st2);
	if (strncmp(uri, "sqlite:", 7) == 0) {
		char path[600];

		unlink(uri + 7);
		snprintf(path, sizeof(path), "%s-wal", uri + 7);
		unlink(path);
		snprintf(path, sizeof(path), "%s-shm", uri + 7);
		unlink(path);
		*strrchr(uri, '/') = '\0';
		rmdir(uri + 7);
	}
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keys_are_case_insensitive_and_lists_0_1_many),
		cmocka_unit_test(rollback_leaves_nothing),
		cmocka_unit_test(a_large_policy_round_trips),
		cmocka_unit_test(requests_are_recorded_revoked_and_expired),
		cmocka_unit_test(principals_and_tokens),
		cmocka_unit_test(concurrent_writers_keep_one_chain),
		cmocka_unit_test(a_commit_wakes_the_other_replica),
		cmocka_unit_test(a_periodic_job_runs_on_one_replica),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
