/*
 * svc_agents.c: enforcement points and agents (see svc_agents.h).
 */
#include "svc_agents.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "svc_audit.h"

int
jit_svc_ep_list(struct jit_store *st, const struct jit_actor *a, const struct jit_rid *scope,
	struct jit_enforcement_point **out, size_t *n, struct jit_error *err)
{
	struct jit_enforcement_point *eps = NULL;
	struct jit_subscription sub;
	struct jit_tx *tx;
	size_t got = 0, kept = 0;
	int r;

	*out = NULL;
	*n = 0;
	if (jit_store_begin(st, false, &tx, err) != 0)
		return -1;
	r = jit_store_sub_get(tx, scope->sub, &sub, err);
	if (r == 0)
		r = jit_store_ep_list(tx, scope, &eps, &got, err);
	jit_store_rollback(tx);
	if (r != 0)
		return -1;
	for (size_t i = 0; i < got; i++) {
		if (jit_actor_can(a, JIT_OP_EP_READ, &eps[i].id))
			eps[kept++] = eps[i];
		else
			jit_enforcement_point_clear(&eps[i]);
	}
	*out = eps;
	*n = kept;
	return 0;
}

int
jit_svc_ep_get(struct jit_store *st, const struct jit_actor *a, const struct jit_rid *id,
	struct jit_enforcement_point *out, struct jit_error *err)
{
	struct jit_tx *tx;
	int r;

	memset(out, 0, sizeof(*out));
	if (jit_actor_authorize(a, JIT_OP_EP_READ, id, err) != 0)
		return -1;
	if (jit_store_begin(st, false, &tx, err) != 0)
		return -1;
	r = jit_store_ep_get(tx, id, out, err);
	jit_store_rollback(tx);
	return r;
}

int
jit_svc_ep_delete(struct jit_store *st, const struct jit_actor *a, const struct jit_rid *id,
	bool *existed, struct jit_error *err)
{
	char text[JIT_RESOURCE_ID_MAX];
	struct jit_tx *tx;

	*existed = false;
	jit_rid_format(id, text, sizeof(text));
	if (jit_actor_authorize(a, JIT_OP_EP_DELETE, id, err) != 0)
		return -1;
	if (jit_store_begin(st, true, &tx, err) != 0)
		return -1;
	if (jit_store_ep_delete(tx, id, a->now, existed, err) != 0 ||
		(*existed && jit_svc_audit(tx, a, JIT_OP_EP_DELETE, text, 200, NULL, NULL, 0,
		err) != 0)) {
		jit_store_rollback(tx);
		return -1;
	}
	return jit_store_commit(tx, err);
}

int
jit_svc_enrollment_create(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *rg, jit_time expires, struct jit_token *tok, struct jit_error *err)
{
	char id[JIT_RESOURCE_ID_MAX];
	struct jit_tx *tx;

	jit_rid_format(rg, id, sizeof(id));
	if (jit_actor_authorize(a, JIT_OP_ENROLLMENT_WRITE, rg, err) != 0) {
		jit_svc_audit_refusal(st, a, JIT_OP_ENROLLMENT_WRITE, id, NULL, 0, err);
		return -1;
	}
	if (jit_token_new("jge", tok, err) != 0 || jit_store_begin(st, true, &tx, err) != 0)
		goto fail;
	if (jit_store_enrollment_add(tx, tok->id, tok->hash, rg, a->now, expires,
		a->principal ? a->principal->id : 0, err) != 0 ||
		jit_svc_audit(tx, a, JIT_OP_ENROLLMENT_WRITE, id, 201, NULL, NULL, 0, err) != 0) {
		jit_store_rollback(tx);
		if (err->status < 500)
			jit_svc_audit_refusal(st, a, JIT_OP_ENROLLMENT_WRITE, id, NULL, 0, err);
		goto fail;
	}
	if (jit_store_commit(tx, err) != 0)
		goto fail;
	return 0;
fail:
	sodium_memzero(tok, sizeof(*tok));
	return -1;
}

