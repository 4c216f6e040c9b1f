/*
 * svc_rbac.c: roles, assignments, principals and tokens (see svc_rbac.h).
 */
#include "svc_rbac.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rbac.h"
#include "svc_audit.h"

static const struct jit_rid root_scope = {.kind = JIT_RID_ROOT};

/* Rolls back tx (when open) and, for a refusal (4xx), audits it on its own. */
static int
refused(struct jit_store *st, struct jit_tx *tx, const struct jit_actor *a, const char *op,
	const char *resource, struct jit_error *err)
{
	jit_store_rollback(tx);
	if (err->status < 500)
		jit_svc_audit_refusal(st, a, op, resource, NULL, 0, err);
	return -1;
}

/* Appends the entry (status 204: nothing happened, no entry) and commits; on failure
 * rolls back and audits a refusal. */
static int
finish(struct jit_store *st, struct jit_tx *tx, const struct jit_actor *a, const char *op,
	const char *resource, int status, int r, struct jit_error *err)
{
	if (r == 0 && status != 204)
		r = jit_svc_audit(tx, a, op, resource, status, NULL, NULL, 0, err);
	if (r != 0)
		return refused(st, tx, a, op, resource, err);
	return jit_store_commit(tx, err);
}

/* ---- role definitions ---- */

int
jit_svc_role_list(struct jit_store *st, const struct jit_actor *a, const struct jit_rid *scope,
	struct jit_role **out, size_t *n, struct jit_error *err)
{
	struct jit_tx *tx;
	int r;

	*out = NULL;
	*n = 0;
	if (!jit_actor_sees(a, scope) && jit_actor_authorize(a, JIT_OP_ROLE_READ, scope, err) != 0)
		return -1;
	if (jit_store_begin(st, false, &tx, err) != 0)
		return -1;
	r = jit_store_role_list(tx, out, n, err);
	jit_store_rollback(tx);
	return r;
}

int
jit_svc_role_get(struct jit_store *st, const struct jit_actor *a, const struct jit_rid *scope,
	const char *id, struct jit_role *out, struct jit_error *err)
{
	struct jit_tx *tx;
	int r;

	if (!jit_actor_sees(a, scope) && jit_actor_authorize(a, JIT_OP_ROLE_READ, scope, err) != 0)
		return -1;
	if (jit_store_begin(st, false, &tx, err) != 0)
		return -1;
	r = jit_store_role_get(tx, id, out, err);
	jit_store_rollback(tx);
	return r;
}

/* A role definition is global: who writes or deletes it must hold the action at every
 * scope it is (and would become) assignable at, whatever scope the path names. */
