/*
 * test_client.c: the agent channel's client, what needs no server: the --server URL
 * it accepts and the URLs it builds, tokens, the enroll answer and the server's errors.
 * (Requests over TLS are tests/integration's.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "client.h"

/* A credential as jitgated makes them: jgt_<16 hex>_<43 base64url>. */
#define CRED "jgt_0123456789abcdef_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"
#define EP "/subscriptions/s1/resourceGroups/rg1/providers/Jitgate/enforcementPoints/vm1"
#define VM1 "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1"

static char *
repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/*
 * Tokens
 */

static void
test_token_syntax(void **state)
{
	char *s;

	(void)state;
	assert_true(jit_cp_token_ok(CRED));
	assert_true(jit_cp_token_ok("a"));
	assert_true(jit_cp_token_ok("jge_-_0"));
	assert_false(jit_cp_token_ok(""));
	assert_false(jit_cp_token_ok(CRED " "));
	assert_false(jit_cp_token_ok(CRED "\n"));
	assert_false(jit_cp_token_ok("jgt_a.b"));
	assert_false(jit_cp_token_ok("jgt_a/b"));
	assert_false(jit_cp_token_ok("jgt_a=="));
	assert_false(jit_cp_token_ok("jgt_a+b"));
	assert_false(jit_cp_token_ok("jgt_\xc3\xa9"));
	assert_false(jit_cp_token_ok("Bearer x"));
	/* 1..JIT_CP_TOKEN_MAX-1 characters: it must fit its buffer with the NUL. */
	s = repeat('a', JIT_CP_TOKEN_MAX - 1);
	assert_true(jit_cp_token_ok(s));
	free(s);
	s = repeat('a', JIT_CP_TOKEN_MAX);
	assert_false(jit_cp_token_ok(s));
	free(s);
}

/*
 * The --server URL and the URLs built on it
 */

static struct jit_cp *
open_ok(const char *url)
{
	struct jit_cp *cp = NULL;
	struct jit_error err;

	if (jit_cp_open(url, "/nonexistent/ca.pem", NULL, &cp, &err) != 0)
		fail_msg("%s refused: %s", url, err.message);
	assert_non_null(cp);
	return cp;
}

static void
expect_refused(const char *url, const char *message)
{
	struct jit_cp *cp = (struct jit_cp *)1;
	struct jit_error err;

	jit_error_clear(&err);
	assert_int_equal(jit_cp_open(url, "/ca.pem", NULL, &cp, &err), -1);
	assert_null(cp);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.code, JIT_E_BAD_REQUEST);
	if (strncmp(err.message, message, strlen(message)) != 0)
		fail_msg("%s: message \"%s\" does not start with \"%s\"", url, err.message,
			message);
}

static void
expect_state_url(const char *server, const uint64_t *have, unsigned wait_s, const char *want)
{
	struct jit_cp *cp = open_ok(server);
	char url[JIT_CP_URL_MAX];

	jit_cp_desired_state_url(cp, have, wait_s, url);
	assert_string_equal(url, want);
	jit_cp_free(cp);
}

static void
test_server_url_accepted(void **state)
{
	const uint64_t seven = 7, zero = 0, max = UINT64_MAX;

	(void)state;
	expect_state_url("https://10.0.0.1:8443", NULL, 30,
		"https://10.0.0.1:8443/agent/v1/desired-state");
	expect_state_url("https://jitgated.example", &seven, 30,
		"https://jitgated.example/agent/v1/desired-state?version=7&wait=30");
	expect_state_url("https://[2001:db8::1]:8443", &zero, 0,
		"https://[2001:db8::1]:8443/agent/v1/desired-state?version=0&wait=0");
	expect_state_url("https://h", &max, 4294967295u,
		"https://h/agent/v1/desired-state?version=18446744073709551615&wait=4294967295");
	/* One trailing slash is allowed and dropped: no "//" before the path. */
	expect_state_url("https://h:1/", &seven, 30,
		"https://h:1/agent/v1/desired-state?version=7&wait=30");
}

