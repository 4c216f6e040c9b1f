/*
 * vm_state.c: the JIT state of a VM (vm_state.h).
 */
#include "vm_state.h"

#include <string.h>

void
cli_vm_jit_state(const struct jit_vm *vm, struct jit_policy *const *policies, size_t n,
	struct cli_vm_jit *out)
{
	out->policy = NULL;
	out->reason = NULL;
	for (size_t i = 0; i < n && out->policy == NULL; i++)
		for (size_t k = 0; k < policies[i]->n_vms; k++)
			if (jit_rid_equal(&policies[i]->vms[k].id, &vm->id)) {
				out->policy = policies[i];
				break;
			}
	if (out->policy != NULL) {
		out->state = CLI_VM_CONFIGURED;
	} else if (vm->enforcement_point[0] != '\0') {
		out->state = CLI_VM_NOT_CONFIGURED;
	} else {
		out->state = CLI_VM_UNSUPPORTED;
		out->reason = "no enforcement point";
	}
}

const char *
cli_vm_state_name(enum cli_vm_state s)
{
	switch (s) {
	case CLI_VM_CONFIGURED:
		return "Configured";
	case CLI_VM_NOT_CONFIGURED:
		return "Not configured";
	case CLI_VM_UNSUPPORTED:
		return "Unsupported";
	}
	return "Unknown";
}

int
cli_vm_state_parse(const char *s, enum cli_vm_state *out)
{
	if (strcmp(s, "configured") == 0)
		*out = CLI_VM_CONFIGURED;
	else if (strcmp(s, "not-configured") == 0)
		*out = CLI_VM_NOT_CONFIGURED;
	else if (strcmp(s, "unsupported") == 0)
		*out = CLI_VM_UNSUPPORTED;
	else
		return -1;
	return 0;
}
