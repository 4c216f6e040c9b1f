/*
 * client.h: jitgate-agent's half of the agent channel (docs/agent-protocol.md),
 * HTTPS to jitgated with libcurl.
 *
 *   POST /agent/v1/enroll         one-time enrollment token -> the agent's credential
 *   GET  /agent/v1/desired-state  long poll: returns when the version differs from ours
 *   POST /agent/v1/status         what we applied, and what this machine can do
 *
 * TLS verification is always on (peer and host name), and the only trust anchor is
 * the CA file given to jit_cp_open: the system's store is never consulted. Answers
 * are parsed and checked here, once, into typed structs (the agent's one boundary
 * for bytes from the network). Nothing here logs; the credential and the enrollment
 * token never appear in an error message.
 *
 * Failures: the server's own error (its HTTP status and ARM code kept), or 503
 * ServiceUnavailable when there was no usable answer (no route, refused, TLS,
 * timeout, cancelled), which the agent treats as "retry later".
 */
#ifndef JIT_AGENT_CLIENT_H
#define JIT_AGENT_CLIENT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "desired_state.h"
#include "error.h"
#include "prefix.h"
#include "vm.h"

/* jgt_/jge_ tokens are "<prefix>_<16 hex>_<43 base64url>" (auth.h); room to spare. */
#define JIT_CP_TOKEN_MAX 128
/* A desired state of 100k grants is ~15 MiB of JSON; anything far beyond is refused. */
#define JIT_CP_MAX_STATE_BYTES (64L * 1024 * 1024)
/* Other answers (enroll, errors) are small. */
#define JIT_CP_MAX_REPLY_BYTES (64L * 1024)
/* The server caps a long poll at 30 s; our transfer timeout adds this on top. */
#define JIT_CP_POLL_GRACE_S 20
#define JIT_CP_CONNECT_TIMEOUT_S 10
/* Addresses a status report carries (the VM's own limit). */
#define JIT_CP_MAX_ADDRESSES JIT_MAX_VM_ADDRESSES
/* A request's URL: the --server URL (at most 511 bytes) and a path with its query. */
#define JIT_CP_URL_MAX 640

struct jit_cp;

struct jit_enroll_request {
	const char *token;                 /* the enrollment token (secret) */
	const char *name;                  /* enforcement point name */
	enum jit_ep_kind kind;
	const char *vm_name;               /* host only: the VM it registers */
	enum jit_os os;
	size_t n_addresses;
	const struct jit_prefix *addresses;
};

struct jit_enrollment {
	char enforcement_point[JIT_RESOURCE_ID_MAX];
	char vm[JIT_RESOURCE_ID_MAX];      /* "" for a gateway */
	enum jit_ep_kind kind;
	char credential[JIT_CP_TOKEN_MAX]; /* secret: store it 0600, never log it */
};

struct jit_agent_status {
	uint64_t applied_version;
	bool healthy;
	bool nftables;                     /* the enforcer's probe passed */
	const char *os;                    /* e.g. "Linux 6.1.0 x86_64" */
	size_t n_addresses;
	const struct jit_prefix *addresses;
	const char *message;               /* one line for operators; NULL: none */
};

/* Replicas of one control plane the agent may use. */
#define JIT_CP_MAX_SERVERS 8

/* url is "https://host[:port]" (no path), or several separated by commas: replicas of
 * one control plane, used in turn when one cannot be reached or answers 503; ca_file the
 * PEM CA jitgated's certificate must chain to. When cancel is not NULL, a transfer in progress gives up (503)
 * within about a second of *cancel becoming non-zero. */
int jit_cp_open(const char *url, const char *ca_file, volatile sig_atomic_t *cancel,
	struct jit_cp **out, struct jit_error *err);
void jit_cp_free(struct jit_cp *cp);
/* The server in use now (after failovers). */
const char *jit_cp_server(const struct jit_cp *cp);

/* fn(arg) is called while a transfer waits or runs (about once a second when idle,
 * and between chunks of data); when it returns non-zero, the transfer is cut short
 * (503 "interrupted"). For work that must not wait for a long poll to end. */
void jit_cp_set_idle(struct jit_cp *cp, int (*fn)(void *), void *arg);

/* The bearer credential for the calls below (copied; wiped by jit_cp_free). */
int jit_cp_set_credential(struct jit_cp *cp, const char *credential, struct jit_error *err);

/* Trades a one-time enrollment token for the agent's credential. */
int jit_cp_enroll(struct jit_cp *cp, const struct jit_enroll_request *rq,
	struct jit_enrollment *out, struct jit_error *err);

/* The desired state. have == NULL: answered at once; otherwise the server waits up to
 * wait_s seconds for a version other than *have (and may answer *have again). */
int jit_cp_desired_state(struct jit_cp *cp, const uint64_t *have, unsigned wait_s,
	struct jit_desired_state **out, struct jit_error *err);

int jit_cp_report(struct jit_cp *cp, const struct jit_agent_status *st, struct jit_error *err);

/* True for a well-formed token text: 1..JIT_CP_TOKEN_MAX-1 of [A-Za-z0-9_-]. */
bool jit_cp_token_ok(const char *s);

/* Parts of the calls above, public so that they are tested without a server. */

/* The URL jit_cp_desired_state asks (have and wait_s as there). */
void jit_cp_desired_state_url(const struct jit_cp *cp, const uint64_t *have, unsigned wait_s,
	char url[JIT_CP_URL_MAX]);
/* An enroll answer, checked: kind must be the one asked for and the credential a jgt_
 * token. On failure (502) nothing of the credential is left in out or in err. */
int jit_cp_enrollment_from_json(const json_t *reply, enum jit_ep_kind kind,
	struct jit_enrollment *out, struct jit_error *err);
/* A non-2xx answer (body of len bytes, its ARM error if any) as err, keeping status
 * and code; the server's text is cut to printable ASCII. Returns -1. */
int jit_cp_server_error(long status, const char *body, size_t len, struct jit_error *err);

#endif
