/*
 * grant.h: which access an initiate yields, pure (no I/O). An initiate asks for
 * ports of VMs in a policy; each port must be configured for the VM, its source
 * (or the caller's own address, the portal's "My IP") inside the prefixes the
 * rule allows, and its end time in the future and within the rule's maximum
 * duration. The result is the request as recorded, one Initiated port each.
 * Authorization is the caller's business (services check it before).
 */
#ifndef JIT_GRANT_H
#define JIT_GRANT_H

#include "model.h"
#include "prefix.h"
#include "timestamp.h"

/* A client computes "now + max" on its own clock; up to this much beyond the
 * maximum is clamped to the maximum rather than refused. */
#define JIT_END_TIME_SKEW_NS (120LL * JIT_NS_PER_SEC)

/* The VM of policy p with this id, or NULL. */
const struct jit_policy_vm *jit_policy_find_vm(const struct jit_policy *p,
	const struct jit_rid *vm);

/* Builds the request in asks of p at now: caller is the caller's address (family
 * JIT_FAMILY_ANY when unknown), requestor who asks (copied). 400 BadRequest naming the
 * field when something is not allowed; *out is cleared by jit_request_clear either way. */
int jit_grant_request(const struct jit_policy *p, const struct jit_initiate *in, jit_time now,
	const struct jit_prefix *caller, const char *requestor, struct jit_request *out,
	struct jit_error *err);

/* An extension (jitgate's, not Azure's): request r, built by jit_grant_request, may only
 * move the end of access that is active at now. Every port of r must have an Initiated
 * port in p's requests for the same VM, number and source whose end is after now (409
 * Conflict otherwise: nothing to extend), and r's end must be later than that end (400).
 * The maximum is jit_grant_request's, counted from now. */
int jit_grant_extends(const struct jit_policy *p, const struct jit_request *r, jit_time now,
	struct jit_error *err);

#endif
