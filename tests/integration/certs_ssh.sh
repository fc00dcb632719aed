#!/bin/sh
# tests/integration/certs_ssh.sh: OpenSSH user certificates for task keys.
# sshd trusts only the wid CA (TrustedUserCAKeys, empty authorized_keys):
# a login with the task's PKCS#11 key and its certificate works; the
# certificate's validity window equals the task's lifetime (ssh-keygen -L);
# a wrong principal is refused; an expired certificate is refused by sshd
# itself while the key is still alive (a second sshd whose clock runs past
# the deadline, via faketime); exec hands the certificate to its command.
. "$(dirname "$0")/lib.sh"
need ssh ssh-keygen date
LIBFAKETIME=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
[ -f "$LIBFAKETIME" ] || fail "libfaketime not installed ($LIBFAKETIME): scripts/deps.sh installs faketime"
need_wid
start_agent
expect_rc 0 "ca init --ssh" -- wid_tool ca init --ssh
wid_tool ca pubkey --ssh >"$T/ca.pub" || fail "ca pubkey --ssh"
ssh-keygen -l -f "$T/ca.pub" >/dev/null || fail "CA line is not an OpenSSH key"
pass "CA public key exported"
SSHD_EXTRA="TrustedUserCAKeys $T/ca.pub"
start_sshd
[ ! -s "$SSH_AK" ] || fail "authorized_keys must stay empty"

# ssh_cert PUB CERT [ssh args]: log in with the module's key for PUB and
# the certificate CERT.
ssh_cert()
{
	_pub=$1 _cert=$2
	shift 2
	ssh_cmd -o PKCS11Provider="$WID_MODULE" -o IdentityFile="$_pub" \
	    -o CertificateFile="$_cert" "$@" "$SSH_USER@127.0.0.1" \
	    "echo logged-in-as-\$(id -un)"
}

# epoch "2024-05-01T12:00:00" (local time, as ssh-keygen -L prints it)
epoch() { date -d "$1" +%s; }

say "checks: certificate fields and validity window"
task_start c1 ec-p256 10m --ssh-cert --principal "$SSH_USER" \
    --intent "deploy web" --requested-by ci-bot
pubkey_ssh c1 "$T/c1.pub"
expect_rc 0 "cert c1 --ssh" -- wid_tool cert c1 --ssh
cp "$T/out" "$T/c1-cert.pub"
ssh-keygen -L -f "$T/c1-cert.pub" >"$T/c1.L" || fail "ssh-keygen -L"
cat "$T/c1.L"
expect_grep "$T/c1.L" 'user certificate' "a user certificate"
expect_grep "$T/c1.L" 'Key ID: "c1"' "key id is the task id"
expect_grep "$T/c1.L" "^ *$SSH_USER\$" "principal $SSH_USER"
expect_grep "$T/c1.L" 'intent@wid' "intent extension"
expect_grep "$T/c1.L" 'requester@wid' "requester extension"
expect_grep "$T/c1.L" 'permit-pty' "permit-pty"
_from=$(awk '$1 == "Valid:" { print $3 }' "$T/c1.L")
_to=$(awk '$1 == "Valid:" { print $5 }' "$T/c1.L")
_life=$(( $(epoch "$_to") - $(epoch "$_from") ))
[ "$_life" -eq 600 ] || fail "validity window is ${_life}s, task lifetime 600s"
pass "validity window = task lifetime (600 s)"
_exp=$(wid_tool task show c1 --json | sed -n 's/.*"expires": *"\([^"]*\)".*/\1/p')
[ -n "$_exp" ] || _exp=$(wid_tool task show c1 | awk '$1 == "expires:" { print $2 }')
[ "$(date -d "$_exp" +%s)" -eq "$(epoch "$_to")" ] ||
    fail "certificate ends at $_to, task expires at $_exp"
pass "certificate ends at the task's deadline ($_exp)"
# The certificate is bound to the key: same public key.
[ "$(ssh-keygen -l -f "$T/c1-cert.pub" | awk '{print $2}')" = \
    "$(ssh-keygen -l -f "$T/c1.pub" | awk '{print $2}')" ] ||
    fail "certificate is not for the task's key"
pass "certificate certifies the task's key"

say "checks: sshd with TrustedUserCAKeys only"
export WID_TASK=c1
expect_error "no certificate: refused (no authorized key)" -- \
    ssh_cmd -o PKCS11Provider="$WID_MODULE" -o IdentityFile="$T/c1.pub" \
    "$SSH_USER@127.0.0.1" true
expect_rc 0 "login with PKCS#11 key + CertificateFile" -- \
    ssh_cert "$T/c1.pub" "$T/c1-cert.pub"
expect_grep "$T/out" "logged-in-as-$SSH_USER" "logged in as $SSH_USER"
expect_grep "$T/sshd.log" "Accepted publickey for $SSH_USER .*ECDSA-CERT.*ID c1 (serial" \
    "sshd accepted the certificate of task c1"

say "checks: principal not in the certificate"
task_start c2 ec-p256 10m --ssh-cert --principal nobody-here
pubkey_ssh c2 "$T/c2.pub"
wid_tool cert c2 --ssh >"$T/c2-cert.pub" || fail "cert c2"
export WID_TASK=c2
expect_error "wrong principal: refused" -- ssh_cert "$T/c2.pub" "$T/c2-cert.pub"
wait_for 5 grep -q "not in principals\|name is not a listed principal\|not listed principal" "$T/sshd.log" ||
    { cat "$T/sshd.log"; fail "sshd did not name the principal"; }
pass "sshd refused: principal not listed"

