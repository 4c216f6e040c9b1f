/*
 * vm.c: JSON codec of inventory VMs. Decoding is a boundary: everything a
 * client sends is checked here and becomes a struct jit_vm.
 */
#include "vm.h"

#include <string.h>
#include <strings.h>

const char *
jit_os_name(enum jit_os os)
{
	return os == JIT_OS_WINDOWS ? "Windows" : "Linux";
}

int
jit_os_parse(const char *s, enum jit_os *out, struct jit_error *err)
{
	if (strcasecmp(s, "Linux") == 0)
		*out = JIT_OS_LINUX;
	else if (strcasecmp(s, "Windows") == 0)
		*out = JIT_OS_WINDOWS;
	else
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"must be \"Linux\" or \"Windows\"");
	return 0;
}

static int
decode_addresses(const json_t *arr, struct jit_vm *out, struct jit_error *err)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr))
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"properties.addresses: must be an array of addresses");
	if (json_array_size(arr) > JIT_MAX_VM_ADDRESSES)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"properties.addresses: at most %d addresses are allowed", JIT_MAX_VM_ADDRESSES);
	json_array_foreach(arr, i, v) {
		struct jit_prefix *p = &out->addresses[i];

		if (!json_is_string(v))
			return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
				"properties.addresses[%zu]: must be a string", i);
		if (jit_prefix_parse(json_string_value(v), p, err) != 0)
			return jit_error_prefix(err, "properties.addresses[%zu]", i);
		if (p->family == JIT_FAMILY_ANY || p->len != (p->family == JIT_FAMILY_INET ? 32 : 128))
			return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
				"properties.addresses[%zu]: must be a single IPv4 or IPv6 address, "
				"not a prefix", i);
		for (size_t k = 0; k < i; k++)
			if (jit_prefix_equal(&out->addresses[k], p))
				return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
					"properties.addresses[%zu]: duplicate address", i);
	}
	out->n_addresses = json_array_size(arr);
	return 0;
}

int
jit_vm_from_json(const json_t *j, struct jit_vm *out, struct jit_error *err)
{
	const json_t *props, *v;
	struct jit_rid ep;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(j))
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT, "the body must be a JSON object");
	props = json_object_get(j, "properties");
	if (props == NULL)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"properties: is required (with properties.osType)");
	if (!json_is_object(props))
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT, "properties: must be an object");

	v = json_object_get(props, "osType");
	if (v == NULL)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"properties.osType: is required (\"Linux\" or \"Windows\")");
	if (!json_is_string(v) || jit_os_parse(json_string_value(v), &out->os, err) != 0)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"properties.osType: must be \"Linux\" or \"Windows\"");

	v = json_object_get(props, "addresses");
	if (v != NULL && !json_is_null(v) && decode_addresses(v, out, err) != 0)
		return -1;

	v = json_object_get(props, "enforcementPoint");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v))
			return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
				"properties.enforcementPoint: must be a string");
		if (jit_rid_parse_kind(json_string_value(v), JIT_RID_ENFORCEMENT_POINT, &ep, err) != 0)
			return jit_error_prefix(err, "properties.enforcementPoint");
		if (jit_rid_format(&ep, out->enforcement_point, sizeof(out->enforcement_point)) < 0)
			return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
				"properties.enforcementPoint: is too long");
	}
	return 0;
}

json_t *
jit_vm_to_json(const struct jit_vm *vm)
{
	char id[JIT_RESOURCE_ID_MAX];
	char addr[JIT_PREFIX_BUFSZ];
	json_t *root, *props, *addrs;

	if (jit_rid_format(&vm->id, id, sizeof(id)) < 0)
		return NULL;
	root = json_object();
	props = json_object();
	addrs = json_array();
	if (root == NULL || props == NULL || addrs == NULL)
		goto fail;
	for (size_t i = 0; i < vm->n_addresses; i++) {
		jit_prefix_format(&vm->addresses[i], addr);
		if (json_array_append_new(addrs, json_string(addr)) != 0)
			goto fail;
	}
	if (json_object_set_new(props, "addresses", addrs) != 0 ||
		json_object_set_new(props, "osType", json_string(jit_os_name(vm->os))) != 0)
		goto fail_props;
	if (vm->enforcement_point[0] != '\0' &&
		json_object_set_new(props, "enforcementPoint", json_string(vm->enforcement_point)) != 0)
		goto fail_props;
	if (json_object_set_new(root, "id", json_string(id)) != 0 ||
		json_object_set_new(root, "name", json_string(vm->id.name)) != 0 ||
		json_object_set_new(root, "type", json_string("Microsoft.Compute/virtualMachines")) != 0 ||
		json_object_set_new(root, "location", json_string(vm->location)) != 0 ||
		json_object_set_new(root, "properties", props) != 0) {
		json_decref(root);
		return NULL;
	}
	return root;
fail:
	json_decref(addrs);
fail_props:
	json_decref(props);
	json_decref(root);
	return NULL;
}
