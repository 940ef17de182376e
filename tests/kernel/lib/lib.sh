# shellcheck shell=bash
# tests/kernel/lib/lib.sh - helpers for the kernel test scripts (bash, run as root).
#
#   . "$(dirname "$0")/lib/lib.sh"     # sources tests/lab/lab.sh too; skips (77) unless root
#   t_need_ipip                    # skip (77) unless this kernel can create ipip links
#   lab_setup [--bare]             # lab_up, and lab_down on exit, interrupt or failure
#   ok MSG / fail MSG              # count a result and print it
#   expect_eq ACTUAL EXPECTED MSG
#   expect_ok MSG CMD... / expect_fail MSG CMD...    # CMD must succeed / must fail
#   expect_ping NS ADDR [MSG] / expect_no_ping NS ADDR [MSG]
#   wait_for SECONDS CMD...        # poll CMD every 0.1 s; status 0 once it succeeds
#   t_nap SECONDS                  # sleep without a process
#   t_bg NS CMD...                 # a background process in a lab namespace, killed at exit
#   t_done                         # prints "N passed, N failed"; exit 1 on any failure
#
# Output is plain text: "ok - MSG" / "FAIL - MSG" (with details indented below), and
# one last line "N passed, N failed". Set V=1 to see every command's output.
# Namespaces are named "gwt-<script>-<name>" unless LAB_PREFIX is set, so that
# different scripts can run side by side and a re-run removes a crashed run's leftovers.

T_NAME=$(basename "$0" .sh)
T_PASS=0
T_FAIL=0
T_PIDS=''

if [ -z "${LAB_PREFIX:-}" ]; then
	LAB_PREFIX="gwt-$(printf '%s' "$T_NAME" | tr -c 'a-zA-Z0-9' '_')-"
fi
# shellcheck source=tests/lab/lab.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../lab/lab.sh"

t_skip() {
	echo "SKIP - $T_NAME: $*"
	exit 77
}

[ "$(id -u)" = 0 ] || t_skip "needs root"

ok() {
	T_PASS=$((T_PASS + 1))
	echo "ok - $*"
}

fail() {
	T_FAIL=$((T_FAIL + 1))
	echo "FAIL - $*"
}

# details under a result, indented
t_note() {
	sed 's/^/    /'
}

t_log() {
	if [ "${V:-0}" = 1 ]; then echo "# $*"; fi
	return 0
}

expect_eq() { # ACTUAL EXPECTED MSG
	if [ "$1" = "$2" ]; then
		ok "$3"
	else
		fail "$3"
		printf 'expected: %s\nactual:   %s\n' "$2" "$1" | t_note
	fi
}

# expect_ok MSG CMD...: CMD must exit 0; its output is shown when it does not
expect_ok() {
	local msg=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	if [ $rc = 0 ]; then
		ok "$msg"
		if [ "${V:-0}" = 1 ] && [ -n "$out" ]; then printf '%s\n' "$out" | t_note; fi
	else
		fail "$msg"
		{
			echo "command (status $rc): $*"
			printf '%s\n' "$out"
		} | t_note
	fi
}

# expect_fail MSG CMD...: CMD must exit non-zero
expect_fail() {
	local msg=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	if [ $rc != 0 ]; then
		ok "$msg"
	else
		fail "$msg"
		{
			echo "command succeeded but should not have: $*"
			printf '%s\n' "$out"
		} | t_note
	fi
}

# one echo request answered within a second, three tries (the first may wait for ARP)
_t_ping() {
	local _
	for _ in 1 2 3; do
		lab_exec "$1" ping -n -q -c 1 -W 1 "$2" >/dev/null 2>&1 && return 0
	done
	return 1
}

expect_ping() { # NS ADDR [MSG]
	if _t_ping "$1" "$2"; then
		ok "${3:-$1 pings $2}"
	else
		fail "${3:-$1 pings $2}"
		lab_exec "$1" ping -n -c 1 -W 1 "$2" 2>&1 | t_note
	fi
}

expect_no_ping() { # NS ADDR [MSG]
	if lab_exec "$1" ping -n -q -c 2 -i 0.2 -W 1 "$2" >/dev/null 2>&1; then
		fail "${3:-$1 must not reach $2}"
	else
		ok "${3:-$1 must not reach $2}"
	fi
}

# t_nap SECONDS: a pause without a sleep process (a process start costs 70 ms
# of the VM's emulated CPU, most of a 0.1 s poll: CPU that what is awaited needs)
t_nap() {
	if [ -z "${_T_NAP_FD:-}" ]; then
		local f
		f=$(mktemp -u /tmp/gwt-nap.XXXXXX)
		mkfifo "$f"
		exec {_T_NAP_FD}<>"$f"
		rm -f "$f"
	fi
	read -r -t "$1" -u "$_T_NAP_FD" _ || true
}

wait_for() { # SECONDS CMD...
	local tries=$(($1 * 10))
	shift
	while [ $tries -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		t_nap 0.1
		tries=$((tries - 1))
	done
	return 1
}

t_bg() { # NS CMD...
	lab_exec "$@" &
	T_PIDS="$T_PIDS $!"
}

# shellcheck disable=SC2317 # called by trap
t_cleanup() {
	local pid
	for pid in $T_PIDS; do kill "$pid" 2>/dev/null || true; done
	T_PIDS=''
	if [ "${LAB_KEEP:-0}" = 1 ]; then
		echo "# LAB_KEEP=1: the lab stays up (prefix $LAB_PREFIX); tests/lab/lab down removes it" >&2
	else
		lab_down
	fi
}

lab_setup() { # [--bare]
	trap t_cleanup EXIT
	trap 'echo "$T_NAME: interrupted" >&2; exit 130' INT TERM HUP
	if ! lab_up "$@"; then
		fail "lab_up $*"
		t_done
	fi
}

# Can this kernel create an ipip link? (tried in a scratch namespace)
t_need_ipip() {
	local ns="gwt-probe-$$"
	ip netns add "$ns" || t_skip "cannot create a network namespace"
	if ! ip -n "$ns" link add gwtprobe type ipip local 192.0.2.1 remote 192.0.2.2 2>/dev/null; then
		ip netns del "$ns"
		t_skip "this kernel has no ipip: run it with tests/vm/run -- $0"
	fi
	ip netns del "$ns"
}

t_done() {
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" = 0 ] && exit 0
	exit 1
}
