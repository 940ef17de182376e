# shellcheck shell=bash
# tests/kernel/lib/syslog.sh - gatewayctl's syslog lines in a file. Source after
# gw.sh, then call syslog_setup (after lab_setup and the EXIT trap: it adds its
# listener to T_PIDS).
#
# gatewayctl in the gateways then runs in a mount namespace whose /dev is a
# copy with /dev/log a socket of ours (a detached watcher keeps its mount
# namespace): every line it logs lands in $SYSLOG. gw() is redefined to run
# that way; gw_argv NS sets GW_ARGV to the same command line (for setsid). The
# mount namespace is made once and held by a sleep (SYSLOG_HOLDER); each
# gatewayctl enters it (nsenter, which then execs: the same process), instead
# of nine processes making one per run. With its root (--root): in the VM the
# tests run chrooted in the shared root, and a mount namespace's own root is
# the initramfs (busybox's ip).

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
	# the mount namespace (a slave of this one: the lab's network namespaces
	# made later, in /run/netns, appear there too)
	# shellcheck disable=SC2016 # sh expands them
	unshare -m --propagation slave sh -c '
		d=$1
		for n in null zero full random urandom tty; do mount --bind "/dev/$n" "$d/$n"; done
		mount --rbind "$d" /dev
		exec sleep infinity' sh "$DEVDIR" &
	SYSLOG_HOLDER=$!
	T_PIDS="$T_PIDS $SYSLOG_HOLDER"
	wait_for 10 grep -qx sleep "/proc/$SYSLOG_HOLDER/comm" || fail "the mount namespace for syslog was not made"
}

gw_argv() { # NS: sets GW_ARGV
	GW_ARGV=(nsenter --target "$SYSLOG_HOLDER" --mount --root --wd="$PWD" -- ip netns exec "${LAB_PREFIX}$1"
		env GATEWAYCTL_RUNDIR="$T_TMP/run-$1" GATEWAYCTL_LIBDIR="$T_TMP/lib-$1" "$GWCTL")
	[ -d "$T_TMP/run-$1" ] || mkdir -p "$T_TMP/run-$1"
}

gw() { # NS ARGS...
	gw_argv "$1"
	shift
	"${GW_ARGV[@]}" "$@"
}
