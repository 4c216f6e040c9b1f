/*
 * api_oauth.c: what Azure's own tools need to sign in to jitgated, as they sign in to
 * Azure Stack's ADFS: the OpenID discovery document, the OAuth2 token endpoint (the
 * client-credentials grant, service/oauth.h), ARM's cloud metadata and tenant list,
 * and the client secrets a principal signs in with.
 *
 * MSAL (az, @azure/identity) treats an authority ending in /adfs as ADFS: it skips
 * Microsoft's instance discovery, reads /adfs/.well-known/openid-configuration and
 * posts a form to the token_endpoint found there. The token endpoint answers in
 * OAuth2's shape ({"error", "error_description"}), not ARM's, because OAuth2 clients
 * parse that one. URLs in the documents are built from the request's Host, and only
 * when it names this server (jit_call_own_host): a forged Host never becomes a token
 * endpoint.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "duration.h"
#include "metrics.h"
#include "oauth.h"
#include "token_request.h"

/* ADFS has one tenant and calls it "adfs"; az and @azure/identity use that name too. */
#define TENANT "adfs"
#define SECRET_NAME_MAX 64

/* "https://HOST[:PORT]" of this server as the client reached it, or a 400. */
static int
base_url(struct jit_call *c, char *out, size_t n, struct jit_error *err)
{
	const char *host = jit_call_own_host(c);

	if (host == NULL)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"The Host header does not name this server (one of its certificate names "
			"or its listen address; jitgated --tls-name adds names), so no endpoint "
			"URL can be given.");
	snprintf(out, n, "https://%s", host);
	return 0;
}

static void
oauth_fail(struct jit_call *c, const struct jit_error *err)
{
	json_decref(c->resp->body);
	c->resp->status = err->status >= 400 && err->status <= 599 ? err->status : 500;
	c->resp->body = json_pack("{s:s,s:s}", "error", err->code[0] ? err->code :
		"server_error", "error_description", err->message);
}

void
jit_h_oidc_configuration(struct jit_call *c)
{
	struct jit_error err;
	char base[300], issuer[320], token[340], authorize[340], keys[340];

	if (base_url(c, base, sizeof(base), &err) != 0) {
		oauth_fail(c, &err);
		return;
	}
	snprintf(issuer, sizeof(issuer), "%s/adfs", base);
	snprintf(token, sizeof(token), "%s/adfs/oauth2/token", base);
	snprintf(authorize, sizeof(authorize), "%s/adfs/oauth2/authorize", base);
	snprintf(keys, sizeof(keys), "%s/adfs/discovery/keys", base);
	jit_call_reply(c, 200, json_pack("{s:s,s:s,s:s,s:s,s:[s],s:[s],s:[s],s:[s]}",
		"issuer", issuer,
		"authorization_endpoint", authorize,
		"token_endpoint", token,
		"jwks_uri", keys,
		"grant_types_supported", "client_credentials",
		"token_endpoint_auth_methods_supported", "client_secret_post",
		"response_types_supported", "token",
		"scopes_supported", "openid"));
}

/* The keys tokens are signed with: none. jitgated's access tokens are opaque reference
 * tokens that only jitgated checks (against its store, on every request), not JWTs, so
 * there is no key to publish; OpenID discovery requires the document, and MSAL reads it. */
void
jit_h_oauth_keys(struct jit_call *c)
{
	jit_call_reply(c, 200, json_pack("{s:[]}", "keys"));
}

/* Interactive sign-in (a browser, a device code) is not offered: jitgated has no login
 * page. The discovery document must name this endpoint, so it says so plainly. */
void
jit_h_oauth_authorize(struct jit_call *c)
{
	struct jit_error err;

	jit_errorf(&err, 400, "unsupported_response_type",
		"jitgated signs in service principals only, with the client_credentials grant "
		"at /adfs/oauth2/token (az login --service-principal; ClientSecretCredential). "
		"Interactive sign-in is not supported.");
	oauth_fail(c, &err);
}

