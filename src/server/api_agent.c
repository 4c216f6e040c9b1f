/*
 * api_agent.c: enforcement points and the agent channel (docs/agent-protocol.md).
 *
 * An Owner makes a one-time enrollment token bound to a resource group; an agent
 * trades it for its own credential and becomes an enforcement point (a "host"
 * also registers its own VM). The agent then long-polls its desired state, which
 * returns at once when the state changed since the version it holds, else within
 * long_poll_max_s; a change wakes every waiting poll immediately.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "auth.h"
#include "desired_state.h"
#include "duration.h"
#include "log.h"
#include "text.h"
#include "model_json.h"
#include "vm.h"

#define ENROLLMENT_DEFAULT_NS (3600LL * JIT_NS_PER_SEC)
#define ENROLLMENT_MAX_NS (7LL * 24 * 3600 * JIT_NS_PER_SEC)
/* A status report is small: capabilities, OS, addresses, a message. */
#define STATUS_MAX_BYTES (16 * 1024)

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
	struct jit_enforcement_point *eps = NULL;
	struct jit_store *st = c->api->store;
	struct jit_subscription sub;
	struct jit_error err;
	struct jit_rid scope;
	json_t *value;
	size_t n = 0;

	if (c->rg[0] != '\0')
		jit_rid_resource_group(&scope, c->sub, c->rg);
	else
		jit_rid_subscription(&scope, c->sub);
	if (jit_store_begin(st, false, &c->tx, &err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	if (jit_store_sub_get(c->tx, c->sub, &sub, &err) != 0 ||
		jit_store_ep_list(c->tx, &scope, &eps, &n, &err) != 0) {
		jit_store_rollback(c->tx);
		jit_call_fail(c, &err);
		return;
	}
	jit_store_rollback(c->tx);
	value = json_array();
	for (size_t i = 0; value != NULL && i < n; i++)
		if (jit_call_can(c, c->action, &eps[i].id))
			json_array_append_new(value, ep_json(&eps[i]));
	jit_enforcement_points_free(eps, n);
	jit_call_reply(c, 200, json_pack("{s:o}", "value", value));
}

void
jit_h_ep_get(struct jit_call *c)
{
	struct jit_store *st = c->api->store;
	struct jit_enforcement_point ep;
	struct jit_error err;
	struct jit_rid id;
	int r;

	jit_rid_enforcement_point(&id, c->sub, c->rg, c->name);
	if (jit_store_begin(st, false, &c->tx, &err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	r = jit_store_ep_get(c->tx, &id, &ep, &err);
	jit_store_rollback(c->tx);
	if (r != 0) {
		jit_call_fail(c, &err);
		return;
	}
	jit_call_reply(c, 200, ep_json(&ep));
	jit_enforcement_point_clear(&ep);
}

void
jit_h_ep_delete(struct jit_call *c)
{
	struct jit_store *st = c->api->store;
	char id_text[JIT_RESOURCE_ID_MAX];
	struct jit_error err;
	struct jit_rid id;
	bool existed;

	jit_rid_enforcement_point(&id, c->sub, c->rg, c->name);
	jit_rid_format(&id, id_text, sizeof(id_text));
	if (jit_store_begin(st, true, &c->tx, &err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	if (jit_store_ep_delete(c->tx, &id, c->now, &existed, &err) != 0 ||
		(existed && jit_call_audit(c, c->action, id_text, 200, NULL, &err) != 0)) {
		jit_store_rollback(c->tx);
		jit_call_fail(c, &err);
		return;
	}
	if (jit_store_commit(c->tx, &err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	jit_call_reply(c, existed ? 200 : 204, NULL);
}

void
jit_h_enrollment_token_create(struct jit_call *c)
{
	struct jit_store *st = c->api->store;
	char id[JIT_RESOURCE_ID_MAX], expires_text[JIT_TIME_BUFSZ];
	int64_t valid_ns = ENROLLMENT_DEFAULT_NS;
	struct jit_token tok;
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
	expires = c->now + valid_ns;
	if (jit_token_new("jge", &tok, &err) != 0 || jit_store_begin(st, true, &c->tx, &err) != 0)
		goto fail;
	if (jit_store_enrollment_add(c->tx, tok.id, tok.hash, &rg, c->now, expires, c->principal.id,
		&err) != 0 || jit_call_audit(c, c->action, id, 201, NULL, &err) != 0) {
		jit_store_rollback(c->tx);
		if (err.status >= 500)
			goto fail;
		goto refuse;
	}
	if (jit_store_commit(c->tx, &err) != 0)
		goto fail;
	jit_time_format(expires, expires_text);
	jit_call_reply(c, 201, json_pack("{s:s,s:s,s:s}", "token", tok.text, "resourceGroup", id,
		"expiresAtUtc", expires_text));
	sodium_memzero(&tok, sizeof(tok));
	json_decref(body);
	return;
refuse:
	jit_call_audit_failure(c, id, &err);
fail:
	json_decref(body);
	jit_call_fail(c, &err);
}

/* The enroll body: {"enrollmentToken", "name", "kind", "vm": {"name", "osType",
 * "addresses"}} with vm required for hosts and refused for gateways. */
struct enroll_body {
	struct jit_token token;
	char name[JIT_NAME_MAX + 1];
	enum jit_ep_kind kind;
	bool has_vm;
	struct jit_vm vm;
};

static int
parse_enroll(const json_t *body, struct enroll_body *out, struct jit_error *err)
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

/* Registers (or re-binds) a host agent's own VM to its new enforcement point. */
static int
enroll_host_vm(struct jit_call *c, struct enroll_body *b, const struct jit_rid *rg,
	const struct jit_rid *ep, char vm_id[JIT_RESOURCE_ID_MAX], struct jit_error *err)
{
	struct jit_vm existing;
	struct jit_error ignored;
	bool created;
	char name[JIT_NAME_MAX + 1];

	/* jit_rid_vm rewrites the whole ID, so take the name out first. */
	snprintf(name, sizeof(name), "%s", b->vm.id.name);
	jit_rid_vm(&b->vm.id, rg->sub, rg->rg, name);
	jit_rid_format(&b->vm.id, vm_id, JIT_RESOURCE_ID_MAX);
	if (jit_store_vm_get(c->tx, &b->vm.id, &existing, &ignored) == 0) {
		/* An enrollment token must not take a VM away from the point protecting it (that
		 * would unlock the real host): delete that enforcement point first. */
		if (existing.enforcement_point[0] != '\0')
			return jit_errorf(err, 409, JIT_E_CONFLICT,
				"vm.name: the virtual machine '%s' is already protected by the enforcement "
				"point '%s'; delete that enforcement point to re-enroll this host", name,
				existing.enforcement_point);
		snprintf(b->vm.location, sizeof(b->vm.location), "%s", existing.location);
	}
	if (jit_rid_format(ep, b->vm.enforcement_point, sizeof(b->vm.enforcement_point)) < 0)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "enforcement point ID too long");
	return jit_store_vm_put(c->tx, &b->vm, &created, err);
}

void
jit_h_agent_enroll(struct jit_call *c)
{
	struct jit_store *st = c->api->store;
	char ep_text[JIT_RESOURCE_ID_MAX], vm_id[JIT_RESOURCE_ID_MAX] = "";
	uint8_t stored[JIT_TOKEN_HASH_BYTES];
	struct jit_enforcement_point ep = {0};
	struct jit_principal agent = {0};
	struct enroll_body b;
	struct jit_token cred;
	struct jit_error err;
	json_t *body = NULL;
	struct jit_rid rg;
	bool found;

	if (jit_call_body(c, &body, &err) != 0 || parse_enroll(body, &b, &err) != 0)
		goto refuse;
	if (jit_token_new("jgt", &cred, &err) != 0 || jit_store_begin(st, true, &c->tx, &err) != 0)
		goto fail;
	if (jit_store_enrollment_find(c->tx, b.token.id, c->now, stored, &rg, &found, &err) != 0)
		goto rollback;
	if (!found || !jit_token_hash_equal(stored, b.token.hash)) {
		jit_errorf(&err, 401, JIT_E_UNAUTHENTICATED,
			"enrollmentToken: the enrollment token is unknown, used or expired");
		goto rollback;
	}
	jit_rid_enforcement_point(&ep.id, rg.sub, rg.rg, b.name);
	jit_rid_format(&ep.id, ep_text, sizeof(ep_text));
	agent.kind = JIT_PRINCIPAL_AGENT;
	agent.created = c->now;
	/* Named after its credential's public id (unique); displayed as the point's ID. */
	snprintf(agent.name, sizeof(agent.name), "agent-%s", cred.id);
	snprintf(agent.display_name, sizeof(agent.display_name), "agent %.90s", ep.id.name);
	ep.kind = b.kind;
	ep.created = c->now;
	if (jit_store_enrollment_use(c->tx, b.token.id, c->now, &err) != 0 ||
		jit_store_principal_add(c->tx, &agent, &err) != 0)
		goto rollback;
	ep.principal_id = agent.id;
	if (jit_store_ep_add(c->tx, &ep, &err) != 0 ||
		jit_store_token_add(c->tx, agent.id, "agent credential", cred.id, cred.hash, c->now, 0,
			&err) != 0 ||
		(b.has_vm && enroll_host_vm(c, &b, &rg, &ep.id, vm_id, &err) != 0))
		goto rollback;
	c->principal = agent;
	c->authenticated = true;
	if (b.has_vm) {
		c->audit_vm = b.vm.id;
		c->audit_vms = &c->audit_vm;
		c->n_audit_vms = 1;
	}
	if (jit_call_audit(c, c->action, ep_text, 200, NULL, &err) != 0)
		goto rollback;
	if (jit_store_commit(c->tx, &err) != 0)
		goto fail;
	jit_log(JIT_LOG_INFO, "agent_enrolled", "enforcement_point", ep_text, "kind",
		jit_ep_kind_name(b.kind), "vm", vm_id[0] ? vm_id : NULL, (const char *)NULL);
	jit_call_reply(c, 200, json_pack("{s:s,s:s,s:s,s:s}", "enforcementPoint", ep_text,
		"credential", cred.text, "kind", jit_ep_kind_name(b.kind), "vm", vm_id));
	sodium_memzero(&cred, sizeof(cred));
	json_decref(body);
	return;
rollback:
	jit_store_rollback(c->tx);
	if (err.status >= 500)
		goto fail;
refuse:
	/* An enrollment's refusals are an unauthenticated caller's: counted per address (429
	 * past the limit) and audited, the first few one by one (auth_throttle.h). */
	c->authenticated = false;
	jit_call_credential_refused(c, &err);
fail:
	sodium_memzero(&cred, sizeof(cred));
	json_decref(body);
	jit_call_fail(c, &err);
}

/* The enforcement point of the calling agent. */
static int
caller_ep(struct jit_call *c, struct jit_rid *out, struct jit_error *err)
{
	struct jit_enforcement_point ep;
	bool found;

	if (jit_store_ep_by_principal(c->tx, c->principal.id, &ep, &found, err) != 0)
		return -1;
	if (!found)
		return jit_errorf(err, 403, JIT_E_FORBIDDEN,
			"The agent credential belongs to no enforcement point.");
	*out = ep.id;
	jit_enforcement_point_clear(&ep);
	return 0;
}

static int
parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (s == NULL || *s < '0' || *s > '9' || strlen(s) > 19)
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return *end != '\0' || errno != 0 ? -1 : 0;
}

void
jit_h_agent_desired_state(struct jit_call *c)
{
	struct jit_store *st = c->api->store;
	const char *have_text = jit_http_query(c->req, "version");
	const char *wait_text = jit_http_query(c->req, "wait");
	struct jit_desired_state *ds = NULL;
	uint64_t have = 0, wait_s = 0;
	struct jit_error err;
	struct jit_rid ep;
	jit_time deadline;

	if ((have_text != NULL && parse_u64(have_text, &have) != 0) ||
		(wait_text != NULL && parse_u64(wait_text, &wait_s) != 0)) {
		jit_errorf(&err, 400, JIT_E_BAD_REQUEST,
			"version and wait must be non-negative integers");
		jit_call_fail(c, &err);
		return;
	}
	if (wait_text == NULL || wait_s > (uint64_t)c->api->long_poll_max_s)
		wait_s = (uint64_t)c->api->long_poll_max_s;
	deadline = c->now + (jit_time)wait_s * JIT_NS_PER_SEC;
	for (;;) {
		/* Read the generation first: a commit after it wakes the wait below. */
		uint64_t gen = jit_store_generation(st);
		jit_time now = jit_time_now();
		int r;

		if (jit_store_begin(st, false, &c->tx, &err) != 0) {
			jit_call_fail(c, &err);
			return;
		}
		r = caller_ep(c, &ep, &err);
		if (r == 0)
			r = jit_store_ep_desired_state(c->tx, &ep, now, &ds, &err);
		jit_store_rollback(c->tx);
		if (r != 0) {
			jit_call_fail(c, &err);
			return;
		}
		if (have_text == NULL || ds->version != have || now >= deadline ||
			atomic_load(&c->api->stopping))
			break;
		jit_desired_state_free(ds);
		ds = NULL;
		jit_store_wait_change(st, gen, (int)((deadline - now) / 1000000) + 1);
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
	if (strlen(*status_json) > STATUS_MAX_BYTES) {
		free(*status_json);
		*status_json = NULL;
		return jit_errorf(err, 413, JIT_E_TOO_LARGE, "a status report is at most %d bytes",
			STATUS_MAX_BYTES);
	}
	return 0;
}

/* When an agent reports a newer applied version, its grants are in force: one audit
 * entry says which (VM, port, source, end time), for every VM it protects. */
static int
audit_applied(struct jit_call *c, const struct jit_rid *ep, uint64_t applied,
	struct jit_error *err)
{
	struct jit_enforcement_point cur;
	struct jit_desired_state *ds = NULL;
	struct jit_rid *vms = NULL;
	char id[JIT_RESOURCE_ID_MAX];
	json_t *grants, *d;
	char *details = NULL;
	size_t n_vms = 0;
	int r = -1;

	if (jit_store_ep_get(c->tx, ep, &cur, err) != 0)
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
	if (jit_store_ep_desired_state(c->tx, ep, c->now, &ds, err) != 0)
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
	c->audit_vms = vms;
	c->n_audit_vms = n_vms;
	r = jit_call_audit(c, "Jitgate/enforcementPoints/apply/action", id, 200, details, err);
	c->audit_vms = NULL;
	c->n_audit_vms = 0;
out:
	json_decref(grants);
	free(details);
	free(vms);
	jit_desired_state_free(ds);
	return r;
}

void
jit_h_agent_status(struct jit_call *c)
{
	struct jit_store *st = c->api->store;
	char *status_json = NULL;
	struct jit_error err;
	json_t *body = NULL;
	struct jit_rid ep;
	uint64_t applied = 0;

	if (jit_call_body(c, &body, &err) != 0 ||
		parse_status(body, &applied, &status_json, &err) != 0)
		goto fail;
	if (jit_store_begin(st, true, &c->tx, &err) != 0)
		goto fail;
	if (caller_ep(c, &ep, &err) != 0 || audit_applied(c, &ep, applied, &err) != 0 ||
		jit_store_ep_report(c->tx, &ep, applied, status_json, c->now, &err) != 0) {
		jit_store_rollback(c->tx);
		goto fail;
	}
	if (jit_store_commit(c->tx, &err) != 0)
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
