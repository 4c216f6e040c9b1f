/*
 * http.h: the HTTPS front of jitgated (libmicrohttpd + GnuTLS).
 *
 * This module owns the wire: TLS (1.2+ only), connection limits, timeouts for
 * slow or idle clients, reading the body (at most JIT_MAX_BODY_BYTES, else 413
 * before it is read) and writing JSON responses. It knows nothing about routes:
 * every complete request goes to one handler.
 *
 * Event-driven: a few threads (libmicrohttpd's epoll, a thread pool) serve every
 * connection, so a handler must not block for long. A handler with nothing to say
 * yet (a long poll) parks its request instead (jit_http_park): the connection is
 * suspended, costs no thread, and its handler runs again when a wake counter it
 * names moves (jit_http_config.wait_change reports them) or when its wait ends,
 * then with jit_http_request.wait_over set (answer now, do not park). Handlers run
 * concurrently, so they must be thread-safe.
 */
#ifndef JIT_HTTP_H
#define JIT_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "error.h"

struct jit_http_request {
	const char *method;             /* "GET", "PUT", "POST", "DELETE", ... */
	const char *path;               /* URL path, percent-decoded ("%00" kept), no query */
	const char *body;               /* NUL-terminated; "" when none */
	size_t body_len;
	struct sockaddr_storage peer;   /* the caller's address (IPv4-mapped IPv6 as IPv4) */
	void *conn;                     /* for jit_http_query / jit_http_header */
	char request_id[37];            /* UUID also sent as x-ms-request-id; for logs */
	bool wait_over;                 /* a parked request's wait ended (its deadline, or
	                                 * the server stops): answer now, never park */
};

/* What a parked request waits for: one of the wake counters (jit_http_config). */
enum jit_http_wake {
	JIT_HTTP_WAKE_DESIRED = 0,      /* some enforcement point's desired state changed */
	JIT_HTTP_WAKE_REPORT,           /* some agent reported its status */
	JIT_HTTP_WAKE_N,
};

#define JIT_HTTP_MAX_HEADERS 16

struct jit_http_response {
	int status;
	json_t *body;                   /* owned; sent as application/json; NULL: no body */
	char *raw;                      /* owned (malloc); sent instead of body when set */
	size_t raw_len;                 /* bytes of raw; 0 means strlen(raw) */
	const char *content_type;       /* for raw; NULL means application/json */
	char location[512];             /* a Location header when not empty */
	int retry_after;                /* a Retry-After header (seconds) when > 0 */
	const char *cache_control;      /* static text; NULL means "no-store" */
	/* More headers (console: ETag, Content-Encoding, CSP, Set-Cookie...): names are
	 * static text, values owned (malloc) and freed with the response. */
	size_t n_headers;
	struct {
		const char *name;
		char *value;
	} headers[JIT_HTTP_MAX_HEADERS];
	/* Set by jit_http_park: no answer yet (see the top of this file). */
	struct {
		bool set;
		enum jit_http_wake on;
		uint64_t seen;          /* the counter's value the handler's answer was read at */
		unsigned wait_ms;       /* from the request's first park; later parks keep it */
	} park;
};

/* Parks the request instead of answering (resp must hold nothing else): its handler
 * runs again once counter on differs from seen (read BEFORE the state the handler
 * looked at, so that no change is missed), or with req->wait_over once wait_ms have
 * passed since it first parked. */
void jit_http_park(struct jit_http_response *resp, enum jit_http_wake on, uint64_t seen,
	unsigned wait_ms);

/* Adds a header to resp (the value is copied); -1 when out of room or memory. */
int jit_http_add_header(struct jit_http_response *resp, const char *name, const char *value);

/* A query parameter or header of the request, or NULL. Header names are
 * case-insensitive. Values are as received (query values percent-decoded). */
const char *jit_http_query(const struct jit_http_request *req, const char *key);
const char *jit_http_header(const struct jit_http_request *req, const char *name);
/* A cookie the request carries (Cookie header), or NULL. */
const char *jit_http_cookie(const struct jit_http_request *req, const char *name);

/* Fills resp with err as ARM's {"error":{"code","message"}} and err->status. */
/* Seconds a client is asked to wait after a 503 (the store unavailable). */
#define JIT_HTTP_RETRY_AFTER_UNAVAILABLE 2

/* The error in Azure's shape; a 503 also gets a Retry-After. */
void jit_http_error(struct jit_http_response *resp, const struct jit_error *err);

typedef void (*jit_http_handler)(void *ctx, const struct jit_http_request *req,
	struct jit_http_response *resp);
/* Waits up to timeout_ms until a wake counter differs from seen[], and fills now[] with
 * their values (it may return early, or with nothing changed). Runs on http.c's one
 * waker thread. */
typedef void (*jit_http_wait_change)(void *ctx, const uint64_t seen[JIT_HTTP_WAKE_N],
	uint64_t now[JIT_HTTP_WAKE_N], int timeout_ms);

struct jit_http_config {
	const char *listen_addr;        /* "127.0.0.1", "::", "0.0.0.0", "::1" */
	uint16_t port;                  /* 0: any free port (see jit_http_port) */
	const char *cert_pem;           /* PEM text, not paths */
	const char *key_pem;
	unsigned max_connections;       /* 0: JIT_HTTP_DEFAULT_MAX_CONNECTIONS; lowered to what
	                                 * RLIMIT_NOFILE allows, with a warning */
	unsigned threads;               /* 0: two per core, at least 4 */
	unsigned idle_timeout_s;        /* 0: 20; a client silent this long is closed */
	int listen_fd;                  /* > 2: a listening socket to serve (systemd socket
	                                 * activation) instead of listen_addr:port */
	jit_http_handler handler;
	void *ctx;
	jit_http_wait_change wait_change;   /* NULL: parked requests wake at their end only */
	void *wait_ctx;
};

#define JIT_HTTP_DEFAULT_MAX_CONNECTIONS 20000

struct jit_http_server;

/* Connections now open and requests now parked (for metrics and tests). */
struct jit_http_counts {
	unsigned long connections;
	unsigned long parked;
};
void jit_http_counts(struct jit_http_server *srv, struct jit_http_counts *out);

struct jit_http_server;

int jit_http_start(const struct jit_http_config *cfg, struct jit_http_server **out,
	struct jit_error *err);
/* The port actually bound (useful with tests). */
uint16_t jit_http_port(const struct jit_http_server *srv);
/* Stops accepting, answers every parked request (wait_over), closes connections, waits
 * for running handlers, frees. Accepts NULL. Requests that begin meanwhile get 503,
 * never the handler. Never call it from a handler. */
void jit_http_stop(struct jit_http_server *srv);

#endif
