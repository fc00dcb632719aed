/* tests/bench/wid-bench.c: the signing benchmark behind `make bench`.
 *
 * One program, four modes:
 *   hot      dlopen any PKCS#11 module, one session per thread, sign in a
 *            loop for --seconds, --repeat times; throughput, latency
 *            percentiles and fairness (slowest thread / fastest).
 *   --cold   one cold sign as a fresh ssh or git process pays it: dlopen,
 *            C_Initialize, find, C_SignInit+C_Sign, C_Finalize, timed from
 *            before dlopen.  run-bench.sh spawns it many times.
 *   --openssl the floor: raw OpenSSL EVP in this process, keys created
 *            up front, one pre-initialized context per thread.
 *   --esys TCTI  raw tpm2-tss ESYS signing with a transient key: the
 *            floor for any TPM signer (one thread, one TCTI connection).
 *   --esys-policy TCTI  wid's TPM backend called in this process (no
 *            agent, socket or module): per signature Load, policy session
 *            (PolicyCounterTimer x2, PolicyNV, PolicyCommandCode), Sign,
 *            Flush; the floor for a key with wid's policy.
 *   --start-tasks N  starts N tasks through the agent protocol (one
 *            connection) and reports the agent's TASK_START latency.
 *
 * Every module mode first reads the public key from the token and checks
 * one signature with OpenSSL; a bad signature makes the run fail (exit 2).
 * Output: a human table on stdout and machine-readable lines that begin
 * with "BENCH " (key=value, space separated), which run-bench.sh parses.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <p11-kit/pkcs11.h>

#ifdef WID_HAVE_TPM
#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include <openssl/x509.h>

#include "backend.h"    /* wid_backend_tpm, for --esys-policy */
#endif

#include "wid/client.h"
#include "wid/err.h"
#include "wid/proto.h"
#include "wid/pubkey.h"

#define MAX_THREADS 64
#define ATTR_MAX 1024

enum mech { MECH_ECDSA, MECH_EDDSA, MECH_RSA };
static const char *const mech_names[] = { "ecdsa", "eddsa", "rsa" };

struct opts {
	const char *module;
	const char *label;      /* name printed in output */
	const char *token;      /* token label; NULL: first token with a key */
	const char *pin;
	const char *object;     /* private key label; NULL: first of its type */
	enum mech mech;
	int threads;
	double seconds;
	int repeat;
	int cold;
	int openssl;
	int flip;               /* corrupt the checked signature (self-test) */
	long start_tasks;
	const char *socket;
	const char *key_type;
	const char *prefix;
	const char *esys_tcti;  /* raw ESYS signing on this TPM */
	const char *esys_policy_tcti; /* wid's backend in process */
};

/* What one signature needs: the input and the verifying key. */
struct job {
	enum mech mech;
	uint8_t data[64];
	size_t data_len;
	EVP_PKEY *pub;
};

/* The public half as read from the token, turned into an EVP_PKEY later
 * so that cold timing does not include OpenSSL decoding. */
struct keyinfo {
	CK_OBJECT_HANDLE priv;
	CK_BYTE a[ATTR_MAX];    /* EC params, or modulus */
	CK_ULONG a_len;
	CK_BYTE b[ATTR_MAX];    /* EC point, or public exponent */
	CK_ULONG b_len;
};

struct module {
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	CK_SLOT_ID slot;
};

static atomic_int stop_flag;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
ossl_fail(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	ERR_error_string_n(e, buf, sizeof(buf));
	fprintf(stderr, "wid-bench: %s: %s\n", what, e ? buf : "failed");
}

static CK_KEY_TYPE
mech_key_type(enum mech m)
{
	return m == MECH_ECDSA ? CKK_EC : m == MECH_EDDSA ? CKK_EC_EDWARDS :
	    CKK_RSA;
}

static CK_MECHANISM_TYPE
mech_type(enum mech m)
{
	return m == MECH_ECDSA ? CKM_ECDSA : m == MECH_EDDSA ? CKM_EDDSA :
	    CKM_RSA_PKCS;
}

/* A fixed input: a SHA-256 digest (ECDSA), a 32-byte message (EdDSA) or
 * a SHA-256 DigestInfo (RSA PKCS#1 v1.5), as ssh and git send them. */
static void
job_init(struct job *j, enum mech m)
{
	static const uint8_t sha256_prefix[19] = {
		0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
		0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20
	};
	uint8_t dgst[32];
	unsigned int n = sizeof(dgst);

	memset(j, 0, sizeof(*j));
	j->mech = m;
	EVP_Digest("wid-bench", 9, dgst, &n, EVP_sha256(), NULL);
	if (m == MECH_RSA) {
		memcpy(j->data, sha256_prefix, sizeof(sha256_prefix));
		memcpy(j->data + sizeof(sha256_prefix), dgst, sizeof(dgst));
		j->data_len = sizeof(sha256_prefix) + sizeof(dgst);
	} else {
		memcpy(j->data, dgst, sizeof(dgst));
		j->data_len = sizeof(dgst);
	}
}

/* ---- OpenSSL: public key from token attributes, verification ---- */

/* CKA_EC_POINT is a DER OCTET STRING by the spec; some tokens give the
 * raw point.  Returns the unwrapped bytes when the DER parse consumes
 * everything, else the input. */
static const uint8_t *
ec_point_raw(const uint8_t *p, size_t n, size_t *ret_n)
{
	const unsigned char *q = p;
	ASN1_OCTET_STRING *os;
	static uint8_t out[ATTR_MAX];
	const uint8_t *r = p;

	*ret_n = n;
	if ((os = d2i_ASN1_OCTET_STRING(NULL, &q, (long)n)) != NULL) {
		if (q == p + n && (size_t)ASN1_STRING_length(os) <= sizeof(out)) {
			memcpy(out, ASN1_STRING_get0_data(os),
			    (size_t)ASN1_STRING_length(os));
			*ret_n = (size_t)ASN1_STRING_length(os);
			r = out;
		}
		ASN1_OCTET_STRING_free(os);
	}
	return r;
}

