#!/bin/bash
# tests/kernel/confirm-probe.sh - `up --confirm=S --probe` (issue 20): a change
# through which the peers that answered before answer again confirms itself
# within seconds, by its watcher alone; one that cuts a peer off is rolled
# back at its deadline and traffic flows again; status shows "confirming by
# probe" meanwhile; no peer answering before: the change waits for a human.
#
#   tests/vm/run -- tests/kernel/all.sh confirm-probe
set -eu
. "$(dirname "$0")/lib/lib.sh"
T_ASAN_LOG=/tmp/gwt-confirmprobe-asan.$$
export ASAN_OPTIONS="detect_leaks=1:exitcode=99:log_path=$T_ASAN_LOG"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=99:log_path=$T_ASAN_LOG"
. "$(dirname "$0")/lib/gw.sh"
t_need_ipip
lab_setup
trap 't_cleanup; gw_cleanup; rm -f "$T_ASAN_LOG".*' EXIT
. "$(dirname "$0")/lib/syslog.sh"
syslog_setup

now_ms() { date +%s%3N; }
LIB=$(gw_libdir m-gw)
pending_field() { sed -n "s/^$1 //p" "$LIB/manhattan.pending" 2>/dev/null || true; }
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
# manhattan.ini with brooklyn's ttl and endpoint given
variant() { # NAME TTL ENDPOINT
	sed -e "s/^ttl = .*/ttl = $2/" -e "s/^endpoint = .*/endpoint = $3/" sites/manhattan.ini | site_file "$1"
}
V1=$(site_file v1 <sites/manhattan.ini)
TTL=$(variant ttl 32 172.17.2.10)
BAD=$(variant bad 64 172.17.2.11)
TTL2=$(variant ttl2 48 172.17.2.10)

run "up v1" up "$V1"
expect_rc 0 "v1 up"
gw b-gw up sites/brooklyn.ini >/dev/null 2>&1 || fail "brooklyn up"
expect_ping b-ws 192.168.1.5 "v1: Brooklyn reaches the server"

# --- usage
run "--probe alone" up --probe "$TTL"
expect_rc 2 "--probe without --confirm is bad usage (2)"
expect_grep "... and says it goes with --confirm" "--probe .*goes with --confirm" "$out"

# --- 1. a harmless change (a new ttl): confirmed by its probes within seconds
t0=$(now_ms)
run "up --confirm=30 --probe ttl" up --confirm=30 --probe "$TTL"
t1=$(now_ms)
expect_rc 0 "up --confirm=30 --probe (ttl 32)"
expect_grep "up says brooklyn answered before the change" \
	"^--probe: peer brooklyn \(192\.168\.2\.126\) answered before the change" "$out"
expect_grep "... and the change is pending" "rolls back in 30 s" "$out"
if wait_for 10 test ! -e "$LIB/manhattan.pending"; then
	took=$(($(now_ms) - t1))
	if [ $took -lt 5000 ]; then ok "confirmed by probe $took ms after up returned ($((t1 - t0)) ms in up; deadline 30 s)"
	else fail "confirmed by probe only $took ms after up returned"; fi
else
	fail "not confirmed by probe within 10 s"
fi
expect_eq "$(ls "$LIB")" "manhattan.confirmed.ini" "no pending files left"
expect_eq "$(cmp "$TTL" "$LIB/manhattan.confirmed.ini" 2>&1 && echo same)" same "the change is the confirmed copy"
expect_grep "the kernel has the new ttl" "ttl 32" "$(lab_exec m-gw ip -d link show gw-brooklyn)"
run "status" status manhattan
expect_eq "$(grep -c 'change pending' <<<"$out")" 0 "status shows nothing pending"
expect_grep "syslog says it was confirmed by probe" \
	"site manhattan: change applied from $TTL confirmed by probe, [0-9]+ s after it was applied: brooklyn answered through it" \
	"$(cat "$SYSLOG")"
S_TTL=$(snap_norm m-gw)
expect_ping b-ws 192.168.1.5 "Brooklyn still reaches the server"

