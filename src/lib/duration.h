/*
 * duration.h: ISO 8601 durations as Azure uses them for maxRequestAccessDuration.
 *
 * Accepted: P[nW][nD][T[nH][nM][n[.f]S]] with non-negative integer counts and a
 * fraction (up to 9 digits) on the last component only, e.g. PT3H, PT30M,
 * P1DT2H, PT90S, PT0.5S. Years and months are refused (not a fixed length).
 * The result must be greater than zero and fit in int64 nanoseconds.
 */
#ifndef JIT_DURATION_H
#define JIT_DURATION_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* "P106751DT23H47M16.854775807S" plus NUL fits */
#define JIT_DURATION_BUFSZ 40

/* Parses s into nanoseconds (> 0). Errors (400 InvalidRequestContent) say what is wrong. */
int jit_duration_parse(const char *s, int64_t *out_ns, struct jit_error *err);

/* Formats ns (>= 0) canonically: days, hours, minutes, seconds, zero parts omitted,
 * e.g. PT3H, P1DT2H, PT1M30S, PT0.5S; 0 is "PT0S". */
void jit_duration_format(int64_t ns, char buf[JIT_DURATION_BUFSZ]);

#endif
