/*
 * db_pg.c: the libpq driver of db.h (PostgreSQL 13 and later).
 *
 * One connection for the store's transactions (the store serialises its callers on
 * it), and one more, owned by a listener thread, that LISTENs for other replicas'
 * commits. Statements run with PQexecParams: `?`/`?N` become `$N`, integers are sent
 * as int8, blobs as binary bytea; results come back as text.
 *
 * A write transaction locks the `writer` row of meta first: every writer of every
 * replica is serialised there, so the audit chain's head is read and extended by one
 * writer at a time (one chain, no fork), and a standby refuses at once (a row lock is
 * a write). A lost connection is noticed by the statement that fails; the next begin
 * reconnects (libpq walks every host of a multi-host URI, so target_session_attrs=
 * read-write finds a promoted standby). Keepalives and tcp_user_timeout on both ends
 * make a dead peer an error in seconds, not when TCP gives up.
 */
#include "db_impl.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define CHANNEL "jitgate_change"
/* Statements prepared once per connection (the store has a few hundred distinct ones);
 * past this many, the rest are sent unprepared. */
#define PREPARED_MAX 1024

struct prepared {
	char *sql;
	unsigned id;
};

struct pg_conn {
	char *conninfo;
	char *password;                 /* from --store-password-file, or NULL */
	PGconn *conn;
	struct prepared prep[PREPARED_MAX];   /* open addressing by the SQL's hash */
	unsigned n_prep;
	int64_t changes;
	char errmsg[512];
	bool unavailable;
	/* The listener. */
	pthread_t thread;
	bool listening;
	int stop_pipe[2];
	db_change_fn fn;
	void *ctx;
	int safety_ms;
};

struct pg_stmt {
	struct pg_conn *c;
	char *sql;
	int nparams;
	char **values;
	int *lengths, *formats;
	Oid *types;
	PGresult *res;
	int row, nrows;
	bool executed;
	unsigned char *blob;            /* the last bytea read, unescaped */
	size_t blob_len;
	int blob_col;
};

/* SQLSTATEs that mean "the database is not there (or not writable) right now". */
static bool
sqlstate_unavailable(const char *st)
{
	if (st == NULL)
		return false;
	return strncmp(st, "08", 2) == 0 ||        /* connection exception */
		strcmp(st, "57P01") == 0 ||             /* admin shutdown */
		strcmp(st, "57P02") == 0 ||             /* crash shutdown */
		strcmp(st, "57P03") == 0 ||             /* cannot connect now (starting up) */
		strcmp(st, "25006") == 0;               /* read-only transaction: a standby */
}

static void
set_error(struct pg_conn *c, const PGresult *res)
{
	const char *msg = res != NULL ? PQresultErrorMessage(res) : NULL;
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	size_t n;

	if (msg == NULL || msg[0] == '\0')
		msg = c->conn != NULL ? PQerrorMessage(c->conn) : "no connection";
	snprintf(c->errmsg, sizeof(c->errmsg), "%s", msg);
	n = strlen(c->errmsg);
	while (n > 0 && (c->errmsg[n - 1] == '\n' || c->errmsg[n - 1] == ' '))
		c->errmsg[--n] = '\0';
	c->unavailable = c->conn == NULL || PQstatus(c->conn) != CONNECTION_OK ||
		sqlstate_unavailable(state);
}

/* NOTICEs ("relation already exists, skipping") are not for the operator's log. */
static void
ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static PGconn *
connect_db(struct pg_conn *c)
{
	/* Our defaults come first: what the URI itself says wins over them. */
	const char *keys[] = {"connect_timeout", "keepalives", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "tcp_user_timeout", "application_name",
		"dbname", c->password ? "password" : NULL, NULL};
	const char *vals[] = {"5", "1", "10", "5", "3", "20000", "jitgated", c->conninfo,
		c->password, NULL};
	PGconn *conn = PQconnectdbParams(keys, vals, 1);
	PGresult *r;

	if (conn == NULL)
		return NULL;
	if (PQstatus(conn) != CONNECTION_OK)
		return conn;
	PQsetNoticeProcessor(conn, ignore_notice, NULL);
	/* The server's end of the same: a replica that vanished releases its locks soon. */
	r = PQexec(conn, "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5;"
		" SET tcp_keepalives_count = 3; SET tcp_user_timeout = 20000;"
		" SET idle_in_transaction_session_timeout = 60000");
	PQclear(r);
	return conn;
}

