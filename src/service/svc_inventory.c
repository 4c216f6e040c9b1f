/*
 * svc_inventory.c: subscriptions, resource groups and VMs (see svc_inventory.h).
 */
#include "svc_inventory.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "svc_audit.h"

/* Ends a change: commits when r is 0; otherwise rolls back and, for a refusal the
 * caller caused (4xx), records it in a transaction of its own. */
static int
finish(struct jit_store *st, struct jit_tx *tx, const struct jit_actor *a, const char *op,
	const char *resource_id, const struct jit_rid *vm, int r, struct jit_error *err)
{
	if (r == 0 && jit_store_commit(tx, err) == 0)
		return 0;
	if (r != 0)
		jit_store_rollback(tx);
	if (err->status < 500)
		jit_svc_audit_refusal(st, a, op, resource_id, vm, vm ? 1 : 0, err);
	return -1;
}

/* A refusal decided before any transaction: audited, returned. */
static int
refuse(struct jit_store *st, const struct jit_actor *a, const char *op,
	const char *resource_id, const struct jit_rid *vm, struct jit_error *err)
{
	jit_svc_audit_refusal(st, a, op, resource_id, vm, vm ? 1 : 0, err);
	return -1;
}

int
jit_svc_sub_list(struct jit_store *st, const struct jit_actor *a,
	struct jit_subscription **out, size_t *n, struct jit_error *err)
{
	struct jit_subscription *subs;
	struct jit_tx *tx;
	size_t got, kept = 0;
	int r;

	*out = NULL;
	*n = 0;
	if (jit_store_begin(st, false, &tx, err) != 0)
		return -1;
	r = jit_store_sub_list(tx, &subs, &got, err);
	jit_store_rollback(tx);
	if (r != 0)
		return -1;
	for (size_t i = 0; i < got; i++) {
		struct jit_rid id;

		/* A subscription is listed when the actor holds some role in or above it. */
		jit_rid_subscription(&id, subs[i].name);
		if (jit_actor_sees(a, &id))
			subs[kept++] = subs[i];
	}
	*out = subs;
	*n = kept;
	return 0;
}

int
jit_svc_sub_get(struct jit_store *st, const struct jit_actor *a, const char *name,
	struct jit_subscription *out, struct jit_error *err)
{
	struct jit_rid id;
	struct jit_tx *tx;
	int r;

	jit_rid_subscription(&id, name);
	if (!jit_actor_sees(a, &id))
		return jit_actor_authorize(a, JIT_OP_SUB_READ, &id, err);
	if (jit_store_begin(st, false, &tx, err) != 0)
		return -1;
	r = jit_store_sub_get(tx, name, out, err);
	jit_store_rollback(tx);
	return r;
}

int
jit_svc_sub_put(struct jit_store *st, const struct jit_actor *a,
	const struct jit_subscription *in, struct jit_subscription *out, bool *created,
	struct jit_error *err)
{
	char id[JIT_RESOURCE_ID_MAX];
	struct jit_rid rid;
	struct jit_tx *tx;
	int r;

	*created = false;
	jit_rid_subscription(&rid, in->name);
	jit_rid_format(&rid, id, sizeof(id));
	if (jit_actor_authorize(a, JIT_OP_SUB_WRITE, &rid, err) != 0)
		return refuse(st, a, JIT_OP_SUB_WRITE, id, NULL, err);
	if (jit_store_begin(st, true, &tx, err) != 0)
		return -1;
	r = jit_store_sub_put(tx, in, created, err);
	if (r == 0)
		r = jit_store_sub_get(tx, in->name, out, err);
	if (r == 0)
		r = jit_svc_audit(tx, a, JIT_OP_SUB_WRITE, id, *created ? 201 : 200, NULL, NULL, 0,
			err);
	return finish(st, tx, a, JIT_OP_SUB_WRITE, id, NULL, r, err);
}

int
jit_svc_rg_list(struct jit_store *st, const struct jit_actor *a, const char *sub,
	struct jit_resource_group **out, size_t *n, struct jit_error *err)
{
	struct jit_resource_group *rgs = NULL;
	struct jit_subscription s;
	struct jit_rid sid;
	struct jit_tx *tx;
	size_t got = 0, kept = 0;
	int r;