# --- 2. a change that breaks the tunnel (a wrong endpoint): rolled back at the
# deadline (40 s: status takes seconds in a slow VM)
run "up --confirm 40 --probe bad" up --confirm 40 --probe "$BAD"
t1=$(now_ms)
expect_rc 0 "up --confirm 40 --probe (brooklyn's endpoint mistyped)"
expect_grep "brooklyn answered before" "^--probe: peer brooklyn .*answered before the change" "$out"
W=$(pending_field watcher_pid)
sleep 3
run "status" status manhattan
expect_grep "status: confirming by probe, waiting for brooklyn" \
	'^  change pending: confirming by probe: waiting for brooklyn to answer through it; else rolls back in [0-9]+ s unless `gatewayctl confirm manhattan`' "$out"
run "status --json" status --json manhattan
expect_grep "status --json: the probe, confirming, brooklyn not answered" \
	'"probe": \{"confirming": true, "peers": \[\{"name": "brooklyn", "address": "192.168.2.126", "answered": false\}\]\}' "$out"
if python3 -c 'import json, sys; json.loads(sys.stdin.read())' <<<"$out"; then ok "... valid JSON"; else fail "status --json is not JSON"; fi
expect_eq "$(pending_field probe)" 1 "the record carries the probe flag"
expect_eq "$(pending_field probe_peer)" "brooklyn 192.168.2.126 0" "... and the peer it waits for"
expect_no_ping b-ws 192.168.1.5 "the mistaken change cuts Brooklyn off"
if wait_for 60 test ! -e "$LIB/manhattan.pending"; then
	took=$(($(now_ms) - t1))
	if [ $took -ge 39000 ]; then ok "ended at the deadline ($took ms after up returned), not before"; else
		fail "ended $took ms after up returned, before its 40 s deadline"; fi
else
	fail "not rolled back within 60 s"
fi
expect_same "rolled back: the kernel is the confirmed configuration's" "$S_TTL" "$(snap_norm m-gw)"
expect_grep "syslog: rolled back (not confirmed)" \
	"gatewayctl\[$W\]: site manhattan: rolled back the change applied from $BAD at [0-9:]+ \(not confirmed within 40 s\)" \
	"$(cat "$SYSLOG")"
expect_ping b-ws 192.168.1.5 "traffic flows again"

# --- 3. no peer answers before the change: it waits for a human
gw b-gw down brooklyn >/dev/null 2>&1 || fail "brooklyn down"
run "up --confirm=60 --probe ttl2" up --confirm=60 --probe "$TTL2"
expect_rc 0 "up --confirm=60 --probe with brooklyn down"
expect_grep "up says brooklyn did not answer" "^--probe: peer brooklyn \(192\.168\.2\.126\) did not answer before the change" "$out"
expect_grep "... and that the change waits for confirm" "no peer answered before the change: .*waits for .gatewayctl confirm manhattan." "$out"
gw b-gw up sites/brooklyn.ini >/dev/null 2>&1 || fail "brooklyn up again"
sleep 3
expect_eq "$(pending_field probe_peer)" "" "the record holds no peer to wait for"
run "status" status manhattan
expect_grep "status: still pending, not confirming by probe" \
	"not confirming by probe: no peer answered probes before the change" "$out"
run "status --json" status --json manhattan
expect_grep "status --json: probe on, not confirming" '"probe": \{"confirming": false, "peers": \[\]\}' "$out"
test -e "$LIB/manhattan.pending" && ok "3 s later the change is still pending" || fail "the change did not wait"
run "confirm" confirm manhattan
expect_rc 0 "confirm by hand"

gw m-gw down manhattan >/dev/null 2>&1 || true
sleep 1
if ls "$T_ASAN_LOG".* >/dev/null 2>&1; then
	fail "a sanitizer reported (the watcher included)"
	head -60 "$T_ASAN_LOG".* | t_note
else
	ok "no sanitizer report from any gatewayctl process, watchers included"
fi
t_done
