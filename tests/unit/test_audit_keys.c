/*
 * test_audit_keys.c: the audit key file (parse, format, rotation, which key covers
 * which entry) and signed checkpoints (sign, verify, both text forms, and that any
 * change to a signed field, or another key, breaks the signature).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_chain.h"
#include "audit_checkpoint.h"
#include "audit_key.h"

static const char HEAD[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
static const jit_time T = 1800000000LL * JIT_NS_PER_SEC + 123456789;

static void
fresh(struct jit_audit_keyring *kr)
{
	struct jit_error err;

	memset(kr, 0, sizeof(*kr));
	assert_int_equal(jit_audit_keyring_add_mac(kr, 1, &err), 0);
	assert_int_equal(jit_audit_keyring_add_sign(kr, &err), 0);
}

static void
test_keyfile_round_trip_and_rotation(void **state)
{
	struct jit_audit_keyring kr, back;
	struct jit_error err;
	char *text;

	fresh(&kr);
	assert_int_equal(jit_audit_keyring_add_mac(&kr, 1, &err), -1);   /* not after 1 */
	assert_int_equal(jit_audit_keyring_add_mac(&kr, 50, &err), 0);
	assert_int_equal(jit_audit_keyring_add_sign(&kr, &err), 0);
	text = jit_audit_keyring_format(&kr);
	assert_non_null(text);
	assert_int_equal(jit_audit_keyring_parse(text, strlen(text), &back, &err), 0);
	assert_int_equal(back.n_mac, 2);
	assert_int_equal(back.n_sign, 2);
	assert_memory_equal(back.mac, kr.mac, sizeof(kr.mac[0]) * 2);
	assert_memory_equal(back.sign, kr.sign, sizeof(kr.sign[0]) * 2);
	/* Entries 1..49 under the first key, 50 on under the second; the newest signs. */
	assert_ptr_equal(jit_audit_keyring_mac_for(&back, 49), &back.mac[0]);
	assert_ptr_equal(jit_audit_keyring_mac_for(&back, 50), &back.mac[1]);
	assert_ptr_equal(jit_audit_keyring_signer(&back), &back.sign[1]);
	sodium_memzero(text, strlen(text));
	free(text);
	jit_audit_keyring_wipe(&kr);
}

static void
test_entries_before_keying_have_no_key(void **state)
{
	struct jit_audit_keyring kr;
	struct jit_error err;

	memset(&kr, 0, sizeof(kr));
	assert_int_equal(jit_audit_keyring_add_mac(&kr, 1000, &err), 0);
	assert_null(jit_audit_keyring_mac_for(&kr, 999));
	assert_non_null(jit_audit_keyring_mac_for(&kr, 1000));
}

static void
test_keyfile_refusals(void **state)
{
	static const char *const bad[] = {
		"",
		"jitgate-audit-keys 2\n",
		"jitgate-audit-keys 1\n",  /* no keys */
		"jitgate-audit-keys 1\nmac 1 "
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", /* no sign */
		"jitgate-audit-keys 1\nmac 0 "
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\nsign "
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
		"jitgate-audit-keys 1\nmac 1 "
		"00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff\nsign "
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
		"jitgate-audit-keys 1\nmac 5 "
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\nmac 5 "
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\nsign "
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
		"jitgate-audit-keys 1\nmac 1 00\nsign "
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
		"jitgate-audit-keys 1\nkey 1\n",
	};
	struct jit_audit_keyring kr;
	struct jit_error err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (jit_audit_keyring_parse(bad[i], strlen(bad[i]), &kr, &err) != -1)
			fail_msg("accepted key file %zu", i);
		assert_int_equal(err.status, 400);
		assert_int_equal(kr.n_mac + kr.n_sign, 0);  /* nothing half-parsed kept */
	}
}

static void
test_checkpoint_sign_verify_and_tamper(void **state)
{
	struct jit_audit_keyring kr, other;
	struct jit_audit_checkpoint cp, t;
	struct jit_error err;

	fresh(&kr);
	fresh(&other);
	assert_int_equal(jit_audit_checkpoint_sign(&cp, 42, HEAD, T, jit_audit_keyring_signer(&kr),
		&err), 0);
	assert_true(jit_audit_checkpoint_valid(&cp));
	assert_int_equal(cp.time % 100, 0);
	t = cp;
	t.seq = 43;
	assert_false(jit_audit_checkpoint_valid(&t));
	t = cp;
	t.head[0] = '1';
	assert_false(jit_audit_checkpoint_valid(&t));
	t = cp;
	t.time += 100;
	assert_false(jit_audit_checkpoint_valid(&t));
	t = cp;
	t.sig[10] ^= 1;
	assert_false(jit_audit_checkpoint_valid(&t));
	/* Another key's public half in place of ours: the signature does not hold. */
	t = cp;
	memcpy(t.pk, jit_audit_keyring_signer(&other)->pk, sizeof(t.pk));
	assert_false(jit_audit_checkpoint_valid(&t));
	assert_int_equal(jit_audit_checkpoint_sign(&t, 1, "xyz", T,
		jit_audit_keyring_signer(&kr), &err), -1);
}

