/* tools/agent/tpm_attest.c: attestation evidence for a TPM task key.
 *
 * The attestation key (AK) is a restricted ECDSA P-256 signing primary in
 * the endorsement hierarchy, made for each attestation and flushed after
 * it, so that it never holds one of a bare TPM's three object slots (the
 * same template on the same TPM gives the same key every time).
 * Evidence is TPM2_Certify of the task key by the AK: the TPM signs the
 * key's Name, which covers its public area and so its attributes and
 * authPolicy.  extraData is SHA-256 of the task id, binding the evidence
 * to that id.  The format is in tpm_policy.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>

#include "wid/err.h"
#include "wid/proto.h"
#include "tpm.h"
#include "tpm_int.h"
#include "tpm_policy.h"

/* Makes (or finds loaded) the attestation key. */
static int
ak_inlock(struct tpm_state *st)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_PUBLIC tmpl = { 0 };
	TPMT_PUBLIC *p = &tmpl.publicArea;
	TSS2_RC rc;

	if (st->ak != ESYS_TR_NONE)
		return WID_OK;
	p->type = TPM2_ALG_ECC;
	p->nameAlg = TPM2_ALG_SHA256;
	p->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
	    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
	    TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED |
	    TPMA_OBJECT_SIGN_ENCRYPT;
	p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	p->parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	p->parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	rc = Esys_CreatePrimary(st->esys, ESYS_TR_RH_ENDORSEMENT,
	    ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl,
	    &outside, &pcrs, &st->ak, NULL, NULL, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		st->ak = ESYS_TR_NONE;
		return tpm_failed("CreatePrimary(attestation key)", rc);
	}
	return WID_OK;
}

/* Appends "name: base64(data)\n". */
static int
put_b64(char *out, size_t outsz, size_t *pos, const char *name,
        const uint8_t *data, size_t len)
{
	size_t need = strlen(name) + 2 + 4 * ((len + 2) / 3) + 2;
	int n;

	if (*pos + need > outsz)
		return WID_E_LIMIT;
	n = snprintf(out + *pos, outsz - *pos, "%s: ", name);
	*pos += (size_t)n;
	n = EVP_EncodeBlock((unsigned char *)out + *pos, data, (int)len);
	*pos += (size_t)n;
	out[(*pos)++] = '\n';
	out[*pos] = '\0';
	return WID_OK;
}

static int
attest_inlock(struct tpm_state *st, const struct tpm_key *k,
              const char *task, char *out, size_t outsz, size_t *ret_len)
{
	static const TPMT_SIG_SCHEME scheme = {
		.scheme = TPM2_ALG_ECDSA,
		.details.ecdsa.hashAlg = TPM2_ALG_SHA256,
	};
	TPM2B_DATA qual = { .size = SHA256_DIGEST_LENGTH };
	TPM2B_ATTEST *info = NULL;
	TPMT_SIGNATURE *sig = NULL;
	TPM2B_PUBLIC *ak_pub = NULL;
	TPM2B_NV_PUBLIC *nv_pub = NULL;
	ESYS_TR key = ESYS_TR_NONE;
	uint8_t m_nv[sizeof(TPM2B_NV_PUBLIC)], m_key[sizeof(TPM2B_PUBLIC)],
	    m_ak[sizeof(TPM2B_PUBLIC)], m_sig[sizeof(TPMT_SIGNATURE)];
	size_t l_nv = 0, l_key = 0, l_ak = 0, l_sig = 0, pos = 0;
	const char *what;
	TSS2_RC rc;
	int n, r;

	SHA256((const uint8_t *)task, strlen(task), qual.buffer);
	if ((r = ak_inlock(st)) != WID_OK)
		goto out;
	r = WID_E_CRYPTO;
	what = "ReadPublic(attestation key)";
	rc = Esys_ReadPublic(st->esys, st->ak, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, &ak_pub, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS)
		goto fail;
	what = "NV_ReadPublic(revocation index)";
	rc = Esys_NV_ReadPublic(st->esys, st->nv_bits, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, &nv_pub, NULL);
	if (rc != TSS2_RC_SUCCESS)
		goto fail;
	what = "Load";
	if ((rc = tpm_key_handle_inlock(st, k, &key)) != TSS2_RC_SUCCESS)
		goto fail;
	/* The key's ADMIN role takes its (empty) authValue: it has no
	 * ADMINWITHPOLICY, and USERWITHAUTH clear keeps Sign to the policy. */
	what = "Certify";
	rc = Esys_Certify(st->esys, key, st->ak, ESYS_TR_PASSWORD,
	    ESYS_TR_PASSWORD, ESYS_TR_NONE, &qual, &scheme, &info, &sig);
	if (rc != TSS2_RC_SUCCESS)
		goto fail;
	if (Tss2_MU_TPM2B_NV_PUBLIC_Marshal(nv_pub, m_nv, sizeof(m_nv),
	    &l_nv) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_PUBLIC_Marshal(&k->pub, m_key, sizeof(m_key),
	    &l_key) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_PUBLIC_Marshal(ak_pub, m_ak, sizeof(m_ak),
	    &l_ak) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPMT_SIGNATURE_Marshal(sig, m_sig, sizeof(m_sig),
	    &l_sig) != TSS2_RC_SUCCESS)
		goto out;
	n = snprintf(out, outsz, "wid-tpm-evidence: %d\ntask: %s\n"
	    "key-type: %s\ndeadline: %llu\nreset-count: %u\nnv-offset: %u\n"
	    "nv-mask: %u\n", WID_TPM_EVIDENCE_VERSION, task,
	    wid_key_type_name(k->type), (unsigned long long)k->deadline,
	    k->reset_count, k->bit / 8, 1u << (k->bit % 8));
	if (n < 0 || (size_t)n >= outsz) {
		r = WID_E_LIMIT;
		goto out;
	}
	pos = (size_t)n;
	if ((r = put_b64(out, outsz, &pos, "nv-public", m_nv, l_nv)) != 0 ||
	    (r = put_b64(out, outsz, &pos, "key-public", m_key, l_key)) != 0 ||
	    (r = put_b64(out, outsz, &pos, "ak-public", m_ak, l_ak)) != 0 ||
	    (r = put_b64(out, outsz, &pos, "attest", info->attestationData,
	    info->size)) != 0 ||
	    (r = put_b64(out, outsz, &pos, "signature", m_sig, l_sig)) != 0)
		goto out;
	*ret_len = pos;
	r = WID_OK;
	goto out;
 fail:
	r = tpm_failed(what, rc);
 out:
	/* Give the AK's object slot back: a bare TPM has three, and the
	 * same template makes the same key again next time. */
	if (st->ak != ESYS_TR_NONE && st->esys != NULL && r != TPM_RECONNECT)
		Esys_FlushContext(st->esys, st->ak);
	st->ak = ESYS_TR_NONE;
	Esys_Free(info);
	Esys_Free(sig);
	Esys_Free(ak_pub);
	Esys_Free(nv_pub);
	return r;
}

struct attest_call {
	const struct tpm_key *k;
	const char *task;
	char *out;
	size_t outsz, *ret_len;
};

static int
attest_call(struct tpm_state *st, void *arg)
{
	struct attest_call *c = arg;

	return attest_inlock(st, c->k, c->task, c->out, c->outsz, c->ret_len);
}

int
wid_tpm_attest(void *state, void *key, const char *task, char *out,
               size_t outsz, size_t *ret_len)
{
	*ret_len = 0;
	return tpm_call(state, attest_call, &(struct attest_call){ key, task,
	    out, outsz, ret_len });
}
