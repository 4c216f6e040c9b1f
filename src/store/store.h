/*
 * store.h: jitgated's state, behind one interface (SQLite now; the same
 * contract is what a PostgreSQL store implements for a fleet).
 *
 * Every call runs inside a transaction the caller opened with jit_store_begin
 * and ends with jit_store_commit or jit_store_rollback, so a handler's change
 * and its audit entry land together or not at all. Transactions are serialised
 * (one writer at a time). Keys compare case-insensitively, as ARM names do;
 * resources keep the casing they were created with.
 *
 * Errors carry the HTTP status a client should see (404 for a missing
 * resource, 409 for a conflict, 500 for a storage failure).
 */
#ifndef JIT_STORE_H
#define JIT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit_chain.h"
#include "desired_state.h"
#include "error.h"
#include "model.h"
#include "prom.h"
#include "rbac.h"
#include "resource_id.h"
#include "timestamp.h"
#include "vm.h"
#include "vm_state.h"

struct jit_store;

/* Opens (creating and migrating) the store at uri: "sqlite:PATH" (or a bare PATH), or
 * a PostgreSQL URI or conninfo ("postgresql://jitgate@db1,db2/jitgate?target_session_
 * attrs=read-write"; the password from JITGATE_STORE_PASSWORD_FILE, PGPASSFILE or
 * ~/.pgpass, never in the URI). Several jitgated may share one PostgreSQL store. A
 * store that is unreachable makes calls fail with 503 (ServiceUnavailable) until it
 * is back; the store reconnects by itself. */
int jit_store_open(const char *uri, struct jit_store **out, struct jit_error *err);
void jit_store_close(struct jit_store *st);
/* What jit_store_migrate copied, and the audit chain's verdict in the target. */
struct jit_migrate_report {
	int64_t rows;
	int64_t audit_entries;
	struct jit_audit_verdict verdict;
};

/* Copies a whole SQLite installation (from: "sqlite:PATH") into an empty PostgreSQL
 * store (to), in one transaction, then verifies the audit chain there with keys (the
 * installation's audit keys; NULL: an unkeyed log). 409 when the target already holds
 * an installation. */
int jit_store_migrate(const char *from, const char *to, const struct jit_audit_keyring *keys,
	struct jit_migrate_report *rep, struct jit_error *err);

/* Whether other processes (replicas) may write the same store. */
bool jit_store_is_shared(const struct jit_store *st);
/* How often a shared store wakes its waiters even without a notification (ms). */
#define JIT_STORE_SAFETY_POLL_MS 15000

/* A transaction, the handle every other call takes: write=true takes the write lock at
 * once (BEGIN IMMEDIATE). Each begin is ended by exactly one commit or rollback; the
 * handle is invalid afterwards. A thread holds at most one. */
struct jit_tx;

int jit_store_begin(struct jit_store *st, bool write, struct jit_tx **out,
	struct jit_error *err);
int jit_store_commit(struct jit_tx *tx, struct jit_error *err);
/* Accepts NULL (nothing to roll back). */
void jit_store_rollback(struct jit_tx *tx);

/* ---- subscriptions and resource groups ---- */

struct jit_subscription {
	char name[JIT_NAME_MAX + 1];
	char display_name[JIT_MAX_SHORT_STRING];
	jit_time created;
};

int jit_store_sub_put(struct jit_tx *tx, const struct jit_subscription *sub, bool *created,
	struct jit_error *err);
int jit_store_sub_get(struct jit_tx *tx, const char *name, struct jit_subscription *out,
	struct jit_error *err);
/* *out is malloc'd (free()); *n may be 0. */
int jit_store_sub_list(struct jit_tx *tx, struct jit_subscription **out, size_t *n,
	struct jit_error *err);

struct jit_resource_group {
	struct jit_rid id;
	char location[JIT_NAME_MAX + 1];
	jit_time created;
};

/* Creates a group, or leaves an existing one as it is (its location included). */
int jit_store_rg_put(struct jit_tx *tx, const struct jit_resource_group *rg, bool *created,
	struct jit_error *err);
int jit_store_rg_get(struct jit_tx *tx, const struct jit_rid *id,
	struct jit_resource_group *out, struct jit_error *err);
