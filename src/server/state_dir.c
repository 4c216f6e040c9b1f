/*
 * state_dir.c: checks of the state directory and its files (state_dir.h).
 */
#include "state_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static int
check_owner_mode(const char *path, const struct stat *st, struct jit_error *err)
{
	if (st->st_uid != geteuid())
		return jit_errorf(err, 500, JIT_E_INTERNAL,
			"%s belongs to uid %u, not to this user (uid %u): a state directory or file "
			"someone else owns is not trusted", path, (unsigned)st->st_uid,
			(unsigned)geteuid());
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return jit_errorf(err, 500, JIT_E_INTERNAL,
			"%s is writable by group or others (mode %04o): anyone who can write there "
			"could plant keys or a database; chmod go-w it", path,
			(unsigned)(st->st_mode & 07777));
	return 0;
}

int
jit_state_dir_check(const char *path, bool top, struct jit_error *err)
{
	struct stat st;

	if ((top ? stat(path, &st) : lstat(path, &st)) != 0)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "cannot examine %s: %s", path,
			strerror(errno));
	if (S_ISLNK(st.st_mode))
		return jit_errorf(err, 500, JIT_E_INTERNAL,
			"%s is a symbolic link: jitgated makes this directory itself", path);
	if (!S_ISDIR(st.st_mode))
		return jit_errorf(err, 500, JIT_E_INTERNAL, "%s is not a directory", path);
	return check_owner_mode(path, &st, err);
}

int
jit_state_file_check(const char *path, bool secret, struct jit_error *err)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		return jit_errorf(err, 500, JIT_E_INTERNAL, "cannot examine %s: %s", path,
			strerror(errno));
	}
	if (S_ISLNK(st.st_mode))
		return jit_errorf(err, 500, JIT_E_INTERNAL,
			"%s is a symbolic link: jitgated reads only files it made itself here", path);
	if (!S_ISREG(st.st_mode))
		return jit_errorf(err, 500, JIT_E_INTERNAL, "%s is not a regular file", path);
	if (check_owner_mode(path, &st, err) != 0)
		return -1;
	if (!secret || (st.st_mode & 077) == 0)
		return 0;
	/* Ours, but readable by others (made before jitgated set its umask): tighten. */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 || fchmod(fd, 0600) != 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return jit_errorf(err, 500, JIT_E_INTERNAL, "cannot make %s private: %s", path,
			strerror(e));
	}
	close(fd);
	jit_log(JIT_LOG_WARN, "permissions_tightened", "path", path, "mode", "0600",
		(const char *)NULL);
	return 0;
}
