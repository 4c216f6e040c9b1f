/*
 * cmd_agent.c: jitgate agent enroll-token | list | show | remove: the agents
 * (enforcement points, .../providers/Jitgate/enforcementPoints) of jitgated.
 * enroll-token makes the one-time token with which an agent enrolls in a
 * resource group (docs/agent-protocol.md); list and show say whether each agent
 * is heard from and in sync; remove revokes an agent's credential and unbinds
 * its VMs, which is also how a reinstalled host is re-enrolled.
 */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "client.h"
#include "desired_state.h"
#include "duration.h"
#include "json_decode.h"
#include "output.h"
#include "portspec.h"
#include "resources.h"
#include "timestamp.h"
#include "vm_state.h"

enum {
	KEY_VALID_FOR = CLI_KEY_LONG,
};

/* The server's limit (api_agent.c): an enrollment token lives at most a week. */
#define ENROLLMENT_MAX_NS (7LL * 24 * 3600 * JIT_NS_PER_SEC)

struct enroll_args {
	const char *rg;
	bool has_valid_for;
	int64_t valid_for_ns;
};

static int
enroll_opt(void *ctx, int key, const char *arg, struct jit_error *err)
{
	struct enroll_args *a = ctx;

	switch (key) {
	case 'g':
		a->rg = arg;
		return cli_name_check(arg, "resource group name", err);
	case KEY_VALID_FOR:
		if (cli_duration_parse(arg, &a->valid_for_ns, err) != 0)
			return jit_error_prefix(err, "--valid-for");
		if (a->valid_for_ns > ENROLLMENT_MAX_NS)
			return cli_usage(err, "--valid-for: an enrollment token lives at most 7 days");
		a->has_valid_for = true;
		return 0;
	}
	return cli_usage(err, "unexpected option");
}

static int
enroll_token(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	char path[JIT_RESOURCE_ID_MAX + 64], dur[JIT_DURATION_BUFSZ];
	struct enroll_args a = {0};
	struct jit_rid rg;
	json_t *body = NULL, *out = NULL;
	const char *token, *expires;
	int first, r, rc = -1;

	if ((r = cli_args_parse(c, &cli_cmd_agent_enroll_token, argc, argv, enroll_opt, &a,
		&first, err)) != 0)
		return r > 0 ? 0 : -1;
	if (first < argc)
		return cli_usage(err, "unexpected argument '%.80s'", argv[first]);
	if (a.rg == NULL)
		return cli_usage(err, "name the resource group the agent joins with -g RG");
	if (cli_session(c, err) != 0)
		return -1;
	jit_rid_resource_group(&rg, c->sub, a.rg);
	if (cli_rid_path(&rg, path, sizeof(path) - 64, err) != 0)
		return -1;
	strcat(path, "/providers/Jitgate/enrollmentTokens");
	if (a.has_valid_for) {
		jit_duration_format(a.valid_for_ns, dur);
		if ((body = json_pack("{s:s}", "validFor", dur)) == NULL)
			return cli_fail(err, "out of memory");
	}
	if (cli_call(c, "POST", path, body, NULL, &out, err) != 0)
		goto out;
	token = json_string_value(json_object_get(out, "token"));
	expires = json_string_value(json_object_get(out, "expiresAtUtc"));
	if (token == NULL || expires == NULL) {
		cli_fail(err, "the server's answer has no token");
		goto out;
	}
	if (c->output == CLI_OUTPUT_JSON) {
		rc = cli_json_print(out, err);
		goto out;
	}
	/* The token alone on stdout, so that TOKEN=$(jitgate agent enroll-token ...) works. */
	printf("%s\n", token);
	/* The agent gets every replica this CLI knows, so that it fails over as the CLI does. */
	fprintf(stderr, "jitgate: a one-time enrollment token for resource group %s, valid until "
		"%s;\njitgate: on the host or gateway to protect, put it in a file for "
		"'jitgate-agent --server %s --ca CA --enroll-token FILE'.\n", a.rg, expires,
		cli_client_servers(c->http));
	rc = 0;
out:
	json_decref(body);
	json_decref(out);
	return rc;
}

