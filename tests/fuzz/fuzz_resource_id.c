/*
 * fuzz_resource_id.c: jit_rid_parse on arbitrary bytes.
 *
 * Beyond "no crash", every ID that parses must survive a round trip: it formats,
 * the text parses back to an equal ID that formats to the same bytes, it lies in
 * its own scope and in the scope of each of its ancestors (and not the other way
 * round), and its names pass jit_rid_check_name. Any failure aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "resource_id.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok)
{
	if (!ok)
		abort();
}

static void
check_ancestors(const struct jit_rid *r)
{
	struct jit_rid up[3];
	size_t n = 0;
	struct jit_rid root;

	memset(&root, 0, sizeof(root));
	root.kind = JIT_RID_ROOT;
	up[n++] = root;
	if (r->kind != JIT_RID_ROOT)
		jit_rid_subscription(&up[n++], r->sub);
	if (r->kind != JIT_RID_ROOT && r->kind != JIT_RID_SUBSCRIPTION)
		jit_rid_resource_group(&up[n++], r->sub, r->rg);
	for (size_t i = 0; i < n; i++) {
		bool self = up[i].kind == r->kind;

		check(jit_rid_in_scope(&up[i], r));
		check(jit_rid_in_scope(r, &up[i]) == self);
		check(jit_rid_equal(&up[i], r) == self);
	}
}

static void
check_names(const struct jit_rid *r)
{
	struct jit_error err;

	if (r->kind != JIT_RID_ROOT)
		check(jit_rid_check_name(r->sub, "subscription ID", &err) == 0);
	if (r->kind == JIT_RID_ROOT || r->kind == JIT_RID_SUBSCRIPTION)
		return;
	check(jit_rid_check_name(r->rg, "resource group name", &err) == 0);
	if (r->kind == JIT_RID_JIT_POLICY)
		check(jit_rid_check_name(r->location, "location", &err) == 0);
	if (r->kind != JIT_RID_RESOURCE_GROUP)
		check(jit_rid_check_name(r->name, "name", &err) == 0);
}

/* A message never carries a raw control character or a non-ASCII byte. */
static void
check_message(const struct jit_error *err)
{
	check(err->status == 400);
	check(strcmp(err->code, JIT_E_INVALID_CONTENT) == 0);
	check(err->message[0] != '\0');
	for (const char *p = err->message; *p != '\0'; p++)
		check((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[JIT_RESOURCE_ID_MAX + 1], buf2[JIT_RESOURCE_ID_MAX + 1];
	struct jit_rid a, b;
	struct jit_error err;
	char *s;
	int len;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	if (jit_rid_parse(s, &a, &err) != 0) {
		check_message(&err);
		free(s);
		return 0;
	}
	check(jit_rid_parse_kind(s, a.kind, &b, &err) == 0);
	check(jit_rid_equal(&a, &b));

	len = jit_rid_format(&a, buf, sizeof(buf));
	check(len > 0 && (size_t)len == strlen(buf));
	/* Formatting only changes the casing of fixed segments. */
	check((size_t)len == strlen(s) && strcasecmp(buf, s) == 0);
	check(jit_rid_format(&a, buf2, (size_t)len) == -1);
	check(jit_rid_format(&a, buf2, (size_t)len + 1) == len);

	check(jit_rid_parse(buf, &b, &err) == 0);
	check(jit_rid_equal(&a, &b) && jit_rid_equal(&b, &a));
	check(jit_rid_in_scope(&a, &a) && jit_rid_in_scope(&a, &b) && jit_rid_in_scope(&b, &a));
	check(jit_rid_format(&b, buf2, sizeof(buf2)) == len);
	check(strcmp(buf, buf2) == 0);

	check_ancestors(&a);
	check_names(&a);
	free(s);
	return 0;
}