/* Refused (409) while the group holds VMs, policies or enforcement points. */
int jit_store_rg_delete(struct jit_tx *tx, const struct jit_rid *id, bool *existed,
	struct jit_error *err);
int jit_store_rg_list(struct jit_tx *tx, const char *sub, struct jit_resource_group **out,
	size_t *n, struct jit_error *err);

/* ---- virtual machines ---- */

/* Creates or replaces; the resource group and enforcement point must exist (404); a host
 * point protects one VM (409).
 * Bumps the desired-state version of the enforcement points concerned. */
int jit_store_vm_put(struct jit_tx *tx, const struct jit_vm *vm, bool *created,
	struct jit_error *err);
int jit_store_vm_get(struct jit_tx *tx, const struct jit_rid *id, struct jit_vm *out,
	struct jit_error *err);
/* 409 when the VM shares an address with another VM of its enforcement point (a database
 * written before addresses were unique per point; jit_store_vm_put refuses new ones). */
int jit_store_vm_addresses_unique(struct jit_tx *tx, const struct jit_rid *id,
	struct jit_error *err);
/* Refused (409) while the VM is in a JIT policy. */
int jit_store_vm_delete(struct jit_tx *tx, const struct jit_rid *id, bool *existed,
	struct jit_error *err);
/* VMs inside scope (root, subscription or resource group). */
int jit_store_vm_list(struct jit_tx *tx, const struct jit_rid *scope, struct jit_vm **out,
	size_t *n, struct jit_error *err);
/* The policy that names the VM; *found false when none. */
int jit_store_vm_policy(struct jit_tx *tx, const struct jit_rid *vm, struct jit_rid *policy,
	bool *found, struct jit_error *err);

/* ---- JIT policies and requests ---- */

/* Creates or replaces p (p->id set by the caller; requests and read-only fields in p
 * are ignored: existing requests are kept). Every VM must exist (404) and be in no
 * other policy (409). Bumps versions for the VMs' enforcement points, old and new. */
int jit_store_policy_put(struct jit_tx *tx, const struct jit_policy *p, jit_time now,
	bool *created, struct jit_error *err);
/* The full policy, with its requests (newest first; ports past their end read as
 * Revoked/Expired). */
int jit_store_policy_get(struct jit_tx *tx, const struct jit_rid *id, jit_time now,
	struct jit_policy **out, struct jit_error *err);
int jit_store_policy_delete(struct jit_tx *tx, const struct jit_rid *id, bool *existed,
	struct jit_error *err);
/* IDs of the policies inside scope (subscription or resource group), optionally only
 * at one location (NULL: any); sorted by id. *out is malloc'd. */
int jit_store_policy_list(struct jit_tx *tx, const struct jit_rid *scope,
	const char *location, struct jit_rid **out, size_t *n, struct jit_error *err);

/* Records request r (already validated against the policy) under the policy. Older
 * Initiated ports for the same VM, port and source that have not ended become
 * Revoked/NewerRequestInitiated, with their end time set to r's start time.
 * Bumps versions for the enforcement points of r's VMs. */
int jit_store_request_add(struct jit_tx *tx, const struct jit_rid *policy,
	const struct jit_request *r, int64_t principal_id, struct jit_error *err);

/* Ends access early: Initiated ports of the VM's port number (from source, or from every
 * source when source is NULL) under the policy become Revoked/UserRequested, with their
 * end time set to now. *n is how many; bumps the VM's enforcement point. */
int jit_store_request_revoke(struct jit_tx *tx, const struct jit_rid *policy,
	const struct jit_rid *vm, uint16_t number, const struct jit_prefix *source, jit_time now,
	size_t *n, struct jit_error *err);

/* A request port that reached its end time. */
struct jit_expired {
	struct jit_rid vm;
	struct jit_rid policy;
	uint16_t number;
	char sources[JIT_PREFIX_BUFSZ * 2];   /* JSON array as stored */
	char requestor[JIT_MAX_REQUESTOR];
	jit_time end;
};

/* Ends (Revoked/UserRequested, end time now) the live access granted under the policy
 * that keep no longer allows: a VM or port no longer in keep, or a source outside the
 * port's new prefixes; keep NULL ends all of it (the policy is being deleted). Returns
 * what ended (*out malloc'd) and bumps the enforcement points concerned. */
