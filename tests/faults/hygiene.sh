#!/bin/sh
# tests/faults/hygiene.sh: secret hygiene of an agent run by an ordinary
# user (widhyg), checked as that same user:
#  - its /proc/PID/mem cannot be opened (non-dumpable), while the same
#    user's ordinary process can (so the check can fail);
#  - its core limit is 0; key pages are locked (VmLck > 0);
#  - no key material in argv or environment (agent, tool, exec'd CMD) nor
#    in its log: no long hex or base64 runs, not even the public key;
#  - the module answers CKR_ATTRIBUTE_SENSITIVE for private key values.
. "${WID_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
need_root
need_wid
need setpriv
P11FAULT=$WID_BUILDDIR/tests/faults/p11fault
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

ensure_user widhyg
U=$(id -u widhyg) G=$(id -g widhyg)
H="$T/hyg"
mkdir -p "$H" && chown widhyg "$H" && chmod 0700 "$H"
SOCK="$H/run/agent.sock"
# as_user CMD...: run as widhyg with a minimal environment
as_user()
{
	setpriv --reuid="$U" --regid="$G" --clear-groups \
	    env -i PATH=/usr/bin:/bin HOME="$H" WID_AGENT_SOCK="$SOCK" "$@"
}
# Not through as_user (a function would fork a subshell): $! must be the
# agent itself (setpriv and env exec it).
setpriv --reuid="$U" --regid="$G" --clear-groups env -i PATH=/usr/bin:/bin \
    "$WID_AGENT_BIN" --foreground --socket "$SOCK" >"$H/agent.log" 2>&1 &
APID=$!
track $APID
wait_for 10 test -S "$SOCK" || { cat "$H/agent.log" >&2; fail "agent as widhyg"; }
as_user "$WID_TOOL_BIN" task start --id h1 --key ec-p256 --ttl 10m >/dev/null ||
    fail "task start as widhyg"
as_user "$WID_TOOL_BIN" task start --id h2 --key rsa2048 --ttl 10m >/dev/null ||
    fail "task start rsa as widhyg"
say "agent pid $APID runs as uid $(awk '$1 == "Uid:" { print $2 }' /proc/$APID/status)"

# ---- /proc/PID/mem ----------------------------------------------------
readmem='import sys
try:
    f = open("/proc/%s/mem" % sys.argv[1], "rb")
    print("opened")
except OSError as e:
    print("refused:", e.strerror)'
setpriv --reuid="$U" --regid="$G" --clear-groups sleep 30 &
SPID=$!
track $SPID
sleep 0.2
ctl=$(as_user "$PY" -c "$readmem" "$SPID")
stop_pid $SPID
[ "$ctl" = opened ] || fail "control: widhyg cannot open its own sleep's mem ($ctl)"
got=$(as_user "$PY" -c "$readmem" "$APID")
say "widhyg opening /proc/$APID/mem: $got (its own sleep: $ctl)"
case $got in refused*) ;; *) fail "agent memory readable by its own user" ;; esac
pass "agent /proc/PID/mem: $got"

# ---- core limit, locked pages -----------------------------------------
core=$(awk '/^Max core file size/ { print $5, $6 }' /proc/$APID/limits)
[ "$core" = "0 0" ] || fail "core limit of the agent: $core"
pass "core limit 0 (soft and hard)"
lck=$(awk '$1 == "VmLck:" { print $2 }' /proc/$APID/status)
[ "${lck:-0}" -gt 0 ] || fail "VmLck is ${lck:-absent} kB"
pass "VmLck $lck kB"

# ---- argv, environment, CMD's environment -----------------------------
# blobs FILE: long hex / base64 runs (key material would look like that)
blobs() { tr '\0' '\n' <"$1" | grep -E -o '[0-9A-Fa-f]{40,}|[A-Za-z0-9+/]{40,}={0,2}'; }
cat /proc/$APID/cmdline >"$T/agent.argv"
cat /proc/$APID/environ >"$T/agent.env"
as_user "$WID_TOOL_BIN" exec --key ec-p256 --ttl 1m -- \
    sh -c 'cat /proc/$$/environ; printf "\0"; cat /proc/$$/cmdline' \
    >"$T/cmd.env" 2>"$T/exec.err" || { cat "$T/exec.err" >&2; fail "exec"; }
for f in agent.argv agent.env cmd.env; do
	if blobs "$T/$f" >"$T/blobs"; then
		cat "$T/blobs" >&2
		fail "long hex/base64 run in $f"
	fi
done
extra=$(tr '\0' '\n' <"$T/cmd.env" | grep -E '^[A-Z_]+=' | cut -d= -f1 |
    grep -v -x -E 'PATH|HOME|WID_[A-Z_]+|SSH_AUTH_SOCK|SSH_AGENT_PID' | tr '\n' ' ')
[ -z "$extra" ] || fail "exec added variables: $extra"
pass "no key material in agent argv/environ nor in CMD's environ ($(tr '\0' '\n' <"$T/cmd.env" | grep -c '^WID_') WID_ variables)"

# ---- logs -------------------------------------------------------------
as_user "$WID_TOOL_BIN" pubkey h1 --format pem >"$T/h1.pem" || fail "pubkey"
pub=$(grep -v -- '-----' "$T/h1.pem" | tr -d '\n' | cut -c 30-60)
grep -q -F "$pub" "$H/agent.log" && fail "public key bytes in the agent log"
if blobs "$H/agent.log" >"$T/blobs"; then
	cat "$T/blobs" >&2
	fail "long hex/base64 run in the agent log"
fi
pass "agent log ($(wc -l <"$H/agent.log") lines): no hex/base64 blobs, no key bytes"

# ---- private key attributes -------------------------------------------
for k in h1 h2; do
	as_user "$P11FAULT" sensitive "$WID_MODULE" "$k" >"$T/sens.out" 2>&1 ||
	    { cat "$T/sens.out" >&2; fail "sensitive $k"; }
	grep -q '^CKA_VALUE CKR_ATTRIBUTE_SENSITIVE$' "$T/sens.out" ||
	    { cat "$T/sens.out" >&2; fail "$k: CKA_VALUE not sensitive"; }
done
grep -q '^CKA_PRIVATE_EXPONENT CKR_ATTRIBUTE_SENSITIVE$' "$T/sens.out" ||
    { cat "$T/sens.out" >&2; fail "rsa: CKA_PRIVATE_EXPONENT not sensitive"; }
pass "CKA_VALUE (EC, RSA) and CKA_PRIVATE_EXPONENT: CKR_ATTRIBUTE_SENSITIVE"
done_ok
