/*
 * log.c: operator logs, one line per event (see log.h).
 *
 * A line is built whole in a fixed buffer and written with one write(2) under a
 * mutex, so lines from concurrent connection threads never interleave, and a
 * logger that cannot allocate still logs. Values are quoted logfmt-style when
 * they hold anything a reader or a parser could trip on; control characters are
 * escaped so a client cannot forge a log line through a value.
 *
 * Under systemd, stderr is a stream to journald ($JOURNAL_STREAM names its device and
 * inode). Then an event goes to the journal natively instead (sd_journal_sendv), once,
 * with its pairs as fields of its own (JITGATE_EVENT=, JITGATE_<KEY>=), and not to
 * stderr as well: journald would store it twice. Anywhere else stderr alone. Should
 * the journal refuse an entry, that line goes to stderr, so no event is lost.
 */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
/* The call site is always this file: no CODE_FILE/CODE_LINE fields that say nothing. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>
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
static bool log_journal;

/* Journal fields of one event: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, JITGATE_EVENT and
 * one per pair; pairs past the cap stay in MESSAGE only. */
#define JOURNAL_FIELDS_MAX 40
#define JOURNAL_FIELD_BYTES 8192

struct journal_entry {
	struct iovec iov[JOURNAL_FIELDS_MAX];
	size_t n;
	char buf[JOURNAL_FIELD_BYTES];
	size_t used;
};

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

bool
jit_log_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (js == NULL || sscanf(js, "%llu:%llu%c", &dev, &ino, &tail) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) != 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void
jit_log_init(const char *prog, enum jit_log_level min, bool journal_when_stderr_is)
{
	pthread_mutex_lock(&log_lock);
	snprintf(log_prog, sizeof(log_prog), "%s", prog != NULL ? prog : "jitgate");
	log_min = min;
	log_journal = journal_when_stderr_is && jit_log_stderr_is_journal();
	pthread_mutex_unlock(&log_lock);
}

/* Adds "NAME=value" (name already valid) to e; false when there is no room. */
static bool
journal_add(struct journal_entry *e, const char *name, const char *value, size_t vlen)
{
	size_t nlen = strlen(name), need = nlen + 1 + vlen;

	if (e->n == JOURNAL_FIELDS_MAX || e->used + need > sizeof(e->buf))
		return false;
	memcpy(e->buf + e->used, name, nlen);
	e->buf[e->used + nlen] = '=';
	memcpy(e->buf + e->used + nlen + 1, value, vlen);
	e->iov[e->n].iov_base = e->buf + e->used;
	e->iov[e->n].iov_len = need;
	e->n++;
	e->used += need;
	return true;
}

/* JITGATE_<KEY>: upper case, anything but letters and digits an underscore (journal
 * field names are [A-Z0-9_], at most 64 long, not starting with '_'). */
static void
journal_name(const char *key, char out[65])
{
	size_t o = snprintf(out, 65, "JITGATE_");

	for (; *key && o < 64; key++) {
		char c = *key;

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			c = '_';
		out[o++] = c;
	}
	out[o] = '\0';
}

/* Sends the event natively; 0 when the journal took it. */
static int
journal_send(enum jit_log_level level, const char *message, size_t mlen, const char *event,
	va_list ap)
{
	struct journal_entry e;
	const char *key, *value;
	char prio[2] = {(char)('0' + syslog_priority(level)), '\0'}, name[65];

	e.n = 0;
	e.used = 0;
	journal_add(&e, "MESSAGE", message, mlen);
	journal_add(&e, "PRIORITY", prio, 1);
	journal_add(&e, "SYSLOG_IDENTIFIER", log_prog, strlen(log_prog));
	if (event != NULL)
		journal_add(&e, "JITGATE_EVENT", event, strlen(event));
	while ((key = va_arg(ap, const char *)) != NULL) {
		value = va_arg(ap, const char *);
		if (value == NULL)
			continue;
		journal_name(key, name);
		journal_add(&e, name, value, strlen(value));
	}
	return sd_journal_sendv(e.iov, (int)e.n) < 0 ? -1 : 0;
}

void
jit_log(enum jit_log_level level, const char *event, ...)
{
	struct line l;
	const char *key, *value;
	size_t body;
	va_list ap, fields;
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
	va_copy(fields, ap);
	while ((key = va_arg(ap, const char *)) != NULL) {
		value = va_arg(ap, const char *);
		if (value != NULL)
			put_pair(&l, key, value);
	}
	va_end(ap);
	if (l.full)
		put_tail(&l, " truncated=true");
	put_tail(&l, "\n");
	/* The journal stamps its own time: the message is the line from its level on. */
	if (!log_journal ||
		journal_send(level, l.buf + body, l.len - body - 1, event, fields) != 0)
		write_all(STDERR_FILENO, l.buf, l.len);
	va_end(fields);
	pthread_mutex_unlock(&log_lock);
	errno = saved_errno;
}
