#!/bin/bash
# tests/kernel/interop.sh - gatewayctl on one side, the article's literal commands
# (net-tools, nft for the SNAT) on the other, both ways; and manage_interfaces = yes
# on gateways that have nothing but their links.
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

t_done
