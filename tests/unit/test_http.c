/*
 * test_http.c: the HTTPS front end to end, over loopback with libcurl: requests reach
 * the handler whole, responses carry their headers, bodies and headers are bounded,
 * old TLS is refused, idle clients are dropped, connections are limited (parked ones
 * too), a parked request (a long poll) is woken by its counter and by its deadline,
 * costs nothing once its client has gone, and is answered by jit_http_stop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "http.h"
#include "jit_limits.h"
#include "tls.h"

/* What the test handler shares with the tests: a gate that /block waits on. */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int entered;
	bool open;
};

/* The wake counters the test server's waker watches (http.h's wait_change). */
struct counters {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t v[JIT_HTTP_WAKE_N];
};

static struct {
	char dir[64];
	struct counters counters;
	char cert_path[128];
	char *cert;
	char *key;
	struct gate gate;
} fx;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
peer_string(const struct sockaddr_storage *ss, char *out, size_t n)
{
	out[0] = '\0';
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ss)->sin_addr, out,
			(socklen_t)n);
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr,
			out, (socklen_t)n);
}

static void
handler(void *ctx, const struct jit_http_request *req, struct jit_http_response *resp)
{
	struct gate *g = ctx;
	struct jit_error e;
	char peer[INET6_ADDRSTRLEN];

	if (strcmp(req->path, "/status0") == 0)
		return;
	if (strcmp(req->path, "/raw") == 0) {
		resp->status = 200;
		resp->raw = strdup("hello\n");
		resp->content_type = "text/plain; charset=utf-8";
		return;
	}
	if (strcmp(req->path, "/binary") == 0) {
		resp->status = 200;
		resp->raw = malloc(3);
		memcpy(resp->raw, "a\0b", 3);
		resp->raw_len = 3;
		resp->content_type = "application/octet-stream";
		return;
	}
	if (strcmp(req->path, "/accepted") == 0) {
		resp->status = 202;
		snprintf(resp->location, sizeof(resp->location), "/operations/%s",
			req->request_id);
		resp->retry_after = 7;
		return;
	}
	if (strcmp(req->path, "/missing") == 0) {
		jit_errorf(&e, 404, JIT_E_NOT_FOUND, "policy \"x\" was not found");
		jit_http_error(resp, &e);
		return;
	}
	if (strcmp(req->path, "/bad-location") == 0) {
		resp->status = 201;
		snprintf(resp->location, sizeof(resp->location), "/a\r\nX-Injected: 1");
		return;
	}
	if (strcmp(req->path, "/park") == 0) {
		/* A long poll: ?have=N&ms=M parks while counter 0 is N, for at most M ms. */
		uint64_t now;

		pthread_mutex_lock(&fx.counters.lock);
		now = fx.counters.v[JIT_HTTP_WAKE_DESIRED];
		pthread_mutex_unlock(&fx.counters.lock);
		if (!req->wait_over && now == strtoull(jit_http_query(req, "have"), NULL, 10)) {
			jit_http_park(resp, JIT_HTTP_WAKE_DESIRED, now,
				(unsigned)atoi(jit_http_query(req, "ms")));
			return;
		}
		resp->status = 200;
		resp->body = json_pack("{s:I,s:b}", "counter", (json_int_t)now, "wait_over",
			req->wait_over);
		return;
	}
	if (strcmp(req->path, "/sleep") == 0)
		usleep((useconds_t)atoi(jit_http_query(req, "ms")) * 1000);
	if (strcmp(req->path, "/block") == 0) {
		pthread_mutex_lock(&g->lock);
		g->entered++;
		pthread_cond_broadcast(&g->cond);
		while (!g->open)
			pthread_cond_wait(&g->cond, &g->lock);
		pthread_mutex_unlock(&g->lock);
	}
	peer_string(&req->peer, peer, sizeof(peer));
	resp->status = 200;
	resp->body = json_pack("{s:s,s:s,s:s%,s:I,s:s?,s:s?,s:s,s:s}", "method", req->method,
		"path", req->path, "body", req->body_len < 4096 ? req->body : "",
		req->body_len < 4096 ? req->body_len : 0, "body_len", (json_int_t)req->body_len,
		"query", jit_http_query(req, "q"), "header", jit_http_header(req, "x-test"), "peer",
		peer, "request_id", req->request_id);
}

