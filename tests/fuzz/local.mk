# tests/fuzz/local.mk: fuzz targets.  `make check` replays each corpus
# (seeds and past crashes) through a plain driver; `make fuzz` builds the
# libFuzzer binaries with clang; `make fuzz-run FUZZ_SECONDS=60` runs each.
FUZZ_TARGETS = fuzz_request fuzz_reply
FUZZ_COMMON_SRC = common/buf.c common/err.c common/proto.c

check_PROGRAMS += tests/fuzz/replay_request tests/fuzz/replay_reply
tests_fuzz_replay_request_SOURCES = tests/fuzz/fuzz_request.c tests/fuzz/driver.c
tests_fuzz_replay_request_LDADD = libwidcommon.la $(CRYPTO_LIBS)
tests_fuzz_replay_reply_SOURCES = tests/fuzz/fuzz_reply.c tests/fuzz/driver.c
tests_fuzz_replay_reply_LDADD = libwidcommon.la $(CRYPTO_LIBS)
TESTS += tests/fuzz/replay.sh
EXTRA_DIST += tests/fuzz/replay.sh tests/fuzz/corpus

CLANG ?= clang
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-I$(top_srcdir)/include -I$(top_builddir) $(CRYPTO_CFLAGS)
FUZZ_SECONDS ?= 60

fuzz:
	@mkdir -p tests/fuzz
	@for t in $(FUZZ_TARGETS); do \
		echo "  CLANG    tests/fuzz/$$t"; \
		$(CLANG) $(FUZZ_CFLAGS) -o tests/fuzz/$$t $(top_srcdir)/tests/fuzz/$$t.c \
			$(addprefix $(top_srcdir)/,$(FUZZ_COMMON_SRC)) $(CRYPTO_LIBS) || exit 1; \
	done

fuzz-run: fuzz
	@for t in $(FUZZ_TARGETS); do \
		c=$${t#fuzz_}; mkdir -p tests/fuzz/work/$$c; \
		echo "== $$t for $(FUZZ_SECONDS)s"; \
		tests/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=tests/fuzz/work/$$t- \
			tests/fuzz/work/$$c $(top_srcdir)/tests/fuzz/corpus/$$c 2>&1 | \
			grep -E 'stat::number_of_executed_units|ERROR|SUMMARY|Done' ; \
		ls tests/fuzz/work/$$t-* >/dev/null 2>&1 && { echo "$$t: crash found"; exit 1; }; \
	done; true
.PHONY: fuzz fuzz-run