	*out = NULL;
	*n = 0;
	jit_rid_subscription(&sid, sub);
	if (!jit_actor_sees(a, &sid))
		return jit_actor_authorize(a, JIT_OP_RG_READ, &sid, err);
	if (jit_store_begin(st, false, &tx, err) != 0)
		return -1;
	r = jit_store_sub_get(tx, sub, &s, err);
	if (r == 0)
		r = jit_store_rg_list(tx, sub, &rgs, &got, err);
	jit_store_rollback(tx);
	if (r != 0)
		return -1;
	for (size_t i = 0; i < got; i++)
		if (jit_actor_can(a, JIT_OP_RG_READ, &rgs[i].id) || jit_actor_sees(a, &rgs[i].id))
			rgs[kept++] = rgs[i];
	*out = rgs;
	*n = kept;
	return 0;
}

int
jit_svc_rg_get(struct jit_store *st, const struct jit_actor *a, const struct jit_rid *id,
	struct jit_resource_group *out, struct jit_error *err)
{
	struct jit_tx *tx;
	int r;

	if (!jit_actor_sees(a, id))
		return jit_actor_authorize(a, JIT_OP_RG_READ, id, err);
	if (jit_store_begin(st, false, &tx, err) != 0)
		return -1;
	r = jit_store_rg_get(tx, id, out, err);
	jit_store_rollback(tx);
	return r;
}

int
jit_svc_rg_put(struct jit_store *st, const struct jit_actor *a,
	const struct jit_resource_group *in, struct jit_resource_group *out, bool *created,
	struct jit_error *err)
{
	char id[JIT_RESOURCE_ID_MAX];
	struct jit_tx *tx;
	int r;

	*created = false;
	jit_rid_format(&in->id, id, sizeof(id));
	if (jit_actor_authorize(a, JIT_OP_RG_WRITE, &in->id, err) != 0)
		return refuse(st, a, JIT_OP_RG_WRITE, id, NULL, err);
	if (jit_store_begin(st, true, &tx, err) != 0)
		return -1;
	/* ARM refuses to move a group; its location is fixed at creation. */
	if ((r = jit_store_rg_get(tx, &in->id, out, err)) == 0 &&
		strcasecmp(out->location, in->location) != 0)
		r = jit_errorf(err, 409, "InvalidResourceGroupLocation",
			"Resource group '%s' already exists in location '%s'; its location "
			"cannot change to '%s'.", in->id.rg, out->location, in->location);
	else if (r != 0 && err->status == 404)
		r = 0;
	if (r == 0)
		r = jit_store_rg_put(tx, in, created, err);
	if (r == 0)
		r = jit_store_rg_get(tx, &in->id, out, err);
	if (r == 0)
		r = jit_svc_audit(tx, a, JIT_OP_RG_WRITE, id, *created ? 201 : 200, NULL, NULL, 0,
			err);
	return finish(st, tx, a, JIT_OP_RG_WRITE, id, NULL, r, err);
}

int
jit_svc_rg_delete(struct jit_store *st, const struct jit_actor *a, const struct jit_rid *id,
	bool *existed, struct jit_error *err)
{
	char text[JIT_RESOURCE_ID_MAX];
	struct jit_tx *tx;
	int r;

	*existed = false;
	jit_rid_format(id, text, sizeof(text));
	if (jit_actor_authorize(a, JIT_OP_RG_DELETE, id, err) != 0)
		return refuse(st, a, JIT_OP_RG_DELETE, text, NULL, err);
	if (jit_store_begin(st, true, &tx, err) != 0)
		return -1;
	r = jit_store_rg_delete(tx, id, existed, err);
	if (r == 0 && *existed)
		r = jit_svc_audit(tx, a, JIT_OP_RG_DELETE, text, 200, NULL, NULL, 0, err);
	return finish(st, tx, a, JIT_OP_RG_DELETE, text, NULL, r, err);
}

/* Scope must exist: a group, or a subscription. */
static int
scope_exists(struct jit_tx *tx, const struct jit_rid *scope, struct jit_error *err)
{
	struct jit_resource_group g;
	struct jit_subscription s;

	if (scope->kind == JIT_RID_RESOURCE_GROUP)
		return jit_store_rg_get(tx, scope, &g, err);
	return jit_store_sub_get(tx, scope->sub, &s, err);
}

/* The VM's facts and statistics in tx, with its state decided from the facts. */
static int
vm_jit(struct jit_tx *tx, const struct jit_vm *vm, jit_time now, struct jit_vm_jit *out,
	struct jit_error *err)
{
	char scope[JIT_RESOURCE_ID_MAX] = "";
	struct jit_vm_facts f;

