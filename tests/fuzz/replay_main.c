/*
 * replay_main.c: runs a fuzz target over every file of its corpus directories,
 * so that `make test` (with and without sanitizers) proves that no input found
 * by fuzzing crashes again. Speaks TAP: one test per directory.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
	FILE *f;
	uint8_t *buf;
	struct stat st;
	size_t got;

	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	if (fstat(fileno(f), &st) != 0 || st.st_size < 0) {
		fclose(f);
		return -1;
	}
	/* A zero-length malloc may return NULL; always allocate one byte more. */
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		fclose(f);
		return -1;
	}
	got = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, got);
	free(buf);
	return 0;
}

static int
replay_dir(const char *dir, int *count)
{
	DIR *d;
	struct dirent *de;
	char path[4096];

	if ((d = opendir(dir)) == NULL) {
		printf("# cannot open %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (replay_file(path) != 0) {
			printf("# cannot read %s\n", path);
			closedir(d);
			return -1;
		}
		(*count)++;
	}
	closedir(d);
	return 0;
}

int
main(int argc, char **argv)
{
	int failed = 0;

	printf("1..%d\n", argc - 1);
	for (int i = 1; i < argc; i++) {
		int count = 0;

		if (replay_dir(argv[i], &count) != 0 || count == 0) {
			printf("not ok %d - %s (no corpus files replayed)\n", i, argv[i]);
			failed = 1;
			continue;
		}
		printf("ok %d - replayed %d inputs from %s\n", i, count, argv[i]);
	}
	return failed;
}
