/*
 * vm_state.c: a VM's JIT state (see vm_state.h).
 */
#include "vm_state.h"

#include <jansson.h>
#include <stdio.h>
#include <strings.h>

void
jit_vm_state_decide(const struct jit_vm_facts *f, enum jit_vm_state *state,
	char reason[JIT_VM_REASON_MAX])
{
	const char *why = f->disabled_reason != NULL ? f->disabled_reason : "";

	reason[0] = '\0';
	/* The most specific reason wins: a security policy, then what enforces the VM. */
	if (f->jit_disabled)
		snprintf(reason, JIT_VM_REASON_MAX, "JIT is disabled by a security policy on %s%s%s",
			f->disabled_scope ? f->disabled_scope : "?", why[0] ? ": " : "", why);
	else if (!f->has_ep)
		snprintf(reason, JIT_VM_REASON_MAX,
			"missing network security group: no enforcement point protects this VM");
	else if (!f->ep_can_enforce)
		snprintf(reason, JIT_VM_REASON_MAX,
			"the enforcement point cannot enforce: nftables is not available on it");
	if (reason[0] != '\0')
		*state = JIT_VM_UNSUPPORTED;
	else
		*state = f->in_policy ? JIT_VM_CONFIGURED : JIT_VM_NOT_CONFIGURED;
}

bool
jit_ep_status_can_enforce(const char *status_json)
{
	json_t *j;
	bool ok;

	/* Until the agent reports, assume it can: it is Configured or Not configured. */
	if (status_json == NULL || (j = json_loads(status_json, 0, NULL)) == NULL)
		return true;
	ok = !json_is_false(json_object_get(json_object_get(j, "capabilities"), "nftables"));
	json_decref(j);
	return ok;
}

bool
jit_ep_healthy(jit_time last_seen, jit_time now)
{
	return last_seen != 0 && now - last_seen < JIT_EP_HEALTHY_NS;
}

const char *
jit_vm_state_token(enum jit_vm_state s)
{
	switch (s) {
	case JIT_VM_CONFIGURED:
		return "Configured";
	case JIT_VM_NOT_CONFIGURED:
		return "NotConfigured";
	case JIT_VM_UNSUPPORTED:
		return "Unsupported";
	}
	return "Unknown";
}

const char *
jit_vm_state_name(enum jit_vm_state s)
{
	return s == JIT_VM_NOT_CONFIGURED ? "Not configured" : jit_vm_state_token(s);
}

int
jit_vm_state_from_token(const char *s, enum jit_vm_state *out)
{
	for (enum jit_vm_state v = JIT_VM_CONFIGURED; v <= JIT_VM_UNSUPPORTED; v++)
		if (s != NULL && strcasecmp(s, jit_vm_state_token(v)) == 0) {
			*out = v;
			return 0;
		}
	return -1;
}
