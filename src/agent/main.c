/*
 * main.c: jitgate-agent, an enforcement point ("network security group").
 *
 *   jitgate-agent --server URL --ca FILE --state-dir DIR [--enroll-token FILE]
 *                 [--kind host|gateway] [--name NAME] [--vm-name NAME]
 *                 [--os linux|windows] [--address IP]... [--log-level LEVEL]
 *                 [--metrics-file FILE]
 *   jitgate-agent --uninstall
 *
 * The agent's life, top to bottom:
 *  1. It keeps CAP_NET_ADMIN and gives up every other capability (privs.h).
 *  2. It enrolls once, trading the enrollment token for a credential kept in DIR
 *     (statedir.h); later starts find the credential and skip this.
 *  3. It reconciles: the first desired state jitgated sends is applied in full (the
 *     enforcer replaces its table, so anything stale goes). When jitgated cannot be
 *     reached at start, the state saved after the last apply is applied again, every
 *     kernel timeout recomputed from the grants' absolute end times.
 *  4. It loops: long-polls for a version other than the one it holds, applies each new
 *     version as one nftables transaction of only the element changes (plan.h: the
 *     diff against what it applied), saves it, and reports status.
 *  5. It watches its table: on every foreign change (nftables ruleset events, nlmon.h)
 *     and once a minute it reads the table back and compares it with what it applied;
 *     a table deleted, rules changed, an element deleted, added or re-timed by someone
 *     else is drift, repaired by a rebuild and reported to jitgated at once.
 * Failures (jitgated unreachable, an apply refused) are retried with exponential
 * backoff and jitter. Meanwhile the table stays as it is and the kernel ends grants on
 * time. SIGTERM and SIGINT end the agent and leave the table in place: enforcement
 * must outlive the agent. --uninstall deletes the table (every locked port opens).
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "client.h"
#include "desired_state.h"
#include "enforcer.h"
#include "log.h"
#include "metrics_file.h"
#include "plan.h"
#include "privs.h"
#include "privsep.h"
#include "statedir.h"
#include "vm.h"

/* The server caps a long poll at 30 s; asking for all of it keeps idle traffic low. */
#define LONG_POLL_S 30u
/* Even without a ruleset event (the socket may be unavailable) the table is read back
 * and compared this often, or 100 times as long as the last check took if that is
 * longer: nft 1.0.6 lists every element for any listing, 100,000 of them take seconds,
 * and the agent does nothing else meanwhile. A ruleset event from another process that
 * touched the table (or lost events) always checks at once. */
#define CHECK_INTERVAL_NS (60LL * JIT_NS_PER_SEC)
#define OS_MAX 192
/* Who the agent's processes become when it is started as root (packaging creates it). */
#define DEFAULT_USER "jitgate-agent"
#define MESSAGE_MAX (JIT_ERROR_MSG_MAX + 64)

static volatile sig_atomic_t stop_signal;

struct options {
	const char *server;
	const char *ca;
	const char *state_dir;
	const char *enroll_token;
	const char *name;
	const char *vm_name;
	enum jit_ep_kind kind;
	enum jit_os os;
	size_t n_addresses;
	struct jit_prefix addresses[JIT_CP_MAX_ADDRESSES];
	bool uninstall;
	const char *user;            /* started as root: who both processes become */
	const char *metrics_file;
	enum jit_log_level level;
	char hostname[JIT_NAME_MAX + 1];
};

