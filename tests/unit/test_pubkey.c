/* tests/unit/test_pubkey.c: SPKI to OpenSSH line, PEM and fingerprint.
 * Keys generated here are checked by decoding the line back into its wire
 * fields and comparing them with what OpenSSL reports; fixed vectors were
 * computed once with ssh-keygen 9.2 (-l, and -i -m PKCS8 for P-256). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "wid/err.h"
#include "wid/pubkey.h"

/* ssh-keygen -t ed25519 -C test@wid; SPKI = RFC 8410 prefix + raw key. */
static const uint8_t ed_spki[] = {
	0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
	0xbf, 0xc9, 0x92, 0x8e, 0x03, 0x77, 0x5c, 0x05, 0x57, 0x86, 0x0a, 0xc6,
	0xf4, 0xf8, 0x14, 0x6e, 0x78, 0xb9, 0x73, 0x65, 0xf5, 0xc5, 0x80, 0xb6,
	0x2b, 0x86, 0x2b, 0x2d, 0x11, 0x26, 0xba, 0x64,
};
static const char ed_line[] = "ssh-ed25519 "
    "AAAAC3NzaC1lZDI1NTE5AAAAIL/Jko4Dd1wFV4YKxvT4FG54uXNl9cWAtiuGKy0RJrpk "
    "test@wid";
static const char ed_fp[] = "SHA256:zkgn2jbCe/qU4rhdHDyZOZlWqcmOqz2bqet9GlqbRv4";

/* openssl ecparam -name prime256v1 -genkey; ssh-keygen -i -m PKCS8. */
static const uint8_t p256_spki[] = {
	0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
	0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03,
	0x42, 0x00, 0x04, 0xe1, 0x2e, 0xc7, 0xad, 0x5d, 0x2c, 0x58, 0xd0, 0x6e,
	0x05, 0xa7, 0x78, 0x0d, 0x5e, 0x90, 0xd2, 0xeb, 0xa5, 0x0a, 0xf1, 0x21,
	0xa5, 0xd1, 0xdf, 0x3b, 0x63, 0x75, 0x75, 0x99, 0xb6, 0x5b, 0xc4, 0x00,
	0x1e, 0x9b, 0x69, 0xb2, 0xb4, 0xa1, 0xea, 0xe3, 0x35, 0x72, 0xae, 0xd7,
	0xc3, 0xd3, 0x20, 0xed, 0xf2, 0xdb, 0xb5, 0x17, 0xdc, 0x28, 0x8e, 0x67,
	0x06, 0x0e, 0xe3, 0x46, 0xa6, 0x91, 0xdb,
};
static const char p256_line[] = "ecdsa-sha2-nistp256 "
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBOEux61dLFjQbgWneA1"
    "ekNLrpQrxIaXR3ztjdXWZtlvEAB6babK0oerjNXKu18PTIO3y27UX3CiOZwYO40amkds=";
static const char p256_fp[] = "SHA256:URFJ8eO0fEYxwB2PRgOaHezMS3P8gQcrMSgerQk4ySc";

/* A reader over the decoded SSH blob. */
struct rd {
	const uint8_t *p;
	size_t n;
};

static int
rd_str(struct rd *r, const uint8_t **ret, size_t *ret_len)
{
	uint32_t n;

	if (r->n < 4)
		return -1;
	n = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	    (uint32_t)r->p[2] << 8 | r->p[3];
	if (n > r->n - 4)
		return -1;
	*ret = r->p + 4;
	*ret_len = n;
	r->p += 4 + n;
	r->n -= 4 + n;
	return 0;
}

static void
expect_str(struct rd *r, const char *want)
{
	const uint8_t *p;
	size_t n;

	assert_int_equal(rd_str(r, &p, &n), 0);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(p, want, n);
}

static void
expect_bytes(struct rd *r, const uint8_t *want, size_t wlen)
{
	const uint8_t *p;
	size_t n;

	assert_int_equal(rd_str(r, &p, &n), 0);
	assert_int_equal(n, wlen);
	assert_memory_equal(p, want, n);
}

/* An SSH mpint equal to bn: minimal, positive. */
static void
expect_mpint(struct rd *r, const BIGNUM *bn)
{
	const uint8_t *p;
	size_t n;
	BIGNUM *got;

	assert_int_equal(rd_str(r, &p, &n), 0);
	assert_true(n > 0);
	assert_int_equal(p[0] & 0x80, 0);               /* positive */
	if (n > 1 && p[0] == 0)
		assert_true((p[1] & 0x80) != 0);        /* minimal */
	got = BN_bin2bn(p, (int)n, NULL);
	assert_non_null(got);
	assert_int_equal(BN_cmp(got, bn), 0);
	BN_free(got);
}

