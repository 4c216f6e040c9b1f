/*
 * test_desired_state.c: the desired-state codec (what an agent accepts from the control
 * plane): field values, canonical round trips, limits, and the JSON path in every error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "desired_state.h"

#define VM1 "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1"
#define VM2 "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm2"

/* Canonical form: what the encoder writes, so it must survive decode + encode unchanged. */
static const char host_doc[] =
	"{\"version\": 7, \"enforcementPoint\": \"ep-host-1\", \"kind\": \"host\","
	" \"generatedAtUtc\": \"2026-11-25T21:00:00.0000000Z\","
	" \"rules\": ["
	"  {\"vm\": \"" VM1 "\", \"destinations\": [\"10.0.0.4\", \"2001:db8::4\"],"
	"   \"number\": 22, \"protocol\": \"TCP\", \"closeEstablished\": false,"
	"   \"grants\": ["
	"    {\"source\": \"10.1.0.5\", \"endTimeUtc\": \"2026-11-25T22:00:00.0000000Z\","
	"     \"secondsRemaining\": 3600},"
	"    {\"source\": \"10.2.0.0/24\", \"endTimeUtc\": \"2026-11-25T21:05:00.5000000Z\","
	"     \"secondsRemaining\": 300},"
	"    {\"source\": \"*\", \"endTimeUtc\": \"2026-11-25T21:00:10.0000000Z\","
	"     \"secondsRemaining\": 10},"
	"    {\"source\": \"2001:db8:1::/48\", \"endTimeUtc\": \"2026-11-25T21:00:10.0000000Z\","
	"     \"secondsRemaining\": 0}]},"
	"  {\"vm\": \"" VM1 "\", \"destinations\": [],"
	"   \"number\": 53, \"protocol\": \"*\", \"closeEstablished\": true, \"grants\": []}"
	" ]}";

static const char gateway_doc[] =
	"{\"version\": 1, \"enforcementPoint\": \"gw\", \"kind\": \"gateway\","
	" \"generatedAtUtc\": \"2026-11-25T21:00:00.0000000Z\","
	" \"rules\": ["
	"  {\"vm\": \"" VM2 "\", \"destinations\": [\"192.168.1.10\"],"
	"   \"number\": 3389, \"protocol\": \"UDP\", \"closeEstablished\": false,"
	"   \"grants\": ["
	"    {\"source\": \"10.1.0.5\", \"endTimeUtc\": \"2026-11-25T22:00:00.0000000Z\","
	"     \"secondsRemaining\": 3600, \"mappedPort\": 50022}]}"
	" ]}";

static json_t *
load(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &je);

	if (j == NULL)
		fail_msg("test JSON does not parse: %s (line %d)", je.text, je.line);
	return j;
}

/* Decodes text, expecting failure with exactly this message. */
static void
expect_error(const char *text, const char *message)
{
	struct jit_desired_state *ds = (struct jit_desired_state *)1;
	struct jit_error e;
	json_t *j = load(text);

	jit_error_clear(&e);
	assert_int_equal(jit_desired_state_from_json(j, &ds, &e), -1);
	assert_null(ds);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, JIT_E_INVALID_CONTENT);
	assert_string_equal(e.message, message);
	json_decref(j);
}

/* Decodes the host document with one JSON path replaced by value (JSON text), or
 * removed when value is NULL, and expects message. */
static void
expect_error_after(const char *doc, const char *rule_key, size_t rule, const char *grant_key,
	size_t grant, const char *key, const char *value, const char *message)
{
	struct jit_desired_state *ds = NULL;
	struct jit_error e;
	json_t *j = load(doc);
	json_t *obj = j;
	json_t *v = NULL;

	if (rule_key != NULL)
		obj = json_array_get(json_object_get(obj, rule_key), rule);
	if (grant_key != NULL)
		obj = json_array_get(json_object_get(obj, grant_key), grant);
	assert_non_null(obj);
	if (value == NULL) {
		assert_int_equal(json_object_del(obj, key), 0);
	} else {
		v = json_loads(value, JSON_DECODE_ANY, NULL);
		assert_non_null(v);
		assert_int_equal(json_object_set_new(obj, key, v), 0);
	}
	jit_error_clear(&e);
	assert_int_equal(jit_desired_state_from_json(j, &ds, &e), -1);
	assert_null(ds);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.message, message);
	json_decref(j);
}

