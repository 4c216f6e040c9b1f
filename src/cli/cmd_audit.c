/*
 * cmd_audit.c: jitgate audit and jitgate audit verify: who opened what, from
 * where, when, why and until when, from jitgated's hash-chained audit log
 * (.../providers/Jitgate/auditLogs), and the check of its chain.
 *
 * Tables and JSON page through the log with the server's nextLink; only the
 * link's path and query are used, against this run's own server, so the token
 * never goes where a link points. CSV is the server's own export, passed on
 * byte for byte (RFC 4180, formula cells neutralised by the server).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "args.h"
#include "audit_checkpoint.h"
#include "files.h"
#include "model_json.h"
#include "output.h"
#include "portspec.h"
#include "resources.h"

#define AUDIT "/providers/Jitgate/auditLogs"
#define INITIATE_SUFFIX "/initiate/action"
#define TOP_DEFAULT 100
#define OPERATION_MAX 200

enum {
	KEY_VM = CLI_KEY_LONG,
	KEY_ALL,
	KEY_PRINCIPAL,
	KEY_OPERATION,
	KEY_SINCE,
	KEY_UNTIL,
	KEY_TOP,
	KEY_CHECKPOINT,
	KEY_PUBLIC_KEY,
};

struct audit_args {
	const char *vm;
	const char *rg;
	bool all;
	const char *principal;
	const char *operation;
	bool has_since, has_until;
	jit_time since, until;
	bool has_top;
	long top;
};

static int
time_opt(const char *opt, const char *arg, jit_time *out, bool *has, struct jit_error *err)
{
	struct jit_error e;

	if (jit_time_parse(arg, out, &e) != 0)
		return cli_usage(err, "%s %.60s: %s (e.g. 2030-01-01T00:00:00Z)", opt, arg,
			e.message);
	*has = true;
	return 0;
}

static int
audit_opt(void *ctx, int key, const char *arg, struct jit_error *err)
{
	struct audit_args *a = ctx;

	switch (key) {
	case KEY_VM:
		a->vm = arg;
		return 0;
	case 'g':
		a->rg = arg;
		return cli_name_check(arg, "resource group name", err);
	case KEY_ALL:
		a->all = true;
		return 0;
	case KEY_PRINCIPAL:
		a->principal = arg;
		return cli_principal_check(arg, "--principal", err);
	case KEY_OPERATION:
		for (const char *p = arg; *p != '\0'; p++)
			if ((unsigned char)*p <= ' ' || *p == 0x7f)
				return cli_usage(err, "--operation: no spaces or control characters");
		if (arg[0] == '\0' || strlen(arg) > OPERATION_MAX)
			return cli_usage(err, "--operation: 1-%d characters", OPERATION_MAX);
		a->operation = arg;
		return 0;
	case KEY_SINCE:
		return time_opt("--since", arg, &a->since, &a->has_since, err);
	case KEY_UNTIL:
		return time_opt("--until", arg, &a->until, &a->has_until, err);
	case KEY_TOP:
		if (cli_args_int("--top", arg, 1, JIT_AUDIT_CSV_MAX, &a->top, err) != 0)
			return -1;
		a->has_top = true;
		return 0;
	}
	return cli_usage(err, "unexpected option");
}

static bool
is_verb(const char *s)
{
	return strcasecmp(s, "read") == 0 || strcasecmp(s, "write") == 0 ||
		strcasecmp(s, "delete") == 0;
}

/* "initiate" for ".../jitNetworkAccessPolicies/initiate/action", "tokens/write" for
 * "Jitgate/principals/tokens/write": the last word, with its type for read/write/delete. */
