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
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth.h"
#include "auth_throttle.h"
#include "log.h"
#include "metrics.h"
#include "svc_stats.h"
#include "model_json.h"
#include "rbac.h"
#include "resource_id.h"
#include "svc_audit.h"
#include "svc_rbac.h"

enum route_auth {
	AUTH_USER = 1,   /* users and service principals */
	AUTH_AGENT,      /* an enrolled agent's credential */
	AUTH_NONE,       /* enrollment: the body carries a one-time token */
};

/* How a route is authorized (RBAC) once the caller is known. */
enum route_check {
	CHECK_RESOURCE = 1, /* the action at the route's resource */
	CHECK_LIST,         /* the action at the scope or within it; the handler filters */
	CHECK_SELF,         /* the handler decides (per-VM checks, self-service) */
	CHECK_NONE,         /* agent channel and enrollment: no roles involved */
};

struct route {
	const char *method;
	const char *pattern;
	enum route_auth auth;
	bool arm;                  /* ARM conventions: api-version required */
	const char *action;
	enum route_check check;
	enum jit_rid_kind resource; /* CHECK_RESOURCE: what the path names */
	void (*handler)(struct jit_call *c);
};

#define SEC "/providers/Microsoft.Security"
#define JITP "/jitNetworkAccessPolicies"
#define RGP "/subscriptions/{sub}/resourceGroups/{rg}"
#define VMS "/providers/Microsoft.Compute/virtualMachines"
#define JIT_ACTION "Microsoft.Security/locations/jitNetworkAccessPolicies"
#define PRINCIPALS "/providers/Jitgate/principals"

