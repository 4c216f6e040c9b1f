/*
 * prefix.c: parsing, normalising, formatting and comparing source address prefixes.
 *
 * This is the boundary where allowedSourceAddressPrefix(es) strings become a
 * struct jit_prefix. inet_pton converts the address, but it is lenient in ways
 * that differ between C libraries, so the whole string is checked here first:
 * exactly "*", "a.b.c.d", an IPv6 address, either followed by "/len" in plain
 * decimal. Everything after parsing (policy checks, nftables sets) sees only
 * normalised structs, so two spellings of one prefix compare equal.
 */
#include "prefix.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Longest valid text: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128". */
#define ADDR_TEXT_MAX (INET6_ADDRSTRLEN - 1)
#define PREFIX_TEXT_MAX (ADDR_TEXT_MAX + 4)

/* How many characters of a rejected input an error message quotes. */
#define QUOTE_MAX 64

/* Fills err with `"<input>" is not a valid address prefix: <why>` and returns -1. */
static int __attribute__((format(printf, 3, 4)))
invalid(struct jit_error *err, const char *s, const char *fmt, ...)
{
	char q[JIT_QUOTE_BUFSZ(QUOTE_MAX)];
	char why[JIT_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
		"\"%s\" is not a valid address prefix: %s", jit_quote(q, sizeof(q), s, strlen(s)),
		why);
}

/* Describes one byte for a message: 'x' when printable, else \xNN. */
static const char *
char_name(unsigned char c, char buf[8])
{
	if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
		snprintf(buf, 8, "'%c'", c);
	else
		snprintf(buf, 8, "\\x%02x", c);
	return buf;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

#define V4_PARTS "an IPv4 address needs four numbers separated by dots"

/*
 * Checks that a[0..n) is four dot-separated decimal numbers 0..255 without
 * leading zeros. glibc's inet_pton agrees, but "010" means 8 to inet_aton and
 * to some other parsers, so ambiguity is refused here, by us, with a reason.
 */
static int
check_ipv4_text(const char *s, const char *a, size_t n, struct jit_error *err)
{
	size_t i = 0;
	int parts = 0;

	while (i <= n) {
		size_t start = i;
		unsigned value = 0;

		while (i < n && is_digit(a[i])) {
			if (i - start < 4)
				value = value * 10 + (unsigned)(a[i] - '0');
			i++;
		}
		if (i < n && a[i] != '.')
			return invalid(err, s, "an IPv4 address holds only digits and dots");
		if (i == start)
			return invalid(err, s, "%s", V4_PARTS);
		if (a[start] == '0' && i - start > 1)
			return invalid(err, s,
				"numbers in an IPv4 address must not have leading zeros");
		if (i - start > 3 || value > 255)
			return invalid(err, s,
				"number %.*s in an IPv4 address is out of range 0..255",
				(int)(i - start > 10 ? 10 : i - start), a + start);
		parts++;
		i++; /* past the dot, or past the end */
	}
	if (parts != 4)
		return invalid(err, s, "%s", V4_PARTS);
	return 0;
}

/* Checks the characters of an IPv6 address and its IPv4 tail, if any. */
static int
check_ipv6_text(const char *s, const char *a, size_t n, struct jit_error *err)
{
	const char *tail = a;
	char cn[8];
	size_t i;

	for (i = 0; i < n; i++) {
		if (a[i] == ':')
			tail = a + i + 1;
		else if (!is_hex(a[i]) && a[i] != '.')
			return invalid(err, s, "character %s is not allowed in an IPv6 address",
				char_name((unsigned char)a[i], cn));
	}
	if (memchr(tail, '.', (size_t)(a + n - tail)) != NULL)
		return check_ipv4_text(s, tail, (size_t)(a + n - tail), err);
	return 0;
}

/* Parses the decimal length after '/': digits only, no leading zeros, 0..max. */
static int
parse_len(const char *s, const char *l, unsigned max, const char *fam, uint8_t *out,
	struct jit_error *err)
{
	char cn[8];
	unsigned value = 0;
	size_t n = strlen(l);
	size_t i;

	if (n == 0)
		return invalid(err, s, "the prefix length after '/' is missing");
	for (i = 0; i < n; i++) {
		if (!is_digit(l[i]))
			return invalid(err, s, "the prefix length must be decimal digits, not %s",
				char_name((unsigned char)l[i], cn));
		if (i < 4)
			value = value * 10 + (unsigned)(l[i] - '0');
	}
	if (l[0] == '0' && n > 1)
		return invalid(err, s, "the prefix length must not have leading zeros");
	if (n > 3 || value > max)
		return invalid(err, s, "prefix length %.*s is out of range 0..%u for %s",
			(int)(n > 10 ? 10 : n), l, max, fam);
	*out = (uint8_t)value;
	return 0;
}

/* Clears every bit of a[0..nbytes) at or after bit position len. */
static void
clear_host_bits(uint8_t *a, size_t nbytes, unsigned len)
{
	for (size_t i = 0; i < nbytes; i++) {
		unsigned first = (unsigned)i * 8;

		if (len >= first + 8)
			continue;
		if (len <= first)
			a[i] = 0;
		else
			a[i] &= (uint8_t)(0xff00u >> (len - first));
	}
}

/* True when the first len bits of a and b agree. */
static bool
same_leading_bits(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned whole = len / 8;
	unsigned rest = len % 8;
	uint8_t mask;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff00u >> rest);
	return (a[whole] & mask) == (b[whole] & mask);
}