static const char *
operation_short(const char *op, char *buf, size_t n)
{
	char *last, *prev;
	size_t len;

	if (op == NULL)
		return NULL;
	snprintf(buf, n, "%s", op);
	len = strlen(buf);
	if (len > 7 && strcasecmp(buf + len - 7, "/action") == 0)
		buf[len - 7] = '\0';
	if ((last = strrchr(buf, '/')) == NULL)
		return buf;
	*last = '\0';
	prev = strrchr(buf, '/');
	*last = '/';
	if (is_verb(last + 1))
		return prev != NULL ? prev + 1 : buf;
	return last + 1;
}

/* What --operation sends: a full name or a pattern as it is; a short name as the
 * table shows it ("initiate", "roleAssignments/write") made into the pattern that
 * matches it. */
static int
operation_filter(const char *op, char *buf, size_t n, struct jit_error *err)
{
	const char *last = strrchr(op, '/');
	int w;

	if (strchr(op, '*') != NULL || strncasecmp(op, "Microsoft.", 10) == 0 ||
		strncasecmp(op, "Jitgate/", 8) == 0)
		w = snprintf(buf, n, "%s", op);
	else
		w = snprintf(buf, n, "*/%s%s", op, is_verb(last ? last + 1 : op) ? "" : "/action");
	if (w < 0 || (size_t)w >= n)
		return cli_usage(err, "--operation is too long");
	return 0;
}

/* "web1" for a VM's ID, "jitNetworkAccessPolicies/default" for a policy's: the last
 * two segments of an ID, which say what and which. */
static const char *
resource_short(const char *id, char *buf, size_t n)
{
	const char *last, *p;

	if (id == NULL || strcmp(id, "/") == 0)
		return id;
	if ((last = strrchr(id, '/')) == NULL || last == id)
		return last ? last + 1 : id;
	for (p = last - 1; p > id && *p != '/'; p--)
		;
	snprintf(buf, n, "%s", *p == '/' ? p + 1 : p);
	return buf;
}

/* The VMs an entry concerns, by name ("web1,db1"); NULL when it names none. */
static const char *
vms_short(const json_t *vms, char *buf, size_t n)
{
	const json_t *v;
	size_t i, used = 0;

	buf[0] = '\0';
	json_array_foreach(vms, i, v) {
		const char *id = json_string_value(v), *slash = id ? strrchr(id, '/') : NULL;
		int w;

		if (slash == NULL)
			continue;
		w = snprintf(buf + used, n - used, "%s%s", used ? "," : "", slash + 1);
		if (w < 0 || (size_t)w >= n - used)
			break;
		used += (size_t)w;
	}
	return buf[0] ? buf : NULL;
}

/* Appends s to a comma-separated list unless it is there already. */
static void
list_add(char *buf, size_t n, const char *s)
{
	size_t used = strlen(buf), len = strlen(s);

	for (const char *p = buf; (p = strstr(p, s)) != NULL; p += len)
		if ((p == buf || p[-1] == ',') && (p[len] == '\0' || p[len] == ','))
			return;
	snprintf(buf + used, n - used, "%s%s", used ? "," : "", s);
}

/* An initiate entry's request: ports, sources, end time, justification. */
struct initiate_text {
	char ports[256];
	char sources[512];
	char end[CLI_TIME_SHORT];
	char justification[JIT_MAX_JUSTIFICATION + 1];
};

static bool
initiate_details(const json_t *entry, struct initiate_text *out)
{
	const char *op = json_string_value(json_object_get(entry, "operationName"));
	const json_t *details = json_object_get(entry, "details");
	struct jit_request *r = NULL;
	struct jit_error ignored;
	size_t len;

	memset(out, 0, sizeof(*out));
	if (op == NULL || (len = strlen(op)) < sizeof(INITIATE_SUFFIX) ||
		strcasecmp(op + len - strlen(INITIATE_SUFFIX), INITIATE_SUFFIX) != 0 ||
		!json_is_object(details) || json_object_get(details, "virtualMachines") == NULL)
		return false;
	/* The details are the request in Azure's shape: decoded as any other answer. */
	if (jit_request_from_json(details, &r, &ignored) != 0)
		return false;
	for (size_t v = 0; v < r->n_vms; v++)
		for (size_t p = 0; p < r->vms[v].n_ports; p++) {
			const struct jit_request_port *rp = &r->vms[v].ports[p];
			char num[8], src[256];

			snprintf(num, sizeof(num), "%u", rp->number);
			list_add(out->ports, sizeof(out->ports), num);
			cli_sources_text(&rp->sources, src, sizeof(src));
			list_add(out->sources, sizeof(out->sources), src);
			if (out->end[0] == '\0')
				cli_time_short(rp->end_time, out->end);
		}
	if (r->justification != NULL)
		snprintf(out->justification, sizeof(out->justification), "%s", r->justification);
	jit_request_free(r);
	return true;
}

