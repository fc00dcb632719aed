# tests/integration/lib.sh: shared harness for the integration tests.
# Sourced by every tests/integration/*.sh (POSIX sh; run by `make check`
# with $(SHELL)).  It gives each test a private temp dir, starts servers on
# loopback (wid-agent, sshd, ssh-agent) and stops exactly the PIDs it
# started, never by name.
#
# Environment (exported by tests/local.mk; defaults for running by hand
# from a build dir: `WID_BUILDDIR=$PWD sh $SRC/tests/integration/x.sh`):
#   WID_BUILDDIR  top build dir (wid-agent, wid-tool, .libs/wid-pkcs11.so)
#   WID_SRCDIR    top source dir
#   WID_MODULE    the PKCS#11 module under test
#   WID_IT_KEEP   if set, keep the temp dir (debugging)

set -u

: "${WID_BUILDDIR:=$(pwd)}"
: "${WID_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${WID_MODULE:=$WID_BUILDDIR/.libs/wid-pkcs11.so}"
WID_AGENT_BIN=${WID_AGENT_BIN:-$WID_BUILDDIR/wid-agent}
WID_TOOL_BIN=${WID_TOOL_BIN:-$WID_BUILDDIR/wid-tool}
P11SIGN=${P11SIGN:-$WID_BUILDDIR/tests/integration/p11sign}
TEST_NAME=$(basename "$0" .sh)

# Exit codes understood by the automake test driver.
EX_SKIP=77
EX_HARD=99

# PIDs this test started, killed in reverse order by cleanup.
_pids=""
_failed=0
_checks=0

T=$(mktemp -d "/tmp/wid-it-$TEST_NAME.XXXXXX") || exit $EX_HARD
chmod 0711 "$T"