static void
wait_change(void *ctx, const uint64_t seen[JIT_HTTP_WAKE_N], uint64_t now[JIT_HTTP_WAKE_N],
	int timeout_ms)
{
	struct counters *k = ctx;
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_nsec += (long)timeout_ms * 1000000L;
	dl.tv_sec += dl.tv_nsec / 1000000000L;
	dl.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&k->lock);
	while (timeout_ms > 0 && memcmp(seen, k->v, sizeof(k->v)) == 0)
		if (pthread_cond_timedwait(&k->cond, &k->lock, &dl) != 0)
			break;
	memcpy(now, k->v, sizeof(k->v));
	pthread_mutex_unlock(&k->lock);
}

static void
bump(void)
{
	pthread_mutex_lock(&fx.counters.lock);
	fx.counters.v[JIT_HTTP_WAKE_DESIRED]++;
	pthread_cond_broadcast(&fx.counters.cond);
	pthread_mutex_unlock(&fx.counters.lock);
}

static uint64_t
counter(void)
{
	uint64_t v;

	pthread_mutex_lock(&fx.counters.lock);
	v = fx.counters.v[JIT_HTTP_WAKE_DESIRED];
	pthread_mutex_unlock(&fx.counters.lock);
	return v;
}

static struct jit_http_server *
start(const char *addr, unsigned max_conn, unsigned idle_s)
{
	struct jit_http_config cfg = {
		.listen_addr = addr,
		.port = 0,
		.cert_pem = fx.cert,
		.key_pem = fx.key,
		.max_connections = max_conn,
		.idle_timeout_s = idle_s,
		.handler = handler,
		.ctx = &fx.gate,
		.wait_change = wait_change,
		.wait_ctx = &fx.counters,
	};
	struct jit_http_server *srv = NULL;
	struct jit_error e;

	if (jit_http_start(&cfg, &srv, &e) != 0) {
		print_message("# start on %s: %s\n", addr, e.message);
		return NULL;
	}
	assert_int_not_equal(jit_http_port(srv), 0);
	return srv;
}

struct reply {
	CURLcode rc;
	long status;
	char *body;
	size_t len;
	char headers[8192];
	size_t hlen;
	json_t *json;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	char *nb = realloc(r->body, r->len + size * n + 1);

	if (nb == NULL)
		return 0;
	r->body = nb;
	memcpy(r->body + r->len, p, size * n);
	r->len += size * n;
	r->body[r->len] = '\0';
	return size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t k = size * n;

	if (r->hlen + k < sizeof(r->headers)) {
		memcpy(r->headers + r->hlen, p, k);
		r->hlen += k;
		r->headers[r->hlen] = '\0';
	}
	return k;
}

/* Chunked uploads of a given size, from a read callback. */
struct upload {
	size_t left;
};

static size_t
on_read(char *p, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t k = size * n < u->left ? size * n : u->left;

	memset(p, 'x', k);
	u->left -= k;
	return k;
}

struct req {
	const char *method;
	const char *host;             /* default 127.0.0.1 */
	const char *path;
	const char *body;
	size_t body_len;
	const char *header;           /* one extra request header, or NULL */
	long tls_min, tls_max;        /* CURL_SSLVERSION_*; 0: default */
	size_t chunked_len;           /* > 0: a chunked upload of this many bytes */
	long timeout_s;               /* 0: 20 */
};

static void
perform(struct jit_http_server *srv, const struct req *q, struct reply *r)
{
	struct curl_slist *hdrs = NULL;
	struct upload up = { q->chunked_len };
	char url[512];
	CURL *c;

	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "https://%s:%u%s", q->host != NULL ? q->host : "127.0.0.1",
		(unsigned)jit_http_port(srv), q->path);
	c = curl_easy_init();
	assert_non_null(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, fx.cert_path);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, q->timeout_s != 0 ? q->timeout_s : 20L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	if (q->method != NULL)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
	if (q->body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	}
	if (q->chunked_len > 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &up);
		hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
	}
	if (q->header != NULL)
		hdrs = curl_slist_append(hdrs, q->header);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (q->tls_min != 0)
		curl_easy_setopt(c, CURLOPT_SSLVERSION, q->tls_min | q->tls_max);
	r->rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->body != NULL)
		r->json = json_loads(r->body, 0, NULL);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
}