static int
entry_row(struct cli_table *t, const json_t *e, struct jit_error *err)
{
	char when[CLI_TIME_SHORT], op[OPERATION_MAX + 1], res[JIT_RESOURCE_ID_MAX];
	char vms[512], status[16];
	struct initiate_text in;
	const char *resource = vms_short(json_object_get(e, "virtualMachines"), vms, sizeof(vms));
	bool has = initiate_details(e, &in);
	const json_t *code = json_object_get(e, "statusCode");

	if (resource == NULL)
		resource = resource_short(json_string_value(json_object_get(e, "resourceId")), res,
			sizeof(res));
	snprintf(status, sizeof(status), "%lld", (long long)json_integer_value(code));
	{
		const char *row[] = {
			cli_time_text(json_string_value(json_object_get(e, "timeUtc")), when),
			json_string_value(json_object_get(e, "principalName")),
			json_string_value(json_object_get(e, "callerAddress")),
			operation_short(json_string_value(json_object_get(e, "operationName")), op,
				sizeof(op)),
			resource, json_string_value(json_object_get(e, "result")),
			json_is_integer(code) ? status : NULL,
			has ? in.ports : NULL, has ? in.sources : NULL, has ? in.end : NULL,
			has ? in.justification : NULL};

		return cli_table_add(t, row, err);
	}
}

/* The log's path for the scope options (no query yet). */
static int
audit_path(struct cli *c, const struct audit_args *a, char *buf, size_t n, bool *vm_route,
	struct jit_error *err)
{
	char id[JIT_RESOURCE_ID_MAX];
	struct jit_error e;
	struct jit_rid rid;
	struct cli_vm vm;

	*vm_route = false;
	if (a->all) {
		if (a->vm != NULL || a->rg != NULL)
			return cli_usage(err, "--all is the whole log: leave out --vm and -g");
		snprintf(buf, n, AUDIT);
		return cli_connect(c, err);
	}
	if (cli_session(c, err) != 0)
		return -1;
	if (a->vm != NULL) {
		/* A VM by name and group need not exist any more: its log outlives it. */
		if (a->vm[0] == '/') {
			if (jit_rid_parse_kind(a->vm, JIT_RID_VM, &rid, &e) != 0)
				return cli_usage(err, "--vm %.200s: %s", a->vm, e.message);
		} else if (a->rg != NULL) {
			if (cli_name_check(a->vm, "VM name", err) != 0)
				return -1;
			jit_rid_vm(&rid, c->sub, a->rg, a->vm);
		} else {
			if (cli_vm_find(c, a->vm, NULL, &vm, err) != 0)
				return -1;
			rid = vm.vm.id;
		}
		*vm_route = true;
	} else if (a->rg != NULL) {
		jit_rid_resource_group(&rid, c->sub, a->rg);
	} else {
		jit_rid_subscription(&rid, c->sub);
	}
	if (cli_rid_path(&rid, id, sizeof(id), err) != 0)
		return -1;
	if ((size_t)snprintf(buf, n, "%s" AUDIT, id) >= n)
		return cli_fail(err, "a resource ID is too long");
	return 0;
}

