# tools/tool/local.mk: wid-tool, the task lifecycle CLI.
bin_PROGRAMS += wid-tool
wid_tool_SOURCES = \
	tools/tool/tool.h \
	tools/tool/agentconn.c \
	tools/tool/exec.c \
	tools/tool/main.c \
	tools/tool/output.c \
	tools/tool/startopts.c \
	tools/tool/task.c \
	tools/tool/uri.c \
	$(NULL)
wid_tool_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
wid_tool_LDADD = libwidcommon.la $(JSONC_LIBS) $(CRYPTO_LIBS)
