#!/bin/bash
# bench/ipsec-up.sh - `up` of N peers with encryption = ipsec against N plain peers on
# one gateway (issue 11): charon's load time (connections and keys over VICI; no
# peer answers, so no handshake is counted: charon initiates in the background).
#   tests/vm/run -- bench/ipsec-up.sh [N] [REPS]     (default 100 peers, 3 runs)
# Prints the median wall time of `up` (a fresh namespace each run) and the ratio.
set -eu
cd "$(dirname "$0")/.."
n=${1:-100} reps=${2:-3}
bin=$PWD/gatewayctl
[ -x "$bin" ] || { echo "bench/ipsec-up.sh: make first" >&2; exit 1; }
tmp=$(mktemp -d)
ns=gwbench-ipsec-$$
held=''
cleanup() {
	[ -n "$held" ] && kill "$held" 2>/dev/null
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
(umask 077 && head -c 32 /dev/urandom | base64 >"$tmp/psk")
site() { # ENC: a site file of N peers
	echo "[site]"
	echo "name = hub"
	echo "lan = eth0"
	echo "lan_address = 192.168.1.126/24"
	echo "wan = eth1"
	echo "wan_address = 172.16.1.12/16"
	for i in $(seq 0 $((n - 1))); do
		printf '[peer p%d]\nendpoint = 10.%d.%d.1\nnetworks = 10.%d.%d.0/24\n' "$i" $((100 + i / 250)) $((i % 250)) \
			$((i / 250)) $((i % 250))
		[ "$1" = ipsec ] && printf 'encryption = ipsec\npsk_file = %s\n' "$tmp/psk"
		echo
	done
}
site none >"$tmp/plain.ini"
site ipsec >"$tmp/ipsec.ini"
chmod 644 "$tmp"/*.ini
one() { # FILE: seconds of one up in a fresh namespace (with its own charon)
	ip netns add "$ns"
	ip -n "$ns" link add eth0 type dummy
	ip -n "$ns" link add eth1 type dummy
	ip -n "$ns" addr add 192.168.1.126/24 dev eth0
	ip -n "$ns" addr add 172.16.1.12/16 dev eth1
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link set eth1 up
	mkdir -p "$tmp/run"
	rm -rf "$tmp/run"/*
	ip netns exec "$ns" unshare -m --propagation private sh -c '
		mount --bind "$1" /run
		STRONGSWAN_CONF=/etc/strongswan.conf /usr/lib/ipsec/charon >/dev/null 2>&1 &
		for i in $(seq 100); do swanctl --stats >/dev/null 2>&1 && break; sleep 0.2; done
		t0=$(date +%s.%N)
		GATEWAYCTL_RUNDIR=/run/gw "$2" up "$3" >/dev/null || echo "up failed" >&2
		t1=$(date +%s.%N)
		awk -v a="$t0" -v b="$t1" "BEGIN { printf \"%.3f\\n\", b - a }"
		kill %1 2>/dev/null; wait 2>/dev/null' _ "$tmp/run" "$bin" "$1"
	ip netns del "$ns"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for kind in plain ipsec; do
	for r in $(seq "$reps"); do one "$tmp/$kind.ini"; done | median >"$tmp/$kind.t"
done
p=$(cat "$tmp/plain.t") s=$(cat "$tmp/ipsec.t")
echo "up of $n peers: plain ${p} s, ipsec ${s} s (median of $reps); ipsec/plain $(awk -v a="$s" -v b="$p" 'BEGIN { printf "%.2f", a / b }')"
