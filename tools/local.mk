# tools/local.mk: wid-agent and wid-tool.
include tools/agent/local.mk
include tools/agent/sshagent.mk
include tools/agent/governance.mk
include tools/agent/tpm.mk
include tools/tool/local.mk
