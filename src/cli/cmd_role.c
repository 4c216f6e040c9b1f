/*
 * cmd_role.c: jitgate role list | show | create | delete | assign | unassign |
 * assignments: Azure's role-based access (docs/rbac.md). Roles are definitions
 * under {scope}/providers/Microsoft.Authorization/roleDefinitions/{guid};
 * assignments bind a role to a principal at a scope under
 * {scope}/providers/Microsoft.Authorization/roleAssignments/{guid}.
 *
 * The GUIDs that name new definitions and assignments are made here (v4, from
 * libsodium), as Azure's clients do. Roles are named by their roleName or GUID.
 * A custom role is written at, and deleted from, its first assignable scope.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "args.h"
#include "files.h"
#include "model_json.h"
#include "output.h"
#include "rbac.h"
#include "resources.h"
#include "scope.h"

#define AUTHZ "/providers/Microsoft.Authorization"
#define DEFINITIONS AUTHZ "/roleDefinitions"
#define ASSIGNMENTS AUTHZ "/roleAssignments"

enum {
	KEY_FILE = CLI_KEY_LONG,
	KEY_NAME,
	KEY_DESCRIPTION,
	KEY_ACTION,
	KEY_NOT_ACTION,
	KEY_ASSIGNABLE,
	KEY_PRINCIPAL,
};

static const char *
prop(const json_t *j, const char *key)
{
	return json_string_value(json_object_get(json_object_get(j, "properties"), key));
}

/* The GUID at the end of "<anything>/<guid>", or s itself when it is one; else NULL. */
static const char *
guid_of(const char *s)
{
	const char *slash;

	if (s == NULL)
		return NULL;
	slash = strrchr(s, '/');
	s = slash != NULL ? slash + 1 : s;
	return jit_guid_valid(s) ? s : NULL;
}

/* ---- role definitions ---- */

/* Every role definition the caller may read (a new reference to the "value" list). */
static int
roles_list(struct cli *c, json_t **value, struct jit_error *err)
{
	if (cli_connect(c, err) != 0)
		return -1;
	return cli_get_list(c, DEFINITIONS, value, err);
}

/* The role ref names (its GUID, an ID ending in it, or its roleName), in roles. */
static int
role_find(const json_t *roles, const char *ref, const json_t **out, struct jit_error *err)
{
	const char *want = guid_of(ref);
	const json_t *v;
	size_t i, hits = 0;

	*out = NULL;
	json_array_foreach(roles, i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *role_name = prop(v, "roleName");

		if (want != NULL && name != NULL && strcasecmp(name, want) == 0) {
			*out = v;
			return 0;
		}
		if (want == NULL && role_name != NULL && strcasecmp(role_name, ref) == 0 &&
			hits++ == 0)
			*out = v;
	}
	if (hits > 1)
		return cli_usage(err, "several roles are named '%.128s': name it by its ID", ref);
	if (*out == NULL)
		return cli_fail(err, "there is no role '%.128s' ('jitgate role list' shows them)", ref);
	if (guid_of(json_string_value(json_object_get(*out, "name"))) == NULL)
		return cli_fail(err, "the server's role '%.128s' has no valid GUID", ref);
	return 0;
}

static const char *
role_kind(const json_t *role)
{
	const char *t = prop(role, "type");

	return t != NULL && strcmp(t, "BuiltInRole") == 0 ? "built-in" : "custom";
}

static const json_t *
permissions(const json_t *role)
{
	return json_array_get(json_object_get(json_object_get(role, "properties"),
		"permissions"), 0);
}

/* One field with a value per line ("-" for none). */
static void
field_list(const char *label, const json_t *arr)
{
	const json_t *v;
	size_t i;

	if (json_array_size(arr) == 0)
		cli_field(label, NULL);
	json_array_foreach(arr, i, v)
		cli_field(i == 0 ? label : "", json_string_value(v));
}

