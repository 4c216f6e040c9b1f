/*
 * audit_keyfile.c: reading, creating and rotating the audit key file safely
 * (audit_keyfile.h).
 */
#include "audit_keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int
io(struct jit_error *err, const char *what, const char *path)
{
	return jit_errorf(err, 500, JIT_E_INTERNAL, "audit key file %s: %s: %s", path, what,
		strerror(errno));
}

/* Writes text to a new file beside path and renames it over path, synced. */
static int
write_atomically(const char *path, const char *text, struct jit_error *err)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	size_t len = strlen(text);
	int fd, dfd;

	if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp) ||
		snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return jit_errorf(err, 500, JIT_E_INTERNAL, "audit key file path too long");
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		return io(err, "cannot create", tmp);
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
		close(fd);
		unlink(tmp);
		return io(err, "cannot write", tmp);
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		unlink(tmp);
		return io(err, "cannot rename into place", path);
	}
	if ((dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

static int
create(const char *path, int64_t next_seq, struct jit_error *err)
{
	struct jit_audit_keyring kr;
	char *text;
	int r;

	memset(&kr, 0, sizeof(kr));
	if (jit_audit_keyring_add_mac(&kr, next_seq, err) != 0 ||
		jit_audit_keyring_add_sign(&kr, err) != 0)
		return -1;
	if ((text = jit_audit_keyring_format(&kr)) == NULL) {
		jit_audit_keyring_wipe(&kr);
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	}
	r = write_atomically(path, text, err);
	sodium_memzero(text, strlen(text));
	free(text);
	jit_audit_keyring_wipe(&kr);
	return r;
}

static int
read_keys(int fd, const char *path, struct jit_audit_keyring *kr, struct jit_error *err)
{
	char buf[JIT_AUDIT_KEYFILE_MAX + 1];
	size_t len = 0;
	ssize_t r;
	int rc;

	if (lseek(fd, 0, SEEK_SET) != 0)
		return io(err, "cannot read", path);
	while (len < sizeof(buf) && (r = read(fd, buf + len, sizeof(buf) - len)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return io(err, "cannot read", path);
		}
		len += (size_t)r;
	}
	rc = jit_audit_keyring_parse(buf, len, kr, err);
	sodium_memzero(buf, sizeof(buf));
	if (rc != 0)
		return jit_error_prefix(err, "%s", path);
	return 0;
}

int
jit_audit_keyfile_open(const char *path, int64_t next_seq, struct jit_audit_keyfile *out,
	bool *created, struct jit_error *err)
{
	struct stat st;
	int fd;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	*created = false;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (create(path, next_seq, err) != 0)
			return -1;
		*created = true;
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return io(err, errno == ELOOP ? "is a symlink" : "cannot open", path);
	if (fstat(fd, &st) != 0) {
		close(fd);
		return io(err, "cannot stat", path);
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 || st.st_uid != geteuid()) {
		close(fd);
		return jit_errorf(err, 500, JIT_E_INTERNAL, "audit key file %s must be a regular "
			"file of uid %u with mode 0600 (it is %04o, uid %u)", path,
			(unsigned)geteuid(), (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		if (errno == EWOULDBLOCK)
			return jit_errorf(err, 500, JIT_E_INTERNAL, "audit key file %s is in use by "
				"another jitgated (stop it first)", path);
		return io(err, "cannot lock", path);
	}
	if (read_keys(fd, path, &out->keys, err) != 0) {
		close(fd);
		return -1;
	}
	out->fd = fd;
	return 0;
}

int
jit_audit_keyfile_rotate(struct jit_audit_keyfile *kf, const char *path, int64_t next_seq,
	struct jit_error *err)
{
	struct jit_audit_keyring kr = kf->keys;
	char *text;
	int r, fd;

	if (jit_audit_keyring_add_mac(&kr, next_seq, err) != 0 ||
		jit_audit_keyring_add_sign(&kr, err) != 0) {
		jit_audit_keyring_wipe(&kr);
		return -1;
	}
	if ((text = jit_audit_keyring_format(&kr)) == NULL) {
		jit_audit_keyring_wipe(&kr);
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	}
	r = write_atomically(path, text, err);
	sodium_memzero(text, strlen(text));
	free(text);
	if (r != 0) {
		jit_audit_keyring_wipe(&kr);
		return -1;
	}
	/* The new file is a new inode: lock it in place of the old one. */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
		flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (fd >= 0)
			close(fd);
		jit_audit_keyring_wipe(&kr);
		return io(err, "cannot lock the rotated file", path);
	}
	close(kf->fd);
	kf->fd = fd;
	kf->keys = kr;
	jit_audit_keyring_wipe(&kr);
	return 0;
}

void
jit_audit_keyfile_close(struct jit_audit_keyfile *kf)
{
	if (kf->fd >= 0)
		close(kf->fd);
	kf->fd = -1;
	jit_audit_keyring_wipe(&kf->keys);
}
