#!/bin/bash
# tests/kernel/downgroup.sh - `down` deletes a site's tunnels as one link group
# (issue 13: the kernel unregisters a whole group in one batch), and never takes
# along a link of another site or a foreign one, although all of gatewayctl's
# tunnels share link group 203.
#
#   tests/vm/run -- tests/kernel/downgroup.sh
set -eu
. "$(dirname "$0")/lib/lib.sh"
. "$(dirname "$0")/lib/gw.sh"
t_need_ipip
lab_setup
trap 't_cleanup; gw_cleanup' EXIT

# two sites on m-gw: x with 6 peers, y with 3; foreign links in group 203
# (each site its own WAN address: two sites on one address are refused)
site() { # NAME PEERPREFIX COUNT NET WANADDR
	local i
	printf '[site]\nname = %s\nlan = eth0\nlan_address = 192.168.1.126/24\nwan = eth1\nwan_address = %s/27\n' "$1" "$5"
	for i in $(seq 1 "$3"); do
		printf '\n[peer %s%d]\nendpoint = 198.51.%d.%d\nnetworks = 10.%d.%d.0/24\n' "$2" "$i" "$4" "$i" "$4" "$i"
	done
}
X=$(site x p 6 100 172.16.1.12 | site_file x)
Y=$(site y q 3 101 172.16.1.13 | site_file y)
lab_exec m-gw ip addr add 172.16.1.13/27 dev eth1

# foreign links in gatewayctl's group: an ipip tunnel and a dummy
lab_exec m-gw ip link add foreign0 group 203 type ipip local 172.16.1.12 remote 198.51.102.7
lab_exec m-gw ip link add foreign1 group 203 type dummy
# forwarding on already: down restores it only from the state of the site that
# turned it on, and x (which would) goes down while y is still up
lab_exec m-gw sysctl -qw net.ipv4.ip_forward=1
before=$(snap m-gw)

expect_ok "up x (6 peers)" gw m-gw up "$X"
expect_ok "up y (3 peers)" gw m-gw up "$Y"
expect_eq "$(lab_exec m-gw ip -o link show group 203 | wc -l)" 11 "11 links in group 203: 6 + 3 tunnels, 2 foreign"

# watch the link notifications while x goes down
lab_exec m-gw ip -o monitor link >"$T_TMP/monitor" 2>&1 &
mon=$!
sleep 1
out=$(gw m-gw down "$X" 2>&1) && ok "down x" || { fail "down x"; printf '%s\n' "$out" | t_note; }
sleep 1
kill "$mon" 2>/dev/null || true
wait "$mon" 2>/dev/null || true
expect_eq "$(grep -c '^ip link delete gw-p[1-6]$' <<<"$out")" 6 "down x reports its 6 tunnels deleted"
moved=$(grep -E ': gw-p[1-6][@:]' "$T_TMP/monitor" | grep -vE 'group (default|203) ' | grep -oE ' group [0-9]+ ' | sort -u)
expect_eq "$(grep -c . <<<"$moved")" 1 "x's tunnels went through one spare group on their way out"
expect_eq "$(grep -E ': gw-q[1-3][@:]|: foreign[01][@:]' "$T_TMP/monitor")" "" "nothing happened to y's tunnels nor the foreign links"
expect_eq "$(lab_exec m-gw ip -o link show group 203 | sed -E 's/^[0-9]+: ([^:@]*).*/\1/' | sort | tr '\n' ' ')" \
	"foreign0 foreign1 gw-q1 gw-q2 gw-q3 " "group 203 still holds y's tunnels and the foreign links"
expect_eq "$(lab_exec m-gw ip -o link show | grep -c 'gw-p')" 0 "x's tunnels are gone"
expect_eq "$(gw m-gw down "$X" 2>&1)" "site x: nothing to remove" "down x again: nothing to remove"
expect_eq "$(gw m-gw up "$Y" 2>&1)" "site y: no changes" "y is untouched: its up says no changes"

out=$(gw m-gw down "$Y" 2>&1) && ok "down y" || { fail "down y"; printf '%s\n' "$out" | t_note; }
after=$(snap m-gw)
expect_same "after both downs, m-gw is as before (the foreign links included)" "$before" "$after"

# alone in group 203 (no other site, no foreign link): the group itself goes, in one request
lab_exec m-gw ip link del foreign0
lab_exec m-gw ip link del foreign1
expect_ok "up x alone" gw m-gw up "$X"
mkdir -p "$(gw_rundir m-gw)"
out=$(ASAN_OPTIONS=detect_leaks=0 GATEWAYCTL_RUNDIR=$(gw_rundir m-gw) lab_exec m-gw strace -f -v -s 64 -e trace=sendmsg,sendto -o "$T_TMP/strace" "$GWCTL" down "$X" 2>&1) &&
	ok "down x alone" || { fail "down x alone"; printf '%s\n' "$out" | t_note; }
expect_eq "$(grep -c 'RTM_DELLINK' "$T_TMP/strace")" 1 "one RTM_DELLINK request for the 6 tunnels"
expect_grep "... for group 203" 'RTM_DELLINK.*ifi_index=0.*IFLA_GROUP\}, 203\]' "$(grep RTM_DELLINK "$T_TMP/strace")"
expect_eq "$(lab_exec m-gw ip -o link show | grep -c 'gw-p')" 0 "x's tunnels are gone"
t_done
