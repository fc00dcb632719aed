# tools/agent/local.mk: wid-agent (filled in by its owner)
