/*
 * suggest.c: the closest name to a mistyped one (suggest.h).
 */
#include "suggest.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#define WORD_MAX 64

size_t
cli_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[WORD_MAX + 1];

	if (la > WORD_MAX || lb > WORD_MAX)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = tolower((unsigned char)a[i - 1]) !=
				tolower((unsigned char)b[j - 1]);
			size_t best = diag + cost;

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *
cli_suggest(const char *word, const char *const *cands, size_t n)
{
	size_t limit = strlen(word) / 3, best = SIZE_MAX;
	const char *hit = NULL;

	if (limit < 1)
		limit = 1;
	for (size_t i = 0; i < n; i++) {
		size_t d = cli_edit_distance(word, cands[i]);

		if (d <= limit && d < best) {
			best = d;
			hit = cands[i];
		}
	}
	return hit;
}

/* What people type, and the option jitgate has for it. */
static const struct {
	const char *typed, *meant;
} synonyms[] = {
	{"duration", "for"}, {"time", "for"}, {"length", "for"}, {"minutes", "for"},
	{"end", "until"}, {"end-time", "until"}, {"expires", "until"}, {"expiry", "until"},
	{"from", "source"}, {"ip", "source"}, {"source-ip", "source"}, {"prefix", "source"},
	{"group", "resource-group"}, {"rg", "resource-group"},
	{"reason", "justification"}, {"comment", "justification"},
	{"token", "token-file"}, {"url", "server"}, {"cacert", "ca"}, {"json", "output"},
	{"ports", "port"}, {"os-type", "os"}, {"ip-address", "address"},
};

const char *
cli_suggest_synonym(const char *option, const char *const *names, size_t n)
{
	for (size_t i = 0; i < sizeof(synonyms) / sizeof(synonyms[0]); i++) {
		if (strcasecmp(option, synonyms[i].typed) != 0)
			continue;
		for (size_t k = 0; k < n; k++)
			if (strcmp(names[k], synonyms[i].meant) == 0)
				return names[k];
	}
	return NULL;
}
