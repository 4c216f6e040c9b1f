/*
 * test_text.c: what may reach a terminal (security finding 11 and 14): C0, DEL, C1
 * (CSI U+009B among them), bidi controls and malformed UTF-8 are replaced; other
 * scripts pass unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "text.h"

static void
sanitized(const char *in, const char *want)
{
	char *out = jit_text_sanitize(in);

	assert_non_null(out);
	if (strcmp(out, want) != 0)
		fail_msg("sanitize(\"%s\") = \"%s\", want \"%s\"", in, out, want);
	assert_int_equal(jit_text_safe(in), strcmp(in, want) == 0);
	assert_true(jit_text_safe(out));
	free(out);
}

static void
test_kept(void **state)
{
	(void)state;
	sanitized("", "");
	sanitized("Debian GNU/Linux 12 (bookworm)", "Debian GNU/Linux 12 (bookworm)");
	sanitized("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x94\x92", "caf\xc3\xa9 "
		"\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x94\x92");
	/* U+00A0 (just past C1) and U+2010 (a hyphen near the bidi block) are text. */
	sanitized("a\xc2\xa0z\xe2\x80\x90", "a\xc2\xa0z\xe2\x80\x90");
}

static void
test_c0_del(void **state)
{
	(void)state;
	sanitized("\x1b[31mred\x1b[0m", "?[31mred?[0m");
	sanitized("line\nbreak\r\ttab\x7f", "line?break??tab?");
}

static void
test_c1(void **state)
{
	(void)state;
	/* U+009B CSI encoded as UTF-8, and U+0085 NEL, U+0080, U+009F. */
	sanitized("\xc2\x9b" "31m", "?31m");
	sanitized("a\xc2\x85" "b\xc2\x80\xc2\x9f", "a?b??");
	/* The raw 8-bit CSI byte, as an 8-bit terminal reads it. */
	sanitized("\x9b" "2J", "?2J");
}

static void
test_bidi(void **state)
{
	(void)state;
	/* RLO U+202E ... PDF U+202C; LRI..PDI U+2066..U+2069; LRM, RLM, ALM. */
	sanitized("INC-\xe2\x80\xae" "4321\xe2\x80\xac", "INC-?4321?");
	sanitized("\xe2\x81\xa6x\xe2\x81\xa9", "?x?");
	sanitized("\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", "???");
	sanitized("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xad", "???");
}

static void
test_malformed(void **state)
{
	(void)state;
	/* Overlong ESC (C0 9B), overlong slash, a surrogate, past U+10FFFF, truncated. */
	sanitized("\xc0\x9b", "??");
	sanitized("\xe0\x80\xaf", "???");
	sanitized("\xed\xa0\x80", "???");
	sanitized("\xf4\x90\x80\x80", "????");
	sanitized("ab\xe2\x80", "ab??");
	sanitized("\xe2\x80" "c", "??c");
	sanitized("\xff\xfe", "??");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept),
		cmocka_unit_test(test_c0_del),
		cmocka_unit_test(test_c1),
		cmocka_unit_test(test_bidi),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
