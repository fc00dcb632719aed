/* tools/agent/tpm.c: the TPM 2.0 key backend (tpm2-tss ESYS).
 *
 * Each task key is an ordinary signing key created under a persistent
 * storage key (SRK, WID_TPM_SRK_HANDLE).  Its blob (public + wrapped
 * private part) stays in agent memory only.  The key has no usable
 * authValue (USERWITHAUTH clear); its authPolicy, computed here in software,
 * lets the TPM itself refuse it:
 *
 *   PolicyCounterTimer(clock < deadline)      the TPM clock deadline
 *   PolicyCounterTimer(resetCount == N)       no TPM reset since keygen
 *   PolicyNV(revocation bit clear)            destroy() sets the bit
 *   PolicyCommandCode(TPM2_CC_Sign)
 *
 * so whoever copies the blob cannot use it after the deadline, after a TPM
 * reset, or after the task ended.
 *
 * Revocation bits live in one ordinary NV index of TPM_NV_BITS_LEN bytes
 * (4096 bits); a key's policy checks its one bit (PolicyNV on one byte).
 * A set bit is cleared again, so that a new key can take it, only once
 * the key that set it is dead anyway: the TPM clock has passed that key's
 * deadline, or the TPM was reset since (resetCount differs).  Clearing is
 * batched: only when no never-used bit is left, all reusable bits are
 * cleared with one write per changed chunk.  So the pool limits the keys
 * alive (or revoked and not yet past their deadline) at one time, not the
 * keys made over a run.  The epoch and the latest deadline handed out (the
 * "horizon", rounded up to spare NV writes) are kept in a second small NV
 * index: after an agent restart every set bit is kept until the horizon.
 *
 * TPM access is serialized by one mutex (the TPM runs one command at a
 * time anyway); each sign runs a fresh policy session and signs with the
 * key, which is loaded first unless it is the one key kept loaded from the
 * sign before (tpm_key_handle_inlock): so at most one task key is loaded
 * at any time, and a hot key skips Load and FlushContext.  On a transport
 * error (swtpm restarted) the backend reconnects once and retries. */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "wid/err.h"
#include "wid/proto.h"
#include "backend.h"
#include "tpm.h"
#include "tpm_int.h"
#include "tpm_policy.h"

#define TPM_META_LEN 12u        /* u32 resetCount, u64 horizon (BE) */
#define TPM_OFF_CLOCK 8u        /* offsetof TPMS_TIME_INFO.clockInfo.clock */
#define TPM_OFF_RESET 16u       /* ... .clockInfo.resetCount */
#define TPM_HORIZON_SLACK (600u * 1000u) /* ms the horizon may run ahead */

#define TPM_NV_BITS_ATTRS \
	((TPM2_NT_ORDINARY << TPMA_NV_TPM2_NT_SHIFT) | TPMA_NV_OWNERWRITE | \
	 TPMA_NV_OWNERREAD | TPMA_NV_AUTHREAD | TPMA_NV_NO_DA)

void
tpm_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("wid-agent: tpm: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void
tpm_log_rc(const char *what, TSS2_RC rc)
{
	tpm_log("%s: %s (0x%x)", what, Tss2_RC_Decode(rc), (unsigned)rc);
}

int
tpm_failed(const char *what, TSS2_RC rc)
{
	tpm_log_rc(what, rc);
	return tpm_rc_is_transport(rc) ? TPM_RECONNECT : WID_E_CRYPTO;
}

/* The connection broke (swtpm went away, socket reset). */
bool
tpm_rc_is_transport(TSS2_RC rc)
{
	unsigned base = rc & 0xffffu;

	if ((rc & TSS2_RC_LAYER_MASK) == TSS2_TCTI_RC_LAYER)
		return true;
	return (rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER &&
	    (base == TSS2_BASE_RC_IO_ERROR || base == TSS2_BASE_RC_NO_CONNECTION);
}

/* The TPM error number without the handle/session/parameter index. */
static TSS2_RC
rc_base(TSS2_RC rc)
{
	if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
		return rc;
	if (rc & TPM2_RC_FMT1)
		return rc & (TPM2_RC_FMT1 | 0x3fu);
	return rc & 0xfffu;
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, v >> 32);
	put_be32(p + 4, (uint32_t)v);
}

static uint64_t
get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* ---- revocation bits: byte bitmaps, bit n is byte n/8, mask 1<<(n%8) ---- */

static bool
bit_get(const uint8_t *map, unsigned bit)
{
	return (map[bit / 8] >> (bit % 8)) & 1;
}

static void
bit_put(uint8_t *map, unsigned bit, bool on)
{
	if (on)
		map[bit / 8] |= (uint8_t)(1u << (bit % 8));
	else
		map[bit / 8] &= (uint8_t)~(1u << (bit % 8));
}

static int
key_policy(const struct tpm_state *st, const struct tpm_key *k,
           uint8_t ret_digest[32])
{
	return wid_tpm_policy_digest(st->bits_name.name, st->bits_name.size,
	    k->deadline, k->reset_count, (uint16_t)(k->bit / 8),
	    (uint8_t)(1u << (k->bit % 8)), ret_digest);
}

/* ---- TPM plumbing; everything below expects st->lock held ---- */

static int
clock_inlock(struct tpm_state *st, uint64_t *ret_clock, uint32_t *ret_reset)
{
	TPMS_TIME_INFO *t = NULL;
	TSS2_RC rc;

	rc = Esys_ReadClock(st->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
	    &t);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_failed("ReadClock", rc);
	*ret_clock = t->clockInfo.clock;
	*ret_reset = t->clockInfo.resetCount;
	Esys_Free(t);
	return WID_OK;
}

int
wid_tpm_srk_name(void *state, char *out, size_t size)
{
	struct tpm_state *st = state;
	TPM2B_NAME *name = NULL;
	TSS2_RC rc;
	size_t i;
	int r = WID_E_CRYPTO;

	if (size > 0)
		out[0] = '\0';
	pthread_mutex_lock(&st->lock);
	rc = Esys_TR_GetName(st->esys, st->srk, &name);
	pthread_mutex_unlock(&st->lock);
	if (rc != TSS2_RC_SUCCESS) {
		tpm_log_rc("TR_GetName(SRK)", rc);
		goto out;
	}
	if (size < 2u * name->size + 1) {
		r = WID_E_LIMIT;
		goto out;
	}
	for (i = 0; i < name->size; i++)
		snprintf(out + 2 * i, 3, "%02x", name->name[i]);
	r = WID_OK;
out:
	Esys_Free(name);
	return r;
}

/* Use the storage key at WID_TPM_SRK_HANDLE, creating it if missing. */
static int
srk_inlock(struct tpm_state *st)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_PUBLIC tmpl = { 0 }, *pub = NULL;
	TPMA_OBJECT need = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
	ESYS_TR primary = ESYS_TR_NONE;
	TSS2_RC rc;
	int r = WID_E_CRYPTO;

	rc = Esys_TR_FromTPMPublic(st->esys, WID_TPM_SRK_HANDLE, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, &st->srk);
	if (rc == TSS2_RC_SUCCESS) {
		rc = Esys_ReadPublic(st->esys, st->srk, ESYS_TR_NONE,
		    ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL, NULL);
		if (rc != TSS2_RC_SUCCESS) {
			tpm_log_rc("ReadPublic(SRK)", rc);
			goto out;
		}
		if ((pub->publicArea.objectAttributes & need) != need ||
		    (pub->publicArea.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT)) {
			tpm_log("0x%x is not a storage key", WID_TPM_SRK_HANDLE);
			goto out;
		}
		r = WID_OK;
		goto out;
	}
	if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER &&
	    (rc & TSS2_RC_LAYER_MASK) != TSS2_RESMGR_TPM_RC_LAYER) {
		tpm_log_rc("SRK lookup", rc);
		goto out;
	}
	/* The TCG storage key template (ECC P-256, AES-128-CFB). */
	tmpl.publicArea.type = TPM2_ALG_ECC;
	tmpl.publicArea.nameAlg = TPM2_ALG_SHA256;
	tmpl.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM |
	    TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
	    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA |
	    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
	tmpl.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
	tmpl.publicArea.parameters.eccDetail.symmetric.keyBits.aes = 128;
	tmpl.publicArea.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	tmpl.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	tmpl.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	tmpl.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	tmpl.publicArea.unique.ecc.x.size = 32;
	tmpl.publicArea.unique.ecc.y.size = 32;
	rc = Esys_CreatePrimary(st->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
	    ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs,
	    &primary, NULL, NULL, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		tpm_log_rc("CreatePrimary(SRK)", rc);
		goto out;
	}
	rc = Esys_EvictControl(st->esys, ESYS_TR_RH_OWNER, primary,
	    ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, WID_TPM_SRK_HANDLE,
	    &st->srk);
	if (rc != TSS2_RC_SUCCESS) {
		tpm_log_rc("EvictControl(SRK)", rc);
		goto out;
	}
	tpm_log("created storage key 0x%x", WID_TPM_SRK_HANDLE);
	r = WID_OK;
 out:
	if (primary != ESYS_TR_NONE)
		Esys_FlushContext(st->esys, primary);
	Esys_Free(pub);
	return r;
}

