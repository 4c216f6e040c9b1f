/*
 * cmd_vm.c: jitgate vm list | show | add | remove: the inventory's virtual
 * machines and their JIT state (vm_state.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "args.h"
#include "output.h"
#include "portspec.h"
#include "resources.h"
#include "vm_jit.h"

enum {
	KEY_STATE = CLI_KEY_LONG,
	KEY_OS,
	KEY_ADDRESS,
	KEY_EP,
	KEY_LOCATION,
};

/* ---- shared ---- */

static void
addresses_text(const struct jit_vm *vm, char *buf, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < vm->n_addresses; i++) {
		char a[JIT_PREFIX_BUFSZ];
		int w;

		jit_prefix_format(&vm->addresses[i], a);
		w = snprintf(buf + used, n - used, "%s%s", i ? "," : "", a);
		if (w < 0 || (size_t)w >= n - used)
			break;
		used += (size_t)w;
	}
}

/* The name at the end of an enforcement point's ID ("" when none). */
static const char *
ep_name(const struct jit_vm *vm)
{
	const char *slash = strrchr(vm->enforcement_point, '/');

	return slash != NULL ? slash + 1 : vm->enforcement_point;
}

/* The reason shown with a VM's state: why it is Unsupported, or what the server
 * says of another state (JIT disabled by a security policy for a Configured VM). */
static const char *
state_reason(const struct cli_vm *v, const struct cli_vm_jit *st)
{
	if (st->reason != NULL)
		return st->reason;
	return v->reported.has && v->reported.reason[0] ? v->reported.reason : NULL;
}

/* What the server reports in properties.jit beyond the state (all NULL when the
 * server reports nothing): the portal's columns. */
struct jit_stats {
	char requests[24];
	char last_access[CLI_TIME_SHORT];
	const char *last_access_text;
	const char *last_user;
	const char *agent;
};

static void
jit_stats(const json_t *vm, struct jit_stats *out)
{
	const json_t *jit = json_object_get(json_object_get(vm, "properties"), "jit");
	const json_t *n = json_object_get(jit, "approvedRequestsLast7Days");
	const json_t *healthy = json_object_get(jit, "enforcementPointHealthy");

	memset(out, 0, sizeof(*out));
	if (json_is_integer(n))
		snprintf(out->requests, sizeof(out->requests), "%lld",
			(long long)json_integer_value(n));
	out->last_access_text = cli_time_text(json_string_value(json_object_get(jit,
		"lastAccessUtc")), out->last_access);
	out->last_user = json_string_value(json_object_get(jit, "lastUser"));
	if (json_is_boolean(healthy))
		out->agent = json_is_true(healthy) ? "healthy" : "unhealthy";
}

/* The VM as the server showed it; a server that does not report properties.jit
 * gets one with the state decided here. */
static json_t *
vm_json(const struct cli_vm *v, const struct cli_vm_jit *st)
{
	char id[JIT_RESOURCE_ID_MAX];
	json_t *j = json_deep_copy(v->json), *jit;

	if (j == NULL || v->reported.has)
		return j;
	if ((jit = json_pack("{s:s}", "state", jit_vm_state_token(st->state))) == NULL)
		goto fail;
	if (st->reason != NULL && json_object_set_new(jit, "reason", json_string(st->reason)) != 0)
		goto fail_jit;
	if (st->policy != NULL && (jit_rid_format(&st->policy->id, id, sizeof(id)) < 0 ||
		json_object_set_new(jit, "policy", json_string(id)) != 0))
		goto fail_jit;
	if (json_object_set_new(json_object_get(j, "properties"), "jit", jit) == 0)
		return j;
	goto fail;
fail_jit:
	json_decref(jit);
fail:
	json_decref(j);
	return NULL;
}

static int
no_operands(int first, int argc, char **argv, struct jit_error *err)
{
	if (first < argc)
		return cli_usage(err, "unexpected argument '%.80s'", argv[first]);
	return 0;
}

/* ---- vm list ---- */

struct list_args {
	const char *rg;
	bool has_state;
	enum jit_vm_state state;
};

