/*
 * main.c: jitgated, the control plane. Unprivileged: it never touches a firewall.
 *
 *   jitgated --state-dir DIR [--store URI] [--listen ADDR:PORT] [--tls-cert F --tls-key F]
 *            [--tls-name NAME]... [--allow-root] [--log-level LEVEL]
 *            [--console-dir DIR | --no-console]
 *
 * First start on an empty state dir creates the database, a self-signed TLS
 * certificate, a default subscription and a bootstrap Owner token in
 * DIR/admin.token (0600; only its path is logged).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "audit_keyfile.h"
#include "svc_audit.h"
#include "rate_limit.h"
#include "auth.h"
#include "duration.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "sd.h"
#include "rbac.h"
#include "store.h"
#include "db.h"
#include "state_dir.h"
#include "svc_jit.h"
#include "svc_setup.h"
#include "tls.h"

#define DEFAULT_LISTEN "127.0.0.1:8443"
#define MAX_TLS_NAMES 16
#define SWEEP_INTERVAL_MS 1000
/* Addresses whose failed sign-ins are counted at once (auth_throttle.h). */
#define AUTH_THROTTLE_SLOTS 4096
/* Initiates per principal per minute: well above what a person or a script opening ports
 * for its work needs, well below what fills the audit log (each one is an entry). */
#define DEFAULT_INITIATE_LIMIT 30
#define JIT_STR_(x) #x
#define JIT_STR(x) JIT_STR_(x)
#define INITIATE_LIMIT_SLOTS 4096

struct options {
	const char *state_dir;
	const char *store;         /* NULL: sqlite:STATE_DIR/jitgate.db */
	const char *listen;
	const char *tls_cert;
	const char *tls_key;
	const char *tls_names[MAX_TLS_NAMES];
	size_t n_tls_names;
	bool allow_root;
	enum jit_log_level level;
	int64_t token_max_lifetime_ns;
	const char *console_dir;
	bool no_console;
	unsigned initiate_limit;   /* initiates per principal per minute; 0: none */
	const char *audit_key;     /* the audit key file (default STATE/audit.key) */
	int64_t checkpoint_interval_ns;
	bool rotate_audit_key;
	unsigned max_connections;  /* 0: JIT_HTTP_DEFAULT_MAX_CONNECTIONS */
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: jitgated --state-dir DIR [options]\n"
		"\n"
		"The jitgate control plane: the Azure-compatible JIT API over HTTPS.\n"
		"\n"
		"  --state-dir DIR      database, TLS material and admin.token (or JITGATE_STATE_DIR)\n"
		"  --store URI          sqlite:PATH (default: DIR/jitgate.db) or a PostgreSQL URI,\n"
		"                       e.g. postgresql://jitgate@db1,db2/jitgate?target_session_attrs=\n"
		"                       read-write (or JITGATE_STORE); replicas share one database\n"
		"  --store-password-file FILE  the PostgreSQL password (or PGPASSFILE, ~/.pgpass)\n"
		"  --listen ADDR:PORT   where to listen (default " DEFAULT_LISTEN "; [::]:8443 for IPv6)\n"
		"  --tls-cert FILE      PEM certificate to serve instead of the self-signed one\n"
		"  --tls-key FILE       its PEM private key\n"
		"  --tls-name NAME      extra DNS name or IP for the self-signed certificate (repeatable)\n"
		"  --max-token-lifetime DURATION  longest life of a new API token (ISO 8601,\n"
		"                       default P365D, at most P3650D)\n"
		"  --console-dir DIR    serve the web console's files from DIR (development)\n"
		"  --no-console         no web console at / (and no console sessions)\n"
		"  --allow-root         run as root anyway (not recommended)\n"
		"  --initiate-limit N   initiates per principal per minute (default "
		JIT_STR(DEFAULT_INITIATE_LIMIT) ", 0: no limit)\n"
		"  --audit-key FILE     the audit log's MAC and signing keys (default\n"
		"                       STATE/audit.key; created 0600 on first start)\n"
		"  --checkpoint-interval DURATION  how often a signed checkpoint of the audit\n"
		"                       log's head goes to the log when it moved (default PT15M)\n"
		"  --max-connections N  open connections at most, agents' long polls included\n"
		"                       (default " JIT_STR(JIT_HTTP_DEFAULT_MAX_CONNECTIONS) ")\n"
		"  --rotate-audit-key   add new audit keys (for the entries from the next one on)\n"
		"                       and exit; jitgated must be stopped\n"
		"  --log-level LEVEL    debug, info (default), warn or error\n"
		"  -h, --help           this text\n"
		"  --version            the version\n");
}