static void
test_host_fields(void **state)
{
	struct jit_desired_state *ds = NULL;
	struct jit_error e;
	char buf[JIT_PREFIX_BUFSZ];
	json_t *j = load(host_doc);

	(void)state;
	assert_int_equal(jit_desired_state_from_json(j, &ds, &e), 0);
	assert_non_null(ds);
	assert_int_equal(ds->version, 7);
	assert_string_equal(ds->enforcement_point, "ep-host-1");
	assert_int_equal(ds->kind, JIT_EP_HOST);
	assert_int_equal(ds->n_rules, 2);

	assert_int_equal(ds->rules[0].vm.kind, JIT_RID_VM);
	assert_string_equal(ds->rules[0].vm.name, "vm1");
	assert_int_equal(ds->rules[0].n_destinations, 2);
	assert_int_equal(ds->rules[0].destinations[1].family, JIT_FAMILY_INET6);
	assert_int_equal(ds->rules[0].number, 22);
	assert_int_equal(ds->rules[0].protocol, JIT_PROTO_TCP);
	assert_false(ds->rules[0].close_established);
	assert_int_equal(ds->rules[0].n_grants, 4);

	jit_prefix_format(&ds->rules[0].grants[1].source, buf);
	assert_string_equal(buf, "10.2.0.0/24");
	assert_int_equal(ds->rules[0].grants[1].seconds_remaining, 300);
	/* 21:05:00.5 is 300.5 s after generatedAtUtc */
	assert_int_equal(ds->rules[0].grants[1].end_time - ds->generated_at,
		300 * JIT_NS_PER_SEC + JIT_NS_PER_SEC / 2);
	assert_false(ds->rules[0].grants[0].has_mapped_port);
	assert_int_equal(ds->rules[0].grants[2].source.family, JIT_FAMILY_ANY);
	assert_int_equal(ds->rules[0].grants[3].seconds_remaining, 0);

	assert_int_equal(ds->rules[1].protocol, JIT_PROTO_ANY);
	assert_true(ds->rules[1].close_established);
	assert_int_equal(ds->rules[1].n_destinations, 0);
	assert_int_equal(ds->rules[1].n_grants, 0);

	jit_desired_state_free(ds);
	json_decref(j);
}

static void
test_gateway_fields(void **state)
{
	struct jit_desired_state *ds = NULL;
	struct jit_error e;
	json_t *j = load(gateway_doc);

	(void)state;
	assert_int_equal(jit_desired_state_from_json(j, &ds, &e), 0);
	assert_int_equal(ds->kind, JIT_EP_GATEWAY);
	assert_int_equal(ds->rules[0].protocol, JIT_PROTO_UDP);
	assert_int_equal(ds->rules[0].n_destinations, 1);
	assert_true(ds->rules[0].grants[0].has_mapped_port);
	assert_int_equal(ds->rules[0].grants[0].mapped_port, 50022);
	jit_desired_state_free(ds);
	json_decref(j);
}

static void
round_trip(const char *doc)
{
	struct jit_desired_state *ds = NULL, *ds2 = NULL;
	struct jit_error e;
	json_t *j = load(doc);
	json_t *out, *out2;

	assert_int_equal(jit_desired_state_from_json(j, &ds, &e), 0);
	out = jit_desired_state_to_json(ds);
	assert_non_null(out);
	if (!json_equal(j, out)) {
		char *s = json_dumps(out, JSON_SORT_KEYS);

		fail_msg("encoding differs from the canonical input: %s", s);
	}
	assert_int_equal(jit_desired_state_from_json(out, &ds2, &e), 0);
	out2 = jit_desired_state_to_json(ds2);
	assert_true(json_equal(out, out2));
	json_decref(out2);
	json_decref(out);
	json_decref(j);
	jit_desired_state_free(ds2);
	jit_desired_state_free(ds);
}

