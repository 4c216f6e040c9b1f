/*
 * test_resource_id.c: ARM resource ID parsing, checking, formatting and scopes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "resource_id.h"

#define SUB "00000000-1111-2222-3333-444444444444"
#define RG_ID "/subscriptions/" SUB "/resourceGroups/rg1"
#define VM_ID RG_ID "/providers/Microsoft.Compute/virtualMachines/vm1"
#define POLICY_ID RG_ID "/providers/Microsoft.Security/locations/westeurope" \
	"/jitNetworkAccessPolicies/default"
#define EP_ID RG_ID "/providers/Jitgate/enforcementPoints/gw1"

/* Every byte of a message is printable ASCII: nothing raw from the input leaks. */
static void
assert_message_safe(const struct jit_error *e)
{
	for (const char *p = e->message; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c >= 0x7f)
			fail_msg("unsafe byte 0x%02x in message \"%s\"", c, e->message);
	}
}

/* Parses s, expects a 400 whose message contains want. */
static void
assert_rejects(const char *s, const char *want)
{
	struct jit_error e;
	struct jit_rid r;

	jit_error_clear(&e);
	if (jit_rid_parse(s, &r, &e) != -1)
		fail_msg("accepted \"%s\"", s);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, JIT_E_INVALID_CONTENT);
	assert_message_safe(&e);
	if (strstr(e.message, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", e.message, want);
}

static struct jit_rid
parse_ok(const char *s)
{
	struct jit_error e;
	struct jit_rid r;

	jit_error_clear(&e);
	if (jit_rid_parse(s, &r, &e) != 0)
		fail_msg("rejected \"%s\": %s", s, e.message);
	return r;
}

static void
assert_formats_as(const struct jit_rid *r, const char *want)
{
	char buf[JIT_RESOURCE_ID_MAX + 1];

	assert_int_equal(jit_rid_format(r, buf, sizeof(buf)), (int)strlen(want));
	assert_string_equal(buf, want);
}

static void
test_parse_root(void **state)
{
	struct jit_rid r;

	(void)state;
	r = parse_ok("/");
	assert_int_equal(r.kind, JIT_RID_ROOT);
	assert_string_equal(r.sub, "");
	assert_formats_as(&r, "/");
}

static void
test_parse_subscription(void **state)
{
	struct jit_rid r;

	(void)state;
	r = parse_ok("/subscriptions/" SUB);
	assert_int_equal(r.kind, JIT_RID_SUBSCRIPTION);
	assert_string_equal(r.sub, SUB);
	assert_string_equal(r.rg, "");
	assert_formats_as(&r, "/subscriptions/" SUB);
}

static void
test_parse_resource_group(void **state)
{
	struct jit_rid r;

	(void)state;
	r = parse_ok(RG_ID);
	assert_int_equal(r.kind, JIT_RID_RESOURCE_GROUP);
	assert_string_equal(r.sub, SUB);
	assert_string_equal(r.rg, "rg1");
	assert_string_equal(r.name, "");
	assert_formats_as(&r, RG_ID);
}

static void
test_parse_vm(void **state)
{
	struct jit_rid r;

	(void)state;
	r = parse_ok(VM_ID);
	assert_int_equal(r.kind, JIT_RID_VM);
	assert_string_equal(r.sub, SUB);
	assert_string_equal(r.rg, "rg1");
	assert_string_equal(r.location, "");
	assert_string_equal(r.name, "vm1");
	assert_formats_as(&r, VM_ID);
}

static void
test_parse_policy(void **state)
{
	struct jit_rid r;

	(void)state;
	r = parse_ok(POLICY_ID);
	assert_int_equal(r.kind, JIT_RID_JIT_POLICY);
	assert_string_equal(r.sub, SUB);
	assert_string_equal(r.rg, "rg1");
	assert_string_equal(r.location, "westeurope");
	assert_string_equal(r.name, "default");
	assert_formats_as(&r, POLICY_ID);
}

static void
test_parse_enforcement_point(void **state)
{
	struct jit_rid r;

	(void)state;
	r = parse_ok(EP_ID);
	assert_int_equal(r.kind, JIT_RID_ENFORCEMENT_POINT);
	assert_string_equal(r.sub, SUB);
	assert_string_equal(r.rg, "rg1");
	assert_string_equal(r.location, "");
	assert_string_equal(r.name, "gw1");
	assert_formats_as(&r, EP_ID);
	r = parse_ok("/subscriptions/s/resourceGroups/r/providers/JITGATE/ENFORCEMENTPOINTS/Gw");
	assert_int_equal(r.kind, JIT_RID_ENFORCEMENT_POINT);
	assert_formats_as(&r, "/subscriptions/s/resourceGroups/r/providers/Jitgate/"
		"enforcementPoints/Gw");
}

static void
test_names_use_whole_charset(void **state)
{
	struct jit_rid r;
	char name[JIT_NAME_MAX + 1];
	char id[JIT_RESOURCE_ID_MAX + 1];

	(void)state;
	r = parse_ok("/subscriptions/s/resourceGroups/My_RG-(prod).v2/providers/"
		"Microsoft.Compute/virtualMachines/A.b_c-(D)9");
	assert_string_equal(r.rg, "My_RG-(prod).v2");
	assert_string_equal(r.name, "A.b_c-(D)9");
	/* Exactly JIT_NAME_MAX characters is accepted everywhere. */
	memset(name, 'x', JIT_NAME_MAX);
	name[JIT_NAME_MAX] = '\0';
	snprintf(id, sizeof(id), "/subscriptions/%s/resourceGroups/%s/providers/"
		"Microsoft.Security/locations/%s/jitNetworkAccessPolicies/%s", name, name, name,
		name);
	r = parse_ok(id);
	assert_int_equal(r.kind, JIT_RID_JIT_POLICY);
	assert_string_equal(r.sub, name);
	assert_string_equal(r.rg, name);
	assert_string_equal(r.location, name);
	assert_string_equal(r.name, name);
	assert_formats_as(&r, id);
	/* Dots inside a name and a leading dot are fine; only "."/".." and a trailing dot are not. */
	r = parse_ok("/subscriptions/.s/resourceGroups/...a");
	assert_string_equal(r.sub, ".s");
	assert_string_equal(r.rg, "...a");
}

static void
test_fixed_segments_any_case(void **state)
{
	struct jit_rid r;

	(void)state;
	r = parse_ok("/SUBSCRIPTIONS/Sub1/RESOURCEGROUPS/Rg1/PROVIDERS/MICROSOFT.COMPUTE/"
		"VIRTUALMACHINES/Vm1");
	assert_int_equal(r.kind, JIT_RID_VM);
	assert_formats_as(&r, "/subscriptions/Sub1/resourceGroups/Rg1/providers/"
		"Microsoft.Compute/virtualMachines/Vm1");
	r = parse_ok("/subscriptions/sub1/resourcegroups/RG1/providers/microsoft.compute/"
		"virtualmachines/VM1");
	assert_int_equal(r.kind, JIT_RID_VM);
	assert_string_equal(r.rg, "RG1");
	assert_string_equal(r.name, "VM1");
	r = parse_ok("/sUbScRiPtIoNs/s/ReSoUrCeGrOuPs/r/pRoViDeRs/mIcRoSoFt.SeCuRiTy/"
		"LOCATIONS/WestUS/JITNETWORKACCESSPOLICIES/Default");
	assert_int_equal(r.kind, JIT_RID_JIT_POLICY);
	assert_string_equal(r.location, "WestUS");
	assert_string_equal(r.name, "Default");
	assert_formats_as(&r, "/subscriptions/s/resourceGroups/r/providers/"
		"Microsoft.Security/locations/WestUS/jitNetworkAccessPolicies/Default");
	r = parse_ok("/Subscriptions/s");
	assert_formats_as(&r, "/subscriptions/s");
}

static void
test_reject_empty(void **state)
{
	(void)state;
	assert_rejects("", "resource ID is empty");
	assert_rejects(NULL, "resource ID is empty");
}

static void
test_reject_no_leading_slash(void **state)
{
	(void)state;
	assert_rejects("subscriptions/s", "does not start with '/'");
	assert_rejects(" /subscriptions/s", "does not start with '/'");
	assert_rejects("s", "does not start with '/'");
}

static void
test_reject_empty_segments(void **state)
{
	(void)state;
	assert_rejects("//subscriptions/s", "empty segment");
	assert_rejects("/subscriptions//resourceGroups/rg", "subscription ID is empty");
	assert_rejects("/subscriptions/s//resourceGroups/rg", "empty segment");
	assert_rejects("/subscriptions/s/resourceGroups//providers/Microsoft.Compute/"
		"virtualMachines/vm", "resource group name is empty");
	assert_rejects("/subscriptions/s/resourceGroups/rg//Microsoft.Compute/virtualMachines/vm",
		"empty segment");
	assert_rejects("/subscriptions/s/resourceGroups/rg/providers//virtualMachines/vm",
		"empty segment");
	assert_rejects("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute//vm",
		"empty segment");
	assert_rejects("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/"
		"virtualMachines//x", "virtual machine name is empty");
	assert_rejects("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Security/"
		"locations//jitNetworkAccessPolicies/p", "location is empty");
	assert_rejects("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Security/"
		"locations/l//p", "empty segment");
	assert_rejects("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Security/"
		"locations/l/jitNetworkAccessPolicies//x", "policy name is empty");
}

static void
test_reject_trailing_slash(void **state)
{
	(void)state;
	assert_rejects("//", "ends with '/'");
	assert_rejects("/subscriptions/", "ends with '/'");
	assert_rejects("/subscriptions/s/", "ends with '/'");
	assert_rejects(RG_ID "/", "ends with '/'");
	assert_rejects(VM_ID "/", "ends with '/'");
	assert_rejects(POLICY_ID "/", "ends with '/'");
	assert_rejects(VM_ID "//", "ends with '/'");
}

static void
test_reject_dot_segments(void **state)
{
	(void)state;
	assert_rejects("/./subscriptions/s", "'.' or '..' segment");
	assert_rejects("/../subscriptions/s", "'.' or '..' segment");
	assert_rejects("/subscriptions/.", "subscription ID must not be '.' or '..'");
	assert_rejects("/subscriptions/../resourceGroups/rg",
		"subscription ID must not be '.' or '..'");
	assert_rejects("/subscriptions/s/../subscriptions/t", "'.' or '..' segment");
	assert_rejects("/subscriptions/s/resourceGroups/..",
		"resource group name must not be '.' or '..'");
	assert_rejects("/subscriptions/s/resourceGroups/rg/./Microsoft.Compute/virtualMachines/v",
		"'.' or '..' segment");
	assert_rejects("/subscriptions/s/resourceGroups/rg/providers/../virtualMachines/v",
		"'.' or '..' segment");
	assert_rejects("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/..",
		"'.' or '..' segment");
	assert_rejects("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/"
		"virtualMachines/..", "virtual machine name must not be '.' or '..'");
	assert_rejects("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Security/"
		"locations/./jitNetworkAccessPolicies/p", "location must not be '.' or '..'");
	assert_rejects("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Security/"
		"locations/l/../p", "'.' or '..' segment");
	assert_rejects("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Security/"
		"locations/l/jitNetworkAccessPolicies/.", "policy name must not be '.' or '..'");
}

/* Where a name can stand, and how the message calls it. */
static const struct {
	const char *pre;
	const char *post;
	const char *what;
} name_pos[] = {
	{"/subscriptions/", "", "subscription ID"},
	{"/subscriptions/", "/resourceGroups/r", "subscription ID"},
	{"/subscriptions/s/resourceGroups/", "", "resource group name"},
	{"/subscriptions/s/resourceGroups/", "/providers/Microsoft.Compute/virtualMachines/v",
		"resource group name"},
	{"/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/", "",
		"virtual machine name"},
	{"/subscriptions/s/resourceGroups/r/providers/Microsoft.Security/locations/",
		"/jitNetworkAccessPolicies/p", "location"},
	{"/subscriptions/s/resourceGroups/r/providers/Microsoft.Security/locations/l"
		"/jitNetworkAccessPolicies/", "", "policy name"},
	{"/subscriptions/s/resourceGroups/r/providers/Jitgate/enforcementPoints/", "",
		"enforcement point name"},
};

static void
make_id(char *buf, size_t n, size_t pos, const char *name)
{
	snprintf(buf, n, "%s%s%s", name_pos[pos].pre, name, name_pos[pos].post);
}

/* One bad byte placed in each name position names that position. */
static void
test_reject_bad_bytes_name_the_segment(void **state)
{
	static const struct {
		const char *byte;
		const char *shown;
	} bad[] = {
		{"\x01", "byte 0x01"}, {"\t", "byte 0x09"}, {"\n", "byte 0x0a"},
		{"\r", "byte 0x0d"}, {"\x1b", "byte 0x1b"}, {"\x7f", "byte 0x7f"},
		{"\xc3\xa9", "byte 0xc3"}, {"\xff", "byte 0xff"}, {" ", "byte 0x20"},
		{"$", "'$'"}, {"%", "'%'"}, {"'", "'''"}, {"\"", "'\"'"}, {"\\", "'\\'"},
		{":", "':'"}, {"?", "'?'"}, {"#", "'#'"}, {"*", "'*'"}, {"+", "'+'"},
		{"~", "'~'"}, {"@", "'@'"}, {"<", "'<'"}, {"&", "'&'"}, {";", "';'"},
	};
	char id[256], name[8], want[128];

	(void)state;
	for (size_t i = 0; i < sizeof(name_pos) / sizeof(name_pos[0]); i++) {
		for (size_t j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
			snprintf(name, sizeof(name), "a%sb", bad[j].byte);
			make_id(id, sizeof(id), i, name);
			snprintf(want, sizeof(want), "%s 'a", name_pos[i].what);
			assert_rejects(id, want);
			snprintf(want, sizeof(want), "contains %s at position 2", bad[j].shown);
			assert_rejects(id, want);
		}
	}
}

static void
test_reject_trailing_dot(void **state)
{
	(void)state;
	assert_rejects("/subscriptions/s.", "subscription ID 's.' must not end with '.'");
	assert_rejects("/subscriptions/s/resourceGroups/rg...",
		"resource group name 'rg...' must not end with '.'");
	assert_rejects("/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/"
		"virtualMachines/vm.", "virtual machine name 'vm.' must not end with '.'");
	assert_rejects("/subscriptions/s/resourceGroups/r/providers/Microsoft.Security/"
		"locations/west./jitNetworkAccessPolicies/p", "location 'west.' must not end");
	assert_rejects("/subscriptions/s/resourceGroups/r/providers/Microsoft.Security/"
		"locations/west/jitNetworkAccessPolicies/p.", "policy name 'p.' must not end");
}

static void
test_reject_long_names(void **state)
{
	char name[JIT_NAME_MAX + 2];
	char id[512], want[128];

	(void)state;
	memset(name, 'n', JIT_NAME_MAX + 1);
	name[JIT_NAME_MAX + 1] = '\0';
	for (size_t i = 0; i < sizeof(name_pos) / sizeof(name_pos[0]); i++) {
		make_id(id, sizeof(id), i, name);
		snprintf(want, sizeof(want), "%s 'nnn", name_pos[i].what);
		assert_rejects(id, want);
		assert_rejects(id, "is longer than 90 characters");
	}
}

static void
test_reject_long_id(void **state)
{
	char id[JIT_RESOURCE_ID_MAX + 2];
	struct jit_error e;

	(void)state;
	/* One byte over: refused for its length, whatever its shape. */
	id[0] = '/';
	memset(id + 1, 'a', JIT_RESOURCE_ID_MAX);
	id[JIT_RESOURCE_ID_MAX + 1] = '\0';
	assert_rejects(id, "is longer than 1024 characters");
	/* The message quotes a bounded prefix. */
	assert_int_equal(jit_rid_parse(id, NULL, &e), -1);
	assert_non_null(strstr(e.message, "'/aaaa"));
	assert_non_null(strstr(e.message, "...'"));
	assert_true(strlen(e.message) < 200);
	/* At the limit the length is fine and the shape is what is wrong. */
	id[JIT_RESOURCE_ID_MAX] = '\0';
	assert_rejects(id, "where 'subscriptions' was expected");
}

static void
test_reject_unknown_providers_and_types(void **state)
{
	static const char *const ids[] = {
		RG_ID "/providers",
		RG_ID "/providers/Microsoft.Compute",
		RG_ID "/providers/Microsoft.Compute/disks/d1",
		RG_ID "/providers/Microsoft.Compute/virtualMachine/vm1",
		RG_ID "/providers/Microsoft.Network/networkInterfaces/nic1",
		RG_ID "/providers/Microsoft.Network/virtualMachines/vm1",
		RG_ID "/providers/Microsoft.Security/virtualMachines/vm1",
		RG_ID "/providers/Microsoft.Compute/locations/l/jitNetworkAccessPolicies/p",
		RG_ID "/providers/Microsoft.Security/locations/westus",
		RG_ID "/providers/Microsoft.Security/locations/westus/alerts/a",
		RG_ID "/providers/Microsoft.Security/jitNetworkAccessPolicies/p",
		RG_ID "/providers/Microsoft.Compute.Extra/virtualMachines/vm1",
		RG_ID "/provider/Microsoft.Compute/virtualMachines/vm1",
		RG_ID "/vm1",
		RG_ID "/virtualMachines/vm1",
		RG_ID "/providers/Jitgate/virtualMachines/vm1",
		RG_ID "/providers/Microsoft.Compute/enforcementPoints/e",
		RG_ID "/providers/Jitgate.Agents/enforcementPoints/e",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		assert_rejects(ids[i], "is not a virtual machine, JIT policy or enforcement point ID");
}

static void
test_reject_wrong_fixed_segments(void **state)
{
	(void)state;
	assert_rejects("/tenants/t", "'tenants' at the start where 'subscriptions' was expected");
	assert_rejects("/subscription/s", "where 'subscriptions' was expected");
	assert_rejects("/subscriptionsx/s", "where 'subscriptions' was expected");
	assert_rejects("/subscriptions/s/resourcegroup/rg",
		"'resourcegroup' after the subscription ID where 'resourceGroups' was expected");
	assert_rejects("/subscriptions/s/providers/Microsoft.Security/locations/l",
		"'providers' after the subscription ID");
	/* A bad byte in a fixed segment is quoted escaped. */
	assert_rejects("/subscr\x01ptions/s", "'subscr\\x01ptions' at the start");
}

static void
test_reject_missing_names(void **state)
{
	(void)state;
	assert_rejects("/subscriptions", "has no subscription ID");
	assert_rejects("/subscriptions/s/resourceGroups", "has no resource group name");
	assert_rejects(RG_ID "/providers/Microsoft.Compute/virtualMachines",
		"has no virtual machine name");
	assert_rejects(RG_ID "/providers/Microsoft.Security/locations", "has no location");
	assert_rejects(RG_ID "/providers/Microsoft.Security/locations/l/jitNetworkAccessPolicies",
		"has no policy name");
	assert_rejects(RG_ID "/providers/Jitgate/enforcementPoints",
		"has no enforcement point name");
}

static void
test_reject_extra_segments(void **state)
{
	(void)state;
	assert_rejects(VM_ID "/extensions/e", "unexpected segments after the virtual machine name");
	assert_rejects(VM_ID "/x", "unexpected segments after the virtual machine name");
	assert_rejects(POLICY_ID "/initiate", "unexpected segments after the policy name");
	assert_rejects(POLICY_ID "/a/b/c/d/e/f/g", "unexpected segments after the policy name");
	assert_rejects(VM_ID "/a/b/c/d/e/f/g/h/i/j/k/l/m",
		"unexpected segments after the virtual machine name");
	assert_rejects(EP_ID "/status", "unexpected segments after the enforcement point name");
}

static void
test_messages_quote_safely(void **state)
{
	char id[JIT_RESOURCE_ID_MAX + 1];
	struct jit_error e;
	char *json;

	(void)state;
	/* Control characters and invalid UTF-8 all over a long, otherwise fine ID. */
	memset(id, '\x01', sizeof(id));
	memcpy(id, "/tenants/", 9);
	id[600] = '\xff';
	id[JIT_RESOURCE_ID_MAX] = '\0';
	assert_int_equal(jit_rid_parse(id, NULL, &e), -1);
	assert_message_safe(&e);
	assert_non_null(strstr(e.message, "\\x01\\x01"));
	assert_non_null(strstr(e.message, "..."));
	assert_true(strlen(e.message) < 300);
	/* The message stays valid UTF-8, so the JSON error renders. */
	json = jit_error_to_json(&e);
	assert_non_null(json);
	free(json);

	assert_rejects("/subscriptions/a\xc3\xa9", "'a\\xc3\\xa9'");
	assert_rejects("/subscriptions/a\\b", "'a\\\\b'");
	assert_int_equal(jit_rid_parse("/subscriptions/\xe2\x80\xae" "evil", NULL, &e), -1);
	json = jit_error_to_json(&e);
	assert_non_null(json);
	free(json);
}

static void
test_failed_parse_leaves_out_alone(void **state)
{
	struct jit_rid r;
	struct jit_error e;

	(void)state;
	jit_rid_vm(&r, "s", "rg", "vm");
	assert_int_equal(jit_rid_parse(VM_ID "/x", &r, &e), -1);
	assert_int_equal(r.kind, JIT_RID_VM);
	assert_string_equal(r.name, "vm");
	assert_int_equal(jit_rid_parse_kind(RG_ID, JIT_RID_VM, &r, &e), -1);
	assert_string_equal(r.rg, "rg");
	/* err may be NULL. */
	assert_int_equal(jit_rid_parse("x", &r, NULL), -1);
	assert_int_equal(jit_rid_parse(VM_ID, NULL, NULL), 0);
}

static void
test_parse_kind(void **state)
{
	struct jit_rid r;
	struct jit_error e;

	(void)state;
	assert_int_equal(jit_rid_parse_kind(VM_ID, JIT_RID_VM, &r, &e), 0);
	assert_int_equal(r.kind, JIT_RID_VM);
	assert_int_equal(jit_rid_parse_kind(POLICY_ID, JIT_RID_JIT_POLICY, &r, &e), 0);
	assert_string_equal(r.location, "westeurope");
	assert_int_equal(jit_rid_parse_kind("/", JIT_RID_ROOT, &r, &e), 0);
	assert_int_equal(jit_rid_parse_kind(RG_ID, JIT_RID_RESOURCE_GROUP, &r, &e), 0);
	assert_int_equal(jit_rid_parse_kind("/subscriptions/s", JIT_RID_SUBSCRIPTION, &r, &e), 0);
	assert_int_equal(jit_rid_parse_kind(EP_ID, JIT_RID_ENFORCEMENT_POINT, &r, &e), 0);
	assert_string_equal(r.name, "gw1");
	assert_int_equal(jit_rid_parse_kind(VM_ID, JIT_RID_ENFORCEMENT_POINT, &r, &e), -1);
	assert_non_null(strstr(e.message, "is not an enforcement point ID"));
	assert_int_equal(jit_rid_parse_kind(EP_ID, JIT_RID_VM, &r, &e), -1);
	assert_non_null(strstr(e.message, "is not a virtual machine ID"));

	assert_int_equal(jit_rid_parse_kind(POLICY_ID, JIT_RID_VM, &r, &e), -1);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, JIT_E_INVALID_CONTENT);
	assert_non_null(strstr(e.message, "is not a virtual machine ID"));
	assert_int_equal(jit_rid_parse_kind(VM_ID, JIT_RID_JIT_POLICY, &r, &e), -1);
	assert_non_null(strstr(e.message, "is not a JIT policy ID"));
	assert_int_equal(jit_rid_parse_kind(VM_ID, JIT_RID_RESOURCE_GROUP, &r, &e), -1);
	assert_non_null(strstr(e.message, "is not a resource group ID"));
	assert_int_equal(jit_rid_parse_kind("/", JIT_RID_SUBSCRIPTION, &r, &e), -1);
	assert_non_null(strstr(e.message, "is not a subscription ID"));
	assert_int_equal(jit_rid_parse_kind(RG_ID, JIT_RID_ROOT, &r, &e), -1);
	assert_non_null(strstr(e.message, "is not a root scope ID"));
	/* A parse error comes through unchanged. */
	assert_int_equal(jit_rid_parse_kind(VM_ID "/", JIT_RID_VM, &r, &e), -1);
	assert_non_null(strstr(e.message, "ends with '/'"));
}

static void
test_check_name(void **state)
{
	struct jit_error e;
	char name[JIT_NAME_MAX + 2];

	(void)state;
	assert_int_equal(jit_rid_check_name("vm-01", "VM name", &e), 0);
	assert_int_equal(jit_rid_check_name("(a)_b.c-D", "VM name", &e), 0);
	assert_int_equal(jit_rid_check_name("", "VM name", &e), -1);
	assert_string_equal(e.message, "VM name is empty");
	assert_int_equal(jit_rid_check_name(NULL, "VM name", &e), -1);
	assert_string_equal(e.message, "VM name is empty");
	assert_int_equal(jit_rid_check_name("a/b", "VM name", &e), -1);
	assert_non_null(strstr(e.message, "VM name 'a/b' contains '/' at position 2"));
	assert_int_equal(jit_rid_check_name("a\nb", "location", &e), -1);
	assert_non_null(strstr(e.message, "location 'a\\x0ab' contains byte 0x0a"));
	assert_message_safe(&e);
	assert_int_equal(jit_rid_check_name("..", "policy name", &e), -1);
	assert_string_equal(e.message, "policy name must not be '.' or '..'");
	assert_int_equal(jit_rid_check_name("x.", "policy name", &e), -1);
	assert_non_null(strstr(e.message, "must not end with '.'"));
	assert_int_equal(jit_rid_check_name("x$", NULL, &e), -1);
	assert_non_null(strstr(e.message, "name 'x$'"));
	memset(name, 'z', sizeof(name) - 1);
	name[JIT_NAME_MAX] = '\0';
	assert_int_equal(jit_rid_check_name(name, "VM name", &e), 0);
	name[JIT_NAME_MAX] = 'z';
	name[JIT_NAME_MAX + 1] = '\0';
	assert_int_equal(jit_rid_check_name(name, "VM name", &e), -1);
	assert_non_null(strstr(e.message, "is longer than 90 characters"));
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, JIT_E_INVALID_CONTENT);
}

