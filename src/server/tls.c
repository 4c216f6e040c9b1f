/*
 * tls.c: jitgated's TLS key and certificate (see tls.h).
 *
 * The self-signed certificate is meant to be pinned by clients (curl --cacert,
 * NODE_EXTRA_CA_CERTS, Python's verify=): OpenSSL-based clients only accept a
 * certificate from their CA file as a trust anchor when it is a CA, so it says
 * CA:TRUE (path length 0: it can sign no CA below it) with keyCertSign, and
 * carries the subject/authority key ids that OpenSSL's strict mode insists on. Being a
 * CA, its key could sign a certificate for any name that a client pinning it would
 * trust; so it carries critical name constraints permitting exactly its own names
 * (security finding 12): whatever else its key signs, no such client accepts.
 * Files are written whole or not at all (temporary file, fsync, rename), the key
 * first, so a crash leaves either nothing or a key without a certificate, which
 * the next start replaces.
 */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

/* A certificate chain or key is a few KiB; anything near this is not one. */
#define PEM_MAX_BYTES (1024 * 1024)
/* About two years: long enough not to surprise, short enough for clients that
 * cap server certificate lifetimes (Apple: 825 days). */
#define CERT_VALID_DAYS 730
/* Accepted clock skew between this host and its clients at first start. */
#define CERT_BACKDATE_S 3600
#define DNS_NAME_MAX 253

static const char *const default_names[] = { "localhost", "127.0.0.1", "::1" };

/* A DNS name (or wildcard) made of LDH labels, as a SAN may hold. */
static bool
valid_dns_name(const char *s)
{
	size_t n = strlen(s), label = 0, i;

	if (n == 0 || n > DNS_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (c == '*' && i == 0 && s[1] == '.') {
			label++;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			    c == '-'))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;
}

/* Adds name as an IP or DNS SAN unless an equal one is there, and as a permitted
 * name of nc (the address with a full mask, or the DNS name); 0 or -1. */
static int
add_san(gnutls_x509_crt_t crt, gnutls_x509_name_constraints_t nc, const char *name,
	const char **seen, size_t *n_seen, struct jit_error *err)
{
	unsigned char ip[16], ip_mask[32];
	gnutls_datum_t d;
	size_t i;
	int r;

	for (i = 0; i < *n_seen; i++) {
		if (strcasecmp(seen[i], name) == 0)
			return 0;
	}
	if (inet_pton(AF_INET, name, ip) == 1) {
		r = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 4,
			GNUTLS_FSAN_APPEND);
		memcpy(ip_mask, ip, 4);
		memset(ip_mask + 4, 0xff, 4);
		d = (gnutls_datum_t){ip_mask, 8};
		if (r >= 0)
			r = gnutls_x509_name_constraints_add_permitted(nc, GNUTLS_SAN_IPADDRESS, &d);
	} else if (inet_pton(AF_INET6, name, ip) == 1) {
		r = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 16,
			GNUTLS_FSAN_APPEND);
		memcpy(ip_mask, ip, 16);
		memset(ip_mask + 16, 0xff, 16);
		d = (gnutls_datum_t){ip_mask, 32};
		if (r >= 0)
			r = gnutls_x509_name_constraints_add_permitted(nc, GNUTLS_SAN_IPADDRESS, &d);
	} else if (valid_dns_name(name)) {
		r = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, name,
			(unsigned)strlen(name), GNUTLS_FSAN_APPEND);
		d = (gnutls_datum_t){(unsigned char *)(uintptr_t)name, (unsigned)strlen(name)};
		if (r >= 0)
			r = gnutls_x509_name_constraints_add_permitted(nc, GNUTLS_SAN_DNSNAME, &d);
	} else
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"TLS name \"%.100s\" is neither an IP address nor a DNS name", name);
	if (r < 0)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "cannot add TLS name %.100s: %s", name,
			gnutls_strerror(r));
	seen[(*n_seen)++] = name;
	return 0;
}

