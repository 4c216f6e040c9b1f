/*
 * api_audit.c: the audit log (query, CSV export, verification), JIT settings (a
 * security policy that disables JIT on a subscription or resource group), and the
 * per-VM JIT state and statistics shown with every VM.
 *
 * The audit log answers "who opened what, from where, when, why, and until when"
 * for any VM. Nothing here deletes or changes an entry: there is no route for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "number.h"
#include "svc_audit.h"
#include "svc_inventory.h"
#include "timestamp.h"
#include "vm.h"

#define AUDIT_PAGE_DEFAULT 100

static const struct jit_rid root_scope = {.kind = JIT_RID_ROOT};

/* ---- VM JIT state ---- */


json_t *
jit_vm_jit_json(const struct jit_vm *vm, const struct jit_vm_jit *j)
{
	char buf[JIT_RESOURCE_ID_MAX], addr[JIT_PREFIX_BUFSZ];
	json_t *o = json_pack("{s:s}", "state", jit_vm_state_token(j->state));
	json_t *addrs = json_array(), *ports = json_array();

	if (o == NULL || addrs == NULL || ports == NULL) {
		json_decref(o);
		json_decref(addrs);
		json_decref(ports);
		return NULL;
	}
	if (j->state == JIT_VM_UNSUPPORTED || j->reason[0] != '\0')
		json_object_set_new(o, "reason", json_string(j->reason));
	if (j->in_policy && jit_rid_format(&j->policy, buf, sizeof(buf)) >= 0)
		json_object_set_new(o, "policy", json_string(buf));
	json_object_set_new(o, "approvedRequestsLast7Days",
		json_integer(j->approved_last_7_days));
	if (j->last_access != 0) {
		jit_time_format(j->last_access, buf);
		json_object_set_new(o, "lastAccessUtc", json_string(buf));
		json_object_set_new(o, "lastUser", json_string(j->last_user));
	}
	if (j->has_ep) {
		json_object_set_new(o, "enforcementPointHealthy", json_boolean(j->ep_healthy));
		/* So that whoever may read the VM can tell when a change is in force (--wait). */
		json_object_set_new(o, "enforcementPointDesiredVersion",
			json_integer((json_int_t)j->ep_version));
		json_object_set_new(o, "enforcementPointAppliedVersion",
			json_integer((json_int_t)j->ep_applied));
		if (j->ep_last_seen != 0) {
			jit_time_format(j->ep_last_seen, buf);
			json_object_set_new(o, "enforcementPointLastSeenUtc", json_string(buf));
		}
	}
	for (size_t i = 0; i < vm->n_addresses; i++) {
		jit_prefix_format(&vm->addresses[i], addr);
		json_array_append_new(addrs, json_string(addr));
	}
	for (size_t i = 0; i < j->n_ports; i++) {
		json_t *p = json_pack("{s:i}", "number", j->ports[i]);

		if (p != NULL && j->mapped_ports[i] != 0)
			json_object_set_new(p, "mappedPort", json_integer(j->mapped_ports[i]));
		json_array_append_new(ports, p);
	}
	json_object_set_new(o, "connection", json_pack("{s:o,s:o}", "addresses", addrs, "ports",
		ports));
	return o;
}

/* ---- JIT settings ---- */

static void
settings_scope(const struct jit_call *c, struct jit_rid *out)
{
	if (c->rg[0] != '\0')
		jit_rid_resource_group(out, c->sub, c->rg);
	else
		jit_rid_subscription(out, c->sub);
}

