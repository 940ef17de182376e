#!/bin/bash
# tests/kernel/ipsec-closed.sh - `encryption = ipsec` stays closed without nftables and
# without charon (issue 18, part B): gatewayctl's own xfrm block policies for IP
# protocol 4, in and out, with charon's policies taking precedence while it runs.
#
#   tests/vm/run -- tests/kernel/all.sh ipsec-closed
#
# Proves: plan shows the block policies, up makes exactly four per peer (two
# directions, two marks) and traffic flows through charon's SAs all the same; with
# the nftables ruleset flushed and both charons stopped, pings both ways fail, not
# one IPIP packet crosses the internet router in clear (both of its links), a forged
# plain IPIP packet from the internet reaches nothing, the kernel counts the blocked
# packets, status and the metrics tell; a policy deleted by hand is drift that up
# restores; a foreign policy in the way makes up fail and roll back, leaving it
# alone; down deletes exactly ours; a peer made plain loses its policies.
set -eu
# shellcheck source=tests/kernel/lib/lib.sh
. "$(dirname "$0")/lib/lib.sh"
t_need_ipip
# shellcheck source=tests/kernel/lib/gw.sh
. "$(dirname "$0")/lib/gw.sh"
# shellcheck source=tests/kernel/lib/lib-ipsec.sh
. "$(dirname "$0")/lib/lib-ipsec.sh"
ipsec_need
# shellcheck source=tests/kernel/lib/lib-gwipsec.sh
. "$(dirname "$0")/lib/lib-gwipsec.sh"

ipsec_lab
udp_counter_add m-app $PORT_M
lab_charon_start m-gw "$IPSEC_CHARON_CONF"
lab_charon_start b-gw "$IPSEC_CHARON_CONF"

# gatewayctl's block policies in GW (their priorities are 0x7fff0000 and up: 21474...)
blocks() { # GW
	lab_exec "$1" ip xfrm policy list proto 4 | grep -c 'action block priority 21474' || true
}
# any policy in GW whose line says PATTERN
policies() { # GW PATTERN
	lab_exec "$1" ip xfrm policy list | grep -c -- "$2" || true
}

PSK=$(psk_file shared)
M=$(site_m m-closed "psk_file = $PSK")
B=$(site_b b-closed 0 "psk_file = $PSK")

section "plan and up: four block policies per ipsec peer"
out=$(igw m-gw plan "$M" 2>&1) || true
expect_grep "plan shows the outgoing block policy" \
	"ip xfrm policy add src $LAB_M_GW_PUB/32 dst $LAB_B_GW_PUB/32 proto 4 dir out action block priority [0-9]+ mark 0 mask 0x800000" "$out"
expect_grep "... and the incoming one with the mark bit set" \
	"ip xfrm policy add src $LAB_B_GW_PUB/32 dst $LAB_M_GW_PUB/32 proto 4 dir in action block priority [0-9]+ mark 0x800000 mask 0x800000" "$out"
expect_grep "... saying why" "xfrm block policies for IP protocol 4 missing" "$out"
out=$(igw m-gw up "$M" 2>&1) && ok "up manhattan" || { fail "up manhattan"; t_note <<<"$out"; }
out=$(igw b-gw up "$B" 2>&1) && ok "up brooklyn" || { fail "up brooklyn"; t_note <<<"$out"; }
expect_eq "$(blocks m-gw)" 4 "m-gw has exactly 4 block policies for IP protocol 4"
expect_eq "$(blocks b-gw)" 4 "b-gw has exactly 4"
expect_eq "$(lab_exec m-gw ip xfrm policy list proto 4 dir out | grep -c 'action block')" 2 "... 2 out"
expect_eq "$(lab_exec m-gw ip xfrm policy list proto 4 dir in | grep -c 'action block')" 2 "... 2 in"
expect_eq "$(policies m-gw 'mark 0x800000/0x800000')" 2 "... 2 for packets with mark bit 0x800000"
expect_eq "$(policies m-gw 'mark 0/0x800000')" 2 "... 2 for packets without it"
wait_established m-gw manhattan 30 && ok "the SA is established" || fail "the SA is established"
expect_ping b-ws "$LAB_M_APP" "charon's policies take precedence: b-ws pings m-app"
expect_ping m-app "$LAB_B_WS" "... and m-app pings b-ws"
out=$(igw m-gw status --json manhattan 2>&1) || true
expect_grep "status --json: block_policies wanted 4, present 4" \
	'"block_policies": \{"readable": true, "wanted": 4, "present": 4\}' "$out"
