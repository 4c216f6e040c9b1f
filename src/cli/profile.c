/*
 * profile.c: the profile file, token files, and the order in which flags, the
 * environment and the profile decide where jitgate connects (profile.h).
 *
 * The profile is parsed strictly (known keys, one per line) because it is
 * input like any other; secrets are wiped from memory once used.
 */
#include "profile.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* A profile is a few hundred bytes; anything much larger is not one. */
#define PROFILE_MAX_BYTES (64 * 1024)

void
cli_profile_wipe(struct cli_profile *p)
{
	sodium_memzero(p->token, sizeof(p->token));
}

void
cli_connection_wipe(struct cli_connection *conn)
{
	sodium_memzero(conn->token, sizeof(conn->token));
}

int
cli_profile_name_check(const char *name, const char *what, struct jit_error *err)
{
	size_t len = strlen(name);

	if (len == 0 || len > 64 || name[0] == '.' ||
		strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != len)
		return cli_usage(err, "%s: a profile name is 1 to 64 letters, digits, '.', '_' or "
			"'-', not starting with '.'", what);
	return 0;
}

const char *
cli_profile_name(const struct cli *c)
{
	const char *env = getenv("JITGATE_PROFILE");

	if (c->profile != NULL)
		return c->profile;
	return env != NULL && env[0] != '\0' ? env : NULL;
}

int
cli_profile_path(const char *name, char *buf, size_t n, struct jit_error *err)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	char file[96] = "config";
	int r;

	if (name != NULL) {
		if (cli_profile_name_check(name, "JITGATE_PROFILE", err) != 0)
			return -1;
		snprintf(file, sizeof(file), "profiles/%s", name);
	}
	/* The XDG spec: a relative XDG_CONFIG_HOME is invalid and ignored. */
	if (xdg != NULL && xdg[0] == '/')
		r = snprintf(buf, n, "%s/jitgate/%s", xdg, file);
	else if (home != NULL && home[0] != '\0')
		r = snprintf(buf, n, "%s/.config/jitgate/%s", home, file);
	else
		return cli_fail(err, "cannot find the profile: neither XDG_CONFIG_HOME nor HOME is "
			"set");
	if (r < 0 || (size_t)r >= n)
		return cli_fail(err, "the profile's path is too long");
	return 0;
}

static char *
trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int
set_field(char *dst, size_t n, const char *value, const char *path, int line,
	struct jit_error *err)
{
	if (strlen(value) >= n)
		return cli_fail(err, "%s:%d: the value is too long", path, line);
	snprintf(dst, n, "%s", value);
	return 0;
}

static int
parse_line(struct cli_profile *p, char *s, const char *path, int line, struct jit_error *err)
{
	char *eq, *key, *value;

	s = trim(s);
	if (s[0] == '\0' || s[0] == '#')
		return 0;
	if ((eq = strchr(s, '=')) == NULL)
		return cli_fail(err, "%s:%d: expected 'key = value'", path, line);
	*eq = '\0';
	key = trim(s);
	value = trim(eq + 1);
	if (strcmp(key, "server") == 0)
		return set_field(p->server, sizeof(p->server), value, path, line, err);
	if (strcmp(key, "ca") == 0)
		return set_field(p->ca, sizeof(p->ca), value, path, line, err);
	if (strcmp(key, "token") == 0)
		return set_field(p->token, sizeof(p->token), value, path, line, err);
	if (strcmp(key, "subscription") == 0)
		return set_field(p->subscription, sizeof(p->subscription), value, path, line, err);
	return cli_fail(err, "%s:%d: unknown key '%.40s' (known: server, ca, token, subscription)",
		path, line, key);
}

int
cli_profile_load(const char *name, struct cli_profile *p, bool *found, struct jit_error *err)
{
	char path[PATH_MAX];
	char *buf = NULL, *save = NULL, *line;
	struct stat st;
	int fd = -1, rc = -1, n = 0;
	ssize_t got;

	memset(p, 0, sizeof(*p));
	*found = false;
	if (cli_profile_path(name, path, sizeof(path), err) != 0)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT && name != NULL)
			return cli_usage(err, "there is no profile '%s' (%s): make it with 'jitgate "
				"login --profile %s ...'", name, path, name);
		if (errno == ENOENT)
			return 0;
		return cli_fail(err, "cannot read the profile %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > PROFILE_MAX_BYTES) {
		cli_fail(err, "the profile %s is not a regular file of at most %d bytes", path,
			PROFILE_MAX_BYTES);
		goto out;
	}
	if ((buf = calloc(1, (size_t)st.st_size + 1)) == NULL) {
		cli_fail(err, "out of memory");
		goto out;
	}
	if ((got = read(fd, buf, (size_t)st.st_size)) != st.st_size) {
		cli_fail(err, "cannot read the profile %s", path);
		goto out;
	}
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		if (parse_line(p, line, path, ++n, err) != 0)
			goto out;
	*found = true;
	rc = 0;
out:
	if (buf != NULL) {
		sodium_memzero(buf, (size_t)st.st_size);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		cli_profile_wipe(p);
	return rc;
}

