/*
 * http.c: the HTTPS front of jitgated (see http.h), on libmicrohttpd and GnuTLS.
 *
 * Thread model: libmicrohttpd's epoll with a small pool of threads (two per core),
 * each serving its share of the connections; handlers run on those threads, so they
 * must be thread-safe and must not wait. A long poll parks instead (http.h): its
 * connection is suspended (no thread, no polling) and put on the parked list; the
 * waker thread resumes it when a wake counter it waits for moves or its wait ends,
 * and libmicrohttpd then calls on_request() again, which runs the handler again.
 * Resuming a connection that is not suspended is undefined in libmicrohttpd: a
 * connection is resumed only by whoever takes it off the parked list, under
 * park_lock, so at most once per suspension. A suspended connection never times
 * out and its client leaving goes unnoticed until it is resumed, so every park has
 * a deadline (the long poll's wait, at most a minute or so). Stopping the daemon with
 * a suspended connection is an error too: jit_http_stop closes the list, resumes
 * every parked connection (their handlers answer at once, wait_over) and only then
 * stops the daemon.
 *
 * A request reaches the handler only once it is complete: libmicrohttpd calls
 * on_request() once when the headers are in, once per piece of body, and once
 * more at the end. The body is kept up to JIT_MAX_BODY_BYTES; a Content-Length
 * above that is answered 413 before any body is read (so "Expect: 100-continue"
 * clients never send it), a body that grows past it (chunked) closes the
 * connection.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "jit_limits.h"
#include "log.h"

#define JSON_CONTENT_TYPE "application/json; charset=utf-8"
/* TLS 1.2 and 1.3 only, AEAD ciphers only (no CBC suites in TLS 1.2, security finding
 * 13); GnuTLS's NORMAL chooses the rest (ECDHE key exchange for our ECDSA key). */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:" \
	"+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:+AES-256-CCM:+AES-128-CCM:-MAC-ALL:+AEAD"
/*
 * Per connection, libmicrohttpd keeps the request line, the headers and its
 * read/write buffers in one pool of this size, so it also caps the headers (about
 * half of it): room for an Azure AD bearer token (a few KiB) and cookies, not for
 * abuse. Too large headers are answered 431 by libmicrohttpd itself.
 */
/* libmicrohttpd zeroes and keeps this pool for every open connection, so it is
 * resident memory per agent: 32 KiB x 10,000 long polls is about 320 MB. */
#define CONN_MEMORY_BYTES (32 * 1024)
/* Room for the listener, the store and logs besides the connections. */
#define NOFILE_RESERVE 64
/* A client silent this long is closed. Long polls are not idle (they are parked, which
 * libmicrohttpd never times out), so this can stay short: 20 s bounds what a silent
 * flood of connections costs everyone else. */
#define DEFAULT_IDLE_TIMEOUT_S 20
/*
 * Connections per caller, an IPv4 address or an IPv6 /64 (one host's usual allocation,
 * so a host cannot multiply itself by its addresses), counted by us (security finding
 * 2): at most PER_CALLER_CONNECTIONS in all (long polls are one per agent, and a site's
 * agents may share one address), and at most PER_CALLER_PENDING that have not yet sent
 * a whole request's headers. A connection gets FIRST_REQUEST_TIMEOUT_S to finish its TLS
 * handshake and send its first request, then the idle timeout. So idle sockets from a
 * few addresses cannot take the slots a legitimate client needs; many addresses still
 * can for a while, which only an event-driven server fixes (see docs/security.md).
 */
#define PER_CALLER_CONNECTIONS 64
#define PER_CALLER_PENDING 8
#define FIRST_REQUEST_TIMEOUT_S 5
/* For messages; JIT_MAX_BODY_BYTES is 1 MiB (a static assert keeps them together). */
#define BODY_LIMIT_TEXT "1 MiB"
_Static_assert(JIT_MAX_BODY_BYTES == 1024 * 1024, "update BODY_LIMIT_TEXT");
/* The body buffer grows from here by doubling, never past the limit plus one byte. */
#define BODY_INITIAL_CAP 4096
/* How often the waker thread looks at the parked requests' deadlines (and how long it
 * waits for a change at most). */
#define WAKER_TICK_MS 100

struct request_state;

