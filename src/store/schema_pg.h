/*
 * schema_pg.h: the store's tables on PostgreSQL, and their versioned migrations.
 */
#ifndef JIT_SCHEMA_PG_H
#define JIT_SCHEMA_PG_H

#include "db.h"
#include "error.h"

/* Creates or migrates the schema, once, under an advisory lock: replicas starting
 * together wait for the first and then find the work done. */
int store_pg_migrate(struct db *db, struct jit_error *err);

#endif
