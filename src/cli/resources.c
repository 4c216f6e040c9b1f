/*
 * resources.c: the session and the server's resources as commands need them
 * (resources.h). Paths are built only from names that passed
 * jit_rid_check_name or from resource IDs parsed by jit_rid_parse, so nothing
 * typed by the user reaches a URL unchecked.
 */
#include "resources.h"
#include "suggest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "model_json.h"
#include "output.h"
#include "profile.h"

#define SEC "/providers/Microsoft.Security"
#define VMS "/providers/Microsoft.Compute/virtualMachines"

struct cli_cache {
	json_t *held;           /* every VM read, as JSON (struct cli_vm points into it) */
	bool vms_loaded;
	struct cli_vm *vms;
	size_t n_vms;
	bool policies_loaded;
	struct jit_policy **policies;
	size_t n_policies;
};

int
cli_name_check(const char *name, const char *what, struct jit_error *err)
{
	struct jit_error e;

	if (jit_rid_check_name(name, what, &e) != 0)
		return cli_usage(err, "%s", e.message);
	return 0;
}

int
cli_principal_check(const char *name, const char *what, struct jit_error *err)
{
	size_t n = strlen(name);

	if (n == 0 || n > JIT_NAME_MAX || name[0] == '.')
		return cli_usage(err, "%s: a principal's name is 1-%d characters and does not start "
			"with '.'", what, JIT_NAME_MAX);
	for (const char *p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || strchr("._-@+", *p) != NULL))
			return cli_usage(err, "%s: a principal's name may hold letters, digits and "
				". _ - @ + only", what);
	return 0;
}

int
cli_principal_resolve(struct cli *c, const char *name, char out[JIT_NAME_MAX + 1],
	struct jit_error *err)
{
	const char *me;
	json_t *j = NULL;

	if (strcasecmp(name, "me") != 0) {
		snprintf(out, JIT_NAME_MAX + 1, "%s", name);
		return 0;
	}
	if (cli_get_object(c, "/providers/Jitgate/whoami", &j, err) != 0)
		return -1;
	me = json_string_value(json_object_get(json_object_get(j, "principal"), "name"));
	if (me == NULL || strlen(me) > JIT_NAME_MAX || cli_principal_check(me, "whoami", err) != 0) {
		json_decref(j);
		return cli_fail(err, "the server's whoami has no valid principal name");
	}
	snprintf(out, JIT_NAME_MAX + 1, "%s", me);
	json_decref(j);
	return 0;
}

int
cli_rid_path(const struct jit_rid *id, char *buf, size_t n, struct jit_error *err)
{
	if (jit_rid_format(id, buf, n) < 0)
		return cli_fail(err, "a resource ID is too long");
	return 0;
}

int
cli_scope_prefix(const struct jit_rid *scope, char *buf, size_t n, struct jit_error *err)
{
	if (scope->kind == JIT_RID_ROOT) {
		buf[0] = '\0';
		return 0;
	}
	return cli_rid_path(scope, buf, n, err);
}

int
cli_query_append(char *buf, size_t n, const char *key, const char *value,
	struct jit_error *err)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(buf);
	int w;

	w = snprintf(buf + len, n - len, "%c%s=", strchr(buf, '?') ? '&' : '?', key);
	if (w < 0 || (size_t)w >= n - len)
		return cli_fail(err, "a query is too long");
	len += (size_t)w;
	for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++) {
		if (len + 4 > n)
			return cli_fail(err, "a query is too long");
		/* RFC 3986 unreserved characters as they are, everything else encoded. */
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
			strchr("-._~", *p) != NULL) {
			buf[len++] = (char)*p;
		} else {
			buf[len++] = '%';
			buf[len++] = hex[*p >> 4];
			buf[len++] = hex[*p & 15];
		}
	}
	buf[len] = '\0';
	return 0;
}

int
cli_bad_answer(struct jit_error *err, const char *what)
{
	char msg[JIT_ERROR_MSG_MAX];

	snprintf(msg, sizeof(msg), "%s", err->message);
	return cli_fail(err, "the server's %s is not what jitgate expects: %s", what, msg);
}

