/*
 * service.h: what every service shares. A service call is one unit of work on
 * one concept (svc_jit, svc_inventory, svc_rbac, svc_agents, svc_audit): it
 * opens the store transaction, authorizes the actor, decides with the pure
 * modules of src/lib, writes the change and its audit entry, and commits.
 * Handlers parse requests into typed structs, make one service call and render
 * its result; they never see a transaction.
 *
 * Services do not authenticate: the caller (jitgated's request path) supplies
 * the actor, already signed in, with its permissions loaded.
 */
#ifndef JIT_SERVICE_H
#define JIT_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "resource_id.h"
#include "store.h"
#include "timestamp.h"

/* Who asks, and what it may do. */
struct jit_actor {
	const struct jit_principal *principal;  /* NULL: not signed in (anonymous) */
	const struct jit_permission *perms;     /* its role assignments with their roles */
	size_t n_perms;
	const char *caller;                     /* the caller's address as text, or NULL */
	const char *correlation;                /* the request's correlation id, or NULL */
	jit_time now;                           /* the request's time, one for the whole call */
};

/* May the actor perform action on resource (a role assigned at a scope containing it)? */
bool jit_actor_can(const struct jit_actor *a, const char *action, const struct jit_rid *resource);
/* ... on resource or on anything inside it (for lists, which then filter)? */
bool jit_actor_can_within(const struct jit_actor *a, const char *action,
	const struct jit_rid *resource);
/* Does the actor hold any role at, above or below resource? (what it may see exist) */
bool jit_actor_sees(const struct jit_actor *a, const struct jit_rid *resource);
/* 403 AuthorizationFailed naming the action and scope, unless jit_actor_can. */
int jit_actor_authorize(const struct jit_actor *a, const char *action,
	const struct jit_rid *resource, struct jit_error *err);

/* Appends the actor's audit entry in tx: operation on resource_id (may be NULL) with
 * the HTTP status it had (>= 400: Failed), details as JSON text (may be NULL), and the
 * VMs it concerns (for per-VM queries). */
int jit_svc_audit(struct jit_tx *tx, const struct jit_actor *a, const char *operation,
	const char *resource_id, int status, const char *details_json, const struct jit_rid *vms,
	size_t n_vms, struct jit_error *err);

#endif
