/*
 * resource_id.h: ARM resource IDs for the resources jitgate knows.
 *
 *   /                                                               (root scope)
 *   /subscriptions/{sub}
 *   /subscriptions/{sub}/resourceGroups/{rg}
 *   /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vm}
 *   /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Security/locations/{loc}
 *       /jitNetworkAccessPolicies/{name}
 *
 * Fixed segments are matched case-insensitively, as ARM does, and formatted in
 * the casing above. Names keep the caller's casing but compare case-insensitively.
 * A name is 1..JIT_NAME_MAX characters of letters, digits, '.', '_', '-', '(' and ')',
 * is not "." or "..", and does not end in '.'.
 */
#ifndef JIT_RESOURCE_ID_H
#define JIT_RESOURCE_ID_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "jit_limits.h"

enum jit_rid_kind {
	JIT_RID_ROOT = 0,
	JIT_RID_SUBSCRIPTION,
	JIT_RID_RESOURCE_GROUP,
	JIT_RID_VM,
	JIT_RID_JIT_POLICY,
	JIT_RID_ENFORCEMENT_POINT,  /* .../resourceGroups/{rg}/providers/Jitgate/enforcementPoints/{name} */
};

struct jit_rid {
	enum jit_rid_kind kind;
	char sub[JIT_NAME_MAX + 1];       /* set from SUBSCRIPTION on */
	char rg[JIT_NAME_MAX + 1];        /* set from RESOURCE_GROUP on */
	char location[JIT_NAME_MAX + 1];  /* JIT_POLICY only */
	char name[JIT_NAME_MAX + 1];      /* VM or policy name */
};

/* Parses any of the forms above. A trailing '/' is refused. Errors (400
 * InvalidRequestContent) name the part that is wrong, e.g. "resource group name". */
int jit_rid_parse(const char *s, struct jit_rid *out, struct jit_error *err);

/* Parses and requires the given kind ("... is not a virtual machine ID"). */
int jit_rid_parse_kind(const char *s, enum jit_rid_kind kind, struct jit_rid *out,
	struct jit_error *err);

/* Checks one name segment; what names the segment in the message ("VM name"). */
int jit_rid_check_name(const char *name, const char *what, struct jit_error *err);

/* Formats r; returns the length, or -1 if it does not fit in n bytes. */
int jit_rid_format(const struct jit_rid *r, char *buf, size_t n);

/* The lowercased canonical form of r, how stores key resources ("" if it does not fit). */
void jit_rid_key(const struct jit_rid *r, char out[JIT_RESOURCE_ID_MAX]);

/* Same resource (kind equal, names equal ignoring case). */
bool jit_rid_equal(const struct jit_rid *a, const struct jit_rid *b);

/* True when res is scope itself or inside it: root contains everything, a
 * subscription its groups, a group its VMs and policies. */
bool jit_rid_in_scope(const struct jit_rid *scope, const struct jit_rid *res);

/* Builders for the server and the CLI; names must already be checked. */
void jit_rid_subscription(struct jit_rid *out, const char *sub);
void jit_rid_resource_group(struct jit_rid *out, const char *sub, const char *rg);
void jit_rid_vm(struct jit_rid *out, const char *sub, const char *rg, const char *vm);
void jit_rid_policy(struct jit_rid *out, const char *sub, const char *rg, const char *loc,
	const char *name);
void jit_rid_enforcement_point(struct jit_rid *out, const char *sub, const char *rg,
	const char *name);

#endif