struct jit_http_server {
	struct MHD_Daemon *daemon;
	jit_http_handler handler;
	void *ctx;
	uint16_t port;
	/* Our copies of the PEM texts, alive as long as the daemon. */
	char *cert_pem;
	char *key_pem;
	/* Set by jit_http_stop: requests that start later get 503, not the handler. */
	atomic_bool stopping;
	/* While starting, the last libmicrohttpd message, to explain a failure. */
	pthread_mutex_t msg_lock;
	bool starting;
	char start_msg[256];
	/* Connections per caller (PER_CALLER_*): one entry per caller with a connection. */
	pthread_mutex_t callers_lock;
	struct caller *callers;
	size_t n_callers;               /* entries allocated: the connection limit */
	unsigned idle_timeout_s;
	atomic_ulong connections;
	/* Parked requests (suspended connections), a list under park_lock. */
	pthread_mutex_t park_lock;
	struct request_state *parked;
	unsigned long n_parked;
	bool parking_closed;            /* jit_http_stop: nothing parks any more */
	/* The last value of each wake counter the waker has acted on, once it has one. */
	uint64_t announced[JIT_HTTP_WAKE_N];
	bool have_announced;
	jit_http_wait_change wait_change;
	void *wait_ctx;
	pthread_t waker;
	bool waker_running;
	atomic_bool waker_stop;
};

struct caller {
	bool used;
	int family;                     /* AF_INET or AF_INET6 */
	uint8_t key[8];                 /* the IPv4 address, or the IPv6 /64 */
	unsigned total, pending;
	/* Accepted by on_accept, not yet started: libmicrohttpd's threads accept at once,
	 * so the limits count these too. One that never starts (libmicrohttpd failed it
	 * after accepting) is forgotten after RESERVATION_MS. */
	unsigned reserved;
	int64_t reserved_ms;
};

#define RESERVATION_MS 5000

/* Per connection (libmicrohttpd's socket context), from accept to close. */
struct conn_state {
	int family;
	uint8_t key[8];
	bool pending;                   /* no request's headers seen yet */
};