static bool
is_v4_mapped(const uint8_t a[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return memcmp(a, mapped, sizeof(mapped)) == 0;
}

/* ::ffff:a.b.c.d/len (len >= 96) is IPv4 a.b.c.d/(len - 96): one spelling per prefix. */
static void
unmap_v4(struct jit_prefix *p)
{
	if (p->family != JIT_FAMILY_INET6 || p->len < 96 || !is_v4_mapped(p->addr))
		return;
	p->family = JIT_FAMILY_INET;
	p->len = (uint8_t)(p->len - 96);
	memmove(p->addr, p->addr + 12, 4);
	memset(p->addr + 4, 0, 12);
}

/* Rejects what is wrong with the string as a whole before looking at its parts. */
static int
check_text(const char *s, size_t n, struct jit_error *err)
{
	char cn[8];
	const char *slash;
	bool after_slash = false;

	if (n == 0)
		return invalid(err, s, "it is empty");
	if (n > PREFIX_TEXT_MAX)
		return invalid(err, s, "it is longer than %d characters", PREFIX_TEXT_MAX);
	if (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t')
		return invalid(err, s, "it has leading or trailing spaces");
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%')
			return invalid(err, s, "zone ids (\"%%...\") are not allowed");
		if (c == '*')
			return invalid(err, s, "\"*\" must stand alone");
		if (c == '/')
			after_slash = true;
		else if (after_slash && !is_digit(c))
			return invalid(err, s, "the prefix length must be decimal digits, not %s",
				char_name((unsigned char)c, cn));
		else if (!is_hex(c) && c != '.' && c != ':')
			return invalid(err, s, "character %s is not allowed",
				char_name((unsigned char)c, cn));
	}
	slash = strchr(s, '/');
	if (slash != NULL && strchr(slash + 1, '/') != NULL)
		return invalid(err, s, "it has more than one '/'");
	if (s[0] == '/')
		return invalid(err, s, "the address before '/' is missing");
	return 0;
}

int
jit_prefix_parse(const char *s, struct jit_prefix *out, struct jit_error *err)
{
	struct jit_prefix p;
	const char *slash;
	char addr[ADDR_TEXT_MAX + 1];
	size_t n, alen;

	if (s == NULL)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT, "the address prefix is missing");
	memset(&p, 0, sizeof(p));
	if (strcmp(s, "*") == 0) {
		p.family = JIT_FAMILY_ANY;
		*out = p;
		return 0;
	}
	/* Bounded: a huge input is refused without walking all of it. */
	n = strnlen(s, PREFIX_TEXT_MAX + 1);
	if (check_text(s, n, err) != 0)
		return -1;

	slash = strchr(s, '/');
	alen = slash != NULL ? (size_t)(slash - s) : n;
	if (alen > ADDR_TEXT_MAX)
		return invalid(err, s, "the address is longer than %d characters", ADDR_TEXT_MAX);
	memcpy(addr, s, alen);
	addr[alen] = '\0';

	if (memchr(addr, ':', alen) == NULL) {
		if (check_ipv4_text(s, addr, alen, err) != 0)
			return -1;
		if (inet_pton(AF_INET, addr, p.addr) != 1)
			return invalid(err, s, "it is not an IPv4 address");
		p.family = JIT_FAMILY_INET;
		p.len = 32;
		if (slash != NULL && parse_len(s, slash + 1, 32, "IPv4", &p.len, err) != 0)
			return -1;
		clear_host_bits(p.addr, 4, p.len);
	} else {
		if (check_ipv6_text(s, addr, alen, err) != 0)
			return -1;
		if (inet_pton(AF_INET6, addr, p.addr) != 1)
			return invalid(err, s, "it is not an IPv6 address");
		p.family = JIT_FAMILY_INET6;
		p.len = 128;
		if (slash != NULL && parse_len(s, slash + 1, 128, "IPv6", &p.len, err) != 0)
			return -1;
		clear_host_bits(p.addr, 16, p.len);
		unmap_v4(&p);
	}
	*out = p;
	return 0;
}

