#!/bin/bash
# tests/kernel/metrics.sh - `status --prometheus`: the text passes `promtool check
# metrics` on healthy and broken sites; the values agree with independent
# witnesses (ip -s link, nft, the datagrams sent, ping's own path); --output
# replaces the file atomically (a reader never sees a partial file); every
# fault shows in its metric; a site whose file is gone is reported, not fatal.
#
#   tests/vm/run -- tests/kernel/all.sh metrics
set -eu
. "$(dirname "$0")/lib/lib.sh"
. "$(dirname "$0")/lib/gw.sh"
t_need_ipip
command -v promtool >/dev/null || t_skip "promtool is missing (Debian package prometheus: make deps)"
lab_setup
trap 't_cleanup; gw_cleanup' EXIT

M=$PWD/sites/manhattan.ini
B=$PWD/sites/brooklyn.ini
gw m-gw up "$M" >/dev/null 2>&1 || fail "up manhattan"
gw b-gw up "$B" >/dev/null 2>&1 || fail "up brooklyn"
expect_ping b-ws 192.168.1.5 "the offices are joined"

# promtool MSG TEXT: the text passes promtool's parser and linter
promcheck() {
	local out rc=0
	out=$(printf '%s\n' "$2" | promtool check metrics 2>&1) || rc=$?
	if [ $rc = 0 ] && [ -z "$out" ]; then
		ok "$1"
	else
		fail "$1"
		printf 'promtool: exit %s\n%s\n' "$rc" "$out" | head -30 | t_note
	fi
}
# value TEXT NAME LABELS: the sample's value ("" when absent); LABELS exactly as printed
value() {
	awk -v k="$2{$3}" '$1 == k { print $2 }' <<<"$1"
}
expect_value() { # MSG TEXT NAME LABELS EXPECTED
	local v
	v=$(value "$2" "$3" "$4")
	if [ "$v" = "$5" ]; then ok "$1"; else
		fail "$1"
		echo "$3{$4} = '$v', expected '$5'" | t_note
	fi
}
# expect_between MSG LOW VALUE HIGH: integers, LOW <= VALUE <= HIGH
expect_between() {
	if [ -n "$3" ] && [ "$2" -le "$3" ] && [ "$3" -le "$4" ]; then ok "$1"; else
		fail "$1"
		echo "expected $2 <= '$3' <= $4" | t_note
	fi
}
link_stat() { # NS DEV rx|tx packets|bytes|errors
	lab_exec "$1" ip -s -j link show "$2" | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['stats64']['$3']['$4'])"
}
nft_counter() { # NS TABLE COMMENT packets|bytes
	lab_exec "$1" nft list table ip "$2" | awk -v c="\"$3\"" -v w="$4" \
		'index($0, "comment " c) { for (i = 1; i < NF; i++) if ($i == w) print $(i + 1) }'
}
S='site="manhattan"'
P='site="manhattan",peer="brooklyn"'

# --- healthy, with traffic: the witnesses sandwich each counter
for _ in 1 2 3; do lab_exec b-ws ping -n -q -c 1 -W 1 192.168.1.5 >/dev/null 2>&1 || true; done
# five broadcasts from m-app to the relayed port
lab_exec m-app python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind(("192.168.1.5", 0))
for i in range(5):
    s.sendto(b"metrics-%d" % i, ("192.168.1.255", 6799))
