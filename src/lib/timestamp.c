/*
 * timestamp.c: Azure date-times <-> jit_time (int64 nanoseconds since the epoch, UTC).
 *
 * This is the boundary for times: text from clients is parsed here once, and
 * the rest of jitgate only compares integers. Calendar arithmetic is done by
 * hand (proleptic Gregorian, Howard Hinnant's days-from-civil) because the
 * libc alternatives (mktime, timegm, strptime) depend on TZ and the locale.
 *
 * Accepted input, RFC 3339 profile of ISO 8601:
 *	YYYY-MM-DDThh:mm:ss[.f...](Z | +hh:mm | -hh:mm)
 * - exactly 4-digit year, 2-digit fields, seconds required;
 * - 0 to 9 fractional digits ('.' followed by none is refused);
 * - lowercase 't' and 'z' are accepted, as RFC 3339 section 5.6 allows; a space
 *   in place of 'T' is not, nor is an offset without a colon or a missing zone
 *   (a local time without a zone names no instant);
 * - "-00:00" is taken as UTC;
 * - impossible dates (2023-02-29, 04-31), hour 24, minute 60 and leap seconds
 *   (second 60) are refused: a jit_time has no leap seconds;
 * - the instant, after applying the offset, must lie in years 1678..2261 UTC,
 *   the whole years int64 nanoseconds cover. Checking the UTC instant, not the
 *   written year, keeps parse(format(t)) stable for every parsed t.
 * Output is always "YYYY-MM-DDThh:mm:ss.fffffffZ": 7 digits, sub-100ns truncated
 * (towards the past, so times before 1970 format as their calendar reading).
 */
#include "timestamp.h"

#include <stdarg.h>
#include <stdbool.h>
#include <time.h>

#define SECS_PER_DAY 86400LL
#define MIN_YEAR 1678
#define MAX_YEAR 2261

static const char time_form[] = "2020-07-15T17:00:00.3658798Z";

static int time_error(const char *s, struct jit_error *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
time_error(const char *s, struct jit_error *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	jit_input_verrorf(err, "date-time", s, fmt, ap);
	va_end(ap);
	return -1;
}

static int
syntax_error(const char *s, size_t pos, const char *what, struct jit_error *err)
{
	if (s[pos] == '\0')
		return time_error(s, err,
			"ends at character %zu where %s was expected; the form is %s", pos + 1,
			what, time_form);
	return time_error(
		s, err, "expected %s at character %zu; the form is %s", what, pos + 1, time_form);
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Reads exactly n digits at s[*pos]; on failure *pos is left at the field's start. */
static bool
take_digits(const char *s, size_t *pos, int n, int *val)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!is_digit(s[*pos + (size_t)i]))
			return false;
		v = v * 10 + (s[*pos + (size_t)i] - '0');
	}
	*pos += (size_t)n;
	*val = v;
	return true;
}

static bool
take_char(const char *s, size_t *pos, char c1, char c2)
{
	if (s[*pos] != c1 && s[*pos] != c2)
		return false;
	(*pos)++;
	return true;
}

static bool
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int64_t y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && is_leap(y))
		return 29;
	return days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil. */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static const char *
month_name(int m)
{
	static const char *names[12] = {"January", "February", "March", "April", "May", "June",
		"July", "August", "September", "October", "November", "December"};

	return names[m - 1];
}

struct fields {
	int year, month, day, hour, minute, second;
	int64_t frac_ns;
	int off_sign, off_hour, off_minute;
};

/* Syntax only: every field is digits of the right width in the right place. */
static int
scan(const char *s, struct fields *f, struct jit_error *err)
{
	size_t p = 0;
	int ndigits = 0;

	if (!take_digits(s, &p, 4, &f->year))
		return syntax_error(s, p, "a 4-digit year", err);
	if (!take_char(s, &p, '-', '-'))
		return syntax_error(s, p, "'-' after the year", err);
	if (!take_digits(s, &p, 2, &f->month))
		return syntax_error(s, p, "a 2-digit month", err);
	if (!take_char(s, &p, '-', '-'))
		return syntax_error(s, p, "'-' after the month", err);
	if (!take_digits(s, &p, 2, &f->day))
		return syntax_error(s, p, "a 2-digit day", err);
	if (!take_char(s, &p, 'T', 't'))
		return syntax_error(s, p, "'T' between date and time", err);
	if (!take_digits(s, &p, 2, &f->hour))
		return syntax_error(s, p, "a 2-digit hour", err);
	if (!take_char(s, &p, ':', ':'))
		return syntax_error(s, p, "':' after the hour", err);
	if (!take_digits(s, &p, 2, &f->minute))
		return syntax_error(s, p, "a 2-digit minute", err);
	if (!take_char(s, &p, ':', ':'))
		return syntax_error(s, p, "':' after the minute (seconds are required)", err);
	if (!take_digits(s, &p, 2, &f->second))
		return syntax_error(s, p, "2-digit seconds", err);

	f->frac_ns = 0;
	if (take_char(s, &p, '.', '.')) {
		if (!is_digit(s[p]))
			return syntax_error(s, p, "a digit after '.'", err);
		while (is_digit(s[p])) {
			if (++ndigits > 9)
				return time_error(s, err,
					"more than 9 fractional digits of a "
					"second (nanoseconds are the finest unit)");
			f->frac_ns = f->frac_ns * 10 + (s[p++] - '0');
		}
		for (int i = ndigits; i < 9; i++)
			f->frac_ns *= 10;
	}

	f->off_sign = 0;
	f->off_hour = 0;
	f->off_minute = 0;
	if (take_char(s, &p, 'Z', 'z')) {
		/* UTC */
	} else if (s[p] == '+' || s[p] == '-') {
		f->off_sign = s[p++] == '+' ? 1 : -1;
		if (!take_digits(s, &p, 2, &f->off_hour))
			return syntax_error(s, p, "a 2-digit offset hour", err);
		if (!take_char(s, &p, ':', ':'))
			return syntax_error(s, p, "':' in the offset (+hh:mm)", err);
		if (!take_digits(s, &p, 2, &f->off_minute))
			return syntax_error(s, p, "2-digit offset minutes", err);
	} else {
		return syntax_error(s, p, "a time zone ('Z' or an offset like +05:30)", err);
	}
	if (s[p] != '\0')
		return time_error(
			s, err, "unexpected text after the time zone at character %zu", p + 1);
	return 0;
}

