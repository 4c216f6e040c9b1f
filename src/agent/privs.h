/*
 * privs.h: jitgate-agent keeps CAP_NET_ADMIN and nothing else.
 *
 * The agent parses bytes from the network (the desired state) and only needs to
 * change nftables, so right after start it gives up every other capability, for
 * good: the bounding set loses all but CAP_NET_ADMIN (when CAP_SETPCAP allows;
 * under systemd the unit's CapabilityBoundingSet already did it), the ambient and
 * inheritable sets are emptied, permitted and effective become CAP_NET_ADMIN alone,
 * and PR_SET_NO_NEW_PRIVS stops any exec from gaining more. Raw capget/capset with
 * <linux/capability.h>: no libcap.
 */
#ifndef JIT_AGENT_PRIVS_H
#define JIT_AGENT_PRIVS_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

struct jit_privs {
	bool net_admin;       /* CAP_NET_ADMIN was permitted, and is kept */
	bool bounding_left;   /* other capabilities stay in the bounding set (no CAP_SETPCAP) */
};

/* Drops every capability but CAP_NET_ADMIN; fails (500) if the kernel refuses, and
 * then the agent must not run. */
int jit_privs_drop(struct jit_privs *out, struct jit_error *err);

/* The same, keeping nothing at all (the agent's network process): permitted,
 * effective, inheritable and ambient sets empty, the bounding set too when CAP_SETPCAP
 * allows, no_new_privs. */
int jit_privs_drop_all(struct jit_privs *out, struct jit_error *err);

/* The user the agent's processes run as when started as root. */
struct jit_run_user {
	uid_t uid;
	gid_t gid;
};

/* Looks name up in the user database; 400 when there is no such user or it is root. */
int jit_privs_lookup_user(const char *name, struct jit_run_user *out, struct jit_error *err);

/* As root: becomes u (groups, real, effective and saved ids), keeping the permitted
 * capabilities and making them effective again, so that jit_privs_drop or
 * jit_privs_drop_all can then choose what stays. The kernel's answer is checked. */
int jit_privs_become(const struct jit_run_user *u, struct jit_error *err);

#endif
