/*
 * enforcer_nft.c: the nftables enforcer (enforcer.h), through libnftables' JSON input.
 *
 * A host's table (a gateway's is the same on the forward hook, with every key led
 * by the destination address and the sets split by family: locked4/6, closing4/6,
 * and grants keyed by source . destination . protocol . port):
 *
 *   table inet jitgate {
 *     set locked  { type inet_proto . inet_service }     every locked port
 *     set closing { type inet_proto . inet_service }     those with closeEstablished
 *     set grants4 { type ipv4_addr . inet_proto . inet_service; flags timeout }
 *     set grants6 { type ipv6_addr . inet_proto . inet_service; flags timeout }
 *     set nets4   { type ipv4_addr . inet_proto . inet_service; flags interval,timeout }
 *     set nets6   { type ipv6_addr . inet_proto . inet_service; flags interval,timeout }
 *     chain input {
 *       type filter hook input priority filter - 1; policy accept;
 *       iif "lo" accept
 *       meta l4proto . th dport != @locked accept
 *       ct direction reply accept
 *       ip saddr . meta l4proto . th dport @grants4 accept
 *       ip6 saddr . meta l4proto . th dport @grants6 accept
 *       ip saddr . meta l4proto . th dport @nets4 accept
 *       ip6 saddr . meta l4proto . th dport @nets6 accept
 *       meta l4proto . th dport @closing drop
 *       ct state established,related accept
 *       meta l4proto . th dport @locked drop
 *     }
 *   }
 *
 * Why it looks like this:
 * - accept ends only our base chain; other tables still see the packet, so we never
 *   open what a user's rules drop. drop is final, so a locked port stays closed.
 * - Loopback is local processes, already on the machine; JIT guards network access
 *   (and the agent reaches jitgated over loopback on a single host).
 * - Replies to connections this machine (or a VM behind the gateway) opened are not
 *   inbound access, whatever their port numbers.
 * - Single-address grants live in hash sets (grants4/6): adding or deleting one costs
 *   the same with 10 or 100,000 present. Prefix grants live in concatenated interval
 *   sets (nets4/6, the kernel's pipapo). No set is a plain interval set (rbtree):
 *   nft 1.0.6 reads every element of those back on each change.
 * - A port with closeEstablished drops even established packets without a live
 *   grant, so the flow stalls as soon as the element times out. Other ports keep
 *   established flows, as Azure's NSGs do.
 * - The last rule drops only locked keys rather than everything that falls through,
 *   so a packet whose ports cannot be read is left to the rest of the ruleset.
 * - Protocols are numbers (6, 17) and addresses are literals we formatted, so
 *   libnftables never consults /etc/protocols, NSS or DNS.
 *
 * Two kinds of transaction, both one atomic batch built from element records
 * (plan.h), each record checked here first:
 * - a rebuild: add table; delete table; add table, sets, chain, rules, elements. The
 *   kernel commits it atomically, so packets see the old table or the new one, and
 *   whatever was stale (or put there by someone else) is gone;
 * - an update: delete element ..., add element ... on the existing sets, nothing else.
 * The table has no "owner" flag: it must outlive the agent, and the kernel expires each
 * grant element on its own.
 *
 * Port mappings (mappedPort, gateway DNAT) come later: a nat chain at prerouting will
 * map source . gateway address . protocol . mappedPort to the VM's address and port.
 * The forward chain sees packets after DNAT, so grants keyed by the VM's own address
 * and port stay as they are.
 */
#include "enforcer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Base chain priority: NF_IP_PRI_FILTER - 1, ahead of the usual filter chains. */
#define CHAIN_PRIORITY (-1)
/* The longest kernel timeout a record may ask for: ten years, far past any grant. */
#define MAX_TIMEOUT_S (10u * 366 * 24 * 3600)

struct jit_enforcer {
	struct nft_ctx *nft;
};

static int
nomem(struct jit_error *err)
{
	return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
}

/*
 * JSON construction. jarr and jobj take ownership of their values and return NULL
 * (having released them all) if any is NULL, so out of memory needs one check.
 */

static json_t *
jarr(size_t n, ...)
{
	json_t *a = json_array();
	bool ok = a != NULL;
	va_list ap;

	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		json_t *v = va_arg(ap, json_t *);

		if (ok && v != NULL && json_array_append_new(a, v) == 0)
			continue;
		/* json_array_append_new released v if it failed */
		if (ok && v != NULL)
			v = NULL;
		ok = false;
		json_decref(v);
	}
	va_end(ap);
	if (!ok) {
		json_decref(a);
		return NULL;
	}
	return a;
}

