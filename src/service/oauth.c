/*
 * oauth.c: client secrets and the client-credentials grant (see oauth.h).
 *
 * The decisions live here and the SQL in the store: which credential a client_secret
 * is (by its prefix), whether it belongs to the client_id, how long the access token
 * may live (the shorter of an hour and the credential's own life). Hashes are compared
 * in constant time; a failed comparison and an unknown client look the same to the
 * caller, so the endpoint tells nobody which principals exist.
 */
#include "oauth.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define OP_SECRET_WRITE "Jitgate/principals/clientSecrets/write"
#define OP_SECRET_DELETE "Jitgate/principals/clientSecrets/delete"
#define OP_TOKEN "Jitgate/oauth2/token/action"

static int
audit(struct jit_tx *tx, const struct jit_oauth_actor *who, int64_t principal_id,
	const char *principal_name, const char *operation, const char *resource_id, int status,
	const char *details, struct jit_error *err)
{
	struct jit_audit_entry e = {
		.time = who->now,
		.principal_id = principal_id,
		.principal_name = principal_name,
		.caller = who->caller,
		.operation = operation,
		.resource_id = resource_id,
		.result = status < 400 ? "Succeeded" : "Failed",
		.status = status,
		.correlation_id = who->correlation_id,
		.details_json = details,
	};

	return jit_store_audit_append(tx, &e, err);
}

/* Commits, or rolls back when r failed; returns r or the commit's failure. */
static int
finish(struct jit_tx *tx, int r, struct jit_error *err)
{
	if (r != 0) {
		jit_store_rollback(tx);
		return -1;
	}
	return jit_store_commit(tx, err);
}

int
jit_oauth_secret_create(struct jit_store *st, const struct jit_oauth_actor *who,
	const char *resource_id, int64_t principal_id, const char *name, jit_time expires,
	struct jit_client_secret *out, struct jit_error *err)
{
	struct jit_tx *tx;
	struct jit_token tok;
	char details[160];
	int r;

	memset(out, 0, sizeof(*out));
	if (expires == 0)
		expires = who->now + JIT_CLIENT_SECRET_DEFAULT_VALID_NS;
	if (jit_token_new("jcs", &tok, err) != 0)
		return -1;
	if (jit_store_begin(st, true, &tx, err) != 0) {
		sodium_memzero(&tok, sizeof(tok));
		return -1;
	}
	snprintf(details, sizeof(details), "{\"secretId\":\"%s\"}", tok.id);
	r = jit_store_secret_add(tx, principal_id, name, tok.id, tok.hash, who->now, expires,
		err);
	if (r == 0 && who->parent_token_id != NULL)
		r = jit_store_secret_set_parent(tx, tok.id, who->parent_token_id, err);
	if (r == 0)
		r = audit(tx, who, who->principal_id, who->principal_name, OP_SECRET_WRITE,
			resource_id, 201, details, err);
	if (finish(tx, r, err) != 0) {
		sodium_memzero(&tok, sizeof(tok));
		return -1;
	}
	snprintf(out->info.id, sizeof(out->info.id), "%s", tok.id);
	snprintf(out->info.name, sizeof(out->info.name), "%s", name);
	out->info.created = who->now;
	out->info.expires = expires;
	memcpy(out->text, tok.text, sizeof(out->text));
	sodium_memzero(&tok, sizeof(tok));
	return 0;
}

int
jit_oauth_secret_list(struct jit_store *st, int64_t principal_id,
	struct jit_token_info **out, size_t *n, struct jit_error *err)
{
	struct jit_tx *tx;
	int r;

	if (jit_store_begin(st, false, &tx, err) != 0)
		return -1;
	r = jit_store_secret_list(tx, principal_id, out, n, err);
	jit_store_rollback(tx);
	return r;
}

int
jit_oauth_secret_revoke(struct jit_store *st, const struct jit_oauth_actor *who,
	const char *resource_id, int64_t principal_id, const char *secret_id, bool *found,
	struct jit_error *err)
{
	struct jit_tx *tx;
	int r;

	if (jit_store_begin(st, true, &tx, err) != 0)
		return -1;
	r = jit_store_secret_revoke(tx, principal_id, secret_id, who->now, found, err);
	if (r == 0 && *found)
		r = audit(tx, who, who->principal_id, who->principal_name, OP_SECRET_DELETE,
			resource_id, 200, NULL, err);
	return finish(tx, r, err);
}

