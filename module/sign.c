/* module/sign.c: sign operations.  C_SignInit is checked against the cached
 * listing without a round trip (under the module mutex); each signature is
 * one WID_OP_SIGN round trip, made on a busy session without the mutex
 * (the *_busy functions touch only their session and the operation's own
 * copies of what C_SignInit resolved).  Hash-and-sign mechanisms hash here
 * with digests fetched once. */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "wid/proto.h"
#include "module.h"

/* DER DigestInfo prefixes (RFC 8017 section 9.2, note 1). */
static const uint8_t di_sha256[] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
	0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20
};
static const uint8_t di_sha384[] = {
	0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
	0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30
};
static const uint8_t di_sha512[] = {
	0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
	0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40
};

/* CK_EDDSA_PARAMS (PKCS#11 3.0); p11-kit 0.24's header lacks it. */
struct eddsa_params {
	CK_BBOOL phFlag;
	CK_ULONG ulContextDataLen;
	CK_BYTE_PTR pContextData;
};

/* The size-query rule, in one place.  *ret_done = 1 when the call is
 * answered here: a NULL buffer gets the length (CKR_OK), a short one
 * CKR_BUFFER_TOO_SMALL; the operation stays active in both cases. */
CK_RV
wid_sig_size(CK_ULONG need, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len,
    int *ret_done)
{
	*ret_done = 1;
	if (sig == NULL) {
		*sig_len = need;
		return CKR_OK;
	}
	if (*sig_len < need) {
		*sig_len = need;
		return CKR_BUFFER_TOO_SMALL;
	}
	*ret_done = 0;
	return CKR_OK;
}

void
wid_sign_end(struct wid_session *s)
{
	memset(&s->sign, 0, sizeof(s->sign));
}

/* Digests are fetched once per C_Initialize, on first use. */
static const EVP_MD *
md_get(const EVP_MD **slot, const char *name)
{
	if (*slot == NULL)
		*slot = EVP_MD_fetch(NULL, name, NULL);
	return *slot;
}

void
wid_md_free_inlock(void)
{
	EVP_MD_free((EVP_MD *)wid_g.sha1);
	EVP_MD_free((EVP_MD *)wid_g.sha224);
	EVP_MD_free((EVP_MD *)wid_g.sha256);
	EVP_MD_free((EVP_MD *)wid_g.sha384);
	EVP_MD_free((EVP_MD *)wid_g.sha512);
	wid_g.sha1 = wid_g.sha224 = wid_g.sha256 = wid_g.sha384 =
	    wid_g.sha512 = NULL;
}

/* A PKCS#11 hash mechanism: its wid enum, length, MGF and digest. */
static int
hash_of(CK_MECHANISM_TYPE h, uint8_t *ret_hash, size_t *ret_len,
    CK_RSA_PKCS_MGF_TYPE *ret_mgf, const EVP_MD **ret_md)
{
	switch (h) {
	case CKM_SHA_1:
		*ret_hash = WID_HASH_SHA1;
		*ret_len = 20;
		*ret_mgf = CKG_MGF1_SHA1;
		*ret_md = md_get((const EVP_MD **)&wid_g.sha1, "SHA1");
		break;
	case CKM_SHA224:
		*ret_hash = WID_HASH_SHA224;
		*ret_len = 28;
		*ret_mgf = CKG_MGF1_SHA224;
		*ret_md = md_get((const EVP_MD **)&wid_g.sha224, "SHA224");
		break;
	case CKM_SHA256:
		*ret_hash = WID_HASH_SHA256;
		*ret_len = 32;
		*ret_mgf = CKG_MGF1_SHA256;
		*ret_md = md_get((const EVP_MD **)&wid_g.sha256, "SHA256");
		break;
	case CKM_SHA384:
		*ret_hash = WID_HASH_SHA384;
		*ret_len = 48;
		*ret_mgf = CKG_MGF1_SHA384;
		*ret_md = md_get((const EVP_MD **)&wid_g.sha384, "SHA384");
		break;
	case CKM_SHA512:
		*ret_hash = WID_HASH_SHA512;
		*ret_len = 64;
		*ret_mgf = CKG_MGF1_SHA512;
		*ret_md = md_get((const EVP_MD **)&wid_g.sha512, "SHA512");
		break;
	default:
		return -1;
	}
	return 0;
}

