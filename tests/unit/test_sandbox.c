/*
 * test_sandbox.c: what the agent's network process and enforcer become, for real, in
 * forked children: jit_privs_become (root to nobody, keeping the permitted set),
 * jit_privs_drop_all (nothing left), and each role's seccomp filter, checked by doing
 * what it must refuse (exec, ptrace, signals to others, uid changes, namespaces,
 * foreign socket families, netlink of the other protocol) and what it must allow
 * (threads, the sockets the role needs), and by /proc/self/status (Seccomp: 2).
 * The root-only cases skip with a message as another user.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privs.h"
#include "seccomp.h"

#define NOBODY 65534

struct verdict {
	char why[512];
};

static bool
check(struct verdict *v, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool
check(struct verdict *v, bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok || v->why[0] != '\0')
		return ok;
	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
	return false;
}

static void
in_child(void (*fn)(struct verdict *))
{
	struct verdict v;
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		memset(&v, 0, sizeof(v));
		fn(&v);
		n = write(fds[1], v.why, strlen(v.why));
		_exit(n < 0 || v.why[0] != '\0' ? 1 : 0);
	}
	close(fds[1]);
	memset(&v, 0, sizeof(v));
	n = read(fds[0], v.why, sizeof(v.why) - 1);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (n > 0)
		fail_msg("%s", v.why);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A field of /proc/self/status as a number (base 16 for Cap*). */
static long long
status_field(const char *name, int base)
{
	char line[256];
	size_t n = strlen(name);
	long long v = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, name, n) == 0 && line[n] == ':')
			v = strtoll(line + n + 1, NULL, base);
	fclose(f);
	return v;
}

/* errno of a call that must fail, or 0 when it succeeded. */
#define FAILS_WITH(call) ((call) < 0 ? errno : 0)

