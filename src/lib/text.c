/*
 * text.c: terminal-safe text (text.h). A small UTF-8 decoder that refuses overlong
 * forms, surrogates and code points past U+10FFFF, so that what it calls safe is
 * exactly what a terminal will show as text.
 */
#include "text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool
unsafe_code_point(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c ||
		cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
		(cp >= 0x2066 && cp <= 0x2069);
}

size_t
jit_text_next(const char *s, bool *unsafe)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp, min;
	size_t len;

	if (p[0] < 0x80) {
		*unsafe = unsafe_code_point(p[0]);
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
		min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
		min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
		min = 0x10000;
	} else {
		*unsafe = true;      /* a continuation byte, or a lead byte UTF-8 never uses */
		return 1;
	}
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*unsafe = true;  /* truncated: the byte that stopped it is read next */
			return 1;
		}
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
		*unsafe = true;      /* malformed: one byte at a time */
		return 1;
	}
	*unsafe = unsafe_code_point(cp);
	return len;
}

bool
jit_text_safe(const char *s)
{
	bool unsafe;

	while (*s != '\0') {
		s += jit_text_next(s, &unsafe);
		if (unsafe)
			return false;
	}
	return true;
}

char *
jit_text_sanitize(const char *s)
{
	size_t n = strlen(s), k = 0;
	char *out = malloc(n + 1);
	bool unsafe;

	if (out == NULL)
		return NULL;
	while (*s != '\0') {
		size_t len = jit_text_next(s, &unsafe);

		if (unsafe) {
			out[k++] = '?';
		} else {
			memcpy(out + k, s, len);
			k += len;
		}
		s += len;
	}
	out[k] = '\0';
	return out;
}