/* n pairs of (const char *key, json_t *value). */
static json_t *
jobj(size_t n, ...)
{
	json_t *o = json_object();
	bool ok = o != NULL;
	va_list ap;

	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		const char *k = va_arg(ap, const char *);
		json_t *v = va_arg(ap, json_t *);

		if (ok && v != NULL && json_object_set_new(o, k, v) == 0)
			continue;
		/* json_object_set_new released v if it failed */
		if (ok && v != NULL)
			v = NULL;
		ok = false;
		json_decref(v);
	}
	va_end(ap);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Appends v to a (taking it); false on failure. */
static bool
push(json_t *a, json_t *v)
{
	return v != NULL && json_array_append_new(a, v) == 0;
}

static json_t *
str(const char *s)
{
	return json_string(s);
}

/* {"verb": {"what": body}} */
static json_t *
cmd(const char *verb, const char *what, json_t *body)
{
	return jobj(1, verb, jobj(1, what, body));
}

static json_t *
table_obj(void)
{
	return jobj(2, "family", str(JIT_ENFORCER_FAMILY), "name", str(JIT_ENFORCER_TABLE));
}

static json_t *
meta(const char *key)
{
	return jobj(1, "meta", jobj(1, "key", str(key)));
}

static json_t *
ct(const char *key)
{
	return jobj(1, "ct", jobj(1, "key", str(key)));
}

static json_t *
payload(const char *proto, const char *field)
{
	return jobj(1, "payload", jobj(2, "protocol", str(proto), "field", str(field)));
}

static json_t *
match(const char *op, json_t *left, json_t *right)
{
	return jobj(1, "match", jobj(3, "op", str(op), "left", left, "right", right));
}

static json_t *
verdict(const char *v)
{
	return jobj(1, v, json_null());
}

/* "ip saddr" / "ip6 daddr" */
static json_t *
addr_expr(int family, const char *field)
{
	return payload(family == 6 ? "ip6" : "ip", field);
}

/* [addr_fields...] . meta l4proto . th dport, as a concatenation. */
static json_t *
key_expr(int family, const char *f1, const char *f2)
{
	json_t *c;

	if (family == 0)
		c = jarr(2, meta("l4proto"), payload("th", "dport"));
	else if (f2 == NULL)
		c = jarr(3, addr_expr(family, f1), meta("l4proto"), payload("th", "dport"));
	else
		c = jarr(4, addr_expr(family, f1), addr_expr(family, f2), meta("l4proto"),
			payload("th", "dport"));
	return jobj(1, "concat", c);
}

static json_t *
setref(const char *name)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "@%s", name);
	return str(buf);
}

/*
 * Names
 */

static const char *
chain_name(enum jit_ep_kind kind)
{
	return kind == JIT_EP_GATEWAY ? "forward" : "input";
}

/* The set of an element: "locked", "locked4", "grants6", "nets4". */
static const char *
set_name(char buf[16], enum jit_nft_set set, enum jit_ep_kind kind, int family)
{
	static const char *const what[] = { "", "locked", "closing", "grants", "nets" };

	if (kind == JIT_EP_HOST && (set == JIT_NFT_LOCKED || set == JIT_NFT_CLOSING))
		snprintf(buf, 16, "%s", what[set]);
	else
		snprintf(buf, 16, "%s%d", what[set], family);
	return buf;
}

static json_t *
addr_json(int family, const uint8_t a[16])
{
	char buf[INET6_ADDRSTRLEN];

	if (inet_ntop(family == 6 ? AF_INET6 : AF_INET, a, buf, sizeof(buf)) == NULL)
		return NULL;
	return str(buf);
}

/* A source: an address, or {"prefix": {"addr": ..., "len": ...}}. */
static json_t *
prefix_json(int family, const uint8_t a[16], unsigned len)
{
	if (len == (family == 6 ? 128u : 32u))
		return addr_json(family, a);
	return jobj(1, "prefix", jobj(2, "addr", addr_json(family, a), "len",
		json_integer(len)));
}


/*
 * Element records
 */

static unsigned
full_len(int family)
{
	return family == 6 ? 128u : 32u;
}

/* A record is what the table can hold: the right family for the set and kind, a known
 * protocol, a prefix with host bits clear (a full length exactly in the hash sets), a
 * timeout on grant adds only. Everything is checked: records may come from another
 * process. */
