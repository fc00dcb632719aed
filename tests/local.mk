# tests/local.mk: `make check` runs unit tests (cmocka) and integration
# tests (shell scripts driving real programs).
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)
AM_TESTS_ENVIRONMENT = \
	WID_BUILDDIR='$(abs_top_builddir)'; export WID_BUILDDIR; \
	WID_SRCDIR='$(abs_top_srcdir)'; export WID_SRCDIR; \
	WID_MODULE='$(abs_top_builddir)/.libs/wid-pkcs11.so'; export WID_MODULE; \
	$(SAN_TESTS_ENV) \
	$(NULL)
# Sanitizer builds: tests that judge memory use know they are in one.
if SANITIZERS
SAN_TESTS_ENV = WID_SANITIZED=1; export WID_SANITIZED;
endif

UNIT_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
UNIT_LIBS = libwidcommon.la $(CMOCKA_LIBS) $(CRYPTO_LIBS)

check_PROGRAMS += tests/unit/test_proto
tests_unit_test_proto_SOURCES = tests/unit/test_proto.c
tests_unit_test_proto_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_proto_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test_proto

include tests/unit/local.mk
include tests/integration/local.mk
include tests/bench/local.mk
include tests/tpm/local.mk
include tests/fuzz/local.mk
include tests/robust/local.mk
include tests/ops/local.mk
include tests/faults/local.mk