const struct cli_cmd cli_cmd_agent_enroll_token = {
	"agent", "enroll-token", "-g RG [--valid-for DURATION]",
	"Make a one-time token with which an agent enrolls in a resource group.",
	"Prints the token (only the token, on standard output) and, on standard error,\n"
	"until when it is valid. An agent uses it once (jitgate-agent --enroll-token\n"
	"FILE) to become an enforcement point of RG; a host agent registers its own VM.\n"
	"Keep it secret until it is used.\n",
	(const struct cli_opt[]){
		{"resource-group", 'g', "RG", "the resource group the agent joins (required)"},
		{"valid-for", KEY_VALID_FOR, "DURATION", "how long it can be used (default PT1H, "
			"at most P7D)"},
		{NULL, 0, NULL, NULL},
	},
	enroll_token,
	false,
};

/* ---- enforcement points as the server returns them ---- */


/* What the agent reported of itself (properties.status), cut short for a table; the
 * server keeps a report to 16 KiB (api_agent.c), which bounds what is read. */
#define EP_OS_MAX 64
#define EP_CAPS_MAX 256

struct ep {
	struct jit_rid id;
	enum jit_ep_kind kind;
	uint64_t desired;             /* the version the server wants enforced */
	uint64_t applied;             /* the version the agent last reported applied */
	jit_time last_seen;           /* 0: never heard from */
	bool has_reported_healthy;
	bool reported_healthy;        /* the agent's own word, status.healthy */
	char os[EP_OS_MAX + 1];       /* "" when not reported */
	char caps[EP_CAPS_MAX + 1];   /* capabilities reported true, "nftables,..." */
	const char *message;          /* status.message, NULL when none (points into json) */
	const json_t *json;
};

static int
ep_version(const json_t *props, const char *key, uint64_t *out, struct jit_error *err)
{
	char path[JIT_JSON_PATH_BUFSZ];
	json_int_t v;

	jit_json_path_key(path, "properties", key);
	if (jit_json_integer(json_object_get(props, key), path, &v, err) != 0)
		return -1;
	if (v < 0)
		return jit_json_invalid(err, path, "must not be negative");
	*out = (uint64_t)v;
	return 0;
}

/* The capabilities the agent reports as true, joined with ','; others are left out. */
static int
ep_caps(const json_t *caps, char out[EP_CAPS_MAX + 1], struct jit_error *err)
{
	const char *key;
	json_t *v;

	out[0] = '\0';
	if (caps == NULL)
		return 0;
	if (jit_json_object(caps, "properties.status.capabilities", err) != 0)
		return -1;
	json_object_foreach((json_t *)caps, key, v) {
		size_t used = strlen(out);

		if (!json_is_true(v) || !cli_printable(key))
			continue;
		if (used + strlen(key) + 2 > EP_CAPS_MAX + 1)
			break;
		snprintf(out + used, EP_CAPS_MAX + 1 - used, "%s%s", used ? "," : "", key);
	}
	return 0;
}

/* properties.status: what the agent last reported; absent before its first report. */
static int
ep_status(const json_t *st, struct ep *out, struct jit_error *err)
{
	const json_t *v;
	const char *s;

	if (st == NULL)
		return 0;
	if (jit_json_object(st, "properties.status", err) != 0)
		return -1;
	if ((v = json_object_get(st, "healthy")) != NULL) {
		if (jit_json_bool(v, "properties.status.healthy", &out->reported_healthy, err) != 0)
			return -1;
		out->has_reported_healthy = true;
	}
	if ((v = json_object_get(st, "os")) != NULL) {
		if (jit_json_string(v, "properties.status.os", false, JIT_EP_STATUS_MAX_BYTES, &s, err) != 0)
			return -1;
		snprintf(out->os, sizeof(out->os), "%.*s", EP_OS_MAX, s);
	}
	if ((v = json_object_get(st, "message")) != NULL &&
		jit_json_string(v, "properties.status.message", false, JIT_EP_STATUS_MAX_BYTES, &out->message,
			err) != 0)
		return -1;
	return ep_caps(json_object_get(st, "capabilities"), out->caps, err);
}

