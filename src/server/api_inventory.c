/*
 * api_inventory.c: subscriptions, resource groups and virtual machines, our own
 * ARM-style inventory that JIT policies refer to.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "model_json.h"
#include "vm.h"

/* Runs a read-only body inside a transaction and replies with what it built. */
typedef json_t *(*read_fn)(struct jit_call *c, struct jit_error *err);

static void
reply_read(struct jit_call *c, read_fn fn)
{
	struct jit_error err;
	json_t *j;

	if (jit_store_begin(c->api->store, false, &c->tx, &err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	j = fn(c, &err);
	jit_store_rollback(c->tx);
	if (j == NULL)
		jit_call_fail(c, &err);
	else
		jit_call_reply(c, 200, j);
}

/* Runs a change: fn makes it (and fills resource id and status); the audit entry
 * lands in the same transaction. Refusals are audited on their own. */
typedef int (*write_fn)(struct jit_call *c, json_t *body, char id[JIT_RESOURCE_ID_MAX],
	int *status, json_t **out, struct jit_error *err);

static void
reply_write(struct jit_call *c, bool needs_body, write_fn fn)
{
	struct jit_store *st = c->api->store;
	char id[JIT_RESOURCE_ID_MAX] = "";
	json_t *body = NULL, *out = NULL;
	struct jit_error err;
	int status = 200;

	if (needs_body && jit_call_body(c, &body, &err) != 0)
		goto refuse;
	if (jit_store_begin(st, true, &c->tx, &err) != 0)
		goto fail;
	if (fn(c, body, id, &status, &out, &err) != 0 ||
		(status != 204 && jit_call_audit(c, c->action, id, status, NULL, &err) != 0)) {
		jit_store_rollback(c->tx);
		if (err.status >= 500)
			goto fail;
		goto refuse;
	}
	if (jit_store_commit(c->tx, &err) != 0)
		goto fail;
	json_decref(body);
	jit_call_reply(c, status, out);
	return;
refuse:
	jit_call_audit_failure(c, id[0] ? id : c->req->path, &err);
fail:
	json_decref(out);
	json_decref(body);
	jit_call_fail(c, &err);
}

/* An optional string field of a body, checked as a name-like short string. */
static int
body_string(const json_t *body, const char *key, char *dst, size_t n, struct jit_error *err)
{
	const json_t *v = body ? json_object_get(body, key) : NULL;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= n)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"%s: must be a non-empty string of at most %zu characters", key, n - 1);
	snprintf(dst, n, "%s", json_string_value(v));
	return 0;
}

/* ---- subscriptions ---- */

static json_t *
sub_json(const struct jit_subscription *s)
{
	char id[JIT_RESOURCE_ID_MAX];

	snprintf(id, sizeof(id), "/subscriptions/%s", s->name);
	return json_pack("{s:s,s:s,s:s,s:s}", "id", id, "subscriptionId", s->name,
		"displayName", s->display_name, "state", "Enabled");
}

static json_t *
sub_list(struct jit_call *c, struct jit_error *err)
{
	struct jit_subscription *subs;
	json_t *value;
	size_t n;

	if (jit_store_sub_list(c->tx, &subs, &n, err) != 0)
		return NULL;
	value = json_array();
	for (size_t i = 0; value != NULL && i < n; i++) {
		struct jit_rid id;

		/* A subscription is listed when the caller holds some role in or above it. */
		jit_rid_subscription(&id, subs[i].name);
		if (jit_call_sees(c, &id))
			json_array_append_new(value, sub_json(&subs[i]));
	}
	free(subs);
	if (value == NULL)
		jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	return value ? json_pack("{s:o}", "value", value) : NULL;
}

static json_t *
sub_get(struct jit_call *c, struct jit_error *err)
{
	struct jit_subscription s;
	struct jit_rid id;

	jit_rid_subscription(&id, c->sub);
	if (!jit_call_sees(c, &id)) {
		jit_call_authorize(c, c->action, &id, err);
		return NULL;
	}
	if (jit_store_sub_get(c->tx, c->sub, &s, err) != 0)
		return NULL;
	return sub_json(&s);
}

