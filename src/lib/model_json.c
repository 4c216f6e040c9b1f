/*
 * model_json.c: the JSON boundary of the Azure JIT model (model.h).
 *
 * Decoding walks a jansson tree once, checks everything (types, required
 * fields, enums, ranges, jit_limits.h, duplicates) and fills typed structs; nothing
 * past here sees a raw JSON value. Each decoder gets the JSON path of the value
 * it reads ("properties.virtualMachines[0]") and builds its children's paths,
 * so every error message starts with the path of the bad field, as ARM's do
 * (json_decode.h words the checks; the rules of absence below are this file's).
 *
 * Choices the spec leaves open, made here once:
 * - A member whose value is null is treated as absent (SDKs send nulls).
 * - A port of a policy or of a request has exactly one of allowedSourceAddressPrefix
 *   and allowedSourceAddressPrefixes; a list holds 1..JIT_MAX_PREFIXES_PER_PORT.
 * - A VM lists at least one port; a request and an initiate list at least one VM;
 *   a policy may list none (Azure keeps policies whose VMs were removed).
 * - The same VM (IDs compare case-insensitively) or the same port number twice
 *   in one list is refused.
 * - Read-only policy fields (id, name, type, location, provisioningState) are
 *   checked when present; name and type are not stored: they follow from id.
 * - One extension to Azure's contract: a port rule may say
 *   "closeEstablishedOnExpiry": true (established connections are cut when a grant
 *   ends). It is written only when true, so Azure's documents round-trip unchanged.
 *
 * Encoding produces what Azure produces; "requests" is always present in a
 * policy's properties, other optional fields only when set.
 */
#include "model_json.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jit_limits.h"
#include "json_decode.h"

#define POLICY_TYPE "Microsoft.Security/locations/jitNetworkAccessPolicies"

/* Values quoted back in messages show at most 44 characters (see jit_quote). */
#define QUOTE_BUFSZ JIT_QUOTE_BUFSZ(44)

static int
nomem(struct jit_error *err)
{
	return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
}

/*
 * Parsing
 */

int
jit_json_parse_object(const char *buf, size_t len, json_t **out, struct jit_error *err)
{
	json_error_t je;
	char text[sizeof(je.text)];
	json_t *j;

	*out = NULL;
	if (len > JIT_MAX_BODY_BYTES)
		return jit_errorf(err, 413, JIT_E_TOO_LARGE,
			"request body is larger than the limit of %d bytes", JIT_MAX_BODY_BYTES);
	if (len == 0 || buf == NULL)
		return jit_json_invalid(err, "",
			"request body is empty; a JSON object is required");
	/* jansson would stop or misreport at a NUL; say plainly what is wrong. */
	if (memchr(buf, '\0', len) != NULL)
		return jit_json_invalid(err, "",
			"request body contains a NUL byte at offset %zu",
			(size_t)((const char *)memchr(buf, '\0', len) - buf));
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (j == NULL)
		return jit_json_invalid(err, "", "invalid JSON at line %d, column %d: %s",
			je.line, je.column,
			jit_quote(text, sizeof(text), je.text, strlen(je.text)));
	if (!json_is_object(j)) {
		jit_json_invalid(err, "", "request body must be a JSON object, not %s",
			jit_json_type_name(j));
		json_decref(j);
		return -1;
	}
	*out = j;
	return 0;
}

/*
 * Members
 */