static void
reply_free(struct reply *r)
{
	free(r->body);
	json_decref(r->json);
}

static const char *
jstr(const json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

static const char *
error_code(const struct reply *r)
{
	return json_string_value(json_object_get(json_object_get(r->json, "error"), "code"));
}

/* The value of a response header (name lower case), copied into out. */
static bool
header(const struct reply *r, const char *name, char *out, size_t n)
{
	const char *p = r->headers, *eol;
	size_t k = strlen(name);

	while ((eol = strstr(p, "\r\n")) != NULL) {
		if (strncasecmp(p, name, k) == 0 && p[k] == ':') {
			p += k + 1;
			while (*p == ' ')
				p++;
			snprintf(out, n, "%.*s", (int)(eol - p), p);
			return true;
		}
		p = eol + 2;
	}
	return false;
}

static void
assert_request_id(const struct reply *r)
{
	char id[64];
	regex_t re;

	assert_true(header(r, "x-ms-request-id", id, sizeof(id)));
	assert_int_equal(regcomp(&re,
		"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
		REG_EXTENDED | REG_NOSUB), 0);
	assert_int_equal(regexec(&re, id, 0, NULL, 0), 0);
	regfree(&re);
}

static void
test_get_put_post_round_trip(void **state)
{
	struct jit_http_server *srv = *state;
	struct reply r, r2;
	char v[256];

	perform(srv, &(struct req){ .path = "/a/b?q=v%20w&api-version=2020-01-01",
		.header = "X-Test: hi there" }, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_non_null(r.json);
	assert_string_equal(jstr(r.json, "method"), "GET");
	assert_string_equal(jstr(r.json, "path"), "/a/b");
	assert_string_equal(jstr(r.json, "body"), "");
	assert_string_equal(jstr(r.json, "query"), "v w");
	assert_string_equal(jstr(r.json, "header"), "hi there");
	assert_string_equal(jstr(r.json, "peer"), "127.0.0.1");
	assert_true(header(&r, "content-type", v, sizeof(v)));
	assert_string_equal(v, "application/json; charset=utf-8");
	assert_true(header(&r, "cache-control", v, sizeof(v)));
	assert_string_equal(v, "no-store");
	assert_request_id(&r);
	assert_true(header(&r, "x-ms-request-id", v, sizeof(v)));
	assert_string_equal(v, jstr(r.json, "request_id"));
	/* Compact JSON: no spaces after separators. */
	assert_null(strstr(r.body, "\": "));

	perform(srv, &(struct req){ .method = "PUT", .path = "/p", .body = "{\"x\": 1}",
		.body_len = 8 }, &r2);
	assert_int_equal(r2.status, 200);
	assert_string_equal(jstr(r2.json, "method"), "PUT");
	assert_string_equal(jstr(r2.json, "body"), "{\"x\": 1}");
	assert_null(jstr(r2.json, "query"));
	assert_null(jstr(r2.json, "header"));
	/* Every request gets its own id. */
	assert_string_not_equal(jstr(r.json, "request_id"), jstr(r2.json, "request_id"));
	reply_free(&r2);

	perform(srv, &(struct req){ .method = "POST", .path = "/p/initiate", .body = "{}",
		.body_len = 2 }, &r2);
	assert_int_equal(r2.status, 200);
	assert_string_equal(jstr(r2.json, "method"), "POST");
	assert_string_equal(jstr(r2.json, "body"), "{}");
	reply_free(&r2);

	perform(srv, &(struct req){ .method = "DELETE", .path = "/p" }, &r2);
	assert_int_equal(r2.status, 200);
	assert_string_equal(jstr(r2.json, "method"), "DELETE");
	reply_free(&r2);
	reply_free(&r);
}

static void
test_path_and_query_decoding(void **state)
{
	struct jit_http_server *srv = *state;
	struct reply r;

	perform(srv, &(struct req){ .path = "/sub%20s/a%2Fb%00c+d?q=a+b%26c" }, &r);
	assert_int_equal(r.status, 200);
	/* %HH decoded except %00; '+' is literal in the path, a space in the query. */
	assert_string_equal(jstr(r.json, "path"), "/sub s/a/b%00c+d");
	assert_string_equal(jstr(r.json, "query"), "a b&c");
	reply_free(&r);
}

static void
test_raw_location_retry_after_errors(void **state)
{
	struct jit_http_server *srv = *state;
	struct reply r;
	char v[256];

	perform(srv, &(struct req){ .path = "/raw" }, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello\n");
	assert_true(header(&r, "content-type", v, sizeof(v)));
	assert_string_equal(v, "text/plain; charset=utf-8");
	assert_request_id(&r);
	reply_free(&r);

	perform(srv, &(struct req){ .path = "/binary" }, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, 3);
	assert_memory_equal(r.body, "a\0b", 3);
	reply_free(&r);

	perform(srv, &(struct req){ .path = "/accepted" }, &r);
	assert_int_equal(r.status, 202);
	assert_int_equal(r.len, 0);
	assert_true(header(&r, "location", v, sizeof(v)));
	assert_int_equal(strncmp(v, "/operations/", 12), 0);
	assert_true(header(&r, "retry-after", v, sizeof(v)));
	assert_string_equal(v, "7");
	reply_free(&r);

	perform(srv, &(struct req){ .path = "/missing" }, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(error_code(&r), "NotFound");
	assert_int_equal(json_object_size(r.json), 1);
	reply_free(&r);

	/* A header value that would split the response becomes a 500, never a header. */
	perform(srv, &(struct req){ .path = "/bad-location" }, &r);
	assert_int_equal(r.status, 500);
	assert_false(header(&r, "x-injected", v, sizeof(v)));
	reply_free(&r);
}

static void
test_status_zero_is_500(void **state)
{
	struct jit_http_server *srv = *state;
	struct reply r;

	perform(srv, &(struct req){ .path = "/status0" }, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 500);
	assert_string_equal(error_code(&r), "InternalServerError");
	assert_request_id(&r);
	reply_free(&r);
}

static void
test_body_limit(void **state)
{
	struct jit_http_server *srv = *state;
	size_t big = 2 * JIT_MAX_BODY_BYTES;
	char *body = malloc(big);
	struct reply r;
	double t0;

	assert_non_null(body);
	memset(body, 'x', big);
	/* Exactly the limit is fine. */
	perform(srv, &(struct req){ .method = "PUT", .path = "/p", .body = body,
		.body_len = JIT_MAX_BODY_BYTES }, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "body_len")),
		JIT_MAX_BODY_BYTES);
	reply_free(&r);

	/* Larger: 413 from the Content-Length, before the body is sent. */
	t0 = now_s();
	perform(srv, &(struct req){ .method = "PUT", .path = "/p", .body = body,
		.body_len = JIT_MAX_BODY_BYTES + 1 }, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 413);
	assert_string_equal(error_code(&r), "RequestEntityTooLarge");
	reply_free(&r);
	perform(srv, &(struct req){ .method = "POST", .path = "/p", .body = body,
		.body_len = big }, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 413);
	assert_request_id(&r);
	reply_free(&r);

	/* Without "Expect: 100-continue" the client is already sending; it still ends. */
	perform(srv, &(struct req){ .method = "POST", .path = "/p", .body = body,
		.body_len = big, .header = "Expect:" }, &r);
	assert_true(r.rc != CURLE_OK || r.status == 413);
	assert_int_not_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
	reply_free(&r);

	/* Chunked: no length up front; the server hangs up once past the limit. */
	perform(srv, &(struct req){ .method = "PUT", .path = "/p", .chunked_len = big }, &r);
	assert_true(r.rc != CURLE_OK || r.status == 413);
	assert_int_not_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
	reply_free(&r);
	assert_true(now_s() - t0 < 15);

	/* And the server still answers. */
	perform(srv, &(struct req){ .path = "/after" }, &r);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	free(body);
}

static void
test_header_limit(void **state)
{
	struct jit_http_server *srv = *state;
	size_t n = 100 * 1024;
	char *h = malloc(n + 16);
	struct reply r;

	assert_non_null(h);
	memcpy(h, "X-Big: ", 7);
	memset(h + 7, 'a', n);
	h[7 + n] = '\0';
	perform(srv, &(struct req){ .path = "/", .header = h }, &r);
	assert_int_equal(r.rc, CURLE_OK);
	/* libmicrohttpd answers this itself (HTML body, not ARM JSON). */
	assert_int_equal(r.status, 431);
	reply_free(&r);
	/* A bearer token sized header is fine. */
	h[7 + 8192] = '\0';
	perform(srv, &(struct req){ .path = "/", .header = h }, &r);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	free(h);
}

static void
test_old_tls_refused(void **state)
{
	struct jit_http_server *srv = *state;
	struct reply r;

	perform(srv, &(struct req){ .path = "/", .tls_min = CURL_SSLVERSION_TLSv1_1,
		.tls_max = CURL_SSLVERSION_MAX_TLSv1_1 }, &r);
	assert_int_not_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 0);
	reply_free(&r);
	perform(srv, &(struct req){ .path = "/", .tls_min = CURL_SSLVERSION_TLSv1_2,
		.tls_max = CURL_SSLVERSION_MAX_TLSv1_2 }, &r);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	perform(srv, &(struct req){ .path = "/", .tls_min = CURL_SSLVERSION_TLSv1_3,
		.tls_max = CURL_SSLVERSION_MAX_TLSv1_3 }, &r);
	assert_int_equal(r.status, 200);
	reply_free(&r);
}

static int
tcp_connect(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* Seconds until the peer closes fd (EOF or reset), or -1 after limit_s. */
static double
seconds_until_closed(int fd, double limit_s)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	double t0 = now_s();
	char b[256];
	ssize_t n;

	while (now_s() - t0 < limit_s) {
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recv(fd, b, sizeof(b), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return now_s() - t0;
	}
	return -1;
}

static void
test_idle_client_is_closed(void **state)
{
	struct jit_http_server *srv;
	struct reply r;
	double t;
	int fd;

	(void)state;
	srv = start("127.0.0.1", 0, 1);
	assert_non_null(srv);
	fd = tcp_connect(jit_http_port(srv));
	t = seconds_until_closed(fd, 10);
	close(fd);
	assert_true(t >= 0);
	/* A handler slower than the idle timeout still gets its answer out. */
	perform(srv, &(struct req){ .path = "/sleep?ms=2500" }, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	jit_http_stop(srv);
}

struct bg {
	struct jit_http_server *srv;
	const char *path;
	struct reply r;
	bool done;
};

static void *
bg_request(void *arg)
{
	struct bg *b = arg;

	perform(b->srv, &(struct req){ .path = b->path }, &b->r);
	__atomic_store_n(&b->done, true, __ATOMIC_SEQ_CST);
	return NULL;
}

static void *
bg_stop(void *arg)
{
	struct bg *b = arg;

	jit_http_stop(b->srv);
	__atomic_store_n(&b->done, true, __ATOMIC_SEQ_CST);
	return NULL;
}

static void
wait_entered(int n)
{
	pthread_mutex_lock(&fx.gate.lock);
	while (fx.gate.entered < n)
		pthread_cond_wait(&fx.gate.cond, &fx.gate.lock);
	pthread_mutex_unlock(&fx.gate.lock);
}

static void
open_gate(void)
{
	pthread_mutex_lock(&fx.gate.lock);
	fx.gate.open = true;
	pthread_cond_broadcast(&fx.gate.cond);
	pthread_mutex_unlock(&fx.gate.lock);
}

static void
close_gate(void)
{
	pthread_mutex_lock(&fx.gate.lock);
	fx.gate.entered = 0;
	fx.gate.open = false;
	pthread_mutex_unlock(&fx.gate.lock);
}

/* Waits (at most 10 s) until srv has n parked requests and, unless conns is -1, that
 * many connections. */
static void
wait_counts(struct jit_http_server *srv, unsigned long parked, long conns)
{
	struct jit_http_counts k;

	for (int i = 0; i < 500; i++) {
		jit_http_counts(srv, &k);
		if (k.parked == parked && (conns < 0 || k.connections == (unsigned long)conns))
			return;
		usleep(20 * 1000);
	}
	print_message("# parked %lu (want %lu), connections %lu (want %ld)\n", k.parked, parked,
		k.connections, conns);
	fail();
}

static char *
park_path(uint64_t have, unsigned ms)
{
	char *p = malloc(64);

	assert_non_null(p);
	snprintf(p, 64, "/park?have=%llu&ms=%u", (unsigned long long)have, ms);
	return p;
}

/* A parked request holds no thread: many of them, and others are still served; each
 * is answered as soon as its counter moves. */
static void
test_park_woken_by_change(void **state)
{
	struct jit_http_server *srv = *state;
	struct bg polls[6];
	pthread_t t[6];
	char *path = park_path(counter(), 30000);
	struct reply r;
	double t0;

	for (int i = 0; i < 6; i++) {
		polls[i] = (struct bg){ .srv = srv, .path = path };
		assert_int_equal(pthread_create(&t[i], NULL, bg_request, &polls[i]), 0);
	}
	/* More parked requests than the server has threads. */
	wait_counts(srv, 6, -1);
	perform(srv, &(struct req){ .path = "/meanwhile" }, &r);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	for (int i = 0; i < 6; i++)
		assert_false(__atomic_load_n(&polls[i].done, __ATOMIC_SEQ_CST));
	t0 = now_s();
	bump();
	for (int i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(polls[i].r.status, 200);
		assert_int_equal(json_integer_value(json_object_get(polls[i].r.json, "counter")),
			(json_int_t)counter());
		assert_false(json_is_true(json_object_get(polls[i].r.json, "wait_over")));
		reply_free(&polls[i].r);
	}
	/* Woken by the change, long before their 30 s. */
	assert_true(now_s() - t0 < 10);
	wait_counts(srv, 0, -1);
	free(path);
}

/* Without a change a parked request is answered at its deadline, with wait_over. */
static void
test_park_deadline(void **state)
{
	struct jit_http_server *srv = *state;
	char *path = park_path(counter(), 700);
	struct reply r;
	double t0 = now_s();

	perform(srv, &(struct req){ .path = path }, &r);
	assert_int_equal(r.status, 200);
	assert_true(json_is_true(json_object_get(r.json, "wait_over")));
	assert_int_equal(json_integer_value(json_object_get(r.json, "counter")),
		(json_int_t)counter());
	assert_true(now_s() - t0 >= 0.65);
	reply_free(&r);
	free(path);
	/* A change that came before the request parks nothing: answered at once. */
	path = park_path(counter() - 1, 30000);
	t0 = now_s();
	perform(srv, &(struct req){ .path = path }, &r);
	assert_int_equal(r.status, 200);
	assert_false(json_is_true(json_object_get(r.json, "wait_over")));
	assert_true(now_s() - t0 < 10);
	reply_free(&r);
	free(path);
}

/* A client that hangs up while parked: libmicrohttpd cannot notice while the connection
 * is suspended, so it is closed at the park's deadline, and its slot is free again. */
static void
test_park_client_gone(void **state)
{
	struct jit_http_server *srv;
	char *path = park_path(counter(), 1500);
	struct reply r;

	(void)state;
	srv = start("127.0.0.1", 4, 30);
	assert_non_null(srv);
	perform(srv, &(struct req){ .path = path, .timeout_s = 1 }, &r);
	assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
	reply_free(&r);
	/* Gone from the client's side; still parked on the server's. */
	wait_counts(srv, 1, 1);
	/* At its deadline it is resumed, its answer fails, the connection is closed. */
	wait_counts(srv, 0, 0);
	perform(srv, &(struct req){ .path = "/after" }, &r);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	jit_http_stop(srv);
	free(path);
}

/* Parked connections count against the limit (they are open), and free it once
 * answered. */
static void
test_connection_limit(void **state)
{
	struct jit_http_server *srv;
	char *path = park_path(counter(), 30000);
	struct bg held1 = { .path = path }, held2 = { .path = path };
	struct bg late = { .path = "/late" };
	pthread_t t1, t2, t3;
	struct reply r;

	(void)state;
	srv = start("127.0.0.1", 2, 30);
	assert_non_null(srv);
	held1.srv = held2.srv = late.srv = srv;
	assert_int_equal(pthread_create(&t1, NULL, bg_request, &held1), 0);
	assert_int_equal(pthread_create(&t2, NULL, bg_request, &held2), 0);
	wait_counts(srv, 2, 2);
	/* At the limit the server stops accepting: a third client waits in the backlog. */
	perform(srv, &(struct req){ .path = "/", .timeout_s = 2 }, &r);
	assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
	reply_free(&r);
	/* Once the two are answered, a waiting client is served. */
	assert_int_equal(pthread_create(&t3, NULL, bg_request, &late), 0);
	usleep(200 * 1000);
	bump();
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	pthread_join(t3, NULL);
	assert_int_equal(held1.r.status, 200);
	assert_int_equal(held2.r.status, 200);
	assert_int_equal(late.r.rc, CURLE_OK);
	assert_int_equal(late.r.status, 200);
	reply_free(&held1.r);
	reply_free(&held2.r);
	reply_free(&late.r);
	jit_http_stop(srv);
	free(path);
}

/* Stopping with parked requests (an API violation in libmicrohttpd if they were still
 * suspended): they are resumed first, and stop returns without waiting their 30 s. */
static void
test_stop_with_parked(void **state)
{
	struct jit_http_server *srv;
	char *path = park_path(counter(), 30000);
	struct bg poll1 = { .path = path }, poll2 = { .path = path }, stop;
	pthread_t t1, t2, ts;
	double t0;

	(void)state;
	srv = start("127.0.0.1", 0, 30);
	assert_non_null(srv);
	poll1.srv = poll2.srv = srv;
	assert_int_equal(pthread_create(&t1, NULL, bg_request, &poll1), 0);
	assert_int_equal(pthread_create(&t2, NULL, bg_request, &poll2), 0);
	wait_counts(srv, 2, 2);
	t0 = now_s();
	stop = (struct bg){ .srv = srv };
	assert_int_equal(pthread_create(&ts, NULL, bg_stop, &stop), 0);
	pthread_join(ts, NULL);
	assert_true(stop.done);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	assert_true(now_s() - t0 < 10);
	/* Answered (wait_over) or closed; never left hanging. */
	assert_true(poll1.r.rc != CURLE_OPERATION_TIMEDOUT && poll2.r.rc !=
		CURLE_OPERATION_TIMEDOUT);
	reply_free(&poll1.r);
	reply_free(&poll2.r);
	free(path);
}

/* A handler that blocks (none of jitgated's do: they park) holds up its own thread
 * only; stop waits for it. */
static void
test_blocked_handler_and_stop(void **state)
{
	struct jit_http_server *srv;
	struct bg poll1 = { .path = "/block" }, stop;
	pthread_t t1, ts;
	struct reply r;

	(void)state;
	close_gate();
	srv = start("127.0.0.1", 0, 30);
	assert_non_null(srv);
	poll1.srv = srv;
	assert_int_equal(pthread_create(&t1, NULL, bg_request, &poll1), 0);
	wait_entered(1);
	perform(srv, &(struct req){ .path = "/meanwhile" }, &r);
	assert_int_equal(r.status, 200);
	reply_free(&r);

	/* Stop waits for the blocked handler... */
	stop = (struct bg){ .srv = srv };
	assert_int_equal(pthread_create(&ts, NULL, bg_stop, &stop), 0);
	usleep(500 * 1000);
	assert_false(__atomic_load_n(&stop.done, __ATOMIC_SEQ_CST));
	/* ...and returns once it does. */
	open_gate();
	pthread_join(ts, NULL);
	assert_true(stop.done);
	pthread_join(t1, NULL);
	reply_free(&poll1.r);
}

static void
test_dual_stack(void **state)
{
	struct jit_http_server *srv;
	struct reply r;

	(void)state;
	srv = start("::", 0, 30);
	if (srv == NULL)
		skip();
	perform(srv, &(struct req){ .path = "/" }, &r);
	assert_int_equal(r.status, 200);
	/* An IPv4 client of the dual-stack socket is seen as IPv4, not ::ffff:127.0.0.1. */
	assert_string_equal(jstr(r.json, "peer"), "127.0.0.1");
	reply_free(&r);
	perform(srv, &(struct req){ .path = "/", .host = "[::1]" }, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "peer"), "::1");
	reply_free(&r);
	jit_http_stop(srv);

	srv = start("::1", 0, 30);
	assert_non_null(srv);
	perform(srv, &(struct req){ .path = "/", .host = "[::1]" }, &r);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	/* "::1" is IPv6 only. */
	perform(srv, &(struct req){ .path = "/" }, &r);
	assert_int_not_equal(r.rc, CURLE_OK);
	reply_free(&r);
	jit_http_stop(srv);
}

static void
test_start_errors(void **state)
{
	struct jit_http_server *srv = *state, *other = NULL;
	struct jit_http_config cfg = {
		.listen_addr = "127.0.0.1",
		.port = jit_http_port(srv),
		.cert_pem = fx.cert,
		.key_pem = fx.key,
		.handler = handler,
	};
	struct jit_error e;

	/* The port is taken by the fixture's server. */
	assert_int_equal(jit_http_start(&cfg, &other, &e), -1);
	assert_null(other);
	assert_non_null(strstr(e.message, "127.0.0.1"));
	cfg.port = 0;
	cfg.listen_addr = "localhost";
	assert_int_equal(jit_http_start(&cfg, &other, &e), -1);
	cfg.listen_addr = "127.0.0.1";
	cfg.cert_pem = "not a certificate";
	assert_int_equal(jit_http_start(&cfg, &other, &e), -1);
	cfg.cert_pem = fx.cert;
	cfg.handler = NULL;
	assert_int_equal(jit_http_start(&cfg, &other, &e), -1);
	jit_http_stop(NULL);
}

static void
test_error_rendering(void **state)
{
	struct jit_http_response resp;
	struct jit_error e;
	json_t *err;

	(void)state;
	memset(&resp, 0, sizeof(resp));
	resp.raw = strdup("replaced");
	jit_errorf(&e, 409, JIT_E_CONFLICT, "name \"a\xff\" is taken");
	jit_http_error(&resp, &e);
	assert_int_equal(resp.status, 409);
	assert_null(resp.raw);
	err = json_object_get(resp.body, "error");
	assert_string_equal(jstr(err, "code"), "Conflict");
	/* Not UTF-8: the byte is shown as '?', the body is not lost. */
	assert_string_equal(jstr(err, "message"), "name \"a?\" is taken");
	/* An error without a status or code is still an error. */
	jit_error_clear(&e);
	jit_http_error(&resp, &e);
	assert_int_equal(resp.status, 500);
	assert_string_equal(jstr(json_object_get(resp.body, "error"), "code"),
		"InternalServerError");
	json_decref(resp.body);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
group_setup(void **state)
{
	struct jit_error e;
	char path[128];

	snprintf(fx.dir, sizeof(fx.dir), "/tmp/jit-http-XXXXXX");
	if (mkdtemp(fx.dir) == NULL)
		return -1;
	if (jit_tls_ensure_self_signed(fx.dir, NULL, 0, &e) != 0)
		return -1;
	snprintf(fx.cert_path, sizeof(fx.cert_path), "%s/cert.pem", fx.dir);
	snprintf(path, sizeof(path), "%s/key.pem", fx.dir);
	if (jit_tls_read_pem(fx.cert_path, &fx.cert, &e) != 0 ||
		jit_tls_read_pem(path, &fx.key, &e) != 0)
		return -1;
	pthread_mutex_init(&fx.gate.lock, NULL);
	pthread_mutex_init(&fx.counters.lock, NULL);
	pthread_cond_init(&fx.counters.cond, NULL);
	pthread_cond_init(&fx.gate.cond, NULL);
	*state = start("127.0.0.1", 16, 30);
	return *state != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	jit_http_stop(*state);
	free(fx.cert);
	free(fx.key);
	pthread_cond_destroy(&fx.gate.cond);
	pthread_mutex_destroy(&fx.gate.lock);
	if (strncmp(fx.dir, "/tmp/jit-http-", 14) == 0)
		nftw(fx.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_put_post_round_trip),
		cmocka_unit_test(test_path_and_query_decoding),
		cmocka_unit_test(test_raw_location_retry_after_errors),
		cmocka_unit_test(test_status_zero_is_500),
		cmocka_unit_test(test_body_limit),
		cmocka_unit_test(test_header_limit),
		cmocka_unit_test(test_old_tls_refused),
		cmocka_unit_test(test_idle_client_is_closed),
		cmocka_unit_test(test_park_woken_by_change),
		cmocka_unit_test(test_park_deadline),
		cmocka_unit_test(test_park_client_gone),
		cmocka_unit_test(test_connection_limit),
		cmocka_unit_test(test_stop_with_parked),
		cmocka_unit_test(test_blocked_handler_and_stop),
		cmocka_unit_test(test_dual_stack),
		cmocka_unit_test(test_start_errors),
		cmocka_unit_test(test_error_rendering),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
	curl_global_cleanup();
	return rc;
}