/* The filters as a query on path. */
static int
audit_query(struct cli *c, const struct audit_args *a, char *path, size_t n,
	struct jit_error *err)
{
	char t[JIT_TIME_BUFSZ], who[JIT_NAME_MAX + 1], op[OPERATION_MAX + 16];

	if (a->principal != NULL && (cli_principal_resolve(c, a->principal, who, err) != 0 ||
		cli_query_append(path, n, "principal", who, err) != 0))
		return -1;
	if (a->operation != NULL && (operation_filter(a->operation, op, sizeof(op), err) != 0 ||
		cli_query_append(path, n, "operation", op, err) != 0))
		return -1;
	if (a->has_since) {
		jit_time_format(a->since, t);
		if (cli_query_append(path, n, "since", t, err) != 0)
			return -1;
	}
	if (a->has_until) {
		jit_time_format(a->until, t);
		if (cli_query_append(path, n, "until", t, err) != 0)
			return -1;
	}
	return 0;
}

/* The path and query of a nextLink, to ask this run's own server (the client adds
 * api-version again). Only audit log links are followed. */
static int
next_path(const char *link, char *buf, size_t n, struct jit_error *err)
{
	const char *p = link, *q, *end;
	size_t len = 0;

	if (strncmp(link, "https://", 8) == 0)
		p = strchr(link + 8, '/');
	if (p == NULL || p[0] != '/')
		return cli_fail(err, "the server's nextLink is not a link to its audit log");
	for (const char *s = p; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f || *s == '#')
			return cli_fail(err, "the server's nextLink is not a link to its audit log");
	q = strchr(p, '?');
	end = q != NULL ? q : p + strlen(p);
	if ((size_t)(end - p) < strlen(AUDIT) ||
		strncasecmp(end - strlen(AUDIT), AUDIT, strlen(AUDIT)) != 0 ||
		(size_t)(end - p) >= n)
		return cli_fail(err, "the server's nextLink is not a link to its audit log");
	memcpy(buf, p, (size_t)(end - p));
	len = (size_t)(end - p);
	buf[len] = '\0';
	while (q != NULL && *q != '\0') {
		const char *param = q + 1, *amp = strchr(param, '&');
		size_t plen = amp ? (size_t)(amp - param) : strlen(param);

		q = amp;
		if (plen == 0 || strncasecmp(param, "api-version=", 12) == 0)
			continue;
		if (len + plen + 2 > n)
			return cli_fail(err, "the server's nextLink is too long");
		buf[len++] = strchr(buf, '?') ? '&' : '?';
		memcpy(buf + len, param, plen);
		len += plen;
		buf[len] = '\0';
	}
	return 0;
}

/* Up to top entries, newest first, following nextLink. */
static int
audit_entries(struct cli *c, const char *base, long top, json_t *all, struct jit_error *err)
{
	char path[8192];
	const char *link;
	json_t *page = NULL, *value, *e;
	size_t i;
	long page_size = top < JIT_AUDIT_PAGE_MAX ? top : JIT_AUDIT_PAGE_MAX;
	char size[24];

	snprintf(path, sizeof(path), "%s", base);
	snprintf(size, sizeof(size), "%ld", page_size);
	if (cli_query_append(path, sizeof(path), "top", size, err) != 0)
		return -1;
	for (;;) {
		if (cli_get_object(c, path, &page, err) != 0)
			return -1;
		value = json_object_get(page, "value");
		if (!json_is_array(value)) {
			json_decref(page);
			return cli_fail(err, "the server's audit log answer has no \"value\" list");
		}
		json_array_foreach(value, i, e) {
			if ((long)json_array_size(all) >= top)
				break;
			if (json_array_append(all, e) != 0) {
				json_decref(page);
				return cli_fail(err, "out of memory");
			}
		}
		link = json_string_value(json_object_get(page, "nextLink"));
		if (link == NULL || (long)json_array_size(all) >= top || json_array_size(value) == 0) {
			json_decref(page);
			return 0;
		}
		if (next_path(link, path, sizeof(path), err) != 0) {
			json_decref(page);
			return -1;
		}
		json_decref(page);
	}
}

