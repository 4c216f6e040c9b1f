/*
 * duration.c: ISO 8601 durations <-> int64 nanoseconds.
 *
 * Azure writes maxRequestAccessDuration and duration as ISO 8601 durations
 * ("PT3H"). Only the fixed-length units are accepted, in the order
 * P[nW][nD][T[nH][nM][n[.f]S]], each at most once:
 * - counts are unsigned decimal integers (leading zeros allowed); the last
 *   component may carry a fraction of 1 to 9 digits after '.' (the comma of
 *   ISO 8601 is not accepted: .NET's XmlConvert and Go never write it);
 * - designators are uppercase only, as in XML Schema's duration;
 * - years and months are refused (they have no fixed length), as is a sign;
 * - "P", "PT" and "P1DT" are refused (T must introduce a time component);
 * - the total must be > 0 and at most INT64_MAX nanoseconds (about 106751 days).
 * Weeks are accepted on input but never written: the canonical form uses days,
 * hours, minutes and seconds, omitting zero parts, with the fewest digits that
 * keep every nanosecond, so parse(format(n)) == n for every n > 0.
 */
#include "duration.h"

#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#define NS_PER_SEC 1000000000LL

/* The components in the only order they may appear; rank is the index. */
enum unit { UNIT_W, UNIT_D, UNIT_H, UNIT_M, UNIT_S, UNIT_NONE };

static const struct {
	char designator;
	const char *name;
	int64_t seconds;
} units[] = {
	[UNIT_W] = {'W', "weeks", 7 * 86400},
	[UNIT_D] = {'D', "days", 86400},
	[UNIT_H] = {'H', "hours", 3600},
	[UNIT_M] = {'M', "minutes", 60},
	[UNIT_S] = {'S', "seconds", 1},
};

