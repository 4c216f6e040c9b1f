/*
 * api.h: jitgated's REST API: routing, authentication, the handlers' shared
 * context and helpers. The request path of DESIGN.md runs here:
 * route -> authenticate -> parse into typed structs -> authorize -> handler
 * (store transaction with the change and its audit entry) -> response.
 */
#ifndef JIT_API_H
#define JIT_API_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "auth_throttle.h"
#include "console.h"
#include "error.h"
#include "http.h"
#include "jit_limits.h"
#include "prefix.h"
#include "service.h"
#include "session.h"
#include "audit_key.h"
#include "rate_limit.h"
#include "store.h"
#include "vm.h"

#define JIT_API_VERSION "2020-01-01"

/* A new token's longest life unless jitgated --max-token-lifetime says otherwise, and the
 * longest that option allows. */
#define JIT_TOKEN_LIFETIME_DEFAULT_NS (365LL * 24 * 3600 * JIT_NS_PER_SEC)
#define JIT_TOKEN_LIFETIME_MAX_NS (3650LL * 24 * 3600 * JIT_NS_PER_SEC)

struct jit_api {
	struct jit_store *store;
	atomic_int stopping;            /* long polls return at once when set */
	int long_poll_max_s;            /* longest wait of GET desired-state (30) */
	int64_t token_max_lifetime_ns;  /* longest validFor of a new token (--max-token-lifetime) */
	struct jit_auth_throttle *auth_throttle;   /* failed sign-ins per address; NULL: none */
	const char *const *names;       /* this server's names (certificate, listen address): */
	size_t n_names;                 /* a Host header is echoed into links only if it is one */
	const struct jit_console *console;  /* the web console (NULL or disabled: none) */
	struct jit_rate_limit *initiate_limit;  /* initiates per principal; NULL: no limit */
	const struct jit_audit_keyring *audit_keys; /* MACs entries, signs checkpoints */
};


/* Everything a handler knows about one request. */
struct jit_call {
	struct jit_api *api;
	const struct jit_http_request *req;
	struct jit_http_response *resp;
	struct jit_tx *tx;               /* the open store transaction, NULL when none */
	struct jit_principal principal;  /* set when authenticated */
	struct jit_auth_credential cred; /* what it authenticated with (bounds tokens it makes) */
	bool authenticated;
	bool via_session;                /* by the console's session cookie (not a bearer token) */
	struct jit_session session;      /* then: the session */
	const char *action;              /* the route's action, e.g. ".../write" */
	const char *route;               /* the route's pattern (for metrics), or NULL */
	int64_t started_ns;              /* CLOCK_MONOTONIC at arrival (for metrics) */
	/* Path parameters, checked names (empty when the route has none). */
	char sub[JIT_NAME_MAX + 1];
	char rg[JIT_NAME_MAX + 1];
	char loc[JIT_NAME_MAX + 1];
	char name[JIT_NAME_MAX + 1];
	char item[JIT_NAME_MAX + 1];     /* a fifth parameter: a token id */
	struct jit_rid scope;            /* Microsoft.Authorization routes: the scope prefix */
	/* What the caller may do (its role assignments), loaded once per request. */
	struct jit_permission *perms;
	size_t n_perms;
	/* The VMs the next audit entry concerns (per-VM audit queries), set by handlers. */
	const struct jit_rid *audit_vms;
	size_t n_audit_vms;
	struct jit_rid audit_vm;         /* storage for a single one */
	bool audited_failure;            /* a refusal was audited already */
	struct jit_prefix caller;        /* the caller's address */
	char caller_text[JIT_PREFIX_BUFSZ];
	char correlation[40];
	jit_time now;
};

/* The http.h handler: ctx is a struct jit_api. */
void jit_api_handle(void *ctx, const struct jit_http_request *req,
	struct jit_http_response *resp);

/* ---- for handlers ---- */

