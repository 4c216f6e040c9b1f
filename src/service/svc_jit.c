/*
 * svc_jit.c: JIT policies and access requests (see svc_jit.h). The decisions
 * that are pure live in src/lib (grant.c: what an initiate yields); what is
 * here is who may do what, in which transaction, with which audit entry.
 */
#include "svc_jit.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "grant.h"
#include "model_json.h"
#include "svc_audit.h"

static void
free_sources(struct jit_sources *src)
{
	free(src->prefixes);
	src->prefixes = NULL;
	src->n = 0;
}

static void
free_policy_vm(struct jit_policy_vm *vm)
{
	for (size_t i = 0; i < vm->n_ports; i++)
		free_sources(&vm->ports[i].sources);
	free(vm->ports);
	free(vm->public_ip);
}

static void
free_request_vm(struct jit_request_vm *vm)
{
	for (size_t i = 0; i < vm->n_ports; i++)
		free_sources(&vm->ports[i].sources);
	free(vm->ports);
}

/* Trims p to what the actor may read: all of it with the action on the policy, else
 * only the VMs (and their requests) it holds the action on. Listing never leaks: a
 * requester scoped to one VM sees that VM alone. False if nothing is left. */
static bool
policy_filter(const struct jit_actor *a, struct jit_policy *p)
{
	size_t k = 0;

	if (jit_actor_can(a, JIT_OP_POLICY_READ, &p->id))
		return true;
	for (size_t i = 0; i < p->n_vms; i++) {
		if (jit_actor_can(a, JIT_OP_POLICY_READ, &p->vms[i].id))
			p->vms[k++] = p->vms[i];
		else
			free_policy_vm(&p->vms[i]);
	}
	p->n_vms = k;
	k = 0;
	for (size_t i = 0; i < p->n_requests; i++) {
		struct jit_request *r = &p->requests[i];
		size_t kv = 0;

		for (size_t j = 0; j < r->n_vms; j++) {
			if (jit_actor_can(a, JIT_OP_POLICY_READ, &r->vms[j].id))
				r->vms[kv++] = r->vms[j];
			else
				free_request_vm(&r->vms[j]);
		}
		r->n_vms = kv;
		if (kv > 0)
			p->requests[k++] = *r;
		else
			jit_request_clear(r);
	}
	p->n_requests = k;
	return p->n_vms > 0;
}

/* Reads the policy and trims it to what the actor may read, in tx. *visible false (and
 * a 403) when the actor may read none of it. A writer (just wrote it) gets it whole,
 * other people's requests only with the read action. */
static int
load_visible(struct jit_tx *tx, const struct jit_actor *a, const struct jit_rid *id,
	bool writer, struct jit_policy **out, bool *visible, struct jit_error *err)
{
	struct jit_policy *p;

	*out = NULL;
	*visible = true;
	if (jit_store_policy_get(tx, id, a->now, &p, err) != 0) {
		/* Who may not read there learns nothing, not even that it does not exist. */
		if (err->status == 404 && !jit_actor_can_within(a, JIT_OP_POLICY_READ, id)) {
			*visible = false;
			jit_actor_authorize(a, JIT_OP_POLICY_READ, id, err);
		}
		return -1;
	}
	if (writer && !jit_actor_can(a, JIT_OP_POLICY_READ, id)) {
		for (size_t i = 0; i < p->n_requests; i++)
			jit_request_clear(&p->requests[i]);
		p->n_requests = 0;
	} else if (!writer && !policy_filter(a, p)) {
		*visible = false;
		jit_policy_free(p);
		return jit_actor_authorize(a, JIT_OP_POLICY_READ, id, err);
	}
	*out = p;
	return 0;
}

void
jit_svc_policies_free(struct jit_policy **ps, size_t n)
{
	for (size_t i = 0; ps != NULL && i < n; i++)
		jit_policy_free(ps[i]);
	free(ps);
}