say "checks: expired certificate refused by sshd itself, key still alive"
# A second sshd, same config, whose clock is 20 minutes ahead: for it the
# certificate of c1 (10 minutes) has expired, while the agent (real clock)
# still signs with c1's key.
SSH_PORT1=$SSH_PORT
# libfaketime preloaded directly, so that the PID is sshd itself (the
# faketime(1) wrapper forks, and stopping it would orphan sshd).
start_server "$T/sshd-late.log" "Server listening on 127.0.0.1 port" \
    sshd_exec LD_PRELOAD="$LIBFAKETIME" FAKETIME='+20m'
SSH_PORT=$PORT
LATE_PID=$SERVER_PID
export WID_TASK=c1
expect_error "sshd past the deadline: refused" -- \
    ssh_cert "$T/c1.pub" "$T/c1-cert.pub"
wait_for 5 grep -q "expired" "$T/sshd-late.log" ||
    { cat "$T/sshd-late.log"; fail "late sshd did not log 'expired'"; }
grep "expired" "$T/sshd-late.log" | head -2
pass "sshd itself logged the certificate as expired"
expect_no_grep "$T/sshd-late.log" "Accepted" "late sshd accepted nothing"
stop_pid "$LATE_PID"
SSH_PORT=$SSH_PORT1
expect_rc 0 "same key and certificate, real clock: still accepted" -- \
    ssh_cert "$T/c1.pub" "$T/c1-cert.pub"

say "checks: short task: accepted before, refused after its deadline"
task_start s1 ec-p256 3s --ssh-cert --principal "$SSH_USER"
pubkey_ssh s1 "$T/s1.pub"
wid_tool cert s1 --ssh >"$T/s1-cert.pub" || fail "cert s1"
_life=$(awk '$1 == "Valid:" { print $3, $5 }' <<EOF
$(ssh-keygen -L -f "$T/s1-cert.pub")
EOF
)
set -- $_life
[ $(( $(epoch "$2") - $(epoch "$1") )) -eq 3 ] || fail "s1 window is not 3 s"
pass "3 s task, 3 s certificate"
export WID_TASK=s1
expect_rc 0 "short task: login within its life" -- \
    ssh_cert "$T/s1.pub" "$T/s1-cert.pub"
sleep 4
expect_error "short task: refused after the deadline" -- \
    ssh_cert "$T/s1.pub" "$T/s1-cert.pub"
unset WID_TASK

say "checks: wid-tool exec --ssh-cert hands the files to the command"
cat >"$T/inner.sh" <<'EOF'
set -u
[ -f "$WID_SSH_CERT" ] && [ -f "$WID_SSH_PUBKEY" ] || exit 90
[ "$(stat -c %a "$WID_SSH_CERT")" = 600 ] || exit 91
[ "$(stat -c %a "$(dirname "$WID_SSH_CERT")")" = 700 ] || exit 92
echo "$WID_SSH_CERT" >"$IT_DIR/exec-cert-path"
ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o ConnectTimeout=10 -o LogLevel=ERROR -p "$IT_PORT" \
    -o PKCS11Provider="$IT_MODULE" -o IdentityFile="$WID_SSH_PUBKEY" \
    -o CertificateFile="$WID_SSH_CERT" "$IT_USER@127.0.0.1" \
    "echo exec-logged-in-as-\$(id -un)"
EOF
export IT_DIR="$T" IT_MODULE="$WID_MODULE" IT_PORT="$SSH_PORT" \
    IT_USER="$SSH_USER"
expect_rc 0 "exec --ssh-cert: ssh with \$WID_SSH_CERT" -- \
    wid_tool exec --ttl 1m --ssh-cert --principal "$SSH_USER" -- \
    sh "$T/inner.sh"
expect_grep "$T/out" "exec-logged-in-as-$SSH_USER" "exec: logged in"
[ ! -e "$(cat "$T/exec-cert-path")" ] || fail "exec left the certificate"
pass "exec removed the certificate files"

say "checks: the agent refuses what it cannot certify"
expect_error "--ssh-cert with an invalid principal" -- \
    wid_tool task start --ttl 1m --ssh-cert --principal "a b"
expect_error "cert of a task without certificate" -- wid_tool cert c1 --pem

say "checks: every certificate issued is an audit event"
stop_agent
start_agent --audit "$T/audit.log"
expect_rc 0 "ca init --ssh --x509 (new agent, new CA)" -- wid_tool ca init --ssh --x509
task_start c-aud ec-p256 5m --ssh-cert --principal "$SSH_USER" --x509
# The same certificate through the agent's ssh-agent socket: sshd trusts
# the new CA, and nothing but the agent offers a key.
wid_tool ca pubkey --ssh >>"$T/ca.pub" || fail "ca pubkey --ssh"
expect_rc 0 "ssh through SSH_AUTH_SOCK with the task's certificate" -- \
    ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o ConnectTimeout=10 -o LogLevel=ERROR \
    -o IdentityAgent="$T/run/ssh-agent.sock" -p "$SSH_PORT" \
    "$SSH_USER@127.0.0.1" "echo logged-in-as-\$(id -un)"
expect_grep "$T/sshd.log" "ECDSA-CERT.*ID c-aud" "sshd accepted the c-aud certificate"
stop_agent
expect_grep "$T/audit.log" '"event":"cert-issued","task":"c-aud".*"mech":"openssh"' \
    "the OpenSSH certificate is in the audit log"
expect_grep "$T/audit.log" '"event":"cert-issued","task":"c-aud".*"mech":"x509"' \
    "the X.509 certificate is in the audit log"
expect_rc 0 "the audit log verifies" -- wid_tool audit verify "$T/audit.log"
done_ok
