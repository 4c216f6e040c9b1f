/*
 * cmd_token.c: jitgate token create | list | revoke: the bearer tokens of a
 * principal (by default the caller's own, "me").
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
/* The server's limit on a token's name (where it is used: "alice laptop"). */
#define TOKEN_NAME_MAX 64

enum {
	KEY_PRINCIPAL = CLI_KEY_LONG,
	KEY_NAME,
	KEY_VALID_FOR,
	KEY_OUTPUT_FILE,
};

struct token_args {
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
		if (arg[0] == '\0' || strlen(arg) > TOKEN_NAME_MAX || !cli_printable(arg))
			return cli_usage(err, "--name: 1-%d printable characters (where the token is "
				"used)", TOKEN_NAME_MAX);
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
	snprintf(buf, n, PRINCIPALS "/%s/tokens%s%s", a->principal ? a->principal : "me",
		id ? "/" : "", id ? id : "");
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
	char path[sizeof(PRINCIPALS) + 2 * JIT_NAME_MAX + 16];
	struct jit_error ignored;

	if (id == NULL || jit_rid_check_name(id, "token ID", &ignored) != 0)
		return;
	tokens_path(a, id, path, sizeof(path));
	if (cli_call(c, "DELETE", path, NULL, NULL, NULL, &ignored) == 0)
		fprintf(stderr, "jitgate: the token %s was revoked, as it could not be written\n",
			id);
	else
		fprintf(stderr, "jitgate: warning: the token %s could not be written and could "
			"not be revoked: run 'jitgate token revoke %s%s%s'\n", id, id,
			a->principal ? " --principal " : "", a->principal ? a->principal : "");
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
			json_object_del(out, "token");
			json_object_set_new(out, "outputFile", json_string(a->output_file));
		}
		if (cli_json_print(out, err) != 0)
			return -1;
	} else if (a->output_file == NULL) {
		/* Alone on stdout, so that TOKEN=$(jitgate token create ...) works. */
		printf("%s\n", token);
	} else {
		printf("token %s (\"%s\") for %s written to %s (mode 0600), %s%s\n",
			id && cli_printable(id) ? id : "-", a->name, who(a), a->output_file,
			expires ? "valid until " : "does not expire",
			expires ? cli_time_text(expires, when) : "");
	}
	if (a->output_file == NULL)
		fprintf(stderr, "jitgate: this token for %s is shown once and only its hash is "
			"kept: store it now (--output-file writes it to a private file instead)\n",
			who(a));
	return 0;
}

static int
token_create(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	struct token_args a = {0};
	char path[sizeof(PRINCIPALS) + JIT_NAME_MAX + 16], dur[JIT_DURATION_BUFSZ];
	char *line = NULL;
	const char *token, *id;
	json_t *body = NULL, *out = NULL;
	int first, r, fd = -1, rc = -1;

	if ((r = cli_args_parse(c, &cli_cmd_token_create, argc, argv, token_opt, &a, &first,
		err)) != 0)
		return r > 0 ? 0 : -1;
	if (first < argc)
		return cli_usage(err, "unexpected argument '%.80s'", argv[first]);
	if (a.name == NULL)
		return cli_usage(err, "name the token with --name LABEL (where it is used)");
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
	token = json_string_value(json_object_get(out, "token"));
	id = json_string_value(json_object_get(out, "id"));
	if (token == NULL || strlen(token) >= CLI_TOKEN_MAX || !cli_printable(token)) {
		cli_fail(err, "the server's answer has no token");
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
token_list(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	static const char *const headers[] = {"ID", "NAME", "STATE", "CREATED", "EXPIRES",
		"LAST USED", "MINTED WITH"};
	char path[sizeof(PRINCIPALS) + JIT_NAME_MAX + 16];
	struct token_args a = {0};
	struct cli_table *t = NULL;
	json_t *value = NULL, *v;
	size_t i;
	int first, r, rc = -1;

	if ((r = cli_args_parse(c, &cli_cmd_token_list, argc, argv, token_opt, &a, &first,
		err)) != 0)
		return r > 0 ? 0 : -1;
	if (first < argc)
		return cli_usage(err, "unexpected argument '%.80s'", argv[first]);
	tokens_path(&a, NULL, path, sizeof(path));
	if (cli_connect(c, err) != 0 || cli_get_list(c, path, &value, err) != 0)
		return -1;
	/* Never a secret, whatever a server sends. */
	json_array_foreach(value, i, v)
		json_object_del(v, "token");
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
token_revoke(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	char path[sizeof(PRINCIPALS) + 2 * JIT_NAME_MAX + 16];
	struct token_args a = {0};
	const char *id;
	json_t *out;
	int first, r, status;

	if ((r = cli_args_parse(c, &cli_cmd_token_revoke, argc, argv, token_opt, &a, &first,
		err)) != 0)
		return r > 0 ? 0 : -1;
	if (argc - first != 1)
		return cli_usage(err, "name one token by its ID ('jitgate token list' shows them)");
	id = argv[first];
	if (strncmp(id, "jgt_", 4) == 0)
		return cli_usage(err, "give the token's ID, not the token itself (the ID is the "
			"part after jgt_; 'jitgate token list' shows it)");
	if (cli_name_check(id, "token ID", err) != 0)
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
		printf("token %s: revoked; it stops working with its next request\n", id);
	else
		fprintf(stderr, "jitgate: %s has no token %s; nothing to do\n", who(&a), id);
	return 0;
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