struct agent {
	const struct options *o;
	struct jit_statedir *sd;
	struct jit_cp *cp;
	struct jit_privsep *ps;      /* the enforcer process (privsep.h) */
	enum jit_ep_kind kind;
	char ep[JIT_RESOURCE_ID_MAX];
	char os[OS_MAX];
	bool nftables;               /* the last probe (or apply) succeeded */
	bool synced;                 /* the table holds applied_version, from jitgated, this run */
	bool ok;                     /* the last apply succeeded */
	uint64_t applied_version;
	int64_t last_apply_mono;
	bool report_due;
	bool reachable;              /* the last request to jitgated got an answer */
	char message[MESSAGE_MAX];
	unsigned failures;           /* consecutive, for the backoff */
	struct jit_desired_state *saved;   /* from DIR, until jitgated answers */
	jit_time saved_at;
	struct jit_desired_state *current; /* the state the table holds (last applied) */
	jit_time current_at;               /* when current was fetched */
	int64_t current_aged;              /* seconds taken off its secondsRemaining since */
	struct jit_nft_model *applied;     /* current's elements as the kernel has them */
	char *layout;                      /* the table's layout after our last rebuild */
	int64_t slack_ns;                  /* the longest apply so far (kernel timeouts
	                                    * start during it) */
	int64_t next_check_mono;           /* the next periodic check */
	int64_t check_ns;                  /* how long the last check took */
	bool polling;                      /* in the long poll (which idle may cut short) */
	bool interrupt;                    /* the idle hook cut the long poll short */
	unsigned long repairs;
	struct jit_agent_metrics metrics;
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: jitgate-agent --server URL --ca FILE --state-dir DIR [options]\n"
		"       jitgate-agent --uninstall\n"
		"\n"
		"The jitgate enforcement point: keeps table inet jitgate matching what jitgated\n"
		"wants. Needs CAP_NET_ADMIN only; drops every other capability at start.\n"
		"\n"
		"  --server URL[,URL]    jitgated, e.g. https://10.0.0.1:8443; several replicas:\n"
		"                        the next one when one is unreachable or answers 503\n"
		"  --ca FILE             PEM CA that jitgated's certificate must chain to (the\n"
		"                        only one trusted; self-signed: jitgated's tls/cert.pem)\n"
		"  --state-dir DIR       credential and last desired state (created 0700)\n"
		"  --enroll-token FILE   one-time enrollment token, needed until enrolled\n"
		"  --kind host|gateway   enforcement point kind at enrollment (default host)\n"
		"  --name NAME           enforcement point name (default: the VM name, or the\n"
		"                        host name for a gateway)\n"
		"  --vm-name NAME        host: the VM this agent registers (default: host name)\n"
		"  --os linux|windows    host: the VM's OS type (default linux)\n"
		"  --address IP          host: the VM's address (repeatable; default: the\n"
		"                        addresses of this machine's interfaces)\n"
		"  --user NAME           started as root: the user both processes become\n"
		"                        (default " DEFAULT_USER "; the state dir is given to it)\n"
		"  --log-level LEVEL     debug, info (default), warn or error\n"
		"  --metrics-file FILE   write the agent's metrics there (Prometheus text, for\n"
		"                        node_exporter's textfile collector; docs/metrics.md)\n"
		"  --uninstall           delete table inet jitgate and exit (every port opens)\n"
		"  -h, --help            this text\n"
		"  --version             the version\n");
}

static int bad_arg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line on stderr for a command line that cannot work; returns the usage status. */
static int
bad_arg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "jitgate-agent: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 2;
}

static int
parse_level(const char *s, enum jit_log_level *out)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };

	for (int i = 0; i < 4; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum jit_log_level)i;
			return 0;
		}
	}
	return -1;
}

static int
check_name(const char *s, const char *what)
{
	struct jit_error err;

	if (jit_rid_check_name(s, what, &err) != 0)
		return bad_arg("%s", err.message);
	return 0;
}

/* The defaults that come from the host name, checked like names given outright. */
static int
default_names(struct options *o)
{
	char host[256];
	char *dot;

	if (o->vm_name != NULL && o->name != NULL)
		return 0;
	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	if ((dot = strchr(host, '.')) != NULL)
		*dot = '\0';
	if (strlen(host) > JIT_NAME_MAX || check_name(host, "host name") != 0)
		return bad_arg("%s", "the host name is not a valid VM or enforcement point name; "
			"give --vm-name and --name");
	memcpy(o->hostname, host, strlen(host) + 1);
	if (o->vm_name == NULL)
		o->vm_name = o->hostname;
	if (o->name == NULL)
		o->name = o->kind == JIT_EP_HOST ? o->vm_name : o->hostname;
	return 0;
}

