/*
 * cmd_principal.c: jitgate whoami and jitgate principal create | list | show |
 * delete: the users and service principals of jitgated (/providers/Jitgate/
 * principals). A principal starts with no role ('jitgate role assign') and no
 * token ('jitgate token create').
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "args.h"
#include "output.h"
#include "resources.h"

#define PRINCIPALS "/providers/Jitgate/principals"

enum {
	KEY_SERVICE = CLI_KEY_LONG,
	KEY_DISPLAY_NAME,
};


static const char *
prop(const json_t *j, const char *key)
{
	return json_string_value(json_object_get(json_object_get(j, "properties"), key));
}

static void
show_principal(const json_t *p)
{
	char when[CLI_TIME_SHORT];

	cli_field("Name", json_string_value(json_object_get(p, "name")));
	cli_field("Object ID", prop(p, "objectId"));
	cli_field("Kind", prop(p, "kind"));
	cli_field("Display name", prop(p, "displayName"));
	cli_field("Created", cli_time_text(prop(p, "createdUtc"), when));
}

static int
no_operands(int first, int argc, char **argv, struct jit_error *err)
{
	if (first < argc)
		return cli_usage(err, "unexpected argument '%.80s'", argv[first]);
	return 0;
}

/* ---- whoami ---- */

static int
whoami(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	const json_t *p;
	json_t *j = NULL;
	int first, r;

	if ((r = cli_args_parse(c, &cli_cmd_whoami, argc, argv, NULL, NULL, &first, err)) != 0)
		return r > 0 ? 0 : -1;
	if (no_operands(first, argc, argv, err) != 0)
		return -1;
	if (cli_connect(c, err) != 0 ||
		cli_get_object(c, "/providers/Jitgate/whoami", &j, err) != 0)
		return -1;
	p = json_object_get(j, "principal");
	if (!json_is_object(p) || json_string_value(json_object_get(p, "name")) == NULL) {
		json_decref(j);
		return cli_fail(err, "the server's whoami names no principal");
	}
	if (c->output == CLI_OUTPUT_JSON) {
		r = cli_json_print(j, err);
	} else {
		show_principal(p);
		cli_field("Caller address",
			json_string_value(json_object_get(j, "callerAddress")));
		r = 0;
	}
	json_decref(j);
	return r;
}

const struct cli_cmd cli_cmd_whoami = {
	NULL, "whoami", "",
	"Show who the token belongs to and the address the server sees you at.",
	"The caller address is what a request's my-ip source becomes ('jitgate request'\n"
	"without --source).\n",
	NULL,
	whoami,
	false,
};

/* ---- principal create ---- */

struct create_args {
	bool service;
	const char *display_name;
};

static int
create_opt(void *ctx, int key, const char *arg, struct jit_error *err)
{
	struct create_args *a = ctx;

	switch (key) {
	case KEY_SERVICE:
		a->service = true;
		return 0;
	case KEY_DISPLAY_NAME:
		if (arg[0] == '\0' || strlen(arg) > JIT_DISPLAY_NAME_MAX || !cli_printable(arg))
			return cli_usage(err, "--display-name: 1-%d printable characters",
				JIT_DISPLAY_NAME_MAX);
		a->display_name = arg;
		return 0;
	}
	return cli_usage(err, "unexpected option");
}

static int
principal_create(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	struct create_args a = {0};
	char path[sizeof(PRINCIPALS) + JIT_NAME_MAX + 2];
	const char *name, *kind, *shown_kind;
	json_t *body = NULL, *out = NULL;
	int first, r, status, rc = -1;

	if ((r = cli_args_parse(c, &cli_cmd_principal_create, argc, argv, create_opt, &a, &first,
		err)) != 0)
		return r > 0 ? 0 : -1;
	if (argc - first != 1)
		return cli_usage(err, "name one principal to create");
	name = argv[first];
	if (cli_principal_check(name, "NAME", err) != 0)
		return -1;
	if (strcasecmp(name, "me") == 0 || strncasecmp(name, "agent-", 6) == 0)
		return cli_usage(err, "'me' and 'agent-*' are reserved names");
	kind = a.service ? "ServicePrincipal" : "User";
	snprintf(path, sizeof(path), PRINCIPALS "/%s", name);
	if ((body = json_pack("{s:{s:s}}", "properties", "kind", kind)) == NULL ||
		(a.display_name != NULL && json_object_set_new(json_object_get(body, "properties"),
			"displayName", json_string(a.display_name)) != 0)) {
		json_decref(body);
		return cli_fail(err, "out of memory");
	}
	if (cli_connect(c, err) != 0 || cli_call(c, "PUT", path, body, &status, &out, err) != 0)
		goto out;
	if (c->output == CLI_OUTPUT_JSON) {
		rc = cli_json_print(out, err);
		goto out;
	}
	shown_kind = prop(out, "kind");
	if (status == 201)
		printf("%s: created (%s, object ID %s); it has no role yet ('jitgate role assign')\n",
			name, shown_kind && cli_printable(shown_kind) ? shown_kind : kind,
			prop(out, "objectId") && cli_printable(prop(out, "objectId")) ?
			prop(out, "objectId") : "-");
	else
		fprintf(stderr, "jitgate: the principal %s exists already; left unchanged\n", name);
	rc = 0;
out:
	json_decref(body);
	json_decref(out);
	return rc;
}

