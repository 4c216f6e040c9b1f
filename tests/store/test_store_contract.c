/*
 * test_store_contract.c: the store contract (src/store/store.h), run against a
 * backend chosen at run time:
 *
 *     test_store_contract [BACKEND]     (or JITGATE_STORE_BACKEND; default sqlite)
 *
 * Every backend must pass the same cases: transactions that roll back leave
 * nothing, concurrent writers lose nothing, keys compare case-insensitively and
 * keep their casing, large policies round-trip, every list answers at 0, 1 and
 * many rows, constraint violations are reported as such (404/409), and the audit
 * chain verifies and copies every entry to the operator log. Backends: sqlite (a
 * temporary file) and postgresql (a fresh database per case on the test cluster that
 * tests/integration/pg_cluster.py names in JITGATE_TEST_PG_*).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "log.h"
#include "rbac.h"
#include "store.h"

/* ---- backends ---- */

struct backend {
	const char *name;
	/* Opens an empty store of this backend; *cookie is what close_fn needs. */
	int (*open_fn)(struct jit_store **out, void **cookie, struct jit_error *err);
	void (*close_fn)(struct jit_store *st, void *cookie);
};

static int
sqlite_open(struct jit_store **out, void **cookie, struct jit_error *err)
{
	char *dir = strdup("/tmp/jitgate-store-contract.XXXXXX"), path[256];

	if (dir == NULL || mkdtemp(dir) == NULL) {
		free(dir);
		return jit_errorf(err, 500, JIT_E_INTERNAL, "cannot make a temporary directory");
	}
	snprintf(path, sizeof(path), "%s/jitgate.db", dir);
	*cookie = dir;
	return jit_store_open(path, out, err);
}

static void
sqlite_close(struct jit_store *st, void *cookie)
{
	char cmd[300];
	const char *files[] = {"jitgate.db", "jitgate.db-wal", "jitgate.db-shm"};

	jit_store_close(st);
	for (size_t i = 0; i < 3; i++) {
		snprintf(cmd, sizeof(cmd), "%s/%s", (char *)cookie, files[i]);
		unlink(cmd);
	}
	rmdir(cookie);
	free(cookie);
}

