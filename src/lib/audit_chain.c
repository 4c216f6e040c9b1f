/*
 * audit_chain.c: the audit log's hash chain (see audit_chain.h). Pure: the
 * store hands rows in, this file says whether they are the chain that was
 * written. The encoding is fixed ("jitgate-audit-v1"): changing it would break
 * every existing log, so a new encoding gets a new tag.
 */
#include "audit_chain.h"

#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_TAG "jitgate-audit-v1"
#define AUDIT_MAC_TAG "jitgate-audit-mac-v1"

/* Every field length-prefixed (big-endian 64 bits; NULL as all ones, distinct from ""),
 * so no two different entries serialise alike. */
static void
hash_field(crypto_generichash_state *h, const char *v)
{
	uint8_t len[8];
	uint64_t n = v ? strlen(v) : UINT64_MAX;

	for (int i = 0; i < 8; i++)
		len[i] = (uint8_t)(n >> (56 - 8 * i));
	crypto_generichash_update(h, len, sizeof(len));
	if (v != NULL)
		crypto_generichash_update(h, (const unsigned char *)v, strlen(v));
}

/* The encoding both the hash and the MAC cover. */
static void
encode(crypto_generichash_state *h, const char *tag, const char *prev,
	const struct jit_audit_record *r)
{
	char seq[24], time_ns[24], principal[24], status[16];

	/* Integers hash as their decimal text, as the first stores wrote them. */
	snprintf(seq, sizeof(seq), "%" PRId64, r->seq);
	snprintf(time_ns, sizeof(time_ns), "%" PRId64, r->time);
	snprintf(principal, sizeof(principal), "%" PRId64, r->principal_id);
	snprintf(status, sizeof(status), "%d", r->status);
	hash_field(h, tag);
	hash_field(h, prev);
	hash_field(h, seq);
	hash_field(h, time_ns);
	hash_field(h, r->principal_id != 0 ? principal : NULL);
	hash_field(h, r->principal_name);
	hash_field(h, r->caller);
	hash_field(h, r->operation);
	hash_field(h, r->resource_id);
	hash_field(h, r->result);
	hash_field(h, status);
	hash_field(h, r->correlation_id);
	hash_field(h, r->details_json);
	hash_field(h, r->vms_json);
}

void
jit_audit_hash(const char *prev, const struct jit_audit_record *r, char out[JIT_AUDIT_HASH_HEX])
{
	unsigned char digest[32];
	crypto_generichash_state h;

	crypto_generichash_init(&h, NULL, 0, sizeof(digest));
	encode(&h, AUDIT_TAG, prev, r);
	crypto_generichash_final(&h, digest, sizeof(digest));
	sodium_bin2hex(out, JIT_AUDIT_HASH_HEX, digest, sizeof(digest));
}

void
jit_audit_mac(const uint8_t key[JIT_AUDIT_MAC_KEY_BYTES], const char *prev,
	const struct jit_audit_record *r, char out[JIT_AUDIT_HASH_HEX])
{
	unsigned char digest[32];
	crypto_generichash_state h;

	crypto_generichash_init(&h, key, JIT_AUDIT_MAC_KEY_BYTES, sizeof(digest));
	encode(&h, AUDIT_MAC_TAG, prev, r);
	crypto_generichash_final(&h, digest, sizeof(digest));
	sodium_bin2hex(out, JIT_AUDIT_HASH_HEX, digest, sizeof(digest));
	sodium_memzero(&h, sizeof(h));
}

void
jit_audit_entry_hash(const struct jit_audit_keyring *kr, const char *prev,
	const struct jit_audit_record *r, char out[JIT_AUDIT_HASH_HEX])
{
	const struct jit_audit_mac_key *k = kr != NULL ? jit_audit_keyring_mac_for(kr, r->seq) :
		NULL;

	if (k != NULL)
		jit_audit_mac(k->key, prev, r, out);
	else
		jit_audit_hash(prev, r, out);
}

