/*
 * test_statedir.c: the agent's state directory: a 0700 directory of its own (which
 * may be a symlink), a 0600 credential, and files replaced by temp + rename, so that
 * a crash mid-write leaves the old file or the new one; a partial or corrupt saved
 * state is refused on load with its path in the message, never half used.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "statedir.h"

#define CRED "jgt_0123456789abcdef_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"
#define EP "/subscriptions/s1/resourceGroups/rg1/providers/Jitgate/enforcementPoints/vm1"
#define VM1 "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1"
#define STATE_TMP ".desired-state.json.tmp"
#define NOBODY 65534

static const char state_doc[] =
	"{\"version\":7,\"enforcementPoint\":\"ep-vm1\",\"kind\":\"host\","
	"\"generatedAtUtc\":\"2026-11-25T21:00:00.0000000Z\",\"rules\":["
	"{\"vm\":\"" VM1 "\",\"destinations\":[\"10.0.0.4\",\"2001:db8::4\"],\"number\":22,"
	"\"protocol\":\"TCP\",\"closeEstablished\":true,\"grants\":["
	"{\"source\":\"10.1.0.5\",\"endTimeUtc\":\"2026-11-25T22:00:00.0000000Z\","
	"\"secondsRemaining\":3600},"
	"{\"source\":\"10.2.0.0/24\",\"endTimeUtc\":\"2026-11-25T21:05:00.5000000Z\","
	"\"secondsRemaining\":300,\"mappedPort\":50022}]}]}";

/* Each test's scratch directory; the state dir is <root>/state unless a test says. */
struct fixture {
	char root[64];
	char dir[96];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->root, sizeof(f->root), "/tmp/test_statedir.XXXXXX");
	if (mkdtemp(f->root) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->dir, sizeof(f->dir), "%s/state", f->root);
	*state = f;
	return 0;
}

static int
rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	umask(022);
	nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* path = <root>/<name> (or <dir>/<name> with in_dir). */
static const char *
at_root(const struct fixture *f, const char *name, char path[256])
{
	snprintf(path, 256, "%s/%s", f->root, name);
	return path;
}

static const char *
in_dir(const struct fixture *f, const char *name, char path[256])
{
	snprintf(path, 256, "%s/%s", f->dir, name);
	return path;
}

static struct jit_statedir *
open_ok(const char *dir)
{
	struct jit_statedir *sd = NULL;
	struct jit_error err;

	if (jit_sd_open(dir, &sd, &err) != 0)
		fail_msg("jit_sd_open(%s): %s", dir, err.message);
	assert_non_null(sd);
	return sd;
}

static mode_t
mode_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		fail_msg("%s: %s", path, strerror(errno));
	return st.st_mode & 07777;
}

