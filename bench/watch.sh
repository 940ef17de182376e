#!/bin/bash
# bench/watch.sh - repair latency of `gatewayctl watch` (issue 20): the time from
# a drift (route deleted, table deleted, relay killed) to the site whole again,
# against the baseline of a manual `up` (which never comes by itself: the best a
# person or a script can do is run it at once, and that is what is timed here:
# from the drift to the end of an `up` started right after it).
#   tests/vm/run -- bench/watch.sh [REPS]     (default 10 of each)
# Times come from the kernel's own notifications (ip monitor, nft monitor),
# stamped as they arrive, for both: from the drift's first event to the last
# event of its repair. The relay has no notification: its return is polled
# from the kill with shell builtins. Prints medians and the ratio watch / up.
set -eu
cd "$(dirname "$0")/.."
reps=${1:-10}
bin=$PWD/gatewayctl
[ -x "$bin" ] || { echo "bench/watch.sh: make first" >&2; exit 1; }
tmp=$(mktemp -d)
ns=gwbench-watch-$$
pids=''
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

ip netns add "$ns"
ip -n "$ns" link add eth0 type dummy
ip -n "$ns" link add eth1 type dummy
ip -n "$ns" addr add 192.168.1.126/24 dev eth0
ip -n "$ns" addr add 172.16.1.12/27 dev eth1
ip -n "$ns" link set lo up
ip -n "$ns" link set eth0 up
ip -n "$ns" link set eth1 up
ip -n "$ns" route add default via 172.16.1.30
cp sites/manhattan.ini "$tmp/m.ini"
chmod 644 "$tmp/m.ini"
mkdir -p "$tmp/run" "$tmp/lib"
chmod 700 "$tmp/lib"
export GATEWAYCTL_RUNDIR=$tmp/run GATEWAYCTL_LIBDIR=$tmp/lib
in_ns() { ip netns exec "$ns" "$@"; }

now_us() { echo "${EPOCHREALTIME/./}"; }
stamp() { while IFS= read -r l; do printf '%s %s\n' "${EPOCHREALTIME/./}" "$l"; done; }
EV=$tmp/events.txt
: >"$EV"
in_ns stdbuf -oL ip monitor link route netconf > >(stamp >>"$EV") 2>&1 &
pids="$pids $!"
in_ns stdbuf -oL nft monitor > >(stamp >>"$EV") 2>&1 &
pids="$pids $!"
sleep 1

whole() {
	in_ns ip -4 route show 192.168.2.0/24 | grep -q gw-brooklyn &&
		in_ns nft list table ip gatewayctl-manhattan >/dev/null 2>&1 && relay_pid >/dev/null
}
PRIV=''
relay_pid() {
	local p='' st=''
	read -r p <"$PRIV/manhattan.relay.pid" 2>/dev/null || [ -n "$p" ] || return 1
	{ read -r st <"/proc/$p/stat"; } 2>/dev/null || return 1
	st=${st##*) }
	case ${st%% *} in S | R) echo "$p" ;; *) return 1 ;; esac
}

# one KIND HOW: microseconds from the drift to repaired; HOW is watch (the
# watcher runs) or up (an up started as soon as the drift is done)
one() {
	local kind=$1 how=$2 mark first last old new t0
	mark=$(wc -l <"$EV")
	case $kind in
	route) in_ns ip route del 192.168.2.0/24 ;;
	table) in_ns nft delete table ip gatewayctl-manhattan ;;
	relay)
		old=$(relay_pid)
		t0=$(now_us)
		kill -9 "$old"
		[ "$how" = up ] && in_ns "$bin" up "$tmp/m.ini" >/dev/null
		while :; do
			new=$(relay_pid) && [ "$new" != "$old" ] && break
			[ $(($(now_us) - t0)) -lt 20000000 ] || { echo "bench/watch.sh: no new relay" >&2; exit 1; }
		done
		echo $(($(now_us) - t0))
		return
		;;
	esac
	[ "$how" = up ] && in_ns "$bin" up "$tmp/m.ini" >/dev/null
	for _ in $(seq 100); do whole && break; sleep 0.1; done
	sleep 0.3
	first=$(tail -n +"$((mark + 1))" "$EV" | head -n 1 | cut -d' ' -f1)
	last=$(tail -n +"$((mark + 1))" "$EV" | tail -n 1 | cut -d' ' -f1)
	echo $((last - first))
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# the baseline first: up run by hand at once
in_ns "$bin" up "$tmp/m.ini" >/dev/null
for PRIV in "$tmp"/run/ns-*/private; do :; done	# (a glob: no process per poll)
for kind in route table relay; do
	for _ in $(seq "$reps"); do one $kind up; done | median >"$tmp/up-$kind"
done
# then the watcher
# (ip netns exec execs the watcher: $! is its pid)
ip netns exec "$ns" "$bin" watch "$tmp/m.ini" 2>"$tmp/watch.log" &
wpid=$!
pids="$pids $wpid"
for _ in $(seq 100); do [ -n "$(ls "$tmp"/run/ns-*/manhattan.watch 2>/dev/null)" ] && break; sleep 0.1; done
sleep 1
for kind in route table relay; do
	for _ in $(seq "$reps"); do one $kind watch; sleep 0.2; done | median >"$tmp/watch-$kind"
done
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$wpid/status")
kill "$wpid"
wait "$wpid" 2>/dev/null || true

printf '# watch: repair latency, median of %d, ms (from the kernel'"'"'s notifications; relay: kill to new relay)\n' "$reps"
printf '%-8s %10s %22s %8s\n' drift watch "up at once (by hand)" ratio
for kind in route table relay; do
	w=$(cat "$tmp/watch-$kind") u=$(cat "$tmp/up-$kind")
	awk -v k="$kind" -v w="$w" -v u="$u" 'BEGIN { printf "%-8s %10.1f %22.1f %8.2f\n", k, w / 1000, u / 1000, w / u }'
done
echo "# without the watcher nothing repairs by itself: the up column is the best case of a person (or a"
echo "# script) reacting at once; a cron job running up every minute waits 30 s on average. The watcher's RSS: $rss kB"
echo "# repairs the watcher logged: $(grep -c 'repaired [0-9]* ms' "$tmp/watch.log" || true) (expected $((3 * reps)))"
