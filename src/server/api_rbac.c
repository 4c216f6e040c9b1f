/*
 * api_rbac.c: who may do what. Role definitions and role assignments in Azure's
 * shape ({scope}/providers/Microsoft.Authorization/roleDefinitions|roleAssignments),
 * and our own principals and their bearer tokens (/providers/Jitgate/principals).
 * Handlers parse, call svc_rbac and render.
 *
 * A principal may always read itself and manage its own tokens ("me" names the
 * caller); everything else needs a role. Tokens are shown once, at creation.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "auth.h"
#include "duration.h"
#include "rbac.h"
#include "svc_rbac.h"


static void
scope_text(const struct jit_rid *scope, char out[JIT_RESOURCE_ID_MAX])
{
	/* The root scope prefixes paths as "" ("/providers/..."), others as themselves. */
	if (scope->kind == JIT_RID_ROOT || jit_rid_format(scope, out, JIT_RESOURCE_ID_MAX) < 0)
		out[0] = '\0';
}

/* ---- role definitions ---- */

static void
reply_roles(struct jit_call *c, struct jit_role *roles, size_t n)
{
	char prefix[JIT_RESOURCE_ID_MAX];
	struct jit_error err;
	json_t *value = json_array();

	scope_text(&c->scope, prefix);
	for (size_t i = 0; value != NULL && i < n; i++)
		json_array_append_new(value, jit_role_to_json(&roles[i], prefix));
	free(roles);
	if (value == NULL) {
		jit_errorf(&err, 500, JIT_E_INTERNAL, "out of memory");
		jit_call_fail(c, &err);
		return;
	}
	jit_call_reply(c, 200, json_pack("{s:o}", "value", value));
}

void
jit_h_role_definitions(struct jit_call *c, const char *id)
{
	const char *method = c->req->method;
	char prefix[JIT_RESOURCE_ID_MAX];
	struct jit_role *role = NULL;
	struct jit_actor a;
	struct jit_error err;
	json_t *body = NULL;
	bool created, existed;
	size_t n;

	jit_call_actor(c, &a);
	scope_text(&c->scope, prefix);
	if (strcmp(method, "GET") == 0) {
		c->action = JIT_OP_ROLE_READ;
		if (id == NULL) {
			if (jit_svc_role_list(c->api->store, &a, &c->scope, &role, &n, &err) != 0)
				goto fail;
			reply_roles(c, role, n);
			return;
		}
		if ((role = malloc(sizeof(*role))) == NULL) {
			jit_errorf(&err, 500, JIT_E_INTERNAL, "out of memory");
			goto fail;
		}
		if (jit_svc_role_get(c->api->store, &a, &c->scope, id, role, &err) != 0)
			goto fail;
		jit_call_reply(c, 200, jit_role_to_json(role, prefix));
		free(role);
		return;
	}
	if (id == NULL) {
		jit_errorf(&err, 405, JIT_E_METHOD_NOT_ALLOWED,
			"Only GET lists role definitions; PUT or DELETE one by its GUID.");
		goto fail;
	}
	if (strcmp(method, "DELETE") == 0) {
		c->action = JIT_OP_ROLE_DELETE;
		if (jit_svc_role_delete(c->api->store, &a, &c->scope, c->req->path, id, &existed,
			&err) != 0)
			goto audited;
		jit_call_reply(c, existed ? 200 : 204, NULL);
		return;
	}
	if (strcmp(method, "PUT") != 0) {
		jit_errorf(&err, 405, JIT_E_METHOD_NOT_ALLOWED, "Use GET, PUT or DELETE.");
		goto fail;
	}
	c->action = JIT_OP_ROLE_WRITE;
	if (!jit_guid_valid(id)) {
		jit_errorf(&err, 400, JIT_E_BAD_REQUEST,
			"A role definition is named by a GUID, e.g. %s.", JIT_ROLE_JIT_REQUESTER);
		goto refuse;
	}
	if ((role = calloc(1, sizeof(*role))) == NULL) {
		jit_errorf(&err, 500, JIT_E_INTERNAL, "out of memory");
		goto fail;
	}
	if (jit_call_body(c, &body, &err) != 0 || jit_role_from_json(body, role, &err) != 0)
		goto refuse;
	json_decref(body);
	snprintf(role->id, sizeof(role->id), "%s", id);
	if (jit_svc_role_put(c->api->store, &a, &c->scope, c->req->path, role, &created,
		&err) != 0)
		goto audited;
	jit_call_reply(c, created ? 201 : 200, jit_role_to_json(role, prefix));
	free(role);
	return;
audited:
	free(role);
	jit_call_fail_audited(c, &err);
	return;
refuse:
	json_decref(body);
	free(role);
	jit_call_refuse(c, c->req->path, &err);
	return;
fail:
	free(role);
	jit_call_fail(c, &err);
}