static void
write_file(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0)
		fail_msg("%s: %s", path, strerror(errno));
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* The whole file as a string (caller frees); NULL when it does not exist. */
static char *
read_file(const char *path)
{
	char *buf = NULL;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	assert_int_equal(fstat(fd, &st), 0);
	buf = calloc(1, (size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	return buf;
}

static void
assert_starts_with(const char *s, const char *prefix)
{
	if (strncmp(s, prefix, strlen(prefix)) != 0)
		fail_msg("\"%s\" does not start with \"%s\"", s, prefix);
}

static struct jit_desired_state *
state_from(const char *text)
{
	struct jit_desired_state *ds = NULL;
	struct jit_error err;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);

	assert_non_null(j);
	if (jit_desired_state_from_json(j, &ds, &err) != 0)
		fail_msg("test state does not decode: %s", err.message);
	json_decref(j);
	return ds;
}

/* A state of n_rules copies of state_doc's rule, at version. */
static struct jit_desired_state *
big_state(uint64_t version, size_t n_rules)
{
	json_t *j = json_loads(state_doc, 0, NULL);
	json_t *rules = json_object_get(j, "rules");
	json_t *rule = json_array_get(rules, 0);
	struct jit_desired_state *ds = NULL;
	struct jit_error err;

	assert_non_null(rule);
	for (size_t i = 1; i < n_rules; i++)
		assert_int_equal(json_array_append_new(rules, json_deep_copy(rule)), 0);
	json_object_set_new(j, "version", json_integer((json_int_t)version));
	if (jit_desired_state_from_json(j, &ds, &err) != 0)
		fail_msg("big state does not decode: %s", err.message);
	json_decref(j);
	return ds;
}

/* The canonical text of ds: what a save must write, and a load must give back. */
static char *
encoding(const struct jit_desired_state *ds)
{
	json_t *j = jit_desired_state_to_json(ds);
	char *s = json_dumps(j, JSON_COMPACT);

	assert_non_null(s);
	json_decref(j);
	return s;
}

static void
save_ok(struct jit_statedir *sd, const struct jit_desired_state *ds, jit_time at)
{
	struct jit_error err;

	if (jit_sd_save_state(sd, ds, at, &err) != 0)
		fail_msg("jit_sd_save_state: %s", err.message);
}

static void
expect_load_refused(struct jit_statedir *sd, const char *message)
{
	struct jit_desired_state *ds = (struct jit_desired_state *)1;
	struct jit_error err;
	jit_time at = 0;

	jit_error_clear(&err);
	assert_int_equal(jit_sd_load_state(sd, &ds, &at, &err), -1);
	assert_null(ds);
	assert_true(err.status >= 400);
	assert_starts_with(err.message, message);
}

/*
 * The directory
 */

static void
test_open_creates_0700(void **state)
{
	struct fixture *f = *state;
	char path[256];

	/* Whatever the umask, even one that would leave the owner without x. */
	umask(0);
	jit_sd_free(open_ok(f->dir));
	assert_int_equal(mode_of(f->dir), 0700);
	umask(0277);
	jit_sd_free(open_ok(at_root(f, "other", path)));
	assert_int_equal(mode_of(path), 0700);
	/* Opening again changes nothing. */
	jit_sd_free(open_ok(f->dir));
	assert_int_equal(mode_of(f->dir), 0700);
	jit_sd_free(NULL);
}

static void
test_open_tightens_a_loose_mode(void **state)
{
	struct fixture *f = *state;

	umask(0);
	assert_int_equal(mkdir(f->dir, 0777), 0);
	assert_int_equal(mode_of(f->dir), 0777);
	jit_sd_free(open_ok(f->dir));
	assert_int_equal(mode_of(f->dir), 0700);
}

/* The directory may be a symlink (systemd's DynamicUser= makes one): it is followed,
 * and the checks are on what it points to. */
static void
test_open_follows_a_symlinked_dir(void **state)
{
	struct fixture *f = *state;
	char link[256], path[256];
	struct jit_statedir *sd;
	struct jit_enrollment e = { .enforcement_point = EP, .kind = JIT_EP_GATEWAY,
		.credential = CRED };
	struct jit_error err;

	assert_int_equal(mkdir(f->dir, 0755), 0);
	assert_int_equal(symlink(f->dir, at_root(f, "link", link)), 0);
	sd = open_ok(link);
	assert_int_equal(mode_of(f->dir), 0700);
	assert_int_equal(jit_sd_save_enrollment(sd, &e, &err), 0);
	jit_sd_free(sd);
	assert_int_equal(mode_of(in_dir(f, "credential", path)), 0600);
}

static void
test_open_refuses_what_is_not_a_directory(void **state)
{
	struct fixture *f = *state;
	struct jit_statedir *sd = (struct jit_statedir *)1;
	struct jit_error err;
	char want[256];

	write_file(f->dir, "x", 1, 0600);
	assert_int_equal(jit_sd_open(f->dir, &sd, &err), -1);
	assert_null(sd);
	snprintf(want, sizeof(want), "cannot open %s: ", f->dir);
	assert_starts_with(err.message, want);
	/* Its parent missing: mkdir fails, and says so. */
	snprintf(want, sizeof(want), "%s/no/such", f->root);
	assert_int_equal(jit_sd_open(want, &sd, &err), -1);
	assert_starts_with(err.message, "cannot create ");
}

/* Another user's directory is refused, a symlink to one too; needs root to make one. */
static void
test_open_refuses_another_users_dir(void **state)
{
	struct fixture *f = *state;
	struct jit_statedir *sd = (struct jit_statedir *)1;
	struct jit_error err;
	char want[256], link[256];

	if (geteuid() != 0)
		skip();
	assert_int_equal(mkdir(f->dir, 0700), 0);
	assert_int_equal(chown(f->dir, NOBODY, NOBODY), 0);
	assert_int_equal(jit_sd_open(f->dir, &sd, &err), -1);
	assert_null(sd);
	snprintf(want, sizeof(want), "%s belongs to uid %d, not to this agent (uid 0)", f->dir,
		NOBODY);
	assert_string_equal(err.message, want);
	assert_int_equal(symlink(f->dir, at_root(f, "link", link)), 0);
	assert_int_equal(jit_sd_open(link, &sd, &err), -1);
	assert_null(sd);
	/* Its mode is not touched either. */
	assert_int_equal(mode_of(f->dir), 0700);
}

/*
 * Credential and enrollment
 */

static void
test_enrollment_round_trip_0600(void **state)
{
	struct fixture *f = *state;
	struct jit_enrollment e = { .enforcement_point = EP, .vm = VM1, .kind = JIT_EP_HOST,
		.credential = CRED };
	char cred[JIT_CP_TOKEN_MAX], ep[JIT_RESOURCE_ID_MAX], path[256];
	enum jit_ep_kind kind = JIT_EP_GATEWAY;
	struct jit_statedir *sd;
	struct jit_error err;
	bool found = true;
	char *text;

	umask(0);
	sd = open_ok(f->dir);
	/* Not enrolled yet: nothing found, no error. */
	assert_int_equal(jit_sd_load_credential(sd, cred, &found, &err), 0);
	assert_false(found);
	found = true;
	assert_int_equal(jit_sd_load_enrollment(sd, &kind, ep, &found, &err), 0);
	assert_false(found);

	assert_int_equal(jit_sd_save_enrollment(sd, &e, &err), 0);
	assert_int_equal(mode_of(in_dir(f, "credential", path)), 0600);
	text = read_file(path);
	assert_string_equal(text, CRED "\n");
	free(text);
	assert_int_equal(mode_of(in_dir(f, "enrollment.json", path)), 0600);
	assert_null(read_file(in_dir(f, ".credential.tmp", path)));

	assert_int_equal(jit_sd_load_credential(sd, cred, &found, &err), 0);
	assert_true(found);
	assert_string_equal(cred, CRED);
	assert_int_equal(jit_sd_load_enrollment(sd, &kind, ep, &found, &err), 0);
	assert_true(found);
	assert_int_equal(kind, JIT_EP_HOST);
	assert_string_equal(ep, EP);
	jit_sd_free(sd);
}

/* A credential file left with a loose mode (by hand, an old version) is replaced by a
 * 0600 one on the next save, even under a umask that would narrow it further. */
static void
test_credential_rewritten_0600(void **state)
{
	struct fixture *f = *state;
	struct jit_enrollment e = { .enforcement_point = EP, .kind = JIT_EP_GATEWAY,
		.credential = CRED };
	struct jit_statedir *sd = open_ok(f->dir);
	struct jit_error err;
	char path[256];

	umask(0);
	write_file(in_dir(f, "credential", path), "jgt_old\n", 8, 0644);
	assert_int_equal(chmod(path, 0644), 0);
	umask(0277);
	assert_int_equal(jit_sd_save_enrollment(sd, &e, &err), 0);
	assert_int_equal(mode_of(path), 0600);
	jit_sd_free(sd);
}

static void
expect_credential_refused(struct jit_statedir *sd, int status, const char *message)
{
	char cred[JIT_CP_TOKEN_MAX];
	struct jit_error err;
	bool found;

	jit_error_clear(&err);
	assert_int_equal(jit_sd_load_credential(sd, cred, &found, &err), -1);
	assert_int_equal(err.status, status);
	assert_starts_with(err.message, message);
	assert_null(strstr(err.message, "secret"));
}

static void
test_credential_refused(void **state)
{
	struct fixture *f = *state;
	struct jit_statedir *sd = open_ok(f->dir);
	char path[256], other[256], want[512];
	char *big;

	/* Not a token: refused without quoting it. */
	write_file(in_dir(f, "credential", path), "jgt_secret value\n", 17, 0600);
	snprintf(want, sizeof(want), "%s/credential: does not hold a jitgate token", f->dir);
	expect_credential_refused(sd, 400, want);
	write_file(path, "", 0, 0600);
	expect_credential_refused(sd, 400, want);
	/* Too large to be one. */
	big = calloc(1, 16 * 1024 + 2);
	assert_non_null(big);
	memset(big, 'a', 16 * 1024 + 1);
	write_file(path, big, strlen(big), 0600);
	free(big);
	snprintf(want, sizeof(want), "%s/credential: not a regular file of at most 16384 bytes",
		f->dir);
	expect_credential_refused(sd, 500, want);
	/* Never followed out of the directory: a symlink is refused. */
	assert_int_equal(unlink(path), 0);
	write_file(at_root(f, "elsewhere", other), CRED "\n", strlen(CRED) + 1, 0600);
	assert_int_equal(symlink(other, path), 0);
	snprintf(want, sizeof(want), "%s/credential: cannot open: ", f->dir);
	expect_credential_refused(sd, 500, want);
	/* Nor anything but a regular file. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(want, sizeof(want), "%s/credential: not a regular file", f->dir);
	expect_credential_refused(sd, 500, want);
	/* A FIFO is refused at once, not waited on (it would hang the agent's start). */
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(mkfifo(path, 0600), 0);
	snprintf(want, sizeof(want), "%s/credential: not a regular file", f->dir);
	expect_credential_refused(sd, 500, want);
	assert_int_equal(unlink(path), 0);
	jit_sd_free(sd);
}

static void
test_enrollment_file_malformed(void **state)
{
	static const char *const bad[] = {
		"", "{", "[]", "{\"kind\":\"host\"}", "{\"enforcementPoint\":\"" EP "\"}",
		"{\"enforcementPoint\":\"" EP "\",\"kind\":\"Host\"}",
		"{\"enforcementPoint\":7,\"kind\":\"host\"}",
	};
	struct fixture *f = *state;
	struct jit_statedir *sd = open_ok(f->dir);
	char ep[JIT_RESOURCE_ID_MAX], path[256], want[512];
	enum jit_ep_kind kind;
	struct jit_error err;
	bool found;

	snprintf(want, sizeof(want), "%s/enrollment.json: malformed", f->dir);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(in_dir(f, "enrollment.json", path), bad[i], strlen(bad[i]), 0600);
		assert_int_equal(jit_sd_load_enrollment(sd, &kind, ep, &found, &err), -1);
		assert_string_equal(err.message, want);
		assert_string_equal(ep, "");
	}
	jit_sd_free(sd);
}

