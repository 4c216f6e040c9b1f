/*
 * client.c: the agent channel over HTTPS (client.h), with one libcurl easy handle.
 *
 * One handle for the agent's life keeps the TLS connection to jitgated open between
 * polls, so a change reaches the kernel one round trip after the server commits it.
 * The credential lives in a header list built once and wiped before it is freed.
 * Answers are read into a buffer with a hard cap, then parsed strictly.
 */
#include "client.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define URL_MAX 512
#define PATH_MAX_LEN 128
_Static_assert(URL_MAX + PATH_MAX_LEN <= JIT_CP_URL_MAX, "JIT_CP_URL_MAX is too small");

struct jit_cp {
	CURL *curl;
	char base[URL_MAX];           /* the server in use: one of servers[] */
	char servers[JIT_CP_MAX_SERVERS][URL_MAX];
	size_t n_servers, cur;
	char *ca_file;
	struct curl_slist *plain;     /* JSON headers */
	struct curl_slist *authed;    /* JSON headers + Authorization (secret) */
	volatile sig_atomic_t *cancel;
	int (*idle)(void *);          /* jit_cp_set_idle */
	void *idle_arg;
	bool interrupted;             /* idle cut the last transfer short */
	CURLcode last_rc;             /* of the last transfer */
	char errbuf[CURL_ERROR_SIZE];
};

struct reply {
	char *data;
	size_t len, cap, max;
	bool too_big;
};

static int
nomem(struct jit_error *err)
{
	return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
}

bool
jit_cp_token_ok(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		char c = s[n];

		if (n + 1 >= JIT_CP_TOKEN_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '_' || c == '-'))
			return false;
	}
	return n > 0;
}

static void
wipe_slist(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p != NULL; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

static struct curl_slist *
json_headers(void)
{
	struct curl_slist *l = NULL, *t;

	if ((t = curl_slist_append(l, "Content-Type: application/json")) == NULL)
		return NULL;
	l = t;
	if ((t = curl_slist_append(l, "Accept: application/json")) == NULL) {
		curl_slist_free_all(l);
		return NULL;
	}
	/* No "Expect: 100-continue" round trip before a status body. */
	if ((t = curl_slist_append(t, "Expect:")) == NULL) {
		curl_slist_free_all(l);
		return NULL;
	}
	return t;
}

/* One https://host[:port] of the --server list, checked, into out. */
static int
server_url(const char *url, size_t n, char out[URL_MAX], struct jit_error *err)
{
	char one[URL_MAX];

	if (n >= URL_MAX)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"--server must be an https:// URL of at most %d characters", URL_MAX - 1);
	memcpy(one, url, n);
	one[n] = '\0';
	url = one;
	if (strncmp(url, "https://", 8) != 0 || n <= 8)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"--server must be an https:// URL of at most %d characters", URL_MAX - 1);
	if (strchr(url + 8, '/') != NULL && strchr(url + 8, '/')[1] != '\0')
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"--server is scheme, host and port only (https://host:port)");
	/* A host is required, and nothing but host[:port]: no user info, query or spaces. */
	if (url[8] == '/' || url[8] == ':' || strpbrk(url + 8, "@?# \t\\") != NULL)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"--server must be https://HOST[:PORT] with nothing else (no user, query or "
			"spaces)");
	memcpy(out, url, n + 1);
	if (out[n - 1] == '/')
		out[n - 1] = '\0';
	return 0;
}

int
jit_cp_open(const char *url, const char *ca_file, volatile sig_atomic_t *cancel,
	struct jit_cp **out, struct jit_error *err)
{
	struct jit_cp *cp;

	*out = NULL;
	if ((cp = calloc(1, sizeof(*cp))) == NULL)
		return nomem(err);
	/* "URL,URL,...": replicas of one control plane, tried in turn (failover). */
	for (const char *p = url;;) {
		size_t n = strcspn(p, ",");

		if (cp->n_servers == JIT_CP_MAX_SERVERS) {
			jit_cp_free(cp);
			return jit_errorf(err, 400, JIT_E_BAD_REQUEST, "--server: at most %d URLs",
				JIT_CP_MAX_SERVERS);
		}
		if (server_url(p, n, cp->servers[cp->n_servers], err) != 0) {
			jit_cp_free(cp);
			return -1;
		}
		cp->n_servers++;
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	memcpy(cp->base, cp->servers[0], sizeof(cp->base));
	cp->cancel = cancel;
	if ((cp->ca_file = strdup(ca_file)) == NULL || (cp->plain = json_headers()) == NULL) {
		jit_cp_free(cp);
		return nomem(err);
	}
	if ((cp->curl = curl_easy_init()) == NULL) {
		jit_cp_free(cp);
		return jit_errorf(err, 500, JIT_E_INTERNAL, "libcurl cannot start");
	}
	*out = cp;
	return 0;
}

void
jit_cp_free(struct jit_cp *cp)
{
	if (cp == NULL)
		return;
	if (cp->curl != NULL)
		curl_easy_cleanup(cp->curl);
	curl_slist_free_all(cp->plain);
	wipe_slist(cp->authed);
	free(cp->ca_file);
	free(cp);
}

int
jit_cp_set_credential(struct jit_cp *cp, const char *credential, struct jit_error *err)
{
	char line[JIT_CP_TOKEN_MAX + 32];
	struct curl_slist *l, *t;

	if (!jit_cp_token_ok(credential))
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST, "the agent credential is malformed");
	if ((l = json_headers()) == NULL)
		return nomem(err);
	snprintf(line, sizeof(line), "Authorization: Bearer %s", credential);
	t = curl_slist_append(l, line);
	explicit_bzero(line, sizeof(line));
	if (t == NULL) {
		curl_slist_free_all(l);
		return nomem(err);
	}
	wipe_slist(cp->authed);
	cp->authed = l;
	return 0;
}