/* Splits "127.0.0.1:8443" or "[::1]:8443" into address and port. */
static int
parse_listen(const char *s, char *addr, size_t n, uint16_t *port)
{
	const char *colon;
	char *end;
	long p;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':' || (size_t)(close - s - 1) >= n)
			return -1;
		memcpy(addr, s + 1, (size_t)(close - s - 1));
		addr[close - s - 1] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || (size_t)(colon - s) >= n || colon == s)
			return -1;
		memcpy(addr, s, (size_t)(colon - s));
		addr[colon - s] = '\0';
	}
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || errno != 0 || p < 0 || p > 65535 || colon[1] == '\0')
		return -1;
	*port = (uint16_t)p;
	return 0;
}

static int
parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"state-dir", required_argument, NULL, 's'},
		{"store", required_argument, NULL, 'S'},
		{"store-password-file", required_argument, NULL, 'W'},
		{"listen", required_argument, NULL, 'l'},
		{"tls-cert", required_argument, NULL, 'c'},
		{"tls-key", required_argument, NULL, 'k'},
		{"tls-name", required_argument, NULL, 'n'},
		{"allow-root", no_argument, NULL, 'r'},
		{"max-token-lifetime", required_argument, NULL, 'T'},
		{"console-dir", required_argument, NULL, 'C'},
		{"no-console", no_argument, NULL, 'N'},
		{"log-level", required_argument, NULL, 'L'},
		{"initiate-limit", required_argument, NULL, 'I'},
		{"audit-key", required_argument, NULL, 'K'},
		{"checkpoint-interval", required_argument, NULL, 'P'},
		{"rotate-audit-key", no_argument, NULL, 'R'},
		{"max-connections", required_argument, NULL, 'M'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->listen = DEFAULT_LISTEN;
	o->level = JIT_LOG_INFO;
	o->token_max_lifetime_ns = JIT_TOKEN_LIFETIME_DEFAULT_NS;
	o->initiate_limit = DEFAULT_INITIATE_LIMIT;
	o->checkpoint_interval_ns = 15LL * 60 * JIT_NS_PER_SEC;
	o->state_dir = getenv("JITGATE_STATE_DIR");
	o->store = getenv("JITGATE_STORE");
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			o->state_dir = optarg;
			break;
		case 'S':
			o->store = optarg;
			break;
		case 'W':
			/* The driver reads the password from the file itself (db_pg.c). */
			if (access(optarg, R_OK) != 0) {
				fprintf(stderr, "jitgated: cannot read --store-password-file %s: %s\n",
					optarg, strerror(errno));
				return 2;
			}
			setenv("JITGATE_STORE_PASSWORD_FILE", optarg, 1);
			break;
		case 'l':
			o->listen = optarg;
			break;
		case 'c':
			o->tls_cert = optarg;
			break;
		case 'k':
			o->tls_key = optarg;
			break;
		case 'n':
			if (o->n_tls_names == MAX_TLS_NAMES) {
				fprintf(stderr, "jitgated: at most %d --tls-name\n", MAX_TLS_NAMES);
				return 2;
			}
			o->tls_names[o->n_tls_names++] = optarg;
			break;
		case 'r':
			o->allow_root = true;
			break;
		case 'T': {
			struct jit_error err;

			if (jit_duration_parse(optarg, &o->token_max_lifetime_ns, &err) != 0 ||
				o->token_max_lifetime_ns < 60LL * JIT_NS_PER_SEC ||
				o->token_max_lifetime_ns > JIT_TOKEN_LIFETIME_MAX_NS) {
				fprintf(stderr, "jitgated: --max-token-lifetime must be an ISO 8601 "
					"duration from PT1M to P3650D, e.g. P90D\n");
				return 2;
			}
			break;
		}
		case 'K':
			o->audit_key = optarg;
			break;
		case 'P': {
			struct jit_error err;

			if (jit_duration_parse(optarg, &o->checkpoint_interval_ns, &err) != 0 ||
				o->checkpoint_interval_ns < JIT_NS_PER_SEC ||
				o->checkpoint_interval_ns > 7LL * 86400 * JIT_NS_PER_SEC) {
				fprintf(stderr, "jitgated: --checkpoint-interval must be an ISO 8601 "
					"duration from PT1S to P7D, e.g. PT15M\n");
				return 2;
			}
			break;
		}
		case 'R':
			o->rotate_audit_key = true;
			break;
		case 'M': {
			char *end;
			unsigned long n;

			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' || errno != 0 ||
				n < 16 || n > 1000000) {
				fprintf(stderr, "jitgated: --max-connections must be 16 to 1000000\n");
				return 2;
			}
			o->max_connections = (unsigned)n;
			break;
		}
		case 'C':
			o->console_dir = optarg;
			break;
		case 'N':
			o->no_console = true;
			break;
		case 'I': {
			char *end;
			unsigned long n;

			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' || errno != 0 ||
				n > JIT_RATE_LIMIT_MAX_PER_MINUTE) {
				fprintf(stderr, "jitgated: --initiate-limit must be 0 to %d (initiates "
					"per principal per minute)\n", JIT_RATE_LIMIT_MAX_PER_MINUTE);
				return 2;
			}
			o->initiate_limit = (unsigned)n;
			break;
		}
		case 'L':
			if (strcmp(optarg, "debug") == 0)
				o->level = JIT_LOG_DEBUG;
			else if (strcmp(optarg, "info") == 0)
				o->level = JIT_LOG_INFO;
			else if (strcmp(optarg, "warn") == 0)
				o->level = JIT_LOG_WARN;
			else if (strcmp(optarg, "error") == 0)
				o->level = JIT_LOG_ERROR;
			else {
				fprintf(stderr, "jitgated: --log-level must be debug, info, warn or error\n");
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("jitgated %s\n", JITGATE_VERSION);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "jitgated: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (o->state_dir == NULL || o->state_dir[0] == '\0') {
		fprintf(stderr, "jitgated: --state-dir DIR (or JITGATE_STATE_DIR) is required\n");
		return 2;
	}
	if (o->console_dir != NULL && o->no_console) {
		fprintf(stderr, "jitgated: --console-dir and --no-console exclude each other\n");
		return 2;
	}
	if (o->console_dir != NULL) {
		struct stat sb;

		if (stat(o->console_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
			fprintf(stderr, "jitgated: --console-dir %s is not a directory\n",
				o->console_dir);
			return 2;
		}
	}
	if ((o->tls_cert == NULL) != (o->tls_key == NULL)) {
		fprintf(stderr, "jitgated: --tls-cert and --tls-key go together\n");
		return 2;
	}
	return 0;
}

