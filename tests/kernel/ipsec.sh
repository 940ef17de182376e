#!/bin/bash
# tests/kernel/ipsec.sh - `encryption = ipsec` by gatewayctl (issue 11): IPIP inside
# IPsec transport mode, charon (one per gateway, tests/lab/lab.sh) configured by
# gatewayctl over VICI.
#
#   tests/vm/run -- tests/kernel/all.sh ipsec
#
# Proves, with a pre-shared key and with Ed25519 public keys (Brooklyn behind a NAT
# router: ipsec-nat.sh): ping and TCP both ways; only ESP (or UDP 4500 behind NAT) on the
# internet router, no IP protocol 4, no LAN address; forged IPIP from the internet
# and from a LAN host reaches nothing (and does with encryption = none, so the check
# can fail); a wrong key passes nothing, nothing in clear, status says why; charon
# killed: status says so, up restores; interop with a hand-made peer both ways;
# exact teardown; a second up changes nothing (same SPIs); up without charon changes
# nothing; the SYN's MSS fits the ESP overhead.
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
tcp_server

# --- the baseline: encryption = none lets a forgery through (the checks can fail)
section "plain IPIP: forgeries get through"
out=$(igw m-gw up sites/manhattan.ini 2>&1) || { fail "plain up manhattan"; t_note <<<"$out"; }
out=$(igw b-gw up sites/brooklyn.ini 2>&1) || { fail "plain up brooklyn"; t_note <<<"$out"; }
before=$(udp_counter m-app)
forge_ipip inet "$LAB_B_GW_PUB" "$LAB_M_GW_PUB" "$LAB_B_WS" "$LAB_M_APP" $PORT_M 3
sleep 0.5
expect_eq "$(udp_counter m-app)" "$((before + 3))" "encryption = none: forged IPIP from inet reaches m-app"
cap_start plain inet eth-m
expect_ping b-ws "$LAB_M_APP" "plain: b-ws pings m-app"
cap_stop plain
sum=$(cap_summary plain)
expect_ok "plain: the capture check sees IP protocol 4 and LAN addresses ($sum)" \
	test "$(kv ipip "$sum")" -gt 0 -a "$(kv inner "$sum")" -gt 0

# --- PSK
section "pre-shared key"
PSK=$(psk_file shared)
M=$(site_m m-psk "psk_file = $PSK")
B=$(site_b b-psk 0 "psk_file = $PSK")
out=$(igw m-gw check "$M" 2>&1) && ok "check accepts the ipsec site file" || { fail "check"; t_note <<<"$out"; }
out=$(igw m-gw plan "$M" 2>&1)
expect_grep "plan shows the IKE connection as swanctl.conf" 'gatewayctl-manhattan_brooklyn \{' "$out"
expect_grep "... transport mode" 'mode = transport' "$out"
if grep -qF "$(cat "$PSK")" <<<"$out"; then fail "plan never prints the key"; else ok "plan never prints the key"; fi
expect_grep "plan: the tunnel's MTU leaves room for ESP" 'ip link change gw-brooklyn mtu 1432|mtu 1432' "$out"
out=$(igw m-gw up "$M" 2>&1) && ok "up manhattan (ipsec)" || { fail "up manhattan (ipsec)"; t_note <<<"$out"; }
out=$(igw b-gw up "$B" 2>&1) && ok "up brooklyn (ipsec)" || { fail "up brooklyn (ipsec)"; t_note <<<"$out"; }
expect_eq "$(ours_in_charon m-gw)" 1 "charon in m-gw lists gatewayctl-manhattan_brooklyn"
wait_established m-gw manhattan 30 && ok "the SA is established (status --json)" || fail "the SA is established (status --json)"
prove_protected psk esp
out=$(igw m-gw status manhattan 2>&1) && rc=0 || rc=$?
expect_eq "$rc" 0 "status: healthy"
expect_grep "status shows the SA: established, cipher, DH group" 'ipsec +established .*(AES_GCM|aes).*CURVE_25519' "$out"
out=$(igw m-gw status --json manhattan 2>&1) || true
expect_grep "status --json: ESP counters" '"packets_in": [1-9]' "$out"