static void
test_round_trip_is_identity(void **state)
{
	(void)state;
	round_trip(host_doc);
	round_trip(gateway_doc);
	round_trip("{\"version\": 0, \"enforcementPoint\": \"e\", \"kind\": \"host\","
		   " \"generatedAtUtc\": \"1970-01-01T00:00:00.0000000Z\", \"rules\": []}");
}

static void
test_noncanonical_input_is_normalised(void **state)
{
	struct jit_desired_state *ds = NULL;
	struct jit_error e;
	json_t *j = load(
		"{\"version\": 2, \"enforcementPoint\": \"e\", \"kind\": \"host\","
		" \"generatedAtUtc\": \"2026-11-25T22:00:00+01:00\", \"rules\": ["
		" {\"vm\": \"" VM1 "\", \"destinations\": [\"::ffff:10.0.0.4\"], \"number\": 22,"
		"  \"protocol\": \"tcp\", \"grants\": [{\"source\": \"10.1.2.3/24\","
		"  \"endTimeUtc\": \"2026-11-25T21:00:01Z\", \"secondsRemaining\": 1}]}]}");
	json_t *out;
	json_t *rule;

	(void)state;
	assert_int_equal(jit_desired_state_from_json(j, &ds, &e), 0);
	out = jit_desired_state_to_json(ds);
	rule = json_array_get(json_object_get(out, "rules"), 0);
	assert_string_equal(json_string_value(json_object_get(out, "generatedAtUtc")),
		"2026-11-25T21:00:00.0000000Z");
	assert_string_equal(json_string_value(json_array_get(json_object_get(rule,
		"destinations"), 0)), "10.0.0.4");
	assert_string_equal(json_string_value(json_object_get(rule, "protocol")), "TCP");
	assert_true(json_is_false(json_object_get(rule, "closeEstablished")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
		json_object_get(rule, "grants"), 0), "source")), "10.1.2.0/24");
	json_decref(out);
	json_decref(j);
	jit_desired_state_free(ds);
}

static void
test_top_level_errors(void **state)
{
	(void)state;
	expect_error("[]", "must be an object, not an array");
	expect_error_after(host_doc, NULL, 0, NULL, 0, "version", NULL, "version: is required");
	expect_error_after(host_doc, NULL, 0, NULL, 0, "version", "-1",
		"version: -1 is out of range 0..9223372036854775807");
	expect_error_after(host_doc, NULL, 0, NULL, 0, "version", "7.0",
		"version: must be an integer, not a real number");
	expect_error_after(host_doc, NULL, 0, NULL, 0, "version", "null",
		"version: must be an integer, not null");
	expect_error_after(host_doc, NULL, 0, NULL, 0, "kind", "\"Host\"",
		"kind: must be \"host\" or \"gateway\"");
	expect_error_after(host_doc, NULL, 0, NULL, 0, "enforcementPoint", "\"a b\"",
		"enforcementPoint: must be printable ASCII without spaces");
	expect_error_after(host_doc, NULL, 0, NULL, 0, "enforcementPoint", "\"\"",
		"enforcementPoint: must not be empty");
	expect_error_after(host_doc, NULL, 0, NULL, 0, "rules", "{}",
		"rules: must be an array, not an object");
	expect_error_after(host_doc, NULL, 0, NULL, 0, "extra", "1",
		"unknown member \"extra\"");
	/* A member name is quoted back escaped (jit_quote): quotes, non-ASCII, length. */
	expect_error_after(host_doc, NULL, 0, NULL, 0, "a\"b\xc3\xa9\x1b", "1",
		"unknown member \"a\\\"b\\xc3\\xa9\\x1b\"");
	expect_error_after(host_doc, NULL, 0, NULL, 0,
		"0123456789012345678901234567890123456789abcdefgh", "1",
		"unknown member \"0123456789012345678901234567890123456789abcd...\"");
}

