#!/bin/bash
# tests/kernel/watch.sh - `gatewayctl watch` on the article's two offices: it
# brings Manhattan up, then each drift (route deleted, tunnel down, tunnel
# deleted, table deleted or flushed, forwarding off, bogus host route, relay
# killed) is repaired and the tunnel carries pings again; foreign routes and
# tables are untouched; status, --json and the metrics show the watcher and its
# repairs; a repair that cannot succeed (a foreign link holding the tunnel's
# name) backs off and is logged once; a pending change is kept as pending, down
# stays down; SIGTERM ends it within 1 s and the site stays up. That run uses
# the sanitizers' build; then the plain build (what gateways run) repairs each
# drift again, timed from the kernel's own notifications and bound to 1 s (a
# killed relay, a new process to start under this emulated CPU beside other
# work: 2 s, from the kill to the new relay running), and idle it must not wake up.
#
#   tests/vm/run -- tests/kernel/watch.sh
set -eu
. "$(dirname "$0")/lib/lib.sh"
. "$(dirname "$0")/lib/gw.sh"
t_need_ipip
lab_setup
trap 'watch_stop; t_cleanup; gw_cleanup' EXIT

# Manhattan's file is a copy: SIGHUP's test edits it
M=$(site_file manhattan <sites/manhattan.ini)
B=sites/brooklyn.ini
LOG=$T_TMP/watch.log
WPID=''

now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }	# no fork: bash's clock

# watch_start [BINARY]: the watcher of Manhattan in the background, its output
# in LOG; WPID is its pid (ip netns exec and env exec it: no shell between)
watch_start() {
	local bin=${1:-$GWCTL}
	mkdir -p "$(gw_rundir m-gw)"
	: >"$LOG"
	ip netns exec "$(lab_ns m-gw)" env -u JOURNAL_STREAM GATEWAYCTL_RUNDIR="$(gw_rundir m-gw)" \
		GATEWAYCTL_LIBDIR="$(gw_libdir m-gw)" "$bin" watch "$M" >>"$LOG" 2>&1 &
	WPID=$!
}