static void
test_token_file(void **state)
{
	struct fixture *f = *state;
	char out[JIT_CP_TOKEN_MAX], path[256], link[256], want[512];
	struct jit_error err;

	/* Trailing whitespace, as an editor or echo leaves it, is cut. */
	write_file(at_root(f, "token", path), "jge_abc_DEF-0 \t\r\n\n", 18, 0600);
	assert_int_equal(jit_sd_read_token_file(path, out, &err), 0);
	assert_string_equal(out, "jge_abc_DEF-0");
	/* A path the operator gave may be a symlink. */
	assert_int_equal(symlink(path, at_root(f, "token-link", link)), 0);
	assert_int_equal(jit_sd_read_token_file(link, out, &err), 0);
	assert_string_equal(out, "jge_abc_DEF-0");
	write_file(path, "jge_secret token\n", 17, 0600);
	assert_int_equal(jit_sd_read_token_file(path, out, &err), -1);
	assert_int_equal(err.status, 400);
	snprintf(want, sizeof(want), "%s: does not hold a jitgate token", path);
	assert_string_equal(err.message, want);
	assert_string_equal(out, "");
	at_root(f, "missing", path);
	assert_int_equal(jit_sd_read_token_file(path, out, &err), -1);
	snprintf(want, sizeof(want), "%s: no such file", path);
	assert_string_equal(err.message, want);
}

