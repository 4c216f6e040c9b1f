/*
 * api_console.c: the web console's sign-in (a token opens a cookie session, see
 * service/session.h) and Azure's Microsoft.Authorization/permissions (what the caller
 * may do at a scope), which the console reads to show only the buttons that work.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "json_decode.h"
#include "log.h"
#include "model_json.h"

/* Set-Cookie for the session: host-only (__Host-), HTTPS only, out of scripts' reach,
 * never sent by another site's request. Max-Age 0 deletes it. */
static int
set_cookie(struct jit_call *c, const char *value, long long max_age)
{
	char header[JIT_TOKEN_MAX + 160];

	snprintf(header, sizeof(header), "%s=%s; Path=/; Secure; HttpOnly; SameSite=Strict; "
		"Max-Age=%lld", JIT_SESSION_COOKIE, value, max_age);
	return jit_http_add_header(c->resp, "Set-Cookie", header);
}

static void
session_reply(struct jit_call *c, int status, const struct jit_session *s)
{
	char expires[JIT_TIME_BUFSZ];

	jit_time_format(s->expires, expires);
	jit_call_reply(c, status, json_pack("{s:b,s:o,s:s,s:s,s:s}", "signedIn", 1, "principal",
		jit_principal_json(&s->principal), "csrfToken", s->csrf, "expiresUtc", expires,
		"callerAddress", c->caller_text));
}

static bool
console_on(const struct jit_call *c, struct jit_error *err)
{
	if (c->api->console != NULL && c->api->console->enabled)
		return true;
	jit_errorf(err, 404, JIT_E_NOT_FOUND,
		"The web console is turned off on this server (--no-console): no sessions.");
	return false;
}

void
jit_h_session_create(struct jit_call *c)
{
	struct jit_session_caller who = {c->caller_text, c->correlation};
	struct jit_session s;
	struct jit_error err;
	json_t *body = NULL;
	const char *token;

	if (!console_on(c, &err) || jit_call_body(c, &body, &err) != 0)
		goto fail;
	if (jit_json_string(json_object_get(body, "token"), "token", true, JIT_TOKEN_MAX - 1,
		&token, &err) != 0) {
		err.status = 400;
		goto fail;
	}
	if (jit_session_open(c->api->store, token, c->now, &who, &s, &err) != 0) {
		/* Counted and audited exactly like a bad bearer token. */
		if (err.status == 401)
			jit_call_credential_refused(c, &err);
		goto fail;
	}
	json_decref(body);
	c->principal = s.principal;
	c->authenticated = true;
	if (set_cookie(c, s.cookie, JIT_SESSION_LIFETIME_NS / JIT_NS_PER_SEC) != 0 ||
		jit_console_security_headers(c->resp) != 0) {
		sodium_memzero(&s, sizeof(s));
		jit_errorf(&err, 500, JIT_E_INTERNAL, "out of memory");
		jit_call_fail(c, &err);
		return;
	}
	jit_log(JIT_LOG_INFO, "session_opened", "principal", s.principal.name, "caller",
		c->caller_text, (const char *)NULL);
	session_reply(c, 201, &s);
	sodium_memzero(&s, sizeof(s));
	return;
fail:
	json_decref(body);
	jit_call_fail(c, &err);
}

/* The console asks this on every load: with no credential at all the answer is "not
 * signed in" (200), not a failed authentication: a visitor is not guessing tokens. A
 * cookie or token that is sent is checked (and counted) as on every other route. */
