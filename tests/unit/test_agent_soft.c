/* tests/unit/test_agent_soft.c: the soft backend signs with every key type
 * and algorithm, and OpenSSL verifies each signature against the SPKI the
 * backend reports; wrong algorithm/key pairs fail with WID_E_MECH. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "wid/err.h"
#include "wid/proto.h"
#include "tools/agent/backend.h"

static const uint8_t msg[] = "the quick brown fox";

/* DER DigestInfo prefix for SHA-256. */
static const uint8_t sha256_prefix[] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
	0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
};

struct fixture {
	void *state;
	void *key;
	EVP_PKEY *pub;
	int type;
};

static void
make_key(struct fixture *f, int type)
{
	uint8_t spki[WID_SPKI_MAX];
	const unsigned char *p = spki;
	size_t len;

	memset(f, 0, sizeof(*f));
	f->type = type;
	assert_int_equal(wid_backend_soft.open(NULL, &f->state), 0);
	assert_int_equal(wid_backend_soft.keygen(f->state, type, 60, &f->key),
	    0);
	assert_int_equal(wid_backend_soft.spki(f->state, f->key, spki, &len),
	    0);
	assert_non_null(f->pub = d2i_PUBKEY(NULL, &p, (long)len));
	assert_ptr_equal(p, spki + len);
}

static void
drop_key(struct fixture *f)
{
	wid_backend_soft.destroy(f->state, f->key);
	wid_backend_soft.close(f->state);
	EVP_PKEY_free(f->pub);
}

static int
do_sign(struct fixture *f, int alg, int hash, uint32_t salt,
        const uint8_t *data, size_t n, uint8_t *sig, size_t *len)
{
	struct wid_sign_req req = { .serial = 1, .alg = (uint8_t)alg,
	    .hash = (uint8_t)hash, .salt = salt, .data = data,
	    .data_len = (uint16_t)n };

	return wid_backend_soft.sign(f->state, f->key, &req, sig, len);
}

static void
digest(const EVP_MD *md, uint8_t *out, unsigned int *n)
{
	assert_int_equal(EVP_Digest(msg, sizeof(msg), out, n, md, NULL), 1);
}

/* r||s -> DER, then EVP_PKEY_verify over the digest. */
static int
verify_ecdsa(EVP_PKEY *pub, const uint8_t *sig, size_t len,
             const uint8_t *dgst, size_t dlen)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, (int)len / 2, NULL);
	BIGNUM *s = BN_bin2bn(sig + len / 2, (int)len / 2, NULL);
	unsigned char *der = NULL;
	EVP_PKEY_CTX *ctx;
	int n, ok;

	assert_non_null(es);
	assert_int_equal(ECDSA_SIG_set0(es, r, s), 1);
	assert_true((n = i2d_ECDSA_SIG(es, &der)) > 0);
	assert_non_null(ctx = EVP_PKEY_CTX_new(pub, NULL));
	assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
	ok = EVP_PKEY_verify(ctx, der, (size_t)n, dgst, dlen);
	EVP_PKEY_CTX_free(ctx);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	return ok == 1;
}

static int
verify_rsa(EVP_PKEY *pub, int pad, const EVP_MD *md, int salt,
           const uint8_t *sig, size_t len, const uint8_t *dgst, size_t dlen)
{
	EVP_PKEY_CTX *ctx;
	int ok;

	assert_non_null(ctx = EVP_PKEY_CTX_new(pub, NULL));
	assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, pad), 1);
	assert_int_equal(EVP_PKEY_CTX_set_signature_md(ctx, md), 1);
	if (pad == RSA_PKCS1_PSS_PADDING) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, salt),
		    1);
	}
	ok = EVP_PKEY_verify(ctx, sig, len, dgst, dlen);
	EVP_PKEY_CTX_free(ctx);
	return ok == 1;
}

static void
check_ec(int type, const EVP_MD *md, size_t width)
{
	struct fixture f;
	uint8_t d[64], sig[WID_SIG_MAX];
	unsigned int dn;
	size_t len;

	make_key(&f, type);
	digest(md, d, &dn);
	assert_int_equal(do_sign(&f, WID_SIG_ECDSA, 0, 0, d, dn, sig, &len),
	    0);
	assert_int_equal(len, 2 * width);
	assert_true(verify_ecdsa(f.pub, sig, len, d, dn));
	/* Again, through the context the first signature left ready. */
	assert_int_equal(do_sign(&f, WID_SIG_ECDSA, 0, 0, d, dn, sig, &len),
	    0);
	assert_true(verify_ecdsa(f.pub, sig, len, d, dn));
	/* Tampered digest: verification must fail. */
	d[0] ^= 1;
	assert_false(verify_ecdsa(f.pub, sig, len, d, dn));
	/* Wrong algorithms for an EC key. */
	assert_int_equal(do_sign(&f, WID_SIG_RSA_PKCS1, 0, 0, d, dn, sig,
	    &len), WID_E_MECH);
	assert_int_equal(do_sign(&f, WID_SIG_EDDSA, 0, 0, d, dn, sig, &len),
	    WID_E_MECH);
	assert_int_equal(do_sign(&f, WID_SIG_RSA_PSS, WID_HASH_SHA256, 32, d,
	    32, sig, &len), WID_E_MECH);
	drop_key(&f);
}

static void
test_ec_p256(void **state)
{
	check_ec(WID_KEY_EC_P256, EVP_sha256(), 32);
}

static void
test_ec_p384(void **state)
{
	check_ec(WID_KEY_EC_P384, EVP_sha384(), 48);
}