static int
list_opt(void *ctx, int key, const char *arg, struct jit_error *err)
{
	struct list_args *a = ctx;

	switch (key) {
	case 'g':
		a->rg = arg;
		return cli_name_check(arg, "resource group name", err);
	case KEY_STATE:
		if (cli_vm_state_parse(arg, &a->state) != 0)
			return cli_usage(err, "--state: expected configured, not-configured or "
				"unsupported, not '%.40s'", arg);
		a->has_state = true;
		return 0;
	}
	return cli_usage(err, "unexpected option");
}

static int
list_row(struct cli_table *t, const struct cli_vm *v, const struct cli_vm_jit *st,
	const char *addrs, struct jit_error *err)
{
	const struct jit_vm *vm = &v->vm;
	struct jit_stats js;

	jit_stats(v->json, &js);
	{
		const char *row[] = {vm->id.name, vm->id.rg, jit_os_name(vm->os), addrs,
			ep_name(vm), js.agent, jit_vm_state_name(st->state), js.requests,
			js.last_access_text, js.last_user, state_reason(v, st)};

		return cli_table_add(t, row, err);
	}
}

static int
vm_list(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	static const char *const headers[] = {"NAME", "RESOURCE GROUP", "OS", "ADDRESSES",
		"ENFORCEMENT POINT", "AGENT", "JIT STATE", "REQUESTS 7D", "LAST ACCESS", "LAST USER",
		"REASON"};
	/* Shorter words for the same columns where 100 columns must hold them. */
	static const char *const short_headers[] = {"NAME", "GROUP", "OS", "ADDRESSES",
		"AGENT", "HEALTH", "JIT STATE", "REQUESTS 7D", "LAST ACCESS", "LAST USER",
		"REASON"};
	struct list_args a = {0};
	const struct cli_vm *vms;
	struct jit_policy **ps;
	struct cli_table *t = NULL;
	json_t *out = NULL;
	char loc[JIT_NAME_MAX + 1];
	size_t n, np;
	int first, r, rc = -1;

	if ((r = cli_args_parse(c, &cli_cmd_vm_list, argc, argv, list_opt, &a, &first, err)) != 0)
		return r > 0 ? 0 : -1;
	if (no_operands(first, argc, argv, err) != 0)
		return -1;
	if (a.rg != NULL && cli_rg_location(c, a.rg, loc, err) != 0)
		return -1;
	if (cli_vms(c, &vms, &n, err) != 0 || cli_policies(c, &ps, &np, err) != 0)
		return -1;
	if ((out = json_array()) == NULL ||
		(t = cli_table_new(11, c->wide ? headers : short_headers)) == NULL) {
		cli_fail(err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char addrs[512];
		struct cli_vm_jit st;

		const struct jit_vm *vm = &vms[i].vm;

		if (a.rg != NULL && strcasecmp(vm->id.rg, a.rg) != 0)
			continue;
		cli_vm_jit_state(vm, &vms[i].reported, ps, np, &st);
		if (a.has_state && st.state != a.state)
			continue;
		addresses_text(vm, addrs, sizeof(addrs));
		if (c->output == CLI_OUTPUT_JSON) {
			if (json_array_append_new(out, vm_json(&vms[i], &st)) != 0) {
				cli_fail(err, "out of memory");
				goto out;
			}
		} else if (list_row(t, &vms[i], &st, addrs, err) != 0) {
			goto out;
		}
	}
	if (c->output == CLI_OUTPUT_JSON) {
		rc = cli_json_print(out, err);
	} else {
		/* By default what fits 100 columns: name, group, OS, addresses, enforcement point,
		 * state and the reason (cut short); -o wide has the rest. */
		static const size_t narrow[] = {0, 1, 2, 3, 4, 6, 10};

		if (c->wide)
			cli_table_print(t);
		else
			cli_table_print_some(t, narrow, sizeof(narrow) / sizeof(narrow[0]),
				CLI_TABLE_WIDTH);
		rc = 0;
	}
out:
	cli_table_free(t);
	json_decref(out);
	return rc;
}

const struct cli_cmd cli_cmd_vm_list = {
	"vm", "list", "[-g RG] [--state STATE]",
	"List the virtual machines of the subscription and their JIT state.",
	"JIT state: Configured (in a JIT policy, and enforced), Not configured (has an\n"
	"enforcement point, no policy yet: 'jitgate jit enable' it), Unsupported (with\n"
	"the reason, in a policy or not, e.g. no enforcement point: enroll an agent for\n"
	"it, or give it one with 'jitgate vm add --enforcement-point'; or JIT disabled\n"
	"by 'jitgate jit settings'). As the server reports them: whether the agent (the enforcement\n"
	"point) is healthy, approved requests in the last 7 days, last access and user.\n",
	(const struct cli_opt[]){
		{"resource-group", 'g', "RG", "only the VMs of this resource group"},
		{"state", KEY_STATE, "STATE", "only VMs in this state: configured, not-configured, "
			"unsupported"},
		{NULL, 0, NULL, NULL},
	},
	vm_list,
	false,
};

/* ---- vm show ---- */

struct one_args {
	const char *rg;
};

static int
one_opt(void *ctx, int key, const char *arg, struct jit_error *err)
{
	struct one_args *a = ctx;

	if (key == 'g') {
		a->rg = arg;
		return cli_name_check(arg, "resource group name", err);
	}
	return cli_usage(err, "unexpected option");
}

static void
show_ports(const struct jit_policy *p, const struct jit_vm *vm)
{
	for (size_t i = 0; i < p->n_vms; i++) {
		if (!jit_rid_equal(&p->vms[i].id, &vm->id))
			continue;
		for (size_t k = 0; k < p->vms[i].n_ports; k++) {
			const struct jit_port_rule *r = &p->vms[i].ports[k];
			char port[32], src[1024], max[JIT_DURATION_BUFSZ];

			cli_port_rule_short(r, port, sizeof(port));
			cli_sources_text(&r->sources, src, sizeof(src));
			jit_duration_format(r->max_duration_ns, max);
			printf("%-20s%s from %s, up to %s\n", k == 0 ? "JIT ports:" : "", port, src,
				max);
		}
	}
}

/* The enforcement point as the VM reports it (whoever may read the VM may read
 * that); from the enforcement point itself on servers whose VMs do not. */
static void
show_ep(struct cli *c, const struct cli_vm *v)
{
	const struct jit_vm *vm = &v->vm;
	const json_t *jit = json_object_get(json_object_get(v->json, "properties"), "jit");
	const json_t *healthy = json_object_get(jit, "enforcementPointHealthy");
	char text[2048], when[CLI_TIME_SHORT];
	struct jit_error ep_err;
	uint64_t desired, applied;
	bool has;
	const char *seen;

	if (vm->enforcement_point[0] == '\0') {
		cli_field("Enforcement point", NULL);
		return;
	}
	if (cli_vm_json_versions(v->json, &has, &desired, &applied, &ep_err) == 0 && !has &&
		cli_ep_versions(c, vm->enforcement_point, &desired, &applied, &ep_err) == 0)
		has = true;
	if (!has) {
		snprintf(text, sizeof(text), "%s (status unavailable: %s)", ep_name(vm),
			ep_err.status == 403 ? "your roles do not allow reading it" : ep_err.message);
		cli_field("Enforcement point", text);
		return;
	}
	seen = cli_time_text(json_string_value(json_object_get(jit,
		"enforcementPointLastSeenUtc")), when);
	snprintf(text, sizeof(text), "%s (%s%s, applied version %llu of %llu%s%s)", ep_name(vm),
		json_is_boolean(healthy) ? (json_is_true(healthy) ? "healthy, " : "unhealthy, ") :
		"", applied >= desired ? "in sync" : "applying", (unsigned long long)applied,
		(unsigned long long)desired, seen ? ", last seen " : "", seen ? seen : "");
	cli_field("Enforcement point", text);
}

/* The statistics a server reports in properties.jit, when it does. */
static void
show_stats(const json_t *j)
{
	struct jit_stats js;
	char text[256];

	jit_stats(j, &js);
	if (js.requests[0] != '\0')
		cli_field("Requests (7 days)", js.requests);
	if (js.last_access_text != NULL) {
		snprintf(text, sizeof(text), "%s by %s", js.last_access_text,
			js.last_user != NULL ? js.last_user : "-");
		cli_field("Last access", text);
	}
}

static int
show_human(struct cli *c, const struct cli_vm *v, const struct cli_vm_jit *st)
{
	const struct jit_vm *vm = &v->vm;
	char id[JIT_RESOURCE_ID_MAX], addrs[512], text[256];

	jit_rid_format(&vm->id, id, sizeof(id));
	addresses_text(vm, addrs, sizeof(addrs));
	cli_field("Name", vm->id.name);
	cli_field("Resource group", vm->id.rg);
	cli_field("ID", id);
	cli_field("OS", jit_os_name(vm->os));
	cli_field("Addresses", addrs);
	cli_field("Location", vm->location);
	show_ep(c, v);
	cli_field("JIT state", jit_vm_state_name(st->state));
	if (state_reason(v, st) != NULL)
		cli_field("Reason", state_reason(v, st));
	if (st->policy != NULL) {
		snprintf(text, sizeof(text), "%s in %s", st->policy->id.name,
			st->policy->id.location);
		cli_field("JIT policy", text);
		show_ports(st->policy, vm);
	}
	show_stats(v->json);
	return 0;
}

static int
vm_show(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	struct one_args a = {0};
	struct jit_policy **ps;
	struct cli_vm_jit st;
	struct cli_vm vm;
	json_t *j;
	size_t np;
	int first, r;

	if ((r = cli_args_parse(c, &cli_cmd_vm_show, argc, argv, one_opt, &a, &first, err)) != 0)
		return r > 0 ? 0 : -1;
	if (argc - first != 1)
		return cli_usage(err, "name one VM");
	if (cli_vm_find(c, argv[first], a.rg, &vm, err) != 0 ||
		cli_policies(c, &ps, &np, err) != 0)
		return -1;
	cli_vm_jit_state(&vm.vm, &vm.reported, ps, np, &st);
	if (c->output == CLI_OUTPUT_TABLE)
		return show_human(c, &vm, &st);
	if ((j = vm_json(&vm, &st)) == NULL)
		return cli_fail(err, "out of memory");
	r = cli_json_print(j, err);
	json_decref(j);
	return r;
}

const struct cli_cmd cli_cmd_vm_show = {
	"vm", "show", "VM [-g RG]",
	"Show a virtual machine: addresses, enforcement point, JIT state and ports.",
	"VM is a name (with -g when it is not unique) or a full resource ID.\n",
	(const struct cli_opt[]){
		{"resource-group", 'g', "RG", "the VM's resource group"},
		{NULL, 0, NULL, NULL},
	},
	vm_show,
	false,
};

/* ---- vm add ---- */

struct add_args {
	const char *rg;
	bool has_os;
	enum jit_os os;
	size_t n_addresses;
	struct jit_prefix addresses[JIT_MAX_VM_ADDRESSES];
	const char *ep;
	const char *location;
};

static int
add_address(struct add_args *a, const char *arg, struct jit_error *err)
{
	struct jit_prefix *p = &a->addresses[a->n_addresses];
	struct jit_error e;

	if (a->n_addresses == JIT_MAX_VM_ADDRESSES)
		return cli_usage(err, "--address: at most %d addresses", JIT_MAX_VM_ADDRESSES);
	if (jit_prefix_parse(arg, p, &e) != 0)
		return cli_usage(err, "--address %.60s: %s", arg, e.message);
	if (p->family == JIT_FAMILY_ANY || p->len != (p->family == JIT_FAMILY_INET ? 32 : 128))
		return cli_usage(err, "--address %.60s: give one IPv4 or IPv6 address, not a prefix",
			arg);
	for (size_t i = 0; i < a->n_addresses; i++)
		if (jit_prefix_equal(&a->addresses[i], p))
			return cli_usage(err, "--address %.60s: given twice", arg);
	a->n_addresses++;
	return 0;
}

static int
add_opt(void *ctx, int key, const char *arg, struct jit_error *err)
{
	struct add_args *a = ctx;
	struct jit_error e;

	switch (key) {
	case 'g':
		a->rg = arg;
		return cli_name_check(arg, "resource group name", err);
	case KEY_OS:
		if (jit_os_parse(arg, &a->os, &e) != 0)
			return cli_usage(err, "--os: expected linux or windows, not '%.40s'", arg);
		a->has_os = true;
		return 0;
	case KEY_ADDRESS:
		return add_address(a, arg, err);
	case KEY_EP:
		a->ep = arg;
		return 0;
	case KEY_LOCATION:
		a->location = arg;
		return cli_name_check(arg, "location", err);
	}
	return cli_usage(err, "unexpected option");
}

/* The enforcement point: a full ID, or a name in the VM's resource group. */
static int
ep_id(struct cli *c, const struct add_args *a, char out[JIT_RESOURCE_ID_MAX],
	struct jit_error *err)
{
	struct jit_error e;
	struct jit_rid id;

	if (a->ep[0] == '/') {
		if (jit_rid_parse_kind(a->ep, JIT_RID_ENFORCEMENT_POINT, &id, &e) != 0)
			return cli_usage(err, "--enforcement-point: %s", e.message);
	} else {
		if (cli_name_check(a->ep, "enforcement point name", err) != 0)
			return -1;
		jit_rid_enforcement_point(&id, c->sub, a->rg, a->ep);
	}
	return cli_rid_path(&id, out, JIT_RESOURCE_ID_MAX, err);
}

/* PUTs (or DELETEs, with body NULL) a resource group. */
static int
rg_call(struct cli *c, const char *rg, const char *location, struct jit_error *err)
{
	char path[JIT_RESOURCE_ID_MAX];
	struct jit_rid id;
	json_t *body = NULL;
	int r;

	jit_rid_resource_group(&id, c->sub, rg);
	if (cli_rid_path(&id, path, sizeof(path), err) != 0)
		return -1;
	if (location != NULL && (body = json_pack("{s:s}", "location", location)) == NULL)
		return cli_fail(err, "out of memory");
	r = cli_call(c, location ? "PUT" : "DELETE", path, body, NULL, NULL, err);
	json_decref(body);
	return r;
}

/* PUTs the VM. When its resource group does not exist, makes it (with the VM's location,
 * else 'local') and tries again; if the server then refuses the VM, the new group is
 * deleted again, so that a failed vm add leaves nothing behind. */
static int
put_vm(struct cli *c, const struct add_args *a, const char *path, json_t *body, int *status,
	json_t **out, struct jit_error *err)
{
	const char *loc = a->location ? a->location : "local";
	struct jit_error e2;

	if (cli_call(c, "PUT", path, body, status, out, err) == 0)
		return 0;
	if (err->status != 404 || strcmp(err->code, "ResourceGroupNotFound") != 0)
		return -1;
	if (a->ep != NULL)
		return cli_fail(err, "resource group %s does not exist, so it has no enforcement "
			"point %s: an enforcement point belongs to its VMs' group, made when an agent "
			"enrolls with a token from 'jitgate agent enroll-token -g %s' ('jitgate agent "
			"list -g %s' shows them)", a->rg, a->ep, a->rg, a->rg);
	if (rg_call(c, a->rg, loc, err) != 0)
		return -1;
	if (cli_call(c, "PUT", path, body, status, out, err) == 0) {
		fprintf(stderr, "jitgate: created resource group %s (location %s)\n", a->rg, loc);
		return 0;
	}
	if (rg_call(c, a->rg, NULL, &e2) != 0)
		fprintf(stderr, "jitgate: warning: the resource group %s made for this VM could not "
			"be deleted again: %s\n", a->rg, e2.message);
	return -1;
}

static int
vm_add(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	struct add_args a = {0};
	struct jit_vm vm = {0};
	json_t *j = NULL, *body = NULL, *out = NULL;
	char addrs[512];
	int first, r, status, rc = -1;

	if ((r = cli_args_parse(c, &cli_cmd_vm_add, argc, argv, add_opt, &a, &first, err)) != 0)
		return r > 0 ? 0 : -1;
	if (argc - first != 1)
		return cli_usage(err, "name one VM to add");
	if (cli_name_check(argv[first], "VM name", err) != 0)
		return -1;
	if (a.rg == NULL || !a.has_os || a.n_addresses == 0)
		return cli_usage(err, "vm add needs -g RG, --os linux|windows and --address IP");
	if (cli_session(c, err) != 0)
		return -1;
	jit_rid_vm(&vm.id, c->sub, a.rg, argv[first]);
	vm.os = a.os;
	vm.n_addresses = a.n_addresses;
	memcpy(vm.addresses, a.addresses, sizeof(vm.addresses));
	if (a.ep != NULL && ep_id(c, &a, vm.enforcement_point, err) != 0)
		return -1;
	/* Only properties (and a location) are the client's to send. */
	if ((j = jit_vm_to_json(&vm)) == NULL ||
		(body = json_pack("{s:O}", "properties", json_object_get(j, "properties"))) == NULL ||
		(a.location != NULL &&
			json_object_set_new(body, "location", json_string(a.location)) != 0)) {
		cli_fail(err, "out of memory");
		goto out;
	}
	{
		char path[JIT_RESOURCE_ID_MAX];

		if (cli_rid_path(&vm.id, path, sizeof(path), err) != 0 ||
			put_vm(c, &a, path, body, &status, &out, err) != 0)
			goto out;
	}
	if (c->output == CLI_OUTPUT_JSON) {
		rc = cli_json_print(out, err);
		goto out;
	}
	addresses_text(&vm, addrs, sizeof(addrs));
	printf("%s: %s in resource group %s (%s, %s%s%s)\n", vm.id.name,
		status == 201 ? "added" : "updated", vm.id.rg, jit_os_name(vm.os), addrs,
		vm.enforcement_point[0] ? ", enforcement point " : "", ep_name(&vm));
	rc = 0;
out:
	json_decref(out);
	json_decref(body);
	json_decref(j);
	return rc;
}

const struct cli_cmd cli_cmd_vm_add = {
	"vm", "add", "NAME -g RG --os linux|windows --address IP [options]",
	"Add a virtual machine to the inventory (or replace one of that name).",
	"A resource group that does not exist yet is created (with --location, else\n"
	"'local'), and deleted again if the VM is refused. A VM protected by an agent on\n"
	"the host itself is registered by the agent when it enrolls; vm add is for VMs\n"
	"behind a gateway, or for inventory. --enforcement-point names an enforcement\n"
	"point of the VM's own resource group: an agent enrolled with a token from\n"
	"'jitgate agent enroll-token -g RG' ('jitgate agent list' shows their names).\n",
	(const struct cli_opt[]){
		{"resource-group", 'g', "RG", "the resource group (required)"},
		{"os", KEY_OS, "OS", "linux or windows (required)"},
		{"address", KEY_ADDRESS, "IP", "an address of the VM (required; repeatable)"},
		{"enforcement-point", KEY_EP, "ID", "the enforcement point protecting it (a name in "
			"RG, or a full ID)"},
		{"location", KEY_LOCATION, "LOC", "the VM's location (and a new group's)"},
		{NULL, 0, NULL, NULL},
	},
	vm_add,
	false,
};

/* ---- vm remove ---- */

static int
vm_remove(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	struct one_args a = {0};
	json_t *removed = NULL;
	int first, r, rc = -1;

	if ((r = cli_args_parse(c, &cli_cmd_vm_remove, argc, argv, one_opt, &a, &first,
		err)) != 0)
		return r > 0 ? 0 : -1;
	if (first == argc)
		return cli_usage(err, "name the VM(s) to remove");
	if ((removed = json_array()) == NULL)
		return cli_fail(err, "out of memory");
	for (int i = first; i < argc; i++) {
		char path[JIT_RESOURCE_ID_MAX];
		struct cli_vm v;

		if (cli_vm_find(c, argv[i], a.rg, &v, err) != 0 ||
			cli_rid_path(&v.vm.id, path, sizeof(path), err) != 0 ||
			cli_call(c, "DELETE", path, NULL, NULL, NULL, err) != 0)
			goto out;
		if (c->output == CLI_OUTPUT_TABLE)
			printf("%s: removed from resource group %s\n", v.vm.id.name, v.vm.id.rg);
		json_array_append_new(removed, json_string(path));
	}
	rc = c->output == CLI_OUTPUT_JSON ? cli_json_print(removed, err) : 0;
out:
	json_decref(removed);
	return rc;
}

const struct cli_cmd cli_cmd_vm_remove = {
	"vm", "remove", "VM... [-g RG]",
	"Remove virtual machines from the inventory.",
	"A VM in a JIT policy cannot be removed: 'jitgate jit disable' it first.\n"
	"With -o json, prints the IDs removed.\n",
	(const struct cli_opt[]){
		{"resource-group", 'g', "RG", "the VMs' resource group"},
		{NULL, 0, NULL, NULL},
	},
	vm_remove,
	false,
};