/* Curve NID from CKA_EC_PARAMS: an OID, or (old SoftHSM/OpenSC style for
 * Edwards curves) a PrintableString with the curve name. */
static int
ec_params_nid(const uint8_t *p, size_t n)
{
	const unsigned char *q = p;
	ASN1_OBJECT *obj;
	char txt[64];
	int nid = NID_undef;

	if (n > 2 && p[0] == 0x13 && p[1] == n - 2) {
		if (n - 2 == 12 && memcmp(p + 2, "edwards25519", 12) == 0)
			return NID_ED25519;
		return NID_undef;
	}
	if ((obj = d2i_ASN1_OBJECT(NULL, &q, (long)n)) == NULL)
		return NID_undef;
	nid = OBJ_obj2nid(obj);
	if (nid == NID_undef && OBJ_obj2txt(txt, sizeof(txt), obj, 1) > 0 &&
	    strcmp(txt, "1.3.6.1.4.1.11591.15.1") == 0)
		nid = NID_ED25519;      /* GnuPG's id for Ed25519 */
	ASN1_OBJECT_free(obj);
	return nid;
}

static EVP_PKEY *
pkey_from_info(enum mech m, const struct keyinfo *ki)
{
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	BIGNUM *n = NULL, *e = NULL;
	const uint8_t *pt;
	size_t pt_len;
	int nid;

	if (m == MECH_RSA) {
		n = BN_bin2bn(ki->a, (int)ki->a_len, NULL);
		e = BN_bin2bn(ki->b, (int)ki->b_len, NULL);
		if (n == NULL || e == NULL || (bld = OSSL_PARAM_BLD_new()) == NULL ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
		    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
		    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
		    EVP_PKEY_fromdata_init(ctx) <= 0 ||
		    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
			ossl_fail("RSA public key from token");
		goto out;
	}
	nid = ec_params_nid(ki->a, ki->a_len);
	pt = ec_point_raw(ki->b, ki->b_len, &pt_len);
	if (m == MECH_EDDSA) {
		if (nid != NID_ED25519) {
			fprintf(stderr, "wid-bench: CKA_EC_PARAMS is not Ed25519\n");
			goto out;
		}
		if (pt_len != 32)
			pt = ki->b, pt_len = ki->b_len;
		if ((pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
		    pt, pt_len)) == NULL)
			ossl_fail("Ed25519 public key from token");
		goto out;
	}
	if (nid == NID_undef || OBJ_nid2sn(nid) == NULL) {
		fprintf(stderr, "wid-bench: unknown curve in CKA_EC_PARAMS\n");
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    OBJ_nid2sn(nid), 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pt, pt_len) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		ossl_fail("EC public key from token");
 out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return pkey;
}

/* 1 when `sig` is a valid signature of j->data under j->pub.  `raw_ecdsa`:
 * the ECDSA signature is r||s (PKCS#11), else DER (OpenSSL). */
static int
verify_sig(const struct job *j, const uint8_t *sig, size_t sig_len,
    int raw_ecdsa)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_MD_CTX *mctx = NULL;
	unsigned char *der = NULL;
	int der_len, ok = 0;

	if (j->mech == MECH_EDDSA) {
		ok = (mctx = EVP_MD_CTX_new()) != NULL &&
		    EVP_DigestVerifyInit(mctx, NULL, NULL, NULL, j->pub) > 0 &&
		    EVP_DigestVerify(mctx, sig, sig_len, j->data,
		    j->data_len) == 1;
		goto out;
	}
	if (j->mech == MECH_ECDSA && raw_ecdsa) {
		if (sig_len == 0 || sig_len % 2 != 0 ||
		    (der_len = wid_ecdsa_sig_der(sig, sig_len / 2,
		    sig + sig_len / 2, sig_len / 2, &der)) <= 0)
			goto out;
		sig = der;
		sig_len = (size_t)der_len;
	}
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, j->pub, NULL)) == NULL ||
	    EVP_PKEY_verify_init(ctx) <= 0)
		goto out;
	if (j->mech == MECH_RSA &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0)
		goto out;
	ok = EVP_PKEY_verify(ctx, sig, sig_len, j->data, j->data_len) == 1;
 out:
	if (!ok)
		ERR_clear_error();
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_CTX_free(ctx);
	OPENSSL_free(der);
	return ok;
}

/* Every mode checks its first signature before timing anything: --flip
 * corrupts it first (the run must then fail).  0, or 2 on a bad
 * signature; prints the verify line either way. */
static int
check_first(const struct opts *o, const struct job *j, uint8_t *sig,
    size_t sig_len, int raw_ecdsa)
{
	int ok;

	if (o->flip)
		sig[sig_len / 2] ^= 0x01;
	ok = verify_sig(j, sig, sig_len, raw_ecdsa);
	if (!ok)
		fprintf(stderr, "wid-bench: %s %s: BAD SIGNATURE\n", o->label,
		    mech_names[o->mech]);
	printf("BENCH module=%s mode=verify mech=%s ok=%d\n", o->label,
	    mech_names[o->mech], ok);
	return ok ? 0 : 2;
}

/* ---- PKCS#11 ---- */

static int
mod_load(struct module *m, const char *path)
{
	CK_C_GetFunctionList gfl;

	memset(m, 0, sizeof(*m));
	if ((m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "wid-bench: dlopen %s: %s\n", path, dlerror());
		return -1;
	}
	gfl = (CK_C_GetFunctionList)dlsym(m->dl, "C_GetFunctionList");
	if (gfl == NULL || gfl(&m->f) != CKR_OK || m->f == NULL) {
		fprintf(stderr, "wid-bench: %s: no C_GetFunctionList\n", path);
		return -1;
	}
	return 0;
}

static int
mod_init(struct module *m)
{
	CK_C_INITIALIZE_ARGS args;
	CK_RV rv;

	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;  /* as OpenSSH passes it */
	if ((rv = m->f->C_Initialize(&args)) != CKR_OK) {
		fprintf(stderr, "wid-bench: C_Initialize: 0x%lx\n", rv);
		return -1;
	}
	return 0;
}

