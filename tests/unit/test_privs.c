/*
 * test_privs.c: jit_privs_drop, for real, in a forked child (the drop is for good,
 * and the test runner must keep its own capabilities). The child checks what the
 * kernel says afterwards in /proc/self/status: CAP_NET_ADMIN alone in the effective
 * and permitted sets, empty inheritable and ambient sets, a bounding set cut to
 * CAP_NET_ADMIN, and no_new_privs. As root it drops from full privilege; as any user
 * (root becomes nobody first) it shows the drop holding no capability still succeeds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privs.h"

#define NOBODY 65534
#define BIT(cap) (1ULL << (cap))

struct caps {
	unsigned long long inh, prm, eff, bnd, amb;
	int no_new_privs;
};

/* The capability lines of /proc/self/status. */
static int
read_caps(struct caps *c)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	int seen = 0;

	if (f == NULL)
		return -1;
	memset(c, 0, sizeof(*c));
	c->no_new_privs = -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		seen += sscanf(line, "CapInh: %llx", &c->inh);
		seen += sscanf(line, "CapPrm: %llx", &c->prm);
		seen += sscanf(line, "CapEff: %llx", &c->eff);
		seen += sscanf(line, "CapBnd: %llx", &c->bnd);
		seen += sscanf(line, "CapAmb: %llx", &c->amb);
		seen += sscanf(line, "NoNewPrivs: %d", &c->no_new_privs);
	}
	fclose(f);
	return seen == 6 ? 0 : -1;
}

/* A child's verdict: "" when every check passed, else what failed. */
struct verdict {
	char why[512];
};

static bool
check(struct verdict *v, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool
check(struct verdict *v, bool ok, const char *fmt, ...)
{
	va_list ap;
	size_t n = strlen(v->why);

	if (ok || n > 0)
		return ok;
	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
	return false;
}

/* Runs fn in a child and fails the test with what the child found wrong. */
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

/* Can this process set a socket's mark? The kernel asks for CAP_NET_ADMIN (or, since
 * 5.17, CAP_NET_RAW, which the drop removes). */
static bool
can_set_mark(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int mark = 7;
	bool ok;

	if (fd < 0)
		return false;
	ok = setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) == 0;
	close(fd);
	return ok;
}

/* Drops, then checks the sets against what the process held before. */
static void
drop_and_check(struct verdict *v, const struct caps *before)
{
	bool had_net_admin = (before->prm & BIT(CAP_NET_ADMIN)) != 0;
	bool had_setpcap = (before->eff & BIT(CAP_SETPCAP)) != 0;
	unsigned long long want = had_net_admin ? BIT(CAP_NET_ADMIN) : 0;
	struct jit_privs p;
	struct jit_error err;
	struct caps after;

	if (!check(v, jit_privs_drop(&p, &err) == 0, "jit_privs_drop: %s", err.message) ||
		!check(v, read_caps(&after) == 0, "cannot read /proc/self/status"))
		return;
	check(v, p.net_admin == had_net_admin, "net_admin %d, but CAP_NET_ADMIN was %s",
		p.net_admin, had_net_admin ? "permitted" : "not permitted");
	check(v, after.eff == want, "CapEff %llx, want %llx", after.eff, want);
	check(v, after.prm == want, "CapPrm %llx, want %llx", after.prm, want);
	check(v, after.inh == 0, "CapInh %llx, want 0", after.inh);
	check(v, after.amb == 0, "CapAmb %llx, want 0", after.amb);
	check(v, after.no_new_privs == 1, "NoNewPrivs %d, want 1", after.no_new_privs);
	if (had_setpcap) {
		check(v, !p.bounding_left, "bounding_left, though CAP_SETPCAP was effective");
		check(v, after.bnd == (before->bnd & BIT(CAP_NET_ADMIN)), "CapBnd %llx, want %llx",
			after.bnd, before->bnd & BIT(CAP_NET_ADMIN));
	} else {
		/* Without CAP_SETPCAP the bounding set stays; the caller logs it. */
		check(v, p.bounding_left == ((before->bnd & ~BIT(CAP_NET_ADMIN)) != 0),
			"bounding_left %d with CapBnd %llx", p.bounding_left, before->bnd);
		check(v, after.bnd == before->bnd, "CapBnd %llx changed from %llx", after.bnd,
			before->bnd);
	}
	/* What the sets say, the kernel does. */
	check(v, can_set_mark() == had_net_admin, "SO_MARK %s after the drop",
		had_net_admin ? "refused" : "allowed");
	check(v, prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1, "PR_GET_NO_NEW_PRIVS is not 1");
	/* Dropping again (nothing left to give up) still succeeds and changes nothing. */
	if (check(v, jit_privs_drop(&p, &err) == 0, "second jit_privs_drop: %s", err.message) &&
		check(v, read_caps(&after) == 0, "cannot read /proc/self/status"))
		check(v, after.eff == want && after.prm == want, "second drop: CapEff %llx",
			after.eff);
}

/* As root: an inheritable and ambient CAP_NET_RAW first, to see those sets emptied. */
static void
root_child(struct verdict *v)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	struct caps before;

	memset(d, 0, sizeof(d));
	if (!check(v, syscall(SYS_capget, &h, d) == 0, "capget: %s", strerror(errno)))
		return;
	d[CAP_TO_INDEX(CAP_NET_RAW)].inheritable |= CAP_TO_MASK(CAP_NET_RAW);
	if (!check(v, syscall(SYS_capset, &h, d) == 0, "capset: %s", strerror(errno)) ||
		!check(v, prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0) == 0,
		"PR_CAP_AMBIENT_RAISE: %s", strerror(errno)) ||
		!check(v, read_caps(&before) == 0, "cannot read /proc/self/status") ||
		!check(v, before.amb == BIT(CAP_NET_RAW), "CapAmb %llx before", before.amb))
		return;
	drop_and_check(v, &before);
}

/* As a user that holds nothing (nobody, when run as root). */
static void
user_child(struct verdict *v)
{
	struct caps before;

	if (geteuid() == 0 &&
		!check(v, setgroups(0, NULL) == 0 && setresgid(NOBODY, NOBODY, NOBODY) == 0 &&
		setresuid(NOBODY, NOBODY, NOBODY) == 0, "cannot become nobody: %s",
		strerror(errno)))
		return;
	if (!check(v, read_caps(&before) == 0, "cannot read /proc/self/status") ||
		!check(v, before.eff == 0 && before.prm == 0, "CapEff %llx as uid %u",
		before.eff, (unsigned)geteuid()))
		return;
	drop_and_check(v, &before);
}

static void
test_drop_as_root(void **state)
{
	struct caps c;

	(void)state;
	assert_int_equal(read_caps(&c), 0);
	/* Root in a container may lack CAP_SETPCAP or CAP_NET_ADMIN; the checks follow
	 * what was held. A root without even CAP_SETPCAP proves nothing the user test
	 * does not. */
	if (geteuid() != 0 || (c.eff & BIT(CAP_SETPCAP)) == 0)
		skip();
	in_child(root_child);
}

static void
test_drop_holding_nothing(void **state)
{
	(void)state;
	in_child(user_child);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_as_root),
		cmocka_unit_test(test_drop_holding_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
