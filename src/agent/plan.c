/*
 * plan.c: desired state -> model -> element operations (plan.h).
 *
 * Building a model: every rule gives its locked keys (one per protocol, and on a
 * gateway per destination) and every live grant its elements (per family, protocol
 * and, on a gateway, destination). Single addresses go to the GRANTS hash sets as
 * they are; the same key twice keeps the longer timeout. Prefixes go to the NETS
 * interval sets, which refuse overlapping elements, so they are merged per key first:
 * a prefix inside a longer-lived one is dropped, a longer-lived prefix inside a
 * shorter-lived one is carved out of it (the outer prefix becomes the CIDR blocks
 * around the inner one).
 *
 * The diff walks two sorted models side by side (see plan.h for why it never deletes
 * an element that may have expired).
 */
#include "plan.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* A locked key or a grant element before it becomes a model entry. */
struct elem {
	uint8_t family;   /* 4 or 6; 0 for a host's locked keys, which have no address */
	uint8_t proto;    /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t port;
	uint8_t dest[16]; /* gateway: the VM's address; zero on a host */
	uint8_t src[16];  /* grants: source prefix, host bits clear */
	uint8_t len;
	bool closing;     /* locked keys: closeEstablished */
	int64_t timeout;  /* grants: seconds */
	jit_time end;     /* grants: the grant's end time */
};

struct vec {
	struct elem *v;
	size_t n, cap;
};

struct build {
	enum jit_ep_kind kind;
	jit_time now;
	struct jit_nft_entry *v;
	size_t n, cap;
	struct jit_enforce_stats st;
};

/* Merging one group of prefix grants (same family, destination, protocol and port). */
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

static int
too_many(struct jit_error *err)
{
	return jit_errorf(err, 500, JIT_E_INTERNAL,
		"the desired state needs more than %d set elements", JIT_PLAN_MAX_ELEMENTS);
}

