#!/bin/bash
# tests/kernel/watch-probe.sh - `gatewayctl watch`'s periodic probes (issue 20):
# every probe_interval an echo to the peer's lan_address through its tunnel;
# RTT and loss in status, --json and --prometheus; a peer made unreachable
# (ICMP echo requests dropped in its namespace) is reported within 3 intervals
# (logged once, shown by status, gatewayctl_peer_up 0), and again when it
# answers; probe_interval = 0: no probes.
#
#   tests/vm/run -- tests/kernel/all.sh watch-probe
set -eu
. "$(dirname "$0")/lib/lib.sh"
. "$(dirname "$0")/lib/gw.sh"
t_need_ipip
lab_setup
trap 'watch_stop; t_cleanup; gw_cleanup' EXIT
. "$(dirname "$0")/lib/syslog.sh"
syslog_setup

INTERVAL=2
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
# manhattan.ini with probe_interval in [site]
site_with() { # NAME INTERVAL
	sed "s/^mss_clamp = yes\$/&\nprobe_interval = $2/" sites/manhattan.ini | site_file "$1"
}
M=$(site_with m $INTERVAL)
PROBES=$(gw_statedir m-gw)/manhattan.probes
WPID=''
watch_start() { # FILE: the watcher of Manhattan in the background (syslog to $SYSLOG)
	gw_argv m-gw
	"${GW_ARGV[@]}" watch "$1" >"$T_TMP/watch.log" 2>&1 &
	WPID=$!
}
peer_state() { sed -n 's/^peer brooklyn [0-9.]* \([a-z]*\) .*/\1/p' "$PROBES" 2>/dev/null; }
is_state() { [ "$(peer_state)" = "$1" ]; }
metric() { # TEXT NAME: the value of NAME{site="manhattan",peer="brooklyn"}
	sed -n "s/^$2{site=\"manhattan\",peer=\"brooklyn\"} //p" <<<"$1"
}

gw b-gw up sites/brooklyn.ini >/dev/null 2>&1 || fail "brooklyn up"
watch_start "$M"
if wait_for 30 is_state up; then ok "the watcher probes brooklyn: it answers"; else
	fail "no answered probe within 30 s"; cat "$PROBES" "$T_TMP/watch.log" 2>&1 | t_note; fi
expect_ping b-ws 192.168.1.5 "Brooklyn reaches the server"

# --- RTT and loss in status, --json, --prometheus
st=$(gw m-gw status manhattan 2>&1 || true)
expect_grep "status: the peer answers, its rtt and loss" \
	"^    watch probe  answers, rtt [0-9]+\.[0-9]{2} ms \(avg [0-9]+\.[0-9]{2}\), loss 0% of the last [0-9]+, every $INTERVAL s$" "$st"
js=$(gw m-gw status --json manhattan 2>&1 || true)
if python3 -c '
import json, sys
p = json.loads(sys.stdin.read())["sites"][0]["peers"][0]["watch_probe"]
assert p["state"] == "up" and p["rtt_ms"] > 0 and p["loss"] == 0 and p["interval_s"] == '$INTERVAL', p
' <<<"$js"; then ok "status --json: watch_probe up, rtt > 0, no loss"; else fail "status --json watch_probe"; fi
pm=$(gw m-gw status --prometheus manhattan 2>&1 || true)
expect_eq "$(metric "$pm" gatewayctl_peer_up)" 1 "gatewayctl_peer_up 1"
expect_eq "$(metric "$pm" gatewayctl_peer_loss_ratio)" 0 "gatewayctl_peer_loss_ratio 0"
expect_grep "gatewayctl_peer_rtt_seconds: a round trip in seconds" '^0\.[0-9]{6}$' "$(metric "$pm" gatewayctl_peer_rtt_seconds)"

# --- brooklyn stops answering (its gateway drops echo requests): reported within 3 intervals
lab_exec b-gw nft -f - <<'EOF'
table ip gwt-drop {
	chain in {
		type filter hook input priority 0; policy accept;
		icmp type echo-request drop
	}
}
EOF
t0=$(now_ms)
if wait_for 20 is_state down; then
	took=$(($(now_ms) - t0))
	if [ $took -le $((3 * INTERVAL * 1000 + 500)) ]; then
		ok "brooklyn is down $took ms after it stopped answering (3 intervals: $((3 * INTERVAL)) s)"
	else fail "brooklyn is down only $took ms after it stopped answering (more than 3 intervals)"; fi