/* dir/file into out; refuses paths that do not fit rather than truncating them. */
static int
join_path(char *out, size_t n, const char *dir, const char *file, struct jit_error *err)
{
	int r = snprintf(out, n, "%s/%s", dir, file);

	if (r < 0 || (size_t)r >= n)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "the path %s/%s is too long", dir, file);
	return 0;
}

static void
fatal(const char *what, const struct jit_error *err)
{
	jit_log(JIT_LOG_ERROR, "fatal", "what", what, "error", err->message, (const char *)NULL);
}

static int
load_tls(const struct options *o, char **cert, char **key, struct jit_error *err)
{
	char dir[PATH_MAX], cert_path[PATH_MAX], key_path[PATH_MAX];

	if (o->tls_cert != NULL) {
		snprintf(cert_path, sizeof(cert_path), "%s", o->tls_cert);
		snprintf(key_path, sizeof(key_path), "%s", o->tls_key);
	} else {
		/* Inside the state directory, nothing but what jitgated made: a planted tls/
		 * link or key must not become the served key (security finding 9). */
		if (join_path(dir, sizeof(dir), o->state_dir, "tls", err) != 0 ||
			join_path(cert_path, sizeof(cert_path), dir, "cert.pem", err) != 0 ||
			join_path(key_path, sizeof(key_path), dir, "key.pem", err) != 0)
			return -1;
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			return jit_errorf(err, 500, JIT_E_INTERNAL, "cannot create %s: %s", dir,
				strerror(errno));
		if (jit_state_dir_check(dir, false, err) != 0 ||
			jit_state_file_check(key_path, true, err) != 0 ||
			jit_state_file_check(cert_path, false, err) != 0 ||
			jit_tls_ensure_self_signed(dir, o->tls_names, o->n_tls_names, err) != 0)
			return -1;
	}
	if (jit_tls_read_pem(cert_path, cert, err) != 0 || jit_tls_read_pem(key_path, key, err) != 0)
		return -1;
	return jit_tls_check_pair(*cert, *key, err);
}

