/*
 * files.c: reading input files and writing private ones (files.h).
 *
 * A private file is created with O_EXCL and O_NOFOLLOW, so it is this run's own
 * new file: never someone else's, never reached through a link, never an old one
 * being overwritten. Its mode is set with fchmod too, whatever the umask.
 */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
cli_file_read(const char *opt, const char *path, size_t max, char **out, size_t *len,
	struct jit_error *err)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	char *buf;
	size_t n;

	*out = NULL;
	*len = 0;
	if (f == NULL)
		return cli_usage(err, "%s %s: cannot read it: %s", opt, path, strerror(errno));
	if ((buf = malloc(max + 1)) == NULL) {
		if (f != stdin)
			fclose(f);
		return cli_fail(err, "out of memory");
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f)) {
		if (f != stdin)
			fclose(f);
		free(buf);
		return cli_usage(err, "%s %s: cannot read it", opt, path);
	}
	if (f != stdin)
		fclose(f);
	if (n > max) {
		free(buf);
		return cli_usage(err, "%s %s: larger than %zu bytes", opt, path, max);
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

int
cli_file_create_private(const char *opt, const char *path, int *fd, struct jit_error *err)
{
	*fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (*fd < 0) {
		if (errno == EEXIST)
			return cli_usage(err, "%s %s: the file exists; jitgate does not overwrite it "
				"(remove it, or name another)", opt, path);
		return cli_fail(err, "%s %s: cannot create it: %s", opt, path, strerror(errno));
	}
	if (fchmod(*fd, 0600) != 0) {
		int e = errno;

		close(*fd);
		unlink(path);
		*fd = -1;
		return cli_fail(err, "%s %s: cannot make it private: %s", opt, path, strerror(e));
	}
	return 0;
}

int
cli_file_finish(const char *path, int fd, const char *buf, size_t len, struct jit_error *err)
{
	size_t done = 0;

	while (done < len) {
		ssize_t w = write(fd, buf + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = errno;

			close(fd);
			return cli_fail(err, "cannot write %s: %s", path, strerror(e));
		}
		done += (size_t)w;
	}
	if (fsync(fd) != 0) {
		int e = errno;

		close(fd);
		return cli_fail(err, "cannot write %s: %s", path, strerror(e));
	}
	if (close(fd) != 0)
		return cli_fail(err, "cannot write %s: %s", path, strerror(errno));
	return 0;
}
