/*
 * log.c: operator logs, one line per event (see log.h).
 *
 * A line is built whole in a fixed buffer and written with one write(2) under a
 * mutex, so lines from concurrent connection threads never interleave, and a
 * logger that cannot allocate still logs. Values are quoted logfmt-style when
 * they hold anything a reader or a parser could trip on; control characters are
 * escaped so a client cannot forge a log line through a value.
 */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* Longer lines are cut and marked truncated=true; an event is never worth more. */
#define LOG_LINE_MAX 4096
/* Room kept at the end of the line for a closing quote, the marker and '\n'. */
#define LOG_TAIL_RESERVE 32
#define LOG_PROG_MAX 32

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
/* openlog(3) keeps the ident pointer, so the name lives here for good. */
static char log_prog[LOG_PROG_MAX] = "jitgate";
static enum jit_log_level log_min = JIT_LOG_INFO;
static bool log_syslog;

struct line {
	char buf[LOG_LINE_MAX];
	size_t len;
	bool full;
};

static const char *
level_name(enum jit_log_level level)
{
	switch (level) {
	case JIT_LOG_DEBUG:
		return "debug";
	case JIT_LOG_INFO:
		return "info";
	case JIT_LOG_WARN:
		return "warn";
	case JIT_LOG_ERROR:
		return "error";
	}
	return "error";
}

static int
syslog_priority(enum jit_log_level level)
{
	switch (level) {
	case JIT_LOG_DEBUG:
		return LOG_DEBUG;
	case JIT_LOG_INFO:
		return LOG_INFO;
	case JIT_LOG_WARN:
		return LOG_WARNING;
	case JIT_LOG_ERROR:
		return LOG_ERR;
	}
	return LOG_ERR;
}

/* Appends n bytes unless that would eat into the tail reserve; then the line is full. */
static bool
put(struct line *l, const char *s, size_t n)
{
	if (l->full || l->len + n > sizeof(l->buf) - LOG_TAIL_RESERVE) {
		l->full = true;
		return false;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	return true;
}

/* Appends into the tail reserve; only for the closing quote, the marker and '\n'. */
static void
put_tail(struct line *l, const char *s)
{
	size_t n = strlen(s);

	if (l->len + n > sizeof(l->buf))
		n = sizeof(l->buf) - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static bool
needs_quotes(const char *v)
{
	const unsigned char *p;

	if (*v == '\0')
		return true;
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if (*p <= ' ' || *p == 0x7f || *p == '"' || *p == '=' || *p == '\\')
			return true;
	}
	return false;
}

/* One source byte as it appears in the line: itself, or an escape when quoted. */
static size_t
escape_byte(unsigned char c, char out[5])
{
	switch (c) {
	case '"':
		return (size_t)snprintf(out, 5, "\\\"");
	case '\\':
		return (size_t)snprintf(out, 5, "\\\\");
	case '\n':
		return (size_t)snprintf(out, 5, "\\n");
	case '\r':
		return (size_t)snprintf(out, 5, "\\r");
	case '\t':
		return (size_t)snprintf(out, 5, "\\t");
	}
	if (c < ' ' || c == 0x7f)
		return (size_t)snprintf(out, 5, "\\x%02x", c);
	out[0] = (char)c;
	return 1;
}

/* Keys come from our code, but a key that breaks the format would corrupt the line. */
static void
put_key(struct line *l, const char *k)
{
	char c;

	if (*k == '\0') {
		put(l, "_", 1);
		return;
	}
	for (; *k != '\0'; k++) {
		c = *k;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			    c == '_' || c == '.' || c == '-'))
			c = '_';
		if (!put(l, &c, 1))
			return;
	}
}

/*
 * Appends " key=value". A value that does not fit is cut (never inside an escape) and
 * its quotes are still closed, so the line stays parseable; a pair that would show no
 * byte of its value is left out altogether.
 */
static void
put_pair(struct line *l, const char *key, const char *value)
{
	const unsigned char *p;
	size_t start = l->len, n;
	bool quoted = needs_quotes(value);
	char esc[5];

	put(l, " ", 1);
	put_key(l, key);
	put(l, "=", 1);
	if (quoted)
		put(l, "\"", 1);
	if (l->full || (*value != '\0' && l->len + 1 > sizeof(l->buf) - LOG_TAIL_RESERVE)) {
		l->len = start;
		l->full = true;
		return;
	}
	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		if (quoted) {
			n = escape_byte(*p, esc);
		} else {
			esc[0] = (char)*p;
			n = 1;
		}
		if (!put(l, esc, n))
			break;
	}
	if (quoted)
		put_tail(l, "\"");
}

static void
put_timestamp(struct line *l)
{
	struct timespec ts;
	struct tm tm;
	char buf[32];
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	if (n > 0 && (size_t)n < sizeof(buf))
		put(l, buf, (size_t)n);
}

static void
write_all(int fd, const char *s, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

void
jit_log_init(const char *prog, enum jit_log_level min, bool syslog_when_not_tty)
{
	pthread_mutex_lock(&log_lock);
	if (log_syslog)
		closelog();
	snprintf(log_prog, sizeof(log_prog), "%s", prog != NULL ? prog : "jitgate");
	log_min = min;
	log_syslog = syslog_when_not_tty && !isatty(STDERR_FILENO);
	if (log_syslog)
		openlog(log_prog, LOG_PID, LOG_DAEMON);
	pthread_mutex_unlock(&log_lock);
}

void
jit_log(enum jit_log_level level, const char *event, ...)
{
	struct line l;
	const char *key, *value;
	size_t body;
	va_list ap;
	int saved_errno = errno;

	pthread_mutex_lock(&log_lock);
	if (level < log_min) {
		pthread_mutex_unlock(&log_lock);
		return;
	}
	l.len = 0;
	l.full = false;
	put_timestamp(&l);
	put(&l, " ", 1);
	/* syslog stamps its own time; it gets the line from here on. */
	body = l.len;
	put(&l, "level=", 6);
	put(&l, level_name(level), strlen(level_name(level)));
	put_pair(&l, "prog", log_prog);
	put_pair(&l, "event", event != NULL ? event : "");
	va_start(ap, event);
	while ((key = va_arg(ap, const char *)) != NULL) {
		value = va_arg(ap, const char *);
		if (value != NULL)
			put_pair(&l, key, value);
	}
	va_end(ap);
	if (l.full)
		put_tail(&l, " truncated=true");
	put_tail(&l, "\n");
	write_all(STDERR_FILENO, l.buf, l.len);
	if (log_syslog)
		syslog(syslog_priority(level), "%.*s", (int)(l.len - body - 1), l.buf + body);
	pthread_mutex_unlock(&log_lock);
	errno = saved_errno;
}
