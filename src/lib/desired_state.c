/*
 * desired_state.c: the JSON codec of the desired state (desired_state.h), the one
 * document the control plane sends an agent.
 *
 * The agent runs with CAP_NET_ADMIN and turns this document into firewall rules,
 * so decoding is the boundary where it stops trusting bytes from the network: it
 * walks the tree once, checks every type, range and limit, and fills typed structs.
 * Past here the enforcer sees prefixes, ports and instants, never a string.
 *
 * Stricter than the ARM-facing codecs (model_json.c), on purpose:
 * - Unknown members are refused, not ignored. Server and agent ship together; a
 *   member this agent does not understand may narrow access (a future source-port
 *   match, say) and enforcing less than was meant is the wrong way to fail. The
 *   agent keeps its last applied state and reports the error instead.
 * - null is not "absent": it is a value of the wrong type.
 * - destinations are host addresses (no "/len", no "*"), unique within a rule;
 *   a gateway rule needs at least one, since a gateway matches on them.
 * - secondsRemaining is 0..the longest access a policy may grant (limits.h).
 * Optional members: closeEstablished (default false) and mappedPort. Encoding
 * always writes closeEstablished and writes mappedPort only when present, so
 * decode(encode(x)) == x and encode(decode(d)) is d in canonical form.
 */
#include "desired_state.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jit_limits.h"
#include "json_decode.h"

/* Values quoted back in messages show at most 44 characters (see jit_quote). */
#define QUOTE_BUFSZ JIT_QUOTE_BUFSZ(44)

/* No grant lasts longer than a policy may allow (maxRequestAccessDuration). */
#define MAX_SECONDS_REMAINING (JIT_MAX_ACCESS_DURATION_NS / JIT_NS_PER_SEC)

static int
nomem(struct jit_error *err)
{
	return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
}

/*
 * Members
 */

/* Refuses members of obj not named in known (NULL-terminated). */
static int
check_members(const json_t *obj, const char *path, const char *const known[],
	struct jit_error *err)
{
	char q[QUOTE_BUFSZ];
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)obj, key, v) {
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (known[i] == NULL)
			return jit_json_invalid(err, path, "unknown member \"%s\"",
				jit_quote(q, sizeof(q), key, strlen(key)));
	}
	return 0;
}

/* An optional boolean member; *out keeps its value when the member is absent. */
static int
get_bool(const json_t *obj, const char *path, const char *key, bool *out,
	struct jit_error *err)
{
	char sub[JIT_JSON_PATH_BUFSZ];
	const json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return 0;
	return jit_json_bool(v, jit_json_path_key(sub, path, key), out, err);
}

/* A required string member without NUL characters, 1..max bytes long. */
static int
get_string(const json_t *obj, const char *path, const char *key, size_t max, const char **out,
	struct jit_error *err)
{
	char sub[JIT_JSON_PATH_BUFSZ];

	return jit_json_string(json_object_get(obj, key), jit_json_path_key(sub, path, key), true,
		max, out, err);
}

/* A required integer member in lo..hi. */
static int
get_int(const json_t *obj, const char *path, const char *key, json_int_t lo, json_int_t hi,
	json_int_t *out, struct jit_error *err)
{
	char sub[JIT_JSON_PATH_BUFSZ];

	jit_json_path_key(sub, path, key);
	if (jit_json_integer(json_object_get(obj, key), sub, out, err) != 0)
		return -1;
	if (*out < lo || *out > hi)
		return jit_json_invalid(err, sub, "%lld is out of range %lld..%lld",
			(long long)*out, (long long)lo, (long long)hi);
	return 0;
}

static int
get_time(const json_t *obj, const char *path, const char *key, jit_time *out,
	struct jit_error *err)
{
	char sub[JIT_JSON_PATH_BUFSZ];
	const char *s;

	if (get_string(obj, path, key, JIT_MAX_SHORT_STRING, &s, err) != 0)
		return -1;
	if (jit_time_parse(s, out, err) != 0)
		return jit_json_at(err, jit_json_path_key(sub, path, key));
	return 0;
}

