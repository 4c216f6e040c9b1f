/*
 * audit_chain.h: the audit log's hash chain, pure (no I/O): how an entry is
 * encoded for hashing, how its hash links it to the entry before, what index
 * (resource key, VM keys) its content implies, and the verification that walks
 * stored entries in order and names the first one that was altered, removed,
 * reordered or hidden. The store keeps the rows; this module decides whether
 * they are intact, so every backend verifies alike.
 */
#ifndef JIT_AUDIT_CHAIN_H
#define JIT_AUDIT_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit_key.h"
#include "resource_id.h"
#include "timestamp.h"

#define JIT_AUDIT_HASH_HEX 65
/* The hash the first entry links to. */
#define JIT_AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* One entry's content as the chain covers it. Text fields may be NULL (distinct
 * from ""); principal_id 0 is "no principal" (anonymous). */
struct jit_audit_record {
	int64_t seq;
	jit_time time;
	int64_t principal_id;
	const char *principal_name;
	const char *caller;
	const char *operation;
	const char *resource_id;
	const char *result;
	int status;
	const char *correlation_id;
	const char *details_json;
	const char *vms_json;           /* JSON array of the VM IDs concerned, or NULL */
};

/* BLAKE2b-256 over a version tag, prev (hex) and every field length-prefixed, as hex:
 * the unkeyed hash, which entries written before the log was keyed carry. */
void jit_audit_hash(const char *prev, const struct jit_audit_record *r,
	char out[JIT_AUDIT_HASH_HEX]);

/* The same encoding under its own tag, as a keyed BLAKE2b-256 MAC: without the key no
 * one can compute it, so an entry altered, inserted or re-chained by someone who can
 * write the database but not read the key file (audit_key.h) does not verify. */
void jit_audit_mac(const uint8_t key[JIT_AUDIT_MAC_KEY_BYTES], const char *prev,
	const struct jit_audit_record *r, char out[JIT_AUDIT_HASH_HEX]);

/* What entry r's hash must be: the MAC under the key kr holds for r->seq, or the unkeyed
 * hash when kr is NULL or r predates its first key. */
void jit_audit_entry_hash(const struct jit_audit_keyring *kr, const char *prev,
	const struct jit_audit_record *r, char out[JIT_AUDIT_HASH_HEX]);

/* The canonical VMs member of an entry: a compact JSON array of the VMs' IDs, or NULL
 * when n is 0. *out is malloc'd; -1 when out of memory. */
int jit_audit_vms_json(const struct jit_rid *vms, size_t n, char **out);

/* The index an entry's content implies, which scoped and per-VM queries use:
 * resource_key is the lowercased resource ID ("" when it is none or not an ID);
 * vm_keys the lowercased VM IDs of vms_json, sorted, without duplicates, joined by
 * one space ("" when none). *vm_keys is malloc'd; -1 when out of memory. A vms_json
 * that is not an array of IDs implies no VM keys. */
int jit_audit_index(const char *resource_id, const char *vms_json,
	char resource_key[JIT_RESOURCE_ID_MAX], char **vm_keys);

struct jit_audit_verdict {
	bool ok;
	int64_t entries;                /* entries checked */
	int64_t first_broken_seq;       /* 0 when ok */
	char reason[256];
	char head[JIT_AUDIT_HASH_HEX];  /* the last hash (when ok) */
	int64_t head_seq;               /* the last entry (when ok) */
	int64_t checkpoint_seq;         /* a checkpoint was given: its entry (else 0) */
	bool checkpoint_matched;        /* ... and that entry has the checkpoint's head */
};

/* Verification, one stored entry at a time in seq order. */
struct jit_audit_verifier {
	struct jit_audit_verdict verdict;
	char prev[JIT_AUDIT_HASH_HEX];
	int64_t expect_seq;
	const struct jit_audit_keyring *keys;    /* NULL: an unkeyed log */
	bool has_checkpoint;
	char checkpoint_head[JIT_AUDIT_HASH_HEX];
};

/* What the store holds for an entry beyond its content. */
struct jit_audit_stored {
	const char *prev_hash, *hash;   /* as stored (NULL reads as "") */
	const char *resource_key;       /* the stored index, NULL for none */
	const char *vm_keys;            /* stored VM keys, sorted, space-joined, NULL for none */
};

void jit_audit_verify_begin(struct jit_audit_verifier *v);
/* Entries are checked against keys (jit_audit_entry_hash); NULL: unkeyed. */
void jit_audit_verify_keys(struct jit_audit_verifier *v, const struct jit_audit_keyring *kr);
/* Also checks that entry seq (>= 1) has hash head, a checkpoint's anchor from outside the
 * database: a log rewritten up to it, or ending before it (cut back, rolled back to a
 * copy), fails at that entry. seq 0 (a checkpoint of the empty log) checks nothing. */
void jit_audit_verify_checkpoint(struct jit_audit_verifier *v, int64_t seq, const char *head);
/* Checks the next entry; false once the chain is broken (the verdict says where).
 * -1 (with ok left true) only when out of memory. */
int jit_audit_verify_entry(struct jit_audit_verifier *v, const struct jit_audit_record *r,
	const struct jit_audit_stored *stored, bool *intact);
/* After the last entry: the recorded head must be the last entry, so that cutting
 * entries off the end is caught. Fills out (head set when ok). */
void jit_audit_verify_end(struct jit_audit_verifier *v, int64_t head_seq, const char *head_hash,
	struct jit_audit_verdict *out);

#endif
