# tests/unit/agent.mk: unit tests of agent (filled in by its owner)
