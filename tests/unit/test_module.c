/* tests/unit/test_module.c: wid-pkcs11 through its function list against a
 * fake agent (test_module_agent.h): init rules, slots and tokens, find,
 * sign with every mechanism (signatures verified with OpenSSL), the
 * size-query rule, round-trip counts, agent errors, reconnect and fork,
 * lazy listing (by label), and two threads signing in parallel. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "test_module_agent.h"
#include "module.h"

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR);

static CK_FUNCTION_LIST_PTR f;

enum { K_EC = 1, K_RSA = 2, K_ED = 3, K_ENDED = 4, K_P384 = 5 };

#define H(serial, kind) ((CK_OBJECT_HANDLE)(serial) * 4 + (kind))

static int
group_setup(void **state)
{
	if (C_GetFunctionList(&f) != CKR_OK || fa_start() != 0)
		return -1;
	fa_add("t-ec", WID_KEY_EC_P256, WID_STATE_ACTIVE, K_EC);
	fa_add("t-rsa", WID_KEY_RSA2048, WID_STATE_ACTIVE, K_RSA);
	fa_add("t-ed", WID_KEY_ED25519, WID_STATE_ACTIVE, K_ED);
	fa_add("t-ended", WID_KEY_EC_P256, WID_STATE_ENDED, K_ENDED);
	fa_add("t-p384", WID_KEY_EC_P384, WID_STATE_ACTIVE, K_P384);
	fa.page_size = 2; /* exercise LIST paging */
	setenv("WID_AGENT_SOCK", fa.path, 1);
	unsetenv("WID_TASK");
	return 0;
}

static int
group_teardown(void **state)
{
	fa_stop();
	return 0;
}

static int
init(void **state)
{
	return f->C_Initialize(NULL) == CKR_OK ? 0 : -1;
}

static int
fini(void **state)
{
	f->C_Finalize(NULL);
	return 0;
}

static CK_SESSION_HANDLE
open_session(CK_SLOT_ID slot)
{
	CK_SESSION_HANDLE s = 0;

	assert_int_equal(f->C_OpenSession(slot, CKF_SERIAL_SESSION |
	    CKF_RW_SESSION, NULL, NULL, &s), CKR_OK);
	return s;
}

static CK_ULONG
find(CK_SESSION_HANDLE s, CK_ATTRIBUTE_PTR t, CK_ULONG n,
    CK_OBJECT_HANDLE *out, CK_ULONG max)
{
	CK_ULONG count = 0;

	assert_int_equal(f->C_FindObjectsInit(s, t, n), CKR_OK);
	assert_int_equal(f->C_FindObjects(s, out, max, &count), CKR_OK);
	assert_int_equal(f->C_FindObjectsFinal(s), CKR_OK);
	return count;
}

