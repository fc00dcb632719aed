# tests/fuzz/local.mk: fuzz targets.  `make check` replays each corpus
# (seeds and past crashes) through a plain driver; `make fuzz` builds the
# libFuzzer binaries with clang (ASan + UBSan); `make fuzz-run
# FUZZ_SECONDS=60` runs each for that long (CI: scripts/check.sh).
#
# Targets: request and reply decoders, the agent's whole request path
# (wid_handle over a real task table and soft keys), the policy parser,
# the audit verifier, the module's attribute templates, duration parsing,
# SPKI parsing and the public key forms.
FUZZ_TARGETS = fuzz_request fuzz_reply fuzz_agent fuzz_policy fuzz_audit \
	fuzz_attrs fuzz_duration fuzz_spki
FUZZ_COMMON_SRC = $(filter %.c,$(libwidcommon_la_SOURCES))
FUZZ_AGENT_SRC = $(filter %.c,$(libwidagent_la_SOURCES) $(libwidgov_la_SOURCES))
FUZZ_GOV_SRC = $(filter %.c,$(libwidgov_la_SOURCES))
FUZZ_MODULE_SRC = $(filter %.c,$(WID_MODULE_SOURCES))
if HAVE_TPM
# libwidagent links the TPM backend (tools/agent/local.mk).
FUZZ_TPM_SRC = $(filter %.c,$(libwidtpm_la_SOURCES))
FUZZ_TPM_LIBS = $(TSS2_LIBS)
endif
REPLAY_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir) -I$(top_srcdir)/tools/agent \
	$(YAML_CFLAGS) $(JSONC_CFLAGS)

check_PROGRAMS += tests/fuzz/replay_request tests/fuzz/replay_reply \
	tests/fuzz/replay_agent tests/fuzz/replay_policy \
	tests/fuzz/replay_audit tests/fuzz/replay_attrs \
	tests/fuzz/replay_duration tests/fuzz/replay_spki
tests_fuzz_replay_request_SOURCES = tests/fuzz/fuzz_request.c tests/fuzz/driver.c
tests_fuzz_replay_request_LDADD = libwidcommon.la $(CRYPTO_LIBS)
tests_fuzz_replay_reply_SOURCES = tests/fuzz/fuzz_reply.c tests/fuzz/driver.c
tests_fuzz_replay_reply_LDADD = libwidcommon.la $(CRYPTO_LIBS)
tests_fuzz_replay_agent_SOURCES = tests/fuzz/fuzz_agent.c tests/fuzz/driver.c
tests_fuzz_replay_agent_CFLAGS = $(REPLAY_CFLAGS)
tests_fuzz_replay_agent_LDADD = libwidagent.la libwidgov.la libwidcommon.la \
	$(YAML_LIBS) $(JSONC_LIBS) $(CRYPTO_LIBS) -lpthread
tests_fuzz_replay_policy_SOURCES = tests/fuzz/fuzz_policy.c \
	tests/fuzz/memfile.h tests/fuzz/driver.c
tests_fuzz_replay_policy_CFLAGS = $(REPLAY_CFLAGS)
tests_fuzz_replay_policy_LDADD = libwidgov.la libwidcommon.la $(CRYPTO_LIBS)
tests_fuzz_replay_audit_SOURCES = tests/fuzz/fuzz_audit.c \
	tests/fuzz/memfile.h tests/fuzz/driver.c
tests_fuzz_replay_audit_CFLAGS = $(REPLAY_CFLAGS)
tests_fuzz_replay_audit_LDADD = libwidgov.la libwidcommon.la $(CRYPTO_LIBS)
tests_fuzz_replay_attrs_SOURCES = tests/fuzz/fuzz_attrs.c tests/fuzz/driver.c
tests_fuzz_replay_attrs_CFLAGS = $(AM_CFLAGS) $(P11KIT_CFLAGS) \
	-I$(top_srcdir)/module
tests_fuzz_replay_attrs_LDADD = libwidmodule.la libwidcommon.la \
	$(CRYPTO_LIBS) -lpthread
tests_fuzz_replay_duration_SOURCES = tests/fuzz/fuzz_duration.c tests/fuzz/driver.c
tests_fuzz_replay_duration_LDADD = libwidcommon.la
tests_fuzz_replay_spki_SOURCES = tests/fuzz/fuzz_spki.c tests/fuzz/driver.c
tests_fuzz_replay_spki_LDADD = libwidcommon.la $(CRYPTO_LIBS)
TESTS += tests/fuzz/replay.sh
EXTRA_DIST += tests/fuzz/replay.sh tests/fuzz/corpus tests/fuzz/gen-corpus.py

