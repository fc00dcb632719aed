#!/bin/sh
# tests/ops/json.sh: every listing wid-tool offers with --json (found in
# its --help texts, so a new one is covered) prints valid JSON of the
# expected shape; `status` says what an operator needs; with no agent,
# status exits 3 and says what to do next.
. "$(dirname "$0")/../integration/lib.sh"
need python3
need_wid

# No agent: exit 3 and a message naming the socket and the way out.
expect_rc 3 "status without an agent" -- wid_tool status
expect_grep "$T/err" "no agent at $WID_SOCK: start wid-agent or use 'wid-tool exec'" \
    "the error says what to do next"
expect_rc 3 "status --json without an agent" -- wid_tool status --json

start_agent
task_start j1 ec-p256 5m --requested-by "github:acme/1"

# json CMD...: run wid-tool, parse stdout as JSON with python3, print the
# top-level type and keys to $T/shape.
json()
{
	wid_tool "$@" >"$T/json.out" 2>"$T/json.err" ||
	    { cat "$T/json.err" >&2; fail "wid-tool $* failed"; }
	python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
if isinstance(v, list):
    print("list", len(v), *sorted(v[0]) if v else [])
else:
    print("object", *sorted(v))' "$T/json.out" >"$T/shape" 2>"$T/json.err" ||
	    { cat "$T/json.out" "$T/json.err" >&2; fail "wid-tool $*: not JSON"; }
	pass "wid-tool $*: valid JSON ($(cut -d' ' -f1-2 "$T/shape"))"
}
has() { grep -qw -- "$1" "$T/shape" || { cat "$T/shape" >&2; fail "no field $1"; }; }

# Which commands take --json: from the help texts.
wid_tool --help >"$T/help"
wid_tool task --help >>"$T/help"
for c in audit policy; do wid_tool $c --help >>"$T/help" 2>&1; done
grep -o '[a-z][-a-z]* \(ID \)\?\[--json\]' "$T/help" | sed 's/ \[--json\]//' |
    sort -u >"$T/json-cmds"
say "listings with --json: $(tr '\n' ',' <"$T/json-cmds")"

json status --json
for k in socket version backend tpm policy_hash tasks_active tasks_pending audit_path audit_size; do has "$k"; done
pass "status --json carries backend, tpm, policy hash, tasks and audit"
json task list --json
grep -q '^list 1 ' "$T/shape" || fail "task list --json: expected one task"
has id; has state; has expires
json task show j1 --json
has requested_by; has key_id; has uri
json task start --ttl 1m --id j2 --json
has id
expect_rc 0 "task end j2" -- wid_tool task end j2
# A listing added later must be added here too.
while read -r c; do
	case $c in
	status|list|"show ID") ;;
	*) fail "'$c --json' is new: exercise it in tests/ops/json.sh" ;;
	esac
done <"$T/json-cmds"
pass "every --json listing in the help texts is exercised"

# Text status: the fields an operator looks for.
expect_rc 0 "status" -- wid_tool status
for f in "agent: .*reachable" "backend: soft" "tpm: " "policy: " \
    "tasks: *1 active, 0 pending" "audit: "; do
	expect_grep "$T/out" "$f" "status shows '$f'"
done
done_ok
