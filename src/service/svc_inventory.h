/*
 * svc_inventory.h: the inventory as a service: subscriptions, resource groups
 * and virtual machines (with each VM's JIT state and statistics). Every call is
 * one transaction; changes write their audit entry in it, refusals are audited
 * on their own. Lists hold only what the actor may see.
 */
#ifndef JIT_SVC_INVENTORY_H
#define JIT_SVC_INVENTORY_H

#include <stdatomic.h>
#include <stdint.h>

#include "service.h"
#include "vm.h"

#define JIT_OP_SUB_READ "Microsoft.Resources/subscriptions/read"
#define JIT_OP_SUB_WRITE "Microsoft.Resources/subscriptions/write"
#define JIT_OP_RG_READ "Microsoft.Resources/subscriptions/resourceGroups/read"
#define JIT_OP_RG_WRITE "Microsoft.Resources/subscriptions/resourceGroups/write"
#define JIT_OP_RG_DELETE "Microsoft.Resources/subscriptions/resourceGroups/delete"
#define JIT_OP_VM_READ "Microsoft.Compute/virtualMachines/read"
#define JIT_OP_VM_WRITE "Microsoft.Compute/virtualMachines/write"
#define JIT_OP_VM_DELETE "Microsoft.Compute/virtualMachines/delete"

/* Subscriptions the actor holds some role in or above; *out malloc'd (free()). */
int jit_svc_sub_list(struct jit_store *st, const struct jit_actor *a,
	struct jit_subscription **out, size_t *n, struct jit_error *err);
int jit_svc_sub_get(struct jit_store *st, const struct jit_actor *a, const char *name,
	struct jit_subscription *out, struct jit_error *err);
/* Creates or renames; *out is the stored subscription. */
int jit_svc_sub_put(struct jit_store *st, const struct jit_actor *a,
	const struct jit_subscription *in, struct jit_subscription *out, bool *created,
	struct jit_error *err);

/* Groups of a subscription the actor may read or sees; *out malloc'd. */
int jit_svc_rg_list(struct jit_store *st, const struct jit_actor *a, const char *sub,
	struct jit_resource_group **out, size_t *n, struct jit_error *err);
int jit_svc_rg_get(struct jit_store *st, const struct jit_actor *a, const struct jit_rid *id,
	struct jit_resource_group *out, struct jit_error *err);
int jit_svc_rg_put(struct jit_store *st, const struct jit_actor *a,
	const struct jit_resource_group *in, struct jit_resource_group *out, bool *created,
	struct jit_error *err);
/* *existed false (nothing written, nothing audited) when there was no such group. */
int jit_svc_rg_delete(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *id, bool *existed, struct jit_error *err);

/* A VM with its JIT state and statistics as of the actor's now. */
struct jit_vm_view {
	struct jit_vm vm;
	struct jit_vm_jit jit;
};

/* VMs inside scope (subscription or group, which must exist) the actor may read, only
 * those in state when state is not 0; *out malloc'd. */
int jit_svc_vm_list(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *scope, enum jit_vm_state state, struct jit_vm_view **out,
	size_t *n, struct jit_error *err);
int jit_svc_vm_get(struct jit_store *st, const struct jit_actor *a, const struct jit_rid *id,
	struct jit_vm_view *out, struct jit_error *err);
/* jit_svc_vm_get once the VM's enforcement point has applied desired-state version want
 * or later, or at deadline (or when stopping is set): each agent report wakes it. */
int jit_svc_vm_get_applied(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *id, uint64_t want, jit_time deadline, const atomic_int *stopping,
	struct jit_vm_view *out, struct jit_error *err);
/* Creates or replaces in (in->id set); *out as stored. */
int jit_svc_vm_put(struct jit_store *st, const struct jit_actor *a, const struct jit_vm *in,
	struct jit_vm_view *out, bool *created, struct jit_error *err);
int jit_svc_vm_delete(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *id, bool *existed, struct jit_error *err);

#define JIT_OP_SETTINGS_READ "Microsoft.Security/jitSettings/read"
#define JIT_OP_SETTINGS_WRITE "Microsoft.Security/jitSettings/write"

/* The JIT settings stored at exactly scope (a subscription or group; enabled with no
 * reason when none are). */
int jit_svc_settings_get(struct jit_store *st, const struct jit_actor *a,
	const struct jit_rid *scope, struct jit_settings *out, struct jit_error *err);
/* Stores in (a security policy that can disable JIT at its scope), audited. */
int jit_svc_settings_put(struct jit_store *st, const struct jit_actor *a,
	const struct jit_settings *in, struct jit_error *err);

#endif