static int
audit_csv(struct cli *c, const struct audit_args *a, char *path, size_t n, bool vm_route,
	struct jit_error *err)
{
	char top[24], *text = NULL;
	size_t len = 0;
	int rc = 0;

	/* The VM's route answers CSV for Accept: text/csv; the others are asked outright. */
	if (!vm_route && cli_query_append(path, n, "format", "csv", err) != 0)
		return -1;
	if (a->has_top) {
		snprintf(top, sizeof(top), "%ld", a->top);
		if (cli_query_append(path, n, "top", top, err) != 0)
			return -1;
	}
	if (cli_get_csv(c, path, &text, &len, err) != 0)
		return -1;
	if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0)
		rc = cli_fail(err, "cannot write the CSV output");
	free(text);
	return rc;
}

static int
audit(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	static const char *const headers[] = {"TIME", "PRINCIPAL", "CALLER", "OPERATION",
		"RESOURCE", "RESULT", "STATUS", "PORTS", "SOURCE", "END", "JUSTIFICATION"};
	struct audit_args a = {0};
	struct cli_table *t = NULL;
	char path[4096];
	json_t *all = NULL, *e;
	bool vm_route;
	size_t i;
	int first, r, rc = -1;

	if ((r = cli_args_parse(c, &cli_cmd_audit, argc, argv, audit_opt, &a, &first, err)) != 0)
		return r > 0 ? 0 : -1;
	if (first < argc)
		return cli_usage(err, "unexpected argument '%.80s' (jitgate audit verify checks the "
			"chain)", argv[first]);
	if (a.has_since && a.has_until && a.until <= a.since)
		return cli_usage(err, "--until is not after --since");
	if (audit_path(c, &a, path, sizeof(path), &vm_route, err) != 0 ||
		audit_query(c, &a, path, sizeof(path), err) != 0)
		return -1;
	if (c->output == CLI_OUTPUT_CSV)
		return audit_csv(c, &a, path, sizeof(path), vm_route, err);
	if ((all = json_array()) == NULL)
		return cli_fail(err, "out of memory");
	if (audit_entries(c, path, a.has_top ? a.top : TOP_DEFAULT, all, err) != 0)
		goto out;
	if (c->output == CLI_OUTPUT_JSON) {
		rc = cli_json_print(all, err);
		goto out;
	}
	if ((t = cli_table_new(11, headers)) == NULL) {
		cli_fail(err, "out of memory");
		goto out;
	}
	json_array_foreach(all, i, e)
		if (entry_row(t, e, err) != 0)
			goto out;
	if (c->wide) {
		cli_table_print(t);
	} else {
		/* What fits 100 columns: time, principal, operation, resource, result, ports,
		 * source, justification (cut short); -o wide adds caller, status and end. */
		static const size_t narrow[] = {0, 1, 3, 4, 5, 7, 8, 10};

		cli_table_print_some(t, narrow, sizeof(narrow) / sizeof(narrow[0]),
			CLI_TABLE_WIDTH);
	}
	rc = 0;
out:
	cli_table_free(t);
	json_decref(all);
	return rc;
}

