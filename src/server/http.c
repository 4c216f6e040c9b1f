/*
 * http.c: the HTTPS front of jitgated (see http.h), on libmicrohttpd and GnuTLS.
 *
 * Thread model: libmicrohttpd runs one listening thread and one thread per
 * connection; the handler runs on the connection's thread, so it may block (an
 * agent's long poll) without holding up anyone else, and must be thread-safe.
 * The connection limit bounds the threads.
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
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
#define CONN_MEMORY_BYTES (64 * 1024)
#define DEFAULT_MAX_CONNECTIONS 256
/* A client silent this long is closed. Long polls are not idle (their handler is
 * running), so this can stay short: 20 s bounds what a silent flood of connections
 * costs everyone else. */
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
};

struct caller {
	bool used;
	int family;                     /* AF_INET or AF_INET6 */
	uint8_t key[8];                 /* the IPv4 address, or the IPv6 /64 */
	unsigned total, pending;
};

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
};

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
	const struct caller *e;
	uint8_t key[8];
	int family;

	(void)addrlen;
	if (!caller_key(addr, &family, key))
		return MHD_YES;
	pthread_mutex_lock(&srv->callers_lock);
	e = caller_find(srv, family, key, false);
	if (e != NULL && (e->total >= PER_CALLER_CONNECTIONS || e->pending >= PER_CALLER_PENDING))
		ok = MHD_NO;
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
		MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
			(unsigned int)FIRST_REQUEST_TIMEOUT_S);
		return;
	}
	if (toe != MHD_CONNECTION_NOTIFY_CLOSED || cs == NULL)
		return;
	pthread_mutex_lock(&srv->callers_lock);
	if ((e = caller_find(srv, cs->family, cs->key, false)) != NULL) {
		e->total--;
		if (cs->pending)
			e->pending--;
		if (e->total == 0)
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

/* The request is complete: hand it to the handler and send what it answers. */
static enum MHD_Result
dispatch(struct jit_http_server *srv, struct MHD_Connection *c, struct request_state *rs,
	const char *url, const char *method)
{
	struct jit_http_request req;
	struct jit_http_response resp;
	struct jit_error e;

	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	req.method = method;
	req.path = url;
	req.body = rs->body != NULL ? rs->body : "";
	req.body_len = rs->len;
	req.conn = c;
	memcpy(req.request_id, rs->request_id, sizeof(req.request_id));
	peer_address(c, &req.peer);
	if (url[0] != '/') {
		jit_errorf(&e, 400, JIT_E_BAD_REQUEST, "the request target must be a path");
		jit_http_error(&resp, &e);
	} else {
		srv->handler(srv->ctx, &req, &resp);
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

	(void)cls;
	(void)c;
	(void)toe;
	if (rs == NULL)
		return;
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

int
jit_http_start(const struct jit_http_config *cfg, struct jit_http_server **out,
	struct jit_error *err)
{
	struct jit_http_server *srv;
	struct sockaddr_storage addr;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD |
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC | MHD_USE_ERROR_LOG;

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
	atomic_init(&srv->stopping, false);
	srv->idle_timeout_s = cfg->idle_timeout_s != 0 ? cfg->idle_timeout_s :
		DEFAULT_IDLE_TIMEOUT_S;
	srv->n_callers = cfg->max_connections != 0 ? cfg->max_connections :
		DEFAULT_MAX_CONNECTIONS;
	if ((srv->callers = calloc(srv->n_callers, sizeof(*srv->callers))) == NULL) {
		pthread_mutex_destroy(&srv->msg_lock);
		pthread_mutex_destroy(&srv->callers_lock);
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
		MHD_OPTION_CONNECTION_LIMIT,
		cfg->max_connections != 0 ? cfg->max_connections : DEFAULT_MAX_CONNECTIONS,
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
	/* Closes every connection, then joins each connection thread: this returns
	 * once every running handler has returned. */
	if (srv->daemon != NULL)
		MHD_stop_daemon(srv->daemon);
	pthread_mutex_destroy(&srv->msg_lock);
	pthread_mutex_destroy(&srv->callers_lock);
	free(srv->callers);
	free(srv->cert_pem);
	if (srv->key_pem != NULL) {
		explicit_bzero(srv->key_pem, strlen(srv->key_pem));
		free(srv->key_pem);
	}
	free(srv);
}