static json_t *
settings_json(const struct jit_settings *s)
{
	char scope[JIT_RESOURCE_ID_MAX], id[JIT_RESOURCE_ID_MAX + 64], when[JIT_TIME_BUFSZ];
	json_t *props;

	jit_rid_format(&s->scope, scope, sizeof(scope));
	snprintf(id, sizeof(id), "%s/providers/Microsoft.Security/jitSettings/default", scope);
	props = json_pack("{s:b}", "enabled", s->enabled);
	if (props != NULL && s->reason[0] != '\0')
		json_object_set_new(props, "reason", json_string(s->reason));
	if (props != NULL && s->updated != 0) {
		jit_time_format(s->updated, when);
		json_object_set_new(props, "updatedUtc", json_string(when));
	}
	return json_pack("{s:s,s:s,s:s,s:o}", "id", id, "name", "default", "type",
		"Microsoft.Security/jitSettings", "properties", props);
}

static int
settings_name(const struct jit_call *c, struct jit_error *err)
{
	if (strcasecmp(c->name, "default") != 0)
		return jit_errorf(err, 404, JIT_E_NOT_FOUND,
			"JIT settings are named 'default' (.../providers/Microsoft.Security/jitSettings/"
			"default).");
	return 0;
}

void
jit_h_settings_get(struct jit_call *c)
{
	struct jit_settings s;
	struct jit_actor a;
	struct jit_error err;
	struct jit_rid scope;

	settings_scope(c, &scope);
	jit_call_actor(c, &a);
	if (settings_name(c, &err) != 0 ||
		jit_svc_settings_get(c->api->store, &a, &scope, &s, &err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	jit_call_reply(c, 200, settings_json(&s));
}

void
jit_h_settings_put(struct jit_call *c)
{
	struct jit_settings s = {.updated = c->now};
	struct jit_actor a;
	const json_t *props, *v;
	struct jit_error err;
	json_t *body = NULL;
	char id[JIT_RESOURCE_ID_MAX];

	settings_scope(c, &s.scope);
	jit_rid_format(&s.scope, id, sizeof(id));
	if (settings_name(c, &err) != 0 || jit_call_body(c, &body, &err) != 0)
		goto refuse;
	props = json_object_get(body, "properties");
	v = json_object_get(props, "enabled");
	if (!json_is_object(props) || !json_is_boolean(v)) {
		jit_errorf(&err, 400, JIT_E_INVALID_CONTENT,
			"properties.enabled: is required, true or false");
		goto refuse;
	}
	s.enabled = json_is_true(v);
	v = json_object_get(props, "reason");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v) || json_string_length(v) >= sizeof(s.reason)) {
			jit_errorf(&err, 400, JIT_E_INVALID_CONTENT,
				"properties.reason: must be a string of at most %zu characters",
				sizeof(s.reason) - 1);
			goto refuse;
		}
		snprintf(s.reason, sizeof(s.reason), "%s", json_string_value(v));
	}
	jit_call_actor(c, &a);
	if (jit_svc_settings_put(c->api->store, &a, &s, &err) != 0) {
		json_decref(body);
		jit_call_fail_audited(c, &err);
		return;
	}
	json_decref(body);
	jit_call_reply(c, 200, settings_json(&s));
	return;
refuse:
	json_decref(body);
	jit_call_refuse(c, id, &err);
}

/* ---- audit log ---- */

/* The scope an audit route lists: a VM, a group, a subscription or everything. */
static void
audit_scope(const struct jit_call *c, struct jit_rid *out, bool *vm)
{
	*vm = false;
	if (c->name[0] != '\0') {
		jit_rid_vm(out, c->sub, c->rg, c->name);
		*vm = true;
	} else if (c->rg[0] != '\0') {
		jit_rid_resource_group(out, c->sub, c->rg);
	} else if (c->sub[0] != '\0') {
		jit_rid_subscription(out, c->sub);
	} else {
		*out = root_scope;
	}
}

static int
query_time(struct jit_call *c, const char *key, jit_time *out, struct jit_error *err)
{
	const char *v = jit_http_query(c->req, key);

	*out = 0;
	if (v == NULL || v[0] == '\0')
		return 0;
	if (jit_time_parse(v, out, err) != 0)
		return jit_error_prefix(err, "%s", key);
	return 0;
}