/* Runs one statement as the cluster's superuser (over its Unix socket). */
static int
pg_admin(const char *sql, struct jit_error *err)
{
	const char *keys[] = {"host", "port", "user", "dbname", NULL};
	const char *vals[] = {getenv("JITGATE_TEST_PG_SOCKDIR"), getenv("JITGATE_TEST_PG_PORT"),
		"postgres", "postgres", NULL};
	PGconn *c;
	PGresult *r;
	int rc = 0;

	if (vals[0] == NULL || vals[1] == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL,
			"no test cluster: run under tests/integration/pg_cluster.py");
	c = PQconnectdbParams(keys, vals, 0);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = jit_errorf(err, 500, JIT_E_INTERNAL, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return rc;
}

static int
pg_open(struct jit_store **out, void **cookie, struct jit_error *err)
{
	static int serial;
	char sql[160], uri[512], *name = malloc(64);

	if (name == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	snprintf(name, 64, "contract_%d_%d", (int)getpid(), ++serial);
	*cookie = name;
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s OWNER jitgate", name);
	if (pg_admin(sql, err) != 0)
		return -1;
	/* jitgate's own role, with its password from the file, as jitgated connects. */
	setenv("JITGATE_STORE_PASSWORD_FILE", getenv("JITGATE_TEST_PG_PASSFILE"), 1);
	snprintf(uri, sizeof(uri), "postgresql:///%s?host=%s&port=%s&user=jitgate", name,
		getenv("JITGATE_TEST_PG_SOCKDIR"), getenv("JITGATE_TEST_PG_PORT"));
	return jit_store_open(uri, out, err);
}

static void
pg_close(struct jit_store *st, void *cookie)
{
	char sql[160];
	struct jit_error err;

	jit_store_close(st);
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", (char *)cookie);
	if (pg_admin(sql, &err) != 0)
		fprintf(stderr, "# %s\n", err.message);
	free(cookie);
}

static const struct backend backends[] = {
	{"sqlite", sqlite_open, sqlite_close},
	{"postgresql", pg_open, pg_close},
};

static const struct backend *backend;

struct fixture {
	struct jit_store *st;
	void *cookie;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct jit_error err;

	if (f == NULL || backend->open_fn(&f->st, &f->cookie, &err) != 0) {
		fprintf(stderr, "# cannot open a %s store: %s\n", backend->name,
			f ? err.message : "out of memory");
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	backend->close_fn(f->st, f->cookie);
	free(f);
	return 0;
}

/* ---- helpers ---- */

#define OK(call) do { struct jit_error e_; if ((call) != 0) \
	fail_msg("%s: %d %s: %s", #call, e_.status, e_.code, e_.message); } while (0)

static struct jit_tx *
begin(struct jit_store *st, bool write)
{
	struct jit_tx *tx;
	struct jit_error err;

	if (jit_store_begin(st, write, &tx, &err) != 0)
		fail_msg("begin: %s", err.message);
	return tx;
}

static void
commit(struct jit_tx *tx)
{
	struct jit_error err;

	if (jit_store_commit(tx, &err) != 0)
		fail_msg("commit: %s", err.message);
}

static void
put_sub(struct jit_tx *tx, const char *name)
{
	struct jit_subscription s = {.created = 1};
	struct jit_error err;
	bool created;

	snprintf(s.name, sizeof(s.name), "%s", name);
	snprintf(s.display_name, sizeof(s.display_name), "%s", name);
	if (jit_store_sub_put(tx, &s, &created, &err) != 0)
		fail_msg("sub_put: %s", err.message);
}

static void
put_rg(struct jit_tx *tx, const char *sub, const char *rg)
{
	struct jit_resource_group g = {.created = 1};
	struct jit_error err;
	bool created;

	jit_rid_resource_group(&g.id, sub, rg);
	snprintf(g.location, sizeof(g.location), "westeurope");
	if (jit_store_rg_put(tx, &g, &created, &err) != 0)
		fail_msg("rg_put: %s", err.message);
}

static void
put_vm(struct jit_tx *tx, const char *sub, const char *rg, const char *name)
{
	struct jit_vm vm = {.os = JIT_OS_LINUX};
	struct jit_error err;
	bool created;

	jit_rid_vm(&vm.id, sub, rg, name);
	snprintf(vm.location, sizeof(vm.location), "westeurope");
	if (jit_store_vm_put(tx, &vm, &created, &err) != 0)
		fail_msg("vm_put %s: %s", name, err.message);
}

static int64_t
add_principal(struct jit_tx *tx, const char *name)
{
	struct jit_principal p = {.kind = JIT_PRINCIPAL_USER, .created = 1};
	struct jit_error err;

	snprintf(p.name, sizeof(p.name), "%s", name);
	snprintf(p.display_name, sizeof(p.display_name), "%s", name);
	if (jit_store_principal_add(tx, &p, &err) != 0)
		fail_msg("principal_add %s: %s", name, err.message);
	return p.id;
}

/* A policy of n VMs "vm<i>" in sub/rg, each with ports 22 and 3389. */
static struct jit_policy *
policy_of(const char *sub, const char *rg, size_t n)
{
	struct jit_policy *p = calloc(1, sizeof(*p));
	struct jit_error err;

	assert_non_null(p);
	jit_rid_policy(&p->id, sub, rg, "westeurope", "default");
	p->n_vms = n;
	p->vms = calloc(n, sizeof(*p->vms));
	assert_non_null(p->vms);
	for (size_t i = 0; i < n; i++) {
		char name[JIT_NAME_MAX + 1];

		snprintf(name, sizeof(name), "vm%zu", i);
		jit_rid_vm(&p->vms[i].id, sub, rg, name);
		p->vms[i].n_ports = 2;
		p->vms[i].ports = calloc(2, sizeof(*p->vms[i].ports));
		for (size_t k = 0; k < 2; k++) {
			struct jit_port_rule *r = &p->vms[i].ports[k];

			r->number = k ? 3389 : 22;
			r->protocol = JIT_PROTO_TCP;
			r->max_duration_ns = 3600LL * JIT_NS_PER_SEC;
			r->sources.n = 1;
			r->sources.prefixes = calloc(1, sizeof(*r->sources.prefixes));
			assert_int_equal(jit_prefix_parse(k ? "10.0.0.0/8" : "*",
				&r->sources.prefixes[0], &err), 0);
		}
	}
	return p;
}

/* ---- cases ---- */

static void
test_rollback_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	struct jit_subscription s, *subs;
	struct jit_error err;
	struct jit_tx *tx;
	size_t n;

	tx = begin(f->st, true);
	put_sub(tx, "gone");
	put_rg(tx, "gone", "rg");
	add_principal(tx, "ghost");
	jit_store_rollback(tx);
	tx = begin(f->st, false);
	assert_int_equal(jit_store_sub_get(tx, "gone", &s, &err), -1);
	assert_int_equal(err.status, 404);
	OK(jit_store_sub_list(tx, &subs, &n, &e_));
	assert_int_equal(n, 0);
	free(subs);
	assert_int_equal(jit_store_principal_find(tx, "ghost", &(struct jit_principal){0}, &err),
		-1);
	assert_int_equal(err.status, 404);
	jit_store_rollback(tx);
	/* Rolling back NULL is allowed (nothing was begun). */
	jit_store_rollback(NULL);
}

/* Two writers at once, each adding principals in many transactions: all land. */
struct writer {
	struct jit_store *st;
	int id;
	int failures;
};

#define WRITES 40

static void *
write_many(void *arg)
{
	struct writer *w = arg;

	for (int i = 0; i < WRITES; i++) {
		struct jit_principal p = {.kind = JIT_PRINCIPAL_USER, .created = 1};
		struct jit_error err;
		struct jit_tx *tx;

		snprintf(p.name, sizeof(p.name), "w%d-%d", w->id, i);
		snprintf(p.display_name, sizeof(p.display_name), "%s", p.name);
		if (jit_store_begin(w->st, true, &tx, &err) != 0) {
			w->failures++;
			continue;
		}
		if (jit_store_principal_add(tx, &p, &err) != 0 || jit_store_commit(tx, &err) != 0) {
			if (err.status != 0)
				w->failures++;
		}
	}
	return NULL;
}

static void
test_concurrent_writers(void **state)
{
	struct fixture *f = *state;
	struct writer w[3] = {{f->st, 0, 0}, {f->st, 1, 0}, {f->st, 2, 0}};
	pthread_t t[3];
	struct jit_principal *ps;
	struct jit_tx *tx;
	size_t n;

	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&t[i], NULL, write_many, &w[i]), 0);
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].failures, 0);
	}
	tx = begin(f->st, false);
	OK(jit_store_principal_list(tx, &ps, &n, &e_));
	jit_store_rollback(tx);
	assert_int_equal(n, 3 * WRITES);
	free(ps);
}