/* Picks the first slot whose token label is `token` (or any token). */
static int
mod_find_slot(struct module *m, const char *token)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64, i;
	CK_TOKEN_INFO ti;
	size_t tl;
	CK_RV rv;

	if ((rv = m->f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK) {
		fprintf(stderr, "wid-bench: C_GetSlotList: 0x%lx\n", rv);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (token == NULL) {
			m->slot = slots[i];
			return 0;
		}
		if (m->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		tl = strlen(token);
		if (tl > sizeof(ti.label) ||
		    memcmp(ti.label, token, tl) != 0)
			continue;
		for (; tl < sizeof(ti.label) && ti.label[tl] == ' '; tl++)
			;
		if (tl == sizeof(ti.label)) {
			m->slot = slots[i];
			return 0;
		}
	}
	fprintf(stderr, "wid-bench: no token %s\n", token ? token : "(any)");
	return -1;
}

static int
open_session(const struct module *m, const char *pin, CK_SESSION_HANDLE *ret)
{
	CK_RV rv;

	if ((rv = m->f->C_OpenSession(m->slot, CKF_SERIAL_SESSION, NULL, NULL,
	    ret)) != CKR_OK) {
		fprintf(stderr, "wid-bench: C_OpenSession: 0x%lx\n", rv);
		return -1;
	}
	if (pin == NULL)
		return 0;
	rv = m->f->C_Login(*ret, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		fprintf(stderr, "wid-bench: C_Login: 0x%lx\n", rv);
		return -1;
	}
	return 0;
}

static int
find_one(const struct module *m, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl,
    CK_ULONG n, CK_OBJECT_HANDLE *ret)
{
	CK_ULONG count = 0;
	CK_RV rv;

	if ((rv = m->f->C_FindObjectsInit(s, tmpl, n)) != CKR_OK) {
		fprintf(stderr, "wid-bench: C_FindObjectsInit: 0x%lx\n", rv);
		return -1;
	}
	rv = m->f->C_FindObjects(s, ret, 1, &count);
	m->f->C_FindObjectsFinal(s);
	if (rv != CKR_OK || count != 1)
		return -1;
	return 0;
}

/* Finds the private key (by label and type) and its public key (same
 * CKA_ID; by label when the key has no ID), and reads the public key's
 * attributes, as ssh does before it signs. */
static int
find_key(const struct module *m, CK_SESSION_HANDLE s, enum mech mech,
    const char *label, struct keyinfo *ki)
{
	CK_OBJECT_CLASS cpriv = CKO_PRIVATE_KEY, cpub = CKO_PUBLIC_KEY;
	CK_KEY_TYPE kt = mech_key_type(mech);
	CK_BYTE id[256];
	CK_ATTRIBUTE t[3] = {
		{ CKA_CLASS, &cpriv, sizeof(cpriv) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_LABEL, (void *)label, label ? strlen(label) : 0 },
	};
	CK_ATTRIBUTE ida = { CKA_ID, id, sizeof(id) };
	CK_ATTRIBUTE pa[2];
	CK_OBJECT_HANDLE pub;
	CK_RV rv;

	memset(ki, 0, sizeof(*ki));
	if (find_one(m, s, t, label ? 3 : 2, &ki->priv) != 0) {
		fprintf(stderr, "wid-bench: no %s private key%s%s\n",
		    mech_names[mech], label ? " labelled " : "",
		    label ? label : "");
		return -1;
	}
	if (m->f->C_GetAttributeValue(s, ki->priv, &ida, 1) != CKR_OK ||
	    ida.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		ida.ulValueLen = 0;
	t[0].pValue = &cpub;
	if (ida.ulValueLen > 0) {
		t[2] = ida;
		rv = find_one(m, s, t, 3, &pub);
	} else
		rv = find_one(m, s, t, label ? 3 : 2, &pub);
	if (rv != 0) {
		fprintf(stderr, "wid-bench: no public key beside the private key\n");
		return -1;
	}
	pa[0].type = mech == MECH_RSA ? CKA_MODULUS : CKA_EC_PARAMS;
	pa[0].pValue = ki->a;
	pa[0].ulValueLen = sizeof(ki->a);
	pa[1].type = mech == MECH_RSA ? CKA_PUBLIC_EXPONENT : CKA_EC_POINT;
	pa[1].pValue = ki->b;
	pa[1].ulValueLen = sizeof(ki->b);
	if ((rv = m->f->C_GetAttributeValue(s, pub, pa, 2)) != CKR_OK) {
		fprintf(stderr, "wid-bench: public key attributes: 0x%lx\n", rv);
		return -1;
	}
	ki->a_len = pa[0].ulValueLen;
	ki->b_len = pa[1].ulValueLen;
	return 0;
}

static CK_RV
p11_sign(const struct module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key,
    const struct job *j, uint8_t *sig, CK_ULONG *sig_len)
{
	CK_MECHANISM mech = { mech_type(j->mech), NULL, 0 };
	CK_RV rv;

	if ((rv = m->f->C_SignInit(s, &mech, key)) != CKR_OK)
		return rv;
	return m->f->C_Sign(s, (CK_BYTE_PTR)j->data, j->data_len, sig, sig_len);
}

/* ---- hot loop, shared by the module and the OpenSSL floor ---- */

struct worker {
	pthread_t th;
	const struct module *m;
	const struct job *j;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key;
	EVP_PKEY *priv;                 /* OpenSSL floor */
	EVP_PKEY_CTX *pctx;
	EVP_MD_CTX *mctx;
	int (*sign)(struct worker *, uint8_t *, size_t *);
	void *esys;                     /* raw ESYS state */
	pthread_barrier_t *bar;
	uint32_t *lat;                  /* ns per signature */
	size_t n, cap;
	uint64_t t_start, t_end;
	int failed;
};

static int
lat_push(struct worker *w, uint64_t ns)
{
	uint32_t *p;

	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 65536;

		if ((p = realloc(w->lat, cap * sizeof(*p))) == NULL)
			return -1;
		w->lat = p;
		w->cap = cap;
	}
	w->lat[w->n++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
	return 0;
}

static int
ossl_sign_one(struct worker *w, uint8_t *sig, size_t *sig_len)
{
	if (w->j->mech == MECH_EDDSA)
		return EVP_DigestSign(w->mctx, sig, sig_len, w->j->data,
		    w->j->data_len) == 1 ? 0 : -1;
	return EVP_PKEY_sign(w->pctx, sig, sig_len, w->j->data,
	    w->j->data_len) == 1 ? 0 : -1;
}

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	uint8_t sig[WID_SIG_MAX];
	uint64_t t0, t1;

	pthread_barrier_wait(w->bar);
	w->t_start = now_ns();
	while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		CK_ULONG l = sizeof(sig);
		size_t sl = sizeof(sig);
		int bad;

		t0 = now_ns();
		if (w->m != NULL)
			bad = p11_sign(w->m, w->s, w->key, w->j, sig, &l) != CKR_OK;
		else
			bad = w->sign(w, sig, &sl) != 0;
		t1 = now_ns();
		if (bad || lat_push(w, t1 - t0) != 0) {
			w->failed = 1;
			break;
		}
	}
	w->t_end = now_ns();
	return NULL;
}

