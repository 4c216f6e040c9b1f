/*
 * cmd_agent.c: jitgate agent enroll-token: a one-time token with which an
 * agent enrolls as an enforcement point of a resource group
 * (docs/agent-protocol.md).
 */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "duration.h"
#include "output.h"
#include "portspec.h"
#include "resources.h"

enum {
	KEY_VALID_FOR = CLI_KEY_LONG,
};

/* The server's limit (api_agent.c): an enrollment token lives at most a week. */
#define ENROLLMENT_MAX_NS (7LL * 24 * 3600 * JIT_NS_PER_SEC)

struct enroll_args {
	const char *rg;
	bool has_valid_for;
	int64_t valid_for_ns;
};

static int
enroll_opt(void *ctx, int key, const char *arg, struct jit_error *err)
{
	struct enroll_args *a = ctx;

	switch (key) {
	case 'g':
		a->rg = arg;
		return cli_name_check(arg, "resource group name", err);
	case KEY_VALID_FOR:
		if (cli_duration_parse(arg, &a->valid_for_ns, err) != 0)
			return jit_error_prefix(err, "--valid-for");
		if (a->valid_for_ns > ENROLLMENT_MAX_NS)
			return cli_usage(err, "--valid-for: an enrollment token lives at most 7 days");
		a->has_valid_for = true;
		return 0;
	}
	return cli_usage(err, "unexpected option");
}

static int
enroll_token(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	char path[JIT_RESOURCE_ID_MAX + 64], dur[JIT_DURATION_BUFSZ];
	struct enroll_args a = {0};
	struct jit_rid rg;
	json_t *body = NULL, *out = NULL;
	const char *token, *expires;
	int first, r, rc = -1;

	if ((r = cli_args_parse(c, &cli_cmd_agent_enroll_token, argc, argv, enroll_opt, &a,
		&first, err)) != 0)
		return r > 0 ? 0 : -1;
	if (first < argc)
		return cli_usage(err, "unexpected argument '%.80s'", argv[first]);
	if (a.rg == NULL)
		return cli_usage(err, "name the resource group the agent joins with -g RG");
	if (cli_session(c, err) != 0)
		return -1;
	jit_rid_resource_group(&rg, c->sub, a.rg);
	if (cli_rid_path(&rg, path, sizeof(path) - 64, err) != 0)
		return -1;
	strcat(path, "/providers/Jitgate/enrollmentTokens");
	if (a.has_valid_for) {
		jit_duration_format(a.valid_for_ns, dur);
		if ((body = json_pack("{s:s}", "validFor", dur)) == NULL)
			return cli_fail(err, "out of memory");
	}
	if (cli_call(c, "POST", path, body, NULL, &out, err) != 0)
		goto out;
	token = json_string_value(json_object_get(out, "token"));
	expires = json_string_value(json_object_get(out, "expiresAtUtc"));
	if (token == NULL || expires == NULL) {
		cli_fail(err, "the server's answer has no token");
		goto out;
	}
	if (c->output == CLI_OUTPUT_JSON) {
		rc = cli_json_print(out, err);
		goto out;
	}
	/* The token alone on stdout, so that TOKEN=$(jitgate agent enroll-token ...) works. */
	printf("%s\n", token);
	fprintf(stderr, "jitgate: a one-time enrollment token for resource group %s, valid until "
		"%s;\njitgate: on the host or gateway to protect, put it in a file for "
		"'jitgate-agent --enroll-token FILE'.\n", a.rg, expires);
	rc = 0;
out:
	json_decref(body);
	json_decref(out);
	return rc;
}

const struct cli_cmd cli_cmd_agent_enroll_token = {
	"agent", "enroll-token", "-g RG [--valid-for DURATION]",
	"Make a one-time token with which an agent enrolls in a resource group.",
	"Prints the token (only the token, on standard output) and, on standard error,\n"
	"until when it is valid. An agent uses it once (jitgate-agent --enroll-token\n"
	"FILE) to become an enforcement point of RG; a host agent registers its own VM.\n"
	"Keep it secret until it is used.\n",
	(const struct cli_opt[]){
		{"resource-group", 'g', "RG", "the resource group the agent joins (required)"},
		{"valid-for", KEY_VALID_FOR, "DURATION", "how long it can be used (default PT1H, "
			"at most P7D)"},
		{NULL, 0, NULL, NULL},
	},
	enroll_token,
	false,
};