static const struct route routes[] = {
	/* Azure JIT API, api-version 2020-01-01 */
	{"GET", "/subscriptions/{sub}" SEC JITP, AUTH_USER, true, JIT_ACTION "/read", CHECK_LIST,
		0, jit_h_policy_list},
	{"GET", "/subscriptions/{sub}" SEC "/locations/{loc}" JITP, AUTH_USER, true,
		JIT_ACTION "/read", CHECK_LIST, 0, jit_h_policy_list},
	{"GET", RGP SEC JITP, AUTH_USER, true, JIT_ACTION "/read", CHECK_LIST, 0,
		jit_h_policy_list},
	{"GET", RGP SEC "/locations/{loc}" JITP, AUTH_USER, true, JIT_ACTION "/read", CHECK_LIST,
		0, jit_h_policy_list},
	{"GET", RGP SEC "/locations/{loc}" JITP "/{name}", AUTH_USER, true, JIT_ACTION "/read",
		CHECK_SELF, 0, jit_h_policy_get},
	{"PUT", RGP SEC "/locations/{loc}" JITP "/{name}", AUTH_USER, true, JIT_ACTION "/write",
		CHECK_RESOURCE, JIT_RID_JIT_POLICY, jit_h_policy_put},
	{"DELETE", RGP SEC "/locations/{loc}" JITP "/{name}", AUTH_USER, true,
		JIT_ACTION "/delete", CHECK_RESOURCE, JIT_RID_JIT_POLICY, jit_h_policy_delete},
	{"POST", RGP SEC "/locations/{loc}" JITP "/{name}/initiate", AUTH_USER, true,
		JIT_ACTION "/initiate/action", CHECK_SELF, 0, jit_h_policy_initiate},
	/* Ours: end access early (Azure has no revoke operation). */
	{"POST", RGP SEC "/locations/{loc}" JITP "/{name}/revoke", AUTH_USER, true,
		JIT_ACTION "/revoke/action", CHECK_SELF, 0, jit_h_policy_revoke},
	/* Ours: move the end of active access (a new request; the initiate action). */
	{"POST", RGP SEC "/locations/{loc}" JITP "/{name}/extend", AUTH_USER, true,
		JIT_ACTION "/initiate/action", CHECK_SELF, 0, jit_h_policy_extend},

	/* Inventory */
	{"GET", "/subscriptions", AUTH_USER, true, "Microsoft.Resources/subscriptions/read",
		CHECK_SELF, 0, jit_h_sub_list},
	{"GET", "/subscriptions/{sub}", AUTH_USER, true, "Microsoft.Resources/subscriptions/read",
		CHECK_SELF, 0, jit_h_sub_get},
	{"PUT", "/subscriptions/{sub}", AUTH_USER, true, "Microsoft.Resources/subscriptions/write",
		CHECK_RESOURCE, JIT_RID_SUBSCRIPTION, jit_h_sub_put},
	{"GET", "/subscriptions/{sub}/resourceGroups", AUTH_USER, true,
		"Microsoft.Resources/subscriptions/resourceGroups/read", CHECK_SELF, 0, jit_h_rg_list},
	{"GET", RGP, AUTH_USER, true, "Microsoft.Resources/subscriptions/resourceGroups/read",
		CHECK_SELF, 0, jit_h_rg_get},
	{"PUT", RGP, AUTH_USER, true, "Microsoft.Resources/subscriptions/resourceGroups/write",
		CHECK_RESOURCE, JIT_RID_RESOURCE_GROUP, jit_h_rg_put},
	{"DELETE", RGP, AUTH_USER, true, "Microsoft.Resources/subscriptions/resourceGroups/delete",
		CHECK_RESOURCE, JIT_RID_RESOURCE_GROUP, jit_h_rg_delete},
	{"GET", "/subscriptions/{sub}" VMS, AUTH_USER, true,
		"Microsoft.Compute/virtualMachines/read", CHECK_LIST, 0, jit_h_vm_list},
	{"GET", RGP VMS, AUTH_USER, true, "Microsoft.Compute/virtualMachines/read", CHECK_LIST, 0,
		jit_h_vm_list},
	{"GET", RGP VMS "/{name}", AUTH_USER, true, "Microsoft.Compute/virtualMachines/read",
		CHECK_RESOURCE, JIT_RID_VM, jit_h_vm_get},
	{"PUT", RGP VMS "/{name}", AUTH_USER, true, "Microsoft.Compute/virtualMachines/write",
		CHECK_RESOURCE, JIT_RID_VM, jit_h_vm_put},
	{"DELETE", RGP VMS "/{name}", AUTH_USER, true, "Microsoft.Compute/virtualMachines/delete",
		CHECK_RESOURCE, JIT_RID_VM, jit_h_vm_delete},

	/* Agents: enrollment tokens, enforcement points, and the agent channel */
	{"POST", RGP "/providers/Jitgate/enrollmentTokens", AUTH_USER, true,
		"Jitgate/enrollmentTokens/write", CHECK_RESOURCE, JIT_RID_RESOURCE_GROUP,
		jit_h_enrollment_token_create},
	{"GET", "/subscriptions/{sub}/providers/Jitgate/enforcementPoints", AUTH_USER, true,
		"Jitgate/enforcementPoints/read", CHECK_LIST, 0, jit_h_ep_list},
	{"GET", RGP "/providers/Jitgate/enforcementPoints", AUTH_USER, true,
		"Jitgate/enforcementPoints/read", CHECK_LIST, 0, jit_h_ep_list},
	{"GET", RGP "/providers/Jitgate/enforcementPoints/{name}", AUTH_USER, true,
		"Jitgate/enforcementPoints/read", CHECK_RESOURCE, JIT_RID_ENFORCEMENT_POINT,
		jit_h_ep_get},
	{"DELETE", RGP "/providers/Jitgate/enforcementPoints/{name}", AUTH_USER, true,
		"Jitgate/enforcementPoints/delete", CHECK_RESOURCE, JIT_RID_ENFORCEMENT_POINT,
		jit_h_ep_delete},
	{"POST", "/agent/v1/enroll", AUTH_NONE, false, "Jitgate/enforcementPoints/enroll/action",
		CHECK_NONE, 0, jit_h_agent_enroll},
	{"GET", "/agent/v1/desired-state", AUTH_AGENT, false, "Jitgate/agent/desiredState/read",
		CHECK_NONE, 0, jit_h_agent_desired_state},
	{"POST", "/agent/v1/status", AUTH_AGENT, false, "Jitgate/agent/status/action", CHECK_NONE,
		0, jit_h_agent_status},

	/* Audit log and JIT settings */
	{"GET", "/providers/Jitgate/auditLogs", AUTH_USER, true, "Jitgate/auditLogs/read",
		CHECK_LIST, 0, jit_h_audit_list},
	{"GET", "/providers/Jitgate/auditLogs/verify", AUTH_USER, true, "Jitgate/auditLogs/read",
		CHECK_RESOURCE, JIT_RID_ROOT, jit_h_audit_verify},
	{"GET", "/providers/Jitgate/auditLogs/checkpoint", AUTH_USER, true,
		"Jitgate/auditLogs/read", CHECK_RESOURCE, JIT_RID_ROOT, jit_h_audit_checkpoint},
	{"GET", "/subscriptions/{sub}/providers/Jitgate/auditLogs", AUTH_USER, true,
		"Jitgate/auditLogs/read", CHECK_LIST, 0, jit_h_audit_list},
	{"GET", RGP "/providers/Jitgate/auditLogs", AUTH_USER, true, "Jitgate/auditLogs/read",
		CHECK_LIST, 0, jit_h_audit_list},
	{"GET", RGP VMS "/{name}/providers/Jitgate/auditLogs", AUTH_USER, true,
		"Jitgate/auditLogs/read", CHECK_RESOURCE, JIT_RID_VM, jit_h_audit_list},
	{"GET", "/subscriptions/{sub}" SEC "/jitSettings/{name}", AUTH_USER, true,
		"Microsoft.Security/jitSettings/read", CHECK_RESOURCE, JIT_RID_SUBSCRIPTION,
		jit_h_settings_get},
	{"PUT", "/subscriptions/{sub}" SEC "/jitSettings/{name}", AUTH_USER, true,
		"Microsoft.Security/jitSettings/write", CHECK_RESOURCE, JIT_RID_SUBSCRIPTION,
		jit_h_settings_put},
	{"GET", RGP SEC "/jitSettings/{name}", AUTH_USER, true,
		"Microsoft.Security/jitSettings/read", CHECK_RESOURCE, JIT_RID_RESOURCE_GROUP,
		jit_h_settings_get},
	{"PUT", RGP SEC "/jitSettings/{name}", AUTH_USER, true,
		"Microsoft.Security/jitSettings/write", CHECK_RESOURCE, JIT_RID_RESOURCE_GROUP,
		jit_h_settings_put},

	/* Principals and their tokens (roles and assignments: route_authorization) */
	{"GET", "/providers/Jitgate/whoami", AUTH_USER, true, "Jitgate/whoami/read", CHECK_NONE,
		0, jit_h_whoami},
	{"GET", PRINCIPALS, AUTH_USER, true, "Jitgate/principals/read", CHECK_RESOURCE,
		JIT_RID_ROOT, jit_h_principal_list},
	{"GET", PRINCIPALS "/{who}", AUTH_USER, true, "Jitgate/principals/read", CHECK_SELF, 0,
		jit_h_principal_get},
	{"PUT", PRINCIPALS "/{who}", AUTH_USER, true, "Jitgate/principals/write", CHECK_RESOURCE,
		JIT_RID_ROOT, jit_h_principal_put},
	{"DELETE", PRINCIPALS "/{who}", AUTH_USER, true, "Jitgate/principals/delete",
		CHECK_RESOURCE, JIT_RID_ROOT, jit_h_principal_delete},
	{"GET", PRINCIPALS "/{who}/tokens", AUTH_USER, true, "Jitgate/principals/tokens/read",
		CHECK_SELF, 0, jit_h_token_list},
	{"POST", PRINCIPALS "/{who}/tokens", AUTH_USER, true, "Jitgate/principals/tokens/write",
		CHECK_SELF, 0, jit_h_token_create},
	{"DELETE", PRINCIPALS "/{who}/tokens/{item}", AUTH_USER, true,
		"Jitgate/principals/tokens/delete", CHECK_SELF, 0, jit_h_token_revoke},
	{"GET", PRINCIPALS "/{who}/clientSecrets", AUTH_USER, true,
		"Jitgate/principals/clientSecrets/read", CHECK_SELF, 0, jit_h_secret_list},
	{"POST", PRINCIPALS "/{who}/clientSecrets", AUTH_USER, true,
		"Jitgate/principals/clientSecrets/write", CHECK_SELF, 0, jit_h_secret_create},
	{"DELETE", PRINCIPALS "/{who}/clientSecrets/{item}", AUTH_USER, true,
		"Jitgate/principals/clientSecrets/delete", CHECK_SELF, 0, jit_h_secret_revoke},

	/* Signing in with Azure's tools: OpenID discovery and OAuth2 as ADFS serves them,
	 * ARM's cloud metadata and tenants (api_oauth.c). */
	{"GET", "/adfs/.well-known/openid-configuration", AUTH_NONE, false,
		"Jitgate/oauth2/configuration/read", CHECK_NONE, 0, jit_h_oidc_configuration},
	/* az login --tenant NAME resolves NAME at {authority}/NAME/.well-known/...: ADFS's
	 * one tenant is "adfs". */
	{"GET", "/adfs/adfs/.well-known/openid-configuration", AUTH_NONE, false,
		"Jitgate/oauth2/configuration/read", CHECK_NONE, 0, jit_h_oidc_configuration},
	{"GET", "/adfs/discovery/keys", AUTH_NONE, false, "Jitgate/oauth2/configuration/read",
		CHECK_NONE, 0, jit_h_oauth_keys},
	{"GET", "/adfs/oauth2/authorize", AUTH_NONE, false, "Jitgate/oauth2/authorize/action",
		CHECK_NONE, 0, jit_h_oauth_authorize},
	{"POST", "/adfs/oauth2/token", AUTH_NONE, false, "Jitgate/oauth2/token/action",
		CHECK_NONE, 0, jit_h_oauth_token},
	{"GET", "/metadata/endpoints", AUTH_NONE, false, "Jitgate/metadata/read", CHECK_NONE, 0,
		jit_h_arm_metadata},
	{"GET", "/tenants", AUTH_USER, true, "Microsoft.Resources/tenants/read", CHECK_NONE, 0,
		jit_h_tenant_list},

	/* Prometheus: a scraper's token needs Jitgate/metrics/read at / (api_metrics.c). */
	{"GET", "/metrics", AUTH_USER, false, "Jitgate/metrics/read", CHECK_RESOURCE,
		JIT_RID_ROOT, jit_h_metrics},

	/* The web console's sign-in: a token in the body opens a cookie session. */
	{"POST", "/providers/Jitgate/sessions", AUTH_NONE, true, "Jitgate/sessions/write",
		CHECK_NONE, 0, jit_h_session_create},
	{"GET", "/providers/Jitgate/sessions/current", AUTH_NONE, true, "Jitgate/sessions/read",
		CHECK_NONE, 0, jit_h_session_get},
	{"DELETE", "/providers/Jitgate/sessions/current", AUTH_USER, true,
		"Jitgate/sessions/delete", CHECK_NONE, 0, jit_h_session_delete},
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
#define MAX_PARAMS 5

static bool
match(const char *pattern, char *seg[], size_t n, const char *params[MAX_PARAMS],
	const char *names[MAX_PARAMS])
{
	char pat[512];
	char *save = NULL, *tok;
	size_t i = 0, k = 0;

	snprintf(pat, sizeof(pat), "%s", pattern);
	for (tok = strtok_r(pat, "/", &save); tok != NULL; tok = strtok_r(NULL, "/", &save), i++) {
		if (i >= n)
			return false;
		if (tok[0] == '{') {
			if (k < MAX_PARAMS) {
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

/* Principal names may be e-mail addresses: letters, digits and . _ - @ +, 1..90 long,
 * not starting with a dot. */
static int
check_principal_name(const char *s, struct jit_error *err)
{
	size_t n = strlen(s);

	if (n == 0 || n > JIT_NAME_MAX || s[0] == '.')
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"a principal name is 1-%d characters and does not start with '.'", JIT_NAME_MAX);
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || strchr("._-@+", *p) != NULL))
			return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
				"a principal name may contain letters, digits and . _ - @ + only");
	return 0;
}

static int
bind_params(struct jit_call *c, const char *params[MAX_PARAMS], const char *names[MAX_PARAMS],
	struct jit_error *err)
{
	for (size_t k = 0; k < MAX_PARAMS && params[k] != NULL; k++) {
		const char *kind = param_kind(names[k]);
		char *dst;

		if (strncmp(names[k], "{who}", 5) == 0) {
			if (check_principal_name(params[k], err) != 0)
				return -1;
		} else if (jit_rid_check_name(params[k], kind, err) != 0) {
			err->status = 400;
			return -1;
		}
		if (strncmp(names[k], "{sub}", 5) == 0)
			dst = c->sub;
		else if (strncmp(names[k], "{rg}", 4) == 0)
			dst = c->rg;
		else if (strncmp(names[k], "{loc}", 5) == 0)
			dst = c->loc;
		else if (strncmp(names[k], "{item}", 6) == 0)
			dst = c->item;
		else
			dst = c->name;
		snprintf(dst, JIT_NAME_MAX + 1, "%s", params[k]);
	}
	return 0;
}

const char *
jit_call_own_host(const struct jit_call *c)
{
	const char *host = jit_http_header(c->req, "Host");
	char name[256];
	size_t len;

	if (host == NULL || strlen(host) >= sizeof(name) || strpbrk(host, "/?#@ \\") != NULL)
		return NULL;
	/* "name:port", "[v6]:port" or just the name. */
	if (host[0] == '[') {
		const char *close = strchr(host, ']');

		if (close == NULL)
			return NULL;
		len = (size_t)(close - host - 1);
		memcpy(name, host + 1, len);
	} else {
		const char *colon = strrchr(host, ':');

		len = colon ? (size_t)(colon - host) : strlen(host);
		memcpy(name, host, len);
	}
	name[len] = '\0';
	for (size_t i = 0; i < c->api->n_names; i++)
		if (strcasecmp(c->api->names[i], name) == 0)
			return host;
	return NULL;
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

void
jit_call_actor(const struct jit_call *c, struct jit_actor *out)
{
	*out = (struct jit_actor){
		.principal = c->authenticated ? &c->principal : NULL,
		.perms = c->perms,
		.n_perms = c->n_perms,
		.caller = c->caller_text,
		.correlation = c->correlation,
		.now = c->now,
	};
}

int
jit_call_audit(struct jit_call *c, const char *operation, const char *resource_id, int status,
	const char *details_json, struct jit_error *err)
{
	struct jit_actor a;

	jit_call_actor(c, &a);
	return jit_svc_audit(c->tx, &a, operation, resource_id, status, details_json, c->audit_vms,
		c->n_audit_vms, err);
}

void
jit_call_audit_failure(struct jit_call *c, const char *resource_id,
	const struct jit_error *failure)
{
	struct jit_actor a;

	jit_call_actor(c, &a);
	c->audited_failure = true;
	jit_svc_audit_refusal(c->api->store, &a, c->action, resource_id, c->audit_vms,
		c->n_audit_vms, failure);
}

/* ARM's account endpoints (reading subscriptions and tenants) take any api-version:
 * their shape is the same in all of them, and az asks with its own (2019-11-01). */
static bool
any_api_version(const struct route *r)
{
	return r->handler == jit_h_sub_list || r->handler == jit_h_sub_get ||
		r->handler == jit_h_tenant_list;
}

/* "YYYY-MM-DD" or "YYYY-MM-DD-preview": how every ARM api-version looks. */
static bool
api_version_shape(const char *v)
{
	for (size_t i = 0; i < 10; i++)
		if (i == 4 || i == 7 ? v[i] != '-' : (v[i] < '0' || v[i] > '9'))
			return false;
	return v[10] == '\0' || strcmp(v + 10, "-preview") == 0;
}

void
jit_call_refuse(struct jit_call *c, const char *resource_id, const struct jit_error *err)
{
	jit_call_audit_failure(c, resource_id, err);
	jit_call_fail(c, err);
}

void
jit_call_fail_audited(struct jit_call *c, const struct jit_error *err)
{
	if (err->status < 500)
		c->audited_failure = true;
	jit_call_fail(c, err);
}

static int
check_api_version(struct jit_call *c, bool any, struct jit_error *err)
{
	const char *v = jit_http_query(c->req, "api-version");

	if (v == NULL || v[0] == '\0')
		return jit_errorf(err, 400, JIT_E_MISSING_API_VERSION,
			"The api-version query parameter (?api-version=) is required for all "
			"requests; this server supports '" JIT_API_VERSION "'.");
	if (any && api_version_shape(v))
		return 0;
	if (strcmp(v, JIT_API_VERSION) != 0)
		return jit_errorf(err, 400, JIT_E_INVALID_API_VERSION,
			"The api-version '%.32s' is invalid. The supported versions are '"
			JIT_API_VERSION "'.", v);
	return 0;
}

/* ---- failed sign-ins ---- */

/* Every refused credential passes here, after it was checked (auth_throttle.h): a valid
 * credential is never refused for its address's failures. The first failures of an
 * address are audited one by one, the rest go into the summary entry the sweeper writes
 * (jit_api_audit_failed_sign_ins); an address past the limit gets 429. */
void
jit_call_credential_refused(struct jit_call *c, struct jit_error *err)
{
	enum jit_auth_verdict v = JIT_AUTH_FAIL_AUDIT;
	const char *action = c->action;
	int wait = 0;

	if (c->api->auth_throttle != NULL)
		v = jit_auth_throttle_fail(c->api->auth_throttle, &c->caller, c->now, &wait);
	if (v == JIT_AUTH_FAIL_AUDIT) {
		c->action = "Jitgate/signIn/action";
		jit_call_audit_failure(c, c->req->path, err);
		c->action = action;
	}
	c->audited_failure = true;
	if (wait > 0) {
		c->resp->retry_after = wait;
		jit_errorf(err, 429, JIT_E_TOO_MANY_REQUESTS,
			"Too many failed authentications from %s; retry in %d seconds.",
			c->caller_text, wait);
	}
}

/* The summary of the failed sign-ins not audited one by one since the last call: one
 * entry (Jitgate/signIn/action, Failed, 401) with the count and the busiest addresses. */
int
jit_api_audit_failed_sign_ins(struct jit_api *api, jit_time now, struct jit_error *err)
{
	struct jit_auth_tally top[20];
	json_t *d, *addrs;
	char *details;
	uint64_t total;
	size_t n;
	int r;

	if (api->auth_throttle == NULL)
		return 0;
	n = jit_auth_throttle_drain(api->auth_throttle, top, sizeof(top) / sizeof(top[0]),
		&total);
	if (total == 0)
		return 0;
	if ((addrs = json_array()) == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < n; i++) {
		char a[JIT_PREFIX_BUFSZ];

		jit_prefix_format(&top[i].key, a);
		json_array_append_new(addrs, json_pack("{s:s,s:I}", "address", a, "failures",
			(json_int_t)top[i].failures));
	}
	d = json_pack("{s:b,s:I,s:o}", "summary", 1, "failures", (json_int_t)total,
		"addresses", addrs);
	details = d ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	struct jit_audit_entry e = {
		.time = now,
		.operation = "Jitgate/signIn/action",
		.result = "Failed",
		.status = 401,
		.details_json = details,
	};
	if (details == NULL) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
		return -1;
	}
	r = jit_svc_audit_entry(api->store, &e, err);
	free(details);
	return r;
}

/* Is this request's Origin this server itself (https://<its Host>)? */
static bool
same_origin(const struct jit_call *c)
{
	const char *origin = jit_http_header(c->req, "Origin");
	const char *host = jit_http_header(c->req, "Host");

	if (origin == NULL || host == NULL || strncmp(origin, "https://", 8) != 0)
		return false;
	return strcasecmp(origin + 8, host) == 0;
}

/* A change made with the session cookie must come from the console's own page: the
 * browser says so (Sec-Fetch-Site, Origin), and the page proves it read the session's
 * CSRF token (which another origin cannot). Reads are free of side effects. */
static int
check_cookie_change(struct jit_call *c, struct jit_error *err)
{
	const char *m = c->req->method, *site = jit_http_header(c->req, "Sec-Fetch-Site");

	if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
		return 0;
	if (site != NULL && strcmp(site, "same-origin") != 0)
		return jit_errorf(err, 403, JIT_E_FORBIDDEN,
			"A change made with the console's session cookie must come from the console "
			"itself (Sec-Fetch-Site is '%.32s'); use a bearer token from elsewhere.", site);
	if (!same_origin(c) && !(site != NULL && jit_http_header(c->req, "Origin") == NULL))
		return jit_errorf(err, 403, JIT_E_FORBIDDEN,
			"A change made with the console's session cookie must come from the console's "
			"own origin (the Origin header is missing or another site).");
	if (!jit_session_csrf_ok(&c->session, jit_http_header(c->req, "X-CSRF-Token")))
		return jit_errorf(err, 403, JIT_E_FORBIDDEN,
			"A change made with the console's session cookie needs the session's CSRF token "
			"in the X-CSRF-Token header.");
	return 0;
}

/* ---- per-principal request rates ---- */

int
jit_call_rate_limit(struct jit_call *c, struct jit_rate_limit *rl, const char *what,
	struct jit_error *err)
{
	static _Atomic jit_time last_untracked;
	int wait;

	if (rl == NULL)
		return 0;
	switch (jit_rate_limit_take(rl, c->principal.id, c->now, &wait)) {
	case JIT_RATE_ALLOWED:
		return 0;
	case JIT_RATE_UNTRACKED:
		/* Let through, and say so at most once a minute. */
		if (c->now - atomic_load(&last_untracked) >= 60LL * JIT_NS_PER_SEC) {
			atomic_store(&last_untracked, c->now);
			jit_log(JIT_LOG_WARN, "rate_limit_full", "what", what, "principal",
				c->principal.name, (const char *)NULL);
		}
		return 0;
	case JIT_RATE_LIMITED:
		break;
	}
	c->resp->retry_after = wait;
	return jit_errorf(err, 429, JIT_E_TOO_MANY_REQUESTS,
		"The client '%s' sent too many %s requests; retry in %d seconds.",
		c->principal.name, what, wait);
}

/* Resolves the caller; an agent credential is valid only on the agent channel, and
 * the agent channel only for agents. Users get their permissions loaded. Without an
 * Authorization header, user routes also take the console's session cookie (the header
 * always wins); the agent channel never does. */
static int
authenticate(struct jit_call *c, enum route_auth need, struct jit_error *err)
{
	const char *authz = jit_http_header(c->req, "Authorization"), *cookie = NULL;
	struct jit_sign_in in;

	if (need == AUTH_NONE)
		return 0;
	if (authz == NULL && need == AUTH_USER && c->api->console != NULL &&
		c->api->console->enabled)
		cookie = jit_http_cookie(c->req, JIT_SESSION_COOKIE);
	if (jit_svc_sign_in(c->api->store, authz, cookie, c->now, &in, err) != 0) {
		if (err->status == 401) {
			const char *action = c->action;

			jit_metrics_auth_failure();
			/* A failed sign-in is an audit event too (aggregated past a few). */
			jit_call_credential_refused(c, err);
			c->action = action;
		}
		return -1;
	}
	c->principal = in.principal;
	c->cred = in.cred;
	c->via_session = in.via_session;
	c->session = in.session;
	c->perms = in.perms;
	c->n_perms = in.n_perms;
	sodium_memzero(&in.session, sizeof(in.session));
	c->authenticated = true;
	if (need == AUTH_AGENT && c->principal.kind != JIT_PRINCIPAL_AGENT)
		return jit_errorf(err, 403, JIT_E_FORBIDDEN,
			"The client '%s' is not an agent; the agent channel needs an enrolled "
			"agent's credential.", c->principal.name);
	if (need == AUTH_USER && c->principal.kind == JIT_PRINCIPAL_AGENT)
		return jit_errorf(err, 403, JIT_E_FORBIDDEN,
			"The client '%s' is an agent and does not have authorization to perform "
			"action '%s'.", c->principal.name, c->action);
	if (c->via_session)
		return check_cookie_change(c, err);
	return 0;
}

int
jit_call_authenticate(struct jit_call *c, struct jit_error *err)
{
	return authenticate(c, AUTH_USER, err);
}

/* ---- authorization ---- */

bool
jit_call_can(const struct jit_call *c, const char *action, const struct jit_rid *resource)
{
	struct jit_actor a;

	jit_call_actor(c, &a);
	return jit_actor_can(&a, action, resource);
}

bool
jit_call_can_within(const struct jit_call *c, const char *action,
	const struct jit_rid *resource)
{
	struct jit_actor a;

	jit_call_actor(c, &a);
	return jit_actor_can_within(&a, action, resource);
}

bool
jit_call_sees(const struct jit_call *c, const struct jit_rid *resource)
{
	struct jit_actor a;

	jit_call_actor(c, &a);
	return jit_actor_sees(&a, resource);
}

int
jit_call_authorize(const struct jit_call *c, const char *action, const struct jit_rid *resource,
	struct jit_error *err)
{
	struct jit_actor a;

	jit_call_actor(c, &a);
	return jit_actor_authorize(&a, action, resource, err);
}

/* The resource a route's path names, or for lists the scope they list. */
static void
route_resource(const struct route *r, const struct jit_call *c, struct jit_rid *out)
{
	enum jit_rid_kind kind = r->resource;

	if (r->check != CHECK_RESOURCE)
		kind = c->rg[0] ? JIT_RID_RESOURCE_GROUP : c->sub[0] ? JIT_RID_SUBSCRIPTION :
			JIT_RID_ROOT;
	switch (kind) {
	case JIT_RID_VM:
		jit_rid_vm(out, c->sub, c->rg, c->name);
		break;
	case JIT_RID_JIT_POLICY:
		jit_rid_policy(out, c->sub, c->rg, c->loc, c->name);
		break;
	case JIT_RID_ENFORCEMENT_POINT:
		jit_rid_enforcement_point(out, c->sub, c->rg, c->name);
		break;
	case JIT_RID_RESOURCE_GROUP:
		jit_rid_resource_group(out, c->sub, c->rg);
		break;
	case JIT_RID_SUBSCRIPTION:
		jit_rid_subscription(out, c->sub);
		break;
	case JIT_RID_ROOT:
	default:
		memset(out, 0, sizeof(*out));
		out->kind = JIT_RID_ROOT;
		break;
	}
}

static int
authorize_route(struct jit_call *c, const struct route *r, struct jit_error *err)
{
	struct jit_rid res;

	if (r->auth != AUTH_USER || r->check == CHECK_NONE || r->check == CHECK_SELF)
		return 0;
	route_resource(r, c, &res);
	if (r->check == CHECK_LIST && !jit_call_can_within(c, r->action, &res))
		return jit_call_authorize(c, r->action, &res, err);
	if (r->check == CHECK_RESOURCE)
		return jit_call_authorize(c, r->action, &res, err);
	return 0;
}

/* ".../providers/Microsoft.Authorization/..." under any scope: the index of
 * "providers", or n when the path is not one of those. */
static size_t
authorization_at(char *seg[], size_t n)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (strcasecmp(seg[i], "providers") == 0 &&
			strcasecmp(seg[i + 1], "Microsoft.Authorization") == 0)
			return i;
	return n;
}