int
cli_call(struct cli *c, const char *method, const char *path, const json_t *body,
	int *status, json_t **out, struct jit_error *err)
{
	int st = 0;
	json_t *ignored = NULL;
	int r;

	if (cli_connect(c, err) != 0)
		return -1;
	r = cli_client_call(c->http, method, path, body, &st, out ? out : &ignored, err);
	json_decref(ignored);
	if (status != NULL)
		*status = st;
	return r;
}

int
cli_get_csv(struct cli *c, const char *path, char **out, size_t *len, struct jit_error *err)
{
	if (cli_connect(c, err) != 0)
		return -1;
	return cli_client_get_csv(c->http, path, out, len, err);
}

int
cli_get_object(struct cli *c, const char *path, json_t **out, struct jit_error *err)
{
	if (cli_call(c, "GET", path, NULL, NULL, out, err) != 0)
		return -1;
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return cli_fail(err, "the server's answer to GET %s is not a JSON object", path);
	}
	return 0;
}

int
cli_get_list(struct cli *c, const char *path, json_t **value, struct jit_error *err)
{
	json_t *j = NULL;

	*value = NULL;
	if (cli_get_object(c, path, &j, err) != 0)
		return -1;
	*value = json_incref(json_object_get(j, "value"));
	json_decref(j);
	if (!json_is_array(*value)) {
		json_decref(*value);
		*value = NULL;
		return cli_fail(err, "the server's answer to GET %s has no \"value\" list", path);
	}
	return 0;
}

static int
choose_subscription(struct cli *c, struct jit_error *err)
{
	json_t *value = NULL, *v;
	const char *id;
	size_t n;

	if (cli_get_list(c, "/subscriptions", &value, err) != 0)
		return -1;
	n = json_array_size(value);
	if (n != 1) {
		json_decref(value);
		if (n == 0)
			return cli_fail(err, "the server has no subscription");
		return cli_usage(err, "the server has %zu subscriptions; choose one with "
			"--subscription, JITGATE_SUBSCRIPTION or 'jitgate login --subscription'", n);
	}
	v = json_array_get(value, 0);
	id = json_string_value(json_object_get(v, "subscriptionId"));
	if (id == NULL || jit_rid_check_name(id, "subscription ID", err) != 0) {
		json_decref(value);
		return cli_fail(err, "the server's subscription list has no valid subscriptionId");
	}
	snprintf(c->sub, sizeof(c->sub), "%s", id);
	json_decref(value);
	return 0;
}

int
cli_session(struct cli *c, struct jit_error *err)
{
	if (cli_connect(c, err) != 0)
		return -1;
	if (c->sub[0] == '\0')
		return choose_subscription(c, err);
	return 0;
}

int
cli_connect(struct cli *c, struct jit_error *err)
{
	struct cli_connection conn;
	int r;

	if (c->http != NULL)
		return 0;
	if (cli_connection_resolve(c, true, &conn, err) != 0)
		return -1;
	if (conn.subscription[0] != '\0' &&
		cli_name_check(conn.subscription, "subscription ID", err) != 0) {
		cli_connection_wipe(&conn);
		return -1;
	}
	r = cli_client_new(&conn, c->timeout_s, &c->http, err);
	snprintf(c->sub, sizeof(c->sub), "%s", conn.subscription);
	cli_connection_wipe(&conn);
	if (r != 0)
		return -1;
	if ((c->cache = calloc(1, sizeof(*c->cache))) == NULL ||
		(c->cache->held = json_array()) == NULL)
		return cli_fail(err, "out of memory");
	return 0;
}

void
cli_session_end(struct cli *c)
{
	struct cli_cache *k = c->cache;

	if (k != NULL) {
		json_decref(k->held);
		free(k->vms);
		for (size_t i = 0; i < k->n_policies; i++)
			jit_policy_free(k->policies[i]);
		free(k->policies);
		free(k);
		c->cache = NULL;
	}
	cli_client_free(c->http);
	c->http = NULL;
}

