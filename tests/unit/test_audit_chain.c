/*
 * test_audit_chain.c: the audit chain's encoding (fixed vectors, computed
 * independently with Python's hashlib.blake2b), the index an entry implies
 * (1,000 VMs with long names: the size a legitimate policy may have), and
 * verification naming the first altered, missing, unlinked or hidden entry
 * and a cut tail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit_chain.h"

static void
test_hash_vectors(void **state)
{
	struct jit_audit_record a = {
		.seq = 1, .time = 1700000000000000000LL, .caller = "10.0.0.1",
		.operation = "Jitgate/signIn/action", .resource_id = "/x", .result = "Failed",
		.status = 401, .details_json = "{\"code\":\"x\"}",
	};
	struct jit_audit_record b = {
		.seq = 7, .time = 42, .principal_id = 3, .principal_name = "alice", .caller = "",
		.operation = "op", .result = "Succeeded", .status = 200, .correlation_id = "corr",
		.details_json = "",
		.vms_json = "[\"/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/"
			"virtualMachines/v\"]",
	};
	char prev[JIT_AUDIT_HASH_HEX], out[JIT_AUDIT_HASH_HEX];

	(void)state;
	jit_audit_hash(JIT_AUDIT_GENESIS, &a, out);
	assert_string_equal(out, "06cd73d2d6be3c44557db2a6bcb02684499b33b1308c289a48a4de699c343d7a");
	for (int i = 0; i < 32; i++)
		memcpy(prev + 2 * i, "ab", 2);
	prev[64] = '\0';
	jit_audit_hash(prev, &b, out);
	assert_string_equal(out, "c2c38d72909b5a3058947658c3ef4aac46bf2925e91a1d3eb19bdb747ee25361");
	/* NULL and "" are different content. */
	b.caller = NULL;
	jit_audit_hash(prev, &b, prev);
	assert_string_not_equal(prev, "c2c38d72909b5a3058947658c3ef4aac46bf2925e91a1d3eb19bdb747ee25361");
}

/* n VMs whose names are JIT_NAME_MAX long (IDs of ~260 bytes), in reverse order. */
static struct jit_rid *
many_vms(size_t n)
{
	struct jit_rid *vms = calloc(n, sizeof(*vms));
	char name[JIT_NAME_MAX + 1];

	assert_non_null(vms);
	for (size_t i = 0; i < n; i++) {
		memset(name, 'v', JIT_NAME_MAX);
		name[JIT_NAME_MAX] = '\0';
		snprintf(name + JIT_NAME_MAX - 6, 7, "%06zu", n - i);
		jit_rid_vm(&vms[i], "Sub", "Group", name);
	}
	return vms;
}

static void
test_index(void **state)
{
	struct jit_rid vms[3];
	char key[JIT_RESOURCE_ID_MAX], *json, *keys;

	(void)state;
	jit_rid_vm(&vms[0], "S", "G", "Web2");
	jit_rid_vm(&vms[1], "S", "G", "web1");
	jit_rid_vm(&vms[2], "s", "g", "WEB2");
	assert_int_equal(jit_audit_vms_json(vms, 3, &json), 0);
	assert_int_equal(jit_audit_index("/subscriptions/S/resourceGroups/G", json, key, &keys), 0);
	assert_string_equal(key, "/subscriptions/s/resourcegroups/g");
	/* Lowercased, sorted, duplicates dropped, one space between. */
	assert_string_equal(keys,
		"/subscriptions/s/resourcegroups/g/providers/microsoft.compute/virtualmachines/web1 "
		"/subscriptions/s/resourcegroups/g/providers/microsoft.compute/virtualmachines/web2");
	free(keys);
	free(json);
	assert_int_equal(jit_audit_vms_json(vms, 0, &json), 0);
	assert_null(json);
	/* No resource, no VMs, or content that is not an array of IDs: an empty index. */
	assert_int_equal(jit_audit_index(NULL, NULL, key, &keys), 0);
	assert_string_equal(key, "");
	assert_string_equal(keys, "");
	free(keys);
	assert_int_equal(jit_audit_index("not an id", "{\"a\":1}", key, &keys), 0);
	assert_string_equal(key, "");
	assert_string_equal(keys, "");
	free(keys);
}

/* Regression: the index of an entry about 1,000 long-named VMs was cut at 64 VMs / 4 KiB,
 * so verify reported a legitimate policy write as hidden. */
static void
test_index_thousand_vms(void **state)
{
	struct jit_rid *vms = many_vms(1000);
	char key[JIT_RESOURCE_ID_MAX], *json, *keys, *p;
	size_t count = 1;

	(void)state;
	assert_int_equal(jit_audit_vms_json(vms, 1000, &json), 0);
	assert_int_equal(jit_audit_index(NULL, json, key, &keys), 0);
	for (p = keys; *p; p++)
		count += *p == ' ';
	assert_int_equal(count, 1000);
	assert_true(strlen(keys) > 1000 * 170);
	/* Sorted: the first key is VM 000001 although it came last. */
	assert_non_null(strstr(keys, "000001 "));
	assert_true(strstr(keys, "000001") < strstr(keys, "000002"));
	free(keys);
	free(json);
	free(vms);
}