static int
authorize_role_scopes(struct jit_tx *tx, const struct jit_actor *a, const char *action,
	const struct jit_role *next, const char *id, struct jit_error *err)
{
	struct jit_role *cur = malloc(sizeof(*cur));
	struct jit_error missing;
	int r = 0;

	if (cur == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	if (jit_store_role_get(tx, id, cur, &missing) == 0) {
		for (size_t i = 0; !cur->builtin && i < cur->n_scopes && r == 0; i++)
			r = jit_actor_authorize(a, action, &cur->scopes[i], err);
	} else if (missing.status != 404) {
		*err = missing;
		r = -1;
	}
	for (size_t i = 0; next != NULL && i < next->n_scopes && r == 0; i++)
		r = jit_actor_authorize(a, action, &next->scopes[i], err);
	free(cur);
	return r;
}

int
jit_svc_role_put(struct jit_store *st, const struct jit_actor *a, const struct jit_rid *scope,
	const char *resource, struct jit_role *role, bool *created, struct jit_error *err)
{
	struct jit_tx *tx;
	int r;

	*created = false;
	if (jit_actor_authorize(a, JIT_OP_ROLE_WRITE, scope, err) != 0)
		return refused(st, NULL, a, JIT_OP_ROLE_WRITE, resource, err);
	if (jit_rbac_builtin_by_name(role->id) != NULL ||
		jit_rbac_builtin_by_name(role->name) != NULL) {
		jit_errorf(err, 400, "RoleDefinitionNameInUse",
			"Built-in roles cannot be changed, and their names cannot be reused.");
		return refused(st, NULL, a, JIT_OP_ROLE_WRITE, resource, err);
	}
	if (jit_store_begin(st, true, &tx, err) != 0)
		return -1;
	r = authorize_role_scopes(tx, a, JIT_OP_ROLE_WRITE, role, role->id, err);
	if (r == 0)
		r = jit_store_role_put(tx, role, created, err);
	if (r == 0)
		r = jit_store_role_get(tx, role->id, role, err);
	return finish(st, tx, a, JIT_OP_ROLE_WRITE, resource, *created ? 201 : 200, r, err);
}

int
jit_svc_role_delete(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *scope, const char *resource, const char *id, bool *existed,
	struct jit_error *err)
{
	struct jit_tx *tx;
	int r;

	*existed = false;
	if (jit_actor_authorize(a, JIT_OP_ROLE_DELETE, scope, err) != 0)
		return refused(st, NULL, a, JIT_OP_ROLE_DELETE, resource, err);
	if (jit_rbac_builtin_by_name(id) != NULL) {
		jit_errorf(err, 400, JIT_E_BAD_REQUEST, "Built-in roles cannot be deleted.");
		return refused(st, NULL, a, JIT_OP_ROLE_DELETE, resource, err);
	}
	if (jit_store_begin(st, true, &tx, err) != 0)
		return -1;
	r = authorize_role_scopes(tx, a, JIT_OP_ROLE_DELETE, NULL, id, err);
	if (r == 0)
		r = jit_store_role_delete(tx, id, existed, err);
	return finish(st, tx, a, JIT_OP_ROLE_DELETE, resource, *existed ? 200 : 204, r, err);
}

/* ---- role assignments ---- */

int
jit_svc_assignment_list(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *scope, const char *principal, struct jit_role_assignment **out,
	size_t *n, struct jit_error *err)
{
	struct jit_role_assignment *as = NULL;
	struct jit_principal p = {0};
	struct jit_tx *tx;
	size_t got = 0, kept = 0;
	int r = 0;

	*out = NULL;
	*n = 0;
	if (!jit_actor_sees(a, scope))
		return jit_actor_authorize(a, JIT_OP_ASSIGNMENT_READ, scope, err);
	if (jit_store_begin(st, false, &tx, err) != 0)
		return -1;
	/* An unknown name lists nothing, as a known one without assignments does. */
	if (principal != NULL && jit_store_principal_find(tx, principal, &p, err) != 0) {
		jit_store_rollback(tx);
		return err->status == 404 ? 0 : -1;
	}
	r = jit_store_assignment_list(tx, scope, true, p.id, &as, &got, err);
	jit_store_rollback(tx);
	if (r != 0)
		return -1;
	/* Listing never leaks: only assignments the actor may read, and its own. */
	for (size_t i = 0; i < got; i++)
		if ((a->principal && as[i].principal_id == a->principal->id) ||
			jit_actor_can(a, JIT_OP_ASSIGNMENT_READ, &as[i].scope))
			as[kept++] = as[i];
	*out = as;
	*n = kept;
	return 0;
}

int
jit_svc_assignment_get(struct jit_store *st, const struct jit_actor *a, const char *id,
	struct jit_role_assignment *out, struct jit_error *err)
{
	struct jit_tx *tx;
	int r;

	if (jit_store_begin(st, false, &tx, err) != 0)
		return -1;
	r = jit_store_assignment_get(tx, id, out, err);
	jit_store_rollback(tx);
	if (r != 0)
		return -1;
	if (a->principal && out->principal_id == a->principal->id)
		return 0;
	return jit_actor_authorize(a, JIT_OP_ASSIGNMENT_READ, &out->scope, err);
}

/* The role's GUID from "<anything>/roleDefinitions/<guid>", a bare GUID or a role name. */
static int
role_ref(struct jit_tx *tx, const char *ref, char out[JIT_GUID_LEN + 1], struct jit_error *err)
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
	if (jit_store_role_list(tx, &all, &n, err) != 0)
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

/* The role must exist, the principal not be an agent, and a custom role be assignable at
 * the assignment's scope (its assignableScopes). */
static int
check_assignable(struct jit_tx *tx, const struct jit_role_assignment *as,
	const struct jit_principal *p, struct jit_error *err)
{
	struct jit_role *role = malloc(sizeof(*role));
	bool assignable = false;
	int r = 0;

	if (role == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	if (jit_store_role_get(tx, as->role_id, role, err) != 0) {
		if (err->status == 404) {
			err->status = 400;
			jit_error_prefix(err, "properties.roleDefinitionId");
		}
		r = -1;
	} else if (p->kind == JIT_PRINCIPAL_AGENT) {
		r = jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"properties.principalId: agents cannot be given roles");
	} else {
		for (size_t i = 0; i < role->n_scopes && !assignable; i++)
			assignable = jit_rid_in_scope(&role->scopes[i], &as->scope);
		if (!role->builtin && !assignable)
			r = jit_errorf(err, 400, "InvalidRoleAssignmentScope",
				"The role '%s' is not assignable at this scope (see its "
				"assignableScopes).", role->name);
	}
	free(role);
	return r;
}

int
jit_svc_assignment_put(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *scope, const char *resource, const char *id, const char *role,
	const char *principal, struct jit_role_assignment *out, bool *created,
	struct jit_error *err)
{
	struct jit_principal p;
	struct jit_tx *tx;
	int r;

	*created = false;
	if (jit_actor_authorize(a, JIT_OP_ASSIGNMENT_WRITE, scope, err) != 0)
		return refused(st, NULL, a, JIT_OP_ASSIGNMENT_WRITE, resource, err);
	memset(out, 0, sizeof(*out));
	out->created = a->now;
	out->scope = *scope;
	snprintf(out->id, sizeof(out->id), "%s", id);
	if (jit_store_begin(st, true, &tx, err) != 0)
		return -1;
	r = role_ref(tx, role, out->role_id, err);
	if (r == 0 && jit_store_principal_find(tx, principal, &p, err) != 0) {
		err->status = 400;
		r = jit_error_prefix(err, "properties.principalId");
	}
	if (r == 0) {
		out->principal_id = p.id;
		r = check_assignable(tx, out, &p, err);
	}
	if (r == 0)
		r = jit_store_assignment_put(tx, out, created, err);
	if (r == 0)
		r = jit_store_assignment_get(tx, id, out, err);
	return finish(st, tx, a, JIT_OP_ASSIGNMENT_WRITE, resource, *created ? 201 : 200, r,
		err);
}

int
jit_svc_assignment_delete(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *scope, const char *resource, const char *id,
	struct jit_role_assignment *out, bool *existed, struct jit_error *err)
{
	struct jit_tx *tx;
	int r;

	*existed = false;
	if (jit_actor_authorize(a, JIT_OP_ASSIGNMENT_DELETE, scope, err) != 0)
		return refused(st, NULL, a, JIT_OP_ASSIGNMENT_DELETE, resource, err);
	if (jit_store_begin(st, true, &tx, err) != 0)
		return -1;
	if (jit_store_assignment_get(tx, id, out, err) != 0) {
		if (err->status != 404)
			return refused(st, tx, a, JIT_OP_ASSIGNMENT_DELETE, resource, err);
		jit_store_rollback(tx);
		return 0;
	}
	r = 0;
	if (!jit_rid_equal(&out->scope, scope))
		r = jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"The role assignment is not at this scope.");
	if (r == 0)
		r = jit_store_assignment_delete(tx, id, existed, err);
	return finish(st, tx, a, JIT_OP_ASSIGNMENT_DELETE, resource, 200, r, err);
}

