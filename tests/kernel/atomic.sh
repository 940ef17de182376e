#!/bin/bash
# tests/kernel/atomic.sh - all or nothing: a failure at any netlink send or
# receive leaves the kernel as before `up`; an `up` killed at any point is
# completed by the next `up` or cleaned by `down`; clear refusals that change
# nothing; concurrent up/down of one site serialize.
#
#   tests/vm/run -- tests/kernel/atomic.sh
set -eu
. "$(dirname "$0")/lib/lib.sh"
. "$(dirname "$0")/lib/gw.sh"
t_need_ipip
command -v strace >/dev/null || t_skip "strace is missing (make deps)"
lab_setup
trap 't_cleanup; gw_cleanup' EXIT

M=$PWD/sites/manhattan.ini
before=$(snap m-gw)

# The reference: what a clean up leaves, then down.
gw m-gw up "$M" >/dev/null 2>&1 || fail "reference up"
reference=$(snap_norm m-gw)
gw m-gw down manhattan >/dev/null 2>&1 || fail "reference down"
expect_same "reference up + down leaves the kernel as before" "$before" "$(snap m-gw)"

# up under strace, with a fault injected at the Nth call of SYSCALL
# (LeakSanitizer cannot work under ptrace: leaks are checked by the other tests)
traced_up() { # SYSCALL N WHAT
	lab_exec m-gw env GATEWAYCTL_RUNDIR="$(gw_rundir m-gw)" ASAN_OPTIONS=detect_leaks=0:exitcode=99 \
		strace -qq -o /dev/null -e trace="$1" -e inject="$1:$3:when=$2" "$GWCTL" up "$M"
}

# --- a failure at each send and at each receive: nothing changed, the step named
for sc in sendto recvmsg; do
	n=1
	while [ $n -le 60 ]; do
		rc=0
		out=$(traced_up $sc $n error=ENOBUFS 2>&1) || rc=$?
		if [ $rc = 0 ]; then
			break # the Nth call is past the last: up ran through
		fi
		# either a failure while reading (nothing was changed yet) or a failed
		# step, named, and rolled back
		if [ $rc != 1 ] || { ! grep -q "^gatewayctl: reading" <<<"$out" &&
			! { grep -q "failed: " <<<"$out" && grep -q "rolled back" <<<"$out"; }; }; then
			fail "$sc #$n fails: up exits 1 naming the step and rolls back"
			printf 'exit %s\n%s\n' "$rc" "$out" | t_note
		fi
		now=$(snap m-gw)
		if [ "$now" != "$before" ]; then
			fail "$sc #$n fails: the kernel is as before"
			show_diff "$before" "$now"
			gw m-gw down manhattan >/dev/null 2>&1 || true
		fi
		n=$((n + 1))
	done
	if [ $n -gt 1 ] && [ $n -le 60 ]; then
		ok "a failure at each of the $((n - 1)) ${sc} calls of up is rolled back completely"
	else
		fail "injecting into $sc: up never ran through, or never called it (n=$n)"
	fi
	expect_same "with no fault hit, up ran through ($sc)" "$reference" "$(snap_norm m-gw)"
	gw m-gw down manhattan >/dev/null 2>&1
done
expect_same "the kernel is as before after the fault series" "$before" "$(snap m-gw)"

# --- SIGKILL at each send: the next up completes it, or down cleans it
n=1
killed=0
while [ $n -le 60 ]; do
	rc=0
	traced_up sendto $n signal=SIGKILL >/dev/null 2>&1 || rc=$?
	[ $rc = 0 ] && break
	killed=$((killed + 1))
	if [ $((n % 2)) = 1 ]; then
		gw m-gw up "$M" >/dev/null 2>&1 || fail "up after a kill at send #$n"
		now=$(snap_norm m-gw)
		[ "$now" = "$reference" ] || {
			fail "up after a kill at send #$n completes the set-up"
			show_diff "$reference" "$now"
		}
	fi
	gw m-gw down manhattan >/dev/null 2>&1 || fail "down after a kill at send #$n"
	now=$(snap m-gw)
	[ "$now" = "$before" ] || {
		fail "down after a kill at send #$n restores the kernel"
		show_diff "$before" "$now"
	}
	n=$((n + 1))
done
if [ $killed -gt 0 ]; then
	ok "up killed at each of its $killed sends: completed by up or cleaned by down"
else
	fail "SIGKILL injection never hit"
fi
gw m-gw down manhattan >/dev/null 2>&1

