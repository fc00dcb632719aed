#!/bin/sh
# tests/integration/certs_tls.sh: X.509 certificates for task keys, used
# for TLS client authentication against `openssl s_server -Verify`
# trusting only the wid CA.  Clients: openssl s_client (pkcs11 engine, wid
# key + task certificate), gnutls-cli (key and certificate from the token
# through p11-kit), curl (OpenSSL engine).  After the deadline the
# server's own certificate check rejects the certificate (s_server
# -attime past notAfter; the key is still alive, so nothing else fails).
# p11tool lists the CKO_CERTIFICATE object and signs with its key.  The
# URI SAN follows the configured template (x509_uri, SPIFFE-style).
. "$(dirname "$0")/lib.sh"
need openssl p11tool gnutls-cli curl unshare
need_root
need_wid
start_agent

say "checks: CA and task certificate"
expect_rc 0 "ca init --x509" -- wid_tool ca init --x509
wid_tool ca cert --pem >"$T/wid-ca.pem" || fail "ca cert --pem"
openssl x509 -in "$T/wid-ca.pem" -noout -ext basicConstraints >"$T/ca.txt" ||
    fail "CA certificate does not parse"
expect_grep "$T/ca.txt" "CA:TRUE" "CA certificate is a CA"
ID=x1
task_start "$ID" ec-p256 10m --x509
expect_rc 0 "cert $ID --pem" -- wid_tool cert "$ID" --pem
cp "$T/out" "$T/$ID.pem"
expect_rc 0 "the task certificate chains to the wid CA" -- \
    openssl verify -purpose sslclient -CAfile "$T/wid-ca.pem" "$T/$ID.pem"
openssl x509 -in "$T/$ID.pem" -noout -enddate -ext subjectAltName \
    -subject >"$T/x1.txt"
expect_grep "$T/x1.txt" "URI:wid://.*/task/$ID" "SAN URI wid://HOST/task/$ID"
_na=$(sed -n 's/^notAfter=//p' "$T/x1.txt")
_exp=$(wid_tool task show "$ID" | awk '$1 == "expires:" { print $2 }')
[ -n "$_exp" ] && [ "$(date -d "$_na" +%s)" -eq "$(date -d "$_exp" +%s)" ] ||
    fail "notAfter $_na is not the deadline $_exp"
pass "notAfter = the task's deadline ($_exp)"
_kid_cert=$(openssl x509 -in "$T/$ID.pem" -noout -pubkey |
    openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary |
    head -c 16 | od -An -tx1 | tr -d ' \n')
[ "$_kid_cert" = "$(kid "$ID")" ] || fail "certificate is not for $ID's key"
pass "the certificate carries the task's key"

say "checks: the module shows a CKO_CERTIFICATE with the key's CKA_ID"
expect_rc 0 "pkcs11-tool --list-objects" -- pkcs11-tool --module "$WID_MODULE" \
    --token-label wid --list-objects --type cert
expect_grep "$T/out" "Certificate Object" "a certificate object"
expect_grep "$T/out" "label: *$ID\$" "labelled with the task id"
expect_grep "$T/out" "ID: *$(kid "$ID")" "with the key's CKA_ID"
expect_rc 0 "pkcs11-tool --read-object --type cert" -- pkcs11-tool \
    --module "$WID_MODULE" --token-label wid --read-object --type cert \
    --id "$(kid "$ID")" -o "$T/read.der"
openssl x509 -in "$T/$ID.pem" -outform DER -out "$T/x1.der"
cmp -s "$T/read.der" "$T/x1.der" || fail "CKA_VALUE differs from cert --pem"
pass "CKA_VALUE is the task certificate"

# Server side: a throwaway CA and a server certificate for 127.0.0.1.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=server test CA" -days 1 -keyout "$T/sca.key" \
    -out "$T/sca.pem" 2>/dev/null || fail "server CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=127.0.0.1" -keyout "$T/server.key" -out "$T/server.csr" \
    2>/dev/null || fail "server CSR"
