/*
 * cmd_token.c: jitgate token create | list | revoke: the bearer tokens of a
 * principal (by default the caller's own, "me"); and jitgate client-secret
 * create | list | revoke: its OAuth2 client secrets, which Azure's tools (az login
 * --service-principal, the SDKs' ClientSecretCredential) trade for access tokens.
 * Both are secrets of the same kind, shown once and kept as hashes, so one set of
 * commands serves both (struct cred_kind says which).
 *
 * A token's secret exists outside the server once, in the answer to its
 * creation: jitgate writes it to a new private file (--output-file), or else
 * prints it alone on standard output with a warning on standard error, and
 * keeps no copy. Lists show everything but the secret.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "args.h"
#include "duration.h"
#include "files.h"
#include "output.h"
#include "portspec.h"
#include "profile.h"
#include "resources.h"

#define PRINCIPALS "/providers/Jitgate/principals"

enum {
	KEY_PRINCIPAL = CLI_KEY_LONG,
	KEY_NAME,
	KEY_VALID_FOR,
	KEY_OUTPUT_FILE,
};

/* Tokens or client secrets: where they live and what they are called. */
struct cred_kind {
	const char *group;      /* the command group: "token" */
	const char *noun;       /* in messages: "token", "client secret" */
	const char *segment;    /* PRINCIPALS/<who>/<segment> */
	const char *field;      /* the secret's member in the creation's answer */
	const char *prefix;     /* how the secret begins ("jgt_") */
};

static const struct cred_kind kind_token = {"token", "token", "tokens", "token", "jgt_"};
static const struct cred_kind kind_secret = {"client-secret", "client secret",
	"clientSecrets", "secret", "jcs_"};

struct token_args {
	const struct cred_kind *k;
	const char *principal;
	const char *name;
	bool has_valid_for;
	int64_t valid_for_ns;
	const char *output_file;
};

static int
token_opt(void *ctx, int key, const char *arg, struct jit_error *err)
{
	struct token_args *a = ctx;

	switch (key) {
	case KEY_PRINCIPAL:
		a->principal = arg;
		return cli_principal_check(arg, "--principal", err);
	case KEY_NAME:
		if (arg[0] == '\0' || strlen(arg) > JIT_TOKEN_NAME_MAX || !cli_printable(arg))
			return cli_usage(err, "--name: 1-%d printable characters (where the token is "
				"used)", JIT_TOKEN_NAME_MAX);
		a->name = arg;
		return 0;
	case KEY_VALID_FOR:
		if (cli_duration_parse(arg, &a->valid_for_ns, err) != 0)
			return jit_error_prefix(err, "--valid-for");
		a->has_valid_for = true;
		return 0;
	case KEY_OUTPUT_FILE:
		if (arg[0] == '\0' || strcmp(arg, "-") == 0)
			return cli_usage(err, "--output-file: name a file (without it the token is "
				"printed)");
		a->output_file = arg;
		return 0;
	}
	return cli_usage(err, "unexpected option");
}

/* PRINCIPALS/<who>/tokens[/<id>] */
static void
tokens_path(const struct token_args *a, const char *id, char *buf, size_t n)
{
	snprintf(buf, n, PRINCIPALS "/%s/%s%s%s", a->principal ? a->principal : "me",
		a->k->segment, id ? "/" : "", id ? id : "");
}

static const char *
who(const struct token_args *a)
{
	return a->principal != NULL && strcasecmp(a->principal, "me") != 0 ? a->principal :
		"you";
}

/* ---- token create ---- */

/* The token could not be kept: revoke it, so that no secret nobody holds stays valid. */
static void
revoke_lost(struct cli *c, const struct token_args *a, const char *id)
{
	char path[sizeof(PRINCIPALS) + 2 * JIT_NAME_MAX + 24];
	struct jit_error ignored;

	if (id == NULL || jit_rid_check_name(id, "token ID", &ignored) != 0)
		return;
	tokens_path(a, id, path, sizeof(path));
	if (cli_call(c, "DELETE", path, NULL, NULL, NULL, &ignored) == 0)
		fprintf(stderr, "jitgate: the %s %s was revoked, as it could not be written\n",
			a->k->noun, id);
	else
		fprintf(stderr, "jitgate: warning: the %s %s could not be written and could "
			"not be revoked: run 'jitgate %s revoke %s%s%s'\n", a->k->noun, id,
			a->k->group, id, a->principal ? " --principal " : "",
			a->principal ? a->principal : "");
}

/* Prints what was made: the token itself only when it is not in a file. */
static int
report_created(struct cli *c, const struct token_args *a, json_t *out, const char *token,
	struct jit_error *err)
{
	const char *id = json_string_value(json_object_get(out, "id"));
	const char *expires = json_string_value(json_object_get(out, "expiresUtc"));
	char when[CLI_TIME_SHORT];

