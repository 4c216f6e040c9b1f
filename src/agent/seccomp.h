/*
 * seccomp.h: the system-call filters of jitgate-agent's two processes.
 *
 * Each process installs its filter once, after dropping its privileges and before it
 * reads anything it did not write itself; filters cannot be removed, and children and
 * execs would inherit them (both are refused anyway). The filters refuse (EPERM) what
 * neither process ever needs and what an attacker who took it over would want next:
 * exec, ptrace and reading other processes' memory, signals to other processes (the
 * network process), uid/gid and capability changes, namespaces and mounts, kernel
 * modules, kexec, reboot, swap, BPF, perf, userfaultfd, io_uring, keyrings, the clock
 * and host name, and sockets of any family but the ones each needs: the network
 * process IP, Unix (syslog) and route netlink (its own addresses); the enforcer
 * netfilter and route netlink (libnftables reads interfaces) and Unix. Other netlink
 * protocols (audit, xfrm, generic...) are refused to both. Calls for another architecture (x32, i386) are refused.
 */
#ifndef JIT_AGENT_SECCOMP_H
#define JIT_AGENT_SECCOMP_H

#include "error.h"

/* LeakSanitizer stops the world with ptrace from a helper process at exit: in sanitizer
 * builds (tests only) the filters allow ptrace and both processes stay dumpable, or every
 * exit would be a sanitizer failure. Release builds have neither. */
#if defined(__SANITIZE_ADDRESS__)
#define JIT_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JIT_SANITIZED 1
#endif
#endif
#ifndef JIT_SANITIZED
#define JIT_SANITIZED 0
#endif

enum jit_seccomp_role {
	JIT_SECCOMP_NETWORK,    /* TLS, JSON, state dir: no privilege at all */
	JIT_SECCOMP_ENFORCER,   /* CAP_NET_ADMIN, nftables over netlink, records in */
};

/* Installs role's filter (needs no_new_privs, which privs.h sets). 500 on failure. */
int jit_seccomp_install(enum jit_seccomp_role role, struct jit_error *err);

#endif