/* Decodes one enforcement point; out->json is j (borrowed). */
static int
ep_decode(const json_t *j, struct ep *out, struct jit_error *err)
{
	const json_t *props = json_object_get(j, "properties");
	const json_t *seen;
	const char *s;

	memset(out, 0, sizeof(*out));
	out->json = j;
	if (jit_json_object(j, "", err) != 0 ||
		jit_json_string(json_object_get(j, "id"), "id", true, JIT_RESOURCE_ID_MAX, &s,
			err) != 0)
		return -1;
	if (jit_rid_parse_kind(s, JIT_RID_ENFORCEMENT_POINT, &out->id, err) != 0)
		return jit_json_at(err, "id");
	if (jit_json_object(props, "properties", err) != 0 ||
		jit_json_string(json_object_get(props, "kind"), "properties.kind", true, 16, &s,
			err) != 0)
		return -1;
	if (jit_ep_kind_parse(s, &out->kind, err) != 0)
		return jit_json_at(err, "properties.kind");
	if (ep_version(props, "desiredVersion", &out->desired, err) != 0 ||
		ep_version(props, "appliedVersion", &out->applied, err) != 0)
		return -1;
	if ((seen = json_object_get(props, "lastSeenUtc")) != NULL) {
		if (jit_json_string(seen, "properties.lastSeenUtc", true, JIT_TIME_BUFSZ, &s,
			err) != 0)
			return -1;
		if (jit_time_parse(s, &out->last_seen, err) != 0)
			return jit_json_at(err, "properties.lastSeenUtc");
	}
	return ep_status(json_object_get(props, "status"), out, err);
}

static bool
ep_healthy(const struct ep *ep, jit_time now)
{
	return jit_ep_healthy(ep->last_seen, now);
}

/* "yes (3/3)": in sync or not, then the applied/desired versions. */
static void
ep_versions_text(const struct ep *ep, char *buf, size_t n)
{
	snprintf(buf, n, "%s (%llu/%llu)", ep->applied >= ep->desired ? "yes" : "no",
		(unsigned long long)ep->applied, (unsigned long long)ep->desired);
}

/* "45s ago", "2h03m ago" ("just now" when the clocks disagree). */
static void
ep_ago(jit_time seen, jit_time now, char buf[CLI_IN_BUFSZ + 8])
{
	char in[CLI_IN_BUFSZ];

	if (seen >= now) {
		snprintf(buf, CLI_IN_BUFSZ + 8, "just now");
		return;
	}
	cli_time_in(now, seen, in);
	snprintf(buf, CLI_IN_BUFSZ + 8, "%s ago", in);
}

/* The path of the enforcement point NAME in RG, or of RG's list when name is NULL. */
static int
ep_path(struct cli *c, const char *rg, const char *name, char path[JIT_RESOURCE_ID_MAX],
	struct jit_error *err)
{
	struct jit_rid id;

	if (name != NULL) {
		jit_rid_enforcement_point(&id, c->sub, rg, name);
		return cli_rid_path(&id, path, JIT_RESOURCE_ID_MAX, err);
	}
	if (rg != NULL)
		jit_rid_resource_group(&id, c->sub, rg);
	else
		jit_rid_subscription(&id, c->sub);
	if (cli_rid_path(&id, path, JIT_RESOURCE_ID_MAX - 64, err) != 0)
		return -1;
	strcat(path, "/providers/Jitgate/enforcementPoints");
	return 0;
}

/* The VMs bound to the enforcement point ep (new references to their IDs, in *out). */
static int
ep_vms(struct cli *c, const struct jit_rid *ep, json_t **out, struct jit_error *err)
{
	const struct cli_vm *vms;
	size_t n;

	*out = NULL;
	if (cli_vms(c, &vms, &n, err) != 0)
		return -1;
	if ((*out = json_array()) == NULL)
		return cli_fail(err, "out of memory");
	for (size_t i = 0; i < n; i++) {
		char id[JIT_RESOURCE_ID_MAX];
		struct jit_error ignored;
		struct jit_rid bound;

		if (vms[i].vm.enforcement_point[0] == '\0' ||
			jit_rid_parse_kind(vms[i].vm.enforcement_point, JIT_RID_ENFORCEMENT_POINT,
				&bound, &ignored) != 0 || !jit_rid_equal(&bound, ep))
			continue;
		if (jit_rid_format(&vms[i].vm.id, id, sizeof(id)) < 0 ||
			json_array_append_new(*out, json_string(id)) != 0) {
			json_decref(*out);
			*out = NULL;
			return cli_fail(err, "out of memory");
		}
	}
	return 0;
}