static void
test_case_insensitive_keys(void **state)
{
	struct fixture *f = *state;
	struct jit_resource_group g;
	struct jit_principal p;
	struct jit_error err;
	struct jit_rid id;
	struct jit_vm vm;
	struct jit_tx *tx;
	bool created;

	tx = begin(f->st, true);
	put_sub(tx, "Sub-One");
	put_rg(tx, "Sub-One", "MyGroup");
	put_vm(tx, "Sub-One", "MyGroup", "Web1");
	add_principal(tx, "Alice");
	/* The same group in other casing is the same group (updated, not created). */
	g = (struct jit_resource_group){.created = 2};
	jit_rid_resource_group(&g.id, "SUB-ONE", "mygroup");
	snprintf(g.location, sizeof(g.location), "westeurope");
	OK(jit_store_rg_put(tx, &g, &created, &e_));
	assert_false(created);
	commit(tx);
	tx = begin(f->st, false);
	jit_rid_resource_group(&id, "sub-one", "MYGROUP");
	OK(jit_store_rg_get(tx, &id, &g, &e_));
	assert_string_equal(g.id.rg, "MyGroup");   /* keeps the casing it was created with */
	jit_rid_vm(&id, "SUB-ONE", "mygroup", "WEB1");
	OK(jit_store_vm_get(tx, &id, &vm, &e_));
	assert_string_equal(vm.id.name, "Web1");
	OK(jit_store_principal_find(tx, "ALICE", &p, &e_));
	assert_string_equal(p.name, "Alice");
	jit_rid_vm(&id, "sub-one", "mygroup", "web2");
	assert_int_equal(jit_store_vm_get(tx, &id, &vm, &err), -1);
	assert_int_equal(err.status, 404);
	jit_store_rollback(tx);
}