/* A new connection has none of the old one's prepared statements. */
static void
forget_prepared(struct pg_conn *c)
{
	for (size_t i = 0; i < PREPARED_MAX; i++) {
		free(c->prep[i].sql);
		c->prep[i].sql = NULL;
	}
	c->n_prep = 0;
}

static int
ensure_connected(struct pg_conn *c)
{
	if (c->conn != NULL && PQstatus(c->conn) == CONNECTION_OK)
		return 0;
	if (c->conn != NULL)
		PQfinish(c->conn);
	forget_prepared(c);
	c->conn = connect_db(c);
	if (c->conn == NULL || PQstatus(c->conn) != CONNECTION_OK) {
		set_error(c, NULL);
		c->unavailable = true;
		return -1;
	}
	jit_log(JIT_LOG_INFO, "store_connected", "host", PQhost(c->conn), "port",
		PQport(c->conn), (const char *)NULL);
	return 0;
}

static char *
read_password_file(const char *path, struct jit_error *err)
{
	char buf[1024];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "cannot read the store password file %s: %s",
			path, strerror(errno));
		return NULL;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return strdup(buf);
}

/* A password inside the URI would sit in the process list and in shell history. */
static bool
has_inline_password(const char *uri)
{
	const char *p = strstr(uri, "://"), *at, *colon;

	if (p != NULL) {
		const char *end;

		p += 3;
		end = p + strcspn(p, "/?");
		at = memchr(p, '@', (size_t)(end - p));
		colon = memchr(p, ':', (size_t)(end - p));
		/* user:secret@host (a colon after the @ is a port) */
		if (at != NULL && colon != NULL && colon < at)
			return true;
		return strstr(uri, "password=") != NULL;
	}
	return strstr(uri, "password") != NULL;
}

int
pg_open(const char *conninfo, struct pg_conn **out, struct jit_error *err)
{
	struct pg_conn *c;
	const char *pwfile = getenv("JITGATE_STORE_PASSWORD_FILE");

	*out = NULL;
	if (has_inline_password(conninfo))
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"the store URI must not carry a password:"
			" put it in a file (--store-password-file, PGPASSFILE or ~/.pgpass)");
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->conninfo = strdup(conninfo)) == NULL) {
		free(c);
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	}
	c->stop_pipe[0] = c->stop_pipe[1] = -1;
	if (pwfile != NULL && pwfile[0] != '\0' &&
		(c->password = read_password_file(pwfile, err)) == NULL) {
		pg_close(c);
		return -1;
	}
	if (ensure_connected(c) != 0) {
		jit_errorf(err, 503, JIT_E_INTERNAL, "cannot connect to the store: %s", c->errmsg);
		pg_close(c);
		return -1;
	}
	*out = c;
	return 0;
}

void
pg_close(struct pg_conn *c)
{
	if (c == NULL)
		return;
	if (c->listening) {
		if (write(c->stop_pipe[1], "x", 1) < 0)
			jit_log(JIT_LOG_WARN, "store_listener_stop", "error", strerror(errno),
				(const char *)NULL);
		pthread_join(c->thread, NULL);
	}
	if (c->stop_pipe[0] >= 0) {
		close(c->stop_pipe[0]);
		close(c->stop_pipe[1]);
	}
	if (c->conn != NULL)
		PQfinish(c->conn);
	forget_prepared(c);
	if (c->password != NULL) {
		explicit_bzero(c->password, strlen(c->password));
		free(c->password);
	}
	free(c->conninfo);
	free(c);
}

/* `?` and `?N` outside string literals become `$N`. */
static char *
translate(const char *sql, int *nparams)
{
	size_t len = strlen(sql);
	char *out = malloc(len * 4 + 1), *o = out;
	int next = 0, max = 0;
	bool quoted = false;

	if (out == NULL)
		return NULL;
	for (const char *p = sql; *p; p++) {
		if (*p == '\'')
			quoted = !quoted;
		if (quoted || *p != '?') {
			*o++ = *p;
			continue;
		}
		if (p[1] >= '0' && p[1] <= '9') {
			int n = 0;

			while (p[1] >= '0' && p[1] <= '9')
				n = n * 10 + (*++p - '0');
			if (n > max)
				max = n;
			o += sprintf(o, "$%d", n);
		} else {
			o += sprintf(o, "$%d", ++next);
			if (next > max)
				max = next;
		}
	}
	*o = '\0';
	*nparams = max;
	return out;
}

