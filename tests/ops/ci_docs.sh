#!/bin/sh
# tests/ops/ci_docs.sh: the CI examples of docs/ci.md, executed.  The
# GitHub Actions and GitLab CI YAML blocks are extracted
# (tests/ops/ci_extract.py) and their shell steps run the way each runner
# runs them (GitHub: one `bash -e` per step, $GITHUB_ENV between steps,
# `if: always()` steps after a failure; GitLab: before_script + script in
# one shell, after_script in a new one, always), against a wid-agent and
# a loopback sshd standing in for the deploy target.  Each job must sign a
# commit with its task's key, deploy over ssh with it, and end the task;
# a job whose deploy fails must still end its task.
#
# Test-only adaptations, nothing else: the deploy target's host/port/user
# known host key, and $WID_MODULE point at the loopback sshd and the
# built module, and
# `ssh-agent` gets -P '/**' because the built module is not under
# /usr/lib (the installed one is).
. "$(dirname "$0")/../integration/lib.sh"
need python3 git ssh ssh-agent ssh-add ssh-keygen date
python3 -c 'import yaml' 2>/dev/null || fail "python3-yaml is not installed (scripts/deps.sh installs it)"
need_root
need_wid
DOC="$WID_SRCDIR/docs/ci.md"
[ -f "$DOC" ] || fail "no $DOC"

start_agent
start_sshd
TARGET_HOME=$(getent passwd "$SSH_USER" | cut -d: -f6)

# The target's pinned host key.
printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(cut -d' ' -f1,2 "$T/sshd/host_key.pub")" \
    >"$T/known_hosts"

# alive PID: running (a zombie nobody reaps in a container is not).
alive()
{
	kill -0 "$1" 2>/dev/null &&
	    [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# still_alive PID: alive after a grace of 2 s (kill(1) does not wait for
# the process to exit).
still_alive()
{
	! wait_for 2 sh -c '! { kill -0 "$1" 2>/dev/null && [ "$(awk "{print \$3}" "/proc/$1/stat" 2>/dev/null)" != Z ]; }' sh "$1"
}

mkdir -p "$T/bin"
# The shim also records the job's task as the job sees it.
cat >"$T/bin/ssh-agent" <<EOF2
#!/bin/sh
"$WID_TOOL_BIN" task show "\$WID_TASK" --json >"$T/job-task.json"
exec /usr/bin/ssh-agent -P '/**' "\$@"
EOF2
# The deploy target's authorization hook: one authorized_keys line with
# OpenSSH's expiry-time, as docs/ci.md describes.
cat >"$T/bin/wid-authorize" <<EOF2
#!/bin/sh
set -eu
case "\$2" in [0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]Z) ;;
*) echo "wid-authorize: bad expiry '\$2'" >&2; exit 2 ;; esac
printf 'expiry-time="%s" %s\n' "\$2" "\$(cat)" >>"$SSH_AK"
EOF2
chmod 0755 "$T/bin/ssh-agent" "$T/bin/wid-authorize"
export PATH="$T/bin:$WID_BUILDDIR:$PATH"

cat >"$T/overrides" <<EOF2
export WID_MODULE='$WID_MODULE'
export DEPLOY_HOST=127.0.0.1 DEPLOY_PORT='$SSH_PORT' DEPLOY_USER='$SSH_USER'
export WID_AUTHORIZE='$T/bin/wid-authorize' DEPLOY_KNOWN_HOSTS='$T/known_hosts'
EOF2

for ex in github gitlab; do
	python3 "$WID_SRCDIR/tests/ops/ci_extract.py" "$DOC" "$ex" "$T/$ex" \
	    2>"$T/extract.err" || { cat "$T/extract.err"; fail "extract $ex"; }
done
[ "$(ls "$T/github/steps/"*.sh | wc -l)" -ge 4 ] || fail "github: too few run steps"
ls "$T/github/steps/"*.always >/dev/null 2>&1 || fail "github: no if: always() step"
[ -s "$T/gitlab/after.sh" ] || fail "gitlab: no after_script"
pass "extracted the GitHub and GitLab examples from docs/ci.md"

# checkout W: what actions/checkout or the GitLab runner leaves: a clone
# with one commit.
checkout()
{
	rm -rf "$1"
	git init -q "$1" &&
	    git -C "$1" -c user.name=dev -c user.email=dev@example.com \
	    commit -q --allow-empty -m "the commit under test" ||
	    fail "checkout $1"
}

# run_github NAME [EXTRA_OVERRIDE]: the job, step by step.  Sets JOB_RC.
run_github()
{
	W="$T/$1/ws"; RT="$T/$1/runner-temp"
	mkdir -p "$RT"
	checkout "$W"
	: >"$RT/github-env"
	printf '%s\n' "${2:-}" >"$T/$1.extra"
	JOB_RC=0
	for s in "$T/github/steps/"*.sh; do
		if [ $JOB_RC -ne 0 ] && [ ! -f "${s%.sh}.always" ]; then
			echo "skipped $(basename "$s")" >>"$T/$1.log"
			continue
		fi
		(
			cd "$W" || exit 1
			export GITHUB_ENV="$RT/github-env" RUNNER_TEMP="$RT" \
			    GITHUB_WORKSPACE="$W" GITHUB_REPOSITORY=acme/app \
			    GITHUB_RUN_ID=4242 GITHUB_RUN_ATTEMPT=1 \
			    GITHUB_SHA="$(git rev-parse HEAD)"
			. "$T/github/env"; . "$T/overrides"; . "$T/$1.extra"
			set -a; . "$RT/github-env"; set +a
			exec bash -e "$s"
		) >>"$T/$1.log" 2>&1 || JOB_RC=1
	done
	_p=$(sed -n 's/^SSH_AGENT_PID=//p' "$RT/github-env")
	[ -z "$_p" ] || ! still_alive "$_p" || { track "$_p"; fail "$1: ssh-agent $_p left running"; }
	PUB="$RT/wid.pub"
}

