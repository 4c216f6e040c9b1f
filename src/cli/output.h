/*
 * output.h: what jitgate prints: aligned tables for people, JSON for scripts,
 * and the short forms of times and durations used in tables.
 */
#ifndef JIT_CLI_OUTPUT_H
#define JIT_CLI_OUTPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "cli.h"
#include "timestamp.h"

struct cli_table;

/* A table with ncols columns named by headers (copied). */
struct cli_table *cli_table_new(size_t ncols, const char *const headers[]);
/* Adds a row of ncols cells (copied; NULL prints as "-"). */
int cli_table_add(struct cli_table *t, const char *const cells[], struct jit_error *err);
/* Prints the table to stdout; nothing but the header when it has no rows. */
void cli_table_print(const struct cli_table *t);
/* Prints only columns cols[0..n) (all n when cols is NULL), lines fitted into max_width
 * columns (0: no limit): the widest columns but the first are narrowed, down to their
 * header, and their longer cells cut short with "...". */
void cli_table_print_some(const struct cli_table *t, const size_t *cols, size_t n,
	size_t max_width);
/* What tables fit into unless -o wide asks for every column in full. */
#define CLI_TABLE_WIDTH 100
void cli_table_free(struct cli_table *t);

/* True when s has no character that could drive a terminal (C0, DEL, C1, bidi controls,
 * malformed UTF-8: text.h); a server's text is not trusted to be free of them, and
 * tables and fields replace each with '?'. */
bool cli_printable(const char *s);

/* Prints "Label:              value" (the value's unsafe characters as '?', "-"
 * when NULL or empty): one field of a resource shown to people. */
void cli_field(const char *label, const char *value);

/* The short form of an ISO 8601 time from the server (CLI_TIME_SHORT), or s itself
 * when it does not parse; NULL stays NULL. */
const char *cli_time_text(const char *s, char buf[32]);

/* Prints j indented, with a final newline. */
int cli_json_print(const json_t *j, struct jit_error *err);

/* "2026-05-01 14:03:05Z": a time as a table shows it. */
#define CLI_TIME_SHORT 32
void cli_time_short(jit_time t, char buf[CLI_TIME_SHORT]);

/* "2h59m", "45s": how far away t is from now (or "ended"). */
#define CLI_IN_BUFSZ 32
void cli_time_in(jit_time t, jit_time now, char buf[CLI_IN_BUFSZ]);

#endif
