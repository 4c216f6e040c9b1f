/*
 * cmd_request.c: jitgate request | requests | revoke | ssh: asking for access
 * (Azure's initiate), the history of requests, and ending access early
 * (jitgated's own .../revoke; Azure has none).
 *
 * request checks what it can before sending (the VM is JIT-enabled, the ports
 * are configured, the duration is within the policy's maximum) so that the
 * common mistakes are explained in the user's terms; the server checks again
 * and has the last word. With --wait it returns only once every enforcement
 * point concerned reports a desired-state version at least as new as the one
 * the server had right after the request; the versions are read from the VMs
 * (properties.jit), which anyone allowed to request access may read.
 *
 * ssh is request --wait for one SSH port from my-ip, then exec of the system ssh:
 * the process becomes ssh, so its exit status is ssh's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "model_json.h"
#include "output.h"
#include "portspec.h"
#include "resources.h"

enum {
	KEY_PORT = CLI_KEY_LONG,
	KEY_SOURCE,
	KEY_FOR,
	KEY_UNTIL,
	KEY_JUSTIFICATION,
	KEY_WAIT,
	KEY_EXTEND,
};

#define WAIT_POLL_MS 200
/* The server clamps end times up to two minutes past the maximum (clock skew). */
#define MAX_SLACK_NS (60LL * JIT_NS_PER_SEC)
/* The end time asked for a port the policy does not configure: the server refuses it. */
#define UNKNOWN_PORT_NS (3600LL * JIT_NS_PER_SEC)

struct request_args {
	const char *rg;
	size_t n_ports;
	uint16_t ports[JIT_MAX_PORTS_PER_VM];
	bool has_source;            /* false: my-ip, the caller's address as the server sees it */
	struct jit_prefix source;
	bool has_for;
	int64_t for_ns;
	const char *for_text;
	bool has_until;
	jit_time until;
	const char *until_text;
	const char *justification;
	bool wait;
	bool extend;            /* move the end of running access (POST .../extend) */
};

static int
request_opt(void *ctx, int key, const char *arg, struct jit_error *err)
{
	struct request_args *a = ctx;
	struct jit_error e;
	uint16_t port;

	switch (key) {
	case 'g':
		a->rg = arg;
		return cli_name_check(arg, "resource group name", err);
	case KEY_PORT:
		if (cli_port_number_parse(arg, &port, err) != 0)
			return jit_error_prefix(err, "--port");
		for (size_t i = 0; i < a->n_ports; i++)
			if (a->ports[i] == port)
				return cli_usage(err, "--port %u is given twice", port);
		if (a->n_ports == JIT_MAX_PORTS_PER_VM)
			return cli_usage(err, "at most %d ports", JIT_MAX_PORTS_PER_VM);
		a->ports[a->n_ports++] = port;
		return 0;
	case KEY_SOURCE:
		if (strcmp(arg, "my-ip") == 0) {
			a->has_source = false;
			return 0;
		}
		if (jit_prefix_parse(arg, &a->source, &e) != 0)
			return cli_usage(err, "--source %.60s: %s (or my-ip)", arg, e.message);
		a->has_source = true;
		return 0;
	case KEY_FOR:
		a->for_text = arg;
		a->has_for = true;
		if (cli_duration_parse(arg, &a->for_ns, err) != 0)
			return jit_error_prefix(err, "--for");
		return 0;
	case KEY_UNTIL:
		if (jit_time_parse(arg, &a->until, &e) != 0)
			return cli_usage(err, "--until %.60s: %s (e.g. 2030-01-01T18:00:00Z)", arg,
				e.message);
		a->until_text = arg;
		a->has_until = true;
		return 0;
	case KEY_JUSTIFICATION:
		if (strlen(arg) > JIT_MAX_JUSTIFICATION)
			return cli_usage(err, "--justification: at most %d characters",
				JIT_MAX_JUSTIFICATION);
		a->justification = arg;
		return 0;
	case KEY_WAIT:
		a->wait = true;
		return 0;
	case KEY_EXTEND:
		a->extend = true;
		return 0;
	}
	return cli_usage(err, "unexpected option");
}

/* One VM of the request, with its policy entry. */
struct target_vm {
	struct jit_vm vm;
	struct jit_policy *policy;
	const struct jit_policy_vm *entry;
	jit_time end[JIT_MAX_PORTS_PER_VM];
	char hint[1024];        /* what to add if the server refuses ("" if nothing) */
};

static const struct jit_port_rule *
entry_port(const struct jit_policy_vm *pv, uint16_t number)
{
	for (size_t i = 0; i < pv->n_ports; i++)
		if (pv->ports[i].number == number)
			return &pv->ports[i];
	return NULL;
}

static void
configured_ports(const struct jit_policy_vm *pv, char *buf, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < pv->n_ports && used + 8 < n; i++)
		used += (size_t)snprintf(buf + used, n - used, "%s%u", i ? ", " : "",
			pv->ports[i].number);
}

/* Finds the VM and its policy, and the end time of each port. */
static int
check_vm(struct cli *c, const struct request_args *a, const char *arg, jit_time now,
	struct target_vm *t, struct jit_error *err)
{
	struct jit_policy **ps;
	struct cli_vm v;
	size_t np, idx;