static int
role_list(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	static const char *const headers[] = {"NAME", "TYPE", "ID", "DESCRIPTION"};
	struct cli_table *t = NULL;
	json_t *roles = NULL, *v;
	size_t i;
	int first, r, rc = -1;

	if ((r = cli_args_parse(c, &cli_cmd_role_list, argc, argv, NULL, NULL, &first,
		err)) != 0)
		return r > 0 ? 0 : -1;
	if (first < argc)
		return cli_usage(err, "unexpected argument '%.80s'", argv[first]);
	if (roles_list(c, &roles, err) != 0)
		return -1;
	if (c->output == CLI_OUTPUT_JSON) {
		rc = cli_json_print(roles, err);
		goto out;
	}
	if ((t = cli_table_new(4, headers)) == NULL) {
		cli_fail(err, "out of memory");
		goto out;
	}
	json_array_foreach(roles, i, v) {
		const char *row[] = {prop(v, "roleName"), role_kind(v),
			json_string_value(json_object_get(v, "name")), prop(v, "description")};

		if (cli_table_add(t, row, err) != 0)
			goto out;
	}
	cli_table_print(t);
	rc = 0;
out:
	cli_table_free(t);
	json_decref(roles);
	return rc;
}

const struct cli_cmd cli_cmd_role_list = {
	"role", "list", "",
	"List the roles: the built-in ones and custom roles.",
	"Built-in: Owner, Contributor, Reader, Security Reader and JIT Network Access\n"
	"Requester (docs/rbac.md lists their actions). 'jitgate role show ROLE' shows\n"
	"a role's actions.\n",
	NULL,
	role_list,
	false,
};

static int
role_show(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	const json_t *role, *perms;
	json_t *roles = NULL;
	int first, r, rc = -1;

	if ((r = cli_args_parse(c, &cli_cmd_role_show, argc, argv, NULL, NULL, &first,
		err)) != 0)
		return r > 0 ? 0 : -1;
	if (argc - first != 1)
		return cli_usage(err, "name one role, by its name or ID");
	if (roles_list(c, &roles, err) != 0 || role_find(roles, argv[first], &role, err) != 0)
		goto out;
	if (c->output == CLI_OUTPUT_JSON) {
		rc = cli_json_print(role, err);
		goto out;
	}
	perms = permissions(role);
	cli_field("Name", prop(role, "roleName"));
	cli_field("ID", json_string_value(json_object_get(role, "name")));
	cli_field("Type", role_kind(role));
	cli_field("Description", prop(role, "description"));
	field_list("Actions", json_object_get(perms, "actions"));
	field_list("Not actions", json_object_get(perms, "notActions"));
	field_list("Assignable scopes", json_object_get(json_object_get(role, "properties"),
		"assignableScopes"));
	rc = 0;
out:
	json_decref(roles);
	return rc;
}

const struct cli_cmd cli_cmd_role_show = {
	"role", "show", "NAME|ID",
	"Show a role: its actions, not-actions and assignable scopes.",
	"A role allows an action when one of its actions matches it (* is any run of\n"
	"characters, case does not matter) and none of its not-actions does.\n",
	NULL,
	role_show,
	false,
};

/* ---- role create ---- */

struct create_args {
	const char *file;
	const char *name;
	const char *description;
	json_t *actions;
	json_t *not_actions;
	json_t *scopes;
};

static int
add_action(json_t *list, const char *opt, const char *arg, struct jit_error *err)
{
	struct jit_error e;

	if (jit_action_check(arg, &e) != 0)
		return cli_usage(err, "%s %.80s: %s", opt, arg, e.message);
	if (json_array_size(list) == JIT_MAX_ACTIONS)
		return cli_usage(err, "%s: at most %d", opt, JIT_MAX_ACTIONS);
	if (json_array_append_new(list, json_string(arg)) != 0)
		return cli_fail(err, "out of memory");
	return 0;
}

static int
create_opt(void *ctx, int key, const char *arg, struct jit_error *err)
{
	struct create_args *a = ctx;
	struct jit_error e;
	struct jit_rid scope;

	switch (key) {
	case KEY_FILE:
		a->file = arg;
		return 0;
	case KEY_NAME:
		if (arg[0] == '\0' || strlen(arg) >= JIT_ROLE_NAME_MAX || !cli_printable(arg))
			return cli_usage(err, "--name: 1-%d printable characters", JIT_ROLE_NAME_MAX - 1);
		a->name = arg;
		return 0;
	case KEY_DESCRIPTION:
		if (strlen(arg) >= JIT_ROLE_DESC_MAX || !cli_printable(arg))
			return cli_usage(err, "--description: at most %d printable characters",
				JIT_ROLE_DESC_MAX - 1);
		a->description = arg;
		return 0;
	case KEY_ACTION:
		return add_action(a->actions, "--action", arg, err);
	case KEY_NOT_ACTION:
		return add_action(a->not_actions, "--not-action", arg, err);
	case KEY_ASSIGNABLE:
		if (jit_rid_parse(arg, &scope, &e) != 0)
			return cli_usage(err, "--scope %.200s: %s", arg, e.message);
		if (json_array_size(a->scopes) == JIT_MAX_ASSIGNABLE_SCOPES)
			return cli_usage(err, "--scope: at most %d", JIT_MAX_ASSIGNABLE_SCOPES);
		if (json_array_append_new(a->scopes, json_string(arg)) != 0)
			return cli_fail(err, "out of memory");
		return 0;
	}
	return cli_usage(err, "unexpected option");
}