static int
query_int(struct jit_call *c, const char *key, long long lo, long long hi, long long *out,
	struct jit_error *err)
{
	const char *v = jit_http_query(c->req, key);
	int64_t n;

	if (v == NULL || v[0] == '\0')
		return 0;
	if (jit_number_parse(v, lo, hi, &n) != 0)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST, "%s: must be an integer from %lld to "
			"%lld", key, lo, hi);
	*out = n;
	return 0;
}

static json_t *
row_json(const struct jit_audit_row *r)
{
	char when[JIT_TIME_BUFSZ];
	json_t *o, *details = NULL;

	jit_time_format(r->time, when);
	o = json_pack("{s:I,s:s,s:s?,s:s?,s:s?,s:s?,s:s?,s:i,s:s?,s:s}", "seq", (json_int_t)r->seq,
		"timeUtc", when, "principalName", r->principal_name, "callerAddress", r->caller,
		"operationName", r->operation, "resourceId", r->resource_id, "result", r->result,
		"statusCode", r->status, "correlationId", r->correlation_id, "hash", r->hash);
	if (o != NULL && r->details_json != NULL &&
		(details = json_loads(r->details_json, 0, NULL)) != NULL)
		json_object_set_new(o, "details", details);
	if (o != NULL && r->vms_json != NULL &&
		(details = json_loads(r->vms_json, 0, NULL)) != NULL)
		json_object_set_new(o, "virtualMachines", details);
	return o;
}

/* One CSV cell (RFC 4180), safe to open in a spreadsheet: a cell that would start a
 * formula (= + - @ tab CR) gets a leading apostrophe. */
static void
csv_cell(FILE *f, const char *v, bool last)
{
	bool quote;

	if (v == NULL)
		v = "";
	quote = strpbrk(v, ",\"\r\n") != NULL || strchr("=+-@\t\r", v[0]) != NULL;
	if (quote)
		fputc('"', f);
	if (v[0] != '\0' && strchr("=+-@\t\r", v[0]) != NULL)
		fputc('\'', f);
	for (const char *p = v; *p; p++) {
		if (*p == '"')
			fputc('"', f);
		fputc(*p, f);
	}
	if (quote)
		fputc('"', f);
	fputs(last ? "\r\n" : ",", f);
}