/* A required array member with at most max elements (what names them). */
static int
get_array(const json_t *obj, const char *path, const char *key, size_t max, const char *what,
	const json_t **out, struct jit_error *err)
{
	char sub[JIT_JSON_PATH_BUFSZ];

	return jit_json_array(json_object_get(obj, key), jit_json_path_key(sub, path, key), false,
		max, what, out, err);
}

/*
 * Decoding
 */

const char *
jit_ep_kind_name(enum jit_ep_kind k)
{
	switch (k) {
	case JIT_EP_HOST:
		return "host";
	case JIT_EP_GATEWAY:
		return "gateway";
	}
	return "?";
}

int
jit_ep_kind_parse(const char *s, enum jit_ep_kind *out, struct jit_error *err)
{
	if (s != NULL && strcmp(s, "host") == 0)
		*out = JIT_EP_HOST;
	else if (s != NULL && strcmp(s, "gateway") == 0)
		*out = JIT_EP_GATEWAY;
	else
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"must be \"host\" or \"gateway\"");
	return 0;
}

static int
decode_grant(const json_t *j, const char *path, struct jit_grant *g, struct jit_error *err)
{
	static const char *const known[] = { "source", "endTimeUtc", "secondsRemaining",
		"mappedPort", NULL };
	char sub[JIT_JSON_PATH_BUFSZ];
	const json_t *v;
	const char *s;
	json_int_t n;

	if (jit_json_object(j, path, err) != 0 || check_members(j, path, known, err) != 0)
		return -1;
	if (get_string(j, path, "source", JIT_PREFIX_BUFSZ, &s, err) != 0)
		return -1;
	if (jit_prefix_parse(s, &g->source, err) != 0)
		return jit_json_at(err, jit_json_path_key(sub, path, "source"));
	if (get_time(j, path, "endTimeUtc", &g->end_time, err) != 0)
		return -1;
	if (get_int(j, path, "secondsRemaining", 0, MAX_SECONDS_REMAINING, &n, err) != 0)
		return -1;
	g->seconds_remaining = n;
	if ((v = json_object_get(j, "mappedPort")) != NULL) {
		jit_json_path_key(sub, path, "mappedPort");
		if (jit_json_integer(v, sub, &n, err) != 0)
			return -1;
		if (jit_port_check(n, &g->mapped_port, err) != 0)
			return jit_json_at(err, sub);
		g->has_mapped_port = true;
	}
	return 0;
}

/* A destination is one address of the VM: a host prefix of either family. */
static int
decode_destinations(const json_t *a, const char *path, struct jit_rule *r,
	struct jit_error *err)
{
	char sub[JIT_JSON_PATH_BUFSZ];
	struct jit_prefix *p;
	const json_t *v;
	const char *s;
	size_t i, k;

	json_array_foreach(a, i, v) {
		jit_json_path_index(sub, path, "destinations", i);
		if (jit_json_string(v, sub, false, SIZE_MAX, &s, err) != 0)
			return -1;
		p = &r->destinations[i];
		if (jit_prefix_parse(s, p, err) != 0)
			return jit_json_at(err, sub);
		if (p->family == JIT_FAMILY_ANY ||
			p->len != (p->family == JIT_FAMILY_INET ? 32 : 128))
			return jit_json_invalid(err, sub,
				"must be one IPv4 or IPv6 address, not a prefix");
		for (k = 0; k < i; k++)
			if (jit_prefix_equal(&r->destinations[k], p))
				return jit_json_invalid(err, sub, "repeats destinations[%zu]", k);
		r->n_destinations = i + 1;
	}
	return 0;
}

static int
decode_rule(const json_t *j, const char *path, enum jit_ep_kind kind, struct jit_rule *r,
	struct jit_error *err)
{
	static const char *const known[] = { "vm", "destinations", "number", "protocol",
		"closeEstablished", "grants", NULL };
	char sub[JIT_JSON_PATH_BUFSZ];
	const json_t *a, *v;
	const char *s;
	json_int_t n;
	size_t i;