/* ---- role assignments ---- */

static json_t *
assignment_json(const struct jit_role_assignment *a)
{
	char scope[JIT_RESOURCE_ID_MAX], id[JIT_RESOURCE_ID_MAX + 96], role[128];

	if (jit_rid_format(&a->scope, scope, sizeof(scope)) < 0)
		return NULL;
	snprintf(id, sizeof(id), "%s/providers/Microsoft.Authorization/roleAssignments/%s",
		a->scope.kind == JIT_RID_ROOT ? "" : scope, a->id);
	snprintf(role, sizeof(role), "/providers/Microsoft.Authorization/roleDefinitions/%s",
		a->role_id);
	return json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s}}", "id", id, "name", a->id, "type",
		"Microsoft.Authorization/roleAssignments", "properties", "roleDefinitionId", role,
		"principalId", a->principal_object_id, "principalName", a->principal_name, "scope",
		scope);
}

void
jit_h_role_assignments(struct jit_call *c, const char *id)
{
	const char *method = c->req->method;
	struct jit_role_assignment *as = NULL, one;
	const json_t *props, *role, *who;
	struct jit_actor a;
	struct jit_error err;
	json_t *value, *body;
	bool created, existed;
	size_t n = 0;

	jit_call_actor(c, &a);
	if (strcmp(method, "GET") == 0 && id == NULL) {
		c->action = JIT_OP_ASSIGNMENT_READ;
		if (jit_svc_assignment_list(c->api->store, &a, &c->scope,
			jit_http_query(c->req, "principalId"), &as, &n, &err) != 0)
			goto fail;
		value = json_array();
		for (size_t i = 0; value != NULL && i < n; i++)
			json_array_append_new(value, assignment_json(&as[i]));
		free(as);
		jit_call_reply(c, 200, json_pack("{s:o}", "value", value));
		return;
	}
	if (id == NULL) {
		jit_errorf(&err, 405, JIT_E_METHOD_NOT_ALLOWED,
			"Only GET lists role assignments; PUT or DELETE one by its GUID.");
		goto fail;
	}
	if (!jit_guid_valid(id)) {
		jit_errorf(&err, 400, JIT_E_BAD_REQUEST,
			"A role assignment is named by a GUID (make one with uuidgen).");
		goto fail;
	}
	if (strcmp(method, "GET") == 0) {
		c->action = JIT_OP_ASSIGNMENT_READ;
		if (jit_svc_assignment_get(c->api->store, &a, id, &one, &err) != 0)
			goto fail;
		jit_call_reply(c, 200, assignment_json(&one));
		return;
	}
	if (strcmp(method, "PUT") == 0) {
		c->action = JIT_OP_ASSIGNMENT_WRITE;
		/* Who may not assign there is refused before its body is read. */
		if (jit_call_authorize(c, c->action, &c->scope, &err) != 0 ||
			jit_call_body(c, &body, &err) != 0) {
			jit_call_refuse(c, c->req->path, &err);
			return;
		}
		props = json_object_get(body, "properties");
		role = json_object_get(props, "roleDefinitionId");
		who = json_object_get(props, "principalId");
		if (!json_is_string(role) || !json_is_string(who)) {
			json_decref(body);
			jit_errorf(&err, 400, JIT_E_INVALID_CONTENT,
				"properties.roleDefinitionId and properties.principalId are required "
				"strings");
			jit_call_refuse(c, c->req->path, &err);
			return;
		}
		if (jit_svc_assignment_put(c->api->store, &a, &c->scope, c->req->path, id,
			json_string_value(role), json_string_value(who), &one, &created, &err) != 0) {
			json_decref(body);
			jit_call_fail_audited(c, &err);
			return;
		}
		json_decref(body);
		jit_call_reply(c, created ? 201 : 200, assignment_json(&one));
		return;
	}
	if (strcmp(method, "DELETE") == 0) {
		c->action = JIT_OP_ASSIGNMENT_DELETE;
		if (jit_svc_assignment_delete(c->api->store, &a, &c->scope, c->req->path, id, &one,
			&existed, &err) != 0) {
			jit_call_fail_audited(c, &err);
			return;
		}
		jit_call_reply(c, existed ? 200 : 204, existed ? assignment_json(&one) : NULL);
		return;
	}
	jit_errorf(&err, 405, JIT_E_METHOD_NOT_ALLOWED, "Use GET, PUT or DELETE.");
fail:
	jit_call_fail(c, &err);
}

