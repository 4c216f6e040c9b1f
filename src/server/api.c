/*
 * api.c: routing and the checks every request passes before its handler.
 *
 * Routes are a table of path patterns: literal segments match case-insensitively
 * (as ARM does), {sub} {rg} {loc} {name} capture checked names. A route names the
 * action it needs; authorization (RBAC, a later module) plugs in at authorize().
 * Nothing past this file sees the raw path or headers.
 */
#include "api.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "log.h"
#include "model_json.h"
#include "resource_id.h"

enum route_auth {
	AUTH_USER = 1,   /* users and service principals */
	AUTH_AGENT,      /* an enrolled agent's credential */
	AUTH_NONE,       /* enrollment: the body carries a one-time token */
};

struct route {
	const char *method;
	const char *pattern;
	enum route_auth auth;
	bool arm;            /* ARM conventions: api-version required */
	const char *action;
	void (*handler)(struct jit_call *c);
};

#define SEC "/providers/Microsoft.Security"
#define JITP "/jitNetworkAccessPolicies"
#define RGP "/subscriptions/{sub}/resourceGroups/{rg}"
#define VMS "/providers/Microsoft.Compute/virtualMachines"
#define JIT_ACTION "Microsoft.Security/locations/jitNetworkAccessPolicies"

static const struct route routes[] = {
	/* Azure JIT API, api-version 2020-01-01 */
	{"GET", "/subscriptions/{sub}" SEC JITP, AUTH_USER, true, JIT_ACTION "/read",
		jit_h_policy_list},
	{"GET", "/subscriptions/{sub}" SEC "/locations/{loc}" JITP, AUTH_USER, true,
		JIT_ACTION "/read", jit_h_policy_list},
	{"GET", RGP SEC JITP, AUTH_USER, true, JIT_ACTION "/read", jit_h_policy_list},
	{"GET", RGP SEC "/locations/{loc}" JITP, AUTH_USER, true, JIT_ACTION "/read",
		jit_h_policy_list},
	{"GET", RGP SEC "/locations/{loc}" JITP "/{name}", AUTH_USER, true, JIT_ACTION "/read",
		jit_h_policy_get},
	{"PUT", RGP SEC "/locations/{loc}" JITP "/{name}", AUTH_USER, true, JIT_ACTION "/write",
		jit_h_policy_put},
	{"DELETE", RGP SEC "/locations/{loc}" JITP "/{name}", AUTH_USER, true,
		JIT_ACTION "/delete", jit_h_policy_delete},
	{"POST", RGP SEC "/locations/{loc}" JITP "/{name}/initiate", AUTH_USER, true,
		JIT_ACTION "/initiate/action", jit_h_policy_initiate},

	/* Inventory */
	{"GET", "/subscriptions", AUTH_USER, true, "Microsoft.Resources/subscriptions/read",
		jit_h_sub_list},
	{"GET", "/subscriptions/{sub}", AUTH_USER, true, "Microsoft.Resources/subscriptions/read",
		jit_h_sub_get},
	{"PUT", "/subscriptions/{sub}", AUTH_USER, true, "Microsoft.Resources/subscriptions/write",
		jit_h_sub_put},
	{"GET", "/subscriptions/{sub}/resourceGroups", AUTH_USER, true,
		"Microsoft.Resources/subscriptions/resourceGroups/read", jit_h_rg_list},
	{"GET", RGP, AUTH_USER, true, "Microsoft.Resources/subscriptions/resourceGroups/read",
		jit_h_rg_get},
	{"PUT", RGP, AUTH_USER, true, "Microsoft.Resources/subscriptions/resourceGroups/write",
		jit_h_rg_put},
	{"DELETE", RGP, AUTH_USER, true, "Microsoft.Resources/subscriptions/resourceGroups/delete",
		jit_h_rg_delete},
	{"GET", "/subscriptions/{sub}" VMS, AUTH_USER, true, "Microsoft.Compute/virtualMachines/read",
		jit_h_vm_list},
	{"GET", RGP VMS, AUTH_USER, true, "Microsoft.Compute/virtualMachines/read", jit_h_vm_list},
	{"GET", RGP VMS "/{name}", AUTH_USER, true, "Microsoft.Compute/virtualMachines/read",
		jit_h_vm_get},
	{"PUT", RGP VMS "/{name}", AUTH_USER, true, "Microsoft.Compute/virtualMachines/write",
		jit_h_vm_put},
	{"DELETE", RGP VMS "/{name}", AUTH_USER, true, "Microsoft.Compute/virtualMachines/delete",
		jit_h_vm_delete},

	/* Agents: enrollment tokens, enforcement points, and the agent channel */
	{"POST", RGP "/providers/Jitgate/enrollmentTokens", AUTH_USER, true,
		"Jitgate/enrollmentTokens/write", jit_h_enrollment_token_create},
	{"GET", "/subscriptions/{sub}/providers/Jitgate/enforcementPoints", AUTH_USER, true,
		"Jitgate/enforcementPoints/read", jit_h_ep_list},
	{"GET", RGP "/providers/Jitgate/enforcementPoints", AUTH_USER, true,
		"Jitgate/enforcementPoints/read", jit_h_ep_list},
	{"GET", RGP "/providers/Jitgate/enforcementPoints/{name}", AUTH_USER, true,
		"Jitgate/enforcementPoints/read", jit_h_ep_get},
	{"POST", "/agent/v1/enroll", AUTH_NONE, false, "Jitgate/enforcementPoints/enroll/action",
		jit_h_agent_enroll},
	{"GET", "/agent/v1/desired-state", AUTH_AGENT, false, "Jitgate/agent/desiredState/read",
		jit_h_agent_desired_state},
	{"POST", "/agent/v1/status", AUTH_AGENT, false, "Jitgate/agent/status/action",
		jit_h_agent_status},
};