/* What we keep about one request between libmicrohttpd's calls. */
struct request_state {
	char *body;
	size_t len;
	size_t cap;
	bool responded;               /* a response is queued; ignore the rest */
	struct timespec started;
	char request_id[37];
	/* Parking (long polls): on the parked list while suspended. */
	struct MHD_Connection *conn;
	struct request_state *prev, *next;
	bool on_list;
	bool parked_once;               /* deadline is set */
	int64_t deadline_ms;            /* CLOCK_MONOTONIC */
	enum jit_http_wake wake_on;
	uint64_t seen;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
new_request_id(char out[37])
{
	unsigned char b[16];

	if (gnutls_rnd(GNUTLS_RND_NONCE, b, sizeof(b)) < 0) {
		/* Only for correlation, never security; a clock-based id still correlates. */
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		memcpy(b, &ts, sizeof(ts) < sizeof(b) ? sizeof(ts) : sizeof(b));
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, 37,
		"%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		b[15]);
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * libmicrohttpd's unescaper, for the path and query values: "%HH" becomes the byte,
 * except "%00", which stays as written, so no decoded string is cut short by a NUL
 * (a path that silently lost its tail could name another resource). Malformed
 * escapes stay as written too; '+' is libmicrohttpd's business (query only).
 */
static size_t
unescape(void *cls, struct MHD_Connection *c, char *s)
{
	char *r = s, *w = s;
	int hi, lo;

	(void)cls;
	(void)c;
	while (*r != '\0') {
		if (r[0] == '%' && (hi = hex_value(r[1])) >= 0 && (lo = hex_value(r[2])) >= 0 &&
			(hi | lo) != 0) {
			*w++ = (char)(hi * 16 + lo);
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct jit_http_server *srv = cls;
	char msg[256];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	pthread_mutex_lock(&srv->msg_lock);
	if (srv->starting)
		memcpy(srv->start_msg, msg, sizeof(msg));
	pthread_mutex_unlock(&srv->msg_lock);
	/* Mostly clients that failed a handshake or hung up: not an operator's concern. */
	jit_log(JIT_LOG_DEBUG, "http_library", "detail", msg, NULL);
}

/* Peer address as the handler should see it: IPv4 clients of a dual-stack
 * socket arrive as ::ffff:a.b.c.d and are given back as plain IPv4. */
static void
peer_address(struct MHD_Connection *c, struct sockaddr_storage *out)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr_in6 *sin6;
	struct sockaddr_in *sin;

	memset(out, 0, sizeof(*out));
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL)
		return;
	if (ci->client_addr->sa_family == AF_INET) {
		memcpy(out, ci->client_addr, sizeof(struct sockaddr_in));
		return;
	}
	if (ci->client_addr->sa_family != AF_INET6)
		return;
	sin6 = (const struct sockaddr_in6 *)(const void *)ci->client_addr;
	if (!IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		memcpy(out, sin6, sizeof(*sin6));
		return;
	}
	sin = (struct sockaddr_in *)out;
	sin->sin_family = AF_INET;
	sin->sin_port = sin6->sin6_port;
	memcpy(&sin->sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
}

/* A caller's key: IPv4 addresses whole (v4-mapped ones too), IPv6 by their /64. */
static bool
caller_key(const struct sockaddr *sa, int *family, uint8_t key[8])
{
	memset(key, 0, 8);
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;

		*family = AF_INET;
		memcpy(key, &sin->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			*family = AF_INET;
			memcpy(key, &sin6->sin6_addr.s6_addr[12], 4);
		} else {
			*family = AF_INET6;
			memcpy(key, sin6->sin6_addr.s6_addr, 8);
		}
		return true;
	}
	return false;
}

/* The caller's entry (callers_lock held); create: take a free one if there is none. */
static struct caller *
caller_find(struct jit_http_server *srv, int family, const uint8_t key[8], bool create)
{
	struct caller *free_entry = NULL;

	for (size_t i = 0; i < srv->n_callers; i++) {
		struct caller *e = &srv->callers[i];

		if (e->used && e->family == family && memcmp(e->key, key, 8) == 0)
			return e;
		if (!e->used && free_entry == NULL)
			free_entry = e;
	}
	if (!create || free_entry == NULL)
		return NULL;
	memset(free_entry, 0, sizeof(*free_entry));
	free_entry->used = true;
	free_entry->family = family;
	memcpy(free_entry->key, key, 8);
	return free_entry;
}

/* Before libmicrohttpd takes a connection: refused when its caller has its share. */
static enum MHD_Result
on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct jit_http_server *srv = cls;
	enum MHD_Result ok = MHD_YES;
	struct caller *e;
	uint8_t key[8];
	int family;

	(void)addrlen;
	if (!caller_key(addr, &family, key))
		return MHD_YES;
	pthread_mutex_lock(&srv->callers_lock);
	if ((e = caller_find(srv, family, key, true)) != NULL) {
		if (e->reserved > 0 && mono_ms() - e->reserved_ms > RESERVATION_MS)
			e->reserved = 0;
		if (e->total + e->reserved >= PER_CALLER_CONNECTIONS ||
			e->pending + e->reserved >= PER_CALLER_PENDING) {
			ok = MHD_NO;
			if (e->total == 0 && e->reserved == 0)
				e->used = false;
		} else {
			e->reserved++;
			e->reserved_ms = mono_ms();
		}
	}
	pthread_mutex_unlock(&srv->callers_lock);
	if (ok == MHD_NO)
		jit_log(JIT_LOG_DEBUG, "connection_refused", "reason",
			"the caller has its share of connections", (const char *)NULL);
	return ok;
}

static void
on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
	enum MHD_ConnectionNotificationCode toe)
{
	struct jit_http_server *srv = cls;
	struct conn_state *cs = *socket_context;
	const union MHD_ConnectionInfo *ci;
	struct caller *e;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if ((cs = calloc(1, sizeof(*cs))) == NULL)
			return;
		if (ci == NULL || !caller_key(ci->client_addr, &cs->family, cs->key)) {
			free(cs);
			return;
		}
		pthread_mutex_lock(&srv->callers_lock);
		if ((e = caller_find(srv, cs->family, cs->key, true)) != NULL) {
			if (e->reserved > 0)
				e->reserved--;
			e->total++;
			e->pending++;
			cs->pending = true;
			*socket_context = cs;
		}
		pthread_mutex_unlock(&srv->callers_lock);
		if (*socket_context == NULL) {
			free(cs);
			return;
		}
		atomic_fetch_add(&srv->connections, 1);
		MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
			(unsigned int)FIRST_REQUEST_TIMEOUT_S);
		return;
	}
	if (toe != MHD_CONNECTION_NOTIFY_CLOSED || cs == NULL)
		return;
	atomic_fetch_sub(&srv->connections, 1);
	pthread_mutex_lock(&srv->callers_lock);
	if ((e = caller_find(srv, cs->family, cs->key, false)) != NULL) {
		e->total--;
		if (cs->pending)
			e->pending--;
		if (e->total == 0 && e->reserved == 0)
			e->used = false;
	}
	pthread_mutex_unlock(&srv->callers_lock);
	free(cs);
	*socket_context = NULL;
}

/* A connection's first request is in: it is no longer pending, and gets the idle
 * timeout from here on. */
static void
first_request_seen(struct jit_http_server *srv, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn_state *cs = ci != NULL ? ci->socket_context : NULL;
	struct caller *e;

	if (cs == NULL || !cs->pending)
		return;
	pthread_mutex_lock(&srv->callers_lock);
	cs->pending = false;
	if ((e = caller_find(srv, cs->family, cs->key, false)) != NULL && e->pending > 0)
		e->pending--;
	pthread_mutex_unlock(&srv->callers_lock);
	MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, srv->idle_timeout_s);
}

/* ARM's error body. A message may quote client bytes that are not UTF-8, which JSON
 * cannot carry: then such bytes are shown as '?' rather than the body lost. */