const struct cli_cmd cli_cmd_principal_create = {
	"principal", "create", "NAME [--service] [--display-name TEXT]",
	"Create a user (or with --service a service principal).",
	"NAME is 1-90 letters, digits and . _ - @ + (an e-mail address will do); 'me'\n"
	"and 'agent-*' are reserved. The display name is what requests show as their\n"
	"requestor (default: NAME). Creating a principal that exists changes nothing.\n"
	"Next: 'jitgate role assign ROLE --principal NAME ...' and 'jitgate token create\n"
	"--principal NAME ...'.\n",
	(const struct cli_opt[]){
		{"service", KEY_SERVICE, NULL, "a service principal (automation), not a user"},
		{"display-name", KEY_DISPLAY_NAME, "TEXT", "the name people see (default: NAME)"},
		{NULL, 0, NULL, NULL},
	},
	principal_create,
	false,
};

/* ---- principal list ---- */

static int
principal_list(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	static const char *const headers[] = {"NAME", "KIND", "DISPLAY NAME", "OBJECT ID",
		"CREATED"};
	struct cli_table *t = NULL;
	json_t *value = NULL, *p;
	size_t i;
	int first, r, rc = -1;

	if ((r = cli_args_parse(c, &cli_cmd_principal_list, argc, argv, NULL, NULL, &first,
		err)) != 0)
		return r > 0 ? 0 : -1;
	if (no_operands(first, argc, argv, err) != 0)
		return -1;
	if (cli_connect(c, err) != 0 || cli_get_list(c, PRINCIPALS, &value, err) != 0)
		return -1;
	if (c->output == CLI_OUTPUT_JSON) {
		rc = cli_json_print(value, err);
		goto out;
	}
	if ((t = cli_table_new(5, headers)) == NULL) {
		cli_fail(err, "out of memory");
		goto out;
	}
	json_array_foreach(value, i, p) {
		char when[CLI_TIME_SHORT];
		const char *row[] = {json_string_value(json_object_get(p, "name")), prop(p, "kind"),
			prop(p, "displayName"), prop(p, "objectId"),
			cli_time_text(prop(p, "createdUtc"), when)};

		if (cli_table_add(t, row, err) != 0)
			goto out;
	}
	cli_table_print(t);
	rc = 0;
out:
	cli_table_free(t);
	json_decref(value);
	return rc;
}

const struct cli_cmd cli_cmd_principal_list = {
	"principal", "list", "",
	"List the users and service principals.",
	"Needs Jitgate/principals/read at / (Owner, Reader). Agents are not listed: they\n"
	"are enforcement points.\n",
	NULL,
	principal_list,
	false,
};

/* ---- principal show ---- */

static int
principal_show(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	char path[sizeof(PRINCIPALS) + JIT_NAME_MAX + 2];
	json_t *j = NULL;
	int first, r;

	if ((r = cli_args_parse(c, &cli_cmd_principal_show, argc, argv, NULL, NULL, &first,
		err)) != 0)
		return r > 0 ? 0 : -1;
	if (argc - first != 1)
		return cli_usage(err, "name one principal (or me)");
	if (cli_principal_check(argv[first], "NAME", err) != 0)
		return -1;
	snprintf(path, sizeof(path), PRINCIPALS "/%s", argv[first]);
	if (cli_connect(c, err) != 0 || cli_get_object(c, path, &j, err) != 0)
		return -1;
	if (c->output == CLI_OUTPUT_JSON) {
		r = cli_json_print(j, err);
	} else {
		show_principal(j);
		r = 0;
	}
	json_decref(j);
	return r;
}

const struct cli_cmd cli_cmd_principal_show = {
	"principal", "show", "NAME|me",
	"Show a principal: name, object ID, kind, display name.",
	"Anyone may show themselves (me); others need Jitgate/principals/read at /.\n",
	NULL,
	principal_show,
	false,
};

/* ---- principal delete ---- */

static int
principal_delete(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	char path[sizeof(PRINCIPALS) + JIT_NAME_MAX + 2];
	const char *name;
	json_t *out;
	int first, r, status;

	if ((r = cli_args_parse(c, &cli_cmd_principal_delete, argc, argv, NULL, NULL, &first,
		err)) != 0)
		return r > 0 ? 0 : -1;
	if (argc - first != 1)
		return cli_usage(err, "name one principal to delete");
	name = argv[first];
	if (cli_principal_check(name, "NAME", err) != 0)
		return -1;
	if (strcasecmp(name, "me") == 0)
		return cli_usage(err, "you cannot delete yourself; another Owner can");
	snprintf(path, sizeof(path), PRINCIPALS "/%s", name);
	if (cli_connect(c, err) != 0 || cli_call(c, "DELETE", path, NULL, &status, NULL, err) != 0)
		return -1;
	if (c->output == CLI_OUTPUT_JSON) {
		if ((out = json_pack("{s:s,s:b}", "name", name, "deleted", status == 200)) == NULL)
			return cli_fail(err, "out of memory");
		r = cli_json_print(out, err);
		json_decref(out);
		return r;
	}
	if (status == 200)
		printf("%s: deleted, with its tokens and role assignments\n", name);
	else
		fprintf(stderr, "jitgate: there is no principal named %s; nothing to do\n", name);
	return 0;
}

const struct cli_cmd cli_cmd_principal_delete = {
	"principal", "delete", "NAME",
	"Delete a principal, its tokens and its role assignments.",
	"Its tokens stop working at once. A principal that does not exist is noted, not\n"
	"an error. You cannot delete yourself. With -o json, prints {\"name\", \"deleted\"}.\n",
	NULL,
	principal_delete,
	false,
};
