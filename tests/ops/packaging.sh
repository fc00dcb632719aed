#!/bin/sh
# tests/ops/packaging.sh: the Debian packages.  Builds them from the
# distribution tarball (`make dist` in $WID_BUILDDIR, so nothing is built
# inside the source tree) with `dpkg-buildpackage -us -uc -b`, requires
# lintian to report no error, checks that each file lands where p11-kit,
# systemd, man and bash-completion look, then unpacks both packages into
# a throwaway root and runs one task through the installed files: the
# installed wid-agent, wid-tool and module, ssh-keygen listing the key
# through the installed p11-kit module file's module.
# Slow (a full package build): scripts/check.sh runs it as its own step.
# Prints the packages' file lists (dpkg -c).
. "$(dirname "$0")/../integration/lib.sh"
need dpkg-buildpackage dpkg-deb lintian fakeroot pkcs11-tool ssh-keygen
need_wid
[ -f "$WID_BUILDDIR/Makefile" ] || fail "no configured build in $WID_BUILDDIR"

say "make dist"
make -C "$WID_BUILDDIR" dist >"$T/dist.log" 2>&1 || { tail -n 30 "$T/dist.log"; fail "make dist"; }
TARBALL=$(ls -t "$WID_BUILDDIR"/wid-*.tar.gz | head -n 1)
mkdir -p "$T/src"
tar -xzf "$TARBALL" -C "$T/src" || fail "unpack $TARBALL"
SRC=$(ls -d "$T/src"/wid-*)
[ -x "$SRC/debian/rules" ] || fail "the tarball has no debian/ (EXTRA_DIST)"
pass "make dist carries debian/"

