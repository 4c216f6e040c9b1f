/*
 * api_agent.c: enforcement points and the agent channel (docs/agent-protocol.md).
 *
 * An Owner makes a one-time enrollment token bound to a resource group; an agent
 * trades it for its own credential and becomes an enforcement point (a "host"
 * also registers its own VM). The agent then long-polls its desired state, which
 * returns at once when the state changed since the version it holds, else within
 * long_poll_max_s; a change wakes every waiting poll immediately. Handlers parse,
 * call svc_agents and render.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "svc_agents.h"
#include "auth.h"
#include "desired_state.h"
#include "duration.h"
#include "log.h"
#include "text.h"
#include "model_json.h"
#include "number.h"
#include "vm.h"

#define ENROLLMENT_DEFAULT_NS (3600LL * JIT_NS_PER_SEC)
#define ENROLLMENT_MAX_NS (7LL * 24 * 3600 * JIT_NS_PER_SEC)

static json_t *
ep_json(const struct jit_enforcement_point *ep)
{
	char id[JIT_RESOURCE_ID_MAX], seen[JIT_TIME_BUFSZ];
	json_t *status = NULL, *props;

	jit_rid_format(&ep->id, id, sizeof(id));
	if (ep->status_json != NULL)
		status = json_loads(ep->status_json, 0, NULL);
	props = json_pack("{s:s,s:I,s:I,s:b}", "kind", jit_ep_kind_name(ep->kind),
		"desiredVersion", (json_int_t)ep->version, "appliedVersion",
		(json_int_t)ep->applied_version, "inSync", ep->version == ep->applied_version);
	if (props == NULL) {
		json_decref(status);
		return NULL;
	}
	if (ep->last_seen != 0) {
		jit_time_format(ep->last_seen, seen);
		json_object_set_new(props, "lastSeenUtc", json_string(seen));
	}
	if (status != NULL)
		json_object_set_new(props, "status", status);
	return json_pack("{s:s,s:s,s:s,s:o}", "id", id, "name", ep->id.name, "type",
		"Jitgate/enforcementPoints", "properties", props);
}

void
jit_h_ep_list(struct jit_call *c)
{
	struct jit_enforcement_point *eps;
	struct jit_actor a;
	struct jit_error err;
	struct jit_rid scope;
	json_t *value;
	size_t n;

	if (c->rg[0] != '\0')
		jit_rid_resource_group(&scope, c->sub, c->rg);
	else
		jit_rid_subscription(&scope, c->sub);
	jit_call_actor(c, &a);
	if (jit_svc_ep_list(c->api->store, &a, &scope, &eps, &n, &err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	value = json_array();
	for (size_t i = 0; value != NULL && i < n; i++)
		json_array_append_new(value, ep_json(&eps[i]));
	jit_enforcement_points_free(eps, n);
	jit_call_reply(c, 200, json_pack("{s:o}", "value", value));
}

void
jit_h_ep_get(struct jit_call *c)
{
	struct jit_enforcement_point ep;
	struct jit_actor a;
	struct jit_error err;
	struct jit_rid id;

	jit_rid_enforcement_point(&id, c->sub, c->rg, c->name);
	jit_call_actor(c, &a);
	if (jit_svc_ep_get(c->api->store, &a, &id, &ep, &err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	jit_call_reply(c, 200, ep_json(&ep));
	jit_enforcement_point_clear(&ep);
}

void
jit_h_ep_delete(struct jit_call *c)
{
	struct jit_actor a;
	struct jit_error err;
	struct jit_rid id;
	bool existed;

	jit_rid_enforcement_point(&id, c->sub, c->rg, c->name);
	jit_call_actor(c, &a);
	if (jit_svc_ep_delete(c->api->store, &a, &id, &existed, &err) != 0)
		jit_call_fail(c, &err);
	else
		jit_call_reply(c, existed ? 200 : 204, NULL);
}

void
jit_h_enrollment_token_create(struct jit_call *c)
{
	char id[JIT_RESOURCE_ID_MAX], expires_text[JIT_TIME_BUFSZ];
	int64_t valid_ns = ENROLLMENT_DEFAULT_NS;
	struct jit_token tok;
	struct jit_actor a;
	struct jit_error err;
	json_t *body = NULL;
	struct jit_rid rg;
	jit_time expires;

	jit_rid_resource_group(&rg, c->sub, c->rg);
	jit_rid_format(&rg, id, sizeof(id));
	if (c->req->body_len > 0) {
		const json_t *v;

		if (jit_call_body(c, &body, &err) != 0)
			goto refuse;
		v = json_object_get(body, "validFor");
		if (v != NULL && (!json_is_string(v) ||
			jit_duration_parse(json_string_value(v), &valid_ns, &err) != 0)) {
			jit_errorf(&err, 400, JIT_E_INVALID_CONTENT,
				"validFor: must be an ISO 8601 duration such as PT1H");
			goto refuse;
		}
		if (valid_ns > ENROLLMENT_MAX_NS) {
			jit_errorf(&err, 400, JIT_E_INVALID_CONTENT,
				"validFor: an enrollment token lives at most P7D");
			goto refuse;
		}
	}
	json_decref(body);
	expires = c->now + valid_ns;
	jit_call_actor(c, &a);
	if (jit_svc_enrollment_create(c->api->store, &a, &rg, expires, &tok, &err) != 0) {
		jit_call_fail_audited(c, &err);
		return;
	}
	jit_time_format(expires, expires_text);
	jit_call_reply(c, 201, json_pack("{s:s,s:s,s:s}", "token", tok.text, "resourceGroup", id,
		"expiresAtUtc", expires_text));
	sodium_memzero(&tok, sizeof(tok));
	return;
refuse:
	json_decref(body);
	jit_call_refuse(c, id, &err);
}

/* The enroll body: {"enrollmentToken", "name", "kind", "vm": {"name", "osType",
 * "addresses"}} with vm required for hosts and refused for gateways. */