static int
sub_put(struct jit_call *c, json_t *body, char id[JIT_RESOURCE_ID_MAX], int *status,
	json_t **out, struct jit_error *err)
{
	struct jit_subscription s = {.created = c->now};
	bool created;

	snprintf(s.name, sizeof(s.name), "%s", c->sub);
	snprintf(s.display_name, sizeof(s.display_name), "%s", c->sub);
	snprintf(id, JIT_RESOURCE_ID_MAX, "/subscriptions/%s", c->sub);
	if (body_string(body, "displayName", s.display_name, sizeof(s.display_name), err) != 0 ||
		jit_store_sub_put(c->tx, &s, &created, err) != 0 ||
		jit_store_sub_get(c->tx, c->sub, &s, err) != 0)
		return -1;
	*status = created ? 201 : 200;
	*out = sub_json(&s);
	return 0;
}

void
jit_h_sub_list(struct jit_call *c)
{
	reply_read(c, sub_list);
}

void
jit_h_sub_get(struct jit_call *c)
{
	reply_read(c, sub_get);
}

void
jit_h_sub_put(struct jit_call *c)
{
	/* A body is optional: {"displayName": "..."}. */
	reply_write(c, c->req->body_len > 0, sub_put);
}

/* ---- resource groups ---- */

static json_t *
rg_json(const struct jit_resource_group *g)
{
	char id[JIT_RESOURCE_ID_MAX];

	jit_rid_format(&g->id, id, sizeof(id));
	return json_pack("{s:s,s:s,s:s,s:s,s:{s:s}}", "id", id, "name", g->id.rg, "type",
		"Microsoft.Resources/resourceGroups", "location", g->location, "properties",
		"provisioningState", "Succeeded");
}

static json_t *
rg_list(struct jit_call *c, struct jit_error *err)
{
	struct jit_resource_group *rgs;
	struct jit_subscription s;
	struct jit_rid sub;
	json_t *value;
	size_t n;

	jit_rid_subscription(&sub, c->sub);
	if (!jit_call_sees(c, &sub)) {
		jit_call_authorize(c, c->action, &sub, err);
		return NULL;
	}
	if (jit_store_sub_get(c->tx, c->sub, &s, err) != 0 ||
		jit_store_rg_list(c->tx, c->sub, &rgs, &n, err) != 0)
		return NULL;
	value = json_array();
	for (size_t i = 0; value != NULL && i < n; i++)
		if (jit_call_can(c, c->action, &rgs[i].id) || jit_call_sees(c, &rgs[i].id))
			json_array_append_new(value, rg_json(&rgs[i]));
	free(rgs);
	if (value == NULL)
		jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	return value ? json_pack("{s:o}", "value", value) : NULL;
}

static json_t *
rg_get(struct jit_call *c, struct jit_error *err)
{
	struct jit_resource_group g;
	struct jit_rid id;

	jit_rid_resource_group(&id, c->sub, c->rg);
	if (!jit_call_sees(c, &id)) {
		jit_call_authorize(c, c->action, &id, err);
		return NULL;
	}
	if (jit_store_rg_get(c->tx, &id, &g, err) != 0)
		return NULL;
	return rg_json(&g);
}

static int
rg_put(struct jit_call *c, json_t *body, char id[JIT_RESOURCE_ID_MAX], int *status,
	json_t **out, struct jit_error *err)
{
	struct jit_resource_group g = {.created = c->now};
	bool created;

	jit_rid_resource_group(&g.id, c->sub, c->rg);
	jit_rid_format(&g.id, id, JIT_RESOURCE_ID_MAX);
	snprintf(g.location, sizeof(g.location), "local");
	if (body_string(body, "location", g.location, sizeof(g.location), err) != 0)
		return -1;
	if (jit_rid_check_name(g.location, "location", err) != 0)
		return jit_error_prefix(err, "location");
	if (jit_store_rg_put(c->tx, &g, &created, err) != 0 ||
		jit_store_rg_get(c->tx, &g.id, &g, err) != 0)
		return -1;
	*status = created ? 201 : 200;
	*out = rg_json(&g);
	return 0;
}

