/*
 * state_dir.h: jitgated's state directory is trusted only as jitgated made it
 * (security finding 9). The directory and its tls/ directory must be ours and writable
 * by nobody else; the files jitgated reads from them (the database, the TLS key and
 * certificate) must be regular files of ours, never symbolic links, and secrets are
 * brought to mode 0600 when found wider. Anyone else who could write there could plant a
 * key, a certificate or a database of their own.
 */
#ifndef JIT_STATE_DIR_H
#define JIT_STATE_DIR_H

#include <stdbool.h>

#include "error.h"

/* A directory jitgated keeps state in. top: the state directory itself, which may be
 * reached through a symbolic link the operator made (/var/lib/jitgated -> /data/...);
 * an inner one (tls/) may not be a link. 500 with the reason otherwise. */
int jit_state_dir_check(const char *path, bool top, struct jit_error *err);

/* A file in it: absent is fine; else a regular file (not a link) owned by us. A secret
 * (database, key) found readable by others is chmod'ed to 0600; any file writable by
 * others is refused. */
int jit_state_file_check(const char *path, bool secret, struct jit_error *err);

#endif
