# tests/unit/tool.mk: unit tests of tool (filled in by its owner)
