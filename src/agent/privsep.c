/*
 * privsep.c: the agent's two processes and the records between them (privsep.h).
 *
 * The socketpair is SOCK_SEQPACKET: each message arrives whole or not at all, so a
 * record can never be read half from one message and half from the next, and a
 * message longer than the largest valid one is seen as such (MSG_TRUNC) and refused.
 * The enforcer answers PROBE and COMMIT only; a bad BEGIN or OPS spoils the
 * transaction it belongs to, whose COMMIT then gets that error, and nothing of it is
 * applied. Requests are answered in order, one at a time.
 */
#include "privsep.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "enforcer.h"
#include "log.h"
#include "nlmon.h"
#include "privsep_msg.h"
#include "seccomp.h"

struct jit_privsep {
	int fd;
	int events;        /* the enforcer's ruleset-change notices */
	pid_t enforcer;
	uint8_t buf[JIT_PS_MSG_MAX];
};

/* ---- the enforcer ---- */

struct tx {
	bool open;
	bool spoiled;
	struct jit_error why;
	enum jit_ep_kind kind;
	bool rebuild;
	size_t want, have;
	struct jit_nft_op *ops;
};

static void
tx_reset(struct tx *t)
{
	free(t->ops);
	memset(t, 0, sizeof(*t));
}

static void
spoil(struct tx *t, const struct jit_error *why)
{
	if (t->spoiled)
		return;
	t->spoiled = true;
	t->why = *why;
}

