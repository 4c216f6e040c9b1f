/*
 * test_prefix.c: parsing, normalising, formatting and containment of source prefixes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cmocka.h>

#include "prefix.h"

static struct jit_prefix
parse_ok(const char *s)
{
	struct jit_prefix p;
	struct jit_error e;

	jit_error_clear(&e);
	if (jit_prefix_parse(s, &p, &e) != 0)
		fail_msg("\"%s\" was refused: %s", s, e.message);
	return p;
}

/* Parses s, which must fail, and checks that the message contains why. */
static void
parse_bad(const char *s, const char *why)
{
	struct jit_prefix p;
	struct jit_error e;

	jit_error_clear(&e);
	if (jit_prefix_parse(s, &p, &e) != -1)
		fail_msg("\"%s\" was accepted", s);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, JIT_E_INVALID_CONTENT);
	if (strstr(e.message, why) == NULL)
		fail_msg("\"%s\": message \"%s\" does not say \"%s\"", s, e.message, why);
}

static void
assert_formats(const char *in, const char *want)
{
	struct jit_prefix p = parse_ok(in);
	char buf[JIT_PREFIX_BUFSZ];

	jit_prefix_format(&p, buf);
	if (strcmp(buf, want) != 0)
		fail_msg("\"%s\" formats as \"%s\", want \"%s\"", in, buf, want);
}

static bool
contains(const char *outer, const char *inner)
{
	struct jit_prefix o = parse_ok(outer);
	struct jit_prefix i = parse_ok(inner);

	return jit_prefix_contains(&o, &i);
}

static void
test_any(void **state)
{
	struct jit_prefix p;

	(void)state;
	p = parse_ok("*");
	assert_int_equal(p.family, JIT_FAMILY_ANY);
	assert_int_equal(p.len, 0);
	assert_formats("*", "*");
	parse_bad("**", "\"*\" must stand alone");
	parse_bad("*/0", "\"*\" must stand alone");
	parse_bad(" *", "leading or trailing spaces");
	parse_bad("10.*", "\"*\" must stand alone");
}

static void
test_ipv4_valid(void **state)
{
	struct jit_prefix p;
	static const uint8_t want[4] = { 192, 168, 0, 3 };

	(void)state;
	p = parse_ok("192.168.0.3");
	assert_int_equal(p.family, JIT_FAMILY_INET);
	assert_int_equal(p.len, 32);
	assert_memory_equal(p.addr, want, 4);
	assert_formats("192.168.0.3", "192.168.0.3");
	assert_formats("192.168.0.3/32", "192.168.0.3");
	assert_formats("192.168.0.0/16", "192.168.0.0/16");
	assert_formats("0.0.0.0/0", "0.0.0.0/0");
	assert_formats("0.0.0.0", "0.0.0.0");
	assert_formats("255.255.255.255", "255.255.255.255");
	assert_formats("255.255.255.255/31", "255.255.255.254/31");
	assert_formats("10.0.0.0/8", "10.0.0.0/8");
}

static void
test_ipv4_host_bits_cleared(void **state)
{
	struct jit_prefix p;
	static const uint8_t want[16] = { 10 };

	(void)state;
	p = parse_ok("10.1.2.3/8");
	assert_int_equal(p.len, 8);
	/* The unused tail stays zero, too: structs compare with memcmp elsewhere. */
	assert_memory_equal(p.addr, want, 16);
	assert_formats("10.1.2.3/8", "10.0.0.0/8");
	assert_formats("192.168.255.255/17", "192.168.128.0/17");
	assert_formats("1.2.3.4/0", "0.0.0.0/0");
	assert_formats("1.2.3.255/30", "1.2.3.252/30");
}

