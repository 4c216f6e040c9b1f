/*
 * statedir.h: what jitgate-agent keeps between runs, in its state directory (0700).
 *
 *   credential          the agent's bearer credential (0600; its presence = enrolled)
 *   enrollment.json     {"enforcementPoint", "kind", "vm"}: who we are, not secret
 *   desired-state.json  the last desired state applied, in its wire form; its mtime is
 *                       when it was fetched, so secondsRemaining can be aged on reload
 *   ca.pem              started as root: a copy of --ca for the agent's user
 *
 * Every file is written to a temporary name, synced and renamed over the old one, so
 * a crash leaves the old file or the new one, never half of either. Files are
 * opened without following symlinks and read with a size cap.
 */
#ifndef JIT_AGENT_STATEDIR_H
#define JIT_AGENT_STATEDIR_H

#include <stdbool.h>
#include <sys/types.h>

#include "client.h"
#include "desired_state.h"
#include "error.h"
#include "timestamp.h"

struct jit_statedir;

/* As root, before the agent's processes become uid:gid (privsep.h): creates dir (0700)
 * if missing and gives it and the agent's files in it to uid:gid when they belong to
 * root. A directory or file owned by anyone else is refused; nothing is followed. */
int jit_sd_give_to(const char *dir, uid_t uid, gid_t gid, struct jit_error *err);

/* jit_sd_open for an agent that will run as owner (started as root: --user). */
int jit_sd_open_for(const char *dir, uid_t owner, struct jit_statedir **out,
	struct jit_error *err);
/* As root: copies the CA file ca (which the agent's user may not be able to read) to
 * ca.pem in the state dir, gives it to uid:gid, and names it in path as
 * /proc/self/fd/N/ca.pem, reachable through the directory's descriptor alone. */
int jit_sd_keep_ca(struct jit_statedir *sd, const char *ca, uid_t uid, gid_t gid, char *path,
	size_t n, struct jit_error *err);

/* The directory's descriptor (the enforcer process closes its copy). */
int jit_sd_fd(const struct jit_statedir *sd);

/* Is there a credential in dir (the agent is enrolled)? Checked before the start-up
 * user decides whether it must read an enrollment token. */
bool jit_sd_has_credential(const char *dir);

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
