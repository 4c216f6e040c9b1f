/*
 * fuzz_privsep_record.c: the enforcer's record decoder (privsep_msg.h) on arbitrary
 * bytes, as a compromised network process would send them.
 *
 * The input is a sequence of messages, each a 2-byte big-endian length and that many
 * bytes. Beyond "no crash": a refusal is a 400 with a printable message; a decoded
 * OPS message encodes back to exactly its bytes (nothing in a record is ignored, so
 * nothing can be smuggled past the checks); and the records are then put through the
 * enforcer's own checks and transaction builder (jit_enforcer_ops_transaction, which
 * never talks to the kernel), so every record that would reach libnftables has passed
 * both.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "enforcer.h"
#include "privsep_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_message(const struct jit_error *err)
{
	size_t n = strnlen(err->message, sizeof(err->message));

	if (err->status != 400 || n == 0 || n >= sizeof(err->message))
		abort();
	for (size_t i = 0; i < n; i++)
		if (err->message[i] < 0x20 || err->message[i] > 0x7e)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jit_nft_op ops[JIT_PS_OPS_PER_MSG];
	static uint8_t again[JIT_PS_MSG_MAX];
	enum jit_ep_kind kind = JIT_EP_HOST;
	bool rebuild = false;

	while (size >= 2) {
		size_t len = (size_t)data[0] << 8 | data[1];
		struct jit_ps_request rq;
		struct jit_error err;

		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		if (jit_ps_decode_request(data, len, &rq, ops, &err) != 0) {
			check_message(&err);
		} else if (rq.type == JIT_PS_BEGIN || rq.type == JIT_PS_PROBE) {
			kind = rq.kind;
			rebuild = rq.type == JIT_PS_BEGIN && rq.rebuild;
		} else if (rq.type == JIT_PS_OPS) {
			json_t *tx;

			if (jit_ps_encode_ops(again, ops, rq.n) != len || memcmp(again, data, len) != 0)
				abort();
			tx = jit_enforcer_ops_transaction(kind, rebuild, ops, rq.n, &err);
			if (tx == NULL && err.status != 400)
				abort();
			json_decref(tx);
		}
		data += len;
		size -= len;
	}
	return 0;
}