'
sleep 0.5 # the relays pass them on
tx0=$(link_stat m-gw gw-brooklyn tx packets) rxb0=$(link_stat m-gw gw-brooklyn rx bytes)
snat0=$(nft_counter m-gw gatewayctl-manhattan snat packets)
rc=0
text=$(gw m-gw status --prometheus --probe manhattan 2>"$T_TMP/err") || rc=$?
tx1=$(link_stat m-gw gw-brooklyn tx packets) rxb1=$(link_stat m-gw gw-brooklyn rx bytes)
snat1=$(nft_counter m-gw gatewayctl-manhattan snat packets)
expect_eq "$rc" 0 "status --prometheus --probe (by site name): exit 0"
promcheck "healthy site: promtool check metrics passes" "$text"
expect_value "healthy: gatewayctl_site_healthy 1" "$text" gatewayctl_site_healthy "$S" 1
expect_value "healthy: no drift" "$text" gatewayctl_site_drift_steps "$S" 0
expect_value "healthy: tunnel up" "$text" gatewayctl_tunnel_up "$P" 1
expect_value "healthy: route present" "$text" gatewayctl_route_present "$P,network=\"192.168.2.0/24\"" 1
expect_value "healthy: no bogus host route" "$text" gatewayctl_bogus_host_route "$P" 0
expect_value "healthy: table present and matching" "$text" gatewayctl_nftables_table_matches "$S" 1
expect_value "healthy: forwarding" "$text" gatewayctl_forwarding_enabled "$S" 1
expect_value "healthy: relay running" "$text" gatewayctl_relay_running "$S" 1
expect_value "healthy: the probe answered" "$text" gatewayctl_probe_success "$P" 1
expect_value "healthy: no probe loss" "$text" gatewayctl_probe_loss_ratio "$P" 0
expect_grep "healthy: a probe round trip in seconds" '^gatewayctl_probe_rtt_seconds\{site="manhattan",peer="brooklyn"\} 0\.[0-9]{6}$' "$text"
# the probe's own 3 echoes go out between tx0 and tx1
expect_between "tunnel transmit packets between ip -s link's before and after" "$tx0" \
	"$(value "$text" gatewayctl_tunnel_transmit_packets_total "$P")" "$tx1"
expect_between "tunnel receive bytes between ip -s link's before and after" "$rxb0" \
	"$(value "$text" gatewayctl_tunnel_receive_bytes_total "$P")" "$rxb1"
expect_between "the snat rule's packets between nft's before and after" "$snat0" \
	"$(value "$text" gatewayctl_nftables_rule_packets_total "$S,rule=\"snat\"")" "$snat1"
[ "${tx0:-0}" -gt 0 ] && ok "the tunnel carried traffic (tx $tx0)" || fail "the tunnel carried traffic (tx '$tx0')"
expect_value "relay: the 5 broadcasts received on port 6799" "$text" gatewayctl_relay_received_datagrams_total "$S,port=\"6799\"" 5
expect_value "relay: 5 frames relayed for port 6799" "$text" gatewayctl_relay_relayed_frames_total "$S,port=\"6799\"" 5
expect_value "relay: 5 frames sent to brooklyn" "$text" gatewayctl_relay_peer_sent_frames_total "$P" 5
expect_value "relay: a drop reason of a port, 0" "$text" gatewayctl_relay_dropped_datagrams_total "$S,port=\"6799\",reason=\"rate\"" 0
btext=$(gw b-gw status --prometheus "$B")
expect_value "relay: brooklyn received the 5 frames from manhattan" "$btext" gatewayctl_relay_peer_received_frames_total \
	'site="brooklyn",peer="manhattan"' 5
expect_value "relay: brooklyn rebroadcast them on its LAN" "$btext" gatewayctl_relay_rebroadcast_datagrams_total \
	'site="brooklyn",port="6799"' 5
expect_grep "one HELP and one TYPE per metric family" '^# TYPE gatewayctl_tunnel_receive_bytes_total counter$' "$text"
dups=$(grep '^# TYPE' <<<"$text" | sort | uniq -d)
expect_eq "$dups" "" "no family announced twice"
before=$(snap_nocount m-gw)
gw m-gw status --prometheus >/dev/null 2>&1 || true
expect_same "status --prometheus changes nothing in the kernel" "$before" "$(snap_nocount m-gw)"