/* The address and port a listening socket is bound to. */
static int
socket_address(int fd, char *addr, size_t n, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		*port = ntohs(sin->sin_port);
		return inet_ntop(AF_INET, &sin->sin_addr, addr, (socklen_t)n) ? 0 : -1;
	}
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		*port = ntohs(sin6->sin6_port);
		return inet_ntop(AF_INET6, &sin6->sin6_addr, addr, (socklen_t)n) ? 0 : -1;
	}
	return -1;
}

/* Where this host reaches its own listener: the address itself, or loopback for the
 * wildcard ones. */
static const char *
loopback_for(const char *listen_addr)
{
	if (strcmp(listen_addr, "0.0.0.0") == 0)
		return "127.0.0.1";
	if (strcmp(listen_addr, "::") == 0)
		return "::1";
	return listen_addr;
}

/* http.c's waker asks the store for its two counters' changes (one wake-up path for a
 * local commit and, on a shared store, another replica's). */
static void
wait_store_change(void *ctx, const uint64_t seen[JIT_HTTP_WAKE_N], uint64_t now[JIT_HTTP_WAKE_N],
	int timeout_ms)
{
	uint64_t gen = seen[JIT_HTTP_WAKE_DESIRED], report = seen[JIT_HTTP_WAKE_REPORT];

	jit_store_wait_any(ctx, &gen, &report, timeout_ms);
	now[JIT_HTTP_WAKE_DESIRED] = gen;
	now[JIT_HTTP_WAKE_REPORT] = report;
}

struct sweeper {
	struct jit_store *store;
	struct jit_api *api;
	atomic_int stop;
	const struct jit_audit_keyring *keys;
	int64_t checkpoint_interval_ns;
	int64_t checkpoint_seq;     /* the head of the last checkpoint logged (-1: none) */
	jit_time checkpoint_at;
};

/* Failed sign-ins past the few audited one by one: one summary entry this often. */
#define FAILED_SIGN_IN_SUMMARY_NS (30LL * JIT_NS_PER_SEC)

/* A signed checkpoint of the audit log's head in the operator log, when the head moved
 * since the last one (or force): a copy outside the database anchors the chain. */