static int
reply(int fd, const struct jit_error *result)
{
	uint8_t out[JIT_PS_REPLY_BYTES];
	size_t len = jit_ps_encode_reply(out, result);

	return send(fd, out, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

static int
send_all(int fd, const uint8_t *buf, size_t len)
{
	ssize_t r;

	do
		r = send(fd, buf, len, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r == (ssize_t)len ? 0 : -1;
}

/* A READ: the REPLY, then the view in pieces. */
static int
answer_read(int fd, struct jit_enforcer *e, enum jit_ep_kind kind, bool elements)
{
	static uint8_t out[JIT_PS_MSG_MAX];
	struct jit_enforcer_view v;
	struct jit_error err;
	size_t text_len;
	int r = -1;

	if (jit_enforcer_read(e, kind, elements, &v, &err) != 0)
		return reply(fd, &err);
	text_len = v.layout != NULL ? strlen(v.layout) : 0;
	if (v.n > JIT_PS_VIEW_MAX_ELEMENTS || text_len > JIT_PS_VIEW_MAX_TEXT) {
		jit_errorf(&err, 500, JIT_E_INTERNAL, "table inet jitgate holds more than can be "
			"read back (%zu elements)", v.n);
		jit_enforcer_view_clear(&v);
		return reply(fd, &err);
	}
	if (reply(fd, NULL) != 0 ||
		send_all(fd, out, jit_ps_encode_view(out, v.exists, (uint32_t)text_len,
		(uint32_t)v.n)) != 0)
		goto out;
	for (size_t i = 0; i < text_len; i += JIT_PS_TEXT_PER_MSG) {
		size_t k = text_len - i < JIT_PS_TEXT_PER_MSG ? text_len - i : JIT_PS_TEXT_PER_MSG;

		if (send_all(fd, out, jit_ps_encode_text(out, v.layout + i, k)) != 0)
			goto out;
	}
	for (size_t i = 0; i < v.n; i += JIT_PS_ACTUALS_PER_MSG) {
		size_t k = v.n - i < JIT_PS_ACTUALS_PER_MSG ? v.n - i : JIT_PS_ACTUALS_PER_MSG;

		if (send_all(fd, out, jit_ps_encode_actuals(out, v.elems + i, k)) != 0)
			goto out;
	}
	r = 0;
out:
	jit_enforcer_view_clear(&v);
	return r;
}

/* One request; -1 only when the answer cannot be sent. */
static int
handle(int fd, struct jit_enforcer *e, struct tx *t, const uint8_t *buf, size_t len,
	struct jit_nft_op *scratch)
{
	struct jit_ps_request rq;
	struct jit_error err;
	int r;

	if (jit_ps_decode_request(buf, len, &rq, scratch, &err) != 0) {
		/* BEGIN and OPS get no answer: the COMMIT that follows reports their error. */
		if (len >= 1 && (buf[0] == JIT_PS_OPS || buf[0] == JIT_PS_BEGIN)) {
			t->open = true;
			spoil(t, &err);
			return 0;
		}
		tx_reset(t);
		jit_log(JIT_LOG_WARN, "privsep_refused", "error", err.message, (const char *)NULL);
		return reply(fd, &err);
	}
	switch (rq.type) {
	case JIT_PS_PROBE:
		r = jit_enforcer_probe(e, rq.kind, &err);
		return reply(fd, r == 0 ? NULL : &err);
	case JIT_PS_BEGIN:
		tx_reset(t);
		t->open = true;
		t->kind = rq.kind;
		t->rebuild = rq.rebuild;
		t->want = rq.n;
		if (rq.n > 0 && (t->ops = calloc(rq.n, sizeof(*t->ops))) == NULL) {
			jit_errorf(&err, 500, JIT_E_INTERNAL, "out of memory for %u records", rq.n);
			spoil(t, &err);
		}
		return 0;
	case JIT_PS_OPS:
		if (!t->open) {
			jit_errorf(&err, 400, JIT_E_BAD_REQUEST, "privsep record refused: records "
				"outside a transaction");
			t->open = true;
			spoil(t, &err);
			return 0;
		}
		if (t->spoiled)
			return 0;
		if (rq.n > t->want - t->have) {
			jit_errorf(&err, 400, JIT_E_BAD_REQUEST, "privsep record refused: more "
				"records than the transaction announced (%zu)", t->want);
			spoil(t, &err);
			return 0;
		}
		memcpy(t->ops + t->have, scratch, rq.n * sizeof(*scratch));
		t->have += rq.n;
		return 0;
	case JIT_PS_COMMIT:
		if (!t->open)
			jit_errorf(&err, 400, JIT_E_BAD_REQUEST, "privsep record refused: COMMIT "
				"without BEGIN");
		else if (t->spoiled)
			err = t->why;
		else if (t->have != t->want)
			jit_errorf(&err, 400, JIT_E_BAD_REQUEST, "privsep record refused: %zu of "
				"%zu records", t->have, t->want);
		else if (jit_enforcer_commit(e, t->kind, t->rebuild, t->ops, t->have, &err) == 0) {
			tx_reset(t);
			return reply(fd, NULL);
		}
		if (err.status < 500)
			jit_log(JIT_LOG_WARN, "privsep_refused", "error", err.message,
				(const char *)NULL);
		tx_reset(t);
		return reply(fd, &err);
	case JIT_PS_READ:
		return answer_read(fd, e, rq.kind, rq.elements);
	case JIT_PS_REPLY:
	case JIT_PS_VIEW:
	case JIT_PS_TEXT:
	case JIT_PS_ELEMS:
		break;
	}
	jit_errorf(&err, 400, JIT_E_BAD_REQUEST, "privsep record refused: message type");
	return reply(fd, &err);
}

/* Passes a ruleset change on to the network process (a full queue already says so). */
static void
notify(int events_fd, struct jit_nlmon *m)
{
	static const uint8_t one = 1;

	if (m != NULL && jit_nlmon_changed(m) && events_fd >= 0)
		(void)send(events_fd, &one, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static int
serve(int fd, struct jit_enforcer *e, volatile sig_atomic_t *stop, pid_t child,
	struct jit_nlmon *m, int events_fd)
{
	uint8_t *buf = malloc(JIT_PS_MSG_MAX);
	struct jit_nft_op *scratch = calloc(JIT_PS_OPS_PER_MSG, sizeof(*scratch));
	struct tx t = { 0 };
	bool forwarded = false;
	int rc = 0;

	if (buf == NULL || scratch == NULL) {
		rc = -1;
		goto out;
	}
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = m != NULL ? jit_nlmon_fd(m) : -1, .events = POLLIN },
		};
		ssize_t r;

		if (stop != NULL && *stop && child > 0 && !forwarded) {
			kill(child, SIGTERM);
			forwarded = true;
		}
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			rc = -1;
			break;
		}
		if (p[1].revents != 0)
			notify(events_fd, m);
		if (p[0].revents == 0)
			continue;
		r = recv(fd, buf, JIT_PS_MSG_MAX, MSG_TRUNC | MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			break;  /* EOF: the network process is gone */
		if ((size_t)r > JIT_PS_MSG_MAX) {
			struct jit_error err;

			jit_errorf(&err, 400, JIT_E_BAD_REQUEST, "privsep record refused: a "
				"message of %zd bytes", r);
			if (t.open) {
				spoil(&t, &err);
				continue;
			}
			if (reply(fd, &err) != 0)
				break;
			continue;
		}
		if (handle(fd, e, &t, buf, (size_t)r, scratch) != 0)
			break;
	}
out:
	tx_reset(&t);
	free(scratch);
	free(buf);
	return rc;
}

int
jit_privsep_serve(int fd, struct jit_enforcer *e, volatile sig_atomic_t *stop)
{
	return serve(fd, e, stop, 0, NULL, -1);
}

static int
exit_code(pid_t child)
{
	int status;

	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	/* Ended by the TERM or INT we passed on: a clean stop. */
	if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGINT))
		return 0;
	return 1;
}

