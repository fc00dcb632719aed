/* tests/tpm/test_tpm_backend.c: the TPM backend (tools/agent/tpm.c) on
 * swtpm.  Run by tpm_backend.sh, which starts swtpm and passes
 * WID_TPM_TCTI, WID_SWTPM_SH and WID_SWTPM_DIR.  Every signature is
 * verified with OpenSSL against the key's SPKI; the TPM's own refusals
 * (revocation bit, clock deadline, TPM reset) are checked by their
 * response code.  Also measures sign latency. */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <tss2/tss2_tpm2_types.h>

#include "wid/err.h"
#include "wid/proto.h"
#include "backend.h"
#include "tpm.h"

static const struct wid_backend_ops *ops = &wid_backend_tpm;
static void *st;
static int failures;

#define CHECK(c) do { \
	if (!(c)) { \
		fprintf(stderr, "%s:%d: FAIL: %s\n", __FILE__, __LINE__, #c); \
		failures++; \
		return; \
	} \
} while (0)

#define CHECK_ERR(got, want) do { \
	int got_ = (got), want_ = (want); \
	if (got_ != want_) { \
		fprintf(stderr, "%s:%d: FAIL: %s: got %d (%s), want %d (%s)\n", \
		    __FILE__, __LINE__, #got, got_, wid_strerror(got_), want_, \
		    wid_strerror(want_)); \
		failures++; \
		return; \
	} \
} while (0)

static uint32_t
rc_base(uint32_t rc)
{
	if (rc & TPM2_RC_FMT1)
		return rc & (TPM2_RC_FMT1 | 0x3fu);
	return rc & 0xfffu;
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static EVP_PKEY *
pubkey(void *key)
{
	uint8_t spki[WID_SPKI_MAX];
	const unsigned char *p = spki;
	size_t len = 0;

	if (ops->spki(st, key, spki, &len) != WID_OK || len == 0)
		return NULL;
	return d2i_PUBKEY(NULL, &p, (long)len);
}

static int
sign(void *key, int alg, int hash, uint32_t salt, const uint8_t *data,
     size_t len, uint8_t *sig, size_t *ret_len)
{
	struct wid_sign_req req = {
		.serial = 1, .alg = alg, .hash = hash, .salt = salt,
		.data_len = (uint16_t)len, .data = data,
	};

	return ops->sign(st, key, &req, sig, ret_len);
}

/* r||s -> DER, then EVP_PKEY_verify over the digest. */
static int
verify_ecdsa(EVP_PKEY *pk, const uint8_t *dgst, size_t dlen,
             const uint8_t *sig, size_t slen)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
	BIGNUM *r = BN_bin2bn(sig, (int)slen / 2, NULL);
	BIGNUM *s = BN_bin2bn(sig + slen / 2, (int)slen / 2, NULL);
	unsigned char *der = NULL;
	int derlen, ok = 0;

	if (es == NULL || ctx == NULL || r == NULL || s == NULL ||
	    !ECDSA_SIG_set0(es, r, s))
		goto out;
	r = s = NULL;
	if ((derlen = i2d_ECDSA_SIG(es, &der)) <= 0)
		goto out;
	ok = EVP_PKEY_verify_init(ctx) == 1 &&
	    EVP_PKEY_verify(ctx, der, derlen, dgst, dlen) == 1;
 out:
	OPENSSL_free(der);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

static int
verify_rsa(EVP_PKEY *pk, int pss, const EVP_MD *md, const uint8_t *tbs,
           size_t tlen, const uint8_t *sig, size_t slen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
	int ok = 0;

	if (ctx == NULL || EVP_PKEY_verify_init(ctx) != 1)
		goto out;
	if (pss) {
		if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(ctx, md) != 1 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx,
		    RSA_PSS_SALTLEN_DIGEST) != 1)
			goto out;
	} else if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1)
		goto out;
	ok = EVP_PKEY_verify(ctx, sig, slen, tbs, tlen) == 1;
 out:
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

