/* tools/agent/soft.c: the soft backend.  OpenSSL 3 EVP keys generated in
 * the agent, kept in the secure heap (mlock'd, MADV_DONTDUMP) and never
 * serialized: EC P-256/P-384, Ed25519, RSA 2048/3072. */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "wid/err.h"
#include "backend.h"

struct soft_state {
	EVP_MD *md[WID_HASH__MAX];    /* fetched once; NULL for NONE */
};

/* Signing contexts kept per key: creating and initializing one costs
 * about 15% of a P-256 signature and 6% of an Ed25519 one, and fetching
 * it contends on OpenSSL's global locks when workers sign at once. */
#define SOFT_CTX_SLOTS 4

struct soft_key {
	EVP_PKEY *pkey;
	/* Ready contexts: EVP_PKEY_CTX after EVP_PKEY_sign_init (ECDSA) or
	 * EVP_MD_CTX after EVP_DigestSignInit_ex (Ed25519); made on first
	 * use, so an idle key holds none.  A signer takes one (exchange
	 * with NULL) and puts it back in an empty slot, or frees it when
	 * every slot is full.  Freed with the key (destroy never runs
	 * concurrently with sign on the same key). */
	_Atomic(void *) ctx[SOFT_CTX_SLOTS];
	int type;                     /* enum wid_key_type */
	size_t width;                 /* ECDSA: bytes of r and of s; RSA: modulus bytes */
};

static void *
ctx_take(struct soft_key *k)
{
	void *c;
	size_t i;

	for (i = 0; i < SOFT_CTX_SLOTS; i++)
		if (atomic_load(&k->ctx[i]) != NULL &&
		    (c = atomic_exchange(&k->ctx[i], NULL)) != NULL)
			return c;
	return NULL;
}

/* 1: kept; 0: every slot is full, the caller frees c. */
static int
ctx_put(struct soft_key *k, void *c)
{
	size_t i;

	for (i = 0; i < SOFT_CTX_SLOTS; i++) {
		void *none = NULL;

		if (atomic_compare_exchange_strong(&k->ctx[i], &none, c))
			return 1;
	}
	return 0;
}

static int
soft_open(const char *conf, void **ret_state)
{
	static const char *const names[WID_HASH__MAX] = {
		[WID_HASH_SHA1] = "SHA1",
		[WID_HASH_SHA224] = "SHA224",
		[WID_HASH_SHA256] = "SHA256",
		[WID_HASH_SHA384] = "SHA384",
		[WID_HASH_SHA512] = "SHA512",
	};
	struct soft_state *s;
	int h;

	*ret_state = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return WID_E_NOMEM;
	for (h = WID_HASH_NONE + 1; h < WID_HASH__MAX; h++) {
		if ((s->md[h] = EVP_MD_fetch(NULL, names[h], NULL)) == NULL) {
			while (--h > WID_HASH_NONE)
				EVP_MD_free(s->md[h]);
			free(s);
			return WID_E_CRYPTO;
		}
	}
	*ret_state = s;
	return 0;
}

static void
soft_close(void *state)
{
	struct soft_state *s = state;
	int h;

	if (s == NULL)
		return;
	for (h = 0; h < WID_HASH__MAX; h++)
		EVP_MD_free(s->md[h]);
	free(s);
}

static int
soft_keygen(void *state, int key_type, uint32_t ttl, void **ret_key)
{
	struct soft_key *k;
	EVP_PKEY *pkey = NULL;
	size_t width = 0;

	*ret_key = NULL;
	switch (key_type) {
	case WID_KEY_EC_P256:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		width = 32;
		break;
	case WID_KEY_EC_P384:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		width = 48;
		break;
	case WID_KEY_ED25519:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		width = 32;
		break;
	case WID_KEY_RSA2048:   /* EVP_PKEY_Q_keygen uses e = 65537 */
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		width = 256;
		break;
	case WID_KEY_RSA3072:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
		width = 384;
		break;
	default:
		return WID_E_UNSUPPORTED;
	}
	if (pkey == NULL)
		return WID_E_CRYPTO;
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		EVP_PKEY_free(pkey);
		return WID_E_NOMEM;
	}
	k->pkey = pkey;
	k->type = key_type;
	k->width = width;
	*ret_key = k;
	return 0;
}

static int
soft_spki(void *state, void *key, uint8_t *out, size_t *ret_len)
{
	struct soft_key *k = key;
	unsigned char *p = out;
	int n;

	*ret_len = 0;
	if ((n = i2d_PUBKEY(k->pkey, NULL)) <= 0 || n > WID_SPKI_MAX)
		return WID_E_CRYPTO;
	if (i2d_PUBKEY(k->pkey, &p) != n)
		return WID_E_CRYPTO;
	*ret_len = (size_t)n;
	return 0;
}

static int
is_ec(int t)
{
	return t == WID_KEY_EC_P256 || t == WID_KEY_EC_P384;
}

static int
is_rsa(int t)
{
	return t == WID_KEY_RSA2048 || t == WID_KEY_RSA3072;
}

