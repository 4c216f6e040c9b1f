/*
 * store_migrate.c: `jitgated migrate`: a whole SQLite installation copied into an empty
 * PostgreSQL database.
 *
 * Both stores are first opened as stores (so the SQLite file is at the current schema
 * and the PostgreSQL tables exist), then every table is copied row by row, column by
 * column, in one PostgreSQL transaction: the copy lands whole or not at all. The two
 * schemas have the same tables and columns (schema_pg.c), so nothing is translated: the
 * audit chain's rows keep their seq, hashes and VM index and still verify, tokens keep
 * their hashes (the same tokens work), identities keep their ids (sequences are moved
 * past them). A target that already holds an installation is refused.
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

/* In an order that satisfies the foreign keys. */
static const char *const tables[] = {
	"subscriptions", "resource_groups", "principals", "tokens", "enforcement_points",
	"enrollment_tokens", "vms", "policies", "policy_vms", "policy_ports", "requests",
	"request_ports", "audit", "audit_vms", "jit_settings", "role_definitions",
	"role_assignments", "sessions", "client_secrets", "access_tokens", "meta",
};

/* Tables whose id the target's identity column hands out. */
static const char *const identities[] = {"principals", "requests", "request_ports"};

static int
fail(struct db *db, struct jit_error *err, const char *what)
{
	return jit_errorf(err, db_unavailable(db) ? 503 : 500, JIT_E_INTERNAL,
		"migrate: %s: %s", what, db_errmsg(db));
}

/* INSERT INTO table (the source row's columns) VALUES (?, ...) */
static char *
insert_sql(const char *table, struct db_stmt *row)
{
	int n = db_column_count(row);
	size_t len = strlen(table) + 96;
	char *sql, *p;

	for (int i = 0; i < n; i++)
		len += strlen(db_column_name(row, i)) + 4;
	if ((sql = malloc(len)) == NULL)
		return NULL;
	p = sql + sprintf(sql, "INSERT INTO %s (", table);
	for (int i = 0; i < n; i++)
		p += sprintf(p, "%s%s", i ? ", " : "", db_column_name(row, i));
	p += sprintf(p, ") VALUES (");
	for (int i = 0; i < n; i++)
		p += sprintf(p, "%s?", i ? ", " : "");
	/* meta already holds the target's own bookkeeping (schema version, writer row). */
	sprintf(p, ")%s", strcmp(table, "meta") == 0 ?
		" ON CONFLICT (key) DO UPDATE SET value = excluded.value" : "");
	return sql;
}

static int
copy_table(struct db *from, struct db *to, const char *table, int64_t *rows,
	struct jit_error *err)
{
	char sql[128];
	struct db_stmt *s = NULL, *ins = NULL;
	char *isql = NULL;
	int rc;

	*rows = 0;
	snprintf(sql, sizeof(sql), "SELECT * FROM %s%s", table, strcmp(table, "meta") == 0 ?
		" WHERE key NOT IN ('schema_version', 'writer')" : "");
	if (db_prepare(from, sql, &s) != DB_OK)
		return fail(from, err, table);
	while ((rc = db_step(s)) == DB_ROW) {
		if (isql == NULL && (isql = insert_sql(table, s)) == NULL) {
			db_finalize(s);
			return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
		}
		if (db_prepare(to, isql, &ins) != DB_OK) {
			fail(to, err, table);
			goto out;
		}
		for (int i = 0; i < db_column_count(s); i++) {
			switch (db_column_type(s, i)) {
			case DB_NULL:
				db_bind_null(ins, i + 1);
				break;
			case DB_INTEGER:
				db_bind_int64(ins, i + 1, db_column_int64(s, i));
				break;
			case DB_BLOB:
				db_bind_blob(ins, i + 1, db_column_blob(s, i),
					db_column_bytes(s, i));
				break;
			default:
				db_bind_text(ins, i + 1, (const char *)db_column_text(s, i), -1);
			}
		}
		if (db_step(ins) != DB_DONE) {
			fail(to, err, table);
			goto out;
		}
		db_finalize(ins);
		ins = NULL;
		(*rows)++;
	}
	if (rc != DB_DONE) {
		fail(from, err, table);
		goto out;
	}
	rc = 0;
	goto done;
out:
	rc = -1;
done:
	db_finalize(ins);
	db_finalize(s);
	free(isql);
	return rc;
}