struct result {
	double ops_per_s, p50_us, p99_us, max_us, fairness;
};

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Runs the workers for `seconds` and summarizes. */
static int
run_round(struct worker *w, int nt, double seconds, struct result *res)
{
	pthread_barrier_t bar;
	struct timespec ts;
	uint64_t start = UINT64_MAX, end = 0;
	size_t total = 0, minc = SIZE_MAX, maxc = 0, k = 0;
	uint32_t *all = NULL;
	int i, rc = -1, started = 0;

	memset(res, 0, sizeof(*res));
	atomic_store(&stop_flag, 0);
	pthread_barrier_init(&bar, NULL, (unsigned)nt + 1);
	for (i = 0; i < nt; i++) {
		w[i].bar = &bar;
		w[i].n = 0;
		w[i].failed = 0;
		if (pthread_create(&w[i].th, NULL, worker_run, &w[i]) != 0) {
			fprintf(stderr, "wid-bench: pthread_create failed\n");
			exit(1);   /* the barrier would never open */
		}
		started++;
	}
	pthread_barrier_wait(&bar);
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	atomic_store(&stop_flag, 1);
	for (i = 0; i < started; i++)
		pthread_join(w[i].th, NULL);
	pthread_barrier_destroy(&bar);
	for (i = 0; i < nt; i++) {
		if (w[i].failed) {
			fprintf(stderr, "wid-bench: a signature failed in thread %d\n", i);
			goto out;
		}
		total += w[i].n;
		minc = w[i].n < minc ? w[i].n : minc;
		maxc = w[i].n > maxc ? w[i].n : maxc;
		start = w[i].t_start < start ? w[i].t_start : start;
		end = w[i].t_end > end ? w[i].t_end : end;
	}
	if (total == 0 || (all = malloc(total * sizeof(*all))) == NULL)
		goto out;
	for (i = 0; i < nt; i++) {
		memcpy(all + k, w[i].lat, w[i].n * sizeof(*all));
		k += w[i].n;
	}
	qsort(all, total, sizeof(*all), cmp_u32);
	res->ops_per_s = (double)total / ((double)(end - start) / 1e9);
	res->p50_us = all[total / 2] / 1e3;
	res->p99_us = all[(total * 99) / 100] / 1e3;
	res->max_us = all[total - 1] / 1e3;
	res->fairness = maxc ? (double)minc / (double)maxc : 0;
	rc = 0;
 out:
	free(all);
	return rc;
}

static void
print_header(const struct opts *o)
{
	printf("\n%-12s %-6s %3s  %-6s %10s %9s %9s %9s %8s\n", "module",
	    "mech", "thr", "rep", "ops/s", "p50 us", "p99 us", "max us",
	    "fairness");
	(void)o;
}

static void
print_result(const struct opts *o, const char *rep, const struct result *r)
{
	printf("%-12s %-6s %3d  %-6s %10.0f %9.1f %9.1f %9.1f %8.3f\n",
	    o->label, mech_names[o->mech], o->threads, rep, r->ops_per_s,
	    r->p50_us, r->p99_us, r->max_us, r->fairness);
	printf("BENCH module=%s mode=hot mech=%s threads=%d rep=%s "
	    "ops_per_s=%.0f p50_us=%.1f p99_us=%.1f max_us=%.1f "
	    "fairness=%.3f\n", o->label, mech_names[o->mech], o->threads, rep,
	    r->ops_per_s, r->p50_us, r->p99_us, r->max_us, r->fairness);
}

/* Repeats rounds and prints each and the medians. */
static int
run_rounds(const struct opts *o, struct worker *w)
{
	struct result *rs;
	double *v;
	struct result med;
	char rep[16];
	int i, rc = -1;

	rs = calloc((size_t)o->repeat, sizeof(*rs));
	v = calloc((size_t)o->repeat, sizeof(*v));
	if (rs == NULL || v == NULL)
		goto out;
	print_header(o);
	for (i = 0; i < o->repeat; i++) {
		if (run_round(w, o->threads, o->seconds, &rs[i]) != 0)
			goto out;
		snprintf(rep, sizeof(rep), "%d", i + 1);
		print_result(o, rep, &rs[i]);
	}
#define MEDIAN_OF(field) do {					\
		for (i = 0; i < o->repeat; i++)				\
			v[i] = rs[i].field;				\
		med.field = median(v, o->repeat);			\
	} while (0)
	MEDIAN_OF(ops_per_s);
	MEDIAN_OF(p50_us);
	MEDIAN_OF(p99_us);
	MEDIAN_OF(max_us);
	MEDIAN_OF(fairness);
#undef MEDIAN_OF
	print_result(o, "median", &med);
	fflush(stdout);
	rc = 0;
 out:
	free(rs);
	free(v);
	return rc;
}

/* ---- modes ---- */