# --- a write that fails (the state file cannot be written): nothing changed
mkdir -p "$T_TMP/ro"
chmod 0555 "$T_TMP/ro"
rc=0
out=$(lab_exec m-gw env GATEWAYCTL_RUNDIR="$T_TMP/ro/run" setpriv --inh-caps=-dac_override \
	--bounding-set=-dac_override "$GWCTL" up "$M" 2>&1) || rc=$?
expect_eq "$rc" 1 "up refuses when the state file cannot be written"
expect_grep "... and says where" "cannot (create|write).*$T_TMP/ro/run" "$out"
expect_same "... and changes nothing" "$before" "$(snap m-gw)"

# --- clear refusals, exit 1, nothing changed
rc=0
out=$(lab_exec m-gw setpriv --reuid=65534 --regid=65534 --clear-groups "$GWCTL" up "$M" 2>&1) || rc=$?
expect_eq "$rc" 1 "up as an unprivileged user exits 1"
expect_grep "... saying it needs CAP_NET_ADMIN" 'needs CAP_NET_ADMIN' "$out"
rc=0
out=$(lab_exec m-gw setpriv --reuid=65534 --regid=65534 --clear-groups "$GWCTL" down manhattan 2>&1) || rc=$?
expect_eq "$rc" 1 "down as an unprivileged user exits 1"

f=$(sed 's/^wan = eth1/wan = eth9/' "$M" | site_file missing-wan)
rc=0
out=$(gw m-gw up "$f" 2>&1) || rc=$?
expect_eq "$rc" 1 "up with a missing interface exits 1"
expect_grep "... naming it with file:line" "^$f:[0-9]+: error: interface \`eth9\` \\(wan\\) does not exist" "$out"

lab_exec m-gw ip link add gw-brooklyn type veth peer name gwb-other
rc=0
out=$(gw m-gw up "$M" 2>&1) || rc=$?
expect_eq "$rc" 1 "up refuses a tunnel name held by a foreign link"
expect_grep "... naming the peer and the link" "peer brooklyn: the tunnel name \`gw-brooklyn\` is taken by a link gatewayctl did not create \\(kind veth\\)" "$out"
lab_exec m-gw ip link del gw-brooklyn

lab_exec m-gw ip route add 192.168.2.0/24 via 172.16.1.30
rc=0
out=$(gw m-gw up "$M" 2>&1) || rc=$?
expect_eq "$rc" 1 "up refuses to shadow a foreign route to a peer network"
expect_grep "... and says so" 'a route to 192.168.2.0/24 exists that gatewayctl did not create' "$out"
lab_exec m-gw ip route del 192.168.2.0/24
expect_same "the refusals changed nothing" "$before" "$(snap m-gw)"

# --- concurrent up and down serialize on the site's lock
lock="$(gw_privdir m-gw)/manhattan.lock"
mkdir -p -m 0700 "$(gw_privdir m-gw)"
exec 9>"$lock"
flock -x 9
gw m-gw up "$M" >"$T_TMP/up.out" 2>&1 &
up_pid=$!
# until up says it waits (or gives up: then it is no longer running below); no
# fixed delay, which a busy machine could outlast
wait_for 60 sh -c "grep -q 'another gatewayctl is working on site manhattan; waiting' '$T_TMP/up.out' || ! kill -0 $up_pid" || true
expect_grep "up says it waits while another holds the site's lock" 'another gatewayctl is working on site manhattan; waiting' "$(cat "$T_TMP/up.out")"
if kill -0 $up_pid 2>/dev/null; then ok "... and it is still waiting"; else fail "... and it is still waiting"; fi
expect_same "... having changed nothing yet" "$before" "$(snap m-gw)"
flock -u 9
exec 9>&-
wait $up_pid && ok "up goes on once the lock is free" || fail "up goes on once the lock is free"

pids=()
for i in 1 2 3 4; do
	gw m-gw up "$M" >"$T_TMP/c-up$i" 2>&1 &
	pids+=($!)
	gw m-gw down manhattan >"$T_TMP/c-down$i" 2>&1 &
	pids+=($!)
done
bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
expect_eq "$bad" 0 "4 ups and 4 downs at once all succeed"
gw m-gw up "$M" >/dev/null 2>&1
expect_same "after them, up gives the reference state" "$reference" "$(snap_norm m-gw)"
gw m-gw down manhattan >/dev/null 2>&1
expect_same "and down the state before" "$before" "$(snap m-gw)"

t_done
