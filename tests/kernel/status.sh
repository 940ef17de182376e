#!/bin/bash
# tests/kernel/status.sh - `status`: healthy after up; each injected fault gives
# exit 1 with its reason and the fix, and up makes it healthy again; --json
# parses and its fields hold; --probe pings through the tunnel; status reads only
# and works with CAP_NET_ADMIN alone. --json's healthy and --prometheus'
# gatewayctl_site_healthy agree on every fault, a pending change whose watcher
# is gone and a probe without answer included.
#
#   tests/vm/run -- tests/kernel/status.sh
set -eu
. "$(dirname "$0")/lib/lib.sh"
. "$(dirname "$0")/lib/gw.sh"
t_need_ipip
lab_setup
trap 't_cleanup; gw_cleanup' EXIT

M=$PWD/sites/manhattan.ini
B=$PWD/sites/brooklyn.ini
chmod 755 "$T_TMP" # as /run/gatewayctl: others may read the state (status without root)
gw m-gw up "$M" >/dev/null 2>&1 || fail "up manhattan"
gw b-gw up "$B" >/dev/null 2>&1 || fail "up brooklyn"
expect_ping b-ws 192.168.1.5 "the offices are joined"

rc=0
out=$(gw m-gw status "$M" 2>&1) || rc=$?
expect_eq "$rc" 0 "status right after up: exit 0"
expect_grep "... says healthy" '^site manhattan: healthy' "$out"
expect_grep "... shows the tunnel as configured" 'tunnel +gw-brooklyn up, local 172.16.1.12 remote 172.17.2.10 ttl 64 mtu 1480' "$out"
expect_grep "... shows the route" 'routes +192.168.2.0/24 present' "$out"
expect_grep "... shows the SNAT counter" 'snat +[1-9][0-9]* packets' "$out"

before=$(snap_nocount m-gw)
gw m-gw status "$M" >/dev/null 2>&1 || true
gw m-gw status "$M" --json >/dev/null 2>&1 || true
expect_same "status changes nothing in the kernel" "$before" "$(snap_nocount m-gw)"

# --- JSON
json=$(gw m-gw status --json "$M")
if printf '%s\n' "$json" | python3 -m json.tool >/dev/null 2>&1; then ok "--json parses"; else
	fail "--json parses"; printf '%s\n' "$json" | head -30 | t_note; fi
check_json() { # MSG PYTHON-EXPRESSION over j (the document), s (the site), p (its first peer), t (p's tunnel)
	if printf '%s\n' "$json" | python3 -c "
import json, sys
j = json.load(sys.stdin)
s = j['sites'][0]
p = s['peers'][0]
t = p['tunnel']
sys.exit(0 if ($2) else 1)" 2>/dev/null; then
		ok "$1"
	else
		fail "$1"
		printf '%s\n' "$json" | head -40 | t_note
	fi
}
check_json "json: version 1, one site, healthy" 'j["version"] == 1 and len(j["sites"]) == 1 and j["sites"][0]["healthy"] is True'
check_json "json: forwarding on, table present and matching" \
	's["forwarding"] and s["nftables"]["present"] and s["nftables"]["matches"]'
check_json "json: the snat rule counted packets" 'j["sites"][0]["nftables"]["rules"]["snat"]["packets"] > 0'
check_json "json: the tunnel, its parameters and traffic" \
	't["name"]=="gw-brooklyn" and t["up"] and t["remote"]=="172.17.2.10" and t["mtu"]==1480 and t["tx_packets"]>0 and t["rx_packets"]>0'
check_json "json: the route present, no bogus host route" \
	'p["routes"]==[{"network":"192.168.2.0/24","present":True}] and p["bogus_host_route"] is False'
check_json "json: no reasons" 'j["sites"][0]["reasons"] == []'

# --- --probe: the article's ping checks, by gatewayctl itself
out=$(gw m-gw status --probe "$M" 2>&1) || true
expect_grep "--probe pings the peer gateway's LAN address through the tunnel" \
	'probe +192.168.2.126: 3/3 answered, rtt min/avg/max [0-9.]+/[0-9.]+/[0-9.]+ ms' "$out"