static int
bench_module(const struct opts *o)
{
	struct module m;
	struct keyinfo ki;
	struct job j;
	struct worker w[MAX_THREADS];
	CK_SESSION_HANDLE s0;
	uint8_t sig[WID_SIG_MAX];
	CK_ULONG sl = sizeof(sig);
	CK_RV rv;
	int i, rc = 1;

	memset(w, 0, sizeof(w));
	job_init(&j, o->mech);
	if (mod_load(&m, o->module) != 0 || mod_init(&m) != 0 ||
	    mod_find_slot(&m, o->token) != 0 ||
	    open_session(&m, o->pin, &s0) != 0 ||
	    find_key(&m, s0, o->mech, o->object, &ki) != 0)
		return 1;
	if ((j.pub = pkey_from_info(o->mech, &ki)) == NULL)
		goto out;
	if ((rv = p11_sign(&m, s0, ki.priv, &j, sig, &sl)) != CKR_OK) {
		fprintf(stderr, "wid-bench: %s: C_Sign: 0x%lx\n", o->label, rv);
		goto out;
	}
	if ((rc = check_first(o, &j, sig, sl, 1)) != 0)
		goto out;
	rc = 1;
	for (i = 0; i < o->threads; i++) {
		w[i].m = &m;
		w[i].j = &j;
		w[i].key = ki.priv;
		if (open_session(&m, NULL, &w[i].s) != 0)
			goto out;
	}
	if (run_rounds(o, w) != 0)
		goto out;
	rc = 0;
 out:
	for (i = 0; i < o->threads; i++)
		free(w[i].lat);
	m.f->C_Finalize(NULL);
	EVP_PKEY_free(j.pub);
	return rc;
}

static EVP_PKEY *
ossl_keygen(enum mech m)
{
	if (m == MECH_ECDSA)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (m == MECH_EDDSA)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
}

static int
bench_openssl(const struct opts *o)
{
	struct worker w[MAX_THREADS];
	struct job j;
	EVP_PKEY *priv;
	uint8_t sig[WID_SIG_MAX];
	size_t sl = sizeof(sig);
	int i, rc = 1;

	memset(w, 0, sizeof(w));
	job_init(&j, o->mech);
	if ((priv = ossl_keygen(o->mech)) == NULL) {
		ossl_fail("keygen");
		return 1;
	}
	j.pub = priv;
	for (i = 0; i < o->threads; i++) {
		w[i].j = &j;
		w[i].sign = ossl_sign_one;
		if (o->mech == MECH_EDDSA) {
			if ((w[i].mctx = EVP_MD_CTX_new()) == NULL ||
			    EVP_DigestSignInit_ex(w[i].mctx, NULL, NULL, NULL,
			    NULL, priv, NULL) != 1)
				goto fail;
		} else if ((w[i].pctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv,
		    NULL)) == NULL || EVP_PKEY_sign_init(w[i].pctx) != 1 ||
		    (o->mech == MECH_RSA &&
		    EVP_PKEY_CTX_set_rsa_padding(w[i].pctx,
		    RSA_PKCS1_PADDING) != 1))
			goto fail;
	}
	/* The floor is checked like the modules: sign twice with one
	 * context (the loop reuses it) and verify the second signature. */
	if (ossl_sign_one(&w[0], sig, &sl) != 0 ||
	    (sl = sizeof(sig), ossl_sign_one(&w[0], sig, &sl)) != 0) {
		ossl_fail("sign");
		goto out;
	}
	if ((rc = check_first(o, &j, sig, sl, 0)) != 0)
		goto out;
	rc = 1;
	if (run_rounds(o, w) != 0)
		goto out;
	rc = 0;
	goto out;
 fail:
	ossl_fail("signing context");
 out:
	for (i = 0; i < o->threads; i++) {
		EVP_PKEY_CTX_free(w[i].pctx);
		EVP_MD_CTX_free(w[i].mctx);
		free(w[i].lat);
	}
	EVP_PKEY_free(priv);
	return rc;
}

/* One cold sign, timed from before dlopen to after C_Finalize. */
static int
bench_cold(const struct opts *o)
{
	struct module m;
	struct keyinfo ki;
	struct job j;
	CK_SESSION_HANDLE s;
	uint8_t sig[WID_SIG_MAX];
	CK_ULONG sl = sizeof(sig);
	uint64_t t0, t_load, t_init, t_find, t_sign, t_fin;
	CK_RV rv;
	int ok;

	job_init(&j, o->mech);
	t0 = now_ns();
	if (mod_load(&m, o->module) != 0)
		return 1;
	t_load = now_ns();
	if (mod_init(&m) != 0)
		return 1;
	t_init = now_ns();
	if (mod_find_slot(&m, o->token) != 0 ||
	    open_session(&m, o->pin, &s) != 0 ||
	    find_key(&m, s, o->mech, o->object, &ki) != 0)
		return 1;
	t_find = now_ns();
	rv = p11_sign(&m, s, ki.priv, &j, sig, &sl);
	t_sign = now_ns();
	m.f->C_Finalize(NULL);
	t_fin = now_ns();
	if (rv != CKR_OK) {
		fprintf(stderr, "wid-bench: %s: C_Sign: 0x%lx\n", o->label, rv);
		return 1;
	}
	if ((j.pub = pkey_from_info(o->mech, &ki)) == NULL)
		return 1;
	if (o->flip)
		sig[sl / 2] ^= 0x01;
	ok = verify_sig(&j, sig, sl, 1);
	EVP_PKEY_free(j.pub);
	if (!ok) {
		fprintf(stderr, "wid-bench: %s %s cold: BAD SIGNATURE\n",
		    o->label, mech_names[o->mech]);
		return 2;
	}
	printf("BENCH module=%s mode=cold mech=%s load_us=%.1f init_us=%.1f "
	    "find_us=%.1f sign_us=%.1f final_us=%.1f total_us=%.1f\n",
	    o->label, mech_names[o->mech], (t_load - t0) / 1e3,
	    (t_init - t_load) / 1e3, (t_find - t_init) / 1e3,
	    (t_sign - t_find) / 1e3, (t_fin - t_sign) / 1e3,
	    (t_fin - t0) / 1e3);
	return 0;
}

/* Starts N tasks named PREFIX-i over one connection; reports the agent's
 * round-trip time per TASK_START. */