int
jit_svc_policy_list(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *scope, const char *location, struct jit_policy ***out, size_t *n,
	struct jit_error *err)
{
	struct jit_policy **ps = NULL;
	struct jit_subscription sub;
	struct jit_resource_group rg;
	struct jit_rid *ids = NULL;
	struct jit_tx *tx;
	size_t n_ids = 0, kept = 0;
	int r;

	*out = NULL;
	*n = 0;
	if (jit_store_begin(st, false, &tx, err) != 0)
		return -1;
	r = jit_store_sub_get(tx, scope->sub, &sub, err);
	if (r == 0 && scope->kind == JIT_RID_RESOURCE_GROUP)
		r = jit_store_rg_get(tx, scope, &rg, err);
	if (r == 0)
		r = jit_store_policy_list(tx, scope, location, &ids, &n_ids, err);
	if (r == 0 && n_ids > 0 && (ps = calloc(n_ids, sizeof(*ps))) == NULL)
		r = jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	for (size_t i = 0; r == 0 && i < n_ids; i++) {
		bool visible;

		r = load_visible(tx, a, &ids[i], false, &ps[kept], &visible, err);
		if (r != 0 && !visible)
			r = 0;
		else if (r == 0)
			kept++;
	}
	jit_store_rollback(tx);
	free(ids);
	if (r != 0) {
		jit_svc_policies_free(ps, kept);
		return -1;
	}
	*out = ps;
	*n = kept;
	return 0;
}

int
jit_svc_policy_get(struct jit_store *st, const struct jit_actor *a, const struct jit_rid *id,
	struct jit_policy **out, struct jit_error *err)
{
	struct jit_tx *tx;
	bool visible;
	int r;

	if (jit_store_begin(st, false, &tx, err) != 0)
		return -1;
	r = load_visible(tx, a, id, false, out, &visible, err);
	jit_store_rollback(tx);
	return r;
}

/* 403 RequestDisallowedByPolicy when a security policy disabled JIT where res is. */
static int
check_jit_enabled(struct jit_tx *tx, const struct jit_rid *res, struct jit_error *err)
{
	struct jit_settings by;
	char scope[JIT_RESOURCE_ID_MAX];
	bool disabled;

	if (jit_store_jit_disabled(tx, res, &disabled, &by, err) != 0)
		return -1;
	if (!disabled)
		return 0;
	jit_rid_format(&by.scope, scope, sizeof(scope));
	return jit_errorf(err, 403, "RequestDisallowedByPolicy",
		"JIT is disabled by a security policy on '%s'%s%.200s", scope,
		by.reason[0] ? ": " : ".", by.reason);
}

/* The VM IDs of one or two policies (old and new), for the audit entry's VM index. */
static struct jit_rid *
policy_vm_ids(const struct jit_policy *a, const struct jit_policy *b, size_t *n)
{
	size_t cap = (a ? a->n_vms : 0) + (b ? b->n_vms : 0);
	struct jit_rid *ids = calloc(cap ? cap : 1, sizeof(*ids));
	const struct jit_policy *both[2] = {a, b};

	*n = 0;
	if (ids == NULL)
		return NULL;
	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; both[k] != NULL && i < both[k]->n_vms; i++) {
			bool dup = false;

			for (size_t j = 0; j < *n && !dup; j++)
				dup = jit_rid_equal(&ids[j], &both[k]->vms[i].id);
			if (!dup)
				ids[(*n)++] = both[k]->vms[i].id;
		}
	}
	return ids;
}

/* A PUT replaces the policy's VMs. A writer who reads the policy trimmed to some of its
 * VMs (a custom role) and writes it back must not remove the VMs it never saw. */