static int
rg_delete(struct jit_call *c, json_t *body, char id[JIT_RESOURCE_ID_MAX], int *status,
	json_t **out, struct jit_error *err)
{
	struct jit_rid rid;
	bool existed;

	jit_rid_resource_group(&rid, c->sub, c->rg);
	jit_rid_format(&rid, id, JIT_RESOURCE_ID_MAX);
	if (jit_store_rg_delete(c->tx, &rid, &existed, err) != 0)
		return -1;
	*status = existed ? 200 : 204;
	return 0;
}

void
jit_h_rg_list(struct jit_call *c)
{
	reply_read(c, rg_list);
}

void
jit_h_rg_get(struct jit_call *c)
{
	reply_read(c, rg_get);
}

void
jit_h_rg_put(struct jit_call *c)
{
	reply_write(c, c->req->body_len > 0, rg_put);
}

void
jit_h_rg_delete(struct jit_call *c)
{
	reply_write(c, false, rg_delete);
}

/* ---- virtual machines ---- */

/* A VM with its JIT state and statistics (properties.jit), inside an open transaction. */
static json_t *
vm_json(struct jit_call *c, const struct jit_vm *vm, const char *state_filter,
	struct jit_error *err)
{
	struct jit_vm_jit info;
	json_t *j, *jit;

	if (jit_store_vm_jit(c->tx, vm, c->now, &info, err) != 0)
		return NULL;
	if (state_filter != NULL && strcasecmp(state_filter, info.state == JIT_VM_CONFIGURED ?
		"Configured" : info.state == JIT_VM_NOT_CONFIGURED ? "NotConfigured" :
		"Unsupported") != 0)
		return json_null();
	if ((j = jit_vm_to_json(vm)) == NULL || (jit = jit_vm_jit_json(vm, &info)) == NULL) {
		json_decref(j);
		jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
		return NULL;
	}
	json_object_set_new(json_object_get(j, "properties"), "jit", jit);
	return j;
}

static json_t *
vm_list(struct jit_call *c, struct jit_error *err)
{
	struct jit_subscription s;
	struct jit_rid scope;
	struct jit_vm *vms;
	const char *state;
	json_t *value;
	size_t n;

	if (c->rg[0] != '\0') {
		struct jit_resource_group g;

		jit_rid_resource_group(&scope, c->sub, c->rg);
		if (jit_store_rg_get(c->tx, &scope, &g, err) != 0)
			return NULL;
	} else {
		jit_rid_subscription(&scope, c->sub);
		if (jit_store_sub_get(c->tx, c->sub, &s, err) != 0)
			return NULL;
	}
	if (jit_store_vm_list(c->tx, &scope, &vms, &n, err) != 0)
		return NULL;
	state = jit_http_query(c->req, "state");
	if (state != NULL && strcasecmp(state, "Configured") != 0 &&
		strcasecmp(state, "NotConfigured") != 0 && strcasecmp(state, "Unsupported") != 0) {
		free(vms);
		jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"state: must be Configured, NotConfigured or Unsupported");
		return NULL;
	}
	value = json_array();
	for (size_t i = 0; value != NULL && i < n; i++) {
		json_t *j;

		if (!jit_call_can(c, c->action, &vms[i].id))
			continue;
		if ((j = vm_json(c, &vms[i], state, err)) == NULL) {
			json_decref(value);
			free(vms);
			return NULL;
		}
		if (json_is_null(j))
			json_decref(j);
		else
			json_array_append_new(value, j);
	}
	free(vms);
	if (value == NULL)
		jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	return value ? json_pack("{s:o}", "value", value) : NULL;
}

