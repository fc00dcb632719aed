#!/bin/sh
# tests/tpm/tpm_ca.sh: the agent's CA held by the TPM (swtpm started here
# on a Unix socket in the test dir, stopped by PID).  `ca init` makes
# persistent ECDSA P-256 CA keys in the TPM; sshd (TrustedUserCAKeys) lets
# a task certificate signed by the TPM in, openssl verifies the X.509 task
# certificate against the CA certificate; after an agent restart the CA is
# the same (same public key, same CA certificate) and what it issues still
# passes the verifiers configured before the restart; a key at a CA handle
# that is not a wid CA key is not used, and one swapped in under the
# running agent signs nothing.
. "$(dirname "$0")/../integration/lib.sh"
need swtpm openssl ssh-keygen
need_wid

start_swtpm
start_agent --backend tpm --ssh-agent-socket none

say "checks: ca init makes the CA keys in the TPM"
expect_error "ca pubkey before ca init" -- wid_tool ca pubkey --ssh
expect_rc 0 "ca init --ssh --x509" -- wid_tool ca init --ssh --x509
expect_grep "$T/agent.log" "created CA key 0x81000110" "OpenSSH CA key persistent at 0x81000110"
expect_grep "$T/agent.log" "created CA key 0x81000111" "X.509 CA key persistent at 0x81000111"
expect_rc 0 "ca pubkey --ssh" -- wid_tool ca pubkey --ssh
cp "$T/out" "$T/ca.pub"
expect_grep "$T/ca.pub" "^ecdsa-sha2-nistp256 " "the OpenSSH CA is an ECDSA P-256 key"
ssh-keygen -l -f "$T/ca.pub" >/dev/null || fail "the CA line is not an OpenSSH key"
pass "ssh-keygen reads the CA public key"
expect_rc 0 "ca cert --pem" -- wid_tool ca cert --pem
cp "$T/out" "$T/ca.pem"
openssl x509 -in "$T/ca.pem" -noout -text >"$T/ca.txt" ||
    fail "openssl cannot read the CA certificate"
expect_grep "$T/ca.txt" "ecdsa-with-SHA256" "the CA certificate is signed with ECDSA SHA-256"
expect_grep "$T/ca.txt" "CA:TRUE" "the CA certificate is a CA"
expect_rc 0 "openssl verifies the self-signed CA certificate" -- \
    openssl verify -CAfile "$T/ca.pem" "$T/ca.pem"
expect_rc 0 "ca init again" -- wid_tool ca init --ssh --x509
[ "$(grep -c 'created CA key' "$T/agent.log")" -eq 2 ] ||
    fail "a second ca init created keys again"
pass "a second ca init keeps the keys"

# issue ID: a TPM task key with both certificates; checks both verify.
issue()
{
	task_start "$1" ec-p256 10m --ssh-cert --principal "$SSH_USER" --x509
	pubkey_ssh "$1" "$T/$1.pub"
	wid_tool cert "$1" --ssh >"$T/$1-cert.pub" || fail "cert $1 --ssh"
	ssh-keygen -L -f "$T/$1-cert.pub" >"$T/$1.L" || fail "ssh-keygen -L"
	expect_grep "$T/$1.L" "Signing CA: ECDSA" "the certificate of $1 is signed by the ECDSA CA"
	wid_tool cert "$1" --pem >"$T/$1.pem" || fail "cert $1 --pem"
	expect_rc 0 "openssl verifies the X.509 certificate of $1 with the CA" -- \
	    openssl verify -purpose sslclient -CAfile "$T/ca.pem" "$T/$1.pem"
	expect_error "the certificate of $1 is not its own CA" -- \
	    openssl verify -CAfile "$T/$1.pem" "$T/$1.pem"
}