static void
log_enforcer(const struct jit_privs *p, const struct jit_privsep_config *cfg, pid_t child)
{
	char uid[16], pid[16];

	snprintf(uid, sizeof(uid), "%u", (unsigned)geteuid());
	snprintf(pid, sizeof(pid), "%d", (int)child);
	jit_log(p->net_admin ? JIT_LOG_INFO : JIT_LOG_WARN, "privileges", "process", "enforcer",
		"uid", uid, "kept", p->net_admin ? "CAP_NET_ADMIN" : "none", "bounding_set",
		p->bounding_left ? "unchanged (no CAP_SETPCAP)" : "CAP_NET_ADMIN only",
		"no_new_privs", "1", "seccomp", "filter", "network_pid", pid, (const char *)NULL);
	(void)cfg;
}

static void __attribute__((noreturn))
enforcer_main(int fd, int events_fd, pid_t child, const struct jit_privsep_config *cfg)
{
	struct jit_enforcer *e = NULL;
	struct jit_nlmon *m = NULL;
	struct jit_privs privs;
	struct jit_error err;

	if (cfg->wipe != NULL)
		explicit_bzero(cfg->wipe, cfg->wipe_len);
	if (cfg->close_fd >= 0)
		close(cfg->close_fd);
	if ((cfg->change_user && jit_privs_become(&cfg->user, &err) != 0) ||
		jit_privs_drop(&privs, &err) != 0)
		goto fatal;
	/* Not dumpable: the network process, same uid, cannot ptrace it or read its memory
	 * through /proc (its seccomp filter refuses ptrace as well). */
	if (prctl(PR_SET_DUMPABLE, JIT_SANITIZED, 0, 0, 0) != 0) {
		jit_errorf(&err, 500, JIT_E_INTERNAL, "PR_SET_DUMPABLE: %s", strerror(errno));
		goto fatal;
	}
	if (jit_enforcer_open(&e, &err) != 0)
		goto fatal;
	if (jit_nlmon_open(&m, &err) != 0)
		jit_log(JIT_LOG_WARN, "events_unavailable", "error", err.message, "detail",
			"drift is found by the periodic check only", (const char *)NULL);
	if (jit_seccomp_install(JIT_SECCOMP_ENFORCER, &err) != 0)
		goto fatal;
	log_enforcer(&privs, cfg, child);
	serve(fd, e, cfg->stop, child, m, events_fd);
	close(fd);
	close(events_fd);
	jit_nlmon_free(m);
	jit_enforcer_free(e);
	exit(exit_code(child));
fatal:
	jit_log(JIT_LOG_ERROR, "fatal", "process", "enforcer", "error", err.message,
		(const char *)NULL);
	kill(child, SIGTERM);
	close(fd);
	close(events_fd);
	jit_nlmon_free(m);
	jit_enforcer_free(e);
	exit_code(child);
	exit(1);
}

