/*
 * db.h: the SQL connection under the store, with two drivers (SQLite and libpq).
 *
 * store_sqlite.c holds the store's SQL once and runs it through this interface, so
 * both backends execute the same statements. The interface is a small subset of
 * SQLite's statement API (prepare, bind, step, column, finalize); the PostgreSQL
 * driver translates `?` and `?N` parameters to `$N`, sends integers as int8 and blobs
 * as bytea, and reads booleans as 0/1. The few places where the dialects differ ask
 * db_kind().
 */
#ifndef JIT_DB_H
#define JIT_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct db;
struct db_stmt;

enum db_kind {
	DB_SQLITE = 1,
	DB_PG,
};

/* Results of db_step (the values are SQLite's, so that both read alike). */
#define DB_OK 0
#define DB_ERROR 1
#define DB_ROW 100
#define DB_DONE 101
/* db_column_type (SQLite's codes) */
#define DB_INTEGER 1
#define DB_TEXT 3
#define DB_BLOB 4
#define DB_NULL 5

/* Called (from the listener thread) when another writer committed a change to some
 * desired state, or when the listener reconnected (anything may have changed). */
typedef void (*db_change_fn)(void *ctx);

/* Opens "sqlite:PATH" (or a bare path) or a libpq URI/conninfo ("postgresql://...",
 * "postgres://...", "host=... dbname=..."). The password comes from PGPASSFILE or
 * ~/.pgpass (or the passfile= parameter), never from the URI we log. */
int db_open(const char *uri, struct db **out, struct jit_error *err);
void db_close(struct db *db);
enum db_kind db_kind(const struct db *db);
/* Whether uri names a PostgreSQL database (and not an SQLite file). */
bool db_uri_is_pg(const char *uri);
/* uri with any password removed, for logs and messages. */
void db_uri_redact(const char *uri, char *out, size_t n);

int db_prepare(struct db *db, const char *sql, struct db_stmt **out);
void db_bind_int64(struct db_stmt *s, int i, int64_t v);
void db_bind_int(struct db_stmt *s, int i, int v);
/* n < 0: up to the NUL. The value is copied. */
void db_bind_text(struct db_stmt *s, int i, const char *v, int n);
void db_bind_blob(struct db_stmt *s, int i, const void *v, int n);
void db_bind_null(struct db_stmt *s, int i);
/* DB_ROW, DB_DONE or DB_ERROR (db_errmsg says why). */
int db_step(struct db_stmt *s);
int64_t db_column_int64(struct db_stmt *s, int i);
int db_column_int(struct db_stmt *s, int i);
/* NULL for SQL NULL; valid until the next step or finalize. */
const unsigned char *db_column_text(struct db_stmt *s, int i);
const void *db_column_blob(struct db_stmt *s, int i);
int db_column_bytes(struct db_stmt *s, int i);
int db_column_type(struct db_stmt *s, int i);
/* The number of columns of a result, and their names (valid until finalize). */
int db_column_count(struct db_stmt *s);
const char *db_column_name(struct db_stmt *s, int i);
/* Accepts NULL. */
int db_finalize(struct db_stmt *s);

/* Rows changed by the last statement, and the id the last INSERT gave its row. */
int64_t db_changes(struct db *db);
int64_t db_last_insert_rowid(struct db *db);
const char *db_errmsg(struct db *db);
/* Runs SQL without parameters or results (DDL, BEGIN, COMMIT). */
int db_exec(struct db *db, const char *sql);

/* Transactions. A write transaction serialises with every other writer on the
 * database (SQLite: BEGIN IMMEDIATE; PostgreSQL: a row lock on the writers' row, which
 * also fails at once on a read-only standby). notify: tell the other replicas that
 * desired state changed (PostgreSQL: pg_notify inside the transaction). */
int db_begin(struct db *db, bool write);
int db_commit(struct db *db, bool notify);
void db_rollback(struct db *db);
/* Whether the last failure was the database being unreachable (a client should retry
 * later: 503) rather than an error in what was asked. Reconnects on the next begin. */
bool db_unavailable(struct db *db);
/* Starts the listener (PostgreSQL only; SQLite has one process, nothing to hear). It
 * calls fn on every notification, on every reconnect and every safety_ms. */
int db_listen(struct db *db, db_change_fn fn, void *ctx, int safety_ms,
	struct jit_error *err);
/* Takes a lock for a periodic job, held until the transaction ends; *got false when
 * another replica holds it (SQLite: always true, there is one process). */
int db_try_job_lock(struct db *db, const char *job, bool *got);

#endif
