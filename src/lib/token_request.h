/*
 * token_request.h: the body of an OAuth2 token request (RFC 6749 section 4.4, the
 * client-credentials grant), application/x-www-form-urlencoded, parsed once into a
 * typed struct. What MSAL (az, @azure/identity) sends to an ADFS token endpoint:
 *
 *   grant_type=client_credentials&client_id=ID&client_secret=SECRET&scope=RES%2F.default
 *
 * Errors carry OAuth2's error codes (invalid_request, unsupported_grant_type,
 * invalid_scope) in err->code and status 400; the caller renders them as
 * {"error": code, "error_description": message}. Secrets never appear in a message.
 */
#ifndef JIT_TOKEN_REQUEST_H
#define JIT_TOKEN_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "jit_limits.h"

/* A token request is a few hundred bytes; anything near this is not one. */
#define JIT_TOKEN_REQUEST_MAX 8192
#define JIT_CLIENT_ID_MAX 128
#define JIT_CLIENT_SECRET_MAX 256
#define JIT_SCOPE_MAX 1024

#define JIT_OAUTH_INVALID_REQUEST "invalid_request"
#define JIT_OAUTH_INVALID_CLIENT "invalid_client"
#define JIT_OAUTH_UNSUPPORTED_GRANT "unsupported_grant_type"
#define JIT_OAUTH_INVALID_SCOPE "invalid_scope"
#define JIT_OAUTH_UNAUTHORIZED_CLIENT "unauthorized_client"

struct jit_token_request {
	char client_id[JIT_CLIENT_ID_MAX + 1];
	char client_secret[JIT_CLIENT_SECRET_MAX + 1];   /* secret: never log */
	/* The resource the token is for: the scope's "<resource>/.default" or ADFS's
	 * resource= parameter; empty when the client named none. */
	char resource[JIT_SCOPE_MAX + 1];
};

/* Parses and checks a form body. Unknown parameters are ignored (RFC 6749 3.2);
 * a parameter sent twice, a malformed escape or a NUL byte is invalid_request. */
int jit_token_request_parse(const char *body, size_t len, struct jit_token_request *out,
	struct jit_error *err);

/* Wipes the secret. */
void jit_token_request_clear(struct jit_token_request *r);

#endif
