#!/bin/bash
# tests/kernel/netmap.sh - two offices numbered alike (issue 23): both LANs are
# 192.168.1.0/24 (Brooklyn's workstation 192.168.1.3), Manhattan appears to its peer
# as 10.1.1.0/24 and Brooklyn as 10.2.1.0/24 (`[site] netmap`). The workstation
# reaches the server as 10.1.1.5; with masquerade the server sees its gateway,
# without it the server sees 10.2.1.3 and reaches it there; a relayed broadcast
# from the server arrives from 10.1.1.5; a second up changes nothing, status is
# healthy and shows the map, down is exact; the cross-site check accepts the pair
# and refuses a wrong map. Then once with `encryption = ipsec`.
#
#   tests/vm/run -- tests/kernel/all.sh netmap
#   TEST_NETMAP_PARTS="plain" ...   (parts: plain ipsec)
set -eu
. "$(dirname "$0")/lib/lib.sh"
. "$(dirname "$0")/lib/gw.sh"
t_need_ipip
lab_setup
trap 't_cleanup; gw_cleanup' EXIT
PARTS=${TEST_NETMAP_PARTS:-plain ipsec}
part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

# --- Brooklyn renumbered like Manhattan: LAN 192.168.1.0/24, workstation .3
lab_exec b-gw ip addr flush dev eth0
lab_exec b-gw ip addr add 192.168.1.126/24 dev eth0
lab_exec b-ws ip addr flush dev eth0
lab_exec b-ws ip addr add 192.168.1.3/24 dev eth0
lab_exec b-ws ip route add 10.1.1.0/24 via 192.168.1.126
lab_exec m-app ip route add 10.2.1.0/24 via 192.168.1.126

# site_nm NAME SITE WAN GATEWAY NETMAP PEER ENDPOINT PEERMAP MASQ [PEERLINES]
site_nm() {
	site_file "$1" <<-EOF
		[site]
		name = $2
		lan = eth0
		lan_address = 192.168.1.126/24
		wan = eth1
		wan_address = $3
		gateway = $4
		netmap = $5/24

		[peer $6]
		endpoint = $7
		networks = $8/24
		lan_address = ${8%.0}.126
		masquerade = $9
		${10:-}

		[relay]
		ports = 6799
	EOF
}
mfile() { site_nm "$1" manhattan 172.16.1.12/27 172.16.1.30 10.1.1.0 brooklyn 172.17.2.10 10.2.1.0 "$2" "${3:-}"; }
bfile() { site_nm "$1" brooklyn 172.17.2.10/28 172.17.2.14 10.2.1.0 manhattan 172.16.1.12 10.1.1.0 "$2" "${3:-}"; }

# the server answers TCP with the address it sees
# shellcheck disable=SC2016
t_bg m-app socat TCP4-LISTEN:7777,bind=192.168.1.5,reuseaddr,fork SYSTEM:'echo "$SOCAT_PEERADDR"'
wait_for 5 lab_exec m-app sh -c 'ss -Htln "sport = :7777" | grep -q .' || fail "test server did not start"
seen_by_server() { lab_exec b-ws socat -T 3 - TCP4:10.1.1.5:7777,connect-timeout=3 </dev/null 2>&1 || true; }