# the SYN's MSS, as the server sees it: tunnel MTU 1432 - 40
lab_exec m-app timeout 15 tcpdump -l -n -v -c 1 -i eth0 'tcp dst port 7777 and tcp[tcpflags] & tcp-syn != 0' \
	>"$T_TMP/syn.txt" 2>/dev/null &
cap=$!
sleep 2
lab_exec b-ws socat -T 2 - "TCP4:$LAB_M_APP:7777,connect-timeout=5" </dev/null >/dev/null 2>&1 || true
wait $cap 2>/dev/null || true
expect_grep "the SYN's MSS fits the tunnel with ESP (1392)" 'mss 1392' "$(cat "$T_TMP/syn.txt")"

section "idempotence"
s1=$(spis m-gw)
out=$(igw m-gw up "$M" 2>&1) || true
expect_grep "a second up: no changes" 'no changes' "$out"
expect_eq "$(spis m-gw)" "$s1" "... and the same SPIs (no rekey, no re-initiation)"

section "forgery from a LAN host with rp_filter 0"
lab_exec m-gw sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0
before=$(udp_counter m-app)
forge_ipip m-app "$LAB_B_GW_PUB" "$LAB_M_GW_LAN" "$LAB_B_WS" "$LAB_M_APP" $PORT_M 3 || true
sleep 0.5
expect_eq "$(udp_counter m-app)" "$before" "forged IPIP from a LAN host reaches nothing"

section "teardown"
out=$(igw m-gw down manhattan 2>&1) && ok "down manhattan" || { fail "down manhattan"; t_note <<<"$out"; }
expect_eq "$(lab_exec m-gw ip xfrm state | grep -c .)" 0 "down: no xfrm state left"
expect_eq "$(lab_exec m-gw ip xfrm policy | grep -c 'proto ipencap')" 0 "down: no xfrm policy for protocol 4 left"
expect_eq "$(ours_in_charon m-gw)" 0 "down: charon lists no gatewayctl- connection"
expect_eq "$(lab_exec m-gw ip link show type ipip | grep -c gw-)" 0 "down: no tunnel left"
out=$(igw m-gw up "$M" 2>&1) || { fail "up manhattan again"; t_note <<<"$out"; }
wait_established m-gw manhattan 30 && ok "up again: established" || fail "up again: established"

section "foreign IPsec configuration stays"
lab_gw_exec m-gw sh -c 'cat >/etc/swanctl/swanctl.conf' <<-'EOF'
	connections {
	    foreign {
	        remote_addrs = 198.51.100.9
	        local {
	            auth = psk
	        }
	        remote {
	            auth = psk
	        }
	        children {
	            foreign {
	                mode = tunnel
	                remote_ts = 10.99.0.0/16
	            }
	        }
	    }
	}
EOF
out=$(sw m-gw --load-conns 2>&1) || { fail "swanctl --load-conns of the foreign connection"; t_note <<<"$out"; }
# swanctl --load-conns unloads the connections its files do not name: gatewayctl's too
out=$(igw m-gw status manhattan 2>&1) && rc=0 || rc=$?
expect_eq "$rc" 1 "after swanctl --load-conns dropped ours, status is degraded"
expect_grep "... saying the IKE connection is not loaded" 'not loaded' "$out"
out=$(igw m-gw up "$M" 2>&1) || { fail "up restores the connection"; t_note <<<"$out"; }
expect_eq "$(ours_in_charon m-gw)" 1 "up loaded it again"
expect_eq "$(sw m-gw --list-conns 2>/dev/null | grep -c '^foreign:')" 1 "the foreign connection is still there"
out=$(igw m-gw down manhattan 2>&1) || true
expect_eq "$(sw m-gw --list-conns 2>/dev/null | grep -c '^foreign:')" 1 "down leaves the foreign connection alone"
lab_gw_exec m-gw sh -c ': >/etc/swanctl/swanctl.conf'
sw m-gw --load-conns >/dev/null 2>&1 || true
igw m-gw up "$M" >/dev/null 2>&1 || fail "up manhattan after the foreign test"