static void
test_format_round_trip(void **state)
{
	static const char *const ids[] = {
		"/",
		"/subscriptions/" SUB,
		RG_ID,
		VM_ID,
		POLICY_ID,
		EP_ID,
		"/subscriptions/Ab/resourceGroups/Cd/providers/Microsoft.Compute/virtualMachines/Ef",
	};
	char buf[JIT_RESOURCE_ID_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct jit_rid a = parse_ok(ids[i]), b;
		int len = jit_rid_format(&a, buf, sizeof(buf));

		assert_int_equal(len, (int)strlen(ids[i]));
		assert_string_equal(buf, ids[i]);
		b = parse_ok(buf);
		assert_true(jit_rid_equal(&a, &b));
		/* Exactly len + 1 bytes fit; len do not, and the buffer is left a string. */
		assert_int_equal(jit_rid_format(&a, buf, (size_t)len + 1), len);
		assert_int_equal(jit_rid_format(&a, buf, (size_t)len), -1);
		assert_string_equal(buf, "");
	}
}

static void
test_format_edge_cases(void **state)
{
	struct jit_rid r;
	char buf[4] = "xyz";

	(void)state;
	jit_rid_subscription(&r, "s");
	assert_int_equal(jit_rid_format(&r, buf, 0), -1);
	assert_string_equal(buf, "xyz");
	assert_int_equal(jit_rid_format(&r, NULL, 0), -1);
	memset(&r, 0, sizeof(r));
	r.kind = JIT_RID_ROOT;
	assert_int_equal(jit_rid_format(&r, buf, 1), -1);
	assert_int_equal(jit_rid_format(&r, buf, 2), 1);
	assert_string_equal(buf, "/");
	r.kind = (enum jit_rid_kind)42;
	assert_int_equal(jit_rid_format(&r, buf, sizeof(buf)), -1);
}