static int
target_is_empty(struct db *to, bool *empty, struct jit_error *err)
{
	struct db_stmt *s;

	if (db_prepare(to, "SELECT (SELECT COUNT(*) FROM subscriptions) + (SELECT COUNT(*)"
		" FROM principals) + (SELECT COUNT(*) FROM audit)", &s) != DB_OK ||
		db_step(s) != DB_ROW) {
		db_finalize(s);
		return fail(to, err, "reading the target");
	}
	*empty = db_column_int64(s, 0) == 0;
	db_finalize(s);
	return 0;
}

int
jit_store_migrate(const char *from_uri, const char *to_uri, const struct jit_audit_keyring *keys,
	struct jit_migrate_report *rep, struct jit_error *err)
{
	struct jit_store *st = NULL;
	struct db *from = NULL, *to = NULL;
	struct jit_tx *tx;
	bool empty = false;
	int r = -1;

	memset(rep, 0, sizeof(*rep));
	if (db_uri_is_pg(from_uri) || !db_uri_is_pg(to_uri))
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"migrate copies an SQLite store (--from sqlite:PATH) into PostgreSQL"
			" (--to postgresql://...)");
	/* As stores first: the source at the current schema, the target's tables made. */
	if (jit_store_open(from_uri, &st, err) != 0)
		return jit_error_prefix(err, "the source");
	jit_store_close(st);
	if (jit_store_open(to_uri, &st, err) != 0)
		return jit_error_prefix(err, "the target");
	jit_store_close(st);
	st = NULL;
	if (db_open(from_uri, &from, err) != 0 || db_open(to_uri, &to, err) != 0)
		goto out;
	if (db_begin(from, false) != DB_OK) {
		fail(from, err, "reading the source");
		goto out;
	}
	if (db_begin(to, true) != DB_OK) {
		fail(to, err, "writing the target");
		goto out;
	}
	if (target_is_empty(to, &empty, err) != 0)
		goto rollback;
	if (!empty) {
		jit_errorf(err, 409, JIT_E_CONFLICT, "the target already holds a jitgate "
			"installation; migrate copies into an empty database only");
		goto rollback;
	}
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		int64_t n;

		if (copy_table(from, to, tables[i], &n, err) != 0)
			goto rollback;
		rep->rows += n;
		if (strcmp(tables[i], "audit") == 0)
			rep->audit_entries = n;
	}
	for (size_t i = 0; i < sizeof(identities) / sizeof(identities[0]); i++) {
		char sql[256];

		snprintf(sql, sizeof(sql), "SELECT setval(pg_get_serial_sequence('%s', 'id'),"
			" GREATEST(COALESCE(MAX(id), 0), 1), COALESCE(MAX(id), 0) > 0) FROM %s",
			identities[i], identities[i]);
		if (db_exec(to, sql) != DB_OK) {
			fail(to, err, "moving the identities past the copied ids");
			goto rollback;
		}
	}
	if (db_commit(to, true) != DB_OK) {
		fail(to, err, "committing");
		goto out;
	}
	db_rollback(from);
	db_close(from);
	db_close(to);
	from = to = NULL;
	/* What was copied verifies as a chain in its new home. */
	if (jit_store_open(to_uri, &st, err) != 0)
		goto out;
	jit_store_set_audit_keys(st, keys);
	if (jit_store_begin(st, false, &tx, err) != 0)
		goto out;
	r = jit_store_audit_verify(tx, 0, NULL, &rep->verdict, err);
	jit_store_rollback(tx);
	goto out;
rollback:
	db_rollback(to);
out:
	jit_store_close(st);
	db_close(from);
	db_close(to);
	return r;
}