int jit_store_policy_end_grants(struct jit_tx *tx, const struct jit_rid *policy,
	const struct jit_policy *keep, jit_time now, struct jit_expired **out, size_t *n,
	struct jit_error *err);

/* Marks Initiated ports whose end time has passed as Revoked/Expired and returns them
 * (*out malloc'd, *n the count). */
int jit_store_expire(struct jit_tx *tx, jit_time now, struct jit_expired **out, size_t *n,
	struct jit_error *err);

/* ---- principals and bearer tokens ---- */

enum jit_principal_kind {
	JIT_PRINCIPAL_USER = 1,
	JIT_PRINCIPAL_SERVICE,     /* service principal */
	JIT_PRINCIPAL_AGENT,       /* an enforcement point's credential */
};

struct jit_principal {
	int64_t id;
	char object_id[JIT_GUID_LEN + 1];   /* the principal's public GUID (Azure's principalId) */
	enum jit_principal_kind kind;
	char name[JIT_MAX_SHORT_STRING];
	char display_name[JIT_MAX_SHORT_STRING];
	jit_time created;
};

#define JIT_TOKEN_HASH_BYTES 32
#define JIT_TOKEN_ID_MAX 33

int jit_store_principal_add(struct jit_tx *tx, struct jit_principal *p,
	struct jit_error *err);
int jit_store_principal_get(struct jit_tx *tx, int64_t id, struct jit_principal *out,
	struct jit_error *err);
/* By object id (GUID) or by name; 404 when neither matches. */
int jit_store_principal_find(struct jit_tx *tx, const char *object_id_or_name,
	struct jit_principal *out, struct jit_error *err);
/* Users and service principals (agents are listed as enforcement points). */
int jit_store_principal_list(struct jit_tx *tx, struct jit_principal **out, size_t *n,
	struct jit_error *err);
/* Deletes a principal with its tokens and role assignments. */
int jit_store_principal_delete(struct jit_tx *tx, int64_t id, struct jit_error *err);

/* A token is stored as its public id and the hash of its secret; expires 0: never. */
int jit_store_token_add(struct jit_tx *tx, int64_t principal_id, const char *name,
	const char *token_id, const uint8_t hash[JIT_TOKEN_HASH_BYTES], jit_time now,
	jit_time expires, struct jit_error *err);
/* Looks a token up by its public id; the caller compares the hash in constant time.
 * *found false when the id is unknown, revoked or expired at now. */
int jit_store_token_find(struct jit_tx *tx, const char *token_id, jit_time now,
	uint8_t hash[JIT_TOKEN_HASH_BYTES], int64_t *principal_id, bool *found,
	struct jit_error *err);
int jit_store_token_touch(struct jit_tx *tx, const char *token_id, jit_time now,
	struct jit_error *err);

struct jit_token_info {
	char id[JIT_TOKEN_ID_MAX];
	char name[JIT_MAX_SHORT_STRING];
	jit_time created, expires, revoked, last_used;   /* 0: never / not */
	char parent[JIT_TOKEN_ID_MAX];  /* the token it was minted with (self-service); "" none */
};

/* One token by its public id (whatever its state); 404 when unknown. */
int jit_store_token_get(struct jit_tx *tx, const char *token_id, struct jit_token_info *out,
	int64_t *principal_id, struct jit_error *err);
/* Records that a client secret was made with the token parent_id (revoked with it). */
int jit_store_secret_set_parent(struct jit_tx *tx, const char *secret_id,
	const char *parent_id, struct jit_error *err);
/* Records that token_id was minted with parent_id: revoking the parent revokes it. */
int jit_store_token_set_parent(struct jit_tx *tx, const char *token_id,
	const char *parent_id, struct jit_error *err);

int jit_store_token_list(struct jit_tx *tx, int64_t principal_id, struct jit_token_info **out,
	size_t *n, struct jit_error *err);
/* Revokes a token of the principal, every token minted with it (recursively) and the
 * client secrets made with those; *found false if it has none by that id. */
int jit_store_token_revoke(struct jit_tx *tx, int64_t principal_id, const char *token_id,
	jit_time now, bool *found, struct jit_error *err);