static int
removes_unseen_vm(const struct jit_actor *a, const struct jit_policy *old,
	const struct jit_policy *p, struct jit_error *err)
{
	if (old == NULL || jit_actor_can(a, JIT_OP_POLICY_READ, &old->id))
		return 0;
	for (size_t i = 0; i < old->n_vms; i++) {
		bool kept = false;

		for (size_t j = 0; j < p->n_vms && !kept; j++)
			kept = jit_rid_equal(&old->vms[i].id, &p->vms[j].id);
		if (!kept && !jit_actor_can(a, JIT_OP_POLICY_READ, &old->vms[i].id))
			return jit_errorf(err, 403, JIT_E_FORBIDDEN,
				"The client '%s' cannot remove the virtual machine '%s' from the policy: "
				"it may not read it (action '%s').", a->principal ? a->principal->name : "",
				old->vms[i].id.name, JIT_OP_POLICY_READ);
	}
	return 0;
}

/* Adding a VM to a policy locks its ports and lets requesters open them: who writes the
 * policy must also hold the write action on each VM it adds (a role on the group or the
 * VM; a role on the policy alone edits the VMs already in it). */
static int
adds_unauthorized_vm(const struct jit_actor *a, const struct jit_policy *old,
	const struct jit_policy *p, struct jit_error *err)
{
	for (size_t i = 0; i < p->n_vms; i++) {
		bool present = false;

		for (size_t j = 0; old != NULL && j < old->n_vms && !present; j++)
			present = jit_rid_equal(&old->vms[j].id, &p->vms[i].id);
		if (!present && jit_actor_authorize(a, JIT_OP_POLICY_WRITE, &p->vms[i].id, err) != 0)
			return -1;
	}
	return 0;
}

/* Live access that a policy change ended (a VM or port left the policy, or a source is
 * no longer allowed; keep NULL: the policy is deleted) is audited as a revocation,
 * against the VMs it concerned. */
static int
end_grants(struct jit_tx *tx, const struct jit_actor *a, const struct jit_rid *policy,
	const char *policy_id, const struct jit_policy *keep, struct jit_error *err)
{
	struct jit_expired *x = NULL;
	struct jit_rid *vms = NULL;
	json_t *d = NULL, *ports;
	char *details = NULL;
	char vm_id[JIT_RESOURCE_ID_MAX];
	size_t n = 0, n_vms = 0;
	int r = -1;

	if (jit_store_policy_end_grants(tx, policy, keep, a->now, &x, &n, err) != 0)
		return -1;
	if (n == 0)
		return 0;
	if ((vms = calloc(n, sizeof(*vms))) == NULL || (ports = json_array()) == NULL ||
		(d = json_pack("{s:s,s:I,s:o}", "reason", keep ? "RemovedFromPolicy" :
		"PolicyDeleted", "revokedPorts", (json_int_t)n, "ports", ports)) == NULL) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		bool dup = false;

		for (size_t k = 0; k < n_vms && !dup; k++)
			dup = jit_rid_equal(&vms[k], &x[i].vm);
		if (!dup)
			vms[n_vms++] = x[i].vm;
		jit_rid_format(&x[i].vm, vm_id, sizeof(vm_id));
		json_array_append_new(ports, json_pack("{s:s,s:i,s:o,s:s}", "vm", vm_id, "number",
			(int)x[i].number, "sources", json_loads(x[i].sources, 0, NULL),
			"requestor", x[i].requestor));
	}
	if ((details = json_dumps(d, JSON_COMPACT)) == NULL) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
		goto out;
	}
	r = jit_svc_audit(tx, a, JIT_OP_REVOKE, policy_id, 200, details, vms, n_vms, err);
out:
	json_decref(d);
	free(details);
	free(vms);
	free(x);
	return r;
}

/* Every VM of p must sit in the policy's resource group and exist in the inventory (a
 * VM in another policy is the store's conflict, 409). */
