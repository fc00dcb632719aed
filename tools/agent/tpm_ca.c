/* tools/agent/tpm_ca.c: the CA keys in the TPM.
 *
 * The OpenSSH CA and the X.509 CA are ECDSA P-256 keys created under the
 * storage key and made persistent (WID_TPM_CA_SSH, WID_TPM_CA_X509), so
 * that they survive agent restarts and reboots: verifiers configured with
 * the CA's public key keep trusting what the agent issues.  Like every wid
 * key they are born in the TPM and never leave it; unlike task keys they
 * have no deadline policy: a CA is long-lived, and the agent's policy
 * decides what it signs.  They are used with their (empty) auth value, so
 * whoever can send commands to the TPM can sign with them: on a host that
 * uses wid, only wid-agent should have access to the TPM.
 *
 * A key found at one of these handles is used only when it is such a key
 * (P-256, signing, unrestricted, fixedTPM, sensitiveDataOrigin: nobody
 * ever held its private part); its Name is checked again before each
 * signature, so a key swapped in behind the agent's back signs nothing.
 * The X.509 CA certificate is kept in an NV index (WID_TPM_NV_CACERT) as a
 * 16-bit big-endian length and the DER. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <tss2/tss2_esys.h>

#include "wid/err.h"
#include "wid/proto.h"
#include "tpm.h"
#include "tpm_int.h"

#define CA_ATTRS (TPM_KEY_ATTRS | TPMA_OBJECT_USERWITHAUTH)

static bool
not_found(TSS2_RC rc)
{
	return (rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER ||
	    (rc & TSS2_RC_LAYER_MASK) == TSS2_RESMGR_TPM_RC_LAYER;
}

static bool
ca_public_ok(const TPMT_PUBLIC *p)
{
	TPMA_OBJECT deny = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;

	return p->type == TPM2_ALG_ECC && p->nameAlg == TPM2_ALG_SHA256 &&
	    (p->objectAttributes & CA_ATTRS) == CA_ATTRS &&
	    (p->objectAttributes & deny) == 0 &&
	    p->parameters.eccDetail.curveID == TPM2_ECC_NIST_P256 &&
	    p->authPolicy.size == 0;
}

/* Fills k from the key persistent at h; *ret_found 0 when there is none. */
static int
ca_find_inlock(struct tpm_state *st, TPM2_HANDLE h, struct tpm_key *k,
               int *ret_found)
{
	TPM2B_PUBLIC *pub = NULL;
	TPM2B_NAME *name = NULL;
	ESYS_TR tr = ESYS_TR_NONE;
	TSS2_RC rc;
	int r = WID_E_CRYPTO;

	*ret_found = 0;
	rc = Esys_TR_FromTPMPublic(st->esys, h, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, &tr);
	if (rc != TSS2_RC_SUCCESS) {
		if (tpm_rc_is_transport(rc))
			return TPM_RECONNECT;
		if (not_found(rc))
			return WID_OK;
		tpm_log_rc("CA key lookup", rc);
		return WID_E_CRYPTO;
	}
	rc = Esys_ReadPublic(st->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, &pub, &name, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		r = tpm_failed("ReadPublic(CA)", rc);
		goto out;
	}
	if (!ca_public_ok(&pub->publicArea)) {
		tpm_log("the object at 0x%x is not a wid CA key (P-256 signing "
		    "key made in this TPM); remove it with 'tpm2_evictcontrol "
		    "-C o -c 0x%x' to let wid create one", h, h);
		goto out;
	}
	k->type = WID_KEY_EC_P256;
	k->persistent = h;
	k->pub = *pub;
	k->name = *name;
	*ret_found = 1;
	r = WID_OK;
 out:
	Esys_Free(pub);
	Esys_Free(name);
	Esys_TR_Close(st->esys, &tr);
	return r;
}