/* The request's Host if it names this server (so it may appear in a link), else NULL. */
const char *jit_call_own_host(const struct jit_call *c);
/* Sets a JSON response (takes body). */
void jit_call_reply(struct jit_call *c, int status, json_t *body);
/* No answer yet: parks the request until counter on moves past seen or wait_ms pass
 * (then the handler runs again with c->req->wait_over set; http.h). */
void jit_call_park(struct jit_call *c, enum jit_http_wake on, uint64_t seen,
	unsigned wait_ms);
/* Sets an error response (err->status, ARM error body). */
void jit_call_fail(struct jit_call *c, const struct jit_error *err);
/* Parses the body as a JSON object, or fails the call. */
int jit_call_body(struct jit_call *c, json_t **out, struct jit_error *err);
/* The caller as services see it (valid while c is). */
void jit_call_actor(const struct jit_call *c, struct jit_actor *out);
/* Appends an audit entry in the open transaction. */
int jit_call_audit(struct jit_call *c, const char *operation, const char *resource_id,
	int status, const char *details_json, struct jit_error *err);
/* Records a refused change in its own transaction (best effort). */
void jit_call_audit_failure(struct jit_call *c, const char *resource_id,
	const struct jit_error *failure);

/* Audits a refusal found while parsing (before any service call) and fails the call. */
void jit_call_refuse(struct jit_call *c, const char *resource_id, const struct jit_error *err);
/* Fails the call with an error a service has audited already (refusals < 500). */
void jit_call_fail_audited(struct jit_call *c, const struct jit_error *err);

/* ---- authorization (RBAC) ---- */

/* A token or client secret a principal makes for itself: needs Jitgate/tokens/mintOwn/action
 * and a jitgate token behind the caller's credential (api_rbac.c). */
int jit_call_may_mint_own(struct jit_call *c, struct jit_error *err);
/* Clamps *expires to the caller's credential's end (asked: the caller named a lifetime,
 * then a longer one is 400 instead). */
int jit_call_bound_expiry(struct jit_call *c, bool asked, jit_time *expires,
	struct jit_error *err);

/* A credential (bearer token, enrollment token, client secret, console sign-in) was
 * refused with err (401): counts it for the caller's address, audits it (the first few
 * one by one, the rest in a summary), and turns err into 429 when the address has failed
 * too often. Call it only after checking the credential: a valid one is never refused. */
void jit_call_credential_refused(struct jit_call *c, struct jit_error *err);
/* Writes the summary entry of the failed sign-ins counted since the last call (main.c's
 * sweeper, periodically). */
int jit_api_audit_failed_sign_ins(struct jit_api *api, jit_time now, struct jit_error *err);

/* Authenticates a route that does it itself (AUTH_NONE) as a user route would. */
int jit_call_authenticate(struct jit_call *c, struct jit_error *err);
/* 429 TooManyRequests (with Retry-After) when the caller is over rl's rate; rl NULL is no
 * limit. what names the requests in the message ("initiate"). */
int jit_call_rate_limit(struct jit_call *c, struct jit_rate_limit *rl, const char *what,
	struct jit_error *err);

/* May the caller perform action on resource (a role assigned at a scope containing it)? */
bool jit_call_can(const struct jit_call *c, const char *action, const struct jit_rid *resource);
/* ... on resource or on anything inside it (for lists, which then filter)? */
bool jit_call_can_within(const struct jit_call *c, const char *action,
	const struct jit_rid *resource);
/* Does the caller hold any role at, above or below resource? (what it may see exist) */
bool jit_call_sees(const struct jit_call *c, const struct jit_rid *resource);
/* 403 AuthorizationFailed naming the action and scope, unless jit_call_can. */
int jit_call_authorize(const struct jit_call *c, const char *action,
	const struct jit_rid *resource, struct jit_error *err);

