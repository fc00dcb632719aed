#!/bin/sh
# tests/tpm/tpm_agent.sh: wid-agent with the tpm backend on a swtpm
# (started here on a Unix socket in the test dir, stopped by PID), driven
# by real clients: pkcs11-tool signatures verified by openssl (ECDSA P-256,
# RSA-2048), ssh -o PKCS11Provider to a loopback sshd, openssl through the
# pkcs11 engine; task end refuses; ten tasks signing at once; attestation
# evidence verifies and no single changed byte does; Ed25519 refused.
. "$(dirname "$0")/../integration/lib.sh"
need swtpm pkcs11-tool openssl perl
need_wid
[ -x "$P11SIGN" ] || fail "p11sign not built at $P11SIGN"

# ---- swtpm and the agent ----
start_swtpm
start_agent --backend tpm --ssh-agent-socket none

say "checks: the agent reports the tpm backend"
expect_rc 0 "wid-tool status" -- wid_tool status
expect_grep "$T/out" "^backend: *tpm" "status says backend tpm"
expect_rc 0 "wid-tool status --json" -- wid_tool status --json
expect_grep "$T/out" '"tpm": *true\|"tpm": *1' "status --json says a TPM is open"

EC=tpm-ec-$$
RSA=tpm-rsa-$$
task_start "$EC" ec-p256
task_start "$RSA" rsa2048
expect_rc 0 "task show $EC" -- wid_tool task show "$EC" --json
expect_grep "$T/out" '"backend": *"tpm"' "task $EC has a TPM key"

say "checks: Ed25519 refused with a clear message"
expect_rc 1 "task start ed25519 on tpm" -- \
    wid_tool task start --ttl 10m --id "tpm-ed-$$" --key ed25519
expect_grep "$T/err" "TPM backend cannot hold Ed25519 keys.*use --key ec-p256" \
    "the refusal names the reason and the way out"

printf 'wid tpm payload %s\n' "$$" >"$T/data"
printf 'other\n' >"$T/other"

# p11_verify ID MECH PEM: pkcs11-tool signs $T/data; openssl verifies it,
# and not over other data.
p11_verify()
{
	rm -f "$T/sig"
	expect_rc 0 "pkcs11-tool --sign $2 with TPM key $1" -- \
	    p11_sign "$1" "$2" "$T/data" "$T/sig" --signature-format openssl
	expect_rc 0 "openssl verifies the $2 signature of $1" -- \
	    openssl dgst -sha256 -verify "$3" -signature "$T/sig" "$T/data"
	expect_error "the $2 signature of $1 does not verify other data" -- \
	    openssl dgst -sha256 -verify "$3" -signature "$T/sig" "$T/other"
}

say "checks: pkcs11-tool signatures by TPM keys, verified by openssl"
p11_verify "$EC" ECDSA-SHA256 "$T/keys/$EC.pem"
p11_verify "$RSA" SHA256-RSA-PKCS "$T/keys/$RSA.pem"

say "checks: openssl through the pkcs11 engine"
engine_conf "$T/openssl.cnf"
for id in "$EC" "$RSA"; do
	rm -f "$T/esig"
	expect_rc 0 "openssl dgst -sign (engine) with $id" -- \
	    env OPENSSL_CONF="$T/openssl.cnf" openssl dgst -sha256 \
	    -engine pkcs11 -keyform engine \
	    -sign "pkcs11:token=wid;object=$id;type=private" \
	    -out "$T/esig" "$T/data"
	expect_rc 0 "openssl verifies the engine signature of $id" -- \
	    openssl dgst -sha256 -verify "$T/keys/$id.pem" -signature "$T/esig" \
	    "$T/data"
	expect_error "the engine signature of $id does not verify other data" -- \
	    openssl dgst -sha256 -verify "$T/keys/$id.pem" -signature "$T/esig" \
	    "$T/other"
done

say "checks: ssh -o PKCS11Provider to the loopback sshd with TPM keys"
start_sshd
for id in "$EC" "$RSA"; do
	pubkey_ssh "$id" "$T/$id.pub"
	cp "$T/$id.pub" "$SSH_AK"
	export WID_TASK="$id"
	expect_rc 0 "ssh with TPM key $id" -- \
	    ssh_cmd -o PKCS11Provider="$WID_MODULE" -o IdentityFile="$T/$id.pub" \
	    "$SSH_USER@127.0.0.1" "echo logged-in-as-\$(id -un)"
	unset WID_TASK
	expect_grep "$T/out" "logged-in-as-$SSH_USER" "ssh ran the command as $SSH_USER"
	accepted_with "$T/$id.pub"
done

say "checks: attestation evidence verifies; any changed byte does not"
expect_rc 0 "task attest $EC" -- wid_tool task attest "$EC" -o "$T/ev"
expect_rc 0 "attest verify of untouched evidence" -- \
    wid_tool attest verify "$T/ev"