static json_t *
error_body(const char *code, const char *message)
{
	char safe_code[JIT_ERROR_CODE_MAX], safe_msg[JIT_ERROR_MSG_MAX];
	json_t *j;
	size_t i;

	j = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
	if (j != NULL)
		return j;
	snprintf(safe_code, sizeof(safe_code), "%s", code);
	snprintf(safe_msg, sizeof(safe_msg), "%s", message);
	for (i = 0; safe_code[i] != '\0'; i++) {
		if ((unsigned char)safe_code[i] >= 0x80)
			safe_code[i] = '?';
	}
	for (i = 0; safe_msg[i] != '\0'; i++) {
		if ((unsigned char)safe_msg[i] >= 0x80)
			safe_msg[i] = '?';
	}
	return json_pack("{s:{s:s,s:s}}", "error", "code", safe_code, "message", safe_msg);
}

void
jit_http_error(struct jit_http_response *resp, const struct jit_error *err)
{
	json_decref(resp->body);
	free(resp->raw);
	resp->raw = NULL;
	resp->raw_len = 0;
	resp->content_type = NULL;
	resp->status = err->status >= 400 && err->status <= 599 ? err->status : 500;
	resp->body = error_body(err->code[0] != '\0' ? err->code : JIT_E_INTERNAL, err->message);
	/* 503: the store is unreachable or failing over; a client (or the next replica
	 * behind the load balancer) may try again shortly. */
	if (resp->status == 503 && resp->retry_after <= 0)
		resp->retry_after = JIT_HTTP_RETRY_AFTER_UNAVAILABLE;
}

int
jit_http_add_header(struct jit_http_response *resp, const char *name, const char *value)
{
	char *copy;

	if (resp->n_headers == JIT_HTTP_MAX_HEADERS || (copy = strdup(value)) == NULL)
		return -1;
	resp->headers[resp->n_headers].name = name;
	resp->headers[resp->n_headers].value = copy;
	resp->n_headers++;
	return 0;
}

static void
response_clear(struct jit_http_response *resp)
{
	json_decref(resp->body);
	free(resp->raw);
	for (size_t i = 0; i < resp->n_headers; i++)
		free(resp->headers[i].value);
	memset(resp, 0, sizeof(*resp));
}

static bool
add_header(struct MHD_Response *r, const char *name, const char *value)
{
	return MHD_add_response_header(r, name, value) == MHD_YES;
}

/* Builds libmicrohttpd's response from ours (taking the body), or NULL. */
static struct MHD_Response *
build_response(struct jit_http_response *resp, const char *request_id, bool close)
{
	struct MHD_Response *r = NULL;
	const char *ctype = NULL;
	char *buf = NULL, num[16];
	size_t len = 0;

	if (resp->raw != NULL) {
		buf = resp->raw;
		resp->raw = NULL;
		len = resp->raw_len != 0 ? resp->raw_len : strlen(buf);
		ctype = resp->content_type != NULL ? resp->content_type : JSON_CONTENT_TYPE;
	} else if (resp->body != NULL) {
		len = json_dumpb(resp->body, NULL, 0, JSON_COMPACT);
		if (len == 0 || (buf = malloc(len)) == NULL ||
			json_dumpb(resp->body, buf, len, JSON_COMPACT) != len) {
			free(buf);
			return NULL;
		}
		ctype = JSON_CONTENT_TYPE;
	}
	if (buf != NULL)
		r = MHD_create_response_from_buffer_with_free_callback(len, buf, free);
	else
		r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		free(buf);
		return NULL;
	}
	if ((ctype != NULL && !add_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype)) ||
		!add_header(r, "x-ms-request-id", request_id) ||
		!add_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
			resp->cache_control != NULL ? resp->cache_control : "no-store") ||
		!add_header(r, "X-Content-Type-Options", "nosniff") ||
		(resp->location[0] != '\0' &&
			!add_header(r, MHD_HTTP_HEADER_LOCATION, resp->location)) ||
		(close && !add_header(r, MHD_HTTP_HEADER_CONNECTION, "close")))
		goto fail;
	if (resp->retry_after > 0) {
		snprintf(num, sizeof(num), "%d", resp->retry_after);
		if (!add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, num))
			goto fail;
	}
	for (size_t i = 0; i < resp->n_headers; i++)
		if (!add_header(r, resp->headers[i].name, resp->headers[i].value))
			goto fail;
	return r;
fail:
	MHD_destroy_response(r);
	return NULL;
}

