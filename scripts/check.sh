#!/bin/sh
# scripts/check.sh: install dependencies, build, and run the whole test
# suite three times: plain, under AddressSanitizer + UBSan, and built
# without the TPM backend; valgrind memcheck (plain build); the Debian
# packages; make distcheck; each fuzz target for 60 s.  This is what CI
# runs (.ci/run).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"

passed=0
failed=0

# count BUILDDIR: add the suite's results to the totals.
count() {
	p=$(sed -n 's/^# PASS: *//p' "$1/test-suite.log")
	f=$(sed -n 's/^# FAIL: *//p' "$1/test-suite.log")
	e=$(sed -n 's/^# ERROR: *//p' "$1/test-suite.log")
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0} + ${e:-0}))
}

run() {
	name=$1; shift
	b="$top/build-$name"
	echo "== $name build =="
	"$top/scripts/build.sh" "$b" "$@"
	echo "== $name make check =="
	if ! make -C "$b" -j"$(nproc)" check; then
		find "$b" -name '*.log' -path '*tests*' -newer "$b/Makefile" \
			-exec grep -l -E '^(FAIL|ERROR)' {} + 2>/dev/null |
			while read -r f; do echo "---- $f"; tail -n 60 "$f"; done
		count "$b"
		echo "check: $passed passed, $failed failed"
		exit 1
	fi
	count "$b"
}

run plain
echo "== plain make memcheck =="
make -C "$top/build-plain" memcheck
ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	run asan --enable-sanitizers
# The TPM backend is optional: without it everything else builds and
# passes.
run notpm --with-tpm=no
echo "== packaging (Debian packages built, linted, installed, used) =="
WID_BUILDDIR="$top/build-plain" WID_SRCDIR="$top" \
	sh "$top/tests/ops/packaging.sh"
echo "== make distcheck (the tarball builds, installs and passes make check) =="
make -C "$top/build-plain" distcheck
# Each fuzz target for 60 s (7 targets: about 8 minutes); a crash fails
# CI and leaves its input in build-plain/tests/fuzz/work/ (add it to
# tests/fuzz/corpus/ once fixed).
if command -v "${CLANG:-clang}" >/dev/null 2>&1; then
	echo "== fuzz: 60 s per target =="
	make -C "$top/build-plain" fuzz-run FUZZ_SECONDS=60
else
	echo "== fuzz: clang not found: skipped (make check replayed the corpora) =="
fi
echo "check: all test suites passed (plain, ASan/UBSan, no TPM, memcheck, packaging, distcheck, fuzz)"
echo "check: $passed passed, $failed failed"
