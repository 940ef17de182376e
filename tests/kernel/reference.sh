#!/bin/bash
# tests/kernel/reference.sh - the article's two offices configured by hand, literally
# (NOTES.md section 6: net-tools, with nftables in place of iptables), in the lab.
# It checks the reference that gatewayctl is compared with, and that the lab is right.
#
#   tests/vm/run -- tests/kernel/reference.sh      (needs ipip: the VM provides it)
#
# TEST_REFERENCE_BREAK=snat|hostroute leaves out one step on purpose (Manhattan's SNAT
# rule, or deleting the bogus host route) to show that the checks catch it.
set -eu
# shellcheck source=tests/kernel/lib/lib.sh
. "$(dirname "$0")/lib/lib.sh"
t_need_ipip
for t in ifconfig route nft socat; do
	command -v "$t" >/dev/null || t_skip "'$t' is missing (make deps)"
done
brk=${TEST_REFERENCE_BREAK:-}

lab_setup --bare
on_m() { lab_exec m-gw "$@"; }
on_b() { lab_exec b-gw "$@"; }
# the number after "packets" in nft's listing
packets() { awk '{ for (i = 1; i < NF; i++) if ($i == "packets") { print $(i + 1); exit } }'; }

# --- Manhattan gateway: eth0 = LAN, eth1 = towards the ISP router
on_m ifconfig eth0 192.168.1.126 netmask 255.255.255.0
on_m ifconfig eth1 172.16.1.12 broadcast 172.16.1.31 netmask 255.255.255.224
on_m route add default gw 172.16.1.30
on_m sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
on_m ifconfig tunl0 192.168.1.126 netmask 255.255.255.255 pointopoint 172.17.2.10
on_m route add -net 192.168.2.0 netmask 255.255.255.0 gw 172.17.2.10 tunl0
expect_ok "m-gw: pointopoint made the bogus host route 172.17.2.10 dev tunl0" \
	test -n "$(on_m ip -4 route show exact 172.17.2.10/32 dev tunl0)"
[ "$brk" = hostroute ] || on_m route del -host 172.17.2.10
[ "$brk" = snat ] || on_m nft -f - <<-'EOF'
	table ip nat {
		chain postrouting {
			type nat hook postrouting priority srcnat; policy accept;
			ip saddr 192.168.2.0/24 snat to 192.168.1.126
			ip saddr 172.17.2.10 snat to 192.168.1.126
		}
	}
EOF

# --- Brooklyn gateway
on_b ifconfig eth0 192.168.2.126 netmask 255.255.255.0
on_b ifconfig eth1 172.17.2.10 broadcast 172.17.2.15 netmask 255.255.255.240
on_b route add default gw 172.17.2.14
on_b sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
on_b ifconfig tunl0 192.168.2.126 netmask 255.255.255.255 pointopoint 172.16.1.12
on_b route add -net 192.168.1.0 netmask 255.255.255.0 gw 172.16.1.12 tunl0
on_b route del -host 172.16.1.12
on_b nft -f - <<-'EOF'
	table ip nat {
		chain postrouting {
			type nat hook postrouting priority srcnat; policy accept;
			ip saddr 192.168.1.0/24 snat to 192.168.2.126
		}
	}
EOF

# Brooklyn workstations already have: route add -net 192.168.1.0/24 gw 192.168.2.126

# count what crosses the internet: encapsulated or not. IPIP is IP protocol 4, which
# /etc/protocols (and so nft) calls "ipencap": nft's "ipip" is protocol 94.
lab_exec inet nft -f - <<-'EOF'
	table ip lab_count {
		counter encap {}
		counter plain {}
		chain forward {
			type filter hook forward priority filter; policy accept;
			ip protocol 4 counter name encap
			ip protocol != 4 counter name plain
		}
	}
EOF

# --- checks
expect_eq "$(on_m ip -4 route show exact 172.17.2.10/32)" "" \
	"m-gw: the bogus host route is gone after route del -host"
expect_eq "$(on_b ip -4 route show exact 172.16.1.12/32)" "" \
	"b-gw: the bogus host route is gone after route del -host"
expect_eq "$(on_m ip -4 route show 192.168.2.0/24 | sed "s/ *$//")" "192.168.2.0/24 via 172.17.2.10 dev tunl0" \
	"m-gw: Brooklyn's LAN is routed into tunl0 via Brooklyn's public address"

expect_ping m-gw 192.168.2.126 "m-gw pings b-gw's private address"
expect_ping b-gw 192.168.1.126 "b-gw pings m-gw's private address"
expect_ping b-ws 192.168.1.5 "b-ws pings m-app"

# m-app answers every TCP connection on port 7777 with the address it sees
# shellcheck disable=SC2016 # $SOCAT_PEERADDR is for the shell socat starts
t_bg m-app socat TCP4-LISTEN:7777,bind=192.168.1.5,reuseaddr,fork SYSTEM:'echo "$SOCAT_PEERADDR"'
if ! wait_for 30 lab_exec m-app sh -c 'ss -Htln "sport = :7777" | grep -q .'; then
	fail "m-app: the test server on port 7777 did not start"
fi
# the address m-app's server answers NS with; a few tries (a busy machine may be
# slow to fork the answering shell), the first answer counts
seen_from() { # NS
	local try out=''
	for try in 1 2 3 4 5; do
		out=$(lab_exec "$1" socat -T 10 - TCP4:192.168.1.5:7777,connect-timeout=5 </dev/null 2>&1) || true
		[ -z "$out" ] || break
		sleep 1
	done
	echo "$out"
}
expect_eq "$(seen_from b-ws)" 192.168.1.126 "m-app sees a connection from b-ws as coming from 192.168.1.126"
expect_eq "$(seen_from b-gw)" 192.168.1.126 "m-app sees a connection from b-gw as coming from 192.168.1.126"

ipip=$(lab_exec inet nft list counter ip lab_count encap | packets)
other=$(lab_exec inet nft list counter ip lab_count plain | packets)
expect_ok "inet forwarded IPIP packets ($ipip)" test "${ipip:-0}" -gt 0
expect_eq "${other:-?}" 0 "inet forwarded nothing but IPIP"
dropped=$(lab_exec inet nft list table ip lab_internet | packets)
expect_eq "${dropped:-?}" 0 "inet dropped no packet with a private destination"

t_done
