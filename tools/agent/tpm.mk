# tools/agent/tpm.mk: the TPM backend (tpm2-tss ESYS), a convenience
# library that wid-agent and the TPM tests link when configure found TSS2.
if HAVE_TPM
noinst_LTLIBRARIES += libwidtpm.la
libwidtpm_la_SOURCES = \
	tools/agent/backend.h \
	tools/agent/tpm.h \
	tools/agent/tpm.c \
	tools/agent/tpm_attest.c \
	tools/agent/tpm_ca.c \
	tools/agent/tpm_int.h \
	tools/agent/tpm_policy.c \
	tools/agent/tpm_policy.h \
	$(NULL)
libwidtpm_la_CFLAGS = $(AM_CFLAGS) $(TSS2_CFLAGS) -pthread
libwidtpm_la_LIBADD = $(TSS2_LIBS) $(CRYPTO_LIBS) -lpthread
endif
