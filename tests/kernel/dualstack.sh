#!/bin/bash
# tests/kernel/dualstack.sh - issue 22: the two offices dual-stack over the IPv4
# internet. Each LAN has IPv6 too (Manhattan 2001:db8:1::/64, Brooklyn
# 2001:db8:2::/64, LAB_IPV6=1); each peer's networks are of both families, so its
# tunnel is a sit in mode any (protocols 4 and 41): IPv4 and IPv6 pings cross;
# the legacy server on Manhattan's LAN, which has no route beyond its /64, sees
# Brooklyn's traffic from the gateway's IPv6 LAN address (SNAT66); the routes'
# src is the LAN address of their family; a second up changes nothing; a deleted
# IPv6 route is repaired; down leaves both gateways exactly as before (IPv6
# routes, addresses and forwarding included). Manhattan's WAN takes router
# advertisements (accept_ra 1): up sets it to 2 before IPv6 forwarding goes on
# (or the kernel would ignore them), down puts 1 back. A foreign IPv6 route to
# Brooklyn's network stops up; the watcher repairs a deleted IPv6 route.
#
#   tests/vm/run -- tests/kernel/all.sh dualstack
set -eu
. "$(dirname "$0")/lib/lib.sh"
. "$(dirname "$0")/lib/gw.sh"
t_need_ipip
[ -e /proc/sys/net/ipv6 ] || t_skip "this kernel has no IPv6"
export LAB_IPV6=1
lab_setup
WPID=''
trap '[ -z "$WPID" ] || kill "$WPID" 2>/dev/null; t_cleanup; gw_cleanup' EXIT

M=$T_TMP/manhattan.ini
B=$T_TMP/brooklyn.ini
sed -e 's|^lan_address = 192.168.1.126/24$|lan_address = 192.168.1.126/24, 2001:db8:1::126/64|' \
	-e 's|^networks = 192.168.2.0/24$|networks = 192.168.2.0/24, 2001:db8:2::/64|' sites/manhattan.ini >"$M"
sed -e 's|^lan_address = 192.168.2.126/24$|lan_address = 192.168.2.126/24, 2001:db8:2::126/64|' \
	-e 's|^networks = 192.168.1.0/24$|networks = 192.168.1.0/24, 2001:db8:1::/64|' sites/brooklyn.ini >"$B"
expect_grep "the Manhattan file is dual-stack" '^networks = 192.168.2.0/24, 2001:db8:2::/64$' "$(cat "$M")"
expect_grep "the Brooklyn file is dual-stack" '^lan_address = 192.168.2.126/24, 2001:db8:2::126/64$' "$(cat "$B")"

# m-gw's WAN as one configured by SLAAC would be
lab_exec m-gw sysctl -qw net.ipv6.conf.eth1.accept_ra=1
before_m=$(snap m-gw)
before_b=$(snap b-gw)

# --- plan: a sit in mode any, routes per family with their src, the ip6 table
out=$(gw m-gw plan "$M")
expect_grep "plan shows a sit tunnel in mode any (MTU 1480)" \
	'^ip link add name gw-brooklyn mtu 1480 up type sit mode any local 172.16.1.12 remote 172.17.2.10 ttl 64 pmtudisc$' "$out"
expect_grep "plan shows the IPv4 route with the IPv4 src" \
	'^ip route add 192.168.2.0/24 dev gw-brooklyn proto 203 scope link src 192.168.1.126$' "$out"
expect_grep "plan shows the IPv6 route with the IPv6 src" \
	'^ip -6 route add 2001:db8:2::/64 dev gw-brooklyn proto 203 src 2001:db8:1::126$' "$out"
expect_grep "plan turns IPv6 forwarding on" '^sysctl -w net.ipv6.conf.all.forwarding=1$' "$out"
expect_grep "plan sets the WAN's accept_ra to 2 first" \
	'^sysctl -w net.ipv6.conf.eth1.accept_ra=2$' "$(printf '%s\n' "$out" | grep -B3 'conf.all.forwarding=1')"
expect_grep "plan shows the ip6 table's SNAT66" \
	"add rule ip6 gatewayctl-manhattan postrouting oifname \"eth0\" ip6 saddr @masq counter snat ip6 to 2001:db8:1::126" "$out"
