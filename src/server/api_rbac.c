/*
 * api_rbac.c: who may do what. Role definitions and role assignments in Azure's
 * shape ({scope}/providers/Microsoft.Authorization/roleDefinitions|roleAssignments),
 * and our own principals and their bearer tokens (/providers/Jitgate/principals).
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

#define AUTHZ "Microsoft.Authorization"
#define TOKEN_NAME_MAX 64

/* Runs fn inside a write transaction with its audit entry; refusals audited apart. */
static void
write_tx(struct jit_call *c, const char *resource_id,
	int (*fn)(struct jit_call *c, void *arg, int *status, json_t **out, struct jit_error *err),
	void *arg)
{
	struct jit_store *st = c->api->store;
	struct jit_error err;
	json_t *out = NULL;
	int status = 200;

	if (jit_store_begin(st, true, &c->tx, &err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	if (fn(c, arg, &status, &out, &err) != 0 ||
		(status != 204 && jit_call_audit(c, c->action, resource_id, status, NULL, &err) != 0)) {
		jit_store_rollback(c->tx);
		json_decref(out);
		if (err.status < 500)
			jit_call_audit_failure(c, resource_id, &err);
		jit_call_fail(c, &err);
		return;
	}
	if (jit_store_commit(c->tx, &err) != 0) {
		json_decref(out);
		jit_call_fail(c, &err);
		return;
	}
	jit_call_reply(c, status, out);
}

static void
scope_text(const struct jit_rid *scope, char out[JIT_RESOURCE_ID_MAX])
{
	/* The root scope prefixes paths as "" ("/providers/..."), others as themselves. */
	if (scope->kind == JIT_RID_ROOT || jit_rid_format(scope, out, JIT_RESOURCE_ID_MAX) < 0)
		out[0] = '\0';
}

/* ---- role definitions ---- */

static json_t *
roles_json(struct jit_call *c, struct jit_error *err)
{
	char prefix[JIT_RESOURCE_ID_MAX];
	struct jit_role *roles;
	json_t *value;
	size_t n;

	if (jit_store_role_list(c->tx, &roles, &n, err) != 0)
		return NULL;
	scope_text(&c->scope, prefix);
	value = json_array();
	for (size_t i = 0; value != NULL && i < n; i++)
		json_array_append_new(value, jit_role_to_json(&roles[i], prefix));
	free(roles);
	if (value == NULL)
		jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	return value ? json_pack("{s:o}", "value", value) : NULL;
}

static int
role_put(struct jit_call *c, void *arg, int *status, json_t **out, struct jit_error *err)
{
	struct jit_role *r = arg;
	char prefix[JIT_RESOURCE_ID_MAX];
	bool created;

	if (jit_store_role_put(c->tx, r, &created, err) != 0 ||
		jit_store_role_get(c->tx, r->id, r, err) != 0)
		return -1;
	scope_text(&c->scope, prefix);
	*status = created ? 201 : 200;
	*out = jit_role_to_json(r, prefix);
	return 0;
}

static int
role_delete(struct jit_call *c, void *arg, int *status, json_t **out, struct jit_error *err)
{
	bool existed;

	if (jit_store_role_delete(c->tx, arg, &existed, err) != 0)
		return -1;
	*status = existed ? 200 : 204;
	return 0;
}

/* A role definition is global: who writes or deletes it must hold the action at every
 * scope it is (and would become) assignable at, whatever scope the path names. */
static int
authorize_role_scopes(struct jit_call *c, const struct jit_role *next, const char *id,
	struct jit_error *err)
{
	struct jit_role *cur = malloc(sizeof(*cur));
	struct jit_error ignored;
	int r = 0;

	if (cur == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	if (jit_store_begin(c->api->store, false, &c->tx, err) != 0) {
		free(cur);
		return -1;
	}
	if (jit_store_role_get(c->tx, id, cur, &ignored) == 0 && !cur->builtin)
		for (size_t i = 0; i < cur->n_scopes && r == 0; i++)
			r = jit_call_authorize(c, c->action, &cur->scopes[i], err);
	jit_store_rollback(c->tx);
	for (size_t i = 0; next != NULL && i < next->n_scopes && r == 0; i++)
		r = jit_call_authorize(c, c->action, &next->scopes[i], err);
	free(cur);
	return r;
}

static void
role_definitions(struct jit_call *c, const char *id)
{
	const char *method = c->req->method;
	char prefix[JIT_RESOURCE_ID_MAX];
	struct jit_role *role;
	struct jit_error err;
	json_t *body = NULL;

	if (strcmp(method, "GET") == 0) {
		c->action = AUTHZ "/roleDefinitions/read";
		if (!jit_call_sees(c, &c->scope) &&
			jit_call_authorize(c, c->action, &c->scope, &err) != 0)
			goto fail;
		if (jit_store_begin(c->api->store, false, &c->tx, &err) != 0)
			goto fail;
		if (id == NULL) {
			json_t *j = roles_json(c, &err);

			jit_store_rollback(c->tx);
			if (j == NULL)
				goto fail;
			jit_call_reply(c, 200, j);
			return;
		}
		if ((role = malloc(sizeof(*role))) == NULL) {
			jit_store_rollback(c->tx);
			jit_errorf(&err, 500, JIT_E_INTERNAL, "out of memory");
			goto fail;
		}
		if (jit_store_role_get(c->tx, id, role, &err) != 0) {
			jit_store_rollback(c->tx);
			free(role);
			goto fail;
		}
		jit_store_rollback(c->tx);
		scope_text(&c->scope, prefix);
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
		c->action = AUTHZ "/roleDefinitions/delete";
		if (jit_call_authorize(c, c->action, &c->scope, &err) != 0 ||
			authorize_role_scopes(c, NULL, id, &err) != 0)
			goto refuse;
		write_tx(c, c->req->path, role_delete, (void *)id);
		return;
	}
	if (strcmp(method, "PUT") != 0) {
		jit_errorf(&err, 405, JIT_E_METHOD_NOT_ALLOWED, "Use GET, PUT or DELETE.");
		goto fail;
	}
	c->action = AUTHZ "/roleDefinitions/write";
	if (jit_call_authorize(c, c->action, &c->scope, &err) != 0)
		goto refuse;
	if (!jit_guid_valid(id)) {
		jit_errorf(&err, 400, JIT_E_BAD_REQUEST,
			"A role definition is named by a GUID, e.g. %s.", JIT_ROLE_JIT_REQUESTER);
		goto refuse;
	}
	if ((role = calloc(1, sizeof(*role))) == NULL) {
		jit_errorf(&err, 500, JIT_E_INTERNAL, "out of memory");
		goto fail;
	}
	if (jit_call_body(c, &body, &err) != 0 || jit_role_from_json(body, role, &err) != 0 ||
		authorize_role_scopes(c, role, id, &err) != 0) {
		free(role);
		json_decref(body);
		goto refuse;
	}
	json_decref(body);
	snprintf(role->id, sizeof(role->id), "%s", id);
	write_tx(c, c->req->path, role_put, role);
	free(role);
	return;
refuse:
	jit_call_audit_failure(c, c->req->path, &err);
fail:
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

/* The role's GUID from "<anything>/roleDefinitions/<guid>", a bare GUID or a role name. */
static int
role_ref(struct jit_call *c, const char *ref, char out[JIT_GUID_LEN + 1], struct jit_error *err)
{
	const char *slash = strrchr(ref, '/');
	const struct jit_role *b;
	struct jit_role *all;
	size_t n;

	if (slash != NULL)
		ref = slash + 1;
	if (jit_guid_valid(ref)) {
		snprintf(out, JIT_GUID_LEN + 1, "%s", ref);
		return 0;
	}
	if ((b = jit_rbac_builtin_by_name(ref)) != NULL) {
		snprintf(out, JIT_GUID_LEN + 1, "%s", b->id);
		return 0;
	}
	if (jit_store_role_list(c->tx, &all, &n, err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(all[i].name, ref) == 0) {
			snprintf(out, JIT_GUID_LEN + 1, "%s", all[i].id);
			free(all);
			return 0;
		}
	}
	free(all);
	return jit_errorf(err, 400, "RoleDefinitionDoesNotExist",
		"properties.roleDefinitionId: no role is named '%.100s'", ref);
}

struct assignment_put {
	const char *id;
	json_t *body;
};

static int
assignment_put(struct jit_call *c, void *arg, int *status, json_t **out, struct jit_error *err)
{
	struct assignment_put *ap = arg;
	const json_t *props = json_object_get(ap->body, "properties");
	const json_t *role = json_object_get(props, "roleDefinitionId");
	const json_t *who = json_object_get(props, "principalId");
	struct jit_role_assignment a = {.created = c->now};
	struct jit_principal p;
	bool created;

	if (!json_is_string(role) || !json_is_string(who))
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"properties.roleDefinitionId and properties.principalId are required strings");
	if (role_ref(c, json_string_value(role), a.role_id, err) != 0)
		return -1;
	if (jit_store_principal_find(c->tx, json_string_value(who), &p, err) != 0) {
		err->status = 400;
		return jit_error_prefix(err, "properties.principalId");
	}
	snprintf(a.id, sizeof(a.id), "%s", ap->id);
	a.scope = c->scope;
	a.principal_id = p.id;
	if (jit_store_assignment_put(c->tx, &a, &created, err) != 0 ||
		jit_store_assignment_get(c->tx, a.id, &a, err) != 0)
		return -1;
	*status = created ? 201 : 200;
	*out = assignment_json(&a);
	return 0;
}

static int
assignment_delete(struct jit_call *c, void *arg, int *status, json_t **out,
	struct jit_error *err)
{
	struct jit_role_assignment a;
	bool existed;

	if (jit_store_assignment_get(c->tx, arg, &a, err) != 0) {
		if (err->status != 404)
			return -1;
		*status = 204;
		return 0;
	}
	if (!jit_rid_equal(&a.scope, &c->scope))
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"The role assignment is not at this scope.");
	if (jit_store_assignment_delete(c->tx, arg, &existed, err) != 0)
		return -1;
	*status = 200;
	*out = assignment_json(&a);
	return 0;
}

static void
role_assignments(struct jit_call *c, const char *id)
{
	const char *method = c->req->method;
	struct jit_role_assignment *as = NULL;
	struct jit_error err;
	json_t *value;
	size_t n = 0;

	if (strcmp(method, "GET") == 0 && id == NULL) {
		const char *who = jit_http_query(c->req, "principalId");
		int64_t principal = 0;

		c->action = AUTHZ "/roleAssignments/read";
		if (!jit_call_sees(c, &c->scope)) {
			jit_call_authorize(c, c->action, &c->scope, &err);
			goto fail;
		}
		if (jit_store_begin(c->api->store, false, &c->tx, &err) != 0)
			goto fail;
		if (who != NULL) {
			struct jit_principal p;

			/* An unknown name lists nothing, as a known one without assignments does. */
			if (jit_store_principal_find(c->tx, who, &p, &err) != 0) {
				jit_store_rollback(c->tx);
				if (err.status != 404)
					goto fail;
				jit_call_reply(c, 200, json_pack("{s:[]}", "value"));
				return;
			}
			principal = p.id;
		}
		if (jit_store_assignment_list(c->tx, &c->scope, true, principal, &as, &n,
			&err) != 0) {
			jit_store_rollback(c->tx);
			goto fail;
		}
		jit_store_rollback(c->tx);
		value = json_array();
		/* Listing never leaks: only assignments the caller may read, and its own. */
		for (size_t i = 0; value != NULL && i < n; i++)
			if (as[i].principal_id == c->principal.id ||
				jit_call_can(c, c->action, &as[i].scope))
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
		struct jit_role_assignment a;
		int r;

		c->action = AUTHZ "/roleAssignments/read";
		if (jit_store_begin(c->api->store, false, &c->tx, &err) != 0)
			goto fail;
		r = jit_store_assignment_get(c->tx, id, &a, &err);
		jit_store_rollback(c->tx);
		if (r != 0)
			goto fail;
		if (a.principal_id != c->principal.id &&
			jit_call_authorize(c, c->action, &a.scope, &err) != 0)
			goto fail;
		jit_call_reply(c, 200, assignment_json(&a));
		return;
	}
	if (strcmp(method, "PUT") == 0) {
		struct assignment_put ap = {.id = id};

		c->action = AUTHZ "/roleAssignments/write";
		if (jit_call_authorize(c, c->action, &c->scope, &err) != 0)
			goto refuse;
		if (jit_call_body(c, &ap.body, &err) != 0)
			goto refuse;
		write_tx(c, c->req->path, assignment_put, &ap);
		json_decref(ap.body);
		return;
	}
	if (strcmp(method, "DELETE") == 0) {
		c->action = AUTHZ "/roleAssignments/delete";
		if (jit_call_authorize(c, c->action, &c->scope, &err) != 0)
			goto refuse;
		write_tx(c, c->req->path, assignment_delete, (void *)id);
		return;
	}
	jit_errorf(&err, 405, JIT_E_METHOD_NOT_ALLOWED, "Use GET, PUT or DELETE.");
	goto fail;
refuse:
	jit_call_audit_failure(c, c->req->path, &err);
fail:
	jit_call_fail(c, &err);
}

void
jit_h_authorization(struct jit_call *c, char *seg[], size_t n, size_t at)
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
		role_definitions(c, NULL);
	else if (n == at + 4 && strcasecmp(seg[at + 2], "roleDefinitions") == 0)
		role_definitions(c, seg[at + 3]);
	else if (n == at + 3 && strcasecmp(seg[at + 2], "roleAssignments") == 0)
		role_assignments(c, NULL);
	else if (n == at + 4 && strcasecmp(seg[at + 2], "roleAssignments") == 0)
		role_assignments(c, seg[at + 3]);
	else if (n == at + 3 && strcasecmp(seg[at + 2], "permissions") == 0)
		jit_h_permissions(c);
	else {
		jit_errorf(&err, 404, JIT_E_NOT_FOUND,
			"Microsoft.Authorization has roleDefinitions, roleAssignments and permissions "
			"only.");
		jit_call_fail(c, &err);
	}
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

static const struct jit_rid root_scope = {.kind = JIT_RID_ROOT};

/* The principal a path names: "me" (or the caller's own name) is the caller. Anyone else
 * needs the route's action at "/" first, so that a caller without it cannot even tell
 * whether a name exists. */
static int
path_principal(struct jit_call *c, struct jit_principal *out, struct jit_error *err)
{
	int r;

	if (strcasecmp(c->name, "me") == 0 || strcasecmp(c->name, c->principal.name) == 0) {
		*out = c->principal;
		return 0;
	}
	if (jit_call_authorize(c, c->action, &root_scope, err) != 0)
		return -1;
	if (jit_store_begin(c->api->store, false, &c->tx, err) != 0)
		return -1;
	r = jit_store_principal_find(c->tx, c->name, out, err);
	jit_store_rollback(c->tx);
	if (r == 0 && out->kind == JIT_PRINCIPAL_AGENT)
		r = jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"'%s' is an agent's principal: manage it through its enforcement point "
			"(DELETE .../providers/Jitgate/enforcementPoints/{name}).", c->name);
	return r;
}

int
jit_call_path_principal(struct jit_call *c, struct jit_principal *out, struct jit_error *err)
{
	return path_principal(c, out, err);
}

static bool
is_self(const struct jit_call *c, const struct jit_principal *p)
{
	return p->id == c->principal.id;
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
	struct jit_error err;
	json_t *value;
	size_t n;
	int r;

	if (jit_store_begin(c->api->store, false, &c->tx, &err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	r = jit_store_principal_list(c->tx, &ps, &n, &err);
	jit_store_rollback(c->tx);
	if (r != 0) {
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

	if (path_principal(c, &p, &err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	jit_call_reply(c, 200, jit_principal_json(&p));
}

static int
principal_put(struct jit_call *c, void *arg, int *status, json_t **out, struct jit_error *err)
{
	struct jit_principal *p = arg, existing;
	struct jit_error ignored;

	if (jit_store_principal_find(c->tx, p->name, &existing, &ignored) == 0) {
		if (existing.kind != p->kind)
			return jit_errorf(err, 409, JIT_E_CONFLICT,
				"The principal '%s' exists with another kind.", p->name);
		*status = 200;
		*out = jit_principal_json(&existing);
		return 0;
	}
	if (jit_store_principal_add(c->tx, p, err) != 0)
		return -1;
	*status = 201;
	*out = jit_principal_json(p);
	return 0;
}

void
jit_h_principal_put(struct jit_call *c)
{
	struct jit_principal p = {.kind = JIT_PRINCIPAL_USER, .created = c->now};
	const json_t *props, *v;
	struct jit_error err;
	json_t *body = NULL;

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
	write_tx(c, c->req->path, principal_put, &p);
	json_decref(body);
	return;
refuse:
	json_decref(body);
	jit_call_audit_failure(c, c->req->path, &err);
	jit_call_fail(c, &err);
}

static int
principal_delete(struct jit_call *c, void *arg, int *status, json_t **out,
	struct jit_error *err)
{
	struct jit_principal *p = arg;

	if (jit_store_principal_delete(c->tx, p->id, err) != 0)
		return -1;
	*status = 200;
	return 0;
}

void
jit_h_principal_delete(struct jit_call *c)
{
	struct jit_principal p;
	struct jit_error err;

	if (path_principal(c, &p, &err) != 0) {
		if (err.status == 404 && strcmp(err.code, "PrincipalNotFound") == 0) {
			jit_call_reply(c, 204, NULL);
			return;
		}
		jit_call_fail(c, &err);
		return;
	}
	if (is_self(c, &p)) {
		jit_errorf(&err, 400, JIT_E_BAD_REQUEST,
			"You cannot delete yourself; another Owner can.");
		jit_call_audit_failure(c, c->req->path, &err);
		jit_call_fail(c, &err);
		return;
	}
	write_tx(c, c->req->path, principal_delete, &p);
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

/* Self-service, or the given action at the root scope (checked by path_principal). */
static int
token_target(struct jit_call *c, struct jit_principal *p, struct jit_error *err)
{
	return path_principal(c, p, err);
}

void
jit_h_token_list(struct jit_call *c)
{
	struct jit_token_info *ts;
	struct jit_principal p;
	struct jit_error err;
	json_t *value;
	size_t n;
	int r;

	if (token_target(c, &p, &err) != 0 || jit_store_begin(c->api->store, false, &c->tx, &err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	r = jit_store_token_list(c->tx, p.id, &ts, &n, &err);
	jit_store_rollback(c->tx);
	if (r != 0) {
		jit_call_fail(c, &err);
		return;
	}
	value = json_array();
	for (size_t i = 0; value != NULL && i < n; i++)
		json_array_append_new(value, token_json(&ts[i], c->now));
	free(ts);
	jit_call_reply(c, 200, json_pack("{s:o}", "value", value));
}

struct token_create {
	struct jit_principal p;
	char name[TOKEN_NAME_MAX + 1];
	jit_time expires;
	bool self;                      /* minted for the caller, with its own token */
};

/* Minting a token for oneself is an action of its own, so a role can leave it out (the
 * JIT requester and the readers do not have it; Owner and Contributor do, at whatever
 * scope they are assigned). */
#define TOKEN_MINT_OWN_ACTION "Jitgate/tokens/mintOwn/action"

static int
token_create(struct jit_call *c, void *arg, int *status, json_t **out, struct jit_error *err)
{
	struct token_create *tc = arg;
	struct jit_token_info info = {.created = c->now, .expires = tc->expires};
	struct jit_token tok;

	if (jit_token_new("jgt", &tok, err) != 0 ||
		jit_store_token_add(c->tx, tc->p.id, tc->name, tok.id, tok.hash, c->now,
			tc->expires, err) != 0 ||
		(tc->self && jit_store_token_set_parent(c->tx, tok.id, c->cred.token_id,
		err) != 0)) {
		sodium_memzero(&tok, sizeof(tok));
		return -1;
	}
	if (tc->self)
		snprintf(info.parent, sizeof(info.parent), "%s", c->cred.token_id);
	snprintf(info.id, sizeof(info.id), "%s", tok.id);
	snprintf(info.name, sizeof(info.name), "%s", tc->name);
	*out = token_json(&info, c->now);
	/* The secret is shown this once; only its hash is kept. */
	if (*out != NULL)
		json_object_set_new(*out, "token", json_string(tok.text));
	sodium_memzero(&tok, sizeof(tok));
	*status = 201;
	return 0;
}

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
	struct token_create tc = {0};
	const json_t *v;
	struct jit_error err;
	json_t *body = NULL;
	int64_t valid;

	if (token_target(c, &tc.p, &err) != 0)
		goto refuse;
	tc.self = tc.p.id == c->principal.id;
	if (tc.self && jit_call_may_mint_own(c, &err) != 0)
		goto refuse;
	if (jit_call_body(c, &body, &err) != 0)
		goto refuse;
	v = json_object_get(body, "name");
	if (!json_is_string(v) || json_string_length(v) == 0 ||
		json_string_length(v) > TOKEN_NAME_MAX) {
		jit_errorf(&err, 400, JIT_E_INVALID_CONTENT,
			"name: a token needs a name of 1-%d characters (where it is used)",
			TOKEN_NAME_MAX);
		goto refuse;
	}
	snprintf(tc.name, sizeof(tc.name), "%s", json_string_value(v));
	for (const char *p = tc.name; *p; p++)
		if ((unsigned char)*p < 0x20) {
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
		tc.expires = c->now + valid;
	} else {
		tc.expires = c->now + c->api->token_max_lifetime_ns;
	}
	if (jit_call_bound_expiry(c, v != NULL && !json_is_null(v), &tc.expires, &err) != 0)
		goto refuse;
	write_tx(c, c->req->path, token_create, &tc);
	json_decref(body);
	return;
refuse:
	json_decref(body);
	if (err.status != 404)
		jit_call_audit_failure(c, c->req->path, &err);
	jit_call_fail(c, &err);
}

static int
token_revoke(struct jit_call *c, void *arg, int *status, json_t **out, struct jit_error *err)
{
	struct jit_principal *p = arg;
	bool found;

	if (jit_store_token_revoke(c->tx, p->id, c->item, c->now, &found, err) != 0)
		return -1;
	*status = found ? 200 : 204;
	return 0;
}

void
jit_h_token_revoke(struct jit_call *c)
{
	struct jit_principal p;
	struct jit_error err;

	if (token_target(c, &p, &err) != 0) {
		if (err.status == 403)
			jit_call_audit_failure(c, c->req->path, &err);
		jit_call_fail(c, &err);
		return;
	}
	write_tx(c, c->req->path, token_revoke, &p);
}
