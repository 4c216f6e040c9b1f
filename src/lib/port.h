/*
 * port.h: port numbers and protocols of JIT port rules.
 */
#ifndef JIT_PORT_H
#define JIT_PORT_H

#include <stdint.h>

#include "error.h"

enum jit_proto {
	JIT_PROTO_TCP = 1,
	JIT_PROTO_UDP = 2,
	JIT_PROTO_ANY = 3, /* "*": TCP and UDP */
};

/* Checks a JSON integer as a port number: 1..65535 (0 names no port). */
int jit_port_check(long long n, uint16_t *out, struct jit_error *err);

/* Parses "TCP", "UDP" or "*" (case-insensitive, as ARM treats enum strings). */
int jit_proto_parse(const char *s, enum jit_proto *out, struct jit_error *err);

/* "TCP", "UDP" or "*". */
const char *jit_proto_name(enum jit_proto p);

#endif