# --- --output: atomic replacement
out=$T_TMP/textfile/gatewayctl.prom
mkdir -p "$T_TMP/textfile"
gw m-gw status --prometheus --output "$out" >/dev/null 2>&1 || fail "--output FILE"
expect_eq "$(stat -c %a "$out" 2>/dev/null)" 644 "--output: the file is 0644"
promcheck "--output: the file passes promtool" "$(cat "$out")"
expect_eq "$(gw m-gw status --prometheus --output "$out")" "" "--output: nothing on stdout"
# a reader racing 40 rewrites must only ever see whole files (the last family is the
# relay's: a truncated file lacks it)
last=$(tail -n 1 "$out")
lab_exec m-gw sh -c "for i in \$(seq 40); do env GATEWAYCTL_RUNDIR='$(gw_rundir m-gw)' '$GWCTL' status --prometheus --output '$out'; done" &
writer=$!
partial=0 reads=0
while kill -0 "$writer" 2>/dev/null; do
	t=$(cat "$out" 2>/dev/null || true)
	reads=$((reads + 1))
	if [ "$(tail -n 1 <<<"$t")" != "$last" ] || ! grep -q '^gatewayctl_build_info' <<<"$t"; then
		partial=$((partial + 1))
	fi
done
wait "$writer" || fail "the writer loop"
[ "$reads" -gt 5 ] && ok "the reader raced the writer ($reads reads)" || fail "the reader raced the writer (only $reads reads)"
expect_eq "$partial" 0 "no read saw a partial or missing file"
expect_eq "$(find "$T_TMP/textfile" -type f | wc -l)" 1 "no temporary file is left behind"
# how it writes, seen by strace: FILE itself is never opened; a temporary file
# beside it is written, synced and renamed over it
if command -v strace >/dev/null; then
	lab_exec m-gw env GATEWAYCTL_RUNDIR="$(gw_rundir m-gw)" ASAN_OPTIONS=detect_leaks=0 \
		strace -f -qq -o "$T_TMP/strace" -e trace=openat,open,creat,rename,renameat,renameat2,fsync \
		"$GWCTL" status --prometheus --output "$out" >/dev/null 2>&1 || fail "--output under strace"
	calls=$(grep -F "$T_TMP/textfile/" "$T_TMP/strace" || true)
	expect_grep "strace: a temporary file beside FILE is created (O_EXCL)" \
		"open(at)?\\(.*\"$T_TMP/textfile/\\.gatewayctl\\.prom\\.[A-Za-z0-9]{6}\", .*O_EXCL" "$calls"
	expect_grep "strace: ... and renamed over FILE" \
		"rename(at2?)?\\(.*\"$T_TMP/textfile/\\.gatewayctl\\.prom\\.[A-Za-z0-9]{6}\", .*\"$out\"\\) = 0" "$calls"
	if grep -qE "open(at)?\\(.*\"$out\"" <<<"$calls"; then
		fail "strace: FILE itself is never opened"
		printf '%s\n' "$calls" | t_note
	else
		ok "strace: FILE itself is never opened"
	fi
	expect_grep "strace: the data is synced before the rename" 'fsync\(' "$(cat "$T_TMP/strace")"
fi
rc=0
gw m-gw status --prometheus --output "$T_TMP/nodir/x.prom" >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 1 "--output into a missing directory: exit 1"
rc=0
gw m-gw status --json --output "$out" >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 2 "--output with --json: bad usage, exit 2"

