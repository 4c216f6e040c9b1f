/*
 * test_sweep.c: regression tests of the SQLite store and the expiry sweep that need
 * the database underneath (a trigger that makes a write fail, a row corrupted on
 * disk), so they run on SQLite only:
 *
 *   - the expiry sweep (jit_svc_expire) commits nothing when writing an expiry's
 *     audit entry fails: the grants stay Initiated, no entry is half-written, and
 *     the next sweep records them with their entries;
 *   - a list that fails on a corrupt row returns nothing and frees what it built
 *     (the ASan run of this program catches a leak).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "svc_jit.h"

static char dir[64], path[128];
static struct jit_store *st;

#define OK(call) do { struct jit_error e_; if ((call) != 0) \
	fail_msg("%s: %d %s: %s", #call, e_.status, e_.code, e_.message); } while (0)

static void
raw_sql(const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

static int
setup(void **state)
{
	struct jit_error err;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/jitgate-sweep.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/jitgate.db", dir);
	jit_log_init("test_sweep", JIT_LOG_WARN, false);
	return jit_store_open(path, &st, &err);
}

static int
teardown(void **state)
{
	char f[160];
	const char *names[] = {"jitgate.db", "jitgate.db-wal", "jitgate.db-shm"};

	(void)state;
	jit_store_close(st);
	for (size_t i = 0; i < 3; i++) {
		snprintf(f, sizeof(f), "%s/%s", dir, names[i]);
		unlink(f);
	}
	rmdir(dir);
	return 0;
}

static struct jit_tx *
begin(bool write)
{
	struct jit_tx *tx;
	struct jit_error err;

	if (jit_store_begin(st, write, &tx, &err) != 0)
		fail_msg("begin: %s", err.message);
	return tx;
}

/* A policy over one VM with port 22, and a request for it that ends at end_ns. */
static void
make_grant(jit_time end_ns)
{
	struct jit_subscription sub = {.name = "s", .display_name = "s", .created = 1};
	struct jit_resource_group rg = {.location = "westeurope", .created = 1};
	struct jit_vm vm = {.os = JIT_OS_LINUX, .location = "westeurope"};
	struct jit_prefix any;
	struct jit_port_rule rule = {.number = 22, .protocol = JIT_PROTO_TCP,
		.max_duration_ns = 3600LL * JIT_NS_PER_SEC, .sources = {.n = 1, .prefixes = &any}};
	struct jit_policy_vm pv = {.n_ports = 1, .ports = &rule};
	struct jit_policy p = {.n_vms = 1, .vms = &pv};
	struct jit_request_port port = {.number = 22, .end_time = end_ns,
		.status = JIT_STATUS_INITIATED, .reason = JIT_REASON_USER_REQUESTED,
		.sources = {.n = 1, .prefixes = &any}};
	struct jit_request_vm rv = {.n_ports = 1, .ports = &port};
	struct jit_request r = {.n_vms = 1, .vms = &rv, .start_time = 1, .requestor = "alice"};
	struct jit_error err;
	struct jit_tx *tx = begin(true);
	bool created;

	assert_int_equal(jit_prefix_parse("10.0.0.0/8", &any, &err), 0);
	jit_rid_resource_group(&rg.id, "s", "g");
	jit_rid_vm(&vm.id, "s", "g", "v");
	jit_rid_policy(&p.id, "s", "g", "westeurope", "default");
	pv.id = vm.id;
	rv.id = vm.id;
	OK(jit_store_sub_put(tx, &sub, &created, &e_));
	OK(jit_store_rg_put(tx, &rg, &created, &e_));
	OK(jit_store_vm_put(tx, &vm, &created, &e_));
	OK(jit_store_policy_put(tx, &p, 1, &created, &e_));
	OK(jit_store_request_add(tx, &p.id, &r, 0, &e_));
	OK(jit_store_commit(tx, &e_));
}

/* How many request ports are still Initiated at now (read without changing anything). */
static size_t
initiated_at(jit_time now)
{
	struct jit_expired *xs;
	struct jit_tx *tx = begin(true);
	size_t n;

	OK(jit_store_expire(tx, now, &xs, &n, &e_));
	free(xs);
	jit_store_rollback(tx);
	return n;
}

static size_t
expire_entries(void)
{
	struct jit_audit_filter f = {.operation = "*/expire/action", .limit = 100};
	struct jit_audit_row *rows;
	struct jit_tx *tx = begin(false);
	size_t n;

	OK(jit_store_audit_query(tx, &f, &rows, &n, &e_));
	jit_store_rollback(tx);
	jit_audit_rows_free(rows, n);
	return n;
}

/* Regression: the sweeper committed the expiries even when their audit entries failed. */
static void
test_sweep_commits_nothing_when_its_audit_fails(void **state)
{
	struct jit_error err;
	size_t n = 99;

	(void)state;
	make_grant(600);
	raw_sql("CREATE TRIGGER no_expiry_entries BEFORE INSERT ON audit"
		" WHEN NEW.operation LIKE '%expire/action' BEGIN SELECT RAISE(ABORT, 'refused'); END");
	assert_int_equal(jit_svc_expire(st, 700, &n, &err), -1);
	assert_int_equal(n, 0);
	assert_int_equal(initiated_at(700), 1);     /* still Initiated: nothing committed */
	assert_int_equal(expire_entries(), 0);
	raw_sql("DROP TRIGGER no_expiry_entries");
	assert_int_equal(jit_svc_expire(st, 700, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(initiated_at(700), 0);
	assert_int_equal(expire_entries(), 1);
}

/* Regression: role_list leaked what it had built (the built-ins) when a row failed. */
static void
test_failed_list_frees_what_it_built(void **state)
{
	struct jit_role *roles = (struct jit_role *)1;
	struct jit_error err;
	struct jit_tx *tx;
	size_t n = 99;

	(void)state;
	raw_sql("INSERT INTO role_definitions (id, name, body, created_ns) VALUES"
		" ('11111111-2222-3333-4444-555555555555', 'Broken', 'not json', 1)");
	tx = begin(false);
	assert_int_equal(jit_store_role_list(tx, &roles, &n, &err), -1);
	jit_store_rollback(tx);
	assert_null(roles);
	assert_int_equal(n, 0);
	raw_sql("DELETE FROM role_definitions WHERE name = 'Broken'");
	tx = begin(false);
	OK(jit_store_role_list(tx, &roles, &n, &e_));
	jit_store_rollback(tx);
	free(roles);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sweep_commits_nothing_when_its_audit_fails),
		cmocka_unit_test(test_failed_list_frees_what_it_built),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