/* The longest --server with the longest query still fits, uncut. */
static void
test_longest_url_fits(void **state)
{
	const uint64_t max = UINT64_MAX;
	const char *query = "/agent/v1/desired-state?version=18446744073709551615&wait=4294967295";
	char server[511 + 1];
	char url[JIT_CP_URL_MAX];
	struct jit_cp *cp;

	(void)state;
	memcpy(server, "https://", 8);
	memset(server + 8, 'h', sizeof(server) - 9);
	server[sizeof(server) - 1] = '\0';
	cp = open_ok(server);
	jit_cp_desired_state_url(cp, &max, 4294967295u, url);
	assert_int_equal(strlen(url), strlen(server) + strlen(query));
	assert_string_equal(url + strlen(server), query);
	jit_cp_free(cp);
}

static void
test_server_url_refused(void **state)
{
	char long_url[512 + 1];

	(void)state;
	expect_refused("http://10.0.0.1:8443", "--server must be an https:// URL");
	expect_refused("HTTPS://h", "--server must be an https:// URL");
	expect_refused("ftp://h", "--server must be an https:// URL");
	expect_refused("10.0.0.1:8443", "--server must be an https:// URL");
	expect_refused("https://", "--server must be an https:// URL");
	expect_refused("", "--server must be an https:// URL");
	expect_refused("https://h/agent", "--server is scheme, host and port only");
	expect_refused("https://h//", "--server is scheme, host and port only");
	expect_refused("https://h:8443/x/", "--server is scheme, host and port only");
	/* No empty host, user info, query or spaces (they made the agent retry forever). */
	expect_refused("https:///", "--server must be https://HOST[:PORT]");
	expect_refused("https://:8443", "--server must be https://HOST[:PORT]");
	expect_refused("https://u:p@h", "--server must be https://HOST[:PORT]");
	expect_refused("https://h?x=1", "--server must be https://HOST[:PORT]");
	expect_refused("https://h h", "--server must be https://HOST[:PORT]");
	memcpy(long_url, "https://", 8);
	memset(long_url + 8, 'h', sizeof(long_url) - 9);
	long_url[sizeof(long_url) - 1] = '\0';
	expect_refused(long_url, "--server must be an https:// URL of at most 511 characters");
}

static void
test_credential_is_checked_and_never_quoted(void **state)
{
	struct jit_cp *cp = open_ok("https://h");
	struct jit_error err;

	(void)state;
	assert_int_equal(jit_cp_set_credential(cp, CRED, &err), 0);
	/* Replacing it is fine (the old header list is wiped and freed). */
	assert_int_equal(jit_cp_set_credential(cp, CRED, &err), 0);
	assert_int_equal(jit_cp_set_credential(cp, "jgt_secret value", &err), -1);
	assert_int_equal(err.status, 400);
	assert_null(strstr(err.message, "secret"));
	assert_int_equal(jit_cp_set_credential(cp, "", &err), -1);
	jit_cp_free(cp);
	jit_cp_free(NULL);
}

/*
 * The enroll answer
 */

static json_t *
enroll_answer(const char *kind, const char *vm, const char *credential)
{
	json_t *j = json_pack("{s:s,s:s,s:s}", "enforcementPoint", EP, "kind", kind,
		"credential", credential);

	assert_non_null(j);
	if (vm != NULL)
		json_object_set_new(j, "vm", json_string(vm));
	return j;
}

/* The answer is refused (502) and leaves no trace of the credential. */
static void
expect_enroll_refused(json_t *j, enum jit_ep_kind kind, const char *message)
{
	struct jit_enrollment e;
	struct jit_error err;
	const char *cred = json_string_value(json_object_get(j, "credential"));

	jit_error_clear(&err);
	assert_int_equal(jit_cp_enrollment_from_json(j, kind, &e, &err), -1);
	assert_int_equal(err.status, 502);
	assert_string_equal(err.code, JIT_E_UNAVAILABLE);
	assert_string_equal(err.message, message);
	assert_string_equal(e.credential, "");
	for (size_t i = 0; i < sizeof(e.credential); i++)
		assert_int_equal(e.credential[i], 0);
	if (cred != NULL && cred[0] != '\0')
		assert_null(strstr(err.message, cred));
	json_decref(j);
}