/* A token's end of life (0: it does not expire). */
int jit_store_token_expiry(struct jit_tx *tx, const char *token_id, jit_time *expires,
	struct jit_error *err);

/* OAuth2 client secrets of a principal: like tokens, but exchanged only at the token
 * endpoint (never a bearer token themselves); they always expire. */
int jit_store_secret_add(struct jit_tx *tx, int64_t principal_id, const char *name,
	const char *secret_id, const uint8_t hash[JIT_TOKEN_HASH_BYTES], jit_time now,
	jit_time expires, struct jit_error *err);
/* *found false when the id is unknown, revoked or expired at now. */
int jit_store_secret_find(struct jit_tx *tx, const char *secret_id, jit_time now,
	uint8_t hash[JIT_TOKEN_HASH_BYTES], int64_t *principal_id, jit_time *expires, bool *found,
	struct jit_error *err);
int jit_store_secret_touch(struct jit_tx *tx, const char *secret_id, jit_time now,
	struct jit_error *err);
int jit_store_secret_list(struct jit_tx *tx, int64_t principal_id,
	struct jit_token_info **out, size_t *n, struct jit_error *err);
int jit_store_secret_revoke(struct jit_tx *tx, int64_t principal_id, const char *secret_id,
	jit_time now, bool *found, struct jit_error *err);

/* Short-lived OAuth2 access tokens, each tied to the credential it was issued for. */
enum jit_access_source {
	JIT_ACCESS_FROM_SECRET = 1,   /* a client secret (source_id: its id) */
	JIT_ACCESS_FROM_TOKEN,        /* a jitgate token (source_id: its id) */
};

/* Saves an access token (and drops the expired ones). */
int jit_store_access_add(struct jit_tx *tx, const char *token_id,
	const uint8_t hash[JIT_TOKEN_HASH_BYTES], int64_t principal_id,
	enum jit_access_source source, const char *source_id, jit_time now, jit_time expires,
	struct jit_error *err);
/* Where an access token came from (the secret's or token's id) and when it ends. */
int jit_store_access_get(struct jit_tx *tx, const char *token_id,
	enum jit_access_source *source, char source_id[JIT_TOKEN_ID_MAX], jit_time *expires,
	struct jit_error *err);
/* *found false when unknown, expired, or its credential is revoked or expired. */
int jit_store_access_find(struct jit_tx *tx, const char *token_id, jit_time now,
	uint8_t hash[JIT_TOKEN_HASH_BYTES], int64_t *principal_id, bool *found,
	struct jit_error *err);

/* ---- console sessions ---- */

/* A browser session opened by signing in with a token; it lives while the token does
 * (revoked or expired, its sessions end) and until its own expiry. Stored as the
 * session's public id and the hash of its secret, like tokens. */
struct jit_session_info {
	int64_t principal_id;
	char token_id[JIT_TOKEN_ID_MAX];
	jit_time created, expires;
};

int jit_store_session_add(struct jit_tx *tx, const char *session_id,
	const uint8_t hash[JIT_TOKEN_HASH_BYTES], const char *token_id, jit_time now,
	jit_time expires, struct jit_error *err);
/* *found false when the id is unknown, the session ended or its token is not valid. */
int jit_store_session_find(struct jit_tx *tx, const char *session_id, jit_time now,
	uint8_t hash[JIT_TOKEN_HASH_BYTES], struct jit_session_info *out, bool *found,
	struct jit_error *err);
int jit_store_session_delete(struct jit_tx *tx, const char *session_id, bool *existed,
	struct jit_error *err);

/* ---- what /metrics reads ---- */

struct jit_store_stats {
	int64_t active_grants;          /* Initiated ports not yet ended at now */
	int64_t audit_entries;          /* the audit chain's length */
	int64_t agents[2][2];           /* enforcement points by [healthy][in sync] */
};

int jit_store_stats(struct jit_tx *tx, jit_time now, struct jit_store_stats *out,
	struct jit_error *err);
/* Reads the schema version: the database answers. */
int jit_store_ping(struct jit_tx *tx, struct jit_error *err);
/* How long transactions were held (begin to commit/rollback), read-only and writing. */
void jit_store_tx_histograms(struct jit_store *st, const struct jit_histogram **read,
	const struct jit_histogram **write);