static void
test_equal(void **state)
{
	struct jit_rid a, b;

	(void)state;
	a = parse_ok(VM_ID);
	b = parse_ok("/SUBSCRIPTIONS/" SUB "/RESOURCEGROUPS/RG1/providers/microsoft.compute/"
		"virtualmachines/VM1");
	assert_true(jit_rid_equal(&a, &b));
	assert_true(jit_rid_equal(&b, &a));
	b = parse_ok(RG_ID "/providers/Microsoft.Compute/virtualMachines/vm2");
	assert_false(jit_rid_equal(&a, &b));
	b = parse_ok("/subscriptions/" SUB "/resourceGroups/rg2/providers/Microsoft.Compute/"
		"virtualMachines/vm1");
	assert_false(jit_rid_equal(&a, &b));
	b = parse_ok("/subscriptions/other/resourceGroups/rg1/providers/Microsoft.Compute/"
		"virtualMachines/vm1");
	assert_false(jit_rid_equal(&a, &b));
	/* Same names, different kinds. */
	jit_rid_vm(&a, "s", "r", "x");
	jit_rid_policy(&b, "s", "r", "l", "x");
	assert_false(jit_rid_equal(&a, &b));
	jit_rid_enforcement_point(&b, "s", "r", "x");
	assert_false(jit_rid_equal(&a, &b));
	jit_rid_enforcement_point(&a, "S", "R", "X");
	assert_true(jit_rid_equal(&a, &b));
	jit_rid_resource_group(&a, "s", "r");
	assert_false(jit_rid_equal(&a, &b));
	/* Policies differ by location. */
	a = parse_ok(POLICY_ID);
	b = parse_ok(RG_ID "/providers/Microsoft.Security/locations/WESTEUROPE/"
		"jitNetworkAccessPolicies/DEFAULT");
	assert_true(jit_rid_equal(&a, &b));
	b = parse_ok(RG_ID "/providers/Microsoft.Security/locations/northeurope/"
		"jitNetworkAccessPolicies/default");
	assert_false(jit_rid_equal(&a, &b));
	/* Prefixes are not equal. */
	jit_rid_subscription(&a, "ab");
	jit_rid_subscription(&b, "a");
	assert_false(jit_rid_equal(&a, &b));
	a = parse_ok("/");
	b = parse_ok("/");
	assert_true(jit_rid_equal(&a, &b));
	assert_false(jit_rid_equal(&a, NULL));
}