/* ---- principals ---- */

static const char *
kind_name(enum jit_principal_kind k)
{
	return k == JIT_PRINCIPAL_SERVICE ? "ServicePrincipal" : k == JIT_PRINCIPAL_AGENT ? "Agent" :
		"User";
}

json_t *
jit_principal_json(const struct jit_principal *p)
{
	char id[256], created[JIT_TIME_BUFSZ];

	snprintf(id, sizeof(id), "/providers/Jitgate/principals/%s", p->name);
	jit_time_format(p->created, created);
	return json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s}}", "id", id, "name", p->name, "type",
		"Jitgate/principals", "properties", "objectId", p->object_id, "kind",
		kind_name(p->kind), "displayName", p->display_name, "createdUtc", created);
}

int
jit_call_path_principal(struct jit_call *c, struct jit_principal *out, struct jit_error *err)
{
	struct jit_actor a;

	jit_call_actor(c, &a);
	return jit_svc_principal_resolve(c->api->store, &a, c->action, c->name, out, err);
}

void
jit_h_whoami(struct jit_call *c)
{
	json_t *p = jit_principal_json(&c->principal);

	jit_call_reply(c, 200, json_pack("{s:o,s:s}", "principal", p, "callerAddress",
		c->caller_text));
}

void
jit_h_principal_list(struct jit_call *c)
{
	struct jit_principal *ps;
	struct jit_actor a;
	struct jit_error err;
	json_t *value;
	size_t n;

	jit_call_actor(c, &a);
	if (jit_svc_principal_list(c->api->store, &a, &ps, &n, &err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	value = json_array();
	for (size_t i = 0; value != NULL && i < n; i++)
		json_array_append_new(value, jit_principal_json(&ps[i]));
	free(ps);
	jit_call_reply(c, 200, json_pack("{s:o}", "value", value));
}

void
jit_h_principal_get(struct jit_call *c)
{
	struct jit_principal p;
	struct jit_error err;

	if (jit_call_path_principal(c, &p, &err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	jit_call_reply(c, 200, jit_principal_json(&p));
}

void
jit_h_principal_put(struct jit_call *c)
{
	struct jit_principal p = {.kind = JIT_PRINCIPAL_USER, .created = c->now}, out;
	const json_t *props, *v;
	struct jit_actor a;
	struct jit_error err;
	json_t *body = NULL;
	bool created;

	if (strcasecmp(c->name, "me") == 0 || strncasecmp(c->name, "agent-", 6) == 0 ||
		jit_guid_valid(c->name)) {
		jit_errorf(&err, 400, JIT_E_BAD_REQUEST,
			"'me', 'agent-*' and GUIDs (they name principals by object id) are reserved.");
		goto refuse;
	}
	snprintf(p.name, sizeof(p.name), "%s", c->name);
	if (c->req->body_len > 0) {
		if (jit_call_body(c, &body, &err) != 0)
			goto refuse;
		props = json_object_get(body, "properties");
		if (props != NULL && !json_is_object(props)) {
			jit_errorf(&err, 400, JIT_E_INVALID_CONTENT, "properties: must be an object");
			goto refuse;
		}
		v = json_object_get(props, "kind");
		if (v != NULL && json_is_string(v) &&
			strcasecmp(json_string_value(v), "ServicePrincipal") == 0)
			p.kind = JIT_PRINCIPAL_SERVICE;
		else if (v != NULL && !(json_is_string(v) &&
			strcasecmp(json_string_value(v), "User") == 0)) {
			jit_errorf(&err, 400, JIT_E_INVALID_CONTENT,
				"properties.kind: must be \"User\" or \"ServicePrincipal\"");
			goto refuse;
		}
		v = json_object_get(props, "displayName");
		if (v != NULL && (!json_is_string(v) || json_string_length(v) == 0 ||
			json_string_length(v) >= sizeof(p.display_name))) {
			jit_errorf(&err, 400, JIT_E_INVALID_CONTENT,
				"properties.displayName: must be a string of 1-%zu characters",
				sizeof(p.display_name) - 1);
			goto refuse;
		}
		if (v != NULL)
			snprintf(p.display_name, sizeof(p.display_name), "%s", json_string_value(v));
	}
	json_decref(body);
	jit_call_actor(c, &a);
	if (jit_svc_principal_put(c->api->store, &a, c->req->path, &p, &out, &created, &err) != 0)
		jit_call_fail_audited(c, &err);
	else
		jit_call_reply(c, created ? 201 : 200, jit_principal_json(&out));
	return;
refuse:
	json_decref(body);
	jit_call_refuse(c, c->req->path, &err);
}

void
jit_h_principal_delete(struct jit_call *c)
{
	struct jit_actor a;
	struct jit_error err;
	bool existed;

	jit_call_actor(c, &a);
	if (jit_svc_principal_delete(c->api->store, &a, c->req->path, c->name, &existed,
		&err) != 0)
		jit_call_fail_audited(c, &err);
	else
		jit_call_reply(c, existed ? 200 : 204, NULL);
}

/* ---- tokens ---- */

static json_t *
token_json(const struct jit_token_info *t, jit_time now)
{
	char created[JIT_TIME_BUFSZ], buf[JIT_TIME_BUFSZ];
	json_t *j;

	jit_time_format(t->created, created);
	j = json_pack("{s:s,s:s,s:s,s:s}", "id", t->id, "name", t->name, "createdUtc", created,
		"state", t->revoked ? "Revoked" : (t->expires && t->expires <= now) ? "Expired" :
		"Active");
	if (j == NULL)
		return NULL;
	if (t->expires) {
		jit_time_format(t->expires, buf);
		json_object_set_new(j, "expiresUtc", json_string(buf));
	}
	if (t->last_used) {
		jit_time_format(t->last_used, buf);
		json_object_set_new(j, "lastUsedUtc", json_string(buf));
	}
	if (t->revoked) {
		jit_time_format(t->revoked, buf);
		json_object_set_new(j, "revokedUtc", json_string(buf));
	}
	if (t->parent[0] != '\0')
		json_object_set_new(j, "mintedWith", json_string(t->parent));
	return j;
}

void
jit_h_token_list(struct jit_call *c)
{
	struct jit_token_info *ts;
	struct jit_actor a;
	struct jit_error err;
	json_t *value;
	size_t n;

	jit_call_actor(c, &a);
	if (jit_svc_token_list(c->api->store, &a, c->action, c->name, &ts, &n, &err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	value = json_array();
	for (size_t i = 0; value != NULL && i < n; i++)
		json_array_append_new(value, token_json(&ts[i], c->now));
	free(ts);
	jit_call_reply(c, 200, json_pack("{s:o}", "value", value));
}

static const struct jit_rid root_scope = {.kind = JIT_RID_ROOT};

/* Minting a token for oneself is an action of its own, so a role can leave it out (the
 * JIT requester and the readers do not have it; Owner and Contributor do, at whatever
 * scope they are assigned). */
#define TOKEN_MINT_OWN_ACTION "Jitgate/tokens/mintOwn/action"

int
jit_call_may_mint_own(struct jit_call *c, struct jit_error *err)
{
	/* A role anywhere that includes the action: a credential is the principal's, not a
	 * scope's. */
	if (!jit_call_can_within(c, TOKEN_MINT_OWN_ACTION, &root_scope) &&
		jit_call_authorize(c, TOKEN_MINT_OWN_ACTION, &root_scope, err) != 0)
		return -1;
	/* What one makes for oneself is tied to the token it is made with; an access token
	 * bought with a client secret has none (and must not outlive the secret's rotation). */
	if (c->cred.token_id[0] == '\0')
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"A token or client secret for yourself is made with a jitgate token (or a "
			"console session), not with an access token bought with a client secret.");
	return 0;
}

int
jit_call_bound_expiry(struct jit_call *c, bool asked, jit_time *expires, struct jit_error *err)
{
	char end[JIT_TIME_BUFSZ];

	/* Nothing made with a credential outlives it (security finding 7). */
	if (c->cred.expires == 0 || *expires <= c->cred.expires)
		return 0;
	if (!asked) {
		*expires = c->cred.expires;
		return 0;
	}
	jit_time_format(c->cred.expires, end);
	return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
		"validFor: it would outlive the credential you are using, which expires at %s; "
		"nothing outlives the credential it is made with", end);
}

void
jit_h_token_create(struct jit_call *c)
{
	char name[JIT_TOKEN_NAME_MAX + 1];
	struct jit_token_info info;
	struct jit_token secret;
	struct jit_principal p;
	const json_t *v;
	struct jit_actor a;
	struct jit_error err;
	json_t *body = NULL, *out;
	jit_time expires;
	int64_t valid;
	bool self;

	if (jit_call_path_principal(c, &p, &err) != 0)
		goto refuse;
	self = p.id == c->principal.id;
	if (self && jit_call_may_mint_own(c, &err) != 0)
		goto refuse;
	if (jit_call_body(c, &body, &err) != 0)
		goto refuse;
	v = json_object_get(body, "name");
	if (!json_is_string(v) || json_string_length(v) == 0 ||
		json_string_length(v) > JIT_TOKEN_NAME_MAX) {
		jit_errorf(&err, 400, JIT_E_INVALID_CONTENT,
			"name: a token needs a name of 1-%d characters (where it is used)",
			JIT_TOKEN_NAME_MAX);
		goto refuse;
	}
	snprintf(name, sizeof(name), "%s", json_string_value(v));
	for (const char *q = name; *q; q++)
		if ((unsigned char)*q < 0x20) {
			jit_errorf(&err, 400, JIT_E_INVALID_CONTENT,
				"name: must not contain control characters");
			goto refuse;
		}
	v = json_object_get(body, "validFor");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v) || jit_duration_parse(json_string_value(v), &valid, &err) != 0) {
			jit_errorf(&err, 400, JIT_E_INVALID_CONTENT,
				"validFor: must be an ISO 8601 duration such as P30D");
			goto refuse;
		}
		if (valid > c->api->token_max_lifetime_ns) {
			char max[JIT_DURATION_BUFSZ];

			jit_duration_format(c->api->token_max_lifetime_ns, max);
			jit_errorf(&err, 400, JIT_E_INVALID_CONTENT,
				"validFor: a token lives at most %s on this server (jitgated "
				"--max-token-lifetime)", max);
			goto refuse;
		}
		expires = c->now + valid;
	} else {
		expires = c->now + c->api->token_max_lifetime_ns;
	}
	if (jit_call_bound_expiry(c, v != NULL && !json_is_null(v), &expires, &err) != 0)
		goto refuse;
	json_decref(body);
	jit_call_actor(c, &a);
	if (jit_svc_token_create(c->api->store, &a, c->req->path, c->name, name, expires,
		self ? c->cred.token_id : NULL, &info, &secret, &err) != 0) {
		jit_call_fail_audited(c, &err);
		return;
	}
	out = token_json(&info, c->now);
	/* The secret is shown this once; only its hash is kept. */
	if (out != NULL)
		json_object_set_new(out, "token", json_string(secret.text));
	sodium_memzero(&secret, sizeof(secret));
	jit_call_reply(c, 201, out);
	return;
refuse:
	json_decref(body);
	if (err.status != 404)
		jit_call_audit_failure(c, c->req->path, &err);
	jit_call_fail(c, &err);
}

void
jit_h_token_revoke(struct jit_call *c)
{
	struct jit_actor a;
	struct jit_error err;
	bool found;

	jit_call_actor(c, &a);
	if (jit_svc_token_revoke(c->api->store, &a, c->req->path, c->name, c->item, &found,
		&err) != 0)
		jit_call_fail_audited(c, &err);
	else
		jit_call_reply(c, found ? 200 : 204, NULL);
}
