/*
 * statedir.c: the agent's files (statedir.h), through a directory descriptor.
 *
 * Working relative to an open descriptor of the directory (openat, renameat) means a
 * path swapped under us after the checks in jit_sd_open changes nothing.
 */
#include "statedir.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CREDENTIAL_FILE "credential"
#define ENROLLMENT_FILE "enrollment.json"
#define STATE_FILE "desired-state.json"
#define CA_FILE "ca.pem"
#define MAX_CA_FILE (1L << 20)
/* The desired state as the client accepts it; the rest are tiny. */
#define MAX_STATE_FILE JIT_CP_MAX_STATE_BYTES
#define MAX_SMALL_FILE (16L * 1024)

struct jit_statedir {
	int fd;
	char *path;
};

static int
io_error(struct jit_error *err, const struct jit_statedir *sd, const char *name,
	const char *what)
{
	return jit_errorf(err, 500, JIT_E_INTERNAL, "%s%s%s: %s: %s", sd != NULL ? sd->path : "",
		sd != NULL ? "/" : "", name, what, strerror(errno));
}

int
jit_sd_open(const char *dir, struct jit_statedir **out, struct jit_error *err)
{
	return jit_sd_open_for(dir, geteuid(), out, err);
}

int
jit_sd_open_for(const char *dir, uid_t owner, struct jit_statedir **out, struct jit_error *err)
{
	struct jit_statedir *sd;
	struct stat st;

	*out = NULL;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "cannot create %s: %s", dir,
			strerror(errno));
	if ((sd = calloc(1, sizeof(*sd))) == NULL || (sd->path = strdup(dir)) == NULL) {
		free(sd);
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	}
	/* The directory itself may be a symlink (systemd's DynamicUser= makes one); the
	 * ownership check below is on what it points to. Files inside are never followed. */
	sd->fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sd->fd < 0 || fstat(sd->fd, &st) != 0) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "cannot open %s: %s", dir, strerror(errno));
		jit_sd_free(sd);
		return -1;
	}
	if (st.st_uid != owner) {
		jit_errorf(err, 500, JIT_E_INTERNAL,
			"%s belongs to uid %u, not to this agent (uid %u)", dir,
			(unsigned)st.st_uid, (unsigned)owner);
		jit_sd_free(sd);
		return -1;
	}
	if ((st.st_mode & 0777) != 0700 && fchmod(sd->fd, 0700) != 0) {
		io_error(err, NULL, dir, "cannot make it 0700");
		jit_sd_free(sd);
		return -1;
	}
	*out = sd;
	return 0;
}

int
jit_sd_give_to(const char *dir, uid_t uid, gid_t gid, struct jit_error *err)
{
	static const char *const files[] = { CREDENTIAL_FILE, ENROLLMENT_FILE, STATE_FILE,
		CA_FILE };
	struct stat st;
	int fd;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "cannot create %s: %s", dir,
			strerror(errno));
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "cannot open %s: %s", dir, strerror(errno));
		goto fail;
	}
	if (st.st_uid != uid && st.st_uid != 0) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "%s belongs to uid %u, neither root nor the "
			"agent's user (uid %u)", dir, (unsigned)st.st_uid, (unsigned)uid);
		goto fail;
	}
	if (st.st_uid == 0 && fchown(fd, uid, gid) != 0) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "cannot give %s to uid %u: %s", dir,
			(unsigned)uid, strerror(errno));
		goto fail;
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (fstatat(fd, files[i], &st, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno == ENOENT)
				continue;
			jit_errorf(err, 500, JIT_E_INTERNAL, "%s/%s: %s", dir, files[i],
				strerror(errno));
			goto fail;
		}
		if (!S_ISREG(st.st_mode) || (st.st_uid != uid && st.st_uid != 0)) {
			jit_errorf(err, 500, JIT_E_INTERNAL, "%s/%s: not a regular file of root or "
				"the agent's user", dir, files[i]);
			goto fail;
		}
		if (st.st_uid == 0 && fchownat(fd, files[i], uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
			jit_errorf(err, 500, JIT_E_INTERNAL, "cannot give %s/%s to uid %u: %s", dir,
				files[i], (unsigned)uid, strerror(errno));
			goto fail;
		}
	}
	close(fd);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

int
jit_sd_fd(const struct jit_statedir *sd)
{
	return sd->fd;
}

bool
jit_sd_has_credential(const char *dir)
{
	char path[4096];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s", dir, CREDENTIAL_FILE) >= (int)sizeof(path))
		return false;
	return lstat(path, &st) == 0;
}

void
jit_sd_free(struct jit_statedir *sd)
{
	if (sd == NULL)
		return;
	if (sd->fd >= 0)
		close(sd->fd);
	free(sd->path);
	free(sd);
}