	if (c->output == CLI_OUTPUT_JSON) {
		if (a->output_file != NULL) {
			json_object_del(out, a->k->field);
			json_object_set_new(out, "outputFile", json_string(a->output_file));
		}
		if (cli_json_print(out, err) != 0)
			return -1;
	} else if (a->output_file == NULL) {
		/* Alone on stdout, so that TOKEN=$(jitgate token create ...) works. */
		printf("%s\n", token);
	} else {
		printf("%s %s (\"%s\") for %s written to %s (mode 0600), %s%s\n", a->k->noun,
			id && cli_printable(id) ? id : "-", a->name, who(a), a->output_file,
			expires ? "valid until " : "does not expire",
			expires ? cli_time_text(expires, when) : "");
	}
	if (a->output_file == NULL)
		fprintf(stderr, "jitgate: this %s for %s is shown once and only its hash is "
			"kept: store it now (--output-file writes it to a private file instead)\n",
			a->k->noun, who(a));
	return 0;
}

static int
cred_create(struct cli *c, const struct cli_cmd *cmd, const struct cred_kind *k, int argc,
	char **argv, struct jit_error *err)
{
	struct token_args a = {.k = k};
	char path[sizeof(PRINCIPALS) + JIT_NAME_MAX + 24], dur[JIT_DURATION_BUFSZ];
	char *line = NULL;
	const char *token, *id;
	json_t *body = NULL, *out = NULL;
	int first, r, fd = -1, rc = -1;

	if ((r = cli_args_parse(c, cmd, argc, argv, token_opt, &a, &first, err)) != 0)
		return r > 0 ? 0 : -1;
	if (first < argc)
		return cli_usage(err, "unexpected argument '%.80s'", argv[first]);
	if (a.name == NULL)
		return cli_usage(err, "name the %s with --name LABEL (where it is used)", k->noun);
	if ((body = json_pack("{s:s}", "name", a.name)) == NULL)
		return cli_fail(err, "out of memory");
	if (a.has_valid_for) {
		jit_duration_format(a.valid_for_ns, dur);
		json_object_set_new(body, "validFor", json_string(dur));
	}
	/* The file first: a token is only made when there is somewhere to keep it. */
	if (a.output_file != NULL &&
		cli_file_create_private("--output-file", a.output_file, &fd, err) != 0)
		goto out;
	tokens_path(&a, NULL, path, sizeof(path));
	if (cli_connect(c, err) != 0 || cli_call(c, "POST", path, body, NULL, &out, err) != 0)
		goto out;
	token = json_string_value(json_object_get(out, k->field));
	id = json_string_value(json_object_get(out, "id"));
	if (token == NULL || strlen(token) >= CLI_TOKEN_MAX || !cli_printable(token)) {
		cli_fail(err, "the server's answer has no %s", k->noun);
		revoke_lost(c, &a, id);
		goto out;
	}
	if (fd >= 0) {
		if (asprintf(&line, "%s\n", token) < 0) {
			line = NULL;
			cli_fail(err, "out of memory");
			revoke_lost(c, &a, id);
			goto out;
		}
		r = cli_file_finish(a.output_file, fd, line, strlen(line), err);
		fd = -1;
		if (r != 0) {
			unlink(a.output_file);
			revoke_lost(c, &a, id);
			goto out;
		}
	}
	rc = report_created(c, &a, out, token, err);
out:
	if (fd >= 0) {
		close(fd);
		unlink(a.output_file);
	}
	if (line != NULL) {
		sodium_memzero(line, strlen(line));
		free(line);
	}
	json_decref(body);
	json_decref(out);
	return rc;
}

static int
token_create(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	return cred_create(c, &cli_cmd_token_create, &kind_token, argc, argv, err);
}

