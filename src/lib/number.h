/*
 * number.h: decimal numbers from untrusted text, strtonum-style, for jitgated's
 * query parameters and the CLI's arguments alike: digits only (a leading '-' where
 * negatives are allowed), no spaces, no '+', no empty string, range-checked.
 * Callers word their own messages (they know the parameter's name).
 */
#ifndef JIT_NUMBER_H
#define JIT_NUMBER_H

#include <stdint.h>

/* *out = s when it is a whole number in min..max; -1 (out untouched) otherwise. */
int jit_number_parse(const char *s, int64_t min, int64_t max, int64_t *out);
/* The same for 0..UINT64_MAX (versions, counters). */
int jit_number_parse_u64(const char *s, uint64_t *out);

#endif
