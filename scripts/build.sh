#!/bin/sh
# scripts/build.sh [BUILDDIR [CONFIGURE-ARGS...]]: configure and build wid
# out of tree (default build/), with warnings as errors.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
b=${1:-"$top/build"}
[ $# -gt 0 ] && shift
cd "$top"
[ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi
mkdir -p "$b"
cd "$b"
"$top/configure" --enable-werror "$@" >configure.out || { cat configure.out; exit 1; }
make -j"$(nproc)"
