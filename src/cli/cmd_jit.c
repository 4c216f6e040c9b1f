/*
 * cmd_jit.c: jitgate jit enable | edit | show | list | disable | set: JIT
 * policies, in Azure's shape (one policy per resource group and location,
 * listing VMs and their port rules).
 *
 * Every change is read-modify-write of whole policies: read the subscription's
 * policies, change the ones concerned in memory, PUT each once. Other VMs of a
 * policy are kept as they are; a policy left without VMs is deleted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "args.h"
#include "files.h"
#include "model_json.h"
#include "output.h"
#include "portspec.h"
#include "resources.h"
#include "vm_jit.h"

enum {
	KEY_PORT = CLI_KEY_LONG,
	KEY_RECOMMENDED,
	KEY_LOCATION,
	KEY_POLICY,
	KEY_ADD_PORT,
	KEY_REMOVE_PORT,
	KEY_SET_PORT,
	KEY_FILE,
};

#define DEFAULT_POLICY "default"

/* Azure's recommended management ports: SSH, RDP, WinRM over HTTP and HTTPS. */
static const uint16_t recommended_ports[] = {22, 3389, 5985, 5986};

/* Options shared by the jit commands; each command takes the ones it lists. */
struct jit_args {
	const char *rg;
	const char *location;
	const char *policy;
	bool recommended;
	const char *file;
	size_t n_specs;
	struct cli_port_spec *specs;
	/* jit edit: the changes in the order given */
	size_t n_ops;
	struct edit_op {
		int key;                /* KEY_ADD_PORT, KEY_REMOVE_PORT or KEY_SET_PORT */
		struct cli_port_spec spec;
	} *ops;
};

static void
args_free(struct jit_args *a)
{
	free(a->specs);
	free(a->ops);
}

static int
add_spec(struct jit_args *a, const char *arg, struct jit_error *err)
{
	struct cli_port_spec *grown, spec;

	if (cli_port_spec_parse(arg, &spec, err) != 0)
		return -1;
	for (size_t i = 0; i < a->n_specs; i++)
		if (a->specs[i].number == spec.number)
			return cli_usage(err, "--port %u is given twice", spec.number);
	if (a->n_specs == JIT_MAX_PORTS_PER_VM)
		return cli_usage(err, "at most %d ports per VM", JIT_MAX_PORTS_PER_VM);
	if ((grown = realloc(a->specs, (a->n_specs + 1) * sizeof(*grown))) == NULL)
		return cli_fail(err, "out of memory");
	a->specs = grown;
	a->specs[a->n_specs++] = spec;
	return 0;
}

static int
add_op(struct jit_args *a, int key, const char *arg, struct jit_error *err)
{
	struct edit_op *grown, op = {.key = key};

	if (a->n_ops == 4 * JIT_MAX_PORTS_PER_VM)
		return cli_usage(err, "too many changes in one jit edit");
	if (key == KEY_REMOVE_PORT) {
		if (cli_port_number_parse(arg, &op.spec.number, err) != 0)
			return jit_error_prefix(err, "--remove-port");
	} else if (cli_port_spec_parse(arg, &op.spec, err) != 0) {
		return -1;
	}
	if ((grown = realloc(a->ops, (a->n_ops + 1) * sizeof(*grown))) == NULL)
		return cli_fail(err, "out of memory");
	a->ops = grown;
	a->ops[a->n_ops++] = op;
	return 0;
}

static int
jit_opt(void *ctx, int key, const char *arg, struct jit_error *err)
{
	struct jit_args *a = ctx;

	switch (key) {
	case 'g':
		a->rg = arg;
		return cli_name_check(arg, "resource group name", err);
	case KEY_LOCATION:
		a->location = arg;
		return cli_name_check(arg, "location", err);
	case KEY_POLICY:
		a->policy = arg;
		return cli_name_check(arg, "policy name", err);
	case KEY_RECOMMENDED:
		a->recommended = true;
		return 0;
	case KEY_PORT:
		return add_spec(a, arg, err);
	case KEY_ADD_PORT:
	case KEY_REMOVE_PORT:
	case KEY_SET_PORT:
		return add_op(a, key, arg, err);
	case KEY_FILE:
		a->file = arg;
		return 0;
	}
	return cli_usage(err, "unexpected option");
}

static int
parse(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct jit_args *a,
	int *first, struct jit_error *err)
{
	memset(a, 0, sizeof(*a));
	return cli_args_parse(c, cmd, argc, argv, jit_opt, a, first, err);
}

/* ---- rules and policies in memory ---- */

static void
rules_free(struct jit_port_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rules[i].sources.prefixes);
	free(rules);
}

static struct jit_port_rule *
rule_find(struct jit_port_rule *rules, size_t n, uint16_t number)
{
	for (size_t i = 0; i < n; i++)
		if (rules[i].number == number)
			return &rules[i];
	return NULL;
}

/* Appends the default rule for number to rules[*n] (room is there). */
static int
rule_add_default(struct jit_port_rule *rules, size_t *n, uint16_t number,
	struct jit_error *err)
{
	if (cli_port_rule_default(number, &rules[*n], err) != 0)
		return -1;
	(*n)++;
	return 0;
}

