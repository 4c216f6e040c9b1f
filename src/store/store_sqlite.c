/*
 * store_sqlite.c: the embedded store (SQLite, WAL, foreign keys on).
 *
 * One connection, serialised by tx_lock for the length of a transaction: the
 * single-host deployment has one writer anyway, and it keeps every handler's
 * change-plus-audit atomic without thinking about SQLite's own locking.
 * synchronous=FULL: a reply is sent only after its commit is on disk.
 * All SQL uses bound parameters; keys are lowercased resource IDs.
 */
#include "store.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include "db.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "audit_chain.h"
#include "jit_limits.h"
#include "log.h"
#include "schema_pg.h"

#define SCHEMA_VERSION 6
/* The newest requests shown inside a policy; the audit log keeps all of them. */
#define REQUESTS_SHOWN 100

/* An audit entry appended in the open transaction, logged once it commits. */
struct pending_audit {
	char seq[24], status[8];
	char *operation, *resource, *result, *principal, *caller;
	char hash[JIT_AUDIT_HASH_HEX];
};

/* The open transaction. There is one connection, so at most one at a time: it lives
 * in the store and is handed out by jit_store_begin while tx_lock is held. */
struct jit_tx {
	struct jit_store *st;
	bool write;
	bool bumped;                    /* some desired-state version changed */
	bool reported;                  /* an enforcement point's status was recorded */
	struct pending_audit *pending;  /* every entry of the transaction, no cap */
	size_t n_pending, cap_pending;
};

struct jit_store {
	struct db *db;
	pthread_mutex_t tx_lock;
	struct jit_tx tx;
	pthread_mutex_t gen_lock;
	pthread_cond_t gen_cond;
	uint64_t generation;
	uint64_t report_generation;
	bool waking;
	const struct jit_audit_keyring *audit_keys;  /* NULL: an unkeyed log */
	/* Transaction hold times, for /metrics. */
	struct timespec tx_start;
	struct jit_histogram tx_read_hist, tx_write_hist;
};

static const char *schema_v1[] = {
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
	"CREATE TABLE subscriptions (key TEXT PRIMARY KEY, name TEXT NOT NULL,"
	" display_name TEXT NOT NULL, created_ns INTEGER NOT NULL)",
	"CREATE TABLE resource_groups (key TEXT PRIMARY KEY,"
	" sub_key TEXT NOT NULL REFERENCES subscriptions(key), id TEXT NOT NULL,"
	" location TEXT NOT NULL, created_ns INTEGER NOT NULL)",
	"CREATE INDEX resource_groups_sub ON resource_groups(sub_key)",
	"CREATE TABLE principals (id INTEGER PRIMARY KEY, kind TEXT NOT NULL,"
	" name TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL, created_ns INTEGER NOT NULL)",
	"CREATE TABLE tokens (token_id TEXT PRIMARY KEY,"
	" principal_id INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,"
	" name TEXT NOT NULL, hash BLOB NOT NULL, created_ns INTEGER NOT NULL,"
	" expires_ns INTEGER NOT NULL DEFAULT 0, revoked_ns INTEGER NOT NULL DEFAULT 0,"
	" last_used_ns INTEGER NOT NULL DEFAULT 0)",
	"CREATE TABLE enforcement_points (key TEXT PRIMARY KEY,"
	" rg_key TEXT NOT NULL REFERENCES resource_groups(key), id TEXT NOT NULL,"
	" kind TEXT NOT NULL, principal_id INTEGER NOT NULL REFERENCES principals(id),"
	" version INTEGER NOT NULL DEFAULT 1, applied_version INTEGER NOT NULL DEFAULT 0,"
	" last_seen_ns INTEGER NOT NULL DEFAULT 0, created_ns INTEGER NOT NULL, status_json TEXT)",
	"CREATE INDEX enforcement_points_principal ON enforcement_points(principal_id)",
	"CREATE TABLE enrollment_tokens (token_id TEXT PRIMARY KEY, hash BLOB NOT NULL,"
	" rg_key TEXT NOT NULL REFERENCES resource_groups(key) ON DELETE CASCADE,"
	" created_by INTEGER, created_ns INTEGER NOT NULL, expires_ns INTEGER NOT NULL,"
	" used_ns INTEGER NOT NULL DEFAULT 0)",
	"CREATE TABLE vms (key TEXT PRIMARY KEY,"
	" rg_key TEXT NOT NULL REFERENCES resource_groups(key), id TEXT NOT NULL,"
	" location TEXT NOT NULL, os TEXT NOT NULL, addresses TEXT NOT NULL,"
	" ep_key TEXT REFERENCES enforcement_points(key), created_ns INTEGER NOT NULL)",
	"CREATE INDEX vms_rg ON vms(rg_key)",
	"CREATE INDEX vms_ep ON vms(ep_key)",
	"CREATE TABLE policies (key TEXT PRIMARY KEY,"
	" rg_key TEXT NOT NULL REFERENCES resource_groups(key), id TEXT NOT NULL,"
	" location TEXT NOT NULL, kind TEXT, created_ns INTEGER NOT NULL,"
	" updated_ns INTEGER NOT NULL)",
	"CREATE INDEX policies_rg ON policies(rg_key)",
	"CREATE TABLE policy_vms (vm_key TEXT PRIMARY KEY REFERENCES vms(key),"
	" policy_key TEXT NOT NULL REFERENCES policies(key) ON DELETE CASCADE,"
	" pos INTEGER NOT NULL, vm_id TEXT NOT NULL, public_ip TEXT)",
	"CREATE INDEX policy_vms_policy ON policy_vms(policy_key, pos)",
	"CREATE TABLE policy_ports (vm_key TEXT NOT NULL REFERENCES policy_vms(vm_key)"
	" ON DELETE CASCADE, pos INTEGER NOT NULL, number INTEGER NOT NULL,"
	" protocol TEXT NOT NULL, sources TEXT NOT NULL, sources_list INTEGER NOT NULL,"
	" max_ns INTEGER NOT NULL, close_established INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (vm_key, number))",
	"CREATE TABLE requests (id INTEGER PRIMARY KEY,"
	" policy_key TEXT NOT NULL REFERENCES policies(key) ON DELETE CASCADE,"
	" principal_id INTEGER, requestor TEXT NOT NULL, start_ns INTEGER NOT NULL,"
	" justification TEXT)",
	"CREATE INDEX requests_policy ON requests(policy_key, id)",
	"CREATE TABLE request_ports (id INTEGER PRIMARY KEY,"
	" request_id INTEGER NOT NULL REFERENCES requests(id) ON DELETE CASCADE,"
	" vm_key TEXT NOT NULL, vm_id TEXT NOT NULL, vm_pos INTEGER NOT NULL,"
	" number INTEGER NOT NULL, sources TEXT NOT NULL, sources_list INTEGER NOT NULL,"
	" end_ns INTEGER NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL,"
	" mapped_port INTEGER)",
	"CREATE INDEX request_ports_request ON request_ports(request_id)",
	"CREATE INDEX request_ports_active ON request_ports(vm_key, number, status)",
	"CREATE INDEX request_ports_end ON request_ports(status, end_ns)",
	"CREATE TABLE audit (seq INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL,"
	" principal_id INTEGER, principal_name TEXT, caller TEXT, operation TEXT NOT NULL,"
	" resource_id TEXT, result TEXT NOT NULL, status INTEGER NOT NULL,"
	" correlation_id TEXT, details TEXT)",
	NULL,
};

/* Version 2: role-based access (principals get a public GUID; roles; assignments). */
static const char *schema_v2[] = {
	"ALTER TABLE principals ADD COLUMN object_id TEXT",
	"CREATE UNIQUE INDEX principals_object_id ON principals(object_id)",
	"CREATE TABLE role_definitions (id TEXT PRIMARY KEY, name TEXT NOT NULL,"
	" body TEXT NOT NULL, created_ns INTEGER NOT NULL)",
	"CREATE UNIQUE INDEX role_definitions_name ON role_definitions(lower(name))",
	"CREATE TABLE role_assignments (id TEXT PRIMARY KEY, scope_key TEXT NOT NULL,"
	" scope_id TEXT NOT NULL,"
	" principal_id INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,"
	" role_id TEXT NOT NULL, created_ns INTEGER NOT NULL,"
	" UNIQUE (scope_key, principal_id, role_id))",
	"CREATE INDEX role_assignments_principal ON role_assignments(principal_id)",
	NULL,
};

/* Version 3: a tamper-evident audit chain, per-VM audit index, JIT settings. */
static const char *schema_v3[] = {
	"ALTER TABLE audit ADD COLUMN resource_key TEXT",
	"ALTER TABLE audit ADD COLUMN vms TEXT",
	"ALTER TABLE audit ADD COLUMN prev_hash TEXT",
	"ALTER TABLE audit ADD COLUMN hash TEXT",
	"CREATE INDEX audit_resource ON audit(resource_key)",
	"CREATE INDEX audit_time ON audit(time_ns)",
	"CREATE TABLE audit_vms (vm_key TEXT NOT NULL, seq INTEGER NOT NULL,"
	" PRIMARY KEY (vm_key, seq))",
	"CREATE TABLE jit_settings (scope_key TEXT PRIMARY KEY, scope_id TEXT NOT NULL,"
	" enabled INTEGER NOT NULL, reason TEXT, updated_ns INTEGER NOT NULL)",
	NULL,
};

/* Version 4: console sign-in sessions, each bound to the token that opened it. */
static const char *schema_v4[] = {
	"CREATE TABLE sessions (session_id TEXT PRIMARY KEY, hash BLOB NOT NULL,"
	" token_id TEXT NOT NULL REFERENCES tokens(token_id) ON DELETE CASCADE,"
	" created_ns INTEGER NOT NULL, expires_ns INTEGER NOT NULL)",
	"CREATE INDEX sessions_token ON sessions(token_id)",
	"CREATE INDEX sessions_expires ON sessions(expires_ns)",
	NULL,
};

/* Version 5: OAuth2 client secrets and the short-lived access tokens they buy. An access
 * token names the credential it was issued for (source_kind 'secret' or 'token'), so that
 * revoking that credential ends the access token at once. */
static const char *schema_v5[] = {
	"CREATE TABLE client_secrets (secret_id TEXT PRIMARY KEY,"
	" principal_id INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,"
	" name TEXT NOT NULL, hash BLOB NOT NULL, created_ns INTEGER NOT NULL,"
	" expires_ns INTEGER NOT NULL, revoked_ns INTEGER NOT NULL DEFAULT 0,"
	" last_used_ns INTEGER NOT NULL DEFAULT 0)",
	"CREATE INDEX client_secrets_principal ON client_secrets(principal_id)",
	"CREATE TABLE access_tokens (token_id TEXT PRIMARY KEY, hash BLOB NOT NULL,"
	" principal_id INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,"
	" source_kind TEXT NOT NULL, source_id TEXT NOT NULL, created_ns INTEGER NOT NULL,"
	" expires_ns INTEGER NOT NULL)",
	"CREATE INDEX access_tokens_expires ON access_tokens(expires_ns)",
	NULL,
};

/* Version 6: a token records the token it was minted with (self-minted tokens never
 * outlive, or survive the revocation of, the token that made them). */
static const char *schema_v6[] = {
	"ALTER TABLE tokens ADD COLUMN parent_token_id TEXT",
	"CREATE INDEX tokens_parent ON tokens(parent_token_id)",
	"ALTER TABLE client_secrets ADD COLUMN parent_token_id TEXT",
	"CREATE INDEX client_secrets_parent ON client_secrets(parent_token_id)",
	NULL,
};

/* ---- plumbing ---- */

static int
db_fail(struct jit_store *st, struct jit_error *err, const char *what)
{
	/* The database being down or failing over is not the client's fault, nor final. */
	if (db_unavailable(st->db))
		return jit_errorf(err, 503, JIT_E_UNAVAILABLE,
			"the store is unavailable (%s): retry shortly", db_errmsg(st->db));
	return jit_errorf(err, 500, JIT_E_INTERNAL, "storage error while %s: %s", what,
		db_errmsg(st->db));
}

static int
prep(struct jit_store *st, const char *sql, struct db_stmt **out, struct jit_error *err)
{
	if (db_prepare(st->db, sql, out) != DB_OK)
		return db_fail(st, err, "preparing a statement");
	return 0;
}

/* Runs a statement that returns no rows. */
static int
exec_done(struct jit_store *st, struct db_stmt *s, struct jit_error *err, const char *what)
{
	int rc = db_step(s);

	if (rc != DB_DONE && rc != DB_ROW) {
		db_fail(st, err, what);
		db_finalize(s);
		return -1;
	}
	db_finalize(s);
	return 0;
}

static int
exec_sql(struct jit_store *st, const char *sql, struct jit_error *err)
{
	if (db_exec(st->db, sql) != DB_OK) {
		db_fail(st, err, "running a statement");
		return -1;
	}
	return 0;
}

static void
bind_text(struct db_stmt *s, int i, const char *v)
{
	if (v == NULL)
		db_bind_null(s, i);
	else
		db_bind_text(s, i, v, -1);
}

static void
copy_col(struct db_stmt *s, int i, char *dst, size_t n)
{
	const unsigned char *v = db_column_text(s, i);

	snprintf(dst, n, "%s", v ? (const char *)v : "");
}

static char *
dup_col(struct db_stmt *s, int i)
{
	const unsigned char *v = db_column_text(s, i);

	return v ? strdup((const char *)v) : NULL;
}

/* The lowercased canonical form of an ID: how rows are keyed. */
static void
rid_key(const struct jit_rid *r, char out[JIT_RESOURCE_ID_MAX])
{
	jit_rid_key(r, out);
}

static void
name_key(const char *name, char out[JIT_NAME_MAX + 1])
{
	size_t i;

	for (i = 0; name[i] && i < JIT_NAME_MAX; i++)
		out[i] = (char)tolower((unsigned char)name[i]);
	out[i] = '\0';
}

static void
guid_key(const char *guid, char out[JIT_GUID_LEN + 1])
{
	size_t i;

	for (i = 0; guid[i] && i < JIT_GUID_LEN; i++)
		out[i] = (char)tolower((unsigned char)guid[i]);
	out[i] = '\0';
}

static void
rg_key_of(const struct jit_rid *r, char out[JIT_RESOURCE_ID_MAX])
{
	struct jit_rid rg;

	jit_rid_resource_group(&rg, r->sub, r->rg);
	rid_key(&rg, out);
}

static int
parse_rid_col(struct db_stmt *s, int i, struct jit_rid *out, struct jit_error *err)
{
	const unsigned char *v = db_column_text(s, i);

	if (v == NULL || jit_rid_parse((const char *)v, out, err) != 0)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "stored resource ID is corrupt");
	return 0;
}

/* Counts rows of a one-parameter COUNT(*) query. */
static int
count_rows(struct jit_store *st, const char *sql, const char *param, int64_t *n,
	struct jit_error *err)
{
	struct db_stmt *s;

	if (prep(st, sql, &s, err) != 0)
		return -1;
	bind_text(s, 1, param);
	if (db_step(s) != DB_ROW) {
		db_fail(st, err, "counting");
		db_finalize(s);
		return -1;
	}
	*n = db_column_int64(s, 0);
	db_finalize(s);
	return 0;
}

static void
mark_bumped(struct jit_store *st)
{
	st->tx.bumped = true;
}

/* Bumps the desired-state version of the enforcement point of a VM, if any. */
static int
bump_vm_ep(struct jit_store *st, const char *vm_key, struct jit_error *err)
{
	struct db_stmt *s;

	if (prep(st, "UPDATE enforcement_points SET version = version + 1"
		" WHERE key = (SELECT ep_key FROM vms WHERE key = ?)", &s, err) != 0)
		return -1;
	bind_text(s, 1, vm_key);
	mark_bumped(st);
	return exec_done(st, s, err, "bumping a desired-state version");
}

static int
bump_ep(struct jit_store *st, const char *ep_key, struct jit_error *err)
{
	struct db_stmt *s;

	if (ep_key == NULL || ep_key[0] == '\0')
		return 0;
	if (prep(st, "UPDATE enforcement_points SET version = version + 1 WHERE key = ?", &s,
		err) != 0)
		return -1;
	bind_text(s, 1, ep_key);
	mark_bumped(st);
	return exec_done(st, s, err, "bumping a desired-state version");
}

/* Bumps every enforcement point of the VMs in a policy. */
static int
bump_policy_eps(struct jit_store *st, const char *policy_key, struct jit_error *err)
{
	struct db_stmt *s;

	if (prep(st, "UPDATE enforcement_points SET version = version + 1 WHERE key IN"
		" (SELECT v.ep_key FROM vms v JOIN policy_vms pv ON pv.vm_key = v.key"
		" WHERE pv.policy_key = ?)", &s, err) != 0)
		return -1;
	bind_text(s, 1, policy_key);
	mark_bumped(st);
	return exec_done(st, s, err, "bumping desired-state versions");
}

/* Prefixes (sources, VM addresses) are stored as a compact JSON array of their
 * canonical text. */
static char *
prefixes_to_json(const struct jit_prefix *prefixes, size_t n)
{
	char buf[JIT_PREFIX_BUFSZ];
	json_t *arr = json_array();
	char *out;

	if (arr == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		jit_prefix_format(&prefixes[i], buf);
		json_array_append_new(arr, json_string(buf));
	}
	out = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return out;
}

static char *
sources_to_json(const struct jit_sources *src)
{
	return prefixes_to_json(src->prefixes, src->n);
}

static int
sources_from_json(const char *text, bool list, struct jit_sources *out, struct jit_error *err)
{
	json_t *arr = json_loads(text ? text : "", 0, NULL);
	size_t i;
	json_t *v;

	memset(out, 0, sizeof(*out));
	if (!json_is_array(arr) || json_array_size(arr) == 0) {
		json_decref(arr);
		return jit_errorf(err, 500, JIT_E_INTERNAL, "stored source prefixes are corrupt");
	}
	out->list = list;
	out->prefixes = calloc(json_array_size(arr), sizeof(*out->prefixes));
	if (out->prefixes == NULL) {
		json_decref(arr);
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	}
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) ||
			jit_prefix_parse(json_string_value(v), &out->prefixes[i], err) != 0) {
			json_decref(arr);
			return jit_errorf(err, 500, JIT_E_INTERNAL,
				"stored source prefixes are corrupt");
		}
		out->n++;
	}
	json_decref(arr);
	return 0;
}

/* ---- open, close, transactions ---- */

static int chain_existing_audit(struct jit_store *st, struct jit_error *err);
static int64_t meta_int(struct jit_store *st, const char *key, char *text, size_t n);
static int set_meta(struct jit_store *st, const char *key, const char *value,
	struct jit_error *err);

