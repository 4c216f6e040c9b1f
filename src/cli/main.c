/*
 * main.c: jitgate, the command line of jitgate.
 *
 *   jitgate [common options] COMMAND [SUBCOMMAND] [options] [operands]
 *
 * main finds the command's words (common options may come first), hands the
 * rest of the line to the command, and turns its error into one line on stderr
 * and the exit status: 0 ok, 1 the server (or the network) said no, 2 usage.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "resources.h"
#include "text.h"

static const struct cli_cmd *const commands[] = {
	&cli_cmd_login,
	&cli_cmd_vm_list,
	&cli_cmd_vm_show,
	&cli_cmd_vm_add,
	&cli_cmd_vm_remove,
	&cli_cmd_jit_enable,
	&cli_cmd_jit_edit,
	&cli_cmd_jit_show,
	&cli_cmd_jit_list,
	&cli_cmd_jit_disable,
	&cli_cmd_jit_set,
	&cli_cmd_jit_settings,
	&cli_cmd_request,
	&cli_cmd_requests,
	&cli_cmd_revoke,
	&cli_cmd_ssh,
	&cli_cmd_agent_enroll_token,
	&cli_cmd_agent_list,
	&cli_cmd_agent_show,
	&cli_cmd_agent_remove,
	&cli_cmd_whoami,
	&cli_cmd_principal_create,
	&cli_cmd_principal_list,
	&cli_cmd_principal_show,
	&cli_cmd_principal_delete,
	&cli_cmd_token_create,
	&cli_cmd_token_list,
	&cli_cmd_token_revoke,
	&cli_cmd_secret_create,
	&cli_cmd_secret_list,
	&cli_cmd_secret_revoke,
	&cli_cmd_role_list,
	&cli_cmd_role_show,
	&cli_cmd_role_create,
	&cli_cmd_role_delete,
	&cli_cmd_role_assign,
	&cli_cmd_role_unassign,
	&cli_cmd_role_assignments,
	&cli_cmd_audit,
	&cli_cmd_audit_verify,
	&cli_cmd_audit_checkpoint,
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
list_commands(FILE *f, const char *group)
{
	for (size_t i = 0; i < N_COMMANDS; i++) {
		const struct cli_cmd *cmd = commands[i];
		char name[48];

		if (group != NULL && (cmd->group == NULL || strcmp(cmd->group, group) != 0))
			continue;
		if (cmd->group != NULL)
			snprintf(name, sizeof(name), "%s %s", cmd->group, cmd->name);
		else
			snprintf(name, sizeof(name), "%s", cmd->name);
		fprintf(f, "  %-20s  %s\n", name, cmd->summary);
	}
}

static void
help_top(FILE *f)
{
	fprintf(f,
		"usage: jitgate [options] COMMAND [ARGS]\n"
		"\n"
		"Just-in-time access to management ports: the command line of jitgated.\n"
		"\n"
		"Commands:\n");
	list_commands(f, NULL);
	fprintf(f, "\nOptions for every command:\n");
	cli_args_common_help(f);
	fprintf(f,
		"      --version                 print the version\n"
		"\n"
		"Run 'jitgate COMMAND --help' for what a command takes; man jitgate for more.\n"
		"Exit status: 0 ok, 1 the server or the network said no, 2 usage error.\n");
}

static void
help_group(FILE *f, const char *group)
{
	fprintf(f, "usage: jitgate %s COMMAND [ARGS]\n\nCommands:\n", group);
	list_commands(f, group);
	fprintf(f, "\nRun 'jitgate %s COMMAND --help' for what a command takes.\n", group);
}

static bool
is_group(const char *w)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (commands[i]->group != NULL && strcmp(commands[i]->group, w) == 0)
			return true;
	return false;
}

/* The command of its own named w0 ("request", "audit"), or NULL. */
static const struct cli_cmd *
find_single(const char *w0)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (commands[i]->group == NULL && strcmp(commands[i]->name, w0) == 0)
			return commands[i];
	return NULL;
}

/* "vm list", or a command of its own. A word that is both ("audit", with its
 * subcommand "audit verify") is the subcommand when w1 names one. */
static const struct cli_cmd *
find(const char *w0, const char *w1)
{
	for (size_t i = 0; w1 != NULL && i < N_COMMANDS; i++) {
		const struct cli_cmd *cmd = commands[i];

		if (cmd->group != NULL && strcmp(cmd->group, w0) == 0 && strcmp(cmd->name, w1) == 0)
			return cmd;
	}
	return find_single(w0);
}

/* Prints s with unsafe characters (C0, C1, bidi controls: text.h) replaced: a server's
 * message is not trusted to be free of terminal escapes. */
static void
print_clean(FILE *f, const char *s)
{
	while (*s != '\0') {
		bool unsafe;
		size_t n = jit_text_next(s, &unsafe);

		if (unsafe)
			fputc('?', f);
		else
			fwrite(s, 1, n, f);
		s += n;
	}
}