static int
check_policy_vms(struct jit_tx *tx, const struct jit_policy *p, struct jit_error *err)
{
	for (size_t i = 0; i < p->n_vms; i++) {
		const struct jit_rid *vm = &p->vms[i].id;
		struct jit_rid other;
		bool found;

		if (strcasecmp(vm->sub, p->id.sub) != 0 || strcasecmp(vm->rg, p->id.rg) != 0)
			return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
				"properties.virtualMachines[%zu].id: the virtual machine must be in the "
				"policy's resource group '%s'", i, p->id.rg);
		/* The VM's policy, if any, also says whether it exists: a missing VM names none. */
		if (jit_store_vm_policy(tx, vm, &other, &found, err) != 0)
			return -1;
		if (!found) {
			struct jit_vm *v = malloc(sizeof(*v));
			int r;

			if (v == NULL)
				return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
			r = jit_store_vm_get(tx, vm, v, err);
			free(v);
			if (r != 0 && err->status == 404)
				return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
					"properties.virtualMachines[%zu].id: the virtual machine '%s' does "
					"not exist; add it to the inventory first", i, vm->name);
			if (r != 0)
				return -1;
		}
	}
	return 0;
}

/* Rolls back tx (when open) and audits a refusal the actor caused against vms. */
static int
refused(struct jit_store *st, struct jit_tx *tx, const struct jit_actor *a, const char *op,
	const char *id, const struct jit_rid *vms, size_t n_vms, struct jit_error *err)
{
	jit_store_rollback(tx);
	if (err->status < 500)
		jit_svc_audit_refusal(st, a, op, id, vms, n_vms, err);
	return -1;
}

int
jit_svc_policy_put(struct jit_store *st, const struct jit_actor *a,
	const struct jit_policy *p, struct jit_policy **out, bool *created,
	struct jit_error *err)
{
	char id[JIT_RESOURCE_ID_MAX], details[96];
	struct jit_policy *old = NULL;
	struct jit_rid *vms = NULL;
	struct jit_tx *tx = NULL;
	size_t n_vms = 0;
	bool visible;
	int r = -1;

	*created = false;
	*out = NULL;
	jit_rid_format(&p->id, id, sizeof(id));
	if (jit_actor_authorize(a, JIT_OP_POLICY_WRITE, &p->id, err) != 0)
		return refused(st, NULL, a, JIT_OP_POLICY_WRITE, id, NULL, 0, err);
	if (p->n_vms == 0) {
		jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"properties.virtualMachines: at least one virtual machine is required; "
			"delete the policy to disable JIT");
		return refused(st, NULL, a, JIT_OP_POLICY_WRITE, id, NULL, 0, err);
	}
	if (jit_store_begin(st, true, &tx, err) != 0)
		return -1;
	if (check_jit_enabled(tx, &p->id, err) != 0)
		goto refuse;
	/* The old policy decides what the writer may remove: a failure to read it (other
	 * than its absence) is the call's failure, never a pass. */
	if (jit_store_policy_get(tx, &p->id, a->now, &old, err) != 0) {
		if (err->status != 404)
			goto refuse;
		old = NULL;
	}
	if (removes_unseen_vm(a, old, p, err) != 0 || adds_unauthorized_vm(a, old, p, err) != 0 ||
		check_policy_vms(tx, p, err) != 0)
		goto refuse;
	if ((vms = policy_vm_ids(old, p, &n_vms)) == NULL) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
		goto refuse;
	}
	snprintf(details, sizeof(details), "{\"virtualMachines\":%zu,\"created\":%s}", p->n_vms,
		old ? "false" : "true");
	if ((old != NULL && end_grants(tx, a, &p->id, id, p, err) != 0) ||
		jit_store_policy_put(tx, p, a->now, created, err) != 0 ||
		jit_svc_audit(tx, a, JIT_OP_POLICY_WRITE, id, 200, details, vms, n_vms, err) != 0 ||
		load_visible(tx, a, &p->id, true, out, &visible, err) != 0)
		goto refuse;
	if (jit_store_commit(tx, err) != 0) {
		jit_policy_free(*out);
		*out = NULL;
		goto done;
	}
	r = 0;
	goto done;
refuse:
	refused(st, tx, a, JIT_OP_POLICY_WRITE, id, vms ? vms : NULL, vms ? n_vms : 0, err);
done:
	free(vms);
	jit_policy_free(old);
	return r;
}