static size_t
sig_len_of(int key_type)
{
	switch (key_type) {
	case WID_KEY_EC_P256:
		return 64;
	case WID_KEY_EC_P384:
		return 96;
	case WID_KEY_ED25519:
		return 64;
	case WID_KEY_RSA2048:
		return 256;
	case WID_KEY_RSA3072:
		return 384;
	default:
		return 0;
	}
}

static int
no_params(CK_MECHANISM_PTR m)
{
	return m->pParameter == NULL && m->ulParameterLen == 0;
}

/* PSS parameters; `want` is the hash a hash-and-sign mechanism implies
 * (0 for CKM_RSA_PKCS_PSS). */
static CK_RV
pss_params(struct wid_sign_op *op, CK_MECHANISM_PTR m, CK_MECHANISM_TYPE want)
{
	const CK_RSA_PKCS_PSS_PARAMS *p = m->pParameter;
	CK_RSA_PKCS_MGF_TYPE mgf;
	const EVP_MD *md = NULL;
	size_t hlen;

	if (p == NULL || m->ulParameterLen != sizeof(*p))
		return CKR_MECHANISM_PARAM_INVALID;
	if (want != 0 && p->hashAlg != want)
		return CKR_MECHANISM_PARAM_INVALID;
	if (hash_of(p->hashAlg, &op->hash, &hlen, &mgf, &md) != 0 ||
	    p->mgf != mgf)
		return CKR_MECHANISM_PARAM_INVALID;
	if (md == NULL)
		return CKR_FUNCTION_FAILED;
	if (p->sLen > op->sig_len - hlen - 2)
		return CKR_MECHANISM_PARAM_INVALID;
	op->salt = (uint32_t)p->sLen;
	op->digest_len = hlen;
	if (want != 0)
		op->md = md;
	return CKR_OK;
}