static int
ca_create_inlock(struct tpm_state *st, TPM2_HANDLE h)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_PUBLIC tmpl = { 0 }, *pub = NULL;
	TPM2B_PRIVATE *priv = NULL;
	TPMT_PUBLIC *p = &tmpl.publicArea;
	ESYS_TR obj = ESYS_TR_NONE, pers = ESYS_TR_NONE;
	const char *what;
	TSS2_RC rc;
	int r = WID_E_CRYPTO;

	p->type = TPM2_ALG_ECC;
	p->nameAlg = TPM2_ALG_SHA256;
	p->objectAttributes = CA_ATTRS;
	p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	p->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	tpm_key_unload_inlock(st);    /* Create and Load need object slots */
	what = "Create(CA)";
	rc = Esys_Create(st->esys, st->srk, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs, &priv, &pub, NULL,
	    NULL, NULL);
	if (rc != TSS2_RC_SUCCESS)
		goto fail;
	what = "Load(CA)";
	rc = Esys_Load(st->esys, st->srk, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, priv, pub, &obj);
	if (rc != TSS2_RC_SUCCESS)
		goto fail;
	what = "EvictControl(CA)";
	rc = Esys_EvictControl(st->esys, ESYS_TR_RH_OWNER, obj,
	    ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, h, &pers);
	if (rc != TSS2_RC_SUCCESS)
		goto fail;
	tpm_log("created CA key 0x%x", h);
	r = WID_OK;
	goto out;
 fail:
	r = tpm_failed(what, rc);
 out:
	if (pers != ESYS_TR_NONE)
		Esys_TR_Close(st->esys, &pers);
	if (obj != ESYS_TR_NONE && r != TPM_RECONNECT)
		Esys_FlushContext(st->esys, obj);
	Esys_Free(pub);
	if (priv != NULL) {
		OPENSSL_cleanse(priv, sizeof(*priv));
		Esys_Free(priv);
	}
	return r;
}

/* The CA key at h into k (found), created first when missing and asked
 * for (tpm_call). */
struct ca_get {
	TPM2_HANDLE h;
	int create;
	struct tpm_key *k;
	int found;
};

static int
ca_get_inlock(struct tpm_state *st, void *arg)
{
	struct ca_get *c = arg;
	int r;

	if ((r = ca_find_inlock(st, c->h, c->k, &c->found)) != WID_OK ||
	    c->found || !c->create)
		return r;
	if ((r = ca_create_inlock(st, c->h)) != WID_OK)
		return r;
	if ((r = ca_find_inlock(st, c->h, c->k, &c->found)) == WID_OK &&
	    !c->found)
		r = WID_E_CRYPTO;
	return r;
}

int
tpm_ca_key(void *state, unsigned which, int create, void **ret_key)
{
	struct ca_get c = { .create = create };
	struct tpm_key *k;
	int r;

	*ret_key = NULL;
	if (which != WID_CA_SSH && which != WID_CA_X509)
		return WID_E_BADARG;
	c.h = which == WID_CA_SSH ? WID_TPM_CA_SSH : WID_TPM_CA_X509;
	if ((c.k = k = calloc(1, sizeof(*k))) == NULL)
		return WID_E_NOMEM;
	r = tpm_call(state, ca_get_inlock, &c);
	if (r == WID_OK && c.found &&
	    (r = tpm_make_spki(&k->pub, k->spki, &k->spki_len)) == WID_OK) {
		*ret_key = k;
		return WID_OK;
	}
	tpm_key_free(k);
	return r;
}