/* Meaning: the fields name a real instant jit_time can hold. */
static int
check(const char *s, const struct fields *f, struct jit_error *err)
{
	if (f->month < 1 || f->month > 12)
		return time_error(s, err, "month %02d is out of range 01..12", f->month);
	if (f->day < 1 || f->day > days_in_month(f->year, f->month))
		return time_error(s, err, "day %02d does not exist in %s %04d (it has %d days)",
			f->day, month_name(f->month), f->year, days_in_month(f->year, f->month));
	if (f->hour == 24)
		return time_error(
			s, err, "hour 24 is out of range 00..23 (write 00:00:00 of the next day)");
	if (f->hour > 23)
		return time_error(s, err, "hour %02d is out of range 00..23", f->hour);
	if (f->minute > 59)
		return time_error(s, err, "minute %02d is out of range 00..59", f->minute);
	if (f->second == 60)
		return time_error(s, err,
			"second 60 is a leap second, which jitgate does not "
			"accept (seconds are 00..59)");
	if (f->second > 59)
		return time_error(s, err, "second %02d is out of range 00..59", f->second);
	if (f->off_hour > 23)
		return time_error(s, err, "offset hour %02d is out of range 00..23", f->off_hour);
	if (f->off_minute > 59)
		return time_error(
			s, err, "offset minute %02d is out of range 00..59", f->off_minute);
	return 0;
}

int
jit_time_parse(const char *s, jit_time *out, struct jit_error *err)
{
	struct fields f = {0};
	int64_t secs;

	if (s == NULL || s[0] == '\0')
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"invalid date-time \"\": it is empty; the form is %s", time_form);
	if (scan(s, &f, err) != 0 || check(s, &f, err) != 0)
		return -1;

	/* Fields are bounded (year <= 9999), so none of this can overflow. */
	secs = days_from_civil(f.year, f.month, f.day) * SECS_PER_DAY + f.hour * 3600LL +
	       f.minute * 60LL + f.second;
	secs -= f.off_sign * (f.off_hour * 3600LL + f.off_minute * 60LL);
	if (secs < days_from_civil(MIN_YEAR, 1, 1) * SECS_PER_DAY ||
		secs >= days_from_civil(MAX_YEAR + 1, 1, 1) * SECS_PER_DAY)
		return time_error(s, err,
			"the instant is outside the supported range "
			"%d-01-01T00:00:00Z to %d-12-31T23:59:59.999999999Z "
			"(nanoseconds since 1970 in 64 bits)",
			MIN_YEAR, MAX_YEAR);
	*out = secs * JIT_NS_PER_SEC + f.frac_ns;
	return 0;
}

/* Writes v (>= 0) as exactly n decimal digits, most significant first. */
static char *
put_digits(char *p, int64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

void
jit_time_format(jit_time t, char buf[JIT_TIME_BUFSZ])
{
	int64_t secs, ns, days, sod, year;
	int month, day;
	char *p = buf;

	/* Floor division: t = -1 is 1969-12-31T23:59:59.999999999, not 1970. */
	secs = t / JIT_NS_PER_SEC;
	ns = t % JIT_NS_PER_SEC;
	if (ns < 0) {
		ns += JIT_NS_PER_SEC;
		secs--;
	}
	days = secs / SECS_PER_DAY;
	sod = secs % SECS_PER_DAY;
	if (sod < 0) {
		sod += SECS_PER_DAY;
		days--;
	}
	civil_from_days(days, &year, &month, &day);

	/* int64 nanoseconds span years 1677..2262: always 4 digits. */
	p = put_digits(p, year, 4);
	*p++ = '-';
	p = put_digits(p, month, 2);
	*p++ = '-';
	p = put_digits(p, day, 2);
	*p++ = 'T';
	p = put_digits(p, sod / 3600, 2);
	*p++ = ':';
	p = put_digits(p, sod / 60 % 60, 2);
	*p++ = ':';
	p = put_digits(p, sod % 60, 2);
	*p++ = '.';
	p = put_digits(p, ns / 100, 7);
	*p++ = 'Z';
	*p = '\0';
}

jit_time
jit_time_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (jit_time)ts.tv_sec * JIT_NS_PER_SEC + ts.tv_nsec;
}