	if (cli_vm_find(c, arg, a->rg, &v, err) != 0 || cli_policies(c, &ps, &np, err) != 0)
		return -1;
	t->vm = v.vm;
	if ((t->policy = cli_policy_of(ps, np, &t->vm.id, &idx)) == NULL)
		return cli_fail(err, "JIT is not enabled on %s, so there is nothing to request "
			"('jitgate vm show %s')", t->vm.id.name, t->vm.id.name);
	t->entry = &t->policy->vms[idx];
	for (size_t i = 0; i < a->n_ports; i++) {
		const struct jit_port_rule *rule = entry_port(t->entry, a->ports[i]);
		char max[JIT_DURATION_BUFSZ], list[512];

		/* What the policy refuses, the server decides (and audits); this only explains. */
		if (a->has_until)
			t->end[i] = a->until;
		else if (a->has_for || rule == NULL)
			t->end[i] = now + (a->has_for ? a->for_ns : UNKNOWN_PORT_NS);
		else
			t->end[i] = now + rule->max_duration_ns;
		if (t->hint[0] != '\0')
			continue;
		if (rule == NULL) {
			configured_ports(t->entry, list, sizeof(list));
			snprintf(t->hint, sizeof(t->hint), "the JIT ports of %s: %s", t->vm.id.name,
				list);
		} else if (t->end[i] > now + rule->max_duration_ns + MAX_SLACK_NS) {
			jit_duration_format(rule->max_duration_ns, max);
			snprintf(t->hint, sizeof(t->hint), "%s %s is longer than the policy allows "
				"for port %u on %s: at most %s", a->has_until ? "--until" : "--for",
				a->has_until ? a->until_text : a->for_text, a->ports[i], t->vm.id.name,
				max);
		}
	}
	if (a->wait && t->vm.enforcement_point[0] == '\0')
		return cli_fail(err, "%s has no enforcement point, so nothing will apply this "
			"access and --wait cannot wait for it (enroll an agent for it, or give it one "
			"with 'jitgate vm add --enforcement-point')", t->vm.id.name);
	return 0;
}

/* The initiate body for the VMs of one policy. */
static json_t *
initiate_body(const struct request_args *a, struct target_vm *ts, size_t n,
	const struct jit_policy *p)
{
	struct jit_initiate *in = calloc(1, sizeof(*in));
	json_t *body = NULL;

	if (in == NULL || (in->vms = calloc(n, sizeof(*in->vms))) == NULL)
		goto out;
	if (a->justification != NULL && (in->justification = strdup(a->justification)) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct jit_initiate_vm *iv;

		if (ts[i].policy != p)
			continue;
		iv = &in->vms[in->n_vms++];
		iv->id = ts[i].vm.id;
		if ((iv->ports = calloc(a->n_ports, sizeof(*iv->ports))) == NULL)
			goto out;
		for (size_t k = 0; k < a->n_ports; k++) {
			iv->ports[k] = (struct jit_initiate_port){.number = a->ports[k],
				.has_source = a->has_source, .source = a->source, .end_time = ts[i].end[k]};
			iv->n_ports++;
		}
	}
	body = jit_initiate_to_json(in);
out:
	jit_initiate_free(in);
	return body;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* One VM per enforcement point concerned (a gateway may protect several). */
static size_t
distinct_eps(const struct target_vm *ts, size_t n, const struct target_vm *out[])
{
	size_t neps = 0;

	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		for (size_t k = 0; k < neps; k++)
			seen = seen || strcasecmp(out[k]->vm.enforcement_point,
				ts[i].vm.enforcement_point) == 0;
		if (!seen && neps < JIT_MAX_VMS_PER_REQUEST)
			out[neps++] = &ts[i];
	}
	return neps;
}

/* The versions of t's enforcement point as the VM reports them, which whoever may
 * request access to it may read; from the enforcement point itself (which needs
 * Jitgate/enforcementPoints/read) only on servers whose VMs do not report them. */
static int
ep_versions(struct cli *c, const struct target_vm *t, uint64_t *desired, uint64_t *applied,
	struct jit_error *err)
{
	bool has;

	if (cli_vm_versions(c, &t->vm.id, &has, desired, applied, err) != 0)
		return -1;
	if (has)
		return 0;
	return cli_ep_versions(c, t->vm.enforcement_point, desired, applied, err);
}

/* One wait for eps[k]'s point to apply want: a long poll on its VM where the server
 * offers it (GET VM ?appliedVersion=), else a read of the versions. *applied is what the
 * point has applied when the answer came. */
static int
wait_once(struct cli *c, const struct target_vm *t, uint64_t want, jit_time deadline,
	uint64_t *applied, struct jit_error *err)
{
	int64_t left_s = (deadline - jit_time_now()) / JIT_NS_PER_SEC - 1;
	uint64_t desired;
	bool has;

	if (left_s > 0) {
		if (cli_vm_wait_applied(c, &t->vm.id, want, left_s > 30 ? 30 : (int)left_s, &has,
			&desired, applied, err) != 0)
			return -1;
		if (has)
			return 0;
	}
	return ep_versions(c, t, &desired, applied, err);
}

