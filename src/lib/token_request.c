/*
 * token_request.c: the OAuth2 client-credentials token request (see token_request.h).
 *
 * The form is decoded pair by pair into fixed buffers: '+' is a space, "%HH" a byte
 * (a bad escape or %00 refuses the whole request), and only the parameters the grant
 * needs are kept. Scopes are a space-separated list; OpenID's reserved scopes (openid,
 * profile, offline_access) mean nothing to a client-credentials grant and are skipped,
 * and what remains must be one "<resource>/.default", as Azure AD's v2 endpoint asks.
 */
#include "token_request.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define FIELD_MAX (JIT_SCOPE_MAX + 1)

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int bad(struct jit_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
bad(struct jit_error *err, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = jit_verrorf(err, 400, JIT_OAUTH_INVALID_REQUEST, fmt, ap);
	va_end(ap);
	return r;
}

/* Decodes s[0..len) into out (cap bytes with its NUL); -1 when it does not fit. */
static int
decode(const char *s, size_t len, char *out, size_t cap, const char *what,
	struct jit_error *err)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;

			if (i + 2 >= len || (hi = hexval(s[i + 1])) < 0 || (lo = hexval(s[i + 2])) < 0)
				return bad(err, "the form parameter '%s' has a malformed %%-escape", what);
			c = hi * 16 + lo;
			i += 2;
		}
		if (c == 0)
			return bad(err, "the form parameter '%s' contains a NUL byte", what);
		if (o + 1 >= cap)
			return bad(err, "the form parameter '%s' is too long", what);
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/* The parameters we keep, in the order of this table. */
enum { P_GRANT, P_CLIENT_ID, P_CLIENT_SECRET, P_SCOPE, P_RESOURCE, N_PARAMS };
static const char *const param_names[N_PARAMS] = {
	"grant_type", "client_id", "client_secret", "scope", "resource",
};

static int
param_index(const char *key)
{
	for (int i = 0; i < N_PARAMS; i++)
		if (strcmp(key, param_names[i]) == 0)
			return i;
	return -1;
}

static bool
reserved_scope(const char *s, size_t n)
{
	static const char *const reserved[] = {"openid", "profile", "offline_access"};

	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strlen(reserved[i]) == n && strncmp(s, reserved[i], n) == 0)
			return true;
	return false;
}

/* One "<resource>/.default" among the scopes, into out->resource. */
static int
parse_scope(const char *scope, struct jit_token_request *out, struct jit_error *err)
{
	static const char suffix[] = "/.default";
	const size_t slen = sizeof(suffix) - 1;
	const char *p = scope;
	bool have = false;

	while (*p) {
		size_t n;

		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		if (n == 0)
			break;
		if (!reserved_scope(p, n)) {
			if (have)
				return jit_errorf(err, 400, JIT_OAUTH_INVALID_SCOPE,
					"a client-credentials token is for one resource: send one "
					"scope '<resource>/.default'");
			if (n <= slen || strncmp(p + n - slen, suffix, slen) != 0)
				return jit_errorf(err, 400, JIT_OAUTH_INVALID_SCOPE,
					"the scope of a client-credentials grant must be "
					"'<resource>/.default' (e.g. 'https://jitgate.example:8443/.default')");
			memcpy(out->resource, p, n - slen);
			out->resource[n - slen] = '\0';
			have = true;
		}
		p += n;
	}
	return 0;
}

int
jit_token_request_parse(const char *body, size_t len, struct jit_token_request *out,
	struct jit_error *err)
{
	char values[N_PARAMS][FIELD_MAX];
	bool seen[N_PARAMS] = {0};
	char key[32];
	size_t i = 0;
	int r = -1;

	memset(out, 0, sizeof(*out));
	if (len > JIT_TOKEN_REQUEST_MAX)
		return jit_errorf(err, 400, JIT_OAUTH_INVALID_REQUEST,
			"the token request is larger than %d bytes", JIT_TOKEN_REQUEST_MAX);
	while (i < len) {
		size_t end = i, eq;
		int k;

		while (end < len && body[end] != '&')
			end++;
		for (eq = i; eq < end && body[eq] != '='; eq++)
			;
		if (end == i) {
			i = end + 1;
			continue;
		}
		if (decode(body + i, eq - i, key, sizeof(key), "name", err) != 0) {
			/* A name longer than any we know is simply not one of ours. */
			if (eq - i < sizeof(key))
				goto out;
			i = end + 1;
			continue;
		}
		if ((k = param_index(key)) >= 0) {
			if (seen[k]) {
				bad(err, "the form parameter '%s' is given more than once",
					param_names[k]);
				goto out;
			}
			seen[k] = true;
			if (decode(body + eq + (eq < end), end - eq - (eq < end), values[k],
				FIELD_MAX, param_names[k], err) != 0)
				goto out;
		}
		i = end + 1;
	}
	if (!seen[P_GRANT] || values[P_GRANT][0] == '\0') {
		bad(err, "the request lacks '%s' (this endpoint takes client_credentials)",
			"grant_type");
		goto out;
	}
	if (strcmp(values[P_GRANT], "client_credentials") != 0) {
		char q[JIT_QUOTE_BUFSZ(40)];

		jit_errorf(err, 400, JIT_OAUTH_UNSUPPORTED_GRANT,
			"the grant type \"%s\" is not supported; jitgated issues tokens for the "
			"client_credentials grant only", jit_quote(q, sizeof(q), values[P_GRANT],
			strlen(values[P_GRANT])));
		goto out;
	}
	if (!seen[P_CLIENT_ID] || values[P_CLIENT_ID][0] == '\0') {
		bad(err, "the request lacks '%s' (a principal's name or object ID)", "client_id");
		goto out;
	}
	if (strlen(values[P_CLIENT_ID]) > JIT_CLIENT_ID_MAX) {
		bad(err, "the form parameter '%s' is too long", "client_id");
		goto out;
	}
	if (!seen[P_CLIENT_SECRET] || values[P_CLIENT_SECRET][0] == '\0') {
		bad(err, "the request lacks '%s' (a client secret or a jitgate token)",
			"client_secret");
		goto out;
	}
	if (strlen(values[P_CLIENT_SECRET]) > JIT_CLIENT_SECRET_MAX) {
		jit_errorf(err, 401, JIT_OAUTH_INVALID_CLIENT,
			"the client secret is not a jitgate client secret or token");
		goto out;
	}
	/* Both lengths were checked above. */
	memcpy(out->client_id, values[P_CLIENT_ID], strlen(values[P_CLIENT_ID]) + 1);
	memcpy(out->client_secret, values[P_CLIENT_SECRET], strlen(values[P_CLIENT_SECRET]) + 1);
	if (seen[P_SCOPE] && parse_scope(values[P_SCOPE], out, err) != 0)
		goto out;
	if (out->resource[0] == '\0' && seen[P_RESOURCE])
		memcpy(out->resource, values[P_RESOURCE], sizeof(out->resource));   /* same size */
	r = 0;
out:
	sodium_memzero(values, sizeof(values));
	if (r != 0)
		jit_token_request_clear(out);
	return r;
}

void
jit_token_request_clear(struct jit_token_request *r)
{
	sodium_memzero(r, sizeof(*r));
}
