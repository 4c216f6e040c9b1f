/*
 * fuzz_prefix.c: jit_prefix_parse on arbitrary bytes.
 *
 * Beyond "no crash", it checks the property the rest of jitgate relies on: a
 * parsed prefix formats to a string that parses back to the same prefix, and
 * every prefix contains itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prefix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Field by field: the struct has padding, and unused address bytes must be zero too. */
static int
same_fields(const struct jit_prefix *a, const struct jit_prefix *b)
{
	return a->family == b->family && a->len == b->len &&
		memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* Error messages reach logs and JSON: printable ASCII only. */
static void
check_message(const struct jit_error *err)
{
	size_t n = strnlen(err->message, sizeof(err->message));

	if (err->status != 400 || n == 0 || n >= sizeof(err->message))
		abort();
	for (size_t i = 0; i < n; i++) {
		if (err->message[i] < 0x20 || err->message[i] > 0x7e)
			abort();
	}
}

static void
check_round_trip(const struct jit_prefix *p)
{
	char buf[JIT_PREFIX_BUFSZ];
	struct jit_prefix again;
	struct jit_error err;

	jit_prefix_format(p, buf);
	if (jit_prefix_parse(buf, &again, &err) != 0)
		abort();
	if (!jit_prefix_equal(p, &again) || !same_fields(p, &again))
		abort();
	if (!jit_prefix_contains(p, &again) || !jit_prefix_contains(&again, p))
		abort();
	if (!jit_prefix_contained_in_any(p, 1, p))
		abort();
}

/* The address written before '/' is inside the prefix it names (host bits only clear). */
static void
check_address_inside(const char *s, const struct jit_prefix *p)
{
	const char *slash = strchr(s, '/');
	struct jit_prefix host;
	char addr[JIT_PREFIX_BUFSZ];
	size_t n;

	if (slash == NULL)
		return;
	n = (size_t)(slash - s);
	if (n >= sizeof(addr))
		return;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (jit_prefix_parse(addr, &host, NULL) != 0)
		abort();
	/* ::ffff:0:0/95 and the like stay IPv6 while their addresses become IPv4. */
	if (host.family == p->family && !jit_prefix_contains(p, &host))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jit_prefix p;
	struct jit_error err;
	char *s;

	/* Exactly size bytes plus NUL, so ASan sees any read past the input. */
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (jit_prefix_parse(s, &p, &err) == 0) {
		check_round_trip(&p);
		check_address_inside(s, &p);
	} else {
		check_message(&err);
	}
	free(s);
	return 0;
}
