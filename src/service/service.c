/*
 * service.c: authorization of an actor (principal x action x scope) and the
 * audit entry every service writes with its change.
 */
#include "service.h"

#include <stdio.h>

#include "rbac.h"

bool
jit_actor_can(const struct jit_actor *a, const char *action, const struct jit_rid *resource)
{
	for (size_t i = 0; i < a->n_perms; i++)
		if (jit_rid_in_scope(&a->perms[i].scope, resource) &&
			jit_role_allows(&a->perms[i].role, action))
			return true;
	return false;
}

bool
jit_actor_can_within(const struct jit_actor *a, const char *action,
	const struct jit_rid *resource)
{
	for (size_t i = 0; i < a->n_perms; i++)
		if ((jit_rid_in_scope(&a->perms[i].scope, resource) ||
			jit_rid_in_scope(resource, &a->perms[i].scope)) &&
			jit_role_allows(&a->perms[i].role, action))
			return true;
	return false;
}

bool
jit_actor_sees(const struct jit_actor *a, const struct jit_rid *resource)
{
	for (size_t i = 0; i < a->n_perms; i++)
		if (jit_rid_in_scope(&a->perms[i].scope, resource) ||
			jit_rid_in_scope(resource, &a->perms[i].scope))
			return true;
	return false;
}

int
jit_actor_authorize(const struct jit_actor *a, const char *action,
	const struct jit_rid *resource, struct jit_error *err)
{
	char scope[JIT_RESOURCE_ID_MAX];

	if (jit_actor_can(a, action, resource))
		return 0;
	if (jit_rid_format(resource, scope, sizeof(scope)) < 0)
		snprintf(scope, sizeof(scope), "?");
	return jit_errorf(err, 403, JIT_E_FORBIDDEN,
		"The client '%s' with object id '%s' does not have authorization to perform action "
		"'%s' over scope '%s' or the scope is invalid.",
		a->principal ? a->principal->name : "", a->principal ? a->principal->object_id : "",
		action, scope);
}

int
jit_svc_audit(struct jit_tx *tx, const struct jit_actor *a, const char *operation,
	const char *resource_id, int status, const char *details_json, const struct jit_rid *vms,
	size_t n_vms, struct jit_error *err)
{
	struct jit_audit_entry e = {
		.time = a->now,
		.principal_id = a->principal ? a->principal->id : 0,
		.principal_name = a->principal ? a->principal->name : NULL,
		.caller = a->caller,
		.operation = operation,
		.resource_id = resource_id,
		.result = status < 400 ? "Succeeded" : "Failed",
		.status = status,
		.correlation_id = a->correlation,
		.details_json = details_json,
		.vms = vms,
		.n_vms = n_vms,
	};

	return jit_store_audit_append(tx, &e, err);
}