int
jit_svc_policy_delete(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *id, bool *existed, struct jit_error *err)
{
	char text[JIT_RESOURCE_ID_MAX];
	struct jit_policy *old = NULL;
	struct jit_rid *vms = NULL;
	struct jit_tx *tx;
	size_t n_vms = 0;
	int r = -1;

	*existed = false;
	jit_rid_format(id, text, sizeof(text));
	if (jit_actor_authorize(a, JIT_OP_POLICY_DELETE, id, err) != 0)
		return refused(st, NULL, a, JIT_OP_POLICY_DELETE, text, NULL, 0, err);
	if (jit_store_begin(st, true, &tx, err) != 0)
		return -1;
	/* The entry names the VMs the policy had (its per-VM history). */
	if (jit_store_policy_get(tx, id, a->now, &old, err) != 0 && err->status != 404)
		goto fail;
	if ((vms = policy_vm_ids(old, NULL, &n_vms)) == NULL) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
		goto fail;
	}
	if ((old != NULL && end_grants(tx, a, id, text, NULL, err) != 0) ||
		jit_store_policy_delete(tx, id, existed, err) != 0 ||
		(*existed && jit_svc_audit(tx, a, JIT_OP_POLICY_DELETE, text, 200, NULL, vms, n_vms,
		err) != 0))
		goto fail;
	r = jit_store_commit(tx, err);
	goto out;
fail:
	jit_store_rollback(tx);
out:
	free(vms);
	jit_policy_free(old);
	return r;
}

/* A gateway keys grants by address: no grant for a VM that shares an address with another
 * VM behind its enforcement point (a database from before such addresses were refused;
 * security finding 1). The message does not name the other VM. */
static int
own_addresses(struct jit_tx *tx, const struct jit_request *r, struct jit_error *err)
{
	for (size_t i = 0; i < r->n_vms; i++) {
		if (jit_store_vm_addresses_unique(tx, &r->vms[i].id, err) == 0)
			continue;
		if (err->status != 409)
			return -1;
		return jit_errorf(err, 409, JIT_E_CONFLICT,
			"virtualMachines[%zu].id: the virtual machine '%s' shares an address with "
			"another VM behind its enforcement point, so a grant could open that VM too; "
			"an administrator must give each VM its own address first", i,
			r->vms[i].id.name);
	}
	return 0;
}

/* A refused initiate or revoke is recorded against at most this many of the VMs it
 * names: anyone may send one, and each VM named is an index row. */
#define REFUSED_AUDIT_VMS_MAX 16

/* The VM IDs an initiate or revoke body names (for its audit entry, refused or not): only
 * VMs of the policy's resource group (no other can be in the policy), each once. */
static struct jit_rid *
initiate_vm_ids(const struct jit_rid *policy, const struct jit_initiate *in, size_t *n)
{
	struct jit_rid *ids = calloc(in->n_vms ? in->n_vms : 1, sizeof(*ids));

	*n = 0;
	for (size_t i = 0; ids != NULL && i < in->n_vms; i++) {
		const struct jit_rid *vm = &in->vms[i].id;
		bool dup = false;

		if (vm->kind != JIT_RID_VM || strcasecmp(vm->sub, policy->sub) != 0 ||
			strcasecmp(vm->rg, policy->rg) != 0)
			continue;
		for (size_t k = 0; k < *n && !dup; k++)
			dup = jit_rid_equal(&ids[k], vm);
		if (!dup)
			ids[(*n)++] = *vm;
	}
	return ids;
}

/* Authorizes an initiate or revoke before anything is looked up, so that an actor without
 * the action learns nothing (not even whether the policy exists): the action on the
 * policy, or on every VM the body names. */
static int
preauthorize_vms(const struct jit_actor *a, const char *action, const struct jit_rid *policy,
	const struct jit_initiate *in, struct jit_error *err)
{
	if (jit_actor_can(a, action, policy))
		return 0;
	if (in->n_vms == 0)
		return jit_actor_authorize(a, action, policy, err);
	for (size_t i = 0; i < in->n_vms; i++)
		if (jit_actor_authorize(a, action, &in->vms[i].id, err) != 0)
			return -1;
	return 0;
}