static void
test_enroll_answer_host_and_gateway(void **state)
{
	struct jit_enrollment e;
	struct jit_error err;
	json_t *j;

	(void)state;
	j = enroll_answer("host", VM1, CRED);
	assert_int_equal(jit_cp_enrollment_from_json(j, JIT_EP_HOST, &e, &err), 0);
	assert_string_equal(e.enforcement_point, EP);
	assert_string_equal(e.vm, VM1);
	assert_int_equal(e.kind, JIT_EP_HOST);
	assert_string_equal(e.credential, CRED);
	json_decref(j);

	/* jitgated answers "vm": "" for a gateway; an absent vm is the same. */
	j = enroll_answer("gateway", "", CRED);
	assert_int_equal(jit_cp_enrollment_from_json(j, JIT_EP_GATEWAY, &e, &err), 0);
	assert_int_equal(e.kind, JIT_EP_GATEWAY);
	assert_string_equal(e.vm, "");
	json_decref(j);
	j = enroll_answer("gateway", NULL, CRED);
	assert_int_equal(jit_cp_enrollment_from_json(j, JIT_EP_GATEWAY, &e, &err), 0);
	assert_string_equal(e.vm, "");
	/* Unknown members are the server's business. */
	json_object_set_new(j, "expires", json_null());
	assert_int_equal(jit_cp_enrollment_from_json(j, JIT_EP_GATEWAY, &e, &err), 0);
	json_decref(j);
}

static void
test_enroll_answer_refused(void **state)
{
	struct jit_enrollment e;
	struct jit_error err;
	char *s;
	json_t *j;

	(void)state;
	/* Not the kind asked for: enrolled as something this agent was not started as. */
	expect_enroll_refused(enroll_answer("gateway", "", CRED), JIT_EP_HOST,
		"enroll: the answer's kind or credential is malformed");
	expect_enroll_refused(enroll_answer("Host", VM1, CRED), JIT_EP_HOST,
		"enroll: the answer's kind or credential is malformed");
	/* The credential: a jgt_ token, nothing else (an enrollment token back is wrong). */
	expect_enroll_refused(enroll_answer("host", VM1, "jge_0123456789abcdef_x"), JIT_EP_HOST,
		"enroll: the answer's kind or credential is malformed");
	expect_enroll_refused(enroll_answer("host", VM1, "jgt_secret value"), JIT_EP_HOST,
		"enroll: the answer's kind or credential is malformed");
	expect_enroll_refused(enroll_answer("host", VM1, ""), JIT_EP_HOST,
		"enroll: the answer's credential is missing or malformed");
	s = repeat('a', JIT_CP_TOKEN_MAX);
	memcpy(s, "jgt_", 4);
	expect_enroll_refused(enroll_answer("host", VM1, s), JIT_EP_HOST,
		"enroll: the answer's credential is missing or malformed");
	/* The longest that fits is fine. */
	s[JIT_CP_TOKEN_MAX - 1] = '\0';
	j = enroll_answer("host", VM1, s);
	assert_int_equal(jit_cp_enrollment_from_json(j, JIT_EP_HOST, &e, &err), 0);
	assert_string_equal(e.credential, s);
	json_decref(j);
	free(s);

	/* Missing, mistyped or oversized members. */
	j = enroll_answer("host", VM1, CRED);
	json_object_del(j, "credential");
	expect_enroll_refused(j, JIT_EP_HOST,
		"enroll: the answer's credential is missing or malformed");
	j = enroll_answer("host", VM1, CRED);
	json_object_set_new(j, "credential", json_integer(1));
	expect_enroll_refused(j, JIT_EP_HOST,
		"enroll: the answer's credential is missing or malformed");
	j = enroll_answer("host", VM1, CRED);
	json_object_del(j, "enforcementPoint");
	expect_enroll_refused(j, JIT_EP_HOST,
		"enroll: the answer's enforcementPoint is missing or malformed");
	j = enroll_answer("host", VM1, CRED);
	json_object_set_new(j, "vm", json_null());
	expect_enroll_refused(j, JIT_EP_HOST, "enroll: the answer's vm is missing or malformed");
	j = enroll_answer("host", VM1, CRED);
	json_object_del(j, "kind");
	expect_enroll_refused(j, JIT_EP_HOST, "enroll: the answer's kind is missing or malformed");
	s = repeat('e', JIT_RESOURCE_ID_MAX);
	j = enroll_answer("host", VM1, CRED);
	json_object_set_new(j, "enforcementPoint", json_string(s));
	expect_enroll_refused(j, JIT_EP_HOST,
		"enroll: the answer's enforcementPoint is missing or malformed");
	free(s);
	/* Not an object at all. */
	expect_enroll_refused(json_array(), JIT_EP_HOST,
		"enroll: the answer's enforcementPoint is missing or malformed");
}