static int
parse_enroll(const json_t *body, struct jit_enrollment *out, struct jit_error *err)
{
	const json_t *tok = json_object_get(body, "enrollmentToken");
	const json_t *name = json_object_get(body, "name");
	const json_t *kind = json_object_get(body, "kind");
	const json_t *vm = json_object_get(body, "vm");

	memset(out, 0, sizeof(*out));
	if (!json_is_string(tok) || !jit_token_parse("jge", json_string_value(tok), &out->token))
		return jit_errorf(err, 401, JIT_E_UNAUTHENTICATED,
			"enrollmentToken: missing or not a jitgate enrollment token");
	if (!json_is_string(name) ||
		jit_rid_check_name(json_string_value(name), "enforcement point name", err) != 0)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"name: must be a name of 1-%d letters, digits, '.', '_', '-', '(' or ')'",
			JIT_NAME_MAX);
	snprintf(out->name, sizeof(out->name), "%s", json_string_value(name));
	if (!json_is_string(kind) || jit_ep_kind_parse(json_string_value(kind), &out->kind,
		err) != 0)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"kind: must be \"host\" or \"gateway\"");
	if (out->kind == JIT_EP_GATEWAY && vm != NULL && !json_is_null(vm))
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"vm: a gateway protects VMs assigned to it with PUT .../virtualMachines/{vm}; "
			"it registers none itself");
	if (out->kind == JIT_EP_HOST) {
		const json_t *vname = json_object_get(vm, "name");
		json_t *props;
		int r;

		if (!json_is_object(vm))
			return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
				"vm: a host agent registers its own VM: {\"name\", \"osType\", "
				"\"addresses\"}");
		if (!json_is_string(vname) ||
			jit_rid_check_name(json_string_value(vname), "VM name", err) != 0)
			return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
				"vm.name: must be a valid VM name");
		snprintf(out->vm.id.name, sizeof(out->vm.id.name), "%s", json_string_value(vname));
		props = json_pack("{s:{s:O?,s:O?}}", "properties", "osType",
			json_object_get(vm, "osType"), "addresses", json_object_get(vm, "addresses"));
		if (props == NULL)
			return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
		r = jit_vm_from_json(props, &out->vm, err);
		json_decref(props);
		if (r != 0)
			return jit_error_prefix(err, "vm");
		snprintf(out->vm.id.name, sizeof(out->vm.id.name), "%s", json_string_value(vname));
		out->has_vm = true;
	}
	return 0;
}

void
jit_h_agent_enroll(struct jit_call *c)
{
	struct jit_enrollment b;
	struct jit_enrolled out;
	char ep_text[JIT_RESOURCE_ID_MAX];
	struct jit_actor a;
	struct jit_error err;
	json_t *body = NULL;
	int r;

	/* An enrollment's refusals are an unauthenticated caller's: counted per address (429
	 * past the limit) and audited, the first few one by one (auth_throttle.h). */
	if (jit_call_body(c, &body, &err) != 0 || parse_enroll(body, &b, &err) != 0) {
		json_decref(body);
		sodium_memzero(&b, sizeof(b));
		jit_call_credential_refused(c, &err);
		jit_call_fail(c, &err);
		return;
	}
	json_decref(body);
	jit_call_actor(c, &a);
	r = jit_svc_agent_enroll(c->api->store, &a, &b, &out, &err);
	sodium_memzero(&b.token, sizeof(b.token));
	if (r != 0) {
		if (err.status < 500)
			jit_call_credential_refused(c, &err);
		jit_call_fail(c, &err);
		return;
	}
	jit_rid_format(&out.ep, ep_text, sizeof(ep_text));
	jit_call_reply(c, 200, json_pack("{s:s,s:s,s:s,s:s}", "enforcementPoint", ep_text,
		"credential", out.credential.text, "kind", jit_ep_kind_name(b.kind), "vm",
		out.vm_id));
	sodium_memzero(&out.credential, sizeof(out.credential));
}

static int
parse_u64(const char *s, uint64_t *out)
{
	return jit_number_parse_u64(s, out);
}