/* The member key of obj; NULL when absent or null, which ARM treats alike. */
static const json_t *
member(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

/* The string member key of obj, at most max bytes; *out is NULL when it is absent. */
static int
get_string(const json_t *obj, const char *path, const char *key, bool required, size_t max,
	const char **out, struct jit_error *err)
{
	char sub[JIT_JSON_PATH_BUFSZ];
	const json_t *v = member(obj, key);

	*out = NULL;
	if (v == NULL && !required)
		return 0;
	return jit_json_string(v, jit_json_path_key(sub, path, key), false, max, out, err);
}

/* An optional string member, copied; *out stays NULL when it is absent. */
static int
dup_string(const json_t *obj, const char *path, const char *key, size_t max, char **out,
	struct jit_error *err)
{
	const char *s;

	if (get_string(obj, path, key, false, max, &s, err) != 0)
		return -1;
	if (s == NULL)
		return 0;
	if ((*out = strdup(s)) == NULL)
		return nomem(err);
	return 0;
}

/* An integer member checked as a port number; *present says whether it was there. */
static int
get_port(const json_t *obj, const char *path, const char *key, bool required, uint16_t *out,
	bool *present, struct jit_error *err)
{
	char sub[JIT_JSON_PATH_BUFSZ];
	const json_t *v = member(obj, key);
	json_int_t n;

	*out = 0;
	if (present != NULL)
		*present = false;
	if (v == NULL && !required)
		return 0;
	jit_json_path_key(sub, path, key);
	if (jit_json_integer(v, sub, &n, err) != 0)
		return -1;
	if (jit_port_check(n, out, err) != 0)
		return jit_json_at(err, sub);
	if (present != NULL)
		*present = true;
	return 0;
}

/* An optional boolean member; *out stays false when it is absent. */
static int
get_bool(const json_t *obj, const char *path, const char *key, bool *out,
	struct jit_error *err)
{
	char sub[JIT_JSON_PATH_BUFSZ];
	const json_t *v = member(obj, key);

	*out = false;
	if (v == NULL)
		return 0;
	return jit_json_bool(v, jit_json_path_key(sub, path, key), out, err);
}

static int
get_time(const json_t *obj, const char *path, const char *key, jit_time *out,
	struct jit_error *err)
{
	char sub[JIT_JSON_PATH_BUFSZ];
	const char *s;

	if (get_string(obj, path, key, true, JIT_MAX_SHORT_STRING, &s, err) != 0)
		return -1;
	if (jit_time_parse(s, out, err) != 0)
		return jit_json_at(err, jit_json_path_key(sub, path, key));
	return 0;
}

/* A required VM ID. */
static int
get_vm_id(const json_t *obj, const char *path, struct jit_rid *out, struct jit_error *err)
{
	char sub[JIT_JSON_PATH_BUFSZ];
	const char *s;

	if (get_string(obj, path, "id", true, JIT_RESOURCE_ID_MAX, &s, err) != 0)
		return -1;
	if (jit_rid_parse_kind(s, JIT_RID_VM, out, err) != 0)
		return jit_json_at(err, jit_json_path_key(sub, path, "id"));
	return 0;
}

/* The array member key of obj with at most max elements (what names them in the
 * message); when nonempty, it must have at least one. *out is NULL when absent. */
static int
get_array(const json_t *obj, const char *path, const char *key, bool required, bool nonempty,
	size_t max, const char *what, const json_t **out, struct jit_error *err)
{
	char sub[JIT_JSON_PATH_BUFSZ];
	const json_t *a = member(obj, key);

	*out = NULL;
	if (a == NULL && !required)
		return 0;
	return jit_json_array(a, jit_json_path_key(sub, path, key), nonempty, max, what, out,
		err);
}

/* calloc that is fine with n == 0 (returns a non-NULL pointer or NULL on failure). */
static void *
alloc_array(size_t n, size_t size)
{
	return calloc(n > 0 ? n : 1, size);
}

/*
 * Decoding the parts
 */

static int
decode_enum(const json_t *obj, const char *path, const char *key, const char *const names[],
	size_t n, const char *allowed, int *out, struct jit_error *err)
{
	char sub[JIT_JSON_PATH_BUFSZ];
	char q[QUOTE_BUFSZ];
	const char *s;

	if (get_string(obj, path, key, true, JIT_MAX_SHORT_STRING, &s, err) != 0)
		return -1;
	/* names[i] is the value i + 1 of the enum; ARM compares enum strings ignoring case. */
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(s, names[i]) == 0) {
			*out = (int)i + 1;
			return 0;
		}
	}
	return jit_json_invalid(err, jit_json_path_key(sub, path, key), "\"%s\" is not one of %s",
		jit_quote(q, sizeof(q), s, strlen(s)), allowed);
}

/* allowedSourceAddressPrefix or allowedSourceAddressPrefixes: exactly one of them. */
static int
decode_sources(const json_t *obj, const char *path, struct jit_sources *out,
	struct jit_error *err)
{
	char sub[JIT_JSON_PATH_BUFSZ];
	const json_t *one = member(obj, "allowedSourceAddressPrefix");
	const json_t *list = member(obj, "allowedSourceAddressPrefixes");
	const char *s;
	const json_t *a;

