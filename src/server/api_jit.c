/*
 * api_jit.c: the Azure JIT API (Microsoft.Security/jitNetworkAccessPolicies,
 * api-version 2020-01-01): list, get, createOrUpdate, delete and initiate, with
 * the semantics of Azure's JIT VM access.
 *
 * Initiate is where a user's request becomes grants, so its checks are all here:
 * only configured ports, sources inside the policy's prefixes (none given: the
 * caller's own address, the portal's "My IP"), end times in the future and not
 * past now + maxRequestAccessDuration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "model_json.h"

/* A client computes "now + max" on its own clock; up to this much beyond the
 * maximum is clamped to the maximum rather than refused. */
#define END_TIME_SKEW_NS (120LL * JIT_NS_PER_SEC)

#define JIT_READ_ACTION "Microsoft.Security/locations/jitNetworkAccessPolicies/read"

static void
policy_rid(const struct jit_call *c, struct jit_rid *out)
{
	jit_rid_policy(out, c->sub, c->rg, c->loc, c->name);
}

/* The scope of a list route: subscription or resource group. */
static void
list_scope(const struct jit_call *c, struct jit_rid *out)
{
	if (c->rg[0] != '\0')
		jit_rid_resource_group(out, c->sub, c->rg);
	else
		jit_rid_subscription(out, c->sub);
}

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

/* Trims p to what the caller may read: all of it with the action on the policy,
 * else only the VMs (and their requests) it holds the action on. Listing never
 * leaks: a requester scoped to one VM sees that VM alone. False if nothing is left. */
