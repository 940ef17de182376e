#!/bin/bash
# tests/kernel/fleet.sh - the Ansible role (contrib/ansible) on four sites
# (issue 13), part 1: a full mesh and a hub with spokes come up and every LAN
# host pings every other site's (through the hub for spokes); a second run
# reports 0 changed and changes no kernel state. Part 2 (a LAN change, --check)
# is fleet-lan.sh: tests/run-all runs the two in VMs of their own, in parallel
# (ansible-playbook in an emulated CPU takes minutes a play). A typo in the
# inventory stops the play in the cross-site check on the control node, before
# any task on a gateway: tests/ansible/example.sh shows that without a lab.
#
#   tests/vm/run --timeout 3600 -- tests/kernel/fleet.sh
#   FLEET_STOP=mesh: stop after the mesh;  V=1: show the plays
set -eu
. "$(dirname "$0")/lib/lib.sh"
. "$(dirname "$0")/lib/gw.sh"
. "$(dirname "$0")/lib/lib-fleet.sh"

fleet_up
ansible-playbook --version | head -1 | t_note

# --- full mesh ------------------------------------------------------------------------
inventory mesh
play mesh
expect_play mesh "full mesh of 4 sites: the playbook succeeds"
expect_eq "$(changed_hosts mesh)" "a b c d" "every gateway changed"
expect_grep "the role pinged the peers' LAN addresses" 'Ping every peer' "$(cat "$T_TMP/mesh.out")"
expect_eq "$(lab_exec b-gw ip -o link show type ipip | grep -c 'gw-[acd]')" 3 "b has a tunnel to each of a, c, d"
expect_all_pings "mesh: every LAN host pings every other site's LAN host"

after=$(snap_all)
play mesh-again
expect_play mesh-again "second run succeeds"
expect_eq "$(changed_hosts mesh-again)" "" "second run: 0 changed"
expect_grep "... and its recap says so for a" '^a +: ok=[0-9]+ +changed=0 ' "$(cat "$T_TMP/mesh-again.out")"
expect_same "second run changed no kernel state" "$after" "$(snap_all)"

[ "${FLEET_STOP:-}" != mesh ] || t_done

# --- hub and spokes: a is the hub ---------------------------------------------------
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
