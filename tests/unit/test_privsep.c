/*
 * test_privsep.c: the enforcer's side of the privsep boundary, for real: a real
 * enforcer (libnftables, the kernel) serves a socketpair inside a network namespace
 * of the test's own, and this test plays a compromised network process. Records that
 * name no set of jitgate's table, a foreign family or protocol, bytes past an IPv4
 * address, non-zero padding, a host key with a destination, deletes in a rebuild,
 * a count that does not match, records outside a transaction, oversized or unknown
 * messages: each COMMIT is refused with a 400 and the ruleset is exactly as before,
 * foreign tables included (one is even called "jitgate", in family ip). A well-formed
 * transaction goes through. Needs root (a network namespace); skips otherwise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "enforcer.h"
#include "privsep.h"
#include "privsep_msg.h"

static int fd = -1;
static pid_t server = -1;
static struct nft_ctx *nft;

/* The ruleset as text, with element expiry countdowns (which tick) taken out. */
static char *
ruleset(void)
{
	const char *out;
	char *copy, *p;

	nft_ctx_buffer_output(nft);
	if (nft_run_cmd_from_buffer(nft, "list ruleset") != 0)
		return NULL;
	out = nft_ctx_get_output_buffer(nft);
	if ((copy = strdup(out)) == NULL)
		return NULL;
	while ((p = strstr(copy, " expires ")) != NULL) {
		char *end = p + 9;

		while (*end != '\0' && *end != ',' && *end != ' ' && *end != '\n' && *end != '}')
			end++;
		memmove(p, end, strlen(end) + 1);
	}
	return copy;
}

static int
setup(void **state)
{
	int sv[2];

	if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
		fprintf(stderr, "# needs root and a network namespace of its own: skipped\n");
		return 0;
	}
	nft = nft_ctx_new(NFT_CTX_DEFAULT);
	/* Someone else's rules: they must come through every refused record unchanged. */
	if (nft == NULL || nft_run_cmd_from_buffer(nft,
		"add table inet other\n"
		"add set inet other s { type ipv4_addr; flags timeout; }\n"
		"add element inet other s { 10.0.0.1 timeout 1h }\n"
		"add table ip jitgate\n"
		"add chain ip jitgate c { type filter hook input priority 0; policy accept; }\n") != 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	if ((server = fork()) < 0)
		return -1;
	if (server == 0) {
		struct jit_enforcer *e;
		struct jit_error err;

		close(sv[0]);
		if (jit_enforcer_open(&e, &err) != 0)
			_exit(3);
		jit_privsep_serve(sv[1], e, NULL);
		jit_enforcer_free(e);
		_exit(0);
	}
	close(sv[1]);
	fd = sv[0];
	return 0;
}

static int
teardown(void **state)
{
	int status;

	if (fd >= 0)
		close(fd);
	if (server > 0)
		waitpid(server, &status, 0);
	if (nft != NULL)
		nft_ctx_free(nft);
	return 0;
}

static void
need_root(void)
{
	if (fd < 0)
		skip();
}

static void
send_raw(const uint8_t *buf, size_t len)
{
	assert_int_equal(send(fd, buf, len, 0), (ssize_t)len);
}

static int
await_reply(struct jit_error *err)
{
	uint8_t in[JIT_PS_REPLY_BYTES];
	ssize_t r = recv(fd, in, sizeof(in), 0);

	assert_true(r > 0);
	return jit_ps_decode_reply(in, (size_t)r, err);
}

static int
commit(enum jit_ep_kind kind, bool rebuild, const struct jit_nft_op *ops, size_t n,
	struct jit_error *err)
{
	static uint8_t buf[JIT_PS_MSG_MAX];

	send_raw(buf, jit_ps_encode_begin(buf, kind, rebuild, (uint32_t)n));
	if (n > 0)
		send_raw(buf, jit_ps_encode_ops(buf, ops, n));
	send_raw(buf, jit_ps_encode_commit(buf));
	return await_reply(err);
}