/* Writes len bytes at off of the NV index tr, in chunks. */
int
tpm_nv_write_inlock(struct tpm_state *st, ESYS_TR tr, uint16_t off,
                    const uint8_t *data, size_t len)
{
	TPM2B_MAX_NV_BUFFER b;
	size_t n;
	TSS2_RC rc;

	while (len > 0) {
		n = len < TPM_NV_CHUNK ? len : TPM_NV_CHUNK;
		b.size = (uint16_t)n;
		memcpy(b.buffer, data, n);
		rc = Esys_NV_Write(st->esys, ESYS_TR_RH_OWNER, tr,
		    ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &b, off);
		if (rc != TSS2_RC_SUCCESS)
			return tpm_failed("NV_Write", rc);
		off += (uint16_t)n;
		data += n;
		len -= n;
	}
	return WID_OK;
}

static int
nv_write_meta_inlock(struct tpm_state *st, uint32_t epoch, uint64_t horizon)
{
	uint8_t b[TPM_META_LEN];

	put_be32(b, epoch);
	put_be64(b + 4, horizon);
	return tpm_nv_write_inlock(st, st->nv_meta, 0, b, sizeof(b));
}

/* Opens the NV index at `handle`, defining it (zero-filled) if missing;
 * refuses an index with other attributes or size. */
int
tpm_nv_open_inlock(struct tpm_state *st, TPM2_HANDLE handle,
                   TPMA_NV attrs, uint16_t size, ESYS_TR *ret_tr)
{
	static const uint8_t zero[TPM_NV_MAX_LEN];
	TPM2B_NV_PUBLIC tmpl = { 0 }, *pub = NULL;
	TPM2B_AUTH auth = { 0 };
	ESYS_TR tr = ESYS_TR_NONE;
	TSS2_RC rc;
	int r = WID_E_CRYPTO;

	if (size > sizeof(zero))
		goto out;
	rc = Esys_TR_FromTPMPublic(st->esys, handle, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, &tr);
	if (rc == TSS2_RC_SUCCESS) {
		rc = Esys_NV_ReadPublic(st->esys, tr, ESYS_TR_NONE,
		    ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL);
		if (rc != TSS2_RC_SUCCESS) {
			tpm_log_rc("NV_ReadPublic", rc);
			goto out;
		}
		if ((pub->nvPublic.attributes & ~TPMA_NV_WRITTEN) != attrs ||
		    pub->nvPublic.dataSize != size ||
		    pub->nvPublic.nameAlg != TPM2_ALG_SHA256 ||
		    pub->nvPublic.authPolicy.size != 0) {
			tpm_log("NV index 0x%x exists with other attributes "
			    "or size (an older wid's? undefine it with "
			    "tpm2_nvundefine 0x%x)", handle, handle);
			goto out;
		}
		if (pub->nvPublic.attributes & TPMA_NV_WRITTEN) {
			r = WID_OK;
			goto out;
		}
	} else {
		if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER &&
		    (rc & TSS2_RC_LAYER_MASK) != TSS2_RESMGR_TPM_RC_LAYER) {
			tpm_log_rc("NV lookup", rc);
			goto out;
		}
		tmpl.nvPublic.nvIndex = handle;
		tmpl.nvPublic.nameAlg = TPM2_ALG_SHA256;
		tmpl.nvPublic.attributes = attrs;
		tmpl.nvPublic.dataSize = size;
		rc = Esys_NV_DefineSpace(st->esys, ESYS_TR_RH_OWNER,
		    ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &auth, &tmpl,
		    &tr);
		if (rc != TSS2_RC_SUCCESS) {
			tpm_log_rc("NV_DefineSpace", rc);
			goto out;
		}
	}
	/* PolicyNV and NV_Read need a written index; its name changes with
	 * WRITTEN, so this comes before bits_name_inlock. */
	if ((r = tpm_nv_write_inlock(st, tr, 0, zero, size)) != WID_OK) {
		r = WID_E_CRYPTO;
		goto out;
	}
	r = WID_OK;
 out:
	Esys_Free(pub);
	if (r == WID_OK)
		*ret_tr = tr;
	else if (tr != ESYS_TR_NONE)
		Esys_TR_Close(st->esys, &tr);
	return r;
}

