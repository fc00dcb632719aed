#!/bin/sh
# tests/integration/visibility.sh: tasks of two uids on one agent.  Each
# uid sees and uses only its own tasks (wid-tool task list, pkcs11-tool),
# root included; with WID_TASK set the module lists only that task even
# when the uid has several.
. "$(dirname "$0")/lib.sh"
need pkcs11-tool setpriv
need_root
need_wid

U2=widtest2
U2_TASK=
ensure_user "$U2"
UID2=$(id -u "$U2")
GID2=$(id -g "$U2")
cat >"$T/agent.yaml" <<EOF
# the second test user may use this agent
allow_uids: [$UID2]
EOF
start_agent
# Let the second uid reach the socket; the agent's peer check decides.
chmod 0711 "$T/run"
mkdir -p "$T/u2"
chown "$UID2:$GID2" "$T/u2"
printf 'visibility\n' >"$T/data"
chmod 0644 "$T/data"

# as_u2 CMD...: run as the second uid with a clean environment.
as_u2()
{
	setpriv --reuid="$UID2" --regid="$GID2" --init-groups \
	    env -i PATH="$PATH" HOME="$T/u2" WID_AGENT_SOCK="$WID_SOCK" \
	    ${U2_TASK:+WID_TASK="$U2_TASK"} "$@"
}

# raw_as_u2 HEX: lib.sh's raw, as uid 2.
raw_as_u2()
{
	as_u2 perl -MIO::Socket::UNIX -e "$RAW_PL" "$WID_SOCK" "$1"
}

as_u2 "$WID_TOOL_BIN" status >"$T/u2status" 2>&1 ||
    { cat "$T/u2status"; ls -l "$T/run"; fail "uid $UID2 cannot use the agent (allow_uids)"; }
pass "uid $UID2 is served (allow_uids)"

A=it-vis-root-$$
B1=it-vis-u2a-$$
B2=it-vis-u2b-$$
task_start "$A" ec-p256
expect_rc 0 "uid $UID2 starts $B1" -- \
    as_u2 "$WID_TOOL_BIN" task start --ttl 10m --id "$B1" --key ec-p256
expect_rc 0 "uid $UID2 starts $B2" -- \
    as_u2 "$WID_TOOL_BIN" task start --ttl 10m --id "$B2" --key rsa2048
for id in "$B1" "$B2"; do
	as_u2 "$WID_TOOL_BIN" pubkey "$id" --format pem >"$T/u2.pem" ||
	    fail "uid $UID2: pubkey $id"
	save_key "$id" "$T/u2.pem"
done
SERIAL_A=$(serial_of "$A")
[ -n "$SERIAL_A" ] || fail "no serial for $A"

# sees WHO FILE ID...: FILE mentions each ID.  not_sees WHO FILE ID...
sees()
{
	_who=$1 _f=$2
	shift 2
	for _id in "$@"; do
		grep -q -w -e "$_id" "$_f" || { cat "$_f"; fail "$_who does not see $_id"; }
		pass "$_who sees $_id"
	done
}
not_sees()
{
	_who=$1 _f=$2
	shift 2
	for _id in "$@"; do
		grep -q -w -e "$_id" "$_f" && { cat "$_f"; fail "$_who sees $_id"; }
		pass "$_who does not see $_id"
	done
}

say "checks: wid-tool task list shows each uid its own tasks only"
expect_rc 0 "root: task list" -- wid_tool task list
sees root "$T/out" "$A"
not_sees root "$T/out" "$B1" "$B2"
expect_rc 0 "uid $UID2: task list" -- as_u2 "$WID_TOOL_BIN" task list
sees "uid $UID2" "$T/out" "$B1" "$B2"
not_sees "uid $UID2" "$T/out" "$A"

say "checks: pkcs11-tool --list-objects shows each uid its own keys only"
expect_rc 0 "root: pkcs11-tool -O" -- \
    pkcs11-tool --module "$WID_MODULE" --token-label wid --list-objects
sees root "$T/out" "$A"
not_sees root "$T/out" "$B1" "$B2"
expect_rc 0 "uid $UID2: pkcs11-tool -O" -- \
    as_u2 pkcs11-tool --module "$WID_MODULE" --token-label wid --list-objects
