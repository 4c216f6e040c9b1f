/*
 * client.h: HTTPS to jitgated with libcurl. TLS verification is always on
 * (peer and host name); the trust anchor is the connection's CA file or the
 * system's store. Every call carries the bearer token and api-version.
 *
 * Failures come back as struct jit_error: the server's own ARM error (HTTP
 * status and code kept), or a network/TLS failure (CLI_E_FAIL) whose message
 * says what to check.
 */
#ifndef JIT_CLI_CLIENT_H
#define JIT_CLI_CLIENT_H

#include <jansson.h>

#include "profile.h"

#define CLI_API_VERSION "2020-01-01"

struct cli_client;

int cli_client_new(const struct cli_connection *conn, int timeout_s, struct cli_client **out,
	struct jit_error *err);
void cli_client_free(struct cli_client *h);
/* The server URLs this client uses, "URL,URL,..." as given (replicas, in order). */
const char *cli_client_servers(const struct cli_client *h);

/* Sends method path (path starts with '/', api-version is appended) with body
 * (NULL: none). A 2xx answer sets *status and *out (NULL when the body is empty);
 * any other answer, or no answer, fails with err. */
int cli_client_call(struct cli_client *h, const char *method, const char *path,
	const json_t *body, int *status, json_t **out, struct jit_error *err);

/* GET path asking for CSV (Accept: text/csv). A 2xx answer's body comes back as it
 * is (*out malloc'd and NUL-terminated, *len bytes); errors as for cli_client_call. */
int cli_client_get_csv(struct cli_client *h, const char *path, char **out, size_t *len,
	struct jit_error *err);

#endif
