/*
 * metrics_file.c: the agent's metrics and their textfile (see metrics_file.h).
 *
 * The temporary file is "<FILE>.<pid>.tmp" in FILE's own directory (rename is atomic
 * only within one file system), created exclusively and without following links; a
 * failed write removes it again. node_exporter reads only names ending in .prom, so the
 * temporary file is never collected.
 */
#include "metrics_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void
jit_agent_metrics_init(struct jit_agent_metrics *m)
{
	memset(m, 0, sizeof(*m));
	jit_histogram_init(&m->apply_duration, jit_latency_bounds, jit_latency_nbounds);
}

void
jit_agent_metrics_apply(struct jit_agent_metrics *m, bool ok, enum jit_apply_source src,
	int64_t ns)
{
	m->applies[ok ? 1 : 0][src]++;
	jit_histogram_observe_ns(&m->apply_duration, ns);
}

static void
gauge(struct jit_prom *p, const char *name, const char *help, double v)
{
	jit_prom_family(p, name, "gauge", help);
	jit_prom_sample(p, name, NULL, v);
}

char *
jit_agent_metrics_text(const struct jit_agent_metrics *m, size_t *len)
{
	static const char *const results[] = {"failed", "ok"};
	static const char *const sources[] = {"server", "saved"};
	struct jit_prom p;

	jit_prom_init(&p);
	jit_prom_family(&p, "jitgate_agent_applies_total", "counter",
		"nftables transactions applied, by result and where the desired state came from.");
	for (int ok = 1; ok >= 0; ok--)
		for (int s = 0; s < 2; s++)
			jit_prom_sample(&p, "jitgate_agent_applies_total", (const char *const[]){
				"result", results[ok], "source", sources[s], NULL},
				(double)m->applies[ok][s]);
	jit_prom_family(&p, "jitgate_agent_apply_duration_seconds", "histogram",
		"How long an apply took, building and committing the nftables transaction.");
	jit_prom_histogram(&p, "jitgate_agent_apply_duration_seconds", NULL, &m->apply_duration);
	jit_prom_family(&p, "jitgate_agent_drift_repairs_total", "counter",
		"Full rebuilds of the table that put right what may have drifted.");
	jit_prom_sample(&p, "jitgate_agent_drift_repairs_total", NULL, (double)m->drift_repairs);
	gauge(&p, "jitgate_agent_grants", "Grant elements in the table after the last apply.",
		(double)m->grants);
	gauge(&p, "jitgate_agent_locked_ports",
		"Locked (VM, protocol, port) entries after the last apply.", (double)m->locked);
	gauge(&p, "jitgate_agent_applied_version", "The desired-state version in force.",
		(double)m->applied_version);
	gauge(&p, "jitgate_agent_last_apply_timestamp_seconds",
		"When the last successful apply finished (Unix time; 0: none yet).",
		(double)m->last_apply / 1e9);
	gauge(&p, "jitgate_agent_healthy",
		"1 when the last apply succeeded and nftables works, as reported to jitgated.",
		m->healthy ? 1 : 0);
	gauge(&p, "jitgate_agent_server_reachable",
		"1 when the last request to jitgated got an answer.", m->reachable ? 1 : 0);
	return jit_prom_take(&p, len);
}

int
jit_agent_metrics_write(const struct jit_agent_metrics *m, const char *path,
	struct jit_error *err)
{
	char tmp[4096];
	size_t len = 0, off = 0;
	char *text = jit_agent_metrics_text(m, &len);
	int fd, r = -1;

	if (text == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >=
		sizeof(tmp)) {
		free(text);
		return jit_errorf(err, 500, JIT_E_INTERNAL, "the metrics file's name is too long");
	}
	unlink(tmp);   /* a leftover of this pid from a crash; never someone else's file */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "cannot create %s: %s", tmp, strerror(errno));
		free(text);
		return -1;
	}
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			jit_errorf(err, 500, JIT_E_INTERNAL, "cannot write %s: %s", tmp,
				strerror(errno));
			goto out;
		}
		off += (size_t)w;
	}
	/* The mode a collector (another user) can read, whatever the umask. */
	if (fchmod(fd, 0644) != 0 || close(fd) != 0) {
		fd = -1;
		jit_errorf(err, 500, JIT_E_INTERNAL, "cannot finish %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "cannot rename %s to %s: %s", tmp, path,
			strerror(errno));
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (r != 0)
		unlink(tmp);
	free(text);
	return r;
}