const struct cli_cmd cli_cmd_token_create = {
	"token", "create", "[--principal NAME|me] --name LABEL [--valid-for DURATION] "
		"[--output-file FILE]",
	"Make a bearer token for a principal (by default for yourself).",
	"The token is shown once; the server keeps only its hash. With --output-file it\n"
	"is written to FILE, a new file of mode 0600 (an existing file is never\n"
	"overwritten), and not printed; without, it is printed alone on standard output\n"
	"(TOKEN=$(jitgate token create ...)) with a warning on standard error. Give the\n"
	"file to its holder, who runs 'jitgate login --token-file FILE'. Without\n"
	"--valid-for (P30D, 90d, 12h) it lives as long as the server allows (jitgated\n"
	"--max-token-lifetime, a year by default). A token you make for yourself never\n"
	"outlives the token you make it with, is revoked with it, and needs\n"
	"Jitgate/tokens/mintOwn/action (Owner and Contributor have it, requesters and\n"
	"readers do not); for others it needs Jitgate/principals/tokens/write at /.\n",
	(const struct cli_opt[]){
		{"principal", KEY_PRINCIPAL, "NAME", "whose token (default: me)"},
		{"name", KEY_NAME, "LABEL", "what it is for, e.g. \"alice laptop\" (required)"},
		{"valid-for", KEY_VALID_FOR, "DURATION", "how long it works (default: the "
			"server's maximum)"},
		{"output-file", KEY_OUTPUT_FILE, "FILE", "write it to this new file (0600) "
			"instead of printing it"},
		{NULL, 0, NULL, NULL},
	},
	token_create,
	false,
};

/* ---- token list ---- */

