#!/bin/sh
# tests/integration/git.sh: git signs commits with a task's key.  OpenSSH
# 9.2 cannot sign with a PKCS#11 key directly (`ssh-keygen -Y sign -D`), so
# the job starts ssh-agent, loads wid-pkcs11.so with `ssh-add -s`, and git
# (gpg.format=ssh) signs through the agent.  The commit verifies against
# an allowed_signers file; once the task has ended the same ssh-agent,
# still holding its provider session, can no longer sign.
. "$(dirname "$0")/lib.sh"
need git ssh-agent ssh-add ssh-keygen
need_wid
start_agent

REPO="$T/repo"
git init -q "$REPO" || fail "git init"
printf 'first\n' >"$REPO/file"

gitc()
{
	git -C "$REPO" -c user.name="wid test" -c user.email=ci@wid.test \
	    -c gpg.format=ssh -c commit.gpgsign=false "$@"
}

gitc add file && gitc commit -q -m unsigned || fail "unsigned commit"

# ssh-add -s always asks for a PIN; wid needs none: answer empty.
printf '#!/bin/sh\necho\n' >"$T/askpass"
chmod 0755 "$T/askpass"

# The job: its own ssh-agent (which inherits WID_AGENT_SOCK and WID_TASK
# for its pkcs11 helper), the module loaded into it, a signed commit.
cat >"$T/inner.sh" <<'EOF'
set -u
[ -n "${WID_TASK:-}" ] || { echo "inner: WID_TASK not set" >&2; exit 90; }
echo "$WID_TASK" >"$IT_DIR/task"
# Its own session: it outlives the job, whatever exec does to CMD's group.
setsid ssh-agent -D -P '/**' -a "$IT_DIR/ssh-agent.sock" >>"$IT_DIR/ssh-agent.log" 2>&1 &
echo $! >"$IT_DIR/ssh-agent.pid"
n=0
while [ ! -S "$IT_DIR/ssh-agent.sock" ] && [ $n -lt 100 ]; do
	sleep 0.1; n=$((n + 1))
done
export SSH_AUTH_SOCK="$IT_DIR/ssh-agent.sock"
SSH_ASKPASS="$IT_DIR/askpass" SSH_ASKPASS_REQUIRE=force \
    ssh-add -s "$IT_MODULE" </dev/null || exit 91
ssh-add -L >"$IT_DIR/agent-keys" || exit 92
"$IT_TOOL" pubkey "$WID_TASK" >"$IT_DIR/key.pub" || exit 93
printf 'ci@wid.test %s\n' "$(cat "$IT_DIR/key.pub")" >"$IT_DIR/allowed_signers"
printf 'second\n' >>"$IT_REPO/file"
git -C "$IT_REPO" -c user.name="wid test" -c user.email=ci@wid.test \
    -c gpg.format=ssh -c user.signingkey="key::$(cat "$IT_DIR/key.pub")" \
    commit -q -a -S -m "signed by $WID_TASK" || exit 94
EOF
export IT_DIR="$T" IT_TOOL="$WID_TOOL_BIN" IT_MODULE="$WID_MODULE" IT_REPO="$REPO"

say "checks: inside wid-tool exec, git commit -S through ssh-agent + wid-pkcs11.so"
wid_tool exec --ttl 10m --key ec-p256 -- sh "$T/inner.sh" >"$T/exec.out" 2>&1
rc=$?
if [ -s "$T/ssh-agent.pid" ]; then
	SSH_AGENT_PID=$(cat "$T/ssh-agent.pid")
	track "$SSH_AGENT_PID"
fi
[ $rc -eq 0 ] || { cat "$T/exec.out"; fail "exec (signed commit) exit $rc"; }
pass "signed commit inside wid-tool exec"
TASK=$(cat "$T/task")
KEY=$(awk '{print $2}' "$T/key.pub")
grep -q " $KEY" "$T/agent-keys" ||
    { cat "$T/agent-keys"; fail "ssh-agent does not hold the task key"; }
pass "ssh-agent loaded task $TASK's key from the module"

gitv() { gitc -c gpg.ssh.allowedSignersFile="$1" verify-commit HEAD; }

expect_rc 0 "git verify-commit with the task key allowed" -- gitv "$T/allowed_signers"
expect_grep "$T/err" 'Good "git" signature for ci@wid.test' "git reports a good signature"
# The verification must be able to fail: another key in allowed_signers.
ssh-keygen -q -t ecdsa -N '' -f "$T/other" || fail "ssh-keygen"
printf 'ci@wid.test %s\n' "$(cut -d' ' -f1,2 "$T/other.pub")" >"$T/other_signers"
expect_error "git verify-commit with only another key allowed" -- gitv "$T/other_signers"
expect_error "git verify-commit of the unsigned parent" -- \
    gitc -c gpg.ssh.allowedSignersFile="$T/allowed_signers" verify-commit HEAD~1

say "checks: after the task ended, the same ssh-agent cannot sign"
export SSH_AUTH_SOCK="$T/ssh-agent.sock"
kill -0 "$SSH_AGENT_PID" 2>/dev/null || fail "ssh-agent is gone"
expect_rc 0 "ssh-agent still answers" -- ssh-add -l
printf 'third\n' >>"$REPO/file"
expect_error "git commit -S after task $TASK ended" -- \
    gitc -c user.signingkey="key::$(cat "$T/key.pub")" commit -q -a -S -m late
# And nothing was committed.
[ "$(gitc log -1 --format=%s)" = "signed by $TASK" ] ||
    fail "a commit was made after the task ended"
pass "no commit after the task ended"

stop_pid "$SSH_AGENT_PID"
done_ok
