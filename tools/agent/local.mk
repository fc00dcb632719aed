# tools/agent/local.mk: wid-agent.  Everything but main.c goes into the
# convenience library libwidagent.la, which unit tests and fuzzers link.
noinst_LTLIBRARIES += libwidagent.la
libwidagent_la_SOURCES = \
	tools/agent/activation.c \
	tools/agent/activation.h \
	tools/agent/agent.h \
	tools/agent/backend.h \
	tools/agent/attest_ops.c \
	tools/agent/backends.c \
	tools/agent/ca.c \
	tools/agent/ca.h \
	tools/agent/cert_ops.c \
	tools/agent/conf.c \
	tools/agent/conf.h \
	tools/agent/gov.c \
	tools/agent/gov.h \
	tools/agent/gov_ops.c \
	tools/agent/handlers.c \
	tools/agent/handlers.h \
	tools/agent/hardening.c \
	tools/agent/hardening.h \
	tools/agent/log.c \
	tools/agent/log.h \
	tools/agent/peer.c \
	tools/agent/peer.h \
	tools/agent/server.c \
	tools/agent/server.h \
	tools/agent/soft.c \
	tools/agent/tasks.c \
	tools/agent/tasks.h \
	$(NULL)
libwidagent_la_CFLAGS = $(AM_CFLAGS) $(YAML_CFLAGS)
libwidagent_la_LIBADD = libwidcommon.la $(CRYPTO_LIBS) $(YAML_LIBS) -lpthread
if HAVE_TPM
libwidagent_la_LIBADD += libwidtpm.la $(TSS2_LIBS)
endif

bin_PROGRAMS += wid-agent
wid_agent_SOURCES = tools/agent/main.c
wid_agent_CFLAGS = $(AM_CFLAGS) $(YAML_CFLAGS)
wid_agent_LDADD = libwidagent.la libwidgov.la libwidcommon.la $(CRYPTO_LIBS) $(YAML_LIBS) -lpthread