static bool
policy_filter(struct jit_call *c, struct jit_policy *p, const char *action)
{
	size_t k = 0;

	if (jit_call_can(c, action, &p->id))
		return true;
	for (size_t i = 0; i < p->n_vms; i++) {
		if (jit_call_can(c, action, &p->vms[i].id))
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
			if (jit_call_can(c, action, &r->vms[j].id))
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

/* A PUT replaces the policy's VMs. A caller who reads the policy trimmed to some of its
 * VMs (a custom role) and writes it back must not remove the VMs it never saw. */
static int
removes_unseen_vm(struct jit_call *c, const struct jit_policy *old,
	const struct jit_policy *p, struct jit_error *err)
{
	if (old == NULL || jit_call_can(c, JIT_READ_ACTION, &old->id))
		return 0;
	for (size_t i = 0; i < old->n_vms; i++) {
		bool kept = false;

		for (size_t j = 0; j < p->n_vms && !kept; j++)
			kept = jit_rid_equal(&old->vms[i].id, &p->vms[j].id);
		if (!kept && !jit_call_can(c, JIT_READ_ACTION, &old->vms[i].id))
			return jit_errorf(err, 403, JIT_E_FORBIDDEN,
				"The client '%s' cannot remove the virtual machine '%s' from the policy: "
				"it may not read it (action '%s').", c->principal.name, old->vms[i].id.name,
				JIT_READ_ACTION);
	}
	return 0;
}

/* A refused initiate or revoke is recorded against at most this many of the VMs it
 * names: anyone may send one, and each VM named is an index row. */
#define REFUSED_AUDIT_VMS_MAX 16

/* The VM IDs an initiate or revoke body names (for its audit entry, refused or not): only
 * VMs of the policy's resource group (no other can be in the policy), each once. */
static struct jit_rid *
initiate_vm_ids(const struct jit_call *c, const struct jit_initiate *in, size_t *n)
{
	struct jit_rid *ids = calloc(in->n_vms ? in->n_vms : 1, sizeof(*ids));

	*n = 0;
	for (size_t i = 0; ids != NULL && i < in->n_vms; i++) {
		const struct jit_rid *vm = &in->vms[i].id;
		bool dup = false;

		if (vm->kind != JIT_RID_VM || strcasecmp(vm->sub, c->sub) != 0 ||
			strcasecmp(vm->rg, c->rg) != 0)
			continue;
		for (size_t k = 0; k < *n && !dup; k++)
			dup = jit_rid_equal(&ids[k], vm);
		if (!dup)
			ids[(*n)++] = *vm;
	}
	return ids;
}

/* Audits a refused initiate or revoke against a bounded number of the VMs it names. */
static void
audit_refused(struct jit_call *c, const char *id_text, const struct jit_error *err)
{
	if (c->n_audit_vms > REFUSED_AUDIT_VMS_MAX)
		c->n_audit_vms = REFUSED_AUDIT_VMS_MAX;
	jit_call_audit_failure(c, id_text, err);
}

/* Authorizes an initiate or revoke before anything is looked up, so that a caller without
 * the action learns nothing (not even whether the policy exists): the action on the policy,
 * or on every VM the body names. */
static int
preauthorize_vms(struct jit_call *c, const struct jit_rid *policy,
	const struct jit_initiate *in, struct jit_error *err)
{
	if (jit_call_can(c, c->action, policy))
		return 0;
	if (in->n_vms == 0)
		return jit_call_authorize(c, c->action, policy, err);
	for (size_t i = 0; i < in->n_vms; i++)
		if (jit_call_authorize(c, c->action, &in->vms[i].id, err) != 0)
			return -1;
	return 0;
}

/* Adding a VM to a policy locks its ports and lets requesters open them: who writes the
 * policy must also hold the write action on each VM it adds (a role on the group or the
 * VM; a role on the policy alone edits the VMs already in it). */
static int
adds_unauthorized_vm(struct jit_call *c, const struct jit_policy *old,
	const struct jit_policy *p, struct jit_error *err)
{
	for (size_t i = 0; i < p->n_vms; i++) {
		bool present = false;

		for (size_t j = 0; old != NULL && j < old->n_vms && !present; j++)
			present = jit_rid_equal(&old->vms[j].id, &p->vms[i].id);
		if (!present && jit_call_authorize(c, c->action, &p->vms[i].id, err) != 0)
			return -1;
	}
	return 0;
}

/* 403 RequestDisallowedByPolicy when a security policy disabled JIT where res is. */
static int
check_jit_enabled(struct jit_call *c, const struct jit_rid *res, struct jit_error *err)
{
	struct jit_settings by;
	char scope[JIT_RESOURCE_ID_MAX];
	bool disabled;

	if (jit_store_jit_disabled(c->tx, res, &disabled, &by, err) != 0)
		return -1;
	if (!disabled)
		return 0;
	jit_rid_format(&by.scope, scope, sizeof(scope));
	return jit_errorf(err, 403, "RequestDisallowedByPolicy",
		"JIT is disabled by a security policy on '%s'%s%.200s", scope,
		by.reason[0] ? ": " : ".", by.reason);
}

#define JIT_REVOKE_ACTION "Microsoft.Security/locations/jitNetworkAccessPolicies/revoke/action"

/* Live access that a policy change ended (a VM or port left the policy, or a source is
 * no longer allowed) is audited as a revocation, against the VMs it concerned. */
static int
end_grants(struct jit_call *c, const struct jit_rid *policy, const char *policy_id,
	const struct jit_policy *keep, struct jit_error *err)
{
	const struct jit_rid *saved_vms = c->audit_vms;
	size_t saved_n = c->n_audit_vms, n = 0, n_vms = 0;
	struct jit_expired *x = NULL;
	struct jit_rid *vms = NULL;
	json_t *d = NULL, *ports;
	char *details = NULL;
	char vm_id[JIT_RESOURCE_ID_MAX];
	int r = -1;

	if (jit_store_policy_end_grants(c->tx, policy, keep, c->now, &x, &n, err) != 0)
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
	c->audit_vms = vms;
	c->n_audit_vms = n_vms;
	r = jit_call_audit(c, JIT_REVOKE_ACTION, policy_id, 200, details, err);
	c->audit_vms = saved_vms;
	c->n_audit_vms = saved_n;
out:
	json_decref(d);
	free(details);
	free(vms);
	free(x);
	return r;
}

/* Reads the policy, trims it to what the caller may read and encodes it, inside an
 * open transaction. *visible false (and NULL) when the caller may read none of it. */
static json_t *
policy_json(struct jit_call *c, const struct jit_rid *id, bool *visible, struct jit_error *err)
{
	struct jit_policy *p;
	json_t *j;

	*visible = true;
	if (jit_store_policy_get(c->tx, id, c->now, &p, err) != 0) {
		/* Who may not read there learns nothing, not even that it does not exist. */
		if (err->status == 404 && !jit_call_can_within(c, JIT_READ_ACTION, id)) {
			*visible = false;
			jit_call_authorize(c, JIT_READ_ACTION, id, err);
		}
		return NULL;
	}
	/* Who just wrote the policy gets back what it wrote; other people's requests only
	 * with the read action. */
	if (strcmp(c->req->method, "PUT") == 0 && !jit_call_can(c, JIT_READ_ACTION, id)) {
		for (size_t i = 0; i < p->n_requests; i++)
			jit_request_clear(&p->requests[i]);
		p->n_requests = 0;
	} else if (strcmp(c->req->method, "PUT") != 0 && !policy_filter(c, p, JIT_READ_ACTION)) {
		*visible = false;
		jit_policy_free(p);
		jit_call_authorize(c, JIT_READ_ACTION, id, err);
		return NULL;
	}
	j = jit_policy_to_json(p);
	jit_policy_free(p);
	if (j == NULL)
		jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory encoding a policy");
	return j;
}

void
jit_h_policy_list(struct jit_call *c)
{
	struct jit_store *st = c->api->store;
	struct jit_rid scope, *ids = NULL;
	struct jit_subscription sub;
	struct jit_error err;
	json_t *value;
	size_t n = 0;

	list_scope(c, &scope);
	if ((value = json_array()) == NULL) {
		jit_errorf(&err, 500, JIT_E_INTERNAL, "out of memory");
		jit_call_fail(c, &err);
		return;
	}
	if (jit_store_begin(st, false, &c->tx, &err) != 0)
		goto fail;
	if (jit_store_sub_get(c->tx, c->sub, &sub, &err) != 0)
		goto rollback;
	if (c->rg[0] != '\0') {
		struct jit_resource_group rg;

		if (jit_store_rg_get(c->tx, &scope, &rg, &err) != 0)
			goto rollback;
	}
	if (jit_store_policy_list(c->tx, &scope, c->loc[0] ? c->loc : NULL, &ids, &n, &err) != 0)
		goto rollback;
	for (size_t i = 0; i < n; i++) {
		bool visible;
		json_t *j = policy_json(c, &ids[i], &visible, &err);

		if (j == NULL && !visible)
			continue;
		if (j == NULL || json_array_append_new(value, j) != 0)
			goto rollback;
	}
	jit_store_rollback(c->tx);
	free(ids);
	jit_call_reply(c, 200, json_pack("{s:o}", "value", value));
	return;
rollback:
	jit_store_rollback(c->tx);
fail:
	free(ids);
	json_decref(value);
	jit_call_fail(c, &err);
}

void
jit_h_policy_get(struct jit_call *c)
{
	struct jit_store *st = c->api->store;
	struct jit_error err;
	struct jit_rid id;
	bool visible;
	json_t *j;

	policy_rid(c, &id);
	if (jit_store_begin(st, false, &c->tx, &err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	j = policy_json(c, &id, &visible, &err);
	jit_store_rollback(c->tx);
	if (j == NULL)
		jit_call_fail(c, &err);
	else
		jit_call_reply(c, 200, j);
}

void
jit_h_policy_put(struct jit_call *c)
{
	struct jit_store *st = c->api->store;
	char id_text[JIT_RESOURCE_ID_MAX];
	struct jit_policy *p = NULL, *old = NULL;
	struct jit_rid *vms = NULL;
	json_t *body = NULL, *out = NULL;
	struct jit_error err, ignored;
	bool created, visible;
	char details[96];

	if (jit_call_body(c, &body, &err) != 0 || jit_policy_from_json(body, &p, &err) != 0)
		goto refuse;
	/* The path names the policy; read-only fields in the body are ignored. */
	policy_rid(c, &p->id);
	jit_rid_format(&p->id, id_text, sizeof(id_text));
	if (p->n_vms == 0) {
		jit_errorf(&err, 400, JIT_E_INVALID_CONTENT,
			"properties.virtualMachines: at least one virtual machine is required; "
			"delete the policy to disable JIT");
		goto refuse;
	}
	if (jit_store_begin(st, true, &c->tx, &err) != 0)
		goto fail;
	if (check_jit_enabled(c, &p->id, &err) != 0) {
		jit_store_rollback(c->tx);
		goto refuse;
	}
	jit_store_policy_get(c->tx, &p->id, c->now, &old, &ignored);
	if (removes_unseen_vm(c, old, p, &err) != 0 || adds_unauthorized_vm(c, old, p, &err) != 0) {
		jit_store_rollback(c->tx);
		goto refuse;
	}
	if ((vms = policy_vm_ids(old, p, &c->n_audit_vms)) == NULL) {
		jit_store_rollback(c->tx);
		jit_errorf(&err, 500, JIT_E_INTERNAL, "out of memory");
		goto fail;
	}
	c->audit_vms = vms;
	snprintf(details, sizeof(details), "{\"virtualMachines\":%zu,\"created\":%s}", p->n_vms,
		old ? "false" : "true");
	if ((old != NULL && end_grants(c, &p->id, id_text, p, &err) != 0) ||
		jit_store_policy_put(c->tx, p, c->now, &created, &err) != 0 ||
		jit_call_audit(c, c->action, id_text, 200, details, &err) != 0 ||
		(out = policy_json(c, &p->id, &visible, &err)) == NULL) {
		jit_store_rollback(c->tx);
		if (err.status >= 500)
			goto fail;
		goto refuse;
	}
	if (jit_store_commit(c->tx, &err) != 0)
		goto fail;
	jit_call_reply(c, 200, out);
	out = NULL;
	goto out;
refuse:
	jit_call_audit_failure(c, p ? id_text : c->req->path, &err);
fail:
	jit_call_fail(c, &err);
out:
	c->audit_vms = NULL;
	c->n_audit_vms = 0;
	free(vms);
	json_decref(out);
	json_decref(body);
	jit_policy_free(p);
	jit_policy_free(old);
}

void
jit_h_policy_delete(struct jit_call *c)
{
	struct jit_store *st = c->api->store;
	char id_text[JIT_RESOURCE_ID_MAX];
	struct jit_policy *old = NULL;
	struct jit_rid *vms = NULL;
	struct jit_error err, ignored;
	struct jit_rid id;
	bool existed;

	policy_rid(c, &id);
	jit_rid_format(&id, id_text, sizeof(id_text));
	if (jit_store_begin(st, true, &c->tx, &err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	jit_store_policy_get(c->tx, &id, c->now, &old, &ignored);
	vms = policy_vm_ids(old, NULL, &c->n_audit_vms);
	c->audit_vms = vms;
	if (vms == NULL || (old != NULL && end_grants(c, &id, id_text, NULL, &err) != 0) ||
		jit_store_policy_delete(c->tx, &id, &existed, &err) != 0 ||
		(existed && jit_call_audit(c, c->action, id_text, 200, NULL, &err) != 0)) {
		if (vms == NULL)
			jit_errorf(&err, 500, JIT_E_INTERNAL, "out of memory");
		jit_store_rollback(c->tx);
		jit_call_fail(c, &err);
		goto out;
	}
	if (jit_store_commit(c->tx, &err) != 0) {
		jit_call_fail(c, &err);
		goto out;
	}
	/* Azure: 200 when deleted, 204 when there was nothing to delete. */
	jit_call_reply(c, existed ? 200 : 204, NULL);
out:
	c->audit_vms = NULL;
	c->n_audit_vms = 0;
	free(vms);
	jit_policy_free(old);
}

static const struct jit_policy_vm *
policy_vm(const struct jit_policy *p, const struct jit_rid *vm)
{
	for (size_t i = 0; i < p->n_vms; i++)
		if (jit_rid_equal(&p->vms[i].id, vm))
			return &p->vms[i];
	return NULL;
}

static const struct jit_port_rule *
policy_port(const struct jit_policy_vm *pv, uint16_t number)
{
	for (size_t i = 0; i < pv->n_ports; i++)
		if (pv->ports[i].number == number)
			return &pv->ports[i];
	return NULL;
}

/* "10.0.0.0/8, 192.168.0.0/16": what a rule allows, for a refusal's message (the first
 * few, then how many more). */
static void
allowed_text(const struct jit_port_rule *rule, char *buf, size_t n)
{
	enum { SHOWN = 6 };
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < rule->sources.n && i < SHOWN; i++) {
		char one[JIT_PREFIX_BUFSZ];
		int w;

		jit_prefix_format(&rule->sources.prefixes[i], one);
		w = snprintf(buf + used, n - used, "%s%s", i ? ", " : "", one);
		if (w < 0 || (size_t)w >= n - used)
			return;
		used += (size_t)w;
	}
	if (rule->sources.n > SHOWN)
		snprintf(buf + used, n - used, " and %zu more", rule->sources.n - SHOWN);
}

/* Checks one requested port against its rule and fills the request port. */
static int
grant_port(struct jit_call *c, const struct jit_port_rule *rule,
	const struct jit_initiate_port *ip, struct jit_request_port *out, struct jit_error *err)
{
	char buf[JIT_PREFIX_BUFSZ], end[JIT_TIME_BUFSZ], max[JIT_DURATION_BUFSZ];
	jit_time latest = c->now + rule->max_duration_ns;
	struct jit_prefix source = ip->has_source ? ip->source : c->caller;

	if (!ip->has_source && c->caller.family == JIT_FAMILY_ANY)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"allowedSourceAddressPrefix: the caller's address is unknown; name a source");
	if (!jit_prefix_contained_in_any(rule->sources.prefixes, rule->sources.n, &source)) {
		char allowed[8 * JIT_PREFIX_BUFSZ];

		jit_prefix_format(&source, buf);
		allowed_text(rule, allowed, sizeof(allowed));
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"allowedSourceAddressPrefix: the source '%s'%s is not inside the prefixes the "
			"policy allows for port %u: %s", buf, ip->has_source ? "" : " (your address)",
			ip->number, allowed);
	}
	if (ip->end_time <= c->now) {
		jit_time_format(ip->end_time, end);
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"endTimeUtc: '%s' is not in the future", end);
	}
	if (ip->end_time > latest + END_TIME_SKEW_NS) {
		jit_time_format(ip->end_time, end);
		jit_duration_format(rule->max_duration_ns, max);
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"endTimeUtc: '%s' is past the policy's maximum request duration %s for port %u",
			end, max, ip->number);
	}
	memset(out, 0, sizeof(*out));
	out->number = ip->number;
	out->sources.list = false;
	out->sources.n = 1;
	if ((out->sources.prefixes = calloc(1, sizeof(*out->sources.prefixes))) == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	out->sources.prefixes[0] = source;
	out->end_time = ip->end_time < latest ? ip->end_time : latest;
	out->status = JIT_STATUS_INITIATED;
	out->reason = JIT_REASON_USER_REQUESTED;
	return 0;
}

/* Turns a validated initiate body into a request, checking it against the policy. */
static int
build_request(struct jit_call *c, const struct jit_policy *p, const struct jit_initiate *in,
	struct jit_request *r, struct jit_error *err)
{
	memset(r, 0, sizeof(*r));
	r->start_time = c->now;
	r->requestor = strdup(c->principal.display_name[0] ? c->principal.display_name :
		c->principal.name);
	r->justification = in->justification ? strdup(in->justification) : NULL;
	r->vms = calloc(in->n_vms, sizeof(*r->vms));
	if (r->requestor == NULL || r->vms == NULL ||
		(in->justification != NULL && r->justification == NULL))
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < in->n_vms; i++) {
		const struct jit_initiate_vm *iv = &in->vms[i];
		const struct jit_policy_vm *pv = policy_vm(p, &iv->id);
		struct jit_request_vm *rv = &r->vms[i];

		r->n_vms++;
		rv->id = pv ? pv->id : iv->id;
		/* A requester scoped to one VM may initiate for that VM only. */
		if (!jit_call_can(c, c->action, &p->id) &&
			jit_call_authorize(c, c->action, &iv->id, err) != 0)
			return -1;
		if (pv == NULL)
			return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
				"virtualMachines[%zu].id: the virtual machine '%s' is not in this JIT "
				"policy", i, iv->id.name);
		/* A gateway keys grants by address: no grant for an address another VM behind
		 * it has too (a database from before that was refused; security finding 1). */
		if (jit_store_vm_addresses_unique(c->tx, &pv->id, err) != 0) {
			if (err->status != 409)
				return -1;
			return jit_errorf(err, 409, JIT_E_CONFLICT,
				"virtualMachines[%zu].id: the virtual machine '%s' shares an address with "
				"another VM behind its enforcement point, so a grant could open that VM "
				"too; an administrator must give each VM its own address first", i,
				iv->id.name);
		}
		if ((rv->ports = calloc(iv->n_ports, sizeof(*rv->ports))) == NULL)
			return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
		for (size_t j = 0; j < iv->n_ports; j++) {
			const struct jit_port_rule *rule = policy_port(pv, iv->ports[j].number);

			if (rule == NULL)
				return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
					"virtualMachines[%zu].ports[%zu].number: port %u is not configured "
					"for JIT on '%s'", i, j, iv->ports[j].number, iv->id.name);
			if (grant_port(c, rule, &iv->ports[j], &rv->ports[j], err) != 0)
				return jit_error_prefix(err, "virtualMachines[%zu].ports[%zu]", i, j);
			rv->n_ports++;
		}
	}
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

