#!/bin/bash
# bench/hub.sh - many sites (issue 13): the cross-site check of a large mesh, and
# a hub with 1000 spokes.
#
#   bench/hub.sh [--quick] [--sites S] [--reps R] [--n N] [--only check|hub]
#
# 1. Here (no privileges, no kernel): S site files of a full mesh (S-1 peers
#    each), plain and with one PSK file per pair (tests/crosscheck/gen-mesh.py),
#    checked as one network by ./gatewayctl check: median wall and CPU time of R
#    runs. Target: 200 sites in under 2 s.
# 2. Where the kernel has ipip (tests/vm/run: here or in the VM): one gateway
#    with N peers (bench/provision.sh --no-a): up, status and down against the
#    standard tools' batch path (ip -batch + nft -f; ip -d -s link show type ipip,
#    ip route show, nft list table; ip -batch of link deletions). Targets at
#    N = 1000: status 2x, down 5x, up 1.5x faster.
# --quick: S = 50, N = 100, R = 2.
set -eu

here=$(cd "$(dirname "$0")" && pwd -P)
root=$(cd "$here/.." && pwd -P)
cd "$root"
sites=200 reps=3 n=1000 only=''

while [ $# -gt 0 ]; do
	case $1 in
	--quick) sites=50 reps=2 n=100; shift ;;
	--sites) sites=$2; shift 2 ;;
	--reps) reps=$2; shift 2 ;;
	--n) n=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	*) echo "hub.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
GWCTL=${GWCTL:-$root/gatewayctl}
export GWCTL
[ -x "$GWCTL" ] || { echo "hub.sh: no $GWCTL (make gatewayctl)" >&2; exit 2; }

tmp=$(mktemp -d /tmp/gwbench-hub.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# --- 1. the cross-site check --------------------------------------------------------
if [ "$only" != hub ]; then
echo "## Cross-site check: $sites sites, full mesh ($((sites - 1)) peers each), $reps runs, here"
echo "# $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
python3 tests/crosscheck/gen-mesh.py "$sites" "$tmp/plain"
python3 tests/crosscheck/gen-mesh.py "$sites" "$tmp/psk" --psk "$tmp/keys"
echo
echo "| files | wall ms (median) | CPU ms (user + sys, median) | target < 2000 ms |"
echo "|---|---:|---:|---|"
for kind in plain psk; do
	walls='' cpus=''
	for ((r = 0; r < reps; r++)); do
		/usr/bin/time -f '%e %U %S' -o "$tmp/time" "$GWCTL" check "$tmp/$kind"/*.ini >"$tmp/out" 2>&1 ||
			{ echo "hub.sh: the generated $kind mesh does not pass check:" >&2; head "$tmp/out" >&2; exit 1; }
		read -r e u s <"$tmp/time"
		walls="$walls $e" cpus="$cpus $(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')"
	done
	med() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
	w=$(med <<<"$walls") c=$(med <<<"$cpus")
	awk -v k="$kind" -v w="$w" -v c="$c" -v s="$sites" 'BEGIN {
		printf "| %d %s | %.0f | %.0f | %s |\n", s, (k == "psk" ? "with a PSK file per pair" : "plain"), w * 1000, c * 1000,
			(w < 2 ? "MET" : (c < 2 ? "met in CPU time (wall time over: a loaded machine)" : "MISSED")) }'
done

fi

# --- 2. one gateway with N peers --------------------------------------------------
[ "$only" != check ] || exit 0
echo
echo "## A hub with $n spokes: up, status, down against ip -batch + nft -f ($reps runs)"
echo "# gatewayctl: $GWCTL"
tests/vm/run --timeout 2400 -- "echo \"# kernel \$(uname -r), \$(nproc) CPU(s)\"; GWCTL=$GWCTL bench/provision.sh --n $n --reps $reps --no-a"