out=$(igw m-gw up "$M" 2>&1) || true
expect_grep "a second up: no changes" 'no changes' "$out"

section "nftables flushed and charon stopped: nothing in clear"
lab_exec m-gw nft flush ruleset
lab_exec b-gw nft flush ruleset
lab_charon_stop m-gw
lab_charon_stop b-gw
expect_eq "$(lab_exec m-gw ip xfrm policy list proto 4 | grep -c tmpl || true)" 0 "charon took its policies with it"
expect_eq "$(blocks m-gw)$(blocks b-gw)" 44 "... ours stay"
expect_eq "$(lab_exec m-gw ip link show type ipip | grep -c 'gw-brooklyn')" 1 "the tunnel is still there"
blocked0=$(xfrm_stat m-gw XfrmOutPolBlock)
before=$(udp_counter m-app)
cap_start closed-m inet eth-m
cap_start closed-b inet eth-b
expect_no_ping m-app "$LAB_B_WS" "m-app cannot reach b-ws"
expect_no_ping b-ws "$LAB_M_APP" "b-ws cannot reach m-app"
forge_ipip inet "$LAB_B_GW_PUB" "$LAB_M_GW_PUB" "$LAB_B_WS" "$LAB_M_APP" $PORT_M 3
sleep 0.5
cap_stop closed-m
cap_stop closed-b
sum_m=$(cap_summary closed-m)
sum_b=$(cap_summary closed-b)
t_log "inet captures: eth-m $sum_m; eth-b $sum_b"
expect_eq "$(kv ipip "$sum_m")" 3 "towards m-gw: only the 3 forged IPIP packets, none leaves it ($sum_m)"
expect_eq "$(kv ipip "$sum_b")" 0 "towards b-gw: no IPIP at all ($sum_b)"
expect_eq "$(kv inner "$sum_b")" 0 "... and no LAN address on b-gw's side"
expect_eq "$(udp_counter m-app)" "$before" "forged IPIP from the internet does not reach m-app"
expect_ok "the kernel counted blocked output (XfrmOutPolBlock $blocked0 -> $(xfrm_stat m-gw XfrmOutPolBlock))" \
	test "$(xfrm_stat m-gw XfrmOutPolBlock)" -gt "$blocked0"
expect_ok "... and blocked input (XfrmInPolBlock $(xfrm_stat m-gw XfrmInPolBlock))" \
	test "$(xfrm_stat m-gw XfrmInPolBlock)" -gt 0
out=$(igw m-gw status manhattan 2>&1) && rc=0 || rc=$?
expect_eq "$rc" 1 "status: degraded"
expect_grep "... showing the block policies in place" 'fail-closed +4 of 4 xfrm block policies' "$out"
expect_grep "... and the missing table" 'nftables +gatewayctl-manhattan missing' "$out"
out=$(igw m-gw status --prometheus manhattan 2>&1) || true
expect_grep "metrics: gatewayctl_ipsec_block_policies_present 4" \
	'^gatewayctl_ipsec_block_policies_present\{site="manhattan"\} 4$' "$out"
expect_grep "metrics: gatewayctl_ipsec_block_policies_wanted 4" \
	'^gatewayctl_ipsec_block_policies_wanted\{site="manhattan"\} 4$' "$out"

section "charon back: up restores, traffic flows"
lab_charon_start m-gw "$IPSEC_CHARON_CONF"
lab_charon_start b-gw "$IPSEC_CHARON_CONF"
out=$(igw m-gw up "$M" 2>&1) || { fail "up manhattan again"; t_note <<<"$out"; }
out=$(igw b-gw up "$B" 2>&1) || { fail "up brooklyn again"; t_note <<<"$out"; }
wait_established m-gw manhattan 30 && ok "established again" || fail "established again"
expect_ping b-ws "$LAB_M_APP" "b-ws pings m-app again"
expect_eq "$(blocks m-gw)" 4 "still exactly 4 block policies"

section "a block policy deleted by hand: drift, up restores it"
# (iproute2 cannot delete the one of mark 0: without its mark it takes charon's)
lab_exec m-gw ip xfrm policy delete src "$LAB_M_GW_PUB/32" dst "$LAB_B_GW_PUB/32" proto 4 dir out mark 0x800000 mask 0x800000
expect_eq "$(blocks m-gw)" 3 "one of the 4 deleted by hand"
out=$(igw m-gw plan "$M" 2>&1) || true
expect_grep "plan: some block policies missing" 'some of its xfrm block policies for IP protocol 4 missing' "$out"
expect_eq "$(grep -c '^ip xfrm policy add' <<<"$out")" 1 "... one to add"
out=$(igw m-gw status --json manhattan 2>&1) || true
expect_grep "status --json: present 3" '"block_policies": \{"readable": true, "wanted": 4, "present": 3\}' "$out"
out=$(igw m-gw up "$M" 2>&1) || { fail "up restores the block policy"; t_note <<<"$out"; }
expect_eq "$(blocks m-gw)" 4 "up restored it"
expect_ping b-ws "$LAB_M_APP" "... and traffic still flows"