/* Waits until each enforcement point of the VMs has applied the version it had
 * to apply right after the change: the server holds each answer until then (a long
 * poll), so this returns as soon as the agent has reported, without polling. */
static int
wait_applied(struct cli *c, const struct target_vm *ts, size_t n, const char *what,
	struct jit_error *err)
{
	const struct target_vm *eps[JIT_MAX_VMS_PER_REQUEST];
	uint64_t want[JIT_MAX_VMS_PER_REQUEST];
	jit_time deadline = jit_time_now() + (jit_time)c->timeout_s * JIT_NS_PER_SEC;
	size_t neps = distinct_eps(ts, n, eps);

	for (size_t k = 0; k < neps; k++) {
		uint64_t applied;

		if (ep_versions(c, eps[k], &want[k], &applied, err) != 0)
			return -1;
	}
	for (size_t k = 0; k < neps; k++) {
		const char *slash = strrchr(eps[k]->vm.enforcement_point, '/');
		const char *name = slash != NULL ? slash + 1 : eps[k]->vm.enforcement_point;

		for (;;) {
			jit_time asked = jit_time_now();
			uint64_t applied;

			if (wait_once(c, eps[k], want[k], deadline, &applied, err) != 0)
				return -1;
			if (applied >= want[k]) {
				fprintf(stderr, "jitgate: enforcement point %s applied %s (version "
					"%llu)\n", name, what, (unsigned long long)applied);
				break;
			}
			if (jit_time_now() >= deadline)
				return cli_fail(err, "the server accepted %s, but enforcement point %s "
					"has not applied it within %d s (it has applied version %llu of %llu); "
					"is its agent running? (--timeout sets the wait)", what, name,
					c->timeout_s, (unsigned long long)applied,
					(unsigned long long)want[k]);
			/* A server that answered at once (no long poll): do not spin. */
			if (jit_time_now() - asked < WAIT_POLL_MS * 1000000LL)
				sleep_ms(WAIT_POLL_MS);
		}
	}
	return 0;
}

static const struct target_vm *
target_of(const struct target_vm *ts, size_t n, const struct jit_rid *id)
{
	for (size_t i = 0; i < n; i++)
		if (jit_rid_equal(&ts[i].vm.id, id))
			return &ts[i];
	return NULL;
}

static json_t *
addresses_json(const struct jit_vm *vm)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < vm->n_addresses; i++) {
		char buf[JIT_PREFIX_BUFSZ];

		jit_prefix_format(&vm->addresses[i], buf);
		json_array_append_new(a, json_string(buf));
	}
	return a;
}

/* The connection details: one line per VM port, from the server's answers. */
static int
print_access(struct cli *c, const struct target_vm *ts, size_t n, json_t *answers,
	struct jit_error *err)
{
	static const char *const headers[] = {"VM", "ADDRESS", "PORT", "SOURCE", "UNTIL", "IN"};
	struct cli_table *t = cli_table_new(6, headers);
	json_t *access = json_array(), *out = NULL, *ans;
	jit_time now = jit_time_now();
	size_t i;
	int rc = -1;

	if (t == NULL || access == NULL) {
		cli_fail(err, "out of memory");
		goto out;
	}
	json_array_foreach(answers, i, ans) {
		struct jit_request *r = NULL;

		if (jit_request_from_json(ans, &r, err) != 0) {
			char msg[JIT_ERROR_MSG_MAX];

			snprintf(msg, sizeof(msg), "%s", err->message);
			cli_fail(err, "the server's answer to the request is not what jitgate expects: "
				"%s", msg);
			goto out;
		}
		for (size_t v = 0; v < r->n_vms; v++) {
			const struct target_vm *tv = target_of(ts, n, &r->vms[v].id);
			char addrs[512] = "";

			for (size_t k = 0; tv != NULL && k < tv->vm.n_addresses; k++) {
				char buf[JIT_PREFIX_BUFSZ];

				jit_prefix_format(&tv->vm.addresses[k], buf);
				snprintf(addrs + strlen(addrs), sizeof(addrs) - strlen(addrs), "%s%s",
					k ? "," : "", buf);
			}
			for (size_t p = 0; p < r->vms[v].n_ports; p++) {
				const struct jit_request_port *rp = &r->vms[v].ports[p];
				char port[8], src[512], until[CLI_TIME_SHORT], in[CLI_IN_BUFSZ];
				char end[JIT_TIME_BUFSZ], id[JIT_RESOURCE_ID_MAX];
				const char *row[] = {r->vms[v].id.name, addrs, port, src, until, in};

				snprintf(port, sizeof(port), "%u", rp->number);
				cli_sources_text(&rp->sources, src, sizeof(src));
				cli_time_short(rp->end_time, until);
				cli_time_in(rp->end_time, now, in);
				jit_time_format(rp->end_time, end);
				jit_rid_format(&r->vms[v].id, id, sizeof(id));
				if (cli_table_add(t, row, err) != 0 ||
					json_array_append_new(access, json_pack("{s:s,s:s,s:o,s:i,s:s,s:s,s:s}",
						"vm", r->vms[v].id.name, "id", id,
						"addresses", tv ? addresses_json(&tv->vm) : json_array(),
						"port", rp->number, "source", src, "endTimeUtc", end,
						"status", jit_port_status_name(rp->status))) != 0) {
					jit_request_free(r);
					cli_fail(err, "out of memory");
					goto out;
				}
			}
		}
		jit_request_free(r);
	}
	if (c->output == CLI_OUTPUT_JSON) {
		if ((out = json_pack("{s:O,s:O}", "requests", answers, "access", access)) == NULL) {
			cli_fail(err, "out of memory");
			goto out;
		}
		rc = cli_json_print(out, err);
	} else {
		cli_table_print(t);
		rc = 0;
	}
out:
	json_decref(out);
	json_decref(access);
	cli_table_free(t);
	return rc;
}

