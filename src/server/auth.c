/*
 * auth.c: bearer tokens (see auth.h). libsodium does the randomness, the hash
 * and the constant-time comparison; nothing here logs or returns a secret.
 */
#include "auth.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SECRET_BYTES 32
#define ID_BYTES 8

static void
hash_secret(const char *secret, uint8_t out[JIT_TOKEN_HASH_BYTES])
{
	crypto_generichash(out, JIT_TOKEN_HASH_BYTES, (const unsigned char *)secret, strlen(secret),
		NULL, 0);
}

int
jit_token_new(const char *prefix, struct jit_token *out, struct jit_error *err)
{
	unsigned char id[ID_BYTES], secret[SECRET_BYTES];
	char secret_b64[sodium_base64_ENCODED_LEN(SECRET_BYTES,
		sodium_base64_VARIANT_URLSAFE_NO_PADDING)];

	if (sodium_init() < 0)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "libsodium cannot initialise");
	memset(out, 0, sizeof(*out));
	randombytes_buf(id, sizeof(id));
	randombytes_buf(secret, sizeof(secret));
	sodium_bin2hex(out->id, sizeof(out->id), id, sizeof(id));
	sodium_bin2base64(secret_b64, sizeof(secret_b64), secret, sizeof(secret),
		sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(out->text, sizeof(out->text), "%s_%s_%s", prefix, out->id, secret_b64);
	hash_secret(secret_b64, out->hash);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(secret_b64, sizeof(secret_b64));
	return 0;
}

