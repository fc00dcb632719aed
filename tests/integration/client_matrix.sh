#!/bin/sh
# tests/integration/client_matrix.sh: every client x every key type, one
# real signature each (verified by someone other than the signer), printed
# as a table: PASS, FAIL, or SKIP with the client's limit that stops it.
# The test fails when any cell FAILs.  Clients: ssh through the module,
# ssh through SSH_AUTH_SOCK, git through SSH_AUTH_SOCK, pkcs11-tool,
# gnutls p11tool, the OpenSSL engine, and pkcs11-tool through
# p11-kit-proxy.so (as root, in a private mount namespace).
. "$(dirname "$0")/lib.sh"
need ssh ssh-keygen git openssl pkcs11-tool p11tool
need_wid
start_agent
start_sshd
ASOCK="$T/run/ssh-agent.sock"
KEYS="ec-p256 ec-p384 ed25519 rsa2048 rsa3072"
CLIENTS="ssh-pkcs11 ssh-agent git-agent pkcs11-tool p11tool openssl-engine p11kit-proxy"
printf 'client matrix payload %s\n' "$$" >"$T/data"

# ---- where a client cannot do something, the reason (its limit) ----
# OpenSSH 9.2 (bookworm) ssh-pkcs11.c handles CKK_RSA and CKK_EC only;
# Ed25519 through PKCS#11 arrived in OpenSSH 10.1.
# libengine-pkcs11-openssl 0.4.12 loads EC and RSA keys only (no EVP
# mapping for CKK_EC_EDWARDS), so openssl cannot sign Ed25519 through it.
limit()
{
	case $1:$2 in
	ssh-pkcs11:ed25519) echo "OpenSSH $(ssh -V 2>&1 | sed 's/^OpenSSH_\([0-9.p]*\).*/\1/') PKCS#11 has no Ed25519 (added in 10.1)" ;;
	openssl-engine:ed25519) echo "libengine-pkcs11-openssl $(dpkg-query -W -f='${Version}' libengine-pkcs11-openssl 2>/dev/null) has no EdDSA keys" ;;
	*) return 1 ;;
	esac
}

token_of() { [ "$1" = ed25519 ] && echo wid-ed25519 || echo wid; }

# verify KT PEM SIG: openssl checks a signature over $T/data.
verify()
{
	case $1 in
	ed25519) openssl pkeyutl -verify -pubin -inkey "$2" -rawin \
	    -in "$T/data" -sigfile "$3" ;;
	ec-p384) openssl dgst -sha384 -verify "$2" -signature "$3" "$T/data" ;;
	*) openssl dgst -sha256 -verify "$2" -signature "$3" "$T/data" ;;
	esac
}

# p11mech KT: pkcs11-tool's mechanism for the key type.
p11mech()
{
	case $1 in
	ed25519) echo EDDSA ;;
	ec-p384) echo ECDSA-SHA384 ;;
	ec-*) echo ECDSA-SHA256 ;;
	*) echo SHA256-RSA-PKCS ;;
	esac
}

# ---- one function per client: cell_CLIENT KT ID -> exit status ----
login_ok()
{
	sshd_logged "$T/$1.pub"
}

cell_ssh_pkcs11()
{
	WID_TASK=$2 ssh_cmd -o PKCS11Provider="$WID_MODULE" \
	    -o IdentityFile="$T/$2.pub" "$SSH_USER@127.0.0.1" true &&
	    login_ok "$2"
}

cell_ssh_agent()
{
	SSH_AUTH_SOCK="$ASOCK" ssh_cmd -o IdentityFile="$T/$2.pub" \
	    "$SSH_USER@127.0.0.1" true && login_ok "$2"
}

cell_git_agent()
{
	_r="$T/repo-$1"
	rm -rf "$_r"
	git init -q "$_r" && printf '%s\n' "$1" >"$_r/f" &&
	    git -C "$_r" add f &&
	    SSH_AUTH_SOCK="$ASOCK" git -C "$_r" -c user.name=m \
	    -c user.email=m@wid.test -c gpg.format=ssh \
	    -c user.signingkey="key::$(cat "$T/$2.pub")" commit -q -S -m m &&
	    wid_tool allowed-signers "$2" --principal m@wid.test >"$T/as-$1" &&
	    git -C "$_r" -c gpg.ssh.allowedSignersFile="$T/as-$1" \
	    verify-commit HEAD
}

p11tool_sign()
{
	_mod=$1
	shift
	rm -f "$T/sig"
	pkcs11-tool --module "$_mod" --token-label "$(token_of "$1")" \
	    --sign -m "$(p11mech "$1")" --id "$(kid "$2")" \
	    --signature-format openssl -i "$T/data" -o "$T/sig" &&
	    verify "$1" "$T/keys/$2.pem" "$T/sig"
}

cell_pkcs11_tool() { p11tool_sign "$WID_MODULE" "$1" "$2"; }