/* "db1 (rg-prod), web1 (rg-prod)" from a list of VM IDs. */
static void
vms_text(const json_t *ids, char *buf, size_t n)
{
	size_t i, used = 0;
	json_t *v;

	buf[0] = '\0';
	json_array_foreach(ids, i, v) {
		struct jit_error ignored;
		struct jit_rid id;
		int w;

		if (jit_rid_parse_kind(json_string_value(v), JIT_RID_VM, &id, &ignored) != 0)
			continue;
		w = snprintf(buf + used, n - used, "%s%s (%s)", used ? ", " : "", id.name, id.rg);
		if (w < 0 || (size_t)w >= n - used) {
			buf[used] = '\0';
			break;
		}
		used += (size_t)w;
	}
}

struct ep_args {
	const char *rg;
};

static int
ep_opt(void *ctx, int key, const char *arg, struct jit_error *err)
{
	struct ep_args *a = ctx;

	if (key == 'g') {
		a->rg = arg;
		return cli_name_check(arg, "resource group name", err);
	}
	return cli_usage(err, "unexpected option");
}

/* NAME -g RG, as show and remove take them. */
static int
ep_one_args(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv,
	struct ep_args *a, const char **name, struct jit_error *err)
{
	int first, r;

	if ((r = cli_args_parse(c, cmd, argc, argv, ep_opt, a, &first, err)) != 0)
		return r;
	if (argc - first != 1)
		return cli_usage(err, "name one enforcement point");
	*name = argv[first];
	if (cli_name_check(*name, "enforcement point name", err) != 0)
		return -1;
	if (a->rg == NULL)
		return cli_usage(err, "name the enforcement point's resource group with -g RG");
	return cli_session(c, err);
}

/* ---- agent list ---- */

static int
list_row(struct cli_table *t, const struct ep *ep, jit_time now, struct jit_error *err)
{
	char sync[64], when[CLI_TIME_SHORT];
	const char *row[8];

	ep_versions_text(ep, sync, sizeof(sync));
	if (ep->last_seen != 0)
		cli_time_short(ep->last_seen, when);
	row[0] = ep->id.name;
	row[1] = ep->id.rg;
	row[2] = jit_ep_kind_name(ep->kind);
	row[3] = sync;
	row[4] = ep->last_seen != 0 ? when : "never";
	row[5] = ep_healthy(ep, now) ? "yes" : "no";
	row[6] = ep->os;
	row[7] = ep->caps;
	return cli_table_add(t, row, err);
}

static int
agent_list(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	static const char *const headers[] = {"NAME", "RESOURCE GROUP", "KIND", "IN SYNC",
		"LAST SEEN", "HEALTHY", "OS", "CAPABILITIES"};
	char path[JIT_RESOURCE_ID_MAX], loc[JIT_NAME_MAX + 1];
	struct ep_args a = {0};
	struct cli_table *t = NULL;
	json_t *value = NULL, *j;
	jit_time now = jit_time_now();
	size_t i;
	int first, r, rc = -1;

	if ((r = cli_args_parse(c, &cli_cmd_agent_list, argc, argv, ep_opt, &a, &first,
		err)) != 0)
		return r > 0 ? 0 : -1;
	if (first < argc)
		return cli_usage(err, "unexpected argument '%.80s'", argv[first]);
	/* The server lists nothing for a group that does not exist; a typo should say so. */
	if (cli_session(c, err) != 0 ||
		(a.rg != NULL && cli_rg_location(c, a.rg, loc, err) != 0) ||
		ep_path(c, a.rg, NULL, path, err) != 0 || cli_get_list(c, path, &value, err) != 0)
		return -1;
	if ((t = cli_table_new(8, headers)) == NULL) {
		cli_fail(err, "out of memory");
		goto out;
	}
	/* Every entry is decoded, for -o json too: a bad answer is not passed on. */
	json_array_foreach(value, i, j) {
		struct ep ep;

		if (ep_decode(j, &ep, err) != 0) {
			jit_error_prefix(err, "value[%zu]", i);
			cli_bad_answer(err, "enforcement point list");
			goto out;
		}
		if (list_row(t, &ep, now, err) != 0)
			goto out;
	}
	if (c->output == CLI_OUTPUT_JSON) {
		rc = cli_json_print(value, err);
		goto out;
	}
	cli_table_print(t);
	rc = 0;
out:
	cli_table_free(t);
	json_decref(value);
	return rc;
}

