/*
 * console.c: the web console's files (see console.h).
 *
 * Only names of one shape are served ("[A-Za-z0-9_-]+.ext", no directories), so a
 * path can never leave web/ or --console-dir; from disk, a file is opened without
 * following symlinks and must be a regular file of at most CONSOLE_MAX_FILE bytes.
 */
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

#define CONSOLE_PREFIX "/console/"
#define CONSOLE_MAX_FILE (4 * 1024 * 1024)
#define CONSOLE_NAME_MAX 64

/* No inline script or style, nothing but this origin, no framing, and Trusted Types:
 * the DOM's HTML-parsing sinks (innerHTML...) refuse plain strings. */
#define CSP "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " \
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; " \
	"form-action 'self'; frame-ancestors 'none'; " \
	"require-trusted-types-for 'script'; trusted-types 'none'"

int
jit_console_security_headers(struct jit_http_response *resp)
{
	if (jit_http_add_header(resp, "Content-Security-Policy", CSP) != 0 ||
		jit_http_add_header(resp, "Referrer-Policy", "no-referrer") != 0 ||
		jit_http_add_header(resp, "Strict-Transport-Security",
			"max-age=63072000; includeSubDomains") != 0 ||
		jit_http_add_header(resp, "X-Frame-Options", "DENY") != 0 ||
		jit_http_add_header(resp, "Cross-Origin-Opener-Policy", "same-origin") != 0 ||
		jit_http_add_header(resp, "Cross-Origin-Resource-Policy", "same-origin") != 0 ||
		jit_http_add_header(resp, "Permissions-Policy",
			"camera=(), microphone=(), geolocation=(), payment=()") != 0)
		return -1;
	return 0;
}

const char *
jit_console_content_type(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot == NULL)
		return "application/octet-stream";
	if (strcmp(dot, ".html") == 0)
		return "text/html; charset=utf-8";
	if (strcmp(dot, ".js") == 0 || strcmp(dot, ".mjs") == 0)
		return "text/javascript; charset=utf-8";
	if (strcmp(dot, ".css") == 0)
		return "text/css; charset=utf-8";
	if (strcmp(dot, ".svg") == 0)
		return "image/svg+xml";
	if (strcmp(dot, ".png") == 0)
		return "image/png";
	if (strcmp(dot, ".json") == 0)
		return "application/json; charset=utf-8";
	return "application/octet-stream";
}

bool
jit_console_wants(const struct jit_console *con, const struct jit_http_request *req)
{
	if (con == NULL || !con->enabled)
		return false;
	return strcmp(req->path, "/") == 0 ||
		strncmp(req->path, CONSOLE_PREFIX, sizeof(CONSOLE_PREFIX) - 1) == 0;
}

/* The file a path names, or NULL when it is not of the one shape served. */
static const char *
file_name(const char *path)
{
	const char *name, *dot;
	size_t n;

	if (strcmp(path, "/") == 0)
		return "index.html";
	name = path + sizeof(CONSOLE_PREFIX) - 1;
	n = strlen(name);
	dot = strrchr(name, '.');
	if (n == 0 || n > CONSOLE_NAME_MAX || dot == NULL || dot == name || dot[1] == '\0')
		return NULL;
	for (const char *p = name; *p; p++) {
		bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || (p == dot);

		if (!ok)
			return NULL;
	}
	return name;
}

/* Does the client take gzip? (a "gzip" coding in Accept-Encoding, not with q=0) */
static bool
accepts_gzip(const char *ae)
{
	const char *p = ae;

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, ','), *semi;
		size_t n;

		while (*p == ' ' || *p == '\t')
			p++;
		n = end ? (size_t)(end - p) : strlen(p);
		semi = memchr(p, ';', n);
		if ((semi ? (size_t)(semi - p) : n) >= 4 && strncasecmp(p, "gzip", 4) == 0 &&
			(p[4] == ';' || p[4] == ',' || p[4] == ' ' || p[4] == '\0')) {
			const char *q = semi ? strstr(semi, "q=") : NULL;

			if (q == NULL || (size_t)(q - p) > n)
				return true;
			return strtod(q + 2, NULL) > 0;
		}
		p = end ? end + 1 : NULL;
	}
	return false;
}