json=$(gw m-gw status --probe --json "$M")
check_json "json: probe 3 sent, 3 received, no loss" \
	'p["probe"]["sent"]==3 and p["probe"]["received"]==3 and p["probe"]["loss"]==0 and p["probe"]["rtt_ms"]["avg"]>0'

# --- status --json and status --prometheus judge alike (one health function):
# healthy and gatewayctl_site_healthy are both EXPECTED (1 healthy, 0 not)
agree() { # MSG EXPECTED [--probe]
	local j p
	j=$(gw m-gw status --json ${3:-} "$M" 2>/dev/null |
		python3 -c 'import json, sys; print(1 if json.load(sys.stdin)["sites"][0]["healthy"] else 0)' 2>/dev/null) || j=unreadable
	p=$(gw m-gw status --prometheus ${3:-} "$M" 2>/dev/null |
		awk '$1 == "gatewayctl_site_healthy{site=\"manhattan\"}" { print $2 }')
	if [ "$j" = "$2" ] && [ "$p" = "$2" ]; then ok "$1: --json healthy and --prometheus gatewayctl_site_healthy agree ($2)"
	else fail "$1: --json healthy and --prometheus gatewayctl_site_healthy agree"
		echo "json healthy: '$j', gatewayctl_site_healthy: '$p', expected $2" | t_note; fi
}
agree "healthy" 1
agree "healthy, probed" 1 --probe

# --- faults: exit 1 with the reason and the fix, then up heals
fault() { # MSG REASON-REGEX FIX-REGEX
	local rc=0 out
	out=$(gw m-gw status "$M" 2>&1) || rc=$?
	expect_eq "$rc" 1 "$1: status exits 1"
	expect_grep "$1: the reason is given" "$2" "$out"
	expect_grep "$1: with the fix" "fix: $3" "$out"
	agree "$1" 0
	gw m-gw up "$M" >/dev/null 2>&1 || fail "$1: up"
	rc=0
	gw m-gw status "$M" >/dev/null 2>&1 || rc=$?
	expect_eq "$rc" 0 "$1: after up, healthy again"
}
lab_exec m-gw ip route del 192.168.2.0/24
fault "route deleted" 'route 192.168.2.0/24 via gw-brooklyn is missing' 'ip route add 192.168.2.0/24 dev gw-brooklyn'
lab_exec m-gw ip link set gw-brooklyn down
fault "tunnel down" 'gw-brooklyn is down' 'ip link set gw-brooklyn'
lab_exec m-gw nft delete table ip gatewayctl-manhattan
fault "table deleted" 'table gatewayctl-manhattan is missing' "nft 'add table ip gatewayctl-manhattan'"
lab_exec m-gw ip route add 172.17.2.10/32 dev gw-brooklyn
fault "bogus host route" "bogus host route: peer brooklyn's endpoint is routed into gw-brooklyn" 'ip route del 172.17.2.10/32 dev gw-brooklyn'
lab_exec m-gw sysctl -qw net.ipv4.ip_forward=0
fault "forwarding off" 'IPv4 forwarding is off' 'sysctl -w net.ipv4.ip_forward=1'
pid=$(head -n 1 "$(gw_privdir m-gw)/manhattan.relay.pid" 2>/dev/null || true) # its first line: the pid
if [ -n "$pid" ]; then
	kill -KILL "$pid"
	wait_for 5 sh -c "! kill -0 $pid" || true
	fault "relay killed" 'the broadcast relay is not running' 'gatewayctl relay'
else
	fail "up started the relay (a pid file)"
fi

# a change made by up --confirm: healthy while its watcher runs, a problem once
# the watcher is gone (nothing would end it)
lab_exec m-gw ip route del 192.168.2.0/24
gw m-gw up --confirm 300 "$M" >/dev/null 2>&1 || fail "up --confirm (the route back)"
agree "a change pending, its watcher running" 1
w=$(sed -n 's/^watcher_pid //p' "$(gw_libdir m-gw)/manhattan.pending" 2>/dev/null || true)
if [ -n "$w" ]; then
	kill -KILL "$w" 2>/dev/null || true
	wait_for 5 sh -c "! grep -q '^[^)]*) [^Z]' /proc/$w/stat 2>/dev/null" || true
	rc=0
	out=$(gw m-gw status "$M" 2>&1) || rc=$?
	expect_eq "$rc" 1 "a change pending, its watcher killed: status exits 1"
	agree "a change pending, its watcher killed" 0