static void
test_ipv4_lengths(void **state)
{
	(void)state;
	parse_ok("1.2.3.4/0");
	parse_ok("1.2.3.4/32");
	parse_bad("1.2.3.4/33", "prefix length 33 is out of range 0..32 for IPv4");
	parse_bad("1.2.3.4/128", "prefix length 128 is out of range 0..32 for IPv4");
	parse_bad("1.2.3.4/4294967328", "out of range 0..32");
	parse_bad("1.2.3.4/", "prefix length after '/' is missing");
	parse_bad("1.2.3.4/08", "leading zeros");
	parse_bad("1.2.3.4/00", "leading zeros");
	parse_bad("1.2.3.4/+8", "decimal digits, not '+'");
	parse_bad("1.2.3.4/-1", "decimal digits, not '-'");
	parse_bad("1.2.3.4/8/8", "more than one '/'");
	parse_bad("1.2.3.4//8", "more than one '/'");
	parse_bad("1.2.3.4/0x8", "decimal digits, not 'x'");
	parse_bad("1.2.3.4/a", "decimal digits, not 'a'");
	parse_bad("/8", "address before '/' is missing");
	parse_bad("/", "address before '/' is missing");
}

static void
test_ipv4_invalid(void **state)
{
	(void)state;
	parse_bad("", "empty");
	parse_bad("10.1", "four numbers");
	parse_bad("10", "four numbers");
	parse_bad("10.1.2", "four numbers");
	parse_bad("10.1.2.3.4", "four numbers");
	parse_bad("1.2.3.", "four numbers");
	parse_bad(".1.2.3", "four numbers");
	parse_bad("1..2.3", "four numbers");
	parse_bad("1.2.3.4.", "four numbers");
	parse_bad("256.1.1.1", "number 256 in an IPv4 address is out of range 0..255");
	parse_bad("1.1.1.1000", "number 1000 in an IPv4 address is out of range");
	parse_bad("1.1.1.99999999999999999999", "is out of range 0..255");
	parse_bad("010.1.1.1", "leading zeros");
	parse_bad("1.1.1.00", "leading zeros");
	parse_bad("0x1.1.1.1", "not allowed");
	parse_bad("1.1.1.a", "only digits and dots");
	parse_bad("1.2.3.4 ", "leading or trailing spaces");
	parse_bad(" 1.2.3.4", "leading or trailing spaces");
	parse_bad("\t1.2.3.4", "leading or trailing spaces");
	parse_bad("1.2.3.4\n", "character \\x0a is not allowed");
	parse_bad("1.2. 3.4", "character ' ' is not allowed");
	parse_bad("1.2.3.4/ 8", "decimal digits, not ' '");
	parse_bad("1.2.3.4/8\x01", "decimal digits, not \\x01");
	parse_bad("localhost", "character 'l' is not allowed");
	parse_bad("+1.2.3.4", "character '+' is not allowed");
	parse_bad("-1.2.3.4", "not allowed");
}

static void
test_ipv6_valid(void **state)
{
	struct jit_prefix p;
	static const uint8_t loopback[16] = { [15] = 1 };

	(void)state;
	p = parse_ok("::1");
	assert_int_equal(p.family, JIT_FAMILY_INET6);
	assert_int_equal(p.len, 128);
	assert_memory_equal(p.addr, loopback, 16);
	assert_formats("::1", "::1");
	assert_formats("::", "::");
	assert_formats("::/0", "::/0");
	assert_formats("::1/128", "::1");
	assert_formats("2001:db8::/32", "2001:db8::/32");
	assert_formats("2001:DB8::/32", "2001:db8::/32");
	assert_formats("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1");
	assert_formats("fe80::1:2:3:4/64", "fe80::/64");
	assert_formats("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff/33", "2001:db8:8000::/33");
	assert_formats("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	assert_formats("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/127",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127");
	/* An IPv4 tail in an address that is not v4-mapped stays IPv6. */
	assert_formats("64:ff9b::192.0.2.1", "64:ff9b::c000:201");
}