else
	fail "brooklyn not reported down within 20 s"
fi
st=$(gw m-gw status manhattan 2>&1) && rc=0 || rc=$?
expect_eq "$rc" 1 "status: unhealthy (exit 1)"
expect_grep "status says brooklyn does not answer" "^    watch probe  NOT ANSWERING" "$st"
expect_grep "... with the reason" "peer brooklyn: no answer to gatewayctl watch's probes of 192.168.2.126 since [0-9:]+" "$st"
pm=$(gw m-gw status --prometheus manhattan 2>&1 || true)
expect_eq "$(metric "$pm" gatewayctl_peer_up)" 0 "gatewayctl_peer_up 0"
expect_grep "gatewayctl_peer_loss_ratio above 0" '^0\.[0-9]+$' "$(metric "$pm" gatewayctl_peer_loss_ratio)"
sleep $((2 * INTERVAL))
expect_eq "$(grep -c 'peer brooklyn (192.168.2.126) stopped answering probes' "$SYSLOG")" 1 "logged once, not per probe"

# --- it answers again
lab_exec b-gw nft delete table ip gwt-drop
if wait_for 20 is_state up; then ok "brooklyn answers again"; else fail "brooklyn not back up within 20 s"; fi
expect_grep "... and syslog says so" "site manhattan: peer brooklyn \(192.168.2.126\) answers probes \(rtt [0-9.]+ ms\)" \
	"$(cat "$SYSLOG")"

# --- SIGTERM: the file goes with the watcher
watch_stop
if [ ! -e "$PROBES" ]; then ok "the probes file is removed when the watcher ends"; else fail "$PROBES is left"; fi
st=$(gw m-gw status manhattan 2>&1 || true)
expect_eq "$(grep -c 'watch probe' <<<"$st")" 0 "status shows no probes without a watcher"

# --- probe_interval = 0: no probes
watch_start "$(site_with off 0)"
sleep 5
if [ ! -e "$PROBES" ]; then ok "probe_interval = 0: no probes"; else fail "probes with probe_interval = 0"; fi
watch_stop

# --- failover: brooklyn given two endpoints, the first one wrong (nobody
# there): its probes go unanswered, the watcher moves the tunnel to the next
sed -e "s/^endpoint = .*/endpoint = 172.17.2.11, 172.17.2.10/" "$(site_with fo 1)" | site_file failover >/dev/null
remote() { lab_exec m-gw ip -d link show gw-brooklyn 2>/dev/null | sed -n 's/.*ipip remote \([0-9.]*\) .*/\1/p'; }
remote_is() { [ "$(remote)" = "$1" ]; }
tried() { grep -q "trying its next endpoint 172.17.2.10" "$SYSLOG" && remote_is 172.17.2.10; }
watch_start "$T_TMP/failover.ini"
t0=$(now_ms)
if wait_for 30 tried; then ok "failover: the tunnel moved to 172.17.2.10 $(($(now_ms) - t0)) ms after the watcher started"
else fail "no failover to 172.17.2.10 within 30 s (remote $(remote))"; cat "$T_TMP/watch.log" | tail -20 | t_note; fi
if wait_for 20 is_state up; then ok "... where brooklyn answers"; else fail "brooklyn does not answer after the failover"; fi
expect_grep "the watcher first took the list's first endpoint" "ip link (add name|set) gw-brooklyn .*remote 172.17.2.11" "$(cat "$SYSLOG")"
expect_grep "syslog says it tried the next endpoint" \
	"site manhattan: peer brooklyn does not answer through endpoint 172.17.2.11: trying its next endpoint 172.17.2.10" "$(cat "$SYSLOG")"
expect_ping b-ws 192.168.1.5 "Brooklyn reaches the server through it"
watch_stop

gw m-gw down manhattan >/dev/null 2>&1 || true
t_done
