#!/bin/sh
# tests/ops/man.sh: every manual page renders without a warning
# (`man --warnings -l`, groff's own checks) and passes `mandoc -T lint`
# at warning level; every page the units, the other pages and wid-tool's
# help name exists; each page documents the options the program's --help
# lists, so the pages cannot silently fall behind the code.
. "$(dirname "$0")/../integration/lib.sh"
need man mandoc
need_wid
PAGES="wid-tool.1 wid-agent.8 wid-pkcs11.8 wid.conf.5 wid-policy.5"

for p in $PAGES; do
	f="$WID_SRCDIR/man/$p"
	[ -s "$f" ] || fail "no page $f"
	MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -E UTF-8 -l "$f" \
	    >"$T/render.out" 2>"$T/render.err" || fail "man -l $p failed"
	[ -s "$T/render.err" ] && { cat "$T/render.err" >&2; fail "man --warnings -l $p warns"; }
	[ "$(wc -l <"$T/render.out")" -gt 20 ] || fail "$p renders almost nothing"
	mandoc -T lint -W warning "$f" >"$T/lint.out" 2>&1 ||
	    { cat "$T/lint.out" >&2; fail "mandoc -T lint $p"; }
	pass "$p renders without warnings and lints clean"
done

# The check can fail: a page with an unknown request warns.
sed 's/^\.SH DESCRIPTION/.XX bogus\n.SH DESCRIPTION/' "$WID_SRCDIR/man/wid-tool.1" >"$T/bad.1"
MANWIDTH=80 man --warnings -l "$T/bad.1" >/dev/null 2>"$T/bad.err"
[ -s "$T/bad.err" ] || fail "man --warnings did not notice an unknown request"
pass "man --warnings reports a broken page"

# Cross references: every wid page named anywhere exists.
cat "$WID_SRCDIR"/man/* "$WID_SRCDIR"/conf/systemd/*.in "$WID_SRCDIR"/conf/systemd/*.socket |
    grep -o 'wid[-.a-z0-9]*([158])' | sed 's/\\//g' | sort -u >"$T/refs"
grep -o 'wid[-.a-z0-9]*(.)' "$WID_SRCDIR"/man/* | sed 's/.*://' | sort -u >>"$T/refs"
sort -u "$T/refs" | while read -r ref; do
	name=${ref%(*}; sec=${ref#*(}; sec=${sec%)}
	[ -f "$WID_SRCDIR/man/$name.$sec" ] || fail "$ref is referenced but there is no man/$name.$sec"
done || exit 1
pass "every referenced wid page exists ($(sort -u "$T/refs" | tr '\n' ' '))"

# The pages document what the programs accept.
man_has()
{
	MANWIDTH=200 man -l "$WID_SRCDIR/man/$1" 2>/dev/null | grep -q -e "$2" ||
	    fail "man/$1 does not document $2"
}
for o in $("$WID_AGENT_BIN" --help | grep -o -- '--[a-z][-a-z]*' | sort -u); do
	man_has wid-agent.8 "$o"
done
pass "wid-agent(8) documents every option of wid-agent --help"
wid_tool --help | awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 }
    on && /^  [a-z]/ { print ($1 == "task" || $1 == "policy" || $1 == "audit" || $1 == "cert") ? $1 " " $2 : $1 }' \
    >"$T/commands"
[ -s "$T/commands" ] || fail "no commands in wid-tool --help"
while read -r c; do
	man_has wid-tool.1 "$c"
done <"$T/commands"
for o in $(wid_tool task --help | grep -o -- '--[a-z][-a-z]*' | sort -u); do
	man_has wid-tool.1 "$o"
done
pass "wid-tool(1) documents every command and task option"
# wid.conf.example and wid.conf(5) document exactly the keys the agent
# parses: each documented key is accepted (a bad key after it is then the
# first error, with FILE:LINE:COL), and each key in the parser's table is
# documented in both.
EX="$WID_SRCDIR/conf/wid.conf.example"
sed -n 's/^#\([a-z_]*\): .*/\1/p' "$EX" >"$T/keys"
[ "$(wc -l <"$T/keys")" -ge 10 ] || fail "wid.conf.example documents too few keys"
while read -r k; do
	sed -n "s/^#\($k: .*\)/\1/p" "$EX" | sed 's/^allow_uids: .*/allow_uids: [0]/' >"$T/one.conf"
	echo "bogus_key: 1" >>"$T/one.conf"
	"$WID_AGENT_BIN" --foreground --config "$T/one.conf" --socket "$T/no.sock" \
	    >"$T/one.out" 2>&1 && fail "the agent started with bogus_key"
	grep -q "$T/one.conf:2:1: unknown key 'bogus_key'" "$T/one.out" ||
	    { cat "$T/one.conf" "$T/one.out" >&2; fail "documented key '$k' is not accepted as documented"; }
done <"$T/keys"
pass "every key of wid.conf.example is accepted; errors name FILE:LINE:COL"
sed -n '/static const char \*const keys\[\] = { "socket"/,/};/p' \
    "$WID_SRCDIR/tools/agent/conf.c" | grep -o '"[a-z_]*"' | tr -d '"' >"$T/parsed"
[ -s "$T/parsed" ] || fail "cannot find the key table in tools/agent/conf.c"
while read -r k; do
	grep -qx "$k" "$T/keys" || fail "key '$k' is parsed but not in wid.conf.example"
	man_has wid.conf.5 "^ *$k\( \|\$\)"
done <"$T/parsed"
pass "every key the parser knows is documented in wid.conf.example and wid.conf(5)"
done_ok
