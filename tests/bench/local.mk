# tests/bench/local.mk: `make bench` builds tests/bench/wid-bench (never
# part of `make check`) and runs tests/bench/run-bench.sh, which sets up
# SoftHSM2, the wid agent and (when present) swtpm, and prints the tables
# and the ratios.  BENCH_FLAGS passes options, e.g. BENCH_FLAGS=--quick.
EXTRA_PROGRAMS = tests/bench/wid-bench
tests_bench_wid_bench_SOURCES = tests/bench/wid-bench.c
tests_bench_wid_bench_CFLAGS = $(AM_CFLAGS) $(P11KIT_CFLAGS) -pthread
tests_bench_wid_bench_LDADD = libwidcommon.la $(CRYPTO_LIBS) -ldl -lpthread
if HAVE_TPM
tests_bench_wid_bench_CFLAGS += $(TSS2_CFLAGS) -I$(top_srcdir)/tools/agent
tests_bench_wid_bench_LDADD += libwidtpm.la $(TSS2_LIBS)
endif
EXTRA_DIST += tests/bench/run-bench.sh
CLEANFILES += tests/bench/wid-bench$(EXEEXT)

BENCH_FLAGS =

.PHONY: bench
bench: all tests/bench/wid-bench$(EXEEXT)
	WID_BUILDDIR='$(abs_top_builddir)' \
	WID_SRCDIR='$(abs_top_srcdir)' \
	bash $(abs_top_srcdir)/tests/bench/run-bench.sh $(BENCH_FLAGS)
