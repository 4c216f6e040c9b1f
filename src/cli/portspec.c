/*
 * portspec.c: parsing port specs and durations from the command line
 * (portspec.h). This is a boundary: what passes is typed and checked with the
 * library's own parsers and the limits the server applies (jit_limits.h), so a
 * mistake is reported here, naming the argument, before anything is sent.
 */
#include "portspec.h"
#include "number.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "duration.h"
#include "prefix.h"

#define SPEC_MAX 4096

/* The short form: one or more <digits><d|h|m|s>, e.g. 1h30m. */
static int
short_duration(const char *s, int64_t *out)
{
	int64_t total = 0;

	if (*s == '\0')
		return -1;
	while (*s != '\0') {
		int64_t unit, v = 0;

		if (!isdigit((unsigned char)*s))
			return -1;
		while (isdigit((unsigned char)*s)) {
			if (v > 1000000)
				return -1;
			v = v * 10 + (*s++ - '0');
		}
		switch (*s++) {
		case 'd':
			unit = 86400;
			break;
		case 'h':
			unit = 3600;
			break;
		case 'm':
			unit = 60;
			break;
		case 's':
			unit = 1;
			break;
		default:
			return -1;
		}
		total += v * unit;
		if (total > 366LL * 86400)
			return -1;
	}
	if (total == 0)
		return -1;
	*out = total * JIT_NS_PER_SEC;
	return 0;
}

int
cli_duration_parse(const char *s, int64_t *out_ns, struct jit_error *err)
{
	struct jit_error ignored;

	if ((s[0] == 'P' || s[0] == 'p') && jit_duration_parse(s, out_ns, &ignored) == 0)
		return 0;
	if (short_duration(s, out_ns) == 0)
		return 0;
	return cli_usage(err, "'%.40s' is not a duration: use ISO 8601 (PT1H, PT30M) or 1h, 30m, "
		"1h30m", s);
}

int
cli_port_number_parse(const char *s, uint16_t *out, struct jit_error *err)
{
	int64_t v;

	if (jit_number_parse(s, 1, 65535, &v) != 0)
		return cli_usage(err, "'%.40s' is not a port number (1-65535)", s);
	*out = (uint16_t)v;
	return 0;
}

static int
parse_proto(const char *s, enum jit_proto *out, struct jit_error *err)
{
	if (strcasecmp(s, "tcp") == 0)
		*out = JIT_PROTO_TCP;
	else if (strcasecmp(s, "udp") == 0)
		*out = JIT_PROTO_UDP;
	else if (strcasecmp(s, "any") == 0 || strcmp(s, "*") == 0)
		*out = JIT_PROTO_ANY;
	else
		return cli_usage(err, "'%.20s' is not a protocol: use tcp, udp or any", s);
	return 0;
}

static int
add_sources(struct cli_port_spec *out, char *list, struct jit_error *err)
{
	char *save = NULL;

	if (list[0] == '\0')
		return cli_usage(err, "from= needs a source prefix such as 10.0.0.0/8 or *");
	for (char *tok = strtok_r(list, ";", &save); tok != NULL; tok = strtok_r(NULL, ";", &save)) {
		struct jit_prefix *p = &out->sources[out->n_sources];
		struct jit_error e;

		if (out->n_sources == JIT_MAX_PREFIXES_PER_PORT)
			return cli_usage(err, "at most %d source prefixes per port",
				JIT_MAX_PREFIXES_PER_PORT);
		if (jit_prefix_parse(tok, p, &e) != 0)
			return cli_usage(err, "from=%.60s: %s", tok, e.message);
		for (size_t k = 0; k < out->n_sources; k++)
			if (jit_prefix_equal(&out->sources[k], p))
				return cli_usage(err, "from=%.60s: given twice", tok);
		out->n_sources++;
	}
	return 0;
}

static int
check_max(int64_t ns, const char *text, struct jit_error *err)
{
	if (ns < JIT_MIN_ACCESS_DURATION_NS || ns > JIT_MAX_ACCESS_DURATION_NS)
		return cli_usage(err, "max=%.40s: must be from 5 minutes (PT5M) to 1 day (P1D)", text);
	return 0;
}

