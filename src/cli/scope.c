/*
 * scope.c: the scope options of the role commands (scope.h). Every form ends as
 * a parsed struct jit_rid; a VM named by its name is looked up, so that a typo
 * is caught before a role is assigned to nothing.
 */
#include "scope.h"

#include <string.h>

#include "resources.h"

int
cli_scope_opt(struct cli_scope_args *a, int key, const char *arg, struct jit_error *err)
{
	switch (key) {
	case CLI_KEY_SCOPE:
		a->scope = arg;
		return 0;
	case CLI_KEY_SCOPE_VM:
		a->vm = arg;
		return 0;
	case 'g':
		a->rg = arg;
		return cli_name_check(arg, "resource group name", err);
	case CLI_KEY_SCOPE_SUBSCRIPTION:
		a->subscription = true;
		return 0;
	case CLI_KEY_SCOPE_ROOT:
		a->root = true;
		return 0;
	}
	return 1;
}

bool
cli_scope_given(const struct cli_scope_args *a)
{
	return a->scope != NULL || a->vm != NULL || a->rg != NULL || a->subscription || a->root;
}

int
cli_scope_resolve(struct cli *c, const struct cli_scope_args *a, enum jit_rid_kind def,
	struct jit_rid *out, struct jit_error *err)
{
	int forms = (a->scope != NULL) + (a->vm != NULL || a->rg != NULL) + a->subscription +
		a->root;
	struct jit_error e;
	struct cli_vm vm;

	if (forms > 1)
		return cli_usage(err, "name one scope: --scope, --vm [-g], -g, --subscription-scope "
			"or --root");
	memset(out, 0, sizeof(*out));
	if (a->scope != NULL) {
		if (jit_rid_parse(a->scope, out, &e) != 0)
			return cli_usage(err, "--scope %.200s: %s", a->scope, e.message);
		return 0;
	}
	if (a->root || (forms == 0 && def == JIT_RID_ROOT)) {
		out->kind = JIT_RID_ROOT;
		return 0;
	}
	if (cli_session(c, err) != 0)
		return -1;
	if (a->vm != NULL) {
		if (cli_vm_find(c, a->vm, a->rg, &vm, err) != 0)
			return -1;
		*out = vm.vm.id;
	} else if (a->rg != NULL) {
		jit_rid_resource_group(out, c->sub, a->rg);
	} else {
		jit_rid_subscription(out, c->sub);
	}
	return 0;
}