static int
check_op(enum jit_ep_kind kind, const struct jit_nft_op *op, struct jit_error *err)
{
	const struct jit_nft_elem *e = &op->elem;
	bool grant = e->set == JIT_NFT_GRANTS || e->set == JIT_NFT_NETS;
	bool keyed = kind == JIT_EP_GATEWAY || grant;
	unsigned full = full_len(e->family);
	static const uint8_t zero[16];

	if (op->verb != JIT_NFT_ADD && op->verb != JIT_NFT_DELETE)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST, "element record: verb %u",
			op->verb);
	if (e->set < JIT_NFT_LOCKED || e->set > JIT_NFT_NETS)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST, "element record: set %u", e->set);
	if (keyed ? (e->family != 4 && e->family != 6) : e->family != 0)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST, "element record: family %u",
			e->family);
	if (e->proto != IPPROTO_TCP && e->proto != IPPROTO_UDP)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST, "element record: protocol %u",
			e->proto);
	if (kind == JIT_EP_HOST && memcmp(e->dest, zero, 16) != 0)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"element record: a host's key has no destination");
	if (kind == JIT_EP_GATEWAY && e->family == 4 && memcmp(e->dest + 4, zero, 12) != 0)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"element record: IPv4 destination with more than 4 bytes");
	if (!grant) {
		if (e->len != 0 || memcmp(e->src, zero, 16) != 0 || op->timeout_s != 0)
			return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
				"element record: a locked key has no source or timeout");
		return 0;
	}
	if (e->set == JIT_NFT_GRANTS ? e->len != full : e->len >= full)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"element record: prefix length %u in set %s", e->len,
			e->set == JIT_NFT_GRANTS ? "grants" : "nets");
	for (unsigned b = e->len; b < 128; b++)
		if ((e->src[b / 8] >> (7 - b % 8)) & 1)
			return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
				"element record: source with host bits set");
	if (op->verb == JIT_NFT_ADD ? (op->timeout_s == 0 || op->timeout_s > MAX_TIMEOUT_S) :
		op->timeout_s != 0)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST, "element record: timeout %u",
			op->timeout_s);
	return 0;
}

/* The value of an element in the set's key order. */
static json_t *
elem_value(enum jit_ep_kind kind, const struct jit_nft_elem *e)
{
	json_t *proto = json_integer(e->proto), *port = json_integer(e->port);
	bool gw = kind == JIT_EP_GATEWAY;

	if (e->set == JIT_NFT_LOCKED || e->set == JIT_NFT_CLOSING)
		return jobj(1, "concat", gw ? jarr(3, addr_json(e->family, e->dest), proto, port) :
			jarr(2, proto, port));
	if (gw)
		return jobj(1, "concat", jarr(4, prefix_json(e->family, e->src, e->len),
			addr_json(e->family, e->dest), proto, port));
	return jobj(1, "concat", jarr(3, prefix_json(e->family, e->src, e->len), proto, port));
}

static json_t *
elem_json(enum jit_ep_kind kind, const struct jit_nft_op *op)
{
	json_t *v = elem_value(kind, &op->elem);

	if (op->verb != JIT_NFT_ADD || op->timeout_s == 0)
		return v;
	return jobj(1, "elem", jobj(2, "val", v, "timeout", json_integer(op->timeout_s)));
}

static json_t *
element_cmd(const char *verb, const char *name, json_t *elems)
{
	return cmd(verb, "element", jobj(4, "family", str(JIT_ENFORCER_FAMILY), "table",
		str(JIT_ENFORCER_TABLE), "name", str(name), "elem", elems));
}

/* One element command per run of records with the same verb and set, in order. */
static int
add_ops(json_t *tx, enum jit_ep_kind kind, const struct jit_nft_op *ops, size_t n,
	struct jit_error *err)
{
	char name[16], next[16];
	size_t lo, hi;

	for (lo = 0; lo < n; lo = hi) {
		json_t *elems = json_array();

		set_name(name, ops[lo].elem.set, kind, ops[lo].elem.family);
		for (hi = lo; hi < n && ops[hi].verb == ops[lo].verb &&
			strcmp(set_name(next, ops[hi].elem.set, kind, ops[hi].elem.family),
			name) == 0; hi++) {
			if (!push(elems, elem_json(kind, &ops[hi]))) {
				json_decref(elems);
				return nomem(err);
			}
		}
		if (!push(tx, element_cmd(ops[lo].verb == JIT_NFT_ADD ? "add" : "delete", name,
			elems)))
			return nomem(err);
	}
	return 0;
}

/*
 * The transaction
 */

/* flags: 0 none, 1 timeout (hash), 2 interval and timeout (pipapo). */
static json_t *
set_cmd(const char *name, json_t *type, int flags)
{
	json_t *s = jobj(4, "family", str(JIT_ENFORCER_FAMILY), "table", str(JIT_ENFORCER_TABLE),
		"name", str(name), "type", type);

	if (s != NULL && flags != 0 && json_object_set_new(s, "flags", flags == 1 ?
		jarr(1, str("timeout")) : jarr(2, str("interval"), str("timeout"))) != 0) {
		json_decref(s);
		return NULL;
	}
	return cmd("add", "set", s);
}