cell_p11tool()
{
	# Ed25519 signs the message itself (SHA-512 inside); p11tool's
	# default --hash SHA256 has no EdDSA pairing.
	_h=SHA256
	[ "$1" = ed25519 ] && _h=SHA512
	p11tool --provider "$WID_MODULE" --test-sign --hash "$_h" \
	    "pkcs11:token=$(token_of "$1");object=$2;type=private" \
	    2>"$T/p11tool.err" &&
	    grep -q "Verifying against public key.*ok" "$T/p11tool.err"
}

cell_openssl_engine()
{
	_md=-sha256
	[ "$1" = ec-p384 ] && _md=-sha384
	rm -f "$T/sig"
	OPENSSL_CONF="$T/openssl.cnf" openssl dgst $_md -engine pkcs11 \
	    -keyform engine -sign "pkcs11:token=wid;object=$2;type=private" \
	    -out "$T/sig" "$T/data" && verify "$1" "$T/keys/$2.pem" "$T/sig"
}

# ---- set-up the clients need ----
engine_conf "$T/openssl.cnf"
PROXY=$(pkg-config --variable=proxy_module p11-kit-1 2>/dev/null)
[ -n "$PROXY" ] && [ -f "$PROXY" ] ||
    PROXY=$(find /usr/lib /usr/lib64 -name p11-kit-proxy.so 2>/dev/null | head -n 1)
# p11-kit-proxy.so as root reads only the system module directories: put
# the shipped wid.module (with the build's module path) there in a
# private mount namespace.
mkdir -p "$T/modules" "$T/empty"
sed "s|^module:.*|module: $WID_MODULE|" "$WID_SRCDIR/conf/wid.module" \
    >"$T/modules/wid.module"
if [ "$(id -u)" -eq 0 ]; then
	cat >"$T/ns-pkcs11-tool" <<EOF
#!/bin/sh
exec unshare -m sh -c '
    mount --bind "$T/modules" /usr/share/p11-kit/modules || exit 97
    if [ -d /etc/pkcs11/modules ]; then
	mount --bind "$T/empty" /etc/pkcs11/modules || exit 97
    fi
    exec pkcs11-tool "\$@"' sh "\$@"
EOF
else
	# As a user p11-kit reads ~/.config/pkcs11/modules.
	mkdir -p "$HOME/.config/pkcs11/modules"
	cp "$T/modules/wid.module" "$HOME/.config/pkcs11/modules/"
	printf '#!/bin/sh\nexec pkcs11-tool "$@"\n' >"$T/ns-pkcs11-tool"
fi
chmod 0755 "$T/ns-pkcs11-tool"
cell_p11kit_proxy()
{
	rm -f "$T/sig"
	"$T/ns-pkcs11-tool" --module "$PROXY" --token-label "$(token_of "$1")" \
	    --sign -m "$(p11mech "$1")" --id "$(kid "$2")" \
	    --signature-format openssl -i "$T/data" -o "$T/sig" &&
	    verify "$1" "$T/keys/$2.pem" "$T/sig"
}

# ---- one task per key type, authorized for ssh ----
for kt in $KEYS; do
	task_start "mx-$kt" "$kt"
	pubkey_ssh "mx-$kt" "$T/mx-$kt.pub"
	cat "$T/mx-$kt.pub" >>"$SSH_AK"
done

# ---- the matrix ----
fails=0
: >"$T/matrix"
for c in $CLIENTS; do
	line=$(printf '%-15s' "$c")
	for kt in $KEYS; do
		fn=cell_$(echo "$c" | tr '-' '_')
		if why=$(limit "$c" "$kt"); then
			cell="SKIP"
			echo "  $c x $kt: SKIP: $why" >>"$T/reasons"
		elif [ "$c" = p11kit-proxy ] && [ -z "$PROXY" ]; then
			cell="FAIL"
			echo "  $c x $kt: FAIL: p11-kit-proxy.so not installed" >>"$T/reasons"
		elif $fn "$kt" "mx-$kt" >"$T/cell.log" 2>&1; then
			cell="PASS"
		else
			cell="FAIL"
			{ echo "  $c x $kt: FAIL:"; sed 's/^/    /' "$T/cell.log" | tail -n 5; } >>"$T/reasons"
		fi
		[ "$cell" = FAIL ] && fails=$((fails + 1))
		line="$line $(printf '%-8s' "$cell")"
	done
	echo "$line" >>"$T/matrix"
done

echo
printf '%-15s' "client"
for kt in $KEYS; do printf ' %-8s' "$kt"; done
echo
cat "$T/matrix"
[ -f "$T/reasons" ] && { echo; cat "$T/reasons"; }
echo
[ "$fails" -eq 0 ] || fail "$fails cell(s) FAIL"
n=$(grep -o PASS "$T/matrix" | wc -l)
pass "client matrix: $n cells PASS, $(grep -o SKIP "$T/matrix" | wc -l) SKIP (client limits), 0 FAIL"
done_ok
