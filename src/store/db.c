/*
 * db.c: the SQLite driver of db.h, and the dispatch to the libpq one (db_pg.c).
 *
 * The SQLite side is a thin wrapper: SQLite's statement API is what db.h copies.
 */
#include "db_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG_INT8OID 20
#define PG_BYTEAOID 17

bool
db_uri_is_pg(const char *uri)
{
	if (strncmp(uri, "postgresql://", 13) == 0 || strncmp(uri, "postgres://", 11) == 0)
		return true;
	if (strncmp(uri, "sqlite:", 7) == 0 || strchr(uri, '/') != NULL)
		return false;
	/* A conninfo string is "keyword=value ..." */
	return strchr(uri, '=') != NULL;
}

void
db_uri_redact(const char *uri, char *out, size_t n)
{
	const char *at, *colon, *scheme_end;

	snprintf(out, n, "%s", uri);
	scheme_end = strstr(uri, "://");
	if (scheme_end != NULL) {
		/* postgresql://user:secret@host/db -> postgresql://user:***@host/db */
		scheme_end += 3;
		at = strchr(scheme_end, '@');
		colon = strchr(scheme_end, ':');
		if (at != NULL && colon != NULL && colon < at)
			snprintf(out, n, "%.*s:***%s", (int)(colon - uri), uri, at);
	} else if (strstr(uri, "password") != NULL) {
		snprintf(out, n, "(a conninfo string with a password, not shown)");
	}
}

static int
lite_open(const char *path, struct db *db, struct jit_error *err)
{
	if (sqlite3_open_v2(path, &db->lite, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
		SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "cannot open database %s: %s", path,
			db->lite ? sqlite3_errmsg(db->lite) : "out of memory");
	sqlite3_busy_timeout(db->lite, 5000);
	if (db_exec(db, "PRAGMA journal_mode=WAL") != DB_OK ||
		db_exec(db, "PRAGMA synchronous=FULL") != DB_OK ||
		db_exec(db, "PRAGMA foreign_keys=ON") != DB_OK)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "cannot set up database %s: %s", path,
			sqlite3_errmsg(db->lite));
	return 0;
}

int
db_open(const char *uri, struct db **out, struct jit_error *err)
{
	struct db *db;
	int r;

	*out = NULL;
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	if (db_uri_is_pg(uri)) {
		db->kind = DB_PG;
		r = pg_open(uri, &db->pg, err);
	} else {
		db->kind = DB_SQLITE;
		r = lite_open(strncmp(uri, "sqlite:", 7) == 0 ? uri + 7 : uri, db, err);
	}
	if (r != 0) {
		db_close(db);
		return -1;
	}
	*out = db;
	return 0;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	if (db->lite != NULL)
		sqlite3_close_v2(db->lite);
	pg_close(db->pg);
	free(db);
}

enum db_kind
db_kind(const struct db *db)
{
	return db->kind;
}

int
db_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
	struct db_stmt *s;
	int rc;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return DB_ERROR;
	s->db = db;
	if (db->kind == DB_PG)
		rc = pg_prepare(db->pg, sql, &s->pg);
	else
		rc = sqlite3_prepare_v2(db->lite, sql, -1, &s->lite, NULL) == SQLITE_OK ?
			DB_OK : DB_ERROR;
	if (rc != DB_OK) {
		db_finalize(s);
		return rc;
	}
	*out = s;
	return DB_OK;
}

void
db_bind_int64(struct db_stmt *s, int i, int64_t v)
{
	char buf[24];

	if (s->pg == NULL) {
		sqlite3_bind_int64(s->lite, i, v);
		return;
	}
	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	pg_bind(s->pg, i, buf, -1, PG_INT8OID, 0);
}

void
db_bind_int(struct db_stmt *s, int i, int v)
{
	db_bind_int64(s, i, v);
}

void
db_bind_text(struct db_stmt *s, int i, const char *v, int n)
{
	if (s->pg == NULL)
		sqlite3_bind_text(s->lite, i, v, n, SQLITE_TRANSIENT);
	else
		pg_bind(s->pg, i, v, n, 0, 0);
}

void
db_bind_blob(struct db_stmt *s, int i, const void *v, int n)
{
	if (s->pg == NULL)
		sqlite3_bind_blob(s->lite, i, v, n, SQLITE_TRANSIENT);
	else
		pg_bind(s->pg, i, v, n, PG_BYTEAOID, 1);
}

void
db_bind_null(struct db_stmt *s, int i)
{
	if (s->pg == NULL)
		sqlite3_bind_null(s->lite, i);
	else
		pg_bind(s->pg, i, NULL, 0, 0, 0);
}