static void
test_rule_errors(void **state)
{
	(void)state;
	expect_error_after(host_doc, "rules", 1, NULL, 0, "number", "0",
		"rules[1].number: port number 0 is out of range 1..65535");
	expect_error_after(host_doc, "rules", 1, NULL, 0, "number", "65536",
		"rules[1].number: 65536 is out of range 0..65535");
	expect_error_after(host_doc, "rules", 1, NULL, 0, "number", "\"22\"",
		"rules[1].number: must be an integer, not a string");
	expect_error_after(host_doc, "rules", 1, NULL, 0, "closeEstablished", "1",
		"rules[1].closeEstablished: must be a boolean, not an integer");
	expect_error_after(host_doc, "rules", 1, NULL, 0, "grants", NULL,
		"rules[1].grants: is required");
	expect_error_after(host_doc, "rules", 1, NULL, 0, "destinations", NULL,
		"rules[1].destinations: is required");
	expect_error_after(host_doc, "rules", 1, NULL, 0, "destinations", "[\"10.0.0.0/24\"]",
		"rules[1].destinations[0]: must be one IPv4 or IPv6 address, not a prefix");
	expect_error_after(host_doc, "rules", 1, NULL, 0, "destinations", "[\"*\"]",
		"rules[1].destinations[0]: must be one IPv4 or IPv6 address, not a prefix");
	expect_error_after(host_doc, "rules", 1, NULL, 0, "destinations",
		"[\"10.0.0.4\", \"::ffff:10.0.0.4\"]",
		"rules[1].destinations[1]: repeats destinations[0]");
	expect_error_after(host_doc, "rules", 1, NULL, 0, "destinations", "[4]",
		"rules[1].destinations[0]: must be a string, not an integer");
	expect_error_after(host_doc, "rules", 1, NULL, 0, "destinations",
		"[\"10.0.0.1\",\"10.0.0.2\",\"10.0.0.3\",\"10.0.0.4\",\"10.0.0.5\",\"10.0.0.6\","
		"\"10.0.0.7\",\"10.0.0.8\",\"10.0.0.9\",\"10.0.0.10\",\"10.0.0.11\",\"10.0.0.12\","
		"\"10.0.0.13\",\"10.0.0.14\",\"10.0.0.15\",\"10.0.0.16\",\"10.0.0.17\"]",
		"rules[1].destinations: must list at most 16 addresses");
	expect_error_after(gateway_doc, "rules", 0, NULL, 0, "destinations", "[]",
		"rules[0].destinations: must list at least one address: a gateway matches on them");
	expect_error_after(host_doc, "rules", 1, NULL, 0, "Number", "22",
		"rules[1]: unknown member \"Number\"");
}

static void
test_grant_errors(void **state)
{
	(void)state;
	expect_error_after(host_doc, "rules", 0, "grants", 3, "secondsRemaining", "-1",
		"rules[0].grants[3].secondsRemaining: -1 is out of range 0..86400");
	expect_error_after(host_doc, "rules", 0, "grants", 3, "secondsRemaining", "86401",
		"rules[0].grants[3].secondsRemaining: 86401 is out of range 0..86400");
	expect_error_after(host_doc, "rules", 0, "grants", 0, "endTimeUtc", NULL,
		"rules[0].grants[0].endTimeUtc: is required");
	expect_error_after(host_doc, "rules", 0, "grants", 1, "mappedPort", "70000",
		"rules[0].grants[1].mappedPort: port number 70000 is out of range 1..65535");
	expect_error_after(host_doc, "rules", 0, "grants", 1, "mappedPort", "null",
		"rules[0].grants[1].mappedPort: must be an integer, not null");
	expect_error_after(host_doc, "rules", 0, "grants", 1, "when", "1",
		"rules[0].grants[1]: unknown member \"when\"");
}

/* Messages from other modules keep their own wording; the path in front is ours. */
static void
expect_prefix(const char *doc, const char *rule_key, size_t rule, const char *grant_key,
	size_t grant, const char *key, const char *value, const char *path)
{
	struct jit_desired_state *ds = NULL;
	struct jit_error e;
	json_t *j = load(doc);
	json_t *obj = json_array_get(json_object_get(j, rule_key), rule);

	if (grant_key != NULL)
		obj = json_array_get(json_object_get(obj, grant_key), grant);
	json_object_set_new(obj, key, json_loads(value, JSON_DECODE_ANY, NULL));
	assert_int_equal(jit_desired_state_from_json(j, &ds, &e), -1);
	if (strncmp(e.message, path, strlen(path)) != 0 || strlen(e.message) <= strlen(path))
		fail_msg("message \"%s\" does not start with \"%s\"", e.message, path);
	json_decref(j);
}

