#!/bin/sh
# scripts/deps.sh: install the Debian packages wid builds, tests and demos
# with.  Needs root (or sudo).  Skips apt when everything is present.
set -eu
PKGS="build-essential autoconf automake libtool pkg-config
 libssl-dev openssl libp11-kit-dev p11-kit libcmocka-dev libyaml-dev libjson-c-dev
 libtss2-dev swtpm swtpm-tools tpm2-tools libtpm2-pkcs11-1
 softhsm2 opensc gnutls-bin libengine-pkcs11-openssl
 openssh-client openssh-server git curl valgrind
 clang libclang-rt-14-dev util-linux procps python3
 faketime
 python3-yaml systemd man-db groff-base mandoc
 devscripts debhelper lintian dpkg-dev fakeroot"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps: installing:$missing"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