static void
test_ipv6_invalid(void **state)
{
	(void)state;
	parse_bad("::1/129", "prefix length 129 is out of range 0..128 for IPv6");
	parse_bad("::/", "prefix length after '/' is missing");
	parse_bad("::/01", "leading zeros");
	parse_bad("fe80::1%eth0", "zone ids");
	parse_bad("fe80::1%1/64", "zone ids");
	parse_bad("1:2:3:4:5:6:7:8:9", "not an IPv6 address");
	parse_bad("1::2::3", "not an IPv6 address");
	parse_bad(":::", "not an IPv6 address");
	parse_bad("12345::", "not an IPv6 address");
	parse_bad("2001:db8::g", "character 'g' is not allowed");
	parse_bad("[::1]", "character '[' is not allowed");
	parse_bad("::ffff:1.2.3", "four numbers");
	parse_bad("::ffff:01.2.3.4", "leading zeros");
	parse_bad("::ffff:1.2.3.256", "out of range 0..255");
	parse_bad("1.2::3", "not an IPv6 address");
	parse_bad("::1.2.3.a", "only digits and dots");
	parse_bad("::1 ", "leading or trailing spaces");
	parse_bad("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "longer than");
}

static void
test_v4_mapped(void **state)
{
	struct jit_prefix p;
	static const uint8_t want[16] = { 1, 2, 3, 4 };

	(void)state;
	p = parse_ok("::ffff:1.2.3.4");
	assert_int_equal(p.family, JIT_FAMILY_INET);
	assert_int_equal(p.len, 32);
	assert_memory_equal(p.addr, want, 16);
	assert_true(jit_prefix_equal(&p,
		&(struct jit_prefix){ JIT_FAMILY_INET, 32, { 1, 2, 3, 4 } }));
	assert_formats("::ffff:1.2.3.4", "1.2.3.4");
	assert_formats("::FFFF:1.2.3.4/128", "1.2.3.4");
	assert_formats("::ffff:102:304", "1.2.3.4");
	assert_formats("::ffff:10.1.2.3/104", "10.0.0.0/8");
	assert_formats("::ffff:1.2.3.4/96", "0.0.0.0/0");
	assert_formats("0:0:0:0:0:ffff:c0a8:1/120", "192.168.0.0/24");
	/* Shorter than /96 covers more than IPv4: stays IPv6. */
	assert_formats("::ffff:1.2.3.4/95", "::fffe:0:0/95");
	assert_formats("::ffff:0:0/80", "::/80");
	/* IPv4-compatible (::a.b.c.d) is not v4-mapped. */
	p = parse_ok("::1.2.3.4");
	assert_int_equal(p.family, JIT_FAMILY_INET6);
}

static void
test_contains(void **state)
{
	(void)state;
	assert_true(contains("2001:db8::/32", "2001:db8:1::/48"));
	assert_false(contains("2001:db8:1::/48", "2001:db8::/32"));
	assert_true(contains("2001:db8::/32", "2001:db8::/32"));
	assert_true(contains("2001:db8::/32", "2001:db8:ffff::1"));
	assert_false(contains("2001:db8::/32", "2001:db9::1"));
	assert_true(contains("::/0", "::1"));
	assert_true(contains("::/0", "2001:db8::/32"));
	assert_true(contains("10.0.0.0/8", "10.1.2.3"));
	assert_true(contains("10.0.0.0/8", "10.255.0.0/16"));
	assert_false(contains("10.0.0.0/8", "11.0.0.1"));
	assert_false(contains("10.0.0.0/16", "10.0.0.0/8"));
	assert_true(contains("0.0.0.0/0", "255.255.255.255"));
	assert_true(contains("1.2.3.4", "1.2.3.4"));
	assert_false(contains("1.2.3.4", "1.2.3.5"));
	assert_true(contains("192.168.0.0/23", "192.168.1.7"));
	assert_false(contains("192.168.0.0/24", "192.168.1.7"));
	/* Families never mix: IPv4 addresses are not inside IPv6 prefixes, even ::/0. */
	assert_false(contains("::/0", "1.2.3.4"));
	assert_false(contains("::/0", "0.0.0.0/0"));
	assert_false(contains("0.0.0.0/0", "::1"));
	/* A v4-mapped spelling is IPv4, so IPv4 prefixes hold it. */
	assert_true(contains("1.2.3.0/24", "::ffff:1.2.3.4"));
	assert_true(contains("::ffff:1.2.3.0/120", "1.2.3.4"));
}

static void
test_contains_any(void **state)
{
	(void)state;
	assert_true(contains("*", "*"));
	assert_true(contains("*", "1.2.3.4"));
	assert_true(contains("*", "::/0"));
	assert_true(contains("*", "0.0.0.0/0"));
	assert_false(contains("0.0.0.0/0", "*"));
	assert_false(contains("::/0", "*"));
	assert_false(contains("1.2.3.4", "*"));
}

static void
test_contained_in_any(void **state)
{
	struct jit_prefix outer[3];
	struct jit_prefix in;

	(void)state;
	outer[0] = parse_ok("10.0.0.0/8");
	outer[1] = parse_ok("2001:db8::/32");
	outer[2] = parse_ok("192.168.1.1");
	in = parse_ok("192.168.1.1");
	assert_true(jit_prefix_contained_in_any(outer, 3, &in));
	assert_false(jit_prefix_contained_in_any(outer, 2, &in));
	assert_false(jit_prefix_contained_in_any(outer, 0, &in));
	assert_false(jit_prefix_contained_in_any(NULL, 0, &in));
	in = parse_ok("2001:db8:5::/64");
	assert_true(jit_prefix_contained_in_any(outer, 3, &in));
	in = parse_ok("*");
	assert_false(jit_prefix_contained_in_any(outer, 3, &in));
	outer[1] = parse_ok("*");
	assert_true(jit_prefix_contained_in_any(outer, 3, &in));
}

static void
test_equal(void **state)
{
	struct jit_prefix a, b;

	(void)state;
	a = parse_ok("10.1.2.3/8");
	b = parse_ok("10.0.0.0/8");
	assert_true(jit_prefix_equal(&a, &b));
	b = parse_ok("10.0.0.0/9");
	assert_false(jit_prefix_equal(&a, &b));
	b = parse_ok("::ffff:10.0.0.0/104");
	assert_true(jit_prefix_equal(&a, &b));
	a = parse_ok("0.0.0.0/0");
	b = parse_ok("::/0");
	assert_false(jit_prefix_equal(&a, &b));
	b = parse_ok("*");
	assert_false(jit_prefix_equal(&a, &b));
	a = parse_ok("*");
	assert_true(jit_prefix_equal(&a, &b));
	a = parse_ok("2001:db8::1");
	b = parse_ok("2001:0DB8:0:0::0:1/128");
	assert_true(jit_prefix_equal(&a, &b));
}

static void
test_from_sockaddr(void **state)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_un un;
	struct jit_prefix p;
	struct jit_error e;
	char buf[JIT_PREFIX_BUFSZ];

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(443);
	assert_int_equal(inet_pton(AF_INET, "203.0.113.9", &sin.sin_addr), 1);
	assert_int_equal(jit_prefix_from_sockaddr((struct sockaddr *)&sin, &p, &e), 0);
	assert_int_equal(p.family, JIT_FAMILY_INET);
	assert_int_equal(p.len, 32);
	jit_prefix_format(&p, buf);
	assert_string_equal(buf, "203.0.113.9");
	assert_true(jit_prefix_equal(&p, &(struct jit_prefix){ JIT_FAMILY_INET, 32,
		{ 203, 0, 113, 9 } }));

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::7", &sin6.sin6_addr), 1);
	assert_int_equal(jit_prefix_from_sockaddr((struct sockaddr *)&sin6, &p, &e), 0);
	assert_int_equal(p.family, JIT_FAMILY_INET6);
	assert_int_equal(p.len, 128);
	jit_prefix_format(&p, buf);
	assert_string_equal(buf, "2001:db8::7");

	/* A dual-stack socket reports IPv4 callers as ::ffff:a.b.c.d. */
	assert_int_equal(inet_pton(AF_INET6, "::ffff:198.51.100.1", &sin6.sin6_addr), 1);
	assert_int_equal(jit_prefix_from_sockaddr((struct sockaddr *)&sin6, &p, &e), 0);
	assert_int_equal(p.family, JIT_FAMILY_INET);
	assert_int_equal(p.len, 32);
	jit_prefix_format(&p, buf);
	assert_string_equal(buf, "198.51.100.1");
	assert_true(contains("198.51.100.0/24", buf));

	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	jit_error_clear(&e);
	assert_int_equal(jit_prefix_from_sockaddr((struct sockaddr *)&un, &p, &e), -1);
	assert_int_equal(e.status, 400);
	assert_non_null(strstr(e.message, "neither IPv4 nor IPv6"));
	assert_int_equal(jit_prefix_from_sockaddr(NULL, &p, &e), -1);
	assert_int_equal(jit_prefix_from_sockaddr(NULL, &p, NULL), -1);
}