static void
test_ec(int type, size_t fsize)
{
	uint8_t d[64], sig[WID_SIG_MAX];
	size_t slen = 0, lens[] = { 20, 32, 48, 64 }, i;
	void *k = NULL;
	EVP_PKEY *pk;

	CHECK_ERR(ops->keygen(st, type, 300, &k), WID_OK);
	CHECK((pk = pubkey(k)) != NULL);
	CHECK(EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC);
	CHECK(EVP_PKEY_get_bits(pk) == (int)fsize * 8);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		RAND_bytes(d, sizeof(d));
		CHECK_ERR(sign(k, WID_SIG_ECDSA, WID_HASH_NONE, 0, d, lens[i],
		    sig, &slen), WID_OK);
		CHECK(slen == 2 * fsize);
		CHECK(verify_ecdsa(pk, d, lens[i], sig, slen));
		d[0] ^= 1;      /* the check can fail */
		CHECK(!verify_ecdsa(pk, d, lens[i], sig, slen));
	}
	CHECK_ERR(sign(k, WID_SIG_ECDSA, WID_HASH_NONE, 0, d, 33, sig, &slen),
	    WID_E_MECH);
	CHECK_ERR(sign(k, WID_SIG_EDDSA, WID_HASH_NONE, 0, d, 32, sig, &slen),
	    WID_E_MECH);
	CHECK_ERR(sign(k, WID_SIG_RSA_PKCS1, WID_HASH_NONE, 0, d, 32, sig,
	    &slen), WID_E_MECH);
	EVP_PKEY_free(pk);
	ops->destroy(st, k);
	printf("ok - ec %zu-bit: ECDSA with 20/32/48/64-byte digests verified\n",
	    fsize * 8);
}

static void
test_rsa(int type, int bits)
{
	static const uint8_t di256[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09,
	    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
	    0x04, 0x20 };
	uint8_t tbs[sizeof(di256) + 32], sig[WID_SIG_MAX];
	uint8_t *d = tbs + sizeof(di256);
	size_t slen = 0;
	void *k = NULL;
	EVP_PKEY *pk;
	double t0 = now_us();

	CHECK_ERR(ops->keygen(st, type, 300, &k), WID_OK);
	printf("# rsa-%d keygen: %.0f ms\n", bits, (now_us() - t0) / 1e3);
	CHECK((pk = pubkey(k)) != NULL);
	CHECK(EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA);
	CHECK(EVP_PKEY_get_bits(pk) == bits);
	memcpy(tbs, di256, sizeof(di256));
	RAND_bytes(d, 32);

	/* PKCS#1 v1.5 over a DigestInfo */
	CHECK_ERR(sign(k, WID_SIG_RSA_PKCS1, WID_HASH_NONE, 0, tbs,
	    sizeof(tbs), sig, &slen), WID_OK);
	CHECK(slen == (size_t)bits / 8);
	CHECK(verify_rsa(pk, 0, NULL, tbs, sizeof(tbs), sig, slen));
	sig[5] ^= 1;
	CHECK(!verify_rsa(pk, 0, NULL, tbs, sizeof(tbs), sig, slen));
	/* raw data (no DigestInfo) and a truncated one: the TPM cannot */
	CHECK_ERR(sign(k, WID_SIG_RSA_PKCS1, WID_HASH_NONE, 0, d, 32, sig,
	    &slen), WID_E_MECH);
	CHECK_ERR(sign(k, WID_SIG_RSA_PKCS1, WID_HASH_NONE, 0, tbs,
	    sizeof(tbs) - 1, sig, &slen), WID_E_MECH);

	/* PSS, salt = hash length */
	CHECK_ERR(sign(k, WID_SIG_RSA_PSS, WID_HASH_SHA256, 32, d, 32, sig,
	    &slen), WID_OK);
	CHECK(slen == (size_t)bits / 8);
	CHECK(verify_rsa(pk, 1, EVP_sha256(), d, 32, sig, slen));
	d[0] ^= 1;
	CHECK(!verify_rsa(pk, 1, EVP_sha256(), d, 32, sig, slen));
	CHECK_ERR(sign(k, WID_SIG_RSA_PSS, WID_HASH_SHA256, 20, d, 32, sig,
	    &slen), WID_E_MECH);
	CHECK_ERR(sign(k, WID_SIG_RSA_PSS, WID_HASH_SHA256, 32, d, 31, sig,
	    &slen), WID_E_MECH);
	CHECK_ERR(sign(k, WID_SIG_RSA_PSS, WID_HASH_SHA224, 28, d, 28, sig,
	    &slen), WID_E_MECH);
	CHECK_ERR(sign(k, WID_SIG_ECDSA, WID_HASH_NONE, 0, d, 32, sig, &slen),
	    WID_E_MECH);
	EVP_PKEY_free(pk);
	ops->destroy(st, k);
	printf("ok - rsa-%d: PKCS#1 v1.5 and PSS verified\n", bits);
}