const struct cli_cmd cli_cmd_audit = {
	NULL, "audit", "[--vm VM -g RG | -g RG | --all] [--principal P] [--operation OP] "
		"[--since T] [--until T] [--top N]",
	"Show the audit log: who opened what, from where, when, why, until when.",
	"Newest first: the subscription's entries, a group's (-g), a VM's (--vm; by name\n"
	"with -g it may be gone already), or with --all the whole log (sign-ins,\n"
	"principals, tokens, roles too). You see the entries about what you may read\n"
	"(Jitgate/auditLogs/read). For requests (initiate) the table shows the ports,\n"
	"source, end time and justification. OP is an operation as the table shows it\n"
	"(initiate, revoke, expire, signIn, roleAssignments/write), a full name\n"
	"(Microsoft.Security/locations/jitNetworkAccessPolicies/initiate/action) or a\n"
	"pattern with *; P a principal's name (or me); T an ISO 8601 time. --top bounds\n"
	"the entries (default 100; pages are followed). -o json: the entries as the API\n"
	"gives them; -o csv: the server's CSV export (RFC 4180), as is, e.g.\n"
	"  jitgate audit --vm web1 -g prod -o csv > web1-audit.csv\n"
	"'jitgate audit verify' checks the log's hash chain.\n",
	(const struct cli_opt[]){
		{"vm", KEY_VM, "VM", "only entries about this VM"},
		{"resource-group", 'g', "RG", "only this resource group's (with --vm: the VM's)"},
		{"all", KEY_ALL, NULL, "the whole log, not only the subscription's"},
		{"principal", KEY_PRINCIPAL, "P", "only what this principal did"},
		{"operation", KEY_OPERATION, "OP", "only this operation"},
		{"since", KEY_SINCE, "T", "only entries at or after T"},
		{"until", KEY_UNTIL, "T", "only entries before T"},
		{"top", KEY_TOP, "N", "at most N entries (default 100)"},
		{NULL, 0, NULL, NULL},
	},
	audit,
	true,
};

/* ---- audit verify ---- */

/* One line about entry seq ("at 2026-... by admin: jitNetworkAccessPolicies/write"),
 * when it can still be read. */
static void
describe_entry(struct cli *c, json_int_t seq, char *buf, size_t n)
{
	char path[128], when[CLI_TIME_SHORT], op[OPERATION_MAX + 1];
	struct jit_error ignored;
	const json_t *e;
	json_t *page = NULL;
	const char *who, *what, *at;

	buf[0] = '\0';
	/* Entries older than seq + 1: the newest is seq itself, if it is there. */
	snprintf(path, sizeof(path), AUDIT "?top=1&skipToken=%lld", (long long)seq + 1);
	if (cli_get_object(c, path, &page, &ignored) != 0)
		return;
	e = json_array_get(json_object_get(page, "value"), 0);
	if (json_integer_value(json_object_get(e, "seq")) == seq) {
		who = json_string_value(json_object_get(e, "principalName"));
		what = operation_short(json_string_value(json_object_get(e, "operationName")), op,
			sizeof(op));
		at = cli_time_text(json_string_value(json_object_get(e, "timeUtc")), when);
		snprintf(buf, n, " (%s by %s: %s)", at && cli_printable(at) ? at : "?",
			who && cli_printable(who) ? who : "-", what && cli_printable(what) ? what : "-");
	}
	json_decref(page);
}

struct verify_args {
	const char *checkpoint;   /* --checkpoint FILE */
	const char *public_key;   /* --public-key HEX: the signing key to expect */
};

static int
verify_opt(void *ctx, int key, const char *arg, struct jit_error *err)
{
	struct verify_args *a = ctx;

	switch (key) {
	case KEY_CHECKPOINT:
		a->checkpoint = arg;
		return 0;
	case KEY_PUBLIC_KEY:
		if (strlen(arg) != 2 * JIT_AUDIT_SIGN_PK_BYTES ||
			strspn(arg, "0123456789abcdef") != strlen(arg))
			return cli_usage(err, "--public-key: 64 lowercase hex digits (the signing_key "
				"of jitgated's audit_key_created line, or a checkpoint's publicKey)");
		a->public_key = arg;
		return 0;
	}
	return cli_usage(err, "unexpected option");
}

/* Reads and checks a checkpoint file: its own signature, and the pinned key if given. */
static int
load_checkpoint(const struct verify_args *a, struct jit_audit_checkpoint *cp,
	struct jit_error *err)
{
	char pk[2 * JIT_AUDIT_SIGN_PK_BYTES + 1];
	char *text = NULL;
	size_t len = 0;
	int r;