/* ---- principals ---- */

static bool
is_self(const struct jit_actor *a, const char *name)
{
	return a->principal != NULL && (strcasecmp(name, "me") == 0 ||
		strcasecmp(name, a->principal->name) == 0);
}

/* jit_svc_principal_resolve inside an open transaction. */
static int
resolve(struct jit_tx *tx, const struct jit_actor *a, const char *action, const char *name,
	struct jit_principal *out, struct jit_error *err)
{
	if (is_self(a, name)) {
		*out = *a->principal;
		return 0;
	}
	if (jit_actor_authorize(a, action, &root_scope, err) != 0 ||
		jit_store_principal_find(tx, name, out, err) != 0)
		return -1;
	if (out->kind == JIT_PRINCIPAL_AGENT)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"'%s' is an agent's principal: manage it through its enforcement point "
			"(DELETE .../providers/Jitgate/enforcementPoints/{name}).", name);
	return 0;
}

int
jit_svc_principal_resolve(struct jit_store *st, const struct jit_actor *a, const char *action,
	const char *name, struct jit_principal *out, struct jit_error *err)
{
	struct jit_tx *tx;
	int r;

	if (is_self(a, name)) {
		*out = *a->principal;
		return 0;
	}
	if (jit_actor_authorize(a, action, &root_scope, err) != 0)
		return -1;
	if (jit_store_begin(st, false, &tx, err) != 0)
		return -1;
	r = resolve(tx, a, action, name, out, err);
	jit_store_rollback(tx);
	return r;
}

