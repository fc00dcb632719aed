# tools/agent/tpm.mk: TPM backend (filled in by its owner)