/* ---- the network process ---- */

static int
sandbox_child(const struct jit_privsep_config *cfg, pid_t parent, struct jit_error *err)
{
	struct jit_privs privs;

	if (cfg->change_user && jit_privs_become(&cfg->user, err) != 0)
		return -1;
	if (jit_privs_drop_all(&privs, err) != 0)
		return -1;
	/* After the uid change, which clears it: the enforcer's death ends us too. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "PR_SET_PDEATHSIG: %s",
			strerror(errno));
	if (getppid() != parent)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "the enforcer is gone");
	/* A change of uid made it undumpable; sanitizer builds need it dumpable (seccomp.h). */
	if (JIT_SANITIZED && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "PR_SET_DUMPABLE: %s", strerror(errno));
	return jit_seccomp_install(JIT_SECCOMP_NETWORK, err);
}

int
jit_privsep_start(const struct jit_privsep_config *cfg, struct jit_privsep **out,
	struct jit_error *err)
{
	struct jit_privsep *ps;
	pid_t parent = getpid(), child;
	int sv[2], ev[2];

	*out = NULL;
	if ((ps = calloc(1, sizeof(*ps))) == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		free(ps);
		return jit_errorf(err, 500, JIT_E_INTERNAL, "socketpair: %s", strerror(errno));
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, ev) != 0) {
		close(sv[0]);
		close(sv[1]);
		free(ps);
		return jit_errorf(err, 500, JIT_E_INTERNAL, "socketpair: %s", strerror(errno));
	}
	if ((child = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		close(ev[0]);
		close(ev[1]);
		free(ps);
		return jit_errorf(err, 500, JIT_E_INTERNAL, "fork: %s", strerror(errno));
	}
	if (child > 0) {
		free(ps);
		close(sv[1]);
		close(ev[1]);
		enforcer_main(sv[0], ev[0], child, cfg);
	}
	close(sv[0]);
	close(ev[0]);
	ps->fd = sv[1];
	ps->events = ev[1];
	ps->enforcer = parent;
	if (sandbox_child(cfg, parent, err) != 0) {
		jit_privsep_free(ps);
		return -1;
	}
	*out = ps;
	return 0;
}

void
jit_privsep_free(struct jit_privsep *ps)
{
	if (ps == NULL)
		return;
	close(ps->fd);
	close(ps->events);
	free(ps);
}

int
jit_privsep_event_fd(const struct jit_privsep *ps)
{
	return ps->events;
}

bool
jit_privsep_changed(struct jit_privsep *ps)
{
	uint8_t b[64];
	bool any = false;

	while (recv(ps->events, b, sizeof(b), MSG_DONTWAIT) > 0)
		any = true;
	return any;
}

void
jit_privsep_info(const struct jit_privsep *ps, struct jit_privsep_info *out)
{
	out->uid = (unsigned)geteuid();
	out->enforcer_pid = (int)ps->enforcer;
}

static int
gone(struct jit_error *err)
{
	return jit_errorf(err, 503, JIT_E_UNAVAILABLE, "the enforcer process is gone: %s",
		strerror(errno != 0 ? errno : EPIPE));
}