# counter NS SITE RULE: the packets of gatewayctl's rule named RULE
counter() {
	lab_exec "$1" nft list table ip "gatewayctl-$2" |
		awk -v c="comment \"$3\"" 'index($0, c) { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}

# udp_recv NS PORT SECONDS OUT: the source of each datagram received on PORT, one a line
udp_recv() {
	lab_exec "$1" timeout "$3" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
out = open(sys.argv[2], "w", buffering=1)
out.write("READY\n")
d, a = s.recvfrom(2000)
out.write("%s %s\n" % (a[0], d.decode(errors="replace")))
' "$2" "$4" &
	T_PIDS="$T_PIDS $!"
	wait_for 10 grep -q READY "$4" || true
}

before_m=$(snap m-gw)
before_b=$(snap b-gw)

if part plain; then
	M=$(mfile manhattan yes)
	B=$(bfile brooklyn yes)
	expect_ok "the cross-site check accepts the two maps" gw m-gw check "$M" "$B"
	# a wrong map: Manhattan names 10.2.2.0/24 for Brooklyn
	MW=$(sed 's|^networks = 10.2.1.0/24|networks = 10.2.2.0/24|; s|^lan_address = 10.2.1.126|lan_address = 10.2.2.126|' "$M" |
		site_file manhattan-wrong)
	out=$(gw m-gw check "$MW" "$B" 2>&1) && rc=0 || rc=$?
	expect_eq "$rc" 2 "... and refuses a wrong map"
	expect_grep "... naming both files" "^$MW:[0-9]+: error: peer brooklyn: networks leave out the netmap of site brooklyn, 10.2.1.0/24 \\($B:8\\)" "$out"
	# two LANs alike without maps: the check points to netmap
	MN=$(sed '/^netmap/d' "$M" | site_file manhattan-nomap)
	BN=$(sed '/^netmap/d' "$B" | site_file brooklyn-nomap)
	out=$(gw m-gw check "$MN" "$BN" 2>&1) && rc=0 || rc=$?
	expect_eq "$rc" 2 "overlapping LANs without netmap are refused"
	expect_grep "... with the advice to set netmap on both" 'overlap: set `netmap` on both .*e\.g\. `netmap = 10\.' "$out"

	out=$(gw m-gw plan "$M")
	expect_grep "plan prints the SNAT of the map" "^nft 'add rule ip gatewayctl-manhattan postrouting oifname @tunnels ip saddr 192.168.1.0/24 counter snat ip prefix to 10.1.1.0/24 comment \"netmap-out\"'$" "$out"
	expect_grep "plan prints the DNAT of the map" "^nft 'add rule ip gatewayctl-manhattan dstnat iifname @tunnels ip daddr 10.1.1.0/24 counter dnat ip prefix to 192.168.1.0/24 comment \"netmap-in\"'$" "$out"

	out=$(gw m-gw up "$M" 2>&1) && ok "up manhattan" || { fail "up manhattan"; t_note <<<"$out"; }
	out=$(gw b-gw up "$B" 2>&1) && ok "up brooklyn" || { fail "up brooklyn"; t_note <<<"$out"; }
	ruleset=$(lab_exec m-gw nft list table ip gatewayctl-manhattan)
	expect_grep "the kernel holds the prefix SNAT" 'oifname @tunnels ip saddr 192\.168\.1\.0/24 counter packets [0-9]+ bytes [0-9]+ snat prefix to 10\.1\.1\.0/24 comment "netmap-out"' "$ruleset"
	expect_grep "... and the prefix DNAT, in a nat chain at prerouting" 'type nat hook prerouting priority dstnat' "$ruleset"

	expect_ping b-ws 10.1.1.5 "the workstation (192.168.1.3) pings the server as 10.1.1.5"
	expect_eq "$(seen_by_server)" 192.168.1.126 "with masquerade, the server sees its gateway"
	expect_ping b-gw 10.1.1.126 "b-gw pings m-gw's mapped LAN address"
	expect_ping m-gw 10.2.1.126 "m-gw pings b-gw's mapped LAN address"
	expect_ok "netmap-out counted on b-gw" test "$(counter b-gw brooklyn netmap-out)" -gt 0
	expect_ok "netmap-in counted on m-gw" test "$(counter m-gw manhattan netmap-in)" -gt 0

	# a broadcast from the server, relayed, arrives at the workstation from 10.1.1.5
	udp_recv b-ws 6799 15 "$T_TMP/ws.txt"
	sleep 0.5
	lab_exec m-app python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind(("192.168.1.5", 5001))
s.sendto(b"hello", ("192.168.1.255", 6799))'
	wait_for 10 grep -q hello "$T_TMP/ws.txt" || true
	expect_eq "$(grep hello "$T_TMP/ws.txt" || true)" "10.1.1.5 hello" "a relayed broadcast arrives at the workstation from 10.1.1.5"

	# idempotent
	after_up=$(snap m-gw)
	out=$(gw m-gw up "$M" 2>&1)
	expect_eq "$out" "site manhattan: no changes" "a second up says no changes"
	expect_same "... and leaves the kernel exactly as it was" "$after_up" "$(snap m-gw)"
	out=$(gw m-gw status "$M" 2>&1) && rc=0 || rc=$?
	expect_eq "$rc" 0 "status is healthy"
	[ "$rc" = 0 ] || t_note <<<"$out"
	expect_grep "status shows the map" 'netmap +192\.168\.1\.0/24 as 10\.1\.1\.0/24' "$out"
	out=$(gw m-gw status --json "$M" 2>&1)
	expect_grep "status --json has the map" '"netmap": *\{ *"lan": *"192\.168\.1\.0/24", *"as": *"10\.1\.1\.0/24"' "$out"
	out=$(gw m-gw status --prometheus "$M" 2>&1)
	expect_grep "the metrics count the map's rules" 'gatewayctl_nftables_rule_packets_total\{site="manhattan",rule="netmap-in"\} [1-9]' "$out"

	# without masquerade: the server sees the workstation's mapped address, and reaches it
	M2=$(mfile manhattan-nomasq no)
	out=$(gw m-gw up "$M2" 2>&1) && ok "up manhattan without masquerade" || { fail "up without masquerade"; t_note <<<"$out"; }
	expect_eq "$(seen_by_server)" 10.2.1.3 "without masquerade, the server sees 10.2.1.3"
	expect_ping m-app 10.2.1.3 "... and pings it back there"
	expect_ping m-gw 10.2.1.3 "m-gw itself reaches the workstation at 10.2.1.3"

	out=$(gw m-gw down manhattan 2>&1) || { fail "down manhattan"; t_note <<<"$out"; }
	out=$(gw b-gw down brooklyn 2>&1) || { fail "down brooklyn"; t_note <<<"$out"; }
	expect_same "down restores manhattan exactly" "$before_m" "$(snap m-gw)"
	expect_same "down restores brooklyn exactly" "$before_b" "$(snap b-gw)"
fi

if part ipsec; then
	# shellcheck source=tests/kernel/lib/lib-ipsec.sh
	. "$(dirname "$0")/lib/lib-ipsec.sh"
	if ! command -v swanctl >/dev/null || ! [ -x /usr/lib/ipsec/charon ]; then
		echo "# no strongSwan: the ipsec part is skipped"
	else
		igw() { local ns=$1; shift; lab_gw_exec "$ns" env GATEWAYCTL_RUNDIR="$T_TMP/run-$ns" "$GWCTL" "$@"; }
		lab_charon_start m-gw 'charon { retransmit_tries = 3
retransmit_timeout = 2 }'
		lab_charon_start b-gw 'charon { retransmit_tries = 3