section "wrong key"
WRONG=$(psk_file wrong)
BW=$(site_b b-wrong 0 "psk_file = $WRONG")
igw b-gw up "$BW" >/dev/null 2>&1 || true
lab_exec m-gw ip xfrm state flush
lab_exec b-gw ip xfrm state flush
cap_start wrong inet eth-m
lab_exec b-ws ping -q -c 3 -i 0.3 -W 1 "$LAB_M_APP" >/dev/null 2>&1 && fail "wrong key: nothing passes" || ok "wrong key: nothing passes"
cap_stop wrong
sum=$(cap_summary wrong)
expect_eq "$(kv ipip "$sum")" 0 "wrong key: nothing in clear on inet ($sum)"
out=$(igw b-gw status brooklyn 2>&1) && rc=0 || rc=$?
expect_eq "$rc" 1 "wrong key: status exits 1"
expect_grep "... saying authentication failed" 'authentication failed' "$out"
igw b-gw up "$B" >/dev/null 2>&1 || fail "the right key again"

section "charon killed"
lab_charon_stop m-gw KILL
out=$(igw m-gw status manhattan 2>&1) && rc=0 || rc=$?
expect_eq "$rc" 1 "charon killed: status exits 1"
expect_grep "... saying charon is not reachable" 'charon.*not reachable' "$out"
lab_charon_stop b-gw
igw b-gw down brooklyn >/dev/null 2>&1 || true
before=$(snap b-gw)
out=$(igw b-gw up "$B" 2>&1) && rc=0 || rc=$?
expect_eq "$rc" 1 "up with charon absent fails"
expect_grep "... naming the daemon and the fix" 'charon.*not reachable.*|start strongSwan' "$out"
expect_same "... and changes nothing" "$before" "$(snap b-gw)"
lab_charon_start m-gw "$IPSEC_CHARON_CONF"
lab_charon_start b-gw "$IPSEC_CHARON_CONF"
out=$(igw m-gw up "$M" 2>&1) || { fail "up once charon runs again"; t_note <<<"$out"; }
out=$(igw b-gw up "$B" 2>&1) || { fail "up brooklyn once charon runs again"; t_note <<<"$out"; }
wait_established m-gw manhattan 30 && ok "up restores the SAs" || fail "up restores the SAs"
traffic "restored"

section "charon stopped: fail closed"
lab_charon_stop m-gw # TERM: charon takes its SAs and policies with it
blocked0=$(xfrm_stat m-gw XfrmOutPolBlock)
cap_start leak inet eth-m
lab_exec m-app ping -q -c 3 -i 0.3 -W 1 "$LAB_B_WS" >/dev/null 2>&1 && fail "charon stopped: nothing passes" ||
	ok "charon stopped: nothing passes"
cap_stop leak
sum=$(cap_summary leak)
expect_eq "$(kv ipip "$sum")" 0 "charon stopped: no IPIP leaves m-gw in clear ($sum)"
# (ipsec-closed.sh: without the nftables table too)
expect_ok "... gatewayctl's xfrm block policy dropped it (XfrmOutPolBlock)" \
	test "$(xfrm_stat m-gw XfrmOutPolBlock)" -gt "$blocked0"
lab_charon_start m-gw "$IPSEC_CHARON_CONF"
out=$(igw m-gw up "$M" 2>&1) || { fail "up after charon restarted"; t_note <<<"$out"; }
wait_established m-gw manhattan 30 && ok "charon back: established again" || fail "charon back: established again"