/* The definition from --file: Azure's shape, its GUID its "name" (else a new one). */
static int
definition_from_file(const char *path, json_t **out, char guid[JIT_GUID_LEN + 1],
	struct jit_error *err)
{
	const json_t *name;
	char *text = NULL;
	size_t len;
	int r;

	*out = NULL;
	if (cli_file_read("--file", path, JIT_MAX_BODY_BYTES, &text, &len, err) != 0)
		return -1;
	r = jit_json_parse_object(text, len, out, err);
	free(text);
	if (r != 0) {
		char msg[JIT_ERROR_MSG_MAX];

		snprintf(msg, sizeof(msg), "%s", err->message);
		return cli_usage(err, "%s: %s", path, msg);
	}
	name = json_object_get(*out, "name");
	if (name == NULL || json_is_null(name)) {
		jit_guid_new(guid);
		return 0;
	}
	if (!json_is_string(name) || !jit_guid_valid(json_string_value(name)))
		return cli_usage(err, "%s: \"name\" must be the role's GUID (or left out for a new "
			"one)", path);
	snprintf(guid, JIT_GUID_LEN + 1, "%s", json_string_value(name));
	return 0;
}

static int
role_create(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	struct create_args a = {0};
	char guid[JIT_GUID_LEN + 1], prefix[JIT_RESOURCE_ID_MAX];
	char path[JIT_RESOURCE_ID_MAX + sizeof(DEFINITIONS) + JIT_GUID_LEN + 2];
	struct jit_role *role = NULL;
	json_t *j = NULL, *body = NULL, *out = NULL;
	int first, r, status, rc = -1;

	if ((a.actions = json_array()) == NULL || (a.not_actions = json_array()) == NULL ||
		(a.scopes = json_array()) == NULL) {
		cli_fail(err, "out of memory");
		goto out;
	}
	if ((r = cli_args_parse(c, &cli_cmd_role_create, argc, argv, create_opt, &a, &first,
		err)) != 0) {
		rc = r > 0 ? 0 : -1;
		goto out;
	}
	if (first < argc) {
		cli_usage(err, "unexpected argument '%.80s'", argv[first]);
		goto out;
	}
	if (a.file != NULL && (a.name || a.description || json_array_size(a.actions) ||
		json_array_size(a.not_actions) || json_array_size(a.scopes))) {
		cli_usage(err, "--file or --name/--action/--scope: either-or");
		goto out;
	}
	if (a.file != NULL) {
		if (definition_from_file(a.file, &j, guid, err) != 0)
			goto out;
	} else {
		if (a.name == NULL || json_array_size(a.actions) == 0 ||
			json_array_size(a.scopes) == 0) {
			cli_usage(err, "role create needs --file FILE, or --name NAME, --action A and "
				"--scope SCOPE");
			goto out;
		}
		j = json_pack("{s:{s:s,s:s,s:[{s:O,s:O}],s:O}}", "properties", "roleName", a.name,
			"description", a.description ? a.description : "", "permissions", "actions",
			a.actions, "notActions", a.not_actions, "assignableScopes", a.scopes);
		if (j == NULL) {
			cli_fail(err, "out of memory");
			goto out;
		}
		jit_guid_new(guid);
	}
	/* One boundary: the definition is decoded as the server will, and sent as decoded. */
	if ((role = calloc(1, sizeof(*role))) == NULL) {
		cli_fail(err, "out of memory");
		goto out;
	}
	if (jit_role_from_json(j, role, err) != 0) {
		char msg[JIT_ERROR_MSG_MAX];

		snprintf(msg, sizeof(msg), "%s", err->message);
		cli_usage(err, "%s%s%s", a.file ? a.file : "", a.file ? ": " : "", msg);
		goto out;
	}
	snprintf(role->id, sizeof(role->id), "%s", guid);
	if ((body = jit_role_to_json(role, "")) == NULL) {
		cli_fail(err, "out of memory");
		goto out;
	}
	if (cli_scope_prefix(&role->scopes[0], prefix, sizeof(prefix), err) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s" DEFINITIONS "/%s", prefix, guid);
	if (cli_connect(c, err) != 0 || cli_call(c, "PUT", path, body, &status, &out, err) != 0)
		goto out;
	if (c->output == CLI_OUTPUT_JSON) {
		rc = cli_json_print(out, err);
		goto out;
	}
	printf("role \"%s\": %s (ID %s)\n", role->name, status == 201 ? "created" : "updated",
		guid);
	rc = 0;
out:
	free(role);
	json_decref(out);
	json_decref(body);
	json_decref(j);
	json_decref(a.actions);
	json_decref(a.not_actions);
	json_decref(a.scopes);
	return rc;
}

const struct cli_cmd cli_cmd_role_create = {
	"role", "create", "--file FILE | --name NAME [--description TEXT] --action A... "
		"[--not-action A...] --scope SCOPE...",
	"Create (or with --file, also update) a custom role.",
	"FILE is a role definition in Azure's shape (- reads standard input):\n"
	"  {\"name\": \"<GUID, optional>\", \"properties\": {\"roleName\": \"...\",\n"
	"   \"description\": \"...\", \"permissions\": [{\"actions\": [...], \"notActions\":\n"
	"   [...]}], \"assignableScopes\": [\"/subscriptions/...\"]}}\n"
	"A new GUID is made unless the file's \"name\" gives one (then that role is\n"
	"replaced). Actions are patterns such as\n"
	"Microsoft.Security/locations/jitNetworkAccessPolicies/initiate/action or */read.\n"
	"The role can be assigned only at or below its assignable scopes (--scope: \"/\",\n"
	"/subscriptions/SUB, .../resourceGroups/RG, ...), and is written at the first.\n",
	(const struct cli_opt[]){
		{"file", KEY_FILE, "FILE", "the definition (JSON)"},
		{"name", KEY_NAME, "NAME", "the role's name"},
		{"description", KEY_DESCRIPTION, "TEXT", "what it is for"},
		{"action", KEY_ACTION, "A", "an action pattern it allows (repeatable)"},
		{"not-action", KEY_NOT_ACTION, "A", "an action pattern it excludes (repeatable)"},
		{"scope", KEY_ASSIGNABLE, "SCOPE", "where it may be assigned (repeatable)"},
		{NULL, 0, NULL, NULL},
	},
	role_create,
	false,
};

/* ---- role delete ---- */

static int
role_delete(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	char path[JIT_RESOURCE_ID_MAX + sizeof(DEFINITIONS) + JIT_GUID_LEN + 2];
	char prefix[JIT_RESOURCE_ID_MAX];
	const char *guid, *name, *first_scope;
	const json_t *role;
	json_t *roles = NULL, *out = NULL;
	struct jit_error e;
	struct jit_rid scope;
	int first, r, status, rc = -1;

	if ((r = cli_args_parse(c, &cli_cmd_role_delete, argc, argv, NULL, NULL, &first,
		err)) != 0)
		return r > 0 ? 0 : -1;
	if (argc - first != 1)
		return cli_usage(err, "name one role, by its name or ID");
	if (roles_list(c, &roles, err) != 0 || role_find(roles, argv[first], &role, err) != 0)
		goto out;
	guid = json_string_value(json_object_get(role, "name"));
	name = prop(role, "roleName");
	if (strcmp(role_kind(role), "built-in") == 0) {
		cli_fail(err, "'%s' is a built-in role; built-in roles cannot be deleted", name);
		goto out;
	}
	first_scope = json_string_value(json_array_get(json_object_get(json_object_get(role,
		"properties"), "assignableScopes"), 0));
	if (first_scope == NULL || jit_rid_parse(first_scope, &scope, &e) != 0) {
		cli_fail(err, "the server's role '%s' has no valid assignable scope", argv[first]);
		goto out;
	}
	if (cli_scope_prefix(&scope, prefix, sizeof(prefix), err) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s" DEFINITIONS "/%s", prefix, guid);
	if (cli_call(c, "DELETE", path, NULL, &status, NULL, err) != 0)
		goto out;
	if (c->output == CLI_OUTPUT_JSON) {
		if ((out = json_pack("{s:s,s:b}", "id", guid, "deleted", status == 200)) == NULL) {
			cli_fail(err, "out of memory");
			goto out;
		}
		rc = cli_json_print(out, err);
		goto out;
	}
	if (status == 200)
		printf("role \"%s\" (ID %s): deleted\n", name && cli_printable(name) ? name : "?",
			guid);
	else
		fprintf(stderr, "jitgate: the role %s is gone already; nothing to do\n", guid);
	rc = 0;
out:
	json_decref(out);
	json_decref(roles);
	return rc;
}

const struct cli_cmd cli_cmd_role_delete = {
	"role", "delete", "NAME|ID",
	"Delete a custom role.",
	"A role still assigned cannot be deleted: 'jitgate role assignments' shows\n"
	"where it is, 'jitgate role unassign' removes those. Built-in roles stay.\n",
	NULL,
	role_delete,
	false,
};

/* ---- role assignments ---- */

struct assign_args {
	struct cli_scope_args scope;
	const char *principal;
};

static int
assign_opt(void *ctx, int key, const char *arg, struct jit_error *err)
{
	struct assign_args *a = ctx;
	int r = cli_scope_opt(&a->scope, key, arg, err);

	if (r <= 0)
		return r;
	if (key == KEY_PRINCIPAL) {
		a->principal = arg;
		return cli_principal_check(arg, "--principal", err);
	}
	return cli_usage(err, "unexpected option");
}

/* {scope}/providers/Microsoft.Authorization/roleAssignments[/guid] */
static int
assignments_path(const struct jit_rid *scope, const char *guid, char *buf, size_t n,
	struct jit_error *err)
{
	char prefix[JIT_RESOURCE_ID_MAX];
	int w;

	if (cli_scope_prefix(scope, prefix, sizeof(prefix), err) != 0)
		return -1;
	w = snprintf(buf, n, "%s" ASSIGNMENTS "%s%s", prefix, guid ? "/" : "", guid ? guid : "");
	if (w < 0 || (size_t)w >= n)
		return cli_fail(err, "a scope is too long");
	return 0;
}

/* A role's name for an assignment's roleDefinitionId (its GUID when roles is NULL or
 * does not have it). */
static const char *
role_name_of(const json_t *roles, const char *definition_id)
{
	const char *guid = guid_of(definition_id);
	const json_t *v;
	size_t i;

	json_array_foreach(roles, i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));

		if (guid != NULL && name != NULL && strcasecmp(name, guid) == 0 &&
			prop(v, "roleName") != NULL)
			return prop(v, "roleName");
	}
	return guid ? guid : definition_id;
}

