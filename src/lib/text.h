/*
 * text.h: text from an untrusted party (agents' reports, server answers shown by the
 * CLI) made safe to store and to put on a terminal.
 *
 * Unsafe is whatever can drive a terminal or reorder what a reader sees: C0 controls
 * and DEL, C1 controls (U+0080..U+009F, e.g. CSI U+009B), the bidirectional marks,
 * embeddings, overrides and isolates (U+061C, U+200E, U+200F, U+202A..U+202E,
 * U+2066..U+2069), and bytes that are not well-formed UTF-8 (a lone 0x9B is CSI to an
 * 8-bit terminal). Everything else, other scripts included, is kept.
 */
#ifndef JIT_TEXT_H
#define JIT_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* The length in bytes (at least 1) of the character at s (not at its NUL), and whether
 * it is unsafe. */
size_t jit_text_next(const char *s, bool *unsafe);

/* True when s holds no unsafe character. */
bool jit_text_safe(const char *s);

/* A malloc'd copy of s with each unsafe character replaced by '?'; NULL when out of
 * memory. */
char *jit_text_sanitize(const char *s);

#endif
