/*
 * svc_rbac.h: who may do what, as a service: role definitions and role
 * assignments (Azure's Microsoft.Authorization), our principals and their
 * bearer tokens, and signing in (a bearer token to a principal with its
 * permissions). Writes are one transaction with their audit entry (resource:
 * what the request names); refusals are audited on their own.
 */
#ifndef JIT_SVC_RBAC_H
#define JIT_SVC_RBAC_H

#include "auth.h"
#include "service.h"
#include "session.h"

#define JIT_OP_AUTHZ "Microsoft.Authorization"
#define JIT_OP_ROLE_READ JIT_OP_AUTHZ "/roleDefinitions/read"
#define JIT_OP_ROLE_WRITE JIT_OP_AUTHZ "/roleDefinitions/write"
#define JIT_OP_ROLE_DELETE JIT_OP_AUTHZ "/roleDefinitions/delete"
#define JIT_OP_ASSIGNMENT_READ JIT_OP_AUTHZ "/roleAssignments/read"
#define JIT_OP_ASSIGNMENT_WRITE JIT_OP_AUTHZ "/roleAssignments/write"
#define JIT_OP_ASSIGNMENT_DELETE JIT_OP_AUTHZ "/roleAssignments/delete"
#define JIT_OP_PRINCIPAL_WRITE "Jitgate/principals/write"
#define JIT_OP_PRINCIPAL_DELETE "Jitgate/principals/delete"
#define JIT_OP_TOKEN_WRITE "Jitgate/principals/tokens/write"
#define JIT_OP_TOKEN_DELETE "Jitgate/principals/tokens/delete"

/* Role definitions visible at scope (built-ins first); *out malloc'd. */
int jit_svc_role_list(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *scope, struct jit_role **out, size_t *n, struct jit_error *err);
int jit_svc_role_get(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *scope, const char *id, struct jit_role *out, struct jit_error *err);
/* Creates or replaces role (role->id set; a GUID); role becomes what is stored. The
 * writer needs the action at scope and at every scope the role is or becomes
 * assignable at. */
int jit_svc_role_put(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *scope, const char *resource, struct jit_role *role, bool *created,
	struct jit_error *err);
int jit_svc_role_delete(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *scope, const char *resource, const char *id, bool *existed,
	struct jit_error *err);

/* Assignments at, above and below scope the actor may read, and its own; principal
 * (name or object id) narrows to one (an unknown one lists nothing). *out malloc'd. */
int jit_svc_assignment_list(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *scope, const char *principal, struct jit_role_assignment **out,
	size_t *n, struct jit_error *err);
int jit_svc_assignment_get(struct jit_store *st, const struct jit_actor *a, const char *id,
	struct jit_role_assignment *out, struct jit_error *err);
/* Assigns role_ref (a role definition ID, a GUID or a role name) to principal_ref (a
 * name or object id) at scope, as assignment id. */
int jit_svc_assignment_put(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *scope, const char *resource, const char *id, const char *role_ref,
	const char *principal_ref, struct jit_role_assignment *out, bool *created,
	struct jit_error *err);
/* *existed false when there is none (nothing audited); *out the deleted assignment. */
int jit_svc_assignment_delete(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *scope, const char *resource, const char *id,
	struct jit_role_assignment *out, bool *existed, struct jit_error *err);

/* The principal a path names: "me" (or the actor's own name) is the actor; anyone else
 * needs action at "/" first, so that an actor without it cannot tell whether a name
 * exists. Agents' principals are refused (400): their enforcement point manages them. */
int jit_svc_principal_resolve(struct jit_store *st, const struct jit_actor *a,
	const char *action, const char *name, struct jit_principal *out, struct jit_error *err);
/* Users and service principals; *out malloc'd. */
int jit_svc_principal_list(struct jit_store *st, const struct jit_actor *a,
	struct jit_principal **out, size_t *n, struct jit_error *err);
/* Creates in (name, kind, display name) or finds it with the same kind (409 for another
 * kind); *out as stored. */
int jit_svc_principal_put(struct jit_store *st, const struct jit_actor *a,
	const char *resource, const struct jit_principal *in, struct jit_principal *out,
	bool *created, struct jit_error *err);
/* Deletes the principal name resolves to, with its tokens and assignments; *existed
 * false when there is no such principal. Nobody deletes itself. */
int jit_svc_principal_delete(struct jit_store *st, const struct jit_actor *a,
	const char *resource, const char *name, bool *existed, struct jit_error *err);

/* Tokens of the principal name resolves to (self-service or the action at "/"). */
int jit_svc_token_list(struct jit_store *st, const struct jit_actor *a, const char *action,
	const char *name, struct jit_token_info **out, size_t *n, struct jit_error *err);
/* A new token for that principal: *info describes it, *secret is its text, shown once
 * (the caller wipes it). expires 0: never. parent: the token a self-minted one was made
 * with (it ends with it), or NULL. */
int jit_svc_token_create(struct jit_store *st, const struct jit_actor *a,
	const char *resource, const char *name, const char *token_name, jit_time expires,
	const char *parent, struct jit_token_info *info, struct jit_token *secret,
	struct jit_error *err);
/* *found false (nothing audited) when the principal has no token by that id. */
int jit_svc_token_revoke(struct jit_store *st, const struct jit_actor *a,
	const char *resource, const char *name, const char *token_id, bool *found,
	struct jit_error *err);

/* Who signed in, with what, and what it may do. */
struct jit_sign_in {
	struct jit_principal principal;
	struct jit_auth_credential cred;    /* bounds what it makes (tokens, secrets) */
	bool via_session;                   /* signed in with a console session cookie */
	struct jit_session session;         /* then: the session */
	struct jit_permission *perms;       /* its assignments with their roles (free());
	                                     * none for agents */
	size_t n_perms;
};

/* Resolves a bearer token (authorization: the Authorization header) or, when cookie is
 * not NULL, a console session, and loads the principal's permissions, in one read
 * transaction. 401 when the credential is missing, unknown, revoked or expired. */
int jit_svc_sign_in(struct jit_store *st, const char *authorization, const char *cookie,
	jit_time now, struct jit_sign_in *out, struct jit_error *err);

/* What a principal may do: its assignments with their roles (*out malloc'd), read in
 * tx (signing in reads the credential and the permissions in one transaction). */
int jit_svc_permissions(struct jit_tx *tx, int64_t principal_id, struct jit_permission **out,
	size_t *n, struct jit_error *err);

#endif
