#!/bin/sh
# tests/faults/memcheck.sh (`make memcheck`): valgrind memcheck over the
# agent (start, tasks, signatures, expiry, SIGTERM) and over the module
# driven by pkcs11-tool (list, sign, read attributes).  Passes when
# valgrind reports 0 errors and 0 bytes definitely lost in each run
# (for pkcs11-tool: in stacks through wid-pkcs11.so; the host program's
# own leaks are not ours).
. "${WID_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
need valgrind pkcs11-tool
need_wid
VG="valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite
    --errors-for-leak-kinds=definite --track-origins=yes --num-callers=30"

# valgrind 3.19 (bookworm) does not know pidfd_open(2), which the agent
# uses to identify the sender of each request.  The agent skips that
# step for senders outside its pid namespace (their pid reads as 0), so
# it runs in a new one here; everything else is the same code.
need unshare
mkdir -p "$T/run"
chmod 0700 "$T/run"
unshare --pid --fork $VG --log-file="$T/vg-agent.log" "$WID_AGENT_BIN" \
    --foreground --socket "$WID_SOCK" >"$T/agent.log" 2>&1 &
NS_PID=$!
track $NS_PID
wait_for 60 test -S "$WID_SOCK" || { cat "$T/agent.log" "$T/vg-agent.log" >&2; fail "agent under valgrind"; }
AGENT_PID=$(cat "/proc/$NS_PID/task/$NS_PID/children" | awk '{ print $1 }')
[ -n "$AGENT_PID" ] || fail "no agent process under unshare"
task_start m1 ec-p256 10m
task_start m2 ec-p384 10m   # RSA keygen is too slow under valgrind
task_start m3 ed25519 2
openssl rand 32 >"$T/in"
i=0
for k in m1 m2; do
	m=ECDSA
	$VG --log-file="$T/vg-p11-$k.log" pkcs11-tool --module "$WID_MODULE" \
	    --token-label wid --sign -m $m --id "$(kid $k)" -i "$T/in" \
	    -o "$T/sig" >"$T/p11.out" 2>&1 || { cat "$T/p11.out" >&2; fail "sign $k"; }
done
$VG --log-file="$T/vg-p11-list.log" pkcs11-tool --module "$WID_MODULE" \
    --list-objects >"$T/p11.out" 2>&1 || { cat "$T/p11.out" >&2; fail "list"; }
grep -q m1 "$T/p11.out" || fail "pkcs11-tool did not list m1"
sleep 3                         # m3 expires
task_end m1
kill "$AGENT_PID"              # SIGTERM: clean shutdown, then the leak check
wait $NS_PID
untrack $NS_PID

bad=0
for f in "$T"/vg-*.log; do
	errs=$(awk '/ERROR SUMMARY:/ { print $4 }' "$f" | tail -n 1)
	lost=$(awk '/definitely lost:/ { gsub(",", "", $4); print $4 }' "$f" | tail -n 1)
	case $f in
	*vg-agent.log)
		ours=$errs ;;
	*)
		# only records whose stack passes through the module
		ours=$(awk '/^==[0-9]+== [A-Z].*(Invalid|uninitiali|definitely lost|Mismatched|overlap)/ { rec = 1; txt = "" }
		    rec { txt = txt $0 "\n" }
		    /^==[0-9]+== $/ { if (rec && txt ~ /wid-pkcs11/) n++; rec = 0 }
		    END { print n + 0 }' "$f") ;;
	esac
	say "$(basename "$f"): errors ${errs:-?}, definitely lost ${lost:-0} bytes, ours $ours"
	[ -n "$errs" ] || { bad=1; say "no valgrind summary in $f"; }
	[ "${ours:-1}" -eq 0 ] || { bad=1; cat "$f" >&2; }
done
[ $bad -eq 0 ] || fail "valgrind found errors or leaks in wid code"
pass "memcheck: 0 errors, 0 definitely lost (agent; module under pkcs11-tool)"
done_ok