/* A small chain as a store would hold it. */
struct row {
	struct jit_audit_record rec;
	char prev[JIT_AUDIT_HASH_HEX], hash[JIT_AUDIT_HASH_HEX], key[JIT_RESOURCE_ID_MAX];
	char *vms_json, *vm_keys;
};

#define ROWS 5

static void
make_chain(struct row rows[ROWS], size_t n_vms)
{
	char prev[JIT_AUDIT_HASH_HEX] = JIT_AUDIT_GENESIS;
	struct jit_rid *vms = many_vms(n_vms);

	for (int i = 0; i < ROWS; i++) {
		struct row *r = &rows[i];

		memset(r, 0, sizeof(*r));
		assert_int_equal(jit_audit_vms_json(vms, i == 2 ? n_vms : 1, &r->vms_json), 0);
		r->rec = (struct jit_audit_record){
			.seq = i + 1, .time = 1000 + i, .principal_id = i, .principal_name = "admin",
			.operation = "Microsoft.Security/locations/jitNetworkAccessPolicies/write",
			.resource_id = "/subscriptions/s/resourceGroups/G", .result = "Succeeded",
			.status = 200, .vms_json = r->vms_json,
		};
		memcpy(r->prev, prev, sizeof(prev));
		jit_audit_hash(prev, &r->rec, r->hash);
		assert_int_equal(jit_audit_index(r->rec.resource_id, r->vms_json, r->key,
			&r->vm_keys), 0);
		memcpy(prev, r->hash, sizeof(prev));
	}
	free(vms);
}

static void
free_chain(struct row rows[ROWS])
{
	for (int i = 0; i < ROWS; i++) {
		free(rows[i].vms_json);
		free(rows[i].vm_keys);
	}
}

/* Verifies rows (skipping index skip, -1 for none) with the recorded head. */
static struct jit_audit_verdict
verify(struct row rows[ROWS], int skip, int64_t head_seq, const char *head_hash)
{
	struct jit_audit_verifier v;
	struct jit_audit_verdict out;
	bool intact = true;

	jit_audit_verify_begin(&v);
	for (int i = 0; i < ROWS && intact; i++) {
		struct jit_audit_stored st = {
			.prev_hash = rows[i].prev, .hash = rows[i].hash,
			.resource_key = rows[i].key[0] ? rows[i].key : NULL,
			.vm_keys = rows[i].vm_keys[0] ? rows[i].vm_keys : NULL,
		};

		if (i == skip)
			continue;
		assert_int_equal(jit_audit_verify_entry(&v, &rows[i].rec, &st, &intact), 0);
	}
	jit_audit_verify_end(&v, head_seq, head_hash, &out);
	return out;
}

static void
test_verify(void **state)
{
	struct row rows[ROWS];
	struct jit_audit_verdict v;
	char *keep;

	(void)state;
	make_chain(rows, 1000);
	v = verify(rows, -1, ROWS, rows[ROWS - 1].hash);
	assert_true(v.ok);
	assert_int_equal(v.entries, ROWS);
	assert_int_equal(v.first_broken_seq, 0);
	assert_string_equal(v.head, rows[ROWS - 1].hash);

	/* Altered content. */
	rows[1].rec.result = "Failed";
	v = verify(rows, -1, ROWS, rows[ROWS - 1].hash);
	assert_false(v.ok);
	assert_int_equal(v.first_broken_seq, 2);
	assert_non_null(strstr(v.reason, "entry 2 was altered"));
	rows[1].rec.result = "Succeeded";

	/* A deleted entry in the middle. */
	v = verify(rows, 2, ROWS, rows[ROWS - 1].hash);
	assert_false(v.ok);
	assert_int_equal(v.first_broken_seq, 3);
	assert_non_null(strstr(v.reason, "entry 3 is missing (the next entry is 4)"));

	/* A rewritten link. */
	rows[3].prev[0] = rows[3].prev[0] == 'a' ? 'b' : 'a';
	v = verify(rows, -1, ROWS, rows[ROWS - 1].hash);
	assert_int_equal(v.first_broken_seq, 4);
	assert_non_null(strstr(v.reason, "does not link"));
	rows[3].prev[0] = rows[2].hash[0];

	/* An index that no longer matches: the entry would be hidden from per-VM queries. */
	keep = rows[2].vm_keys;
	rows[2].vm_keys = strdup(keep);
	*strrchr(rows[2].vm_keys, ' ') = '\0';
	v = verify(rows, -1, ROWS, rows[ROWS - 1].hash);
	assert_int_equal(v.first_broken_seq, 3);
	assert_non_null(strstr(v.reason, "entry 3 was hidden"));
	free(rows[2].vm_keys);
	rows[2].vm_keys = keep;
	rows[4].key[1] = 'x';
	v = verify(rows, -1, ROWS, rows[ROWS - 1].hash);
	assert_int_equal(v.first_broken_seq, 5);
	rows[4].key[1] = 's';

	/* The tail cut off: the recorded head is further on. */
	v = verify(rows, 4, ROWS, rows[ROWS - 1].hash);
	assert_false(v.ok);
	assert_int_equal(v.first_broken_seq, 5);
	assert_non_null(strstr(v.reason, "removed from the end"));
	v = verify(rows, -1, ROWS, rows[0].hash);
	assert_false(v.ok);
	free_chain(rows);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_vectors),
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_index_thousand_vms),
		cmocka_unit_test(test_verify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
