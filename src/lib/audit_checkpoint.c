/*
 * audit_checkpoint.c: signing, checking and the two text forms of checkpoints
 * (audit_checkpoint.h).
 */
#include "audit_checkpoint.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIGNED_MAX 512

static bool
is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static int
unhex(const char *s, size_t len, uint8_t *out, size_t n)
{
	size_t got = 0;

	if (len != 2 * n || !is_hex(s, len))
		return -1;
	return sodium_hex2bin(out, n, s, len, NULL, &got, NULL) == 0 && got == n ? 0 : -1;
}

/* The text the signature covers. */
static size_t
signed_text(const struct jit_audit_checkpoint *cp, char out[SIGNED_MAX])
{
	char t[JIT_TIME_BUFSZ], pk[2 * JIT_AUDIT_SIGN_PK_BYTES + 1];

	jit_time_format(cp->time, t);
	sodium_bin2hex(pk, sizeof(pk), cp->pk, sizeof(cp->pk));
	return (size_t)snprintf(out, SIGNED_MAX,
		"jitgate-audit-checkpoint 1\nseq=%lld\nhead=%s\ntime=%s\nkey=%s\n",
		(long long)cp->seq, cp->head, t, pk);
}

int
jit_audit_checkpoint_sign(struct jit_audit_checkpoint *cp, int64_t seq, const char *head,
	jit_time t, const struct jit_audit_sign_key *k, struct jit_error *err)
{
	char text[SIGNED_MAX];
	size_t n;

	memset(cp, 0, sizeof(*cp));
	if (seq < 0 || head == NULL || strlen(head) != 64 || !is_hex(head, 64))
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST, "a checkpoint's head is 64 hex "
			"digits and its sequence not negative");
	cp->seq = seq;
	memcpy(cp->head, head, 65);
	cp->time = t - t % 100;
	memcpy(cp->pk, k->pk, sizeof(cp->pk));
	n = signed_text(cp, text);
	crypto_sign_detached(cp->sig, NULL, (const unsigned char *)text, n, k->sk);
	return 0;
}

bool
jit_audit_checkpoint_valid(const struct jit_audit_checkpoint *cp)
{
	char text[SIGNED_MAX];
	size_t n = signed_text(cp, text);

	return crypto_sign_verify_detached(cp->sig, (const unsigned char *)text, n, cp->pk) == 0;
}

json_t *
jit_audit_checkpoint_to_json(const struct jit_audit_checkpoint *cp)
{
	char t[JIT_TIME_BUFSZ], pk[2 * JIT_AUDIT_SIGN_PK_BYTES + 1];
	char sig[2 * JIT_AUDIT_SIG_BYTES + 1];

	jit_time_format(cp->time, t);
	sodium_bin2hex(pk, sizeof(pk), cp->pk, sizeof(cp->pk));
	sodium_bin2hex(sig, sizeof(sig), cp->sig, sizeof(cp->sig));
	return json_pack("{s:I, s:s, s:s, s:s, s:s}", "sequence", (json_int_t)cp->seq, "head",
		cp->head, "timeUtc", t, "publicKey", pk, "signature", sig);
}

void
jit_audit_checkpoint_to_line(const struct jit_audit_checkpoint *cp,
	char out[JIT_AUDIT_CHECKPOINT_LINE])
{
	char t[JIT_TIME_BUFSZ], pk[2 * JIT_AUDIT_SIGN_PK_BYTES + 1];
	char sig[2 * JIT_AUDIT_SIG_BYTES + 1];

	jit_time_format(cp->time, t);
	sodium_bin2hex(pk, sizeof(pk), cp->pk, sizeof(cp->pk));
	sodium_bin2hex(sig, sizeof(sig), cp->sig, sizeof(cp->sig));
	snprintf(out, JIT_AUDIT_CHECKPOINT_LINE, "seq=%lld head=%s time=%s key=%s sig=%s",
		(long long)cp->seq, cp->head, t, pk, sig);
}

static int
bad(struct jit_error *err, const char *what)
{
	return jit_errorf(err, 400, JIT_E_BAD_REQUEST, "not a jitgate audit checkpoint: %s", what);
}