/* The ports jit enable gives a VM: the specs, the recommended ports, or the OS default. */
static int
enable_rules(const struct jit_args *a, enum jit_os os, struct jit_port_rule **out,
	size_t *n, struct jit_error *err)
{
	size_t cap = a->n_specs + 4;
	struct jit_port_rule *rules = calloc(cap, sizeof(*rules));

	*n = 0;
	if (rules == NULL)
		return cli_fail(err, "out of memory");
	if (a->recommended) {
		for (size_t i = 0; i < 4; i++)
			if (rule_add_default(rules, n, recommended_ports[i], err) != 0)
				goto fail;
	} else if (a->n_specs == 0) {
		if (rule_add_default(rules, n, os == JIT_OS_WINDOWS ? 3389 : 22, err) != 0)
			goto fail;
	}
	for (size_t i = 0; i < a->n_specs; i++) {
		struct jit_port_rule *r = rule_find(rules, *n, a->specs[i].number);

		if (r == NULL) {
			if (rule_add_default(rules, n, a->specs[i].number, err) != 0)
				goto fail;
			r = &rules[*n - 1];
		}
		if (cli_port_spec_apply(&a->specs[i], r, err) != 0)
			goto fail;
	}
	*out = rules;
	return 0;
fail:
	rules_free(rules, *n);
	return -1;
}

/* Gives vm the rules (taking them) in p: replaces its entry or appends one. */
static int
policy_set_vm(struct jit_policy *p, const struct jit_rid *vm, struct jit_port_rule *rules,
	size_t n, struct jit_error *err)
{
	struct jit_policy_vm *grown;

	for (size_t i = 0; i < p->n_vms; i++) {
		if (!jit_rid_equal(&p->vms[i].id, vm))
			continue;
		rules_free(p->vms[i].ports, p->vms[i].n_ports);
		p->vms[i].ports = rules;
		p->vms[i].n_ports = n;
		return 0;
	}
	if (p->n_vms == JIT_MAX_VMS_PER_POLICY) {
		rules_free(rules, n);
		return cli_fail(err, "the policy %s already lists %d VMs", p->id.name,
			JIT_MAX_VMS_PER_POLICY);
	}
	if ((grown = realloc(p->vms, (p->n_vms + 1) * sizeof(*grown))) == NULL) {
		rules_free(rules, n);
		return cli_fail(err, "out of memory");
	}
	p->vms = grown;
	memset(&p->vms[p->n_vms], 0, sizeof(p->vms[0]));
	p->vms[p->n_vms].id = *vm;
	p->vms[p->n_vms].ports = rules;
	p->vms[p->n_vms].n_ports = n;
	p->n_vms++;
	return 0;
}

static struct jit_policy *
policy_new(const struct jit_rid *id)
{
	struct jit_policy *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->id = *id;
	p->kind = strdup("Basic");
	p->location = strdup(id->location);
	if (p->kind == NULL || p->location == NULL) {
		jit_policy_free(p);
		return NULL;
	}
	return p;
}

/* The policies a command changes, each PUT (or deleted) once at the end. */
struct targets {
	size_t n;
	struct target {
		struct jit_policy *p;
		bool owned;          /* made here, not in the session's cache */
	} t[JIT_MAX_VMS_PER_REQUEST];
};

static struct jit_policy *
targets_find(struct targets *ts, const struct jit_rid *id)
{
	for (size_t i = 0; i < ts->n; i++)
		if (jit_rid_equal(&ts->t[i].p->id, id))
			return ts->t[i].p;
	return NULL;
}

static int
targets_add(struct targets *ts, struct jit_policy *p, bool owned, struct jit_error *err)
{
	if (targets_find(ts, &p->id) != NULL)
		return 0;
	if (ts->n == sizeof(ts->t) / sizeof(ts->t[0])) {
		if (owned)
			jit_policy_free(p);
		return cli_usage(err, "too many policies in one command");
	}
	ts->t[ts->n++] = (struct target){p, owned};
	return 0;
}

static void
targets_free(struct targets *ts)
{
	if (ts == NULL)
		return;
	for (size_t i = 0; i < ts->n; i++)
		if (ts->t[i].owned)
			jit_policy_free(ts->t[i].p);
	free(ts);
}

static struct jit_policy *
cached_policy(struct jit_policy **ps, size_t n, const struct jit_rid *id)
{
	for (size_t i = 0; i < n; i++)
		if (jit_rid_equal(&ps[i]->id, id))
			return ps[i];
	return NULL;
}

static void
ports_text(const struct jit_policy_vm *pv, char *buf, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < pv->n_ports; i++) {
		const struct jit_port_rule *r = &pv->ports[i];
		char src[256], max[JIT_DURATION_BUFSZ];
		int w;

		cli_sources_text(&r->sources, src, sizeof(src));
		jit_duration_format(r->max_duration_ns, max);
		w = snprintf(buf + used, n - used, "%s%u/%s from %s up to %s", i ? "; " : "",
			r->number, jit_proto_name(r->protocol), src, max);
		if (w < 0 || (size_t)w >= n - used)
			break;
		used += (size_t)w;
	}
}