/* A host's table: port 22/tcp locked, 198.51.100.7 granted for an hour. */
static void
host_ops(struct jit_nft_op ops[2])
{
	memset(ops, 0, 2 * sizeof(*ops));
	ops[0].verb = JIT_NFT_ADD;
	ops[0].elem.set = JIT_NFT_LOCKED;
	ops[0].elem.proto = IPPROTO_TCP;
	ops[0].elem.port = 22;
	ops[1].verb = JIT_NFT_ADD;
	ops[1].timeout_s = 3600;
	ops[1].elem.set = JIT_NFT_GRANTS;
	ops[1].elem.family = 4;
	ops[1].elem.proto = IPPROTO_TCP;
	ops[1].elem.len = 32;
	ops[1].elem.port = 22;
	memcpy(ops[1].elem.src, (const uint8_t[]){ 198, 51, 100, 7 }, 4);
}

static void
test_well_formed_transaction_applies(void **state)
{
	struct jit_nft_op ops[2];
	struct jit_error err;
	char *after;

	need_root();
	host_ops(ops);
	if (commit(JIT_EP_HOST, true, ops, 2, &err) != 0)
		fail_msg("a good rebuild was refused: %s", err.message);
	after = ruleset();
	assert_non_null(after);
	assert_non_null(strstr(after, "table inet jitgate"));
	assert_non_null(strstr(after, "198.51.100.7"));
	assert_non_null(strstr(after, "table inet other"));
	free(after);
}

/* Each case: one or two bytes of a good grant add's record changed. */
struct bad_record {
	const char *what;
	size_t offset;     /* in the 44-byte record */
	uint8_t value;
	const char *says;  /* in the refusal */
	size_t offset2;    /* 0: none */
	uint8_t value2;
};

static void
refused_unchanged(const char *what, const char *says, const uint8_t *ops_msg, size_t len,
	enum jit_ep_kind kind, bool rebuild, uint32_t announced)
{
	static uint8_t buf[JIT_PS_MSG_MAX];
	struct jit_error err;
	char *before = ruleset(), *after;

	assert_non_null(before);
	send_raw(buf, jit_ps_encode_begin(buf, kind, rebuild, announced));
	if (ops_msg != NULL)
		send_raw(ops_msg, len);
	send_raw(buf, jit_ps_encode_commit(buf));
	if (await_reply(&err) == 0)
		fail_msg("%s: accepted", what);
	if (err.status != 400)
		fail_msg("%s: status %d (%s), want 400", what, err.status, err.message);
	if (says != NULL && strstr(err.message, says) == NULL)
		fail_msg("%s: the refusal '%s' does not say '%s'", what, err.message, says);
	after = ruleset();
	assert_non_null(after);
	if (strcmp(before, after) != 0)
		fail_msg("%s: the ruleset changed:\n%s\n---\n%s", what, before, after);
	free(before);
	free(after);
}

static void
test_bad_records_are_refused_and_change_nothing(void **state)
{
	static const struct bad_record cases[] = {
		{ "a set that is not jitgate's", 1, 9, "not one of table inet jitgate's", 0, 0 },
		{ "set 0", 1, 0, "set", 0, 0 },
		{ "family 2", 2, 2, "family", 0, 0 },
		{ "protocol 1 (ICMP)", 3, 1, "protocol", 0, 0 },
		{ "prefix length 33 for IPv4", 4, 33, "prefix length", 0, 0 },
		{ "padding", 5, 1, "reserved", 0, 0 },
		{ "bytes past an IPv4 source", 12 + 7, 1, "IPv4", 0, 0 },
		{ "a host key with a destination", 28, 10, "destination", 0, 0 },
		{ "verb 3", 0, 3, "verb", 0, 0 },
		{ "a prefix length the hash set cannot hold", 4, 24, "prefix length", 0, 0 },
		{ "source host bits past the prefix", 1, JIT_NFT_NETS, "host bits", 4, 24 },
		{ "no timeout on a grant add", 10, 0, "timeout", 11, 0 },
	};
	uint8_t msg[JIT_PS_HEADER + JIT_PS_OP_BYTES];
	struct jit_nft_op ops[2];

	need_root();
	host_ops(ops);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		jit_ps_encode_ops(msg, &ops[1], 1);
		msg[JIT_PS_HEADER + cases[i].offset] = cases[i].value;
		if (cases[i].offset2 != 0)
			msg[JIT_PS_HEADER + cases[i].offset2] = cases[i].value2;
		refused_unchanged(cases[i].what, cases[i].says, msg, sizeof(msg), JIT_EP_HOST,
			false, 1);
	}
}