static void
test_init_rules(void **state)
{
	CK_C_INITIALIZE_ARGS a;
	CK_INFO info;

	assert_int_equal(f->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
	assert_int_equal(f->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
	memset(&a, 0, sizeof(a));
	a.pReserved = &a;
	assert_int_equal(f->C_Initialize(&a), CKR_ARGUMENTS_BAD);
	memset(&a, 0, sizeof(a));
	a.CreateMutex = (CK_CREATEMUTEX)1;
	assert_int_equal(f->C_Initialize(&a), CKR_ARGUMENTS_BAD);
	a.DestroyMutex = (CK_DESTROYMUTEX)1;
	a.LockMutex = (CK_LOCKMUTEX)1;
	a.UnlockMutex = (CK_UNLOCKMUTEX)1;
	assert_int_equal(f->C_Initialize(&a), CKR_CANT_LOCK);
	a.flags = CKF_OS_LOCKING_OK;
	assert_int_equal(f->C_Initialize(&a), CKR_OK);
	assert_int_equal(f->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
	assert_int_equal(f->C_GetInfo(NULL), CKR_ARGUMENTS_BAD);
	assert_int_equal(f->C_GetInfo(&info), CKR_OK);
	assert_int_equal(info.cryptokiVersion.major, 2);
	assert_int_equal(info.cryptokiVersion.minor, 40);
	assert_int_equal(f->C_Finalize(&a), CKR_ARGUMENTS_BAD);
	assert_int_equal(f->C_Finalize(NULL), CKR_OK);
	assert_int_equal(f->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
}

typedef struct {
	CK_CHAR *name;
	CK_VOID_PTR list;
	CK_FLAGS flags;
} iface_t;
CK_RV C_GetInterfaceList(iface_t *, CK_ULONG_PTR);
CK_RV C_GetInterface(CK_UTF8CHAR_PTR, CK_VERSION_PTR, iface_t **, CK_FLAGS);

static void
test_interfaces(void **state)
{
	iface_t list[2], *one = NULL;
	CK_ULONG n = 0;
	CK_VERSION v = { 2, 40 }, bad = { 3, 0 };

	assert_int_equal(C_GetInterfaceList(NULL, &n), CKR_OK);
	assert_int_equal(n, 1);
	n = 2;
	assert_int_equal(C_GetInterfaceList(list, &n), CKR_OK);
	assert_string_equal((char *)list[0].name, "PKCS 11");
	assert_ptr_equal(list[0].list, f);
	assert_int_equal(C_GetInterface((CK_UTF8CHAR_PTR)"PKCS 11", &v, &one, 0),
	    CKR_OK);
	assert_ptr_equal(one->list, f);
	assert_int_equal(C_GetInterface(NULL, NULL, &one, 0), CKR_OK);
	assert_int_not_equal(C_GetInterface((CK_UTF8CHAR_PTR)"PKCS 11", &bad,
	    &one, 0), CKR_OK);
	assert_int_not_equal(C_GetInterface((CK_UTF8CHAR_PTR)"Vendor", NULL,
	    &one, 0), CKR_OK);
}

static void
test_no_agent(void **state)
{
	CK_SLOT_ID slots[4];
	CK_ULONG n = 4;
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	CK_SESSION_HANDLE s;

	setenv("WID_AGENT_SOCK", "/nonexistent/wid/agent.sock", 1);
	assert_int_equal(f->C_Initialize(NULL), CKR_OK);
	assert_int_equal(f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	assert_int_equal(n, 0);
	n = 4;
	assert_int_equal(f->C_GetSlotList(CK_FALSE, slots, &n), CKR_OK);
	assert_int_equal(n, 2);
	assert_int_equal(f->C_GetSlotInfo(slots[0], &si), CKR_OK);
	assert_int_equal(si.flags & CKF_TOKEN_PRESENT, 0);
	assert_int_equal(f->C_GetTokenInfo(slots[0], &ti), CKR_TOKEN_NOT_PRESENT);
	assert_int_equal(f->C_OpenSession(slots[1], CKF_SERIAL_SESSION, NULL,
	    NULL, &s), CKR_TOKEN_NOT_PRESENT);
	assert_int_equal(f->C_Finalize(NULL), CKR_OK);
	setenv("WID_AGENT_SOCK", fa.path, 1);
}

static void
test_slots_tokens(void **state)
{
	CK_SLOT_ID slots[1];
	CK_ULONG n = 1;
	CK_TOKEN_INFO ti;
	CK_SLOT_INFO si;
	CK_MECHANISM_TYPE mechs[32];
	CK_MECHANISM_INFO mi;

	assert_int_equal(f->C_GetSlotList(CK_TRUE, slots, &n),
	    CKR_BUFFER_TOO_SMALL);
	assert_int_equal(n, 2);
	assert_int_equal(f->C_GetSlotInfo(1, &si), CKR_OK);
	assert_true(si.flags & CKF_TOKEN_PRESENT);
	assert_int_equal(f->C_GetSlotInfo(3, &si), CKR_SLOT_ID_INVALID);
	assert_int_equal(f->C_GetTokenInfo(1, &ti), CKR_OK);
	assert_memory_equal(ti.label, "wid                             ", 32);
	assert_memory_equal(ti.model, "wid-agent       ", 16);
	assert_int_equal(ti.flags & (CKF_TOKEN_INITIALIZED | CKF_WRITE_PROTECTED |
	    CKF_LOGIN_REQUIRED), CKF_TOKEN_INITIALIZED | CKF_WRITE_PROTECTED);
	assert_int_equal(f->C_GetTokenInfo(2, &ti), CKR_OK);
	assert_memory_equal(ti.label, "wid-ed25519                     ", 32);
	n = 0;
	assert_int_equal(f->C_GetMechanismList(1, NULL, &n), CKR_OK);
	assert_int_equal(n, 11);
	n = 1;
	assert_int_equal(f->C_GetMechanismList(1, mechs, &n), CKR_BUFFER_TOO_SMALL);
	n = 32;
	assert_int_equal(f->C_GetMechanismList(2, mechs, &n), CKR_OK);
	assert_int_equal(n, 1);
	assert_int_equal(mechs[0], CKM_EDDSA);
	assert_int_equal(f->C_GetMechanismInfo(1, CKM_RSA_PKCS_PSS, &mi), CKR_OK);
	assert_int_equal(mi.ulMinKeySize, 2048);
	assert_true(mi.flags & CKF_SIGN);
	assert_false(mi.flags & CKF_HW);
	assert_int_equal(f->C_GetMechanismInfo(1, CKM_EDDSA, &mi),
	    CKR_MECHANISM_INVALID);
	assert_int_equal(f->C_GetMechanismInfo(2, CKM_EDDSA, &mi), CKR_OK);
}

static void
test_sessions_login(void **state)
{
	CK_SESSION_HANDLE s, s2;
	CK_SESSION_INFO si;

	assert_int_equal(f->C_OpenSession(1, 0, NULL, NULL, &s),
	    CKR_SESSION_PARALLEL_NOT_SUPPORTED);
	s = open_session(1);
	s2 = open_session(1);
	assert_int_not_equal(s, s2);
	assert_int_equal(f->C_GetSessionInfo(s, &si), CKR_OK);
	assert_int_equal(si.state, CKS_RW_PUBLIC_SESSION);
	assert_int_equal(f->C_Logout(s), CKR_USER_NOT_LOGGED_IN);
	assert_int_equal(f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)"x", 1), CKR_OK);
	assert_int_equal(f->C_Login(s2, CKU_USER, NULL, 0),
	    CKR_USER_ALREADY_LOGGED_IN);
	assert_int_equal(f->C_GetSessionInfo(s2, &si), CKR_OK);
	assert_int_equal(si.state, CKS_RW_USER_FUNCTIONS);
	assert_int_equal(f->C_Logout(s), CKR_OK);
	assert_int_equal(f->C_CloseSession(s), CKR_OK);
	assert_int_equal(f->C_CloseSession(s), CKR_SESSION_HANDLE_INVALID);
	assert_int_equal(f->C_CreateObject(s2, NULL, 0, NULL),
	    CKR_TOKEN_WRITE_PROTECTED);
	assert_int_equal(f->C_DestroyObject(s2, H(K_EC, 1)),
	    CKR_TOKEN_WRITE_PROTECTED);
	assert_int_equal(f->C_GenerateKeyPair(s2, NULL, NULL, 0, NULL, 0, NULL,
	    NULL), CKR_FUNCTION_NOT_SUPPORTED);
	assert_int_equal(f->C_CloseAllSessions(1), CKR_OK);
	assert_int_equal(f->C_GetSessionInfo(s2, &si), CKR_SESSION_HANDLE_INVALID);
}

static void
test_find(void **state)
{
	CK_SESSION_HANDLE s1 = open_session(1), s2 = open_session(2);
	CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY, pub = CKO_PUBLIC_KEY;
	CK_KEY_TYPE rsa = CKK_RSA;
	CK_BBOOL yes = CK_TRUE;
	uint8_t id[WID_KEY_ID_LEN];
	CK_ATTRIBUTE t_priv[] = { { CKA_CLASS, &priv, sizeof(priv) } };
	CK_ATTRIBUTE t_id[] = {
		{ CKA_CLASS, &priv, sizeof(priv) },
		{ CKA_ID, id, sizeof(id) },
		{ CKA_SIGN, &yes, sizeof(yes) },
	};
	CK_ATTRIBUTE t_pubrsa[] = {
		{ CKA_CLASS, &pub, sizeof(pub) },
		{ CKA_KEY_TYPE, &rsa, sizeof(rsa) },
	};
	CK_ATTRIBUTE t_label[] = { { CKA_LABEL, "t-ed", 4 } };
	CK_ATTRIBUTE t_mod[] = { { CKA_MODULUS_BITS, NULL, 0 } };
	CK_ATTRIBUTE t_sign_pub[] = {
		{ CKA_CLASS, &pub, sizeof(pub) }, { CKA_SIGN, &yes, 1 },
	};
	CK_OBJECT_HANDLE h[16];
	unsigned nlist;
	CK_ULONG n, i;

	/* Everything in slot 1: EC, RSA, P-384 keys, two objects each; the
	 * ended task is not shown. */
	n = find(s1, NULL, 0, h, 16);
	assert_int_equal(n, 6);
	for (i = 0; i < n; i++)
		assert_int_not_equal(h[i] >> 2, K_ENDED);
	n = find(s1, t_priv, 1, h, 16);
	assert_int_equal(n, 3);
	assert_int_equal(h[0], H(K_EC, 1));
	assert_int_equal(h[1], H(K_RSA, 1));
	assert_int_equal(h[2], H(K_P384, 1));
	memset(id, K_RSA, sizeof(id));
	n = find(s1, t_id, 3, h, 16);
	assert_int_equal(n, 1);
	assert_int_equal(h[0], H(K_RSA, 1));
	n = find(s1, t_pubrsa, 2, h, 16);
	assert_int_equal(n, 1);
	assert_int_equal(h[0], H(K_RSA, 2));
	assert_int_equal(find(s1, t_label, 1, h, 16), 0);
	n = find(s2, t_label, 1, h, 16);
	assert_int_equal(n, 2);
	/* An attribute the object lacks, or a different value: no match. */
	assert_int_equal(find(s2, t_mod, 1, h, 16), 0);
	assert_int_equal(find(s1, t_sign_pub, 2, h, 16), 0);
	/* Paging through C_FindObjects, one at a time, no round trip. */
	assert_int_equal(f->C_FindObjectsInit(s1, t_priv, 1), CKR_OK);
	assert_int_equal(f->C_FindObjectsInit(s1, t_priv, 1), CKR_OPERATION_ACTIVE);
	nlist = fa.nlist;
	for (i = 0; i < 4; i++) {
		assert_int_equal(f->C_FindObjects(s1, h + i, 1, &n), CKR_OK);
		assert_int_equal(n, i < 3 ? 1 : 0);
	}
	assert_int_equal(fa.nlist, nlist);
	assert_int_equal(f->C_FindObjectsFinal(s1), CKR_OK);
	assert_int_equal(f->C_FindObjects(s1, h, 1, &n),
	    CKR_OPERATION_NOT_INITIALIZED);
	/* A slot-2 handle is invalid in a slot-1 session. */
	{
		CK_ATTRIBUTE a = { CKA_CLASS, &priv, sizeof(priv) };

		assert_int_equal(f->C_GetAttributeValue(s1, H(K_ED, 1), &a, 1),
		    CKR_OBJECT_HANDLE_INVALID);
		assert_int_equal(f->C_GetAttributeValue(s2, H(K_ED, 1), &a, 1),
		    CKR_OK);
		assert_int_equal(f->C_GetAttributeValue(s1, H(K_ENDED, 1), &a, 1),
		    CKR_OBJECT_HANDLE_INVALID);
	}
}

static void
test_task_filter(void **state)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE h[8];

	f->C_Finalize(NULL);
	setenv("WID_TASK", "t-rsa", 1);
	assert_int_equal(f->C_Initialize(NULL), CKR_OK);
	s = open_session(1);
	assert_int_equal(find(s, NULL, 0, h, 8), 2);
	assert_int_equal(h[0] >> 2, K_RSA);
	assert_int_equal(h[1] >> 2, K_RSA);
	unsetenv("WID_TASK");
}

/* Verifies a signature made through the module with OpenSSL. */
static int
verify(int serial, const char *md, int pss_salt, const uint8_t *msg,
    size_t msglen, const uint8_t *sig, size_t siglen)
{
	EVP_PKEY *pk = fa.keys[serial - 1].pkey;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	uint8_t der[256];
	size_t derlen = siglen;
	int ok;

	memcpy(der, sig, siglen);
	if (EVP_PKEY_is_a(pk, "EC")) {
		ECDSA_SIG *es = ECDSA_SIG_new();
		unsigned char *p = der;

		ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)siglen / 2, NULL),
		    BN_bin2bn(sig + siglen / 2, (int)siglen / 2, NULL));
		derlen = (size_t)i2d_ECDSA_SIG(es, &p);
		ECDSA_SIG_free(es);
	}
	ok = EVP_DigestVerifyInit_ex(c, &pc, md, NULL, NULL, pk, NULL) == 1;
	if (ok && pss_salt >= 0)
		ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, pss_salt) == 1;
	ok = ok && EVP_DigestVerify(c, der, derlen, msg, msglen) == 1;
	EVP_MD_CTX_free(c);
	return ok;
}

