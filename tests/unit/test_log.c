/*
 * test_log.c: line format, quoting and escaping, level filter, whole lines under threads.
 * stderr is swapped for a pipe while a test logs, then read back.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

#define CAPTURE_MAX (1024 * 1024)

struct capture {
	int pipe[2];
	int saved_stderr;
	char buf[CAPTURE_MAX];
	size_t len;
};

static struct capture cap;

static void
capture_start(void)
{
	assert_int_equal(pipe(cap.pipe), 0);
	/* Room for everything the thread test writes, read only after it ends. */
	fcntl(cap.pipe[1], F_SETPIPE_SZ, CAPTURE_MAX);
	cap.saved_stderr = dup(STDERR_FILENO);
	assert_true(cap.saved_stderr >= 0);
	assert_true(dup2(cap.pipe[1], STDERR_FILENO) >= 0);
	close(cap.pipe[1]);
}

/* Restores stderr and returns all that was written, NUL-terminated. */
static const char *
capture_end(void)
{
	ssize_t n;

	dup2(cap.saved_stderr, STDERR_FILENO);
	close(cap.saved_stderr);
	cap.len = 0;
	while ((n = read(cap.pipe[0], cap.buf + cap.len, sizeof(cap.buf) - 1 - cap.len)) > 0)
		cap.len += (size_t)n;
	close(cap.pipe[0]);
	cap.buf[cap.len] = '\0';
	return cap.buf;
}

/* The text after the timestamp and its space. */
static const char *
after_time(const char *line)
{
	const char *sp = strchr(line, ' ');

	assert_non_null(sp);
	return sp + 1;
}

static void
test_line_format(void **state)
{
	const char *out;
	regex_t re;
	struct tm tm;
	time_t t;

	(void)state;
	jit_log_init("jitgated", JIT_LOG_INFO, false);
	capture_start();
	jit_log(JIT_LOG_INFO, "listening", "addr", "127.0.0.1:8443", NULL);
	out = capture_end();
	assert_int_equal(regcomp(&re,
		"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
		"level=info prog=jitgated event=listening addr=127\\.0\\.0\\.1:8443\n$",
		REG_EXTENDED | REG_NOSUB), 0);
	assert_int_equal(regexec(&re, out, 0, NULL, 0), 0);
	regfree(&re);
	/* UTC and now, not some other clock. */
	memset(&tm, 0, sizeof(tm));
	assert_non_null(strptime(out, "%Y-%m-%dT%H:%M:%S", &tm));
	t = timegm(&tm);
	assert_true(llabs((long long)(t - time(NULL))) < 5);
}

static void
test_quoting_and_escapes(void **state)
{
	const char *out;

	(void)state;
	jit_log_init("t", JIT_LOG_DEBUG, false);
	capture_start();
	jit_log(JIT_LOG_WARN, "e", "space", "a b", "quote", "say \"hi\"", "eq", "k=v", "nl",
		"line\nbreak", "ctl", "\x01\x7f", "empty", "", "bs", "c:\\x", "tab", "a\tb",
		"skipped", NULL, "utf8", "caf\xc3\xa9", "plain", "ok-1.2_3", NULL);
	out = capture_end();
	assert_string_equal(after_time(out),
		"level=warn prog=t event=e space=\"a b\" quote=\"say \\\"hi\\\"\" eq=\"k=v\" "
		"nl=\"line\\nbreak\" ctl=\"\\x01\\x7f\" empty=\"\" bs=\"c:\\\\x\" tab=\"a\\tb\" "
		"utf8=caf\xc3\xa9 plain=ok-1.2_3\n");
}

static void
test_bad_keys_cannot_break_the_line(void **state)
{
	const char *out;

	(void)state;
	jit_log_init("t", JIT_LOG_DEBUG, false);
	capture_start();
	jit_log(JIT_LOG_ERROR, "x y", "a b=c", "1", "", "2", NULL);
	out = capture_end();
	assert_string_equal(after_time(out), "level=error prog=t event=\"x y\" a_b_c=1 _=2\n");
}

