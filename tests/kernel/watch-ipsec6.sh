#!/bin/bash
# tests/kernel/watch-ipsec6.sh - an encrypted IPv6 peer that moves with no DNS
# (issues 20 and 22): both offices `encryption = ipsec` over an IPv6-only
# internet (LAB_WAN6=1, sites/ipv6-wan, as ipsec-wan6.sh), `gatewayctl watch`
# on Manhattan, whose file names Brooklyn's OLD IPv6 address. Brooklyn's ISP
# moves it (a new IPv6 address added, the old one removed, Brooklyn's own file
# and up following): Brooklyn's charon, the IKE_SA's initiator, carries the
# move inside it (MOBIKE over IPv6); Manhattan's watcher hears charon's
# ike-update and moves the ip6tnl's remote, the ip6 peer sets, the IPv6 xfrm
# block policies and the IKE connection in one repair.
#
#   tests/vm/run -- tests/kernel/all.sh watch-ipsec6
#
# Proves: the ip6tnl, both ip6 sets, the block policies and charon's connection
# on m-gw name the new address and nothing names the old one; both families
# cross (4in6, 6in6) with only ESP on the internet; the watcher logs the move
# saying IKE; the state file says `endpoint brooklyn NEW 0 ike OLD`; status
# (text, JSON) shows the endpoint and that it came from IKE; a plain up of the
# unchanged file keeps it; down exact.
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

OLD=2001:db8:ffff:2::10
NEW=2001:db8:ffff:2::11
MGW=2001:db8:ffff:1::12

pings() { # LABEL
	expect_ping b-ws "$LAB_M_APP" "$1: IPv4 b-ws pings m-app (4in6)"
	expect_ping b-ws "$LAB_M_APP6" "$1: IPv6 b-ws pings m-app (6in6)"
	expect_ping m-gw "$LAB_B_WS" "$1: IPv4 m-gw pings b-ws"
	expect_ping m-gw "$LAB_B_WS6" "$1: IPv6 m-gw pings b-ws"
}

PSK=$(psk_file shared)
# (no probes from Manhattan's watcher: Brooklyn's charon alone initiates)
M=$(sed "s|^lan_address = 192.168.2.126, 2001:db8:2::126$|&\\nencryption = ipsec\\npsk_file = $PSK|
	s|^gateway = .*|&\\nprobe_interval = 0|" sites/ipv6-wan/manhattan.ini | site_file m-wan6)
B=$(sed "s|^lan_address = 192.168.1.126, 2001:db8:1::126$|&\\nencryption = ipsec\\npsk_file = $PSK|" \
	sites/ipv6-wan/brooklyn.ini | site_file b-wan6)
expect_grep "Manhattan's file names Brooklyn's old address" "^endpoint = $OLD\$" "$(cat "$M")"

# Manhattan's watcher brings its site up, in m-gw's namespaces (its charon's
# /run) and run directory; WM is the watcher itself (lab_gw_spawn)
mkdir -p "$(gw_rundir m-gw)" "$(gw_libdir m-gw)"
lab_gw_spawn m-gw env -u JOURNAL_STREAM GATEWAYCTL_RUNDIR="$(gw_rundir m-gw)" \
	GATEWAYCTL_LIBDIR="$(gw_libdir m-gw)" "$GWCTL" watch "$M" >>"$T_TMP/watch-m-gw.log" 2>&1
WM=$!
T_PIDS="$T_PIDS $WM"
# shellcheck disable=SC2317 # called by trap
stop_watcher() { kill "$WM" 2>/dev/null || true; wait "$WM" 2>/dev/null || true; }
trap 'stop_watcher; ipsec_cleanup' EXIT
out=$(igw b-gw up "$B" 2>&1) && ok "up brooklyn" || { fail "up brooklyn"; t_note <<<"$out"; }

tunnel_m() { lab_exec m-gw ip -d link show gw-brooklyn 2>/dev/null | grep -o 'remote [0-9a-f:]* local [0-9a-f:]*' || true; }
wait_for 30 sh -c "ip netns exec $(lab_ns m-gw) ip link show gw-brooklyn" >/dev/null 2>&1 ||
	fail "the watcher brought manhattan up"
expect_eq "$(tunnel_m)" "remote $OLD local $MGW" "before the move: m-gw's ip6tnl goes to $OLD"
# Brooklyn's charon initiates (the first packet is b-ws's): it sends the MOBIKE update
# (the IKE_SA's first seconds under TCG: more than _t_ping's three tries)
if wait_for 30 _t_ping b-ws "$LAB_M_APP"; then
	ok "before the move: b-ws pings m-app (Brooklyn's charon initiates)"
else
	fail "before the move: b-ws pings m-app (Brooklyn's charon initiates)"
fi
wait_established m-gw manhattan 30 && ok "the IKE_SA is established" || fail "the IKE_SA is established"
pings "before the move"
expect_grep "Brooklyn initiated the IKE_SA (it sends the MOBIKE update)" '_i\* ' \
	"$(sw b-gw --list-sas 2>/dev/null | grep -m1 'gatewayctl-brooklyn_manhattan' || true)"

section "Brooklyn moves from $OLD to $NEW"
lm=$(wc -l <"$(charon_log m-gw)")
t0=${EPOCHREALTIME/./}
lab_exec b-gw ip -6 addr add "$NEW/64" dev eth1 nodad
sed -i "s|^wan_address = .*|wan_address = $NEW/64|" "$B"
out=$(igw b-gw up "$B" 2>&1) || { fail "brooklyn's up follows its new address"; t_note <<<"$out"; }
lab_exec b-gw ip -6 addr del "$OLD/64" dev eth1
moved() { [ "$(tunnel_m)" = "remote $NEW local $MGW" ]; }
if wait_for 30 moved; then
	ok "m-gw's ip6tnl moved to $NEW, $(( (${EPOCHREALTIME/./} - t0) / 1000 )) ms after the ISP's change"
else
	fail "m-gw's ip6tnl moved to $NEW"
	{ echo "m-gw: $(tunnel_m)"; tail -20 "$T_TMP/watch-m-gw.log"; sw m-gw --list-sas; } 2>&1 | t_note
	t_done	# the rest would fail too, each after its timeouts
fi
tail -n +"$((lm + 1))" "$(charon_log m-gw)" | grep -E 'MOBIKE|roam|path|address' | head -10 | sed 's/^/# m-gw charon: /'
grep -E 'IKE|repair' "$T_TMP/watch-m-gw.log" | tail -3 | cut -c1-200 | sed 's/^/# m-gw watch: /'

cap_start move-m inet eth-m
pings "after the move"
cap_stop move-m
sum=$(cap_summary6 move-m)
t_log "after the move: $sum"
expect_ok "the internet saw ESP ($sum)" test "$(kv esp "$sum")" -gt 0
expect_eq "$(kv ipip "$sum")/$(kv sit "$sum")/$(kv inner "$sum")" 0/0/0 "no 4in6, no 6in6, no LAN address in clear"

expect_grep "m-gw's ip6 peer set holds $NEW" "elements = \\{ $NEW \\}" \
	"$(lab_exec m-gw nft list set ip6 gatewayctl-manhattan endpoints)"
expect_grep "... and its encrypted peers' set" "elements = \\{ $NEW \\}" \
	"$(lab_exec m-gw nft list set ip6 gatewayctl-manhattan encrypted)"
expect_eq "$(lab_exec m-gw ip -6 xfrm policy list src "$NEW/128" dst "$MGW/128" proto 41 dir in |
	grep -c 'action block' || true)" 2 "m-gw's IPv6 block policies cover $NEW (41 in, both marks)"