# everything of Manhattan's that the watcher keeps, in one check
site_whole() {
	lab_exec m-gw ip -o link show gw-brooklyn | grep -q '[<,]UP[,>]' &&
		lab_exec m-gw ip -4 route show 192.168.2.0/24 | grep -q 'dev gw-brooklyn' &&
		lab_exec m-gw nft list table ip gatewayctl-manhattan >/dev/null 2>&1 &&
		[ "$(lab_exec m-gw sysctl -n net.ipv4.ip_forward)" = 1 ] &&
		relay_pid >/dev/null
}
# the running relay's pid (fails when none); bash builtins only: quick enough
# to poll for the relay's return
relay_pid() {
	local p='' stat=''
	read -r p <"$(gw_privdir m-gw)/manhattan.relay.pid" 2>/dev/null || [ -n "$p" ] || return 1
	{ read -r stat <"/proc/$p/stat"; } 2>/dev/null || return 1
	stat=${stat##*) }
	# alive, not a zombie (the killed one may wait for a parent to reap it)
	[ "${stat%% *}" = S ] || [ "${stat%% *}" = R ] || return 1
	echo "$p"
}

# The kernel's notifications in the gateway, each line stamped with the time it
# arrived (bash's clock, no fork per line): the drift's first event and the
# repair's last one give the repair time, independently of the watcher, and of
# how slowly this VM runs the test's own commands.
stamp() { while IFS= read -r l; do printf '%s %s\n' "${EPOCHREALTIME/./}" "$l"; done; }
EV=$T_TMP/events.txt
: >"$EV"
monitors_start() {
	# (the monitors' own pids in T_PIDS: stdbuf and ip netns exec exec them)
	ip netns exec "$(lab_ns m-gw)" stdbuf -oL ip monitor link route netconf > >(stamp >>"$EV") 2>&1 &
	T_PIDS="$T_PIDS $!"
	ip netns exec "$(lab_ns m-gw)" stdbuf -oL nft monitor > >(stamp >>"$EV") 2>&1 &
	T_PIDS="$T_PIDS $!"
	sleep 1
}

# The bound: 1 s for the plain build (what runs on gateways); the sanitizers'
# build, several times slower, is held to 3 s (its run is for correctness)
LIMIT_MS=3000 PING=1
repair_ok() { # NAME MS WHAT
	echo "# $1: $3 $2 ms"
	if [ "$2" -ge 0 ] && [ "$2" -lt "$LIMIT_MS" ]; then ok "$1: repaired within $LIMIT_MS ms ($3 $2 ms)"; else
		fail "$1: repaired within $LIMIT_MS ms ($3 $2 ms)"; fi
}

# drift NAME CMD...: break something in Manhattan, wait for the watcher to
# repair it; from the drift's first notification to the repair's last must be
# under 1 s, the watcher's own measure too, and pings flow again
drift() {
	local name=$1 mark n_before first last own
	shift
	n_before=$(grep -c 'repaired [0-9]* ms' "$LOG" || true)
	mark=$(wc -l <"$EV")
	lab_exec m-gw "$@"
	wait_for 10 site_whole || { fail "$name: the site is whole again"; tail -n 5 "$LOG" | t_note; }
	sleep 0.5	# the monitors' last lines
	first=$(tail -n +"$((mark + 1))" "$EV" | head -n 1 | cut -d' ' -f1)
	last=$(tail -n +"$((mark + 1))" "$EV" | tail -n 1 | cut -d' ' -f1)
	if [ -z "$first" ]; then
		fail "$name: the kernel announced the drift"
	else
		repair_ok "$name" $(((last - first) / 1000)) "kernel notifications: drift to repaired"
	fi
	wait_for 3 sh -c "[ \$(grep -c 'repaired [0-9]* ms' '$LOG') -gt $n_before ]" || true
	own=$(grep -o 'repaired [0-9]* ms' "$LOG" | tail -n 1 | tr -dc 0-9)
	repair_ok "$name" "${own:--1}" "the watcher's log: first event to repaired"
	[ "$PING" = 0 ] || expect_ping b-ws 192.168.1.5 "$name: b-ws pings the server again"
}

# every drift once (the relay's is kill_relay's)
drifts() {
	drift "route deleted" ip route del 192.168.2.0/24
	drift "tunnel set down" ip link set gw-brooklyn down
	drift "tunnel deleted" ip link del gw-brooklyn
	drift "table deleted" nft delete table ip gatewayctl-manhattan
	drift "forwarding off" sysctl -qw net.ipv4.ip_forward=0
	drift "bogus host route added" ip route add 172.17.2.10/32 dev gw-brooklyn
}

# --- foreign state that must come through untouched
foreign_nat() {
	lab_exec m-gw nft -f - <<-'EOF'
		table ip nat {
			chain postrouting {
				type nat hook postrouting priority srcnat; policy accept;
				ip saddr 10.77.0.0/16 oifname "eth1" masquerade
			}
		}
	EOF
}
lab_exec m-gw ip route add 10.99.0.0/16 via 172.16.1.30
foreign_nat

monitors_start
out=$(gw b-gw up "$B" 2>&1) && ok "up brooklyn" || { fail "up brooklyn"; printf '%s\n' "$out" | t_note; }
watch_start
wait_for 10 site_whole && ok "watch brings manhattan up" || { fail "watch brings manhattan up"; t_note <"$LOG"; }
expect_ping b-ws 192.168.1.5 "b-ws pings the application server"
wait_for 5 test -f "$(gw_statedir m-gw)/manhattan.watch" && ok "the watcher's state file is there" ||
	fail "the watcher's state file is there"
expect_eq "$(gw m-gw up "$M" 2>&1)" "site manhattan: no changes" "up after watch: no changes"

# --- each drift, repaired (the sanitizers' build: correctness; timed below)
drifts
drift "table flushed (all of nftables)" nft flush ruleset
# (the flush took the foreign table too: put it back for what follows)
foreign_nat
# kill_relay NAME: the relay has no notification: polled with builtins from the
# kill on (here the sanitizers' build starts the new relay: timed with the
# plain one below)
kill_relay() {
	local old new t0
	old=$(relay_pid || true)
	t0=$(now_ms)
	kill -9 "$old"
	new=''
	while [ $(($(now_ms) - t0)) -lt 5000 ]; do
		new=$(relay_pid) && [ "$new" != "$old" ] && break
		new=''
	done
	RELAY_MS=$(($(now_ms) - t0))
	echo "# $1: a new relay $RELAY_MS ms after the kill"
	[ -n "$new" ] && ok "$1: a new relay runs (pid $old -> $new)" || fail "$1: a new relay runs ($old -> $new)"
	expect_ping b-ws 192.168.1.5 "$1: b-ws pings the server"
}
kill_relay "relay killed with SIGKILL (sanitizers' build)"
expect_eq "$(lab_exec m-gw ip -4 route show exact 172.17.2.10/32)" "" "the bogus host route is gone"

# --- foreign state untouched by all of that
expect_grep "the foreign route is there" '^10.99.0.0/16 via 172.16.1.30' "$(lab_exec m-gw ip route show 10.99.0.0/16)"
expect_grep "the foreign nat table and its rule are there" 'ip saddr 10.77.0.0/16 oifname "eth1" masquerade' \
	"$(lab_exec m-gw nft list table ip nat)"
lab_exec m-gw ip route add 10.98.0.0/16 via 172.16.1.30
sleep 0.5
expect_grep "a foreign route added while watching stays" '^10.98.0.0/16 via 172.16.1.30' \
	"$(lab_exec m-gw ip route show 10.98.0.0/16)"

# --- status shows the watcher and its repairs
st=$(gw m-gw status manhattan 2>&1 || true)
expect_grep "status shows the watcher running" '^  watch: running \(pid '"$WPID"', since' "$st"
expect_grep "... and its repair counter" 'keeping the last confirmed configuration; (8|9|[1-9][0-9]) repairs, 0 failures' "$st"
expect_grep "... and the last repair" '^    last repair ' "$st"
js=$(gw m-gw status --json manhattan 2>&1 || true)
expect_grep "status --json: watch.running" '"watch": \{"running": true, "pid": '"$WPID" "$js"
expect_grep "status --json: watch.repairs" '"repairs": (8|9|[1-9][0-9])' "$js"
pm=$(gw m-gw status --prometheus manhattan 2>&1 || true)
expect_grep "metrics: gatewayctl_watch_running 1" '^gatewayctl_watch_running\{site="manhattan"\} 1$' "$pm"
expect_grep "metrics: gatewayctl_watch_repairs_total" '^gatewayctl_watch_repairs_total\{site="manhattan"\} (8|9|[1-9][0-9])$' "$pm"

# --- a repair that cannot succeed backs off and is logged once
# (the watcher stopped meanwhile: it would re-create the tunnel between the two)
kill -STOP "$WPID"
lab_exec m-gw ip link del gw-brooklyn
lab_exec m-gw ip link add gw-brooklyn type dummy
kill -CONT "$WPID"
sleep 4.5
nfail=$(grep -c 'repair FAILED' "$LOG" || true)
expect_eq "$nfail" 1 "a repair that keeps failing is logged once (4.5 s: tries at 0, 1, 3 s)"
expect_grep "... saying why" 'repair FAILED.*gw-brooklyn' "$(grep 'repair FAILED' "$LOG")"
js=$(gw m-gw status --json manhattan 2>&1 || true)
# tries at 0, 1, 3, 7 s...: at least 3 by now (this slow VM's status may take a
# while), and the wait doubling with each: 1 s after the first, 2 s, 4 s ...
nf=$(grep -o '"failures": [0-9]*' <<<"$js" | tr -dc 0-9)
bo=$(grep -o '"backoff_ms": [0-9]*' <<<"$js" | tr -dc 0-9)
[ "${nf:-0}" -ge 3 ] && ok "status --json counts the failed tries ($nf)" || fail "status --json counts the failed tries (${nf:-none})"
expect_eq "${bo:-none}" "$((1000 << (${nf:-1} - 1)))" "... and the backoff doubles with each ($nf tries)"
expect_grep "status shows the failure" 'FAILING since' "$(gw m-gw status manhattan 2>&1 || true)"
lab_exec m-gw ip link del gw-brooklyn
wait_for 10 site_whole && ok "the foreign link gone, the next try repairs" || fail "the foreign link gone, the next try repairs"
expect_grep "... and says it works again" 'repair works again after' "$(cat "$LOG")"
expect_ping b-ws 192.168.1.5 "b-ws pings the server after the failures"

# --- SIGHUP: the file read again and applied like up; a broken one changes nothing
sed -i 's/^ttl = 64/ttl = 48/' "$M"
kill -HUP "$WPID"
wait_for 5 sh -c "ip netns exec '$(lab_ns m-gw)' ip -d link show gw-brooklyn | grep -q 'ttl 48'" &&
	ok "SIGHUP applies the edited file (ttl 48)" || fail "SIGHUP applies the edited file (ttl 48)"
expect_grep "... and says so" 'SIGHUP: reading' "$(cat "$LOG")"
echo "this line is no ini" >>"$M"
kill -HUP "$WPID"
sleep 2
expect_grep "SIGHUP with a broken file: its error logged with FILE:LINE" "$M:[0-9]+: error" "$(cat "$LOG")"
expect_grep "... and the site kept as it was (ttl 48)" 'ttl 48' "$(lab_exec m-gw ip -d link show gw-brooklyn)"
cp sites/manhattan.ini "$M"
kill -HUP "$WPID"
wait_for 5 sh -c "ip netns exec '$(lab_ns m-gw)' ip -d link show gw-brooklyn | grep -q 'ttl 64'" &&
	ok "SIGHUP with the file mended: ttl 64 again" || fail "SIGHUP with the file mended: ttl 64 again"

# --- the watcher and the commands do not fight: up --confirm's change is kept as pending
sed 's/^ttl = 64/ttl = 32/' "$M" >"$T_TMP/m32.ini"
out=$(gw m-gw up --confirm 60 "$T_TMP/m32.ini" 2>&1) && ok "up --confirm beside the watcher" ||
	{ fail "up --confirm beside the watcher"; printf '%s\n' "$out" | t_note; }
lab_exec m-gw ip link set gw-brooklyn down
wait_for 5 site_whole || true
expect_grep "the pending change is what the watcher keeps (ttl 32)" 'ttl 32' "$(lab_exec m-gw ip -d link show gw-brooklyn)"
out=$(gw m-gw rollback manhattan 2>&1) && ok "rollback beside the watcher" || { fail "rollback"; printf '%s\n' "$out" | t_note; }
lab_exec m-gw ip route del 192.168.2.0/24
wait_for 5 site_whole || true
expect_grep "after rollback the watcher keeps the confirmed copy (ttl 64)" 'ttl 64' \
	"$(lab_exec m-gw ip -d link show gw-brooklyn)"

# --- a pending change whose rollback watcher is gone (killed; or the machine
# restarted): the watcher rolls it back, as up --boot would, not keep it
out=$(gw m-gw up --confirm 60 "$T_TMP/m32.ini" 2>&1) && ok "up --confirm again" ||
	{ fail "up --confirm again"; printf '%s\n' "$out" | t_note; }
rw=$(sed -n 's/^watcher_pid //p' "$(gw_libdir m-gw)/manhattan.pending")
[ -n "$rw" ] && kill -9 "$rw"
lab_exec m-gw ip link set gw-brooklyn down
wait_for 10 sh -c "! test -e '$(gw_libdir m-gw)/manhattan.pending'" &&
	ok "a pending change whose watcher is gone is rolled back by the watcher" ||
	fail "a pending change whose watcher is gone is rolled back by the watcher"
wait_for 5 site_whole || true
expect_grep "... back to the confirmed copy (ttl 64)" 'ttl 64' "$(lab_exec m-gw ip -d link show gw-brooklyn)"
expect_grep "... and says so" 'whose watcher is gone: rolled back' "$(cat "$LOG")"

# --- down beside the watcher: the site stays down; the next up is watched again
out=$(gw m-gw down manhattan 2>&1) && ok "down beside the watcher" || { fail "down beside the watcher"; printf '%s\n' "$out" | t_note; }
sleep 2
lab_exec m-gw ip link show gw-brooklyn >/dev/null 2>&1 && fail "after down the watcher does not bring the tunnel back" ||
	ok "after down the watcher does not bring the tunnel back"
expect_grep "... and says the site is down" 'the site is down' "$(cat "$LOG")"
out=$(gw m-gw up "$M" 2>&1) && ok "up again beside the watcher" || { fail "up again"; printf '%s\n' "$out" | t_note; }
drift "after down and up: route deleted" ip route del 192.168.2.0/24

# --- SIGTERM: out within 1 s, the site stays
t0=$(now_ms)
kill -TERM "$WPID"
wait "$WPID" && rc=0 || rc=$?
dt=$(($(now_ms) - t0))
WPID=''
expect_eq "$rc" 0 "the watcher exits 0 on SIGTERM"
if [ $dt -lt 1000 ]; then ok "... within 1 s ($dt ms)"; else fail "... within 1 s ($dt ms)"; fi
site_whole && ok "the site stays up after the watcher" || fail "the site stays up after the watcher"
expect_ping b-ws 192.168.1.5 "b-ws still pings the server"
[ ! -e "$(gw_statedir m-gw)/manhattan.watch" ] && ok "its state file is gone" || fail "its state file is gone"
expect_grep "status: no watcher" '"watch": null' "$(gw m-gw status --json manhattan 2>&1 || true)"
expect_grep "metrics: gatewayctl_watch_running 0" '^gatewayctl_watch_running\{site="manhattan"\} 0$' \
	"$(gw m-gw status --prometheus manhattan 2>&1 || true)"

cp "$LOG" "$T_TMP/watch1.log"

# --- idle cost, with the plain binary (the sanitizers' own memory is not ours)
if [ -x "$PWD/gatewayctl" ]; then
	# down first: a relay of the other build is not this one's (another executable)
	gw m-gw down manhattan >/dev/null 2>&1 || fail "down before the plain build's watcher"
	watch_start "$PWD/gatewayctl"
	wait_for 15 site_whole || fail "the plain build's watcher brings the site up"
	# the repairs timed: the plain build, bound to 1 s
	LIMIT_MS=1000 PING=0
	drifts
	wait_for 10 test -f "$(gw_statedir m-gw)/manhattan.watch" || true
	kill_relay "relay killed with SIGKILL"
	# a new process: exec, dynamic linking, the relay's set-up (about 20 ms on
	# hardware; this VM emulates the CPU and is slower by 20 to 50 times). The
	# watcher reacts within 5 ms; the 1 s goal is bench/watch.sh's, in a quiet VM
	# (median 387 ms, docs/PERFORMANCE.md section 6). Here another VM lane and the host
	# suites share the 2 cores: make check measured 1393 ms once. Bound: 2 s.
	LIMIT_MS=2000
	repair_ok "relay killed with SIGKILL (a new process)" "$RELAY_MS" "kill to a new relay running"
	# quiet first: the checks counter of its state file stays for 2 s
	prev='' cur=''
	for _ in $(seq 20); do
		cur=$(grep '^checks ' "$(gw_statedir m-gw)/manhattan.watch" 2>/dev/null || true)
		[ -n "$cur" ] && [ "$cur" = "$prev" ] && break
		prev=$cur
		sleep 2
	done
	c0=$(awk '/^voluntary_ctxt_switches/ {v=$2} /^nonvoluntary_ctxt_switches/ {n=$2} END {print v+n}' "/proc/$WPID/status")
	# every return of poll(2) is a wake-up (strace prints it once it returns)
	timeout -s INT 10 strace -p "$WPID" -e trace=poll,ppoll,epoll_wait -o "$T_TMP/idle.strace" 2>/dev/null || true
	c1=$(awk '/^voluntary_ctxt_switches/ {v=$2} /^nonvoluntary_ctxt_switches/ {n=$2} END {print v+n}' "/proc/$WPID/status")
	wakes=$(grep -c ' = [0-9]' "$T_TMP/idle.strace" || true)
	read -r rss anon < <(awk '/^VmRSS/ {r=$2} /^RssAnon/ {a=$2} END {print r, a}' "/proc/$WPID/status")
	pss=$(awk '/^Pss:/ {print $2}' "/proc/$WPID/smaps_rollup")
	echo "# idle 10 s: $wakes returns of poll, $((c1 - c0)) context switches (strace's included); RSS $rss kB ($anon kB anonymous, the rest shared library pages), PSS $pss kB"
	head -n 5 "$T_TMP/idle.strace" | sed 's/^/#   /'
	if [ "$wakes" -le 3 ]; then ok "10 idle seconds: $wakes wake-ups (at most 3)"; else
		fail "10 idle seconds: $wakes wake-ups (at most 3)"; fi
	if [ "$rss" -lt 4096 ]; then ok "RSS $rss kB (under 4 MiB)"; else fail "RSS $rss kB (under 4 MiB)"; fi
	if [ "$pss" -lt 4096 ]; then ok "PSS $pss kB (its own share: under 4 MiB)"; else fail "PSS $pss kB (under 4 MiB)"; fi
	watch_stop
else
	echo "# no plain ./gatewayctl: idle cost not measured"
fi

expect_grep "the foreign nat table survived everything" 'ip saddr 10.77.0.0/16 oifname "eth1" masquerade' \
	"$(lab_exec m-gw nft list table ip nat)"
[ "${VERBOSE:-0}" = 0 ] || sed 's/^/# watch: /' "$T_TMP/watch1.log" "$LOG"
t_done