static const struct jit_policy_vm *
policy_vm(const struct jit_policy *p, const struct jit_rid *vm)
{
	for (size_t i = 0; i < p->n_vms; i++)
		if (jit_rid_equal(&p->vms[i].id, vm))
			return &p->vms[i];
	return NULL;
}

/* PUTs every target; prints the answers as a JSON array when asked. */
static int
put_targets(struct cli *c, struct targets *ts, json_t *answers, struct jit_error *err)
{
	for (size_t i = 0; i < ts->n; i++) {
		json_t *out = NULL;

		if (cli_policy_put(c, ts->t[i].p, &out, err) != 0)
			return -1;
		if (json_array_append_new(answers, out ? out : json_null()) != 0)
			return cli_fail(err, "out of memory");
	}
	return 0;
}

/* ---- jit enable ---- */

/* Where vm's rules go: the policy named by the flags, the VM's current one, or
 * "default" at the resource group's location. */
static int
enable_target(struct cli *c, const struct jit_args *a, const struct jit_vm *vm,
	const struct jit_policy *existing, struct jit_rid *id, struct jit_error *err)
{
	char loc[JIT_NAME_MAX + 1];
	const char *name = a->policy;

	if (existing != NULL && a->policy == NULL && a->location == NULL) {
		*id = existing->id;
		return 0;
	}
	if (a->location != NULL)
		snprintf(loc, sizeof(loc), "%s", a->location);
	else if (existing != NULL)
		snprintf(loc, sizeof(loc), "%s", existing->id.location);
	else if (cli_rg_location(c, vm->id.rg, loc, err) != 0)
		return -1;
	if (name == NULL)
		name = existing != NULL ? existing->id.name : DEFAULT_POLICY;
	jit_rid_policy(id, vm->id.sub, vm->id.rg, loc, name);
	if (existing != NULL && !jit_rid_equal(&existing->id, id))
		return cli_fail(err, "%s is already in the JIT policy %s (location %s); 'jitgate jit "
			"disable %s' first, or leave out --policy and --location", vm->id.name,
			existing->id.name, existing->id.location, vm->id.name);
	return 0;
}

/* Why nothing will enforce a VM's policy ("" when something will), as the server said. */
struct unenforced {
	char reason[sizeof(((struct cli_vm_reported *)0)->reason)];
};

static int
enable_one(struct cli *c, const struct jit_args *a, const char *arg, struct targets *ts,
	struct jit_rid *vm_id, struct unenforced *why, struct jit_error *err)
{
	struct jit_policy **ps, *existing, *p;
	struct jit_port_rule *rules = NULL;
	struct cli_vm v;
	struct jit_vm *vm = &v.vm;
	struct jit_rid id;
	size_t np, n;

	if (cli_vm_find(c, arg, a->rg, &v, err) != 0 || cli_policies(c, &ps, &np, err) != 0)
		return -1;
	*vm_id = vm->id;
	why->reason[0] = '\0';
	if (v.reported.has && v.reported.state == JIT_VM_UNSUPPORTED)
		snprintf(why->reason, sizeof(why->reason), "%s",
			v.reported.reason[0] ? v.reported.reason : "the server gives no reason");
	else if (!v.reported.has && vm->enforcement_point[0] == '\0')
		snprintf(why->reason, sizeof(why->reason), "no enforcement point");
	existing = cli_policy_of(ps, np, &vm->id, NULL);
	if (enable_target(c, a, vm, existing, &id, err) != 0)
		return -1;
	if ((p = targets_find(ts, &id)) == NULL) {
		bool owned = false;

		if ((p = cached_policy(ps, np, &id)) == NULL) {
			if ((p = policy_new(&id)) == NULL)
				return cli_fail(err, "out of memory");
			owned = true;
		}
		if (targets_add(ts, p, owned, err) != 0)
			return -1;
	}
	if (enable_rules(a, vm->os, &rules, &n, err) != 0)
		return -1;
	return policy_set_vm(p, &vm->id, rules, n, err);
}

static int
jit_enable(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	struct targets *ts = NULL;
	struct jit_rid *vms = NULL;
	struct unenforced *why = NULL;
	struct jit_args a;
	json_t *answers = NULL;
	int first, r, rc = -1;

	if ((r = parse(c, &cli_cmd_jit_enable, argc, argv, &a, &first, err)) != 0) {
		args_free(&a);
		return r > 0 ? 0 : -1;
	}
	if (first == argc) {
		cli_usage(err, "name the VM(s) to enable JIT on");
		goto out;
	}
	if ((ts = calloc(1, sizeof(*ts))) == NULL || (answers = json_array()) == NULL ||
		(vms = calloc((size_t)argc, sizeof(*vms))) == NULL ||
		(why = calloc((size_t)argc, sizeof(*why))) == NULL) {
		cli_fail(err, "out of memory");
		goto out;
	}
	for (int i = first; i < argc; i++) {
		if (enable_one(c, &a, argv[i], ts, &vms[i], &why[i], err) != 0)
			goto out;
		for (int k = first; k < i; k++)
			if (jit_rid_equal(&vms[k], &vms[i])) {
				cli_usage(err, "%s is named twice", vms[i].name);
				goto out;
			}
	}
	if (put_targets(c, ts, answers, err) != 0)
		goto out;
	/* The policy is written either way (it applies once the VM is enforced), but the
	 * user must not believe its ports are locked. */
	for (int k = first; k < argc; k++)
		if (why[k].reason[0] != '\0')
			fprintf(stderr, "jitgate: warning: %s is Unsupported, nothing enforces its "
				"policy and its ports are NOT locked: %s\n", vms[k].name, why[k].reason);
	if (c->output == CLI_OUTPUT_JSON) {
		rc = cli_json_print(answers, err);
		goto out;
	}
	for (size_t i = 0; i < ts->n; i++) {
		const struct jit_policy *p = ts->t[i].p;

		for (int k = first; k < argc; k++) {
			const struct jit_policy_vm *pv = policy_vm(p, &vms[k]);
			char ports[2048];

			if (pv == NULL)
				continue;
			ports_text(pv, ports, sizeof(ports));
			printf("%s: JIT enabled (policy %s in %s): %s\n", pv->id.name, p->id.name,
				p->id.location, ports);
		}
	}
	rc = 0;
out:
	free(why);
	free(vms);
	json_decref(answers);
	targets_free(ts);
	args_free(&a);
	return rc;
}

