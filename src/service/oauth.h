/*
 * oauth.h: OAuth2 for Azure's own tools (az, the Azure SDKs' identity libraries).
 *
 * A principal proves itself at the token endpoint with the client-credentials grant:
 * client_id is its name or object ID, client_secret one of its client secrets
 * ("jcs_<id>_<secret>", made for this, always expiring) or one of its jitgate tokens
 * ("jgt_..."). It gets an access token ("jga_<id>_<secret>") that jitgated accepts as a
 * bearer token for JIT_ACCESS_TOKEN_TTL_NS at most, never longer than the credential it
 * was issued for, and not a moment after that credential is revoked or its principal
 * deleted (auth.c checks the credential on every request). All three are kept only as
 * hashes. Each function here is one unit of work: its own transaction with its audit
 * entry.
 */
#ifndef JIT_SERVICE_OAUTH_H
#define JIT_SERVICE_OAUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "error.h"
#include "store.h"
#include "token_request.h"

/* Azure AD's access tokens live about an hour; so do ours. */
#define JIT_ACCESS_TOKEN_TTL_NS (3600LL * JIT_NS_PER_SEC)
/* Azure allows client secrets up to two years; so do we. */
#define JIT_CLIENT_SECRET_MAX_VALID_NS (730LL * 86400 * JIT_NS_PER_SEC)
#define JIT_CLIENT_SECRET_DEFAULT_VALID_NS (180LL * 86400 * JIT_NS_PER_SEC)

/* Who acts and where from, for the audit entry (the operation and resource are given). */
struct jit_oauth_actor {
	int64_t principal_id;           /* 0: not signed in (the token endpoint) */
	const char *principal_name;
	const char *caller;             /* the caller's address */
	const char *correlation_id;
	jit_time now;
	const char *parent_token_id;    /* a secret one makes for oneself: the token it is made
	                                 * with (revoking it revokes the secret); NULL: none */
};

struct jit_client_secret {
	struct jit_token_info info;     /* id, name, created, expires */
	char text[JIT_TOKEN_MAX];       /* the secret itself: shown once, never logged */
};

/* Makes a client secret for principal_id, valid until expires (0: the default). */
int jit_oauth_secret_create(struct jit_store *st, const struct jit_oauth_actor *who,
	const char *resource_id, int64_t principal_id, const char *name, jit_time expires,
	struct jit_client_secret *out, struct jit_error *err);
/* The principal's client secrets (never their secrets); *out malloc'd. */
int jit_oauth_secret_list(struct jit_store *st, int64_t principal_id,
	struct jit_token_info **out, size_t *n, struct jit_error *err);
/* Revokes one; its access tokens stop working at once. *found false: none by that id. */
int jit_oauth_secret_revoke(struct jit_store *st, const struct jit_oauth_actor *who,
	const char *resource_id, int64_t principal_id, const char *secret_id, bool *found,
	struct jit_error *err);

struct jit_access_token {
	char text[JIT_TOKEN_MAX];       /* secret: for the response only */
	jit_time expires;
	struct jit_principal principal;
};

/* The client-credentials grant: checks the client, issues an access token. A client that
 * does not authenticate gets 401 invalid_client (the same for an unknown client_id and a
 * wrong secret); an agent's credential 400 unauthorized_client. Success is audited;
 * failures are the caller's to audit and throttle. */
int jit_oauth_issue(struct jit_store *st, const struct jit_oauth_actor *who,
	const struct jit_token_request *req, struct jit_access_token *out, struct jit_error *err);

#endif
