#!/bin/bash
# tests/kernel/interop.sh - gatewayctl on one side, the article's literal commands
# (net-tools, nft for the SNAT) on the other, both ways; and manage_interfaces = yes
# on gateways that have nothing but their links, once IPv4 only and once dual
# stack (LAB_IPV6=1: the IPv6 addresses of both interfaces, added without DAD,
# and an IPv6 default route, all gone after down).
#
#   tests/vm/run -- tests/kernel/interop.sh
set -eu
. "$(dirname "$0")/lib/lib.sh"
. "$(dirname "$0")/lib/gw.sh"
t_need_ipip
for t in ifconfig route nft; do
	command -v "$t" >/dev/null || t_skip "'$t' is missing (make deps)"
done
trap 't_cleanup; gw_cleanup' EXIT

# The article's configuration of one gateway after its basic configuration:
# tunl0 point-to-point, the route, deleting the bogus host route, SNAT.
article() { # NS LAN_ADDR PEER_PUBLIC PEER_NET LOCAL_NET
	local ns=$1 lan=$2 peer=$3 net=$4 localnet=$5
	lab_exec "$ns" sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
	lab_exec "$ns" ifconfig tunl0 "$lan" netmask 255.255.255.255 pointopoint "$peer"
	lab_exec "$ns" route add -net "$net" netmask 255.255.255.0 gw "$peer" tunl0
	lab_exec "$ns" route del -host "$peer"
	lab_exec "$ns" nft -f - <<-EOF
		table ip nat {
			chain postrouting {
				type nat hook postrouting priority srcnat; policy accept;
				ip saddr $localnet snat to $lan
			}
		}
	EOF
}

checks() { # WHO
	expect_ping b-ws 192.168.1.5 "$1: b-ws pings the application server"
	expect_ping m-gw 192.168.2.126 "$1: m-gw pings b-gw's private address"
	expect_ping b-gw 192.168.1.126 "$1: b-gw pings m-gw's private address"
	expect_ping m-gw 192.168.2.3 "$1: m-gw reaches the Brooklyn workstation"
}

# --- Manhattan by gatewayctl, Brooklyn by hand
lab_setup
before=$(snap m-gw)
article b-gw 192.168.2.126 172.16.1.12 192.168.1.0 192.168.1.0/24
out=$(gw m-gw up sites/manhattan.ini 2>&1) && ok "gatewayctl up in Manhattan" ||
	{ fail "gatewayctl up in Manhattan"; printf '%s\n' "$out" | t_note; }
checks "Manhattan gatewayctl, Brooklyn article"
gw m-gw down manhattan >/dev/null 2>&1
expect_same "down in Manhattan restores it exactly" "$before" "$(snap m-gw)"
lab_down

# --- Brooklyn by gatewayctl, Manhattan by hand; on a gateway that had run the
# article's tunl0 set-up before: gatewayctl deletes the bogus host route it finds
lab_setup
article m-gw 192.168.1.126 172.17.2.10 192.168.2.0 192.168.2.0/24
lab_exec b-gw ifconfig tunl0 192.168.2.126 netmask 255.255.255.255 pointopoint 172.16.1.12
out=$(gw b-gw up sites/brooklyn.ini 2>&1) && ok "gatewayctl up in Brooklyn" ||
	{ fail "gatewayctl up in Brooklyn"; printf '%s\n' "$out" | t_note; }
expect_grep "up deletes the bogus host route that pointopoint left in tunl0" \
	"bogus host route: peer manhattan's endpoint is routed into tunl0" "$out"
checks "Manhattan article, Brooklyn gatewayctl"
gw b-gw down brooklyn >/dev/null 2>&1
lab_down

