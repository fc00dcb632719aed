# tools/tool/local.mk: wid-tool, the task lifecycle CLI.
bin_PROGRAMS += wid-tool
wid_tool_SOURCES = \
	tools/tool/tool.h \
	tools/tool/agentconn.c \
	tools/tool/cli.c \
	tools/tool/attest_cmd.c \
	tools/tool/approve.c \
	tools/tool/audit_cmd.c \
	tools/tool/cert_cmd.c \
	tools/tool/exec.c \
	tools/tool/main.c \
	tools/tool/output.c \
	tools/tool/policy_cmd.c \
	tools/tool/signers_cmd.c \
	tools/tool/startopts.c \
	tools/tool/task.c \
	tools/tool/uri.c \
	$(NULL)
wid_tool_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) -I$(top_srcdir)/tools/agent
wid_tool_LDADD = libwidgov.la libwidcommon.la $(JSONC_LIBS) $(YAML_LIBS) $(CRYPTO_LIBS)
if HAVE_TPM
wid_tool_SOURCES += tools/agent/tpm_policy.c tools/agent/tpm_policy.h
wid_tool_CFLAGS += $(TSS2_CFLAGS)
wid_tool_LDADD += $(TSS2_LIBS)
endif
