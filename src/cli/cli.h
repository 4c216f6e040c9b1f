/*
 * cli.h: what every part of jitgate (the command line) shares: the run's
 * state (options common to all commands, the connection once made, the
 * subscription in use), the exit statuses, and the commands themselves.
 *
 * Errors are the tree's struct jit_error. An error the server sent keeps its
 * HTTP status and ARM code; errors found here use the statuses below (below
 * 100, so they never look like HTTP) and an empty code.
 */
#ifndef JIT_CLI_H
#define JIT_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "jit_limits.h"
#include "model.h"
#include "vm.h"

/* Exit statuses: ok, the server (or the network) said no, the command line is wrong. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

/* err->status of errors found by the CLI itself. */
#define CLI_E_FAIL 1
#define CLI_E_USAGE 2

/* How long one HTTPS exchange, and request --wait, may take by default. */
#define CLI_DEFAULT_TIMEOUT_S 30
#define CLI_MAX_TIMEOUT_S 3600

enum cli_output {
	CLI_OUTPUT_TABLE = 0,
	CLI_OUTPUT_JSON,
	CLI_OUTPUT_CSV,       /* jitgate audit only (struct cli_cmd's csv) */
};

struct cli_cmd;
struct cli_client;
struct cli_cache;

struct cli {
	/* Options common to every command, as given (NULL: not given). */
	const char *server;
	const char *token_file;
	const char *ca;
	const char *subscription;
	const char *profile;             /* --profile NAME */
	enum cli_output output;
	bool wide;                       /* -o wide: tables with every column, in full */
	int timeout_s;
	const struct cli_cmd *cmd;       /* the command running (for "Try ... --help") */
	/* Made on first use by cli_session(). */
	struct cli_client *http;
	char sub[JIT_NAME_MAX + 1];      /* the subscription in use */
	struct cli_cache *cache;         /* what was read from the server this run */
};

/* Fills err as a usage error (exit 2) or a local failure (exit 1); returns -1. */
int cli_usage(struct jit_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_fail(struct jit_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The commands (cmd_*.c), each described by a struct cli_cmd (args.h). */
extern const struct cli_cmd cli_cmd_login;
extern const struct cli_cmd cli_cmd_vm_list;
extern const struct cli_cmd cli_cmd_vm_show;
extern const struct cli_cmd cli_cmd_vm_add;
extern const struct cli_cmd cli_cmd_vm_remove;
extern const struct cli_cmd cli_cmd_jit_enable;
extern const struct cli_cmd cli_cmd_jit_edit;
extern const struct cli_cmd cli_cmd_jit_show;
extern const struct cli_cmd cli_cmd_jit_list;
extern const struct cli_cmd cli_cmd_jit_disable;
extern const struct cli_cmd cli_cmd_jit_set;
extern const struct cli_cmd cli_cmd_request;
extern const struct cli_cmd cli_cmd_requests;
extern const struct cli_cmd cli_cmd_revoke;
extern const struct cli_cmd cli_cmd_ssh;
extern const struct cli_cmd cli_cmd_agent_enroll_token;
extern const struct cli_cmd cli_cmd_agent_list;
extern const struct cli_cmd cli_cmd_agent_show;
extern const struct cli_cmd cli_cmd_agent_remove;
extern const struct cli_cmd cli_cmd_jit_settings;
extern const struct cli_cmd cli_cmd_whoami;
extern const struct cli_cmd cli_cmd_principal_create;
extern const struct cli_cmd cli_cmd_principal_list;
extern const struct cli_cmd cli_cmd_principal_show;
extern const struct cli_cmd cli_cmd_principal_delete;
extern const struct cli_cmd cli_cmd_token_create;
extern const struct cli_cmd cli_cmd_token_list;
extern const struct cli_cmd cli_cmd_token_revoke;
extern const struct cli_cmd cli_cmd_secret_create;
extern const struct cli_cmd cli_cmd_secret_list;
extern const struct cli_cmd cli_cmd_secret_revoke;
extern const struct cli_cmd cli_cmd_role_list;
extern const struct cli_cmd cli_cmd_role_show;
extern const struct cli_cmd cli_cmd_role_create;
extern const struct cli_cmd cli_cmd_role_delete;
extern const struct cli_cmd cli_cmd_role_assign;
extern const struct cli_cmd cli_cmd_role_unassign;
extern const struct cli_cmd cli_cmd_role_assignments;
extern const struct cli_cmd cli_cmd_audit;
extern const struct cli_cmd cli_cmd_audit_verify;
extern const struct cli_cmd cli_cmd_audit_checkpoint;

#endif
