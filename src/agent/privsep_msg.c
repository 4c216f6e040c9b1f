/*
 * privsep_msg.c: encoding and strict decoding of the privsep records (privsep_msg.h).
 */
#include "privsep_msg.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t
header(uint8_t *buf, enum jit_ps_type type, uint32_t arg)
{
	buf[0] = (uint8_t)type;
	buf[1] = JIT_PS_VERSION;
	buf[2] = 0;
	buf[3] = 0;
	put32(buf + 4, arg);
	return JIT_PS_HEADER;
}

size_t
jit_ps_encode_probe(uint8_t *buf, enum jit_ep_kind kind)
{
	return header(buf, JIT_PS_PROBE, (uint32_t)kind);
}

size_t
jit_ps_encode_begin(uint8_t *buf, enum jit_ep_kind kind, bool rebuild, uint32_t n)
{
	size_t len = header(buf, JIT_PS_BEGIN, n);

	buf[len++] = (uint8_t)kind;
	buf[len++] = rebuild ? 1 : 0;
	buf[len++] = 0;
	buf[len++] = 0;
	return len;
}

size_t
jit_ps_encode_ops(uint8_t *buf, const struct jit_nft_op *ops, size_t n)
{
	uint8_t *p = buf + header(buf, JIT_PS_OPS, (uint32_t)n);

	for (size_t i = 0; i < n; i++, p += JIT_PS_OP_BYTES) {
		const struct jit_nft_op *o = &ops[i];

		p[0] = o->verb;
		p[1] = o->elem.set;
		p[2] = o->elem.family;
		p[3] = o->elem.proto;
		p[4] = o->elem.len;
		p[5] = 0;
		put16(p + 6, o->elem.port);
		put32(p + 8, o->timeout_s);
		memcpy(p + 12, o->elem.src, 16);
		memcpy(p + 28, o->elem.dest, 16);
	}
	return (size_t)(p - buf);
}

size_t
jit_ps_encode_commit(uint8_t *buf)
{
	return header(buf, JIT_PS_COMMIT, 0);
}

size_t
jit_ps_encode_read(uint8_t *buf, enum jit_ep_kind kind, bool elements)
{
	size_t len = header(buf, JIT_PS_READ, (uint32_t)kind);

	buf[len++] = elements ? 1 : 0;
	buf[len++] = 0;
	buf[len++] = 0;
	buf[len++] = 0;
	return len;
}

static int
bad(struct jit_error *err, const char *what, unsigned v)
{
	return jit_errorf(err, 400, JIT_E_BAD_REQUEST, "privsep record refused: %s %u", what, v);
}

static bool
zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static int
kind_of(uint32_t v, enum jit_ep_kind *out, struct jit_error *err)
{
	if (v != JIT_EP_HOST && v != JIT_EP_GATEWAY)
		return bad(err, "enforcement point kind", v);
	*out = (enum jit_ep_kind)v;
	return 0;
}

static int
decode_op(const uint8_t *p, struct jit_nft_op *o, struct jit_error *err)
{
	unsigned family = p[2], len = p[4];

	memset(o, 0, sizeof(*o));
	if (p[0] != JIT_NFT_ADD && p[0] != JIT_NFT_DELETE)
		return bad(err, "verb", p[0]);
	if (p[1] < JIT_NFT_LOCKED || p[1] > JIT_NFT_NETS)
		return bad(err, "set (not one of table inet jitgate's)", p[1]);
	if (family != 0 && family != 4 && family != 6)
		return bad(err, "family", family);
	if (p[3] != IPPROTO_TCP && p[3] != IPPROTO_UDP)
		return bad(err, "protocol", p[3]);
	if (len > (family == 6 ? 128u : family == 4 ? 32u : 0u))
		return bad(err, "prefix length", len);
	if (p[5] != 0)
		return bad(err, "reserved byte", p[5]);
	if (get16(p + 6) == 0)
		return bad(err, "port", 0);
	/* An IPv4 address (or none) has nothing past its 4 bytes. */
	if (family != 6 && (!zero(p + 12 + 4, 12) || !zero(p + 28 + 4, 12)))
		return bad(err, "address bytes past IPv4's for family", family);
	if (family == 0 && (!zero(p + 12, 4) || !zero(p + 28, 4)))
		return bad(err, "address without a family", 0);
	o->verb = p[0];
	o->elem.set = p[1];
	o->elem.family = (uint8_t)family;
	o->elem.proto = p[3];
	o->elem.len = (uint8_t)len;
	o->elem.port = get16(p + 6);
	o->timeout_s = get32(p + 8);
	memcpy(o->elem.src, p + 12, 16);
	memcpy(o->elem.dest, p + 28, 16);
	return 0;
}

