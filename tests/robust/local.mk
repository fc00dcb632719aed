# tests/robust/local.mk: the PKCS#11 robustness suite (dlopens the built
# module against a real agent).
check_PROGRAMS += tests/robust/p11_robust
tests_robust_p11_robust_SOURCES = tests/robust/p11_robust.c
tests_robust_p11_robust_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(P11KIT_CFLAGS)
tests_robust_p11_robust_LDADD = libwidcommon.la $(CMOCKA_LIBS) $(CRYPTO_LIBS) -ldl -lpthread
TESTS += tests/robust/p11_robust