static void
log_checkpoint(struct sweeper *sw, jit_time now, bool force)
{
	char line[JIT_AUDIT_CHECKPOINT_LINE], seq[24], head[JIT_AUDIT_HEAD_HEX], t[JIT_TIME_BUFSZ];
	char pk[2 * JIT_AUDIT_SIGN_PK_BYTES + 1], sig[2 * JIT_AUDIT_SIG_BYTES + 1];
	struct jit_audit_checkpoint cp;
	struct jit_error err;

	if (!force && now - sw->checkpoint_at < sw->checkpoint_interval_ns)
		return;
	if (jit_svc_audit_checkpoint(sw->store, NULL, sw->keys, now, &cp, &err) != 0) {
		jit_log(JIT_LOG_WARN, "audit_checkpoint_failed", "error", err.message,
			(const char *)NULL);
		return;
	}
	sw->checkpoint_at = now;
	if (!force && cp.seq == sw->checkpoint_seq)
		return;
	sw->checkpoint_seq = cp.seq;
	/* The fields as jit_audit_checkpoint_to_line writes them, one log pair each. */
	jit_audit_checkpoint_to_line(&cp, line);
	if (sscanf(line, "seq=%23s head=%64s time=%31s key=%64s sig=%128s", seq, head, t, pk,
		sig) != 5)
		return;
	jit_log(JIT_LOG_INFO, "audit_checkpoint", "seq", seq, "head", head, "time", t, "key", pk,
		"sig", sig, (const char *)NULL);
}

static void *
sweep_loop(void *arg)
{
	struct sweeper *sw = arg;
	jit_time summarized = jit_time_now();

	while (!atomic_load(&sw->stop)) {
		jit_time now = jit_time_now();
		struct jit_error err;
		size_t n;

		/* Ended grants become Revoked/Expired, each with its audit entry (the kernel
		 * has closed them already, whether or not this runs). */
		if (jit_svc_expire(sw->store, now, &n, &err) != 0)
			jit_log(JIT_LOG_WARN, "sweep_failed", "error", err.message, (const char *)NULL);
		else
			jit_metrics_expired(n);
		if (now - summarized >= FAILED_SIGN_IN_SUMMARY_NS) {
			summarized = now;
			if (jit_api_audit_failed_sign_ins(sw->api, now, &err) != 0)
				jit_log(JIT_LOG_WARN, "sign_in_summary_failed", "error", err.message,
					(const char *)NULL);
		}
		log_checkpoint(sw, now, false);
		for (int i = 0; i < 10 && !atomic_load(&sw->stop); i++)
			usleep(SWEEP_INTERVAL_MS * 100);
	}
	/* And the head as this run leaves it. */
	log_checkpoint(sw, jit_time_now(), true);
	return NULL;
}