CK_RV
wid_sign_init_inlock(struct wid_session *s, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE key)
{
	struct wid_sign_op *op = &s->sign;
	const struct eddsa_params *ep;
	struct wid_key *k;
	CK_ULONG kind;
	CK_RV rv;

	if (op->active)
		return CKR_OPERATION_ACTIVE;
	if ((k = wid_key_by_handle_inlock(key, &kind)) == NULL ||
	    k->slot != s->slot)
		return CKR_KEY_HANDLE_INVALID;
	if (kind != WID_OBJ_PRIVATE)
		return CKR_KEY_FUNCTION_NOT_PERMITTED;
	if (!wid_mech_allowed(WID_KEY_EC_P256, m->mechanism) &&
	    !wid_mech_allowed(WID_KEY_RSA2048, m->mechanism) &&
	    !wid_mech_allowed(WID_KEY_ED25519, m->mechanism))
		return CKR_MECHANISM_INVALID;
	if (!wid_mech_allowed(k->task.key_type, m->mechanism))
		return CKR_KEY_TYPE_INCONSISTENT;
	memset(op, 0, sizeof(*op));
	op->mech = m->mechanism;
	op->serial = k->task.serial;
	op->sig_len = sig_len_of(k->task.key_type);
	rv = CKR_OK;
	switch (m->mechanism) {
	case CKM_ECDSA:
		op->alg = WID_SIG_ECDSA;
		break;
	case CKM_ECDSA_SHA256:
		op->alg = WID_SIG_ECDSA;
		op->md = md_get((const EVP_MD **)&wid_g.sha256, "SHA256");
		break;
	case CKM_ECDSA_SHA384:
		op->alg = WID_SIG_ECDSA;
		op->md = md_get((const EVP_MD **)&wid_g.sha384, "SHA384");
		break;
	case CKM_RSA_PKCS:
		op->alg = WID_SIG_RSA_PKCS1;
		op->max_data = op->sig_len - 11;
		break;
	case CKM_SHA256_RSA_PKCS:
		op->alg = WID_SIG_RSA_PKCS1;
		op->md = md_get((const EVP_MD **)&wid_g.sha256, "SHA256");
		op->di = di_sha256;
		break;
	case CKM_SHA384_RSA_PKCS:
		op->alg = WID_SIG_RSA_PKCS1;
		op->md = md_get((const EVP_MD **)&wid_g.sha384, "SHA384");
		op->di = di_sha384;
		break;
	case CKM_SHA512_RSA_PKCS:
		op->alg = WID_SIG_RSA_PKCS1;
		op->md = md_get((const EVP_MD **)&wid_g.sha512, "SHA512");
		op->di = di_sha512;
		break;
	case CKM_RSA_PKCS_PSS:
	case CKM_SHA256_RSA_PKCS_PSS:
	case CKM_SHA384_RSA_PKCS_PSS:
	case CKM_SHA512_RSA_PKCS_PSS:
		op->alg = WID_SIG_RSA_PSS;
		rv = pss_params(op, m,
		    m->mechanism == CKM_SHA256_RSA_PKCS_PSS ? CKM_SHA256 :
		    m->mechanism == CKM_SHA384_RSA_PKCS_PSS ? CKM_SHA384 :
		    m->mechanism == CKM_SHA512_RSA_PKCS_PSS ? CKM_SHA512 : 0);
		break;
	case CKM_EDDSA:
		op->alg = WID_SIG_EDDSA;
		ep = m->pParameter;
		if (!no_params(m) && (ep == NULL ||
		    m->ulParameterLen != sizeof(*ep) || ep->phFlag != CK_FALSE ||
		    ep->ulContextDataLen != 0))
			rv = CKR_MECHANISM_PARAM_INVALID;
		break;
	default:
		rv = CKR_MECHANISM_INVALID;
		break;
	}
	if (rv == CKR_OK && op->alg != WID_SIG_RSA_PSS &&
	    op->alg != WID_SIG_EDDSA && !no_params(m))
		rv = CKR_MECHANISM_PARAM_INVALID;
	if (rv == CKR_OK && op->md == NULL &&
	    m->mechanism != CKM_ECDSA && m->mechanism != CKM_RSA_PKCS &&
	    m->mechanism != CKM_RSA_PKCS_PSS && m->mechanism != CKM_EDDSA)
		rv = CKR_FUNCTION_FAILED; /* digest fetch failed */
	if (rv == CKR_OK && op->md != NULL) {
		if (s->mdctx == NULL && (s->mdctx = EVP_MD_CTX_new()) == NULL)
			rv = CKR_HOST_MEMORY;
		else if (!EVP_DigestInit_ex2(s->mdctx, op->md, NULL))
			rv = CKR_FUNCTION_FAILED;
	}
	if (rv != CKR_OK) {
		wid_sign_end(s);
		return rv;
	}
	op->active = 1;
	wid_dbg("sign init: task %s mechanism 0x%lx", k->task.id,
	    (unsigned long)m->mechanism);
	return CKR_OK;
}

/* One round trip; `data` is what the agent signs (digest, DigestInfo,
 * raw input or EdDSA message). */
static CK_RV
sign_send(struct wid_sign_op *op, const uint8_t *data, size_t len,
    CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
	struct wid_sign_req req;
	size_t n = *sig_len;
	int r;

	if (len > WID_SIGN_DATA_MAX)
		return CKR_DATA_LEN_RANGE;
	memset(&req, 0, sizeof(req));
	req.serial = op->serial;
	req.mechanism = (uint32_t)op->mech;
	req.alg = op->alg;
	req.hash = op->alg == WID_SIG_RSA_PSS ? op->hash : WID_HASH_NONE;
	req.salt = op->alg == WID_SIG_RSA_PSS ? op->salt : 0;
	req.data = data;
	req.data_len = (uint16_t)len;
	if (n > WID_SIG_MAX)
		n = WID_SIG_MAX;
	if ((r = wid_agent_sign(&req, sig, &n)) != 0) {
		wid_dbg("sign failed: %s", wid_strerror(r));
		return wid_rv(r);
	}
	*sig_len = n;
	return CKR_OK;
}

