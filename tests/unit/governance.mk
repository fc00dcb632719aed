# tests/unit/governance.mk: (filled in by its owner)
