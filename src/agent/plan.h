/*
 * plan.h: what table inet jitgate must hold for a desired state, and the element
 * operations that take it from what was applied to that (pure: no kernel, no I/O).
 *
 * A desired state becomes a model: the sorted, unique elements of the table's sets,
 * each grant element with its kernel timeout and the end time it stands for. Applying
 * a new version is then a diff of two models, a short list of typed operations
 * (struct jit_nft_op, plain fixed-size records) that enforcer.h sends as one nftables
 * transaction: deletes first, then adds. Only a first sync, another table layout or
 * detected drift needs the whole table rebuilt (jit_plan_rebuild).
 *
 * Why the diff is careful (nftables 1.0.6, kernel 6.1): one failed delete (ENOENT)
 * aborts the whole batch, and the kernel removes timed-out elements on its own, so an
 * element whose timeout may have run out is never deleted; re-adding an existing
 * element keeps its old timeout, so a changed end time is a delete and an add in the
 * same batch; an element that must change but may be expiring right now cannot be
 * changed safely, and the diff asks for a rebuild instead (rare: an end time moved in
 * the last seconds of a grant).
 *
 * Sets (enum jit_nft_set): locked and closing keys in hash sets; single-address grants
 * in hash sets (an add or delete costs the same with 10 or 100,000 present); prefix
 * grants in concatenated interval sets (pipapo), whose elements must not overlap, so
 * prefixes are merged there: every address gets the longest timeout of the prefix
 * grants covering it. An address may sit in both a hash set and an interval set: the
 * rule accepts either, so its access lasts as long as its longest grant.
 */
#ifndef JIT_PLAN_H
#define JIT_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "desired_state.h"
#include "error.h"
#include "timestamp.h"

/* At most this many elements per table (a grant makes at most 64: both families,
 * both protocols, 16 destinations): bounds the netlink batch and kernel memory. */
#define JIT_PLAN_MAX_ELEMENTS (1 << 20)
/* An element whose timeout runs out within this much is treated as possibly gone. */
#define JIT_PLAN_EXPIRY_MARGIN_NS (2LL * JIT_NS_PER_SEC)

/* What one apply wrote, for the agent's log line and for tests. */
struct jit_enforce_stats {
	size_t locked;    /* locked (destination,) protocol, port keys */
	size_t closing;   /* of them, keys whose established flows need a live grant */
	size_t elements;  /* grant set elements, after merging overlapping prefixes */
	size_t expired;   /* grants skipped: no whole second left by the agent's clock */
	size_t unmatched; /* gateway grants with no destination of the source's family */
	size_t mapped;    /* grants with a mappedPort, enforced on the VM's own port: DNAT
	                   * is not applied yet */
};

enum jit_nft_set {
	JIT_NFT_LOCKED = 1, /* locked: (dest .) proto . port, hash */
	JIT_NFT_CLOSING,    /* locked with closeEstablished, hash */
	JIT_NFT_GRANTS,     /* single-address grants: src (. dest) . proto . port, hash */
	JIT_NFT_NETS,       /* prefix grants: the same key with a prefix, interval (pipapo) */
};

/* One set element. Fixed layout, no pointers: it crosses a process boundary as is. */
struct jit_nft_elem {
	uint8_t set;      /* enum jit_nft_set */
	uint8_t family;   /* 4 or 6; 0 for a host's locked and closing keys */
	uint8_t proto;    /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t len;      /* source prefix length: full for GRANTS, shorter for NETS, 0 else */
	uint16_t port;
	uint8_t src[16];  /* grants: source, host bits clear; zero otherwise */
	uint8_t dest[16]; /* gateway: the VM's address; zero on a host */
};

enum jit_nft_verb {
	JIT_NFT_ADD = 1,
	JIT_NFT_DELETE,
};

/* One operation on table inet jitgate. */
struct jit_nft_op {
	uint8_t verb;         /* enum jit_nft_verb */
	uint32_t timeout_s;   /* ADD of a grant: the kernel timeout; 0 otherwise */
	struct jit_nft_elem elem;
};

struct jit_nft_entry {
	struct jit_nft_elem elem;
	int64_t timeout;  /* grants: seconds, counted from the model's `at` */
	jit_time end;     /* grants: the end time of the grant that gave the timeout */
	jit_time expires; /* grants: the earliest the kernel may drop it (at + timeout) */
};

struct jit_nft_model {
	enum jit_ep_kind kind;
	jit_time at;                /* the agent's clock when the timeouts were computed */
	size_t n;
	struct jit_nft_entry *v;    /* sorted by jit_nft_elem_cmp, unique */
	struct jit_enforce_stats st;
};

/* The model of ds at now: timeouts min(end - now, secondsRemaining) in whole seconds;
 * grants with none left are skipped. */
int jit_plan_model(const struct jit_desired_state *ds, jit_time now,
	struct jit_nft_model **out, struct jit_error *err);
void jit_plan_model_free(struct jit_nft_model *m);

/* The operations that make the table of old (applied) into next, at now: 0 with *ops
 * (malloc'd; *n may be 0); 1 when only a rebuild can (another kind, or an element to
 * change may be timing out this very moment); -1 on error. Elements that stay take
 * old's timeouts and expiries in next, since the kernel keeps them as they are. */
int jit_plan_diff(const struct jit_nft_model *old, struct jit_nft_model *next, jit_time now,
	struct jit_nft_op **ops, size_t *n, struct jit_error *err);

/* Every element of m as an ADD, for a rebuild of the table. */
int jit_plan_rebuild(const struct jit_nft_model *m, struct jit_nft_op **ops, size_t *n,
	struct jit_error *err);

/* A kernel element as read back (enforcer.h), with the seconds it has left. */
struct jit_nft_actual {
	struct jit_nft_elem elem;
	int64_t expires_s;          /* -1: no timeout */
};

/* How the table differs from the model it should hold. */
struct jit_nft_drift {
	size_t missing;   /* in the model, live, not in the kernel */
	size_t foreign;   /* in the kernel, not in the model */
	size_t changed;   /* in both, with another timeout */
};

/* Compares the kernel's elements (sorted or not; reordered here) with m at now.
 * Elements within JIT_PLAN_EXPIRY_MARGIN_NS of their end on either side are not
 * counted (the kernel may or may not have dropped them yet); slack_ns is how much later
 * than m's expiry the kernel's may be (an apply's own duration). True when they differ. */
bool jit_plan_compare(const struct jit_nft_model *m, struct jit_nft_actual *k, size_t nk,
	jit_time now, int64_t slack_ns, struct jit_nft_drift *out);

int jit_nft_elem_cmp(const struct jit_nft_elem *a, const struct jit_nft_elem *b);

#endif