static void
test_ed25519(void **state)
{
	struct fixture f;
	uint8_t sig[WID_SIG_MAX], sig2[WID_SIG_MAX], bad[sizeof(msg)];
	EVP_MD_CTX *m;
	size_t len;

	make_key(&f, WID_KEY_ED25519);
	assert_int_equal(do_sign(&f, WID_SIG_EDDSA, 0, 0, msg, sizeof(msg),
	    sig, &len), 0);
	assert_int_equal(len, 64);
	assert_non_null(m = EVP_MD_CTX_new());
	assert_int_equal(EVP_DigestVerifyInit_ex(m, NULL, NULL, NULL, NULL,
	    f.pub, NULL), 1);
	assert_int_equal(EVP_DigestVerify(m, sig, len, msg, sizeof(msg)), 1);
	memcpy(bad, msg, sizeof(msg));
	bad[0] ^= 1;
	assert_int_equal(EVP_DigestVerifyInit_ex(m, NULL, NULL, NULL, NULL,
	    f.pub, NULL), 1);
	assert_int_not_equal(EVP_DigestVerify(m, sig, len, bad, sizeof(bad)),
	    1);
	/* The kept context, reset for each signature: another message
	 * verifies, and the first one signs to the same bytes again
	 * (Ed25519 is deterministic). */
	assert_int_equal(do_sign(&f, WID_SIG_EDDSA, 0, 0, bad, sizeof(bad),
	    sig2, &len), 0);
	assert_int_equal(EVP_DigestVerifyInit_ex(m, NULL, NULL, NULL, NULL,
	    f.pub, NULL), 1);
	assert_int_equal(EVP_DigestVerify(m, sig2, len, bad, sizeof(bad)), 1);
	assert_int_equal(do_sign(&f, WID_SIG_EDDSA, 0, 0, msg, sizeof(msg),
	    sig2, &len), 0);
	assert_memory_equal(sig, sig2, 64);
	EVP_MD_CTX_free(m);
	assert_int_equal(do_sign(&f, WID_SIG_ECDSA, 0, 0, msg, 32, sig, &len),
	    WID_E_MECH);
	drop_key(&f);
}

static void
check_rsa(int type, size_t bytes)
{
	struct fixture f;
	uint8_t d[32], di[sizeof(sha256_prefix) + 32], sig[WID_SIG_MAX];
	unsigned int dn;
	size_t len;

	make_key(&f, type);
	assert_int_equal(EVP_PKEY_get_bits(f.pub), (int)bytes * 8);
	digest(EVP_sha256(), d, &dn);

	/* PKCS#1 v1.5 over a DigestInfo the client built. */
	memcpy(di, sha256_prefix, sizeof(sha256_prefix));
	memcpy(di + sizeof(sha256_prefix), d, 32);
	assert_int_equal(do_sign(&f, WID_SIG_RSA_PKCS1, 0, 0, di, sizeof(di),
	    sig, &len), 0);
	assert_int_equal(len, bytes);
	assert_true(verify_rsa(f.pub, RSA_PKCS1_PADDING, EVP_sha256(), 0, sig,
	    len, d, 32));
	sig[5] ^= 1;
	assert_false(verify_rsa(f.pub, RSA_PKCS1_PADDING, EVP_sha256(), 0,
	    sig, len, d, 32));

	/* PSS, SHA-256, salt 32. */
	assert_int_equal(do_sign(&f, WID_SIG_RSA_PSS, WID_HASH_SHA256, 32, d,
	    32, sig, &len), 0);
	assert_int_equal(len, bytes);
	assert_true(verify_rsa(f.pub, RSA_PKCS1_PSS_PADDING, EVP_sha256(), 32,
	    sig, len, d, 32));
	assert_false(verify_rsa(f.pub, RSA_PKCS1_PSS_PADDING, EVP_sha256(),
	    20, sig, len, d, 32));
	/* PSS data must be a digest of the named hash. */
	assert_int_equal(do_sign(&f, WID_SIG_RSA_PSS, WID_HASH_SHA384, 48, d,
	    32, sig, &len), WID_E_BADARG);
	/* Too long for PKCS#1 padding. */
	{
		uint8_t big[WID_SIG_MAX] = { 0 };

		assert_int_equal(do_sign(&f, WID_SIG_RSA_PKCS1, 0, 0, big,
		    bytes - 10, sig, &len), WID_E_BADARG);
	}
	assert_int_equal(do_sign(&f, WID_SIG_ECDSA, 0, 0, d, 32, sig, &len),
	    WID_E_MECH);
	assert_int_equal(do_sign(&f, WID_SIG_EDDSA, 0, 0, d, 32, sig, &len),
	    WID_E_MECH);
	drop_key(&f);
}

static void
test_rsa2048(void **state)
{
	check_rsa(WID_KEY_RSA2048, 256);
}

static void
test_rsa3072(void **state)
{
	check_rsa(WID_KEY_RSA3072, 384);
}

static void
test_keys_differ(void **state)
{
	struct fixture a, b;

	make_key(&a, WID_KEY_EC_P256);
	make_key(&b, WID_KEY_EC_P256);
	assert_int_not_equal(EVP_PKEY_eq(a.pub, b.pub), 1);
	drop_key(&a);
	drop_key(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ec_p256),
		cmocka_unit_test(test_ec_p384),
		cmocka_unit_test(test_ed25519),
		cmocka_unit_test(test_rsa2048),
		cmocka_unit_test(test_rsa3072),
		cmocka_unit_test(test_keys_differ),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
