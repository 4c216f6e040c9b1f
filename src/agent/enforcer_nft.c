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
 *     set grants4 { type ipv4_addr . inet_proto . inet_service; flags interval,timeout }
 *     set grants6 { type ipv6_addr . inet_proto . inet_service; flags interval,timeout }
 *     chain input {
 *       type filter hook input priority filter - 1; policy accept;
 *       iif "lo" accept
 *       meta l4proto . th dport != @locked accept
 *       ct direction reply accept
 *       ip saddr . meta l4proto . th dport @grants4 accept
 *       ip6 saddr . meta l4proto . th dport @grants6 accept
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
 * - A port with closeEstablished drops even established packets without a live
 *   grant, so the flow stalls as soon as the element times out. Other ports keep
 *   established flows, as Azure's NSGs do.
 * - The last rule drops only locked keys rather than everything that falls through,
 *   so a packet whose ports cannot be read is left to the rest of the ruleset.
 * - Protocols are numbers (6, 17) and addresses are literals we formatted, so
 *   libnftables never consults /etc/protocols, NSS or DNS.
 *
 * Each apply sends one transaction: add table; delete table; add table, sets, chain,
 * rules, elements. The kernel commits it atomically, so packets see the old table or
 * the new one, and whatever was stale is gone. The table has no "owner" flag: it
 * must outlive the agent, and the kernel expires each grant element on its own.
 *
 * Kernel interval sets of concatenations (pipapo) refuse overlapping elements, so
 * grants are merged per key first: every source address gets the longest timeout of
 * the grants covering it. A grant inside a longer one is dropped; a longer grant
 * inside a shorter one is carved out of it (the outer prefix becomes the CIDR blocks
 * around the inner one).
 *
 * Port mappings (mappedPort, gateway DNAT) come later: a nat chain at prerouting will
 * map source . gateway address . protocol . mappedPort to the VM's address and port.
 * The forward chain below sees packets after DNAT, so grants keyed by the VM's own
 * address and port stay as they are; see add_port_mappings().
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

/* One transaction of a million elements is far beyond any real JIT state (a grant
 * makes at most 64: both families, both protocols, 16 destinations) and keeps the
 * netlink batch and the kernel's memory in bounds. */
#define MAX_ELEMENTS (1 << 20)

/* Base chain priority: NF_IP_PRI_FILTER - 1, ahead of the usual filter chains. */
#define CHAIN_PRIORITY (-1)

struct jit_enforcer {
	struct nft_ctx *nft;
};

/* A locked key or a grant element before it becomes JSON. */
struct elem {
	uint8_t family;   /* 4 or 6; 0 for a host's locked keys, which have no address */
	uint8_t proto;    /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t port;
	uint8_t dest[16]; /* gateway: the VM's address; zero on a host */
	uint8_t src[16];  /* grants: source prefix, host bits clear */
	uint8_t len;
	bool closing;     /* locked keys: closeEstablished */
	int64_t timeout;  /* grants: seconds */
};

struct vec {
	struct elem *v;
	size_t n, cap;
};

/* The JSON being built: one array per set, plus what apply reports. */
struct build {
	enum jit_ep_kind kind;
	json_t *locked[2];  /* [0]: a host's locked, or locked4; [1]: locked6 */
	json_t *closing[2];
	json_t *grants[2];  /* grants4, grants6 */
	struct jit_enforce_stats st;
};

/* Merging one group of grants (same family, destination, protocol and port). */
struct flat {
	struct build *b;
	struct elem *g;   /* the group, sorted and without duplicate prefixes */
	size_t *end;      /* end[i]: one past the last prefix inside g[i] */
	size_t *holes;    /* scratch */
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

/* The set of kind (locked, closing, grants) for family: "locked", "locked4", "grants6". */
static const char *
set_name(char buf[16], const char *what, enum jit_ep_kind kind, int family)
{
	if (kind == JIT_EP_HOST && strcmp(what, "grants") != 0)
		snprintf(buf, 16, "%s", what);
	else
		snprintf(buf, 16, "%s%d", what, family);
	return buf;
}

/*
 * Collecting elements from the desired state
 */

static int
vec_push(struct vec *v, const struct elem *e, struct jit_error *err)
{
	struct elem *nv;
	size_t cap;

	if (v->n == v->cap) {
		if (v->n >= MAX_ELEMENTS)
			return jit_errorf(err, 500, JIT_E_INTERNAL,
				"the desired state needs more than %d set elements", MAX_ELEMENTS);
		cap = v->cap ? v->cap * 2 : 64;
		if ((nv = realloc(v->v, cap * sizeof(*nv))) == NULL)
			return nomem(err);
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = *e;
	return 0;
}

/* Whole seconds of access left: min(end - now, secondsRemaining); <= 0 means none. */
static int64_t
grant_timeout(const struct jit_grant *g, jit_time now)
{
	int64_t left;

	if (g->end_time <= now)
		return 0;
	/* Rounded down: an element closes early by less than a second, never late. */
	left = (g->end_time - now) / JIT_NS_PER_SEC;
	return left < g->seconds_remaining ? left : g->seconds_remaining;
}

static int
family_of(const struct jit_prefix *p)
{
	return p->family == JIT_FAMILY_INET6 ? 6 : 4;
}

/* The protocols a rule's "TCP", "UDP" or "*" stands for; returns how many. */
static size_t
protos_of(enum jit_proto p, uint8_t out[2])
{
	size_t n = 0;

	if (p == JIT_PROTO_TCP || p == JIT_PROTO_ANY)
		out[n++] = IPPROTO_TCP;
	if (p == JIT_PROTO_UDP || p == JIT_PROTO_ANY)
		out[n++] = IPPROTO_UDP;
	return n;
}

static int
collect_locked(const struct jit_rule *r, enum jit_ep_kind kind, struct vec *locked,
	struct jit_error *err)
{
	uint8_t protos[2];
	size_t np = protos_of(r->protocol, protos);
	struct elem e;

	for (size_t i = 0; i < np; i++) {
		memset(&e, 0, sizeof(e));
		e.proto = protos[i];
		e.port = r->number;
		e.closing = r->close_established;
		if (kind == JIT_EP_HOST) {
			if (vec_push(locked, &e, err) != 0)
				return -1;
			continue;
		}
		for (size_t d = 0; d < r->n_destinations; d++) {
			e.family = (uint8_t)family_of(&r->destinations[d]);
			memcpy(e.dest, r->destinations[d].addr, 16);
			if (vec_push(locked, &e, err) != 0)
				return -1;
		}
	}
	return 0;
}

/* The elements of one grant of r; *n counts them. */
static int
collect_grant(const struct jit_rule *r, const struct jit_grant *g, enum jit_ep_kind kind,
	int64_t timeout, struct vec *grants, size_t *n, struct jit_error *err)
{
	static const int any[] = { 4, 6 };
	uint8_t protos[2];
	size_t np = protos_of(r->protocol, protos);
	const int *fams = any;
	size_t nf = 2;
	int fam1;
	struct elem e;

	if (g->source.family != JIT_FAMILY_ANY) {
		fam1 = family_of(&g->source);
		fams = &fam1;
		nf = 1;
	}
	for (size_t f = 0; f < nf; f++) {
		for (size_t i = 0; i < np; i++) {
			memset(&e, 0, sizeof(e));
			e.family = (uint8_t)fams[f];
			e.proto = protos[i];
			e.port = r->number;
			e.timeout = timeout;
			/* "*" is 0.0.0.0/0 or ::/0: address and length are already zero. */
			if (g->source.family != JIT_FAMILY_ANY) {
				memcpy(e.src, g->source.addr, 16);
				e.len = g->source.len;
			}
			if (kind == JIT_EP_HOST) {
				if (vec_push(grants, &e, err) != 0)
					return -1;
				(*n)++;
				continue;
			}
			for (size_t d = 0; d < r->n_destinations; d++) {
				if (family_of(&r->destinations[d]) != fams[f])
					continue;
				memcpy(e.dest, r->destinations[d].addr, 16);
				if (vec_push(grants, &e, err) != 0)
					return -1;
				(*n)++;
			}
		}
	}
	return 0;
}

/* Port mappings (DNAT for mappedPort on a gateway) are not enforced yet: the grant
 * opens the VM's own port, and the caller is told how many grants carried one. When
 * DNAT lands, this adds the nat chain and map described at the top of the file. */
static void
add_port_mappings(const struct jit_grant *g, struct build *b)
{
	if (g->has_mapped_port)
		b->st.mapped++;
}

static int
collect(const struct jit_desired_state *ds, jit_time now, struct build *b, struct vec *locked,
	struct vec *grants, struct jit_error *err)
{
	for (size_t i = 0; i < ds->n_rules; i++) {
		const struct jit_rule *r = &ds->rules[i];

		if (collect_locked(r, ds->kind, locked, err) != 0)
			return -1;
		for (size_t k = 0; k < r->n_grants; k++) {
			int64_t t = grant_timeout(&r->grants[k], now);
			size_t n = 0;

			if (t <= 0) {
				b->st.expired++;
				continue;
			}
			add_port_mappings(&r->grants[k], b);
			if (collect_grant(r, &r->grants[k], ds->kind, t, grants, &n, err) != 0)
				return -1;
			if (n == 0)
				b->st.unmatched++;
		}
	}
	return 0;
}

/*
 * Sorting and merging
 */

/* Orders by key: family, destination, protocol, port. */
static int
key_cmp(const struct elem *a, const struct elem *b)
{
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if ((c = memcmp(a->dest, b->dest, 16)) != 0)
		return c;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return 0;
}

static int
locked_cmp(const void *pa, const void *pb)
{
	return key_cmp(pa, pb);
}

/* Key, then source address, then prefix length: a prefix comes before the prefixes
 * inside it, which follow it contiguously (a pre-order walk of the prefix tree). */
static int
grant_cmp(const void *pa, const void *pb)
{
	const struct elem *a = pa, *b = pb;
	int c;

	if ((c = key_cmp(a, b)) != 0)
		return c;
	if ((c = memcmp(a->src, b->src, 16)) != 0)
		return c;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return 0;
}

static bool
prefix_contains(const struct elem *outer, const struct elem *inner)
{
	size_t full = outer->len / 8;
	unsigned rest = outer->len % 8;
	uint8_t mask;

	if (outer->len > inner->len || memcmp(outer->src, inner->src, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return (outer->src[full] & mask) == (inner->src[full] & mask);
}

static bool
bit_at(const uint8_t a[16], unsigned i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
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

/* Adds one grant element: source block src/len of the group element n. */
static int
emit(struct flat *f, const struct elem *n, const uint8_t src[16], unsigned len,
	struct jit_error *err)
{
	json_t *val;

	if (f->b->kind == JIT_EP_HOST)
		val = jarr(3, prefix_json(n->family, src, len), json_integer(n->proto),
			json_integer(n->port));
	else
		val = jarr(4, prefix_json(n->family, src, len), addr_json(n->family, n->dest),
			json_integer(n->proto), json_integer(n->port));
	if (!push(f->b->grants[n->family == 6], jobj(1, "elem", jobj(2,
		"val", jobj(1, "concat", val), "timeout", json_integer(n->timeout)))))
		return nomem(err);
	f->b->st.elements++;
	return 0;
}

/* Emits block (src, len) of n minus the holes (sorted, disjoint, inside the block). */
static int
split(struct flat *f, const struct elem *n, const uint8_t src[16], unsigned len,
	const size_t *holes, size_t nh, struct jit_error *err)
{
	uint8_t upper[16];
	size_t k;

	if (nh == 0)
		return emit(f, n, src, len, err);
	/* Disjoint holes inside the block: one of the same length is the block itself. */
	if (f->g[holes[0]].len == len || len >= (n->family == 6 ? 128u : 32u))
		return 0;
	memcpy(upper, src, 16);
	upper[len / 8] |= (uint8_t)(0x80 >> (len % 8));
	for (k = 0; k < nh && !bit_at(f->g[holes[k]].src, len); k++)
		;
	if (split(f, n, src, len + 1, holes, k, err) != 0)
		return -1;
	return split(f, n, upper, len + 1, holes + k, nh - k, err);
}

/*
 * Emits g[i] where it beats `above` (the longest timeout of the prefixes around it),
 * minus the topmost prefixes inside it that beat g[i] in turn; then its children.
 */
static int
carve(struct flat *f, size_t i, int64_t above, struct jit_error *err)
{
	const struct elem *n = &f->g[i];
	int64_t best = n->timeout > above ? n->timeout : above;
	size_t j, nh = 0;

	if (n->timeout > above) {
		for (j = i + 1; j < f->end[i];) {
			if (f->g[j].timeout > best) {
				f->holes[nh++] = j;
				j = f->end[j];
			} else {
				j++;
			}
		}
		if (split(f, n, n->src, n->len, f->holes, nh, err) != 0)
			return -1;
	}
	for (j = i + 1; j < f->end[i]; j = f->end[j])
		if (carve(f, j, best, err) != 0)
			return -1;
	return 0;
}

/* Merges the group g[0..n) (sorted by grant_cmp) into non-overlapping elements. */
static int
flatten(struct flat *f, struct elem *g, size_t n, size_t *stack, struct jit_error *err)
{
	size_t m = 0, sp = 0, i;

	/* The same prefix twice keeps the longer timeout. */
	for (i = 0; i < n; i++) {
		if (m > 0 && g[m - 1].len == g[i].len && memcmp(g[m - 1].src, g[i].src, 16) == 0) {
			if (g[i].timeout > g[m - 1].timeout)
				g[m - 1].timeout = g[i].timeout;
			continue;
		}
		g[m++] = g[i];
	}
	for (i = 0; i < m; i++) {
		while (sp > 0 && !prefix_contains(&g[stack[sp - 1]], &g[i]))
			f->end[stack[--sp]] = i;
		stack[sp++] = i;
	}
	while (sp > 0)
		f->end[stack[--sp]] = m;

	f->g = g;
	for (i = 0; i < m; i = f->end[i])
		if (carve(f, i, 0, err) != 0)
			return -1;
	return 0;
}

static int
build_grants(struct build *b, struct vec *grants, struct jit_error *err)
{
	struct flat f = { .b = b };
	size_t *stack = NULL;
	size_t lo, hi;
	int r = -1;

	if (grants->n == 0)
		return 0;
	qsort(grants->v, grants->n, sizeof(*grants->v), grant_cmp);
	f.end = calloc(grants->n, sizeof(size_t));
	f.holes = calloc(grants->n, sizeof(size_t));
	stack = calloc(grants->n, sizeof(size_t));
	if (f.end == NULL || f.holes == NULL || stack == NULL) {
		nomem(err);
		goto out;
	}
	for (lo = 0; lo < grants->n; lo = hi) {
		for (hi = lo + 1; hi < grants->n && key_cmp(&grants->v[lo], &grants->v[hi]) == 0;
			hi++)
			;
		if (flatten(&f, grants->v + lo, hi - lo, stack, err) != 0)
			goto out;
	}
	r = 0;
out:
	free(f.end);
	free(f.holes);
	free(stack);
	return r;
}

static json_t *
locked_json(const struct build *b, const struct elem *e)
{
	if (b->kind == JIT_EP_HOST)
		return jobj(1, "concat", jarr(2, json_integer(e->proto), json_integer(e->port)));
	return jobj(1, "concat", jarr(3, addr_json(e->family, e->dest), json_integer(e->proto),
		json_integer(e->port)));
}

/* One element per key; a key is closing if any rule for it says closeEstablished. */
static int
build_locked(struct build *b, struct vec *locked, struct jit_error *err)
{
	size_t lo, hi;
	bool closing;
	int fi;

	if (locked->n > 0)
		qsort(locked->v, locked->n, sizeof(*locked->v), locked_cmp);
	for (lo = 0; lo < locked->n; lo = hi) {
		closing = false;
		for (hi = lo; hi < locked->n && key_cmp(&locked->v[lo], &locked->v[hi]) == 0; hi++)
			closing = closing || locked->v[hi].closing;
		fi = locked->v[lo].family == 6;
		if (!push(b->locked[fi], locked_json(b, &locked->v[lo])))
			return nomem(err);
		b->st.locked++;
		if (!closing)
			continue;
		if (!push(b->closing[fi], locked_json(b, &locked->v[lo])))
			return nomem(err);
		b->st.closing++;
	}
	return 0;
}

/*
 * The transaction
 */

static json_t *
set_cmd(const char *name, json_t *type, bool timed)
{
	json_t *s = jobj(4, "family", str(JIT_ENFORCER_FAMILY), "table", str(JIT_ENFORCER_TABLE),
		"name", str(name), "type", type);

	if (s != NULL && timed &&
		json_object_set_new(s, "flags", jarr(2, str("interval"), str("timeout"))) != 0) {
		json_decref(s);
		return NULL;
	}
	return cmd("add", "set", s);
}

static json_t *
element_cmd(const char *name, json_t *elems)
{
	return cmd("add", "element", jobj(4, "family", str(JIT_ENFORCER_FAMILY), "table",
		str(JIT_ENFORCER_TABLE), "name", str(name), "elem", elems));
}

static json_t *
rule_cmd(enum jit_ep_kind kind, json_t *expr, const char *comment)
{
	return cmd("add", "rule", jobj(5, "family", str(JIT_ENFORCER_FAMILY), "table",
		str(JIT_ENFORCER_TABLE), "chain", str(chain_name(kind)), "expr", expr, "comment",
		str(comment)));
}

/* The sets of one family (host: family 0 for the key sets, 4 and 6 for grants). */
static bool
add_sets(json_t *tx, enum jit_ep_kind kind)
{
	char n[16];
	bool gw = kind == JIT_EP_GATEWAY;

	if (!gw) {
		if (!push(tx, set_cmd("locked", jarr(2, str("inet_proto"), str("inet_service")),
			false)) ||
			!push(tx, set_cmd("closing", jarr(2, str("inet_proto"),
			str("inet_service")), false)))
			return false;
	}
	for (int fam = 4; fam <= 6; fam += 2) {
		const char *at = fam == 6 ? "ipv6_addr" : "ipv4_addr";

		if (gw && (!push(tx, set_cmd(set_name(n, "locked", kind, fam), jarr(3, str(at),
			str("inet_proto"), str("inet_service")), false)) ||
			!push(tx, set_cmd(set_name(n, "closing", kind, fam), jarr(3, str(at),
			str("inet_proto"), str("inet_service")), false))))
			return false;
		if (!push(tx, set_cmd(set_name(n, "grants", kind, fam), gw ? jarr(4, str(at),
			str(at), str("inet_proto"), str("inet_service")) : jarr(3, str(at),
			str("inet_proto"), str("inet_service")), true)))
			return false;
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
	for (int f = 4; f <= 6; f += 2) {
		if (!push(tx, rule_cmd(g, jarr(2, match("==", key_expr(f, "saddr", "daddr"),
			setref(f == 4 ? "grants4" : "grants6")), verdict("accept")), "granted")))
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

/* add element commands for the non-empty sets; each array is taken. */
static bool
add_elements(json_t *tx, struct build *b)
{
	char n[16];
	bool ok = true;

	for (int i = 0; i < 2; i++) {
		int fam = i ? 6 : 4;
		json_t **sets[3] = { &b->locked[i], &b->closing[i], &b->grants[i] };
		const char *what[3] = { "locked", "closing", "grants" };

		for (int k = 0; k < 3; k++) {
			json_t *elems = *sets[k];

			*sets[k] = NULL;
			if (!ok || json_array_size(elems) == 0) {
				json_decref(elems);
				continue;
			}
			ok = push(tx, element_cmd(set_name(n, what[k], b->kind, fam), elems));
		}
	}
	return ok;
}

static void
build_free(struct build *b)
{
	for (int i = 0; i < 2; i++) {
		json_decref(b->locked[i]);
		json_decref(b->closing[i]);
		json_decref(b->grants[i]);
	}
}

json_t *
jit_enforcer_transaction(const struct jit_desired_state *ds, jit_time now,
	struct jit_enforce_stats *stats, struct jit_error *err)
{
	struct build b = { .kind = ds->kind };
	struct vec locked = { 0 }, grants = { 0 };
	json_t *tx = NULL, *root = NULL;

	for (int i = 0; i < 2; i++) {
		b.locked[i] = json_array();
		b.closing[i] = json_array();
		b.grants[i] = json_array();
		if (b.locked[i] == NULL || b.closing[i] == NULL || b.grants[i] == NULL) {
			nomem(err);
			goto out;
		}
	}
	if (collect(ds, now, &b, &locked, &grants, err) != 0 ||
		build_locked(&b, &locked, err) != 0 || build_grants(&b, &grants, err) != 0)
		goto out;

	tx = jarr(4, jobj(1, "metainfo", jobj(1, "json_schema_version", json_integer(1))),
		cmd("add", "table", table_obj()), cmd("delete", "table", table_obj()),
		cmd("add", "table", table_obj()));
	if (tx == NULL || !add_sets(tx, ds->kind) || !add_chain(tx, ds->kind) ||
		!(ds->kind == JIT_EP_GATEWAY ? add_gateway_rules(tx) : add_host_rules(tx)) ||
		!add_elements(tx, &b)) {
		nomem(err);
		goto out;
	}
	root = jobj(1, "nftables", tx);
	tx = NULL;
	if (root == NULL) {
		nomem(err);
		goto out;
	}
	if (stats != NULL)
		*stats = b.st;
out:
	json_decref(tx);
	build_free(&b);
	free(locked.v);
	free(grants.v);
	return root;
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
	struct jit_grant g = { .end_time = INT64_MAX, .seconds_remaining = 60 };
	struct jit_rule r = { .number = 22, .protocol = JIT_PROTO_ANY, .close_established = true,
		.n_grants = 1, .grants = &g };
	struct jit_desired_state ds = { .kind = kind, .n_rules = 1, .rules = &r };
	json_t *tx;

	/* "*" makes elements of both families; documentation addresses as destinations. */
	g.source.family = JIT_FAMILY_ANY;
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