/*
 * The saved desired state
 */

static void
test_state_round_trip(void **state)
{
	struct fixture *f = *state;
	struct jit_statedir *sd = open_ok(f->dir);
	struct jit_desired_state *ds = state_from(state_doc), *got = NULL;
	const jit_time at = 1795640400LL * JIT_NS_PER_SEC + 123456789;
	char path[256];
	char *want, *text;
	struct jit_error err;
	jit_time got_at = 0;

	/* Nothing saved yet: no state, no error. */
	got = (struct jit_desired_state *)1;
	assert_int_equal(jit_sd_load_state(sd, &got, &got_at, &err), 0);
	assert_null(got);

	umask(0);
	save_ok(sd, ds, at);
	assert_int_equal(mode_of(in_dir(f, "desired-state.json", path)), 0600);
	text = read_file(path);
	want = encoding(ds);
	assert_string_equal(text, want);
	free(text);
	assert_null(read_file(in_dir(f, STATE_TMP, path)));

	assert_int_equal(jit_sd_load_state(sd, &got, &got_at, &err), 0);
	assert_non_null(got);
	/* The file's mtime carries when it was fetched, to the nanosecond. */
	assert_int_equal(got_at, at);
	text = encoding(got);
	assert_string_equal(text, want);
	free(text);
	free(want);
	jit_desired_state_free(got);
	jit_desired_state_free(ds);
	jit_sd_free(sd);
}

