#!/bin/bash
# tests/kernel/ipsec-nat.sh - `encryption = ipsec` with Brooklyn's gateway behind a NAT
# router (lab_up --nat: b-gw's WAN address is 10.0.2.10, the router b-nat holds the
# endpoint Manhattan knows, 172.17.2.10). IKE's NAT traversal carries ESP in UDP 4500;
# the offices talk both ways, nothing but UDP 4500 crosses the internet router during
# the traffic, a forgery from the internet reaches nothing, down leaves nothing.
#
#   tests/vm/run -- tests/kernel/all.sh ipsec-nat
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

ipsec_lab --nat
udp_counter_add m-app $PORT_M
lab_charon_start m-gw "$IPSEC_CHARON_CONF"
lab_charon_start b-gw "$IPSEC_CHARON_CONF"
tcp_server

PSK=$(psk_file shared)
M=$(site_m m-nat "psk_file = $PSK")
B=$(site_b b-nat 1 "psk_file = $PSK")
out=$(igw b-gw check "$B" 2>&1) && ok "check accepts Brooklyn's file with its private WAN address" ||
	{ fail "check brooklyn (NAT)"; t_note <<<"$out"; }
out=$(igw b-gw check "$M" "$B" 2>&1) && ok "the cross-site check accepts both (Brooklyn's public_address is Manhattan's endpoint)" ||
	{ fail "cross-site check (NAT)"; t_note <<<"$out"; }
B_NOPUB=$(sed '/^public_address/d' "$B" | site_file b-nat-undeclared)
out=$(igw b-gw check "$M" "$B_NOPUB" 2>&1) && rc=0 || rc=$?
expect_eq "$rc" 2 "... and without public_address it refuses Manhattan's endpoint"
expect_grep "... saying how to declare the NAT" 'behind NAT at 172\.17\.2\.10, say so in its \[site\]: `public_address = 172\.17\.2\.10`' "$out"
out=$(igw m-gw up "$M" 2>&1) && ok "up manhattan" || { fail "up manhattan"; t_note <<<"$out"; }
out=$(igw b-gw up "$B" 2>&1) && ok "up brooklyn behind NAT" || { fail "up brooklyn behind NAT"; t_note <<<"$out"; }
wait_established b-gw brooklyn 40 && ok "established through the NAT" || fail "established through the NAT"
out=$(igw b-gw status --json brooklyn 2>&1) || true
expect_grep "status --json: NAT traversal seen" '"nat_traversal": true' "$out"
expect_grep "status --json: ESP encapsulated in UDP" '"encapsulated": true' "$out"
prove_protected nat udp4500
out=$(igw m-gw status manhattan 2>&1) && rc=0 || rc=$?
expect_eq "$rc" 0 "status manhattan: healthy"
expect_grep "status shows NAT traversal" 'NAT traversal yes' "$out"

out=$(igw b-gw down brooklyn 2>&1) && ok "down brooklyn" || { fail "down brooklyn"; t_note <<<"$out"; }
out=$(igw m-gw down manhattan 2>&1) && ok "down manhattan" || { fail "down manhattan"; t_note <<<"$out"; }
expect_eq "$(lab_exec m-gw ip xfrm state | grep -c .)$(lab_exec b-gw ip xfrm state | grep -c .)" 00 "no xfrm state left"
expect_eq "$(lab_exec m-gw ip xfrm policy | grep -c 'proto ipencap')$(lab_exec b-gw ip xfrm policy | grep -c 'proto ipencap')" 00 \
	"no xfrm policy for protocol 4 left"
expect_eq "$(ours_in_charon m-gw)$(ours_in_charon b-gw)" 00 "charon lists no gatewayctl- connection"
t_done
