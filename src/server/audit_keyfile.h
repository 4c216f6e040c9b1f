/*
 * audit_keyfile.h: jitgated's audit key file on disk (the keys: audit_key.h).
 *
 * The file is created on the first start, 0600, with a MAC key for the entries from
 * the next one on and a signing key; later starts read it. It is refused when it is a
 * symlink, not a regular file, readable or writable by group or others, or owned by
 * another user. While jitgated runs it holds an exclusive lock on the file, so that a
 * rotation (which must not race a running server's entries) can tell it is running.
 */
#ifndef JIT_AUDIT_KEYFILE_H
#define JIT_AUDIT_KEYFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "audit_key.h"
#include "error.h"

struct jit_audit_keyfile {
	int fd;                       /* open and locked while the server runs */
	struct jit_audit_keyring keys;
};

/* Opens path (creating it with keys from next_seq on when missing: *created) and locks
 * it; 500 with a clear message when it is unsafe, unreadable or locked by another
 * jitgated. */
int jit_audit_keyfile_open(const char *path, int64_t next_seq, struct jit_audit_keyfile *out,
	bool *created, struct jit_error *err);
/* Adds a MAC key for entries from next_seq on and a new signing key, and writes the
 * file anew (atomically: a temporary file renamed over it). */
int jit_audit_keyfile_rotate(struct jit_audit_keyfile *kf, const char *path, int64_t next_seq,
	struct jit_error *err);
/* Unlocks, closes and wipes the keys. */
void jit_audit_keyfile_close(struct jit_audit_keyfile *kf);

#endif