/* Queues resp (and frees what it owns); a response that cannot be built becomes a 500. */
static enum MHD_Result
queue(struct MHD_Connection *c, struct request_state *rs, struct jit_http_response *resp,
	bool close)
{
	static const char fallback[] =
		"{\"error\":{\"code\":\"InternalServerError\",\"message\":\"internal error\"}}";
	struct MHD_Response *r;
	enum MHD_Result ret;
	int status = resp->status;

	r = build_response(resp, rs->request_id, close);
	response_clear(resp);
	if (r == NULL) {
		jit_log(JIT_LOG_ERROR, "http_response_failed", "request_id", rs->request_id, NULL);
		status = 500;
		r = MHD_create_response_from_buffer(sizeof(fallback) - 1, (void *)fallback,
			MHD_RESPMEM_PERSISTENT);
		if (r == NULL)
			return MHD_NO;
		if (!add_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, JSON_CONTENT_TYPE) ||
			!add_header(r, "x-ms-request-id", rs->request_id) ||
			!add_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store")) {
			MHD_destroy_response(r);
			return MHD_NO;
		}
	}
	rs->responded = true;
	ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static void
log_request(const struct request_state *rs, const char *method, const char *path, int status,
	const struct sockaddr_storage *peer)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)peer;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)peer;
	char addr[INET6_ADDRSTRLEN] = "", st[8], ms[24];
	struct timespec now;
	long long elapsed;

	if (peer->ss_family == AF_INET)
		inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
	else if (peer->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
	clock_gettime(CLOCK_MONOTONIC, &now);
	elapsed = (long long)(now.tv_sec - rs->started.tv_sec) * 1000 +
		(now.tv_nsec - rs->started.tv_nsec) / 1000000;
	snprintf(st, sizeof(st), "%d", status);
	snprintf(ms, sizeof(ms), "%lld", elapsed);
	jit_log(JIT_LOG_DEBUG, "http_request", "request_id", rs->request_id, "method", method,
		"path", path, "status", st, "ms", ms, "peer", addr, NULL);
}

/* Answers before the handler runs (too large, shutting down), closing the connection
 * so that no body that may follow is read. */
static enum MHD_Result
answer_early(struct MHD_Connection *c, struct request_state *rs, const char *method,
	const char *url, int status, const char *code, const char *message)
{
	struct jit_http_response resp;
	struct sockaddr_storage peer;
	struct jit_error e;

	memset(&resp, 0, sizeof(resp));
	jit_errorf(&e, status, code, "%s", message);
	jit_http_error(&resp, &e);
	peer_address(c, &peer);
	log_request(rs, method, url, status, &peer);
	return queue(c, rs, &resp, true);
}

void
jit_http_park(struct jit_http_response *resp, enum jit_http_wake on, uint64_t seen,
	unsigned wait_ms)
{
	resp->park.set = true;
	resp->park.on = on;
	resp->park.seen = seen;
	resp->park.wait_ms = wait_ms;
}

/* Takes rs off the parked list and resumes its connection (park_lock held). Being on
 * the list means being suspended, so this is the only place that resumes. */
static void
unpark(struct jit_http_server *srv, struct request_state *rs)
{
	if (rs->prev != NULL)
		rs->prev->next = rs->next;
	else
		srv->parked = rs->next;
	if (rs->next != NULL)
		rs->next->prev = rs->prev;
	rs->prev = rs->next = NULL;
	rs->on_list = false;
	srv->n_parked--;
	MHD_resume_connection(rs->conn);
}

/*
 * Parks rs (suspends its connection) unless its counter has moved past what the
 * handler saw, or parking is closed: then false, and the handler runs again. The
 * check and the insertion are under park_lock, as are the waker's announcements, so
 * a change announced before the insertion is seen here and one after it finds rs on
 * the list: no wake-up is lost.
 */
static bool
park(struct jit_http_server *srv, struct MHD_Connection *c, struct request_state *rs,
	const struct jit_http_response *resp)
{
	bool parked = false;

	pthread_mutex_lock(&srv->park_lock);
	if (!srv->parking_closed && (!srv->have_announced ||
		srv->announced[resp->park.on] == resp->park.seen)) {
		if (!rs->parked_once) {
			rs->parked_once = true;
			rs->deadline_ms = mono_ms() + resp->park.wait_ms;
		}
		rs->wake_on = resp->park.on;
		rs->seen = resp->park.seen;
		rs->conn = c;
		MHD_suspend_connection(c);
		rs->prev = NULL;
		rs->next = srv->parked;
		if (srv->parked != NULL)
			srv->parked->prev = rs;
		srv->parked = rs;
		rs->on_list = true;
		srv->n_parked++;
		parked = true;
	}
	pthread_mutex_unlock(&srv->park_lock);
	return parked;
}

/* The request is complete: hand it to the handler and send what it answers, or park
 * it (long polls) until its handler has something to say. */
