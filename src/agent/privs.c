/*
 * privs.c: dropping every capability but CAP_NET_ADMIN (privs.h).
 *
 * Order matters: the bounding set can only shrink while CAP_SETPCAP is effective,
 * so it goes first; capset last, and a final capget checks that the kernel did
 * what was asked rather than trusting the return codes.
 */
#include "privs.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NWORDS _LINUX_CAPABILITY_U32S_3

static int
cap_get(struct __user_cap_data_struct d[NWORDS])
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };

	memset(d, 0, sizeof(*d) * NWORDS);
	return (int)syscall(SYS_capget, &h, d);
}

static bool
has(const __u32 *word, int cap)
{
	return (word[0] & CAP_TO_MASK(cap)) != 0;
}

static int
fail(struct jit_error *err, const char *what)
{
	return jit_errorf(err, 500, JIT_E_INTERNAL, "cannot drop capabilities: %s: %s", what,
		strerror(errno));
}

static int
drop(bool keep_net_admin, struct jit_privs *out, struct jit_error *err)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[NWORDS];
	const int ni = CAP_TO_INDEX(CAP_NET_ADMIN);
	bool setpcap;
	int cap, r;

	memset(out, 0, sizeof(*out));
	if (cap_get(d) != 0)
		return fail(err, "capget");
	out->net_admin = keep_net_admin && has(&d[ni].permitted, CAP_NET_ADMIN);
	setpcap = has(&d[CAP_TO_INDEX(CAP_SETPCAP)].effective, CAP_SETPCAP);

	/* PR_CAPBSET_READ fails with EINVAL past the kernel's last capability. */
	for (cap = 0; (r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0)) >= 0; cap++) {
		if ((keep_net_admin && cap == CAP_NET_ADMIN) || r == 0)
			continue;
		if (!setpcap) {
			out->bounding_left = true;
			continue;
		}
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
			return fail(err, "PR_CAPBSET_DROP");
	}
	/* Kernels before 4.3 have no ambient set: nothing to clear there. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		return fail(err, "PR_CAP_AMBIENT_CLEAR_ALL");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return fail(err, "PR_SET_NO_NEW_PRIVS");

	memset(d, 0, sizeof(d));
	if (out->net_admin) {
		d[ni].permitted = CAP_TO_MASK(CAP_NET_ADMIN);
		d[ni].effective = CAP_TO_MASK(CAP_NET_ADMIN);
	}
	if (syscall(SYS_capset, &h, d) != 0)
		return fail(err, "capset");

	if (cap_get(d) != 0)
		return fail(err, "capget");
	for (int w = 0; w < NWORDS; w++) {
		__u32 want = out->net_admin && w == ni ? CAP_TO_MASK(CAP_NET_ADMIN) : 0;

		if (d[w].permitted != want || d[w].effective != want || d[w].inheritable != 0) {
			errno = EPERM;
			return fail(err, "the kernel kept more than CAP_NET_ADMIN");
		}
	}
	return 0;
}

int
jit_privs_drop(struct jit_privs *out, struct jit_error *err)
{
	return drop(true, out, err);
}

int
jit_privs_drop_all(struct jit_privs *out, struct jit_error *err)
{
	return drop(false, out, err);
}

int
jit_privs_lookup_user(const char *name, struct jit_run_user *out, struct jit_error *err)
{
	struct passwd pw, *found = NULL;
	char buf[4096];
	int r;

	r = getpwnam_r(name, &pw, buf, sizeof(buf), &found);
	if (r != 0 || found == NULL)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"no user '%.64s' to run as (create it: useradd --system --no-create-home "
			"--shell /usr/sbin/nologin %.64s, or give --user)", name, name);
	if (pw.pw_uid == 0 || pw.pw_gid == 0)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"--user '%.64s' is root; the agent's processes must not run as root", name);
	out->uid = pw.pw_uid;
	out->gid = pw.pw_gid;
	return 0;
}

int
jit_privs_become(const struct jit_run_user *u, struct jit_error *err)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[NWORDS];
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	/* Keep the permitted set across the change of uid (the kernel clears it when all
	 * of a process's uids leave 0), then raise it to effective again. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
		return fail(err, "PR_SET_KEEPCAPS");
	if (setgroups(1, &u->gid) != 0)
		return fail(err, "setgroups");
	if (setresgid(u->gid, u->gid, u->gid) != 0)
		return fail(err, "setresgid");
	if (setresuid(u->uid, u->uid, u->uid) != 0)
		return fail(err, "setresuid");
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0)
		return fail(err, "PR_SET_KEEPCAPS");
	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 ||
		ru != u->uid || eu != u->uid || su != u->uid || rg != u->gid || eg != u->gid ||
		sg != u->gid) {
		errno = EPERM;
		return fail(err, "the kernel kept another uid or gid");
	}
	if (cap_get(d) != 0)
		return fail(err, "capget");
	for (int w = 0; w < NWORDS; w++)
		d[w].effective = d[w].permitted;
	if (syscall(SYS_capset, &h, d) != 0)
		return fail(err, "capset");
	return 0;
}
