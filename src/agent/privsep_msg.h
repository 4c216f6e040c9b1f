/*
 * privsep_msg.h: the records jitgate-agent's network process sends its enforcer, and
 * the answers it gets back (privsep.h). Pure: bytes in, typed values out, no I/O.
 *
 * One message is one SOCK_SEQPACKET datagram: an 8-byte header (type, version 1, two
 * zero bytes, a 32-bit big-endian argument) and a payload of fixed layout. The network
 * process asks:
 *   PROBE  arg kind (1 host, 2 gateway)        can nftables enforce this kind here?
 *   BEGIN  arg n; payload kind, rebuild, 0, 0  a transaction of n element records
 *   OPS    arg k; payload k records of 44 bytes
 *   COMMIT arg 0                               apply the n records as one transaction
 *   READ   arg kind; payload elements, 0, 0, 0 the table as the kernel has it
 * and each PROBE, COMMIT or READ gets one REPLY: arg the status (0 done, or an
 * HTTP-style error status) and the error's code and message, NUL-terminated. A READ
 * that succeeded goes on with VIEW (arg the number of elements; payload exists, 0, 0,
 * 0 and the layout text's length), TEXT messages (the layout, in pieces) and ELEMS
 * messages (elements as read back: a record's bytes 1..43 and the seconds it has
 * left, signed 64-bit, -1 for none). An element record
 * (struct jit_nft_op of plan.h) is: verb, set, family, protocol, prefix length, a zero
 * byte, port (16 bits), timeout in seconds (32 bits), source (16 bytes), destination
 * (16 bytes), numbers big-endian. "Flush" is a BEGIN with rebuild and no records.
 *
 * The decoder is where the enforcer meets bytes it did not write: every field is
 * checked against what it may hold (known type, version and verb, zero padding, a
 * set of jitgate's table, family 4 or 6 (0 for a host's keys), TCP or UDP, a prefix
 * length that fits the family, an IPv4 address with nothing past its 4 bytes, exact
 * lengths); what the table's layout allows on top is checked again by
 * jit_enforcer_commit before anything reaches the kernel.
 */
#ifndef JIT_AGENT_PRIVSEP_MSG_H
#define JIT_AGENT_PRIVSEP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "desired_state.h"
#include "error.h"
#include "plan.h"

#define JIT_PS_VERSION 1
#define JIT_PS_HEADER 8
#define JIT_PS_OP_BYTES 44
/* Records per OPS message: 44 * 1024 + 8 bytes, well inside a socket's buffer. */
#define JIT_PS_OPS_PER_MSG 1024
#define JIT_PS_MSG_MAX (JIT_PS_HEADER + JIT_PS_OP_BYTES * JIT_PS_OPS_PER_MSG)
#define JIT_PS_REPLY_BYTES (JIT_PS_HEADER + JIT_ERROR_CODE_MAX + JIT_ERROR_MSG_MAX)

enum jit_ps_type {
	JIT_PS_PROBE = 1,
	JIT_PS_BEGIN = 2,
	JIT_PS_OPS = 3,
	JIT_PS_COMMIT = 4,
	JIT_PS_READ = 5,
	JIT_PS_REPLY = 0x81,
	JIT_PS_VIEW = 0x82,
	JIT_PS_TEXT = 0x83,
	JIT_PS_ELEMS = 0x84,
};

#define JIT_PS_ACTUAL_BYTES 52
#define JIT_PS_ACTUALS_PER_MSG 1024
#define JIT_PS_TEXT_PER_MSG (JIT_PS_MSG_MAX - JIT_PS_HEADER)
/* A read-back table's limits (it may hold elements someone else added). */
#define JIT_PS_VIEW_MAX_ELEMENTS (1u << 22)
#define JIT_PS_VIEW_MAX_TEXT (16u << 20)

/* A request as decoded by the enforcer (an OPS message's records go to an array of the
 * caller's). */
struct jit_ps_request {
	enum jit_ps_type type;
	enum jit_ep_kind kind;   /* PROBE, BEGIN */
	bool rebuild;            /* BEGIN */
	bool elements;           /* READ */
	uint32_t n;              /* BEGIN: records to come; OPS: records in this message */
};

/* Encoders (network process). Each returns the message's length. buf holds at least
 * JIT_PS_MSG_MAX bytes; jit_ps_encode_ops takes n <= JIT_PS_OPS_PER_MSG records. */
size_t jit_ps_encode_probe(uint8_t *buf, enum jit_ep_kind kind);
size_t jit_ps_encode_begin(uint8_t *buf, enum jit_ep_kind kind, bool rebuild, uint32_t n);
size_t jit_ps_encode_ops(uint8_t *buf, const struct jit_nft_op *ops, size_t n);
size_t jit_ps_encode_commit(uint8_t *buf);
size_t jit_ps_encode_read(uint8_t *buf, enum jit_ep_kind kind, bool elements);

/* Decodes one request of len bytes (enforcer). For OPS, the records go to
 * ops[0..req->n) (room for JIT_PS_OPS_PER_MSG). 400 for anything malformed. */
int jit_ps_decode_request(const uint8_t *buf, size_t len, struct jit_ps_request *req,
	struct jit_nft_op *ops, struct jit_error *err);

/* The enforcer's answer: 0 or the error. buf holds JIT_PS_REPLY_BYTES. */
size_t jit_ps_encode_reply(uint8_t *buf, const struct jit_error *result);
/* Decodes a REPLY (network process): 0 when it reports success, -1 with *err set to
 * the enforcer's error, or to a 500 when the reply itself is malformed. */
int jit_ps_decode_reply(const uint8_t *buf, size_t len, struct jit_error *err);

/* A READ's answer after its REPLY (enforcer encodes, network process decodes; the
 * decoders check lengths and limits, and set 0xff marks an element nftables listed in
 * a form the enforcer could not read). */
size_t jit_ps_encode_view(uint8_t *buf, bool exists, uint32_t text_len, uint32_t n);
int jit_ps_decode_view(const uint8_t *buf, size_t len, bool *exists, uint32_t *text_len,
	uint32_t *n, struct jit_error *err);
size_t jit_ps_encode_text(uint8_t *buf, const char *text, size_t n);
size_t jit_ps_encode_actuals(uint8_t *buf, const struct jit_nft_actual *v, size_t n);
/* TEXT: *n bytes at *text (pointing into buf); ELEMS: *n elements into v (room for
 * JIT_PS_ACTUALS_PER_MSG). type says which one buf was. */
int jit_ps_decode_piece(const uint8_t *buf, size_t len, enum jit_ps_type *type,
	const char **text, struct jit_nft_actual *v, size_t *n, struct jit_error *err);

#endif
