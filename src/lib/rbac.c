/*
 * rbac.c: action patterns, built-in roles and the role definition codec.
 */
#include "rbac.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define JIT_ACTIONS "Microsoft.Security/locations/jitNetworkAccessPolicies"

/* Built-in roles mirror Azure's (same GUIDs for the four Azure ones). The actions
 * jitgate checks are listed in docs/rbac.md. */
static const struct jit_role builtins[] = {
	{
		.id = JIT_ROLE_OWNER,
		.name = "Owner",
		.description = "Full access to everything, including assigning roles.",
		.builtin = true,
		.n_actions = 1,
		.actions = {"*"},
		.n_scopes = 1,
	},
	{
		.id = JIT_ROLE_CONTRIBUTOR,
		.name = "Contributor",
		.description = "Full access to everything except assigning roles and managing "
			"principals and their tokens.",
		.builtin = true,
		.n_actions = 1,
		.actions = {"*"},
		.n_not_actions = 5,
		.not_actions = {"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write",
			"Microsoft.Authorization/elevateAccess/Action", "Jitgate/principals/*",
			"Jitgate/principals/*/tokens/*"},
		.n_scopes = 1,
	},
	{
		.id = JIT_ROLE_READER,
		.name = "Reader",
		.description = "View everything, change nothing.",
		.builtin = true,
		.n_actions = 1,
		.actions = {"*/read"},
		.n_scopes = 1,
	},
	{
		.id = JIT_ROLE_SECURITY_READER,
		.name = "Security Reader",
		.description = "View security resources: JIT policies and requests, VMs, "
			"enforcement points, role assignments and the audit log.",
		.builtin = true,
		.n_actions = 7,
		.actions = {"Microsoft.Authorization/*/read", "Microsoft.Security/*/read",
			"Microsoft.Resources/subscriptions/read",
			"Microsoft.Resources/subscriptions/resourceGroups/read",
			"Microsoft.Compute/virtualMachines/read", "Jitgate/enforcementPoints/read",
			"Jitgate/auditLogs/read"},
		.n_scopes = 1,
	},
	{
		.id = JIT_ROLE_JIT_REQUESTER,
		.name = "JIT Network Access Requester",
		.description = "Least privilege for JIT: read the JIT policies and VMs in scope and "
			"request access to them; nothing else.",
		.builtin = true,
		.n_actions = 3,
		.actions = {JIT_ACTIONS "/read", JIT_ACTIONS "/initiate/action",
			"Microsoft.Compute/virtualMachines/read"},
		.n_scopes = 1,
	},
};

size_t
jit_rbac_builtin_count(void)
{
	return sizeof(builtins) / sizeof(builtins[0]);
}

const struct jit_role *
jit_rbac_builtin(size_t i)
{
	return i < jit_rbac_builtin_count() ? &builtins[i] : NULL;
}

const struct jit_role *
jit_rbac_builtin_by_name(const char *name)
{
	for (size_t i = 0; i < jit_rbac_builtin_count(); i++)
		if (strcasecmp(builtins[i].name, name) == 0 || strcasecmp(builtins[i].id, name) == 0)
			return &builtins[i];
	return NULL;
}

/* Iterative wildcard match: '*' matches any run; backtracks to the last star. */
bool
jit_action_matches(const char *pattern, const char *action)
{
	const char *star = NULL, *resume = NULL;

	while (*action != '\0') {
		if (*pattern == '*') {
			star = pattern++;
			resume = action;
		} else if (tolower((unsigned char)*pattern) == tolower((unsigned char)*action)) {
			pattern++;
			action++;
		} else if (star != NULL) {
			pattern = star + 1;
			action = ++resume;
		} else {
			return false;
		}
	}
	while (*pattern == '*')
		pattern++;
	return *pattern == '\0';
}

bool
jit_role_allows(const struct jit_role *role, const char *action)
{
	bool allowed = false;

	for (size_t i = 0; i < role->n_actions && !allowed; i++)
		allowed = jit_action_matches(role->actions[i], action);
	for (size_t i = 0; i < role->n_not_actions && allowed; i++)
		if (jit_action_matches(role->not_actions[i], action))
			allowed = false;
	return allowed;
}

int
jit_action_check(const char *s, struct jit_error *err)
{
	size_t n = strlen(s);

	if (n == 0 || n >= JIT_ACTION_MAX)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"an action must be 1-%d characters", JIT_ACTION_MAX - 1);
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)s[i]))
			return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
				"an action may contain only printable characters without spaces");
	return 0;
}

static int
decode_actions(const json_t *arr, char out[][JIT_ACTION_MAX], size_t *n, const char *path,
	struct jit_error *err)
{
	size_t i;
	json_t *v;