int
jit_ps_decode_request(const uint8_t *buf, size_t len, struct jit_ps_request *req,
	struct jit_nft_op *ops, struct jit_error *err)
{
	uint32_t arg;

	memset(req, 0, sizeof(*req));
	if (len < JIT_PS_HEADER)
		return bad(err, "message length", (unsigned)len);
	if (buf[1] != JIT_PS_VERSION)
		return bad(err, "version", buf[1]);
	if (buf[2] != 0 || buf[3] != 0)
		return bad(err, "reserved header bytes", (unsigned)get16(buf + 2));
	arg = get32(buf + 4);
	switch (buf[0]) {
	case JIT_PS_PROBE:
		if (len != JIT_PS_HEADER)
			return bad(err, "PROBE length", (unsigned)len);
		req->type = JIT_PS_PROBE;
		return kind_of(arg, &req->kind, err);
	case JIT_PS_BEGIN:
		if (len != JIT_PS_HEADER + 4)
			return bad(err, "BEGIN length", (unsigned)len);
		if (arg > JIT_PLAN_MAX_ELEMENTS)
			return bad(err, "records in one transaction", arg);
		if (buf[9] > 1 || buf[10] != 0 || buf[11] != 0)
			return bad(err, "BEGIN flags", buf[9]);
		req->type = JIT_PS_BEGIN;
		req->n = arg;
		req->rebuild = buf[9] == 1;
		return kind_of(buf[8], &req->kind, err);
	case JIT_PS_OPS:
		if (arg < 1 || arg > JIT_PS_OPS_PER_MSG)
			return bad(err, "records in one message", arg);
		if (len != JIT_PS_HEADER + (size_t)arg * JIT_PS_OP_BYTES)
			return bad(err, "OPS length", (unsigned)len);
		for (uint32_t i = 0; i < arg; i++)
			if (decode_op(buf + JIT_PS_HEADER + (size_t)i * JIT_PS_OP_BYTES, &ops[i],
				err) != 0)
				return jit_error_prefix(err, "record %u", i);
		req->type = JIT_PS_OPS;
		req->n = arg;
		return 0;
	case JIT_PS_COMMIT:
		if (len != JIT_PS_HEADER || arg != 0)
			return bad(err, "COMMIT length", (unsigned)len);
		req->type = JIT_PS_COMMIT;
		return 0;
	case JIT_PS_READ:
		if (len != JIT_PS_HEADER + 4)
			return bad(err, "READ length", (unsigned)len);
		if (buf[8] > 1 || buf[9] != 0 || buf[10] != 0 || buf[11] != 0)
			return bad(err, "READ flags", buf[8]);
		req->type = JIT_PS_READ;
		req->elements = buf[8] == 1;
		return kind_of(arg, &req->kind, err);
	default:
		return bad(err, "message type", buf[0]);
	}
}

size_t
jit_ps_encode_reply(uint8_t *buf, const struct jit_error *result)
{
	size_t len = header(buf, JIT_PS_REPLY, result == NULL ? 0 : (uint32_t)result->status);

	memset(buf + len, 0, JIT_ERROR_CODE_MAX + JIT_ERROR_MSG_MAX);
	if (result != NULL) {
		snprintf((char *)buf + len, JIT_ERROR_CODE_MAX, "%s", result->code);
		snprintf((char *)buf + len + JIT_ERROR_CODE_MAX, JIT_ERROR_MSG_MAX, "%s",
			result->message);
	}
	return JIT_PS_REPLY_BYTES;
}

int
jit_ps_decode_reply(const uint8_t *buf, size_t len, struct jit_error *err)
{
	const char *code = (const char *)buf + JIT_PS_HEADER;
	const char *msg = code + JIT_ERROR_CODE_MAX;
	uint32_t status;

	if (len != JIT_PS_REPLY_BYTES || buf[0] != JIT_PS_REPLY || buf[1] != JIT_PS_VERSION ||
		memchr(code, '\0', JIT_ERROR_CODE_MAX) == NULL ||
		memchr(msg, '\0', JIT_ERROR_MSG_MAX) == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "the enforcer's answer is malformed");
	status = get32(buf + 4);
	if (status == 0)
		return 0;
	if (status < 400 || status > 599)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "the enforcer's answer is malformed");
	return jit_errorf(err, (int)status, code, "%s", msg);
}

