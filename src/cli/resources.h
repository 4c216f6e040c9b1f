/*
 * resources.h: jitgated's resources as the commands use them: the session
 * (connection and subscription), VMs found by name or ID, the JIT policies of
 * the subscription, resource groups and enforcement points.
 *
 * Everything read from the server is decoded with the library's codecs
 * (vm.h, model_json.h): the server's answers are input like any other. What
 * was read is cached for the rest of the run, so a command that touches ten
 * VMs lists them once.
 */
#ifndef JIT_CLI_RESOURCES_H
#define JIT_CLI_RESOURCES_H

#include <jansson.h>
#include <stdbool.h>

#include "cli.h"
#include "model.h"
#include "resource_id.h"
#include "vm.h"
#include "vm_jit.h"

/* A VM as read from the server: decoded, its reported JIT state, and the JSON
 * itself (owned by the session: valid until cli_session_end). */
struct cli_vm {
	struct jit_vm vm;
	struct cli_vm_reported reported;
	const json_t *json;
};

/* Connects (once) and settles the subscription: --subscription, JITGATE_SUBSCRIPTION,
 * the profile, or the server's only one. */
int cli_session(struct cli *c, struct jit_error *err);
/* Connects (once) without settling the subscription, for what lies above them
 * (principals, tokens, roles at "/"): c->sub stays "" unless one was given. */
int cli_connect(struct cli *c, struct jit_error *err);
/* Frees what the run connected and cached. */
void cli_session_end(struct cli *c);

/* method path (body may be NULL); expects a 2xx answer, *out may be NULL. */
int cli_call(struct cli *c, const char *method, const char *path, const json_t *body,
	int *status, json_t **out, struct jit_error *err);
/* GET path, expecting a JSON object; or a list, giving its "value" array (new references). */
int cli_get_object(struct cli *c, const char *path, json_t **out, struct jit_error *err);
int cli_get_list(struct cli *c, const char *path, json_t **value, struct jit_error *err);
/* GET path as CSV (client.h). */
int cli_get_csv(struct cli *c, const char *path, char **out, size_t *len,
	struct jit_error *err);

/* The VMs of the subscription (valid until the session ends). */
int cli_vms(struct cli *c, const struct cli_vm **out, size_t *n, struct jit_error *err);

/* Finds one VM from what the user typed: a name (with -g rg, or unique in the
 * subscription) or a full resource ID. */
int cli_vm_find(struct cli *c, const char *arg, const char *rg, struct cli_vm *out,
	struct jit_error *err);

/* Every JIT policy of the subscription (cached; the caller may change them in
 * place before cli_policy_put). */
int cli_policies(struct cli *c, struct jit_policy ***out, size_t *n, struct jit_error *err);

/* The policy (of ps) that names vm, and the index of vm in it; NULL when none. */
struct jit_policy *cli_policy_of(struct jit_policy **ps, size_t n, const struct jit_rid *vm,
	size_t *vm_index);

/* PUT p (its requests are not sent); *out is the server's answer. */
int cli_policy_put(struct cli *c, const struct jit_policy *p, json_t **out,
	struct jit_error *err);
int cli_policy_delete(struct cli *c, const struct jit_rid *id, struct jit_error *err);

/* The location of a resource group. */
int cli_rg_location(struct cli *c, const char *rg, char loc[JIT_NAME_MAX + 1],
	struct jit_error *err);

/* An enforcement point's versions (desired: what the server wants; applied: what
 * the agent last reported). */
int cli_ep_versions(struct cli *c, const char *ep_id, uint64_t *desired, uint64_t *applied,
	struct jit_error *err);
/* The same versions as a VM reports them (properties.jit.enforcementPoint*Version),
 * read afresh: whoever may read the VM may read them. *has is false when the VM
 * does not report them (it has no enforcement point, or the server is older). */
int cli_vm_versions(struct cli *c, const struct jit_rid *vm, bool *has, uint64_t *desired,
	uint64_t *applied, struct jit_error *err);
/* The same, waiting on the server (a long poll of up to wait_s seconds) until the VM's
 * enforcement point has applied version `want` or later. */
int cli_vm_wait_applied(struct cli *c, const struct jit_rid *vm, uint64_t want, int wait_s,
	bool *has, uint64_t *desired, uint64_t *applied, struct jit_error *err);
/* The same from a VM's JSON as the server returned it. */
int cli_vm_json_versions(const json_t *vm, bool *has, uint64_t *desired, uint64_t *applied,
	struct jit_error *err);

/* Removes entry i of p's VMs (freeing it). */
void cli_policy_remove_vm(struct jit_policy *p, size_t i);

/* Checks a name typed on the command line (what: "VM name", "resource group"). */
int cli_name_check(const char *name, const char *what, struct jit_error *err);
/* Checks a principal's name (or object ID) typed on the command line: 1-90 letters,
 * digits and . _ - @ +, not starting with '.' (what: "--principal"). */
int cli_principal_check(const char *name, const char *what, struct jit_error *err);
/* "me" made the caller's own name (from whoami); other names are copied. */
int cli_principal_resolve(struct cli *c, const char *name, char out[JIT_NAME_MAX + 1],
	struct jit_error *err);

/* The path of a resource ID ("/subscriptions/..."). */
int cli_rid_path(const struct jit_rid *id, char *buf, size_t n, struct jit_error *err);
/* The same as the prefix of a path below it: "" for the root scope "/". */
int cli_scope_prefix(const struct jit_rid *scope, char *buf, size_t n, struct jit_error *err);

/* Appends "?key=value" (or "&key=value" when buf has a query already) to the path in
 * buf, value percent-encoded; fails when it does not fit. */
int cli_query_append(char *buf, size_t n, const char *key, const char *value,
	struct jit_error *err);

/* The server's answer did not decode as expected: turns err (the decoder's message
 * with its JSON path) into one saying so about what ("VM list"). Returns -1. */
int cli_bad_answer(struct jit_error *err, const char *what);

#endif
