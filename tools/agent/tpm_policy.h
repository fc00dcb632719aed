/* tools/agent/tpm_policy.h: the authPolicy of a TPM task key, computed in
 * software, and the attestation evidence format.  Shared by the agent's
 * TPM backend (which binds keys to the policy and writes evidence) and by
 * `wid-tool attest verify` (which recomputes the policy from the evidence
 * and checks it), so both sides agree by construction.
 *
 * The policy (TPM 2.0 part 3, 23.x), in this order:
 *   PolicyCounterTimer(clock < deadline)          TPM clock, ms
 *   PolicyCounterTimer(resetCount == N)           no TPM reset since keygen
 *   PolicyNV(index[offset] & mask == 0)           revocation bit clear
 *   PolicyCommandCode(TPM2_CC_Sign)
 *
 * Evidence: UTF-8 text, one "name: value" per line, in this order, values
 * in base64 where marked (TPM structures marshaled as the TPM sends them):
 *   wid-tpm-evidence: 1
 *   task: ID                    the task id; extraData = SHA-256(ID)
 *   key-type: ec-p256 ...
 *   deadline: N                 TPM clock (ms) the key dies at
 *   reset-count: N              TPM resetCount the key is bound to
 *   nv-offset: N                byte of the revocation index ...
 *   nv-mask: N                  ... and the key's bit in it
 *   nv-public: B64              TPM2B_NV_PUBLIC of the revocation index
 *   key-public: B64             TPM2B_PUBLIC of the task key
 *   ak-public: B64              TPM2B_PUBLIC of the attestation key
 *   attest: B64                 TPMS_ATTEST (TPM2_Certify of the key by AK)
 *   signature: B64              TPMT_SIGNATURE by AK over `attest`
 */
#ifndef WID_AGENT_TPM_POLICY_H
#define WID_AGENT_TPM_POLICY_H

#include <stddef.h>
#include <stdint.h>

#define WID_TPM_EVIDENCE_VERSION 1
#define WID_TPM_EVIDENCE_MAX 8192

/* The policy digest (SHA-256) of a task key.  nv_name: the revocation
 * index's Name (nameAlg || H(TPMS_NV_PUBLIC)).  Returns 0 or WID_E_*. */
int wid_tpm_policy_digest(const uint8_t *nv_name, size_t nv_name_len,
                          uint64_t deadline, uint32_t reset_count,
                          uint16_t nv_offset, uint8_t nv_mask,
                          uint8_t ret_digest[32]);

#endif
