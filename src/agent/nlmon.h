/*
 * nlmon.h: learns that someone else changed table inet jitgate, from the kernel's
 * nftables ruleset events (a NETLINK_NETFILTER socket in group NFNLGRP_NFTABLES).
 *
 * It only says "look again": every commit ends with a NEWGEN message naming the
 * process that made it, so a batch that touched our table and came from another
 * process is reported; our own commits are not. Lost events (the socket's buffer ran
 * over) are reported too. The agent then reads the table and repairs what differs.
 */
#ifndef JIT_NLMON_H
#define JIT_NLMON_H

#include <stdbool.h>

#include "error.h"

struct jit_nlmon;

/* Subscribes to ruleset events (needs CAP_NET_ADMIN in this network namespace). */
int jit_nlmon_open(struct jit_nlmon **out, struct jit_error *err);
void jit_nlmon_free(struct jit_nlmon *m);

/* The socket, for poll(). */
int jit_nlmon_fd(const struct jit_nlmon *m);

/* Reads every pending event without blocking; true when a commit by another process
 * touched table inet jitgate since the last call, or events were lost. */
bool jit_nlmon_changed(struct jit_nlmon *m);

#endif