#define MAX_SEGMENTS 16

/* Splits a path into segments in place; fails on empty segments (// or a trailing /). */
static int
split_path(char *path, char *seg[MAX_SEGMENTS], size_t *n)
{
	char *p = path + 1;

	*n = 0;
	if (path[0] != '/')
		return -1;
	if (path[1] == '\0')
		return 0;
	for (;;) {
		char *slash = strchr(p, '/');

		if (slash != NULL)
			*slash = '\0';
		if (*p == '\0' || *n == MAX_SEGMENTS)
			return -1;
		seg[(*n)++] = p;
		if (slash == NULL)
			return 0;
		p = slash + 1;
	}
}

/* Matches one route; fills params (pointing into seg) in the order they appear. */
static bool
match(const char *pattern, char *seg[], size_t n, const char *params[4], const char *names[4])
{
	char pat[512];
	char *save = NULL, *tok;
	size_t i = 0, k = 0;

	snprintf(pat, sizeof(pat), "%s", pattern);
	for (tok = strtok_r(pat, "/", &save); tok != NULL; tok = strtok_r(NULL, "/", &save), i++) {
		if (i >= n)
			return false;
		if (tok[0] == '{') {
			if (k < 4) {
				params[k] = seg[i];
				names[k] = pattern + (tok - pat);
				k++;
			}
		} else if (strcasecmp(tok, seg[i]) != 0) {
			return false;
		}
	}
	return i == n;
}

static const char *
param_kind(const char *name)
{
	if (strncmp(name, "{sub}", 5) == 0)
		return "subscription ID";
	if (strncmp(name, "{rg}", 4) == 0)
		return "resource group name";
	if (strncmp(name, "{loc}", 5) == 0)
		return "location";
	return "resource name";
}

static int
bind_params(struct jit_call *c, const char *params[4], const char *names[4],
	struct jit_error *err)
{
	for (size_t k = 0; k < 4 && params[k] != NULL; k++) {
		const char *kind = param_kind(names[k]);
		char *dst;

		if (jit_rid_check_name(params[k], kind, err) != 0) {
			err->status = 400;
			return -1;
		}
		if (strncmp(names[k], "{sub}", 5) == 0)
			dst = c->sub;
		else if (strncmp(names[k], "{rg}", 4) == 0)
			dst = c->rg;
		else if (strncmp(names[k], "{loc}", 5) == 0)
			dst = c->loc;
		else
			dst = c->name;
		snprintf(dst, JIT_NAME_MAX + 1, "%s", params[k]);
	}
	return 0;
}

