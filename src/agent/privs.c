/*
 * privs.c: dropping every capability but CAP_NET_ADMIN (privs.h).
 *
 * Order matters: the bounding set can only shrink while CAP_SETPCAP is effective,
 * so it goes first; capset last, and a final capget checks that the kernel did
 * what was asked rather than trusting the return codes.
 */
#include "privs.h"

#include <errno.h>
#include <linux/capability.h>
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

int
jit_privs_drop(struct jit_privs *out, struct jit_error *err)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[NWORDS];
	const int ni = CAP_TO_INDEX(CAP_NET_ADMIN);
	bool setpcap;
	int cap, r;

	memset(out, 0, sizeof(*out));
	if (cap_get(d) != 0)
		return fail(err, "capget");
	out->net_admin = has(&d[ni].permitted, CAP_NET_ADMIN);
	setpcap = has(&d[CAP_TO_INDEX(CAP_SETPCAP)].effective, CAP_SETPCAP);

	/* PR_CAPBSET_READ fails with EINVAL past the kernel's last capability. */
	for (cap = 0; (r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0)) >= 0; cap++) {
		if (cap == CAP_NET_ADMIN || r == 0)
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
