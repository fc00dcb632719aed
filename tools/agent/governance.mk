# tools/agent/governance.mk: audit log and policy engine, built as a
# convenience library the agent, the tool and the unit tests link (with
# libwidcommon.la, for wid_strerror and the key type names).
noinst_LTLIBRARIES += libwidgov.la
libwidgov_la_SOURCES = \
	tools/agent/audit.c \
	tools/agent/audit.h \
	tools/agent/policy.c \
	tools/agent/policy.h \
	$(NULL)
libwidgov_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(YAML_CFLAGS)
libwidgov_la_LIBADD = $(JSONC_LIBS) $(YAML_LIBS) $(CRYPTO_LIBS) -lpthread