	*n = 0;
	if (arr == NULL || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT, "%s: must be an array of strings",
			path);
	if (json_array_size(arr) > JIT_MAX_ACTIONS)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT, "%s: at most %d entries", path,
			JIT_MAX_ACTIONS);
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v))
			return jit_errorf(err, 400, JIT_E_INVALID_CONTENT, "%s[%zu]: must be a string",
				path, i);
		if (jit_action_check(json_string_value(v), err) != 0)
			return jit_error_prefix(err, "%s[%zu]", path, i);
		snprintf(out[i], JIT_ACTION_MAX, "%s", json_string_value(v));
		(*n)++;
	}
	return 0;
}

int
jit_role_from_json(const json_t *j, struct jit_role *out, struct jit_error *err)
{
	const json_t *props, *v, *perms, *scopes;
	size_t i;

	memset(out, 0, sizeof(*out));
	props = json_object_get(j, "properties");
	if (!json_is_object(props))
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"properties: is required (roleName, permissions, assignableScopes)");
	v = json_object_get(props, "roleName");
	if (!json_is_string(v) || json_string_length(v) == 0 ||
		json_string_length(v) >= JIT_ROLE_NAME_MAX)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"properties.roleName: must be a string of 1-%d characters", JIT_ROLE_NAME_MAX - 1);
	snprintf(out->name, sizeof(out->name), "%s", json_string_value(v));
	for (const char *p = out->name; *p; p++)
		if (iscntrl((unsigned char)*p))
			return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
				"properties.roleName: must not contain control characters");
	v = json_object_get(props, "description");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v) || json_string_length(v) >= JIT_ROLE_DESC_MAX)
			return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
				"properties.description: must be a string of at most %d characters",
				JIT_ROLE_DESC_MAX - 1);
		snprintf(out->description, sizeof(out->description), "%s", json_string_value(v));
	}
	perms = json_object_get(props, "permissions");
	if (!json_is_array(perms) || json_array_size(perms) != 1 ||
		!json_is_object(json_array_get(perms, 0)))
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"properties.permissions: must be an array of one {\"actions\", \"notActions\"}");
	perms = json_array_get(perms, 0);
	if (decode_actions(json_object_get(perms, "actions"), out->actions, &out->n_actions,
		"properties.permissions[0].actions", err) != 0 ||
		decode_actions(json_object_get(perms, "notActions"), out->not_actions,
			&out->n_not_actions, "properties.permissions[0].notActions", err) != 0)
		return -1;
	if (out->n_actions == 0)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"properties.permissions[0].actions: at least one action is required");
	scopes = json_object_get(props, "assignableScopes");
	if (!json_is_array(scopes) || json_array_size(scopes) == 0 ||
		json_array_size(scopes) > JIT_MAX_ASSIGNABLE_SCOPES)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"properties.assignableScopes: must be an array of 1-%d scopes",
			JIT_MAX_ASSIGNABLE_SCOPES);
	json_array_foreach(scopes, i, v) {
		if (!json_is_string(v))
			return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
				"properties.assignableScopes[%zu]: must be a string", i);
		if (jit_rid_parse(json_string_value(v), &out->scopes[i], err) != 0)
			return jit_error_prefix(err, "properties.assignableScopes[%zu]", i);
		out->n_scopes++;
	}
	return 0;
}

json_t *
jit_role_to_json(const struct jit_role *r, const char *scope_prefix)
{
	char id[JIT_RESOURCE_ID_MAX + 128], scope[JIT_RESOURCE_ID_MAX];
	json_t *actions = json_array(), *not_actions = json_array(), *scopes = json_array();

	if (actions == NULL || not_actions == NULL || scopes == NULL)
		goto fail;
	for (size_t i = 0; i < r->n_actions; i++)
		json_array_append_new(actions, json_string(r->actions[i]));
	for (size_t i = 0; i < r->n_not_actions; i++)
		json_array_append_new(not_actions, json_string(r->not_actions[i]));
	if (r->builtin) {
		json_array_append_new(scopes, json_string("/"));
	} else {
		for (size_t i = 0; i < r->n_scopes; i++) {
			if (jit_rid_format(&r->scopes[i], scope, sizeof(scope)) < 0)
				goto fail;
			json_array_append_new(scopes, json_string(scope));
		}
	}
	snprintf(id, sizeof(id), "%s/providers/Microsoft.Authorization/roleDefinitions/%s",
		scope_prefix, r->id);
	return json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s,s:[{s:o,s:o}],s:o}}", "id", id, "name", r->id,
		"type", "Microsoft.Authorization/roleDefinitions", "properties", "roleName", r->name,
		"description", r->description, "type", r->builtin ? "BuiltInRole" : "CustomRole",
		"permissions", "actions", actions, "notActions", not_actions, "assignableScopes",
		scopes);
fail:
	json_decref(actions);
	json_decref(not_actions);
	json_decref(scopes);
	return NULL;
}

bool
jit_guid_valid(const char *s)
{
	if (strlen(s) != JIT_GUID_LEN)
		return false;
	for (size_t i = 0; i < JIT_GUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

void
jit_guid_new(char out[JIT_GUID_LEN + 1])
{
	unsigned char b[16];

	randombytes_buf(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, JIT_GUID_LEN + 1,
		"%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		b[15]);
}