const struct cli_cmd cli_cmd_jit_enable = {
	"jit", "enable", "VM... [-g RG] [--port SPEC]... [--recommended] [options]",
	"Enable JIT access on virtual machines: lock their management ports down.",
	"Without --port, a Linux VM gets port 22 and a Windows VM 3389, any protocol,\n"
	"any source, requests of up to three hours (PT3H), as Azure's quick enable.\n"
	"--recommended gives 22, 3389, 5985 and 5986. SPEC is\n"
	"  NUMBER[/tcp|udp|any][,from=PREFIX[;PREFIX...]]...[,max=DURATION][,close=yes]\n"
	"e.g. 22, 3389/tcp,from=10.0.0.0/8,max=PT1H, 22,from=10.0.0.0/8;192.168.0.0/16.\n"
	"close=yes cuts established connections when access ends (by default they\n"
	"survive, as with Azure's NSGs).\n"
	"A VM joins its resource group's policy (default: the one it is in, else\n"
	"\"default\" at the group's location); the other VMs of that policy are kept.\n"
	"Enabling a VM again replaces its ports.\n",
	(const struct cli_opt[]){
		{"resource-group", 'g', "RG", "the VMs' resource group"},
		{"port", KEY_PORT, "SPEC", "a port to lock down (repeatable)"},
		{"recommended", KEY_RECOMMENDED, NULL, "ports 22, 3389, 5985 and 5986"},
		{"location", KEY_LOCATION, "LOC", "the policy's location (default: the group's)"},
		{"policy", KEY_POLICY, "NAME", "the policy's name (default \"default\")"},
		{NULL, 0, NULL, NULL},
	},
	jit_enable,
	false,
};

/* ---- jit edit ---- */

static int
edit_apply(const struct edit_op *op, struct jit_policy_vm *pv, struct jit_error *err)
{
	uint16_t number = op->spec.number;
	struct jit_port_rule *r = rule_find(pv->ports, pv->n_ports, number), *grown;

	switch (op->key) {
	case KEY_ADD_PORT:
		if (r != NULL)
			return cli_fail(err, "port %u is already configured on %s; change it with "
				"--set-port", number, pv->id.name);
		if (pv->n_ports == JIT_MAX_PORTS_PER_VM)
			return cli_fail(err, "%s already has %d ports", pv->id.name,
				JIT_MAX_PORTS_PER_VM);
		if ((grown = realloc(pv->ports, (pv->n_ports + 1) * sizeof(*grown))) == NULL)
			return cli_fail(err, "out of memory");
		pv->ports = grown;
		if (rule_add_default(pv->ports, &pv->n_ports, number, err) != 0)
			return -1;
		return cli_port_spec_apply(&op->spec, &pv->ports[pv->n_ports - 1], err);
	case KEY_SET_PORT:
		if (r == NULL)
			return cli_fail(err, "port %u is not configured on %s; add it with --add-port",
				number, pv->id.name);
		return cli_port_spec_apply(&op->spec, r, err);
	default:
		if (r == NULL)
			return cli_fail(err, "port %u is not configured on %s", number, pv->id.name);
		free(r->sources.prefixes);
		memmove(r, r + 1, (size_t)(pv->ports + pv->n_ports - (r + 1)) * sizeof(*r));
		pv->n_ports--;
		return 0;
	}
}

static int
print_vm_ports(const struct jit_policy *p, const struct jit_policy_vm *pv,
	struct jit_error *err)
{
	static const char *const headers[] = {"PORT", "PROTOCOL", "SOURCES", "MAX DURATION",
		"AT EXPIRY"};
	struct cli_table *t = cli_table_new(5, headers);
	int rc = -1;

