#!/bin/bash
# tests/kernel/names6.sh - issue 22: endpoints that move over an IPv6-only
# internet (LAB_WAN6=1). Manhattan knows Brooklyn by a DNS name, looked up as
# IPv6 (AAAA) because its WAN is IPv6 only (a lab DNS server in inet: dnsmasq
# with TTL 2 s, clamped to 5 s by gatewayctl):
#   - check and up accept it; a name of the gateway's own address is refused
#     at its line, the kernel unchanged;
#   - the ip6tnl goes to the name's address, traffic crosses, status and the
#     state file show the IPv6 address with its name;
#   - Brooklyn's ISP moves it, its AAAA record follows: the watcher moves the
#     ip6tnl within the TTL + 2 s, traffic crosses again, the state records it;
#   - a list of two IPv6 endpoints: the watcher fails over to the second when
#     the first stops answering its probes;
#   - down leaves Manhattan exactly as before.
#
#   tests/vm/run -- tests/kernel/all.sh names6
set -eu
. "$(dirname "$0")/lib/lib.sh"
. "$(dirname "$0")/lib/gw.sh"
t_need_ipip
[ -e /proc/sys/net/ipv6 ] || t_skip "this kernel has no IPv6"
[ -x /usr/sbin/dnsmasq ] || t_skip "dnsmasq is missing (Debian's dnsmasq-base)"
export LAB_WAN6=1 LAB_IPV6=1
lab_setup
WPID=''
trap 'watch_stop; t_cleanup; gw_cleanup' EXIT

# --- the lab's DNS server on the internet router, its records in a hosts file
# that a SIGHUP makes it read again
hosts=$T_TMP/hosts
dns_set() { # NAME ADDR
	{ grep -v " $1\$" "$hosts" 2>/dev/null || true; echo "$2 $1"; } >"$hosts.new"
	mv "$hosts.new" "$hosts"
	[ ! -s "$T_TMP/dnsmasq.pid" ] || kill -HUP "$(cat "$T_TMP/dnsmasq.pid")"
}
dns_set brooklyn.lab.test 2001:db8:ffff:2::10
dns_set self.lab.test 2001:db8:ffff:1::12
lab_exec inet /usr/sbin/dnsmasq --conf-file=/dev/null --no-resolv --no-hosts --addn-hosts="$hosts" \
	--local-ttl=2 --bind-interfaces --listen-address=2001:db8:ffff:1::1 \
	--pid-file="$T_TMP/dnsmasq.pid" --user=root --log-facility="$T_TMP/dnsmasq.log" --local=/lab.test/
wait_for 5 test -s "$T_TMP/dnsmasq.pid" || fail "dnsmasq did not start"
T_PIDS="$T_PIDS $(cat "$T_TMP/dnsmasq.pid")"
export GATEWAYCTL_DNS_SERVERS=2001:db8:ffff:1::1

M=$(sed 's/^endpoint = .*/endpoint = brooklyn.lab.test/' sites/ipv6-wan/manhattan.ini | site_file manhattan)
B=$T_TMP/brooklyn.ini
cp sites/ipv6-wan/brooklyn.ini "$B"
chmod 644 "$B"
line=$(grep -n '^endpoint' "$M" | cut -d: -f1)
before_m=$(snap m-gw)

out=$(gw m-gw check "$M" 2>&1) && ok "check accepts a name on an IPv6-only WAN" ||
	{ fail "check accepts a name on an IPv6-only WAN"; printf '%s\n' "$out" | t_note; }
# a name of this gateway's own IPv6 address: refused at its line
bad=$(sed 's/^endpoint = .*/endpoint = self.lab.test/' "$M" | site_file bad)
out=$(gw m-gw up "$bad" 2>&1) && fail "up with a name of our own address fails" || ok "up with a name of our own address fails"
expect_grep "... at its line" "^$bad:$line: error: peer brooklyn: endpoint self.lab.test: it resolves to 2001:db8:ffff:1::12, this gateway's own address: refused" "$out"
expect_same "... the kernel is unchanged" "$before_m" "$(snap m-gw)"

# --- up with the name
out=$(gw m-gw up "$M" 2>&1) && ok "up manhattan (endpoint by name, AAAA)" || { fail "up manhattan (endpoint by name, AAAA)"; printf '%s\n' "$out" | t_note; }
out=$(gw b-gw up "$B" 2>&1) && ok "up brooklyn" || { fail "up brooklyn"; printf '%s\n' "$out" | t_note; }
expect_grep "m-gw's ip6tnl goes to the name's IPv6 address" 'ip6tnl any remote 2001:db8:ffff:2::10 local 2001:db8:ffff:1::12' \
	"$(lab_exec m-gw ip -d link show gw-brooklyn)"
expect_grep "m-gw's ip6 peer set holds it" 'elements = \{ 2001:db8:ffff:2::10 \}' \
	"$(lab_exec m-gw nft list set ip6 gatewayctl-manhattan endpoints)"
expect_ping b-ws 192.168.1.5 "IPv4 crosses (4in6)"
expect_ping b-ws 2001:db8:1::5 "IPv6 crosses (6in6)"
out=$(gw m-gw status "$M" 2>&1) || true
expect_grep "status shows the name, its IPv6 address and TTL" \
	'peer brooklyn \(endpoint brooklyn.lab.test \(2001:db8:ffff:2::10, TTL 5 s\)\)' "$out"
expect_grep "status --json too" '"endpoint": "2001:db8:ffff:2::10", "endpoint_name": "brooklyn.lab.test", "endpoint_ttl": 5' \
	"$(gw m-gw status --json "$M" 2>&1)"