static int
vec_push(struct vec *v, const struct elem *e, struct jit_error *err)
{
	struct elem *nv;
	size_t cap;

	if (v->n == v->cap) {
		if (v->n >= JIT_PLAN_MAX_ELEMENTS)
			return too_many(err);
		cap = v->cap ? v->cap * 2 : 64;
		if ((nv = realloc(v->v, cap * sizeof(*nv))) == NULL)
			return nomem(err);
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = *e;
	return 0;
}

static int
entry_push(struct build *b, const struct jit_nft_entry *e, struct jit_error *err)
{
	struct jit_nft_entry *nv;
	size_t cap;

	if (b->n == b->cap) {
		if (b->n >= JIT_PLAN_MAX_ELEMENTS)
			return too_many(err);
		cap = b->cap ? b->cap * 2 : 64;
		if ((nv = realloc(b->v, cap * sizeof(*nv))) == NULL)
			return nomem(err);
		b->v = nv;
		b->cap = cap;
	}
	b->v[b->n++] = *e;
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

static unsigned
full_len(int family)
{
	return family == 6 ? 128u : 32u;
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

/*
 * Collecting elements from the desired state
 */

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
			e.end = g->end_time;
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

static int
collect(const struct jit_desired_state *ds, struct build *b, struct vec *locked,
	struct vec *grants, struct jit_error *err)
{
	for (size_t i = 0; i < ds->n_rules; i++) {
		const struct jit_rule *r = &ds->rules[i];

		if (collect_locked(r, ds->kind, locked, err) != 0)
			return -1;
		for (size_t k = 0; k < r->n_grants; k++) {
			int64_t t = grant_timeout(&r->grants[k], b->now);
			size_t n = 0;

			if (t <= 0) {
				b->st.expired++;
				continue;
			}
			/* Port mappings (gateway DNAT) are not enforced yet: the grant opens
			 * the VM's own port, and the caller is told how many carried one. */
			if (r->grants[k].has_mapped_port)
				b->st.mapped++;
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

/* A grant element of set (GRANTS or NETS): source block src/len of n. */
static int
emit(struct build *b, enum jit_nft_set set, const struct elem *n, const uint8_t src[16],
	unsigned len, struct jit_error *err)
{
	struct jit_nft_entry e;

	memset(&e, 0, sizeof(e));
	e.elem.set = (uint8_t)set;
	e.elem.family = n->family;
	e.elem.proto = n->proto;
	e.elem.port = n->port;
	e.elem.len = (uint8_t)len;
	memcpy(e.elem.src, src, 16);
	memcpy(e.elem.dest, n->dest, 16);
	e.timeout = n->timeout;
	e.end = n->end;
	e.expires = b->now + n->timeout * JIT_NS_PER_SEC;
	if (entry_push(b, &e, err) != 0)
		return -1;
	b->st.elements++;
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
		return emit(f->b, JIT_NFT_NETS, n, src, len, err);
	/* Disjoint holes inside the block: one of the same length is the block itself. */
	if (f->g[holes[0]].len == len || len >= full_len(n->family))
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

/* The same prefix twice keeps the longer timeout (and its end); returns the count. */
static size_t
dedup(struct elem *g, size_t n)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		if (m > 0 && g[m - 1].len == g[i].len && memcmp(g[m - 1].src, g[i].src, 16) == 0) {
			if (g[i].timeout > g[m - 1].timeout) {
				g[m - 1].timeout = g[i].timeout;
				g[m - 1].end = g[i].end;
			}
			continue;
		}
		g[m++] = g[i];
	}
	return m;
}

/* Merges the prefix group g[0..n) (sorted by grant_cmp) into non-overlapping elements. */
static int
flatten(struct flat *f, struct elem *g, size_t n, size_t *stack, struct jit_error *err)
{
	size_t m = dedup(g, n), sp = 0, i;

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

/* Single addresses: one GRANTS element per (key, address). */
static int
build_hosts(struct build *b, struct elem *g, size_t n, struct jit_error *err)
{
	size_t m = dedup(g, n);

	for (size_t i = 0; i < m; i++)
		if (emit(b, JIT_NFT_GRANTS, &g[i], g[i].src, g[i].len, err) != 0)
			return -1;
	return 0;
}

static int
build_grants(struct build *b, struct vec *grants, struct jit_error *err)
{
	struct flat f = { .b = b };
	size_t *stack = NULL;
	size_t lo, mid, hi;
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
		struct elem *g = grants->v;

		for (hi = lo + 1; hi < grants->n && key_cmp(&g[lo], &g[hi]) == 0; hi++)
			;
		/* Within a key, prefixes first (partitioned, each part still sorted). */
		for (mid = lo; mid < hi && g[mid].len < full_len(g[mid].family); mid++)
			;
		if (mid < hi) {
			size_t np = 0, nh = 0;
			struct elem *tmp = malloc((hi - lo) * sizeof(*tmp));

			if (tmp == NULL) {
				nomem(err);
				goto out;
			}
			for (size_t i = lo; i < hi; i++)
				if (g[i].len < full_len(g[i].family))
					np++;
			for (size_t i = lo; i < hi; i++)
				tmp[g[i].len < full_len(g[i].family) ? nh++ : np + (i - lo - nh)] = g[i];
			memcpy(g + lo, tmp, (hi - lo) * sizeof(*tmp));
			free(tmp);
			mid = lo + np;
		}
		if (mid > lo && flatten(&f, g + lo, mid - lo, stack, err) != 0)
			goto out;
		if (hi > mid && build_hosts(b, g + mid, hi - mid, err) != 0)
			goto out;
	}
	r = 0;
out:
	free(f.end);
	free(f.holes);
	free(stack);
	return r;
}

static int
locked_entry(struct build *b, enum jit_nft_set set, const struct elem *k,
	struct jit_error *err)
{
	struct jit_nft_entry e;

	memset(&e, 0, sizeof(e));
	e.elem.set = (uint8_t)set;
	e.elem.family = k->family;
	e.elem.proto = k->proto;
	e.elem.port = k->port;
	memcpy(e.elem.dest, k->dest, 16);
	return entry_push(b, &e, err);
}

/* One element per key; a key is closing if any rule for it says closeEstablished. */
static int
build_locked(struct build *b, struct vec *locked, struct jit_error *err)
{
	size_t lo, hi;
	bool closing;

	if (locked->n > 0)
		qsort(locked->v, locked->n, sizeof(*locked->v), locked_cmp);
	for (lo = 0; lo < locked->n; lo = hi) {
		closing = false;
		for (hi = lo; hi < locked->n && key_cmp(&locked->v[lo], &locked->v[hi]) == 0; hi++)
			closing = closing || locked->v[hi].closing;
		if (locked_entry(b, JIT_NFT_LOCKED, &locked->v[lo], err) != 0)
			return -1;
		b->st.locked++;
		if (!closing)
			continue;
		if (locked_entry(b, JIT_NFT_CLOSING, &locked->v[lo], err) != 0)
			return -1;
		b->st.closing++;
	}
	return 0;
}

/*
 * Models
 */

int
jit_nft_elem_cmp(const struct jit_nft_elem *a, const struct jit_nft_elem *b)
{
	int c;

	if (a->set != b->set)
		return a->set < b->set ? -1 : 1;
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if ((c = memcmp(a->dest, b->dest, 16)) != 0)
		return c;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	if ((c = memcmp(a->src, b->src, 16)) != 0)
		return c;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return 0;
}

static int
entry_cmp(const void *a, const void *b)
{
	return jit_nft_elem_cmp(&((const struct jit_nft_entry *)a)->elem,
		&((const struct jit_nft_entry *)b)->elem);
}

static int
actual_cmp(const void *a, const void *b)
{
	return jit_nft_elem_cmp(&((const struct jit_nft_actual *)a)->elem,
		&((const struct jit_nft_actual *)b)->elem);
}

/* True when v[0..n) is in order. */
static bool
sorted(const struct jit_nft_entry *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (entry_cmp(&v[i - 1], &v[i]) > 0)
			return false;
	return true;
}

/*
 * Puts b's entries in model order (by set, then key) without sorting them all: they
 * were made key by key, so each set's own entries come out in order already but for
 * the prefix blocks that carving makes (few); those are sorted, and any other set is
 * checked and sorted only if it is not in order after all. With 100,000 grants this
 * halves the cost of a model.
 */
static int
sort_entries(struct build *b, struct jit_error *err)
{
	size_t count[JIT_NFT_NETS + 1] = { 0 }, start[JIT_NFT_NETS + 2] = { 0 };
	struct jit_nft_entry *out;

	if (b->n < 2)
		return 0;
	for (size_t i = 0; i < b->n; i++)
		count[b->v[i].elem.set]++;
	for (int k = JIT_NFT_LOCKED; k <= JIT_NFT_NETS; k++)
		start[k + 1] = start[k] + count[k];
	if ((out = malloc(b->n * sizeof(*out))) == NULL)
		return nomem(err);
	for (size_t i = 0; i < b->n; i++)
		out[start[b->v[i].elem.set]++] = b->v[i];
	free(b->v);
	b->v = out;
	b->cap = b->n;
	for (int k = JIT_NFT_LOCKED, at = 0; k <= JIT_NFT_NETS; at += (int)count[k], k++) {
		struct jit_nft_entry *seg = out + at;

		if (k == JIT_NFT_NETS || !sorted(seg, count[k]))
			qsort(seg, count[k], sizeof(*seg), entry_cmp);
	}
	return 0;
}

int
jit_plan_model(const struct jit_desired_state *ds, jit_time now, struct jit_nft_model **out,
	struct jit_error *err)
{
	struct build b = { .kind = ds->kind, .now = now };
	struct vec locked = { 0 }, grants = { 0 };
	struct jit_nft_model *m = NULL;
	int r = -1;

	*out = NULL;
	if (collect(ds, &b, &locked, &grants, err) != 0 || build_locked(&b, &locked, err) != 0 ||
		build_grants(&b, &grants, err) != 0)
		goto out;
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		nomem(err);
		goto out;
	}
	if (sort_entries(&b, err) != 0) {
		free(m);
		goto out;
	}
	m->kind = ds->kind;
	m->at = now;
	m->n = b.n;
	m->v = b.v;
	m->st = b.st;
	b.v = NULL;
	*out = m;
	r = 0;
out:
	free(b.v);
	free(locked.v);
	free(grants.v);
	return r;
}

void
jit_plan_model_free(struct jit_nft_model *m)
{
	if (m == NULL)
		return;
	free(m->v);
	free(m);
}

static bool
is_grant(const struct jit_nft_elem *e)
{
	return e->set == JIT_NFT_GRANTS || e->set == JIT_NFT_NETS;
}

/* The kernel may have dropped (or be dropping) e by now. */
static bool
may_be_gone(const struct jit_nft_entry *e, jit_time now)
{
	return is_grant(&e->elem) && e->expires <= now + JIT_PLAN_EXPIRY_MARGIN_NS;
}

static struct jit_nft_op
op_of(enum jit_nft_verb verb, const struct jit_nft_entry *e)
{
	struct jit_nft_op op;

	memset(&op, 0, sizeof(op));
	op.verb = (uint8_t)verb;
	op.elem = e->elem;
	if (verb == JIT_NFT_ADD && is_grant(&e->elem))
		op.timeout_s = (uint32_t)(e->timeout > UINT32_MAX ? UINT32_MAX : e->timeout);
	return op;
}

int
jit_plan_diff(const struct jit_nft_model *old, struct jit_nft_model *next, jit_time now,
	struct jit_nft_op **ops, size_t *n, struct jit_error *err)
{
	struct jit_nft_op *dels = NULL, *adds = NULL;
	size_t nd = 0, na = 0, i = 0, k = 0;
	int r = -1;

	*ops = NULL;
	*n = 0;
	if (old->kind != next->kind)
		return 1;
	/* At most one delete per old element and one add per new one; dels gets the adds
	 * appended at the end. */
	dels = malloc((old->n + next->n + 1) * sizeof(*dels));
	adds = malloc((next->n + 1) * sizeof(*adds));
	if (dels == NULL || adds == NULL) {
		nomem(err);
		goto out;
	}
	while (i < old->n || k < next->n) {
		const struct jit_nft_entry *o = i < old->n ? &old->v[i] : NULL;
		struct jit_nft_entry *w = k < next->n ? &next->v[k] : NULL;
		int c = o == NULL ? 1 : w == NULL ? -1 : jit_nft_elem_cmp(&o->elem, &w->elem);

		if (c < 0) {
			/* Gone from the state. Expiring anyway: a delete could fail the batch. */
			if (!may_be_gone(o, now))
				dels[nd++] = op_of(JIT_NFT_DELETE, o);
			i++;
		} else if (c > 0) {
			adds[na++] = op_of(JIT_NFT_ADD, w);
			k++;
		} else {
			if (is_grant(&w->elem) && w->end != o->end) {
				/* Another end time: delete + add (an add alone keeps the old
				 * timeout). Unless the element may be timing out right now. */
				if (may_be_gone(o, now)) {
					r = 1;
					goto out;
				}
				dels[nd++] = op_of(JIT_NFT_DELETE, o);
				adds[na++] = op_of(JIT_NFT_ADD, w);
			} else if (is_grant(&w->elem)) {
				/* Unchanged: the kernel element keeps counting down as it was. */
				w->timeout = o->timeout;
				w->expires = o->expires;
			}
			i++;
			k++;
		}
	}
	if (na > 0)
		memcpy(dels + nd, adds, na * sizeof(*adds));
	*ops = dels;
	*n = nd + na;
	dels = NULL;
	r = 0;
out:
	free(dels);
	free(adds);
	return r;
}

int
jit_plan_rebuild(const struct jit_nft_model *m, struct jit_nft_op **ops, size_t *n,
	struct jit_error *err)
{
	*n = 0;
	if ((*ops = malloc((m->n + 1) * sizeof(**ops))) == NULL)
		return nomem(err);
	for (size_t i = 0; i < m->n; i++)
		(*ops)[i] = op_of(JIT_NFT_ADD, &m->v[i]);
	*n = m->n;
	return 0;
}

bool
jit_plan_compare(const struct jit_nft_model *m, struct jit_nft_actual *k, size_t nk,
	jit_time now, int64_t slack_ns, struct jit_nft_drift *out)
{
	size_t i = 0, j = 0;

	memset(out, 0, sizeof(*out));
	if (nk > 1)
		qsort(k, nk, sizeof(*k), actual_cmp);
	while (i < m->n || j < nk) {
		const struct jit_nft_entry *e = i < m->n ? &m->v[i] : NULL;
		const struct jit_nft_actual *a = j < nk ? &k[j] : NULL;
		int c = e == NULL ? 1 : a == NULL ? -1 : jit_nft_elem_cmp(&e->elem, &a->elem);

		if (c < 0) {
			if (!may_be_gone(e, now))
				out->missing++;
			i++;
			continue;
		}
		if (c > 0) {
			/* A foreign element about to time out is ignored like ours. */
			if (!(a->expires_s >= 0 &&
				a->expires_s * JIT_NS_PER_SEC <= JIT_PLAN_EXPIRY_MARGIN_NS + JIT_NS_PER_SEC))
				out->foreign++;
			j++;
			continue;
		}
		if (is_grant(&e->elem) && !may_be_gone(e, now)) {
			/* The kernel prints whole seconds left, rounded down. */
			jit_time kexp = now + a->expires_s * JIT_NS_PER_SEC;

			if (a->expires_s < 0 || kexp + JIT_NS_PER_SEC < e->expires - JIT_NS_PER_SEC ||
				kexp > e->expires + slack_ns + JIT_NS_PER_SEC)
				out->changed++;
		} else if (!is_grant(&e->elem) && a->expires_s >= 0) {
			out->changed++;
		}
		i++;
		j++;
	}
	return out->missing + out->foreign + out->changed > 0;
}