	if (jit_json_object(j, path, err) != 0 || check_members(j, path, known, err) != 0)
		return -1;
	if (get_string(j, path, "vm", JIT_RESOURCE_ID_MAX, &s, err) != 0)
		return -1;
	if (jit_rid_parse_kind(s, JIT_RID_VM, &r->vm, err) != 0)
		return jit_json_at(err, jit_json_path_key(sub, path, "vm"));

	if (get_array(j, path, "destinations", JIT_MAX_VM_ADDRESSES, "addresses", &a, err) != 0)
		return -1;
	if (decode_destinations(a, path, r, err) != 0)
		return -1;
	if (kind == JIT_EP_GATEWAY && r->n_destinations == 0)
		return jit_json_invalid(err, jit_json_path_key(sub, path, "destinations"),
			"must list at least one address: a gateway matches on them");

	if (get_int(j, path, "number", 0, 65535, &n, err) != 0)
		return -1;
	if (jit_port_check(n, &r->number, err) != 0)
		return jit_json_at(err, jit_json_path_key(sub, path, "number"));
	if (get_string(j, path, "protocol", JIT_MAX_SHORT_STRING, &s, err) != 0)
		return -1;
	if (jit_proto_parse(s, &r->protocol, err) != 0)
		return jit_json_at(err, jit_json_path_key(sub, path, "protocol"));
	if (get_bool(j, path, "closeEstablished", &r->close_established, err) != 0)
		return -1;

	if (get_array(j, path, "grants", JIT_MAX_GRANTS_PER_RULE, "grants", &a, err) != 0)
		return -1;
	if ((r->grants = calloc(json_array_size(a) + 1, sizeof(*r->grants))) == NULL)
		return nomem(err);
	json_array_foreach(a, i, v) {
		if (decode_grant(v, jit_json_path_index(sub, path, "grants", i), &r->grants[i],
			err) != 0)
			return -1;
		r->n_grants = i + 1;
	}
	return 0;
}

/* The enforcement point ID names the agent in logs: printable ASCII, no spaces. */
static int
check_ep_id(const char *s, struct jit_error *err)
{
	for (; *s != '\0'; s++)
		if (*s <= 0x20 || *s >= 0x7f)
			return jit_json_invalid(err, "enforcementPoint",
				"must be printable ASCII without spaces");
	return 0;
}

int
jit_desired_state_from_json(const json_t *j, struct jit_desired_state **out,
	struct jit_error *err)
{
	static const char *const known[] = { "version", "enforcementPoint", "kind",
		"generatedAtUtc", "rules", NULL };
	struct jit_desired_state *ds = NULL;
	char sub[JIT_JSON_PATH_BUFSZ];
	const json_t *a, *v;
	const char *s;
	json_int_t n;
	size_t i;
	int r = -1;

	*out = NULL;
	if (jit_json_object(j, "", err) != 0 || check_members(j, "", known, err) != 0)
		return -1;
	if ((ds = calloc(1, sizeof(*ds))) == NULL)
		return nomem(err);

	if (get_int(j, "", "version", 0, INT64_MAX, &n, err) != 0)
		goto out;
	ds->version = (uint64_t)n;
	if (get_string(j, "", "enforcementPoint", sizeof(ds->enforcement_point) - 1, &s,
		err) != 0 || check_ep_id(s, err) != 0)
		goto out;
	memcpy(ds->enforcement_point, s, strlen(s) + 1);
	if (get_string(j, "", "kind", JIT_MAX_SHORT_STRING, &s, err) != 0)
		goto out;
	if (jit_ep_kind_parse(s, &ds->kind, err) != 0) {
		jit_json_at(err, "kind");
		goto out;
	}
	if (get_time(j, "", "generatedAtUtc", &ds->generated_at, err) != 0)
		goto out;