static int
role_assign(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	char path[JIT_RESOURCE_ID_MAX + sizeof(ASSIGNMENTS) + JIT_GUID_LEN + 2];
	char guid[JIT_GUID_LEN + 1], who[JIT_NAME_MAX + 1], scope_text[JIT_RESOURCE_ID_MAX];
	struct assign_args a = {0};
	struct jit_rid scope;
	const char *role;
	json_t *body = NULL, *out = NULL;
	int first, r, rc = -1;

	if ((r = cli_args_parse(c, &cli_cmd_role_assign, argc, argv, assign_opt, &a, &first,
		err)) != 0)
		return r > 0 ? 0 : -1;
	if (argc - first != 1)
		return cli_usage(err, "name one role to assign, by its name or ID");
	role = argv[first];
	if (role[0] == '\0' || strlen(role) >= JIT_ROLE_NAME_MAX + JIT_RESOURCE_ID_MAX ||
		!cli_printable(role))
		return cli_usage(err, "ROLE: a role's name or ID");
	if (a.principal == NULL)
		return cli_usage(err, "name who gets the role with --principal NAME");
	if (cli_scope_resolve(c, &a.scope, JIT_RID_SUBSCRIPTION, &scope, err) != 0 ||
		cli_principal_resolve(c, a.principal, who, err) != 0 ||
		cli_rid_path(&scope, scope_text, sizeof(scope_text), err) != 0)
		return -1;
	jit_guid_new(guid);
	if (assignments_path(&scope, guid, path, sizeof(path), err) != 0)
		return -1;
	if ((body = json_pack("{s:{s:s,s:s}}", "properties", "roleDefinitionId", role,
		"principalId", who)) == NULL)
		return cli_fail(err, "out of memory");
	if (cli_call(c, "PUT", path, body, NULL, &out, err) != 0)
		goto out;
	if (c->output == CLI_OUTPUT_JSON)
		rc = cli_json_print(out, err);
	else {
		printf("%s: %s at %s (assignment %s)\n", who, role, scope_text, guid);
		rc = 0;
	}
out:
	json_decref(body);
	json_decref(out);
	return rc;
}

