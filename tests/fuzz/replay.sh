#!/bin/sh
# tests/fuzz/replay.sh: replay every fuzz corpus through its target.
set -eu
b=${WID_BUILDDIR:?}; s=${WID_SRCDIR:?}
"$b/tests/fuzz/replay_request" "$s/tests/fuzz/corpus/request"
"$b/tests/fuzz/replay_reply" "$s/tests/fuzz/corpus/reply"
