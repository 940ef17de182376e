#!/bin/bash
# tests/kernel/ipv6wan.sh - issue 22: the two offices over an IPv6-only internet
# (LAB_WAN6=1: no IPv4 on the WANs; LANs dual-stack; sites/ipv6-wan). Each peer
# has an IPv6 endpoint, so its tunnel is an ip6tnl in mode any: IPv4 (4in6) and
# IPv6 (6in6) pings both cross it, seen on the internet as IPv6 with next
# header 4 and 41; the legacy server sees the gateway's LAN addresses (both
# families masqueraded); up refuses an endpoint it cannot route out of the WAN;
# a second up changes nothing; a bogus /128 route to the peer's endpoint into
# the tunnel is reported by status and deleted by up; a deleted route is
# reported and repaired; the watcher deletes a bogus /128 route on its event;
# down leaves both gateways exactly as before.
#
#   tests/vm/run -- tests/kernel/all.sh ipv6wan
set -eu
. "$(dirname "$0")/lib/lib.sh"
. "$(dirname "$0")/lib/gw.sh"
t_need_ipip
[ -e /proc/sys/net/ipv6 ] || t_skip "this kernel has no IPv6"
export LAB_WAN6=1 LAB_IPV6=1
lab_setup
WPID=''
trap 'watch_stop; t_cleanup; gw_cleanup' EXIT

M=$T_TMP/manhattan.ini
B=$T_TMP/brooklyn.ini
cp sites/ipv6-wan/manhattan.ini "$M"
cp sites/ipv6-wan/brooklyn.ini "$B"
chmod 644 "$M" "$B"

expect_eq "$(lab_exec m-gw ip -4 addr show dev eth1)" "" "the lab's WAN has no IPv4"
expect_ping m-gw 2001:db8:ffff:2::10 "the IPv6 internet carries the gateways' packets"
expect_no_ping m-gw 2001:db8:2::3 "the internet drops traffic to the LANs"

before_m=$(snap m-gw)
before_b=$(snap b-gw)

# --- plan: an ip6tnl in mode any, routes per family, the ip6 table's 4in6/6in6
out=$(gw m-gw plan "$M" 2>&1) && ok "plan" || { fail "plan"; printf '%s\n' "$out" | t_note; }
expect_grep "plan shows an ip6tnl in mode any (MTU 1460)" \
	'^ip link add name gw-brooklyn mtu 1460 up type ip6tnl mode any local 2001:db8:ffff:1::12 remote 2001:db8:ffff:2::10 hoplimit 64 encaplimit none$' "$out"
expect_grep "plan routes the IPv4 network into it (src the LAN's IPv4 address)" \
	'^ip route add 192.168.2.0/24 dev gw-brooklyn proto 203 scope link src 192.168.1.126$' "$out"
expect_grep "plan routes the IPv6 network into it" \
	'^ip -6 route add 2001:db8:2::/64 dev gw-brooklyn proto 203 src 2001:db8:1::126$' "$out"
expect_grep "plan accepts 4in6 from the peer's endpoint" 'meta l4proto 4 ip6 saddr @endpoints counter accept comment "4in6-peers"' "$out"
expect_grep "... and 6in6" 'meta l4proto 41 ip6 saddr @endpoints counter accept comment "6in6-peers"' "$out"
if grep -qE '0\.0\.0\.0|ipip-peers|6in4' <<<"$out"; then
	fail "the ip table has no endpoint of an IPv6 peer (no 0.0.0.0, no ipip or 6in4 rule)"
	grep -E '0\.0\.0\.0|ipip-peers|6in4' <<<"$out" | t_note
else
	ok "the ip table has no endpoint of an IPv6 peer (no 0.0.0.0, no ipip or 6in4 rule)"
fi
expect_same "plan changed nothing" "$before_m" "$(snap m-gw)"

# --- preflight: an endpoint the WAN cannot reach is refused, nothing changed
lab_exec m-gw ip -6 route del default via fe80::1 dev eth1
before_pf=$(snap m-gw)
out=$(gw m-gw up "$M" 2>&1) && fail "up refuses without an IPv6 route to the endpoint" ||
	ok "up refuses without an IPv6 route to the endpoint"