const struct cli_cmd cli_cmd_role_assign = {
	"role", "assign", "ROLE --principal NAME [--scope SCOPE | --vm VM -g RG | -g RG | "
		"--subscription-scope | --root]",
	"Give a principal a role at a scope (by default the subscription in use).",
	"ROLE is a role's name (\"JIT Network Access Requester\") or ID. The role applies\n"
	"to the scope and everything inside it: everything (--root), the subscription,\n"
	"a resource group (-g RG) or one VM (--vm VM -g RG). A VM-scoped role reaches\n"
	"that VM's part of its JIT policy: a JIT requester on one VM sees and requests\n"
	"that VM alone. Prints the new assignment's ID, which 'role unassign' takes.\n",
	(const struct cli_opt[]){
		{"principal", KEY_PRINCIPAL, "NAME", "who gets the role: a name, object ID or me "
			"(required)"},
		CLI_SCOPE_OPTIONS,
		{NULL, 0, NULL, NULL},
	},
	role_assign,
	false,
};

/* The scope of the assignment guid, as the server has it. */
static int
assignment_scope(struct cli *c, const char *guid, struct jit_rid *scope,
	struct jit_error *err)
{
	char path[sizeof(ASSIGNMENTS) + JIT_GUID_LEN + 2];
	const char *s;
	struct jit_error e;
	json_t *j = NULL;

