/*
 * session.h: console sign-in sessions (the service that owns them).
 *
 * A user signs in to the web console once with an API token; the session that
 * opens is bound to that token: it ends when the token is revoked or expires,
 * when its own lifetime passes, or when the user signs out (the row is deleted,
 * so a copied cookie is worthless afterwards). The cookie's value is a secret
 * "jgs_<id>_<secret>" stored only as its hash, like tokens. Its CSRF token is
 * derived from that hash: a page of this origin learns it at sign-in (and from
 * the session itself), a page of another origin cannot.
 */
#ifndef JIT_SERVICE_SESSION_H
#define JIT_SERVICE_SESSION_H

#include <stdbool.h>

#include "auth.h"
#include "error.h"
#include "store.h"

#define JIT_SESSION_COOKIE "__Host-jitgate_session"
/* A console session lasts at most this long (and never past its token). */
#define JIT_SESSION_LIFETIME_NS (8LL * 3600 * JIT_NS_PER_SEC)
#define JIT_SESSION_CSRF_HEX 65

/* Who asks, for the audit entry a sign-in or sign-out writes. */
struct jit_session_caller {
	const char *address;
	const char *correlation_id;
};

struct jit_session {
	char cookie[JIT_TOKEN_MAX];             /* the cookie's value: secret, never log */
	char csrf[JIT_SESSION_CSRF_HEX];        /* the X-CSRF-Token value */
	jit_time expires;
	struct jit_principal principal;
	char token_id[JIT_TOKEN_ID_MAX];        /* the token it was opened with (public id) */
};

/* Signs in with an API token's text: a new session bound to it, with an audit entry
 * (Jitgate/sessions/write). 401 AuthenticationFailed (as a bad bearer token) when the
 * token is malformed, unknown, revoked or expired; agents' credentials are refused. */
int jit_session_open(struct jit_store *st, const char *token_text, jit_time now,
	const struct jit_session_caller *who, struct jit_session *out, struct jit_error *err);

/* The live session a cookie names, inside the caller's open transaction. 401 when the
 * value is malformed, unknown, signed out, expired, or its token is no longer valid. */
int jit_session_resolve(struct jit_tx *tx, const char *cookie, jit_time now,
	struct jit_session *out, struct jit_error *err);

/* Signs out: deletes the session (with an audit entry, Jitgate/sessions/delete). */
int jit_session_close(struct jit_store *st, const char *cookie, jit_time now,
	const struct jit_session_caller *who, const struct jit_principal *p,
	struct jit_error *err);

/* Does header (the request's X-CSRF-Token) match the session? Constant time. */
bool jit_session_csrf_ok(const struct jit_session *s, const char *header);

#endif
