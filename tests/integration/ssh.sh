#!/bin/sh
# tests/integration/ssh.sh: OpenSSH logs in with a task's key through
# `-o PKCS11Provider=wid-pkcs11.so`, inside `wid-tool exec` (the headline
# use: the job authorizes its own key, then ssh just works), for ECDSA and
# RSA; the same login is refused once the task has ended.
. "$(dirname "$0")/lib.sh"
need ssh ssh-keygen
need_wid
start_sshd

# The inner command of `wid-tool exec`: authorize the task's key (as a CI
# job's setup step would), then log in with it.  It sees only what exec
# gives it: WID_AGENT_SOCK and WID_TASK.
cat >"$T/inner.sh" <<'EOF'
set -u
[ -n "${WID_TASK:-}" ] || { echo "inner: WID_TASK not set" >&2; exit 90; }
[ -n "${WID_AGENT_SOCK:-}" ] || { echo "inner: WID_AGENT_SOCK not set" >&2; exit 91; }
echo "$WID_TASK" >"$IT_DIR/task.$IT_NAME"
"$IT_TOOL" pubkey "$WID_TASK" >"$IT_DIR/$IT_NAME.pub" || exit 92
cat "$IT_DIR/$IT_NAME.pub" >>"$IT_AK"
# With IdentitiesOnly=yes OpenSSH uses a PKCS#11 key only when its public
# key is also named with IdentityFile (-i): sshconnect2.c pubkey_prepare.
ssh -F /dev/null -o PKCS11Provider="$IT_MODULE" -o IdentityAgent=none -o BatchMode=yes \
    -o IdentitiesOnly=yes -o IdentityFile="$IT_DIR/$IT_NAME.pub" \
    -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10 \
    -p "$IT_PORT" "$IT_USER@127.0.0.1" "echo logged-in-as-\$(id -un)"
EOF
export IT_DIR="$T" IT_TOOL="$WID_TOOL_BIN" IT_AK="$SSH_AK" \
    IT_MODULE="$WID_MODULE" IT_PORT="$SSH_PORT" IT_USER="$SSH_USER"

# ssh_p11 PUBFILE: log in with the module's key for PUBFILE.
ssh_p11()
{
	ssh_cmd -o PKCS11Provider="$WID_MODULE" -o IdentityFile="$1" \
	    "$SSH_USER@127.0.0.1" "echo logged-in-as-\$(id -un)"
}

# ssh_p11_any: log in with any key the module offers (no IdentitiesOnly).
ssh_p11_any()
{
	ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no \
	    -o UserKnownHostsFile=/dev/null -o ConnectTimeout=10 -o LogLevel=ERROR \
	    -o PKCS11Provider="$WID_MODULE" -o IdentityFile=none -p "$SSH_PORT" \
	    "$SSH_USER@127.0.0.1" "echo logged-in-as-\$(id -un)"
}

say "checks: headline: wid-tool exec with no agent running (embedded agent), ECDSA"
# No agent at the default path ($XDG_RUNTIME_DIR/wid/agent.sock): exec
# must start its own.
unset WID_AGENT_SOCK
export IT_NAME=ec
expect_rc 0 "wid-tool exec --ttl 10m -- ssh (ecdsa, embedded agent)" -- \
    wid_tool exec --no-ssh-agent --ttl 10m --key ec-p256 -- sh "$T/inner.sh"
expect_grep "$T/out" "^logged-in-as-$SSH_USER\$" "ssh ran the remote command"
grep -q '^ecdsa-sha2-nistp256 ' "$T/ec.pub" || fail "ec task key is not ECDSA P-256"
accepted_with "$T/ec.pub"
# Same authorized key, task over (and its embedded agent gone).
export WID_AGENT_SOCK="$WID_SOCK"
expect_error "ssh with the ended ECDSA task's key" -- ssh_p11 "$T/ec.pub"

say "checks: exec against a running agent, RSA; refused after exec returns"
start_agent
export IT_NAME=rsa
expect_rc 0 "wid-tool exec --ttl 10m -- ssh (rsa2048)" -- \
    wid_tool exec --no-ssh-agent --ttl 10m --key rsa2048 -- sh "$T/inner.sh"
expect_grep "$T/out" "^logged-in-as-$SSH_USER\$" "ssh ran the remote command"
grep -q '^ssh-rsa ' "$T/rsa.pub" || fail "rsa task key is not RSA"
accepted_with "$T/rsa.pub"
WID_TASK=$(cat "$T/task.rsa")
export WID_TASK
expect_error "ssh with the ended RSA task's key (WID_TASK set)" -- ssh_p11 "$T/rsa.pub"
unset WID_TASK
expect_error "ssh with whatever the module still offers" -- ssh_p11_any

say "checks: task start / ssh / task end / ssh refused (ECDSA, agent alive)"
ID=it-ssh-$$
task_start "$ID" ec-p256
pubkey_ssh "$ID" "$T/manual.pub"
: >"$SSH_AK"
expect_error "ssh before the key is authorized" -- ssh_p11 "$T/manual.pub"
cat "$T/manual.pub" >>"$SSH_AK"
export WID_TASK="$ID"
expect_rc 0 "ssh with task $ID (IdentitiesOnly, -i pubkey)" -- ssh_p11 "$T/manual.pub"
accepted_with "$T/manual.pub"
expect_rc 0 "ssh with task $ID (any module key)" -- ssh_p11_any
task_end "$ID"
expect_error "ssh after task end $ID" -- ssh_p11 "$T/manual.pub"
expect_error "ssh after task end $ID (any module key)" -- ssh_p11_any
unset WID_TASK
kill -0 "$AGENT_PID" 2>/dev/null || fail "wid-agent died"

done_ok
