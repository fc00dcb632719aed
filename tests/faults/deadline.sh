#!/bin/sh
# tests/faults/deadline.sh: deadline stress (tests/faults/deadline.c): 4
# processes x 2 threads sign in a loop while 50 tasks with 1-3 s
# lifetimes start, end early or expire.  Checks, from the clients' own
# records, that no signature was made after its task's end or deadline;
# from the agent's log and from its audit log, that each task's signature
# count equals the signatures the clients received and that no signature
# is recorded after its task's end; that the audit chain verifies; and
# that the agent's RSS returns to within 10% of what it was before.
. "${WID_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
DEADLINE=$WID_BUILDDIR/tests/faults/deadline
rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"; }

# Batched audit sync: every event is written before its reply, lifecycle
# events are synced at once, signatures every 32.
printf 'audit_sync: batch\n' >"$T/agent.yaml"
start_agent --audit "$T/audit.log"
mkdir -p "$T/warm" "$T/run1"
# Warm-up: worker threads, malloc arenas, OpenSSL caches.
"$DEADLINE" "$WID_MODULE" "$T/warm" 6 4 2 >"$T/warm.out" 2>&1 ||
    { cat "$T/warm.out" >&2; fail "warm-up run"; }
sleep 0.5
rss0=$(rss_kb "$AGENT_PID")
# Only the run's own lines (the warm-up used the same task ids).
skip_lines=$(wc -l <"$T/agent.log")
skip_audit=$(wc -l <"$T/audit.log")
"$DEADLINE" "$WID_MODULE" "$T/run1" 50 4 2 >"$T/run.out" 2>&1
rc=$?
grep -v '^late' "$T/run.out"
grep -m 5 '^late' "$T/run.out"
[ $rc -eq 0 ] || fail "deadline stress: see above"
sleep 0.5
rss1=$(rss_kb "$AGENT_PID")
pass "$(tail -n 1 "$T/run.out")"

# The agent's count per task (its "ended"/"expired" line) against the
# signatures the clients received.
bad=0
while read -r id ttl early ok late; do
	n=$(tail -n +"$((skip_lines + 1))" "$T/agent.log" | sed -n \
	    "s/^wid-agent: task $id \(ended\|expired\):.* signatures=\([0-9]*\).*/\2/p")
	if [ -z "$n" ]; then
		say "task $id: no end/expiry line in the agent log"
		bad=$((bad + 1))
	elif [ "$n" -ne "$ok" ]; then
		say "task $id: agent counted $n signatures, clients got $ok"
		bad=$((bad + 1))
	fi
done <"$T/run1/tasks.txt"
[ $bad -eq 0 ] || fail "$bad tasks whose agent count differs"

# The same from the audit log, the run's part of it.
python3 - "$T/audit.log" "$skip_audit" "$T/run1/tasks.txt" >"$T/audit-check" 2>&1 <<'EOF_PY' ||
import json, sys
log, skip, tasks = sys.argv[1], int(sys.argv[2]), sys.argv[3]
signs, gone, late = {}, {}, 0
for n, line in enumerate(open(log), 1):
    if n <= skip:
        continue
    e = json.loads(line)
    t = e.get("task")
    if e["event"] in ("task-ended", "task-expired", "task-revoked"):
        gone.setdefault(t, n)
    elif e["event"] == "sign-allowed":
        if t in gone:
            print("line %d: %s signed after its end at line %d" % (n, t, gone[t]))
            late += 1
        signs[t] = signs.get(t, 0) + 1
bad = 0
for row in open(tasks):
    tid, ttl, early, ok, lt = row.split()
    if signs.get(tid, 0) != int(ok) or tid not in gone:
        print("%s: audit has %d signatures%s, clients got %s" % (tid, signs.get(tid, 0), "" if tid in gone else " and no end", ok))
        bad += 1
print("audit: %d signatures recorded, %d after their task's end, %d tasks differ" % (sum(signs.values()), late, bad))
sys.exit(1 if late or bad else 0)
EOF_PY
    { cat "$T/audit-check" >&2; fail "the audit log disagrees with the clients"; }
pass "$(tail -n 1 "$T/audit-check")"
tail -n +"$((skip_lines + 1))" "$T/agent.log" >"$T/run.log"
expired=$(grep -c "^wid-agent: task dl-[0-9]* expired" "$T/run.log")
ended=$(grep -c "^wid-agent: task dl-[0-9]* ended" "$T/run.log")
pass "agent log: ended $ended, expired $expired; counts match the clients"

lim=$((rss0 + rss0 / 10))
say "agent RSS before $rss0 kB, after $rss1 kB (limit $lim kB)"
if [ -n "${WID_SANITIZED:-}" ]; then
	# ASan build: its quarantine and shadow memory, not the agent's heap,
	# make the RSS (~400 MB); the plain build judges it.
	pass "agent RSS $rss0 -> $rss1 kB (ASan build: reported, not judged)"
else
	[ "$rss1" -le "$lim" ] || fail "agent RSS $rss1 kB > $lim kB after the run"
	pass "agent RSS $rss0 -> $rss1 kB"
fi
stop_agent
expect_rc 0 "the audit chain verifies" -- wid_tool audit verify "$T/audit.log"
echo "deadline: $(tail -n 1 "$T/run.out") | agent: ended $ended expired $expired | RSS $rss0 -> $rss1 kB | $(tail -n 1 "$T/audit-check")"
done_ok