/* ---- roles and role assignments ---- */

/* Custom role definitions (built-ins live in rbac.c; the service keeps them and their
 * names out of the store). 409 when another role has the name. */
int jit_store_role_put(struct jit_tx *tx, const struct jit_role *r, bool *created,
	struct jit_error *err);
/* A built-in or custom role by GUID. */
int jit_store_role_get(struct jit_tx *tx, const char *id, struct jit_role *out,
	struct jit_error *err);
/* Built-ins first, then custom roles by name. *out is malloc'd. */
int jit_store_role_list(struct jit_tx *tx, struct jit_role **out, size_t *n,
	struct jit_error *err);
/* Refused for roles still assigned (409). Built-ins are not in the store (rbac.c). */
int jit_store_role_delete(struct jit_tx *tx, const char *id, bool *existed,
	struct jit_error *err);

struct jit_role_assignment {
	char id[JIT_GUID_LEN + 1];
	struct jit_rid scope;
	int64_t principal_id;
	char principal_object_id[JIT_GUID_LEN + 1];
	char principal_name[JIT_MAX_SHORT_STRING];
	char role_id[JIT_GUID_LEN + 1];
	jit_time created;
};

/* Creates an assignment (the role and principal must exist: 404); 409 if the id exists
 * with other content or the same binding exists. */
int jit_store_assignment_put(struct jit_tx *tx, const struct jit_role_assignment *a,
	bool *created, struct jit_error *err);
int jit_store_assignment_get(struct jit_tx *tx, const char *id,
	struct jit_role_assignment *out, struct jit_error *err);
int jit_store_assignment_delete(struct jit_tx *tx, const char *id, bool *existed,
	struct jit_error *err);
/* Assignments at or above (inherited by) scope, and below it when below is true;
 * principal_id 0 for every principal. */
int jit_store_assignment_list(struct jit_tx *tx, const struct jit_rid *scope, bool below,
	int64_t principal_id, struct jit_role_assignment **out, size_t *n, struct jit_error *err);

/* What one principal may do: each of its assignments with its role. */
struct jit_permission {
	struct jit_rid scope;
	struct jit_role role;
};

int jit_store_permissions(struct jit_tx *tx, int64_t principal_id,
	struct jit_permission **out, size_t *n, struct jit_error *err);

/* ---- enforcement points and enrollment ---- */

struct jit_enforcement_point {
	struct jit_rid id;                  /* JIT_RID_ENFORCEMENT_POINT */
	enum jit_ep_kind kind;
	int64_t principal_id;               /* the agent's principal */
	uint64_t version;                   /* desired-state version */
	uint64_t applied_version;           /* last reported by the agent */
	jit_time last_seen;                 /* 0: never */
	jit_time created;
	char *status_json;                  /* last status report, NULL if none (caller frees) */
};

/* An enrollment token (hash of its secret) for resource group rg, one use. */
int jit_store_enrollment_add(struct jit_tx *tx, const char *token_id,
	const uint8_t hash[JIT_TOKEN_HASH_BYTES], const struct jit_rid *rg, jit_time now,
	jit_time expires, int64_t created_by, struct jit_error *err);
/* Finds an unused, unexpired enrollment token; *found false otherwise. */
int jit_store_enrollment_find(struct jit_tx *tx, const char *token_id, jit_time now,
	uint8_t hash[JIT_TOKEN_HASH_BYTES], struct jit_rid *rg, bool *found,
	struct jit_error *err);
int jit_store_enrollment_use(struct jit_tx *tx, const char *token_id, jit_time now,
	struct jit_error *err);

/* Creates an enforcement point (409 if the id exists). */
int jit_store_ep_add(struct jit_tx *tx, const struct jit_enforcement_point *ep,
	struct jit_error *err);
int jit_store_ep_get(struct jit_tx *tx, const struct jit_rid *id,
	struct jit_enforcement_point *out, struct jit_error *err);
int jit_store_ep_by_principal(struct jit_tx *tx, int64_t principal_id,
	struct jit_enforcement_point *out, bool *found, struct jit_error *err);
