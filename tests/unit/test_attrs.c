/* tests/unit/test_attrs.c: wid-pkcs11's attribute rules on listing entries
 * built here (no agent): size queries, sensitive and unknown attributes in
 * one call, the public-key values taken from the SPKI, template matching,
 * the size-query helper of sign.c and the wid_err -> CK_RV mapping. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "wid/err.h"
#include "module.h"

static struct wid_key ec, rsa, ed;
static EVP_PKEY *ec_pk, *rsa_pk, *ed_pk;

static void
make_key(struct wid_key *k, EVP_PKEY *pk, const char *id, int type,
    uint64_t serial)
{
	unsigned char *p = k->task.spki;

	memset(k, 0, sizeof(*k));
	snprintf(k->task.id, sizeof(k->task.id), "%s", id);
	k->task.state = WID_STATE_ACTIVE;
	k->task.key_type = (uint8_t)type;
	k->task.serial = serial;
	memset(k->task.key_id, 0xa0 + (int)serial, WID_KEY_ID_LEN);
	k->task.created = 1700000000;           /* 2023-11-14 22:13 UTC */
	k->task.expires = 1700000000 + 86400;   /* 2023-11-15 */
	k->task.spki_len = (uint16_t)i2d_PUBKEY(pk, &p);
	k->slot = wid_key_slot(type);
}

static int
setup(void **state)
{
	ec_pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	rsa_pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ed_pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (ec_pk == NULL || rsa_pk == NULL || ed_pk == NULL)
		return -1;
	make_key(&ec, ec_pk, "task-ec", WID_KEY_EC_P256, 1);
	make_key(&rsa, rsa_pk, "task-rsa", WID_KEY_RSA2048, 2);
	make_key(&ed, ed_pk, "task-ed", WID_KEY_ED25519, 3);
	return 0;
}

static int
teardown(void **state)
{
	EVP_PKEY_free(ec_pk);
	EVP_PKEY_free(rsa_pk);
	EVP_PKEY_free(ed_pk);
	return 0;
}

static void
test_size_query(void **state)
{
	CK_ATTRIBUTE a = { CKA_LABEL, NULL, 0 };
	char buf[32];

	assert_int_equal(wid_get_attrs_inlock(&ec, WID_OBJ_PUBLIC, &a, 1), CKR_OK);
	assert_int_equal(a.ulValueLen, strlen("task-ec"));
	a.pValue = buf;
	a.ulValueLen = 3;
	assert_int_equal(wid_get_attrs_inlock(&ec, WID_OBJ_PUBLIC, &a, 1),
	    CKR_BUFFER_TOO_SMALL);
	assert_int_equal(a.ulValueLen, CK_UNAVAILABLE_INFORMATION);
	a.ulValueLen = sizeof(buf);
	assert_int_equal(wid_get_attrs_inlock(&ec, WID_OBJ_PUBLIC, &a, 1), CKR_OK);
	assert_int_equal(a.ulValueLen, 7);
	assert_memory_equal(buf, "task-ec", 7);
}

