# tests/integration/local.mk: shell tests driving real programs (ssh, git,
# openssl, pkcs11-tool) against wid-agent, wid-tool and wid-pkcs11.so,
# plus p11sign, a helper that signs in a loop on one open session.
check_PROGRAMS += tests/integration/p11sign
tests_integration_p11sign_SOURCES = tests/integration/p11sign.c
tests_integration_p11sign_CFLAGS = $(AM_CFLAGS) $(P11KIT_CFLAGS)
tests_integration_p11sign_LDADD = -ldl

INTEGRATION_TESTS = \
	tests/integration/pkcs11_tool.sh \
	tests/integration/ssh.sh \
	tests/integration/git.sh \
	tests/integration/openssl_engine.sh \
	tests/integration/lifecycle.sh \
	tests/integration/visibility.sh \
	tests/integration/badinput.sh \
	tests/integration/p11kit.sh \
	tests/integration/governance.sh \
	tests/integration/certs_ssh.sh \
	tests/integration/certs_tls.sh \
	tests/integration/ssh_agent.sh \
	tests/integration/git_signers.sh \
	tests/integration/client_matrix.sh \
	$(NULL)

TESTS += $(INTEGRATION_TESTS)
dist_noinst_SCRIPTS += $(INTEGRATION_TESTS)
EXTRA_DIST += tests/integration/lib.sh
