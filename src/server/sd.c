/*
 * sd.c: jitgated and systemd (see sd.h), on libsystemd's sd-daemon.
 *
 * The watchdog proves the service works rather than that a timer fires: its ping
 * follows a request through the whole path a client takes (TCP accept, TLS with
 * jitgated's own certificate, an HTTP thread, the handler, a store read transaction).
 * A wedged listener, exhausted connection threads or a store that cannot be read stop
 * the pings, and systemd restarts jitgated after WatchdogSec.
 */
#include "sd.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "log.h"

void
jit_sd_raise_nofile(void)
{
	struct rlimit rl;
	char from[24], to[24];

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	snprintf(from, sizeof(from), "%llu", (unsigned long long)rl.rlim_cur);
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		jit_log(JIT_LOG_WARN, "nofile_limit", "error", strerror(errno), (const char *)NULL);
		return;
	}
	snprintf(to, sizeof(to), "%llu", (unsigned long long)rl.rlim_cur);
	jit_log(JIT_LOG_INFO, "nofile_limit", "from", from, "to", to, (const char *)NULL);
}

int
jit_sd_listen_fd(struct jit_error *err)
{
	int n = sd_listen_fds(1);

	if (n <= 0)
		return -1;
	if (n > 1) {
		jit_errorf(err, 500, JIT_E_INTERNAL,
			"systemd passed %d sockets; jitgated listens on one (one ListenStream=)", n);
		return -2;
	}
	if (sd_is_socket(SD_LISTEN_FDS_START, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
		jit_errorf(err, 500, JIT_E_INTERNAL,
			"the socket systemd passed is not a listening stream socket");
		return -2;
	}
	return SD_LISTEN_FDS_START;
}

void
jit_sd_ready(const char *addr, const char *port)
{
	sd_notifyf(0, "READY=1\nSTATUS=serving HTTPS on %s port %s", addr, port);
}

void
jit_sd_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

struct jit_sd_watchdog {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	uint64_t period_us;             /* WATCHDOG_USEC */
	char url[128];
};

static size_t
discard(char *p, size_t size, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * n;
}

/* One health check: 0 when /healthz answered 200, else -1 with why. */
static int
check(struct jit_sd_watchdog *w, long timeout_ms, char why[CURL_ERROR_SIZE + 32])
{
	char errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode rc;
	CURL *h = curl_easy_init();

	if (h == NULL) {
		snprintf(why, CURL_ERROR_SIZE + 32, "libcurl cannot start");
		return -1;
	}
	curl_easy_setopt(h, CURLOPT_URL, w->url);
	/* Our own listener over loopback: the handshake must work, but whom it reaches is
	 * not in question, and a certificate that does not name the loopback address (or a
	 * chain libcurl cannot build) must not get a healthy jitgated restarted. */
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	if (rc != CURLE_OK) {
		snprintf(why, CURL_ERROR_SIZE + 32, "%s", errbuf[0] ? errbuf :
			curl_easy_strerror(rc));
		return -1;
	}
	if (status != 200) {
		snprintf(why, CURL_ERROR_SIZE + 32, "/healthz answered %ld", status);
		return -1;
	}
	return 0;
}

static void *
watchdog_loop(void *arg)
{
	struct jit_sd_watchdog *w = arg;
	uint64_t half_us = w->period_us / 2;
	bool failing = false;

	for (;;) {
		char why[CURL_ERROR_SIZE + 32];
		struct timespec until;

		if (check(w, (long)(half_us / 1000), why) == 0) {
			sd_notify(0, failing ? "WATCHDOG=1\nSTATUS=serving" : "WATCHDOG=1");
			if (failing)
				jit_log(JIT_LOG_INFO, "health_check_passed", (const char *)NULL);
			failing = false;
		} else {
			sd_notifyf(0, "STATUS=health check failed: %s", why);
			if (!failing)
				jit_log(JIT_LOG_ERROR, "health_check_failed", "error", why,
					(const char *)NULL);
			failing = true;
		}
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += (time_t)(half_us / 1000000);
		until.tv_nsec += (long)(half_us % 1000000) * 1000;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&w->lock);
		while (!w->stop && pthread_cond_timedwait(&w->cond, &w->lock, &until) != ETIMEDOUT)
			;
		if (w->stop) {
			pthread_mutex_unlock(&w->lock);
			return NULL;
		}
		pthread_mutex_unlock(&w->lock);
	}
}

int
jit_sd_watchdog_start(const char *host, uint16_t port, struct jit_sd_watchdog **out,
	struct jit_error *err)
{
	struct jit_sd_watchdog *w;
	pthread_condattr_t ca;
	uint64_t usec = 0;

	*out = NULL;
	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "libcurl cannot start");
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	w->period_us = usec;
	snprintf(w->url, sizeof(w->url), strchr(host, ':') ? "https://[%s]:%u/healthz" :
		"https://%s:%u/healthz", host, (unsigned)port);
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&w->thread, NULL, watchdog_loop, w) != 0) {
		free(w);
		return jit_errorf(err, 500, JIT_E_INTERNAL, "cannot start the watchdog thread");
	}
	*out = w;
	return 0;
}

void
jit_sd_watchdog_stop(struct jit_sd_watchdog *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}