/* ---- a READ's answer ---- */

static int
malformed(struct jit_error *err, const char *what)
{
	return jit_errorf(err, 500, JIT_E_INTERNAL, "the enforcer's answer is malformed: %s",
		what);
}

size_t
jit_ps_encode_view(uint8_t *buf, bool exists, uint32_t text_len, uint32_t n)
{
	size_t len = header(buf, JIT_PS_VIEW, n);

	buf[len++] = exists ? 1 : 0;
	buf[len++] = 0;
	buf[len++] = 0;
	buf[len++] = 0;
	put32(buf + len, text_len);
	return len + 4;
}

int
jit_ps_decode_view(const uint8_t *buf, size_t len, bool *exists, uint32_t *text_len,
	uint32_t *n, struct jit_error *err)
{
	if (len != JIT_PS_HEADER + 8 || buf[0] != JIT_PS_VIEW || buf[1] != JIT_PS_VERSION ||
		buf[8] > 1)
		return malformed(err, "VIEW");
	*n = get32(buf + 4);
	*exists = buf[8] == 1;
	*text_len = get32(buf + 12);
	if (*n > JIT_PS_VIEW_MAX_ELEMENTS || *text_len > JIT_PS_VIEW_MAX_TEXT)
		return malformed(err, "a table over the limits");
	return 0;
}

size_t
jit_ps_encode_text(uint8_t *buf, const char *text, size_t n)
{
	size_t len = header(buf, JIT_PS_TEXT, (uint32_t)n);

	memcpy(buf + len, text, n);
	return len + n;
}

size_t
jit_ps_encode_actuals(uint8_t *buf, const struct jit_nft_actual *v, size_t n)
{
	uint8_t *p = buf + header(buf, JIT_PS_ELEMS, (uint32_t)n);

	for (size_t i = 0; i < n; i++, p += JIT_PS_ACTUAL_BYTES) {
		const struct jit_nft_elem *e = &v[i].elem;
		uint64_t x = (uint64_t)v[i].expires_s;

		p[0] = e->set;
		p[1] = e->family;
		p[2] = e->proto;
		p[3] = e->len;
		put16(p + 4, e->port);
		p[6] = 0;
		p[7] = 0;
		memcpy(p + 8, e->src, 16);
		memcpy(p + 24, e->dest, 16);
		put32(p + 40, (uint32_t)(x >> 32));
		put32(p + 44, (uint32_t)x);
		put32(p + 48, 0);
	}
	return (size_t)(p - buf);
}

int
jit_ps_decode_piece(const uint8_t *buf, size_t len, enum jit_ps_type *type,
	const char **text, struct jit_nft_actual *v, size_t *n, struct jit_error *err)
{
	uint32_t arg;

	if (len < JIT_PS_HEADER || buf[1] != JIT_PS_VERSION)
		return malformed(err, "a piece of a table");
	arg = get32(buf + 4);
	if (buf[0] == JIT_PS_TEXT) {
		if (len != JIT_PS_HEADER + (size_t)arg)
			return malformed(err, "TEXT length");
		*type = JIT_PS_TEXT;
		*text = (const char *)buf + JIT_PS_HEADER;
		*n = arg;
		return 0;
	}
	if (buf[0] != JIT_PS_ELEMS || arg > JIT_PS_ACTUALS_PER_MSG ||
		len != JIT_PS_HEADER + (size_t)arg * JIT_PS_ACTUAL_BYTES)
		return malformed(err, "ELEMS length");
	for (uint32_t i = 0; i < arg; i++) {
		const uint8_t *p = buf + JIT_PS_HEADER + (size_t)i * JIT_PS_ACTUAL_BYTES;
		struct jit_nft_elem *e = &v[i].elem;

		memset(&v[i], 0, sizeof(v[i]));
		e->set = p[0];
		e->family = p[1];
		e->proto = p[2];
		e->len = p[3];
		e->port = get16(p + 4);
		memcpy(e->src, p + 8, 16);
		memcpy(e->dest, p + 24, 16);
		v[i].expires_s = (int64_t)((uint64_t)get32(p + 40) << 32 | get32(p + 44));
	}
	*type = JIT_PS_ELEMS;
	*n = arg;
	return 0;
}
