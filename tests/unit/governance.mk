# tests/unit/governance.mk: unit tests of the audit log and the policy
# engine (tools/agent/governance.mk).
GOV_TEST_CFLAGS = $(UNIT_CFLAGS) $(JSONC_CFLAGS) $(YAML_CFLAGS) -I$(top_srcdir)/tools/agent
GOV_TEST_LIBS = libwidgov.la $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_audit tests/unit/test_policy
tests_unit_test_audit_SOURCES = tests/unit/test_audit.c
tests_unit_test_audit_CFLAGS = $(GOV_TEST_CFLAGS)
tests_unit_test_audit_LDADD = $(GOV_TEST_LIBS)
tests_unit_test_policy_SOURCES = tests/unit/test_policy.c
tests_unit_test_policy_CFLAGS = $(GOV_TEST_CFLAGS)
tests_unit_test_policy_LDADD = $(GOV_TEST_LIBS)
TESTS += tests/unit/test_audit tests/unit/test_policy
