/*
 * vm_state.h: a VM's JIT state as the portal shows it, decided in one place for
 * jitgated and the CLI (pure: the caller brings the facts).
 *
 *   Configured      the VM is in a JIT policy and its enforcement point enforces it
 *   Not configured  it could be: it has an enforcement point, nothing stops it
 *   Unsupported     with the reason: no enforcement point ("missing network security
 *                   group"), one that cannot enforce (no nftables), or JIT disabled
 *                   by a security policy; in a policy or not (Azure's rule: the
 *                   policy stays and applies once the reason is gone)
 */
#ifndef JIT_VM_STATE_H
#define JIT_VM_STATE_H

#include <stdbool.h>

#include "timestamp.h"

enum jit_vm_state {
	JIT_VM_CONFIGURED = 1,
	JIT_VM_NOT_CONFIGURED,
	JIT_VM_UNSUPPORTED,
};

#define JIT_VM_REASON_MAX 256

/* An enforcement point is healthy when heard from within this long. */
#define JIT_EP_HEALTHY_NS (90LL * JIT_NS_PER_SEC)

/* What the state follows from. */
struct jit_vm_facts {
	bool in_policy;
	bool has_ep;                    /* an enforcement point protects the VM */
	bool ep_can_enforce;            /* ... and reported it can (nftables) */
	bool jit_disabled;              /* a security policy disabled JIT there: */
	const char *disabled_scope;     /*   where (an ID), */
	const char *disabled_reason;    /*   and why ("" or NULL: no reason given) */
};

/* The state and, when Unsupported, its reason ("" otherwise). */
void jit_vm_state_decide(const struct jit_vm_facts *f, enum jit_vm_state *state,
	char reason[JIT_VM_REASON_MAX]);

/* Whether an enforcement point's last status report (JSON text, NULL: none yet) says it
 * can enforce: false only when it reported capabilities without nftables. */
bool jit_ep_status_can_enforce(const char *status_json);
/* Heard from within JIT_EP_HEALTHY_NS before now (last_seen 0: never). */
bool jit_ep_healthy(jit_time last_seen, jit_time now);

/* "Configured", "NotConfigured", "Unsupported": the API's words. */
const char *jit_vm_state_token(enum jit_vm_state s);
/* "Configured", "Not configured", "Unsupported": for people. */
const char *jit_vm_state_name(enum jit_vm_state s);
/* The API's words, any case; -1 for anything else. */
int jit_vm_state_from_token(const char *s, enum jit_vm_state *out);

#endif
