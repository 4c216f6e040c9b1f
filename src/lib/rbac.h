/*
 * rbac.h: Azure-style role-based access: role definitions made of action
 * patterns, assigned to principals at scopes; permissions inherit downwards.
 *
 * An action is "Provider/resourceType[/subtype...]/verb", e.g.
 * "Microsoft.Security/locations/jitNetworkAccessPolicies/initiate/action".
 * Patterns may use '*' for any run of characters (including '/'), compared
 * case-insensitively as Azure does. Examples: a lone star (everything), a star
 * followed by "/read" (every read), and "Microsoft.Security/locations/
 * jitNetworkAccessPolicies/" followed by a star (everything on JIT policies).
 * A role allows an action when some action pattern matches it and no
 * notAction pattern does.
 */
#ifndef JIT_RBAC_H
#define JIT_RBAC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "resource_id.h"

#define JIT_ROLE_NAME_MAX 128
#define JIT_ROLE_DESC_MAX 512
#define JIT_ACTION_MAX 256
#define JIT_MAX_ACTIONS 100
#define JIT_MAX_ASSIGNABLE_SCOPES 20
#define JIT_GUID_LEN 36

struct jit_role {
	char id[JIT_GUID_LEN + 1];                  /* GUID, the definition's name */
	char name[JIT_ROLE_NAME_MAX];               /* roleName */
	char description[JIT_ROLE_DESC_MAX];
	bool builtin;
	size_t n_actions;
	char actions[JIT_MAX_ACTIONS][JIT_ACTION_MAX];
	size_t n_not_actions;
	char not_actions[JIT_MAX_ACTIONS][JIT_ACTION_MAX];
	size_t n_scopes;
	struct jit_rid scopes[JIT_MAX_ASSIGNABLE_SCOPES];  /* assignableScopes */
};

/* The built-in roles: Owner, Contributor, Reader, Security Reader and
 * JIT Network Access Requester (read policies and VMs, initiate; nothing else). */
size_t jit_rbac_builtin_count(void);
const struct jit_role *jit_rbac_builtin(size_t i);
const struct jit_role *jit_rbac_builtin_by_name(const char *name);

#define JIT_ROLE_OWNER "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
#define JIT_ROLE_CONTRIBUTOR "b24988ac-6180-42a0-ab88-20f7382dd24c"
#define JIT_ROLE_READER "acdd72a7-3385-48ef-bd42-f606fba81ae7"
#define JIT_ROLE_SECURITY_READER "39bc4728-0917-49c7-9d2c-d95423bc2eb4"
#define JIT_ROLE_JIT_REQUESTER "b3b1e1f4-4a9c-4c1e-9a0b-6a1f0f3c7a11"

/* Does pattern (with '*') match action? Case-insensitive. */
bool jit_action_matches(const char *pattern, const char *action);

/* Does the role allow the action? */
bool jit_role_allows(const struct jit_role *role, const char *action);

/* Checks an action pattern: 1..JIT_ACTION_MAX-1 printable characters, no spaces. */
int jit_action_check(const char *s, struct jit_error *err);

/* Decodes a role definition body (Azure's shape: properties.roleName, description,
 * permissions[0].actions/notActions, assignableScopes); id is left to the caller. */
int jit_role_from_json(const json_t *j, struct jit_role *out, struct jit_error *err);
/* Encodes at a scope prefix ("" for root, "/subscriptions/x", ...). */
json_t *jit_role_to_json(const struct jit_role *r, const char *scope_prefix);

/* Checks "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (hex, any case). */
bool jit_guid_valid(const char *s);
/* A new random (v4) GUID, lowercase. */
void jit_guid_new(char out[JIT_GUID_LEN + 1]);

#endif