int
jit_audit_vms_json(const struct jit_rid *vms, size_t n, char **out)
{
	char id[JIT_RESOURCE_ID_MAX];
	json_t *arr;

	*out = NULL;
	if (n == 0)
		return 0;
	if ((arr = json_array()) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (jit_rid_format(&vms[i], id, sizeof(id)) < 0)
			continue;
		if (json_array_append_new(arr, json_string(id)) != 0) {
			json_decref(arr);
			return -1;
		}
	}
	*out = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return *out != NULL ? 0 : -1;
}

static int
cmp_key(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted, unique, space-joined: what a store's ORDER BY vm_key listing gives. There is
 * no bound on the count: a policy may name JIT_MAX_VMS_PER_POLICY VMs, each with an ID
 * of up to JIT_RESOURCE_ID_MAX bytes. */
static int
join_keys(char **keys, size_t n, char **out)
{
	size_t len = 1, at = 0;
	char *s;

	/* No VMs: keys is NULL, which qsort may not be given (UBSan says so), even for 0. */
	if (n > 0)
		qsort(keys, n, sizeof(*keys), cmp_key);
	for (size_t i = 0; i < n; i++)
		len += strlen(keys[i]) + 1;
	if ((s = malloc(len)) == NULL)
		return -1;
	s[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t kl = strlen(keys[i]);

		if (i > 0 && strcmp(keys[i], keys[i - 1]) == 0)
			continue;
		if (at > 0)
			s[at++] = ' ';
		memcpy(s + at, keys[i], kl + 1);
		at += kl;
	}
	*out = s;
	return 0;
}

int
jit_audit_index(const char *resource_id, const char *vms_json,
	char resource_key[JIT_RESOURCE_ID_MAX], char **vm_keys)
{
	struct jit_error ignored;
	struct jit_rid rid;
	json_t *arr = NULL, *v;
	char **keys = NULL;
	size_t i, n = 0;
	int r = -1;

	*vm_keys = NULL;
	resource_key[0] = '\0';
	if (resource_id != NULL && jit_rid_parse(resource_id, &rid, &ignored) == 0)
		jit_rid_key(&rid, resource_key);
	if (vms_json != NULL)
		arr = json_loads(vms_json, 0, NULL);
	if (json_is_array(arr) && json_array_size(arr) > 0 &&
		(keys = calloc(json_array_size(arr), sizeof(*keys))) == NULL)
		goto out;
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);

		/* The store indexes only what parses; the rest implies nothing. */
		if (s == NULL || jit_rid_parse(s, &rid, &ignored) != 0)
			continue;
		if ((keys[n] = malloc(JIT_RESOURCE_ID_MAX)) == NULL)
			goto out;
		jit_rid_key(&rid, keys[n++]);
	}
	r = join_keys(keys, n, vm_keys);
out:
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	json_decref(arr);
	return r;
}

