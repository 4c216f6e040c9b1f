/*
 * client.c: one libcurl easy handle per run, so the TLS session and the
 * connection are reused across the calls of a command.
 *
 * Security settings are set on every call (after curl_easy_reset) and never
 * relaxed: HTTPS only, peer and host verification on, no redirects followed,
 * no verbose output (it would show the Authorization header).
 */
#include "client.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Large policy lists carry their request history; 32 MiB is far beyond them. */
#define RESPONSE_MAX_BYTES (32 * 1024 * 1024)
#define CONNECT_TIMEOUT_MAX_S 10

struct cli_client {
	CURL *curl;
	char server[CLI_URL_MAX];       /* the one in use, of servers */
	char servers[CLI_URL_MAX];      /* "URL,URL,...": replicas, tried in turn */
	size_t n_servers, cur;
	char ca[PATH_MAX];
	const char *ca_from;
	int timeout_s;
	struct curl_slist *headers;     /* holds the Authorization header: wiped on free */
	struct curl_slist *csv_headers; /* the same, asking for CSV */
	char errbuf[CURL_ERROR_SIZE];
};

struct buffer {
	char *data;
	size_t len;
	bool too_big;
};

static void
wipe_headers(struct curl_slist *l)
{
	for (; l != NULL; l = l->next)
		sodium_memzero(l->data, strlen(l->data));
}

/* The i-th URL of the list becomes the one in use. */
static void
use_server(struct cli_client *h, size_t i)
{
	const char *p = h->servers;

	for (size_t k = 0; k < i; k++)
		p = strchr(p, ',') + 1;
	h->cur = i;
	snprintf(h->server, sizeof(h->server), "%.*s", (int)strcspn(p, ","), p);
}

const char *
cli_client_servers(const struct cli_client *h)
{
	return h->servers;
}

void
cli_client_free(struct cli_client *h)
{
	if (h == NULL)
		return;
	if (h->curl != NULL)
		curl_easy_cleanup(h->curl);
	wipe_headers(h->headers);
	curl_slist_free_all(h->headers);
	wipe_headers(h->csv_headers);
	curl_slist_free_all(h->csv_headers);
	free(h);
}

int
cli_client_new(const struct cli_connection *conn, int timeout_s, struct cli_client **out,
	struct jit_error *err)
{
	struct cli_client *h;
	char auth[CLI_TOKEN_MAX + 32];
	struct curl_slist *l;

	*out = NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return cli_fail(err, "out of memory");
	snprintf(h->servers, sizeof(h->servers), "%s", conn->server);
	h->n_servers = 1;
	for (const char *p = h->servers; (p = strchr(p, ',')) != NULL; p++)
		h->n_servers++;
	use_server(h, 0);
	snprintf(h->ca, sizeof(h->ca), "%s", conn->ca);
	h->ca_from = conn->ca_from;
	h->timeout_s = timeout_s;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", conn->token);
	h->headers = curl_slist_append(NULL, auth);
	h->csv_headers = curl_slist_append(NULL, auth);
	sodium_memzero(auth, sizeof(auth));
	if (h->headers == NULL || h->csv_headers == NULL ||
		(l = curl_slist_append(h->headers, "Accept: application/json")) == NULL ||
		(l = curl_slist_append(h->headers, "Content-Type: application/json")) == NULL ||
		(l = curl_slist_append(h->headers, "Expect:")) == NULL ||
		(l = curl_slist_append(h->csv_headers, "Accept: text/csv")) == NULL ||
		(h->curl = curl_easy_init()) == NULL) {
		cli_client_free(h);
		return cli_fail(err, "cannot initialise libcurl");
	}
	*out = h;
	return 0;
}

static size_t
on_data(char *p, size_t size, size_t n, void *ud)
{
	struct buffer *b = ud;
	size_t add = size * n;
	char *grown;

	if (b->len + add > RESPONSE_MAX_BYTES) {
		b->too_big = true;
		return 0;
	}
	if ((grown = realloc(b->data, b->len + add + 1)) == NULL)
		return 0;
	b->data = grown;
	memcpy(b->data + b->len, p, add);
	b->len += add;
	b->data[b->len] = '\0';
	return add;
}

