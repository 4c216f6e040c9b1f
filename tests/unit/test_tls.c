/*
 * test_tls.c: the self-signed certificate (files, modes, contents), reading PEM files
 * and checking that a key belongs to a certificate.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "tls.h"

struct fixture {
	char root[64];
	char dir[128];
	char cert[192];
	char key[192];
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
rm_rf(const char *path)
{
	/* Only ever our own mkdtemp directory under /tmp. */
	assert_int_equal(strncmp(path, "/tmp/jit-tls-", 13), 0);
	assert_int_equal(nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->root, sizeof(f->root), "/tmp/jit-tls-XXXXXX");
	if (mkdtemp(f->root) == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/tls", f->root);
	snprintf(f->cert, sizeof(f->cert), "%s/cert.pem", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/key.pem", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	rm_rf(f->root);
	free(f);
	return 0;
}

static char *
slurp(const char *path)
{
	struct jit_error e;
	char *s = NULL;

	assert_int_equal(jit_tls_read_pem(path, &s, &e), 0);
	return s;
}

static gnutls_x509_crt_t
load_cert(const char *pem)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t d = { (unsigned char *)(uintptr_t)pem, (unsigned)strlen(pem) };

	assert_int_equal(gnutls_x509_crt_init(&crt), 0);
	assert_int_equal(gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM), 0);
	return crt;
}