/* Principals made before version 2 get their public GUID. */
static int
give_object_ids(struct jit_store *st, struct jit_error *err)
{
	struct db_stmt *s, *u;
	int rc;

	if (prep(st, "SELECT id FROM principals WHERE object_id IS NULL", &s, err) != 0)
		return -1;
	while ((rc = db_step(s)) == DB_ROW) {
		char guid[JIT_GUID_LEN + 1];

		jit_guid_new(guid);
		if (prep(st, "UPDATE principals SET object_id = ? WHERE id = ?", &u, err) != 0) {
			db_finalize(s);
			return -1;
		}
		bind_text(u, 1, guid);
		db_bind_int64(u, 2, db_column_int64(s, 0));
		if (exec_done(st, u, err, "giving principals an object id") != 0) {
			db_finalize(s);
			return -1;
		}
	}
	db_finalize(s);
	return rc == DB_DONE ? 0 : db_fail(st, err, "giving principals an object id");
}

static int
migrate(struct jit_store *st, struct jit_error *err)
{
	struct db_stmt *s;
	int version = 0;

	if (exec_sql(st, "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY,"
		" value TEXT NOT NULL)", err) != 0)
		return -1;
	if (prep(st, "SELECT value FROM meta WHERE key = 'schema_version'", &s, err) != 0)
		return -1;
	if (db_step(s) == DB_ROW)
		version = db_column_int(s, 0);
	db_finalize(s);
	if (version > SCHEMA_VERSION)
		return jit_errorf(err, 500, JIT_E_INTERNAL,
			"the database has schema version %d, newer than this jitgated (%d)",
			version, SCHEMA_VERSION);
	if (version == SCHEMA_VERSION)
		return 0;
	if (exec_sql(st, "BEGIN IMMEDIATE", err) != 0)
		return -1;
	/* Migrations run in order; version 1 creates everything (meta exists already). */
	if (version < 1) {
		for (size_t i = 1; schema_v1[i] != NULL; i++) {
			if (exec_sql(st, schema_v1[i], err) != 0) {
				exec_sql(st, "ROLLBACK", NULL);
				return -1;
			}
		}
	}
	if (version < 2) {
		for (size_t i = 0; schema_v2[i] != NULL; i++) {
			if (exec_sql(st, schema_v2[i], err) != 0) {
				exec_sql(st, "ROLLBACK", NULL);
				return -1;
			}
		}
		if (give_object_ids(st, err) != 0) {
			exec_sql(st, "ROLLBACK", NULL);
			return -1;
		}
	}
	if (version < 3) {
		for (size_t i = 0; schema_v3[i] != NULL; i++) {
			if (exec_sql(st, schema_v3[i], err) != 0) {
				exec_sql(st, "ROLLBACK", NULL);
				return -1;
			}
		}
		if (chain_existing_audit(st, err) != 0) {
			exec_sql(st, "ROLLBACK", NULL);
			return -1;
		}
	}
	if (version < 4) {
		for (size_t i = 0; schema_v4[i] != NULL; i++) {
			if (exec_sql(st, schema_v4[i], err) != 0) {
				exec_sql(st, "ROLLBACK", NULL);
				return -1;
			}
		}
	}
	if (version < 5) {
		for (size_t i = 0; schema_v5[i] != NULL; i++) {
			if (exec_sql(st, schema_v5[i], err) != 0) {
				exec_sql(st, "ROLLBACK", NULL);
				return -1;
			}
		}
	}
	if (version < 6) {
		for (size_t i = 0; schema_v6[i] != NULL; i++) {
			if (exec_sql(st, schema_v6[i], err) != 0) {
				exec_sql(st, "ROLLBACK", NULL);
				return -1;
			}
		}
	}
	if (prep(st, "INSERT INTO meta (key, value) VALUES ('schema_version', ?)"
		" ON CONFLICT (key) DO UPDATE SET value = excluded.value", &s,
		err) != 0) {
		exec_sql(st, "ROLLBACK", NULL);
		return -1;
	}
	db_bind_int(s, 1, SCHEMA_VERSION);
	if (exec_done(st, s, err, "recording the schema version") != 0) {
		exec_sql(st, "ROLLBACK", NULL);
		return -1;
	}
	return exec_sql(st, "COMMIT", err);
}

/* One condition for both counters: a waiter re-checks its own and sleeps on. */
static void
generation_bump(struct jit_store *st, bool desired, bool reported)
{
	pthread_mutex_lock(&st->gen_lock);
	st->generation += desired;
	st->report_generation += reported;
	pthread_cond_broadcast(&st->gen_cond);
	pthread_mutex_unlock(&st->gen_lock);
}

/* The listener heard another replica's commit (or reconnected, or its safety poll
 * fired): waiting long polls, and waits for an applied version, look again. */
static void
remote_change(void *ctx)
{
	generation_bump(ctx, true, true);
}

int
jit_store_open(const char *uri, struct jit_store **out, struct jit_error *err)
{
	struct jit_store *st;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	pthread_mutex_init(&st->tx_lock, NULL);
	jit_histogram_init(&st->tx_read_hist, jit_latency_bounds, jit_latency_nbounds);
	jit_histogram_init(&st->tx_write_hist, jit_latency_bounds, jit_latency_nbounds);
	pthread_mutex_init(&st->gen_lock, NULL);
	pthread_cond_init(&st->gen_cond, NULL);
	st->generation = 1;
	if (db_open(uri, &st->db, err) != 0) {
		jit_store_close(st);
		return -1;
	}
	if (db_kind(st->db) == DB_PG) {
		/* Other replicas' commits wake our long polls; a lost notification is made up
		 * by the resync on reconnect and the safety poll. */
		if (store_pg_migrate(st->db, err) != 0 ||
			db_listen(st->db, remote_change, st, JIT_STORE_SAFETY_POLL_MS, err) != 0) {
			jit_store_close(st);
			return -1;
		}
	} else if (migrate(st, err) != 0) {
		jit_store_close(st);
		return -1;
	}
	*out = st;
	return 0;
}

bool
jit_store_is_shared(const struct jit_store *st)
{
	return db_kind(st->db) == DB_PG;
}

void
jit_store_close(struct jit_store *st)
{
	if (st == NULL)
		return;
	db_close(st->db);
	free(st->tx.pending);
	pthread_mutex_destroy(&st->tx_lock);
	pthread_mutex_destroy(&st->gen_lock);
	pthread_cond_destroy(&st->gen_cond);
	free(st);
}

int
jit_store_begin(struct jit_store *st, bool write, struct jit_tx **out, struct jit_error *err)
{
	struct jit_tx *tx = &st->tx;

	*out = NULL;
	pthread_mutex_lock(&st->tx_lock);
	tx->st = st;
	tx->write = write;
	tx->bumped = false;
	tx->reported = false;
	tx->n_pending = 0;
	clock_gettime(CLOCK_MONOTONIC, &st->tx_start);
	if (db_begin(st->db, write) != DB_OK) {
		db_fail(st, err, "beginning a transaction");
		pthread_mutex_unlock(&st->tx_lock);
		return -1;
	}
	*out = tx;
	return 0;
}

/* Logs the committed entries (emit) or forgets them (rolled back). */
static void
pending_clear(struct jit_tx *tx, bool emit)
{
	for (size_t i = 0; i < tx->n_pending; i++) {
		struct pending_audit *p = &tx->pending[i];

		if (emit)
			jit_log(JIT_LOG_INFO, "audit", "seq", p->seq, "operation", p->operation,
				"resource", p->resource, "result", p->result, "status", p->status,
				"principal", p->principal, "caller", p->caller, "hash", p->hash,
				(const char *)NULL);
		free(p->operation);
		free(p->resource);
		free(p->result);
		free(p->principal);
		free(p->caller);
	}
	tx->n_pending = 0;
}

/* Called with tx_lock held, as the transaction ends. */
static void
tx_observe(struct jit_tx *tx)
{
	struct jit_store *st = tx->st;
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	jit_histogram_observe_ns(tx->write ? &st->tx_write_hist : &st->tx_read_hist,
		(int64_t)(t.tv_sec - st->tx_start.tv_sec) * 1000000000LL +
		(t.tv_nsec - st->tx_start.tv_nsec));
}

void
jit_store_tx_histograms(struct jit_store *st, const struct jit_histogram **read,
	const struct jit_histogram **write)
{
	*read = &st->tx_read_hist;
	*write = &st->tx_write_hist;
}

int
jit_store_commit(struct jit_tx *tx, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	bool bumped = tx->bumped, reported = tx->reported;

	if (db_commit(st->db, bumped || reported) != DB_OK) {
		db_fail(st, err, "committing");
		db_rollback(st->db);
		pending_clear(tx, false);
		tx_observe(tx);
		pthread_mutex_unlock(&st->tx_lock);
		return -1;
	}
	pending_clear(tx, true);
	tx_observe(tx);
	pthread_mutex_unlock(&st->tx_lock);
	if (bumped || reported)
		generation_bump(st, bumped, reported);
	return 0;
}

void
jit_store_rollback(struct jit_tx *tx)
{
	struct jit_store *st;

	if (tx == NULL)
		return;
	st = tx->st;
	db_rollback(st->db);
	pending_clear(tx, false);
	tx_observe(tx);
	pthread_mutex_unlock(&st->tx_lock);
}

int
jit_store_job_claim(struct jit_tx *tx, const char *job, jit_time now, jit_time every_ns,
	bool *run, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char key[64], last[24], when[24];
	bool got;
	int64_t prev;

	*run = false;
	if (db_try_job_lock(st->db, job, &got) != DB_OK)
		return db_fail(st, err, "locking a job");
	if (!got)
		return 0;
	snprintf(key, sizeof(key), "job:%s", job);
	prev = meta_int(st, key, last, sizeof(last));
	if (last[0] != '\0' && prev > 0 && now - prev < every_ns && now >= prev)
		return 0;
	snprintf(when, sizeof(when), "%lld", (long long)now);
	if (set_meta(st, key, when, err) != 0)
		return -1;
	*run = true;
	return 0;
}

uint64_t
jit_store_generation(struct jit_store *st)
{
	uint64_t g;

	pthread_mutex_lock(&st->gen_lock);
	g = st->generation;
	pthread_mutex_unlock(&st->gen_lock);
	return g;
}

/* Waits until *counter differs from seen (or timeout_ms, or shutdown). */
static uint64_t
wait_counter(struct jit_store *st, const uint64_t *counter, uint64_t seen, int timeout_ms)
{
	struct timespec deadline;
	uint64_t g;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&st->gen_lock);
	while (*counter == seen && !st->waking) {
		if (pthread_cond_timedwait(&st->gen_cond, &st->gen_lock, &deadline) == ETIMEDOUT)
			break;
	}
	g = *counter;
	pthread_mutex_unlock(&st->gen_lock);
	return g;
}

uint64_t
jit_store_wait_change(struct jit_store *st, uint64_t seen, int timeout_ms)
{
	return wait_counter(st, &st->generation, seen, timeout_ms);
}

uint64_t
jit_store_report_generation(struct jit_store *st)
{
	uint64_t g;

	pthread_mutex_lock(&st->gen_lock);
	g = st->report_generation;
	pthread_mutex_unlock(&st->gen_lock);
	return g;
}

uint64_t
jit_store_wait_report(struct jit_store *st, uint64_t seen, int timeout_ms)
{
	return wait_counter(st, &st->report_generation, seen, timeout_ms);
}

void
jit_store_wait_any(struct jit_store *st, uint64_t *gen, uint64_t *report, int timeout_ms)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&st->gen_lock);
	while (st->generation == *gen && st->report_generation == *report && !st->waking &&
		timeout_ms > 0) {
		if (pthread_cond_timedwait(&st->gen_cond, &st->gen_lock, &deadline) == ETIMEDOUT)
			break;
	}
	*gen = st->generation;
	*report = st->report_generation;
	pthread_mutex_unlock(&st->gen_lock);
}

void
jit_store_wake_all(struct jit_store *st)
{
	pthread_mutex_lock(&st->gen_lock);
	st->waking = true;
	pthread_cond_broadcast(&st->gen_cond);
	pthread_mutex_unlock(&st->gen_lock);
}

/* ---- subscriptions ---- */

int
jit_store_sub_put(struct jit_tx *tx, const struct jit_subscription *sub, bool *created,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char key[JIT_NAME_MAX + 1];
	struct db_stmt *s;
	int64_t n;

	name_key(sub->name, key);
	if (count_rows(st, "SELECT COUNT(*) FROM subscriptions WHERE key = ?", key, &n, err) != 0)
		return -1;
	*created = n == 0;
	if (prep(st, "INSERT INTO subscriptions (key, name, display_name, created_ns)"
		" VALUES (?1, ?2, ?3, ?4) ON CONFLICT(key) DO UPDATE SET display_name = ?3", &s,
		err) != 0)
		return -1;
	bind_text(s, 1, key);
	bind_text(s, 2, sub->name);
	bind_text(s, 3, sub->display_name);
	db_bind_int64(s, 4, sub->created);
	return exec_done(st, s, err, "saving a subscription");
}

static int
sub_from_row(struct db_stmt *s, void *elem, struct jit_error *err)
{
	struct jit_subscription *out = elem;

	memset(out, 0, sizeof(*out));
	copy_col(s, 0, out->name, sizeof(out->name));
	copy_col(s, 1, out->display_name, sizeof(out->display_name));
	out->created = db_column_int64(s, 2);
	return 0;
}

int
jit_store_sub_get(struct jit_tx *tx, const char *name, struct jit_subscription *out,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char key[JIT_NAME_MAX + 1];
	struct db_stmt *s;
	int rc;

	name_key(name, key);
	if (prep(st, "SELECT name, display_name, created_ns FROM subscriptions WHERE key = ?",
		&s, err) != 0)
		return -1;
	bind_text(s, 1, key);
	rc = db_step(s);
	if (rc == DB_ROW)
		sub_from_row(s, out, NULL);
	db_finalize(s);
	if (rc == DB_ROW)
		return 0;
	if (rc != DB_DONE)
		return db_fail(st, err, "reading a subscription");
	return jit_errorf(err, 404, "SubscriptionNotFound", "The subscription '%s' could not be found.",
		name);
}

/* Grows a malloc'd array by one element; returns the new element or NULL. */
static void *
grow(void **arr, size_t *n, size_t *cap, size_t elem)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		void *p = realloc(*arr, ncap * elem);

		if (p == NULL)
			return NULL;
		*arr = p;
		*cap = ncap;
	}
	memset((char *)*arr + *n * elem, 0, elem);
	return (char *)*arr + (*n)++ * elem;
}

/* Fills one element of a list from the current row. */
typedef int (*row_fn)(struct db_stmt *s, void *elem, struct jit_error *err);

/* Steps a prepared query to its end, one element of elem bytes per row, and finalizes it.
 * On failure *out is freed and empty: a caller never sees half a list. */
static int
collect_rows(struct jit_store *st, struct db_stmt *s, void **out, size_t *n, size_t elem,
	row_fn row, const char *what, struct jit_error *err)
{
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	while ((rc = db_step(s)) == DB_ROW) {
		void *e = grow(out, n, &cap, elem);

		if (e == NULL || row(s, e, err) != 0) {
			if (e == NULL)
				jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
			rc = -1;
			break;
		}
	}
	db_finalize(s);
	if (rc == DB_DONE)
		return 0;
	free(*out);
	*out = NULL;
	*n = 0;
	return rc == -1 ? -1 : db_fail(st, err, what);
}

int
jit_store_sub_list(struct jit_tx *tx, struct jit_subscription **out, size_t *n,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;

	*out = NULL;
	*n = 0;
	if (prep(st, "SELECT name, display_name, created_ns FROM subscriptions ORDER BY key", &s,
		err) != 0)
		return -1;
	return collect_rows(st, s, (void **)out, n, sizeof(**out), sub_from_row,
		"listing subscriptions", err);
}

/* ---- resource groups ---- */

int
jit_store_rg_put(struct jit_tx *tx, const struct jit_resource_group *rg, bool *created,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char key[JIT_RESOURCE_ID_MAX], id[JIT_RESOURCE_ID_MAX], sub[JIT_NAME_MAX + 1];
	struct jit_subscription sb;
	struct db_stmt *s;
	int64_t n;

	if (jit_store_sub_get(tx, rg->id.sub, &sb, err) != 0)
		return -1;
	rid_key(&rg->id, key);
	jit_rid_format(&rg->id, id, sizeof(id));
	name_key(rg->id.sub, sub);
	if (count_rows(st, "SELECT COUNT(*) FROM resource_groups WHERE key = ?", key, &n, err) != 0)
		return -1;
	*created = n == 0;
	if (!*created) {
		/* A group's location is fixed at creation (the service refuses a move). */
		return 0;
	}
	if (prep(st, "INSERT INTO resource_groups (key, sub_key, id, location, created_ns)"
		" VALUES (?, ?, ?, ?, ?)", &s, err) != 0)
		return -1;
	bind_text(s, 1, key);
	bind_text(s, 2, sub);
	bind_text(s, 3, id);
	bind_text(s, 4, rg->location);
	db_bind_int64(s, 5, rg->created);
	return exec_done(st, s, err, "saving a resource group");
}

static int
rg_from_row(struct db_stmt *s, void *elem, struct jit_error *err)
{
	struct jit_resource_group *out = elem;

	memset(out, 0, sizeof(*out));
	if (parse_rid_col(s, 0, &out->id, err) != 0)
		return -1;
	copy_col(s, 1, out->location, sizeof(out->location));
	out->created = db_column_int64(s, 2);
	return 0;
}

int
jit_store_rg_get(struct jit_tx *tx, const struct jit_rid *id,
	struct jit_resource_group *out, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char key[JIT_RESOURCE_ID_MAX];
	struct db_stmt *s;
	int rc, r = 0;

	rid_key(id, key);
	if (prep(st, "SELECT id, location, created_ns FROM resource_groups WHERE key = ?", &s,
		err) != 0)
		return -1;
	bind_text(s, 1, key);
	rc = db_step(s);
	if (rc == DB_ROW)
		r = rg_from_row(s, out, err);
	db_finalize(s);
	if (rc == DB_ROW)
		return r;
	if (rc != DB_DONE)
		return db_fail(st, err, "reading a resource group");
	return jit_errorf(err, 404, "ResourceGroupNotFound",
		"Resource group '%s' could not be found.", id->rg);
}