static int
send_msg(struct jit_privsep *ps, size_t len, struct jit_error *err)
{
	ssize_t r;

	do
		r = send(ps->fd, ps->buf, len, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r == (ssize_t)len ? 0 : gone(err);
}

static int
await_reply(struct jit_privsep *ps, struct jit_error *err)
{
	uint8_t in[JIT_PS_REPLY_BYTES + 1];
	ssize_t r;

	do
		r = recv(ps->fd, in, sizeof(in), 0);
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		errno = r == 0 ? EPIPE : errno;
		return gone(err);
	}
	return jit_ps_decode_reply(in, (size_t)r, err);
}

int
jit_privsep_probe(struct jit_privsep *ps, enum jit_ep_kind kind, struct jit_error *err)
{
	if (send_msg(ps, jit_ps_encode_probe(ps->buf, kind), err) != 0)
		return -1;
	return await_reply(ps, err);
}

int
jit_privsep_commit(struct jit_privsep *ps, enum jit_ep_kind kind, bool rebuild,
	const struct jit_nft_op *ops, size_t n, struct jit_error *err)
{
	if (n > JIT_PLAN_MAX_ELEMENTS)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST, "more than %d element records",
			JIT_PLAN_MAX_ELEMENTS);
	if (send_msg(ps, jit_ps_encode_begin(ps->buf, kind, rebuild, (uint32_t)n), err) != 0)
		return -1;
	for (size_t i = 0; i < n; i += JIT_PS_OPS_PER_MSG) {
		size_t k = n - i < JIT_PS_OPS_PER_MSG ? n - i : JIT_PS_OPS_PER_MSG;

		if (send_msg(ps, jit_ps_encode_ops(ps->buf, ops + i, k), err) != 0)
			return -1;
	}
	if (send_msg(ps, jit_ps_encode_commit(ps->buf), err) != 0)
		return -1;
	return await_reply(ps, err);
}

/* Receives one piece of a READ's answer into ps->buf. */
static int
recv_piece(struct jit_privsep *ps, size_t *len, struct jit_error *err)
{
	ssize_t r;

	do
		r = recv(ps->fd, ps->buf, sizeof(ps->buf), 0);
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		errno = r == 0 ? EPIPE : errno;
		return gone(err);
	}
	*len = (size_t)r;
	return 0;
}

int
jit_privsep_read(struct jit_privsep *ps, enum jit_ep_kind kind, bool elements,
	struct jit_enforcer_view *out, struct jit_error *err)
{
	uint32_t text_len, n;
	size_t len, got_text = 0, got = 0;
	bool exists;

	memset(out, 0, sizeof(*out));
	if (send_msg(ps, jit_ps_encode_read(ps->buf, kind, elements), err) != 0 ||
		await_reply(ps, err) != 0 || recv_piece(ps, &len, err) != 0 ||
		jit_ps_decode_view(ps->buf, len, &exists, &text_len, &n, err) != 0)
		return -1;
	out->exists = exists;
	if ((out->layout = calloc(1, (size_t)text_len + 1)) == NULL ||
		(n > 0 && (out->elems = calloc(n, sizeof(*out->elems))) == NULL)) {
		jit_enforcer_view_clear(out);
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	}
	while (got_text < text_len || got < n) {
		static struct jit_nft_actual piece[JIT_PS_ACTUALS_PER_MSG];
		enum jit_ps_type type;
		const char *text;
		size_t k;

		if (recv_piece(ps, &len, err) != 0 ||
			jit_ps_decode_piece(ps->buf, len, &type, &text, piece, &k, err) != 0)
			goto fail;
		if (type == JIT_PS_TEXT && k <= text_len - got_text) {
			memcpy(out->layout + got_text, text, k);
			got_text += k;
		} else if (type == JIT_PS_ELEMS && got_text == text_len && k <= n - got) {
			memcpy(out->elems + got, piece, k * sizeof(*piece));
			got += k;
		} else {
			jit_errorf(err, 500, JIT_E_INTERNAL, "the enforcer's answer is malformed: "
				"pieces out of order");
			goto fail;
		}
	}
	out->n = n;
	return 0;
fail:
	jit_enforcer_view_clear(out);
	return -1;
}