/*
 * The server's errors
 */

static void
expect_server_error(long status, const char *body, int want_status, const char *want_code,
	const char *want_message)
{
	struct jit_error err;

	jit_error_clear(&err);
	assert_int_equal(jit_cp_server_error(status, body, body != NULL ? strlen(body) : 0,
		&err), -1);
	assert_int_equal(err.status, want_status);
	assert_string_equal(err.code, want_code);
	assert_string_equal(err.message, want_message);
}

static void
test_server_error_keeps_status_and_code(void **state)
{
	(void)state;
	expect_server_error(401,
		"{\"error\":{\"code\":\"AuthenticationFailed\",\"message\":\"Bad credential.\"}}",
		401, "AuthenticationFailed", "jitgated answered 401: Bad credential.");
	expect_server_error(409, "{\"error\":{\"code\":\"Conflict\",\"message\":\"x\"},\"z\":1}",
		409, "Conflict", "jitgated answered 409: x");
	/* No usable ARM error: the code follows from the status. */
	expect_server_error(400, NULL, 400, JIT_E_BAD_REQUEST,
		"jitgated answered 400: no error message");
	expect_server_error(502, "<html>Bad Gateway</html>", 502, JIT_E_INTERNAL,
		"jitgated answered 502: no error message");
	expect_server_error(404, "{\"error\":\"NotFound\"}", 404, JIT_E_BAD_REQUEST,
		"jitgated answered 404: no error message");
	expect_server_error(500, "{\"error\":{\"code\":7,\"message\":null}}", 500, JIT_E_INTERNAL,
		"jitgated answered 500: no error message");
	expect_server_error(429, "{\"error\":{\"code\":\"TooManyRequests\"}}", 429,
		"TooManyRequests", "jitgated answered 429: no error message");
}

/* What the server says goes into the agent's log: one line of printable ASCII. */
static void
test_server_error_text_is_cleaned_and_bounded(void **state)
{
	struct jit_error err;
	json_t *j;
	char *big, *body;

	(void)state;
	expect_server_error(400,
		"{\"error\":{\"code\":\"Bad\\nCode\",\"message\":\"line1\\nline2\\u001b[31m\\u00e9\"}}",
		400, "Bad?Code", "jitgated answered 400: line1?line2?[31m??");
	big = repeat('m', 4 * JIT_ERROR_MSG_MAX);
	j = json_pack("{s:{s:s,s:s}}", "error", "code", big, "message", big);
	body = json_dumps(j, 0);
	assert_int_equal(jit_cp_server_error(418, body, strlen(body), &err), -1);
	assert_int_equal(err.status, 418);
	assert_int_equal(strlen(err.code), JIT_ERROR_CODE_MAX - 1);
	assert_true(strlen(err.message) < JIT_ERROR_MSG_MAX);
	assert_int_equal(strncmp(err.message, "jitgated answered 418: mmm", 26), 0);
	/* Only len bytes of the body are read. */
	assert_int_equal(jit_cp_server_error(503, body, 3, &err), -1);
	assert_string_equal(err.message, "jitgated answered 503: no error message");
	free(body);
	json_decref(j);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_syntax),
		cmocka_unit_test(test_server_url_accepted),
		cmocka_unit_test(test_longest_url_fits),
		cmocka_unit_test(test_server_url_refused),
		cmocka_unit_test(test_credential_is_checked_and_never_quoted),
		cmocka_unit_test(test_enroll_answer_host_and_gateway),
		cmocka_unit_test(test_enroll_answer_refused),
		cmocka_unit_test(test_server_error_keeps_status_and_code),
		cmocka_unit_test(test_server_error_text_is_cleaned_and_bounded),
	};
	int rc;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