# --- manage_interfaces = yes: gateways with nothing but their links
lab_setup --bare
before_m=$(snap m-gw)
before_b=$(snap b-gw)
fm=$(sed 's/^manage_interfaces = no/manage_interfaces = yes/' sites/manhattan.ini | site_file m-managed)
fb=$(sed 's/^manage_interfaces = no/manage_interfaces = yes/' sites/brooklyn.ini | site_file b-managed)
out=$(gw m-gw plan "$fm")
expect_grep "plan shows the article's basic configuration as ip commands" \
	'^ip address add 172.16.1.12/27 broadcast 172.16.1.31 dev eth1$' "$out"
expect_grep "... and the default route" '^ip route add default via 172.16.1.30 dev eth1 proto 203$' "$out"
out=$(gw m-gw up "$fm" 2>&1) && ok "up with manage_interfaces in Manhattan" ||
	{ fail "up with manage_interfaces in Manhattan"; printf '%s\n' "$out" | t_note; }
out=$(gw b-gw up "$fb" 2>&1) && ok "up with manage_interfaces in Brooklyn" ||
	{ fail "up with manage_interfaces in Brooklyn"; printf '%s\n' "$out" | t_note; }
expect_grep "the WAN address has the right broadcast address" 'inet 172.16.1.12/27 brd 172.16.1.31' \
	"$(lab_exec m-gw ip addr show eth1)"
checks "manage_interfaces"
expect_eq "$(gw m-gw up "$fm" 2>&1)" "site manhattan: no changes" "a second up changes nothing"
gw m-gw down "$fm" >/dev/null 2>&1
gw b-gw down "$fb" >/dev/null 2>&1
expect_same "down removes the addresses, the default route and the link states it set (Manhattan)" \
	"$before_m" "$(snap m-gw)"
expect_same "... and in Brooklyn" "$before_b" "$(snap b-gw)"
lab_down