int
pg_prepare(struct pg_conn *c, const char *sql, struct pg_stmt **out)
{
	struct pg_stmt *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL)
		return DB_ERROR;
	s->c = c;
	if ((s->sql = translate(sql, &s->nparams)) == NULL)
		goto fail;
	if (s->nparams > 0) {
		s->values = calloc((size_t)s->nparams, sizeof(*s->values));
		s->lengths = calloc((size_t)s->nparams, sizeof(*s->lengths));
		s->formats = calloc((size_t)s->nparams, sizeof(*s->formats));
		s->types = calloc((size_t)s->nparams, sizeof(*s->types));
		if (!s->values || !s->lengths || !s->formats || !s->types)
			goto fail;
	}
	*out = s;
	return DB_OK;
fail:
	snprintf(c->errmsg, sizeof(c->errmsg), "out of memory");
	pg_finalize(s);
	return DB_ERROR;
}

void
pg_bind(struct pg_stmt *s, int i, const char *v, int n, unsigned type, int binary)
{
	char *copy = NULL;

	if (i < 1 || i > s->nparams)
		return;
	if (v != NULL) {
		size_t len = n < 0 ? strlen(v) : (size_t)n;

		if ((copy = malloc(len + 1)) == NULL)
			return;
		memcpy(copy, v, len);
		copy[len] = '\0';
		n = (int)len;
	}
	free(s->values[i - 1]);
	s->values[i - 1] = copy;
	s->lengths[i - 1] = v != NULL ? n : 0;
	s->formats[i - 1] = binary;
	s->types[i - 1] = (Oid)type;
}

/* The name of s's statement prepared on this connection ("" when the cache is full),
 * preparing it the first time; NULL when preparing failed (c's error says why). */
static const char *
prepared_name(struct pg_stmt *s, char name[16])
{
	struct pg_conn *c = s->c;
	size_t h = 5381;
	PGresult *r;

	for (const char *p = s->sql; *p; p++)
		h = h * 33 + (unsigned char)*p;
	for (size_t i = 0; i < PREPARED_MAX; i++) {
		struct prepared *e = &c->prep[(h + i) % PREPARED_MAX];

		if (e->sql != NULL && strcmp(e->sql, s->sql) == 0) {
			snprintf(name, 16, "jg%u", e->id);
			return name;
		}
		if (e->sql != NULL)
			continue;
		/* Kept below full, so that a lookup always ends at an empty slot. */
		if (c->n_prep + 1 >= PREPARED_MAX || (e->sql = strdup(s->sql)) == NULL) {
			name[0] = '\0';
			return name;
		}
		e->id = ++c->n_prep;
		snprintf(name, 16, "jg%u", e->id);
		r = PQprepare(c->conn, name, s->sql, s->nparams, s->types);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			set_error(c, r);
			PQclear(r);
			free(e->sql);
			e->sql = NULL;
			c->n_prep--;
			return NULL;
		}
		PQclear(r);
		return name;
	}
	name[0] = '\0';
	return name;
}

int
pg_step(struct pg_stmt *s)
{
	struct pg_conn *c = s->c;
	ExecStatusType st;

	free(s->blob);
	s->blob = NULL;
	if (s->executed) {
		if (s->res == NULL || ++s->row >= s->nrows)
			return DB_DONE;
		return DB_ROW;
	}
	s->executed = true;
	if (c->conn == NULL) {
		set_error(c, NULL);
		return DB_ERROR;
	}
	{
		char buf[16];
		const char *name = prepared_name(s, buf);

		if (name == NULL)
			return DB_ERROR;
		if (name[0] != '\0')
			s->res = PQexecPrepared(c->conn, name, s->nparams,
				(const char *const *)s->values, s->lengths, s->formats, 0);
		else
			s->res = PQexecParams(c->conn, s->sql, s->nparams, s->types,
				(const char *const *)s->values, s->lengths, s->formats, 0);
	}
	st = PQresultStatus(s->res);
	if (st == PGRES_COMMAND_OK) {
		c->changes = strtoll(PQcmdTuples(s->res), NULL, 10);
		return DB_DONE;
	}
	if (st != PGRES_TUPLES_OK) {
		set_error(c, s->res);
		return DB_ERROR;
	}
	c->changes = strtoll(PQcmdTuples(s->res), NULL, 10);
	s->nrows = PQntuples(s->res);
	s->row = 0;
	return s->nrows > 0 ? DB_ROW : DB_DONE;
}