expect_same "plan changed nothing" "$before_m" "$(snap m-gw)"

# --- a route to Brooklyn's IPv6 network that is not gatewayctl's: up refuses, status tells
lab_exec m-gw ip -6 route add 2001:db8:2::/64 dev eth0
out=$(gw m-gw up "$M" 2>&1) && fail "up refuses a foreign IPv6 route to a peer's network" ||
	ok "up refuses a foreign IPv6 route to a peer's network"
expect_grep "... and says why" \
	'peer brooklyn: an IPv6 route to 2001:db8:2::/64 exists that gatewayctl did not create \(protocol 3\); remove it first' \
	"$out"
expect_grep "status names it too" 'an IPv6 route to 2001:db8:2::/64 exists that gatewayctl did not create' \
	"$(gw m-gw status "$M" 2>&1)"
lab_exec m-gw ip -6 route del 2001:db8:2::/64 dev eth0
expect_same "the refused up changed nothing" "$before_m" "$(snap m-gw)"

# --- all or nothing: a failure at each of up's netlink sends (strace's fault
# injection, as atomic.sh) leaves accept_ra and IPv6 forwarding as they were
if command -v strace >/dev/null; then
	n=1
	while [ $n -le 60 ]; do
		rc=0
		lab_exec m-gw env GATEWAYCTL_RUNDIR="$(gw_rundir m-gw)" ASAN_OPTIONS=detect_leaks=0:exitcode=99 \
			strace -qq -o /dev/null -e trace=sendto -e inject=sendto:error=ENOBUFS:when=$n \
			"$GWCTL" up "$M" >/dev/null 2>&1 || rc=$?
		[ $rc = 0 ] && break
		ra=$(lab_exec m-gw sysctl -n net.ipv6.conf.eth1.accept_ra net.ipv6.conf.all.forwarding | tr '\n' ' ')
		[ "$ra" = "1 0 " ] || { fail "sendto #$n fails: accept_ra and IPv6 forwarding as before (1 0: $ra)"; break; }
		n=$((n + 1))
	done
	if [ $n -gt 1 ] && [ $n -le 60 ]; then
		ok "a failure at each of the $((n - 1)) sends of up leaves accept_ra 1 and IPv6 forwarding off"
	else
		fail "injecting into sendto: up never ran through, or never sent (n=$n)"
	fi
	gw m-gw down "$M" >/dev/null 2>&1
	expect_same "... and after the up that ran through, down leaves m-gw as before" "$before_m" "$(snap m-gw)"
fi

# --- up on both sides
out=$(gw m-gw up "$M" 2>&1) && ok "up manhattan" || { fail "up manhattan"; printf '%s\n' "$out" | t_note; }
out=$(gw b-gw up "$B" 2>&1) && ok "up brooklyn" || { fail "up brooklyn"; printf '%s\n' "$out" | t_note; }

expect_grep "the tunnel is a sit in mode any" 'sit any remote 172.17.2.10 local 172.16.1.12 ttl 64' \
	"$(lab_exec m-gw ip -d link show gw-brooklyn)"
expect_grep "... of MTU 1480" 'mtu 1480' "$(lab_exec m-gw ip link show gw-brooklyn)"
expect_grep "the IPv6 route has the LAN's IPv6 address as src" \
	'^2001:db8:2::/64 dev gw-brooklyn proto (203|gatewayctl) src 2001:db8:1::126' \
	"$(lab_exec m-gw ip -6 route show 2001:db8:2::/64)"
expect_grep "the IPv4 route has the LAN's IPv4 address as src" \
	'^192.168.2.0/24 dev gw-brooklyn proto (203|gatewayctl) scope link src 192.168.1.126' \
	"$(lab_exec m-gw ip -4 route show 192.168.2.0/24)"
expect_eq "$(lab_exec m-gw sysctl -n net.ipv6.conf.all.forwarding)" 1 "IPv6 forwarding is on"
expect_eq "$(lab_exec m-gw sysctl -n net.ipv6.conf.eth1.accept_ra)" 2 \
	"the WAN's accept_ra is 2: it still takes router advertisements while forwarding"
