/*
 * test_metrics_file.c: the agent's textfile for node_exporter: what it says after known
 * applies, that it is written whole (0644, no temporary left, an old file replaced in one
 * rename), that a symbolic link where the temporary goes is not followed, and that a
 * file that cannot be written is an error, not a crash.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "metrics_file.h"

static char dir[64];

static int
setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/jitgate-metrics-file-XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *
slurp(const char *path)
{
	static char buf[16384];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void
test_text_after_applies(void **state)
{
	struct jit_agent_metrics m;
	size_t len;
	char *t;

	jit_agent_metrics_init(&m);
	jit_agent_metrics_apply(&m, true, JIT_APPLY_SERVER, 2000000);
	jit_agent_metrics_apply(&m, true, JIT_APPLY_SERVER, 3000000);
	jit_agent_metrics_apply(&m, false, JIT_APPLY_SAVED, 50000000);
	m.grants = 3;
	m.locked = 2;
	m.applied_version = 7;
	m.drift_repairs = 1;
	m.last_apply = 1700000000LL * 1000000000LL;
	m.healthy = true;
	t = jit_agent_metrics_text(&m, &len);
	assert_non_null(t);
	assert_int_equal(strlen(t), len);
	assert_non_null(strstr(t, "jitgate_agent_applies_total{result=\"ok\",source=\"server\"} 2\n"));
	assert_non_null(strstr(t, "jitgate_agent_applies_total{result=\"failed\",source=\"saved\"} 1\n"));
	assert_non_null(strstr(t, "jitgate_agent_applies_total{result=\"ok\",source=\"saved\"} 0\n"));
	assert_non_null(strstr(t, "jitgate_agent_apply_duration_seconds_bucket{le=\"0.0025\"} 1\n"));
	assert_non_null(strstr(t, "jitgate_agent_apply_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(t, "jitgate_agent_apply_duration_seconds_sum 0.055\n"));
	assert_non_null(strstr(t, "jitgate_agent_apply_duration_seconds_count 3\n"));
	assert_non_null(strstr(t, "jitgate_agent_drift_repairs_total 1\n"));
	assert_non_null(strstr(t, "jitgate_agent_grants 3\n"));
	assert_non_null(strstr(t, "jitgate_agent_locked_ports 2\n"));
	assert_non_null(strstr(t, "jitgate_agent_applied_version 7\n"));
	assert_non_null(strstr(t, "jitgate_agent_last_apply_timestamp_seconds 1700000000\n"));
	assert_non_null(strstr(t, "jitgate_agent_healthy 1\n"));
	assert_non_null(strstr(t, "jitgate_agent_server_reachable 0\n"));
	assert_non_null(strstr(t, "# TYPE jitgate_agent_drift_repairs_total counter\n"));
	free(t);
}

static void
test_written_whole(void **state)
{
	struct jit_agent_metrics m;
	struct jit_error err;
	char path[128], tmp[160], other[128];
	struct dirent *e;
	struct stat st;
	int entries = 0;
	DIR *d;

	jit_agent_metrics_init(&m);
	snprintf(path, sizeof(path), "%s/agent.prom", dir);
	/* An old file is replaced, not appended to. */
	assert_int_equal(close(open(path, O_WRONLY | O_CREAT, 0600)), 0);
	umask(077);
	m.grants = 5;
	assert_int_equal(jit_agent_metrics_write(&m, path, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_non_null(strstr(slurp(path), "jitgate_agent_grants 5\n"));
	m.grants = 6;
	assert_int_equal(jit_agent_metrics_write(&m, path, &err), 0);
	assert_non_null(strstr(slurp(path), "jitgate_agent_grants 6\n"));
	assert_null(strstr(slurp(path), "jitgate_agent_grants 5\n"));
	/* A link where the temporary goes is removed, its target never written. */
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	snprintf(other, sizeof(other), "%s/elsewhere", dir);
	assert_int_equal(symlink(other, tmp), 0);
	assert_int_equal(jit_agent_metrics_write(&m, path, &err), 0);
	assert_int_equal(access(other, F_OK), -1);
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			entries++;
	closedir(d);
	assert_int_equal(entries, 1);   /* agent.prom alone: no temporary left */
	/* No such directory: an error with the path. */
	snprintf(path, sizeof(path), "%s/missing/agent.prom", dir);
	assert_int_equal(jit_agent_metrics_write(&m, path, &err), -1);
	assert_non_null(strstr(err.message, "missing"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_after_applies),
		cmocka_unit_test(test_written_whole),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