# --- broken: each fault in its metric, the text still valid
lab_exec m-gw ip route add 172.17.2.10/32 dev gw-brooklyn
text=$(gw m-gw status --prometheus manhattan 2>/dev/null) || true
expect_value "bogus host route: gatewayctl_bogus_host_route 1" "$text" gatewayctl_bogus_host_route "$P" 1
expect_value "bogus host route: unhealthy" "$text" gatewayctl_site_healthy "$S" 0
lab_exec m-gw ip link del gw-brooklyn
lab_exec m-gw nft delete table ip gatewayctl-manhattan
relay=$(head -n 1 "$(gw_privdir m-gw)/manhattan.relay.pid")
kill "$relay" 2>/dev/null || fail "kill manhattan's relay ($relay)"
wait_for 5 sh -c "! kill -0 $relay 2>/dev/null" || fail "the relay ended"
rc=0
text=$(gw m-gw status --prometheus --probe manhattan 2>/dev/null) || rc=$?
expect_eq "$rc" 0 "broken site: status --prometheus still exits 0 (health is in the metrics)"
promcheck "broken site: promtool check metrics passes" "$text"
expect_value "broken: gatewayctl_site_healthy 0" "$text" gatewayctl_site_healthy "$S" 0
# up's steps now: the tunnel, its route, the relay, the table
expect_between "broken: the drift counts up's steps (at least 4)" 4 "$(value "$text" gatewayctl_site_drift_steps "$S")" 50
expect_value "broken: tunnel absent" "$text" gatewayctl_tunnel_present "$P" 0
expect_value "broken: tunnel not up" "$text" gatewayctl_tunnel_up "$P" 0
expect_value "broken: route missing" "$text" gatewayctl_route_present "$P,network=\"192.168.2.0/24\"" 0
expect_value "broken: table missing" "$text" gatewayctl_nftables_table_present "$S" 0
expect_value "broken: relay not running" "$text" gatewayctl_relay_running "$S" 0
expect_value "broken: the probe unanswered" "$text" gatewayctl_probe_success "$P" 0
expect_value "broken: probe loss 1" "$text" gatewayctl_probe_loss_ratio "$P" 1
expect_eq "$(value "$text" gatewayctl_probe_rtt_seconds "$P")" "" "broken: no round trip without an answer"
expect_eq "$(value "$text" gatewayctl_tunnel_receive_bytes_total "$P")" "" "broken: no tunnel counters without a tunnel"
gw m-gw up "$M" >/dev/null 2>&1 || fail "up heals"
text=$(gw m-gw status --prometheus manhattan 2>/dev/null) || true
expect_value "after up: healthy again" "$text" gatewayctl_site_healthy "$S" 1

# --- IPsec peer without charon: not established, charon unreachable
printf 'metrics-test-psk-0123456789abcdef0123456789\n' >"$T_TMP/psk"
chmod 600 "$T_TMP/psk"
I=$(sed -e "/^\[peer brooklyn\]/a encryption = ipsec\npsk_file = $T_TMP/psk" "$M" | site_file ipsec)
rc=0
text=$(GATEWAYCTL_VICI=$T_TMP/no-charon.vici gw m-gw status --prometheus "$I" 2>"$T_TMP/err") || rc=$?
expect_eq "$rc" 0 "ipsec site without charon: exit 0"
promcheck "ipsec site without charon: promtool passes" "$text"
expect_value "ipsec: charon unreachable" "$text" gatewayctl_ipsec_charon_reachable "$S" 0
expect_value "ipsec: not established" "$text" gatewayctl_ipsec_established "$P" 0
expect_value "ipsec: not loaded" "$text" gatewayctl_ipsec_connection_loaded "$P" 0
expect_value "ipsec: unhealthy" "$text" gatewayctl_site_healthy "$S" 0

