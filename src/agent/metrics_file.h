/*
 * metrics_file.h: the agent's own metrics, for node_exporter's textfile collector
 * (jitgate-agent --metrics-file FILE; the series are in docs/metrics.md). The agent
 * counts into a struct as it works and writes the whole of it in the Prometheus text
 * format, atomically (a temporary file beside FILE, then rename), so a collector never
 * reads half a file.
 */
#ifndef JIT_METRICS_FILE_H
#define JIT_METRICS_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "prom.h"
#include "timestamp.h"

enum jit_apply_source { JIT_APPLY_SERVER = 0, JIT_APPLY_SAVED = 1 };

struct jit_agent_metrics {
	uint64_t applies[2][2];         /* [ok][source] */
	uint64_t drift_repairs;
	struct jit_histogram apply_duration;
	size_t grants, locked;
	uint64_t applied_version;
	jit_time last_apply;            /* 0: none yet */
	bool healthy, reachable;
};

void jit_agent_metrics_init(struct jit_agent_metrics *m);
/* One apply: how it ended, where its state came from, how long it took. */
void jit_agent_metrics_apply(struct jit_agent_metrics *m, bool ok, enum jit_apply_source src,
	int64_t ns);
/* The text (malloc'd), or NULL when out of memory. */
char *jit_agent_metrics_text(const struct jit_agent_metrics *m, size_t *len);
/* Writes the text to path atomically, mode 0644. */
int jit_agent_metrics_write(const struct jit_agent_metrics *m, const char *path,
	struct jit_error *err);

#endif