section "down deletes exactly ours"
lab_exec m-gw ip xfrm policy add src "$LAB_M_GW_PUB/32" dst "$LAB_B_GW_PUB/32" proto 4 dir out \
	action block priority 5 mark 0x1 mask 0x1
lab_exec m-gw ip xfrm policy add src 198.51.100.1/32 dst 198.51.100.2/32 proto 4 dir out \
	action block priority 2147418112 mark 0 mask 0x800000
out=$(igw m-gw down manhattan 2>&1) && ok "down manhattan" || { fail "down manhattan"; t_note <<<"$out"; }
expect_eq "$(grep -c '^ip xfrm policy delete' <<<"$out")" 4 "down prints the 4 deletions"
expect_eq "$(policies m-gw 'action block priority 5 ')" 1 "a foreign policy of the same selector stays"
expect_eq "$(lab_exec m-gw ip xfrm policy list src 198.51.100.1 | grep -c 'action block')" 1 \
	"a foreign policy of our shape but not our site's priority stays"
expect_eq "$(lab_exec m-gw ip xfrm policy list src "$LAB_M_GW_PUB" | grep -c 'priority 21474')" 0 "none of ours is left"
lab_exec m-gw ip xfrm policy flush

section "a foreign policy in the way: up fails and rolls back, the foreign policy stays"
lab_exec m-gw ip xfrm policy add src "$LAB_B_GW_PUB/32" dst "$LAB_M_GW_PUB/32" proto 4 dir in \
	action block priority 77 mark 0 mask 0x800000
before=$(snap m-gw)
out=$(igw m-gw up "$M" 2>&1) && rc=0 || rc=$?
expect_eq "$rc" 1 "up fails"
expect_grep "... naming the xfrm policy in the way" 'ip xfrm policy' "$out"
expect_grep "... and rolls back" 'rolled back' "$out"
expect_eq "$(blocks m-gw)" 0 "none of ours is left"
expect_eq "$(policies m-gw 'priority 77 ')" 1 "the foreign policy stays"
expect_same "the kernel is as before" "$before" "$(snap m-gw)"
expect_eq "$(ours_in_charon m-gw)" 0 "charon got no connection"
lab_exec m-gw ip xfrm policy flush

section "a peer made plain: up deletes its block policies"
out=$(igw m-gw up "$M" 2>&1) || { fail "up manhattan (ipsec)"; t_note <<<"$out"; }
expect_eq "$(blocks m-gw)" 4 "4 block policies"
out=$(igw m-gw up sites/manhattan.ini 2>&1) || { fail "up manhattan plain"; t_note <<<"$out"; }
expect_eq "$(grep -c '^ip xfrm policy delete' <<<"$out")" 4 "up deletes the 4"
expect_eq "$(blocks m-gw)" 0 "none left"
out=$(igw m-gw down manhattan 2>&1) || { fail "down manhattan (plain)"; t_note <<<"$out"; }
out=$(igw b-gw down brooklyn 2>&1) || { fail "down brooklyn"; t_note <<<"$out"; }
expect_eq "$(blocks b-gw)" 0 "down brooklyn: none left"
expect_eq "$(lab_exec m-gw ip xfrm policy | grep -c 'proto ipencap')$(lab_exec b-gw ip xfrm policy | grep -c 'proto ipencap')" 00 \
	"no xfrm policy for protocol 4 left anywhere"