	snprintf(path, sizeof(path), ASSIGNMENTS "/%s", guid);
	if (cli_get_object(c, path, &j, err) != 0)
		return -1;
	s = prop(j, "scope");
	if (s == NULL || jit_rid_parse(s, scope, &e) != 0) {
		json_decref(j);
		return cli_fail(err, "the server's role assignment %s has no valid scope", guid);
	}
	json_decref(j);
	return 0;
}

static int
role_unassign(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	char path[JIT_RESOURCE_ID_MAX + sizeof(ASSIGNMENTS) + JIT_GUID_LEN + 2];
	char guid[JIT_GUID_LEN + 1];
	struct assign_args a = {0};
	struct jit_rid scope;
	struct jit_error e;
	const char *arg, *at, *g;
	json_t *out = NULL, *j = NULL;
	int first, r, status, rc = -1;

	if ((r = cli_args_parse(c, &cli_cmd_role_unassign, argc, argv, assign_opt, &a, &first,
		err)) != 0)
		return r > 0 ? 0 : -1;
	if (argc - first != 1)
		return cli_usage(err, "name one role assignment by its ID ('jitgate role "
			"assignments' shows them)");
	if (a.principal != NULL)
		return cli_usage(err, "role unassign takes an assignment's ID, not --principal");
	arg = argv[first];
	if ((g = guid_of(arg)) == NULL)
		return cli_usage(err, "'%.200s' is not a role assignment's ID (a GUID)", arg);
	snprintf(guid, sizeof(guid), "%s", g);
	/* A full ID says its scope; else the flags, else the server does. */
	if ((at = strstr(arg, ASSIGNMENTS "/")) != NULL && arg[0] == '/') {
		char s[JIT_RESOURCE_ID_MAX];

		if (cli_scope_given(&a.scope))
			return cli_usage(err, "a full assignment ID names its scope; leave out the scope "
				"options");
		snprintf(s, sizeof(s), "%.*s", at == arg ? 1 : (int)(at - arg), arg);
		if (jit_rid_parse(s, &scope, &e) != 0)
			return cli_usage(err, "'%.200s': %s", arg, e.message);
	} else if (cli_scope_given(&a.scope)) {
		if (cli_scope_resolve(c, &a.scope, JIT_RID_ROOT, &scope, err) != 0)
			return -1;
	} else if (cli_connect(c, err) != 0 || assignment_scope(c, guid, &scope, err) != 0) {
		return -1;
	}
	if (assignments_path(&scope, guid, path, sizeof(path), err) != 0 ||
		cli_call(c, "DELETE", path, NULL, &status, &j, err) != 0)
		goto out;
	if (c->output == CLI_OUTPUT_JSON) {
		if (j == NULL && (out = json_pack("{s:s,s:b}", "name", guid, "deleted", 0)) == NULL) {
			cli_fail(err, "out of memory");
			goto out;
		}
		rc = cli_json_print(j ? j : out, err);
		goto out;
	}
	if (status == 200)
		printf("assignment %s removed (%s no longer has it)\n", guid,
			prop(j, "principalName") && cli_printable(prop(j, "principalName")) ?
			prop(j, "principalName") : "its principal");
	else
		fprintf(stderr, "jitgate: there is no role assignment %s there; nothing to do\n",
			guid);
	rc = 0;
out:
	json_decref(j);
	json_decref(out);
	return rc;
}

