/* tools/agent/tpm.h: what the TPM backend offers beyond the ops table
 * (wid_backend_tpm in backend.h).  The functions here are for tests and
 * diagnostics; the agent needs only the ops table. */
#ifndef WID_AGENT_TPM_H
#define WID_AGENT_TPM_H

#include <stdint.h>

#include "backend.h"

/* Fixed TPM resources the backend uses (owner hierarchy). */
#define WID_TPM_SRK_HANDLE  0x81000001u /* persistent ECC P-256 storage key */
#define WID_TPM_NV_BITS     0x01357102u /* revocation bitmap (ordinary, 512 B) */
#define WID_TPM_NV_META     0x01357101u /* epoch and deadline horizon */
#define WID_TPM_NV_CACERT   0x01357103u /* X.509 CA certificate (1 KiB) */
#define WID_TPM_CA_SSH      0x81000110u /* persistent OpenSSH CA key */
#define WID_TPM_CA_X509     0x81000111u /* persistent X.509 CA key */

/* The Name of the storage key in use (nameAlg || digest of its public
 * area), as lowercase hex: what `tpm_srk_name` in the config pins. */
int wid_tpm_srk_name(void *state, char *out, size_t size);

/* Test only: sets the key's revocation bit in the TPM as destroy() does,
 * but keeps the key, so that a later sign() shows what the TPM says. */
int wid_tpm_revoke(void *state, void *key);

/* Test only: the last response code the TPM (or TSS) returned to sign(),
 * 0 after a success. */
uint32_t wid_tpm_last_rc(void *state);

/* Test only: how many revocation bits are taken (live or set), and how
 * many the pool has. */
unsigned wid_tpm_bits_taken(void *state, unsigned *ret_pool);
/* Test only: use only the first nbits bits (0: all). */
void wid_tpm_set_pool(void *state, unsigned nbits);

/* Attestation evidence for `key` of task `task` (see tpm_policy.h for the
 * format): TPM2_Certify of the key by the attestation key.  Writes NUL-
 * terminated text into out (outsz bytes, WID_TPM_EVIDENCE_MAX is enough)
 * and its length into *ret_len. */
int wid_tpm_attest(void *state, void *key, const char *task, char *out,
                   size_t outsz, size_t *ret_len);

#endif
