/*
 * cmd_login.c: jitgate login: checks that the server, its certificate and the
 * token work together, then saves them as the profile (profile.h).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "client.h"
#include "output.h"
#include "profile.h"
#include "resources.h"

/* Asks the server for its subscriptions with the new credentials (*n: how many)
 * and, where the server can say, who the token belongs to. */
static int
try_login(struct cli *c, const struct cli_connection *conn, size_t *n, char *who,
	size_t who_len, struct jit_error *err)
{
	struct cli_client *h = NULL;
	char path[JIT_NAME_MAX + 32];
	struct jit_error ignored;
	const char *name;
	json_t *out = NULL;
	int status, r;

	who[0] = '\0';
	if (cli_client_new(conn, c->timeout_s, &h, err) != 0)
		return -1;
	r = cli_client_call(h, "GET", "/subscriptions", NULL, &status, &out, err);
	*n = json_array_size(json_object_get(out, "value"));
	json_decref(out);
	out = NULL;
	if (r == 0 && conn->subscription[0] != '\0') {
		snprintf(path, sizeof(path), "/subscriptions/%s", conn->subscription);
		r = cli_client_call(h, "GET", path, NULL, &status, &out, err);
		json_decref(out);
		out = NULL;
	}
	/* Older servers have no whoami: the name is a nicety, not a requirement. */
	if (r == 0 && cli_client_call(h, "GET", "/providers/Jitgate/whoami", NULL, &status, &out,
		&ignored) == 0) {
		name = json_string_value(json_object_get(json_object_get(out, "principal"), "name"));
		if (name != NULL && strlen(name) < who_len && cli_printable(name))
			snprintf(who, who_len, "%s", name);
	}
	json_decref(out);
	cli_client_free(h);
	return r;
}

static int
login(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	struct cli_connection conn;
	struct cli_profile p;
	char path[PATH_MAX], who[128];
	json_t *out;
	size_t n = 0;
	int first, r, rc = -1;

	if ((r = cli_args_parse(c, &cli_cmd_login, argc, argv, NULL, NULL, &first, err)) != 0)
		return r > 0 ? 0 : -1;
	if (first < argc)
		return cli_usage(err, "unexpected argument '%.80s'", argv[first]);
	/* Not from an existing profile: login is how a profile is made. */
	if (cli_connection_resolve(c, false, &conn, err) != 0)
		return -1;
	memset(&p, 0, sizeof(p));
	if (conn.subscription[0] != '\0' &&
		cli_name_check(conn.subscription, "subscription ID", err) != 0)
		goto out;
	if (conn.ca[0] != '\0' && realpath(conn.ca, p.ca) == NULL) {
		cli_fail(err, "cannot resolve the path of the CA file %s", conn.ca);
		goto out;
	}
	if (try_login(c, &conn, &n, who, sizeof(who), err) != 0)
		goto out;
	snprintf(p.server, sizeof(p.server), "%s", conn.server);
	snprintf(p.token, sizeof(p.token), "%s", conn.token);
	snprintf(p.subscription, sizeof(p.subscription), "%s", conn.subscription);
	if (cli_profile_save(cli_profile_name(c), &p, path, sizeof(path), err) != 0)
		goto out;
	if (c->output == CLI_OUTPUT_JSON) {
		out = json_pack("{s:s,s:s,s:s?,s:s?,s:i,s:s?}", "server", p.server, "profile", path,
			"ca", p.ca[0] ? p.ca : NULL, "subscription",
			p.subscription[0] ? p.subscription : NULL, "subscriptions", (int)n,
			"principal", who[0] ? who : NULL);
		rc = out ? cli_json_print(out, err) : cli_fail(err, "out of memory");
		json_decref(out);
		goto out;
	}
	printf("Logged in to %s%s%s (%zu subscription%s). Profile: %s (mode 0600)\n", p.server,
		who[0] ? " as " : "", who, n, n == 1 ? "" : "s", path);
	rc = 0;
out:
	cli_profile_wipe(&p);
	cli_connection_wipe(&conn);
	return rc;
}

const struct cli_cmd cli_cmd_login = {
	NULL, "login", "--server URL --token-file FILE [--ca FILE] [--subscription ID] "
	"[--profile NAME]",
	"Check a server, its certificate and a token, and save them as a profile.",
	"The profile is $XDG_CONFIG_HOME/jitgate/config (default ~/.config/jitgate/config),\n"
	"or with --profile NAME (or JITGATE_PROFILE) a named one beside it in\n"
	".../jitgate/profiles/NAME, which later commands use with the same --profile NAME\n"
	"or JITGATE_PROFILE=NAME: one profile per principal or server, e.g. an admin's\n"
	"and a requester's. Mode 0600 as it holds the token. Later commands use it when\n"
	"no --server, --token-file or --ca (or JITGATE_SERVER, JITGATE_TOKEN_FILE or\n"
	"JITGATE_TOKEN, JITGATE_CA) says otherwise; its token is only ever sent to its own\n"
	"server. The token is read from FILE (- for standard input) and never printed.\n"
	"jitgated writes its first Owner token to STATE_DIR/admin.token and its\n"
	"certificate to STATE_DIR/tls/cert.pem. --server may name several replicas of one\n"
	"control plane, URL,URL,...: the profile keeps them all and a request moves to the\n"
	"next when one is unreachable or answers 503.\n",
	NULL,
	login,
	false,
};