/* A save never writes over the old file: a new file takes its name (another inode), so
 * a reader holding the old one still reads all of it. */
static void
test_state_save_is_temp_then_rename(void **state)
{
	struct fixture *f = *state;
	struct jit_statedir *sd = open_ok(f->dir);
	struct jit_desired_state *a = big_state(1, 50), *b = big_state(2, 3);
	char *text_a = encoding(a), *text_b = encoding(b), *buf;
	struct stat before, after;
	char path[256];
	int fd;

	save_ok(sd, a, jit_time_now());
	in_dir(f, "desired-state.json", path);
	assert_int_equal(stat(path, &before), 0);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	save_ok(sd, b, jit_time_now());
	assert_int_equal(stat(path, &after), 0);
	assert_int_not_equal(before.st_ino, after.st_ino);
	buf = calloc(1, strlen(text_a) + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, strlen(text_a)), (ssize_t)strlen(text_a));
	assert_string_equal(buf, text_a);
	close(fd);
	free(buf);
	buf = read_file(path);
	assert_string_equal(buf, text_b);
	free(buf);
	assert_null(read_file(in_dir(f, STATE_TMP, path)));
	free(text_a);
	free(text_b);
	jit_desired_state_free(a);
	jit_desired_state_free(b);
	jit_sd_free(sd);
}

/* What a crash between write and rename leaves, a partial temp file, changes nothing:
 * the load reads the old state, and the next save replaces the leftover. A leftover
 * that is a symlink is removed, not written through. */
static void
test_state_leftover_temp(void **state)
{
	struct fixture *f = *state;
	struct jit_statedir *sd = open_ok(f->dir);
	struct jit_desired_state *ds = state_from(state_doc), *got = NULL;
	char tmp[256], victim[256];
	char *want = encoding(ds), *text;
	struct jit_error err;
	jit_time at;

	save_ok(sd, ds, jit_time_now());
	write_file(in_dir(f, STATE_TMP, tmp), want, strlen(want) / 2, 0600);
	assert_int_equal(jit_sd_load_state(sd, &got, &at, &err), 0);
	text = encoding(got);
	assert_string_equal(text, want);
	free(text);
	jit_desired_state_free(got);

	save_ok(sd, ds, jit_time_now());
	assert_null(read_file(tmp));

	write_file(at_root(f, "victim", victim), "untouched", 9, 0644);
	assert_int_equal(symlink(victim, tmp), 0);
	save_ok(sd, ds, jit_time_now());
	text = read_file(victim);
	assert_string_equal(text, "untouched");
	free(text);
	assert_null(read_file(tmp));
	free(want);
	jit_desired_state_free(ds);
	jit_sd_free(sd);
}

static void
test_state_partial_or_corrupt_is_refused(void **state)
{
	struct fixture *f = *state;
	struct jit_statedir *sd = open_ok(f->dir);
	struct jit_desired_state *ds = state_from(state_doc);
	char path[256], other[256], want[512];
	char *text = encoding(ds);
	size_t len = strlen(text);
	int fd;

	in_dir(f, "desired-state.json", path);
	snprintf(want, sizeof(want), "%s/desired-state.json: line 1: ", f->dir);
	/* Cut anywhere: never a state, always an error naming the file. */
	for (size_t cut = 0; cut < len; cut += (cut < 64 || len - cut < 64) ? 1 : 37) {
		write_file(path, text, cut, 0600);
		expect_load_refused(sd, want);
	}
	write_file(path, "\0\0\0\0", 4, 0600);
	expect_load_refused(sd, want);
	/* Whole JSON, but not a state this agent accepts. */
	write_file(path, "{\"version\":-1}", 14, 0600);
	snprintf(want, sizeof(want), "%s/desired-state.json: version: -1 is out of range", f->dir);
	expect_load_refused(sd, want);
	write_file(path, "[]", 2, 0600);
	snprintf(want, sizeof(want), "%s/desired-state.json: must be an object", f->dir);
	expect_load_refused(sd, want);
	/* Larger than the client accepts from the server. */
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, JIT_CP_MAX_STATE_BYTES + 1), 0);
	close(fd);
	snprintf(want, sizeof(want), "%s/desired-state.json: not a regular file of at most %ld "
		"bytes", f->dir, JIT_CP_MAX_STATE_BYTES);
	expect_load_refused(sd, want);
	/* A symlink is not followed. */
	assert_int_equal(unlink(path), 0);
	write_file(at_root(f, "other.json", other), text, len, 0600);
	assert_int_equal(symlink(other, path), 0);
	snprintf(want, sizeof(want), "%s/desired-state.json: cannot open: ", f->dir);
	expect_load_refused(sd, want);
	free(text);
	jit_desired_state_free(ds);
	jit_sd_free(sd);
}