CLANG ?= clang
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-DHAVE_CONFIG_H -I$(top_srcdir)/include -I$(top_builddir) -I$(top_srcdir) \
	-I$(top_srcdir)/tools/agent -I$(top_srcdir)/module \
	$(CRYPTO_CFLAGS) $(YAML_CFLAGS) $(JSONC_CFLAGS) $(P11KIT_CFLAGS) $(TSS2_CFLAGS)
FUZZ_SECONDS ?= 60

fuzz:
	@mkdir -p tests/fuzz
	@echo "  CLANG    tests/fuzz/{$(FUZZ_TARGETS)}"
	@s=$(top_srcdir); set -e; \
	$(CLANG) $(FUZZ_CFLAGS) -o tests/fuzz/fuzz_request $$s/tests/fuzz/fuzz_request.c \
		$(addprefix $$s/,$(FUZZ_COMMON_SRC)) $(CRYPTO_LIBS); \
	$(CLANG) $(FUZZ_CFLAGS) -o tests/fuzz/fuzz_reply $$s/tests/fuzz/fuzz_reply.c \
		$(addprefix $$s/,$(FUZZ_COMMON_SRC)) $(CRYPTO_LIBS); \
	$(CLANG) $(FUZZ_CFLAGS) -o tests/fuzz/fuzz_duration $$s/tests/fuzz/fuzz_duration.c \
		$(addprefix $$s/,$(FUZZ_COMMON_SRC)) $(CRYPTO_LIBS); \
	$(CLANG) $(FUZZ_CFLAGS) -o tests/fuzz/fuzz_spki $$s/tests/fuzz/fuzz_spki.c \
		$(addprefix $$s/,$(FUZZ_COMMON_SRC)) $(CRYPTO_LIBS); \
	$(CLANG) $(FUZZ_CFLAGS) -o tests/fuzz/fuzz_policy $$s/tests/fuzz/fuzz_policy.c \
		$(addprefix $$s/,$(FUZZ_GOV_SRC) $(FUZZ_COMMON_SRC)) \
		$(YAML_LIBS) $(JSONC_LIBS) $(CRYPTO_LIBS) -lpthread; \
	$(CLANG) $(FUZZ_CFLAGS) -o tests/fuzz/fuzz_audit $$s/tests/fuzz/fuzz_audit.c \
		$(addprefix $$s/,$(FUZZ_GOV_SRC) $(FUZZ_COMMON_SRC)) \
		$(YAML_LIBS) $(JSONC_LIBS) $(CRYPTO_LIBS) -lpthread; \
	$(CLANG) $(FUZZ_CFLAGS) -o tests/fuzz/fuzz_attrs $$s/tests/fuzz/fuzz_attrs.c \
		$(addprefix $$s/,$(FUZZ_MODULE_SRC) $(FUZZ_COMMON_SRC)) \
		$(CRYPTO_LIBS) -lpthread; \
	$(CLANG) $(FUZZ_CFLAGS) -o tests/fuzz/fuzz_agent $$s/tests/fuzz/fuzz_agent.c \
		$(addprefix $$s/,$(FUZZ_AGENT_SRC) $(FUZZ_TPM_SRC) $(FUZZ_COMMON_SRC)) \
		$(FUZZ_TPM_LIBS) $(YAML_LIBS) $(JSONC_LIBS) $(CRYPTO_LIBS) -lpthread

# -close_fd_mask=2: the agent warns on stderr about every malformed
# request; sanitizer reports still reach the terminal.
fuzz-run: fuzz
	@for t in $(FUZZ_TARGETS); do \
		c=$${t#fuzz_}; mkdir -p tests/fuzz/work/$$c; \
		echo "== $$t for $(FUZZ_SECONDS)s"; \
		tests/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-close_fd_mask=2 -artifact_prefix=tests/fuzz/work/$$t- \
			tests/fuzz/work/$$c $(top_srcdir)/tests/fuzz/corpus/$$c 2>&1 | \
			grep -E 'stat::number_of_executed_units|ERROR|SUMMARY|Done|==[0-9]+==' ; \
		ls tests/fuzz/work/$$t-* >/dev/null 2>&1 && { echo "$$t: crash found"; exit 1; }; \
	done; true
.PHONY: fuzz fuzz-run