if lab_exec m-gw ip -6 xfrm policy list | grep -q "$OLD/128"; then
	fail "no xfrm policy of m-gw names $OLD any more"
	lab_exec m-gw ip -6 xfrm policy list | t_note
else
	ok "no xfrm policy of m-gw names $OLD any more"
fi
expect_grep "charon's connection on m-gw goes to $NEW" "remote: +$NEW\$" \
	"$(sw m-gw --list-conns 2>/dev/null | grep -A2 '^gatewayctl-manhattan_brooklyn' || true)"
expect_grep "m-gw's watcher logged the move, saying IKE" \
	"IKE: peer brooklyn moved: its IKE_SA gatewayctl-manhattan_brooklyn \\(authenticated as brooklyn\\) is at $NEW now \\(was $OLD\\)" \
	"$(cat "$T_TMP/watch-m-gw.log")"
expect_grep "... and repaired through the engine" "repaired .*IKE found peer brooklyn at $NEW" \
	"$(cat "$T_TMP/watch-m-gw.log")"
expect_grep "the state file records the move and the file's address" "^endpoint brooklyn $NEW 0 ike $OLD\$" \
	"$(cat "$(gw_statedir m-gw)/manhattan.state")"
out=$(igw m-gw status manhattan 2>&1) || true
expect_grep "status shows the peer's current endpoint, from IKE" \
	"peer brooklyn \\(endpoint $NEW \\(from IKE: the peer moved there from $OLD\\)\\)" "$out"
out=$(igw m-gw status --json manhattan 2>&1) || true
expect_grep "status --json: the endpoint, its source, the file's address" \
	"\"endpoint\": \"$NEW\", \"endpoint_source\": \"ike\", \"endpoint_file\": \"$OLD\"" "$out"

section "the unchanged file: a plain up keeps the address IKE found"
stop_watcher
if lab_exec m-gw sh -c 'ps -eo args 2>/dev/null || true' | grep -q "[w]atch $M"; then
	fail "the watcher has ended"
else
	ok "the watcher has ended"
fi
expect_grep "Manhattan's file still names the old address" "^endpoint = $OLD\$" "$(cat "$M")"
out=$(igw m-gw up "$M" 2>&1) || true
expect_grep "a plain up: no changes" 'no changes' "$out"
expect_eq "$(tunnel_m)" "remote $NEW local $MGW" "... the ip6tnl stays at $NEW"
pings "after the plain up"

section "down: exact"
out=$(igw m-gw down manhattan 2>&1) && ok "down manhattan" || { fail "down manhattan"; t_note <<<"$out"; }
out=$(igw b-gw down brooklyn 2>&1) && ok "down brooklyn" || { fail "down brooklyn"; t_note <<<"$out"; }
lab_charon_stop m-gw
lab_charon_stop b-gw
lab_exec b-gw ip -6 addr del "$NEW/64" dev eth1
lab_exec b-gw ip -6 addr add "$OLD/64" dev eth1 nodad
expect_same "after down, m-gw is exactly as before" "$before_m" "$(snap m-gw)"
expect_same "after down, b-gw is exactly as before" "$before_b" "$(snap b-gw)"
t_done