static json_t *
vm_get(struct jit_call *c, struct jit_error *err)
{
	struct jit_rid id;
	struct jit_vm vm;

	jit_rid_vm(&id, c->sub, c->rg, c->name);
	if (jit_store_vm_get(c->tx, &id, &vm, err) != 0)
		return NULL;
	return vm_json(c, &vm, NULL, err);
}

/* The action on an enforcement point that binding a VM to it needs (Azure's analogue:
 * networkSecurityGroups/join/action on the NSG a NIC joins). */
#define EP_JOIN_ACTION "Jitgate/enforcementPoints/join/action"

static bool
same_addresses(const struct jit_vm *a, const struct jit_vm *b)
{
	if (a->n_addresses != b->n_addresses)
		return false;
	for (size_t i = 0; i < a->n_addresses; i++) {
		bool found = false;

		for (size_t k = 0; k < b->n_addresses && !found; k++)
			found = jit_prefix_equal(&a->addresses[i], &b->addresses[k]);
		if (!found)
			return false;
	}
	return true;
}

/* What an enforcement point protects is keyed by the VMs' addresses: binding a VM to a
 * point, unbinding it, or changing the addresses of a VM a point protects changes what
 * that point enforces, so it needs the join action on each point concerned, not only the
 * write action on the VM (security finding 1). A point outside the VM's resource group
 * is left to the store, which refuses it (400) without saying whether it exists. */
static int
authorize_protection_change(struct jit_call *c, const struct jit_vm *old,
	const struct jit_vm *vm, struct jit_error *err)
{
	struct jit_rid old_ep, new_ep;
	bool has_old = old != NULL && old->enforcement_point[0] != '\0';
	bool has_new = vm->enforcement_point[0] != '\0';
	bool ep_changed, addr_changed;
	struct jit_error ignored;

	if (has_old && jit_rid_parse(old->enforcement_point, &old_ep, &ignored) != 0)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "stored enforcement point is corrupt");
	if (has_new && jit_rid_parse(vm->enforcement_point, &new_ep, err) != 0)
		return jit_error_prefix(err, "properties.enforcementPoint");
	ep_changed = has_old != has_new || (has_old && !jit_rid_equal(&old_ep, &new_ep));
	addr_changed = old == NULL || !same_addresses(old, vm);
	if (has_old && (ep_changed || addr_changed) &&
		jit_call_authorize(c, EP_JOIN_ACTION, &old_ep, err) != 0)
		return -1;
	if (has_new && (ep_changed || addr_changed) && new_ep.kind == JIT_RID_ENFORCEMENT_POINT &&
		strcasecmp(new_ep.sub, vm->id.sub) == 0 && strcasecmp(new_ep.rg, vm->id.rg) == 0 &&
		jit_call_authorize(c, EP_JOIN_ACTION, &new_ep, err) != 0)
		return -1;
	return 0;
}

static int
vm_put(struct jit_call *c, json_t *body, char id[JIT_RESOURCE_ID_MAX], int *status,
	json_t **out, struct jit_error *err)
{
	struct jit_vm vm, old, *had = NULL;
	struct jit_error ignored;
	bool created;

	jit_rid_vm(&c->audit_vm, c->sub, c->rg, c->name);
	c->audit_vms = &c->audit_vm;
	c->n_audit_vms = 1;
	if (jit_vm_from_json(body, &vm, err) != 0)
		return -1;
	jit_rid_vm(&vm.id, c->sub, c->rg, c->name);
	jit_rid_format(&vm.id, id, JIT_RESOURCE_ID_MAX);
	if (body_string(body, "location", vm.location, sizeof(vm.location), err) != 0)
		return -1;
	if (vm.location[0] != '\0' && jit_rid_check_name(vm.location, "location", err) != 0)
		return jit_error_prefix(err, "location");
	if (jit_store_vm_get(c->tx, &vm.id, &old, &ignored) == 0)
		had = &old;
	if (authorize_protection_change(c, had, &vm, err) != 0)
		return -1;
	if (jit_store_vm_put(c->tx, &vm, &created, err) != 0 ||
		jit_store_vm_get(c->tx, &vm.id, &vm, err) != 0 ||
		(*out = vm_json(c, &vm, NULL, err)) == NULL)
		return -1;
	*status = created ? 201 : 200;
	return 0;
}