static char *
request_details(const struct jit_request *r)
{
	json_t *j = jit_request_to_json(r);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return s;
}

/* An initiate, or (extend) an extension of active access: authorized by the initiate
 * action either way (extending is requesting access), audited as what it is. */
static int
request_access(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *policy, const struct jit_initiate *in,
	const struct jit_prefix *caller, bool extend, struct jit_request *out,
	struct jit_error *err)
{
	const char *op = extend ? JIT_OP_EXTEND : JIT_OP_INITIATE;
	char id[JIT_RESOURCE_ID_MAX];
	const struct jit_principal *who = a->principal;
	struct jit_policy *p = NULL;
	struct jit_rid *vms;
	struct jit_tx *tx = NULL;
	char *details = NULL;
	size_t n_vms;
	int r = -1;

	memset(out, 0, sizeof(*out));
	jit_rid_format(policy, id, sizeof(id));
	/* From here on, refusals too are audited against the VMs they name. */
	if ((vms = initiate_vm_ids(policy, in, &n_vms)) == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	if (who == NULL) {
		jit_errorf(err, 401, JIT_E_UNAUTHENTICATED, "Authentication is required.");
		goto refuse;
	}
	if (preauthorize_vms(a, JIT_OP_INITIATE, policy, in, err) != 0)
		goto refuse;
	if (jit_store_begin(st, true, &tx, err) != 0)
		goto done;
	if (check_jit_enabled(tx, policy, err) != 0 ||
		jit_store_policy_get(tx, policy, a->now, &p, err) != 0 ||
		jit_grant_request(p, in, a->now, caller, who->display_name[0] ? who->display_name :
		who->name, out, err) != 0 || own_addresses(tx, out, err) != 0 ||
		(extend && jit_grant_extends(p, out, a->now, err) != 0))
		goto refuse;
	if ((details = request_details(out)) == NULL) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
		goto refuse;
	}
	if (jit_store_request_add(tx, policy, out, who->id, err) != 0 ||
		jit_svc_audit(tx, a, op, id, 202, details, vms, n_vms, err) != 0)
		goto refuse;
	r = jit_store_commit(tx, err);
	goto done;
refuse:
	refused(st, tx, a, op, id, vms,
		n_vms < REFUSED_AUDIT_VMS_MAX ? n_vms : REFUSED_AUDIT_VMS_MAX, err);
done:
	if (r != 0)
		jit_request_clear(out);
	free(details);
	free(vms);
	jit_policy_free(p);
	return r;
}

int
jit_svc_initiate(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *policy, const struct jit_initiate *in,
	const struct jit_prefix *caller, struct jit_request *out, struct jit_error *err)
{
	return request_access(st, a, policy, in, caller, false, out, err);
}

int
jit_svc_extend(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *policy, const struct jit_initiate *in,
	const struct jit_prefix *caller, struct jit_request *out, struct jit_error *err)
{
	return request_access(st, a, policy, in, caller, true, out, err);
}