# ssh_login ID: a login with the task key and its certificate, sshd
# trusting only the CA.
ssh_login()
{
	export WID_TASK="$1"
	expect_rc 0 "ssh with task $1's key and TPM-signed certificate" -- \
	    ssh_cmd -o PKCS11Provider="$WID_MODULE" -o IdentityFile="$T/$1.pub" \
	    -o CertificateFile="$T/$1-cert.pub" "$SSH_USER@127.0.0.1" \
	    "echo logged-in-as-\$(id -un)"
	unset WID_TASK
	expect_grep "$T/out" "logged-in-as-$SSH_USER" "sshd let task $1 in as $SSH_USER"
}

say "checks: certificates signed by the TPM CA pass the verifiers"
SSHD_EXTRA="TrustedUserCAKeys $T/ca.pub"
start_sshd
[ ! -s "$SSH_AK" ] || fail "authorized_keys must stay empty"
issue tca1
ssh_login tca1

say "checks: after an agent restart the CA is the same"
stop_agent
start_agent --backend tpm --ssh-agent-socket none
expect_rc 0 "ca pubkey --ssh after restart" -- wid_tool ca pubkey --ssh
cmp -s "$T/out" "$T/ca.pub" || fail "the OpenSSH CA changed across a restart"
pass "the OpenSSH CA public key survived the restart"
expect_rc 0 "ca cert --pem after restart" -- wid_tool ca cert --pem
cmp -s "$T/out" "$T/ca.pem" || fail "the CA certificate changed across a restart"
pass "the CA certificate survived the restart (byte for byte)"
issue tca2
ssh_login tca2

say "checks: a foreign key at a CA handle is not used"
stop_agent
# tpm2 TOOL ARGS...: tpm2_TOOL on our swtpm.
tpm2()
{
	_t=$1
	shift
	TPM2TOOLS_TCTI="$TCTI" "tpm2_$_t" "$@" >/dev/null 2>"$T/tpm2.err" || {
		cat "$T/tpm2.err" >&2
		fail "tpm2_$_t $*"
	}
}
need tpm2_evictcontrol tpm2_createprimary tpm2_flushcontext
tpm2 evictcontrol -C o -c 0x81000111
# The default primary: a restricted decryption key, not a signing CA key.
tpm2 createprimary -C o -g sha256 -G ecc256 -c "$T/foreign.ctx"
tpm2 evictcontrol -C o -c "$T/foreign.ctx" 0x81000111
tpm2 flushcontext -t
start_agent --backend tpm --ssh-agent-socket none
expect_rc 0 "ca pubkey --ssh (its key is untouched)" -- wid_tool ca pubkey --ssh
cmp -s "$T/out" "$T/ca.pub" || fail "the OpenSSH CA changed"
expect_grep "$T/agent.log" "object at 0x81000111 is not a wid CA key" \
    "the agent says why it does not use the key at 0x81000111"
expect_error "ca cert --pem with a foreign key at the X.509 CA handle" -- \
    wid_tool ca cert --pem
expect_error "ca init --x509 neither uses nor replaces the foreign key" -- \
    wid_tool ca init --x509
expect_error "task start --x509 without a usable X.509 CA" -- \
    wid_tool task start --ttl 5m --id tca-x --key ec-p256 --x509

say "checks: a CA key swapped under the running agent signs nothing"
tpm2 evictcontrol -C o -c 0x81000110
# A signing key with a CA key's attributes, but another key.
tpm2 createprimary -C o -g sha256 -G ecc256:null \
    -a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign|noda" \
    -c "$T/swap.ctx"
tpm2 evictcontrol -C o -c "$T/swap.ctx" 0x81000110
tpm2 flushcontext -t     # no resource manager: free the transient slot
expect_error "task start --ssh-cert after the swap" -- \
    wid_tool task start --ttl 5m --id tca-swap --key ec-p256 \
    --ssh-cert --principal "$SSH_USER"
expect_grep "$T/err" "OpenSSH CA key could not sign" "the refusal says the CA could not sign"
expect_grep "$T/agent.log" "CA key at 0x81000110 was replaced since the agent loaded it" \
    "the agent log says the key was replaced"
expect_error "the task whose certificate was refused does not exist" -- \
    wid_tool task show tca-swap

stop_agent

done_ok
