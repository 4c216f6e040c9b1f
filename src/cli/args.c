/*
 * args.c: parsing a command's options and printing its help, both from the
 * command's table (args.h). getopt_long does the parsing; its own messages are
 * off so that every usage error is one line in jitgate's words, followed by
 * main's "Try 'jitgate ... --help'".
 */
#include "args.h"
#include "number.h"
#include "profile.h"
#include "suggest.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum {
	KEY_SERVER = 200,
	KEY_TOKEN_FILE,
	KEY_CA,
	KEY_SUBSCRIPTION,
	KEY_TIMEOUT,
	KEY_PROFILE,
};

/* The options of every command. Their keys are below CLI_KEY_LONG and are no
 * letters, so they cannot clash with a command's own. */
static const struct cli_opt common[] = {
	{"server", KEY_SERVER, "URL", "jitgated's address, https://HOST:PORT (or JITGATE_SERVER)"},
	{"token-file", KEY_TOKEN_FILE, "FILE", "token file (or JITGATE_TOKEN_FILE; or the token in "
		"JITGATE_TOKEN)"},
	{"ca", KEY_CA, "FILE", "PEM certificate(s) to trust for the server (or JITGATE_CA)"},
	{"subscription", KEY_SUBSCRIPTION, "ID", "subscription (or JITGATE_SUBSCRIPTION)"},
	{"profile", KEY_PROFILE, "NAME", "a profile saved by 'jitgate login --profile' (or "
		"JITGATE_PROFILE)"},
	{"output", 'o', "FORMAT", "table (default, fits 100 columns), wide (every column) or json "
		"(audit: also csv)"},
	{"timeout", KEY_TIMEOUT, "SECONDS", "bound on each exchange and on --wait (default 30)"},
	{"help", 'h', NULL, "show this help"},
	{NULL, 0, NULL, NULL},
};

#define MAX_OPTS 48

int
cli_usage(struct jit_error *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	jit_verrorf(err, CLI_E_USAGE, "", fmt, ap);
	va_end(ap);
	return -1;
}

int
cli_fail(struct jit_error *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	jit_verrorf(err, CLI_E_FAIL, "", fmt, ap);
	va_end(ap);
	return -1;
}

const char *
cli_args_cmd_name(const struct cli_cmd *cmd, char *buf, size_t n)
{
	if (cmd->group != NULL)
		snprintf(buf, n, "jitgate %s %s", cmd->group, cmd->name);
	else
		snprintf(buf, n, "jitgate %s", cmd->name);
	return buf;
}

int
cli_args_int(const char *opt, const char *s, long min, long max, long *out,
	struct jit_error *err)
{
	int64_t v;

	if (jit_number_parse(s, min, max, &v) != 0)
		return cli_usage(err, "%s: expected a whole number from %ld to %ld", opt, min, max);
	*out = v;
	return 0;
}

int
cli_args_common_takes_value(const char *arg)
{
	if (strcmp(arg, "-o") == 0)
		return 1;
	if (strncmp(arg, "--", 2) != 0)
		return 0;
	for (const struct cli_opt *o = common; o->name != NULL; o++)
		if (o->arg != NULL && strcmp(arg + 2, o->name) == 0)
			return 1;
	return 0;
}

static int
add_opts(struct option *lo, size_t *n, char *shorts, size_t *ns, const struct cli_opt *opts)
{
	for (const struct cli_opt *o = opts; o != NULL && o->name != NULL; o++) {
		if (*n + 1 >= MAX_OPTS)
			return -1;
		lo[*n] = (struct option){o->name, o->arg ? required_argument : no_argument, NULL,
			o->key};
		(*n)++;
		if (o->key < 128 && o->key > ' ') {
			shorts[(*ns)++] = (char)o->key;
			if (o->arg != NULL)
				shorts[(*ns)++] = ':';
		}
	}
	lo[*n] = (struct option){NULL, 0, NULL, 0};
	shorts[*ns] = '\0';
	return 0;
}

static int
common_opt(struct cli *c, int key, const char *arg, struct jit_error *err)
{
	long v = 0;

	switch (key) {
	case KEY_SERVER:
		c->server = arg;
		return 0;
	case KEY_TOKEN_FILE:
		c->token_file = arg;
		return 0;
	case KEY_CA:
		c->ca = arg;
		return 0;
	case KEY_SUBSCRIPTION:
		c->subscription = arg;
		return 0;
	case 'o':
		c->wide = false;
		if (strcmp(arg, "json") == 0)
			c->output = CLI_OUTPUT_JSON;
		else if (strcmp(arg, "table") == 0)
			c->output = CLI_OUTPUT_TABLE;
		else if (strcmp(arg, "wide") == 0) {
			c->output = CLI_OUTPUT_TABLE;
			c->wide = true;
		}
		else if (strcmp(arg, "csv") == 0 && c->cmd != NULL && c->cmd->csv)
			c->output = CLI_OUTPUT_CSV;
		else
			return cli_usage(err, "--output: expected table, wide%s or json, not '%.40s'",
				c->cmd != NULL && c->cmd->csv ? ", csv" : "", arg);
		return 0;
	case KEY_TIMEOUT:
		if (cli_args_int("--timeout", arg, 1, CLI_MAX_TIMEOUT_S, &v, err) != 0)
			return -1;
		c->timeout_s = (int)v;
		return 0;
	case KEY_PROFILE:
		c->profile = arg;
		return cli_profile_name_check(arg, "--profile", err);
	}
	return 1;
}