expect_grep "... and says where and what to do" \
	"manhattan.ini:[0-9]+: error: peer brooklyn: no IPv6 route to its endpoint 2001:db8:ffff:2::10.*ip -6 route add default" "$out"
expect_grep "... and that gateway = fe80::1 carries no default route" \
	"manhattan.ini:[0-9]+: error: .gateway = fe80::1.: the WAN .eth1. has no IPv6 default route through it" "$out"
expect_same "... and changes nothing" "$before_pf" "$(snap m-gw)"
lab_exec m-gw ip -6 route add default via fe80::1 dev eth1

# --- up on both sides
out=$(gw m-gw up "$M" 2>&1) && ok "up manhattan" || { fail "up manhattan"; printf '%s\n' "$out" | t_note; }
out=$(gw b-gw up "$B" 2>&1) && ok "up brooklyn" || { fail "up brooklyn"; printf '%s\n' "$out" | t_note; }
link=$(lab_exec m-gw ip -d link show gw-brooklyn)
expect_grep "the tunnel is an ip6tnl in mode any" 'ip6tnl any remote 2001:db8:ffff:2::10 local 2001:db8:ffff:1::12' "$link"
expect_grep "... without the encapsulation limit option, MTU 1460" 'mtu 1460' "$link"
expect_grep "... (encaplimit none)" 'encaplimit none' "$link"
expect_grep "the IPv4 route goes into it with the LAN's IPv4 src" \
	'^192.168.2.0/24 dev gw-brooklyn proto (203|gatewayctl) scope link src 192.168.1.126' \
	"$(lab_exec m-gw ip -4 route show 192.168.2.0/24)"
expect_grep "the IPv6 route with the LAN's IPv6 src" \
	'^2001:db8:2::/64 dev gw-brooklyn proto (203|gatewayctl) src 2001:db8:1::126' \
	"$(lab_exec m-gw ip -6 route show 2001:db8:2::/64)"
expect_eq "$(lab_exec m-gw ip -6 route show proto 203 | grep -v '^2001:db8:2::/64 ')" "" \
	"no other IPv6 route of gatewayctl's (no bogus host route)"
expect_eq "$(lab_exec m-gw sysctl -n net.ipv6.conf.all.forwarding) $(lab_exec m-gw sysctl -n net.ipv4.ip_forward)" \
	"1 1" "forwarding is on for both families"

# --- 4in6 and 6in6 on the wire: IPv6 with next header 4 and 41, between the endpoints
lab_exec inet timeout 20 tcpdump -l -n -c 2 -i eth-m 'ip6 proto 4' >"$T_TMP/4in6.txt" 2>/dev/null &
cap4=$!
lab_exec inet timeout 20 tcpdump -l -n -c 2 -i eth-m 'ip6 proto 41' >"$T_TMP/6in6.txt" 2>/dev/null &
cap6=$!
t_nap 2 # tcpdump opens its socket
expect_ping b-ws 192.168.1.5 "IPv4: b-ws pings the server (4in6)"
expect_ping b-ws 2001:db8:1::5 "IPv6: b-ws pings the server (6in6)"
wait "$cap4" || true
wait "$cap6" || true
expect_grep "the IPv4 ping crossed as IPv6 next header 4 between the endpoints" \
	'IP6 2001:db8:ffff:2::10 > 2001:db8:ffff:1::12: IP 192.168.2.3 > 192.168.1.5: ICMP echo request' "$(cat "$T_TMP/4in6.txt")"
expect_grep "... and its answer came back so" \
	'IP6 2001:db8:ffff:1::12 > 2001:db8:ffff:2::10: IP 192.168.1.5 > 192.168.2.3: ICMP echo reply' "$(cat "$T_TMP/4in6.txt")"
expect_grep "the IPv6 ping crossed as IPv6 next header 41" \
	'IP6 2001:db8:ffff:2::10 > 2001:db8:ffff:1::12: IP6 2001:db8:2::3 > 2001:db8:1::5: ICMP6, echo request' "$(cat "$T_TMP/6in6.txt")"
expect_grep "... and its answer came back so" \
	'IP6 2001:db8:ffff:1::12 > 2001:db8:ffff:2::10: IP6 2001:db8:1::5 > 2001:db8:2::3: ICMP6, echo reply' "$(cat "$T_TMP/6in6.txt")"