static enum MHD_Result
dispatch(struct jit_http_server *srv, struct MHD_Connection *c, struct request_state *rs,
	const char *url, const char *method)
{
	struct jit_http_request req;
	struct jit_http_response resp, want;
	struct jit_error e;

	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = url;
	req.body = rs->body != NULL ? rs->body : "";
	req.body_len = rs->len;
	req.conn = c;
	memcpy(req.request_id, rs->request_id, sizeof(req.request_id));
	peer_address(c, &req.peer);
	for (;;) {
		memset(&resp, 0, sizeof(resp));
		req.wait_over = rs->parked_once && (atomic_load(&srv->stopping) ||
			mono_ms() >= rs->deadline_ms);
		if (url[0] != '/') {
			jit_errorf(&e, 400, JIT_E_BAD_REQUEST, "the request target must be a path");
			jit_http_error(&resp, &e);
		} else {
			srv->handler(srv->ctx, &req, &resp);
		}
		if (!resp.park.set)
			break;
		if (req.wait_over) {
			/* A handler must answer once the wait is over. */
			response_clear(&resp);
			break;
		}
		want = resp;
		response_clear(&resp);
		if (park(srv, c, rs, &want))
			return MHD_YES;
		/* Its counter moved meanwhile, or the server stops: look again now. */
		if (atomic_load(&srv->stopping) && !rs->parked_once) {
			rs->parked_once = true;
			rs->deadline_ms = 0;
		}
	}
	if (resp.status < 100 || resp.status > 599) {
		jit_log(JIT_LOG_ERROR, "http_no_response", "request_id", rs->request_id, "method",
			method, "path", url, NULL);
		jit_errorf(&e, 500, JIT_E_INTERNAL, "the server could not answer this request");
		jit_http_error(&resp, &e);
	}
	log_request(rs, method, url, resp.status, &req.peer);
	return queue(c, rs, &resp, false);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
	const char *version, const char *upload, size_t *upload_size, void **req_cls)
{
	struct jit_http_server *srv = cls;
	struct request_state *rs = *req_cls;
	const char *cl;
	char *end, *nb;
	unsigned long long n;
	size_t cap;

	(void)version;
	if (rs == NULL) {
		/* Headers are in; no body has been read yet. */
		if ((rs = calloc(1, sizeof(*rs))) == NULL)
			return MHD_NO;
		*req_cls = rs;
		first_request_seen(srv, c);
		clock_gettime(CLOCK_MONOTONIC, &rs->started);
		new_request_id(rs->request_id);
		if (atomic_load(&srv->stopping))
			return answer_early(c, rs, method, url, 503, JIT_E_UNAVAILABLE,
				"the server is shutting down");
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
			MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL) {
			errno = 0;
			n = strtoull(cl, &end, 10);
			if (end != cl && (errno == ERANGE || n > JIT_MAX_BODY_BYTES))
				return answer_early(c, rs, method, url, 413, JIT_E_TOO_LARGE,
					"the request body is larger than " BODY_LIMIT_TEXT);
		}
		return MHD_YES;
	}
	if (rs->responded) {
		/* Answered early (413, 503): the rest of the body is not wanted. */
		return MHD_NO;
	}
	if (*upload_size > 0) {
		if (*upload_size > JIT_MAX_BODY_BYTES - rs->len) {
			/* Chunked past the limit: libmicrohttpd cannot answer mid-body, so hang up. */
			jit_log(JIT_LOG_DEBUG, "http_body_too_large", "request_id", rs->request_id,
				NULL);
			return MHD_NO;
		}
		if (rs->len + *upload_size + 1 > rs->cap) {
			cap = rs->cap != 0 ? rs->cap : BODY_INITIAL_CAP;
			while (cap < rs->len + *upload_size + 1)
				cap *= 2;
			if (cap > JIT_MAX_BODY_BYTES + 1)
				cap = JIT_MAX_BODY_BYTES + 1;
			if ((nb = realloc(rs->body, cap)) == NULL)
				return MHD_NO;
			rs->body = nb;
			rs->cap = cap;
		}
		memcpy(rs->body + rs->len, upload, *upload_size);
		rs->len += *upload_size;
		rs->body[rs->len] = '\0';
		*upload_size = 0;
		return MHD_YES;
	}
	return dispatch(srv, c, rs, url, method);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
	enum MHD_RequestTerminationCode toe)
{
	struct request_state *rs = *req_cls;

	(void)c;
	(void)toe;
	if (rs == NULL)
		return;
	if (rs->on_list) {
		/* Never expected (jit_http_stop empties the list before it stops the daemon),
		 * but a freed entry must not stay on the list. */
		struct jit_http_server *srv = cls;

		pthread_mutex_lock(&srv->park_lock);
		if (rs->on_list) {
			if (rs->prev != NULL)
				rs->prev->next = rs->next;
			else
				srv->parked = rs->next;
			if (rs->next != NULL)
				rs->next->prev = rs->prev;
			rs->on_list = false;
			srv->n_parked--;
		}
		pthread_mutex_unlock(&srv->park_lock);
	}
	free(rs->body);
	free(rs);
	*req_cls = NULL;
}