/* The option as the user typed it, for messages. */
static const char *
typed(char **argv, int idx, int argc)
{
	return idx > 0 && idx <= argc && argv[idx - 1] != NULL ? argv[idx - 1] : "?";
}

/* "unknown option '--duration' (did you mean --for?)": a synonym, else a close name. */
static int
unknown_long(const struct cli_cmd *cmd, const char *typed_opt, struct jit_error *err)
{
	const char *names[MAX_OPTS], *hit;
	char word[72];
	size_t n = 0;

	snprintf(word, sizeof(word), "%s", typed_opt + 2);
	word[strcspn(word, "=")] = '\0';
	for (const struct cli_opt *o = common; o->name != NULL && n < MAX_OPTS; o++)
		names[n++] = o->name;
	for (const struct cli_opt *o = cmd->opts; o != NULL && o->name != NULL && n < MAX_OPTS; o++)
		names[n++] = o->name;
	if ((hit = cli_suggest_synonym(word, names, n)) == NULL)
		hit = cli_suggest(word, names, n);
	if (hit != NULL)
		return cli_usage(err, "unknown option '%.60s' (did you mean --%s?)", typed_opt, hit);
	return cli_usage(err, "unknown option '%.60s'", typed_opt);
}

int
cli_args_parse(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv,
	cli_opt_fn *fn, void *ctx, int *first, struct jit_error *err)
{
	struct option lo[MAX_OPTS];
	char shorts[2 * MAX_OPTS + 4] = ":";
	size_t n = 0, ns = 1;
	int ch, r;

	c->cmd = cmd;
	if (add_opts(lo, &n, shorts, &ns, common) != 0 ||
		add_opts(lo, &n, shorts, &ns, cmd->opts) != 0)
		return cli_fail(err, "internal: too many options for '%s'", cmd->name);
	opterr = 0;
	optind = 0;     /* GNU: a full reset, in case anything parsed before */
	while ((ch = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		if (ch == '?') {
			if (optopt != 0 && optopt < 128)
				return cli_usage(err, "unknown option '-%c'", optopt);
			if (strncmp(typed(argv, optind, argc), "--", 2) == 0)
				return unknown_long(cmd, typed(argv, optind, argc), err);
			return cli_usage(err, "unknown option '%s'", typed(argv, optind, argc));
		}
		if (ch == ':')
			return cli_usage(err, "option '%s' needs a value", typed(argv, optind, argc));
		if (ch == 'h') {
			cli_args_help(cmd, stdout);
			return 1;
		}
		r = common_opt(c, ch, optarg, err);
		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		if (fn == NULL || fn(ctx, ch, optarg, err) != 0)
			return fn == NULL ? cli_usage(err, "unexpected option") : -1;
	}
	*first = optind;
	return 0;
}

static void
print_opts(const struct cli_opt *opts, FILE *f)
{
	for (const struct cli_opt *o = opts; o != NULL && o->name != NULL; o++) {
		char left[64];

		if (o->key < 128 && o->key > ' ')
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->key, o->name,
				o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->arg ? " " : "",
				o->arg ? o->arg : "");
		if (strlen(left) > 28)
			fprintf(f, "  %s\n  %-28s  %s\n", left, "", o->help);
		else
			fprintf(f, "  %-28s  %s\n", left, o->help);
	}
}

void
cli_args_common_help(FILE *f)
{
	print_opts(common, f);
}

void
cli_args_help(const struct cli_cmd *cmd, FILE *f)
{
	char name[64];

	fprintf(f, "usage: %s%s%s\n\n%s\n", cli_args_cmd_name(cmd, name, sizeof(name)),
		cmd->synopsis[0] ? " " : "", cmd->synopsis, cmd->summary);
	if (cmd->opts != NULL && cmd->opts[0].name != NULL) {
		fprintf(f, "\nOptions:\n");
		print_opts(cmd->opts, f);
	}
	fprintf(f, "\nCommon options:\n");
	print_opts(common, f);
	if (cmd->details != NULL)
		fprintf(f, "\n%s", cmd->details);
}