/* DER ECDSA-Sig-Value to fixed-width r||s. */
static int
ecdsa_der_to_raw(const uint8_t *der, size_t der_len, size_t width,
                 uint8_t *sig, size_t *ret_len)
{
	const unsigned char *p = der;
	ECDSA_SIG *es;
	const BIGNUM *r, *s;
	int rv = WID_E_CRYPTO;

	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)der_len)) == NULL)
		return WID_E_CRYPTO;
	ECDSA_SIG_get0(es, &r, &s);
	if (2 * width > WID_SIG_MAX ||
	    BN_bn2binpad(r, sig, (int)width) != (int)width ||
	    BN_bn2binpad(s, sig + width, (int)width) != (int)width)
		goto out;
	*ret_len = 2 * width;
	rv = 0;
out:
	ECDSA_SIG_free(es);
	return rv;
}

static int
soft_sign(void *state, void *key, const struct wid_sign_req *req,
          uint8_t *sig, size_t *ret_len)
{
	struct soft_state *st = state;
	struct soft_key *k = key;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_MD_CTX *mctx = NULL;
	uint8_t der[160];
	size_t len;
	int r = WID_E_CRYPTO;

	*ret_len = 0;
	switch (req->alg) {
	case WID_SIG_ECDSA:
		if (!is_ec(k->type))
			return WID_E_MECH;
		if (req->data_len == 0)
			return WID_E_BADARG;
		break;
	case WID_SIG_RSA_PKCS1:
		if (!is_rsa(k->type))
			return WID_E_MECH;
		if (req->data_len == 0 || (size_t)req->data_len + 11 > k->width)
			return WID_E_BADARG;
		break;
	case WID_SIG_RSA_PSS:
		if (!is_rsa(k->type))
			return WID_E_MECH;
		if (req->hash <= WID_HASH_NONE || req->hash >= WID_HASH__MAX ||
		    (size_t)EVP_MD_get_size(st->md[req->hash]) !=
		    req->data_len ||
		    (size_t)req->salt + req->data_len + 2 > k->width)
			return WID_E_BADARG;
		break;
	case WID_SIG_EDDSA:
		if (k->type != WID_KEY_ED25519)
			return WID_E_MECH;
		break;
	default:
		return WID_E_MECH;
	}

	if (req->alg == WID_SIG_EDDSA) {
		/* A kept context is reset by an init without the key (a
		 * one-shot EVP_DigestSign may not be repeated as it is). */
		if ((mctx = ctx_take(k)) != NULL ?
		    EVP_DigestSignInit(mctx, NULL, NULL, NULL, NULL) != 1 :
		    (mctx = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestSignInit_ex(mctx, NULL, NULL, NULL, NULL,
		    k->pkey, NULL) != 1)
			goto out;
		len = WID_SIG_MAX;
		if (EVP_DigestSign(mctx, sig, &len, req->data,
		    req->data_len) != 1)
			goto out;
		*ret_len = len;
		r = 0;
		if (ctx_put(k, mctx))
			mctx = NULL;
		goto out;
	}

	if (req->alg == WID_SIG_ECDSA) {
		if ((ctx = ctx_take(k)) == NULL &&
		    ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey,
		    NULL)) == NULL || EVP_PKEY_sign_init(ctx) != 1))
			goto out;
		len = sizeof(der);
		if (EVP_PKEY_sign(ctx, der, &len, req->data,
		    req->data_len) != 1)
			goto out;
		r = ecdsa_der_to_raw(der, len, k->width, sig, ret_len);
		if (ctx_put(k, ctx))
			ctx = NULL;   /* kept for the next signature */
		goto out;
	}
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL)) == NULL ||
	    EVP_PKEY_sign_init(ctx) != 1)
		goto out;
	if (req->alg == WID_SIG_RSA_PKCS1) {
		if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1)
			goto out;
	} else {
		if (EVP_PKEY_CTX_set_rsa_padding(ctx,
		    RSA_PKCS1_PSS_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(ctx, st->md[req->hash]) != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, st->md[req->hash]) != 1 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, (int)req->salt) != 1)
			goto out;
	}
	len = WID_SIG_MAX;
	if (EVP_PKEY_sign(ctx, sig, &len, req->data, req->data_len) != 1)
		goto out;
	*ret_len = len;
	r = 0;
out:
	OPENSSL_cleanse(der, sizeof(der));
	EVP_PKEY_CTX_free(ctx);
	EVP_MD_CTX_free(mctx);
	return r;
}

static void
soft_destroy(void *state, void *key)
{
	struct soft_key *k = key;
	void *c;

	if (k == NULL)
		return;
	/* Private BIGNUMs and Ed25519 keys live in the secure heap, which
	 * OpenSSL wipes on free.  The kept contexts hold references. */
	while ((c = ctx_take(k)) != NULL) {
		if (k->type == WID_KEY_ED25519)
			EVP_MD_CTX_free(c);
		else
			EVP_PKEY_CTX_free(c);
	}
	EVP_PKEY_free(k->pkey);
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

static int
soft_ca_key(void *state, unsigned which, int create, void **ret_key)
{
	*ret_key = NULL;
	if (!create)
		return 0;     /* memory only: nothing kept from before */
	return soft_keygen(state, which == WID_CA_SSH ? WID_KEY_ED25519 :
	    WID_KEY_EC_P256, 0, ret_key);
}

const struct wid_backend_ops wid_backend_soft = {
	.name = "soft",
	.sign_in_memory = 1,
	.open = soft_open,
	.close = soft_close,
	.keygen = soft_keygen,
	.spki = soft_spki,
	.sign = soft_sign,
	.destroy = soft_destroy,
	.ca_key = soft_ca_key,
};
