#!/bin/bash
# tests/kernel/updown.sh - `up` and `down` on the article's two offices:
# the scenario works, up is idempotent and repairs drift, the bogus host route
# goes, down restores the kernel exactly, foreign state is never touched;
# down --dry-run prints exactly what down then does, and changes nothing.
#
#   tests/vm/run -- tests/kernel/updown.sh
set -eu
. "$(dirname "$0")/lib/lib.sh"
. "$(dirname "$0")/lib/gw.sh"
t_need_ipip
lab_setup
trap 't_cleanup; gw_cleanup' EXIT

M=sites/manhattan.ini
B=sites/brooklyn.ini

# --- foreign state that must come through up and down untouched
lab_exec m-gw ip route add 10.99.0.0/16 via 172.16.1.30
lab_exec m-gw ip link add foreign0 type ipip local 172.16.1.12 remote 198.51.100.7
lab_exec m-gw ip link set foreign0 up
lab_exec m-gw ip route add 10.98.0.0/16 dev foreign0
lab_exec m-gw nft -f - <<-'EOF'
	table ip nat {
		chain postrouting {
			type nat hook postrouting priority srcnat; policy accept;
			ip saddr 10.77.0.0/16 oifname "eth1" masquerade
		}
	}
EOF

before_m=$(snap m-gw)
before_b=$(snap b-gw)

# --- plan before up: everything, as commands
out=$(gw m-gw plan "$M")
expect_grep "plan shows the tunnel" '^ip link add name gw-brooklyn mtu 1480 up type ipip local 172.16.1.12 remote 172.17.2.10 ttl 64 pmtudisc$' "$out"
expect_grep "plan shows the route" '^ip route add 192.168.2.0/24 dev gw-brooklyn proto 203 scope link src 192.168.1.126$' "$out"
expect_grep "plan shows the SNAT" 'snat to 192.168.1.126' "$out"
expect_same "plan changed nothing" "$before_m" "$(snap m-gw)"

# --- up on both sides
out=$(gw m-gw up "$M" 2>&1) && ok "up manhattan" || { fail "up manhattan"; printf '%s\n' "$out" | t_note; }
out=$(gw b-gw up "$B" 2>&1) && ok "up brooklyn" || { fail "up brooklyn"; printf '%s\n' "$out" | t_note; }

expect_grep "after up, the foreign route is there" '^10.99.0.0/16 via 172.16.1.30' "$(lab_exec m-gw ip route show 10.99.0.0/16)"
expect_grep "... the foreign ipip tunnel and its route" '^10.98.0.0/16 dev foreign0' "$(lab_exec m-gw ip route show 10.98.0.0/16)"
expect_grep "... the foreign nat table and its rule" 'ip saddr 10.77.0.0/16 oifname "eth1" masquerade' "$(lab_exec m-gw nft list table ip nat)"
expect_ping b-ws 192.168.1.5 "b-ws pings the application server"
expect_ping m-gw 192.168.2.126 "m-gw pings b-gw's private address"
expect_ping b-gw 192.168.1.126 "b-gw pings m-gw's private address"
expect_ping b-gw 192.168.1.5 "the Brooklyn gateway itself reaches the server"

# the server answers TCP with the address it sees; tcpdump records the SYN's MSS
# shellcheck disable=SC2016
t_bg m-app socat TCP4-LISTEN:7777,bind=192.168.1.5,reuseaddr,fork SYSTEM:'echo "$SOCAT_PEERADDR"'
wait_for 5 lab_exec m-app sh -c 'ss -Htln "sport = :7777" | grep -q .' || fail "test server did not start"
lab_exec m-app timeout 15 tcpdump -l -n -v -c 1 -i eth0 'tcp dst port 7777 and tcp[tcpflags] & tcp-syn != 0' \
	>"$T_TMP/syn.txt" 2>/dev/null &