# --- IPsec with a charon per gateway (tests/lab/lab.sh's lab_charon_start): established
if declare -F lab_charon_start >/dev/null && [ -x /usr/lib/ipsec/charon ] && modprobe -q esp4 2>/dev/null; then
	gw m-gw down manhattan >/dev/null 2>&1 || true
	gw b-gw down brooklyn >/dev/null 2>&1 || true
	if lab_charon_start m-gw && lab_charon_start b-gw; then
		MI=$(sed -e "/^\[peer brooklyn\]/a encryption = ipsec\npsk_file = $T_TMP/psk" "$M" | site_file m-ipsec)
		BI=$(sed -e "/^\[peer manhattan\]/a encryption = ipsec\npsk_file = $T_TMP/psk" "$B" | site_file b-ipsec)
		mvici=$(lab_gw_dir m-gw)/run/charon.vici bvici=$(lab_gw_dir b-gw)/run/charon.vici
		GATEWAYCTL_VICI=$bvici gw b-gw up "$BI" >"$T_TMP/up-b" 2>&1 || { fail "ipsec: up brooklyn"; t_note <"$T_TMP/up-b"; }
		GATEWAYCTL_VICI=$mvici gw m-gw up "$MI" >"$T_TMP/up-m" 2>&1 || { fail "ipsec: up manhattan"; t_note <"$T_TMP/up-m"; }
		established() {
			GATEWAYCTL_VICI=$mvici gw m-gw status --prometheus "$MI" 2>/dev/null |
				grep -qx 'gatewayctl_ipsec_established{site="manhattan",peer="brooklyn"} 1'
		}
		if wait_for 60 established; then ok "ipsec: established within 60 s"; else fail "ipsec: established within 60 s"; fi
		lab_exec b-ws ping -n -q -c 3 -i 0.2 -W 1 192.168.1.5 >/dev/null 2>&1 || true
		text=$(GATEWAYCTL_VICI=$mvici gw m-gw status --prometheus "$MI" 2>/dev/null) || true
		promcheck "ipsec established: promtool passes" "$text"
		expect_value "ipsec: charon reachable" "$text" gatewayctl_ipsec_charon_reachable "$S" 1
		expect_value "ipsec: connection loaded" "$text" gatewayctl_ipsec_connection_loaded "$P" 1
		expect_value "ipsec: established" "$text" gatewayctl_ipsec_established "$P" 1
		expect_value "ipsec: the site healthy" "$text" gatewayctl_site_healthy "$S" 1
		esp=$(value "$text" gatewayctl_ipsec_esp_receive_packets_total "$P")
		if [ -n "$esp" ] && [ "$esp" -gt 0 ]; then ok "ipsec: ESP packets received ($esp)"; else fail "ipsec: ESP packets received ('$esp')"; fi
		lab_charon_stop b-gw
		lab_charon_stop m-gw
		text=$(GATEWAYCTL_VICI=$mvici gw m-gw status --prometheus "$MI" 2>/dev/null) || true
		expect_value "ipsec: charon stopped: unreachable" "$text" gatewayctl_ipsec_charon_reachable "$S" 0
		expect_value "ipsec: charon stopped: not established" "$text" gatewayctl_ipsec_established "$P" 0
		# down unloads from charon what up loaded: it needs them back
		lab_charon_start m-gw || fail "ipsec: charon restarted"
		lab_charon_start b-gw || fail "ipsec: charon restarted"
		GATEWAYCTL_VICI=$mvici gw m-gw down manhattan >/dev/null 2>&1 || fail "ipsec: down manhattan"
		GATEWAYCTL_VICI=$bvici gw b-gw down brooklyn >/dev/null 2>&1 || fail "ipsec: down brooklyn"
		lab_charon_stop b-gw
		lab_charon_stop m-gw
	else
		fail "ipsec: a charon per gateway"
	fi
	gw m-gw up "$M" >/dev/null 2>&1 || fail "up manhattan again"
	gw b-gw up "$B" >/dev/null 2>&1 || fail "up brooklyn again"
else
	echo "# IPsec established: needs the lab's charons (lab_charon_start), charon and esp4: not run"
fi

# --- every site: one whose file is gone is reported, the others still are
cp "$B" "$T_TMP/b2.ini"
gw b-gw down brooklyn >/dev/null 2>&1 || fail "down brooklyn"
gw b-gw up "$T_TMP/b2.ini" >/dev/null 2>&1 || fail "up brooklyn from a copy"
rm "$T_TMP/b2.ini"
rc=0
text=$(gw b-gw status --prometheus 2>"$T_TMP/err") || rc=$?
expect_eq "$rc" 1 "a site whose file is gone: exit 1"
expect_value "... gatewayctl_site_loaded 0" "$text" gatewayctl_site_loaded 'site="brooklyn"' 0
expect_grep "... says why on stderr" 'site brooklyn' "$(cat "$T_TMP/err")"
promcheck "... and the text still passes promtool" "$text"
text=$(gw m-gw status --prometheus 2>/dev/null) || true
expect_value "every site (no argument): manhattan is there" "$text" gatewayctl_site_loaded "$S" 1
t_done
