/*
 * cmd_settings.c: jitgate jit settings: the security policy that can turn JIT
 * off for a subscription or a resource group (jitgated's
 * .../providers/Microsoft.Security/jitSettings/default). While it is off there,
 * policies cannot be written nor access requested, and the VMs show why.
 */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "output.h"
#include "resources.h"

#define SETTINGS "/providers/Microsoft.Security/jitSettings/default"

enum {
	KEY_DISABLE = CLI_KEY_LONG,
	KEY_ENABLE,
	KEY_REASON,
};

struct settings_args {
	const char *rg;
	bool disable;
	bool enable;
	const char *reason;
};

static int
settings_opt(void *ctx, int key, const char *arg, struct jit_error *err)
{
	struct settings_args *a = ctx;

	switch (key) {
	case 'g':
		a->rg = arg;
		return cli_name_check(arg, "resource group name", err);
	case KEY_DISABLE:
		a->disable = true;
		return 0;
	case KEY_ENABLE:
		a->enable = true;
		return 0;
	case KEY_REASON:
		if (arg[0] == '\0' || strlen(arg) > JIT_SETTINGS_REASON_MAX || !cli_printable(arg))
			return cli_usage(err, "--reason: 1-%d printable characters", JIT_SETTINGS_REASON_MAX);
		a->reason = arg;
		return 0;
	}
	return cli_usage(err, "unexpected option");
}

static int
jit_settings(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	struct settings_args a = {0};
	char path[JIT_RESOURCE_ID_MAX + sizeof(SETTINGS)], scope[JIT_RESOURCE_ID_MAX];
	char when[CLI_TIME_SHORT];
	const json_t *props;
	struct jit_rid id;
	json_t *body = NULL, *out = NULL;
	int first, r, rc = -1;

	if ((r = cli_args_parse(c, &cli_cmd_jit_settings, argc, argv, settings_opt, &a, &first,
		err)) != 0)
		return r > 0 ? 0 : -1;
	if (first < argc)
		return cli_usage(err, "unexpected argument '%.80s'", argv[first]);
	if (a.disable && a.enable)
		return cli_usage(err, "--disable and --enable are either-or");
	if (a.disable && a.reason == NULL)
		return cli_usage(err, "say why JIT is disabled with --reason TEXT (VMs show it)");
	if (a.reason != NULL && !a.disable)
		return cli_usage(err, "--reason goes with --disable");
	if (cli_session(c, err) != 0)
		return -1;
	if (a.rg != NULL)
		jit_rid_resource_group(&id, c->sub, a.rg);
	else
		jit_rid_subscription(&id, c->sub);
	if (cli_rid_path(&id, scope, sizeof(scope), err) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s" SETTINGS, scope);
	if (a.disable || a.enable) {
		body = json_pack("{s:{s:b}}", "properties", "enabled", a.enable);
		if (body == NULL || (a.reason != NULL && json_object_set_new(json_object_get(body,
			"properties"), "reason", json_string(a.reason)) != 0)) {
			cli_fail(err, "out of memory");
			goto out;
		}
		r = cli_call(c, "PUT", path, body, NULL, &out, err);
	} else {
		r = cli_get_object(c, path, &out, err);
	}
	if (r != 0)
		goto out;
	if (c->output == CLI_OUTPUT_JSON) {
		rc = cli_json_print(out, err);
		goto out;
	}
	props = json_object_get(out, "properties");
	if (!json_is_boolean(json_object_get(props, "enabled"))) {
		cli_fail(err, "the server's JIT settings say neither enabled nor disabled");
		goto out;
	}
	cli_field("Scope", scope);
	cli_field("JIT", json_is_true(json_object_get(props, "enabled")) ? "enabled" :
		"disabled");
	cli_field("Reason", json_string_value(json_object_get(props, "reason")));
	cli_field("Updated", cli_time_text(json_string_value(json_object_get(props,
		"updatedUtc")), when));
	rc = 0;
out:
	json_decref(body);
	json_decref(out);
	return rc;
}

const struct cli_cmd cli_cmd_jit_settings = {
	"jit", "settings", "[-g RG] [--disable --reason TEXT | --enable]",
	"Show, or turn off and on, JIT for the subscription or a resource group.",
	"A security policy: while JIT is disabled for a scope, its JIT policies cannot\n"
	"be written and access cannot be requested there (403 RequestDisallowedByPolicy),\n"
	"and its VMs are Unsupported with the reason (ports a policy already locks stay\n"
	"locked). Without -g, the subscription in use. Needs\n"
	"Microsoft.Security/jitSettings/write (Owner, Contributor) to change, .../read\n"
	"to show.\n",
	(const struct cli_opt[]){
		{"resource-group", 'g', "RG", "this resource group (default: the subscription)"},
		{"disable", KEY_DISABLE, NULL, "turn JIT off (with --reason)"},
		{"reason", KEY_REASON, "TEXT", "why, e.g. \"change freeze\""},
		{"enable", KEY_ENABLE, NULL, "turn JIT back on"},
		{NULL, 0, NULL, NULL},
	},
	jit_settings,
	false,
};