static void
test_ed25519(void)
{
	void *k = (void *)1;

	CHECK_ERR(ops->keygen(st, WID_KEY_ED25519, 300, &k), WID_E_UNSUPPORTED);
	CHECK(k == NULL);
	CHECK_ERR(ops->keygen(st, WID_KEY_NONE, 300, &k), WID_E_BADARG);
	CHECK_ERR(ops->keygen(st, WID_KEY_EC_P256, 0, &k), WID_E_BADARG);
	printf("ok - ed25519 refused\n");
}

static void
test_revoke(void)
{
	uint8_t d[32], sig[WID_SIG_MAX];
	size_t slen;
	void *k = NULL;

	RAND_bytes(d, sizeof(d));
	CHECK_ERR(ops->keygen(st, WID_KEY_EC_P256, 300, &k), WID_OK);
	CHECK_ERR(sign(k, WID_SIG_ECDSA, 0, 0, d, 32, sig, &slen), WID_OK);
	CHECK(wid_tpm_last_rc(st) == 0);
	CHECK_ERR(wid_tpm_revoke(st, k), WID_OK);
	CHECK_ERR(sign(k, WID_SIG_ECDSA, 0, 0, d, 32, sig, &slen), WID_E_ENDED);
	CHECK(rc_base(wid_tpm_last_rc(st)) == TPM2_RC_POLICY);
	ops->destroy(st, k);
	printf("ok - revoked key refused by the TPM (rc 0x%x)\n",
	    wid_tpm_last_rc(st));
}

static void
test_deadline(void)
{
	uint8_t d[32], sig[WID_SIG_MAX];
	size_t slen;
	void *k = NULL;

	RAND_bytes(d, sizeof(d));
	CHECK_ERR(ops->keygen(st, WID_KEY_EC_P256, 2, &k), WID_OK);
	CHECK_ERR(sign(k, WID_SIG_ECDSA, 0, 0, d, 32, sig, &slen), WID_OK);
	sleep(3);
	CHECK_ERR(sign(k, WID_SIG_ECDSA, 0, 0, d, 32, sig, &slen),
	    WID_E_EXPIRED);
	CHECK(rc_base(wid_tpm_last_rc(st)) == TPM2_RC_POLICY);
	ops->destroy(st, k);
	printf("ok - key past its TPM clock deadline refused (rc 0x%x)\n",
	    wid_tpm_last_rc(st));
}

#define NKEYS 10
#define NTHREADS 4
#define PER_THREAD 50

static void *keys[NKEYS];
static EVP_PKEY *pks[NKEYS];

struct worker {
	int id;
	int errors;
	int bad_sigs;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	uint8_t d[32], sig[WID_SIG_MAX];
	size_t slen;
	int i, j, r;

	for (i = 0; i < PER_THREAD; i++) {
		j = (w->id + i) % NKEYS;
		RAND_bytes(d, sizeof(d));
		r = sign(keys[j], WID_SIG_ECDSA, 0, 0, d, 32, sig, &slen);
		if (r != WID_OK) {
			fprintf(stderr, "thread %d key %d: %s\n", w->id, j,
			    wid_strerror(r));
			w->errors++;
		} else if (!verify_ecdsa(pks[j], d, 32, sig, slen))
			w->bad_sigs++;
	}
	return NULL;
}