expect_eq "$(lab_exec m-gw ip -4 route show exact 172.17.2.10/32)" "" "no bogus IPv4 host route to Brooklyn's endpoint"
expect_eq "$(lab_exec m-gw ip -6 route show proto 203 | grep -v '^2001:db8:2::/64 ')" "" \
	"no other IPv6 route of gatewayctl's (no bogus host route)"

expect_ping b-ws 192.168.1.5 "IPv4: b-ws pings the server"
expect_ping b-ws 2001:db8:1::5 "IPv6: b-ws pings the server"
expect_ping b-gw 2001:db8:1::126 "IPv6: b-gw pings m-gw's LAN address"
expect_ping m-gw 2001:db8:2::3 "IPv6: m-gw pings the workstation"

# the legacy server answers TCP with the address it sees
# shellcheck disable=SC2016
t_bg m-app socat TCP6-LISTEN:7777,bind=[2001:db8:1::5],reuseaddr,fork SYSTEM:'echo "$SOCAT_PEERADDR"'
wait_for 5 lab_exec m-app sh -c 'ss -Htln "sport = :7777" | grep -q .' || fail "test server did not start"
seen=$(lab_exec b-ws socat -T 3 -u 'TCP6:[2001:db8:1::5]:7777,connect-timeout=3' STDOUT 2>&1) || true
# (socat writes it in full, in brackets: [2001:0db8:0001:...])
seen=$(python3 -c 'import ipaddress, sys; print(ipaddress.ip_address(sys.argv[1].strip("[]\n")))' "$seen" 2>&1) || true
expect_eq "$seen" 2001:db8:1::126 "the server, with no route beyond its /64, sees b-ws come from 2001:db8:1::126 (SNAT66)"
ruleset=$(lab_exec m-gw nft list table ip6 gatewayctl-manhattan)
expect_grep "SNAT66 counted it" 'ip6 saddr @masq counter packets [1-9][0-9]* bytes [0-9]+ snat to 2001:db8:1::126' "$ruleset"
expect_grep "the ip table takes protocol 41 from the peer" 'ip protocol ipv6 ip saddr @endpoints counter packets [1-9]' \
	"$(lab_exec m-gw nft list table ip gatewayctl-manhattan)"

# --- idempotent: a second up changes nothing
after_up=$(snap m-gw)
out=$(gw m-gw up "$M" 2>&1)
expect_eq "$out" "site manhattan: no changes" "a second up says no changes"
expect_same "a second up leaves the kernel exactly as it was" "$after_up" "$(snap m-gw)"

# --- status shows the IPv6 network; a deleted IPv6 route is reported, and up repairs it
out=$(gw m-gw status "$M" 2>&1) && ok "status: healthy" || { fail "status: healthy"; printf '%s\n' "$out" | t_note; }
expect_grep "status shows the IPv6 network's route" '^ +2001:db8:2::/64 present$' "$out"
expect_grep "status shows IPv6 forwarding and the WAN's accept_ra" '^  forwarding6 +on  \(eth1 accept_ra=2\)$' "$out"
expect_grep "status --json has them" '"forwarding6": true, "accept_ra": \{"interface": "eth1", "value": 2\}' \
	"$(gw m-gw status --json "$M" 2>&1)"
prom=$(gw m-gw status --prometheus "$M" 2>&1)
expect_grep "the metrics have IPv6 forwarding" '^gatewayctl_forwarding6_enabled\{site="manhattan"\} 1$' "$prom"
expect_grep "... and the WAN's accept_ra" '^gatewayctl_wan_accept_ra\{site="manhattan",interface="eth1"\} 2$' "$prom"
expect_grep "status --json lists it" '\{"network": "2001:db8:2::/64", "present": true\}' "$(gw m-gw status --json "$M" 2>&1)"
expect_grep "status --prometheus has its route_present" \
	'^gatewayctl_route_present\{site="manhattan",peer="brooklyn",network="2001:db8:2::/64"\} 1$' \
	"$(gw m-gw status --prometheus "$M" 2>&1)"
after_up=$(snap_nocount m-gw)
lab_exec m-gw ip -6 route del 2001:db8:2::/64
out=$(gw m-gw status "$M" 2>&1) && fail "status: a deleted IPv6 route makes it unhealthy" ||
	ok "status: a deleted IPv6 route makes it unhealthy"