expect_grep "$T/out" "^OK: TPM evidence for task $EC verifies" "verify says OK"
expect_grep "$T/out" "BEGIN PUBLIC KEY" "verify prints the attestation key"
expect_rc 0 "task attest $RSA (stdout)" -- wid_tool task attest "$RSA"
cp "$T/out" "$T/ev-rsa"
expect_rc 0 "attest verify of the RSA key's evidence" -- \
    wid_tool attest verify "$T/ev-rsa"
# Evidence of one task presented for another: the task line is bound.
sed "s/^task: $EC\$/task: $RSA/" "$T/ev" >"$T/ev-swap"
expect_error "evidence relabelled to another task" -- \
    wid_tool attest verify "$T/ev-swap"
# Flip one bit in every byte in turn (one file each); all must fail.
perl -e '
    my ($tool, $in, $tmp) = @ARGV;
    open(my $f, "<", $in) or die; binmode $f; local $/; my $ev = <$f>;
    my ($n, $acc) = (length($ev), 0);
    for my $i (0 .. $n - 1) {
        my $b = $ev;
        substr($b, $i, 1) = chr(ord(substr($b, $i, 1)) ^ 0x01);
        open(my $o, ">", $tmp) or die; binmode $o; print $o $b; close $o;
        if (system("$tool attest verify $tmp >/dev/null 2>&1") == 0) {
            print "accepted with byte $i changed\n"; $acc++;
        }
    }
    print "flipped $n bytes, accepted $acc\n";
    exit($acc == 0 ? 0 : 1);' "$WID_TOOL_BIN" "$T/ev" "$T/ev-flip" \
    >"$T/flip.out" 2>&1 || { cat "$T/flip.out"; fail "changed evidence verified"; }
pass "$(tail -n 1 "$T/flip.out")"
expect_error "task attest of an unknown task" -- \
    wid_tool task attest "no-such-task"

say "checks: ten TPM tasks signing at once"
i=0
while [ $i -lt 10 ]; do
	task_start "tpm-par-$i-$$" ec-p256
	i=$((i + 1))
done
i=0
pids=""
while [ $i -lt 10 ]; do
	"$P11SIGN" "$WID_MODULE" "tpm-par-$i-$$" ecdsa 20 0 \
	    >"$T/par-$i.out" 2>&1 &
	pids="$pids $!"
	i=$((i + 1))
done
for p in $pids; do
	wait "$p" || fail "p11sign exited with an error"
done
cat "$T"/par-*.out >"$T/par.all"
ok=$(grep -c 'CKR_OK$' "$T/par.all")
[ "$ok" -eq 200 ] || { cat "$T/par.all"; fail "only $ok of 200 concurrent signatures succeeded"; }
pass "10 tasks x 20 signatures at once: $ok CKR_OK"
expect_no_grep "$T/agent.log" "OBJECT_MEMORY\|0x902" "no TPM_RC_OBJECT_MEMORY"

say "checks: task end: the key is refused"
task_end "$EC"
expect_error "pkcs11-tool --sign with ended TPM task $EC" -- \
    p11_sign "$EC" ECDSA-SHA256 "$T/data" "$T/sig-after"
expect_error "task attest after end" -- wid_tool task attest "$EC"
p11_verify "$RSA" SHA256-RSA-PKCS "$T/keys/$RSA.pem"
kill -0 "$AGENT_PID" 2>/dev/null || fail "wid-agent died"
# Stop the agent while swtpm still runs: it revokes the keys left.
stop_agent
expect_no_grep "$T/agent.log" "could not revoke" "every key revoked at shutdown"

say "checks: the storage key's Name, pinned in the config"
SRK_NAME=$(sed -n 's/.*TPM storage key 0x81000001, Name \([0-9a-f]*\) (not pinned.*/\1/p' \
    "$T/agent.log" | head -n 1)
[ -n "$SRK_NAME" ] || fail "the agent did not log the storage key's Name"
pass "the agent logs the storage key's Name ($SRK_NAME)"
WRONG=$(printf '%s' "$SRK_NAME" | sed 's/.$/0/')
[ "$WRONG" != "$SRK_NAME" ] || WRONG=$(printf '%s' "$SRK_NAME" | sed 's/.$/1/')
printf 'tpm_srk_name: %s\n' "$WRONG" >"$T/pin-wrong.yaml"
expect_rc 1 "an agent whose config pins another Name refuses to start" -- \
    "$WID_AGENT_BIN" --foreground --backend tpm --ssh-agent-socket none \
    --config "$T/pin-wrong.yaml" --socket "$T/run/pin.sock"
expect_grep "$T/err" "tpm_srk_name pins $WRONG" "it says which Name it found and which is pinned"
printf 'tpm_srk_name: %s\n' "$SRK_NAME" >"$T/agent.yaml"
: >"$T/agent.log"
start_agent --backend tpm --ssh-agent-socket none
expect_grep "$T/agent.log" "Name $SRK_NAME (pinned)" "with the right Name pinned it starts"
task_start "$EC-pinned" ec-p256
stop_agent

done_ok