static int
vm_delete(struct jit_call *c, json_t *body, char id[JIT_RESOURCE_ID_MAX], int *status,
	json_t **out, struct jit_error *err)
{
	struct jit_rid rid;
	bool existed;

	jit_rid_vm(&rid, c->sub, c->rg, c->name);
	jit_rid_format(&rid, id, JIT_RESOURCE_ID_MAX);
	c->audit_vm = rid;
	c->audit_vms = &c->audit_vm;
	c->n_audit_vms = 1;
	if (jit_store_vm_delete(c->tx, &rid, &existed, err) != 0)
		return -1;
	*status = existed ? 200 : 204;
	return 0;
}

void
jit_h_vm_list(struct jit_call *c)
{
	reply_read(c, vm_list);
}

static int
parse_count(const char *s, uint64_t *out)
{
	char *end;

	if (s == NULL || *s < '0' || *s > '9' || strlen(s) > 19)
		return -1;
	*out = strtoull(s, &end, 10);
	return *end != '\0' ? -1 : 0;
}

/* The version the VM's enforcement point has applied, from vm_json's answer. */
static uint64_t
applied_of(const json_t *vm)
{
	const json_t *v = json_object_get(json_object_get(json_object_get(vm, "properties"),
		"jit"), "enforcementPointAppliedVersion");

	return json_is_integer(v) && json_integer_value(v) > 0 ?
		(uint64_t)json_integer_value(v) : 0;
}

/*
 * GET a VM. A jitgate extension for `jitgate request --wait`: with
 * ?appliedVersion=N[&wait=S] the answer waits until the VM's enforcement point has
 * applied version N or later, or S seconds (default and cap: the agents' long poll)
 * have passed, and then shows the VM as it is; its enforcementPointAppliedVersion
 * says which. Every status report an agent commits wakes the wait.
 */
void
jit_h_vm_get(struct jit_call *c)
{
	const char *want_text = jit_http_query(c->req, "appliedVersion");
	const char *wait_text = jit_http_query(c->req, "wait");
	struct jit_store *st = c->api->store;
	uint64_t want = 0, wait_s = (uint64_t)c->api->long_poll_max_s;
	struct jit_error err;
	jit_time deadline;

	if (want_text == NULL) {
		reply_read(c, vm_get);
		return;
	}
	if (parse_count(want_text, &want) != 0 ||
		(wait_text != NULL && parse_count(wait_text, &wait_s) != 0)) {
		jit_errorf(&err, 400, JIT_E_BAD_REQUEST,
			"appliedVersion and wait must be non-negative integers");
		jit_call_fail(c, &err);
		return;
	}
	if (wait_s > (uint64_t)c->api->long_poll_max_s)
		wait_s = (uint64_t)c->api->long_poll_max_s;
	deadline = c->now + (jit_time)wait_s * JIT_NS_PER_SEC;
	for (;;) {
		/* The counter first: a report committed after it wakes the wait below. */
		uint64_t gen = jit_store_report_generation(st);
		jit_time now = jit_time_now();
		json_t *j;

		if (jit_store_begin(st, false, &c->tx, &err) != 0) {
			jit_call_fail(c, &err);
			return;
		}
		j = vm_get(c, &err);
		jit_store_rollback(c->tx);
		c->tx = NULL;
		if (j == NULL) {
			jit_call_fail(c, &err);
			return;
		}
		if (applied_of(j) >= want || now >= deadline || atomic_load(&c->api->stopping)) {
			jit_call_reply(c, 200, j);
			return;
		}
		json_decref(j);
		jit_store_wait_report(st, gen, (int)((deadline - now) / 1000000) + 1);
	}
}

void
jit_h_vm_put(struct jit_call *c)
{
	reply_write(c, true, vm_put);
}

void
jit_h_vm_delete(struct jit_call *c)
{
	reply_write(c, false, vm_delete);
}
