#!/bin/bash
# bench/ipsec.sh - what encryption costs on the offices' path (issue 11): TCP
# throughput (iperf3, b-ws -> m-app) and ping RTT (b-ws -> m-app) over
#   plain IPIP, IPIP inside ESP transport mode with AES-256-GCM, the same with
#   ChaCha20-Poly1305 (strongSwan's charon, configured by hand as in
#   tests/kernel/ipsec-manual.sh), and WireGuard between the same gateways,
# all measured in one run, in turn, round after round, and printed side by side with
# their ratio to WireGuard's figures of the same run.
#
#   tests/vm/run -- bench/ipsec.sh [--quick] [--rounds N] [--seconds S]
#   bench/run ipsec
#
# Needs root, ipip, xfrm and wireguard in the kernel (the test VM has them:
# tests/vm/modules), charon, swanctl, wg, iperf3. Default: 2 rounds of 10 s of TCP
# and 20 pings per kind; --quick: 1 round, 4 s, 10 pings. Under TCG (the VM) every
# absolute figure is far below real hardware and moves with the host's load: compare
# the ratios, measured side by side. Each kind gets a fresh lab (namespaces gwb-*);
# the tunnel MTU is the largest that kind allows without fragmenting (IPIP 1480,
# ESP 1446, WireGuard's default 1420).
set -eu
cd "$(dirname "$0")/.."
rounds=2 secs=10 pings=20
while [ $# -gt 0 ]; do
	case $1 in
	--quick) rounds=1 secs=4 pings=10 ;;
	--rounds) rounds=$2; shift ;;
	--seconds) secs=$2; shift ;;
	-h | --help) sed -n '2,/^set -eu/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
	*) echo "bench/ipsec.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

LAB_PREFIX=gwb-
T_NAME=ipsec-bench
# shellcheck source=tests/kernel/lib/lib.sh
. tests/kernel/lib/lib.sh
t_need_ipip
# shellcheck source=tests/kernel/lib/lib-ipsec.sh
. tests/kernel/lib/lib-ipsec.sh
ipsec_need
for t in wg iperf3; do
	command -v "$t" >/dev/null || t_skip "'$t' is missing (make deps)"
done
IPSEC_START='trap'

# --- one kind of tunnel in a fresh lab ----------------------------------------------

setup_wireguard() {
	local gw me peer l r lan net
	for gw in m-gw b-gw; do
		(umask 077 && wg genkey >"$T_TMP/wg-$gw.key")
	done
	for gw in m-gw b-gw; do
		read -r me peer l r lan net <<<"$(_ipsec_side "$gw")"
		local other=b-gw
		[ "$gw" = b-gw ] && other=m-gw
		lab_exec "$gw" ip link add wg0 type wireguard
		lab_exec "$gw" wg set wg0 listen-port 51820 private-key "$T_TMP/wg-$gw.key" \
			peer "$(wg pubkey <"$T_TMP/wg-$other.key")" endpoint "$r:51820" allowed-ips "$net"
		lab_exec "$gw" ip addr add "$lan/32" dev wg0
		lab_exec "$gw" ip link set wg0 up
		lab_exec "$gw" ip route add "$net" dev wg0
		lab_exec "$gw" sysctl -qw net.ipv4.ip_forward=1
	done
	rm -f "$T_TMP/wg-m-gw.key" "$T_TMP/wg-b-gw.key"
}

