#!/bin/bash
# tests/kernel/ipsec-wan6.sh - issue 22: `encryption = ipsec` over an IPv6-only
# internet (LAB_WAN6=1, sites/ipv6-wan): the ip6tnl's next headers 4 (4in6) and
# 41 (6in6) inside ESP between the IPv6 WAN addresses. IKE over IPv6 (no NAT-T),
# a child SA with a selector per protocol, gatewayctl's xfrm block policies in
# AF_INET6 (8 per peer), the ip6 table's ipsec rules (ipsec-4in6-in/-out,
# ipsec-6in6-in/-out, ike-other6, esp-other6).
#
#   tests/vm/run -- tests/kernel/all.sh ipsec-wan6
#
# Proves: plan shows IPv6 IKE addresses, both selectors, the IPv6 block policies
# and the ip6 rules; both families cross with only ESP on the internet (no next
# header 4 or 41 in clear, no LAN address); charon gone and our block policies
# deleted: the ip6 table alone keeps it closed; charon gone and nftables flushed:
# the block policies alone do (XfrmOutPolBlock); up repairs; down exact.
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
export LAB_WAN6=1 LAB_IPV6=1

ipsec_lab
before_m=$(snap m-gw)
before_b=$(snap b-gw)
lab_charon_start m-gw "$IPSEC_CHARON_CONF"
lab_charon_start b-gw "$IPSEC_CHARON_CONF"

# gatewayctl's IPv6 block policies in GW for next header PROTO (priorities 0x7fff0000 and up)
blocks() { # GW PROTO
	lab_exec "$1" ip -6 xfrm policy list proto "$2" | grep -c 'action block priority 21474' || true
}
pings() { # LABEL
	expect_ping b-ws "$LAB_M_APP" "$1: IPv4 b-ws pings m-app (4in6)"
	expect_ping b-ws "$LAB_M_APP6" "$1: IPv6 b-ws pings m-app (6in6)"
	expect_ping m-gw "$LAB_B_WS" "$1: IPv4 m-gw pings b-ws"
	expect_ping m-gw "$LAB_B_WS6" "$1: IPv6 m-gw pings b-ws"
}
no_pings() { # LABEL
	expect_no_ping b-ws "$LAB_M_APP" "$1: IPv4 b-ws cannot reach m-app"
	expect_no_ping b-ws "$LAB_M_APP6" "$1: IPv6 b-ws cannot reach m-app"
	expect_no_ping m-gw "$LAB_B_WS" "$1: IPv4 m-gw cannot reach b-ws"
	expect_no_ping m-gw "$LAB_B_WS6" "$1: IPv6 m-gw cannot reach b-ws"
}

PSK=$(psk_file shared)
M=$(sed "s|^lan_address = 192.168.2.126, 2001:db8:2::126$|&\\nencryption = ipsec\\npsk_file = $PSK|" \
	sites/ipv6-wan/manhattan.ini | site_file m-wan6)
B=$(sed "s|^lan_address = 192.168.1.126, 2001:db8:1::126$|&\\nencryption = ipsec\\npsk_file = $PSK|" \
	sites/ipv6-wan/brooklyn.ini | site_file b-wan6)
expect_eq "$(cat "$M" "$B" | grep -c '^encryption = ipsec$')" 2 "both files are encrypted"

section "plan: IKE over IPv6, both protocols, IPv6 block policies, the ip6 rules"
out=$(igw m-gw plan "$M" 2>&1) || true
expect_grep "plan: IKE between the IPv6 WAN addresses" 'local_addrs = 2001:db8:ffff:1::12' "$out"
expect_grep "... to the peer's IPv6 endpoint" 'remote_addrs = 2001:db8:ffff:2::10' "$out"
expect_grep "... no forced UDP encapsulation" 'encap = no' "$out"
expect_grep "plan: the child covers next headers 4 and 41" 'local_ts = dynamic\[4\], dynamic\[41\]' "$out"
expect_grep "plan: an IPv6 block policy for 41 out" \
	'ip xfrm policy add src 2001:db8:ffff:1::12/128 dst 2001:db8:ffff:2::10/128 proto 41 dir out action block' "$out"
expect_grep "... and for 4 in" \
	'ip xfrm policy add src 2001:db8:ffff:2::10/128 dst 2001:db8:ffff:1::12/128 proto 4 dir in action block' "$out"
expect_grep "plan: 6in6 without ESP dropped" \
	'meta l4proto 41 ip6 saddr @encrypted meta secpath missing counter drop comment "ipsec-6in6-in"' "$out"
expect_grep "plan: IKE to us from others dropped" \
	'ip6 daddr 2001:db8:ffff:1::12 udp dport 500 ip6 saddr != @encrypted counter drop comment "ike-other6"' "$out"