int jit_store_ep_list(struct jit_tx *tx, const struct jit_rid *scope,
	struct jit_enforcement_point **out, size_t *n, struct jit_error *err);
void jit_enforcement_point_clear(struct jit_enforcement_point *ep);
void jit_enforcement_points_free(struct jit_enforcement_point *eps, size_t n);
/* Deletes an enforcement point: its agent's credential is revoked and its VMs are left
 * without one (Unsupported until another protects them). The table it installed stays
 * on its machine until the agent is uninstalled (jitgate-agent --uninstall). */
int jit_store_ep_delete(struct jit_tx *tx, const struct jit_rid *id, jit_time now,
	bool *existed, struct jit_error *err);
/* Records a status report (applied version, status JSON) and the time heard from. */
int jit_store_ep_report(struct jit_tx *tx, const struct jit_rid *id, uint64_t applied,
	const char *status_json, jit_time now, struct jit_error *err);
/* The desired state of one enforcement point at now. */
int jit_store_ep_desired_state(struct jit_tx *tx, const struct jit_rid *id, jit_time now,
	struct jit_desired_state **out, struct jit_error *err);

/* Gates a periodic job (the expiry sweep, ...) in a write transaction: *run false when
 * another replica runs it now (a transaction-scoped advisory lock on PostgreSQL, held
 * until this transaction ends), or when it last ran less than every_ns ago. */
int jit_store_job_claim(struct jit_tx *tx, const char *job, jit_time now, jit_time every_ns,
	bool *run, struct jit_error *err);

/* A counter bumped by every commit that changed some desired state (on any replica of a
 * shared store: they notify each other), so that
 * waiting long polls know to look again. */
uint64_t jit_store_generation(struct jit_store *st);
/* Waits until the generation differs from seen or timeout_ms passes; returns
 * the generation. Any thread may wait; commits wake all waiters at once. */
uint64_t jit_store_wait_change(struct jit_store *st, uint64_t seen, int timeout_ms);
/* The same for status reports: a counter bumped by every commit that recorded one
 * (jit_store_ep_report), for waits on an applied version (GET VM ?appliedVersion=).
 * Kept apart so that agents' long polls do not wake on every report. */
uint64_t jit_store_report_generation(struct jit_store *st);
uint64_t jit_store_wait_report(struct jit_store *st, uint64_t seen, int timeout_ms);
/* Waits until either counter differs from what was seen (*gen, *report) or timeout_ms
 * passes, and stores both counters' values there (jitgated's one waker thread, which
 * resumes every parked long poll). */
void jit_store_wait_any(struct jit_store *st, uint64_t *gen, uint64_t *report, int timeout_ms);
/* Wakes every waiter (used at shutdown). */
void jit_store_wake_all(struct jit_store *st);

/* ---- audit ---- */

/* One entry of the append-only audit log. Entries form a chain: each carries a keyed
 * BLAKE2b-256 MAC of the previous entry's and its own content, seq included, under the
 * audit key (audit_key.h, never in the database), so altering, deleting, reordering or
 * re-chaining a row is detected by jit_store_audit_verify. Committed entries are also
 * written to the operator log (syslog/journald) with their hash. */
struct jit_audit_entry {
	jit_time time;
	int64_t principal_id;           /* 0: anonymous */
	const char *principal_name;     /* may be NULL */
	const char *caller;             /* caller address, may be NULL */
	const char *operation;          /* e.g. "Microsoft.Security/locations/jitNetworkAccessPolicies/write" */
	const char *resource_id;
	const char *result;             /* "Succeeded" / "Failed" */
	int status;                     /* HTTP status */
	const char *correlation_id;     /* may be NULL */
	const char *details_json;       /* may be NULL */
	const struct jit_rid *vms;      /* the VMs the entry concerns (for per-VM queries) */
	size_t n_vms;
};

int jit_store_audit_append(struct jit_tx *tx, const struct jit_audit_entry *e,
	struct jit_error *err);

/* The keys entries are MACed and verified with (kept by the caller, which must outlive
 * the store); set once after jit_store_open, before the first entry. NULL: unkeyed. */
void jit_store_set_audit_keys(struct jit_store *st, const struct jit_audit_keyring *kr);