/* Finishes the digest of a hash-and-sign operation and signs it. */
static CK_RV
sign_digest(struct wid_session *s, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
	struct wid_sign_op *op = &s->sign;
	uint8_t buf[sizeof(di_sha256) + EVP_MAX_MD_SIZE];
	size_t plen = 0;
	unsigned int dlen = 0;
	CK_RV rv;

	if (op->di != NULL) {
		plen = sizeof(di_sha256);   /* all three prefixes are 19 bytes */
		memcpy(buf, op->di, plen);
	}
	if (!EVP_DigestFinal_ex(s->mdctx, buf + plen, &dlen))
		return CKR_FUNCTION_FAILED;
	rv = sign_send(op, buf, plen + dlen, sig, sig_len);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rv;
}

CK_RV
wid_sign_busy(struct wid_session *s, CK_BYTE_PTR data, CK_ULONG len,
    CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
	struct wid_sign_op *op = &s->sign;
	int done;
	CK_RV rv;

	if (!op->active)
		return CKR_OPERATION_NOT_INITIALIZED;
	if (op->updated) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	rv = wid_sig_size(op->sig_len, sig, sig_len, &done);
	if (done)
		return rv;
	if (data == NULL && len > 0) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (op->md != NULL) {
		if (!EVP_DigestUpdate(s->mdctx, data, len)) {
			rv = CKR_FUNCTION_FAILED;
			goto out;
		}
		rv = sign_digest(s, sig, sig_len);
		goto out;
	}
	if ((op->alg == WID_SIG_ECDSA && len == 0) ||
	    (op->alg == WID_SIG_RSA_PKCS1 && len > op->max_data) ||
	    (op->alg == WID_SIG_RSA_PSS && len != op->digest_len)) {
		rv = CKR_DATA_LEN_RANGE;
		goto out;
	}
	rv = sign_send(op, data, len, sig, sig_len);
out:
	wid_sign_end(s);
	return rv;
}

CK_RV
wid_sign_update_busy(struct wid_session *s, CK_BYTE_PTR data, CK_ULONG len)
{
	struct wid_sign_op *op = &s->sign;
	CK_RV rv;

	if (!op->active)
		return CKR_OPERATION_NOT_INITIALIZED;
	if (op->md == NULL) {
		/* CKM_ECDSA, CKM_RSA_PKCS(_PSS), CKM_EDDSA: single-part only. */
		rv = CKR_FUNCTION_NOT_SUPPORTED;
		goto fail;
	}
	if (data == NULL && len > 0) {
		rv = CKR_ARGUMENTS_BAD;
		goto fail;
	}
	if (!EVP_DigestUpdate(s->mdctx, data, len)) {
		rv = CKR_FUNCTION_FAILED;
		goto fail;
	}
	op->updated = 1;
	return CKR_OK;
fail:
	wid_sign_end(s);
	return rv;
}

CK_RV
wid_sign_final_busy(struct wid_session *s, CK_BYTE_PTR sig,
    CK_ULONG_PTR sig_len)
{
	struct wid_sign_op *op = &s->sign;
	int done;
	CK_RV rv;

	if (!op->active)
		return CKR_OPERATION_NOT_INITIALIZED;
	if (op->md == NULL) {
		rv = CKR_FUNCTION_NOT_SUPPORTED;
		goto out;
	}
	rv = wid_sig_size(op->sig_len, sig, sig_len, &done);
	if (done)
		return rv;
	rv = sign_digest(s, sig, sig_len);
out:
	wid_sign_end(s);
	return rv;
}
