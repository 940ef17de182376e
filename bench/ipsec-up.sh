#!/bin/bash
# bench/ipsec-up.sh - `up` of N peers with encryption = ipsec against N plain peers on
# one gateway (issue 11): charon's load time (connections and keys over VICI; no
# peer answers, so no handshake is counted: charon initiates in the background).
#   tests/vm/run -- bench/ipsec-up.sh [N] [REPS]     (default 100 peers, 3 runs)
# Prints median wall times: up plain, up ipsec, charon's own load of the same
# connections by swanctl (from `gatewayctl plan`'s fragments), a second unchanged up.
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
# swanctl.conf equivalent to ipsec.ini, from gatewayctl plan's fragments (one
# connections block per peer, the secrets with the key itself): charon's own
# load time for the same connections, through strongSwan's own client
plan_conf() {
	GATEWAYCTL_RUNDIR=$tmp/planrun "$bin" plan "$tmp/ipsec.ini" 2>/dev/null | awk -v psk="$(cat "$tmp/psk")" '
		/^(connections|secrets) \{$/ { inblk = 1; depth = 0 }
		inblk { sub(/secret = <[^>]*>/, "secret = \"" psk "\""); out = out $0 "\n"
			depth += gsub(/\{/, "{"); depth -= gsub(/\}/, "}"); if (depth == 0) inblk = 0; next }
		END { printf "%s", out }'
}
mkdir -p "$tmp/planrun"
plan_conf >"$tmp/swanctl.conf"
[ "$(grep -c '^connections {' "$tmp/swanctl.conf")" = "$n" ] || { echo "bench/ipsec-up.sh: plan gave no swanctl.conf of $n connections" >&2; exit 1; }

# one KIND: seconds of one run in a fresh namespace with its own charon.
# KIND: plain | ipsec (gatewayctl up) | again (a second, unchanged ipsec up) |
# swanctl (swanctl --load-conns --load-creds of the same connections)
one() {
	ip netns add "$ns"
	ip -n "$ns" link add eth0 type dummy
	ip -n "$ns" link add eth1 type dummy
	ip -n "$ns" addr add 192.168.1.126/24 dev eth0
	ip -n "$ns" addr add 172.16.1.12/16 dev eth1
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link set eth1 up
	mkdir -p "$tmp/run"
	rm -rf "${tmp:?}/run"/*
	ip netns exec "$ns" unshare -m --propagation private sh -c '
		mount --bind "$1" /run
		/usr/lib/ipsec/charon >/dev/null 2>&1 &
		charon=$!
		for i in $(seq 100); do swanctl --stats >/dev/null 2>&1 && break; sleep 0.2; done
		up() { GATEWAYCTL_RUNDIR=/run/gw "$2" up "$3/$1.ini" >/dev/null || echo "up failed" >&2; }
		case $4 in
		again) up ipsec "$2" "$3" ;;
		esac
		t0=$(date +%s.%N)
		case $4 in
		plain) up plain "$2" "$3" ;;
		ipsec | again) up ipsec "$2" "$3" ;;
		swanctl) swanctl --load-all --noprompt --file "$3/swanctl.conf" >"$3/swanctl.out" 2>&1 || echo "swanctl failed" >&2
			grep -q "successfully loaded $5 connections" "$3/swanctl.out" &&
				[ "$(grep -c "loaded ike secret" "$3/swanctl.out")" = "$5" ] ||
				{ echo "swanctl did not load every connection and secret:" >&2; grep -v "^plugin" "$3/swanctl.out" | tail -5 >&2; } ;;
		esac
		t1=$(date +%s.%N)
		awk -v a="$t0" -v b="$t1" "BEGIN { printf \"%.3f\\n\", b - a }"
		kill "$charon" 2>/dev/null; wait "$charon" 2>/dev/null' _ "$tmp/run" "$bin" "$tmp" "$1" "$n"
	ip netns del "$ns"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for kind in plain ipsec again swanctl; do
	for r in $(seq "$reps"); do one "$kind"; done | median >"$tmp/$kind.t"
done
p=$(cat "$tmp/plain.t") s=$(cat "$tmp/ipsec.t") a=$(cat "$tmp/again.t") w=$(cat "$tmp/swanctl.t")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "## up of $n peers, median of $reps runs, a fresh namespace and charon each"
echo
echo "| run | wall s | against plain |"
echo "|---|---:|---:|"
echo "| up, plain IPIP | $p | 1.00 |"
echo "| up, ipsec (PSK) | $s | $(ratio "$s" "$p") |"
echo "| ... the ipsec part alone (ipsec - plain) | $(awk -v a="$s" -v b="$p" 'BEGIN { printf "%.3f", a - b }') | |"
echo "| charon's own load of the same $n connections and keys (swanctl --load-all) | $w | $(ratio "$w" "$p") |"
echo "| a second up, nothing changed (nothing resent to charon) | $a | $(ratio "$a" "$p") |"