const struct cli_cmd cli_cmd_agent_list = {
	"agent", "list", "[-g RG]",
	"List the enforcement points (enrolled agents): in sync, last seen, healthy.",
	"IN SYNC is yes when the agent has applied what the server wants enforced\n"
	"(applied/desired versions). HEALTHY is yes when the agent was heard from\n"
	"within 90 s, as the AGENT column of 'jitgate vm list' says. OS and\n"
	"CAPABILITIES are what the agent last reported. With -o json, prints the\n"
	"server's list.\n",
	(const struct cli_opt[]){
		{"resource-group", 'g', "RG", "only the enforcement points of this resource group"},
		{NULL, 0, NULL, NULL},
	},
	agent_list,
	false,
};

/* ---- agent show ---- */

static void
show_human(const struct ep *ep, const json_t *vms, const struct jit_error *vms_err)
{
	char id[JIT_RESOURCE_ID_MAX], text[2048], when[CLI_TIME_SHORT], ago[CLI_IN_BUFSZ + 8];
	jit_time now = jit_time_now();

	jit_rid_format(&ep->id, id, sizeof(id));
	cli_field("Name", ep->id.name);
	cli_field("Resource group", ep->id.rg);
	cli_field("ID", id);
	cli_field("Kind", jit_ep_kind_name(ep->kind));
	snprintf(text, sizeof(text), "%s (applied version %llu of %llu)",
		ep->applied >= ep->desired ? "yes" : "no, applying",
		(unsigned long long)ep->applied, (unsigned long long)ep->desired);
	cli_field("In sync", text);
	if (ep->last_seen != 0) {
		cli_time_short(ep->last_seen, when);
		ep_ago(ep->last_seen, now, ago);
		snprintf(text, sizeof(text), "%s (%s)", when, ago);
		cli_field("Last seen", text);
	} else {
		cli_field("Last seen", "never");
	}
	cli_field("Healthy", ep_healthy(ep, now) ? "yes (heard from within 90 s)" :
		"no (not heard from within 90 s)");
	if (ep->has_reported_healthy)
		cli_field("Agent reports", ep->reported_healthy ? "healthy" : "unhealthy");
	cli_field("OS", ep->os);
	cli_field("Capabilities", ep->caps);
	if (ep->message != NULL && ep->message[0] != '\0')
		cli_field("Message", ep->message);
	if (vms_err != NULL) {
		snprintf(text, sizeof(text), "(cannot be read: %s)", vms_err->status == 403 ?
			"your roles do not allow reading the VMs" : vms_err->message);
		cli_field("VMs", text);
		return;
	}
	vms_text(vms, text, sizeof(text));
	cli_field("VMs", text);
}

static int
agent_show(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	char path[JIT_RESOURCE_ID_MAX];
	struct ep_args a = {0};
	struct jit_error vms_err;
	json_t *j = NULL, *vms = NULL;
	const char *name;
	struct ep ep;
	int r, rc = -1;

	if ((r = ep_one_args(c, &cli_cmd_agent_show, argc, argv, &a, &name, err)) != 0)
		return r > 0 ? 0 : -1;
	if (ep_path(c, a.rg, name, path, err) != 0 || cli_get_object(c, path, &j, err) != 0)
		return -1;
	if (ep_decode(j, &ep, err) != 0) {
		cli_bad_answer(err, "enforcement point");
		goto out;
	}
	if (c->output == CLI_OUTPUT_JSON) {
		rc = cli_json_print(j, err);
		goto out;
	}
	/* Its VMs, when the caller may read them: the point is shown either way. */
	jit_error_clear(&vms_err);
	r = ep_vms(c, &ep.id, &vms, &vms_err);
	show_human(&ep, vms, r != 0 ? &vms_err : NULL);
	rc = 0;
out:
	json_decref(vms);
	json_decref(j);
	return rc;
}