static void
broken(struct jit_audit_verifier *v, int64_t seq, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
broken(struct jit_audit_verifier *v, int64_t seq, const char *fmt, ...)
{
	va_list ap;

	v->verdict.ok = false;
	v->verdict.first_broken_seq = seq;
	va_start(ap, fmt);
	vsnprintf(v->verdict.reason, sizeof(v->verdict.reason), fmt, ap);
	va_end(ap);
}

void
jit_audit_verify_begin(struct jit_audit_verifier *v)
{
	memset(v, 0, sizeof(*v));
	v->verdict.ok = true;
	memcpy(v->prev, JIT_AUDIT_GENESIS, sizeof(v->prev));
	v->expect_seq = 1;
}

void
jit_audit_verify_keys(struct jit_audit_verifier *v, const struct jit_audit_keyring *kr)
{
	v->keys = kr;
}

void
jit_audit_verify_checkpoint(struct jit_audit_verifier *v, int64_t seq, const char *head)
{
	v->verdict.checkpoint_seq = seq;
	v->has_checkpoint = seq > 0;
	snprintf(v->checkpoint_head, sizeof(v->checkpoint_head), "%s", head != NULL ? head : "");
}

/* Equal strings, in time that does not depend on where they differ (a MAC). */
static bool
same_mac(const char *a, const char *b)
{
	size_t n = strlen(a);

	return n == strlen(b) && sodium_memcmp(a, b, n) == 0;
}

static const char *
or_empty(const char *s)
{
	return s != NULL ? s : "";
}

int
jit_audit_verify_entry(struct jit_audit_verifier *v, const struct jit_audit_record *r,
	const struct jit_audit_stored *stored, bool *intact)
{
	char hash[JIT_AUDIT_HASH_HEX], key[JIT_RESOURCE_ID_MAX];
	char *vm_keys;
	bool index_ok;

	*intact = false;
	if (!v->verdict.ok)
		return 0;
	if (r->seq != v->expect_seq) {
		broken(v, v->expect_seq, "entry %" PRId64 " is missing (the next entry is %" PRId64
			")", v->expect_seq, r->seq);
		return 0;
	}
	if (strcmp(or_empty(stored->prev_hash), v->prev) != 0) {
		broken(v, r->seq, "entry %" PRId64 " does not link to the entry before it", r->seq);
		return 0;
	}
	jit_audit_entry_hash(v->keys, v->prev, r, hash);
	if (!same_mac(hash, or_empty(stored->hash))) {
		if (v->keys != NULL && jit_audit_keyring_mac_for(v->keys, r->seq) != NULL)
			broken(v, r->seq, "entry %" PRId64 " was altered: its content does not match "
				"its MAC (rewritten or re-chained without the audit key)", r->seq);
		else
			broken(v, r->seq, "entry %" PRId64 " was altered: its content does not match "
				"its hash", r->seq);
		return 0;
	}
	if (v->has_checkpoint && r->seq == v->verdict.checkpoint_seq) {
		if (strcmp(hash, v->checkpoint_head) != 0) {
			broken(v, r->seq, "entry %" PRId64 " is not the one the checkpoint signed: the "
				"log was rewritten up to it", r->seq);
			return 0;
		}
		v->verdict.checkpoint_matched = true;
	}
	/* The columns scoped queries use are derived from hashed ones: check them too. */
	if (jit_audit_index(r->resource_id, r->vms_json, key, &vm_keys) != 0)
		return -1;
	index_ok = strcmp(key, or_empty(stored->resource_key)) == 0 &&
		strcmp(vm_keys, or_empty(stored->vm_keys)) == 0;
	free(vm_keys);
	if (!index_ok) {
		broken(v, r->seq, "entry %" PRId64 " was hidden: its resource or VM index does not "
			"match its content", r->seq);
		return 0;
	}
	memcpy(v->prev, hash, sizeof(v->prev));
	v->verdict.entries++;
	v->expect_seq++;
	*intact = true;
	return 0;
}

void
jit_audit_verify_end(struct jit_audit_verifier *v, int64_t head_seq, const char *head_hash,
	struct jit_audit_verdict *out)
{
	if (v->verdict.ok && (head_seq != v->verdict.entries ||
		strcmp(or_empty(head_hash), v->prev) != 0))
		broken(v, v->verdict.entries + 1, "the log ends at entry %" PRId64 " but its "
			"recorded head is entry %" PRId64 ": entries were removed from the end",
			v->verdict.entries, head_seq);
	if (v->verdict.ok && v->has_checkpoint && !v->verdict.checkpoint_matched)
		broken(v, v->verdict.checkpoint_seq, "the log ends at entry %" PRId64 ", before the "
			"checkpoint's entry %" PRId64 ": entries were removed from the end or the log "
			"was rolled back", v->verdict.entries, v->verdict.checkpoint_seq);
	if (v->verdict.ok) {
		memcpy(v->verdict.head, v->prev, sizeof(v->verdict.head));
		v->verdict.head_seq = v->verdict.entries;
	}
	*out = v->verdict;
}
