/*
 * error.c: filling and rendering struct jit_error, and quoting input for its message.
 *
 * A message that does not fit is cut at a UTF-8 character boundary: jansson
 * refuses a string with half a character, and a 400 would become a 500.
 */
#include "error.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* Bytes of refused input a message shows; the rest is elided and its length given. */
#define INPUT_SHOWN_MAX 48

/* Length of the UTF-8 sequence that lead byte c starts; 0 when c is no lead byte. */
static size_t
utf8_seq_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		return 2;
	if ((c & 0xf0) == 0xe0)
		return 3;
	if ((c & 0xf8) == 0xf0)
		return 4;
	return 0;
}

/* Drops a multi-byte character that truncation left incomplete at the end of s. */
static void
utf8_trim_cut(char *s)
{
	size_t len = strlen(s);
	size_t i = len;

	/* Back over at most three continuation bytes to the byte that leads them. */
	while (i > 0 && len - i < 3 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0)
		return;
	i--;
	if (utf8_seq_len((unsigned char)s[i]) > len - i)
		s[i] = '\0';
}

int
jit_verrorf(struct jit_error *err, int status, const char *code, const char *fmt, va_list ap)
{
	if (err == NULL)
		return -1;
	err->status = status;
	snprintf(err->code, sizeof(err->code), "%s", code);
	if (vsnprintf(err->message, sizeof(err->message), fmt, ap) >= (int)sizeof(err->message))
		utf8_trim_cut(err->message);
	return -1;
}

int
jit_errorf(struct jit_error *err, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	jit_verrorf(err, status, code, fmt, ap);
	va_end(ap);
	return -1;
}

int
jit_error_prefix(struct jit_error *err, const char *fmt, ...)
{
	char prefix[JIT_ERROR_MSG_MAX];
	char old[JIT_ERROR_MSG_MAX];
	va_list ap;
	int r;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->message, sizeof(old));
	/* Truncation keeps the path, which is what a reader needs first. */
	r = snprintf(err->message, sizeof(err->message), "%s: %s", prefix, old);
	if (r < 0)
		err->message[0] = '\0';
	else if (r >= (int)sizeof(err->message))
		utf8_trim_cut(err->message);
	return -1;
}

void
jit_error_clear(struct jit_error *err)
{
	if (err == NULL)
		return;
	err->status = 0;
	err->code[0] = '\0';
	err->message[0] = '\0';
}

char *
jit_error_to_json(const struct jit_error *err)
{
	json_t *root;
	char *out;

	root = json_pack("{s:{s:s,s:s}}", "error", "code", err->code[0] ? err->code : JIT_E_INTERNAL,
		"message", err->message);
	if (root == NULL)
		return NULL;
	out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return out;
}

const char *
jit_quote(char *buf, size_t n, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t room, o = 0;

	if (n < sizeof("...")) {
		if (n > 0)
			buf[0] = '\0';
		return buf;
	}
	room = n - sizeof("...");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char rep[4];
		size_t rlen;

		if (c == '"' || c == '\\') {
			rep[0] = '\\';
			rep[1] = (char)c;
			rlen = 2;
		} else if (c >= 0x20 && c < 0x7f) {
			rep[0] = (char)c;
			rlen = 1;
		} else {
			rep[0] = '\\';
			rep[1] = 'x';
			rep[2] = hex[c >> 4];
			rep[3] = hex[c & 0xf];
			rlen = 4;
		}
		if (o + rlen > room) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(buf + o, rep, rlen);
		o += rlen;
	}
	buf[o] = '\0';
	return buf;
}

int
jit_input_verrorf(struct jit_error *err, const char *what, const char *s, const char *fmt,
	va_list ap)
{
	/* Room for INPUT_SHOWN_MAX bytes, each escaped, so what is shown is never cut. */
	char q[JIT_QUOTE_BUFSZ(INPUT_SHOWN_MAX * 4)];
	char tail[40] = "";
	char reason[256];
	size_t len = strlen(s);

	vsnprintf(reason, sizeof(reason), fmt, ap);
	if (len > INPUT_SHOWN_MAX)
		snprintf(tail, sizeof(tail), "... (%zu bytes)", len);
	jit_quote(q, sizeof(q), s, len > INPUT_SHOWN_MAX ? INPUT_SHOWN_MAX : len);
	return jit_errorf(err, 400, JIT_E_INVALID_CONTENT, "invalid %s \"%s\"%s: %s", what, q,
		tail, reason);
}