	if (one != NULL && list != NULL)
		return jit_json_invalid(err, path, "allowedSourceAddressPrefix and "
			"allowedSourceAddressPrefixes are mutually exclusive");
	if (one == NULL && list == NULL)
		return jit_json_invalid(err, path, "one of allowedSourceAddressPrefix or "
			"allowedSourceAddressPrefixes is required");
	if (one != NULL) {
		if (get_string(obj, path, "allowedSourceAddressPrefix", true, JIT_MAX_SHORT_STRING,
			&s, err) != 0)
			return -1;
		if ((out->prefixes = alloc_array(1, sizeof(*out->prefixes))) == NULL)
			return nomem(err);
		out->list = false;
		out->n = 1;
		if (jit_prefix_parse(s, &out->prefixes[0], err) != 0)
			return jit_json_at(err,
				jit_json_path_key(sub, path, "allowedSourceAddressPrefix"));
		return 0;
	}
	if (get_array(obj, path, "allowedSourceAddressPrefixes", true, true,
		JIT_MAX_PREFIXES_PER_PORT, "prefixes", &a, err) != 0)
		return -1;
	if ((out->prefixes = alloc_array(json_array_size(a), sizeof(*out->prefixes))) == NULL)
		return nomem(err);
	out->list = true;
	out->n = json_array_size(a);
	for (size_t i = 0; i < out->n; i++) {
		const json_t *v = json_array_get(a, i);

		jit_json_path_index(sub, path, "allowedSourceAddressPrefixes", i);
		if (jit_json_string(v, sub, false, SIZE_MAX, &s, err) != 0)
			return -1;
		if (jit_prefix_parse(s, &out->prefixes[i], err) != 0)
			return jit_json_at(err, sub);
	}
	return 0;
}

/* The error for ports[i] repeating the number of ports[k]. Returns -1. */
static int
dup_port_error(const char *path, size_t i, uint16_t number, size_t k, struct jit_error *err)
{
	char sub[JIT_JSON_PATH_BUFSZ];
	char num[JIT_JSON_PATH_BUFSZ];

	jit_json_path_index(sub, path, "ports", i);
	return jit_json_invalid(err, jit_json_path_key(num, sub, "number"),
		"port %u is listed twice (also ports[%zu])", (unsigned)number, k);
}

/* The error for key[i] naming the same VM as key[k]. Returns -1. */
static int
dup_vm_error(const char *path, const char *key, size_t i, size_t k, struct jit_error *err)
{
	char sub[JIT_JSON_PATH_BUFSZ];
	char id[JIT_JSON_PATH_BUFSZ];

	jit_json_path_index(sub, path, key, i);
	return jit_json_invalid(err, jit_json_path_key(id, sub, "id"),
		"virtual machine is listed twice (also %s[%zu])", key, k);
}

/* JitNetworkAccessPortRule */
static int
decode_port_rule(const json_t *obj, const char *path, struct jit_port_rule *out,
	struct jit_error *err)
{
	char sub[JIT_JSON_PATH_BUFSZ];
	const char *s;

	if (jit_json_object(obj, path, err) != 0)
		return -1;
	if (get_port(obj, path, "number", true, &out->number, NULL, err) != 0)
		return -1;
	if (get_string(obj, path, "protocol", true, JIT_MAX_SHORT_STRING, &s, err) != 0)
		return -1;
	if (jit_proto_parse(s, &out->protocol, err) != 0)
		return jit_json_at(err, jit_json_path_key(sub, path, "protocol"));
	if (decode_sources(obj, path, &out->sources, err) != 0)
		return -1;
	if (get_string(obj, path, "maxRequestAccessDuration", true, JIT_MAX_SHORT_STRING, &s,
		err) != 0)
		return -1;
	jit_json_path_key(sub, path, "maxRequestAccessDuration");
	if (jit_duration_parse(s, &out->max_duration_ns, err) != 0)
		return jit_json_at(err, sub);
	if (out->max_duration_ns < JIT_MIN_ACCESS_DURATION_NS ||
		out->max_duration_ns > JIT_MAX_ACCESS_DURATION_NS)
		return jit_json_invalid(err, sub, "must be between PT5M and P1D "
			"(minimum 5 minutes, maximum 1 day)");
	return get_bool(obj, path, "closeEstablishedOnExpiry", &out->close_established, err);
}

/* JitNetworkAccessPolicyVirtualMachine */
static int
decode_policy_vm(const json_t *obj, const char *path, struct jit_policy_vm *out,
	struct jit_error *err)
{
	char sub[JIT_JSON_PATH_BUFSZ];
	const json_t *a;

