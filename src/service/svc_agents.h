/*
 * svc_agents.h: enforcement points and their agents as a service: enrollment
 * tokens, enrollment (an agent trades a one-time token for its own credential
 * and becomes an enforcement point; a host registers its own VM), the desired
 * state an agent long-polls, its status reports, listing and deleting points.
 */
#ifndef JIT_SVC_AGENTS_H
#define JIT_SVC_AGENTS_H

#include <stdatomic.h>

#include "auth.h"
#include "service.h"
#include "vm.h"

#define JIT_OP_EP_READ "Jitgate/enforcementPoints/read"
#define JIT_OP_EP_DELETE "Jitgate/enforcementPoints/delete"
#define JIT_OP_EP_ENROLL "Jitgate/enforcementPoints/enroll/action"
#define JIT_OP_EP_APPLY "Jitgate/enforcementPoints/apply/action"
#define JIT_OP_ENROLLMENT_WRITE "Jitgate/enrollmentTokens/write"

/* Points inside scope (a subscription, which must exist, or a group) the actor may
 * read; free with jit_enforcement_points_free. */
int jit_svc_ep_list(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *scope, struct jit_enforcement_point **out, size_t *n,
	struct jit_error *err);
/* *out is cleared with jit_enforcement_point_clear. */
int jit_svc_ep_get(struct jit_store *st, const struct jit_actor *a, const struct jit_rid *id,
	struct jit_enforcement_point *out, struct jit_error *err);
/* Deletes a point (its credential revoked, its VMs unbound); *existed false: none. */
int jit_svc_ep_delete(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *id, bool *existed, struct jit_error *err);

/* A one-time enrollment token for group rg, valid until expires; *tok holds its text,
 * shown once (the caller wipes it). */
int jit_svc_enrollment_create(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *rg, jit_time expires, struct jit_token *tok, struct jit_error *err);

/* An enroll request, parsed: the token, the point's name and kind, and for a host its
 * own VM (id.name set; osType, addresses). */
struct jit_enrollment {
	struct jit_token token;
	char name[JIT_NAME_MAX + 1];
	enum jit_ep_kind kind;
	bool has_vm;
	struct jit_vm vm;
};

/* What enrolling made: the point, the host's VM (empty for a gateway), the agent's
 * credential (shown once). */
struct jit_enrolled {
	struct jit_rid ep;
	char vm_id[JIT_RESOURCE_ID_MAX];
	struct jit_token credential;
};

/* Enrolls: a (anonymous) is who asks, from where. 401 for an unknown, used or expired
 * token; 409 when the host's VM is protected by another point. Refusals are not audited
 * here: they are an unauthenticated caller's failed credential, which jitgated counts
 * per address and audits (the first few one by one, then in a summary). */
int jit_svc_agent_enroll(struct jit_store *st, const struct jit_actor *a,
	struct jit_enrollment *in, struct jit_enrolled *out, struct jit_error *err);

/* The desired state of the agent a names. With have set, waits (until deadline, or
 * stopping) while the state's version is still have; *out is freed with
 * jit_desired_state_free. */
int jit_svc_agent_desired_state(struct jit_store *st, const struct jit_actor *a,
	const uint64_t *have, jit_time deadline, const atomic_int *stopping,
	struct jit_desired_state **out, struct jit_error *err);

/* Records the agent's status report; a newer applied version is audited with the
 * grants it put in force. */
int jit_svc_agent_report(struct jit_store *st, const struct jit_actor *a, uint64_t applied,
	const char *status_json, struct jit_error *err);

#endif
