# tests/unit/module.mk: unit tests of module (filled in by its owner)