# --- manage_interfaces = yes with IPv6 (issue 22): dual-stack LANs, Manhattan's
# WAN with an IPv6 address and default route too (inet answers at 2001:db8:ff::1;
# the internet between the gateways stays IPv4)
if [ -e /proc/sys/net/ipv6 ]; then
	LAB_IPV6=1 lab_setup --bare
	lab_exec inet ip -6 address add 2001:db8:ff::1/64 dev eth-m nodad
	before_m=$(snap m-gw)
	before_b=$(snap b-gw)
	fm=$(sed -e 's/^manage_interfaces = no/manage_interfaces = yes/' \
		-e 's|^lan_address = 192.168.1.126/24$|lan_address = 192.168.1.126/24, 2001:db8:1::126/64|' \
		-e 's|^wan_address = 172.16.1.12/27$|wan_address = 172.16.1.12/27, 2001:db8:ff::12/64|' \
		-e 's|^gateway = 172.16.1.30$|gateway = 172.16.1.30, 2001:db8:ff::1|' \
		-e 's|^networks = 192.168.2.0/24$|networks = 192.168.2.0/24, 2001:db8:2::/64|' \
		sites/manhattan.ini | site_file m-managed6)
	fb=$(sed -e 's/^manage_interfaces = no/manage_interfaces = yes/' \
		-e 's|^lan_address = 192.168.2.126/24$|lan_address = 192.168.2.126/24, 2001:db8:2::126/64|' \
		-e 's|^networks = 192.168.1.0/24$|networks = 192.168.1.0/24, 2001:db8:1::/64|' \
		sites/brooklyn.ini | site_file b-managed6)
	out=$(gw m-gw plan "$fm" 2>&1) || true
	expect_grep "plan shows the LAN's IPv6 address, added without DAD" \
		'^ip -6 address add 2001:db8:1::126/64 dev eth0 nodad$' "$out"
	expect_grep "... the WAN's" '^ip -6 address add 2001:db8:ff::12/64 dev eth1 nodad$' "$out"
	expect_grep "... and the IPv6 default route" '^ip -6 route add default via 2001:db8:ff::1 dev eth1 proto 203$' "$out"
	out=$(gw m-gw up "$fm" 2>&1) && ok "IPv6: up with manage_interfaces in Manhattan" ||
		{ fail "IPv6: up with manage_interfaces in Manhattan"; printf '%s\n' "$out" | t_note; }
	out=$(gw b-gw up "$fb" 2>&1) && ok "IPv6: up with manage_interfaces in Brooklyn" ||
		{ fail "IPv6: up with manage_interfaces in Brooklyn"; printf '%s\n' "$out" | t_note; }
	expect_grep "the LAN carries its IPv6 address, not tentative" \
		'inet6 2001:db8:1::126/64 scope global nodad' "$(lab_exec m-gw ip -6 address show dev eth0)"
	expect_eq "$(lab_exec m-gw ip -6 address show dev eth0 tentative)" "" "... no address of the LAN is tentative"
	expect_grep "the WAN carries its IPv6 address" 'inet6 2001:db8:ff::12/64 scope global' \
		"$(lab_exec m-gw ip -6 address show dev eth1)"
	expect_grep "the IPv6 default route is gatewayctl's" '^default via 2001:db8:ff::1 dev eth1 proto (203|gatewayctl)' \
		"$(lab_exec m-gw ip -6 route show default)"
	expect_grep "the IPv6 route into the tunnel has the managed address as src" \
		'^2001:db8:2::/64 dev gw-brooklyn proto (203|gatewayctl) src 2001:db8:1::126' \
		"$(lab_exec m-gw ip -6 route show 2001:db8:2::/64)"
	expect_grep "the state file records them" 'addr6 eth0 2001:db8:1::126/64' \
		"$(cat "$(gw_rundir m-gw)"/ns-*/manhattan.state)"
	expect_ping m-gw 2001:db8:ff::1 "IPv6: m-gw reaches the IPv6 gateway from its WAN address"
	expect_ping b-ws 2001:db8:1::5 "IPv6: b-ws pings the server through the managed gateways"
	expect_ping b-ws 192.168.1.5 "IPv4: b-ws pings the server"
	expect_eq "$(gw m-gw up "$fm" 2>&1)" "site manhattan: no changes" "IPv6: a second up changes nothing"
	# addresses of ours deleted by hand: up puts them back, the state file keeps one
	# record of each (down would delete them twice, and fail the second time)
	lab_exec m-gw ip -6 address del 2001:db8:1::126/64 dev eth0
	lab_exec m-gw ip address del 172.16.1.12/27 dev eth1
	out=$(gw m-gw up "$fm" 2>&1)
	expect_grep "up puts the IPv6 address back" '^ip -6 address add 2001:db8:1::126/64 dev eth0 nodad$' "$out"
	expect_grep "... and the IPv4 one" '^ip address add 172.16.1.12/27 broadcast 172.16.1.31 dev eth1$' "$out"
	state=$(cat "$(gw_rundir m-gw)"/ns-*/manhattan.state)
	expect_eq "$(grep -c '^addr6 eth0 2001:db8:1::126/64$' <<<"$state")" 1 "... recorded once in the state file"
	expect_eq "$(grep -c '^addr eth1 172.16.1.12/27$' <<<"$state")" 1 "... the IPv4 one too"
	expect_ping b-ws 2001:db8:1::5 "IPv6: b-ws pings the server again"
	out=$(gw m-gw down "$fm" 2>&1) || { fail "IPv6: down in Manhattan"; printf '%s\n' "$out" | t_note; }
	expect_grep "down deletes the IPv6 default route" '^ip -6 route del default via 2001:db8:ff::1 proto 203$' "$out"
	expect_grep "... and the IPv6 addresses" '^ip -6 address del 2001:db8:ff::12/64 dev eth1$' "$out"
	gw b-gw down "$fb" >/dev/null 2>&1
	expect_same "IPv6: down removes the addresses and the default route it set (Manhattan)" \
		"$before_m" "$(snap m-gw)"
	expect_same "... and in Brooklyn" "$before_b" "$(snap b-gw)"
fi

t_done