int
jit_svc_revoke(struct jit_store *st, const struct jit_actor *a, const struct jit_rid *policy,
	const struct jit_initiate *in, size_t *revoked, struct jit_error *err)
{
	char id[JIT_RESOURCE_ID_MAX], end[JIT_TIME_BUFSZ], details[96];
	struct jit_policy *p = NULL;
	struct jit_rid *vms;
	struct jit_tx *tx = NULL;
	size_t n_vms;
	int r = -1;

	*revoked = 0;
	jit_rid_format(policy, id, sizeof(id));
	if ((vms = initiate_vm_ids(policy, in, &n_vms)) == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	if (preauthorize_vms(a, JIT_OP_REVOKE, policy, in, err) != 0)
		goto refuse;
	if (jit_store_begin(st, true, &tx, err) != 0)
		goto done;
	if (jit_store_policy_get(tx, policy, a->now, &p, err) != 0)
		goto refuse;
	for (size_t i = 0; i < in->n_vms; i++) {
		const struct jit_initiate_vm *iv = &in->vms[i];

		if (jit_policy_find_vm(p, &iv->id) == NULL) {
			jit_errorf(err, 400, JIT_E_BAD_REQUEST, "virtualMachines[%zu].id: the virtual "
				"machine '%s' is not in this JIT policy", i, iv->id.name);
			goto refuse;
		}
		for (size_t j = 0; j < iv->n_ports; j++) {
			size_t n;

			if (jit_store_request_revoke(tx, policy, &iv->id, iv->ports[j].number,
				iv->ports[j].has_source ? &iv->ports[j].source : NULL, a->now, &n,
				err) != 0)
				goto refuse;
			*revoked += n;
		}
	}
	/* The access ended now: that is its recorded end time, here as in the request. */
	jit_time_format(a->now, end);
	snprintf(details, sizeof(details), "{\"revokedPorts\":%zu,\"endTimeUtc\":\"%s\"}",
		*revoked, end);
	if (jit_svc_audit(tx, a, JIT_OP_REVOKE, id, 200, details, vms, n_vms, err) != 0)
		goto refuse;
	r = jit_store_commit(tx, err);
	goto done;
refuse:
	refused(st, tx, a, JIT_OP_REVOKE, id, vms,
		n_vms < REFUSED_AUDIT_VMS_MAX ? n_vms : REFUSED_AUDIT_VMS_MAX, err);
done:
	if (r != 0)
		*revoked = 0;
	free(vms);
	jit_policy_free(p);
	return r;
}

/* The audit entry of one ended grant, written by jitgated itself. */
static int
audit_expired(struct jit_tx *tx, const struct jit_expired *x, jit_time now,
	struct jit_error *err)
{
	char policy[JIT_RESOURCE_ID_MAX], end[JIT_TIME_BUFSZ];
	struct jit_audit_entry e = {
		.time = now,
		.principal_name = "jitgated",
		.operation = JIT_OP_EXPIRE,
		.resource_id = policy,
		.result = "Succeeded",
		.status = 200,
		.vms = &x->vm,
		.n_vms = 1,
	};
	json_t *d, *sources;
	char *details;
	int r;

	jit_rid_format(&x->policy, policy, sizeof(policy));
	jit_time_format(x->end, end);
	/* The sources are stored as a JSON array: an array in the entry too, not a string. */
	if ((sources = json_loads(x->sources, 0, NULL)) == NULL)
		sources = json_string(x->sources);
	d = json_pack("{s:i,s:o,s:s,s:s}", "port", x->number, "sources", sources, "requestor",
		x->requestor, "endTimeUtc", end);
	details = d ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	if (details == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	e.details_json = details;
	r = jit_store_audit_append(tx, &e, err);
	free(details);
	return r;
}

int
jit_svc_expire(struct jit_store *st, jit_time now, size_t *n, struct jit_error *err)
{
	struct jit_expired *xs = NULL;
	struct jit_tx *tx;
	bool run = false;
	int r;

	*n = 0;
	if (jit_store_begin(st, true, &tx, err) != 0)
		return -1;
	/* Replicas share the sweep: one of them runs it per interval (a transaction-scoped
	 * advisory lock on PostgreSQL), the others skip. */
	if (jit_store_job_claim(tx, "expire", now, JIT_SVC_EXPIRE_EVERY_NS, &run, err) != 0) {
		jit_store_rollback(tx);
		return -1;
	}
	if (!run) {
		jit_store_rollback(tx);
		return 0;
	}
	r = jit_store_expire(tx, now, &xs, n, err);
	/* The expiries and their audit entries land together or not at all. */
	for (size_t i = 0; r == 0 && i < *n; i++)
		r = audit_expired(tx, &xs[i], now, err);
	free(xs);
	if (r != 0) {
		jit_store_rollback(tx);
		*n = 0;
		return -1;
	}
	return jit_store_commit(tx, err);
}
