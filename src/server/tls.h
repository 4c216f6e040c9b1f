/*
 * tls.h: jitgated's TLS key and certificate.
 *
 * On first start jitgated makes a self-signed ECDSA P-256 certificate for
 * localhost, 127.0.0.1, ::1 and the configured names in STATE/tls/ (key 0600);
 * operators can bring their own with --tls-cert/--tls-key instead.
 */
#ifndef JIT_TLS_H
#define JIT_TLS_H

#include <stddef.h>

#include "error.h"

/* Ensures dir/cert.pem and dir/key.pem exist, creating dir (0700) and a new
 * self-signed certificate valid for the names (DNS names or IP literals) plus
 * localhost, 127.0.0.1 and ::1 when they are missing. Existing files are kept. */
int jit_tls_ensure_self_signed(const char *dir, const char *const *names, size_t n_names,
	struct jit_error *err);

/* Reads a PEM file (at most 1 MiB) into a malloc'd NUL-terminated string. */
int jit_tls_read_pem(const char *path, char **out, struct jit_error *err);

/* Checks that cert_pem and key_pem parse and belong together. */
int jit_tls_check_pair(const char *cert_pem, const char *key_pem, struct jit_error *err);

#endif