void
jit_call_reply(struct jit_call *c, int status, json_t *body)
{
	c->resp->status = status;
	json_decref(c->resp->body);
	c->resp->body = body;
}

void
jit_call_fail(struct jit_call *c, const struct jit_error *err)
{
	jit_http_error(c->resp, err);
}

int
jit_call_body(struct jit_call *c, json_t **out, struct jit_error *err)
{
	const char *ct = jit_http_header(c->req, "Content-Type");

	if (ct != NULL && strncasecmp(ct, "application/json", 16) != 0)
		return jit_errorf(err, 415, JIT_E_UNSUPPORTED_MEDIA,
			"The Content-Type '%.64s' is not supported; send application/json.", ct);
	if (c->req->body_len == 0)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"The request body is empty; a JSON object is required.");
	return jit_json_parse_object(c->req->body, c->req->body_len, out, err);
}

int
jit_call_audit(struct jit_call *c, const char *operation, const char *resource_id, int status,
	const char *details_json, struct jit_error *err)
{
	struct jit_audit_entry e = {
		.time = c->now,
		.principal_id = c->authenticated ? c->principal.id : 0,
		.principal_name = c->authenticated ? c->principal.name : NULL,
		.caller = c->caller_text,
		.operation = operation,
		.resource_id = resource_id,
		.result = status < 400 ? "Succeeded" : "Failed",
		.status = status,
		.correlation_id = c->correlation,
		.details_json = details_json,
	};

	return jit_store_audit_append(c->api->store, &e, err);
}

void
jit_call_audit_failure(struct jit_call *c, const char *resource_id,
	const struct jit_error *failure)
{
	struct jit_error err;
	json_t *d = json_pack("{s:s,s:s}", "code", failure->code, "message", failure->message);
	char *details = d ? json_dumps(d, JSON_COMPACT) : NULL;

	json_decref(d);
	if (jit_store_begin(c->api->store, true, &err) == 0) {
		if (jit_call_audit(c, c->action, resource_id, failure->status, details, &err) == 0)
			jit_store_commit(c->api->store, &err);
		else
			jit_store_rollback(c->api->store);
	}
	free(details);
}

static int
check_api_version(struct jit_call *c, struct jit_error *err)
{
	const char *v = jit_http_query(c->req, "api-version");

	if (v == NULL || v[0] == '\0')
		return jit_errorf(err, 400, JIT_E_MISSING_API_VERSION,
			"The api-version query parameter (?api-version=) is required for all "
			"requests; this server supports '" JIT_API_VERSION "'.");
	if (strcmp(v, JIT_API_VERSION) != 0)
		return jit_errorf(err, 400, JIT_E_INVALID_API_VERSION,
			"The api-version '%.32s' is invalid. The supported versions are '"
			JIT_API_VERSION "'.", v);
	return 0;
}

/* Resolves the caller; an agent credential is valid only on the agent channel, and
 * the agent channel only for agents. RBAC (roles at scopes) plugs in here. */
static int
authenticate(struct jit_call *c, enum route_auth need, struct jit_error *err)
{
	struct jit_store *st = c->api->store;
	int r;

	if (need == AUTH_NONE)
		return 0;
	if (jit_store_begin(st, false, err) != 0)
		return -1;
	r = jit_auth_bearer(st, jit_http_header(c->req, "Authorization"), c->now, &c->principal,
		err);
	if (r == 0 && jit_store_commit(st, err) != 0)
		return -1;
	if (r != 0) {
		jit_store_rollback(st);
		return -1;
	}
	c->authenticated = true;
	if (need == AUTH_AGENT && c->principal.kind != JIT_PRINCIPAL_AGENT)
		return jit_errorf(err, 403, JIT_E_FORBIDDEN,
			"The client '%s' is not an agent; the agent channel needs an enrolled "
			"agent's credential.", c->principal.name);
	if (need == AUTH_USER && c->principal.kind == JIT_PRINCIPAL_AGENT)
		return jit_errorf(err, 403, JIT_E_FORBIDDEN,
			"The client '%s' is an agent and does not have authorization to perform "
			"action '%s'.", c->principal.name, c->action);
	return 0;
}

