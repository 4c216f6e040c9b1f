/*
 * error.h: the one error type of jitgate.
 *
 * An error is filled where a failure is found and returned upward unchanged.
 * It carries what an ARM client needs: an HTTP status, an ARM-style code and a
 * message a person can act on. It renders as {"error":{"code":..,"message":..}}.
 * Functions that can fail return 0 on success and -1 with *err filled.
 * Messages are valid UTF-8 (they are cut at a character boundary), provided what
 * goes into them is: untrusted input goes in through jit_quote.
 */
#ifndef JIT_ERROR_H
#define JIT_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#define JIT_ERROR_CODE_MAX 64
#define JIT_ERROR_MSG_MAX 512

/* ARM-style error codes used across the tree. */
#define JIT_E_INVALID_CONTENT "InvalidRequestContent"
#define JIT_E_BAD_REQUEST "BadRequest"
#define JIT_E_NOT_FOUND "NotFound"
#define JIT_E_RESOURCE_NOT_FOUND "ResourceNotFound"
#define JIT_E_CONFLICT "Conflict"
#define JIT_E_MISSING_API_VERSION "MissingApiVersionParameter"
#define JIT_E_INVALID_API_VERSION "InvalidApiVersionParameter"
#define JIT_E_UNAUTHENTICATED "AuthenticationFailed"
#define JIT_E_FORBIDDEN "AuthorizationFailed"
#define JIT_E_TOO_LARGE "RequestEntityTooLarge"
#define JIT_E_UNSUPPORTED_MEDIA "UnsupportedMediaType"
#define JIT_E_METHOD_NOT_ALLOWED "MethodNotAllowed"
#define JIT_E_TOO_MANY_REQUESTS "TooManyRequests"
#define JIT_E_INTERNAL "InternalServerError"
#define JIT_E_UNAVAILABLE "ServiceUnavailable"

struct jit_error {
	int status;                       /* HTTP status, e.g. 400 */
	char code[JIT_ERROR_CODE_MAX];    /* ARM code, e.g. "InvalidRequestContent" */
	char message[JIT_ERROR_MSG_MAX];  /* one sentence for a person */
};

/* Fills err (if not NULL) and returns -1, so callers can `return jit_errorf(...)`. */
int jit_errorf(struct jit_error *err, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int jit_verrorf(struct jit_error *err, int status, const char *code, const char *fmt,
	va_list ap) __attribute__((format(printf, 4, 0)));

/* Prepends "<formatted>: " to err->message, e.g. a JSON path. Returns -1. */
int jit_error_prefix(struct jit_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Resets err to "no error" (status 0, empty code and message). */
void jit_error_clear(struct jit_error *err);

/* Renders err as ARM's CloudError JSON; returns a malloc'd string or NULL on OOM. */
char *jit_error_to_json(const struct jit_error *err);

/* Size of a jit_quote buffer that shows up to `chars` characters: text, "..." and NUL. */
#define JIT_QUOTE_BUFSZ(chars) ((chars) + sizeof("..."))

/*
 * Renders untrusted bytes s[0..len) into buf (n bytes) for a message and returns buf:
 * printable ASCII as is, '"' and '\' after a backslash, any other byte as \xNN, so a
 * message never carries a terminal escape, and never invalid UTF-8 into JSON. When
 * that is longer than n - 4 characters, it is cut after the last byte that fits and
 * "..." follows. Surrounding quotes, if any, are the caller's format's.
 */
const char *jit_quote(char *buf, size_t n, const char *s, size_t len);

/*
 * Fills err (as jit_verrorf) with a 400 InvalidRequestContent about text a parser refused:
 * "invalid <what> \"<s>\": <reason>", s through jit_quote. Of a longer s only its first
 * 48 bytes are shown, then "... (<length> bytes)", so a reader still sees where it went
 * wrong without a message cut short. Returns -1.
 */
int jit_input_verrorf(struct jit_error *err, const char *what, const char *s, const char *fmt,
	va_list ap) __attribute__((format(printf, 4, 0)));

#endif