static void
test_bad_framing_is_refused_and_changes_nothing(void **state)
{
	static uint8_t msg[JIT_PS_MSG_MAX + 64];
	struct jit_nft_op ops[2];
	struct jit_error err;
	size_t len;
	char *before, *after;

	need_root();
	host_ops(ops);
	len = jit_ps_encode_ops(msg, ops, 2);
	refused_unchanged("fewer records than announced", "records", msg, len, JIT_EP_HOST,
		false, 3);
	refused_unchanged("more records than announced", "more records", msg, len, JIT_EP_HOST,
		false, 1);
	/* A rebuild only adds: a delete in it is refused by the enforcer's own checks. */
	ops[1].verb = JIT_NFT_DELETE;
	ops[1].timeout_s = 0;
	len = jit_ps_encode_ops(msg, ops, 2);
	refused_unchanged("a delete in a rebuild", "rebuild", msg, len, JIT_EP_HOST, true, 2);
	/* A gateway's key must carry a family: the host's family-0 lock is refused there. */
	host_ops(ops);
	len = jit_ps_encode_ops(msg, ops, 1);
	refused_unchanged("a host key in a gateway's table", "family", msg, len,
		JIT_EP_GATEWAY, false, 1);
	/* Length that does not match the count. */
	len = jit_ps_encode_ops(msg, ops, 2);
	refused_unchanged("a truncated OPS message", "length", msg, len - 1, JIT_EP_HOST,
		false, 2);
	/* Larger than any valid message. */
	memset(msg, 0, sizeof(msg));
	msg[0] = JIT_PS_OPS;
	msg[1] = JIT_PS_VERSION;
	refused_unchanged("an oversized message", "bytes", msg, sizeof(msg), JIT_EP_HOST,
		false, 1);

	/* Requests that expect an answer get one at once. */
	before = ruleset();
	len = jit_ps_encode_commit(msg);
	send_raw(msg, len);
	assert_int_equal(await_reply(&err), -1);
	assert_non_null(strstr(err.message, "without BEGIN"));
	len = jit_ps_encode_probe(msg, JIT_EP_HOST);
	msg[1] = 2;
	send_raw(msg, len);
	assert_int_equal(await_reply(&err), -1);
	assert_non_null(strstr(err.message, "version"));
	msg[0] = 0x42;
	msg[1] = JIT_PS_VERSION;
	send_raw(msg, len);
	assert_int_equal(await_reply(&err), -1);
	assert_non_null(strstr(err.message, "type"));
	after = ruleset();
	assert_string_equal(before, after);
	free(before);
	free(after);
	/* And the enforcer still serves a good request afterwards. */
	len = jit_ps_encode_probe(msg, JIT_EP_HOST);
	send_raw(msg, len);
	if (await_reply(&err) != 0)
		fail_msg("probe after refusals: %s", err.message);
}

static void
test_incremental_delete(void **state)
{
	struct jit_nft_op ops[2];
	struct jit_error err;
	char *after;

	need_root();
	host_ops(ops);
	ops[1].verb = JIT_NFT_DELETE;
	ops[1].timeout_s = 0;
	if (commit(JIT_EP_HOST, false, &ops[1], 1, &err) != 0)
		fail_msg("deleting the grant: %s", err.message);
	after = ruleset();
	assert_null(strstr(after, "198.51.100.7"));
	assert_non_null(strstr(after, "10.0.0.1"));
	free(after);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_well_formed_transaction_applies),
		cmocka_unit_test(test_bad_records_are_refused_and_change_nothing),
		cmocka_unit_test(test_bad_framing_is_refused_and_changes_nothing),
		cmocka_unit_test(test_incremental_delete),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
