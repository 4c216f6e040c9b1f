/*
 * svc_setup.h: jitgated's first start as a service: the default subscription, the
 * bootstrap principal "admin" with its token file, and an Owner at "/" while nobody
 * holds any role. One transaction; the token file is written before it commits, so a
 * failed start leaves neither a principal without its file nor a file without its
 * principal.
 */
#ifndef JIT_SVC_SETUP_H
#define JIT_SVC_SETUP_H

#include "store.h"

/* Makes what a first start needs and nothing that exists already; the bootstrap token
 * is written to token_path (new file, 0600; only its path is logged). */
int jit_svc_setup_first_start(struct jit_store *st, const char *token_path,
	struct jit_error *err);

#endif