static void
test_private_key(void **state)
{
	CK_OBJECT_CLASS cls = 0;
	CK_KEY_TYPE kt = 0;
	CK_BBOOL sign = 0, sens = 0, extr = 1, priv = 1, tok = 0, dec = 1;
	uint8_t id[WID_KEY_ID_LEN], val[64], point[80];
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_VALUE, val, sizeof(val) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ 0x8badf00dUL, val, sizeof(val) },
		{ CKA_SIGN, &sign, sizeof(sign) },
		{ CKA_SENSITIVE, &sens, sizeof(sens) },
		{ CKA_EXTRACTABLE, &extr, sizeof(extr) },
		{ CKA_PRIVATE, &priv, sizeof(priv) },
		{ CKA_TOKEN, &tok, sizeof(tok) },
		{ CKA_DECRYPT, &dec, sizeof(dec) },
		{ CKA_ID, id, sizeof(id) },
		{ CKA_EC_POINT, point, sizeof(point) },
	};
	CK_RV rv;

	rv = wid_get_attrs_inlock(&ec, WID_OBJ_PRIVATE, t, 12);
	assert_true(rv == CKR_ATTRIBUTE_SENSITIVE ||
	    rv == CKR_ATTRIBUTE_TYPE_INVALID);
	assert_int_equal(cls, CKO_PRIVATE_KEY);
	assert_int_equal(t[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	assert_int_equal(kt, CKK_EC);
	assert_int_equal(t[3].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	assert_int_equal(sign, CK_TRUE);
	assert_int_equal(sens, CK_TRUE);
	assert_int_equal(extr, CK_FALSE);
	assert_int_equal(priv, CK_FALSE);
	assert_int_equal(tok, CK_TRUE);
	assert_int_equal(dec, CK_FALSE);
	assert_memory_equal(id, ec.task.key_id, WID_KEY_ID_LEN);
	/* libengine-pkcs11 asks the private key for its point. */
	assert_int_equal(t[11].ulValueLen, 67);
	assert_int_equal(point[0], 0x04);
	assert_int_equal(point[1], 65);
	assert_int_equal(point[2], 0x04);
	/* Only the sensitive one: CKR_ATTRIBUTE_SENSITIVE. */
	assert_int_equal(wid_get_attrs_inlock(&ec, WID_OBJ_PRIVATE, &t[1], 1),
	    CKR_ATTRIBUTE_SENSITIVE);
	assert_int_equal(wid_get_attrs_inlock(&ec, WID_OBJ_PRIVATE, &t[3], 1),
	    CKR_ATTRIBUTE_TYPE_INVALID);
	/* Public keys have no CKA_SIGN; RSA secrets are sensitive. */
	assert_int_equal(wid_get_attrs_inlock(&ec, WID_OBJ_PUBLIC, &t[4], 1),
	    CKR_ATTRIBUTE_TYPE_INVALID);
	t[1].type = CKA_PRIVATE_EXPONENT;
	assert_int_equal(wid_get_attrs_inlock(&rsa, WID_OBJ_PRIVATE, &t[1], 1),
	    CKR_ATTRIBUTE_SENSITIVE);
	assert_int_equal(wid_get_attrs_inlock(&ec, WID_OBJ_PRIVATE, &t[1], 1),
	    CKR_ATTRIBUTE_TYPE_INVALID);
}

static void
test_ec_public(void **state)
{
	static const uint8_t p256[] = {
		0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07
	};
	uint8_t params[16], point[80], raw[80], info[200];
	size_t rawlen = 0;
	CK_DATE end;
	CK_ATTRIBUTE t[] = {
		{ CKA_EC_PARAMS, params, sizeof(params) },
		{ CKA_EC_POINT, point, sizeof(point) },
		{ CKA_END_DATE, &end, sizeof(end) },
		{ CKA_PUBLIC_KEY_INFO, info, sizeof(info) },
	};

	assert_int_equal(wid_get_attrs_inlock(&ec, WID_OBJ_PUBLIC, t, 4), CKR_OK);
	assert_int_equal(t[0].ulValueLen, sizeof(p256));
	assert_memory_equal(params, p256, sizeof(p256));
	assert_true(EVP_PKEY_get_octet_string_param(ec_pk,
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, raw, sizeof(raw), &rawlen));
	assert_int_equal(t[1].ulValueLen, rawlen + 2);
	assert_memory_equal(point + 2, raw, rawlen);
	assert_memory_equal(&end, "20231115", 8);
	assert_int_equal(t[3].ulValueLen, ec.task.spki_len);
	assert_memory_equal(info, ec.task.spki, ec.task.spki_len);
	/* EC keys have no modulus. */
	t[0].type = CKA_MODULUS;
	assert_int_equal(wid_get_attrs_inlock(&ec, WID_OBJ_PUBLIC, t, 1),
	    CKR_ATTRIBUTE_TYPE_INVALID);
}

static void
test_ed25519(void **state)
{
	static const uint8_t oid[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
	uint8_t params[16], point[40], raw[32];
	size_t rawlen = sizeof(raw);
	CK_KEY_TYPE kt = 0;
	CK_ATTRIBUTE t[] = {
		{ CKA_EC_PARAMS, params, sizeof(params) },
		{ CKA_EC_POINT, point, sizeof(point) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
	};

	assert_int_equal(wid_get_attrs_inlock(&ed, WID_OBJ_PUBLIC, t, 3), CKR_OK);
	assert_memory_equal(params, oid, sizeof(oid));
	assert_int_equal(kt, CKK_EC_EDWARDS);
	assert_true(EVP_PKEY_get_raw_public_key(ed_pk, raw, &rawlen));
	assert_int_equal(t[1].ulValueLen, 34);
	assert_int_equal(point[0], 0x04);
	assert_int_equal(point[1], 32);
	assert_memory_equal(point + 2, raw, 32);
	assert_int_equal(ed.slot, WID_SLOT_ED);
}

static void
test_rsa_public(void **state)
{
	uint8_t mod[512], exp[8], n_ref[256];
	CK_ULONG bits = 0;
	BIGNUM *n = NULL;
	CK_MECHANISM_TYPE mechs[16];
	CK_ATTRIBUTE t[] = {
		{ CKA_MODULUS, mod, sizeof(mod) },
		{ CKA_PUBLIC_EXPONENT, exp, sizeof(exp) },
		{ CKA_MODULUS_BITS, &bits, sizeof(bits) },
		{ CKA_ALLOWED_MECHANISMS, mechs, sizeof(mechs) },
	};

	assert_int_equal(wid_get_attrs_inlock(&rsa, WID_OBJ_PRIVATE, t, 4), CKR_OK);
	assert_int_equal(t[0].ulValueLen, 256);
	assert_true(EVP_PKEY_get_bn_param(rsa_pk, OSSL_PKEY_PARAM_RSA_N, &n));
	BN_bn2binpad(n, n_ref, 256);
	BN_free(n);
	assert_memory_equal(mod, n_ref, 256);
	assert_int_equal(t[1].ulValueLen, 3);
	assert_memory_equal(exp, "\x01\x00\x01", 3);
	assert_int_equal(bits, 2048);
	assert_int_equal(t[3].ulValueLen, 8 * sizeof(CK_MECHANISM_TYPE));
	assert_int_equal(mechs[0], CKM_RSA_PKCS);
	/* The decomposition is cached. */
	assert_int_equal(rsa.pub.done, 1);
}

static void
test_match(void **state)
{
	CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &priv, sizeof(priv) },
		{ CKA_ID, ec.task.key_id, WID_KEY_ID_LEN },
		{ CKA_SIGN, &yes, sizeof(yes) },
	};
	CK_ATTRIBUTE t_no[] = { { CKA_PRIVATE, &no, sizeof(no) } };
	CK_ATTRIBUTE t_short[] = { { CKA_CLASS, &priv, 4 } };
	CK_ATTRIBUTE t_value[] = { { CKA_VALUE, NULL, 0 } };

	assert_true(wid_match_inlock(&ec, WID_OBJ_PRIVATE, t, 3));
	assert_false(wid_match_inlock(&ec, WID_OBJ_PUBLIC, t, 3));
	assert_false(wid_match_inlock(&rsa, WID_OBJ_PRIVATE, t, 3));
	assert_true(wid_match_inlock(&ec, WID_OBJ_PUBLIC, NULL, 0));
	assert_true(wid_match_inlock(&rsa, WID_OBJ_PUBLIC, t_no, 1));
	assert_false(wid_match_inlock(&ec, WID_OBJ_PRIVATE, t_short, 1));
	/* Sensitive values never match, even empty. */
	assert_false(wid_match_inlock(&ec, WID_OBJ_PRIVATE, t_value, 1));
}

static void
test_sig_size(void **state)
{
	uint8_t sig[8];
	CK_ULONG len = 0;
	int done = 0;

	assert_int_equal(wid_sig_size(64, NULL, &len, &done), CKR_OK);
	assert_int_equal(done, 1);
	assert_int_equal(len, 64);
	len = sizeof(sig);
	assert_int_equal(wid_sig_size(64, sig, &len, &done), CKR_BUFFER_TOO_SMALL);
	assert_int_equal(done, 1);
	assert_int_equal(len, 64);
	len = 63; /* one short */
	assert_int_equal(wid_sig_size(64, sig, &len, &done), CKR_BUFFER_TOO_SMALL);
	assert_int_equal(done, 1);
	len = 64;
	assert_int_equal(wid_sig_size(64, sig, &len, &done), CKR_OK);
	assert_int_equal(done, 0);
}

static void
test_rv(void **state)
{
	assert_int_equal(wid_rv(WID_OK), CKR_OK);
	assert_int_equal(wid_rv(WID_E_NOTASK), CKR_KEY_HANDLE_INVALID);
	assert_int_equal(wid_rv(WID_E_EXPIRED), CKR_KEY_HANDLE_INVALID);
	assert_int_equal(wid_rv(WID_E_ENDED), CKR_KEY_HANDLE_INVALID);
	assert_int_equal(wid_rv(WID_E_DENIED), CKR_FUNCTION_REJECTED);
	assert_int_equal(wid_rv(WID_E_PENDING), CKR_FUNCTION_REJECTED);
	assert_int_equal(wid_rv(WID_E_MECH), CKR_MECHANISM_INVALID);
	assert_int_equal(wid_rv(WID_E_UNAVAILABLE), CKR_DEVICE_REMOVED);
	assert_int_equal(wid_rv(WID_E_IO), CKR_DEVICE_REMOVED);
	assert_int_equal(wid_rv(WID_E_NOMEM), CKR_HOST_MEMORY);
	assert_int_equal(wid_rv(WID_E_PROTO), CKR_FUNCTION_FAILED);
	assert_int_equal(wid_rv(WID_E_CRYPTO), CKR_FUNCTION_FAILED);
	assert_int_equal(wid_rv(12345), CKR_FUNCTION_FAILED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_query),
		cmocka_unit_test(test_private_key),
		cmocka_unit_test(test_ec_public),
		cmocka_unit_test(test_ed25519),
		cmocka_unit_test(test_rsa_public),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_sig_size),
		cmocka_unit_test(test_rv),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