bool
jit_token_parse(const char *prefix, const char *text, struct jit_token *out)
{
	size_t plen = strlen(prefix), len = strlen(text);
	const char *id, *secret;

	memset(out, 0, sizeof(*out));
	if (len >= JIT_TOKEN_MAX || strncmp(text, prefix, plen) != 0 || text[plen] != '_')
		return false;
	id = text + plen + 1;
	for (size_t i = 0; i < ID_BYTES * 2; i++)
		if (!isxdigit((unsigned char)id[i]) || isupper((unsigned char)id[i]))
			return false;
	if (id[ID_BYTES * 2] != '_')
		return false;
	secret = id + ID_BYTES * 2 + 1;
	if (strlen(secret) < 40)
		return false;
	for (const char *p = secret; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return false;
	memcpy(out->id, id, ID_BYTES * 2);
	out->id[ID_BYTES * 2] = '\0';
	hash_secret(secret, out->hash);
	return true;
}

bool
jit_token_hash_equal(const uint8_t a[JIT_TOKEN_HASH_BYTES], const uint8_t b[JIT_TOKEN_HASH_BYTES])
{
	return sodium_memcmp(a, b, JIT_TOKEN_HASH_BYTES) == 0;
}

int
jit_auth_token(struct jit_tx *tx, const char *text, jit_time now, struct jit_principal *out,
	char token_id[JIT_TOKEN_ID_MAX], struct jit_error *err)
{
	uint8_t stored[JIT_TOKEN_HASH_BYTES];
	struct jit_token tok;
	int64_t principal_id;
	bool found;
	int r;

	if (!jit_token_parse("jgt", text, &tok))
		return jit_errorf(err, 401, JIT_E_UNAUTHENTICATED,
			"Authentication failed. The bearer token is not a jitgate token.");
	if (jit_store_token_find(tx, tok.id, now, stored, &principal_id, &found, err) != 0)
		return -1;
	if (!found || !jit_token_hash_equal(stored, tok.hash)) {
		sodium_memzero(&tok, sizeof(tok));
		return jit_errorf(err, 401, JIT_E_UNAUTHENTICATED,
			"Authentication failed. The token is unknown, revoked or expired.");
	}
	if (token_id != NULL)
		snprintf(token_id, JIT_TOKEN_ID_MAX, "%s", tok.id);
	r = jit_store_token_touch(tx, tok.id, now, err);
	sodium_memzero(&tok, sizeof(tok));
	if (r != 0)
		return -1;
	return jit_store_principal_get(tx, principal_id, out, err);
}

/* An OAuth2 access token (jga_, from /adfs/oauth2/token; service/oauth.h) lives while the
 * credential it was issued for does: jit_store_access_find checks that one too. */
static int
auth_access_token(struct jit_tx *tx, const char *text, jit_time now,
	struct jit_principal *out, struct jit_auth_credential *cred, struct jit_error *err)
{
	uint8_t stored[JIT_TOKEN_HASH_BYTES];
	struct jit_token tok;
	int64_t principal_id;
	bool found, ok;

	if (!jit_token_parse("jga", text, &tok))
		return jit_errorf(err, 401, JIT_E_UNAUTHENTICATED,
			"Authentication failed. The bearer token is not a jitgate access token.");
	if (jit_store_access_find(tx, tok.id, now, stored, &principal_id, &found, err) != 0) {
		sodium_memzero(&tok, sizeof(tok));
		return -1;
	}
	ok = found && jit_token_hash_equal(stored, tok.hash);
	if (!ok) {
		sodium_memzero(&tok, sizeof(tok));
		return jit_errorf(err, 401, JIT_E_UNAUTHENTICATED,
			"Authentication failed. The access token is unknown or expired, or the "
			"credential it was issued for was revoked.");
	}
	if (cred != NULL) {
		enum jit_access_source source;
		char source_id[JIT_TOKEN_ID_MAX];
		struct jit_token_info info;

		if (jit_store_access_get(tx, tok.id, &source, source_id, &cred->expires, err) != 0) {
			sodium_memzero(&tok, sizeof(tok));
			return -1;
		}
		if (source == JIT_ACCESS_FROM_TOKEN) {
			if (jit_store_token_get(tx, source_id, &info, NULL, err) != 0) {
				sodium_memzero(&tok, sizeof(tok));
				return -1;
			}
			snprintf(cred->token_id, sizeof(cred->token_id), "%s", info.id);
			if (info.expires != 0 && (cred->expires == 0 || info.expires < cred->expires))
				cred->expires = info.expires;
		}
	}
	sodium_memzero(&tok, sizeof(tok));
	return jit_store_principal_get(tx, principal_id, out, err);
}

int
jit_auth_bearer(struct jit_tx *tx, const char *authorization, jit_time now,
	struct jit_principal *out, struct jit_error *err)
{
	return jit_auth_bearer_credential(tx, authorization, now, out, NULL, err);
}

int
jit_auth_bearer_credential(struct jit_tx *tx, const char *authorization, jit_time now,
	struct jit_principal *out, struct jit_auth_credential *cred, struct jit_error *err)
{
	char token_id[JIT_TOKEN_ID_MAX];
	struct jit_token_info info;

	if (cred != NULL)
		memset(cred, 0, sizeof(*cred));
	if (authorization == NULL || authorization[0] == '\0')
		return jit_errorf(err, 401, JIT_E_UNAUTHENTICATED,
			"Authentication failed. The 'Authorization' header is missing; send "
			"'Authorization: Bearer <token>'.");
	if (strncasecmp(authorization, "Bearer ", 7) != 0)
		return jit_errorf(err, 401, JIT_E_UNAUTHENTICATED,
			"Authentication failed. The 'Authorization' header must use the Bearer scheme.");
	authorization += 7;
	while (*authorization == ' ')
		authorization++;
	if (strncmp(authorization, "jga_", 4) == 0)
		return auth_access_token(tx, authorization, now, out, cred, err);
	if (jit_auth_token(tx, authorization, now, out, token_id, err) != 0)
		return -1;
	if (cred == NULL)
		return 0;
	if (jit_store_token_get(tx, token_id, &info, NULL, err) != 0)
		return -1;
	snprintf(cred->token_id, sizeof(cred->token_id), "%s", info.id);
	cred->expires = info.expires;
	return 0;
}