expect_ping m-gw 192.168.2.3 "m-gw pings the workstation (IPv4, src its LAN address)"
expect_ping m-gw 2001:db8:2::3 "m-gw pings the workstation (IPv6)"
ruleset=$(lab_exec m-gw nft list table ip6 gatewayctl-manhattan)
expect_grep "the ip6 table counted 4in6 from the peer" 'meta l4proto (ipip|ipencap) ip6 saddr @endpoints counter packets [1-9]' "$ruleset"
expect_grep "... and 6in6" 'meta l4proto ipv6 ip6 saddr @endpoints counter packets [1-9]' "$ruleset"
expect_grep "... whose set holds the peer's IPv6 endpoint" 'elements = \{ 2001:db8:ffff:2::10 \}' "$ruleset"
expect_eq "$(lab_exec m-gw nft list set ip gatewayctl-manhattan endpoints | grep -c elements || true)" 0 \
	"the ip table's endpoints set is empty (no 0.0.0.0)"

# the legacy server (no route beyond its LAN) sees the gateway's LAN addresses
# shellcheck disable=SC2016
t_bg m-app socat TCP-LISTEN:7777,bind=192.168.1.5,reuseaddr,fork SYSTEM:'echo "$SOCAT_PEERADDR"'
# shellcheck disable=SC2016
t_bg m-app socat TCP6-LISTEN:7778,bind=[2001:db8:1::5],reuseaddr,fork SYSTEM:'echo "$SOCAT_PEERADDR"'
wait_for 5 lab_exec m-app sh -c 'ss -Htln "sport = :7778" | grep -q .' || fail "test servers did not start"
seen=$(lab_exec b-ws socat -T 3 -u TCP4:192.168.1.5:7777,connect-timeout=3 STDOUT 2>&1) || true
expect_eq "$seen" 192.168.1.126 "IPv4: the server sees b-ws come from 192.168.1.126 (masquerade over 4in6)"
seen=$(lab_exec b-ws socat -T 3 -u 'TCP6:[2001:db8:1::5]:7778,connect-timeout=3' STDOUT 2>&1) || true
seen=$(python3 -c 'import ipaddress, sys; print(ipaddress.ip_address(sys.argv[1].strip("[]\n")))' "$seen" 2>&1) || true
expect_eq "$seen" 2001:db8:1::126 "IPv6: the server sees b-ws come from 2001:db8:1::126 (SNAT66 over 6in6)"

# --- idempotent: a second up changes nothing
after_up=$(snap m-gw)
out=$(gw m-gw up "$M" 2>&1)
expect_eq "$out" "site manhattan: no changes" "a second up says no changes"
expect_same "a second up leaves the kernel exactly as it was" "$after_up" "$(snap m-gw)"

# --- status: the tunnel over IPv6; healthy
out=$(gw m-gw status "$M" 2>&1) && ok "status: healthy" || { fail "status: healthy"; printf '%s\n' "$out" | t_note; }
expect_grep "status names the IPv6 endpoint" '^  peer brooklyn \(endpoint 2001:db8:ffff:2::10\)$' "$out"
expect_grep "status shows the tunnel's IPv6 ends" \
	'tunnel +gw-brooklyn up, local 2001:db8:ffff:1::12 remote 2001:db8:ffff:2::10 ttl 64 mtu 1460' "$out"
json=$(gw m-gw status --json "$M" 2>&1)
expect_grep "status --json: the endpoint" '"endpoint": "2001:db8:ffff:2::10"' "$json"
expect_grep "status --json: the tunnel's remote" '"remote": "2001:db8:ffff:2::10"' "$json"

# --- a bogus /128 route to the endpoint into the tunnel: reported, then deleted by up
after_up=$(snap_nocount m-gw)
lab_exec m-gw ip -6 route add 2001:db8:ffff:2::10/128 dev gw-brooklyn
out=$(gw m-gw status "$M" 2>&1) && fail "status: a bogus host route makes it unhealthy" ||
	ok "status: a bogus host route makes it unhealthy"
