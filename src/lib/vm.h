/*
 * vm.h: the inventory's virtual machines (our own ARM-style resource,
 * .../providers/Microsoft.Compute/virtualMachines/{vm}) and their JSON form:
 *
 * { "id": "...", "name": "vm1", "type": "Microsoft.Compute/virtualMachines",
 *   "location": "local",
 *   "properties": { "osType": "Linux" | "Windows",
 *                   "addresses": ["10.0.0.4", "2001:db8::4"],
 *                   "enforcementPoint": "<enforcement point id>" } }
 *
 * A PUT body needs only properties.osType; addresses default to none and
 * enforcementPoint to absent. Read-only fields in a body are ignored.
 */
#ifndef JIT_VM_H
#define JIT_VM_H

#include <jansson.h>
#include <stddef.h>

#include "desired_state.h"
#include "error.h"
#include "prefix.h"
#include "resource_id.h"

enum jit_os {
	JIT_OS_LINUX = 1,
	JIT_OS_WINDOWS,
};

struct jit_vm {
	struct jit_rid id;
	char location[JIT_NAME_MAX + 1];
	enum jit_os os;
	size_t n_addresses;
	struct jit_prefix addresses[JIT_MAX_VM_ADDRESSES];  /* host prefixes */
	char enforcement_point[JIT_RESOURCE_ID_MAX];         /* "" when none */
};

const char *jit_os_name(enum jit_os os);                  /* "Linux" / "Windows" */
int jit_os_parse(const char *s, enum jit_os *out, struct jit_error *err);

/* Decodes a PUT body into out (id and location are left to the caller). */
int jit_vm_from_json(const json_t *j, struct jit_vm *out, struct jit_error *err);
json_t *jit_vm_to_json(const struct jit_vm *vm);

#endif
