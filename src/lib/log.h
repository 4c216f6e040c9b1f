/*
 * log.h: operator logs, one line per event, key=value, never a secret.
 *
 *   2026-11-25T21:00:00.123Z level=info prog=jitgated event=listening addr=127.0.0.1:8443
 *
 * Lines go to stderr. Under systemd, when stderr is journald's stream ($JOURNAL_STREAM
 * matches it), events go to the journal natively instead, once, with structured fields
 * (JITGATE_EVENT=, JITGATE_<KEY>= for each pair). Values with spaces, quotes or '=' are
 * quoted.
 */
#ifndef JIT_LOG_H
#define JIT_LOG_H

#include <stdbool.h>

enum jit_log_level {
	JIT_LOG_DEBUG = 0,
	JIT_LOG_INFO,
	JIT_LOG_WARN,
	JIT_LOG_ERROR,
};

/* prog names the program in every line; lines below min are dropped. With
 * journal_when_stderr_is, events go to the journal natively when stderr is its stream. */
void jit_log_init(const char *prog, enum jit_log_level min, bool journal_when_stderr_is);
/* Does $JOURNAL_STREAM name this process's stderr? */
bool jit_log_stderr_is_journal(void);

/* Logs event with key/value pairs given as a NULL-terminated list of
 * (const char *key, const char *value) arguments; a NULL value is skipped. */
void jit_log(enum jit_log_level level, const char *event, ...) __attribute__((sentinel));

#endif
