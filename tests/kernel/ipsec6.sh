#!/bin/bash
# tests/kernel/ipsec6.sh - issue 22: `encryption = ipsec` for a dual-stack peer over
# the IPv4 internet. Its tunnel is a sit in mode any (IP protocol 4 for IPv4, 41
# for IPv6); IPsec covers both: the child SA's traffic selectors (dynamic[4] and
# dynamic[41]), gatewayctl's xfrm block policies (8 per peer: 2 protocols x 2
# directions x 2 marks) and the nftables rules (ipsec-in/-out and
# ipsec-6in4-in/-out).
#
#   tests/vm/run -- tests/kernel/all.sh ipsec6
#
# Proves: plan shows both selectors and the policies for 41; both families' pings
# cross with only ESP on the internet (no protocol 4 or 41 in clear, no LAN address
# of either family); charon gone and our block policies deleted: the nftables rules
# alone keep both families from leaving in clear (ipsec-6in4-out counts); charon
# gone and nftables flushed: the block policies alone do (XfrmOutPolBlock); a
# second up changes nothing; down exact (no policy of ours left, charon's
# connections gone). Against a build without the protocol 41 block policies the
# "block policies alone" part fails: the sit's 6in4 leaves in clear.
set -eu
# shellcheck source=tests/kernel/lib/lib.sh
. "$(dirname "$0")/lib/lib.sh"
t_need_ipip
[ -e /proc/sys/net/ipv6 ] || t_skip "this kernel has no IPv6"
# shellcheck source=tests/kernel/lib/gw.sh
. "$(dirname "$0")/lib/gw.sh"
# shellcheck source=tests/kernel/lib/lib-ipsec.sh
. "$(dirname "$0")/lib/lib-ipsec.sh"
ipsec_need
# shellcheck source=tests/kernel/lib/lib-gwipsec.sh
. "$(dirname "$0")/lib/lib-gwipsec.sh"
export LAB_IPV6=1

ipsec_lab
before_m=$(snap m-gw)
before_b=$(snap b-gw)
lab_charon_start m-gw "$IPSEC_CHARON_CONF"
lab_charon_start b-gw "$IPSEC_CHARON_CONF"

# gatewayctl's block policies in GW for protocol PROTO (priorities 0x7fff0000 and up: 21474...)
blocks() { # GW PROTO
	lab_exec "$1" ip xfrm policy list proto "$2" | grep -c 'action block priority 21474' || true
}
pings() { # LABEL: both families, both ways where the lab routes them
	expect_ping b-ws "$LAB_M_APP" "$1: IPv4 b-ws pings m-app"
	expect_ping m-app "$LAB_B_WS" "$1: IPv4 m-app pings b-ws"
	expect_ping b-ws "$LAB_M_APP6" "$1: IPv6 b-ws pings m-app"
	expect_ping m-gw "$LAB_B_WS6" "$1: IPv6 m-gw pings b-ws"
}
no_pings() { # LABEL
	expect_no_ping b-ws "$LAB_M_APP" "$1: IPv4 b-ws cannot reach m-app"
	expect_no_ping m-app "$LAB_B_WS" "$1: IPv4 m-app cannot reach b-ws"
	expect_no_ping b-ws "$LAB_M_APP6" "$1: IPv6 b-ws cannot reach m-app"
	expect_no_ping m-gw "$LAB_B_WS6" "$1: IPv6 m-gw cannot reach b-ws"
}
PSK=$(psk_file shared)
M=$(site_m m-ipsec6 "psk_file = $PSK")
B=$(site_b b-ipsec6 0 "psk_file = $PSK")
sed -i -e 's|^lan_address = 192.168.1.126/24$|lan_address = 192.168.1.126/24, 2001:db8:1::126/64|' \
	-e 's|^networks = 192.168.2.0/24$|networks = 192.168.2.0/24, 2001:db8:2::/64|' "$M"
sed -i -e 's|^lan_address = 192.168.2.126/24$|lan_address = 192.168.2.126/24, 2001:db8:2::126/64|' \
	-e 's|^networks = 192.168.1.0/24$|networks = 192.168.1.0/24, 2001:db8:1::/64|' "$B"
expect_grep "the Manhattan file is dual-stack and encrypted" \
	'^networks = 192.168.2.0/24, 2001:db8:2::/64$' "$(grep -A1 '^networks' "$M")"

section "plan: both protocols in the child, the block policies and the nft rules"
out=$(igw m-gw plan "$M" 2>&1) || true
expect_grep "plan: the child covers protocols 4 and 41 (local)" 'local_ts = dynamic\[4\], dynamic\[41\]' "$out"
expect_grep "... (remote)" 'remote_ts = dynamic\[4\], dynamic\[41\]' "$out"
expect_grep "plan: the block policy for protocol 41 out" \
	"ip xfrm policy add src $LAB_M_GW_PUB/32 dst $LAB_B_GW_PUB/32 proto 41 dir out action block priority [0-9]+ mark 0 mask 0x800000" "$out"
expect_grep "... and in" \
	"ip xfrm policy add src $LAB_B_GW_PUB/32 dst $LAB_M_GW_PUB/32 proto 41 dir in action block priority [0-9]+ mark 0x800000 mask 0x800000" "$out"
expect_grep "... saying why" 'its xfrm block policies for IP protocols 4 and 41 missing' "$out"
expect_grep "plan: 41 from an encrypted peer without ESP is dropped" \
	'ip protocol 41 ip saddr @encrypted meta secpath missing counter drop comment "ipsec-6in4-in"' "$out"
