/*
 * mhd_bare.c: the ceiling jitgated is measured against (bench/api.sh): a libmicrohttpd
 * TLS server with jitgated's daemon options (src/server/http.c: epoll, a pool of two
 * threads per core and at least 4, suspend/resume allowed, the same connection pool
 * size, limit, timeouts and TLS priorities) that answers every request with one fixed
 * body, as jitgated's handlers would after their work.
 *
 *   mhd_bare CERT_PEM KEY_PEM BODY_FILE
 *
 * Listens on 127.0.0.1 at a free port, prints "port N" and serves until SIGTERM/SIGINT.
 * A benchmark's reference, not a test: nothing is asserted.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

/* As in src/server/http.c. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:" \
	"+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:+AES-256-CCM:+AES-128-CCM:-MAC-ALL:+AEAD"
#define CONN_MEMORY_BYTES (32 * 1024)
#define MAX_CONNECTIONS 20000
#define IDLE_TIMEOUT_S 20

static char *body;
static size_t body_len;

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
		(buf = malloc((size_t)n + 1)) != NULL) {
		*len = fread(buf, 1, (size_t)n, f);
		buf[*len] = '\0';
	}
	fclose(f);
	return buf;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
	const char *version, const char *upload, size_t *upload_size, void **req_cls)
{
	static int first;
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload;
	if (*req_cls == NULL) {
		*req_cls = &first;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		*upload_size = 0;
		return MHD_YES;
	}
	r = MHD_create_response_from_buffer(body_len, body, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

int
main(int argc, char **argv)
{
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;
	char *cert, *key;
	size_t n;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = cores > 0 ? (unsigned)(2 * cores) : 4;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	sigset_t sigs;
	int sig;

	if (argc != 4) {
		fprintf(stderr, "usage: mhd_bare CERT_PEM KEY_PEM BODY_FILE\n");
		return 2;
	}
	if ((cert = slurp(argv[1], &n)) == NULL || (key = slurp(argv[2], &n)) == NULL ||
		(body = slurp(argv[3], &body_len)) == NULL) {
		fprintf(stderr, "mhd_bare: cannot read the certificate, key or body\n");
		return 1;
	}
	if (threads < 4)
		threads = 4;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	d = MHD_start_daemon(MHD_USE_TLS | MHD_USE_EPOLL_INTERNAL_THREAD |
		MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
		MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_HTTPS_MEM_CERT, cert,
		MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
		MHD_OPTION_THREAD_POOL_SIZE, threads,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY_BYTES,
		MHD_OPTION_STRICT_FOR_CLIENT, 1,
		MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "mhd_bare: libmicrohttpd did not start\n");
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("port %u\n", info != NULL ? (unsigned)info->port : 0U);
	fflush(stdout);
	sigwait(&sigs, &sig);
	MHD_stop_daemon(d);
	free(cert);
	free(key);
	free(body);
	return 0;
}
