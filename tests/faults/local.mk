# tests/faults/local.mk: fault injection, deadline stress and secret
# hygiene against a real agent (shell tests and their C helpers), and
# `make memcheck` (valgrind over the module and the agent).
check_PROGRAMS += tests/faults/deadline tests/faults/p11fault
tests_faults_deadline_SOURCES = tests/faults/deadline.c
tests_faults_deadline_CFLAGS = $(AM_CFLAGS) $(P11KIT_CFLAGS)
tests_faults_deadline_LDADD = libwidcommon.la $(CRYPTO_LIBS) -ldl -lpthread
tests_faults_p11fault_SOURCES = tests/faults/p11fault.c
tests_faults_p11fault_CFLAGS = $(AM_CFLAGS) $(P11KIT_CFLAGS)
tests_faults_p11fault_LDADD = -ldl

FAULT_TESTS = \
	tests/faults/faults.sh \
	tests/faults/deadline.sh \
	tests/faults/hygiene.sh \
	$(NULL)
TESTS += $(FAULT_TESTS)
dist_noinst_SCRIPTS += $(FAULT_TESTS) tests/faults/memcheck.sh \
	tests/faults/flood.py tests/faults/idle.py

memcheck: all $(check_PROGRAMS)
	WID_BUILDDIR='$(abs_top_builddir)' WID_SRCDIR='$(abs_top_srcdir)' \
	WID_MODULE='$(abs_top_builddir)/.libs/wid-pkcs11.so' \
	$(SHELL) $(top_srcdir)/tests/faults/memcheck.sh
.PHONY: memcheck
