# shellcheck shell=bash
# tests/kernel/lib/syslog.sh - gatewayctl's syslog lines in a file. Source after
# gw.sh, then call syslog_setup (after lab_setup and the EXIT trap: it adds its
# listener to T_PIDS).
#
# gatewayctl in the gateways then runs in a mount namespace of its own whose
# /dev is a copy with /dev/log a socket of ours (a detached watcher keeps its
# mount namespace): every line it logs lands in $SYSLOG. gw() is redefined to
# run that way; gw_argv NS sets GW_ARGV to the same command line (for setsid).

syslog_setup() {
	local n
	DEVDIR=$T_TMP/dev
	SYSLOG=$T_TMP/syslog.txt
	mkdir -p "$DEVDIR"
	for n in null zero full random urandom tty; do : >"$DEVDIR/$n"; done
	ln -s /proc/self/fd "$DEVDIR/fd"
	: >"$SYSLOG"
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(65536).decode(errors="replace").rstrip("\n") + "\n")
' "$DEVDIR/log" "$SYSLOG" &
	T_PIDS="$T_PIDS $!"
	wait_for 5 test -S "$DEVDIR/log" || fail "the syslog listener did not start"
}

gw_argv() { # NS: sets GW_ARGV
	GW_ARGV=(unshare -m --propagation private sh -c '
		d=$1; shift
		for n in null zero full random urandom tty; do mount --bind "/dev/$n" "$d/$n"; done
		mount --rbind "$d" /dev
		exec "$@"' sh "$DEVDIR" ip netns exec "${LAB_PREFIX}$1"
		env GATEWAYCTL_RUNDIR="$(gw_rundir "$1")" GATEWAYCTL_LIBDIR="$(gw_libdir "$1")" "$GWCTL")
	mkdir -p "$(gw_rundir "$1")"
}

gw() { # NS ARGS...
	gw_argv "$1"
	shift
	"${GW_ARGV[@]}" "$@"
}