	if (jit_json_object(obj, path, err) != 0)
		return -1;
	if (get_vm_id(obj, path, &out->id, err) != 0)
		return -1;
	if (get_array(obj, path, "ports", true, true, JIT_MAX_PORTS_PER_VM, "ports", &a,
		err) != 0)
		return -1;
	if ((out->ports = alloc_array(json_array_size(a), sizeof(*out->ports))) == NULL)
		return nomem(err);
	out->n_ports = json_array_size(a);
	for (size_t i = 0; i < out->n_ports; i++) {
		if (decode_port_rule(json_array_get(a, i),
			jit_json_path_index(sub, path, "ports", i), &out->ports[i], err) != 0)
			return -1;
		for (size_t k = 0; k < i; k++)
			if (out->ports[k].number == out->ports[i].number)
				return dup_port_error(path, i, out->ports[i].number, k, err);
	}
	return dup_string(obj, path, "publicIpAddress", JIT_MAX_SHORT_STRING, &out->public_ip,
		err);
}

static const char *const status_names[] = {"Initiated", "Revoked", "Initiating"};
static const char *const reason_names[] = {"UserRequested", "Expired",
	"NewerRequestInitiated"};

/* JitNetworkAccessRequestPort */
static int
decode_request_port(const json_t *obj, const char *path, struct jit_request_port *out,
	struct jit_error *err)
{
	int v;

	if (jit_json_object(obj, path, err) != 0)
		return -1;
	if (get_port(obj, path, "number", true, &out->number, NULL, err) != 0)
		return -1;
	if (decode_sources(obj, path, &out->sources, err) != 0)
		return -1;
	if (get_time(obj, path, "endTimeUtc", &out->end_time, err) != 0)
		return -1;
	if (decode_enum(obj, path, "status", status_names, 3, "Initiated, Revoked, Initiating",
		&v, err) != 0)
		return -1;
	out->status = (enum jit_port_status)v;
	if (decode_enum(obj, path, "statusReason", reason_names, 3,
		"UserRequested, Expired, NewerRequestInitiated", &v, err) != 0)
		return -1;
	out->reason = (enum jit_status_reason)v;
	return get_port(obj, path, "mappedPort", false, &out->mapped_port,
		&out->has_mapped_port, err);
}

/* JitNetworkAccessRequestVirtualMachine */
static int
decode_request_vm(const json_t *obj, const char *path, struct jit_request_vm *out,
	struct jit_error *err)
{
	char sub[JIT_JSON_PATH_BUFSZ];
	const json_t *a;

	if (jit_json_object(obj, path, err) != 0)
		return -1;
	if (get_vm_id(obj, path, &out->id, err) != 0)
		return -1;
	if (get_array(obj, path, "ports", true, true, JIT_MAX_PORTS_PER_VM, "ports", &a,
		err) != 0)
		return -1;
	if ((out->ports = alloc_array(json_array_size(a), sizeof(*out->ports))) == NULL)
		return nomem(err);
	out->n_ports = json_array_size(a);
	for (size_t i = 0; i < out->n_ports; i++) {
		if (decode_request_port(json_array_get(a, i),
			jit_json_path_index(sub, path, "ports", i), &out->ports[i], err) != 0)
			return -1;
		for (size_t k = 0; k < i; k++)
			if (out->ports[k].number == out->ports[i].number)
				return dup_port_error(path, i, out->ports[i].number, k, err);
	}
	return 0;
}

/* JitNetworkAccessRequest into a zeroed *out; on failure *out may be half filled. */
static int
decode_request(const json_t *obj, const char *path, struct jit_request *out,
	struct jit_error *err)
{
	char sub[JIT_JSON_PATH_BUFSZ];
	const json_t *a;
	const char *s;

	if (jit_json_object(obj, path, err) != 0)
		return -1;
	if (get_array(obj, path, "virtualMachines", true, true, JIT_MAX_VMS_PER_REQUEST,
		"virtual machines", &a, err) != 0)
		return -1;
	if ((out->vms = alloc_array(json_array_size(a), sizeof(*out->vms))) == NULL)
		return nomem(err);
	out->n_vms = json_array_size(a);
	for (size_t i = 0; i < out->n_vms; i++) {
		if (decode_request_vm(json_array_get(a, i),
			jit_json_path_index(sub, path, "virtualMachines", i), &out->vms[i],
			err) != 0)
			return -1;
		for (size_t k = 0; k < i; k++)
			if (jit_rid_equal(&out->vms[k].id, &out->vms[i].id))
				return dup_vm_error(path, "virtualMachines", i, k, err);
	}
	if (get_time(obj, path, "startTimeUtc", &out->start_time, err) != 0)
		return -1;
	if (get_string(obj, path, "requestor", true, JIT_MAX_REQUESTOR, &s, err) != 0)
		return -1;
	if (s[0] == '\0')
		return jit_json_invalid(err, jit_json_path_key(sub, path, "requestor"),
			"must not be empty");
	if ((out->requestor = strdup(s)) == NULL)
		return nomem(err);
	return dup_string(obj, path, "justification", JIT_MAX_JUSTIFICATION, &out->justification,
		err);
}

