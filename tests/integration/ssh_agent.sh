#!/bin/sh
# tests/integration/ssh_agent.sh: wid-agent speaks the ssh-agent protocol.
# OpenSSH logs in through SSH_AUTH_SOCK with Ed25519 (which OpenSSH 9.2
# cannot use through PKCS#11), ECDSA and RSA (rsa-sha2-256/512) task keys,
# no module loaded; `wid-tool exec` sets SSH_AUTH_SOCK for its command;
# `ssh-add -L` lists exactly the caller's active task keys; once a task
# ends its key is gone from the listing and the login is refused; what
# ssh-agent clients may ask beyond list and sign is refused.
. "$(dirname "$0")/lib.sh"
need ssh ssh-add ssh-keygen
need_wid
start_agent
ASOCK="$T/run/ssh-agent.sock"
[ -S "$ASOCK" ] || fail "no ssh-agent socket next to $WID_SOCK"
pass "wid-agent listens on $ASOCK"
start_sshd

# as_agent CMD...: run CMD with wid's ssh-agent socket.
as_agent() { SSH_AUTH_SOCK="$ASOCK" "$@"; }

# ssh_agent_login PUBFILE [ssh options]: log in with the key for PUBFILE,
# offered by the agent only (IdentitiesOnly + the public key file).
ssh_agent_login()
{
	_pub=$1
	shift
	SSH_AUTH_SOCK="$ASOCK" ssh_cmd -o IdentityFile="$_pub" \
	    -o PKCS11Provider=none "$@" \
	    "$SSH_USER@127.0.0.1" "echo logged-in-as-\$(id -un)"
}

say "checks: empty agent"
expect_rc 1 "ssh-add -L with no task (exit 1: no identities)" -- as_agent ssh-add -L
expect_grep "$T/out" "no identities" "ssh-add says the agent has no identities"

say "checks: ssh login through SSH_AUTH_SOCK per key type"
for kt in ed25519 ec-p256 ec-p384 rsa2048 rsa3072; do
	ID=it-sa-$kt-$$
	task_start "$ID" "$kt"
	pubkey_ssh "$ID" "$T/$kt.pub"
	cat "$T/$kt.pub" >>"$SSH_AK"
	expect_rc 0 "ssh login with the $kt task key via SSH_AUTH_SOCK" -- \
	    ssh_agent_login "$T/$kt.pub"
	expect_grep "$T/out" "^logged-in-as-$SSH_USER\$" "ssh ran the remote command ($kt)"
	accepted_with "$T/$kt.pub"
done
# Each SHA-2 RSA algorithm on its own (the agent's flags 2 and 4).
for alg in rsa-sha2-256 rsa-sha2-512; do
	expect_rc 0 "ssh login with $alg only" -- ssh_agent_login \
	    "$T/rsa2048.pub" -o PubkeyAcceptedAlgorithms=$alg