section "up --boot waits for charon, with a bound"
lab_charon_stop m-gw
out=$(GATEWAYCTL_CHARON_WAIT=2 igw m-gw up --boot "$M" 2>&1) && rc=0 || rc=$?
expect_eq "$rc" 1 "charon absent, GATEWAYCTL_CHARON_WAIT=2: up --boot gives up"
expect_grep "... saying it waits" 'waiting up to 2 s for charon' "$out"
expect_grep "... then that charon did not answer" 'charon did not answer at .* within 2 s' "$out"
expect_eq "$(blocks m-gw)" 0 "... and changes nothing"
(sleep 5 && lab_charon_start m-gw "$IPSEC_CHARON_CONF") >/dev/null 2>&1 &
starter=$!
t0=$SECONDS
out=$(igw m-gw up --boot "$M" 2>&1) && rc=0 || rc=$?
wait $starter || true
expect_eq "$rc" 0 "charon starting 5 s later: up --boot waits and succeeds"
expect_ok "... after about 5 s ($((SECONDS - t0)) s)" test $((SECONDS - t0)) -ge 4
expect_grep "... saying it waited" 'charon answers after [0-9.]+ s' "$out"
expect_eq "$(ours_in_charon m-gw)" 1 "... and the connection is loaded"
expect_eq "$(blocks m-gw)" 4 "... with its block policies"

section "swanctl --load-all unloads ours: status names the cause and the fix"
sw m-gw --load-all >/dev/null 2>&1 || true
expect_eq "$(ours_in_charon m-gw)" 0 "swanctl --load-all unloaded gatewayctl's connection"
out=$(igw m-gw status manhattan 2>&1) && rc=0 || rc=$?
expect_eq "$rc" 1 "status: degraded"
expect_grep "... naming the cause" 'not loaded in charon any more: charon restarted, or .swanctl --load-all. unloaded it' "$out"
expect_grep "... and the fix" 'fix: gatewayctl up .*systemctl reload gatewayctl@manhattan' "$out"
out=$(igw m-gw up "$M" 2>&1) || { fail "up after swanctl --load-all"; t_note <<<"$out"; }
expect_eq "$(ours_in_charon m-gw)" 1 "up loads it again"
igw m-gw down manhattan >/dev/null 2>&1 || fail "down manhattan (after load-all)"

