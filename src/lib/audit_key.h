/*
 * audit_key.h: the keys of the audit log, which the database never holds.
 *
 * The audit chain is keyed: each entry's hash is a BLAKE2b MAC under a secret key, so
 * someone who can write the database but not read the key file cannot make an altered,
 * inserted or re-chained entry verify. Checkpoints of the chain head are signed with an
 * Ed25519 key (audit_checkpoint.h), so a copy of the log can be checked against a head
 * that was published outside the database. Both keys live in one text file (0600,
 * created on jitgated's first start, outside the database; docs/security.md says how to
 * keep and rotate it):
 *
 *   jitgate-audit-keys 1
 *   mac FROM_SEQ HEX64      entries FROM_SEQ and later are MACed with this key
 *   sign HEX64              Ed25519 seed of the checkpoint signing key
 *
 * Rotation appends a mac line (from the next entry on) and/or a sign line; the newest
 * of each is used, the older mac lines stay so that older entries still verify, and
 * older signing keys' public halves are printed for whoever pinned them. Entries
 * before the first mac line's FROM_SEQ predate keying (a database from an older
 * jitgated) and carry the unkeyed hash.
 */
#ifndef JIT_AUDIT_KEY_H
#define JIT_AUDIT_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define JIT_AUDIT_MAC_KEY_BYTES 32
#define JIT_AUDIT_SIGN_SEED_BYTES 32
#define JIT_AUDIT_SIGN_PK_BYTES 32
#define JIT_AUDIT_SIGN_SK_BYTES 64
#define JIT_AUDIT_MAX_KEYS 64
/* A key file is small; anything larger is not one. */
#define JIT_AUDIT_KEYFILE_MAX 16384

struct jit_audit_mac_key {
	int64_t from_seq;
	uint8_t key[JIT_AUDIT_MAC_KEY_BYTES];
};

struct jit_audit_sign_key {
	uint8_t pk[JIT_AUDIT_SIGN_PK_BYTES];
	uint8_t sk[JIT_AUDIT_SIGN_SK_BYTES];
};

struct jit_audit_keyring {
	size_t n_mac;
	struct jit_audit_mac_key mac[JIT_AUDIT_MAX_KEYS];   /* from_seq ascending */
	size_t n_sign;
	struct jit_audit_sign_key sign[JIT_AUDIT_MAX_KEYS]; /* oldest first */
};

/* Parses a key file's text (len bytes). 400 with the line for anything else: a
 * wrong header, an unknown line, bad hex, from_seq not ascending, too many keys, no
 * mac or no sign line. */
int jit_audit_keyring_parse(const char *text, size_t len, struct jit_audit_keyring *out,
	struct jit_error *err);

/* The key file's text (malloc'd, to be wiped and freed by the caller); NULL on OOM. */
char *jit_audit_keyring_format(const struct jit_audit_keyring *kr);

/* Adds a fresh random MAC key for entries from_seq on (after every existing one's
 * from_seq) and/or a fresh signing key. 400 when from_seq is not after the last. */
int jit_audit_keyring_add_mac(struct jit_audit_keyring *kr, int64_t from_seq,
	struct jit_error *err);
int jit_audit_keyring_add_sign(struct jit_audit_keyring *kr, struct jit_error *err);

/* The MAC key for entry seq; NULL when seq predates keying. */
const struct jit_audit_mac_key *jit_audit_keyring_mac_for(const struct jit_audit_keyring *kr,
	int64_t seq);
/* The signing key in use (the newest). */
const struct jit_audit_sign_key *jit_audit_keyring_signer(const struct jit_audit_keyring *kr);

/* Wipes every secret. */
void jit_audit_keyring_wipe(struct jit_audit_keyring *kr);

#endif