/* JitNetworkAccessPolicyInitiatePort */
static int
decode_initiate_port(const json_t *obj, const char *path, bool end_required,
	struct jit_initiate_port *out, struct jit_error *err)
{
	char sub[JIT_JSON_PATH_BUFSZ];
	const char *s;

	if (jit_json_object(obj, path, err) != 0)
		return -1;
	if (get_port(obj, path, "number", true, &out->number, NULL, err) != 0)
		return -1;
	if (get_string(obj, path, "allowedSourceAddressPrefix", false, JIT_MAX_SHORT_STRING, &s,
		err) != 0)
		return -1;
	if (s != NULL) {
		out->has_source = true;
		if (jit_prefix_parse(s, &out->source, err) != 0)
			return jit_json_at(err,
				jit_json_path_key(sub, path, "allowedSourceAddressPrefix"));
	}
	/* A revoke names no end time: it ends access now. */
	if (!end_required && member(obj, "endTimeUtc") == NULL)
		return 0;
	return get_time(obj, path, "endTimeUtc", &out->end_time, err);
}

/* JitNetworkAccessPolicyInitiateVirtualMachine */
static int
decode_initiate_vm(const json_t *obj, const char *path, bool end_required,
	struct jit_initiate_vm *out, struct jit_error *err)
{
	char sub[JIT_JSON_PATH_BUFSZ];
	const json_t *a;

	if (jit_json_object(obj, path, err) != 0)
		return -1;
	if (get_vm_id(obj, path, &out->id, err) != 0)
		return -1;
	if (get_array(obj, path, "ports", true, true, JIT_MAX_PORTS_PER_VM, "ports", &a,
		err) != 0)
		return -1;
	if ((out->ports = alloc_array(json_array_size(a), sizeof(*out->ports))) == NULL)
		return nomem(err);
	out->n_ports = json_array_size(a);
	for (size_t i = 0; i < out->n_ports; i++) {
		if (decode_initiate_port(json_array_get(a, i),
			jit_json_path_index(sub, path, "ports", i), end_required, &out->ports[i],
			err) != 0)
			return -1;
		for (size_t k = 0; k < i; k++)
			if (out->ports[k].number == out->ports[i].number)
				return dup_port_error(path, i, out->ports[i].number, k, err);
	}
	return 0;
}

/* The read-only members of a policy resource, checked when present. */
static int
decode_policy_resource(const json_t *obj, struct jit_policy *out, struct jit_error *err)
{
	const char *s;

	if (get_string(obj, "", "id", false, JIT_RESOURCE_ID_MAX, &s, err) != 0)
		return -1;
	if (s != NULL && jit_rid_parse_kind(s, JIT_RID_JIT_POLICY, &out->id, err) != 0)
		return jit_json_at(err, "id");
	/* name and type follow from id when encoding; they only have to be strings. */
	if (get_string(obj, "", "name", false, JIT_NAME_MAX, &s, err) != 0)
		return -1;
	if (get_string(obj, "", "type", false, JIT_MAX_SHORT_STRING, &s, err) != 0)
		return -1;
	if (dup_string(obj, "", "kind", JIT_MAX_SHORT_STRING, &out->kind, err) != 0)
		return -1;
	return dup_string(obj, "", "location", JIT_MAX_SHORT_STRING, &out->location, err);
}

/* JitNetworkAccessPolicyProperties */
static int
decode_policy_properties(const json_t *obj, const char *path, struct jit_policy *out,
	struct jit_error *err)
{
	char sub[JIT_JSON_PATH_BUFSZ];
	const json_t *a;