cap=$!
sleep 2 # tcpdump opens its socket
# -u: the client only reads (with `- </dev/null` it closed its side at once, and
# socat dropped the answer when the server's shell was slower than that: a
# busy machine's flake, "echo: I/O error")
seen=$(lab_exec b-ws socat -T 3 -u TCP4:192.168.1.5:7777,connect-timeout=3 STDOUT 2>&1) || true
expect_eq "$seen" 192.168.1.126 "the server sees the workstation's TCP connection come from 192.168.1.126"
seen=$(lab_exec b-gw socat -T 3 -u TCP4:192.168.1.5:7777,connect-timeout=3 STDOUT 2>&1) || true
expect_eq "$seen" 192.168.1.126 "the server sees the Brooklyn gateway's connection come from 192.168.1.126"
wait "$cap" || true
expect_grep "SYNs arrive at the server with MSS 1440" 'mss 1440[,>]' "$(cat "$T_TMP/syn.txt")"

expect_eq "$(lab_exec m-gw ip -4 route show exact 172.17.2.10/32)" "" "no bogus host route to Brooklyn's endpoint"
expect_grep "the route carries gatewayctl's protocol and the LAN source" \
	'^192.168.2.0/24 dev gw-brooklyn (proto 203|proto gatewayctl) scope link src 192.168.1.126' \
	"$(lab_exec m-gw ip -4 route show 192.168.2.0/24)"
expect_grep "the tunnel carries gatewayctl's alias" 'alias gatewayctl:manhattan/brooklyn' \
	"$(lab_exec m-gw ip -d link show gw-brooklyn)"
expect_grep "the tunnel's parameters" 'ipip remote 172.17.2.10 local 172.16.1.12 ttl 64 pmtudisc' \
	"$(lab_exec m-gw ip -d link show gw-brooklyn)"
expect_eq "$(lab_exec m-gw sysctl -n net.ipv4.ip_forward)" 1 "forwarding is on"
ruleset=$(lab_exec m-gw nft list table ip gatewayctl-manhattan)
expect_grep "the table carries gatewayctl's comment" 'comment "managed by gatewayctl: site manhattan"' "$ruleset"
expect_grep "SNAT counted the Brooklyn traffic" 'oifname "eth0" ip saddr @masq ip daddr != 192.168.1.255 counter packets [1-9][0-9]* bytes [0-9]+ snat to 192.168.1.126' "$ruleset"
expect_grep "the MSS clamp counted SYNs" 'counter packets [1-9][0-9]* bytes [0-9]+ tcp option maxseg size set rt mtu' "$ruleset"
expect_grep "IPIP from the peer is accepted and counted" 'ip saddr @endpoints counter packets [1-9][0-9]* .* accept' "$ruleset"

# --- idempotent: a second up changes nothing, not even handles or counters
after_up=$(snap m-gw)
out=$(gw m-gw up "$M" 2>&1)
expect_eq "$out" "site manhattan: no changes" "a second up says no changes"
expect_same "a second up leaves the kernel exactly as it was (handles, counters)" "$after_up" "$(snap m-gw)"
expect_eq "$(gw m-gw plan "$M")" "# no changes: the kernel matches $M" "plan as root: no changes"

# --- drift: each thing removed by hand is restored, and only that
after_up=$(snap_nocount m-gw)
lab_exec m-gw ip route del 192.168.2.0/24
out=$(gw m-gw plan "$M")
expect_eq "$out" "# route 192.168.2.0/24 via gw-brooklyn is missing
ip route add 192.168.2.0/24 dev gw-brooklyn proto 203 scope link src 192.168.1.126" "plan shows only the missing route"
out=$(gw m-gw up "$M" 2>&1)
expect_grep "up restores the route" '^site manhattan: 1 change applied' "$out"
expect_same "... and the kernel is as after the first up" "$after_up" "$(snap_nocount m-gw)"

lab_exec m-gw ip link set gw-brooklyn down
out=$(gw m-gw up "$M" 2>&1)
expect_grep "up brings the tunnel back up (and its route)" 'gw-brooklyn is down' "$out"
expect_same "... and the kernel is as after the first up" "$after_up" "$(snap_nocount m-gw)"
expect_ping b-ws 192.168.1.5 "b-ws pings the server again"

handle=$(lab_exec m-gw nft -a list chain ip gatewayctl-manhattan postrouting | sed -n 's/.*comment "snat" # handle \([0-9]*\)/\1/p')
lab_exec m-gw nft delete rule ip gatewayctl-manhattan postrouting handle "$handle"
out=$(gw m-gw plan "$M")
expect_grep "plan notices the deleted SNAT rule" '^# table gatewayctl-manhattan differs from the file' "$out"
gw m-gw up "$M" >/dev/null 2>&1
expect_grep "up restores the SNAT rule" 'snat to 192.168.1.126 comment "snat"' "$(lab_exec m-gw nft list table ip gatewayctl-manhattan)"

