#!/bin/sh
# scripts/check.sh: install dependencies, build, and run the whole test
# suite twice: plain, then under AddressSanitizer + UBSan.  This is what
# CI runs (.ci/run).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"

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
		exit 1
	fi
}

run plain
ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	run asan --enable-sanitizers
echo "check: all test suites passed (plain and ASan/UBSan)"
