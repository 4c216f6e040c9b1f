/*
 * console.h: the web console's static files (web/), served by jitgated at "/" and
 * "/console/<file>" on the API's own origin.
 *
 * The files are embedded at build time (scripts/console_embed.py turns web/ into
 * console_assets.c, plain and gzip-compressed, after checking that no file holds
 * inline script or style or writes HTML from strings); --console-dir serves them
 * from disk instead (development: edit, reload). Every answer carries the
 * console's security headers (a strict CSP with Trusted Types, nosniff,
 * no-referrer, HSTS, no framing), an ETag and Cache-Control: no-cache.
 */
#ifndef JIT_CONSOLE_H
#define JIT_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

struct jit_console_asset {
	const char *name;               /* "index.html", "app.js" (web/ is flat) */
	const char *content_type;
	const unsigned char *data;
	size_t len;
	const unsigned char *gz;        /* the same, gzip-compressed */
	size_t gz_len;
	const char *etag;               /* quoted, of the plain bytes */
};

/* console_assets.c (generated). */
extern const struct jit_console_asset jit_console_assets[];
extern const size_t jit_console_n_assets;

struct jit_console {
	bool enabled;                   /* false: --no-console (no files, no cookies) */
	const char *dir;                /* --console-dir, or NULL for the embedded files */
};

/* Is this request for the console ("/" or "/console/...", GET or HEAD)? */
bool jit_console_wants(const struct jit_console *con, const struct jit_http_request *req);
/* Answers such a request: the file, 304, or a 404/405 in ARM's error shape. */
void jit_console_serve(const struct jit_console *con, const struct jit_http_request *req,
	struct jit_http_response *resp);
/* The security headers of every console answer (also the session routes'). */
int jit_console_security_headers(struct jit_http_response *resp);
/* The Content-Type the console serves a file name with (by its extension). */
const char *jit_console_content_type(const char *name);

#endif