static void
test_checkpoint_text_forms(void **state)
{
	struct jit_audit_keyring kr;
	struct jit_audit_checkpoint cp, back;
	char line[JIT_AUDIT_CHECKPOINT_LINE + 100], *json;
	struct jit_error err;
	json_t *j;

	fresh(&kr);
	assert_int_equal(jit_audit_checkpoint_sign(&cp, 7, HEAD, T, jit_audit_keyring_signer(&kr),
		&err), 0);
	j = jit_audit_checkpoint_to_json(&cp);
	json = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	assert_int_equal(jit_audit_checkpoint_parse(json, strlen(json), &back, &err), 0);
	assert_memory_equal(&back, &cp, sizeof(cp));
	assert_true(jit_audit_checkpoint_valid(&back));
	free(json);
	/* The operator log's line, as syslog or journalctl prints it. */
	memcpy(line, "Dec  4 20:00:00 host jitgated[7]: level=info prog=jitgated "
		"event=audit_checkpoint ", 82);
	jit_audit_checkpoint_to_line(&cp, line + 82);
	strcat(line, "\n");
	assert_int_equal(jit_audit_checkpoint_parse(line, strlen(line), &back, &err), 0);
	assert_memory_equal(&back, &cp, sizeof(cp));
	/* A field twice, one missing, JSON with an extra member: refused. */
	assert_int_equal(jit_audit_checkpoint_parse("seq=1 seq=2", 11, &back, &err), -1);
	assert_int_equal(jit_audit_checkpoint_parse("seq=1 head=00", 13, &back, &err), -1);
	assert_int_equal(jit_audit_checkpoint_parse("{\"sequence\":1}", 14, &back, &err), -1);
	assert_non_null(strstr(err.message, "checkpoint"));
}

/* A chain of n entries written under kr (NULL: unkeyed). */
struct chain {
	struct jit_audit_record r[4];
	char prev[4][JIT_AUDIT_HASH_HEX], hash[4][JIT_AUDIT_HASH_HEX];
};

static void
write_chain(struct chain *c, const struct jit_audit_keyring *kr)
{
	static const char *const ops[] = { "a/write", "b/write", "c/initiate/action", "d/x" };

	memset(c, 0, sizeof(*c));
	for (int i = 0; i < 4; i++) {
		c->r[i] = (struct jit_audit_record){ .seq = i + 1, .time = T + i, .principal_id = 1,
			.principal_name = "admin", .operation = ops[i], .result = "Succeeded",
			.status = 200 };
		snprintf(c->prev[i], JIT_AUDIT_HASH_HEX, "%s", i == 0 ? JIT_AUDIT_GENESIS :
			c->hash[i - 1]);
		jit_audit_entry_hash(kr, c->prev[i], &c->r[i], c->hash[i]);
	}
}

static struct jit_audit_verdict
check_chain(const struct chain *c, int n, const struct jit_audit_keyring *kr, int64_t cp_seq,
	const char *cp_head)
{
	struct jit_audit_verifier v;
	struct jit_audit_verdict out;
	bool intact = true;

	jit_audit_verify_begin(&v);
	jit_audit_verify_keys(&v, kr);
	jit_audit_verify_checkpoint(&v, cp_seq, cp_head);
	for (int i = 0; i < n && intact; i++) {
		struct jit_audit_stored st = { .prev_hash = c->prev[i], .hash = c->hash[i],
			.resource_key = "", .vm_keys = "" };

		assert_int_equal(jit_audit_verify_entry(&v, &c->r[i], &st, &intact), 0);
	}
	jit_audit_verify_end(&v, c->r[n - 1].seq, c->hash[n - 1], &out);
	return out;
}

static void
test_keyed_chain_and_checkpoints(void **state)
{
	struct jit_audit_keyring kr, other;
	struct jit_audit_verdict v;
	struct chain c, forged;

	fresh(&kr);
	fresh(&other);
	write_chain(&c, &kr);
	v = check_chain(&c, 4, &kr, 0, NULL);
	assert_true(v.ok);
	assert_int_equal(v.head_seq, 4);
	/* The MAC is not the unkeyed hash, and another key's chain does not verify. */
	write_chain(&forged, NULL);
	assert_string_not_equal(forged.hash[0], c.hash[0]);
	v = check_chain(&forged, 4, &kr, 0, NULL);
	assert_false(v.ok);
	assert_int_equal(v.first_broken_seq, 1);
	assert_non_null(strstr(v.reason, "MAC"));
	write_chain(&forged, &other);
	assert_false(check_chain(&forged, 4, &kr, 0, NULL).ok);
	/* Entries from the key's from_seq on are MACed; those before keep the plain hash. */
	memset(&other, 0, sizeof(other));
	assert_int_equal(jit_audit_keyring_add_mac(&other, 3, NULL), 0);
	write_chain(&forged, &other);
	{
		char plain[JIT_AUDIT_HASH_HEX];

		jit_audit_hash(forged.prev[1], &forged.r[1], plain);
		assert_string_equal(plain, forged.hash[1]);
		jit_audit_hash(forged.prev[2], &forged.r[2], plain);
		assert_string_not_equal(plain, forged.hash[2]);
	}
	assert_true(check_chain(&forged, 4, &other, 0, NULL).ok);
	/* Checkpoints: the entry must have the signed head, and must be there. */
	v = check_chain(&c, 4, &kr, 3, c.hash[2]);
	assert_true(v.ok);
	assert_true(v.checkpoint_matched);
	v = check_chain(&c, 4, &kr, 3, c.hash[1]);
	assert_false(v.ok);
	assert_int_equal(v.first_broken_seq, 3);
	v = check_chain(&c, 2, &kr, 3, c.hash[2]);    /* cut back to 2 entries */
	assert_false(v.ok);
	assert_int_equal(v.first_broken_seq, 3);
	assert_non_null(strstr(v.reason, "before the checkpoint"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyfile_round_trip_and_rotation),
		cmocka_unit_test(test_entries_before_keying_have_no_key),
		cmocka_unit_test(test_keyfile_refusals),
		cmocka_unit_test(test_checkpoint_sign_verify_and_tamper),
		cmocka_unit_test(test_checkpoint_text_forms),
		cmocka_unit_test(test_keyed_chain_and_checkpoints),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