/* Registers (or re-binds) a host agent's own VM to its new enforcement point. */
static int
enroll_host_vm(struct jit_tx *tx, struct jit_enrollment *b, const struct jit_rid *rg,
	const struct jit_rid *ep, char vm_id[JIT_RESOURCE_ID_MAX], struct jit_error *err)
{
	struct jit_vm existing;
	struct jit_error missing;
	bool created;
	char name[JIT_NAME_MAX + 1];

	/* jit_rid_vm rewrites the whole ID, so take the name out first. */
	snprintf(name, sizeof(name), "%s", b->vm.id.name);
	jit_rid_vm(&b->vm.id, rg->sub, rg->rg, name);
	jit_rid_format(&b->vm.id, vm_id, JIT_RESOURCE_ID_MAX);
	if (jit_store_vm_get(tx, &b->vm.id, &existing, &missing) == 0) {
		/* An enrollment token must not take a VM away from the point protecting it (that
		 * would unlock the real host): delete that enforcement point first. */
		if (existing.enforcement_point[0] != '\0')
			return jit_errorf(err, 409, JIT_E_CONFLICT,
				"vm.name: the virtual machine '%s' is already protected by the enforcement "
				"point '%s'; delete that enforcement point to re-enroll this host", name,
				existing.enforcement_point);
		snprintf(b->vm.location, sizeof(b->vm.location), "%s", existing.location);
	} else if (missing.status != 404) {
		*err = missing;
		return -1;
	}
	if (jit_rid_format(ep, b->vm.enforcement_point, sizeof(b->vm.enforcement_point)) < 0)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "enforcement point ID too long");
	return jit_store_vm_put(tx, &b->vm, &created, err);
}

int
jit_svc_agent_enroll(struct jit_store *st, const struct jit_actor *a, struct jit_enrollment *b,
	struct jit_enrolled *out, struct jit_error *err)
{
	char ep_text[JIT_RESOURCE_ID_MAX];
	uint8_t stored[JIT_TOKEN_HASH_BYTES];
	struct jit_enforcement_point ep = {0};
	struct jit_principal agent = {0};
	struct jit_actor as_agent;
	struct jit_tx *tx;
	struct jit_rid rg;
	bool found;

	memset(out, 0, sizeof(*out));
	if (jit_token_new("jgt", &out->credential, err) != 0 ||
		jit_store_begin(st, true, &tx, err) != 0)
		goto fail;
	if (jit_store_enrollment_find(tx, b->token.id, a->now, stored, &rg, &found, err) != 0)
		goto rollback;
	if (!found || !jit_token_hash_equal(stored, b->token.hash)) {
		jit_errorf(err, 401, JIT_E_UNAUTHENTICATED,
			"enrollmentToken: the enrollment token is unknown, used or expired");
		goto rollback;
	}
	jit_rid_enforcement_point(&ep.id, rg.sub, rg.rg, b->name);
	jit_rid_format(&ep.id, ep_text, sizeof(ep_text));
	agent.kind = JIT_PRINCIPAL_AGENT;
	agent.created = a->now;
	/* Named after its credential's public id (unique); displayed as the point's ID. */
	snprintf(agent.name, sizeof(agent.name), "agent-%s", out->credential.id);
	snprintf(agent.display_name, sizeof(agent.display_name), "agent %.90s", ep.id.name);
	ep.kind = b->kind;
	ep.created = a->now;
	if (jit_store_enrollment_use(tx, b->token.id, a->now, err) != 0 ||
		jit_store_principal_add(tx, &agent, err) != 0)
		goto rollback;
	ep.principal_id = agent.id;
	if (jit_store_ep_add(tx, &ep, err) != 0 ||
		jit_store_token_add(tx, agent.id, "agent credential", out->credential.id,
			out->credential.hash, a->now, 0, err) != 0 ||
		(b->has_vm && enroll_host_vm(tx, b, &rg, &ep.id, out->vm_id, err) != 0))
		goto rollback;
	/* The entry is the new agent's own: from here on, it is who acts. */
	as_agent = *a;
	as_agent.principal = &agent;
	if (jit_svc_audit(tx, &as_agent, JIT_OP_EP_ENROLL, ep_text, 200, NULL,
		b->has_vm ? &b->vm.id : NULL, b->has_vm ? 1 : 0, err) != 0)
		goto rollback;
	if (jit_store_commit(tx, err) != 0)
		goto fail;
	jit_log(JIT_LOG_INFO, "agent_enrolled", "enforcement_point", ep_text, "kind",
		jit_ep_kind_name(b->kind), "vm", out->vm_id[0] ? out->vm_id : NULL,
		(const char *)NULL);
	out->ep = ep.id;
	return 0;
rollback:
	jit_store_rollback(tx);
fail:
	sodium_memzero(&out->credential, sizeof(out->credential));
	return -1;
}

/* The enforcement point of the calling agent. */
static int
caller_ep(struct jit_tx *tx, const struct jit_actor *a, struct jit_rid *out,
	struct jit_error *err)
{
	struct jit_enforcement_point ep;
	bool found = false;

	if (a->principal == NULL || a->principal->kind != JIT_PRINCIPAL_AGENT)
		return jit_errorf(err, 403, JIT_E_FORBIDDEN,
			"The agent channel needs an enrolled agent's credential.");
	if (jit_store_ep_by_principal(tx, a->principal->id, &ep, &found, err) != 0)
		return -1;
	if (!found)
		return jit_errorf(err, 403, JIT_E_FORBIDDEN,
			"The agent credential belongs to no enforcement point.");
	*out = ep.id;
	jit_enforcement_point_clear(&ep);
	return 0;
}

