/*
 * portspec.h: the command line's small languages for ports and durations.
 *
 *   SPEC     = NUMBER ["/" PROTO] {"," KEY "=" VALUE}
 *   PROTO    = tcp | udp | any | "*"
 *   from=P   a source prefix ("*", 10.0.0.0/8, 2001:db8::/32); repeatable, and
 *            one from= may list several separated by ';'
 *   max=D    the longest access a request may ask for (PT1H, 90m, 1h30m)
 *   close=yes|no  cut established connections when access ends (jitgate's
 *            closeEstablishedOnExpiry; by default they survive, as with NSGs)
 *
 * e.g. "22", "3389/tcp,from=10.0.0.0/8,max=PT1H", "22,from=10.0.0.0/8;192.168.0.0/16".
 * A spec says only what it names: the rest comes from the defaults (a new
 * port) or from the rule it modifies (jit edit --set-port).
 */
#ifndef JIT_CLI_PORTSPEC_H
#define JIT_CLI_PORTSPEC_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "model.h"

/* The quick-enable defaults, as Azure's: any protocol, any source, three hours. */
#define CLI_DEFAULT_MAX_NS (3LL * 3600 * JIT_NS_PER_SEC)

struct cli_port_spec {
	uint16_t number;
	bool has_proto;
	enum jit_proto proto;
	size_t n_sources;               /* 0: not given */
	struct jit_prefix sources[JIT_MAX_PREFIXES_PER_PORT];
	bool has_max;
	int64_t max_ns;
	bool has_close;
	bool close;
};

/* Parses SPEC; errors are usage errors naming the part that is wrong. */
int cli_port_spec_parse(const char *s, struct cli_port_spec *out, struct jit_error *err);

/* A port number, 1..65535 ("--port 22"). */
int cli_port_number_parse(const char *s, uint16_t *out, struct jit_error *err);

/* Fills rule with the defaults for port number (rule's previous content is not freed). */
int cli_port_rule_default(uint16_t number, struct jit_port_rule *rule, struct jit_error *err);

/* Applies what spec names to rule (replacing its sources if spec has any). */
int cli_port_spec_apply(const struct cli_port_spec *spec, struct jit_port_rule *rule,
	struct jit_error *err);

/* A duration: ISO 8601 (PT3H) or the short form 90s, 30m, 1h30m, 1d. */
int cli_duration_parse(const char *s, int64_t *out_ns, struct jit_error *err);

/* "22/TCP", "3389/UDP" or "22" + "/" + "*": a rule in a few characters. */
void cli_port_rule_short(const struct jit_port_rule *r, char *buf, size_t n);

/* "10.0.0.0/8,192.168.0.0/16" or "*": a rule's sources. */
void cli_sources_text(const struct jit_sources *s, char *buf, size_t n);

#endif