static int
parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"server", required_argument, NULL, 's'},
		{"ca", required_argument, NULL, 'c'},
		{"state-dir", required_argument, NULL, 'd'},
		{"enroll-token", required_argument, NULL, 't'},
		{"kind", required_argument, NULL, 'k'},
		{"name", required_argument, NULL, 'n'},
		{"vm-name", required_argument, NULL, 'm'},
		{"os", required_argument, NULL, 'o'},
		{"address", required_argument, NULL, 'a'},
		{"log-level", required_argument, NULL, 'L'},
		{"metrics-file", required_argument, NULL, 'M'},
		{"uninstall", no_argument, NULL, 'U'},
		{"user", required_argument, NULL, 'u'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct jit_error err;
	int ch;

	memset(o, 0, sizeof(*o));
	o->kind = JIT_EP_HOST;
	o->os = JIT_OS_LINUX;
	o->level = JIT_LOG_INFO;
	o->user = DEFAULT_USER;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			o->server = optarg;
			break;
		case 'c':
			o->ca = optarg;
			break;
		case 'd':
			o->state_dir = optarg;
			break;
		case 't':
			o->enroll_token = optarg;
			break;
		case 'k':
			if (jit_ep_kind_parse(optarg, &o->kind, &err) != 0)
				return bad_arg("--kind must be host or gateway, not '%s'", optarg);
			break;
		case 'n':
			if (check_name(optarg, "--name") != 0)
				return 2;
			o->name = optarg;
			break;
		case 'm':
			if (check_name(optarg, "--vm-name") != 0)
				return 2;
			o->vm_name = optarg;
			break;
		case 'o':
			if (jit_os_parse(optarg, &o->os, &err) != 0)
				return bad_arg("--os must be linux or windows, not '%s'", optarg);
			break;
		case 'a': {
			struct jit_prefix *p = &o->addresses[o->n_addresses];

			if (o->n_addresses == JIT_CP_MAX_ADDRESSES)
				return bad_arg("at most %d --address", JIT_CP_MAX_ADDRESSES);
			if (jit_prefix_parse(optarg, p, &err) != 0 || p->family == JIT_FAMILY_ANY ||
				p->len != (p->family == JIT_FAMILY_INET ? 32 : 128))
				return bad_arg("--address must be one IPv4 or IPv6 address, "
					"not '%s'", optarg);
			o->n_addresses++;
			break;
		}
		case 'L':
			if (parse_level(optarg, &o->level) != 0)
				return bad_arg("--log-level must be debug, info, warn or error, "
					"not '%s'", optarg);
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'U':
			o->uninstall = true;
			break;
		case 'M':
			if (optarg[0] == '\0')
				return bad_arg("%s", "--metrics-file needs a file name");
			o->metrics_file = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("jitgate-agent %s\n", JITGATE_VERSION);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc)
		return bad_arg("unexpected argument '%s'", argv[optind]);
	if (o->uninstall)
		return 0;
	if (o->server == NULL || o->ca == NULL || o->state_dir == NULL) {
		usage(stderr);
		return 2;
	}
	if (o->kind == JIT_EP_GATEWAY && (o->vm_name != NULL || o->n_addresses > 0))
		return bad_arg("%s", "--vm-name and --address describe a host's own VM; a gateway "
			"registers none");
	return default_names(o);
}

static void
on_signal(int sig)
{
	stop_signal = sig;
}

static int
catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a sleeping backoff wakes at once. */
	if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * JIT_NS_PER_SEC + ts.tv_nsec;
}

static void
fmt_u64(char buf[24], uint64_t v)
{
	snprintf(buf, 24, "%llu", (unsigned long long)v);
}

static void
fmt_size(char buf[24], size_t v)
{
	snprintf(buf, 24, "%zu", v);
}

static int idle(void *arg);

/* Sleeps ms, or less if a signal arrives; watches the table meanwhile. */
static void
sleep_ms(struct agent *a, unsigned ms)
{
	int64_t end = mono_ns() + (int64_t)ms * 1000000LL;

	while (!stop_signal) {
		struct pollfd p = { .fd = jit_privsep_event_fd(a->ps), .events = POLLIN };
		int64_t left = (end - mono_ns()) / 1000000LL;

		if (left <= 0)
			return;
		(void)poll(&p, 1, left > 1000 ? 1000 : (int)left);
		(void)idle(a);
	}
}

/* The next delay after one more failure (backoff.h). */
static unsigned
backoff_ms(struct agent *a)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint32_t)mono_ns();
	return jit_backoff_ms(a->failures++, r);
}

/* Logs why we wait, then waits with backoff. */
static void
retry_later(struct agent *a, const char *event, const char *during,
	const struct jit_error *err)
{
	unsigned ms = backoff_ms(a);
	char retry[24], status[24], attempt[24];

	snprintf(retry, sizeof(retry), "%u.%03us", ms / 1000, ms % 1000);
	snprintf(status, sizeof(status), "%d", err->status);
	fmt_u64(attempt, a->failures);
	jit_log(JIT_LOG_WARN, event, "during", during, "status", status, "error", err->message,
		"attempt", attempt, "retry_in", retry, (const char *)NULL);
	sleep_ms(a, ms);
}