static int
bad_client(struct jit_error *err)
{
	return jit_errorf(err, 401, JIT_OAUTH_INVALID_CLIENT,
		"Client authentication failed: client_id and client_secret do not name a "
		"principal and one of its active client secrets or tokens.");
}

/* Checks the client's credential against the principal: which kind it is, its id and
 * the end of its life (0: none). Inside the open transaction. */
static int
check_credential(struct jit_tx *tx, const struct jit_token_request *req,
	const struct jit_principal *p, jit_time now, enum jit_access_source *kind,
	char source_id[JIT_TOKEN_ID_MAX], jit_time *until, struct jit_error *err)
{
	uint8_t stored[JIT_TOKEN_HASH_BYTES];
	struct jit_token tok;
	int64_t owner = 0;
	bool found = false;
	int r;

	*until = 0;
	if (jit_token_parse("jcs", req->client_secret, &tok)) {
		*kind = JIT_ACCESS_FROM_SECRET;
		r = jit_store_secret_find(tx, tok.id, now, stored, &owner, until, &found, err);
	} else if (jit_token_parse("jgt", req->client_secret, &tok)) {
		*kind = JIT_ACCESS_FROM_TOKEN;
		r = jit_store_token_find(tx, tok.id, now, stored, &owner, &found, err);
		if (r == 0 && found)
			r = jit_store_token_expiry(tx, tok.id, until, err);
	} else {
		return bad_client(err);
	}
	if (r != 0) {
		sodium_memzero(&tok, sizeof(tok));
		return -1;
	}
	/* The hash is compared even for another principal's id: the same work either way. */
	r = found && jit_token_hash_equal(stored, tok.hash) && owner == p->id ? 0 :
		bad_client(err);
	snprintf(source_id, JIT_TOKEN_ID_MAX, "%s", tok.id);
	sodium_memzero(&tok, sizeof(tok));
	return r;
}

int
jit_oauth_issue(struct jit_store *st, const struct jit_oauth_actor *who,
	const struct jit_token_request *req, struct jit_access_token *out, struct jit_error *err)
{
	struct jit_tx *tx;
	char source_id[JIT_TOKEN_ID_MAX], details[160];
	enum jit_access_source kind = JIT_ACCESS_FROM_SECRET;
	struct jit_token tok;
	jit_time until = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (jit_store_begin(st, true, &tx, err) != 0)
		return -1;
	r = jit_store_principal_find(tx, req->client_id, &out->principal, err);
	if (r != 0 && err->status == 404)
		r = bad_client(err);
	if (r == 0)
		r = check_credential(tx, req, &out->principal, who->now, &kind, source_id, &until,
			err);
	if (r == 0 && out->principal.kind == JIT_PRINCIPAL_AGENT)
		r = jit_errorf(err, 400, JIT_OAUTH_UNAUTHORIZED_CLIENT,
			"An agent's credential serves the agent channel only.");
	if (r != 0) {
		jit_store_rollback(tx);
		return -1;
	}
	out->expires = who->now + JIT_ACCESS_TOKEN_TTL_NS;
	if (until != 0 && until < out->expires)
		out->expires = until;
	if (jit_token_new("jga", &tok, err) != 0) {
		jit_store_rollback(tx);
		return -1;
	}
	snprintf(details, sizeof(details),
		"{\"credential\":\"%s\",\"credentialId\":\"%s\",\"accessTokenId\":\"%s\"}",
		kind == JIT_ACCESS_FROM_SECRET ? "clientSecret" : "token", source_id, tok.id);
	r = jit_store_access_add(tx, tok.id, tok.hash, out->principal.id, kind, source_id,
		who->now, out->expires, err);
	if (r == 0)
		r = kind == JIT_ACCESS_FROM_SECRET ?
			jit_store_secret_touch(tx, source_id, who->now, err) :
			jit_store_token_touch(tx, source_id, who->now, err);
	if (r == 0)
		r = audit(tx, who, out->principal.id, out->principal.name, OP_TOKEN,
			"/adfs/oauth2/token", 200, details, err);
	if (finish(tx, r, err) != 0) {
		sodium_memzero(&tok, sizeof(tok));
		return -1;
	}
	memcpy(out->text, tok.text, sizeof(out->text));
	sodium_memzero(&tok, sizeof(tok));
	return 0;
}
