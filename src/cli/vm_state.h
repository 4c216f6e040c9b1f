/*
 * vm_state.h: a VM's JIT state as the portal shows it, decided in one place.
 *
 *   Configured      the VM is in a JIT policy and its enforcement point enforces it
 *   Not configured  it could be: it has an enforcement point, nothing stops it
 *   Unsupported     with the reason (no enforcement point, one that cannot
 *                   enforce, JIT disabled by a security policy), in a policy or not
 *
 * Servers that report the state (properties.jit.state) are believed; for
 * older ones it is derived here: Unsupported without an enforcement point,
 * else Configured when in a policy, else Not configured.
 */
#ifndef JIT_CLI_VM_STATE_H
#define JIT_CLI_VM_STATE_H

#include <jansson.h>
#include <stdbool.h>

#include "model.h"
#include "vm.h"

enum cli_vm_state {
	CLI_VM_CONFIGURED = 1,
	CLI_VM_NOT_CONFIGURED,
	CLI_VM_UNSUPPORTED,
};

/* What the server reported in properties.jit; has is false when it reported nothing. */
struct cli_vm_reported {
	bool has;
	enum cli_vm_state state;
	char reason[256];
};

struct cli_vm_jit {
	enum cli_vm_state state;
	const char *reason;                 /* NULL unless Unsupported */
	const struct jit_policy *policy;    /* the VM's policy, when one names it */
};

/* Reads properties.jit of a VM as the server returns it (absent is fine). */
int cli_vm_reported_decode(const json_t *vm, struct cli_vm_reported *out,
	struct jit_error *err);

/* The state of vm (as reported, may be NULL) among the subscription's n policies.
 * out->reason may point into reported. */
void cli_vm_jit_state(const struct jit_vm *vm, const struct cli_vm_reported *reported,
	struct jit_policy *const *policies, size_t n, struct cli_vm_jit *out);

/* "Configured", "Not configured", "Unsupported": for people. */
const char *cli_vm_state_name(enum cli_vm_state s);
/* "Configured", "NotConfigured", "Unsupported": the API's words. */
const char *cli_vm_state_token(enum cli_vm_state s);
/* "configured", "not-configured", "unsupported" (what --state takes); -1 if none. */
int cli_vm_state_parse(const char *s, enum cli_vm_state *out);

#endif
