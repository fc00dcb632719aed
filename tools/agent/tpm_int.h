/* tools/agent/tpm_int.h: the TPM backend's internal state, shared by its
 * files (tpm.c: keys and signing; tpm_attest.c: attestation).  Not for the
 * rest of the agent: it sees only the ops table and tpm.h. */
#ifndef WID_AGENT_TPM_INT_H
#define WID_AGENT_TPM_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_esys.h>

#include "wid/proto.h"

#define TPM_RECONNECT (-1)      /* internal: transport failed, reconnect */
#define TPM_NV_BITS_LEN 512u    /* bytes of the revocation index */
#define TPM_NV_NBITS (TPM_NV_BITS_LEN * 8u)
#define TPM_NV_CACERT_LEN 1024u /* bytes of the CA certificate index */
#define TPM_NV_MAX_LEN TPM_NV_CACERT_LEN /* largest index we define */
#define TPM_NV_CHUNK 256u       /* bytes per NV_Read/NV_Write */

/* Attributes of our ordinary NV indexes: the owner writes, anyone with
 * the index's (empty) auth reads; no dictionary-attack counting. */
#define TPM_NV_META_ATTRS \
	((TPM2_NT_ORDINARY << TPMA_NV_TPM2_NT_SHIFT) | TPMA_NV_OWNERWRITE | \
	 TPMA_NV_OWNERREAD | TPMA_NV_AUTHREAD | TPMA_NV_NO_DA)
/* Every key wid makes: born in this TPM, never leaves it, signs only. */
#define TPM_KEY_ATTRS \
	(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | \
	 TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_SIGN_ENCRYPT | \
	 TPMA_OBJECT_NODA)

/* The backend: one TPM connection, guarded by `lock`. */
struct tpm_state {
	pthread_mutex_t lock;
	char *conf;                 /* TCTI string */
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	ESYS_TR srk;
	ESYS_TR nv_bits;
	ESYS_TR nv_meta;
	ESYS_TR ak;                 /* attestation key, during an attest */
	ESYS_TR loaded;             /* the one task key kept loaded */
	uint64_t loaded_id;         /* its tpm_key.id; 0: none */
	uint64_t next_key_id;
	TPM2B_NAME bits_name;       /* name of nv_bits, bound into policies */
	uint32_t epoch;             /* resetCount the bit state belongs to */
	uint64_t horizon;           /* latest deadline given out this epoch */
	unsigned next_bit;          /* where the search for a free bit starts */
	unsigned pool;              /* bits in use: TPM_NV_NBITS (tests: fewer) */
	unsigned n_live;            /* bits held by live keys */
	uint32_t last_rc;
	uint8_t bits[TPM_NV_BITS_LEN]; /* the index: set = revoked */
	uint8_t live[TPM_NV_BITS_LEN]; /* held by live keys of this epoch */
	uint64_t until[TPM_NV_NBITS];  /* a set bit stays set while clock < */
};

/* One task key: never holds private bytes in clear, only the TPM blob.
 * A CA key (tpm_ca.c) is persistent instead: `persistent` is its handle,
 * `name` its Name when found, and it has no deadline, bit or blob. */
struct tpm_key {
	int type;
	TPM2_HANDLE persistent;     /* 0: a task key */
	TPM2B_NAME name;
	uint64_t id;                /* backend-unique, never 0 */
	uint32_t reset_count;       /* TPM resetCount at keygen */
	uint64_t deadline;          /* TPM clock (ms) the key dies at */
	unsigned bit;               /* revocation bit */
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	size_t spki_len;
	uint8_t spki[WID_SPKI_MAX];
};

void tpm_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tpm_log_rc(const char *what, TSS2_RC rc);
/* The connection broke (swtpm went away, socket reset). */
bool tpm_rc_is_transport(TSS2_RC rc);
/* Runs fn(st, arg) under st->lock, as every backend call does: when the
 * connection is lost (fn returns TPM_RECONNECT) it is made again and fn
 * runs once more.  Never returns TPM_RECONNECT. */
/* Logs a failed command `what`; returns TPM_RECONNECT when the connection
 * broke, else WID_E_CRYPTO. */
int tpm_failed(const char *what, TSS2_RC rc);
int tpm_call(struct tpm_state *st, int (*fn)(struct tpm_state *, void *),
             void *arg);
/* The loaded handle of k (see tpm.c); the cache of one loaded key. */
TSS2_RC tpm_key_handle_inlock(struct tpm_state *st, const struct tpm_key *k,
                              ESYS_TR *ret_handle);
void tpm_key_unload_inlock(struct tpm_state *st);
void tpm_key_free(struct tpm_key *k);
/* NV index helpers (tpm.c): open (defining it zero-filled when missing,
 * refusing other attributes or size), write and read in chunks. */
int tpm_nv_open_inlock(struct tpm_state *st, TPM2_HANDLE handle,
                       TPMA_NV attrs, uint16_t size, ESYS_TR *ret_tr);
int tpm_nv_write_inlock(struct tpm_state *st, ESYS_TR tr, uint16_t off,
                        const uint8_t *data, size_t len);
int tpm_nv_read_inlock(struct tpm_state *st, ESYS_TR tr, uint16_t off,
                       uint16_t size, uint8_t *out);
/* The CA keys (tpm_ca.c): the ops table entries and signing with one. */
int tpm_ca_key(void *state, unsigned which, int create, void **ret_key);
int tpm_ca_cert_store(void *state, const uint8_t *der, size_t len);
int tpm_ca_cert_load(void *state, uint8_t *der, size_t size,
                     size_t *ret_len);
int tpm_ca_sign_inlock(struct tpm_state *st, const struct tpm_key *k,
                       const TPM2B_DIGEST *digest,
                       const TPMT_SIG_SCHEME *scheme,
                       TPMT_SIGNATURE **ret_sig);
/* DER SubjectPublicKeyInfo of a TPM public area. */
int tpm_make_spki(const TPM2B_PUBLIC *pub, uint8_t *out, size_t *ret_len);

#endif
