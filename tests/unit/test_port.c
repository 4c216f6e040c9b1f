/*
 * test_port.c: port number range checks and protocol names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "port.h"

static void
port_bad(long long n, const char *why)
{
	struct jit_error e;
	uint16_t out = 7;

	jit_error_clear(&e);
	assert_int_equal(jit_port_check(n, &out, &e), -1);
	assert_int_equal(out, 7);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, JIT_E_INVALID_CONTENT);
	if (strstr(e.message, why) == NULL)
		fail_msg("port %lld: message \"%s\" does not say \"%s\"", n, e.message, why);
}

static void
test_port_range(void **state)
{
	struct jit_error e;
	uint16_t out;

	(void)state;
	assert_int_equal(jit_port_check(1, &out, &e), 0);
	assert_int_equal(out, 1);
	assert_int_equal(jit_port_check(22, &out, &e), 0);
	assert_int_equal(out, 22);
	assert_int_equal(jit_port_check(65535, &out, &e), 0);
	assert_int_equal(out, 65535);
	port_bad(0, "port number 0 is out of range 1..65535");
	port_bad(65536, "port number 65536 is out of range 1..65535");
	port_bad(-1, "port number -1 is out of range");
	port_bad(-65535, "out of range");
	/* Would wrap to 22 if cast before checking. */
	port_bad(65536 + 22, "out of range");
	port_bad(4294967296LL + 22, "out of range");
	port_bad(INT64_MAX, "out of range");
	port_bad(INT64_MIN, "out of range");
	assert_int_equal(jit_port_check(0, &out, NULL), -1);
}

static void
test_proto_parse(void **state)
{
	struct jit_error e;
	enum jit_proto p;

	(void)state;
	assert_int_equal(jit_proto_parse("TCP", &p, &e), 0);
	assert_int_equal(p, JIT_PROTO_TCP);
	assert_int_equal(jit_proto_parse("tcp", &p, &e), 0);
	assert_int_equal(p, JIT_PROTO_TCP);
	assert_int_equal(jit_proto_parse("Tcp", &p, &e), 0);
	assert_int_equal(p, JIT_PROTO_TCP);
	assert_int_equal(jit_proto_parse("UDP", &p, &e), 0);
	assert_int_equal(p, JIT_PROTO_UDP);
	assert_int_equal(jit_proto_parse("uDp", &p, &e), 0);
	assert_int_equal(p, JIT_PROTO_UDP);
	assert_int_equal(jit_proto_parse("*", &p, &e), 0);
	assert_int_equal(p, JIT_PROTO_ANY);
}

static void
proto_bad(const char *s, const char *quoted)
{
	struct jit_error e;
	enum jit_proto p = JIT_PROTO_TCP;

	jit_error_clear(&e);
	assert_int_equal(jit_proto_parse(s, &p, &e), -1);
	assert_int_equal(p, JIT_PROTO_TCP);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, JIT_E_INVALID_CONTENT);
	if (strstr(e.message, "allowed values are \"TCP\", \"UDP\" and \"*\"") == NULL)
		fail_msg("message \"%s\" does not list the allowed values", e.message);
	if (quoted != NULL && strstr(e.message, quoted) == NULL)
		fail_msg("message \"%s\" does not quote %s", e.message, quoted);
	for (size_t i = 0; e.message[i] != '\0'; i++)
		assert_true(e.message[i] >= 0x20 && e.message[i] < 0x7f);
}

static void
test_proto_invalid(void **state)
{
	char big[1000];

	(void)state;
	proto_bad("", "protocol \"\" is not allowed");
	proto_bad("ICMP", "protocol \"ICMP\" is not allowed");
	proto_bad("TCP ", "\"TCP \"");
	proto_bad(" TCP", "\" TCP\"");
	proto_bad("TC", "\"TC\"");
	proto_bad("TCPX", "\"TCPX\"");
	proto_bad("Any", "\"Any\"");
	proto_bad("**", "\"**\"");
	proto_bad("TCP\nUDP", "\"TCP\\x0aUDP\"");
	proto_bad("\xc3\xa9", "\"\\xc3\\xa9\"");
	proto_bad("a\"b\\c", "\"a\\\"b\\\\c\"");
	proto_bad(NULL, "missing");
	memset(big, 'T', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	proto_bad(big, "TTT...\" is not allowed");
}

static void
test_proto_name(void **state)
{
	struct jit_error e;
	enum jit_proto p;

	(void)state;
	assert_string_equal(jit_proto_name(JIT_PROTO_TCP), "TCP");
	assert_string_equal(jit_proto_name(JIT_PROTO_UDP), "UDP");
	assert_string_equal(jit_proto_name(JIT_PROTO_ANY), "*");
	assert_string_equal(jit_proto_name((enum jit_proto)0), "?");
	/* Names parse back to themselves. */
	for (p = JIT_PROTO_TCP; p <= JIT_PROTO_ANY; p++) {
		enum jit_proto q;

		assert_int_equal(jit_proto_parse(jit_proto_name(p), &q, &e), 0);
		assert_int_equal(q, p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_range),
		cmocka_unit_test(test_proto_parse),
		cmocka_unit_test(test_proto_invalid),
		cmocka_unit_test(test_proto_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
