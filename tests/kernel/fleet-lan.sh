#!/bin/bash
# tests/kernel/fleet-lan.sh - the Ansible role (contrib/ansible) on four sites
# (issue 13), part 2: in a partial mesh (a b c meshed, c d), changing a's LAN in
# the inventory changes exactly a and the gateways that peer with it (b, c), and
# d's kernel state not at all; --check --diff first shows the site files' diffs
# and gatewayctl plan's changes and changes nothing. Part 1: fleet.sh.
#
#   tests/vm/run --timeout 3600 -- tests/kernel/fleet-lan.sh
set -eu
. "$(dirname "$0")/lib/lib.sh"
. "$(dirname "$0")/lib/gw.sh"
. "$(dirname "$0")/lib/lib-fleet.sh"

fleet_up
ansible-playbook --version | head -1 | t_note

# --- one site's LAN changes: exactly the gateways that peer with it change ----------
inventory partial
play partial
expect_play partial "partial mesh (a b c, c d)"
expect_eq "$(lab_exec d-gw ip -o link show type ipip | grep -c 'gw-')" 1 "d peers with c only"
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
play lan
expect_play lan "the playbook with a's new LAN"
expect_eq "$(changed_hosts lan)" "a b c" "exactly a and its peers b and c changed"
expect_same "d's kernel state is untouched" "$d_before" "$(snap_nocount d-gw)"
expect_ping b-host 192.168.11.5 "b's LAN host reaches a's new LAN"
expect_ping c-host 192.168.11.5 "c's LAN host reaches a's new LAN"

for s in $SITES; do
	out=$(lab_exec "$s-gw" env GATEWAYCTL_RUNDIR="$T_TMP/$s/run" "$GWCTL" down 2>&1) || fail "down $s: $out"
done
t_done
