/*
 * audit_checkpoint.h: signed checkpoints of the audit chain's head.
 *
 * A checkpoint says "at TIME the log's entry SEQ was the newest, with hash HEAD",
 * signed with jitgated's Ed25519 audit key (audit_key.h). jitgated writes one to the
 * operator log (syslog/journald) periodically and hands out a fresh one through the
 * API; kept anywhere outside the database, it anchors the log: an entry at or before
 * SEQ that was changed, removed or re-chained, or a log cut back or rolled back past
 * SEQ, no longer matches HEAD (jitgate audit verify --checkpoint FILE).
 *
 * The signature covers exactly this text (the public key included, so that a
 * checkpoint cannot be passed off under another key):
 *   jitgate-audit-checkpoint 1\n seq=SEQ\n head=HEAD\n time=TIME\n key=PUBLIC-KEY-HEX\n
 * A checkpoint travels as JSON ({"sequence", "head", "timeUtc", "publicKey",
 * "signature"}) or as the operator log's line (event=audit_checkpoint seq=... head=...
 * time=... key=... sig=...); both parse back.
 */
#ifndef JIT_AUDIT_CHECKPOINT_H
#define JIT_AUDIT_CHECKPOINT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "audit_key.h"
#include "error.h"
#include "timestamp.h"

#define JIT_AUDIT_HEAD_HEX 65     /* 64 hex digits and NUL */
#define JIT_AUDIT_SIG_BYTES 64
/* The log line's key=value text, NUL included. */
#define JIT_AUDIT_CHECKPOINT_LINE 420

struct jit_audit_checkpoint {
	int64_t seq;                            /* 0: an empty log */
	char head[JIT_AUDIT_HEAD_HEX];          /* lowercase hex; the genesis when empty */
	jit_time time;                          /* whole 100 ns, as text keeps it */
	uint8_t pk[JIT_AUDIT_SIGN_PK_BYTES];
	uint8_t sig[JIT_AUDIT_SIG_BYTES];
};

/* Fills and signs cp for (seq, head) at t with k. 400 for a head that is not 64 hex. */
int jit_audit_checkpoint_sign(struct jit_audit_checkpoint *cp, int64_t seq, const char *head,
	jit_time t, const struct jit_audit_sign_key *k, struct jit_error *err);

/* Is cp's signature valid under its own public key? (Whether that key is one to trust
 * is the caller's question: compare cp->pk with a pinned key.) */
bool jit_audit_checkpoint_valid(const struct jit_audit_checkpoint *cp);

json_t *jit_audit_checkpoint_to_json(const struct jit_audit_checkpoint *cp);
/* The log line's fields (without "event=audit_checkpoint"). */
void jit_audit_checkpoint_to_line(const struct jit_audit_checkpoint *cp,
	char out[JIT_AUDIT_CHECKPOINT_LINE]);

/* Parses a checkpoint given as JSON or as a log line (text up to len bytes; a syslog
 * prefix before the fields is skipped). Strict: every field once, in its form.
 * The signature is not checked here. 400 with what is wrong. */
int jit_audit_checkpoint_parse(const char *text, size_t len, struct jit_audit_checkpoint *out,
	struct jit_error *err);

#endif
