/*
 * profile.h: where jitgate finds its server, its trust anchor and its token.
 *
 * Flags win over the environment, which wins over the profile that
 * `jitgate login` writes to $XDG_CONFIG_HOME/jitgate/config (by default
 * ~/.config/jitgate/config), mode 0600 because it holds the token:
 *
 *   # written by jitgate login
 *   server = https://127.0.0.1:8443
 *   ca = /var/lib/jitgate/tls/cert.pem
 *   token = jgt_...
 *   subscription = 0f1e...            (optional)
 *
 * The profile's token and CA are used only for the profile's own server, so a
 * --server pointing elsewhere never receives them.
 *
 * Named profiles (--profile NAME or JITGATE_PROFILE, e.g. one per principal) live
 * beside it, in $XDG_CONFIG_HOME/jitgate/profiles/NAME, in the same format.
 */
#ifndef JIT_CLI_PROFILE_H
#define JIT_CLI_PROFILE_H

#include <limits.h>
#include <stdbool.h>

#include "cli.h"

#define CLI_URL_MAX 512
/* A jitgate token is ~70 characters; room for longer ones from other issuers. */
#define CLI_TOKEN_MAX 512

struct cli_profile {
	char server[CLI_URL_MAX];
	char ca[PATH_MAX];
	char token[CLI_TOKEN_MAX];
	char subscription[JIT_NAME_MAX + 1];
};

/* What one run connects with. */
struct cli_connection {
	char server[CLI_URL_MAX];       /* https://host[:port], no trailing '/' */
	char ca[PATH_MAX];              /* "" : the system's trust store */
	char token[CLI_TOKEN_MAX];
	char subscription[JIT_NAME_MAX + 1];  /* "" : ask the server */
	const char *ca_from;            /* "--ca", "JITGATE_CA", "the profile" or NULL */
};

/* A profile name: 1..64 of [A-Za-z0-9._-], not starting with '.'; what names it in errors. */
int cli_profile_name_check(const char *name, const char *what, struct jit_error *err);
/* The profile this run uses: --profile, else JITGATE_PROFILE, else NULL (the default). */
const char *cli_profile_name(const struct cli *c);

/* The path of profile name (NULL: the default one): $XDG_CONFIG_HOME/jitgate/config
 * (else $HOME/.config/jitgate/config), or .../jitgate/profiles/NAME. */
int cli_profile_path(const char *name, char *buf, size_t n, struct jit_error *err);

/* Reads a profile; *found false (and p zeroed) when there is none. */
int cli_profile_load(const char *name, struct cli_profile *p, bool *found,
	struct jit_error *err);

/* Writes a profile atomically, mode 0600, creating its directories (0700). */
int cli_profile_save(const char *name, const struct cli_profile *p, char *path, size_t n,
	struct jit_error *err);

/* Checks and normalises a server URL: https only, no path; "host:port" gets https://. */
int cli_server_url(const char *in, char out[CLI_URL_MAX], struct jit_error *err);

/* Reads a token from a file ("-": standard input): the first line, trimmed.
 * Error messages name the file, never its content. */
int cli_token_read(const char *path, char out[CLI_TOKEN_MAX], struct jit_error *err);

/* Resolves the connection from c's flags, the environment and (if use_profile)
 * the profile. The token is required; the subscription may stay "". */
int cli_connection_resolve(const struct cli *c, bool use_profile, struct cli_connection *out,
	struct jit_error *err);

/* Forgets the secrets of a profile or connection. */
void cli_profile_wipe(struct cli_profile *p);
void cli_connection_wipe(struct cli_connection *conn);

#endif
