#!/bin/sh
# tests/tpm/tpm_backend.sh: runs test_tpm_backend against a fresh swtpm.
# Skips (77) when swtpm is not installed.
set -eu

command -v swtpm >/dev/null 2>&1 || { echo "swtpm not installed"; exit 77; }
here=$(cd "$(dirname "$0")" && pwd)
builddir=${WID_BUILDDIR:-$(pwd)}
dir=$(mktemp -d "${TMPDIR:-/tmp}/wid-tpm.XXXXXX")
cleanup() {
	sh "$here/swtpm.sh" stop "$dir/tpm" || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

tcti=$(sh "$here/swtpm.sh" start "$dir/tpm")
# ESYS logs every TPM error; the test provokes some on purpose.
TSS2_LOG=${TSS2_LOG:-all+none}
export TSS2_LOG
WID_TPM_TCTI=$tcti WID_SWTPM_SH="$here/swtpm.sh" WID_SWTPM_DIR="$dir/tpm" \
	"$builddir/tests/tpm/test_tpm_backend"