int
tpm_ca_sign_inlock(struct tpm_state *st, const struct tpm_key *k,
                   const TPM2B_DIGEST *digest, const TPMT_SIG_SCHEME *scheme,
                   TPMT_SIGNATURE **ret_sig)
{
	TPMT_TK_HASHCHECK check = {
		.tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL,
	};
	TPM2B_NAME *name = NULL;
	ESYS_TR tr = ESYS_TR_NONE;
	TSS2_RC rc;
	int r = WID_E_CRYPTO;

	rc = Esys_TR_FromTPMPublic(st->esys, k->persistent, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, &tr);
	if (rc != TSS2_RC_SUCCESS) {
		st->last_rc = rc;
		if (tpm_rc_is_transport(rc))
			return TPM_RECONNECT;
		tpm_log("the CA key at 0x%x is gone from the TPM",
		    k->persistent);
		return WID_E_CRYPTO;
	}
	rc = Esys_TR_GetName(st->esys, tr, &name);
	if (rc != TSS2_RC_SUCCESS) {
		tpm_log_rc("TR_GetName(CA)", rc);
		goto out;
	}
	if (name->size != k->name.size ||
	    memcmp(name->name, k->name.name, name->size) != 0) {
		tpm_log("the CA key at 0x%x was replaced since the agent "
		    "loaded it: refusing to sign", k->persistent);
		goto out;
	}
	rc = Esys_Sign(st->esys, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, digest, scheme, &check, ret_sig);
	st->last_rc = rc;
	if (rc != TSS2_RC_SUCCESS) {
		r = tpm_failed("Sign(CA)", rc);
		goto out;
	}
	r = WID_OK;
 out:
	Esys_Free(name);
	Esys_TR_Close(st->esys, &tr);
	return r;
}

struct cert_io {
	int (*fn)(struct tpm_state *, ESYS_TR, struct cert_io *);
	const uint8_t *in;
	uint8_t *out;
	size_t len, size;
};

/* Opens the certificate's NV index and runs io->fn on it (tpm_call). */
static int
cert_index_inlock(struct tpm_state *st, void *arg)
{
	struct cert_io *io = arg;
	ESYS_TR tr = ESYS_TR_NONE;
	int r;

	if ((r = tpm_nv_open_inlock(st, WID_TPM_NV_CACERT, TPM_NV_META_ATTRS,
	    TPM_NV_CACERT_LEN, &tr)) != WID_OK)
		return r;
	r = io->fn(st, tr, io);
	Esys_TR_Close(st->esys, &tr);
	return r;
}

static int
cert_store_inlock(struct tpm_state *st, ESYS_TR tr, struct cert_io *io)
{
	uint8_t b[TPM_NV_CACERT_LEN];

	b[0] = (uint8_t)(io->len >> 8);
	b[1] = (uint8_t)io->len;
	memcpy(b + 2, io->in, io->len);
	return tpm_nv_write_inlock(st, tr, 0, b, 2 + io->len);
}

static int
cert_load_inlock(struct tpm_state *st, ESYS_TR tr, struct cert_io *io)
{
	uint8_t hdr[2];
	size_t n;
	int r;

	if ((r = tpm_nv_read_inlock(st, tr, 0, 2, hdr)) != WID_OK)
		return r;
	n = (size_t)hdr[0] << 8 | hdr[1];
	if (n == 0)
		return WID_OK;           /* none stored */
	if (n > TPM_NV_CACERT_LEN - 2 || n > io->size)
		return WID_E_LIMIT;
	if ((r = tpm_nv_read_inlock(st, tr, 2, (uint16_t)n, io->out)) ==
	    WID_OK)
		io->len = n;
	return r;
}

int
tpm_ca_cert_store(void *state, const uint8_t *der, size_t len)
{
	struct cert_io io = { .fn = cert_store_inlock, .in = der, .len = len };

	if (len == 0 || len > TPM_NV_CACERT_LEN - 2)
		return WID_E_LIMIT;
	return tpm_call(state, cert_index_inlock, &io);
}

int
tpm_ca_cert_load(void *state, uint8_t *der, size_t size, size_t *ret_len)
{
	struct cert_io io = { .fn = cert_load_inlock, .out = der,
	    .size = size };
	int r;

	*ret_len = 0;
	if ((r = tpm_call(state, cert_index_inlock, &io)) == WID_OK)
		*ret_len = io.len;
	return r;
}