/* Reads a whole file (at most max bytes) into a NUL-terminated buffer. dirfd may be
 * AT_FDCWD; follow says whether a symlink is acceptable. *found false: no such file. */
static int
read_all(int dirfd, const char *name, bool follow, long max, char **out, size_t *len,
	struct stat *st_out, bool *found, const struct jit_statedir *sd, struct jit_error *err)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, ret = -1;

	*out = NULL;
	*found = false;
	/* O_NONBLOCK: a FIFO planted in the directory must not hang the agent before the
	 * regular-file check below refuses it. */
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (follow ? 0 : O_NOFOLLOW));
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return io_error(err, sd, name, "cannot open");
	}
	if (fstat(fd, &st) != 0) {
		io_error(err, sd, name, "cannot stat");
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > max) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "%s%s%s: not a regular file of at most %ld "
			"bytes", sd != NULL ? sd->path : "", sd != NULL ? "/" : "", name, max);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			io_error(err, sd, name, "cannot read");
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	buf = NULL;
	*len = got;
	*found = true;
	if (st_out != NULL)
		*st_out = st;
	ret = 0;
out:
	if (buf != NULL) {
		explicit_bzero(buf, (size_t)st.st_size);
		free(buf);
	}
	close(fd);
	return ret;
}

/* Writes name atomically with mode; mtime (when not 0) is set on the new file. */
static int
write_atomic(struct jit_statedir *sd, const char *name, const char *data, size_t len,
	mode_t mode, jit_time mtime, struct jit_error *err)
{
	char tmp[64];
	size_t done = 0;
	ssize_t n;
	int fd;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	(void)unlinkat(sd->fd, tmp, 0);
	fd = openat(sd->fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return io_error(err, sd, tmp, "cannot create");
	while (done < len) {
		n = write(fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			io_error(err, sd, tmp, "cannot write");
			goto fail;
		}
		done += (size_t)n;
	}
	if (mtime != 0) {
		struct timespec ts[2] = {
			{ .tv_nsec = UTIME_OMIT },
			{ .tv_sec = mtime / JIT_NS_PER_SEC, .tv_nsec = mtime % JIT_NS_PER_SEC },
		};

		if (futimens(fd, ts) != 0) {
			io_error(err, sd, tmp, "cannot set its time");
			goto fail;
		}
	}
	if (fchmod(fd, mode) != 0 || fsync(fd) != 0) {
		io_error(err, sd, tmp, "cannot sync");
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		io_error(err, sd, tmp, "cannot close");
		goto fail;
	}
	fd = -1;
	if (renameat(sd->fd, tmp, sd->fd, name) != 0) {
		io_error(err, sd, name, "cannot rename into place");
		goto fail;
	}
	/* The rename itself is durable once the directory is synced. */
	(void)fsync(sd->fd);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	(void)unlinkat(sd->fd, tmp, 0);
	return -1;
}

int
jit_sd_keep_ca(struct jit_statedir *sd, const char *ca, uid_t uid, gid_t gid, char *path,
	size_t n, struct jit_error *err)
{
	char *pem = NULL;
	size_t len = 0;
	bool found;
	int r;

	if (read_all(AT_FDCWD, ca, true, MAX_CA_FILE, &pem, &len, NULL, &found, NULL, err) != 0)
		return -1;
	if (!found)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST, "--ca %s: no such file", ca);
	r = write_atomic(sd, CA_FILE, pem, len, 0600, 0, err);
	free(pem);
	if (r != 0)
		return -1;
	if (fchownat(sd->fd, CA_FILE, uid, gid, AT_SYMLINK_NOFOLLOW) != 0)
		return io_error(err, sd, CA_FILE, "cannot give it to the agent's user");
	/* Through the directory's descriptor: the user need not reach the directory by path
	 * (an ancestor may be closed to it), only the directory itself, which it owns. */
	if (snprintf(path, n, "/proc/self/fd/%d/%s", sd->fd, CA_FILE) >= (int)n)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "path too long");
	return 0;
}

/* Cuts trailing whitespace (a file written by hand ends with a newline). */
static void
chomp(char *s, size_t *len)
{
	while (*len > 0 && (s[*len - 1] == '\n' || s[*len - 1] == '\r' || s[*len - 1] == ' ' ||
		s[*len - 1] == '\t'))
		s[--*len] = '\0';
}