static json_t *
rule_cmd(enum jit_ep_kind kind, json_t *expr, const char *comment)
{
	return cmd("add", "rule", jobj(5, "family", str(JIT_ENFORCER_FAMILY), "table",
		str(JIT_ENFORCER_TABLE), "chain", str(chain_name(kind)), "expr", expr, "comment",
		str(comment)));
}

/* The sets of a kind (host: the key sets have no address; grants per family). */
static bool
add_sets(json_t *tx, enum jit_ep_kind kind)
{
	char n[16];
	bool gw = kind == JIT_EP_GATEWAY;

	if (!gw) {
		if (!push(tx, set_cmd("locked", jarr(2, str("inet_proto"), str("inet_service")),
			0)) ||
			!push(tx, set_cmd("closing", jarr(2, str("inet_proto"),
			str("inet_service")), 0)))
			return false;
	}
	for (int fam = 4; fam <= 6; fam += 2) {
		const char *at = fam == 6 ? "ipv6_addr" : "ipv4_addr";

		if (gw && (!push(tx, set_cmd(set_name(n, JIT_NFT_LOCKED, kind, fam), jarr(3,
			str(at), str("inet_proto"), str("inet_service")), 0)) ||
			!push(tx, set_cmd(set_name(n, JIT_NFT_CLOSING, kind, fam), jarr(3, str(at),
			str("inet_proto"), str("inet_service")), 0))))
			return false;
		for (int set = JIT_NFT_GRANTS; set <= JIT_NFT_NETS; set++) {
			if (!push(tx, set_cmd(set_name(n, (enum jit_nft_set)set, kind, fam), gw ?
				jarr(4, str(at), str(at), str("inet_proto"), str("inet_service")) :
				jarr(3, str(at), str("inet_proto"), str("inet_service")),
				set == JIT_NFT_GRANTS ? 1 : 2)))
				return false;
		}
	}
	return true;
}

static bool
add_chain(json_t *tx, enum jit_ep_kind kind)
{
	return push(tx, cmd("add", "chain", jobj(7, "family", str(JIT_ENFORCER_FAMILY),
		"table", str(JIT_ENFORCER_TABLE), "name", str(chain_name(kind)), "type",
		str("filter"), "hook", str(chain_name(kind)), "prio", json_integer(CHAIN_PRIORITY),
		"policy", str("accept"))));
}

static bool
add_host_rules(json_t *tx)
{
	const enum jit_ep_kind h = JIT_EP_HOST;

	return push(tx, rule_cmd(h, jarr(2, match("==", meta("iif"), str("lo")),
			verdict("accept")), "local processes are not network access")) &&
		push(tx, rule_cmd(h, jarr(2, match("!=", key_expr(0, NULL, NULL),
			setref("locked")), verdict("accept")), "ports not locked")) &&
		push(tx, rule_cmd(h, jarr(2, match("==", ct("direction"), str("reply")),
			verdict("accept")), "replies to connections opened from here")) &&
		push(tx, rule_cmd(h, jarr(2, match("==", key_expr(4, "saddr", NULL),
			setref("grants4")), verdict("accept")), "granted")) &&
		push(tx, rule_cmd(h, jarr(2, match("==", key_expr(6, "saddr", NULL),
			setref("grants6")), verdict("accept")), "granted")) &&
		push(tx, rule_cmd(h, jarr(2, match("==", key_expr(4, "saddr", NULL),
			setref("nets4")), verdict("accept")), "granted")) &&
		push(tx, rule_cmd(h, jarr(2, match("==", key_expr(6, "saddr", NULL),
			setref("nets6")), verdict("accept")), "granted")) &&
		push(tx, rule_cmd(h, jarr(2, match("==", key_expr(0, NULL, NULL),
			setref("closing")), verdict("drop")), "no grant left: cut established")) &&
		push(tx, rule_cmd(h, jarr(2, match("in", ct("state"), jarr(2, str("established"),
			str("related"))), verdict("accept")), "established flows survive expiry")) &&
		push(tx, rule_cmd(h, jarr(2, match("==", key_expr(0, NULL, NULL),
			setref("locked")), verdict("drop")), "locked"));
}

