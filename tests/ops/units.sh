#!/bin/sh
# tests/ops/units.sh: the systemd units and the agent's side of socket
# activation.  `systemd-analyze verify` must accept wid-agent.service and
# wid-agent.socket without a single message (it exits 0 even on warnings,
# so its output is the verdict), the hardening the issue requires must be
# there, `systemd-analyze security --offline` must rate the service SAFE
# or OK (exposure <= 2.0), systemd-sysusers must create the wid user from
# wid.sysusers, and the agent must serve on a socket handed over by the
# sd_listen_fds(3) protocol (systemd-socket-activate) and refuse bad
# hand-overs.  No systemd runs as PID 1 here, so the units are not
# started by systemd itself: that is the limit of this test.
. "$(dirname "$0")/../integration/lib.sh"
need systemd-analyze systemd-socket-activate systemd-sysusers man
need_wid
SVC_IN="$WID_SRCDIR/conf/systemd/wid-agent.service.in"
SOCK_UNIT="$WID_SRCDIR/conf/systemd/wid-agent.socket"

# The unit as `make` generates it, ExecStart on the built agent (verify
# checks that the program exists), and the man pages it references on
# MANPATH (verify runs man for each Documentation= entry).
mkdir -p "$T/units" "$T/man/man1" "$T/man/man5" "$T/man/man8"
sed -e "s|@bindir@|$WID_BUILDDIR|g" -e "s|@sysconfdir@|/etc|g" "$SVC_IN" \
    >"$T/units/wid-agent.service" || fail "generate the service"
cp "$SOCK_UNIT" "$T/units/" || fail "copy the socket unit"
cp "$WID_SRCDIR/conf/systemd/wid-agent-tpm.conf" "$T/units/" || fail "copy the drop-in"
for p in "$WID_SRCDIR"/man/*.[158]; do
	ln -s "$p" "$T/man/man${p##*.}/" || fail "link $p"
done
export MANPATH="$T/man"

# verify UNIT...: exit 0 and no output at all.
verify()
{
	(cd "$T/units" && systemd-analyze verify "$@") >"$T/verify.out" 2>&1
	_rc=$?
	if [ $_rc -ne 0 ] || [ -s "$T/verify.out" ]; then
		cat "$T/verify.out" >&2
		return 1
	fi
	return 0
}
verify "$T/units/wid-agent.service" "$T/units/wid-agent.socket" ||
    fail "systemd-analyze verify complains about the units"
pass "systemd-analyze verify: wid-agent.service and wid-agent.socket are clean"

# The check can fail: a unit with a typo is reported.
sed 's/^LockPersonality=yes/LockPersonalty=yes/' "$T/units/wid-agent.service" \
    >"$T/units/broken.service"
verify "$T/units/broken.service" 2>/dev/null &&
    fail "systemd-analyze verify accepted a misspelt directive"
pass "systemd-analyze verify reports a misspelt directive"
rm -f "$T/units/broken.service"

# The drop-in applies cleanly on top of the service.
mkdir -p "$T/units/wid-agent.service.d"
cp "$T/units/wid-agent-tpm.conf" "$T/units/wid-agent.service.d/tpm.conf"
SYSTEMD_UNIT_PATH="$T/units:" verify "$T/units/wid-agent.service" ||
    fail "systemd-analyze verify complains with the TPM drop-in"
pass "systemd-analyze verify: the TPM drop-in is clean"
rm -r "$T/units/wid-agent.service.d"

for d in User=wid RuntimeDirectory=wid NoNewPrivileges=yes \
    ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
    PrivateDevices=yes MemoryDenyWriteExecute=yes LockPersonality=yes \
    RestrictAddressFamilies=AF_UNIX SystemCallFilter=@system-service \
    DevicePolicy=closed CapabilityBoundingSet= LimitCORE=0; do
	grep -qx "$d" "$T/units/wid-agent.service" ||
	    fail "wid-agent.service lacks $d"
done
grep -q '^DeviceAllow=' "$T/units/wid-agent.service" &&
    fail "wid-agent.service opens a device without the TPM drop-in"
grep -qx 'DeviceAllow=/dev/tpmrm0 rw' "$T/units/wid-agent-tpm.conf" ||
    fail "the TPM drop-in does not allow /dev/tpmrm0"
[ "$(grep -c '^DeviceAllow=' "$T/units/wid-agent-tpm.conf")" -eq 1 ] ||
    fail "the TPM drop-in allows more than /dev/tpmrm0"
pass "hardening directives present; /dev/tpmrm0 only through the drop-in"
grep -qx 'ListenStream=/run/wid/agent.sock' "$T/units/wid-agent.socket" &&
    grep -qx 'PassCredentials=yes' "$T/units/wid-agent.socket" ||
    fail "wid-agent.socket: not /run/wid/agent.sock with PassCredentials"
pass "wid-agent.socket listens on /run/wid/agent.sock with credentials"

systemd-analyze security --offline=true "$T/units/wid-agent.service" \
    >"$T/security.out" 2>&1
score=$(sed -n 's/.*Overall exposure level for wid-agent.service: \([0-9.]*\).*/\1/p' "$T/security.out")
[ -n "$score" ] || { cat "$T/security.out" >&2; fail "no exposure score"; }
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' ||
    { grep '✗' "$T/security.out" >&2; fail "exposure $score > 2.0"; }