/* Loads the saved state in a child; exits with 0 when it is complete and one of the
 * versions a or b, 1 otherwise. */
static int
load_is_whole(struct jit_statedir *sd, uint64_t a, size_t rules_a, uint64_t b, size_t rules_b)
{
	struct jit_desired_state *ds = NULL;
	struct jit_error err;
	jit_time at;
	int ok;

	if (jit_sd_load_state(sd, &ds, &at, &err) != 0 || ds == NULL)
		return 0;
	ok = (ds->version == a && ds->n_rules == rules_a) ||
		(ds->version == b && ds->n_rules == rules_b);
	jit_desired_state_free(ds);
	return ok;
}

/* A reader running beside the saves always finds a whole state, old or new. */
static void
test_state_concurrent_reader_sees_whole_states(void **state)
{
	struct fixture *f = *state;
	struct jit_statedir *sd = open_ok(f->dir);
	struct jit_desired_state *a = big_state(1, 200), *b = big_state(2, 7);
	int status, i;
	pid_t pid;

	save_ok(sd, a, jit_time_now());
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (i = 0; i < 400; i++)
			if (!load_is_whole(sd, 1, 200, 2, 7))
				_exit(1);
		_exit(0);
	}
	for (i = 0; i < 100; i++)
		save_ok(sd, i % 2 ? a : b, jit_time_now());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	jit_desired_state_free(a);
	jit_desired_state_free(b);
	jit_sd_free(sd);
}

/* An agent killed at any moment of a save leaves a state that loads whole. */
static void
test_state_kill_mid_save(void **state)
{
	struct fixture *f = *state;
	struct jit_statedir *sd = open_ok(f->dir);
	struct jit_desired_state *a = big_state(1, 3000), *b = big_state(2, 1500);
	struct timespec t0, t1;
	long save_us;
	int status;
	char path[256];

	/* How long one save takes here, to spread the kills over it. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	save_ok(sd, b, jit_time_now());
	save_ok(sd, a, jit_time_now());
	clock_gettime(CLOCK_MONOTONIC, &t1);
	save_us = ((t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000) / 2;
	if (save_us < 100)
		save_us = 100;
	for (int round = 0; round < 12; round++) {
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			struct jit_error err;

			for (unsigned i = 0;; i++)
				if (jit_sd_save_state(sd, i % 2 ? a : b, jit_time_now(), &err) != 0)
					_exit(1);
		}
		usleep((useconds_t)(save_us * (round + 1) / 5));
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		if (!load_is_whole(sd, 1, 3000, 2, 1500))
			fail_msg("round %d: the saved state does not load whole", round);
	}
	/* A leftover temp file is fine, and the next save goes through. */
	save_ok(sd, a, jit_time_now());
	assert_null(read_file(in_dir(f, STATE_TMP, path)));
	jit_desired_state_free(a);
	jit_desired_state_free(b);
	jit_sd_free(sd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates_0700, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_tightens_a_loose_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_follows_a_symlinked_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_what_is_not_a_directory, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_another_users_dir, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_enrollment_round_trip_0600, setup, teardown),
		cmocka_unit_test_setup_teardown(test_credential_rewritten_0600, setup, teardown),
		cmocka_unit_test_setup_teardown(test_credential_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enrollment_file_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_save_is_temp_then_rename, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_state_leftover_temp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_partial_or_corrupt_is_refused, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_state_concurrent_reader_sees_whole_states,
			setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_kill_mid_save, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
