#!/bin/sh
# scripts/demo.sh: install, build, and show wid at work: a task key used by
# ssh, pkcs11-tool and openssl, then refused once the task has ended.
# Everything runs on loopback in a temp dir and is stopped by PID.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
[ -n "${WID_DEMO_BUILDDIR:-}" ] || "$top/scripts/build.sh" "$top/build" >/dev/null
WID_DEMO_BUILDDIR=${WID_DEMO_BUILDDIR:-$top/build}
export WID_BUILDDIR="$WID_DEMO_BUILDDIR" WID_SRCDIR="$top"
# The demo reuses the integration tests' harness: temp dir, sshd on
# loopback, processes stopped by PID.
. "$top/tests/integration/lib.sh"
set +e

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "Start wid-agent (keys in its locked, non-dumpable memory) and a loopback sshd"
start_agent
start_sshd

step "Start a task: its own P-256 key, 10 minutes to live"
run "$WID_TOOL_BIN" task start --ttl 10m --id demo-deploy --intent "deploy v1.2" \
    --requested-by "ci:demo/1" || fail "task start"
"$WID_TOOL_BIN" pubkey demo-deploy >"$SSH_AK"
cp "$SSH_AK" "$T/demo.pub"
"$WID_TOOL_BIN" pubkey demo-deploy --format pem >"$T/demo.pem"
run "$WID_TOOL_BIN" task list

step "ssh logs in with the task key through PKCS#11 (sshd trusts only that key)"
printf '$ ssh -o PKCS11Provider=%s -i demo.pub %s@127.0.0.1 "echo hello ..."\n' "$WID_MODULE" "$SSH_USER"
ssh_cmd -o PKCS11Provider="$WID_MODULE" -i "$T/demo.pub" "$SSH_USER@127.0.0.1" \
    'echo "hello from $(hostname), logged in with a wid task key"' ||
    fail "ssh with the task key"

step "pkcs11-tool signs; openssl verifies against the task's public key"
echo "release artefact" >"$T/artefact"
openssl dgst -sha256 -binary "$T/artefact" >"$T/artefact.sha256"
id_hex=$(openssl pkey -pubin -in "$T/demo.pem" -outform DER | openssl dgst -sha256 -binary | head -c 16 | od -An -tx1 | tr -d ' \n')
run pkcs11-tool --module "$WID_MODULE" --sign -m ECDSA --id "$id_hex" \
    --signature-format openssl -i "$T/artefact.sha256" -o "$T/artefact.sig" ||
    fail "pkcs11-tool --sign"
run openssl dgst -sha256 -verify "$T/demo.pem" -signature "$T/artefact.sig" "$T/artefact" ||
    fail "openssl verify"

step "openssl signs through the pkcs11 engine with the URI pkcs11:token=wid;object=demo-deploy"
run env PKCS11_MODULE_PATH="$WID_MODULE" openssl dgst -sha256 -engine pkcs11 -keyform engine \
    -sign "pkcs11:token=wid;object=demo-deploy;type=private" -out "$T/artefact.sig2" "$T/artefact" 2>/dev/null ||
    fail "openssl engine sign"
run openssl dgst -sha256 -verify "$T/demo.pem" -signature "$T/artefact.sig2" "$T/artefact" ||
    fail "openssl verify (engine)"

step "End the task: the key is zeroized in the agent"
run "$WID_TOOL_BIN" task end demo-deploy
run "$WID_TOOL_BIN" task list

step "The same ssh and pkcs11-tool commands are now refused"
if ssh_cmd -o PKCS11Provider="$WID_MODULE" -i "$T/demo.pub" "$SSH_USER@127.0.0.1" true 2>/dev/null; then
	fail "ssh still logs in after the task ended"
fi
echo "ssh: refused (no key: Permission denied (publickey))"
if pkcs11-tool --module "$WID_MODULE" --sign -m ECDSA --id "$id_hex" \
    -i "$T/artefact.sha256" -o "$T/x.sig" >/dev/null 2>&1; then
	fail "pkcs11-tool still signs after the task ended"
fi
echo "pkcs11-tool: refused (no such key)"

step "Zero setup: wid-tool exec gives a command its own key for exactly its lifetime"
stop_agent
printf '$ wid-tool exec --ttl 2m -- sh -c %s\n' "'pkcs11-tool --module wid-pkcs11.so --list-objects --type privkey'"
"$WID_TOOL_BIN" exec --ttl 2m -- sh -c \
    'echo "inside: WID_TASK=$WID_TASK"; pkcs11-tool --module "$0" --list-objects --type privkey | grep -E "label|Private"' \
    "$WID_MODULE" || fail "wid-tool exec"
echo "after exec: $("$WID_TOOL_BIN" status >/dev/null 2>&1 && echo 'an agent is still running' || echo 'no agent, no key: gone with the command')"

printf '\n\033[1mdemo: all steps behaved as expected\033[0m\n'
exit 0
