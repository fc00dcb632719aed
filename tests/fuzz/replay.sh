#!/bin/sh
# tests/fuzz/replay.sh: replay every fuzz corpus (seeds and past crashes)
# through its target, built without libFuzzer.
set -eu
b=${WID_BUILDDIR:?}; s=${WID_SRCDIR:?}
for c in request reply agent policy audit attrs duration spki; do
	"$b/tests/fuzz/replay_$c" "$s/tests/fuzz/corpus/$c"
done