sees "uid $UID2" "$T/out" "$B1" "$B2"
not_sees "uid $UID2" "$T/out" "$A"

say "checks: with WID_TASK set the module lists only that task"
U2_TASK=$B1
expect_rc 0 "uid $UID2 with WID_TASK=$B1: pkcs11-tool -O" -- \
    as_u2 pkcs11-tool --module "$WID_MODULE" --token-label wid --list-objects
sees "uid $UID2 (WID_TASK=$B1)" "$T/out" "$B1"
not_sees "uid $UID2 (WID_TASK=$B1)" "$T/out" "$B2" "$A"
# WID_TASK naming another uid's task shows nothing of it.
U2_TASK=$A
expect_rc 0 "uid $UID2 with WID_TASK=$A (not its own): pkcs11-tool -O" -- \
    as_u2 pkcs11-tool --module "$WID_MODULE" --token-label wid --list-objects
not_sees "uid $UID2 (WID_TASK=$A)" "$T/out" "$A"
U2_TASK=

say "checks: a uid cannot use or end another uid's task"
# u2_sign ID: uid 2 signs with pkcs11-tool, key chosen by CKA_ID.
u2_sign()
{
	as_u2 pkcs11-tool --module "$WID_MODULE" --token-label wid --sign \
	    -m ECDSA-SHA256 --id "$(kid "$1")" -i "$T/data" -o "$T/u2/sig"
}
expect_error "uid $UID2 signs with root's $A (by CKA_ID)" -- u2_sign "$A"
expect_error "root signs with uid $UID2's $B1 (by CKA_ID)" -- \
    p11_sign "$B1" ECDSA-SHA256 "$T/data" "$T/sig"
# The module would not even offer A to uid 2; the agent is the boundary:
# a raw SIGN request for A's key serial, sent as uid 2, is refused.
FRAME=$(sign_frame "$SERIAL_A")
r=$(raw "$WID_SOCK" "$FRAME")
[ "$(reply_status "$r")" = 0000 ] ||
    fail "control: root's raw SIGN for serial $SERIAL_A: reply '$r'"
pass "control: root's raw SIGN request for $A (serial $SERIAL_A) is served"
r=$(raw_as_u2 "$FRAME")
st=$(reply_status "$r")
case $st in
0000) fail "uid $UID2's raw SIGN with root's key serial $SERIAL_A succeeded" ;;
none) fail "uid $UID2's raw SIGN: no reply ('$r')" ;;
esac
pass "uid $UID2's raw SIGN with root's key serial is refused (status 0x$st)"
expect_rc 1 "uid $UID2: task end $A" -- as_u2 "$WID_TOOL_BIN" task end "$A"
expect_rc 1 "root: task end $B1" -- wid_tool task end "$B1"
expect_rc 0 "root still signs with $A" -- p11_sign "$A" ECDSA-SHA256 "$T/data" "$T/sig"
expect_rc 0 "uid $UID2 still signs with $B1" -- u2_sign "$B1"

say "checks: OpenSSH certificate principals (no policy)"
expect_rc 0 "root: ca init --ssh" -- wid_tool ca init --ssh
expect_error "uid $UID2 asks for a certificate naming root" -- \
    as_u2 "$WID_TOOL_BIN" task start --ttl 10m --id "it-vis-p1-$$" \
    --ssh-cert --principal "$U2" --principal root
expect_grep "$T/err" "principal 'root' not allowed" "the refusal names the principal"
expect_grep "$T/agent.log" "task start denied.*it-vis-p1-$$" "the agent logs the refusal"
expect_rc 0 "uid $UID2 gets a certificate for its own name" -- \
    as_u2 "$WID_TOOL_BIN" task start --ttl 10m --id "it-vis-p2-$$" \
    --ssh-cert --principal "$U2"
expect_rc 0 "root may name any principal" -- \
    wid_tool task start --ttl 10m --id "it-vis-p3-$$" --ssh-cert \
    --principal deploy --principal "$U2"
done_ok