static int
bench_start_tasks(const struct opts *o)
{
	struct wid_conn *c;
	struct wid_start_req req;
	char path[WID_PATH_MAX], reason[WID_REASON_MAX + 1];
	uint32_t *lat = NULL;
	uint16_t status;
	uint64_t t0;
	long i;
	int kt, rc = 1;

	kt = wid_key_type_parse(o->key_type ? o->key_type : "ec-p256");
	if (kt == WID_KEY_NONE || o->prefix == NULL ||
	    wid_sock_path(o->socket, path) != 0) {
		fprintf(stderr, "wid-bench: --start-tasks needs --key-type, "
		    "--prefix and a socket\n");
		return 1;
	}
	if ((c = malloc(sizeof(*c))) == NULL ||
	    (lat = calloc((size_t)o->start_tasks, sizeof(*lat))) == NULL)
		goto out;
	wid_conn_init(c);
	if (wid_conn_open(c, path) != 0) {
		fprintf(stderr, "wid-bench: no agent at %s\n", path);
		goto out;
	}
	for (i = 0; i < o->start_tasks; i++) {
		memset(&req, 0, sizeof(req));
		if (snprintf(req.id, sizeof(req.id), "%s-%ld", o->prefix, i) >=
		    (int)sizeof(req.id))
			goto out;
		req.key_type = (uint8_t)kt;
		req.ttl = 3600;
		req.executor_uid = WID_UID_NONE;
		snprintf(req.requested_by, sizeof(req.requested_by), "wid-bench");
		snprintf(req.intent, sizeof(req.intent), "benchmark");
		t0 = now_ns();
		wid_start_req_encode(wid_conn_req(c, WID_OP_TASK_START), &req);
		if (wid_conn_call(c, &status) != 0) {
			fprintf(stderr, "wid-bench: agent connection failed\n");
			goto out;
		}
		lat[i] = (uint32_t)((now_ns() - t0) / 1000);
		if (status != WID_OK) {
			if (wid_reason_decode(&c->buf, reason, sizeof(reason)) != 0)
				reason[0] = '\0';
			fprintf(stderr, "wid-bench: task start %s: %s: %s\n",
			    req.id, wid_strerror(status), reason);
			goto out;
		}
	}
	qsort(lat, (size_t)o->start_tasks, sizeof(*lat), cmp_u32);
	printf("BENCH module=%s mode=start key=%s n=%ld p50_us=%u p99_us=%u "
	    "max_us=%u\n", o->label, o->key_type ? o->key_type : "ec-p256",
	    o->start_tasks, lat[o->start_tasks / 2],
	    lat[(o->start_tasks * 99) / 100], lat[o->start_tasks - 1]);
	rc = 0;
 out:
	if (c != NULL) {
		wid_conn_close(c);
		free(c);
	}
	free(lat);
	return rc;
}

#ifdef WID_HAVE_TPM
/* ---- raw ESYS: the TPM floor, what any TPM signer pays at least ---- */

struct esys {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *ctx;
	ESYS_TR key;
};

static void
esys_free(struct esys *e)
{
	if (e->ctx != NULL) {
		if (e->key != ESYS_TR_NONE)
			Esys_FlushContext(e->ctx, e->key);
		Esys_Finalize(&e->ctx);
	}
	Tss2_TctiLdr_Finalize(&e->tcti);
}

/* A transient signing key (no auth value, no policy) under a transient
 * ECC primary; its public part goes to `ki` for the OpenSSL check. */
static int
esys_setup(struct esys *e, const char *tcti, enum mech m, struct keyinfo *ki)
{
	static const uint8_t p256_oid[] = {
		0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07
	};
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_PUBLIC prim = { 0 }, tmpl = { 0 };
	TPM2B_PUBLIC *out_pub = NULL;
	TPM2B_PRIVATE *out_priv = NULL;
	ESYS_TR primary = ESYS_TR_NONE;
	TSS2_RC rc;
	int r = -1;

	memset(e, 0, sizeof(*e));
	e->key = ESYS_TR_NONE;
	memset(ki, 0, sizeof(*ki));
	if ((rc = Tss2_TctiLdr_Initialize(tcti, &e->tcti)) != TSS2_RC_SUCCESS ||
	    (rc = Esys_Initialize(&e->ctx, e->tcti, NULL)) != TSS2_RC_SUCCESS)
		goto out;
	prim.publicArea.type = TPM2_ALG_ECC;
	prim.publicArea.nameAlg = TPM2_ALG_SHA256;
	prim.publicArea.objectAttributes = TPMA_OBJECT_RESTRICTED |
	    TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
	    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH;
	prim.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
	prim.publicArea.parameters.eccDetail.symmetric.keyBits.aes = 128;
	prim.publicArea.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	prim.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	prim.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	prim.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	if ((rc = Esys_CreatePrimary(e->ctx, ESYS_TR_RH_OWNER,
	    ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &prim,
	    &outside, &pcrs, &primary, NULL, NULL, NULL, NULL)) !=
	    TSS2_RC_SUCCESS)
		goto out;
	tmpl.publicArea.nameAlg = TPM2_ALG_SHA256;
	tmpl.publicArea.objectAttributes = TPMA_OBJECT_SIGN_ENCRYPT |
	    TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
	    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH;
	if (m == MECH_ECDSA) {
		TPMS_ECC_PARMS *ep = &tmpl.publicArea.parameters.eccDetail;

		tmpl.publicArea.type = TPM2_ALG_ECC;
		ep->symmetric.algorithm = TPM2_ALG_NULL;
		ep->scheme.scheme = TPM2_ALG_ECDSA;
		ep->scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
		ep->curveID = TPM2_ECC_NIST_P256;
		ep->kdf.scheme = TPM2_ALG_NULL;
	} else {
		TPMS_RSA_PARMS *rp = &tmpl.publicArea.parameters.rsaDetail;

		tmpl.publicArea.type = TPM2_ALG_RSA;
		rp->symmetric.algorithm = TPM2_ALG_NULL;
		rp->scheme.scheme = TPM2_ALG_RSASSA;
		rp->scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
		rp->keyBits = 2048;
	}
	if ((rc = Esys_Create(e->ctx, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs, &out_priv, &out_pub,
	    NULL, NULL, NULL)) != TSS2_RC_SUCCESS ||
	    (rc = Esys_Load(e->ctx, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, out_priv, out_pub, &e->key)) != TSS2_RC_SUCCESS)
		goto out;
	if (m == MECH_ECDSA) {
		const TPMS_ECC_POINT *pt = &out_pub->publicArea.unique.ecc;

		memcpy(ki->a, p256_oid, sizeof(p256_oid));
		ki->a_len = sizeof(p256_oid);
		ki->b[0] = 0x04;
		memcpy(ki->b + 1, pt->x.buffer, pt->x.size);
		memcpy(ki->b + 1 + pt->x.size, pt->y.buffer, pt->y.size);
		ki->b_len = 1u + pt->x.size + pt->y.size;
	} else {
		const TPM2B_PUBLIC_KEY_RSA *n = &out_pub->publicArea.unique.rsa;

		memcpy(ki->a, n->buffer, n->size);
		ki->a_len = n->size;
		ki->b[0] = 0x01; ki->b[1] = 0x00; ki->b[2] = 0x01;
		ki->b_len = 3;
	}
	r = 0;
 out:
	if (rc != TSS2_RC_SUCCESS)
		fprintf(stderr, "wid-bench: esys: %s\n", Tss2_RC_Decode(rc));
	if (primary != ESYS_TR_NONE)
		Esys_FlushContext(e->ctx, primary);
	Esys_Free(out_pub);
	Esys_Free(out_priv);
	if (r != 0)
		esys_free(e);
	return r;
}