static int
cred_list(struct cli *c, const struct cli_cmd *cmd, const struct cred_kind *k, int argc,
	char **argv, struct jit_error *err)
{
	static const char *const headers[] = {"ID", "NAME", "STATE", "CREATED", "EXPIRES",
		"LAST USED", "MINTED WITH"};
	char path[sizeof(PRINCIPALS) + JIT_NAME_MAX + 24];
	struct token_args a = {.k = k};
	struct cli_table *t = NULL;
	json_t *value = NULL, *v;
	size_t i;
	int first, r, rc = -1;

	if ((r = cli_args_parse(c, cmd, argc, argv, token_opt, &a, &first, err)) != 0)
		return r > 0 ? 0 : -1;
	if (first < argc)
		return cli_usage(err, "unexpected argument '%.80s'", argv[first]);
	tokens_path(&a, NULL, path, sizeof(path));
	if (cli_connect(c, err) != 0 || cli_get_list(c, path, &value, err) != 0)
		return -1;
	/* Never a secret, whatever a server sends. */
	json_array_foreach(value, i, v)
		json_object_del(v, k->field);
	if (c->output == CLI_OUTPUT_JSON) {
		rc = cli_json_print(value, err);
		goto out;
	}
	if ((t = cli_table_new(7, headers)) == NULL) {
		cli_fail(err, "out of memory");
		goto out;
	}
	json_array_foreach(value, i, v) {
		char created[CLI_TIME_SHORT], expires[CLI_TIME_SHORT], used[CLI_TIME_SHORT];
		const char *row[] = {json_string_value(json_object_get(v, "id")),
			json_string_value(json_object_get(v, "name")),
			json_string_value(json_object_get(v, "state")),
			cli_time_text(json_string_value(json_object_get(v, "createdUtc")), created),
			cli_time_text(json_string_value(json_object_get(v, "expiresUtc")), expires),
			cli_time_text(json_string_value(json_object_get(v, "lastUsedUtc")), used),
			json_string_value(json_object_get(v, "mintedWith"))};

		if (row[4] == NULL)
			row[4] = "never";
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

static int
token_list(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	return cred_list(c, &cli_cmd_token_list, &kind_token, argc, argv, err);
}

const struct cli_cmd cli_cmd_token_list = {
	"token", "list", "[--principal NAME|me]",
	"List a principal's tokens (by default your own), never their secrets.",
	"STATE is Active, Expired or Revoked. MINTED WITH is the token a principal made\n"
	"this one with for itself (revoking that one revoked this). Others' tokens need\n"
	"Jitgate/principals/tokens/read at /.\n",
	(const struct cli_opt[]){
		{"principal", KEY_PRINCIPAL, "NAME", "whose tokens (default: me)"},
		{NULL, 0, NULL, NULL},
	},
	token_list,
	false,
};

/* ---- token revoke ---- */

static int
cred_revoke(struct cli *c, const struct cli_cmd *cmd, const struct cred_kind *k, int argc,
	char **argv, struct jit_error *err)
{
	char path[sizeof(PRINCIPALS) + 2 * JIT_NAME_MAX + 24];
	struct token_args a = {.k = k};
	const char *id;
	json_t *out;
	int first, r, status;

	if ((r = cli_args_parse(c, cmd, argc, argv, token_opt, &a, &first, err)) != 0)
		return r > 0 ? 0 : -1;
	if (argc - first != 1)
		return cli_usage(err, "name one %s by its ID ('jitgate %s list' shows them)",
			k->noun, k->group);
	id = argv[first];
	if (strncmp(id, k->prefix, 4) == 0)
		return cli_usage(err, "give the %s's ID, not the secret itself (the ID is the "
			"part after %s; 'jitgate %s list' shows it)", k->noun, k->prefix, k->group);
	if (cli_name_check(id, "ID", err) != 0)
		return -1;
	tokens_path(&a, id, path, sizeof(path));
	if (cli_connect(c, err) != 0 || cli_call(c, "DELETE", path, NULL, &status, NULL, err) != 0)
		return -1;
	if (c->output == CLI_OUTPUT_JSON) {
		if ((out = json_pack("{s:s,s:b}", "id", id, "revoked", status == 200)) == NULL)
			return cli_fail(err, "out of memory");
		r = cli_json_print(out, err);
		json_decref(out);
		return r;
	}
	if (status == 200)
		printf("%s %s: revoked; it stops working with its next request%s\n", k->noun, id,
			k == &kind_secret ? ", and so do the access tokens it bought" : "");
	else
		fprintf(stderr, "jitgate: %s has no %s %s; nothing to do\n", who(&a), k->noun, id);
	return 0;
}

static int
token_revoke(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	return cred_revoke(c, &cli_cmd_token_revoke, &kind_token, argc, argv, err);
}

const struct cli_cmd cli_cmd_token_revoke = {
	"token", "revoke", "ID [--principal NAME|me]",
	"Revoke a token: it stops working at once.",
	"ID is the token's ID as 'jitgate token list' shows it (never the token). An\n"
	"unknown ID is noted, not an error. With -o json, prints {\"id\", \"revoked\"}.\n",
	(const struct cli_opt[]){
		{"principal", KEY_PRINCIPAL, "NAME", "whose token (default: me)"},
		{NULL, 0, NULL, NULL},
	},
	token_revoke,
	false,
};

/* ---- client-secret create | list | revoke ---- */

static int
secret_create(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	return cred_create(c, &cli_cmd_secret_create, &kind_secret, argc, argv, err);
}

const struct cli_cmd cli_cmd_secret_create = {
	"client-secret", "create", "[--principal NAME|me] --name LABEL [--valid-for DURATION] "
		"[--output-file FILE]",
	"Make an OAuth2 client secret, for az login and the Azure SDKs.",
	"A client secret signs a principal in with Azure's own tools: az login\n"
	"--service-principal -u NAME -p SECRET --tenant adfs, or @azure/identity's\n"
	"ClientSecretCredential (docs/azure-tools.md). They trade it at jitgated's token\n"
	"endpoint for access tokens of an hour. It is shown once; the server keeps only\n"
	"its hash. With --output-file it is written to FILE, a new file of mode 0600, and\n"
	"not printed. It always expires: --valid-for (90d, P180D; at most P730D), by\n"
	"default after 180 days. A secret for yourself needs Jitgate/tokens/mintOwn/action\n"
	"and never outlives the token you make it with; for others it needs\n"
	"Jitgate/principals/clientSecrets/write at /.\n",
	(const struct cli_opt[]){
		{"principal", KEY_PRINCIPAL, "NAME", "whose secret (default: me)"},
		{"name", KEY_NAME, "LABEL", "what it is for, e.g. \"ci pipeline\" (required)"},
		{"valid-for", KEY_VALID_FOR, "DURATION", "how long it works (default 180 days)"},
		{"output-file", KEY_OUTPUT_FILE, "FILE", "write it to this new file (0600) "
			"instead of printing it"},
		{NULL, 0, NULL, NULL},
	},
	secret_create,
	false,
};

static int
secret_list(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	return cred_list(c, &cli_cmd_secret_list, &kind_secret, argc, argv, err);
}

const struct cli_cmd cli_cmd_secret_list = {
	"client-secret", "list", "[--principal NAME|me]",
	"List a principal's client secrets (by default your own), never the secrets.",
	"STATE is Active, Expired or Revoked; LAST USED is the last token issued for it.\n"
	"Others' secrets need Jitgate/principals/clientSecrets/read at /.\n",
	(const struct cli_opt[]){
		{"principal", KEY_PRINCIPAL, "NAME", "whose secrets (default: me)"},
		{NULL, 0, NULL, NULL},
	},
	secret_list,
	false,
};

static int
secret_revoke(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	return cred_revoke(c, &cli_cmd_secret_revoke, &kind_secret, argc, argv, err);
}

const struct cli_cmd cli_cmd_secret_revoke = {
	"client-secret", "revoke", "ID [--principal NAME|me]",
	"Revoke a client secret: it and its access tokens stop working at once.",
	"ID is the secret's ID as 'jitgate client-secret list' shows it. An unknown ID\n"
	"is noted, not an error. With -o json, prints {\"id\", \"revoked\"}.\n",
	(const struct cli_opt[]){
		{"principal", KEY_PRINCIPAL, "NAME", "whose secret (default: me)"},
		{NULL, 0, NULL, NULL},
	},
	secret_revoke,
	false,
};
