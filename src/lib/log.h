/*
 * log.h: operator logs, one line per event, key=value, never a secret.
 *
 *   2026-11-25T21:00:00.123Z level=info prog=jitgated event=listening addr=127.0.0.1:8443
 *
 * Lines go to stderr; when stderr is not a terminal they also go to syslog
 * (journald picks both up). Values with spaces, quotes or '=' are quoted.
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

/* prog names the program in every line; lines below min are dropped. */
void jit_log_init(const char *prog, enum jit_log_level min, bool syslog_when_not_tty);

/* Logs event with key/value pairs given as a NULL-terminated list of
 * (const char *key, const char *value) arguments; a NULL value is skipped. */
void jit_log(enum jit_log_level level, const char *event, ...) __attribute__((sentinel));

#endif