	if (t == NULL)
		return cli_fail(err, "out of memory");
	printf("VM:      %s (resource group %s)\nPolicy:  %s in %s\n\n", pv->id.name, pv->id.rg,
		p->id.name, p->id.location);
	for (size_t i = 0; i < pv->n_ports; i++) {
		const struct jit_port_rule *r = &pv->ports[i];
		char num[8], src[2048], max[JIT_DURATION_BUFSZ];
		const char *row[] = {num, jit_proto_name(r->protocol), src, max,
			r->close_established ? "close connections" : "keep connections"};

		snprintf(num, sizeof(num), "%u", r->number);
		cli_sources_text(&r->sources, src, sizeof(src));
		jit_duration_format(r->max_duration_ns, max);
		if (cli_table_add(t, row, err) != 0)
			goto out;
	}
	cli_table_print(t);
	rc = 0;
out:
	cli_table_free(t);
	return rc;
}

/* The VM's policy and its entry; fails when the VM is not JIT-enabled. */
static int
vm_policy(struct cli *c, const char *arg, const char *rg, struct jit_vm *vm,
	struct jit_policy **p, size_t *idx, struct jit_error *err)
{
	struct jit_policy **ps;
	struct cli_vm v;
	size_t np;

	if (cli_vm_find(c, arg, rg, &v, err) != 0 || cli_policies(c, &ps, &np, err) != 0)
		return -1;
	*vm = v.vm;
	if ((*p = cli_policy_of(ps, np, &vm->id, idx)) == NULL)
		return cli_fail(err, "JIT is not enabled on %s ('jitgate jit enable %s')",
			vm->id.name, vm->id.name);
	return 0;
}

static int
jit_edit(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	struct jit_policy *p;
	struct jit_args a;
	struct jit_vm vm;
	json_t *out = NULL;
	size_t idx;
	int first, r, rc = -1;

	if ((r = parse(c, &cli_cmd_jit_edit, argc, argv, &a, &first, err)) != 0) {
		args_free(&a);
		return r > 0 ? 0 : -1;
	}
	if (argc - first != 1) {
		cli_usage(err, "name one VM");
		goto out;
	}
	if (a.n_ops == 0) {
		cli_usage(err, "say what to change: --add-port, --set-port or --remove-port");
		goto out;
	}
	if (vm_policy(c, argv[first], a.rg, &vm, &p, &idx, err) != 0)
		goto out;
	for (size_t i = 0; i < a.n_ops; i++)
		if (edit_apply(&a.ops[i], &p->vms[idx], err) != 0)
			goto out;
	if (p->vms[idx].n_ports == 0) {
		cli_fail(err, "that leaves %s without JIT ports; 'jitgate jit disable %s' turns JIT "
			"off", vm.id.name, vm.id.name);
		goto out;
	}
	if (cli_policy_put(c, p, &out, err) != 0)
		goto out;
	rc = c->output == CLI_OUTPUT_JSON ? cli_json_print(out, err) :
		print_vm_ports(p, &p->vms[idx], err);
out:
	json_decref(out);
	args_free(&a);
	return rc;
}

const struct cli_cmd cli_cmd_jit_edit = {
	"jit", "edit", "VM [-g RG] [--add-port SPEC] [--set-port SPEC] [--remove-port N]...",
	"Change the JIT ports of a virtual machine.",
	"Changes apply in the order given. --add-port takes a new port (defaults as in\n"
	"'jit enable'); --set-port changes only what its SPEC names (e.g.\n"
	"--set-port 22,max=PT1H keeps the sources); --remove-port drops a port.\n",
	(const struct cli_opt[]){
		{"resource-group", 'g', "RG", "the VM's resource group"},
		{"add-port", KEY_ADD_PORT, "SPEC", "add a port (repeatable)"},
		{"set-port", KEY_SET_PORT, "SPEC", "change a port (repeatable)"},
		{"remove-port", KEY_REMOVE_PORT, "N", "remove a port (repeatable)"},
		{NULL, 0, NULL, NULL},
	},
	jit_edit,
	false,
};

/* ---- jit show ---- */

/* The policy entry of one VM, in Azure's shape. */
static json_t *
policy_vm_json(const struct jit_policy *p, const struct jit_policy_vm *pv)
{
	struct jit_policy one = {.id = p->id, .n_vms = 1, .vms = (struct jit_policy_vm *)pv};
	char id[JIT_RESOURCE_ID_MAX];
	json_t *j = jit_policy_to_json(&one), *out = NULL;
	json_t *vm = json_array_get(json_object_get(json_object_get(j, "properties"),
		"virtualMachines"), 0);

	if (vm != NULL && jit_rid_format(&p->id, id, sizeof(id)) >= 0)
		out = json_pack("{s:s,s:O}", "policy", id, "virtualMachine", vm);
	json_decref(j);
	return out;
}

/* The policy named by -g, --policy and --location (which may be left out when
 * the group has only one policy of that name). */
static int
named_policy(struct cli *c, const struct jit_args *a, struct jit_policy **out,
	struct jit_error *err)
{
	const char *name = a->policy ? a->policy : DEFAULT_POLICY;
	struct jit_policy **ps;
	size_t np, hits = 0;