	if (cli_file_read("--checkpoint", a->checkpoint, 64 * 1024, &text, &len, err) != 0)
		return -1;
	r = jit_audit_checkpoint_parse(text, len, cp, err);
	free(text);
	if (r != 0)
		return cli_fail(err, "--checkpoint %.200s: %s", a->checkpoint, err->message);
	if (!jit_audit_checkpoint_valid(cp))
		return cli_fail(err, "--checkpoint %.200s: the signature does not verify: the "
			"checkpoint was altered, or was not signed by the key it names",
			a->checkpoint);
	sodium_bin2hex(pk, sizeof(pk), cp->pk, sizeof(cp->pk));
	if (a->public_key != NULL && strcmp(pk, a->public_key) != 0)
		return cli_fail(err, "--checkpoint %.200s is signed by key %s, not by the "
			"--public-key given", a->checkpoint, pk);
	return 0;
}

static int
audit_verify(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	const json_t *verified, *broken_seq;
	struct jit_audit_checkpoint cp;
	struct verify_args a = {0};
	const char *reason, *head;
	char entry[512], path[256], when[JIT_TIME_BUFSZ];
	json_t *v = NULL;
	json_int_t entries;
	int first, r, rc = -1;

	if ((r = cli_args_parse(c, &cli_cmd_audit_verify, argc, argv, verify_opt, &a, &first,
		err)) != 0)
		return r > 0 ? 0 : -1;
	if (first < argc)
		return cli_usage(err, "unexpected argument '%.80s'", argv[first]);
	if (a.public_key != NULL && a.checkpoint == NULL)
		return cli_usage(err, "--public-key goes with --checkpoint FILE");
	snprintf(path, sizeof(path), AUDIT "/verify");
	if (a.checkpoint != NULL) {
		if (load_checkpoint(&a, &cp, err) != 0)
			return -1;
		if (cp.seq > 0)
			snprintf(path, sizeof(path), AUDIT "/verify?checkpointSequence=%lld"
				"&checkpointHead=%s", (long long)cp.seq, cp.head);
	}
	if (cli_connect(c, err) != 0 || cli_get_object(c, path, &v, err) != 0)
		return -1;
	verified = json_object_get(v, "verified");
	entries = json_integer_value(json_object_get(v, "entries"));
	if (!json_is_boolean(verified)) {
		cli_fail(err, "the server's verdict on the audit log says neither verified nor not");
		goto out;
	}
	if (a.checkpoint != NULL && cp.seq > 0 && json_is_true(verified) &&
		!json_is_true(json_object_get(json_object_get(v, "checkpoint"), "matches"))) {
		cli_fail(err, "the server did not check the checkpoint's entry %lld",
			(long long)cp.seq);
		goto out;
	}
	if (c->output == CLI_OUTPUT_JSON && cli_json_print(v, err) != 0)
		goto out;
	if (json_is_true(verified)) {
		head = json_string_value(json_object_get(v, "head"));
		if (c->output == CLI_OUTPUT_TABLE) {
			printf("The audit log verifies: %lld entries, their %s chain intact (head %s)\n",
				(long long)entries, json_is_true(json_object_get(v, "keyed")) ?
				"keyed (MAC)" : "hash", head && cli_printable(head) ? head : "-");
			if (a.checkpoint != NULL) {
				jit_time_format(cp.time, when);
				printf("and matches the checkpoint of %s: entry %lld, signed by %.16s...\n",
					when, (long long)cp.seq, a.public_key != NULL ? a.public_key :
					"the key it names");
			}
		}
		rc = 0;
		goto out;
	}
	broken_seq = json_object_get(v, "firstBrokenSeq");
	reason = json_string_value(json_object_get(v, "reason"));
	describe_entry(c, json_integer_value(broken_seq), entry, sizeof(entry));
	cli_fail(err, "the audit log does not verify: the first broken entry is %lld%s: %s",
		(long long)json_integer_value(broken_seq), entry,
		reason && cli_printable(reason) ? reason : "no reason given");
out:
	json_decref(v);
	return rc;
}