pass "systemd-analyze security: exposure $score (<= 2.0)"

mkdir -p "$T/sysroot/etc"
: >"$T/sysroot/etc/passwd"
: >"$T/sysroot/etc/group"
systemd-sysusers --root="$T/sysroot" "$WID_SRCDIR/conf/systemd/wid.sysusers" \
    >"$T/sysusers.out" 2>&1 || { cat "$T/sysusers.out"; fail "systemd-sysusers"; }
expect_grep "$T/sysroot/etc/passwd" '^wid:x:[0-9]*:[0-9]*:wid agent:/var/lib/wid:/usr/sbin/nologin$' \
    "systemd-sysusers creates the wid user (nologin)"

# Socket activation: systemd-socket-activate implements the systemd side
# (LISTEN_PID, LISTEN_FDS, the socket on fd 3) and starts the agent on
# the first connection.  --socket names another path: it must be ignored.
ASOCK="$T/act/agent.sock"
mkdir -p "$T/act"
systemd-socket-activate -l "$ASOCK" "$WID_AGENT_BIN" --foreground \
    --no-config --socket "$T/act/ignored.sock" >>"$T/agent.log" 2>&1 &
ACT_PID=$!
track "$ACT_PID"
wait_for 10 test -S "$ASOCK" || fail "systemd-socket-activate did not listen"
expect_rc 0 "wid-tool status on the activated socket" -- \
    wid_tool --socket "$ASOCK" status
expect_grep "$T/out" "reachable" "status says the agent is reachable"
expect_grep "$T/agent.log" "Execing $WID_AGENT_BIN" "the agent was started by the first connection"
expect_grep "$T/agent.log" "listening on $ASOCK" "the agent serves the socket it was handed"
[ -e "$T/act/ignored.sock" ] && fail "the agent bound --socket despite activation"
pass "--socket is ignored under socket activation"
expect_rc 0 "a task on the activated agent" -- \
    wid_tool --socket "$ASOCK" task start --ttl 1m --id act1
expect_rc 0 "end it" -- wid_tool --socket "$ASOCK" task end act1
stop_pid "$ACT_PID"

# Bad hand-overs are refused with a message, never half-served.
# (sh -c 'exec ...': $$ is the pid the agent will have.)
act()
{
	sh -c 'LISTEN_PID=$$ LISTEN_FDS='"$1"' exec "$0" --foreground --no-config --socket "$1"' \
	    "$WID_AGENT_BIN" "$T/act/fallback.sock"
}
expect_rc 1 "LISTEN_FDS=1 with a regular file on fd 3" -- act 1 3<"$SVC_IN"
expect_grep "$T/err" "not a socket\|not a listening AF_UNIX" "the agent says fd 3 is not a listening socket"
expect_rc 1 "LISTEN_FDS=2" -- act 2 3<"$SVC_IN" 4<"$SVC_IN"
expect_grep "$T/err" "exactly one ListenStream" "the agent says it wants one socket"

done_ok