static int
fsync_dir(const char *dir)
{
	int fd, r;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/* Writes dir/name with exactly mode, whole or not at all. */
static int
write_atomic(const char *dir, const char *name, const void *data, size_t len, mode_t mode,
	struct jit_error *err)
{
	char tmp[4096], path[4096];
	const char *p = data;
	ssize_t w;
	int fd = -1, ret = -1;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >= sizeof(tmp) ||
		(size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return jit_errorf(err, 500, JIT_E_INTERNAL, "TLS directory path is too long");
	/* mkstemp creates the file 0600, so the key is never readable by others. */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "cannot create a file in %s: %s", dir,
			strerror(errno));
	if (fchmod(fd, mode) != 0) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "cannot set the mode of %s: %s", tmp,
			strerror(errno));
		goto out;
	}
	while (len > 0) {
		w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			jit_errorf(err, 500, JIT_E_INTERNAL, "cannot write %s: %s", tmp,
				strerror(errno));
			goto out;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) != 0) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "cannot sync %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		jit_errorf(err, 500, JIT_E_INTERNAL, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "cannot rename %s to %s: %s", tmp, path,
			strerror(errno));
		goto out;
	}
	if (fsync_dir(dir) != 0) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "cannot sync %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
out:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return ret;
}

static bool
file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Makes a self-signed certificate and its key; both PEM, gnutls_free'd by the caller. */
static int
generate(const char *const *names, size_t n_names, gnutls_datum_t *cert_pem,
	gnutls_datum_t *key_pem, struct jit_error *err)
{
	gnutls_x509_name_constraints_t nc = NULL;
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	const char **seen = NULL;
	unsigned char serial[16], keyid[64];
	size_t n_seen = 0, keyid_len = sizeof(keyid), i;
	time_t now = time(NULL);
	int r, ret = -1;

	cert_pem->data = key_pem->data = NULL;
	seen = calloc(n_names + 3, sizeof(*seen));
	if (seen == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	if ((r = gnutls_x509_privkey_init(&key)) < 0 ||
		(r = gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
			 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0 ||
		(r = gnutls_x509_crt_init(&crt)) < 0 ||
		(r = gnutls_x509_name_constraints_init(&nc)) < 0 ||
		(r = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
		(r = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial))) < 0)
		goto gnutls_failed;
	/* Positive and a full 16 bytes (DER integers drop leading zeros). */
	serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x40);
	if ((r = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
		(r = gnutls_x509_crt_set_activation_time(crt, now - CERT_BACKDATE_S)) < 0 ||
		(r = gnutls_x509_crt_set_expiration_time(crt,
			 now + (time_t)CERT_VALID_DAYS * 24 * 3600)) < 0 ||
		(r = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, "jitgated",
			 8)) < 0 ||
		(r = gnutls_x509_crt_set_key(crt, key)) < 0 ||
		(r = gnutls_x509_crt_set_basic_constraints(crt, 1, 0)) < 0 ||
		(r = gnutls_x509_crt_set_key_usage(crt,
			 GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_CERT_SIGN)) < 0 ||
		(r = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
		(r = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, keyid,
			 &keyid_len)) < 0 ||
		(r = gnutls_x509_crt_set_subject_key_id(crt, keyid, keyid_len)) < 0 ||
		(r = gnutls_x509_crt_set_authority_key_id(crt, keyid, keyid_len)) < 0)
		goto gnutls_failed;
	for (i = 0; i < 3; i++) {
		if (add_san(crt, nc, default_names[i], seen, &n_seen, err) != 0)
			goto out;
	}
	for (i = 0; i < n_names; i++) {
		if (add_san(crt, nc, names[i], seen, &n_seen, err) != 0)
			goto out;
	}
	if ((r = gnutls_x509_crt_set_name_constraints(crt, nc, 1)) < 0)
		goto gnutls_failed;
	if ((r = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0 ||
		(r = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, cert_pem)) < 0 ||
		(r = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL,
			 GNUTLS_PKCS_PLAIN, key_pem)) < 0)
		goto gnutls_failed;
	ret = 0;
	goto out;
gnutls_failed:
	jit_errorf(err, 500, JIT_E_INTERNAL, "cannot make the TLS certificate: %s",
		gnutls_strerror(r));
out:
	if (ret != 0) {
		gnutls_free(cert_pem->data);
		if (key_pem->data != NULL)
			gnutls_memset(key_pem->data, 0, key_pem->size);
		gnutls_free(key_pem->data);
		cert_pem->data = key_pem->data = NULL;
	}
	if (nc != NULL)
		gnutls_x509_name_constraints_deinit(nc);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
	free(seen);
	return ret;
}