static void
test_threads(void)
{
	pthread_t th[NTHREADS];
	struct worker w[NTHREADS];
	int i, errors = 0, bad = 0;

	for (i = 0; i < NKEYS; i++) {
		CHECK_ERR(ops->keygen(st, WID_KEY_EC_P256, 300, &keys[i]), WID_OK);
		CHECK((pks[i] = pubkey(keys[i])) != NULL);
	}
	for (i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .id = i };
		CHECK(pthread_create(&th[i], NULL, worker_run, &w[i]) == 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		errors += w[i].errors;
		bad += w[i].bad_sigs;
	}
	for (i = 0; i < NKEYS; i++) {
		EVP_PKEY_free(pks[i]);
		ops->destroy(st, keys[i]);
	}
	CHECK(errors == 0);
	CHECK(bad == 0);
	printf("ok - %d keys, %d threads, %d signatures, no TPM error\n",
	    NKEYS, NTHREADS, NTHREADS * PER_THREAD);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

#define NBENCH 200

static void
bench(const char *name, int type, int alg, const uint8_t *data, size_t len)
{
	static double t[NBENCH];
	uint8_t sig[WID_SIG_MAX];
	size_t slen;
	double t0, total = 0;
	void *k = NULL;
	int i;

	CHECK_ERR(ops->keygen(st, type, 300, &k), WID_OK);
	for (i = 0; i < NBENCH; i++) {
		t0 = now_us();
		CHECK_ERR(sign(k, alg, 0, 0, data, len, sig, &slen), WID_OK);
		t[i] = now_us() - t0;
		total += t[i];
	}
	ops->destroy(st, k);
	qsort(t, NBENCH, sizeof(t[0]), cmp_double);
	printf("# bench %s: %d signs, median %.0f us, p99 %.0f us, "
	    "max %.0f us, %.0f signs/s\n", name, NBENCH, t[NBENCH / 2],
	    t[NBENCH * 99 / 100], t[NBENCH - 1], NBENCH / (total / 1e6));
}

static void
test_bench(void)
{
	uint8_t tbs[19 + 32] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
	    0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
	    0x20 };

	bench("ecdsa-p256", WID_KEY_EC_P256, WID_SIG_ECDSA, tbs + 19, 32);
	bench("rsa2048-pkcs1", WID_KEY_RSA2048, WID_SIG_RSA_PKCS1, tbs,
	    sizeof(tbs));
}

/* Runs in a fresh TPM epoch without long-lived keys.
 * Revocation bits are a pool: a revoked bit comes back once its key's
 * deadline has passed.  With the pool cut to POOL bits: POOL short keys
 * made and ended take every bit, the next keygen is refused (a bit whose
 * key could still sign is never reused), also after an agent restart (the
 * horizon is in NV); once the TPM clock passes their deadlines, the bits
 * are reused: NRUN more keys over several rounds never hit the limit. */
#define POOL 64
#define NRUN (3 * POOL)

