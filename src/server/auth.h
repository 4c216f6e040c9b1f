/*
 * auth.h: bearer tokens. A token is "<prefix>_<id>_<secret>": the id (16 hex
 * digits) finds the row, the secret (32 random bytes, base64url) is stored only
 * as its BLAKE2b-256 hash and compared in constant time. Tokens are shown once.
 *
 *   jgt_...  API tokens of users, service principals and agents
 *   jge_...  one-time agent enrollment tokens
 */
#ifndef JIT_AUTH_H
#define JIT_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

#define JIT_TOKEN_MAX 96

struct jit_token {
	char text[JIT_TOKEN_MAX];                /* the whole token, secret: show once, never log */
	char id[JIT_TOKEN_ID_MAX];               /* public id */
	uint8_t hash[JIT_TOKEN_HASH_BYTES];      /* what is stored */
};

/* Makes a new random token with prefix "jgt" or "jge". */
int jit_token_new(const char *prefix, struct jit_token *out, struct jit_error *err);

/* Splits text into id and secret hash; false if it is not of the prefix's shape. */
bool jit_token_parse(const char *prefix, const char *text, struct jit_token *out);

/* Constant-time comparison of two hashes. */
bool jit_token_hash_equal(const uint8_t a[JIT_TOKEN_HASH_BYTES],
	const uint8_t b[JIT_TOKEN_HASH_BYTES]);

/* Resolves "Bearer <token>" (the Authorization header value) to a principal inside an
 * open store transaction. 401 AuthenticationFailed when missing, malformed, unknown,
 * revoked or expired; the message never contains the token. */
int jit_auth_bearer(struct jit_store *st, const char *authorization, jit_time now,
	struct jit_principal *out, struct jit_error *err);
/* The same, also filling *used with the token that authenticated (its id and expiry). */
int jit_auth_bearer_token(struct jit_store *st, const char *authorization, jit_time now,
	struct jit_principal *out, struct jit_token_info *used, struct jit_error *err);

#endif
