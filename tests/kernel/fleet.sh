#!/bin/bash
# tests/kernel/fleet.sh - the Ansible role (contrib/ansible) on four sites
# (issue 13), in one lab and four plays:
#   1. a partial mesh (a b c meshed, c d) comes up and each LAN host pings its
#      peers' LAN hosts;
#   2. changing a's LAN in the inventory: --check --diff shows the site files'
#      diffs and gatewayctl plan's changes, and changes nothing;
#   3. ... then changes exactly a and the gateways that peer with it (b, c);
#      for d the play is a second run of an unchanged inventory: 0 changed, its
#      site file and kernel state untouched (the idempotency check; until
#      2026-12 a whole second run of play 1, 200 s of an emulated CPU);
#   4. a hub (a) with spokes: every LAN host pings every other (through the hub).
# ansible-playbook in an emulated CPU takes minutes a play: tests/run-all runs the
# controller on the host (lib/lib-fleet.sh). A typo in the inventory stops the
# play in the cross-site check on the control node, before any task on a
# gateway: tests/ansible/example.sh shows that without a lab.
#
#   tests/vm/run --timeout 3600 -- tests/kernel/fleet.sh
#   FLEET_STOP=partial: stop after the first play;  V=1: show the plays
set -eu
. "$(dirname "$0")/lib/lib.sh"
. "$(dirname "$0")/lib/gw.sh"
. "$(dirname "$0")/lib/lib-fleet.sh"

fleet_up
ansible-playbook --version | head -1 | t_note

# --- a partial mesh -------------------------------------------------------------------
inventory partial
play partial
expect_play partial "partial mesh (a b c, c d): the playbook succeeds"
expect_eq "$(changed_hosts partial)" "a b c d" "every gateway changed"
expect_grep "the role pinged the peers' LAN addresses" 'Ping every peer' "$(cat "$T_TMP/partial.out")"
expect_eq "$(lab_exec b-gw ip -o link show type ipip | grep -c 'gw-[ac]')" 2 "b has a tunnel to each of a, c"
expect_eq "$(lab_exec d-gw ip -o link show type ipip | grep -c 'gw-')" 1 "d peers with c only"
expect_ping a-host 192.168.2.5 "a's LAN host reaches b's"
expect_ping b-host 192.168.3.5 "b's LAN host reaches c's"
expect_ping c-host 192.168.1.5 "c's LAN host reaches a's"
expect_ping d-host 192.168.3.5 "d's LAN host reaches c's"

[ "${FLEET_STOP:-}" != partial ] || t_done

# --- one site's LAN changes: exactly the gateways that peer with it change; for
# d, whose site is the same, the play is a second run ------------------------------
lab_exec a-gw ip addr add 192.168.11.1/24 dev eth0
lab_exec a-host ip addr add 192.168.11.5/24 dev eth0
inventory partial a=192.168.11.1/24
after=$(snap_all)
files_before=$(files_all)
play lan-check --check --diff
expect_play lan-check "--check with a's new LAN"
expect_grep "--check --diff shows the new networks" '^\+networks = 192\.168\.11\.0/24' "$(cat "$T_TMP/lan-check.out")"
expect_grep "--check shows gatewayctl plan's route" 'ip route add 192\.168\.11\.0/24 dev gw-a' "$(cat "$T_TMP/lan-check.out")"
expect_same "--check changed no kernel state" "$after" "$(snap_all)"
expect_same "... and no site file" "$files_before" "$(files_all)"
d_before=$(snap_nocount d-gw)
d_file=$(cat "$T_TMP/d/etc/"*.ini)
play lan
expect_play lan "the playbook with a's new LAN"
expect_eq "$(changed_hosts lan)" "a b c" "exactly a and its peers b and c changed"
expect_grep "... the recap says 0 changed for d (its second run)" '^d +: ok=[0-9]+ +changed=0 ' "$(cat "$T_TMP/lan.out")"
expect_same "d's kernel state is untouched" "$d_before" "$(snap_nocount d-gw)"
expect_same "... and its site file" "$d_file" "$(cat "$T_TMP/d/etc/"*.ini)"
expect_ping b-host 192.168.11.5 "b's LAN host reaches a's new LAN"
expect_ping c-host 192.168.11.5 "c's LAN host reaches a's new LAN"

# --- hub and spokes: a is the hub (with its first LAN again) ------------------------
inventory hub
play hub
expect_play hub "hub and spokes: the playbook succeeds"
expect_eq "$(lab_exec b-gw ip -o link show type ipip | grep -c 'gw-')" 1 "spoke b has one tunnel left: to the hub"
expect_grep "... whose route carries the other spokes' LANs" '192.168.3.0/24 dev gw-a' "$(lab_exec b-gw ip route show)"
expect_all_pings "hub: every LAN host pings every other site's LAN host"
rx0=$(lab_exec a-gw cat /sys/class/net/gw-b/statistics/rx_packets)
tx0=$(lab_exec a-gw cat /sys/class/net/gw-c/statistics/tx_packets)
lab_exec b-host ping -n -q -c 5 -i 0.2 -W 1 192.168.3.5 >/dev/null 2>&1 || true
rx1=$(lab_exec a-gw cat /sys/class/net/gw-b/statistics/rx_packets)
tx1=$(lab_exec a-gw cat /sys/class/net/gw-c/statistics/tx_packets)
expect_ok "b-host -> c-host crosses the hub (in from gw-b, out to gw-c: $((rx1 - rx0)), $((tx1 - tx0)) packets)" \
	test $((rx1 - rx0)) -ge 5 -a $((tx1 - tx0)) -ge 5

for s in $SITES; do
	out=$(lab_exec "$s-gw" env GATEWAYCTL_RUNDIR="$T_TMP/$s/run" "$GWCTL" down 2>&1) || fail "down $s: $out"
done
t_done