/* A refusal of the server's, for a person: without the JSON path into the body jitgate
 * built (virtualMachines[0].ports[0].field: ...), and with what the policy says. */
static void
refusal_explain(const struct target_vm *ts, size_t n, const struct jit_policy *p,
	struct jit_error *err)
{
	char msg[JIT_ERROR_MSG_MAX];
	const char *m = err->message, *colon;

	if (err->status != 400 && err->status != 403)
		return;
	/* Each leading "path: " is a word without spaces followed by a colon. */
	while ((colon = strstr(m, ": ")) != NULL && strcspn(m, " '") > (size_t)(colon - m) &&
		colon > m)
		m = colon + 2;
	snprintf(msg, sizeof(msg), "%s", m);
	for (size_t i = 0; i < n; i++) {
		size_t used = strlen(msg), h = strlen(ts[i].hint);

		if (ts[i].policy != p || h == 0 || strstr(msg, ts[i].hint) != NULL ||
			used + 2 + h >= sizeof(msg))
			continue;
		memcpy(msg + used, "; ", 2);
		memcpy(msg + used + 2, ts[i].hint, h + 1);
	}
	memcpy(err->message, msg, sizeof(err->message) < sizeof(msg) ? sizeof(err->message) :
		sizeof(msg));
	err->message[sizeof(err->message) - 1] = '\0';
}

static int
request(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	struct request_args a = {0};
	struct target_vm *ts = NULL;
	json_t *answers = NULL;
	jit_time now = jit_time_now();
	size_t n = 0;
	int first, r, rc = -1;

	if ((r = cli_args_parse(c, &cli_cmd_request, argc, argv, request_opt, &a, &first,
		err)) != 0)
		return r > 0 ? 0 : -1;
	if (first == argc)
		return cli_usage(err, "name the VM(s) to request access to");
	if (a.n_ports == 0)
		return cli_usage(err, "name the port(s) with --port N");
	if (a.has_for && a.has_until)
		return cli_usage(err, "--for and --until are either-or");
	if (a.has_until && a.until <= now)
		return cli_usage(err, "--until is not in the future");
	if (argc - first > JIT_MAX_VMS_PER_REQUEST)
		return cli_usage(err, "at most %d VMs in one request", JIT_MAX_VMS_PER_REQUEST);
	if ((ts = calloc((size_t)(argc - first), sizeof(*ts))) == NULL ||
		(answers = json_array()) == NULL) {
		cli_fail(err, "out of memory");
		goto out;
	}
	for (int i = first; i < argc; i++, n++) {
		if (check_vm(c, &a, argv[i], now, &ts[n], err) != 0)
			goto out;
		if (target_of(ts, n, &ts[n].vm.id) != NULL) {
			cli_usage(err, "%s is named twice", ts[n].vm.id.name);
			goto out;
		}
	}
	/* One initiate per policy, for the VMs of that policy. */
	for (size_t i = 0; i < n; i++) {
		char path[JIT_RESOURCE_ID_MAX + 16];
		json_t *body, *ans = NULL;
		bool done = false;

		for (size_t k = 0; k < i; k++)
			done = done || ts[k].policy == ts[i].policy;
		if (done)
			continue;
		if ((body = initiate_body(&a, ts, n, ts[i].policy)) == NULL) {
			cli_fail(err, "out of memory");
			goto out;
		}
		if (cli_rid_path(&ts[i].policy->id, path, sizeof(path) - 16, err) == 0) {
			strcat(path, a.extend ? "/extend" : "/initiate");
			r = cli_call(c, "POST", path, body, NULL, &ans, err);
		} else {
			r = -1;
		}
		json_decref(body);
		if (r != 0) {
			refusal_explain(ts, n, ts[i].policy, err);
			goto out;
		}
		if (json_array_append_new(answers, ans) != 0)
			goto out;
	}
	if (a.wait && wait_applied(c, ts, n, "the access", err) != 0)
		goto out;
	for (size_t i = 0; !a.wait && i < n; i++)
		if (ts[i].vm.enforcement_point[0] == '\0')
			fprintf(stderr, "jitgate: warning: %s has no enforcement point; nothing applies "
				"this access\n", ts[i].vm.id.name);
	rc = print_access(c, ts, n, answers, err);
out:
	json_decref(answers);
	free(ts);
	return rc;
}