int
tpm_nv_read_inlock(struct tpm_state *st, ESYS_TR tr, uint16_t off,
                   uint16_t size, uint8_t *out)
{
	TPM2B_MAX_NV_BUFFER *b = NULL;
	uint16_t n;
	TSS2_RC rc;
	int r = WID_E_CRYPTO;

	while (size > 0) {
		n = size < TPM_NV_CHUNK ? size : TPM_NV_CHUNK;
		rc = Esys_NV_Read(st->esys, tr, tr, ESYS_TR_PASSWORD,
		    ESYS_TR_NONE, ESYS_TR_NONE, n, off, &b);
		if (rc != TSS2_RC_SUCCESS) {
			r = tpm_failed("NV_Read", rc);
			goto out;
		}
		if (b->size != n)
			goto out;
		memcpy(out, b->buffer, n);
		Esys_Free(b);
		b = NULL;
		out += n;
		off += n;
		size -= n;
	}
	r = WID_OK;
 out:
	Esys_Free(b);
	return r;
}

static int
bits_name_inlock(struct tpm_state *st)
{
	TPM2B_NV_PUBLIC *pub = NULL;
	TPM2B_NAME *name = NULL;
	TSS2_RC rc;

	/* Refresh: the name covers TPMA_NV_WRITTEN. */
	rc = Esys_NV_ReadPublic(st->esys, st->nv_bits, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, &pub, &name);
	if (rc != TSS2_RC_SUCCESS) {
		tpm_log_rc("NV_ReadPublic(bits)", rc);
		return WID_E_CRYPTO;
	}
	st->bits_name = *name;
	Esys_Free(pub);
	Esys_Free(name);
	return WID_OK;
}

/* Writes the bytes of st->bits that differ from `old` (whole chunks). */
static int
bits_flush_inlock(struct tpm_state *st, const uint8_t *old)
{
	unsigned c;
	int r;

	for (c = 0; c < TPM_NV_BITS_LEN; c += TPM_NV_CHUNK) {
		if (memcmp(old + c, st->bits + c, TPM_NV_CHUNK) == 0)
			continue;
		if ((r = tpm_nv_write_inlock(st, st->nv_bits, (uint16_t)c,
		    st->bits + c, TPM_NV_CHUNK)) != WID_OK)
			return r;
	}
	return WID_OK;
}

/* A new epoch (TPM reset): every key made before is dead.  Clears all
 * bits and the horizon. */
static int
new_epoch_inlock(struct tpm_state *st, uint32_t epoch)
{
	uint8_t old[TPM_NV_BITS_LEN];
	int r;

	memcpy(old, st->bits, sizeof(old));
	memset(st->bits, 0, sizeof(st->bits));
	if ((r = bits_flush_inlock(st, old)) != WID_OK ||
	    (r = nv_write_meta_inlock(st, epoch, 0)) != WID_OK)
		return r;
	memset(st->live, 0, sizeof(st->live));
	memset(st->until, 0, sizeof(st->until));
	st->n_live = 0;
	st->epoch = epoch;
	st->horizon = 0;
	return WID_OK;
}

/* Clears every set bit whose key is dead (clock past its deadline) and
 * that no live key holds; returns how many bits it freed. */
static int
reclaim_inlock(struct tpm_state *st, uint64_t clock, unsigned *ret_freed)
{
	uint8_t old[TPM_NV_BITS_LEN];
	unsigned bit, freed = 0;
	int r;

	*ret_freed = 0;
	memcpy(old, st->bits, sizeof(old));
	for (bit = 0; bit < TPM_NV_NBITS; bit++) {
		if (bit_get(st->bits, bit) && !bit_get(st->live, bit) &&
		    clock >= st->until[bit]) {
			bit_put(st->bits, bit, false);
			st->until[bit] = 0;
			freed++;
		}
	}
	if (freed == 0)
		return WID_OK;
	if ((r = bits_flush_inlock(st, old)) != WID_OK) {
		memcpy(st->bits, old, sizeof(old)); /* NV state unknown: keep */
		return r;
	}
	*ret_freed = freed;
	return WID_OK;
}

/* Reads the revocation state from NV.  A set bit of this epoch stays set
 * until the horizon (which key set it is not recorded in the TPM). */
static int
sync_bits_inlock(struct tpm_state *st)
{
	uint8_t meta[TPM_META_LEN];
	uint64_t clock, horizon;
	uint32_t epoch, meta_epoch;
	unsigned bit;
	int r;

	if ((r = clock_inlock(st, &clock, &epoch)) != WID_OK ||
	    (r = tpm_nv_read_inlock(st, st->nv_meta, 0, TPM_META_LEN, meta)) !=
	    WID_OK ||
	    (r = tpm_nv_read_inlock(st, st->nv_bits, 0, TPM_NV_BITS_LEN,
	    st->bits)) != WID_OK)
		return r;
	meta_epoch = (uint32_t)meta[0] << 24 | (uint32_t)meta[1] << 16 |
	    (uint32_t)meta[2] << 8 | meta[3];
	horizon = get_be64(meta + 4);
	if (meta_epoch != epoch)
		return new_epoch_inlock(st, epoch);
	if (epoch != st->epoch) {
		/* Agent start (or another epoch's state in memory): keys we
		 * knew are dead; bits set in this epoch wait for the horizon
		 * (reclaim_inlock clears them once the clock passes it). */
		memset(st->live, 0, sizeof(st->live));
		memset(st->until, 0, sizeof(st->until));
		st->n_live = 0;
		for (bit = 0; bit < TPM_NV_NBITS; bit++)
			if (bit_get(st->bits, bit))
				st->until[bit] = horizon;
	}
	st->epoch = epoch;
	st->horizon = horizon;
	(void)clock;
	return WID_OK;
}