/* Decodes a VM as the server returns it; the session keeps j (out->json). */
static int
vm_decode(struct cli *c, json_t *j, struct cli_vm *out, struct jit_error *err)
{
	const char *id = json_string_value(json_object_get(j, "id"));
	const char *loc = json_string_value(json_object_get(j, "location"));
	struct jit_rid rid;

	memset(out, 0, sizeof(*out));
	if (jit_vm_from_json(j, &out->vm, err) != 0 ||
		cli_vm_reported_decode(j, &out->reported, err) != 0)
		return -1;
	if (id == NULL)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT, "id: is missing");
	if (jit_rid_parse_kind(id, JIT_RID_VM, &rid, err) != 0)
		return jit_error_prefix(err, "id");
	out->vm.id = rid;
	if (loc != NULL && strlen(loc) < sizeof(out->vm.location) && cli_printable(loc))
		snprintf(out->vm.location, sizeof(out->vm.location), "%s", loc);
	if (json_array_append(c->cache->held, j) != 0)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	out->json = j;
	return 0;
}

int
cli_vms(struct cli *c, const struct cli_vm **out, size_t *n, struct jit_error *err)
{
	char path[JIT_RESOURCE_ID_MAX + 64];
	struct cli_cache *k;
	json_t *value = NULL;
	size_t count;

	if (cli_session(c, err) != 0)
		return -1;
	k = c->cache;
	if (!k->vms_loaded) {
		snprintf(path, sizeof(path), "/subscriptions/%s" VMS, c->sub);
		if (cli_get_list(c, path, &value, err) != 0)
			return -1;
		count = json_array_size(value);
		if ((k->vms = calloc(count ? count : 1, sizeof(*k->vms))) == NULL) {
			json_decref(value);
			return cli_fail(err, "out of memory");
		}
		for (size_t i = 0; i < count; i++) {
			if (vm_decode(c, json_array_get(value, i), &k->vms[i], err) != 0) {
				json_decref(value);
				free(k->vms);
				k->vms = NULL;
				jit_error_prefix(err, "value[%zu]", i);
				return cli_bad_answer(err, "VM list");
			}
		}
		json_decref(value);
		k->n_vms = count;
		k->vms_loaded = true;
	}
	*out = k->vms;
	*n = k->n_vms;
	return 0;
}

static int
vm_get(struct cli *c, const struct jit_rid *id, struct cli_vm *out, struct jit_error *err)
{
	char path[JIT_RESOURCE_ID_MAX];
	json_t *j = NULL;
	int r;

	if (cli_rid_path(id, path, sizeof(path), err) != 0 || cli_get_object(c, path, &j, err) != 0)
		return -1;
	r = vm_decode(c, j, out, err);
	json_decref(j);
	return r != 0 ? cli_bad_answer(err, "VM") : 0;
}