static int
sock_errno(int family, int type, int proto)
{
	int fd = socket(family, type | SOCK_CLOEXEC, proto);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static void *
thread_fn(void *arg)
{
	return arg;
}

static void
common_refusals(struct verdict *v)
{
	char *const argv[] = { (char *)"/bin/true", NULL };
	pthread_t t;
	void *ret = NULL;

	check(v, status_field("Seccomp", 10) == 2, "Seccomp %lld, want 2",
		status_field("Seccomp", 10));
	check(v, FAILS_WITH(execve("/bin/true", argv, NULL)) == EPERM, "execve not refused");
	if (!JIT_SANITIZED)
		check(v, FAILS_WITH(ptrace(PTRACE_TRACEME, 0, NULL, NULL)) == EPERM,
			"ptrace not refused");
	check(v, FAILS_WITH(setuid(getuid())) == EPERM, "setuid not refused");
	check(v, FAILS_WITH(unshare(CLONE_NEWNET)) == EPERM, "unshare not refused");
	check(v, FAILS_WITH(unshare(CLONE_NEWUSER)) == EPERM, "unshare(user) not refused");
	check(v, FAILS_WITH(chroot("/")) == EPERM, "chroot not refused");
	check(v, sock_errno(AF_PACKET, SOCK_RAW, 0) == EAFNOSUPPORT, "AF_PACKET not refused");
	check(v, sock_errno(AF_UNIX, SOCK_DGRAM, 0) == 0, "AF_UNIX refused");
	/* Threads still start: clone3 says ENOSYS and the C library falls back to clone. */
	check(v, pthread_create(&t, NULL, thread_fn, (void *)v) == 0 &&
		pthread_join(t, &ret) == 0 && ret == v, "a thread could not start");
}

static void
network_child(struct verdict *v)
{
	struct jit_run_user nobody = { NOBODY, NOBODY };
	struct jit_privs p;
	struct jit_error err;

	if (geteuid() == 0 && !check(v, jit_privs_become(&nobody, &err) == 0, "become: %s",
		err.message))
		return;
	if (!check(v, jit_privs_drop_all(&p, &err) == 0, "drop_all: %s", err.message) ||
		!check(v, jit_seccomp_install(JIT_SECCOMP_NETWORK, &err) == 0, "install: %s",
		err.message))
		return;
	check(v, !p.net_admin, "net_admin kept");
	check(v, status_field("CapEff", 16) == 0 && status_field("CapPrm", 16) == 0 &&
		status_field("CapInh", 16) == 0 && status_field("CapAmb", 16) == 0,
		"capabilities left: CapEff %llx CapPrm %llx", status_field("CapEff", 16),
		status_field("CapPrm", 16));
	check(v, status_field("NoNewPrivs", 10) == 1, "NoNewPrivs not 1");
	if (geteuid() == NOBODY)
		check(v, status_field("CapBnd", 16) == 0, "CapBnd %llx, want 0",
			status_field("CapBnd", 16));
	common_refusals(v);
	check(v, FAILS_WITH(kill(getppid(), 0)) == EPERM, "kill not refused");
	check(v, sock_errno(AF_INET, SOCK_STREAM, 0) == 0, "AF_INET refused");
	check(v, sock_errno(AF_INET6, SOCK_DGRAM, 0) == 0, "AF_INET6 refused");
	check(v, sock_errno(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE) == 0, "route netlink refused");
	check(v, sock_errno(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER) == EPROTONOSUPPORT,
		"netfilter netlink not refused");
	check(v, sock_errno(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT) == EPROTONOSUPPORT,
		"audit netlink not refused");
}

static void
enforcer_child(struct verdict *v)
{
	struct jit_run_user nobody = { NOBODY, NOBODY };
	struct jit_privs p;
	struct jit_error err;

	if (!check(v, jit_privs_become(&nobody, &err) == 0, "become: %s", err.message) ||
		!check(v, getuid() == NOBODY && geteuid() == NOBODY && getgid() == NOBODY,
		"uid %u gid %u", (unsigned)getuid(), (unsigned)getgid()) ||
		!check(v, jit_privs_drop(&p, &err) == 0, "drop: %s", err.message) ||
		!check(v, jit_seccomp_install(JIT_SECCOMP_ENFORCER, &err) == 0, "install: %s",
		err.message))
		return;
	/* The permitted set survived the change of uid, so CAP_NET_ADMIN is still there. */
	check(v, p.net_admin, "CAP_NET_ADMIN lost with the uid");
	check(v, status_field("CapEff", 16) == (1LL << 12), "CapEff %llx, want 1000",
		status_field("CapEff", 16));
	common_refusals(v);
	check(v, sock_errno(AF_INET, SOCK_STREAM, 0) == EAFNOSUPPORT, "AF_INET not refused");
	check(v, sock_errno(AF_INET6, SOCK_DGRAM, 0) == EAFNOSUPPORT, "AF_INET6 not refused");
	check(v, sock_errno(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER) == 0,
		"netfilter netlink refused");
	check(v, sock_errno(AF_NETLINK, SOCK_RAW, NETLINK_XFRM) == EPROTONOSUPPORT,
		"xfrm netlink not refused");
	check(v, kill(getpid(), 0) == 0, "kill refused (the enforcer signals its child)");
}

static void
test_network_process(void **state)
{
	in_child(network_child);
}

static void
test_enforcer_process(void **state)
{
	if (geteuid() != 0)
		skip();  /* becoming another user with CAP_NET_ADMIN kept needs root */
	in_child(enforcer_child);
}

static void
test_lookup_user(void **state)
{
	struct jit_run_user u;
	struct jit_error err;

	assert_int_equal(jit_privs_lookup_user("root", &u, &err), -1);
	assert_int_equal(err.status, 400);
	assert_int_equal(jit_privs_lookup_user("no-such-user-here", &u, &err), -1);
	assert_non_null(strstr(err.message, "useradd"));
	assert_int_equal(jit_privs_lookup_user("nobody", &u, &err), 0);
	assert_int_equal(u.uid, NOBODY);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_network_process),
		cmocka_unit_test(test_enforcer_process),
		cmocka_unit_test(test_lookup_user),
	};

	if (geteuid() != 0)
		fprintf(stderr, "# not root: the enforcer's case is skipped\n");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
