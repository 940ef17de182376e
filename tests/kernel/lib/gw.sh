# shellcheck shell=bash
# tests/kernel/lib/gw.sh - running gatewayctl in the lab's gateways, and comparing
# kernel state. Source after lib.sh.
#
#   gw NS ARGS...            gatewayctl ARGS in namespace NS (m-gw, b-gw), with a
#                            run directory and a persistent directory of that
#                            gateway's own
#   snap NS                  the kernel state gatewayctl may touch, as text: links,
#                            addresses, routes, rules, the nftables ruleset, forwarding
#   snap_nocount NS          the same without nft counter values
#   snap_norm NS             without indexes, handles and counters either
#   site_file NAME <<EOF     a site file in the test's scratch dir (mode 644); prints its path

# which build: the sanitizers' (build/test/gatewayctl) for the tests listed in
# lib/sanitized, the plain one (./gatewayctl) for the others;
# GATEWAYCTL_KERNEL_SANITIZE=all or none for every test, GWCTL=PATH for one binary
gw_sanitized() { # NAME: is NAME's gatewayctl the sanitizers' build?
	case ${GATEWAYCTL_KERNEL_SANITIZE:-list} in
	all) return 0 ;;
	none) return 1 ;;
	esac
	grep -q "^$1[[:space:]]" "$(dirname "${BASH_SOURCE[0]}")/sanitized"
}
if [ -z "${GWCTL:-}" ]; then
	if gw_sanitized "$T_NAME"; then GWCTL=$PWD/build/test/gatewayctl; else GWCTL=$PWD/gatewayctl; fi
fi
if [ ! -x "$GWCTL" ]; then
	for b in "$PWD/gatewayctl" "$PWD/build/test/gatewayctl"; do [ -x "$b" ] && GWCTL=$b && break; done
	[ -x "$GWCTL" ] || t_skip "no gatewayctl binary: run make gatewayctl test-build first"
	echo "# $T_NAME: the build it runs is missing (make gatewayctl test-build): $GWCTL instead"
fi
T_TMP=$(mktemp -d "/tmp/gwt-$T_NAME.XXXXXX")
# gatewayctl run without gw() keeps its persistent files here too, never in the
# machine's /var/lib/gatewayctl
export GATEWAYCTL_LIBDIR=$T_TMP/lib
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:exitcode=99}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:exitcode=99}

# (no mkdir and no env process when not needed: a process costs about 70 ms of
# an emulated CPU, and the tests run gatewayctl hundreds of times)
gw() { # NS ARGS...
	local ns=$1
	shift
	[ -d "$T_TMP/run-$ns" ] || mkdir -p "$T_TMP/run-$ns"
	GATEWAYCTL_RUNDIR="$T_TMP/run-$ns" GATEWAYCTL_LIBDIR="$T_TMP/lib-$ns" lab_exec "$ns" "$GWCTL" "$@"
}

# the run directory given to gatewayctl in NS (GATEWAYCTL_RUNDIR), and its
# persistent directory (GATEWAYCTL_LIBDIR: confirmed copies, pending changes)
gw_rundir() { echo "$T_TMP/run-$1"; }
gw_libdir() { echo "$T_TMP/lib-$1"; }

# NS's network namespace cookie (SO_NETNS_COOKIE), read independently of gatewayctl
netns_cookie() { # NS
	lab_exec "$1" python3 -c 'import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
print(int.from_bytes(s.getsockopt(socket.SOL_SOCKET, 71, 8), "little"))'
}

# where gatewayctl keeps NS's state (one directory per network namespace), and
# its root-only part (locks, pid files)
gw_statedir() { echo "$(gw_rundir "$1")/ns-$(netns_cookie "$1")"; }
gw_privdir() { echo "$(gw_statedir "$1")/private"; }

# (one `ip netns exec` for the six commands: each costs tens of milliseconds of
# an emulated CPU, and the tests take hundreds of snapshots)
snap() { # NS
	lab_exec "$1" sh -c 'echo "# links"; ip -d link show
		echo "# addresses"; ip addr show
		echo "# routes"; ip -d route show table all
		echo "# IPv6 routes"; ip -6 -d route show table all
		echo "# rules"; ip rule show
		echo "# nftables"; nft -a list ruleset
		echo "# sysctl"; sysctl -n net.ipv4.ip_forward net.ipv4.conf.all.rp_filter
		sysctl -n net.ipv6.conf.all.forwarding 2>/dev/null' 2>&1
}

# without what legitimately differs between two equal set-ups made at different
# times: interface indexes, nft handles and counter values
snap_norm() { # NS
	snap "$1" | sed -E 's/^[0-9]+: //; s/ # handle [0-9]+//; s/counter packets [0-9]+ bytes [0-9]+/counter/; s/@if[0-9]+/@if/; s/ link-netnsid [0-9]+//'
}

snap_nocount() { # NS
	snap "$1" | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/'
}

# show_diff A B: the differences between two texts, indented (no /dev/fd needed)
show_diff() {
	printf '%s\n' "$1" >"$T_TMP/diff.a"
	printf '%s\n' "$2" >"$T_TMP/diff.b"
	diff "$T_TMP/diff.a" "$T_TMP/diff.b" | head -40 | t_note
}

# expect_same MSG A B: two snapshots are equal (the diff is shown when not)
expect_same() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1"
		show_diff "$2" "$3"
	fi
}

# expect_grep MSG PATTERN TEXT: TEXT contains the extended regex PATTERN
expect_grep() {
	if grep -qE -- "$2" <<<"$3"; then
		ok "$1"
	else
		fail "$1"
		{
			echo "pattern: $2"
			printf '%s\n' "$3"
		} | head -40 | t_note
	fi
}

site_file() { # NAME: the file's text on stdin
	local f="$T_TMP/$1.ini"
	cat >"$f"
	chmod 644 "$f"
	echo "$f"
}

gw_cleanup() {
	rm -rf "$T_TMP"
}

# watch_stop: end the watcher a test started in the background (its pid in
# WPID; none: nothing), and wait for it (watch.sh, watch-probe.sh)
WPID=''
# shellcheck disable=SC2317 # called by trap
watch_stop() {
	[ -n "$WPID" ] || return 0
	kill "$WPID" 2>/dev/null || true
	wait "$WPID" 2>/dev/null || true
	WPID=''
}