	if (jit_json_object(obj, path, err) != 0)
		return -1;
	if (get_array(obj, path, "virtualMachines", true, false, JIT_MAX_VMS_PER_POLICY,
		"virtual machines", &a, err) != 0)
		return -1;
	if ((out->vms = alloc_array(json_array_size(a), sizeof(*out->vms))) == NULL)
		return nomem(err);
	out->n_vms = json_array_size(a);
	for (size_t i = 0; i < out->n_vms; i++) {
		if (decode_policy_vm(json_array_get(a, i),
			jit_json_path_index(sub, path, "virtualMachines", i), &out->vms[i],
			err) != 0)
			return -1;
		for (size_t k = 0; k < i; k++)
			if (jit_rid_equal(&out->vms[k].id, &out->vms[i].id))
				return dup_vm_error(path, "virtualMachines", i, k, err);
	}
	/* No count limit of its own: the body limit bounds what a client can send. */
	if (get_array(obj, path, "requests", false, false, SIZE_MAX, "requests", &a, err) != 0)
		return -1;
	if (a != NULL) {
		if ((out->requests = alloc_array(json_array_size(a), sizeof(*out->requests))) ==
			NULL)
			return nomem(err);
		out->n_requests = json_array_size(a);
		for (size_t i = 0; i < out->n_requests; i++)
			if (decode_request(json_array_get(a, i),
				jit_json_path_index(sub, path, "requests", i), &out->requests[i],
				err) != 0)
				return -1;
	}
	return dup_string(obj, path, "provisioningState", JIT_MAX_SHORT_STRING,
		&out->provisioning_state, err);
}

/*
 * Decoding: the public entry points
 */