void
jit_h_session_get(struct jit_call *c)
{
	struct jit_error err;

	if (jit_http_header(c->req, "Authorization") == NULL && (!console_on(c, &err) ||
		jit_http_cookie(c->req, JIT_SESSION_COOKIE) == NULL)) {
		jit_call_reply(c, 200, json_pack("{s:b}", "signedIn", 0));
		return;
	}
	if (jit_call_authenticate(c, &err) != 0) {
		jit_call_fail(c, &err);
		/* An ended session's cookie is dropped, so the browser stops sending it. */
		if (err.status == 401 && jit_http_header(c->req, "Authorization") == NULL)
			set_cookie(c, "", 0);
		return;
	}
	if (!c->via_session) {
		jit_errorf(&err, 400, JIT_E_BAD_REQUEST,
			"This request authenticated with a bearer token, not a console session.");
		jit_call_fail(c, &err);
		return;
	}
	session_reply(c, 200, &c->session);
	jit_console_security_headers(c->resp);
}

void
jit_h_session_delete(struct jit_call *c)
{
	struct jit_session_caller who = {c->caller_text, c->correlation};
	struct jit_error err;

	if (!c->via_session) {
		jit_errorf(&err, 400, JIT_E_BAD_REQUEST,
			"This request authenticated with a bearer token, not a console session; "
			"revoke the token instead.");
		jit_call_fail(c, &err);
		return;
	}
	if (jit_session_close(c->api->store, c->session.cookie, c->now, &who, &c->principal,
		&err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	jit_log(JIT_LOG_INFO, "session_closed", "principal", c->principal.name,
		(const char *)NULL);
	jit_call_reply(c, 200, json_pack("{s:b}", "signedOut", 1));
	set_cookie(c, "", 0);
	jit_console_security_headers(c->resp);
}

static json_t *
string_array(const char (*items)[JIT_ACTION_MAX], size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_string(items[i]));
	return a;
}

/*
 * GET {scope}/providers/Microsoft.Authorization/permissions: Azure's answer, one
 * Permission ({actions, notActions, dataActions, notDataActions}) per role the caller
 * holds at the scope or above. Ours: each also names its "scope" and "roleName", and
 * includeBelow=true adds the roles held below the scope (a requester of one VM asks at
 * the subscription and learns about that VM in one call).
 */
void
jit_h_permissions(struct jit_call *c)
{
	const char *below_q = jit_http_query(c->req, "includeBelow");
	char scope[JIT_RESOURCE_ID_MAX];
	struct jit_error err;
	json_t *value;
	bool below;

	c->action = "Microsoft.Authorization/permissions/read";
	if (strcmp(c->req->method, "GET") != 0) {
		jit_errorf(&err, 405, JIT_E_METHOD_NOT_ALLOWED,
			"The permissions of a scope are read with GET only.");
		jit_call_fail(c, &err);
		return;
	}
	if (below_q != NULL && strcmp(below_q, "true") != 0 && strcmp(below_q, "false") != 0) {
		jit_errorf(&err, 400, JIT_E_BAD_REQUEST, "includeBelow: must be true or false");
		jit_call_fail(c, &err);
		return;
	}
	below = below_q != NULL && strcmp(below_q, "true") == 0;
	if ((value = json_array()) == NULL)
		goto oom;
	for (size_t i = 0; i < c->n_perms; i++) {
		const struct jit_permission *p = &c->perms[i];
		json_t *e;

		if (!jit_rid_in_scope(&p->scope, &c->scope) &&
			!(below && jit_rid_in_scope(&c->scope, &p->scope)))
			continue;
		if (jit_rid_format(&p->scope, scope, sizeof(scope)) < 0)
			snprintf(scope, sizeof(scope), "/");
		e = json_pack("{s:o,s:o,s:[],s:[],s:s,s:s}",
			"actions", string_array(p->role.actions, p->role.n_actions),
			"notActions", string_array(p->role.not_actions, p->role.n_not_actions),
			"dataActions", "notDataActions", "scope", scope[0] ? scope : "/",
			"roleName", p->role.name);
		if (e == NULL || json_array_append_new(value, e) != 0) {
			json_decref(value);
			goto oom;
		}
	}
	jit_call_reply(c, 200, json_pack("{s:o}", "value", value));
	return;
oom:
	jit_errorf(&err, 500, JIT_E_INTERNAL, "out of memory");
	jit_call_fail(c, &err);
}