const struct cli_cmd cli_cmd_request = {
	NULL, "request", "VM... --port N [--port N]... [options]",
	"Request just-in-time access to ports of virtual machines.",
	"The source is --source PREFIX, or my-ip (the default): the address the server\n"
	"sees this request come from. Access lasts --for DURATION (1h, 30m, PT2H) or\n"
	"--until TIME (2030-01-01T18:00:00Z), by default the longest the policy allows\n"
	"for each port. Prints the addresses and ports to connect to and when access\n"
	"ends. With --wait, returns once the VMs' enforcement points have applied the\n"
	"access (bounded by --timeout, 30 s by default). With --extend, moves the end\n"
	"of access already running from the same source (--for counts from now, within\n"
	"the maximum) without closing it: open connections stay up.\n",
	(const struct cli_opt[]){
		{"resource-group", 'g', "RG", "the VMs' resource group"},
		{"port", KEY_PORT, "N", "a port to open (repeatable; required)"},
		{"source", KEY_SOURCE, "PREFIX", "my-ip (default), an address or a prefix"},
		{"for", KEY_FOR, "DURATION", "how long (default: the policy's maximum)"},
		{"until", KEY_UNTIL, "TIME", "until when (UTC, ISO 8601)"},
		{"justification", KEY_JUSTIFICATION, "TEXT", "why (recorded in the audit log)"},
		{"wait", KEY_WAIT, NULL, "wait until the enforcement points applied it"},
		{"extend", KEY_EXTEND, NULL, "extend running access instead of a new one"},
		{NULL, 0, NULL, NULL},
	},
	request,
	false,
};

/* ---- ssh ---- */

/* What ssh asks for when the policy's maximum is longer: enough for a session. */
#define SSH_DEFAULT_NS (3600LL * JIT_NS_PER_SEC)

/* Up to the first "--": jitgate's own arguments; after it, ssh's. */
static int
split_dashes(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0)
			return i;
	return argc;
}

static int
ssh_cmd(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	struct request_args a = {0};
	struct target_vm t;
	char path[JIT_RESOURCE_ID_MAX + 16], addr[JIT_PREFIX_BUFSZ], port[8], *dest = NULL;
	const char *vm, *at, *user = NULL;
	const struct jit_port_rule *rule;
	json_t *body, *ans = NULL;
	jit_time now = jit_time_now();
	int dash = split_dashes(argc, argv), n_ssh = argc - dash - (dash < argc), first, r;
	char **sargv;

	memset(&t, 0, sizeof(t));
	if ((r = cli_args_parse(c, &cli_cmd_ssh, dash, argv, request_opt, &a, &first, err)) != 0)
		return r > 0 ? 0 : -1;
	if (dash - first != 1)
		return cli_usage(err, "name one VM ([USER@]VM), then ssh's own arguments after --");
	if (a.n_ports > 1)
		return cli_usage(err, "--port: one SSH port");
	if (a.has_until)
		return cli_usage(err, "--until: use --for with ssh");
	if (a.extend)
		return cli_usage(err, "--extend: use 'jitgate request --extend'");
	vm = argv[first];
	if ((at = strrchr(vm, '@')) != NULL) {
		if (at == vm || at[1] == '\0' || (size_t)(at - vm) > 64)
			return cli_usage(err, "%.80s: expected [USER@]VM", vm);
		if ((user = strndup(vm, (size_t)(at - vm))) == NULL)
			return cli_fail(err, "out of memory");
		vm = at + 1;
	}
	if (a.n_ports == 0)
		a.ports[a.n_ports++] = 22;
	a.wait = true;
	r = -1;
	if (check_vm(c, &a, vm, now, &t, err) != 0)
		goto out;
	if ((rule = entry_port(t.entry, a.ports[0])) == NULL) {
		cli_fail(err, "port %u is not a JIT port of %s (%s); name its SSH port with --port",
			a.ports[0], t.vm.id.name, t.hint);
		goto out;
	}
	if (!a.has_for)
		t.end[0] = now + (rule->max_duration_ns < SSH_DEFAULT_NS ? rule->max_duration_ns :
			SSH_DEFAULT_NS);
	if (t.vm.n_addresses == 0) {
		cli_fail(err, "%s has no address to connect to ('jitgate vm show %s')",
			t.vm.id.name, t.vm.id.name);
		goto out;
	}
	if ((body = initiate_body(&a, &t, 1, t.policy)) == NULL) {
		cli_fail(err, "out of memory");
		goto out;
	}
	if (cli_rid_path(&t.policy->id, path, sizeof(path) - 16, err) == 0) {
		strcat(path, "/initiate");
		r = cli_call(c, "POST", path, body, NULL, &ans, err);
	}
	json_decref(body);
	json_decref(ans);
	if (r != 0) {
		refusal_explain(&t, 1, t.policy, err);
		goto out;
	}
	r = -1;
	if (wait_applied(c, &t, 1, "the access", err) != 0)
		goto out;
	/* The address without its /32 or /128: a host for ssh. */
	jit_prefix_format(&t.vm.addresses[0], addr);
	addr[strcspn(addr, "/")] = '\0';
	snprintf(port, sizeof(port), "%u", a.ports[0]);
	if (asprintf(&dest, "%s%s%s", user ? user : "", user ? "@" : "", addr) < 0 ||
		(sargv = calloc((size_t)n_ssh + 5, sizeof(*sargv))) == NULL) {
		cli_fail(err, "out of memory");
		goto out;
	}
	/* OpenSSH reads options after the destination too: the user's come last and win. */
	sargv[0] = "ssh";
	sargv[1] = "-p";
	sargv[2] = port;
	sargv[3] = dest;
	for (int i = 0; i < n_ssh; i++)
		sargv[4 + i] = argv[dash + 1 + i];
	fprintf(stderr, "jitgate: port %s of %s is open from your address; ssh %s -p %s\n", port,
		t.vm.id.name, dest, port);
	fflush(NULL);
	execvp("ssh", sargv);
	cli_fail(err, "cannot run ssh: %s", strerror(errno));
	free(sargv);
out:
	free(dest);
	free((char *)user);
	return r;
}