const struct cli_cmd cli_cmd_agent_show = {
	"agent", "show", "NAME -g RG",
	"Show an enforcement point: sync, health, what the agent reports, its VMs.",
	"Healthy means heard from within 90 s; 'Agent reports' is the agent's own word.\n"
	"With -o json, prints the server's enforcement point.\n",
	(const struct cli_opt[]){
		{"resource-group", 'g', "RG", "the enforcement point's resource group (required)"},
		{NULL, 0, NULL, NULL},
	},
	agent_show,
	false,
};

/* ---- agent remove ---- */

static int
agent_remove(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	char path[JIT_RESOURCE_ID_MAX], id[JIT_RESOURCE_ID_MAX], text[2048];
	struct ep_args a = {0};
	struct jit_error vms_err;
	struct jit_rid ep_id;
	json_t *vms = NULL, *out = NULL;
	const char *name;
	int r, status, rc = -1;

	if ((r = ep_one_args(c, &cli_cmd_agent_remove, argc, argv, &a, &name, err)) != 0)
		return r > 0 ? 0 : -1;
	jit_rid_enforcement_point(&ep_id, c->sub, a.rg, name);
	if (ep_path(c, a.rg, name, path, err) != 0)
		return -1;
	if (jit_rid_format(&ep_id, id, sizeof(id)) < 0)
		return cli_fail(err, "the enforcement point's ID is too long");
	/* The VMs it protects, read before they lose it; a caller who may delete the point
	 * but not read VMs still removes it. */
	jit_error_clear(&vms_err);
	if (ep_vms(c, &ep_id, &vms, &vms_err) != 0)
		fprintf(stderr, "jitgate: cannot list the VMs bound to %s: %s\n", name,
			cli_printable(vms_err.message) ? vms_err.message : "(an unprintable error)");
	if (cli_call(c, "DELETE", path, NULL, &status, NULL, err) != 0)
		goto out;
	if (status != 200 && vms != NULL)
		json_array_clear(vms);
	if (c->output == CLI_OUTPUT_JSON) {
		if ((out = json_pack("{s:s,s:s,s:s,s:b,s:O}", "name", name, "resourceGroup", a.rg,
			"id", id, "deleted", status == 200, "unboundVirtualMachines",
			vms != NULL ? vms : json_null())) == NULL) {
			cli_fail(err, "out of memory");
			goto out;
		}
		rc = cli_json_print(out, err);
		goto out;
	}
	rc = 0;
	if (status != 200) {
		fprintf(stderr, "jitgate: there is no enforcement point named %s in resource group "
			"%s; nothing to do\n", name, a.rg);
		goto out;
	}
	printf("%s: enforcement point removed from resource group %s; its agent's credential "
		"is revoked\n", name, a.rg);
	if (vms == NULL) {
		printf("%s: its VMs are unbound (they could not be listed)\n", name);
	} else if (json_array_size(vms) == 0) {
		printf("%s: no VM was bound to it\n", name);
	} else {
		vms_text(vms, text, sizeof(text));
		printf("%s: VMs unbound (now without an enforcement point: Unsupported): %s\n",
			name, text);
	}
	printf("%s: the nftables table 'inet jitgate' stays on that machine, its ports locked, "
		"until 'jitgate-agent --uninstall' is run there\n", name);
out:
	json_decref(out);
	json_decref(vms);
	return rc;
}

const struct cli_cmd cli_cmd_agent_remove = {
	"agent", "remove", "NAME -g RG",
	"Remove an enforcement point: revoke its agent's credential, unbind its VMs.",
	"The agent's credential stops working at once; the VMs it protected are left\n"
	"without an enforcement point (Unsupported) and are listed. The nftables table\n"
	"the agent installed stays on its machine, ports locked, until 'jitgate-agent\n"
	"--uninstall' is run there. To re-enroll a reinstalled host: remove its\n"
	"enforcement point, then make a new token with 'jitgate agent enroll-token'.\n"
	"An enforcement point that does not exist is noted, not an error. With -o json,\n"
	"prints {\"name\", \"resourceGroup\", \"id\", \"deleted\", \"unboundVirtualMachines\"}\n"
	"(null when the VMs could not be listed).\n",
	(const struct cli_opt[]){
		{"resource-group", 'g', "RG", "the enforcement point's resource group (required)"},
		{NULL, 0, NULL, NULL},
	},
	agent_remove,
	false,
};