const char *
pg_value(struct pg_stmt *s, int i, int *len)
{
	if (s->res == NULL || s->row >= s->nrows || i >= PQnfields(s->res) ||
		PQgetisnull(s->res, s->row, i)) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (len != NULL)
		*len = PQgetlength(s->res, s->row, i);
	return PQgetvalue(s->res, s->row, i);
}

bool
pg_is_bool(struct pg_stmt *s, int i)
{
	return s->res != NULL && i < PQnfields(s->res) && PQftype(s->res, i) == 16;
}

int
pg_type(struct pg_stmt *s, int i)
{
	if (pg_value(s, i, NULL) == NULL)
		return DB_NULL;
	switch (PQftype(s->res, i)) {
	case 16: case 20: case 21: case 23:     /* bool, int8, int2, int4 */
		return DB_INTEGER;
	case 17:                                /* bytea */
		return DB_BLOB;
	default:
		return DB_TEXT;
	}
}

int
pg_column_count(struct pg_stmt *s)
{
	return s->res != NULL ? PQnfields(s->res) : 0;
}

const char *
pg_column_name(struct pg_stmt *s, int i)
{
	return s->res != NULL ? PQfname(s->res, i) : NULL;
}

const void *
pg_blob(struct pg_stmt *s, int i, int *len)
{
	const char *v = pg_value(s, i, NULL);
	size_t n = 0;

	*len = 0;
	if (v == NULL)
		return NULL;
	if (s->blob != NULL && s->blob_col == i) {
		*len = (int)s->blob_len;
		return s->blob;
	}
	if (PQftype(s->res, i) != 17) {         /* not bytea: the text is the value */
		*len = (int)strlen(v);
		return v;
	}
	free(s->blob);
	s->blob = PQunescapeBytea((const unsigned char *)v, &n);
	s->blob_len = n;
	s->blob_col = i;
	*len = (int)n;
	return s->blob;
}

void
pg_finalize(struct pg_stmt *s)
{
	if (s == NULL)
		return;
	for (int i = 0; s->values != NULL && i < s->nparams; i++)
		free(s->values[i]);
	free(s->values);
	free(s->lengths);
	free(s->formats);
	free(s->types);
	PQclear(s->res);
	free(s->blob);
	free(s->sql);
	free(s);
}

int64_t
pg_changes(struct pg_conn *c)
{
	return c->changes;
}

int64_t
pg_last_insert_rowid(struct pg_conn *c)
{
	PGresult *r = PQexec(c->conn, "SELECT lastval()");
	int64_t id = 0;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	else
		set_error(c, r);
	PQclear(r);
	return id;
}

const char *
pg_errmsg(struct pg_conn *c)
{
	return c->errmsg;
}

int
pg_exec(struct pg_conn *c, const char *sql)
{
	PGresult *r;
	ExecStatusType st;

	if (c->conn == NULL) {
		set_error(c, NULL);
		return DB_ERROR;
	}
	r = PQexec(c->conn, sql);
	st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		set_error(c, r);
		PQclear(r);
		return DB_ERROR;
	}
	PQclear(r);
	return DB_OK;
}

static int
begin_once(struct pg_conn *c, bool write)
{
	if (ensure_connected(c) != 0)
		return DB_ERROR;
	if (pg_exec(c, "BEGIN") != DB_OK)
		return DB_ERROR;
	if (write && pg_exec(c, "SELECT 1 FROM meta WHERE key = 'writer' FOR UPDATE") != DB_OK) {
		pg_exec(c, "ROLLBACK");
		return DB_ERROR;
	}
	return DB_OK;
}

int
pg_begin(struct pg_conn *c, bool write)
{
	c->unavailable = false;
	if (begin_once(c, write) == DB_OK)
		return DB_OK;
	/* Nothing was done yet: a connection that died since the last transaction (a
	 * restart, a failover) is worth one fresh attempt before the caller sees 503. */
	if (!c->unavailable)
		return DB_ERROR;
	if (c->conn != NULL) {
		PQfinish(c->conn);
		c->conn = NULL;
	}
	c->unavailable = false;
	return begin_once(c, write);
}