void
jit_h_policy_initiate(struct jit_call *c)
{
	struct jit_store *st = c->api->store;
	char id_text[JIT_RESOURCE_ID_MAX];
	struct jit_initiate *in = NULL;
	struct jit_policy *p = NULL;
	struct jit_request r = {0};
	struct jit_rid *vms = NULL;
	json_t *body = NULL, *out = NULL;
	char *details = NULL;
	struct jit_error err;
	struct jit_rid id;
	bool in_tx = false;

	policy_rid(c, &id);
	jit_rid_format(&id, id_text, sizeof(id_text));
	/* Before anything else, refusals included: each initiate costs an audit entry. A 429
	 * is not audited itself (the request log line records it), or the limit would not
	 * bound what a principal can write. */
	if (jit_call_rate_limit(c, c->api->initiate_limit, "initiate", &err) != 0)
		goto fail;
	if (jit_call_body(c, &body, &err) != 0 || jit_initiate_from_json(body, &in, &err) != 0)
		goto refuse;
	/* From here on, refusals too are audited against the VMs they name. */
	if ((vms = initiate_vm_ids(c, in, &c->n_audit_vms)) == NULL) {
		jit_errorf(&err, 500, JIT_E_INTERNAL, "out of memory");
		goto fail;
	}
	c->audit_vms = vms;
	if (preauthorize_vms(c, &id, in, &err) != 0)
		goto refuse;
	if (jit_store_begin(st, true, &c->tx, &err) != 0)
		goto fail;
	in_tx = true;
	if (check_jit_enabled(c, &id, &err) != 0 ||
		jit_store_policy_get(c->tx, &id, c->now, &p, &err) != 0 ||
		build_request(c, p, in, &r, &err) != 0)
		goto refuse;

	if ((details = request_details(&r)) == NULL || (out = jit_request_to_json(&r)) == NULL) {
		jit_errorf(&err, 500, JIT_E_INTERNAL, "out of memory");
		goto fail;
	}
	if (jit_store_request_add(c->tx, &id, &r, c->principal.id, &err) != 0 ||
		jit_call_audit(c, c->action, id_text, 202, details, &err) != 0)
		goto fail;
	in_tx = false;
	if (jit_store_commit(c->tx, &err) != 0)
		goto fail;
	jit_call_reply(c, 202, out);
	out = NULL;
	goto out;
refuse:
	if (in_tx) {
		jit_store_rollback(c->tx);
		in_tx = false;
	}
	if (err.status < 500)
		audit_refused(c, id_text, &err);
fail:
	if (in_tx)
		jit_store_rollback(c->tx);
	jit_call_fail(c, &err);
out:
	c->audit_vms = NULL;
	c->n_audit_vms = 0;
	free(vms);
	json_decref(out);
	json_decref(body);
	free(details);
	jit_request_clear(&r);
	jit_policy_free(p);
	jit_initiate_free(in);
}