int
jit_store_rg_delete(struct jit_tx *tx, const struct jit_rid *id, bool *existed,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char key[JIT_RESOURCE_ID_MAX];
	struct db_stmt *s;
	int64_t vms, pols, eps, n;

	rid_key(id, key);
	if (count_rows(st, "SELECT COUNT(*) FROM resource_groups WHERE key = ?", key, &n, err) != 0)
		return -1;
	*existed = n > 0;
	if (!*existed)
		return 0;
	if (count_rows(st, "SELECT COUNT(*) FROM vms WHERE rg_key = ?", key, &vms, err) != 0 ||
		count_rows(st, "SELECT COUNT(*) FROM policies WHERE rg_key = ?", key, &pols,
			err) != 0 ||
		count_rows(st, "SELECT COUNT(*) FROM enforcement_points WHERE rg_key = ?", key, &eps,
			err) != 0)
		return -1;
	if (vms + pols + eps > 0)
		return jit_errorf(err, 409, JIT_E_CONFLICT,
			"Resource group '%s' still holds %" PRId64 " virtual machine(s), %" PRId64
			" JIT policy(ies) and %" PRId64 " enforcement point(s); delete them first.",
			id->rg, vms, pols, eps);
	if (prep(st, "DELETE FROM resource_groups WHERE key = ?", &s, err) != 0)
		return -1;
	bind_text(s, 1, key);
	return exec_done(st, s, err, "deleting a resource group");
}

int
jit_store_rg_list(struct jit_tx *tx, const char *sub, struct jit_resource_group **out,
	size_t *n, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char key[JIT_NAME_MAX + 1];
	struct db_stmt *s;

	*out = NULL;
	*n = 0;
	name_key(sub, key);
	if (prep(st, "SELECT id, location, created_ns FROM resource_groups WHERE sub_key = ?"
		" ORDER BY key", &s, err) != 0)
		return -1;
	bind_text(s, 1, key);
	return collect_rows(st, s, (void **)out, n, sizeof(**out), rg_from_row,
		"listing resource groups", err);
}

/* ---- virtual machines ---- */

static int
vm_from_row(struct db_stmt *s, void *elem, struct jit_error *err)
{
	struct jit_vm *out = elem;
	const unsigned char *addrs;
	json_t *arr;
	size_t i;
	json_t *v;

	memset(out, 0, sizeof(*out));
	if (parse_rid_col(s, 0, &out->id, err) != 0)
		return -1;
	copy_col(s, 1, out->location, sizeof(out->location));
	if (jit_os_parse((const char *)db_column_text(s, 2), &out->os, err) != 0)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "stored OS type is corrupt");
	addrs = db_column_text(s, 3);
	arr = json_loads(addrs ? (const char *)addrs : "[]", 0, NULL);
	if (!json_is_array(arr) || json_array_size(arr) > JIT_MAX_VM_ADDRESSES) {
		json_decref(arr);
		return jit_errorf(err, 500, JIT_E_INTERNAL, "stored addresses are corrupt");
	}
	json_array_foreach(arr, i, v) {
		if (jit_prefix_parse(json_string_value(v) ? json_string_value(v) : "",
			&out->addresses[i], err) != 0) {
			json_decref(arr);
			return jit_errorf(err, 500, JIT_E_INTERNAL, "stored addresses are corrupt");
		}
	}
	out->n_addresses = json_array_size(arr);
	json_decref(arr);
	copy_col(s, 4, out->enforcement_point, sizeof(out->enforcement_point));
	return 0;
}

#define VM_COLUMNS "v.id, v.location, v.os, v.addresses, COALESCE(e.id, '')"
#define VM_FROM "FROM vms v LEFT JOIN enforcement_points e ON e.key = v.ep_key"

int
jit_store_vm_get(struct jit_tx *tx, const struct jit_rid *id, struct jit_vm *out,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char key[JIT_RESOURCE_ID_MAX];
	struct db_stmt *s;
	int rc, r = 0;

	rid_key(id, key);
	if (prep(st, "SELECT " VM_COLUMNS " " VM_FROM " WHERE v.key = ?", &s, err) != 0)
		return -1;
	bind_text(s, 1, key);
	rc = db_step(s);
	if (rc == DB_ROW)
		r = vm_from_row(s, out, err);
	db_finalize(s);
	if (rc == DB_ROW)
		return r;
	if (rc != DB_DONE)
		return db_fail(st, err, "reading a virtual machine");
	return jit_errorf(err, 404, JIT_E_RESOURCE_NOT_FOUND,
		"The virtual machine '%s' under resource group '%s' was not found.", id->name, id->rg);
}

/* A gateway keys its locks and grants by destination address, so an address may belong
 * to one VM of an enforcement point only: a second VM with the same address would let
 * whoever may initiate on it open the first VM's ports (security finding 1). */
static int
check_addresses_unique(struct jit_store *st, const struct jit_vm *vm, const char *key,
	const char *epk, const char *ep_name, struct jit_error *err)
{
	struct db_stmt *s;
	int rc;

	if (vm->n_addresses == 0)
		return 0;
	if (prep(st, "SELECT id, addresses FROM vms WHERE ep_key = ? AND key != ? ORDER BY key",
		&s, err) != 0)
		return -1;
	bind_text(s, 1, epk);
	bind_text(s, 2, key);
	while ((rc = db_step(s)) == DB_ROW) {
		const unsigned char *text = db_column_text(s, 1);
		json_t *arr = json_loads(text ? (const char *)text : "[]", 0, NULL);
		struct jit_error ignored;
		struct jit_prefix other;
		size_t i;
		json_t *v;

		json_array_foreach(arr, i, v) {
			if (!json_is_string(v) ||
				jit_prefix_parse(json_string_value(v), &other, &ignored) != 0)
				continue;
			for (size_t k = 0; k < vm->n_addresses; k++) {
				char addr[JIT_PREFIX_BUFSZ];
				struct jit_rid oid;

				if (!jit_prefix_equal(&vm->addresses[k], &other))
					continue;
				jit_prefix_format(&other, addr);
				if (parse_rid_col(s, 0, &oid, &ignored) != 0)
					snprintf(oid.name, sizeof(oid.name), "?");
				json_decref(arr);
				db_finalize(s);
				return jit_errorf(err, 409, JIT_E_CONFLICT,
					"properties.addresses[%zu]: the address '%s' already belongs to the "
					"virtual machine '%s' behind the enforcement point '%s'; an address "
					"belongs to at most one VM of an enforcement point", k, addr, oid.name,
					ep_name);
			}
		}
		json_decref(arr);
	}
	db_finalize(s);
	if (rc != DB_DONE)
		return db_fail(st, err, "reading the addresses behind an enforcement point");
	return 0;
}

int
jit_store_vm_addresses_unique(struct jit_tx *tx, const struct jit_rid *id, struct jit_error *err)
{
	char key[JIT_RESOURCE_ID_MAX], epk[JIT_RESOURCE_ID_MAX];
	struct jit_rid epid;
	struct jit_vm vm;

	if (jit_store_vm_get(tx, id, &vm, err) != 0)
		return -1;
	if (vm.enforcement_point[0] == '\0' || jit_rid_parse(vm.enforcement_point, &epid, err) != 0)
		return vm.enforcement_point[0] == '\0' ? 0 : -1;
	rid_key(&vm.id, key);
	rid_key(&epid, epk);
	return check_addresses_unique(tx->st, &vm, key, epk, epid.name, err);
}