static void
test_sign_ecdsa(void **state)
{
	CK_SESSION_HANDLE s = open_session(1);
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	const uint8_t msg[] = "message to sign";
	uint8_t dg[32], sig[128];
	CK_ULONG len;
	unsigned nsign = fa.nsign;

	f->C_FindObjectsInit(s, NULL, 0); /* load the listing */
	f->C_FindObjectsFinal(s);
	SHA256(msg, sizeof(msg), dg);
	assert_int_equal(f->C_Sign(s, dg, 32, sig, &len),
	    CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(f->C_SignInit(s, &m, H(K_EC, 2)),
	    CKR_KEY_FUNCTION_NOT_PERMITTED);
	assert_int_equal(f->C_SignInit(s, &m, H(99, 1)), CKR_KEY_HANDLE_INVALID);
	assert_int_equal(f->C_SignInit(s, &m, H(K_EC, 1)), CKR_OK);
	assert_int_equal(f->C_SignInit(s, &m, H(K_EC, 1)), CKR_OPERATION_ACTIVE);
	/* Size query, then too small: no round trip, still active. */
	assert_int_equal(f->C_Sign(s, dg, 32, NULL, &len), CKR_OK);
	assert_int_equal(len, 64);
	len = 10;
	assert_int_equal(f->C_Sign(s, dg, 32, sig, &len), CKR_BUFFER_TOO_SMALL);
	assert_int_equal(len, 64);
	assert_int_equal(fa.nsign, nsign);
	len = sizeof(sig);
	assert_int_equal(f->C_Sign(s, dg, 32, sig, &len), CKR_OK);
	assert_int_equal(len, 64);
	assert_int_equal(fa.nsign, nsign + 1);
	assert_int_equal(fa.last.alg, WID_SIG_ECDSA);
	assert_int_equal(fa.last.mechanism, CKM_ECDSA);
	assert_true(verify(K_EC, "SHA256", -1, msg, sizeof(msg), sig, len));
	/* The operation ended. */
	assert_int_equal(f->C_Sign(s, dg, 32, sig, &len),
	    CKR_OPERATION_NOT_INITIALIZED);

	/* Hash-and-sign, multi-part, on P-384. */
	m.mechanism = CKM_ECDSA_SHA384;
	assert_int_equal(f->C_SignInit(s, &m, H(K_P384, 1)), CKR_OK);
	assert_int_equal(f->C_SignUpdate(s, (CK_BYTE_PTR)msg, 5), CKR_OK);
	assert_int_equal(f->C_SignUpdate(s, (CK_BYTE_PTR)msg + 5,
	    sizeof(msg) - 5), CKR_OK);
	assert_int_equal(f->C_SignFinal(s, NULL, &len), CKR_OK);
	assert_int_equal(len, 96);
	assert_int_equal(f->C_SignFinal(s, sig, &len), CKR_OK);
	assert_int_equal(fa.last.data_len, 48);
	assert_true(verify(K_P384, "SHA384", -1, msg, sizeof(msg), sig, len));

	/* Single-part only: C_SignUpdate fails and ends the operation. */
	m.mechanism = CKM_ECDSA;
	assert_int_equal(f->C_SignInit(s, &m, H(K_EC, 1)), CKR_OK);
	assert_int_equal(f->C_SignUpdate(s, dg, 32), CKR_FUNCTION_NOT_SUPPORTED);
	assert_int_equal(f->C_SignFinal(s, sig, &len),
	    CKR_OPERATION_NOT_INITIALIZED);
	/* Mechanism and key type. */
	m.mechanism = CKM_RSA_PKCS;
	assert_int_equal(f->C_SignInit(s, &m, H(K_EC, 1)),
	    CKR_KEY_TYPE_INCONSISTENT);
	m.mechanism = CKM_SHA256;
	assert_int_equal(f->C_SignInit(s, &m, H(K_EC, 1)), CKR_MECHANISM_INVALID);
	m.mechanism = CKM_ECDSA;
	m.pParameter = dg;
	m.ulParameterLen = 4;
	assert_int_equal(f->C_SignInit(s, &m, H(K_EC, 1)),
	    CKR_MECHANISM_PARAM_INVALID);
}

static void
test_sign_rsa(void **state)
{
	CK_SESSION_HANDLE s = open_session(1);
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	CK_RSA_PKCS_PSS_PARAMS pp = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
	const uint8_t msg[] = "rsa message";
	static const uint8_t di256[] = {
		0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
		0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20
	};
	uint8_t dg[19 + 32], sig[512], big[300];
	CK_ULONG len = sizeof(sig);

	f->C_FindObjectsInit(s, NULL, 0);
	f->C_FindObjectsFinal(s);
	assert_int_equal(f->C_SignInit(s, &m, H(K_RSA, 1)), CKR_OK);
	assert_int_equal(f->C_Sign(s, (CK_BYTE_PTR)msg, sizeof(msg), sig, &len),
	    CKR_OK);
	assert_int_equal(len, 256);
	assert_int_equal(fa.last.alg, WID_SIG_RSA_PKCS1);
	assert_int_equal(fa.last.data_len, 19 + 32);
	assert_true(verify(K_RSA, "SHA256", -1, msg, sizeof(msg), sig, len));

	/* Raw PKCS#1 v1.5 with a DigestInfo built by the caller. */
	memcpy(dg, di256, 19);
	SHA256(msg, sizeof(msg), dg + 19);
	m.mechanism = CKM_RSA_PKCS;
	len = sizeof(sig);
	assert_int_equal(f->C_SignInit(s, &m, H(K_RSA, 1)), CKR_OK);
	assert_int_equal(f->C_Sign(s, dg, sizeof(dg), sig, &len), CKR_OK);
	assert_true(verify(K_RSA, "SHA256", -1, msg, sizeof(msg), sig, len));
	memset(big, 1, sizeof(big));
	assert_int_equal(f->C_SignInit(s, &m, H(K_RSA, 1)), CKR_OK);
	assert_int_equal(f->C_Sign(s, big, 246, sig, &len), CKR_DATA_LEN_RANGE);

	/* PSS, raw digest. */
	m.mechanism = CKM_RSA_PKCS_PSS;
	m.pParameter = &pp;
	m.ulParameterLen = sizeof(pp);
	len = sizeof(sig);
	assert_int_equal(f->C_SignInit(s, &m, H(K_RSA, 1)), CKR_OK);
	assert_int_equal(f->C_Sign(s, dg + 19, 32, sig, &len), CKR_OK);
	assert_int_equal(fa.last.alg, WID_SIG_RSA_PSS);
	assert_int_equal(fa.last.hash, WID_HASH_SHA256);
	assert_int_equal(fa.last.salt, 32);
	assert_true(verify(K_RSA, "SHA256", 32, msg, sizeof(msg), sig, len));
	assert_int_equal(f->C_SignInit(s, &m, H(K_RSA, 1)), CKR_OK);
	assert_int_equal(f->C_Sign(s, dg + 19, 31, sig, &len), CKR_DATA_LEN_RANGE);

	/* PSS hash-and-sign, multi-part. */
	m.mechanism = CKM_SHA256_RSA_PKCS_PSS;
	len = sizeof(sig);
	assert_int_equal(f->C_SignInit(s, &m, H(K_RSA, 1)), CKR_OK);
	assert_int_equal(f->C_SignUpdate(s, (CK_BYTE_PTR)msg, sizeof(msg)), CKR_OK);
	assert_int_equal(f->C_SignFinal(s, sig, &len), CKR_OK);
	assert_true(verify(K_RSA, "SHA256", 32, msg, sizeof(msg), sig, len));

	/* Bad PSS parameters. */
	pp.mgf = CKG_MGF1_SHA384;
	assert_int_equal(f->C_SignInit(s, &m, H(K_RSA, 1)),
	    CKR_MECHANISM_PARAM_INVALID);
	pp.mgf = CKG_MGF1_SHA256;
	pp.hashAlg = CKM_SHA384;
	assert_int_equal(f->C_SignInit(s, &m, H(K_RSA, 1)),
	    CKR_MECHANISM_PARAM_INVALID);
	pp.hashAlg = CKM_SHA256;
	pp.sLen = 256;
	assert_int_equal(f->C_SignInit(s, &m, H(K_RSA, 1)),
	    CKR_MECHANISM_PARAM_INVALID);
	m.pParameter = NULL;
	m.ulParameterLen = 0;
	assert_int_equal(f->C_SignInit(s, &m, H(K_RSA, 1)),
	    CKR_MECHANISM_PARAM_INVALID);
}

static void
test_sign_eddsa(void **state)
{
	CK_SESSION_HANDLE s = open_session(2);
	CK_MECHANISM m = { CKM_EDDSA, NULL, 0 };
	const uint8_t msg[] = "ed25519 message";
	uint8_t sig[64];
	CK_ULONG len = sizeof(sig);

	f->C_FindObjectsInit(s, NULL, 0);
	f->C_FindObjectsFinal(s);
	assert_int_equal(f->C_SignInit(s, &m, H(K_EC, 1)), CKR_KEY_HANDLE_INVALID);
	assert_int_equal(f->C_SignInit(s, &m, H(K_ED, 1)), CKR_OK);
	assert_int_equal(f->C_Sign(s, (CK_BYTE_PTR)msg, sizeof(msg), sig, &len),
	    CKR_OK);
	assert_int_equal(len, 64);
	assert_int_equal(fa.last.alg, WID_SIG_EDDSA);
	assert_true(verify(K_ED, NULL, -1, msg, sizeof(msg), sig, len));
	/* A flipped message does not verify: the check can fail. */
	assert_false(verify(K_ED, NULL, -1, msg, sizeof(msg) - 1, sig, len));
}

static void
test_agent_errors(void **state)
{
	CK_SESSION_HANDLE s = open_session(1);
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	uint8_t dg[32] = { 0 }, sig[64];
	CK_ULONG len = sizeof(sig);
	CK_TOKEN_INFO ti;
	unsigned nconn;
	int i;

	f->C_FindObjectsInit(s, NULL, 0);
	f->C_FindObjectsFinal(s);
	fa.fail_next = WID_E_DENIED;
	assert_int_equal(f->C_SignInit(s, &m, H(K_EC, 1)), CKR_OK);
	assert_int_equal(f->C_Sign(s, dg, 32, sig, &len), CKR_FUNCTION_REJECTED);
	fa.fail_next = WID_E_EXPIRED;
	assert_int_equal(f->C_SignInit(s, &m, H(K_EC, 1)), CKR_OK);
	assert_int_equal(f->C_Sign(s, dg, 32, sig, &len), CKR_KEY_HANDLE_INVALID);
	/* The agent goes away mid-call: device removed, then reconnect. */
	nconn = fa_nconn();
	fa.drop_next = 1;
	assert_int_equal(f->C_SignInit(s, &m, H(K_EC, 1)), CKR_OK);
	assert_int_equal(f->C_Sign(s, dg, 32, sig, &len), CKR_DEVICE_REMOVED);
	assert_int_equal(f->C_GetTokenInfo(1, &ti), CKR_OK);
	/* The fake agent counts in its accept thread, after connect(2) has
	 * already returned here: wait for it (at most 2 s). */
	for (i = 0; i < 200 && fa_nconn() < nconn + 1; i++)
		usleep(10000);
	assert_int_equal(fa_nconn(), nconn + 1);
	assert_int_equal(f->C_SignInit(s, &m, H(K_EC, 1)), CKR_OK);
	assert_int_equal(f->C_Sign(s, dg, 32, sig, &len), CKR_OK);
}

/* C_Initialize lists nothing; a search by label asks the agent for that
 * task only; a search without one lists everything. */
static void
test_lazy_listing(void **state)
{
	CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t_label[] = {
		{ CKA_CLASS, &priv, sizeof(priv) },
		{ CKA_LABEL, "t-rsa", 5 },
	};
	CK_ATTRIBUTE t_bad[] = { { CKA_LABEL, "no/such", 7 } };
	CK_OBJECT_HANDLE h[8];
	CK_SESSION_HANDLE s;
	unsigned nlist;

	f->C_Finalize(NULL);
	nlist = fa.nlist;
	assert_int_equal(f->C_Initialize(NULL), CKR_OK);
	s = open_session(1);
	assert_int_equal(fa.nlist, nlist);
	assert_int_equal(find(s, t_label, 2, h, 8), 1);
	assert_int_equal(h[0], H(K_RSA, 1));
	assert_string_equal(fa.last_list_task, "t-rsa");
	/* One round trip (one page) for one task. */
	assert_int_equal(fa.nlist, nlist + 1);
	/* The key found by label can sign. */
	{
		CK_MECHANISM m = { CKM_RSA_PKCS, NULL, 0 };
		uint8_t sig[256];
		CK_ULONG len = sizeof(sig);

		assert_int_equal(f->C_SignInit(s, &m, h[0]), CKR_OK);
		assert_int_equal(f->C_Sign(s, (CK_BYTE_PTR)"x", 1, sig, &len),
		    CKR_OK);
	}
	/* By the CKA_ID of a listed key (as ssh finds the private key):
	 * that key's task only. */
	{
		CK_OBJECT_CLASS pub = CKO_PUBLIC_KEY;
		uint8_t id[WID_KEY_ID_LEN];
		CK_ATTRIBUTE t_id[] = {
			{ CKA_CLASS, &pub, sizeof(pub) },
			{ CKA_ID, id, sizeof(id) },
		};

		memcpy(id, fa.keys[K_RSA - 1].task.key_id, sizeof(id));
		fa.last_list_task[0] = '\0';
		assert_int_equal(find(s, t_id, 2, h, 8), 1);
		assert_int_equal(h[0], H(K_RSA, 2));
		assert_string_equal(fa.last_list_task, "t-rsa");
	}
	/* A label no task can have: no round trip. */
	nlist = fa.nlist;
	assert_int_equal(find(s, t_bad, 1, h, 8), 0);
	assert_int_equal(fa.nlist, nlist);
	/* No label: the whole listing. */
	assert_int_equal(find(s, NULL, 0, h, 8), 6);
	assert_string_equal(fa.last_list_task, "");
}

struct par_arg {
	CK_SESSION_HANDLE s;
	uint8_t sig[64];
	CK_ULONG len;
	CK_RV rv;
};

static void *
par_sign(void *arg)
{
	struct par_arg *a = arg;
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	uint8_t dg[32];

	SHA256((const uint8_t *)"parallel", 8, dg);
	a->len = sizeof(a->sig);
	if ((a->rv = f->C_SignInit(a->s, &m, H(K_EC, 1))) == CKR_OK)
		a->rv = f->C_Sign(a->s, dg, 32, a->sig, &a->len);
	return NULL;
}

/* Two threads, two sessions: the fake agent holds each SIGN until both
 * have arrived, which happens only if the module does not serialize the
 * round trips. */
static void
test_parallel_sign(void **state)
{
	struct par_arg a[2];
	pthread_t t[2];
	int i;

	memset(a, 0, sizeof(a));
	a[0].s = open_session(1);
	a[1].s = open_session(1);
	f->C_FindObjectsInit(a[0].s, NULL, 0); /* load the listing */
	f->C_FindObjectsFinal(a[0].s);
	fa.rv_arrived = fa.rv_met = 0;
	fa.rv_target = 2;
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, par_sign, &a[i]), 0);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	fa.rv_target = 0;
	assert_int_equal(fa.rv_met, 2);
	for (i = 0; i < 2; i++) {
		assert_int_equal(a[i].rv, CKR_OK);
		assert_true(verify(K_EC, "SHA256", -1,
		    (const uint8_t *)"parallel", 8, a[i].sig, a[i].len));
	}
}

