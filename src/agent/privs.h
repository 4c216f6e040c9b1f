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

#include "error.h"

struct jit_privs {
	bool net_admin;       /* CAP_NET_ADMIN was permitted, and is kept */
	bool bounding_left;   /* other capabilities stay in the bounding set (no CAP_SETPCAP) */
};

/* Drops every capability but CAP_NET_ADMIN; fails (500) if the kernel refuses, and
 * then the agent must not run. */
int jit_privs_drop(struct jit_privs *out, struct jit_error *err);

#endif
