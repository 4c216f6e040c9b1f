/*
 * auth.h: bearer tokens. A token is "<prefix>_<id>_<secret>": the id (16 hex
 * digits) finds the row, the secret (32 random bytes, base64url) is stored only
 * as its BLAKE2b-256 hash and compared in constant time. Tokens are shown once.
 *
 *   jgt_...  API tokens of users, service principals and agents
 *   jge_...  one-time agent enrollment tokens
 *   jcs_...  OAuth2 client secrets (exchanged at the token endpoint only)
 *   jga_...  OAuth2 access tokens (bearer tokens, an hour at most; service/oauth.h)
 *   jgs_...  console sessions (the cookie's value; see service/session.h)
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
int jit_auth_bearer(struct jit_tx *tx, const char *authorization, jit_time now,
	struct jit_principal *out, struct jit_error *err);

/* What the credential a request authenticated with allows a token made with it (security
 * finding 7: a token never outlives the credential it was made with). */
struct jit_auth_credential {
	char token_id[JIT_TOKEN_ID_MAX];   /* the jitgate token behind it; "" when none (a client
	                                    * secret's access token) */
	jit_time expires;                  /* when it ends; 0: never */
};

/* jit_auth_bearer, also filling *cred (the token itself, or the token an OAuth2 access
 * token was issued for, with the earlier of their ends). */
int jit_auth_bearer_credential(struct jit_tx *tx, const char *authorization, jit_time now,
	struct jit_principal *out, struct jit_auth_credential *cred, struct jit_error *err);

/* The same for a token's text alone (a console sign-in); token_id (may be NULL) gets the
 * token's public id. */
int jit_auth_token(struct jit_tx *tx, const char *text, jit_time now,
	struct jit_principal *out, char token_id[JIT_TOKEN_ID_MAX], struct jit_error *err);

#endif