_cleanup()
{
	_rc=$?
	trap - EXIT INT TERM HUP
	for _p in $_pids; do
		kill "$_p" 2>/dev/null
	done
	for _p in $_pids; do
		# give each a moment, then insist
		_i=0
		while kill -0 "$_p" 2>/dev/null && [ $_i -lt 20 ]; do
			sleep 0.1
			_i=$((_i + 1))
		done
		kill -9 "$_p" 2>/dev/null
		wait "$_p" 2>/dev/null
	done
	if [ $_rc -ne 0 ] && [ $_rc -ne $EX_SKIP ]; then
		for _l in "$T"/*.log; do
			[ -s "$_l" ] || continue
			echo "---- $(basename "$_l") (last 30 lines)"
			tail -n 30 "$_l"
		done
	fi
	if [ -n "${WID_IT_KEEP:-}" ]; then
		echo "kept $T"
	else
		rm -rf "$T"
	fi
	exit $_rc
}
trap _cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Remember a PID so that cleanup stops it.
track() { _pids="$1 $_pids"; }

# Forget a PID (after the test stopped it itself).
untrack()
{
	_n=""
	for _p in $_pids; do
		[ "$_p" = "$1" ] || _n="$_n $_p"
	done
	_pids=$_n
}

# Stop one PID we started and reap it.
stop_pid()
{
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	untrack "$1"
}

say() { echo "$TEST_NAME: $*"; }

# fail MSG: the check failed; the test stops.
fail()
{
	echo "FAIL: $TEST_NAME: $*" >&2
	exit 1
}

# pass MSG: one check passed.
pass()
{
	_checks=$((_checks + 1))
	echo "ok $_checks - $*"
}

# skip MSG: only for a stated limit of a client program.
skip()
{
	echo "SKIP: $TEST_NAME: $*"
	exit $EX_SKIP
}

# need CMD...: the test cannot run without these programs.
need()
{
	for _c in "$@"; do
		command -v "$_c" >/dev/null 2>&1 ||
		    skip "'$_c' is not installed"
	done
}

# need_root: creating users and starting sshd for another user.
need_root()
{
	[ "$(id -u)" -eq 0 ] || skip "needs root (creates test users)"
}

# The programs under test must exist: make check builds them first, so
# their absence is a failure, not a skip.
need_wid()
{
	[ -x "$WID_AGENT_BIN" ] || fail "wid-agent not built at $WID_AGENT_BIN"
	[ -x "$WID_TOOL_BIN" ] || fail "wid-tool not built at $WID_TOOL_BIN"
	[ -f "$WID_MODULE" ] || fail "module not built at $WID_MODULE"
}

# Run a command, expect exit status N; output goes to $T/out (stdout) and
# $T/err (stderr).  expect_rc N DESCRIPTION -- CMD...
expect_rc()
{
	_want=$1
	_what=$2
	shift 3
	"$@" >"$T/out" 2>"$T/err"
	_got=$?
	if [ "$_got" -ne "$_want" ]; then
		echo "stdout:" >&2; cat "$T/out" >&2
		echo "stderr:" >&2; cat "$T/err" >&2
		fail "$_what: exit $_got, expected $_want ($*)"
	fi
	pass "$_what (exit $_got)"
}

# Expect a non-zero exit that is not a signal (crash).
expect_error()
{
	_what=$1
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	_got=$?
	if [ "$_got" -eq 0 ]; then
		cat "$T/out" >&2
		fail "$_what: succeeded ($*)"
	fi
	# 129..192: killed by a signal (255 is e.g. ssh's own failure)
	if [ "$_got" -gt 128 ] && [ "$_got" -le 192 ]; then
		cat "$T/err" >&2
		fail "$_what: killed by signal $((_got - 128)) ($*)"
	fi
	pass "$_what (exit $_got)"
}

# grep_out FILE PATTERN DESCRIPTION
expect_grep()
{
	grep -q -e "$2" "$1" || {
		echo "---- $1:" >&2
		cat "$1" >&2
		fail "$3: no '$2' in $(basename "$1")"
	}
	pass "$3"
}

expect_no_grep()
{
	if grep -q -e "$2" "$1"; then
		echo "---- $1:" >&2
		cat "$1" >&2
		fail "$3: unexpected '$2' in $(basename "$1")"
	fi
	pass "$3"
}

# wait_for SECONDS CMD...: poll (every 0.1 s) until CMD succeeds.
wait_for()
{
	_n=$(($1 * 10))
	shift
	while [ $_n -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	return 1
}

# A clean client environment: nothing from the caller's session leaks in.
unset WID_TASK SSH_AUTH_SOCK SSH_AGENT_PID DISPLAY SSH_ASKPASS \
    OPENSSL_CONF PKCS11_MODULE_PATH P11_KIT_DEBUG 2>/dev/null
export HOME="$T/home"
export XDG_RUNTIME_DIR="$T/xdg"
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
chmod 0700 "$HOME" "$XDG_RUNTIME_DIR"
# No agent unless a test starts one: this path does not exist.
WID_SOCK="$T/run/agent.sock"
export WID_AGENT_SOCK="$WID_SOCK"

wid_tool() { "$WID_TOOL_BIN" "$@"; }

# engine_conf FILE: an OpenSSL config that loads libengine-pkcs11-openssl
# with the module under test (sets ENGINE_SO).  Callers append their own
# sections.  scripts/deps.sh installs the engine: missing is a failure.
engine_conf()
{
	ENGINE_SO=$(find /usr/lib /usr/local/lib -path '*engines-3/pkcs11.so' \
	    2>/dev/null | head -n 1)
	[ -n "$ENGINE_SO" ] ||
	    fail "libengine-pkcs11-openssl (engines-3/pkcs11.so) is not installed"
	cat >"$1" <<EOF_CNF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $ENGINE_SO
MODULE_PATH = $WID_MODULE
init = 0
EOF_CNF
}

# start_agent [EXTRA ARGS...]: start wid-agent in the foreground on
# $WID_SOCK and wait until it says it is ready (--ready-fd).  Sets
# AGENT_PID.  Config: $T/agent.yaml when a test wrote one.
start_agent()
{
	need_wid
	mkdir -p "$T/run"
	chmod 0700 "$T/run"
	rm -f "$T/ready"
	mkfifo "$T/ready" || fail "mkfifo"
	if [ -f "$T/agent.yaml" ]; then
		set -- --config "$T/agent.yaml" "$@"
	fi
	"$WID_AGENT_BIN" --foreground --socket "$WID_SOCK" --ready-fd 3 "$@" \
	    3>"$T/ready" >>"$T/agent.log" 2>&1 &
	AGENT_PID=$!
	track "$AGENT_PID"
	# The agent writes to and closes fd 3 when it listens; EOF without a
	# byte means it exited first.
	_r=$(timeout 10 head -c 1 <"$T/ready" | od -An -c)
	rm -f "$T/ready"
	kill -0 "$AGENT_PID" 2>/dev/null || fail "wid-agent exited at start"
	[ -n "$_r" ] || fail "wid-agent did not signal readiness on --ready-fd"
	[ -S "$WID_SOCK" ] || fail "wid-agent ready but no socket at $WID_SOCK"
	say "wid-agent pid $AGENT_PID on $WID_SOCK"
}

# stop_agent: stop the agent we started.
stop_agent()
{
	stop_pid "$AGENT_PID"
}

# start_swtpm: a swtpm for this test in $T/tpm (stopped by PID at exit);
# sets TCTI and exports WID_TPM_TCTI for the agent.
start_swtpm()
{
	need swtpm
	TCTI=$(sh "$WID_SRCDIR/tests/tpm/swtpm.sh" start "$T/tpm") ||
	    fail "swtpm did not start"
	track "$(cat "$T/tpm/swtpm.pid")"
	export WID_TPM_TCTI="$TCTI"
	say "swtpm pid $(cat "$T/tpm/swtpm.pid") at $TCTI"
}

# task_start ID KEYTYPE [TTL [more wid-tool args]]: start a task with a
# fixed id, fail the test if it does not start.
task_start()
{
	_id=$1
	_kt=$2
	_ttl=${3:-10m}
	shift 2
	[ $# -gt 0 ] && shift
	wid_tool task start --ttl "$_ttl" --id "$_id" --key "$_kt" "$@" \
	    >"$T/start.out" 2>"$T/start.err" || {
		cat "$T/start.out" "$T/start.err" >&2
		fail "task start $_id ($_kt)"
	}
	save_key "$_id"
}

# save_key ID [PEM]: keep the task's PEM public key and CKA_ID under
# $T/keys (PEM: take it from that file instead of asking wid-tool).
save_key()
{
	mkdir -p "$T/keys"
	if [ $# -gt 1 ]; then
		cp "$2" "$T/keys/$1.pem" || fail "no PEM for $1"
	else
		pubkey_pem "$1" "$T/keys/$1.pem"
	fi
	key_id "$T/keys/$1.pem" >"$T/keys/$1.id"
	[ -s "$T/keys/$1.id" ] || fail "no key id for $1"
}

# key_id PEM: CKA_ID as proto.h defines it: the first WID_KEY_ID_LEN (16)
# bytes of SHA-256 over the DER SubjectPublicKeyInfo, in hex.
key_id()
{
	openssl pkey -pubin -in "$1" -outform DER |
	    openssl dgst -sha256 -binary | head -c 16 | od -An -tx1 | tr -d ' \n'
}

# kid ID: the CKA_ID (hex) of a task saved by task_start/save_key.
kid() { cat "$T/keys/$1.id"; }

# p11_sign ID MECH IN OUT [pkcs11-tool args]: sign with the task's key on
# token wid, selected by CKA_ID (pkcs11-tool --sign ignores --label).
p11_sign()
{
	_k=$(kid "$1")
	[ -n "$_k" ] || fail "no saved key id for $1"
	_m=$2 _i=$3 _o=$4
	shift 4
	pkcs11-tool --module "$WID_MODULE" --token-label wid --sign -m "$_m" \
	    --id "$_k" -i "$_i" -o "$_o" "$@"
}

# task_end ID
task_end()
{
	wid_tool task end "$1" >"$T/end.out" 2>&1 || {
		cat "$T/end.out" >&2
		fail "task end $1"
	}
}

# pubkey_pem ID FILE: the task's public key as PEM, checked by openssl.
pubkey_pem()
{
	wid_tool pubkey "$1" --format pem >"$2" 2>"$T/pubkey.err" ||
	    { cat "$T/pubkey.err" >&2; fail "pubkey $1 --format pem"; }
	openssl pkey -pubin -in "$2" -noout 2>/dev/null ||
	    { cat "$2" >&2; fail "pubkey $1 is not a PEM public key"; }
}

# pubkey_ssh ID FILE
pubkey_ssh()
{
	wid_tool pubkey "$1" --format ssh >"$2" 2>"$T/pubkey.err" ||
	    { cat "$T/pubkey.err" >&2; fail "pubkey $1 --format ssh"; }
	ssh-keygen -l -f "$2" >/dev/null 2>&1 ||
	    { cat "$2" >&2; fail "pubkey $1 is not an OpenSSH public key"; }
}

# ensure_user NAME: a non-root login user for sshd and visibility tests.
# Password field '*' (no password, not "locked": sshd refuses locked
# accounts without PAM).
ensure_user()
{
	if ! id -u "$1" >/dev/null 2>&1; then
		useradd -m -s /bin/sh -p '*' "$1" 2>"$T/useradd.err" ||
		    { cat "$T/useradd.err" >&2; fail "useradd $1"; }
	fi
}

# free_port: a TCP port nobody listens on at 127.0.0.1 (best effort; the
# caller retries when binding fails).
free_port()
{
	while :; do
		_p=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
		_p=$((20000 + _p % 40000))
		if ! ss -ltnH "sport = :$_p" 2>/dev/null | grep -q .; then
			echo "$_p"
			return
		fi
	done
}

# start_server LOG READY FUNC [ARGS...]: a server on a free loopback port.
# FUNC ARGS must exec the server listening on $PORT (exec, so that the PID
# is the server's); its output goes to LOG (emptied first); it is ready
# when LOG matches the grep pattern READY.  A port taken meanwhile means
# another try (5 at most).  Sets PORT and SERVER_PID; the server is
# tracked (stopped by PID at exit).
start_server()
{
	_log=$1 _ready=$2
	shift 2
	_try=0
	while [ $_try -lt 5 ]; do
		PORT=$(free_port)
		: >"$_log"
		"$@" </dev/null >>"$_log" 2>&1 &
		SERVER_PID=$!
		if wait_for 10 grep -q "$_ready" "$_log" &&
		    kill -0 "$SERVER_PID" 2>/dev/null; then
			track "$SERVER_PID"
			return 0
		fi
		kill "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
		_try=$((_try + 1))
	done
	cat "$_log" >&2
	fail "$1 did not start ($_log)"
}

# p11kit_private: p11-kit (as root it reads only the system module
# folders) will see wid alone: the shipped conf/wid.module, naming the
# module by its build path, is bind-mounted over /usr/share/p11-kit/modules
# in a private mount namespace; /etc/pkcs11/modules is hidden.  Nothing on
# the host changes.  Run commands there with in_ns CMD...
p11kit_private()
{
	need unshare
	need_root
	mkdir -p "$T/modules" "$T/empty"
	sed "s|^module:.*|module: $WID_MODULE|" "$WID_SRCDIR/conf/wid.module" \
	    >"$T/modules/wid.module" || fail "conf/wid.module"
	in_ns true 2>"$T/ns.err" ||
	    fail "no private mount namespace as root (unshare -m, mount --bind): $(cat "$T/ns.err")"
}

in_ns()
{
	unshare -m sh -c '
	    mount --bind "$0/modules" /usr/share/p11-kit/modules || exit 97
	    if [ -d /etc/pkcs11/modules ]; then
		mount --bind "$0/empty" /etc/pkcs11/modules || exit 97
	    fi
	    exec "$@"' "$T" "$@"
}

# sshd_exec [ENV=VALUE...]: our sshd on $PORT in the foreground.
sshd_exec()
{
	exec env "$@" /usr/sbin/sshd -D -e -f "$T/sshd/sshd_config" -p "$PORT"
}

# start_sshd: sshd on 127.0.0.1:SSH_PORT with a private host key and
# config, trusting $SSH_AK (AuthorizedKeysFile), letting in $SSH_USER.
# As root the login user is a dedicated non-root user (widtest); as
# another user, that user.
start_sshd()
{
	need /usr/sbin/sshd ssh ssh-keygen
	if [ "$(id -u)" -eq 0 ]; then
		SSH_USER=widtest
		ensure_user "$SSH_USER"
		mkdir -p /run/sshd
	else
		SSH_USER=$(id -un)
	fi
	mkdir -p "$T/sshd"
	chmod 0755 "$T/sshd"
	SSH_AK="$T/sshd/authorized_keys"
	: >"$SSH_AK"
	chmod 0644 "$SSH_AK"
	ssh-keygen -q -t ed25519 -N '' -f "$T/sshd/host_key" ||
	    fail "ssh-keygen host key"
	cat >"$T/sshd/sshd_config" <<EOF
ListenAddress 127.0.0.1
HostKey $T/sshd/host_key
PidFile none
AuthorizedKeysFile $SSH_AK
StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers $SSH_USER
X11Forwarding no
AllowAgentForwarding no
AllowTcpForwarding no
LogLevel VERBOSE
EOF
	# SSHD_EXTRA: more sshd_config lines from the test (e.g.
	# TrustedUserCAKeys).
	[ -z "${SSHD_EXTRA:-}" ] ||
	    printf '%s\n' "$SSHD_EXTRA" >>"$T/sshd/sshd_config"
	/usr/sbin/sshd -t -f "$T/sshd/sshd_config" 2>"$T/sshd-t.err" ||
	    { cat "$T/sshd-t.err" >&2; fail "sshd -t rejects the config"; }
	start_server "$T/sshd.log" "Server listening on 127.0.0.1 port" \
	    sshd_exec
	SSH_PORT=$PORT
	SSHD_PID=$SERVER_PID
	say "sshd pid $SSHD_PID on 127.0.0.1:$SSH_PORT for $SSH_USER"
}

# sshd_logged PUBFILE [PATTERN]: sshd's log has a login with exactly this
# key (and a line matching PATTERN, e.g. a signature algorithm).
sshd_logged()
{
	_fp=$(ssh-keygen -l -f "$1" | awk '{print $2}')
	[ -n "$_fp" ] || fail "no fingerprint for $1"
	grep "Accepted publickey for $SSH_USER " "$T/sshd.log" |
	    grep -F " $_fp" | grep -q -e "${2:-}"
}

# accepted_with PUBFILE [PATTERN]: as sshd_logged, a check that passes or
# fails the test.
accepted_with()
{
	sshd_logged "$@" ||
	    { cat "$T/sshd.log"; fail "sshd did not log a ${2:-} login with $_fp"; }
	pass "sshd accepted the key $_fp ${2:-}"
}

# ssh_cmd [ssh options...]: the ssh client against our sshd, no user
# config, no agent, no prompts.
ssh_cmd()
{
	ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes \
	    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	    -o ConnectTimeout=10 -o LogLevel=ERROR \
	    -p "$SSH_PORT" "$@"
}

# start_ssh_agent: ssh-agent on $T/ssh-agent.sock that accepts providers
# outside /usr/lib (-P).  Sets SSH_AUTH_SOCK, SSH_AGENT_PID.
start_ssh_agent()
{
	need ssh-agent ssh-add
	SSH_AUTH_SOCK="$T/ssh-agent.sock"
	# -D: foreground, so $! is the agent itself.
	ssh-agent -D -P '/**' -a "$SSH_AUTH_SOCK" >>"$T/ssh-agent.log" 2>&1 &
	SSH_AGENT_PID=$!
	track "$SSH_AGENT_PID"
	export SSH_AUTH_SOCK SSH_AGENT_PID
	wait_for 10 test -S "$SSH_AUTH_SOCK" || fail "ssh-agent did not start"
	# ssh-add -s always asks for a PIN; wid needs none: answer empty.
	printf '#!/bin/sh\necho\n' >"$T/askpass"
	chmod 0755 "$T/askpass"
}

# ssh_add_module: load $WID_MODULE into our ssh-agent.
ssh_add_module()
{
	SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force \
	    ssh-add -s "$WID_MODULE" </dev/null
}

# raw SOCKET HEX...: connect to SOCKET, send the bytes, half-close, print
# the reply in hex (empty when the agent closed without one; TIMEOUT when
# it neither answered nor closed within 10 s).  Perl is Essential in
# Debian; IO::Socket::UNIX is in perl-base.
RAW_PL='
    my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => shift @ARGV)
        or die "connect: $!\n";
    binmode $s;
    syswrite($s, pack("H*", $_)) for @ARGV;
    shutdown($s, 1);
    local $SIG{ALRM} = sub { print "TIMEOUT\n"; exit 0 };
    alarm 10;
    my ($buf, $all) = ("", "");
    $all .= $buf while sysread($s, $buf, 65536);
    print unpack("H*", $all), "\n";'
raw() { perl -MIO::Socket::UNIX -e "$RAW_PL" "$@"; }

# reply_status HEX: the status field of a raw reply (4 hex digits), or
# "none" when there was no complete header.
reply_status()
{
	case $1 in
	????????01??????*) echo "$1" | cut -c13-16 ;;
	*) echo none ;;
	esac
}

# sign_frame SERIAL: a raw SIGN request (CKM_ECDSA over a 32-byte digest)
# for the key with this serial, as hex.
sign_frame()
{
	printf '%08x01020000%016x000010410100000000000020%s\n' 56 "$1" \
	    5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a
}

# serial_of ID: the key serial `wid-tool task show` reports.
serial_of()
{
	wid_tool task show "$1" | awk '$1 == "serial:" { print $2 }'
}

# Outcome: print a summary line.  Call at the end of each test.
done_ok()
{
	echo "PASS: $TEST_NAME: $_checks checks"
	exit 0
}