else
	fail "up --confirm recorded its watcher's pid"
fi
gw m-gw confirm manhattan >/dev/null 2>&1 || fail "confirm the pending change"
agree "confirmed" 1
# a failed probe: the peer's tunnel down, so no answer comes back
lab_exec b-gw ip link set gw-manhattan down
agree "a probe without answer" 0 --probe
gw b-gw up "$B" >/dev/null 2>&1 || fail "up brooklyn again"
agree "brooklyn back: probed" 1 --probe

# --- every site, found by its marks; CAP_NET_ADMIN alone is enough
out=$(gw m-gw status 2>&1) || true
expect_grep "status without an argument shows the site" '^site manhattan: healthy' "$out"
rc=0
out=$(lab_exec m-gw env GATEWAYCTL_RUNDIR="$(gw_rundir m-gw)" setpriv --reuid=65534 --regid=65534 --clear-groups \
	--inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin --bounding-set=-all,+net_admin \
	"$GWCTL" status "$M" 2>&1) || rc=$?
expect_eq "$rc" 0 "status as an unprivileged user with CAP_NET_ADMIN alone: healthy"
[ "$rc" = 0 ] || printf '%s\n' "$out" | t_note
rc=0
lab_exec m-gw setpriv --reuid=65534 --regid=65534 --clear-groups "$GWCTL" status "$M" >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 1 "status without CAP_NET_ADMIN: exit 1"
rc=0
gw m-gw status --frobnicate >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 2 "status with a bad option: exit 2"

# --- --probe tells our own missing tunnel from a silent peer
lab_exec m-gw ip link del gw-brooklyn
rc=0
out=$(gw m-gw status --probe "$M" 2>&1) || rc=$?
expect_eq "$rc" 1 "--probe with our own tunnel missing: exit 1"
expect_grep "... says our tunnel is missing" 'peer brooklyn: not probed: our own tunnel gw-brooklyn is missing on this gateway' "$out"
if grep -q 'the peer gateway and the path' <<<"$out"; then fail "... and does not blame the peer and the path"; printf '%s\n' "$out" | t_note
else ok "... and does not blame the peer and the path"; fi
gw m-gw up "$M" >/dev/null 2>&1 || fail "up after the tunnel was deleted"

# --- plan runs up's checks: a missing interface is said, nothing planned for it
E=$(sed 's/^lan = eth0$/lan = enp3s0/' "$M" | site_file enp3s0)
rc=0
out=$(gw m-gw plan "$E" 2>&1) || rc=$?
expect_eq "$rc" 1 "plan of a file whose lan interface is missing: exit 1"
expect_grep "... up's error, naming enp3s0" 'interface `enp3s0` \(lan\) does not exist on this gateway' "$out"
if grep -Eq '^(ip|nft) ' <<<"$out"; then fail "... and no command planned"; printf '%s\n' "$out" | t_note
else ok "... and no command planned"; fi

gw m-gw down "$M" >/dev/null 2>&1
gw b-gw down "$B" >/dev/null 2>&1

# --- a site that is not up: one reason, one fix
rc=0
out=$(gw m-gw status "$M" 2>&1) || rc=$?
expect_eq "$rc" 1 "status FILE of a site that is not up: exit 1"
expect_grep "... NOT UP" '^site manhattan: NOT UP' "$out"
expect_eq "$(grep -c 'fix:' <<<"$out")" 1 "... one fix"
expect_grep "... which is up FILE" "fix: gatewayctl up $M\$" "$out"
out=$(gw m-gw status manhattan 2>&1) || true
expect_grep "status NAME of a site not here: no site NAME here" 'no site manhattan here' "$out"
t_done