int
pg_commit(struct pg_conn *c, bool notify)
{
	PGresult *r;
	int rc = DB_OK;

	if (notify && pg_exec(c, "SELECT pg_notify('" CHANNEL "', '')") != DB_OK)
		return DB_ERROR;
	r = PQexec(c->conn, "COMMIT");
	/* COMMIT of a failed transaction "succeeds" as a ROLLBACK: that is a failure. */
	if (PQresultStatus(r) != PGRES_COMMAND_OK || strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		if (PQresultStatus(r) == PGRES_COMMAND_OK)
			snprintf(c->errmsg, sizeof(c->errmsg), "the transaction was rolled back");
		else
			set_error(c, r);
		rc = DB_ERROR;
	}
	PQclear(r);
	return rc;
}

void
pg_rollback(struct pg_conn *c)
{
	bool unavailable = c->unavailable;
	char msg[sizeof(c->errmsg)];

	/* Keep the error that made the caller roll back. */
	memcpy(msg, c->errmsg, sizeof(msg));
	if (c->conn != NULL && PQstatus(c->conn) == CONNECTION_OK &&
		PQtransactionStatus(c->conn) != PQTRANS_IDLE)
		pg_exec(c, "ROLLBACK");
	memcpy(c->errmsg, msg, sizeof(msg));
	c->unavailable = unavailable;
}

bool
pg_unavailable(struct pg_conn *c)
{
	return c->unavailable;
}

int
pg_try_job_lock(struct pg_conn *c, const char *job, bool *got)
{
	const char *vals[1] = {job};
	PGresult *r;

	*got = false;
	/* Transaction-scoped: released by commit or rollback, and by the server when this
	 * connection dies, so no replica keeps a job past a partition. */
	r = PQexecParams(c->conn, "SELECT pg_try_advisory_xact_lock(hashtext('jitgate:' || $1))",
		1, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		set_error(c, r);
		PQclear(r);
		return DB_ERROR;
	}
	*got = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	return DB_OK;
}

/* ---- the listener ---- */

static PGconn *
listen_connect(struct pg_conn *c)
{
	PGconn *conn = connect_db(c);
	PGresult *r;

	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		PQfinish(conn);
		return NULL;
	}
	/* LISTEN fails on a standby: then this is not the primary, try again later. */
	r = PQexec(conn, "LISTEN " CHANNEL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		PQclear(r);
		PQfinish(conn);
		return NULL;
	}
	PQclear(r);
	return conn;
}

/* Waits up to ms for the stop pipe; true when asked to stop. */
static bool
stop_wait(struct pg_conn *c, int ms)
{
	struct pollfd p = {.fd = c->stop_pipe[0], .events = POLLIN};

	return poll(&p, 1, ms) > 0;
}

static void *
listen_main(void *arg)
{
	struct pg_conn *c = arg;
	PGconn *conn = NULL;

	for (;;) {
		struct pollfd p[2];
		int n;

		if (conn == NULL) {
			if ((conn = listen_connect(c)) == NULL) {
				if (stop_wait(c, 500))
					break;
				continue;
			}
			/* Reconnected: anything may have changed while we were deaf. */
			c->fn(c->ctx);
		}
		p[0] = (struct pollfd){.fd = c->stop_pipe[0], .events = POLLIN};
		p[1] = (struct pollfd){.fd = PQsocket(conn), .events = POLLIN};
		n = poll(p, 2, c->safety_ms);
		if (n < 0 && errno != EINTR)
			break;
		if (p[0].revents != 0)
			break;
		if (n == 0) {
			/* The safety poll: a lost notification delays an update, never loses it. */
			c->fn(c->ctx);
			continue;
		}
		if (p[1].revents != 0) {
			PGnotify *nt;
			bool any = false;

			if (PQconsumeInput(conn) == 0) {
				jit_log(JIT_LOG_WARN, "store_listener_lost", "error",
					PQerrorMessage(conn), (const char *)NULL);
				PQfinish(conn);
				conn = NULL;
				continue;
			}
			while ((nt = PQnotifies(conn)) != NULL) {
				any = true;
				PQfreemem(nt);
			}
			if (any)
				c->fn(c->ctx);
		}
	}
	PQfinish(conn);
	return NULL;
}

int
pg_listen(struct pg_conn *c, db_change_fn fn, void *ctx, int safety_ms, struct jit_error *err)
{
	if (pipe(c->stop_pipe) != 0)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "pipe: %s", strerror(errno));
	c->fn = fn;
	c->ctx = ctx;
	c->safety_ms = safety_ms;
	if (pthread_create(&c->thread, NULL, listen_main, c) != 0)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "cannot start the store listener");
	c->listening = true;
	return 0;
}