const struct cli_cmd cli_cmd_audit_verify = {
	"audit", "verify", "[--checkpoint FILE [--public-key HEX]]",
	"Check the audit log's chain: exit 0 when intact, 1 when broken.",
	"Every entry carries a BLAKE2b MAC, under jitgated's audit key (kept outside the\n"
	"database), over its content and the previous entry's MAC. A broken chain (an\n"
	"entry altered, deleted, reordered or re-chained, a tail removed) is reported with\n"
	"the first broken entry and why. With --checkpoint FILE (a checkpoint saved by\n"
	"'jitgate audit checkpoint', or an audit_checkpoint line of jitgated's log), the\n"
	"checkpoint's signature is checked here and its entry must still have the head it\n"
	"signed: a log cut back or rolled back past it fails too. --public-key pins the\n"
	"signing key. Needs Jitgate/auditLogs/read at / (Owner, Reader, Security Reader).\n",
	(const struct cli_opt[]){
		{"checkpoint", KEY_CHECKPOINT, "FILE", "also prove the log against this checkpoint"},
		{"public-key", KEY_PUBLIC_KEY, "HEX", "the key the checkpoint must be signed by"},
		{NULL, 0, NULL, NULL},
	},
	audit_verify,
	false,
};

/* ---- audit checkpoint ---- */

static int
audit_checkpoint(struct cli *c, int argc, char **argv, struct jit_error *err)
{
	struct jit_audit_checkpoint cp;
	char *text = NULL, when[JIT_TIME_BUFSZ], pk[2 * JIT_AUDIT_SIGN_PK_BYTES + 1];
	json_t *v = NULL;
	int first, r, rc = -1;

	if ((r = cli_args_parse(c, &cli_cmd_audit_checkpoint, argc, argv, NULL, NULL, &first,
		err)) != 0)
		return r > 0 ? 0 : -1;
	if (first < argc)
		return cli_usage(err, "unexpected argument '%.80s'", argv[first]);
	if (cli_connect(c, err) != 0 || cli_get_object(c, AUDIT "/checkpoint", &v, err) != 0)
		return -1;
	/* What the server sent must be a checkpoint that verifies, or it is worth nothing. */
	if ((text = json_dumps(v, JSON_COMPACT)) == NULL) {
		cli_fail(err, "out of memory");
		goto out;
	}
	if (jit_audit_checkpoint_parse(text, strlen(text), &cp, err) != 0 ||
		!jit_audit_checkpoint_valid(&cp)) {
		cli_fail(err, "the server's checkpoint does not verify");
		goto out;
	}
	if (c->output == CLI_OUTPUT_TABLE) {
		jit_time_format(cp.time, when);
		sodium_bin2hex(pk, sizeof(pk), cp.pk, sizeof(cp.pk));
		printf("entry %lld at %s, head %s\nsigned by %s\n(-o json > FILE keeps it for "
			"'jitgate audit verify --checkpoint FILE')\n", (long long)cp.seq, when, cp.head,
			pk);
	} else if (cli_json_print(v, err) != 0) {
		goto out;
	}
	rc = 0;
out:
	free(text);
	json_decref(v);
	return rc;
}

const struct cli_cmd cli_cmd_audit_checkpoint = {
	"audit", "checkpoint", "",
	"A signed checkpoint of the audit log's head, to keep outside jitgated.",
	"jitgated signs the log's newest entry and hash with its audit signing key\n"
	"(Ed25519). Saved somewhere the database's writers cannot reach (-o json > FILE),\n"
	"it lets 'jitgate audit verify --checkpoint FILE' prove the log later. jitgated also\n"
	"writes one to its log (event=audit_checkpoint) when the head moved. Needs\n"
	"Jitgate/auditLogs/read at /.\n",
	NULL,
	audit_checkpoint,
	false,
};