	if (cli_policies(c, &ps, &np, err) != 0)
		return -1;
	for (size_t i = 0; i < np; i++) {
		if (strcasecmp(ps[i]->id.rg, a->rg) != 0 || strcasecmp(ps[i]->id.name, name) != 0 ||
			(a->location != NULL && strcasecmp(ps[i]->id.location, a->location) != 0))
			continue;
		if (hits++ == 0)
			*out = ps[i];
	}
	if (hits == 0)
		return cli_fail(err, "resource group %s has no JIT policy named %s%s%s", a->rg, name,
			a->location ? " in " : "", a->location ? a->location : "");
	if (hits > 1)
		return cli_usage(err, "resource group %s has policies named %s in several locations: "
			"choose one with --location", a->rg, name);
	return 0;
}

static int
show_policy(struct cli *c, const struct jit_policy *p, struct jit_error *err)
{
	static const char *const headers[] = {"VM", "PORT", "PROTOCOL", "SOURCES",
		"MAX DURATION", "AT EXPIRY"};
	struct cli_table *t;
	json_t *j;
	int rc = -1;

	if (c->output == CLI_OUTPUT_JSON) {
		if ((j = jit_policy_to_json(p)) == NULL)
			return cli_fail(err, "out of memory");
		rc = cli_json_print(j, err);
		json_decref(j);
		return rc;
	}
	if ((t = cli_table_new(6, headers)) == NULL)
		return cli_fail(err, "out of memory");
	printf("Policy:  %s in %s (resource group %s), %zu VM(s)\n\n", p->id.name,
		p->id.location, p->id.rg, p->n_vms);
	for (size_t i = 0; i < p->n_vms; i++)
		for (size_t k = 0; k < p->vms[i].n_ports; k++) {
			const struct jit_port_rule *r = &p->vms[i].ports[k];
			char num[8], src[2048], max[JIT_DURATION_BUFSZ];
			const char *row[] = {p->vms[i].id.name, num, jit_proto_name(r->protocol), src,
				max, r->close_established ? "close connections" : "keep connections"};

			snprintf(num, sizeof(num), "%u", r->number);
			cli_sources_text(&r->sources, src, sizeof(src));
			jit_duration_format(r->max_duration_ns, max);
			if (cli_table_add(t, row, err) != 0)
				goto out;
		}
	cli_table_print(t);
	rc = 0;
out:
	cli_table_free(t);
	return rc;
}

static int
jit_show(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	struct jit_policy *p;
	struct jit_args a;
	struct jit_vm vm;
	json_t *j;
	size_t idx;
	int first, r, rc = -1;

	if ((r = parse(c, &cli_cmd_jit_show, argc, argv, &a, &first, err)) != 0) {
		args_free(&a);
		return r > 0 ? 0 : -1;
	}
	if (argc - first > 1) {
		cli_usage(err, "name one VM, or a policy with -g RG [--policy NAME]");
	} else if (argc - first == 0) {
		if (a.rg == NULL)
			cli_usage(err, "name a VM, or a policy with -g RG [--policy NAME]");
		else if (named_policy(c, &a, &p, err) == 0)
			rc = show_policy(c, p, err);
	} else if (vm_policy(c, argv[first], a.rg, &vm, &p, &idx, err) == 0) {
		if (c->output == CLI_OUTPUT_TABLE)
			rc = print_vm_ports(p, &p->vms[idx], err);
		else if ((j = policy_vm_json(p, &p->vms[idx])) == NULL)
			cli_fail(err, "out of memory");
		else {
			rc = cli_json_print(j, err);
			json_decref(j);
		}
	}
	args_free(&a);
	return rc;
}

const struct cli_cmd cli_cmd_jit_show = {
	"jit", "show", "VM [-g RG] | -g RG [--policy NAME] [--location LOC]",
	"Show the JIT ports of a virtual machine, or a whole policy.",
	"With -o json, a VM shows as {\"policy\": ID, \"virtualMachine\": {...}} and a\n"
	"policy in Azure's shape, which 'jitgate jit set --file' takes back.\n",
	(const struct cli_opt[]){
		{"resource-group", 'g', "RG", "the VM's (or the policy's) resource group"},
		{"policy", KEY_POLICY, "NAME", "show this policy (default \"default\")"},
		{"location", KEY_LOCATION, "LOC", "the policy's location"},
		{NULL, 0, NULL, NULL},
	},
	jit_show,
	false,
};

/* ---- jit list ---- */

