#!/bin/sh
# tests/integration/pkcs11_tool.sh: OpenSC pkcs11-tool drives wid-pkcs11.so
# directly: slots and tokens, objects labelled with the task id, ECDSA and
# RSA signatures that openssl verifies against `wid-tool pubkey --format
# pem`, and nothing left after `task end`.
. "$(dirname "$0")/lib.sh"
need pkcs11-tool openssl
need_wid
start_agent

p11() { pkcs11-tool --module "$WID_MODULE" "$@"; }

EC=it-ec-$$
RSA=it-rsa-$$
task_start "$EC" ec-p256
task_start "$RSA" rsa2048
cp "$T/keys/$EC.pem" "$T/ec.pem"
cp "$T/keys/$RSA.pem" "$T/rsa.pem"

say "checks: slot list shows the wid token"
expect_rc 0 "pkcs11-tool -L" -- p11 -L
expect_grep "$T/out" "token label *: wid\$" "token 'wid' is listed"

say "checks: both objects of each task, labelled with the task id, no login"
expect_rc 0 "pkcs11-tool --list-objects" -- p11 --token-label wid --list-objects
cp "$T/out" "$T/objects"
for id in "$EC" "$RSA"; do
	for cls in "Private Key Object" "Public Key Object"; do
		# the object's label is the task id and its CKA_ID is
		# SHA-256(SPKI)[0..16) of the key wid-tool publishes
		awk -v cls="$cls" -v id="$id" -v kid="$(kid "$id")" '
		    index($0, cls) == 1 { in_obj = 1; l = k = ""; next }
		    /^[A-Z]/ { in_obj = 0 }
		    in_obj && $1 == "label:" { l = $2 }
		    in_obj && $1 == "ID:" { k = $2 }
		    in_obj && l == id && k == kid { found = 1 }
		    END { exit !found }' "$T/objects" ||
		    { cat "$T/objects"; fail "no '$cls' labelled $id with ID $(kid "$id")"; }
		pass "$cls labelled $id, CKA_ID $(kid "$id")"
	done
done

printf 'wid integration test payload %s\n' "$$" >"$T/data"
openssl dgst -sha256 -binary "$T/data" >"$T/digest"
printf 'tampered\n' >"$T/other"

# sign_verify ID MECH INPUT PEM: sign INPUT with pkcs11-tool, verify the
# signature over $T/data with openssl; then prove the verification can
# fail (other data, other key).
sign_verify()
{
	_id=$1 _mech=$2 _in=$3 _pem=$4 _wrong=$5
	rm -f "$T/sig"
	expect_rc 0 "sign $_id with $_mech" -- \
	    p11_sign "$_id" "$_mech" "$_in" "$T/sig" --signature-format openssl
	openssl dgst -sha256 -verify "$_pem" -signature "$T/sig" "$T/data" \
	    >"$T/verify.out" 2>&1 ||
	    { cat "$T/verify.out"; fail "openssl rejects the $_mech signature of $_id"; }
	pass "openssl verifies the $_mech signature of $_id"
	if openssl dgst -sha256 -verify "$_pem" -signature "$T/sig" \
	    "$T/other" >/dev/null 2>&1; then
		fail "$_mech signature of $_id also verifies other data"
	fi
	if openssl dgst -sha256 -verify "$_wrong" -signature "$T/sig" \
	    "$T/data" >/dev/null 2>&1; then
		fail "$_mech signature of $_id verifies under another key"
	fi
	pass "$_mech signature of $_id fails for other data and other key"
}

say "checks: signatures verify with the published public key"
# A second EC key only to show a signature is bound to its key.
task_start "$EC-b" ec-p256
cp "$T/keys/$EC-b.pem" "$T/ec-b.pem"
sign_verify "$EC" ECDSA "$T/digest" "$T/ec.pem" "$T/ec-b.pem"
sign_verify "$EC" ECDSA-SHA256 "$T/data" "$T/ec.pem" "$T/ec-b.pem"
sign_verify "$RSA" SHA256-RSA-PKCS "$T/data" "$T/rsa.pem" "$T/ec.pem"

say "checks: after task end the objects are gone and signing fails"
task_end "$EC"
expect_rc 0 "list objects after end" -- p11 --token-label wid --list-objects
expect_no_grep "$T/out" "label: *$EC\$" "no object labelled $EC after end"
expect_grep "$T/out" "label: *$RSA\$" "$RSA is still listed"
expect_error "sign with ended task $EC" -- \
    p11_sign "$EC" ECDSA "$T/digest" "$T/sig-after"

done_ok