static void
test_paths_of_other_modules_errors(void **state)
{
	(void)state;
	expect_prefix(host_doc, "rules", 0, "grants", 2, "source", "\"10.1.0.300\"",
		"rules[0].grants[2].source: ");
	expect_prefix(host_doc, "rules", 0, "grants", 0, "endTimeUtc", "\"yesterday\"",
		"rules[0].grants[0].endTimeUtc: ");
	expect_prefix(host_doc, "rules", 1, NULL, 0, "vm", "\"/subscriptions/s1\"",
		"rules[1].vm: ");
	expect_prefix(host_doc, "rules", 1, NULL, 0, "protocol", "\"ICMP\"",
		"rules[1].protocol: ");
	expect_prefix(host_doc, "rules", 1, NULL, 0, "destinations", "[\"10.0.0.256\"]",
		"rules[1].destinations[0]: ");
}

static void
test_deep_index_in_path(void **state)
{
	struct jit_desired_state *ds = NULL;
	struct jit_error e;
	json_t *j = load(host_doc);
	json_t *rules = json_object_get(j, "rules");
	json_t *grant;

	(void)state;
	/* rules[2] is a copy of rules[0] whose grants[1].source is broken */
	json_array_append_new(rules, json_deep_copy(json_array_get(rules, 0)));
	grant = json_array_get(json_object_get(json_array_get(rules, 2), "grants"), 1);
	json_object_set_new(grant, "source", json_string("10.0.0.0/33"));
	assert_int_equal(jit_desired_state_from_json(j, &ds, &e), -1);
	assert_null(ds);
	assert_non_null(strstr(e.message, "rules[2].grants[1].source: "));
	assert_ptr_equal(strstr(e.message, "rules[2]"), e.message);
	json_decref(j);
}

static void
test_grant_limit(void **state)
{
	struct jit_desired_state *ds = NULL;
	struct jit_error e;
	json_t *j = load(host_doc);
	json_t *grants = json_array();
	char want[128];

	(void)state;
	/* The count is refused before any element is read, so integers will do. */
	for (size_t i = 0; i <= JIT_MAX_GRANTS_PER_RULE; i++)
		json_array_append_new(grants, json_integer(0));
	json_object_set_new(json_array_get(json_object_get(j, "rules"), 1), "grants", grants);
	assert_int_equal(jit_desired_state_from_json(j, &ds, &e), -1);
	snprintf(want, sizeof(want), "rules[1].grants: must list at most %d grants",
		JIT_MAX_GRANTS_PER_RULE);
	assert_string_equal(e.message, want);
	json_decref(j);
}

static void
test_kind_names(void **state)
{
	enum jit_ep_kind k;
	struct jit_error e;

	(void)state;
	assert_string_equal(jit_ep_kind_name(JIT_EP_HOST), "host");
	assert_string_equal(jit_ep_kind_name(JIT_EP_GATEWAY), "gateway");
	assert_int_equal(jit_ep_kind_parse("gateway", &k, &e), 0);
	assert_int_equal(k, JIT_EP_GATEWAY);
	assert_int_equal(jit_ep_kind_parse(NULL, &k, &e), -1);
	assert_int_equal(jit_ep_kind_parse("", &k, &e), -1);
	jit_desired_state_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_fields),
		cmocka_unit_test(test_gateway_fields),
		cmocka_unit_test(test_round_trip_is_identity),
		cmocka_unit_test(test_noncanonical_input_is_normalised),
		cmocka_unit_test(test_top_level_errors),
		cmocka_unit_test(test_rule_errors),
		cmocka_unit_test(test_grant_errors),
		cmocka_unit_test(test_paths_of_other_modules_errors),
		cmocka_unit_test(test_deep_index_in_path),
		cmocka_unit_test(test_grant_limit),
		cmocka_unit_test(test_kind_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
