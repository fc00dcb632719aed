#!/bin/sh
# tests/tpm/swtpm.sh: start and stop one swtpm (TPM 2.0) on a Unix socket
# in a test directory, by PID.  Never stops a process by name.
#
#   swtpm.sh start DIR   start swtpm with state in DIR; prints the TCTI
#                        string (swtpm:path=DIR/sock); the PID goes to
#                        DIR/swtpm.pid.  An existing state in DIR is kept,
#                        so start after stop is a TPM reset (power cycle).
#   swtpm.sh stop DIR    stop the swtpm whose PID is in DIR/swtpm.pid.
#
# The swtpm TCTI of tpm2-tss 3.2 talks to DIR/sock and to its control
# channel at DIR/sock.ctrl.
set -eu

cmd=${1:?usage: swtpm.sh start|stop DIR}
dir=${2:?usage: swtpm.sh start|stop DIR}

case $cmd in
start)
	mkdir -p "$dir"
	rm -f "$dir/sock" "$dir/sock.ctrl" "$dir/swtpm.pid"
	swtpm socket --tpm2 \
		--server type=unixio,path="$dir/sock" \
		--ctrl type=unixio,path="$dir/sock.ctrl" \
		--tpmstate dir="$dir" \
		--flags not-need-init,startup-clear \
		--pid file="$dir/swtpm.pid" \
		--log file="$dir/swtpm.log" \
		--daemon
	i=0
	while [ ! -S "$dir/sock" ] || [ ! -s "$dir/swtpm.pid" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			echo "swtpm did not start" >&2
			exit 1
		fi
		sleep 0.05
	done
	echo "swtpm:path=$dir/sock"
	;;
stop)
	[ -s "$dir/swtpm.pid" ] || exit 0
	pid=$(cat "$dir/swtpm.pid")
	case $pid in
	''|*[!0-9]*) echo "bad pid file" >&2; exit 1 ;;
	esac
	kill "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			kill -9 "$pid" 2>/dev/null || true
			break
		fi
		sleep 0.05
	done
	rm -f "$dir/swtpm.pid" "$dir/sock" "$dir/sock.ctrl"
	;;
*)
	echo "usage: swtpm.sh start|stop DIR" >&2
	exit 2
	;;
esac
