# tests/ops/local.mk: operations tests: the systemd units and socket
# activation, the manual pages, every --json listing, and the CI examples
# of docs/ci.md executed.  The Debian packaging test
# (tests/ops/packaging.sh) is slower and runs as its own CI step
# (scripts/check.sh), not in make check.
OPS_TESTS = \
	tests/ops/units.sh \
	tests/ops/man.sh \
	tests/ops/json.sh \
	tests/ops/ci_docs.sh \
	$(NULL)

TESTS += $(OPS_TESTS)
dist_noinst_SCRIPTS += $(OPS_TESTS) tests/ops/packaging.sh
EXTRA_DIST += tests/ops/ci_extract.py