	if (jit_store_vm_jit(tx, vm, now, out, err) != 0)
		return -1;
	if (out->jit_disabled)
		jit_rid_format(&out->disabled_by.scope, scope, sizeof(scope));
	f = (struct jit_vm_facts){
		.in_policy = out->in_policy,
		.has_ep = out->has_ep,
		.ep_can_enforce = out->ep_can_enforce,
		.jit_disabled = out->jit_disabled,
		.disabled_scope = scope,
		.disabled_reason = out->disabled_by.reason,
	};
	jit_vm_state_decide(&f, &out->state, out->reason);
	out->ep_healthy = out->has_ep && jit_ep_healthy(out->ep_last_seen, now);
	return 0;
}

int
jit_svc_vm_list(struct jit_store *st, const struct jit_actor *a, const struct jit_rid *scope,
	enum jit_vm_state state, struct jit_vm_view **out, size_t *n, struct jit_error *err)
{
	struct jit_vm_view *views = NULL;
	struct jit_vm *vms = NULL;
	struct jit_tx *tx;
	size_t got = 0, kept = 0;
	int r;

	*out = NULL;
	*n = 0;
	if (jit_store_begin(st, false, &tx, err) != 0)
		return -1;
	r = scope_exists(tx, scope, err);
	if (r == 0)
		r = jit_store_vm_list(tx, scope, &vms, &got, err);
	if (r == 0 && got > 0 && (views = calloc(got, sizeof(*views))) == NULL)
		r = jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	for (size_t i = 0; r == 0 && i < got; i++) {
		struct jit_vm_view *v = &views[kept];

		if (!jit_actor_can(a, JIT_OP_VM_READ, &vms[i].id))
			continue;
		r = vm_jit(tx, &vms[i], a->now, &v->jit, err);
		if (r != 0 || (state != 0 && v->jit.state != state))
			continue;
		v->vm = vms[i];
		kept++;
	}
	jit_store_rollback(tx);
	free(vms);
	if (r != 0) {
		free(views);
		return -1;
	}
	*out = views;
	*n = kept;
	return 0;
}

int
jit_svc_vm_get(struct jit_store *st, const struct jit_actor *a, const struct jit_rid *id,
	struct jit_vm_view *out, struct jit_error *err)
{
	struct jit_tx *tx;
	int r;

	if (jit_actor_authorize(a, JIT_OP_VM_READ, id, err) != 0)
		return -1;
	if (jit_store_begin(st, false, &tx, err) != 0)
		return -1;
	r = jit_store_vm_get(tx, id, &out->vm, err);
	if (r == 0)
		r = vm_jit(tx, &out->vm, a->now, &out->jit, err);
	jit_store_rollback(tx);
	return r;
}

int
jit_svc_vm_get_applied(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *id, uint64_t want, jit_time deadline, const atomic_int *stopping,
	struct jit_vm_view *out, struct jit_error *err)
{
	struct jit_actor at = *a;

	for (;;) {
		/* The counter first: a report committed after it wakes the wait below. */
		uint64_t gen = jit_store_report_generation(st);

		at.now = jit_time_now();
		if (jit_svc_vm_get(st, &at, id, out, err) != 0)
			return -1;
		if ((out->jit.has_ep ? out->jit.ep_applied : 0) >= want || at.now >= deadline ||
			atomic_load(stopping))
			return 0;
		jit_store_wait_report(st, gen, (int)((deadline - at.now) / 1000000) + 1);
	}
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
 * is refused by ep_in_group, without saying whether it exists. */
static int
authorize_protection_change(const struct jit_actor *a, const struct jit_vm *old,
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
		jit_actor_authorize(a, EP_JOIN_ACTION, &old_ep, err) != 0)
		return -1;
	if (has_new && (ep_changed || addr_changed) && new_ep.kind == JIT_RID_ENFORCEMENT_POINT &&
		strcasecmp(new_ep.sub, vm->id.sub) == 0 && strcasecmp(new_ep.rg, vm->id.rg) == 0 &&
		jit_actor_authorize(a, EP_JOIN_ACTION, &new_ep, err) != 0)
		return -1;
	return 0;
}

/* Only a point of the VM's own resource group may protect it: a host point keys its rules
 * by port alone, so a foreign VM bound to it would open (or lock) that host's ports.
 * Inside the group, a missing point and a foreign one read alike (400). */