static void
test_constraints_are_reported(void **state)
{
	struct fixture *f = *state;
	struct jit_error err;
	struct jit_rid id;
	struct jit_vm vm = {.os = JIT_OS_LINUX};
	struct jit_tx *tx;
	bool created, existed;

	tx = begin(f->st, true);
	put_sub(tx, "s");
	/* A VM needs its group: not found. */
	jit_rid_vm(&vm.id, "s", "nogroup", "v");
	assert_int_equal(jit_store_vm_put(tx, &vm, &created, &err), -1);
	assert_int_equal(err.status, 404);
	put_rg(tx, "s", "g");
	put_vm(tx, "s", "g", "v");
	/* A group that holds a VM is not deleted: conflict. */
	jit_rid_resource_group(&id, "s", "g");
	assert_int_equal(jit_store_rg_delete(tx, &id, &existed, &err), -1);
	assert_int_equal(err.status, 409);
	/* A name taken: conflict. */
	add_principal(tx, "bob");
	{
		struct jit_principal p = {.kind = JIT_PRINCIPAL_USER, .created = 1};

		snprintf(p.name, sizeof(p.name), "BOB");
		snprintf(p.display_name, sizeof(p.display_name), "BOB");
		assert_int_equal(jit_store_principal_add(tx, &p, &err), -1);
		assert_true(err.status == 409 || err.status == 400);
	}
	/* Deleting what is not there: no error, existed false. */
	jit_rid_vm(&id, "s", "g", "nothing");
	OK(jit_store_vm_delete(tx, &id, &existed, &e_));
	assert_false(existed);
	jit_store_rollback(tx);
}

static void
test_large_policy(void **state)
{
	struct fixture *f = *state;
	struct jit_policy *p = policy_of("s", "g", JIT_MAX_VMS_PER_POLICY), *got;
	struct jit_tx *tx;
	bool created;

	tx = begin(f->st, true);
	put_sub(tx, "s");
	put_rg(tx, "s", "g");
	for (size_t i = 0; i < p->n_vms; i++)
		put_vm(tx, "s", "g", p->vms[i].id.name);
	OK(jit_store_policy_put(tx, p, 10, &created, &e_));
	assert_true(created);
	commit(tx);
	tx = begin(f->st, false);
	OK(jit_store_policy_get(tx, &p->id, 20, &got, &e_));
	jit_store_rollback(tx);
	assert_int_equal(got->n_vms, JIT_MAX_VMS_PER_POLICY);
	for (size_t i = 0; i < got->n_vms; i++) {
		assert_true(jit_rid_equal(&got->vms[i].id, &p->vms[i].id));   /* order kept */
		assert_int_equal(got->vms[i].n_ports, 2);
		assert_int_equal(got->vms[i].ports[1].number, 3389);
		assert_int_equal(got->vms[i].ports[1].max_duration_ns, 3600LL * JIT_NS_PER_SEC);
	}
	jit_policy_free(got);
	jit_policy_free(p);
}