int
jit_svc_principal_list(struct jit_store *st, const struct jit_actor *a,
	struct jit_principal **out, size_t *n, struct jit_error *err)
{
	struct jit_tx *tx;
	int r;

	if (jit_actor_authorize(a, "Jitgate/principals/read", &root_scope, err) != 0)
		return -1;
	if (jit_store_begin(st, false, &tx, err) != 0)
		return -1;
	r = jit_store_principal_list(tx, out, n, err);
	jit_store_rollback(tx);
	return r;
}

int
jit_svc_principal_put(struct jit_store *st, const struct jit_actor *a, const char *resource,
	const struct jit_principal *in, struct jit_principal *out, bool *created,
	struct jit_error *err)
{
	struct jit_error missing;
	struct jit_tx *tx;
	int r = 0;

	*created = false;
	if (jit_actor_authorize(a, JIT_OP_PRINCIPAL_WRITE, &root_scope, err) != 0)
		return refused(st, NULL, a, JIT_OP_PRINCIPAL_WRITE, resource, err);
	if (jit_store_begin(st, true, &tx, err) != 0)
		return -1;
	if (jit_store_principal_find(tx, in->name, out, &missing) == 0) {
		if (out->kind != in->kind)
			r = jit_errorf(err, 409, JIT_E_CONFLICT,
				"The principal '%s' exists with another kind.", in->name);
	} else if (missing.status != 404) {
		*err = missing;
		r = -1;
	} else {
		*out = *in;
		r = jit_store_principal_add(tx, out, err);
		*created = r == 0;
	}
	return finish(st, tx, a, JIT_OP_PRINCIPAL_WRITE, resource, *created ? 201 : 200, r, err);
}

int
jit_svc_principal_delete(struct jit_store *st, const struct jit_actor *a, const char *resource,
	const char *name, bool *existed, struct jit_error *err)
{
	struct jit_principal p;
	struct jit_tx *tx;
	int r;

	*existed = false;
	if (is_self(a, name)) {
		jit_errorf(err, 400, JIT_E_BAD_REQUEST, "You cannot delete yourself; another Owner can.");
		return refused(st, NULL, a, JIT_OP_PRINCIPAL_DELETE, resource, err);
	}
	if (jit_actor_authorize(a, JIT_OP_PRINCIPAL_DELETE, &root_scope, err) != 0)
		return refused(st, NULL, a, JIT_OP_PRINCIPAL_DELETE, resource, err);
	if (jit_store_begin(st, true, &tx, err) != 0)
		return -1;
	if ((r = resolve(tx, a, JIT_OP_PRINCIPAL_DELETE, name, &p, err)) != 0 &&
		err->status == 404 && strcmp(err->code, "PrincipalNotFound") == 0) {
		jit_store_rollback(tx);
		return 0;
	}
	if (r == 0 && a->principal != NULL && p.id == a->principal->id)
		r = jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"You cannot delete yourself; another Owner can.");
	if (r == 0)
		r = jit_store_principal_delete(tx, p.id, err);
	*existed = r == 0;
	return finish(st, tx, a, JIT_OP_PRINCIPAL_DELETE, resource, 200, r, err);
}

/* ---- tokens ---- */

int
jit_svc_token_list(struct jit_store *st, const struct jit_actor *a, const char *action,
	const char *name, struct jit_token_info **out, size_t *n, struct jit_error *err)
{
	struct jit_principal p;
	struct jit_tx *tx;
	int r;

	*out = NULL;
	*n = 0;
	if (!is_self(a, name) && jit_actor_authorize(a, action, &root_scope, err) != 0)
		return -1;
	if (jit_store_begin(st, false, &tx, err) != 0)
		return -1;
	r = resolve(tx, a, action, name, &p, err);
	if (r == 0)
		r = jit_store_token_list(tx, p.id, out, n, err);
	jit_store_rollback(tx);
	return r;
}

int
jit_svc_token_create(struct jit_store *st, const struct jit_actor *a, const char *resource,
	const char *name, const char *token_name, jit_time expires, const char *parent,
	struct jit_token_info *info, struct jit_token *secret, struct jit_error *err)
{
	struct jit_principal p;
	struct jit_tx *tx;
	int r;