void
jit_prefix_format(const struct jit_prefix *p, char buf[JIT_PREFIX_BUFSZ])
{
	char a[INET6_ADDRSTRLEN];
	int af, host, n;

	switch (p->family) {
	case JIT_FAMILY_ANY:
		snprintf(buf, JIT_PREFIX_BUFSZ, "*");
		return;
	case JIT_FAMILY_INET:
		af = AF_INET;
		host = 32;
		break;
	case JIT_FAMILY_INET6:
		af = AF_INET6;
		host = 128;
		break;
	default:
		snprintf(buf, JIT_PREFIX_BUFSZ, "?");
		return;
	}
	if (p->len > host || inet_ntop(af, p->addr, a, sizeof(a)) == NULL) {
		snprintf(buf, JIT_PREFIX_BUFSZ, "?");
		return;
	}
	if (p->len == host) {
		snprintf(buf, JIT_PREFIX_BUFSZ, "%s", a);
		return;
	}
	/* Cannot truncate: inet_ntop writes dotted IPv4 tails only for ::ffff:0:0/96 and
	 * ::/96 addresses, so the longest result is 39 characters plus "/127". */
	n = snprintf(buf, JIT_PREFIX_BUFSZ, "%s/%u", a, (unsigned)p->len);
	if (n < 0 || n >= JIT_PREFIX_BUFSZ)
		snprintf(buf, JIT_PREFIX_BUFSZ, "?");
}

int
jit_prefix_from_sockaddr(const struct sockaddr *sa, struct jit_prefix *out,
	struct jit_error *err)
{
	struct jit_prefix p;

	if (sa == NULL)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST, "the caller's address is unknown");
	memset(&p, 0, sizeof(p));
	/* memcpy, not a cast: sa may point into a byte buffer with looser alignment. */
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in sin;

		memcpy(&sin, sa, sizeof(sin));
		p.family = JIT_FAMILY_INET;
		p.len = 32;
		memcpy(p.addr, &sin.sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 sin6;

		memcpy(&sin6, sa, sizeof(sin6));
		p.family = JIT_FAMILY_INET6;
		p.len = 128;
		memcpy(p.addr, &sin6.sin6_addr, 16);
		unmap_v4(&p);
	} else {
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"the caller's address (family %d) is neither IPv4 nor IPv6",
			(int)sa->sa_family);
	}
	*out = p;
	return 0;
}

static unsigned
family_bits(enum jit_family f)
{
	return f == JIT_FAMILY_INET ? 32 : f == JIT_FAMILY_INET6 ? 128 : 0;
}

bool
jit_prefix_contains(const struct jit_prefix *outer, const struct jit_prefix *inner)
{
	if (outer->family == JIT_FAMILY_ANY)
		return true;
	if (inner->family != outer->family || family_bits(outer->family) == 0)
		return false;
	if (outer->len > inner->len || outer->len > family_bits(outer->family))
		return false;
	return same_leading_bits(outer->addr, inner->addr, outer->len);
}

bool
jit_prefix_contained_in_any(const struct jit_prefix *outer, size_t n,
	const struct jit_prefix *inner)
{
	for (size_t i = 0; i < n; i++) {
		if (jit_prefix_contains(&outer[i], inner))
			return true;
	}
	return false;
}

bool
jit_prefix_equal(const struct jit_prefix *a, const struct jit_prefix *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == JIT_FAMILY_ANY)
		return true;
	if (a->len != b->len || a->len > family_bits(a->family))
		return false;
	/* Only prefix bits count: a struct built by hand with host bits set still matches. */
	return same_leading_bits(a->addr, b->addr, a->len);
}