int
jit_tls_ensure_self_signed(const char *dir, const char *const *names, size_t n_names,
	struct jit_error *err)
{
	gnutls_datum_t cert = { NULL, 0 }, key = { NULL, 0 };
	char cert_path[4096], key_path[4096];
	struct stat st;
	int ret = -1;

	if ((size_t)snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", dir) >=
			sizeof(cert_path) ||
		(size_t)snprintf(key_path, sizeof(key_path), "%s/key.pem", dir) >= sizeof(key_path))
		return jit_errorf(err, 500, JIT_E_INTERNAL, "TLS directory path is too long");
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "cannot create %s: %s", dir,
			strerror(errno));
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return jit_errorf(err, 500, JIT_E_INTERNAL, "%s is not a directory", dir);
	if (file_exists(cert_path)) {
		if (file_exists(key_path))
			return 0;
		/* We write the key first, so this is not ours half done: leave it alone. */
		return jit_errorf(err, 500, JIT_E_INTERNAL,
			"%s exists without %s; supply both or remove it", cert_path, key_path);
	}
	if (generate(names, n_names, &cert, &key, err) != 0)
		return -1;
	if (write_atomic(dir, "key.pem", key.data, key.size, 0600, err) != 0 ||
		write_atomic(dir, "cert.pem", cert.data, cert.size, 0644, err) != 0)
		goto out;
	ret = 0;
out:
	gnutls_memset(key.data, 0, key.size);
	gnutls_free(key.data);
	gnutls_free(cert.data);
	return ret;
}

int
jit_tls_read_pem(const char *path, char **out, struct jit_error *err)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, ret = -1;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "cannot open %s: %s", path,
			strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "%s is not a regular file", path);
		goto out;
	}
	/* One byte more than allowed, to tell "exactly at the cap" from "over it". */
	buf = malloc(PEM_MAX_BYTES + 2);
	if (buf == NULL) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
		goto out;
	}
	for (;;) {
		n = read(fd, buf + len, PEM_MAX_BYTES + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			jit_errorf(err, 500, JIT_E_INTERNAL, "cannot read %s: %s", path,
				strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > PEM_MAX_BYTES) {
			jit_errorf(err, 500, JIT_E_INTERNAL, "%s is larger than %d bytes", path,
				PEM_MAX_BYTES);
			goto out;
		}
	}
	buf[len] = '\0';
	*out = buf;
	buf = NULL;
	ret = 0;
out:
	if (buf != NULL) {
		explicit_bzero(buf, len);
		free(buf);
	}
	close(fd);
	return ret;
}

int
jit_tls_check_pair(const char *cert_pem, const char *key_pem, struct jit_error *err)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_x509_privkey_t key = NULL;
	gnutls_datum_t d;
	unsigned char crt_id[64], key_id[64];
	size_t crt_id_len = sizeof(crt_id), key_id_len = sizeof(key_id);
	int r, ret = -1;

	if ((r = gnutls_x509_crt_init(&crt)) < 0 || (r = gnutls_x509_privkey_init(&key)) < 0) {
		jit_errorf(err, 500, JIT_E_INTERNAL, "TLS: %s", gnutls_strerror(r));
		goto out;
	}
	d.data = (unsigned char *)(uintptr_t)cert_pem;
	d.size = (unsigned)strlen(cert_pem);
	if ((r = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM)) < 0) {
		jit_errorf(err, 400, JIT_E_BAD_REQUEST, "the TLS certificate does not parse: %s",
			gnutls_strerror(r));
		goto out;
	}
	d.data = (unsigned char *)(uintptr_t)key_pem;
	d.size = (unsigned)strlen(key_pem);
	if ((r = gnutls_x509_privkey_import2(key, &d, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"the TLS key does not parse (encrypted keys are not supported): %s",
			gnutls_strerror(r));
		goto out;
	}
	if ((r = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, crt_id,
		     &crt_id_len)) < 0 ||
		(r = gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, key_id,
			 &key_id_len)) < 0) {
		jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"cannot compare TLS key and certificate: %s", gnutls_strerror(r));
		goto out;
	}
	if (crt_id_len != key_id_len || memcmp(crt_id, key_id, crt_id_len) != 0) {
		jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"the TLS key does not belong to the certificate");
		goto out;
	}
	ret = 0;
out:
	gnutls_x509_privkey_deinit(key);
	gnutls_x509_crt_deinit(crt);
	return ret;
}