int
jit_policy_from_json(const json_t *j, struct jit_policy **out, struct jit_error *err)
{
	struct jit_policy *p;

	*out = NULL;
	if (jit_json_object(j, "", err) != 0)
		return -1;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return nomem(err);
	p->id.kind = JIT_RID_ROOT;
	if (decode_policy_resource(j, p, err) != 0 ||
		decode_policy_properties(member(j, "properties"), "properties", p, err) != 0) {
		jit_policy_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

int
jit_request_from_json(const json_t *j, struct jit_request **out, struct jit_error *err)
{
	struct jit_request *r;

	*out = NULL;
	if (jit_json_object(j, "", err) != 0)
		return -1;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return nomem(err);
	if (decode_request(j, "", r, err) != 0) {
		jit_request_free(r);
		return -1;
	}
	*out = r;
	return 0;
}

static int
decode_initiate(const json_t *j, bool end_required, struct jit_initiate **out,
	struct jit_error *err)
{
	char sub[JIT_JSON_PATH_BUFSZ];
	struct jit_initiate *in;
	const json_t *a;

	*out = NULL;
	if (jit_json_object(j, "", err) != 0)
		return -1;
	if ((in = calloc(1, sizeof(*in))) == NULL)
		return nomem(err);
	if (get_array(j, "", "virtualMachines", true, true, JIT_MAX_VMS_PER_REQUEST,
		"virtual machines", &a, err) != 0)
		goto fail;
	if ((in->vms = alloc_array(json_array_size(a), sizeof(*in->vms))) == NULL) {
		nomem(err);
		goto fail;
	}
	in->n_vms = json_array_size(a);
	for (size_t i = 0; i < in->n_vms; i++) {
		if (decode_initiate_vm(json_array_get(a, i),
			jit_json_path_index(sub, "", "virtualMachines", i), end_required, &in->vms[i],
			err) != 0)
			goto fail;
		for (size_t k = 0; k < i; k++) {
			if (jit_rid_equal(&in->vms[k].id, &in->vms[i].id)) {
				dup_vm_error("", "virtualMachines", i, k, err);
				goto fail;
			}
		}
	}
	if (dup_string(j, "", "justification", JIT_MAX_JUSTIFICATION, &in->justification,
		err) != 0)
		goto fail;
	*out = in;
	return 0;
fail:
	jit_initiate_free(in);
	return -1;
}

int
jit_initiate_from_json(const json_t *j, struct jit_initiate **out, struct jit_error *err)
{
	return decode_initiate(j, true, out, err);
}

int
jit_revoke_from_json(const json_t *j, struct jit_initiate **out, struct jit_error *err)
{
	return decode_initiate(j, false, out, err);
}

/*
 * Encoding. Each encoder returns a new reference, or NULL when out of memory or
 * when the struct holds something decoding would have refused (an enum out of range).
 */

static const char *
status_name(enum jit_port_status s)
{
	return (s >= JIT_STATUS_INITIATED && s <= JIT_STATUS_INITIATING) ? status_names[s - 1] :
		NULL;
}

static const char *
reason_name(enum jit_status_reason r)
{
	return (r >= JIT_REASON_USER_REQUESTED && r <= JIT_REASON_NEWER_REQUEST) ?
		reason_names[r - 1] : NULL;
}

/* json_object_set_new that takes a NULL value as failure (and owns nothing then). */
static int
set(json_t *o, const char *key, json_t *v)
{
	return v == NULL ? -1 : json_object_set_new(o, key, v);
}

static json_t *
encode_prefix(const struct jit_prefix *p)
{
	char buf[JIT_PREFIX_BUFSZ];

	jit_prefix_format(p, buf);
	return json_string(buf);
}

static json_t *
encode_time(jit_time t)
{
	char buf[JIT_TIME_BUFSZ];

	jit_time_format(t, buf);
	return json_string(buf);
}

static json_t *
encode_vm_id(const struct jit_rid *id)
{
	char buf[JIT_RESOURCE_ID_MAX + 1];

	if (jit_rid_format(id, buf, sizeof(buf)) < 0)
		return NULL;
	return json_string(buf);
}

/* Adds the source prefix member(s) of a port; none when it has no prefix. */
static int
encode_sources(json_t *o, const struct jit_sources *s)
{
	json_t *a;

	if (s->n == 0)
		return 0;
	if (!s->list)
		return s->n == 1 ?
			set(o, "allowedSourceAddressPrefix", encode_prefix(&s->prefixes[0])) : -1;
	if ((a = json_array()) == NULL || set(o, "allowedSourceAddressPrefixes", a) != 0)
		return -1;
	for (size_t i = 0; i < s->n; i++)
		if (json_array_append_new(a, encode_prefix(&s->prefixes[i])) != 0)
			return -1;
	return 0;
}

static json_t *
encode_port_rule(const struct jit_port_rule *r)
{
	char dur[JIT_DURATION_BUFSZ];
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	jit_duration_format(r->max_duration_ns, dur);
	if (set(o, "number", json_integer(r->number)) != 0 ||
		set(o, "protocol", json_string(jit_proto_name(r->protocol))) != 0 ||
		encode_sources(o, &r->sources) != 0 ||
		set(o, "maxRequestAccessDuration", json_string(dur)) != 0 ||
		(r->close_established && set(o, "closeEstablishedOnExpiry", json_true()) != 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
encode_policy_vm(const struct jit_policy_vm *vm)
{
	json_t *o = json_object();
	json_t *a = json_array();

	if (o == NULL || a == NULL)
		goto fail;
	if (set(o, "id", encode_vm_id(&vm->id)) != 0)
		goto fail;
	for (size_t i = 0; i < vm->n_ports; i++)
		if (json_array_append_new(a, encode_port_rule(&vm->ports[i])) != 0)
			goto fail;
	if (json_object_set(o, "ports", a) != 0)
		goto fail;
	if (vm->public_ip != NULL && set(o, "publicIpAddress", json_string(vm->public_ip)) != 0)
		goto fail;
	json_decref(a);
	return o;
fail:
	json_decref(a);
	json_decref(o);
	return NULL;
}

static json_t *
encode_request_port(const struct jit_request_port *p)
{
	json_t *o = json_object();
	const char *status = status_name(p->status);
	const char *reason = reason_name(p->reason);

	if (o == NULL || status == NULL || reason == NULL)
		goto fail;
	if (set(o, "number", json_integer(p->number)) != 0 || encode_sources(o, &p->sources) != 0 ||
		set(o, "endTimeUtc", encode_time(p->end_time)) != 0 ||
		set(o, "status", json_string(status)) != 0 ||
		set(o, "statusReason", json_string(reason)) != 0)
		goto fail;
	if (p->has_mapped_port && set(o, "mappedPort", json_integer(p->mapped_port)) != 0)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *
encode_request_vm(const struct jit_request_vm *vm)
{
	json_t *o = json_object();
	json_t *a = json_array();

	if (o == NULL || a == NULL)
		goto fail;
	if (set(o, "id", encode_vm_id(&vm->id)) != 0)
		goto fail;
	for (size_t i = 0; i < vm->n_ports; i++)
		if (json_array_append_new(a, encode_request_port(&vm->ports[i])) != 0)
			goto fail;
	if (json_object_set(o, "ports", a) != 0)
		goto fail;
	json_decref(a);
	return o;
fail:
	json_decref(a);
	json_decref(o);
	return NULL;
}

json_t *
jit_request_to_json(const struct jit_request *r)
{
	json_t *o = json_object();
	json_t *a = json_array();

	if (o == NULL || a == NULL || r->requestor == NULL)
		goto fail;
	for (size_t i = 0; i < r->n_vms; i++)
		if (json_array_append_new(a, encode_request_vm(&r->vms[i])) != 0)
			goto fail;
	if (json_object_set(o, "virtualMachines", a) != 0 ||
		set(o, "startTimeUtc", encode_time(r->start_time)) != 0 ||
		set(o, "requestor", json_string(r->requestor)) != 0)
		goto fail;
	if (r->justification != NULL &&
		set(o, "justification", json_string(r->justification)) != 0)
		goto fail;
	json_decref(a);
	return o;
fail:
	json_decref(a);
	json_decref(o);
	return NULL;
}

static json_t *
encode_policy_properties(const struct jit_policy *p)
{
	json_t *o = json_object();
	json_t *vms = json_array();
	json_t *reqs = json_array();

	if (o == NULL || vms == NULL || reqs == NULL)
		goto fail;
	for (size_t i = 0; i < p->n_vms; i++)
		if (json_array_append_new(vms, encode_policy_vm(&p->vms[i])) != 0)
			goto fail;
	for (size_t i = 0; i < p->n_requests; i++)
		if (json_array_append_new(reqs, jit_request_to_json(&p->requests[i])) != 0)
			goto fail;
	if (json_object_set(o, "virtualMachines", vms) != 0 ||
		json_object_set(o, "requests", reqs) != 0)
		goto fail;
	if (p->provisioning_state != NULL &&
		set(o, "provisioningState", json_string(p->provisioning_state)) != 0)
		goto fail;
	json_decref(vms);
	json_decref(reqs);
	return o;
fail:
	json_decref(vms);
	json_decref(reqs);
	json_decref(o);
	return NULL;
}

json_t *
jit_policy_to_json(const struct jit_policy *p)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	/* Azure's resource envelope; a policy not yet stored has no id, name or type. */
	if (p->id.kind != JIT_RID_ROOT &&
		(set(o, "id", encode_vm_id(&p->id)) != 0 ||
			set(o, "name", json_string(p->id.name)) != 0 ||
			set(o, "type", json_string(POLICY_TYPE)) != 0))
		goto fail;
	if (p->kind != NULL && set(o, "kind", json_string(p->kind)) != 0)
		goto fail;
	if (p->location != NULL && set(o, "location", json_string(p->location)) != 0)
		goto fail;
	if (set(o, "properties", encode_policy_properties(p)) != 0)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *
encode_initiate_vm(const struct jit_initiate_vm *vm)
{
	json_t *o = json_object();
	json_t *a = json_array();

	if (o == NULL || a == NULL)
		goto fail;
	if (set(o, "id", encode_vm_id(&vm->id)) != 0)
		goto fail;
	for (size_t i = 0; i < vm->n_ports; i++) {
		const struct jit_initiate_port *p = &vm->ports[i];
		json_t *po = json_object();

		if (json_array_append_new(a, po) != 0)
			goto fail;
		if (set(po, "number", json_integer(p->number)) != 0)
			goto fail;
		if (p->has_source && set(po, "allowedSourceAddressPrefix",
			encode_prefix(&p->source)) != 0)
			goto fail;
		if (set(po, "endTimeUtc", encode_time(p->end_time)) != 0)
			goto fail;
	}
	if (json_object_set(o, "ports", a) != 0)
		goto fail;
	json_decref(a);
	return o;
fail:
	json_decref(a);
	json_decref(o);
	return NULL;
}

json_t *
jit_initiate_to_json(const struct jit_initiate *in)
{
	json_t *o = json_object();
	json_t *a = json_array();

	if (o == NULL || a == NULL)
		goto fail;
	for (size_t i = 0; i < in->n_vms; i++)
		if (json_array_append_new(a, encode_initiate_vm(&in->vms[i])) != 0)
			goto fail;
	if (json_object_set(o, "virtualMachines", a) != 0)
		goto fail;
	if (in->justification != NULL &&
		set(o, "justification", json_string(in->justification)) != 0)
		goto fail;
	json_decref(a);
	return o;
fail:
	json_decref(a);
	json_decref(o);
	return NULL;
}