void
jit_h_oauth_token(struct jit_call *c)
{
	const char *ct = jit_http_header(c->req, "Content-Type");
	struct jit_token_request req;
	struct jit_access_token tok;
	struct jit_oauth_actor who = {.caller = c->caller_text, .correlation_id = c->correlation,
		.now = c->now};
	struct jit_error err;
	const char *action = c->action;
	int64_t expires_in;

	if (ct == NULL || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
		jit_errorf(&err, 400, JIT_OAUTH_INVALID_REQUEST,
			"A token request is a form: send Content-Type "
			"application/x-www-form-urlencoded.");
		oauth_fail(c, &err);
		return;
	}
	if (jit_token_request_parse(c->req->body, c->req->body_len, &req, &err) != 0) {
		oauth_fail(c, &err);
		return;
	}
	if (jit_oauth_issue(c->api->store, &who, &req, &tok, &err) != 0) {
		jit_token_request_clear(&req);
		jit_metrics_token(false);
		if (err.status == 401 || err.status == 400) {
			/* A failed sign-in: counted and audited as a bad bearer token is (429 in
			 * OAuth's shape past the limit). */
			jit_call_credential_refused(c, &err);
			c->action = action;
		}
		oauth_fail(c, &err);
		return;
	}
	jit_token_request_clear(&req);
	jit_metrics_token(true);
	expires_in = (tok.expires - c->now) / JIT_NS_PER_SEC;
	c->principal = tok.principal;
	c->authenticated = true;
	jit_call_reply(c, 200, json_pack("{s:s,s:s,s:I,s:I,s:I}",
		"token_type", "Bearer",
		"access_token", tok.text,
		"expires_in", (json_int_t)expires_in,
		"ext_expires_in", (json_int_t)expires_in,
		"expires_on", (json_int_t)(tok.expires / JIT_NS_PER_SEC)));
	sodium_memzero(&tok, sizeof(tok));
}

/* ARM's cloud metadata (what `az cloud register --endpoint-resource-manager URL` reads
 * when no other endpoint is given): the login endpoint and the token audience. */
void
jit_h_arm_metadata(struct jit_call *c)
{
	struct jit_error err;
	char base[300], login[320], audience[320];

	if (base_url(c, base, sizeof(base), &err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	snprintf(login, sizeof(login), "%s/adfs", base);
	snprintf(audience, sizeof(audience), "%s/", base);
	jit_call_reply(c, 200, json_pack("{s:s,s:s,s:s,s:{s:s,s:[s]}}",
		"galleryEndpoint", audience,
		"graphEndpoint", audience,
		"portalEndpoint", audience,
		"authentication", "loginEndpoint", login, "audiences", audience));
}

void
jit_h_tenant_list(struct jit_call *c)
{
	const char *host = jit_call_own_host(c);

	jit_call_reply(c, 200, json_pack("{s:[{s:s,s:s,s:s,s:s,s:s}]}", "value",
		"id", "/tenants/" TENANT, "tenantId", TENANT, "tenantCategory", "Home",
		"displayName", "jitgate", "defaultDomain", host ? host : "jitgate"));
}

/* ---- client secrets: PRINCIPALS/{who}/clientSecrets ---- */

static json_t *
secret_json(const struct jit_token_info *t, jit_time now)
{
	char created[JIT_TIME_BUFSZ], expires[JIT_TIME_BUFSZ], buf[JIT_TIME_BUFSZ];
	json_t *j;

	jit_time_format(t->created, created);
	jit_time_format(t->expires, expires);
	j = json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", t->id, "name", t->name, "createdUtc", created,
		"expiresUtc", expires, "state", t->revoked ? "Revoked" : t->expires <= now ?
		"Expired" : "Active");
	if (j == NULL)
		return NULL;
	if (t->last_used) {
		jit_time_format(t->last_used, buf);
		json_object_set_new(j, "lastUsedUtc", json_string(buf));
	}
	if (t->revoked) {
		jit_time_format(t->revoked, buf);
		json_object_set_new(j, "revokedUtc", json_string(buf));
	}
	return j;
}

static struct jit_oauth_actor
actor(const struct jit_call *c)
{
	return (struct jit_oauth_actor){.principal_id = c->principal.id,
		.principal_name = c->principal.name, .caller = c->caller_text,
		.correlation_id = c->correlation, .now = c->now};
}

void
jit_h_secret_list(struct jit_call *c)
{
	struct jit_token_info *ts;
	struct jit_principal p;
	struct jit_error err;
	json_t *value;
	size_t n;

	if (jit_call_path_principal(c, &p, &err) != 0 ||
		jit_oauth_secret_list(c->api->store, p.id, &ts, &n, &err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	value = json_array();
	for (size_t i = 0; value != NULL && i < n; i++)
		json_array_append_new(value, secret_json(&ts[i], c->now));
	free(ts);
	jit_call_reply(c, 200, json_pack("{s:o}", "value", value));
}

/* {"name": "...", "validFor": "P90D"}: into name and an end of life. */
static int
parse_secret_body(struct jit_call *c, char name[SECRET_NAME_MAX + 1], jit_time *expires,
	bool *asked, struct jit_error *err)
{
	json_t *body = NULL;
	const json_t *v;
	int64_t valid = JIT_CLIENT_SECRET_DEFAULT_VALID_NS;
	int r = -1;

	if (jit_call_body(c, &body, err) != 0)
		return -1;
	v = json_object_get(body, "name");
	if (!json_is_string(v) || json_string_length(v) == 0 ||
		json_string_length(v) > SECRET_NAME_MAX) {
		jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"name: a client secret needs a name of 1-%d characters (where it is used)",
			SECRET_NAME_MAX);
		goto out;
	}
	snprintf(name, SECRET_NAME_MAX + 1, "%s", json_string_value(v));
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20) {
			jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
				"name: must not contain control characters");
			goto out;
		}
	v = json_object_get(body, "validFor");
	*asked = v != NULL && !json_is_null(v);
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v) || jit_duration_parse(json_string_value(v), &valid, err) != 0) {
			jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
				"validFor: must be an ISO 8601 duration such as P90D");
			goto out;
		}
		if (valid <= 0 || valid > JIT_CLIENT_SECRET_MAX_VALID_NS) {
			jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
				"validFor: a client secret lives at least a second and at most P730D "
				"(two years); it always expires");
			goto out;
		}
	}
	*expires = c->now + valid;
	r = 0;