lab_exec m-gw ip link del gw-brooklyn
out=$(gw m-gw up "$M" 2>&1)
expect_grep "up re-creates a deleted tunnel" 'tunnel gw-brooklyn is missing' "$out"
expect_ping b-ws 192.168.1.5 "b-ws pings the server through the new tunnel"

lab_exec m-gw sysctl -qw net.ipv4.ip_forward=0
out=$(gw m-gw up "$M" 2>&1)
expect_grep "up turns forwarding back on" 'IPv4 forwarding is off' "$out"

# --- the bogus host route: deleted, and said so
lab_exec m-gw ip route add 172.17.2.10/32 dev gw-brooklyn
out=$(gw m-gw up "$M" 2>&1)
expect_grep "up deletes a bogus host route into the tunnel and says so" \
	"bogus host route: peer brooklyn's endpoint is routed into gw-brooklyn" "$out"
expect_eq "$(lab_exec m-gw ip -4 route show exact 172.17.2.10/32)" "" "the bogus host route is gone"
expect_ping b-ws 192.168.1.5 "the tunnel works again"

# --- strict rp_filter is loosened on the tunnel, and reported
lab_exec m-gw sysctl -qw net.ipv4.conf.all.rp_filter=1
out=$(gw m-gw up "$M" 2>&1)
expect_grep "up reports a strict rp_filter and loosens it on the tunnel" \
	'strict rp_filter would drop' "$out"
expect_eq "$(lab_exec m-gw sysctl -n net.ipv4.conf.gw-brooklyn.rp_filter)" 2 "rp_filter is loose on the tunnel"
expect_eq "$(gw m-gw up "$M" 2>&1)" "site manhattan: no changes" "... and the next up sees it so (no changes)"
lab_exec m-gw sysctl -qw net.ipv4.conf.all.rp_filter=0

# --- down --dry-run: what down would do, changing nothing (kernel, state file)
kernel=$(snap_nocount m-gw) state=$(cat "$(gw_statedir m-gw)/manhattan.state" 2>&1)
dry=$(gw m-gw down --dry-run "$M" 2>&1) && ok "down --dry-run manhattan" ||
	{ fail "down --dry-run manhattan"; printf '%s\n' "$dry" | t_note; }
expect_same "down --dry-run changes nothing in the kernel" "$kernel" "$(snap_nocount m-gw)"
expect_eq "$(cat "$(gw_statedir m-gw)/manhattan.state" 2>&1)" "$state" "... nor the state file"
expect_grep "down --dry-run lists the tunnel's deletion" '^ip link delete gw-brooklyn$' "$dry"
expect_grep "... and the table's" '^nft delete table ip gatewayctl-manhattan$' "$dry"

# --- down: exactly what --dry-run said, then exactly as before up, twice is
# fine, and without a file
out=$(gw m-gw down "$M" 2>&1) && ok "down manhattan" || { fail "down manhattan"; printf '%s\n' "$out" | t_note; }
expect_same "down prints exactly what down --dry-run printed" "$dry" "$out"
expect_same "after down, m-gw is exactly as before up (links, addresses, routes, rules, nft, forwarding)" \
	"$before_m" "$(snap m-gw)"
out=$(gw m-gw down "$M" 2>&1)
expect_eq "$out" "site manhattan: nothing to remove" "down twice is fine"

dry=$(gw b-gw down --dry-run 2>&1) || true
out=$(gw b-gw down 2>&1) && ok "down without a file" || { fail "down without a file"; printf '%s\n' "$out" | t_note; }
expect_same "... prints exactly what down --dry-run printed" "$dry" "$out"
expect_grep "down without a file finds the site by its marks" 'ip link delete gw-manhattan' "$out"
expect_same "after down, b-gw is exactly as before up" "$before_b" "$(snap b-gw)"
expect_no_ping b-ws 192.168.1.5 "after down the offices are apart again"

t_done
