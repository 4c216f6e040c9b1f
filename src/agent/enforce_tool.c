/*
 * enforce_tool.c: jitgate-enforce, the nftables enforcer by hand.
 *
 *   jitgate-enforce apply FILE.json     make table inet jitgate match a desired state
 *   jitgate-enforce print FILE.json [NOW]   the transaction apply would send (no kernel)
 *   jitgate-enforce remove              delete table inet jitgate
 *   jitgate-enforce probe [host|gateway]    can nftables here do what apply needs?
 *   jitgate-enforce dump                table inet jitgate as libnftables JSON
 *
 * For operators (inspect, repair, remove) and for the integration tests, which drive
 * the real enforcer in network namespaces. It does what the agent will do with one
 * desired state, minus the control plane. FILE is the wire form of desired_state.h.
 * Exit status: 0 done, 1 failed (one line on stderr says why), 2 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "desired_state.h"
#include "enforcer.h"

/* A desired state for one enforcement point: 100k rules of 1k grants is a lot more
 * than a host or gateway carries; this only stops a wrong file from eating memory. */
#define MAX_FILE_BYTES (256L * 1024 * 1024)

static const char usage_text[] =
	"usage: jitgate-enforce apply FILE.json\n"
	"       jitgate-enforce print FILE.json [NOW]\n"
	"       jitgate-enforce remove\n"
	"       jitgate-enforce probe [host|gateway]\n"
	"       jitgate-enforce dump\n";

static int
fail(const struct jit_error *err)
{
	fprintf(stderr, "jitgate-enforce: %s\n", err->message);
	return 1;
}

static int
usage(void)
{
	fputs(usage_text, stderr);
	return 2;
}

static int
load_state(const char *path, struct jit_desired_state **out, struct jit_error *err)
{
	json_error_t je;
	json_t *j;
	FILE *f;
	long size;
	int r;

	if ((f = fopen(path, "r")) == NULL)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST, "%s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST, "%s: cannot find its size", path);
	}
	if (size > MAX_FILE_BYTES) {
		fclose(f);
		return jit_errorf(err, 413, JIT_E_TOO_LARGE, "%s: larger than %ld bytes", path,
			MAX_FILE_BYTES);
	}
	j = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
	fclose(f);
	if (j == NULL)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT, "%s: line %d, column %d: %s",
			path, je.line, je.column, je.text);
	r = jit_desired_state_from_json(j, out, err);
	json_decref(j);
	if (r != 0)
		jit_error_prefix(err, "%s", path);
	return r;
}

static void
print_stats(const struct jit_desired_state *ds, const struct jit_enforce_stats *st)
{
	printf("applied version=%llu kind=%s locked=%zu closing=%zu elements=%zu expired=%zu "
	       "unmatched=%zu mapped=%zu\n",
		(unsigned long long)ds->version, jit_ep_kind_name(ds->kind), st->locked,
		st->closing, st->elements, st->expired, st->unmatched, st->mapped);
}

static int
cmd_apply(const char *path)
{
	struct jit_desired_state *ds = NULL;
	struct jit_enforcer *e = NULL;
	struct jit_enforce_stats st;
	struct jit_error err;
	int r = 1;

	if (load_state(path, &ds, &err) != 0 || jit_enforcer_open(&e, &err) != 0 ||
		jit_enforcer_apply(e, ds, jit_time_now(), &st, &err) != 0) {
		fail(&err);
		goto out;
	}
	print_stats(ds, &st);
	r = 0;
out:
	jit_enforcer_free(e);
	jit_desired_state_free(ds);
	return r;
}

static int
cmd_print(const char *path, const char *now_text)
{
	struct jit_desired_state *ds = NULL;
	struct jit_enforce_stats st;
	struct jit_error err;
	jit_time now = jit_time_now();
	json_t *tx = NULL;
	int r = 1;

	if ((now_text != NULL && jit_time_parse(now_text, &now, &err) != 0) ||
		load_state(path, &ds, &err) != 0 ||
		(tx = jit_enforcer_transaction(ds, now, &st, &err)) == NULL) {
		fail(&err);
		goto out;
	}
	if (json_dumpf(tx, stdout, JSON_INDENT(1)) != 0 || putchar('\n') == EOF) {
		fprintf(stderr, "jitgate-enforce: cannot write the transaction\n");
		goto out;
	}
	r = 0;
out:
	json_decref(tx);
	jit_desired_state_free(ds);
	return r;
}

static int
cmd_simple(const char *what, const char *arg)
{
	struct jit_enforcer *e = NULL;
	struct jit_error err;
	enum jit_ep_kind kind = JIT_EP_HOST;
	char *out = NULL;
	int rc;

	if (strcmp(what, "probe") == 0 && arg != NULL && jit_ep_kind_parse(arg, &kind, &err) != 0)
		return usage();
	if (jit_enforcer_open(&e, &err) != 0)
		return fail(&err);
	if (strcmp(what, "remove") == 0)
		rc = jit_enforcer_remove(e, &err);
	else if (strcmp(what, "probe") == 0)
		rc = jit_enforcer_probe(e, kind, &err);
	else
		rc = jit_enforcer_dump(e, &out, &err);
	jit_enforcer_free(e);
	if (rc != 0)
		return fail(&err);
	if (out != NULL)
		fputs(out, stdout);
	else if (strcmp(what, "probe") == 0)
		printf("probe kind=%s ok\n", jit_ep_kind_name(kind));
	free(out);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "apply") == 0 && argc == 3)
		return cmd_apply(argv[2]);
	if (strcmp(argv[1], "print") == 0 && (argc == 3 || argc == 4))
		return cmd_print(argv[2], argc == 4 ? argv[3] : NULL);
	if ((strcmp(argv[1], "remove") == 0 || strcmp(argv[1], "dump") == 0) && argc == 2)
		return cmd_simple(argv[1], NULL);
	if (strcmp(argv[1], "probe") == 0 && (argc == 2 || argc == 3))
		return cmd_simple(argv[1], argc == 3 ? argv[2] : NULL);
	return usage();
}
