/*
 * enforcer.h: makes this machine's firewall match a desired state.
 *
 * The enforcer owns one nftables table, "inet jitgate", and nothing else: it never
 * reads, changes or flushes any other table (a user's own rules stay as they are).
 * Every change is one atomic transaction that replaces the whole table, so the
 * table matches the desired state exactly after each apply, stale elements included,
 * and applying the same state twice gives the same rules and elements. Each grant is
 * a set element with its own kernel timeout, so access closes on time even when the
 * agent is dead. Removing the table (or an agent that never ran) leaves every port
 * open again; the table is not tied to the agent's process.
 *
 * The enforcer runs with CAP_NET_ADMIN and talks to the kernel through libnftables
 * with JSON built from validated structs: no shell, no text commands, no name lookups.
 * Functions return 0, or -1 with *err filled (500 InternalServerError with nftables'
 * own message, or 503 ServiceUnavailable when nftables cannot be used at all).
 */
#ifndef JIT_ENFORCER_H
#define JIT_ENFORCER_H

#include <jansson.h>
#include <stddef.h>

#include "desired_state.h"
#include "error.h"
#include "timestamp.h"

#define JIT_ENFORCER_FAMILY "inet"
#define JIT_ENFORCER_TABLE "jitgate"

/* What one apply wrote, for the agent's log line and for tests. */
struct jit_enforce_stats {
	size_t locked;    /* locked (destination,) protocol, port keys */
	size_t closing;   /* of them, keys whose established flows need a live grant */
	size_t elements;  /* grant set elements written, after merging overlapping grants */
	size_t expired;   /* grants skipped: no whole second left by the agent's clock */
	size_t unmatched; /* gateway grants with no destination of the source's family */
	size_t mapped;    /* grants with a mappedPort, enforced on the VM's own port: DNAT
	                   * is not applied yet */
};

struct jit_enforcer;

/* Opens a libnftables context (nothing is sent to the kernel yet). */
int jit_enforcer_open(struct jit_enforcer **out, struct jit_error *err);
void jit_enforcer_free(struct jit_enforcer *e);

/* Asks the kernel to check, without committing, the transaction an apply of this kind
 * would send (table, base chain, concatenated interval sets with timeouts, elements of
 * both families). 503 when nftables is missing, not permitted or lacks a feature. */
int jit_enforcer_probe(struct jit_enforcer *e, enum jit_ep_kind kind, struct jit_error *err);

/* Makes table inet jitgate match ds in one transaction. Each grant's kernel timeout is
 * min(end_time - now, seconds_remaining) in whole seconds; grants with none left are
 * skipped. stats may be NULL. */
int jit_enforcer_apply(struct jit_enforcer *e, const struct jit_desired_state *ds,
	jit_time now, struct jit_enforce_stats *stats, struct jit_error *err);

/* Deletes table inet jitgate if it exists (every locked port opens again). */
int jit_enforcer_remove(struct jit_enforcer *e, struct jit_error *err);

/* Lists table inet jitgate as libnftables JSON ({"nftables": [...]}); *out is
 * malloc'd. Fails when the table does not exist. */
int jit_enforcer_dump(struct jit_enforcer *e, char **out, struct jit_error *err);

/* The transaction apply would send, as libnftables JSON, without sending it (for
 * `jitgate-enforce print` and tests). NULL with *err filled on failure. */
json_t *jit_enforcer_transaction(const struct jit_desired_state *ds, jit_time now,
	struct jit_enforce_stats *stats, struct jit_error *err);

#endif
