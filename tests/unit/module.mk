# tests/unit/module.mk: unit tests of wid-pkcs11 (module/), driven through
# the function list against a fake agent on a socket in a temp dir.
MODULE_TEST_CFLAGS = $(UNIT_CFLAGS) $(P11KIT_CFLAGS) -I$(top_srcdir)/module
MODULE_TEST_LIBS = libwidmodule.la $(UNIT_LIBS) -lpthread

check_PROGRAMS += tests/unit/test_module
tests_unit_test_module_SOURCES = tests/unit/test_module.c \
	tests/unit/test_module_agent.h
tests_unit_test_module_CFLAGS = $(MODULE_TEST_CFLAGS)
tests_unit_test_module_LDADD = $(MODULE_TEST_LIBS)
TESTS += tests/unit/test_module

check_PROGRAMS += tests/unit/test_attrs
tests_unit_test_attrs_SOURCES = tests/unit/test_attrs.c
tests_unit_test_attrs_CFLAGS = $(MODULE_TEST_CFLAGS)
tests_unit_test_attrs_LDADD = $(MODULE_TEST_LIBS)
TESTS += tests/unit/test_attrs
