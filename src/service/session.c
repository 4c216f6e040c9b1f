/*
 * session.c: console sessions (see session.h). Each call is one unit of work:
 * it opens its transaction (resolve excepted: it runs inside the request's
 * authentication), writes the session and its audit entry, and commits.
 */
#include "session.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define CSRF_KEY "jitgate console csrf v1"

static void
derive_csrf(const uint8_t hash[JIT_TOKEN_HASH_BYTES], char out[JIT_SESSION_CSRF_HEX])
{
	uint8_t mac[32];

	crypto_generichash(mac, sizeof(mac), hash, JIT_TOKEN_HASH_BYTES,
		(const unsigned char *)CSRF_KEY, sizeof(CSRF_KEY) - 1);
	sodium_bin2hex(out, JIT_SESSION_CSRF_HEX, mac, sizeof(mac));
}

static int
audit(struct jit_tx *tx, const char *operation, const struct jit_principal *p,
	const struct jit_session_caller *who, jit_time now, int status, struct jit_error *err)
{
	struct jit_audit_entry e = {
		.time = now,
		.principal_id = p->id,
		.principal_name = p->name,
		.caller = who->address,
		.operation = operation,
		.resource_id = "/providers/Jitgate/sessions",
		.result = status < 400 ? "Succeeded" : "Failed",
		.status = status,
		.correlation_id = who->correlation_id,
	};

	return jit_store_audit_append(tx, &e, err);
}

int
jit_session_open(struct jit_store *st, const char *token_text, jit_time now,
	const struct jit_session_caller *who, struct jit_session *out, struct jit_error *err)
{
	char token_id[JIT_TOKEN_ID_MAX];
	struct jit_token session;
	jit_time expires;
	struct jit_tx *tx;

	memset(out, 0, sizeof(*out));
	if (jit_store_begin(st, true, &tx, err) != 0)
		return -1;
	if (jit_auth_token(tx, token_text, now, &out->principal, token_id, err) != 0)
		goto fail;
	if (out->principal.kind == JIT_PRINCIPAL_AGENT) {
		jit_errorf(err, 401, JIT_E_UNAUTHENTICATED,
			"Authentication failed. An agent's credential cannot sign in to the console.");
		goto fail;
	}
	if (jit_token_new("jgs", &session, err) != 0)
		goto fail;
	expires = now + JIT_SESSION_LIFETIME_NS;
	if (jit_store_session_add(tx, session.id, session.hash, token_id, now, expires, err) != 0 ||
		audit(tx, "Jitgate/sessions/write", &out->principal, who, now, 201, err) != 0 ||
		jit_store_commit(tx, err) != 0) {
		sodium_memzero(&session, sizeof(session));
		goto fail;
	}
	memcpy(out->cookie, session.text, sizeof(out->cookie));
	derive_csrf(session.hash, out->csrf);
	out->expires = expires;
	sodium_memzero(&session, sizeof(session));
	return 0;
fail:
	jit_store_rollback(tx);
	return -1;
}

int
jit_session_resolve(struct jit_tx *tx, const char *cookie, jit_time now,
	struct jit_session *out, struct jit_error *err)
{
	uint8_t stored[JIT_TOKEN_HASH_BYTES];
	struct jit_session_info info;
	struct jit_token tok;
	bool found;

	memset(out, 0, sizeof(*out));
	if (!jit_token_parse("jgs", cookie, &tok))
		return jit_errorf(err, 401, JIT_E_UNAUTHENTICATED,
			"Authentication failed. The console session cookie is malformed; sign in again.");
	if (jit_store_session_find(tx, tok.id, now, stored, &info, &found, err) != 0)
		goto fail;
	if (!found || !jit_token_hash_equal(stored, tok.hash)) {
		jit_errorf(err, 401, JIT_E_UNAUTHENTICATED,
			"Authentication failed. The console session has ended (signed out, expired, "
			"or its token was revoked); sign in again.");
		goto fail;
	}
	if (jit_store_principal_get(tx, info.principal_id, &out->principal, err) != 0)
		goto fail;
	derive_csrf(tok.hash, out->csrf);
	out->expires = info.expires;
	snprintf(out->token_id, sizeof(out->token_id), "%s", info.token_id);
	memcpy(out->cookie, cookie, strlen(cookie) + 1);
	sodium_memzero(&tok, sizeof(tok));
	return 0;
fail:
	sodium_memzero(&tok, sizeof(tok));
	return -1;
}

int
jit_session_close(struct jit_store *st, const char *cookie, jit_time now,
	const struct jit_session_caller *who, const struct jit_principal *p,
	struct jit_error *err)
{
	struct jit_token tok;
	bool existed;
	struct jit_tx *tx;

	if (!jit_token_parse("jgs", cookie, &tok))
		return jit_errorf(err, 401, JIT_E_UNAUTHENTICATED,
			"Authentication failed. The console session cookie is malformed.");
	sodium_memzero(tok.hash, sizeof(tok.hash));
	if (jit_store_begin(st, true, &tx, err) != 0)
		return -1;
	if (jit_store_session_delete(tx, tok.id, &existed, err) != 0 ||
		audit(tx, "Jitgate/sessions/delete", p, who, now, 200, err) != 0 ||
		jit_store_commit(tx, err) != 0) {
		jit_store_rollback(tx);
		return -1;
	}
	return 0;
}

bool
jit_session_csrf_ok(const struct jit_session *s, const char *header)
{
	if (header == NULL || strlen(header) != JIT_SESSION_CSRF_HEX - 1 || s->csrf[0] == '\0')
		return false;
	return sodium_memcmp(s->csrf, header, JIT_SESSION_CSRF_HEX - 1) == 0;
}