expect_grep "status reports the missing IPv6 route" '2001:db8:2::/64 MISSING' "$out"
expect_grep "... and says why" 'IPv6 route 2001:db8:2::/64 via gw-brooklyn is missing' "$out"
out=$(gw m-gw plan "$M")
expect_eq "$out" "# IPv6 route 2001:db8:2::/64 via gw-brooklyn is missing
ip -6 route add 2001:db8:2::/64 dev gw-brooklyn proto 203 src 2001:db8:1::126" "plan shows only the missing IPv6 route"
out=$(gw m-gw up "$M" 2>&1)
expect_grep "up restores the IPv6 route" '^site manhattan: 1 change applied' "$out"
expect_same "... and the kernel is as after the first up" "$after_up" "$(snap_nocount m-gw)"
expect_ping b-ws 2001:db8:1::5 "IPv6 crosses again"
lab_exec m-gw sysctl -qw net.ipv6.conf.all.forwarding=0
out=$(gw m-gw up "$M" 2>&1)
expect_grep "up turns IPv6 forwarding back on" 'IPv6 forwarding is off' "$out"
lab_exec m-gw sysctl -qw net.ipv6.conf.eth1.accept_ra=1
out=$(gw m-gw status "$M" 2>&1) && fail "status: accept_ra 1 on the WAN is a problem" ||
	ok "status: accept_ra 1 on the WAN is a problem"
expect_grep "... which status tells" 'eth1 takes router advertisements \(accept_ra 1\)' "$out"
out=$(gw m-gw up "$M" 2>&1)
expect_grep "up sets accept_ra to 2 again" 'sysctl -w net.ipv6.conf.eth1.accept_ra=2' "$out"
expect_eq "$(lab_exec m-gw sysctl -n net.ipv6.conf.eth1.accept_ra)" 2 "... and it is 2"

# --- gatewayctl watch puts a deleted IPv6 route back
WLOG=$T_TMP/watch.log
ip netns exec "$(lab_ns m-gw)" env GATEWAYCTL_RUNDIR="$(gw_rundir m-gw)" GATEWAYCTL_LIBDIR="$(gw_libdir m-gw)" \
	"$GWCTL" watch "$M" >"$WLOG" 2>&1 &
WPID=$!
wait_for 10 test -f "$(gw_statedir m-gw)/manhattan.watch" || { fail "the watcher started"; t_note <"$WLOG"; }
after_up=$(snap_nocount m-gw)
lab_exec m-gw ip -6 route del 2001:db8:2::/64
route6_back() { lab_exec m-gw ip -6 route show 2001:db8:2::/64 | grep -q 'dev gw-brooklyn'; }
wait_for 10 route6_back && ok "watch: the deleted IPv6 route is back" ||
	{ fail "watch: the deleted IPv6 route is back"; t_note <"$WLOG"; }
expect_grep "watch: its log says what it repaired" 'IPv6 route 2001:db8:2::/64 via gw-brooklyn is missing' "$(cat "$WLOG")"
expect_same "watch: the kernel is as before the deletion" "$after_up" "$(snap_nocount m-gw)"
kill "$WPID"
wait "$WPID" 2>/dev/null || true
WPID=''

# --- down: both gateways exactly as before
out=$(gw m-gw down "$M" 2>&1) && ok "down manhattan" || { fail "down manhattan"; printf '%s\n' "$out" | t_note; }
expect_grep "down deletes both tables" 'nft delete table ip6 gatewayctl-manhattan' "$out"
out=$(gw b-gw down "$B" 2>&1) && ok "down brooklyn" || { fail "down brooklyn"; printf '%s\n' "$out" | t_note; }
expect_same "after down, m-gw is exactly as before (IPv6 routes, addresses, forwarding included)" \
	"$before_m" "$(snap m-gw)"
expect_same "after down, b-gw is exactly as before" "$before_b" "$(snap b-gw)"
expect_eq "$(lab_exec m-gw sysctl -n net.ipv6.conf.eth1.accept_ra)" 1 "after down, the WAN's accept_ra is 1 again"
expect_no_ping b-ws 2001:db8:1::5 "IPv6 no longer crosses"
t_done
