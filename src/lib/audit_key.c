/*
 * audit_key.c: the audit key file's text and the keys in it (audit_key.h).
 */
#include "audit_key.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER "jitgate-audit-keys 1"

static int
hex_decode(const char *s, size_t len, uint8_t *out, size_t n)
{
	size_t got = 0;

	if (len != 2 * n)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return -1;
	return sodium_hex2bin(out, n, s, len, NULL, &got, NULL) == 0 && got == n ? 0 : -1;
}

static int
line_error(struct jit_error *err, unsigned line, const char *what)
{
	return jit_errorf(err, 400, JIT_E_BAD_REQUEST, "audit key file, line %u: %s", line, what);
}

/* One line (without its newline) into kr. */
static int
parse_line(const char *s, size_t len, unsigned no, struct jit_audit_keyring *kr,
	struct jit_error *err)
{
	uint8_t seed[JIT_AUDIT_SIGN_SEED_BYTES];

	if (len > 4 && memcmp(s, "mac ", 4) == 0) {
		const char *sp = memchr(s + 4, ' ', len - 4);
		char num[24];
		char *end;
		long long from;

		if (sp == NULL || (size_t)(sp - s - 4) == 0 || (size_t)(sp - s - 4) >= sizeof(num))
			return line_error(err, no, "want: mac FROM_SEQ HEX64");
		memcpy(num, s + 4, (size_t)(sp - s - 4));
		num[sp - s - 4] = '\0';
		errno = 0;
		from = strtoll(num, &end, 10);
		if (*end != '\0' || errno != 0 || from < 1 || num[0] < '0' || num[0] > '9')
			return line_error(err, no, "FROM_SEQ must be a positive integer");
		if (kr->n_mac == JIT_AUDIT_MAX_KEYS)
			return line_error(err, no, "too many mac keys");
		if (kr->n_mac > 0 && from <= kr->mac[kr->n_mac - 1].from_seq)
			return line_error(err, no, "FROM_SEQ must grow from one mac line to the next");
		if (hex_decode(sp + 1, len - (size_t)(sp + 1 - s), kr->mac[kr->n_mac].key,
			JIT_AUDIT_MAC_KEY_BYTES) != 0)
			return line_error(err, no, "the key must be 64 lowercase hex digits");
		kr->mac[kr->n_mac++].from_seq = from;
		return 0;
	}
	if (len > 5 && memcmp(s, "sign ", 5) == 0) {
		struct jit_audit_sign_key *k = &kr->sign[kr->n_sign];

		if (kr->n_sign == JIT_AUDIT_MAX_KEYS)
			return line_error(err, no, "too many sign keys");
		if (hex_decode(s + 5, len - 5, seed, sizeof(seed)) != 0)
			return line_error(err, no, "the seed must be 64 lowercase hex digits");
		crypto_sign_seed_keypair(k->pk, k->sk, seed);
		sodium_memzero(seed, sizeof(seed));
		kr->n_sign++;
		return 0;
	}
	return line_error(err, no, "want a mac or sign line");
}

int
jit_audit_keyring_parse(const char *text, size_t len, struct jit_audit_keyring *out,
	struct jit_error *err)
{
	const char *p = text, *end = text + len;
	unsigned no = 0;

	memset(out, 0, sizeof(*out));
	if (len > JIT_AUDIT_KEYFILE_MAX || memchr(text, '\0', len) != NULL)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST, "not an audit key file");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

		no++;
		if (no == 1) {
			if (n != strlen(HEADER) || memcmp(p, HEADER, n) != 0) {
				memset(out, 0, sizeof(*out));
				return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
					"not an audit key file (no '" HEADER "' first line)");
			}
		} else if (n > 0 && p[0] != '#' && parse_line(p, n, no, out, err) != 0) {
			jit_audit_keyring_wipe(out);
			return -1;
		}
		p += n + (nl != NULL);
	}
	if (out->n_mac == 0 || out->n_sign == 0) {
		jit_audit_keyring_wipe(out);
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"audit key file without a %s key", out->n_mac == 0 ? "mac" : "sign");
	}
	return 0;
}

char *
jit_audit_keyring_format(const struct jit_audit_keyring *kr)
{
	size_t cap = 256 + (kr->n_mac + kr->n_sign) * 160, len = 0;
	char *out = malloc(cap), hex[2 * JIT_AUDIT_SIGN_SK_BYTES + 1];

	if (out == NULL)
		return NULL;
	len += (size_t)snprintf(out + len, cap - len, "%s\n# jitgate's audit keys: secret "
		"(0600), never in the database or its backups. docs/security.md\n", HEADER);
	for (size_t i = 0; i < kr->n_mac; i++) {
		sodium_bin2hex(hex, sizeof(hex), kr->mac[i].key, JIT_AUDIT_MAC_KEY_BYTES);
		len += (size_t)snprintf(out + len, cap - len, "mac %lld %s\n",
			(long long)kr->mac[i].from_seq, hex);
	}
	for (size_t i = 0; i < kr->n_sign; i++) {
		/* libsodium's secret key is the seed followed by the public key. */
		sodium_bin2hex(hex, sizeof(hex), kr->sign[i].sk, JIT_AUDIT_SIGN_SEED_BYTES);
		len += (size_t)snprintf(out + len, cap - len, "sign %s\n", hex);
	}
	sodium_memzero(hex, sizeof(hex));
	return out;
}

int
jit_audit_keyring_add_mac(struct jit_audit_keyring *kr, int64_t from_seq,
	struct jit_error *err)
{
	if (kr->n_mac == JIT_AUDIT_MAX_KEYS)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST, "the key file holds %d mac keys "
			"already", JIT_AUDIT_MAX_KEYS);
	if (from_seq < 1 || (kr->n_mac > 0 && from_seq <= kr->mac[kr->n_mac - 1].from_seq))
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST, "a new mac key must start after "
			"entry %lld", kr->n_mac > 0 ? (long long)kr->mac[kr->n_mac - 1].from_seq : 0LL);
	kr->mac[kr->n_mac].from_seq = from_seq;
	randombytes_buf(kr->mac[kr->n_mac].key, JIT_AUDIT_MAC_KEY_BYTES);
	kr->n_mac++;
	return 0;
}

int
jit_audit_keyring_add_sign(struct jit_audit_keyring *kr, struct jit_error *err)
{
	if (kr->n_sign == JIT_AUDIT_MAX_KEYS)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST, "the key file holds %d sign keys "
			"already", JIT_AUDIT_MAX_KEYS);
	crypto_sign_keypair(kr->sign[kr->n_sign].pk, kr->sign[kr->n_sign].sk);
	kr->n_sign++;
	return 0;
}

const struct jit_audit_mac_key *
jit_audit_keyring_mac_for(const struct jit_audit_keyring *kr, int64_t seq)
{
	const struct jit_audit_mac_key *k = NULL;

	for (size_t i = 0; i < kr->n_mac && kr->mac[i].from_seq <= seq; i++)
		k = &kr->mac[i];
	return k;
}

const struct jit_audit_sign_key *
jit_audit_keyring_signer(const struct jit_audit_keyring *kr)
{
	return kr->n_sign > 0 ? &kr->sign[kr->n_sign - 1] : NULL;
}

void
jit_audit_keyring_wipe(struct jit_audit_keyring *kr)
{
	sodium_memzero(kr, sizeof(*kr));
}
