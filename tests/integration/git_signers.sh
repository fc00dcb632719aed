#!/bin/sh
# tests/integration/git_signers.sh: git signs commits through wid's
# ssh-agent socket (no module, no ssh-agent of its own: `wid-tool exec`
# sets SSH_AUTH_SOCK), and `wid-tool allowed-signers` makes `git
# verify-commit` accept what was signed during the task and reject a
# signature by the same key that claims a time outside the task (git
# checks the signature at the commit's committer time).  The CI job's git
# configuration is the one README.md documents.
. "$(dirname "$0")/lib.sh"
need git ssh-keygen
need_wid
start_agent

REPO="$T/repo"
git init -q "$REPO" || fail "git init"
gitc()
{
	git -C "$REPO" -c user.name="wid test" -c user.email=ci@wid.test \
	    -c gpg.format=ssh "$@"
}
printf 'first\n' >"$REPO/file"
gitc add file && gitc commit -q -m unsigned || fail "unsigned commit"

# The job, as README.md shows it: the task key signs, allowed_signers
# comes from wid-tool.  Two extra commits claim times outside the task.
cat >"$T/job.sh" <<'EOF'
set -u
[ -n "${SSH_AUTH_SOCK:-}" ] || { echo "job: SSH_AUTH_SOCK not set" >&2; exit 90; }
echo "$WID_TASK" >"$IT_DIR/task"
"$IT_TOOL" pubkey "$WID_TASK" >"$IT_DIR/key.pub" || exit 91
"$IT_TOOL" allowed-signers --principal ci@wid.test >"$IT_DIR/allowed_signers" || exit 92
"$IT_TOOL" allowed-signers >"$IT_DIR/allowed_by_id" || exit 93
cd "$IT_REPO" || exit 94
git config gpg.format ssh
git config user.signingkey "key::$(cat "$IT_DIR/key.pub")"
git config gpg.ssh.allowedSignersFile "$IT_DIR/allowed_signers"
printf 'second\n' >>file
git -c user.name="wid test" -c user.email=ci@wid.test \
    commit -q -a -S -m "signed by $WID_TASK" || exit 95
git rev-parse HEAD >"$IT_DIR/good"
# Same key, same moment, but the commit claims a time before the task...
printf 'early\n' >>file
GIT_COMMITTER_DATE="2001-01-01T00:00:00Z" git -c user.name="wid test" \
    -c user.email=ci@wid.test commit -q -a -S -m early || exit 96
git rev-parse HEAD >"$IT_DIR/early"
# ...and after its deadline.
printf 'late\n' >>file
GIT_COMMITTER_DATE="2099-01-01T00:00:00Z" git -c user.name="wid test" \
    -c user.email=ci@wid.test commit -q -a -S -m late || exit 97
git rev-parse HEAD >"$IT_DIR/late"
EOF
export IT_DIR="$T" IT_TOOL="$WID_TOOL_BIN" IT_REPO="$REPO"

say "checks: git commit -S inside wid-tool exec, through SSH_AUTH_SOCK"
for kt in ed25519 ec-p256 rsa2048; do
	git -C "$REPO" reset -q --hard HEAD >/dev/null 2>&1
	expect_rc 0 "exec --key $kt -- git commit -S (x3)" -- \
	    wid_tool exec --ttl 10m --key "$kt" -- sh "$T/job.sh"
	TASK=$(cat "$T/task")
	KEY=$(cut -d' ' -f1,2 "$T/key.pub")
	expect_grep "$T/allowed_signers" \
	    "^ci@wid.test namespaces=\"git\",valid-after=\"[0-9]\{14\}Z\",valid-before=\"[0-9]\{14\}Z\" $KEY\$" \
	    "allowed-signers line for $TASK ($kt)"
	expect_grep "$T/allowed_by_id" "^$TASK namespaces=\"git\",.* $KEY\$" \
	    "default principal is the task id"

	v() { gitc -c gpg.ssh.allowedSignersFile="$1" verify-commit "$2"; }
	expect_rc 0 "verify-commit of the commit signed during the task ($kt)" -- \
	    v "$T/allowed_signers" "$(cat "$T/good")"
	expect_grep "$T/err" 'Good "git" signature for ci@wid.test' "git: good signature ($kt)"
	expect_error "verify-commit of a commit claiming 2001 ($kt)" -- \
	    v "$T/allowed_signers" "$(cat "$T/early")"
	expect_error "verify-commit of a commit claiming 2099 ($kt)" -- \
	    v "$T/allowed_signers" "$(cat "$T/late")"
	# The rejections come from the validity window, not from a bad
	# signature: without it the same commits verify.
	printf 'ci@wid.test %s\n' "$KEY" >"$T/nowindow"
	expect_rc 0 "the 2001 commit verifies without a window ($kt)" -- \
	    v "$T/nowindow" "$(cat "$T/early")"
	expect_rc 0 "the 2099 commit verifies without a window ($kt)" -- \
	    v "$T/nowindow" "$(cat "$T/late")"
done
git -C "$REPO" reset -q --hard HEAD >/dev/null 2>&1

say "checks: after the task, the key cannot sign at all"
printf 'after\n' >>"$REPO/file"
expect_error "git commit -S after task $TASK ended" -- env \
    SSH_AUTH_SOCK="$T/run/ssh-agent.sock" git -C "$REPO" \
    -c user.name="wid test" -c user.email=ci@wid.test commit -q -a -S -m after
[ "$(cat "$T/late")" = "$(git -C "$REPO" rev-parse HEAD)" ] ||
    fail "a commit was made after the task ended"
pass "no commit after the task ended"

say "checks: allowed-signers usage errors"
expect_rc 2 "allowed-signers --principal with a space" -- \
    wid_tool allowed-signers --principal "a b"
expect_rc 1 "allowed-signers for a task that does not exist" -- \
    wid_tool allowed-signers no-such-task

done_ok