static bool
add_gateway_rules(json_t *tx)
{
	const enum jit_ep_kind g = JIT_EP_GATEWAY;

	for (int f = 4; f <= 6; f += 2) {
		if (!push(tx, rule_cmd(g, jarr(2, match("!=", key_expr(f, "daddr", NULL),
			setref(f == 4 ? "locked4" : "locked6")), verdict("accept")),
			"ports not locked")))
			return false;
	}
	if (!push(tx, rule_cmd(g, jarr(2, match("==", ct("direction"), str("reply")),
		verdict("accept")), "replies to connections opened from behind")))
		return false;
	for (int k = 0; k < 4; k++) {
		static const char *const sets[] = { "grants4", "grants6", "nets4", "nets6" };

		if (!push(tx, rule_cmd(g, jarr(2, match("==", key_expr(k % 2 ? 6 : 4, "saddr",
			"daddr"), setref(sets[k])), verdict("accept")), "granted")))
			return false;
	}
	for (int f = 4; f <= 6; f += 2) {
		if (!push(tx, rule_cmd(g, jarr(2, match("==", key_expr(f, "daddr", NULL),
			setref(f == 4 ? "closing4" : "closing6")), verdict("drop")),
			"no grant left: cut established")))
			return false;
	}
	if (!push(tx, rule_cmd(g, jarr(2, match("in", ct("state"), jarr(2, str("established"),
		str("related"))), verdict("accept")), "established flows survive expiry")))
		return false;
	for (int f = 4; f <= 6; f += 2) {
		if (!push(tx, rule_cmd(g, jarr(2, match("==", key_expr(f, "daddr", NULL),
			setref(f == 4 ? "locked4" : "locked6")), verdict("drop")), "locked")))
			return false;
	}
	return true;
}

json_t *
jit_enforcer_ops_transaction(enum jit_ep_kind kind, bool rebuild, const struct jit_nft_op *ops,
	size_t n, struct jit_error *err)
{
	json_t *tx, *root;

	if (kind != JIT_EP_HOST && kind != JIT_EP_GATEWAY) {
		jit_errorf(err, 400, JIT_E_BAD_REQUEST, "enforcement point kind %d", (int)kind);
		return NULL;
	}
	if (n > JIT_PLAN_MAX_ELEMENTS) {
		jit_errorf(err, 400, JIT_E_BAD_REQUEST, "more than %d element records",
			JIT_PLAN_MAX_ELEMENTS);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (check_op(kind, &ops[i], err) != 0)
			return NULL;
		if (rebuild && ops[i].verb != JIT_NFT_ADD) {
			jit_errorf(err, 400, JIT_E_BAD_REQUEST, "a rebuild only adds elements");
			return NULL;
		}
	}
	tx = jarr(1, jobj(1, "metainfo", jobj(1, "json_schema_version", json_integer(1))));
	if (tx != NULL && rebuild && (!push(tx, cmd("add", "table", table_obj())) ||
		!push(tx, cmd("delete", "table", table_obj())) ||
		!push(tx, cmd("add", "table", table_obj())) || !add_sets(tx, kind) ||
		!add_chain(tx, kind) ||
		!(kind == JIT_EP_GATEWAY ? add_gateway_rules(tx) : add_host_rules(tx)))) {
		json_decref(tx);
		tx = NULL;
	}
	if (tx == NULL) {
		nomem(err);
		return NULL;
	}
	if (add_ops(tx, kind, ops, n, err) != 0) {
		json_decref(tx);
		return NULL;
	}
	if ((root = jobj(1, "nftables", tx)) == NULL)
		nomem(err);
	return root;
}

json_t *
jit_enforcer_transaction(const struct jit_desired_state *ds, jit_time now,
	struct jit_enforce_stats *stats, struct jit_error *err)
{
	struct jit_nft_model *m = NULL;
	struct jit_nft_op *ops = NULL;
	json_t *tx = NULL;
	size_t n;

	if (jit_plan_model(ds, now, &m, err) != 0 || jit_plan_rebuild(m, &ops, &n, err) != 0)
		goto out;
	tx = jit_enforcer_ops_transaction(ds->kind, true, ops, n, err);
	if (tx != NULL && stats != NULL)
		*stats = m->st;
out:
	free(ops);
	jit_plan_model_free(m);
	return tx;
}


/*
 * Talking to the kernel
 */

/* nftables' error text as one line: what follows "Error: " on each line (JSON input
 * puts a location like "internal:0:0-0: " before it), joined; the rest is dropped. */