static void
test_level_filter(void **state)
{
	const char *out;

	(void)state;
	jit_log_init("t", JIT_LOG_WARN, false);
	capture_start();
	jit_log(JIT_LOG_DEBUG, "d", NULL);
	jit_log(JIT_LOG_INFO, "i", NULL);
	jit_log(JIT_LOG_WARN, "w", NULL);
	jit_log(JIT_LOG_ERROR, "e", NULL);
	out = capture_end();
	assert_null(strstr(out, "event=d"));
	assert_null(strstr(out, "event=i"));
	assert_non_null(strstr(out, "level=warn prog=t event=w\n"));
	assert_non_null(strstr(out, "level=error prog=t event=e\n"));
}

static void
test_long_value_is_cut_and_marked(void **state)
{
	static char big[10000];
	const char *out;
	size_t n;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[100] = ' ';
	jit_log_init("t", JIT_LOG_DEBUG, false);
	capture_start();
	jit_log(JIT_LOG_INFO, "big", "v", big, "after", "x", NULL);
	out = capture_end();
	n = strlen(out);
	assert_true(n <= 4096);
	assert_int_equal(out[n - 1], '\n');
	assert_non_null(strstr(out, " v=\"aaa"));
	/* The quotes are closed, the marker says so, nothing after the cut is shown. */
	assert_non_null(strstr(out, "aaa\" truncated=true\n"));
	assert_null(strstr(out, "after="));
	assert_ptr_equal(strchr(out, '\n'), out + n - 1);
}

#define THREADS 8
#define LINES 200

static void *
log_lines(void *arg)
{
	char id[16], n[16];
	int i;

	snprintf(id, sizeof(id), "%d", (int)(intptr_t)arg);
	for (i = 0; i < LINES; i++) {
		snprintf(n, sizeof(n), "%d", i);
		jit_log(JIT_LOG_INFO, "tick", "thread", id, "n", n, "pad",
			"a long enough value to make partial writes visible if lines interleaved",
			NULL);
	}
	return NULL;
}

static void
test_threads_write_whole_lines(void **state)
{
	pthread_t t[THREADS];
	const char *out, *p, *nl;
	regex_t re;
	char line[512];
	int i, lines = 0;

	(void)state;
	jit_log_init("t", JIT_LOG_INFO, false);
	capture_start();
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, log_lines, (void *)(intptr_t)i), 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	out = capture_end();
	assert_int_equal(regcomp(&re,
		"^[0-9T:.-]{23}Z level=info prog=t event=tick thread=[0-9] n=[0-9]+ pad=\"a long "
		"enough value to make partial writes visible if lines interleaved\"$",
		REG_EXTENDED | REG_NOSUB), 0);
	for (p = out; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		assert_true((size_t)(nl - p) < sizeof(line));
		memcpy(line, p, (size_t)(nl - p));
		line[nl - p] = '\0';
		assert_int_equal(regexec(&re, line, 0, NULL, 0), 0);
		lines++;
	}
	regfree(&re);
	assert_int_equal(*p, '\0');
	assert_int_equal(lines, THREADS * LINES);
}

static void
test_errno_is_kept(void **state)
{
	(void)state;
	jit_log_init("t", JIT_LOG_INFO, false);
	capture_start();
	errno = 42;
	jit_log(JIT_LOG_INFO, "e", NULL);
	assert_int_equal(errno, 42);
	capture_end();
}

static void
test_syslog_enabled_does_not_disturb_stderr(void **state)
{
	const char *out;

	(void)state;
	/* stderr is a pipe here, so syslog is used too; without a syslog daemon it is lost. */
	capture_start();
	jit_log_init("t", JIT_LOG_INFO, true);
	jit_log(JIT_LOG_ERROR, "both", "k", "v", NULL);
	jit_log_init("t", JIT_LOG_INFO, false);
	out = capture_end();
	assert_string_equal(after_time(out), "level=error prog=t event=both k=v\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_format),
		cmocka_unit_test(test_quoting_and_escapes),
		cmocka_unit_test(test_bad_keys_cannot_break_the_line),
		cmocka_unit_test(test_level_filter),
		cmocka_unit_test(test_long_value_is_cut_and_marked),
		cmocka_unit_test(test_threads_write_whole_lines),
		cmocka_unit_test(test_errno_is_kept),
		cmocka_unit_test(test_syslog_enabled_does_not_disturb_stderr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