expect_grep "the state file records the IPv6 address" '^endpoint brooklyn 2001:db8:ffff:2::10 5$' \
	"$(cat "$(gw_statedir m-gw)/manhattan.state")"
out=$(gw m-gw up "$M" 2>&1)
expect_eq "$out" "site manhattan: no changes" "a second up says no changes"

# --- the watcher follows the AAAA record: Brooklyn's ISP moves it
mkdir -p "$(gw_rundir m-gw)"
ip netns exec "$(lab_ns m-gw)" env -u JOURNAL_STREAM GATEWAYCTL_RUNDIR="$(gw_rundir m-gw)" \
	GATEWAYCTL_LIBDIR="$(gw_libdir m-gw)" "$GWCTL" watch "$M" >"$T_TMP/watch.log" 2>&1 &
WPID=$!
wait_for 15 test -f "$(gw_statedir m-gw)/manhattan.watch" && ok "the watcher runs" ||
	{ fail "the watcher runs"; t_note <"$T_TMP/watch.log"; }
sleep 2
lab_exec b-gw ip -6 addr add 2001:db8:ffff:2::11/64 dev eth1 nodad
sed -i 's|^wan_address = .*|wan_address = 2001:db8:ffff:2::11/64|' "$B"
out=$(gw b-gw up "$B" 2>&1) || { fail "brooklyn moves to its new address"; printf '%s\n' "$out" | t_note; }
lab_exec b-gw ip -6 addr del 2001:db8:ffff:2::10/64 dev eth1
t1=${EPOCHREALTIME/./}
dns_set brooklyn.lab.test 2001:db8:ffff:2::11
moved() { lab_exec m-gw ip -d link show gw-brooklyn | grep -q 'remote 2001:db8:ffff:2::11 local 2001:db8:ffff:1::12'; }
if wait_for 20 moved; then
	took=$(( (${EPOCHREALTIME/./} - t1) / 1000 ))
	ok "the watcher moved the ip6tnl to Brooklyn's new address (${took} ms after the record's change)"
	[ "$took" -le 7000 ] && ok "... within the TTL (5 s) + 2 s" || fail "... within the TTL (5 s) + 2 s: ${took} ms"
else
	fail "the watcher moved the ip6tnl to Brooklyn's new address"
	{ lab_exec m-gw ip -d link show gw-brooklyn; cat "$T_TMP/watch.log"; } 2>&1 | t_note
fi
expect_ping b-ws 192.168.1.5 "traffic flows again (IPv4)"
expect_ping b-ws 2001:db8:1::5 "traffic flows again (IPv6)"
expect_grep "the ip6 peer set holds the new address" 'elements = \{ 2001:db8:ffff:2::11 \}' \
	"$(lab_exec m-gw nft list set ip6 gatewayctl-manhattan endpoints)"
expect_grep "the watcher logged the move" 'endpoint brooklyn.lab.test of peer brooklyn moved: 2001:db8:ffff:2::11 now \(was 2001:db8:ffff:2::10' \
	"$(cat "$T_TMP/watch.log")"
expect_grep "the state file records the new address" '^endpoint brooklyn 2001:db8:ffff:2::11 5$' \
	"$(cat "$(gw_statedir m-gw)/manhattan.state")"
watch_stop

# --- a list of two IPv6 endpoints: Brooklyn answers at the second only; the
# watcher's probes fail over to it
L=$(sed 's/^endpoint = .*/endpoint = 2001:db8:ffff:2::10, 2001:db8:ffff:2::11/; s/^gateway = .*/&\nprobe_interval = 2/' \
	"$M" | site_file list)
gw m-gw down "$M" >/dev/null 2>&1 || fail "down manhattan (the name's)"
out=$(gw m-gw up "$L" 2>&1) && ok "up with a list of two IPv6 endpoints" || { fail "up with a list of two IPv6 endpoints"; printf '%s\n' "$out" | t_note; }
expect_grep "... the tunnel goes to the first" 'remote 2001:db8:ffff:2::10 local' "$(lab_exec m-gw ip -d link show gw-brooklyn)"
ip netns exec "$(lab_ns m-gw)" env -u JOURNAL_STREAM GATEWAYCTL_RUNDIR="$(gw_rundir m-gw)" \
	GATEWAYCTL_LIBDIR="$(gw_libdir m-gw)" "$GWCTL" watch "$L" >"$T_TMP/watch2.log" 2>&1 &
WPID=$!
failed_over() { lab_exec m-gw ip -d link show gw-brooklyn | grep -q 'remote 2001:db8:ffff:2::11 local'; }
if wait_for 90 failed_over; then
	ok "the watcher failed over to the second IPv6 endpoint"
else
	fail "the watcher failed over to the second IPv6 endpoint"
	{ lab_exec m-gw ip -d link show gw-brooklyn; cat "$T_TMP/watch2.log"; } 2>&1 | t_note
fi
expect_grep "... saying so" 'repaired .*\(peer brooklyn: failover to endpoint 2001:db8:ffff:2::11\)' \
	"$(cat "$T_TMP/watch2.log")"
expect_ping b-ws 2001:db8:1::5 "traffic flows through the second endpoint"
expect_grep "the state file records it" '^endpoint brooklyn 2001:db8:ffff:2::11 0$' \
	"$(cat "$(gw_statedir m-gw)/manhattan.state")"
watch_stop

# --- down: Manhattan exactly as before
out=$(gw m-gw down "$L" 2>&1) && ok "down manhattan" || { fail "down manhattan"; printf '%s\n' "$out" | t_note; }
gw b-gw down "$B" >/dev/null 2>&1 || true
expect_same "after down, m-gw is exactly as before" "$before_m" "$(snap m-gw)"
t_done