/* mkdir -p for the profile's directory: each level 0700 when created here. */
static int
make_dirs(char *dir, struct jit_error *err)
{
	for (char *p = dir + 1; ; p++) {
		char saved = *p;

		if (saved != '/' && saved != '\0')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			cli_fail(err, "cannot create %s: %s", dir, strerror(errno));
			*p = saved;
			return -1;
		}
		*p = saved;
		if (saved == '\0')
			return 0;
	}
}

static int
write_all(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len > 0) {
		ssize_t w = write(fd, s, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		len -= (size_t)w;
	}
	return 0;
}

int
cli_profile_save(const char *name, const struct cli_profile *p, char *path, size_t n,
	struct jit_error *err)
{
	char dir[PATH_MAX], tmp[PATH_MAX + 16], text[CLI_URL_MAX + PATH_MAX + CLI_TOKEN_MAX + 256];
	char *slash;
	int fd = -1, rc = -1, len;

	if (cli_profile_path(name, path, n, err) != 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	if (make_dirs(dir, err) != 0)
		return -1;
	len = snprintf(text, sizeof(text),
		"# jitgate profile, written by 'jitgate login'. It holds a token: keep it 0600.\n"
		"server = %s\n%s%s%stoken = %s\n%s%s%s",
		p->server, p->ca[0] ? "ca = " : "", p->ca, p->ca[0] ? "\n" : "", p->token,
		p->subscription[0] ? "subscription = " : "", p->subscription,
		p->subscription[0] ? "\n" : "");
	if (len < 0 || (size_t)len >= sizeof(text)) {
		cli_fail(err, "the profile is too long");
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	/* 0600 from the start: the token is never readable by others, not even briefly. */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		cli_fail(err, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0600) != 0 || write_all(fd, text) != 0 || fsync(fd) != 0) {
		cli_fail(err, "cannot write %s: %s", tmp, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) != 0) {
		cli_fail(err, "cannot replace %s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(text, sizeof(text));
	if (fd >= 0)
		close(fd);
	return rc;
}

static int
one_server_url(const char *in, char out[CLI_URL_MAX], struct jit_error *err)
{
	const char *host = in;
	size_t len;

	if (strncasecmp(in, "http://", 7) == 0)
		return cli_usage(err, "the server URL '%.200s' is plain HTTP; jitgate speaks only "
			"HTTPS (https://HOST:PORT)", in);
	if (strncasecmp(in, "https://", 8) == 0)
		host = in + 8;
	else if (strstr(in, "://") != NULL)
		return cli_usage(err, "the server URL '%.200s' is not https://HOST[:PORT]", in);
	len = strlen(host);
	while (len > 0 && host[len - 1] == '/')
		len--;
	if (len == 0 || memchr(host, '/', len) != NULL || memchr(host, '?', len) != NULL ||
		memchr(host, '@', len) != NULL)
		return cli_usage(err, "the server URL '%.200s' is not https://HOST[:PORT] (no path, "
			"no user)", in);
	for (size_t i = 0; i < len; i++)
		if (!isgraph((unsigned char)host[i]))
			return cli_usage(err, "the server URL contains a space or control character");
	if (len + 9 > CLI_URL_MAX)
		return cli_usage(err, "the server URL is too long");
	snprintf(out, CLI_URL_MAX, "https://%.*s", (int)len, host);
	return 0;
}

/* "URL,URL,...": replicas of one control plane; each is checked and normalised. */
int
cli_server_url(const char *in, char out[CLI_URL_MAX], struct jit_error *err)
{
	char one[CLI_URL_MAX], norm[CLI_URL_MAX];
	size_t used = 0;

	out[0] = '\0';
	for (const char *p = in;;) {
		size_t n = strcspn(p, ",");

		if (n >= sizeof(one))
			return cli_usage(err, "the server URL is too long");
		memcpy(one, p, n);
		one[n] = '\0';
		if (one_server_url(one, norm, err) != 0)
			return -1;
		if (used + strlen(norm) + 2 > CLI_URL_MAX)
			return cli_usage(err, "the server URL list is too long");
		used += (size_t)snprintf(out + used, CLI_URL_MAX - used, "%s%s", used ? "," : "",
			norm);
		if (p[n] == '\0')
			return 0;
		p += n + 1;
	}
}

int
cli_token_read(const char *path, char out[CLI_TOKEN_MAX], struct jit_error *err)
{
	char buf[CLI_TOKEN_MAX + 2];
	FILE *f;
	char *t;
	size_t len;
	int rc = -1;

	if (strcmp(path, "-") == 0)
		f = stdin;
	else if ((f = fopen(path, "re")) == NULL)
		return cli_fail(err, "cannot read the token file %s: %s", path, strerror(errno));
	if (fgets(buf, sizeof(buf), f) == NULL) {
		cli_fail(err, "the token file %s is empty", path);
		goto out;
	}
	t = trim(buf);
	len = strlen(t);
	if (len == 0 || len >= CLI_TOKEN_MAX) {
		cli_fail(err, "the token file %s does not hold a token on its first line", path);
		goto out;
	}
	for (size_t i = 0; i < len; i++)
		if (!isgraph((unsigned char)t[i])) {
			cli_fail(err, "the token file %s holds something that is not a token", path);
			goto out;
		}
	memcpy(out, t, len + 1);
	rc = 0;
out:
	sodium_memzero(buf, sizeof(buf));
	if (f != stdin)
		fclose(f);
	return rc;
}

static int
check_ca(const char *ca, const char *from, struct jit_error *err)
{
	struct stat st;

	if (stat(ca, &st) != 0)
		return cli_fail(err, "cannot use the CA file %s (from %s): %s", ca, from,
			strerror(errno));
	if (!S_ISREG(st.st_mode) || access(ca, R_OK) != 0)
		return cli_fail(err, "cannot read the CA file %s (from %s)", ca, from);
	return 0;
}

static int
copy_env_token(const char *v, char out[CLI_TOKEN_MAX], struct jit_error *err)
{
	size_t len = strlen(v);

	if (len == 0 || len >= CLI_TOKEN_MAX)
		return cli_usage(err, "JITGATE_TOKEN is empty or too long");
	memcpy(out, v, len + 1);
	return 0;
}

int
cli_connection_resolve(const struct cli *c, bool use_profile, struct cli_connection *out,
	struct jit_error *err)
{
	struct cli_profile p;
	const char *env_server = getenv("JITGATE_SERVER");
	const char *env_token = getenv("JITGATE_TOKEN");
	const char *env_token_file = getenv("JITGATE_TOKEN_FILE");
	const char *env_ca = getenv("JITGATE_CA");
	const char *env_sub = getenv("JITGATE_SUBSCRIPTION");
	char profile_server[CLI_URL_MAX] = "";
	const char *sub = c->subscription ? c->subscription : "";
	bool found = false, same_server;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));
	if (use_profile && cli_profile_load(cli_profile_name(c), &p, &found, err) != 0)
		return -1;
	if (found && p.server[0] != '\0' &&
		cli_server_url(p.server, profile_server, err) != 0) {
		jit_error_prefix(err, "the profile");
		goto out;
	}
	if (c->server != NULL) {
		if (cli_server_url(c->server, out->server, err) != 0)
			goto out;
	} else if (env_server != NULL && env_server[0] != '\0') {
		if (cli_server_url(env_server, out->server, err) != 0)
			goto out;
	} else if (profile_server[0] != '\0') {
		snprintf(out->server, sizeof(out->server), "%s", profile_server);
	} else {
		cli_usage(err, "no server: pass --server https://HOST:PORT, set JITGATE_SERVER, "
			"or run 'jitgate login'");
		goto out;
	}
	/* The profile's secrets go only to the profile's server. */
	same_server = profile_server[0] != '\0' && strcasecmp(profile_server, out->server) == 0;

	if (c->token_file != NULL) {
		if (cli_token_read(c->token_file, out->token, err) != 0)
			goto out;
	} else if (env_token_file != NULL && env_token_file[0] != '\0') {
		if (cli_token_read(env_token_file, out->token, err) != 0) {
			jit_error_prefix(err, "JITGATE_TOKEN_FILE");
			goto out;
		}
	} else if (env_token != NULL && env_token[0] != '\0') {
		if (copy_env_token(env_token, out->token, err) != 0)
			goto out;
	} else if (same_server && p.token[0] != '\0') {
		snprintf(out->token, sizeof(out->token), "%s", p.token);
	} else {
		cli_usage(err, "no token: pass --token-file FILE, set JITGATE_TOKEN_FILE (a file) "
			"or JITGATE_TOKEN (the token), or run "
			"'jitgate login'%s", found && !same_server ?
			" (the profile's token is only sent to the profile's server)" : "");
		goto out;
	}

	if (c->ca != NULL) {
		snprintf(out->ca, sizeof(out->ca), "%s", c->ca);
		out->ca_from = "--ca";
	} else if (env_ca != NULL && env_ca[0] != '\0') {
		snprintf(out->ca, sizeof(out->ca), "%s", env_ca);
		out->ca_from = "JITGATE_CA";
	} else if (same_server && p.ca[0] != '\0') {
		snprintf(out->ca, sizeof(out->ca), "%s", p.ca);
		out->ca_from = "the profile";
	}
	if (out->ca[0] != '\0' && check_ca(out->ca, out->ca_from, err) != 0)
		goto out;

	if (c->subscription == NULL && env_sub != NULL && env_sub[0] != '\0')
		sub = env_sub;
	else if (c->subscription == NULL && same_server)
		sub = p.subscription;
	if (strlen(sub) >= sizeof(out->subscription)) {
		cli_usage(err, "the subscription ID is longer than %d characters", JIT_NAME_MAX);
		goto out;
	}
	snprintf(out->subscription, sizeof(out->subscription), "%s", sub);
	rc = 0;
out:
	cli_profile_wipe(&p);
	if (rc != 0)
		cli_connection_wipe(out);
	return rc;
}
