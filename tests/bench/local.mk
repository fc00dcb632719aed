# tests/bench/local.mk: make bench (filled in by its owner)