const char *
jit_http_query(const struct jit_http_request *req, const char *key)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *
jit_http_header(const struct jit_http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *
jit_http_cookie(const struct jit_http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

/* Parses an IP literal into addr; sets the libmicrohttpd flags its family needs. */
static int
listen_address(const char *host, uint16_t port, struct sockaddr_storage *addr,
	unsigned *flags, struct jit_error *err)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)addr;

	memset(addr, 0, sizeof(*addr));
	if (host == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "no listen address");
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		/* libmicrohttpd picks the socket's family from these flags, not from addr.
		 * "::" also takes IPv4 (dual stack); any other IPv6 address is v6 only. */
		if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
			*flags |= MHD_USE_DUAL_STACK;
		else
			*flags |= MHD_USE_IPv6;
		return 0;
	}
	return jit_errorf(err, 500, JIT_E_INTERNAL,
		"listen address \"%.64s\" is not an IPv4 or IPv6 address", host);
}

/* Resumes the parked requests whose counter moved (now: the counters' values; NULL:
 * only deadlines) or whose wait is over (park_lock taken here). */
static void
wake(struct jit_http_server *srv, const uint64_t *now)
{
	int64_t t = mono_ms();
	struct request_state *rs, *next;

	pthread_mutex_lock(&srv->park_lock);
	if (now != NULL) {
		memcpy(srv->announced, now, sizeof(srv->announced));
		srv->have_announced = true;
	}
	for (rs = srv->parked; rs != NULL; rs = next) {
		next = rs->next;
		if (t >= rs->deadline_ms || (now != NULL && now[rs->wake_on] != rs->seen))
			unpark(srv, rs);
	}
	pthread_mutex_unlock(&srv->park_lock);
}

/* The waker: one thread for every parked request, woken by the counters' changes. */
static void *
waker_loop(void *arg)
{
	struct jit_http_server *srv = arg;
	uint64_t seen[JIT_HTTP_WAKE_N], now[JIT_HTTP_WAKE_N];
	bool first = true;

	memset(seen, 0, sizeof(seen));
	while (!atomic_load(&srv->waker_stop)) {
		if (srv->wait_change == NULL) {
			usleep(WAKER_TICK_MS * 1000);
			wake(srv, NULL);
			continue;
		}
		memcpy(now, seen, sizeof(now));
		srv->wait_change(srv->wait_ctx, seen, now, first ? 0 : WAKER_TICK_MS);
		first = false;
		wake(srv, now);
		memcpy(seen, now, sizeof(seen));
	}
	return NULL;
}

void
jit_http_counts(struct jit_http_server *srv, struct jit_http_counts *out)
{
	out->connections = atomic_load(&srv->connections);
	pthread_mutex_lock(&srv->park_lock);
	out->parked = srv->n_parked;
	pthread_mutex_unlock(&srv->park_lock);
}

/* The connection limit RLIMIT_NOFILE allows (one descriptor each, and a reserve). */
static unsigned
fd_bounded_limit(unsigned want, bool asked)
{
	struct rlimit rl;
	char from[16], to[16];
	unsigned allowed;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return want;
	allowed = rl.rlim_cur > NOFILE_RESERVE + 16 ? (unsigned)(rl.rlim_cur - NOFILE_RESERVE) : 16;
	if (rl.rlim_cur > UINT_MAX)
		allowed = UINT_MAX - NOFILE_RESERVE;
	if (want <= allowed)
		return want;
	snprintf(from, sizeof(from), "%u", want);
	snprintf(to, sizeof(to), "%u", allowed);
	/* Only an operator's own limit that cannot be had is worth a warning. */
	jit_log(asked ? JIT_LOG_WARN : JIT_LOG_INFO, "connection_limit_lowered", "asked", from, "allowed", to, "reason",
		"RLIMIT_NOFILE (raise LimitNOFILE=)", (const char *)NULL);
	return allowed;
}

static unsigned
pool_size(unsigned want, unsigned limit)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = want;

	if (n == 0)
		n = cores > 0 ? (unsigned)(2 * cores) : 4;
	if (n < 4 && want == 0)
		n = 4;
	if (n > 64)
		n = 64;
	/* libmicrohttpd shares the connection limit out among its threads. */
	if (n > limit)
		n = limit;
	return n;
}

int
jit_http_start(const struct jit_http_config *cfg, struct jit_http_server **out,
	struct jit_error *err)
{
	unsigned max_conn, threads;
	struct jit_http_server *srv;
	struct sockaddr_storage addr;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_TLS | MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
		MHD_USE_ERROR_LOG;