printf 'subjectAltName=IP:127.0.0.1\n' >"$T/server.ext"
openssl x509 -req -in "$T/server.csr" -CA "$T/sca.pem" -CAkey "$T/sca.key" \
    -CAcreateserial -days 1 -extfile "$T/server.ext" -out "$T/server.pem" \
    2>/dev/null || fail "server certificate"

# s_server_exec [s_server options]: s_server on $PORT requiring a client
# certificate from the wid CA.
s_server_exec()
{
	exec openssl s_server -accept "127.0.0.1:$PORT" -Verify 1 \
	    -verify_return_error -CAfile "$T/wid-ca.pem" \
	    -cert "$T/server.pem" -key "$T/server.key" -www "$@"
}

# start_tls NAME [s_server options]: sets TLS_PORT, TLS_PID.
start_tls()
{
	_name=$1
	shift
	start_server "$T/$_name.log" "ACCEPT" s_server_exec "$@"
	TLS_PORT=$PORT
	TLS_PID=$SERVER_PID
}

engine_conf "$T/openssl.cnf"
KEY="pkcs11:token=wid;object=$ID;type=private"

# s_client_wid PORT: TLS 1.3 handshake + one HTTP request with the wid key.
s_client_wid()
{
	printf 'GET / HTTP/1.0\r\n\r\n' |
	    OPENSSL_CONF="$T/openssl.cnf" timeout 20 openssl s_client \
	    -connect "127.0.0.1:$1" -CAfile "$T/sca.pem" -verify_return_error \
	    -engine pkcs11 -keyform engine -key "$KEY" -cert "$T/$ID.pem" \
	    -ign_eof
}

# got_200 CMD...: CMD's output has the server's HTTP 200.
got_200() { "$@" 2>&1 | grep -q 'HTTP/1.0 200 ok'; }

say "checks: mTLS with openssl s_client (engine + task certificate)"
start_tls tls
TLS_MAIN=$TLS_PORT
expect_rc 0 "s_client with wid key + task certificate" -- s_client_wid "$TLS_MAIN"
expect_grep "$T/out" "HTTP/1.0 200 ok" "server answered the request"
expect_grep "$T/tls.log" "CN = $ID" "server verified the client certificate CN=$ID"
s_client_nocert()
{
	printf 'GET / HTTP/1.0\r\n\r\n' | timeout 20 openssl s_client \
	    -connect "127.0.0.1:$TLS_MAIN" -CAfile "$T/sca.pem" -ign_eof
}
expect_error "s_client without a client certificate: refused" -- \
    got_200 s_client_nocert

say "checks: after the deadline the server's certificate check rejects it"
# s_server verifying at a time past notAfter: what any verifier does once
# the deadline has passed.  The key is alive (the task has 10 minutes),
# so only the certificate's validity can make it fail.
_late=$(( $(date -d "$_na" +%s) + 60 ))
start_tls late -attime "$_late"
expect_error "s_client against a verifier past the deadline" -- \
    got_200 s_client_wid "$TLS_PORT"
wait_for 5 grep -q "certificate has expired" "$T/late.log" ||
    { cat "$T/late.log"; fail "server did not say 'certificate has expired'"; }
pass "s_server: certificate has expired"
stop_pid "$TLS_PID"
expect_rc 0 "the same client, verifier on time: accepted" -- \
    got_200 s_client_wid "$TLS_MAIN"

say "checks: curl (OpenSSL engine) with the wid key"
# Debian's curl is built with OpenSSL: --engine pkcs11 --key-type ENG
# takes the key from the engine; the certificate comes from the file.
expect_rc 0 "curl --engine pkcs11 --key-type ENG" -- \
    env OPENSSL_CONF="$T/openssl.cnf" curl -sS --max-time 20 \
    --cacert "$T/sca.pem" --engine pkcs11 --key-type ENG --key "$KEY" \
    --cert "$T/$ID.pem" "https://127.0.0.1:$TLS_MAIN/"