/* Lists at 0, 1 and many rows. */
static void
test_lists(void **state)
{
	struct fixture *f = *state;
	const size_t counts[] = {0, 1, 7};
	struct jit_tx *tx;

	for (size_t c = 0; c < 3; c++) {
		char sub[32], rg[32];
		struct jit_subscription *subs;
		struct jit_resource_group *rgs;
		struct jit_vm *vms;
		struct jit_rid scope, *pols;
		struct jit_token_info *toks;
		struct jit_role_assignment *as;
		struct jit_enforcement_point *eps;
		struct jit_audit_row *rows;
		struct jit_audit_filter filter = {.limit = 100};
		size_t n, want = counts[c];
		int64_t owner;

		snprintf(sub, sizeof(sub), "sub%zu", c);
		snprintf(rg, sizeof(rg), "rg%zu", c);
		tx = begin(f->st, true);
		put_sub(tx, sub);
		put_rg(tx, sub, rg);
		owner = add_principal(tx, sub);
		for (size_t i = 0; i < want; i++) {
			char name[32];
			struct jit_role_assignment a = {.created = 1, .principal_id = owner};
			struct jit_enforcement_point ep = {.kind = JIT_EP_GATEWAY, .created = 1};
			struct jit_audit_entry e = {.time = 1, .operation = "op", .result = "Succeeded",
				.status = 200};
			uint8_t hash[JIT_TOKEN_HASH_BYTES] = {(uint8_t)i};
			struct jit_policy *p;
			bool created;

			char res[JIT_RESOURCE_ID_MAX];

			/* Group g<i> with policy "default" over VM p<i>; VM g<i> and enforcement
			 * point ep<i> in rg. */
			snprintf(name, sizeof(name), "g%zu", i);
			put_rg(tx, sub, name);
			put_vm(tx, sub, rg, name);
			snprintf(name, sizeof(name), "p%zu", i);
			{
				char group[32];

				snprintf(group, sizeof(group), "g%zu", i);
				put_vm(tx, sub, group, name);
				p = policy_of(sub, group, 1);
				jit_rid_vm(&p->vms[0].id, sub, group, name);
			}
			OK(jit_store_policy_put(tx, p, 1, &created, &e_));
			jit_policy_free(p);
			snprintf(name, sizeof(name), "tok%zu-%zu", c, i);
			OK(jit_store_token_add(tx, owner, "t", name, hash, 1, 0, &e_));
			jit_guid_new(a.id);
			snprintf(name, sizeof(name), "g%zu", i);
			jit_rid_vm(&a.scope, sub, rg, name);
			snprintf(a.role_id, sizeof(a.role_id), "%s", JIT_ROLE_READER);
			OK(jit_store_assignment_put(tx, &a, &created, &e_));
			snprintf(name, sizeof(name), "agent%zu-%zu", c, i);
			ep.principal_id = add_principal(tx, name);
			snprintf(name, sizeof(name), "ep%zu", i);
			jit_rid_enforcement_point(&ep.id, sub, rg, name);
			OK(jit_store_ep_add(tx, &ep, &e_));
			jit_rid_resource_group(&scope, sub, rg);
			jit_rid_format(&scope, res, sizeof(res));
			e.resource_id = res;
			OK(jit_store_audit_append(tx, &e, &e_));
		}
		commit(tx);
		tx = begin(f->st, false);
		OK(jit_store_sub_list(tx, &subs, &n, &e_));
		assert_int_equal(n, c + 1);
		free(subs);
		OK(jit_store_rg_list(tx, sub, &rgs, &n, &e_));
		assert_int_equal(n, want + 1);
		free(rgs);
		jit_rid_resource_group(&scope, sub, rg);
		OK(jit_store_vm_list(tx, &scope, &vms, &n, &e_));
		assert_int_equal(n, want);
		free(vms);
		jit_rid_subscription(&scope, sub);
		OK(jit_store_policy_list(tx, &scope, NULL, &pols, &n, &e_));
		assert_int_equal(n, want);
		free(pols);
		OK(jit_store_token_list(tx, owner, &toks, &n, &e_));
		assert_int_equal(n, want);
		free(toks);
		OK(jit_store_assignment_list(tx, &scope, true, owner, &as, &n, &e_));
		assert_int_equal(n, want);
		free(as);
		OK(jit_store_ep_list(tx, &scope, &eps, &n, &e_));
		assert_int_equal(n, want);
		jit_enforcement_points_free(eps, n);
		jit_rid_resource_group(&scope, sub, rg);
		filter.scope = &scope;
		OK(jit_store_audit_query(tx, &filter, &rows, &n, &e_));
		assert_int_equal(n, want);
		jit_audit_rows_free(rows, n);
		jit_store_rollback(tx);
	}
	{
		struct jit_role *roles;
		size_t n;

		tx = begin(f->st, false);
		OK(jit_store_role_list(tx, &roles, &n, &e_));
		assert_int_equal(n, jit_rbac_builtin_count());
		free(roles);
		jit_store_rollback(tx);
	}
}

/* Counts the lines with event=audit in what fn writes to stderr. */
static int
audit_lines_logged(struct jit_store *st, size_t entries)
{
	char path[] = "/tmp/jitgate-store-log.XXXXXX", line[2048];
	int fd = mkstemp(path), saved = dup(STDERR_FILENO), count = 0;
	struct jit_tx *tx;
	FILE *in;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	tx = begin(st, true);
	for (size_t i = 0; i < entries; i++) {
		struct jit_audit_entry e = {.time = (jit_time)i + 1, .operation = "op",
			.result = "Succeeded", .status = 200};

		OK(jit_store_audit_append(tx, &e, &e_));
	}
	commit(tx);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	in = fdopen(fd, "r");
	rewind(in);
	while (fgets(line, sizeof(line), in) != NULL)
		count += strstr(line, "event=audit") != NULL;
	fclose(in);
	unlink(path);
	return count;
}