/* " (did you mean web1 in prod?)" for a VM name that matches none, or "". */
static void
vm_hint(struct cli *c, const char *arg, char *buf, size_t size)
{
	const struct cli_vm *vms;
	const char **names;
	const char *hit;
	struct jit_error e;
	size_t n;

	buf[0] = '\0';
	if (cli_vms(c, &vms, &n, &e) != 0 || n == 0 || (names = calloc(n, sizeof(*names))) == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		names[i] = vms[i].vm.id.name;
	if ((hit = cli_suggest(arg, names, n)) != NULL)
		for (size_t i = 0; i < n; i++)
			if (names[i] == hit)
				snprintf(buf, size, " (did you mean %s in resource group %s?)", hit,
					vms[i].vm.id.rg);
	free(names);
}

int
cli_vm_find(struct cli *c, const char *arg, const char *rg, struct cli_vm *out,
	struct jit_error *err)
{
	const struct cli_vm *vms, *hit = NULL;
	char where[256] = "";
	struct jit_error e;
	struct jit_rid id;
	size_t n, hits = 0;

	if (arg[0] == '/') {
		if (jit_rid_parse_kind(arg, JIT_RID_VM, &id, &e) != 0)
			return cli_usage(err, "'%.200s': %s", arg, e.message);
		return vm_get(c, &id, out, err);
	}
	if (cli_name_check(arg, "VM name", err) != 0)
		return -1;
	if (cli_session(c, err) != 0)
		return -1;
	if (rg != NULL) {
		char hint[JIT_NAME_MAX * 2 + 64];

		jit_rid_vm(&id, c->sub, rg, arg);
		if (vm_get(c, &id, out, err) == 0)
			return 0;
		if (err->status != 404)
			return -1;
		vm_hint(c, arg, hint, sizeof(hint));
		if (hint[0] != '\0' && strlen(err->message) + strlen(hint) < sizeof(err->message))
			strcat(err->message, hint);
		return -1;
	}
	if (cli_vms(c, &vms, &n, err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(vms[i].vm.id.name, arg) != 0)
			continue;
		if (hits++ == 0)
			hit = &vms[i];
		if (strlen(where) + strlen(vms[i].vm.id.rg) + 3 < sizeof(where))
			snprintf(where + strlen(where), sizeof(where) - strlen(where), "%s%s",
				where[0] ? ", " : "", vms[i].vm.id.rg);
	}
	if (hits == 0) {
		char hint[JIT_NAME_MAX * 2 + 64];

		vm_hint(c, arg, hint, sizeof(hint));
		return cli_fail(err, "there is no VM named '%s' in subscription %s%s ('jitgate vm "
			"list' shows them)", arg, c->sub, hint);
	}
	if (hits > 1)
		return cli_usage(err, "'%s' names VMs in several resource groups (%s): choose one "
			"with -g", arg, where);
	*out = *hit;
	return 0;
}

int
cli_policies(struct cli *c, struct jit_policy ***out, size_t *n, struct jit_error *err)
{
	char path[JIT_RESOURCE_ID_MAX + 64];
	struct cli_cache *k;
	json_t *value = NULL;
	size_t count;

	if (cli_session(c, err) != 0)
		return -1;
	k = c->cache;
	if (!k->policies_loaded) {
		snprintf(path, sizeof(path), "/subscriptions/%s" SEC "/jitNetworkAccessPolicies",
			c->sub);
		if (cli_get_list(c, path, &value, err) != 0)
			return -1;
		count = json_array_size(value);
		if ((k->policies = calloc(count ? count : 1, sizeof(*k->policies))) == NULL) {
			json_decref(value);
			return cli_fail(err, "out of memory");
		}
		for (size_t i = 0; i < count; i++) {
			if (jit_policy_from_json(json_array_get(value, i), &k->policies[i], err) != 0) {
				jit_error_prefix(err, "value[%zu]", i);
				goto bad;
			}
			k->n_policies = i + 1;
			if (k->policies[i]->id.kind != JIT_RID_JIT_POLICY) {
				jit_errorf(err, CLI_E_FAIL, "", "value[%zu].id: is missing", i);
				goto bad;
			}
		}
		json_decref(value);
		k->policies_loaded = true;
	}
	*out = k->policies;
	*n = k->n_policies;
	return 0;
bad:
	json_decref(value);
	for (size_t i = 0; i < k->n_policies; i++)
		jit_policy_free(k->policies[i]);
	free(k->policies);
	k->policies = NULL;
	k->n_policies = 0;
	return cli_bad_answer(err, "policy list");
}

struct jit_policy *
cli_policy_of(struct jit_policy **ps, size_t n, const struct jit_rid *vm, size_t *vm_index)
{
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < ps[i]->n_vms; k++)
			if (jit_rid_equal(&ps[i]->vms[k].id, vm)) {
				if (vm_index != NULL)
					*vm_index = k;
				return ps[i];
			}
	return NULL;
}

int
cli_policy_put(struct cli *c, const struct jit_policy *p, json_t **out,
	struct jit_error *err)
{
	char path[JIT_RESOURCE_ID_MAX];
	struct jit_policy bare = *p;
	json_t *body;
	int r;

	/* The request history is the server's; a PUT sends only the configuration. */
	bare.n_requests = 0;
	bare.requests = NULL;
	if (cli_rid_path(&p->id, path, sizeof(path), err) != 0)
		return -1;
	if ((body = jit_policy_to_json(&bare)) == NULL)
		return cli_fail(err, "out of memory");
	r = cli_call(c, "PUT", path, body, NULL, out, err);
	json_decref(body);
	return r;
}

int
cli_policy_delete(struct cli *c, const struct jit_rid *id, struct jit_error *err)
{
	char path[JIT_RESOURCE_ID_MAX];

	if (cli_rid_path(id, path, sizeof(path), err) != 0)
		return -1;
	return cli_call(c, "DELETE", path, NULL, NULL, NULL, err);
}

void
cli_policy_remove_vm(struct jit_policy *p, size_t i)
{
	struct jit_policy_vm *vm = &p->vms[i];

	for (size_t k = 0; k < vm->n_ports; k++)
		free(vm->ports[k].sources.prefixes);
	free(vm->ports);
	free(vm->public_ip);
	memmove(&p->vms[i], &p->vms[i + 1], (p->n_vms - i - 1) * sizeof(p->vms[0]));
	p->n_vms--;
}