/* jitgated migrate --from sqlite:PATH --to URI --audit-key FILE [--store-password-file F] */
static int
migrate_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 't'},
		{"audit-key", required_argument, NULL, 'K'},
		{"store-password-file", required_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *from = NULL, *to = NULL, *key = NULL;
	struct jit_audit_keyfile kf = {.fd = -1};
	struct jit_migrate_report rep;
	bool created;
	int r;
	char shown[256];
	struct jit_error err;
	int ch;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			from = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'K':
			key = optarg;
			break;
		case 'P':
			if (access(optarg, R_OK) != 0) {
				fprintf(stderr, "jitgated: cannot read --store-password-file %s: %s\n",
					optarg, strerror(errno));
				return 2;
			}
			setenv("JITGATE_STORE_PASSWORD_FILE", optarg, 1);
			break;
		case 'h':
			printf("usage: jitgated migrate --from sqlite:PATH --to postgresql://...\n"
				"       --audit-key STATE_DIR/audit.key [--store-password-file FILE]\n\n"
				"Copies a whole installation (inventory, policies, requests, principals,\n"
				"tokens, roles, agents, the audit chain) into an empty PostgreSQL database,\n"
				"in one transaction, and verifies the audit chain there. Stop jitgated\n"
				"on the SQLite file first. The audit key file is the installation's (it\n"
				"stays outside the database: copy it to every replica).\n");
			return 0;
		default:
			return 2;
		}
	}
	if (from == NULL || to == NULL || key == NULL || optind != argc) {
		fprintf(stderr, "usage: jitgated migrate --from sqlite:PATH --to postgresql://... "
			"--audit-key FILE\n");
		return 2;
	}
	jit_log_init("jitgated", JIT_LOG_WARN, false);
	db_uri_redact(to, shown, sizeof(shown));
	/* The installation's own keys: an existing file only, never a new one. */
	if (access(key, R_OK) != 0) {
		fprintf(stderr, "jitgated: migrate: cannot read the audit key file %s: %s\n", key,
			strerror(errno));
		return 1;
	}
	if (jit_audit_keyfile_open(key, 1, &kf, &created, &err) != 0) {
		fprintf(stderr, "jitgated: migrate: %s\n", err.message);
		return 1;
	}
	r = jit_store_migrate(from, to, &kf.keys, &rep, &err);
	jit_audit_keyfile_close(&kf);
	if (r != 0) {
		fprintf(stderr, "jitgated: migrate: %s\n", err.message);
		return 1;
	}
	if (!rep.verdict.ok) {
		fprintf(stderr, "jitgated: migrate: copied, but the audit chain does not verify in "
			"%s: entry %lld: %s\n", shown, (long long)rep.verdict.first_broken_seq,
			rep.verdict.reason);
		return 1;
	}
	printf("migrated %lld rows into %s; the audit chain verifies (%lld entries)\n",
		(long long)rep.rows, shown, (long long)rep.verdict.entries);
	return 0;
}

/* Opens (creating on first start) the audit key file, keyed from the entry after the
 * current head; with rotate, adds new keys from there and logs their public half. */
static int
open_audit_keys(struct jit_store *st, const char *path, bool rotate,
	struct jit_audit_keyfile *kf, struct jit_error *err)
{
	char head[JIT_AUDIT_HASH_HEX], from[24], pk[2 * JIT_AUDIT_SIGN_PK_BYTES + 1];
	int64_t seq;
	bool created;

	if (jit_svc_audit_head(st, &seq, head, err) != 0 ||
		jit_audit_keyfile_open(path, seq + 1, kf, &created, err) != 0)
		return -1;
	if (rotate && !created && jit_audit_keyfile_rotate(kf, path, seq + 1, err) != 0)
		return -1;
	snprintf(from, sizeof(from), "%lld", (long long)kf->keys.mac[kf->keys.n_mac - 1].from_seq);
	sodium_bin2hex(pk, sizeof(pk), jit_audit_keyring_signer(&kf->keys)->pk,
		JIT_AUDIT_SIGN_PK_BYTES);
	jit_log(JIT_LOG_INFO, created ? "audit_key_created" : rotate ? "audit_key_rotated" :
		"audit_key_loaded", "file", path, "mac_from_seq", from, "signing_key", pk,
		(const char *)NULL);
	return 0;
}