static int duration_error(const char *s, struct jit_error *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
duration_error(const char *s, struct jit_error *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	jit_input_verrorf(err, "duration", s, fmt, ap);
	va_end(ap);
	return -1;
}

static int
too_large(const char *s, struct jit_error *err)
{
	return duration_error(s, err,
		"too large (the maximum is P106751DT23H47M16.854775807S, INT64_MAX nanoseconds)");
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Which unit designator c is, given whether the 'T' has been seen. */
static int
designator(const char *s, size_t pos, bool in_time, enum unit *u, struct jit_error *err)
{
	char c = s[pos];

	switch (c) {
	case 'W':
	case 'D':
		if (in_time)
			return duration_error(s, err, "%s ('%c') must come before 'T'",
				c == 'W' ? "weeks" : "days", c);
		*u = c == 'W' ? UNIT_W : UNIT_D;
		return 0;
	case 'H':
	case 'S':
		if (!in_time)
			return duration_error(s, err, "%s ('%c') must come after 'T', as in PT1%c",
				c == 'H' ? "hours" : "seconds", c, c);
		*u = c == 'H' ? UNIT_H : UNIT_S;
		return 0;
	case 'M':
		if (!in_time)
			return duration_error(s, err,
				"months are not supported (not a fixed "
				"length); minutes go after 'T', as in PT30M");
		*u = UNIT_M;
		return 0;
	case 'Y':
		return duration_error(s, err,
			"years are not supported (not a fixed length); use days, e.g. P365D");
	case '\0':
		return duration_error(
			s, err, "the number at the end has no unit (W, D, H, M or S)");
	default:
		if (c >= 'a' && c <= 'z')
			return duration_error(s, err,
				"designators are uppercase (character %zu is '%c')", pos + 1, c);
		return duration_error(
			s, err, "expected a unit (W, D, H, M or S) at character %zu", pos + 1);
	}
}

struct component {
	int64_t count; /* integer part */
	int64_t frac;  /* fraction in billionths of the unit, 0..999999999 */
	int frac_digits;
	enum unit unit;
};

/* Reads "n[.f]X" at s[*pos]. */
static int
take_component(const char *s, size_t *pos, bool in_time, struct component *c, struct jit_error *err)
{
	size_t p = *pos;

	if (!is_digit(s[p])) {
		if (s[p] == '.')
			return duration_error(s, err,
				"a fraction needs digits before '.' (character %zu)", p + 1);
		if (s[p] == '-' || s[p] == '+')
			return duration_error(s, err,
				"signs are not allowed inside a duration (character %zu)", p + 1);
		if (s[p] != '\0' && strchr("WDHMSY", s[p]) != NULL)
			return duration_error(s, err,
				"expected a number before '%c' at character %zu", s[p], p + 1);
		if (s[p] >= 'a' && s[p] <= 'z')
			return duration_error(s, err,
				"designators are uppercase (character %zu is '%c')", p + 1, s[p]);
		return duration_error(s, err, "expected a number at character %zu", p + 1);
	}
	c->count = 0;
	while (is_digit(s[p])) {
		int digit = s[p++] - '0';

		if (c->count > (INT64_MAX - digit) / 10)
			return too_large(s, err);
		c->count = c->count * 10 + digit;
	}
	c->frac = 0;
	c->frac_digits = 0;
	if (s[p] == '.' || s[p] == ',') {
		if (s[p] == ',')
			return duration_error(
				s, err, "use '.' for a fraction, not ',' (character %zu)", p + 1);
		p++;
		if (!is_digit(s[p]))
			return duration_error(
				s, err, "expected a digit after '.' at character %zu", p + 1);
		while (is_digit(s[p])) {
			if (++c->frac_digits > 9)
				return duration_error(s, err,
					"more than 9 fractional digits "
					"(nanoseconds are the finest unit)");
			c->frac = c->frac * 10 + (s[p++] - '0');
		}
		for (int i = c->frac_digits; i < 9; i++)
			c->frac *= 10;
	}
	if (designator(s, p, in_time, &c->unit, err) != 0)
		return -1;
	*pos = p + 1;
	return 0;
}

int
jit_duration_parse(const char *s, int64_t *out_ns, struct jit_error *err)
{
	struct component c = {0};
	enum unit last = UNIT_NONE;
	bool in_time = false, had_fraction = false;
	int ncomponents = 0, ntime = 0;
	int64_t total = 0, unit_ns, part;
	size_t p = 1;

	if (s == NULL || s[0] == '\0')
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"invalid duration \"\": it is empty; write e.g. PT1H");
	if (s[0] == '-')
		return duration_error(s, err, "negative durations are not allowed");
	if (s[0] != 'P')
		return duration_error(s, err, "an ISO 8601 duration starts with 'P', e.g. PT1H");

	while (s[p] != '\0') {
		if (s[p] == 'T') {
			if (in_time)
				return duration_error(s, err, "'T' appears twice");
			in_time = true;
			p++;
			continue;
		}
		if (take_component(s, &p, in_time, &c, err) != 0)
			return -1;
		if (had_fraction)
			return duration_error(s, err,
				"a fraction is allowed only on the last "
				"component, but %s follow it",
				units[c.unit].name);
		if (last != UNIT_NONE && c.unit == last)
			return duration_error(s, err, "%s ('%c') appear twice", units[c.unit].name,
				units[c.unit].designator);
		if (last != UNIT_NONE && c.unit < last)
			return duration_error(s, err,
				"%s ('%c') must come before %s ('%c'); "
				"the order is W, D, T, H, M, S",
				units[c.unit].name, units[c.unit].designator, units[last].name,
				units[last].designator);

		/* total + count * unit + frac * unit / 1e9, each step checked against INT64_MAX */
		unit_ns = units[c.unit].seconds * NS_PER_SEC;
		if (c.count > (INT64_MAX - total) / unit_ns)
			return too_large(s, err);
		total += c.count * unit_ns;
		/* frac < 1e9 and a unit is at most 604800 s: the product fits. */
		part = c.frac * units[c.unit].seconds;
		if (part > INT64_MAX - total)
			return too_large(s, err);
		total += part;

		last = c.unit;
		had_fraction = c.frac_digits > 0;
		ncomponents++;
		if (in_time)
			ntime++;
	}
	if (in_time && ntime == 0)
		return duration_error(
			s, err, "'T' must be followed by hours, minutes or seconds, e.g. PT1H");
	if (ncomponents == 0)
		return duration_error(s, err, "it has no components; write e.g. PT1H or P1D");
	if (total == 0)
		return duration_error(s, err, "a duration must be greater than zero");
	*out_ns = total;
	return 0;
}

/* Appends v in decimal; returns the new end. */
static char *
put_uint(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

void
jit_duration_format(int64_t ns, char buf[JIT_DURATION_BUFSZ])
{
	uint64_t u, days, hours, minutes, seconds, frac;
	char *p = buf;

	/* Negative is outside the contract; write it signed rather than lie. */
	if (ns < 0) {
		*p++ = '-';
		u = (uint64_t)0 - (uint64_t)ns;
	} else {
		u = (uint64_t)ns;
	}
	frac = u % NS_PER_SEC;
	u /= NS_PER_SEC;
	seconds = u % 60;
	minutes = u / 60 % 60;
	hours = u / 3600 % 24;
	days = u / 86400;

	*p++ = 'P';
	if (days != 0) {
		p = put_uint(p, days);
		*p++ = 'D';
	}
	if (hours != 0 || minutes != 0 || seconds != 0 || frac != 0 || days == 0) {
		*p++ = 'T';
		if (hours != 0) {
			p = put_uint(p, hours);
			*p++ = 'H';
		}
		if (minutes != 0) {
			p = put_uint(p, minutes);
			*p++ = 'M';
		}
		if (seconds != 0 || frac != 0 || (days == 0 && hours == 0 && minutes == 0)) {
			p = put_uint(p, seconds);
			if (frac != 0) {
				int digits = 9;

				while (frac % 10 == 0) {
					frac /= 10;
					digits--;
				}
				*p++ = '.';
				for (int i = digits - 1; i >= 0; i--) {
					p[i] = (char)('0' + frac % 10);
					frac /= 10;
				}
				p += digits;
			}
			*p++ = 'S';
		}
	}
	*p = '\0';
}
