/*
 * prefix.h: source address prefixes: an IPv4/IPv6 address, a CIDR prefix, or "*".
 *
 * Parsed prefixes are normalised: host bits below the prefix length are cleared
 * ("10.1.2.3/8" is 10.0.0.0/8), IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) become
 * IPv4. An address without a length is a host prefix (/32 or /128).
 */
#ifndef JIT_PREFIX_H
#define JIT_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "error.h"

enum jit_family {
	JIT_FAMILY_ANY = 0,  /* "*": every address of both families */
	JIT_FAMILY_INET = 4,
	JIT_FAMILY_INET6 = 6,
};

struct jit_prefix {
	enum jit_family family;
	uint8_t len;        /* 0..32 or 0..128; 0 for ANY */
	uint8_t addr[16];   /* network order; IPv4 uses the first 4 bytes; zero for ANY */
};

/* "ffff:...:ffff/128" plus NUL */
#define JIT_PREFIX_BUFSZ 48

/* Parses "*", "192.168.0.3", "192.168.0.0/16", "2001:db8::/32". */
int jit_prefix_parse(const char *s, struct jit_prefix *out, struct jit_error *err);

/* Formats canonically: "*", host prefixes without a length, others "addr/len". */
void jit_prefix_format(const struct jit_prefix *p, char buf[JIT_PREFIX_BUFSZ]);

/* The host prefix of a socket address (AF_INET or AF_INET6, v4-mapped become IPv4). */
int jit_prefix_from_sockaddr(const struct sockaddr *sa, struct jit_prefix *out,
	struct jit_error *err);

/* True when every address of inner is inside outer ("*" contains everything). */
bool jit_prefix_contains(const struct jit_prefix *outer, const struct jit_prefix *inner);

/* True when inner is inside at least one of the n outer prefixes. */
bool jit_prefix_contained_in_any(const struct jit_prefix *outer, size_t n,
	const struct jit_prefix *inner);

bool jit_prefix_equal(const struct jit_prefix *a, const struct jit_prefix *b);

#endif
