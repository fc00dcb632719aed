/* tools/agent/tpm.h: what the TPM backend offers beyond the ops table
 * (wid_backend_tpm in backend.h).  The functions here are for tests and
 * diagnostics; the agent needs only the ops table. */
#ifndef WID_AGENT_TPM_H
#define WID_AGENT_TPM_H

#include <stdint.h>

#include "backend.h"

/* Fixed TPM resources the backend uses (owner hierarchy). */
#define WID_TPM_SRK_HANDLE  0x81000001u /* persistent ECC P-256 storage key */
#define WID_TPM_NV_BITS     0x01357100u /* revocation bits (TPM_NT_BITS) */
#define WID_TPM_NV_META     0x01357101u /* epoch and deadline horizon */

/* Test only: sets the key's revocation bit in the TPM as destroy() does,
 * but keeps the key, so that a later sign() shows what the TPM says. */
int wid_tpm_revoke(void *state, void *key);

/* Test only: the last response code the TPM (or TSS) returned to sign(),
 * 0 after a success. */
uint32_t wid_tpm_last_rc(void *state);

#endif