# --- inner source addresses ---------------------------------------------------------------
# a UDP datagram SRC -> DST:PORT with a forged source, sent as a raw IP packet from NS
# (routed like any other: from b-gw into its tunnel to Manhattan)
forge_udp() { # NS SRC DST PORT COUNT
	lab_exec "$1" python3 - "$2" "$3" "$4" "$5" <<-'EOF'
		import socket, struct, sys
		src, dst, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
		data = b"gatewayctl forged source"
		udp = struct.pack("!HHHH", port, port, 8 + len(data), 0) + data
		hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0x6000, 0x4000, 64, 17, 0,
		                  socket.inet_aton(src), socket.inet_aton(dst))
		s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
		for i in range(count):
		    s.sendto(hdr + udp, (dst, 0))
	EOF
}
# the src-check rule's packet counter in GW's table of SITE
src_checked() { # GW SITE
	lab_exec "$1" nft list chain ip "gatewayctl-$2" prerouting 2>/dev/null |
		awk '/comment "src-check"/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}
M_LAN_OTHER=192.168.1.77	# an address of Manhattan's own LAN
STRANGER=10.99.0.1		# nobody's network

section "source check, plain peers: a forgery with another source is dropped and counted"
out=$(igw m-gw up sites/manhattan.ini 2>&1) || { fail "up manhattan (plain)"; t_note <<<"$out"; }
out=$(igw b-gw up sites/brooklyn.ini 2>&1) || { fail "up brooklyn (plain)"; t_note <<<"$out"; }
expect_grep "the table has the source check" 'iifname @tunnels fib saddr \. iif oif missing counter packets 0 bytes 0 drop comment "src-check"' \
	"$(lab_exec m-gw nft list chain ip gatewayctl-manhattan prerouting)"
expect_ping b-ws "$LAB_M_APP" "plain: b-ws pings m-app (genuine sources pass)"
expect_ping m-app "$LAB_B_WS" "plain: m-app pings b-ws"
c0=$(src_checked m-gw manhattan)
before=$(udp_counter m-app)
forge_ipip inet "$LAB_B_GW_PUB" "$LAB_M_GW_PUB" "$LAB_B_WS" "$LAB_M_APP" $PORT_M 2
sleep 0.5
expect_eq "$(udp_counter m-app)" "$((before + 2))" "IPIP from Brooklyn's endpoint with a Brooklyn source reaches m-app"
before=$(udp_counter m-app)
forge_ipip inet "$LAB_B_GW_PUB" "$LAB_M_GW_PUB" "$M_LAN_OTHER" "$LAB_M_APP" $PORT_M 3
forge_ipip inet "$LAB_B_GW_PUB" "$LAB_M_GW_PUB" "$STRANGER" "$LAB_M_APP" $PORT_M 2
sleep 0.5
expect_eq "$(udp_counter m-app)" "$before" "... with Manhattan's own LAN address or a stranger's as source: nothing reaches m-app"
expect_eq "$(src_checked m-gw manhattan)" "$((c0 + 5))" "src-check counted the 5"
out=$(igw m-gw status manhattan 2>&1) || true
expect_grep "status shows the src-check counter" 'src-check +5 packets' "$out"
out=$(igw m-gw status --prometheus manhattan 2>&1) || true
expect_grep "metrics: the src-check rule's packets" 'gatewayctl_nftables_rule_packets_total\{site="manhattan",rule="src-check"\} 5' "$out"
h=$(lab_exec m-gw nft -a list chain ip gatewayctl-manhattan prerouting | awk '/"src-check"/ { print $NF }')
lab_exec m-gw nft delete rule ip gatewayctl-manhattan prerouting handle "$h"
out=$(igw m-gw plan sites/manhattan.ini 2>&1) || true
expect_grep "the rule deleted by hand: plan says the table differs" 'table gatewayctl-manhattan differs from the file' "$out"
expect_grep "... and puts the rule back" "prerouting iifname @tunnels fib saddr . iif oif missing counter drop comment" "$out"
out=$(igw m-gw up sites/manhattan.ini 2>&1) || { fail "up manhattan restores the rule"; t_note <<<"$out"; }
out=$(igw m-gw plan sites/manhattan.ini 2>&1) || true
expect_grep "after up: no changes (the read-back knows the rule)" 'no changes' "$out"

section "source check, ipsec peers: the authenticated peer cannot use another source"
out=$(igw m-gw up "$M" 2>&1) || { fail "up manhattan (ipsec)"; t_note <<<"$out"; }
out=$(igw b-gw up "$B" 2>&1) || { fail "up brooklyn (ipsec)"; t_note <<<"$out"; }
wait_established m-gw manhattan 30 && ok "established" || fail "established"
expect_ping b-ws "$LAB_M_APP" "ipsec: b-ws pings m-app"
c0=$(src_checked m-gw manhattan)
before=$(udp_counter m-app)
forge_udp b-gw "$LAB_B_GW_LAN" "$LAB_M_APP" $PORT_M 2
sleep 0.5
expect_eq "$(udp_counter m-app)" "$((before + 2))" "from b-gw through the SA with Brooklyn's source: reaches m-app"
before=$(udp_counter m-app)
forge_udp b-gw "$M_LAN_OTHER" "$LAB_M_APP" $PORT_M 3
sleep 0.5
expect_eq "$(udp_counter m-app)" "$before" "... with Manhattan's own LAN address as source: never reaches m-app"
expect_eq "$(src_checked m-gw manhattan)" "$((c0 + 3))" "... dropped and counted by src-check"
igw m-gw down manhattan >/dev/null 2>&1 || fail "down manhattan (end)"
igw b-gw down brooklyn >/dev/null 2>&1 || fail "down brooklyn (end)"

section "two sites with one WAN address on one gateway: the second is refused"
out=$(igw m-gw up sites/manhattan.ini 2>&1) || { fail "up manhattan (plain)"; t_note <<<"$out"; }
M2=$(sed 's/^name = manhattan$/name = uptown/; s/^tunnel = gw-brooklyn$/tunnel = gw-b2/; s|^networks = 192.168.2.0/24$|networks = 10.2.0.0/16|; s|^lan_address = 192.168.2.126$|lan_address = 10.2.0.1|; /^\[relay\]/,$d' \
	sites/manhattan.ini | site_file uptown)
out=$(igw m-gw check "$M2" 2>&1) && ok "the second site's file is valid on its own" || { fail "check uptown"; t_note <<<"$out"; }
before=$(snap m-gw)
out=$(igw m-gw up "$M2" 2>&1) && rc=0 || rc=$?
expect_eq "$rc" 1 "up of a second site with manhattan's wan_address fails"
expect_grep "... naming both files and the address" \
	"$M2:[0-9]+: error: wan_address 172.16.1.12 is also the WAN address of site manhattan \\($PWD/sites/manhattan.ini:[0-9]+\\)" "$out"
expect_grep "... saying why" "drop each other's IKE, ESP and IPIP" "$out"
expect_same "... changing nothing" "$before" "$(snap m-gw)"
out=$(igw m-gw down manhattan 2>&1) || { fail "down manhattan (end)"; t_note <<<"$out"; }
out=$(igw m-gw up "$M2" 2>&1) && ok "with manhattan down, the second site comes up" || { fail "up uptown alone"; t_note <<<"$out"; }
igw m-gw down uptown >/dev/null 2>&1 || fail "down uptown"

t_done