/* Signs the SHA-256 digest in the job (for RSA: the digest inside the
 * DigestInfo); the result is r||s or the PKCS#1 v1.5 signature. */
static int
esys_sign_one(struct worker *w, uint8_t *sig, size_t *sig_len)
{
	struct esys *e = w->esys;
	TPM2B_DIGEST d = { .size = 32 };
	TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_NULL };
	TPMT_TK_HASHCHECK tk = { .tag = TPM2_ST_HASHCHECK,
	    .hierarchy = TPM2_RH_NULL };
	TPMT_SIGNATURE *s = NULL;
	int r = -1;

	memcpy(d.buffer, w->j->data + w->j->data_len - 32, 32);
	if (Esys_Sign(e->ctx, e->key, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, &d, &scheme, &tk, &s) != TSS2_RC_SUCCESS)
		return -1;
	if (s->sigAlg == TPM2_ALG_ECDSA) {
		const TPM2B_ECC_PARAMETER *sr = &s->signature.ecdsa.signatureR;
		const TPM2B_ECC_PARAMETER *ss = &s->signature.ecdsa.signatureS;

		if (sr->size > 32 || ss->size > 32 || *sig_len < 64)
			goto out;
		memset(sig, 0, 64);
		memcpy(sig + 32 - sr->size, sr->buffer, sr->size);
		memcpy(sig + 64 - ss->size, ss->buffer, ss->size);
		*sig_len = 64;
	} else {
		const TPM2B_PUBLIC_KEY_RSA *rs = &s->signature.rsassa.sig;

		if (rs->size > *sig_len)
			goto out;
		memcpy(sig, rs->buffer, rs->size);
		*sig_len = rs->size;
	}
	r = 0;
 out:
	Esys_Free(s);
	return r;
}

/* ---- wid's TPM backend in process: raw ESYS with wid's policy ---- */

struct esys_policy {
	void *st;
	void *key;
};

static int
esys_policy_sign_one(struct worker *w, uint8_t *sig, size_t *sig_len)
{
	struct esys_policy *e = w->esys;
	struct wid_sign_req req;

	memset(&req, 0, sizeof(req));
	req.alg = w->j->mech == MECH_RSA ? WID_SIG_RSA_PKCS1 : WID_SIG_ECDSA;
	req.data = w->j->data;
	req.data_len = (uint16_t)w->j->data_len;
	return wid_backend_tpm.sign(e->st, e->key, &req, sig, sig_len) ==
	    WID_OK ? 0 : -1;
}

static int
bench_esys_policy(const struct opts *o)
{
	struct worker w[1];
	struct esys_policy e = { NULL, NULL };
	struct job j;
	struct opts o1 = *o;
	uint8_t sig[WID_SIG_MAX], spki[WID_SPKI_MAX];
	const unsigned char *p = spki;
	size_t sl = sizeof(sig), spki_len = 0;
	int rc = 1;

	if (o->mech == MECH_EDDSA) {
		fprintf(stderr, "wid-bench: TPM 2.0 has no Ed25519\n");
		return 1;
	}
	o1.threads = 1;
	memset(w, 0, sizeof(w));
	job_init(&j, o->mech);
	setenv("TSS2_LOG", "all+none", 0);
	if (wid_backend_tpm.open(o->esys_policy_tcti, &e.st) != WID_OK ||
	    wid_backend_tpm.keygen(e.st, o->mech == MECH_RSA ?
	    WID_KEY_RSA2048 : WID_KEY_EC_P256, 3600, &e.key) != WID_OK ||
	    wid_backend_tpm.spki(e.st, e.key, spki, &spki_len) != WID_OK ||
	    (j.pub = d2i_PUBKEY(NULL, &p, (long)spki_len)) == NULL) {
		fprintf(stderr, "wid-bench: esys-policy: backend set-up "
		    "failed\n");
		goto out;
	}
	w[0].j = &j;
	w[0].esys = &e;
	w[0].sign = esys_policy_sign_one;
	if (esys_policy_sign_one(&w[0], sig, &sl) != 0) {
		fprintf(stderr, "wid-bench: esys-policy: sign failed\n");
		goto out;
	}
	if ((rc = check_first(o, &j, sig, sl, 1)) == 0)
		rc = run_rounds(&o1, w) == 0 ? 0 : 1;
 out:
	free(w[0].lat);
	EVP_PKEY_free(j.pub);
	if (e.key != NULL)
		wid_backend_tpm.destroy(e.st, e.key);
	if (e.st != NULL)
		wid_backend_tpm.close(e.st);
	return rc;
}