static int
jit_list(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	static const char *const headers[] = {"VM", "RESOURCE GROUP", "POLICY", "LOCATION",
		"PORTS"};
	struct cli_table *t = NULL;
	struct jit_policy **ps;
	struct jit_args a;
	json_t *out = NULL;
	char loc[JIT_NAME_MAX + 1];
	size_t np;
	int first, r, rc = -1;

	if ((r = parse(c, &cli_cmd_jit_list, argc, argv, &a, &first, err)) != 0) {
		args_free(&a);
		return r > 0 ? 0 : -1;
	}
	if (first < argc) {
		cli_usage(err, "unexpected argument '%.80s'", argv[first]);
		goto out;
	}
	if ((a.rg != NULL && cli_rg_location(c, a.rg, loc, err) != 0) ||
		cli_policies(c, &ps, &np, err) != 0)
		goto out;
	if ((out = json_array()) == NULL || (t = cli_table_new(5, headers)) == NULL) {
		cli_fail(err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < np; i++) {
		const struct jit_policy *p = ps[i];

		if (a.rg != NULL && strcasecmp(p->id.rg, a.rg) != 0)
			continue;
		if (json_array_append_new(out, jit_policy_to_json(p)) != 0) {
			cli_fail(err, "out of memory");
			goto out;
		}
		for (size_t k = 0; k < p->n_vms; k++) {
			char ports[1024] = "";
			const char *row[] = {p->vms[k].id.name, p->id.rg, p->id.name, p->id.location,
				ports};

			for (size_t q = 0; q < p->vms[k].n_ports; q++) {
				size_t used = strlen(ports);

				snprintf(ports + used, sizeof(ports) - used, "%s%u", q ? "," : "",
					p->vms[k].ports[q].number);
			}
			if (cli_table_add(t, row, err) != 0)
				goto out;
		}
	}
	if (c->output == CLI_OUTPUT_JSON)
		rc = cli_json_print(out, err);
	else {
		cli_table_print(t);
		rc = 0;
	}
out:
	cli_table_free(t);
	json_decref(out);
	args_free(&a);
	return rc;
}

const struct cli_cmd cli_cmd_jit_list = {
	"jit", "list", "[-g RG]",
	"List the JIT-enabled virtual machines and their policies.",
	"With -o json, prints the policies in Azure's shape (with their requests).\n",
	(const struct cli_opt[]){
		{"resource-group", 'g', "RG", "only this resource group's policies"},
		{NULL, 0, NULL, NULL},
	},
	jit_list,
	false,
};

/* ---- jit disable ---- */

/* A VM taken out of its policy, said to be so once the server accepted the policy. */
struct disabled_vm {
	struct jit_rid vm;
	const struct jit_policy *policy;
};

static int
jit_disable(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	struct targets *ts = NULL;
	struct disabled_vm *dv = NULL;
	struct jit_args a;
	json_t *out = NULL, *disabled = NULL, *deleted = NULL;
	size_t ndv = 0;
	int first, r, rc = -1;

	if ((r = parse(c, &cli_cmd_jit_disable, argc, argv, &a, &first, err)) != 0) {
		args_free(&a);
		return r > 0 ? 0 : -1;
	}
	if (first == argc) {
		cli_usage(err, "name the VM(s) to disable JIT on");
		goto out;
	}
	if ((ts = calloc(1, sizeof(*ts))) == NULL || (disabled = json_array()) == NULL ||
		(deleted = json_array()) == NULL || (dv = calloc((size_t)argc, sizeof(*dv))) == NULL) {
		cli_fail(err, "out of memory");
		goto out;
	}
	for (int i = first; i < argc; i++) {
		struct jit_policy **ps, *p;
		struct cli_vm v;
		struct jit_vm vm;
		size_t np, idx;

		if (cli_vm_find(c, argv[i], a.rg, &v, err) != 0 ||
			cli_policies(c, &ps, &np, err) != 0)
			goto out;
		vm = v.vm;
		if ((p = cli_policy_of(ps, np, &vm.id, &idx)) == NULL) {
			fprintf(stderr, "jitgate: JIT is not enabled on %s; nothing to do\n", vm.id.name);
			continue;
		}
		cli_policy_remove_vm(p, idx);
		if (targets_add(ts, p, false, err) != 0)
			goto out;
		dv[ndv++] = (struct disabled_vm){vm.id, p};
	}
	/* Success is said only for what the server accepted, policy by policy. */
	for (size_t i = 0; i < ts->n; i++) {
		struct jit_policy *p = ts->t[i].p;
		char id[JIT_RESOURCE_ID_MAX];
		json_t *ignored = NULL;

		if (p->n_vms > 0) {
			if (cli_policy_put(c, p, &ignored, err) != 0)
				goto out;
			json_decref(ignored);
		} else if (cli_policy_delete(c, &p->id, err) != 0) {
			goto out;
		}
		for (size_t k = 0; k < ndv; k++) {
			if (dv[k].policy != p)
				continue;
			jit_rid_format(&dv[k].vm, id, sizeof(id));
			json_array_append_new(disabled, json_string(id));
			if (c->output == CLI_OUTPUT_TABLE)
				printf("%s: JIT disabled (removed from policy %s in %s)\n", dv[k].vm.name,
					p->id.name, p->id.location);
		}
		if (p->n_vms > 0)
			continue;
		jit_rid_format(&p->id, id, sizeof(id));
		json_array_append_new(deleted, json_string(id));
		if (c->output == CLI_OUTPUT_TABLE)
			printf("policy %s in %s: deleted (no VMs left)\n", p->id.name, p->id.location);
	}
	if (c->output == CLI_OUTPUT_JSON) {
		if ((out = json_pack("{s:O,s:O}", "disabled", disabled, "deletedPolicies",
			deleted)) == NULL) {
			cli_fail(err, "out of memory");
			goto out;
		}
		rc = cli_json_print(out, err);
		goto out;
	}
	rc = 0;
out:
	free(dv);
	json_decref(out);
	json_decref(disabled);
	json_decref(deleted);
	targets_free(ts);
	args_free(&a);
	return rc;
}

const struct cli_cmd cli_cmd_jit_disable = {
	"jit", "disable", "VM... [-g RG]",
	"Disable JIT access on virtual machines (remove them from their policy).",
	"A policy left without VMs is deleted. A VM without JIT is skipped with a note.\n"
	"With -o json, prints {\"disabled\": [VM IDs], \"deletedPolicies\": [IDs]}.\n",
	(const struct cli_opt[]){
		{"resource-group", 'g', "RG", "the VMs' resource group"},
		{NULL, 0, NULL, NULL},
	},
	jit_disable,
	false,
};

/* ---- jit set ---- */

/* The resource group all of p's VMs are in, or NULL. */
static const char *
vms_rg(const struct jit_policy *p)
{
	for (size_t i = 1; i < p->n_vms; i++)
		if (strcasecmp(p->vms[i].id.rg, p->vms[0].id.rg) != 0 ||
			strcasecmp(p->vms[i].id.sub, p->vms[0].id.sub) != 0)
			return NULL;
	return p->n_vms > 0 ? p->vms[0].id.rg : NULL;
}

/* Where the policy goes: its own "id", else the flags, the VMs' group and its location. */
static int
set_target(struct cli *c, const struct jit_args *a, struct jit_policy *p,
	struct jit_error *err)
{
	char loc[JIT_NAME_MAX + 1];
	const char *rg = a->rg ? a->rg : vms_rg(p);

	if (p->id.kind == JIT_RID_JIT_POLICY) {
		if ((a->rg && strcasecmp(a->rg, p->id.rg) != 0) ||
			(a->policy && strcasecmp(a->policy, p->id.name) != 0) ||
			(a->location && strcasecmp(a->location, p->id.location) != 0))
			return cli_usage(err, "the file's \"id\" names another policy than -g, --policy "
				"or --location");
		return 0;
	}
	if (rg == NULL)
		return cli_usage(err, "the policy's VMs are in several resource groups: name the "
			"policy's with -g");
	if (a->location != NULL)
		snprintf(loc, sizeof(loc), "%s", a->location);
	else if (p->location != NULL && jit_rid_check_name(p->location, "location", err) == 0)
		snprintf(loc, sizeof(loc), "%s", p->location);
	else if (cli_rg_location(c, rg, loc, err) != 0)
		return -1;
	if (cli_session(c, err) != 0)
		return -1;
	jit_rid_policy(&p->id, c->sub, rg, loc, a->policy ? a->policy : DEFAULT_POLICY);
	return 0;
}

static int
jit_set(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	struct jit_policy *p = NULL;
	struct jit_args a;
	json_t *j = NULL, *out = NULL;
	char *text = NULL;
	size_t len = 0;
	int first, r, rc = -1;

	if ((r = parse(c, &cli_cmd_jit_set, argc, argv, &a, &first, err)) != 0) {
		args_free(&a);
		return r > 0 ? 0 : -1;
	}
	if (first < argc) {
		cli_usage(err, "unexpected argument '%.80s'", argv[first]);
		goto out;
	}
	if (a.file == NULL) {
		cli_usage(err, "name the policy file with --file (- for standard input)");
		goto out;
	}
	if (cli_file_read("--file", a.file, JIT_MAX_BODY_BYTES, &text, &len, err) != 0)
		goto out;
	if (jit_json_parse_object(text, len, &j, err) != 0 ||
		jit_policy_from_json(j, &p, err) != 0) {
		char msg[JIT_ERROR_MSG_MAX];

		snprintf(msg, sizeof(msg), "%s", err->message);
		cli_usage(err, "%s: %s", a.file, msg);
		goto out;
	}
	if (p->n_vms == 0) {
		cli_usage(err, "%s lists no virtual machines; 'jitgate jit disable' removes VMs",
			a.file);
		goto out;
	}
	if (set_target(c, &a, p, err) != 0 || cli_policy_put(c, p, &out, err) != 0)
		goto out;
	if (c->output == CLI_OUTPUT_JSON)
		rc = cli_json_print(out, err);
	else {
		printf("policy %s in %s (resource group %s): written, %zu VM(s)\n", p->id.name,
			p->id.location, p->id.rg, p->n_vms);
		rc = 0;
	}
out:
	json_decref(out);
	json_decref(j);
	jit_policy_free(p);
	free(text);
	args_free(&a);
	return rc;
}

const struct cli_cmd cli_cmd_jit_set = {
	"jit", "set", "--file FILE [-g RG] [--policy NAME] [--location LOC]",
	"Create or replace a whole JIT policy from a file in Azure's shape.",
	"FILE is a JitNetworkAccessPolicy as Azure's API takes it (see docs/api.md),\n"
	"e.g. the output of 'jitgate jit show -g RG -o json'. The policy is the one\n"
	"named by the file's \"id\"; without one, -g (default: the VMs' group),\n"
	"--policy (default \"default\") and --location (default: the file's\n"
	"\"location\", else the group's) name it. Its request history is not sent.\n",
	(const struct cli_opt[]){
		{"file", KEY_FILE, "FILE", "the policy (JSON; - reads standard input)"},
		{"resource-group", 'g', "RG", "the policy's resource group"},
		{"policy", KEY_POLICY, "NAME", "the policy's name"},
		{"location", KEY_LOCATION, "LOC", "the policy's location"},
		{NULL, 0, NULL, NULL},
	},
	jit_set,
	false,
};