static void
setup(struct cli_client *h, const char *method, const char *url, const char *body,
	struct curl_slist *headers, struct buffer *b)
{
	CURL *k = h->curl;
	long connect_s = h->timeout_s < CONNECT_TIMEOUT_MAX_S ? h->timeout_s :
		CONNECT_TIMEOUT_MAX_S;

	curl_easy_reset(k);
	curl_easy_setopt(k, CURLOPT_URL, url);
	curl_easy_setopt(k, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(k, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(k, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(k, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	/* A CA file given is the only trust anchor: without CAPATH off too, libcurl would
	 * also load the whole system CA directory, a third of the start-up time. */
	if (h->ca[0] != '\0') {
		curl_easy_setopt(k, CURLOPT_CAINFO, h->ca);
		curl_easy_setopt(k, CURLOPT_CAPATH, NULL);
	}
	curl_easy_setopt(k, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(k, CURLOPT_TIMEOUT, (long)h->timeout_s);
	curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT, connect_s);
	curl_easy_setopt(k, CURLOPT_USERAGENT, "jitgate/" JITGATE_VERSION);
	curl_easy_setopt(k, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(k, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(k, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(k, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(k, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(k, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(method, "DELETE") != 0) {
		/* POST without a body: an explicit empty one, no chunked encoding. */
		curl_easy_setopt(k, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE, 0L);
	}
	h->errbuf[0] = '\0';
}

/* A network or TLS failure, in words that say what to check. */
static int
network_error(struct cli_client *h, CURLcode rc, struct jit_error *err)
{
	const char *detail = h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc);
	char ca[PATH_MAX + 64];

	if (h->ca[0] != '\0')
		snprintf(ca, sizeof(ca), "the CA file %s (from %s)", h->ca, h->ca_from);
	else
		snprintf(ca, sizeof(ca), "the system's trust store (no --ca given)");
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		return cli_fail(err, "cannot resolve the host of %s (%s); check the server URL "
			"(--server, JITGATE_SERVER or the profile)", h->server, detail);
	case CURLE_COULDNT_CONNECT:
		return cli_fail(err, "cannot connect to %s (%s); check the server URL (--server, "
			"JITGATE_SERVER or the profile) and that jitgated is running there",
			h->server, detail);
	case CURLE_OPERATION_TIMEDOUT:
		return cli_fail(err, "%s did not answer within %d s (%s); check the server URL and "
			"the network, or raise --timeout", h->server, h->timeout_s, detail);
	case CURLE_PEER_FAILED_VERIFICATION:
		return cli_fail(err, "the TLS certificate of %s cannot be verified with %s (%s); "
			"check --ca names jitgated's certificate (STATE_DIR/tls/cert.pem), that the URL's "
			"host is a name in that certificate, and this machine's clock", h->server, ca,
			detail);
	case CURLE_SSL_CACERT_BADFILE:
		return cli_fail(err, "cannot load %s (%s); check --ca, JITGATE_CA or the profile's "
			"ca names a PEM certificate", ca, detail);
	case CURLE_SSL_CONNECT_ERROR:
		return cli_fail(err, "the TLS handshake with %s failed (%s); check the server URL is "
			"jitgated's HTTPS address, --ca, and this machine's clock", h->server, detail);
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		return cli_fail(err, "the connection to %s broke (%s); check the server URL and that "
			"jitgated is running", h->server, detail);
	case CURLE_WRITE_ERROR:
		return cli_fail(err, "the answer of %s is larger than %d MiB or memory ran out",
			h->server, RESPONSE_MAX_BYTES / (1024 * 1024));
	default:
		return cli_fail(err, "the request to %s failed: %s; check the server URL, --ca and "
			"the network", h->server, detail);
	}
}

/* A non-2xx answer: the server's ARM error, kept as it is. */
static int
server_error(long status, const json_t *body, struct jit_error *err)
{
	const json_t *e = json_object_get(body, "error");
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));

	if (code == NULL || msg == NULL)
		return jit_errorf(err, (int)status, "", "the server answered HTTP %ld without an "
			"error message", status);
	return jit_errorf(err, (int)status, code, "%s", msg);
}

/* Sends method path (api-version appended) with the given headers; *code is the HTTP
 * status and b the answer's body. Fails only when no answer came. */
static int
exchange_once(struct cli_client *h, const char *method, const char *path, const char *text,
	struct curl_slist *headers, struct buffer *b, long *code, CURLcode *rc,
	struct jit_error *err)
{
	char *url = NULL;

	*code = 0;
	if (asprintf(&url, "%s%s%sapi-version=" CLI_API_VERSION, h->server, path,
		strchr(path, '?') ? "&" : "?") < 0)
		return cli_fail(err, "out of memory");
	setup(h, method, url, text, headers, b);
	*rc = curl_easy_perform(h->curl);
	free(url);
	if (*rc != CURLE_OK)
		return network_error(h, *rc, err);
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, code);
	return 0;
}

/* exchange_once on the server in use, then on the next replica of the list when it
 * cannot be reached or answers 503 (its store down or failing over). A request that may
 * have reached a server (cut off midway) is repeated only when it is a GET. */
static int
exchange(struct cli_client *h, const char *method, const char *path, const char *text,
	struct curl_slist *headers, struct buffer *b, long *code, struct jit_error *err)
{
	for (size_t tries = 0;; tries++) {
		CURLcode rc = CURLE_OK;
		int r = exchange_once(h, method, path, text, headers, b, code, &rc, err);
		bool unreached = rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST;

		if (h->n_servers == 1 || tries + 1 >= h->n_servers)
			return r;
		if (r == 0 && *code != 503)
			return 0;
		if (r != 0 && !unreached && strcmp(method, "GET") != 0)
			return r;
		free(b->data);
		*b = (struct buffer){0};
		use_server(h, (h->cur + 1) % h->n_servers);
	}
}

int
cli_client_call(struct cli_client *h, const char *method, const char *path,
	const json_t *body, int *status, json_t **out, struct jit_error *err)
{
	struct buffer b = {0};
	char *text = NULL;
	json_t *parsed = NULL;
	json_error_t jerr;
	long code = 0;
	int r = -1;

	*out = NULL;
	*status = 0;
	if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL)
		return cli_fail(err, "out of memory");
	if (exchange(h, method, path, text, h->headers, &b, &code, err) != 0)
		goto out;
	if (b.len > 0 && (parsed = json_loadb(b.data, b.len, 0, &jerr)) == NULL &&
		code >= 200 && code < 300) {
		cli_fail(err, "the server's answer to %s %s is not JSON (%s)", method, path,
			jerr.text);
		goto out;
	}
	if (code < 200 || code >= 300) {
		server_error(code, parsed, err);
		goto out;
	}
	*status = (int)code;
	*out = parsed;
	parsed = NULL;
	r = 0;
out:
	json_decref(parsed);
	free(b.data);
	free(text);
	return r;
}

int
cli_client_get_csv(struct cli_client *h, const char *path, char **out, size_t *len,
	struct jit_error *err)
{
	struct buffer b = {0};
	json_t *parsed = NULL;
	long code = 0;

	*out = NULL;
	*len = 0;
	if (exchange(h, "GET", path, NULL, h->csv_headers, &b, &code, err) != 0) {
		free(b.data);
		return -1;
	}
	if (code < 200 || code >= 300) {
		/* Errors are JSON whatever was asked for. */
		if (b.len > 0)
			parsed = json_loadb(b.data, b.len, 0, NULL);
		server_error(code, parsed, err);
		json_decref(parsed);
		free(b.data);
		return -1;
	}
	if (b.data == NULL && (b.data = strdup("")) == NULL)
		return cli_fail(err, "out of memory");
	*out = b.data;
	*len = b.len;
	return 0;
}
