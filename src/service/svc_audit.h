/*
 * svc_audit.h: the audit log as a service: refusals recorded on their own,
 * queries filtered to what the actor may read, and verification of the chain
 * (audit_chain.h decides; the store keeps the rows). No call edits or deletes
 * an entry.
 */
#ifndef JIT_SVC_AUDIT_H
#define JIT_SVC_AUDIT_H

#include "audit_checkpoint.h"
#include "service.h"

/* The action that reads the log (built-in readers and owners hold it). */
#define JIT_AUDIT_READ "Jitgate/auditLogs/read"

/* Records a refused call (its error's status, code and message) in a transaction of
 * its own; best effort: a storage failure here does not change the caller's answer. */
void jit_svc_audit_refusal(struct jit_store *st, const struct jit_actor *a,
	const char *operation, const char *resource_id, const struct jit_rid *vms, size_t n_vms,
	const struct jit_error *failure);

/* The chain's head: the last entry's seq (0 when empty) and hash, read in a transaction
 * of its own (jitgated's start keys the audit MAC from the entry after it). */
int jit_svc_audit_head(struct jit_store *st, int64_t *seq, char head[JIT_AUDIT_HASH_HEX],
	struct jit_error *err);

/* Appends e (jitgated's own entry: a summary, a sweep) in a transaction of its own. */
int jit_svc_audit_entry(struct jit_store *st, const struct jit_audit_entry *e,
	struct jit_error *err);

/* The entries f selects, newest first, without those the actor may not read (an entry
 * is readable with JIT_AUDIT_READ on its resource, or on "/" when it names none).
 * *more is set when the store returned a full page (f->limit rows before filtering),
 * *last_seq to the oldest seq of that page (the next page's before_seq).
 * *out is freed with jit_audit_rows_free. */
int jit_svc_audit_query(struct jit_store *st, const struct jit_actor *a,
	const struct jit_audit_filter *f, struct jit_audit_row **out, size_t *n, bool *more,
	int64_t *last_seq, struct jit_error *err);

/* Verifies the whole chain; with checkpoint_seq > 0, also that entry checkpoint_seq has
 * hash checkpoint_head (a checkpoint's anchor, audit_checkpoint.h). */
int jit_svc_audit_verify(struct jit_store *st, const struct jit_actor *a, int64_t checkpoint_seq,
	const char *checkpoint_head, struct jit_audit_verdict *out, struct jit_error *err);

/* A checkpoint of the chain's head now, signed with kr's signing key; a NULL actor is the
 * server itself (its periodic checkpoints). 503 without a signing key. */
int jit_svc_audit_checkpoint(struct jit_store *st, const struct jit_actor *a,
	const struct jit_audit_keyring *kr, jit_time now, struct jit_audit_checkpoint *out,
	struct jit_error *err);

#endif