static void
test_creates_files_with_modes(void **state)
{
	struct fixture *f = *state;
	struct jit_error e;
	struct stat st;

	assert_int_equal(jit_tls_ensure_self_signed(f->dir, NULL, 0, &e), 0);
	assert_int_equal(stat(f->dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(f->key, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(f->cert, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
}

static void
test_certificate_contents(void **state)
{
	static const char *const names[] = { "jit.example.com", "10.1.2.3", "2001:db8::7",
		"localhost", "LOCALHOST" };
	struct fixture *f = *state;
	struct jit_error e;
	gnutls_x509_crt_t crt;
	unsigned char san[256], serial[32];
	size_t san_len, serial_len = sizeof(serial);
	char cn[64], ip[INET6_ADDRSTRLEN];
	size_t cn_len = sizeof(cn);
	unsigned status = 1, i;
	unsigned int usage = 0, ca = 0;
	int type, n_dns = 0, n_ip = 0, pathlen = -1;
	unsigned crit = 0;
	char *pem;
	char seen[1024] = "";

	assert_int_equal(jit_tls_ensure_self_signed(f->dir, names, 5, &e), 0);
	pem = slurp(f->cert);
	crt = load_cert(pem);
	assert_int_equal(gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0,
		cn, &cn_len), 0);
	assert_string_equal(cn, "jitgated");
	assert_int_equal(gnutls_x509_crt_get_pk_algorithm(crt, NULL), GNUTLS_PK_ECDSA);
	assert_int_equal(gnutls_x509_crt_get_basic_constraints(crt, &crit, &ca, &pathlen), 1);
	assert_int_equal(ca, 1);
	assert_int_equal(crit, 1);
	assert_int_equal(pathlen, 0);
	assert_int_equal(gnutls_x509_crt_get_key_usage(crt, &usage, &crit), 0);
	assert_int_equal(usage, GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_CERT_SIGN);
	assert_int_equal(crit, 1);
	assert_int_equal(gnutls_x509_crt_get_serial(crt, serial, &serial_len), 0);
	assert_int_equal(serial_len, 16);
	assert_true(gnutls_x509_crt_get_expiration_time(crt) - time(NULL) > 700 * 86400L);
	assert_true(gnutls_x509_crt_get_activation_time(crt) <= time(NULL));

	for (i = 0;; i++) {
		san_len = sizeof(san);
		type = gnutls_x509_crt_get_subject_alt_name(crt, i, san, &san_len, NULL);
		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (type == GNUTLS_SAN_DNSNAME) {
			n_dns++;
			strncat(seen, (char *)san, san_len);
		} else {
			assert_int_equal(type, GNUTLS_SAN_IPADDRESS);
			n_ip++;
			inet_ntop(san_len == 4 ? AF_INET : AF_INET6, san, ip, sizeof(ip));
			strcat(seen, ip);
		}
		strcat(seen, ",");
	}
	/* The defaults first; the duplicate localhost (any case) only once. */
	assert_string_equal(seen, "localhost,127.0.0.1,::1,jit.example.com,10.1.2.3,2001:db8::7,");
	assert_int_equal(n_dns, 2);
	assert_int_equal(n_ip, 4);
	assert_true(gnutls_x509_crt_check_hostname(crt, "jit.example.com"));
	assert_true(gnutls_x509_crt_check_hostname(crt, "127.0.0.1"));
	assert_false(gnutls_x509_crt_check_hostname(crt, "other.example.com"));

	/* Trusted as its own CA, as a client pinning it does. */
	assert_int_equal(gnutls_x509_crt_verify(crt, &crt, 1, 0, &status), 0);
	assert_int_equal(status, 0);
	gnutls_x509_crt_deinit(crt);
	free(pem);
}

/* A leaf for one SAN, signed with the self-signed certificate's key; the verify status
 * against that certificate as the only trust anchor. */
static unsigned
verify_leaf_signed_by(gnutls_x509_crt_t ca, gnutls_x509_privkey_t ca_key, int san_type,
	const void *san, unsigned san_len)
{
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t leaf;
	unsigned char serial[8] = {1, 2, 3, 4, 5, 6, 7, 8}, keyid[64];
	size_t keyid_len;
	gnutls_datum_t der;
	unsigned status = 0;
	time_t now = time(NULL);

	assert_int_equal(gnutls_x509_privkey_init(&key), 0);
	assert_int_equal(gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
		GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0), 0);
	assert_int_equal(gnutls_x509_crt_init(&leaf), 0);
	assert_int_equal(gnutls_x509_crt_set_version(leaf, 3), 0);
	assert_int_equal(gnutls_x509_crt_set_serial(leaf, serial, sizeof(serial)), 0);
	assert_int_equal(gnutls_x509_crt_set_activation_time(leaf, now - 60), 0);
	assert_int_equal(gnutls_x509_crt_set_expiration_time(leaf, now + 3600), 0);
	assert_int_equal(gnutls_x509_crt_set_key(leaf, key), 0);
	keyid_len = sizeof(keyid);
	assert_int_equal(gnutls_x509_crt_get_subject_key_id(ca, keyid, &keyid_len, NULL), 0);
	assert_int_equal(gnutls_x509_crt_set_authority_key_id(leaf, keyid, keyid_len), 0);
	assert_int_equal(gnutls_x509_crt_set_subject_alt_name(leaf, san_type, san, san_len,
		GNUTLS_FSAN_APPEND), 0);
	assert_int_equal(gnutls_x509_crt_sign2(leaf, ca, ca_key, GNUTLS_DIG_SHA256, 0), 0);
	/* As a client sees it: exported and read back (the raw issuer name is set then). */
	assert_int_equal(gnutls_x509_crt_export2(leaf, GNUTLS_X509_FMT_DER, &der), 0);
	gnutls_x509_crt_deinit(leaf);
	assert_int_equal(gnutls_x509_crt_init(&leaf), 0);
	assert_int_equal(gnutls_x509_crt_import(leaf, &der, GNUTLS_X509_FMT_DER), 0);
	gnutls_free(der.data);
	assert_int_equal(gnutls_x509_crt_verify(leaf, &ca, 1, 0, &status), 0);
	gnutls_x509_crt_deinit(leaf);
	gnutls_x509_privkey_deinit(key);
	return status;
}

static void
test_key_signs_nothing_for_other_names(void **state)
{
	static const char *const names[] = { "jit.example.com", "10.1.2.3" };
	struct fixture *f = *state;
	unsigned char ip[4] = {10, 1, 2, 3}, other_ip[4] = {10, 9, 9, 9};
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	gnutls_datum_t d;
	struct jit_error e;
	char *pem, *kpem;
	unsigned crit = 0;
	gnutls_x509_name_constraints_t nc;

	/* Security finding 12: a CA without name constraints could vouch for any name. */
	assert_int_equal(jit_tls_ensure_self_signed(f->dir, names, 2, &e), 0);
	pem = slurp(f->cert);
	kpem = slurp(f->key);
	crt = load_cert(pem);
	assert_int_equal(gnutls_x509_name_constraints_init(&nc), 0);
	assert_int_equal(gnutls_x509_crt_get_name_constraints(crt, nc, 0, &crit), 0);
	assert_int_equal(crit, 1);
	gnutls_x509_name_constraints_deinit(nc);
	assert_int_equal(gnutls_x509_privkey_init(&key), 0);
	d = (gnutls_datum_t){ (unsigned char *)kpem, (unsigned)strlen(kpem) };
	assert_int_equal(gnutls_x509_privkey_import(key, &d, GNUTLS_X509_FMT_PEM), 0);
	/* Its own names still verify; any other name, DNS or IP, does not. */
	assert_int_equal(verify_leaf_signed_by(crt, key, GNUTLS_SAN_DNSNAME, "jit.example.com",
		15), 0);
	assert_int_equal(verify_leaf_signed_by(crt, key, GNUTLS_SAN_IPADDRESS, ip, 4), 0);
	assert_true(verify_leaf_signed_by(crt, key, GNUTLS_SAN_DNSNAME, "bank.example.org", 16) &
		GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE);
	assert_true(verify_leaf_signed_by(crt, key, GNUTLS_SAN_IPADDRESS, other_ip, 4) &
		GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE);
	gnutls_x509_privkey_deinit(key);
	gnutls_x509_crt_deinit(crt);
	free(pem);
	memset(kpem, 0, strlen(kpem));
	free(kpem);
}

static void
test_pair_checks(void **state)
{
	struct fixture *f = *state;
	struct jit_error e;
	char other[192], other_key[256];
	char *cert, *key, *key2;

	assert_int_equal(jit_tls_ensure_self_signed(f->dir, NULL, 0, &e), 0);
	snprintf(other, sizeof(other), "%s/other", f->root);
	assert_int_equal(jit_tls_ensure_self_signed(other, NULL, 0, &e), 0);
	snprintf(other_key, sizeof(other_key), "%s/key.pem", other);
	cert = slurp(f->cert);
	key = slurp(f->key);
	key2 = slurp(other_key);
	assert_int_equal(jit_tls_check_pair(cert, key, &e), 0);
	assert_int_equal(jit_tls_check_pair(cert, key2, &e), -1);
	assert_non_null(strstr(e.message, "does not belong"));
	assert_int_equal(jit_tls_check_pair("garbage", key, &e), -1);
	assert_int_equal(jit_tls_check_pair(cert, "garbage", &e), -1);
	assert_int_equal(jit_tls_check_pair(key, cert, &e), -1);
	free(cert);
	free(key);
	free(key2);
}

static void
test_existing_files_are_kept(void **state)
{
	static const char *const names[] = { "changed.example" };
	struct fixture *f = *state;
	struct jit_error e;
	char *c1, *k1, *c2, *k2;

	assert_int_equal(jit_tls_ensure_self_signed(f->dir, NULL, 0, &e), 0);
	c1 = slurp(f->cert);
	k1 = slurp(f->key);
	assert_int_equal(jit_tls_ensure_self_signed(f->dir, names, 1, &e), 0);
	c2 = slurp(f->cert);
	k2 = slurp(f->key);
	assert_string_equal(c1, c2);
	assert_string_equal(k1, k2);
	free(c1);
	free(k1);
	free(c2);
	free(k2);
}

static void
test_leftover_key_is_replaced_lone_cert_is_refused(void **state)
{
	struct fixture *f = *state;
	struct jit_error e;
	char *c, *k;

	assert_int_equal(jit_tls_ensure_self_signed(f->dir, NULL, 0, &e), 0);
	/* A crash between the two renames leaves a key alone: start over. */
	assert_int_equal(unlink(f->cert), 0);
	assert_int_equal(jit_tls_ensure_self_signed(f->dir, NULL, 0, &e), 0);
	c = slurp(f->cert);
	k = slurp(f->key);
	assert_int_equal(jit_tls_check_pair(c, k, &e), 0);
	/* A certificate without its key is someone's, not ours: do not overwrite. */
	assert_int_equal(unlink(f->key), 0);
	assert_int_equal(jit_tls_ensure_self_signed(f->dir, NULL, 0, &e), -1);
	assert_non_null(strstr(e.message, "without"));
	free(c);
	free(k);
}

static void
test_bad_names_are_refused(void **state)
{
	static const char *const bad[] = { "not a name" };
	static const char *const empty[] = { "" };
	static const char *const dots[] = { "a..b" };
	struct fixture *f = *state;
	struct jit_error e;
	struct stat st;

	assert_int_equal(jit_tls_ensure_self_signed(f->dir, bad, 1, &e), -1);
	assert_int_equal(e.status, 400);
	assert_int_equal(jit_tls_ensure_self_signed(f->dir, empty, 1, &e), -1);
	assert_int_equal(jit_tls_ensure_self_signed(f->dir, dots, 1, &e), -1);
	assert_int_not_equal(stat(f->key, &st), 0);
	assert_int_not_equal(stat(f->cert, &st), 0);
}

static void
test_read_pem_limits(void **state)
{
	struct fixture *f = *state;
	struct jit_error e;
	char path[192], *s = NULL, *buf;
	int fd;

	snprintf(path, sizeof(path), "%s/big.pem", f->root);
	buf = malloc(1024 * 1024 + 1);
	assert_non_null(buf);
	memset(buf, 'A', 1024 * 1024 + 1);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	/* Exactly 1 MiB is accepted... */
	assert_int_equal(write(fd, buf, 1024 * 1024), 1024 * 1024);
	assert_int_equal(jit_tls_read_pem(path, &s, &e), 0);
	assert_int_equal(strlen(s), 1024 * 1024);
	free(s);
	/* ...one byte more is not. */
	assert_int_equal(write(fd, buf, 1), 1);
	close(fd);
	assert_int_equal(jit_tls_read_pem(path, &s, &e), -1);
	assert_null(s);
	assert_int_equal(jit_tls_read_pem("/nonexistent/cert.pem", &s, &e), -1);
	assert_non_null(strstr(e.message, "/nonexistent/cert.pem"));
	assert_int_equal(jit_tls_read_pem(f->root, &s, &e), -1);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_creates_files_with_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_certificate_contents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_signs_nothing_for_other_names, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_pair_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_existing_files_are_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leftover_key_is_replaced_lone_cert_is_refused,
			setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_names_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_pem_limits, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