retransmit_timeout = 2 }'
		mkdir -p -m 0700 "$T_TMP/keys"
		(umask 077 && head -c 32 /dev/urandom | base64 >"$T_TMP/keys/psk")
		keys=$'encryption = ipsec\npsk_file = '"$T_TMP/keys/psk"
		MI=$(mfile manhattan-ipsec no "$keys")
		BI=$(bfile brooklyn-ipsec no "$keys")
		expect_ok "ipsec: the cross-site check accepts both" igw m-gw check "$MI" "$BI"
		out=$(igw m-gw up "$MI" 2>&1) && ok "ipsec: up manhattan" || { fail "ipsec: up manhattan"; t_note <<<"$out"; }
		out=$(igw b-gw up "$BI" 2>&1) && ok "ipsec: up brooklyn" || { fail "ipsec: up brooklyn"; t_note <<<"$out"; }
		# the first packet makes charon negotiate (trap policies): wait until established
		lab_exec b-ws ping -n -q -c 1 -W 1 10.1.1.5 >/dev/null 2>&1 || true
		tries=80
		until igw b-gw status --json brooklyn 2>/dev/null | grep -q '"established": true'; do
			tries=$((tries - 1))
			[ $tries -gt 0 ] || break
			sleep 0.5
		done
		expect_ok "ipsec: established" test $tries -gt 0
		lab_exec inet timeout 20 tcpdump -l -n -c 4 -i eth-m 'esp or ip proto 4' >"$T_TMP/inet.txt" 2>/dev/null &
		cap=$!
		sleep 1
		expect_ping b-ws 10.1.1.5 "ipsec: the workstation pings the server as 10.1.1.5"
		expect_ping m-app 10.2.1.3 "ipsec: the server pings the workstation as 10.2.1.3"
		expect_eq "$(seen_by_server)" 10.2.1.3 "ipsec: the server sees 10.2.1.3"
		wait "$cap" || true
		expect_grep "ipsec: the tunnel crosses the internet as ESP" ' ESP\(' "$(cat "$T_TMP/inet.txt")"
		expect_eq "$(grep -vc 'ESP(' "$T_TMP/inet.txt" || true)" 0 "ipsec: nothing but ESP on the internet (no bare IPIP)"
		igw m-gw down manhattan >/dev/null 2>&1 || fail "ipsec: down manhattan"
		igw b-gw down brooklyn >/dev/null 2>&1 || fail "ipsec: down brooklyn"
		expect_eq "$(lab_exec m-gw nft list tables | grep -c gatewayctl || true)" 0 "ipsec: down leaves no table"
	fi
fi
t_done