out:
	json_decref(body);
	return r;
}

void
jit_h_secret_create(struct jit_call *c)
{
	struct jit_oauth_actor who = actor(c);
	char name[SECRET_NAME_MAX + 1];
	struct jit_client_secret sec;
	struct jit_principal p;
	struct jit_error err;
	jit_time expires;
	bool asked, self;
	json_t *out;

	if (jit_call_path_principal(c, &p, &err) != 0)
		goto refuse;
	/* A secret for oneself is self-minting, as a token is (security finding 7). */
	self = p.id == c->principal.id;
	if (self && jit_call_may_mint_own(c, &err) != 0)
		goto refuse;
	if (parse_secret_body(c, name, &expires, &asked, &err) != 0 ||
		jit_call_bound_expiry(c, asked, &expires, &err) != 0)
		goto refuse;
	if (self)
		who.parent_token_id = c->cred.token_id;
	if (jit_oauth_secret_create(c->api->store, &who, c->req->path, p.id, name, expires, &sec,
		&err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	out = secret_json(&sec.info, c->now);
	/* The secret is shown this once; only its hash is kept. */
	if (out != NULL) {
		json_object_set_new(out, "secret", json_string(sec.text));
		json_object_set_new(out, "clientId", json_string(p.object_id));
		json_object_set_new(out, "principalName", json_string(p.name));
	}
	sodium_memzero(&sec, sizeof(sec));
	jit_call_reply(c, 201, out);
	return;
refuse:
	if (err.status != 404)
		jit_call_audit_failure(c, c->req->path, &err);
	jit_call_fail(c, &err);
}

void
jit_h_secret_revoke(struct jit_call *c)
{
	struct jit_oauth_actor who = actor(c);
	struct jit_principal p;
	struct jit_error err;
	bool found;

	if (jit_call_path_principal(c, &p, &err) != 0) {
		if (err.status == 403)
			jit_call_audit_failure(c, c->req->path, &err);
		jit_call_fail(c, &err);
		return;
	}
	if (jit_oauth_secret_revoke(c->api->store, &who, c->req->path, p.id, c->item, &found,
		&err) != 0) {
		jit_call_fail(c, &err);
		return;
	}
	jit_call_reply(c, found ? 200 : 204, NULL);
}