const struct cli_cmd cli_cmd_ssh = {
	NULL, "ssh", "[USER@]VM [-g RG] [--port N] [--for DURATION] [-- SSH_ARGS...]",
	"Request SSH access to a VM from your address, wait for it, and run ssh.",
	"Requests access to port 22 (or --port N, the VM's SSH port) from my-ip (or\n"
	"--source) for --for DURATION (by default an hour, or the policy's maximum if\n"
	"that is shorter), waits until the VM's enforcement point has applied it (as\n"
	"request --wait, bounded by --timeout), then runs the system ssh as\n"
	"'ssh -p PORT [USER@]ADDRESS SSH_ARGS...' with the VM's first address. jitgate\n"
	"becomes ssh: the exit status is ssh's. Arguments after -- are ssh's (options,\n"
	"then a remote command).\n",
	(const struct cli_opt[]){
		{"resource-group", 'g', "RG", "the VM's resource group"},
		{"port", KEY_PORT, "N", "the VM's SSH port (default 22)"},
		{"source", KEY_SOURCE, "PREFIX", "my-ip (default), an address or a prefix"},
		{"for", KEY_FOR, "DURATION", "how long (default: 1h, at most the maximum)"},
		{"justification", KEY_JUSTIFICATION, "TEXT", "why (recorded in the audit log)"},
		{NULL, 0, NULL, NULL},
	},
	ssh_cmd,
	false,
};

/* ---- requests ---- */

struct history_args {
	const char *rg;
};

static int
history_opt(void *ctx, int key, const char *arg, struct jit_error *err)
{
	struct history_args *a = ctx;

	if (key == 'g') {
		a->rg = arg;
		return cli_name_check(arg, "resource group name", err);
	}
	return cli_usage(err, "unexpected option");
}

struct entry {
	const struct jit_policy *policy;
	const struct jit_request *request;
	size_t order;
};

