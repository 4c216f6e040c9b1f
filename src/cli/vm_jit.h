/*
 * vm_jit.h: a VM's JIT state in the CLI. Servers that report the state
 * (properties.jit.state) are believed; for older ones it is derived from what
 * the CLI knows (the VM's enforcement point, the policies) by the same rule
 * jitgated applies (src/lib/vm_state.h).
 */
#ifndef JIT_CLI_VM_JIT_H
#define JIT_CLI_VM_JIT_H

#include <jansson.h>
#include <stdbool.h>

#include "model.h"
#include "vm.h"
#include "vm_state.h"


/* What the server reported in properties.jit; has is false when it reported nothing. */
struct cli_vm_reported {
	bool has;
	enum jit_vm_state state;
	char reason[JIT_VM_REASON_MAX];
};

struct cli_vm_jit {
	enum jit_vm_state state;
	const char *reason;                 /* NULL unless Unsupported */
	const struct jit_policy *policy;    /* the VM's policy, when one names it */
	char derived_reason[JIT_VM_REASON_MAX];
};

/* Reads properties.jit of a VM as the server returns it (absent is fine). */
int cli_vm_reported_decode(const json_t *vm, struct cli_vm_reported *out,
	struct jit_error *err);

/* The state of vm (as reported, may be NULL) among the subscription's n policies.
 * out->reason may point into reported. */
void cli_vm_jit_state(const struct jit_vm *vm, const struct cli_vm_reported *reported,
	struct jit_policy *const *policies, size_t n, struct cli_vm_jit *out);

/* "configured", "not-configured", "unsupported" (what --state takes); -1 if none. */
int cli_vm_state_parse(const char *s, enum jit_vm_state *out);

#endif