static void
nft_message(const char *text, char *out, size_t n)
{
	const char *line, *eol, *e;
	size_t o = 0, len;

	out[0] = '\0';
	for (line = text; line != NULL && *line != '\0'; line = eol != NULL ? eol + 1 : NULL) {
		eol = strchr(line, '\n');
		len = eol != NULL ? (size_t)(eol - line) : strlen(line);
		e = memmem(line, len, "Error: ", 7);
		if (e == NULL)
			continue;
		len -= (size_t)(e + 7 - line);
		line = e + 7;
		if (o > 0 && o + 2 < n) {
			memcpy(out + o, "; ", 2);
			o += 2;
		}
		for (size_t i = 0; i < len && o + 1 < n; i++)
			out[o++] = (line[i] >= 0x20 && line[i] < 0x7f) ? line[i] : '?';
		out[o] = '\0';
	}
	if (o == 0)
		snprintf(out, n, "libnftables failed without a message");
}

/* Runs one transaction (dry: the kernel checks it, nothing is committed). Takes tx.
 * When output is not NULL, it receives a malloc'd copy of what libnftables printed. */
static int
run(struct jit_enforcer *e, json_t *tx, bool dry, int status, char **output,
	struct jit_error *err)
{
	char msg[JIT_ERROR_MSG_MAX];
	const char *printed;
	char *text;
	int rc;

	text = tx != NULL ? json_dumps(tx, JSON_COMPACT) : NULL;
	json_decref(tx);
	if (text == NULL)
		return nomem(err);
	nft_ctx_set_dry_run(e->nft, dry);
	rc = nft_run_cmd_from_buffer(e->nft, text);
	nft_ctx_set_dry_run(e->nft, false);
	free(text);
	/* Reading a buffer also empties it for the next run. */
	printed = nft_ctx_get_output_buffer(e->nft);
	nft_message(nft_ctx_get_error_buffer(e->nft), msg, sizeof(msg));
	if (rc != 0)
		return jit_errorf(err, status, status == 503 ? JIT_E_UNAVAILABLE : JIT_E_INTERNAL,
			"nftables: %s", msg);
	if (output != NULL && (*output = strdup(printed != NULL ? printed : "")) == NULL)
		return nomem(err);
	return 0;
}

int
jit_enforcer_open(struct jit_enforcer **out, struct jit_error *err)
{
	struct jit_enforcer *e;

	*out = NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return nomem(err);
	if ((e->nft = nft_ctx_new(NFT_CTX_DEFAULT)) == NULL) {
		free(e);
		return jit_errorf(err, 503, JIT_E_UNAVAILABLE, "libnftables cannot start");
	}
	/* JSON output also turns on JSON input in libnftables before 1.0.7; numeric
	 * output keeps listing away from /etc/services, /etc/protocols and DNS. */
	nft_ctx_output_set_flags(e->nft, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_NUMERIC_ALL);
#ifdef HAVE_NFT_CTX_INPUT_NO_DNS
	nft_ctx_input_set_flags(e->nft, NFT_CTX_INPUT_NO_DNS | NFT_CTX_INPUT_JSON);
#endif
	if (nft_ctx_buffer_output(e->nft) != 0 || nft_ctx_buffer_error(e->nft) != 0) {
		jit_enforcer_free(e);
		return nomem(err);
	}
	*out = e;
	return 0;
}

void
jit_enforcer_free(struct jit_enforcer *e)
{
	if (e == NULL)
		return;
	nft_ctx_free(e->nft);
	free(e);
}