/* The chain's head: the last entry's seq (0 when empty) and hash. */
int jit_store_audit_head(struct jit_tx *tx, int64_t *seq, char hash[JIT_AUDIT_HASH_HEX],
	struct jit_error *err);

struct jit_audit_row {
	int64_t seq;
	jit_time time;
	int64_t principal_id;
	char *principal_name, *caller, *operation, *resource_id, *result, *correlation_id;
	char *details_json;
	char *vms_json;                 /* JSON array of the VM IDs concerned, or NULL */
	int status;
	char hash[JIT_AUDIT_HASH_HEX];
};

struct jit_audit_filter {
	const struct jit_rid *scope;    /* entries about resources inside it; NULL or root: all */
	const struct jit_rid *vm;       /* entries concerning this VM, or NULL */
	const char *principal;          /* principal name (case-insensitive), or NULL */
	const char *operation;          /* operation, '*' wildcards allowed, or NULL */
	jit_time since, until;          /* 0: unbounded */
	int64_t before_seq;             /* paging: entries older than this seq; 0: newest */
	size_t limit;                   /* at most this many (newest first) */
};

int jit_store_audit_query(struct jit_tx *tx, const struct jit_audit_filter *f,
	struct jit_audit_row **out, size_t *n, struct jit_error *err);
void jit_audit_rows_free(struct jit_audit_row *rows, size_t n);
/* Frees what one row owns (the row itself is the caller's). */
void jit_audit_row_clear(struct jit_audit_row *r);

/* Walks the whole chain through audit_chain.h's verifier, with the store's audit keys;
 * the verdict names the first broken entry. With checkpoint_seq > 0 entry checkpoint_seq
 * must also have hash checkpoint_head (jit_audit_verify_checkpoint). */
int jit_store_audit_verify(struct jit_tx *tx, int64_t checkpoint_seq,
	const char *checkpoint_head, struct jit_audit_verdict *out, struct jit_error *err);

/* ---- JIT settings (a security policy that can disable JIT) ---- */

struct jit_settings {
	struct jit_rid scope;           /* subscription or resource group */
	bool enabled;
	char reason[JIT_MAX_SHORT_STRING * 2];
	jit_time updated;
};

int jit_store_settings_put(struct jit_tx *tx, const struct jit_settings *s,
	struct jit_error *err);
/* The settings stored at exactly scope; enabled with no reason when none are. */
int jit_store_settings_get(struct jit_tx *tx, const struct jit_rid *scope,
	struct jit_settings *out, struct jit_error *err);
/* Whether JIT is disabled for a resource (by its subscription's or group's settings);
 * *by names the scope and reason when it is. */
int jit_store_jit_disabled(struct jit_tx *tx, const struct jit_rid *res, bool *disabled,
	struct jit_settings *by, struct jit_error *err);

/* ---- what a VM's JIT state follows from, and its statistics (the portal's view) ---- */

/* The store fills the facts and statistics; the state and reason are decided from the
 * facts by vm_state.h (jit_vm_state_decide), in the service. */
struct jit_vm_jit {
	enum jit_vm_state state;        /* decided by the caller */
	char reason[JIT_VM_REASON_MAX]; /* decided by the caller: why Unsupported */
	bool in_policy;
	struct jit_rid policy;
	bool jit_disabled;              /* a security policy disabled JIT where the VM is */
	struct jit_settings disabled_by;
	int64_t approved_last_7_days;   /* requests for this VM started in the last 7 days */
	jit_time last_access;           /* 0: never */
	char last_user[JIT_MAX_REQUESTOR];
	bool has_ep;
	bool ep_can_enforce;            /* its last report did not say it cannot */
	bool ep_healthy;                /* decided by the caller (jit_ep_healthy) */
	jit_time ep_last_seen;
	uint64_t ep_version, ep_applied;    /* desired and applied state versions */
	size_t n_ports;
	uint16_t ports[JIT_MAX_PORTS_PER_VM];
	uint16_t mapped_ports[JIT_MAX_PORTS_PER_VM];   /* 0: none */
};

int jit_store_vm_jit(struct jit_tx *tx, const struct jit_vm *vm, jit_time now,
	struct jit_vm_jit *out, struct jit_error *err);

#endif