	if (get_array(j, "", "rules", JIT_MAX_RULES, "rules", &a, err) != 0)
		goto out;
	if ((ds->rules = calloc(json_array_size(a) + 1, sizeof(*ds->rules))) == NULL) {
		nomem(err);
		goto out;
	}
	json_array_foreach(a, i, v) {
		/* Counted first, so a half-decoded rule's grants are freed too. */
		ds->n_rules = i + 1;
		if (decode_rule(v, jit_json_path_index(sub, "", "rules", i), ds->kind,
			&ds->rules[i], err) != 0)
			goto out;
	}
	*out = ds;
	ds = NULL;
	r = 0;
out:
	jit_desired_state_free(ds);
	return r;
}

void
jit_desired_state_free(struct jit_desired_state *ds)
{
	if (ds == NULL)
		return;
	for (size_t i = 0; i < ds->n_rules; i++)
		free(ds->rules[i].grants);
	free(ds->rules);
	free(ds);
}

/*
 * Encoding
 */

/* Sets obj.key = v, taking v; false when v is NULL (out of memory) or setting fails. */
static bool
put(json_t *obj, const char *key, json_t *v)
{
	return v != NULL && json_object_set_new(obj, key, v) == 0;
}

static bool
append(json_t *arr, json_t *v)
{
	return v != NULL && json_array_append_new(arr, v) == 0;
}

static json_t *
time_json(jit_time t)
{
	char buf[JIT_TIME_BUFSZ];

	jit_time_format(t, buf);
	return json_string(buf);
}

static json_t *
prefix_json(const struct jit_prefix *p)
{
	char buf[JIT_PREFIX_BUFSZ];

	jit_prefix_format(p, buf);
	return json_string(buf);
}

static json_t *
grant_to_json(const struct jit_grant *g)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	if (!put(o, "source", prefix_json(&g->source)) ||
		!put(o, "endTimeUtc", time_json(g->end_time)) ||
		!put(o, "secondsRemaining", json_integer(g->seconds_remaining)) ||
		(g->has_mapped_port && !put(o, "mappedPort", json_integer(g->mapped_port)))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
rule_to_json(const struct jit_rule *r)
{
	char vm[JIT_RESOURCE_ID_MAX];
	json_t *o = json_object();
	json_t *dests = json_array();
	json_t *grants = json_array();
	size_t i;

	if (o == NULL || dests == NULL || grants == NULL ||
		jit_rid_format(&r->vm, vm, sizeof(vm)) < 0)
		goto fail;
	for (i = 0; i < r->n_destinations; i++)
		if (!append(dests, prefix_json(&r->destinations[i])))
			goto fail;
	for (i = 0; i < r->n_grants; i++)
		if (!append(grants, grant_to_json(&r->grants[i])))
			goto fail;
	if (!put(o, "vm", json_string(vm)))
		goto fail;
	if (!put(o, "destinations", dests)) {
		dests = NULL;
		goto fail;
	}
	dests = NULL;
	if (!put(o, "number", json_integer(r->number)) ||
		!put(o, "protocol", json_string(jit_proto_name(r->protocol))) ||
		!put(o, "closeEstablished", json_boolean(r->close_established)))
		goto fail;
	if (!put(o, "grants", grants)) {
		grants = NULL;
		goto fail;
	}
	return o;
fail:
	json_decref(dests);
	json_decref(grants);
	json_decref(o);
	return NULL;
}

json_t *
jit_desired_state_to_json(const struct jit_desired_state *ds)
{
	json_t *o = json_object();
	json_t *rules = json_array();
	size_t i;

	if (o == NULL || rules == NULL)
		goto fail;
	for (i = 0; i < ds->n_rules; i++)
		if (!append(rules, rule_to_json(&ds->rules[i])))
			goto fail;
	if (!put(o, "version", json_integer((json_int_t)ds->version)) ||
		!put(o, "enforcementPoint", json_string(ds->enforcement_point)) ||
		!put(o, "kind", json_string(jit_ep_kind_name(ds->kind))) ||
		!put(o, "generatedAtUtc", time_json(ds->generated_at)))
		goto fail;
	if (!put(o, "rules", rules)) {
		rules = NULL;
		goto fail;
	}
	return o;
fail:
	json_decref(rules);
	json_decref(o);
	return NULL;
}