void
jit_h_agent_desired_state(struct jit_call *c)
{
	const char *have_text = jit_http_query(c->req, "version");
	const char *wait_text = jit_http_query(c->req, "wait");
	struct jit_desired_state *ds = NULL;
	uint64_t have = 0, wait_s = 0;
	struct jit_actor a;
	struct jit_error err;

	if ((have_text != NULL && parse_u64(have_text, &have) != 0) ||
		(wait_text != NULL && parse_u64(wait_text, &wait_s) != 0)) {
		jit_errorf(&err, 400, JIT_E_BAD_REQUEST,
			"version and wait must be non-negative integers");
		jit_call_fail(c, &err);
		return;
	}
	if (wait_text == NULL || wait_s > (uint64_t)c->api->long_poll_max_s)
		wait_s = (uint64_t)c->api->long_poll_max_s;
	jit_call_actor(c, &a);
	if (jit_svc_agent_desired_state(c->api->store, &a, have_text ? &have : NULL,
		c->now + (jit_time)wait_s * JIT_NS_PER_SEC, &c->api->stopping, &ds, &err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	jit_call_reply(c, 200, jit_desired_state_to_json(ds));
	jit_desired_state_free(ds);
}

/* A copy of a reported value with every string (object keys too) made terminal-safe:
 * an agent's words are shown to operators by the CLI and the console, and a compromised
 * agent must not plant escape sequences or bidi overrides in them (security finding 14). */
static json_t *
sanitized_copy(const json_t *v, int depth)
{
	const char *key;
	json_t *out, *item;
	size_t i;

	if (depth > 8)
		return json_null();
	if (json_is_string(v)) {
		char *t = jit_text_sanitize(json_string_value(v));

		out = t ? json_string(t) : NULL;
		free(t);
		return out;
	}
	if (json_is_array(v)) {
		if ((out = json_array()) == NULL)
			return NULL;
		json_array_foreach(v, i, item)
			if (json_array_append_new(out, sanitized_copy(item, depth + 1)) != 0) {
				json_decref(out);
				return NULL;
			}
		return out;
	}
	if (json_is_object(v)) {
		if ((out = json_object()) == NULL)
			return NULL;
		json_object_foreach((json_t *)v, key, item) {
			char *k = jit_text_sanitize(key);

			if (k == NULL || json_object_set_new(out, k, sanitized_copy(item,
				depth + 1)) != 0) {
				free(k);
				json_decref(out);
				return NULL;
			}
			free(k);
		}
		return out;
	}
	return json_deep_copy(v);
}

/* {"appliedVersion": N, "healthy": bool, "capabilities": {...}, "os": "...",
 *  "addresses": [...], "message": "..."}: kept as reported for operators. */
static int
parse_status(const json_t *body, uint64_t *applied, char **status_json, struct jit_error *err)
{
	const json_t *v = json_object_get(body, "appliedVersion");
	const char *key;
	json_t *val, *keep;

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"appliedVersion: must be a non-negative integer");
	*applied = (uint64_t)json_integer_value(v);
	if ((v = json_object_get(body, "healthy")) != NULL && !json_is_boolean(v))
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT, "healthy: must be a boolean");
	if ((v = json_object_get(body, "capabilities")) != NULL && !json_is_object(v))
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT, "capabilities: must be an object");
	if ((v = json_object_get(body, "os")) != NULL && !json_is_string(v))
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT, "os: must be a string");
	if ((v = json_object_get(body, "message")) != NULL && !json_is_string(v))
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT, "message: must be a string");
	if ((v = json_object_get(body, "addresses")) != NULL && !json_is_array(v))
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT, "addresses: must be an array");
	if ((keep = json_object()) == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	json_object_foreach((json_t *)body, key, val) {
		if (strcmp(key, "healthy") == 0 || strcmp(key, "capabilities") == 0 ||
			strcmp(key, "os") == 0 || strcmp(key, "message") == 0 ||
			strcmp(key, "addresses") == 0 || strcmp(key, "appliedVersion") == 0) {
			json_t *safe = sanitized_copy(val, 0);

			if (safe == NULL || json_object_set_new(keep, key, safe) != 0) {
				json_decref(keep);
				return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
			}
		}
	}
	*status_json = json_dumps(keep, JSON_COMPACT);
	json_decref(keep);
	if (*status_json == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	if (strlen(*status_json) > JIT_EP_STATUS_MAX_BYTES) {
		free(*status_json);
		*status_json = NULL;
		return jit_errorf(err, 413, JIT_E_TOO_LARGE, "a status report is at most %d bytes",
			JIT_EP_STATUS_MAX_BYTES);
	}
	return 0;
}

void
jit_h_agent_status(struct jit_call *c)
{
	char *status_json = NULL;
	struct jit_actor a;
	struct jit_error err;
	json_t *body = NULL;
	uint64_t applied = 0;

	if (jit_call_body(c, &body, &err) != 0 ||
		parse_status(body, &applied, &status_json, &err) != 0)
		goto fail;
	jit_call_actor(c, &a);
	if (jit_svc_agent_report(c->api->store, &a, applied, status_json, &err) != 0)
		goto fail;
	json_decref(body);
	free(status_json);
	jit_call_reply(c, 204, NULL);
	return;
fail:
	json_decref(body);
	free(status_json);
	jit_call_fail(c, &err);
}