/* One ESYS context on one TCTI connection: a bare swtpm serves one
 * client, so this floor is measured with one thread. */
static int
bench_esys(const struct opts *o)
{
	struct worker w[1];
	struct esys e;
	struct keyinfo ki;
	struct job j;
	struct opts o1 = *o;
	uint8_t sig[WID_SIG_MAX];
	size_t sl = sizeof(sig);
	int rc = 1;

	if (o->mech == MECH_EDDSA) {
		fprintf(stderr, "wid-bench: TPM 2.0 has no Ed25519\n");
		return 1;
	}
	o1.threads = 1;
	memset(w, 0, sizeof(w));
	job_init(&j, o->mech);
	if (esys_setup(&e, o->esys_tcti, o->mech, &ki) != 0)
		return 1;
	if ((j.pub = pkey_from_info(o->mech, &ki)) == NULL)
		goto out;
	w[0].j = &j;
	w[0].esys = &e;
	w[0].sign = esys_sign_one;
	if (esys_sign_one(&w[0], sig, &sl) != 0) {
		fprintf(stderr, "wid-bench: esys: Esys_Sign failed\n");
		goto out;
	}
	if ((rc = check_first(o, &j, sig, sl, 1)) == 0)
		rc = run_rounds(&o1, w) == 0 ? 0 : 1;
 out:
	free(w[0].lat);
	EVP_PKEY_free(j.pub);
	esys_free(&e);
	return rc;
}
#endif

static void
usage(void)
{
	fprintf(stderr,
	    "usage: wid-bench --module PATH [--label NAME] [--token LABEL] "
	    "[--pin PIN]\n"
	    "           [--mech ecdsa|eddsa|rsa] [--threads N] [--seconds S] "
	    "[--repeat R]\n"
	    "           [--object LABEL] [--cold] [--flip]\n"
	    "       wid-bench --openssl [--mech M] [--threads N] [--seconds S] "
	    "[--repeat R]\n"
	    "       wid-bench --esys TCTI [--mech ecdsa|rsa] [--seconds S] "
	    "[--repeat R]\n"
	    "       wid-bench --esys-policy TCTI [--mech ecdsa|rsa] "
	    "[--seconds S] [--repeat R]\n"
	    "       wid-bench --start-tasks N --prefix ID [--key-type ec-p256] "
	    "[--socket PATH]\n"
	    "The PIN may also come from $WID_BENCH_PIN (kept out of argv).\n"
	    "--flip corrupts the checked signature: the run must then fail.\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "module", required_argument, NULL, 'm' },
		{ "label", required_argument, NULL, 'l' },
		{ "token", required_argument, NULL, 't' },
		{ "pin", required_argument, NULL, 'p' },
		{ "mech", required_argument, NULL, 'M' },
		{ "threads", required_argument, NULL, 'T' },
		{ "seconds", required_argument, NULL, 's' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "object", required_argument, NULL, 'o' },
		{ "cold", no_argument, NULL, 'c' },
		{ "openssl", no_argument, NULL, 'O' },
		{ "start-tasks", required_argument, NULL, 'S' },
		{ "socket", required_argument, NULL, 'k' },
		{ "key-type", required_argument, NULL, 'K' },
		{ "prefix", required_argument, NULL, 'P' },
		{ "flip", no_argument, NULL, 'F' },
		{ "esys", required_argument, NULL, 'E' },
		{ "esys-policy", required_argument, NULL, 'Y' },
		{ NULL, 0, NULL, 0 }
	};
	struct opts o;
	char *end;
	int ch;

	memset(&o, 0, sizeof(o));
	o.threads = 1;
	o.seconds = 2;
	o.repeat = 3;
	o.pin = getenv("WID_BENCH_PIN");
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'm': o.module = optarg; break;
		case 'l': o.label = optarg; break;
		case 't': o.token = optarg; break;
		case 'p': o.pin = optarg; break;
		case 'o': o.object = optarg; break;
		case 'c': o.cold = 1; break;
		case 'O': o.openssl = 1; break;
		case 'k': o.socket = optarg; break;
		case 'K': o.key_type = optarg; break;
		case 'P': o.prefix = optarg; break;
		case 'F': o.flip = 1; break;
		case 'E': o.esys_tcti = optarg; break;
		case 'Y': o.esys_policy_tcti = optarg; break;
		case 'M':
			if (strcmp(optarg, "ecdsa") == 0)
				o.mech = MECH_ECDSA;
			else if (strcmp(optarg, "eddsa") == 0)
				o.mech = MECH_EDDSA;
			else if (strcmp(optarg, "rsa") == 0)
				o.mech = MECH_RSA;
			else
				usage();
			break;
		case 'T':
			o.threads = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || o.threads < 1 ||
			    o.threads > MAX_THREADS)
				usage();
			break;
		case 's':
			o.seconds = strtod(optarg, &end);
			if (*end != '\0' || !(o.seconds > 0 && o.seconds <= 3600))
				usage();
			break;
		case 'r':
			o.repeat = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || o.repeat < 1 || o.repeat > 1000)
				usage();
			break;
		case 'S':
			o.start_tasks = strtol(optarg, &end, 10);
			if (*end != '\0' || o.start_tasks < 1 ||
			    o.start_tasks > 1000000)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (o.label == NULL)
		o.label = o.openssl ? "openssl" : o.start_tasks ? "wid" : "module";
	if (o.start_tasks)
		return bench_start_tasks(&o);
	if (o.openssl)
		return bench_openssl(&o);
	if (o.esys_policy_tcti != NULL) {
#ifdef WID_HAVE_TPM
		return bench_esys_policy(&o);
#else
		fprintf(stderr, "wid-bench: built without tpm2-tss\n");
		return 1;
#endif
	}
	if (o.esys_tcti != NULL) {
#ifdef WID_HAVE_TPM
		return bench_esys(&o);
#else
		fprintf(stderr, "wid-bench: built without tpm2-tss\n");
		return 1;
#endif
	}
	if (o.module == NULL)
		usage();
	return o.cold ? bench_cold(&o) : bench_module(&o);
}