/* Regression: the operator-log copy stopped at 64 entries per transaction. */
static void
test_audit_chain_and_log_copy(void **state)
{
	struct fixture *f = *state;
	struct jit_audit_verdict v;
	struct jit_tx *tx;

	jit_log_init("test", JIT_LOG_INFO, false);
	assert_int_equal(audit_lines_logged(f->st, 200), 200);
	jit_log_init("test", JIT_LOG_WARN, false);
	tx = begin(f->st, false);
	OK(jit_store_audit_verify(tx, 0, NULL, &v, &e_));
	jit_store_rollback(tx);
	assert_true(v.ok);
	assert_int_equal(v.entries, 200);
	/* Rolled back entries are neither kept nor logged. */
	tx = begin(f->st, true);
	{
		struct jit_audit_entry e = {.time = 1, .operation = "op", .result = "Failed",
			.status = 400};

		OK(jit_store_audit_append(tx, &e, &e_));
	}
	jit_store_rollback(tx);
	tx = begin(f->st, false);
	OK(jit_store_audit_verify(tx, 0, NULL, &v, &e_));
	jit_store_rollback(tx);
	assert_true(v.ok);
	assert_int_equal(v.entries, 200);
}

/* A request's revoke records the time it ended, and expiry returns what ended. */
static void
test_requests_revoke_expire(void **state)
{
	struct fixture *f = *state;
	struct jit_policy *p = policy_of("s", "g", 1), *got;
	struct jit_request_port port = {.number = 22, .end_time = 5000,
		.status = JIT_STATUS_INITIATED, .reason = JIT_REASON_USER_REQUESTED};
	struct jit_request_vm rv = {.n_ports = 1, .ports = &port};
	struct jit_request r = {.n_vms = 1, .vms = &rv, .start_time = 100,
		.requestor = "alice"};
	struct jit_expired *xs;
	struct jit_prefix src;
	struct jit_tx *tx;
	struct jit_error err;
	bool created;
	size_t n;

	assert_int_equal(jit_prefix_parse("10.1.2.3", &src, &err), 0);
	port.sources.n = 1;
	port.sources.prefixes = &src;
	rv.id = p->vms[0].id;
	tx = begin(f->st, true);
	put_sub(tx, "s");
	put_rg(tx, "s", "g");
	put_vm(tx, "s", "g", "vm0");
	OK(jit_store_policy_put(tx, p, 1, &created, &e_));
	OK(jit_store_request_add(tx, &p->id, &r, 0, &e_));
	OK(jit_store_request_revoke(tx, &p->id, &p->vms[0].id, 22, NULL, 300, &n, &e_));
	assert_int_equal(n, 1);
	commit(tx);
	tx = begin(f->st, false);
	OK(jit_store_policy_get(tx, &p->id, 400, &got, &e_));
	jit_store_rollback(tx);
	assert_int_equal(got->n_requests, 1);
	assert_int_equal(got->requests[0].vms[0].ports[0].status, JIT_STATUS_REVOKED);
	assert_int_equal(got->requests[0].vms[0].ports[0].end_time, 300);
	jit_policy_free(got);
	/* A second request that runs out. */
	port.end_time = 600;
	tx = begin(f->st, true);
	OK(jit_store_request_add(tx, &p->id, &r, 0, &e_));
	OK(jit_store_expire(tx, 500, &xs, &n, &e_));
	assert_int_equal(n, 0);
	free(xs);
	OK(jit_store_expire(tx, 700, &xs, &n, &e_));
	assert_int_equal(n, 1);
	assert_int_equal(xs[0].number, 22);
	assert_int_equal(xs[0].end, 600);
	free(xs);
	commit(tx);
	jit_policy_free(p);
}

int
main(int argc, char **argv)
{
	const char *want = argc > 1 ? argv[1] : getenv("JITGATE_STORE_BACKEND");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rollback_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_case_insensitive_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_constraints_are_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_chain_and_log_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_requests_revoke_expire, setup, teardown),
	};

	jit_log_init("test_store_contract", JIT_LOG_WARN, false);
	if (want == NULL || want[0] == '\0')
		want = "sqlite";
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(backends[i].name, want) == 0)
			backend = &backends[i];
	if (backend == NULL) {
		fprintf(stderr, "test_store_contract: no store backend '%s' (sqlite, postgresql)\n",
			want);
		return 2;
	}
	return cmocka_run_group_tests_name(backend->name, tests, NULL, NULL);
}