/* Handlers, one per route (api_jit.c, api_inventory.c, api_agent.c). */
void jit_h_policy_list(struct jit_call *c);
void jit_h_policy_get(struct jit_call *c);
void jit_h_policy_put(struct jit_call *c);
void jit_h_policy_delete(struct jit_call *c);
void jit_h_policy_initiate(struct jit_call *c);
void jit_h_policy_revoke(struct jit_call *c);
void jit_h_policy_extend(struct jit_call *c);

void jit_h_sub_list(struct jit_call *c);
void jit_h_sub_get(struct jit_call *c);
void jit_h_sub_put(struct jit_call *c);
void jit_h_rg_list(struct jit_call *c);
void jit_h_rg_get(struct jit_call *c);
void jit_h_rg_put(struct jit_call *c);
void jit_h_rg_delete(struct jit_call *c);
void jit_h_vm_list(struct jit_call *c);
void jit_h_vm_get(struct jit_call *c);
void jit_h_vm_put(struct jit_call *c);
void jit_h_vm_delete(struct jit_call *c);

void jit_h_enrollment_token_create(struct jit_call *c);
void jit_h_ep_list(struct jit_call *c);
void jit_h_ep_get(struct jit_call *c);
void jit_h_ep_delete(struct jit_call *c);
void jit_h_agent_enroll(struct jit_call *c);
void jit_h_agent_desired_state(struct jit_call *c);
void jit_h_agent_status(struct jit_call *c);

/* api_rbac.c: roles, assignments, principals and their tokens */
/* {scope}/providers/Microsoft.Authorization/roleDefinitions[/{id}] and roleAssignments
 * (id NULL: the collection); the scope is in c->scope. */
void jit_h_role_definitions(struct jit_call *c, const char *id);
void jit_h_role_assignments(struct jit_call *c, const char *id);
void jit_h_principal_list(struct jit_call *c);
void jit_h_principal_get(struct jit_call *c);
void jit_h_principal_put(struct jit_call *c);
void jit_h_principal_delete(struct jit_call *c);
void jit_h_token_list(struct jit_call *c);
void jit_h_token_create(struct jit_call *c);
void jit_h_token_revoke(struct jit_call *c);
void jit_h_whoami(struct jit_call *c);
/* The principal a PRINCIPALS/{who}/... path names: the caller itself ("me" or its name),
 * or another when the caller may perform the route's action at /. */
int jit_call_path_principal(struct jit_call *c, struct jit_principal *out,
	struct jit_error *err);

/* api_metrics.c: GET /metrics (Prometheus text format) */
void jit_h_metrics(struct jit_call *c);

/* api_oauth.c: OAuth2 / OpenID for Azure's tools, ARM's account endpoints, client secrets */
void jit_h_oidc_configuration(struct jit_call *c);
void jit_h_oauth_authorize(struct jit_call *c);
void jit_h_oauth_keys(struct jit_call *c);
void jit_h_oauth_token(struct jit_call *c);
void jit_h_arm_metadata(struct jit_call *c);
void jit_h_tenant_list(struct jit_call *c);
void jit_h_secret_list(struct jit_call *c);
void jit_h_secret_create(struct jit_call *c);
void jit_h_secret_revoke(struct jit_call *c);

/* api_console.c: console sign-in sessions and the caller's permissions at a scope */
void jit_h_session_create(struct jit_call *c);
void jit_h_session_get(struct jit_call *c);
void jit_h_session_delete(struct jit_call *c);
void jit_h_permissions(struct jit_call *c);
json_t *jit_principal_json(const struct jit_principal *p);

/* api_audit.c: audit log, JIT settings, VM JIT state */
void jit_h_audit_list(struct jit_call *c);
void jit_h_audit_verify(struct jit_call *c);
void jit_h_audit_checkpoint(struct jit_call *c);
void jit_h_settings_get(struct jit_call *c);
void jit_h_settings_put(struct jit_call *c);
json_t *jit_vm_jit_json(const struct jit_vm *vm, const struct jit_vm_jit *j);

#endif
