/*
 * suggest.h: "did you mean ...?" for a mistyped name or option: the closest of a few
 * candidates by edit distance (case-insensitive), and the options people reach for
 * under another name (--duration for --for).
 */
#ifndef JIT_CLI_SUGGEST_H
#define JIT_CLI_SUGGEST_H

#include <stddef.h>

/* Levenshtein distance between a and b, ignoring case; SIZE_MAX past 64 characters. */
size_t cli_edit_distance(const char *a, const char *b);

/* The candidate closest to word, if within max(1, strlen(word) / 3) edits; else NULL.
 * Ties go to the first. */
const char *cli_suggest(const char *word, const char *const *cands, size_t n);

/* The long option (without "--") that another name usually means, e.g. "for" for
 * "duration", if it is among the n names given; else NULL. */
const char *cli_suggest_synonym(const char *option, const char *const *names, size_t n);

#endif
