/*
 * api_jit.c: the Azure JIT API (Microsoft.Security/jitNetworkAccessPolicies,
 * api-version 2020-01-01): list, get, createOrUpdate, delete and initiate, with
 * the semantics of Azure's JIT VM access, plus our revoke. Handlers parse the
 * body into typed structs, call svc_jit and render; what an initiate may yield
 * is decided in src/lib/grant.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "model_json.h"
#include "svc_jit.h"

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
fail_nomem(struct jit_call *c)
{
	struct jit_error err;

	jit_errorf(&err, 500, JIT_E_INTERNAL, "out of memory encoding a policy");
	jit_call_fail(c, &err);
}

void
jit_h_policy_list(struct jit_call *c)
{
	struct jit_policy **ps;
	struct jit_rid scope;
	struct jit_actor a;
	struct jit_error err;
	json_t *value;
	size_t n;

	list_scope(c, &scope);
	jit_call_actor(c, &a);
	if (jit_svc_policy_list(c->api->store, &a, &scope, c->loc[0] ? c->loc : NULL, &ps, &n,
		&err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	value = json_array();
	for (size_t i = 0; value != NULL && i < n; i++) {
		json_t *j = jit_policy_to_json(ps[i]);

		if (j == NULL || json_array_append_new(value, j) != 0) {
			json_decref(value);
			value = NULL;
		}
	}
	jit_svc_policies_free(ps, n);
	if (value == NULL)
		fail_nomem(c);
	else
		jit_call_reply(c, 200, json_pack("{s:o}", "value", value));
}

/* Renders a policy (and frees it). */
static void
reply_policy(struct jit_call *c, int status, struct jit_policy *p)
{
	json_t *j = jit_policy_to_json(p);

	jit_policy_free(p);
	if (j == NULL)
		fail_nomem(c);
	else
		jit_call_reply(c, status, j);
}

void
jit_h_policy_get(struct jit_call *c)
{
	struct jit_policy *p;
	struct jit_actor a;
	struct jit_error err;
	struct jit_rid id;

	policy_rid(c, &id);
	jit_call_actor(c, &a);
	if (jit_svc_policy_get(c->api->store, &a, &id, &p, &err) != 0)
		jit_call_fail(c, &err);
	else
		reply_policy(c, 200, p);
}

void
jit_h_policy_put(struct jit_call *c)
{
	struct jit_policy *p = NULL, *out;
	json_t *body = NULL;
	struct jit_actor a;
	struct jit_error err;
	bool created;

	if (jit_call_body(c, &body, &err) != 0 || jit_policy_from_json(body, &p, &err) != 0) {
		json_decref(body);
		jit_call_refuse(c, c->req->path, &err);
		return;
	}
	json_decref(body);
	/* The path names the policy; read-only fields in the body are ignored. */
	policy_rid(c, &p->id);
	jit_call_actor(c, &a);
	if (jit_svc_policy_put(c->api->store, &a, p, &out, &created, &err) != 0)
		jit_call_fail_audited(c, &err);
	else
		reply_policy(c, 200, out);
	jit_policy_free(p);
}

void
jit_h_policy_delete(struct jit_call *c)
{
	struct jit_actor a;
	struct jit_error err;
	struct jit_rid id;
	bool existed;

	policy_rid(c, &id);
	jit_call_actor(c, &a);
	if (jit_svc_policy_delete(c->api->store, &a, &id, &existed, &err) != 0)
		jit_call_fail_audited(c, &err);
	else
		/* Azure: 200 when deleted, 204 when there was nothing to delete. */
		jit_call_reply(c, existed ? 200 : 204, NULL);
}

static void
request_access(struct jit_call *c, bool extend)
{
	char id_text[JIT_RESOURCE_ID_MAX];
	struct jit_initiate *in = NULL;
	struct jit_request r;
	json_t *body = NULL, *out;
	struct jit_actor a;
	struct jit_error err;
	struct jit_rid id;

	policy_rid(c, &id);
	jit_rid_format(&id, id_text, sizeof(id_text));
	/* Before anything else, refusals included: each initiate costs an audit entry. A 429
	 * is not audited itself (the request log line records it), or the limit would not
	 * bound what a principal can write. */
	if (jit_call_rate_limit(c, c->api->initiate_limit, "initiate", &err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	if (jit_call_body(c, &body, &err) != 0 || jit_initiate_from_json(body, &in, &err) != 0) {
		json_decref(body);
		jit_call_refuse(c, id_text, &err);
		return;
	}
	json_decref(body);
	jit_call_actor(c, &a);
	if ((extend ? jit_svc_extend : jit_svc_initiate)(c->api->store, &a, &id, in, &c->caller,
		&r, &err) != 0) {
		jit_call_fail_audited(c, &err);
	} else {
		out = jit_request_to_json(&r);
		jit_request_clear(&r);
		if (out == NULL)
			fail_nomem(c);
		else
			jit_call_reply(c, 202, out);
	}
	jit_initiate_free(in);
}

void
jit_h_policy_initiate(struct jit_call *c)
{
	request_access(c, false);
}

/* POST .../jitNetworkAccessPolicies/{name}/extend (ours): an initiate's body; each port
 * must have active access from the same source, which this request makes end later. */
void
jit_h_policy_extend(struct jit_call *c)
{
	request_access(c, true);
}

/* POST .../jitNetworkAccessPolicies/{name}/revoke (ours; Azure has no early revoke):
 * {"virtualMachines": [{"id", "ports": [{"number", "allowedSourceAddressPrefix"?}]}]}
 * ends matching active access now; the enforcement point drops the grants at once. */
void
jit_h_policy_revoke(struct jit_call *c)
{
	char id_text[JIT_RESOURCE_ID_MAX];
	struct jit_initiate *in = NULL;
	json_t *body = NULL;
	struct jit_actor a;
	struct jit_error err;
	struct jit_rid id;
	size_t revoked;

	policy_rid(c, &id);
	jit_rid_format(&id, id_text, sizeof(id_text));
	if (jit_call_body(c, &body, &err) != 0 || jit_revoke_from_json(body, &in, &err) != 0) {
		json_decref(body);
		jit_call_refuse(c, id_text, &err);
		return;
	}
	json_decref(body);
	jit_call_actor(c, &a);
	if (jit_svc_revoke(c->api->store, &a, &id, in, &revoked, &err) != 0)
		jit_call_fail_audited(c, &err);
	else
		jit_call_reply(c, 200, json_pack("{s:I}", "revokedPorts", (json_int_t)revoked));
	jit_initiate_free(in);
}