static char *
rows_csv(const struct jit_audit_row *rows, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	fputs("seq,timeUtc,principal,callerAddress,operation,resourceId,virtualMachines,result,"
		"statusCode,correlationId,details,hash\r\n", f);
	for (size_t i = 0; i < n; i++) {
		char seq[24], status[8], when[JIT_TIME_BUFSZ];

		snprintf(seq, sizeof(seq), "%lld", (long long)rows[i].seq);
		snprintf(status, sizeof(status), "%d", rows[i].status);
		jit_time_format(rows[i].time, when);
		csv_cell(f, seq, false);
		csv_cell(f, when, false);
		csv_cell(f, rows[i].principal_name, false);
		csv_cell(f, rows[i].caller, false);
		csv_cell(f, rows[i].operation, false);
		csv_cell(f, rows[i].resource_id, false);
		csv_cell(f, rows[i].vms_json, false);
		csv_cell(f, rows[i].result, false);
		csv_cell(f, status, false);
		csv_cell(f, rows[i].correlation_id, false);
		csv_cell(f, rows[i].details_json, false);
		csv_cell(f, rows[i].hash, true);
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static bool
wants_csv(const struct jit_call *c)
{
	const char *fmt = jit_http_query(c->req, "format");
	const char *accept = jit_http_header(c->req, "Accept");

	if (fmt != NULL)
		return strcasecmp(fmt, "csv") == 0;
	return accept != NULL && strncasecmp(accept, "text/csv", 8) == 0;
}

/* Appends "&key=value" with value percent-encoded (RFC 3986 unreserved kept). */
static void
append_query(char *buf, size_t size, size_t *len, const char *key, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = *len;
	int w;

	if (value == NULL || n >= size)
		return;
	w = snprintf(buf + n, size - n, "&%s=", key);
	if (w < 0 || (size_t)w >= size - n)
		return;
	n += (size_t)w;
	for (const unsigned char *p = (const unsigned char *)value; *p && n + 4 < size; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
			strchr("-._~", *p) != NULL) {
			buf[n++] = (char)*p;
		} else {
			buf[n++] = '%';
			buf[n++] = hex[*p >> 4];
			buf[n++] = hex[*p & 15];
		}
	}
	buf[n] = '\0';
	*len = n;
}

void
jit_h_audit_list(struct jit_call *c)
{
	struct jit_audit_filter f = {0};
	struct jit_audit_row *rows = NULL;
	struct jit_rid scope, vm;
	long long top = AUDIT_PAGE_DEFAULT, skip = 0;
	const char *vm_q = jit_http_query(c->req, "vm");
	const char *fmt = jit_http_query(c->req, "format");
	struct jit_actor actor;
	struct jit_error err;
	bool is_vm, csv = wants_csv(c), more;
	int64_t last_seq;
	json_t *value;
	size_t n = 0;

	audit_scope(c, &scope, &is_vm);
	if (fmt != NULL && !csv && strcasecmp(fmt, "json") != 0) {
		jit_errorf(&err, 400, JIT_E_BAD_REQUEST, "format: must be json or csv");
		goto fail;
	}
	if (csv)
		top = JIT_AUDIT_CSV_MAX;
	if (query_time(c, "since", &f.since, &err) != 0 ||
		query_time(c, "until", &f.until, &err) != 0 ||
		query_int(c, "top", 1, csv ? JIT_AUDIT_CSV_MAX : JIT_AUDIT_PAGE_MAX, &top, &err) != 0 ||
		query_int(c, "skipToken", 1, INT64_MAX, &skip, &err) != 0)
		goto fail;
	f.scope = is_vm ? NULL : &scope;
	if (is_vm) {
		f.vm = &scope;
	} else if (vm_q != NULL) {
		/* A VM by full ID, or by name inside the group route's group. */
		if (vm_q[0] == '/') {
			if (jit_rid_parse_kind(vm_q, JIT_RID_VM, &vm, &err) != 0) {
				jit_error_prefix(&err, "vm");
				goto fail;
			}
		} else if (c->rg[0] != '\0' && jit_rid_check_name(vm_q, "VM name", &err) == 0) {
			jit_rid_vm(&vm, c->sub, c->rg, vm_q);
		} else {
			jit_errorf(&err, 400, JIT_E_BAD_REQUEST,
				"vm: give the VM's full resource ID (or its name on a resource group's log)");
			goto fail;
		}
		f.vm = &vm;
	}
	f.principal = jit_http_query(c->req, "principal");
	f.operation = jit_http_query(c->req, "operation");
	f.before_seq = skip;
	f.limit = (size_t)top;
	jit_call_actor(c, &actor);
	if (jit_svc_audit_query(c->api->store, &actor, &f, &rows, &n, &more, &last_seq, &err) != 0)
		goto fail;
	if (csv) {
		char *text = rows_csv(rows, n);

		jit_audit_rows_free(rows, n);
		if (text == NULL) {
			jit_errorf(&err, 500, JIT_E_INTERNAL, "out of memory writing CSV");
			goto fail;
		}
		c->resp->status = 200;
		c->resp->raw = text;
		c->resp->content_type = "text/csv; charset=utf-8";
		return;
	}
	value = json_array();
	for (size_t i = 0; value != NULL && i < n; i++)
		json_array_append_new(value, row_json(&rows[i]));
	if (more) {
		/* More may follow: the same query, older than the last entry returned. */
		char next[4096], token[24];
		size_t len = 0;

		snprintf(token, sizeof(token), "%lld", (long long)last_seq);
		/* Absolute, as ARM's, when the client reached this server by one of its own
		 * names; otherwise relative (never a host a client did not mean to talk to). */
		const char *host = jit_call_own_host(c);

		len = (size_t)snprintf(next, sizeof(next), "%s%s%s?api-version=%s",
			host ? "https://" : "", host ? host : "", c->req->path, JIT_API_VERSION);
		append_query(next, sizeof(next), &len, "top", jit_http_query(c->req, "top"));
		append_query(next, sizeof(next), &len, "vm", vm_q);
		append_query(next, sizeof(next), &len, "principal", f.principal);
		append_query(next, sizeof(next), &len, "operation", f.operation);
		append_query(next, sizeof(next), &len, "since", jit_http_query(c->req, "since"));
		append_query(next, sizeof(next), &len, "until", jit_http_query(c->req, "until"));
		append_query(next, sizeof(next), &len, "skipToken", token);
		jit_audit_rows_free(rows, n);
		jit_call_reply(c, 200, json_pack("{s:o,s:s}", "value", value, "nextLink", next));
		return;
	}
	jit_audit_rows_free(rows, n);
	jit_call_reply(c, 200, json_pack("{s:o}", "value", value));
	return;
fail:
	jit_call_fail(c, &err);
}

/* GET /providers/Jitgate/auditLogs/verify[?checkpointSequence=N&checkpointHead=HEX]: the
 * chain, with the audit key; with a checkpoint's anchor, also that entry N has that
 * head (jitgate audit verify --checkpoint checks the checkpoint's signature itself). */
void
jit_h_audit_verify(struct jit_call *c)
{
	const char *cp_head = jit_http_query(c->req, "checkpointHead");
	struct jit_audit_verdict v;
	struct jit_actor actor;
	struct jit_error err;
	long long cp_seq = 0;
	json_t *out;

	if (query_int(c, "checkpointSequence", 0, INT64_MAX, &cp_seq, &err) != 0)
		goto fail;
	if ((cp_seq > 0) != (cp_head != NULL && cp_head[0] != '\0') ||
		(cp_head != NULL && (strlen(cp_head) != 64 ||
		strspn(cp_head, "0123456789abcdef") != 64))) {
		jit_errorf(&err, 400, JIT_E_BAD_REQUEST, "checkpointSequence (from 1) and "
			"checkpointHead (64 lowercase hex digits) go together");
		goto fail;
	}
	jit_call_actor(c, &actor);
	if (jit_svc_audit_verify(c->api->store, &actor, cp_seq, cp_head, &v, &err) != 0)
		goto fail;
	if (v.ok)
		out = json_pack("{s:b,s:I,s:s,s:b}", "verified", 1, "entries", (json_int_t)v.entries,
			"head", v.head, "keyed", c->api->audit_keys != NULL);
	else
		out = json_pack("{s:b,s:I,s:I,s:s,s:b}", "verified", 0, "entries",
			(json_int_t)v.entries, "firstBrokenSeq", (json_int_t)v.first_broken_seq,
			"reason", v.reason, "keyed", c->api->audit_keys != NULL);
	if (out != NULL && cp_seq > 0)
		json_object_set_new(out, "checkpoint", json_pack("{s:I,s:b}", "sequence",
			(json_int_t)cp_seq, "matches", v.checkpoint_matched));
	jit_call_reply(c, 200, out);
	return;
fail:
	jit_call_fail(c, &err);
}

/* GET /providers/Jitgate/auditLogs/checkpoint: the chain's head now, signed with the
 * server's audit key (audit_checkpoint.h); kept outside the database, it anchors the log. */
void
jit_h_audit_checkpoint(struct jit_call *c)
{
	struct jit_audit_checkpoint cp;
	struct jit_actor actor;
	struct jit_error err;

	jit_call_actor(c, &actor);
	if (jit_svc_audit_checkpoint(c->api->store, &actor, c->api->audit_keys, c->now, &cp,
		&err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	jit_call_reply(c, 200, jit_audit_checkpoint_to_json(&cp));
}
