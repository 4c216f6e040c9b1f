/*
 * fuzz_token_request.c: jit_token_request_parse must never crash or read past the body
 * (it is not NUL-terminated here), and what it accepts must hold its invariants: a
 * client_id and a client_secret, NUL-free and within their limits; what it refuses must
 * leave nothing behind (no secret in the struct) and carry an OAuth2 code.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "token_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jit_token_request r;
	struct jit_error err;
	char *copy = malloc(size ? size : 1);

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	if (jit_token_request_parse(copy, size, &r, &err) == 0) {
		if (r.client_id[0] == '\0' || r.client_secret[0] == '\0' ||
			strlen(r.client_id) > JIT_CLIENT_ID_MAX ||
			strlen(r.client_secret) > JIT_CLIENT_SECRET_MAX ||
			strlen(r.resource) > JIT_SCOPE_MAX)
			abort();
	} else {
		if (r.client_secret[0] != '\0' || r.client_id[0] != '\0')
			abort();
		if (strncmp(err.code, "invalid_", 8) != 0 && strncmp(err.code, "unsupported_", 12) != 0)
			abort();
	}
	jit_token_request_clear(&r);
	free(copy);
	return 0;
}
