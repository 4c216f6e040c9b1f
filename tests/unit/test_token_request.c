/*
 * test_token_request.c: the OAuth2 client-credentials form as MSAL sends it, the
 * decoding of the form (+, %-escapes, empty pairs, unknown parameters), the scope rules,
 * and every refusal with its OAuth2 code; a refused request keeps no secret.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "token_request.h"

static struct jit_token_request
parse_ok(const char *body)
{
	struct jit_token_request r;
	struct jit_error e;

	jit_error_clear(&e);
	if (jit_token_request_parse(body, strlen(body), &r, &e) != 0)
		fail_msg("\"%s\" was refused: %s", body, e.message);
	return r;
}

static void
parse_bad(const char *body, int status, const char *code, const char *want)
{
	struct jit_token_request r;
	struct jit_error e;

	jit_error_clear(&e);
	assert_int_equal(jit_token_request_parse(body, strlen(body), &r, &e), -1);
	assert_int_equal(e.status, status);
	assert_string_equal(e.code, code);
	if (strstr(e.message, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", e.message, want);
	/* Nothing of a refused request is kept, its secret least of all. */
	assert_string_equal(r.client_secret, "");
	assert_string_equal(r.client_id, "");
}

static void
test_msal_form(void **state)
{
	/* What MSAL Python sends for az login --service-principal (order as sent). */
	struct jit_token_request r = parse_ok(
		"client_id=ci-bot&grant_type=client_credentials&client_info=1"
		"&client_secret=jcs_0123456789abcdef_AbC-dEf_012"
		"&scope=https%3A%2F%2Fjitgate.example%3A8443%2F%2F.default");

	assert_string_equal(r.client_id, "ci-bot");
	assert_string_equal(r.client_secret, "jcs_0123456789abcdef_AbC-dEf_012");
	assert_string_equal(r.resource, "https://jitgate.example:8443/");
}

static void
test_decoding(void **state)
{
	struct jit_token_request r = parse_ok(
		"&&grant_type=client_credentials&client_id=a+b%40example.org&"
		"client_secret=s%2Bx&unknown=whatever&noequals&scope=openid+profile+"
		"offline_access+api%3A%2F%2Fx%2F.default+&");

	assert_string_equal(r.client_id, "a b@example.org");
	assert_string_equal(r.client_secret, "s+x");
	assert_string_equal(r.resource, "api://x");
	/* ADFS's resource= when no scope names one; no scope at all is allowed. */
	r = parse_ok("grant_type=client_credentials&client_id=a&client_secret=b&resource=urn%3Ax");
	assert_string_equal(r.resource, "urn:x");
	r = parse_ok("grant_type=client_credentials&client_id=a&client_secret=b&scope=openid");
	assert_string_equal(r.resource, "");
}

static void
test_refusals(void **state)
{
	char big[JIT_TOKEN_REQUEST_MAX + 2], secret[400];

	parse_bad("client_id=a&client_secret=b", 400, "invalid_request", "grant_type");
	parse_bad("grant_type=password&client_id=a&client_secret=b", 400,
		"unsupported_grant_type", "\"password\"");
	parse_bad("grant_type=authorization_code%1b%5b31m&client_id=a&client_secret=b", 400,
		"unsupported_grant_type", "\\x1b");
	parse_bad("grant_type=client_credentials&client_secret=b", 400, "invalid_request",
		"client_id");
	parse_bad("grant_type=client_credentials&client_id=&client_secret=b", 400,
		"invalid_request", "client_id");
	parse_bad("grant_type=client_credentials&client_id=a", 400, "invalid_request",
		"client_secret");
	parse_bad("grant_type=client_credentials&client_id=a&client_id=b&client_secret=c", 400,
		"invalid_request", "more than once");
	parse_bad("grant_type=client_credentials&client_id=a%2&client_secret=c", 400,
		"invalid_request", "malformed");
	parse_bad("grant_type=client_credentials&client_id=a%zz&client_secret=c", 400,
		"invalid_request", "malformed");
	parse_bad("grant_type=client_credentials&client_id=a%00b&client_secret=c", 400,
		"invalid_request", "NUL");
	parse_bad("grant_type=client_credentials&client_id=a&client_secret=c&scope=x%2F.default"
		"+y%2F.default", 400, "invalid_scope", "one resource");
	parse_bad("grant_type=client_credentials&client_id=a&client_secret=c&scope=user.read",
		400, "invalid_scope", "/.default");
	parse_bad("grant_type=client_credentials&client_id=a&client_secret=c&scope=%2F.default",
		400, "invalid_scope", "/.default");
	memset(secret, 'x', sizeof(secret) - 1);
	secret[sizeof(secret) - 1] = '\0';
	memcpy(secret, "grant_type=client_credentials&client_id=a&client_secret=", 56);
	parse_bad(secret, 401, "invalid_client", "not a jitgate client secret");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	parse_bad(big, 400, "invalid_request", "larger than");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msal_form),
		cmocka_unit_test(test_decoding),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