static void
new_correlation(char out[40])
{
	unsigned char b[16];

	randombytes_buf(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		b[13], b[14], b[15]);
}

static void
log_request(const struct jit_call *c)
{
	char status[8];

	snprintf(status, sizeof(status), "%d", c->resp->status);
	jit_log(c->resp->status >= 500 ? JIT_LOG_ERROR : JIT_LOG_INFO, "request",
		"method", c->req->method, "path", c->req->path, "status", status,
		"principal", c->authenticated ? c->principal.name : "-",
		"caller", c->caller_text, "correlation", c->correlation,
		"error", c->resp->status >= 400 && c->resp->body ?
			json_string_value(json_object_get(json_object_get(c->resp->body, "error"),
				"code")) : NULL,
		(const char *)NULL);
}

void
jit_api_handle(void *ctx, const struct jit_http_request *req, struct jit_http_response *resp)
{
	struct jit_call c = {.api = ctx, .req = req, .resp = resp};
	char path[2048];
	char *seg[MAX_SEGMENTS];
	const struct route *found = NULL;
	bool path_matched = false;
	struct jit_error err;
	size_t n;

	c.now = jit_time_now();
	new_correlation(c.correlation);
	if (jit_prefix_from_sockaddr((const struct sockaddr *)&req->peer, &c.caller, &err) == 0)
		jit_prefix_format(&c.caller, c.caller_text);
	else
		snprintf(c.caller_text, sizeof(c.caller_text), "unknown");

	if (strlen(req->path) >= sizeof(path)) {
		jit_errorf(&err, 414, "UriTooLong", "The request path is too long.");
		goto fail;
	}
	snprintf(path, sizeof(path), "%s", req->path);
	if (strcmp(path, "/healthz") == 0 && strcmp(req->method, "GET") == 0) {
		jit_call_reply(&c, 200, json_pack("{s:s}", "status", "ok"));
		return;
	}
	if (split_path(path, seg, &n) != 0) {
		jit_errorf(&err, 400, JIT_E_BAD_REQUEST,
			"The request path '%.200s' is malformed (empty segments or too many).",
			req->path);
		goto fail;
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const char *params[4] = {0}, *names[4] = {0};

		if (!match(routes[i].pattern, seg, n, params, names))
			continue;
		path_matched = true;
		if (strcmp(routes[i].method, req->method) != 0)
			continue;
		found = &routes[i];
		c.action = found->action;
		if (bind_params(&c, params, names, &err) != 0)
			goto fail;
		break;
	}
	if (found == NULL) {
		if (path_matched)
			jit_errorf(&err, 405, JIT_E_METHOD_NOT_ALLOWED,
				"The method '%.16s' is not allowed on '%.200s'.", req->method, req->path);
		else
			jit_errorf(&err, 404, JIT_E_NOT_FOUND,
				"No resource or operation matches '%.16s %.200s'. See docs/api.md.",
				req->method, req->path);
		goto fail;
	}
	if (found->arm && check_api_version(&c, &err) != 0)
		goto fail;
	if (authenticate(&c, found->auth, &err) != 0) {
		if (err.status == 403)
			jit_call_audit_failure(&c, req->path, &err);
		goto fail;
	}
	found->handler(&c);
	if (resp->status == 0) {
		jit_errorf(&err, 500, JIT_E_INTERNAL, "The handler produced no response.");
		goto fail;
	}
	log_request(&c);
	return;
fail:
	jit_call_fail(&c, &err);
	log_request(&c);
}
