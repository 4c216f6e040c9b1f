/*
 * vm_state.h: a VM's JIT state as the portal shows it, decided in one place.
 *
 *   Configured      the VM is in a JIT policy
 *   Not configured  it has an enforcement point but no policy
 *   Unsupported     otherwise, with the reason ("no enforcement point")
 *
 * A later server version reports the state itself (with more reasons); then
 * this function is the only one to change.
 */
#ifndef JIT_CLI_VM_STATE_H
#define JIT_CLI_VM_STATE_H

#include "model.h"
#include "vm.h"

enum cli_vm_state {
	CLI_VM_CONFIGURED = 1,
	CLI_VM_NOT_CONFIGURED,
	CLI_VM_UNSUPPORTED,
};

struct cli_vm_jit {
	enum cli_vm_state state;
	const char *reason;                 /* NULL unless Unsupported */
	const struct jit_policy *policy;    /* the VM's policy when Configured */
};

/* The state of vm among the subscription's n policies. */
void cli_vm_jit_state(const struct jit_vm *vm, struct jit_policy *const *policies, size_t n,
	struct cli_vm_jit *out);

/* "Configured", "Not configured", "Unsupported". */
const char *cli_vm_state_name(enum cli_vm_state s);
/* "configured", "not-configured", "unsupported" (what --state takes); -1 if none. */
int cli_vm_state_parse(const char *s, enum cli_vm_state *out);

#endif