/* POST .../jitNetworkAccessPolicies/{name}/revoke (ours; Azure has no early revoke):
 * {"virtualMachines": [{"id", "ports": [{"number", "allowedSourceAddressPrefix"?}]}]}
 * ends matching active access now; the enforcement point drops the grants at once. */
void
jit_h_policy_revoke(struct jit_call *c)
{
	struct jit_store *st = c->api->store;
	char id_text[JIT_RESOURCE_ID_MAX];
	struct jit_initiate *in = NULL;
	struct jit_policy *p = NULL;
	struct jit_rid *vms = NULL;
	json_t *body = NULL, *ports;
	struct jit_error err;
	struct jit_rid id;
	json_t *vm, *port;
	size_t total = 0, i, j;
	bool in_tx = false;
	char details[64];

	policy_rid(c, &id);
	jit_rid_format(&id, id_text, sizeof(id_text));
	if (jit_call_body(c, &body, &err) != 0)
		goto refuse;
	/* The initiate shape with endTimeUtc optional: add a placeholder to reuse its decoder. */
	json_array_foreach(json_object_get(body, "virtualMachines"), i, vm) {
		ports = json_object_get(vm, "ports");
		json_array_foreach(ports, j, port) {
			if (json_is_object(port) && json_object_get(port, "endTimeUtc") == NULL)
				json_object_set_new(port, "endTimeUtc",
					json_string("2000-01-01T00:00:00Z"));
		}
	}
	if (jit_initiate_from_json(body, &in, &err) != 0)
		goto refuse;
	if ((vms = initiate_vm_ids(c, in, &c->n_audit_vms)) == NULL) {
		jit_errorf(&err, 500, JIT_E_INTERNAL, "out of memory");
		goto fail;
	}
	c->audit_vms = vms;
	if (preauthorize_vms(c, &id, in, &err) != 0)
		goto refuse;
	if (jit_store_begin(st, true, &c->tx, &err) != 0)
		goto fail;
	in_tx = true;
	if (jit_store_policy_get(c->tx, &id, c->now, &p, &err) != 0)
		goto refuse;
	for (i = 0; i < in->n_vms; i++) {
		const struct jit_initiate_vm *iv = &in->vms[i];

		if (!jit_call_can(c, c->action, &p->id) &&
			jit_call_authorize(c, c->action, &iv->id, &err) != 0)
			goto refuse;
		if (policy_vm(p, &iv->id) == NULL) {
			jit_errorf(&err, 400, JIT_E_BAD_REQUEST, "virtualMachines[%zu].id: the virtual "
				"machine '%s' is not in this JIT policy", i, iv->id.name);
			goto refuse;
		}
		for (j = 0; j < iv->n_ports; j++) {
			size_t n;

			if (jit_store_request_revoke(c->tx, &id, &iv->id, iv->ports[j].number,
				iv->ports[j].has_source ? &iv->ports[j].source : NULL, c->now, &n,
				&err) != 0)
				goto fail;
			total += n;
		}
	}
	snprintf(details, sizeof(details), "{\"revokedPorts\":%zu}", total);
	if (jit_call_audit(c, c->action, id_text, 200, details, &err) != 0)
		goto fail;
	in_tx = false;
	if (jit_store_commit(c->tx, &err) != 0)
		goto fail;
	jit_call_reply(c, 200, json_pack("{s:I}", "revokedPorts", (json_int_t)total));
	goto out;
refuse:
	if (in_tx) {
		jit_store_rollback(c->tx);
		in_tx = false;
	}
	if (err.status < 500)
		audit_refused(c, id_text, &err);
fail:
	if (in_tx)
		jit_store_rollback(c->tx);
	jit_call_fail(c, &err);
out:
	c->audit_vms = NULL;
	c->n_audit_vms = 0;
	free(vms);
	json_decref(body);
	jit_policy_free(p);
	jit_initiate_free(in);
}
