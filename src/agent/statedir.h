/*
 * statedir.h: what jitgate-agent keeps between runs, in its state directory (0700).
 *
 *   credential          the agent's bearer credential (0600; its presence = enrolled)
 *   enrollment.json     {"enforcementPoint", "kind", "vm"}: who we are, not secret
 *   desired-state.json  the last desired state applied, in its wire form; its mtime is
 *                       when it was fetched, so secondsRemaining can be aged on reload
 *
 * Every file is written to a temporary name, synced and renamed over the old one, so
 * a crash leaves the old file or the new one, never half of either. Files are
 * opened without following symlinks and read with a size cap.
 */
#ifndef JIT_AGENT_STATEDIR_H
#define JIT_AGENT_STATEDIR_H

#include <stdbool.h>

#include "client.h"
#include "desired_state.h"
#include "error.h"
#include "timestamp.h"

struct jit_statedir;

/* Creates dir (0700) if missing; refuses one owned by another user and tightens a
 * looser mode to 0700. */
int jit_sd_open(const char *dir, struct jit_statedir **out, struct jit_error *err);
void jit_sd_free(struct jit_statedir *sd);

/* The stored credential into cred; *found false (and 0 returned) when not enrolled. */
int jit_sd_load_credential(struct jit_statedir *sd, char cred[JIT_CP_TOKEN_MAX], bool *found,
	struct jit_error *err);
/* The kind and enforcement point ID recorded at enrollment; *found false when absent. */
int jit_sd_load_enrollment(struct jit_statedir *sd, enum jit_ep_kind *kind,
	char ep[JIT_RESOURCE_ID_MAX], bool *found, struct jit_error *err);
/* Records an enrollment: enrollment.json, then the credential (0600). */
int jit_sd_save_enrollment(struct jit_statedir *sd, const struct jit_enrollment *e,
	struct jit_error *err);

/* The last applied desired state and when it was fetched; *out NULL when none. */
int jit_sd_load_state(struct jit_statedir *sd, struct jit_desired_state **out,
	jit_time *fetched_at, struct jit_error *err);
int jit_sd_save_state(struct jit_statedir *sd, const struct jit_desired_state *ds,
	jit_time fetched_at, struct jit_error *err);

/* Reads a one-line token file (an enrollment token) into out, trailing whitespace cut;
 * the token's text is never put in an error. */
int jit_sd_read_token_file(const char *path, char out[JIT_CP_TOKEN_MAX], struct jit_error *err);

#endif