static void
test_fork(void **state)
{
	CK_INFO info;
	pid_t pid;
	int st = -1;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		CK_SESSION_HANDLE s;
		CK_OBJECT_HANDLE h[8];
		CK_ULONG n = 0;
		int code = 0;

		if (f->C_GetInfo(&info) != CKR_CRYPTOKI_NOT_INITIALIZED)
			code |= 1;
		if (f->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &s) !=
		    CKR_CRYPTOKI_NOT_INITIALIZED)
			code |= 2;
		if (f->C_Initialize(NULL) != CKR_OK)
			code |= 4;
		if (f->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK ||
		    f->C_FindObjectsInit(s, NULL, 0) != CKR_OK ||
		    f->C_FindObjects(s, h, 8, &n) != CKR_OK || n != 6)
			code |= 8;
		f->C_Finalize(NULL);
		_exit(code);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(f->C_GetInfo(&info), CKR_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rules),
		cmocka_unit_test(test_interfaces),
		cmocka_unit_test(test_no_agent),
		cmocka_unit_test_setup_teardown(test_slots_tokens, init, fini),
		cmocka_unit_test_setup_teardown(test_sessions_login, init, fini),
		cmocka_unit_test_setup_teardown(test_find, init, fini),
		cmocka_unit_test_setup_teardown(test_task_filter, init, fini),
		cmocka_unit_test_setup_teardown(test_sign_ecdsa, init, fini),
		cmocka_unit_test_setup_teardown(test_sign_rsa, init, fini),
		cmocka_unit_test_setup_teardown(test_sign_eddsa, init, fini),
		cmocka_unit_test_setup_teardown(test_agent_errors, init, fini),
		cmocka_unit_test_setup_teardown(test_lazy_listing, init, fini),
		cmocka_unit_test_setup_teardown(test_parallel_sign, init, fini),
		cmocka_unit_test_setup_teardown(test_fork, init, fini),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