int
db_step(struct db_stmt *s)
{
	int rc;

	if (s->pg != NULL)
		return pg_step(s->pg);
	rc = sqlite3_step(s->lite);
	return rc == SQLITE_ROW ? DB_ROW : rc == SQLITE_DONE ? DB_DONE : DB_ERROR;
}

int64_t
db_column_int64(struct db_stmt *s, int i)
{
	const char *v;

	if (s->pg == NULL)
		return sqlite3_column_int64(s->lite, i);
	if ((v = pg_value(s->pg, i, NULL)) == NULL)
		return 0;
	/* Booleans come back as t/f; SQLite reads them as 1/0. */
	if (pg_is_bool(s->pg, i))
		return v[0] == 't';
	return strtoll(v, NULL, 10);
}

int
db_column_int(struct db_stmt *s, int i)
{
	return (int)db_column_int64(s, i);
}

const unsigned char *
db_column_text(struct db_stmt *s, int i)
{
	if (s->pg == NULL)
		return sqlite3_column_text(s->lite, i);
	return (const unsigned char *)pg_value(s->pg, i, NULL);
}

const void *
db_column_blob(struct db_stmt *s, int i)
{
	int len;

	if (s->pg == NULL)
		return sqlite3_column_blob(s->lite, i);
	return pg_blob(s->pg, i, &len);
}

int
db_column_bytes(struct db_stmt *s, int i)
{
	int len = 0;

	if (s->pg == NULL)
		return sqlite3_column_bytes(s->lite, i);
	pg_blob(s->pg, i, &len);
	return len;
}

int
db_column_type(struct db_stmt *s, int i)
{
	if (s->pg != NULL)
		return pg_type(s->pg, i);
	switch (sqlite3_column_type(s->lite, i)) {
	case SQLITE_INTEGER:
		return DB_INTEGER;
	case SQLITE_BLOB:
		return DB_BLOB;
	case SQLITE_NULL:
		return DB_NULL;
	default:
		return DB_TEXT;
	}
}

int
db_column_count(struct db_stmt *s)
{
	return s->pg != NULL ? pg_column_count(s->pg) : sqlite3_column_count(s->lite);
}

const char *
db_column_name(struct db_stmt *s, int i)
{
	return s->pg != NULL ? pg_column_name(s->pg, i) : sqlite3_column_name(s->lite, i);
}

int
db_finalize(struct db_stmt *s)
{
	if (s == NULL)
		return DB_OK;
	if (s->lite != NULL)
		sqlite3_finalize(s->lite);
	if (s->pg != NULL)
		pg_finalize(s->pg);
	free(s);
	return DB_OK;
}

int64_t
db_changes(struct db *db)
{
	return db->kind == DB_PG ? pg_changes(db->pg) : sqlite3_changes(db->lite);
}

int64_t
db_last_insert_rowid(struct db *db)
{
	return db->kind == DB_PG ? pg_last_insert_rowid(db->pg) :
		sqlite3_last_insert_rowid(db->lite);
}

const char *
db_errmsg(struct db *db)
{
	return db->kind == DB_PG ? pg_errmsg(db->pg) : sqlite3_errmsg(db->lite);
}

int
db_exec(struct db *db, const char *sql)
{
	if (db->kind == DB_PG)
		return pg_exec(db->pg, sql);
	return sqlite3_exec(db->lite, sql, NULL, NULL, NULL) == SQLITE_OK ? DB_OK : DB_ERROR;
}

int
db_begin(struct db *db, bool write)
{
	if (db->kind == DB_PG)
		return pg_begin(db->pg, write);
	return db_exec(db, write ? "BEGIN IMMEDIATE" : "BEGIN");
}

int
db_commit(struct db *db, bool notify)
{
	if (db->kind == DB_PG)
		return pg_commit(db->pg, notify);
	return db_exec(db, "COMMIT");
}

void
db_rollback(struct db *db)
{
	if (db->kind == DB_PG)
		pg_rollback(db->pg);
	else
		db_exec(db, "ROLLBACK");
}

bool
db_unavailable(struct db *db)
{
	return db->kind == DB_PG && pg_unavailable(db->pg);
}

int
db_listen(struct db *db, db_change_fn fn, void *ctx, int safety_ms, struct jit_error *err)
{
	if (db->kind != DB_PG)
		return 0;
	return pg_listen(db->pg, fn, ctx, safety_ms, err);
}

int
db_try_job_lock(struct db *db, const char *job, bool *got)
{
	*got = true;
	if (db->kind != DB_PG)
		return DB_OK;
	return pg_try_job_lock(db->pg, job, got);
}