done
# ssh-rsa (SHA-1) is refused by wid itself (sshd 9.2 would refuse it
# before asking, so the agent is asked directly): SIGN_REQUEST for the
# RSA key over "test" with flags 0 (SHA-1), 2 (SHA-256), 4 (SHA-512).
# ssh_sign_frame PUBFILE FLAGS: the frame as hex.
ssh_sign_frame()
{
	_b=$(cut -d' ' -f2 "$1" | base64 -d | od -An -tx1 | tr -d ' \n')
	_bl=$((${#_b} / 2))
	printf '%08x0d%08x%s0000000474657374%08x\n' $((17 + _bl)) "$_bl" "$_b" "$2"
}
_r=$(raw "$ASOCK" "$(ssh_sign_frame "$T/rsa2048.pub" 0)")
[ "$_r" = 0000000105 ] || fail "ssh-rsa SHA-1 signature: reply '$_r'"
pass "SIGN_REQUEST for ssh-rsa (SHA-1): SSH_AGENT_FAILURE"
expect_grep "$T/agent.log" "ssh-rsa (SHA-1) signatures are not made" \
    "the agent logged why it refused SHA-1"
for fl in 2:rsa-sha2-256 4:rsa-sha2-512; do
	_r=$(raw "$ASOCK" "$(ssh_sign_frame "$T/rsa2048.pub" "${fl%%:*}")")
	_name=$(printf '%s' "${fl#*:}" | od -An -tx1 | tr -d ' \n')
	case $_r in
	????????0e????????0000000c${_name}00000100*) pass "flags ${fl%%:*}: ${fl#*:} signature, 256 bytes" ;;
	*) fail "flags ${fl%%:*}: reply '$_r'" ;;
	esac
done

say "checks: ssh-add -L lists the task keys with the task ids"
expect_rc 0 "ssh-add -L" -- as_agent ssh-add -L
[ "$(wc -l <"$T/out")" -eq 5 ] || { cat "$T/out"; fail "expected 5 identities"; }
pass "5 identities listed"
for kt in ed25519 ec-p256 ec-p384 rsa2048 rsa3072; do
	expect_grep "$T/out" "^$(cut -d' ' -f1,2 "$T/$kt.pub") it-sa-$kt-$$\$" \
	    "ssh-add -L lists the $kt key with comment it-sa-$kt-$$"
done

say "checks: after task end the key is gone and the login refused"
task_end "it-sa-ed25519-$$"
expect_rc 0 "ssh-add -L after one task ended" -- as_agent ssh-add -L
expect_no_grep "$T/out" "it-sa-ed25519-$$" "the ended task's key is not listed"
expect_error "ssh with the ended ed25519 task's key" -- ssh_agent_login "$T/ed25519.pub"
for kt in ec-p256 ec-p384 rsa2048 rsa3072; do
	task_end "it-sa-$kt-$$"
done
expect_rc 1 "ssh-add -L after every task ended" -- as_agent ssh-add -L
expect_grep "$T/out" "no identities" "the agent has no identities left"
expect_error "ssh with the ended ec-p256 task's key" -- ssh_agent_login "$T/ec-p256.pub"

say "checks: the agent refuses what is not list or sign"
ssh-keygen -q -t ed25519 -N '' -f "$T/own" || fail "ssh-keygen"
expect_error "ssh-add of a private key (agent keys come from tasks)" -- \
    as_agent ssh-add "$T/own"
expect_error "ssh-add -D" -- as_agent ssh-add -D
# SSH_AGENTC_LOCK (22) with passphrase "xxxx": refused, no lock.
_r=$(raw "$ASOCK" 00000009160000000478787878 000000010b)
[ "$_r" = "0000000105000000050c00000000" ] ||
    fail "lock then identities: got '$_r'"
pass "lock refused; the agent still answers"
kill -0 "$AGENT_PID" 2>/dev/null || fail "wid-agent died"
pass "wid-agent alive after refused requests"

say "checks: malformed frames close the connection, the agent lives on"
# frame HEX WANT: WANT is the reply ("" when closed without one).
frame()
{
	_r=$(raw "$ASOCK" "$1")
	[ "$_r" = "$2" ] || fail "frame $1: reply '$_r', expected '$2'"
	pass "frame $1: reply '$2' (${3})"
}
frame 00000000 "" "length 0: closed"
frame 00040001 "" "length over 256 KiB: closed"
frame 000000060d000000ff01 0000000105 "SIGN_REQUEST, truncated key string"
frame 000000020b00 0000000105 "REQUEST_IDENTITIES with a trailing byte"
frame 0000000d0d000000000000000000000002 0000000105 "SIGN_REQUEST for no key: FAILURE"
# a well-formed unknown message keeps the connection: two replies.
_r=$(raw "$ASOCK" 000000011b 000000010b)
[ "$_r" = "0000000105000000050c00000000" ] ||
    fail "unknown message then identities: got '$_r'"
pass "unknown message: FAILURE, connection kept, next request answered"
kill -0 "$AGENT_PID" 2>/dev/null || fail "wid-agent died"

say "checks: a task's OpenSSH certificate is listed and signs"
expect_rc 0 "wid-tool ca init --ssh" -- wid_tool ca init --ssh
task_start "it-sa-cert-$$" ed25519 10m --ssh-cert --principal deploy
expect_rc 0 "ssh-add -l" -- as_agent ssh-add -l
expect_grep "$T/out" " it-sa-cert-$$ (ED25519)\$" "the key is listed"
expect_grep "$T/out" " it-sa-cert-$$ (ED25519-CERT)\$" "its certificate is listed"
as_agent ssh-add -L | grep -e '-cert-v01@openssh.com ' >"$T/cert.pub" ||
    fail "no certificate line in ssh-add -L"
printf 'cert payload\n' >"$T/cert.msg"
expect_rc 0 "ssh-keygen -Y sign with the certificate identity" -- \
    as_agent ssh-keygen -Y sign -n file -f "$T/cert.pub" "$T/cert.msg"
expect_rc 0 "ssh-keygen -Y check-novalidate of that signature" -- \
    ssh-keygen -Y check-novalidate -n file -s "$T/cert.msg.sig" <"$T/cert.msg"
task_end "it-sa-cert-$$"

say "checks: wid-tool exec sets SSH_AUTH_SOCK (and --no-ssh-agent does not)"
cat >"$T/inner.sh" <<'EOF'
set -u
[ "${SSH_AUTH_SOCK:-}" = "$IT_ASOCK" ] || { echo "inner: SSH_AUTH_SOCK=${SSH_AUTH_SOCK:-unset}" >&2; exit 90; }
"$IT_TOOL" pubkey "$WID_TASK" >"$IT_DIR/exec.pub" || exit 91
cat "$IT_DIR/exec.pub" >>"$IT_AK"
ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes \
    -o IdentityFile="$IT_DIR/exec.pub" -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10 \
    -p "$IT_PORT" "$IT_USER@127.0.0.1" "echo logged-in-as-\$(id -un)"
EOF
export IT_DIR="$T" IT_TOOL="$WID_TOOL_BIN" IT_AK="$SSH_AK" IT_ASOCK="$ASOCK" \
    IT_PORT="$SSH_PORT" IT_USER="$SSH_USER"
expect_rc 0 "wid-tool exec --key ed25519 -- ssh (no module, no setup)" -- \
    wid_tool exec --ttl 5m --key ed25519 -- sh "$T/inner.sh"
expect_grep "$T/out" "^logged-in-as-$SSH_USER\$" "ssh inside exec logged in"
accepted_with "$T/exec.pub"
expect_rc 0 "wid-tool exec --no-ssh-agent leaves SSH_AUTH_SOCK unset" -- \
    wid_tool exec --ttl 5m --no-ssh-agent -- sh -c '[ -z "${SSH_AUTH_SOCK:-}" ]'

done_ok
