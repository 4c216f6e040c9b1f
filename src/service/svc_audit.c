/*
 * svc_audit.c: the audit log service (see svc_audit.h).
 */
#include "svc_audit.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const struct jit_rid root_scope = {.kind = JIT_RID_ROOT};

void
jit_svc_audit_refusal(struct jit_store *st, const struct jit_actor *a, const char *operation,
	const char *resource_id, const struct jit_rid *vms, size_t n_vms,
	const struct jit_error *failure)
{
	struct jit_error err;
	struct jit_tx *tx;
	json_t *d = json_pack("{s:s,s:s}", "code", failure->code, "message", failure->message);
	char *details = d ? json_dumps(d, JSON_COMPACT) : NULL;

	json_decref(d);
	if (jit_store_begin(st, true, &tx, &err) == 0) {
		if (jit_svc_audit(tx, a, operation, resource_id, failure->status, details, vms, n_vms,
			&err) == 0)
			jit_store_commit(tx, &err);
		else
			jit_store_rollback(tx);
	}
	free(details);
}

int
jit_svc_audit_entry(struct jit_store *st, const struct jit_audit_entry *e,
	struct jit_error *err)
{
	struct jit_tx *tx;

	if (jit_store_begin(st, true, &tx, err) != 0)
		return -1;
	if (jit_store_audit_append(tx, e, err) != 0) {
		jit_store_rollback(tx);
		return -1;
	}
	return jit_store_commit(tx, err);
}

static bool
row_visible(const struct jit_actor *a, const struct jit_audit_row *r)
{
	struct jit_error ignored;
	struct jit_rid rid;

	if (r->resource_id != NULL && jit_rid_parse(r->resource_id, &rid, &ignored) == 0)
		return jit_actor_can(a, JIT_AUDIT_READ, &rid);
	return jit_actor_can(a, JIT_AUDIT_READ, &root_scope);
}

int
jit_svc_audit_query(struct jit_store *st, const struct jit_actor *a,
	const struct jit_audit_filter *f, struct jit_audit_row **out, size_t *n, bool *more,
	int64_t *last_seq, struct jit_error *err)
{
	struct jit_audit_row *rows = NULL;
	struct jit_tx *tx;
	size_t got = 0, kept = 0;
	int r;

	*out = NULL;
	*n = 0;
	*more = false;
	*last_seq = 0;
	if (jit_store_begin(st, false, &tx, err) != 0)
		return -1;
	r = jit_store_audit_query(tx, f, &rows, &got, err);
	jit_store_rollback(tx);
	if (r != 0)
		return -1;
	if (got > 0 && got == (f->limit ? f->limit : 100)) {
		*more = true;
		*last_seq = rows[got - 1].seq;
	}
	for (size_t i = 0; i < got; i++) {
		if (row_visible(a, &rows[i])) {
			rows[kept++] = rows[i];
			continue;
		}
		jit_audit_row_clear(&rows[i]);
	}
	*out = rows;
	*n = kept;
	return 0;
}

int
jit_svc_audit_verify(struct jit_store *st, const struct jit_actor *a, int64_t checkpoint_seq,
	const char *checkpoint_head, struct jit_audit_verdict *out, struct jit_error *err)
{
	struct jit_tx *tx;
	int r;

	if (jit_actor_authorize(a, JIT_AUDIT_READ, &root_scope, err) != 0)
		return -1;
	if (jit_store_begin(st, false, &tx, err) != 0)
		return -1;
	r = jit_store_audit_verify(tx, checkpoint_seq, checkpoint_head, out, err);
	jit_store_rollback(tx);
	return r;
}

int
jit_svc_audit_checkpoint(struct jit_store *st, const struct jit_actor *a,
	const struct jit_audit_keyring *kr, jit_time now, struct jit_audit_checkpoint *out,
	struct jit_error *err)
{
	char head[JIT_AUDIT_HASH_HEX];
	struct jit_tx *tx;
	int64_t seq;
	int r;

	if (a != NULL && jit_actor_authorize(a, JIT_AUDIT_READ, &root_scope, err) != 0)
		return -1;
	if (kr == NULL || jit_audit_keyring_signer(kr) == NULL)
		return jit_errorf(err, 503, JIT_E_UNAVAILABLE, "this server has no audit signing key");
	if (jit_store_begin(st, false, &tx, err) != 0)
		return -1;
	r = jit_store_audit_head(tx, &seq, head, err);
	jit_store_rollback(tx);
	if (r != 0)
		return -1;
	return jit_audit_checkpoint_sign(out, seq, head, now, jit_audit_keyring_signer(kr), err);
}

int
jit_svc_audit_head(struct jit_store *st, int64_t *seq, char head[JIT_AUDIT_HASH_HEX],
	struct jit_error *err)
{
	struct jit_tx *tx;
	int r;

	if (jit_store_begin(st, false, &tx, err) != 0)
		return -1;
	r = jit_store_audit_head(tx, seq, head, err);
	jit_store_rollback(tx);
	return r;
}
