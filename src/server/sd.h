/*
 * sd.h: jitgated under systemd (Type=notify). READY=1 once the store is open and the
 * listener answers; a watchdog that pings only while a real health check passes (an
 * HTTPS GET /healthz to jitgated's own listener, which reads the store); STOPPING=1 at
 * shutdown; the listening socket handed over by socket activation (sd_listen_fds); and
 * the soft limit on open files raised to the hard one. Outside systemd every call here
 * does nothing (no $NOTIFY_SOCKET, no $WATCHDOG_USEC, no $LISTEN_FDS).
 */
#ifndef JIT_SD_H
#define JIT_SD_H

#include <stdint.h>

#include "error.h"

/* Raises RLIMIT_NOFILE's soft limit to its hard one (each connection is a socket and a
 * thread; 1024 is too few for a fleet's long polls). Logs what it did. */
void jit_sd_raise_nofile(void);

/* The socket systemd passed (socket activation), or -1 when there is none; a second
 * one, or one that is not a listening TCP socket, is an error (-2 with err). */
int jit_sd_listen_fd(struct jit_error *err);

void jit_sd_ready(const char *addr, const char *port);
void jit_sd_stopping(void);

struct jit_sd_watchdog;

/* Starts the watchdog when systemd asked for one (WatchdogSec=): every half period it
 * checks https://HOST:PORT/healthz (HOST where the listener answers) and sends
 * WATCHDOG=1 only when that answered 200 within the half period; otherwise STATUS= says
 * why. *out is NULL when no watchdog is wanted. */
int jit_sd_watchdog_start(const char *host, uint16_t port, struct jit_sd_watchdog **out,
	struct jit_error *err);
void jit_sd_watchdog_stop(struct jit_sd_watchdog *w);

#endif