int
jit_store_vm_put(struct jit_tx *tx, const struct jit_vm *vm, bool *created,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char key[JIT_RESOURCE_ID_MAX], rgk[JIT_RESOURCE_ID_MAX], id[JIT_RESOURCE_ID_MAX];
	char epk[JIT_RESOURCE_ID_MAX] = "", old_epk[JIT_RESOURCE_ID_MAX] = "";
	struct jit_resource_group rg;
	struct jit_rid rgid;
	struct db_stmt *s;
	char *addrs;
	int64_t n;
	int rc;

	jit_rid_resource_group(&rgid, vm->id.sub, vm->id.rg);
	if (jit_store_rg_get(tx, &rgid, &rg, err) != 0)
		return -1;
	rid_key(&vm->id, key);
	if (vm->enforcement_point[0] != '\0') {
		struct jit_enforcement_point ep;
		struct jit_rid epid;
		struct jit_error ignored;
		bool exists;

		/* That the point is in the VM's own resource group is the service's rule
		 * (svc_inventory.c); here it must exist. */
		if (jit_rid_parse(vm->enforcement_point, &epid, err) != 0)
			return -1;
		exists = jit_store_ep_get(tx, &epid, &ep, &ignored) == 0;
		if (!exists)
			return jit_errorf(err, 404, JIT_E_RESOURCE_NOT_FOUND,
				"properties.enforcementPoint: the enforcement point '%s' was not found",
				epid.name);
		jit_enforcement_point_clear(&ep);
		rid_key(&epid, epk);
		/* A host point protects exactly one VM: its own. */
		if (ep.kind == JIT_EP_HOST) {
			struct db_stmt *q;

			if (prep(st, "SELECT COUNT(*) FROM vms WHERE ep_key = ? AND key != ?", &q,
				err) != 0)
				return -1;
			bind_text(q, 1, epk);
			bind_text(q, 2, key);
			n = db_step(q) == DB_ROW ? db_column_int64(q, 0) : 0;
			db_finalize(q);
			if (n > 0)
				return jit_errorf(err, 409, JIT_E_CONFLICT,
					"properties.enforcementPoint: '%s' is a host enforcement point and "
					"already protects its own VM; a host point protects one VM only",
					epid.name);
		}
		if (check_addresses_unique(st, vm, key, epk, epid.name, err) != 0)
			return -1;
	}
	rg_key_of(&vm->id, rgk);
	jit_rid_format(&vm->id, id, sizeof(id));

	if (prep(st, "SELECT COALESCE(ep_key, '') FROM vms WHERE key = ?", &s, err) != 0)
		return -1;
	bind_text(s, 1, key);
	rc = db_step(s);
	*created = rc != DB_ROW;
	if (rc == DB_ROW)
		copy_col(s, 0, old_epk, sizeof(old_epk));
	db_finalize(s);

	if ((addrs = prefixes_to_json(vm->addresses, vm->n_addresses)) == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	if (prep(st, "INSERT INTO vms (key, rg_key, id, location, os, addresses, ep_key, created_ns)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULLIF(?7, ''), ?8) ON CONFLICT(key) DO UPDATE SET"
		" os = ?5, addresses = ?6, ep_key = NULLIF(?7, '')", &s, err) != 0) {
		free(addrs);
		return -1;
	}
	bind_text(s, 1, key);
	bind_text(s, 2, rgk);
	bind_text(s, 3, id);
	bind_text(s, 4, vm->location[0] ? vm->location : rg.location);
	bind_text(s, 5, jit_os_name(vm->os));
	bind_text(s, 6, addrs);
	bind_text(s, 7, epk);
	db_bind_int64(s, 8, jit_time_now());
	free(addrs);
	if (exec_done(st, s, err, "saving a virtual machine") != 0)
		return -1;
	/* Both the old and the new enforcement point may have to change what they enforce. */
	if (bump_ep(st, old_epk, err) != 0 || bump_ep(st, epk, err) != 0)
		return -1;
	return 0;
}

int
jit_store_vm_delete(struct jit_tx *tx, const struct jit_rid *id, bool *existed,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char key[JIT_RESOURCE_ID_MAX];
	struct jit_rid policy;
	struct db_stmt *s;
	bool in_policy;
	int64_t n;

	rid_key(id, key);
	if (count_rows(st, "SELECT COUNT(*) FROM vms WHERE key = ?", key, &n, err) != 0)
		return -1;
	*existed = n > 0;
	if (!*existed)
		return 0;
	if (jit_store_vm_policy(tx, id, &policy, &in_policy, err) != 0)
		return -1;
	if (in_policy) {
		char pid[JIT_RESOURCE_ID_MAX];

		jit_rid_format(&policy, pid, sizeof(pid));
		return jit_errorf(err, 409, JIT_E_CONFLICT,
			"The virtual machine '%s' is in the JIT policy '%s'; remove it from the "
			"policy (or delete the policy) first.", id->name, pid);
	}
	if (prep(st, "DELETE FROM vms WHERE key = ?", &s, err) != 0)
		return -1;
	bind_text(s, 1, key);
	return exec_done(st, s, err, "deleting a virtual machine");
}

int
jit_store_vm_list(struct jit_tx *tx, const struct jit_rid *scope, struct jit_vm **out,
	size_t *n, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char key[JIT_RESOURCE_ID_MAX];
	struct db_stmt *s;

	*out = NULL;
	*n = 0;
	/* Keys are lowercased IDs, so a scope is a key prefix ending in '/'. */
	if (scope->kind == JIT_RID_ROOT) {
		key[0] = '\0';
	} else {
		rid_key(scope, key);
		strncat(key, "/", sizeof(key) - strlen(key) - 1);
	}
	if (prep(st, "SELECT " VM_COLUMNS " " VM_FROM " WHERE substr(v.key, 1, length(?1)) = ?1"
		" ORDER BY v.key", &s, err) != 0)
		return -1;
	bind_text(s, 1, key);
	return collect_rows(st, s, (void **)out, n, sizeof(**out), vm_from_row,
		"listing virtual machines", err);
}

int
jit_store_vm_policy(struct jit_tx *tx, const struct jit_rid *vm, struct jit_rid *policy,
	bool *found, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char key[JIT_RESOURCE_ID_MAX];
	struct db_stmt *s;
	int rc, r = 0;

	rid_key(vm, key);
	*found = false;
	if (prep(st, "SELECT p.id FROM policy_vms pv JOIN policies p ON p.key = pv.policy_key"
		" WHERE pv.vm_key = ?", &s, err) != 0)
		return -1;
	bind_text(s, 1, key);
	rc = db_step(s);
	if (rc == DB_ROW) {
		*found = true;
		r = parse_rid_col(s, 0, policy, err);
	}
	db_finalize(s);
	if (rc != DB_ROW && rc != DB_DONE)
		return db_fail(st, err, "reading a VM's policy");
	return r;
}

/* ---- JIT policies ---- */

static int
insert_policy_vm(struct jit_store *st, const char *policy_key, size_t pos,
	const struct jit_policy_vm *pv, struct jit_error *err)
{
	char vm_key[JIT_RESOURCE_ID_MAX], vm_id[JIT_RESOURCE_ID_MAX];
	struct db_stmt *s;

	rid_key(&pv->id, vm_key);
	jit_rid_format(&pv->id, vm_id, sizeof(vm_id));
	if (prep(st, "INSERT INTO policy_vms (vm_key, policy_key, pos, vm_id, public_ip)"
		" VALUES (?, ?, ?, ?, ?)", &s, err) != 0)
		return -1;
	bind_text(s, 1, vm_key);
	bind_text(s, 2, policy_key);
	db_bind_int64(s, 3, (int64_t)pos);
	bind_text(s, 4, vm_id);
	bind_text(s, 5, pv->public_ip);
	if (exec_done(st, s, err, "saving a policy VM") != 0)
		return -1;
	for (size_t i = 0; i < pv->n_ports; i++) {
		const struct jit_port_rule *r = &pv->ports[i];
		char *sources = sources_to_json(&r->sources);

		if (sources == NULL)
			return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
		if (prep(st, "INSERT INTO policy_ports (vm_key, pos, number, protocol, sources,"
			" sources_list, max_ns, close_established) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			&s, err) != 0) {
			free(sources);
			return -1;
		}
		bind_text(s, 1, vm_key);
		db_bind_int64(s, 2, (int64_t)i);
		db_bind_int(s, 3, r->number);
		bind_text(s, 4, jit_proto_name(r->protocol));
		bind_text(s, 5, sources);
		db_bind_int(s, 6, r->sources.list);
		db_bind_int64(s, 7, r->max_duration_ns);
		db_bind_int(s, 8, r->close_established);
		free(sources);
		if (exec_done(st, s, err, "saving a policy port") != 0)
			return -1;
	}
	return bump_vm_ep(st, vm_key, err);
}

/* Every VM of p must exist (404) and be in no other policy (409); that they sit in the
 * policy's resource group is the service's rule (svc_jit.c). */
static int
check_policy_vms(struct jit_store *st, const struct jit_policy *p, const char *policy_key,
	struct jit_error *err)
{
	for (size_t i = 0; i < p->n_vms; i++) {
		const struct jit_rid *vm = &p->vms[i].id;
		char vm_key[JIT_RESOURCE_ID_MAX], other[JIT_RESOURCE_ID_MAX];
		struct db_stmt *s;
		int64_t n;
		int rc;

		rid_key(vm, vm_key);
		if (count_rows(st, "SELECT COUNT(*) FROM vms WHERE key = ?", vm_key, &n, err) != 0)
			return -1;
		if (n == 0)
			return jit_errorf(err, 404, JIT_E_RESOURCE_NOT_FOUND,
				"properties.virtualMachines[%zu].id: the virtual machine '%s' was not "
				"found", i, vm->name);
		if (prep(st, "SELECT pv.policy_key, p.id FROM policy_vms pv JOIN policies p"
			" ON p.key = pv.policy_key WHERE pv.vm_key = ?", &s, err) != 0)
			return -1;
		bind_text(s, 1, vm_key);
		rc = db_step(s);
		other[0] = '\0';
		if (rc == DB_ROW && strcmp((const char *)db_column_text(s, 0),
			policy_key) != 0)
			copy_col(s, 1, other, sizeof(other));
		db_finalize(s);
		if (other[0] != '\0')
			return jit_errorf(err, 409, JIT_E_CONFLICT,
				"properties.virtualMachines[%zu].id: the virtual machine '%s' is already "
				"in the JIT policy '%s'", i, vm->name, other);
	}
	return 0;
}

int
jit_store_policy_put(struct jit_tx *tx, const struct jit_policy *p, jit_time now,
	bool *created, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char key[JIT_RESOURCE_ID_MAX], rgk[JIT_RESOURCE_ID_MAX], id[JIT_RESOURCE_ID_MAX];
	struct jit_resource_group rg;
	struct jit_rid rgid;
	struct db_stmt *s;
	int64_t n;

	jit_rid_resource_group(&rgid, p->id.sub, p->id.rg);
	if (jit_store_rg_get(tx, &rgid, &rg, err) != 0)
		return -1;
	rid_key(&p->id, key);
	rg_key_of(&p->id, rgk);
	jit_rid_format(&p->id, id, sizeof(id));
	if (check_policy_vms(st, p, key, err) != 0)
		return -1;
	if (count_rows(st, "SELECT COUNT(*) FROM policies WHERE key = ?", key, &n, err) != 0)
		return -1;
	*created = n == 0;
	if (prep(st, "INSERT INTO policies (key, rg_key, id, location, kind, created_ns, updated_ns)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) ON CONFLICT(key) DO UPDATE SET kind = ?5,"
		" updated_ns = ?6", &s, err) != 0)
		return -1;
	bind_text(s, 1, key);
	bind_text(s, 2, rgk);
	bind_text(s, 3, id);
	bind_text(s, 4, p->id.location);
	bind_text(s, 5, p->kind ? p->kind : "Basic");
	db_bind_int64(s, 6, now);
	if (exec_done(st, s, err, "saving a policy") != 0)
		return -1;
	/* Editing replaces the VMs' rules: unlock what was there, then lock what is new. */
	if (bump_policy_eps(st, key, err) != 0)
		return -1;
	if (prep(st, "DELETE FROM policy_vms WHERE policy_key = ?", &s, err) != 0)
		return -1;
	bind_text(s, 1, key);
	if (exec_done(st, s, err, "replacing a policy's VMs") != 0)
		return -1;
	for (size_t i = 0; i < p->n_vms; i++)
		if (insert_policy_vm(st, key, i, &p->vms[i], err) != 0)
			return -1;
	return 0;
}

static int
load_policy_vms(struct jit_store *st, const char *key, struct jit_policy *p,
	struct jit_error *err)
{
	struct db_stmt *s, *ps;
	size_t cap = 0;
	int rc;

	if (prep(st, "SELECT vm_key, vm_id, public_ip FROM policy_vms WHERE policy_key = ?"
		" ORDER BY pos", &s, err) != 0)
		return -1;
	bind_text(s, 1, key);
	while ((rc = db_step(s)) == DB_ROW) {
		struct jit_policy_vm *pv = grow((void **)&p->vms, &p->n_vms, &cap, sizeof(*pv));
		size_t pcap = 0;
		int prc;

		if (pv == NULL) {
			db_finalize(s);
			return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
		}
		if (parse_rid_col(s, 1, &pv->id, err) != 0) {
			db_finalize(s);
			return -1;
		}
		pv->public_ip = dup_col(s, 2);
		if (prep(st, "SELECT number, protocol, sources, sources_list, max_ns,"
			" close_established FROM policy_ports WHERE vm_key = ? ORDER BY pos", &ps,
			err) != 0) {
			db_finalize(s);
			return -1;
		}
		bind_text(ps, 1, (const char *)db_column_text(s, 0));
		while ((prc = db_step(ps)) == DB_ROW) {
			struct jit_port_rule *r = grow((void **)&pv->ports, &pv->n_ports, &pcap,
				sizeof(*r));

			if (r == NULL ||
				jit_proto_parse((const char *)db_column_text(ps, 1), &r->protocol,
					err) != 0 ||
				sources_from_json((const char *)db_column_text(ps, 2),
					db_column_int(ps, 3) != 0, &r->sources, err) != 0) {
				db_finalize(ps);
				db_finalize(s);
				return jit_errorf(err, 500, JIT_E_INTERNAL, "stored port rule is corrupt");
			}
			r->number = (uint16_t)db_column_int(ps, 0);
			r->max_duration_ns = db_column_int64(ps, 4);
			r->close_established = db_column_int(ps, 5) != 0;
		}
		db_finalize(ps);
		if (prc != DB_DONE) {
			db_finalize(s);
			return db_fail(st, err, "reading policy ports");
		}
	}
	db_finalize(s);
	if (rc != DB_DONE)
		return db_fail(st, err, "reading policy VMs");
	return 0;
}

static int
status_parse(const char *s, enum jit_port_status *out)
{
	if (s != NULL && strcmp(s, "Initiated") == 0)
		*out = JIT_STATUS_INITIATED;
	else if (s != NULL && strcmp(s, "Revoked") == 0)
		*out = JIT_STATUS_REVOKED;
	else if (s != NULL && strcmp(s, "Initiating") == 0)
		*out = JIT_STATUS_INITIATING;
	else
		return -1;
	return 0;
}

static int
reason_parse(const char *s, enum jit_status_reason *out)
{
	if (s != NULL && strcmp(s, "UserRequested") == 0)
		*out = JIT_REASON_USER_REQUESTED;
	else if (s != NULL && strcmp(s, "Expired") == 0)
		*out = JIT_REASON_EXPIRED;
	else if (s != NULL && strcmp(s, "NewerRequestInitiated") == 0)
		*out = JIT_REASON_NEWER_REQUEST;
	else
		return -1;
	return 0;
}

/* Fills one request port from a row of load_requests' query (columns 4..11). */
static int
request_port_from_row(struct db_stmt *s, jit_time now, struct jit_request *r, size_t *vcap,
	size_t *pcap, struct jit_error *err)
{
	struct jit_request_vm *vm = r->n_vms ? &r->vms[r->n_vms - 1] : NULL;
	struct jit_request_port *port;
	struct jit_rid vid;

	if (parse_rid_col(s, 4, &vid, err) != 0)
		return -1;
	if (vm == NULL || !jit_rid_equal(&vm->id, &vid)) {
		if ((vm = grow((void **)&r->vms, &r->n_vms, vcap, sizeof(*vm))) == NULL)
			return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
		vm->id = vid;
		*pcap = 0;
	}
	if ((port = grow((void **)&vm->ports, &vm->n_ports, pcap, sizeof(*port))) == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	port->number = (uint16_t)db_column_int(s, 5);
	if (sources_from_json((const char *)db_column_text(s, 6),
		db_column_int(s, 7) != 0, &port->sources, err) != 0)
		return -1;
	port->end_time = db_column_int64(s, 8);
	if (status_parse((const char *)db_column_text(s, 9), &port->status) != 0 ||
		reason_parse((const char *)db_column_text(s, 10), &port->reason) != 0)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "stored request status is corrupt");
	/* The kernel closed it at end time whether or not the sweeper has run yet. */
	if (port->status == JIT_STATUS_INITIATED && port->end_time <= now) {
		port->status = JIT_STATUS_REVOKED;
		port->reason = JIT_REASON_EXPIRED;
	}
	if (db_column_type(s, 11) != DB_NULL) {
		port->has_mapped_port = true;
		port->mapped_port = (uint16_t)db_column_int(s, 11);
	}
	return 0;
}

/* The newest requests of a policy with all their ports, in one query. */
static int
load_requests(struct jit_store *st, const char *key, jit_time now, struct jit_policy *p,
	struct jit_error *err)
{
	struct db_stmt *s;
	size_t cap = 0, vcap = 0, pcap = 0;
	int64_t current = -1;
	int rc;

	if (prep(st, "SELECT r.id, r.requestor, r.start_ns, r.justification, rp.vm_id, rp.number,"
		" rp.sources, rp.sources_list, rp.end_ns, rp.status, rp.reason, rp.mapped_port"
		" FROM (SELECT * FROM requests WHERE policy_key = ? ORDER BY id DESC LIMIT ?) r"
		" JOIN request_ports rp ON rp.request_id = r.id"
		" ORDER BY r.id DESC, rp.vm_pos, rp.id", &s, err) != 0)
		return -1;
	bind_text(s, 1, key);
	db_bind_int(s, 2, REQUESTS_SHOWN);
	while ((rc = db_step(s)) == DB_ROW) {
		struct jit_request *r;

		if (db_column_int64(s, 0) != current) {
			r = grow((void **)&p->requests, &p->n_requests, &cap, sizeof(*r));
			if (r == NULL) {
				db_finalize(s);
				return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
			}
			current = db_column_int64(s, 0);
			r->requestor = dup_col(s, 1);
			r->start_time = db_column_int64(s, 2);
			r->justification = dup_col(s, 3);
			vcap = 0;
		}
		r = &p->requests[p->n_requests - 1];
		if (request_port_from_row(s, now, r, &vcap, &pcap, err) != 0) {
			db_finalize(s);
			return -1;
		}
	}
	db_finalize(s);
	if (rc != DB_DONE)
		return db_fail(st, err, "reading requests");
	return 0;
}

int
jit_store_policy_get(struct jit_tx *tx, const struct jit_rid *id, jit_time now,
	struct jit_policy **out, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char key[JIT_RESOURCE_ID_MAX];
	struct jit_policy *p;
	struct db_stmt *s;
	int rc;

	*out = NULL;
	rid_key(id, key);
	if (prep(st, "SELECT id, location, kind FROM policies WHERE key = ?", &s, err) != 0)
		return -1;
	bind_text(s, 1, key);
	rc = db_step(s);
	if (rc != DB_ROW) {
		db_finalize(s);
		if (rc != DB_DONE)
			return db_fail(st, err, "reading a policy");
		return jit_errorf(err, 404, JIT_E_RESOURCE_NOT_FOUND,
			"The JIT network access policy '%s' under resource group '%s' at location "
			"'%s' was not found.", id->name, id->rg, id->location);
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		db_finalize(s);
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	}
	if (parse_rid_col(s, 0, &p->id, err) != 0) {
		db_finalize(s);
		jit_policy_free(p);
		return -1;
	}
	p->location = dup_col(s, 1);
	p->kind = dup_col(s, 2);
	db_finalize(s);
	p->provisioning_state = strdup("Succeeded");
	if (p->provisioning_state == NULL || load_policy_vms(st, key, p, err) != 0 ||
		load_requests(st, key, now, p, err) != 0) {
		if (p->provisioning_state == NULL)
			jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
		jit_policy_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

int
jit_store_policy_delete(struct jit_tx *tx, const struct jit_rid *id, bool *existed,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char key[JIT_RESOURCE_ID_MAX];
	struct db_stmt *s;
	int64_t n;

	rid_key(id, key);
	if (count_rows(st, "SELECT COUNT(*) FROM policies WHERE key = ?", key, &n, err) != 0)
		return -1;
	*existed = n > 0;
	if (!*existed)
		return 0;
	/* Deleting unlocks: the enforcement points must drop these ports. */
	if (bump_policy_eps(st, key, err) != 0)
		return -1;
	if (prep(st, "DELETE FROM policies WHERE key = ?", &s, err) != 0)
		return -1;
	bind_text(s, 1, key);
	return exec_done(st, s, err, "deleting a policy");
}

/* A list element that is just the resource ID in the first column. */
static int
rid_from_row(struct db_stmt *s, void *elem, struct jit_error *err)
{
	return parse_rid_col(s, 0, elem, err);
}

int
jit_store_policy_list(struct jit_tx *tx, const struct jit_rid *scope, const char *location,
	struct jit_rid **out, size_t *n, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char key[JIT_RESOURCE_ID_MAX];
	struct db_stmt *s;

	*out = NULL;
	*n = 0;
	if (scope->kind == JIT_RID_ROOT) {
		key[0] = '\0';
	} else {
		rid_key(scope, key);
		strncat(key, "/", sizeof(key) - strlen(key) - 1);
	}
	if (prep(st, "SELECT id FROM policies WHERE substr(key, 1, length(?1)) = ?1"
		" AND (CAST(?2 AS TEXT) IS NULL OR location = lower(?2) OR lower(location) = lower(?2))"
		" ORDER BY key", &s, err) != 0)
		return -1;
	bind_text(s, 1, key);
	bind_text(s, 2, location);
	return collect_rows(st, s, (void **)out, n, sizeof(**out), rid_from_row,
		"listing policies", err);
}

/* ---- requests ---- */

static int
insert_request_port(struct jit_store *st, int64_t request_id, jit_time start,
	const struct jit_request_vm *vm, size_t vm_pos, const struct jit_request_port *port,
	struct jit_error *err)
{
	char vm_key[JIT_RESOURCE_ID_MAX], vm_id[JIT_RESOURCE_ID_MAX];
	struct db_stmt *s;
	char *sources;

	rid_key(&vm->id, vm_key);
	jit_rid_format(&vm->id, vm_id, sizeof(vm_id));
	if ((sources = sources_to_json(&port->sources)) == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	/* A newer request for the same VM, port and source supersedes the older one, which
	 * ends when the newer one starts (one that had already ended stays as it was). */
	if (prep(st, "UPDATE request_ports SET status = 'Revoked', reason = 'NewerRequestInitiated',"
		" end_ns = ?4 WHERE vm_key = ?1 AND number = ?2 AND sources = ?3"
		" AND status = 'Initiated' AND end_ns > ?4", &s, err) != 0) {
		free(sources);
		return -1;
	}
	bind_text(s, 1, vm_key);
	db_bind_int(s, 2, port->number);
	bind_text(s, 3, sources);
	db_bind_int64(s, 4, start);
	if (exec_done(st, s, err, "superseding older requests") != 0) {
		free(sources);
		return -1;
	}
	if (prep(st, "INSERT INTO request_ports (request_id, vm_key, vm_id, vm_pos, number,"
		" sources, sources_list, end_ns, status, reason, mapped_port)"
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &s, err) != 0) {
		free(sources);
		return -1;
	}
	db_bind_int64(s, 1, request_id);
	bind_text(s, 2, vm_key);
	bind_text(s, 3, vm_id);
	db_bind_int64(s, 4, (int64_t)vm_pos);
	db_bind_int(s, 5, port->number);
	bind_text(s, 6, sources);
	db_bind_int(s, 7, port->sources.list);
	db_bind_int64(s, 8, port->end_time);
	bind_text(s, 9, jit_port_status_name(port->status));
	bind_text(s, 10, jit_status_reason_name(port->reason));
	if (port->has_mapped_port)
		db_bind_int(s, 11, port->mapped_port);
	else
		db_bind_null(s, 11);
	free(sources);
	return exec_done(st, s, err, "saving a request port");
}

int
jit_store_request_add(struct jit_tx *tx, const struct jit_rid *policy,
	const struct jit_request *r, int64_t principal_id, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char key[JIT_RESOURCE_ID_MAX];
	struct db_stmt *s;
	int64_t request_id;

	rid_key(policy, key);
	if (prep(st, "INSERT INTO requests (policy_key, principal_id, requestor, start_ns,"
		" justification) VALUES (?, ?, ?, ?, ?)", &s, err) != 0)
		return -1;
	bind_text(s, 1, key);
	db_bind_int64(s, 2, principal_id);
	bind_text(s, 3, r->requestor ? r->requestor : "");
	db_bind_int64(s, 4, r->start_time);
	bind_text(s, 5, r->justification);
	if (exec_done(st, s, err, "saving a request") != 0)
		return -1;
	request_id = db_last_insert_rowid(st->db);
	for (size_t i = 0; i < r->n_vms; i++) {
		char vm_key[JIT_RESOURCE_ID_MAX];

		for (size_t j = 0; j < r->vms[i].n_ports; j++)
			if (insert_request_port(st, request_id, r->start_time, &r->vms[i], i,
				&r->vms[i].ports[j], err) != 0)
				return -1;
		rid_key(&r->vms[i].id, vm_key);
		if (bump_vm_ep(st, vm_key, err) != 0)
			return -1;
	}
	return 0;
}

int
jit_store_request_revoke(struct jit_tx *tx, const struct jit_rid *policy,
	const struct jit_rid *vm, uint16_t number, const struct jit_prefix *source, jit_time now,
	size_t *n, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char pkey[JIT_RESOURCE_ID_MAX], vkey[JIT_RESOURCE_ID_MAX];
	char *sources = NULL;
	struct db_stmt *s;

	*n = 0;
	rid_key(policy, pkey);
	rid_key(vm, vkey);
	if (source != NULL) {
		struct jit_sources one = {.n = 1, .prefixes = (struct jit_prefix *)source};

		if ((sources = sources_to_json(&one)) == NULL)
			return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	}
	if (prep(st, "UPDATE request_ports SET status = 'Revoked', reason = 'UserRequested',"
		" end_ns = ?1 WHERE vm_key = ?2 AND number = ?3 AND status = 'Initiated'"
		" AND end_ns > ?1 AND (CAST(?4 AS TEXT) IS NULL OR sources = ?4)"
		" AND request_id IN (SELECT id FROM requests WHERE policy_key = ?5)", &s, err) != 0) {
		free(sources);
		return -1;
	}
	db_bind_int64(s, 1, now);
	bind_text(s, 2, vkey);
	db_bind_int(s, 3, number);
	bind_text(s, 4, sources);
	bind_text(s, 5, pkey);
	free(sources);
	if (exec_done(st, s, err, "revoking access") != 0)
		return -1;
	*n = (size_t)db_changes(st->db);
	return *n > 0 ? bump_vm_ep(st, vkey, err) : 0;
}

/* Is the grant (vm_key, number, sources) still allowed by the policy's new content? */
static bool
grant_kept(const struct jit_policy *keep, const char *vm_key, uint16_t number,
	const char *sources)
{
	struct jit_sources src = {0};
	struct jit_error ignored;
	bool kept = false;

	if (keep == NULL)
		return false;
	for (size_t i = 0; i < keep->n_vms && !kept; i++) {
		char k[JIT_RESOURCE_ID_MAX];

		rid_key(&keep->vms[i].id, k);
		if (strcmp(k, vm_key) != 0)
			continue;
		for (size_t j = 0; j < keep->vms[i].n_ports; j++) {
			const struct jit_port_rule *r = &keep->vms[i].ports[j];

			if (r->number != number)
				continue;
			if (sources_from_json(sources, false, &src, &ignored) != 0)
				return false;
			kept = true;
			for (size_t a = 0; a < src.n && kept; a++)
				kept = jit_prefix_contained_in_any(r->sources.prefixes, r->sources.n,
					&src.prefixes[a]);
			free(src.prefixes);
			break;
		}
	}
	return kept;
}

int
jit_store_policy_end_grants(struct jit_tx *tx, const struct jit_rid *policy,
	const struct jit_policy *keep, jit_time now, struct jit_expired **out, size_t *n,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char key[JIT_RESOURCE_ID_MAX];
	struct db_stmt *s, *u;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	rid_key(policy, key);
	if (prep(st, "SELECT rp.id, rp.vm_key, rp.vm_id, rp.number, rp.sources, r.requestor,"
		" rp.end_ns FROM request_ports rp JOIN requests r ON r.id = rp.request_id"
		" WHERE r.policy_key = ? AND rp.status = 'Initiated' AND rp.end_ns > ?"
		" ORDER BY rp.id", &s, err) != 0)
		return -1;
	bind_text(s, 1, key);
	db_bind_int64(s, 2, now);
	while ((rc = db_step(s)) == DB_ROW) {
		const char *vm_key = (const char *)db_column_text(s, 1);
		const char *sources = (const char *)db_column_text(s, 4);
		uint16_t number = (uint16_t)db_column_int(s, 3);
		struct jit_expired *x;

		if (grant_kept(keep, vm_key ? vm_key : "", number, sources ? sources : "[]"))
			continue;
		if ((x = grow((void **)out, n, &cap, sizeof(**out))) == NULL) {
			jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
			goto fail;
		}
		memset(x, 0, sizeof(*x));
		if (parse_rid_col(s, 2, &x->vm, err) != 0)
			goto fail;
		x->policy = *policy;
		x->number = number;
		copy_col(s, 4, x->sources, sizeof(x->sources));
		copy_col(s, 5, x->requestor, sizeof(x->requestor));
		x->end = now;
		if (prep(st, "UPDATE request_ports SET status = 'Revoked', reason = 'UserRequested',"
			" end_ns = ? WHERE id = ?", &u, err) != 0)
			goto fail;
		db_bind_int64(u, 1, now);
		db_bind_int64(u, 2, db_column_int64(s, 0));
		if (exec_done(st, u, err, "ending access") != 0 ||
			bump_vm_ep(st, vm_key ? vm_key : "", err) != 0)
			goto fail;
	}
	db_finalize(s);
	if (rc != DB_DONE) {
		s = NULL;
		db_fail(st, err, "finding access to end");
		goto fail;
	}
	return 0;
fail:
	if (s != NULL)
		db_finalize(s);
	free(*out);
	*out = NULL;
	*n = 0;
	return -1;
}

int
jit_store_expire(struct jit_tx *tx, jit_time now, struct jit_expired **out, size_t *n,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (prep(st, "SELECT rp.vm_id, p.id, rp.number, rp.sources, r.requestor, rp.end_ns"
		" FROM request_ports rp JOIN requests r ON r.id = rp.request_id"
		" JOIN policies p ON p.key = r.policy_key"
		" WHERE rp.status = 'Initiated' AND rp.end_ns <= ? ORDER BY rp.end_ns, rp.id", &s,
		err) != 0)
		return -1;
	db_bind_int64(s, 1, now);
	while ((rc = db_step(s)) == DB_ROW) {
		struct jit_expired *x = grow((void **)out, n, &cap, sizeof(**out));

		if (x == NULL || parse_rid_col(s, 0, &x->vm, err) != 0 ||
			parse_rid_col(s, 1, &x->policy, err) != 0) {
			db_finalize(s);
			free(*out);
			*out = NULL;
			*n = 0;
			return x == NULL ? jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory") : -1;
		}
		x->number = (uint16_t)db_column_int(s, 2);
		copy_col(s, 3, x->sources, sizeof(x->sources));
		copy_col(s, 4, x->requestor, sizeof(x->requestor));
		x->end = db_column_int64(s, 5);
	}
	db_finalize(s);
	if (rc != DB_DONE) {
		db_fail(st, err, "finding ended requests");
		goto fail;
	}
	if (*n == 0)
		return 0;
	if (prep(st, "UPDATE request_ports SET status = 'Revoked', reason = 'Expired'"
		" WHERE status = 'Initiated' AND end_ns <= ?", &s, err) != 0)
		goto fail;
	db_bind_int64(s, 1, now);
	if (exec_done(st, s, err, "expiring requests") == 0)
		return 0;
fail:
	free(*out);
	*out = NULL;
	*n = 0;
	return -1;
}

/* ---- principals and tokens ---- */

static const char *
principal_kind_name(enum jit_principal_kind k)
{
	switch (k) {
	case JIT_PRINCIPAL_SERVICE:
		return "ServicePrincipal";
	case JIT_PRINCIPAL_AGENT:
		return "Agent";
	case JIT_PRINCIPAL_USER:
	default:
		return "User";
	}
}

static enum jit_principal_kind
principal_kind_parse(const char *s)
{
	if (s != NULL && strcmp(s, "ServicePrincipal") == 0)
		return JIT_PRINCIPAL_SERVICE;
	if (s != NULL && strcmp(s, "Agent") == 0)
		return JIT_PRINCIPAL_AGENT;
	return JIT_PRINCIPAL_USER;
}

int
jit_store_principal_add(struct jit_tx *tx, struct jit_principal *p, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;
	int64_t n;

	if (count_rows(st, "SELECT COUNT(*) FROM principals WHERE lower(name) = lower(?)", p->name,
		&n, err) != 0)
		return -1;
	if (n > 0)
		return jit_errorf(err, 409, JIT_E_CONFLICT, "A principal named '%s' already exists.",
			p->name);
	if (p->object_id[0] == '\0')
		jit_guid_new(p->object_id);
	if (prep(st, "INSERT INTO principals (kind, name, display_name, created_ns, object_id)"
		" VALUES (?, ?, ?, ?, ?)", &s, err) != 0)
		return -1;
	bind_text(s, 1, principal_kind_name(p->kind));
	bind_text(s, 2, p->name);
	bind_text(s, 3, p->display_name[0] ? p->display_name : p->name);
	db_bind_int64(s, 4, p->created);
	bind_text(s, 5, p->object_id);
	if (exec_done(st, s, err, "saving a principal") != 0)
		return -1;
	p->id = db_last_insert_rowid(st->db);
	return 0;
}

#define PRINCIPAL_COLUMNS "id, kind, name, display_name, created_ns, object_id"

static int
principal_from_row(struct db_stmt *s, void *elem, struct jit_error *err)
{
	struct jit_principal *out = elem;

	memset(out, 0, sizeof(*out));
	out->id = db_column_int64(s, 0);
	out->kind = principal_kind_parse((const char *)db_column_text(s, 1));
	copy_col(s, 2, out->name, sizeof(out->name));
	copy_col(s, 3, out->display_name, sizeof(out->display_name));
	out->created = db_column_int64(s, 4);
	copy_col(s, 5, out->object_id, sizeof(out->object_id));
	return 0;
}

static int
principal_query_one(struct jit_store *st, struct db_stmt *s, struct jit_principal *out,
	bool *found, struct jit_error *err)
{
	int rc = db_step(s);

	*found = rc == DB_ROW;
	if (rc == DB_ROW)
		principal_from_row(s, out, NULL);
	db_finalize(s);
	if (rc != DB_ROW && rc != DB_DONE)
		return db_fail(st, err, "reading a principal");
	return 0;
}

int
jit_store_principal_get(struct jit_tx *tx, int64_t id, struct jit_principal *out,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;
	bool found;

	if (prep(st, "SELECT " PRINCIPAL_COLUMNS " FROM principals WHERE id = ?", &s, err) != 0)
		return -1;
	db_bind_int64(s, 1, id);
	if (principal_query_one(st, s, out, &found, err) != 0)
		return -1;
	if (!found)
		return jit_errorf(err, 404, JIT_E_NOT_FOUND, "Principal %" PRId64 " was not found.",
			id);
	return 0;
}

int
jit_store_principal_find(struct jit_tx *tx, const char *object_id_or_name,
	struct jit_principal *out, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;
	bool found;

	if (prep(st, "SELECT " PRINCIPAL_COLUMNS " FROM principals WHERE lower(object_id) ="
		" lower(?1) OR lower(name) = lower(?1)", &s, err) != 0)
		return -1;
	bind_text(s, 1, object_id_or_name);
	if (principal_query_one(st, s, out, &found, err) != 0)
		return -1;
	if (!found)
		return jit_errorf(err, 404, "PrincipalNotFound",
			"The principal '%.100s' was not found.", object_id_or_name);
	return 0;
}

int
jit_store_principal_list(struct jit_tx *tx, struct jit_principal **out, size_t *n,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;

	*out = NULL;
	*n = 0;
	if (prep(st, "SELECT " PRINCIPAL_COLUMNS " FROM principals WHERE kind != 'Agent'"
		" ORDER BY lower(name)", &s, err) != 0)
		return -1;
	return collect_rows(st, s, (void **)out, n, sizeof(**out), principal_from_row,
		"listing principals", err);
}

int
jit_store_principal_delete(struct jit_tx *tx, int64_t id, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;

	/* Tokens and role assignments go with it (ON DELETE CASCADE). */
	if (prep(st, "DELETE FROM principals WHERE id = ?", &s, err) != 0)
		return -1;
	db_bind_int64(s, 1, id);
	return exec_done(st, s, err, "deleting a principal");
}

int
jit_store_token_add(struct jit_tx *tx, int64_t principal_id, const char *name,
	const char *token_id, const uint8_t hash[JIT_TOKEN_HASH_BYTES], jit_time now,
	jit_time expires, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;

	if (prep(st, "INSERT INTO tokens (token_id, principal_id, name, hash, created_ns,"
		" expires_ns) VALUES (?, ?, ?, ?, ?, ?)", &s, err) != 0)
		return -1;
	bind_text(s, 1, token_id);
	db_bind_int64(s, 2, principal_id);
	bind_text(s, 3, name);
	db_bind_blob(s, 4, hash, JIT_TOKEN_HASH_BYTES);
	db_bind_int64(s, 5, now);
	db_bind_int64(s, 6, expires);
	return exec_done(st, s, err, "saving a token");
}

/* Reads (hash, one text or integer column) of a live secret row; shared by tokens and
 * enrollment tokens. */
static int
find_secret(struct jit_store *st, const char *sql, const char *token_id, jit_time now,
	uint8_t hash[JIT_TOKEN_HASH_BYTES], struct db_stmt **row, bool *found, struct jit_error *err)
{
	struct db_stmt *s;
	int rc;

	*found = false;
	*row = NULL;
	if (prep(st, sql, &s, err) != 0)
		return -1;
	bind_text(s, 1, token_id);
	db_bind_int64(s, 2, now);
	rc = db_step(s);
	if (rc == DB_ROW && db_column_bytes(s, 0) == JIT_TOKEN_HASH_BYTES) {
		memcpy(hash, db_column_blob(s, 0), JIT_TOKEN_HASH_BYTES);
		*found = true;
		*row = s;
		return 0;
	}
	db_finalize(s);
	if (rc != DB_ROW && rc != DB_DONE)
		return db_fail(st, err, "looking up a token");
	return 0;
}

int
jit_store_token_find(struct jit_tx *tx, const char *token_id, jit_time now,
	uint8_t hash[JIT_TOKEN_HASH_BYTES], int64_t *principal_id, bool *found,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *row;

	if (find_secret(st, "SELECT hash, principal_id FROM tokens WHERE token_id = ?1"
		" AND revoked_ns = 0 AND (expires_ns = 0 OR expires_ns > ?2)", token_id, now, hash,
		&row, found, err) != 0)
		return -1;
	if (*found) {
		*principal_id = db_column_int64(row, 1);
		db_finalize(row);
	}
	return 0;
}

int
jit_store_token_touch(struct jit_tx *tx, const char *token_id, jit_time now,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;

	/* At most once a minute: a read must not cost a disk sync each time. */
	if (prep(st, "UPDATE tokens SET last_used_ns = ?1 WHERE token_id = ?2"
		" AND last_used_ns < ?1 - 60000000000", &s, err) != 0)
		return -1;
	db_bind_int64(s, 1, now);
	bind_text(s, 2, token_id);
	return exec_done(st, s, err, "recording token use");
}

/* ---- console sessions ---- */

int
jit_store_session_add(struct jit_tx *tx, const char *session_id,
	const uint8_t hash[JIT_TOKEN_HASH_BYTES], const char *token_id, jit_time now,
	jit_time expires, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;

	/* Ended sessions go as new ones come: the table holds only live ones (and a few). */
	if (prep(st, "DELETE FROM sessions WHERE expires_ns <= ?1", &s, err) != 0)
		return -1;
	db_bind_int64(s, 1, now);
	if (exec_done(st, s, err, "removing ended sessions") != 0)
		return -1;
	if (prep(st, "INSERT INTO sessions (session_id, hash, token_id, created_ns, expires_ns)"
		" VALUES (?1, ?2, ?3, ?4, ?5)", &s, err) != 0)
		return -1;
	bind_text(s, 1, session_id);
	db_bind_blob(s, 2, hash, JIT_TOKEN_HASH_BYTES);
	bind_text(s, 3, token_id);
	db_bind_int64(s, 4, now);
	db_bind_int64(s, 5, expires);
	return exec_done(st, s, err, "recording a session");
}

int
jit_store_session_find(struct jit_tx *tx, const char *session_id, jit_time now,
	uint8_t hash[JIT_TOKEN_HASH_BYTES], struct jit_session_info *out, bool *found,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *row;

	/* The token must still be valid: revoking or expiring it ends its sessions. */
	if (find_secret(st, "SELECT s.hash, t.principal_id, s.token_id, s.created_ns,"
		" s.expires_ns FROM sessions s JOIN tokens t ON t.token_id = s.token_id"
		" WHERE s.session_id = ?1 AND s.expires_ns > ?2 AND t.revoked_ns = 0"
		" AND (t.expires_ns = 0 OR t.expires_ns > ?2)", session_id, now, hash, &row, found,
		err) != 0)
		return -1;
	if (*found) {
		memset(out, 0, sizeof(*out));
		out->principal_id = db_column_int64(row, 1);
		snprintf(out->token_id, sizeof(out->token_id), "%s",
			(const char *)db_column_text(row, 2));
		out->created = db_column_int64(row, 3);
		out->expires = db_column_int64(row, 4);
		db_finalize(row);
	}
	return 0;
}

int
jit_store_session_delete(struct jit_tx *tx, const char *session_id, bool *existed,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;

	if (prep(st, "DELETE FROM sessions WHERE session_id = ?1", &s, err) != 0)
		return -1;
	bind_text(s, 1, session_id);
	if (exec_done(st, s, err, "deleting a session") != 0)
		return -1;
	*existed = db_changes(st->db) > 0;
	return 0;
}

/* ---- enrollment and enforcement points ---- */

int
jit_store_enrollment_add(struct jit_tx *tx, const char *token_id,
	const uint8_t hash[JIT_TOKEN_HASH_BYTES], const struct jit_rid *rg, jit_time now,
	jit_time expires, int64_t created_by, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char rgk[JIT_RESOURCE_ID_MAX];
	struct jit_resource_group g;
	struct db_stmt *s;

	if (jit_store_rg_get(tx, rg, &g, err) != 0)
		return -1;
	rid_key(rg, rgk);
	if (prep(st, "INSERT INTO enrollment_tokens (token_id, hash, rg_key, created_by,"
		" created_ns, expires_ns) VALUES (?, ?, ?, ?, ?, ?)", &s, err) != 0)
		return -1;
	bind_text(s, 1, token_id);
	db_bind_blob(s, 2, hash, JIT_TOKEN_HASH_BYTES);
	bind_text(s, 3, rgk);
	db_bind_int64(s, 4, created_by);
	db_bind_int64(s, 5, now);
	db_bind_int64(s, 6, expires);
	return exec_done(st, s, err, "saving an enrollment token");
}

int
jit_store_enrollment_find(struct jit_tx *tx, const char *token_id, jit_time now,
	uint8_t hash[JIT_TOKEN_HASH_BYTES], struct jit_rid *rg, bool *found, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *row;
	int r = 0;

	if (find_secret(st, "SELECT t.hash, g.id FROM enrollment_tokens t JOIN resource_groups g"
		" ON g.key = t.rg_key WHERE t.token_id = ?1 AND t.used_ns = 0 AND t.expires_ns > ?2",
		token_id, now, hash, &row, found, err) != 0)
		return -1;
	if (*found) {
		r = parse_rid_col(row, 1, rg, err);
		db_finalize(row);
	}
	return r;
}

int
jit_store_enrollment_use(struct jit_tx *tx, const char *token_id, jit_time now,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;

	if (prep(st, "UPDATE enrollment_tokens SET used_ns = ? WHERE token_id = ?", &s, err) != 0)
		return -1;
	db_bind_int64(s, 1, now);
	bind_text(s, 2, token_id);
	return exec_done(st, s, err, "consuming an enrollment token");
}

int
jit_store_ep_add(struct jit_tx *tx, const struct jit_enforcement_point *ep,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char key[JIT_RESOURCE_ID_MAX], rgk[JIT_RESOURCE_ID_MAX], id[JIT_RESOURCE_ID_MAX];
	struct db_stmt *s;
	int64_t n;

	rid_key(&ep->id, key);
	rg_key_of(&ep->id, rgk);
	jit_rid_format(&ep->id, id, sizeof(id));
	if (count_rows(st, "SELECT COUNT(*) FROM enforcement_points WHERE key = ?", key, &n,
		err) != 0)
		return -1;
	if (n > 0)
		return jit_errorf(err, 409, JIT_E_CONFLICT,
			"The enforcement point '%s' already exists; choose another name.", ep->id.name);
	if (prep(st, "INSERT INTO enforcement_points (key, rg_key, id, kind, principal_id,"
		" version, created_ns) VALUES (?, ?, ?, ?, ?, 1, ?)", &s, err) != 0)
		return -1;
	bind_text(s, 1, key);
	bind_text(s, 2, rgk);
	bind_text(s, 3, id);
	bind_text(s, 4, jit_ep_kind_name(ep->kind));
	db_bind_int64(s, 5, ep->principal_id);
	db_bind_int64(s, 6, ep->created);
	return exec_done(st, s, err, "saving an enforcement point");
}

#define EP_COLUMNS "id, kind, principal_id, version, applied_version, last_seen_ns, created_ns," \
	" status_json"

static int
ep_from_row(struct db_stmt *s, struct jit_enforcement_point *out, struct jit_error *err)
{
	memset(out, 0, sizeof(*out));
	if (parse_rid_col(s, 0, &out->id, err) != 0 ||
		jit_ep_kind_parse((const char *)db_column_text(s, 1), &out->kind, err) != 0)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "stored enforcement point is corrupt");
	out->principal_id = db_column_int64(s, 2);
	out->version = (uint64_t)db_column_int64(s, 3);
	out->applied_version = (uint64_t)db_column_int64(s, 4);
	out->last_seen = db_column_int64(s, 5);
	out->created = db_column_int64(s, 6);
	out->status_json = dup_col(s, 7);
	return 0;
}

void
jit_enforcement_point_clear(struct jit_enforcement_point *ep)
{
	if (ep == NULL)
		return;
	free(ep->status_json);
	ep->status_json = NULL;
}

void
jit_enforcement_points_free(struct jit_enforcement_point *eps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		jit_enforcement_point_clear(&eps[i]);
	free(eps);
}

static int
ep_query_one(struct jit_store *st, struct db_stmt *s, struct jit_enforcement_point *out,
	bool *found, struct jit_error *err)
{
	int rc = db_step(s), r = 0;

	*found = rc == DB_ROW;
	if (rc == DB_ROW)
		r = ep_from_row(s, out, err);
	db_finalize(s);
	if (rc != DB_ROW && rc != DB_DONE)
		return db_fail(st, err, "reading an enforcement point");
	return r;
}

int
jit_store_ep_get(struct jit_tx *tx, const struct jit_rid *id,
	struct jit_enforcement_point *out, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char key[JIT_RESOURCE_ID_MAX];
	struct db_stmt *s;
	bool found;

	rid_key(id, key);
	if (prep(st, "SELECT " EP_COLUMNS " FROM enforcement_points WHERE key = ?", &s, err) != 0)
		return -1;
	bind_text(s, 1, key);
	if (ep_query_one(st, s, out, &found, err) != 0)
		return -1;
	if (!found)
		return jit_errorf(err, 404, JIT_E_RESOURCE_NOT_FOUND,
			"The enforcement point '%s' was not found.", id->name);
	return 0;
}

int
jit_store_ep_by_principal(struct jit_tx *tx, int64_t principal_id,
	struct jit_enforcement_point *out, bool *found, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;

	if (prep(st, "SELECT " EP_COLUMNS " FROM enforcement_points WHERE principal_id = ?", &s,
		err) != 0)
		return -1;
	db_bind_int64(s, 1, principal_id);
	return ep_query_one(st, s, out, found, err);
}

int
jit_store_ep_list(struct jit_tx *tx, const struct jit_rid *scope,
	struct jit_enforcement_point **out, size_t *n, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char key[JIT_RESOURCE_ID_MAX];
	struct db_stmt *s;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (scope->kind == JIT_RID_ROOT) {
		key[0] = '\0';
	} else {
		rid_key(scope, key);
		strncat(key, "/", sizeof(key) - strlen(key) - 1);
	}
	if (prep(st, "SELECT " EP_COLUMNS " FROM enforcement_points"
		" WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key", &s, err) != 0)
		return -1;
	bind_text(s, 1, key);
	while ((rc = db_step(s)) == DB_ROW) {
		struct jit_enforcement_point *e = grow((void **)out, n, &cap, sizeof(**out));

		if (e == NULL || ep_from_row(s, e, err) != 0) {
			db_finalize(s);
			jit_enforcement_points_free(*out, *n);
			*out = NULL;
			*n = 0;
			return e == NULL ? jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory") : -1;
		}
	}
	db_finalize(s);
	if (rc != DB_DONE) {
		jit_enforcement_points_free(*out, *n);
		*out = NULL;
		*n = 0;
		return db_fail(st, err, "listing enforcement points");
	}
	return 0;
}

int
jit_store_ep_delete(struct jit_tx *tx, const struct jit_rid *id, jit_time now,
	bool *existed, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct jit_enforcement_point ep;
	char key[JIT_RESOURCE_ID_MAX];
	struct jit_error ignored;
	struct db_stmt *s;

	*existed = false;
	if (jit_store_ep_get(tx, id, &ep, &ignored) != 0)
		return 0;
	jit_enforcement_point_clear(&ep);
	*existed = true;
	rid_key(id, key);
	if (prep(st, "UPDATE vms SET ep_key = NULL WHERE ep_key = ?", &s, err) != 0)
		return -1;
	bind_text(s, 1, key);
	if (exec_done(st, s, err, "unbinding VMs") != 0)
		return -1;
	if (prep(st, "UPDATE tokens SET revoked_ns = ? WHERE principal_id = ? AND revoked_ns = 0",
		&s, err) != 0)
		return -1;
	db_bind_int64(s, 1, now);
	db_bind_int64(s, 2, ep.principal_id);
	if (exec_done(st, s, err, "revoking the agent credential") != 0)
		return -1;
	if (prep(st, "DELETE FROM enforcement_points WHERE key = ?", &s, err) != 0)
		return -1;
	bind_text(s, 1, key);
	mark_bumped(st);
	return exec_done(st, s, err, "deleting an enforcement point");
}

int
jit_store_ep_report(struct jit_tx *tx, const struct jit_rid *id, uint64_t applied,
	const char *status_json, jit_time now, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char key[JIT_RESOURCE_ID_MAX];
	struct db_stmt *s;

	rid_key(id, key);
	if (prep(st, "UPDATE enforcement_points SET applied_version = ?, status_json = ?,"
		" last_seen_ns = ? WHERE key = ?", &s, err) != 0)
		return -1;
	db_bind_int64(s, 1, (int64_t)applied);
	bind_text(s, 2, status_json);
	db_bind_int64(s, 3, now);
	bind_text(s, 4, key);
	tx->reported = true;
	return exec_done(st, s, err, "recording an enforcement point's status");
}

/* The grants of one locked VM port that are live at now. */
static int
load_grants(struct jit_store *st, const char *vm_key, uint16_t number, jit_time now,
	struct jit_rule *rule, struct jit_error *err)
{
	struct db_stmt *s;
	size_t cap = 0;
	int rc;

	/* Only grants made under the VM's current policy: one made under a policy the VM has
	 * left is not enforced, whatever its row says (security finding 3). */
	if (prep(st, "SELECT rp.sources, rp.end_ns, rp.mapped_port FROM request_ports rp"
		" JOIN requests r ON r.id = rp.request_id"
		" JOIN policy_vms pv ON pv.vm_key = rp.vm_key AND pv.policy_key = r.policy_key"
		" WHERE rp.vm_key = ? AND rp.number = ? AND rp.status = 'Initiated'"
		" AND rp.end_ns > ? ORDER BY rp.id", &s, err) != 0)
		return -1;
	bind_text(s, 1, vm_key);
	db_bind_int(s, 2, number);
	db_bind_int64(s, 3, now);
	while ((rc = db_step(s)) == DB_ROW) {
		struct jit_sources src;
		jit_time end = db_column_int64(s, 1);

		if (sources_from_json((const char *)db_column_text(s, 0), false, &src,
			err) != 0) {
			db_finalize(s);
			return -1;
		}
		for (size_t i = 0; i < src.n; i++) {
			struct jit_grant *g = grow((void **)&rule->grants, &rule->n_grants, &cap,
				sizeof(*g));

			if (g == NULL) {
				free(src.prefixes);
				db_finalize(s);
				return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
			}
			g->source = src.prefixes[i];
			g->end_time = end;
			/* Whole seconds, rounded up: the agent takes the earlier of both ends. */
			g->seconds_remaining = (end - now + JIT_NS_PER_SEC - 1) / JIT_NS_PER_SEC;
			if (db_column_type(s, 2) != DB_NULL) {
				g->has_mapped_port = true;
				g->mapped_port = (uint16_t)db_column_int(s, 2);
			}
		}
		free(src.prefixes);
	}
	db_finalize(s);
	if (rc != DB_DONE)
		return db_fail(st, err, "reading grants");
	return 0;
}

int
jit_store_ep_desired_state(struct jit_tx *tx, const struct jit_rid *id, jit_time now,
	struct jit_desired_state **out, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct jit_enforcement_point ep;
	struct jit_desired_state *ds;
	char key[JIT_RESOURCE_ID_MAX];
	struct db_stmt *s;
	size_t cap = 0;
	int rc;

	*out = NULL;
	if (jit_store_ep_get(tx, id, &ep, err) != 0)
		return -1;
	jit_enforcement_point_clear(&ep);
	if ((ds = calloc(1, sizeof(*ds))) == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	ds->version = ep.version;
	ds->kind = ep.kind;
	ds->generated_at = now;
	jit_rid_format(&ep.id, ds->enforcement_point, sizeof(ds->enforcement_point));
	rid_key(id, key);
	if (prep(st, "SELECT v.key, v.id, v.addresses, pp.number, pp.protocol,"
		" pp.close_established FROM vms v JOIN policy_ports pp ON pp.vm_key = v.key"
		" WHERE v.ep_key = ? ORDER BY v.key, pp.number", &s, err) != 0) {
		jit_desired_state_free(ds);
		return -1;
	}
	bind_text(s, 1, key);
	while ((rc = db_step(s)) == DB_ROW) {
		struct jit_rule *rule = grow((void **)&ds->rules, &ds->n_rules, &cap, sizeof(*rule));
		json_t *addrs;
		size_t i;
		json_t *v;

		if (rule == NULL) {
			jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
			goto fail;
		}
		if (parse_rid_col(s, 1, &rule->vm, err) != 0)
			goto fail;
		addrs = json_loads((const char *)db_column_text(s, 2), 0, NULL);
		json_array_foreach(addrs, i, v) {
			if (i >= JIT_MAX_VM_ADDRESSES || !json_is_string(v) ||
				jit_prefix_parse(json_string_value(v), &rule->destinations[i], err) != 0)
				break;
			rule->n_destinations = i + 1;
		}
		json_decref(addrs);
		rule->number = (uint16_t)db_column_int(s, 3);
		if (jit_proto_parse((const char *)db_column_text(s, 4), &rule->protocol,
			err) != 0)
			goto fail;
		rule->close_established = db_column_int(s, 5) != 0;
		if (load_grants(st, (const char *)db_column_text(s, 0), rule->number, now, rule,
			err) != 0)
			goto fail;
	}
	db_finalize(s);
	if (rc != DB_DONE) {
		jit_desired_state_free(ds);
		return db_fail(st, err, "reading desired state");
	}
	*out = ds;
	return 0;
fail:
	db_finalize(s);
	jit_desired_state_free(ds);
	return -1;
}

/* ---- audit ---- */

/* The columns of an audit row in the order record_from_row reads them. */
#define AUDIT_COLUMNS "seq, time_ns, principal_id, principal_name, caller, operation," \
	" resource_id, result, status, correlation_id, details, vms, prev_hash, hash"

static const char *
text_col(struct db_stmt *s, int i)
{
	return (const char *)db_column_text(s, i);
}

/* An audit row's content (pointers valid until the statement steps again). */
static void
record_from_row(struct db_stmt *s, struct jit_audit_record *r)
{
	r->seq = db_column_int64(s, 0);
	r->time = db_column_int64(s, 1);
	r->principal_id = db_column_int64(s, 2);
	r->principal_name = text_col(s, 3);
	r->caller = text_col(s, 4);
	r->operation = text_col(s, 5);
	r->resource_id = text_col(s, 6);
	r->result = text_col(s, 7);
	r->status = db_column_int(s, 8);
	r->correlation_id = text_col(s, 9);
	r->details_json = text_col(s, 10);
	r->vms_json = text_col(s, 11);
}

static int
audit_head(struct jit_store *st, int64_t *seq, char hash[JIT_AUDIT_HASH_HEX],
	struct jit_error *err)
{
	struct db_stmt *s;
	int rc;

	*seq = 0;
	snprintf(hash, JIT_AUDIT_HASH_HEX, "%s", JIT_AUDIT_GENESIS);
	if (prep(st, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &s, err) != 0)
		return -1;
	rc = db_step(s);
	if (rc == DB_ROW) {
		*seq = db_column_int64(s, 0);
		copy_col(s, 1, hash, JIT_AUDIT_HASH_HEX);
	}
	db_finalize(s);
	return rc == DB_ROW || rc == DB_DONE ? 0 : db_fail(st, err, "reading the audit head");
}

static int
set_meta(struct jit_store *st, const char *key, const char *value, struct jit_error *err)
{
	struct db_stmt *s;

	if (prep(st, "INSERT INTO meta (key, value) VALUES (?, ?)"
		" ON CONFLICT (key) DO UPDATE SET value = excluded.value", &s, err) != 0)
		return -1;
	bind_text(s, 1, key);
	bind_text(s, 2, value);
	return exec_done(st, s, err, "recording state in meta");
}

/* Records the head (last seq and hash) beside the chain, so that cutting entries off
 * its end is detected too. */
static int
set_audit_head(struct jit_store *st, int64_t seq, const char *hash, struct jit_error *err)
{
	char n[24];

	snprintf(n, sizeof(n), "%" PRId64, seq);
	if (set_meta(st, "audit_head_seq", n, err) != 0)
		return -1;
	return set_meta(st, "audit_head_hash", hash, err);
}

/* Migration to version 3: chains the entries written before the chain existed. */
static int
chain_existing_audit(struct jit_store *st, struct jit_error *err)
{
	char prev[JIT_AUDIT_HASH_HEX] = JIT_AUDIT_GENESIS;
	struct db_stmt *s, *u;
	int64_t last = 0;
	int rc;

	if (prep(st, "SELECT " AUDIT_COLUMNS " FROM audit ORDER BY seq", &s, err) != 0)
		return -1;
	while ((rc = db_step(s)) == DB_ROW) {
		struct jit_audit_record rec;
		char hash[JIT_AUDIT_HASH_HEX];

		record_from_row(s, &rec);
		jit_audit_hash(prev, &rec, hash);
		last = rec.seq;
		if (prep(st, "UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?", &u, err) != 0) {
			db_finalize(s);
			return -1;
		}
		bind_text(u, 1, prev);
		bind_text(u, 2, hash);
		db_bind_int64(u, 3, last);
		if (exec_done(st, u, err, "chaining the audit log") != 0) {
			db_finalize(s);
			return -1;
		}
		memcpy(prev, hash, sizeof(prev));
	}
	db_finalize(s);
	if (rc != DB_DONE)
		return db_fail(st, err, "chaining the audit log");
	return set_audit_head(st, last, prev, err);
}

/* Keeps a copy of a written entry for the operator log, sent when the transaction
 * commits: every entry, however many the transaction wrote. */
static int
pending_add(struct jit_tx *tx, const struct jit_audit_record *r, const char *hash)
{
	struct pending_audit *p;

	if (tx->n_pending == tx->cap_pending) {
		size_t cap = tx->cap_pending ? tx->cap_pending * 2 : 16;
		struct pending_audit *np = realloc(tx->pending, cap * sizeof(*np));

		if (np == NULL)
			return -1;
		tx->pending = np;
		tx->cap_pending = cap;
	}
	p = &tx->pending[tx->n_pending];
	snprintf(p->seq, sizeof(p->seq), "%" PRId64, r->seq);
	snprintf(p->status, sizeof(p->status), "%d", r->status);
	memcpy(p->hash, hash, sizeof(p->hash));
	p->operation = r->operation ? strdup(r->operation) : NULL;
	p->resource = r->resource_id ? strdup(r->resource_id) : NULL;
	p->result = r->result ? strdup(r->result) : NULL;
	p->principal = r->principal_name ? strdup(r->principal_name) : NULL;
	p->caller = r->caller ? strdup(r->caller) : NULL;
	tx->n_pending++;
	if ((r->operation && !p->operation) || (r->resource_id && !p->resource) ||
		(r->result && !p->result) || (r->principal_name && !p->principal) ||
		(r->caller && !p->caller))
		return -1;
	return 0;
}

/* Indexes entry seq under each VM key of the space-joined list. */
static int
index_audit_vms(struct jit_store *st, int64_t seq, const char *vm_keys, struct jit_error *err)
{
	const char *p = vm_keys;
	struct db_stmt *s;

	while (*p) {
		size_t len = strcspn(p, " ");

		if (prep(st, "INSERT INTO audit_vms (vm_key, seq) VALUES (?, ?)"
			" ON CONFLICT DO NOTHING", &s,
			err) != 0)
			return -1;
		db_bind_text(s, 1, p, (int)len);
		db_bind_int64(s, 2, seq);
		if (exec_done(st, s, err, "indexing the audit log") != 0)
			return -1;
		p += len;
		if (*p == ' ')
			p++;
	}
	return 0;
}

int
jit_store_audit_append(struct jit_tx *tx, const struct jit_audit_entry *e,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char hash[JIT_AUDIT_HASH_HEX], prev[JIT_AUDIT_HASH_HEX], key[JIT_RESOURCE_ID_MAX];
	struct jit_audit_record rec;
	char *vms = NULL, *vm_keys = NULL;
	struct db_stmt *s;
	int64_t last;
	int r = -1;

	if (audit_head(st, &last, prev, err) != 0)
		return -1;
	if (jit_audit_vms_json(e->vms, e->n_vms, &vms) != 0)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	rec = (struct jit_audit_record){
		.seq = last + 1,
		.time = e->time,
		.principal_id = e->principal_id,
		.principal_name = e->principal_name,
		.caller = e->caller,
		.operation = e->operation,
		.resource_id = e->resource_id,
		.result = e->result,
		.status = e->status,
		.correlation_id = e->correlation_id,
		.details_json = e->details_json,
		.vms_json = vms,
	};
	jit_audit_entry_hash(st->audit_keys, prev, &rec, hash);
	if (jit_audit_index(rec.resource_id, rec.vms_json, key, &vm_keys) != 0) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
		goto out;
	}
	if (prep(st, "INSERT INTO audit (seq, time_ns, principal_id, principal_name, caller,"
		" operation, resource_id, result, status, correlation_id, details, vms, prev_hash,"
		" hash, resource_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &s,
		err) != 0)
		goto out;
	db_bind_int64(s, 1, rec.seq);
	db_bind_int64(s, 2, rec.time);
	if (rec.principal_id != 0)
		db_bind_int64(s, 3, rec.principal_id);
	else
		db_bind_null(s, 3);
	bind_text(s, 4, rec.principal_name);
	bind_text(s, 5, rec.caller);
	bind_text(s, 6, rec.operation);
	bind_text(s, 7, rec.resource_id);
	bind_text(s, 8, rec.result);
	db_bind_int(s, 9, rec.status);
	bind_text(s, 10, rec.correlation_id);
	bind_text(s, 11, rec.details_json);
	bind_text(s, 12, rec.vms_json);
	bind_text(s, 13, prev);
	bind_text(s, 14, hash);
	bind_text(s, 15, key[0] ? key : NULL);
	if (exec_done(st, s, err, "writing the audit log") != 0 ||
		index_audit_vms(st, rec.seq, vm_keys, err) != 0 ||
		set_audit_head(st, rec.seq, hash, err) != 0)
		goto out;
	if (pending_add(tx, &rec, hash) != 0) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
		goto out;
	}
	r = 0;
out:
	free(vms);
	free(vm_keys);
	return r;
}

void
jit_audit_row_clear(struct jit_audit_row *r)
{
	free(r->principal_name);
	free(r->caller);
	free(r->operation);
	free(r->resource_id);
	free(r->result);
	free(r->correlation_id);
	free(r->details_json);
	free(r->vms_json);
	memset(r, 0, sizeof(*r));
}

void
jit_audit_rows_free(struct jit_audit_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		jit_audit_row_clear(&rows[i]);
	free(rows);
}

int
jit_store_audit_query(struct jit_tx *tx, const struct jit_audit_filter *f,
	struct jit_audit_row **out, size_t *n, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char scope[JIT_RESOURCE_ID_MAX] = "", vm[JIT_RESOURCE_ID_MAX] = "";
	char op[JIT_ACTION_MAX] = "";
	struct db_stmt *s;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (f->scope != NULL && f->scope->kind != JIT_RID_ROOT)
		rid_key(f->scope, scope);
	if (f->vm != NULL)
		rid_key(f->vm, vm);
	if (f->operation != NULL) {
		/* '*' is the only wildcard; SQL's own are escaped. */
		size_t j = 0;

		for (const char *p = f->operation; *p && j + 2 < sizeof(op); p++) {
			if (*p == '%' || *p == '_' || *p == '\\')
				op[j++] = '\\';
			op[j++] = *p == '*' ? '%' : *p;
		}
		op[j] = '\0';
	}
	if (prep(st, "SELECT " AUDIT_COLUMNS " FROM audit a WHERE"
		" (?1 = '' OR a.resource_key = ?1 OR substr(a.resource_key, 1, length(?1) + 1) ="
		" ?1 || '/')"
		" AND (?2 = '' OR a.seq IN (SELECT seq FROM audit_vms WHERE vm_key = ?2))"
		" AND (CAST(?3 AS TEXT) IS NULL OR lower(a.principal_name) = lower(?3))"
		" AND (?4 = '' OR lower(a.operation) LIKE lower(?4) ESCAPE '\\')"
		" AND (?5 = 0 OR a.time_ns >= ?5) AND (?6 = 0 OR a.time_ns < ?6)"
		" AND (?7 = 0 OR a.seq < ?7)"
		" ORDER BY a.seq DESC LIMIT ?8", &s, err) != 0)
		return -1;
	bind_text(s, 1, scope);
	bind_text(s, 2, vm);
	bind_text(s, 3, f->principal);
	bind_text(s, 4, op);
	db_bind_int64(s, 5, f->since);
	db_bind_int64(s, 6, f->until);
	db_bind_int64(s, 7, f->before_seq);
	db_bind_int64(s, 8, (int64_t)(f->limit ? f->limit : 100));
	while ((rc = db_step(s)) == DB_ROW) {
		struct jit_audit_row *r = grow((void **)out, n, &cap, sizeof(**out));

		if (r == NULL) {
			db_finalize(s);
			jit_audit_rows_free(*out, *n);
			*out = NULL;
			*n = 0;
			return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
		}
		r->seq = db_column_int64(s, 0);
		r->time = db_column_int64(s, 1);
		r->principal_id = db_column_int64(s, 2);
		r->principal_name = dup_col(s, 3);
		r->caller = dup_col(s, 4);
		r->operation = dup_col(s, 5);
		r->resource_id = dup_col(s, 6);
		r->result = dup_col(s, 7);
		r->status = db_column_int(s, 8);
		r->correlation_id = dup_col(s, 9);
		r->details_json = dup_col(s, 10);
		r->vms_json = dup_col(s, 11);
		copy_col(s, 13, r->hash, sizeof(r->hash));
	}
	db_finalize(s);
	if (rc != DB_DONE) {
		jit_audit_rows_free(*out, *n);
		*out = NULL;
		*n = 0;
		return db_fail(st, err, "querying the audit log");
	}
	return 0;
}

static int64_t
meta_int(struct jit_store *st, const char *key, char *text, size_t n)
{
	struct db_stmt *s;
	int64_t v = -1;

	if (text != NULL)
		text[0] = '\0';
	if (db_prepare(st->db, "SELECT value FROM meta WHERE key = ?", &s) != DB_OK)
		return -1;
	bind_text(s, 1, key);
	if (db_step(s) == DB_ROW) {
		v = db_column_int64(s, 0);
		if (text != NULL)
			copy_col(s, 0, text, n);
	}
	db_finalize(s);
	return v;
}

void
jit_store_set_audit_keys(struct jit_store *st, const struct jit_audit_keyring *kr)
{
	st->audit_keys = kr;
}

int
jit_store_audit_head(struct jit_tx *tx, int64_t *seq, char hash[JIT_AUDIT_HASH_HEX],
	struct jit_error *err)
{
	return audit_head(tx->st, seq, hash, err);
}

/* Hands every row, with its stored index, to the chain's verifier (audit_chain.c). */
int
jit_store_audit_verify(struct jit_tx *tx, int64_t checkpoint_seq, const char *checkpoint_head,
	struct jit_audit_verdict *v, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char head_hash[JIT_AUDIT_HASH_HEX];
	struct jit_audit_verifier ver;
	int64_t head_seq;
	struct db_stmt *s;
	bool intact = true;
	int rc;

	jit_audit_verify_begin(&ver);
	jit_audit_verify_keys(&ver, st->audit_keys);
	jit_audit_verify_checkpoint(&ver, checkpoint_seq, checkpoint_head);
	/* The VM index of each entry, sorted, as one string. */
	if (prep(st, db_kind(st->db) == DB_PG ?
		"SELECT " AUDIT_COLUMNS ", resource_key, (SELECT string_agg(vm_key, ' '"
		" ORDER BY vm_key) FROM audit_vms WHERE seq = audit.seq)"
		" FROM audit ORDER BY seq" :
		"SELECT " AUDIT_COLUMNS ", resource_key, (SELECT group_concat(vm_key, ' ')"
		" FROM (SELECT vm_key FROM audit_vms WHERE seq = audit.seq ORDER BY vm_key))"
		" FROM audit ORDER BY seq", &s, err) != 0)
		return -1;
	while (intact && (rc = db_step(s)) == DB_ROW) {
		struct jit_audit_record rec;
		struct jit_audit_stored stored = {
			.prev_hash = text_col(s, 12),
			.hash = text_col(s, 13),
			.resource_key = text_col(s, 14),
			.vm_keys = text_col(s, 15),
		};

		record_from_row(s, &rec);
		if (jit_audit_verify_entry(&ver, &rec, &stored, &intact) != 0) {
			db_finalize(s);
			return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
		}
	}
	db_finalize(s);
	if (intact && rc != DB_DONE)
		return db_fail(st, err, "verifying the audit log");
	head_seq = meta_int(st, "audit_head_seq", NULL, 0);
	meta_int(st, "audit_head_hash", head_hash, sizeof(head_hash));
	jit_audit_verify_end(&ver, head_seq, head_hash, v);
	return 0;
}

/* ---- JIT settings ---- */

int
jit_store_settings_put(struct jit_tx *tx, const struct jit_settings *js,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char key[JIT_RESOURCE_ID_MAX], id[JIT_RESOURCE_ID_MAX];
	struct db_stmt *s;

	rid_key(&js->scope, key);
	jit_rid_format(&js->scope, id, sizeof(id));
	if (prep(st, "INSERT INTO jit_settings (scope_key, scope_id, enabled, reason,"
		" updated_ns) VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope_key) DO UPDATE SET"
		" scope_id = excluded.scope_id, enabled = excluded.enabled,"
		" reason = excluded.reason, updated_ns = excluded.updated_ns", &s, err) != 0)
		return -1;
	bind_text(s, 1, key);
	bind_text(s, 2, id);
	db_bind_int(s, 3, js->enabled);
	bind_text(s, 4, js->reason);
	db_bind_int64(s, 5, js->updated);
	/* Disabling or enabling changes what every point in the scope may enforce. */
	mark_bumped(st);
	return exec_done(st, s, err, "saving JIT settings");
}

int
jit_store_settings_get(struct jit_tx *tx, const struct jit_rid *scope,
	struct jit_settings *out, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char key[JIT_RESOURCE_ID_MAX];
	struct db_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	out->scope = *scope;
	out->enabled = true;
	rid_key(scope, key);
	if (prep(st, "SELECT enabled, reason, updated_ns FROM jit_settings WHERE scope_key = ?", &s,
		err) != 0)
		return -1;
	bind_text(s, 1, key);
	rc = db_step(s);
	if (rc == DB_ROW) {
		out->enabled = db_column_int(s, 0) != 0;
		copy_col(s, 1, out->reason, sizeof(out->reason));
		out->updated = db_column_int64(s, 2);
	}
	db_finalize(s);
	return rc == DB_ROW || rc == DB_DONE ? 0 : db_fail(st, err, "reading JIT settings");
}

int
jit_store_jit_disabled(struct jit_tx *tx, const struct jit_rid *res, bool *disabled,
	struct jit_settings *by, struct jit_error *err)
{
	struct jit_rid scope;

	*disabled = false;
	if (res->kind == JIT_RID_ROOT)
		return 0;
	jit_rid_subscription(&scope, res->sub);
	if (jit_store_settings_get(tx, &scope, by, err) != 0)
		return -1;
	if (!by->enabled) {
		*disabled = true;
		return 0;
	}
	if (res->kind == JIT_RID_SUBSCRIPTION)
		return 0;
	jit_rid_resource_group(&scope, res->sub, res->rg);
	if (jit_store_settings_get(tx, &scope, by, err) != 0)
		return -1;
	*disabled = !by->enabled;
	return 0;
}

/* ---- a VM's JIT state and statistics ---- */

int
jit_store_vm_jit(struct jit_tx *tx, const struct jit_vm *vm, jit_time now,
	struct jit_vm_jit *out, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char key[JIT_RESOURCE_ID_MAX];
	struct db_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	rid_key(&vm->id, key);
	if (jit_store_vm_policy(tx, &vm->id, &out->policy, &out->in_policy, err) != 0 ||
		jit_store_jit_disabled(tx, &vm->id, &out->jit_disabled, &out->disabled_by,
		err) != 0)
		return -1;
	if (vm->enforcement_point[0] != '\0') {
		struct jit_enforcement_point ep;
		struct jit_rid epid;

		if (jit_rid_parse(vm->enforcement_point, &epid, err) != 0 ||
			jit_store_ep_get(tx, &epid, &ep, err) != 0)
			return -1;
		out->has_ep = true;
		out->ep_last_seen = ep.last_seen;
		out->ep_version = ep.version;
		out->ep_applied = ep.applied_version;
		out->ep_can_enforce = jit_ep_status_can_enforce(ep.status_json);
		jit_enforcement_point_clear(&ep);
	}
	/* Approved requests in the last 7 days, and the latest one's time and requestor. */
	if (prep(st, "SELECT COUNT(DISTINCT r.id), MAX(r.start_ns) FROM requests r JOIN"
		" request_ports rp ON rp.request_id = r.id WHERE rp.vm_key = ? AND r.start_ns >= ?",
		&s, err) != 0)
		return -1;
	bind_text(s, 1, key);
	db_bind_int64(s, 2, now - 7LL * 24 * 3600 * JIT_NS_PER_SEC);
	if ((rc = db_step(s)) == DB_ROW)
		out->approved_last_7_days = db_column_int64(s, 0);
	db_finalize(s);
	if (rc != DB_ROW)
		return db_fail(st, err, "counting requests");
	if (prep(st, "SELECT r.start_ns, r.requestor FROM requests r JOIN request_ports rp ON"
		" rp.request_id = r.id WHERE rp.vm_key = ? ORDER BY r.start_ns DESC LIMIT 1", &s,
		err) != 0)
		return -1;
	bind_text(s, 1, key);
	if ((rc = db_step(s)) == DB_ROW) {
		out->last_access = db_column_int64(s, 0);
		copy_col(s, 1, out->last_user, sizeof(out->last_user));
	}
	db_finalize(s);
	if (rc != DB_ROW && rc != DB_DONE)
		return db_fail(st, err, "reading the last request");
	/* Connection details: the policy's ports, with a live grant's mapped port if any. */
	if (prep(st, "SELECT pp.number, (SELECT MAX(rp.mapped_port) FROM request_ports rp WHERE"
		" rp.vm_key = pp.vm_key AND rp.number = pp.number AND rp.status = 'Initiated' AND"
		" rp.end_ns > ?2) FROM policy_ports pp WHERE pp.vm_key = ?1 ORDER BY pp.pos", &s,
		err) != 0)
		return -1;
	bind_text(s, 1, key);
	db_bind_int64(s, 2, now);
	while ((rc = db_step(s)) == DB_ROW && out->n_ports < JIT_MAX_PORTS_PER_VM) {
		out->ports[out->n_ports] = (uint16_t)db_column_int(s, 0);
		out->mapped_ports[out->n_ports++] = (uint16_t)db_column_int(s, 1);
	}
	db_finalize(s);
	if (rc != DB_ROW && rc != DB_DONE)
		return db_fail(st, err, "reading connection details");
	return 0;
}

/* ---- token listing and revocation ---- */

static int
token_from_row(struct db_stmt *s, void *elem, struct jit_error *err)
{
	struct jit_token_info *t = elem;

	copy_col(s, 0, t->id, sizeof(t->id));
	copy_col(s, 1, t->name, sizeof(t->name));
	t->created = db_column_int64(s, 2);
	t->expires = db_column_int64(s, 3);
	t->revoked = db_column_int64(s, 4);
	t->last_used = db_column_int64(s, 5);
	copy_col(s, 6, t->parent, sizeof(t->parent));
	return 0;
}

#define TOKEN_COLUMNS "token_id, name, created_ns, expires_ns, revoked_ns, last_used_ns," \
	" COALESCE(parent_token_id, '')"

int
jit_store_token_get(struct jit_tx *tx, const char *token_id, struct jit_token_info *out,
	int64_t *principal_id, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	if (prep(st, "SELECT " TOKEN_COLUMNS ", principal_id FROM tokens WHERE token_id = ?", &s,
		err) != 0)
		return -1;
	bind_text(s, 1, token_id);
	rc = db_step(s);
	if (rc == DB_ROW) {
		token_from_row(s, out, err);
		if (principal_id != NULL)
			*principal_id = db_column_int64(s, 7);
	}
	db_finalize(s);
	if (rc == DB_ROW)
		return 0;
	if (rc != DB_DONE)
		return db_fail(st, err, "reading a token");
	return jit_errorf(err, 404, JIT_E_RESOURCE_NOT_FOUND, "The token '%s' was not found.",
		token_id);
}

int
jit_store_secret_set_parent(struct jit_tx *tx, const char *secret_id, const char *parent_id,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;

	if (prep(st, "UPDATE client_secrets SET parent_token_id = ? WHERE secret_id = ?", &s,
		err) != 0)
		return -1;
	bind_text(s, 1, parent_id);
	bind_text(s, 2, secret_id);
	return exec_done(st, s, err, "recording a client secret's parent");
}

int
jit_store_token_set_parent(struct jit_tx *tx, const char *token_id, const char *parent_id,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;

	if (prep(st, "UPDATE tokens SET parent_token_id = ? WHERE token_id = ?", &s, err) != 0)
		return -1;
	bind_text(s, 1, parent_id);
	bind_text(s, 2, token_id);
	return exec_done(st, s, err, "recording a token's parent");
}

int
jit_store_token_list(struct jit_tx *tx, int64_t principal_id, struct jit_token_info **out,
	size_t *n, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;

	*out = NULL;
	*n = 0;
	if (prep(st, "SELECT " TOKEN_COLUMNS " FROM tokens WHERE principal_id = ?"
		" ORDER BY created_ns, token_id", &s, err) != 0)
		return -1;
	db_bind_int64(s, 1, principal_id);
	return collect_rows(st, s, (void **)out, n, sizeof(**out), token_from_row,
		"listing tokens", err);
}

int
jit_store_token_revoke(struct jit_tx *tx, int64_t principal_id, const char *token_id,
	jit_time now, bool *found, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;

	if (prep(st, "UPDATE tokens SET revoked_ns = ? WHERE principal_id = ? AND token_id = ?"
		" AND revoked_ns = 0", &s, err) != 0)
		return -1;
	db_bind_int64(s, 1, now);
	db_bind_int64(s, 2, principal_id);
	bind_text(s, 3, token_id);
	if (exec_done(st, s, err, "revoking a token") != 0)
		return -1;
	*found = db_changes(st->db) > 0;
	if (!*found)
		return 0;
	/* What was minted with it (and with those, in turn) ends with it: tokens, and the
	 * client secrets made with any of them. */
	if (prep(st, "WITH RECURSIVE minted(id) AS (SELECT token_id FROM tokens WHERE token_id = ?2"
		" UNION SELECT t.token_id"
		" FROM tokens t JOIN minted m ON t.parent_token_id = m.id)"
		" UPDATE client_secrets SET revoked_ns = ?1 WHERE revoked_ns = 0"
		" AND parent_token_id IN (SELECT id FROM minted)", &s, err) != 0)
		return -1;
	db_bind_int64(s, 1, now);
	bind_text(s, 2, token_id);
	if (exec_done(st, s, err, "revoking the client secrets minted with a token") != 0)
		return -1;
	if (prep(st, "WITH RECURSIVE minted(id) AS (SELECT token_id FROM tokens"
		" WHERE parent_token_id = ?2 UNION SELECT t.token_id FROM tokens t"
		" JOIN minted m ON t.parent_token_id = m.id)"
		" UPDATE tokens SET revoked_ns = ?1 WHERE revoked_ns = 0"
		" AND token_id IN (SELECT id FROM minted)", &s, err) != 0)
		return -1;
	db_bind_int64(s, 1, now);
	bind_text(s, 2, token_id);
	return exec_done(st, s, err, "revoking the tokens minted with a token");
}

/* ---- roles ---- */

static int
role_from_row(struct db_stmt *s, struct jit_role *out, struct jit_error *err)
{
	const unsigned char *body = db_column_text(s, 1);
	json_t *j = json_loads(body ? (const char *)body : "", 0, NULL);
	int r;

	r = jit_role_from_json(j, out, err);
	json_decref(j);
	if (r != 0)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "stored role definition is corrupt");
	copy_col(s, 0, out->id, sizeof(out->id));
	return 0;
}

int
jit_store_role_get(struct jit_tx *tx, const char *id, struct jit_role *out,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	const struct jit_role *b = NULL;
	struct db_stmt *s;
	int rc, r = 0;

	for (size_t i = 0; i < jit_rbac_builtin_count(); i++)
		if (strcasecmp(jit_rbac_builtin(i)->id, id) == 0)
			b = jit_rbac_builtin(i);
	if (b != NULL) {
		*out = *b;
		return 0;
	}
	if (prep(st, "SELECT id, body FROM role_definitions WHERE lower(id) = lower(?)", &s,
		err) != 0)
		return -1;
	bind_text(s, 1, id);
	rc = db_step(s);
	if (rc == DB_ROW)
		r = role_from_row(s, out, err);
	db_finalize(s);
	if (rc == DB_ROW)
		return r;
	if (rc != DB_DONE)
		return db_fail(st, err, "reading a role definition");
	return jit_errorf(err, 404, "RoleDefinitionDoesNotExist",
		"The role definition '%.64s' does not exist.", id);
}

int
jit_store_role_put(struct jit_tx *tx, const struct jit_role *r, bool *created,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char lower_id[JIT_GUID_LEN + 1];
	struct db_stmt *s;
	json_t *j;
	char *body;
	int64_t n;
	int rc;

	guid_key(r->id, lower_id);
	if (prep(st, "SELECT COUNT(*) FROM role_definitions WHERE lower(name) = lower(?)"
		" AND id != ?", &s, err) != 0)
		return -1;
	bind_text(s, 1, r->name);
	bind_text(s, 2, lower_id);
	rc = db_step(s);
	n = rc == DB_ROW ? db_column_int64(s, 0) : 0;
	db_finalize(s);
	if (n > 0)
		return jit_errorf(err, 409, "RoleDefinitionNameInUse",
			"A role named '%s' already exists.", r->name);
	if (count_rows(st, "SELECT COUNT(*) FROM role_definitions WHERE id = ?", lower_id, &n,
		err) != 0)
		return -1;
	*created = n == 0;
	if ((j = jit_role_to_json(r, "")) == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (body == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	if (prep(st, "INSERT INTO role_definitions (id, name, body, created_ns) VALUES (?1, ?2, ?3, ?4)"
		" ON CONFLICT(id) DO UPDATE SET name = ?2, body = ?3", &s, err) != 0) {
		free(body);
		return -1;
	}
	bind_text(s, 1, lower_id);
	bind_text(s, 2, r->name);
	bind_text(s, 3, body);
	db_bind_int64(s, 4, jit_time_now());
	free(body);
	return exec_done(st, s, err, "saving a role definition");
}

int
jit_store_role_list(struct jit_tx *tx, struct jit_role **out, size_t *n,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < jit_rbac_builtin_count(); i++) {
		struct jit_role *r = grow((void **)out, n, &cap, sizeof(**out));

		if (r == NULL) {
			jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
			goto fail;
		}
		*r = *jit_rbac_builtin(i);
	}
	if (prep(st, "SELECT id, body FROM role_definitions ORDER BY lower(name)", &s, err) != 0)
		goto fail;
	while ((rc = db_step(s)) == DB_ROW) {
		struct jit_role *r = grow((void **)out, n, &cap, sizeof(**out));

		if (r == NULL || role_from_row(s, r, err) != 0) {
			db_finalize(s);
			if (r == NULL)
				jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
			goto fail;
		}
	}
	db_finalize(s);
	if (rc == DB_DONE)
		return 0;
	db_fail(st, err, "listing role definitions");
fail:
	free(*out);
	*out = NULL;
	*n = 0;
	return -1;
}

int
jit_store_role_delete(struct jit_tx *tx, const char *id, bool *existed,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char lower_id[JIT_GUID_LEN + 1];
	struct db_stmt *s;
	int64_t n;

	guid_key(id, lower_id);
	if (count_rows(st, "SELECT COUNT(*) FROM role_definitions WHERE id = ?", lower_id, &n,
		err) != 0)
		return -1;
	*existed = n > 0;
	if (!*existed)
		return 0;
	if (count_rows(st, "SELECT COUNT(*) FROM role_assignments WHERE role_id = ?", lower_id, &n,
		err) != 0)
		return -1;
	if (n > 0)
		return jit_errorf(err, 409, "RoleDefinitionHasAssignments",
			"The role is still assigned %" PRId64 " time(s); delete those assignments first.",
			n);
	if (prep(st, "DELETE FROM role_definitions WHERE id = ?", &s, err) != 0)
		return -1;
	bind_text(s, 1, lower_id);
	return exec_done(st, s, err, "deleting a role definition");
}

/* ---- role assignments ---- */

#define ASSIGNMENT_COLUMNS "a.id, a.scope_id, a.principal_id, p.object_id, p.name, a.role_id," \
	" a.created_ns"
#define ASSIGNMENT_FROM "FROM role_assignments a JOIN principals p ON p.id = a.principal_id"

static int
assignment_from_row(struct db_stmt *s, struct jit_role_assignment *out, struct jit_error *err)
{
	memset(out, 0, sizeof(*out));
	copy_col(s, 0, out->id, sizeof(out->id));
	if (parse_rid_col(s, 1, &out->scope, err) != 0)
		return -1;
	out->principal_id = db_column_int64(s, 2);
	copy_col(s, 3, out->principal_object_id, sizeof(out->principal_object_id));
	copy_col(s, 4, out->principal_name, sizeof(out->principal_name));
	copy_col(s, 5, out->role_id, sizeof(out->role_id));
	out->created = db_column_int64(s, 6);
	return 0;
}

int
jit_store_assignment_get(struct jit_tx *tx, const char *id, struct jit_role_assignment *out,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;
	int rc, r = 0;

	if (prep(st, "SELECT " ASSIGNMENT_COLUMNS " " ASSIGNMENT_FROM " WHERE a.id = lower(?)", &s,
		err) != 0)
		return -1;
	bind_text(s, 1, id);
	rc = db_step(s);
	if (rc == DB_ROW)
		r = assignment_from_row(s, out, err);
	db_finalize(s);
	if (rc == DB_ROW)
		return r;
	if (rc != DB_DONE)
		return db_fail(st, err, "reading a role assignment");
	return jit_errorf(err, 404, "RoleAssignmentNotFound",
		"The role assignment '%.64s' is not found.", id);
}

int
jit_store_assignment_put(struct jit_tx *tx, const struct jit_role_assignment *a,
	bool *created, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	char lower_id[JIT_GUID_LEN + 1], scope_key[JIT_RESOURCE_ID_MAX];
	char scope_id[JIT_RESOURCE_ID_MAX], role_id[JIT_GUID_LEN + 1];
	struct jit_role_assignment old;
	struct jit_principal p;
	struct jit_error ignored;
	struct jit_role role;
	struct db_stmt *s;

	/* Both must exist (404); whether the role may be assigned there is the service's
	 * decision (svc_rbac.c). */
	if (jit_store_role_get(tx, a->role_id, &role, err) != 0 ||
		jit_store_principal_get(tx, a->principal_id, &p, err) != 0)
		return -1;
	guid_key(a->id, lower_id);
	guid_key(role.id, role_id);
	rid_key(&a->scope, scope_key);
	jit_rid_format(&a->scope, scope_id, sizeof(scope_id));
	if (jit_store_assignment_get(tx, lower_id, &old, &ignored) == 0) {
		/* Assignments cannot be updated (as in Azure): the same content is idempotent. */
		if (old.principal_id == a->principal_id && strcasecmp(old.role_id, role_id) == 0 &&
			jit_rid_equal(&old.scope, &a->scope)) {
			*created = false;
			return 0;
		}
		return jit_errorf(err, 409, "RoleAssignmentUpdateNotPermitted",
			"Tenant ID, application ID, principal ID, and scope are not allowed to be "
			"updated: delete the assignment and create a new one.");
	}
	if (prep(st, "SELECT COUNT(*) FROM role_assignments WHERE scope_key = ? AND"
		" principal_id = ? AND role_id = ?", &s, err) != 0)
		return -1;
	bind_text(s, 1, scope_key);
	db_bind_int64(s, 2, a->principal_id);
	bind_text(s, 3, role_id);
	if (db_step(s) == DB_ROW && db_column_int64(s, 0) > 0) {
		db_finalize(s);
		return jit_errorf(err, 409, "RoleAssignmentExists",
			"The role assignment already exists.");
	}
	db_finalize(s);
	*created = true;
	if (prep(st, "INSERT INTO role_assignments (id, scope_key, scope_id, principal_id, role_id,"
		" created_ns) VALUES (?, ?, ?, ?, ?, ?)", &s, err) != 0)
		return -1;
	bind_text(s, 1, lower_id);
	bind_text(s, 2, scope_key);
	bind_text(s, 3, scope_id);
	db_bind_int64(s, 4, a->principal_id);
	bind_text(s, 5, role_id);
	db_bind_int64(s, 6, a->created);
	return exec_done(st, s, err, "saving a role assignment");
}

int
jit_store_assignment_delete(struct jit_tx *tx, const char *id, bool *existed,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;

	if (prep(st, "DELETE FROM role_assignments WHERE id = lower(?)", &s, err) != 0)
		return -1;
	bind_text(s, 1, id);
	if (exec_done(st, s, err, "deleting a role assignment") != 0)
		return -1;
	*existed = db_changes(st->db) > 0;
	return 0;
}

int
jit_store_assignment_list(struct jit_tx *tx, const struct jit_rid *scope, bool below,
	int64_t principal_id, struct jit_role_assignment **out, size_t *n, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (prep(st, "SELECT " ASSIGNMENT_COLUMNS " " ASSIGNMENT_FROM
		" WHERE (?1 = 0 OR a.principal_id = ?1) ORDER BY a.scope_key, a.created_ns, a.id", &s,
		err) != 0)
		return -1;
	db_bind_int64(s, 1, principal_id);
	/* Few rows: scope containment is decided on parsed IDs, not on strings. */
	while ((rc = db_step(s)) == DB_ROW) {
		struct jit_role_assignment a;

		if (assignment_from_row(s, &a, err) != 0) {
			db_finalize(s);
			free(*out);
			*out = NULL;
			*n = 0;
			return -1;
		}
		if (scope != NULL && !jit_rid_in_scope(&a.scope, scope) &&
			!(below && jit_rid_in_scope(scope, &a.scope)))
			continue;
		struct jit_role_assignment *e = grow((void **)out, n, &cap, sizeof(**out));

		if (e == NULL) {
			db_finalize(s);
			free(*out);
			*out = NULL;
			*n = 0;
			return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
		}
		*e = a;
	}
	db_finalize(s);
	if (rc != DB_DONE) {
		free(*out);
		*out = NULL;
		*n = 0;
		return db_fail(st, err, "listing role assignments");
	}
	return 0;
}

int
jit_store_permissions(struct jit_tx *tx, int64_t principal_id, struct jit_permission **out,
	size_t *n, struct jit_error *err)
{
	struct jit_role_assignment *as;
	size_t na;

	*out = NULL;
	*n = 0;
	if (jit_store_assignment_list(tx, NULL, false, principal_id, &as, &na, err) != 0)
		return -1;
	if (na > 0 && (*out = calloc(na, sizeof(**out))) == NULL) {
		free(as);
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	}
	for (size_t i = 0; i < na; i++) {
		if (jit_store_role_get(tx, as[i].role_id, &(*out)[i].role, err) != 0) {
			free(as);
			free(*out);
			*out = NULL;
			return -1;
		}
		(*out)[i].scope = as[i].scope;
		(*n)++;
	}
	free(as);
	return 0;
}

/* ---- OAuth2 client secrets and access tokens ---- */

int
jit_store_token_expiry(struct jit_tx *tx, const char *token_id, jit_time *expires,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;
	int rc;

	*expires = 0;
	if (prep(st, "SELECT expires_ns FROM tokens WHERE token_id = ?", &s, err) != 0)
		return -1;
	bind_text(s, 1, token_id);
	rc = db_step(s);
	if (rc == DB_ROW)
		*expires = db_column_int64(s, 0);
	db_finalize(s);
	return rc == DB_ROW || rc == DB_DONE ? 0 : db_fail(st, err, "reading a token");
}

int
jit_store_secret_add(struct jit_tx *tx, int64_t principal_id, const char *name,
	const char *secret_id, const uint8_t hash[JIT_TOKEN_HASH_BYTES], jit_time now,
	jit_time expires, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;

	if (prep(st, "INSERT INTO client_secrets (secret_id, principal_id, name, hash, created_ns,"
		" expires_ns) VALUES (?, ?, ?, ?, ?, ?)", &s, err) != 0)
		return -1;
	bind_text(s, 1, secret_id);
	db_bind_int64(s, 2, principal_id);
	bind_text(s, 3, name);
	db_bind_blob(s, 4, hash, JIT_TOKEN_HASH_BYTES);
	db_bind_int64(s, 5, now);
	db_bind_int64(s, 6, expires);
	return exec_done(st, s, err, "saving a client secret");
}

int
jit_store_secret_find(struct jit_tx *tx, const char *secret_id, jit_time now,
	uint8_t hash[JIT_TOKEN_HASH_BYTES], int64_t *principal_id, jit_time *expires, bool *found,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *row;

	if (find_secret(st, "SELECT hash, principal_id, expires_ns FROM client_secrets"
		" WHERE secret_id = ?1 AND revoked_ns = 0 AND expires_ns > ?2", secret_id, now, hash,
		&row, found, err) != 0)
		return -1;
	if (*found) {
		*principal_id = db_column_int64(row, 1);
		*expires = db_column_int64(row, 2);
		db_finalize(row);
	}
	return 0;
}

int
jit_store_secret_touch(struct jit_tx *tx, const char *secret_id, jit_time now,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;

	if (prep(st, "UPDATE client_secrets SET last_used_ns = ?1 WHERE secret_id = ?2", &s,
		err) != 0)
		return -1;
	db_bind_int64(s, 1, now);
	bind_text(s, 2, secret_id);
	return exec_done(st, s, err, "recording client secret use");
}

int
jit_store_secret_list(struct jit_tx *tx, int64_t principal_id, struct jit_token_info **out,
	size_t *n, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;

	*out = NULL;
	*n = 0;
	if (prep(st, "SELECT secret_id, name, created_ns, expires_ns, revoked_ns, last_used_ns"
		" FROM client_secrets WHERE principal_id = ? ORDER BY created_ns, secret_id", &s,
		err) != 0)
		return -1;
	db_bind_int64(s, 1, principal_id);
	return collect_rows(st, s, (void **)out, n, sizeof(**out), token_from_row,
		"listing client secrets", err);
}

int
jit_store_secret_revoke(struct jit_tx *tx, int64_t principal_id, const char *secret_id,
	jit_time now, bool *found, struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;

	if (prep(st, "UPDATE client_secrets SET revoked_ns = ? WHERE principal_id = ?"
		" AND secret_id = ? AND revoked_ns = 0", &s, err) != 0)
		return -1;
	db_bind_int64(s, 1, now);
	db_bind_int64(s, 2, principal_id);
	bind_text(s, 3, secret_id);
	if (exec_done(st, s, err, "revoking a client secret") != 0)
		return -1;
	*found = db_changes(st->db) > 0;
	return 0;
}

int
jit_store_access_add(struct jit_tx *tx, const char *token_id,
	const uint8_t hash[JIT_TOKEN_HASH_BYTES], int64_t principal_id,
	enum jit_access_source source, const char *source_id, jit_time now, jit_time expires,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;

	/* Expired access tokens are of no use to anyone: each issue clears them out. */
	if (prep(st, "DELETE FROM access_tokens WHERE expires_ns <= ?", &s, err) != 0)
		return -1;
	db_bind_int64(s, 1, now);
	if (exec_done(st, s, err, "clearing expired access tokens") != 0)
		return -1;
	if (prep(st, "INSERT INTO access_tokens (token_id, hash, principal_id, source_kind,"
		" source_id, created_ns, expires_ns) VALUES (?, ?, ?, ?, ?, ?, ?)", &s, err) != 0)
		return -1;
	bind_text(s, 1, token_id);
	db_bind_blob(s, 2, hash, JIT_TOKEN_HASH_BYTES);
	db_bind_int64(s, 3, principal_id);
	bind_text(s, 4, source == JIT_ACCESS_FROM_SECRET ? "secret" : "token");
	bind_text(s, 5, source_id);
	db_bind_int64(s, 6, now);
	db_bind_int64(s, 7, expires);
	return exec_done(st, s, err, "saving an access token");
}

int
jit_store_access_get(struct jit_tx *tx, const char *token_id,
	enum jit_access_source *source, char source_id[JIT_TOKEN_ID_MAX], jit_time *expires,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;
	int rc;

	if (prep(st, "SELECT source_kind, source_id, expires_ns FROM access_tokens"
		" WHERE token_id = ?", &s, err) != 0)
		return -1;
	bind_text(s, 1, token_id);
	rc = db_step(s);
	if (rc == DB_ROW) {
		const unsigned char *kind = db_column_text(s, 0);

		*source = kind != NULL && strcmp((const char *)kind, "token") == 0 ?
			JIT_ACCESS_FROM_TOKEN : JIT_ACCESS_FROM_SECRET;
		copy_col(s, 1, source_id, JIT_TOKEN_ID_MAX);
		*expires = db_column_int64(s, 2);
	}
	db_finalize(s);
	if (rc == DB_ROW)
		return 0;
	if (rc != DB_DONE)
		return db_fail(st, err, "reading an access token");
	return jit_errorf(err, 404, JIT_E_RESOURCE_NOT_FOUND, "The access token was not found.");
}

int
jit_store_access_find(struct jit_tx *tx, const char *token_id, jit_time now,
	uint8_t hash[JIT_TOKEN_HASH_BYTES], int64_t *principal_id, bool *found,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *row;

	/* Live only while the credential it was issued for is: a revoked or expired secret
	 * or token ends its access tokens with it. */
	if (find_secret(st, "SELECT a.hash, a.principal_id FROM access_tokens a"
		" WHERE a.token_id = ?1 AND a.expires_ns > ?2 AND ("
		" (a.source_kind = 'secret' AND EXISTS (SELECT 1 FROM client_secrets c"
		"  WHERE c.secret_id = a.source_id AND c.principal_id = a.principal_id"
		"  AND c.revoked_ns = 0 AND c.expires_ns > ?2))"
		" OR (a.source_kind = 'token' AND EXISTS (SELECT 1 FROM tokens t"
		"  WHERE t.token_id = a.source_id AND t.principal_id = a.principal_id"
		"  AND t.revoked_ns = 0 AND (t.expires_ns = 0 OR t.expires_ns > ?2))))",
		token_id, now, hash, &row, found, err) != 0)
		return -1;
	if (*found) {
		*principal_id = db_column_int64(row, 1);
		db_finalize(row);
	}
	return 0;
}

/* ---- what /metrics reads ---- */

int
jit_store_stats(struct jit_tx *tx, jit_time now, struct jit_store_stats *out,
	struct jit_error *err)
{
	struct jit_store *st = tx->st;
	struct db_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	if (prep(st, "SELECT (SELECT count(*) FROM request_ports WHERE status = 'Initiated'"
		" AND end_ns > ?1), (SELECT count(*) FROM audit)", &s, err) != 0)
		return -1;
	db_bind_int64(s, 1, now);
	if ((rc = db_step(s)) == DB_ROW) {
		out->active_grants = db_column_int64(s, 0);
		out->audit_entries = db_column_int64(s, 1);
	}
	db_finalize(s);
	if (rc != DB_ROW)
		return db_fail(st, err, "counting grants and audit entries");
	if (prep(st, "SELECT last_seen_ns > ?1, applied_version >= version, count(*)"
		" FROM enforcement_points GROUP BY 1, 2", &s, err) != 0)
		return -1;
	db_bind_int64(s, 1, now - JIT_EP_HEALTHY_NS);
	while ((rc = db_step(s)) == DB_ROW)
		out->agents[db_column_int(s, 0) != 0][db_column_int(s, 1) != 0] =
			db_column_int64(s, 2);
	db_finalize(s);
	return rc == DB_DONE ? 0 : db_fail(st, err, "counting enforcement points");
}

int
jit_store_ping(struct jit_tx *tx, struct jit_error *err)
{
	struct db_stmt *s;
	int rc;

	if (prep(tx->st, "SELECT value FROM meta WHERE key = 'schema_version'", &s, err) != 0)
		return -1;
	rc = db_step(s);
	db_finalize(s);
	return rc == DB_ROW ? 0 : db_fail(tx->st, err, "reading the schema version");
}