static int
newest_first(const void *x, const void *y)
{
	const struct entry *a = x, *b = y;

	if (a->request->start_time != b->request->start_time)
		return a->request->start_time > b->request->start_time ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

static bool
request_names(const struct jit_request *r, const struct jit_rid *vm)
{
	for (size_t i = 0; i < r->n_vms; i++)
		if (jit_rid_equal(&r->vms[i].id, vm))
			return true;
	return false;
}

static void
status_text(const struct jit_request_port *p, char *buf, size_t n)
{
	if (p->status == JIT_STATUS_REVOKED)
		snprintf(buf, n, "%s (%s)", jit_port_status_name(p->status),
			jit_status_reason_name(p->reason));
	else
		snprintf(buf, n, "%s", jit_port_status_name(p->status));
}

/* A request in Azure's shape plus its "policy", keeping only vm's entries if vm. */
static json_t *
entry_json(const struct entry *e, const struct jit_rid *vm)
{
	json_t *j = jit_request_to_json(e->request), *vms, *v;
	char id[JIT_RESOURCE_ID_MAX];
	size_t i;

	if (j == NULL || jit_rid_format(&e->policy->id, id, sizeof(id)) < 0 ||
		json_object_set_new(j, "policy", json_string(id)) != 0) {
		json_decref(j);
		return NULL;
	}
	vms = json_object_get(j, "virtualMachines");
	if (vm != NULL) {
		json_t *keep = json_array();

		json_array_foreach(vms, i, v)
			if (jit_rid_equal(&e->request->vms[i].id, vm))
				json_array_append(keep, v);
		json_object_set_new(j, "virtualMachines", keep);
	}
	return j;
}

static int
history_rows(struct cli_table *t, const struct entry *e, const struct jit_rid *vm,
	struct jit_error *err)
{
	const struct jit_request *r = e->request;
	char start[CLI_TIME_SHORT];

	cli_time_short(r->start_time, start);
	for (size_t v = 0; v < r->n_vms; v++) {
		if (vm != NULL && !jit_rid_equal(&r->vms[v].id, vm))
			continue;
		for (size_t p = 0; p < r->vms[v].n_ports; p++) {
			const struct jit_request_port *rp = &r->vms[v].ports[p];
			char port[8], src[512], end[CLI_TIME_SHORT], status[64];
			const char *row[] = {start, r->vms[v].id.name, port, src, end, status,
				r->requestor, r->justification};

			snprintf(port, sizeof(port), "%u", rp->number);
			cli_sources_text(&rp->sources, src, sizeof(src));
			cli_time_short(rp->end_time, end);
			status_text(rp, status, sizeof(status));
			if (cli_table_add(t, row, err) != 0)
				return -1;
		}
	}
	return 0;
}

static int
requests(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	static const char *const headers[] = {"START", "VM", "PORT", "SOURCE", "END", "STATUS",
		"REQUESTOR", "JUSTIFICATION"};
	struct history_args a = {0};
	struct jit_policy **ps;
	struct entry *es = NULL;
	struct cli_table *t = NULL;
	struct cli_vm vm;
	const struct jit_rid *only = NULL;
	json_t *out = NULL;
	char loc[JIT_NAME_MAX + 1];
	size_t np, total = 0, n = 0;
	int first, r, rc = -1;

	if ((r = cli_args_parse(c, &cli_cmd_requests, argc, argv, history_opt, &a, &first,
		err)) != 0)
		return r > 0 ? 0 : -1;
	if (argc - first > 1)
		return cli_usage(err, "name at most one VM");
	if (argc - first == 1) {
		if (cli_vm_find(c, argv[first], a.rg, &vm, err) != 0)
			return -1;
		only = &vm.vm.id;
	} else if (a.rg != NULL && cli_rg_location(c, a.rg, loc, err) != 0) {
		return -1;
	}
	if (cli_policies(c, &ps, &np, err) != 0)
		return -1;
	for (size_t i = 0; i < np; i++)
		total += ps[i]->n_requests;
	if ((es = calloc(total ? total : 1, sizeof(*es))) == NULL ||
		(out = json_array()) == NULL || (t = cli_table_new(8, headers)) == NULL) {
		cli_fail(err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < np; i++) {
		if (only == NULL && a.rg != NULL && strcasecmp(ps[i]->id.rg, a.rg) != 0)
			continue;
		for (size_t k = 0; k < ps[i]->n_requests; k++) {
			if (only != NULL && !request_names(&ps[i]->requests[k], only))
				continue;
			es[n] = (struct entry){ps[i], &ps[i]->requests[k], n};
			n++;
		}
	}
	qsort(es, n, sizeof(*es), newest_first);
	for (size_t i = 0; i < n; i++) {
		if (c->output == CLI_OUTPUT_JSON) {
			if (json_array_append_new(out, entry_json(&es[i], only)) != 0) {
				cli_fail(err, "out of memory");
				goto out;
			}
		} else if (history_rows(t, &es[i], only, err) != 0) {
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
	free(es);
	return rc;
}

const struct cli_cmd cli_cmd_requests = {
	NULL, "requests", "[VM] [-g RG]",
	"Show the history of access requests, newest first, with their status.",
	"A port's status is Initiated while access lasts, then Revoked with the reason:\n"
	"Expired, or NewerRequestInitiated when a later request for the same VM, port\n"
	"and source replaced it. With -o json, the requests in Azure's shape, each with\n"
	"its \"policy\".\n",
	(const struct cli_opt[]){
		{"resource-group", 'g', "RG", "the VM's resource group, or only this group"},
		{NULL, 0, NULL, NULL},
	},
	requests,
	false,
};

/* ---- revoke ---- */

static int
revoke_opt(void *ctx, int key, const char *arg, struct jit_error *err)
{
	if (key == KEY_SOURCE && strcmp(arg, "my-ip") == 0)
		return cli_usage(err, "--source: revoke takes an address or prefix; without "
			"--source, access from every source ends");
	return request_opt(ctx, key, arg, err);
}

/* The revoke body for the VMs of one policy: the ports named, else all the VM's. */
static json_t *
revoke_body(const struct request_args *a, const struct target_vm *ts, size_t n,
	const struct jit_policy *p)
{
	json_t *vms = json_array(), *body;
	char src[JIT_PREFIX_BUFSZ];

	jit_prefix_format(&a->source, src);
	for (size_t i = 0; vms != NULL && i < n; i++) {
		char id[JIT_RESOURCE_ID_MAX];
		size_t count = a->n_ports ? a->n_ports : ts[i].entry->n_ports;
		json_t *ports = json_array();

		if (ts[i].policy != p || ports == NULL) {
			json_decref(ports);
			continue;
		}
		for (size_t k = 0; k < count; k++) {
			uint16_t number = a->n_ports ? a->ports[k] : ts[i].entry->ports[k].number;
			json_t *port = json_pack("{s:i}", "number", number);

			if (port != NULL && a->has_source)
				json_object_set_new(port, "allowedSourceAddressPrefix", json_string(src));
			json_array_append_new(ports, port);
		}
		jit_rid_format(&ts[i].vm.id, id, sizeof(id));
		json_array_append_new(vms, json_pack("{s:s,s:o}", "id", id, "ports", ports));
	}
	body = vms ? json_pack("{s:o}", "virtualMachines", vms) : NULL;
	return body;
}

/* Finds the VM and its policy; the ports named must be JIT ports of it. */
static int
revoke_vm(struct cli *c, const struct request_args *a, const char *arg, struct target_vm *t,
	struct jit_error *err)
{
	struct jit_policy **ps;
	struct cli_vm v;
	size_t np, idx;

	if (cli_vm_find(c, arg, a->rg, &v, err) != 0 || cli_policies(c, &ps, &np, err) != 0)
		return -1;
	t->vm = v.vm;
	if ((t->policy = cli_policy_of(ps, np, &t->vm.id, &idx)) == NULL)
		return cli_fail(err, "JIT is not enabled on %s, so there is no access to revoke",
			t->vm.id.name);
	t->entry = &t->policy->vms[idx];
	for (size_t i = 0; i < a->n_ports; i++)
		if (entry_port(t->entry, a->ports[i]) == NULL)
			return cli_fail(err, "port %u is not a JIT port of %s", a->ports[i],
				t->vm.id.name);
	if (a->wait && t->vm.enforcement_point[0] == '\0')
		return cli_fail(err, "%s has no enforcement point; --wait cannot wait for it",
			t->vm.id.name);
	return 0;
}

static int
revoke_cmd(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	struct request_args a = {0};
	struct target_vm *ts = NULL;
	json_int_t total = 0;
	json_t *out = NULL;
	size_t n = 0;
	int first, r, rc = -1;

	if ((r = cli_args_parse(c, &cli_cmd_revoke, argc, argv, revoke_opt, &a, &first,
		err)) != 0)
		return r > 0 ? 0 : -1;
	if (first == argc)
		return cli_usage(err, "name the VM(s) whose access to revoke");
	if (argc - first > JIT_MAX_VMS_PER_REQUEST)
		return cli_usage(err, "at most %d VMs at once", JIT_MAX_VMS_PER_REQUEST);
	if ((ts = calloc((size_t)(argc - first), sizeof(*ts))) == NULL)
		return cli_fail(err, "out of memory");
	for (int i = first; i < argc; i++, n++) {
		if (revoke_vm(c, &a, argv[i], &ts[n], err) != 0)
			goto out;
		if (target_of(ts, n, &ts[n].vm.id) != NULL) {
			cli_usage(err, "%s is named twice", ts[n].vm.id.name);
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		char path[JIT_RESOURCE_ID_MAX + 16];
		json_t *body, *ans = NULL;
		bool done = false;

		for (size_t k = 0; k < i; k++)
			done = done || ts[k].policy == ts[i].policy;
		if (done)
			continue;
		if ((body = revoke_body(&a, ts, n, ts[i].policy)) == NULL) {
			cli_fail(err, "out of memory");
			goto out;
		}
		r = cli_rid_path(&ts[i].policy->id, path, sizeof(path) - 16, err);
		if (r == 0) {
			strcat(path, "/revoke");
			r = cli_call(c, "POST", path, body, NULL, &ans, err);
		}
		json_decref(body);
		/* A server without the operation answers that no route matches. */
		if (r != 0 && ((err->status == 404 && strcmp(err->code, JIT_E_NOT_FOUND) == 0) ||
			err->status == 405)) {
			cli_fail(err, "revoke is not supported by this server yet (it has no early "
				"revoke operation); access ends at the request's end time");
			goto out;
		}
		if (r != 0)
			goto out;
		total += json_integer_value(json_object_get(ans, "revokedPorts"));
		json_decref(ans);
	}
	if (a.wait && wait_applied(c, ts, n, "the revoke", err) != 0)
		goto out;
	if (c->output == CLI_OUTPUT_JSON) {
		if ((out = json_pack("{s:I}", "revokedPorts", total)) == NULL) {
			cli_fail(err, "out of memory");
			goto out;
		}
		rc = cli_json_print(out, err);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? ", " : "", ts[i].vm.id.name);
	printf(": access revoked (%lld port grant%s ended)\n", (long long)total,
		total == 1 ? "" : "s");
	rc = 0;
out:
	json_decref(out);
	free(ts);
	return rc;
}

const struct cli_cmd cli_cmd_revoke = {
	NULL, "revoke", "VM... [-g RG] [--port N]... [--source PREFIX] [--wait]",
	"End access before its end time.",
	"Ends the access still running (status Initiated) to the VMs' ports: the ports\n"
	"named, else all their JIT ports; from --source, else from every source. The\n"
	"requests show Revoked (UserRequested). With --wait, returns once the\n"
	"enforcement points have applied it. A server without early revoke is said to\n"
	"be so (exit 1); there access ends at its end time.\n",
	(const struct cli_opt[]){
		{"resource-group", 'g', "RG", "the VMs' resource group"},
		{"port", KEY_PORT, "N", "only this port (repeatable)"},
		{"source", KEY_SOURCE, "PREFIX", "only access from this source"},
		{"wait", KEY_WAIT, NULL, "wait until the enforcement points applied it"},
		{NULL, 0, NULL, NULL},
	},
	revoke_cmd,
	false,
};