static size_t
on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct reply *r = userdata;
	size_t n = size * nmemb;

	if (n > r->max - r->len) {
		r->too_big = true;
		return 0;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		char *d;

		while (cap < r->len + n + 1)
			cap *= 2;
		if ((d = realloc(r->data, cap)) == NULL)
			return 0;
		r->data = d;
		r->cap = cap;
	}
	memcpy(r->data + r->len, ptr, n);
	r->len += n;
	r->data[r->len] = '\0';
	return n;
}

static int
on_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
	curl_off_t ulnow)
{
	struct jit_cp *cp = clientp;

	if (cp->cancel != NULL && *cp->cancel != 0)
		return 1;
	if (cp->idle != NULL && cp->idle(cp->idle_arg) != 0) {
		cp->interrupted = true;
		return 1;
	}
	return 0;
}

void
jit_cp_set_idle(struct jit_cp *cp, int (*fn)(void *), void *arg)
{
	cp->idle = fn;
	cp->idle_arg = arg;
}

/* Copies a server-supplied text into a message: printable ASCII, bounded. */
static void
clean_text(const char *in, char *out, size_t n)
{
	size_t o = 0;

	for (; in != NULL && *in != '\0' && o + 1 < n; in++)
		out[o++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
	out[o] = '\0';
}

/* The server's ARM error ({"error": {"code", "message"}}) as ours. */
int
jit_cp_server_error(long status, const char *body, size_t len, struct jit_error *err)
{
	char code[JIT_ERROR_CODE_MAX], msg[JIT_ERROR_MSG_MAX - 32];
	json_t *j = len > 0 ? json_loadb(body, len, 0, NULL) : NULL;
	json_t *e = json_object_get(j, "error");
	const char *c = json_string_value(json_object_get(e, "code"));
	const char *m = json_string_value(json_object_get(e, "message"));

	clean_text(c != NULL ? c : (status >= 500 ? JIT_E_INTERNAL : JIT_E_BAD_REQUEST), code,
		sizeof(code));
	clean_text(m != NULL ? m : "no error message", msg, sizeof(msg));
	json_decref(j);
	return jit_errorf(err, (int)status, code, "jitgated answered %ld: %s", status, msg);
}

static void
make_url(const struct jit_cp *cp, const char *path, char url[JIT_CP_URL_MAX])
{
	snprintf(url, JIT_CP_URL_MAX, "%s%s", cp->base, path);
}

/* One request. body: NULL for none. A 2xx answer sets *reply (NULL when empty). */
static int
call_once(struct jit_cp *cp, const char *method, const char *path, const char *body, bool authed,
	long timeout_s, size_t max_reply, json_t **reply, struct jit_error *err)
{
	char url[JIT_CP_URL_MAX];
	struct reply r = { .max = max_reply };
	CURL *k = cp->curl;
	json_error_t je;
	long status = 0;
	CURLcode rc;
	int ret = -1;

	*reply = NULL;
	if (authed && cp->authed == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "no agent credential");
	make_url(cp, path, url);
	cp->errbuf[0] = '\0';
	cp->interrupted = false;
	curl_easy_reset(k);
	curl_easy_setopt(k, CURLOPT_URL, url);
	curl_easy_setopt(k, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(k, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(k, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(k, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	/* The given CA only: no system store, no CA directory. */
	curl_easy_setopt(k, CURLOPT_CAINFO, cp->ca_file);
	curl_easy_setopt(k, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(k, CURLOPT_PROXY, "");
	curl_easy_setopt(k, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(k, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT, (long)JIT_CP_CONNECT_TIMEOUT_S);
	curl_easy_setopt(k, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(k, CURLOPT_USERAGENT, "jitgate-agent/" JITGATE_VERSION);
	curl_easy_setopt(k, CURLOPT_HTTPHEADER, authed ? cp->authed : cp->plain);
	curl_easy_setopt(k, CURLOPT_ERRORBUFFER, cp->errbuf);
	curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(k, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(k, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(k, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(k, CURLOPT_XFERINFODATA, cp);
	curl_easy_setopt(k, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(k, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else {
		curl_easy_setopt(k, CURLOPT_HTTPGET, 1L);
	}
	rc = curl_easy_perform(k);
	cp->last_rc = rc;
	if (rc != CURLE_OK) {
		if (r.too_big)
			jit_errorf(err, 503, JIT_E_UNAVAILABLE,
				"%s %s: the answer is larger than %zu bytes", method, path,
				max_reply);
		else if (rc == CURLE_ABORTED_BY_CALLBACK)
			jit_errorf(err, 503, JIT_E_UNAVAILABLE, "%s %s: %s", method, path,
				cp->interrupted ? "interrupted" : "cancelled");
		else
			jit_errorf(err, 503, JIT_E_UNAVAILABLE, "%s %s%s: %s", method, cp->base,
				path, cp->errbuf[0] != '\0' ? cp->errbuf : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		jit_cp_server_error(status, r.data, r.len, err);
		goto out;
	}
	if (r.len > 0 &&
		(*reply = json_loadb(r.data, r.len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		jit_errorf(err, 502, JIT_E_UNAVAILABLE,
			"%s %s: the answer is not JSON: line %d: %s", method, path, je.line,
			je.text);
		goto out;
	}
	ret = 0;
out:
	/* Enroll answers hold the credential. */
	if (r.data != NULL)
		explicit_bzero(r.data, r.len);
	free(r.data);
	return ret;
}

/* The next replica of the --server list becomes the one in use. */
static void
next_server(struct jit_cp *cp)
{
	cp->cur = (cp->cur + 1) % cp->n_servers;
	memcpy(cp->base, cp->servers[cp->cur], sizeof(cp->base));
}

/* call_once on the server in use; when it cannot be reached or answers 503 (its store
 * is down or failing over), the next one of the list. A request that may have reached
 * a server (a POST cut off midway) is not sent twice: the next call goes elsewhere. */
static int
call(struct jit_cp *cp, const char *method, const char *path, const char *body, bool authed,
	long timeout_s, size_t max_reply, json_t **reply, struct jit_error *err)
{
	for (size_t tries = 0;; tries++) {
		CURLcode rc;
		int r;

		cp->last_rc = CURLE_OK;
		r = call_once(cp, method, path, body, authed, timeout_s, max_reply, reply, err);
		rc = cp->last_rc;
		if (r == 0 || cp->n_servers == 1 || cp->interrupted ||
			rc == CURLE_ABORTED_BY_CALLBACK || (rc == CURLE_OK && err->status != 503))
			return r;
		next_server(cp);
		if (tries + 1 >= cp->n_servers)
			return r;
		/* Never connected, or refused with 503 before anything was written: safe to
		 * send again. Otherwise only a GET is repeated at once. */
		if (!(rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
			rc == CURLE_OK || strcmp(method, "GET") == 0))
			return r;
	}
}

const char *
jit_cp_server(const struct jit_cp *cp)
{
	return cp->base;
}

static json_t *
addresses_json(size_t n, const struct jit_prefix *a)
{
	json_t *arr = json_array();
	char buf[JIT_PREFIX_BUFSZ];

	for (size_t i = 0; arr != NULL && i < n; i++) {
		jit_prefix_format(&a[i], buf);
		if (json_array_append_new(arr, json_string(buf)) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* Copies string member key of o into out (1..n-1 bytes). */
static int
get_text(const json_t *o, const char *key, bool required, char *out, size_t n,
	struct jit_error *err)
{
	const json_t *v = json_object_get(o, key);
	const char *s = json_string_value(v);

	out[0] = '\0';
	if (v == NULL && !required)
		return 0;
	if (s == NULL || strlen(s) >= n || (required && s[0] == '\0'))
		return jit_errorf(err, 502, JIT_E_UNAVAILABLE,
			"enroll: the answer's %s is missing or malformed", key);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

int
jit_cp_enrollment_from_json(const json_t *reply, enum jit_ep_kind kind,
	struct jit_enrollment *out, struct jit_error *err)
{
	char k[16];

	memset(out, 0, sizeof(*out));
	if (get_text(reply, "enforcementPoint", true, out->enforcement_point,
		sizeof(out->enforcement_point), err) != 0 ||
		get_text(reply, "vm", false, out->vm, sizeof(out->vm), err) != 0 ||
		get_text(reply, "kind", true, k, sizeof(k), err) != 0 ||
		get_text(reply, "credential", true, out->credential, sizeof(out->credential),
		err) != 0)
		return -1;
	if (jit_ep_kind_parse(k, &out->kind, err) != 0 || out->kind != kind ||
		!jit_cp_token_ok(out->credential) || strncmp(out->credential, "jgt_", 4) != 0) {
		explicit_bzero(out->credential, sizeof(out->credential));
		return jit_errorf(err, 502, JIT_E_UNAVAILABLE,
			"enroll: the answer's kind or credential is malformed");
	}
	return 0;
}

int
jit_cp_enroll(struct jit_cp *cp, const struct jit_enroll_request *rq,
	struct jit_enrollment *out, struct jit_error *err)
{
	json_t *body = NULL, *reply = NULL, *addrs = NULL;
	char *text = NULL;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	body = json_pack("{s:s,s:s,s:s}", "enrollmentToken", rq->token, "name", rq->name,
		"kind", jit_ep_kind_name(rq->kind));
	if (body == NULL) {
		nomem(err);
		goto out;
	}
	if (rq->kind == JIT_EP_HOST) {
		if ((addrs = addresses_json(rq->n_addresses, rq->addresses)) == NULL ||
			json_object_set_new(body, "vm", json_pack("{s:s,s:s,s:O}", "name",
			rq->vm_name, "osType", jit_os_name(rq->os), "addresses", addrs)) != 0) {
			nomem(err);
			goto out;
		}
	}
	if ((text = json_dumps(body, JSON_COMPACT)) == NULL) {
		nomem(err);
		goto out;
	}
	if (call(cp, "POST", "/agent/v1/enroll", text, false, 30, JIT_CP_MAX_REPLY_BYTES, &reply,
		err) != 0)
		goto out;
	if (jit_cp_enrollment_from_json(reply, rq->kind, out, err) != 0)
		goto out;
	ret = 0;
out:
	/* The request body holds the enrollment token, the reply the credential. */
	if (text != NULL)
		explicit_bzero(text, strlen(text));
	free(text);
	json_decref(addrs);
	json_decref(body);
	json_decref(reply);
	return ret;
}

/* The path and query of a desired-state request. */
static void
state_path(const uint64_t *have, unsigned wait_s, char path[PATH_MAX_LEN])
{
	if (have != NULL)
		snprintf(path, PATH_MAX_LEN, "/agent/v1/desired-state?version=%llu&wait=%u",
			(unsigned long long)*have, wait_s);
	else
		snprintf(path, PATH_MAX_LEN, "/agent/v1/desired-state");
}

void
jit_cp_desired_state_url(const struct jit_cp *cp, const uint64_t *have, unsigned wait_s,
	char url[JIT_CP_URL_MAX])
{
	char path[PATH_MAX_LEN];

	state_path(have, wait_s, path);
	make_url(cp, path, url);
}

int
jit_cp_desired_state(struct jit_cp *cp, const uint64_t *have, unsigned wait_s,
	struct jit_desired_state **out, struct jit_error *err)
{
	char path[PATH_MAX_LEN];
	json_t *reply = NULL;
	int r;

	*out = NULL;
	state_path(have, wait_s, path);
	if (call(cp, "GET", path, NULL, true, (long)(have != NULL ? wait_s : 0) +
		JIT_CP_POLL_GRACE_S, JIT_CP_MAX_STATE_BYTES, &reply, err) != 0)
		return -1;
	if (reply == NULL)
		return jit_errorf(err, 502, JIT_E_UNAVAILABLE, "desired state: empty answer");
	r = jit_desired_state_from_json(reply, out, err);
	json_decref(reply);
	if (r != 0)
		return jit_error_prefix(err, "desired state");
	return 0;
}

int
jit_cp_report(struct jit_cp *cp, const struct jit_agent_status *st, struct jit_error *err)
{
	json_t *body, *reply = NULL;
	char *text;
	int r;

	body = json_pack("{s:I,s:b,s:{s:b,s:b},s:s,s:o}", "appliedVersion",
		(json_int_t)st->applied_version, "healthy", st->healthy, "capabilities", "nftables",
		st->nftables, "portMapping", 0, "os", st->os, "addresses",
		addresses_json(st->n_addresses, st->addresses));
	if (body != NULL && st->message != NULL &&
		json_object_set_new(body, "message", json_string(st->message)) != 0) {
		json_decref(body);
		body = NULL;
	}
	if (body == NULL)
		return nomem(err);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text == NULL)
		return nomem(err);
	r = call(cp, "POST", "/agent/v1/status", text, true, 30, JIT_CP_MAX_REPLY_BYTES, &reply,
		err);
	free(text);
	json_decref(reply);
	return r;
}
