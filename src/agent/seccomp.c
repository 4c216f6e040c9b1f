/*
 * seccomp.c: the agent's filters as classic BPF (seccomp.h), without libseccomp.
 *
 * A filter is a list: check the architecture (anything but the native one is killed,
 * since its numbers mean other calls), refuse the x32 range, then compare the call
 * number with each refused call (EPERM); socket() and clone() look at their first
 * argument (family; namespace flags); clone3 answers ENOSYS so that the C library
 * falls back to clone, whose flags we can see. Everything else is allowed: the
 * processes already hold no privilege beyond the enforcer's CAP_NET_ADMIN, and a deny
 * list cannot break libcurl, GnuTLS or libnftables in a path the tests do not take.
 */
#include "seccomp.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#define X32_BIT 0x40000000u
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#endif

#define MAX_INSNS 256

/* Refused in both processes. */
static const int refused_both[] = {
	__NR_execve, __NR_execveat, __NR_process_vm_readv, __NR_process_vm_writev,
	__NR_kcmp, __NR_pidfd_getfd,
	__NR_setuid, __NR_setgid, __NR_setreuid, __NR_setregid, __NR_setresuid, __NR_setresgid,
	__NR_setgroups, __NR_setfsuid, __NR_setfsgid, __NR_capset,
	__NR_mount, __NR_umount2, __NR_pivot_root, __NR_chroot, __NR_unshare, __NR_setns,
	__NR_move_mount, __NR_open_tree, __NR_fsopen, __NR_fsmount, __NR_fsconfig, __NR_fspick,
	__NR_mount_setattr, __NR_mknodat,
	__NR_init_module, __NR_finit_module, __NR_delete_module, __NR_kexec_load,
	__NR_kexec_file_load, __NR_reboot, __NR_swapon, __NR_swapoff, __NR_acct, __NR_quotactl,
	__NR_bpf, __NR_perf_event_open, __NR_userfaultfd, __NR_io_uring_setup,
	__NR_io_uring_enter, __NR_io_uring_register, __NR_keyctl, __NR_add_key, __NR_request_key,
	__NR_settimeofday, __NR_clock_settime, __NR_clock_adjtime, __NR_adjtimex,
	__NR_sethostname, __NR_setdomainname, __NR_personality, __NR_open_by_handle_at,
	__NR_name_to_handle_at, __NR_fanotify_init, __NR_vhangup, __NR_syslog,
	__NR_process_madvise, __NR_memfd_create,
#ifdef __NR_mknod
	__NR_mknod,
#endif
#ifdef __NR_uselib
	__NR_uselib,
#endif
#ifdef __NR_iopl
	__NR_iopl, __NR_ioperm,
#endif
#ifdef __NR_modify_ldt
	__NR_modify_ldt,
#endif
#ifdef __NR_kexec_file_load
#endif
};

/* Refused in the network process only: the enforcer signals its child on SIGTERM. */
static const int refused_network[] = {
	__NR_kill, __NR_rt_sigqueueinfo, __NR_rt_tgsigqueueinfo, __NR_pidfd_open,
	__NR_pidfd_send_signal,
};

#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | \
	CLONE_NEWIPC | CLONE_NEWCGROUP)

struct prog {
	struct sock_filter v[MAX_INSNS];
	unsigned short n;
	int overflow;
};

static void
emit(struct prog *p, struct sock_filter f)
{
	if (p->n == MAX_INSNS) {
		p->overflow = 1;
		return;
	}
	p->v[p->n++] = f;
}

#define LOAD(field) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define DENY(e) RET(SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))

/* if (nr == call) return EPERM */
static void
refuse(struct prog *p, int call)
{
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)call, 0, 1));
	emit(p, (struct sock_filter)DENY(EPERM));
}

/* socket(family, type, protocol): allowed families only; netlink of the protocols each
 * needs: route (addresses; libnftables reads interfaces through it too) and, for the
 * enforcer, netfilter. */
static void
socket_rule(struct prog *p, enum jit_seccomp_role role)
{
	/* if (nr != socket) skip the block */
	unsigned short start = p->n;

	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 0));
	emit(p, (struct sock_filter)LOAD(args[0]));
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 0, 1));
	emit(p, (struct sock_filter)RET(SECCOMP_RET_ALLOW));
	if (role == JIT_SECCOMP_NETWORK) {
		emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET, 0, 1));
		emit(p, (struct sock_filter)RET(SECCOMP_RET_ALLOW));
		emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, 0, 1));
		emit(p, (struct sock_filter)RET(SECCOMP_RET_ALLOW));
	}
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_NETLINK, 1, 0));
	emit(p, (struct sock_filter)DENY(EAFNOSUPPORT));
	emit(p, (struct sock_filter)LOAD(args[2]));
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NETLINK_ROUTE, 0, 1));
	emit(p, (struct sock_filter)RET(SECCOMP_RET_ALLOW));
	if (role == JIT_SECCOMP_ENFORCER) {
		emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NETLINK_NETFILTER,
			0, 1));
		emit(p, (struct sock_filter)RET(SECCOMP_RET_ALLOW));
	}
	emit(p, (struct sock_filter)DENY(EPROTONOSUPPORT));
	/* The first jump's false branch skips to here. */
	p->v[start].jf = (unsigned char)(p->n - start - 1);
}

/* clone(flags, ...): no new namespaces. clone3 hides its flags in memory: ENOSYS. */
static void
clone_rule(struct prog *p)
{
	unsigned short start = p->n;

	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 0));
	emit(p, (struct sock_filter)LOAD(args[0]));
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, NS_FLAGS, 0, 1));
	emit(p, (struct sock_filter)DENY(EPERM));
	emit(p, (struct sock_filter)RET(SECCOMP_RET_ALLOW));
	p->v[start].jf = (unsigned char)(p->n - start - 1);
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1));
	emit(p, (struct sock_filter)DENY(ENOSYS));
}

int
jit_seccomp_install(enum jit_seccomp_role role, struct jit_error *err)
{
#ifndef NATIVE_ARCH
	(void)role;
	return jit_errorf(err, 500, JIT_E_INTERNAL,
		"no seccomp filter for this architecture; the agent will not run without one");
#else
	static struct prog p;
	struct sock_fprog fp;

	memset(&p, 0, sizeof(p));
	emit(&p, (struct sock_filter)LOAD(arch));
	emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0));
	emit(&p, (struct sock_filter)RET(SECCOMP_RET_KILL_PROCESS));
	emit(&p, (struct sock_filter)LOAD(nr));
#ifdef X32_BIT
	emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_BIT, 0, 1));
	emit(&p, (struct sock_filter)DENY(EPERM));
#endif
	for (size_t i = 0; i < sizeof(refused_both) / sizeof(refused_both[0]); i++)
		refuse(&p, refused_both[i]);
	if (!JIT_SANITIZED)
		refuse(&p, __NR_ptrace);
	if (role == JIT_SECCOMP_NETWORK)
		for (size_t i = 0; i < sizeof(refused_network) / sizeof(refused_network[0]); i++)
			refuse(&p, refused_network[i]);
	clone_rule(&p);
	/* The socket rule loads args[]: it goes last, after every check of nr. */
	socket_rule(&p, role);
	emit(&p, (struct sock_filter)RET(SECCOMP_RET_ALLOW));
	if (p.overflow)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "seccomp filter too long");
	fp.len = p.n;
	fp.filter = p.v;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp, 0, 0) != 0)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "cannot install the seccomp filter: %s",
			strerror(errno));
	return 0;
#endif
}
