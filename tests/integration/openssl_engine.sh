#!/bin/sh
# tests/integration/openssl_engine.sh: the openssl command line uses task
# keys through libengine-pkcs11-openssl (engine "pkcs11", MODULE_PATH set
# to wid-pkcs11.so in a private OPENSSL_CONF): dgst -sign verified with the
# published PEM key, and a CSR that `openssl req -verify` accepts and that
# carries the task's public key.  An Ed25519 task (token wid-ed25519) must
# not break the engine on token `wid`.
. "$(dirname "$0")/lib.sh"
need openssl
need_wid
start_agent

engine_conf "$T/openssl.cnf"
cat >>"$T/openssl.cnf" <<EOF
[req]
distinguished_name = req_dn
prompt = no
[req_dn]
EOF
export OPENSSL_CONF="$T/openssl.cnf"

printf 'openssl engine payload %s\n' "$$" >"$T/data"
printf 'other data\n' >"$T/other"

der_hex() { openssl pkey -pubin -in "$1" -outform DER | od -An -tx1; }

uri() { echo "pkcs11:token=wid;object=$1;type=private"; }

# sign_verify ID PEM: dgst -sign through the engine, verify with the PEM.
sign_verify()
{
	rm -f "$T/sig"
	expect_rc 0 "openssl dgst -sha256 -sign (engine) with $1" -- \
	    openssl dgst -sha256 -engine pkcs11 -keyform engine \
	    -sign "$(uri "$1")" -out "$T/sig" "$T/data"
	expect_rc 0 "openssl verifies $1's signature with its PEM key" -- \
	    openssl dgst -sha256 -verify "$2" -signature "$T/sig" "$T/data"
	expect_error "the signature does not verify other data" -- \
	    openssl dgst -sha256 -verify "$2" -signature "$T/sig" "$T/other"
}

EC=it-ossl-ec-$$
RSA=it-ossl-rsa-$$
task_start "$EC" ec-p256
task_start "$RSA" rsa2048
pubkey_pem "$EC" "$T/$EC.pem"
pubkey_pem "$RSA" "$T/$RSA.pem"

say "checks: dgst -sign through the engine (ECDSA, RSA)"
sign_verify "$EC" "$T/$EC.pem"
sign_verify "$RSA" "$T/$RSA.pem"

say "checks: a CSR signed by the task key"
for id in "$EC" "$RSA"; do
	expect_rc 0 "openssl req -new (engine) for $id" -- \
	    openssl req -new -engine pkcs11 -keyform engine -key "$(uri "$id")" \
	    -subj "/CN=$id" -out "$T/$id.csr"
	expect_rc 0 "openssl req -verify accepts the CSR of $id" -- \
	    openssl req -verify -in "$T/$id.csr" -noout
	openssl req -in "$T/$id.csr" -noout -pubkey >"$T/$id.csr.pub" ||
	    fail "no public key in the CSR"
	h1=$(der_hex "$T/$id.csr.pub")
	h2=$(der_hex "$T/$id.pem")
	[ -n "$h1" ] && [ "$h1" = "$h2" ] ||
	    fail "the CSR of $id does not carry the task's public key"
	pass "the CSR of $id carries the task's public key"
	openssl req -in "$T/$id.csr" -noout -subject >"$T/subj" 2>&1
	expect_grep "$T/subj" "CN *= *$id" "the CSR subject is CN=$id"
done

say "checks: the engine on token wid still works with an Ed25519 task present"
ED=it-ossl-ed-$$
task_start "$ED" ed25519
sign_verify "$EC" "$T/$EC.pem"
sign_verify "$RSA" "$T/$RSA.pem"

say "checks: the engine cannot use an ended task"
task_end "$EC"
expect_error "openssl dgst -sign with ended task $EC" -- \
    openssl dgst -sha256 -engine pkcs11 -keyform engine \
    -sign "$(uri "$EC")" -out "$T/sig-late" "$T/data"

done_ok
