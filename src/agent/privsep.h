/*
 * privsep.h: jitgate-agent as two processes (OpenBSD ntpd / OpenSSH style).
 *
 * jit_privsep_start forks. The parent becomes the enforcer: it keeps CAP_NET_ADMIN and
 * nothing else, installs its seccomp filter, and from then on only reads fixed-layout
 * records (privsep_msg.h) from a socketpair, checks every one again, applies them to
 * table inet jitgate with libnftables and answers; it never sees JSON, TLS, a file of
 * the state dir or a byte from the network. The child returns from jit_privsep_start
 * as the network process: no capabilities at all, its own seccomp filter, and as a
 * non-root user when the agent was started as root (--user); it does everything else
 * (enrollment, long polls, JSON, the state dir, reports) and asks the enforcer through
 * the functions below. A compromised network process can therefore change nothing but
 * jitgate's own table, and that only in the shapes the table has.
 *
 * Lifetimes: the enforcer exits when the network process does (with its exit status),
 * and passes SIGTERM/SIGINT on to it; the network process gets SIGTERM when the
 * enforcer dies. Either way the table stays: enforcement outlives the agent.
 */
#ifndef JIT_AGENT_PRIVSEP_H
#define JIT_AGENT_PRIVSEP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "desired_state.h"
#include "error.h"
#include "plan.h"
#include "privs.h"

struct jit_privsep_config {
	bool change_user;                 /* started as root: both processes become user */
	struct jit_run_user user;
	volatile sig_atomic_t *stop;      /* set by the agent's SIGTERM/SIGINT handler */
	void *wipe;                       /* a secret of the start-up (the enrollment */
	size_t wipe_len;                  /* token): the enforcer wipes its copy */
	int close_fd;                     /* the enforcer closes its copy (the state dir), */
};                                    /* -1: none */

/* The network process's end of the socketpair. */
struct jit_privsep;

/* Forks. In the child (the network process, sandboxed) returns 0 with *out. The
 * parent never returns: it runs the enforcer and exits. -1 when the split failed in
 * the calling process (nothing forked, or the child could not sandbox itself: the
 * child then exits and the parent reports it). */
int jit_privsep_start(const struct jit_privsep_config *cfg, struct jit_privsep **out,
	struct jit_error *err);
void jit_privsep_free(struct jit_privsep *ps);

/* What the network process's sandbox is, for its log line. */
struct jit_privsep_info {
	unsigned uid;
	int enforcer_pid;
};
void jit_privsep_info(const struct jit_privsep *ps, struct jit_privsep_info *out);

/* jit_enforcer_probe, in the enforcer. */
int jit_privsep_probe(struct jit_privsep *ps, enum jit_ep_kind kind, struct jit_error *err);
/* jit_enforcer_commit, in the enforcer: ops as one transaction (rebuild: a new table
 * of kind's layout holding exactly ops, all adds). */
int jit_privsep_commit(struct jit_privsep *ps, enum jit_ep_kind kind, bool rebuild,
	const struct jit_nft_op *ops, size_t n, struct jit_error *err);

/* jit_enforcer_read, in the enforcer; *out is cleared with jit_enforcer_view_clear. */
struct jit_enforcer_view;
int jit_privsep_read(struct jit_privsep *ps, enum jit_ep_kind kind, bool elements,
	struct jit_enforcer_view *out, struct jit_error *err);

/* Ruleset events (nlmon.h) are watched by the enforcer, which holds CAP_NET_ADMIN;
 * this fd becomes readable when it saw a change by another process to the table (or
 * lost events), for poll(). jit_privsep_changed drains it: true when it had news. */
int jit_privsep_event_fd(const struct jit_privsep *ps);
bool jit_privsep_changed(struct jit_privsep *ps);

/* The enforcer's side on fd, for tests that play a compromised network process:
 * serves requests until fd reaches EOF, with e an open enforcer. */
struct jit_enforcer;
int jit_privsep_serve(int fd, struct jit_enforcer *e, volatile sig_atomic_t *stop);


#endif
