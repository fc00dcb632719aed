# tests/unit/sshagent.mk: the agent's ssh-agent protocol handler
# (tools/agent/sshagent.c) against the soft backend.
check_PROGRAMS += tests/unit/test_sshagent
tests_unit_test_sshagent_SOURCES = tests/unit/test_sshagent.c
tests_unit_test_sshagent_CFLAGS = $(AGENT_UNIT_CFLAGS)
tests_unit_test_sshagent_LDADD = $(AGENT_UNIT_LIBS)
TESTS += tests/unit/test_sshagent