static int
read_token(int dirfd, const char *name, bool follow, char out[JIT_CP_TOKEN_MAX], bool *found,
	const struct jit_statedir *sd, struct jit_error *err)
{
	char *buf = NULL;
	size_t len = 0;

	out[0] = '\0';
	if (read_all(dirfd, name, follow, MAX_SMALL_FILE, &buf, &len, NULL, found, sd, err) != 0)
		return -1;
	if (!*found)
		return 0;
	chomp(buf, &len);
	if (!jit_cp_token_ok(buf)) {
		explicit_bzero(buf, len);
		free(buf);
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"%s%s%s: does not hold a jitgate token", sd != NULL ? sd->path : "",
			sd != NULL ? "/" : "", name);
	}
	memcpy(out, buf, len + 1);
	explicit_bzero(buf, len);
	free(buf);
	return 0;
}

int
jit_sd_read_token_file(const char *path, char out[JIT_CP_TOKEN_MAX], struct jit_error *err)
{
	bool found;

	if (read_token(AT_FDCWD, path, true, out, &found, NULL, err) != 0)
		return -1;
	if (!found)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST, "%s: no such file", path);
	return 0;
}

int
jit_sd_load_credential(struct jit_statedir *sd, char cred[JIT_CP_TOKEN_MAX], bool *found,
	struct jit_error *err)
{
	return read_token(sd->fd, CREDENTIAL_FILE, false, cred, found, sd, err);
}

int
jit_sd_load_enrollment(struct jit_statedir *sd, enum jit_ep_kind *kind,
	char ep[JIT_RESOURCE_ID_MAX], bool *found, struct jit_error *err)
{
	const char *k, *id;
	char *buf = NULL;
	size_t len = 0;
	json_t *j;
	int r = -1;

	ep[0] = '\0';
	if (read_all(sd->fd, ENROLLMENT_FILE, false, MAX_SMALL_FILE, &buf, &len, NULL, found,
		sd, err) != 0)
		return -1;
	if (!*found)
		return 0;
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	free(buf);
	k = json_string_value(json_object_get(j, "kind"));
	id = json_string_value(json_object_get(j, "enforcementPoint"));
	if (k == NULL || id == NULL || strlen(id) >= JIT_RESOURCE_ID_MAX ||
		jit_ep_kind_parse(k, kind, err) != 0)
		jit_errorf(err, 500, JIT_E_INTERNAL, "%s/%s: malformed", sd->path, ENROLLMENT_FILE);
	else {
		snprintf(ep, JIT_RESOURCE_ID_MAX, "%s", id);
		r = 0;
	}
	json_decref(j);
	return r;
}

int
jit_sd_save_enrollment(struct jit_statedir *sd, const struct jit_enrollment *e,
	struct jit_error *err)
{
	char line[JIT_CP_TOKEN_MAX + 1];
	json_t *j;
	char *text;
	int r, n;

	j = json_pack("{s:s,s:s,s:s}", "enforcementPoint", e->enforcement_point, "kind",
		jit_ep_kind_name(e->kind), "vm", e->vm);
	text = j != NULL ? json_dumps(j, JSON_INDENT(1)) : NULL;
	json_decref(j);
	if (text == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	r = write_atomic(sd, ENROLLMENT_FILE, text, strlen(text), 0600, 0, err);
	free(text);
	if (r != 0)
		return -1;
	n = snprintf(line, sizeof(line), "%s\n", e->credential);
	r = write_atomic(sd, CREDENTIAL_FILE, line, (size_t)n, 0600, 0, err);
	explicit_bzero(line, sizeof(line));
	return r;
}

int
jit_sd_load_state(struct jit_statedir *sd, struct jit_desired_state **out,
	jit_time *fetched_at, struct jit_error *err)
{
	json_error_t je;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	bool found;
	json_t *j;
	int r;

	*out = NULL;
	if (read_all(sd->fd, STATE_FILE, false, MAX_STATE_FILE, &buf, &len, &st, &found, sd,
		err) != 0)
		return -1;
	if (!found)
		return 0;
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	free(buf);
	if (j == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "%s/%s: line %d: %s", sd->path,
			STATE_FILE, je.line, je.text);
	r = jit_desired_state_from_json(j, out, err);
	json_decref(j);
	if (r != 0)
		return jit_error_prefix(err, "%s/%s", sd->path, STATE_FILE);
	*fetched_at = (jit_time)st.st_mtim.tv_sec * JIT_NS_PER_SEC + st.st_mtim.tv_nsec;
	return 0;
}

int
jit_sd_save_state(struct jit_statedir *sd, const struct jit_desired_state *ds,
	jit_time fetched_at, struct jit_error *err)
{
	json_t *j = jit_desired_state_to_json(ds);
	char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	int r;

	json_decref(j);
	if (text == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	r = write_atomic(sd, STATE_FILE, text, strlen(text), 0600, fetched_at, err);
	free(text);
	return r;
}