int
jit_enforcer_probe(struct jit_enforcer *e, enum jit_ep_kind kind, struct jit_error *err)
{
	struct jit_grant g[2] = { { .end_time = INT64_MAX, .seconds_remaining = 60 },
		{ .end_time = INT64_MAX, .seconds_remaining = 60 } };
	struct jit_rule r = { .number = 22, .protocol = JIT_PROTO_ANY, .close_established = true,
		.n_grants = 2, .grants = g };
	struct jit_desired_state ds = { .kind = kind, .n_rules = 1, .rules = &r };
	json_t *tx;

	/* "*" makes prefix elements of both families, 192.0.2.9 a single-address one;
	 * documentation addresses as destinations. */
	g[0].source.family = JIT_FAMILY_ANY;
	g[1].source.family = JIT_FAMILY_INET;
	g[1].source.len = 32;
	memcpy(g[1].source.addr, "\xc0\x00\x02\x09", 4);
	r.n_destinations = 2;
	r.destinations[0].family = JIT_FAMILY_INET;
	r.destinations[0].len = 32;
	memcpy(r.destinations[0].addr, "\xc0\x00\x02\x01", 4);
	r.destinations[1].family = JIT_FAMILY_INET6;
	r.destinations[1].len = 128;
	memcpy(r.destinations[1].addr, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	if ((tx = jit_enforcer_transaction(&ds, 0, NULL, err)) == NULL)
		return -1;
	return run(e, tx, true, 503, NULL, err);
}

int
jit_enforcer_apply(struct jit_enforcer *e, const struct jit_desired_state *ds, jit_time now,
	struct jit_enforce_stats *stats, struct jit_error *err)
{
	json_t *tx;

	if ((tx = jit_enforcer_transaction(ds, now, stats, err)) == NULL)
		return -1;
	return run(e, tx, false, 500, NULL, err);
}

int
jit_enforcer_remove(struct jit_enforcer *e, struct jit_error *err)
{
	/* add then delete: one transaction that succeeds whether or not the table exists */
	return run(e, jobj(1, "nftables", jarr(2, cmd("add", "table", table_obj()),
		cmd("delete", "table", table_obj()))), false, 500, NULL, err);
}

int
jit_enforcer_dump(struct jit_enforcer *e, char **out, struct jit_error *err)
{
	*out = NULL;
	return run(e, jobj(1, "nftables", jarr(1, cmd("list", "table", table_obj()))), false,
		500, out, err);
}

int
jit_enforcer_commit(struct jit_enforcer *e, enum jit_ep_kind kind, bool rebuild,
	const struct jit_nft_op *ops, size_t n, struct jit_error *err)
{
	json_t *tx;

	if (!rebuild && n == 0)
		return 0;
	if ((tx = jit_enforcer_ops_transaction(kind, rebuild, ops, n, err)) == NULL)
		return -1;
	return run(e, tx, false, 500, NULL, err);
}

/*
 * Reading the table back
 */

/* Which set a listed name is, for kind; false for a name we never make. */
static bool
set_of_name(const char *name, enum jit_ep_kind kind, uint8_t *set, uint8_t *family)
{
	char buf[16];

	for (int s = JIT_NFT_LOCKED; s <= JIT_NFT_NETS; s++) {
		for (int f = 0; f <= 6; f += 2) {
			if (f == 2)
				continue;
			if ((f == 0) != (kind == JIT_EP_HOST && s <= JIT_NFT_CLOSING))
				continue;
			if (strcmp(set_name(buf, (enum jit_nft_set)s, kind, f ? f : 4), name) == 0) {
				*set = (uint8_t)s;
				*family = (uint8_t)f;
				return true;
			}
		}
	}
	return false;
}

static bool
parse_addr(const json_t *j, int family, uint8_t out[16])
{
	const char *s = json_string_value(j);

	memset(out, 0, 16);
	return s != NULL && inet_pton(family == 6 ? AF_INET6 : AF_INET, s, out) == 1;
}

/* An address or {"prefix": {"addr", "len"}} of family. */
static bool
parse_prefix(const json_t *j, int family, uint8_t out[16], uint8_t *len)
{
	const json_t *p = json_object_get(j, "prefix");
	json_int_t l;

	if (p == NULL) {
		*len = (uint8_t)full_len(family);
		return parse_addr(j, family, out);
	}
	l = json_integer_value(json_object_get(p, "len"));
	if (!json_is_integer(json_object_get(p, "len")) || l < 0 || l > (json_int_t)full_len(family))
		return false;
	*len = (uint8_t)l;
	return parse_addr(json_object_get(p, "addr"), family, out);
}

/* A protocol as listed: a number, or "tcp" / "udp" when printed by name. */
static bool
parse_proto(const json_t *j, uint8_t *out)
{
	const char *s = json_string_value(j);

	if (json_is_integer(j) && (json_integer_value(j) == IPPROTO_TCP ||
		json_integer_value(j) == IPPROTO_UDP)) {
		*out = (uint8_t)json_integer_value(j);
		return true;
	}
	if (s != NULL && (strcmp(s, "tcp") == 0 || strcmp(s, "udp") == 0)) {
		*out = s[0] == 't' ? IPPROTO_TCP : IPPROTO_UDP;
		return true;
	}
	return false;
}

/* One listed element of a set; false when it is nothing we would write (a range, a
 * wrong family, an unknown protocol). */
static bool
parse_elem(const json_t *item, enum jit_ep_kind kind, struct jit_nft_actual *a)
{
	const json_t *w = json_object_get(item, "elem"), *val, *c;
	struct jit_nft_elem *e = &a->elem;
	bool grant = e->set == JIT_NFT_GRANTS || e->set == JIT_NFT_NETS;
	bool gw = kind == JIT_EP_GATEWAY;
	int fam = e->family ? e->family : 4;
	size_t i = 0, want = grant ? (gw ? 4 : 3) : (gw ? 3 : 2);
	json_int_t port;

	a->expires_s = -1;
	val = w != NULL ? json_object_get(w, "val") : item;
	if (w != NULL && json_is_integer(json_object_get(w, "expires")))
		a->expires_s = json_integer_value(json_object_get(w, "expires"));
	c = json_object_get(val, "concat");
	if (!json_is_array(c) || json_array_size(c) != want)
		return false;
	if (grant && !parse_prefix(json_array_get(c, i++), fam, e->src, &e->len))
		return false;
	if (gw && !parse_addr(json_array_get(c, i++), fam, e->dest))
		return false;
	if (!parse_proto(json_array_get(c, i++), &e->proto))
		return false;
	port = json_integer_value(json_array_get(c, i));
	if (!json_is_integer(json_array_get(c, i)) || port < 0 || port > 65535)
		return false;
	e->port = (uint16_t)port;
	return true;
}

/* Drops every "handle" and "elem" member, recursively: what is left is the layout. */
static void
strip_layout(json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			strip_layout(v);
		return;
	}
	if (!json_is_object(j))
		return;
	json_object_del(j, "handle");
	json_object_del(j, "elem");
	json_object_foreach(j, k, v)
		strip_layout(v);
}

