# tests/unit/agent.mk: unit tests of wid-agent (they link libwidagent.la).
AGENT_UNIT_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir) $(YAML_CFLAGS)
AGENT_UNIT_LIBS = libwidagent.la libwidgov.la $(UNIT_LIBS) $(YAML_LIBS) -lpthread

check_PROGRAMS += tests/unit/test_tasks
tests_unit_test_tasks_SOURCES = tests/unit/test_tasks.c
tests_unit_test_tasks_CFLAGS = $(AGENT_UNIT_CFLAGS)
tests_unit_test_tasks_LDADD = $(AGENT_UNIT_LIBS)
TESTS += tests/unit/test_tasks

check_PROGRAMS += tests/unit/test_agent_soft
tests_unit_test_agent_soft_SOURCES = tests/unit/test_agent_soft.c
tests_unit_test_agent_soft_CFLAGS = $(AGENT_UNIT_CFLAGS)
tests_unit_test_agent_soft_LDADD = $(AGENT_UNIT_LIBS)
TESTS += tests/unit/test_agent_soft

check_PROGRAMS += tests/unit/test_agent_conf
tests_unit_test_agent_conf_SOURCES = tests/unit/test_agent_conf.c
tests_unit_test_agent_conf_CFLAGS = $(AGENT_UNIT_CFLAGS)
tests_unit_test_agent_conf_LDADD = $(AGENT_UNIT_LIBS)
TESTS += tests/unit/test_agent_conf