section "public keys"
igw m-gw down manhattan >/dev/null 2>&1 || true
igw b-gw down brooklyn >/dev/null 2>&1 || true
(umask 077 && "$GWCTL" genkey >"$T_TMP/keys/m.key" && "$GWCTL" genkey >"$T_TMP/keys/b.key")
MPUB=$("$GWCTL" pubkey <"$T_TMP/keys/m.key")
BPUB=$("$GWCTL" pubkey <"$T_TMP/keys/b.key")
M=$(site_m m-pub "public_key = $BPUB" | xargs sed -i "s|^mss_clamp = yes$|&\\nprivate_key = $T_TMP/keys/m.key|"; echo "$T_TMP/m-pub.ini")
B=$(site_b b-pub 0 "public_key = $MPUB" | xargs sed -i "s|^mss_clamp = yes$|&\\nprivate_key = $T_TMP/keys/b.key|"; echo "$T_TMP/b-pub.ini")
out=$(igw m-gw up "$M" 2>&1) && ok "up manhattan (public keys)" || { fail "up manhattan (public keys)"; t_note <<<"$out"; }
out=$(igw b-gw up "$B" 2>&1) && ok "up brooklyn (public keys)" || { fail "up brooklyn (public keys)"; t_note <<<"$out"; }
wait_established b-gw brooklyn 30 && ok "public keys: established" || fail "public keys: established"
prove_protected pubkey esp
igw m-gw down manhattan >/dev/null 2>&1 || fail "down manhattan (public keys)"
igw b-gw down brooklyn >/dev/null 2>&1 || fail "down brooklyn (public keys)"

section "interop: manhattan by gatewayctl, brooklyn by hand"
M=$(site_m m-psk2 "psk_file = $PSK")
IPSEC_PSK="\"$(cat "$PSK")\""
IPSEC_IKE=aes256gcm16-prfsha384-x25519
hand_ipip b-gw 1432
hand_swanctl b-gw psk
sw b-gw --load-all >/dev/null
out=$(igw m-gw up "$M" 2>&1) || { fail "up manhattan (interop)"; t_note <<<"$out"; }
wait_established m-gw manhattan 30 && ok "interop: established with the hand-made peer" || fail "interop: established with the hand-made peer"
expect_ping b-ws "$LAB_M_APP" "interop: b-ws pings m-app"
igw m-gw down manhattan >/dev/null 2>&1 || fail "down manhattan (interop)"
expect_no_xfrm_state m-gw "interop: after down, m-gw has no xfrm state"
lab_exec b-gw ip link del ipip0
# the hand-made side goes with its charon (TERM: charon removes its SAs and policies)
lab_gw_exec b-gw sh -c ': >/etc/swanctl/swanctl.conf'
lab_charon_stop b-gw
lab_charon_start b-gw "$IPSEC_CHARON_CONF"

section "interop: brooklyn by gatewayctl, manhattan by hand"
B=$(site_b b-psk2 0 "psk_file = $PSK")
hand_ipip m-gw 1432
hand_swanctl m-gw psk
sw m-gw --load-all >/dev/null
out=$(igw b-gw up "$B" 2>&1) || { fail "up brooklyn (interop)"; t_note <<<"$out"; }
wait_established b-gw brooklyn 30 && ok "interop (reverse): established" || fail "interop (reverse): established"
lab_exec m-app ip route replace "$LAB_B_NET" via "$LAB_M_GW_LAN"
expect_ping m-app "$LAB_B_WS" "interop (reverse): m-app pings b-ws"
igw b-gw down brooklyn >/dev/null 2>&1 || fail "down brooklyn (interop)"
expect_eq "$(lab_exec b-gw ip xfrm state | grep -c .)" 0 "interop (reverse): after down, b-gw has no xfrm state"
lab_exec m-gw ip link del ipip0
lab_gw_exec m-gw sh -c ': >/etc/swanctl/swanctl.conf'
lab_charon_stop m-gw
lab_charon_start m-gw "$IPSEC_CHARON_CONF"

section "exact teardown"
expect_eq "$(lab_exec m-gw ip xfrm state | grep -c .)$(lab_exec b-gw ip xfrm state | grep -c .)" 00 "no xfrm state left on either gateway"
expect_eq "$(lab_exec m-gw ip xfrm policy | grep -c 'proto ipencap')$(lab_exec b-gw ip xfrm policy | grep -c 'proto ipencap')" 00 \
	"no xfrm policy for protocol 4 left"
expect_eq "$(ours_in_charon m-gw)$(ours_in_charon b-gw)" 00 "charon lists no gatewayctl- connection"

t_done