static int
read_sets(const json_t *list, enum jit_ep_kind kind, struct jit_nft_actual **out, size_t *n,
	struct jit_error *err)
{
	size_t cap = 0, i, k;
	const json_t *o, *el;

	json_array_foreach(list, i, o) {
		const json_t *set = json_object_get(o, "set");
		struct jit_nft_actual proto = { 0 };
		bool known;

		if (set == NULL)
			continue;
		known = set_of_name(json_string_value(json_object_get(set, "name")) ?
			json_string_value(json_object_get(set, "name")) : "", kind, &proto.elem.set,
			&proto.elem.family);
		json_array_foreach(json_object_get(set, "elem"), k, el) {
			struct jit_nft_actual a = proto;

			if (*n == cap) {
				struct jit_nft_actual *nv;

				if (cap >= JIT_PLAN_MAX_ELEMENTS * 2)
					return jit_errorf(err, 500, JIT_E_INTERNAL,
						"table inet jitgate holds too many elements to read");
				cap = cap ? cap * 2 : 256;
				if ((nv = realloc(*out, cap * sizeof(*nv))) == NULL)
					return nomem(err);
				*out = nv;
			}
			/* Anything we cannot read as ours counts as foreign: a set id no model has. */
			if (!known || !parse_elem(el, kind, &a)) {
				memset(&a, 0, sizeof(a));
				a.elem.set = 0xff;
				a.expires_s = -1;
			}
			(*out)[(*n)++] = a;
		}
	}
	return 0;
}

int
jit_enforcer_read(struct jit_enforcer *e, enum jit_ep_kind kind, bool elements,
	struct jit_enforcer_view *out, struct jit_error *err)
{
	unsigned flags = nft_ctx_output_get_flags(e->nft);
	json_t *root = NULL, *list;
	json_error_t je;
	char *text = NULL;
	int r = -1, rc;

	memset(out, 0, sizeof(*out));
	/* Terse: sets without their elements, for the layout alone. */
	if (!elements)
		nft_ctx_output_set_flags(e->nft, flags | NFT_CTX_OUTPUT_TERSE);
	rc = run(e, jobj(1, "nftables", jarr(1, cmd("list", "table", table_obj()))), false, 500,
		&text, err);
	nft_ctx_output_set_flags(e->nft, flags);
	if (rc != 0) {
		/* The one failure that is an answer: the table is not there. */
		if (strstr(err->message, "No such file or directory") == NULL)
			return -1;
		return 0;
	}
	if ((root = json_loads(text, 0, &je)) == NULL ||
		!json_is_array(list = json_object_get(root, "nftables"))) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "nftables listed the table as something "
			"other than JSON");
		goto out;
	}
	out->exists = true;
	if (read_sets(list, kind, &out->elems, &out->n, err) != 0)
		goto out;
	/* The layout: everything but handles, elements and libnftables' own metainfo. */
	for (size_t i = json_array_size(list); i-- > 0;)
		if (json_object_get(json_array_get(list, i), "metainfo") != NULL)
			json_array_remove(list, i);
	strip_layout(list);
	if ((out->layout = json_dumps(list, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		nomem(err);
		goto out;
	}
	r = 0;
out:
	if (r != 0)
		jit_enforcer_view_clear(out);
	json_decref(root);
	free(text);
	return r;
}

void
jit_enforcer_view_clear(struct jit_enforcer_view *v)
{
	free(v->elems);
	free(v->layout);
	memset(v, 0, sizeof(*v));
}