	memset(info, 0, sizeof(*info));
	memset(secret, 0, sizeof(*secret));
	if (!is_self(a, name) && jit_actor_authorize(a, JIT_OP_TOKEN_WRITE, &root_scope, err) != 0)
		return refused(st, NULL, a, JIT_OP_TOKEN_WRITE, resource, err);
	if (jit_store_begin(st, true, &tx, err) != 0)
		return -1;
	if (resolve(tx, a, JIT_OP_TOKEN_WRITE, name, &p, err) != 0) {
		/* Who may look principals up learns of a missing one without an entry. */
		if (err->status == 404) {
			jit_store_rollback(tx);
			return -1;
		}
		return refused(st, tx, a, JIT_OP_TOKEN_WRITE, resource, err);
	}
	r = jit_token_new("jgt", secret, err);
	if (r == 0)
		r = jit_store_token_add(tx, p.id, token_name, secret->id, secret->hash, a->now,
			expires, err);
	/* A token one mints for oneself is tied to the token it was minted with. */
	if (r == 0 && parent != NULL)
		r = jit_store_token_set_parent(tx, secret->id, parent, err);
	r = finish(st, tx, a, JIT_OP_TOKEN_WRITE, resource, 201, r, err);
	if (r != 0) {
		sodium_memzero(secret, sizeof(*secret));
		return -1;
	}
	snprintf(info->id, sizeof(info->id), "%s", secret->id);
	snprintf(info->name, sizeof(info->name), "%s", token_name);
	info->created = a->now;
	info->expires = expires;
	if (parent != NULL)
		snprintf(info->parent, sizeof(info->parent), "%s", parent);
	return 0;
}

int
jit_svc_token_revoke(struct jit_store *st, const struct jit_actor *a, const char *resource,
	const char *name, const char *token_id, bool *found, struct jit_error *err)
{
	struct jit_principal p;
	struct jit_tx *tx;
	int r;

	*found = false;
	if (!is_self(a, name) && jit_actor_authorize(a, JIT_OP_TOKEN_DELETE, &root_scope,
		err) != 0)
		return refused(st, NULL, a, JIT_OP_TOKEN_DELETE, resource, err);
	if (jit_store_begin(st, true, &tx, err) != 0)
		return -1;
	if (resolve(tx, a, JIT_OP_TOKEN_DELETE, name, &p, err) != 0) {
		jit_store_rollback(tx);
		return -1;
	}
	r = jit_store_token_revoke(tx, p.id, token_id, a->now, found, err);
	return finish(st, tx, a, JIT_OP_TOKEN_DELETE, resource, *found ? 200 : 204, r, err);
}

int
jit_svc_permissions(struct jit_tx *tx, int64_t principal_id, struct jit_permission **out,
	size_t *n, struct jit_error *err)
{
	return jit_store_permissions(tx, principal_id, out, n, err);
}

int
jit_svc_sign_in(struct jit_store *st, const char *authorization, const char *cookie,
	jit_time now, struct jit_sign_in *out, struct jit_error *err)
{
	struct jit_tx *tx;
	int r;

	memset(out, 0, sizeof(*out));
	if (jit_store_begin(st, false, &tx, err) != 0)
		return -1;
	if (cookie != NULL) {
		r = jit_session_resolve(tx, cookie, now, &out->session, err);
		if (r == 0) {
			struct jit_token_info info;

			out->principal = out->session.principal;
			out->via_session = true;
			/* A session lives while its token does and at most until its own end:
			 * what is made with it ends by the earlier of both (finding 7). */
			snprintf(out->cred.token_id, sizeof(out->cred.token_id), "%s",
				out->session.token_id);
			out->cred.expires = out->session.expires;
			r = jit_store_token_get(tx, out->session.token_id, &info, NULL, err);
			if (r == 0 && info.expires != 0 &&
				(out->cred.expires == 0 || info.expires < out->cred.expires))
				out->cred.expires = info.expires;
		}
	} else {
		r = jit_auth_bearer_credential(tx, authorization, now, &out->principal, &out->cred,
			err);
	}
	if (r == 0 && out->principal.kind != JIT_PRINCIPAL_AGENT)
		r = jit_store_permissions(tx, out->principal.id, &out->perms, &out->n_perms, err);
	if (r != 0) {
		jit_store_rollback(tx);
		sodium_memzero(&out->session, sizeof(out->session));
		return -1;
	}
	if (jit_store_commit(tx, err) != 0) {
		free(out->perms);
		out->perms = NULL;
		out->n_perms = 0;
		return -1;
	}
	return 0;
}