static void
test_bits_reuse(const char *tcti)
{
	void *k = NULL;
	unsigned pool = 0;
	int i, n = 0;

	wid_tpm_set_pool(st, POOL);
	for (i = 0; i < POOL + 5; i++) {
		int r = ops->keygen(st, WID_KEY_EC_P256, 3, &k);
		if (r == WID_E_LIMIT)
			break;
		CHECK_ERR(r, WID_OK);
		ops->destroy(st, k);
		k = NULL;
		n++;
	}
	CHECK(i < POOL + 5);
	/* test_reset's key may still hold one bit. */
	CHECK(n >= POOL - 1);
	CHECK(wid_tpm_bits_taken(st, &pool) == POOL);
	ops->close(st);
	st = NULL;
	CHECK_ERR(ops->open(tcti, &st), WID_OK);
	wid_tpm_set_pool(st, POOL);
	CHECK_ERR(ops->keygen(st, WID_KEY_EC_P256, 3, &k), WID_E_LIMIT);
	sleep(7);   /* past the horizon: last deadline + one ttl */
	for (i = 0; i < NRUN; i++) {
		CHECK_ERR(ops->keygen(st, WID_KEY_EC_P256, 1, &k), WID_OK);
		ops->destroy(st, k);
		k = NULL;
		if (i % POOL == POOL - 1)
			sleep(2);   /* the round's deadlines pass */
	}
	wid_tpm_set_pool(st, 0);
	printf("ok - %d revocation bits used up and refused, kept across "
	    "reopen, reused after their deadlines: %d more keys\n", n, NRUN);
}

static int
swtpm(const char *cmd)
{
	const char *sh = getenv("WID_SWTPM_SH"), *dir = getenv("WID_SWTPM_DIR");
	char line[4096];
	FILE *f;
	int n;

	if (sh == NULL || dir == NULL)
		return -1;
	n = snprintf(line, sizeof(line), "sh '%s' %s '%s' >/dev/null", sh, cmd,
	    dir);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	if ((f = popen(line, "r")) == NULL)
		return -1;
	return pclose(f);
}

static void
test_reset(void)
{
	uint8_t d[32], sig[WID_SIG_MAX];
	size_t slen;
	void *k = NULL, *k2 = NULL;
	EVP_PKEY *pk;

	RAND_bytes(d, sizeof(d));
	CHECK_ERR(ops->keygen(st, WID_KEY_EC_P256, 300, &k), WID_OK);
	CHECK_ERR(sign(k, WID_SIG_ECDSA, 0, 0, d, 32, sig, &slen), WID_OK);
	CHECK(swtpm("stop") == 0);
	CHECK(swtpm("start") == 0);
	/* The backend reconnects; the TPM refuses the old blob. */
	CHECK_ERR(sign(k, WID_SIG_ECDSA, 0, 0, d, 32, sig, &slen),
	    WID_E_CRYPTO);
	CHECK(rc_base(wid_tpm_last_rc(st)) == TPM2_RC_POLICY);
	ops->destroy(st, k);
	/* New keys work after the reset (short ttl: see test_bits_exhausted). */
	CHECK_ERR(ops->keygen(st, WID_KEY_EC_P256, 2, &k2), WID_OK);
	CHECK((pk = pubkey(k2)) != NULL);
	CHECK_ERR(sign(k2, WID_SIG_ECDSA, 0, 0, d, 32, sig, &slen), WID_OK);
	CHECK(verify_ecdsa(pk, d, 32, sig, slen));
	EVP_PKEY_free(pk);
	ops->destroy(st, k2);
	printf("ok - key from before a TPM reset refused; new keys work\n");
}

int
main(void)
{
	const char *tcti = getenv("WID_TPM_TCTI");

	if (tcti == NULL) {
		fprintf(stderr, "WID_TPM_TCTI not set (run tpm_backend.sh)\n");
		return 77;
	}
	if (ops->open(tcti, &st) != WID_OK) {
		fprintf(stderr, "cannot open the TPM backend on %s\n", tcti);
		return 1;
	}
	/* A second open on the same TPM finds the SRK and NV indices. */
	ops->close(st);
	if (ops->open(tcti, &st) != WID_OK) {
		fprintf(stderr, "cannot reopen the TPM backend on %s\n", tcti);
		return 1;
	}
	test_ec(WID_KEY_EC_P256, 32);
	test_ec(WID_KEY_EC_P384, 48);
	test_rsa(WID_KEY_RSA2048, 2048);
	test_ed25519();
	test_revoke();
	test_deadline();
	test_threads();
	test_bench();
	/* After the reset, so that no long-lived key holds the horizon. */
	test_reset();
	test_bits_reuse(tcti);
	if (st != NULL)
		ops->close(st);
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
