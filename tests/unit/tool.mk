# tests/unit/tool.mk: unit tests of wid-tool and its shared helpers
# (duration, pubkey).
check_PROGRAMS += tests/unit/test_duration
tests_unit_test_duration_SOURCES = tests/unit/test_duration.c
tests_unit_test_duration_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_duration_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test_duration

check_PROGRAMS += tests/unit/test_pubkey
tests_unit_test_pubkey_SOURCES = tests/unit/test_pubkey.c
tests_unit_test_pubkey_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_pubkey_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test_pubkey

# wid-tool's own sources, compiled into the test (main.c is not).
TOOL_TEST_SOURCES = \
	tools/tool/tool.h \
	tools/tool/agentconn.c \
	tools/tool/cli.c \
	tools/tool/output.c \
	tools/tool/startopts.c \
	tools/tool/uri.c \
	$(NULL)

check_PROGRAMS += tests/unit/test_tool
tests_unit_test_tool_SOURCES = tests/unit/test_tool.c $(TOOL_TEST_SOURCES)
tests_unit_test_tool_CFLAGS = $(UNIT_CFLAGS) $(JSONC_CFLAGS)
tests_unit_test_tool_LDADD = $(UNIT_LIBS) $(JSONC_LIBS)
TESTS += tests/unit/test_tool

# End to end against the built wid-agent (skips when it is not built).
check_PROGRAMS += tests/unit/test_tool_e2e
tests_unit_test_tool_e2e_SOURCES = tests/unit/test_tool_e2e.c
tests_unit_test_tool_e2e_CFLAGS = $(UNIT_CFLAGS) $(JSONC_CFLAGS)
tests_unit_test_tool_e2e_LDADD = $(CMOCKA_LIBS) $(JSONC_LIBS)
TESTS += tests/unit/test_tool_e2e
