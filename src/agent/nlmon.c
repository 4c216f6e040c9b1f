/*
 * nlmon.c: nftables ruleset events (nlmon.h), read with a plain netlink socket.
 *
 * Each message of an nftables commit is (nlmsghdr, nfgenmsg, attributes); for tables,
 * chains, rules, sets and set elements alike, attribute 1 is the table's name, and
 * nfgenmsg says the family. The commit's last message, NEWGEN, carries the pid of the
 * process that committed it. Nothing here is trusted beyond "something changed": the
 * agent reads the table itself before it acts.
 */
#include "nlmon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "enforcer.h"

/* A commit of many elements arrives as many messages; a large buffer keeps bursts
 * from being lost (and a loss is reported as a change anyway). */
#define RCVBUF_BYTES (4 * 1024 * 1024)

struct jit_nlmon {
	int fd;
	bool touched;   /* a message of the current commit named our table */
	pid_t self;
};

int
jit_nlmon_open(struct jit_nlmon **out, struct jit_error *err)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	unsigned group = NFNLGRP_NFTABLES;
	int buf = RCVBUF_BYTES;
	struct jit_nlmon *m;

	*out = NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	m->self = getpid();
	m->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_NETFILTER);
	if (m->fd < 0 || bind(m->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
		setsockopt(m->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) != 0) {
		int e = errno;

		jit_nlmon_free(m);
		return jit_errorf(err, 503, JIT_E_UNAVAILABLE,
			"cannot subscribe to nftables events: %s", strerror(e));
	}
	/* Best effort: without it the default buffer is used. */
	(void)setsockopt(m->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	*out = m;
	return 0;
}

void
jit_nlmon_free(struct jit_nlmon *m)
{
	if (m == NULL)
		return;
	if (m->fd >= 0)
		close(m->fd);
	free(m);
}

int
jit_nlmon_fd(const struct jit_nlmon *m)
{
	return m->fd;
}

/* The attribute of type `type` in the payload after nfgenmsg, or NULL. */
static const struct nlattr *
find_attr(const struct nlmsghdr *h, uint16_t type)
{
	size_t off = NLMSG_SPACE(sizeof(struct nfgenmsg));

	while (off + NLA_HDRLEN <= h->nlmsg_len) {
		const struct nlattr *a = (const struct nlattr *)((const char *)h + off);

		if (a->nla_len < NLA_HDRLEN || off + a->nla_len > h->nlmsg_len)
			return NULL;
		if ((a->nla_type & NLA_TYPE_MASK) == type)
			return a;
		off += NLA_ALIGN(a->nla_len);
	}
	return NULL;
}

/* One message; true when it ends a foreign commit that touched our table. */
static bool
on_message(struct jit_nlmon *m, const struct nlmsghdr *h)
{
	const struct nfgenmsg *g = NLMSG_DATA(h);
	const struct nlattr *a;

	if (NFNL_SUBSYS_ID(h->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
		h->nlmsg_len < NLMSG_SPACE(sizeof(*g)))
		return false;
	if (NFNL_MSG_TYPE(h->nlmsg_type) == NFT_MSG_NEWGEN) {
		bool foreign = true, touched = m->touched;
		uint32_t pid;

		m->touched = false;
		a = find_attr(h, NFTA_GEN_PROC_PID);
		if (a != NULL && a->nla_len >= NLA_HDRLEN + sizeof(pid)) {
			memcpy(&pid, (const char *)a + NLA_HDRLEN, sizeof(pid));
			foreign = ntohl(pid) != (uint32_t)m->self;
		}
		return touched && foreign;
	}
	if (g->nfgen_family != NFPROTO_INET)
		return false;
	/* NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE and
	 * NFTA_SET_ELEM_LIST_TABLE are all attribute 1. */
	a = find_attr(h, 1);
	if (a != NULL && a->nla_len >= NLA_HDRLEN + sizeof(JIT_ENFORCER_TABLE) &&
		memcmp((const char *)a + NLA_HDRLEN, JIT_ENFORCER_TABLE,
		sizeof(JIT_ENFORCER_TABLE)) == 0)
		m->touched = true;
	return false;
}

bool
jit_nlmon_changed(struct jit_nlmon *m)
{
	static char buf[64 * 1024] __attribute__((aligned(NLMSG_ALIGNTO)));
	bool changed = false;

	for (;;) {
		ssize_t n = recv(m->fd, buf, sizeof(buf), MSG_DONTWAIT);
		const struct nlmsghdr *h;
		int left;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* ENOBUFS: events were lost, so anything may have happened. */
			if (errno == ENOBUFS) {
				changed = true;
				continue;
			}
			break;
		}
		if (n == 0)
			break;
		left = (int)n;
		for (h = (const struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left))
			if (on_message(m, h))
				changed = true;
	}
	return changed;
}
