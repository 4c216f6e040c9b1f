/*
 * vm_state.c: the JIT state of a VM (vm_state.h).
 */
#include "vm_state.h"

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
	if (strcasecmp(state, "Configured") == 0)
		out->state = CLI_VM_CONFIGURED;
	else if (strcasecmp(state, "NotConfigured") == 0)
		out->state = CLI_VM_NOT_CONFIGURED;
	else if (strcasecmp(state, "Unsupported") == 0)
		out->state = CLI_VM_UNSUPPORTED;
	else
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
		if (out->state == CLI_VM_UNSUPPORTED)
			out->reason = reported->reason[0] ? reported->reason : "no reason given";
	} else if (vm->enforcement_point[0] == '\0') {
		out->state = CLI_VM_UNSUPPORTED;
		out->reason = "no enforcement point";
	} else {
		out->state = out->policy != NULL ? CLI_VM_CONFIGURED : CLI_VM_NOT_CONFIGURED;
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

const char *
cli_vm_state_token(enum cli_vm_state s)
{
	return s == CLI_VM_NOT_CONFIGURED ? "NotConfigured" : cli_vm_state_name(s);
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