static void
test_in_scope_matrix(void **state)
{
	static const struct {
		const char *scope;
		const char *res;
		bool in;
	} m[] = {
		/* root contains everything */
		{"/", "/", true},
		{"/", "/subscriptions/a", true},
		{"/", "/subscriptions/a/resourceGroups/r", true},
		{"/", "/subscriptions/a/resourceGroups/r/providers/Microsoft.Compute/"
			"virtualMachines/v", true},
		{"/", "/subscriptions/a/resourceGroups/r/providers/Microsoft.Security/"
			"locations/l/jitNetworkAccessPolicies/p", true},
		/* subscription: itself, its children, in any case; not its parent or siblings */
		{"/subscriptions/a", "/subscriptions/a", true},
		{"/subscriptions/a", "/subscriptions/A", true},
		{"/subscriptions/a", "/SUBSCRIPTIONS/A/resourceGroups/r", true},
		{"/subscriptions/A", "/subscriptions/a/resourceGroups/r/providers/Microsoft.Compute/"
			"virtualMachines/v", true},
		{"/subscriptions/a", "/subscriptions/a/resourceGroups/r/providers/Microsoft.Security/"
			"locations/l/jitNetworkAccessPolicies/p", true},
		{"/subscriptions/a", "/", false},
		{"/subscriptions/a", "/subscriptions/b", false},
		{"/subscriptions/a", "/subscriptions/ab", false},
		{"/subscriptions/ab", "/subscriptions/a", false},
		{"/subscriptions/a", "/subscriptions/ab/resourceGroups/r", false},
		{"/subscriptions/a", "/subscriptions/b/resourceGroups/r/providers/Microsoft.Compute/"
			"virtualMachines/v", false},
		/* resource group */
		{"/subscriptions/a/resourceGroups/r", "/subscriptions/a/resourceGroups/r", true},
		{"/subscriptions/a/resourceGroups/r", "/subscriptions/A/resourceGroups/R", true},
		{"/subscriptions/a/resourceGroups/R", "/subscriptions/a/resourceGroups/r/providers/"
			"Microsoft.Compute/virtualMachines/v", true},
		{"/subscriptions/a/resourceGroups/r", "/subscriptions/a/resourceGroups/r/providers/"
			"Microsoft.Security/locations/l/jitNetworkAccessPolicies/p", true},
		{"/subscriptions/a/resourceGroups/r", "/", false},
		{"/subscriptions/a/resourceGroups/r", "/subscriptions/a", false},
		{"/subscriptions/a/resourceGroups/r", "/subscriptions/a/resourceGroups/r2", false},
		{"/subscriptions/a/resourceGroups/r2", "/subscriptions/a/resourceGroups/r", false},
		{"/subscriptions/a/resourceGroups/r", "/subscriptions/b/resourceGroups/r", false},
		{"/subscriptions/a/resourceGroups/r", "/subscriptions/a/resourceGroups/r2/providers/"
			"Microsoft.Compute/virtualMachines/v", false},
		{"/subscriptions/a/resourceGroups/r", "/subscriptions/b/resourceGroups/r/providers/"
			"Microsoft.Security/locations/l/jitNetworkAccessPolicies/p", false},
		/* a VM contains only itself */
		{"/subscriptions/a/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/v",
			"/subscriptions/A/resourceGroups/R/providers/Microsoft.Compute/"
			"virtualMachines/V", true},
		{"/subscriptions/a/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/v",
			"/subscriptions/a/resourceGroups/r", false},
		{"/subscriptions/a/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/v",
			"/subscriptions/a", false},
		{"/subscriptions/a/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/v",
			"/", false},
		{"/subscriptions/a/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/v",
			"/subscriptions/a/resourceGroups/r/providers/Microsoft.Compute/"
			"virtualMachines/v2", false},
		{"/subscriptions/a/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/v",
			"/subscriptions/a/resourceGroups/r/providers/Microsoft.Security/locations/l/"
			"jitNetworkAccessPolicies/v", false},
		/* a policy contains only itself */
		{"/subscriptions/a/resourceGroups/r/providers/Microsoft.Security/locations/l/"
			"jitNetworkAccessPolicies/p", "/subscriptions/a/resourceGroups/r/providers/"
			"Microsoft.Security/locations/L/jitNetworkAccessPolicies/P", true},
		{"/subscriptions/a/resourceGroups/r/providers/Microsoft.Security/locations/l/"
			"jitNetworkAccessPolicies/p", "/subscriptions/a/resourceGroups/r/providers/"
			"Microsoft.Security/locations/l2/jitNetworkAccessPolicies/p", false},
		{"/subscriptions/a/resourceGroups/r/providers/Microsoft.Security/locations/l/"
			"jitNetworkAccessPolicies/p", "/subscriptions/a/resourceGroups/r/providers/"
			"Microsoft.Compute/virtualMachines/p", false},
		{"/subscriptions/a/resourceGroups/r/providers/Microsoft.Security/locations/l/"
			"jitNetworkAccessPolicies/p", "/subscriptions/a/resourceGroups/r", false},
		{"/subscriptions/a/resourceGroups/r/providers/Microsoft.Security/locations/l/"
			"jitNetworkAccessPolicies/p", "/", false},
		/* enforcement points sit in a group like VMs */
		{"/", "/subscriptions/a/resourceGroups/r/providers/Jitgate/enforcementPoints/e", true},
		{"/subscriptions/A", "/subscriptions/a/resourceGroups/r/providers/Jitgate/"
			"enforcementPoints/e", true},
		{"/subscriptions/a/resourceGroups/R", "/subscriptions/a/resourceGroups/r/providers/"
			"Jitgate/enforcementPoints/e", true},
		{"/subscriptions/a/resourceGroups/r2", "/subscriptions/a/resourceGroups/r/providers/"
			"Jitgate/enforcementPoints/e", false},
		{"/subscriptions/a/resourceGroups/r/providers/Jitgate/enforcementPoints/e",
			"/subscriptions/a/resourceGroups/r/providers/Jitgate/enforcementPoints/E", true},
		{"/subscriptions/a/resourceGroups/r/providers/Jitgate/enforcementPoints/e",
			"/subscriptions/a/resourceGroups/r/providers/Microsoft.Compute/"
			"virtualMachines/e", false},
		{"/subscriptions/a/resourceGroups/r/providers/Jitgate/enforcementPoints/e",
			"/subscriptions/a/resourceGroups/r", false},
		{"/subscriptions/a/resourceGroups/r/providers/Jitgate/enforcementPoints/e",
			"/subscriptions/a/resourceGroups/r/providers/Jitgate/enforcementPoints/e2", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		struct jit_rid scope = parse_ok(m[i].scope);
		struct jit_rid res = parse_ok(m[i].res);

		if (jit_rid_in_scope(&scope, &res) != m[i].in)
			fail_msg("in_scope(%s, %s) should be %s", m[i].scope, m[i].res,
				m[i].in ? "true" : "false");
	}
}

static void
test_in_scope_odd_inputs(void **state)
{
	struct jit_rid a, b;

	(void)state;
	jit_rid_subscription(&a, "s");
	assert_false(jit_rid_in_scope(&a, NULL));
	assert_false(jit_rid_in_scope(NULL, &a));
	b = a;
	b.kind = (enum jit_rid_kind)42;
	assert_false(jit_rid_in_scope(&a, &b));
	assert_false(jit_rid_in_scope(&b, &a));
	assert_false(jit_rid_in_scope(&b, &b));
}

static void
test_builders(void **state)
{
	struct jit_rid a, b;
	char long_name[200];

	(void)state;
	jit_rid_subscription(&a, SUB);
	b = parse_ok("/subscriptions/" SUB);
	assert_true(jit_rid_equal(&a, &b));
	assert_formats_as(&a, "/subscriptions/" SUB);
	jit_rid_resource_group(&a, SUB, "rg1");
	assert_formats_as(&a, RG_ID);
	jit_rid_vm(&a, SUB, "rg1", "vm1");
	assert_formats_as(&a, VM_ID);
	b = parse_ok(VM_ID);
	assert_true(jit_rid_equal(&a, &b));
	jit_rid_policy(&a, SUB, "rg1", "westeurope", "default");
	assert_formats_as(&a, POLICY_ID);
	assert_string_equal(a.location, "westeurope");
	jit_rid_enforcement_point(&a, SUB, "rg1", "gw1");
	assert_formats_as(&a, EP_ID);
	b = parse_ok(EP_ID);
	assert_true(jit_rid_equal(&a, &b));

	/* Unchecked input cannot overrun a field: it is cut at JIT_NAME_MAX. */
	memset(long_name, 'q', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	jit_rid_policy(&a, long_name, long_name, long_name, long_name);
	assert_int_equal(strlen(a.sub), JIT_NAME_MAX);
	assert_int_equal(strlen(a.rg), JIT_NAME_MAX);
	assert_int_equal(strlen(a.location), JIT_NAME_MAX);
	assert_int_equal(strlen(a.name), JIT_NAME_MAX);
	jit_rid_vm(&a, NULL, NULL, NULL);
	assert_int_equal(a.kind, JIT_RID_VM);
	assert_string_equal(a.sub, "");
	assert_string_equal(a.location, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_root),
		cmocka_unit_test(test_parse_subscription),
		cmocka_unit_test(test_parse_resource_group),
		cmocka_unit_test(test_parse_vm),
		cmocka_unit_test(test_parse_policy),
		cmocka_unit_test(test_parse_enforcement_point),
		cmocka_unit_test(test_names_use_whole_charset),
		cmocka_unit_test(test_fixed_segments_any_case),
		cmocka_unit_test(test_reject_empty),
		cmocka_unit_test(test_reject_no_leading_slash),
		cmocka_unit_test(test_reject_empty_segments),
		cmocka_unit_test(test_reject_trailing_slash),
		cmocka_unit_test(test_reject_dot_segments),
		cmocka_unit_test(test_reject_bad_bytes_name_the_segment),
		cmocka_unit_test(test_reject_trailing_dot),
		cmocka_unit_test(test_reject_long_names),
		cmocka_unit_test(test_reject_long_id),
		cmocka_unit_test(test_reject_unknown_providers_and_types),
		cmocka_unit_test(test_reject_wrong_fixed_segments),
		cmocka_unit_test(test_reject_missing_names),
		cmocka_unit_test(test_reject_extra_segments),
		cmocka_unit_test(test_messages_quote_safely),
		cmocka_unit_test(test_failed_parse_leaves_out_alone),
		cmocka_unit_test(test_parse_kind),
		cmocka_unit_test(test_check_name),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_format_edge_cases),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_in_scope_matrix),
		cmocka_unit_test(test_in_scope_odd_inputs),
		cmocka_unit_test(test_builders),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
