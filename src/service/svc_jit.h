/*
 * svc_jit.h: JIT policies and access requests as a service: list, get,
 * createOrUpdate, delete, initiate, revoke, and the expiry sweep. Each call is
 * one transaction with its audit entry; refusals (4xx) are audited on their own
 * against the VMs they name. Reads are trimmed to what the actor may read.
 */
#ifndef JIT_SVC_JIT_H
#define JIT_SVC_JIT_H

#include "model.h"
#include "service.h"

#define JIT_OP_POLICY "Microsoft.Security/locations/jitNetworkAccessPolicies"
#define JIT_OP_POLICY_READ JIT_OP_POLICY "/read"
#define JIT_OP_POLICY_WRITE JIT_OP_POLICY "/write"
#define JIT_OP_POLICY_DELETE JIT_OP_POLICY "/delete"
#define JIT_OP_INITIATE JIT_OP_POLICY "/initiate/action"
#define JIT_OP_REVOKE JIT_OP_POLICY "/revoke/action"
#define JIT_OP_EXPIRE JIT_OP_POLICY "/expire/action"
/* Audited as such; authorized by JIT_OP_INITIATE (extending is requesting access). */
#define JIT_OP_EXTEND JIT_OP_POLICY "/extend/action"

/* The policies inside scope (a subscription or group, which must exist), at location
 * or anywhere (NULL), each trimmed to what the actor may read, those it may read none
 * of left out. *out is an array of *n policies (jit_svc_policies_free). */
int jit_svc_policy_list(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *scope, const char *location, struct jit_policy ***out, size_t *n,
	struct jit_error *err);
void jit_svc_policies_free(struct jit_policy **ps, size_t n);

/* One policy trimmed to what the actor may read; 403 (not 404) for who may read nothing
 * there, so that it learns nothing. */
int jit_svc_policy_get(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *id, struct jit_policy **out, struct jit_error *err);

/* Creates or replaces p (p->id set): at least one VM; JIT not disabled there; the writer
 * may not remove VMs it cannot read nor add VMs it may not write. *out is the stored
 * policy (requests only for who may read them). */
int jit_svc_policy_put(struct jit_store *st, const struct jit_actor *a,
	const struct jit_policy *p, struct jit_policy **out, bool *created,
	struct jit_error *err);

/* *existed false when there was nothing to delete (nothing audited then). */
int jit_svc_policy_delete(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *id, bool *existed, struct jit_error *err);

/* Requests access (grant.h decides what it yields); caller is the caller's address
 * (JIT_FAMILY_ANY when unknown), the default source. *out is the recorded request
 * (jit_request_clear). */
int jit_svc_initiate(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *policy, const struct jit_initiate *in,
	const struct jit_prefix *caller, struct jit_request *out, struct jit_error *err);

/* Extends active access (jitgate's, not Azure's): the same body and checks as an initiate,
 * and every port must have active access from the same source that this request makes
 * end later (grant.h: jit_grant_extends). Recorded as a new request, which supersedes the
 * running one (NewerRequestInitiated); the enforcement point re-times its grant in place,
 * so connections stay up. */
int jit_svc_extend(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *policy, const struct jit_initiate *in,
	const struct jit_prefix *caller, struct jit_request *out, struct jit_error *err);

/* Ends matching active access now (in: jit_revoke_from_json; a port without a source
 * ends it from every source): its end time becomes now, recorded as such in the request
 * and in the audit entry. *revoked is how many ports ended. */
int jit_svc_revoke(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *policy, const struct jit_initiate *in, size_t *revoked,
	struct jit_error *err);

/* Replicas on one store share the expiry sweep: it runs at most this often in all. */
#define JIT_SVC_EXPIRE_EVERY_NS (500LL * 1000 * 1000)

/* Writes down ended grants as Revoked/Expired with one audit entry each, all in one
 * transaction (the kernel has closed them already). *n is how many; 0 also when another
 * replica swept within JIT_SVC_EXPIRE_EVERY_NS. */
int jit_svc_expire(struct jit_store *st, jit_time now, size_t *n, struct jit_error *err);

#endif
