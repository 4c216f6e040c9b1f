/*
 * port.c: port numbers and protocols of JIT port rules.
 *
 * The JSON layer hands over numbers and strings as they came; these checks turn
 * them into a uint16_t and an enum jit_proto, or into an error a client can act on.
 */
#include "port.h"

#include <string.h>
#include <strings.h>

/* How many characters of a rejected protocol string an error message quotes. */
#define QUOTE_MAX 32

int
jit_port_check(long long n, uint16_t *out, struct jit_error *err)
{
	if (n < 1 || n > 65535)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"port number %lld is out of range 1..65535", n);
	*out = (uint16_t)n;
	return 0;
}

int
jit_proto_parse(const char *s, enum jit_proto *out, struct jit_error *err)
{
	char q[JIT_QUOTE_BUFSZ(QUOTE_MAX)];

	if (s == NULL)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"the protocol is missing; allowed values are \"TCP\", \"UDP\" and \"*\"");
	if (strcasecmp(s, "TCP") == 0)
		*out = JIT_PROTO_TCP;
	else if (strcasecmp(s, "UDP") == 0)
		*out = JIT_PROTO_UDP;
	else if (strcmp(s, "*") == 0)
		*out = JIT_PROTO_ANY;
	else
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"protocol \"%s\" is not allowed; allowed values are "
			"\"TCP\", \"UDP\" and \"*\"", jit_quote(q, sizeof(q), s, strlen(s)));
	return 0;
}

const char *
jit_proto_name(enum jit_proto p)
{
	switch (p) {
	case JIT_PROTO_TCP:
		return "TCP";
	case JIT_PROTO_UDP:
		return "UDP";
	case JIT_PROTO_ANY:
		return "*";
	}
	return "?";
}