/* This machine's addresses, loopback and link-local left out. */
static size_t
local_addresses(struct jit_prefix *out, size_t max)
{
	struct ifaddrs *ifs = NULL;
	struct jit_error err;
	size_t n = 0;

	if (getifaddrs(&ifs) != 0)
		return 0;
	for (struct ifaddrs *i = ifs; i != NULL && n < max; i = i->ifa_next) {
		struct jit_prefix p;

		if (i->ifa_addr == NULL || (i->ifa_flags & IFF_LOOPBACK) ||
			(i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
			continue;
		if (jit_prefix_from_sockaddr(i->ifa_addr, &p, &err) != 0)
			continue;
		if (p.family == JIT_FAMILY_INET6 && p.addr[0] == 0xfe && (p.addr[1] & 0xc0) == 0x80)
			continue;
		out[n++] = p;
	}
	freeifaddrs(ifs);
	return n;
}

static void
os_text(char out[OS_MAX])
{
	struct utsname u;

	if (uname(&u) != 0)
		snprintf(out, OS_MAX, "Linux");
	else
		snprintf(out, OS_MAX, "%.40s %.100s %.40s", u.sysname, u.release, u.machine);
}

static void
probe(struct agent *a)
{
	struct jit_error err;
	bool was = a->nftables;

	a->nftables = jit_privsep_probe(a->ps, a->kind, &err) == 0;
	if (!a->nftables) {
		snprintf(a->message, sizeof(a->message), "nftables cannot enforce here: %s",
			err.message);
		jit_log(JIT_LOG_WARN, "nftables_unusable", "kind", jit_ep_kind_name(a->kind),
			"error", err.message, (const char *)NULL);
	} else if (!was) {
		jit_log(JIT_LOG_INFO, "nftables_ok", "kind", jit_ep_kind_name(a->kind),
			(const char *)NULL);
	}
}

/* A state fetched at fetched_at, applied later: secondsRemaining counted from then,
 * so it shrinks by the time since (rounded up: access ends early, never late). */
static void
age_state(struct jit_desired_state *ds, jit_time fetched_at, jit_time now)
{
	int64_t gone;

	if (now <= fetched_at)
		return;
	gone = (now - fetched_at + JIT_NS_PER_SEC - 1) / JIT_NS_PER_SEC;
	for (size_t i = 0; i < ds->n_rules; i++) {
		for (size_t k = 0; k < ds->rules[i].n_grants; k++) {
			struct jit_grant *g = &ds->rules[i].grants[k];

			g->seconds_remaining = g->seconds_remaining > gone ?
				g->seconds_remaining - gone : 0;
		}
	}
}

static void
write_metrics(struct agent *a)
{
	struct jit_error err;

	if (a->o->metrics_file == NULL)
		return;
	a->metrics.healthy = a->ok && a->nftables;
	if (jit_agent_metrics_write(&a->metrics, a->o->metrics_file, &err) != 0)
		jit_log(JIT_LOG_WARN, "metrics_write_failed", "error", err.message,
			(const char *)NULL);
}

/* One apply in the metrics; a repair (drift found, or an update the table refused)
 * counts as a drift repair. */
static void
note_apply(struct agent *a, const struct jit_desired_state *ds, const char *source, bool ok,
	bool repair, const struct jit_enforce_stats *st, int64_t ns)
{
	struct jit_agent_metrics *m = &a->metrics;

	jit_agent_metrics_apply(m, ok, strcmp(source, "saved") == 0 ? JIT_APPLY_SAVED :
		JIT_APPLY_SERVER, ns);
	if (ok) {
		m->drift_repairs += repair;
		m->grants = st->elements;
		m->locked = st->locked;
		m->applied_version = ds->version;
		m->last_apply = jit_time_now();
	}
}

/* a->current's secondsRemaining counted from now rather than from its fetch: what is
 * taken off is rounded up once in total, however often this runs. */
static void
age_current(struct agent *a, jit_time now)
{
	int64_t gone, delta;

	if (now <= a->current_at)
		return;
	gone = (now - a->current_at + JIT_NS_PER_SEC - 1) / JIT_NS_PER_SEC;
	delta = gone - a->current_aged;
	if (delta <= 0)
		return;
	a->current_aged = gone;
	for (size_t i = 0; i < a->current->n_rules; i++) {
		for (size_t k = 0; k < a->current->rules[i].n_grants; k++) {
			struct jit_grant *g = &a->current->rules[i].grants[k];

			g->seconds_remaining = g->seconds_remaining > delta ?
				g->seconds_remaining - delta : 0;
		}
	}
}

/* Rebuilds the table from m; on success, remembers its layout for the drift checks. */
static int
rebuild(struct agent *a, const struct jit_nft_model *m, struct jit_error *err)
{
	struct jit_enforcer_view v;
	struct jit_nft_op *ops = NULL;
	size_t n;
	int r;

	if (jit_plan_rebuild(m, &ops, &n, err) != 0)
		return -1;
	r = jit_privsep_commit(a->ps, m->kind, true, ops, n, err);
	free(ops);
	if (r != 0)
		return -1;
	free(a->layout);
	a->layout = NULL;
	if (jit_privsep_read(a->ps, m->kind, false, &v, err) == 0) {
		a->layout = v.layout;
		v.layout = NULL;
		jit_enforcer_view_clear(&v);
	} else {
		jit_log(JIT_LOG_WARN, "layout_unread", "error", err->message, (const char *)NULL);
	}
	return 0;
}

/* Applies ds: only the element changes when the table holds what we applied (full
 * false), a rebuild otherwise. source says where ds came from (server, saved, repair).
 * On success ds becomes a->current (taken); on failure the caller keeps it. */
static int
apply(struct agent *a, struct jit_desired_state *ds, jit_time fetched_at, const char *source,
	bool full)
{
	char version[24], ops_n[24], elements[24], expired[24], ms[24];
	struct jit_nft_model *m = NULL;
	struct jit_nft_op *ops = NULL;
	const char *mode = "rebuild";
	struct jit_error err;
	int64_t t0 = mono_ns(), took;
	jit_time now = jit_time_now();
	size_t n = 0;
	int r;

	fmt_u64(version, ds->version);
	if (jit_plan_model(ds, now, &m, &err) != 0)
		goto fail;
	if (!full && a->applied != NULL) {
		r = jit_plan_diff(a->applied, m, now, &ops, &n, &err);
		if (r < 0)
			goto fail;
		if (r == 0) {
			mode = "update";
			if (jit_privsep_commit(a->ps, m->kind, false, ops, n, &err) != 0) {
				/* The table is not what we applied (or nftables refused):
				 * the rebuild below makes it right whatever it holds. */
				jit_log(JIT_LOG_WARN, "update_failed", "version", version,
					"error", err.message, "detail", "rebuilding the table",
					(const char *)NULL);
				mode = "rebuild after a failed update";
				a->repairs++;
				r = 1;
			}
		}
		if (r == 1 && strcmp(mode, "update") == 0)
			mode = "rebuild";
		if (r == 1)
			n = m->n;
	} else {
		n = m->n;
	}
	if (strcmp(mode, "update") != 0 && rebuild(a, m, &err) != 0)
		goto fail;
	took = mono_ns() - t0;
	if (took > a->slack_ns)
		a->slack_ns = took;
	note_apply(a, ds, source, true, strcmp(source, "repair") == 0 ||
		strcmp(mode, "rebuild after a failed update") == 0, &m->st, took);
	snprintf(ms, sizeof(ms), "%.1f", (double)took / 1e6);
	fmt_size(ops_n, n);
	fmt_size(elements, m->st.elements);
	fmt_size(expired, m->st.expired);
	jit_log(JIT_LOG_INFO, "applied", "version", version, "source", source, "mode", mode,
		"operations", ops_n, "elements", elements, "expired", expired, "ms", ms,
		(const char *)NULL);
	if (m->st.mapped > 0)
		jit_log(JIT_LOG_WARN, "port_mapping_unsupported", "version", version,
			"detail", "grants with mappedPort open the VM's own port; no DNAT yet",
			(const char *)NULL);
	snprintf(a->message, sizeof(a->message), "applied version %s (%s, %s of %s elements): "
		"%zu locked, %s elements", version, source, strcmp(mode, "update") == 0 ?
		"update" : "rebuild", ops_n, m->st.locked, elements);
	free(ops);
	jit_plan_model_free(a->applied);
	a->applied = m;
	if (a->current != ds) {
		jit_desired_state_free(a->current);
		a->current = ds;
		a->current_at = fetched_at;
		a->current_aged = 0;
	}
	a->applied_version = ds->version;
	a->last_apply_mono = mono_ns();
	a->next_check_mono = a->last_apply_mono + (a->check_ns * 100 > CHECK_INTERVAL_NS ?
		a->check_ns * 100 : CHECK_INTERVAL_NS);
	a->ok = true;
	a->nftables = true;
	a->report_due = true;
	write_metrics(a);
	return 0;
fail:
	free(ops);
	jit_plan_model_free(m);
	/* Whatever the table holds now, it is not known to be a->applied. */
	jit_plan_model_free(a->applied);
	a->applied = NULL;
	a->ok = false;
	a->report_due = true;
	snprintf(a->message, sizeof(a->message), "version %s from %s: %s", version, source,
		err.message);
	jit_log(JIT_LOG_ERROR, "apply_failed", "version", version, "source", source,
		"error", err.message, (const char *)NULL);
	probe(a);
	note_apply(a, ds, source, false, false, &(struct jit_enforce_stats){ 0 },
		mono_ns() - t0);
	write_metrics(a);
	return -1;
}

/* Reads the table back and compares it with what we applied; repairs and reports any
 * difference. why: "event" or "periodic". True when it repaired. */
static bool
check_table(struct agent *a, const char *why)
{
	struct jit_enforcer_view v;
	struct jit_nft_drift d;
	struct jit_error err;
	char what[160], repairs[24];
	int64_t t0 = mono_ns(), took;
	jit_time now;

	a->next_check_mono = t0 + CHECK_INTERVAL_NS;
	/* Also while jitgated is away: the table then holds the saved state, repaired the
	 * same way. */
	if (a->applied == NULL || a->current == NULL)
		return false;
	if (jit_privsep_read(a->ps, a->applied->kind, true, &v, &err) != 0) {
		jit_log(JIT_LOG_WARN, "check_failed", "error", err.message, (const char *)NULL);
		return false;
	}
	now = jit_time_now();
	took = mono_ns() - t0;
	a->check_ns = took;
	if (took * 100 > CHECK_INTERVAL_NS)
		a->next_check_mono = mono_ns() + took * 100;
	if (!v.exists)
		snprintf(what, sizeof(what), "table inet jitgate was deleted");
	else if (a->layout != NULL && strcmp(a->layout, v.layout) != 0)
		snprintf(what, sizeof(what), "its sets, chain or rules were changed");
	else if (jit_plan_compare(a->applied, v.elems, v.n, now, a->slack_ns, &d))
		snprintf(what, sizeof(what), "%zu elements missing, %zu foreign, %zu with another "
			"timeout", d.missing, d.foreign, d.changed);
	else
		what[0] = '\0';
	if (a->layout == NULL && v.exists) {
		a->layout = v.layout;
		v.layout = NULL;
	}
	jit_enforcer_view_clear(&v);
	if (what[0] == '\0')
		return false;
	a->repairs++;
	fmt_u64(repairs, a->repairs);
	jit_log(JIT_LOG_WARN, "drift_detected", "found_by", why, "what", what, "repairs", repairs,
		(const char *)NULL);
	age_current(a, now);
	if (apply(a, a->current, a->current_at, "repair", true) != 0)
		return true;
	jit_log(JIT_LOG_INFO, "drift_repaired", "what", what, (const char *)NULL);
	snprintf(a->message + strlen(a->message), sizeof(a->message) - strlen(a->message),
		"; repaired drift (%s), repair %s", what, repairs);
	return true;
}

/* Between and during requests: ruleset events and the periodic check. Non-zero (cut a
 * long poll short) after a repair, so that jitgated hears of it at once. */
static int
idle(void *arg)
{
	struct agent *a = arg;
	bool event = jit_privsep_changed(a->ps);

	if (!event && mono_ns() < a->next_check_mono)
		return 0;
	if (!check_table(a, event ? "event" : "periodic") || !a->polling)
		return 0;
	a->interrupt = true;
	return 1;
}

static void
report(struct agent *a)
{
	struct jit_prefix addrs[JIT_CP_MAX_ADDRESSES];
	struct jit_agent_status st = {
		.applied_version = a->applied_version,
		.healthy = a->ok && a->nftables,
		.nftables = a->nftables,
		.os = a->os,
		.addresses = addrs,
		.message = a->message[0] != '\0' ? a->message : NULL,
	};
	struct jit_error err;

	st.n_addresses = local_addresses(addrs, JIT_CP_MAX_ADDRESSES);
	/* Cleared first: a repair during the call makes another report due. */
	a->report_due = false;
	if (jit_cp_report(a->cp, &st, &err) != 0) {
		a->report_due = true;
		jit_log(JIT_LOG_WARN, "report_failed", "error", err.message, (const char *)NULL);
	}
}

/* Server unreachable (or refusing): the table stays; once, at start, the saved state
 * is applied again so that it matches what was last applied. */
static void
offline(struct agent *a, const struct jit_error *err)
{
	if (!a->synced && a->saved != NULL) {
		jit_time now = jit_time_now();

		age_state(a->saved, a->saved_at, now);
		/* Taken by apply on success. */
		if (apply(a, a->saved, now, "saved", true) == 0)
			a->saved = NULL;
	}
	retry_later(a, err->status == 503 ? "server_unreachable" : "server_refused",
		"desired-state", err);
}

static void
save_state(struct agent *a, const struct jit_desired_state *ds, jit_time fetched_at)
{
	struct jit_error err;

	if (jit_sd_save_state(a->sd, ds, fetched_at, &err) != 0)
		jit_log(JIT_LOG_WARN, "save_failed", "error", err.message, (const char *)NULL);
}

static void
run(struct agent *a)
{
	while (!stop_signal) {
		struct jit_desired_state *ds = NULL;
		struct jit_error err;
		jit_time fetched_at;
		int r;

		if (a->report_due && a->reachable)
			report(a);
		a->interrupt = false;
		a->polling = true;
		r = jit_cp_desired_state(a->cp, a->synced ? &a->applied_version : NULL, LONG_POLL_S,
			&ds, &err);
		a->polling = false;
		if (r != 0 && a->interrupt)
			continue;   /* a repair cut the poll short: report it, poll again */
		if (r != 0) {
			a->reachable = err.status != 503;
			if (a->metrics.reachable != a->reachable) {
				a->metrics.reachable = a->reachable;
				write_metrics(a);
			}
			if (!stop_signal)
				offline(a, &err);
			continue;
		}
		a->reachable = true;
		if (!a->metrics.reachable) {
			a->metrics.reachable = true;
			write_metrics(a);
		}
		fetched_at = jit_time_now();
		if (a->synced && ds->version == a->applied_version) {
			jit_desired_state_free(ds);
			a->failures = 0;
			continue;
		}
		/* The first answer of this run is applied in full (a rebuild: whatever the
		 * table held goes); a new version after it, as the changes only. */
		jit_desired_state_free(a->saved);
		a->saved = NULL;
		if (apply(a, ds, fetched_at, "server", !a->synced) == 0) {
			/* ds is a->current now */
			a->synced = true;
			save_state(a, ds, fetched_at);
			a->failures = 0;
			continue;
		}
		jit_desired_state_free(ds);
		a->synced = false;
		if (a->report_due)
			report(a);
		jit_errorf(&err, 500, JIT_E_INTERNAL, "%s", a->message);
		retry_later(a, "apply_retry", "apply", &err);
	}
}

/* Trades the enrollment token for a credential, retrying while jitgated is away. */
static int
enroll(struct agent *a, const char *token)
{
	struct jit_prefix addrs[JIT_CP_MAX_ADDRESSES];
	const struct options *o = a->o;
	struct jit_enroll_request rq = {
		.token = token,
		.name = o->name,
		.kind = o->kind,
		.vm_name = o->vm_name,
		.os = o->os,
		.addresses = o->n_addresses > 0 ? o->addresses : addrs,
	};
	struct jit_enrollment e;
	struct jit_error err;
	int r = -1;

	rq.n_addresses = o->n_addresses > 0 ? o->n_addresses :
		local_addresses(addrs, JIT_CP_MAX_ADDRESSES);
	for (;;) {
		if (stop_signal)
			return -1;
		if (jit_cp_enroll(a->cp, &rq, &e, &err) == 0)
			break;
		/* A 4xx will not change by retrying, but for timeouts and throttling. */
		if (err.status >= 400 && err.status < 500 && err.status != 408 &&
			err.status != 429) {
			jit_log(JIT_LOG_ERROR, "enroll_refused", "error", err.message,
				(const char *)NULL);
			return -1;
		}
		retry_later(a, "server_unreachable", "enroll", &err);
	}
	a->failures = 0;
	if (jit_sd_save_enrollment(a->sd, &e, &err) != 0) {
		jit_log(JIT_LOG_ERROR, "enroll_not_saved", "error", err.message, "detail",
			"enrolled, but the credential could not be kept; the enrollment token is "
			"used up: make a new one", (const char *)NULL);
		goto out;
	}
	if (jit_cp_set_credential(a->cp, e.credential, &err) != 0) {
		jit_log(JIT_LOG_ERROR, "fatal", "error", err.message, (const char *)NULL);
		goto out;
	}
	snprintf(a->ep, sizeof(a->ep), "%s", e.enforcement_point);
	a->kind = e.kind;
	jit_log(JIT_LOG_INFO, "enrolled", "enforcement_point", e.enforcement_point, "kind",
		jit_ep_kind_name(e.kind), "vm", e.vm[0] != '\0' ? e.vm : NULL, (const char *)NULL);
	r = 0;
out:
	explicit_bzero(&e, sizeof(e));
	return r;
}

/* Loads the credential (and who we are) if enrolled. *enrolled false otherwise. */
static int
load_enrollment(struct agent *a, bool *enrolled, struct jit_error *err)
{
	char cred[JIT_CP_TOKEN_MAX];
	bool found;
	int r;

	if (jit_sd_load_credential(a->sd, cred, enrolled, err) != 0)
		return -1;
	if (!*enrolled)
		return 0;
	r = jit_cp_set_credential(a->cp, cred, err);
	explicit_bzero(cred, sizeof(cred));
	if (r != 0)
		return -1;
	a->kind = a->o->kind;
	if (jit_sd_load_enrollment(a->sd, &a->kind, a->ep, &found, err) != 0)
		return -1;
	return 0;
}

static int
uninstall(void)
{
	struct jit_enforcer *e = NULL;
	struct jit_privs privs;
	struct jit_error err;
	int rc = 1;

	if (jit_privs_drop(&privs, &err) != 0 || jit_enforcer_open(&e, &err) != 0 ||
		jit_enforcer_remove(e, &err) != 0) {
		jit_log(JIT_LOG_ERROR, "uninstall_failed", "error", err.message,
			(const char *)NULL);
		goto out;
	}
	jit_log(JIT_LOG_INFO, "uninstalled", "table", JIT_ENFORCER_FAMILY " " JIT_ENFORCER_TABLE,
		(const char *)NULL);
	rc = 0;
out:
	jit_enforcer_free(e);
	return rc;
}

static void
log_sandbox(const struct jit_privsep *ps)
{
	struct jit_privsep_info i;
	char uid[16], pid[16];

	jit_privsep_info(ps, &i);
	snprintf(uid, sizeof(uid), "%u", i.uid);
	snprintf(pid, sizeof(pid), "%d", i.enforcer_pid);
	jit_log(JIT_LOG_INFO, "privileges", "process", "network", "uid", uid, "kept", "none",
		"no_new_privs", "1", "seccomp", "filter", "enforcer_pid", pid, (const char *)NULL);
}

/* The CA is read at every TLS handshake, by the network process: say so at once when
 * its user cannot read it (it lives in jitgated's private state dir, say). */
static int
check_ca(const char *ca, struct jit_error *err)
{
	FILE *f = fopen(ca, "re");

	if (f == NULL)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST, "cannot read --ca %s as uid %u: %s",
			ca, (unsigned)geteuid(), strerror(errno));
	fclose(f);
	return 0;
}

int
main(int argc, char **argv)
{
	char token[JIT_CP_TOKEN_MAX] = "";
	struct jit_privsep_config ps = { .stop = &stop_signal, .wipe = token,
		.wipe_len = sizeof(token), .close_fd = -1 };
	char ca[64];
	struct agent a = { 0 };
	struct options o;
	struct jit_error err;
	bool enrolled = false;
	int rc;

	if ((rc = parse_args(argc, argv, &o)) != 0)
		return rc;
	jit_log_init("jitgate-agent", o.level, true);
	if (catch_signals() != 0) {
		fprintf(stderr, "jitgate-agent: cannot install signal handlers\n");
		return 1;
	}
	if (o.uninstall)
		return uninstall();
	rc = 1;
	/* Start-up, with the privileges the agent was given. As root, both processes will
	 * become --user: its state dir is theirs from now on, opened here so that they
	 * need not reach it by path, with a copy of the CA in it. The enrollment token may
	 * sit where only these privileges reach, so it is read now, when one is needed. */
	if (geteuid() == 0) {
		if (jit_privs_lookup_user(o.user, &ps.user, &err) != 0 ||
			jit_sd_give_to(o.state_dir, ps.user.uid, ps.user.gid, &err) != 0 ||
			jit_sd_open_for(o.state_dir, ps.user.uid, &a.sd, &err) != 0 ||
			jit_sd_keep_ca(a.sd, o.ca, ps.user.uid, ps.user.gid, ca, sizeof(ca),
			&err) != 0)
			goto fatal;
		ps.change_user = true;
		o.ca = ca;
	} else if (jit_sd_open(o.state_dir, &a.sd, &err) != 0) {
		goto fatal;
	}
	ps.close_fd = jit_sd_fd(a.sd);
	if (!jit_sd_has_credential(o.state_dir) && o.enroll_token != NULL &&
		jit_sd_read_token_file(o.enroll_token, token, &err) != 0)
		goto fatal;
	/* The split (privsep.h): the parent becomes the enforcer and never comes back. */
	if (jit_privsep_start(&ps, &a.ps, &err) != 0)
		goto fatal;
	log_sandbox(a.ps);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		jit_errorf(&err, 500, JIT_E_INTERNAL, "libcurl cannot start");
		goto fatal;
	}
	a.o = &o;
	a.kind = o.kind;
	jit_agent_metrics_init(&a.metrics);
	os_text(a.os);
	if (check_ca(o.ca, &err) != 0 ||
		jit_cp_open(o.server, o.ca, &stop_signal, &a.cp, &err) != 0 ||
		load_enrollment(&a, &enrolled, &err) != 0)
		goto fatal;
	if (!enrolled && token[0] == '\0') {
		jit_errorf(&err, 400, JIT_E_BAD_REQUEST,
			"not enrolled yet (no %s/credential): give --enroll-token FILE",
			o.state_dir);
		goto fatal;
	}
	jit_cp_set_idle(a.cp, idle, &a);
	jit_log(JIT_LOG_INFO, "starting", "server", o.server, "state_dir", o.state_dir,
		"enrolled", enrolled ? "yes" : "no", "version", JITGATE_VERSION,
		(const char *)NULL);
	if (enrolled && o.enroll_token != NULL)
		jit_log(JIT_LOG_INFO, "already_enrolled", "enforcement_point",
			a.ep[0] != '\0' ? a.ep : NULL, "detail", "--enroll-token is not used",
			(const char *)NULL);
	if (!enrolled) {
		rc = enroll(&a, token);
		explicit_bzero(token, sizeof(token));
		if (rc != 0) {
			rc = stop_signal ? 0 : 1;
			goto out;
		}
		rc = 1;
	}
	explicit_bzero(token, sizeof(token));
	if (jit_sd_load_state(a.sd, &a.saved, &a.saved_at, &err) != 0) {
		jit_log(JIT_LOG_WARN, "saved_state_unusable", "error", err.message,
			(const char *)NULL);
		a.saved = NULL;
	}
	probe(&a);
	run(&a);
	jit_log(JIT_LOG_INFO, "stopping", "signal", stop_signal == SIGINT ? "INT" : "TERM",
		"detail", "table inet jitgate stays in place", (const char *)NULL);
	rc = 0;
	goto out;
fatal:
	jit_log(JIT_LOG_ERROR, "fatal", "error", err.message, (const char *)NULL);
out:
	explicit_bzero(token, sizeof(token));
	jit_desired_state_free(a.saved);
	jit_desired_state_free(a.current);
	jit_plan_model_free(a.applied);
	free(a.layout);
	jit_privsep_free(a.ps);
	jit_cp_free(a.cp);
	jit_sd_free(a.sd);
	curl_global_cleanup();
	return rc;
}