	*out = NULL;
	if (cfg->handler == NULL || cfg->cert_pem == NULL || cfg->key_pem == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL,
			"the HTTPS server needs a handler, a certificate and a key");
	if (listen_address(cfg->listen_addr, cfg->port, &addr, &flags, err) != 0)
		return -1;
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	pthread_mutex_init(&srv->msg_lock, NULL);
	pthread_mutex_init(&srv->callers_lock, NULL);
	pthread_mutex_init(&srv->park_lock, NULL);
	atomic_init(&srv->stopping, false);
	atomic_init(&srv->connections, 0);
	atomic_init(&srv->waker_stop, false);
	srv->wait_change = cfg->wait_change;
	srv->wait_ctx = cfg->wait_ctx;
	srv->idle_timeout_s = cfg->idle_timeout_s != 0 ? cfg->idle_timeout_s :
		DEFAULT_IDLE_TIMEOUT_S;
	max_conn = fd_bounded_limit(cfg->max_connections != 0 ? cfg->max_connections :
		JIT_HTTP_DEFAULT_MAX_CONNECTIONS, cfg->max_connections != 0);
	threads = pool_size(cfg->threads, max_conn);
	srv->n_callers = max_conn;
	if ((srv->callers = calloc(srv->n_callers, sizeof(*srv->callers))) == NULL) {
		pthread_mutex_destroy(&srv->msg_lock);
		pthread_mutex_destroy(&srv->callers_lock);
		pthread_mutex_destroy(&srv->park_lock);
		free(srv);
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	}
	srv->handler = cfg->handler;
	srv->ctx = cfg->ctx;
	srv->cert_pem = strdup(cfg->cert_pem);
	srv->key_pem = strdup(cfg->key_pem);
	if (srv->cert_pem == NULL || srv->key_pem == NULL) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
		goto fail;
	}
	srv->starting = true;
	/* The logger goes first, or libmicrohttpd prints earlier messages itself. */
	srv->daemon = MHD_start_daemon(flags, cfg->port, on_accept, srv, on_request, srv,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
		/* Socket activation: serve systemd's socket; MHD_INVALID_SOCKET, open our own. */
		MHD_OPTION_LISTEN_SOCKET, cfg->listen_fd > 2 ? cfg->listen_fd : MHD_INVALID_SOCKET,
		MHD_OPTION_HTTPS_MEM_KEY, srv->key_pem,
		MHD_OPTION_HTTPS_MEM_CERT, srv->cert_pem,
		MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES,
		MHD_OPTION_CONNECTION_LIMIT, max_conn,
		MHD_OPTION_THREAD_POOL_SIZE, threads,
		MHD_OPTION_CONNECTION_TIMEOUT, srv->idle_timeout_s,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY_BYTES,
		MHD_OPTION_STRICT_FOR_CLIENT, 1,
		MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
		MHD_OPTION_END);
	pthread_mutex_lock(&srv->msg_lock);
	srv->starting = false;
	pthread_mutex_unlock(&srv->msg_lock);
	if (srv->daemon == NULL) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "cannot serve HTTPS on %s port %u: %s",
			cfg->listen_addr, (unsigned)cfg->port,
			srv->start_msg[0] != '\0' ? srv->start_msg : "libmicrohttpd did not start");
		goto fail;
	}
	info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = info != NULL ? info->port : cfg->port;
	if (pthread_create(&srv->waker, NULL, waker_loop, srv) != 0) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "cannot start the long polls' waker thread");
		goto fail;
	}
	srv->waker_running = true;
	*out = srv;
	return 0;
fail:
	jit_http_stop(srv);
	return -1;
}

uint16_t
jit_http_port(const struct jit_http_server *srv)
{
	return srv->port;
}

void
jit_http_stop(struct jit_http_server *srv)
{
	if (srv == NULL)
		return;
	atomic_store(&srv->stopping, true);
	if (srv->waker_running) {
		atomic_store(&srv->waker_stop, true);
		pthread_join(srv->waker, NULL);
	}
	/* No new parks; every parked request is resumed and answered (wait_over). */
	pthread_mutex_lock(&srv->park_lock);
	srv->parking_closed = true;
	while (srv->parked != NULL)
		unpark(srv, srv->parked);
	pthread_mutex_unlock(&srv->park_lock);
	/* Closes every connection (the resumed ones are resumed first), then joins the
	 * threads: this returns once every running handler has returned. */
	if (srv->daemon != NULL)
		MHD_stop_daemon(srv->daemon);
	pthread_mutex_destroy(&srv->msg_lock);
	pthread_mutex_destroy(&srv->callers_lock);
	pthread_mutex_destroy(&srv->park_lock);
	free(srv->callers);
	free(srv->cert_pem);
	if (srv->key_pem != NULL) {
		explicit_bzero(srv->key_pem, strlen(srv->key_pem));
		free(srv->key_pem);
	}
	free(srv);
}