expect_grep "plan: 41 to it without a policy is dropped" \
	'ip protocol 41 ip daddr @encrypted rt ipsec missing counter drop comment "ipsec-6in4-out"' "$out"

section "up: SAs for 4 and 41, both families cross, only ESP on the wire"
out=$(igw m-gw up "$M" 2>&1) && ok "up manhattan" || { fail "up manhattan"; t_note <<<"$out"; }
out=$(igw b-gw up "$B" 2>&1) && ok "up brooklyn" || { fail "up brooklyn"; t_note <<<"$out"; }
expect_grep "the tunnel is a sit in mode any" 'sit any remote 172.17.2.10 local 172.16.1.12' \
	"$(lab_exec m-gw ip -d link show gw-brooklyn)"
expect_eq "$(blocks m-gw 4)/$(blocks m-gw 41)" 4/4 "m-gw: 4 block policies for protocol 4, 4 for 41"
expect_eq "$(blocks b-gw 4)/$(blocks b-gw 41)" 4/4 "b-gw: the same"
wait_established m-gw manhattan 30 && ok "the SA is established" || fail "the SA is established"
cap_start up-m inet eth-m
pings "through ESP"
cap_stop up-m
sum=$(cap_summary6 up-m)
t_log "through ESP: $sum"
expect_ok "the internet saw ESP ($sum)" test "$(kv esp "$sum")" -gt 0
expect_eq "$(kv ipip "$sum")/$(kv sit "$sum")/$(kv inner "$sum")" 0/0/0 "no protocol 4, no 41, no LAN address in clear"
expect_ok "charon's policies take protocol 41 out (a template each way)" \
	test "$(lab_exec m-gw ip xfrm policy list proto 41 | grep -c tmpl)" -ge 2
out=$(igw m-gw status --json manhattan 2>&1) || true
expect_grep "status --json: block_policies wanted 8, present 8" \
	'"block_policies": \{"readable": true, "wanted": 8, "present": 8\}' "$out"
out=$(igw m-gw up "$M" 2>&1) || true
expect_grep "a second up changes nothing" 'no changes' "$out"

section "charon gone, our block policies deleted: the nftables rules alone keep it closed"
lab_charon_stop m-gw
lab_charon_stop b-gw
expect_eq "$(lab_exec m-gw ip xfrm policy list | grep -c tmpl || true)" 0 "charon took its policies with it"
lab_exec m-gw ip xfrm policy flush
lab_exec b-gw ip xfrm policy flush
prove_closed "nftables alone" nft
expect_grep "ipsec-6in4-out counted the IPv6 pings' 6in4" \
	'ip protocol ipv6 ip daddr @encrypted rt ipsec missing counter packets [1-9][0-9]* bytes [0-9]+ drop' \
	"$(lab_exec m-gw nft list table ip gatewayctl-manhattan)"

section "charon back: up restores the policies, traffic flows"
lab_charon_start m-gw "$IPSEC_CHARON_CONF"
lab_charon_start b-gw "$IPSEC_CHARON_CONF"
out=$(igw m-gw plan "$M" 2>&1) || true
expect_grep "plan: the 8 block policies are missing" 'peer brooklyn: its xfrm block policies for IP protocols 4 and 41 missing' "$out"
expect_eq "$(grep -c '^ip xfrm policy add' <<<"$out")" 8 "... 8 to add"
out=$(igw m-gw up "$M" 2>&1) || { fail "up manhattan again"; t_note <<<"$out"; }
out=$(igw b-gw up "$B" 2>&1) || { fail "up brooklyn again"; t_note <<<"$out"; }
expect_eq "$(blocks m-gw 4)/$(blocks m-gw 41)" 4/4 "m-gw: the block policies are back"
wait_established m-gw manhattan 30 && ok "established again" || fail "established again"
pings "again"

section "charon gone, nftables flushed: the block policies alone keep it closed"
lab_exec m-gw nft flush ruleset
lab_exec b-gw nft flush ruleset
lab_charon_stop m-gw
lab_charon_stop b-gw
expect_eq "$(blocks m-gw 4)$(blocks m-gw 41)$(blocks b-gw 4)$(blocks b-gw 41)" 4444 "our 16 policies stay"
blocked0=$(xfrm_stat m-gw XfrmOutPolBlock)
prove_closed "block policies alone" xfrm
expect_ok "the kernel counted blocked output (XfrmOutPolBlock $blocked0 -> $(xfrm_stat m-gw XfrmOutPolBlock))" \
	test "$(xfrm_stat m-gw XfrmOutPolBlock)" -gt "$blocked0"

section "down: exact"
lab_charon_start m-gw "$IPSEC_CHARON_CONF"
lab_charon_start b-gw "$IPSEC_CHARON_CONF"
out=$(igw m-gw down manhattan 2>&1) && ok "down manhattan" || { fail "down manhattan"; t_note <<<"$out"; }
expect_eq "$(grep -c '^ip xfrm policy delete' <<<"$out")" 8 "down prints the 8 deletions"
out=$(igw b-gw down brooklyn 2>&1) && ok "down brooklyn" || { fail "down brooklyn"; t_note <<<"$out"; }
expect_eq "$(blocks m-gw 4)$(blocks m-gw 41)$(blocks b-gw 4)$(blocks b-gw 41)" 0000 "no block policy left"
expect_eq "$(ours_in_charon m-gw)/$(ours_in_charon b-gw)" 0/0 "no connection of ours left in charon"
lab_charon_stop m-gw
lab_charon_stop b-gw
expect_same "after down, m-gw is exactly as before" "$before_m" "$(snap m-gw)"
expect_same "after down, b-gw is exactly as before" "$before_b" "$(snap b-gw)"
t_done
