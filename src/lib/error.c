/*
 * error.c: filling and rendering struct jit_error.
 */
#include "error.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

int
jit_verrorf(struct jit_error *err, int status, const char *code, const char *fmt, va_list ap)
{
	if (err == NULL)
		return -1;
	err->status = status;
	snprintf(err->code, sizeof(err->code), "%s", code);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
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

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->message, sizeof(old));
	/* Truncation keeps the path, which is what a reader needs first. */
	if (snprintf(err->message, sizeof(err->message), "%s: %s", prefix, old) < 0)
		err->message[0] = '\0';
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