static int
parse_spec(char *s, struct cli_port_spec *out, struct jit_error *err)
{
	char *save = NULL, *head, *slash, *item;

	head = strtok_r(s, ",", &save);
	if (head == NULL)
		return cli_usage(err, "a port spec starts with a port number");
	if ((slash = strchr(head, '/')) != NULL) {
		*slash = '\0';
		if (parse_proto(slash + 1, &out->proto, err) != 0)
			return -1;
		out->has_proto = true;
	}
	if (cli_port_number_parse(head, &out->number, err) != 0)
		return -1;
	while ((item = strtok_r(NULL, ",", &save)) != NULL) {
		char *eq = strchr(item, '=');

		if (eq == NULL)
			return cli_usage(err, "'%.40s': expected from=PREFIX or max=DURATION", item);
		*eq = '\0';
		if (strcmp(item, "from") == 0) {
			if (add_sources(out, eq + 1, err) != 0)
				return -1;
		} else if (strcmp(item, "max") == 0) {
			if (out->has_max)
				return cli_usage(err, "max= given twice");
			if (cli_duration_parse(eq + 1, &out->max_ns, err) != 0 ||
				check_max(out->max_ns, eq + 1, err) != 0)
				return -1;
			out->has_max = true;
		} else if (strcmp(item, "close") == 0) {
			if (strcmp(eq + 1, "yes") == 0 || strcmp(eq + 1, "true") == 0)
				out->close = true;
			else if (strcmp(eq + 1, "no") == 0 || strcmp(eq + 1, "false") == 0)
				out->close = false;
			else
				return cli_usage(err, "close=%.20s: expected yes or no", eq + 1);
			out->has_close = true;
		} else if (strcmp(item, "proto") == 0 || strcmp(item, "protocol") == 0) {
			if (parse_proto(eq + 1, &out->proto, err) != 0)
				return -1;
			out->has_proto = true;
		} else {
			return cli_usage(err, "'%.40s=': unknown; a port spec takes from=, max= and "
				"close=", item);
		}
	}
	/* "*" means every address: listing it beside others says nothing more. */
	for (size_t i = 0; out->n_sources > 1 && i < out->n_sources; i++)
		if (out->sources[i].family == JIT_FAMILY_ANY)
			return cli_usage(err, "from=*: any source; it cannot be combined with prefixes");
	return 0;
}

int
cli_port_spec_parse(const char *s, struct cli_port_spec *out, struct jit_error *err)
{
	char buf[SPEC_MAX];

	memset(out, 0, sizeof(*out));
	if (strlen(s) >= sizeof(buf))
		return cli_usage(err, "the port spec is too long");
	snprintf(buf, sizeof(buf), "%s", s);
	if (parse_spec(buf, out, err) != 0)
		return jit_error_prefix(err, "port spec '%.80s'", s);
	return 0;
}

static int
set_sources(struct jit_sources *dst, const struct jit_prefix *src, size_t n,
	struct jit_error *err)
{
	struct jit_prefix *p = calloc(n, sizeof(*p));

	if (p == NULL)
		return cli_fail(err, "out of memory");
	memcpy(p, src, n * sizeof(*p));
	free(dst->prefixes);
	dst->prefixes = p;
	dst->n = n;
	/* One prefix: allowedSourceAddressPrefix; several: allowedSourceAddressPrefixes. */
	dst->list = n > 1;
	return 0;
}

int
cli_port_rule_default(uint16_t number, struct jit_port_rule *rule, struct jit_error *err)
{
	struct jit_prefix any = {.family = JIT_FAMILY_ANY};

	memset(rule, 0, sizeof(*rule));
	rule->number = number;
	rule->protocol = JIT_PROTO_ANY;
	rule->max_duration_ns = CLI_DEFAULT_MAX_NS;
	return set_sources(&rule->sources, &any, 1, err);
}

int
cli_port_spec_apply(const struct cli_port_spec *spec, struct jit_port_rule *rule,
	struct jit_error *err)
{
	if (spec->has_proto)
		rule->protocol = spec->proto;
	if (spec->has_max)
		rule->max_duration_ns = spec->max_ns;
	if (spec->has_close)
		rule->close_established = spec->close;
	if (spec->n_sources > 0)
		return set_sources(&rule->sources, spec->sources, spec->n_sources, err);
	return 0;
}

void
cli_port_rule_short(const struct jit_port_rule *r, char *buf, size_t n)
{
	snprintf(buf, n, "%u/%s", r->number, jit_proto_name(r->protocol));
}

void
cli_sources_text(const struct jit_sources *s, char *buf, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->n && used + 1 < n; i++) {
		char p[JIT_PREFIX_BUFSZ];
		int w;

		jit_prefix_format(&s->prefixes[i], p);
		w = snprintf(buf + used, n - used, "%s%s", i ? "," : "", p);
		if (w < 0 || (size_t)w >= n - used)
			break;
		used += (size_t)w;
	}
}