/* Decodes the base64 field of `line` (type, blob, comment). */
static uint8_t *
line_blob(const char *line, const char *type, const char *comment,
          size_t *ret_len)
{
	const char *b64, *end;
	uint8_t *blob;
	size_t n;
	int len, pad = 0;

	assert_true(strncmp(line, type, strlen(type)) == 0);
	assert_int_equal(line[strlen(type)], ' ');
	b64 = line + strlen(type) + 1;
	end = strchr(b64, ' ');
	if (comment == NULL) {
		assert_null(end);
		end = b64 + strlen(b64);
	} else {
		assert_non_null(end);
		assert_string_equal(end + 1, comment);
	}
	n = (size_t)(end - b64);
	assert_int_equal(n % 4, 0);
	blob = malloc(n);
	assert_non_null(blob);
	len = EVP_DecodeBlock(blob, (const unsigned char *)b64, (int)n);
	assert_true(len > 0);
	if (n > 0 && b64[n - 1] == '=')
		pad++;
	if (n > 1 && b64[n - 2] == '=')
		pad++;
	*ret_len = (size_t)len - (size_t)pad;
	return blob;
}

static EVP_PKEY *
genkey(const char *alg, const char *group, unsigned int bits)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
	EVP_PKEY *pkey = NULL;

	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	if (group != NULL)
		assert_int_equal(EVP_PKEY_CTX_set_group_name(ctx, group), 1);
	if (bits != 0)
		assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits), 1);
	assert_int_equal(EVP_PKEY_generate(ctx, &pkey), 1);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

static size_t
spki_of(EVP_PKEY *pkey, uint8_t **ret)
{
	int n;

	*ret = NULL;
	n = i2d_PUBKEY(pkey, ret);
	assert_true(n > 0);
	return (size_t)n;
}

/* PEM output must parse back to the same SPKI. */
static void
check_pem(const uint8_t *spki, size_t len)
{
	char pem[4096];
	BIO *bio;
	EVP_PKEY *back;
	uint8_t *der = NULL;
	int n;

	assert_int_equal(wid_pubkey_pem(spki, len, pem, sizeof(pem)), 0);
	assert_true(strncmp(pem, "-----BEGIN PUBLIC KEY-----\n", 27) == 0);
	bio = BIO_new_mem_buf(pem, -1);
	back = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	assert_non_null(back);
	n = i2d_PUBKEY(back, &der);
	assert_int_equal((size_t)n, len);
	assert_memory_equal(der, spki, len);
	OPENSSL_free(der);
	BIO_free(bio);
	/* Byte for byte what OpenSSL writes. */
	{
		char *mem;
		long m;

		bio = BIO_new(BIO_s_mem());
		assert_non_null(bio);
		assert_int_equal(PEM_write_bio_PUBKEY(bio, back), 1);
		m = BIO_get_mem_data(bio, &mem);
		assert_int_equal((size_t)m, strlen(pem));
		assert_memory_equal(mem, pem, (size_t)m);
		BIO_free(bio);
	}
	EVP_PKEY_free(back);
	/* Too small: an error and an empty string. */
	assert_int_equal(wid_pubkey_pem(spki, len, pem, 20), WID_E_LIMIT);
	assert_string_equal(pem, "");
}

/* The fingerprint is SHA-256 over the blob the line carries. */
static void
check_fingerprint(const uint8_t *spki, size_t len, const uint8_t *blob,
                  size_t blen)
{
	char fp[WID_FINGERPRINT_LEN], want[WID_FINGERPRINT_LEN + 8];
	uint8_t md[32];
	char b64[64];
	unsigned int mdlen;
	size_t n;

	assert_int_equal(wid_pubkey_fingerprint(spki, len, fp, sizeof(fp)), 0);
	assert_int_equal(EVP_Digest(blob, blen, md, &mdlen, EVP_sha256(), NULL), 1);
	EVP_EncodeBlock((unsigned char *)b64, md, (int)mdlen);
	n = strlen(b64);
	assert_int_equal(b64[n - 1], '=');
	b64[n - 1] = '\0';
	snprintf(want, sizeof(want), "SHA256:%s", b64);
	assert_string_equal(fp, want);
	assert_int_equal(strlen(fp), WID_FINGERPRINT_LEN - 1);
	assert_int_equal(wid_pubkey_fingerprint(spki, len, fp, 10), WID_E_LIMIT);
}

