/*
 * args.h: the command line's grammar. Each command is one table: its name,
 * synopsis, options and help text. Parsing (getopt_long) and --help are both
 * generated from that table, so the help never disagrees with what is accepted.
 * The options common to every command (connection, output, timeout) are parsed
 * here as well, wherever they appear on the line.
 */
#ifndef JIT_CLI_ARGS_H
#define JIT_CLI_ARGS_H

#include <stdbool.h>
#include <stdio.h>

#include "cli.h"

/* Keys of long-only options start here; below are short option letters. */
#define CLI_KEY_LONG 256

struct cli_opt {
	const char *name;     /* long name without "--" */
	int key;              /* its short letter, or a key >= CLI_KEY_LONG */
	const char *arg;      /* placeholder of its argument ("RG"); NULL for a flag */
	const char *help;     /* one line */
};

typedef int cli_run_fn(struct cli *c, int argc, char **argv, struct jit_error *err);

struct cli_cmd {
	const char *group;    /* "vm", or NULL for a command of its own ("request") */
	const char *name;     /* "list" */
	const char *synopsis; /* what follows the name in the usage line */
	const char *summary;  /* one line, for the lists of commands */
	const char *details;  /* NULL, or paragraphs printed after the options */
	const struct cli_opt *opts;   /* ends with a NULL name; NULL for none */
	cli_run_fn *run;
	bool csv;             /* -o csv is accepted (jitgate audit); else table or json */
};

/* Called once per option of the command's own table; arg is NULL for a flag. */
typedef int cli_opt_fn(void *ctx, int key, const char *arg, struct jit_error *err);

/* Parses argv (argv[0] is the command's name) against cmd's options and the
 * common ones, which land in c. Returns 0 with the operands at argv[*first..argc),
 * 1 when --help was printed, or -1 with a usage error. */
int cli_args_parse(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv,
	cli_opt_fn *fn, void *ctx, int *first, struct jit_error *err);

/* True when arg is a common option that takes its value from the next word
 * (so that main can find the command's name after options such as --server URL). */
int cli_args_common_takes_value(const char *arg);

/* Writes the help of cmd. */
void cli_args_help(const struct cli_cmd *cmd, FILE *f);

/* The text about the common options, for the top-level help. */
void cli_args_common_help(FILE *f);

/* "jitgate vm list" into buf. */
const char *cli_args_cmd_name(const struct cli_cmd *cmd, char *buf, size_t n);

/* Range-checked integer parsing of an option's value ("--timeout 30"). */
int cli_args_int(const char *opt, const char *s, long min, long max, long *out,
	struct jit_error *err);

#endif