/* Microsoft.Authorization lives under any scope: {scope}/providers/Microsoft.Authorization/
 * roleDefinitions[/{id}], roleAssignments[/{id}] or permissions. Routed here, with the
 * table's routes, so that one router decides every path. */
static void
route_authorization(struct jit_call *c, char *seg[], size_t n, size_t at)
{
	char scope[JIT_RESOURCE_ID_MAX] = "";
	struct jit_error err;
	size_t len = 0;

	for (size_t i = 0; i < at; i++) {
		int w = snprintf(scope + len, sizeof(scope) - len, "/%s", seg[i]);

		if (w < 0 || (size_t)w >= sizeof(scope) - len) {
			jit_errorf(&err, 400, JIT_E_BAD_REQUEST, "The scope is too long.");
			jit_call_fail(c, &err);
			return;
		}
		len += (size_t)w;
	}
	if (jit_rid_parse(len ? scope : "/", &c->scope, &err) != 0) {
		jit_error_prefix(&err, "scope");
		jit_call_fail(c, &err);
		return;
	}
	if (n == at + 3 && strcasecmp(seg[at + 2], "roleDefinitions") == 0)
		jit_h_role_definitions(c, NULL);
	else if (n == at + 4 && strcasecmp(seg[at + 2], "roleDefinitions") == 0)
		jit_h_role_definitions(c, seg[at + 3]);
	else if (n == at + 3 && strcasecmp(seg[at + 2], "roleAssignments") == 0)
		jit_h_role_assignments(c, NULL);
	else if (n == at + 4 && strcasecmp(seg[at + 2], "roleAssignments") == 0)
		jit_h_role_assignments(c, seg[at + 3]);
	else if (n == at + 3 && strcasecmp(seg[at + 2], "permissions") == 0)
		jit_h_permissions(c);
	else {
		jit_errorf(&err, 404, JIT_E_NOT_FOUND,
			"Microsoft.Authorization has roleDefinitions, roleAssignments and permissions "
			"only.");
		jit_call_fail(c, &err);
	}
}

