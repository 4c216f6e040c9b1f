/*
 * db_impl.h: what db.c (the SQLite driver and the dispatch) and db_pg.c (the libpq
 * driver) share. Not part of the store's interface: only those two files include it.
 */
#ifndef JIT_DB_IMPL_H
#define JIT_DB_IMPL_H

#include <sqlite3.h>

#include "db.h"

struct pg_conn;
struct pg_stmt;

struct db {
	enum db_kind kind;
	sqlite3 *lite;                  /* DB_SQLITE */
	struct pg_conn *pg;             /* DB_PG */
};

struct db_stmt {
	struct db *db;
	sqlite3_stmt *lite;
	struct pg_stmt *pg;
};

int pg_open(const char *conninfo, struct pg_conn **out, struct jit_error *err);
void pg_close(struct pg_conn *c);
int pg_prepare(struct pg_conn *c, const char *sql, struct pg_stmt **out);
void pg_bind(struct pg_stmt *s, int i, const char *v, int n, unsigned type, int binary);
int pg_step(struct pg_stmt *s);
const char *pg_value(struct pg_stmt *s, int i, int *len);
bool pg_is_bool(struct pg_stmt *s, int i);
/* DB_INTEGER, DB_TEXT, DB_BLOB or DB_NULL from the column's type. */
int pg_type(struct pg_stmt *s, int i);
int pg_column_count(struct pg_stmt *s);
const char *pg_column_name(struct pg_stmt *s, int i);
const void *pg_blob(struct pg_stmt *s, int i, int *len);
void pg_finalize(struct pg_stmt *s);
int64_t pg_changes(struct pg_conn *c);
int64_t pg_last_insert_rowid(struct pg_conn *c);
const char *pg_errmsg(struct pg_conn *c);
int pg_exec(struct pg_conn *c, const char *sql);
int pg_begin(struct pg_conn *c, bool write);
int pg_commit(struct pg_conn *c, bool notify);
void pg_rollback(struct pg_conn *c);
bool pg_unavailable(struct pg_conn *c);
int pg_listen(struct pg_conn *c, db_change_fn fn, void *ctx, int safety_ms,
	struct jit_error *err);
int pg_try_job_lock(struct pg_conn *c, const char *job, bool *got);

#endif