static int
ep_in_group(struct jit_tx *tx, const struct jit_vm *vm, struct jit_error *err)
{
	struct jit_enforcement_point ep;
	struct jit_resource_group rg;
	struct jit_rid epid, rgid;
	int r;

	if (vm->enforcement_point[0] == '\0')
		return 0;
	/* The VM's group first: without it, the VM is refused as the store refuses it (404). */
	jit_rid_resource_group(&rgid, vm->id.sub, vm->id.rg);
	if (jit_store_rg_get(tx, &rgid, &rg, err) != 0)
		return -1;
	if (jit_rid_parse(vm->enforcement_point, &epid, err) != 0)
		return jit_error_prefix(err, "properties.enforcementPoint");
	if (strcasecmp(epid.sub, vm->id.sub) == 0 && strcasecmp(epid.rg, vm->id.rg) == 0) {
		if ((r = jit_store_ep_get(tx, &epid, &ep, err)) == 0) {
			jit_enforcement_point_clear(&ep);
			return 0;
		}
		if (err->status != 404)
			return -1;
	}
	return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
		"properties.enforcementPoint: no enforcement point '%s' in the VM's resource "
		"group '%s'", epid.name, vm->id.rg);
}

int
jit_svc_vm_put(struct jit_store *st, const struct jit_actor *a, const struct jit_vm *in,
	struct jit_vm_view *out, bool *created, struct jit_error *err)
{
	char id[JIT_RESOURCE_ID_MAX];
	struct jit_tx *tx;
	int r;

	*created = false;
	jit_rid_format(&in->id, id, sizeof(id));
	if (jit_actor_authorize(a, JIT_OP_VM_WRITE, &in->id, err) != 0)
		return refuse(st, a, JIT_OP_VM_WRITE, id, &in->id, err);
	if (jit_store_begin(st, true, &tx, err) != 0)
		return -1;
	/* out->vm holds the VM as it was (if it was) until the put. */
	if ((r = jit_store_vm_get(tx, &in->id, &out->vm, err)) == 0)
		r = authorize_protection_change(a, &out->vm, in, err);
	else if (err->status == 404)
		r = authorize_protection_change(a, NULL, in, err);
	if (r == 0)
		r = ep_in_group(tx, in, err);
	if (r == 0)
		r = jit_store_vm_put(tx, in, created, err);
	if (r == 0)
		r = jit_store_vm_get(tx, &in->id, &out->vm, err);
	if (r == 0)
		r = vm_jit(tx, &out->vm, a->now, &out->jit, err);
	if (r == 0)
		r = jit_svc_audit(tx, a, JIT_OP_VM_WRITE, id, *created ? 201 : 200, NULL, &in->id, 1,
			err);
	return finish(st, tx, a, JIT_OP_VM_WRITE, id, &in->id, r, err);
}

int
jit_svc_vm_delete(struct jit_store *st, const struct jit_actor *a, const struct jit_rid *id,
	bool *existed, struct jit_error *err)
{
	char text[JIT_RESOURCE_ID_MAX];
	struct jit_tx *tx;
	int r;

	*existed = false;
	jit_rid_format(id, text, sizeof(text));
	if (jit_actor_authorize(a, JIT_OP_VM_DELETE, id, err) != 0)
		return refuse(st, a, JIT_OP_VM_DELETE, text, id, err);
	if (jit_store_begin(st, true, &tx, err) != 0)
		return -1;
	r = jit_store_vm_delete(tx, id, existed, err);
	if (r == 0 && *existed)
		r = jit_svc_audit(tx, a, JIT_OP_VM_DELETE, text, 200, NULL, id, 1, err);
	return finish(st, tx, a, JIT_OP_VM_DELETE, text, id, r, err);
}

int
jit_svc_settings_get(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *scope, struct jit_settings *out, struct jit_error *err)
{
	struct jit_tx *tx;
	int r;

	if (jit_actor_authorize(a, JIT_OP_SETTINGS_READ, scope, err) != 0)
		return -1;
	if (jit_store_begin(st, false, &tx, err) != 0)
		return -1;
	r = jit_store_settings_get(tx, scope, out, err);
	jit_store_rollback(tx);
	return r;
}

int
jit_svc_settings_put(struct jit_store *st, const struct jit_actor *a,
	const struct jit_settings *in, struct jit_error *err)
{
	char id[JIT_RESOURCE_ID_MAX];
	struct jit_tx *tx;
	int r;

	jit_rid_format(&in->scope, id, sizeof(id));
	if (jit_actor_authorize(a, JIT_OP_SETTINGS_WRITE, &in->scope, err) != 0)
		return refuse(st, a, JIT_OP_SETTINGS_WRITE, id, NULL, err);
	if (jit_store_begin(st, true, &tx, err) != 0)
		return -1;
	r = jit_store_settings_put(tx, in, err);
	if (r == 0)
		r = jit_svc_audit(tx, a, JIT_OP_SETTINGS_WRITE, id, 200, in->enabled ?
			"{\"enabled\":true}" : "{\"enabled\":false}", NULL, 0, err);
	return finish(st, tx, a, JIT_OP_SETTINGS_WRITE, id, NULL, r, err);
}