say "dpkg-buildpackage -us -uc -b (DEB_BUILD_OPTIONS=nocheck: make check runs separately)"
start=$(date +%s)
(cd "$SRC" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
    dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1 ||
    { tail -n 40 "$T/build.log"; fail "dpkg-buildpackage"; }
pass "dpkg-buildpackage built the packages in $(( $(date +%s) - start ))s"
DEB_WID=$(ls "$T"/src/wid_*.deb | grep -v dbgsym | head -n 1)
DEB_P11=$(ls "$T"/src/wid-pkcs11_*.deb | grep -v dbgsym | head -n 1)
CHANGES=$(ls "$T"/src/wid_*.changes | head -n 1)
[ -f "$DEB_WID" ] && [ -f "$DEB_P11" ] || fail "missing .deb files"

lintian --tag-display-limit 0 "$CHANGES" >"$T/lintian.out" 2>&1
if grep -q '^E: ' "$T/lintian.out"; then
	cat "$T/lintian.out" >&2
	fail "lintian reports errors"
fi
pass "lintian: 0 errors, $(grep -c '^W: ' "$T/lintian.out") warnings"
sed 's/^/  lintian: /' "$T/lintian.out"

for d in "$DEB_WID" "$DEB_P11"; do
	echo "== dpkg -c $(basename "$d")"
	dpkg -c "$d" | awk '{ print "  " $1 " " $6 }'
done
dpkg -c "$DEB_WID" | awk '{print $6}' >"$T/wid.files"
dpkg -c "$DEB_P11" | awk '{print $6}' >"$T/p11.files"
P11DIR=$(pkg-config --variable=p11_module_path p11-kit-1)
P11CONF=$(pkg-config --variable=p11_module_configs p11-kit-1)
for f in ./usr/bin/wid-agent ./usr/bin/wid-tool \
    ./lib/systemd/system/wid-agent.service ./lib/systemd/system/wid-agent.socket \
    ./usr/lib/sysusers.d/wid.conf ./usr/share/bash-completion/completions/wid-tool \
    ./usr/share/man/man1/wid-tool.1.gz ./usr/share/man/man5/wid.conf.5.gz \
    ./usr/share/man/man5/wid-policy.5.gz ./usr/share/man/man8/wid-agent.8.gz \
    ./usr/share/doc/wid/ci.md.gz ./usr/share/doc/wid/examples/wid.conf.example \
    ./etc/wid/; do
	grep -qx -- "$f" "$T/wid.files" || fail "wid.deb lacks $f"
done
for f in ".$P11DIR/wid-pkcs11.so" ".$P11CONF/wid.module" \
    ./usr/share/man/man8/wid-pkcs11.8.gz; do
	grep -qx -- "$f" "$T/p11.files" || fail "wid-pkcs11.deb lacks $f"
done
grep -q '\.la$' "$T/wid.files" "$T/p11.files" && fail "a libtool .la file is packaged"
pass "binaries, units, sysusers, completion, man pages, module and .module where they belong"
dpkg-deb -I "$DEB_WID" postinst | grep -q 'systemd-sysusers wid.conf' ||
    fail "wid postinst does not create the wid user"
dpkg-deb -I "$DEB_WID" postinst | grep -q 'wid-agent.socket' ||
    fail "wid postinst does not enable wid-agent.socket"
pass "postinst creates the wid user and enables wid-agent.socket"

say "unpack into a throwaway root and run a task through the installed files"
R="$T/root"
dpkg-deb -x "$DEB_WID" "$R" && dpkg-deb -x "$DEB_P11" "$R" || fail "dpkg-deb -x"
ExecStart=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$R/lib/systemd/system/wid-agent.service")
[ "$ExecStart" = /usr/bin/wid-agent ] || fail "the unit runs '$ExecStart', not /usr/bin/wid-agent"
[ -x "$R$ExecStart" ] || fail "the unit's ExecStart is not in the package"
pass "the installed unit starts the installed agent ($ExecStart)"
MOD="$R$P11DIR/$(sed -n 's/^module: *//p' "$R$P11CONF/wid.module")"
[ -f "$MOD" ] || fail "wid.module names a module that is not installed"
WID_AGENT_BIN="$R/usr/bin/wid-agent"
WID_TOOL_BIN="$R/usr/bin/wid-tool"
WID_MODULE="$MOD"
start_agent --no-config
expect_rc 0 "installed wid-tool status" -- "$WID_TOOL_BIN" status
expect_grep "$T/out" "reachable" "the installed tool reaches the installed agent"
expect_rc 0 "installed wid-tool task start" -- \
    "$WID_TOOL_BIN" task start --ttl 2m --id pkg1 --requested-by packaging-test
"$WID_TOOL_BIN" pubkey pkg1 >"$T/pkg1.pub" || fail "pubkey"
expect_rc 0 "ssh-keygen -D lists the task key through the installed module" -- \
    ssh-keygen -D "$MOD"
grep -q "$(cut -d' ' -f2 "$T/pkg1.pub")" "$T/out" || fail "the module did not list pkg1's key"
pass "the installed module serves the task's key"
save_key pkg1
printf 'packaged' >"$T/data"
openssl dgst -sha256 -binary "$T/data" >"$T/data.sha256"
# sign OUT [args]: pkcs11-tool through the installed module, bounded.
sign()
{
	_o=$1; shift
	timeout 60 pkcs11-tool --module "$MOD" --token-label wid --sign \
	    -m ECDSA --id "$(kid pkg1)" -i "$T/data.sha256" -o "$_o" "$@" </dev/null
}
expect_rc 0 "pkcs11-tool signs with the installed module" -- \
    sign "$T/sig" --signature-format openssl
openssl pkeyutl -verify -pubin -inkey "$T/keys/pkg1.pem" -in "$T/data.sha256" \
    -sigfile "$T/sig" >/dev/null 2>&1 || fail "the signature does not verify"
pass "the signature verifies with the task's public key"
expect_rc 0 "installed wid-tool task end" -- "$WID_TOOL_BIN" task end pkg1
expect_error "no signature after the task ended" -- sign "$T/sig2"
done_ok