static int64_t
mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void
log_request(const struct jit_call *c)
{
	char status[8];

	jit_metrics_http(c->route, c->req->method, c->resp->status,
		mono_ns() - c->started_ns);
	if (c->route != NULL && c->action != NULL && strcmp(c->action,
		"Microsoft.Security/locations/jitNetworkAccessPolicies/initiate/action") == 0 &&
		c->authenticated && c->resp->status != 401 && c->resp->status != 429)
		jit_metrics_initiate(c->resp->status == 202);
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
jit_call_park(struct jit_call *c, enum jit_http_wake on, uint64_t seen, unsigned wait_ms)
{
	jit_http_park(c->resp, on, seen, wait_ms);
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
	size_t n, at;

	c.now = jit_time_now();
	c.started_ns = mono_ns();
	snprintf(c.correlation, sizeof(c.correlation), "%s", req->request_id);
	if (jit_prefix_from_sockaddr((const struct sockaddr *)&req->peer, &c.caller, &err) == 0)
		jit_prefix_format(&c.caller, c.caller_text);
	else
		snprintf(c.caller_text, sizeof(c.caller_text), "unknown");

	if (strlen(req->path) >= sizeof(path)) {
		jit_errorf(&err, 414, "UriTooLong", "The request path is too long.");
		goto fail;
	}
	/* az cloud register appends "/metadata/endpoints" to the ARM URL it was given,
	 * which usually ends in '/'. */
	snprintf(path, sizeof(path), "%s", strcmp(req->path, "//metadata/endpoints") == 0 ?
		req->path + 1 : req->path);
	if (strcmp(path, "/healthz") == 0 && strcmp(req->method, "GET") == 0) {
		/* Healthy when the store answers a read (the watchdog's check, sd.h). */
		if (jit_svc_health(c.api->store, &err) == 0)
			jit_call_reply(&c, 200, json_pack("{s:s}", "status", "ok"));
		else
			jit_call_reply(&c, 503, json_pack("{s:s,s:{s:s,s:s}}", "status", "unavailable",
				"error", "code", JIT_E_UNAVAILABLE, "message", err.message));
		jit_metrics_http("/healthz", "GET", c.resp->status, mono_ns() - c.started_ns);
		if (c.resp->status != 200)
			log_request(&c);
		return;
	}
	if (jit_console_wants(c.api->console, req)) {
		c.route = "console";
		/* Static files: http.c's debug line is enough (a page load is a dozen of them). */
		jit_console_serve(c.api->console, req, resp);
		return;
	}
	if (split_path(path, seg, &n) != 0) {
		jit_errorf(&err, 400, JIT_E_BAD_REQUEST,
			"The request path '%.200s' is malformed (empty segments or too many).",
			req->path);
		goto fail;
	}
	if ((at = authorization_at(seg, n)) < n) {
		/* Role definitions and assignments live under any scope. */
		if (check_api_version(&c, false, &err) != 0)
			goto fail;
		c.action = "Microsoft.Authorization";
		c.route = "{scope}/providers/Microsoft.Authorization";
		if (authenticate(&c, AUTH_USER, &err) != 0)
			goto fail;
		route_authorization(&c, seg, n, at);
		goto done;
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const char *params[MAX_PARAMS] = {0}, *names[MAX_PARAMS] = {0};

		if (!match(routes[i].pattern, seg, n, params, names))
			continue;
		path_matched = true;
		if (strcmp(routes[i].method, req->method) != 0)
			continue;
		found = &routes[i];
		c.action = found->action;
		c.route = found->pattern;
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
	if (found->arm && check_api_version(&c, any_api_version(found), &err) != 0)
		goto fail;
	if (authenticate(&c, found->auth, &err) != 0 || authorize_route(&c, found, &err) != 0) {
		if (err.status == 403)
			jit_call_audit_failure(&c, req->path, &err);
		goto fail;
	}
	found->handler(&c);
done:
	if (resp->park.set) {
		/* A long poll with nothing to say yet: no response, no log line until it has. */
		free(c.perms);
		sodium_memzero(&c.session, sizeof(c.session));
		return;
	}
	/* Every authorization failure is audited, whichever layer refused. */
	if (resp->status == 403 && !c.audited_failure) {
		jit_errorf(&err, 403, JIT_E_FORBIDDEN, "%s", resp->body ? json_string_value(
			json_object_get(json_object_get(resp->body, "error"), "message")) : "denied");
		jit_call_audit_failure(&c, req->path, &err);
	}
	if (resp->status == 0) {
		jit_errorf(&err, 500, JIT_E_INTERNAL, "The handler produced no response.");
		goto fail;
	}
	log_request(&c);
	free(c.perms);
	sodium_memzero(&c.session, sizeof(c.session));
	return;
fail:
	jit_call_fail(&c, &err);
	log_request(&c);
	free(c.perms);
	sodium_memzero(&c.session, sizeof(c.session));
}