static void
disconnect_inlock(struct tpm_state *st)
{
	if (st->esys != NULL)
		Esys_Finalize(&st->esys);
	if (st->tcti != NULL)
		Tss2_TctiLdr_Finalize(&st->tcti);
	st->esys = NULL;
	st->tcti = NULL;
	st->srk = st->nv_bits = st->nv_meta = st->ak = st->loaded =
	    ESYS_TR_NONE;
	st->loaded_id = 0;
}

static int
connect_inlock(struct tpm_state *st)
{
	TSS2_RC rc;
	int r = WID_E_CRYPTO;

	rc = Tss2_TctiLdr_Initialize(st->conf, &st->tcti);
	if (rc != TSS2_RC_SUCCESS) {
		tpm_log_rc("TCTI initialize", rc);
		goto out;
	}
	rc = Esys_Initialize(&st->esys, st->tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		tpm_log_rc("Esys_Initialize", rc);
		goto out;
	}
	rc = Esys_Startup(st->esys, TPM2_SU_CLEAR);
	if (rc != TSS2_RC_SUCCESS && rc != TPM2_RC_INITIALIZE) {
		tpm_log_rc("Startup", rc);
		goto out;
	}
	if ((r = srk_inlock(st)) != WID_OK ||
	    (r = tpm_nv_open_inlock(st, WID_TPM_NV_META, TPM_NV_META_ATTRS,
	    TPM_META_LEN, &st->nv_meta)) != WID_OK ||
	    (r = tpm_nv_open_inlock(st, WID_TPM_NV_BITS, TPM_NV_BITS_ATTRS,
	    TPM_NV_BITS_LEN,
	    &st->nv_bits)) != WID_OK ||
	    (r = bits_name_inlock(st)) != WID_OK ||
	    (r = sync_bits_inlock(st)) != WID_OK) {
		if (r == TPM_RECONNECT)
			r = WID_E_CRYPTO;
		goto out;
	}
	r = WID_OK;
 out:
	if (r != WID_OK)
		disconnect_inlock(st);
	return r;
}

int
tpm_call(struct tpm_state *st, int (*fn)(struct tpm_state *, void *),
         void *arg)
{
	int r;

	pthread_mutex_lock(&st->lock);
	r = st->esys == NULL ? TPM_RECONNECT : fn(st, arg);
	if (r == TPM_RECONNECT) {
		tpm_log("connection to the TPM lost, reconnecting");
		disconnect_inlock(st);
		if ((r = connect_inlock(st)) == WID_OK &&
		    (r = fn(st, arg)) == TPM_RECONNECT)
			r = WID_E_CRYPTO;
	}
	pthread_mutex_unlock(&st->lock);
	return r;
}

/* ---- ops ---- */

static int
tpm_open(const char *conf, void **ret_state)
{
	struct tpm_state *st;
	int r;

	*ret_state = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return WID_E_NOMEM;
	if ((st->conf = strdup(conf != NULL ? conf : "device:/dev/tpmrm0")) ==
	    NULL) {
		free(st);
		return WID_E_NOMEM;
	}
	st->srk = st->nv_bits = st->nv_meta = st->ak = st->loaded =
	    ESYS_TR_NONE;
	st->loaded_id = 0;
	if (pthread_mutex_init(&st->lock, NULL) != 0) {
		free(st->conf);
		free(st);
		return WID_E_INTERNAL;
	}
	/* Epoch is unknown until the first sync. */
	st->epoch = UINT32_MAX;
	st->pool = TPM_NV_NBITS;
	if ((r = connect_inlock(st)) != WID_OK) {
		pthread_mutex_destroy(&st->lock);
		free(st->conf);
		free(st);
		return r;
	}
	*ret_state = st;
	return WID_OK;
}

static void
tpm_close(void *state)
{
	struct tpm_state *st = state;

	if (st == NULL)
		return;
	pthread_mutex_lock(&st->lock);
	disconnect_inlock(st);
	pthread_mutex_unlock(&st->lock);
	pthread_mutex_destroy(&st->lock);
	free(st->conf);
	free(st);
}