/* Does If-None-Match name etag (or "*")? */
static bool
etag_matches(const char *inm, const char *etag)
{
	size_t n = strlen(etag);

	if (inm == NULL)
		return false;
	if (strcmp(inm, "*") == 0)
		return true;
	for (const char *p = strstr(inm, etag); p != NULL; p = strstr(p + 1, etag))
		if ((p == inm || p[-1] == ' ' || p[-1] == ',' || p[-1] == '/') &&
			(p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return true;
	return false;
}

static void
not_found(struct jit_http_response *resp, const char *path)
{
	struct jit_error err;

	jit_errorf(&err, 404, JIT_E_NOT_FOUND, "The console has no file '%.100s'.", path);
	jit_http_error(resp, &err);
}

static void
internal(struct jit_http_response *resp, const char *what)
{
	struct jit_error err;

	jit_errorf(&err, 500, JIT_E_INTERNAL, "The console cannot serve this file: %s.", what);
	jit_http_error(resp, &err);
}

/* Reads dir/name (no symlinks, regular, bounded) into a malloc'd buffer. */
static int
read_file(const char *dir, const char *name, char **out, size_t *len)
{
	struct stat sb;
	int dfd, fd;
	char *buf;
	ssize_t r;
	size_t got = 0;

	*out = NULL;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	close(dfd);
	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > CONSOLE_MAX_FILE ||
		(buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	while (got < (size_t)sb.st_size &&
		(r = read(fd, buf + got, (size_t)sb.st_size - got)) > 0)
		got += (size_t)r;
	close(fd);
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

static const struct jit_console_asset *
embedded(const char *name)
{
	for (size_t i = 0; i < jit_console_n_assets; i++)
		if (strcmp(jit_console_assets[i].name, name) == 0)
			return &jit_console_assets[i];
	return NULL;
}

void
jit_console_serve(const struct jit_console *con, const struct jit_http_request *req,
	struct jit_http_response *resp)
{
	const char *name = file_name(req->path), *type;
	const struct jit_console_asset *a = NULL;
	const unsigned char *bytes;
	char etag[40], *disk = NULL;
	size_t len;
	bool gz;

	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		struct jit_error err;

		jit_errorf(&err, 405, JIT_E_METHOD_NOT_ALLOWED,
			"The console's files are read with GET only.");
		jit_http_error(resp, &err);
		return;
	}
	if (name == NULL) {
		not_found(resp, req->path);
		return;
	}
	type = jit_console_content_type(name);
	if (con->dir != NULL) {
		uint8_t h[8];

		if (read_file(con->dir, name, &disk, &len) != 0) {
			if (errno == ENOENT || errno == ELOOP || errno == EINVAL)
				not_found(resp, req->path);
			else
				internal(resp, strerror(errno));
			return;
		}
		crypto_generichash(h, sizeof(h), (const unsigned char *)disk, len, NULL, 0);
		etag[0] = '"';
		sodium_bin2hex(etag + 1, sizeof(etag) - 2, h, sizeof(h));
		strcat(etag, "\"");
		bytes = (const unsigned char *)disk;
		gz = false;
	} else {
		if ((a = embedded(name)) == NULL) {
			not_found(resp, req->path);
			return;
		}
		gz = a->gz_len > 0 && accepts_gzip(jit_http_header(req, "Accept-Encoding"));
		/* A representation of its own: the gzip bytes get their own tag. */
		snprintf(etag, sizeof(etag), "%.*s%s\"", (int)strlen(a->etag) - 1, a->etag,
			gz ? "-gz" : "");
		bytes = gz ? a->gz : a->data;
		len = gz ? a->gz_len : a->len;
	}
	resp->cache_control = "no-cache";
	if (jit_console_security_headers(resp) != 0 ||
		jit_http_add_header(resp, "ETag", etag) != 0 ||
		jit_http_add_header(resp, "Vary", "Accept-Encoding") != 0 ||
		(gz && jit_http_add_header(resp, "Content-Encoding", "gzip") != 0)) {
		free(disk);
		internal(resp, "out of memory");
		return;
	}
	if (etag_matches(jit_http_header(req, "If-None-Match"), etag)) {
		free(disk);
		resp->status = 304;
		return;
	}
	if (disk != NULL) {
		resp->raw = disk;
	} else if ((resp->raw = malloc(len + 1)) != NULL) {
		memcpy(resp->raw, bytes, len);
		resp->raw[len] = '\0';
	} else {
		internal(resp, "out of memory");
		return;
	}
	resp->raw_len = len;
	resp->content_type = type;
	resp->status = 200;
}