int
main(int argc, char **argv)
{
	char db_path[PATH_MAX + 8], listen_addr[64], port_text[8], store_shown[256];
	struct jit_http_server *http = NULL;
	struct jit_store *store = NULL;
	struct jit_api api = {.long_poll_max_s = 30};
	struct jit_console console = {0};
	struct jit_http_config cfg = {0};
	struct options o;
	struct sweeper sw = {.checkpoint_seq = -1};
	struct jit_audit_keyfile keys = {.fd = -1};
	char key_path[PATH_MAX], token_path[PATH_MAX];
	char *cert = NULL, *key = NULL;
	struct jit_error err;
	struct jit_sd_watchdog *watchdog = NULL;
	pthread_t sweeper;
	bool sweeping = false;
	uint16_t port;
	sigset_t sigs;
	int rc, sig, listen_fd;

	if (argc > 1 && strcmp(argv[1], "migrate") == 0)
		return migrate_main(argc - 1, argv + 1);
	if ((rc = parse_args(argc, argv, &o)) != 0)
		return rc;
	jit_log_init("jitgated", o.level, true);
	if (parse_listen(o.listen, listen_addr, sizeof(listen_addr), &port) != 0) {
		fprintf(stderr, "jitgated: --listen must be ADDR:PORT, e.g. 127.0.0.1:8443 or "
			"[::1]:8443\n");
		return 2;
	}
	/* Socket activation: the socket systemd listens on replaces --listen. */
	if ((listen_fd = jit_sd_listen_fd(&err)) == -2) {
		fprintf(stderr, "jitgated: %s\n", err.message);
		return 1;
	}
	if (listen_fd > 2 && socket_address(listen_fd, listen_addr, sizeof(listen_addr),
		&port) != 0) {
		fprintf(stderr, "jitgated: cannot read the address of the socket systemd passed\n");
		return 1;
	}
	if (geteuid() == 0 && !o.allow_root) {
		fprintf(stderr, "jitgated: refusing to run as root; the control plane needs no "
			"privilege (use a service user, or --allow-root)\n");
		return 1;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "jitgated: libsodium cannot initialise\n");
		return 1;
	}
	/* Everything jitgated creates is its own alone: the database, its journal, keys. */
	umask(077);
	if (mkdir(o.state_dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "jitgated: cannot create %s: %s\n", o.state_dir, strerror(errno));
		return 1;
	}
	if (jit_state_dir_check(o.state_dir, true, &err) != 0) {
		fprintf(stderr, "jitgated: refusing the state directory: %s\n", err.message);
		return 1;
	}
	/* Signals are taken synchronously by sigwait below; every thread inherits the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	jit_sd_raise_nofile();

	rc = 1;
	if (o.store != NULL && o.store[0] != '\0')
		snprintf(db_path, sizeof(db_path), "%s", o.store);
	else if (join_path(db_path, sizeof(db_path), o.state_dir, "jitgate.db", &err) != 0 ||
		jit_state_file_check(db_path, true, &err) != 0) {
		fatal("opening the store", &err);
		goto out;
	}
	db_uri_redact(db_path, store_shown, sizeof(store_shown));
	if (jit_store_open(db_path, &store, &err) != 0) {
		fatal("opening the store", &err);
		goto out;
	}
	/* Its own line: the URI's own port= must not read as where we listen. */
	jit_log(JIT_LOG_INFO, "store_opened", "store", store_shown, "shared",
		jit_store_is_shared(store) ? "yes" : "no", (const char *)NULL);
	/* The audit keys, before any entry is written: created on first start, keyed from
	 * the next entry on (an older database's entries keep their unkeyed hashes). */
	if ((o.audit_key != NULL ? snprintf(key_path, sizeof(key_path), "%s", o.audit_key) < 0 :
		join_path(key_path, sizeof(key_path), o.state_dir, "audit.key", &err) != 0) ||
		open_audit_keys(store, key_path, o.rotate_audit_key, &keys, &err) != 0) {
		fatal("opening the audit key file", &err);
		goto out;
	}
	if (o.rotate_audit_key) {
		rc = 0;
		goto out;
	}
	jit_store_set_audit_keys(store, &keys.keys);
	api.audit_keys = &keys.keys;
	if (join_path(token_path, sizeof(token_path), o.state_dir, "admin.token", &err) != 0 ||
		jit_svc_setup_first_start(store, token_path, &err) != 0) {
		fatal("bootstrapping", &err);
		goto out;
	}
	if (load_tls(&o, &cert, &key, &err) != 0) {
		fatal("loading TLS material", &err);
		goto out;
	}
	api.store = store;
	if (jit_auth_throttle_new(&api.auth_throttle, AUTH_THROTTLE_SLOTS, &err) != 0) {
		fatal("setting up the sign-in throttle", &err);
		goto out;
	}
	api.token_max_lifetime_ns = o.token_max_lifetime_ns;
	console.enabled = !o.no_console;
	console.dir = o.console_dir;
	api.console = &console;
	if (o.initiate_limit > 0 && jit_rate_limit_new(&api.initiate_limit, o.initiate_limit,
		INITIATE_LIMIT_SLOTS, &err) != 0) {
		fatal("setting up the initiate limit", &err);
		goto out;
	}
	/* The names a client may reach this server by: its certificate's and where it listens. */
	const char *names[MAX_TLS_NAMES + 4] = {"localhost", "127.0.0.1", "::1", listen_addr};
	size_t n_names = 4;

	for (size_t i = 0; i < o.n_tls_names; i++)
		names[n_names++] = o.tls_names[i];
	api.names = names;
	api.n_names = n_names;
	cfg.listen_addr = listen_addr;
	cfg.port = port;
	cfg.listen_fd = listen_fd;
	cfg.cert_pem = cert;
	cfg.key_pem = key;
	cfg.handler = jit_api_handle;
	cfg.ctx = &api;
	cfg.max_connections = o.max_connections;
	cfg.wait_change = wait_store_change;
	cfg.wait_ctx = store;
	if (jit_http_start(&cfg, &http, &err) != 0) {
		fatal("starting HTTPS", &err);
		goto out;
	}
	jit_metrics_start();
	sw.store = store;
	sw.api = &api;
	sw.keys = &keys.keys;
	sw.checkpoint_interval_ns = o.checkpoint_interval_ns;
	log_checkpoint(&sw, jit_time_now(), true);
	if (pthread_create(&sweeper, NULL, sweep_loop, &sw) == 0)
		sweeping = true;
	snprintf(port_text, sizeof(port_text), "%u", jit_http_port(http));
	jit_log(JIT_LOG_INFO, "listening", "addr", listen_addr, "port", port_text, "state_dir",
		o.state_dir, "console", o.no_console ? "off" : o.console_dir ? o.console_dir :
		"embedded", "socket", listen_fd > 2 ? "systemd" : NULL, (const char *)NULL);
	/* The store is open and the listener answers: ready (Type=notify). */
	jit_sd_ready(listen_addr, port_text);
	if (jit_sd_watchdog_start(loopback_for(listen_addr), jit_http_port(http), &watchdog,
		&err) != 0)
		jit_log(JIT_LOG_ERROR, "watchdog_failed", "error", err.message, (const char *)NULL);
	if (sigwait(&sigs, &sig) == 0)
		jit_log(JIT_LOG_INFO, "stopping", "signal", sig == SIGTERM ? "TERM" : "INT",
			(const char *)NULL);
	jit_sd_stopping();
	rc = 0;
out:
	jit_sd_watchdog_stop(watchdog);
	/* Wake long polls first so that the HTTP threads can finish. */
	atomic_store(&api.stopping, 1);
	if (store != NULL)
		jit_store_wake_all(store);
	jit_http_stop(http);
	if (sweeping) {
		atomic_store(&sw.stop, 1);
		pthread_join(sweeper, NULL);
	}
	/* What was counted since the last summary is written down before the store closes. */
	if (store != NULL && jit_api_audit_failed_sign_ins(&api, jit_time_now(), &err) != 0)
		jit_log(JIT_LOG_WARN, "sign_in_summary_failed", "error", err.message,
			(const char *)NULL);
	jit_store_close(store);
	jit_audit_keyfile_close(&keys);
	jit_rate_limit_free(api.initiate_limit);
	jit_auth_throttle_free(api.auth_throttle);
	if (key != NULL)
		sodium_memzero(key, strlen(key));
	free(cert);
	free(key);
	return rc;
}
