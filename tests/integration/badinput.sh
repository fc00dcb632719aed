#!/bin/sh
# tests/integration/badinput.sh: wrong input is refused with the right exit
# code and a message, and nothing crashes: wid-tool usage errors (2), bad
# durations (2), unknown task (1), no agent (3, naming the socket); clients
# whose agent is killed mid-session get errors, not signals; garbage on
# the agent socket leaves the agent up and serving, also while a client
# stalls mid-frame; pipelined or split requests get one reply each.
. "$(dirname "$0")/lib.sh"
need pkcs11-tool perl
need_wid
[ -x "$P11SIGN" ] || fail "p11sign helper not built at $P11SIGN"
start_agent

# expect_msg RC WHAT -- CMD...: exit RC and a message on stderr.
expect_msg()
{
	expect_rc "$@"
	[ -s "$T/err" ] || fail "$2: no message on stderr"
	pass "$2: says '$(head -n 1 "$T/err")'"
}

say "checks: usage errors exit 2 with a message"
expect_msg 2 "unknown global flag" -- wid_tool --no-such-flag status
expect_msg 2 "unknown command" -- wid_tool no-such-command
expect_msg 2 "unknown flag to task start" -- wid_tool task start --ttl 10m --bogus
expect_msg 2 "unknown key type" -- wid_tool task start --ttl 10m --key dsa1024
expect_msg 2 "task end without an id" -- wid_tool task end
expect_msg 2 "exec without a command" -- wid_tool exec --ttl 10m --

say "checks: bad durations exit 2 with a message"
for ttl in 0 5x -1 "" 1.5h 10m10m 99999999999999999999 "1 h"; do
	expect_msg 2 "--ttl '$ttl'" -- wid_tool task start --ttl "$ttl" --key ec-p256
done
expect_msg 2 "exec --ttl 0" -- wid_tool exec --ttl 0 -- true
# Nothing was started by any of them.
expect_rc 0 "task list" -- wid_tool task list
[ "$(grep -c . "$T/out")" -le 1 ] || { cat "$T/out"; fail "a rejected start left a task"; }
pass "no task was started by a rejected command"

say "checks: unknown or invalid task ids exit 1 with a message"
expect_msg 1 "task end of an unknown id" -- wid_tool task end it-no-such-task
expect_msg 1 "task show of an unknown id" -- wid_tool task show it-no-such-task
expect_msg 1 "pubkey of an unknown id" -- wid_tool pubkey it-no-such-task
ID=it-bad-$$
task_start "$ID" ec-p256
expect_msg 1 "task start with an id in use" -- \
    wid_tool task start --ttl 10m --id "$ID" --key ec-p256

say "checks: garbage on the agent socket; the agent stays up and serves"
agent_serves()
{
	kill -0 "$AGENT_PID" 2>/dev/null || fail "wid-agent died after $1"
	wid_tool status >"$T/status" 2>&1 || { cat "$T/status"; fail "wid-agent does not serve after $1"; }
	pass "agent up and serving after $1"
}

# The harness itself: a well-formed STATUS request gets an OK reply
# (length, version 1, op 5, status 0).
raw "$WID_SOCK" 00000004 01050000 >"$T/raw" || fail "perl client"
expect_grep "$T/raw" '^[0-9a-f]\{8\}01050000' "a valid raw STATUS request is answered OK"

RANDOM_HEX=$(od -An -N4096 -tx1 /dev/urandom | tr -d ' \n')
for what in \
    "random:$RANDOM_HEX" \
    "oversized:ffffffff01050000" \
    "length 0:00000000" \
    "length 3:00000003010500" \
    "bad version:0000000463050000" \
    "unknown op:0000000401ff0000" \
    "nonzero pad:0000000401050001" \
    "trailing bytes:0000000601050000dead" \
    "truncated:0000001001010000" \
    "sign, no body:0000000401020000" \
    "end, huge id:0000000801040000ffff4142" \
    "two frames, second bad:000000040105000000000004ff" \
    ; do
	name=${what%%:*}
	raw "$WID_SOCK" "${what#*:}" >"$T/raw" 2>&1
	# An answer, if any, must not be status OK (except to the valid
	# first frame of the last case).
	case $name in
	two*) ;;
	*) grep -q '^[0-9a-f]\{8\}01..0000' "$T/raw" &&
	    { cat "$T/raw"; fail "agent answered OK to $name"; } ;;
	esac
	grep -q TIMEOUT "$T/raw" && fail "agent neither answered nor closed after $name"
	agent_serves "garbage ($name)"
done

