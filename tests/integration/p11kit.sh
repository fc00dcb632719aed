#!/bin/sh
# tests/integration/p11kit.sh: conf/wid.module registers wid with p11-kit:
# p11-kit list-modules, p11-kit-proxy.so (pkcs11-tool) and gnutls' p11tool
# find the token and its objects, p11tool signs with a task key (gnutls
# asks ~20 attributes and calls C_Sign twice), and ssh logs in with
# -o PKCS11Provider=p11-kit-proxy.so.  p11-kit ignores per-user
# module configs for root, so the config is put in place in a private mount
# namespace over /usr/share/p11-kit/modules (nothing on the host changes).
. "$(dirname "$0")/lib.sh"
need p11-kit p11tool pkcs11-tool unshare ssh ssh-keygen
need_root
need_wid

CONF="$WID_SRCDIR/conf/wid.module"
[ -f "$CONF" ] || fail "no $CONF"
grep -q '^module: *wid-pkcs11\.so *$' "$CONF" ||
    fail "$CONF does not name wid-pkcs11.so (installed into p11_module_path)"
pass "conf/wid.module names wid-pkcs11.so"
PROXY=$(pkg-config --variable=proxy_module p11-kit-1 2>/dev/null)
[ -n "$PROXY" ] && [ -f "$PROXY" ] ||
    PROXY=$(find /usr/lib /usr/lib64 -name p11-kit-proxy.so 2>/dev/null | head -n 1)
[ -n "$PROXY" ] || fail "p11-kit-proxy.so not installed (package p11-kit, scripts/deps.sh)"

# The shipped file, with the module named by its build path instead of the
# install path; every other line as shipped (in_ns CMD... runs there).
p11kit_private

start_agent
ID=it-p11kit-$$
task_start "$ID" ec-p256
RSA=it-p11kit-rsa-$$
task_start "$RSA" rsa2048

say "checks: p11-kit loads wid through conf/wid.module"
expect_rc 0 "p11-kit list-modules" -- in_ns p11-kit list-modules
expect_grep "$T/out" "^wid: $WID_MODULE\$" "p11-kit lists module wid (named after wid.module)"
expect_grep "$T/out" "token: wid\$" "p11-kit sees token wid"

say "checks: p11-kit-proxy.so serves wid to pkcs11-tool"
expect_rc 0 "pkcs11-tool --module p11-kit-proxy.so -O" -- \
    in_ns pkcs11-tool --module "$PROXY" --token-label wid --list-objects
expect_grep "$T/out" "label: *$ID\$" "the proxy shows $ID"

say "checks: gnutls p11tool lists and signs"
expect_rc 0 "p11tool --list-tokens" -- in_ns p11tool --list-tokens
expect_grep "$T/out" "Label: wid\$" "p11tool sees token wid"
expect_rc 0 "p11tool --list-all pkcs11:token=wid" -- \
    in_ns p11tool --list-all "pkcs11:token=wid"
expect_grep "$T/out" "Label: $ID\$" "p11tool lists $ID"
for id in "$ID" "$RSA"; do
	expect_rc 0 "p11tool --test-sign with $id" -- \
	    in_ns p11tool --test-sign "pkcs11:token=wid;object=$id;type=private"
	expect_grep "$T/err" "Verifying against public key.*ok" \
	    "p11tool verified its signature with $id's public key"
done
say "checks: ssh -o PKCS11Provider=p11-kit-proxy.so logs in with the wid key"
start_sshd
for id in "$ID" "$RSA"; do
	pubkey_ssh "$id" "$T/$id.pub"
	cat "$T/$id.pub" >>"$SSH_AK"
	expect_rc 0 "ssh through p11-kit-proxy.so with $id" -- \
	    in_ns ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes \
	    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	    -o ConnectTimeout=10 -o LogLevel=ERROR -o PKCS11Provider="$PROXY" \
	    -o IdentityFile="$T/$id.pub" -p "$SSH_PORT" \
	    "$SSH_USER@127.0.0.1" "echo logged-in-as-\$(id -un)"
	expect_grep "$T/out" "^logged-in-as-$SSH_USER\$" "ssh ran the remote command ($id)"
	accepted_with "$T/$id.pub"
done

task_end "$ID"
expect_error "ssh through p11-kit-proxy.so after task end" -- \
    in_ns ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o ConnectTimeout=10 -o LogLevel=ERROR -o PKCS11Provider="$PROXY" \
    -o IdentityFile="$T/$ID.pub" -p "$SSH_PORT" "$SSH_USER@127.0.0.1" true
expect_error "p11tool --test-sign after task end" -- \
    in_ns p11tool --test-sign "pkcs11:token=wid;object=$ID;type=private"

done_ok
