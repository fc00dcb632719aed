#!/bin/sh
# tests/integration/lifecycle.sh: a key is refused once its task is over:
# after `task end`, after its TTL, after `wid-tool exec` returns, and when
# exec's command is killed; an OPEN PKCS#11 session (p11sign) loses the key
# at that moment.  exec returns its command's exit status.
. "$(dirname "$0")/lib.sh"
need pkcs11-tool
need_wid
[ -x "$P11SIGN" ] || fail "p11sign helper not built at $P11SIGN"
start_agent

printf 'lifecycle\n' >"$T/data"

# sign_cmd ID: one signature with pkcs11-tool, key chosen by CKA_ID.
sign_cmd() { p11_sign "$1" ECDSA-SHA256 "$T/data" "$T/sig"; }

listed() { wid_tool task list >"$T/list" 2>&1 && grep -q -w -e "$1" "$T/list"; }

# check_sign_log FILE WHAT: p11sign signed at first, then only failed, and
# failed at least once; it exited normally.
check_sign_log()
{
	awk '
	    /^sign / { n++; if ($3 == "CKR_OK") { if (bad) late = 1; ok++ } else bad++ }
	    /^sign 1 / { first = $3 }
	    END {
		if (first != "CKR_OK") { print "first sign: " first; exit 1 }
		if (!bad) { print "never refused"; exit 1 }
		if (late) { print "signed again after a refusal"; exit 1 }
		printf "%d signed, then %d refused\n", ok, bad
	    }' "$1" >"$T/check" || { cat "$1"; cat "$T/check"; fail "$2"; }
	pass "$2: $(cat "$T/check")"
}

# p11sign_bg ID LOG COUNT MS: sign in a loop on one open session.
p11sign_bg()
{
	"$P11SIGN" "$WID_MODULE" "$1" ecdsa "$3" "$4" >"$2" 2>"$2.err" &
	P11SIGN_PID=$!
	track "$P11SIGN_PID"
	wait_for 10 grep -q '^sign 1 ' "$2" ||
	    { cat "$2" "$2.err"; fail "p11sign did not start signing with $1"; }
}

# p11sign_wait LOG: it must end by itself, not by a signal.
p11sign_wait()
{
	wait "$P11SIGN_PID"
	_rc=$?
	untrack "$P11SIGN_PID"
	[ $_rc -eq 0 ] || { cat "$1" "$1.err"; fail "p11sign exit $_rc"; }
}

say "checks: task end refuses the key, also on an open session"
ID=it-end-$$
task_start "$ID" ec-p256
expect_rc 0 "sign while the task is active" -- sign_cmd "$ID"
p11sign_bg "$ID" "$T/end.p11" 30 100
task_end "$ID"
p11sign_wait "$T/end.p11"
check_sign_log "$T/end.p11" "open session after task end"
expect_error "pkcs11-tool sign after task end" -- sign_cmd "$ID"
listed "$ID" && fail "task $ID still listed after end"
pass "task $ID not listed after end"

say "checks: the key expires at its TTL (3 s), also on an open session"
ID=it-ttl-$$
task_start "$ID" ec-p256 3s
p11sign_bg "$ID" "$T/ttl.p11" 24 250
p11sign_wait "$T/ttl.p11"
check_sign_log "$T/ttl.p11" "open session across the 3 s TTL"
expect_error "pkcs11-tool sign after the TTL" -- sign_cmd "$ID"
listed "$ID" && fail "task $ID still listed after its TTL"
pass "task $ID not listed after its TTL"

say "checks: exec ends the task when its command returns"
# (WID_TASK narrows the module to the task: the only key, no --id needed)
expect_rc 0 "exec -- sh (records WID_TASK, signs)" -- \
    wid_tool exec --ttl 10m --key ec-p256 -- sh -c \
    'echo "$WID_TASK" >"$0/exec.task" &&
     "$2" pubkey "$WID_TASK" --format pem >"$0/exec.pem" &&
     pkcs11-tool --module "$1" --token-label wid --sign -m ECDSA-SHA256 \
        --signature-format openssl -i "$0/data" -o "$0/exec.sig"' "$T" "$WID_MODULE" "$WID_TOOL_BIN"
ID=$(cat "$T/exec.task")
[ -n "$ID" ] || fail "exec did not set WID_TASK"
save_key "$ID" "$T/exec.pem"
openssl dgst -sha256 -verify "$T/exec.pem" -signature "$T/exec.sig" \
    "$T/data" >/dev/null 2>&1 ||
    fail "the signature made inside exec does not verify with $ID's key"
[ -s "$T/exec.sig" ] || fail "the command could not sign inside exec"
pass "the command signed with task $ID inside exec"
expect_error "sign with $ID after exec returned" -- sign_cmd "$ID"
listed "$ID" && fail "task $ID still listed after exec returned"
pass "task $ID not listed after exec returned"

say "checks: exec ends the task when its command is killed"
rm -f "$T/bg.task" "$T/bg.pid"
wid_tool exec --ttl 10m --key ec-p256 -- sh -c \
    '"$1" pubkey "$WID_TASK" --format pem >"$0/bg.pem"; echo "$WID_TASK" >"$0/bg.task"
     echo $$ >"$0/bg.pid"; exec sleep 60' "$T" "$WID_TOOL_BIN" \
    >"$T/bg.out" 2>&1 &
EXEC_PID=$!
track "$EXEC_PID"
wait_for 10 test -s "$T/bg.pid" || fail "exec did not run its command"
ID=$(cat "$T/bg.task")
CMD_PID=$(cat "$T/bg.pid")
save_key "$ID" "$T/bg.pem"
expect_rc 0 "sign with $ID while its command runs" -- sign_cmd "$ID"
p11sign_bg "$ID" "$T/kill.p11" 30 100
kill -TERM "$CMD_PID"
wait "$EXEC_PID"
rc=$?
untrack "$EXEC_PID"
[ $rc -eq 143 ] || { cat "$T/bg.out"; fail "exec returned $rc, expected 143 (SIGTERM)"; }
pass "exec returned 128+15 for its command killed by SIGTERM"
p11sign_wait "$T/kill.p11"
check_sign_log "$T/kill.p11" "open session after the command was killed"
expect_error "sign with $ID after its command was killed" -- sign_cmd "$ID"

say "checks: exec returns its command's exit status"
expect_rc 7 "exec -- exit 7" -- wid_tool exec --ttl 1m -- sh -c 'exit 7'
expect_rc 0 "exec -- true" -- wid_tool exec --ttl 1m -- true
expect_rc 137 "exec -- killed by SIGKILL" -- wid_tool exec --ttl 1m -- sh -c 'kill -KILL $$'
kill -0 "$AGENT_PID" 2>/dev/null || fail "wid-agent died"

done_ok