/* Fills cp from the five field texts. */
static int
fields(struct jit_audit_checkpoint *cp, const char *seq, size_t seq_n, const char *head,
	size_t head_n, const char *t, size_t t_n, const char *pk, size_t pk_n, const char *sig,
	size_t sig_n, struct jit_error *err)
{
	char buf[JIT_TIME_BUFSZ + 8];
	struct jit_error terr;
	char *end;
	long long v;

	memset(cp, 0, sizeof(*cp));
	if (seq_n == 0 || seq_n > 19 || seq[0] < '0' || seq[0] > '9')
		return bad(err, "the sequence is not a number");
	memcpy(buf, seq, seq_n);
	buf[seq_n] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (*end != '\0' || errno != 0)
		return bad(err, "the sequence is not a number");
	cp->seq = v;
	if (head_n != 64 || !is_hex(head, 64))
		return bad(err, "the head is not 64 lowercase hex digits");
	memcpy(cp->head, head, 64);
	cp->head[64] = '\0';
	if (t_n == 0 || t_n >= JIT_TIME_BUFSZ)
		return bad(err, "the time is not a date-time");
	memcpy(buf, t, t_n);
	buf[t_n] = '\0';
	if (jit_time_parse(buf, &cp->time, &terr) != 0)
		return bad(err, "the time is not a date-time");
	if (unhex(pk, pk_n, cp->pk, sizeof(cp->pk)) != 0)
		return bad(err, "the public key is not 64 hex digits");
	if (unhex(sig, sig_n, cp->sig, sizeof(cp->sig)) != 0)
		return bad(err, "the signature is not 128 hex digits");
	return 0;
}

static int
parse_json(const char *text, size_t len, struct jit_audit_checkpoint *out,
	struct jit_error *err)
{
	const char *head, *t, *pk, *sig;
	json_error_t je;
	json_int_t seq;
	char num[24];
	json_t *j;
	int r;

	if ((j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return bad(err, "not JSON");
	if (!json_is_object(j) || json_object_size(j) != 5 ||
		json_unpack(j, "{s:I, s:s, s:s, s:s, s:s}", "sequence", &seq, "head", &head,
		"timeUtc", &t, "publicKey", &pk, "signature", &sig) != 0) {
		json_decref(j);
		return bad(err, "want exactly sequence, head, timeUtc, publicKey and signature");
	}
	snprintf(num, sizeof(num), "%lld", (long long)seq);
	r = seq < 0 ? bad(err, "the sequence is negative") :
		fields(out, num, strlen(num), head, strlen(head), t, strlen(t), pk, strlen(pk),
		sig, strlen(sig), err);
	json_decref(j);
	return r;
}

/* key=value words; the first five of ours, each exactly once. */
static int
parse_line(const char *text, size_t len, struct jit_audit_checkpoint *out,
	struct jit_error *err)
{
	static const char *const names[] = { "seq", "head", "time", "key", "sig" };
	const char *val[5] = { 0 };
	size_t vlen[5] = { 0 };
	const char *p = text, *end = text + len;

	while (end > p && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	while (p < end) {
		const char *w = p, *eq;
		size_t n;

		while (p < end && *p != ' ')
			p++;
		n = (size_t)(p - w);
		while (p < end && *p == ' ')
			p++;
		if ((eq = memchr(w, '=', n)) == NULL)
			continue;   /* syslog's own prefix */
		for (int i = 0; i < 5; i++) {
			if ((size_t)(eq - w) != strlen(names[i]) || memcmp(w, names[i], strlen(names[i])))
				continue;
			if (val[i] != NULL)
				return bad(err, "a field appears twice");
			val[i] = eq + 1;
			vlen[i] = n - (size_t)(eq + 1 - w);
		}
	}
	for (int i = 0; i < 5; i++)
		if (val[i] == NULL)
			return bad(err, "want seq=, head=, time=, key= and sig=");
	return fields(out, val[0], vlen[0], val[1], vlen[1], val[2], vlen[2], val[3], vlen[3],
		val[4], vlen[4], err);
}

int
jit_audit_checkpoint_parse(const char *text, size_t len, struct jit_audit_checkpoint *out,
	struct jit_error *err)
{
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	if (len > 64 * 1024 || memchr(text, '\0', len) != NULL)
		return bad(err, "too long, or binary");
	while (i < len && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t' || text[i] == '\r'))
		i++;
	if (i < len && text[i] == '{')
		return parse_json(text + i, len - i, out, err);
	return parse_line(text + i, len - i, out, err);
}