static void
check_ec(const char *group, const char *type, const char *curve, size_t plen)
{
	EVP_PKEY *pkey = genkey("EC", group, 0);
	uint8_t *spki, *blob, point[200];
	char line[2048];
	size_t len, blen, n;
	struct rd r;

	len = spki_of(pkey, &spki);
	assert_int_equal(wid_pubkey_ssh(spki, len, "task-1", line, sizeof(line)), 0);
	blob = line_blob(line, type, "task-1", &blen);
	r.p = blob;
	r.n = blen;
	expect_str(&r, type);
	expect_str(&r, curve);
	assert_int_equal(EVP_PKEY_get_octet_string_param(pkey,
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point, sizeof(point), &n), 1);
	assert_int_equal(n, plen);
	expect_bytes(&r, point, n);
	assert_int_equal(r.n, 0);
	check_pem(spki, len);
	check_fingerprint(spki, len, blob, blen);
	free(blob);
	OPENSSL_free(spki);
	EVP_PKEY_free(pkey);
}

static void
test_ec_p256(void **state)
{
	check_ec("P-256", "ecdsa-sha2-nistp256", "nistp256", 65);
}

static void
test_ec_p384(void **state)
{
	check_ec("P-384", "ecdsa-sha2-nistp384", "nistp384", 97);
}

static void
test_ed25519(void **state)
{
	EVP_PKEY *pkey = genkey("ED25519", NULL, 0);
	uint8_t *spki, *blob, raw[32];
	char line[512];
	size_t len, blen, n = sizeof(raw);
	struct rd r;

	len = spki_of(pkey, &spki);
	assert_int_equal(wid_pubkey_ssh(spki, len, NULL, line, sizeof(line)), 0);
	blob = line_blob(line, "ssh-ed25519", NULL, &blen);
	r.p = blob;
	r.n = blen;
	expect_str(&r, "ssh-ed25519");
	assert_int_equal(EVP_PKEY_get_raw_public_key(pkey, raw, &n), 1);
	expect_bytes(&r, raw, n);
	assert_int_equal(r.n, 0);
	check_pem(spki, len);
	check_fingerprint(spki, len, blob, blen);
	free(blob);
	OPENSSL_free(spki);
	EVP_PKEY_free(pkey);
}

static void
test_rsa2048(void **state)
{
	EVP_PKEY *pkey = genkey("RSA", NULL, 2048);
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	uint8_t *spki, *blob;
	char line[2048];
	size_t len, blen;
	struct rd r;

	len = spki_of(pkey, &spki);
	assert_int_equal(wid_pubkey_ssh(spki, len, "", line, sizeof(line)), 0);
	blob = line_blob(line, "ssh-rsa", NULL, &blen);
	r.p = blob;
	r.n = blen;
	expect_str(&r, "ssh-rsa");
	assert_int_equal(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &bn_n), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &bn_e), 1);
	expect_mpint(&r, bn_e);
	expect_mpint(&r, bn_n);
	assert_int_equal(r.n, 0);
	check_pem(spki, len);
	check_fingerprint(spki, len, blob, blen);
	BN_free(bn_n);
	BN_free(bn_e);
	free(blob);
	OPENSSL_free(spki);
	EVP_PKEY_free(pkey);
}

static void
test_known_vectors(void **state)
{
	char line[512], fp[WID_FINGERPRINT_LEN];

	assert_int_equal(wid_pubkey_ssh(ed_spki, sizeof(ed_spki), "test@wid",
	    line, sizeof(line)), 0);
	assert_string_equal(line, ed_line);
	assert_int_equal(wid_pubkey_fingerprint(ed_spki, sizeof(ed_spki), fp,
	    sizeof(fp)), 0);
	assert_string_equal(fp, ed_fp);

	assert_int_equal(wid_pubkey_ssh(p256_spki, sizeof(p256_spki), NULL,
	    line, sizeof(line)), 0);
	assert_string_equal(line, p256_line);
	assert_int_equal(wid_pubkey_fingerprint(p256_spki, sizeof(p256_spki),
	    fp, sizeof(fp)), 0);
	assert_string_equal(fp, p256_fp);

	/* Exactly big enough, then one byte short. */
	assert_int_equal(wid_pubkey_ssh(ed_spki, sizeof(ed_spki), "test@wid",
	    line, sizeof(ed_line)), 0);
	assert_int_equal(wid_pubkey_ssh(ed_spki, sizeof(ed_spki), "test@wid",
	    line, sizeof(ed_line) - 1), WID_E_LIMIT);
	assert_string_equal(line, "");
}

