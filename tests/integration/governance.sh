#!/bin/sh
# tests/integration/governance.sh: the audit log and the policy engine in
# a real agent (--audit, --policy).  Signing through wid-pkcs11.so with
# p11sign and pkcs11-tool (two executables the policy tells apart);
# approval by a second uid in group `approvers`; every event type in the
# log, `audit verify` on it and on tampered copies; reload keeping the old
# policy; a bad policy refusing start with FILE:LINE:COL; fail closed with
# the log on a full tmpfs.
. "$(dirname "$0")/lib.sh"
need pkcs11-tool setpriv unshare mount
need_root
need_wid
[ -x "$P11SIGN" ] || fail "p11sign not built at $P11SIGN"

APPR=widapprover
getent group approvers >/dev/null || groupadd approvers ||
    fail "groupadd approvers"
ensure_user "$APPR"
usermod -aG approvers "$APPR" || fail "usermod"
APPR_UID=$(id -u "$APPR")
P11SIGN_EXE=$(readlink -f "$P11SIGN")
TOOL_EXE=$(readlink -f /usr/bin/pkcs11-tool)
AUDIT="$T/audit.log"
POL="$T/policy.yaml"
H=$(date -u +%H)
H=${H#0}
WFROM=$(printf '%02d:00' $(((H + 2) % 24)))
WTO=$(printf '%02d:00' $(((H + 3) % 24)))

cat >"$T/agent.yaml" <<EOC
# the approver may talk to the agent
allow_uids: [$APPR_UID]
audit_checkpoint_every: 5
EOC
write_policy()
{
	cat >"$POL" <<EOP
version: 1
issue:
  - name: deploy
    scopes: [deploy]
    max_ttl: 30m
    approval: {group: approvers}
    ssh_principals: [deploy]
  - name: local
    scopes: [default, limited, blocked, night]
    max_ttl: 1h
use:
  - name: blocked-p11sign
    effect: deny
    tasks: {scopes: [blocked]}
    callers: {exe: [$P11SIGN_EXE]}
  - name: limited
    tasks: {scopes: [limited]}
    callers: {requester: true}
    max_signatures: 3
  - name: night-only
    tasks: {scopes: [night]}
    window: {from: "$WFROM", to: "$WTO", tz: UTC}
  - name: p11sign-only
    callers: {requester: true, exe: [$P11SIGN_EXE]}
    mechanisms: [ECDSA, ECDSA_SHA256]
EOP
}
write_policy

# sign ID N: p11sign N signatures with task ID's key; output in $T/sign
sign()
{
	"$P11SIGN" "$WID_MODULE" "$1" ecdsa "$2" 0 >"$T/sign" 2>&1 ||
	    { cat "$T/sign"; fail "p11sign $1 could not set up"; }
}
as_appr()
{
	setpriv --reuid="$APPR_UID" --regid="$(id -g "$APPR")" --init-groups \
	    env -i PATH="$PATH" HOME=/ WID_AGENT_SOCK="$WID_SOCK" "$@"
}

# ---- a malformed policy: the agent refuses to start and says where ----
printf 'version: 1\nuse:\n  - name: x\n    mechanisms: [NOPE]\n' >"$T/bad.yaml"
expect_rc 1 "policy lint names the bad line" -- wid_tool policy lint "$T/bad.yaml"
expect_grep "$T/err" "bad.yaml:4:" "lint error has FILE:LINE:COL"
"$WID_AGENT_BIN" --foreground --socket "$T/run2.sock" --policy "$T/bad.yaml" \
    >"$T/bad-start.out" 2>&1 && fail "agent started with a bad policy"
expect_grep "$T/bad-start.out" "bad.yaml:4:[0-9]*: " "agent refuses a bad policy with FILE:LINE:COL"
expect_rc 0 "policy lint accepts the test policy" -- wid_tool policy lint "$POL"
expect_rc 0 "policy lint accepts conf/policy.example" -- \
    wid_tool policy lint "$WID_SRCDIR/conf/policy.example"

start_agent --audit "$AUDIT" --policy "$POL"
chmod 0711 "$T/run"
wid_tool status >"$T/status" || fail "status"
expect_grep "$T/status" "$AUDIT" "status names the audit log"

# ---- issue: the principals an OpenSSH certificate may name ----
expect_rc 0 "ca init --ssh" -- wid_tool ca init --ssh
expect_error "a deploy certificate naming root" -- \
    wid_tool task start --ttl 10m --id g-pr1 --scope deploy --ssh-cert \
    --principal deploy --principal root
expect_grep "$T/err" "policy rule deploy: OpenSSH certificate principal 'root' not allowed (not in ssh_principals)" \
    "the refusal names the rule and the principal"
expect_rc 0 "a deploy certificate naming deploy" -- \
    wid_tool task start --ttl 10m --id g-pr2 --scope deploy --ssh-cert \
    --principal deploy
expect_error "a rule without ssh_principals: another user's name" -- \
    wid_tool task start --ttl 10m --id g-pr3 --ssh-cert --principal deploy
expect_grep "$T/err" "policy rule local: .*principal 'deploy' not allowed (without ssh_principals" \
    "without ssh_principals the requester's own name only"
expect_rc 0 "a rule without ssh_principals: the requester's own name" -- \
    wid_tool task start --ttl 10m --id g-pr4 --ssh-cert --principal "$(id -un)"
expect_grep "$AUDIT" '"event":"task-denied","task":"g-pr1"' "the refusal is audited"
# A pending task has no certificate: the approval issues it.
expect_error "no certificate while g-pr2 waits for approval" -- \
    wid_tool cert g-pr2 --ssh
expect_no_grep "$AUDIT" '"event":"cert-issued","task":"g-pr2"' \
    "no cert-issued event before the approval"
expect_rc 0 "approve g-pr2" -- as_appr "$WID_TOOL_BIN" task approve g-pr2
expect_rc 0 "the approval issued g-pr2's certificate" -- \
    wid_tool cert g-pr2 --ssh
cp "$T/out" "$T/g-pr2-cert.pub"
ssh-keygen -L -f "$T/g-pr2-cert.pub" >"$T/g-pr2.L" || fail "ssh-keygen -L"
expect_grep "$T/g-pr2.L" "^ *deploy\$" "the certificate names principal deploy"
awk '/"task":"g-pr2"/ && /"event":"task-approved"/ { a = NR }
     /"task":"g-pr2"/ && /"event":"cert-issued"/ { c = NR }
     END { exit !(a > 0 && c > a) }' "$AUDIT" ||
    fail "cert-issued of g-pr2 is not after its task-approved event"
pass "the audit log has the approval, then the certificate"
# Without a CA for it, a pending task asking for a certificate is refused
# at once, not at approval.
expect_error "pending task asking for an X.509 certificate without that CA" -- \
    wid_tool task start --ttl 10m --id g-pr5 --scope deploy --x509
expect_grep "$T/err" "no X.509 CA: run 'wid-tool ca init --x509' first" \
    "the refusal says which CA is missing"
for id in g-pr2 g-pr4; do
	wid_tool task end "$id" >/dev/null 2>&1 || fail "task end $id"
done

# ---- use: allow, wrong executable, max_signatures, deny wins, window ----
task_start g-ok ec-p256 10m
sign g-ok 2
expect_grep "$T/sign" "sign 2 CKR_OK" "p11sign may sign (rule p11sign-only)"
p11_sign g-ok ECDSA "$T/status" "$T/sig.bin" >"$T/p11.out" 2>&1 &&
    fail "pkcs11-tool signed although the policy allows only p11sign"
pass "pkcs11-tool is denied for the same task (wrong executable)"
expect_rc 1 "policy check explains the denial" -- \
    wid_tool policy check --task g-ok --exe "$TOOL_EXE"
expect_grep "$T/out" "deny rule=p11sign-only: executable $TOOL_EXE not allowed" \
    "policy check names rule and reason"
expect_rc 0 "policy check allows p11sign" -- \
    wid_tool policy check --task g-ok --exe "$P11SIGN_EXE" --mech ECDSA
expect_rc 1 "policy check: a mechanism outside the rule" -- \
    wid_tool policy check --task g-ok --exe "$P11SIGN_EXE" --mech RSA_PKCS

task_start g-lim ec-p256 10m --scope limited
sign g-lim 4
expect_grep "$T/sign" "sign 3 CKR_OK" "limited: 3 signatures"
expect_grep "$T/sign" "sign 4 CKR_FUNCTION_REJECTED" "limited: the 4th is refused (max_signatures)"

task_start g-blk ec-p256 10m --scope blocked
sign g-blk 1
expect_grep "$T/sign" "sign 1 CKR_FUNCTION_REJECTED" "deny wins over the matching allow rule"
task_start g-night ec-p256 10m --scope night
sign g-night 1
expect_grep "$T/sign" "sign 1 CKR_FUNCTION_REJECTED" "outside the time window ($WFROM-$WTO UTC)"
expect_rc 1 "issuance: an unknown scope is denied" -- \
    wid_tool task start --ttl 5m --scope nosuch
expect_grep "$T/err" "default-deny" "issuance denial names default-deny"

# ---- approval apart from execution ----
task_start g-dep ec-p256 10m --scope deploy --requested-by alice@ci
wid_tool task show g-dep >"$T/show"
expect_grep "$T/show" "state: *pending" "deploy task starts pending"
expect_grep "$T/show" "approver: *group:approvers" "show names the awaited approver group"
sign g-dep 1
expect_grep "$T/sign" "sign 1 CKR_FUNCTION_REJECTED" "a pending task cannot sign"
expect_rc 1 "self-approval is refused" -- wid_tool task approve g-dep
expect_grep "$T/err" "may not approve their own task" "self-approval reason"
expect_rc 0 "approval by $APPR (group approvers)" -- \
    as_appr "$WID_TOOL_BIN" task approve g-dep --comment "change 42 reviewed"
sign g-dep 3
expect_grep "$T/sign" "sign 3 CKR_OK" "approved task signs 3 times"
sign g-dep 1   # counted as a use; denied below by executable
p11_sign g-dep ECDSA "$T/status" "$T/sig.bin" >"$T/p11.out" 2>&1 &&
    fail "pkcs11-tool signed with the deploy task"
pass "one denied use of the approved task"
task_end g-dep
task_start g-den ec-p256 10m --scope deploy
expect_rc 0 "deny by $APPR" -- as_appr "$WID_TOOL_BIN" task deny g-den
wid_tool task list >"$T/list"
expect_no_grep "$T/list" "g-den" "a denied task is gone"

# exec --wait-approval gets approved from another process
"$WID_TOOL_BIN" exec --ttl 5m --id g-exec --scope deploy --wait-approval=60s \
    -- sh -c 'echo ran with $WID_TASK' >"$T/exec.out" 2>"$T/exec.err" &
EXEC_PID=$!
wait_for 10 sh -c "\"$WID_TOOL_BIN\" task list | grep -q 'g-exec *pending'" ||
    { cat "$T/exec.err"; fail "exec did not start a pending task"; }
expect_rc 0 "approve the waiting exec" -- as_appr "$WID_TOOL_BIN" task approve g-exec
wait "$EXEC_PID" || { cat "$T/exec.err"; fail "exec --wait-approval failed"; }
expect_grep "$T/exec.err" "waiting for approval of task g-exec (scope deploy) by group approvers" \
    "exec says what it waits for"
expect_grep "$T/exec.out" "ran with g-exec" "exec ran CMD after approval"

# ---- reload: a bad file keeps the old policy ----
cp "$POL" "$T/policy.good"
printf 'version: 1\nuse:\n  - name: [\n' >"$POL"
expect_rc 1 "policy reload of a bad file fails" -- wid_tool policy reload
expect_grep "$T/err" "policy.yaml:[0-9]*:[0-9]*:" "reload error has FILE:LINE:COL"
kill -HUP "$AGENT_PID"
sleep 0.3
sign g-ok 1
expect_grep "$T/sign" "sign 1 CKR_OK" "old policy still in force after a bad reload and SIGHUP"
cp "$T/policy.good" "$POL"
sed -i 's/p11sign-only/p11sign-renamed/' "$POL"
expect_rc 0 "policy reload of a good file" -- wid_tool policy reload
expect_rc 1 "the reloaded policy decides" -- \
    wid_tool policy check --task g-ok --exe "$TOOL_EXE"
expect_grep "$T/out" "rule=p11sign-renamed" "new rule name after reload"

# ---- expiry ----
task_start g-exp ec-p256 1s
wait_for 10 sh -c "! \"$WID_TOOL_BIN\" task list | grep -q g-exp" ||
    fail "g-exp did not expire"
sleep 0.2
wid_tool audit show --task g-dep >"$T/timeline"
stop_agent

# ---- the log: every event type, verify, tampering ----
for ev in agent-start agent-stop policy-load task-requested task-approved \
    task-denied task-started task-ended task-expired task-revoked \
    sign-allowed sign-denied checkpoint; do
	grep -q "\"event\":\"$ev\"" "$AUDIT" || fail "no $ev event in the log"
done
pass "every event type is in the log"
cat "$T/timeline"
expect_grep "$T/timeline" "task-requested.*claimed=\"alice@ci\"" "timeline: requested (claimed principal)"
expect_grep "$T/timeline" "task-approved.*approver=$APPR_UID.*allow" "timeline: approved by $APPR"
expect_grep "$T/timeline" "task-ended" "timeline: ended"
[ "$(grep -c 'sign-allowed' "$T/timeline")" -ge 3 ] || fail "timeline: fewer than 3 uses"
expect_grep "$T/timeline" "sign-denied.*exe=$TOOL_EXE" "timeline: the denied use names pkcs11-tool"
expect_rc 0 "audit verify accepts the log" -- wid_tool audit verify "$AUDIT"
# A task's signatures are all recorded before its end (the agent waits
# for signatures in flight, and records each one inside that window).
python3 - "$AUDIT" >"$T/order" 2>&1 <<'EOF_PY' ||
import json, sys
gone, bad = {}, 0
for n, line in enumerate(open(sys.argv[1]), 1):
    e = json.loads(line)
    t = e.get("task")
    if e["event"] in ("task-ended", "task-expired", "task-revoked"):
        gone.setdefault(t, n)
    elif e["event"] == "sign-allowed" and t in gone:
        print("line %d: sign-allowed for %s after its end at line %d" % (n, t, gone[t]))
        bad += 1
sys.exit(1 if bad else 0)
EOF_PY
    { cat "$T/order"; fail "a signature is recorded after its task's end"; }
pass "no signature is recorded after its task's end"
N=$(wc -l <"$AUDIT")
[ "$N" -gt 20 ] || fail "log too short ($N lines)"

# tamper KIND: make $T/bad.log; expect verify to name line L
tampered()
{
	expect_rc 1 "verify detects $1" -- wid_tool audit verify "$T/bad.log"
	expect_grep "$T/out" "bad.log:$2:" "$1 is reported at line $2"
}
L=10
sed "${L}s/\"seq\":${L},\"time\":\"2/\"seq\":${L},\"time\":\"3/" "$AUDIT" >"$T/bad.log"
cmp -s "$AUDIT" "$T/bad.log" && fail "edit did not change the log"
tampered "one edited byte" $L
sed "${L}d" "$AUDIT" >"$T/bad.log"
tampered "a deleted line" $L
awk -v l=$L 'NR == l { hold = $0; next } { print } NR == l + 1 { print hold }' \
    "$AUDIT" >"$T/bad.log"
tampered "two swapped lines" $L
CP=$(grep -n '"event":"checkpoint"' "$AUDIT" | sed -n 2p | cut -d: -f1)
head -n "$CP" "$AUDIT" >"$T/bad.log"
tampered "truncation after a checkpoint (line $CP)" "$CP"
cp "$AUDIT" "$T/audit.copy"

# ---- fail closed: the log on a full filesystem ----
# The agent runs in its own mount namespace with the log on a 64 KiB
# tmpfs; the test fills it through /proc/PID/root.
cat >"$T/agent-ns.sh" <<EOS
#!/bin/sh
mount -t tmpfs -o size=64k tmpfs "$T/full" || exit 1
exec "$WID_AGENT_BIN" "\$@"
EOS
chmod 0755 "$T/agent-ns.sh"
mkdir -p "$T/full"
rm -f "$T/agent.yaml"
start_agent_ns()
{
	mkdir -p "$T/run"; chmod 0700 "$T/run"; rm -f "$T/ready"
	mkfifo "$T/ready" || fail mkfifo
	unshare -m --propagation private "$T/agent-ns.sh" --foreground \
	    --socket "$WID_SOCK" --ready-fd 3 --audit "$T/full/audit.log" \
	    --policy "$POL" 3>"$T/ready" >>"$T/agent-full.log" 2>&1 &
	AGENT_PID=$!
	track "$AGENT_PID"
	_r=$(timeout 10 head -c 1 <"$T/ready" | od -An -c)
	[ -n "$_r" ] || { cat "$T/agent-full.log"; fail "agent on tmpfs did not start"; }
}
start_agent_ns
FULL="/proc/$AGENT_PID/root$T/full"
task_start g-full ec-p256 10m
sign g-full 1
expect_grep "$T/sign" "sign 1 CKR_OK" "signing works while the log has room"
dd if=/dev/zero of="$FULL/filler" bs=1k count=1024 2>/dev/null
# tmpfs allocates by page: the log may fill its last page before a write
# fails, so sign until one is refused.
sign g-full 80
OKS=$(grep -c 'CKR_OK' "$T/sign")
grep -v 'CKR_OK' "$T/sign" | grep -q '^sign [0-9]* CKR_' ||
    { cat "$T/sign"; fail "signing never failed on the full filesystem"; }
pass "signing fails once the log cannot grow ($OKS signatures fit first)"
expect_grep "$T/agent-full.log" "audit log write failed" "the agent says why"
wid_tool status >/dev/null 2>&1
cp "$FULL/audit.log" "$T/full.log"
stop_agent
expect_rc 0 "the log on the full filesystem still verifies (as a live log)" -- \
    wid_tool audit verify --running "$T/full.log"
REC=$(grep -c '"event":"sign-allowed"' "$T/full.log")
[ "$REC" -eq $((OKS + 1)) ] ||
    fail "signatures returned: $((OKS + 1)), recorded: $REC"
pass "every signature returned is recorded ($REC), none unrecorded"
done_ok
