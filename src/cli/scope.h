/*
 * scope.h: the scope a role is assigned at, as the role commands take it.
 *
 *   --scope SCOPE         any scope as an ID: "/", /subscriptions/S,
 *                         .../resourceGroups/RG, a VM's or a JIT policy's ID
 *   --vm VM [-g RG]       a VM: its name (with -g, or unique in the subscription)
 *                         or its ID
 *   -g RG                 a resource group of the subscription in use
 *   --subscription-scope  the subscription in use
 *   --root                everything ("/")
 *
 * At most one of them; a command says which scope it means when none is given.
 */
#ifndef JIT_CLI_SCOPE_H
#define JIT_CLI_SCOPE_H

#include <stdbool.h>

#include "args.h"
#include "resource_id.h"

enum {
	CLI_KEY_SCOPE = CLI_KEY_LONG + 100,
	CLI_KEY_SCOPE_VM,
	CLI_KEY_SCOPE_SUBSCRIPTION,
	CLI_KEY_SCOPE_ROOT,
};

/* The options above, for a command's option table. */
#define CLI_SCOPE_OPTIONS \
	{"scope", CLI_KEY_SCOPE, "SCOPE", "a scope by ID: /, /subscriptions/S, a group's, a VM's"}, \
	{"vm", CLI_KEY_SCOPE_VM, "VM", "a virtual machine (with -g RG, or its ID)"}, \
	{"resource-group", 'g', "RG", "a resource group (with --vm: the VM's)"}, \
	{"subscription-scope", CLI_KEY_SCOPE_SUBSCRIPTION, NULL, "the subscription in use"}, \
	{"root", CLI_KEY_SCOPE_ROOT, NULL, "everything (\"/\")"}

struct cli_scope_args {
	const char *scope;
	const char *vm;
	const char *rg;
	bool subscription;
	bool root;
};

/* Takes one of the options above: 0 taken, 1 not a scope option, -1 usage error. */
int cli_scope_opt(struct cli_scope_args *a, int key, const char *arg, struct jit_error *err);

/* True when some scope option was given. */
bool cli_scope_given(const struct cli_scope_args *a);

/* The scope named; def (JIT_RID_ROOT or JIT_RID_SUBSCRIPTION) when none was. */
int cli_scope_resolve(struct cli *c, const struct cli_scope_args *a, enum jit_rid_kind def,
	struct jit_rid *out, struct jit_error *err);

#endif
