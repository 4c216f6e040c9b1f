/*
 * svc_setup.c: jitgated's first start (svc_setup.h): the default subscription, the
 * bootstrap Owner and its token file, in one transaction.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "log.h"
#include "rbac.h"
#include "svc_setup.h"
#include "timestamp.h"

/* Writes the bootstrap token file: new file only, 0600, never overwritten. */
static int
write_secret_file(const char *path, const char *text, struct jit_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	size_t len = strlen(text);

	if (fd < 0)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "cannot create %s: %s", path,
			strerror(errno));
	if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
		close(fd);
		unlink(path);
		return jit_errorf(err, 500, JIT_E_INTERNAL, "cannot write %s", path);
	}
	close(fd);
	return 0;
}

/* With no role assignment at all (first start, or a store from before roles existed),
 * the bootstrap principal "admin" becomes Owner of everything ("/"). */
static int
owner_if_nobody_is(struct jit_tx *tx, struct jit_error *err)
{
	struct jit_role_assignment a = {.created = jit_time_now()}, *all;
	struct jit_principal admin;
	bool created;
	size_t n;

	if (jit_store_assignment_list(tx, NULL, true, 0, &all, &n, err) != 0)
		return -1;
	free(all);
	if (n > 0)
		return 0;
	if (jit_store_principal_find(tx, "admin", &admin, err) != 0)
		return -1;
	jit_guid_new(a.id);
	a.scope.kind = JIT_RID_ROOT;
	a.principal_id = admin.id;
	snprintf(a.role_id, sizeof(a.role_id), "%s", JIT_ROLE_OWNER);
	if (jit_store_assignment_put(tx, &a, &created, err) != 0)
		return -1;
	jit_log(JIT_LOG_INFO, "owner_assigned", "principal", "admin", "scope", "/",
		(const char *)NULL);
	return 0;
}

int
jit_svc_setup_first_start(struct jit_store *st, const char *token_path,
	struct jit_error *err)
{
	struct jit_subscription *subs;
	struct jit_principal admin = {.kind = JIT_PRINCIPAL_USER};
	struct jit_token tok;
	bool created, have_admin;
	size_t n;
	struct jit_principal p;
	struct jit_tx *tx;

	if (jit_store_begin(st, true, &tx, err) != 0)
		return -1;
	if (jit_store_sub_list(tx, &subs, &n, err) != 0)
		goto fail;
	free(subs);
	if (n == 0) {
		struct jit_subscription sub = {.created = jit_time_now()};

		jit_guid_new(sub.name);
		snprintf(sub.display_name, sizeof(sub.display_name), "Default");
		if (jit_store_sub_put(tx, &sub, &created, err) != 0)
			goto fail;
		jit_log(JIT_LOG_INFO, "subscription_created", "subscription", sub.name,
			(const char *)NULL);
	}
	have_admin = jit_store_principal_get(tx, 1, &p, err) == 0;
	if (!have_admin) {
		snprintf(admin.name, sizeof(admin.name), "admin");
		snprintf(admin.display_name, sizeof(admin.display_name), "admin");
		admin.created = jit_time_now();
		if (jit_store_principal_add(tx, &admin, err) != 0 ||
			jit_token_new("jgt", &tok, err) != 0 ||
			jit_store_token_add(tx, admin.id, "bootstrap", tok.id, tok.hash, admin.created, 0,
				err) != 0)
			goto fail;
		unlink(token_path);
		if (write_secret_file(token_path, tok.text, err) != 0) {
			sodium_memzero(&tok, sizeof(tok));
			goto fail;
		}
		sodium_memzero(&tok, sizeof(tok));
		jit_log(JIT_LOG_INFO, "bootstrap_token_written", "principal", "admin", "path",
			token_path, (const char *)NULL);
	}
	if (owner_if_nobody_is(tx, err) != 0)
		goto fail;
	return jit_store_commit(tx, err);
fail:
	jit_store_rollback(tx);
	return -1;
}