int
cli_rg_location(struct cli *c, const char *rg, char loc[JIT_NAME_MAX + 1],
	struct jit_error *err)
{
	char path[JIT_RESOURCE_ID_MAX];
	struct jit_rid id;
	const char *s;
	json_t *j = NULL;

	if (cli_session(c, err) != 0)
		return -1;
	jit_rid_resource_group(&id, c->sub, rg);
	if (cli_rid_path(&id, path, sizeof(path), err) != 0 || cli_get_object(c, path, &j, err) != 0)
		return -1;
	s = json_string_value(json_object_get(j, "location"));
	if (s == NULL || jit_rid_check_name(s, "location", err) != 0) {
		json_decref(j);
		return cli_fail(err, "the server's resource group %s has no valid location", rg);
	}
	snprintf(loc, JIT_NAME_MAX + 1, "%s", s);
	json_decref(j);
	return 0;
}

static int
version_of(const json_t *props, const char *key, uint64_t *out)
{
	const json_t *v = json_object_get(props, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

int
cli_ep_versions(struct cli *c, const char *ep_id, uint64_t *desired, uint64_t *applied,
	struct jit_error *err)
{
	char path[JIT_RESOURCE_ID_MAX];
	const json_t *props;
	struct jit_rid id;
	json_t *j = NULL;
	int r = 0;

	if (jit_rid_parse_kind(ep_id, JIT_RID_ENFORCEMENT_POINT, &id, err) != 0)
		return cli_bad_answer(err, "enforcement point ID");
	if (cli_rid_path(&id, path, sizeof(path), err) != 0 || cli_get_object(c, path, &j, err) != 0)
		return -1;
	props = json_object_get(j, "properties");
	if (version_of(props, "desiredVersion", desired) != 0 ||
		version_of(props, "appliedVersion", applied) != 0)
		r = cli_fail(err, "the server's enforcement point %s has no desiredVersion and "
			"appliedVersion", id.name);
	json_decref(j);
	return r;
}

int
cli_vm_json_versions(const json_t *vm, bool *has, uint64_t *desired, uint64_t *applied,
	struct jit_error *err)
{
	const json_t *jit = json_object_get(json_object_get(vm, "properties"), "jit");

	*has = false;
	if (json_object_get(jit, "enforcementPointDesiredVersion") == NULL)
		return 0;
	if (version_of(jit, "enforcementPointDesiredVersion", desired) != 0 ||
		version_of(jit, "enforcementPointAppliedVersion", applied) != 0)
		return cli_fail(err, "the server's VM %.90s has invalid enforcement point versions",
			json_string_value(json_object_get(vm, "name")) ?
			json_string_value(json_object_get(vm, "name")) : "?");
	*has = true;
	return 0;
}

int
cli_vm_wait_applied(struct cli *c, const struct jit_rid *vm, uint64_t want, int wait_s,
	bool *has, uint64_t *desired, uint64_t *applied, struct jit_error *err)
{
	char path[JIT_RESOURCE_ID_MAX + 64];
	size_t len;
	json_t *j = NULL;
	int r;

	*has = false;
	if (cli_rid_path(vm, path, JIT_RESOURCE_ID_MAX, err) != 0)
		return -1;
	len = strlen(path);
	snprintf(path + len, sizeof(path) - len, "?appliedVersion=%llu&wait=%d",
		(unsigned long long)want, wait_s);
	if (cli_get_object(c, path, &j, err) != 0)
		return -1;
	r = cli_vm_json_versions(j, has, desired, applied, err);
	json_decref(j);
	return r;
}

int
cli_vm_versions(struct cli *c, const struct jit_rid *vm, bool *has, uint64_t *desired,
	uint64_t *applied, struct jit_error *err)
{
	char path[JIT_RESOURCE_ID_MAX];
	json_t *j = NULL;
	int r;

	*has = false;
	if (cli_rid_path(vm, path, sizeof(path), err) != 0 || cli_get_object(c, path, &j, err) != 0)
		return -1;
	r = cli_vm_json_versions(j, has, desired, applied, err);
	json_decref(j);
	return r;
}
