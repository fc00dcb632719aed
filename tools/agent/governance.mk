# tools/agent/governance.mk: audit log and policy engine (filled in by its owner)