expect_grep "$T/out" "s_server" "curl got the server's page"
expect_rc 0 "curl --cert-type ENG: certificate from the token too" -- \
    env OPENSSL_CONF="$T/openssl.cnf" curl -sS --max-time 20 \
    --cacert "$T/sca.pem" --engine pkcs11 --key-type ENG --key "$KEY" \
    --cert-type ENG --cert "pkcs11:token=wid;object=$ID;type=cert" \
    "https://127.0.0.1:$TLS_MAIN/"
expect_grep "$T/out" "s_server" "curl (certificate from the token) got the page"

# p11-kit as gnutls sees it: only wid.module, in a private mount namespace.
p11kit_private

say "checks: gnutls p11tool and gnutls-cli"
expect_rc 0 "p11tool --list-all" -- in_ns p11tool --list-all "pkcs11:token=wid"
expect_grep "$T/out" "Type: X.509 Certificate" "p11tool lists the certificate"
expect_rc 0 "p11tool --test-sign" -- \
    in_ns p11tool --test-sign "pkcs11:token=wid;object=$ID;type=private"
expect_grep "$T/err" "Verifying against public key.*ok" \
    "p11tool verified the signature with the public key"
expect_rc 0 "p11tool --export the certificate" -- \
    in_ns p11tool --export "pkcs11:token=wid;object=$ID;type=cert"
openssl x509 -in "$T/out" -outform DER | cmp -s - "$T/x1.der" ||
    fail "p11tool exported another certificate"
pass "p11tool exports the task certificate"
gnutls_wid()
{
	{ printf "GET / HTTP/1.0\r\n\r\n"; sleep 2; } | in_ns timeout 20 \
	    gnutls-cli --x509cafile "$T/sca.pem" \
	    --x509certfile "pkcs11:token=wid;object=$ID;type=cert" \
	    --x509keyfile "pkcs11:token=wid;object=$ID;type=private" \
	    -p "$TLS_MAIN" 127.0.0.1
}
expect_rc 0 "gnutls-cli: key and certificate from the token" -- gnutls_wid
expect_grep "$T/out" "HTTP/1.0 200 ok" "gnutls-cli: server accepted the client"

say "checks: a SPIFFE-style URI SAN from the configuration (x509_uri)"
stop_agent
printf 'x509_uri: "spiffe://example.org/ci/{scope}/{id}"\n' >"$T/agent.yaml"
start_agent
expect_rc 0 "ca init --x509 (new agent)" -- wid_tool ca init --x509
wid_tool ca cert --pem >"$T/wid-ca2.pem" || fail "ca cert --pem"
task_start x2 ec-p256 10m --x509 --scope build
wid_tool cert x2 --pem >"$T/x2.pem" || fail "cert x2 --pem"
openssl x509 -in "$T/x2.pem" -noout -ext subjectAltName >"$T/x2.txt" ||
    fail "openssl cannot read x2's certificate"
expect_grep "$T/x2.txt" "URI:spiffe://example.org/ci/build/x2\$" \
    "SAN URI spiffe://example.org/ci/build/x2"
expect_rc 0 "x2's certificate chains to the CA" -- \
    openssl verify -purpose sslclient -CAfile "$T/wid-ca2.pem" "$T/x2.pem"
printf 'x509_uri: "spiffe://example.org/ci"\n' >"$T/bad.yaml"
expect_rc 1 "an agent with a template without {id} refuses to start" -- \
    "$WID_AGENT_BIN" --foreground --config "$T/bad.yaml" \
    --socket "$T/run/bad.sock"
expect_grep "$T/err" "bad.yaml:1:11: x509_uri: {id} is missing" \
    "the refusal has FILE:LINE:COL and the reason"
done_ok