static void
test_rejects(void **state)
{
	uint8_t buf[sizeof(ed_spki) + 1];
	char out[512];
	EVP_PKEY *pkey;
	uint8_t *spki;
	size_t len;

	/* Trailing byte, truncation, garbage, NULL. */
	memcpy(buf, ed_spki, sizeof(ed_spki));
	buf[sizeof(ed_spki)] = 0;
	assert_int_equal(wid_pubkey_ssh(buf, sizeof(buf), NULL, out,
	    sizeof(out)), WID_E_BADARG);
	assert_int_equal(wid_pubkey_ssh(ed_spki, sizeof(ed_spki) - 1, NULL,
	    out, sizeof(out)), WID_E_BADARG);
	assert_int_equal(wid_pubkey_pem(ed_spki, sizeof(ed_spki) - 1, out,
	    sizeof(out)), WID_E_BADARG);
	memset(buf, 0x41, sizeof(buf));
	assert_int_equal(wid_pubkey_fingerprint(buf, sizeof(buf), out,
	    sizeof(out)), WID_E_BADARG);
	assert_int_equal(wid_pubkey_ssh(NULL, 10, NULL, out, sizeof(out)),
	    WID_E_BADARG);
	/* A newline in the comment would forge a second authorized_keys line. */
	assert_int_equal(wid_pubkey_ssh(ed_spki, sizeof(ed_spki), "a\nssh-rsa",
	    out, sizeof(out)), WID_E_BADARG);

	/* A curve SSH does not name. */
	pkey = genkey("EC", "secp256k1", 0);
	len = spki_of(pkey, &spki);
	assert_int_equal(wid_pubkey_ssh(spki, len, NULL, out, sizeof(out)),
	    WID_E_UNSUPPORTED);
	OPENSSL_free(spki);
	EVP_PKEY_free(pkey);
	/* A compressed point: wid's agent never makes one. */
	pkey = genkey("EC", "P-256", 0);
	assert_int_equal(EVP_PKEY_set_utf8_string_param(pkey,
	    OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "compressed"), 1);
	len = spki_of(pkey, &spki);
	assert_int_equal(len, 59);           /* 33-byte point */
	assert_int_equal(wid_pubkey_ssh(spki, len, NULL, out, sizeof(out)),
	    WID_E_UNSUPPORTED);
	OPENSSL_free(spki);
	EVP_PKEY_free(pkey);
	/* P-521 has an SSH name. */
	pkey = genkey("EC", "P-521", 0);
	len = spki_of(pkey, &spki);
	assert_int_equal(wid_pubkey_ssh(spki, len, NULL, out, sizeof(out)), 0);
	assert_true(strncmp(out, "ecdsa-sha2-nistp521 ", 20) == 0);
	OPENSSL_free(spki);
	EVP_PKEY_free(pkey);
	/* Ed448 has no SSH form here. */
	pkey = genkey("ED448", NULL, 0);
	len = spki_of(pkey, &spki);
	assert_int_equal(wid_pubkey_fingerprint(spki, len, out, sizeof(out)),
	    WID_E_UNSUPPORTED);
	OPENSSL_free(spki);
	EVP_PKEY_free(pkey);
}

/* r || s halves to DER: minimal INTEGERs, a zero byte before a set top
 * bit, leading zeros dropped. */
static void
test_ecdsa_sig_der(void **state)
{
	const uint8_t r[] = { 0x00, 0x01 }, sv[] = { 0x00, 0x80 };
	const uint8_t want[] = { 0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x02,
	    0x00, 0x80 };
	unsigned char *der = NULL;
	int n;

	(void)state;
	n = wid_ecdsa_sig_der(r, sizeof(r), sv, sizeof(sv), &der);
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(der, want, sizeof(want));
	OPENSSL_free(der);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ecdsa_sig_der),
		cmocka_unit_test(test_ec_p256),
		cmocka_unit_test(test_ec_p384),
		cmocka_unit_test(test_ed25519),
		cmocka_unit_test(test_rsa2048),
		cmocka_unit_test(test_known_vectors),
		cmocka_unit_test(test_rejects),
	};

	return cmocka_run_group_tests_name("pubkey", tests, NULL, NULL);
}
