/*
 * api_inventory.c: subscriptions, resource groups and virtual machines, our own
 * ARM-style inventory that JIT policies refer to. Handlers parse, call
 * svc_inventory and render.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "model_json.h"
#include "number.h"
#include "svc_inventory.h"
#include "vm.h"

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

/* {"value": [...]}, or a 500 when building the array ran out of memory. */
static void
reply_list(struct jit_call *c, json_t *value)
{
	struct jit_error err;

	if (value == NULL) {
		jit_errorf(&err, 500, JIT_E_INTERNAL, "out of memory");
		jit_call_fail(c, &err);
		return;
	}
	jit_call_reply(c, 200, json_pack("{s:o}", "value", value));
}

void
jit_h_sub_list(struct jit_call *c)
{
	struct jit_subscription *subs;
	struct jit_actor a;
	struct jit_error err;
	json_t *value;
	size_t n;

	jit_call_actor(c, &a);
	if (jit_svc_sub_list(c->api->store, &a, &subs, &n, &err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	value = json_array();
	for (size_t i = 0; value != NULL && i < n; i++)
		json_array_append_new(value, sub_json(&subs[i]));
	free(subs);
	reply_list(c, value);
}

void
jit_h_sub_get(struct jit_call *c)
{
	struct jit_subscription s;
	struct jit_actor a;
	struct jit_error err;

	jit_call_actor(c, &a);
	if (jit_svc_sub_get(c->api->store, &a, c->sub, &s, &err) != 0)
		jit_call_fail(c, &err);
	else
		jit_call_reply(c, 200, sub_json(&s));
}

void
jit_h_sub_put(struct jit_call *c)
{
	struct jit_subscription in = {.created = c->now}, out;
	char id[JIT_RESOURCE_ID_MAX];
	json_t *body = NULL;
	struct jit_actor a;
	struct jit_error err;
	bool created;

	snprintf(in.name, sizeof(in.name), "%s", c->sub);
	snprintf(in.display_name, sizeof(in.display_name), "%s", c->sub);
	snprintf(id, sizeof(id), "/subscriptions/%s", c->sub);
	/* A body is optional: {"displayName": "..."}. */
	if ((c->req->body_len > 0 && jit_call_body(c, &body, &err) != 0) ||
		body_string(body, "displayName", in.display_name, sizeof(in.display_name),
		&err) != 0) {
		json_decref(body);
		jit_call_refuse(c, id, &err);
		return;
	}
	json_decref(body);
	jit_call_actor(c, &a);
	if (jit_svc_sub_put(c->api->store, &a, &in, &out, &created, &err) != 0)
		jit_call_fail_audited(c, &err);
	else
		jit_call_reply(c, created ? 201 : 200, sub_json(&out));
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

void
jit_h_rg_list(struct jit_call *c)
{
	struct jit_resource_group *rgs;
	struct jit_actor a;
	struct jit_error err;
	json_t *value;
	size_t n;

	jit_call_actor(c, &a);
	if (jit_svc_rg_list(c->api->store, &a, c->sub, &rgs, &n, &err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	value = json_array();
	for (size_t i = 0; value != NULL && i < n; i++)
		json_array_append_new(value, rg_json(&rgs[i]));
	free(rgs);
	reply_list(c, value);
}

void
jit_h_rg_get(struct jit_call *c)
{
	struct jit_resource_group g;
	struct jit_actor a;
	struct jit_error err;
	struct jit_rid id;

	jit_rid_resource_group(&id, c->sub, c->rg);
	jit_call_actor(c, &a);
	if (jit_svc_rg_get(c->api->store, &a, &id, &g, &err) != 0)
		jit_call_fail(c, &err);
	else
		jit_call_reply(c, 200, rg_json(&g));
}

void
jit_h_rg_put(struct jit_call *c)
{
	struct jit_resource_group in = {.created = c->now}, out;
	char id[JIT_RESOURCE_ID_MAX];
	json_t *body = NULL;
	struct jit_actor a;
	struct jit_error err;
	bool created;

	jit_rid_resource_group(&in.id, c->sub, c->rg);
	jit_rid_format(&in.id, id, sizeof(id));
	snprintf(in.location, sizeof(in.location), "local");
	if ((c->req->body_len > 0 && jit_call_body(c, &body, &err) != 0) ||
		body_string(body, "location", in.location, sizeof(in.location), &err) != 0 ||
		(jit_rid_check_name(in.location, "location", &err) != 0 &&
		jit_error_prefix(&err, "location") != 0)) {
		json_decref(body);
		jit_call_refuse(c, id, &err);
		return;
	}
	json_decref(body);
	jit_call_actor(c, &a);
	if (jit_svc_rg_put(c->api->store, &a, &in, &out, &created, &err) != 0)
		jit_call_fail_audited(c, &err);
	else
		jit_call_reply(c, created ? 201 : 200, rg_json(&out));
}

void
jit_h_rg_delete(struct jit_call *c)
{
	struct jit_actor a;
	struct jit_error err;
	struct jit_rid id;
	bool existed;

	jit_rid_resource_group(&id, c->sub, c->rg);
	jit_call_actor(c, &a);
	if (jit_svc_rg_delete(c->api->store, &a, &id, &existed, &err) != 0)
		jit_call_fail_audited(c, &err);
	else
		jit_call_reply(c, existed ? 200 : 204, NULL);
}

/* ---- virtual machines ---- */


/* A VM with its JIT state and statistics (properties.jit). */
static json_t *
vm_json(const struct jit_vm_view *v)
{
	json_t *j, *jit;

	if ((j = jit_vm_to_json(&v->vm)) == NULL ||
		(jit = jit_vm_jit_json(&v->vm, &v->jit)) == NULL) {
		json_decref(j);
		return NULL;
	}
	json_object_set_new(json_object_get(j, "properties"), "jit", jit);
	return j;
}

void
jit_h_vm_list(struct jit_call *c)
{
	const char *state_q = jit_http_query(c->req, "state");
	enum jit_vm_state state = 0;
	struct jit_vm_view *vms;
	struct jit_rid scope;
	struct jit_actor a;
	struct jit_error err;
	json_t *value;
	size_t n;

	if (state_q != NULL) {
		if (jit_vm_state_from_token(state_q, &state) != 0) {
			jit_errorf(&err, 400, JIT_E_BAD_REQUEST,
				"state: must be Configured, NotConfigured or Unsupported");
			jit_call_fail(c, &err);
			return;
		}
	}
	if (c->rg[0] != '\0')
		jit_rid_resource_group(&scope, c->sub, c->rg);
	else
		jit_rid_subscription(&scope, c->sub);
	jit_call_actor(c, &a);
	if (jit_svc_vm_list(c->api->store, &a, &scope, state, &vms, &n, &err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	value = json_array();
	for (size_t i = 0; value != NULL && i < n; i++) {
		json_t *j = vm_json(&vms[i]);

		if (j == NULL) {
			json_decref(value);
			value = NULL;
			break;
		}
		json_array_append_new(value, j);
	}
	free(vms);
	reply_list(c, value);
}

/* Renders one VM view (or a 500 when out of memory). */
static void
reply_vm(struct jit_call *c, int status, const struct jit_vm_view *v)
{
	struct jit_error err;
	json_t *j = vm_json(v);

	if (j == NULL) {
		jit_errorf(&err, 500, JIT_E_INTERNAL, "out of memory");
		jit_call_fail(c, &err);
		return;
	}
	jit_call_reply(c, status, j);
}

static int
parse_count(const char *s, uint64_t *out)
{
	return jit_number_parse_u64(s, out);
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
	uint64_t want = 0, wait_s = (uint64_t)c->api->long_poll_max_s;
	struct jit_vm_view *v;
	struct jit_actor a;
	struct jit_error err;
	struct jit_rid id;
	int r;

	if (want_text != NULL && (parse_count(want_text, &want) != 0 ||
		(wait_text != NULL && parse_count(wait_text, &wait_s) != 0))) {
		jit_errorf(&err, 400, JIT_E_BAD_REQUEST,
			"appliedVersion and wait must be non-negative integers");
		jit_call_fail(c, &err);
		return;
	}
	if (wait_s > (uint64_t)c->api->long_poll_max_s)
		wait_s = (uint64_t)c->api->long_poll_max_s;
	if ((v = malloc(sizeof(*v))) == NULL) {
		jit_errorf(&err, 500, JIT_E_INTERNAL, "out of memory");
		jit_call_fail(c, &err);
		return;
	}
	jit_rid_vm(&id, c->sub, c->rg, c->name);
	jit_call_actor(c, &a);
	if (want_text == NULL)
		r = jit_svc_vm_get(c->api->store, &a, &id, v, &err);
	else
		r = jit_svc_vm_get_applied(c->api->store, &a, &id, want,
			c->now + (jit_time)wait_s * JIT_NS_PER_SEC, &c->api->stopping, v, &err);
	if (r != 0)
		jit_call_fail(c, &err);
	else
		reply_vm(c, 200, v);
	free(v);
}

void
jit_h_vm_put(struct jit_call *c)
{
	char id[JIT_RESOURCE_ID_MAX];
	struct jit_vm_view *out = NULL;
	struct jit_vm vm;
	json_t *body = NULL;
	struct jit_actor a;
	struct jit_error err;
	bool created;

	jit_rid_vm(&c->audit_vm, c->sub, c->rg, c->name);
	c->audit_vms = &c->audit_vm;
	c->n_audit_vms = 1;
	jit_rid_format(&c->audit_vm, id, sizeof(id));
	if (jit_call_body(c, &body, &err) != 0 || jit_vm_from_json(body, &vm, &err) != 0)
		goto refuse;
	vm.id = c->audit_vm;
	if (body_string(body, "location", vm.location, sizeof(vm.location), &err) != 0 ||
		(vm.location[0] != '\0' && jit_rid_check_name(vm.location, "location", &err) != 0 &&
		jit_error_prefix(&err, "location") != 0))
		goto refuse;
	json_decref(body);
	if ((out = malloc(sizeof(*out))) == NULL) {
		jit_errorf(&err, 500, JIT_E_INTERNAL, "out of memory");
		jit_call_fail(c, &err);
		return;
	}
	jit_call_actor(c, &a);
	if (jit_svc_vm_put(c->api->store, &a, &vm, out, &created, &err) != 0)
		jit_call_fail_audited(c, &err);
	else
		reply_vm(c, created ? 201 : 200, out);
	free(out);
	return;
refuse:
	json_decref(body);
	jit_call_refuse(c, id, &err);
}

void
jit_h_vm_delete(struct jit_call *c)
{
	struct jit_actor a;
	struct jit_error err;
	struct jit_rid id;
	bool existed;

	jit_rid_vm(&id, c->sub, c->rg, c->name);
	jit_call_actor(c, &a);
	if (jit_svc_vm_delete(c->api->store, &a, &id, &existed, &err) != 0)
		jit_call_fail_audited(c, &err);
	else
		jit_call_reply(c, existed ? 200 : 204, NULL);
}
