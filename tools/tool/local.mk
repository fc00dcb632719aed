# tools/tool/local.mk: wid-tool (filled in by its owner)