int
tpm_make_spki(const TPM2B_PUBLIC *pub, uint8_t *out, size_t *ret_len)
{
	const TPMT_PUBLIC *p = &pub->publicArea;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *n = NULL, *e = NULL;
	uint8_t point[1 + 2 * 48];
	unsigned char *q;
	size_t fsize = 0;
	int len, r = WID_E_CRYPTO;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		goto out;
	if (p->type == TPM2_ALG_ECC) {
		const char *group;
		const TPMS_ECC_POINT *u = &p->unique.ecc;

		switch (p->parameters.eccDetail.curveID) {
		case TPM2_ECC_NIST_P256: group = "P-256"; fsize = 32; break;
		case TPM2_ECC_NIST_P384: group = "P-384"; fsize = 48; break;
		default: goto out;
		}
		if (u->x.size > fsize || u->y.size > fsize)
			goto out;
		memset(point, 0, sizeof(point));
		point[0] = 0x04;
		memcpy(point + 1 + fsize - u->x.size, u->x.buffer, u->x.size);
		memcpy(point + 1 + 2 * fsize - u->y.size, u->y.buffer, u->y.size);
		if (!OSSL_PARAM_BLD_push_utf8_string(bld,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld,
		    OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * fsize))
			goto out;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	} else if (p->type == TPM2_ALG_RSA) {
		uint32_t exp = p->parameters.rsaDetail.exponent;

		if ((n = BN_bin2bn(p->unique.rsa.buffer, p->unique.rsa.size,
		    NULL)) == NULL || (e = BN_new()) == NULL ||
		    !BN_set_word(e, exp != 0 ? exp : 65537) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			goto out;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	} else
		goto out;
	if (ctx == NULL || (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	if ((len = i2d_PUBKEY(pkey, NULL)) <= 0 || len > WID_SPKI_MAX)
		goto out;
	q = out;
	if (i2d_PUBKEY(pkey, &q) != len)
		goto out;
	*ret_len = (size_t)len;
	r = WID_OK;
 out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return r;
}

static int
template_for(int key_type, TPM2B_PUBLIC *t)
{
	TPMT_PUBLIC *p = &t->publicArea;

	memset(t, 0, sizeof(*t));
	p->nameAlg = TPM2_ALG_SHA256;
	p->objectAttributes = TPM_KEY_ATTRS;
	switch (key_type) {
	case WID_KEY_EC_P256:
	case WID_KEY_EC_P384:
		p->type = TPM2_ALG_ECC;
		p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
		p->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
		p->parameters.eccDetail.curveID = key_type == WID_KEY_EC_P256 ?
		    TPM2_ECC_NIST_P256 : TPM2_ECC_NIST_P384;
		p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
		return WID_OK;
	case WID_KEY_RSA2048:
	case WID_KEY_RSA3072:
		p->type = TPM2_ALG_RSA;
		p->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
		p->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
		p->parameters.rsaDetail.keyBits = key_type == WID_KEY_RSA2048 ?
		    2048 : 3072;
		p->parameters.rsaDetail.exponent = 0;
		return WID_OK;
	case WID_KEY_ED25519:
		tpm_log("TPM 2.0 has no Ed25519: use the soft backend or an EC key");
		return WID_E_UNSUPPORTED;
	default:
		return WID_E_BADARG;
	}
}

/* The next bit neither set nor live, from next_bit on, or TPM_NV_NBITS. */
static unsigned
find_free_bit(const struct tpm_state *st)
{
	unsigned i, bit;

	for (i = 0; i < st->pool; i++) {
		bit = (st->next_bit + i) % st->pool;
		if (!bit_get(st->bits, bit) && !bit_get(st->live, bit))
			return bit;
	}
	return TPM_NV_NBITS;
}

/* A key is gone from the agent: its bit is no longer live.  A revoked
 * bit stays set until the key's deadline. */
static void
bit_release_inlock(struct tpm_state *st, const struct tpm_key *k)
{
	if (k->reset_count != st->epoch || !bit_get(st->live, k->bit))
		return;
	bit_put(st->live, k->bit, false);
	st->n_live--;
	if (bit_get(st->bits, k->bit) && st->until[k->bit] < k->deadline)
		st->until[k->bit] = k->deadline;
}

static int
keygen_inlock(struct tpm_state *st, struct tpm_key *k, uint32_t ttl)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_PRIVATE *priv = NULL;
	TPM2B_PUBLIC *pub = NULL;
	uint64_t clock, ms = (uint64_t)ttl * 1000;
	uint32_t epoch;
	unsigned bit, freed = 0;
	TSS2_RC rc;
	int r;

	if ((r = clock_inlock(st, &clock, &epoch)) != WID_OK)
		goto out;
	if (epoch != st->epoch && (r = sync_bits_inlock(st)) != WID_OK)
		goto out;
	if (clock > UINT64_MAX - ms) {
		r = WID_E_BADARG;
		goto out;
	}
	k->deadline = clock + ms;
	k->reset_count = epoch;
	if ((bit = find_free_bit(st)) == TPM_NV_NBITS) {
		if ((r = reclaim_inlock(st, clock, &freed)) != WID_OK)
			goto out;
		if (freed == 0 || (bit = find_free_bit(st)) == TPM_NV_NBITS) {
			tpm_log("no free revocation bit: %u keys are alive or "
			    "revoked before their deadline", st->pool);
			r = WID_E_LIMIT;
			goto out;
		}
	}
	k->bit = bit;
	/* Record the horizon before the key exists, ahead by one ttl (at
	 * most TPM_HORIZON_SLACK), so that not every key costs a write. */
	if (k->deadline > st->horizon) {
		uint64_t h = k->deadline + (ms < TPM_HORIZON_SLACK ? ms :
		    TPM_HORIZON_SLACK);

		if ((r = nv_write_meta_inlock(st, epoch, h)) != WID_OK)
			goto out;
		st->horizon = h;
	}
	k->pub.publicArea.authPolicy.size = 32;
	if ((r = key_policy(st, k, k->pub.publicArea.authPolicy.buffer)) !=
	    WID_OK)
		goto out;
	/* Create needs object slots (the SRK, the new key): a bare TPM
	 * (swtpm) has three. */
	tpm_key_unload_inlock(st);
	rc = Esys_Create(st->esys, st->srk, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, &sens, &k->pub, &outside, &pcrs, &priv, &pub, NULL,
	    NULL, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		r = tpm_failed("Create", rc);
		goto out;
	}
	k->pub = *pub;
	k->priv = *priv;
	k->id = ++st->next_key_id;
	bit_put(st->live, bit, true);
	st->n_live++;
	st->next_bit = (bit + 1) % st->pool;
	r = WID_OK;
 out:
	Esys_Free(pub);
	if (priv != NULL) {
		OPENSSL_cleanse(priv, sizeof(*priv));
		Esys_Free(priv);
	}
	return r;
}

void
tpm_key_free(struct tpm_key *k)
{
	if (k == NULL)
		return;
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

struct keygen_call {
	struct tpm_key *k;
	uint32_t ttl;
};

static int
keygen_call(struct tpm_state *st, void *arg)
{
	struct keygen_call *c = arg;

	template_for(c->k->type, &c->k->pub);   /* again after a failure */
	return keygen_inlock(st, c->k, c->ttl);
}

static int
tpm_keygen(void *state, int key_type, uint32_t ttl, void **ret_key)
{
	struct tpm_state *st = state;
	struct tpm_key *k;
	int r;

	*ret_key = NULL;
	if (ttl == 0)
		return WID_E_BADARG;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return WID_E_NOMEM;
	k->type = key_type;
	if ((r = template_for(key_type, &k->pub)) != WID_OK ||
	    (r = tpm_call(st, keygen_call,
	    &(struct keygen_call){ k, ttl })) != WID_OK)
		goto out;
	if ((r = tpm_make_spki(&k->pub, k->spki, &k->spki_len)) != WID_OK) {
		tpm_log("cannot encode the public key");
		goto out;
	}
	*ret_key = k;
	k = NULL;
 out:
	if (k != NULL && r != WID_OK && k->priv.size != 0) {
		/* Made but unusable here; its blob dies with it below. */
		pthread_mutex_lock(&st->lock);
		bit_release_inlock(st, k);
		pthread_mutex_unlock(&st->lock);
	}
	tpm_key_free(k);
	return r;
}

static int
tpm_spki(void *state, void *key, uint8_t *out, size_t *ret_len)
{
	struct tpm_key *k = key;

	memcpy(out, k->spki, k->spki_len);
	*ret_len = k->spki_len;
	return WID_OK;
}

/* Hash algorithm and size for a digest of `len` bytes. */
static int
hash_by_len(size_t len, TPMI_ALG_HASH *ret_alg)
{
	switch (len) {
	case 20: *ret_alg = TPM2_ALG_SHA1; return WID_OK;
	case 32: *ret_alg = TPM2_ALG_SHA256; return WID_OK;
	case 48: *ret_alg = TPM2_ALG_SHA384; return WID_OK;
	case 64: *ret_alg = TPM2_ALG_SHA512; return WID_OK;
	default: return WID_E_MECH;
	}
}

static int
hash_by_wid(int hash, TPMI_ALG_HASH *ret_alg, size_t *ret_len)
{
	switch (hash) {
	case WID_HASH_SHA1: *ret_alg = TPM2_ALG_SHA1; *ret_len = 20; break;
	case WID_HASH_SHA256: *ret_alg = TPM2_ALG_SHA256; *ret_len = 32; break;
	case WID_HASH_SHA384: *ret_alg = TPM2_ALG_SHA384; *ret_len = 48; break;
	case WID_HASH_SHA512: *ret_alg = TPM2_ALG_SHA512; *ret_len = 64; break;
	default: return WID_E_MECH;
	}
	return WID_OK;
}

/* RFC 8017 9.2 note 1: the DER DigestInfo prefixes the TPM can sign. */
static const struct {
	TPMI_ALG_HASH alg;
	uint8_t len;
	uint8_t prefix[19];
	uint8_t prefix_len;
} digest_infos[] = {
	{ TPM2_ALG_SHA1, 20, { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
	    0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14 }, 15 },
	{ TPM2_ALG_SHA256, 32, { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
	    0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
	    0x20 }, 19 },
	{ TPM2_ALG_SHA384, 48, { 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60,
	    0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04,
	    0x30 }, 19 },
	{ TPM2_ALG_SHA512, 64, { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60,
	    0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04,
	    0x40 }, 19 },
};

/* Turns a request into the TPM's digest and scheme. */
static int
sign_params(const struct tpm_key *k, const struct wid_sign_req *req,
            TPM2B_DIGEST *ret_digest, TPMT_SIG_SCHEME *ret_scheme)
{
	const uint8_t *d = req->data;
	size_t dlen = req->data_len, want, i;
	TPMI_ALG_HASH alg;
	bool ec = k->type == WID_KEY_EC_P256 || k->type == WID_KEY_EC_P384;
	int r;

	memset(ret_scheme, 0, sizeof(*ret_scheme));
	switch (req->alg) {
	case WID_SIG_ECDSA:
		if (!ec || (r = hash_by_len(dlen, &alg)) != WID_OK)
			return WID_E_MECH;
		ret_scheme->scheme = TPM2_ALG_ECDSA;
		ret_scheme->details.ecdsa.hashAlg = alg;
		break;
	case WID_SIG_RSA_PKCS1:
		if (ec)
			return WID_E_MECH;
		for (i = 0; i < sizeof(digest_infos) / sizeof(digest_infos[0]);
		    i++) {
			if (dlen == (size_t)digest_infos[i].prefix_len +
			    digest_infos[i].len && memcmp(d,
			    digest_infos[i].prefix, digest_infos[i].prefix_len) == 0)
				break;
		}
		if (i == sizeof(digest_infos) / sizeof(digest_infos[0]))
			return WID_E_MECH;  /* raw or unknown: TPM cannot */
		alg = digest_infos[i].alg;
		d += digest_infos[i].prefix_len;
		dlen = digest_infos[i].len;
		ret_scheme->scheme = TPM2_ALG_RSASSA;
		ret_scheme->details.rsassa.hashAlg = alg;
		break;
	case WID_SIG_RSA_PSS:
		if (ec || hash_by_wid(req->hash, &alg, &want) != WID_OK ||
		    dlen != want || req->salt != want)
			return WID_E_MECH;  /* the TPM's salt is the hash length */
		ret_scheme->scheme = TPM2_ALG_RSAPSS;
		ret_scheme->details.rsapss.hashAlg = alg;
		break;
	default:
		return WID_E_MECH;
	}
	if (dlen > sizeof(ret_digest->buffer))
		return WID_E_MECH;
	ret_digest->size = dlen;
	memcpy(ret_digest->buffer, d, dlen);
	return WID_OK;
}

/* After TPM_RC_POLICY: why did the TPM refuse? */
static int
policy_reason_inlock(struct tpm_state *st, const struct tpm_key *k,
                     TSS2_RC rc)
{
	uint8_t bits[1];
	uint64_t clock;
	uint32_t reset;
	int r;

	if ((r = clock_inlock(st, &clock, &reset)) != WID_OK)
		return WID_E_CRYPTO;
	if (clock >= k->deadline) {
		tpm_log("TPM refused the key: %s (0x%x): TPM clock %llu past "
		    "the deadline %llu", Tss2_RC_Decode(rc), (unsigned)rc,
		    (unsigned long long)clock, (unsigned long long)k->deadline);
		return WID_E_EXPIRED;
	}
	if (reset != k->reset_count) {
		tpm_log("TPM refused the key: %s (0x%x): TPM reset since keygen "
		    "(resetCount %u, key %u)", Tss2_RC_Decode(rc), (unsigned)rc,
		    reset, k->reset_count);
		if (reset != st->epoch)
			(void)sync_bits_inlock(st);     /* new epoch */
		return WID_E_CRYPTO;
	}
	if (tpm_nv_read_inlock(st, st->nv_bits, (uint16_t)(k->bit / 8), 1,
	    bits) == WID_OK && (bits[0] >> (k->bit % 8) & 1)) {
		tpm_log("TPM refused the key: %s (0x%x): key revoked",
		    Tss2_RC_Decode(rc), (unsigned)rc);
		return WID_E_ENDED;
	}
	tpm_log_rc("TPM refused the key", rc);
	return WID_E_CRYPTO;
}

/* The TPM handle of k, loading it (and unloading the key loaded before)
 * when it is not the one loaded.  One task key is loaded at a time, so
 * hot keys skip Load and FlushContext, and the TPM never fills up. */
TSS2_RC
tpm_key_handle_inlock(struct tpm_state *st, const struct tpm_key *k,
                      ESYS_TR *ret_handle)
{
	TSS2_RC rc;

	if (st->loaded != ESYS_TR_NONE && st->loaded_id == k->id) {
		*ret_handle = st->loaded;
		return TSS2_RC_SUCCESS;
	}
	tpm_key_unload_inlock(st);
	rc = Esys_Load(st->esys, st->srk, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, &k->priv, &k->pub, &st->loaded);
	if (rc != TSS2_RC_SUCCESS) {
		st->loaded = ESYS_TR_NONE;
		return rc;
	}
	st->loaded_id = k->id;
	*ret_handle = st->loaded;
	return TSS2_RC_SUCCESS;
}

void
tpm_key_unload_inlock(struct tpm_state *st)
{
	if (st->loaded != ESYS_TR_NONE && st->esys != NULL)
		Esys_FlushContext(st->esys, st->loaded);
	st->loaded = ESYS_TR_NONE;
	st->loaded_id = 0;
}

static int
sign_inlock(struct tpm_state *st, const struct tpm_key *k,
            const TPM2B_DIGEST *digest, const TPMT_SIG_SCHEME *scheme,
            TPMT_SIGNATURE **ret_sig)
{
	static const TPMT_SYM_DEF sym_null = { .algorithm = TPM2_ALG_NULL };
	TPMT_TK_HASHCHECK check = {
		.tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL,
	};
	TPM2B_OPERAND clock = { .size = 8 }, reset = { .size = 4 },
	    mask = { .size = 1 };
	ESYS_TR key = ESYS_TR_NONE, sess = ESYS_TR_NONE;
	const char *what;
	TSS2_RC rc;
	int r = WID_E_CRYPTO;

	put_be64(clock.buffer, k->deadline);
	put_be32(reset.buffer, k->reset_count);
	mask.buffer[0] = (uint8_t)(1u << (k->bit % 8));

	what = "Load";
	if ((rc = tpm_key_handle_inlock(st, k, &key)) != TSS2_RC_SUCCESS)
		goto fail;
	what = "StartAuthSession";
	rc = Esys_StartAuthSession(st->esys, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_POLICY,
	    &sym_null, TPM2_ALG_SHA256, &sess);
	if (rc != TSS2_RC_SUCCESS)
		goto fail;
	/* The session ends with the Sign command. */
	rc = Esys_TRSess_SetAttributes(st->esys, sess, 0,
	    TPMA_SESSION_CONTINUESESSION);
	if (rc != TSS2_RC_SUCCESS)
		goto fail;
	what = "PolicyCounterTimer(clock)";
	rc = Esys_PolicyCounterTimer(st->esys, sess, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, &clock, TPM_OFF_CLOCK,
	    TPM2_EO_UNSIGNED_LT);
	if (rc != TSS2_RC_SUCCESS)
		goto fail;
	what = "PolicyCounterTimer(resetCount)";
	rc = Esys_PolicyCounterTimer(st->esys, sess, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, &reset, TPM_OFF_RESET, TPM2_EO_EQ);
	if (rc != TSS2_RC_SUCCESS)
		goto fail;
	what = "PolicyNV";
	rc = Esys_PolicyNV(st->esys, st->nv_bits, st->nv_bits, sess,
	    ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &mask,
	    (uint16_t)(k->bit / 8),
	    TPM2_EO_BITCLEAR);
	if (rc != TSS2_RC_SUCCESS)
		goto fail;
	what = "PolicyCommandCode";
	rc = Esys_PolicyCommandCode(st->esys, sess, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, TPM2_CC_Sign);
	if (rc != TSS2_RC_SUCCESS)
		goto fail;
	what = "Sign";
	rc = Esys_Sign(st->esys, key, sess, ESYS_TR_NONE, ESYS_TR_NONE, digest,
	    scheme, &check, ret_sig);
	if (rc != TSS2_RC_SUCCESS)
		goto fail;
	sess = ESYS_TR_NONE;    /* flushed by the TPM (continueSession clear) */
	st->last_rc = 0;
	r = WID_OK;
	goto out;
 fail:
	st->last_rc = rc;
	if (tpm_rc_is_transport(rc)) {
		tpm_log_rc(what, rc);
		r = TPM_RECONNECT;
		sess = ESYS_TR_NONE;    /* gone with the connection */
		goto out;
	}
	if (rc_base(rc) != TPM2_RC_POLICY)
		tpm_key_unload_inlock(st);  /* a stale handle? reload next time */
	switch (rc_base(rc)) {
	case TPM2_RC_POLICY:
	case TPM2_RC_POLICY_FAIL:
	case TPM2_RC_EXPIRED:
		r = policy_reason_inlock(st, k, rc);
		break;
	case TPM2_RC_HASH:
	case TPM2_RC_SCHEME:
	case TPM2_RC_SIZE:
		tpm_log_rc(what, rc);
		r = WID_E_MECH;
		break;
	default:
		tpm_log_rc(what, rc);
		r = WID_E_CRYPTO;
		break;
	}
 out:
	if (sess != ESYS_TR_NONE)
		Esys_FlushContext(st->esys, sess);
	return r;	/* the key stays loaded for the next sign */
}

struct sign_call {
	const struct tpm_key *k;
	const TPM2B_DIGEST *digest;
	const TPMT_SIG_SCHEME *scheme;
	TPMT_SIGNATURE **sig;
};

static int
sign_call(struct tpm_state *st, void *arg)
{
	struct sign_call *c = arg;

	return c->k->persistent != 0 ?
	    tpm_ca_sign_inlock(st, c->k, c->digest, c->scheme, c->sig) :
	    sign_inlock(st, c->k, c->digest, c->scheme, c->sig);
}

static int
tpm_sign(void *state, void *key, const struct wid_sign_req *req,
         uint8_t *sig, size_t *ret_len)
{
	struct tpm_state *st = state;
	struct tpm_key *k = key;
	TPMT_SIGNATURE *s = NULL;
	TPMT_SIG_SCHEME scheme;
	TPM2B_DIGEST digest;
	size_t fsize, len = 0;
	int r;

	*ret_len = 0;
	if (req->data == NULL && req->data_len != 0)
		return WID_E_BADARG;
	if ((r = sign_params(k, req, &digest, &scheme)) != WID_OK)
		return r;
	r = tpm_call(st, sign_call,
	    &(struct sign_call){ k, &digest, &scheme, &s });
	OPENSSL_cleanse(&digest, sizeof(digest));
	if (r != WID_OK)
		goto out;
	r = WID_E_CRYPTO;
	if (s->sigAlg == TPM2_ALG_ECDSA) {
		const TPMS_SIGNATURE_ECC *e = &s->signature.ecdsa;

		fsize = k->type == WID_KEY_EC_P256 ? 32 : 48;
		if (e->signatureR.size > fsize || e->signatureS.size > fsize)
			goto out;
		memset(sig, 0, 2 * fsize);
		memcpy(sig + fsize - e->signatureR.size, e->signatureR.buffer,
		    e->signatureR.size);
		memcpy(sig + 2 * fsize - e->signatureS.size,
		    e->signatureS.buffer, e->signatureS.size);
		len = 2 * fsize;
	} else if (s->sigAlg == TPM2_ALG_RSASSA || s->sigAlg == TPM2_ALG_RSAPSS) {
		const TPM2B_PUBLIC_KEY_RSA *rs = &s->signature.rsassa.sig;

		if (rs->size > WID_SIG_MAX)
			goto out;
		memcpy(sig, rs->buffer, rs->size);
		len = rs->size;
	} else
		goto out;
	*ret_len = len;
	r = WID_OK;
 out:
	Esys_Free(s);
	return r;
}

static int
revoke_inlock(struct tpm_state *st, struct tpm_key *k, bool force)
{
	uint64_t clock;
	uint32_t epoch;
	uint8_t byte;
	int r;

	if ((r = clock_inlock(st, &clock, &epoch)) != WID_OK)
		return r;
	if (epoch != st->epoch && (r = sync_bits_inlock(st)) != WID_OK)
		return r;
	if (k->reset_count != st->epoch)
		return WID_OK;  /* dead already: the TPM was reset */
	if (clock >= k->deadline && !force)
		return WID_OK;  /* dead already: past its deadline */
	byte = st->bits[k->bit / 8] | (uint8_t)(1u << (k->bit % 8));
	if ((r = tpm_nv_write_inlock(st, st->nv_bits, (uint16_t)(k->bit / 8),
	    &byte, 1)) != WID_OK)
		return r;
	bit_put(st->bits, k->bit, true);
	if (st->until[k->bit] < k->deadline)
		st->until[k->bit] = k->deadline;
	return WID_OK;
}

struct revoke_call {
	struct tpm_key *k;
	bool force;
};

static int
revoke_call(struct tpm_state *st, void *arg)
{
	struct revoke_call *c = arg;

	return revoke_inlock(st, c->k, c->force);
}

static int
revoke(struct tpm_state *st, struct tpm_key *key, bool force)
{
	return tpm_call(st, revoke_call, &(struct revoke_call){ key, force });
}

int
wid_tpm_revoke(void *state, void *key)
{
	return revoke(state, key, true);
}

uint32_t
wid_tpm_last_rc(void *state)
{
	struct tpm_state *st = state;
	uint32_t rc;

	pthread_mutex_lock(&st->lock);
	rc = st->last_rc;
	pthread_mutex_unlock(&st->lock);
	return rc;
}

unsigned
wid_tpm_bits_taken(void *state, unsigned *ret_pool)
{
	struct tpm_state *st = state;
	unsigned bit, n = 0;

	pthread_mutex_lock(&st->lock);
	for (bit = 0; bit < TPM_NV_NBITS; bit++)
		if (bit_get(st->bits, bit) || bit_get(st->live, bit))
			n++;
	pthread_mutex_unlock(&st->lock);
	*ret_pool = st->pool;
	return n;
}

void
wid_tpm_set_pool(void *state, unsigned nbits)
{
	struct tpm_state *st = state;

	pthread_mutex_lock(&st->lock);
	st->pool = nbits > 0 && nbits < TPM_NV_NBITS ? nbits : TPM_NV_NBITS;
	st->next_bit = 0;
	pthread_mutex_unlock(&st->lock);
}

static void
tpm_destroy(void *state, void *key)
{
	struct tpm_state *st = state;
	struct tpm_key *k = key;

	if (k == NULL)
		return;
	if (k->persistent != 0) {     /* a CA key stays in the TPM */
		tpm_key_free(k);
		return;
	}
	if (revoke(st, k, false) != WID_OK)
		tpm_log("could not revoke a key in the TPM; its deadline "
		    "still holds");
	pthread_mutex_lock(&st->lock);
	if (st->loaded_id == k->id)
		tpm_key_unload_inlock(st);
	bit_release_inlock(st, k);
	pthread_mutex_unlock(&st->lock);
	tpm_key_free(k);
}

const struct wid_backend_ops wid_backend_tpm = {
	.name = "tpm",
	.open = tpm_open,
	.close = tpm_close,
	.keygen = tpm_keygen,
	.spki = tpm_spki,
	.sign = tpm_sign,
	.destroy = tpm_destroy,
	.ca_key = tpm_ca_key,
	.ca_cert_store = tpm_ca_cert_store,
	.ca_cert_load = tpm_ca_cert_load,
};
