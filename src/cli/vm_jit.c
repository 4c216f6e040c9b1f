/*
 * vm_jit.c: the JIT state of a VM in the CLI (vm_jit.h).
 */
#include "vm_jit.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int
cli_vm_reported_decode(const json_t *vm, struct cli_vm_reported *out, struct jit_error *err)
{
	const json_t *jit = json_object_get(json_object_get(vm, "properties"), "jit");
	const char *state = json_string_value(json_object_get(jit, "state"));
	const char *reason = json_string_value(json_object_get(jit, "reason"));

	memset(out, 0, sizeof(*out));
	if (jit == NULL || json_is_null(jit))
		return 0;
	if (state == NULL)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT, "properties.jit.state: is missing");
	if (jit_vm_state_from_token(state, &out->state) != 0)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"properties.jit.state: '%.40s' is not Configured, NotConfigured or Unsupported",
			state);
	if (reason != NULL)
		snprintf(out->reason, sizeof(out->reason), "%s", reason);
	out->has = true;
	return 0;
}

void
cli_vm_jit_state(const struct jit_vm *vm, const struct cli_vm_reported *reported,
	struct jit_policy *const *policies, size_t n, struct cli_vm_jit *out)
{
	out->policy = NULL;
	out->reason = NULL;
	for (size_t i = 0; i < n && out->policy == NULL; i++)
		for (size_t k = 0; k < policies[i]->n_vms; k++)
			if (jit_rid_equal(&policies[i]->vms[k].id, &vm->id)) {
				out->policy = policies[i];
				break;
			}
	if (reported != NULL && reported->has) {
		out->state = reported->state;
		if (out->state == JIT_VM_UNSUPPORTED)
			out->reason = reported->reason[0] ? reported->reason : "no reason given";
	} else {
		/* An older server: what the CLI knows (it cannot see the point's capabilities
		 * or the security policies; the server decides those). */
		struct jit_vm_facts f = {
			.in_policy = out->policy != NULL,
			.has_ep = vm->enforcement_point[0] != '\0',
			.ep_can_enforce = true,
		};

		jit_vm_state_decide(&f, &out->state, out->derived_reason);
		if (out->state == JIT_VM_UNSUPPORTED)
			out->reason = out->derived_reason;
	}
}

int
cli_vm_state_parse(const char *s, enum jit_vm_state *out)
{
	if (strcmp(s, "configured") == 0)
		*out = JIT_VM_CONFIGURED;
	else if (strcmp(s, "not-configured") == 0)
		*out = JIT_VM_NOT_CONFIGURED;
	else if (strcmp(s, "unsupported") == 0)
		*out = JIT_VM_UNSUPPORTED;
	else
		return -1;
	return 0;
}