static void
test_error_quotes_input_safely(void **state)
{
	struct jit_prefix p;
	struct jit_error e;
	char big[4096];

	(void)state;
	parse_bad("10.1", "\"10.1\" is not a valid address prefix");
	parse_bad("\x1b[31m1.2.3.4", "\"\\x1b[31m1.2.3.4\"");
	parse_bad("1.2.3.4\xff", "\"1.2.3.4\\xff\"");
	parse_bad("1.2.3.\"4", "\"1.2.3.\\\"4\"");
	parse_bad("1.2.3.4\\", "\"1.2.3.4\\\\\"");

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	jit_error_clear(&e);
	assert_int_equal(jit_prefix_parse(big, &p, &e), -1);
	assert_non_null(strstr(e.message, "aaa...\" is not a valid address prefix"));
	assert_true(strlen(e.message) < 200);
	for (size_t i = 0; e.message[i] != '\0'; i++)
		assert_true(e.message[i] >= 0x20 && e.message[i] < 0x7f);

	/* A NULL err is allowed: the caller only wants to know. */
	assert_int_equal(jit_prefix_parse("10.1", &p, NULL), -1);
	assert_int_equal(jit_prefix_parse(NULL, &p, &e), -1);
}

static void
test_format_round_trip(void **state)
{
	static const char *const inputs[] = {
		"*", "0.0.0.0/0", "1.2.3.4", "10.9.8.7/13", "::", "::/0", "::1", "::2/127",
		"2001:db8::/32", "fe80::/10", "::ffff:1.2.3.4/100", "::ffff:0:0/95", "::1.2.3.4",
		"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8/64", "ffff::/1",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct jit_prefix a = parse_ok(inputs[i]);
		struct jit_prefix b;
		char buf[JIT_PREFIX_BUFSZ];

		jit_prefix_format(&a, buf);
		b = parse_ok(buf);
		if (!jit_prefix_equal(&a, &b) || a.family != b.family || a.len != b.len ||
			memcmp(a.addr, b.addr, sizeof(a.addr)) != 0)
			fail_msg("\"%s\" -> \"%s\" does not parse back the same", inputs[i], buf);
		assert_true(jit_prefix_contains(&a, &b));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_any),
		cmocka_unit_test(test_ipv4_valid),
		cmocka_unit_test(test_ipv4_host_bits_cleared),
		cmocka_unit_test(test_ipv4_lengths),
		cmocka_unit_test(test_ipv4_invalid),
		cmocka_unit_test(test_ipv6_valid),
		cmocka_unit_test(test_ipv6_invalid),
		cmocka_unit_test(test_v4_mapped),
		cmocka_unit_test(test_contains),
		cmocka_unit_test(test_contains_any),
		cmocka_unit_test(test_contained_in_any),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_from_sockaddr),
		cmocka_unit_test(test_error_quotes_input_safely),
		cmocka_unit_test(test_format_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
