/*
 * output.c: tables and JSON on stdout (output.h). Tables are plain text,
 * columns two spaces apart, so that they survive pipes, grep and awk.
 */
#include "output.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

struct cli_table {
	size_t ncols;
	size_t nrows;           /* rows held, the header (row 0) included */
	size_t cap;
	char **cells;           /* nrows * ncols */
	size_t *width;
};

void
cli_table_free(struct cli_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->width);
	free(t);
}

static int
put_row(struct cli_table *t, const char *const cells[])
{
	size_t base = t->nrows * t->ncols;

	if (t->nrows + 1 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **grown = realloc(t->cells, cap * t->ncols * sizeof(*grown));

		if (grown == NULL)
			return -1;
		t->cells = grown;
		t->cap = cap;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		const char *s = cells[i] != NULL && cells[i][0] != '\0' ? cells[i] : "-";
		size_t len = strlen(s);

		/* Free text from the server (justifications, an agent's OS and messages) must not
		 * drive the terminal: C0, C1 and bidi controls become '?'. */
		if ((t->cells[base + i] = jit_text_sanitize(s)) == NULL) {
			for (size_t k = 0; k < i; k++)
				free(t->cells[base + k]);
			return -1;
		}
		len = strlen(t->cells[base + i]);
		if (len > t->width[i])
			t->width[i] = len;
	}
	t->nrows++;
	return 0;
}

struct cli_table *
cli_table_new(size_t ncols, const char *const headers[])
{
	struct cli_table *t = calloc(1, sizeof(*t));

	if (t == NULL || (t->width = calloc(ncols, sizeof(*t->width))) == NULL) {
		free(t);
		return NULL;
	}
	t->ncols = ncols;
	if (put_row(t, headers) != 0) {
		cli_table_free(t);
		return NULL;
	}
	return t;
}

int
cli_table_add(struct cli_table *t, const char *const cells[], struct jit_error *err)
{
	if (put_row(t, cells) != 0)
		return cli_fail(err, "out of memory");
	return 0;
}

void
cli_table_print(const struct cli_table *t)
{
	cli_table_print_some(t, NULL, t->ncols, 0);
}

/* One cell in w columns: cut on a character boundary (UTF-8) with "..." when longer. */
static void
print_cell(const char *s, size_t w, bool last)
{
	size_t len = strlen(s);

	if (len > w) {
		len = w > 3 ? w - 3 : 0;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
		printf("%.*s...%*s", (int)len, s, last ? 0 : (int)(w - 3 - len), "");
	} else if (last) {
		printf("%s", s);
	} else {
		printf("%-*s", (int)w, s);
	}
	printf(last ? "\n" : "  ");
}

void
cli_table_print_some(const struct cli_table *t, const size_t *cols, size_t n,
	size_t max_width)
{
	size_t w[64], total = 0;

	if (n > sizeof(w) / sizeof(w[0]))
		n = sizeof(w) / sizeof(w[0]);
	for (size_t k = 0; k < n; k++) {
		w[k] = t->width[cols ? cols[k] : k];
		total += w[k] + (k + 1 < n ? 2 : 0);
	}
	/* Too wide: the widest column gives a character at a time, down to its header's
	 * width (and at least 8); the first (the name, the time) keeps all of it. */
	while (max_width > 0 && total > max_width) {
		size_t widest = n;

		for (size_t k = 1; k < n; k++) {
			size_t floor = strlen(t->cells[cols ? cols[k] : k]);

			if (floor < 8)
				floor = 8;
			if (w[k] > floor && (widest == n || w[k] > w[widest]))
				widest = k;
		}
		if (widest == n)
			break;
		w[widest]--;
		total--;
	}
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t k = 0; k < n; k++)
			print_cell(t->cells[r * t->ncols + (cols ? cols[k] : k)], w[k], k + 1 == n);
}

bool
cli_printable(const char *s)
{
	return jit_text_safe(s);
}

void
cli_field(const char *label, const char *value)
{
	char l[64];

	/* An empty label continues the field above (one value per line). */
	snprintf(l, sizeof(l), "%s%s", label, label[0] ? ":" : "");
	printf("%-20s", l);
	if (value == NULL || value[0] == '\0')
		value = "-";
	for (const char *p = value; *p != '\0';) {
		bool unsafe;
		size_t n = jit_text_next(p, &unsafe);

		if (unsafe)
			putchar('?');
		else
			fwrite(p, 1, n, stdout);
		p += n;
	}
	putchar('\n');
}

const char *
cli_time_text(const char *s, char buf[32])
{
	struct jit_error ignored;
	jit_time t;

	if (s == NULL || jit_time_parse(s, &t, &ignored) != 0)
		return s;
	cli_time_short(t, buf);
	return buf;
}

int
cli_json_print(const json_t *j, struct jit_error *err)
{
	if (json_dumpf(j, stdout, JSON_INDENT(2)) != 0)
		return cli_fail(err, "cannot write the JSON output");
	putchar('\n');
	return 0;
}

void
cli_time_short(jit_time t, char buf[CLI_TIME_SHORT])
{
	char full[JIT_TIME_BUFSZ];

	/* "2026-05-01T14:03:05.1234567Z" -> "2026-05-01 14:03:05Z" */
	jit_time_format(t, full);
	snprintf(buf, CLI_TIME_SHORT, "%.10s %.8sZ", full, full + 11);
}

void
cli_time_in(jit_time t, jit_time now, char buf[CLI_IN_BUFSZ])
{
	long long s = (long long)((t - now) / JIT_NS_PER_SEC);

	if (t <= now)
		snprintf(buf, CLI_IN_BUFSZ, "ended");
	else if (s >= 3600)
		snprintf(buf, CLI_IN_BUFSZ, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
	else if (s >= 60)
		snprintf(buf, CLI_IN_BUFSZ, "%lldm%02llds", s / 60, s % 60);
	else
		snprintf(buf, CLI_IN_BUFSZ, "%llds", s);
}
