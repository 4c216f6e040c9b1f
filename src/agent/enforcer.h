/*
 * enforcer.h: makes this machine's firewall match a desired state.
 *
 * The enforcer owns one nftables table, "inet jitgate", and nothing else: it never
 * reads, changes or flushes any other table (a user's own rules stay as they are).
 * It applies lists of element records (plan.h: add or delete one element, with its
 * kernel timeout), each list one atomic transaction: either a rebuild, which replaces
 * the whole table (layout and elements) so that nothing stale or foreign survives, or
 * an update of the existing sets with only the elements that changed. Each grant is a
 * set element with its own kernel timeout, so access closes on time even when the
 * agent is dead. Removing the table (or an agent that never ran) leaves every port
 * open again; the table is not tied to the agent's process.
 *
 * The enforcer runs with CAP_NET_ADMIN and talks to the kernel through libnftables
 * with JSON built from checked records: no shell, no text commands, no name lookups.
 * Functions return 0, or -1 with *err filled (400 for a record the table cannot hold,
 * 500 InternalServerError with nftables' own message, or 503 ServiceUnavailable when
 * nftables cannot be used at all).
 */
#ifndef JIT_ENFORCER_H
#define JIT_ENFORCER_H

#include <jansson.h>
#include <stddef.h>

#include "desired_state.h"
#include "error.h"
#include "plan.h"
#include "timestamp.h"

#define JIT_ENFORCER_FAMILY "inet"
#define JIT_ENFORCER_TABLE "jitgate"

struct jit_enforcer;

/* Opens a libnftables context (nothing is sent to the kernel yet). */
int jit_enforcer_open(struct jit_enforcer **out, struct jit_error *err);
void jit_enforcer_free(struct jit_enforcer *e);

/* Asks the kernel to check, without committing, the transaction an apply of this kind
 * would send (table, base chain, hash and concatenated interval sets with timeouts,
 * elements of both families). 503 when nftables is missing, not permitted or lacks a feature. */
int jit_enforcer_probe(struct jit_enforcer *e, enum jit_ep_kind kind, struct jit_error *err);

/* Applies ops as one transaction. rebuild: the table is replaced by an empty one of
 * kind's layout plus the ops (adds only); otherwise the ops change the existing sets
 * (deletes of elements that are not there fail the whole transaction). Every record is
 * checked first; nothing is sent if one is wrong. */
int jit_enforcer_commit(struct jit_enforcer *e, enum jit_ep_kind kind, bool rebuild,
	const struct jit_nft_op *ops, size_t n, struct jit_error *err);

/* The transaction jit_enforcer_commit would send, as libnftables JSON. */
json_t *jit_enforcer_ops_transaction(enum jit_ep_kind kind, bool rebuild,
	const struct jit_nft_op *ops, size_t n, struct jit_error *err);

/* Table inet jitgate as it is in the kernel. */
struct jit_enforcer_view {
	bool exists;
	char *layout;                 /* sets, chain and rules without handles or elements */
	size_t n;
	struct jit_nft_actual *elems; /* unreadable elements have set 0xff */
};

/* Reads the table (exists false when there is none); without elements, only its
 * layout (cheap however many elements there are). */
int jit_enforcer_read(struct jit_enforcer *e, enum jit_ep_kind kind, bool elements,
	struct jit_enforcer_view *out, struct jit_error *err);
void jit_enforcer_view_clear(struct jit_enforcer_view *v);

/* Rebuilds table inet jitgate from ds in one transaction (jit_plan_model, then a
 * rebuild). Each grant's kernel timeout is min(end_time - now, seconds_remaining) in
 * whole seconds; grants with none left are skipped. stats may be NULL. */
int jit_enforcer_apply(struct jit_enforcer *e, const struct jit_desired_state *ds,
	jit_time now, struct jit_enforce_stats *stats, struct jit_error *err);

/* Deletes table inet jitgate if it exists (every locked port opens again). */
int jit_enforcer_remove(struct jit_enforcer *e, struct jit_error *err);

/* Lists table inet jitgate as libnftables JSON ({"nftables": [...]}); *out is
 * malloc'd. Fails when the table does not exist. */
int jit_enforcer_dump(struct jit_enforcer *e, char **out, struct jit_error *err);

/* The transaction a rebuild from ds would send, as libnftables JSON, without sending
 * it (for `jitgate-enforce print` and tests). NULL with *err filled on failure. */
json_t *jit_enforcer_transaction(const struct jit_desired_state *ds, jit_time now,
	struct jit_enforce_stats *stats, struct jit_error *err);

#endif