setup() { # KIND
	# shellcheck disable=SC2119 # no option: the lab without NAT
	ipsec_lab
	case $1 in
	wireguard) setup_wireguard ;;
	ipip) hand_ipip m-gw 1480; hand_ipip b-gw 1480 ;;
	esp-aesgcm | esp-chacha)
		hand_ipip m-gw 1446
		hand_ipip b-gw 1446
		if [ "$1" = esp-aesgcm ]; then
			IPSEC_ESP=aes256gcm16-x25519
		else
			IPSEC_ESP=chacha20poly1305-x25519
		fi
		hand_swanctl m-gw psk
		hand_swanctl b-gw psk
		ipsec_up m-gw b-gw
		ipsec_initiate b-gw >/dev/null || { cat "$T_TMP/initiate.out" >&2; return 1; }
		;;
	esac
	# the first packets may wait for ARP or the handshake
	lab_exec b-ws ping -q -c 3 -i 0.2 -W 2 "$LAB_M_APP" >/dev/null 2>&1 || true
	lab_exec b-ws ping -q -c 1 -W 2 "$LAB_M_APP" >/dev/null
}

# ping RTT avg in ms
measure_rtt() {
	lab_exec b-ws ping -q -n -c "$pings" -i 0.2 "$LAB_M_APP" |
		awk -F'/' '/^rtt/ { print $5 }'
}

# TCP throughput in Mbit/s, the receiver's figure
measure_tcp() {
	local pid out
	ip netns exec "$(lab_ns m-app)" iperf3 -s -1 -B "$LAB_M_APP" >/dev/null 2>&1 &
	pid=$!
	wait_for 5 lab_exec m-app sh -c 'ss -Htln "sport = :5201" | grep -q .' || true
	out=$(lab_exec b-ws iperf3 -c "$LAB_M_APP" -t "$secs" -O 1 -J 2>/dev/null) || true
	wait "$pid" 2>/dev/null || true
	printf '%s' "$out" | python3 -c '
import json, sys
try:
    print("%.1f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))
except Exception:
    print("nan")'
}

kinds="wireguard ipip esp-aesgcm esp-chacha"
declare -A TCP RTT
echo "# ipsec bench: kernel $(uname -r), $(nproc) CPU(s), $rounds round(s) of ${secs} s TCP and $pings pings per kind"
for r in $(seq "$rounds"); do
	for k in $kinds; do
		if ! setup "$k" >"$T_TMP/setup.log" 2>&1; then
			echo "bench/ipsec.sh: setting up $k failed:" >&2
			cat "$T_TMP/setup.log" >&2
			exit 1
		fi
		rtt=$(measure_rtt)
		tcp=$(measure_tcp)
		printf '#   round %d %-11s tcp %8s Mbit/s   rtt %7s ms\n' "$r" "$k" "$tcp" "$rtt"
		TCP[$k]="${TCP[$k]:-} $tcp"
		RTT[$k]="${RTT[$k]:-} $rtt"
		lab_down
	done
done

mean() { awk '{ n = 0; s = 0; for (i = 1; i <= NF; i++) if ($i != "nan") { s += $i; n++ } if (n) printf "%.2f\n", s / n; else print "nan" }' <<<"$1"; }
wg_tcp=$(mean "${TCP[wireguard]}")
wg_rtt=$(mean "${RTT[wireguard]}")
echo
printf '%-22s %12s %9s %12s %9s %6s\n' kind "TCP Mbit/s" "vs wg" "RTT ms" "vs wg" MTU
for k in $kinds; do
	t=$(mean "${TCP[$k]}")
	p=$(mean "${RTT[$k]}")
	case $k in
	wireguard) name="WireGuard" mtu=1420 ;;
	ipip) name="IPIP (plain)" mtu=1480 ;;
	esp-aesgcm) name="IPIP+ESP AES-256-GCM" mtu=1446 ;;
	esp-chacha) name="IPIP+ESP ChaCha20" mtu=1446 ;;
	esac
	printf '%-22s %12s %9s %12s %9s %6s\n' "$name" "$t" \
		"$(awk -v a="$t" -v b="$wg_tcp" 'BEGIN { if (b > 0 && a == a + 0) printf "%.2f", a / b; else print "-" }')" \
		"$p" \
		"$(awk -v a="$p" -v b="$wg_rtt" 'BEGIN { if (b > 0 && a == a + 0) printf "%.2f", a / b; else print "-" }')" \
		"$mtu"
done
