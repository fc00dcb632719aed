# tests/unit/local.mk: cmocka unit tests, one fragment per part.
include tests/unit/agent.mk
include tests/unit/sshagent.mk
include tests/unit/module.mk
include tests/unit/tool.mk
include tests/unit/governance.mk
