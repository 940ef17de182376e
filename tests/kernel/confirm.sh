#!/bin/bash
# tests/kernel/confirm.sh - safe remote changes (issue 12): `up --confirm` rolls
# a change back by itself unless `confirm` runs in time, whatever happens to the
# session that made it; `rollback`; up/down refused while a change is pending;
# a failed rollback shown by status; the boot unit's command after a reboot
# with a change left unconfirmed brings up the last confirmed configuration.
#
#   tests/vm/run -- tests/kernel/all.sh confirm
set -eu
. "$(dirname "$0")/lib/lib.sh"
T_ASAN_LOG=/tmp/gwt-confirm-asan.$$
export ASAN_OPTIONS="detect_leaks=1:exitcode=99:log_path=$T_ASAN_LOG"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=99:log_path=$T_ASAN_LOG"
. "$(dirname "$0")/lib/gw.sh"
t_need_ipip
lab_setup
trap 't_cleanup; gw_cleanup; rm -f "$T_ASAN_LOG".*' EXIT

# --- syslog: every line gatewayctl logs lands in $SYSLOG (lib/syslog.sh)
. "$(dirname "$0")/lib/syslog.sh"
syslog_setup

now_ms() { date +%s%3N; }
sleep_until() { # MS (epoch)
	local left=$(($1 - $(now_ms)))
	if [ $left -gt 0 ]; then sleep "$(printf '%d.%03d' $((left / 1000)) $((left % 1000)))"; fi
	return 0
}
LIB=$(gw_libdir m-gw)
pending_field() { sed -n "s/^$1 //p" "$LIB/manhattan.pending" 2>/dev/null || true; }
# a process that exists and is no zombie (the watcher's parent is init: it may
# stay a zombie for a while)
alive() { # PID
	local st
	st=$(sed -n 's/.*) \(.\) .*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
dead() { ! alive "$1"; }
stat_field() { # PID N: field N of /proc/PID/stat (3 = state, 6 = session, 7 = tty)
	sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f$(($2 - 2))
}
run() { # NAME ARGS...: gw m-gw ARGS, output in $out, status in $rc
	local name=$1
	shift
	rc=0
	out=$(gw m-gw "$@" 2>&1) || rc=$?
	t_log "$name: status $rc"
	if [ "${V:-0}" = 1 ]; then printf '%s\n' "$out" | t_note; fi
}
expect_rc() { # RC MSG
	if [ "$rc" = "$1" ]; then ok "$2"; else
		fail "$2 (exit $rc, not $1)"
		printf '%s\n' "$out" | head -30 | t_note
	fi
}

# v1: the reference Manhattan office. v2: a peer added, Brooklyn's network
# changed (split in two), a relay port added, and a mistake: Brooklyn's public
# address mistyped, which cuts Brooklyn off.
V1=$(site_file v1 <sites/manhattan.ini)
V2=$(site_file v2 <<'EOF'
[site]
name = manhattan
lan = eth0
lan_address = 192.168.1.126/24
wan = eth1
wan_address = 172.16.1.12/27
gateway = 172.16.1.30
manage_interfaces = no
forwarding = yes
mss_clamp = yes

[peer brooklyn]
endpoint = 172.17.2.11
networks = 192.168.2.0/25, 192.168.2.128/25
lan_address = 192.168.2.126
masquerade = yes
tunnel = gw-brooklyn
ttl = 64
mtu = auto

[peer queens]
endpoint = 172.18.3.10
networks = 192.168.3.0/24

[relay]
ports = 6799, 6800
peers = brooklyn
EOF
)

# --- v1 up: the confirmed configuration is kept, 0600, in the persistent directory
run "up v1" up "$V1"
expect_rc 0 "v1 up"
gw b-gw up sites/brooklyn.ini >/dev/null 2>&1 || fail "brooklyn up"
S1=$(snap_norm m-gw)
expect_ping b-ws 192.168.1.5 "v1: Brooklyn reaches the server"
expect_eq "$(cmp "$V1" "$LIB/manhattan.confirmed.ini" 2>&1 && echo same)" same \
	"a plain up keeps the file's bytes as the confirmed copy"
expect_eq "$(stat -c %a "$LIB" "$LIB/manhattan.confirmed.ini" | tr '\n' ' ')" "700 600 " \
	"the persistent directory is 0700, the copy 0600"

# --- 1. no confirm: 2 s after the deadline the kernel is v1's again, exactly
# (3 s is short in a slow VM: up's own output tells what it applied)
run "up --confirm=3 v2" up --confirm=3 "$V2"
t0=$(now_ms)
W=$(pending_field watcher_pid)
expect_rc 0 "up --confirm=3 v2"
expect_grep "v2 is applied: the new peer's tunnel" "^ip link add name gw-queens" "$out"
expect_grep "... Brooklyn's new networks" "^ip route add 192.168.2.128/25 dev gw-brooklyn" "$out"
expect_grep "... and its mistyped endpoint" "^ip link set gw-brooklyn .*remote 172.17.2.11" "$out"
expect_grep "up --confirm says how long and how to confirm" \
	"rolls back in 3 s .*unless confirmed" "$out"
expect_grep "... and names the commands" "gatewayctl confirm manhattan" "$out"
sleep_until $((t0 + 5000))
expect_same "2 s after the deadline, the kernel (links, addresses, routes, rules, nft, forwarding) is v1's" \
	"$S1" "$(snap_norm m-gw)"
expect_eq "$(gw m-gw plan "$V1" 2>&1)" "# no changes: the kernel matches $V1" \
	"... and plan of v1 finds nothing to change (the relay runs with v1's settings)"
expect_grep "... the relay runs" '"relay": \{"configured": true, "running": true' \
	"$(gw m-gw status --json manhattan 2>&1)"
expect_eq "$(ls "$LIB")" "manhattan.confirmed.ini" "... the pending files are gone, the confirmed copy stays"
expect_eq "$(cmp "$V1" "$LIB/manhattan.confirmed.ini" 2>&1 && echo same)" same "... and it is still v1"
if [ -n "$W" ] && dead "$W"; then ok "... the watcher ($W) has ended"; else fail "the watcher ($W) still runs"; fi
expect_grep "... syslog says what was rolled back" \
	"gatewayctl\[$W\]: site manhattan: rolled back the change applied from $V2 at [0-9:]+ \(not confirmed within 3 s\): back to the last confirmed configuration $LIB/manhattan.confirmed.ini" \
	"$(cat "$SYSLOG")"
expect_ping b-ws 192.168.1.5 "... and Brooklyn reaches the server again"

# --- 2. confirmed before the deadline: v2 stays (a longer deadline: the
# snapshot takes a while in a slow VM)
run "up --confirm=8 v2" up --confirm=8 "$V2"
t0=$(now_ms)
W=$(pending_field watcher_pid)
expect_rc 0 "up --confirm=8 v2"
run "confirm" confirm manhattan
expect_rc 0 "confirm before the deadline"
expect_grep "confirm says so" "^site manhattan: change confirmed: $V2 stays in force" "$out"
if dead "$W"; then ok "confirm stopped the watcher"; else fail "the watcher $W still runs after confirm"; fi
S2=$(snap_norm m-gw)
expect_grep "v2 is in the kernel" "gw-queens" "$S2"
sleep_until $((t0 + 10000))
expect_same "2 s after the deadline, v2 is still there" "$S2" "$(snap_norm m-gw)"
expect_eq "$(cmp "$V2" "$LIB/manhattan.confirmed.ini" 2>&1 && echo same)" same "v2 is now the confirmed copy"
expect_eq "$(ls "$LIB")" "manhattan.confirmed.ini" "no pending files left"
run "status" status manhattan
expect_eq "$(grep -c 'change pending' <<<"$out")" 0 "status shows no pending change after confirm"
run "up v1" up "$V1"
expect_rc 0 "back to v1 by a plain up"
expect_same "... the kernel is v1's" "$S1" "$(snap_norm m-gw)"

# --- 3. while pending: status, refusals, the watcher's shape; then rollback
run "up --confirm=300 v2" up --confirm=300 "$V2"
expect_rc 0 "up --confirm=300 v2"
S2=$(snap_norm m-gw)
W=$(pending_field watcher_pid)
run "status" status manhattan
expect_rc 0 "status of the pending change: healthy (the change itself is as its file says)"
expect_grep "status shows the pending change" \
	'^  change pending: rolls back in (2[0-9][0-9]|300) s unless `gatewayctl confirm manhattan` \(applied from '"$V2"' at [0-9:]+\)$' "$out"
run "status --json" status --json manhattan
expect_grep "status --json has the pending change" \
	"\"pending\": \\{\"file\": \"$V2\", \"applied\": [0-9]+, \"deadline\": [0-9]+, \"rolls_back_in_s\": (2[0-9][0-9]|300), \"rolls_back_to\": \"confirmed\", \"watcher\": \\{\"pid\": $W, \"running\": true\\}, \"rollback_failed\": null, \"probe\": null\\}" "$out"
if python3 -c 'import json, sys; json.loads(sys.stdin.read())' <<<"$out"; then ok "... valid JSON"; else fail "status --json is not JSON"; fi
# a user with CAP_NET_ADMIN alone (monitoring) cannot read the persistent
# directory: status must not call that a problem (a file it can read: $PUB)
PUB=$(mktemp -d /tmp/gwt-confirm-pub.XXXXXX)
chmod 755 "$PUB"
cp "$V2" "$PUB/v2.ini"
rc=0
out=$(lab_exec m-gw env GATEWAYCTL_RUNDIR="$(gw_rundir m-gw)" GATEWAYCTL_LIBDIR="$LIB" setpriv --reuid=65534 \
	--regid=65534 --clear-groups --inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin \
	--bounding-set=-all,+net_admin "$GWCTL" status "$PUB/v2.ini" 2>&1) || rc=$?
expect_grep "status as a user with CAP_NET_ADMIN alone works" "^site manhattan: " "$out"
expect_eq "$(grep -ci 'pending' <<<"$out")" 0 "... and, not allowed to read $LIB, reports no pending problem"
rm -rf "$PUB"
expect_no_ping b-ws 192.168.1.5 "the mistaken change cuts Brooklyn off"
run "up v1" up "$V1"
expect_rc 1 "a second up while a change is pending is refused (exit 1)"
expect_grep "... saying what is pending and how to end it" \
	"site manhattan has a change pending: $V2, applied at .*rolls back at [0-9:]+ \(in [0-9]+ s\).*gatewayctl confirm manhattan.*gatewayctl rollback manhattan" \
	"$(tr '\n' ' ' <<<"$out")"
run "up --confirm v1" up --confirm "$V1"
expect_rc 1 "up --confirm while a change is pending is refused"
run "down" down manhattan
expect_rc 1 "down while a change is pending is refused"
expect_grep "... with the same message" "gatewayctl down: site manhattan has a change pending" "$out"
run "down (all)" down
expect_rc 1 "down of every site refuses the pending one"
expect_same "the refused commands changed nothing" "$S2" "$(snap_norm m-gw)"
expect_eq "$(ls /proc/"$W"/fd | sort -n | tr '\n' ' ')" "0 1 2 " "the watcher holds no descriptor but 0, 1, 2"
expect_eq "$(stat -L -c '%F %t:%T' /proc/"$W"/fd/0 /proc/"$W"/fd/1 /proc/"$W"/fd/2 | sort -u)" \
	"character special file 1:3" "... all three /dev/null (character device 1:3)"
expect_eq "$(stat_field "$W" 7)" 0 "... no controlling terminal"
if [ "$(stat_field "$W" 6)" != "$W" ] && [ "$(stat_field "$W" 6)" != "$(stat_field $$ 6)" ]; then
	ok "... a session of its own, which it does not lead"
else
	fail "the watcher's session is $(stat_field "$W" 6) (its pid $W, ours $(stat_field $$ 6))"
fi
if (($(printf '%d' "0x$(sed -n 's/^SigIgn:\t//p' /proc/"$W"/status)") & 1)); then ok "... ignores SIGHUP"; else fail "the watcher does not ignore SIGHUP"; fi
expect_grep "... it is gatewayctl's watcher of this site" "^gatewayctl confirm --watcher manhattan [0-9a-f]{32} " \
	"$(tr '\0' ' ' </proc/"$W"/cmdline)"
run "rollback" rollback manhattan
expect_rc 0 "rollback before the deadline"
expect_grep "rollback says what it did" \
	"^site manhattan: rolled back the change applied from $V2 at [0-9:]+ \(\`gatewayctl rollback\` was run\): back to the last confirmed configuration" "$out"
expect_same "after rollback the kernel is v1's" "$S1" "$(snap_norm m-gw)"
if wait_for 3 dead "$W"; then ok "rollback stopped the watcher"; else fail "the watcher $W still runs after rollback"; fi
expect_eq "$(ls "$LIB")" "manhattan.confirmed.ini" "no pending files left after rollback"
expect_ping b-ws 192.168.1.5 "Brooklyn reaches the server again"

# --- 4. nothing pending
run "confirm" confirm manhattan
expect_rc 1 "confirm with nothing pending: exit 1"
expect_eq "$out" "gatewayctl confirm: site manhattan: no change is pending (only \`up --confirm\` makes one): nothing to confirm" \
	"... and says so"
run "rollback" rollback manhattan
expect_rc 1 "rollback with nothing pending: exit 1"
expect_grep "... and says so" "site manhattan: no change is pending .*nothing to rollback" "$out"
run "confirm" confirm nowhere
expect_rc 1 "confirm of an unknown site: exit 1"
run "confirm" confirm
expect_rc 2 "confirm without a site: usage (2)"
run "up --confirm=0" up --confirm=0 "$V2"
expect_rc 2 "--confirm=0 is bad usage"
run "up --confirm=x" up --confirm=2x "$V2"
expect_rc 2 "--confirm=2x is bad usage"
expect_same "bad usage changed nothing" "$S1" "$(snap_norm m-gw)"

# --- 5. the caller SIGKILLed right after up --confirm returns, its session's
# leader killed and the rest of the session hung up: the rollback is on time
# (8 s: killing the session and checking take a few seconds in a slow VM)
gw_argv m-gw
export V2 T_TMP
(setsid bash -c 'echo $$ >"$1/leader"; shift; "$@" up --confirm=8 "$V2" >"$T_TMP/up.out" 2>&1; echo $? >"$T_TMP/up.rc"; sleep 600' \
	sh "$T_TMP" "${GW_ARGV[@]}" </dev/null >/dev/null 2>&1 &)
if wait_for 20 test -s "$T_TMP/up.rc"; then
	t0=$(now_ms)
	expect_eq "$(cat "$T_TMP/up.rc")" 0 "up --confirm=8 in a session of its own"
else
	fail "up --confirm in the session did not finish"
	t0=$(now_ms)
fi
leader=$(cat "$T_TMP/leader")
sid=$(stat_field "$leader" 6)
W=$(pending_field watcher_pid)
expect_grep "v2 is applied" "gw-queens" "$(lab_exec m-gw ip link show)"
if [ -n "$W" ] && [ "$(stat_field "$W" 6)" != "$sid" ]; then ok "the watcher is not in the caller's session"; else
	fail "the watcher ($W) is in the caller's session $sid"; fi
kill -KILL "$leader"
kill -HUP -- "-$sid" 2>/dev/null || true
wait_for 3 dead "$leader" || fail "the session leader survived SIGKILL"
if [ -z "$(ps -o pid= -s "$sid")" ]; then ok "the caller's session is gone"; else fail "the session still has $(ps -o pid,args= -s "$sid")"; fi
if [ "$(now_ms)" -ge $((t0 + 8000)) ]; then
	fail "too slow: the deadline passed before the session was killed"
elif alive "$W"; then ok "the watcher survived the session"; else fail "the watcher died with the session"; fi
sleep_until $((t0 + 10000))
expect_same "2 s after the deadline, the kernel is v1's" "$S1" "$(snap_norm m-gw)"
expect_eq "$(ls "$LIB")" "manhattan.confirmed.ini" "... and nothing is pending"

# --- 6. up --confirm of a site that was down: not confirmed, the kernel is exactly as before
run "down" down manhattan
expect_rc 0 "down"
expect_eq "$(ls -A "$LIB")" "" "down removes the confirmed copy"
S0=$(snap m-gw)
run "up --confirm=3 v2" up --confirm=3 "$V2"
t0=$(now_ms)
expect_rc 0 "up --confirm=3 v2 of a site that was down"
expect_grep "v2 is applied" "gw-queens" "$(lab_exec m-gw ip link show)"
sleep_until $((t0 + 5000))
expect_same "2 s after the deadline, the kernel is exactly as before (down)" "$S0" "$(snap m-gw)"
expect_eq "$(ls -A "$LIB")" "" "... nothing pending, nothing confirmed"
expect_grep "... syslog says the site is down again" \
	"site manhattan: rolled back the change applied from $V2 at [0-9:]+ \(not confirmed within 3 s\): the site was down before it, and is again" \
	"$(cat "$SYSLOG")"

# --- 7. a rollback that fails (all or nothing): recorded, logged, shown by status
run "up v1" up "$V1"
expect_rc 0 "v1 up again"
run "up --confirm=8 v2" up --confirm=8 "$V2"
t0=$(now_ms)
# v2 has no route to 192.168.2.0/24 (two /25s); a foreign one makes v1's preflight refuse
lab_exec m-gw ip route add 192.168.2.0/24 via 172.16.1.30
expect_rc 0 "up --confirm=8 v2"
S2=$(snap_norm m-gw)
sleep_until $((t0 + 10000))
expect_same "the failed rollback changed nothing" "$S2" "$(snap_norm m-gw)"
run "status" status manhattan
expect_rc 1 "status after a failed rollback: unhealthy (exit 1)"
expect_grep "status shows the failure" "change pending: its rollback FAILED at [0-9:]+" "$out"
expect_grep "... and why" "a route to 192.168.2.0/24 exists that gatewayctl did not create" "$out"
expect_grep "... with the fix" "fix: gatewayctl rollback manhattan \(retry once the cause is fixed\) or gatewayctl confirm manhattan" "$out"
run "status --json" status --json manhattan
expect_grep "status --json has the failure" '"rollback_failed": \{"at": [0-9]+, "error": "[^"]*route to 192.168.2.0/24 exists' "$out"
expect_grep "syslog has the failure and its reason" \
	"site manhattan: rollback of the change applied from $V2 at [0-9:]+ \(not confirmed within 8 s\) FAILED: .*manhattan.confirmed.ini:[0-9]+: error: peer brooklyn: a route to 192.168.2.0/24 exists" \
	"$(cat "$SYSLOG")"
run "up v1" up "$V1"
expect_rc 1 "up is refused after a failed rollback"
expect_grep "... saying the rollback failed" "its rollback at [0-9:]+ FAILED" "$out"
lab_exec m-gw ip route del 192.168.2.0/24 via 172.16.1.30
run "rollback" rollback manhattan
expect_rc 0 "rollback retried once the cause is gone"
expect_same "... the kernel is v1's" "$S1" "$(snap_norm m-gw)"

# --- 8. boot: a change pending, then a reboot (the watcher gone, the kernel
# state gone, the run directory gone; the persistent directory kept)
reboot_sim() {
	local w l relay
	w=$(pending_field watcher_pid)
	kill -KILL "$w"
	wait_for 3 dead "$w" || fail "the watcher survived SIGKILL"
	relay=$(head -n 1 "$(gw_privdir m-gw)/manhattan.relay.pid" 2>/dev/null || true) # its first line: the pid
	if [ -n "$relay" ]; then kill -KILL "$relay" 2>/dev/null || true; fi
	for l in $(lab_exec m-gw ip -o link show group 203 | awk -F': ' '{ print $2 }' | cut -d@ -f1); do
		lab_exec m-gw ip link del "$l"
	done
	lab_exec m-gw nft delete table ip gatewayctl-manhattan 2>/dev/null || true
	lab_exec m-gw sysctl -qw net.ipv4.ip_forward=0
	rm -rf "$(gw_rundir m-gw)"
}
run "up --confirm=300 v2" up --confirm=300 "$V2"
expect_rc 0 "up --confirm=300 v2 (the site was up)"
run "up --boot v2" up --boot "$V2"
expect_rc 0 "up --boot while the watcher runs leaves the change to it"
expect_grep "... and says so" "left to its watcher" "$out"
reboot_sim
expect_same "the simulated reboot leaves m-gw as a down did" "$S0" "$(snap m-gw)"
run "up --boot v2" up --boot "$V2"
expect_rc 0 "the unit's command after the reboot"
expect_grep "... says it brought up the last confirmed configuration" \
	"rolled back the change applied from $V2 .*never confirmed.*back to the last confirmed configuration" "$out"
expect_same "... the kernel is v1's, not v2's" "$S1" "$(snap_norm m-gw)"
expect_eq "$(gw m-gw plan "$V1" 2>&1)" "# no changes: the kernel matches $V1" "... plan of v1: no changes (relay included)"
expect_eq "$(ls "$LIB")" "manhattan.confirmed.ini" "... nothing pending any more"
expect_grep "... and syslog says so" "site manhattan: rolled back the change applied from $V2 .*never confirmed" "$(cat "$SYSLOG")"

run "down" down manhattan
run "up --confirm=300 v2" up --confirm=300 "$V2"
expect_rc 0 "up --confirm=300 v2 (the site was down)"
reboot_sim
# the file being edited may be broken by then: the boot does not need it
mkdir -p "$T_TMP/etc"
BROKEN=$(site_file etc/manhattan <<<"[site]
name = manhattan
lan = eth0 oops")
run "up --boot broken" up --boot "$BROKEN"
expect_rc 0 "the unit's command after the reboot, its file broken meanwhile"
expect_grep "... the site was down before the change: nothing comes up" "the site was down before it, and is again" "$out"
expect_same "... the kernel is as after down" "$S0" "$(snap m-gw)"
run "up --boot broken" up --boot "$BROKEN"
expect_rc 2 "with nothing pending, up --boot of a broken file is invalid configuration (2)"
run "up --boot v1" up --boot "$V1"
expect_rc 0 "with nothing pending, up --boot is a plain up"
expect_same "... of the file" "$S1" "$(snap_norm m-gw)"
expect_eq "$(cmp "$V1" "$LIB/manhattan.confirmed.ini" 2>&1 && echo same)" same "... which it keeps as confirmed"

# --- the unit
if command -v systemd-analyze >/dev/null; then
	sed "s|@SBINDIR@|$(dirname "$GWCTL")|g" templates/gatewayctl@.service >"$T_TMP/gatewayctl@manhattan.service"
	if out=$(systemd-analyze verify --man=no "$T_TMP/gatewayctl@manhattan.service" 2>&1); then
		ok "systemd-analyze verify gatewayctl@.service"
	else
		fail "systemd-analyze verify gatewayctl@.service"
		printf '%s\n' "$out" | t_note
	fi
fi
expect_grep "the unit runs up --boot" '^ExecStart=@SBINDIR@/gatewayctl up --boot /etc/gatewayctl/%i.ini$' \
	"$(cat templates/gatewayctl@.service)"

gw m-gw down manhattan >/dev/null 2>&1 || true
sleep 1
if ls "$T_ASAN_LOG".* >/dev/null 2>&1; then
	fail "a sanitizer reported (the watcher included)"
	head -60 "$T_ASAN_LOG".* | t_note
else
	ok "no sanitizer report from any gatewayctl process, watchers included"
fi
t_done