say "checks: pipelined and split requests are answered one by one, in order"
# frames_ok HEX: "N M": N reply frames walked in HEX, M of them STATUS OK.
frames_ok()
{
	perl -e 'my $h = shift; my ($n, $ok) = (0, 0);
	    while (length($h) >= 8) {
	        my $l = hex(substr($h, 0, 8));
	        last if length($h) < 8 + 2 * $l;
	        $n++; $ok++ if substr($h, 8, 8) eq "01050000";
	        $h = substr($h, 8 + 2 * $l);
	    }
	    print "$n $ok\n";' "$1"
}
# 100 frames in one write: more than the agent reads ahead at once (512
# bytes) and more than one connection is served per turn (16).  The
# client keeps its side open and waits for the replies (raw would shut
# it down, and the end of input alone would wake the agent).
perl -MIO::Socket::UNIX -e '
    my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $ARGV[0])
        or die "connect: $!\n";
    binmode $s;
    syswrite($s, pack("H*", "0000000401050000" x 100));
    our $all = "";
    local $SIG{ALRM} = sub { print unpack("H*", $all), "\n"; exit 0 };
    alarm 5;
    my ($buf, $n);
    while (sysread($s, $buf, 65536)) {
        $all .= $buf;
        my $off = 0;
        $n = 0;
        while (length($all) >= $off + 4) {
            my $l = unpack("N", substr($all, $off, 4));
            last if length($all) < $off + 4 + $l;
            $off += 4 + $l; $n++;
        }
        last if $n >= 100;
    }
    print unpack("H*", $all), "\n";' "$WID_SOCK" >"$T/raw" 2>&1
[ "$(frames_ok "$(cat "$T/raw")")" = "100 100" ] ||
    { cat "$T/raw"; fail "100 pipelined STATUS requests: $(frames_ok "$(cat "$T/raw")") replies/OK"; }
pass "100 STATUS requests in one write: 100 OK replies"
# One request in three writes, then a second one in the same write as
# the first's last byte.
raw "$WID_SOCK" 000000 0401 05000000000004010500 00 >"$T/raw" 2>&1
[ "$(frames_ok "$(cat "$T/raw")")" = "2 2" ] ||
    { cat "$T/raw"; fail "split requests: $(frames_ok "$(cat "$T/raw")") replies/OK"; }
pass "requests split across writes: 2 OK replies"
agent_serves "pipelined requests"

say "checks: a client stalled mid-frame does not stall others"
printf 'badinput\n' | openssl dgst -sha256 -binary >"$T/digest"
perl -MIO::Socket::UNIX -e '
    my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $ARGV[0]) or die;
    syswrite($s, "\0\0");
    sleep 30;' "$WID_SOCK" &
STALL_PID=$!
track "$STALL_PID"
sleep 0.3
expect_rc 0 "wid-tool status while a client stalls" -- timeout 10 "$WID_TOOL_BIN" status
expect_rc 0 "pkcs11-tool sign while a client stalls" -- \
    p11_sign "$ID" ECDSA "$T/digest" "$T/sig"
stop_pid "$STALL_PID"

say "checks: the agent killed mid-session: clients fail cleanly"
p11() { pkcs11-tool --module "$WID_MODULE" "$@"; }
printf 'badinput\n' >"$T/data"
"$P11SIGN" "$WID_MODULE" "$ID" ecdsa 40 100 >"$T/p11" 2>"$T/p11.err" &
P11SIGN_PID=$!
track "$P11SIGN_PID"
wait_for 10 grep -q '^sign 1 CKR_OK' "$T/p11" ||
    { cat "$T/p11" "$T/p11.err"; fail "p11sign did not sign"; }
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
untrack "$AGENT_PID"
wait "$P11SIGN_PID"
rc=$?
untrack "$P11SIGN_PID"
[ $rc -eq 0 ] || { cat "$T/p11" "$T/p11.err"; fail "p11sign exit $rc after the agent died"; }
tail -n 1 "$T/p11" | grep -q 'CKR_OK' &&
    { cat "$T/p11"; fail "p11sign still signs with the agent dead"; }
pass "open session gets $(tail -n 1 "$T/p11" | awk '{print $3}') after the agent died, no crash"
expect_error "pkcs11-tool --sign with no agent" -- \
    p11_sign "$ID" ECDSA-SHA256 "$T/data" "$T/sig"
expect_rc 0 "pkcs11-tool -L with no agent (slot, no token)" -- p11 -L
expect_no_grep "$T/out" "token label *: wid\$" "no wid token without an agent"

say "checks: no agent: exit 3 and a message naming the socket"
for cmd in status "task list" "task end $ID" "task start --ttl 10m --key ec-p256"; do
	# shellcheck disable=SC2086
	expect_rc 3 "wid-tool $cmd with no agent" -- wid_tool $cmd
	expect_grep "$T/err" "$WID_SOCK" "wid-tool $cmd names the socket"
done
expect_rc 3 "wid-tool --socket PATH status" -- wid_tool --socket "$T/nowhere.sock" status
expect_grep "$T/err" "$T/nowhere.sock" "the message names --socket's path"

done_ok