const struct cli_cmd cli_cmd_role_unassign = {
	"role", "unassign", "ASSIGNMENT_ID [--scope SCOPE | --vm VM -g RG | -g RG | "
		"--subscription-scope | --root]",
	"Remove a role assignment.",
	"ASSIGNMENT_ID is the GUID 'role assign' printed (or 'role assignments' shows),\n"
	"or the assignment's full ID. Its scope is looked up when not given. With\n"
	"-o json, prints the assignment removed.\n",
	(const struct cli_opt[]){
		CLI_SCOPE_OPTIONS,
		{NULL, 0, NULL, NULL},
	},
	role_unassign,
	false,
};

static int
role_assignments(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	static const char *const headers[] = {"ID", "PRINCIPAL", "ROLE", "SCOPE"};
	char path[JIT_RESOURCE_ID_MAX + sizeof(ASSIGNMENTS) + 3 * JIT_NAME_MAX + 32];
	char who[JIT_NAME_MAX + 1];
	struct assign_args a = {0};
	struct cli_table *t = NULL;
	struct jit_error ignored;
	struct jit_rid scope;
	json_t *value = NULL, *roles = NULL, *v;
	size_t i;
	int first, r, rc = -1;

	if ((r = cli_args_parse(c, &cli_cmd_role_assignments, argc, argv, assign_opt, &a,
		&first, err)) != 0)
		return r > 0 ? 0 : -1;
	if (first < argc)
		return cli_usage(err, "unexpected argument '%.80s'", argv[first]);
	if (cli_scope_resolve(c, &a.scope, JIT_RID_ROOT, &scope, err) != 0 ||
		assignments_path(&scope, NULL, path, sizeof(path), err) != 0)
		return -1;
	if (a.principal != NULL && (cli_principal_resolve(c, a.principal, who, err) != 0 ||
		cli_query_append(path, sizeof(path), "principalId", who, err) != 0))
		return -1;
	if (cli_get_list(c, path, &value, err) != 0)
		return -1;
	if (c->output == CLI_OUTPUT_JSON) {
		rc = cli_json_print(value, err);
		goto out;
	}
	/* Role names where the caller may read them; their IDs otherwise. */
	if (roles_list(c, &roles, &ignored) != 0)
		roles = NULL;
	if ((t = cli_table_new(4, headers)) == NULL) {
		cli_fail(err, "out of memory");
		goto out;
	}
	json_array_foreach(value, i, v) {
		const char *row[] = {json_string_value(json_object_get(v, "name")),
			prop(v, "principalName"), role_name_of(roles, prop(v, "roleDefinitionId")),
			prop(v, "scope")};

		if (cli_table_add(t, row, err) != 0)
			goto out;
	}
	cli_table_print(t);
	rc = 0;
out:
	cli_table_free(t);
	json_decref(roles);
	json_decref(value);
	return rc;
}

const struct cli_cmd cli_cmd_role_assignments = {
	"role", "assignments", "[--scope SCOPE | --vm VM -g RG | -g RG | --subscription-scope | "
		"--root] [--principal NAME]",
	"List role assignments at, above and below a scope (by default all of them).",
	"Shows the assignments you may read (and your own). --principal (a name, object\n"
	"ID or me) keeps one principal's.\n",
	(const struct cli_opt[]){
		{"principal", KEY_PRINCIPAL, "NAME", "only this principal's"},
		CLI_SCOPE_OPTIONS,
		{NULL, 0, NULL, NULL},
	},
	role_assignments,
	false,
};
