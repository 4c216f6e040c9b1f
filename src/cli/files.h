/*
 * files.h: the files jitgate reads and writes besides its profile (profile.h):
 * input files given with --file, and the private files a secret is written to
 * (token create --output-file).
 */
#ifndef JIT_CLI_FILES_H
#define JIT_CLI_FILES_H

#include <stddef.h>

#include "cli.h"

/* Reads all of path ("-": standard input), at most max bytes, into *out (malloc'd,
 * NUL-terminated). opt names the option in messages ("--file"); errors are usage
 * errors (the file is the user's argument). */
int cli_file_read(const char *opt, const char *path, size_t max, char **out, size_t *len,
	struct jit_error *err);

/* Creates path for writing, mode 0600; an existing file (or a symbolic link) is
 * refused, never overwritten. Returns the descriptor in *fd. */
int cli_file_create_private(const char *opt, const char *path, int *fd,
	struct jit_error *err);

/* Writes all of buf to fd, then syncs and closes it (always closed). */
int cli_file_finish(const char *path, int fd, const char *buf, size_t len,
	struct jit_error *err);

#endif