# run_gitlab NAME [EXTRA_OVERRIDE]: before_script + script, then
# after_script.  Sets JOB_RC.
run_gitlab()
{
	W="$T/$1/builds/acme/app"; BD="$T/$1/builds"
	mkdir -p "$BD"
	checkout "$W"
	printf '%s\n' "${2:-}" >"$T/$1.extra"
	for part in main after; do
		(
			cd "$W" || exit 1
			export CI_BUILDS_DIR="$BD" CI_PROJECT_PATH=acme/app \
			    CI_PIPELINE_ID=777 CI_JOB_ID=4343 \
			    CI_COMMIT_SHA="$(git rev-parse HEAD)"
			. "$T/gitlab/env"; . "$T/overrides"; . "$T/$1.extra"
			exec bash -eo pipefail "$T/gitlab/$part.sh"
		) >>"$T/$1.log" 2>&1
		_rc=$?
		[ $part = main ] && JOB_RC=$_rc
	done
	[ ! -s "$BD/ssh-agent-4343.pid" ] || { track "$(cat "$BD/ssh-agent-4343.pid")"; fail "$1: after_script left the ssh-agent pid file"; }
	PUB="$W/wid.pub"
}

# check_ok NAME CI-ID: the job signed, deployed and ended its task.
check_ok()
{
	[ $JOB_RC -eq 0 ] || { cat "$T/$1.log"; fail "$1: job failed (exit $JOB_RC)"; }
	pass "$1: every step succeeded"
	expect_grep "$T/$1.log" "^deployed $2" "$1: deployed over ssh with the task key"
	[ -s "$TARGET_HOME/release.bundle" ] || fail "$1: nothing arrived on the target"
	git -C "$W" bundle verify "$TARGET_HOME/release.bundle" >/dev/null 2>&1 ||
	    fail "$1: the deployed bundle is broken"
	git bundle list-heads "$TARGET_HOME/release.bundle" |
	    grep -q "^$(git -C "$W" rev-parse HEAD) " ||
	    fail "$1: the target did not get the signed commit"
	pass "$1: the signed commit arrived on the target"
	rm -f "$TARGET_HOME/release.bundle"
	printf 'ci@example.com %s\n' "$(cut -d' ' -f1,2 "$PUB")" >"$T/$1.signers"
	expect_rc 0 "$1: the release commit verifies against the task key" -- \
	    git -C "$W" -c gpg.ssh.allowedSignersFile="$T/$1.signers" verify-commit HEAD
	expect_grep "$T/err" 'Good "git" signature' "$1: git reports a good signature"
	grep -q "expiry-time=\"[0-9]\{12\}Z\" $(cut -d' ' -f1,2 "$PUB")" "$SSH_AK" ||
	    fail "$1: the target was not given the key with its expiry"
	pass "$1: the target trusts the key only until the task's deadline"
}

# check_ended NAME: no task of the job is active any more.
check_ended()
{
	wid_tool task list --json >"$T/$1.tasks" || fail "$1: task list"
	if grep -q '"state": *"active"' "$T/$1.tasks"; then
		cat "$T/$1.tasks" >&2
		fail "$1: a task is still active after the job"
	fi
	pass "$1: the job's task ended"
}

# check_requester NAME WHO: the job's task was requested by the job.
check_requester()
{
	expect_grep "$T/job-task.json" "\"requested_by\": *\"$2\"" \
	    "$1: the task's requester is the job ($2)"
	rm -f "$T/job-task.json"
}

say "GitHub Actions example"
run_github gh-ok
check_ok gh-ok "run 4242"
check_requester gh-ok github:acme/app/4242/1
check_ended gh-ok
: >"$SSH_AK"

say "GitHub Actions example, deploy target down: the task still ends"
run_github gh-fail "export DEPLOY_PORT=1"
[ $JOB_RC -ne 0 ] || fail "gh-fail: the job succeeded with the target down"
pass "gh-fail: the job failed"
expect_no_grep "$T/gh-fail.log" "skipped 04" "gh-fail: the if: always() step ran"
check_ended gh-fail
: >"$SSH_AK"

say "GitLab CI example"
run_gitlab gl-ok
check_ok gl-ok "job 4343"
check_requester gl-ok gitlab:acme/app/777/4343
check_ended gl-ok
[ ! -e "$T/gl-ok/builds/wid-task-4343" ] || fail "gl-ok: task file left behind"
: >"$SSH_AK"

say "GitLab CI example, deploy target down: after_script ends the task"
run_gitlab gl-fail "export DEPLOY_PORT=1"
[ $JOB_RC -ne 0 ] || fail "gl-fail: the job succeeded with the target down"
pass "gl-fail: the job failed"
check_ended gl-fail

done_ok