expect_grep "status reports it" 'BOGUS ROUTE +2001:db8:ffff:2::10/128 routed into a tunnel' "$out"
expect_grep "status --json reports it" '"bogus_host_route": true' "$(gw m-gw status --json "$M" 2>&1)"
expect_grep "the metrics report it" \
	'^gatewayctl_bogus_host_route\{site="manhattan",peer="brooklyn"\} 1$' "$(gw m-gw status --prometheus "$M" 2>&1)"
out=$(gw m-gw plan "$M" 2>&1)
expect_grep "plan deletes it, saying why" \
	'^# bogus host route: endpoint 2001:db8:ffff:2::10 is routed into gw-brooklyn$' "$out"
out=$(gw m-gw up "$M" 2>&1)
expect_grep "up deletes it" '^site manhattan: 1 change applied' "$out"
expect_eq "$(lab_exec m-gw ip -6 route show 2001:db8:ffff:2::10/128)" "" "the bogus route is gone"
expect_same "... and the kernel is as after the first up" "$after_up" "$(snap_nocount m-gw)"
expect_ping b-ws 2001:db8:1::5 "IPv6 crosses"

# --- deleted routes (both families): reported and repaired
lab_exec m-gw ip -4 route del 192.168.2.0/24
lab_exec m-gw ip -6 route del 2001:db8:2::/64
out=$(gw m-gw status "$M" 2>&1) && fail "status: deleted routes make it unhealthy" ||
	ok "status: deleted routes make it unhealthy"
expect_grep "status reports the IPv4 route missing" '192.168.2.0/24 MISSING' "$out"
expect_grep "status reports the IPv6 route missing" '2001:db8:2::/64 MISSING' "$out"
out=$(gw m-gw up "$M" 2>&1)
expect_grep "up restores both" '^site manhattan: 2 changes applied' "$out"
expect_same "... and the kernel is as after the first up" "$after_up" "$(snap_nocount m-gw)"
expect_ping b-ws 192.168.1.5 "IPv4 crosses again"

# --- the watcher: a /128 route to the IPv6 endpoint is an event of its own, repaired at once
mkdir -p "$(gw_rundir m-gw)"
ip netns exec "$(lab_ns m-gw)" env -u JOURNAL_STREAM GATEWAYCTL_RUNDIR="$(gw_rundir m-gw)" \
	GATEWAYCTL_LIBDIR="$(gw_libdir m-gw)" "$GWCTL" watch "$M" >"$T_TMP/watch.log" 2>&1 &
# shellcheck disable=SC2034 # watch_stop (gw.sh) ends it
WPID=$!
wait_for 15 test -f "$(gw_statedir m-gw)/manhattan.watch" && ok "the watcher runs" ||
	{ fail "the watcher runs"; t_note <"$T_TMP/watch.log"; }
t_nap 1
lab_exec m-gw ip -6 route add 2001:db8:ffff:2::10/128 dev gw-brooklyn
if wait_for 10 sh -c '[ -z "$(ip netns exec '"$(lab_ns m-gw)"' ip -6 route show 2001:db8:ffff:2::10/128)" ]'; then
	ok "the watcher deletes a bogus /128 route to the endpoint"
else
	fail "the watcher deletes a bogus /128 route to the endpoint"
	t_note <"$T_TMP/watch.log"
fi
expect_grep "... on its event" 'a host route to peer endpoint 2001:db8:ffff:2::10' "$(cat "$T_TMP/watch.log")"
watch_stop
expect_same "... and the kernel is as after the first up" "$after_up" "$(snap_nocount m-gw)"

# --- down: both gateways exactly as before
out=$(gw m-gw down "$M" 2>&1) && ok "down manhattan" || { fail "down manhattan"; printf '%s\n' "$out" | t_note; }
out=$(gw b-gw down "$B" 2>&1) && ok "down brooklyn" || { fail "down brooklyn"; printf '%s\n' "$out" | t_note; }
expect_same "after down, m-gw is exactly as before (links, addresses, routes of both families, nft, forwarding)" \
	"$before_m" "$(snap m-gw)"
expect_same "after down, b-gw is exactly as before" "$before_b" "$(snap b-gw)"
expect_no_ping b-ws 192.168.1.5 "IPv4 no longer crosses"
expect_no_ping b-ws 2001:db8:1::5 "IPv6 no longer crosses"
t_done