section "up: ESP over IPv6, both families cross"
out=$(igw m-gw up "$M" 2>&1) && ok "up manhattan" || { fail "up manhattan"; t_note <<<"$out"; }
out=$(igw b-gw up "$B" 2>&1) && ok "up brooklyn" || { fail "up brooklyn"; t_note <<<"$out"; }
expect_grep "the tunnel is an ip6tnl" 'ip6tnl any remote 2001:db8:ffff:2::10' "$(lab_exec m-gw ip -d link show gw-brooklyn)"
expect_eq "$(blocks m-gw 4)/$(blocks m-gw 41)" 4/4 "m-gw: 4 IPv6 block policies for 4, 4 for 41"
expect_eq "$(blocks b-gw 4)/$(blocks b-gw 41)" 4/4 "b-gw: the same"
wait_established m-gw manhattan 30 && ok "the SA is established" || fail "the SA is established"
cap_start up-m inet eth-m
pings "through ESP"
cap_stop up-m
sum=$(cap_summary6 up-m)
t_log "through ESP: $sum"
expect_ok "the internet saw ESP ($sum)" test "$(kv esp "$sum")" -gt 0
expect_eq "$(kv ipip "$sum")/$(kv sit "$sum")/$(kv inner "$sum")" 0/0/0 "no 4in6, no 6in6, no LAN address in clear"
expect_eq "$(kv udp4500 "$sum")" 0 "no UDP encapsulation over IPv6"
expect_ok "charon's IPv6 policies take 41 out" test "$(lab_exec m-gw ip -6 xfrm policy list proto 41 | grep -c tmpl)" -ge 2
out=$(igw m-gw status --json manhattan 2>&1) || true
expect_grep "status --json: block_policies wanted 8, present 8" \
	'"block_policies": \{"readable": true, "wanted": 8, "present": 8\}' "$out"
expect_grep "... established" '"established": true' "$out"
out=$(igw m-gw up "$M" 2>&1) || true
expect_grep "a second up changes nothing" 'no changes' "$out"

section "charon gone, our block policies deleted: the ip6 table alone keeps it closed"
lab_charon_stop m-gw
lab_charon_stop b-gw
lab_exec m-gw ip xfrm policy flush
lab_exec b-gw ip xfrm policy flush
prove_closed "the ip6 table alone" nft
expect_grep "ipsec-6in6-out counted" \
	'meta l4proto ipv6 ip6 daddr @encrypted rt ipsec missing counter packets [1-9][0-9]* bytes [0-9]+ drop' \
	"$(lab_exec m-gw nft list table ip6 gatewayctl-manhattan)"

section "charon back: up restores, traffic flows"
lab_charon_start m-gw "$IPSEC_CHARON_CONF"
lab_charon_start b-gw "$IPSEC_CHARON_CONF"
out=$(igw m-gw plan "$M" 2>&1) || true
expect_grep "plan: the 8 IPv6 block policies are missing" 'its xfrm block policies for IP protocols 4 and 41 missing' "$out"
out=$(igw m-gw up "$M" 2>&1) || { fail "up manhattan again"; t_note <<<"$out"; }
out=$(igw b-gw up "$B" 2>&1) || { fail "up brooklyn again"; t_note <<<"$out"; }
expect_eq "$(blocks m-gw 4)/$(blocks m-gw 41)" 4/4 "the block policies are back"
wait_established m-gw manhattan 30 && ok "established again" || fail "established again"
pings "again"

section "charon gone, nftables flushed: the block policies alone keep it closed"
lab_exec m-gw nft flush ruleset
lab_exec b-gw nft flush ruleset
lab_charon_stop m-gw
lab_charon_stop b-gw
blocked0=$(xfrm_stat m-gw XfrmOutPolBlock)
prove_closed "the block policies alone" xfrm
expect_ok "the kernel counted blocked output (XfrmOutPolBlock $blocked0 -> $(xfrm_stat m-gw XfrmOutPolBlock))" \
	test "$(xfrm_stat m-gw XfrmOutPolBlock)" -gt "$blocked0"

section "down: exact"
lab_charon_start m-gw "$IPSEC_CHARON_CONF"
lab_charon_start b-gw "$IPSEC_CHARON_CONF"
out=$(igw m-gw down manhattan 2>&1) && ok "down manhattan" || { fail "down manhattan"; t_note <<<"$out"; }
expect_eq "$(grep -c '^ip xfrm policy delete' <<<"$out")" 8 "down prints the 8 deletions"
out=$(igw b-gw down brooklyn 2>&1) && ok "down brooklyn" || { fail "down brooklyn"; t_note <<<"$out"; }
expect_eq "$(blocks m-gw 4)$(blocks m-gw 41)$(blocks b-gw 4)$(blocks b-gw 41)" 0000 "no block policy left"
lab_charon_stop m-gw
lab_charon_stop b-gw
expect_same "after down, m-gw is exactly as before" "$before_m" "$(snap m-gw)"
expect_same "after down, b-gw is exactly as before" "$before_b" "$(snap b-gw)"
t_done
