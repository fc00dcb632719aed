# common/local.mk: code shared by the module, the agent and the tool.
noinst_LTLIBRARIES += libwidcommon.la
libwidcommon_la_SOURCES = \
	include/wid/buf.h \
	include/wid/client.h \
	include/wid/duration.h \
	include/wid/err.h \
	include/wid/proto.h \
	include/wid/pubkey.h \
	common/buf.c \
	common/client.c \
	common/duration.c \
	common/err.c \
	common/proto.c \
	common/pubkey.c \
	$(NULL)
libwidcommon_la_LIBADD = $(CRYPTO_LIBS)
