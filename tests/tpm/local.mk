# tests/tpm/local.mk: the TPM backend against swtpm.  tpm_backend.sh starts
# a swtpm on a Unix socket in a temp dir (tests/tpm/swtpm.sh, stopped by
# PID) and runs test_tpm_backend against it; tpm_agent.sh runs wid-agent
# --backend tpm on its own swtpm under pkcs11-tool, ssh, openssl; tpm_ca.sh
# the CA keys in the TPM under sshd and openssl verify, across a restart.
EXTRA_DIST += \
	tests/tpm/swtpm.sh \
	tests/tpm/tpm_agent.sh \
	tests/tpm/tpm_backend.sh \
	tests/tpm/tpm_ca.sh \
	$(NULL)

if HAVE_TPM
check_PROGRAMS += tests/tpm/test_tpm_backend
tests_tpm_test_tpm_backend_SOURCES = tests/tpm/test_tpm_backend.c
tests_tpm_test_tpm_backend_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tools/agent
tests_tpm_test_tpm_backend_CFLAGS = $(AM_CFLAGS) $(TSS2_CFLAGS) -pthread
tests_tpm_test_tpm_backend_LDADD = libwidtpm.la libwidcommon.la \
	$(TSS2_LIBS) $(CRYPTO_LIBS) -lpthread
TESTS += tests/tpm/tpm_backend.sh
# The agent with --backend tpm driven by real clients (needs p11sign).
TESTS += tests/tpm/tpm_agent.sh
TESTS += tests/tpm/tpm_ca.sh
endif