int
jit_svc_agent_desired_state(struct jit_store *st, const struct jit_actor *a,
	const uint64_t *have, jit_time deadline, const atomic_int *stopping,
	struct jit_desired_state **out, struct jit_error *err)
{
	struct jit_desired_state *ds = NULL;
	struct jit_rid ep;

	*out = NULL;
	for (;;) {
		/* Read the generation first: a commit after it wakes the wait below. */
		uint64_t gen = jit_store_generation(st);
		jit_time now = jit_time_now();
		struct jit_tx *tx;
		int r;

		if (jit_store_begin(st, false, &tx, err) != 0)
			return -1;
		r = caller_ep(tx, a, &ep, err);
		if (r == 0)
			r = jit_store_ep_desired_state(tx, &ep, now, &ds, err);
		jit_store_rollback(tx);
		if (r != 0)
			return -1;
		if (have == NULL || ds->version != *have || now >= deadline || atomic_load(stopping))
			break;
		jit_desired_state_free(ds);
		ds = NULL;
		jit_store_wait_change(st, gen, (int)((deadline - now) / 1000000) + 1);
	}
	*out = ds;
	return 0;
}

/* When an agent reports a newer applied version, its grants are in force: one audit
 * entry says which (VM, port, source, end time), for every VM it protects. */
static int
audit_applied(struct jit_tx *tx, const struct jit_actor *a, const struct jit_rid *ep,
	uint64_t applied, struct jit_error *err)
{
	struct jit_enforcement_point cur;
	struct jit_desired_state *ds = NULL;
	struct jit_rid *vms = NULL;
	char id[JIT_RESOURCE_ID_MAX];
	json_t *grants, *d;
	char *details = NULL;
	size_t n_vms = 0;
	int r = -1;

	if (jit_store_ep_get(tx, ep, &cur, err) != 0)
		return -1;
	jit_enforcement_point_clear(&cur);
	/* An agent can only have applied a state it was given (it can still lie about one it
	 * was given: the report is the agent's word, see docs/security.md). */
	if (applied > cur.version)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"appliedVersion: %llu is newer than the desired state version %llu this "
			"enforcement point was given", (unsigned long long)applied,
			(unsigned long long)cur.version);
	if (applied <= cur.applied_version || applied != cur.version)
		return 0;
	if (jit_store_ep_desired_state(tx, ep, a->now, &ds, err) != 0)
		return -1;
	grants = json_array();
	vms = calloc(ds->n_rules ? ds->n_rules : 1, sizeof(*vms));
	if (grants == NULL || vms == NULL) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < ds->n_rules; i++) {
		const struct jit_rule *rule = &ds->rules[i];
		bool seen = false;

		for (size_t k = 0; k < n_vms && !seen; k++)
			seen = jit_rid_equal(&vms[k], &rule->vm);
		if (!seen)
			vms[n_vms++] = rule->vm;
		for (size_t g = 0; g < rule->n_grants; g++) {
			char src[JIT_PREFIX_BUFSZ], end[JIT_TIME_BUFSZ];

			jit_rid_format(&rule->vm, id, sizeof(id));
			jit_prefix_format(&rule->grants[g].source, src);
			jit_time_format(rule->grants[g].end_time, end);
			json_array_append_new(grants, json_pack("{s:s,s:i,s:s,s:s}", "vm", id, "port",
				rule->number, "source", src, "endTimeUtc", end));
		}
	}
	d = json_pack("{s:I,s:I,s:o}", "appliedVersion", (json_int_t)applied, "lockedPorts",
		(json_int_t)ds->n_rules, "grants", grants);
	grants = NULL;
	details = d ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	jit_rid_format(ep, id, sizeof(id));
	r = jit_svc_audit(tx, a, JIT_OP_EP_APPLY, id, 200, details, vms, n_vms, err);
out:
	json_decref(grants);
	free(details);
	free(vms);
	jit_desired_state_free(ds);
	return r;
}

int
jit_svc_agent_report(struct jit_store *st, const struct jit_actor *a, uint64_t applied,
	const char *status_json, struct jit_error *err)
{
	struct jit_tx *tx;
	struct jit_rid ep;

	if (jit_store_begin(st, true, &tx, err) != 0)
		return -1;
	if (caller_ep(tx, a, &ep, err) != 0 || audit_applied(tx, a, &ep, applied, err) != 0 ||
		jit_store_ep_report(tx, &ep, applied, status_json, a->now, err) != 0) {
		jit_store_rollback(tx);
		return -1;
	}
	return jit_store_commit(tx, err);
}
