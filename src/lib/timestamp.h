/*
 * timestamp.h: UTC instants, the one time type of jitgate.
 *
 * A jit_time is nanoseconds since 1970-01-01T00:00:00Z, which covers the years
 * 1678..2261; anything outside is rejected at the boundary. Text is Azure's
 * date-time: "2020-07-15T17:00:00.3658798Z" (0..9 fractional digits, 'Z' or a
 * +hh:mm / -hh:mm offset on input; always 7 digits and 'Z' on output).
 */
#ifndef JIT_TIMESTAMP_H
#define JIT_TIMESTAMP_H

#include <stdint.h>

#include "error.h"

typedef int64_t jit_time;

#define JIT_NS_PER_SEC 1000000000LL
/* "YYYY-MM-DDThh:mm:ss.fffffffZ" plus NUL */
#define JIT_TIME_BUFSZ 32

/* Parses s into *out. Errors (400 InvalidRequestContent) say what is wrong with s. */
int jit_time_parse(const char *s, jit_time *out, struct jit_error *err);

/* Formats t as "YYYY-MM-DDThh:mm:ss.fffffffZ" (sub-100ns digits are truncated). */
void jit_time_format(jit_time t, char buf[JIT_TIME_BUFSZ]);

/* The current UTC time (CLOCK_REALTIME). */
jit_time jit_time_now(void);

#endif