static int
report(const struct cli *c, const struct jit_error *err)
{
	char name[64];

	fputs("jitgate: ", stderr);
	print_clean(stderr, err->message);
	if (err->code[0] != '\0') {
		fputs(" (", stderr);
		print_clean(stderr, err->code);
		fputc(')', stderr);
	}
	fputc('\n', stderr);
	if (err->status != CLI_E_USAGE)
		return CLI_EXIT_FAIL;
	if (c->cmd != NULL)
		fprintf(stderr, "Try '%s --help'.\n", cli_args_cmd_name(c->cmd, name, sizeof(name)));
	else
		fprintf(stderr, "Try 'jitgate --help'.\n");
	return CLI_EXIT_USAGE;
}

struct words {
	int idx[2];           /* positions of the command's words in argv, -1 if absent */
	bool help;
	bool version;
};

/* Finds the command's words: the first non-option arguments, skipping the
 * values of common options that take one (--server URL). */
static void
find_words(int argc, char **argv, struct words *w)
{
	int n = 0;

	w->idx[0] = w->idx[1] = -1;
	w->help = w->version = false;
	for (int i = 1; i < argc && n < 2; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0)
			break;
		if (a[0] == '-' && a[1] != '\0') {
			if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
				w->help = true;
			else if (strcmp(a, "--version") == 0)
				w->version = true;
			else if (cli_args_common_takes_value(a) && i + 1 < argc)
				i++;
			continue;
		}
		/* The second word only belongs to the command for groups ("vm list"); for a
		 * command that is a group too ("audit", "audit verify") only right after it,
		 * so that an option's value ("audit -g verify") is not taken for it. */
		if (n == 1 && !is_group(argv[w->idx[0]]) && strcmp(argv[w->idx[0]], "help") != 0)
			break;
		if (n == 1 && find_single(argv[w->idx[0]]) != NULL && i != w->idx[0] + 1)
			break;
		w->idx[n++] = i;
	}
}

int
main(int argc, char **argv)
{
	struct cli c = {.output = CLI_OUTPUT_TABLE, .timeout_s = CLI_DEFAULT_TIMEOUT_S};
	const struct cli_cmd *cmd;
	struct jit_error err;
	struct words w;
	const char *w0, *w1;
	char **args;
	int n = 0, rc;

	find_words(argc, argv, &w);
	w0 = w.idx[0] >= 0 ? argv[w.idx[0]] : NULL;
	w1 = w.idx[1] >= 0 ? argv[w.idx[1]] : NULL;
	if (w0 == NULL || strcmp(w0, "help") == 0) {
		if (w.version && w0 == NULL) {
			printf("jitgate %s\n", JITGATE_VERSION);
			return CLI_EXIT_OK;
		}
		if (w0 != NULL && w1 != NULL && is_group(w1) && find_single(w1) == NULL) {
			help_group(stdout, w1);
			return CLI_EXIT_OK;
		}
		if (w0 != NULL && w1 != NULL && (cmd = find_single(w1)) != NULL) {
			cli_args_help(cmd, stdout);
			return CLI_EXIT_OK;
		}
		help_top(w.help || w0 != NULL ? stdout : stderr);
		return w.help || w0 != NULL ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	}
	if ((cmd = find(w0, w1)) == NULL) {
		if (is_group(w0)) {
			if (w1 != NULL)
				fprintf(stderr, "jitgate: '%s %s' is not a command\n\n", w0, w1);
			help_group(w.help && w1 == NULL ? stdout : stderr, w0);
			return w.help && w1 == NULL ? CLI_EXIT_OK : CLI_EXIT_USAGE;
		}
		fprintf(stderr, "jitgate: '%s' is not a command. Try 'jitgate --help'.\n", w0);
		return CLI_EXIT_USAGE;
	}
	/* The command sees its own name, then every other argument in order. */
	if ((args = calloc((size_t)argc + 1, sizeof(*args))) == NULL) {
		fprintf(stderr, "jitgate: out of memory\n");
		return CLI_EXIT_FAIL;
	}
	args[n++] = argv[w.idx[0]];
	for (int i = 1; i < argc; i++)
		if (i != w.idx[0] && (cmd->group == NULL || i != w.idx[1]))
			args[n++] = argv[i];
	args[n] = NULL;

	/* libsodium needs no sodium_init for what the CLI uses (sodium_memzero), so none:
	 * nothing is done before it is needed. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "jitgate: cannot initialise libcurl\n");
		free(args);
		return CLI_EXIT_FAIL;
	}
	jit_error_clear(&err);
	rc = cmd->run(&c, n, args, &err) == 0 ? CLI_EXIT_OK : report(&c, &err);
	cli_session_end(&c);
	curl_global_cleanup();
	free(args);
	return rc;
}
