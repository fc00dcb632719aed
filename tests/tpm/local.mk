# tests/tpm/local.mk: TPM tests on swtpm (filled in by its owner)
